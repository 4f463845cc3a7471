# frozen_string_literal: true

# `scint exec` and its Bundler shim against real `bundle exec` on the same
# install: an app of 30 gems with groups, `require: false` gems, a native gem
# (extension dir on the load path), gems with executables and a rake-like gem.
# One app is installed once per process and shared by the read-only cases;
# the cases that change it work on copies.

require_relative "install_support"

class TestExec < ScintTest::Case
  include InstallSupport

  GEMFILE_BODY = <<~RUBY
    gem "sc_web"
    gem "sc_db", require: false
    gem "sc_parser"
    gem "sc_tool", require: "sc_tool"
    gem "sc_fastjson"
    gem "sc_native"
    gem "ruby2_keywords", "= 0.0.5"
    gem "rake", require: false

    group :test do
      gem "sc_cache"
    end

    group :development do
      gem "sc_config"
    end
  RUBY

  # What a program sees of the bundle: the load path entries inside the app
  # (Bundler's order), the bundle's gems in Gem.loaded_specs, the gem files
  # required so far (in order), and `gem` on a locked gem.
  PROBE = <<~RUBY
    root = File.expand_path(ARGV[0] || ".")
    locked = File.read(File.join(root, "Gemfile.lock"))[/^GEM.*?\\n\\n/m].scan(/^    (\\S+) \\(/).flatten
    puts "load_path:"
    puts $LOAD_PATH.select { |p| p.start_with?(root + "/") }.map { |p| p.delete_prefix(root + "/") }
    puts "loaded_specs:"
    puts Gem.loaded_specs.values.select { |s| locked.include?(s.name) }.map { |s| "\#{s.name} \#{s.version}" }.sort
    puts "features:"
    puts $LOADED_FEATURES.select { |f| f.start_with?(root + "/") }.map { |f| f.delete_prefix(root + "/") }
    puts "gem: \#{gem("sc_web").inspect}"
    begin
      gem "sc_web", "< 1"
    rescue Gem::LoadError => e
      puts "gem conflict: \#{e.class}"
    end
  RUBY

  def shape_and_corpus
    small = Scint::Shapes.small
    rake = Scint::Gemgen::GemDesc.new(name: "rake", version: "13.9.9", files: 3, executables: ["rake"], bindir: "exe")
    shape = Scint::Shapes::Shape.new(name: "exec", gems: small.gems + [rake], gemfile_deps: {}, locked: small.locked + [rake])
    corpus(shape, native: true)
  end

  def gemfile(url)
    "source #{url.inspect}\n\n#{GEMFILE_BODY}"
  end

  # The app, locked by Bundler and installed by scint once per process (in a
  # dir of its own, removed after the run); the cases restore what they change.
  def installed_app
    base = self.class.instance_variable_get(:@base)
    return base if base

    _shape, corpus = shape_and_corpus
    server = serve(corpus.dir)
    dir = Dir.mktmpdir("scint-exec-")
    Minitest.after_run { FileUtils.rm_rf(dir) unless ENV["SCINT_KEEP_TMP"] == "1" }
    app = ScintTest::App.new(File.join(dir, "app"), source: server.url, gemfile: gemfile(server.url))
    app.bundle_lock!
    assert_success app.scint("install"), "scint install"
    app.write_file("probe.rb", PROBE)
    self.class.instance_variable_set(:@base, app)
  end

  def bundle_exec(app, *cmd, env: {})
    app.bundle("exec", *cmd, env: env)
  end

  def scint_exec(app, *cmd, env: {})
    app.scint("exec", *cmd, env: env)
  end

  def assert_same_run(app, *cmd, env: {})
    want = bundle_exec(app, *cmd, env: env)
    got = scint_exec(app, *cmd, env: env)
    assert_equal [want.stdout, want.exitstatus], [got.stdout, got.exitstatus],
                 "scint exec #{cmd.join(" ")} differs from bundle exec\n#{got.stderr}\n--- bundle exec stderr:\n#{want.stderr}"
    got
  end

  def test_exec_behaves_as_bundle_exec
    app = installed_app
    # A program: load path, loaded specs, `gem`, its exit status.
    app.write_file("app.rb", "#{PROBE}\nrequire \"sc_web\"\nputs ScWeb.scint_id\nexit 3\n")
    r = assert_same_run(app, "ruby", "app.rb")
    assert_equal 3, r.exitstatus
    assert_match %r{^\.bundle/ruby/[^/]+/extensions/[^/]+/[^/]+/sc_native-0\.3\.0$}, r.stdout # its extension dir
    assert_match %r{^\.bundle/ruby/[^/]+/gems/sc_web-3\.2\.1/lib$}, r.stdout
    refute_includes r.stderr, "using Bundler", "the shim fell back to Bundler"

    # Bundler.require(:default, :test) honours require: false and require: "path".
    app.write_file("boot.rb", "require \"bundler/setup\"\nBundler.require(:default, :test)\n#{PROBE}")
    r = assert_same_run(app, "ruby", "boot.rb")
    assert_includes r.stdout, "sc_cache"
    refute_match %r{gems/sc_db-[^/]+/lib/sc_db\.rb}, r.stdout.split("features:").last

    # Bundler.setup(:default) after bundler/setup changes nothing (Bundler 2.3).
    app.write_file("setup.rb", "require \"bundler\"\nBundler.setup(:default)\n#{PROBE}")
    app.write_file("setup_shim.rb", "Bundler.setup(:default)\n#{PROBE}")
    want = bundle_exec(app, "ruby", "setup.rb")
    got = scint_exec(app, "ruby", "setup_shim.rb")
    assert_equal want.stdout, got.stdout

    # Gem executables run through the bundle's binstubs.
    assert_equal "sc-cli: sc_cli-0.7.0\n", assert_same_run(app, "sc-cli").stdout
    assert_equal "sctool: sc_tool-1.4.0\n", assert_same_run(app, "sctool").stdout
    assert_equal "rake: rake-13.9.9\n", assert_same_run(app, "rake", "-T").stdout
    assert_same_run(app, "ruby", "-e", "puts Gem.bin_path('sc_cli', 'sc-cli').delete_prefix(Dir.pwd)")
    # Full specs on demand, from the stubs in Gem.loaded_specs.
    assert_same_run(app, "ruby", "-e", "s = Gem.loaded_specs['sc_web']; p [s.summary, s.dependencies.map(&:name).sort, Gem.loaded_specs['sc_native'].full_require_paths.size]")

    # The API apps call at boot, and the environment they see.
    api = <<~'RUBY'
      puts Bundler.root
      puts Bundler.load.specs.map(&:full_name).grep(/\Asc_/).sort
      Bundler.with_unbundled_env { p [ENV["RUBYOPT"], ENV["GEM_HOME"], ENV["BUNDLE_GEMFILE"], ENV["PATH"], ENV["RUBYLIB"]] }
      Bundler.with_original_env { p [ENV["RUBYOPT"], ENV["PATH"]] }
      p [ENV["GEM_HOME"], ENV["GEM_PATH"], ENV["BUNDLE_GEMFILE"], ENV["PATH"].split(":").first]
      p ENV.keys.grep(/\ABUNDLER_ORIG_/).sort
      p Bundler.unbundled_system("ruby", "-e", "exit Gem.loaded_specs.key?('sc_web') ? 1 : 0")
    RUBY
    assert_same_run(app, "ruby", "-e", api)

    # More than the shim has: the real Bundler takes over, on the same bundle.
    r = assert_same_run(app, "ruby", "-e", "puts Bundler.locked_gems.specs.map(&:full_name).sort; puts Bundler::VERSION")
    assert_includes r.stdout, "sc_web-3.2.1"

    # A missing command, and exit statuses.
    r = scint_exec(app, "no-such-command-here")
    assert_equal 127, r.exitstatus
    assert_equal 5, scint_exec(app, "ruby", "-e", "exit 5").exitstatus
  end

  def test_signals_reach_the_command
    app = installed_app
    script = 'trap("TERM") { puts "handler ran"; $stdout.flush; exit! 42 }; puts "ready"; $stdout.flush; sleep 30'
    out_r, out_w = IO.pipe
    pid = Process.spawn(app.env, ScintTest.scint_bin, "exec", "ruby", "-e", script, chdir: app.dir, out: out_w, err: File::NULL)
    out_w.close
    assert_equal "ready\n", out_r.gets
    # scint is gone: the pid is the Ruby program itself.
    assert_match(/ruby/, File.read("/proc/#{pid}/cmdline").split("\0").first)
    Process.kill("TERM", pid)
    assert_equal "handler ran\n", out_r.gets
    _, status = Process.wait2(pid)
    assert_equal 42, status.exitstatus
  ensure
    out_r&.close
  end

  def test_runtime_lock_rebuilt_and_stale_install
    app = installed_app
    lockfile = app.lockfile
    lock = app.path(".bundle/scint.lock.marshal")
    # The signals the command has blocked (the rebuild blocks some for itself), then the probe.
    mask = scint_exec(app, "grep", "^SigBlk", "/proc/self/status").stdout
    want = scint_exec(app, "ruby", "probe.rb").stdout
    File.unlink(lock)
    r = scint_exec(app, "grep", "^SigBlk", "/proc/self/status")
    assert_success r
    assert_match(/rebuilding/, r.stderr)
    assert_equal mask, r.stdout
    assert File.file?(lock)
    assert_equal want, scint_exec(app, "ruby", "probe.rb").stdout

    # Touched but unchanged: still current. Changed: say what to run.
    FileUtils.touch(app.path("Gemfile.lock"), mtime: Time.now + 5)
    assert_success scint_exec(app, "ruby", "-e", "0")
    app.write_file("Gemfile.lock", app.lockfile.sub("sc_web (3.2.1)", "sc_web (3.2.1)\n"))
    FileUtils.touch(app.path("Gemfile.lock"), mtime: Time.now + 10)
    r = scint_exec(app, "ruby", "-e", "puts 1")
    refute r.success?
    assert_equal "", r.stdout
    assert_match(/`scint install`/, r.stderr)
  ensure
    app&.write_file("Gemfile.lock", lockfile) if lockfile
  end

  # BUNDLE_APP_CONFIG ("~/" too, as Bundler reads it) is where install writes
  # scint.state and the runtime lock, and where exec finds them.
  def test_bundle_app_config_is_where_install_wrote
    app = installed_app
    env = { "BUNDLE_APP_CONFIG" => "~/scint-cfg" }
    cfg = File.join(app.home, "scint-cfg")
    assert_success app.scint("install", env: env)
    assert File.file?(File.join(cfg, "scint.state")), "install did not write to BUNDLE_APP_CONFIG"
    r = scint_exec(app, "ruby", "-e", "print 1", env: env)
    assert_success r
    assert_equal "1", r.stdout
    refute_match(/rebuilding/, r.stderr)
  ensure
    FileUtils.rm_rf(cfg) if cfg
  end

  # scint.state is project input: a forged one is refused, nothing runs.
  def test_forged_state_is_refused
    app = installed_app
    path = app.path(".bundle/scint.state")
    good = File.read(path)
    ["root relative/dir", "root /srv/x\u0001y", "root /a:b", "lockfile_sha256 #{"0" * 4}", "x" * 20_000].each do |line|
      File.write(path, good.lines.reject { |l| l.start_with?(line.split.first) }.join + "#{line}\n")
      r = scint_exec(app, "ruby", "-e", "puts :ran")
      assert_equal [1, ""], [r.exitstatus, r.stdout], line[0, 40]
      assert_match(/not written by this scint/, r.stderr)
    end
  ensure
    File.write(path, good) if good
  end

  # The shim's compiled instructions kept next to the runtime lock: a damaged
  # or foreign cache is compiled again, never trusted for a different shim.
  def test_shim_cache
    app = installed_app
    want = scint_exec(app, "ruby", "probe.rb").stdout
    cache = Dir[app.path(".bundle/scint.shim-*.iseq")]
    assert_equal 1, cache.size
    cache = cache.first
    assert File.binread(cache).start_with?("scint-shim 1\0")
    [File.binread(cache).sub(/\n.*/m, "\n") + "garbage", "scint-shim 1\0other key\n#{File.binread(cache).split("\n", 2).last}", ""].each do |bad|
      File.binwrite(cache, bad)
      r = scint_exec(app, "ruby", "probe.rb")
      assert_equal [want, ""], [r.stdout, r.stderr]
      refute_equal bad, File.binread(cache), "the cache was not written again"
    end
  end

  def test_groups_excluded_at_install_are_not_activated
    env = { "BUNDLE_WITHOUT" => "development" }
    app = installed_app.copy_to(File.join(tmp, "without"), cache: installed_app.cache)
    assert_success app.scint("install", env: env), "scint install (BUNDLE_WITHOUT)"
    app.write_file("probe.rb", PROBE)
    r = assert_same_run(app, "ruby", "probe.rb", env: env)
    refute_includes r.stdout, "sc_config"
    assert_includes r.stdout, "sc_cache"
  end

  # An edited Gemfile is re-resolved against the installed gems before the
  # command runs, as `bundle exec` (Bundler.setup) does: the lockfile both
  # write is the same, and the command sees the new bundle. A gem that is not
  # installed stops it, with nothing fetched. (Bundler 2.3 leaves the lockfile
  # alone when a Gemfile only drops gems; scint re-locks then too.)
  def test_edited_gemfile_is_resolved_locally
    base = installed_app
    ours = base.copy_to(File.join(tmp, "ours"), cache: base.cache)
    theirs = base.copy_to(File.join(tmp, "theirs"), cache: base.cache)
    [ours, theirs].each { |app| assert_success app.scint("install"), "scint install (copy)" }
    # A gem added that is installed already (a dependency) and one removed.
    edited = ours.read_file("Gemfile").sub(/^  gem "sc_config"\n/, "") + "gem \"sc_logger\"\n"
    refute_equal ours.read_file("Gemfile"), edited
    [ours, theirs].each do |app|
      app.write_file("Gemfile", edited)
      FileUtils.touch(app.path("Gemfile"), mtime: Time.now + 5)
    end
    probe = ["ruby", "-e", 'puts Gem.loaded_specs.key?("sc_config"), Gem.loaded_specs.key?("sc_logger")']
    want = theirs.bundle("exec", *probe)
    got = ours.scint("exec", *probe)
    assert_success got, "scint exec after a Gemfile edit"
    assert_equal want.stdout, got.stdout, want.stderr
    assert_equal "false\ntrue\n", got.stdout
    assert_equal theirs.lockfile, ours.lockfile
    refute_includes ours.lockfile, "sc_config"

    ours.write_file("Gemfile", edited + "gem \"sc_not_there\"\n")
    FileUtils.touch(ours.path("Gemfile"), mtime: Time.now + 10)
    r = ours.scint("exec", "ruby", "-e", "puts 1")
    refute r.success?
    assert_equal "", r.stdout
    assert_match(/sc_not_there/, r.stderr)
  end
end
