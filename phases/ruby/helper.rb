# frozen_string_literal: true
#
# scint's Ruby helper: the one place where Ruby semantics are the truth.
#
# Started by scint as a child process, at most once per run and only on runs
# that need it (never on a no-op install), as `ruby helper.rb --serve 3 4`.
# It speaks a line protocol on fds of its own, reading calls on the first and
# writing results on the second, so that what a Gemfile prints (its stdout and
# stderr are scint's stderr) is shown and never taken for a result:
#
#   request:  CALL <id> <method> <nbytes>\n<nbytes of payload>
#   response: RESULT <id> ok <nbytes>\n<payload>
#             RESULT <id> err <nbytes>\n<message>
#
# Methods:
#   facts                -> "key value" lines describing this Ruby (the ABI)
#   gemfile <path>       -> the Gemfile as Bundler's DSL reads it: dependencies,
#                           sources, ruby, and what the evaluation read (files,
#                           ENV names); line format in bundle/gemfile.h
#   gitspecs <payload>   -> the gemspecs of a git checkout, loaded as Bundler's git source
#                           does (Bundler.load_gemspec, each in its directory); payload:
#                           checkout\0glob\0git_dir\0index_file (git_dir and index_file
#                           empty for a path source's directory). Per gemspec: a line
#                           "gemspec<TAB>path<TAB>n1<TAB>n2<TAB>n3", then n1 bytes of summary
#                           (as for spec), n2 bytes of spec.to_ruby (what Bundler writes back
#                           into the checkout) and n3 bytes of the spec as metadata.gz
#                           (for --build)
#   spec <metadata.gz>   -> the spec summary (key<TAB>value...), a "---gemspec---" line, then the
#                           installed gemspec exactly as RubyGems writes it
#                           (Gem::Installer#write_spec: installed_by_version
#                           set, then to_ruby_for_cache)
#
# The helper exits when its call fd closes, and is killed (PR_SET_PDEATHSIG)
# when scint dies; a build server takes its builds' whole process group with
# it (die_with_group). Metadata is hostile input: its YAML may not expand (through
# aliases) to more than YAML_NODES_MAX nodes, nor inflate past METADATA_MAX.
#
# `ruby helper.rb --build <gem_dir> <extension_dir> [build args...]` builds a
# gem's native extensions exactly as RubyGems does (Gem::Ext::Builder with its
# extconf/rake/cmake/configure builders, gem_make.out, mkmf.log, the copy into
# the require path and gem.build_complete written last), for the gem unpacked
# in gem_dir, into extension_dir. The gem's metadata.gz comes on stdin.
#
# `ruby helper.rb --build-server 3 4` serves the same builds over the
# protocol, one after the other, as the method
#   build <nargs>\0<gem_dir>\0<ext_dir>\0<args...>\0<metadata.gz>
#        -> OUT frames with the build's output, then "exit <n>" or "signal <n>"
# (rpc.h). It loads RubyGems' builders once and forks a child per build, so
# a run pays one Ruby start per build slot instead of one per gem.

require "rubygems"
require "zlib"
require "stringio"

module ScintHelper
  module_function

  YAML_NODES_MAX = 1_000_000
  METADATA_MAX = 64 << 20

  # Dies with scint: without this a SIGKILLed scint would leave the helper
  # (and the Gemfile it may be running) behind. Best effort without Fiddle.
  # sig: the signal the kernel sends when the parent dies (SIGKILL, or a
  # catchable one for a process that must take others with it).
  def die_with_parent(sig = 9)
    require "fiddle"
    prctl = Fiddle::Function.new(Fiddle::Handle::DEFAULT["prctl"], [Fiddle::TYPE_INT] + [Fiddle::TYPE_LONG] * 4,
                                 Fiddle::TYPE_INT)
    prctl.call(1, sig, 0, 0, 0) # PR_SET_PDEATHSIG
  rescue LoadError, Fiddle::DLError
    nil
  end

  # A build server and its builds die as one process group. scint spawns
  # the server as the leader of a group of its own; each build (the forked
  # child, its extconf.rb, make, the compilers) stays in it. PR_SET_PDEATHSIG
  # only reaches a direct child, so both the server (when scint dies) and
  # each forked build (when the server dies, even SIGKILLed) get SIGTERM,
  # and answer it by SIGKILLing the whole group, themselves included:
  # nothing of a build outlives a SIGKILLed scint. Only ever the group the
  # server leads (never scint's, should the server not lead one).
  def die_with_group(leader, parent = nil)
    kill_group = lambda do
      Process.kill(:KILL, 0) if Process.getpgrp == leader
      exit!(1)
    end
    Signal.trap("TERM") { kill_group.call }
    die_with_parent(15) # SIGTERM
    # The parent may have died before the line above: then no signal comes.
    kill_group.call if parent && Process.ppid != parent
  end

  # The metadata.gz of a gem, inflated, at most METADATA_MAX bytes.
  def gunzip_metadata(io)
    yaml = Zlib::GzipReader.new(io).read(METADATA_MAX + 1) || +""
    raise Gem::Exception, "metadata.gz inflates to more than #{METADATA_MAX >> 20} MiB" if yaml.bytesize > METADATA_MAX

    yaml
  end

  # Gem::Specification.from_yaml allows aliases (old gems share requirements
  # through them), so a few lines can stand for billions of nodes. Counts the
  # nodes as loading would expand them, without expanding anything.
  def check_yaml_size(yaml)
    sizes = {}
    total = 0
    count = lambda do |node|
      n = if node.is_a?(Psych::Nodes::Alias)
            sizes.fetch(node.anchor) { raise Gem::Exception, "metadata: unknown YAML alias #{node.anchor.inspect}" }
          else
            1 + (node.children || []).sum { |c| count.call(c) }
          end
      sizes[node.anchor] = n if !node.is_a?(Psych::Nodes::Alias) && node.respond_to?(:anchor) && node.anchor
      total += 1
      if n > YAML_NODES_MAX || total > YAML_NODES_MAX
        raise Gem::Exception, "metadata: YAML aliases expand to more than #{YAML_NODES_MAX} nodes (an alias bomb)"
      end

      n
    end
    count.call(Psych.parse_stream(yaml))
  end

  # Counting parses the YAML once more (a fifth of a spec call): skipped
  # when it cannot find anything. Without a "*" there is no alias, and under
  # YAML_NODES_SMALL bytes there are far fewer than YAML_NODES_MAX nodes
  # (a node takes at least a byte: "{a,b}" is four), so the count could
  # only pass.
  YAML_NODES_SMALL = 256 << 10

  def load_spec(yaml)
    Gem.load_yaml
    check_yaml_size(yaml) if yaml.include?("*") || yaml.bytesize >= YAML_NODES_SMALL
    Gem::Specification.from_yaml(yaml)
  end

  def facts
    require "rbconfig"
    c = RbConfig::CONFIG
    out = +""
    out << "engine #{RUBY_ENGINE}\n"
    out << "version #{RUBY_VERSION}\n"
    out << "patchlevel #{RUBY_PATCHLEVEL}\n"
    out << "ruby_version_dir #{c["ruby_version"]}\n"
    out << "platform #{Gem::Platform.local}\n"
    out << "ext_api #{Gem.extension_api_version}\n"
    out << "install_name #{c["ruby_install_name"]}\n"
    out << "ruby #{Gem.ruby}\n"
    out << "arch #{c["arch"]}\n"
    out << "shared #{c["ENABLE_SHARED"]}\n"
    out << "rubygems_version #{Gem::VERSION}\n"
    out << "bindir #{c["bindir"]}\n"
    out << "make #{ENV["MAKE"] || c["MAKE"] || "make"}\n"
    out << "default_dir #{Gem.default_dir}\n"
    out << "default_specs_dir #{Gem.default_specifications_dir}\n"
    begin
      require "bundler/version"
      out << "bundler_version #{Bundler::VERSION}\n"
      # Where `scint exec` finds the real Bundler (RUBYLIB, BUNDLE_BIN_PATH),
      # and its spec (Gem.loaded_specs["bundler"] under `bundle exec`).
      version_rb = $LOADED_FEATURES.find { |f| f.end_with?("/bundler/version.rb") }
      out << "bundler_lib #{field("bundler_lib", File.dirname(version_rb, 2))}\n" if version_rb
      spec = Gem.loaded_specs["bundler"]
      out << "bundler_spec #{field("bundler_spec", spec.loaded_from)}\n" if spec&.loaded_from
    rescue LoadError
      nil
    end
    Gem::Specification.default_stubs.sort_by(&:full_name).each do |s|
      out << "default_gem #{s.name} #{s.version} #{s.platform}\n"
    end
    out
  end

  # One value of the spec summary. A TAB or line break would let a gem's
  # metadata forge fields (or the gemspec separator): refused. scint checks
  # the values themselves (bundle/manifest.c, gem_summary_check).
  def field(name, value)
    value = value.to_s
    raise ArgumentError, "#{name} #{value.dump} holds a control character" if value.match?(/[\x00-\x1f\x7f]/)

    value
  end

  def list(name, values)
    Array(values).map { |v| field(name, v) }.join("\t")
  end

  def spec(payload)
    spec = load_spec(gunzip_metadata(StringIO.new(payload)))
    spec.installed_by_version = Gem.rubygems_version
    summary(spec) << "---gemspec---\n" << spec.to_ruby_for_cache
  end

  # Bundler::Source::Git#load_spec_files and #serialize_gemspecs_in: the
  # checkout's gemspecs matching glob, evaluated by Bundler.load_gemspec (a
  # gemspec may run `git ls-files`: GIT_DIR, GIT_WORK_TREE and GIT_INDEX_FILE
  # make that answer for the exported revision).
  def gitspecs(payload)
    dir, glob, git_dir, index = payload.split("\0", 4)
    raise ArgumentError, "gitspecs: malformed payload" unless dir && glob && git_dir && index
    require "bundler"
    saved = %w[GIT_DIR GIT_WORK_TREE GIT_INDEX_FILE].to_h { |k| [k, ENV[k]] }
    unless git_dir.empty? # empty: a path source's directory, loaded as it is
      ENV["GIT_DIR"] = git_dir
      ENV["GIT_WORK_TREE"] = dir
      ENV["GIT_INDEX_FILE"] = index
    end
    out = +""
    Dir["#{dir}/#{glob}"].sort_by { |p| [-p.split(File::SEPARATOR).size, p] }.each do |path|
      real = File.realpath(path)
      raise ArgumentError, "gemspec #{path.dump} is outside the checkout" unless real.start_with?(File.realpath(dir) + "/")

      spec = Bundler.load_gemspec(path)
      next unless spec

      Bundler.rubygems.set_installed_by_version(spec)
      Bundler.rubygems.validate(spec)
      sum = summary(spec).b
      ruby = spec.to_ruby.b
      gz = Zlib.gzip(spec.to_yaml).b
      rel = field("gemspec", path.delete_prefix("#{dir}/"))
      out << "gemspec\t#{rel}\t#{sum.bytesize}\t#{ruby.bytesize}\t#{gz.bytesize}\n" << sum << ruby << gz
    end
    out
  ensure
    saved&.each { |k, v| ENV[k] = v }
  end

  def summary(spec)
    out = +""
    out << "name\t#{field("name", spec.name)}\n"
    out << "version\t#{field("version", spec.version)}\n"
    out << "platform\t#{field("platform", spec.platform)}\n"
    # The gem's own paths: #require_paths puts this Ruby's absolute extension
    # dir first for gems with extensions (scint adds its own).
    out << "require_paths\t#{list("require_paths", spec.raw_require_paths)}\n"
    out << "bindir\t#{field("bindir", spec.bindir)}\n"
    out << "executables\t#{list("executables", spec.executables)}\n"
    out << "extensions\t#{list("extensions", spec.extensions)}\n"
    spec.runtime_dependencies.sort_by(&:name).each do |d|
      out << "dep\t#{field("dependency", d.name)}\t#{field("dependency", d.requirement.as_list.join(", "))}\n"
    end
    out
  end

  def dispatch(method, payload)
    case method
    when "facts" then facts
    when "gemfile" then gemfile(payload)
    when "spec" then spec(payload)
    when "gitspecs" then gitspecs(payload)
    when "ping" then "pong\n"
    else raise ArgumentError, "unknown method #{method}"
    end
  end

  # Also when wrapped (Bundler's DSL turns any error into a DSLError).
  def out_of_memory?(err)
    seen = 0
    while err && (seen += 1) < 16
      return true if err.is_a?(NoMemoryError) || err.message.to_s.include?("failed to allocate memory")

      err = err.cause
    end
    false
  end

  def memory_limit
    lim = Process.getrlimit(:AS).first
    return "no memory limit" if lim == Process::RLIM_INFINITY

    "the helper's limit is #{lim >> 20} MiB: raise SCINT_HELPER_MEMORY_MB to allow more"
  end

  # A build server's "build" call: payload "<nargs>\0<gem_dir>\0<ext_dir>\0<arg>\0...<metadata.gz>".
  # Runs the build in a forked child (a fresh copy of this warmed-up process:
  # nothing one build changes, Dir.chdir or ENV, reaches the next), streams
  # what it prints as OUT frames, and answers "exit <n>" or "signal <n>".
  def build_forked(id, payload, input, output)
    n, rest = payload.b.split("\0", 2)
    n = Integer(n)
    raise ArgumentError, "bad build call" if n.negative? || n > 10_000 || rest.nil?

    fields = rest.split("\0", n + 3)
    raise ArgumentError, "bad build call" unless fields.size == n + 3

    gem_dir, ext_dir, *args = fields[0, n + 2]
    metadata = fields[n + 2]
    rd, wr = IO.pipe
    server = Process.pid
    pid = fork do
      die_with_group(server, server)
      rd.close
      input.close
      output.close
      $stdin.reopen(File::NULL)
      $stdout.reopen(wr)
      $stderr.reopen(wr)
      wr.close
      code = begin
        build(gem_dir, ext_dir, args, StringIO.new(metadata))
      rescue Exception => e # rubocop:disable Lint/RescueException
        $stderr.puts "#{e.class}: #{e.message}", *e.backtrace
        1
      end
      $stdout.flush
      $stderr.flush
      exit!(code)
    end
    wr.close
    begin
      while (chunk = rd.readpartial(65_536))
        output.write("OUT #{id} #{chunk.bytesize}\n", chunk)
      end
    rescue EOFError
      nil
    end
    rd.close
    _, status = Process.wait2(pid)
    status.exited? ? "exit #{status.exitstatus}\n" : "signal #{status.termsig}\n"
  end

  def serve(input, output)
    input.binmode
    output.binmode
    output.sync = true
    while (line = input.gets)
      verb, id, method, nbytes = line.split(" ")
      raise "protocol error: #{line.inspect}" unless verb == "CALL" && nbytes
      payload = nbytes.to_i.positive? ? input.read(nbytes.to_i) : +""
      begin
        result = (method == "build" ? build_forked(id, payload, input, output) : dispatch(method, payload)).b
        output.write("RESULT #{id} ok #{result.bytesize}\n", result)
      rescue Exception => e # rubocop:disable Lint/RescueException
        raise if e.is_a?(SystemExit) || e.is_a?(SignalException) # SIGTERM from scint: exit
        msg = "#{e.class}: #{e.message}".strip
        msg << " (#{memory_limit})" if out_of_memory?(e)
        msg = msg.b
        output.write("RESULT #{id} err #{msg.bytesize}\n", msg)
      end
    end
  end
end

module ScintHelper
  module_function

  # RubyGems runs each build step with Open3.capture2e, which returns the
  # output only when the step ends. This gives back exactly the same output
  # and status, but also copies the output to our stdout as it comes, so that
  # scint can show what a build is doing while it runs.
  module TeeCapture
    def capture2e(*cmd, **opts)
      out = +""
      status = popen2e(*cmd, **opts) do |stdin, pipe, thread|
        stdin.close
        while (chunk = pipe.readpartial(65_536) rescue nil)
          out << chunk
          $stdout.write(chunk)
        end
        thread.value
      end
      [out, status]
    end
  end

  # What every build loads: loaded once by a build server, before it forks.
  def build_prepare
    require "rubygems/ext"
    require "fileutils"
    require "open3"
    require "tempfile"
    require "shellwords"
    Open3.singleton_class.prepend(TeeCapture) unless Open3.singleton_class.include?(TeeCapture)
  end

  def build(gem_dir, extension_dir, args, metadata_io = $stdin)
    build_prepare
    spec = load_spec(gunzip_metadata(metadata_io.binmode))
    # Point RubyGems at the assembling tree instead of an installed gem.
    spec.instance_variable_set(:@full_gem_path, File.expand_path(gem_dir))
    spec.instance_variable_set(:@extension_dir, File.expand_path(extension_dir))
    $stdout.sync = true
    Gem::Ext::Builder.new(spec, args).build_extensions
    0
  rescue Gem::Ext::BuildError, Gem::InstallError => e
    # The message repeats the whole build log (gem_make.out): end with it.
    $stdout.puts "", e.message
    1
  end
end

module ScintHelper
  module_function

  # What a Gemfile evaluation depends on besides the Gemfile's own bytes:
  # the files it read (eval_gemfile, gemspecs, File.read/exist? of a
  # Gemfile.local...) and the environment variables it looked at. Recorded
  # only while the Gemfile runs.
  module GemfileWatch
    @on = false
    @files = {}
    @env = {}
    class << self
      attr_reader :files, :env

      def on? = @on

      def watch
        @on = true
        @files.clear
        @env.clear
        yield
      ensure
        @on = false
      end

      def file(path)
        @files[File.expand_path(path.to_s)] = true if @on && path && !path.to_s.include?("://")
      rescue ArgumentError, TypeError
        nil
      end

      def env_read(name)
        @env[name.to_s] = true if @on && (name.is_a?(String) || name.is_a?(Symbol))
      end
    end

    module EnvReads
      %i[[] fetch key? has_key? include? member? values_at].each do |m|
        define_method(m) do |*args, &blk|
          if GemfileWatch.on?
            m == :values_at ? args.each { |a| GemfileWatch.env_read(a) } : GemfileWatch.env_read(args.first)
          end
          super(*args, &blk)
        end
        ruby2_keywords(m)
      end
    end

    module FileReads
      %i[read readlines exist? file? foreach].each do |m|
        define_method(m) do |*args, &blk|
          GemfileWatch.file(args.first) if GemfileWatch.on? && args.first.is_a?(String)
          super(*args, &blk)
        end
        ruby2_keywords(m)
      end
    end

    module DslWatch
      # Bundler evaluates a Gemfile under the name it was given (relative
      # for eval_gemfile "x.rb"): remember which file each name stands for.
      def eval_gemfile(gemfile, contents = nil)
        expanded = Pathname.new(gemfile).expand_path(@gemfile&.parent).to_s
        GemfileWatch.file(expanded) if contents.nil?
        (@scint_names ||= {})[gemfile.to_s] = expanded
        super
      end

      def gem(name, *args)
        names = @scint_names || {}
        loc = caller_locations(1, 20).find { |l| names.key?(l.path.to_s) }
        (@scint_locations ||= {})[name.to_s] = [names[loc.path.to_s], loc.lineno] if loc
        super
      end

      def plugin(*_args)
        loc = caller_locations(1, 1).first
        where = loc ? "#{File.basename(loc.path.to_s)}:#{loc.lineno}" : "the Gemfile"
        raise Bundler::GemfileError, "#{where}: `plugin` is not supported by scint " \
                                     "(install with Bundler to use Bundler plugins)"
      end
    end

    module LoadGemspec
      def load_gemspec(file, validate = false)
        GemfileWatch.file(file)
        super
      end
    end
  end

  # A value that goes into a TAB-separated answer line.
  def gf_field(value)
    v = value.to_s
    raise Bundler::GemfileError, "a Gemfile value contains a TAB or a line break: #{v.inspect}" if v.match?(/[\t\r\n]/)

    v
  end

  # A path as the answer names it: relative to the Gemfile's dir when inside it.
  def rel(path, root)
    path = path.to_s
    path.start_with?("#{root}/") ? path.delete_prefix("#{root}/") : path
  end

  # The Gemfile as Bundler's own DSL evaluates it (format: bundle/gemfile.h):
  # dep, source, source_opt, optional_group, ruby, file, env and bundler lines.
  # dep lines start as they always did:
  #   dep<TAB>name<TAB>requirements<TAB>groups<TAB>platform_ok<TAB>pinned
  #   require<TAB>name<TAB>paths (after its dep line, only for a `require:` option:
  #                                 "-" for `require: false`, else the paths joined by ",",
  #                                 `true` given as the gem's name)
  # (requirements as in Gemfile.lock: "~> 1.0, >= 1.0.1", "" for >= 0;
  # platform_ok 0 when the dependency is for other platforms only or an
  # install_if is false; pinned 1 for path/git/source-block dependencies,
  # the lockfile's "!"), then source id, platforms, type and location.
  def gemfile(path)
    require "digest"
    require "pathname"
    path = File.expand_path(path)
    root = File.dirname(path)
    ENV["BUNDLE_GEMFILE"] = path
    require "bundler"
    unless ENV.singleton_class.include?(GemfileWatch::EnvReads)
      ENV.singleton_class.prepend(GemfileWatch::EnvReads)
      File.singleton_class.prepend(GemfileWatch::FileReads)
      Bundler::Dsl.prepend(GemfileWatch::DslWatch)
      Bundler.singleton_class.prepend(GemfileWatch::LoadGemspec)
    end
    dsl = Bundler::Dsl.new
    GemfileWatch.watch do
      Dir.chdir(root) { dsl.eval_gemfile(path) }
    end
    files = GemfileWatch.files.keys
    env = GemfileWatch.env.keys

    out = +""
    ids = {}
    list = dsl.instance_variable_get(:@sources)
    ids[list.global_rubygems_source.object_id] = "0"
    emit_source = lambda do |src|
      next ids[src.object_id] if ids.key?(src.object_id)

      id = (ids.size).to_s
      ids[src.object_id] = id
      opts = src.respond_to?(:options) ? (src.options || {}) : {}
      case src
      when Bundler::Source::Rubygems
        out << "source\t#{id}\tgem\n"
        src.remotes.each { |r| out << "source_opt\t#{id}\tremote\t#{gf_field(r)}\n" }
      when Bundler::Source::Git
        out << "source\t#{id}\tgit\n"
        out << "source_opt\t#{id}\tremote\t#{gf_field(src.uri)}\n"
        # Bundler writes a glob only when it is not its default one.
        opts = opts.reject { |k, v| k == "glob" && v == Bundler::Source::Path::DEFAULT_GLOB }
        %w[branch tag ref glob].each do |k|
          out << "source_opt\t#{id}\t#{k}\t#{gf_field(opts[k])}\n" if opts[k]
        end
        out << "source_opt\t#{id}\tsubmodules\ttrue\n" if opts["submodules"]
      when Bundler::Source::Path
        gemspec = opts["gemspec"]
        out << "source\t#{id}\t#{gemspec ? "gemspec" : "path"}\n"
        remote = src.to_lock[/^  remote: (.*)$/, 1]
        out << "source_opt\t#{id}\tremote\t#{gf_field(remote)}\n"
        glob = opts["glob"]
        out << "source_opt\t#{id}\tglob\t#{gf_field(glob)}\n" if glob && glob != Bundler::Source::Path::DEFAULT_GLOB
        out << "source_opt\t#{id}\tname\t#{gf_field(gemspec.name)}\n" if gemspec
      else
        raise Bundler::GemfileError, "#{src.class} sources (a plugin source?) are not supported by scint"
      end
      id
    end
    out << "source\t0\tgem\n"
    list.global_rubygems_source.remotes.each { |r| out << "source_opt\t0\tremote\t#{gf_field(r)}\n" }
    (list.path_sources + list.git_sources + list.plugin_sources + list.non_global_rubygems_sources).each do |src|
      emit_source.call(src)
    end
    locations = dsl.instance_variable_get(:@scint_locations) || {}
    dsl.dependencies.each do |d|
      reqs = d.requirement.as_list.reject { |r| r == ">= 0" }.sort.reverse.join(", ")
      src = d.source ? emit_source.call(d.source) : "0"
      loc = locations[d.name]
      loc = loc ? "#{rel(loc[0], root)}:#{loc[1]}" : ""
      out << ["dep", gf_field(d.name), reqs, d.groups.join(","), d.should_include? ? 1 : 0, d.source ? 1 : 0,
              src, Array(d.platforms).join(","), d.type || "runtime", gf_field(loc)].join("\t") << "\n"
      next if d.autorequire.nil?

      paths = d.autorequire.map { |f| field("require", f == true ? d.name : f) }
      raise ArgumentError, "#{d.name}: require path #{paths.find { |f| f.include?(",") }.dump} holds a comma" if paths.any? { |f| f.include?(",") }

      out << "require\t#{gf_field(d.name)}\t#{paths.empty? ? "-" : paths.join(",")}\n"
    end
    dsl.instance_variable_get(:@optional_groups).to_a.each { |g| out << "optional_group\t#{g}\n" }
    if (rv = dsl.instance_variable_get(:@ruby_version))
      out << ["ruby", rv.versions.join(", "), rv.engine, rv.engine_versions.join(", "), rv.patchlevel].map { |v| gf_field(v) }.join("\t") << "\n"
    end
    files.sort.each do |f|
      sha = File.file?(f) ? Digest::SHA256.file(f).hexdigest : "-"
      out << "file\t#{gf_field(rel(f, root))}\t#{sha}\n"
    end
    env.sort.each do |name|
      # BUNDLE_GEMFILE is ours (the Gemfile's path, which the answer must not depend on).
      next if name.empty? || name == "BUNDLE_GEMFILE" || name.include?("=") || name.match?(/[\t\r\n]/)

      value = ENV.to_h[name]
      out << "env\t#{name}\t#{value ? Digest::SHA256.hexdigest(value) : "-"}\n"
    end
    out << "bundler\t#{Bundler::VERSION}\n"
    out
  end
end

if ARGV.first == "--build-server"
  ScintHelper.die_with_group(Process.pid)
else
  ScintHelper.die_with_parent
end
if ARGV.first == "--build"
  exit ScintHelper.build(ARGV[1], ARGV[2], ARGV[3..])
elsif ARGV.first == "--serve" || ARGV.first == "--build-server"
  ScintHelper.build_prepare if ARGV.first == "--build-server"
  calls = IO.new(Integer(ARGV[1]), "rb")
  results = IO.new(Integer(ARGV[2]), "wb")
  [calls, results].each { |io| io.close_on_exec = true } # not for what a Gemfile runs
  begin
    ScintHelper.serve(calls, results)
  ensure
    # scint closed the calls (or the protocol broke): the server's group goes
    # with it, so that nothing a build left in the background (a detached
    # daemon, a stray compiler) outlives scint. The server still leads the
    # group here (no pid reuse).
    Process.kill(:KILL, 0) if ARGV.first == "--build-server" && Process.getpgrp == Process.pid
  end
else
  ScintHelper.serve($stdin, $stdout)
end
