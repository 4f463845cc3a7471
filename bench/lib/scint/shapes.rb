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
