# frozen_string_literal: true

# The everyday commands (check, list, info, clean, binstubs, add, remove,
# help) against real Bundler on the same app: exit status and the lines
# scripts parse. One small app is locked, installed by scint and by Bundler
# once for the whole file (then its Gemfile drops two gems and is locked
# again, so that both installs hold gems the lock no longer names); each
# test works on copies of the two.

require "scint_test"
require "open3"

class TestCommands < ScintTest::Case
  GEMFILE_V1 = <<~RUBY
    source "%<url>s"

    gem "sc_web"
    gem "sc_db"
    gem "sc_tool",
      require: false
    gem "sc_parser"
    gem "sc_cache"
    gem "ruby2_keywords", "= 0.0.5"

    group :test do
      gem "sc_cli"
    end

    group :development, :test do
      gem "sc_config" # settings
    end
  RUBY
  GEMFILE = GEMFILE_V1.sub("gem \"sc_parser\"\n", "").sub("gem \"sc_cache\"\n", "")

  Fixture = Struct.new(:tmp, :server, :app, :oracle)

  class << self
    attr_accessor :fixture
  end

  # Built by the first test that needs it; removed when the run ends.
  def fixture
    return self.class.fixture if self.class.fixture

    require_nginx!
    require_bundler!
    shape, corpus = corpus(:small)
    dir = Dir.mktmpdir("scint-commands-")
    ScintTest::LIVE_TMPDIRS << dir
    server = Scint::Server.new(corpus.dir).start
    Minitest.after_run { server.stop }
    app = ScintTest::App.new(File.join(dir, "app"), source: server.url, gems: shape.gemfile_deps,
                                                    gemfile: format(GEMFILE_V1, url: server.url))
    app.bundle_lock!
    assert_success app.scint("install")
    oracle = app.copy_to(File.join(dir, "oracle"))
    oracle.bundle_install!
    # The Gemfile drops sc_parser and sc_cache: both installs keep them until cleaned.
    [app, oracle].each { |a| a.write_file("Gemfile", format(GEMFILE, url: server.url)) }
    app.bundle_lock!
    oracle.write_file("Gemfile.lock", app.lockfile)
    assert_success app.scint("install")
    self.class.fixture = Fixture.new(dir, server, app, oracle)
  end

  # Private copies of the fixture's app and oracle (same HOME and scint cache).
  def copies
    f = fixture
    [f.app, f.oracle].map do |a|
      dest = File.join(tmp, File.basename(a.dir))
      FileUtils.cp_r(a.dir, dest, preserve: true)
      ScintTest::App.new(dest, source: a.source, gems: a.gems, home: a.home, cache: a.cache,
                               gemfile: a.read_file("Gemfile"))
    end
  end

  # Output with the app's directory and the command's name made neutral.
  def neutral(text, app)
    text.gsub(app.dir, "APP").gsub("`scint ", "`CMD ").gsub("`bundle ", "`CMD ")
  end

  def assert_same_output(app, oracle, *args, stream: :stdout)
    s = app.scint(*args)
    b = oracle.bundle(*args)
    assert_equal b.exitstatus, s.exitstatus, "exit status of #{args.join(" ")}:\n#{s}\n#{b}"
    assert_equal neutral(b.public_send(stream), oracle), neutral(s.public_send(stream), app),
                 "#{stream} of #{args.join(" ")}"
    s
  end

  def files(app)
    Dir.glob("**/*", File::FNM_DOTMATCH, base: app.install_root)
       .reject { |p| p.end_with?("/.", "/..") || p == "." }.sort
  end

  def test_check
    app, oracle = copies
    r = assert_same_output(app, oracle, "check")
    assert_equal "The Gemfile's dependencies are satisfied\n", r.stdout
    # The Gemfile's evaluation and the Ruby facts are cached: no Ruby starts, nothing is written.
    if ScintTest.command?("strace")
      before = ScintTest.tree_snapshot(app.dir)
      log = File.join(tmp, "strace.log")
      st = app.run("strace", "-f", "-qq", "-e", "trace=process", "-o", log, ScintTest.scint_bin, "check",
                   env: { "ASAN_OPTIONS" => "detect_leaks=0" })
      assert_success st
      spawns = File.readlines(log).grep(/\b(clone3?|fork|vfork|execve)\(/)
      assert_equal 1, spawns.size, "only scint's own execve:\n#{spawns.join}"
      assert_equal before, ScintTest.tree_snapshot(app.dir)
    end
    [app, oracle].each do |a|
      FileUtils.rm_rf([File.join(a.install_root, "gems", "sc_escape-0.2.0"),
                       File.join(a.install_root, "specifications", "sc_escape-0.2.0.gemspec")])
    end
    r = assert_same_output(app, oracle, "check", stream: :stderr)
    assert_equal 1, r.exitstatus
    assert_includes r.stderr, "The following gems are missing\n * sc_escape (0.2.0)\n"
    assert_includes r.stderr, "Install missing gems with `scint install`"
  end

  def test_list
    app, oracle = copies
    r = assert_same_output(app, oracle, "list")
    assert_match(/^  \* sc_web \(3\.2\.1\)$/, r.stdout)
    refute_match(/sc_cache/, r.stdout)
    assert_same_output(app, oracle, "list", "--name-only")
    r = assert_same_output(app, oracle, "list", "--paths")
    assert_includes r.stdout.lines, "#{app.install_root}/gems/sc_web-3.2.1\n"
    r = assert_same_output(app, oracle, "list", "--paths", "--name-only", stream: :stderr)
    assert_equal 15, r.exitstatus
    # groups: the closure of the Gemfile's dependencies in the shown groups
    r = assert_same_output(app, oracle, "list", "--only-group", "test", "--name-only")
    assert_includes r.stdout.lines, "sc_cli\n"
    refute_includes r.stdout.lines, "sc_web\n"
    r = assert_same_output(app, oracle, "list", "--only-group", "development", "--name-only")
    refute_includes r.stdout.lines, "sc_cli\n"
    assert_includes r.stdout.lines, "sc_config\n"
    r = assert_same_output(app, oracle, "list", "--without-group", "test", "--name-only")
    assert_includes r.stdout.lines, "sc_web\n"
    assert_same_output(app, oracle, "list", "--without-group", "development")
    r = assert_same_output(app, oracle, "list", "--only-group", "nothing", stream: :stderr)
    assert_equal 15, r.exitstatus
    r = assert_same_output(app, oracle, "list", "--only-group", "test", "--without-group", "development", stream: :stderr)
    assert_equal 15, r.exitstatus
  end

  def test_info
    app, oracle = copies
    # a gem with dependents, a default gem, a gem with executables
    %w[sc_utils ruby2_keywords sc_tool].each { |g| assert_same_output(app, oracle, "info", g) }
    r = assert_same_output(app, oracle, "info", "sc_web", "--path")
    assert_equal "#{app.install_root}/gems/sc_web-3.2.1\n", r.stdout
    assert_same_output(app, oracle, "info", "sc_web", "--version")
    r = assert_same_output(app, oracle, "info", "sc_nothing", stream: :stderr)
    assert_equal 7, r.exitstatus
    # A name that is not a gem name never becomes a path.
    r = app.scint("info", "../gems/sc_web-3.2.1", "--path")
    assert_equal 7, r.exitstatus
    assert_equal "", r.stdout
  end

  def test_clean
    app, oracle = copies
    stale = %w[sc_ast sc_cache sc_parser]
    assert(files(app).any? { |f| f.start_with?("gems/sc_cache-") }, "the fixture has stale gems")
    # A link among the gems pointing outside the bundle: removed, never followed.
    outside = File.join(tmp, "outside")
    FileUtils.mkdir_p(outside)
    File.write(File.join(outside, "keep.rb"), "# keep\n")
    [app, oracle].each { |a| File.symlink(outside, File.join(a.install_root, "gems", "zz_link-1.0")) }

    before = files(app)
    dry = assert_same_output(app, oracle, "clean", "--dry-run")
    assert_equal before, files(app), "--dry-run removes nothing"
    assert_match(/^Would have removed sc_cache \(1\.0\.0\)$/, dry.stdout)

    r = assert_same_output(app, oracle, "clean")
    assert_match(/^Removing sc_cache \(1\.0\.0\)$/, r.stdout)
    assert_match(/^Removing zz_link-1\.0 \(1\.0\)$|^Removing zz_link \(1\.0\)$/, r.stdout)
    assert File.file?(File.join(outside, "keep.rb")), "the link's target is untouched"
    assert_equal files(oracle), files(app), "scint clean leaves what bundle clean leaves"
    stale.each { |g| refute(files(app).any? { |f| f =~ %r{(\A|/)#{g}-[0-9]} }, "#{g} is gone") }
    assert_success app.scint("check")
    assert_equal "", app.scint("clean").stdout, "a second clean finds nothing"

    # An install root reached through a link is left alone.
    real = File.join(tmp, "elsewhere")
    FileUtils.mv(app.install_root, real)
    File.symlink(real, app.install_root)
    FileUtils.mkdir_p(File.join(real, "gems", "sc_stale-1.0"))
    r = app.scint("clean")
    assert_match(/through a link/, r.stderr)
    assert File.directory?(File.join(real, "gems", "sc_stale-1.0"))
  end

  def test_add_and_remove_write_bundlers_bytes
    app, oracle = copies
    # remove: a gem with a continuation line, and the only gem of a group block
    s = app.scint("remove", "sc_tool", "sc_cli")
    b = oracle.bundle("remove", "sc_tool", "sc_cli")
    assert_success b
    assert_success s
    assert_equal oracle.read_file("Gemfile"), app.read_file("Gemfile")
    # Both then install, which writes the lockfile without them.
    assert_equal oracle.lockfile, app.lockfile
    refute_match(/^    sc_tool\b/, app.lockfile)
    refute_includes app.read_file("Gemfile"), "group :test do"
    assert_includes s.stdout, "Removing gems from #{File.realpath(app.path("Gemfile"))}\n"
    assert_includes s.stdout, "sc_tool was removed.\n"
    assert_equal b.stdout.lines.grep(/was removed/), s.stdout.lines.grep(/was removed/)
    s = app.scint("remove", "ruby2_keywords")
    b = oracle.bundle("remove", "ruby2_keywords")
    assert_equal "ruby2_keywords (= 0.0.5) was removed.\n", s.stdout.lines.grep(/was removed/).join
    assert_equal b.stdout.lines.grep(/was removed/), s.stdout.lines.grep(/was removed/)
    assert_equal oracle.read_file("Gemfile"), app.read_file("Gemfile")
    assert_equal oracle.lockfile, app.lockfile

    # add: a version and a group (installed); two groups
    [%w[sc_color --version ~>\ 0.3 --group test], %w[sc_yaml --version 0.1.2,<\ 1 --group development,test --skip-install]].each do |args|
      s = app.scint("add", *args)
      assert_success s
      assert_success oracle.bundle("add", *args, "--skip-install")
      assert_equal oracle.read_file("Gemfile"), app.read_file("Gemfile"), "scint add #{args.join(" ")}"
      assert_equal oracle.lockfile, app.lockfile, "scint add #{args.join(" ")}"
    end
    assert_includes app.lockfile, "\n  sc_color (~> 0.3)\n"
    # add without --version: resolved, then Bundler's conservative requirement
    # ("~> 0.y.z" below 1.0), locked and installed
    s = app.scint("add", "sc_time")
    b = oracle.bundle("add", "sc_time")
    assert_success b
    assert_success s
    assert_includes app.read_file("Gemfile"), %(\ngem "sc_time", "~> 0.2.0"\n)
    assert_equal oracle.read_file("Gemfile"), app.read_file("Gemfile")
    assert_equal oracle.lockfile, app.lockfile
    assert_includes app.lockfile, "\n  sc_time (~> 0.2.0)\n"
    assert_success app.scint("check")
    # --skip-install keeps the lockfile Bundler's inject writes (the gem bare); --strict
    [%w[sc_ast], %w[sc_pool --strict]].each do |args|
      s = app.scint("add", *args, "--skip-install")
      assert_success s
      assert_success oracle.bundle("add", *args, "--skip-install")
      assert_equal oracle.read_file("Gemfile"), app.read_file("Gemfile"), "scint add #{args.join(" ")}"
      assert_equal oracle.lockfile, app.lockfile, "scint add #{args.join(" ")}"
    end
    assert_includes app.read_file("Gemfile"), %(\ngem "sc_ast", "~> 2.4"\n)
    assert_includes app.read_file("Gemfile"), %(\ngem "sc_pool", "= 2.1"\n)
    # A gem the source lacks, a version it lacks: both files keep their bytes.
    before = [app.read_file("Gemfile"), app.lockfile]
    [%w[sc_nothing], ["sc_logger", "--version", "> 99", "--skip-install"]].each do |args|
      r = app.scint("add", *args)
      refute r.success?, r.to_s
      assert_match(/sc_nothing|sc_logger/, r.stderr)
      assert_match(/were left as they were/, r.stderr)
      assert_equal before, [app.read_file("Gemfile"), app.lockfile], "scint add #{args.join(" ")}"
    end
    r = app.scint("add", "sc_color", "--strict", "--optimistic")
    assert_equal 15, r.exitstatus
    assert_includes app.read_file("Gemfile"), %(gem "sc_color", "~> 0.3", :group => :test\n)
    assert_includes app.read_file("Gemfile"), %(gem "sc_yaml", "= 0.1.2", "< 1", :groups => [:development, :test]\n)

    # A line that names another gem too: nothing is removed (Bundler's cross-check).
    [app, oracle].each { |a| a.write_file("Gemfile", a.read_file("Gemfile").sub(%(gem "sc_web"\n), "").sub(%(gem "sc_db"\n), %(gem "sc_db"; gem "sc_web"\n))) }
    before = app.read_file("Gemfile")
    s = app.scint("remove", "sc_db")
    b = oracle.bundle("remove", "sc_db")
    assert_equal 15, b.exitstatus, b.to_s
    assert_equal 15, s.exitstatus, s.to_s
    assert_match(/Gems could not be removed\. sc_web.* would also have been removed\./, s.stderr)
    assert_equal before, app.read_file("Gemfile")
    assert_equal oracle.read_file("Gemfile"), app.read_file("Gemfile")

    r = app.scint("remove", "sc_nothing")
    assert_equal 4, r.exitstatus
    assert_match(/`sc_nothing` is not specified in .*Gemfile so it could not be removed\./, r.stderr)
    # hostile or invalid arguments leave the Gemfile alone
    r = app.scint("add", "../evil", "--version", "1.0")
    refute r.success?
    r = app.scint("add", "sc_evil", "--version", "1.0\"; system(\"x\")")
    assert_equal 15, r.exitstatus
    assert_match(/Invalid gem requirement pattern/, r.stderr)
    r = app.scint("remove", "../evil")
    refute r.success?
    assert_equal before, app.read_file("Gemfile")
  end

  def test_binstubs
    app, oracle = copies
    assert_success oracle.bundle("binstubs", "sc_tool", "sc_cli")
    r = app.scint("binstubs", "sc_tool", "sc_cli")
    assert_success r
    assert_equal Dir.children(oracle.path("bin")).sort, Dir.children(app.path("bin")).sort
    stub = app.path("bin", "sctool")
    assert File.executable?(stub)
    assert_match(/\A#!\/bin\/sh\n/, File.read(stub))
    assert_includes File.read(stub), %(exec "${SCINT:-scint}" exec sctool "$@")

    # Existing files are skipped (as Bundler does) unless --force.
    File.write(stub, "#!/bin/sh\necho mine\n")
    r = app.scint("binstubs", "sc_tool")
    assert_success r
    assert_equal "Skipped sctool since it already exists.\nIf you want to overwrite skipped stubs, use --force.\n", r.stderr
    assert_equal "#!/bin/sh\necho mine\n", File.read(stub)
    # A link is replaced, never written through.
    target = File.join(tmp, "target")
    File.write(target, "untouched\n")
    File.unlink(stub)
    File.symlink(target, stub)
    assert_success app.scint("binstubs", "sc_tool", "--force")
    refute File.symlink?(stub)
    assert_equal "untouched\n", File.read(target)

    r = app.scint("binstubs", "sc_nothing")
    assert_equal 7, r.exitstatus
    assert_equal 7, app.scint("binstubs", "../../x").exitstatus
    assert_equal 1, app.scint("binstubs").exitstatus

    # The stub runs the executable with `scint exec` (once that command exists).
    if app.scint("help", "exec").success?
      bin_dir = File.dirname(ScintTest.scint_bin)
      run = app.run(stub, env: { "SCINT" => ScintTest.scint_bin, "PATH" => "#{bin_dir}:#{ENV["PATH"]}" })
      want = oracle.bundle("exec", "sctool")
      assert_equal want.stdout, run.stdout
      assert_equal want.exitstatus, run.exitstatus
    end
  end

  def test_help_and_version
    r = ScintTest.run(ScintTest.isolated_env(tmp), [ScintTest.scint_bin, "--version"], chdir: tmp)
    assert_success r
    assert_match(/\Ascint \d+\.\d+\.\d+/, r.stdout)
    r = ScintTest.run(ScintTest.isolated_env(tmp), [ScintTest.scint_bin, "help"], chdir: tmp)
    assert_success r
    cmds = r.stdout.scan(/^  ([a-z]+) /).flatten
    %w[install check list info clean binstubs add remove cache].each { |c| assert_includes cmds, c }
    cmds.each do |c|
      h = ScintTest.run(ScintTest.isolated_env(tmp), [ScintTest.scint_bin, "help", c], chdir: tmp)
      o = ScintTest.run(ScintTest.isolated_env(tmp), [ScintTest.scint_bin, c, "--help"], chdir: tmp)
      assert_success h, "scint help #{c}"
      assert_equal o.stdout, h.stdout, "scint help #{c} is scint #{c} --help"
      assert_match(/\Ausage: scint #{c}/, h.stdout)
    end
    r = ScintTest.run(ScintTest.isolated_env(tmp), [ScintTest.scint_bin, "help", "nothing"], chdir: tmp)
    assert_equal 2, r.exitstatus
  end
end
