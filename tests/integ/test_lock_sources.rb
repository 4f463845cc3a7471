# frozen_string_literal: true

# `scint lock` with more than the global rubygems source, real Bundler as
# the oracle: a `source "..." do ... end` block served by a second server.
# The block's gem and (as Bundler 2.3's SourceMap#all_requirements does)
# every gem of its closure that the block's server has come from that
# server; what it lacks comes from the global source. The lockfile gets one
# GEM section per source, `!` on the block's dependency, the same bytes as
# `bundle lock`, and `scint install` of it passes `bundle check`.
# Sources scint cannot resolve yet (path, gemspec, git, several global
# remotes) are refused with a message naming them.

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

  def test_unsupported_sources_are_refused
    main, = servers
    cases = {
      "path" => [%(gem "sc_local", path: "vendor/sc_local"), /a path source/],
      "several" => [%(source "http://127.0.0.1:1/"\ngem "sc_app"), /several global sources/]
    }
    cases.each do |name, (line, msg)|
      a = app("refused-#{name}", gems: {}, source: main.url,
                                 gemfile: "source #{main.url.inspect}\n#{line}\n")
      a.write_file("vendor/sc_local/sc_local.gemspec",
                   %(Gem::Specification.new { |s| s.name = "sc_local"; s.version = "0.1.0"; s.summary = "x"; s.authors = ["x"] }\n))
      r = a.scint("lock")
      refute r.success?, name
      assert_match msg, r.stderr, name
      refute File.exist?(a.path("Gemfile.lock")), name
    end
  end
end
