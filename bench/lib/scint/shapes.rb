# frozen_string_literal: true

# Canned app shapes for scint's tests and benchmarks: a set of gem
# descriptions (Scint::Gemgen::GemDesc) forming a corpus, the Gemfile
# dependencies of an app using it, and the gems that app should lock.
#
#   shape = Scint::Shapes.small
#   corpus = shape.build(dir)                  # .gem files + compact index in dir
#   shape.gemfile_deps                         # {"sc_web" => [], "ruby2_keywords" => ["= 0.0.5"], ...}
#   shape.locked                               # GemDesc list Bundler should lock on x86_64-linux
#
#   Scint::Shapes.from_lockfile("Gemfile.lock") # any lockfile -> a shape with realistic gems
#
# Gems that are compiled at install in real life carry `native: true`. They
# are generated as pure Ruby unless the shape is built with `native: true`,
# which gives them an extconf.rb extension (slow to install, so opt-in).

require_relative "gemgen"

module Scint
  module Shapes
    # name:          shape name
    # gems:          every GemDesc in the corpus (older versions, other platforms...)
    # gemfile_deps:  {name => [requirement strings]} for the app's Gemfile, in order
    # locked:        the GemDescs the app's lockfile should list for this platform
    class Shape
      attr_reader :name, :gems, :gemfile_deps, :locked

      def initialize(name:, gems:, gemfile_deps:, locked:)
        @name = name
        @gems = gems
        @gemfile_deps = gemfile_deps
        @locked = locked
      end

      # The descriptions as they are built: `native` gems get an extconf.rb
      # extension when native is true.
      def gem_descs(native: false)
        gems.map { |d| native && d.native && !d.ext && !d.prebuilt ? d.with(ext: "extconf") : d }
      end

      # Builds (or refreshes, cached) the corpus into dir. Returns the Corpus.
      def build(dir, native: false, so_cache: nil)
        corpus = Gemgen::Corpus.new(dir, so_cache: so_cache)
        gem_descs(native: native).each { |d| corpus.add(d) }
        corpus.build!
        corpus
      end

      # Locked gems that Ruby ships as default gems at the same version:
      # Bundler uses those in place and downloads nothing for them.
      def default_gems
        locked.select { |d| Shapes.default_gem?(d.name, d.version) }
      end

      # Locked gems that an install must download.
      def downloaded
        locked - default_gems
      end

      # Gemfile text for the shape with the given source URL.
      def gemfile(source)
        Shapes.gemfile(source, gemfile_deps)
      end

      # Structural statistics of the locked set, to compare a shape with the
      # real applications it imitates (scint-bench prints them):
      #   gems, corpus_gems, gemfile_deps   locked gems, every .gem in the corpus, Gemfile entries
      #   max_depth                         longest dependency chain from a Gemfile entry, in edges
      #   depth_histogram                   {depth => number of Gemfile entries with that longest chain}
      #   top_fan_in                        [[name, dependents], ...] the five biggest hubs
      #   exact_pins                        dependency edges with an "= x" requirement
      #   native, native_pct                gems compiled at install in real life (or platform gems)
      #   platform_gems                     gems with more than one platform in the corpus
      #   with_executables                  gems that ship executables
      #   files, files_median, files_max    files per installed gem (lib + main + README + exes + extras)
      #   gems_1000_files, big_files        gems of 1000+ files; files of 512 KiB or more
      #   approx_bytes                      approximate unpacked size of the locked gems
      def stats
        by_name = locked.to_h { |d| [d.name, d] }
        fan_in = Hash.new(0)
        locked.each { |d| d.deps.each { |n, _| fan_in[n] += 1 if by_name[n] } }
        heights = {}
        height = lambda do |d|
          heights[d.name] ||= begin
            ds = d.deps.filter_map { |n, _| by_name[n] }
            ds.empty? ? 0 : 1 + ds.map { |x| height.call(x) }.max
          end
        end
        depths = gemfile_deps.keys.filter_map { |n| by_name[n] && height.call(by_name[n]) }
        files = locked.map { |d| d.files + 2 + d.executables.size + d.extra_files.size }.sort
        big = locked.sum { |d| d.extra_files.count { |_, f| f[:content].bytesize >= 512 * 1024 } }
        native = locked.count { |d| d.native || !d.ruby_platform? }
        { gems: locked.size, corpus_gems: gems.size, gemfile_deps: gemfile_deps.size,
          max_depth: depths.max || 0, depth_histogram: depths.tally.sort.to_h,
          top_fan_in: fan_in.sort_by { |n, c| [-c, n] }.first(5),
          exact_pins: locked.sum { |d| d.deps.count { |_, reqs| reqs.any? { |r| r.start_with?("= ") } } },
          native: native, native_pct: locked.empty? ? 0.0 : (100.0 * native / locked.size).round(1),
          platform_gems: gems.group_by(&:name).count { |_, v| v.map(&:platform).uniq.size > 1 },
          with_executables: locked.count { |d| !d.executables.empty? },
          files: files.sum, files_median: files.empty? ? 0 : files[files.size / 2], files_max: files.max || 0,
          gems_1000_files: files.count { |f| f >= 1000 }, big_files: big,
          approx_bytes: locked.sum { |d| d.files * d.file_size + d.extra_files.sum { |_, f| f[:content].bytesize } } }
      end
    end

    module_function

    # What precompiled gems declare: this Ruby's minor series only
    # (">= 3.1", "< 3.2.dev" on Ruby 3.1).
    def prebuilt_ruby_requirement
      major, minor = RUBY_VERSION.split(".").map(&:to_i)
      [">= #{major}.#{minor}", "< #{major}.#{minor + 1}.dev"]
    end

    def default_gem?(name, version)
      Gem::Specification.default_stubs("#{name}-#{version}.gemspec").any? do |s|
        s.name == name && s.version.to_s == version
      end
    end

    # Gemfile text: `source`, then one `gem` line per dependency.
    def gemfile(source, deps)
      lines = ["source #{source.inspect}", ""]
      deps.each do |name, reqs|
        args = [name, *Array(reqs)].map(&:inspect).join(", ")
        lines << "gem #{args}"
      end
      "#{lines.join("\n")}\n"
    end

    # ---------------------------------------------------------------- small

    # ~29 gems: a tree five levels deep (sc_web > sc_view > sc_template >
    # sc_utils > sc_concurrent), older and prerelease versions the resolver
    # must skip, a platform gem (sc_fastjson: ruby, x86_64-linux with a
    # prebuilt .so, arm64-darwin), executables in exe/ (sc_cli) and bin/
    # (sc_tool), ruby2_keywords 0.0.5 pinned to the version Ruby 3.1 ships as
    # a default gem, pure gems from 1 to 200 files, and sc_native (native:
    # its extconf.rb requires sc_portile, a mini_portile2 stand-in).
    def small
      gems = []
      locked = []
      g = lambda do |name, version, locked_too: true, **opts|
        d = Gemgen::GemDesc.new(name: name, version: version, **opts)
        gems << d
        locked << d if locked_too
        d
      end
      old = ->(name, *versions) { versions.each { |v| g.call(name, v, locked_too: false, files: 1) } }

      g.call("sc_web", "3.2.1", files: 45, file_size: 1800,
                                deps: { "sc_router" => "~> 2.0", "sc_rack" => [">= 1.4", "< 3"], "sc_view" => "~> 1.1" })
      old.call("sc_web", "3.1.0", "4.0.0.beta1")
      g.call("sc_router", "2.3.0", files: 18, deps: { "sc_rack" => ">= 1.0", "sc_mime" => "~> 0.9" })
      g.call("sc_rack", "2.2.4", files: 60, deps: { "sc_utils" => "~> 1.0" })
      old.call("sc_rack", "1.6.13", "3.0.0")
      g.call("sc_view", "1.1.3", files: 25, deps: { "sc_template" => "~> 0.4", "sc_escape" => nil })
      g.call("sc_template", "0.4.2", files: 12, deps: { "sc_utils" => "~> 1.0", "sc_escape" => ">= 0.1" })
      g.call("sc_utils", "1.0.7", files: 30, deps: { "sc_concurrent" => "~> 1.1", "ruby2_keywords" => ">= 0.0.5" })
      old.call("sc_utils", "0.9.0")
      g.call("sc_concurrent", "1.1.9", files: 200, file_size: 1500)
      g.call("sc_escape", "0.2.0", files: 0)
      g.call("sc_mime", "0.9.1", files: 3, deps: { "sc_data" => ">= 1.0" })
      g.call("sc_data", "1.2.0", files: 1, file_size: 60_000)
      g.call("sc_db", "5.0.2", files: 90, file_size: 2500,
                               deps: { "sc_model" => "= 5.0.2", "sc_utils" => "~> 1.0", "sc_pool" => "~> 2.1" })
      g.call("sc_model", "5.0.2", files: 120, file_size: 2000, deps: { "sc_utils" => "~> 1.0", "sc_i18n" => "~> 1.8" })
      old.call("sc_model", "5.0.1")
      g.call("sc_i18n", "1.8.11", files: 60, deps: { "sc_concurrent" => "~> 1.0" })
      g.call("sc_pool", "2.1.0", files: 4)
      g.call("sc_cli", "0.7.0", files: 8, executables: ["sc-cli"], bindir: "exe", deps: { "sc_color" => "~> 0.3" })
      g.call("sc_color", "0.3.1", files: 2)
      g.call("sc_tool", "1.4.0", files: 6, executables: ["sctool"], bindir: "bin", deps: { "sc_cli" => ">= 0.5" })
      g.call("sc_fastjson", "2.6.3", locked_too: false, files: 10, native: true)
      g.call("sc_fastjson", "2.6.3", platform: "x86_64-linux", files: 10, prebuilt: true,
                                     required_ruby_version: prebuilt_ruby_requirement)
      g.call("sc_fastjson", "2.6.3", locked_too: false, platform: "arm64-darwin", files: 10,
                                     required_ruby_version: prebuilt_ruby_requirement)
      g.call("sc_parser", "3.1.0", files: 70, deps: { "sc_ast" => "~> 2.4", "sc_fastjson" => ">= 2.0" })
      g.call("sc_ast", "2.4.2", files: 8)
      g.call("sc_logger", "1.5.1", files: 5)
      g.call("sc_config", "0.3.0", files: 9, deps: { "sc_logger" => ">= 1.0", "sc_yaml" => "~> 0.1" })
      g.call("sc_yaml", "0.1.2", files: 2)
      g.call("sc_time", "0.2.0", files: 4, deps: { "sc_tz" => ">= 1.0" })
      g.call("sc_tz", "1.2.2", files: 150, file_size: 400)
      g.call("sc_cache", "1.0.0", files: 7, deps: { "sc_pool" => "~> 2.0", "sc_time" => "~> 0.2" })
      g.call("sc_portile", "2.8.1", files: 5)
      g.call("sc_native", "0.3.0", files: 3, native: true, ext_requires: ["sc_portile"],
                                   deps: { "sc_portile" => "~> 2.8" })
      g.call("ruby2_keywords", "0.0.5", files: 0, required_ruby_version: ">= 2.0.0")

      gemfile_deps = {
        "sc_web" => [], "sc_db" => [], "sc_parser" => [], "sc_tool" => [], "sc_config" => [],
        "sc_cache" => [], "sc_fastjson" => [], "sc_native" => [], "ruby2_keywords" => ["= 0.0.5"]
      }
      Shape.new(name: "small", gems: gems, gemfile_deps: gemfile_deps, locked: locked)
    end

    # ------------------------------------------------------ medium and large

    # Synthetic Rails applications, generated deterministically from a seed.
    # Nothing is taken from a real project: every name is invented (analogs
    # are given in comments so a reader can map the structure). The structure
    # follows what public Gemfile.lock files of open-source Rails applications
    # (Discourse, Mastodon, GitLab: roughly 200 to 500 locked gems) and their
    # installed gem trees look like:
    #
    # - A Rails core of ~45 gems (#synth_core): the meta gem and 12 framework
    #   gems pinned to each other with "= 7.1.3", plus their dependencies
    #   (rack, nokogiri, mail, i18n, concurrent-ruby... equivalents) with the
    #   "~> x.y, >= x.y.z" style requirements Rails uses.
    # - Dependency depth: the longest chain from a Gemfile entry is 7 edges
    #   (rails > actionmailbox > activestorage > actionpack > actionview >
    #   rails-html-sanitizer > loofah > nokogiri, as in Rails 7; nokogiri's own
    #   edge to racc is left out to stay at 7), and most chains are 5 to 7
    #   edges; tail gems sit on levels 0..6 (#synth_tail).
    # - Fan-in hubs: an activesupport equivalent (rw-support) and a rack
    #   equivalent (plumb) that many gems depend on, railties (rw-ties) for
    #   the Rails plugins, faraday and aws-sdk-core equivalents; tail gems
    #   pick dependencies with preferential attachment (popular gems attract
    #   more dependents), as real dependency graphs do.
    # - Families of interdependent gems that move together (aws-sdk-*,
    #   rubocop-*, rspec-*, opentelemetry-*, google-protobuf/grpc) (#synth_families).
    # - A long tail: about half of the gems have no dependencies; most others
    #   have 1 to 3.
    # - ~12% of the locked gems are native in real life (pg, puma, bootsnap,
    #   msgpack, bcrypt, ffi... equivalents, topped up with tail leaves), and a
    #   few have platform variants (ruby, this machine's platform with a
    #   prebuilt .so, other platforms) like nokogiri, google-protobuf, ffi, grpc.
    # - Executables: rake, thor, railties, rackup, puma, rspec, rubocop,
    #   parser, sidekiq equivalents, and ~2% of the tail.
    # - Files: log-normal counts per gem (median ~16 lib files, most under
    #   100), average file 900..9000 bytes; a few very large gems of 1000+
    #   files (rubocop, faker, tzinfo-data, icon/asset and SDK gems) and a few
    #   ~1 MB files (aws-partitions' JSON, mime-types-data, unicode tables,
    #   a generated SDK types file).
    # - An index like rubygems.org's: older versions for ~30% of the gems, a
    #   few prereleases and a few newer majors that requirements exclude, and
    #   ruby2_keywords 0.0.5, which Ruby 3.1 ships as a default gem.
    #
    # Shape#stats reports these figures for a generated shape.

    # ~250 locked gems: a mid-sized Rails application.
    def medium(seed: 1)
      Synth.new("medium", seed: seed, total: 250, cloud_services: 3, telemetry_instr: 8, large_extras: false).shape
    end

    # ~400 locked gems: a large Rails application.
    def large(seed: 1)
      Synth.new("large", seed: seed, total: 400, cloud_services: 12, telemetry_instr: 20, large_extras: true).shape
    end

    # The generator behind medium and large. Gems are added bottom-up (a gem's
    # dependencies exist before it), each with its height (longest chain of
    # dependency edges below it); Synth#shape turns the nodes into GemDescs.
    class Synth
      Node = Struct.new(:name, :version, :deps, :ruby_only_deps, :files, :file_size, :native, :variants,
                        :executables, :bindir, :extra_files, :ext_requires, :height, :hub, :dependents, :role,
                        keyword_init: true)

      # Share of tail gems per level (level = height; 0 = no dependencies).
      LEVEL_WEIGHTS = [46, 22, 13, 9, 6, 3, 1].freeze
      # Platforms of variant gems besides ruby and this machine's.
      OTHER_PLATFORMS = %w[aarch64-linux arm64-darwin x86_64-darwin].freeze
      NATIVE_SHARE = 0.12
      ORPHAN_BONUS = 4
      GEMFILE_EXTRA_SHARE = 0.2
      MAX_TAIL_FILES = 700

      WORDS = %w[
        acme active agent alloy amber anchor apex arc atlas audit aurora badge beacon bolt bridge brisk
        canvas carbon cargo cedar cipher cobalt comet compass coral crest crystal cursor dash delta dune
        echo ember engine falcon fern fiber flare flint forge frost gale garnet geyser glyph granite
        harbor hatch helix hollow horizon indigo iris ivory jade jasper juniper karma kernel kite lagoon
        lantern lattice ledger lumen lynx magnet maple marble meadow mesa meteor mint mosaic nebula nimbus
        nova oasis onyx orbit otter paddle pebble pilot pixel prism pulse quartz quill radar raven relay
        ridge rocket saffron sage scout sepia shard sierra signal slate solar spark spruce summit tango
        thistle timber topaz tundra umber valve vector velvet vertex willow zephyr zinc
      ].freeze
      SUFFIXES = ["", "", "", "-rb", "_client", "-rails", "_helpers", "-ext", "_store", "-kit"].freeze

      def initialize(name, seed:, total:, cloud_services:, telemetry_instr:, large_extras:)
        @name = name
        @seed = seed
        @total = total
        @cloud_services = cloud_services
        @telemetry_instr = telemetry_instr
        @large_extras = large_extras
        @rng = Random.new(Digest::SHA256.hexdigest("synth|#{name}|#{seed}")[0, 16].to_i(16))
        @nodes = {}
        @canonical = {}
      end

      def shape
        synth_core
        synth_families
        synth_tail(@total - @nodes.size)
        mark_natives
        gemfile_deps = synth_gemfile
        gems, locked = descs(gemfile_deps)
        Shape.new(name: @name, gems: gems, gemfile_deps: gemfile_deps, locked: locked)
      end

      private

      # ------------------------------------------------------------ building blocks

      def rand_version
        major = [0, 0, 0, 1, 1, 1, 2, 2, 3, 4, 5, 6, 7].sample(random: @rng)
        "#{major}.#{@rng.rand(0..25)}.#{@rng.rand(0..12)}"
      end

      # A requirement the given version satisfies, in the styles gemspecs use.
      def auto_req(version)
        a, b, c = Gem::Version.new(version).segments
        b ||= 0
        c ||= 0
        case @rng.rand(100)
        when 0...35 then ["~> #{a}.#{b}"]
        when 35...50 then ["~> #{a}.#{b}", ">= #{a}.#{b}.#{c}"]
        when 50...70 then [">= #{a}.#{b}"]
        when 70...80 then [">= #{a}", "< #{a + 1}"]
        else []
        end
      end

      # Log-normal lib file count: median ~16, most under 100.
      def rand_files
        [(Math.exp(Math.log(16) + 1.3 * gaussian)).round, MAX_TAIL_FILES].min
      end

      def gaussian
        Math.sqrt(-2 * Math.log(1 - @rng.rand)) * Math.cos(2 * Math::PI * @rng.rand)
      end

      # Average file size, log-uniform over 900..9000 bytes.
      def rand_file_size
        (900 * Math.exp(@rng.rand * Math.log(10))).round
      end

      # ~size bytes of JSON-like data (compresses like real data files).
      def data_file(size, key)
        rng = Random.new(Digest::SHA256.hexdigest("data|#{key}")[0, 16].to_i(16))
        out = +"{\n"
        i = 0
        while out.bytesize < size
          w = WORDS.sample(2, random: rng)
          out << %(  "#{w[0]}-#{w[1]}-#{i}": {"id": #{rng.rand(100_000)}, "kind": "#{w[1]}", ) +
                 %("aliases": ["#{w[0]}/#{i}", "#{w[1]}.#{rng.rand(1000)}"], "weight": #{rng.rand.round(4)}},\n)
          i += 1
        end
        out << %(  "end": null\n}\n)
      end

      # Adds a node. deps: {name => nil (a generated requirement) | "req" | [reqs] | :any}.
      # All dependencies must exist already. Returns the node.
      def add(name, version: nil, files: nil, deps: {}, ruby_only_deps: {}, role: :tail, hub: 0, **opts)
        raise ArgumentError, "synth: duplicate gem #{name}" if @nodes.key?(name)

        version ||= rand_version
        resolved = deps.map { |n, r| dep_entry(n, r) }
        node = Node.new(name: name, version: version, deps: resolved,
                        ruby_only_deps: ruby_only_deps.map { |n, r| dep_entry(n, r) },
                        files: files || rand_files, file_size: opts[:file_size] || rand_file_size,
                        native: opts[:native] || false, variants: opts[:variants],
                        executables: opts[:executables] || [], bindir: opts[:bindir] || "exe",
                        extra_files: opts[:extra_files] || {}, ext_requires: opts[:ext_requires] || [],
                        height: resolved.empty? ? 0 : 1 + resolved.map { |n, _| @nodes.fetch(n).height }.max,
                        hub: hub, dependents: 0, role: role)
        resolved.each { |n, _| @nodes[n].dependents += 1 }
        @nodes[name] = node
        @canonical[name.tr("-_", "")] = name
        node
      end

      def dep_entry(name, req)
        target = @nodes.fetch(name) { raise ArgumentError, "synth: unknown dependency #{name}" }
        reqs = case req
               when nil then auto_req(target.version)
               when :any then []
               else Array(req)
               end
        [name, reqs]
      end

      # A gem name not used yet (also not up to - and _), from two words.
      def fresh_name(prefix = nil)
        loop do
          w1, w2 = WORDS.sample(2, random: @rng)
          base = prefix ? "#{prefix}-#{w1}" : [w1 + w2, "#{w1}_#{w2}", "#{w1}-#{w2}"].sample(random: @rng)
          name = prefix ? base : base + SUFFIXES.sample(random: @rng)
          return name unless @canonical.key?(name.tr("-_", ""))
        end
      end

      # ------------------------------------------------------------ the Rails core

      def synth_core
        v = "7.1.3"
        core = ->(name, **o) { add(name, role: :core, **o) }
        # nokogiri's dependency chain (racc is in the corpus, see lint family).
        core.call("crass", version: "1.0.6", files: 10) # crass
        core.call("portile", version: "2.8.5", files: 10) # mini_portile2
        core.call("sawmill", version: "1.16.2", files: 150, native: true, # nokogiri
                             variants: [:ruby, :local, *OTHER_PLATFORMS], executables: ["sawmill"], bindir: "bin",
                             ruby_only_deps: { "portile" => "~> 2.8.2" }, ext_requires: ["portile"])
        core.call("loofah", version: "2.22.0", files: 30, deps: { "crass" => "~> 1.0.2", "sawmill" => ">= 1.12.0" })
        core.call("html-sanitizer", version: "1.6.0", files: 8, # rails-html-sanitizer
                                    deps: { "loofah" => "~> 2.21", "sawmill" => "~> 1.14" })
        core.call("microtest", version: "5.22.2", files: 40) # minitest
        core.call("dom-testing", version: "2.2.0", files: 10, # rails-dom-testing
                                 deps: { "microtest" => ">= 5.1", "sawmill" => ">= 1.6" })
        # activesupport and its dependencies.
        core.call("concurrent", version: "1.2.3", files: 220, hub: 6) # concurrent-ruby
        core.call("locale", version: "1.14.1", files: 50, deps: { "concurrent" => "~> 1.0" }) # i18n
        core.call("zoneinfo", version: "2.0.6", files: 50, deps: { "concurrent" => "~> 1.0" }) # tzinfo
        core.call("connpool", version: "2.4.1", files: 4, hub: 4) # connection_pool
        core.call("rw-support", version: v, files: 350, hub: 40, # activesupport
                                deps: { "concurrent" => ["~> 1.0", ">= 1.0.2"], "locale" => [">= 1.6", "< 2"],
                                        "microtest" => ">= 5.1", "zoneinfo" => "~> 2.0", "connpool" => ">= 2.2.5" })
        core.call("plumb", version: "3.0.9", files: 70, hub: 20, executables: ["plumbup"], bindir: "bin") # rack
        core.call("plumb-test", version: "2.1.0", files: 10, deps: { "plumb" => ">= 1.3" }) # rack-test
        core.call("plumb-session", version: "2.0.0", files: 8, deps: { "plumb" => ">= 3.0.0" }) # rack-session
        core.call("xmlbuild", version: "3.2.4", files: 15) # builder
        core.call("erbish", version: "1.12.0", files: 5) # erubi
        core.call("rw-view", version: v, files: 120, # actionview
                             deps: { "rw-support" => "= #{v}", "xmlbuild" => "~> 3.1", "erbish" => "~> 1.11",
                                     "dom-testing" => "~> 2.2", "html-sanitizer" => "~> 1.6" })
        core.call("rw-pack", version: v, files: 220, # actionpack
                             deps: { "rw-view" => "= #{v}", "rw-support" => "= #{v}", "plumb" => ">= 2.2.4",
                                     "plumb-session" => ">= 1.0.1", "plumb-test" => ">= 0.6.3",
                                     "dom-testing" => "~> 2.2", "html-sanitizer" => ["~> 1.6"] })
        core.call("rw-model", version: v, files: 80, deps: { "rw-support" => "= #{v}" }) # activemodel
        core.call("deadline", version: "0.4.1", files: 2) # timeout
        core.call("rw-record", version: v, files: 370, # activerecord
                               deps: { "rw-model" => "= #{v}", "rw-support" => "= #{v}", "deadline" => ">= 0.4.0" })
        core.call("gid", version: "1.2.1", files: 10, deps: { "rw-support" => ">= 6.1" }) # globalid
        core.call("rw-job", version: v, files: 60, deps: { "rw-support" => "= #{v}", "gid" => ">= 0.3.6" }) # activejob
        core.call("minimime", version: "1.1.5", files: 5) # mini_mime
        core.call("magicbytes", version: "1.0.2", files: 8) # marcel
        core.call("calendar", version: "3.3.4", files: 5, native: true) # date
        core.call("netproto", version: "0.2.2", files: 3, deps: { "deadline" => :any }) # net-protocol
        core.call("mailnet-imap", version: "0.4.9", files: 30, deps: { "calendar" => :any, "netproto" => :any })
        core.call("mailnet-pop", version: "0.1.2", files: 2, deps: { "netproto" => :any })
        core.call("mailnet-smtp", version: "0.4.0.1", files: 3, deps: { "netproto" => :any })
        core.call("postal", version: "2.8.1", files: 90, # mail
                            deps: { "minimime" => ">= 0.1.1", "mailnet-imap" => :any, "mailnet-pop" => :any,
                                    "mailnet-smtp" => :any })
        core.call("rw-mailer", version: v, files: 30, # actionmailer
                               deps: { "rw-pack" => "= #{v}", "rw-view" => "= #{v}", "rw-job" => "= #{v}",
                                       "rw-support" => "= #{v}", "postal" => ["~> 2.5", ">= 2.5.4"],
                                       "dom-testing" => "~> 2.2" })
        core.call("rw-storage", version: v, files: 120, # activestorage
                                deps: { "rw-pack" => "= #{v}", "rw-job" => "= #{v}", "rw-record" => "= #{v}",
                                        "rw-support" => "= #{v}", "magicbytes" => "~> 1.0" })
        core.call("rw-mailbox", version: v, files: 60, # actionmailbox
                                deps: { "rw-pack" => "= #{v}", "rw-job" => "= #{v}", "rw-record" => "= #{v}",
                                        "rw-storage" => "= #{v}", "rw-support" => "= #{v}", "postal" => ">= 2.7.1",
                                        "mailnet-imap" => :any, "mailnet-pop" => :any, "mailnet-smtp" => :any })
        core.call("rw-text", version: v, files: 60, # actiontext
                             deps: { "rw-pack" => "= #{v}", "rw-record" => "= #{v}", "rw-storage" => "= #{v}",
                                     "rw-support" => "= #{v}", "gid" => ">= 0.6.0", "sawmill" => ">= 1.8.5" })
        core.call("evloop", version: "2.7.0", files: 30, native: true) # nio4r
        core.call("ws-ext", version: "0.1.5", files: 5) # websocket-extensions
        core.call("ws-driver", version: "0.7.6", files: 15, native: true, deps: { "ws-ext" => ">= 0.1.0" })
        core.call("autoloadr", version: "2.6.13", files: 20) # zeitwerk
        core.call("rw-cable", version: v, files: 60, # actioncable
                              deps: { "rw-pack" => "= #{v}", "rw-support" => "= #{v}", "evloop" => ["~> 2.0", ">= 2.0.0"],
                                      "ws-driver" => ">= 0.6.1", "autoloadr" => "~> 2.6" })
        core.call("cmdline", version: "1.3.0", files: 40, executables: ["cmdline"], bindir: "bin") # thor
        core.call("maketask", version: "13.1.0", files: 50, executables: ["maketask"]) # rake
        core.call("srcinspect", version: "1.0.0", files: 5) # method_source
        core.call("rw-ties", version: v, files: 300, hub: 10, executables: ["rw"], # railties
                             deps: { "rw-pack" => "= #{v}", "rw-support" => "= #{v}", "srcinspect" => :any,
                                     "maketask" => ">= 12.2", "cmdline" => ["~> 1.0", ">= 1.2.2"],
                                     "autoloadr" => "~> 2.6" })
        core.call("rw", version: v, files: 0, # rails
                        deps: %w[rw-cable rw-mailbox rw-mailer rw-pack rw-text rw-view rw-job rw-model rw-record
                                 rw-storage rw-support rw-ties].to_h { |n| [n, "= #{v}"] })
      end

      # ------------------------------------------------------------ families

      def synth_families
        fam = ->(name, **o) { add(name, role: :family, **o) }
        big = ->(path, size) { { path => data_file(size, "#{@name}|#{path}") } }

        # aws-sdk-*: partitions (a ~1 MB JSON), sigv4, core (a hub), kms, s3, services.
        fam.call("cloudsdk-partitions", version: "1.877.0", files: 4,
                                        extra_files: big.call("partitions.json", 1_000_000))
        fam.call("cloudsdk-eventstream", version: "1.3.0", files: 8)
        fam.call("cloudsdk-sigv4", version: "1.8.0", files: 4, deps: { "cloudsdk-eventstream" => ["~> 1", ">= 1.0.2"] })
        fam.call("jmesquery", version: "1.6.2", files: 40) # jmespath
        fam.call("cloudsdk-core", version: "3.191.0", files: 250, hub: 3,
                                  deps: { "cloudsdk-partitions" => ["~> 1", ">= 1.651.0"], "cloudsdk-sigv4" => "~> 1.8",
                                          "cloudsdk-eventstream" => ["~> 1", ">= 1.3.0"], "jmesquery" => ["~> 1", ">= 1.6.1"] })
        sdk = { "cloudsdk-core" => ["~> 3", ">= 3.191.0"], "cloudsdk-sigv4" => "~> 1.5" }
        fam.call("cloudsdk-kms", version: "1.77.0", files: 12, deps: sdk)
        fam.call("cloudsdk-s3", version: "1.143.0", files: 40, deps: sdk.merge("cloudsdk-kms" => "~> 1"))
        @cloud_services.times do |i|
          extra = i == 0 && @large_extras ? big.call("lib/types_generated.rb", 1_400_000) : {} # aws-sdk-ec2
          fam.call(fresh_name("cloudsdk"), version: "1.#{@rng.rand(20..450)}.0", files: @rng.rand(8..30), deps: sdk,
                                           extra_files: extra)
        end

        # rubocop and parser.
        fam.call("lalr", version: "1.7.3", files: 20, native: true, executables: ["lalr"], bindir: "bin") # racc
        fam.call("astlite", version: "2.4.2", files: 5) # ast
        fam.call("rubyparse", version: "3.3.0.5", files: 120, executables: %w[ruby-parse ruby-rewrite], bindir: "bin",
                              deps: { "astlite" => "~> 2.4.1", "lalr" => :any })
        fam.call("rainbowish", version: "3.1.1", files: 10)
        fam.call("regexparse", version: "2.9.0", files: 30)
        fam.call("progressline", version: "1.13.0", files: 15)
        fam.call("unicode-width", version: "2.5.0", files: 6, extra_files: big.call("data/width.txt", 900_000))
        fam.call("parallelize", version: "1.24.0", files: 10)
        fam.call("lintcop-ast", version: "1.30.0", files: 130, deps: { "rubyparse" => ">= 3.3.0.4" })
        fam.call("lintcop", version: "1.60.2", files: 1000, file_size: 2200, executables: ["lintcop"],
                            deps: { "parallelize" => "~> 1.10", "rubyparse" => ">= 3.3.0.2", "rainbowish" => [">= 2.2.2", "< 4.0"],
                                    "regexparse" => [">= 1.8", "< 3.0"], "progressline" => "~> 1.7",
                                    "unicode-width" => [">= 2.4.0", "< 3.0"], "lintcop-ast" => [">= 1.30.0", "< 2.0"] })
        fam.call("lintcop-rails", version: "2.23.1", files: 140,
                                  deps: { "lintcop" => [">= 1.33.0", "< 2.0"], "rw-support" => ">= 4.2.0", "plumb" => ">= 1.1",
                                          "lintcop-ast" => [">= 1.30.0", "< 2.0"] })
        fam.call("lintcop-specr", version: "2.26.1", files: 110, deps: { "lintcop" => "~> 1.40" })
        fam.call("lintcop-perf", version: "1.20.2", files: 60,
                                 deps: { "lintcop" => [">= 1.48.1", "< 2.0"], "lintcop-ast" => [">= 1.30.0", "< 2.0"] })

        # rspec.
        fam.call("diffseq", version: "1.5.1", files: 20) # diff-lcs
        fam.call("specr-support", version: "3.12.1", files: 30)
        fam.call("specr-core", version: "3.12.2", files: 40, executables: ["specr"], deps: { "specr-support" => "~> 3.12.0" })
        fam.call("specr-expect", version: "3.12.3", files: 30,
                                 deps: { "specr-support" => "~> 3.12.0", "diffseq" => [">= 1.2.0", "< 2.0"] })
        fam.call("specr-mocks", version: "3.12.6", files: 30,
                                deps: { "specr-support" => "~> 3.12.0", "diffseq" => [">= 1.2.0", "< 2.0"] })
        fam.call("specr", version: "3.12.0", files: 1,
                          deps: { "specr-core" => "~> 3.12.0", "specr-expect" => "~> 3.12.0", "specr-mocks" => "~> 3.12.0" })
        fam.call("specr-rails", version: "6.1.1", files: 40, # rspec-rails
                                deps: { "rw-pack" => ">= 6.1", "rw-support" => ">= 6.1", "rw-ties" => ">= 6.1",
                                        "specr-core" => "~> 3.12", "specr-expect" => "~> 3.12", "specr-mocks" => "~> 3.12",
                                        "specr-support" => "~> 3.12" })

        # opentelemetry-*: many small gems with "~> 0.x" requirements.
        fam.call("tel-api", version: "1.2.5", files: 30)
        fam.call("tel-registry", version: "0.3.0", files: 3, deps: { "tel-api" => "~> 1.1" })
        fam.call("tel-common", version: "0.20.1", files: 8, deps: { "tel-api" => "~> 1.0" })
        fam.call("tel-semconv", version: "1.10.0", files: 20)
        fam.call("tel-sdk", version: "1.4.0", files: 40,
                            deps: { "tel-api" => "~> 1.1", "tel-common" => "~> 0.20", "tel-registry" => "~> 0.2",
                                    "tel-semconv" => :any })
        fam.call("tel-instr-base", version: "0.22.3", files: 8, deps: { "tel-api" => "~> 1.0", "tel-registry" => "~> 0.1" })
        members = Array.new(@telemetry_instr) do
          n = fam.call(fresh_name("tel-instr"), version: "0.#{@rng.rand(20..26)}.#{@rng.rand(0..5)}", files: @rng.rand(4..12),
                                                deps: { "tel-instr-base" => "~> 0.22.1", "tel-common" => "~> 0.20" })
          n.name
        end
        fam.call("tel-instr-all", version: "0.56.0", files: 1, deps: members.to_h { |m| [m, nil] })

        # google-protobuf and grpc: native, with platform variants.
        fam.call("protowire", version: "3.25.2", files: 180, native: true, variants: [:ruby, :local, *OTHER_PLATFORMS])
        fam.call("proto-common", version: "1.4.0", files: 60, deps: { "protowire" => "~> 3.18" })
        if @large_extras
          fam.call("rpcwire", version: "1.60.0", files: 350, native: true, variants: [:ruby, :local, "arm64-darwin"],
                              deps: { "protowire" => "~> 3.24", "proto-common" => "~> 1.0" })
        end

        # faraday (a hub) and its adapters; ruby2_keywords is a default gem of Ruby 3.1.
        fam.call("ruby2_keywords", version: "0.0.5", files: 0)
        fam.call("multipartish", version: "2.3.0", files: 6) # multipart-post
        fam.call("httpkit-net", version: "3.1.0", files: 4) # faraday-net_http
        fam.call("httpkit", version: "2.9.0", files: 80, hub: 12, # faraday
                            deps: { "httpkit-net" => [">= 2.0", "< 3.2"], "ruby2_keywords" => ">= 0.0.4" })
        fam.call("httpkit-retry", version: "2.2.0", files: 4, deps: { "httpkit" => "~> 2.0" })
        fam.call("httpkit-multipart", version: "1.0.4", files: 6, deps: { "multipartish" => "~> 2.0" })

        # sidekiq, puma, bootsnap, pg, sqlite3, bcrypt, ffi, mime-types, devise, faker, tzinfo-data.
        fam.call("redisclient", version: "0.19.1", files: 25, deps: { "connpool" => :any })
        fam.call("jobqueue", version: "7.2.1", files: 120, executables: ["jobqueue"], bindir: "bin",
                             deps: { "connpool" => ">= 2.3.0", "plumb" => ">= 2.2.4", "redisclient" => ">= 0.14.0",
                                     "concurrent" => "< 2" })
        fam.call("webserve", version: "6.4.2", files: 60, native: true, executables: %w[webserve webservectl],
                             bindir: "bin", deps: { "evloop" => "~> 2.0" })
        fam.call("packmsg", version: "1.7.2", files: 30, native: true) # msgpack
        fam.call("bootfast", version: "1.18.3", files: 40, native: true, deps: { "packmsg" => "~> 1.2" })
        fam.call("pgwire", version: "1.5.4", files: 50, native: true) # pg
        fam.call("sqlitedb", version: "1.7.0", files: 20, native: true, # sqlite3 (compiles with mini_portile2)
                             deps: { "portile" => "~> 2.8.0" }, ext_requires: ["portile"])
        fam.call("hashpw", version: "3.1.20", files: 10, native: true) # bcrypt
        fam.call("nativecall", version: "1.16.3", files: 80, native: true, variants: [:ruby, :local, "arm64-darwin"]) # ffi
        fam.call("mimedata", version: "3.2024.0206", files: 4, extra_files: big.call("data/mime-types.json", 1_000_000))
        fam.call("mimetypes", version: "3.5.2", files: 20, deps: { "mimedata" => "~> 3.2015" })
        fam.call("ormadapter", version: "0.5.0", files: 5)
        fam.call("wardenish", version: "1.2.9", files: 15, deps: { "plumb" => ">= 2.0.9" })
        fam.call("responders", version: "3.1.1", files: 15, deps: { "rw-pack" => ">= 5.2", "rw-ties" => ">= 5.2" })
        fam.call("authgate", version: "4.9.3", files: 120, # devise
                             deps: { "hashpw" => "~> 3.0", "ormadapter" => "~> 0.1", "rw-ties" => ">= 4.1.0",
                                     "responders" => :any, "wardenish" => "~> 1.2.3" })
        fam.call("fakery", version: "3.2.3", files: 1200, file_size: 1500, deps: { "locale" => [">= 1.8.11", "< 2"] })
        fam.call("zonedata", version: "1.2024.1", files: 1100, file_size: 900, deps: { "zoneinfo" => ">= 1.0.0" })
        return unless @large_extras

        fam.call("iconset", version: "6.5.1", files: 1600, file_size: 800) # an icon/asset gem
        fam.call("paykit", version: "10.6.0", files: 1000, file_size: 2500) # a big API client (stripe)
      end

      # ------------------------------------------------------------ the long tail

      # count gems on levels 0..6: each depends on at least one gem one level
      # down and on others below it, picked with preferential attachment. A
      # few are Rails plugins depending on rw-ties (level 6).
      def synth_tail(count)
        plugins = (count * 0.04).round
        (count - plugins).times { add_tail_gem(pick_level) }
        plugins.times do
          deps = { "rw-ties" => ">= #{%w[5.2 6.0 6.1 7.0].sample(random: @rng)}" }
          deps[pick_dep(max_height: 4, except: deps.keys).name] = nil if @rng.rand < 0.7
          deps["rw-support"] = nil if @rng.rand < 0.5
          add(fresh_name, deps: deps, role: :plugin)
        end
      end

      def pick_level
        r = @rng.rand(LEVEL_WEIGHTS.sum)
        LEVEL_WEIGHTS.each_with_index do |w, level|
          return level if r < w

          r -= w
        end
      end

      def add_tail_gem(level)
        deps = {}
        if level.positive?
          spine = pick_dep(height: level - 1)
          deps[spine.name] = nil
          extra = 0
          extra += 1 while extra < 6 && @rng.rand < 0.45
          extra.times do
            d = pick_dep(max_height: level - 1, except: deps.keys) or break
            deps[d.name] = nil
          end
        end
        exes = @rng.rand < 0.02 ? [nil] : []
        name = fresh_name
        add(name, deps: deps, executables: exes.map { name.tr("_", "-") }, bindir: %w[exe bin].sample(random: @rng))
      end

      # A weighted pick among the nodes of the given height (or at most
      # max_height): weight = 1 + hub bonus + dependents so far.
      def pick_dep(height: nil, max_height: nil, except: [])
        cands = @nodes.values.select do |n|
          !except.include?(n.name) && (height ? n.height == height : n.height <= max_height)
        end
        return nil if cands.empty?

        weights = cands.map { |n| pick_weight(n) }
        r = @rng.rand * weights.sum
        cands.each_with_index do |n, i|
          return n if r < weights[i]

          r -= weights[i]
        end
        cands.last
      end

      # Preferential attachment (hubs and popular gems attract dependents),
      # with a bonus for gems nobody depends on yet: without it most leaves
      # would end up in the Gemfile, and real Gemfiles list under half of
      # the locked gems.
      def pick_weight(node)
        1 + node.hub + node.dependents + (node.dependents.zero? ? ORPHAN_BONUS : 0)
      end

      # Tops the native share up to NATIVE_SHARE with tail gems of levels 0-1.
      def mark_natives
        target = (@nodes.size * NATIVE_SHARE).round
        have = @nodes.values.count(&:native)
        cands = @nodes.values.select { |n| n.role == :tail && !n.native && n.height <= 1 && n.extra_files.empty? }
        cands.shuffle(random: @rng).first([target - have, 0].max).each { |n| n.native = true }
      end

      # The Gemfile: rw, every gem nothing depends on, and some others
      # (real Gemfiles list e.g. nokogiri or pg explicitly); ~30% constrained.
      def synth_gemfile
        deps = { "rw" => ["~> #{@nodes["rw"].version}"] }
        @nodes.each_value do |n|
          next if deps.key?(n.name)
          next unless n.dependents.zero? || (%i[tail family plugin].include?(n.role) && @rng.rand < GEMFILE_EXTRA_SHARE)
          next if n.name == "ruby2_keywords"

          a, b, = Gem::Version.new(n.version).segments
          deps[n.name] = @rng.rand < 0.3 ? ["~> #{a}.#{b || 0}"] : []
        end
        deps
      end

      # ------------------------------------------------------------ GemDescs

      # Returns [every GemDesc of the corpus, the locked ones].
      def descs(gemfile_deps)
        gems = []
        locked = []
        local = Gem::Platform.local.to_s
        @nodes.each_value do |n|
          base = { name: n.name, version: n.version, files: n.files, file_size: n.file_size,
                   executables: n.executables, bindir: n.bindir, extra_files: n.extra_files,
                   deps: n.deps.map { |name, reqs| [name, *reqs] } }
          if n.variants
            ruby_deps = base[:deps] + n.ruby_only_deps.map { |name, reqs| [name, *reqs] }
            gems << Gemgen::GemDesc.new(**base, deps: ruby_deps, native: true, ext_requires: n.ext_requires)
            gems << (locked_desc = Gemgen::GemDesc.new(**base, platform: local, prebuilt: true,
                                                               required_ruby_version: Shapes.prebuilt_ruby_requirement))
            (n.variants - [:ruby, :local, local]).each do |p|
              gems << Gemgen::GemDesc.new(**base, platform: p, files: [n.files, 10].min,
                                                  required_ruby_version: Shapes.prebuilt_ruby_requirement)
            end
          else
            gems << (locked_desc = Gemgen::GemDesc.new(**base, native: n.native, ext_requires: n.ext_requires))
          end
          locked << locked_desc
        end
        gems.concat(index_noise(gemfile_deps))
        [gems, locked]
      end

      # Versions an install must not pick: older ones (~30% of the gems),
      # prereleases (~3%) and, for a few gems outside the Gemfile whose every
      # requirement excludes it, the next major.
      def index_noise(gemfile_deps)
        noise = []
        reqs_on = Hash.new { |h, k| h[k] = [] }
        @nodes.each_value { |n| n.deps.each { |name, reqs| reqs_on[name] << Gem::Requirement.new(reqs) } }
        @nodes.each_value do |n|
          next if n.name == "ruby2_keywords"

          segs = Gem::Version.new(n.version).segments
          a = segs[0]
          b = segs[1] || 0
          if @rng.rand < 0.3
            older = []
            older << "#{a}.#{b - 1}.#{@rng.rand(0..9)}" if b.positive?
            older << "#{a - 1}.#{@rng.rand(0..20)}.#{@rng.rand(0..9)}" if a.positive?
            older << "0.#{@rng.rand(1..9)}.0" if a.positive? && @rng.rand < 0.5
            older.uniq.first(@rng.rand(1..3)).each do |ver|
              noise << Gemgen::GemDesc.new(name: n.name, version: ver, files: 1, file_size: 500)
            end
          end
          noise << Gemgen::GemDesc.new(name: n.name, version: "#{a + 1}.0.0.rc1", files: 1) if @rng.rand < 0.03
          next_major = Gem::Version.new("#{a + 1}.0.0")
          if !gemfile_deps.key?(n.name) && !reqs_on[n.name].empty? &&
             reqs_on[n.name].none? { |r| r.satisfied_by?(next_major) } && @rng.rand < 0.15
            noise << Gemgen::GemDesc.new(name: n.name, version: next_major.to_s, files: 1)
          end
        end
        noise
      end
    end

    # --------------------------------------------------------- from_lockfile

    # Gems that compile an extension at install in real life (or ship
    # platform variants); a lockfile entry with a platform is native too.
    NATIVE = %w[
      bcrypt bigdecimal bindex bootsnap byebug charlock_holmes commonmarker date debug digest-crc
      ed25519 erb escape_utils eventmachine fast_blank ffi google-protobuf grpc hiredis
      http_parser.rb io-console jaro_winkler json kgio libv8-node mini_racer msgpack mysql2 nio4r
      nokogiri oj pg prism psych puma racc raindrops rbs redcarpet rugged sassc sqlite3 stringio
      strscan thin unf_ext unicorn websocket-driver
    ].freeze

    # Approximate file counts of well-known gems (lib files); others get a
    # count drawn deterministically from the name.
    FILE_COUNTS = {
      "actioncable" => 60, "actionmailbox" => 60, "actionmailer" => 30, "actionpack" => 220,
      "actiontext" => 60, "actionview" => 120, "activejob" => 60, "activemodel" => 80,
      "activerecord" => 370, "activestorage" => 120, "activesupport" => 350, "aws-sdk-core" => 250,
      "aws-sdk-s3" => 80, "concurrent-ruby" => 200, "faker" => 300, "grpc" => 200, "i18n" => 50,
      "mail" => 90, "nokogiri" => 60, "rack" => 70, "rails" => 1, "railties" => 300, "rake" => 50,
      "rubocop" => 750, "rubocop-ast" => 130, "sorbet-runtime" => 140, "thor" => 40, "tzinfo" => 50,
      "zeitwerk" => 20
    }.freeze

    # Executables of well-known gems: name => [bindir, [exes]].
    EXECUTABLES = {
      "bundler-audit" => ["exe", ["bundler-audit"]], "nokogiri" => ["bin", ["nokogiri"]],
      "puma" => ["bin", %w[puma pumactl]], "racc" => ["bin", ["racc"]], "rack" => ["bin", ["rackup"]],
      "railties" => ["exe", ["rails"]], "rake" => ["exe", ["rake"]], "rspec-core" => ["exe", ["rspec"]],
      "rubocop" => ["exe", ["rubocop"]], "thor" => ["bin", ["thor"]], "tilt" => ["bin", ["tilt"]]
    }.freeze

    # Parses a Gemfile.lock: returns [specs, dependencies] where specs are
    # {name:, version:, platform:, full_name:, deps: [[name, [reqs]]]} from every source
    # section, and dependencies {name => [reqs]} from DEPENDENCIES.
    def parse_lockfile(text)
      specs = []
      deps = {}
      section = nil
      text.each_line(chomp: true) do |line|
        if line.match?(/\A[A-Z]/)
          section = line.strip
          next
        end
        case section
        when "GEM", "GIT", "PATH", "PLUGIN SOURCE"
          if (m = line.match(/\A {4}([^ (]+) \(([^)]+)\)\z/))
            version, platform = m[2].split("-", 2)
            specs << { name: m[1], version: version, platform: platform || "ruby", full_name: "#{m[1]}-#{m[2]}",
                       deps: [] }
          elsif (m = line.match(/\A {6}([^ (]+)(?: \(([^)]+)\))?\z/)) && specs.last
            specs.last[:deps] << [m[1], m[2] ? m[2].split(", ") : []]
          end
        when "DEPENDENCIES"
          if (m = line.match(/\A {2}([^ (!]+)(?: \(([^)]+)\))?!?\z/))
            deps[m[1]] = m[2] ? m[2].split(", ") : []
          end
        end
      end
      [specs, deps]
    end

    # Deterministic RNG seeded by a gem name.
    def name_rng(name)
      Random.new(Digest::SHA256.hexdigest("shape|#{name}")[0, 16].to_i(16))
    end

    # Realistic lib file count and average file size for a gem name: the
    # table above, else log-uniform between 1 and ~150 files (median ~12) and
    # 600..4000 bytes per file.
    def file_profile(name)
      rng = name_rng(name)
      count = FILE_COUNTS.fetch(name) { (Math.exp(rng.rand * Math.log(150))).floor }
      [count, 600 + rng.rand(3400)]
    end

    # Turns any Gemfile.lock into a shape: every locked spec (GIT and PATH
    # ones too) becomes a rubygems gem with the same name, version, platform
    # and dependency edges; file counts/sizes come from file_profile. Platform
    # variants for the local platform get a prebuilt .so; a ruby variant is
    # added for gems locked only as platform variants (marked native).
    # Dependencies on gems absent from the lockfile (e.g. bundler) are dropped.
    def from_lockfile(path, name: File.basename(File.dirname(File.expand_path(path))))
      specs, gemfile_deps = parse_lockfile(File.read(path))
      names = specs.map { |s| s[:name] }.uniq
      gems = []
      locked = []
      specs.each do |s|
        d = lockfile_desc(s, names)
        gems << d
        locked << d
      end
      specs.reject { |s| s[:platform] == "ruby" }.group_by { |s| [s[:name], s[:version]] }.each do |_, variants|
        next if specs.any? { |s| s[:name] == variants[0][:name] && s[:version] == variants[0][:version] && s[:platform] == "ruby" }

        gems << lockfile_desc(variants[0].merge(platform: "ruby"), names)
      end
      gemfile_deps.delete("bundler")
      gemfile_deps.select! { |n, _| names.include?(n) }
      Shape.new(name: name, gems: gems, gemfile_deps: gemfile_deps, locked: locked)
    end

    def lockfile_desc(spec, names)
      name = spec[:name]
      files, size = file_profile(name)
      deps = spec[:deps].select { |n, _| names.include?(n) }
      platform = spec[:platform]
      opts = { name: name, version: spec[:version], platform: platform, files: files, file_size: size,
               deps: deps.map { |n, reqs| [n, *reqs] } }
      if (bindir, exes = EXECUTABLES[name])
        opts.update(bindir: bindir, executables: exes)
      end
      if platform == "ruby"
        if NATIVE.include?(name)
          opts[:native] = true
          opts[:ext_requires] = ["mini_portile2"] if deps.any? { |n, _| n == "mini_portile2" }
        end
      elsif Gem::Platform.new(platform) === Gem::Platform.local
        opts.update(prebuilt: true, required_ruby_version: prebuilt_ruby_requirement)
      end
      Gemgen::GemDesc.new(**opts)
    end
  end
end
