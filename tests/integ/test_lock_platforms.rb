# frozen_string_literal: true

# `scint lock` with gems that have platform variants, real Bundler as the
# oracle. A gem whose ruby variant needs something to compile (a
# mini_portile2) and whose linux variant does not: the lockfile of a linux
# app has the linux variant and not the compile-time dependency; adding a
# platform adds its variant. A gem whose variant for this platform asks for
# another Ruby is locked as its ruby variant alone, for every platform (as
# Bundler 2.3 does: the version as one variant per platform fails, then the
# ruby variant is tried).

require "scint_test"

class TestLockPlatforms < ScintTest::Case
  G = Scint::Gemgen::GemDesc

  def setup
    super
    require_bundler!
    require_scint!
  end

  def shape
    local = Gem::Platform.local.to_s
    gems = [
      G.new(name: "sp_native", version: "1.0.0", files: 1, deps: { "sp_portile" => "~> 2.0" }),
      G.new(name: "sp_native", version: "1.0.0", files: 1, platform: local),
      G.new(name: "sp_native", version: "1.0.0", files: 1, platform: "arm64-darwin"),
      G.new(name: "sp_portile", version: "2.0.0", files: 1),
      G.new(name: "sp_ffi", version: "1.0.0", files: 1),
      G.new(name: "sp_ffi", version: "1.0.0", files: 1, platform: local, required_ruby_version: ">= 9.0"),
      G.new(name: "sp_ffi", version: "1.0.0", files: 1, platform: "arm64-darwin", deps: { "sp_dep" => ">= 0" }),
      G.new(name: "sp_dep", version: "1.0.0", files: 1)
    ]
    Scint::Shapes::Shape.new(name: "lock-platforms", gems: gems, gemfile_deps: { "sp_native" => [], "sp_ffi" => [] },
                             locked: gems)
  end

  def test_variants_and_their_dependencies_as_bundler_locks_them
    _, corpus = corpus(shape)
    server = serve(corpus.dir)
    deps = { "sp_native" => [], "sp_ffi" => [] }
    bundler = app("bundler", gems: deps, source: server.url)
    scint = app("scint", gems: deps, source: server.url)

    bundler.bundle!("lock")
    assert_success scint.scint("lock")
    assert_equal bundler.lockfile, scint.lockfile
    assert_includes scint.lockfile, "    sp_native (1.0.0-#{Gem::Platform.local})\n"
    refute_includes scint.lockfile, "sp_portile", "the ruby variant's dependency is not locked"
    assert_includes scint.lockfile, "    sp_ffi (1.0.0)\n"

    bundler.bundle!("lock", "--add-platform", "arm64-darwin")
    assert_success scint.scint("lock", "--add-platform", "arm64-darwin")
    assert_equal bundler.lockfile, scint.lockfile
    assert_includes scint.lockfile, "    sp_native (1.0.0-arm64-darwin)\n"
    refute_includes scint.lockfile, "sp_ffi (1.0.0-", "sp_ffi stays its ruby variant alone"
  end
end
