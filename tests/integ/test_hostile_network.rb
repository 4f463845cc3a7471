# frozen_string_literal: true

# Hostile servers: bodies that never end or announce gigabytes, servers that
# drip bytes, index files that cannot vouch for a gem. Each attack is built
# here, scint runs against it, and the test asserts a clear error naming the
# gem and the cause, a non-zero exit, nothing of the gem in cached/ or
# inbound/, bounded memory and time, and that the next clean install works.

require_relative "install_support"
require "scint/big_gem"

class TestHostileNetwork < ScintTest::Case
  include InstallSupport

  VICTIM = "sc_color-0.3.1"
  VICTIM_GEM = "/gems/#{VICTIM}.gem".freeze
  FAST_RETRY = { "SCINT_HTTP_RETRY_DELAY_MS" => "5" }.freeze
  MIB = 1 << 20

  # A private copy of the small corpus served by the fault server, and a locked app.
  def setup_copy
    shape, _corpus, dir, server, app = locked_small_copy
    [shape, dir, server, app]
  end

  def inbound(app)
    File.join(app.cache, "inbound", "gems")
  end

  def assert_failed_cleanly(app, result, message)
    refute result.success?, "install must fail:\n#{result}"
    assert_equal 1, result.exitstatus, result.to_s
    assert_match message, result.stderr
    assert_match(/^Install failed: /, result.stdout)
    assert_empty Dir.glob("#{VICTIM}*", base: cached_dir(app)), "nothing of #{VICTIM} in cached/"
    assert_empty Dir.children(inbound(app)).grep(/#{Regexp.escape(VICTIM)}/), "no package or temp file in inbound/"
    refute File.exist?(File.join(app.install_root, "specifications", "#{VICTIM}.gemspec"))
    # Gems that do not depend on the victim were installed all the same.
    assert File.file?(File.join(cached_dir(app), "sc_escape-0.2.0.manifest"))
  end

  # After the attack: the same app installs once the server behaves.
  def assert_next_install_works(app, server, shape)
    server.clear_faults
    assert_success app.scint("install")
    app.bundle_check!
    assert_everything_loads(app, shape)
  end

  def wait_until(seconds)
    deadline = Process.clock_gettime(Process::CLOCK_MONOTONIC) + seconds
    sleep 0.05 until yield || Process.clock_gettime(Process::CLOCK_MONOTONIC) > deadline
  end

  def victim_downloads(server)
    gem_downloads(server).count(VICTIM)
  end

  # Runs scint install under scint-rusage; returns [result, peak RSS in KiB].
  def scint_with_rusage(app, env: {})
    rusage = File.join(File.dirname(ScintTest.scint_bin), "scint-rusage")
    skip "no scint-rusage next to scint (run make)" unless File.executable?(rusage)
    out = File.join(tmp, "rusage-#{rand(1 << 30)}.json")
    # Under AddressSanitizer freed memory is quarantined (256 MB by default): measure without.
    asan = [ENV["ASAN_OPTIONS"], "quarantine_size_mb=0"].compact.join(":")
    r = app.run(rusage, "-o", out, "--", ScintTest.scint_bin, "install", env: { "ASAN_OPTIONS" => asan }.merge(env))
    [r, JSON.parse(File.read(out)).fetch("maxrss_kb")]
  end

  # ---------------------------------------------------------------- size limits

  def test_announced_length_over_the_limit_is_refused_up_front
    shape, _dir, server, app = setup_copy
    server.fault(VICTIM_GEM, length: 5 << 30)
    r = app.scint("install", env: FAST_RETRY)
    assert_failed_cleanly(app, r, %r{error: could not download #{VICTIM}\.gem from http://127\.0\.0\.1:\d+/: the server announced 5368709120 bytes \(Content-Length\), over the limit of 1073741824 bytes \(set SCINT_MAX_DOWNLOAD to raise it\)$})
    assert_equal 1, victim_downloads(server), "a size refusal is not retried"
    assert_next_install_works(app, server, shape)
  end

  def test_a_lower_configured_limit_applies_to_real_packages
    _shape, dir, server, app = setup_copy
    size = File.size(File.join(dir, "gems", "#{VICTIM}.gem"))
    r = app.scint("install", env: { "SCINT_MAX_DOWNLOAD" => (size - 1).to_s })
    refute r.success?
    assert_match(/over the limit of #{size - 1} bytes \(set SCINT_MAX_DOWNLOAD to raise it\)/, r.stderr)
    assert_success app.scint("install", env: { "SCINT_MAX_DOWNLOAD" => "1M" })
    assert_operator gem_downloads(server).size, :>, 1
  end

  def test_endless_body_is_cut_off_at_the_limit
    shape, _dir, server, app = setup_copy
    server.fault(VICTIM_GEM, endless: 256 * MIB)
    r = app.scint("install", env: FAST_RETRY.merge("SCINT_MAX_DOWNLOAD" => "2M"))
    assert_failed_cleanly(app, r, /error: could not download #{VICTIM}\.gem from .*: the body grew past the limit of 2097152 bytes and was cut off \(set SCINT_MAX_DOWNLOAD to raise it\)$/)
    assert_equal 1, victim_downloads(server)
    sent = server.gem_requests.find { |q| q.path == VICTIM_GEM }.body_bytes
    assert_operator sent, :<, 256 * MIB, "scint hung up long before the server was done"
    assert_next_install_works(app, server, shape)
  end

  # The body goes to disk as it arrives: 300 MiB pass through in bounded
  # memory (then the checksum fails: the filler is not the package).
  def test_large_body_streams_to_disk_in_bounded_memory
    _shape, _dir, server, app = setup_copy
    server.fault(VICTIM_GEM, endless: 300 * MIB)
    r, rss_kb = scint_with_rusage(app, env: FAST_RETRY)
    assert_failed_cleanly(app, r, /error: checksum mismatch for #{VICTIM}\.gem/)
    assert_equal 300 * MIB, server.gem_requests.find { |q| q.path == VICTIM_GEM }.body_bytes
    assert_operator rss_kb, :<, 64 * 1024, "peak RSS while 300 MiB streamed in"
  end

  def test_compact_index_files_have_a_size_limit
    shape, _dir, server, app = setup_copy
    server.fault("/info/sc_color", length: 100 * MIB)
    r = app.scint("install", env: FAST_RETRY)
    assert_failed_cleanly(app, r, %r{error: cannot fetch the index for 'sc_color' from http://127\.0\.0\.1:\d+/: the server announced 104857600 bytes \(Content-Length\), over the limit of 16777216 bytes \(set SCINT_MAX_INDEX_DOWNLOAD to raise it\)$})
    server.clear_faults
    server.fault("/info/sc_color", endless: 64 * MIB)
    r = app.scint("install", env: FAST_RETRY.merge("SCINT_MAX_INDEX_DOWNLOAD" => "64K"))
    assert_failed_cleanly(app, r, /cannot fetch the index for 'sc_color' from .*: the body grew past the limit of 65536 bytes and was cut off \(set SCINT_MAX_INDEX_DOWNLOAD to raise it\)$/)
    assert_next_install_works(app, server, shape)
  end

  def test_malformed_limits_are_configuration_errors
    _shape, _dir, server, app = setup_copy
    server.reset_log
    { "SCINT_MAX_DOWNLOAD" => "lots", "SCINT_MAX_INDEX_DOWNLOAD" => "0", "SCINT_HTTP_TIMEOUT" => "-5",
      "BUNDLE_TIMEOUT" => "soon" }.each do |k, v|
      r = app.scint("install", env: { k => v })
      refute r.success?, "#{k}=#{v}"
      assert_match(/invalid #{k} '#{Regexp.escape(v)}'/, r.stderr)
    end
    assert_empty server.requests, "nothing is fetched with a bad setting"
  end

  # ---------------------------------------------------------------- time limits

  def test_dripping_server_hits_the_low_speed_rule
    shape, _dir, server, app = setup_copy
    server.fault(VICTIM_GEM, drip: 1.0)
    # Bundler's own setting, from the app's config: the low-speed window.
    app.write_file(".bundle/config", "---\nBUNDLE_TIMEOUT: \"2\"\n")
    r = app.scint("install", env: FAST_RETRY.merge("SCINT_HTTP_RETRIES" => "1"))
    assert_failed_cleanly(app, r, /error: could not download #{VICTIM}\.gem from .*: the transfer was too slow: less than 1024 bytes\/s for 2 s \(got \d+ bytes; BUNDLE_TIMEOUT and SCINT_HTTP_LOW_SPEED set these limits\) \(after retries\)$/)
    # A dripping connection is logged when its server thread notices the hang-up.
    wait_until(10) { victim_downloads(server) >= 2 }
    assert_equal 2, victim_downloads(server), "a stalled transfer is retried"
    assert_operator r.seconds, :<, 30
    assert_next_install_works(app, server, shape)
  end

  def test_total_time_limit_per_transfer
    _shape, _dir, server, app = setup_copy
    server.fault(VICTIM_GEM, drip: 0.02) # 50 bytes/s: above the low-speed rule set below
    r = app.scint("install", env: FAST_RETRY.merge("SCINT_HTTP_TIMEOUT" => "2", "SCINT_HTTP_LOW_SPEED" => "1"))
    assert_failed_cleanly(app, r, /error: could not download #{VICTIM}\.gem from .*: the transfer took longer than 2 s \(got \d+ bytes; set SCINT_HTTP_TIMEOUT to allow more\)$/)
    # Dripping connections are logged when their server threads notice the hang-up (every 20 ms here).
    wait_until(10) { victim_downloads(server) >= 1 }
    sleep 0.5
    assert_equal 1, victim_downloads(server), "a transfer that used up its time is not retried"
    assert_operator r.seconds, :<, 30
  end

  # ---------------------------------------------------------------- unverifiable gems

  def test_info_404_refuses_the_gem
    shape, _dir, server, app = setup_copy
    server.fault("/info/sc_color", status: 404)
    r = app.scint("install")
    assert_failed_cleanly(app, r, %r{error: cannot verify #{VICTIM}: http://127\.0\.0\.1:\d+/info/sc_color answered HTTP 404 \(the server has no compact index for it\) and Gemfile\.lock has no CHECKSUMS entry for it, so its checksum is unknown; it was not installed \(set BUNDLE_DISABLE_CHECKSUM_VALIDATION=true to install unverified gems\)$})
    assert_equal 0, victim_downloads(server), "an unverifiable package is not even downloaded"
    assert_next_install_works(app, server, shape)
  end

  def test_info_without_the_locked_version_refuses_the_gem
    shape, dir, server, app = setup_copy
    info = File.join(dir, "info", "sc_color")
    original = File.read(info)
    File.write(info, original.lines.reject { |l| l.start_with?("0.3.1 ") }.join)
    r = app.scint("install")
    assert_failed_cleanly(app, r, %r{error: cannot verify #{VICTIM}: http://127\.0\.0\.1:\d+/info/sc_color has no line for this version and Gemfile\.lock has no CHECKSUMS entry})
    assert_equal 0, victim_downloads(server)
    r = app.scint("install")
    assert_match(/cannot verify #{VICTIM}: .* has no line for this version/, r.stderr, "refused every time")
    File.write(info, original)
    assert_next_install_works(app, server, shape)
  end

  def test_opting_out_installs_unverified_gems_with_a_warning
    _shape, _dir, server, app = setup_copy
    server.fault("/info/sc_color", status: 404)
    r = app.scint("install", env: { "BUNDLE_DISABLE_CHECKSUM_VALIDATION" => "false" })
    assert_match(/cannot verify #{VICTIM}/, r.stderr, "\"false\" is no opt-out")
    FileUtils.rm_rf(app.cache)
    app.bundle!("config", "set", "--local", "disable_checksum_validation", "true")
    r = app.scint("install")
    assert_success r
    assert_match(%r{^warning: #{VICTIM} was installed unverified: http://127\.0\.0\.1:\d+/info/sc_color answered HTTP 404 \(the server has no compact index for it\) and Gemfile\.lock has no CHECKSUMS entry for it \(BUNDLE_DISABLE_CHECKSUM_VALIDATION is set\)$}, r.stderr)
    assert File.file?(File.join(cached_dir(app), "#{VICTIM}.manifest"))
    app.bundle_check!
  end

  def test_opting_out_does_not_excuse_a_mismatch
    _shape, dir, _server, app = setup_copy
    GemSurgery.rewrite(File.join(dir, "gems", "#{VICTIM}.gem")) { |e| e + [{ name: "lib/extra.rb", body: "1\n" }] }
    r = app.scint("install", env: { "BUNDLE_DISABLE_CHECKSUM_VALIDATION" => "true" })
    assert_failed_cleanly(app, r, /error: checksum mismatch for #{VICTIM}\.gem/)
  end

  # ---------------------------------------------------------------- killed runs

  def test_index_temp_files_of_dead_processes_are_swept
    _shape, _dir, _server, app = setup_copy
    assert_success app.scint("install")
    info_dir = Dir.glob(File.join(app.cache, "index", "*", "info")).first
    assert info_dir, "the index cache exists"
    dead = Process.spawn("true").tap { |pid| Process.wait(pid) }
    planted = [".sc_color.tmp-#{dead}", ".sc_color.etag.tmp-#{dead}"]
    live = ".sc_color.tmp-#{Process.pid}" # this test process: alive
    (planted + [live]).each { |n| File.write(File.join(info_dir, n), "partial") }
    FileUtils.rm_rf(app.path(".bundle")) # work to do: the sweep runs
    assert_success app.scint("install")
    planted.each { |n| refute File.exist?(File.join(info_dir, n)), "#{n} of a dead process is removed" }
    assert File.exist?(File.join(info_dir, live)), "a live process's temp file is left alone"
  end

  # ---------------------------------------------------------------- big packages

  BIG = 200 * MIB

  # Done-when: peak RSS of a cold install of a bundle with a 200 MB gem stays
  # under 64 MB: the download streams to inbound/ and the unpack streams the
  # package and its big entries in bounded chunks.
  def test_cold_install_of_a_200mb_gem_stays_under_64mb
    corpus = Scint::Gemgen::Corpus.new(File.join(tmp, "big"))
    corpus.add(name: "sc_big", version: "1.0.0", files: 1)
    corpus.build!
    Scint::BigGem.inflate(corpus.gem_path("sc_big-1.0.0"), "data/blob.bin", BIG)
    Scint::BigGem.reindex(corpus.dir, "sc_big", "1.0.0")
    server = serve(corpus.dir)
    app = app(gems: { "sc_big" => nil }, source: server.url)
    app.bundle_lock!
    r, rss_kb = scint_with_rusage(app)
    assert_success r
    blob = File.join(app.install_root, "gems", "sc_big-1.0.0", "data", "blob.bin")
    assert_equal BIG, File.size(blob)
    assert_operator rss_kb, :<, 64 * 1024, "peak RSS of the cold install (KiB)"
  end
end
