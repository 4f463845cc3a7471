# frozen_string_literal: true

# Issue 12: the shared remote artifact cache over plain HTTP (WebDAV PUT on a
# real nginx). A fleet of fresh caches compiles each native gem once in
# total (runners share a cache root, which is part of the key: a runner with
# another root misses); a tampered, foreign-signed, unsigned, truncated or
# too-new artifact, one needing a library the host lacks, and a remote that
# is down are refused or skipped with a warning, the gem is built here, and
# nothing unverified reaches cached/.

require_relative "install_support"
require "io/console"
require "openssl"
require "pty"
require "rubygems/package"
require "stringio"
require "zlib"

class TestRemoteCache < ScintTest::Case
  include InstallSupport

  KEY = "fleet-shared-secret-0123456789"

  # nginx with the DAV module (PUT creates the path), in its own temp dir.
  class DavServer
    attr_reader :root, :port

    def initialize(root)
      @root = root
      FileUtils.mkdir_p(root)
    end

    def url
      "http://127.0.0.1:#{@port}"
    end

    def start
      @tmp = Dir.mktmpdir("scint-dav-")
      FileUtils.mkdir_p(%W[#{@tmp}/logs #{@tmp}/tmp])
      3.times do
        @port = Scint.free_port
        File.write("#{@tmp}/nginx.conf", <<~NGINX)
          daemon off;
          master_process off;
          worker_processes 1;
          pid "#{@tmp}/nginx.pid";
          error_log "#{@tmp}/logs/error.log" notice;
          events { worker_connections 64; }
          http {
            client_body_temp_path "#{@tmp}/tmp/body";
            proxy_temp_path "#{@tmp}/tmp/proxy";
            fastcgi_temp_path "#{@tmp}/tmp/fastcgi";
            uwsgi_temp_path "#{@tmp}/tmp/uwsgi";
            scgi_temp_path "#{@tmp}/tmp/scgi";
            client_max_body_size 0;
            access_log "#{@tmp}/logs/access.log";
            server {
              listen 127.0.0.1:#{@port};
              root "#{@root}";
              location / {
                dav_methods PUT DELETE MKCOL;
                create_full_put_path on;
                dav_access user:rw group:r all:r;
              }
            }
          }
        NGINX
        @pid = Process.spawn(Scint.nginx_path, "-p", @tmp, "-c", "#{@tmp}/nginx.conf", "-e", "#{@tmp}/logs/error.log",
                             in: File::NULL, out: File::NULL, err: File::NULL)
        return self if ready?

        @pid = nil
      end
      raise "nginx (dav) did not start: #{File.read("#{@tmp}/logs/error.log") rescue ""}"
    end

    def ready?
      deadline = Process.clock_gettime(Process::CLOCK_MONOTONIC) + 10
      while Process.clock_gettime(Process::CLOCK_MONOTONIC) < deadline
        return false if Process.wait(@pid, Process::WNOHANG)

        begin
          TCPSocket.new("127.0.0.1", @port).close
          return true
        rescue SystemCallError
          sleep 0.01
        end
      end
      false
    end

    def stop
      if @pid
        Process.kill("TERM", @pid) rescue nil
        Process.wait(@pid) rescue nil
        @pid = nil
      end
      FileUtils.rm_rf(@tmp) if @tmp
    end
  end

  def setup
    super
    require_nginx!
    require_toolchain!
    c = Scint::Gemgen::Corpus.new(File.join(tmp, "corpus"), so_cache: File.join(ScintTest::CORPUS_DIR, "so-cache"))
    # Its build fails if the remote cache's settings (the signing key, the
    # credentials) reach it: third-party build code must never see them.
    # Nor may it read them from an ancestor's /proc/<pid>/environ, up to
    # scint itself (unsetenv leaves the bytes where the kernel put them).
    extconf = <<~'RUBY'
      # frozen_string_literal: true

      require "mkmf"
      secret = /\A(SCINT_REMOTE_CACHE)/
      leak = ENV.keys.grep(secret)
      abort "extconf.rb sees #{leak.join(", ")}" unless leak.empty?
      pid = Process.pid
      16.times do
        pid = File.read("/proc/#{pid}/stat")[/\) \S+ (\d+)/, 1].to_i
        break if pid <= 1

        env = File.binread("/proc/#{pid}/environ").split("\0").grep(/=./).map { |kv| kv[/\A[^=]*/] }
        leak = env.grep(secret)
        abort "extconf.rb reads #{leak.join(", ")} in /proc/#{pid}/environ" unless leak.empty?
        break if File.read("/proc/#{pid}/comm").strip == "scint"
      end
      create_makefile("rc_ext/rc_ext_ext")
    RUBY
    c.add(name: "rc_ext", version: "1.0.0", ext: "extconf", extra_files: { "ext/rc_ext/extconf.rb" => extconf })
    c.add(name: "rc_pure", version: "1.0.0", files: 2)
    c.build!
    @source = serve(c.dir)
    @dav = DavServer.new(File.join(tmp, "remote")).start
    @servers << @dav
    @app = app("app", gems: { "rc_ext" => [], "rc_pure" => [] }, source: @source.url)
    @app.bundle_lock!
    @runs = 0
  end

  def remote_env(extra = {})
    { "SCINT_REMOTE_CACHE" => "#{@dav.url}/fleet/", "SCINT_REMOTE_CACHE_HMAC_KEY" => KEY }.merge(extra)
  end

  # A fresh runner: an empty cache, no .bundle. Runners of a fleet share a
  # layout: the same cache root (it is part of the key, see
  # test_a_runner_with_another_cache_root_misses). Returns [result, builds, cache].
  def fresh_install(env = remote_env, args: [], cache: File.join(tmp, "runner"))
    @runs += 1
    trace = File.join(tmp, "trace-#{@runs}.jsonl")
    FileUtils.rm_rf(cache)
    FileUtils.rm_rf(@app.path(".bundle"))
    r = @app.scint("install", *args, env: { "SCINT_CACHE" => cache, "SCINT_IO_TRACE" => trace }.merge(env))
    assert_success r
    builds = read_trace(trace).select { |t| t["op"] == "build" && t["argv"]&.include?("--build") }
    [r, builds, cache]
  end

  def objects
    Dir.glob("fleet/scint-1/*", base: @dav.root).sort
  end

  def assert_loads(cache)
    assert_success @app.bundle("check")
    r = @app.bundle("exec", "ruby", "-e", "require 'rc_ext'; require 'rc_pure'; puts RcExt.ext_token")
    assert_success r
    assert_equal "rc_ext-1.0.0:extconf", r.stdout.strip
    assert File.file?(File.join(cache, "cached", ABI, "rc_ext-1.0.0.manifest"))
  end

  # Done-when 1: four fresh runners; the first compiles and uploads, the
  # other three compile nothing and load the extension.
  def test_fleet_compiles_each_native_gem_once
    r, builds, cache = fresh_install
    assert_equal 1, builds.size, "the first runner compiles"
    assert_match(/Remote cache: 0 hits, 0 refused, 1 uploaded; 0\.0 KiB down, [1-9][\d.]* KiB up/, r.stdout)
    assert_equal 2, objects.size, "one artifact and its index (only native entries are pushed): #{objects}"
    refute_match(/warning/i, r.stderr)
    assert_loads(cache)
    3.times do |i|
      env = remote_env
      if i == 1
        # The same settings from ~/.bundle/config, the key from a file.
        File.write(File.join(tmp, "hmac.key"), "#{KEY}\n")
        FileUtils.mkdir_p(File.join(@app.home, ".bundle"))
        File.write(File.join(@app.home, ".bundle", "config"),
                   "---\nSCINT_REMOTE_CACHE: \"#{@dav.url}/fleet\"\n" \
                   "SCINT_REMOTE_CACHE_HMAC_KEY_FILE: \"#{File.join(tmp, "hmac.key")}\"\n")
        env = {}
      end
      stats = File.join(tmp, "stats.json")
      r, builds, cache = fresh_install(env.merge("SCINT_STATS" => stats))
      FileUtils.rm_f(File.join(@app.home, ".bundle", "config"))
      remote = JSON.parse(File.read(stats))["remote"]
      assert_equal 1, remote["hits"]
      assert_operator remote["bytes_down"], :>, 0
      assert_empty builds, "a runner after the first builds nothing: #{r.stderr} #{r.stdout}"
      assert_match(/Remote cache: 1 hits, 0 refused, 0 uploaded; [1-9][\d.]* KiB down/, r.stdout)
      assert_match(/0 compiled/, r.stdout)
      assert_match(/^Using the remote cache.s build of rc_ext 1\.0\.0$/, r.stdout)
      assert_loads(cache)
    end
    # No secret anywhere in what scint printed.
    refute_match(/#{KEY}/, r.stdout + r.stderr)
  end

  # --- the attacks: each one starts from a good upload ---------------------

  def seed
    _r, builds, = fresh_install
    assert_equal 1, builds.size
    @good = objects.to_h { |o| [o, File.binread(File.join(@dav.root, o))] }
  end

  def restore
    @good.each { |o, b| File.binwrite(File.join(@dav.root, o), b) }
  end

  def object(ext)
    File.join(@dav.root, @good.keys.find { |o| o.end_with?(ext) })
  end

  def sign(text, key = KEY)
    body = text.sub(/^signature .*\n\z/, "")
    body + "signature hmac-sha256 #{OpenSSL::HMAC.hexdigest("SHA256", key, body)}\n"
  end

  # Refused with a warning matching why, built here, and the cache holds the local build.
  def assert_refused(why, env = remote_env)
    r, builds, cache = fresh_install(env)
    assert_match(why, r.stderr)
    assert_equal 1, builds.size, "built here instead"
    assert_match(/Remote cache: 0 hits/, r.stdout)
    # What reached cached/ is the local build: its manifest matches the good artifact's.
    assert File.file?(File.join(cache, "cached", ABI, "rc_ext-1.0.0.manifest"))
    refute_empty Dir.glob("cached/#{ABI}/rc_ext-1.0.0/ext/**/*.so", base: cache)
    restore
  end

  def tar_entries(bytes)
    raw = bytes.start_with?("\x28\xB5\x2F\xFD".b) ? IO.popen(%w[zstd -dc], "r+b") { |io| io.write(bytes); io.close_write; io.read } : Zlib.gunzip(bytes)
    out = []
    Gem::Package::TarReader.new(StringIO.new(raw)).each { |e| out << [e.full_name, e.read || ""] }
    out
  end

  # Publishes bytes as the artifact of the index, validly signed.
  def publish(index, bytes)
    sha = Digest::SHA256.hexdigest(bytes)
    key = File.read(index)[/^key (\h+)$/, 1]
    File.binwrite(File.join(File.dirname(index), "#{key}-#{sha[0, 16]}.artifact"), bytes)
    text = File.read(index).sub(/^size \d+$/, "size #{bytes.bytesize}").sub(/^sha256 \h+$/, "sha256 #{sha}")
    File.write(index, sign(text))
  end

  def repack(entries)
    io = StringIO.new("".b)
    Gem::Package::TarWriter.new(io) do |t|
      entries.each { |name, data| t.add_file_simple(name, 0o644, data.bytesize) { |f| f.write(data) } }
    end
    Zlib.gzip(io.string)
  end

  def test_hostile_artifacts_are_refused
    require_command!("zstd")
    seed
    artifact = object(".artifact")
    index = object(".index")

    # One byte changed in the artifact.
    b = File.binread(artifact)
    b.setbyte(b.bytesize / 2, b.getbyte(b.bytesize / 2) ^ 1)
    File.binwrite(artifact, b)
    assert_refused(/artifact of rc_ext-1\.0\.0 is refused \(the download's SHA-256 is not the signed one\)/)

    # Signed with another key.
    File.write(index, sign(File.read(index), "another-key-of-someone-else"))
    assert_refused(/refused \(its signature does not verify with the configured key\)/)

    # Unsigned, without the opt-out.
    File.write(index, File.read(index).sub(/^signature .*$/, "signature unsigned"))
    assert_refused(/refused \(the artifact is unsigned/)
    # The opt-out does not downgrade a configured key.
    File.write(index, File.read(index).sub(/^signature .*$/, "signature unsigned"))
    assert_refused(/refused \(the artifact is unsigned, and a key is configured\)/,
                   remote_env("SCINT_REMOTE_CACHE_UNSIGNED" => "1"))

    # Truncated.
    File.binwrite(artifact, File.binread(artifact)[0, File.size(artifact) / 2])
    assert_refused(/refused \(the download's size is not the index's \(truncated\?\)\)/)

    # Validly signed, but its extension needs a glibc newer than this host's.
    entries = tar_entries(File.binread(artifact))
    so_name, so = entries.find { |n, d| n.start_with?("tree/") && d.start_with?("\x7FELF".b) }
    refute_nil so_name, "the artifact carries the built extension"
    patched = so.b.sub(/GLIBC_2\.(\d+)/) { "GLIBC_9.#{$1}" }
    refute_equal so, patched
    manifest = entries[0][1].sub(Digest::SHA256.hexdigest(so), Digest::SHA256.hexdigest(patched))
    entries = entries.map { |n, d| n == so_name ? [n, patched] : n == "scint.manifest" ? [n, manifest] : [n, d] }
    publish(index, repack(entries))
    assert_refused(/refused \((ext|gem)\/\S+\.so: it needs GLIBC_9\.[\d.]+, newer than this host's glibc/)

    # Validly signed, but its extension needs a shared library no directory
    # of this host's loader search holds.
    entries = tar_entries(File.binread(artifact))
    so_name, so = entries.find { |n, d| n.start_with?("tree/") && d.start_with?("\x7FELF".b) }
    patched = so.b.sub("libc.so.6\0".b, "libq.so.6\0".b)
    refute_equal so, patched
    manifest = entries[0][1].sub(Digest::SHA256.hexdigest(so), Digest::SHA256.hexdigest(patched))
    entries = entries.map { |n, d| n == so_name ? [n, patched] : n == "scint.manifest" ? [n, manifest] : [n, d] }
    publish(index, repack(entries))
    assert_refused(/refused \((ext|gem)\/\S+\.so: it needs the shared library libq\.so\.6, which this host does not have\)/)

    # A file the manifest does not list (path escape attempt), validly signed.
    entries = tar_entries(@good.values_at(*@good.keys.grep(/\.artifact\z/)).first)
    publish(index, repack(entries + [["tree/../../escape.rb", "puts 1\n"]]))
    assert_refused(/refused \(its entry 'tree\/\.\.\/\.\.\/escape\.rb' is not a file of its manifest/)
    refute File.exist?(File.join(tmp, "escape.rb"))

    # A file of the manifest twice (with another between), validly signed.
    entries = tar_entries(@good.values_at(*@good.keys.grep(/\.artifact\z/)).first)
    tree = entries.select { |n, _| n.start_with?("tree/") }
    publish(index, repack(entries + [tree.max_by { |n, _| n.size }, tree.min_by { |n, _| n.size }]))
    assert_refused(/refused \(its entry 'tree\/\S+' is not a file of its manifest \(or repeated\)/)

    # The remote is down: one warning, the install goes on.
    down = remote_env("SCINT_REMOTE_CACHE" => "http://127.0.0.1:#{Scint.free_port}/fleet")
    r, builds, = fresh_install(down)
    assert_equal 1, builds.size
    assert_equal 1, r.stderr.scan(/the remote cache http:\/\/127\.0\.0\.1:\d+\/fleet is not used for the rest of this run/).size, r.stderr
  end

  # A runner whose compiler settings differ (CFLAGS=-march=native on one
  # machine) keys apart: it builds its own rather than taking another's.
  def test_compiler_settings_are_part_of_the_key
    seed
    _r, builds, = fresh_install(remote_env("CFLAGS" => "-O1 -g0"))
    assert_equal 1, builds.size, "another CFLAGS misses"
    assert_equal 2, objects.grep(/\.index\z/).size, "and uploads under its own key"
    _r, builds, cache = fresh_install
    assert_empty builds, "the first layout still hits"
    assert_loads(cache)
  end

  # Done-when 2 as a fleet meets it: two machines with the same layout (one
  # cache root path, each its own directory behind it: a private mount
  # namespace per runner binds its own) install at the same moment, so both
  # may build and upload the same key. Both succeed, the entry is uploaded
  # once or harmlessly twice (one index names one artifact that verifies),
  # and a later runner with that layout uses it.
  def test_two_machines_race_for_one_key
    probe = @app.run("unshare", "-m", "--propagation", "private", "true")
    skip "no private mount namespace here (unshare -m needs CAP_SYS_ADMIN): #{probe.stderr.strip}" unless probe.success?

    root = fresh_cache
    FileUtils.mkdir_p(root)
    apps = [@app, @app.copy_to(File.join(tmp, "machine-app"))]
    results = apps.each_with_index.map do |a, i|
      own = File.join(tmp, "machine-#{i}")
      FileUtils.mkdir_p(own)
      Thread.new do
        a.run("unshare", "-m", "--propagation", "private", "sh", "-c", 'mount --bind "$1" "$2" && shift 2 && exec "$@"',
              "sh", own, root, ScintTest.scint_bin, "install", env: remote_env("SCINT_CACHE" => root))
      end
    end.map(&:value)
    results.each { |r| assert_success r }
    refute_match(/warning/i, results.map(&:stderr).join)
    assert_empty Dir.children(root), "each runner wrote behind its own mount"
    uploads = results.sum { |r| r.stdout[/(\d+) uploaded/, 1].to_i }
    assert_includes 1..2, uploads, results.map(&:stdout).join
    assert_equal 1, objects.grep(/\.index\z/).size, "one key: one index"
    assert_includes 1..2, objects.grep(/\.artifact\z/).size
    apps.each { |a| assert_success a.bundle("exec", "ruby", "-e", "require 'rc_ext'; puts RcExt.ext_token") }
    _r, builds, cache = fresh_install(cache: root)
    assert_empty builds, "the winner's entry is used"
    assert_loads(cache)
  end

  # Done-when 2: two fresh runners at the same moment both succeed and each
  # uploads its entry; a later runner with either's layout uses it. (Two
  # caches on one machine cannot share a root, so the two entries have keys
  # of their own: racing uploads of one key are runners on two machines,
  # which the content-named artifacts keep harmless.)
  def test_two_runners_at_once
    apps = [@app, @app.copy_to(File.join(tmp, "app2"))]
    roots = [0, 1].map { |i| File.join(tmp, "together-#{i}") }
    results = apps.each_with_index.map do |a, i|
      Thread.new { a.scint("install", env: remote_env("SCINT_CACHE" => roots[i])) }
    end.map(&:value)
    results.each { |r| assert_success r }
    refute_match(/warning/i, results.map(&:stderr).join)
    uploads = results.sum { |r| r.stdout[/(\d+) uploaded/, 1].to_i }
    assert_equal 2, uploads
    assert_equal 4, objects.size, "an index and an artifact per cache root"
    apps.each { |a| assert_success a.bundle("exec", "ruby", "-e", "require 'rc_ext'; puts RcExt.ext_token") }
    roots.each do |root|
      _r, builds, cache = fresh_install(cache: root)
      assert_empty builds
      assert_loads(cache)
    end
  end

  # The absolute entry directory (the cache root) is part of the key: a
  # build writes it into gem_make.out and into the objects' and extension's
  # debug information (some gems into their data too), so a runner with
  # another root misses and builds its own rather than getting files that
  # name another machine's directory.
  def test_a_runner_with_another_cache_root_misses
    first = File.join(tmp, "layout-a")
    _r, builds, = fresh_install(cache: first)
    assert_equal 1, builds.size
    assert_equal 2, objects.size
    other = File.join(tmp, "layout-b")
    r, builds, cache = fresh_install(cache: other)
    assert_equal 1, builds.size, "another cache root does not hit: #{r.stdout}"
    assert_match(/Remote cache: 0 hits, 0 refused, 1 uploaded/, r.stdout)
    assert_equal 4, objects.size
    entry = File.join(cache, "cached", ABI, "rc_ext-1.0.0")
    files = Dir.glob("**/*", base: entry).select { |f| File.file?(File.join(entry, f)) }
    naming = ->(dir) { files.select { |f| File.binread(File.join(entry, f)).include?(dir) } }
    refute_empty naming.(other), "the build names its own directory"
    assert_empty naming.(first), "nothing names another cache root"
    assert_loads(cache)
    # The first layout again, spelled with a trailing '/' (the key holds the
    # directory as a build sees it): a hit, nothing built.
    r, builds, cache = fresh_install(cache: "#{first}/")
    assert_empty builds
    assert_match(/Remote cache: 1 hits/, r.stdout)
    assert_loads(cache)
  end

  # Ed25519: the builder signs with the private key, runners hold only the
  # public key; another key pair's signature is refused.
  def test_ed25519_key_pair
    pair = OpenSSL::PKey.generate_key("ED25519")
    other = OpenSSL::PKey.generate_key("ED25519")
    files = { "priv.pem" => pair.private_to_pem, "pub.pem" => pair.public_to_pem, "other.pem" => other.public_to_pem }
    files.each { |n, pem| File.write(File.join(tmp, n), pem) }
    base = { "SCINT_REMOTE_CACHE" => "#{@dav.url}/fleet" }
    r, builds, = fresh_install(base.merge("SCINT_REMOTE_CACHE_SIGNING_KEY_FILE" => File.join(tmp, "priv.pem")))
    assert_equal 1, builds.size
    assert_match(/1 uploaded/, r.stdout)
    index = File.join(@dav.root, objects.grep(/\.index\z/).first)
    assert_match(/^signature ed25519 \h{128}$/, File.read(index))
    r, builds, cache = fresh_install(base.merge("SCINT_REMOTE_CACHE_PUBLIC_KEY_FILE" => File.join(tmp, "pub.pem")),
                                     args: %w[--remote-cache read])
    assert_empty builds
    assert_match(/Remote cache: 1 hits/, r.stdout)
    assert_loads(cache)
    r, builds, = fresh_install(base.merge("SCINT_REMOTE_CACHE_PUBLIC_KEY_FILE" => File.join(tmp, "other.pem"),
                                          "SCINT_REMOTE_CACHE_MODE" => "read"))
    assert_equal 1, builds.size
    assert_match(/refused \(its signature does not verify with the configured key\)/, r.stderr)
    assert_match(/0 uploaded/, r.stdout, "read mode uploads nothing")
  end

  # No signing key and no opt-out: the remote is not used at all; credentials
  # never shown. --remote-cache off: not even asked.
  def test_without_a_key_the_remote_is_not_used
    env = { "SCINT_REMOTE_CACHE" => "http://user:s3cret-pass@127.0.0.1:#{@dav.port}/fleet" }
    r, builds, = fresh_install(env)
    assert_equal 1, builds.size
    assert_match(/the remote cache http:\/\/127\.0\.0\.1:\d+\/fleet is not used: no signing key/, r.stderr)
    refute_match(/s3cret/, r.stdout + r.stderr)
    assert_empty objects
    r, _builds, cache = fresh_install(remote_env, args: %w[--remote-cache off])
    refute_match(/Remote cache:/, r.stdout)
    assert_empty objects
    r = @app.scint("cache", "push", env: { "SCINT_CACHE" => cache })
    refute r.success?
    assert_match(/scint cache push needs a remote cache to write to/, r.stderr)
    # `scint cache push` uploads what this cache already built (warm: nothing else runs).
    r = @app.scint("cache", "push", "rc_ext", env: remote_env("SCINT_CACHE" => cache))
    assert_success r
    assert_match(/Remote cache: 0 hits, 0 refused, 1 uploaded/, r.stdout)
    assert_match(/^Uploading rc_ext 1\.0\.0 to the remote cache$/, r.stdout)
    assert_equal 2, objects.size
    _r, builds, = fresh_install
    assert_empty builds
  end

  # --- scint cache pull / scint cache list --remote -------------------------

  # The runners' cache root (part of the key), emptied.
  def fresh_cache
    cache = File.join(tmp, "runner")
    FileUtils.rm_rf(cache)
    cache
  end

  def pull(cache, *args, env: remote_env)
    trace = File.join(tmp, "pull-trace-#{@runs += 1}.jsonl")
    r = @app.scint("cache", "pull", *args, env: { "SCINT_CACHE" => cache, "SCINT_IO_TRACE" => trace }.merge(env))
    builds = read_trace(trace).select { |t| t["op"] == "build" && t["argv"]&.include?("--build") }
    assert_empty builds, "cache pull compiles nothing"
    r
  end

  # A Bundler-moving user's flow: pull into a fresh cache, then an install
  # with the remote off compiles nothing. pull never touches the bundle path.
  def test_pull_fills_a_fresh_cache
    seed
    FileUtils.rm_rf(@app.path(".bundle"))
    cache = fresh_cache
    r = pull(cache)
    assert_success r
    assert_match(/^Pulled rc_ext-1\.0\.0$/, r.stdout)
    assert_match(/^Remote cache: 1 hits, 0 missing, 0 refused, 0 already cached, 1 without extensions cached; [1-9][\d.]* KiB down/, r.stdout)
    refute_match(/warning/i, r.stderr)
    refute File.exist?(@app.path(".bundle")), "cache pull leaves the bundle path alone"
    assert File.file?(File.join(cache, "cached", ABI, "rc_ext-1.0.0.manifest"))
    assert_success @app.scint("cache", "verify", env: { "SCINT_CACHE" => cache })
    trace = File.join(tmp, "after-pull.jsonl")
    r = @app.scint("install", "--remote-cache", "off", env: remote_env("SCINT_CACHE" => cache, "SCINT_IO_TRACE" => trace))
    assert_success r
    assert_empty read_trace(trace).select { |t| t["op"] == "build" }, "nothing is built after a pull"
    assert_match(/0 fetched, 2 from cache, 0 compiled/, r.stdout)
    assert_loads(cache)
    # Again: everything is cached; a named gem only; a name not in the bundle.
    r = pull(cache, "rc_ext")
    assert_success r
    assert_match(/^Remote cache: 0 hits, 0 missing, 0 refused, 1 already cached, 0 without/, r.stdout)
    r = pull(cache, "nosuch")
    refute r.success?
    assert_match(/nosuch is not a gem of/, r.stderr)
    # Real errors: no remote configured, or switched off.
    r = @app.scint("cache", "pull", env: { "SCINT_CACHE" => cache })
    refute r.success?
    assert_match(/scint cache pull needs a remote cache to read from/, r.stderr)
    r = @app.scint("cache", "pull", "--remote-cache", "off", env: remote_env("SCINT_CACHE" => cache))
    refute r.success?
  end

  # A tampered artifact (checked at download), an index signed with another
  # key and an artifact whose extension needs a newer glibc (checked at
  # unpack): refused, reported, not built, and nothing of rc_ext reaches
  # cached/; the exit status stays 0.
  def test_pull_refuses_tampered_artifacts
    require_command!("zstd")
    seed
    artifact = object(".artifact")
    index = object(".index")
    b = File.binread(artifact)
    b.setbyte(b.bytesize / 2, b.getbyte(b.bytesize / 2) ^ 1)
    File.binwrite(artifact, b)
    [[/the download's SHA-256 is not the signed one/, "tampered"],
     [/its signature does not verify with the configured key/, "foreign-key"],
     [/it needs GLIBC_9\.[\d.]+, newer than this host's glibc/, "glibc"]].each do |why, name|
      if name == "foreign-key"
        restore
        File.write(index, sign(File.read(index), "another-key-of-someone-else"))
      end
      if name == "glibc"
        restore
        entries = tar_entries(File.binread(artifact))
        so_name, so = entries.find { |n, d| n.start_with?("tree/") && d.start_with?("\x7FELF".b) }
        patched = so.b.sub(/GLIBC_2\.(\d+)/) { "GLIBC_9.#{$1}" }
        manifest = entries[0][1].sub(Digest::SHA256.hexdigest(so), Digest::SHA256.hexdigest(patched))
        entries = entries.map { |n, d| n == so_name ? [n, patched] : n == "scint.manifest" ? [n, manifest] : [n, d] }
        publish(index, repack(entries))
      end
      cache = fresh_cache
      r = pull(cache)
      assert_success r
      assert_match(/^Refused rc_ext-1\.0\.0 \(.*#{why.source}.*\): not built$/, r.stdout)
      assert_match(/artifact of rc_ext-1\.0\.0 is refused .*not built \(scint cache pull builds nothing\)/, r.stderr)
      assert_match(/^Remote cache: 0 hits, 0 missing, 1 refused, 0 already cached, 1 without/, r.stdout)
      assert_empty Dir.glob("{cached,assembling}/#{ABI}/rc_ext*", base: cache), "nothing of rc_ext is cached"
      assert File.file?(File.join(cache, "cached", ABI, "rc_pure-1.0.0.manifest"))
    end
    # A remote that is down is an error for pull (a miss is not).
    cache = fresh_cache
    r = pull(cache, env: remote_env("SCINT_REMOTE_CACHE" => "http://127.0.0.1:#{Scint.free_port}/fleet"))
    refute r.success?
    assert_match(/is not used for the rest of this run/, r.stderr)
    assert_match(/the remote cache failed: not everything it has was pulled/, r.stderr)
    assert_match(/^Missing rc_ext-1\.0\.0: the remote cache could not be asked; not built$/, r.stdout)
    assert_empty Dir.glob("cached/#{ABI}/rc_ext*", base: cache)
    # Pulled again once it is up: the .gem left in inbound/ gives the key.
    restore
    r = pull(cache)
    assert_success r
    assert_match(/^Pulled rc_ext-1\.0\.0$/, r.stdout)
    assert File.file?(File.join(cache, "cached", ABI, "rc_ext-1.0.0.manifest"))
  end

  # list --remote reads only index objects: miss before a push, hit after,
  # refused with another key; a fresh cache still sees the remote's entry.
  def test_list_remote_before_and_after_a_push
    _r, builds, cache = fresh_install(remote_env, args: %w[--remote-cache read])
    assert_equal 1, builds.size
    list = ->(c, env = remote_env) { @app.scint("cache", "list", "--remote", env: env.merge("SCINT_CACHE" => c)) }
    r = list.(cache)
    assert_success r
    assert_equal "rc_ext-1.0.0\tmiss", r.stdout.lines.first.chomp
    assert_match(/^Remote cache: 0 hits, 1 misses, 0 refused$/, r.stdout)
    refute_match(/rc_pure/, r.stdout, "gems without extensions are not listed")
    assert_success @app.scint("cache", "push", "rc_ext", env: remote_env("SCINT_CACHE" => cache))
    artifact = File.join(@dav.root, objects.grep(/\.artifact\z/).first)
    log = File.join(@dav.instance_variable_get(:@tmp), "logs", "access.log")
    before = File.read(log).lines.size
    r = list.(cache)
    assert_success r
    assert_match(/^rc_ext-1\.0\.0\thit\t#{File.size(artifact)} bytes\thmac-sha256$/, r.stdout)
    assert_match(/^Remote cache: 1 hits, 0 misses, 0 refused$/, r.stdout)
    requests = File.read(log).lines.drop(before)
    refute_empty requests
    assert requests.all? { |l| l.include?(".index HTTP") }, "only index objects are read: #{requests}"
    # It only reads: a damaged entry here is neither repaired nor moved.
    entry = File.join(cache, "cached", ABI, "rc_pure-1.0.0")
    victim = Dir.glob("**/*.rb", base: entry).first
    File.write(File.join(entry, victim), "damaged")
    assert_success list.(cache)
    assert File.directory?(entry), "list --remote moves no entry"
    assert_equal "damaged", File.read(File.join(entry, victim))
    refute Dir.exist?(File.join(cache, "quarantine")) && !Dir.empty?(File.join(cache, "quarantine")), "nothing quarantined"
    r = list.(cache, remote_env("SCINT_REMOTE_CACHE_HMAC_KEY" => "another-key-of-someone-else"))
    assert_success r
    assert_match(/^rc_ext-1\.0\.0\trefused \(its signature does not verify with the configured key\)$/, r.stdout)
    r = list.(cache, remote_env("SCINT_REMOTE_CACHE" => "http://127.0.0.1:#{Scint.free_port}/fleet"))
    refute r.success?, "a remote that is down cannot be listed"
    assert_match(/is not used for the rest of this run/, r.stderr)
    r = list.(fresh_cache)
    assert_success r
    assert_match(/^rc_ext-1\.0\.0\thit\t\d+ bytes\thmac-sha256$/, r.stdout)
    assert_match(/1 more gem not cached here has no entry/, r.stdout)
  end

  # `scint install` with stdout on a pseudo-terminal, from a fresh cache.
  # Returns [everything it wrote, its Process::Status].
  def pty_install(env)
    FileUtils.rm_rf(@app.path(".bundle"))
    @runs += 1
    env = @app.env({ "SCINT_CACHE" => fresh_cache, "NO_COLOR" => "1",
                     "SCINT_PLAIN" => nil, "TERM" => "xterm" }.merge(env))
    master, slave = PTY.open
    slave.winsize = [50, 200]
    pid = Process.spawn(env, ScintTest.scint_bin, "install", chdir: @app.dir, in: File::NULL, out: slave,
                                                                err: slave, pgroup: true)
    slave.close
    out = +""
    deadline = Process.clock_gettime(Process::CLOCK_MONOTONIC) + 300
    loop do
      break unless master.wait_readable([deadline - Process.clock_gettime(Process::CLOCK_MONOTONIC), 0].max)

      out << master.readpartial(65_536)
    rescue EOFError, Errno::EIO # the slave side is closed: scint is done
      break
    end
    ScintTest.kill_group(pid) if Process.clock_gettime(Process::CLOCK_MONOTONIC) >= deadline
    _, status = Process.wait2(pid)
    [out, status]
  ensure
    master&.close
  end

  # Without a terminal: a line per upload and per hit. On a terminal: no
  # such lines, but the live area's remote row with the remote's counts (the
  # first frame has it: the pull jobs wait for the index at the first tick).
  def test_progress_shows_uploads_and_hits
    r, builds, = fresh_install
    assert_equal 1, builds.size
    assert_match(/^Uploading rc_ext 1\.0\.0 to the remote cache$/, r.stdout)
    refute_match(/^Uploading rc_pure/, r.stdout, "only native entries are uploaded")
    refute_match(/^Using the remote cache/, r.stdout)
    r, builds, = fresh_install
    assert_empty builds
    assert_match(/^Using the remote cache.s build of rc_ext 1\.0\.0$/, r.stdout)
    refute_match(/^Uploading/, r.stdout, "an entry pulled from the remote is not uploaded again")
    out, status = pty_install(remote_env)
    assert status.success?, out
    assert_match(%r{\r\e\[2Kremote +\d+/\d+ .*\d+ hits, \d+ uploaded, \d[\d.]* (B|KiB|MiB) down, \d[\d.]* (B|KiB|MiB) up\r?\n}, out)
    refute_match(/Using the remote cache|Uploading/, out, "on a terminal the live area replaces the per-gem lines")
    assert_match(/Remote cache: 1 hits, 0 refused, 0 uploaded; [1-9][\d.]* KiB down/, out)
    out, status = pty_install({ "SCINT_REMOTE_CACHE_MODE" => "off" })
    assert status.success?, out
    assert_match(%r{\r\e\[2Kinstall +\d+/\d+}, out, "the live area is drawn (its first frame: every install job waits)")
    refute_match(/remote +\d+/, out, "no remote row without a remote")
  end
end
