# frozen_string_literal: true

# `scint outdated` against real `bundle outdated` (Bundler 2.3.15): the same
# lockfile, the same compact index (served by the test server, then changed
# to hold newer versions, a prerelease, a platform variant for another
# platform and a version whose required_ruby_version excludes this Ruby),
# byte-identical stdout and the same exit status for the table and
# --parseable forms and each option.

require "scint_test"

class TestOutdated < ScintTest::Case
  G = Scint::Gemgen::GemDesc

  def od_shape(name, newer)
    g = []
    add = ->(n, v, **o) { g << G.new(name: n, version: v, files: 1, **o) }
    add.call("od_web", "1.0.0", deps: { "od_rack" => "~> 1.0" })
    add.call("od_rack", "1.0.0", deps: { "od_util" => ">= 0" })
    add.call("od_util", "1.0.0")
    add.call("od_json", "2.0.0")
    add.call("od_json", "2.0.0", platform: "x86_64-linux")
    add.call("od_tz", "1.2.2")
    add.call("od_pin", "1.0.0")
    add.call("od_test", "0.1.0")
    add.call("od_dev", "3.0.0")
    if newer
      %w[1.0.1 1.1.0 2.0.0 3.0.0.beta1].each { |v| add.call("od_web", v, deps: { "od_rack" => "~> 1.0" }) }
      %w[1.0.5 1.1.0 2.0.0].each { |v| add.call("od_rack", v, deps: { "od_util" => ">= 0" }) }
      add.call("od_util", "1.0.1")
      add.call("od_json", "2.1.0")
      add.call("od_json", "2.1.0", platform: "x86_64-linux")
      add.call("od_json", "2.2.0", platform: "arm64-darwin")
      add.call("od_tz", "1.2.3")
      add.call("od_tz", "9.0.0", required_ruby_version: ">= 9.0")
      add.call("od_pin", "1.1.0")
      add.call("od_test", "0.2.0.pre")
      add.call("od_dev", "3.0.1")
    end
    Scint::Shapes::Shape.new(name: name, gems: g, gemfile_deps: {}, locked: [])
  end

  GEMFILE = <<~G
    source "%s"
    gem "od_web"
    gem "od_json", "~> 2.0"
    gem "od_tz", ">= 1.0"
    gem "od_pin", "= 1.0.0"
    group :test do
      gem "od_test"
    end
    group :development, :test do
      gem "od_dev", "~> 3.0", ">= 3.0.0"
    end
  G

  def setup
    super
    require_bundler!
    require_scint!
  end

  def assert_same_outdated(bundler, scint, *args)
    b = bundler.bundle("outdated", *args)
    s = scint.scint("outdated", *args)
    assert_equal b.stdout, s.stdout, "stdout of outdated #{args.join(" ")}\n#{s.stderr}"
    assert_equal b.exitstatus, s.exitstatus, "exit status of outdated #{args.join(" ")}\n#{s.stderr}"
    s
  end

  def test_outdated_matches_bundler
    _, a = corpus(od_shape("outdated-a", false))
    dir = corpus_copy(a)
    server = serve(dir)
    bundler = app("bundler", gems: {}, source: server.url, gemfile: format(GEMFILE, server.url))
    scint = app("scint", gems: {}, source: server.url, gemfile: format(GEMFILE, server.url))
    bundler.bundle!("install") # Bundler's outdated GEM and --local need the gems installed
    scint.write_file("Gemfile.lock", bundler.lockfile)

    r = assert_same_outdated(bundler, scint)
    assert_equal 0, r.exitstatus
    assert_includes r.stdout, "Bundle up to date!\n"
    assert_same_outdated(bundler, scint, "--parseable")

    # The index gets newer versions.
    _, b = corpus(od_shape("outdated-b", true))
    %w[gems info].each do |sub|
      FileUtils.rm_rf(File.join(dir, sub))
      FileUtils.cp_r(File.join(b.dir, sub), dir)
    end
    %w[versions names].each { |f| FileUtils.cp(File.join(b.dir, f), dir) }
    server.refresh
    FileUtils.rm_rf(File.join(bundler.home, ".bundle", "cache"))

    r = assert_same_outdated(bundler, scint)
    assert_equal 1, r.exitstatus
    assert_includes r.stdout, "od_tz    1.2.2    9.0.0   >= 1.0            default\n"
    assert_includes r.stdout, "od_json  2.0.0    2.1.0   ~> 2.0            default\n"
    refute_includes r.stdout, "od_test"
    [%w[--porcelain], %w[--groups], %w[--group test], %w[--group nogroup],
     %w[--parseable --group test], %w[--patch], %w[--minor --strict],
     %w[--filter-minor], %w[--filter-patch], %w[--filter-major], %w[--filter-minor --filter-patch],
     %w[--only-explicit], %w[--pre], %w[--filter-strict], %w[--parseable --filter-strict],
     %w[od_rack], %w[od_rack od_web], %w[--filter-minor od_util], %w[--parseable --filter-minor od_util]].each do |args|
      assert_same_outdated(bundler, scint, *args)
    end

    # A Gemfile changed since the lockfile (a requirement the locked version
    # still meets): the current gems are the lockfile's brought up to date.
    [bundler, scint].each { |x| x.write_file("Gemfile", x.read_file("Gemfile").sub('"od_tz", ">= 1.0"', '"od_tz", ">= 1.1"')) }
    assert_same_outdated(bundler, scint)
    assert_same_outdated(bundler, scint, "od_tz")
    assert_same_outdated(bundler, scint, "--parseable", "od_tz")
    [bundler, scint].each { |x| x.write_file("Gemfile", format(GEMFILE, server.url)) }

    r = scint.scint("outdated", "od_nope")
    assert_equal 7, r.exitstatus
    assert_equal "Could not find gem 'od_nope'.\n", r.stderr
    r = scint.scint("outdated", "--patch", "--minor")
    assert_equal 15, r.exitstatus
    assert_equal "Provide only one of the following options: minor, patch\n", r.stderr
    r = scint.scint("outdated", env: { "BUNDLE_FROZEN" => "true" })
    assert_equal 16, r.exitstatus
    assert_match(/You are trying to check outdated gems in deployment mode/, r.stderr)

    # --local: the cached index alone (Bundler's --local reads installed gems only)
    expected = scint.scint("outdated").stdout.sub(/\AFetching gem metadata from .*\n/, "")
    server.stop
    r = scint.scint("outdated", "--local")
    assert_equal 1, r.exitstatus, r.stderr
    assert_equal expected, r.stdout
    assert_equal bundler.lockfile, scint.lockfile # nothing written
  end

  # `scint lock --local` without a cached index: the gems installed in the
  # bundle path (their dependencies from scint's cache entries) are the
  # candidates, as Bundler 2.3's installed specs are for `bundle lock --local`.
  def test_lock_local_uses_installed_gems
    _, a = corpus(od_shape("outdated-a", false))
    server = serve(a.dir)
    scint = app("scint", gems: {}, source: server.url, gemfile: format(GEMFILE, server.url))
    assert_success scint.scint("install")
    locked = scint.lockfile
    server.stop
    FileUtils.rm_rf(File.join(scint.cache, "index"))
    File.delete(scint.path("Gemfile.lock"))
    r = scint.scint("lock")
    refute r.success?, "no index and no server: nothing to resolve from"
    r = scint.scint("lock", "--local")
    assert_success r
    assert_equal locked, scint.lockfile
    bundler = app("bundler", gems: {}, source: server.url, gemfile: format(GEMFILE, server.url))
    FileUtils.cp_r(scint.path(".bundle"), bundler.dir)
    FileUtils.rm_f(bundler.path(".bundle/config"))
    bundler.bundle!("lock", "--local")
    assert_equal bundler.lockfile, scint.lockfile
  end

  # Two global sources: a "Fetching gem metadata" line per remote, then
  # Bundler's double check of the dependencies from each remote again; the
  # newest version of a gem from any of them.
  def test_outdated_with_several_remotes
    sh = ->(name, gems) { Scint::Shapes::Shape.new(name: name, gems: gems, gemfile_deps: {}, locked: gems) }
    _, a = corpus(sh.call("outdated-ra", [
                            G.new(name: "od_app", version: "1.0.0", files: 1, deps: { "od_base" => "~> 1.0" }),
                            G.new(name: "od_base", version: "1.0.0", files: 1),
                            G.new(name: "od_base", version: "1.1.0", files: 1),
                            G.new(name: "od_dup", version: "1.0.0", files: 1, seed: "a"),
                            G.new(name: "od_dup", version: "1.2.0", files: 1, seed: "a")
                          ]))
    _, b = corpus(sh.call("outdated-rb", [
                            G.new(name: "od_priv", version: "1.0.0", files: 1, deps: { "od_x" => ">= 0" }),
                            G.new(name: "od_x", version: "1.0.0", files: 1),
                            G.new(name: "od_dup", version: "1.0.0", files: 1, seed: "b")
                          ]))
    sa = serve(a.dir)
    sb = serve(b.dir)
    text = "source #{sa.url.inspect}\nsource #{sb.url.inspect}\n\ngem \"od_app\"\ngem \"od_priv\"\ngem \"od_dup\"\n"
    # locked at the old versions, then the pins dropped
    pinned = text.sub(%(gem "od_dup"\n), %(gem "od_dup", "1.0.0"\ngem "od_base", "1.0.0"\n))
    bundler = app("bundler", gems: {}, source: sa.url, gemfile: pinned)
    bundler.bundle!("install")
    bundler.write_file("Gemfile", text)
    bundler.bundle!("lock")
    scint = app("scint", gems: {}, source: sa.url, gemfile: text)
    scint.write_file("Gemfile.lock", bundler.lockfile)
    r = assert_same_outdated(bundler, scint)
    assert_equal 4, r.stdout.scan(/^Fetching gem metadata/).size
    assert_includes r.stdout, "od_dup   1.0.0    1.2.0   >= 0       default\n"
    assert_same_outdated(bundler, scint, "od_base")
    assert_same_outdated(bundler, scint, "--parseable")

    # A `source ... do` block: its line first, then the global source's.
    block = "source #{sa.url.inspect}\n\ngem \"od_app\"\nsource #{sb.url.inspect} do\n  gem \"od_priv\"\nend\n"
    bundler = app("bundler-block", gems: {}, source: sa.url, gemfile: block.sub(%(gem "od_app"\n), %(gem "od_app"\ngem "od_base", "1.0.0"\n)))
    bundler.bundle!("install")
    bundler.write_file("Gemfile", block)
    bundler.bundle!("lock")
    scint = app("scint-block", gems: {}, source: sa.url, gemfile: block)
    scint.write_file("Gemfile.lock", bundler.lockfile)
    r = assert_same_outdated(bundler, scint)
    assert_equal ["Fetching gem metadata from #{sb.url}/..", "Fetching gem metadata from #{sa.url}/.."],
                 r.stdout.lines.first(2).map(&:chomp)
    assert_same_outdated(bundler, scint, "od_base")
  end
end
