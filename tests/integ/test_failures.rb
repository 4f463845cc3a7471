# frozen_string_literal: true

# Done-when 5: bad packages and bad servers fail with a clear message naming
# the gem and the cause, leave nothing of the gem in cached/, and make the
# install exit non-zero; the rest of the bundle still gets installed.

require_relative "install_support"

class TestFailures < ScintTest::Case
  include InstallSupport

  VICTIM = "sc_color-0.3.1"
  FAST_RETRY = { "SCINT_HTTP_RETRY_DELAY_MS" => "5" }.freeze

  # A private copy of the small corpus, served by nginx, and a locked app.
  def setup_copy(server_kind = :nginx)
    shape, corpus = corpus(:small)
    dir = corpus_copy(corpus)
    server = server_kind == :nginx ? serve(dir) : fault_server(dir)
    app = app(gems: shape.gemfile_deps, source: server.url)
    app.bundle_lock!
    [shape, dir, server, app]
  end

  def victim_path(dir)
    File.join(dir, "gems", "#{VICTIM}.gem")
  end

  def assert_failed_cleanly(app, result, message)
    refute result.success?, "install must fail:\n#{result}"
    assert_equal 1, result.exitstatus
    assert_match message, result.stderr
    assert_match(/^Install failed: /, result.stdout)
    cached = cached_dir(app)
    assert_empty Dir.glob("#{VICTIM}*", base: cached), "nothing of #{VICTIM} in cached/"
    assert_empty Dir.children(File.join(app.cache, "assembling", ABI)), "assembling/ is empty"
    refute File.exist?(File.join(app.install_root, "specifications", "#{VICTIM}.gemspec"))
    # Gems that do not depend on the victim were installed all the same.
    assert File.file?(File.join(cached, "sc_escape-0.2.0.manifest"))
  end

  def test_tampered_package_fails_the_index_checksum
    _shape, dir, _server, app = setup_copy
    GemSurgery.rewrite(victim_path(dir)) { |entries| entries + [{ name: "lib/extra.rb", body: "1\n" }] }
    r = app.scint("install")
    assert_failed_cleanly(app, r, /error: checksum mismatch for #{VICTIM}\.gem from http:\/\/127\.0\.0\.1:\d+\/: expected sha256 \h{64}, got \h{64}/)
    refute File.exist?(File.join(app.cache, "inbound/gems", "#{VICTIM}.gem")), "an unverified package is not kept"
  end

  def test_tampered_package_fails_the_lockfile_checksum
    shape, dir, server, app = setup_copy
    sums = shape.locked.reject { |d| shape.default_gems.include?(d) }.map do |d|
      vp = d.full_name.delete_prefix("#{d.name}-")
      "  #{d.name} (#{vp}) sha256=#{Digest::SHA256.file(File.join(dir, "gems", "#{d.full_name}.gem")).hexdigest}\n"
    end
    app.write_file("Gemfile.lock", app.lockfile.sub("\nBUNDLED WITH", "\nCHECKSUMS\n#{sums.sort.join}\nBUNDLED WITH"))
    GemSurgery.rewrite(victim_path(dir)) { |entries| entries }
    GemSurgery.reindex(dir, "sc_color", "0.3.1") # the index agrees with the tampered file
    server.refresh
    server.reset_log
    r = app.scint("install")
    assert_failed_cleanly(app, r, /checksum mismatch for #{VICTIM}\.gem/)
    assert_empty server.requests.select { |q| q.path.start_with?("/info/") }, "CHECKSUMS makes the index unnecessary"
  end

  def test_missing_package_is_a_404_without_retries
    _shape, dir, server, app = setup_copy
    File.delete(victim_path(dir))
    server.reset_log
    r = app.scint("install", env: FAST_RETRY)
    assert_failed_cleanly(app, r, /error: could not download #{VICTIM}\.gem from http:\/\/127\.0\.0\.1:\d+\/: HTTP 404$/)
    assert_equal 1, gem_downloads(server).count(VICTIM)
  end

  def test_truncated_download_is_retried_then_fails
    _shape, _dir, server, app = setup_copy(:fault)
    server.fault("/gems/#{VICTIM}.gem", truncate: true)
    r = app.scint("install", env: FAST_RETRY)
    assert_failed_cleanly(app, r, /error: could not download #{VICTIM}\.gem from .*: download truncated \(got \d+ of \d+ bytes\) \(after retries\)/)
    assert_equal 4, gem_downloads(server).count(VICTIM)
  end

  def test_server_errors_are_retried
    shape, _dir, server, app = setup_copy(:fault)
    server.fault("/gems/#{VICTIM}.gem", status: 500, times: 2)
    server.fault("/info/sc_escape", status: 503, times: 1)
    r = app.scint("install", env: FAST_RETRY)
    assert_success r
    assert_equal 3, gem_downloads(server).count(VICTIM)
    app.bundle_check!
    assert_everything_loads(app, shape)
  end

  def test_persistent_server_error_fails
    _shape, _dir, server, app = setup_copy(:fault)
    server.fault("/gems/#{VICTIM}.gem", status: 503)
    r = app.scint("install", env: FAST_RETRY)
    assert_failed_cleanly(app, r, /could not download #{VICTIM}\.gem from .*: HTTP 503 \(after retries\)/)
  end

  def test_connection_reset_is_retried
    _shape, _dir, server, app = setup_copy(:fault)
    server.fault("/gems/#{VICTIM}.gem", reset: true, times: 1)
    assert_success app.scint("install", env: FAST_RETRY)
    app.bundle_check!
  end

  def test_fail_fast_stops_early
    _shape, dir, _server, app = setup_copy
    File.delete(victim_path(dir))
    r = app.scint("install", "--fail-fast")
    refute r.success?
    assert_match(/HTTP 404/, r.stderr)
    assert_match(/more jobs did not run because of the errors above/, r.stderr)
  end

  MALICIOUS = {
    "dotdot" => [{ name: "../../escaped.rb", body: "1\n" }, /'\.\.\/\.\.\/escaped\.rb': '\.\.' in path/],
    "absolute" => [{ name: "/tmp/scint-absolute-escape.rb", body: "1\n" }, /'\/tmp\/scint-absolute-escape\.rb': absolute path/],
    "symlink" => [{ name: "lib/evil", type: :symlink, linkname: "../../../../../etc" }, /'lib\/evil': symlink to '\.\.\/\.\.\/\.\.\/\.\.\/\.\.\/etc' points outside the gem/],
    "abs_symlink" => [{ name: "lib/evil", type: :symlink, linkname: "/etc/passwd" }, /'lib\/evil': symlink to '\/etc\/passwd' points outside the gem/],
    "fifo" => [{ name: "lib/pipe", type: :fifo }, /'lib\/pipe': fifo entries are not allowed/],
    "device" => [{ name: "lib/dev", type: :chardev }, /'lib\/dev': character device entries are not allowed/]
  }.freeze

  MALICIOUS.each do |kind, (entry, message)|
    define_method("test_malicious_archive_#{kind}") do
      _shape, dir, server, app = setup_copy
      GemSurgery.rewrite(victim_path(dir)) { |entries| entries + [entry] }
      GemSurgery.reindex(dir, "sc_color", "0.3.1")
      server.refresh
      r = app.scint("install")
      assert_failed_cleanly(app, r, /error: unsafe archive entry in #{VICTIM}: #{message.source}/)
      refute File.exist?(File.join(app.cache, "escaped.rb"))
      refute File.exist?(File.join(app.cache, "assembling", "escaped.rb"))
      refute File.exist?("/tmp/scint-absolute-escape.rb")
    end
  end

  def test_symlink_inside_the_gem_is_fine
    _shape, dir, server, app = setup_copy
    GemSurgery.rewrite(victim_path(dir)) do |entries|
      entries + [{ name: "lib/alias.rb", type: :symlink, linkname: "sc_color.rb" }]
    end
    GemSurgery.reindex(dir, "sc_color", "0.3.1")
    server.refresh
    assert_success app.scint("install")
    link = File.join(app.install_root, "gems", VICTIM, "lib/alias.rb")
    assert_equal "sc_color.rb", File.readlink(link)
    app.bundle_check!
  end

  def test_corrupt_package_is_a_format_error
    _shape, dir, server, app = setup_copy
    File.binwrite(victim_path(dir), "this is not a tar archive" * 100)
    GemSurgery.reindex(dir, "sc_color", "0.3.1")
    server.refresh
    r = app.scint("install")
    assert_failed_cleanly(app, r, /error: #{VICTIM} is not a valid gem package/)
  end

  def test_inconsistent_checksums_yaml_is_caught
    _shape, dir, server, app = setup_copy
    outer = GemSurgery.read_outer(victim_path(dir))
    data = GemSurgery.gzip(GemSurgery.tar(GemSurgery.read_data(outer) + [{ name: "lib/x.rb", body: "2\n" }]))
    files = outer.map { |n, b| n == "data.tar.gz" ? [n, data] : [n, b] } # checksums.yaml.gz left stale
    File.binwrite(victim_path(dir), GemSurgery.tar(files.map { |n, b| { name: n, body: b } }))
    GemSurgery.reindex(dir, "sc_color", "0.3.1")
    server.refresh
    r = app.scint("install")
    assert_failed_cleanly(app, r, /checksum mismatch inside #{VICTIM}: data\.tar\.gz does not match the package's checksums\.yaml\.gz/)
  end

  # A git source that cannot be fetched fails its gem only (tests/integ/test_git.rb has the rest).
  def test_unreachable_git_source_fails_its_gem_only
    _shape, _dir, _server, app = setup_copy
    lock = app.lockfile
    remote = "http://127.0.0.1:1/riggit.git"
    git = "GIT\n  remote: #{remote}\n  revision: #{"a" * 40}\n  specs:\n    riggit (0.9.0)\n\n"
    app.write_file("Gemfile.lock", git + lock.sub("DEPENDENCIES\n", "DEPENDENCIES\n  riggit!\n"))
    app.write_file("Gemfile", app.read_file("Gemfile") + "gem \"riggit\", git: #{remote.dump}\n")
    r = app.scint("install")
    refute r.success?
    assert_match(%r{error: cannot fetch riggit \(http://127\.0\.0\.1:1/riggit\.git\): git fetch failed}, r.stderr)
    # Everything else was installed.
    assert File.file?(File.join(app.install_root, "specifications", "sc_web-3.2.1.gemspec"))
  end
end

class TestCredentials < ScintTest::Case
  include InstallSupport

  SECRET = "s3cr3t-pa55"

  # Credentials from BUNDLE_<HOST> reach the server and nowhere else: not the
  # output, the trace, the lockfile, .bundle or the cache.
  def test_credentials_are_used_and_never_written
    shape, corpus = corpus(:small)
    server = fault_server(corpus_copy(corpus))
    app = app(gems: shape.gemfile_deps, source: server.url)
    app.bundle_lock!
    server.basic_auth = "scint:#{SECRET}"
    r = app.scint("install")
    refute r.success?
    assert_match(/HTTP 401/, r.stderr)
    env = { "BUNDLE_127__0__0__1" => "scint:#{SECRET}", "SCINT_IO_TRACE" => File.join(tmp, "trace.jsonl") }
    r = app.scint("install", env: env)
    assert_success r
    app.bundle_check!
    refute_includes r.stdout + r.stderr, SECRET
    refute_includes File.read(File.join(tmp, "trace.jsonl")), SECRET
    [app.dir, app.cache].each do |dir|
      Dir.glob("**/*", File::FNM_DOTMATCH, base: dir).each do |rel|
        path = File.join(dir, rel)
        refute_includes rel, SECRET
        next unless File.file?(path) && !File.symlink?(path)

        refute_includes File.binread(path), SECRET, path
      end
    end
  end

  def test_credentials_in_the_source_url_are_redacted
    shape, corpus = corpus(:small)
    server = fault_server(corpus_copy(corpus))
    app = app(gems: shape.gemfile_deps, source: server.url)
    app.bundle_lock!
    server.basic_auth = "scint:#{SECRET}"
    # A lockfile remote with userinfo (as Bundler keeps it for private sources).
    app.write_file("Gemfile.lock", app.lockfile.sub("remote: http://", "remote: http://scint:#{SECRET}@"))
    r = app.scint("install", env: { "SCINT_IO_TRACE" => File.join(tmp, "trace.jsonl") })
    assert_success r
    refute_includes r.stdout + r.stderr, SECRET
    refute_includes File.read(File.join(tmp, "trace.jsonl")), SECRET
    assert Dir.children(File.join(app.cache, "index")).none? { |d| d.include?(SECRET) }
    server.basic_auth = "scint:wrong"
    FileUtils.rm_rf([app.path(".bundle"), app.cache])
    r = app.scint("install")
    refute r.success?
    assert_match(%r{could not download \S+\.gem from http://127\.0\.0\.1:\d+/: HTTP 401|cannot fetch the index for '\w+' from http://127\.0\.0\.1:\d+/: HTTP 401}, r.stderr)
    refute_includes r.stderr, SECRET
  end
end
