# frozen_string_literal: true

# Damaged cache entries (a cached file truncated, changed or deleted, an
# entry's directory gone, an edit through a hardlinked .bundle): a warm
# install notices the damage cheaply, names the gem and the problem, moves
# the entry to quarantine/ and rebuilds it in the same run; `scint cache
# verify` checks every digest and names exactly the damaged entries;
# `--repair` quarantines them. And promotions are durable: the data is
# synced before the manifest is renamed into place.

require_relative "install_support"

class TestCacheDamage < ScintTest::Case
  include InstallSupport

  GEM = "sc_web-3.2.1"
  FILE = "lib/sc_web.rb"

  def setup
    super
    @shape, @corpus, @server, @app = small_app
    scint!(@app)
    @pristine = entry_snapshot(GEM)
  end

  def entry_dir(full_name = GEM)
    File.join(cached_dir(@app), full_name)
  end

  def cache_file(full_name = GEM, rel = FILE)
    File.join(entry_dir(full_name), "gem", rel)
  end

  def bundle_file(full_name = GEM, rel = FILE)
    File.join(@app.install_root, "gems", full_name, rel)
  end

  # [relpath, type, size, sha256] of a cached entry's tree (modes aside).
  def entry_snapshot(full_name)
    ScintTest.tree_snapshot(entry_dir(full_name)).map { |r| [r[0], r[1], r[3], r[4]] }
  end

  def quarantined(full_name = GEM)
    Dir.glob(File.join(@app.cache, "quarantine", ABI, "#{full_name}.*"))
  end

  def reinstall(*args)
    FileUtils.rm_rf(File.join(@app.dir, ".bundle"))
    @app.scint("install", *args)
  end

  def warnings(result)
    result.stderr.lines.grep(/was damaged/)
  end

  # The damage was named, the entry quarantined and rebuilt, and what is
  # installed now is the gem's real content.
  def assert_repaired(result, problem)
    assert_success result
    w = warnings(result)
    assert_equal 1, w.size, result.stderr
    assert_match(/\Awarning: the cache entry of #{Regexp.escape(GEM)} was damaged: #{problem}[^;]*; moved it to \S+quarantine\S+; rebuilt it$/, w.first)
    assert_match(/^Installing sc_web 3\.2\.1$/, result.stdout, "rebuilt through assemble")
    assert_equal 1, quarantined.size
    q = quarantined.first
    assert File.file?(File.join(q, "#{GEM}.manifest")), "the manifest went with it"
    assert_match(/#{problem}/, File.read(File.join(q, "reason")))
    assert_equal @pristine, entry_snapshot(GEM), "the rebuilt entry is the original one"
    assert_equal File.read(cache_file), File.read(bundle_file)
    @app.bundle_check!
    assert_everything_loads(@app, @shape)
    # Nothing left behind, and the next warm install has nothing to say.
    assert_empty Dir.children(File.join(@app.cache, "assembling", ABI))
    again = reinstall
    assert_success again
    assert_empty warnings(again)
    verify = @app.scint("cache", "verify")
    assert_success verify, "the repaired cache verifies"
  end

  def test_truncated_file
    size = File.size(cache_file)
    File.truncate(cache_file, 10)
    assert_repaired reinstall, Regexp.escape("gem/#{FILE} has 10 bytes, its manifest says #{size}")
  end

  def test_deleted_file
    File.delete(cache_file)
    assert_repaired reinstall, Regexp.escape("gem/#{FILE} is missing")
  end

  # The whole tree is gone but the manifest stays; the .gem is gone too, so
  # the rebuild downloads it again.
  def test_deleted_entry_dir_keeps_manifest
    FileUtils.rm_rf(entry_dir)
    File.delete(File.join(@app.cache, "inbound", "gems", "#{GEM}.gem"))
    assert File.file?("#{entry_dir}.manifest")
    @server.reset_log
    r = reinstall
    assert_equal [GEM], gem_downloads(@server)
    assert_repaired r, "gem/\\S+ is missing"
  end

  # A file deep in the tree (not directly under gem/): looked up inside the
  # entry like any other, a changed size and a newer mtime are both seen.
  def deep_file
    rel = Dir.glob("**/*", base: File.join(entry_dir, "gem"))
             .select { |r| File.file?(File.join(entry_dir, "gem", r)) && r.count("/") >= 2 }.min
    refute_nil rel, "the gem has a file two directories down"
    rel
  end

  def test_grown_file_in_a_subdirectory
    rel = deep_file
    size = File.size(cache_file(GEM, rel))
    File.open(cache_file(GEM, rel), "a") { |f| f.write("x") }
    assert_repaired reinstall, Regexp.escape("gem/#{rel} has #{size + 1} bytes, its manifest says #{size}")
  end

  def test_same_size_change_in_a_subdirectory
    rel = deep_file
    flip_first_byte(cache_file(GEM, rel))
    assert_repaired reinstall, Regexp.escape("gem/#{rel} was modified after the entry was cached")
  end

  def test_deleted_gemspec
    File.delete("#{entry_dir}.gemspec")
    assert_repaired reinstall, "its gemspec is missing"
  end

  # A same-size change made now has a newer mtime than the manifest: the
  # warm path sees it.
  def test_same_size_change_is_seen_by_its_mtime
    flip_first_byte(cache_file)
    assert_repaired reinstall, Regexp.escape("gem/#{FILE} was modified after the entry was cached")
  end

  # With its mtime put back, a same-size change escapes the warm path (it
  # reads no file), and is materialized as is; `scint cache verify` finds it
  # by its digest and --repair quarantines it.
  def test_same_size_change_with_old_mtime_needs_cache_verify
    mtime = File.mtime(cache_file)
    flip_first_byte(cache_file)
    File.utime(mtime, mtime, cache_file)
    r = reinstall
    assert_success r
    assert_empty warnings(r), "documented: the warm path does not read files"
    refute_equal @pristine, entry_snapshot(GEM)

    v = @app.scint("cache", "verify")
    refute v.success?, v.to_s
    assert_equal ["damaged: #{ABI}/#{GEM} (1 problem)"], v.stdout.lines(chomp: true).grep(/^damaged:/)
    assert_match(%r{^  gem/#{Regexp.escape(FILE)}: content differs from its manifest}, v.stdout)
    assert_match(/: 1 damaged$/, v.stdout)

    rep = @app.scint("cache", "verify", "--repair")
    assert_success rep
    assert_match(/moved to \S+quarantine\S+: the next scint install rebuilds it/, rep.stdout)
    refute File.exist?("#{entry_dir}.manifest")
    assert_success @app.scint("cache", "verify")

    r = reinstall
    assert_success r
    assert_match(/^Installing sc_web 3\.2\.1$/, r.stdout)
    assert_equal @pristine, entry_snapshot(GEM)
    assert_equal File.read(cache_file), File.read(bundle_file)
    assert_everything_loads(@app, @shape)
  end

  # In hardlink mode .bundle's files are the cache's: an edit there edits
  # the cache. The next install elsewhere (here: after rm -rf .bundle)
  # notices it and rebuilds the entry.
  def test_edit_through_hardlinked_bundle
    r = reinstall("--link-mode", "hardlink")
    assert_success r
    assert_equal File.stat(cache_file).ino, File.stat(bundle_file).ino
    File.open(bundle_file, "a") { |f| f.write("# a debugging edit\n") }
    refute_equal @pristine, entry_snapshot(GEM), "the edit reached the cache (the documented trade-off)"
    r = reinstall("--link-mode", "hardlink")
    assert_repaired r, Regexp.escape("gem/#{FILE} has ")
    refute_match(/debugging edit/, File.read(bundle_file))
  end

  # --force re-materializes every gem, so it checks (and repairs) them too,
  # without removing .bundle first.
  def test_force_repairs
    File.truncate(cache_file, 0)
    r = @app.scint("install", "--force")
    assert_repaired r, Regexp.escape("gem/#{FILE} has 0 bytes")
  end

  # Nothing to do (no-op): no entry is checked, damaged or not.
  def test_noop_does_not_check
    File.truncate(cache_file, 0)
    env, path = trace_env(@app)
    r = @app.scint("install", env: env)
    assert_success r
    assert_empty warnings(r)
    assert_empty(read_trace(path).select { |t| t["op"] == "check_entry" })
  end

  def test_cache_verify_names_exactly_the_damaged_entries
    assert_success @app.scint("cache", "verify")
    victim = Dir.glob("**/*.rb", base: File.join(entry_dir("sc_rack-2.2.4"), "gem")).min
    File.truncate(cache_file("sc_rack-2.2.4", victim), 1)
    FileUtils.rm_rf(File.join(entry_dir("sc_view-1.1.3"), "gem", "lib"))
    v = @app.scint("cache", "verify")
    assert_equal 1, v.exitstatus, v.to_s
    assert_equal ["damaged: #{ABI}/sc_rack-2.2.4 (1 problem)", "damaged: #{ABI}/sc_view-1.1.3"],
                 v.stdout.lines(chomp: true).grep(/^damaged:/).map { |l| l.sub(/ \(\d+ problems\)\z/, "") }
    assert_match(/^checked \d+ cache entries .*: 2 damaged$/, v.stdout)

    rep = @app.scint("cache", "verify", "--repair")
    assert_success rep
    assert_equal 2, rep.stdout.scan(/moved to /).size
    assert_equal 1, quarantined("sc_rack-2.2.4").size
    assert_equal 1, quarantined("sc_view-1.1.3").size
    assert_success @app.scint("cache", "verify")

    r = reinstall
    assert_success r
    assert_empty warnings(r)
    %w[sc_rack 2.2.4 sc_view 1.1.3].each_slice(2) { |n, v2| assert_match(/^Installing #{n} #{Regexp.escape(v2)}$/, r.stdout) }
    @app.bundle_check!
    assert_everything_loads(@app, @shape)
    assert_success @app.scint("cache", "verify")
  end

  def test_cache_verify_usage_and_empty_cache
    r = @app.scint("cache", "verify", "--bogus")
    assert_equal 2, r.exitstatus, r.to_s
    other = @app.scint("cache", "verify", env: { "SCINT_CACHE" => File.join(tmp, "nothing") })
    assert_success other
  end

  # Durability: for every promoted entry, a syncfs started after its tree was
  # renamed into cached/ and its manifest was written, and ended before the
  # manifest was renamed into place; another one follows that rename.
  def test_promotion_syncs_before_the_manifest
    fresh = @app.copy_to(File.join(tmp, "fresh"))
    env, path = trace_env(fresh, "fresh.jsonl")
    r = fresh.scint("install", env: env)
    assert_success r
    trace = read_trace(path)
    syncs = trace.select { |t| t["op"] == "syncfs" }
    refute_empty syncs
    assert(syncs.all? { |s| s["res"].zero? })
    manifests = trace.select { |t| t["op"] == "renameat" && t["path2"].to_s.end_with?(".manifest") && t["path2"].include?("/cached/") }
    assert_equal @shape.locked.size - @shape.default_gems.size, manifests.size
    manifests.each do |mr|
      full = File.basename(mr["path2"], ".manifest")
      tree = trace.find { |t| t["op"] == "renameat" && t["path2"].to_s.end_with?("/cached/#{ABI}/#{full}") }
      written = trace.find { |t| t["op"] == "write_file" && t["path"].to_s.end_with?("/assembling/#{ABI}/#{full}.manifest") }
      assert tree, "tree rename of #{full}"
      assert written, "manifest write of #{full}"
      ready = [tree, written].map { |t| t["t"] + t["dur_us"] }.max
      assert(syncs.any? { |s| s["t"] >= ready && s["t"] + s["dur_us"] <= mr["t"] },
             "a syncfs between #{full}'s data and its manifest")
      assert(syncs.any? { |s| s["t"] >= mr["t"] + mr["dur_us"] }, "a syncfs after #{full}'s manifest")
    end
    fresh.bundle_check!
  end

  # A `sync` program that fails (no -f, say): the sync runs in process and
  # the install succeeds all the same.
  def test_promotion_syncs_without_a_usable_sync_program
    bin = File.join(tmp, "bin")
    FileUtils.mkdir_p(bin)
    File.write(File.join(bin, "sync"), "#!/bin/sh\necho 'sync: invalid option' >&2\nexit 1\n")
    File.chmod(0o755, File.join(bin, "sync"))
    fresh = @app.copy_to(File.join(tmp, "fresh"))
    env, path = trace_env(fresh, "fresh.jsonl")
    r = fresh.scint("install", env: env.merge("PATH" => "#{bin}:#{ENV.fetch("PATH")}"))
    assert_success r
    trace = read_trace(path)
    spawned = trace.select { |t| t["op"] == "spawn" && t["argv"]&.first == "sync" }
    assert_equal 1, spawned.size, "tried once, then synced in process"
    assert(trace.count { |t| t["op"] == "syncfs" && t["res"].zero? } >= 2)
    fresh.bundle_check!
    assert_success fresh.scint("cache", "verify")
  end

  # The shared cache holds nothing group- or world-writable, whatever the
  # archive said; a copy gets the archive's mode, as Bundler gives it.
  def test_cached_files_are_not_group_or_world_writable
    dir = corpus_copy(@corpus)
    GemSurgery.rewrite(File.join(dir, "gems", "sc_color-0.3.1.gem")) do |entries|
      entries + [{ name: "lib/loose.rb", type: :file, body: "1\n", mode: 0o666 }]
    end
    GemSurgery.reindex(dir, "sc_color", "0.3.1")
    server = fault_server(dir)
    app = app("loose", gems: @shape.gemfile_deps, source: server.url)
    app.bundle_lock!
    r = app.scint("install", "--link-mode", "copy")
    assert_success r
    loose = File.join(cached_dir(app), "sc_color-0.3.1", "gem", "lib", "loose.rb")
    assert File.file?(loose)
    Find.find(cached_dir(app)) do |p|
      st = File.lstat(p)
      next if st.symlink?

      assert_equal 0, st.mode & 0o022, format("%s is %o", p, st.mode & 0o7777)
    end
    assert_success app.scint("cache", "verify")
  end

  private

  def flip_first_byte(path)
    bytes = File.binread(path)
    bytes.setbyte(0, bytes.getbyte(0) ^ 0x20)
    File.binwrite(path, bytes)
  end
end
