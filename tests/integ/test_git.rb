# frozen_string_literal: true

# Git and path sources: a real `git daemon` on 127.0.0.1 serving repositories
# created by the test, lockfiles written by real Bundler (`bundle lock`),
# Bundler's install of the same app as the oracle.
#
# What is compared with Bundler's tree: everything under .bundle except
# Bundler's bare mirror (cache/bundler/git) and the `.git` directory Bundler
# keeps in each checkout (scint exports the tree without it: `bundle check`,
# `bundle exec` and `bundle info` only need the checkout directory with its
# gemspecs, which both rewrite as Bundler's serialize_gemspecs_in does). Build
# products of extensions (Makefile, .o, .so, gem_make.out, mkmf.log) are
# compared by name and mode only: they hold the directory they were built in.

require "scint_test"
require "git_server"

class TestGit < ScintTest::Case
  include GitServer

  # The kill test's gated proxy (below), then GitServer's daemon.
  def teardown
    stop_gated_proxy
    super
  end

  BUILD_PRODUCT = %r{(/Makefile|\.o|\.so|/gem_make\.out|/mkmf\.log|\.time)\z}.freeze

  # The tree under .bundle as compared with Bundler's (see the file's comment).
  def git_tree(app)
    app.tree_snapshot.reject { |r| r[0] =~ %r{\A#{ScintTest::RUBY_DIR}/(cache/bundler|bundler/gems/(.+/)?\.git)(/|\z)}o }
       .reject { |r| r[0] =~ %r{\A(config|scint\.[a-z.]+|scint\.shim-[^/]+\.iseq)\z} }
       .map { |r| r[0] =~ BUILD_PRODUCT ? r.first(3) : r }
  end

  # Empty directories Bundler does not create when it installs no .gem gem.
  EMPTY_DIRS = %w[build_info cache doc extensions gems plugins specifications].freeze

  def assert_bundler_tree(oracle, app)
    strip = ->(rows) { rows.reject { |r| r[1] == "d" && EMPTY_DIRS.any? { |d| r[0] == "#{ScintTest::RUBY_DIR}/#{d}" } } }
    assert_same_tree strip.call(git_tree(oracle)), strip.call(git_tree(app))
  end

  def cached_entries(app)
    Dir.glob(File.join(app.cache, "cached", "*", "*")).map { |p| File.basename(p) }
  end

  # ------------------------------------------------------------ the main app

  def build_main_repos
    # Its gemspec lists its files with `git ls-files`, as most gemspecs do.
    repo("gpure", pure_files("gpure", exe: "gpure", files: '`git ls-files -z`.split("\\x0")'))
    repo("gnative", native_files("gnative"))
    repo("gmulti", {
           "gm_a/gm_a.gemspec" => gemspec("gm_a"), "gm_a/lib/gm_a.rb" => "module GmA; ANSWER = \"gm_a\"; end\n",
           # gm_b: an extension, in a subdirectory, depending on a gem of its own repository
           "gm_b/gm_b.gemspec" => gemspec("gm_b", ext: true, deps: { "gm_a" => ">= 0" }),
           "gm_b/ext/gm_b/extconf.rb" => native_files("gm_b")["ext/gm_b/extconf.rb"],
           "gm_b/ext/gm_b/gm_b_ext.c" => native_files("gm_b")["ext/gm_b/gm_b_ext.c"],
           "gm_b/lib/gm_b.rb" => "require \"gm_a\"\nrequire \"gm_b/gm_b_ext\"\n" \
                                 "module GmB; ANSWER = \"gm_b+\" + GmA::ANSWER + \"+\" + Gm_b.answer; end\n",
         })
    repo("gtag", pure_files("gtag", version: "1.0.0"))
    git!(File.join(tmp, "work", "gtag"), "tag", "v1.0.0")
    publish!("gtag")
    commit!("gtag", pure_files("gtag", version: "2.0.0"))
    repo("gbranch", pure_files("gbranch", answer: "main"))
    git!(File.join(tmp, "work", "gbranch"), "checkout", "-q", "-b", "stable")
    commit!("gbranch", pure_files("gbranch", version: "0.2.0", answer: "stable"))
    git!(File.join(tmp, "work", "gbranch"), "checkout", "-q", "main")
    commit!("gbranch", pure_files("gbranch", version: "0.3.0", answer: "main2"))
    repo("inner", { "inner.rb" => "module Inner; ANSWER = \"inner\"; end\n" })
    sub = repo("gsub", pure_files("gsub").merge(
                         "lib/gsub.rb" => "require_relative \"../vendor/inner/inner\"\nmodule Gsub; ANSWER = \"gsub+\" + Inner::ANSWER; end\n"
                       ))
    git!(sub, "-c", "protocol.allow=always", "submodule", "add", "-q", url("inner"), "vendor/inner")
    git!(sub, "commit", "-q", "-m", "submodule")
    publish!("gsub")
  end

  MAIN_CHECKS = {
    "gpure" => "Gpure::ANSWER", "gnative" => "Gnative.answer", "gm_a" => "GmA::ANSWER",
    "gm_b" => "GmB::ANSWER", "gtag" => "Gtag::ANSWER", "gbranch" => "Gbranch::ANSWER",
    "gsub" => "Gsub::ANSWER"
  }.freeze

  MAIN_ANSWERS = %w[gpure-0.1.0 gnative-native gm_a gm_b+gm_a+gm_b-native gtag-1.0.0 stable gsub+inner].freeze

  def main_gemfile
    <<~RUBY
      gem "gpure", git: #{url("gpure").dump}
      gem "gnative", git: #{url("gnative").dump}
      git #{url("gmulti").dump}, glob: "*/*.gemspec" do
        gem "gm_a"
        gem "gm_b"
      end
      gem "gtag", git: #{url("gtag").dump}, tag: "v1.0.0"
      gem "gbranch", git: #{url("gbranch").dump}, branch: "stable"
      gem "gsub", git: #{url("gsub").dump}, submodules: true
    RUBY
  end

  def assert_main_app_works(app)
    app.bundle_check!
    code = MAIN_CHECKS.map { |g, expr| "require #{g.dump}; puts #{expr}" }.join("; ")
    assert_equal MAIN_ANSWERS, app.ruby_exec!(code).lines.map(&:chomp)
    assert_equal "gpure-0.1.0\n", app.bundle_exec!("gpure").stdout
    # scint exec finds the same gems through its runtime lock.
    r = app.scint("exec", "ruby", "-e", code)
    assert_success r
    assert_equal MAIN_ANSWERS, r.stdout.lines.map(&:chomp)
    r = app.scint("exec", "gpure")
    assert_success r
    assert_equal "gpure-0.1.0\n", r.stdout
  end

  def test_git_sources_install_like_bundler_and_reinstall_from_cache
    require_bundler!
    require_toolchain!
    start_daemon
    build_main_repos
    app = git_app("app", main_gemfile)
    lock = app.lockfile
    assert_includes lock, "glob: */*.gemspec"
    assert_includes lock, "submodules: true"

    trace = File.join(tmp, "trace1.jsonl")
    r = scint_install(app, env: { "SCINT_IO_TRACE" => trace })
    assert_match(/"argv":\["git",/, File.read(trace), "the trace does not show git children")
    assert_match(/Bundle complete!/, r.stdout)
    assert_main_app_works(app)
    info = app.bundle!("info", "gm_b").stdout
    assert_includes info, File.join(app.install_root, "bundler/gems/gmulti-")

    # The runtime lock has the git gems' load paths (the checkout's directory of each gemspec).
    # entries: [name, version, platform, full_name, source, dir, load_paths, bindir, executables, ext]
    gems = Marshal.load(File.binread(app.path(".bundle", "scint.lock.marshal")))["gems"].to_h { |e| [e[0], e] }
    gmulti = File.join(app.install_root, "bundler/gems/gmulti-#{app.lockfile[/remote: #{Regexp.escape(url("gmulti"))}\n  revision: (\h{12})/, 1]}")
    # gm_b's extension is where Bundler 2.3 puts it for a gemspec in a directory of the checkout.
    plat = "#{Gem::Platform.local}/#{Gem.extension_api_version}"
    assert_equal ["#{gmulti}/gm_b/lib", "#{gmulti}/extensions/#{plat}/#{File.basename(gmulti)}-gm_b"],
                 gems["gm_b"][6]
    gems["gm_b"][6].each { |d| assert File.directory?(d), d }
    assert_equal ["#{gmulti}/gm_a/lib"], gems["gm_a"][6]
    assert_equal :git, gems["gm_b"][4]
    native = gems["gnative"][6]
    assert_equal 2, native.size
    assert_match(%r{/bundler/gems/extensions/[^/]+/[^/]+/gnative-\h{12}\z}, native[1])
    native.each { |d| assert File.directory?(d), d }

    oracle = oracle_install(app)
    assert_bundler_tree(oracle, app)
    assert_empty Dir.glob(File.join(app.install_root, "specifications", "*"))

    verify = app.scint("cache", "verify")
    assert_success verify

    # (2) warm: no git, no build.
    conn_before = File.read(@daemon_log).scan("Connection from").size
    FileUtils.rm_rf(app.path(".bundle"))
    trace = File.join(tmp, "trace2.jsonl")
    r = scint_install(app, env: { "SCINT_IO_TRACE" => trace })
    assert_match(/0 compiled/, r.stdout)
    assert_match(/0 fetched/, r.stdout)
    assert_equal conn_before, File.read(@daemon_log).scan("Connection from").size, "the warm install talked to the server"
    refute_match(/"argv":\["git",/, File.read(trace), "the warm install ran git")
    refute_match(/"argv":\[[^\]]*"--build"/, File.read(trace), "the warm install built an extension")
    assert_main_app_works(app)
    assert_bundler_tree(oracle, app)
    assert_equal gems, Marshal.load(File.binread(app.path(".bundle", "scint.lock.marshal")))["gems"].to_h { |e| [e[0], e] },
                 "the warm install's runtime lock differs"

    # A checkout left incomplete (a run killed while materializing) is not taken for installed.
    victim = Dir.glob(File.join(app.install_root, "bundler/gems/gpure-*/lib/gpure.rb")).first
    File.delete(victim)
    scint_install(app)
    assert File.file?(victim), "the incomplete checkout was not repaired"
  end

  # ------------------------------------------------------------ reuse

  def objects_in(bare)
    out = git!(tmp, "--git-dir=#{bare}", "count-objects", "-v")
    out[/^count: (\d+)/, 1].to_i + out[/^in-pack: (\d+)/, 1].to_i
  end

  def test_second_revision_reuses_the_bare_repository_and_fetches_only_new_objects
    require_bundler!
    start_daemon
    big = (1..40).to_h { |i| ["lib/greuse/part#{i}.rb", "# part #{i}\n" + ("x = #{i}\n" * 200)] }
    rev1 = commit_first("greuse", pure_files("greuse").merge(big))
    gemfile = "gem \"greuse\", git: #{url("greuse").dump}\n"
    a1 = git_app("a1", gemfile, cache: :shared)
    assert_includes a1.lockfile, rev1
    scint_install(a1)
    gits = Dir.glob(File.join(shared_cache, "inbound", "gits", "*")).select { |p| File.directory?(p) }
    assert_equal 1, gits.size
    bare = gits.first
    assert_match(/\A127\.0\.0\.1-9418|\A127\.0\.0\.1-\d+-greuse\.git-\h{8}\z/, File.basename(bare))
    before = objects_in(bare)

    rev2 = commit!("greuse", { "lib/greuse.rb" => "module Greuse; ANSWER = \"v2\"; end\n" })
    a2 = git_app("a2", gemfile, cache: :shared)
    assert_includes a2.lockfile, rev2
    File.write(@packet_log, "")
    scint_install(a2)
    assert_equal [bare], Dir.glob(File.join(shared_cache, "inbound", "gits", "*")).select { |p| File.directory?(p) }
    # New: the commit, its root tree, lib/ and the changed file (4 objects); the 40 parts stay.
    added = objects_in(bare) - before
    assert_operator added, :<=, 6, "fetched #{added} objects for a one-file change"
    trace = File.read(@packet_log)
    assert_match(/have #{rev1}/, trace, "the second fetch did not tell the server what it has")
    assert_equal "v2\n", a2.ruby_exec!("require 'greuse'; puts Greuse::ANSWER")
    assert_equal "greuse-0.1.0\n", a1.ruby_exec!("require 'greuse'; puts Greuse::ANSWER")
  end

  def commit_first(name, files)
    repo(name, files)
    git!(File.join(tmp, "work", name), "rev-parse", "HEAD").strip
  end

  # ------------------------------------------------------------ kill and parallel

  # A TCP proxy to the git daemon on 127.0.0.1. While the gate is closed, a
  # connection's server-to-client stream stops after HOLD_AFTER bytes (and
  # the daemon waits): a fetch held in the middle of its pack for as long as
  # the test wants. Returns the proxy's port.
  HOLD_AFTER = 128 * 1024

  def start_gated_proxy
    @gate = Mutex.new
    @gate_cv = ConditionVariable.new
    @gate_open = true
    @held = 0
    @proxy_server = TCPServer.new("127.0.0.1", 0)
    @proxy_threads = [Thread.new do
      loop do
        client = @proxy_server.accept
        upstream = TCPSocket.new("127.0.0.1", @port)
        @proxy_threads << Thread.new { proxy_pipe(client, upstream, nil) }
        @proxy_threads << Thread.new { proxy_pipe(upstream, client, HOLD_AFTER) }
      end
    end]
    @proxy_server.addr[1]
  end

  def proxy_pipe(from, to, hold_after)
    sent = 0
    loop do
      if hold_after && sent >= hold_after
        @gate.synchronize do
          @held += 1 unless @gate_open
          @gate_cv.wait(@gate) until @gate_open
        end
        hold_after = nil
      end
      data = from.readpartial(16 * 1024)
      to.write(data)
      sent += data.bytesize
    end
  rescue IOError, SystemCallError
    nil
  ensure
    [from, to].each { |s| s.close unless s.closed? }
  end

  def set_gate(open)
    @gate.synchronize do
      @gate_open = open
      @gate_cv.broadcast
    end
  end

  def stop_gated_proxy
    set_gate(true) if @gate
    @proxy_threads&.each(&:kill)
    @proxy_server&.close
  end

  def test_killed_mid_fetch_recovers_and_parallel_installs_share_the_repository
    require_bundler!
    start_daemon
    # Over git's unpackLimit of 100 objects, so that git writes a pack (tmp_pack_*) as it
    # receives it; ~0.7 MB packed, well over HOLD_AFTER.
    big = (1..150).to_h { |i| ["lib/gpar/p#{i}.rb", Random.new(i).bytes(4_000).unpack1("H*")] }
    commit_first("gpar", pure_files("gpar").merge(big))
    proxy = start_gated_proxy
    gemfile = "gem \"gpar\", git: #{"git://127.0.0.1:#{proxy}/gpar.git".dump}\n"
    first = git_app("k0", gemfile, cache: :shared)

    # kill -9 while git fetch writes the pack: its temporary pack file exists and the
    # rest of the pack is held by the proxy.
    set_gate(false)
    pid = Process.spawn(first.env, ScintTest.scint_bin, "install", chdir: first.dir, out: File::NULL,
                                                                   err: File::NULL, pgroup: true)
    deadline = Time.now + 60
    pack = File.join(shared_cache, "inbound", "gits", "*", "objects", "pack", "tmp_pack_*")
    sleep 0.01 until (Dir.glob(pack).any? && @gate.synchronize { @held.positive? }) || Time.now > deadline
    assert_operator Time.now, :<, deadline, "the fetch was never seen under way"
    assert_empty Dir.glob(File.join(shared_cache, "inbound", "gits", "*", "objects", "pack", "pack-*.pack")),
                 "the pack was complete before the kill"
    Process.kill("KILL", -pid)
    Process.wait(pid)
    set_gate(true)
    refute_empty Dir.glob(pack), "the killed fetch left no temporary pack"
    r = first.scint("install")
    assert_success r
    assert_equal "gpar-0.1.0\n", first.ruby_exec!("require 'gpar'; puts Gpar::ANSWER")

    # eight at once, on a fresh cache
    apps = (1..8).map { |i| first.copy_to(File.join(tmp, "p#{i}"), cache: File.join(tmp, "par-cache")) }
    threads = apps.map { |a| Thread.new { a.scint("install") } }
    results = threads.map(&:value)
    results.each { |res| assert_success res }
    apps.each { |a| a.bundle_check! }
    assert_equal 1, Dir.glob(File.join(tmp, "par-cache", "inbound", "gits", "*")).count { |p| File.directory?(p) }
  end

  # ------------------------------------------------------------ errors

  def assert_git_failure(app, pattern, gem)
    r = app.scint("install")
    refute r.success?, r.to_s
    assert_match pattern, r.stderr + r.stdout
    assert_includes r.stderr + r.stdout, gem
    assert_empty cached_entries(app).grep(/\A#{gem}|#{gem}-\h{12}/), "something reached cached/"
    r
  end

  def test_missing_revision_unreachable_remote_and_failing_submodule
    require_bundler!
    start_daemon
    rev = commit_first("gone", pure_files("gone"))
    a = git_app("a", "gem \"gone\", git: #{url("gone").dump}\n")
    a.write_file("Gemfile.lock", a.lockfile.sub(rev, "0123456789abcdef0123456789abcdef01234567"))
    assert_git_failure(a, /revision 0123456789abcdef0123456789abcdef01234567 does not exist/, "gone")

    b = git_app("b", "gem \"gone\", git: #{url("gone").dump}\n")
    closed = TCPServer.open("127.0.0.1", 0) { |s| s.addr[1] }
    # (the Gemfile too: a source that differs from the lockfile's is locked again)
    %w[Gemfile Gemfile.lock].each { |f| b.write_file(f, b.read_file(f).gsub(":#{@port}/", ":#{closed}/")) }
    assert_git_failure(b, /cannot fetch gone .*git fetch failed/m, "gone")

    # Locked while the submodule worked; then its URL broke (the lockfile names that commit).
    # A checkout is bound like an unpacked gem.
    e = git_app("e", "gem \"gone\", git: #{url("gone").dump}\n")
    r = e.scint("install", env: { "SCINT_GEM_MAX_ENTRIES" => "2" })
    refute r.success?
    assert_match(/cannot install gone: its checkout \(3 entries, \d+ bytes\) is over the limit of SCINT_GEM_MAX_ENTRIES/, r.stderr)
    assert_empty cached_entries(e)

    # A remote that accepts and never answers: git is killed at SCINT_HTTP_TIMEOUT.
    silent = TCPServer.new("127.0.0.1", 0)
    held = Thread.new { loop { (@held ||= []) << silent.accept } }
    h = git_app("h", "gem \"gone\", git: #{url("gone").dump}\n")
    %w[Gemfile Gemfile.lock].each { |f| h.write_file(f, h.read_file(f).gsub(":#{@port}/", ":#{silent.addr[1]}/")) }
    r = h.scint("install", env: { "SCINT_HTTP_TIMEOUT" => "1" })
    refute r.success?
    assert_match(/cannot fetch gone .*git did not finish within 1 s \(SCINT_HTTP_TIMEOUT/, r.stderr)
    assert_operator r.seconds, :<, 30
    held.kill
    silent.close

    sub = repo("gbadsub", pure_files("gbadsub"))
    git!(sub, "-c", "protocol.allow=always", "submodule", "add", "-q", url("gone"), "vendor/x")
    git!(sub, "commit", "-q", "-m", "submodule")
    publish!("gbadsub")
    c = git_app("c", "gem \"gbadsub\", git: #{url("gbadsub").dump}, submodules: true\n")
    good = git!(sub, "rev-parse", "HEAD").strip
    bad = commit!("gbadsub", { ".gitmodules" => File.read(File.join(sub, ".gitmodules")).sub(url("gone"), url("missing")) })
    c.write_file("Gemfile.lock", c.lockfile.sub(good, bad))
    assert_git_failure(c, %r{submodule 'vendor/x' at git://127\.0\.0\.1:\d+/missing\.git}, "gbadsub")
  end

  def test_missing_path_source_fails_like_bundler
    require_bundler!
    a = app("a", gems: {}, source: nil, gemfile: "gem \"pgem\", path: \"vendor/pgem\"\n")
    a.write_file("vendor/pgem/pgem.gemspec", gemspec("pgem"))
    a.write_file("vendor/pgem/lib/pgem.rb", "")
    a.bundle_lock!
    FileUtils.rm_rf(a.path("vendor/pgem"))
    r = a.scint("install")
    refute r.success?
    want = "The path `#{File.realpath(a.dir)}/vendor/pgem` does not exist."
    assert_includes r.stderr, want
    assert_includes a.bundle("install").stderr + a.bundle("install").stdout, want
  end

  # Bundler 2.3 builds no extension of a path gem (Source::Path#install passes
  # disable_extensions): neither does scint; both install the same tree.
  def test_path_gem_with_an_extension_is_used_in_place_like_bundler
    require_bundler!
    a = app("a", gems: {}, source: nil, gemfile: "gem \"pnat\", path: \"vendor/pnat\"\n")
    native_files("pnat").each { |rel, content| a.write_file("vendor/pnat/#{rel}", content) }
    a.bundle_lock!
    assert_success a.scint("install")
    a.bundle_check!
    oracle = a.copy_to(File.join(tmp, "oracle"))
    FileUtils.cp_r(a.path("vendor"), oracle.dir)
    oracle.bundle_install!
    assert_bundler_tree(oracle, a)
    [a, oracle].each do |x|
      assert_empty Dir.glob(x.path("vendor/pnat/**/*.{o,so}")), "an extension was built"
      assert_empty Dir.glob(File.join(x.install_root, "**/gem.build_complete"))
    end
  end

  # ------------------------------------------------------------ hostile lockfiles

  def test_hostile_git_lockfiles_run_nothing
    require_bundler!
    start_daemon
    rev = commit_first("ghost", pure_files("ghost"))
    a = git_app("a", "gem \"ghost\", git: #{url("ghost").dump}\n")
    good = a.lockfile
    marker = File.join(tmp, "pwned")
    [
      [good.sub(url("ghost"), "ext::sh -c touch% #{marker}"), /transport helpers/],
      [good.sub(url("ghost"), "--upload-pack=touch #{marker}"), /read as an option/],
      [good.sub(url("ghost"), "fd::3"), /transport helpers/],
      [good.sub(url("ghost"), "ssh://-oProxyCommand=touch%20#{marker}/x.git"), /host would be read as an option/],
      [good.sub(rev, "HEAD"), /not 40 lower-case hex/],
      [good.sub(rev, "--output=#{marker}"), /not 40 lower-case hex/],
      [good.sub("  revision:", "  glob: ../../*.gemspec\n  revision:"), /may leave the checkout/],
    ].each do |text, why|
      a.write_file("Gemfile.lock", text)
      r = a.scint("install")
      refute r.success?, "accepted:\n#{text}"
      assert_match why, r.stderr
      refute File.exist?(marker), "a hostile lockfile ran a command"
      assert_empty Dir.glob(File.join(a.cache, "inbound", "gits", "*"))
    end
    # A submodule URL in .gitmodules is input too.
    sub = repo("gevil", pure_files("gevil"))
    git!(sub, "-c", "protocol.allow=always", "submodule", "add", "-q", url("ghost"), "vendor/x")
    git!(sub, "commit", "-q", "-m", "submodule")
    publish!("gevil")
    c = git_app("c", "gem \"gevil\", git: #{url("gevil").dump}, submodules: true\n")
    good = git!(sub, "rev-parse", "HEAD").strip
    evil = commit!("gevil", { ".gitmodules" => File.read(File.join(sub, ".gitmodules")).sub(url("ghost"), "ext::sh -c touch% #{marker}") })
    c.write_file("Gemfile.lock", c.lockfile.sub(good, evil))
    r = c.scint("install")
    refute r.success?
    assert_match(/gevil.*refused: git transport helpers/, r.stderr)
    refute File.exist?(marker)
  end

  # A remote repository's .gitmodules naming a repository of this machine (another
  # user's, the cache's bare ones): refused, as git >= 2.38.1 refuses file:// submodules.
  def test_remote_repository_cannot_pull_a_local_repository_as_submodule
    require_bundler!
    start_daemon
    private = File.join(tmp, "private")
    FileUtils.mkdir_p(private)
    git!(private, "init", "-q", "-b", "main")
    File.write(File.join(private, "secret.txt"), "#{LOCAL_SECRET}\n")
    git!(private, "add", "-A")
    git!(private, "commit", "-q", "-m", "secret")
    secret_rev = git!(private, "rev-parse", "HEAD").strip
    sub = repo("gsteal", pure_files("gsteal"))
    a = git_app("a", "gem \"gsteal\", git: #{url("gsteal").dump}, submodules: true\n")
    good = git!(sub, "rev-parse", "HEAD").strip
    [private, "file://#{private}"].each_with_index do |target, i|
      path = "vendor/s#{i}"
      git!(sub, "rm", "-q", "vendor/s0") if i.positive?
      git!(sub, "-c", "protocol.file.allow=always", "submodule", "add", "-q", target, path)
      git!(sub, "commit", "-q", "-m", "submodule")
      publish!("gsteal")
      evil = git!(sub, "rev-parse", "HEAD").strip
      FileUtils.rm_rf([a.path(".bundle"), a.cache])
      a.write_file("Gemfile.lock", a.lockfile.sub(good, evil))
      good = evil
      r = assert_git_failure(a, /cannot install gsteal: the url #{Regexp.escape(target)} of its submodule '#{path}' is refused: a remote repository's submodule may not be a local path/, "gsteal")
      assert_empty cached_entries(a)
      refute_includes r.stdout + r.stderr, LOCAL_SECRET
      # Objects are compressed: no bare repository of the cache has the private commit.
      gits = Dir.glob(File.join(a.cache, "inbound", "gits", "*")).select { |p| File.directory?(p) }
      assert_equal 1, gits.size, gits.inspect
      gits.each do |bare|
        _, st = Open3.capture2e(GIT_ENV, "git", "--git-dir=#{bare}", "cat-file", "-e", "#{secret_rev}^{commit}")
        refute st.success?, "#{bare} has the private commit"
      end
      [a.path(".bundle"), a.cache].each do |dir|
        Dir.glob("**/*", File::FNM_DOTMATCH, base: dir).each do |rel|
          path = File.join(dir, rel)
          next unless File.file?(path) && !File.symlink?(path)

          refute_includes File.binread(path), LOCAL_SECRET, path
          refute_equal "secret.txt", File.basename(rel), path
        end
      end
    end
    # A relative URL resolves against the git:// remote and is still fetched (without file).
    repo("ginner2", { "inner.rb" => "module Inner2; ANSWER = \"inner2\"; end\n" })
    git!(sub, "rm", "-q", "vendor/s1")
    git!(sub, "-c", "protocol.allow=always", "submodule", "add", "-q", url("ginner2"), "vendor/rel")
    File.write(File.join(sub, ".gitmodules"), File.read(File.join(sub, ".gitmodules")).sub(url("ginner2"), "../ginner2.git"))
    git!(sub, "add", ".gitmodules")
    git!(sub, "commit", "-q", "-m", "relative submodule")
    publish!("gsteal")
    FileUtils.rm_rf([a.path(".bundle"), a.cache])
    a.write_file("Gemfile.lock", a.lockfile.sub(good, git!(sub, "rev-parse", "HEAD").strip))
    scint_install(a)
    assert_equal "inner2\n", a.ruby_exec!("require 'gsteal'; load Gem.loaded_specs['gsteal'].full_gem_path + '/vendor/rel/inner.rb'; puts Inner2::ANSWER")
  end

  LOCAL_SECRET = "l0cal-pr1vate-da7a"

  # ------------------------------------------------------------ credentials over smart HTTP

  # git http-backend behind a minimal HTTP/1.1 server of the test's own
  # (Basic auth required; one request per connection). Returns the URL base.
  def start_http_git(user_pass)
    server = TCPServer.new("127.0.0.1", 0)
    @http_log = []
    @http_thread = Thread.new do
      loop do
        sock = server.accept
        begin
          serve_git_request(sock, user_pass)
        rescue StandardError => e
          @http_log << "error #{e.class}"
        ensure
          sock.close
        end
      end
    end
    @http_server = server
    "http://127.0.0.1:#{server.addr[1]}"
  end

  def serve_git_request(sock, user_pass)
    line = sock.gets or return
    meth, target, = line.split(" ")
    headers = {}
    while (h = sock.gets) && h != "\r\n"
      k, v = h.split(":", 2)
      headers[k.downcase] = v.strip
    end
    body = +""
    if headers["transfer-encoding"] == "chunked"
      while (size = sock.gets.to_i(16)).positive?
        body << sock.read(size)
        sock.read(2)
      end
      sock.gets
    elsif headers["content-length"]
      body = sock.read(headers["content-length"].to_i)
    end
    auth = headers["authorization"]
    @http_log << "#{meth} #{target} #{auth ? "auth" : "anon"}"
    unless auth == "Basic #{[user_pass].pack("m0")}"
      sock.write("HTTP/1.1 401 Unauthorized\r\nWWW-Authenticate: Basic realm=\"git\"\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
      return
    end
    path, query = target.split("?", 2)
    env = { "GIT_PROJECT_ROOT" => @srv, "GIT_HTTP_EXPORT_ALL" => "1", "REQUEST_METHOD" => meth,
            "PATH_INFO" => path, "QUERY_STRING" => query.to_s, "CONTENT_TYPE" => headers["content-type"].to_s,
            "CONTENT_LENGTH" => body.bytesize.to_s, "GIT_PROTOCOL" => headers["git-protocol"].to_s,
            "REMOTE_USER" => user_pass.split(":").first, "REMOTE_ADDR" => "127.0.0.1" }
    out, = Open3.capture2(env, "git", "http-backend", stdin_data: body, binmode: true)
    head, payload = out.split("\r\n\r\n", 2)
    status = head[/^Status: (\d+.*)$/, 1]&.strip || "200 OK"
    sock.write("HTTP/1.1 #{status}\r\n#{head.lines.reject { |l| l.start_with?("Status:") }.map(&:strip).join("\r\n")}\r\n" \
               "Content-Length: #{payload.to_s.bytesize}\r\nConnection: close\r\n\r\n#{payload}")
  end

  SECRET = "g1t-s3cr3t-pa55"

  def test_credentials_reach_git_over_http_and_are_never_shown
    require_bundler!
    start_daemon # for the repositories' directory
    base = start_http_git("scint:#{SECRET}")
    commit_first("gauth", pure_files("gauth"))
    remote = "#{base}/gauth.git"
    # Bundler locks it with the credentials it takes from BUNDLE_<HOST> too.
    a = app("a", gems: {}, source: nil, gemfile: "gem \"gauth\", git: #{remote.dump}\n")
    creds = { "BUNDLE_127__0__0__1" => "scint:#{SECRET}" }
    a.bundle!("lock", env: creds)
    r = a.scint("install")
    refute r.success?
    assert_match(/cannot fetch gauth/, r.stderr)
    trace = File.join(tmp, "trace.jsonl")
    r = a.scint("install", env: creds.merge("SCINT_IO_TRACE" => trace))
    assert_success r
    assert_includes @http_log, "GET /gauth.git/info/refs?service=git-upload-pack auth"
    assert_equal "gauth-0.1.0\n", a.ruby_exec!("require 'gauth'; puts Gauth::ANSWER")
    refute_includes r.stdout + r.stderr, SECRET
    refute_includes File.read(trace), SECRET
    # (Bundler's own mirror under cache/bundler/git, from `bundle lock`, keeps them in its config.)
    [a.install_root, a.cache].each do |dir|
      Dir.glob("**/*", File::FNM_DOTMATCH, base: dir).each do |rel|
        next if rel.start_with?("cache/bundler/")

        path = File.join(dir, rel)
        refute_includes rel, SECRET
        refute_includes File.binread(path), SECRET, path if File.file?(path) && !File.symlink?(path)
      end
    end
    # Wrong credentials in the lockfile's URL: the error names the gem, shows no password.
    FileUtils.rm_rf([a.path(".bundle"), a.cache])
    a.write_file("Gemfile.lock", a.lockfile.sub("remote: http://", "remote: http://scint:wrong-#{SECRET}@"))
    a.write_file("Gemfile", a.read_file("Gemfile").sub("git: \"http://", "git: \"http://scint:wrong-#{SECRET}@"))
    r = a.scint("install")
    refute r.success?
    assert_match(/cannot fetch gauth/, r.stderr)
    refute_includes r.stdout + r.stderr, SECRET
  ensure
    @http_thread&.kill
    @http_server&.close
  end
end
