# frozen_string_literal: true

# `scint lock` with git sources in the Gemfile, against a real `git daemon`
# on 127.0.0.1 and a compact index on 127.0.0.1, with real Bundler as the
# oracle. scint keeps a GIT section Bundler locked (same remote and
# branch/tag/ref/glob/submodules) at its locked revision, feeds its gems to
# the resolver pinned, with their locked dependencies, and writes the section
# back as Bundler does; a git source that is new or changed, or a git gem
# being updated, is fetched and resolved as Bundler does (more of that in
# test_lock_git_fetch.rb). Path sources and source blocks lock alongside
# the kept GIT sections.

require "scint_test"
require "git_server"

class TestLockGit < ScintTest::Case
  include GitServer

  G = Scint::Gemgen::GemDesc

  def setup
    super
    require_bundler!
    require_scint!
  end

  def shape
    gems = [G.new(name: "lg_base", version: "1.0.0", files: 1),
            G.new(name: "lg_base", version: "1.1.0", files: 1),
            G.new(name: "lg_extra", version: "0.2.0", files: 1, deps: { "lg_base" => ">= 1.0" })]
    Scint::Shapes::Shape.new(name: "lock-git", gems: gems, gemfile_deps: {}, locked: [])
  end

  def build_repos
    repo("gpure", {
           "gpure.gemspec" => gemspec("gpure", deps: { "lg_base" => "~> 1.0" }),
           "lib/gpure.rb" => "module Gpure; ANSWER = \"gpure\"; end\n",
         })
    repo("gtag", pure_files("gtag", version: "1.0.0"))
    git!(File.join(tmp, "work", "gtag"), "tag", "v1.0.0")
    publish!("gtag")
    repo("gmulti", {
           "gm_a/gm_a.gemspec" => gemspec("gm_a"), "gm_a/lib/gm_a.rb" => "module GmA; end\n",
           "gm_b/gm_b.gemspec" => gemspec("gm_b", deps: { "gm_a" => ">= 0" }),
           "gm_b/lib/gm_b.rb" => "module GmB; end\n",
         })
    repo("gnew", pure_files("gnew"))
  end

  def gemfile(source, extra = "")
    <<~RUBY
      source #{source.dump}

      gem "gpure", git: #{url("gpure").dump}, branch: "main"
      gem "gtag", git: #{url("gtag").dump}, tag: "v1.0.0"
      git #{url("gmulti").dump}, glob: "*/*.gemspec" do
        gem "gm_b"
      end
      #{extra}
    RUBY
  end

  def test_locked_git_sources_are_kept_through_an_edit
    start_daemon
    build_repos
    _, c = corpus(shape)
    server = serve(c.dir)
    bundler = app("bundler", gems: {}, source: nil, gemfile: gemfile(server.url))
    scint = app("scint", gems: {}, source: nil, gemfile: gemfile(server.url))
    bundler.bundle_lock!
    locked = bundler.lockfile
    assert_includes locked, "GIT\n  remote: #{url("gpure")}\n"
    scint.write_file("Gemfile.lock", locked)
    old_rev = locked[/remote: #{Regexp.escape(url("gpure"))}\n  revision: (\h{40})/, 1]
    refute_nil old_rev

    # The branch moves on; a lock after an edit keeps the locked revision.
    new_rev = commit!("gpure", { "lib/gpure.rb" => "module Gpure; ANSWER = \"moved\"; end\n" })
    refute_equal old_rev, new_rev
    [bundler, scint].each { |a| a.write_file("Gemfile", gemfile(server.url, "gem \"lg_extra\"")) }
    bundler.bundle_lock!
    r = scint.scint("lock")
    assert_success r
    assert_equal bundler.lockfile, scint.lockfile
    assert_includes scint.lockfile, "  revision: #{old_rev}\n"
    assert_includes scint.lockfile, "    lg_extra (0.2.0)\n"

    # Removing a gem of a glob repository drops it (and only it) from its section.
    [bundler, scint].each { |a| a.write_file("Gemfile", gemfile(server.url, "gem \"lg_extra\"\ngem \"gm_a\", git: #{url("gmulti").dump}, glob: \"*/*.gemspec\"")) }
    bundler.bundle_lock!
    r = scint.scint("lock")
    assert_success r
    assert_equal bundler.lockfile, scint.lockfile

    # With a path gem and a source block too: GIT, PATH and two GEM sections.
    _, oc = corpus(Scint::Shapes::Shape.new(
                     name: "lock-git-other", gemfile_deps: {}, locked: [],
                     gems: [G.new(name: "lg_priv", version: "1.0.0", files: 1, deps: { "lg_base" => "~> 1.0" })]))
    other = serve(oc.dir)
    both = "gem \"lg_extra\"\ngem \"gm_a\", git: #{url("gmulti").dump}, glob: \"*/*.gemspec\"\n" \
           "gem \"lg_local\", path: \"vendor/lg_local\"\nsource #{other.url.dump} do\n  gem \"lg_priv\"\nend"
    [bundler, scint].each do |a|
      a.write_file("vendor/lg_local/lg_local.gemspec", gemspec("lg_local", deps: { "lg_base" => ">= 1.0" }))
      a.write_file("vendor/lg_local/lib/lg_local.rb", "module LgLocal; end\n")
      a.write_file("Gemfile", gemfile(server.url, both))
    end
    bundler.bundle_lock!
    r = scint.scint("lock")
    assert_success r
    assert_equal bundler.lockfile, scint.lockfile
    assert_includes scint.lockfile, "PATH\n  remote: vendor/lg_local\n"
    assert_includes scint.lockfile, "GEM\n  remote: #{other.url}/\n"
    assert_includes scint.lockfile, "  revision: #{old_rev}\n"

    # The lock installs, and Bundler accepts the install.
    r = scint.scint("install")
    assert_success r
    scint.bundle_check!

    # An install after a Gemfile edit re-locks as `bundle lock` does, keeping the revisions.
    [bundler, scint].each { |a| a.write_file("Gemfile", gemfile(server.url)) }
    bundler.bundle_lock!
    r = scint.scint("install")
    assert_success r
    assert_equal bundler.lockfile, scint.lockfile
    assert_includes scint.lockfile, "  revision: #{old_rev}\n"
    scint.bundle_check!

    # Bundler's default glob spelled out changes nothing (Bundler does not write it).
    same = scint.lockfile
    scint.write_file("Gemfile", gemfile(server.url).sub('branch: "main"', 'branch: "main", glob: "{,*,*/*}.gemspec"'))
    assert_success scint.scint("install", env: { "BUNDLE_FROZEN" => "true" })
    assert_equal same, scint.lockfile
    scint.write_file("Gemfile", gemfile(server.url))

    # Moving a git gem fetches its branch's head, as `bundle update` does.
    bundler.bundle!("update", "gpure")
    r = scint.scint("update", "gpure")
    assert_success r
    assert_equal bundler.lockfile, scint.lockfile
    assert_includes scint.lockfile, "  revision: #{new_rev}\n"

    # A git source the lockfile lacks is fetched and locked, as `bundle lock` does.
    [bundler, scint].each { |a| a.write_file("Gemfile", gemfile(server.url, "gem \"gnew\", git: #{url("gnew").dump}")) }
    bundler.bundle_lock!
    r = scint.scint("lock")
    assert_success r
    assert_equal bundler.lockfile, scint.lockfile
    [bundler, scint].each { |a| a.write_file("Gemfile", gemfile(server.url)) }
    bundler.bundle_lock!
    assert_success scint.scint("lock")
    assert_equal bundler.lockfile, scint.lockfile
    before = scint.lockfile

    # A gem the git source does not have: an error naming it, the lockfile untouched.
    scint.write_file("Gemfile", gemfile(server.url, "gem \"gnew\", git: #{url("gpure").dump}, branch: \"main\""))
    r = scint.scint("lock")
    refute r.success?
    assert_match(/Could not find gem 'gnew' in #{Regexp.escape(url("gpure"))}/, r.stderr + r.stdout)
    assert_equal before, scint.lockfile

    # The Gemfile moves a locked gem to another branch: `scint install` sees the
    # changed source (it does not install the old one), frozen says what changed.
    scint.write_file("Gemfile", gemfile(server.url).sub('branch: "main"', 'branch: "other"'))
    r = scint.scint("install", env: { "BUNDLE_FROZEN" => "true" })
    refute r.success?
    assert_match(/You have changed in the Gemfile:\n\* gpure from `#{Regexp.escape(url("gpure"))}`/, r.stderr + r.stdout)
    r = scint.scint("install")
    refute r.success?
    assert_match(/Revision other does not exist in the repository #{Regexp.escape(url("gpure"))}/, r.stderr + r.stdout)
    assert_equal before, scint.lockfile
  end
end
