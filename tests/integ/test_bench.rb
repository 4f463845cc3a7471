# frozen_string_literal: true

# The measurement tools: scint-bench end to end on the small shape (table
# and JSON agree, every run verified by bundle check, a wrong install makes
# it fail), scint-rusage's numbers, and the synthetic medium/large shapes'
# structure (against their documented statistics and against real Bundler).

require "scint_test"
require "json"

class TestBench < ScintTest::Case
  BENCH = File.join(ScintTest::TOP, "bench/scint-bench")
  TABLE_ROW = /\A(cold|warm|noop)\s+(\S+)\s+(\d+)\/(\d+)\s+(\S+)\s+(\S+)\s+(\S+)\s+(\S+)\s+(\S+)\s+(\S+)\s+(\S+)\s+(\S+)\s+(\S+)\s*\z/.freeze
  SUMMARY_KEYS = %w[runs valid_runs median_wall_s min_wall_s max_wall_s median_user_s median_sys_s peak_rss_mb
                    median_rss_mb median_requests median_sent_mb median_gem_requests median_installed_files].freeze

  def rusage_bin
    File.join(ScintTest::BUILD_DIR, "scint-rusage")
  end

  def require_bench!
    require_scint!
    require_nginx!
    require_bundler!
    require_toolchain! # the small shape has a prebuilt platform gem
    skip "no scint-rusage in #{ScintTest::BUILD_DIR} (run make)" unless File.executable?(rusage_bin)
  end

  # Runs scint-bench on the small shape (its corpus shared with the other
  # tests) in a work dir of this test. Returns [result, json or nil].
  def bench(*args)
    json = File.join(tmp, "bench.json")
    cmd = [BENCH, "--shape", "small", "--runs", "1", "--work", File.join(tmp, "work"),
           "--corpus", File.join(ScintTest::CORPUS_DIR, "small"), "--scint", ScintTest.scint_bin, "--json", json, "--settle", "0", *args]
    r = ScintTest.run(ScintTest.isolated_env(File.join(tmp, "home"), "SCINT_BUILD_DIR" => ScintTest::BUILD_DIR),
                      cmd, chdir: ScintTest::TOP, timeout: 600)
    [r, File.file?(json) ? JSON.parse(File.read(json)) : nil]
  end

  def fmt(value, spec)
    value.nil? ? "-" : format(spec, value)
  end

  def test_small_shape_cold_warm_noop_against_bundler
    require_bench!
    r, json = bench
    assert_success r
    refute_nil json, "--json wrote nothing"

    # The table: a row per scenario and installer, scint's with a ratio.
    rows = r.stdout.lines.map(&:strip).filter_map { |l| TABLE_ROW.match(l) }
    assert_equal %w[cold cold warm warm noop noop], rows.map { |m| m[1] }
    assert_equal %w[scint bundler] * 3, rows.map { |m| m[2] }
    rows.each do |m|
      scen = json["scenarios"].fetch(m[1])
      key = m[2] == "bundler" ? "bundler" : "scint"
      s = scen.fetch(key).fetch("summary")
      # Every number of the row is in the JSON, as printed.
      assert_equal [s["valid_runs"], s["runs"]], [m[3].to_i, m[4].to_i]
      assert_equal [fmt(s["median_wall_s"], "%.3f"), fmt(s["min_wall_s"], "%.3f")], [m[5], m[6]], m[0]
      if key == "scint"
        assert_match(/\A\d+\.\d{3}\z/, m[7], "scint/bundler ratio in #{m[0]}")
        assert_equal fmt(scen["ratio"], "%.3f"), m[7]
        assert_equal fmt(scen["speedup"], "%.1fx"), m[8]
      else
        assert_equal %w[- -], [m[7], m[8]]
      end
      assert_equal [fmt(s["median_user_s"], "%.3f"), fmt(s["median_sys_s"], "%.3f"), fmt(s["peak_rss_mb"], "%.1f"),
                    fmt(s["median_requests"], "%d"), fmt(s["median_sent_mb"], "%.2f")], m[9..13], m[0]
    end

    # The JSON is complete.
    assert_equal true, json["valid"]
    assert_empty json["invalid_runs"]
    assert_empty json["warnings"]
    m = json["machine"]
    %w[kernel cpus fs_type scint_version io_backend link_mode ruby bundler].each do |k|
      refute_nil m[k], "machine.#{k}"
    end
    assert_match(/\Ascint \d/, m["scint_version"])
    assert_equal 1, json["config"]["runs"]
    assert_equal 29, json["corpus"]["stats"]["gems"]
    %w[cold warm noop].each do |name|
      scen = json["scenarios"][name]
      b = scen["bundler"]["summary"]
      s = scen["scint"]["summary"]
      SUMMARY_KEYS.each do |k|
        refute_nil s[k], "#{name}.scint.summary.#{k}"
        refute_nil b[k], "#{name}.bundler.summary.#{k}"
      end
      assert_in_delta s["median_wall_s"] / b["median_wall_s"], scen["ratio"], 0.0006, name
      (scen["scint"]["runs"] + scen["bundler"]["runs"]).each do |run|
        assert_equal [true, "ok", 0], [run["valid"], run["check"], run["exit"]], "#{name}: #{run}"
        assert_operator run["wall_ms"], :>, 0
        assert_operator run["maxrss_kb"], :>, 0
      end
      stats = scen["scint"]["runs"][0]["scint_stats"]
      assert_equal "ok", stats["result"], "SCINT_STATS of the #{name} run"
      # Both installers leave the same files in .bundle.
      assert_equal b["median_installed_files"], s["median_installed_files"], name
    end

    # What each scenario means, seen from the server and from scint's stats.
    cold = json["scenarios"]["cold"]
    assert_equal 28, cold["scint"]["summary"]["median_gem_requests"], "a cold install downloads every gem"
    assert_equal 28, cold["bundler"]["summary"]["median_gem_requests"]
    assert_equal 0, json["scenarios"]["warm"]["scint"]["summary"]["median_requests"], "a warm scint asks nothing"
    assert_equal 28, json["scenarios"]["warm"]["bundler"]["summary"]["median_gem_requests"],
                 "Bundler's gem cache is in .bundle, which a warm run deletes"
    assert_equal 0, json["scenarios"]["noop"]["scint"]["summary"]["median_requests"]
    assert_equal 28, json["scenarios"]["warm"]["scint"]["runs"][0]["scint_stats"]["from_cache"]
    assert_equal 28, json["scenarios"]["noop"]["scint"]["runs"][0]["scint_stats"]["already"]

    # Per-phase throughput from SCINT_STATS, in the table and in the JSON.
    %w[fetch assemble materialize].each do |ph|
      v = cold["phases"].fetch(ph)
      assert_equal 28, v["gems"], ph
      assert_operator v["gems_per_s"], :>, 0, ph
      assert_operator v["mb_per_s"], :>, 0, ph
      line = r.stdout.lines.find { |l| l =~ /\Acold\s+#{ph}\s/ }
      assert line, "no #{ph} row in the phase table"
      assert_equal [fmt(v["gems"], "%d"), fmt(v["span_ms"], "%.1f"), fmt(v["busy_ms"], "%.1f"), fmt(v["gems_per_s"], "%.1f"),
                    fmt(v["files_per_s"], "%.0f"), fmt(v["mb_per_s"], "%.1f")], line.split[2..7]
    end
    assert_operator cold["phases"]["assemble"]["files_per_s"], :>, 0
    assert_equal 28, json["scenarios"]["warm"]["phases"]["materialize"]["gems"]
    refute json["scenarios"]["warm"]["phases"].key?("fetch"), "a warm install fetches nothing"

    # The floors, measured in the same run, as ratios in the table and the JSON.
    { "cold" => ["tar", /\Acold\s+tar x data\.tar\.gz/], "warm" => ["cp_al", /\Awarm\s+cp -al \.bundle/] }.each do |scen, (floor, re)|
      f = json["floors"].fetch(scen)
      v = f["floors"].fetch(floor)
      assert_equal 1, v["runs"], "#{scen} #{floor}"
      assert_operator v["median_s"], :>, 0
      # Both medians are rounded to ms in the JSON, the ratio is not.
      assert_in_epsilon f["scint_median_s"] / v["median_s"], v["ratio"], 0.05
      line = r.stdout.lines.find { |l| l =~ re }
      assert line, "no #{floor} floor row"
      assert_equal [fmt(v["median_s"], "%.3f"), fmt(f["scint_median_s"], "%.3f"), fmt(v["ratio"], "%.3fx")], line.split[-3..]
    end
    reflink = json["floors"]["warm"]["floors"].fetch("cp_reflink")
    assert_match(/^warm\s+cp -a --reflink=always \.bundle\s+n\/a\s+\S+\s+n\/a$/, r.stdout) unless reflink["supported"]
    # Peak RSS: scint and the Ruby helper that built the gemspecs of the cold run.
    rss = json["rss"].fetch("cold")
    assert_operator rss["self_mb"], :>, 0
    assert_operator rss["helper_mb"], :>, 0, "the cold run started the Ruby helper"
    assert_in_delta rss["self_mb"] + rss["helper_mb"], rss["sum_mb"], 0.2

    # Nothing is left behind (the run dirs went to the trash, then away)
    # but the note of when that happened.
    assert_equal [".last-cleanup"], Dir.children(File.join(tmp, "work"))
  end

  # A fast wrong install cannot count: an "installer" that installs nothing
  # fails bundle check, its run is invalid and the bench exits 1.
  def test_an_install_that_bundle_check_rejects_fails_the_bench
    require_bench!
    r, json = bench("--installer", "true", "--no-bundler", "--scenarios", "cold")
    assert_equal 1, r.exitstatus, r.to_s
    assert_match(/^INVALID: cold true run 1: bundle check failed$/, r.stdout)
    assert_equal false, json["valid"]
    assert_equal [{ "scenario" => "cold", "installer" => "true", "run" => 1, "error" => "bundle check failed" }],
                 json["invalid_runs"]
    run = json["scenarios"]["cold"]["scint"]["runs"][0]
    assert_equal [false, "failed", 0], [run["valid"], run["check"], run["exit"]]
    assert File.file?(run["log"]), "the logs of an invalid run are kept"
    assert_nil json["scenarios"]["cold"]["scint"]["summary"]["median_wall_s"], "invalid runs are not summarized"
  end

  def test_usage_errors
    r = ScintTest.run(ScintTest.isolated_env(tmp), [BENCH, "--scenarios", "cold,lukewarm"], chdir: tmp)
    assert_equal 2, r.exitstatus
    assert_match(/unknown scenario lukewarm/, r.stderr)
    r = ScintTest.run(ScintTest.isolated_env(tmp), [BENCH, "--help"], chdir: tmp)
    assert_success r
    %w[--shape --lockfile --runs --jobs --scenarios --no-bundler --json --work --keep --native --link-mode --installer].each do |o|
      assert_includes r.stdout, o
    end
  end

  # ------------------------------------------------------------ scint-rusage

  def rusage(*cmd)
    skip "no scint-rusage in #{ScintTest::BUILD_DIR} (run make)" unless File.executable?(rusage_bin)
    out = File.join(tmp, "rusage.json")
    FileUtils.rm_f(out)
    r = ScintTest.run(ScintTest.isolated_env(tmp), [rusage_bin, "-o", out, "--", *cmd], chdir: tmp)
    lines = File.file?(out) ? File.readlines(out) : []
    assert_equal 1, lines.size, "one JSON line in #{out}"
    [r, JSON.parse(lines[0])]
  end

  # CPU time and memory of a grandchild count; the command's own output and
  # exit status are untouched.
  def test_rusage_measures_the_process_tree
    burn = "t = Process.clock_gettime(Process::CLOCK_THREAD_CPUTIME_ID); " \
           "1 while Process.clock_gettime(Process::CLOCK_THREAD_CPUTIME_ID) - t < 0.3; " \
           "s = \"x\" * 80_000_000; s.setbyte(1, 65); puts s.bytesize"
    r, j = rusage("sh", "-c", "#{RbConfig.ruby} -e '#{burn}'; echo done >&2; exit 3")
    assert_equal 3, r.exitstatus
    assert_equal "80000000\n", r.stdout
    assert_equal "done\n", r.stderr
    assert_equal [3, 0], [j["exit"], j["signal"]]
    assert_operator j["user_ms"] + j["sys_ms"], :>=, 280, "the grandchild's CPU time: #{j}"
    assert_operator j["maxrss_kb"], :>=, 78_000, "the grandchild's 80 MB: #{j}"
    assert_operator j["wall_ms"], :>=, 300
    %w[wall_ms user_ms sys_ms maxrss_kb exit].each { |k| assert_kind_of Numeric, j[k], k }
  end

  def test_rusage_reports_signals_and_exec_failures
    r, j = rusage("sh", "-c", "kill -KILL $$")
    assert_equal 137, r.exitstatus
    assert_equal [137, 9], [j["exit"], j["signal"]]

    r, j = rusage("scint-no-such-command")
    assert_equal 127, r.exitstatus
    assert_equal 127, j["exit"]
    assert_match(/cannot run 'scint-no-such-command': No such file or directory/, j["error"])

    r = ScintTest.run(ScintTest.isolated_env(tmp), [rusage_bin], chdir: tmp)
    assert_equal 2, r.exitstatus
    assert_match(/usage: scint-rusage/, r.stderr)
  end

  # ------------------------------------------------------------ synthetic shapes

  # The documented statistics of medium and large (see Shapes' comment).
  def test_synthetic_shapes_have_the_structure_of_rails_apps
    { medium: 230..270, large: 370..430 }.each do |name, size|
      shape = Scint::Shapes.public_send(name)
      st = shape.stats
      assert_includes size, st[:gems], name
      assert_includes 5..7, st[:max_depth], name
      assert_includes 10.0..15.0, st[:native_pct], name
      assert_operator st[:platform_gems], :>=, 2, name
      assert_operator st[:with_executables], :>=, 8, name
      assert_operator st[:gems_1000_files], :>=, 3, name
      assert_operator st[:big_files], :>=, 2, name
      assert_operator st[:exact_pins], :>=, 30, "#{name}: a Rails core pinned with = x"
      assert_operator st[:top_fan_in][0][1], :>=, 15, "#{name}: hubs"
      assert_operator st[:files_median], :<, 60, "#{name}: a long tail of small gems"
      assert_operator st[:gemfile_deps], :<, st[:gems] * 0.7, name

      # Consistent: every dependency of a locked gem is locked at a version
      # that satisfies it, and so is every Gemfile requirement.
      by_name = shape.locked.to_h { |d| [d.name, d] }
      assert_equal shape.locked.size, by_name.size, "one locked version per name"
      shape.locked.each do |d|
        d.deps.each do |n, reqs|
          assert by_name[n], "#{d.full_name} depends on #{n}, not locked"
          assert Gem::Requirement.new(reqs).satisfied_by?(Gem::Version.new(by_name[n].version)), "#{d.full_name}: #{n} #{reqs}"
        end
      end
      shape.gemfile_deps.each do |n, reqs|
        assert Gem::Requirement.new(reqs.empty? ? [">= 0"] : reqs).satisfied_by?(Gem::Version.new(by_name.fetch(n).version))
      end
    end
  end

  def test_synthetic_shapes_are_deterministic_by_seed
    a = Scint::Shapes.medium(seed: 1)
    b = Scint::Shapes.medium(seed: 1)
    c = Scint::Shapes.medium(seed: 2)
    assert_equal a.gems.map(&:cache_key), b.gems.map(&:cache_key)
    assert_equal a.gemfile_deps, b.gemfile_deps
    refute_equal a.gems.map(&:cache_key), c.gems.map(&:cache_key)
  end

  # Real Bundler resolves the medium app to exactly the gems the shape locks
  # (older versions, prereleases and excluded majors in the index skipped).
  def test_bundler_locks_the_medium_shape_as_described
    require_nginx!
    require_bundler!
    shape, corpus = corpus(:medium)
    server = serve(corpus.dir)
    app = app(gems: shape.gemfile_deps, source: server.url)
    app.bundle_lock!
    specs, = Scint::Shapes.parse_lockfile(app.lockfile)
    assert_equal shape.locked.map(&:full_name).sort, specs.map { |s| s[:full_name] }.sort
  end
end
