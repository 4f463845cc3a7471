# frozen_string_literal: true
#
# scint's Bundler shim: what `scint exec` loads into every Ruby it starts
# (RUBYOPT=-r<shim dir>/bundler/setup, as `bundle exec` does with Bundler's
# own bundler/setup, which loads this file), in place of Bundler.
#
# It reads the runtime lock scint wrote at install time (the file named by
# SCINT_RUNTIME_LOCK, <app>/.bundle/scint.lock.marshal; its format is
# described in phases/finalize.c, fin_marshal) and does what Bundler.setup
# does, without resolving and without reading a single gemspec:
#
# - puts the load paths of the locked gems of the requested groups (all
#   groups the install did not exclude) on $LOAD_PATH, in Bundler's order
#   (specs tsorted by name, each spec's require paths then its extension dir,
#   the list reversed, inserted at Gem.load_path_insert_index);
# - marks them loaded (Gem.loaded_specs) with stub specs whose name, version,
#   platform and paths come from the lock; the full gemspec is read only when
#   a program asks a stub for more (Gem::StubSpecification#to_spec);
# - replaces Kernel#gem, Gem.bin_path/activate_bin_path/finish_resolve and
#   Gem::Specification.all as Bundler does (rubygems_integration.rb), so that
#   `gem "x"` and binstubs agree with the lock;
# - defines the part of Bundler that applications call at boot: setup,
#   require (honouring the Gemfile's `require:`), root, load.specs,
#   with_unbundled_env / with_clean_env / with_original_env and the env
#   hashes behind them. Anything else (a method or constant of Bundler the
#   shim does not have, or `require "bundler"`) loads the real Bundler, which
#   works on the same bundle (BUNDLE_GEMFILE, BUNDLE_PATH are set).
#
# This directory is put on $LOAD_PATH (last), so a later
# `require "bundler/setup"` finds bundler/setup.rb already loaded: a no-op.
#
# The runtime lock is as trusted as the Gemfile next to it (which `bundle
# exec` runs as Ruby code); it is still checked for shape, and a lock that
# does not load hands over to the real Bundler.

module ScintShim
  LOCK_MAX = 64 << 20
  SHIM_DIR = __dir__
  REQUIRE_ERRORS = [/^no such file to load -- (.+)$/i, /^Missing \w+ (?:file\s*)?([^\s]+.rb)$/i,
                    /^Missing API definition file in (.+)$/i, /^cannot load such file -- (.+)$/i,
                    /^dlopen\([^)]*\): Library not loaded: (.+)$/i].freeze

  class Error < StandardError; end

  # A locked gem: a RubyGems stub spec whose name, version, platform and
  # paths come from the lock (nothing read, objects made when asked for);
  # anything else comes from the installed gemspec, loaded on first use.
  class Spec < Gem::StubSpecification
    attr_reader :name, :scint_load_paths

    # entry: [name, version, platform, full_name, source, dir, load_paths, bindir, executables, ext]
    def self.from_lock(e, base_dir)
      s = allocate
      s.scint_init(e, base_dir)
      s
    end

    def scint_init(e, base_dir)
      raise Error, "bad gem entry in the runtime lock" unless e.size == 10 && e[0].is_a?(String) && e[6].is_a?(Array)

      @name, @scint_version, @scint_platform, @full_name, @scint_source, @scint_dir, @scint_load_paths, @scint_bindir, @scint_executables, @scint_ext = e
      @base_dir = base_dir
      @default_gem = @scint_source == :default
      @data = @spec = nil
      @extension_dir = @scint_load_paths.last if @scint_ext
      @ignored = nil
    end

    def version
      @version ||= Gem::Version.new(@scint_version)
    end

    def platform
      @platform ||= @scint_platform ? Gem::Platform.new(@scint_platform) : Gem::Platform::RUBY
    end

    def full_name
      @full_name ||= "#{@name}-#{@scint_version}"
    end

    def loaded_from
      @loaded_from ||= if @default_gem
                         File.join(Gem.default_specifications_dir, "#{full_name}.gemspec")
                       elsif @scint_dir
                         File.join(@scint_dir, "#{@name}.gemspec")
                       else
                         "#{@base_dir}/specifications/#{full_name}.gemspec"
                       end
    end

    def base_dir
      @default_gem ? Gem.default_dir : @base_dir
    end

    def gems_dir
      @default_gem ? File.join(Gem.default_dir, "gems") : "#{@base_dir}/gems"
    end

    def full_gem_path
      @full_gem_path ||= @scint_dir || File.join(gems_dir, full_name)
    end

    def gem_dir
      full_gem_path
    end

    def extensions
      @scint_ext ? ["ext"] : (@default_gem ? to_spec.extensions : StubLine::NO_EXTENSIONS)
    end

    def raw_require_paths
      return to_spec.raw_require_paths if @default_gem

      prefix = "#{full_gem_path}/"
      paths = @scint_ext ? @scint_load_paths[0...-1] : @scint_load_paths
      paths.map { |p| p.delete_prefix(prefix) }
    end

    def require_paths
      raw_require_paths
    end

    def full_require_paths
      @default_gem ? to_spec.full_require_paths : @scint_load_paths
    end

    def load_paths
      full_require_paths
    end

    def bindir
      @scint_bindir ? @scint_bindir.to_s : to_spec.bindir
    end

    def executables
      @scint_bindir ? (@scint_executables || []) : to_spec.executables
    end

    # Through the stub line's parser, for RubyGems code that reads it.
    def data
      @data ||= StubLine.new("# stub: #{@name} #{@scint_version} #{@scint_platform || "ruby"} #{require_paths.join("\0")}", extensions)
    end

    # The gemspec file (RubyGems' own to_spec would answer with this stub, the loaded spec).
    def to_spec
      @spec ||= Gem::Specification.load(loaded_from) || raise(Gem::LoadError, "cannot load the gemspec #{loaded_from}")
    end

    # What Gem::Specification has and a stub has not (dependencies, summary...): the full spec.
    def method_missing(name, *args, &block)
      return super unless Gem::Specification.public_method_defined?(name)

      to_spec.public_send(name, *args, &block)
    end

    def respond_to_missing?(name, include_private = false)
      Gem::Specification.public_method_defined?(name) || super
    end
  end

  class << self
    attr_reader :lock, :specs, :specs_by_name, :root

    def load_lock(path)
      raise Error, "SCINT_RUNTIME_LOCK is not set" unless path && !path.empty?

      data = File.open(path, "rb") { |f| f.read(LOCK_MAX + 1) } || ""
      raise Error, "#{path} is larger than #{LOCK_MAX >> 20} MiB" if data.bytesize > LOCK_MAX

      lock = Marshal.load(data)
      raise Error, "#{path} is not a runtime lock of this scint (run `scint install`)" unless lock.is_a?(Hash) && lock["version"] == 4

      gems = lock["gems"]
      order = lock["order"]
      raise Error, "#{path}: bad gems" unless gems.is_a?(Array) && order.is_a?(Array) && lock["deps"].is_a?(Array) && lock["roots"].is_a?(Array)
      # Entries are checked as they are used (a wrong type raises, and Bundler takes over).
      raise Error, "#{path}: bad order" unless order.empty? || (order.min >= 0 && order.max < gems.size)

      lock
    end

    def boot
      # A few thousand young objects: no GC pass for them now.
      gc = GC.disable
      @lock = load_lock(ENV["SCINT_RUNTIME_LOCK"])
      @root = @lock["app_dir"]
      base = @lock["gem_home"]
      gems = @lock["gems"]
      @specs = @lock["order"].map { |i| Spec.from_lock(gems[i], base) }
      bspec = @lock["bundler_spec"]
      if bspec && gems.none? { |e| e[0] == "bundler" } && File.file?(bspec)
        dir = File.dirname(bspec, 2)
        @specs << Gem::StubSpecification.gemspec_stub(bspec, dir, File.join(dir, "gems"))
      end
      $LOAD_PATH << SHIM_DIR unless $LOAD_PATH.include?(SHIM_DIR)
      activate
      replace_entrypoints
      GC.enable unless gc
    rescue Error, SystemCallError, TypeError, ArgumentError, NoMethodError => e
      GC.enable unless gc
      warn "scint: #{e.message}; using Bundler"
      real_bundler_setup
    ensure
      GC.enable unless gc
    end

    # Bundler::Runtime#setup: each spec's paths (unless already there), the list reversed, inserted as RubyGems does.
    def activate
      have = $LOAD_PATH.to_h { |p| [p, true] }
      paths = @specs.map { |s| s.is_a?(Spec) ? s.scint_load_paths.reject { |p| have[p] } : [] }.reverse.flatten
      if Gem.respond_to?(:add_to_load_path)
        Gem.add_to_load_path(*paths)
      else
        $LOAD_PATH.insert(Gem.load_path_insert_index || 0, *paths)
      end
      loaded = Gem.loaded_specs
      @specs_by_name = {}
      @specs.each { |s| loaded[s.name] = @specs_by_name[s.name] = s }
    end

    def replace_entrypoints
      shim = self
      by_name = -> { shim.specs_by_name }
      [(class << ::Kernel; self; end), ::Kernel].each do |k|
        k.send(:define_method, :require, k.instance_method(:gem_original_require)) if k.private_method_defined?(:gem_original_require)
        k.send(:define_method, :gem) do |dep, *reqs|
          reqs.pop if reqs.last.is_a?(Hash)
          dep = Gem::Dependency.new(dep, reqs) unless dep.respond_to?(:name) && dep.respond_to?(:requirement)
          spec = by_name.call[dep.name] || shim.default_spec(dep.name)
          return true if spec && dep.matches_spec?(spec)

          e = Gem::LoadError.new(spec ? "can't activate #{dep}, already activated #{spec.full_name}. Make sure all dependencies are added to Gemfile." : "#{dep.name} is not part of the bundle. Add it to your Gemfile.")
          e.name = dep.name
          e.requirement = dep.requirement if e.respond_to?(:requirement=)
          raise e
        end
        k.send(:private, :gem) if k == ::Kernel
      end
      gem_class = (class << Gem; self; end)
      gem_class.send(:define_method, :finish_resolve) { |*| [] }
      gem_class.send(:define_method, :find_spec_for_exe) do |gem_name, *args|
        exec_name = args.first
        raise ArgumentError, "you must supply exec_name" unless exec_name

        specs = by_name.call
        spec = specs[gem_name]
        spec = nil unless spec&.executables&.include?(exec_name)
        spec ||= specs.values.find { |s| s.executables.include?(exec_name) }
        raise Gem::Exception, "can't find executable #{exec_name} for gem #{gem_name}" unless spec

        spec
      end
      gem_class.send(:define_method, :activate_bin_path) do |name, *args|
        exec_name = args.first
        return ENV["BUNDLE_BIN_PATH"] if exec_name == "bundle"

        spec = find_spec_for_exe(name, exec_name, [args.last])
        gem_bin = File.join(spec.full_gem_path, spec.bindir, exec_name)
        File.exist?(gem_bin) ? gem_bin : File.join(File.dirname(spec.loaded_from), spec.bindir, exec_name)
      end
      gem_class.send(:define_method, :bin_path) do |name, *args|
        exec_name = args.first
        return ENV["BUNDLE_BIN_PATH"] if exec_name == "bundle"

        activate_bin_path(name, *args)
      end
      all = @specs
      Gem::Specification.all = all
      Gem.post_reset { Gem::Specification.all = all }
    end

    # A default gem of this Ruby (for `gem "json"` of a gem outside the lock), found on first use.
    def default_spec(name)
      @defaults ||= Gem::Specification.default_stubs.to_h { |s| [s.name, s] }
      @defaults[name]
    end

    # Bundler::Runtime#require, on the Gemfile's dependencies as the lock records them.
    def require_groups(groups)
      @lock["deps"].each do |name, dgroups, platform_ok, autorequire|
        next unless platform_ok && !(dgroups & groups).empty? && @specs_by_name.key?(name)

        required_file = nil
        begin
          Array(autorequire || name).each do |file|
            required_file = file
            Kernel.require file
          end
        rescue LoadError => e
          REQUIRE_ERRORS.find { |r| r =~ e.message }
          raise if autorequire || $1 != required_file

          if autorequire.nil? && name.include?("-")
            begin
              namespaced_file = name.tr("-", "/")
              Kernel.require namespaced_file
            rescue LoadError => e
              REQUIRE_ERRORS.find { |r| r =~ e.message }
              raise if $1 != namespaced_file
            end
          end
        end
      end
    end

    def real_bundler_setup
      load_real_bundler
      Bundler.setup
    end

    # Hands over to Bundler (found through RUBYLIB, as under `bundle exec`).
    def load_real_bundler
      return if @real

      @real = true
      sc = (class << ::Bundler; self; end)
      %i[method_missing respond_to_missing? const_missing].each { |m| sc.send(:remove_method, m) if sc.method_defined?(m, false) || sc.private_method_defined?(m, false) }
      ::Kernel.instance_method(:gem_original_require).bind_call(self, "bundler")
    end

    def original_env
      env = ENV.to_hash
      env.each_key do |k|
        next unless k.start_with?("BUNDLER_ORIG_")

        key = k.delete_prefix("BUNDLER_ORIG_")
        v = env[k]
        next if v.nil? || v.empty?

        v == "BUNDLER_ENVIRONMENT_PRESERVER_INTENTIONALLY_NIL" ? env.delete(key) : env[key] = v
      end
      env.delete("SCINT_RUNTIME_LOCK")
      env
    end

    def unbundled_env
      env = original_env
      env["MANPATH"] = env["BUNDLER_ORIG_MANPATH"] if env.key?("BUNDLER_ORIG_MANPATH")
      env.delete_if { |k, _| k.start_with?("BUNDLE_") }
      if env.key?("RUBYOPT")
        rubyopt = env["RUBYOPT"].split(" ")
        rubyopt.delete("-r#{File.join(SHIM_DIR, "bundler/setup")}")
        rubyopt.delete("-rbundler/setup")
        env["RUBYOPT"] = rubyopt.join(" ")
      end
      env
    end

    def with_env(env)
      backup = ENV.to_hash
      ENV.replace(env)
      yield
    ensure
      ENV.replace(backup)
    end
  end
end

module Bundler
  # What `Bundler.load` answers here: the runtime's specs.
  class ScintRuntime
    def specs
      ScintShim.specs
    end

    def requested_specs
      ScintShim.specs
    end
  end

  class << self
    # All groups are set up when the shim loads, as bundler/setup does under
    # `bundle exec`; like Bundler 2.3, a later setup (any groups) changes nothing.
    def setup(*_groups)
      self
    end

    def require(*groups)
      groups = groups.map(&:to_s)
      ScintShim.require_groups(groups.empty? ? ["default"] : groups)
    end

    def root
      ::Kernel.require "pathname"
      Pathname.new(ScintShim.root)
    end

    def load
      @scint_load ||= ScintRuntime.new
    end

    def original_env
      ScintShim.original_env
    end

    def unbundled_env
      ScintShim.unbundled_env
    end
    alias_method :clean_env, :unbundled_env

    def with_original_env(&block)
      ScintShim.with_env(original_env, &block)
    end

    def with_unbundled_env(&block)
      ScintShim.with_env(unbundled_env, &block)
    end
    alias_method :with_clean_env, :with_unbundled_env

    def unbundled_system(*args)
      with_unbundled_env { Kernel.system(*args) }
    end

    def unbundled_exec(*args)
      ScintShim.with_env(unbundled_env) { Kernel.exec(*args) }
    end

    def method_missing(name, *args, &block)
      ScintShim.load_real_bundler
      public_send(name, *args, &block)
    end

    def respond_to_missing?(_name, _include_private = false)
      false
    end

    def const_missing(name)
      ScintShim.load_real_bundler
      const_get(name)
    end
  end
end

ScintShim.boot
