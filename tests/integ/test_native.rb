# frozen_string_literal: true

# Issue 3: native extensions compiled once per Ruby ABI, exactly as RubyGems
# builds them, checked by real Bundler: loading, warm reinstalls, the shared
# make jobserver, failed builds, precompiled platform gems, other builders.

require_relative "install_support"

class TestNative < ScintTest::Case
  include InstallSupport

  # A C file that takes the compiler a few tenths of a second (so that
  # parallel compiles overlap long enough to be observed).
  def heavy_c(tag, lines = 1200)
    body = Array.new(lines) { |i| "  a = a * #{i % 7 + 2} + #{i};" }.join("\n")
    "int scint_heavy_#{tag}(int x);\nint scint_heavy_#{tag}(int x)\n{\n  volatile int a = x;\n#{body}\n  return a;\n}\n"
  end

  def heavy_parts(name, n)
    (1..n).to_h { |i| ["ext/#{name}/part_#{i}.c", { content: heavy_c("#{name}_#{i}") }] }
  end

  # Native gems: one whose extconf requires another gem of the bundle, three
  # with several C files each, and a platform gem (ruby variant with an
  # extension, x86_64-linux variant prebuilt).
  def native_corpus(extra = {})
    require_toolchain!
    c = Scint::Gemgen::Corpus.new(File.join(tmp, "corpus"), so_cache: File.join(ScintTest::CORPUS_DIR, "so-cache"))
    c.add(name: "np_portile", version: "2.8.1", files: 3)
    c.add(name: "np_json", version: "1.0.0", ext: "extconf", ext_requires: ["np_portile"], deps: { "np_portile" => "~> 2.8" })
    %w[np_pg np_bcrypt np_msgpack].each do |n|
      c.add(name: n, version: "1.1.0", ext: "extconf", extra_files: heavy_parts(n, extra.fetch(:parts, 1)))
    end
    c.add(name: "np_fast", version: "2.0.0", ext: "extconf")
    c.add(name: "np_fast", version: "2.0.0", platform: Gem::Platform.local.to_s, prebuilt: true)
    yield c if block_given?
    c.build!
    c
  end

  NATIVE = %w[np_json np_pg np_bcrypt np_msgpack].freeze

  def native_app(corpus, gems = (NATIVE + %w[np_fast]).to_h { |n| [n, []] }, name: "app", cache: :own)
    server = serve(corpus.dir)
    app = app(name, gems: gems, source: server.url, cache: cache)
    app.bundle_lock!
    [server, app]
  end

  def load_script(names)
    names.map { |n| "require #{n.inspect}" }.join("; ") + "; " +
      names.map { |n| "puts #{n.split("_").map(&:capitalize).join}.ext_token" }.join("; ")
  end

  def assert_extensions_load(app)
    r = app.bundle("exec", "ruby", "-e", load_script(NATIVE + %w[np_fast]))
    assert_success r
    assert_equal (NATIVE.map { |n| "#{n}-#{n == "np_json" ? "1.0.0" : "1.1.0"}:extconf" } +
                  ["np_fast-2.0.0-#{Gem::Platform.local}:prebuilt"]), r.stdout.lines(chomp: true)
    refute_match(/extensions are not built/, r.stderr)
  end

  def builds_in(trace)
    read_trace(trace).select { |t| t["op"] == "build" && t["argv"]&.include?("--build") }
  end

  # Done-when 1 and 5: every extension loads under bundle exec with no
  # "extensions are not built" warning, in RubyGems' layout; the platform gem
  # for this machine is not compiled.
  def test_native_gems_build_load_and_match_bundler
    corpus = native_corpus
    _server, app = native_app(corpus)
    env, trace = trace_env(app)
    r = scint!(app, env: env)
    assert_match(/: 6 installed \(6 fetched, 0 from cache, 4 compiled\)/, r.stdout)
    assert_equal NATIVE.sort, builds_in(trace).map { |t| t["gem"].sub(/-[\d.]+\z/, "") }.sort
    app.bundle_check!
    assert_extensions_load(app)
    root = app.install_root
    ext = File.join(root, "extensions", Gem::Platform.local.to_s, Gem.extension_api_version)
    NATIVE.each do |n|
      full = "#{n}-#{n == "np_json" ? "1.0.0" : "1.1.0"}"
      %w[gem.build_complete gem_make.out].each { |f| assert File.file?(File.join(ext, full, f)), "#{full}/#{f}" }
      assert File.file?(File.join(ext, full, n, "#{n}_ext.so"))
      assert File.file?(File.join(root, "gems", full, "lib", n, "#{n}_ext.so")), "the .so is copied into lib too"
    end
    assert_match(/using np_portile/, File.read(File.join(ext, "np_json-1.0.0", "gem_make.out")))
    refute File.exist?(File.join(ext, "np_fast-2.0.0-#{Gem::Platform.local}"))
    # Same files as Bundler's own install. Bundler builds in the project's
    # .bundle, scint where the shared entry lives (cached/<abi>/<entry>/): the
    # build's text records (Makefile, gem_make.out, mkmf.log) are the same
    # with those two directories named alike; the compiled .o and .so embed
    # the directory in their debug information and are compared by name.
    oracle = oracle_install(app)
    products = %r{(\.o|\.so|Makefile|gem_make\.out|mkmf\.log)\z}
    NATIVE.each do |n|
      full = "#{n}-#{n == "np_json" ? "1.0.0" : "1.1.0"}"
      entry = File.join(cached_dir(app), full)
      ext_rel = File.join("extensions", Gem::Platform.local.to_s, Gem.extension_api_version, full)
      norm = lambda do |text, gem_dir, ext_dir|
        # (RubyGems names its make destination and siteconf file afresh each time)
        text.gsub(gem_dir, "<GEM>").gsub(ext_dir, "<EXT>").gsub(/(\.gem\.|siteconf)\d{8}-\d+-\w+/, "\\1<TMP>")
      end
      Dir.glob(["gems/#{full}/**/{Makefile,mkmf.log}", "#{ext_rel}/**/{gem_make.out,mkmf.log}"], base: app.install_root).each do |rel|
        theirs = norm.call(File.read(File.join(oracle.install_root, rel)), File.join(oracle.install_root, "gems", full),
                           File.join(oracle.install_root, ext_rel))
        ours = norm.call(File.read(File.join(app.install_root, rel)), File.join(entry, "gem"), File.join(entry, "ext"))
        assert_equal theirs, ours, "#{rel}, its directories named alike"
      end
    end
    assert_equal(oracle.tree_snapshot.reject { |r| INSTALLER_SPECIFIC.any? { |re| re.match?(r[0]) } }.map { |r| r[0, 2] },
                 app.tree_snapshot.reject { |r| INSTALLER_SPECIFIC.any? { |re| re.match?(r[0]) } }.map { |r| r[0, 2] })
    diff = ScintTest.tree_diff(oracle.tree_snapshot, app.tree_snapshot)
                    .reject { |l| INSTALLER_SPECIFIC.any? { |re| re.match?(l[/\["([^"]+)"/, 1]) } || l[/\["([^"]+)"/, 1] =~ products }
    assert_empty diff
  end

  # Done-when 2: with .bundle deleted, nothing is compiled and the extensions load.
  def test_warm_reinstall_compiles_nothing
    corpus = native_corpus
    _server, app = native_app(corpus)
    scint!(app)
    FileUtils.rm_rf(app.path(".bundle"))
    env, trace = trace_env(app)
    r = scint!(app, env: env)
    assert_match(/: 6 installed \(0 fetched, 6 from cache, 0 compiled\)/, r.stdout)
    assert_empty read_trace(trace).select { |t| t["op"] == "spawn" }
    app.bundle_check!
    assert_extensions_load(app)
  end

  # Live compilers (cc1) started by the scint run that carries env's mark:
  # every process scint starts inherits its environment, even one orphaned
  # by a killed build, and nothing else on the machine has the mark. (An
  # exited cc1 waiting to be reaped is not compiling.)
  def compiler_mark
    { "SCINT_TEST_RUN" => "#{Process.pid}-#{rand(1 << 62)}" }
  end

  def compilers(mark)
    needle = "#{mark.keys.first}=#{mark.values.first}\0"
    Dir.glob("/proc/[0-9]*/stat").count do |f|
      File.read(f).match?(/\A\d+ \(cc1\) [^Z]/) &&
        File.binread(File.join(File.dirname(f), "environ")).include?(needle)
    rescue SystemCallError
      false
    end
  end

  # The highest number of compilers seen at once while the block runs
  # scint with the environment it is given.
  def max_compilers
    mark = compiler_mark
    max = 0
    done = false
    sampler = Thread.new do
      until done
        n = compilers(mark)
        max = n if n > max
        sleep 0.002
      end
    end
    yield mark
    done = true
    sampler.join
    max
  end

  # Done-when 3: --jobs 2 with four builds of several C files each: never more
  # than two compilers at once (and two do run at once). The same bundle with
  # --jobs 4 runs more, so the sampler can see a breach.
  def test_jobserver_bounds_compilers_across_builds
    corpus = native_corpus(parts: 3)
    _server, app = native_app(corpus)
    r = nil
    max = max_compilers { |env| r = scint!(app, "--jobs", "2", env: env) }
    assert_match(/4 compiled/, r.stdout)
    assert_operator max, :<=, 2, "at most --jobs compilers at once"
    assert_equal 2, max, "two compilers did run at once"
    app.bundle_check!

    _server2, wide = native_app(corpus, name: "wide")
    max4 = max_compilers { |env| scint!(wide, "--jobs", "4", env: env) }
    assert_operator max4, :>, 2, "with --jobs 4 more than two compilers run at once"
  end

  # Done-when 4: a failed build shows the compiler's output, keeps it in a
  # log, exits non-zero, leaves nothing in cached/, and succeeds on the next
  # run once fixed (here: the include dir given through BUNDLE_BUILD__<GEM>,
  # which is also recorded in build_info/).
  def test_failed_build_reports_and_retries
    corpus = native_corpus do |c|
      src = "#include <ruby.h>\n#include \"scfoo.h\"\nvoid Init_np_broken_ext(void) { rb_define_module(SCFOO_NAME); }\n"
      c.add(name: "np_broken", version: "1.0.0", ext: "extconf", extra_files: { "ext/np_broken/np_broken_ext.c" => { content: src } })
    end
    _server, app = native_app(corpus, { "np_broken" => [], "np_json" => [] })
    2.times do |attempt|
      env, trace = trace_env(app, "trace-#{attempt}.jsonl")
      r = app.scint("install", env: env)
      refute r.success?
      assert_equal 1, r.exitstatus
      assert_match(/error: cannot build the native extension of np_broken-1\.0\.0 \(exit 1\); the build's output follows, also kept in (\S+)/, r.stderr)
      log = r.stderr[/also kept in (\S+)/, 1]
      assert_match(/scfoo\.h: No such file or directory/, r.stderr, "the compiler's own message is shown")
      assert_match(/scfoo\.h: No such file or directory/, File.read(log))
      assert_equal 1, builds_in(trace).count { |t| t["gem"] == "np_broken-1.0.0" }, "each run tries the build again"
      assert_empty Dir.glob("np_broken*", base: cached_dir(app))
      assert_empty Dir.children(File.join(app.cache, "assembling", ABI))
      assert File.file?(File.join(cached_dir(app), "np_json-1.0.0.manifest")), "the other native gem was built"
    end
    inc = File.join(tmp, "include")
    FileUtils.mkdir_p(inc)
    File.write(File.join(inc, "scfoo.h"), "#define SCFOO_NAME \"NpBroken\"\n")
    fixed = { "BUNDLE_BUILD__NP_BROKEN" => "--with-cflags=-I#{inc}" }
    r = app.scint("install", env: fixed)
    assert_success r
    assert_match(/1 compiled/, r.stdout)
    assert_equal "--with-cflags=-I#{inc}\n", File.read(File.join(app.install_root, "build_info", "np_broken-1.0.0.info"))
    assert_equal 1, Dir.glob("np_broken-1.0.0+build-*.manifest", base: cached_dir(app)).size
    check = ScintTest.run(ScintTest.isolated_env(app.home, "BUNDLE_PATH" => ".bundle"),
                          [ScintTest.bundle_bin, "exec", "ruby", "-e", "require 'np_broken'; p defined?(NpBroken)"], chdir: app.dir)
    assert_success check
    refute_match(/extensions are not built/, check.stderr)
  end

  # Ctrl-C during builds: scint stops them (they run in their own process
  # groups, out of the terminal's reach), removes their trees, exits 130.
  def test_interrupt_stops_builds_and_cleans_up
    corpus = native_corpus(parts: 4)
    _server, app = native_app(corpus)
    mark = compiler_mark
    env = ScintTest.isolated_env(app.home, { "SCINT_CACHE" => app.cache }.merge(mark))
    out = File.join(tmp, "out")
    pid = Process.spawn(env, ScintTest.scint_bin, "install", "--jobs", "2", chdir: app.dir, out: out, err: out)
    deadline = Time.now + 60
    sleep 0.02 until compilers(mark).positive? || Time.now > deadline
    assert compilers(mark).positive?, "a build was running"
    Process.kill("INT", pid)
    _, status = Process.wait2(pid)
    assert_equal 130, status.exitstatus, File.read(out)
    assert_match(/error: interrupted/, File.read(out))
    # A killed compiler may linger as a zombie until init reaps it: not counted.
    sleep 0.5
    assert_equal 0, compilers(mark), "no compiler outlives scint"
    assert_empty Dir.children(File.join(app.cache, "assembling", ABI))
    NATIVE.each { |n| assert_empty Dir.glob("#{n}-*.manifest", base: cached_dir(app)) }
    # And the next run finishes the job.
    scint!(app)
    assert_extensions_load(app)
  end

  # A gem whose build records where it ran, as real ones do (an rpath into
  # the gem's own ports/, a data dir compiled in, a generated .rb): the
  # extconf compiles its own directory into the extension and writes a Ruby
  # file naming it and the directory make ran in.
  WHERE_EXTCONF = <<~'RUBY'
    require "mkmf"
    File.write(File.join(__dir__, "data.txt"), "np_where data\n")
    File.write(File.expand_path("../../lib/np_where/where.rb", __dir__),
               "module NpWhere\n  EXT_DIR = #{__dir__.dump}\n  BUILD_DIR = #{Dir.pwd.dump}\nend\n")
    $defs << %(-DNP_WHERE_DIR='"#{__dir__}"')
    create_makefile("np_where/np_where_ext")
  RUBY
  WHERE_C = <<~'C'
    #include <ruby.h>
    static VALUE np_where_dir(VALUE self) { (void)self; return rb_str_new_cstr(NP_WHERE_DIR); }
    static VALUE np_where_token(VALUE self) { (void)self; return rb_str_new_cstr("np_where"); }
    void Init_np_where_ext(void)
    {
        VALUE m = rb_define_module("NpWhere");
        rb_define_singleton_method(m, "ext_dir", np_where_dir, 0);
        rb_define_singleton_method(m, "ext_token", np_where_token, 0);
    }
  C

  def where_corpus
    native_corpus do |c|
      c.add(name: "np_plain", version: "1.0.0", files: 2)
      c.add(name: "np_where", version: "1.0.0", ext: "extconf",
            extra_files: { "ext/np_where/extconf.rb" => { content: WHERE_EXTCONF },
                           "ext/np_where/np_where_ext.c" => { content: WHERE_C } })
    end
  end

  WHERE_SCRIPT = 'require "np_where"; require "np_where/where"; ' \
                 'puts NpWhere.ext_dir, NpWhere::EXT_DIR, NpWhere::BUILD_DIR, File.read(File.join(NpWhere.ext_dir, "data.txt"))'

  # The directories the extension of np_where reports under bundle exec in app.
  def where_dirs(app)
    r = app.bundle("exec", "ruby", "-e", WHERE_SCRIPT)
    assert_success r
    refute_match(/extensions are not built/, r.stderr)
    lines = r.stdout.lines(chomp: true)
    assert_equal "np_where data", lines[3]
    lines[0, 3]
  end

  # Done-when 5 of the engine issue: a build runs where its entry lives
  # (cached/<abi>/<entry>/, shared by every project), so what it records
  # names directories that exist after promote, and after materializing into
  # another project that shares the cache; a path under one project's .bundle
  # would be wrong for the next one, whose files are the same inodes.
  def test_paths_a_build_records_stay_valid
    corpus = where_corpus
    shared = File.join(tmp, "shared-cache")
    _server, app = native_app(corpus, { "np_where" => [] }, cache: shared)
    r = scint!(app)
    assert_match(/1 compiled/, r.stdout)
    entry = File.join(shared, "cached", ABI, "np_where-1.0.0")
    dirs = where_dirs(app)
    assert_equal [File.join(entry, "gem/ext/np_where")] * 3, dirs.map { |d| File.realpath(d) }
    dirs.each { |d| assert File.directory?(d), "#{d} exists after promote" }
    assert_empty Dir.children(File.join(shared, "assembling", ABI)), "no marker or tree is left"
    # Every directory of the cache that the build's own records name exists.
    ext = File.join(app.install_root, "extensions", Gem::Platform.local.to_s, Gem.extension_api_version, "np_where-1.0.0")
    recorded = Dir.glob(["gems/np_where-1.0.0/**/{Makefile,mkmf.log}", "#{ext.delete_prefix("#{app.install_root}/")}/**/*"],
                        base: app.install_root).map { |f| File.join(app.install_root, f) }.select { |f| File.file?(f) && !f.end_with?(".so") }
    assert_empty %w[Makefile gem_make.out] - recorded.map { |f| File.basename(f) }
    named = recorded.flat_map { |f| File.read(f).scan(%r{#{Regexp.escape(shared)}/[^\s"':;)]*}) }.uniq
    refute_empty named
    named.each { |p| assert File.exist?(p.chomp("/")), "#{p} (recorded by the build) exists" }
    refute named.any? { |p| p.include?("/assembling/") }

    # Another project on the same cache: materialized, not built, same valid paths.
    _server2, other = native_app(corpus, { "np_where" => [], "np_plain" => [] }, name: "other", cache: shared)
    r = scint!(other)
    assert_match(/0 compiled/, r.stdout)
    assert_equal dirs, where_dirs(other)
    other.bundle_check!
  end

  # Processes of the scint run that carries mark (every child inherits it).
  def marked_processes(mark)
    needle = "#{mark.keys.first}=#{mark.values.first}\0"
    Dir.glob("/proc/[0-9]*/environ").count do |f|
      File.binread(f).include?(needle) && !File.read(File.join(File.dirname(f), "stat")).match?(/\A\d+ \(.*\) Z/)
    rescue SystemCallError
      false
    end
  end

  # kill -9 during a build in cached/: the tree there has no manifest, so no
  # run takes it for an entry; the next run with any work removes it (its
  # marker in assembling/ names it), and the gem then builds and loads.
  def test_killed_build_in_cached_is_no_entry_and_is_swept
    corpus = where_corpus
    shared = File.join(tmp, "shared-cache")
    _server, app = native_app(corpus, { "np_where" => [], "np_pg" => [] }, cache: shared)
    mark = compiler_mark
    env = ScintTest.isolated_env(app.home, { "SCINT_CACHE" => shared }.merge(mark))
    out = File.join(tmp, "out")
    pid = Process.spawn(env, ScintTest.scint_bin, "install", "--jobs", "1", chdir: app.dir, out: out, err: out)
    deadline = Time.now + 60
    sleep 0.01 until compilers(mark).positive? || Time.now > deadline
    assert compilers(mark).positive?, "a build was running"
    Process.kill("KILL", pid)
    Process.wait(pid)
    sleep 0.05 while marked_processes(mark).positive? && Time.now < deadline
    assert_equal 0, marked_processes(mark), "the orphaned build ended"
    cached = File.join(shared, "cached", ABI)
    building = Dir.children(File.join(shared, "assembling", ABI)).grep(/\.building\z/).map { |n| n.delete_suffix(".building") }
    refute_empty building, "a build was running in cached/"
    building.each do |e|
      assert File.directory?(File.join(cached, e)), "#{e} is built in cached/"
      refute File.exist?(File.join(cached, "#{e}.manifest")), "#{e} is no entry"
    end
    # bundle check on a project of the same cache: nothing half-built is used.
    _server2, plain = native_app(corpus, { "np_plain" => [] }, name: "plain", cache: shared)
    scint!(plain)
    building.each { |e| refute File.exist?(File.join(cached, e)), "the next run removed #{e}" }
    assert_empty Dir.children(File.join(shared, "assembling", ABI))
    scint!(app)
    app.bundle_check!
    assert File.directory?(where_dirs(app).first)
  end

  # Done-when 6: Rakefile and CMake builders, as RubyGems runs them.
  def test_rake_and_cmake_builders
    require_command!("cmake")
    require_toolchain!
    c = Scint::Gemgen::Corpus.new(File.join(tmp, "corpus"))
    c.add(Scint::Gemgen::InstalledGem.new("rake"))
    c.add(name: "rkext", version: "0.1.0", ext: "rake", deps: { "rake" => ">= 12" })
    c.add(name: "cmext", version: "0.2.0", ext: "cmake")
    c.build!
    _server, app = native_app(c, { "rkext" => [], "cmext" => [] })
    r = scint!(app)
    assert_match(/2 compiled/, r.stdout)
    app.bundle_check!
    check = app.bundle("exec", "ruby", "-e", 'require "rkext"; require "cmext"; puts Rkext.ext_token, Cmext.ext_token')
    assert_success check
    assert_equal "rkext-0.1.0:rake\ncmext-0.2.0:cmake\n", check.stdout
    refute_match(/extensions are not built/, check.stderr)
  end
end

class TestBrokenToolchain < ScintTest::Case
  include InstallSupport

  # The interpreter cannot be executed: spawning it fails, and that is
  # reported with the reason (no hang, non-zero exit).
  def test_unrunnable_ruby_is_reported
    _shape, _corpus, _server, app = small_app
    fake = File.join(tmp, "bin", "ruby")
    FileUtils.mkdir_p(File.dirname(fake))
    File.write(fake, "\x7fELF not really")
    File.chmod(0o755, fake)
    r = app.scint("install", env: { "SCINT_RUBY" => fake }, timeout: 120)
    refute r.timed_out
    refute r.success?
    assert_match(/^error: cannot start the Ruby helper: cannot run '#{Regexp.escape(fake)}': Exec format error$/, r.stderr)
    refute File.exist?(File.join(app.install_root, "specifications"))
  end
end
