# frozen_string_literal: true

# The diagnostic tools: scint-io-summary against real traces of a scint
# install (its totals are exact sums over the trace) and a handmade one, and
# scint-syscall-trace (one strace log per process, the command's exit status,
# a clear error without strace).

require_relative "install_support"

class TestDiagnosticTools < ScintTest::Case
  include InstallSupport

  IO_SUMMARY = File.join(ScintTest::TOP, "bench/scint-io-summary")
  SYSCALL_TRACE = File.join(ScintTest::TOP, "bench/scint-syscall-trace")

  def io_summary(*args)
    ScintTest.run(ScintTest.isolated_env(tmp), [IO_SUMMARY, *args], chdir: tmp)
  end

  def summary_json(trace)
    r = io_summary("--json", trace)
    assert_success r
    JSON.parse(r.stdout)
  end

  # Sums computed here, independently, from the trace file.
  def expected_from(records)
    by_op = records.group_by { |t| t["op"] }
    by_phase = records.group_by { |t| t["phase"] || "(none)" }
    {
      ops: by_op.transform_values(&:size),
      op_dur: by_op.transform_values { |l| l.sum { |t| t["dur_us"].to_i } },
      op_bytes: by_op.transform_values { |l| l.sum { |t| t["bytes"].to_i } },
      op_errors: by_op.transform_values { |l| l.count { |t| t["res"].to_i.negative? } },
      phase_count: by_phase.transform_values(&:size),
      phase_bytes: by_phase.transform_values { |l| l.sum { |t| t["bytes"].to_i } },
      phase_net: by_phase.transform_values { |l| l.select { |t| t["url"] }.sum { |t| t["bytes"].to_i } },
      phase_dur: by_phase.transform_values { |l| l.sum { |t| t["dur_us"].to_i } },
      repeated: records.reject { |t| t["op"] == "event" }.select { |t| t["path"] || t["url"] }
                       .group_by { |t| [t["op"], t["path"] || t["url"]] }.select { |_, l| l.size > 1 }
                       .transform_values(&:size)
    }
  end

  def assert_summary_matches(records, s)
    e = expected_from(records)
    t = s["totals"]
    assert_equal records.size, t["records"]
    assert_equal records.count { |r| r["op"] == "event" }, t["events"]
    assert_equal records.sum { |r| r["dur_us"].to_i }, t["dur_us"]
    assert_equal records.sum { |r| r["bytes"].to_i }, t["bytes"]
    assert_equal records.count { |r| r["res"].to_i.negative? }, t["errors"]
    assert_equal 0, t["bad_lines"]
    assert_equal e[:ops], s["by_op"].to_h { |h| [h["op"], h["count"]] }
    assert_equal e[:op_dur], s["by_op"].to_h { |h| [h["op"], h["dur_us"]] }
    assert_equal e[:op_bytes], s["by_op"].to_h { |h| [h["op"], h["bytes"]] }
    assert_equal e[:op_errors], s["by_op"].to_h { |h| [h["op"], h["errors"]] }
    assert_equal e[:phase_count], s["by_phase"].to_h { |h| [h["phase"], h["count"]] }
    assert_equal e[:phase_bytes], s["by_phase"].to_h { |h| [h["phase"], h["bytes"]] }
    assert_equal e[:phase_net], s["by_phase"].to_h { |h| [h["phase"], h["net_bytes"]] }
    assert_equal e[:phase_dur], s["by_phase"].to_h { |h| [h["phase"], h["dur_us"]] }
    assert_equal e[:repeated], s["repeated"].to_h { |h| [[h["op"], h["path"]], h["count"]] }
    slowest = s["slowest"].map { |h| h["dur_us"] }
    assert_equal records.reject { |r| r["op"] == "event" }.map { |r| r["dur_us"].to_i }.max(slowest.size), slowest
  end

  # A cold and a warm install of the small app, traced; the summary's
  # totals per op and per phase are the trace's own.
  def test_io_summary_of_real_installs
    _shape, _corpus, _server, app = small_app
    env, cold = trace_env(app, "cold.jsonl")
    scint!(app, env: env)
    FileUtils.rm_rf(app.path(".bundle"))
    env, warm = trace_env(app, "warm.jsonl")
    scint!(app, env: env)

    [cold, warm].each do |trace|
      records = read_trace(trace)
      refute_empty records
      s = summary_json(trace)
      assert_summary_matches(records, s)

      # The text output says the same.
      r = io_summary(trace)
      assert_success r
      assert_match(/^totals: #{records.size} records \(#{records.size - s["totals"]["events"]} operations, /, r.stdout)
      expected_from(records)[:ops].each do |op, n|
        assert_match(/^#{Regexp.escape(op)}\s+#{n}\s/, r.stdout, "by-count row of #{op}")
      end
      expected_from(records)[:phase_bytes].each do |ph, bytes|
        assert_match(/^#{Regexp.escape(ph)}\s+\d+\s+[\d.]+\s+[\d.]+\s+#{bytes}\s/, r.stdout, "phase row of #{ph}")
      end
      %w[operations\ by\ count slowest\ operations repeated\ on\ the\ same\ path per\ phase].each do |section|
        assert_includes r.stdout, section
      end
    end
    # The cold install wrote every unpacked byte in assemble and fetched over HTTP.
    s = summary_json(cold)
    assemble = s["by_phase"].find { |h| h["phase"] == "assemble" }
    assert_operator assemble["disk_bytes"], :>, 0
    assert_operator s["by_phase"].find { |h| h["phase"] == "fetch" }["net_bytes"], :>, 0
    refute_empty s["processes"], "the cold install ran the Ruby helper"
  end

  # Known numbers: repeats, the slowest op, per-phase sums, a partial last line.
  def test_io_summary_of_a_handmade_trace
    recs = [
      { t: 0, op: "openat", path: "/a", res: 0, dur_us: 10, phase: "fetch" },
      { t: 5, op: "openat", path: "/a", res: -2, err: "ENOENT", dur_us: 30, phase: "fetch" },
      { t: 7, op: "openat", path: "/a", res: 0, dur_us: 5, phase: "assemble" },
      { t: 8, op: "write_file", path: "/b", bytes: 100, res: 0, dur_us: 900, phase: "assemble", gem: "x-1" },
      { t: 9, op: "GET", url: "http://127.0.0.1/x.gem", status: 200, bytes: 4000, res: 0, dur_us: 70, phase: "fetch" },
      { t: 9, op: "event", what: "state", detail: "A -> B", res: 0, dur_us: 0, phase: "fetch" },
      { t: 950, op: "linkat", path: "/c", path2: "/d", res: 0, dur_us: 50 }
    ]
    trace = File.join(tmp, "hand.jsonl")
    File.write(trace, "#{recs.map { |r| JSON.generate(r) }.join("\n")}\n{\"t\":1000,\"op\":\"wri")
    s = summary_json(trace)
    t = s["totals"]
    assert_equal [7, 1, 6, 1065, 4100, 1, 1, 1000], t.values_at("records", "events", "operations", "dur_us", "bytes",
                                                                   "errors", "bad_lines", "span_us")
    assert_equal [{ "op" => "openat", "path" => "/a", "count" => 3, "dur_us" => 45 }], s["repeated"]
    assert_equal %w[write_file GET linkat], s["slowest"].first(3).map { |h| h["op"] }
    assert_equal "x-1", s["slowest"][0]["gem"]
    fetch = s["by_phase"].find { |h| h["phase"] == "fetch" }
    assert_equal [4, 110, 4000, 4000, 0, 1], fetch.values_at("count", "dur_us", "bytes", "net_bytes", "disk_bytes", "errors")
    assert_equal [1, 50], s["by_phase"].find { |h| h["phase"] == "(none)" }.values_at("count", "dur_us")
    assert_equal({ "state" => 1 }, s["events"])
    assert_equal [3, 45, 1], s["by_op"].find { |h| h["op"] == "openat" }.values_at("count", "dur_us", "errors")

    # A partial last line (a killed writer) is reported but is no error; a
    # damaged line in the middle is.
    File.write(trace, "#{JSON.generate(recs[0])}\nnot json\n#{JSON.generate(recs[1])}\n")
    r = io_summary(trace)
    assert_equal 1, r.exitstatus
    assert_match(/^bad line 2: not json$/, r.stdout)
    r = io_summary("/nonexistent/trace")
    assert_equal 1, r.exitstatus
    assert_match(%r{cannot read '/nonexistent/trace'}, r.stderr)
    assert_equal 2, io_summary.exitstatus, "usage error"
  end

  # ------------------------------------------------------------ scint-syscall-trace

  def syscall_env(app, extra = {})
    # LeakSanitizer cannot run under ptrace: sanitizer builds skip only the leak check.
    ScintTest.isolated_env(app.home, { "SCINT_CACHE" => app.cache, "ASAN_OPTIONS" => "detect_leaks=0" }.merge(extra))
  end

  def logs(prefix)
    Dir.glob("#{prefix}.*").select { |f| f =~ /\.\d+\z/ }.sort
  end

  # A cold install starts the Ruby helper: at least two processes, two logs,
  # each with wall-clock times and per-call durations.
  def test_syscall_trace_logs_every_process_of_an_install
    require_command!("strace")
    _shape, _corpus, _server, app = small_app
    prefix = File.join(tmp, "strace", "install")
    r = ScintTest.run(syscall_env(app), [SYSCALL_TRACE, prefix, "--", ScintTest.scint_bin, "install"], chdir: app.dir)
    assert_success r
    assert_match(/^Bundle complete! 29 gems/, r.stdout)
    files = logs(prefix)
    assert_operator files.size, :>=, 2, "one log per process: #{files}"
    assert_match(/#{files.size} process log\(s\) in #{Regexp.escape(prefix)}\.<pid> \(exit status 0\)/, r.stderr)
    texts = files.map { |f| File.read(f) }
    assert texts.any? { |t| t.include?("execve(\"#{ScintTest.scint_bin}\"") }, "scint's own log"
    assert texts.any? { |t| t =~ /execve\("[^"]*ruby[^"]*"/ }, "the Ruby helper's log"
    # -tt: wall-clock time first; -T: <duration> last; %file calls are there.
    assert_match(/^\d\d:\d\d:\d\d\.\d{6} \w+\(.*<\d+\.\d{6}>$/, texts.join)
    assert texts.any? { |t| t =~ /\b(openat|newfstatat|statx)\(/ }
    app.bundle_check!

    # The logs of a second run replace the first's; the exit status is the command's.
    r = ScintTest.run(syscall_env(app), [SYSCALL_TRACE, prefix, "--", "sh", "-c", "exit 7"], chdir: app.dir)
    assert_equal 7, r.exitstatus
    assert_equal 1, logs(prefix).size
  end

  def test_syscall_trace_without_strace_is_a_clear_error
    bash = ScintTest.which("bash") or skip "no bash"
    empty = File.join(tmp, "empty-bin")
    FileUtils.mkdir_p(empty)
    r = ScintTest.run(ScintTest.isolated_env(tmp, "PATH" => empty), [bash, SYSCALL_TRACE, File.join(tmp, "x"), "--", "true"],
                      chdir: tmp)
    assert_equal 2, r.exitstatus
    assert_equal "scint-syscall-trace: strace is not installed or not on PATH (apt-get install strace)\n", r.stderr
    assert_empty Dir.glob(File.join(tmp, "x.*"))

    r = ScintTest.run(ScintTest.isolated_env(tmp), [SYSCALL_TRACE, "only-a-prefix"], chdir: tmp)
    assert_equal 2, r.exitstatus
    assert_match(/^usage: scint-syscall-trace <logprefix> -- <cmd\.\.\.>/, r.stderr)
  end
end
