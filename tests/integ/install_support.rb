# frozen_string_literal: true

# Shared by the install tests: the small app installed by scint, the Ruby
# ABI key, trace reading and the "every gem loads" script.

require "scint_test"
require "json"
require "gem_surgery"

module InstallSupport
  ABI = "#{RUBY_ENGINE}-#{RUBY_VERSION}-#{Gem::Platform.local}#{RbConfig::CONFIG["ENABLE_SHARED"] == "yes" ? "" : "-static"}"

  # Files that only one installer writes, by design: scint writes its
  # runtime lock, state file and BUNDLE_PATH config. (cache/<full_name>.gem
  # is compared: scint links it from its cache's inbound/ as Bundler keeps it.)
  INSTALLER_SPECIFIC = [/\Ascint\.(lock\.marshal|state|shim-[^\/]+\.iseq)\z/, /\Aconfig\z/].freeze

  def small_app(name = "app", cache: :own)
    shape, corpus = corpus(:small)
    server = serve(corpus.dir)
    app = app(name, gems: shape.gemfile_deps, source: server.url, cache: cache)
    app.bundle_lock!
    [shape, corpus, server, app]
  end

  def scint!(app, *args, env: {})
    r = app.scint("install", *args, env: env)
    assert_success r, "scint install #{args.join(" ")}"
    r
  end

  def trace_env(app, name = "trace.jsonl")
    path = File.join(tmp, name)
    FileUtils.rm_f(path)
    [{ "SCINT_IO_TRACE" => path }, path]
  end

  def read_trace(path)
    File.readlines(path).map { |l| JSON.parse(l) }
  end

  # A Ruby script that requires every gem of the shape and prints each one's
  # identity; the prebuilt extension must answer from its .so.
  def load_everything_script(shape)
    descs = shape.locked.reject { |d| shape.default_gems.include?(d) }
    lines = shape.locked.map { |d| "require #{d.name.inspect}" }
    lines += descs.map { |d| "puts #{d.const_name}.scint_id" }
    lines += shape.locked.select(&:prebuilt).map { |d| "puts #{d.const_name}.ext_token" }
    [lines.join("\n"), descs.map(&:full_name) + shape.locked.select(&:prebuilt).map { |d| "#{d.full_name}:prebuilt" }]
  end

  def assert_everything_loads(app, shape)
    script, expected = load_everything_script(shape)
    assert_equal expected, app.ruby_exec!(script).lines(chomp: true)
  end

  def cached_dir(app)
    File.join(app.cache, "cached", ABI)
  end

  # [[path, ino, mtime_ns, nlink]] of everything under dir, to prove nothing was touched.
  def stat_snapshot(dir)
    Dir.glob("**/*", File::FNM_DOTMATCH, base: dir).reject { |p| p.end_with?("/.", "/..") || p == "." }.sort.map do |p|
      st = File.lstat(File.join(dir, p))
      [p, st.ino, st.mtime.to_r, st.ctime.to_r, st.nlink]
    end
  end
end
