# frozen_string_literal: true

# Proves the test infrastructure itself, with real Bundler only (no scint):
# the generated corpus is accepted by Bundler 2.3 end to end through nginx,
# and the fault server misbehaves as told.

require "scint_test"
require "net/http"

class TestInfraOracle < ScintTest::Case
  def test_small_shape_installs_with_real_bundler
    require_bundler!
    shape, corpus = corpus(:small)
    server = serve(corpus.dir)
    app = app(gems: shape.gemfile_deps, source: server.url)

    app.bundle_lock!
    lock = app.lockfile
    locked_specs, = Scint::Shapes.parse_lockfile(lock)
    assert_equal shape.locked.map(&:full_name).sort,
                 locked_specs.map { |s| s[:full_name] }.sort
    assert_includes lock, "    sc_fastjson (2.6.3-x86_64-linux)\n"
    assert_includes lock, "PLATFORMS\n  x86_64-linux\n"
    assert_includes lock, "  ruby2_keywords (= 0.0.5)\n"
    # Bundler used the compact index only (no fallback to the dependency API
    # or the full index).
    assert_empty server.requests.reject { |r| r.path == "/versions" || r.path.start_with?("/info/") }
    assert(server.requests.all? { |r| r.status == 200 })

    # from_lockfile reproduces names, versions, platforms and edges.
    lock_path = app.path("Gemfile.lock")
    derived = Scint::Shapes.from_lockfile(lock_path)
    assert_equal shape.locked.map(&:full_name).sort, derived.locked.map(&:full_name).sort
    edges = ->(descs) { descs.to_h { |d| [d.full_name, d.deps.map { |n, r| [n, r.sort] }] } }
    assert_equal edges.call(shape.locked), edges.call(derived.locked)
    assert_equal shape.gemfile_deps, derived.gemfile_deps

    server.reset_log
    app.bundle_install!
    app.bundle_check!

    # Every gem loads under bundle exec, each from the expected variant.
    checks = shape.locked.reject { |d| d.name == "ruby2_keywords" }.map do |d|
      "puts [#{d.const_name}.scint_id, #{d.const_name}.file_count].join(' ')"
    end
    script = "#{shape.locked.map { |d| "require #{d.name.inspect}" }.join("; ")}\n#{checks.join("\n")}\n" \
             "puts ScFastjson.ext_token\nputs ScFastjson.method(:ext_token).source_location.inspect\n"
    out = app.ruby_exec!(script).lines(chomp: true)
    expected = shape.locked.reject { |d| d.name == "ruby2_keywords" }.map { |d| "#{d.full_name} #{d.files}" }
    assert_equal expected, out[0, expected.size]
    assert_equal "sc_fastjson-2.6.3-x86_64-linux:prebuilt", out[expected.size]
    assert_equal "nil", out[expected.size + 1], "ext_token must come from the C extension"

    # The prebuilt .so was installed as shipped, nothing was compiled.
    root = app.install_root
    assert File.file?(File.join(root, "gems/sc_fastjson-2.6.3-x86_64-linux/lib/sc_fastjson/sc_fastjson_ext.so"))
    assert_empty Dir.glob("**/*", base: File.join(root, "extensions")), "the small shape compiles nothing"

    # Binstubs via bundle exec, bindir exe and bin.
    assert_equal "sc-cli: sc_cli-0.7.0\n", app.bundle_exec!("sc-cli").stdout
    assert_equal "sctool: sc_tool-1.4.0\n", app.bundle_exec!("sctool").stdout
    assert File.executable?(File.join(root, "bin/sc-cli"))
    assert File.executable?(File.join(root, "bin/sctool"))

    # One GET per installed .gem; nothing for the default gem.
    downloads = gem_downloads(server)
    assert_equal shape.downloaded.map(&:full_name).sort, downloads.sort
    assert_equal downloads.uniq, downloads
    server.gem_requests.each do |r|
      assert_equal [200, File.size(File.join(corpus.dir, r.path))], [r.status, r.body_bytes], r.path
    end
    assert_equal ["ruby2_keywords-0.0.5"], shape.default_gems.map(&:full_name)
    refute File.exist?(File.join(root, "gems/ruby2_keywords-0.0.5"))

    # The oracle helper reproduces the same layout in a copy of the app.
    oracle = oracle_install(app)
    assert_same_tree app.tree_snapshot, oracle.tree_snapshot
  end

  # native: true turns sc_native into an extconf.rb gem whose build requires
  # sc_portile (a mini_portile2 stand-in) from the bundle being installed.
  def test_small_native_shape_compiles_at_install
    require_bundler!
    shape, corpus = corpus(:small, native: true)
    server = serve(corpus.dir)
    app = app(gems: shape.gemfile_deps, source: server.url)
    app.bundle_lock!
    app.bundle_install!
    assert_equal "sc_native-0.3.0:extconf\n", app.ruby_exec!('require "sc_native"; puts ScNative.ext_token')
    ext = File.join(app.install_root, "extensions", Gem::Platform.local.to_s, Gem.extension_api_version,
                    "sc_native-0.3.0")
    assert File.file?(File.join(ext, "gem.build_complete"))
    assert File.file?(File.join(ext, "sc_native/sc_native_ext.so"))
    assert_includes File.read(File.join(ext, "gem_make.out")), "using sc_portile\n"
    assert_equal ["sc_native-0.3.0"], Dir.children(File.join(ext, ".."))
  end

  # The Rakefile and CMakeLists.txt extension kinds build under real Bundler
  # (a Rakefile build needs rake in the bundle: the machine's rake, repackaged).
  def test_rake_and_cmake_extensions_build_with_real_bundler
    require_bundler!
    require_toolchain!
    require_command!("cmake")
    c = Scint::Gemgen::Corpus.new(File.join(tmp, "corpus"))
    c.add(Scint::Gemgen::InstalledGem.new("rake"))
    c.add(name: "rkext", version: "0.1.0", ext: "rake", deps: { "rake" => ">= 12" })
    c.add(name: "cmext", version: "0.2.0", ext: "cmake")
    c.build!
    server = serve(c.dir)
    app = app(gems: { "rkext" => [], "cmext" => [] }, source: server.url)
    app.bundle_lock!
    app.bundle_install!
    assert_equal "rkext-0.1.0:rake\ncmext-0.2.0:cmake\n",
                 app.ruby_exec!('require "rkext"; require "cmext"; puts Rkext.ext_token, Cmext.ext_token')
  end

  def test_nginx_serves_compact_index_like_rubygems_org
    _, corpus = corpus(:small)
    dir = corpus_copy(corpus)
    server = serve(dir)
    body = File.binread(File.join(dir, "versions"))
    etag = %("#{Digest::MD5.hexdigest(body)}")

    Net::HTTP.start("127.0.0.1", server.port) do |http|
      r = http.get("/versions")
      assert_equal "200", r.code
      assert_equal etag, r["ETag"]
      assert_equal "sha-256=:#{[Digest::SHA256.digest(body)].pack("m0")}:", r["Repr-Digest"]
      assert_equal "304", http.get("/versions", "If-None-Match" => etag).code
      r = http.get("/versions", "If-None-Match" => '"stale"', "Range" => "bytes=#{body.bytesize - 1}-")
      assert_equal "206", r.code
      assert_equal body[-1], r.body
      assert_equal "404", http.get("/.gemgen/manifest.json").code
      assert_equal "200", http.get("/gems/sc_pool-2.1.0.gem").code
    end
    reqs = server.requests
    assert_equal [200, 304, 206, 404, 200], reqs.map(&:status)
    assert_equal [nil, etag, '"stale"', nil, nil], reqs.map(&:if_none_match)
    assert_equal "bytes=#{body.bytesize - 1}-", reqs[2].range
    assert_equal 1, reqs.map(&:connection).uniq.size, "one keep-alive connection"
    assert_equal ["sc_pool-2.1.0"], gem_downloads(server)

    # The index grows (append-only, as on rubygems.org): after #refresh the
    # ETag is the new MD5 and a Range request gets the appended bytes.
    port = server.port
    File.write(File.join(dir, "versions"), "sc_pool 2.1.1 0123456789abcdef0123456789abcdef\n", mode: "a")
    server.refresh
    assert_equal port, server.port
    r = Net::HTTP.start("127.0.0.1", port) do |http|
      http.get("/versions", "If-None-Match" => etag, "Range" => "bytes=#{body.bytesize - 1}-")
    end
    assert_equal "206", r.code
    assert_equal "#{body[-1]}sc_pool 2.1.1 0123456789abcdef0123456789abcdef\n", r.body
    assert_equal %("#{Digest::MD5.file(File.join(dir, "versions")).hexdigest}"), r["ETag"]
    assert_equal 6, server.requests.size, "the access log survives a refresh"
  end

  def test_fault_server
    _, corpus = corpus(:small)
    fs = fault_server(corpus.dir)
    gem = "/gems/sc_pool-2.1.0.gem"
    gem_body = File.binread(File.join(corpus.dir, gem))
    fs.fault("/info/sc_pool", status: 404)
    fs.fault("/versions", status: 500, times: 1)
    fs.fault(gem, truncate: true, times: 1)
    fs.fault("/gems/sc_ast-2.4.2.gem", reset: true)

    Net::HTTP.start("127.0.0.1", fs.port) do |http|
      assert_equal "404", http.get("/info/sc_pool").code
      assert_equal "500", http.get("/versions").code
      r = http.get("/versions")
      assert_equal "200", r.code
      assert_equal File.binread(File.join(corpus.dir, "versions")), r.body
      assert_equal "206", http.get("/versions", "Range" => "bytes=10-").code
    end

    # Truncated body: fewer bytes than Content-Length, then EOF. (Net::HTTP
    # does not raise on that premature EOF; it returns the short body.)
    r = Net::HTTP.get_response(URI("#{fs.url}#{gem}"))
    assert_equal gem_body.bytesize, r["Content-Length"].to_i
    assert_operator r.body.bytesize, :<, gem_body.bytesize
    assert_equal gem_body, Net::HTTP.get(URI("#{fs.url}#{gem}")), "served in full once the fault is used up"
    assert_raises(Errno::ECONNRESET, EOFError) { Net::HTTP.get_response(URI("#{fs.url}/gems/sc_ast-2.4.2.gem")) }

    if ScintTest.command?("curl")
      fs.fault("/names", truncate: true)
      r = ScintTest.run({}, ["curl", "-sS", "-o", File.join(tmp, "names"), "#{fs.url}/names"], chdir: tmp)
      assert_equal 18, r.exitstatus, "curl: partial file\n#{r}"
    end

    log = fs.requests.map { |x| [x.method, x.path, x.status] }
    assert_equal [["GET", "/info/sc_pool", 404], ["GET", "/versions", 500], ["GET", "/versions", 200],
                  ["GET", "/versions", 206], ["GET", gem, 200], ["GET", gem, 200],
                  ["GET", "/gems/sc_ast-2.4.2.gem", 0]], log.first(7)
    assert_equal 2, fs.gem_requests.count { |x| x.path == gem }
  end

  def test_gemgen_is_deterministic_and_cached
    desc = { name: "detgem", version: "1.2.3", files: 30, executables: ["detgem"], deps: { "other" => ">= 1" } }
    a = Scint::Gemgen::Corpus.new(File.join(tmp, "a"))
    a.add(**desc)
    a.add(name: "other", version: "1.0.0")
    b = Scint::Gemgen::Corpus.new(File.join(tmp, "b"))
    b.add(**desc)
    b.add(name: "other", version: "1.0.0")
    assert_equal 2, a.build![:built].size
    b.build!
    %w[gems/detgem-1.2.3.gem versions info/detgem names].each do |f|
      assert_equal File.binread(File.join(a.dir, f)), File.binread(File.join(b.dir, f)), f
    end
    assert_equal({ built: [], cached: 2 }, a.build!)
    assert_includes File.read(File.join(a.dir, "info/detgem")),
                    "1.2.3 other:>= 1|checksum:#{a.checksum("detgem-1.2.3")},ruby:>= 2.5.0\n"
  end
end
