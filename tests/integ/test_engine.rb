# frozen_string_literal: true

# The engine under load and around its children: many transfers whose
# connections the server closes under curl's feet, the pipes children
# inherit, and the Ruby helper's transport, limits and signals.

require_relative "install_support"

class TestEngine < ScintTest::Case
  include InstallSupport

  # A server that promises keep-alive and then drops connections: after each
  # response it closes the connection at once, a moment later, or with a TCP
  # reset, so curl finds idle connections dead while other transfers run
  # (and closes their sockets from another socket's callback).
  class DroppingServer < Scint::FaultServer
    private

    def serve_connection(sock)
      req = read_request(sock) or return
      req[:headers]["connection"] = "close" if rand(2).zero? # announced, else a surprise
      handle(sock, req, 1)
      case rand(3)
      when 0 then nil
      when 1 then sleep(rand * 0.004)
      else sock.setsockopt(Socket::SOL_SOCKET, Socket::SO_LINGER, [1, 0].pack("ii"))
      end
    rescue IOError, SystemCallError
      nil
    ensure
      sock.close unless sock.closed?
    end
  end

  def test_many_transfers_with_connections_dropped_under_them
    shape, corpus = corpus(:small)
    server = DroppingServer.new(corpus.dir).start
    @servers << server
    lock_server = fault_server(corpus.dir)
    app = app(gems: shape.gemfile_deps, source: lock_server.url)
    app.bundle_lock!
    app.write_file("Gemfile.lock", app.lockfile.gsub(lock_server.url, server.url))
    app.write_file("Gemfile", app.read_file("Gemfile").gsub(lock_server.url, server.url))
    started = Process.clock_gettime(Process::CLOCK_MONOTONIC)
    rounds = 0
    # Cold installs, each with every gem downloaded again, for a bounded time.
    while rounds < 2 || Process.clock_gettime(Process::CLOCK_MONOTONIC) - started < 25
      FileUtils.rm_rf([app.cache, app.path(".bundle")])
      r = app.scint("install", env: { "SCINT_HTTP_RETRY_DELAY_MS" => "1" }, timeout: 120)
      refute_equal 139, r.exitstatus, "scint crashed:\n#{r}"
      refute r.status.signaled?, "scint died of a signal:\n#{r}"
      assert_success r, "cold install ##{rounds + 1} against a dropping server"
      rounds += 1
      break if rounds >= 8
    end
    assert_operator server.gem_requests.size, :>=, rounds * shape.downloaded.size
  end
end
