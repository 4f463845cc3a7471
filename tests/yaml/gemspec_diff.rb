# tests/yaml/gemspec_diff.rb: differential check of the gemspec writer in C
# (bundle/gemspec.c) against the Ruby helper's `spec` method, which is the
# truth (phases/ruby/helper.rb: RubyGems' from_yaml + to_ruby_for_cache).
#
#   ruby tests/yaml/gemspec_diff.rb BUILD_DIR [FILE.gem|FILE.yaml|DIR ...]
#
# Builds tests/yaml/gemspec_render.c against BUILD_DIR/libscint.a and runs
# both on the metadata of each input (a .gem's metadata.gz, a YAML file, or
# every file under a directory). Prints how many documents the C side
# took, the CPU per document of each side, and every disagreement; exits 1
# if an accepted document's bytes differ from the helper's, or the C side
# took a document the helper refuses. Declining is never a failure. In a
# directory every file is an input: a .gem's metadata, anything else as YAML
# (a fuzzer's corpus directory works as it is).
require "rubygems"
require "tmpdir"
require "zlib"
require "stringio"
require "rubygems/package"

build = ARGV.shift or abort "usage: gemspec_diff.rb BUILD_DIR [inputs...]"
root = File.expand_path("../..", __dir__)
load File.join(root, "phases/ruby/helper.rb")

def metadata_of(path)
  return File.binread(path) unless path.end_with?(".gem")

  File.open(path, "rb") do |io|
    Gem::Package::TarReader.new(io) do |tar|
      tar.each { |e| return Zlib.gunzip(e.read) if e.full_name == "metadata.gz" }
    end
  end
  nil
end

files = ARGV.flat_map { |a| File.directory?(a) ? Dir.glob(File.join(a, "**/*")).select { |f| File.file?(f) }.sort : [a] }
abort "no inputs" if files.empty?

failed = 0
Dir.mktmpdir do |dir|
  bin = File.join(dir, "gemspec_render")
  libs = `pkg-config --libs liburing libcrypto`.split
  system("cc", "-std=gnu11", "-O2", "-D_GNU_SOURCE", "-I#{root}", "-o", bin, File.join(root, "tests/yaml/gemspec_render.c"),
         File.join(build, "libscint.a"), *libs, "-ldl") or abort "cannot build gemspec_render"
  yamls = files.each_with_index.map do |f, i|
    p = File.join(dir, "in#{i}.yaml")
    File.binwrite(p, metadata_of(f) || "")
    p
  end
  out = "".b
  c_ns = 0
  yamls.each_slice(500) do |sl|
    text = IO.popen([bin, *sl], "rb", &:read)
    text.sub!(/CPU (\d+)\n\z/) { c_ns += Integer($1); "" }
    out << text
  end
  pos = 0
  accepted = 0
  ruby_s = 0.0
  files.each_with_index do |f, i|
    line_end = out.index("\n", pos)
    head = out[pos...line_end]
    pos = line_end + 1
    c_text = nil
    if head.start_with?("OK ")
      n = Integer(head[3..])
      c_text = out.byteslice(pos, n)
      pos += n
    end
    yaml = File.binread(yamls[i])
    gz = StringIO.new
    Zlib::GzipWriter.wrap(gz) { |z| z.write(yaml) }
    t = Process.clock_gettime(Process::CLOCK_PROCESS_CPUTIME_ID)
    ruby = begin
      ScintHelper.spec(gz.string)
    rescue StandardError => e
      e
    end
    ruby_s += Process.clock_gettime(Process::CLOCK_PROCESS_CPUTIME_ID) - t
    next unless c_text

    accepted += 1
    if ruby.is_a?(Exception)
      failed += 1
      puts "#{f}: the helper refuses it (#{ruby.class}: #{ruby.message[0, 200]}), the C side wrote it"
    elsif ruby.b != c_text
      failed += 1
      a = c_text.lines
      b = ruby.b.lines
      k = a.zip(b).index { |x, y| x != y } || [a.size, b.size].min
      puts "#{f}: differs at line #{k + 1}:\n  C:      #{a[k].inspect}\n  helper: #{b[k].inspect}"
    end
  end
  puts format("%d documents, %d written in C, %d differences; CPU per document: C %.1f us, helper %.1f us",
              files.size, accepted, failed, c_ns / 1000.0 / files.size, ruby_s * 1e6 / files.size)
end
exit(failed.zero? ? 0 : 1)
