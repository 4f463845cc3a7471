# frozen_string_literal: true

# A real `git daemon` on 127.0.0.1 serving repositories the test creates
# (<tmp>/work/<name>, published bare as <tmp>/srv/<name>.git), and the
# gemspecs of small pure gems to put in them. Included by ScintTest::Case
# subclasses (it uses tmp and flunk, and ends the daemon in teardown).

require "socket"
require "open3"
require "fileutils"

module GitServer
  # The git daemon: serves <tmp>/srv on an ephemeral port, logging to a file.
  def start_daemon
    require_command!("git")
    @srv = File.join(tmp, "srv")
    FileUtils.mkdir_p(@srv)
    @daemon_log = File.join(tmp, "daemon.log")
    @packet_log = File.join(tmp, "upload-pack.trace")
    5.times do
      port = TCPServer.open("127.0.0.1", 0) { |s| s.addr[1] }
      # git-daemon itself (not `git daemon`, which runs it as a child): the pid it logs is ours.
      daemon = File.join(`git --exec-path`.strip, "git-daemon")
      pid = Process.spawn({ "GIT_TRACE_PACKET" => @packet_log },
                          daemon, "--base-path=#{@srv}", "--export-all", "--reuseaddr",
                          "--listen=127.0.0.1", "--port=#{port}", "--enable=upload-pack", "--verbose",
                          "--log-destination=stderr", "--informative-errors",
                          err: [@daemon_log, "a"], out: File::NULL, pgroup: true)
      deadline = Time.now + 5
      until Time.now > deadline
        # Bound by our daemon (it says so), not answered by a process that took the port first.
        if File.read(@daemon_log).include?("[#{pid}] Ready to rumble")
          @daemon = pid
          @port = port
          return
        end
        break if Process.waitpid(pid, Process::WNOHANG)

        sleep 0.02
      end
      kill_daemon(pid)
    end
    flunk "git daemon did not start: #{File.read(@daemon_log)}"
  end

  def kill_daemon(pid)
    Process.kill("KILL", -pid)
    Process.waitpid(pid)
  rescue Errno::ESRCH, Errno::ECHILD
    nil
  end

  def teardown
    kill_daemon(@daemon) if @daemon
    super
  end

  def url(name)
    "git://127.0.0.1:#{@port}/#{name}.git"
  end

  GIT_ENV = { "GIT_AUTHOR_NAME" => "t", "GIT_AUTHOR_EMAIL" => "t@example.invalid",
              "GIT_COMMITTER_NAME" => "t", "GIT_COMMITTER_EMAIL" => "t@example.invalid",
              "GIT_CONFIG_NOSYSTEM" => "1", "GIT_CONFIG_GLOBAL" => "/dev/null",
              "GIT_ALLOW_PROTOCOL" => "file:git" }.freeze

  def git!(dir, *args)
    out, st = Open3.capture2e(GIT_ENV, "git", *args, chdir: dir)
    raise "git #{args.join(" ")} in #{dir}: #{out}" unless st.success?

    out
  end

  # A work repository <tmp>/work/<name> with files, committed, and its bare
  # copy served as <name>.git. Returns the work dir. Later commits: commit!.
  def repo(name, files, branch: "main")
    dir = File.join(tmp, "work", name)
    FileUtils.mkdir_p(dir)
    git!(dir, "init", "-q", "-b", branch)
    commit!(name, files)
    dir
  end

  def commit!(name, files, msg: "c")
    dir = File.join(tmp, "work", name)
    files.each do |rel, content|
      path = File.join(dir, rel)
      FileUtils.mkdir_p(File.dirname(path))
      File.write(path, content)
      File.chmod(0o755, path) if rel.start_with?("exe/")
    end
    git!(dir, "add", "-A")
    git!(dir, "commit", "-q", "-m", msg)
    publish!(name)
    git!(dir, "rev-parse", "HEAD").strip
  end

  def publish!(name)
    bare = File.join(@srv, "#{name}.git")
    dir = File.join(tmp, "work", name)
    git!(tmp, "init", "-q", "--bare", "-b", "main", bare) unless File.directory?(bare)
    git!(dir, "push", "-q", "--mirror", bare)
  end

  GLOB_FILES = 'Dir.glob("{lib,exe,ext,vendor}/**/*").reject { |f| File.directory?(f) }.sort'

  def gemspec(name, version: "0.1.0", exe: nil, ext: false, deps: {}, extra: "", files: GLOB_FILES)
    <<~RUBY
      Gem::Specification.new do |s|
        s.name = #{name.dump}
        s.version = #{version.dump}
        s.summary = "git gem #{name}"
        s.authors = ["scint test"]
        s.files = #{files}
        s.bindir = "exe"
        #{exe ? "s.executables = [#{exe.dump}]" : ""}
        #{ext ? "s.extensions = [\"ext/#{name}/extconf.rb\"]" : ""}
        #{deps.map { |d, r| "s.add_dependency #{d.dump}, #{r.dump}" }.join("\n  ")}
        #{extra}
      end
    RUBY
  end

  def pure_files(name, version: "0.1.0", exe: nil, answer: nil, files: GLOB_FILES)
    files = { "#{name}.gemspec" => gemspec(name, version: version, exe: exe, files: files),
              "lib/#{name}.rb" => "module #{name.capitalize}; ANSWER = #{(answer || "#{name}-#{version}").dump}; end\n" }
    files["exe/#{exe}"] = "#!/usr/bin/env ruby\nrequire #{name.dump}\nputs #{name.capitalize}::ANSWER\n" if exe
    files
  end

  def native_files(name)
    {
      "#{name}.gemspec" => gemspec(name, ext: true),
      "ext/#{name}/extconf.rb" => "require \"mkmf\"\ncreate_makefile(#{"#{name}/#{name}_ext".dump})\n",
      "ext/#{name}/#{name}_ext.c" => <<~C,
        #include <ruby.h>
        static VALUE answer(VALUE self) { return rb_str_new_cstr("#{name}-native"); }
        void Init_#{name}_ext(void) { rb_define_module_function(rb_define_module("#{name.capitalize}"), "answer", answer, 0); }
      C
      "lib/#{name}.rb" => "require #{"#{name}/#{name}_ext".dump}\n",
    }
  end

  def git_app(name, gemfile, cache: :own)
    a = app(name, gems: {}, source: nil, cache: cache, gemfile: gemfile)
    a.bundle_lock!
    a
  end

  def scint_install(app, env: {})
    r = app.scint("install", env: env)
    assert_success r
    r
  end
end
