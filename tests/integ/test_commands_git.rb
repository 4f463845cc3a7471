# frozen_string_literal: true

# The everyday commands (check, info, list, binstubs, clean) on an app with
# git and path gems, against real Bundler on the same app: one repository
# holding two gems in subdirectories (one with an executable), a second
# repository with an extension (its build goes to bundler/gems/extensions),
# and a path gem with an executable. Installed once by scint and once by
# Bundler; every step works on the two installs.

require "scint_test"
require "git_server"

class TestCommandsGit < ScintTest::Case
  include GitServer

  def gemfile(with_native: true)
    <<~RUBY
      git "#{url("gmono")}" do
        gem "a1"
        gem "b1"
      end
      gem "pth", path: "vendor/pth"
      group :test do
        #{with_native ? "gem \"gnat\", git: \"#{url("gnat")}\"" : ""}
        gem "pth_t", path: "vendor/pth_t"
      end
    RUBY
  end

  # Bundler's warnings about the git:// protocol and the missing global source left out.
  def neutral(text, app)
    text.lines.reject { |l| l.include?("uses the `git` protocol") || l.start_with?("[DEPRECATED]") }.join
        .gsub(app.dir, "APP").gsub("`scint ", "`CMD ").gsub("`bundle ", "`CMD ")
  end

  def assert_same_output(app, oracle, *args, stream: :stdout, env: {})
    s = app.scint(*args, env: env)
    b = oracle.bundle(*args, env: env)
    assert_equal b.exitstatus, s.exitstatus, "exit status of #{args.join(" ")}:\n#{s}\n#{b}"
    assert_equal neutral(b.public_send(stream), oracle), neutral(s.public_send(stream), app),
                 "#{stream} of #{args.join(" ")}"
    s
  end

  # What clean may remove: gem, checkout, extension and bin/ entries. (The
  # path gem's bin/pthx is left out: scint install writes no bin/ wrapper
  # for a path gem's executables, and knows no path gem's executables.)
  def cleanable(app)
    root = app.install_root
    %w[gems/* bundler/gems/* bundler/gems/extensions/*/*/* extensions/*/*/* bin/*]
      .flat_map { |g| Dir.glob(g, base: root) }.sort - ["bin/pthx"]
  end

  def test_commands_on_git_and_path_gems
    require_bundler!
    start_daemon
    repo("gmono", {
           "a1/a1.gemspec" => gemspec("a1"), "a1/lib/a1.rb" => "module A1; end\n",
           "b1/b1.gemspec" => gemspec("b1", exe: "b1"), "b1/lib/b1.rb" => "module B1; end\n",
           "b1/exe/b1" => "#!/usr/bin/env ruby\nputs \"b1\"\n",
         })
    repo("gnat", native_files("gnat"))
    app = app("app", gems: {}, source: nil, gemfile: gemfile)
    write_path_gems = lambda do |a|
      { "pth" => "pthx", "pth_t" => nil }.each do |name, exe|
        pure_files(name, exe: exe).each { |rel, text| a.write_file("vendor/#{name}/#{rel}", text) }
        FileUtils.chmod(0o755, File.join(a.dir, "vendor", name, "exe", exe)) if exe
      end
    end
    write_path_gems.call(app)
    app.bundle_lock!
    scint_install(app)
    oracle = app.copy_to(File.join(tmp, "oracle"))
    write_path_gems.call(oracle)
    oracle.bundle_install!

    # check: the gems of a git repository other than its first are installed too.
    r = assert_same_output(app, oracle, "check")
    assert_equal "The Gemfile's dependencies are satisfied\n", r.stdout

    # info --path: a git gem's directory (in its repository's subdirectory), a path gem's.
    %w[a1 b1 gnat pth].each do |g|
      r = assert_same_output(app, oracle, "info", g, "--path")
      assert_match(%r{/bundler/gems/gmono-\h{12}/b1\n\z}, r.stdout) if g == "b1"
    end
    assert_same_output(app, oracle, "list", "--paths")
    # info: the version with the revision (scint knows no git gem's summary: its Path line is compared).
    s = app.scint("info", "b1")
    b = oracle.bundle("info", "b1")
    assert_equal b.stdout.lines.first, s.stdout.lines.first
    assert_match(/\A  \* b1 \(0\.1\.0 \h{7}\)\n/, s.stdout)
    assert_match(%r{^\tPath: .*/bundler/gems/gmono-\h{12}/b1$}, s.stdout)
    assert_equal neutral(b.stdout.lines.grep(/Path:/).join, oracle), neutral(s.stdout.lines.grep(/Path:/).join, app)

    # binstubs of a git gem's executable
    r = assert_same_output(app, oracle, "binstubs", "b1", stream: :stderr)
    assert_equal 0, r.exitstatus
    assert File.executable?(File.join(app.dir, "bin", "b1"))
    assert_same_output(app, oracle, "binstubs", "a1", stream: :stderr)

    # list --only-group of a group BUNDLE_WITHOUT leaves out: Bundler lists it.
    without = { "BUNDLE_WITHOUT" => "test" }
    r = assert_same_output(app, oracle, "list", "--only-group", "test", "--name-only", env: without)
    assert_equal 0, r.exitstatus
    assert_includes r.stdout.lines, "gnat\n"
    r = assert_same_output(app, oracle, "list", "--without-group", "test", "--name-only", env: without)
    refute_includes r.stdout.lines, "gnat\n"

    # clean keeps the executables of git and path gems, and removes the
    # checkout (and its extensions) of a repository no longer locked.
    assert cleanable(app).any? { |f| f.start_with?("bundler/gems/extensions/") && f.include?("gnat-") }
    assert_includes cleanable(app), "bin/b1"
    assert_equal cleanable(oracle), cleanable(app)
    [app, oracle].each { |a| a.write_file("Gemfile", gemfile(with_native: false)) }
    app.bundle_lock!
    oracle.write_file("Gemfile.lock", app.lockfile)
    r = assert_same_output(app, oracle, "clean", "--dry-run")
    assert_match(/^Would have removed gnat \(\h{12}\)$/, r.stdout)
    r = assert_same_output(app, oracle, "clean")
    assert_match(/^Removing gnat \(\h{12}\)$/, r.stdout)
    left = cleanable(app)
    assert_includes left, "bin/b1"
    refute(left.any? { |f| f.include?("gnat") }, "gnat's checkout and extensions are gone:\n#{left.join("\n")}")
    assert_equal cleanable(oracle), left
    assert_same_output(app, oracle, "check")
    assert_equal "", app.scint("clean").stdout, "a second clean finds nothing"
  end
end
