# frozen_string_literal: true

# Names that become paths are outside input: a gem's metadata (executables,
# bindir, require_paths, extensions, platform), Gemfile.lock and compact
# index names, and the manifests of a shared cache. Each attack is built
# here and must end in a clear error naming the gem (or file and line) and
# the cause, a non-zero exit, nothing written outside the cache and the
# project, nothing of the gem promoted, and a next install that works once
# the input is good again.

require_relative "install_support"
require "pathname"

class TestHostileNames < ScintTest::Case
  include InstallSupport

  VICTIM = "sc_color-0.3.1"

  # A private copy of the small corpus, served by nginx, and a locked app.
  def setup_copy
    _shape, corpus, dir, server, app = locked_small_copy(server: :nginx)
    [corpus, dir, server, app]
  end

  def victim_path(dir, full_name = VICTIM)
    File.join(dir, "gems", "#{full_name}.gem")
  end

  # Rewrites the metadata.gz of the .gem at path (the block changes the
  # spec); checksums.yaml.gz and the compact index follow, so only the
  # metadata is hostile.
  def rewrite_metadata(dir, full_name, version_platform)
    path = victim_path(dir, full_name)
    outer = GemSurgery.read_outer(path)
    yaml = Zlib::GzipReader.wrap(StringIO.new(outer.assoc("metadata.gz")[1]), &:read)
    spec = Gem::Specification.from_yaml(yaml)
    yield spec
    meta = GemSurgery.gzip(spec.to_yaml)
    data = outer.assoc("data.tar.gz")[1]
    sums = {
      "SHA256" => { "metadata.gz" => Digest::SHA256.hexdigest(meta), "data.tar.gz" => Digest::SHA256.hexdigest(data) },
      "SHA512" => { "metadata.gz" => Digest::SHA512.hexdigest(meta), "data.tar.gz" => Digest::SHA512.hexdigest(data) }
    }
    files = [["metadata.gz", meta], ["data.tar.gz", data], ["checksums.yaml.gz", GemSurgery.gzip(YAML.dump(sums))]]
    File.binwrite(path, GemSurgery.tar(files.map { |n, b| { name: n, body: b, mode: 0o444 } }))
    GemSurgery.reindex(dir, full_name.split("-").first, version_platform)
  end

  # Puts the corpus' own copy of a gem back (and its index line). A
  # published version never changes, so scint keeps the index lines it has
  # seen: the app's copy of the index goes too.
  def restore(corpus, dir, server, app, full_name, version_platform)
    FileUtils.cp(victim_path(corpus.dir, full_name), victim_path(dir, full_name))
    GemSurgery.reindex(dir, full_name.split("-").first, version_platform)
    FileUtils.rm_rf(File.join(app.cache, "index"))
    server.refresh
  end

  # Every file and link under root that is not in one of the allowed trees.
  def files_outside(root, allowed)
    Dir.glob("**/*", File::FNM_DOTMATCH, base: root).reject do |rel|
      rel.end_with?("/.", "/..") || rel == "." ||
        allowed.any? { |a| rel == a || rel.start_with?("#{a}/") || a.start_with?("#{rel}/") }
    end
  end

  # No symlink under dir points outside the gem tree it belongs to.
  def assert_links_inside(dir)
    Dir.glob("**/*", File::FNM_DOTMATCH, base: dir).each do |rel|
      path = File.join(dir, rel)
      next unless File.symlink?(path)

      target = File.readlink(path)
      refute target.start_with?("/"), "absolute symlink #{rel} -> #{target}"
      resolved = File.expand_path(target, File.dirname(path))
      gem_root = File.join(dir, rel.split("/").first)
      assert resolved.start_with?("#{gem_root}/") || resolved == gem_root, "#{rel} -> #{target} leaves the gem"
    end
  end

  def assert_refused(app, result, message)
    refute result.success?, "install must fail:\n#{result}"
    assert_equal 1, result.exitstatus, "#{result}\n#{result.status.inspect}"
    assert_match message, result.stderr
    assert_empty Dir.glob("#{VICTIM}*", base: cached_dir(app)), "nothing of #{VICTIM} in cached/"
    assert_empty Dir.children(File.join(app.cache, "assembling", ABI)), "assembling/ is empty"
    refute File.exist?(File.join(app.install_root, "specifications", "#{VICTIM}.gemspec"))
    refute File.exist?(File.join(app.cache, "inbound", "gems", "#{VICTIM}.gem")), "a package that can never install is not kept"
  end

  # ------------------------------------------------------------ item 1: spec fields

  def bin_dir(app)
    File.join(app.install_root, "bin")
  end

  def test_executables_outside_bin_are_refused
    corpus, dir, server, app = setup_copy
    precious = File.join(tmp, "precious.txt")
    File.write(precious, "keep me\n")
    relative = Pathname.new(File.join(tmp, "escaped-exe")).relative_path_from(Pathname.new(bin_dir(app))).to_s
    assert relative.start_with?("../"), relative
    attacks = {
      relative => %r{'/' in an executable name},
      precious => %r{'/' in an executable name},
      ".." => /not a file name/,
      "x', system('touch #{File.join(tmp, "pwned")}'), '" => /quote, backslash or '#' in an executable name/
    }
    attacks.each do |exe, why|
      rewrite_metadata(dir, VICTIM, "0.3.1") { |s| s.executables = ["sc-color", exe] }
      server.refresh
      r = app.scint("install")
      quoted = Regexp.escape(exe.gsub("'", "\\x27"))
      assert_refused(app, r, /error: unsafe metadata in #{VICTIM}: executables entry '#{quoted}': #{why.source}/)
      assert_equal "keep me\n", File.read(precious), "the file named by an absolute executable is untouched"
      refute File.exist?(File.join(tmp, "escaped-exe")), "nothing written through '../' in an executable"
      refute File.exist?(File.join(tmp, "pwned"))
      refute File.exist?(File.join(bin_dir(app), "sc-color")), "no binstub of the refused gem"
      assert_empty files_outside(tmp, %w[app app.home app.scint-cache corpus precious.txt])
      restore(corpus, dir, server, app, VICTIM, "0.3.1")
    end
    FileUtils.rm_rf(app.path(".bundle"))
    assert_success app.scint("install")
    app.bundle_check!
  end

  # A line break in a value would forge summary lines (or end the summary
  # early, making the rest the installed gemspec): the helper refuses it.
  def test_line_breaks_in_metadata_cannot_forge_the_summary
    corpus, dir, server, app = setup_copy
    pwned = File.join(tmp, "pwned")
    rewrite_metadata(dir, VICTIM, "0.3.1") do |s|
      s.extensions = ["x\n---gemspec---\nFile.write(#{pwned.dump}, '1')\n"]
    end
    server.refresh
    r = app.scint("install")
    assert_refused(app, r, /error: cannot read the spec of #{VICTIM}: ArgumentError: extensions "x\\n---gemspec---\\n.*" holds a control character/)
    app.bundle("check") # loads whatever specifications/ holds
    refute File.exist?(pwned)
    restore(corpus, dir, server, app, VICTIM, "0.3.1")
    assert_success app.scint("install")
    app.bundle_check!
    refute File.exist?(pwned)
  end

  SPEC_FIELDS = {
    "bindir" => [->(s) { s.bindir = "../../../../.." }, /bindir '\.\.\/\.\.\/\.\.\/\.\.\/\.\.': '\.\.' in path/],
    "require_paths" => [->(s) { s.require_paths = ["lib", "/etc"] }, /require_paths entry '\/etc': absolute path/],
    "require_paths_dotdot" => [->(s) { s.require_paths = ["lib/../../../../x"] }, /require_paths entry 'lib\/\.\.\/\.\.\/\.\.\/\.\.\/x': '\.\.' in path/],
    "extensions" => [->(s) { s.extensions = ["../../ext/extconf.rb"] }, /extensions entry '\.\.\/\.\.\/ext\/extconf\.rb': '\.\.' in path/],
    "dependency" => [->(s) { s.add_runtime_dependency("../evil", ">= 0") }, /dependency '\.\.\/evil': a gem name has only letters/]
  }.freeze

  SPEC_FIELDS.each do |field, (change, message)|
    define_method("test_spec_field_#{field}_is_checked") do
      corpus, dir, server, app = setup_copy
      rewrite_metadata(dir, VICTIM, "0.3.1") { |s| change.call(s) }
      server.refresh
      r = app.scint("install")
      assert_refused(app, r, /error: unsafe metadata in #{VICTIM}: #{message.source}/)
      assert_empty files_outside(tmp, %w[app app.home app.scint-cache corpus])
      # Everything that does not need the victim was installed all the same.
      assert File.file?(File.join(cached_dir(app), "sc_escape-0.2.0.manifest"))
      restore(corpus, dir, server, app, VICTIM, "0.3.1")
      assert_success app.scint("install")
      app.bundle_check!
    end
  end

  # ------------------------------------------------------------ item 8: platform

  def test_metadata_platform_must_match_the_lockfile
    corpus, dir, server, app = setup_copy
    rewrite_metadata(dir, VICTIM, "0.3.1") { |s| s.platform = "x86_64-darwin" }
    server.refresh
    r = app.scint("install")
    assert_refused(app, r, /error: #{VICTIM} is not the package the lockfile names: its metadata says sc_color 0\.3\.1 \(platform x86_64-darwin\)/)
    restore(corpus, dir, server, app, VICTIM, "0.3.1")
    assert_success app.scint("install")
    app.bundle_check!
  end

  def test_platform_gem_whose_metadata_says_ruby_is_refused
    corpus, dir, server, app = setup_copy
    native = "sc_fastjson-2.6.3-#{Gem::Platform.local}"
    skip "the corpus has no #{native}" unless File.file?(victim_path(dir, native))
    rewrite_metadata(dir, native, "2.6.3-#{Gem::Platform.local}") do |s|
      # Specification#platform= keeps a non-ruby original platform (what YAML gets).
      s.instance_variable_set(:@original_platform, nil)
      s.platform = "ruby"
    end
    server.refresh
    r = app.scint("install")
    refute r.success?
    assert_match(/error: #{native} is not the package the lockfile names: its metadata says sc_fastjson 2\.6\.3 \(platform ruby\)/, r.stderr)
    assert_empty Dir.glob("sc_fastjson*", base: cached_dir(app))
    refute File.exist?(File.join(app.install_root, "specifications", "#{native}.gemspec"))
    restore(corpus, dir, server, app, native, "2.6.3-#{Gem::Platform.local}")
    assert_success app.scint("install")
    app.bundle_check!
  end

  # ------------------------------------------------------------ item 2: lockfile and index names

  LOCK_ATTACKS = {
    "spec name" => [->(l) { l.sub("    sc_color (0.3.1)", "    ../../../../sc_color (0.3.1)") }, /invalid gem name '\.\.\/\.\.\/\.\.\/\.\.\/sc_color'/],
    "spec platform" => [->(l) { l.sub("    sc_color (0.3.1)", "    sc_color (0.3.1-x86_64/../../../../evil)") }, /invalid platform 'x86_64\/\.\.\/\.\.\/\.\.\/\.\.\/evil'/],
    "dependency of a spec" => [->(l) { l.sub("      sc_color (~> 0.3)", "      ../sc_color (~> 0.3)") }, /invalid gem name '\.\.\/sc_color'/],
    "DEPENDENCIES" => [->(l) { l.sub("DEPENDENCIES\n", "DEPENDENCIES\n  ../../evil\n") }, /invalid gem name '\.\.\/\.\.\/evil'/],
    "PLATFORMS" => [->(l) { l.sub("PLATFORMS\n", "PLATFORMS\n  x86_64-linux/../..\n") }, /invalid platform 'x86_64-linux\/\.\.\/\.\.'/],
    "dot name" => [->(l) { l.sub("    sc_color (0.3.1)", "    .. (0.3.1)") }, /invalid gem name '\.\.'/]
  }.freeze

  def test_lockfile_names_that_are_not_gem_names_are_refused
    _corpus, _dir, _server, app = setup_copy
    good = app.lockfile
    LOCK_ATTACKS.each do |what, (change, message)|
      bad = change.call(good)
      refute_equal good, bad, what
      app.write_file("Gemfile.lock", bad)
      line = bad.lines.zip(good.lines).index { |b, g| b != g }
      r = app.scint("install")
      refute r.success?, "#{what}: #{r}"
      assert_equal 1, r.exitstatus
      assert_match(/#{Regexp.escape(app.path("Gemfile.lock"))}: line #{line + 1}: #{message.source}/, r.stderr, what)
      refute File.exist?(app.path(".bundle", "ruby")), "#{what}: nothing installed"
      refute File.exist?(File.join(app.cache, "inbound")), "#{what}: nothing fetched"
      assert_empty files_outside(tmp, %w[app app.home app.scint-cache corpus]), what
    end
    app.write_file("Gemfile.lock", good)
    assert_success app.scint("install")
    app.bundle_check!
  end

  # Each GEM section is a server of the install: a lockfile with more
  # than 64 of them is refused where it is parsed, not trusted to fit.
  def test_lockfile_with_too_many_gem_sections_is_refused
    _corpus, _dir, _server, app = setup_copy
    good = app.lockfile
    extra = (1..64).map { |i| "GEM\n  remote: http://127.0.0.1:1/s#{i}/\n  specs:\n    sc_extra#{i} (1.0)\n\n" }.join
    bad = extra + good
    app.write_file("Gemfile.lock", bad)
    line = bad.lines.each_index.select { |i| bad.lines[i] == "GEM\n" }[64]
    r = app.scint("install")
    refute r.success?, r.to_s
    assert_equal 1, r.exitstatus, r.to_s
    assert_match(/#{Regexp.escape(app.path("Gemfile.lock"))}: line #{line + 1}: more than 64 GEM sections/, r.stderr)
    refute_match(/assertion failed/, r.stderr)
    refute File.exist?(File.join(app.cache, "inbound")), "nothing fetched"
    app.write_file("Gemfile.lock", good)
    assert_success app.scint("install")
    app.bundle_check!
  end

  def test_compact_index_names_are_never_used
    _corpus, dir, server, app = setup_copy
    sha = Digest::SHA256.file(victim_path(dir)).hexdigest
    info = File.join(dir, "info", "sc_color")
    File.write(info, File.read(info) +
                     "0.3.1-../../../../../evil |checksum:#{sha}\n" \
                     "0.3.1-x86_64-linux/.. |checksum:#{sha}\n" \
                     "9.9.9 ../../../evil:>= 0|checksum:#{sha}\n")
    File.write(File.join(dir, "versions"), File.read(File.join(dir, "versions")) + "../../../evil 1.0 #{"0" * 32}\n")
    # A tampered package must still fail the checksum of its own (good) line.
    GemSurgery.rewrite(victim_path(dir)) { |entries| entries + [{ name: "lib/extra.rb", body: "1\n" }] }
    server.refresh
    r = app.scint("install")
    refute r.success?
    assert_match(/checksum mismatch for #{VICTIM}\.gem/, r.stderr, "#{r}\n#{r.status.inspect}")
    assert_empty Dir.glob("#{VICTIM}*", base: cached_dir(app))
    assert_empty files_outside(tmp, %w[app app.home app.scint-cache corpus])
    assert_empty Dir.glob("**/*evil*", File::FNM_DOTMATCH, base: app.cache)
  end

  # The facts about a Ruby are cached in the (shared) cache, and name cache
  # and .bundle directories: a tampered facts file is computed again.
  def test_tampered_ruby_facts_are_recomputed
    _corpus, _dir, _server, app = setup_copy
    assert_success app.scint("install")
    facts = Dir.glob(File.join(app.cache, "rubies", "*.facts"))
    assert_equal 1, facts.size
    clean = File.read(facts.first)
    # Both would land in tmp: cached/ruby-M.m.p-../../../../evil-platform and
    # .bundle/ruby/../../../evil-dir.
    File.write(facts.first, clean.sub(/^platform .*$/, "platform #{"../" * 4}evil-platform")
                                 .sub(/^ruby_version_dir .*$/, "ruby_version_dir #{"../" * 3}evil-dir"))
    FileUtils.rm_rf(app.path(".bundle"))
    assert_success app.scint("install")
    assert_equal clean, File.read(facts.first), "the facts were computed again"
    assert_empty files_outside(tmp, %w[app app.home app.scint-cache corpus])
    assert_empty Dir.glob("**/*evil*", File::FNM_DOTMATCH, base: tmp)
    app.bundle_check!
  end

  # ------------------------------------------------------------ item 4: manifests in a shared cache

  def manifest_path(app, full_name = VICTIM)
    File.join(cached_dir(app), "#{full_name}.manifest")
  end

  # Adds a row to a cached manifest where it sorts, keeping the entry count
  # right, so that only the row itself is wrong.
  def tamper_manifest(app, row)
    path = manifest_path(app)
    lines = File.read(path).lines(chomp: true)
    rows = lines.grep(/\A[dfl]\t/) + [row]
    key = ->(r) { f = r.split("\t"); { "d" => f[2], "f" => f[4], "l" => f[1] }.fetch(f[0]) }
    head = lines.take_while { |l| !l.match?(/\A[dfl]\t/) && l != "end" }
    head = head.map { |l| l.start_with?("entries\t") ? "entries\t#{rows.size}" : l }
    File.write(path, (head + rows.sort_by.with_index { |r, i| [key.call(r), i] } + ["end"]).join("\n") + "\n")
  end

  def test_tampered_manifest_never_writes_outside
    _corpus, _dir, _server, app = setup_copy
    assert_success app.scint("install")
    clean = File.read(manifest_path(app))
    cached = File.join(cached_dir(app), VICTIM)
    rb = Dir.glob("gem/lib/**/*.rb", base: cached).first
    size = File.size(File.join(cached, rb))
    sha = Digest::SHA256.file(File.join(cached, rb)).hexdigest
    up = Pathname.new(tmp).relative_path_from(Pathname.new(File.join(app.install_root, "gems", VICTIM))).to_s
    rows = [
      "d\t0755\tgem/#{up}/escaped-dir",          # mkdirat outside
      "l\tgem/#{up}/escaped-link\tx",            # symlinkat outside
      "f\t0644\t#{size}\t#{sha}\tgem/#{up}/escaped-file",
      "l\tgem/evil-link\t#{tmp}",                # a link out of the gem
      "l\tgem/evil-up\t../..",
      "f\t4755\t#{size}\t#{sha}\tgem/setuid",
      "f\t0644\t#{size}\t#{sha}\t#{rb}"          # a repeated row
    ]
    nothing_escaped = lambda do |row|
      %w[escaped-dir escaped-link escaped-file].each { |n| refute File.exist?(File.join(tmp, n)), "#{row}: #{n}" }
      %w[evil-link evil-up setuid].each { |n| refute File.exist?(File.join(app.install_root, "gems", VICTIM, n)), "#{row}: #{n}" }
      assert_links_inside(File.join(app.install_root, "gems"))
      assert_empty files_outside(tmp, %w[app app.home app.scint-cache corpus]), row
    end
    rows.each do |row|
      tamper_manifest(app, row)
      FileUtils.rm_rf(app.path(".bundle"))
      r = app.scint("install")
      nothing_escaped.call(row)
      # The damaged entry is never used: it is built again from the package,
      # or the install stops naming it and the next one rebuilds it.
      unless r.success?
        assert_match(/#{VICTIM}/, r.stderr, row)
        r = app.scint("install")
        nothing_escaped.call(row)
      end
      assert_success r, row
      assert_equal clean, File.read(manifest_path(app)), "#{row}: the rebuilt manifest is the clean one"
      app.bundle_check!
    end
  end

  # The loader's error names the row and the cause (seen through `scint cache list`).
  def test_tampered_manifest_is_reported_as_corrupt
    _corpus, _dir, _server, app = setup_copy
    assert_success app.scint("install")
    tamper_manifest(app, "l\tgem/evil-link\t/etc")
    r = app.scint("cache", "list")
    assert_match(/#{VICTIM}\tcorrupt manifest/, r.stdout)
    assert_match(/sc_escape-0\.2\.0\t\d+ files/, r.stdout)
  end
end
