# tests/yaml/psych_diff.rb: differential check of bundle/yaml.c against Psych.
#
#   ruby tests/yaml/psych_diff.rb BUILD_DIR [FILE.gem|FILE.yaml|DIR ...]
#
# Builds tests/yaml/yaml_dump.c against BUILD_DIR/libscint.a, then compares
# its tree for each input with the one Psych.parse_stream gives (tags,
# scalar values as bytes, scalar styles, collection sizes and order). The
# inputs are the metadata of the given .gem files (or YAML files, or every
# .gem/.yaml in a given directory) plus specifications generated here with
# tricky values, plus hand-written snippets. Prints the acceptance count and
# every difference; exits 1 if an accepted document differs from Psych or
# Psych rejects a document the parser accepted.
require "rubygems"
require "psych"
require "tmpdir"
require "zlib"
require "rubygems/package"

build = ARGV.shift or abort "usage: psych_diff.rb BUILD_DIR [inputs...]"
root = File.expand_path("../..", __dir__)

def psych_tree(node, out)
  tag = node.tag ? "#{node.tag.bytesize}:#{node.tag}" : "-"
  case node
  when Psych::Nodes::Scalar
    v = node.value.b
    out << "S#{node.style} #{tag} #{v.bytesize}:".b << v << "\n"
  when Psych::Nodes::Sequence
    out << "Q #{tag} #{node.children.size}\n"
    node.children.each { |c| psych_tree(c, out) }
  when Psych::Nodes::Mapping
    out << "M #{tag} #{node.children.size / 2}\n"
    node.children.each { |c| psych_tree(c, out) }
  else
    out << "?#{node.class}\n"
  end
end

def psych_of(text)
  stream = Psych.parse_stream(text)
  return [nil, "not one document"] unless stream.children.size == 1
  out = "".b
  psych_tree(stream.children[0].root, out)
  [out, nil]
rescue Psych::SyntaxError, ArgumentError => e
  [nil, e.message]
end

def metadata_of(gem)
  File.open(gem, "rb") do |f|
    Gem::Package::TarReader.new(f).each do |e|
      return Zlib.gunzip(e.read) if e.full_name == "metadata.gz"
    end
  end
  nil
end

inputs = {} # name => text
ARGV.each do |arg|
  files = File.directory?(arg) ? Dir.glob(File.join(arg, "*.{gem,yaml}")).sort : [arg]
  files.each do |f|
    text = f.end_with?(".gem") ? metadata_of(f) : File.binread(f)
    inputs["corpus/#{File.basename(f)}"] = text if text
  end
end
ncorpus = inputs.size

# Specifications with tricky values, as RubyGems writes them.
tricky = [
  "", " ", "  leading spaces", "trailing space ", "a\nb", "a\n\nb\n", "a\n", "\n", "\n\nx", "x\n\n",
  " indented\nfirst line", "line\n  indented\nback", "tab\there", "quote ' single", "quote \" double",
  "back\\slash", "hash # sign", "#start", "colon: space", "key:", "- dash", "-dash", "? q", ": c",
  "!bang", "&amp", "*star", "%pct", "@at", "`tick", "{brace}", "[bracket]", "a, b", "|pipe", ">gt",
  "1.0", "1", "0x1F", "1e3", "true", "false", "yes", "no", "on", "off", "null", "~", "Null", ":sym",
  "2024-01-02", "2024-01-02 00:00:00 Z", "caf\u00e9", "\u00e9\u00e8 \u4e2d\u6587 \u{1F600}",
  "ctrl \e esc", "del \x7F", "nel \u0085", "nbsp \u00a0", "ls \u2028 ps \u2029", "bell \a", "nul \0 byte",
  "cr \r lf", "x" * 200, ("word " * 60).strip, ("long line without breaks " * 10) + "\n" + ("y " * 50),
  "ends with colon:", "a  double  space", "multi\nline\n  with indent\n\n\nand blank lines\n\n\n",
  "   \nleading blank line", "trailing\n   ", "\t\tlead tabs\nx", "'quoted'", "\"dq\"", "...", "---",
  "--- x", "a\n---\nb", "a\n...\nb", "\u00e9\n\u00e8", "emoji \u{1F600}\nnext", "x\u00a0\ny",
  "space at eol \nnext", "\\n literal", "a\u0085b", "ends with backslash\\", "=", "<<", "!ruby/object",
]
Dir.mktmpdir do |dir|
  tricky.each_with_index do |t, i|
    s = Gem::Specification.new do |s|
      s.name = "tricky#{i}"
      s.version = "1.0.#{i}"
      s.summary = t.empty? ? "empty" : t
      s.description = t
      s.authors = [t, "b"]
      s.email = i.even? ? t : [t]
      s.homepage = "https://example.invalid/#{i}"
      s.license = "MIT"
      s.files = ["lib/x.rb", t]
      s.metadata = { "rubygems_mfa_required" => "true", "k#{i}" => t }
      s.post_install_message = t
      s.add_dependency "dep#{i}", ">= 1.0", "< 3"
      s.add_development_dependency "dev", "~> 2.#{i}"
      s.required_ruby_version = ">= 2.7"
      s.date = "2024-01-02"
    end
    inputs["tricky/#{i}"] = s.to_yaml
    inputs["tricky-plain/#{i}"] = Psych.dump({ "a" => t, "b" => [t, { "c" => t }], "d" => [[t, t]] })
  end
end

# Hand-written snippets: constructs Psych does not write but YAML allows.
snippets = [
  "a: 1\n", "---\na: 1\n...\n", "a: 1\n---\nb: 2\n", "%YAML 1.1\n---\na: 1\n", "a: &x 1\nb: *x\n",
  "a: [1, 2]\n", "a: {b: 1}\n", "? a\n: b\n", "a:\n\tb: 1\n", "a: 1\na: 2\n", "a: |2-\n   x\n  y\n",
  "a: >\n  folded\n  text\n\n  para\n   more\n  back\n", "a: |+\n  keep\n\n\n", "a: >-\n  x\n",
  "a: \"multi\n  line\n\n  dq\"\n", "a: 'multi\n  line\n\n  sq'\n", "a: \"esc \\\n  aped\"\n",
  "a: plain\n  continued\n\n  more\n", "a: x # comment\n", "# c\na: 1 # c\n# c\n",
  "- - a\n  - b\n- c\n", "a:\n- b\n- c\nd: e\n", "a:\n  - b\n  - c\n", "--- !t\na: b\n", "--- x\n",
  "--- |\n  lit\n", "a: ''\nb: \"\"\nc:\nd: ~\n", "a: \"\\x41\\u00e9\\U0001F600\\N\\_\\L\\P\\e\\0\"\n",
  "a: \"bad \\q\"\n", "a: \"\\ud800\"\n", "a:\n  b:\n    c:\n      d: 1\n", "a: !t\n  b: 1\n",
  "a: !t 1\n", "a: !!str 1\n", "a: !<tag> 1\n", "'q': 1\n\"d\": 2\n", "a : 1\n", "a:  \n  b\n",
  "a: |\n\n  x\n", "a: |\n    \n  x\n", "a: >\n  x\n\n\n  y\n", "a: >\n   x\n  y\n", "a: |1\n  x\n",
  "- a\n-\n- c\n", "-\n  a: 1\n", "- a: 1\n  b: 2\n- c: 3\n", "a:\n  - b\n  -\n    - c\n", "a: b: c\n",
  "a: - b\n", "x\n", "'x'\n", "a: 'it''s'\n", "a: \"\\t\\\"\"\n", "a:\n", "a: 1\n...\n---\nb: 2\n",
  "a: @x\n", "a: `x\n", "a: x\n  b: y\n", "a: x\n b\n", "a:\n  b\n c\n", "a: \"x\ny\"\n", "a: |\n  x\n b\n",
  "a: 1\n  # c\n", "-a: 1\n", "a:b: 1\n", "a: -1\n", "a: |-\n", "a: >\n\n", "a: |\n  x", "a: x",
  "a: \"x\"", "a:\n  - 'y'", "a: \"\\\n\"\n", "a: 'x\n\n\n  y'\n", "a: \"x   \n   y\"\n",
]
snippets.each_with_index { |t, i| inputs["snippet/#{i}"] = t }

# Random strings as Psych writes them in every position, and random
# mutations of all of the above (PSYCH_DIFF_RANDOM cases each, fixed seed).
rng = Random.new(Integer(ENV.fetch("PSYCH_DIFF_SEED", "1")))
nrandom = Integer(ENV.fetch("PSYCH_DIFF_RANDOM", "2000"))
alphabet = [" ", " ", " ", "\n", "\n", "a", "b", "word", "\u00e9", "#", ":", "-", "'", "\"", "\\",
            "\t", "\e", "!", "&", "*", "|", ">", "[", "{", ",", "?", "%", "@", "1", ".", "~",
            "\u2028", "\u0085", "\u00a0", "\0", "\r", "x" * 30]
nrandom.times do |i|
  t = Array.new(rng.rand(0..12)) { alphabet[rng.rand(alphabet.size)] }.join
  t = (t + " ") * rng.rand(1..8) if rng.rand(4).zero?
  inputs["random/#{i}"] = Psych.dump({ "a" => t, "b" => [t, { t => [t] }], "c" => { "d" => [[t]] } })
end
texts = inputs.values
pieces = ["", " ", "  ", "\n", "- ", ": ", "'", "\"", "|", ">", "|-", "|2", "#", "\\", "a", "\n  ", "\n- "]
nrandom.times do |i|
  t = texts[rng.rand(texts.size)].dup.b
  rng.rand(1..3).times do
    at = rng.rand(0..t.size)
    case rng.rand(3)
    when 0 then t[at, rng.rand(0..3)] = ""
    when 1 then t.insert(at, pieces[rng.rand(pieces.size)].b)
    else t[at, 1] = pieces[rng.rand(pieces.size)].b
    end
  end
  inputs["mutated/#{i}"] = t
end

Dir.mktmpdir do |dir|
  dump = File.join(dir, "yaml_dump")
  libs = `pkg-config --libs liburing libcrypto`.split
  # A sanitizer build's library needs the sanitizer runtimes linked too.
  built = [[], ["-fsanitize=address,undefined"]].any? do |san|
    system("cc", "-std=gnu17", "-D_GNU_SOURCE", "-O2", *san, "-I#{root}", "-o", dump,
           File.join(root, "tests/yaml/yaml_dump.c"), File.join(build, "libscint.a"), *libs, "-ldl",
           err: File::NULL)
  end
  built or abort "cannot build yaml_dump against #{build}/libscint.a"
  names = inputs.keys
  paths = names.each_with_index.map do |n, i|
    p = File.join(dir, "in#{i}.yaml")
    File.binwrite(p, inputs[n])
    p
  end
  out = "".b
  paths.each_slice(500) { |sl| out << IO.popen([dump, *sl], "rb", &:read) }
  pos = 0
  accepted = { corpus: 0, other: 0 }
  by_kind = Hash.new { |h, k| h[k] = [0, 0] } # kind => [accepted, total]
  bad = 0
  declined = Hash.new(0)
  names.each do |n|
    kind, len = out[pos, 40][/\A(OK|NO) (\d+)\n/].split
    pos += "#{kind} #{len}\n".bytesize
    body = out[pos, len.to_i]
    pos += len.to_i + 1
    want, err = psych_of(inputs[n])
    by_kind[n[%r{\A[^/]+}]][1] += 1
    by_kind[n[%r{\A[^/]+}]][0] += 1 if kind == "OK"
    if kind == "OK"
      accepted[n.start_with?("corpus/") ? :corpus : :other] += 1
      next if want == body
      bad += 1
      puts "DIFFERS #{n}: #{inputs[n].inspect[0, 300]}"
      puts "  psych: #{err || want.inspect[0, 600]}"
      puts "  scint: #{body.inspect[0, 600]}"
    else
      declined[body.sub(/\Aline \d+: /, "")] += 1
      puts "declined #{n} (#{body}); psych: #{err || 'ok'}" if ENV["VERBOSE"] || n.start_with?("corpus/")
    end
  end
  puts "corpus: #{accepted[:corpus]} of #{ncorpus} accepted"
  by_kind.each { |k, (a, t)| puts "#{k}: #{a} of #{t} accepted" unless k == "corpus" }
  puts "generated+snippets: #{accepted[:other]} of #{names.size - ncorpus} accepted"
  declined.sort_by { |_, c| -c }.each { |w, c| puts "  declined #{c}x: #{w}" }
  puts bad.zero? ? "every accepted document matches Psych" : "#{bad} accepted documents differ from Psych"
  exit(bad.zero? ? 0 : 1)
end
