# frozen_string_literal: true

# The demo: generates a gem source, serves it on 127.0.0.1 with nginx,
# installs the demo app with scint (cold, warm, no-op) and runs the app under
# `bundle exec`. Run through bench/demo/run.sh.

$LOAD_PATH.unshift File.expand_path("../lib", __dir__)
require "fileutils"
require "scint/server"
require "scint/shapes"

top = File.expand_path("../..", __dir__)
scint = ENV.fetch("SCINT", File.join(top, "build/release/scint"))
work = File.join(top, "build/demo")
app = File.join(work, "app")
cache = File.join(work, "cache")
env = { "SCINT_CACHE" => cache, "BUNDLE_SILENCE_ROOT_WARNING" => "1", "BUNDLE_PATH" => nil,
        "BUNDLE_GEMFILE" => nil }

def step(title)
  puts "\n== #{title}"
end

def run!(env, *cmd, chdir:)
  puts "$ #{cmd.join(" ")}"
  t0 = Process.clock_gettime(Process::CLOCK_MONOTONIC)
  system(env, *cmd, chdir: chdir) || abort("demo: `#{cmd.join(" ")}` failed")
  Process.clock_gettime(Process::CLOCK_MONOTONIC) - t0
end

step "generating the demo gem source (RubyGems' packaging API)"
shape = Scint::Shapes.small
corpus = shape.build(File.join(work, "corpus"))
puts "#{Dir.glob("#{corpus.dir}/gems/*.gem").size} gems in #{corpus.dir}"

server = Scint::Server.new(corpus.dir).start
begin
  puts "serving it at #{server.url}"
  FileUtils.rm_rf([app, cache])
  FileUtils.mkdir_p(app)
  FileUtils.cp(File.join(__dir__, "app/app.rb"), app)
  File.write(File.join(app, "Gemfile"), File.read(File.join(__dir__, "app/Gemfile.in")).sub("@SOURCE@", server.url))

  step "locking the demo app (bundle lock)"
  run!(env, "bundle", "lock", chdir: app)

  step "scint install (cold: empty cache)"
  cold = run!(env, scint, "install", chdir: app)

  step "the app, under bundle exec"
  run!(env, "bundle", "exec", "ruby", "app.rb", chdir: app)

  step "rm -rf .bundle && scint install (warm: everything cached)"
  FileUtils.rm_rf(File.join(app, ".bundle"))
  warm = run!(env, scint, "install", chdir: app)

  step "scint install (no-op: nothing changed)"
  noop = run!(env, scint, "install", chdir: app)

  step "bundle check"
  run!(env, "bundle", "check", chdir: app)

  puts "\nwall times: cold %.3fs, warm %.3fs, no-op %.3fs" % [cold, warm, noop]
  puts "the app is in #{app}; scint's cache in #{cache}"
ensure
  server.stop
end
