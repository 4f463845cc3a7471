# frozen_string_literal: true

# The installed gemspec written in C (bundle/gemspec.c) against the Ruby
# helper and against Bundler. Gems with tricky metadata (non-ASCII and
# quotes and "#{" in texts, multi-line and empty strings, metadata hashes,
# licenses, emails, dependencies with several and prerelease requirements,
# development dependencies, a platform gem, executables, an extension,
# requirements, specification_version 3, old date forms) are installed
# with SCINT_SPEC_CHECK=1 (C and helper must agree) and without; every
# specifications/*.gemspec must be Bundler's bytes. The trace says which
# gems took the C path, and SCINT_STATS that a cold install of gems all
# taken in C started no helper. Metadata the writer declines (a plain
# float summary, an anchor and alias) still installs through the helper.

require_relative "install_support"

class TestGemspecNative < ScintTest::Case
  include InstallSupport

  G = Scint::Gemgen::GemDesc
  LOCAL = Gem::Platform.local.to_s

  # name => [GemDesc options, spec tweak]
  GEMS = {
    "gn_base" => [{}, nil],
    "gn_pre" => [{ version: "2.0.0.pre.1" }, nil],
    "gn_unicode" => [{}, lambda { |s|
      s.summary = "Ünïcødé “quotes” \"dq\" 'sq' \#{x} \#$y \#@z # ok 😀 \u2028"
      s.description = "line one\n  indented two\n\n\ttab\e and a bell\a trailing  \n"
      s.authors = ["Jörg Müller", "李小龍", "O'Brien \"Bob\""]
    }],
    "gn_empty" => [{}, lambda { |s|
      s.summary = ""
      s.description = ""
      s.homepage = ""
      s.email = []
    }],
    "gn_meta" => [{}, lambda { |s|
      s.metadata = { "source_code_uri" => "https://example.invalid/x", "changelog_uri" => "1.0",
                     "rubygems_mfa_required" => "true", "a key" => "yes", "Zed" => "\#{boom}" }
      s.licenses = ["MIT", "Apache-2.0", "GPL-2.0-or-later"]
      s.email = ["a@example.invalid", "b@example.invalid"]
    }],
    "gn_email" => [{}, lambda { |s|
      s.email = "one@example.invalid"
      s.homepage = "https://example.invalid/gn_email"
      s.summary = "  leading spaces and: a colon - dash # hash"
    }],
    "gn_deps" => [{ deps: { "gn_base" => [">= 1.0", "< 3"], "gn_pre" => ">= 2.0.0.pre" } }, lambda { |s|
      s.add_development_dependency "rake", "~> 13.0"
      s.add_development_dependency "minitest", ">= 5", "!= 5.1"
    }],
    "gn_plat" => [{ platform: LOCAL }, lambda { |s|
      s.required_ruby_version = [">= 2.7", "< 4.0"]
    }],
    "gn_exe" => [{ bindir: "exe", executables: %w[gn-tool gn-other] }, lambda { |s|
      s.extra_rdoc_files = ["README.md", "lib/gn_exe.rb"]
      s.rdoc_options = ["--main", "README.md", "--title", "x \#{y}"]
    }],
    # More binstubs than materialize's op window of 128.
    "gn_many_exe" => [{ bindir: "exe", executables: (1..200).map { |i| "gn-many-#{i}" } }, nil],
    "gn_ext" => [{ ext: "extconf" }, lambda { |s|
      s.post_install_message = "Thanks!\nRead: https://example.invalid\n"
    }],
    "gn_reqs" => [{}, lambda { |s|
      s.requirements = ["libfoo", "a C compiler"]
      s.required_rubygems_version = ">= 3.0"
      s.required_ruby_version = "~> 3.0"
    }],
    "gn_oldspec" => [{ deps: { "gn_base" => nil } }, lambda { |s|
      s.specification_version = 3
      s.cert_chain = ["-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n"]
      s.autorequire = "gn_oldspec"
    }],
    "gn_quoted" => [{}, lambda { |s|
      s.summary = "1.0"
      s.description = "yes"
      s.authors = ["~", "null", ":sym", "12", "0x1F", "- dash", "[x]", "a: b"]
    }],
    "gn_long" => [{}, lambda { |s|
      s.description = ("word " * 60) + "\n" + ("x" * 150) + "\n  - not a list\n"
    }]
  }.freeze

  # Gems whose metadata.gz is rewritten as text: the writer's old-date
  # forms it takes, and constructs it declines (the helper answers).
  TEXT_EDITS = {
    "gn_date_z" => ->(y) { y.sub(/^date: (\S+) (\S+) Z$/, 'date: \1 \2Z') },
    "gn_date_day" => ->(y) { y.sub(/^date: (\S+) .*$/, 'date: \1') },
    "gn_float" => ->(y) { y.sub(/^summary: .*$/, "summary: 1.5") },
    "gn_alias" => lambda { |y|
      y.sub(/^authors:\n- .*\n/, "authors:\n- &who Someone\n").sub(/^email:.*$/, "email:\n- *who")
    }
  }.freeze
  # metadata.gz as two gzip members: RubyGems reads the first only (its
  # require_paths is "lib"); libarchive would inflate both ("- hidden" more).
  TWO_MEMBERS = "gn_two_members"
  DECLINED = (%w[gn_float gn_alias] << TWO_MEMBERS).freeze
  PURE_C = (GEMS.keys + TEXT_EDITS.keys - DECLINED - %w[gn_ext]).freeze

  def shape
    descs = GEMS.map { |name, (opts, _)| G.new(**{ name: name, version: "1.0.0", files: 1 }.merge(opts)) }
    descs += (TEXT_EDITS.keys << TWO_MEMBERS).map { |name| G.new(name: name, version: "1.0.0", files: 1) }
    Scint::Shapes::Shape.new(name: "gemspec-native", gems: descs, gemfile_deps: {}, locked: descs)
  end

  # Rewrites a gem's metadata.gz (checksums and the index follow).
  def rewrite_meta(dir, desc)
    path = File.join(dir, "gems", desc.file_name)
    GemSurgery.rewrite(path, meta: ->(yaml) { yield yaml }) { |entries| entries }
    vp = desc.ruby_platform? ? desc.version : "#{desc.version}-#{desc.platform}"
    GemSurgery.reindex(dir, desc.name, vp)
  end

  def build_corpus
    sh = shape
    _, corpus = corpus(sh)
    dir = corpus_copy(corpus)
    sh.gems.each do |desc|
      if desc.name == TWO_MEMBERS
        path = File.join(dir, "gems", desc.file_name)
        split = lambda do |yaml|
          first = yaml.sub(/^require_paths:\n(- .*\n)+/, "") + "require_paths:\n- lib\n"
          GemSurgery.gzip(first) + GemSurgery.gzip("- hidden\n")
        end
        GemSurgery.rewrite(path, meta_gz: split) { |entries| entries }
        GemSurgery.reindex(dir, desc.name, desc.version)
        next
      end
      tweak = GEMS.dig(desc.name, 1)
      edit = TEXT_EDITS[desc.name]
      next unless tweak || edit

      rewrite_meta(dir, desc) do |yaml|
        if tweak
          spec = Gem::Specification.from_yaml(yaml)
          tweak.call(spec)
          spec.date = Time.utc(2024, 1, 2)
          spec.to_yaml
        else
          out = edit.call(yaml)
          refute_equal yaml, out, "the edit of #{desc.name} applies"
          out
        end
      end
    end
    [sh, dir]
  end

  def gemfile_deps(names, sh)
    sh.gems.select { |d| names.include?(d.name) }.to_h { |d| [d.name, ["= #{d.version}"]] }
  end

  def gemspecs(app)
    dir = File.join(app.install_root, "specifications")
    Dir.children(dir).sort.to_h { |f| [f, File.binread(File.join(dir, f))] }
  end

  # gem full name => "native" or "helper: why", from the trace's spec events.
  def spec_paths(trace)
    read_trace(trace).select { |e| e["op"] == "event" && e["what"] == "spec" }
                     .to_h { |e| [e["gem"] || e["job"] || e["name"], e["detail"]] }
  end

  def stats(path)
    JSON.parse(File.read(path))
  end

  def test_c_and_helper_and_bundler_agree
    require_toolchain!
    sh, dir = build_corpus
    server = serve(dir)
    names = GEMS.keys + TEXT_EDITS.keys << TWO_MEMBERS
    app = app(gems: gemfile_deps(names, sh), source: server.url)
    app.bundle_lock!

    # Both writers for every gem: any difference fails the install.
    env, trace = trace_env(app)
    r = app.scint("install", env: env.merge("SCINT_SPEC_CHECK" => "1"))
    assert_success r
    paths = spec_paths(trace)
    by_name = sh.gems.to_h { |d| [d.name, d.full_name] }
    DECLINED.each do |n|
      assert_match(/\Ahelper: /, paths.fetch(by_name[n]), "#{n} is declined: #{paths.inspect}")
    end
    native = (names - DECLINED).select { |n| paths[by_name[n]] == "native" }
    assert_equal (names - DECLINED).sort, native.sort, "the gems written in C: #{paths.inspect}"

    assert_match(/second gzip member/, paths.fetch(by_name[TWO_MEMBERS]))

    oracle = oracle_install(app)
    want = gemspecs(oracle)
    assert_match(/s\.require_paths = \["lib"\.freeze\]/, want.fetch("#{by_name[TWO_MEMBERS]}.gemspec"))
    assert_equal want.keys, gemspecs(app).keys
    want.each { |f, text| assert_equal text, gemspecs(app)[f], "#{f} as Bundler writes it" }

    # Without the check, cold again (the facts and Gemfile of this cache are kept).
    keep = %w[rubies gemfiles]
    Dir.children(app.cache).each { |c| FileUtils.rm_rf(File.join(app.cache, c)) unless keep.include?(c) }
    FileUtils.rm_rf(app.path(".bundle"))
    st = File.join(tmp, "stats.json")
    r = app.scint("install", env: { "SCINT_STATS" => st })
    assert_success r
    want.each { |f, text| assert_equal text, gemspecs(app)[f], "#{f} as Bundler writes it (C path)" }
    s = stats(st)
    assert_equal names.size - DECLINED.size, s["specs_native"], s.inspect
    assert_equal DECLINED.size, s["specs_helper"], s.inspect
    assert_equal true, s["helper_started"], "the declined gems need the helper"
  end

  # A cold install of pure gems all written in C starts no Ruby helper.
  def test_pure_gems_start_no_helper
    sh, dir = build_corpus
    server = serve(dir)
    app = app(gems: gemfile_deps(PURE_C, sh), source: server.url)
    app.bundle_lock!
    assert_success app.scint("install") # fills the facts of this Ruby
    Dir.children(app.cache).each { |c| FileUtils.rm_rf(File.join(app.cache, c)) unless %w[rubies gemfiles].include?(c) }
    FileUtils.rm_rf(app.path(".bundle"))
    st = File.join(tmp, "stats.json")
    env, trace = trace_env(app)
    assert_success app.scint("install", env: env.merge("SCINT_STATS" => st))
    s = stats(st)
    assert_equal PURE_C.size, s["specs_native"], s.inspect
    assert_equal 0, s["specs_helper"], s.inspect
    assert_equal false, s["helper_started"], s.inspect
    refute(read_trace(trace).any? { |e| e["op"] == "spawn" && e.to_s.include?("helper.rb") }, "no helper spawned")
  end

  # A writer that answers differently from the helper is caught by the check:
  # metadata the C side takes, installed with a helper that writes otherwise.
  def test_spec_check_names_the_first_difference
    sh, dir = build_corpus
    server = serve(dir)
    app = app(gems: gemfile_deps(%w[gn_base], sh), source: server.url)
    app.bundle_lock!
    helper = File.join(tmp, "helper.rb")
    File.write(helper, File.read(File.join(ScintTest::TOP, "phases/ruby/helper.rb"))
      .sub('summary(spec) << "---gemspec---\n"', 'summary(spec) << "---gemspec---\n# changed\n"'))
    r = app.scint("install", env: { "SCINT_SPEC_CHECK" => "1", "SCINT_HELPER" => helper })
    skip "SCINT_HELPER is not a setting of this build" if r.success? && !r.stderr.include?("SCINT_SPEC_CHECK")
    refute r.success?, r.to_s
    assert_match(/SCINT_SPEC_CHECK: the spec of gn_base-1.0.0 written in C differs from the helper's, line 9:/, r.stderr)
    assert_match(/helper: # changed/, r.stderr)
  end
end
