# frozen_string_literal: true

# The engine under load and around its children: many transfers whose
# connections the server closes under curl's feet, the pipes children
# inherit, and the Ruby helper's transport, limits and signals.

require_relative "install_support"

class TestEngine < ScintTest::Case
  include InstallSupport

  # A server that promises keep-alive and then drops connections: after each
  # response it closes the connection at once, a moment later, or with a TCP
  # reset, so curl finds idle connections dead while other transfers run
  # (and closes their sockets from another socket's callback). Responses are
  # held back and released in bursts, so that many sockets become ready (and
  # close) in one epoll_wait.
  class DroppingServer < Scint::FaultServer
    BURST = 6

    def initialize(root)
      super
      @gate = Mutex.new
      @released = ConditionVariable.new
      @waiting = 0
      @generation = 0
    end

    private

    # Waits until BURST requests are waiting or 20 ms have passed, then all go.
    def burst
      @gate.synchronize do
        gen = @generation
        @waiting += 1
        if @waiting >= BURST
          @waiting = 0
          @generation += 1
          @released.broadcast
        else
          @released.wait(@gate, 0.02)
          if @generation == gen
            @waiting = 0
            @generation += 1
            @released.broadcast
          end
        end
      end
    end

    def serve_connection(sock)
      req = read_request(sock) or return
      req[:headers]["connection"] = "close" if rand(2).zero? # announced, else a surprise
      burst
      handle(sock, req, 1)
      case rand(3)
      when 0 then nil
      when 1 then sleep(rand * 0.004)
      else sock.setsockopt(Socket::SOL_SOCKET, Socket::SO_LINGER, [1, 0].pack("ii"))
      end
    rescue IOError, SystemCallError
      nil
    ensure
      sock.close unless sock.closed?
    end
  end

  def test_many_transfers_with_connections_dropped_under_them
    shape, corpus = corpus(:small)
    server = DroppingServer.new(corpus.dir).start
    @servers << server
    lock_server = fault_server(corpus.dir)
    app = app(gems: shape.gemfile_deps, source: lock_server.url)
    app.bundle_lock!
    app.write_file("Gemfile.lock", app.lockfile.gsub(lock_server.url, server.url))
    app.write_file("Gemfile", app.read_file("Gemfile").gsub(lock_server.url, server.url))
    started = Process.clock_gettime(Process::CLOCK_MONOTONIC)
    rounds = 0
    # Cold installs, each with every gem downloaded again, for a bounded time.
    while rounds < 2 || Process.clock_gettime(Process::CLOCK_MONOTONIC) - started < 25
      FileUtils.rm_rf([app.cache, app.path(".bundle")])
      r = app.scint("install", env: { "SCINT_HTTP_RETRY_DELAY_MS" => "1" }, timeout: 120)
      refute r.status.signaled?, "scint died of signal #{r.status.termsig} (round #{rounds + 1}):\n#{r}"
      assert_success r, "cold install ##{rounds + 1} against a dropping server"
      rounds += 1
      break if rounds >= 8
    end
    assert_operator server.gem_requests.size, :>=, rounds * shape.downloaded.size
  end

  # ------------------------------------------------------------ the Ruby helper

  VICTIM = "sc_color-0.3.1"

  # The small corpus (a private copy) behind a fault server, and a locked app.
  def small_copy
    locked_small_copy.last(3)
  end

  # Code run by the Gemfile before its dependencies.
  def prepend_gemfile(app, code)
    app.write_file("Gemfile", "#{code}\n#{app.read_file("Gemfile")}")
  end

  # Runs scint install in app in the background; returns [pid, stdout+stderr reader].
  def spawn_scint(app, env = {})
    r, w = IO.pipe
    pid = Process.spawn(app.env(env), ScintTest.scint_bin, "install", chdir: app.dir, in: File::NULL,
                                                                       out: w, err: w, pgroup: true)
    w.close
    reader = Thread.new { r.read }
    @spawned << pid
    [pid, reader]
  end

  def wait_for(seconds)
    deadline = Process.clock_gettime(Process::CLOCK_MONOTONIC) + seconds
    until (v = yield)
      return nil if Process.clock_gettime(Process::CLOCK_MONOTONIC) > deadline

      sleep 0.05
    end
    v
  end

  # Is pid a live process (not a zombie)?
  def alive?(pid)
    state = File.read("/proc/#{pid}/stat")[/\) (\S)/, 1]
    state != "Z"
  rescue Errno::ENOENT, Errno::ESRCH
    false
  end

  def setup
    super
    @spawned = []
  end

  def teardown
    @spawned.each { |pid| ScintTest.kill_group(pid) }
    @spawned.each do |pid|
      Process.wait(pid)
    rescue Errno::ECHILD
      nil
    end
    super
  end

  # The file the Gemfile writes its process id to (the helper's pid), and waits for.
  def marker_gemfile(app, then_code)
    marker = File.join(tmp, "helper.pid")
    prepend_gemfile(app, "File.write(#{marker.inspect}, Process.pid.to_s)\n#{then_code}")
    marker
  end

  def assert_helper_gone(helper)
    assert wait_for(10) { !alive?(helper) }, "the helper (pid #{helper}) outlived scint"
  end

  %w[TERM INT HUP].each do |sig|
    define_method("test_sig#{sig.downcase}_during_a_sleeping_gemfile_kills_the_helper") do
      _dir, _server, app = small_copy
      marker = marker_gemfile(app, "sleep")
      pid, reader = spawn_scint(app)
      assert wait_for(60) { File.size?(marker) }, "the Gemfile never ran"
      helper = Integer(File.read(marker))
      assert alive?(helper)
      Process.kill(sig, pid)
      status = wait_for(20) { Process.wait2(pid, Process::WNOHANG)&.last }
      @spawned.delete(pid) if status
      refute_nil status, "scint did not exit after SIG#{sig}"
      assert_equal 128 + Signal.list.fetch(sig), status.exitstatus, reader.value
      assert_match(/interrupted/, reader.value)
      assert_helper_gone(helper)
      refute File.exist?(app.install_root), "nothing installed"
    end
  end

  def test_sigkill_of_scint_takes_the_helper_with_it
    _dir, _server, app = small_copy
    marker = marker_gemfile(app, "sleep")
    pid, _reader = spawn_scint(app)
    assert wait_for(60) { File.size?(marker) }, "the Gemfile never ran"
    helper = Integer(File.read(marker))
    Process.kill("KILL", pid) # only scint, not its group
    Process.wait(pid)
    @spawned.delete(pid)
    assert_helper_gone(helper)
  end

  def test_gemfile_slower_than_the_call_timeout
    _dir, _server, app = small_copy
    marker = marker_gemfile(app, "sleep 120")
    r = app.scint("install", env: { "SCINT_HELPER_TIMEOUT" => "1.5" }, timeout: 60)
    assert_equal 1, r.exitstatus, r.to_s
    assert_operator r.seconds, :<, 30
    assert_match(/cannot evaluate #{Regexp.escape(app.path("Gemfile"))}: the Ruby helper did not answer within 1500 ms \(raise SCINT_HELPER_TIMEOUT to allow more\)/, r.stderr)
    assert_helper_gone(Integer(File.read(marker)))
    refute File.exist?(app.install_root)
    # Without the limit it is only the Gemfile that is slow: a normal one installs.
    app.write_file("Gemfile", app.read_file("Gemfile").sub(/^sleep 120$/, ""))
    assert_success app.scint("install")
  end

  def test_helper_memory_limit
    _dir, _server, app = small_copy
    prepend_gemfile(app, "hog = []\nloop { hog << (\"x\" * (16 << 20)) }")
    r = app.scint("install", env: { "SCINT_HELPER_MEMORY_MB" => "256" }, timeout: 120)
    assert_equal 1, r.exitstatus, r.to_s
    assert_match(/cannot evaluate #{Regexp.escape(app.path("Gemfile"))}: .*(NoMemoryError|failed to allocate memory)/m, r.stderr)
    assert_match(/\(the helper's limit is 256 MiB: raise SCINT_HELPER_MEMORY_MB to allow more\)/, r.stderr)
    refute File.exist?(app.install_root)
  end

  def test_gemfile_output_is_shown_and_never_taken_for_a_result
    _dir, _server, app = small_copy
    prepend_gemfile(app, <<~RUBY)
      puts "RESULT 1 ok 5"
      puts "RESULT 2 err 3"
      $stdout.puts "RESULT 99999999999999999999 ok -1"
      $stdout.write("x" * 300_000, "\n")
      $stdout.print "no newline at the end"
      $stdout.flush
      $stderr.puts "gemfile says hello on stderr"
      STDOUT.syswrite("RESULT 3 ok 0\n")
    RUBY
    r = app.scint("install")
    assert_success r
    assert_includes r.stderr, "RESULT 1 ok 5"
    assert_includes r.stderr, "x" * 300_000
    assert_includes r.stderr, "gemfile says hello on stderr"
    assert File.file?(File.join(app.install_root, "specifications", "#{VICTIM}.gemspec"))
  end

  # Writing on the helper's result fd is all a Gemfile can do to the protocol:
  # whatever it writes, scint fails cleanly (exit 1), never aborts.
  {
    "garbage" => "hello\n",
    "bad_status" => "RESULT 2 maybe 0\n",
    "unknown_call" => "RESULT 77 ok 2\nhi",
    "huge_length" => "RESULT 2 ok 99999999999999999999\n",
    "negative_length" => "RESULT 2 ok -1\n",
    "trailing_junk" => "RESULT 2 ok 0 junk\n",
    "endless_header" => "RESULT #{"9" * 4096}",
  }.each do |name, frame|
    define_method("test_malformed_result_#{name}_never_aborts") do
      _dir, _server, app = small_copy
      prepend_gemfile(app, "IO.for_fd(4, autoclose: false).tap { |io| io.write(#{frame.inspect}); io.flush }\nsleep 30")
      r = app.scint("install", timeout: 60)
      assert_equal 1, r.exitstatus, r.to_s
      assert_match(/cannot evaluate .*Gemfile: the Ruby helper broke the protocol/, r.stderr)
      refute_match(/Assertion|abort/i, r.stderr)
      refute File.exist?(app.install_root)
    end
  end

  # A metadata.gz whose YAML aliases expand exponentially ("billion laughs"),
  # in a field (requirements) that writing the installed gemspec walks.
  def alias_bomb(meta_yaml)
    chain = ("a".."i").each_with_index.map do |n, i|
      items = i.zero? ? Array.new(10, '"lol"') : Array.new(10, "*#{(n.ord - 1).chr}")
      "- &#{n} [#{items.join(", ")}]"
    end
    meta_yaml.sub(/^requirements: \[\]\n/, "requirements:\n#{chain.join("\n")}\n")
  end

  def replace_metadata(gem_path)
    outer = GemSurgery.read_outer(gem_path)
    yaml = Zlib::GzipReader.new(StringIO.new(outer.assoc("metadata.gz")[1])).read
    meta = GemSurgery.gzip(yield(yaml))
    data = outer.assoc("data.tar.gz")[1]
    sums = {
      "SHA256" => { "metadata.gz" => Digest::SHA256.hexdigest(meta), "data.tar.gz" => Digest::SHA256.hexdigest(data) },
      "SHA512" => { "metadata.gz" => Digest::SHA512.hexdigest(meta), "data.tar.gz" => Digest::SHA512.hexdigest(data) }
    }
    files = [["metadata.gz", meta], ["data.tar.gz", data], ["checksums.yaml.gz", GemSurgery.gzip(YAML.dump(sums))]]
    File.binwrite(gem_path, GemSurgery.tar(files.map { |n, b| { name: n, body: b, mode: 0o444 } }))
  end

  def test_yaml_alias_bomb_in_metadata
    dir, _server, app = small_copy
    gem_path = File.join(dir, "gems", "#{VICTIM}.gem")
    original = File.binread(gem_path)
    replace_metadata(gem_path) do |yaml|
      bomb = alias_bomb(yaml)
      refute_equal yaml, bomb, "the bomb is in place"
      bomb
    end
    GemSurgery.reindex(dir, "sc_color", "0.3.1")
    r = app.scint("install", env: { "SCINT_HELPER_MEMORY_MB" => "1024" }, timeout: 120)
    assert_equal 1, r.exitstatus, r.to_s
    assert_match(/cannot read the spec of #{VICTIM}: .*YAML aliases expand to more than \d+ nodes/, r.stderr)
    assert_empty Dir.glob("#{VICTIM}*", base: cached_dir(app)), "nothing of #{VICTIM} promoted"
    refute File.exist?(File.join(app.install_root, "specifications", "#{VICTIM}.gemspec"))
    # The honest gem back: the next clean install works.
    File.binwrite(gem_path, original)
    GemSurgery.reindex(dir, "sc_color", "0.3.1")
    FileUtils.rm_rf(app.cache)
    assert_success app.scint("install")
    assert File.file?(File.join(app.install_root, "specifications", "#{VICTIM}.gemspec"))
  end

  # Aliases as old gems use them (a requirement shared by two keys) still load.
  def test_yaml_aliases_of_old_gems_still_load
    dir, _server, app = small_copy
    gem_path = File.join(dir, "gems", "#{VICTIM}.gem")
    replace_metadata(gem_path) do |yaml|
      shared = yaml.sub(/^required_ruby_version: !ruby\/object:Gem::Requirement/,
                        "required_ruby_version: &id001 !ruby/object:Gem::Requirement")
                   .sub(/^required_rubygems_version: !ruby\/object:Gem::Requirement\n(  .*\n)+/,
                        "required_rubygems_version: *id001\n")
      assert_includes shared, "*id001"
      shared
    end
    GemSurgery.reindex(dir, "sc_color", "0.3.1")
    assert_success app.scint("install")
    assert File.file?(File.join(app.install_root, "specifications", "#{VICTIM}.gemspec"))
  end
end
