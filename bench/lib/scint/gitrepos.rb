# frozen_string_literal: true

require "fileutils"
require "open3"
require "socket"

module Scint
  # Git repositories of generated gems, served by `git daemon` on 127.0.0.1
  # (scint-bench --git N). Each repository holds one pure gem with `files`
  # Ruby files and `commits` commits of history, so that a full clone (what
  # Bundler does) costs what it costs in real life. Kept between runs in dir.
  class GitRepos
    ENV_GIT = { "GIT_AUTHOR_NAME" => "bench", "GIT_AUTHOR_EMAIL" => "bench@example.invalid",
                "GIT_COMMITTER_NAME" => "bench", "GIT_COMMITTER_EMAIL" => "bench@example.invalid",
                "GIT_AUTHOR_DATE" => "2024-01-01T00:00:00Z", "GIT_COMMITTER_DATE" => "2024-01-01T00:00:00Z",
                "GIT_CONFIG_NOSYSTEM" => "1", "GIT_CONFIG_GLOBAL" => "/dev/null" }.freeze

    attr_reader :dir, :names, :port

    def initialize(dir, count:, files: 60, commits: 20)
      @dir = File.expand_path(dir)
      @names = (1..count).map { |i| format("sc_git%02d", i) }
      @files = files
      @commits = commits
    end

    def git!(chdir, *args)
      out, st = Open3.capture2e(ENV_GIT, "git", *args, chdir: chdir)
      raise "git #{args.join(" ")}: #{out}" unless st.success?

      out
    end

    # Creates the missing repositories (bare, under dir/srv).
    def build!
      @names.each do |name|
        bare = File.join(@dir, "srv", "#{name}.git")
        next if File.directory?(bare)

        work = File.join(@dir, "work", name)
        FileUtils.rm_rf(work)
        FileUtils.mkdir_p(File.join(work, "lib", name))
        git!(work, "init", "-q", "-b", "main")
        @commits.times do |c|
          File.write(File.join(work, "#{name}.gemspec"), <<~RUBY)
            Gem::Specification.new do |s|
              s.name = #{name.dump}
              s.version = "1.#{c}.0"
              s.summary = "bench git gem"
              s.authors = ["bench"]
              s.files = Dir["lib/**/*.rb"]
            end
          RUBY
          File.write(File.join(work, "lib", "#{name}.rb"), "module #{name.split("_").map(&:capitalize).join}; end\n")
          @files.times do |f|
            next unless c.zero? || (f + c) % 7 == 0

            body = (0...40).map { |l| "  def m#{l}_#{c}; #{(f * 31 + l * 7 + c) % 1000}; end\n" }.join
            File.write(File.join(work, "lib", name, "part#{f}.rb"), "module P#{f}\n#{body}end\n")
          end
          git!(work, "add", "-A")
          git!(work, "commit", "-q", "-m", "commit #{c}")
        end
        FileUtils.mkdir_p(File.dirname(bare))
        git!(@dir, "clone", "-q", "--bare", work, bare)
      end
      self
    end

    def start
      log = File.join(@dir, "daemon.log")
      5.times do
        port = TCPServer.open("127.0.0.1", 0) { |s| s.addr[1] }
        @pid = Process.spawn("git", "daemon", "--base-path=#{File.join(@dir, "srv")}", "--export-all", "--reuseaddr",
                             "--listen=127.0.0.1", "--port=#{port}", "--enable=upload-pack",
                             err: [log, "a"], out: File::NULL, pgroup: true)
        50.times do
          TCPSocket.open("127.0.0.1", port).close
          @port = port
          return self
        rescue Errno::ECONNREFUSED
          sleep 0.05
        end
        stop
      end
      raise "git daemon did not start (see #{log})"
    end

    def stop
      return unless @pid

      Process.kill("KILL", -@pid)
      Process.wait(@pid)
    rescue Errno::ESRCH, Errno::ECHILD
      nil
    ensure
      @pid = nil
    end

    def gemfile_lines
      @names.map { |n| "gem #{n.dump}, git: \"git://127.0.0.1:#{@port}/#{n}.git\"\n" }.join
    end
  end
end
