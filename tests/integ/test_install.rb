# frozen_string_literal: true

# `scint install` from Gemfile.lock, checked by real Bundler: a 29-gem app
# with a platform gem (prebuilt .so), gems with executables (bindir exe and
# bin) and a default gem; the cache pipeline's warm and no-op guarantees.

require_relative "install_support"

class TestInstall < ScintTest::Case
  include InstallSupport

  # Done-when 1: bundle check and bundle exec on a scint install; binstubs
  # run; the layout is Bundler's own, byte for byte.
  def test_cold_install_is_what_bundler_would_install
    shape, _corpus, server, app = small_app
    r = scint!(app)
    assert_match(/^Bundle complete! 29 gems in .*: 28 installed \(28 fetched, 0 from cache, 0 compiled\), 0 already installed, 1 default, 0 failed$/, r.stdout)
    app.bundle_check!
    assert_everything_loads(app, shape)
    assert_equal "sc-cli: sc_cli-0.7.0\n", app.bundle_exec!("sc-cli").stdout
    assert_equal "sctool: sc_tool-1.4.0\n", app.bundle_exec!("sctool").stdout
    # The platform variant for this machine was chosen, and only it was fetched.
    assert_includes gem_downloads(server), "sc_fastjson-2.6.3-x86_64-linux"
    refute_includes gem_downloads(server), "sc_fastjson-2.6.3"
    refute_includes gem_downloads(server), "ruby2_keywords-0.0.5"
    assert_equal gem_downloads(server).uniq.size, gem_downloads(server).size

    oracle = oracle_install(app)
    assert_same_tree oracle.tree_snapshot, app.tree_snapshot, ignore: INSTALLER_SPECIFIC
    assert_equal "---\nBUNDLE_PATH: \".bundle\"\n", app.read_file(".bundle/config")
    # Plain `bundle exec` (no BUNDLE_PATH in the environment) finds the gems too.
    plain = ScintTest.run(ScintTest.isolated_env(app.home), [ScintTest.bundle_bin, "exec", "ruby", "-e", "require 'sc_web'; puts ScWeb.scint_id"], chdir: app.dir)
    assert_success plain
    assert_equal "sc_web-3.2.1\n", plain.stdout
  end

  # Done-when 2: every gem has a valid cached/<abi>/<full_name> entry whose
  # manifest describes the tree exactly; assembling/ is empty.
  def test_cold_install_fills_the_cache
    shape, corpus, _server, app = small_app
    scint!(app)
    cached = cached_dir(app)
    installed = shape.locked.reject { |d| shape.default_gems.include?(d) }
    assert_equal installed.map(&:full_name).sort,
                 Dir.children(cached).select { |n| File.directory?(File.join(cached, n)) }.sort
    installed.each do |d|
      entry = File.join(cached, d.full_name)
      manifest = File.read("#{entry}.manifest")
      assert manifest.start_with?("scint-manifest 1\nfull_name\t#{d.full_name}\nabi\t#{ABI}\n"), d.full_name
      assert manifest.end_with?("end\n")
      assert File.file?("#{entry}.gemspec")
      files = manifest.lines.grep(/\Af\t/).map { |l| l.chomp.split("\t") }
      # Exactly the package's regular files, as the package holds them.
      packaged = GemSurgery.read_data(GemSurgery.read_outer(corpus.gem_path(d.full_name)))
                           .select { |e| e[:type] == :file }
      assert_equal packaged.map { |e| ["gem/#{e[:name]}", e[:body].bytesize, Digest::SHA256.hexdigest(e[:body])] }.sort,
                   files.map { |f| [f[4], f[2].to_i, f[3]] }.sort, d.full_name
      files.each do |_, mode, size, sha, rel|
        path = File.join(entry, rel)
        assert_equal [mode.to_i(8), size.to_i, sha],
                     [File.stat(path).mode & 0o777, File.size(path), Digest::SHA256.file(path).hexdigest], path
      end
    end
    assert_empty Dir.children(File.join(app.cache, "assembling", ABI))
    assert_empty Dir.glob("*.tmp-*", File::FNM_DOTMATCH, base: File.join(app.cache, "inbound/gems"))
  end

  # Done-when 3: with .bundle gone, a reinstall downloads no .gem, unpacks
  # nothing and starts no Ruby; the tree is identical to the first.
  def test_warm_reinstall_only_materializes
    shape, _corpus, server, app = small_app
    scint!(app)
    first = app.tree_snapshot
    FileUtils.rm_rf(app.path(".bundle"))
    server.reset_log
    env, trace = trace_env(app)
    r = scint!(app, env: env)
    assert_match(/: 28 installed \(0 fetched, 28 from cache, 0 compiled\)/, r.stdout)
    assert_empty gem_downloads(server)
    assert_empty server.requests.reject { |q| q.uri.start_with?("/scint-marker") }, "no request at all"
    records = read_trace(trace)
    assert_empty records.select { |t| t["phase"] == "assemble" || t["phase"] == "fetch" }
    assert_empty records.select { |t| t["op"] == "spawn" }, "no process started"
    assert_empty records.select { |t| t["op"] == "write_file" && t["path"].to_s.include?("/assembling/") }
    assert_operator records.count { |t| %w[linkat clone copy].include?(t["op"]) }, :>=, 28
    assert_equal first, app.tree_snapshot
    app.bundle_check!
    assert_everything_loads(app, shape)
  end

  # Done-when 4: nothing changed: no child process, no write in the project.
  def test_noop_install_starts_nothing_and_writes_nothing
    _shape, _corpus, server, app = small_app
    scint!(app)
    before = stat_snapshot(app.dir)
    server.reset_log
    env, trace = trace_env(app)
    r = scint!(app, env: env)
    assert_match(/: 0 installed .* 28 already installed, 1 default, 0 failed$/, r.stdout)
    records = read_trace(trace)
    assert_empty records.select { |t| %w[spawn exit].include?(t["op"]) }
    writes = %w[write_file write openat mkdirat linkat symlinkat renameat unlinkat copy clone]
    assert_empty records.select { |t| writes.include?(t["op"]) }
    assert_equal before, stat_snapshot(app.dir)
    assert_empty server.requests.reject { |q| q.uri.start_with?("/scint-marker") }
    if ScintTest.command?("strace")
      log = File.join(tmp, "strace.log")
      # LeakSanitizer cannot run under ptrace: sanitizer builds skip only the leak check here.
      st = ScintTest.run(ScintTest.isolated_env(app.home, "SCINT_CACHE" => app.cache, "ASAN_OPTIONS" => "detect_leaks=0"),
                         ["strace", "-f", "-qq", "-e", "trace=process", "-o", log, ScintTest.scint_bin, "install"], chdir: app.dir)
      assert_success st
      spawns = File.readlines(log).grep(/\b(clone3?|fork|vfork|execve)\(/)
      assert_equal 1, spawns.size, "only scint's own execve:\n#{spawns.join}"
    end
  end

  # The lockfile changed (a gem dropped from it): the install follows it
  # without redoing the rest, and Bundler agrees.
  def test_changed_lockfile_reinstalls_only_what_is_new
    _shape, _corpus, server, app = small_app
    scint!(app)
    app.write_file("Gemfile", app.read_file("Gemfile") + "gem \"sc_yaml\", \"0.1.2\"\n")
    app.bundle_lock!
    server.reset_log
    r = scint!(app)
    assert_empty gem_downloads(server)
    assert_match(/0 fetched/, r.stdout)
    app.bundle_check!
  end

  # The backend the suite runs with is the one scint uses.
  def test_io_backend_follows_the_switch
    _shape, _corpus, _server, app = small_app
    r = scint!(app, "--verbose")
    want = ENV["SCINT_IO_URING"] == "0" ? "sync" : "(io_uring|sync)"
    assert_match(/^link mode: \w+, io: #{want}, into /, r.stdout)
    assert_match(/io: sync/, r.stdout) if ENV["SCINT_IO_URING"] == "0"
  end

  # PATH sources are used in place, as Bundler does: nothing under .bundle,
  # and the app loads the gem from its directory.
  def test_path_gem_is_used_in_place
    shape, corpus = corpus(:small)
    server = serve(corpus.dir)
    app = app(gems: shape.gemfile_deps, source: server.url)
    app.write_file("vendor/sc_local/sc_local.gemspec", <<~RUBY)
      Gem::Specification.new do |s|
        s.name = "sc_local"
        s.version = "0.1.0"
        s.summary = "a path gem"
        s.authors = ["scint tests"]
        s.files = ["lib/sc_local.rb"]
        s.add_dependency "sc_escape", ">= 0.1"
      end
    RUBY
    app.write_file("vendor/sc_local/lib/sc_local.rb", "require 'sc_escape'\nmodule ScLocal; def self.id = 'local'; end\n")
    app.write_file("Gemfile", app.read_file("Gemfile") + "gem \"sc_local\", path: \"vendor/sc_local\"\n")
    app.bundle_lock!
    assert_includes app.lockfile, "PATH\n  remote: vendor/sc_local\n"
    r = scint!(app)
    assert_match(/Bundle complete! 30 gems/, r.stdout)
    app.bundle_check!
    assert_equal "local\n", app.ruby_exec!("require 'sc_local'; puts ScLocal.id")
    assert_empty Dir.glob("**/sc_local*", base: app.path(".bundle"))
  end

  # An edited Gemfile that was not re-locked is refused when the lockfile is
  # frozen (BUNDLE_FROZEN, --frozen), with Bundler's message, and nothing is
  # installed from the stale lockfile. (Unfrozen, scint re-locks: test_lock.rb.)
  def test_stale_lockfile_is_refused_when_frozen
    _shape, _corpus, _server, app = small_app
    lock = app.lockfile
    app.write_file("Gemfile", app.read_file("Gemfile") + "gem \"sc_yaml\"\n")
    r = app.scint("install", env: { "BUNDLE_FROZEN" => "true" })
    refute r.success?
    assert_match(/You are trying to install in deployment mode after changing\nyour Gemfile/, r.stderr)
    assert_match(/You have added to the Gemfile:\n\* sc_yaml$/, r.stderr)
    refute File.exist?(File.join(app.install_root, "specifications"))
    app.write_file("Gemfile", app.read_file("Gemfile").sub("gem \"sc_db\"\n", "gem \"sc_db\", \"~> 5.0\"\n"))
    r = app.scint("install", "--frozen")
    refute r.success?
    assert_match(/You have added to the Gemfile:\n\* sc_db \(~> 5\.0\)\n\* sc_yaml\n\nYou have deleted from the Gemfile:\n\* sc_db$/, r.stderr)
    assert_equal lock, app.lockfile
  end

  # Groups and platforms come from the Gemfile, as Bundler reads them:
  # BUNDLE_WITHOUT groups and other platforms' gems are not installed.
  def test_groups_and_platforms_are_honoured
    shape, corpus = corpus(:small)
    server = serve(corpus.dir)
    gemfile = shape.gemfile(server.url).sub("gem \"sc_tool\"\n", "").sub("gem \"sc_cache\"\n", "") +
              "group :development do\n  gem \"sc_tool\"\nend\n" \
              "gem \"sc_cache\", platforms: [:jruby]\n"
    app = app(gems: {}, source: server.url, gemfile: gemfile)
    app.bundle_lock!
    assert_includes app.lockfile, "  sc_cache\n"
    r = scint!(app, env: { "BUNDLE_WITHOUT" => "development" })
    root = app.install_root
    refute File.exist?(File.join(root, "specifications", "sc_tool-1.4.0.gemspec")), "development group skipped"
    refute File.exist?(File.join(root, "specifications", "sc_cache-1.0.0.gemspec")), "jruby-only gem skipped"
    assert File.exist?(File.join(root, "specifications", "sc_web-3.2.1.gemspec"))
    check = ScintTest.run(ScintTest.isolated_env(app.home, "BUNDLE_WITHOUT" => "development"),
                          [ScintTest.bundle_bin, "check"], chdir: app.dir)
    assert_success check
    assert_match(/Bundle complete! \d+ gems/, r.stdout)
    # Without BUNDLE_WITHOUT, the group is installed.
    scint!(app)
    assert File.exist?(File.join(root, "specifications", "sc_tool-1.4.0.gemspec"))
  end

  def test_cache_commands
    _shape, _corpus, _server, app = small_app
    scint!(app)
    env = { "SCINT_CACHE" => app.cache }
    dir = app.run(ScintTest.scint_bin, "cache", "dir", env: env)
    assert_equal "#{File.realpath(app.cache)}\n", dir.stdout
    list = app.run(ScintTest.scint_bin, "cache", "list", env: env)
    assert_success list
    assert_equal 28, list.stdout.lines.size
    assert_match(/^#{Regexp.escape(ABI)}\tsc_fastjson-2.6.3-x86_64-linux\t\d+ files\t\d+ bytes$/, list.stdout)
    clear = app.run(ScintTest.scint_bin, "cache", "clear", env: env)
    assert_success clear
    refute File.exist?(File.join(app.cache, "cached"))
    # The installed app does not depend on the cache's presence (hardlinks or copies).
    app.bundle_check!
  end

  def test_gitignore_warning
    _shape, _corpus, _server, app = small_app
    app.write_file(".gitignore", "/tmp/\n")
    r = scint!(app)
    assert_match(/warning: \.gitignore does not ignore \.bundle/, r.stderr)
    FileUtils.rm_rf(app.path(".bundle"))
    app.write_file(".gitignore", "/tmp/\n/.bundle/\n")
    r = scint!(app)
    refute_match(/gitignore/, r.stderr)
  end

  def test_missing_lockfile_and_bad_lockfile # a missing one is resolved unless frozen
    _shape, _corpus, _server, app = small_app
    good = app.lockfile
    File.delete(app.path("Gemfile.lock"))
    r = app.scint("install", "--frozen")
    refute r.success?
    assert_match(/The --frozen flag requires a Gemfile\.lock\. Please make sure/, r.stderr)
    app.write_file("Gemfile.lock", good.sub("PLATFORMS\n", "<<<<<<< HEAD\nPLATFORMS\n"))
    r = app.scint("install")
    refute r.success?
    assert_match(/Gemfile\.lock: line \d+: merge conflict marker/, r.stderr)
    refute File.exist?(app.path(".bundle/ruby"))
    # Unfrozen, a missing lockfile is resolved (Bundler's bytes) and installed.
    File.delete(app.path("Gemfile.lock"))
    scint!(app)
    assert_equal good, app.lockfile
    app.bundle_check!
  end
end
