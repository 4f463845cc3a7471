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
#   gemfile <path>       -> the Gemfile's dependencies as Bundler's DSL reads them
#   gitspecs <payload>   -> the gemspecs of a git checkout, loaded as Bundler's git source
#                           does (Bundler.load_gemspec, each in its directory); payload:
#                           checkout\0glob\0git_dir\0index_file. Per gemspec: a line
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
# when scint dies. Metadata is hostile input: its YAML may not expand (through
# aliases) to more than YAML_NODES_MAX nodes, nor inflate past METADATA_MAX.
#
# `ruby helper.rb --build <gem_dir> <extension_dir> [build args...]` builds a
# gem's native extensions exactly as RubyGems does (Gem::Ext::Builder with its
# extconf/rake/cmake/configure builders, gem_make.out, mkmf.log, the copy into
# the require path and gem.build_complete written last), for the gem unpacked
# in gem_dir, into extension_dir. The gem's metadata.gz comes on stdin. One
# process per build; scint runs it as a child and captures its output.

require "rubygems"
require "zlib"
require "stringio"

module ScintHelper
  module_function

  YAML_NODES_MAX = 1_000_000
  METADATA_MAX = 64 << 20

  # Dies with scint: without this a SIGKILLed scint would leave the helper
  # (and the Gemfile it may be running) behind. Best effort without Fiddle.
  def die_with_parent
    require "fiddle"
    prctl = Fiddle::Function.new(Fiddle::Handle::DEFAULT["prctl"], [Fiddle::TYPE_INT] + [Fiddle::TYPE_LONG] * 4,
                                 Fiddle::TYPE_INT)
    prctl.call(1, 9, 0, 0, 0) # PR_SET_PDEATHSIG, SIGKILL
  rescue LoadError, Fiddle::DLError
    nil
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

  def load_spec(yaml)
    Gem.load_yaml
    check_yaml_size(yaml)
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
    begin
      require "bundler/version"
      out << "bundler_version #{Bundler::VERSION}\n"
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
    ENV["GIT_DIR"] = git_dir
    ENV["GIT_WORK_TREE"] = dir
    ENV["GIT_INDEX_FILE"] = index
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

  def serve(input, output)
    input.binmode
    output.binmode
    output.sync = true
    while (line = input.gets)
      verb, id, method, nbytes = line.split(" ")
      raise "protocol error: #{line.inspect}" unless verb == "CALL" && nbytes
      payload = nbytes.to_i.positive? ? input.read(nbytes.to_i) : +""
      begin
        result = dispatch(method, payload).b
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

  def build(gem_dir, extension_dir, args)
    require "rubygems/ext"
    require "fileutils"
    require "open3"
    Open3.singleton_class.prepend(TeeCapture)
    spec = load_spec(gunzip_metadata($stdin.binmode))
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

  # The Gemfile's dependencies as Bundler's own DSL evaluates them:
  #   dep<TAB>name<TAB>requirements<TAB>groups<TAB>platform_ok<TAB>pinned
  #   optional_group<TAB>name
  # (requirements as in Gemfile.lock: "~> 1.0, >= 1.0.1", "" for >= 0;
  # platform_ok 0 when the dependency is for other platforms only; pinned 1
  # for path/git/source-block dependencies, the lockfile's "!").
  def gemfile(path)
    path = File.expand_path(path)
    ENV["BUNDLE_GEMFILE"] = path
    require "bundler"
    dsl = Bundler::Dsl.new
    Dir.chdir(File.dirname(path)) { dsl.eval_gemfile(path) }
    out = +""
    dsl.dependencies.each do |d|
      reqs = d.requirement.as_list.reject { |r| r == ">= 0" }.sort.reverse.join(", ")
      out << ["dep", d.name, reqs, d.groups.join(","), d.should_include? ? 1 : 0, d.source ? 1 : 0].join("\t") << "\n"
    end
    dsl.instance_variable_get(:@optional_groups).to_a.each { |g| out << "optional_group\t#{g}\n" }
    out
  end
end

ScintHelper.die_with_parent
if ARGV.first == "--build"
  exit ScintHelper.build(ARGV[1], ARGV[2], ARGV[3..])
elsif ARGV.first == "--serve"
  calls = IO.new(Integer(ARGV[1]), "rb")
  results = IO.new(Integer(ARGV[2]), "wb")
  [calls, results].each { |io| io.close_on_exec = true } # not for what a Gemfile runs
  ScintHelper.serve(calls, results)
else
  ScintHelper.serve($stdin, $stdout)
end
