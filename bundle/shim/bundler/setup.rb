# frozen_string_literal: true
#
# scint's Bundler shim: what `scint exec` loads into every Ruby it starts
# (RUBYOPT=-r<this file>, as `bundle exec` does with Bundler's own
# bundler/setup), in place of Bundler.
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
# `require "bundler/setup"` finds this file already loaded: a no-op.
#
# The runtime lock is as trusted as the Gemfile next to it (which `bundle
# exec` runs as Ruby code); it is still checked for shape, and a lock that
# does not load hands over to the real Bundler.

module ScintShim
  LOCK_MAX = 64 << 20
  SHIM_DIR = File.expand_path("..", __dir__)
  REQUIRE_ERRORS = [/^no such file to load -- (.+)$/i, /^Missing \w+ (?:file\s*)?([^\s]+.rb)$/i,
                    /^Missing API definition file in (.+)$/i, /^cannot load such file -- (.+)$/i,
                    /^dlopen\([^)]*\): Library not loaded: (.+)$/i].freeze

  class Error < StandardError; end

  # A locked gem: RubyGems' stub spec, filled from the lock instead of the gemspec's stub line.
  class Spec < Gem::StubSpecification
    attr_reader :scint_deps, :scint_load_paths

    def self.from_lock(name, g, base_dir)
      if g["source"] == "default"
        # This Ruby's own gem: its spec is read (a stub line) when asked for.
        s = default_gemspec_stub(File.join(Gem.default_specifications_dir, "#{g["full_name"]}.gemspec"),
                                 Gem.default_dir, File.join(Gem.default_dir, "gems"))
        s.instance_variable_set(:@scint_load_paths, [])
        s.instance_variable_set(:@scint_deps, g["deps"])
        return s
      end
      s = new(g["spec"] || File.join(g["dir"].to_s, "#{name}.gemspec"), base_dir, File.join(base_dir, "gems"), false)
      s.scint_fill(name, g)
      s
    end

    def scint_fill(name, g)
      paths = g["load_paths"]
      rel = paths.first(paths.size - (g["ext"] ? 1 : 0)).map { |p| p.start_with?("#{g["dir"]}/") ? p[g["dir"].size + 1..] : p }
      rel = ["lib"] if rel.empty?
      line = +"# stub: #{name} #{g["version"]} #{g["platform"] || "ruby"} #{rel.join("\0")}"
      @data = StubLine.new(line, g["ext"] ? ["ext"] : StubLine::NO_EXTENSIONS)
      @scint_deps = g["deps"]
      @scint_load_paths = paths
      @scint_bindir = g["bindir"]
      @scint_executables = g["executables"]
      @full_gem_path = g["dir"] if g["dir"] && g["source"] == "path"
      @extension_dir = paths.last if g["ext"]
    end

    def full_gem_path
      @full_gem_path || super
    end

    # The gemspec file (RubyGems' own to_spec would answer with this stub, the loaded spec).
    def to_spec
      @spec ||= Gem::Specification.load(loaded_from) || raise(Gem::LoadError, "cannot load the gemspec #{loaded_from}")
    end

    def bindir
      @scint_bindir || to_spec.bindir
    end

    def executables
      @scint_bindir ? @scint_executables : to_spec.executables
    end

    def load_paths
      @scint_load_paths
    end

    def full_require_paths
      @scint_load_paths.empty? ? super : @scint_load_paths
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

      lock = Marshal.load(data, freeze: true)
      raise Error, "#{path} is not a runtime lock of this scint (run `scint install`)" unless lock.is_a?(Hash) && lock["version"] == 2 && lock["gems"].is_a?(Hash) && lock["roots"].is_a?(Array) && lock["deps"].is_a?(Array)

      lock["gems"].each do |name, g|
        raise Error, "#{path}: bad entry for #{name.inspect}" unless name.is_a?(String) && g.is_a?(Hash) && g["load_paths"].is_a?(Array) && g["deps"].is_a?(Array) && g["version"].is_a?(String)
      end
      lock
    end

    def boot
      @lock = load_lock(ENV["SCINT_RUNTIME_LOCK"])
      @root = @lock["app_dir"]
      base = @lock["gem_home"]
      @all = {}
      @lock["gems"].each { |name, g| @all[name] = Spec.from_lock(name, g, base) }
      bspec = @lock["bundler_spec"]
      if bspec && !@all.key?("bundler") && File.file?(bspec)
        dir = File.dirname(bspec, 2)
        @bundler_spec = Gem::StubSpecification.gemspec_stub(bspec, dir, File.join(dir, "gems"))
      end
      $LOAD_PATH << SHIM_DIR unless $LOAD_PATH.include?(SHIM_DIR)
      setup_groups(nil)
      replace_entrypoints
    rescue Error, SystemCallError, TypeError, ArgumentError => e
      warn "scint: #{e.message}; using Bundler"
      real_bundler_setup
    end

    # The names a group list asks for (nil: what the install wanted), tsorted as Bundler does.
    def names_for(groups)
      gems = @lock["gems"]
      roots = if groups.nil?
                @lock["roots"]
              else
                @lock["deps"].select { |d| d[2] && !(d[1] & groups).empty? }.map(&:first)
              end
      set = {}
      stack = roots.select { |n| gems.key?(n) }
      until stack.empty?
        n = stack.pop
        next if set[n]

        set[n] = true
        gems[n]["deps"].each { |d| stack << d if gems.key?(d) && !set[d] }
      end
      order = []
      done = {}
      visit = lambda do |n|
        return if done[n]

        done[n] = true
        gems[n]["deps"].sort.each { |d| visit.call(d) if set[d] }
        order << n
      end
      set.keys.sort.each { |n| visit.call(n) }
      order.unshift(order.delete("rake")) if set["rake"]
      order
    end

    def setup_groups(groups)
      names = names_for(groups)
      @specs = names.map { |n| @all[n] }
      @specs << @bundler_spec if @bundler_spec
      paths = @specs.map { |s| s.respond_to?(:scint_load_paths) ? s.scint_load_paths.reject { |p| $LOAD_PATH.include?(p) } : [] }.reverse.flatten
      if Gem.respond_to?(:add_to_load_path)
        Gem.add_to_load_path(*paths)
      else
        $LOAD_PATH.insert(Gem.load_path_insert_index || 0, *paths)
      end
      @specs.each { |s| Gem.loaded_specs[s.name] = s }
      @specs_by_name = @specs.to_h { |s| [s.name, s] }
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
        next unless platform_ok && !(dgroups & groups).empty? && @lock["gems"].key?(name)

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

ScintShim.boot unless defined?(ScintShim::BOOTED)
ScintShim::BOOTED = true
