# frozen_string_literal: true

# The Gemfile as scint's Ruby helper evaluates it (phases/ruby/helper.rb, the
# `gemfile` call; line format in bundle/gemfile.h), checked against
# Bundler's own Bundler::Definition; the cached evaluation follows the files
# and environment variables the Gemfile read; `plugin` is refused naming its
# line; `--gemfile foo_gems.rb` pairs with foo_gems.rb.lock.

require_relative "install_support"
require "json"

class TestGemfileDsl < ScintTest::Case
  include InstallSupport

  HELPER = File.expand_path("../../phases/ruby/helper.rb", __dir__)

  RICH = <<~'GEMFILE'
    source "https://gems.example.com"
    ruby "~> 3.1"
    gem "rack", "~> 3.0", ">= 3.0.1"
    gem "nokogiri", "~> 1.13", platforms: [:mri, :mingw]
    source "https://private.example.com" do
      gem "private_gem"
      gem "private_two", "= 2.0"
    end
    gem "gitgem", git: "https://git.example.com/gitgem.git", branch: "feature"
    gem "ghgem", github: "me/ghgem", tag: "v1"
    git "https://git.example.com/multi.git", ref: "0123abcd", glob: "gems/*/*.gemspec", submodules: true do
      gem "alpha"
    end
    gem "localgem", path: "vendor/localgem"
    path "vendor" do
      gem "globbed", glob: "sub/*.gemspec"
    end
    install_if -> { false } do
      gem "never_here"
    end
    group :test, :ci, optional: true do
      gem "minitest"
    end
    gem "from_env" if ENV["SCINT_DSL_FLAG"] == "on"
    eval_gemfile "gems/extra.rb"
    gemspec development_group: :dev
  GEMFILE

  SPEC = 'Gem::Specification.new { |s| s.name = %p; s.version = "0.1.0"; s.summary = "x"; s.authors = ["x"]; s.files = []; %s }'

  def rich_app
    dir = File.join(tmp, "rich")
    {
      "Gemfile" => RICH,
      "gems/extra.rb" => "gem \"extra\", \"= 1.0\"\n",
      "mygem.gemspec" => format(SPEC, "mygem", "s.add_dependency 'rack'; s.add_development_dependency 'rake', '~> 13'"),
      "vendor/localgem/localgem.gemspec" => format(SPEC, "localgem", ""),
      "vendor/sub/globbed.gemspec" => format(SPEC, "globbed", ""),
    }.each do |rel, content|
      FileUtils.mkdir_p(File.dirname(File.join(dir, rel)))
      File.write(File.join(dir, rel), content)
    end
    dir
  end

  # One `gemfile` call to the helper, as scint makes it. Returns the answer's lines.
  def helper_gemfile(dir, env = {})
    gemfile = File.join(dir, "Gemfile")
    request = File.join(tmp, "request")
    File.write(request, "CALL 1 gemfile #{gemfile.bytesize}\n#{gemfile}")
    r = ScintTest.run(ScintTest.isolated_env(File.join(tmp, "home"), env),
                      ["ruby", "-e", "$stdin.reopen(ARGV.shift); load ARGV.shift", request, HELPER], chdir: dir)
    assert_success r
    head, body = r.stdout.split("\n", 2)
    assert_match(/\ARESULT 1 ok \d+\z/, head, r.stdout)
    body.lines(chomp: true).map { |l| l.split("\t", -1) }
  end

  # What Bundler itself makes of the Gemfile.
  ORACLE = <<~'RUBY'
    require "bundler"
    require "json"
    d = Bundler::Definition.build("Gemfile", nil, nil)
    kind = ->(s) { s.is_a?(Bundler::Source::Gemspec) ? "gemspec" : s.is_a?(Bundler::Source::Git) ? "git" : s.is_a?(Bundler::Source::Path) ? "path" : "gem" }
    src = lambda do |s|
      next nil unless s
      o = s.options
      h = { "kind" => kind.(s) }
      case h["kind"]
      when "gem" then h["remotes"] = s.remotes.map(&:to_s)
      when "git" then h.merge!("remote" => s.uri, "branch" => o["branch"], "tag" => o["tag"], "ref" => o["ref"], "glob" => o["glob"], "submodules" => o["submodules"] ? "true" : nil)
      else h.merge!("remote" => s.to_lock[/^  remote: (.*)$/, 1], "glob" => o["glob"])
      end
      h.compact
    end
    deps = d.dependencies.map do |x|
      { "name" => x.name, "reqs" => x.requirement.as_list.reject { |r| r == ">= 0" }.sort.reverse.join(", "),
        "groups" => x.groups.map(&:to_s), "platforms" => x.platforms.map(&:to_s), "ok" => x.should_include?,
        "pinned" => !x.source.nil?, "type" => x.type.to_s, "source" => src.(x.source) }
    end
    rv = d.ruby_version
    puts JSON.generate("deps" => deps, "global" => src.(d.send(:sources).global_rubygems_source),
                       "ruby" => rv && [rv.versions.join(", "), rv.engine], "bundler" => Bundler::VERSION)
  RUBY

  def test_rich_gemfile_reads_as_bundler_reads_it
    require_bundler!
    dir = rich_app
    env = { "SCINT_DSL_FLAG" => "on" }
    lines = helper_gemfile(dir, env)
    r = ScintTest.run(ScintTest.isolated_env(File.join(tmp, "home"), env), ["ruby", "-e", ORACLE], chdir: dir)
    assert_success r
    want = JSON.parse(r.stdout)

    sources = {}
    lines.select { |l| l[0] == "source" }.each { |l| sources[l[1]] = { "kind" => l[2] } }
    lines.select { |l| l[0] == "source_opt" }.each do |_, id, k, v|
      s = sources.fetch(id)
      if k == "remote" && s["kind"] == "gem"
        (s["remotes"] ||= []) << v
      elsif k != "name"
        s[k] = v
      end
    end
    got = lines.select { |l| l[0] == "dep" }.map do |_, name, reqs, groups, ok, pinned, src, platforms, type, _loc|
      { "name" => name, "reqs" => reqs, "groups" => groups.split(","), "platforms" => platforms.split(","),
        "ok" => ok == "1", "pinned" => pinned == "1", "type" => type,
        "source" => src == "0" ? nil : sources.fetch(src) }
    end
    assert_equal want["deps"].sort_by { |d| d["name"] }, got.sort_by { |d| d["name"] }
    assert_equal want["global"], sources.fetch("0")
    assert_equal want["deps"].size, 15 # the Gemfile's 14 gems, mygem and its development dependency
    ruby = lines.find { |l| l[0] == "ruby" }
    assert_equal want["ruby"], ruby[1, 2]
    assert_equal [["bundler", want["bundler"]]], lines.select { |l| l[0] == "bundler" }
    assert_equal [%w[optional_group test], %w[optional_group ci]], lines.select { |l| l[0] == "optional_group" }

    # What the evaluation read: the Gemfile, the eval_gemfile'd file and the
    # gemspec with their sha256; the variable the Gemfile looked at.
    files = lines.select { |l| l[0] == "file" }.to_h { |l| [l[1], l[2]] }
    %w[Gemfile gems/extra.rb mygem.gemspec].each do |rel|
      assert_equal Digest::SHA256.file(File.join(dir, rel)).hexdigest, files[rel], rel
    end
    envs = lines.select { |l| l[0] == "env" }.to_h { |l| [l[1], l[2]] }
    assert_equal Digest::SHA256.hexdigest("on"), envs["SCINT_DSL_FLAG"]
    refute envs.key?("BUNDLE_GEMFILE"), "the Gemfile's own path is not part of the answer"
    # Where each dependency was declared.
    locs = lines.select { |l| l[0] == "dep" }.to_h { |l| [l[1], l[9]] }
    assert_equal "Gemfile:3", locs["rack"]
    assert_equal "gems/extra.rb:1", locs["extra"]
    assert_equal "Gemfile:26", locs["rake"]
  end

  # The cached evaluation is reused only while what it read is unchanged:
  # an eval_gemfile'd file, an environment variable the Gemfile reads.
  # Then `plugin` is refused naming its line, and foo_gems.rb pairs with
  # foo_gems.rb.lock.
  def test_cached_evaluation_follows_what_the_gemfile_read
    shape, corpus = corpus(:small)
    server = serve(corpus.dir)
    gemfile = shape.gemfile(server.url).sub("gem \"sc_db\"\n", "eval_gemfile \"more.rb\"\n") +
              "gem \"sc_only_with_flag\" if ENV[\"SCINT_DSL_FLAG\"] == \"on\"\n"
    app = app(gems: {}, source: server.url, gemfile: gemfile)
    app.write_file("more.rb", "gem \"sc_db\"\n")
    app.bundle_lock!
    scint!(app)
    cached = Dir.glob(File.join(app.cache, "gemfiles", "*.deps"))
    assert_equal 1, cached.size
    assert_match(/^file\tmore\.rb\t\h{64}$/, File.read(cached[0]))

    # The variable the Gemfile reads is set: the cached answer does not hold.
    # (Frozen, so that the changed Gemfile is refused rather than re-locked.)
    r = app.scint("install", env: { "SCINT_DSL_FLAG" => "on", "BUNDLE_FROZEN" => "true" })
    refute r.success?
    assert_match(/You have added to the Gemfile:\n\* sc_only_with_flag$/, r.stderr)
    scint!(app) # and unset again: the answer for the unset variable holds again

    # The eval_gemfile'd file changes; the Gemfile and the lockfile do not.
    app.write_file("more.rb", "gem \"sc_db\", \"~> 5.0\"\n")
    r = app.scint("install", "--frozen")
    refute r.success?
    assert_match(/You have added to the Gemfile:\n\* sc_db \(~> 5\.0\)\n\nYou have deleted from the Gemfile:\n\* sc_db$/, r.stderr)
    app.write_file("more.rb", "gem \"sc_db\"\n")
    scint!(app)

    # A FIFO the Gemfile looked at is recorded but never opened (that would
    # block the next run forever).
    File.mkfifo(app.path("probe.fifo"))
    app.write_file("Gemfile", app.read_file("Gemfile") + "gem \"sc_never\" if File.file?(\"probe.fifo\")\n")
    scint!(app)
    assert_match(/^file\tprobe\.fifo\t-$/, File.read(Dir.glob(File.join(app.cache, "gemfiles", "*.deps")).max_by { |f| File.mtime(f) }))
    r = app.scint("install", timeout: 60)
    refute r.timed_out, "scint opened the FIFO"
    assert_success r

    # --gemfile foo_gems.rb reads foo_gems.rb.lock, as Bundler does.
    app.write_file("foo_gems.rb", app.read_file("Gemfile"))
    app.write_file("foo_gems.rb.lock", app.lockfile)
    FileUtils.mv(app.path("Gemfile.lock"), app.path("Gemfile.lock.away"))
    r = app.scint("install", "--gemfile", app.path("foo_gems.rb"))
    assert_success r
    refute File.exist?(app.path("foo_gems.locked"))
    FileUtils.mv(app.path("Gemfile.lock.away"), app.path("Gemfile.lock"))

    # Bundler's DSL takes any string as a gem name; scint refuses one that
    # could not be a gem's (names become cache paths).
    good = app.read_file("Gemfile")
    app.write_file("Gemfile", good + "gem \"../../evil\"\n")
    r = app.scint("install")
    refute r.success?
    assert_match(/the evaluation of .*Gemfile is malformed: line \d+: invalid gem name '\.\.\/\.\.\/evil'/, r.stderr)
    app.write_file("Gemfile", good)

    # A Bundler plugin is refused, naming the line.
    app.write_file("Gemfile", app.read_file("Gemfile") + "plugin \"bundler-something\"\n")
    line = app.read_file("Gemfile").lines.size
    r = app.scint("install")
    refute r.success?
    assert_match(/Gemfile:#{line}: `plugin` is not supported by scint/, r.stderr)
  end
end
