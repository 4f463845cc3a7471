# frozen_string_literal: true

# HTTP servers for scint's tests and benchmarks, on 127.0.0.1 only.
#
# Scint::Server runs a real nginx as a child process serving a corpus dir
# (see Scint::Gemgen). Everything nginx writes (config, pid, logs, temp dirs)
# lives in a private temp dir that #stop removes.
#
#   server = Scint::Server.new(corpus_dir).start
#   server.url            # => "http://127.0.0.1:PORT"
#   server.requests       # => [#<Request method="GET" uri="/versions" status=200 ...>, ...]
#   server.reset_log
#   server.stop
#
# ETags: nginx's own ETag ("<mtime hex>-<size hex>") is kept for the .gem
# files, but the compact index files (/versions, /info/*, /names) get the
# ETag rubygems.org sends, the quoted MD5 of the whole file, with
# If-None-Match answered 304 on a match. Bundler 2.3 requires this: its
# compact index updater compares the ETag with the MD5 of what it stored and,
# on a mismatch, gives up on the compact index altogether (falling back to
# /api/v1/dependencies and /specs.4.8.gz). The MD5s are taken when the server
# starts; call #refresh after changing index files while it runs.
#
# Scint::DavServer is the same nginx serving a dir read-write with WebDAV
# PUT: a remote artifact cache (SCINT_REMOTE_CACHE) for scint-bench.
#
# Scint::FaultServer is a small HTTP/1.1 server in a Ruby thread that serves a
# dir the same way but can be told, per path, to fail: a status, failing the
# first N requests, a truncated body, a reset connection, a delay.

require "digest"
require "fileutils"
require "json"
require "net/http"
require "socket"
require "timeout"
require "tmpdir"

module Scint
  # One logged request (both servers log the same fields).
  Request = Struct.new(:method, :uri, :status, :bytes_sent, :body_bytes, :range, :if_none_match,
                       :user_agent, :connection, :connection_requests, :gemfile_source, keyword_init: true) do
    def path
      uri.split("?", 2).first
    end

    def gem_download?
      method == "GET" && path.match?(%r{\A/gems/[^/]+\.gem\z})
    end
  end

  # Finds the nginx binary: $SCINT_NGINX when set (nil if that is not an
  # executable, e.g. SCINT_NGINX=none to test the skips), else PATH, then
  # the sbin dirs (Debian installs it in /usr/sbin, not on every PATH).
  def self.nginx_path
    if (forced = ENV["SCINT_NGINX"])
      return File.file?(forced) && File.executable?(forced) ? forced : nil
    end

    dirs = ENV.fetch("PATH", "").split(File::PATH_SEPARATOR) + %w[/usr/sbin /usr/local/sbin /sbin]
    dirs.map { |d| File.join(d, "nginx") }.find { |p| File.file?(p) && File.executable?(p) }
  end

  # A free TCP port on 127.0.0.1 (free now; nginx binds it a moment later,
  # and Server#start retries on the rare collision).
  def self.free_port
    s = TCPServer.new("127.0.0.1", 0)
    s.addr[1]
  ensure
    s&.close
  end

  # Paths served as the compact index (they get MD5 ETags).
  def self.compact_index_files(root)
    %w[versions names].select { |f| File.file?(File.join(root, f)) }.map { |f| "/#{f}" } +
      Dir.glob("info/*", base: root).sort.map { |f| "/#{f}" }
  end

  class Server
    class Error < StandardError; end

    SYNC_PATH = "/__scint_log_sync"

    attr_reader :root, :port, :pid, :tmpdir

    def self.available?
      !Scint.nginx_path.nil?
    end

    # Servers started by this process and not stopped yet: stopped at exit,
    # so a script that dies halfway does not leave an nginx behind. (Under
    # minitest, whose tests run inside an at_exit hook, scint_test.rb stops
    # them from Minitest.after_run instead.)
    RUNNING = []
    at_exit { RUNNING.dup.each(&:stop) }

    def initialize(root)
      @root = File.expand_path(root)
      raise Error, "no such dir: #{@root}" unless File.directory?(@root)

      @sync_seq = 0
    end

    def url
      "http://127.0.0.1:#{port}"
    end

    # Starts nginx on a free port; retries with another port if nginx could
    # not bind. Returns self.
    def start
      @tmpdir = Dir.mktmpdir("scint-nginx-")
      %w[logs tmp].each { |d| FileUtils.mkdir_p(File.join(@tmpdir, d)) }
      RUNNING << self
      3.times do
        @port = Scint.free_port
        return self if launch
      end
      raise Error, "nginx did not start:\n#{error_log_text}"
    rescue StandardError
      stop # kill nginx if it runs, remove the temp dir
      raise
    end

    # Recomputes the compact index ETags after index files changed, by
    # restarting nginx on the same port (the access log is kept). A SIGHUP
    # reload is not an option: with master_process off, nginx 1.22
    # misbehaves after reconfiguring in place (seen here: garbage answers
    # and "256 worker_connections are not enough" for a single client).
    def refresh
      stop_process
      launch or raise Error, "nginx did not restart on port #{@port}:\n#{error_log_text}"
      self
    end

    # Parsed access log, in request order. The log line is written after the
    # response, so first make a marker request and wait until it is logged:
    # nginx runs one process and one loop, so every earlier request that has
    # completed is logged by then.
    def requests
      sync_log
      read_log.reject { |r| r.path == SYNC_PATH }
    end

    # Requests for .gem files.
    def gem_requests
      requests.select(&:gem_download?)
    end

    def reset_log
      sync_log
      File.truncate(access_log, 0)
      self
    end

    def stop
      stop_process
      FileUtils.rm_rf(@tmpdir) if @tmpdir
      @tmpdir = nil
      RUNNING.delete(self)
      self
    end

    def running?
      !@pid.nil?
    end

    def access_log
      File.join(@tmpdir, "logs/access.log")
    end

    def error_log
      File.join(@tmpdir, "logs/error.log")
    end

    private

    def error_log_text
      File.file?(error_log) ? File.read(error_log) : ""
    end

    def conf_path
      File.join(@tmpdir, "nginx.conf")
    end

    # nginx map entries for the compact index files: uri -> ETag,
    # uri -> Repr-Digest, and "uri|If-None-Match" -> 1 when it matches.
    def index_maps
      maps = [[], [], []]
      Scint.compact_index_files(@root).each do |uri|
        body = File.binread(File.join(@root, uri))
        etag = %("#{Digest::MD5.hexdigest(body)}")
        maps[0] << "    '#{uri}' '#{etag}';"
        maps[1] << "    '#{uri}' 'sha-256=:#{[Digest::SHA256.digest(body)].pack("m0")}:';"
        maps[2] << "    '#{uri}|#{etag}' 1;"
      end
      maps.map { |m| m.join("\n") }
    end

    def write_config
      etags, digests, not_modified = index_maps
      t = @tmpdir
      File.write(conf_path, <<~NGINX)
        # Generated by Scint::Server; everything lives in #{t}.
        daemon off;
        master_process off;
        worker_processes 1;
        pid "#{t}/nginx.pid";
        error_log "#{t}/logs/error.log" notice;
        events { worker_connections 256; }
        http {
          types { application/octet-stream gem; }
          default_type text/plain;
          sendfile on;
          keepalive_timeout 30s;
          keepalive_requests 10000;
          etag on;
          server_tokens off;
          client_body_temp_path "#{t}/tmp/client_body";
          proxy_temp_path "#{t}/tmp/proxy";
          fastcgi_temp_path "#{t}/tmp/fastcgi";
          uwsgi_temp_path "#{t}/tmp/uwsgi";
          scgi_temp_path "#{t}/tmp/scgi";
          # One JSON object per request; values are strings ("-" when absent).
          log_format scint escape=json '{"method":"$request_method","uri":"$request_uri",'
                                       '"status":"$status","bytes_sent":"$bytes_sent",'
                                       '"body_bytes":"$body_bytes_sent","range":"$http_range",'
                                       '"if_none_match":"$http_if_none_match",'
                                       '"user_agent":"$http_user_agent",'
                                       '"gemfile_source":"$http_x_gemfile_source",'
                                       '"connection":"$connection","connection_requests":"$connection_requests"}';
          # Keys are long ("/info/<name>|\"<md5>\""); corpora have thousands of them.
          map_hash_bucket_size 256;
          map_hash_max_size 65536;
          map $uri $scint_index_etag {
            default "";
        #{etags}
          }
          map $uri $scint_index_digest {
            default "";
        #{digests}
          }
          map "$uri|$http_if_none_match" $scint_index_not_modified {
            default 0;
        #{not_modified}
          }
          server {
            listen 127.0.0.1:#{@port};
            server_name localhost;
            root "#{@root}";
            access_log "#{t}/logs/access.log" scint;
            location = #{SYNC_PATH} { return 204; }
            # Generator state (Scint::Gemgen keeps it in .gemgen/) is not served.
            location ~ /\\. { return 404; }
            location ~ ^/(versions|names|info/[^/]+)$ {
              etag off;
              if ($scint_index_not_modified) { return 304; }
              add_header ETag $scint_index_etag;
              add_header Repr-Digest $scint_index_digest;
            }
          }
        }
      NGINX
    end

    # Writes the config and runs nginx; true once it serves, false if it
    # exited (e.g. the port was taken in the meantime).
    def launch
      nginx = Scint.nginx_path or raise Error, "nginx not found (install the nginx package)"
      write_config
      # -e: nginx opens its compiled-in error log before it reads the config;
      # point it into the temp dir too.
      @pid = Process.spawn(nginx, "-p", @tmpdir, "-c", conf_path, "-e", error_log,
                           in: File::NULL, out: File.join(@tmpdir, "logs/stdout.log"), err: %i[child out])
      wait_ready
    end

    # True once nginx accepts connections, false if it exited.
    def wait_ready
      wait_until(10) do
        if Process.wait(@pid, Process::WNOHANG)
          @pid = nil
          return false
        end
        begin
          TCPSocket.new("127.0.0.1", @port).close
          true
        rescue SystemCallError
          false
        end
      end
    end

    def wait_until(seconds)
      deadline = Process.clock_gettime(Process::CLOCK_MONOTONIC) + seconds
      until yield
        raise Error, "timed out waiting for nginx:\n#{error_log_text}" if Process.clock_gettime(Process::CLOCK_MONOTONIC) > deadline

        sleep 0.01
      end
      true
    end

    def stop_process
      return unless @pid

      begin
        Process.kill("TERM", @pid)
        Timeout.timeout(5) { Process.wait(@pid) }
      rescue Timeout::Error
        Process.kill("KILL", @pid)
        Process.wait(@pid)
      rescue Errno::ESRCH, Errno::ECHILD
        nil
      end
      @pid = nil
    end

    def sync_log
      raise Error, "server not running" unless running?

      @sync_seq += 1
      marker = "#{SYNC_PATH}?#{@sync_seq}"
      Net::HTTP.get_response(URI("#{url}#{marker}"))
      wait_until(5) { File.file?(access_log) && File.read(access_log).include?(marker) }
    end

    def read_log
      return [] unless File.file?(access_log)

      File.readlines(access_log, chomp: true).reject(&:empty?).map do |line|
        h = JSON.parse(line).transform_values { |v| v == "" ? nil : v }
        Request.new(method: h["method"], uri: h["uri"], status: h["status"].to_i,
                    bytes_sent: h["bytes_sent"].to_i, body_bytes: h["body_bytes"].to_i,
                    range: h["range"], if_none_match: h["if_none_match"], user_agent: h["user_agent"],
                    gemfile_source: h["gemfile_source"],
                    connection: h["connection"].to_i, connection_requests: h["connection_requests"].to_i)
      end
    end
  end

  # nginx with its WebDAV module serving root read-write (GET, HEAD, PUT that
  # creates the path): a remote artifact cache for scint
  # (SCINT_REMOTE_CACHE=server.url). Same life cycle and access log as
  # Server; no compact index maps.
  #
  #   dav = Scint::DavServer.new(dir).start
  #   dav.requests.select { |r| r.method == "GET" }.sum(&:body_bytes)
  class DavServer < Server
    private

    def write_config
      t = @tmpdir
      File.write(conf_path, <<~NGINX)
        # Generated by Scint::DavServer; everything lives in #{t}.
        daemon off;
        master_process off;
        worker_processes 1;
        pid "#{t}/nginx.pid";
        error_log "#{t}/logs/error.log" notice;
        events { worker_connections 256; }
        http {
          default_type application/octet-stream;
          sendfile on;
          keepalive_timeout 30s;
          keepalive_requests 10000;
          server_tokens off;
          client_max_body_size 0;
          client_body_temp_path "#{t}/tmp/client_body";
          proxy_temp_path "#{t}/tmp/proxy";
          fastcgi_temp_path "#{t}/tmp/fastcgi";
          uwsgi_temp_path "#{t}/tmp/uwsgi";
          scgi_temp_path "#{t}/tmp/scgi";
          log_format scint escape=json '{"method":"$request_method","uri":"$request_uri",'
                                       '"status":"$status","bytes_sent":"$bytes_sent",'
                                       '"body_bytes":"$body_bytes_sent","range":"$http_range",'
                                       '"if_none_match":"$http_if_none_match",'
                                       '"user_agent":"$http_user_agent",'
                                       '"connection":"$connection","connection_requests":"$connection_requests"}';
          server {
            listen 127.0.0.1:#{@port};
            server_name localhost;
            root "#{@root}";
            access_log "#{t}/logs/access.log" scint;
            location = #{SYNC_PATH} { return 204; }
            location / {
              dav_methods PUT;
              create_full_put_path on;
              dav_access user:rw group:r all:r;
            }
          }
        }
      NGINX
    end
  end

  # A small HTTP/1.1 file server with programmable faults, for testing how a
  # client copes with a misbehaving index or gem host.
  #
  #   fs = Scint::FaultServer.new(corpus_dir).start
  #   fs.fault("/info/foo", status: 503)              # always 503
  #   fs.fault("/versions", status: 500, times: 2)     # 500 twice, then serve
  #   fs.fault(%r{\A/gems/}, truncate: true)           # Content-Length > body, then close
  #   fs.fault("/gems/a-1.0.0.gem", reset: true)       # RST instead of a response
  #   fs.fault("/names", delay: 2.0)                   # answer after 2 s
  #   fs.fault("/gems/a-1.0.0.gem", drip: 1.0)         # the body one byte a second
  #   fs.fault("/gems/a-1.0.0.gem", length: 5 << 30)   # announce 5 GiB, send the file, close
  #   fs.fault("/gems/a-1.0.0.gem", endless: 64 << 20) # no Content-Length, 64 MiB of bytes
  #   fs.requests; fs.reset_log; fs.clear_faults; fs.stop
  #
  # Files are served with Content-Length, keep-alive, single-range `bytes=N-`
  # / `bytes=N-M` requests (206/416) and the MD5 ETag with If-None-Match
  # (304), as the compact index expects. A path is matched by string equality
  # or by a Regexp; the first matching fault applies.
  class FaultServer
    Fault = Struct.new(:matcher, :status, :times, :truncate, :reset, :delay, :drip, :length, :endless, :bad_range,
                       :bad_digest, :hits, keyword_init: true)

    # A dripped body stops after this long whatever its size (the test's client is gone by then).
    DRIP_MAX_SECONDS = 120

    attr_reader :root, :port
    # "user:password": every request must carry these Basic credentials (else 401).
    attr_accessor :basic_auth
    # true: every file is served with a Repr-Digest header (sha-256 of the whole file).
    attr_accessor :repr_digest
    # An OpenSSL::SSL::SSLContext: serve HTTPS (set before #start; see .self_signed_tls).
    attr_accessor :ssl_context

    # A self-signed certificate for 127.0.0.1: [SSLContext, PEM of the certificate].
    def self.self_signed_tls
      require "openssl"
      key = OpenSSL::PKey::RSA.new(2048)
      cert = OpenSSL::X509::Certificate.new
      cert.version = 2
      cert.serial = rand(1 << 62)
      cert.subject = cert.issuer = OpenSSL::X509::Name.parse("/CN=127.0.0.1")
      cert.public_key = key.public_key
      cert.not_before = Time.now - 60
      cert.not_after = Time.now + 3600
      ef = OpenSSL::X509::ExtensionFactory.new(cert, cert)
      cert.add_extension(ef.create_extension("basicConstraints", "CA:TRUE", true))
      cert.add_extension(ef.create_extension("subjectAltName", "IP:127.0.0.1"))
      cert.add_extension(ef.create_extension("subjectKeyIdentifier", "hash"))
      cert.sign(key, OpenSSL::Digest.new("SHA256"))
      ctx = OpenSSL::SSL::SSLContext.new
      ctx.cert = cert
      ctx.key = key
      [ctx, cert.to_pem]
    end

    def initialize(root)
      @root = File.expand_path(root)
      @basic_auth = nil
      @faults = []
      @log = []
      @lock = Mutex.new
      @clients = []
    end

    def url
      "#{@ssl_context ? "https" : "http"}://127.0.0.1:#{port}"
    end

    def start
      @server = TCPServer.new("127.0.0.1", 0)
      @port = @server.addr[1]
      @thread = Thread.new { accept_loop }
      @thread.report_on_exception = false
      self
    end

    # Registers a fault for path (String or Regexp). Options:
    #   status:   answer with this status (e.g. 404, 500, 503) and a short body
    #   times:    apply only to the first N matching requests, then serve normally
    #   truncate: send a Content-Length larger than the body, half the body, close
    #   reset:    close the connection with a TCP reset, no response
    #   delay:    sleep this many seconds before answering (combines with the others)
    #   drip:     send the headers, then the body one byte every `drip` seconds
    #             (at most DRIP_MAX_SECONDS), then close
    #   length:   announce this Content-Length, send the file, close
    #   endless:  no Content-Length (the body ends at close): this many bytes
    #             of filler, or fewer if the client goes away first
    #   bad_range:  a ranged request gets its 206 body with the first byte changed
    #             (as if the file had changed before the range); others are served
    #   bad_digest: the Repr-Digest sent is the sha-256 of something else
    def fault(path, status: nil, times: nil, truncate: false, reset: false, delay: nil, drip: nil, length: nil,
              endless: nil, bad_range: false, bad_digest: false)
      @lock.synchronize do
        @faults << Fault.new(matcher: path, status: status, times: times, truncate: truncate, reset: reset,
                             delay: delay, drip: drip, length: length, endless: endless, bad_range: bad_range,
                             bad_digest: bad_digest, hits: 0)
      end
      self
    end

    def clear_faults
      @lock.synchronize { @faults.clear }
      self
    end

    def requests
      @lock.synchronize { @log.dup }
    end

    def gem_requests
      requests.select(&:gem_download?)
    end

    def reset_log
      @lock.synchronize { @log.clear }
      self
    end

    def stop
      @server&.close
      @thread&.kill
      @thread&.join(1)
      @lock.synchronize { @clients.dup }.each do |t|
        t.kill
        t.join(1)
      end
      @server = nil
      self
    end

    private

    def accept_loop
      loop do
        sock = @server.accept
        t = Thread.new { serve_connection(sock) }
        t.report_on_exception = false
        @lock.synchronize { @clients << t }
      end
    rescue IOError, Errno::EBADF
      nil # closed by #stop
    end

    def serve_connection(sock)
      conn_requests = 0
      if @ssl_context
        sock = OpenSSL::SSL::SSLSocket.new(sock, @ssl_context)
        sock.sync_close = true
        sock.accept
      end
      loop do
        req = read_request(sock) or break
        conn_requests += 1
        keep = handle(sock, req, conn_requests)
        break unless keep
      end
    rescue IOError, SystemCallError
      nil
    rescue StandardError => e
      raise unless defined?(OpenSSL::SSL::SSLError) && e.is_a?(OpenSSL::SSL::SSLError)
    ensure
      sock.close unless sock.closed?
    end

    # -> {method:, uri:, headers: {lowercased => value}} or nil at EOF
    def read_request(sock)
      line = sock.gets("\r\n") or return nil
      method, uri, _version = line.split(" ", 3)
      headers = {}
      while (h = sock.gets("\r\n")) && h != "\r\n"
        k, v = h.split(":", 2)
        headers[k.strip.downcase] = v.to_s.strip
      end
      if (len = headers["content-length"].to_i).positive?
        sock.read(len)
      end
      { method: method, uri: uri, headers: headers }
    end

    def take_fault(path)
      @lock.synchronize do
        f = @faults.find { |x| x.matcher.is_a?(Regexp) ? x.matcher.match?(path) : x.matcher == path }
        return nil unless f
        return nil if f.times && f.hits >= f.times

        f.hits += 1
        f
      end
    end

    # Answers one request; returns whether to keep the connection open.
    def handle(sock, req, conn_requests)
      path = req[:uri].split("?", 2).first
      fault = take_fault(path)
      sleep fault.delay if fault&.delay
      entry = { method: req[:method], uri: req[:uri], range: req[:headers]["range"],
                if_none_match: req[:headers]["if-none-match"], user_agent: req[:headers]["user-agent"],
                gemfile_source: req[:headers]["x-gemfile-source"],
                connection: sock.object_id, connection_requests: conn_requests }

      if fault&.reset
        log(entry, status: 0, bytes: 0)
        sock.setsockopt(Socket::SOL_SOCKET, Socket::SO_LINGER, [1, 0].pack("ii")) # close -> RST
        sock.close
        return false
      end
      if @basic_auth && req[:headers]["authorization"] != "Basic #{[@basic_auth].pack("m0")}"
        return respond(sock, req, entry, 401, { "Content-Type" => "text/plain",
                                                "WWW-Authenticate" => 'Basic realm="gems"' }, "authorization required\n")
      end
      if fault&.status
        body = "#{fault.status} scint fault\n"
        return respond(sock, req, entry, fault.status, { "Content-Type" => "text/plain" }, body)
      end

      file = resolve(path)
      unless file && %w[GET HEAD].include?(req[:method])
        return respond(sock, req, entry, file ? 405 : 404, { "Content-Type" => "text/plain" }, "not found\n")
      end

      body = File.binread(file)
      headers = { "Content-Type" => path.end_with?(".gem") ? "application/octet-stream" : "text/plain",
                  "ETag" => %("#{Digest::MD5.hexdigest(body)}"), "Accept-Ranges" => "bytes" }
      if @repr_digest || fault&.bad_digest
        digest = Digest::SHA256.digest(fault&.bad_digest ? "#{body}tampered" : body)
        headers["Repr-Digest"] = "sha-256=:#{[digest].pack("m0")}:"
      end
      return stream_fault(sock, req, entry, fault, headers, body) if fault && (fault.drip || fault.length || fault.endless)

      if fault&.truncate
        half = body.byteslice(0, body.bytesize / 2)
        head = "HTTP/1.1 200 OK\r\n#{headers.map { |k, v| "#{k}: #{v}\r\n" }.join}" \
               "Content-Length: #{body.bytesize}\r\nConnection: close\r\n\r\n"
        sock.write(head)
        sock.write(half) if req[:method] == "GET"
        log(entry, status: 200, bytes: head.bytesize + half.bytesize)
        sock.close
        return false
      end
      return respond(sock, req, entry, 304, headers, "") if req[:headers]["if-none-match"] == headers["ETag"]

      if (range = req[:headers]["range"]) && (m = range.match(/\Abytes=(\d+)-(\d*)\z/))
        first = m[1].to_i
        last = m[2].empty? ? body.bytesize - 1 : [m[2].to_i, body.bytesize - 1].min
        if first >= body.bytesize || last < first
          return respond(sock, req, entry, 416, headers.merge("Content-Range" => "bytes */#{body.bytesize}"), "")
        end

        headers["Content-Range"] = "bytes #{first}-#{last}/#{body.bytesize}"
        part = body.byteslice(first..last)
        part = (part.getbyte(0) ^ 0x20).chr + part.byteslice(1..) if fault&.bad_range
        return respond(sock, req, entry, 206, headers, part)
      end
      respond(sock, req, entry, 200, headers, body)
    end

    # drip / length / endless: a 200 whose body misbehaves; always closes.
    def stream_fault(sock, req, entry, fault, headers, body)
      head = +"HTTP/1.1 200 OK\r\n#{headers.map { |k, v| "#{k}: #{v}\r\n" }.join}"
      head << "Content-Length: #{fault.length || body.bytesize}\r\n" unless fault.endless
      head << "Connection: close\r\n\r\n"
      sock.write(head)
      sent = 0
      begin
        if req[:method] != "GET"
          nil
        elsif fault.drip
          deadline = Process.clock_gettime(Process::CLOCK_MONOTONIC) + DRIP_MAX_SECONDS
          body.each_byte do |b|
            break if Process.clock_gettime(Process::CLOCK_MONOTONIC) > deadline

            sock.write(b.chr)
            sent += 1
            sleep fault.drip
          end
        elsif fault.endless
          chunk = ("scint-endless-body\n" * 3449).b # ~64 KiB
          while sent < fault.endless
            n = [chunk.bytesize, fault.endless - sent].min
            sock.write(n == chunk.bytesize ? chunk : chunk.byteslice(0, n))
            sent += n
          end
        else
          sock.write(body)
          sent = body.bytesize
        end
      rescue IOError, SystemCallError
        nil # the client hung up: that is what these faults are for
      end
      log(entry, status: 200, bytes: head.bytesize + sent, body_bytes: sent)
      sock.close unless sock.closed?
      false
    end

    def respond(sock, req, entry, status, headers, body)
      keep = req[:headers]["connection"]&.downcase != "close"
      head = +"HTTP/1.1 #{status} #{REASONS.fetch(status, "Status")}\r\n"
      headers.each { |k, v| head << "#{k}: #{v}\r\n" }
      head << "Content-Length: #{body.bytesize}\r\n" unless status == 304
      head << "Connection: #{keep ? "keep-alive" : "close"}\r\n\r\n"
      sock.write(head)
      sent = head.bytesize
      if req[:method] != "HEAD" && status != 304
        sock.write(body)
        sent += body.bytesize
      end
      log(entry, status: status, bytes: sent, body_bytes: req[:method] == "HEAD" ? 0 : body.bytesize)
      keep
    end

    def log(entry, status:, bytes:, body_bytes: 0)
      r = Request.new(**entry, status: status, bytes_sent: bytes, body_bytes: body_bytes)
      @lock.synchronize { @log << r }
    end

    # Maps a URI path to a regular file under root, or nil (no escaping root,
    # no dot files).
    def resolve(path)
      rel = path.sub(%r{\A/+}, "")
      return nil if rel.empty? || rel.split("/").any? { |c| c.start_with?(".") }

      file = File.join(@root, rel)
      File.file?(file) ? file : nil
    end

    REASONS = { 200 => "OK", 206 => "Partial Content", 304 => "Not Modified", 401 => "Unauthorized", 404 => "Not Found",
                405 => "Method Not Allowed", 416 => "Range Not Satisfiable", 500 => "Internal Server Error",
                502 => "Bad Gateway", 503 => "Service Unavailable" }.freeze
  end
end

