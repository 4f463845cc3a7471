# frozen_string_literal: true

# The compact index client (phases/index_sync.c) through `scint index sync`:
# conditional and ranged updates, the first-byte and digest checks, the
# local modes, a source without a compact index, and mirrors (index requests
# and gem downloads, with the fallback to the source).
#
# The index is written here, by hand, as a compact index server writes it (no gems are
# built), except for the mirror install test, which builds two tiny gems.

require "scint_test"
require "socket"

class TestIndexClient < ScintTest::Case
  # name => [info lines]; the closure of ROOTS is everything but "unrelated".
  INDEX = {
    "app_web" => ["1.0.0 app_router:~> 2.0,app_rack:>= 1.4&< 3|checksum:#{"a" * 64},ruby:>= 2.6",
                  "1.1.0 app_router:~> 2.1,app_rack:>= 1.4&< 3,app_view:>= 0|checksum:#{"b" * 64}"],
    "app_router" => ["2.0.0 app_rack:>= 1.0|checksum:#{"c" * 64}",
                     "2.1.0 app_rack:>= 1.0,app_mime:~> 0.9|checksum:#{"d" * 64},created_at:2024-01-02T03:04:05Z"],
    "app_rack" => ["1.4.0 |checksum:#{"e" * 64}",
                   "2.2.4 app_utils:~> 1.0|checksum:#{"f" * 64},ruby:>= 2.4,rubygems:>= 1.3.6"],
    "app_view" => ["0.1.0 app_utils:>= 0|checksum:#{"1" * 64}"],
    "app_mime" => ["0.9.1 |checksum:#{"2" * 64}",
                   "0.9.2-x86_64-linux |checksum:#{"3" * 64},platform:=x86_64-linux"],
    "app_utils" => ["1.0.7 app_gone:>= 0|checksum:#{"4" * 64}"],
    "unrelated" => ["9.9.9 |checksum:#{"5" * 64}"]
  }.freeze
  ROOTS = %w[app_web].freeze
  CLOSURE = %w[app_web app_router app_rack app_view app_mime app_utils].freeze # app_gone is listed nowhere

  # Writes versions, names and info/* into dir (the compact index format).
  def write_index(dir, index = INDEX)
    FileUtils.mkdir_p(File.join(dir, "info"))
    versions = +"created_at: 2024-01-01T00:00:00Z\n---\n"
    index.each do |name, lines|
      info = "---\n#{lines.map { |l| "#{l}\n" }.join}"
      File.binwrite(File.join(dir, "info", name), info)
      vers = lines.map { |l| l.split(" ", 2).first }.join(",")
      versions << "#{name} #{vers} #{Digest::MD5.hexdigest(info)}\n"
    end
    File.binwrite(File.join(dir, "versions"), versions)
    File.binwrite(File.join(dir, "names"), "---\n#{index.keys.sort.map { |n| "#{n}\n" }.join}")
  end

  # Appends a version to name on the server, as index servers do: a line in
  # info/<name> and a line in versions with the new MD5.
  def publish(dir, name, line)
    info_path = File.join(dir, "info", name)
    File.binwrite(info_path, File.binread(info_path) + "#{line}\n")
    md5 = Digest::MD5.hexdigest(File.binread(info_path))
    File.open(File.join(dir, "versions"), "ab") { |f| f.write("#{name} #{line.split(" ", 2).first} #{md5}\n") }
  end

  def index_dir(cache)
    dirs = Dir.glob(File.join(cache, "index", "*/"))
    assert_equal 1, dirs.size, "one source dir in #{cache}/index: #{dirs.inspect}"
    dirs.first
  end

  def sync(url, *args, cache:, env: {}, roots: ROOTS)
    ScintTest.run(ScintTest.isolated_env(home, { "SCINT_CACHE" => cache }.merge(env)),
                  [ScintTest.scint_bin, "index", "sync", "--source", url, "--list", *args, *roots],
                  chdir: tmp, timeout: 60)
  end

  def home
    File.join(tmp, "home").tap { |h| FileUtils.mkdir_p(h) }
  end

  def listed(result)
    result.stdout.lines.grep(/\A  /).to_h { |l| n, state = l.split; [n, state] }
  end

  # The cache holds the server's versions and the closure's info files, byte for byte.
  def assert_cache_matches(server_dir, cache, names = CLOSURE)
    idx = index_dir(cache)
    assert_equal File.binread(File.join(server_dir, "versions")), File.binread(File.join(idx, "versions"))
    names.each do |n|
      assert_equal File.binread(File.join(server_dir, "info", n)), File.binread(File.join(idx, "info", n)),
                   "info/#{n}"
    end
    refute File.exist?(File.join(idx, "info", "unrelated")), "only the closure is fetched"
    assert_empty Dir.glob("{.*tmp*,info/.*tmp*}", base: idx), "no temporary file left"
  end

  def setup_index(server: :fault)
    dir = File.join(tmp, "server")
    write_index(dir)
    srv = server == :nginx ? serve(dir) : fault_server(dir)
    [dir, srv]
  end

  def info_requests(srv)
    srv.requests.select { |r| r.path.start_with?("/info/") }
  end

  # (a) A second sync with nothing new makes only conditional/ranged requests.
  def assert_second_sync_conditional(dir, srv)
    cache = File.join(tmp, "cache")
    r = sync(srv.url, cache: cache)
    assert_success r
    assert_equal CLOSURE.to_h { |n| [n, "present"] }.merge("app_gone" => "absent"), listed(r)
    assert_cache_matches(dir, cache)
    first = srv.requests
    assert_equal 1, first.count { |q| q.path == "/versions" }, "GET /versions once"
    # app_gone is requested only if its name came before /versions told it is not there.
    assert_equal CLOSURE.sort, first.select { |q| q.path.start_with?("/info/") }
                                    .map { |q| File.basename(q.path) }.sort - ["app_gone"]
    srv.reset_log

    r = sync(srv.url, cache: cache)
    assert_success r
    assert_equal CLOSURE.to_h { |n| [n, "present"] }.merge("app_gone" => "absent"), listed(r)
    log = srv.requests
    assert_equal ["/versions"], log.map(&:path), "info files whose MD5 matches are not requested:\n#{log}"
    v = log.first
    assert_equal 304, v.status
    assert_match(/\Abytes=\d+-\z/, v.range.to_s, "a ranged request")
    refute_nil v.if_none_match, "a conditional request"
    assert_cache_matches(dir, cache)
  end

  def test_second_sync_is_conditional
    dir, srv = setup_index
    assert_second_sync_conditional(dir, srv)
  end

  def test_second_sync_is_conditional_nginx
    dir, srv = setup_index(server: :nginx)
    assert_second_sync_conditional(dir, srv)
  end

  # (b) A new version on the server: versions and the info file are appended by range.
  def test_new_version_is_appended_by_range
    dir, srv = setup_index(server: :nginx)
    cache = File.join(tmp, "cache")
    assert_success sync(srv.url, cache: cache)
    publish(dir, "app_rack", "3.0.0 app_utils:~> 1.0,app_new:>= 1|checksum:#{"6" * 64}")
    File.binwrite(File.join(dir, "info", "app_new"), "---\n1.0.0 |checksum:#{"7" * 64}\n")
    File.open(File.join(dir, "versions"), "ab") do |f|
      f.write("app_new 1.0.0 #{Digest::MD5.hexdigest(File.binread(File.join(dir, "info", "app_new")))}\n")
    end
    srv.refresh
    srv.reset_log

    r = sync(srv.url, cache: cache)
    assert_success r
    assert_equal "present", listed(r)["app_new"], "the new dependency is discovered"
    log = srv.requests
    by_path = log.group_by(&:path)
    assert_equal [206], by_path["/versions"].map(&:status), log.to_s
    assert_equal [206], by_path["/info/app_rack"].map(&:status), log.to_s
    assert_match(/\Abytes=\d+-\z/, by_path["/info/app_rack"].first.range.to_s)
    assert_equal [200], by_path["/info/app_new"].map(&:status), "a new name is fetched whole"
    assert_equal ["/info/app_new", "/info/app_rack", "/versions"], by_path.keys.sort,
                 "nothing else is requested"
    assert_cache_matches(dir, cache, CLOSURE + ["app_new"])
    assert_match(/2 appended/, r.stdout)
  end

  # (c) A range answer whose first byte differs is not appended: the whole file is fetched again.
  def test_wrong_first_byte_refetches_whole
    dir, srv = setup_index
    cache = File.join(tmp, "cache")
    assert_success sync(srv.url, cache: cache)
    publish(dir, "app_rack", "3.0.0 |checksum:#{"6" * 64}")
    srv.fault("/info/app_rack", bad_range: true)
    srv.fault("/versions", bad_range: true)
    srv.reset_log

    r = sync(srv.url, cache: cache)
    assert_success r
    by_path = srv.requests.group_by(&:path)
    assert_equal [206, 200], by_path["/versions"].map(&:status)
    assert_equal [206, 200], by_path["/info/app_rack"].map(&:status)
    assert_nil by_path["/info/app_rack"].last.range, "the second request is not ranged"
    assert_match(/2 refetched whole/, r.stdout)
    assert_cache_matches(dir, cache)
  end

  # (c) A file that changed under us (shorter now): 416, then the whole file.
  def test_rewritten_file_is_fetched_whole
    dir, srv = setup_index
    cache = File.join(tmp, "cache")
    assert_success sync(srv.url, cache: cache)
    index = INDEX.merge("app_rack" => ["2.2.4 |checksum:#{"f" * 64}"])
    write_index(dir, index)
    srv.reset_log

    r = sync(srv.url, cache: cache)
    assert_success r
    by_path = srv.requests.group_by(&:path)
    assert_equal [416, 200], by_path["/info/app_rack"].map(&:status)
    assert_equal File.binread(File.join(dir, "info", "app_rack")),
                 File.binread(File.join(index_dir(cache), "info", "app_rack"))
    assert_equal File.binread(File.join(dir, "versions")), File.binread(File.join(index_dir(cache), "versions"))
  end

  # (c) Repr-Digest: checked when sent; a mismatching whole body is refused.
  def test_repr_digest_mismatch_is_refused
    dir, srv = setup_index
    srv.repr_digest = true
    cache = File.join(tmp, "cache")
    srv.fault("/info/app_view", bad_digest: true)
    r = sync(srv.url, cache: cache)
    refute r.success?, r.to_s
    assert_equal 1, r.exitstatus
    assert_match %r{info/app_view does not match the digest the server sent}, r.stderr
    refute File.exist?(File.join(index_dir(cache), "info", "app_view")), "the refused body is not kept"
    # The rest, verified by their digests, is kept.
    assert_equal File.binread(File.join(dir, "info", "app_web")),
                 File.binread(File.join(index_dir(cache), "info", "app_web"))

    srv.clear_faults
    assert_success sync(srv.url, cache: cache)
    assert_cache_matches(dir, cache)
  end

  # (c) An append whose digest does not match is fetched again whole (and then verified).
  def test_repr_digest_mismatch_on_append_refetches
    dir, srv = setup_index
    srv.repr_digest = true
    cache = File.join(tmp, "cache")
    assert_success sync(srv.url, cache: cache)
    publish(dir, "app_rack", "3.0.0 |checksum:#{"6" * 64}")
    srv.fault("/info/app_rack", bad_digest: true, times: 1)
    srv.reset_log
    r = sync(srv.url, cache: cache)
    assert_success r
    assert_equal [206, 200], srv.requests.select { |q| q.path == "/info/app_rack" }.map(&:status)
    assert_cache_matches(dir, cache)
  end

  # Cold: info files are fetched before /versions answers; one that changed
  # meanwhile (its MD5 in versions differs) is synced again, by range.
  def test_cold_info_is_checked_against_versions
    dir, srv = setup_index
    srv.fault("/versions", delay: 1.5)
    cache = File.join(tmp, "cache")
    out = File.join(tmp, "out")
    pid = Process.spawn(ScintTest.isolated_env(home, "SCINT_CACHE" => cache), ScintTest.scint_bin, "index", "sync",
                        "--source", srv.url, *ROOTS, out: out, err: [:child, :out])
    deadline = Process.clock_gettime(Process::CLOCK_MONOTONIC) + 20
    sleep 0.02 until srv.requests.any? { |q| q.path == "/info/app_rack" } ||
                     Process.clock_gettime(Process::CLOCK_MONOTONIC) > deadline
    publish(dir, "app_rack", "3.0.0 |checksum:#{"6" * 64}") # before /versions is read
    _, status = Process.wait2(pid)
    assert status.success?, File.read(out)
    rack = srv.requests.select { |q| q.path == "/info/app_rack" }
    assert_equal [200, 206], rack.map(&:status), srv.requests.to_s
    assert_cache_matches(dir, cache)
  ensure
    Process.kill("KILL", pid) if pid && !status
  end

  # (d) --local works from the cache with the server stopped; --prefer-local too.
  def test_local_modes_with_the_server_stopped
    dir, srv = setup_index
    cache = File.join(tmp, "cache")
    warm = sync(srv.url, cache: cache)
    assert_success warm
    srv.stop

    r = sync(srv.url, "--local", cache: cache)
    assert_success r
    assert_equal listed(warm), listed(r)
    assert_match(/\A0 requests/, r.stdout.lines.last)
    r = sync(srv.url, "--prefer-local", cache: cache)
    assert_success r
    assert_equal listed(warm), listed(r).merge("app_gone" => "absent")
    refute_match(/^error/, r.stderr)

    # Without the server and without --local: a clear error naming it.
    r = sync(srv.url, cache: cache, env: { "SCINT_HTTP_RETRIES" => "0" })
    refute r.success?
    assert_match(/cannot fetch #{Regexp.escape(srv.url)}\/versions/, r.stderr)
    # --local with nothing cached: every name absent, no error.
    r = sync(srv.url, "--local", cache: File.join(tmp, "empty-cache"))
    assert_success r
    assert_equal({ "app_web" => "absent" }, listed(r))
    assert_cache_matches(dir, cache)
  end

  # --prefer-local: cached files are used as they are; only a name missing from the cache is fetched.
  def test_prefer_local_fetches_only_what_is_missing
    dir, srv = setup_index
    cache = File.join(tmp, "cache")
    assert_success sync(srv.url, cache: cache)
    File.delete(File.join(index_dir(cache), "info", "app_mime"))
    publish(dir, "app_rack", "3.0.0 |checksum:#{"6" * 64}") # not seen: the cached copy is used
    srv.reset_log
    r = sync(srv.url, "--prefer-local", cache: cache)
    assert_success r
    assert_equal ["/info/app_mime"], srv.requests.map(&:path)
    assert_equal File.binread(File.join(dir, "info", "app_mime")),
                 File.binread(File.join(index_dir(cache), "info", "app_mime"))
    refute_equal File.binread(File.join(dir, "info", "app_rack")),
                 File.binread(File.join(index_dir(cache), "info", "app_rack"))
  end

  def test_source_without_compact_index
    dir = File.join(tmp, "plain")
    FileUtils.mkdir_p(File.join(dir, "gems"))
    srv = fault_server(dir)
    r = sync(srv.url, cache: File.join(tmp, "cache"))
    refute r.success?
    assert_match %r{#{Regexp.escape(srv.url)}/ has no compact index \(GET #{Regexp.escape(srv.url)}/versions answered HTTP 404\)},
                 r.stderr
  end

  def test_hostile_names_are_never_requested
    dir = File.join(tmp, "server")
    index = INDEX.merge("app_utils" => ["1.0.7 ../../etc:>= 0,ok_dep:>= 0|checksum:#{"4" * 64}"],
                        "ok_dep" => ["1.0.0 |checksum:#{"8" * 64}"])
    write_index(dir, index)
    srv = fault_server(dir)
    cache = File.join(tmp, "cache")
    r = sync(srv.url, cache: cache)
    assert_success r
    assert_equal "present", listed(r)["ok_dep"]
    refute srv.requests.any? { |q| q.uri.include?("..") || q.uri.include?("etc") }, srv.requests.to_s
    r = sync(srv.url, cache: cache, roots: ["../x"])
    assert_equal 2, r.exitstatus, r.to_s
    assert_match(/is not a gem name/, r.stderr)
  end

  def test_name_limit
    _dir, srv = setup_index
    r = sync(srv.url, cache: File.join(tmp, "cache"), env: { "SCINT_INDEX_MAX_NAMES" => "3" })
    refute r.success?
    assert_match(/reach more than 3 names \(SCINT_INDEX_MAX_NAMES\)/, r.stderr)
    r = sync(srv.url, cache: File.join(tmp, "cache"), env: { "SCINT_MAX_INDEX_DOWNLOAD" => "100" })
    refute r.success?
    assert_match(/SCINT_MAX_INDEX_DOWNLOAD/, r.stderr)
  end

  # TLS trust as Bundler sets it up: BUNDLE_SSL_CA_CERT, else SSL_CERT_FILE;
  # BUNDLE_SSL_VERIFY_MODE=0 turns verification off.
  def test_tls_trust_settings
    dir = File.join(tmp, "server")
    write_index(dir)
    srv = Scint::FaultServer.new(dir)
    srv.ssl_context, pem = Scint::FaultServer.self_signed_tls
    srv.start
    @servers << srv
    ca = File.join(tmp, "ca.pem")
    File.write(ca, pem)
    r = sync(srv.url, cache: File.join(tmp, "c0"), env: { "SCINT_HTTP_RETRIES" => "0" })
    refute r.success?, "an unknown CA is refused:\n#{r}"
    assert_match(/certificate/i, r.stderr)
    assert_success sync(srv.url, cache: File.join(tmp, "c1"), env: { "BUNDLE_SSL_CA_CERT" => ca })
    assert_success sync(srv.url, cache: File.join(tmp, "c2"), env: { "SSL_CERT_FILE" => ca })
    assert_success sync(srv.url, cache: File.join(tmp, "c3"), env: { "BUNDLE_SSL_VERIFY_MODE" => "0" })
    assert_cache_matches(dir, File.join(tmp, "c1"))
  end

  # ---------------------------------------------------------------- mirrors

  def mirror_key(url)
    "BUNDLE_MIRROR__#{url.sub(%r{\Ahttp://}, "HTTP://").tr(".", "_").gsub("_", "__").upcase}/"
  end

  # (e) Every index request goes to the mirror; the source sees none.
  def test_mirror_takes_every_index_request
    dir, source = setup_index
    mirror = fault_server(dir)
    cache = File.join(tmp, "cache")
    env = { mirror_key(source.url) => mirror.url }
    r = sync(source.url, cache: cache, env: env)
    assert_success r
    assert_empty source.requests, "the source is not asked"
    assert_includes [1 + CLOSURE.size, 1 + CLOSURE.size + 1], mirror.requests.size, mirror.requests.to_s
    assert_cache_matches(dir, cache)
    assert_match(/\d+ from a mirror/, r.stdout)
    assert_equal ["#{source.url}/"], mirror.requests.map(&:gemfile_source).uniq, "X-Gemfile-Source names the source"
    # The cache is the source's (a mirror serves the same index): --local finds it.
    assert_success sync(source.url, "--local", cache: cache)
  end

  # The mirror's credentials are the mirror host's (BUNDLE_<MIRRORHOST>), never the source's.
  def test_mirror_credentials_are_the_mirror_hosts
    dir, source = setup_index
    mirror = fault_server(dir)
    mirror.basic_auth = "mirror-user:s3cret"
    mirror_url = "http://localhost:#{mirror.port}"
    cache = File.join(tmp, "cache")
    env = { mirror_key(source.url) => mirror_url, "SCINT_HTTP_RETRIES" => "0" }
    r = sync(source.url, cache: cache, env: env)
    refute r.success?, "no credentials for the mirror: 401"
    assert_match(/HTTP 401/, r.stderr)
    refute_match(/s3cret/, r.stdout + r.stderr)
    r = sync(source.url, cache: cache, env: env.merge("BUNDLE_LOCALHOST" => "mirror-user:s3cret"))
    assert_success r
    assert_empty source.requests
    assert_cache_matches(dir, cache)
    refute_match(/s3cret/, r.stdout + r.stderr)
  end

  # A mirror with fallback_timeout that does not answer: the source is used.
  def test_mirror_fallback_when_it_does_not_answer
    dir, source = setup_index
    cache = File.join(tmp, "cache")
    dead = TCPServer.new("127.0.0.1", 0)
    dead_url = "http://127.0.0.1:#{dead.addr[1]}"
    dead.close # refused from now on
    env = { mirror_key(source.url) => dead_url,
            "#{mirror_key(source.url)}__FALLBACK_TIMEOUT" => "1" }
    r = sync(source.url, cache: cache, env: env)
    assert_success r
    assert_match(/fell back to the source/, r.stdout)
    assert_cache_matches(dir, cache)

    # Without a fallback_timeout the mirror is used whatever happens: an error naming it.
    r = sync(source.url, cache: File.join(tmp, "cache2"),
                         env: { mirror_key(source.url) => dead_url, "SCINT_HTTP_RETRIES" => "0" })
    refute r.success?
    assert_match(/#{Regexp.escape(dead_url)}/, r.stderr)
  end

  # (e) scint install of a Bundler-locked app: every index and gem request goes to the mirror.
  def test_mirror_takes_gem_downloads
    require_bundler!
    gems_dir = File.join(tmp, "gems-server")
    corpus = Scint::Gemgen::Corpus.new(gems_dir)
    corpus.add(name: "mir_a", version: "1.0.0", files: 1, deps: { "mir_b" => ">= 0" })
    corpus.add(name: "mir_b", version: "2.0.0", files: 1)
    corpus.build!
    source = fault_server(gems_dir)
    mirror = fault_server(gems_dir)
    app = app(gems: { "mir_a" => [] }, source: source.url)
    app.bundle_lock!
    # No CHECKSUMS in a 2.3 lockfile: the checksums come from /info, through the mirror too.
    source.reset_log
    r = app.scint("install", env: { mirror_key(source.url) => mirror.url })
    assert_success r
    assert_empty source.requests, "the source is not asked: #{source.requests}"
    assert_equal %w[mir_a-1.0.0 mir_b-2.0.0], gem_downloads(mirror).sort
    assert_equal %w[/info/mir_a /info/mir_b], mirror.requests.map(&:path).grep(%r{\A/info/}).sort
    assert_equal ["#{source.url}/"], mirror.requests.map(&:gemfile_source).uniq
    app.bundle_check!
  end
end
