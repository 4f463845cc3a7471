# frozen_string_literal: true

# `scint lock` with more than the global rubygems source, real Bundler as
# the oracle: a `source "..." do ... end` block served by a second server.
# The block's gem and (as Bundler 2.3's SourceMap#all_requirements does)
# every gem of its closure that the block's server has come from that
# server; what it lacks comes from the global source. The lockfile gets one
# GEM section per source, `!` on the block's dependency, the same bytes as
# `bundle lock`, and `scint install` of it passes `bundle check`.
# `path:` and `gemspec` give PATH sections from the gemspecs (loaded by the
# Ruby helper as Bundler loads them). Several global sources make one index and one GEM section, as Bundler 2.3
# does, and `scint install` fetches each gem from the remote that has it
# (the later `source` line first). A git source the lockfile lacks is refused with a message naming it
# (test_lock_git covers the locked ones).

require "scint_test"

class TestLockSources < ScintTest::Case
  G = Scint::Gemgen::GemDesc

  def shape(name, gems, deps)
    Scint::Shapes::Shape.new(name: name, gems: gems, gemfile_deps: deps, locked: gems)
  end

  # The global source: sc_app's tree, and an sc_shared the block's gem would
  # also accept (the block's own copy must win).
  def main_shape
    shape("lksrc-main", [
            G.new(name: "sc_app", version: "1.0.0", files: 1, deps: { "sc_base" => "~> 1.0" }),
            G.new(name: "sc_base", version: "1.0.0", files: 1),
            G.new(name: "sc_base", version: "1.1.0", files: 1),
            G.new(name: "sc_common", version: "2.0.0", files: 1),
            G.new(name: "sc_shared", version: "1.0.0", files: 1)
          ], { "sc_app" => [] })
  end

  # The block's source: sc_priv and its closure, sc_common missing (it comes
  # from the global source), sc_base present but outside sc_priv's closure.
  def other_shape
    shape("lksrc-other", [
            G.new(name: "sc_priv", version: "1.0.0", files: 1,
                  deps: { "sc_privdep" => "~> 1.0", "sc_common" => ">= 1.0", "sc_shared" => ">= 1.0" }),
            G.new(name: "sc_privdep", version: "1.0.0", files: 1),
            G.new(name: "sc_privdep", version: "1.2.0", files: 1),
            G.new(name: "sc_shared", version: "3.0.0", files: 1),
            G.new(name: "sc_base", version: "9.0.0", files: 1)
          ], { "sc_priv" => [] })
  end

  def setup
    super
    require_bundler!
    require_scint!
  end

  def servers
    _, main = corpus(main_shape)
    _, other = corpus(other_shape)
    [serve(main.dir), serve(other.dir)]
  end

  def scoped_gemfile(main, other)
    <<~GEMFILE
      source #{main.url.inspect}

      gem "sc_app"
      source #{other.url.inspect} do
        gem "sc_priv", "~> 1.0"
      end
    GEMFILE
  end

  def test_scoped_source_matches_bundler_and_installs
    main, other = servers
    text = scoped_gemfile(main, other)
    bundler = app("bundler", gems: {}, source: main.url, gemfile: text)
    scint = app("scint", gems: {}, source: main.url, gemfile: text)
    bundler.bundle!("lock")
    r = scint.scint("lock")
    assert_success r, "scint lock"
    assert_equal bundler.lockfile, scint.lockfile
    lock = scint.lockfile
    assert_includes lock, "  remote: #{other.url}/\n  specs:\n    sc_priv (1.0.0)\n"
    assert_includes lock, "    sc_shared (3.0.0)\n"
    assert_includes lock, "    sc_common (2.0.0)\n"
    assert_includes lock, "  sc_priv (~> 1.0)!\n"
    # The block's server was asked for its gems only, the global one for
    # sc_common the block lacks.
    refute other.requests.any? { |q| q.uri.include?("/info/sc_app") }
    assert main.requests.any? { |q| q.uri.include?("/info/sc_common") }

    r = scint.scint("install")
    assert_success r, "scint install"
    scint.bundle_check!
    assert_equal bundler.lockfile, scint.lockfile
  end

  def gemspec_text(name, deps: {}, dev: {})
    lines = deps.map { |n, r| "  s.add_dependency #{[n, *r].map(&:inspect).join(", ")}\n" }.join
    lines += dev.map { |n, r| "  s.add_development_dependency #{[n, *r].map(&:inspect).join(", ")}\n" }.join
    <<~SPEC
      Gem::Specification.new do |s|
        s.name = #{name.inspect}
        s.version = "0.1.0"
        s.summary = "#{name}"
        s.authors = ["scint"]
        s.files = ["lib/#{name}.rb"]
      #{lines}end
    SPEC
  end

  # `path:` and `gemspec`: PATH sections from the gemspecs (runtime
  # dependencies in specs:, development ones in DEPENDENCIES), their
  # dependencies from the global source.
  def test_path_and_gemspec_match_bundler_and_install
    main, = servers
    text = <<~GEMFILE
      source #{main.url.inspect}

      gemspec
      gem "sc_local", path: "vendor/sc_local"
    GEMFILE
    apps = %w[bundler scint].map do |n|
      a = app("path-#{n}", gems: {}, source: main.url, gemfile: text)
      a.write_file("sc_mine.gemspec", gemspec_text("sc_mine", deps: { "sc_app" => "~> 1.0" }, dev: { "sc_common" => ">= 1" }))
      a.write_file("lib/sc_mine.rb", "module ScMine; end\n")
      a.write_file("vendor/sc_local/sc_local.gemspec", gemspec_text("sc_local", deps: { "sc_base" => [">= 1.0", "< 1.1"] }))
      a.write_file("vendor/sc_local/lib/sc_local.rb", "module ScLocal; end\n")
      a
    end
    bundler, scint = apps
    bundler.bundle!("lock")
    r = scint.scint("lock")
    assert_success r, "scint lock"
    assert_equal bundler.lockfile, scint.lockfile
    lock = scint.lockfile
    assert_includes lock, "PATH\n  remote: .\n  specs:\n    sc_mine (0.1.0)\n      sc_app (~> 1.0)\n"
    assert_includes lock, "    sc_base (1.0.0)\n"
    assert_includes lock, "  sc_local!\n"
    assert_includes lock, "  sc_common (>= 1)\n"

    r = scint.scint("install")
    assert_success r, "scint install"
    scint.bundle_check!
    assert_equal bundler.lockfile, scint.lockfile

    # The path gem's gemspec changes: both re-lock it from the new gemspec.
    apps.each do |a|
      a.write_file("vendor/sc_local/sc_local.gemspec",
                   gemspec_text("sc_local", deps: { "sc_base" => ">= 1.0" }).sub('"0.1.0"', '"0.2.0"'))
    end
    bundler.bundle!("lock")
    assert_success scint.scint("lock"), "scint lock after the gemspec changed"
    assert_equal bundler.lockfile, scint.lockfile
    assert_includes scint.lockfile, "    sc_local (0.2.0)\n      sc_base (>= 1.0)\n"

    # A path that is not there: Bundler's message, no lockfile written.
    gone = app("path-gone", gems: {}, source: main.url,
                            gemfile: "source #{main.url.inspect}\ngem \"sc_gone\", path: \"vendor/gone\"\n")
    r = gone.scint("lock")
    refute r.success?
    assert_includes r.stderr, "The path `#{File.realpath(gone.dir)}/vendor/gone` does not exist."
    refute File.exist?(gone.path("Gemfile.lock"))
    b = gone.bundle("lock")
    assert_includes (b.stdout + b.stderr).gsub(/\s+/, " "), "The path `#{File.realpath(gone.dir)}/vendor/gone` does not exist."
  end

  # Two global sources: one index of both (Bundler 2.3 warns, scint does
  # not), one GEM section with both remotes in the Gemfile's order.
  def test_several_global_sources_match_bundler
    main, other = servers
    text = <<~GEMFILE
      source #{main.url.inspect}
      source #{other.url.inspect}

      gem "sc_app"
      gem "sc_priv"
    GEMFILE
    bundler = app("global-bundler", gems: {}, source: main.url, gemfile: text)
    scint = app("global-scint", gems: {}, source: main.url, gemfile: text)
    bundler.bundle!("lock")
    r = scint.scint("lock")
    assert_success r, "scint lock"
    assert_equal bundler.lockfile, scint.lockfile
    assert_includes scint.lockfile, "    sc_shared (3.0.0)\n"
    assert_includes scint.lockfile, "    sc_common (2.0.0)\n"
  end

  # Installing from a GEM section with several remotes: each gem comes from
  # the remote whose index has it, and a gem both have (with different
  # bytes) from the later `source` line, as Bundler 2.3 installs it; its
  # checksum is the one that remote's index lists.
  def test_install_from_several_remotes
    _, a = corpus(shape("lkmulti-a", [
                          G.new(name: "sc_app", version: "1.0.0", files: 1, deps: { "sc_base" => "~> 1.0" }),
                          G.new(name: "sc_base", version: "1.0.0", files: 1),
                          G.new(name: "sc_dup", version: "1.0.0", files: 1, seed: "from-a")
                        ], {}))
    _, b = corpus(shape("lkmulti-b", [
                          G.new(name: "sc_priv", version: "1.0.0", files: 1),
                          G.new(name: "sc_dup", version: "1.0.0", files: 1, seed: "from-b")
                        ], {}))
    sa = serve(a.dir)
    sb = serve(b.dir)
    text = <<~GEMFILE
      source #{sa.url.inspect}
      source #{sb.url.inspect}

      gem "sc_app"
      gem "sc_priv"
      gem "sc_dup"
    GEMFILE
    scint = app("multi-scint", gems: {}, source: sa.url, gemfile: text)
    scint.bundle!("lock")
    [sa, sb].each(&:reset_log)
    r = scint.scint("install")
    assert_success r
    assert_equal %w[sc_app-1.0.0 sc_base-1.0.0], gem_downloads(sa).sort
    assert_equal %w[sc_dup-1.0.0 sc_priv-1.0.0], gem_downloads(sb).sort
    scint.bundle_check!
    oracle = oracle_install(scint)
    assert_same_tree oracle.tree_snapshot, scint.tree_snapshot,
                     ignore: [/\Ascint\.(lock\.marshal|state|shim-[^\/]+\.iseq)\z/, /\Aconfig\z/]
    dup = File.join(scint.install_root, "cache", "sc_dup-1.0.0.gem")
    assert_equal Digest::SHA256.file(File.join(b.dir, "gems", "sc_dup-1.0.0.gem")).hexdigest,
                 Digest::SHA256.file(dup).hexdigest
  end

  def test_unsupported_sources_are_refused
    main, = servers
    cases = {
      # a git source the lockfile does not have is fetched: this one cannot be reached
      "git" => [%(gem "sc_remote", git: "https://127.0.0.1:1/sc_remote.git"),
                %r{cannot reach the git remote https://127\.0\.0\.1:1/sc_remote\.git \(for sc_remote\)}]
    }
    cases.each do |name, (line, msg)|
      a = app("refused-#{name}", gems: {}, source: main.url,
                                 gemfile: "source #{main.url.inspect}\n#{line}\n")
      r = a.scint("lock")
      refute r.success?, name
      assert_match msg, r.stderr, name
      refute File.exist?(a.path("Gemfile.lock")), name
    end
  end

  # A Gemfile may name more gem servers than a lockfile can hold: an error, no abort.
  def test_too_many_gem_servers_is_an_error
    blocks = (1..70).map { |n| "source \"http://127.0.0.1:1/s#{n}\" do\n  gem \"sc_g#{n}\"\nend\n" }.join
    scint = app("scint", gems: {}, source: "http://127.0.0.1:1/", gemfile: "source \"http://127.0.0.1:1/\"\n#{blocks}")
    r = scint.scint("lock")
    refute r.success?
    assert_match(/names more than 64 gem servers/, r.stderr)
    refute File.exist?(scint.path("Gemfile.lock"))
  end

end
