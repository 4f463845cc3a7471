# frozen_string_literal: true

# `scint lock`, `scint update` and a resolving `scint install`, with real
# Bundler as the oracle: from the same compact index, scint writes the same
# Gemfile.lock bytes as `bundle lock`, for a fresh lock and after each edit
# (add a gem, remove one, tighten a requirement, update GEM, update --patch,
# lock --add-platform). The index holds newer versions, prereleases,
# platform variants and a version whose required_ruby_version excludes this
# Ruby, so the rules that pick a version are all exercised.
#
# scint syncs its copy of the index (<cache>/index/<slug>/) from the
# server, then resolves from it.

require "scint_test"

class TestLock < ScintTest::Case
  G = Scint::Gemgen::GemDesc

  # The small shape plus what resolution must skip or may pick.
  def lock_shape(name, newer: false)
    base = Scint::Shapes.small
    gems = base.gems.dup
    gems << G.new(name: "sc_logger", version: "1.6.0", files: 1, required_ruby_version: ">= 9.0")
    gems << G.new(name: "sc_config", version: "0.4.0.rc1", files: 1, deps: { "sc_logger" => ">= 1.0", "sc_yaml" => "~> 0.1" })
    gems << G.new(name: "sc_extra", version: "1.0.0", files: 1, deps: { "sc_yaml" => ">= 0.1", "sc_color" => "~> 0.3" })
    gems << G.new(name: "sc_left", version: "1.0.0", files: 1, deps: { "sc_shared" => "~> 1.0" })
    gems << G.new(name: "sc_right", version: "1.0.0", files: 1, deps: { "sc_shared" => "~> 2.0" })
    gems << G.new(name: "sc_shared", version: "1.1.0", files: 1)
    gems << G.new(name: "sc_shared", version: "2.0.0", files: 1)
    if newer
      %w[1.2.3 1.3.0 2.0.0].each { |v| gems << G.new(name: "sc_tz", version: v, files: 1) }
      %w[0.3.2 0.4.0].each { |v| gems << G.new(name: "sc_color", version: v, files: 1) }
      %w[2.1.1 2.2.0 3.0.0].each { |v| gems << G.new(name: "sc_pool", version: v, files: 1) }
      gems << G.new(name: "sc_time", version: "0.2.1", files: 1, deps: { "sc_tz" => ">= 1.0" })
    end
    Scint::Shapes::Shape.new(name: name, gems: gems, gemfile_deps: base.gemfile_deps, locked: base.locked)
  end

  def setup
    super
    require_bundler!
    require_scint!
  end

  # The served dir (a private copy of corpus a), its server and two apps
  # with the same Gemfile: one locked by Bundler, one by scint.
  def lock_env(deps = nil)
    shape, a = corpus(lock_shape("lock-a"))
    dir = corpus_copy(a)
    server = serve(dir)
    deps ||= shape.gemfile_deps
    [dir, server, app("bundler", gems: deps, source: server.url), app("scint", gems: deps, source: server.url)]
  end

  # Serves corpus b (a's gems and newer ones) from the same dir.
  # Bundler's own copy of the old index is dropped: the served files are
  # replaced, not appended to as a real index is.
  def switch_to_newer(dir, server, bundler)
    FileUtils.rm_rf(File.join(bundler.home, ".bundle", "cache"))
    _, b = corpus(lock_shape("lock-b", newer: true))
    %w[gems info].each do |sub|
      FileUtils.rm_rf(File.join(dir, sub))
      FileUtils.cp_r(File.join(b.dir, sub), dir)
    end
    %w[versions names].each { |f| FileUtils.cp(File.join(b.dir, f), dir) }
    server.refresh
  end

  def gemfile(app, deps)
    app.write_file("Gemfile", Scint::Shapes.gemfile(app.source, deps))
  end

  # Runs `bundle <args>` in one app and `scint <args>` in the other; both
  # must succeed and leave the same lockfile.
  def both!(bundler, scint, _dir, *args)
    bundler.bundle!(*args)
    r = scint.scint(*args)
    assert_success r, "scint #{args.join(" ")}"
    assert_equal bundler.lockfile, scint.lockfile, "after #{args.join(" ")}"
    r
  end

  def test_lock_matches_bundler_through_edits
    dir, server, bundler, scint = lock_env
    both!(bundler, scint, dir, "lock")
    lock = scint.lockfile
    assert_includes lock, "    sc_fastjson (2.6.3-x86_64-linux)\n"
    assert_includes lock, "    sc_logger (1.5.1)\n"
    assert_includes lock, "    sc_config (0.3.0)\n"
    # Nothing changed: the file is not rewritten, and the index is only
    # revalidated (conditional/ranged requests, no whole body).
    mtime = File.mtime(scint.path("Gemfile.lock"))
    sleep 0.01
    server.reset_log
    r = scint.scint("lock")
    assert_success r
    refute_empty server.requests
    assert server.requests.all? { |q| [304, 206].include?(q.status.to_i) }, server.requests.map { |q| "#{q.status} #{q.uri}" }.join("\n")
    assert_match(/up to date/, r.stdout)
    assert_equal mtime, File.mtime(scint.path("Gemfile.lock"))

    deps = Scint::Shapes.small.gemfile_deps.merge("sc_extra" => [])
    [bundler, scint].each { |a| gemfile(a, deps) }
    both!(bundler, scint, dir, "lock")
    assert_includes scint.lockfile, "    sc_extra (1.0.0)\n"

    deps.delete("sc_native")
    [bundler, scint].each { |a| gemfile(a, deps) }
    both!(bundler, scint, dir, "lock")
    refute_includes scint.lockfile, "sc_portile"

    switch_to_newer(dir, server, bundler)
    deps["sc_time"] = []
    [bundler, scint].each { |a| gemfile(a, deps) }
    both!(bundler, scint, dir, "lock")
    assert_includes scint.lockfile, "    sc_tz (1.2.2)\n" # kept: locked
    assert_includes scint.lockfile, "    sc_time (0.2.0)\n"

    deps["sc_time"] = ["~> 0.2.1"] # the locked 0.2.0 no longer fits
    [bundler, scint].each { |a| gemfile(a, deps) }
    both!(bundler, scint, dir, "lock")
    assert_includes scint.lockfile, "    sc_time (0.2.1)\n"

    assert_includes scint.lockfile, "    sc_tz (2.0.0)\n" # freed with sc_time
    assert_includes scint.lockfile, "    sc_pool (2.1.0)\n" # kept

    r = both!(bundler, scint, dir, "update", "--patch")
    assert_includes scint.lockfile, "    sc_pool (2.1.1)\n"
    assert_match(/Bundle complete!/, r.stdout) # update installs, as Bundler's does
    scint.bundle_check!
    assert_includes scint.lockfile, "    sc_color (0.3.2)\n"

    both!(bundler, scint, dir, "update", "sc_time")
    assert_includes scint.lockfile, "    sc_time (0.2.1)\n"

    deps["sc_tz"] = ["~> 1.2.0"]
    [bundler, scint].each { |a| gemfile(a, deps) }
    both!(bundler, scint, dir, "lock")

    both!(bundler, scint, dir, "update", "sc_tz")
    both!(bundler, scint, dir, "update", "--conservative", "sc_cache")
    both!(bundler, scint, dir, "update", "--minor", "--strict")
    both!(bundler, scint, dir, "lock", "--update", "sc_color")
    both!(bundler, scint, dir, "update")
    both!(bundler, scint, dir, "lock", "--add-platform", "arm64-darwin")
    assert_includes scint.lockfile, "    sc_fastjson (2.6.3-arm64-darwin)\n"
    both!(bundler, scint, dir, "lock", "--add-platform", "ruby")
    assert_includes scint.lockfile, "    sc_fastjson (2.6.3)\n"
    both!(bundler, scint, dir, "lock", "--remove-platform", "arm64-darwin")
    r = scint.scint("lock", "--print", "--add-platform", "x86_64-darwin")
    assert_success r
    assert_includes r.stdout, "  x86_64-darwin\n"
    refute_includes scint.lockfile, "x86_64-darwin"
  end

  def test_conflict_names_both_requirements_and_keeps_the_lockfile
    dir, _server, bundler, scint = lock_env({ "sc_left" => [], "sc_right" => [] })
    scint.write_file("Gemfile.lock", "untouched\n")
    r = scint.scint("lock")
    refute r.success?
    assert_match(/Gemfile depends on sc_left \(Gemfile:3\)/, r.stderr)
    assert_match(/Gemfile depends on sc_right \(Gemfile:4\)/, r.stderr)
    assert_match(/depends on sc_shared ~> 1\.0/, r.stderr)
    assert_match(/depends on sc_shared ~> 2\.0/, r.stderr)
    assert_equal "untouched\n", scint.lockfile
    refute bundler.bundle("lock").success? # the oracle agrees there is none

    # A dependency for other platforms only is listed but not resolved.
    File.delete(scint.path("Gemfile.lock"))
    [bundler, scint].each do |a|
      a.write_file("Gemfile", a.read_file("Gemfile").sub('gem "sc_left"', 'gem "sc_left", platforms: :jruby'))
    end
    both!(bundler, scint, nil, "lock")
    assert_includes scint.lockfile, "  sc_left\n"
    refute_includes scint.lockfile, "    sc_left (1.0.0)\n"

    # A `ruby` line gives RUBY VERSION, as Bundler writes it.
    [bundler, scint].each { |a| a.write_file("Gemfile", a.read_file("Gemfile") + "ruby #{RUBY_VERSION.inspect}\n") }
    both!(bundler, scint, nil, "lock")
    assert_includes scint.lockfile, "\nRUBY VERSION\n   ruby #{RUBY_VERSION}"

    # A lockfile with CHECKSUMS keeps them, from the index's sha256.
    scint.write_file("Gemfile.lock", scint.lockfile.sub("\nRUBY VERSION\n", "\nCHECKSUMS\n\nRUBY VERSION\n"))
    assert_success scint.scint("lock")
    sha = Digest::SHA256.file(File.join(dir, "gems", "sc_right-1.0.0.gem")).hexdigest
    assert_includes scint.lockfile, "\nCHECKSUMS\n  sc_right (1.0.0) sha256=#{sha}\n"

    # A symlinked lockfile is written through its link and keeps its mode.
    real = scint.path("real.lock")
    File.rename(scint.path("Gemfile.lock"), real)
    File.chmod(0o600, real)
    File.symlink("real.lock", scint.path("Gemfile.lock"))
    assert_success scint.scint("lock", "--add-platform", "x86_64-darwin")
    assert File.symlink?(scint.path("Gemfile.lock")), "the link was replaced by a file"
    assert_includes File.read(real), "  x86_64-darwin\n"
    assert_equal 0o600, File.stat(real).mode & 0o7777
  end

  def test_install_without_lockfile_resolves_and_frozen_refuses
    _dir, server, bundler, scint = lock_env
    r = scint.scint("install")
    assert_success r
    lock = scint.lockfile
    scint.bundle!("install", "--frozen")
    scint.bundle!("config", "unset", "frozen")
    scint.bundle!("lock")
    assert_equal lock, scint.lockfile
    bundler.bundle!("lock")
    assert_equal bundler.lockfile, lock
    scint.bundle_check!

    deps = Scint::Shapes.small.gemfile_deps.merge("sc_extra" => [])
    gemfile(scint, deps)
    r = scint.scint("install", env: { "BUNDLE_FROZEN" => "true" })
    refute r.success?
    assert_match(/You are trying to install in deployment mode after changing/, r.stderr)
    assert_match(/You have added to the Gemfile:\n\* sc_extra$/, r.stderr)
    assert_equal lock, scint.lockfile
    # Without the freeze only what changed is resolved.
    r = scint.scint("install")
    assert_success r
    assert_includes scint.lockfile, "    sc_extra (1.0.0)\n"
    scint.bundle_check!

    # With the server gone, --local resolves from the cached index alone.
    lock = scint.lockfile
    server.stop
    File.delete(scint.path("Gemfile.lock"))
    r = scint.scint("lock")
    refute r.success?
    refute File.exist?(scint.path("Gemfile.lock"))
    assert_success scint.scint("lock", "--local")
    assert_equal lock, scint.lockfile
  end

  # Cooldown (Bundler 4's --cooldown / BUNDLE_COOLDOWN): versions published
  # less than N days ago (compact index v2 created_at:) are skipped unless
  # locked; a line without a date passes.
  def test_cooldown_skips_new_versions
    _, b = corpus(lock_shape("lock-b", newer: true))
    dir = corpus_copy(b)
    now = Time.now.utc.strftime("%Y-%m-%dT%H:%M:%SZ")
    info = File.join(dir, "info", "sc_tz")
    lines = File.read(info).lines.map do |l|
      next l if l.start_with?("---")

      date = l.start_with?("1.3.0 ", "2.0.0 ") ? now : "2024-01-01T00:00:00Z"
      date = nil if l.start_with?("1.2.2 ")
      date ? l.chomp + ",created_at:#{date}\n" : l
    end
    File.write(info, lines.join)
    versions = File.read(File.join(dir, "versions")).sub(/^(sc_tz \S+) \h+$/) { "#{$1} #{Digest::MD5.hexdigest(lines.join)}" }
    File.write(File.join(dir, "versions"), versions)
    server = serve(dir)
    app = app(gems: { "sc_time" => [] }, source: server.url)
    assert_success app.scint("lock", "--cooldown", "3")
    assert_includes app.lockfile, "    sc_tz (1.2.3)\n"
    assert_success app.scint("lock", "--update", env: { "BUNDLE_COOLDOWN" => "3" })
    assert_includes app.lockfile, "    sc_tz (1.2.3)\n"
    assert_success app.scint("lock", "--update")
    assert_includes app.lockfile, "    sc_tz (2.0.0)\n"
    assert_success app.scint("lock", "--cooldown", "3") # locked: exempt
    assert_includes app.lockfile, "    sc_tz (2.0.0)\n"
    assert_success app.scint("lock", "--update", "--cooldown", "0")
    assert_includes app.lockfile, "    sc_tz (2.0.0)\n"
    r = app.scint("lock", env: { "BUNDLE_COOLDOWN" => "soon" })
    refute r.success?
    assert_match(/BUNDLE_COOLDOWN must be a number of days/, r.stderr)
  end

  # A hostile index: a gem with more versions than the resolver takes, and
  # one with a dependency chain far beyond the gem limit's reach, each end
  # with a clear error and no lockfile.
  def test_hostile_index_hits_limits
    _, a = corpus(lock_shape("lock-a"))
    dir = corpus_copy(a)
    huge = +"---\n"
    25_000.times { |i| huge << "1.0.#{i} |\n" }
    File.write(File.join(dir, "info", "sc_huge"), huge)
    File.open(File.join(dir, "versions"), "a") do |f|
      f << "sc_huge 1.0.0 #{Digest::MD5.hexdigest(huge)}\n"
    end
    # (sc_rep: below)
    rep = "---\n1.0.0 sc_shared:~> 1.0|checksum:#{"0" * 64}\n1.0.0 sc_shared:~> 1.0,:bad|checksum:#{"0" * 64}\n"
    File.write(File.join(dir, "info", "sc_rep"), rep)
    File.open(File.join(dir, "versions"), "a") { |f| f << "sc_rep 1.0.0 #{Digest::MD5.hexdigest(rep)}\n" }
    server = serve(dir)
    app = app(gems: { "sc_huge" => [] }, source: server.url)
    r = app.scint("lock")
    refute r.success?
    assert_match(/resolution gave up: sc_huge has more than 20000 versions/, r.stderr)
    refute File.exist?(app.path("Gemfile.lock"))

    # A line repeated with a malformed dependency list is unusable, and leaves
    # the earlier line of that version whole (its dependency is still locked).
    app2 = app("app2", gems: { "sc_rep" => [] }, source: server.url)
    assert_success app2.scint("lock")
    assert_includes app2.lockfile, "    sc_rep (1.0.0)\n      sc_shared (~> 1.0)\n"
    assert_includes app2.lockfile, "    sc_shared (1.1.0)\n"
  end

  # The ~250 and ~400 gem shapes (slow to build: run with SCINT_LOCK_BIG=1):
  # a fresh lock, removing and re-adding a Gemfile entry, update --patch and
  # --add-platform, each byte-identical to Bundler's.
  def test_medium_and_large_shapes
    skip "set SCINT_LOCK_BIG=1 to lock the medium and large shapes" unless ENV["SCINT_LOCK_BIG"] == "1"

    %i[medium large].each do |name|
      shape, corpus = corpus(name)
      server = serve(corpus.dir)
      bundler = app("#{name}-bundler", gems: shape.gemfile_deps, source: server.url)
      scint = app("#{name}-scint", gems: shape.gemfile_deps, source: server.url)
      t = Time.now
      both!(bundler, scint, nil, "lock")
      deps = shape.gemfile_deps.dup
      removed = deps.keys[deps.size / 2]
      deps.delete(removed)
      [bundler, scint].each { |a| gemfile(a, deps) }
      both!(bundler, scint, nil, "lock")
      [bundler, scint].each { |a| gemfile(a, shape.gemfile_deps) }
      both!(bundler, scint, nil, "lock")
      both!(bundler, scint, nil, "update", "--patch")
      both!(bundler, scint, nil, "lock", "--add-platform", "aarch64-linux")
      warn "#{name}: #{scint.lockfile.lines.grep(/\A    \S/).size} specs, #{(Time.now - t).round(1)}s"
    end
  end
end
