# frozen_string_literal: true

# Several scint processes on one cache (parallel CI jobs) and a process
# killed in the middle of an install: the cache never holds a partial entry
# that looks complete, and the next run repairs everything.

require_relative "install_support"

class TestCacheSharing < ScintTest::Case
  include InstallSupport

  def spawn_scint(app, env: {}, name: File.basename(app.dir))
    out = File.open(File.join(tmp, "#{name}.out"), "w")
    env = ScintTest.isolated_env(app.home, { "SCINT_CACHE" => app.cache }.merge(env))
    pid = Process.spawn(env, ScintTest.scint_bin, "install", chdir: app.dir, out: out, err: out, pgroup: true)
    out.close
    pid
  end

  # Real Bundler's process lock on app's bundle path (Bundler::ProcessLock,
  # what `bundle install` holds), held until the returned pipe is closed.
  def hold_bundlers_lock(app)
    FileUtils.mkdir_p(app.install_root)
    rd, wr = IO.pipe
    held_r, held_w = IO.pipe
    script = 'require "bundler"; Bundler::ProcessLock.lock(ARGV[0]) { puts "held"; $stdout.flush; $stdin.read }'
    pid = Process.spawn(app.env, RbConfig.ruby, "-e", script, app.install_root, in: rd, out: held_w)
    rd.close
    held_w.close
    assert_equal "held\n", held_r.gets
    held_r.close
    [pid, wr]
  end

  def wait_for_output(name, pattern, pid)
    path = File.join(tmp, "#{name}.out")
    deadline = Time.now + 60
    sleep 0.02 until File.read(path).match?(pattern) || Time.now > deadline || Process.wait2(pid, Process::WNOHANG)
    assert_match pattern, File.read(path)
  end

  # Two installs into one bundle path take turns (a flock on the directory):
  # neither fails on the other's gem directories, and no lock file is left.
  def test_two_installs_into_one_bundle_path_take_turns
    shape, _corpus, _server, app = small_app
    pids = %w[first second].map { |n| spawn_scint(app, name: n) }
    statuses = pids.map { |pid| Process.wait2(pid)[1] }
    outs = %w[first second].map { |n| File.read(File.join(tmp, "#{n}.out")) }
    statuses.each_with_index { |st, i| assert st.success?, outs[i] }
    # (The second waits when they overlap, which a loaded machine may not make them do.)
    assert_operator outs.count { |o| o.include?("Waiting for another install into #{app.install_root}") }, :<=, 1, outs.join
    refute File.exist?(File.join(app.install_root, "bundler.lock"))
    app.bundle_check!
    assert_everything_loads(app, shape)
  end

  # Bundler holding its lock: scint waits, installs nothing meanwhile, and goes
  # on when Bundler lets go (and removes the file).
  def test_install_waits_for_bundlers_process_lock
    shape, _corpus, _server, app = small_app
    holder, release = hold_bundlers_lock(app)
    pid = spawn_scint(app, name: "waiter")
    wait_for_output("waiter", /Waiting for another install into/, pid)
    sleep 0.3
    assert_nil Process.wait2(pid, Process::WNOHANG), "still waiting"
    assert_empty Dir.glob("*", base: File.join(app.install_root, "gems"))
    release.close
    Process.wait(holder)
    holder = nil
    _, st = Process.wait2(pid)
    pid = nil
    assert st.success?, File.read(File.join(tmp, "waiter.out"))
    refute File.exist?(File.join(app.install_root, "bundler.lock"))
    app.bundle_check!
    assert_everything_loads(app, shape)
  ensure
    release&.close
    Process.wait(holder) if holder
    if pid
      ScintTest.kill_group(pid)
      Process.wait(pid)
    end
  end

  # An interrupt ends the wait: nothing installed, the usual exit status.
  def test_interrupt_ends_the_wait_for_the_lock
    _shape, _corpus, _server, app = small_app
    holder, release = hold_bundlers_lock(app)
    pid = spawn_scint(app, name: "interrupted")
    wait_for_output("interrupted", /Waiting for another install into/, pid)
    Process.kill("INT", pid)
    st = nil
    deadline = Time.now + 10
    sleep 0.02 until (st = Process.wait2(pid, Process::WNOHANG)&.last) || Time.now > deadline
    ScintTest.kill_group(pid) unless st
    refute_nil st, "scint went on waiting after SIGINT"
    assert_equal 130, st.exitstatus, File.read(File.join(tmp, "interrupted.out"))
    assert_match(/interrupted/, File.read(File.join(tmp, "interrupted.out")))
    assert_empty Dir.glob("*", base: File.join(app.install_root, "gems"))
  ensure
    release&.close
    Process.wait(holder) if holder
  end

  def test_two_processes_share_one_cache
    shape, corpus = corpus(:small)
    server = serve(corpus.dir)
    apps = %w[one two].map { |n| app(n, gems: shape.gemfile_deps, source: server.url, cache: :shared) }
    apps.first.bundle_lock!
    apps.last.write_file("Gemfile.lock", apps.first.lockfile)
    server.reset_log
    pids = apps.map { |a| spawn_scint(a) }
    statuses = pids.map { |pid| Process.wait2(pid)[1] }
    apps.each_with_index do |a, i|
      assert statuses[i].success?, File.read(File.join(tmp, "#{File.basename(a.dir)}.out"))
      a.bundle_check!
      assert_everything_loads(a, shape)
    end
    # The entry locks make one process build each gem; the other waits and uses it.
    downloads = gem_downloads(server)
    assert_equal downloads.uniq.sort, downloads.sort, "each package downloaded once"
    assert_equal 28, downloads.size
    assert_empty Dir.children(File.join(shared_cache, "assembling", ABI))
  end

  def test_killed_install_is_repaired_by_the_next_run
    shape, corpus = corpus(:small)
    dir = corpus_copy(corpus)
    server = fault_server(dir)
    app = app(gems: shape.gemfile_deps, source: server.url)
    app.bundle_lock!
    # One download hangs; the rest gets installed meanwhile; then kill -9.
    server.fault("/gems/sc_model-5.0.2.gem", delay: 30)
    pid = spawn_scint(app)
    cached = cached_dir(app)
    deadline = Time.now + 30
    sleep 0.05 until Time.now > deadline || Dir.glob("*.manifest", base: cached).size >= 10
    Process.kill("KILL", -pid)
    Process.wait(pid)
    # Whatever the cache holds is complete; incomplete work is not mistaken for it.
    Dir.glob("*.manifest", base: cached).each do |m|
      assert File.directory?(File.join(cached, m.delete_suffix(".manifest"), "gem")), m
    end
    server.clear_faults
    # A download a killed process left half-written (its pid is gone) is swept.
    inbound = File.join(app.cache, "inbound/gems")
    dead = Process.spawn("true").tap { |p| Process.wait(p) }
    File.write(File.join(inbound, ".sc_web-3.2.1.gem.tmp-#{dead}"), "partial")
    r = app.scint("install")
    assert_success r
    app.bundle_check!
    assert_everything_loads(app, shape)
    assert_empty Dir.children(File.join(app.cache, "assembling", ABI))
    assert_empty Dir.glob("*.tmp-*", File::FNM_DOTMATCH, base: File.join(app.cache, "inbound/gems"))
  end

  def test_half_written_bundle_is_repaired
    shape, _corpus, _server, app = small_app
    scint!(app)
    root = app.install_root
    # What a kill during materialization leaves: a gem dir without its spec,
    # a spec without its gem dir, a missing file.
    File.delete(File.join(root, "specifications", "sc_web-3.2.1.gemspec"))
    FileUtils.rm_rf(File.join(root, "gems", "sc_rack-2.2.4"))
    File.delete(File.join(root, "gems", "sc_web-3.2.1", "lib", "sc_web.rb"))
    FileUtils.rm_f(File.join(app.dir, ".bundle", "scint.state"))
    r = scint!(app)
    assert_match(/: 2 installed \(0 fetched, 2 from cache, 0 compiled\)/, r.stdout)
    app.bundle_check!
    assert_everything_loads(app, shape)
  end

  # A run skips clearing leftovers only in a directory that held nothing when
  # it started; in a reused one the leftovers of every gem are still cleared.
  def test_leftovers_in_reused_directories_are_cleared
    shape, _corpus, _server, app = small_app
    n = scint!(app).stdout[/: (\d+) installed/, 1]
    root = app.install_root
    state = File.join(app.dir, ".bundle", "scint.state")
    # gems/ (and extensions/) kept, specifications/ emptied: each gem goes
    # over its old tree, here as a symlink where a directory is.
    FileUtils.rm_f(Dir.glob(File.join(root, "specifications", "*")))
    FileUtils.rm_f(state)
    r = scint!(app, "--link-mode", "symlink")
    assert_match(/: #{n} installed \(0 fetched, #{n} from cache/, r.stdout)
    assert File.symlink?(File.join(root, "gems", "sc_web-3.2.1"))
    app.bundle_check!
    # specifications/ kept, gems/ emptied: each stale gemspec is replaced.
    FileUtils.rm_rf(Dir.glob(File.join(root, "gems", "*")))
    FileUtils.rm_f(state)
    r = scint!(app, "--link-mode", "hardlink")
    assert_match(/: #{n} installed \(0 fetched, #{n} from cache/, r.stdout)
    assert File.directory?(File.join(root, "gems", "sc_web-3.2.1"))
    refute File.symlink?(File.join(root, "gems", "sc_web-3.2.1"))
    app.bundle_check!
    assert_everything_loads(app, shape)
  end
end
