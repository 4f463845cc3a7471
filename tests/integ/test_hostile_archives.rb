# frozen_string_literal: true

# Hostile data.tar.gz payloads, each built at test time: symlink chains that
# climb out of the gem, entries written through links, the same path twice,
# permissions, unpacking limits, deep and long paths. A refused gem fails
# with a message naming it and the cause, exits non-zero, leaves nothing in
# cached/ or assembling/, writes nothing outside (the directory the attack
# aims at stays empty), and the next install of the fixed gem works. An
# accepted one (the same path twice, a file under a link that stays inside)
# installs what RubyGems' own extractor makes of the same .gem.

require_relative "install_support"

class TestHostileArchives < ScintTest::Case
  include InstallSupport

  VICTIM = "sc_color-0.3.1"

  def setup
    super
    _shape, corpus = corpus(:small)
    @dir = corpus_copy(corpus)
    @server = serve(@dir)
    @app = app(gems: { "sc_color" => nil }, source: @server.url)
    @app.bundle_lock!
    @original = File.binread(victim_path)
    # Five levels above the gem root in assembling/<abi>/<entry>/gem is tmp:
    # the attacks aim at tmp/escape.
    @escape = File.join(tmp, "escape")
    FileUtils.mkdir_p(@escape)
  end

  def victim_path
    File.join(@dir, "gems", "#{VICTIM}.gem")
  end

  def up5
    "../../../../.."
  end

  # Replaces the victim's data.tar.gz entries (the block gets the originals).
  def plant(**opts, &block)
    GemSurgery.rewrite(victim_path, **opts, &block)
    GemSurgery.reindex(@dir, "sc_color", "0.3.1")
    @server.refresh
  end

  # The fixed gem: the original bytes under the same version. A real index
  # never changes a published version's checksum, and a client that has the
  # index reads only the new tail of /versions, so the app's copy of the
  # index goes too (the cached/ and inbound/ state is what is under test).
  def restore!
    File.binwrite(victim_path, @original)
    GemSurgery.reindex(@dir, "sc_color", "0.3.1")
    @server.refresh
    FileUtils.rm_rf(File.join(@app.cache, "index"))
  end

  def install(*args, env: {})
    @app.scint("install", *args, env: env)
  end

  def gem_dir
    File.join(@app.install_root, "gems", VICTIM)
  end

  # [rel, type, size, sha256 or link target]: the tree without modes.
  def shape_of(dir)
    ScintTest.tree_snapshot(dir).map { |rel, type, _mode, size, what| [rel, type, size, what] }
  end

  # What RubyGems' extractor makes of the victim as it is now.
  def rubygems_tree
    dest = File.join(tmp, "rubygems-#{rand(1 << 30)}")
    Gem::Package.new(victim_path).extract_files(dest)
    shape_of(dest)
  end

  def assert_no_escape
    assert_empty Dir.children(@escape), "nothing was written outside the gem"
  end

  def assert_refused(result, message)
    refute result.success?, "install must fail:\n#{result}"
    assert_equal 1, result.exitstatus
    refute_match(/AddressSanitizer|runtime error:/, result.stderr)
    assert_match message, result.stderr
    assert_match(/^Install failed: /, result.stdout)
    assert_empty Dir.glob("#{VICTIM}*", base: cached_dir(@app)), "nothing of #{VICTIM} in cached/"
    assert_empty Dir.children(File.join(@app.cache, "assembling", ABI)), "assembling/ is empty"
    refute File.exist?(gem_dir), "nothing materialized"
    assert_no_escape
    # The fixed gem installs in one run.
    restore!
    assert_success install, "the next install of the fixed gem"
    assert_equal shape_of(gem_dir), rubygems_tree
    assert_no_escape
  end

  def assert_installed_like_rubygems(env: {})
    assert_success install(env: env)
    assert_equal rubygems_tree, shape_of(gem_dir)
    manifest = File.read(File.join(cached_dir(@app), "#{VICTIM}.manifest"))
    paths = manifest.lines.grep(/\A[dfl]\t/).map { |l| l.start_with?("l\t") ? l.split("\t")[1] : l.chomp.split("\t").last }
    assert_equal paths.uniq, paths, "one manifest row per path"
    assert_no_escape
  end

  # ---------------------------------------------------------------- symlinks

  # A deep link to the gem root is harmless on its own; a second link that
  # climbs through it is not.
  def test_symlink_chain_through_a_link_to_the_root
    plant do |entries|
      entries + [{ name: "d1/d2/d3/d4/d5/up", type: :symlink, linkname: up5 },
                 { name: "esc", type: :symlink, linkname: "d1/d2/d3/d4/d5/up/#{up5}/escape" },
                 { name: "esc/pwned", body: "x\n" }]
    end
    assert_refused install, %r{error: unsafe archive entry in #{VICTIM}: 'esc': symlink to 'd1/d2/d3/d4/d5/up/\.\./\.\./\.\./\.\./\.\./escape' points outside the gem through another symlink}
  end

  # x is harmless when it is created; y, created later, changes what it names.
  def test_symlink_made_unsafe_by_a_later_link
    plant do |entries|
      entries + [{ name: "x", type: :symlink, linkname: "d1/d2/d3/d4/d5/y/#{up5}/escape" },
                 { name: "d1/d2/d3/d4/d5/y", type: :symlink, linkname: up5 }]
    end
    assert_refused install, %r{error: unsafe archive entry in #{VICTIM}: 'x': symlink to 'd1/d2/d3/d4/d5/y/\.\./\.\./\.\./\.\./\.\./escape' points outside the gem through another symlink}
  end

  def test_write_through_a_symlink_made_unsafe_later
    plant do |entries|
      entries + [{ name: "x", type: :symlink, linkname: "d1/d2/d3/d4/d5/y/#{up5}/escape" },
                 { name: "d1/d2/d3/d4/d5/y", type: :symlink, linkname: up5 },
                 { name: "x/pwned", body: "x\n" },
                 { name: "x/sub/pwned", body: "x\n" }]
    end
    assert_refused install, %r{error: unsafe archive entry in #{VICTIM}: 'x/pwned' leads outside the gem through a symlink}
  end

  # x, ten levels down, names y/../(ten times ..)/escape: inside the gem
  # as written (the check RubyGems makes) and, while y is a deep link,
  # inside through y. A later entry replaces y with a link that is safe
  # alone but makes x climb five levels above the gem.
  def replaced_link_entries(write_after:)
    deep = (1..10).map { |i| "a#{i}" }.join("/")
    entries = [{ name: "#{deep}/b1/b2/b3/b4/b5/", type: :dir },
               { name: "a1/a2/a3/a4/escape/", type: :dir },
               { name: "#{deep}/y", type: :symlink, linkname: "b1/b2/b3/b4/b5" },
               { name: "#{deep}/x", type: :symlink, linkname: "y/#{"../" * 11}escape" },
               { name: "#{deep}/x/inside", body: "x\n" },
               { name: "#{deep}/y", type: :symlink, linkname: "../../../.." }]
    entries << { name: "#{deep}/x/pwned", body: "x\n" } if write_after
    [deep, entries]
  end

  def test_symlink_made_unsafe_by_replacing_a_link_it_goes_through
    deep = nil
    plant do |entries|
      deep, more = replaced_link_entries(write_after: true)
      entries + more
    end
    assert_refused install, %r{error: unsafe archive entry in #{VICTIM}: '#{deep}/x/pwned' leads outside the gem through a symlink}
  end

  # Nothing goes through x once y is replaced: the check of every link
  # once the tree is complete refuses it.
  def test_link_replaced_late_is_checked_again_at_the_end
    deep = nil
    plant do |entries|
      deep, more = replaced_link_entries(write_after: false)
      entries + more
    end
    assert_refused install, %r{error: unsafe archive entry in #{VICTIM}: '#{deep}/x': symlink to 'y/(\.\./){11}escape' points outside the gem through another symlink}
  end

  # Hard link entries create nothing, wherever they point (RubyGems' own
  # extractor makes nothing of them either).
  def test_hard_link_entries_create_nothing
    plant do |entries|
      entries + [{ name: "lib/h_abs", type: :hardlink, linkname: "/etc/passwd" },
                 { name: "lib/h_up", type: :hardlink, linkname: "#{up5}/escape/x" },
                 { name: "lib/h_in", type: :hardlink, linkname: "lib/sc_color.rb" }]
    end
    assert_installed_like_rubygems
    %w[h_abs h_up h_in].each { |n| refute File.exist?(File.join(gem_dir, "lib", n)), "lib/#{n} created" }
  end

  # A chain of 38 links through a 190-level path costs megabytes of
  # lookups to resolve, within the per-resolution bounds; many small links
  # to its start would make every one of them cost that (minutes for a
  # package of a few hundred kilobytes). The lookups of one gem are bounded.
  def link_chain_entries(nlinks)
    deep = (["d" * 10] * 190).join("/")
    more = (0...19).flat_map do |j|
      [{ name: "L#{j}", type: :symlink, linkname: "#{deep}/u#{j}" },
       { name: "#{deep}/u#{j}", type: :symlink, linkname: "#{"../" * 190}L#{j + 1}" }]
    end
    more << { name: "L19/", type: :dir }
    more + (0...nlinks).map { |i| { name: "m/m#{i}", type: :symlink, linkname: "../L0" } }
  end

  def test_links_that_are_costly_to_resolve_are_bounded
    plant { |entries| entries + link_chain_entries(2000) }
    assert_refused install(env: { "SCINT_GEM_MAX_ENTRIES" => "5000" }),
                   /error: cannot unpack #{VICTIM}: its symlinks take more than 81920000 bytes of lookups to resolve \(16384 per allowed entry; SCINT_GEM_MAX_ENTRIES raises it\)/
  end

  # (RubyGems' reader drops the GNU long link names of this chain: no
  # comparison with its tree.)
  def test_a_few_links_through_a_long_chain_install
    plant { |entries| entries + link_chain_entries(3) }
    assert_success install
    assert File.directory?(File.join(gem_dir, "m/m2")), "m/m2 leads to L19"
    assert_equal "../L0", File.readlink(File.join(gem_dir, "m/m2"))
    assert_no_escape
  end

  def test_symlink_loop_is_refused
    plant do |entries|
      entries + [{ name: "lib/a", type: :symlink, linkname: "b" }, { name: "lib/b", type: :symlink, linkname: "a" }]
    end
    assert_refused install, %r{error: unsafe archive entry in #{VICTIM}: 'lib/(a|b)': symlink to '(a|b)': too many levels of symbolic links}
  end

  # RubyGems writes through a link that stays inside; so does scint, to the
  # link's target, without any link in the paths it writes.
  def test_file_under_a_symlinked_dir_lands_in_its_target
    plant do |entries|
      entries + [{ name: "lib/real/", type: :dir },
                 { name: "lib/alias", type: :symlink, linkname: "real" },
                 { name: "lib/alias/x.rb", body: "X = 1\n" }]
    end
    assert_installed_like_rubygems
    assert_equal "X = 1\n", File.read(File.join(gem_dir, "lib/real/x.rb"))
    assert File.symlink?(File.join(gem_dir, "lib/alias"))
  end

  # ---------------------------------------------------------------- the same path twice

  def test_same_file_twice_last_wins
    plant do |entries|
      entries + [{ name: "lib/twice.rb", body: "FIRST = 1\n" * 1000, mode: 0o755 },
                 { name: "lib/twice.rb", body: "SECOND = 2\n", mode: 0o644 }]
    end
    assert_installed_like_rubygems
    path = File.join(gem_dir, "lib/twice.rb")
    assert_equal "SECOND = 2\n", File.read(path)
    assert_equal 0o644, File.stat(path).mode & 0o7777
    # The cached entry materializes again, with and without --force.
    FileUtils.rm_rf(@app.path(".bundle"))
    assert_success install
    assert_success install("--force")
    assert_equal "SECOND = 2\n", File.read(path)
    @app.bundle_check!
  end

  def test_file_then_directory
    plant do |entries|
      entries + [{ name: "lib/p", body: "file\n" }, { name: "lib/p/", type: :dir }, { name: "lib/p/in.rb", body: "1\n" }]
    end
    assert_installed_like_rubygems
    assert File.directory?(File.join(gem_dir, "lib/p"))
  end

  def test_directory_then_file
    plant do |entries|
      entries + [{ name: "lib/p/", type: :dir }, { name: "lib/p/in.rb", body: "1\n" }, { name: "lib/p/deep/x.rb", body: "2\n" },
                 { name: "lib/p", body: "file\n" }]
    end
    assert_installed_like_rubygems
    assert_equal "file\n", File.read(File.join(gem_dir, "lib/p"))
  end

  def test_file_then_symlink
    plant do |entries|
      entries + [{ name: "lib/p.rb", body: "file\n" }, { name: "lib/p.rb", type: :symlink, linkname: "sc_color.rb" }]
    end
    assert_installed_like_rubygems
    assert_equal "sc_color.rb", File.readlink(File.join(gem_dir, "lib/p.rb"))
  end

  def test_symlink_then_file
    plant do |entries|
      entries + [{ name: "lib/p.rb", type: :symlink, linkname: "sc_color.rb" }, { name: "lib/p.rb", body: "file\n" }]
    end
    assert_installed_like_rubygems
    refute File.symlink?(File.join(gem_dir, "lib/p.rb"))
    assert_equal "file\n", File.read(File.join(gem_dir, "lib/p.rb"))
  end

  # Under ASan this was a heap use-after-free.
  def test_directory_then_symlink
    plant do |entries|
      entries + [{ name: "lib/p/", type: :dir }, { name: "lib/p/in.rb", body: "1\n" },
                 { name: "lib/p", type: :symlink, linkname: "." }]
    end
    assert_installed_like_rubygems
    assert_equal ".", File.readlink(File.join(gem_dir, "lib/p"))
  end

  def test_symlink_then_directory
    plant do |entries|
      entries + [{ name: "lib/p", type: :symlink, linkname: "." }, { name: "lib/p/", type: :dir }, { name: "lib/p/in.rb", body: "1\n" }]
    end
    assert_installed_like_rubygems
    assert File.directory?(File.join(gem_dir, "lib/p"))
    refute File.symlink?(File.join(gem_dir, "lib/p"))
  end

  # A directory entry over a directory keeps what is inside (as tar does;
  # RubyGems would empty it) and takes the later mode.
  def test_directory_twice_keeps_its_contents
    plant do |entries|
      entries + [{ name: "lib/p/", type: :dir, mode: 0o700 }, { name: "lib/p/in.rb", body: "1\n" }, { name: "lib/p/", type: :dir, mode: 0o755 }]
    end
    assert_success install
    assert_equal "1\n", File.read(File.join(gem_dir, "lib/p/in.rb"))
    assert_equal 0o755, File.stat(File.join(cached_dir(@app), VICTIM, "gem/lib/p")).mode & 0o777
  end

  # A wide tree: the reader does not wait for each directory. Files below a
  # directory whose mkdirat is still queued or already in the kernel go in
  # behind it, in order, with the entries that touch such a directory again
  # (a link into it, a file through that link, a large file in a fresh
  # directory) landing as RubyGems' extractor puts them.
  def test_a_wide_tree_lands_whole_while_its_directories_are_made
    big = Random.new(3).bytes(600 << 10)
    plant do |entries|
      wide = (0...240).flat_map do |i|
        (0...4).map { |j| { name: "lib/w#{i % 8}/d#{i}/s#{j % 2}/f#{j}.rb", body: "F_#{i}_#{j} = #{i * j}\n" * (j + 1) } }
      end
      entries + wide +
        [{ name: "lib/w4/alias", type: :symlink, linkname: "d4/s0" },
         { name: "lib/w4/alias/through.rb", body: "T = 1\n" },
         { name: "data/fresh/deep/blob.bin", body: big },
         { name: "lib/w6/d6/s1/f1.rb", body: "LAST = 1\n" }]
    end
    assert_installed_like_rubygems
    assert_equal "F_200_3 = 600\n" * 4, File.read(File.join(gem_dir, "lib/w0/d200/s1/f3.rb"))
    assert_equal "LAST = 1\n", File.read(File.join(gem_dir, "lib/w6/d6/s1/f1.rb"))
    assert_equal "T = 1\n", File.read(File.join(gem_dir, "lib/w4/d4/s0/through.rb"))
    assert_equal big, File.binread(File.join(gem_dir, "data/fresh/deep/blob.bin"))
    assert_equal 240 * 4 + 1, Dir.glob("lib/w*/d*/**/*.rb", base: gem_dir).size
  end

  # ---------------------------------------------------------------- permissions

  def test_permissions_drop_world_write_and_special_bits
    plant do |entries|
      entries + [{ name: "lib/ww.rb", body: "1\n", mode: 0o666 },
                 { name: "bin/suid", body: "#!/bin/sh\n", mode: 0o4777 },
                 { name: "bin/sgid", body: "#!/bin/sh\n", mode: 0o2775 },
                 { name: "lib/ro.rb", body: "1\n", mode: 0o444 },
                 { name: "lib/noread.rb", body: "1\n", mode: 0o000 },
                 { name: "lib/sticky/", type: :dir, mode: 0o1777 },
                 { name: "lib/sticky/x.rb", body: "1\n" }]
    end
    assert_success install
    expected = { "lib/ww.rb" => 0o644, "bin/suid" => 0o755, "bin/sgid" => 0o755, "lib/ro.rb" => 0o444,
                 "lib/noread.rb" => 0o400, "lib/sticky" => 0o755 }
    [File.join(cached_dir(@app), VICTIM, "gem"), gem_dir].each do |root|
      expected.each do |rel, mode|
        assert_equal format("%o", mode), format("%o", File.stat(File.join(root, rel)).mode & 0o7777), "#{root}/#{rel}"
      end
      ScintTest.tree_snapshot(root).each do |rel, type, mode|
        next if type == "l"

        assert_equal 0, mode & 0o7022, "#{rel}: no group/other write, no setuid/setgid/sticky"
      end
    end
  end

  # ---------------------------------------------------------------- limits

  def zeros(name, bytes)
    { name: name, body: "\0" * bytes }
  end

  def test_unpacked_bytes_limit_and_its_setting
    plant { |entries| entries + (1..3).map { |i| zeros("data/z#{i}", 600 << 10) } }
    r = install(env: { "SCINT_GEM_MAX_BYTES" => "1M" })
    refute r.success?
    assert_match(/error: cannot unpack #{VICTIM}: it unpacks to more than 1 MiB \(the limit per gem; SCINT_GEM_MAX_BYTES raises it\)/, r.stderr)
    assert_empty Dir.glob("#{VICTIM}*", base: cached_dir(@app))
    assert_empty Dir.children(File.join(@app.cache, "assembling", ABI))
    # Raised, the same gem installs.
    assert_installed_like_rubygems(env: { "SCINT_GEM_MAX_BYTES" => "4M" })
  end

  def test_file_size_limit_and_its_setting
    plant { |entries| entries + [zeros("data/big", 300 << 10)] }
    r = install(env: { "SCINT_GEM_MAX_FILE_BYTES" => "256K" })
    refute r.success?
    assert_match(/error: cannot unpack #{VICTIM}: 'data\/big' is 307200 bytes, more than 262144 bytes \(the limit per file; SCINT_GEM_MAX_FILE_BYTES raises it\)/, r.stderr)
    assert_installed_like_rubygems(env: { "SCINT_GEM_MAX_FILE_BYTES" => "1M" })
  end

  # The header claims 600 MiB and no data follows: refused from the header
  # (the default limit per file), nothing allocated or read for it.
  def test_a_header_claiming_more_than_the_file_limit
    plant(data_tail: "") { |entries| entries + [{ name: "data/huge", size: 600 << 20, body: "" }] }
    assert_refused install, %r{error: cannot unpack #{VICTIM}: 'data/huge' is 629145600 bytes, more than 512 MiB \(the limit per file; SCINT_GEM_MAX_FILE_BYTES raises it\)}
  end

  # Within the limits, but the data is not there: a truncated archive.
  def test_a_header_claiming_data_that_is_missing
    plant(data_tail: "") { |entries| entries + [{ name: "data/liar", size: 200 << 20, body: "" }] }
    assert_refused install, /error: cannot unpack #{VICTIM}: /
  end

  def test_entry_count_limit
    plant { |entries| entries + (1..30).map { |i| { name: "data/f#{i}", body: "#{i}\n" } } }
    r = install(env: { "SCINT_GEM_MAX_ENTRIES" => "20" })
    refute r.success?
    assert_match(/error: cannot unpack #{VICTIM}: its tree has more than 20 files, directories and symlinks \(the limit; SCINT_GEM_MAX_ENTRIES raises it\)/, r.stderr)
    assert_installed_like_rubygems(env: { "SCINT_GEM_MAX_ENTRIES" => "100" })
  end

  # Entries that create nothing (hard links) are read all the same.
  def test_entries_that_create_nothing_count_too
    plant { |entries| entries + (1..30).map { |i| { name: "data/h#{i}", type: :hardlink, linkname: "lib/sc_color.rb" } } }
    r = install(env: { "SCINT_GEM_MAX_ENTRIES" => "20" })
    refute r.success?
    assert_match(/error: cannot unpack #{VICTIM}: data\.tar\.gz has more than 20 entries \(the limit; SCINT_GEM_MAX_ENTRIES raises it\)/, r.stderr)
    assert_empty Dir.glob("#{VICTIM}*", base: cached_dir(@app))
  end

  # A few long, deep names imply directories whose paths add up: bounded too.
  def test_deep_long_names_count_against_the_path_budget
    plant { |entries| entries + [{ name: "#{("a" * 200 + "/") * 15}x", body: "1\n" }] }
    r = install(env: { "SCINT_GEM_MAX_ENTRIES" => "50" })
    refute r.success?
    assert_match(/error: cannot unpack #{VICTIM}: the paths of its tree add up to more than 12800 bytes \(256 per allowed entry; SCINT_GEM_MAX_ENTRIES raises it\)/, r.stderr)
    assert_empty Dir.glob("#{VICTIM}*", base: cached_dir(@app))
    assert_empty Dir.children(File.join(@app.cache, "assembling", ABI))
    assert_success install
  end

  def test_metadata_that_inflates_past_the_limit
    plant(meta: ->(yaml) { "#{yaml}#{"#" * (40 << 20)}\n" }) { |entries| entries }
    assert_refused install, /error: cannot unpack #{VICTIM}: metadata\.gz inflates to more than 32 MiB \(the limit; SCINT_GEM_MAX_METADATA_BYTES raises it\)/
  end

  def test_checksums_that_inflate_past_the_limit
    plant(sums: ->(yaml) { "#{yaml}#{"#" * (40 << 20)}\n" }) { |entries| entries }
    assert_refused install, /error: cannot unpack #{VICTIM}: checksums\.yaml\.gz inflates to more than 32 MiB \(the limit; SCINT_GEM_MAX_METADATA_BYTES raises it\)/
  end

  def test_a_bad_limit_setting_is_an_error
    r = install(env: { "SCINT_GEM_MAX_BYTES" => "lots" })
    refute r.success?
    assert_match(/error: cannot unpack #{VICTIM}: SCINT_GEM_MAX_BYTES=lots is not a size/, r.stderr)
  end

  # Larger than one write: streamed in chunks; the bytes arrive intact.
  def test_large_file_is_streamed_intact
    body = Random.new(7).bytes(3 << 20) + "tail"
    plant { |entries| entries + [{ name: "data/blob.bin", body: body }] }
    assert_installed_like_rubygems
    assert_equal Digest::SHA256.hexdigest(body), Digest::SHA256.file(File.join(gem_dir, "data/blob.bin")).hexdigest
    manifest = File.read(File.join(cached_dir(@app), "#{VICTIM}.manifest"))
    assert_includes manifest, "f\t0644\t#{body.bytesize}\t#{Digest::SHA256.hexdigest(body)}\tgem/data/blob.bin\n"
  end

  # 200 MiB of zeros from a small package: unpacking holds a bounded window
  # of it, never the file (the whole tree of processes stays under 64 MiB).
  def test_a_200_mib_file_unpacks_in_bounded_memory
    rusage = File.join(ScintTest::BUILD_DIR, "scint-rusage")
    skip "no #{rusage}" unless File.executable?(rusage)
    size = 200 << 20
    plant { |entries| entries + [{ name: "data/zeros.bin", zeros: size }] }
    assert_operator File.size(victim_path), :<, 2 << 20
    out = File.join(tmp, "rusage.json")
    r = @app.run(rusage, "-o", out, "--", ScintTest.scint_bin, "install")
    assert_success r
    assert_equal size, File.size(File.join(gem_dir, "data/zeros.bin"))
    # ASan keeps freed memory in quarantine: the bound means nothing there.
    return if File.binread(ScintTest.scint_bin).include?("__asan_init")

    maxrss_kb = JSON.parse(File.read(out)).fetch("maxrss_kb")
    assert_operator maxrss_kb, :<, 64 << 10, "peak RSS #{maxrss_kb} KiB"
  end

  # A second data.tar.gz (or metadata.gz) after the one checksums.yaml.gz
  # vouches for: RubyGems reads the first, a tar extractor would keep the last.
  %w[data.tar.gz metadata.gz].each do |member|
    define_method("test_#{member.tr(".", "_")}_twice_in_the_package") do
      outer = GemSurgery.read_outer(victim_path)
      extra = GemSurgery.gzip_tar([{ name: "lib/evil.rb", body: "1\n" }], "\0" * 1024)
      outer.insert(outer.index { |n, _| n == member } + 1, [member, extra])
      File.binwrite(victim_path, GemSurgery.tar(outer.map { |n, b| { name: n, body: b, mode: 0o444 } }))
      GemSurgery.reindex(@dir, "sc_color", "0.3.1")
      @server.refresh
      assert_refused install, /error: #{VICTIM} is not a valid gem package: #{Regexp.escape(member)} is in it twice/
    end
  end

  # ---------------------------------------------------------------- names

  def test_a_deep_path_is_accepted
    deep = "#{"d/" * 200}x.rb"
    plant { |entries| entries + [{ name: deep, body: "DEEP = 1\n" }] }
    assert_success install
    assert_equal "DEEP = 1\n", File.read(File.join(gem_dir, deep))
  end

  # A tree deeper than the cache can remove again would stay in
  # assembling/ and fail every later install of the gem: refused, whether
  # the depth is in the name or reached through a link.
  def test_a_tree_too_deep_to_remove_is_refused
    deep = "#{"d/" * 201}x.rb"
    plant { |entries| entries + [{ name: deep, body: "DEEP = 1\n" }] }
    assert_refused install, %r{error: cannot unpack #{VICTIM}: '#{deep}' is more than 200 directories deep}
  end

  def test_a_tree_too_deep_through_a_link_is_refused
    plant do |entries|
      entries + [{ name: "#{"d/" * 150}", type: :dir },
                 { name: "s", type: :symlink, linkname: ("d/" * 150).chomp("/") },
                 { name: "s/#{"e/" * 60}x.rb", body: "DEEP = 1\n" }]
    end
    assert_refused install, %r{error: cannot unpack #{VICTIM}: 's/(e/){60}x\.rb' is more than 200 directories deep}
  end

  def test_a_too_long_path_is_refused
    long = "#{("a" * 200 + "/") * 16}x.rb"
    plant { |entries| entries + [{ name: long, body: "1\n" }] }
    assert_refused install, /error: unsafe archive entry in #{VICTIM}: '#{"a" * 200}\/a{99}\.\.\.': path longer than 3072 bytes/
  end

  def test_a_too_long_component_is_refused
    plant { |entries| entries + [{ name: "lib/#{"c" * 300}", body: "1\n" }] }
    assert_refused install, /error: unsafe archive entry in #{VICTIM}: 'lib\/c+\.\.\.': a path component is longer than 255 bytes/
  end

  def test_control_characters_are_refused_and_not_printed
    plant { |entries| entries + [{ name: "lib/evil\e[31mred.rb", body: "1\n" }] }
    r = install
    refute_includes r.stderr, "\e[31m"
    assert_refused r, /error: unsafe archive entry in #{VICTIM}: 'lib\/evil\\x1b\[31mred\.rb': control character in name/
  end
end
