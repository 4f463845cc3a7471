# frozen_string_literal: true

# Every state change of every phase goes through the phase's `*_enter`
# funnel, which writes one SCINT_IO_TRACE record per change
# ({"op":"event","what":"state","detail":"FROM -> TO"}). This test reads the
# trace of real installs and checks each record against the transitions
# each phase documents (the tables below restate its header diagram and
# its edge check: a new transition has to be added here too), that each job's records
# chain from its first state, and that in a debug build each record carries
# the line of the funnel's caller ("line":N pointing at an `_enter(` call in
# the phase's file). Installs: cold with a native build and a retried fetch,
# a git source with a submodule, and a failing one with --fail-fast.

require_relative "install_support"
require "git_server"

class TestStateTrace < ScintTest::Case
  include InstallSupport
  include GitServer

  # phase => { from => [to, ...] }; FAILED from every state but the terminal ones.
  def self.machine(edges, failed: true, terminal: %w[DONE FAILED], no_fail_from: [])
    t = edges.transform_values { |v| v.dup }
    if failed
      (edges.keys - terminal - no_fail_from).each { |from| t[from] = (t[from] || []) + ["FAILED"] }
    end
    t
  end

  # phases/fetch.c: LOCK (busy: the lock again) -> OPEN -> REQUEST -> WAIT ->
  # CLOSE -> OPEN (retry timer) | RENAME -> DONE; LOCK -> DONE (cached meanwhile).
  FETCH = machine({ "LOCK" => %w[LOCK OPEN DONE], "OPEN" => %w[REQUEST], "REQUEST" => %w[WAIT],
                  "WAIT" => %w[CLOSE], "CLOSE" => %w[OPEN RENAME], "RENAME" => %w[DONE] })
  # phases/index.c and index_sync.c (both "index" jobs).
  INDEX = machine({ "LOCAL" => %w[REQUEST DONE], "REQUEST" => %w[WAIT], "WAIT" => %w[REQUEST WRITE DONE],
                  "WRITE" => %w[DONE] })
  # phases/assemble.c
  ASSEMBLE = machine({ "LOCK" => %w[LOAD DONE], "LOAD" => %w[PREPARE], "PREPARE" => %w[UNPACK],
                     "UNPACK" => %w[REPLACE DIRS STREAM DRAIN], "REPLACE" => %w[DIRS STREAM UNPACK],
                     "DIRS" => %w[DIRS STREAM UNPACK], "STREAM" => %w[UNPACK], "DRAIN" => %w[SPEC],
                     "SPEC" => %w[SPEC_WAIT DONE], "SPEC_WAIT" => %w[DONE] })
  # phases/compile.c
  COMPILE = machine({ "START" => %w[TOKEN], "TOKEN" => %w[RUN], "RUN" => %w[SCAN], "SCAN" => %w[DONE] })
  # phases/promote.c
  PROMOTE = machine({ "START" => %w[SPEC DONE], "SPEC" => %w[RENAME], "RENAME" => %w[SYNC], "SYNC" => %w[MANIFEST],
                    "MANIFEST" => %w[DIRSYNC], "DIRSYNC" => %w[DONE] })
  # phases/materialize.c
  MATERIALIZE = machine({ "START" => %w[DIRS STUBS], "DIRS" => %w[DIRS FILES], "FILES" => %w[STUBS],
                        "STUBS" => %w[SPEC], "SPEC" => %w[DONE] })
  # phases/finalize.c: FAILED once something was written (not from START).
  FINALIZE = machine({ "START" => %w[WRITE], "WRITE" => %w[RENAME], "RENAME" => %w[WRITE_STATE DONE],
                       "WRITE_STATE" => %w[DONE] }, no_fail_from: %w[START])
  # phases/remote.c: no FAILED state (a miss or a refusal is DONE).
  REMOTE = machine({ "START" => %w[FIRST DONE], "FIRST" => %w[SECOND DONE], "SECOND" => %w[DONE] }, failed: false)

  # phases/git.c (install jobs start at LOCK; lock's probes at REPO_LOCK).
  GIT = machine({ "LOCK" => %w[REPO_LOCK DONE], "REPO_LOCK" => %w[REPO_INIT REPO_HAVE REPO_RESOLVE],
                  "REPO_INIT" => %w[REPO_HAVE REPO_RESOLVE], "REPO_RESOLVE" => %w[REPO_HAVE REPO_FETCH_ALL],
                  "REPO_REVPARSE" => %w[REPO_HAVE2], "REPO_HAVE" => %w[REPO_FETCH REPO_EXPORT],
                  "REPO_FETCH" => %w[REPO_HAVE2 REPO_FETCH_ALL], "REPO_FETCH_ALL" => %w[REPO_HAVE2 REPO_REVPARSE],
                  "REPO_HAVE2" => %w[REPO_EXPORT REPO_FETCH_ALL], "REPO_EXPORT" => %w[REPO_LSTREE REPO_LOCK SPECS],
                  "REPO_LSTREE" => %w[REPO_MODULES REPO_LOCK SPECS], "REPO_MODULES" => %w[REPO_LOCK SPECS],
                  "SPECS" => %w[SPECS_WAIT], "SPECS_WAIT" => %w[DONE] })

  MACHINES = { "fetch" => FETCH, "index" => INDEX, "assemble" => ASSEMBLE, "compile" => COMPILE,
               "promote" => PROMOTE, "materialize" => MATERIALIZE, "finalize" => FINALIZE,
               "remote" => REMOTE, "git" => GIT }.freeze
  FIRST = { "fetch" => %w[LOCK], "index" => %w[LOCAL], "assemble" => %w[LOCK], "compile" => %w[START],
            "promote" => %w[START], "materialize" => %w[START], "finalize" => %w[START],
            "remote" => %w[START], "git" => %w[LOCK REPO_LOCK] }.freeze
  FILES = { "fetch" => %w[fetch.c], "index" => %w[index.c index_sync.c], "assemble" => %w[assemble.c],
            "compile" => %w[compile.c], "promote" => %w[promote.c], "materialize" => %w[materialize.c],
            "finalize" => %w[finalize.c], "remote" => %w[remote.c], "git" => %w[git.c] }.freeze

  # The Makefile compiles with -DSC_RELEASE only for BUILD=release
  # (build/release, build/release-san): every other build traces lines.
  def debug_build?
    !%w[release release-san].include?(File.basename(ScintTest::BUILD_DIR))
  end

  def source_lines(name)
    @source_lines ||= {}
    @source_lines[name] ||= File.readlines(File.join(ScintTest::TOP, "phases", name))
  end

  # Checks every state record; returns them grouped by job id.
  def check_states(trace)
    states = trace.select { |t| t["op"] == "event" && t["what"] == "state" }
    refute_empty states
    states.each do |t|
      m = MACHINES[t["phase"]]
      refute_nil m, "a state machine the test knows: #{t}"
      from, to = t["detail"].split(" -> ")
      assert_includes m.fetch(from, []), to, "#{t["phase"]}: #{t["detail"]} is not an edge of its diagram (#{t})"
      if debug_build?
        line = t["line"]
        assert_kind_of Integer, line, "a debug build's state record has the caller's line: #{t}"
        callers = FILES[t["phase"]].map { |f| source_lines(f)[line - 1].to_s }
        assert callers.any? { |l| l.include?("_enter(") }, "line #{line} of #{FILES[t["phase"]]} calls a funnel: #{t}"
      else
        refute t.key?("line"), "no line in a release build: #{t}"
      end
    end
    by_job = states.group_by { |t| t["job"] }
    by_job.each_value do |recs|
      phase = recs.first["phase"]
      assert_includes FIRST[phase], recs.first["detail"].split(" -> ").first, "#{phase} starts at its first state"
      recs.each_cons(2) do |a, b|
        assert_equal a["detail"].split(" -> ").last, b["detail"].split(" -> ").first,
                     "#{phase} job #{a["job"]}: one record per change, in order"
      end
    end
    by_job
  end

  def build_corpus
    require_toolchain!
    c = Scint::Gemgen::Corpus.new(File.join(tmp, "corpus"), so_cache: File.join(ScintTest::CORPUS_DIR, "so-cache"))
    c.add(name: "st_many", version: "1.0.0", files: 40)
    c.add(name: "st_pure", version: "2.1.0", files: 3, deps: { "st_many" => "~> 1.0" })
    c.add(name: "st_native", version: "0.3.0", ext: "extconf")
    c.add(name: "st_retry", version: "1.2.0", files: 2)
    c.build!
    c
  end

  GEMS = %w[st_many st_pure st_native st_retry].freeze

  # A cold install with a native build and a fetch retried after a 503 (the
  # retry timer's path): every record is a legal edge and every job ends DONE.
  def test_cold_install_states_are_legal_edges_with_lines
    corpus = build_corpus
    server = fault_server(corpus.dir)
    app = app(gems: GEMS.to_h { |n| [n, []] }, source: server.url)
    app.bundle_lock!
    server.fault(%r{/gems/st_retry-1\.2\.0\.gem\z}, status: 503, times: 1)
    env, path = trace_env(app)
    r = scint!(app, "--link-mode", "hardlink", env: env.merge("SCINT_HTTP_RETRY_DELAY_MS" => "10"))
    assert_match(/st_native/, r.stdout)
    trace = read_trace(path)
    by_job = check_states(trace)
    by_job.each_value do |recs|
      assert_equal "DONE", recs.last["detail"].split(" -> ").last, "#{recs.first["phase"]} #{recs.first["gem"]} ends DONE"
    end
    phases = by_job.values.map { |recs| recs.first["phase"] }.uniq.sort
    assert_equal %w[assemble compile fetch finalize materialize promote], phases - %w[index]
    retry_recs = trace.select { |t| t["what"] == "state" && t["phase"] == "fetch" && t["gem"] == "st_retry-1.2.0" }
    assert_includes retry_recs.map { |t| t["detail"] }, "CLOSE -> OPEN", "the retry reopened the file through the funnel"
    app.bundle_check!
  end

  # A git source with a submodule (export, ls-tree, modules, the
  # submodule's own lock and export, gemspecs): legal edges, ending DONE.
  def test_git_install_states_are_legal_edges
    start_daemon
    repo("inner", { "inner.rb" => "module Inner; ANSWER = \"inner\"; end\n" })
    sub = repo("gsub", pure_files("gsub"))
    git!(sub, "-c", "protocol.allow=always", "submodule", "add", "-q", url("inner"), "vendor/inner")
    git!(sub, "commit", "-q", "-m", "submodule")
    publish!("gsub")
    app = git_app("gitapp", "gem \"gsub\", git: #{url("gsub").dump}, submodules: true\n")
    path = File.join(tmp, "git-trace.jsonl")
    scint_install(app, env: { "SCINT_IO_TRACE" => path })
    by_job = check_states(read_trace(path))
    git = by_job.values.select { |recs| recs.first["phase"] == "git" }
    assert_equal 1, git.size
    details = git.first.map { |t| t["detail"] }
    assert_includes details, "REPO_MODULES -> REPO_LOCK", "the submodule went through the machine"
    assert_equal "DONE", details.last.split(" -> ").last
  end

  # A failing install (a package the server does not have, --fail-fast):
  # the failed fetch and the jobs canceled with it enter FAILED through
  # their funnels too.
  def test_failed_install_states_are_legal_edges
    corpus = build_corpus
    server = fault_server(corpus.dir)
    app = app(gems: GEMS.to_h { |n| [n, []] }, source: server.url)
    app.bundle_lock!
    server.fault(%r{/gems/st_retry-1\.2\.0\.gem\z}, status: 404)
    env, path = trace_env(app)
    r = app.scint("install", "--fail-fast", env: env)
    refute r.success?
    assert_match(/st_retry/, r.stderr)
    by_job = check_states(read_trace(path))
    failed = by_job.values.select { |recs| recs.last["detail"].end_with?("-> FAILED") }
    assert(failed.any? { |recs| recs.first["phase"] == "fetch" && recs.first["gem"] == "st_retry-1.2.0" },
           "the 404 fetch ends FAILED")
  end
end
