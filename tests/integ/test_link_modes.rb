# frozen_string_literal: true

# Done-when 6: every link mode gives a tree Bundler accepts; auto picks
# reflink, then hardlink, then copy, and falls back across filesystems.
# Clone mode is exercised on a loop-mounted XFS when the test may mount one.

require_relative "install_support"

class TestLinkModes < ScintTest::Case
  include InstallSupport

  PROBE_FILE = "sc_web-3.2.1/lib/sc_web.rb"

  def setup
    super
    @mounts = []
  end

  def teardown
    @mounts.reverse_each { |m| system("umount", m, err: File::NULL) }
    super
  end

  # A warm shared cache, then a fresh app installed with the given mode.
  def install_with(mode, name, cache: :shared)
    shape, corpus = corpus(:small)
    server = serve(corpus.dir)
    app = app(name, gems: shape.gemfile_deps, source: server.url, cache: cache)
    app.bundle_lock!
    r = scint!(app, "--link-mode", mode, "--verbose")
    app.bundle_check!
    assert_everything_loads(app, shape)
    assert_equal "sc-cli: sc_cli-0.7.0\n", app.bundle_exec!("sc-cli").stdout
    [app, r]
  end

  def app_file(app)
    File.join(app.install_root, "gems", PROBE_FILE)
  end

  def cache_file(app)
    File.join(cached_dir(app), PROBE_FILE.sub("/", "/gem/"))
  end

  def app_spec(app)
    File.join(app.install_root, "specifications", "sc_web-3.2.1.gemspec")
  end

  def cache_spec(app)
    File.join(cached_dir(app), "sc_web-3.2.1.gemspec")
  end

  def decided(result)
    result.stdout[/^link mode: (\w+),/, 1]
  end

  def reflink_works?(dir)
    a = File.join(dir, ".reflink-probe-a")
    File.write(a, "x")
    system("cp", "--reflink=always", a, "#{a}.b", err: File::NULL)
  ensure
    FileUtils.rm_f([a, "#{a}.b"])
  end

  def test_hardlink_mode
    app, r = install_with("hardlink", "hl")
    assert_equal "hardlink", decided(r)
    assert_equal File.stat(cache_file(app)).ino, File.stat(app_file(app)).ino
  end

  def test_copy_mode
    app, r = install_with("copy", "cp")
    assert_equal "copy", decided(r)
    refute_equal File.stat(cache_file(app)).ino, File.stat(app_file(app)).ino
    assert_equal 1, File.stat(app_file(app)).nlink
    assert_equal File.read(cache_file(app)), File.read(app_file(app))
  end

  def test_symlink_mode
    app, r = install_with("symlink", "sl")
    assert_equal "symlink", decided(r)
    gem_dir = File.join(app.install_root, "gems", "sc_web-3.2.1")
    assert File.symlink?(gem_dir)
    assert_equal File.realpath(File.join(cached_dir(app), "sc_web-3.2.1", "gem")), File.realpath(gem_dir)
    # The gemspec is linked like the tree (not copied); still a regular file.
    spec = app_spec(app)
    refute File.symlink?(spec)
    assert_equal File.stat(cache_spec(app)).ino, File.stat(spec).ino
  end

  # Symlink mode with the cache on another filesystem: the tree is still a
  # symlink, the gemspec (a link is refused across filesystems) a copy.
  def test_symlink_mode_across_filesystems_copies_the_gemspec
    other = mount!(:tmpfs, File.join(tmp, "other-fs-sl"))
    app, r = install_with("symlink", "sl-xfs", cache: File.join(other, "cache"))
    assert_equal "symlink", decided(r)
    assert File.symlink?(File.join(app.install_root, "gems", "sc_web-3.2.1"))
    spec = app_spec(app)
    assert File.file?(spec) && !File.symlink?(spec)
    refute_equal File.stat(cache_spec(app)).dev, File.stat(spec).dev
    assert_equal File.read(cache_spec(app)), File.read(spec)
  end

  # On a filesystem without reflinks, clone mode copies (per-file fallback).
  def test_clone_mode_without_reflink_support_copies
    skip "this filesystem supports reflinks" if reflink_works?(tmp)
    app, r = install_with("clone", "cl")
    assert_equal "clone", decided(r)
    refute_equal File.stat(cache_file(app)).ino, File.stat(app_file(app)).ino
    # The gemspec's clone falls back to a copy as well.
    refute_equal File.stat(cache_spec(app)).ino, File.stat(app_spec(app)).ino
    assert_equal File.read(cache_spec(app)), File.read(app_spec(app))
  end

  def test_auto_mode_on_one_filesystem
    app, r = install_with("auto", "auto")
    if reflink_works?(tmp)
      assert_equal "clone", decided(r)
      refute_equal File.stat(cache_file(app)).ino, File.stat(app_file(app)).ino
    else
      assert_equal "hardlink", decided(r)
      assert_equal File.stat(cache_file(app)).ino, File.stat(app_file(app)).ino
    end
  end

  def mount!(kind, dir)
    skip "mounting needs root" unless Process.uid.zero?
    FileUtils.mkdir_p(dir)
    ok = case kind
         when :tmpfs
           system("mount", "-t", "tmpfs", "-o", "size=512m", "scint-test", dir, err: File::NULL)
         when :xfs
           ScintTest.command?("mkfs.xfs") || skip("mkfs.xfs is not installed (xfsprogs)")
           img = File.join(tmp, "xfs.img")
           File.open(img, "w") { |f| f.truncate(600 << 20) }
           system("mkfs.xfs", "-q", "-f", img, out: File::NULL, err: File::NULL) &&
             system("mount", "-o", "loop", img, dir, err: File::NULL)
         end
    skip "cannot mount #{kind} here (no loop devices or not permitted)" unless ok
    @mounts << dir
    dir
  end

  # The cache lives on another filesystem: neither reflink nor hardlink can
  # cross it, so auto settles on copies.
  def test_auto_mode_across_filesystems_copies
    other = mount!(:tmpfs, File.join(tmp, "other-fs"))
    app, r = install_with("auto", "xfs-app", cache: File.join(other, "cache"))
    assert_equal "copy", decided(r)
    refute_equal File.stat(cache_file(app)).dev, File.stat(app_file(app)).dev
  end

  def test_clone_mode_on_xfs
    mnt = mount!(:xfs, File.join(tmp, "xfs"))
    skip "this XFS has no reflink support" unless reflink_works?(mnt)
    shape, corpus = corpus(:small)
    server = serve(corpus.dir)
    %w[clone auto].each do |mode|
      app = ScintTest::App.new(File.join(mnt, "app-#{mode}"), source: server.url, gems: shape.gemfile_deps,
                                                               cache: File.join(mnt, "cache"))
      app.bundle_lock!
      r = scint!(app, "--link-mode", mode, "--verbose")
      assert_equal "clone", decided(r), mode
      app.bundle_check!
      assert_everything_loads(app, shape)
      refute_equal File.stat(cache_file(app)).ino, File.stat(app_file(app)).ino
      refute_equal File.stat(cache_spec(app)).ino, File.stat(app_spec(app)).ino, mode
      if ScintTest.command?("filefrag")
        out = `filefrag -v #{app_file(app)} 2>&1`
        assert_match(/shared/, out, "the clone shares its extents with the cache") if out.include?("ext:")
      end
    end
  end
end
