# frozen_string_literal: true

# `scint lock` / `scint update` with git sources the lockfile does not lock
# yet (or that an update moves), against a real `git daemon` on 127.0.0.1
# and a compact index on 127.0.0.1, with real Bundler 2.3 as the oracle:
# scint resolves each branch/tag/ref (or the remote's HEAD) to a revision
# as Bundler does, fetches it into the cache's bare repository, loads the
# gemspecs of the checkout and writes the GIT sections Bundler writes.
# A source that did not change keeps its revision without any git
# connection; a hostile or missing ref, a ref that is not a commit and an
# unreachable remote fail clearly, leaving the lockfile as it was.

require "scint_test"
require "git_server"

class TestLockGitFetch < ScintTest::Case
  include GitServer

  G = Scint::Gemgen::GemDesc

  def setup
    super
    require_bundler!
    require_scint!
  end

  def shape
    gems = [G.new(name: "lf_base", version: "1.0.0", files: 1),
            G.new(name: "lf_base", version: "1.1.0", files: 1),
            G.new(name: "lf_extra", version: "0.2.0", files: 1, deps: { "lf_base" => ">= 1.0" })]
    Scint::Shapes::Shape.new(name: "lock-git-fetch", gems: gems, gemfile_deps: {}, locked: [])
  end

  def build_repos
    repo("fpure", {
           "fpure.gemspec" => gemspec("fpure", deps: { "lf_base" => "~> 1.0" }),
           "lib/fpure.rb" => "module Fpure; ANSWER = \"fpure\"; end\n",
         })
    git!(File.join(tmp, "work", "fpure"), "checkout", "-q", "-b", "other")
    commit!("fpure", { "lib/other.rb" => "# on the other branch\n" })
    git!(File.join(tmp, "work", "fpure"), "checkout", "-q", "main")
    publish!("fpure")
    repo("ftag", pure_files("ftag", version: "1.0.0"))
    git!(File.join(tmp, "work", "ftag"), "tag", "v1.0.0")
    commit!("ftag", pure_files("ftag", version: "1.1.0"))
    repo("fann", pure_files("fann", version: "2.0.0"))
    git!(File.join(tmp, "work", "fann"), "tag", "-a", "-m", "release", "v2.0.0")
    publish!("fann")
    first = repo("fref", pure_files("fref", version: "0.3.0"))
    @fref_rev = git!(first, "rev-parse", "HEAD").strip
    commit!("fref", pure_files("fref", version: "0.4.0"))
    repo("fhead", pure_files("fhead", version: "0.5.0"))
    repo("finner", { "inner.rb" => "module Inner; end\n" })
    sub = repo("fsub", { "fsub.gemspec" => gemspec("fsub", files: '`git ls-files -z`.split("\\x0")', deps: { "lf_base" => ">= 1.1" }),
                         "lib/fsub.rb" => "module Fsub; end\n" })
    git!(sub, "-c", "protocol.allow=always", "submodule", "add", "-q", url("finner"), "vendor/inner")
    git!(sub, "commit", "-q", "-m", "submodule")
    publish!("fsub")
    repo("fmulti", {
           "fm_a/fm_a.gemspec" => gemspec("fm_a", deps: { "lf_extra" => ">= 0" }),
           "fm_a/lib/fm_a.rb" => "module FmA; end\n",
           "fm_b/fm_b.gemspec" => gemspec("fm_b", deps: { "fm_a" => ">= 0" }),
           "fm_b/lib/fm_b.rb" => "module FmB; end\n",
         })
  end

  def gemfile(source)
    <<~RUBY
      source #{source.dump}

      gem "fpure", git: #{url("fpure").dump}, branch: "main"
      gem "ftag", git: #{url("ftag").dump}, tag: "v1.0.0"
      gem "fann", git: #{url("fann").dump}, tag: "v2.0.0"
      gem "fref", git: #{url("fref").dump}, ref: #{@fref_rev[0, 8].dump}
      gem "fhead", git: #{url("fhead").dump}
      gem "fsub", git: #{url("fsub").dump}, submodules: true
      git #{url("fmulti").dump}, glob: "*/*.gemspec" do
        gem "fm_b"
      end
      gem "lf_extra"
    RUBY
  end

  def connections
    File.read(@daemon_log).scan(/Connection from/).size
  end

  def test_first_lock_update_and_no_op_match_bundler
    start_daemon
    build_repos
    _, c = corpus(shape)
    server = serve(c.dir)
    bundler = app("bundler", gems: {}, source: nil, gemfile: gemfile(server.url))
    scint = app("scint", gems: {}, source: nil, gemfile: gemfile(server.url))
    bundler.bundle_lock!
    # `scint install` without a lockfile resolves (fetching every git source), locks, installs.
    r = scint.scint("install")
    assert_success r
    assert_equal bundler.lockfile, scint.lockfile
    scint.bundle_check!
    lock = scint.lockfile
    assert_includes lock, "  revision: #{@fref_rev}\n  ref: #{@fref_rev[0, 8]}\n"
    assert_includes lock, "    fm_a (0.1.0)\n      lf_extra\n"
    assert_includes lock, "    ftag (1.0.0)\n"
    assert_includes lock, "  submodules: true\n  specs:\n    fsub (0.1.0)\n      lf_base (>= 1.1)\n"
    # An annotated tag locks the tag object, as Bundler's `git rev-parse --verify` gives it.
    tag_obj = git!(File.join(tmp, "work", "fann"), "rev-parse", "v2.0.0").strip
    assert_includes lock, "  revision: #{tag_obj}\n  tag: v2.0.0\n"

    # The branch moves: `update fpure` moves it (and what it depends on) as Bundler does.
    old_rev = lock[/remote: #{Regexp.escape(url("fpure"))}\n  revision: (\h{40})/, 1]
    new_rev = commit!("fpure", { "lib/fpure.rb" => "module Fpure; ANSWER = \"moved\"; end\n" })
    refute_equal old_rev, new_rev
    bundler.bundle!("update", "fpure")
    r = scint.scint("update", "fpure")
    assert_success r
    assert_equal bundler.lockfile, scint.lockfile
    assert_includes scint.lockfile, "  revision: #{new_rev}\n  branch: main\n"
    scint.bundle_check!

    # Nothing changed: no git connection at all, the same bytes.
    before = connections
    same = scint.lockfile
    r = scint.scint("lock")
    assert_success r
    assert_equal same, scint.lockfile
    assert_equal before, connections, "an unchanged lock made a git connection"

    # --local fetches nothing: a source to resolve is an error, a cached revision is fine.
    r = scint.scint("lock", "--local")
    assert_success r
    assert_equal same, scint.lockfile
    scint.write_file("Gemfile", gemfile(server.url).sub('branch: "main"', 'branch: "other"'))
    r = scint.scint("lock", "--local")
    refute r.success?
    assert_match(/the git source #{Regexp.escape(url("fpure"))} is not locked with these options in .*--local does not fetch it/, r.stderr)
    assert_equal same, scint.lockfile
    assert_equal before, connections, "--local made a git connection"

    # A changed option (another branch) is a new source: resolved again.
    [bundler, scint].each { |a| a.write_file("Gemfile", gemfile(server.url).sub('branch: "main"', 'branch: "other"')) }
    bundler.bundle_lock!
    r = scint.scint("lock")
    assert_success r
    assert_equal bundler.lockfile, scint.lockfile

    # A full update moves every git source to its head.
    commit!("fhead", pure_files("fhead", version: "0.6.0"))
    bundler.bundle!("update")
    r = scint.scint("update")
    assert_success r
    assert_equal bundler.lockfile, scint.lockfile
    assert_includes scint.lockfile, "    fhead (0.6.0)\n"
  end

  def test_hostile_and_missing_refs_fail_clearly
    start_daemon
    repo("fpure", pure_files("fpure"))
    work = repo("fhead", pure_files("fhead"))
    blob = git!(work, "hash-object", "-w", "lib/fhead.rb").strip
    git!(work, "tag", "blobtag", blob)
    publish!("fhead")
    _, c = corpus(shape)
    server = serve(c.dir)
    scint = app("scint", gems: {}, source: nil, gemfile: "source #{server.url.dump}\ngem \"lf_extra\"\n")
    assert_success scint.scint("lock")
    before = scint.lockfile

    dead = TCPServer.open("127.0.0.1", 0) { |s| s.addr[1] }
    cases = {
      "gem \"fpure\", git: #{url("fpure").dump}, branch: \"nosuch\"" =>
        /Revision nosuch does not exist in the repository #{Regexp.escape(url("fpure"))}/,
      "gem \"fhead\", git: #{url("fhead").dump}, tag: \"blobtag\"" =>
        /fhead: blobtag names revision #{blob}, which is not a commit of #{Regexp.escape(url("fhead"))}/,
      "gem \"fpure\", git: \"git://127.0.0.1:#{dead}/fpure.git\"" =>
        %r{cannot reach the git remote git://127\.0\.0\.1:#{dead}/fpure\.git \(for fpure\)},
      "gem \"fpure\", git: #{url("fpure").dump}, ref: \"--upload-pack=touch /tmp/x\"" =>
        /the branch, tag or ref '--upload-pack=touch \/tmp\/x' of the git source .* is refused/,
      "gem \"fpure\", git: \"http://user:s3cretpw@127.0.0.1:#{dead}/fpure.git\"" =>
        %r{cannot reach the git remote http://127\.0\.0\.1:#{dead}/fpure\.git},
      "gem \"nothere\", git: #{url("fpure").dump}" =>
        /Could not find gem 'nothere' in #{Regexp.escape(url("fpure"))}/,
    }
    cases.each do |line, want|
      scint.write_file("Gemfile", "source #{server.url.dump}\ngem \"lf_extra\"\n#{line}\n")
      r = scint.scint("lock")
      refute r.success?, line
      out = r.stderr + r.stdout
      assert_match want, out, line
      refute_includes out, "s3cretpw"
      assert_equal before, scint.lockfile, line
    end
  end
end
