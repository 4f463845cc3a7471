# frozen_string_literal: true

# The no-op install answered from the snapshot the last install wrote into
# scint.state (phases/snapshot.c): taken when nothing changed, and never
# taken when a gem's directory, a specification or the lockfile changed.

require "digest"
require_relative "install_support"

class TestNoopSnapshot < ScintTest::Case
  include InstallSupport

  SNAPSHOT_HOLDS = "the snapshot of the last install holds"

  def setup
    super
    _shape, _corpus, @server, @app = small_app
    scint!(@app)
    @root = Dir.glob(@app.path(".bundle/ruby/*")).first
  end

  # [stdout, whether the snapshot answered] of one `scint install`.
  def install
    env, trace = trace_env(@app)
    r = scint!(@app, env: env)
    [r.stdout, read_trace(trace).any? { |t| t["what"] == "noop" && t["detail"] == SNAPSHOT_HOLDS }]
  end

  def test_noop_is_answered_from_the_snapshot
    out, fast = install
    assert fast, "the no-op after an install answers from its snapshot"
    assert_match(/^Bundle complete! 29 gems in .*: 0 installed .* 28 already installed, 1 default, 0 failed$/, out)
    assert_match(/^snapshot \h{16} 29 1$/, File.read(@app.path(".bundle/scint.state")))
  end

  def test_a_deleted_gem_directory_is_installed_again
    FileUtils.rm_rf(File.join(@root, "gems", "sc_rack-2.2.4"))
    out, fast = install
    refute fast
    assert_match(/: 1 installed \(0 fetched, 1 from cache/, out)
    assert File.file?(File.join(@root, "gems", "sc_rack-2.2.4", "lib", "sc_rack.rb")) ||
           !Dir.empty?(File.join(@root, "gems", "sc_rack-2.2.4"))
    @app.bundle_check!
    _, fast = install
    assert fast, "the repaired install wrote a new snapshot"
  end

  def test_a_deleted_specification_is_installed_again
    File.unlink(File.join(@root, "specifications", "sc_yaml-0.1.2.gemspec"))
    out, fast = install
    refute fast
    assert_match(/: 1 installed \(0 fetched, 1 from cache/, out)
    assert File.file?(File.join(@root, "specifications", "sc_yaml-0.1.2.gemspec"))
    @app.bundle_check!
  end

  # An edit that keeps the lockfile's mtime (restored) is still seen (size, ctime).
  def test_an_edited_lockfile_is_noticed
    lock = @app.path("Gemfile.lock")
    st = File.stat(lock)
    File.write(lock, "#{File.read(lock)}\n")
    File.utime(st.atime, st.mtime, lock)
    _, fast = install
    refute fast, "the lockfile changed"
    state = File.read(@app.path(".bundle/scint.state"))
    assert_includes state, "lockfile_sha256 #{Digest::SHA256.file(lock).hexdigest}\n"
    _, fast = install
    assert fast
  end

  # The environment decides too: a BUNDLE_* variable set since is not a no-op by snapshot.
  def test_a_new_bundle_variable_is_noticed
    env, trace = trace_env(@app)
    scint!(@app, env: env.merge("BUNDLE_WITHOUT" => "nothing_here"))
    refute(read_trace(trace).any? { |t| t["detail"] == SNAPSHOT_HOLDS })
  end

  # A Gemfile edited while an install runs (here by a gem's build, after
  # scint read the Gemfile) is not recorded as installed: that install writes
  # no snapshot, and the next one takes the full way and sees the edit.
  def test_an_edit_during_the_install_is_not_recorded
    require_toolchain!
    c = Scint::Gemgen::Corpus.new(File.join(tmp, "corpus"), so_cache: File.join(ScintTest::CORPUS_DIR, "so-cache"))
    extconf = "require \"mkmf\"\nf = ENV[\"SC_EDIT_GEMFILE\"]\n" \
              "File.write(f, File.read(f) + \"\\n# edited while installing\\n\") if f\n" \
              "create_makefile(\"ed_ext/ed_ext_ext\")\n"
    c.add(name: "ed_ext", version: "1.0.0", ext: "extconf", extra_files: { "ext/ed_ext/extconf.rb" => extconf })
    c.build!
    a = app("edit", gems: { "ed_ext" => [] }, source: serve(c.dir).url)
    a.bundle_lock!
    state = a.path(".bundle/scint.state")
    assert_success a.scint("install", env: { "SC_EDIT_GEMFILE" => a.path("Gemfile") })
    assert_includes a.read_file("Gemfile"), "# edited while installing"
    assert_match(/^snapshot -$/, File.read(state))
    runs = 2.times.map do
      env, trace = trace_env(a)
      assert_success a.scint("install", env: env)
      read_trace(trace).any? { |t| t["what"] == "noop" && t["detail"] == SNAPSHOT_HOLDS }
    end
    assert_equal [false, true], runs, "the edit is seen, then the snapshot holds"
    assert_match(/^snapshot \h{16} 1 0$/, File.read(state))
  end
end
