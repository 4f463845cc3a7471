# frozen_string_literal: true

# Scint::Gemgen builds a local gem corpus: real `.gem` packages made with
# RubyGems' own packaging API (Gem::Specification + Gem::Package.build) and the
# compact index that rubygems.org serves for them (`versions`, `info/<name>`,
# `names`), so that real Bundler and scint can resolve and install from it when
# the directory is served over HTTP (see Scint::Server).
#
#   corpus = Scint::Gemgen::Corpus.new("/tmp/corpus")
#   corpus.add(name: "foo", version: "1.0.0", deps: { "bar" => "~> 2.0" }, files: 12)
#   corpus.add(name: "bar", version: "2.1.0", executables: ["bar"], bindir: "bin")
#   corpus.build!              # -> dir/gems/*.gem, dir/versions, dir/info/*, dir/names
#
# Output is deterministic: the same description gives a byte-identical .gem
# (fixed SOURCE_DATE_EPOCH, fixed spec date, sorted files, seeded content), so
# checksums are stable across runs and machines with the same Ruby and C
# toolchain. A gem is rebuilt only when its description (or this generator)
# changed; the state is kept in <dir>/.gemgen/ (not served by Scint::Server).
#
# Gem contents (the shape scint's tests rely on):
#   lib/<name>.rb                 defines module <Const> with VERSION, PLATFORM,
#                                 FULL_NAME, .scint_id and .file_count; requires
#                                 the gem's runtime deps (require_deps) and all
#                                 of its lib files; requires the extension if any
#   lib/<name>/**/*.rb            `files` generated Ruby files, ~file_size bytes
#   <bindir>/<exe>                prints "<exe>: <full_name>"
#   ext/<name>/...                extension sources (ext: "extconf"|"rake"|"cmake")
#   lib/<name>/<ext>.so           a prebuilt extension (prebuilt: true)
#   README.md, extra_files, symlinks
# An extension defines <Const>.ext_token returning Gemgen.ext_token(desc, kind).
#
# A Rakefile extension is built by running rake from the bundle, so such a gem
# needs a runtime dep on rake and the corpus a rake gem: add the machine's
# real rake with corpus.add(Scint::Gemgen::InstalledGem.new("rake")).

require "rubygems"
require "rubygems/package"
require "rubygems/user_interaction"
require "digest"
require "fileutils"
require "json"
require "open3"
require "rbconfig"
require "tmpdir"

module Scint
  module Gemgen
    # Fixed timestamps: they end up in tar headers, gzip headers, the spec's
    # `date` and the index preamble.
    EPOCH = Time.utc(2024, 1, 1).to_i
    SPEC_DATE = "2024-01-01"
    CREATED_AT = "2024-01-01T00:00:00Z"

    # Changing this file invalidates every cached .gem (its digest is part of
    # each gem's cache key), so generator fixes cannot leave stale packages.
    GENERATOR_DIGEST = Digest::SHA256.file(__FILE__).hexdigest[0, 16]

    EXT_KINDS = %w[extconf rake cmake].freeze

    class Error < StandardError; end

    # A gem description. Keys (all but name/version optional):
    #   name, version            strings
    #   platform                 "ruby" (default), "x86_64-linux", "arm64-darwin", ...
    #   deps                     runtime deps: {"bar" => "~> 1.0"}, {"bar" => [">= 1", "< 3"]},
    #                            {"bar" => nil} or [["bar", ">= 1", "< 3"], ...]
    #   files                    number of generated lib files besides lib/<name>.rb (default 2)
    #   file_size                average size in bytes of a generated file (default 1000)
    #   executables, bindir      executable names and their dir ("exe" by default, or "bin")
    #   ext                      nil, "extconf", "rake" or "cmake": compiled at install time
    #   ext_requires             gems the extension's build script requires (they must be deps)
    #   prebuilt                 ship lib/<name>/<ext>.so compiled now with this Ruby's mkmf
    #                            (only possible when platform is Gem::Platform.local)
    #   native                   marker only: "compiled at install in real life" (see Shapes)
    #   required_ruby_version    string or array (default ">= 2.5.0")
    #   require_deps             lib/<name>.rb requires each runtime dep by name (default true)
    #   extra_files              {"path" => "content"} or {"path" => {content:, mode:}}
    #   symlinks                 {"path" => "target"} symlinks packed into data.tar.gz
    #   seed                     extra string mixed into the content seed
    class GemDesc
      DEFAULTS = {
        platform: "ruby", deps: [], files: 2, file_size: 1000, executables: [], bindir: "exe",
        ext: nil, ext_requires: [], prebuilt: false, native: false,
        required_ruby_version: ">= 2.5.0", require_deps: true, extra_files: {}, symlinks: {}, seed: ""
      }.freeze

      attr_reader(*(%i[name version] + DEFAULTS.keys))

      def initialize(**opts)
        unknown = opts.keys - DEFAULTS.keys - %i[name version]
        raise ArgumentError, "unknown gem description keys: #{unknown.join(", ")}" unless unknown.empty?

        o = DEFAULTS.merge(opts)
        @name = o.fetch(:name).to_s
        @version = o.fetch(:version).to_s
        @platform = Gem::Platform.new(o[:platform].to_s).to_s
        @deps = Gemgen.normalize_deps(o[:deps])
        @files = Integer(o[:files])
        @file_size = Integer(o[:file_size])
        @executables = Array(o[:executables]).map(&:to_s)
        @bindir = o[:bindir].to_s
        @ext = o[:ext]&.to_s
        @ext_requires = Array(o[:ext_requires]).map(&:to_s)
        @prebuilt = o[:prebuilt] ? true : false
        @native = o[:native] ? true : false
        @required_ruby_version = Array(o[:required_ruby_version]).map(&:to_s)
        @require_deps = o[:require_deps] ? true : false
        @extra_files = o[:extra_files].to_h { |k, v| [k.to_s, v.is_a?(Hash) ? v.transform_keys(&:to_sym) : { content: v.to_s }] }
        @symlinks = o[:symlinks].to_h { |k, v| [k.to_s, v.to_s] }
        @seed = o[:seed].to_s
        validate!
      end

      def full_name
        platform == "ruby" ? "#{name}-#{version}" : "#{name}-#{version}-#{platform}"
      end

      def file_name
        "#{full_name}.gem"
      end

      def ruby_platform?
        platform == "ruby"
      end

      # Ruby constant of the gem's module: "sc-http_client" -> "ScHttpClient".
      def const_name
        c = name.split(/[^A-Za-z0-9]+/).map { |w| w[0].upcase + w[1..] }.join
        c =~ /\A[A-Z]/ ? c : "G#{c}"
      end

      # lib/<lib_name>.rb is the main file, so that `require "<name>"` loads
      # it: the name itself, less a ".rb" suffix (as in "http_parser.rb").
      def lib_name
        name.delete_suffix(".rb")
      end

      # Base name of the extension library: "<name>_ext" made a C identifier.
      def ext_name
        "#{name.gsub(/[^A-Za-z0-9_]/, "_")}_ext"
      end

      # Require path of the extension: "<lib_name>/<ext_name>".
      def ext_require_path
        "#{lib_name}/#{ext_name}"
      end

      def to_h
        { name: name, version: version, platform: platform, deps: deps, files: files, file_size: file_size,
          executables: executables, bindir: bindir, ext: ext, ext_requires: ext_requires, prebuilt: prebuilt,
          native: native, required_ruby_version: required_ruby_version, require_deps: require_deps,
          extra_files: extra_files.sort.to_h, symlinks: symlinks.sort.to_h, seed: seed }
      end

      # A copy with some keys changed.
      def with(**changes)
        GemDesc.new(**to_h.merge(changes))
      end

      # Cache key: everything that influences the bytes of the .gem.
      def cache_key
        Digest::SHA256.hexdigest(JSON.generate([GENERATOR_DIGEST, RUBY_VERSION, Gem::VERSION, to_h]))
      end

      def ==(other)
        other.is_a?(GemDesc) && other.to_h == to_h
      end
      alias eql? ==

      def hash
        to_h.hash
      end

      private

      def validate!
        raise ArgumentError, "bad gem name #{name.inspect}" unless name.match?(/\A[A-Za-z0-9][A-Za-z0-9._-]*\z/)
        raise ArgumentError, "bad version #{version.inspect} for #{name}" unless Gem::Version.correct?(version)
        raise ArgumentError, "unknown ext kind #{ext.inspect} for #{name}" if ext && !EXT_KINDS.include?(ext)
        raise ArgumentError, "#{name}: ext and prebuilt are exclusive" if ext && prebuilt
        raise ArgumentError, "#{name}: prebuilt needs a platform gem" if prebuilt && ruby_platform?
        raise ArgumentError, "#{name}: bindir must be exe or bin" unless %w[exe bin].include?(bindir)

        missing = ext_requires - deps.map(&:first)
        raise ArgumentError, "#{name}: ext_requires #{missing.join(", ")} must also be runtime deps" unless missing.empty?
      end
    end

    module_function

    # {"a" => "~> 1", "b" => [">= 1", "< 3"], "c" => nil} or [["a", "~> 1"], ...]
    # -> [["a", ["~> 1"]], ["b", [">= 1", "< 3"]], ["c", [">= 0"]]], sorted by name.
    def normalize_deps(deps)
      list = deps.is_a?(Hash) ? deps.map { |n, r| [n, *Array(r)] } : deps.map { |d| Array(d) }
      list.map do |name, *reqs|
        reqs = reqs.flatten.compact.map(&:to_s)
        reqs = [">= 0"] if reqs.empty?
        [name.to_s, Gem::Requirement.new(reqs).as_list]
      end.sort_by(&:first)
    end

    # The string a gem's compiled extension returns from <Const>.ext_token.
    def ext_token(desc, kind = desc.prebuilt ? "prebuilt" : desc.ext)
      "#{desc.full_name}:#{kind}"
    end

    # ---------------------------------------------------------------- content

    WORDS = %w[
      alpha batch cache client compute config cursor decode delta encode entry event filter
      format graph handle index input job key layout load merge node option output parse
      pool queue reader record render resolve route scan schema session shard source stream
      table token tree update value view worker writer
    ].freeze

    # Deterministic RNG for one gem (and one purpose).
    def rng_for(desc, purpose)
      Random.new(Digest::SHA256.hexdigest("#{desc.full_name}|#{desc.seed}|#{purpose}")[0, 16].to_i(16))
    end

    # Relative lib paths (under lib/<name>/) of the generated files: flat for
    # small gems, spread over subdirectories of ~15 files for larger ones.
    def lib_file_paths(desc)
      rng = rng_for(desc, "paths")
      subdirs = desc.files > 20 ? Array.new((desc.files / 15.0).ceil) { |i| "#{WORDS.sample(random: rng)}_#{i}" } : []
      Array.new(desc.files) do |i|
        base = "#{WORDS.sample(random: rng)}_#{WORDS.sample(random: rng)}_#{i}"
        subdirs.empty? ? base : "#{subdirs[i % subdirs.size]}/#{base}"
      end
    end

    def camelize(str)
      str.split(%r{[/_]}).map(&:capitalize).join
    end

    # One generated Ruby file: a class in the gem's module with methods and
    # constants, padded to about `size` bytes. Loads without side effects.
    def ruby_file(desc, rel, size, rng)
      klass = camelize(rel)
      out = +"# frozen_string_literal: true\n\n"
      out << "# Generated by scint's gemgen for #{desc.full_name}: #{rel}.\n"
      out << "module #{desc.const_name}\n  class #{klass}\n"
      out << "    NAME = #{"#{desc.lib_name}/#{rel}".inspect}\n"
      out << "    TABLE = { #{Array.new(4) { |k| "#{WORDS.sample(random: rng)}_#{k}: #{rng.rand(1000)}" }.join(", ")} }.freeze\n\n"
      out << "    def initialize(opts = {})\n      @opts = opts\n    end\n"
      m = 0
      while out.bytesize < size - 20
        w1 = WORDS.sample(random: rng)
        w2 = WORDS.sample(random: rng)
        n = rng.rand(1..99)
        out << "\n    # #{w1.capitalize} the #{w2} (#{n}).\n"
        out << "    def #{w1}_#{w2}_#{m}(value = #{n})\n"
        out << "      items = Array(value).map { |v| v.to_s + #{format("%x", rng.rand(1 << 24)).inspect} }\n"
        out << "      items.join(#{WORDS.sample(random: rng).inspect}) + @opts.fetch(:#{w2}, #{n}).to_s\n"
        out << "    end\n"
        m += 1
      end
      out << "  end\nend\n"
    end

    def main_file(desc, paths)
      out = +"# frozen_string_literal: true\n\n"
      out << "# Generated by scint's gemgen: #{desc.full_name}.\n"
      desc.deps.each { |dep, _| out << "require #{dep.inspect}\n" } if desc.require_deps
      out << "\n" if desc.require_deps && !desc.deps.empty?
      out << "module #{desc.const_name}\n"
      out << "  VERSION = #{desc.version.inspect}\n"
      out << "  PLATFORM = #{desc.platform.inspect}\n"
      out << "  FULL_NAME = #{desc.full_name.inspect}\n\n"
      out << "  def self.scint_id\n    FULL_NAME\n  end\n\n"
      out << "  def self.file_count\n    #{paths.size}\n  end\n"
      out << "end\n"
      paths.each { |p| out << "require #{"#{desc.lib_name}/#{p.delete_suffix(".rb")}".inspect}\n" }
      out << "require #{desc.ext_require_path.inspect}\n" if desc.ext || desc.prebuilt
      out
    end

    def exe_file(desc, exe)
      <<~RUBY
        #!/usr/bin/env ruby
        # frozen_string_literal: true

        require #{desc.name.inspect}
        puts "#{exe}: \#{#{desc.const_name}.scint_id}"
      RUBY
    end

    def ext_c_source(desc, kind)
      <<~C
        /* Generated by scint's gemgen: #{desc.full_name} (#{kind}). */
        #include <ruby.h>

        static VALUE
        scint_ext_token(VALUE self)
        {
            (void)self;
            return rb_str_new_cstr(#{ext_token(desc, kind).inspect});
        }

        void
        Init_#{desc.ext_name}(void)
        {
            VALUE mod = rb_define_module(#{desc.const_name.inspect});
            rb_define_singleton_method(mod, "ext_token", scint_ext_token, 0);
        }
      C
    end

    # Lines requiring the gems an extension build depends on (e.g. a
    # mini_portile2-like helper), and proving they loaded.
    def ext_require_lines(desc)
      desc.ext_requires.map do |g|
        "require #{g.inspect}\n$stdout.puts \"using #{g}\"\n"
      end.join
    end

    def extconf_source(desc)
      "# frozen_string_literal: true\n\nrequire \"mkmf\"\n#{ext_require_lines(desc)}" \
        "create_makefile(#{desc.ext_require_path.inspect})\n"
    end

    # RubyGems runs `rake RUBYARCHDIR=<dest> RUBYLIBDIR=<dest>` in the
    # Rakefile's dir and then copies <dest> into the extension and lib dirs.
    def rakefile_source(desc)
      <<~RUBY
        # frozen_string_literal: true

        # Built by RubyGems' RakeBuilder: compile with mkmf, install into RUBYARCHDIR.
        #{ext_require_lines(desc).chomp}
        task :default do
          dest = File.join(ENV.fetch("RUBYARCHDIR"), #{desc.lib_name.inspect})
          ruby "mkmf_helper.rb"
          sh "make"
          mkdir_p dest
          cp "#{desc.ext_name}.\#{RbConfig::CONFIG["DLEXT"]}", dest
        end
      RUBY
    end

    # RubyGems' CmakeBuilder runs `cmake . -DCMAKE_INSTALL_PREFIX=<dest>`, then
    # `make clean`, `make`, `make install`.
    def cmakelists_source(desc)
      <<~CMAKE
        cmake_minimum_required(VERSION 3.10)
        project(#{desc.ext_name} C)
        if(DEFINED ENV{RUBY})
          set(RUBY_EXE $ENV{RUBY})
        else()
          find_program(RUBY_EXE NAMES ruby REQUIRED)
        endif()
        execute_process(COMMAND ${RUBY_EXE} -rrbconfig -e "print RbConfig::CONFIG['rubyhdrdir']"
                        OUTPUT_VARIABLE RUBY_HDR_DIR)
        execute_process(COMMAND ${RUBY_EXE} -rrbconfig -e "print RbConfig::CONFIG['rubyarchhdrdir']"
                        OUTPUT_VARIABLE RUBY_ARCH_HDR_DIR)
        add_library(#{desc.ext_name} MODULE #{desc.ext_name}.c)
        target_include_directories(#{desc.ext_name} PRIVATE ${RUBY_HDR_DIR} ${RUBY_ARCH_HDR_DIR})
        set_target_properties(#{desc.ext_name} PROPERTIES PREFIX "" SUFFIX ".so")
        install(TARGETS #{desc.ext_name} LIBRARY DESTINATION #{desc.lib_name})
      CMAKE
    end

    # Extension sources by kind: {relpath => content}; relpaths under ext/<name>/.
    # Returns [files, extension_entry_point].
    def ext_files(desc)
      dir = "ext/#{desc.name}"
      c = { "#{dir}/#{desc.ext_name}.c" => ext_c_source(desc, desc.ext) }
      case desc.ext
      when "extconf"
        [c.merge("#{dir}/extconf.rb" => extconf_source(desc)), "#{dir}/extconf.rb"]
      when "rake"
        helper = "# frozen_string_literal: true\n\nrequire \"mkmf\"\ncreate_makefile(#{desc.ext_name.inspect})\n"
        [c.merge("#{dir}/Rakefile" => rakefile_source(desc), "#{dir}/mkmf_helper.rb" => helper), "#{dir}/Rakefile"]
      when "cmake"
        [c.merge("#{dir}/CMakeLists.txt" => cmakelists_source(desc)), "#{dir}/CMakeLists.txt"]
      end
    end

    # Every file of the gem: {relpath => {content:, mode:}} (symlinks apart).
    def gem_files(desc, so_cache:)
      files = {}
      add = ->(path, content, mode = 0o644) { files[path] = { content: content, mode: mode } }

      paths = lib_file_paths(desc).map { |p| "#{p}.rb" }
      rng = rng_for(desc, "content")
      paths.each do |p|
        size = (desc.file_size * (0.5 + rng.rand)).to_i
        add.call("lib/#{desc.lib_name}/#{p}", ruby_file(desc, p.delete_suffix(".rb"), size, rng))
      end
      add.call("lib/#{desc.lib_name}.rb", main_file(desc, paths))
      add.call("README.md", "# #{desc.name}\n\nGenerated by scint's gemgen (#{desc.full_name}).\n")
      desc.executables.each { |exe| add.call("#{desc.bindir}/#{exe}", exe_file(desc, exe), 0o755) }
      if desc.ext
        ext_files(desc).first.each { |p, c| add.call(p, c) }
      elsif desc.prebuilt
        add.call("lib/#{desc.ext_require_path}.#{RbConfig::CONFIG["DLEXT"]}", prebuilt_so(desc, so_cache), 0o755)
      end
      desc.extra_files.each { |p, f| add.call(p, f.fetch(:content).to_s, f.fetch(:mode, 0o644)) }
      files
    end

    # Compiles the extension of a platform gem once with this Ruby's mkmf and
    # caches the .so under so_cache by the digest of its sources.
    def prebuilt_so(desc, so_cache)
      unless Gem::Platform.new(desc.platform) === Gem::Platform.local
        raise Error, "#{desc.full_name}: cannot prebuild for #{desc.platform} on #{Gem::Platform.local}"
      end

      c_src = ext_c_source(desc, "prebuilt")
      # -ffile-prefix-map keeps the temp build dir out of the debug info, so
      # the .so (hence the .gem) does not depend on where it was compiled.
      extconf = "require \"mkmf\"\n$CFLAGS << \" -ffile-prefix-map=\#{Dir.pwd}=.\"\n" \
                "create_makefile(#{desc.ext_name.inspect})\n"
      key = Digest::SHA256.hexdigest([c_src, extconf, RUBY_DESCRIPTION, RbConfig::CONFIG["arch"]].join("\0"))
      cached = File.join(so_cache, "#{key}.#{RbConfig::CONFIG["DLEXT"]}")
      return File.binread(cached) if File.file?(cached)

      Dir.mktmpdir("gemgen-so-") do |tmp|
        File.write(File.join(tmp, "#{desc.ext_name}.c"), c_src)
        File.write(File.join(tmp, "extconf.rb"), extconf)
        [[RbConfig.ruby, "extconf.rb"], ["make"]].each do |cmd|
          out, st = Open3.capture2e(*cmd, chdir: tmp)
          raise Error, "#{desc.full_name}: prebuilding failed: #{cmd.join(" ")}\n#{out}" unless st.success?
        end
        FileUtils.mkdir_p(so_cache)
        tmp_out = "#{cached}.#{Process.pid}.tmp"
        FileUtils.cp(File.join(tmp, "#{desc.ext_name}.#{RbConfig::CONFIG["DLEXT"]}"), tmp_out)
        File.rename(tmp_out, cached)
      end
      File.binread(cached)
    end

    def gem_spec(desc, files)
      Gem::Specification.new do |s|
        s.name = desc.name
        s.version = desc.version
        s.platform = desc.platform unless desc.ruby_platform?
        s.authors = ["scint rig"]
        s.email = ["rig@example.invalid"]
        s.homepage = "https://example.invalid/#{desc.name}"
        s.license = "MIT"
        s.summary = "Rig corpus gem #{desc.name}"
        s.description = "Generated by the scint measurement rig (gen-corpus)."
        s.date = SPEC_DATE
        s.required_ruby_version = desc.required_ruby_version
        s.require_paths = ["lib"]
        s.bindir = desc.bindir
        s.executables = desc.executables
        s.files = (files.keys + desc.symlinks.keys).sort
        s.extensions = [ext_files(desc).last] if desc.ext
        desc.deps.each { |n, reqs| s.add_runtime_dependency(n, *reqs) }
      end
    end

    # Builds one .gem for desc at out_path (written atomically). Returns out_path.
    def build_gem(desc, out_path, so_cache:)
      out_path = File.expand_path(out_path) # the build runs in a staging dir
      files = gem_files(desc, so_cache: so_cache)
      spec = gem_spec(desc, files)
      FileUtils.mkdir_p(File.dirname(out_path))
      Dir.mktmpdir("gemgen-stage-") do |stage|
        files.each do |rel, f|
          path = File.join(stage, rel)
          FileUtils.mkdir_p(File.dirname(path))
          File.binwrite(path, f[:content])
          File.chmod(f[:mode], path) # modes are read from disk: don't depend on umask
        end
        desc.symlinks.each do |rel, target|
          path = File.join(stage, rel)
          FileUtils.mkdir_p(File.dirname(path))
          File.symlink(target, path)
        end
        tmp_out = "#{out_path}.#{Process.pid}.tmp"
        with_fixed_epoch do
          # Package.build reads spec.files relative to the cwd and prints
          # "Successfully built RubyGem" plus validation warnings: silence it.
          Gem::DefaultUserInteraction.use_ui(Gem::SilentUI.new) do
            Dir.chdir(stage) { Gem::Package.build(spec, false, false, tmp_out) }
          end
        end
        File.rename(tmp_out, out_path)
      end
      out_path
    end

    def with_fixed_epoch
      saved = ENV["SOURCE_DATE_EPOCH"]
      ENV["SOURCE_DATE_EPOCH"] = EPOCH.to_s
      yield
    ensure
      ENV["SOURCE_DATE_EPOCH"] = saved
    end

    # ----------------------------------------------------------------- index

    # One line of info/<name>, as rubygems.org writes it:
    #   <version>[-<platform>] <dep>:<req>[&<req>],...|checksum:<sha256>[,ruby:<req>][,rubygems:<req>]
    def info_line(desc, sha256)
      v = desc.ruby_platform? ? desc.version : "#{desc.version}-#{desc.platform}"
      deps = desc.deps.map { |n, reqs| "#{n}:#{reqs.join("&")}" }.join(",")
      req = ["checksum:#{sha256}"]
      ruby = Gem::Requirement.new(desc.required_ruby_version)
      req << "ruby:#{ruby.as_list.join("&")}" unless ruby.none?
      "#{v} #{deps}|#{req.join(",")}"
    end

    # Sort order of versions within a name: by version, ruby platform first.
    def version_sort_key(desc)
      [Gem::Version.new(desc.version), desc.ruby_platform? ? "" : desc.platform]
    end

    # Writes versions, names and info/<name> into dir for the given
    # [GemDesc, sha256] pairs. Files are only rewritten when their content
    # changes (keeps mtimes, hence nginx's ETags, stable).
    def write_index(dir, entries)
      by_name = entries.group_by { |d, _| d.name }.sort_by(&:first)
      FileUtils.mkdir_p(File.join(dir, "info"))
      versions = +"created_at: #{CREATED_AT}\n---\n"
      by_name.each do |name, list|
        list = list.sort_by { |d, _| version_sort_key(d) }
        info = +"---\n"
        list.each { |d, sha| info << info_line(d, sha) << "\n" }
        write_if_changed(File.join(dir, "info", name), info)
        vers = list.map { |d, _| d.ruby_platform? ? d.version : "#{d.version}-#{d.platform}" }
        versions << "#{name} #{vers.join(",")} #{Digest::MD5.hexdigest(info)}\n"
      end
      stale = Dir.children(File.join(dir, "info")) - by_name.map(&:first)
      stale.each { |n| File.delete(File.join(dir, "info", n)) }
      write_if_changed(File.join(dir, "versions"), versions)
      write_if_changed(File.join(dir, "names"), "---\n#{by_name.map { |n, _| "#{n}\n" }.join}")
    end

    def write_if_changed(path, content)
      return false if File.file?(path) && File.binread(path) == content

      tmp = "#{path}.#{Process.pid}.tmp"
      File.binwrite(tmp, content)
      File.rename(tmp, path)
      true
    end

    # A gem repackaged from one installed on this machine (e.g. the real
    # rake, which an extension built by a Rakefile needs in the bundle).
    # Quacks like GemDesc where Corpus and the index writer need it.
    class InstalledGem
      attr_reader :spec

      def initialize(name, requirement = ">= 0")
        @spec = Gem::Specification.find_by_name(name, requirement)
      end

      def name = spec.name
      def version = spec.version.to_s
      def platform = spec.platform.to_s
      def full_name = spec.full_name
      def ruby_platform? = platform == "ruby"

      def deps
        spec.runtime_dependencies.map { |d| [d.name, d.requirement.as_list] }.sort_by(&:first)
      end

      def required_ruby_version
        spec.required_ruby_version.as_list
      end

      # Every regular file of the installed gem dir (distro specs often list
      # only a few in `files`).
      def files
        Dir.glob("**/*", File::FNM_DOTMATCH, base: spec.full_gem_path)
           .select { |f| File.file?(File.join(spec.full_gem_path, f)) }.sort
      end

      def cache_key
        digests = files.map { |f| [f, Digest::SHA256.file(File.join(spec.full_gem_path, f)).hexdigest] }
        Digest::SHA256.hexdigest(JSON.generate([GENERATOR_DIGEST, spec.to_ruby, digests]))
      end

      def build_gem(out_path, so_cache: nil)
        out_path = File.expand_path(out_path) # the build runs in the gem's dir
        s = spec.dup
        s.files = files
        s.date = SPEC_DATE
        tmp_out = "#{out_path}.#{Process.pid}.tmp"
        FileUtils.mkdir_p(File.dirname(out_path))
        Gemgen.with_fixed_epoch do
          Gem::DefaultUserInteraction.use_ui(Gem::SilentUI.new) do
            Dir.chdir(spec.full_gem_path) { Gem::Package.build(s, true, false, tmp_out) }
          end
        end
        File.rename(tmp_out, out_path)
        out_path
      end
    end

    # A corpus directory: gems/*.gem plus the compact index.
    class Corpus
      attr_reader :dir, :so_cache

      # so_cache: where prebuilt .so files are cached (default <dir>/.gemgen/so).
      def initialize(dir, so_cache: nil)
        @dir = File.expand_path(dir)
        @state_dir = File.join(@dir, ".gemgen")
        @so_cache = so_cache || File.join(@state_dir, "so")
        @gems = {}
      end

      # Adds a description (GemDesc, InstalledGem, or GemDesc's keyword hash).
      # Returns it.
      def add(desc = nil, **opts)
        desc = GemDesc.new(**(desc || {}), **opts) unless desc.is_a?(GemDesc) || desc.is_a?(InstalledGem)
        raise Error, "duplicate gem #{desc.full_name}" if @gems.key?(desc.full_name)

        @gems[desc.full_name] = desc
      end

      def gems
        @gems.values
      end

      def [](full_name)
        @gems[full_name]
      end

      def gem_path(desc_or_full_name)
        full = desc_or_full_name.respond_to?(:full_name) ? desc_or_full_name.full_name : desc_or_full_name
        File.join(dir, "gems", "#{full}.gem")
      end

      # Builds every gem whose description changed, removes .gem files of gems
      # no longer described, and rewrites the index. Holds a lock on the corpus
      # for the duration so concurrent test processes do not collide.
      # Returns {built: [full_name...], cached: n}.
      def build!
        FileUtils.mkdir_p([File.join(dir, "gems"), @state_dir])
        File.open(File.join(@state_dir, "lock"), File::RDWR | File::CREAT, 0o644) do |lock|
          lock.flock(File::LOCK_EX)
          build_locked
        end
      end

      # sha256 of a built gem (after build!).
      def checksum(full_name)
        @manifest.fetch(full_name).fetch("sha256")
      end

      private

      def manifest_path
        File.join(@state_dir, "manifest.json")
      end

      def build_locked
        @manifest = File.file?(manifest_path) ? JSON.parse(File.read(manifest_path)) : {}
        built = []
        gems.sort_by(&:full_name).each do |desc|
          path = gem_path(desc)
          m = @manifest[desc.full_name]
          next if m && m["key"] == desc.cache_key && File.file?(path) && File.size(path) == m["size"]

          if desc.respond_to?(:build_gem)
            desc.build_gem(path, so_cache: so_cache)
          else
            Gemgen.build_gem(desc, path, so_cache: so_cache)
          end
          @manifest[desc.full_name] = { "key" => desc.cache_key, "sha256" => Digest::SHA256.file(path).hexdigest,
                                        "size" => File.size(path) }
          built << desc.full_name
        end
        (@manifest.keys - @gems.keys).each do |full|
          FileUtils.rm_f(gem_path(full))
          @manifest.delete(full)
        end
        Gemgen.write_if_changed(manifest_path, JSON.pretty_generate(@manifest.sort.to_h))
        Gemgen.write_index(dir, gems.map { |d| [d, checksum(d.full_name)] })
        { built: built, cached: gems.size - built.size }
      end
    end
  end
end
