# frozen_string_literal: true

# Issue 12, done-when 4: the remote artifact cache on S3-compatible storage
# (s3rver on 127.0.0.1, path-style and virtual-hosted, requests signed with AWS SigV4 by
# libcurl). s3rver is installed from the npm registry once into
# CORPUS_DIR/s3rver and reused; without npm (or without the network on the
# first run) the test is skipped. s3rver 3 checks the access key id but not
# the signature: it runs behind tests/helpers/s3rver_sigv4.js, which
# refuses (403) a request whose SigV4 signature, scope, session token or
# x-amz-content-sha256 is not right.

require_relative "install_support"

class TestRemoteCacheS3 < ScintTest::Case
  include InstallSupport

  KEY = "fleet-shared-secret-0123456789"
  BUCKET = "scint-fleet"
  REGION = "eu-west-3"
  KEY_ID = "S3RVER"
  SECRET = "s3-secret-9e1c7a"
  TOKEN = "session-token-4b1d"
  WRONG_SECRET = "not-the-secret-f00dfeed"

  # s3rver and its SigV4 front in a node process of their own, with a temp data directory.
  class S3Server
    attr_reader :port, :dir

    def initialize(module_dir, dir)
      @module_dir = module_dir
      @dir = dir
      FileUtils.mkdir_p(dir)
    end

    def endpoint
      "http://127.0.0.1:#{@port}"
    end

    def start
      @out = File.join(@dir, "..", "s3rver.log")
      front = File.expand_path("../helpers/s3rver_sigv4.js", __dir__)
      @pid = Process.spawn("node", front, @module_dir, @dir, BUCKET, REGION, KEY_ID, SECRET, TOKEN,
                           in: File::NULL, out: @out, err: @out)
      deadline = Process.clock_gettime(Process::CLOCK_MONOTONIC) + 20
      while Process.clock_gettime(Process::CLOCK_MONOTONIC) < deadline
        raise "s3rver exited: #{File.read(@out)}" if Process.wait(@pid, Process::WNOHANG)

        if (m = File.read(@out).match(/listening on 127\.0\.0\.1:(\d+)/))
          @port = m[1].to_i
          return self
        end
        sleep 0.05
      end
      raise "s3rver did not start: #{File.read(@out)}"
    end

    def stop
      return unless @pid

      Process.kill("TERM", @pid) rescue nil
      Process.wait(@pid) rescue nil
      @pid = nil
    end
  end

  # s3rver 3 from the npm registry, installed once under CORPUS_DIR.
  def s3rver_module
    dir = File.join(ScintTest::CORPUS_DIR, "s3rver")
    mod = File.join(dir, "node_modules", "s3rver")
    bin = File.join(mod, "bin", "s3rver.js")
    return mod if File.file?(bin)

    skip "node and npm are needed for the S3 remote test (s3rver)" unless command?("node") && command?("npm")
    # Into a directory of its own, renamed into place: runs sharing CORPUS_DIR never see half an install.
    FileUtils.mkdir_p(ScintTest::CORPUS_DIR)
    part = Dir.mktmpdir("s3rver-", ScintTest::CORPUS_DIR)
    ok = system("npm", "install", "--prefix", part, "--no-audit", "--no-fund", "--silent", "--fetch-retries=1",
                "--fetch-timeout=20000", "s3rver@3",
                in: File::NULL, out: File::NULL, err: File::NULL)
    begin
      File.rename(part, dir) if ok
    rescue SystemCallError
      nil # another run put it there first
    ensure
      FileUtils.rm_rf(part)
    end
    skip "cannot install s3rver with npm (no network?)" unless ok && File.file?(bin)
    mod
  end

  def command?(name)
    ENV["PATH"].split(File::PATH_SEPARATOR).any? { |d| File.executable?(File.join(d, name)) }
  end

  def setup
    super
    require_toolchain!
    mod = s3rver_module
    c = Scint::Gemgen::Corpus.new(File.join(tmp, "corpus"), so_cache: File.join(ScintTest::CORPUS_DIR, "so-cache"))
    # Its build fails if the AWS credentials or the remote's settings reach it.
    # Nor may it read them from an ancestor's /proc/<pid>/environ, up to
    # scint itself (unsetenv leaves the bytes where the kernel put them).
    extconf = <<~'RUBY'
      # frozen_string_literal: true

      require "mkmf"
      secret = /\A(SCINT_REMOTE_CACHE|AWS_(ACCESS_KEY_ID|SECRET_ACCESS_KEY|SESSION_TOKEN))/
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
    c.build!
    @source = serve(c.dir)
    @s3 = S3Server.new(mod, File.join(tmp, "s3data")).start
    @servers << @s3
    @app = app("app", gems: { "rc_ext" => [] }, source: @source.url)
    @app.bundle_lock!
    @runs = 0
  end

  def s3_env(extra = {})
    { "SCINT_REMOTE_CACHE" => "s3://#{BUCKET}/ci/fleet",
      "SCINT_REMOTE_CACHE_S3_ENDPOINT" => @s3.endpoint,
      "SCINT_REMOTE_CACHE_S3_REGION" => REGION,
      "SCINT_REMOTE_CACHE_HMAC_KEY" => KEY,
      "AWS_ACCESS_KEY_ID" => KEY_ID,
      "AWS_SECRET_ACCESS_KEY" => SECRET,
      "AWS_SESSION_TOKEN" => TOKEN }.merge(extra)
  end

  # A fresh runner: an empty cache at the fleet's cache root (part of the
  # key), no .bundle. Returns [result, builds, cache, trace].
  def fresh_install(env)
    @runs += 1
    cache = File.join(tmp, "runner")
    trace = File.join(tmp, "trace-#{@runs}.jsonl")
    FileUtils.rm_rf(cache)
    FileUtils.rm_rf(@app.path(".bundle"))
    r = @app.scint("install", env: { "SCINT_CACHE" => cache, "SCINT_IO_TRACE" => trace }.merge(env))
    assert_success r
    builds = read_trace(trace).select { |t| t["op"] == "build" && t["argv"]&.include?("--build") }
    [r, builds, cache, File.read(trace)]
  end

  # The objects s3rver stores under the prefix, by key (its file store
  # keeps each object as <key>._S3rver_object beside its metadata).
  def object_keys
    Dir.glob("#{BUCKET}/ci/fleet/scint-1/*._S3rver_object", base: @s3.dir)
       .map { |p| File.basename(p, "._S3rver_object") }.sort
  end

  def object_mtime(key)
    File.mtime(File.join(@s3.dir, BUCKET, "ci/fleet/scint-1", "#{key}._S3rver_object"))
  end

  def assert_loads(cache)
    assert_success @app.bundle("check")
    r = @app.bundle("exec", "ruby", "-e", "require 'rc_ext'; puts RcExt.ext_token")
    assert_success r
    assert_equal "rc_ext-1.0.0:extconf", r.stdout.strip
    assert File.file?(File.join(cache, "cached", ABI, "rc_ext-1.0.0.manifest"))
  end

  def test_s3_remote_path_style_and_wrong_credentials
    # Runner 1 compiles and uploads the artifact, then its index.
    r, builds, cache, trace = fresh_install(s3_env)
    assert_equal 1, builds.size, "the first runner compiles"
    refute_match(/warning/i, r.stderr)
    assert_match(/Remote cache: 0 hits, 0 refused, 1 uploaded/, r.stdout)
    keys = object_keys
    assert_equal 2, keys.size, "an artifact and its index under the bucket's prefix: #{keys}"
    artifact = keys.find { |k| k.end_with?(".artifact") }
    index = keys.find { |k| k.end_with?(".index") }
    assert artifact && index
    assert_operator object_mtime(index), :>=, object_mtime(artifact), "the index is written last"
    assert_loads(cache)
    assert_match(%r{#{@s3.endpoint}/#{BUCKET}/ci/fleet/scint-1/\h{64}\.index}, trace, "path-style")
    secrets = [SECRET, TOKEN, KEY]
    secrets.each { |s| refute_includes r.stdout + r.stderr + trace, s }

    # Runner 2, a fresh cache: compiles nothing and loads the extension.
    # (SCINT_HTTP_VERBOSE logs curl's headers, but not those of signed requests.)
    r, builds, cache, trace = fresh_install(s3_env("SCINT_HTTP_VERBOSE" => "1"))
    assert_empty builds, "the second runner builds nothing: #{r.stderr} #{r.stdout}"
    secrets.each { |s| refute_includes r.stdout + r.stderr + trace, s }
    refute_match(/AWS4-HMAC-SHA256|x-amz-security-token/i, r.stderr)
    assert_match(/Remote cache: 1 hits, 0 refused, 0 uploaded/, r.stdout)
    refute_match(/warning/i, r.stderr)
    assert_loads(cache)
    # `scint cache list --remote` through the same signed requests: a hit.
    r = @app.scint("cache", "list", "--remote", env: s3_env("SCINT_CACHE" => cache))
    assert_success r
    assert_match(/^rc_ext-1\.0\.0\thit\t\d+ bytes\thmac-sha256$/, r.stdout)
    secrets.each { |s| refute_includes r.stdout + r.stderr, s }

    # Virtual-hosted addressing (<bucket>.s3.localhost, which libcurl
    # resolves to the loopback): the same objects, a hit.
    r, builds, cache, trace = fresh_install(s3_env("SCINT_REMOTE_CACHE_S3_ENDPOINT" => "http://s3.localhost:#{@s3.port}",
                                                   "SCINT_REMOTE_CACHE_S3_PATH_STYLE" => "0"))
    assert_empty builds, "virtual-hosted: #{r.stderr} #{r.stdout}"
    assert_match(%r{http://#{BUCKET}\.s3\.localhost:#{@s3.port}/ci/fleet/scint-1/\h{64}\.index}, trace)
    assert_match(/Remote cache: 1 hits, 0 refused, 0 uploaded/, r.stdout)
    assert_loads(cache)

    # A wrong secret (the front answers 403 SignatureDoesNotMatch): one
    # clear warning naming the remote, no secret, built here, the install
    # succeeds.
    r, builds, cache, trace = fresh_install(s3_env("AWS_SECRET_ACCESS_KEY" => WRONG_SECRET))
    assert_equal 1, builds.size, "built here"
    warnings = r.stderr.lines.grep(/remote cache/i)
    assert_equal 1, warnings.size, r.stderr
    assert_match(%r{s3://#{BUCKET}/ci/fleet\b.*HTTP 403}, warnings.first)
    assert_match(/credentials/, warnings.first)
    (secrets + [WRONG_SECRET]).each { |s| refute_includes r.stdout + r.stderr + trace, s }
    assert_loads(cache)

    # Settings that would build a wrong URL or header are refused up front.
    { "s3://Bad_Bucket/x" => /not a valid bucket name/,
      "s3://#{BUCKET}/ci/../other" => /the prefix must be segments/,
      "s3://#{BUCKET}/ci%2fx" => /the prefix must be segments/ }.each do |url, why|
      r = @app.scint("install", env: s3_env("SCINT_REMOTE_CACHE" => url, "SCINT_CACHE" => File.join(tmp, "bad")))
      refute r.success?, url
      assert_match(why, r.stderr)
    end
    r = @app.scint("install", env: s3_env("AWS_SESSION_TOKEN" => "tok\r\nX-Evil: 1", "SCINT_CACHE" => File.join(tmp, "bad")))
    refute r.success?
    assert_match(/AWS_SESSION_TOKEN holds a character that cannot be sent/, r.stderr)
    refute_match(/tok|Evil/, r.stderr)
  end
end
