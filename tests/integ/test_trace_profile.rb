# frozen_string_literal: true

# Issue 4, done-when 2 and 3: SCINT_IO_TRACE holds every I/O operation of an
# install (checked against scint's own counters and the server's log), and
# SCINT_PROFILE is valid trace-event JSON with a span for every job.

require_relative "install_support"

class TestTraceProfile < ScintTest::Case
  include InstallSupport

  RECORD_KEYS = %w[t op res dur_us phase].freeze

  def install_traced(app, name)
    trace = File.join(tmp, "#{name}.jsonl")
    stats = File.join(tmp, "#{name}.stats.json")
    profile = File.join(tmp, "#{name}.profile.json")
    r = scint!(app, "--link-mode", "hardlink", env: { "SCINT_IO_TRACE" => trace, "SCINT_STATS" => stats,
                                                      "SCINT_PROFILE" => profile })
    [r, read_trace(trace), JSON.parse(File.read(stats)), JSON.parse(File.read(profile))]
  end

  # A package linked into the bundle's cache/ (cache/<full_name>.gem).
  def package?(t)
    %w[linkat clone copy].include?(t["op"]) && t["path2"].to_s.match?(%r{(\A|/)cache/[^/]+\.gem\z})
  end

  def test_trace_holds_every_operation
    shape, _corpus, server, app = small_app
    server.reset_log
    _r, trace, stats, = install_traced(app, "cold")
    trace.each { |t| RECORD_KEYS.each { |k| assert t.key?(k), "#{k} in #{t}" } }
    ops = trace.group_by { |t| t["op"] }.transform_values(&:size)

    # Every file unpacked is one write_file; every file placed in .bundle
    # (gem files and gemspecs) one link or copy.
    assert_equal stats["files_unpacked"], trace.count { |t| t["op"] == "write_file" && t["phase"] == "assemble" }
    # (plus one per package linked into cache/, which the stats do not count as gem files).
    placed = trace.count { |t| %w[linkat clone copy].include?(t["op"]) && t["phase"] == "materialize" }
    packages = trace.count { |t| t["op"] == "linkat" && t["phase"] == "materialize" && package?(t) }
    assert_equal stats["files_materialized"], placed - packages
    files = Dir.glob("**/*", File::FNM_DOTMATCH, base: app.install_root).select { |p| File.file?(File.join(app.install_root, p)) }
    expected_files = files.count { |p| p.start_with?("gems/", "specifications/") }
    assert_equal expected_files, placed - packages, "one record per file in gems/ and specifications/"
    assert_equal files.count { |p| p.start_with?("cache/") && p.end_with?(".gem") }, packages, "one record per package in cache/"
    # The ring's setup flags the kernel took are named (none on the sync backend).
    if (ring = stats["io_uring"])
      assert_kind_of Array, ring["setup"]
      assert_empty ring["setup"] - %w[submit_all coop_taskrun], ring["setup"].inspect
    end
    assert_nil stats["io_uring"] if ENV["SCINT_IO_URING"] == "0"
    # The op queue's own counts agree with the trace (an explicit link mode
    # makes no probe outside the queue).
    stats["ops"].each { |op, n| assert_equal n, ops.fetch(op, 0), op }

    # Every request the server saw is a GET record, and the other way round.
    gets = trace.select { |t| t["op"] == "GET" }
    seen = server.requests.reject { |q| q.uri.start_with?("/scint-marker") }
    assert_equal seen.map(&:path).sort, gets.map { |t| URI(t["url"]).path }.sort
    assert_equal stats["http"]["requests"], gets.size
    # Every process (the one Ruby helper: facts, Gemfile, specs; and a
    # `sync -f` per batch of promotions): spawn and exit.
    spawns = trace.select { |t| t["op"] == "spawn" && t["pid"].to_i.positive? }
    assert_equal stats["processes"], spawns.size
    assert_equal 1, spawns.count { |t| t["argv"].first != "sync" }
    assert(spawns.all? { |t| t["argv"].first != "sync" || t["argv"][1] == "-f" })
    assert_equal trace.count { |t| t["op"] == "spawn" }, trace.count { |t| t["op"] == "exit" }
    # Records name the gem they worked for.
    shape.downloaded.each do |d|
      assert trace.any? { |t| t["gem"] == d.full_name && t["op"] == "write_file" }, d.full_name
    end
  end

  def test_warm_trace_is_materialization_only
    _shape, _corpus, _server, app = small_app
    scint!(app)
    FileUtils.rm_rf(app.path(".bundle"))
    _r, trace, stats, = install_traced(app, "warm")
    packages = trace.count { |t| package?(t) }
    assert_operator packages, :>, 0
    assert_equal stats["files_materialized"], trace.count { |t| %w[linkat clone copy].include?(t["op"]) } - packages
    assert_equal [], (trace.map { |t| t["phase"] }.uniq - %w[setup plan materialize finalize])
  end

  def test_profile_has_a_span_for_every_job
    _shape, _corpus, _server, app = small_app
    r, _trace, stats, profile = install_traced(app, "profile")
    # The summary table on stderr: a header, then one row per phase that ran.
    lines = r.stderr.lines.map(&:chomp)
    head = lines.index { |l| l.match?(/\Aphase\s+jobs\s+failed\s+wall ms\s+busy ms\s+parallel\z/) }
    assert head, "summary header in:\n#{r.stderr}"
    rows = lines[head + 1, stats["phases"].size].map(&:split)
    assert_equal stats["phases"].keys.sort, rows.map(&:first).sort
    rows.each { |row| assert_equal stats["phases"][row[0]]["jobs"], row[1].to_i, row.join(" ") }
    events = profile.fetch("traceEvents")
    spans = events.select { |e| e["ph"] == "X" && e["cat"] != "phase" }
    jobs = stats["phases"].values.sum { |p| p["jobs"] }
    assert_equal jobs, spans.size, "one span per job"
    assert_equal (1..jobs).to_a, spans.map { |e| e["args"]["job"] }.sort
    stats["phases"].each do |name, p|
      phase = events.find { |e| e["ph"] == "X" && e["cat"] == "phase" && e["name"] == name }
      assert phase, "a span for the #{name} phase"
      assert_equal p["jobs"], phase["args"]["jobs"]
    end
    # Spans on one track never overlap.
    spans.group_by { |e| e["tid"] }.each_value do |track|
      track.sort_by { |e| e["ts"] }.each_cons(2) { |a, b| assert_operator a["ts"] + a["dur"], :<=, b["ts"] + 0.001 }
    end
    counters = events.select { |e| e["ph"] == "C" }
    refute_empty counters
    assert_equal %w[compiles downloads io_in_kernel io_queued], counters.first["args"].keys.sort
    assert counters.any? { |e| e["args"]["downloads"].positive? }
    assert_equal stats["phases"].keys.sort, profile["otherData"]["summary"].keys.sort
  end

  # The live display on a real terminal (a tmux pane): phase rows while
  # working, nothing left of them once the summary is printed.
  def test_tty_display_draws_phase_rows
    require_command!("tmux")
    shape, corpus = corpus(:small)
    server = fault_server(corpus_copy(corpus))
    app = app(gems: shape.gemfile_deps, source: server.url)
    app.bundle_lock!
    server.fault("/gems/sc_model-5.0.2.gem", delay: 3)
    env = ScintTest.isolated_env(app.home, "SCINT_CACHE" => app.cache).compact.map { |k, v| "#{k}=#{v}" }.join(" ")
    session = "scint-test-#{Process.pid}"
    system("tmux", "new-session", "-d", "-s", session, "-x", "120", "-y", "40",
           "cd #{app.dir} && env #{env} #{ScintTest.scint_bin} install; tmux wait-for -S #{session}-done; sleep 60") ||
      skip("tmux cannot start a session here")
    begin
      sleep 1.5
      during = `tmux capture-pane -p -t #{session}`
      assert_match(%r{^fetch +\d+/28 }, during)
      assert_match(%r{^install +\d+/28}, during)
      refute_match(/^Fetching /, during, "no plain lines on a terminal")
      system("timeout", "60", "tmux", "wait-for", "#{session}-done")
      after = `tmux capture-pane -p -t #{session}`
      assert_match(/^Bundle complete! 29 gems/, after)
      refute_match(%r{^(fetch|install|unpack) +\d+/}, after, "the live area is cleared")
    ensure
      system("tmux", "kill-session", "-t", session, err: File::NULL)
    end
  end
end
