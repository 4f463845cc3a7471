# frozen_string_literal: true

# The long-lived build servers (`helper.rb --build-server`, phases/compile.c):
# nothing of a build outlives a SIGKILLed scint, and a server that broke the
# protocol is replaced at once, not counted as busy.

require_relative "install_support"

class TestBuildServers < ScintTest::Case
  include InstallSupport

  # An extconf.rb that records its pid, its parent's (the forked build) and
  # a long `sleep` it runs, then waits for the sleep: a build that never ends.
  SLEEPY_EXTCONF = <<~'RUBY'
    pid = spawn("sleep", "300")
    File.write(ENV.fetch("NP_SLEEPY_MARK") + ".tmp", [Process.pid, Process.ppid, pid].join(" "))
    File.rename(ENV.fetch("NP_SLEEPY_MARK") + ".tmp", ENV.fetch("NP_SLEEPY_MARK"))
    Process.wait(pid)
  RUBY

  # The extconf.rb of a gem that, when its build is the first of the run
  # (it creates the NP_FIRST_MARK file), writes a line that is no frame into
  # its build server's result fd (the server is the parent of the forked
  # build, its parent) and leaves a process of another session holding that
  # fd (for 60 s, its pid in the mark file), so that the killed server is
  # not at EOF (not reaped); then waits to be killed with the server's
  # process group. Any later
  # build is an ordinary one.
  def first_corrupts_extconf(name)
    <<~RUBY
      first = begin
        File.open(ENV.fetch("NP_FIRST_MARK"), File::WRONLY | File::CREAT | File::EXCL).close
        true
      rescue Errno::EEXIST
        false
      end
      if first
        server = File.read("/proc/\#{Process.ppid}/stat")[/\\) \\S+ (\\d+)/, 1]
        f = File.open("/proc/\#{server}/fd/4", "w")
        f.sync = true
        ready_r, ready_w = IO.pipe
        holder = fork do
          Process.setsid
          ready_w.write("x")
          ready_w.close
          sleep 60
          exit!(0)
        end
        File.write(ENV.fetch("NP_FIRST_MARK"), holder.to_s)
        ready_w.close
        ready_r.read(1) # out of the group before the group is killed
        f.write("garbage\\n")
        sleep 60
      end
      require "mkmf"
      create_makefile(#{"#{name}/#{name}_ext".dump})
    RUBY
  end

  def corpus_with(*gems)
    require_toolchain!
    c = Scint::Gemgen::Corpus.new(File.join(tmp, "corpus"), so_cache: File.join(ScintTest::CORPUS_DIR, "so-cache"))
    gems.each { |g| c.add(**g) }
    c.build!
    server = serve(c.dir)
    app = app("app", gems: gems.to_h { |g| [g[:name], []] }, source: server.url)
    app.bundle_lock!
    app
  end

  def alive?(pid)
    !File.read("/proc/#{pid}/stat").match?(/\A\d+ \(.*\) [ZX] /m)
  rescue SystemCallError
    false
  end

  # The parent pid of pid, from /proc.
  def ppid_of(pid)
    Integer(File.read("/proc/#{pid}/stat")[/\) \S+ (\d+)/, 1])
  end

  def sleepy_app
    corpus_with({ name: "np_sleepy", version: "1.0.0", ext: "extconf",
                  extra_files: { "ext/np_sleepy/extconf.rb" => { content: SLEEPY_EXTCONF } } })
  end

  # Starts a cold install of app whose build never ends; returns scint's pid,
  # its output file and the build's processes by name, all running.
  def start_sleepy_build(app)
    mark = File.join(tmp, "sleepy.pids")
    FileUtils.rm_f(mark)
    env = ScintTest.isolated_env(app.home, "SCINT_CACHE" => app.cache, "NP_SLEEPY_MARK" => mark)
    out = File.join(tmp, "out")
    pid = Process.spawn(env, ScintTest.scint_bin, "install", "--jobs", "2", chdir: app.dir, out: out, err: out)
    deadline = Time.now + 60
    sleep 0.02 until File.file?(mark) || Time.now > deadline
    assert File.file?(mark), "the build started: #{File.read(out)}"
    extconf, build, sleeper = File.read(mark).split.map { |s| Integer(s) }
    server = ppid_of(build)
    pids = { "build server" => server, "forked build" => build, "extconf.rb" => extconf, "sleep" => sleeper }
    pids.each { |what, p| assert alive?(p), "#{what} (#{p}) runs" }
    assert_equal pid, ppid_of(server), "the build server is scint's child"
    [pid, out, pids]
  end

  def assert_all_gone(pids)
    gone_by = Time.now + 5
    sleep 0.05 while pids.values.any? { |p| alive?(p) } && Time.now < gone_by
    assert_empty pids.select { |_, p| alive?(p) }, "no process of the build lives on"
  end

  # An extconf.rb that leaves a process in the background (detached, its
  # output elsewhere) and records its pid, then builds as usual.
  BACKGROUND_EXTCONF = <<~'RUBY'
    pid = spawn("sleep", "300", in: File::NULL, out: File::NULL, err: File::NULL)
    Process.detach(pid)
    File.write(ENV.fetch("NP_BG_MARK"), pid.to_s)
    require "mkmf"
    create_makefile("np_bg/np_bg_ext")
  RUBY

  # A successful install ends its build servers' groups too: what a build
  # left running does not outlive scint.
  def test_a_normal_exit_leaves_no_process_of_a_build
    app = corpus_with({ name: "np_bg", version: "1.0.0", ext: "extconf",
                        extra_files: { "ext/np_bg/extconf.rb" => { content: BACKGROUND_EXTCONF } } })
    mark = File.join(tmp, "bg.pid")
    r = app.scint("install", env: { "NP_BG_MARK" => mark })
    assert_success r
    sleeper = Integer(File.read(mark))
    begin
      assert_all_gone({ "background sleep" => sleeper })
    ensure
      Process.kill(:KILL, sleeper) if alive?(sleeper)
    end
    assert_success app.bundle("check")
  end

  def test_sigkilled_scint_leaves_no_process_of_a_build
    pid, _out, pids = start_sleepy_build(sleepy_app)
    Process.kill("KILL", pid)
    Process.wait(pid)
    assert_all_gone(pids)
  ensure
    pids&.each_value { |p| Process.kill("KILL", p) rescue nil } # rubocop:disable Style/RescueModifier
  end

  # The server SIGKILLed alone (the OOM killer): the forked build takes the
  # group with it, and scint reports the build as failed.
  def test_sigkilled_server_leaves_no_process_of_its_build
    pid, out, pids = start_sleepy_build(sleepy_app)
    Process.kill("KILL", pids["build server"])
    assert_all_gone(pids)
    _, status = Process.wait2(pid)
    refute status.success?
    assert_match(/cannot build the native extension of np_sleepy-1\.0\.0/, File.read(out))
  ensure
    pids&.each_value { |p| Process.kill("KILL", p) rescue nil } # rubocop:disable Style/RescueModifier
    Process.kill("KILL", pid) rescue nil # rubocop:disable Style/RescueModifier
  end

  # --jobs 1: the first build breaks its server's protocol (scint kills the
  # server); the next build gets a new server at once instead of "every
  # build server is busy" while the broken one is being reaped.
  def test_a_server_that_broke_the_protocol_is_replaced_at_once
    gems = %w[np_one np_two]
    app = corpus_with(*gems.map do |n|
      { name: n, version: "1.0.0", ext: "extconf", extra_files: { "ext/#{n}/extconf.rb" => { content: first_corrupts_extconf(n) } } }
    end)
    mark = File.join(tmp, "first")
    env, trace = trace_env(app)
    t0 = Process.clock_gettime(Process::CLOCK_MONOTONIC)
    r = app.scint("install", "--jobs", "1", env: env.merge("NP_FIRST_MARK" => mark))
    took = Process.clock_gettime(Process::CLOCK_MONOTONIC) - t0
    refute r.success?
    # scint does not wait for the pipe the holder keeps open (0.5 s at the end).
    assert_operator took, :<, 30, "scint waited for the holder of the broken server's pipe"
    refute_match(/busy/, r.stderr)
    builds = read_trace(trace).select { |t| t["op"] == "build" }
    assert_equal gems, builds.map { |t| t["gem"].delete_suffix("-1.0.0") }.sort
    broken, good = builds.partition { |t| t["status"] != 0 }.map { |l| l.map { |t| t["gem"] } }
    assert_equal 1, broken.size, r.stderr
    assert_match(/cannot build the native extension of #{broken[0]}.*broke the protocol/m, r.stderr)
    assert File.file?(File.join(cached_dir(app), "#{good[0]}.manifest")), "the next build succeeded: #{r.stderr}"
  ensure
    holder = File.read(mark).to_i if mark && File.file?(mark)
    Process.kill("KILL", holder) if holder&.positive? rescue nil # rubocop:disable Style/RescueModifier
  end
end
