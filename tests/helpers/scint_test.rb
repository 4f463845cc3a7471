# frozen_string_literal: true

# Minitest support for scint's integration tests.
#
# Run from the repo root as `ruby -Itests/helpers tests/integ/test_x.rb`
# (tests/run.sh does). Environment:
#   SCINT_BUILD_DIR   build dir holding the `scint` binary (default build/debug)
#   SCINT_TOP         repo root (default: derived from this file)
#   SCINT_CORPUS_DIR  where generated corpora are kept between runs
#                     (default $SCINT_BUILD_DIR/corpus)
#   SCINT_KEEP_TMP=1  keep each test's temp dir (its path is printed)
#
#   class TestInstall < ScintTest::Case
#     def test_small
#       shape, corpus = corpus(:small)
#       server = serve(corpus.dir)
#       app = app(gems: shape.gemfile_deps, source: server.url)
#       app.bundle_lock!
#       r = app.scint("install")
#       assert_success r
#       oracle = oracle_install(app)
#       assert_same_tree oracle.tree_snapshot, app.tree_snapshot
#     end
#   end

require "minitest/autorun"
require "digest"
require "fileutils"
require "find"
require "rbconfig"
require "tmpdir"

module ScintTest
  TOP = File.expand_path(ENV["SCINT_TOP"] || File.join(__dir__, "../.."))
  BUILD_DIR = File.expand_path(ENV["SCINT_BUILD_DIR"] || "build/debug", TOP)
  CORPUS_DIR = File.expand_path(ENV["SCINT_CORPUS_DIR"] || File.join(BUILD_DIR, "corpus"), TOP)

  $LOAD_PATH.unshift(File.join(TOP, "bench/lib")) unless $LOAD_PATH.include?(File.join(TOP, "bench/lib"))
  require "scint/gemgen"
  require "scint/server"
  require "scint/shapes"

  # Variables that must not leak from the outside into scint or Bundler:
  # they would change where gems are looked up or installed, and make's own
  # (the suite runs under `make test-all`: Bundler would hand them to the
  # builds, while scint runs builds on its own jobserver).
  LEAKY_ENV = /\A(BUNDLE_|BUNDLER_|GEM_|RUBYGEMS_|SCINT_)|\A(RUBYOPT|RUBYLIB|XDG_CACHE_HOME|XDG_CONFIG_HOME|MAKEFLAGS|MFLAGS|MAKELEVEL)\z/.freeze

  # Install root under BUNDLE_PATH: <engine>/<RbConfig ruby_version> (ruby/3.1.0).
  RUBY_DIR = File.join(RUBY_ENGINE, RbConfig::CONFIG["ruby_version"])

  # Raised by the `!` helpers when a command fails; carries its output.
  class CommandFailed < StandardError
    attr_reader :result

    def initialize(result)
      @result = result
      super(result.to_s)
    end
  end

  # The outcome of one command.
  Result = Struct.new(:cmd, :status, :stdout, :stderr, :timed_out, :seconds, keyword_init: true) do
    def success?
      !timed_out && status&.success?
    end

    def exitstatus
      status&.exitstatus
    end

    def to_s
      head = timed_out ? "timed out after #{seconds.round(1)}s" : "exit #{status&.exitstatus.inspect}"
      "`#{cmd.join(" ")}`: #{head}\n--- stdout\n#{stdout}--- stderr\n#{stderr}"
    end
  end

  module_function

  def scint_bin
    File.join(BUILD_DIR, "scint")
  end

  # The path of an executable on PATH, or nil.
  def which(name)
    ENV.fetch("PATH", "").split(File::PATH_SEPARATOR).map { |d| File.join(d, name) }
       .find { |p| File.file?(p) && File.executable?(p) }
  end

  def command?(name)
    !which(name).nil?
  end

  def bundle_bin
    which("bundle")
  end

  # An environment with nothing inherited that points Bundler, RubyGems or
  # scint elsewhere, plus HOME and the given variables. Keys mapped to nil
  # are removed from the child's environment by Process.spawn.
  def isolated_env(home, extra = {})
    # SCINT_IO_URING is the suite-wide backend switch (tests/run.sh runs the
    # suite with both backends); everything else SCINT_* is per test.
    env = ENV.keys.grep(LEAKY_ENV).reject { |k| k == "SCINT_IO_URING" }.to_h { |k| [k, nil] }
    env["HOME"] = home
    env["LANG"] = "C.UTF-8" unless ENV["LANG"] || ENV["LC_ALL"]
    env.merge(extra.transform_keys(&:to_s))
  end

  # Temp dirs of tests that have not been torn down (see Case).
  LIVE_TMPDIRS = []

  # Minitest runs the tests from an at_exit hook, so plain at_exit cleanups
  # registered later would run before the tests: use its after_run hook,
  # which also runs when the run is interrupted (e.g. SIGTERM), to stop
  # servers and remove temp dirs that an interrupted test left behind.
  Minitest.after_run do
    Scint::Server::RUNNING.dup.each(&:stop)
    LIVE_TMPDIRS.each { |d| FileUtils.rm_rf(d) } unless ENV["SCINT_KEEP_TMP"] == "1"
  end

  def kill_group(pgid)
    Process.kill("KILL", -pgid)
  rescue Errno::ESRCH, Errno::EPERM
    nil
  end

  # Runs cmd in chdir with env, in a process group of its own so that a
  # timeout stops it with everything it started (and only that). The group
  # is also killed when an exception (e.g. SIGTERM from tests/run.sh's
  # timeout, which signals only the test's own group) interrupts the wait.
  # Returns a Result.
  def run(env, cmd, chdir:, timeout: 300)
    cmd = cmd.map(&:to_s)
    out_r, out_w = IO.pipe
    err_r, err_w = IO.pipe
    started = Process.clock_gettime(Process::CLOCK_MONOTONIC)
    pid = Process.spawn(env, *cmd, chdir: chdir, in: File::NULL, out: out_w, err: err_w, pgroup: true)
    out_w.close
    err_w.close
    readers = [out_r, err_r].map do |io|
      Thread.new { io.read }.tap { |t| t.report_on_exception = false }
    end
    waiter = Process.detach(pid)
    timed_out = waiter.join(timeout).nil?
    kill_group(pid) if timed_out
    status = waiter.value
    # A leftover background child may still hold the pipes open.
    kill_group(pid) unless readers.all? { |t| t.join(10) }
    Result.new(cmd: cmd, status: status, stdout: readers[0].value, stderr: readers[1].value,
               timed_out: timed_out, seconds: Process.clock_gettime(Process::CLOCK_MONOTONIC) - started)
  ensure
    kill_group(pid) if pid && waiter&.alive?
    [out_r, err_r].each { |io| io&.close unless io&.closed? }
  end

  # Sorted [relpath, type, mode, size, sha256-or-link-target] for every entry
  # under dir ("." excluded). type is "d", "f", "l" or "other"; size and
  # digest are nil for directories.
  def tree_snapshot(dir)
    return [] unless File.directory?(dir)

    rows = []
    Find.find(dir) do |path|
      next if path == dir

      rel = path.delete_prefix("#{dir}/")
      st = File.lstat(path)
      rows << if st.symlink?
                [rel, "l", st.mode & 0o7777, nil, File.readlink(path)]
              elsif st.directory?
                [rel, "d", st.mode & 0o7777, nil, nil]
              elsif st.file? && File.basename(rel) == "scint.state"
                # Its snapshot section (inodes, times) differs between equal installs.
                text = File.read(path).lines.grep_v(/\Asnap/).join
                [rel, "f", st.mode & 0o7777, text.bytesize, Digest::SHA256.hexdigest(text)]
              elsif st.file?
                [rel, "f", st.mode & 0o7777, st.size, Digest::SHA256.file(path).hexdigest]
              else
                [rel, "other", st.mode & 0o7777, nil, nil]
              end
    end
    rows.sort
  end

  # Human-readable differences between two snapshots (empty when equal).
  def tree_diff(expected, actual)
    e = expected.to_h { |r| [r[0], r] }
    a = actual.to_h { |r| [r[0], r] }
    (e.keys | a.keys).sort.filter_map do |k|
      if !a.key?(k) then "missing: #{e[k].inspect}"
      elsif !e.key?(k) then "extra:   #{a[k].inspect}"
      elsif e[k] != a[k] then "differs: #{e[k].inspect}\n     vs  #{a[k].inspect}"
      end
    end
  end

  # An app directory: Gemfile (and Gemfile.lock once locked), its own HOME,
  # and the SCINT_CACHE scint uses.
  class App
    attr_reader :dir, :home, :cache, :source, :gems

    # gems: {name => requirement(s) or nil}; source: the gem server URL.
    # home/cache default to siblings of dir (<dir>.home, <dir>.scint-cache).
    def initialize(dir, source:, gems: {}, home: nil, cache: nil, gemfile: nil)
      @dir = File.expand_path(dir)
      @source = source
      @gems = gems
      @home = home || "#{@dir}.home"
      @cache = cache || "#{@dir}.scint-cache"
      FileUtils.mkdir_p([@dir, @home])
      write_file("Gemfile", gemfile || Scint::Shapes.gemfile(source, gems))
    end

    # A path inside the app (an absolute path is returned as is).
    def path(*parts)
      File.expand_path(File.join(*parts), dir)
    end

    def write_file(rel, content)
      FileUtils.mkdir_p(File.dirname(path(rel)))
      File.write(path(rel), content)
    end

    def read_file(rel)
      File.read(path(rel))
    end

    def lockfile
      read_file("Gemfile.lock")
    end

    # .bundle/ruby/3.1.0: where gems are installed with BUNDLE_PATH=.bundle.
    def install_root
      path(".bundle", RUBY_DIR)
    end

    # Environment for scint and Bundler in this app.
    def env(extra = {})
      ScintTest.isolated_env(home, { "SCINT_CACHE" => cache }.merge(extra.transform_keys(&:to_s)))
    end

    def run(*cmd, env: {}, timeout: 300)
      ScintTest.run(self.env(env), cmd, chdir: dir, timeout: timeout)
    end

    # Runs the scint binary under test in the app. Returns a Result.
    def scint(*args, env: {}, timeout: 300)
      raise "no scint binary at #{ScintTest.scint_bin}" unless File.executable?(ScintTest.scint_bin)

      run(ScintTest.scint_bin, *args, env: env, timeout: timeout)
    end

    # Runs real Bundler with BUNDLE_PATH=.bundle. Returns a Result.
    def bundle(*args, env: {}, timeout: 300)
      bundle_env = { "BUNDLE_PATH" => ".bundle", "BUNDLE_SILENCE_ROOT_WARNING" => "1" }
      run(ScintTest.bundle_bin || "bundle", *args, env: bundle_env.merge(env), timeout: timeout)
    end

    def bundle!(*args, **opts)
      r = bundle(*args, **opts)
      raise CommandFailed, r unless r.success?

      r
    end

    # `bundle lock`: real Bundler resolves against the server, writes Gemfile.lock.
    def bundle_lock!(*args)
      bundle!("lock", *args)
    end

    def bundle_install!(*args)
      bundle!("install", *args)
    end

    def bundle_check!
      bundle!("check")
    end

    # `bundle exec cmd...`; raises CommandFailed unless it succeeds.
    def bundle_exec!(*cmd, **opts)
      bundle!("exec", *cmd, **opts)
    end

    # `bundle exec ruby -e code`; returns its stdout.
    def ruby_exec!(code)
      bundle_exec!("ruby", "-e", code).stdout
    end

    def tree_snapshot(rel = ".bundle")
      ScintTest.tree_snapshot(path(rel))
    end

    # A new app in dest with the same Gemfile (and Gemfile.lock if any);
    # its own HOME; the SCINT_CACHE given (default its own).
    def copy_to(dest, cache: nil)
      other = App.new(dest, source: source, gems: gems, cache: cache, gemfile: read_file("Gemfile"))
      other.write_file("Gemfile.lock", lockfile) if File.file?(path("Gemfile.lock"))
      other
    end
  end

  # Base class: a temp dir per test (removed afterwards unless SCINT_KEEP_TMP),
  # servers stopped at teardown, helpers to build corpora, apps and oracles.
  class Case < Minitest::Test
    make_my_diffs_pretty!

    attr_reader :tmp

    def setup
      super
      @tmp = Dir.mktmpdir("scint-test-")
      LIVE_TMPDIRS << @tmp
      @servers = []
    end

    def teardown
      @servers&.each(&:stop)
      if ENV["SCINT_KEEP_TMP"] == "1"
        warn "kept #{@tmp}"
      elsif @tmp
        FileUtils.rm_rf(@tmp)
      end
      LIVE_TMPDIRS.delete(@tmp)
      super
    end

    # ------------------------------------------------------------ skips

    def require_nginx!
      skip "nginx is not installed (apt-get install nginx)" unless Scint::Server.available?
    end

    def require_bundler!
      skip "bundle (Bundler) is not installed" unless ScintTest.bundle_bin
    end

    def require_scint!
      skip "no scint binary at #{ScintTest.scint_bin} (run make)" unless File.executable?(ScintTest.scint_bin)
    end

    def require_command!(name)
      skip "#{name} is not installed" unless ScintTest.command?(name)
    end

    # A C compiler and Ruby's headers, for extensions built by mkmf.
    def require_toolchain!
      cc = RbConfig::CONFIG["CC"].to_s.split.first
      skip "no C compiler (#{cc.inspect})" unless cc && ScintTest.command?(cc)
      skip "no ruby.h (install ruby-dev)" unless File.file?(File.join(RbConfig::CONFIG["rubyhdrdir"], "ruby.h"))
    end

    # ------------------------------------------------------------ corpora and servers

    # Builds a shape's corpus, kept across runs in CORPUS_DIR/<shape name>
    # (-native) so only changed gems are rebuilt. shape: a canned shape's
    # name (:small) or a Scint::Shapes::Shape. Returns [shape, corpus]. A test
    # that changes corpus files must work on a copy.
    def corpus(shape = :small, native: false)
      shape = Scint::Shapes.public_send(shape) unless shape.is_a?(Scint::Shapes::Shape)
      require_toolchain! if native || shape.gems.any?(&:prebuilt)
      dir = File.join(CORPUS_DIR, native ? "#{shape.name}-native" : shape.name)
      [shape, shape.build(dir, native: native)]
    end

    # A private copy of a corpus dir (for tests that change index or gem
    # files), without the generator's state. Returns the copy's path.
    def corpus_copy(corpus, name: "corpus")
      dest = File.join(tmp, name)
      FileUtils.mkdir_p(dest)
      %w[gems info versions names].each do |f|
        src = File.join(corpus.dir, f)
        FileUtils.cp_r(src, dest) if File.exist?(src)
      end
      dest
    end

    # Serves dir with nginx (skips when nginx is missing); stopped at teardown.
    def serve(dir)
      require_nginx!
      server = Scint::Server.new(dir).start
      @servers << server
      server
    end

    # Serves dir with a Scint::FaultServer; stopped at teardown.
    def fault_server(dir)
      server = Scint::FaultServer.new(dir).start
      @servers << server
      server
    end

    # A private copy of the small corpus, served by nginx (server: :nginx) or
    # a fault server (:fault), and an app locked against it.
    # Returns [shape, corpus, dir, server, app].
    def locked_small_copy(server: :fault)
      shape, corpus = corpus(:small)
      dir = corpus_copy(corpus)
      srv = server == :nginx ? serve(dir) : fault_server(dir)
      app = app(gems: shape.gemfile_deps, source: srv.url)
      app.bundle_lock!
      [shape, corpus, dir, srv, app]
    end

    # Full names of the .gem files a server was asked for, in request order.
    def gem_downloads(server)
      server.gem_requests.map { |r| File.basename(r.path, ".gem") }
    end

    # ------------------------------------------------------------ apps

    # The SCINT_CACHE shared by the apps of this test that ask for it.
    def shared_cache
      File.join(tmp, "shared.scint-cache")
    end

    # An app in <tmp>/<name>. cache: :own (default), :shared, or a path.
    def app(name = "app", gems:, source:, cache: :own, gemfile: nil)
      App.new(File.join(tmp, name), source: source, gems: gems, gemfile: gemfile, cache: cache_dir(name, cache))
    end

    # The oracle: real `bundle install` (BUNDLE_PATH=.bundle) in a copy of
    # app (Gemfile and Gemfile.lock, own HOME). Returns the copy.
    def oracle_install(app, name: "oracle", args: [])
      require_bundler!
      oracle = app.copy_to(File.join(tmp, name))
      oracle.bundle_install!(*args)
      oracle
    end

    # ------------------------------------------------------------ assertions

    def assert_success(result, msg = nil)
      assert result.success?, [msg, result.to_s].compact.join("\n")
    end

    # Compares two tree snapshots; ignore: regexps matched against relpaths.
    def assert_same_tree(expected, actual, ignore: [])
      keep = ->(rows) { rows.reject { |r| ignore.any? { |re| re.match?(r[0]) } } }
      diff = ScintTest.tree_diff(keep.call(expected), keep.call(actual))
      assert diff.empty?, "trees differ:\n#{diff.first(50).join("\n")}"
    end

    private

    def cache_dir(name, cache)
      case cache
      when :own then File.join(tmp, "#{name}.scint-cache")
      when :shared then shared_cache
      else File.expand_path(cache.to_s)
      end
    end
  end
end
