/*
 * phase.h: the install session and the gem record every phase works on.
 *
 * `struct install` is created by cli/cmd_install.c, planned by plan.c, and
 * then driven by the scheduler: per gem, the jobs
 *
 *   index (compact index /info, only to learn a checksum)
 *     -> fetch (GET .gem into inbound/gems/)
 *        -> assemble (unpack into assembling/<abi>/<full_name>/, spec via Ruby)
 *           -> compile (native extensions, when the gem has any)
 *              -> promote (rename into cached/<abi>/, gemspec, manifest last)
 *                 -> materialize (cached/ -> .bundle/ruby/<M.m.0>/)
 *   finalize (one job after every materialize: .bundle/config, runtime lock)
 *
 * A GIT source's checkout takes the place of index/fetch/assemble with one
 * git job (git.c: fetch into inbound/gits/, export, gemspecs), then the same
 * compile, promote and materialize; the source's first gem carries the jobs
 * (its "leader"), the others (PLAN_GIT_MEMBER) are installed with it.
 *
 * Each phase lives in its own file as a state machine; a gem only gets the
 * jobs its plan needs (a warm gem gets a materialize job only). Everything in
 * these structs lives in the install's arena, except job-lifetime buffers
 * which each phase frees in its release hook.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/arena.h"
#include "base/hmap.h"
#include "base/sbuf.h"
#include "bundle/gemfile.h"
#include "bundle/lockfile.h"
#include "bundle/manifest.h"
#include "bundle/outdated.h"
#include "engine/rpc.h"
#include "engine/sched.h"
#include "phases/mirror.h"

struct bconfig;

enum link_mode {
	LINK_AUTO,
	LINK_CLONE,
	LINK_HARDLINK,
	LINK_COPY,
	LINK_SYMLINK,
	LINK_MODE__COUNT,
};

extern const char *const link_mode_name[LINK_MODE__COUNT];

/* Facts about the target Ruby (see rubyabi.c); cached by interpreter identity. */
struct ruby_abi {
	const char *ruby;             /* absolute path of the interpreter */
	const char *engine;           /* "ruby" */
	const char *version;          /* RUBY_VERSION */
	const char *ruby_version_dir; /* RbConfig ruby_version: "3.1.0" */
	const char *platform;         /* Gem::Platform.local: "x86_64-linux" */
	const char *patchlevel;       /* RUBY_PATCHLEVEL: "20" (may be NULL) */
	const char *ext_api;          /* Gem.extension_api_version: "3.1.0" */
	const char *install_name;     /* ruby_install_name: "ruby3.1" */
	const char *rubygems_version;
	const char *bundler_version;  /* may be NULL */
	const char *bundler_lib;      /* its lib/ directory, may be NULL */
	const char *bundler_spec;     /* its gemspec file, may be NULL */
	const char *make;
	const char *default_dir;       /* Gem.default_dir (may be NULL: an older facts file) */
	const char *default_specs_dir; /* Gem.default_specifications_dir (may be NULL) */
	const char *abi;              /* the cache key: "ruby-3.1.2-x86_64-linux" */
	struct hmap default_gems;     /* name -> version */
};

enum gem_plan {
	PLAN_DEFAULT_GEM, /* a default gem of this Ruby: used in place */
	PLAN_PATH,        /* a PATH source: used in place */
	PLAN_INSTALLED,   /* already in .bundle */
	PLAN_MATERIALIZE, /* valid in cached/: link into .bundle */
	PLAN_ASSEMBLE,    /* .gem in inbound/: unpack, build, promote, link */
	PLAN_FETCH,       /* download first */
	PLAN_GIT,         /* a GIT source's checkout: fetch, export, build, promote, link */
	PLAN_GIT_MEMBER,  /* another gem of a GIT source: installed with its repository's leader */
	PLAN_UNSUPPORTED, /* a plugin source */
	GEM_PLAN__COUNT,
};

extern const char *const gem_plan_name[GEM_PLAN__COUNT];

struct gem_source {
	struct mirror_route route; /* where its requests go (a mirror, maybe) */
	const char *remote;   /* as in the lockfile, with a trailing '/' */
	const char *redacted; /* without credentials, for messages */
	const char *userpwd;  /* credentials for curl, or NULL */
	const char *slug;     /* index/<slug>/ */
	int index_fd;         /* index/<slug>/info, opened on demand; -1 */
};

/*
 * A GIT source at its locked revision (git.c): one cache entry
 * "<base>-<rev12>" holds the checkout of every gem of the source; its first
 * gem (the leader) carries the jobs, the others are members.
 */
struct git_spec {
	const char *name, *version, *full_name;
	const char *dir;    /* of its gemspec, relative to the checkout ("" for the root) */
	struct gem_summary spec;
};

struct git_repo {
	const struct lock_source *src;
	const char *remote;   /* as in the lockfile */
	const char *redacted; /* without credentials, for messages */
	const char *url;      /* what git fetches (credentials added), never printed */
	const char *userpwd;  /* "user:password" to scrub from git's output, or NULL */
	const char *revision; /* 40 hex */
	const char *glob;     /* as locked, else Bundler's default (git.c, GIT_DEFAULT_GLOB) */
	bool submodules;
	const char *base;     /* Bundler's base_name of the remote */
	const char *install_name; /* "<base>-<rev12>": bundler/gems/<install_name>/ */
	const char *slug;     /* inbound/gits/<slug>/ */
	struct gem *leader;
	/* The gems of the checkout (the cached "<entry>.gemspec" lists them). */
	struct git_spec *specs;
	size_t nspecs;
	bool have_specs;
};

struct index_job;
struct fetch_job;
struct assemble_job;
struct compile_job;
struct promote_job;
struct materialize_job;
struct finalize_state;
struct promote_sync;
struct remote;
struct remote_job;
struct jobserver;

struct gem {
	const struct lock_spec *spec; /* the chosen variant */
	const char *name, *version, *platform, *full_name;
	const char *entry; /* cache entry name: full_name, plus "+build-<hex>" with build args */
	const char **build_args; /* BUNDLE_BUILD__<NAME>, split like a shell would */
	size_t nbuild_args;
	struct gem_source *source;
	struct git_repo *git; /* GIT sources; NULL otherwise */
	const char *subdir;   /* git: its gemspec's directory in the checkout ("" for the root) */
	const char *ext_rel;  /* where its extensions are built, relative to the entry; NULL: "ext" */
	enum gem_plan plan;
	const char *checksum; /* expected sha256: lockfile CHECKSUMS or compact index */
	const char *warning;  /* printed after the run (an unverified install), or NULL */
	struct gem **deps;    /* runtime deps among installed gems */
	size_t ndeps;
	unsigned ndependents; /* how many gems depend on this one (priority) */

	/* the artifact, as it moves through the phases */
	struct sbuf pkg;          /* the .gem bytes (assemble reads them from inbound/) */
	struct sbuf metadata_gz;  /* the spec (assemble -> compile), for gems with extensions */
	char pkg_sha256[65];
	struct manifest *manifest; /* of the cached entry (loaded or built) */
	struct strv gemspec;      /* the gemspec text while assembling (arena) */
	int lock_fd;              /* the cache entry lock, held fetch..promote */
	bool needs_build;         /* has extensions to compile */
	bool downloaded;          /* fetched by this run */
	bool unpacked;            /* assembled by this run */
	bool promoted;            /* its entry reached cached/ in this run */
	const char *damage;       /* why its cached entry was unusable (cache.c), or NULL */
	const char *quarantined;  /* where the damaged entry went, or NULL */
	/* the remote artifact cache (remote.c) */
	struct sbuf remote_artifact; /* a downloaded, signature-checked artifact, until unpacked */
	bool remote_hit;  /* its entry came from the remote (nothing was built) */
	bool remote_miss; /* the remote answered that it has no such entry */
	const char *remote_refused; /* why the remote's entry was refused, or NULL */
	bool remote_unbuilt; /* `scint cache pull`: has extensions, no usable artifact, not built */
	/* `scint cache list --remote`: the verified index object of its entry */
	bool remote_listed;
	uint64_t remote_size;	/* the artifact's size, as the index says */
	const char *remote_sig; /* its signature kind: hmac-sha256, ed25519, unsigned */

	struct index_job *index;
	struct fetch_job *fetch;
	struct assemble_job *assemble;
	struct compile_job *compile;
	struct promote_job *promote;
	struct materialize_job *materialize;
	struct remote_job *pull, *push;
	struct job *last; /* the job materialize waits for */
};

struct install_opts {
	const char *app_dir;  /* directory holding the Gemfile */
	const char *gemfile;  /* absolute */
	const char *lockfile; /* absolute */
	const char *bundle_path;  /* BUNDLE_PATH (absolute) */
	const char *cache_root;
	unsigned jobs;
	enum link_mode link_mode;
	bool fail_fast;
	bool verbose;
	bool quiet;
	bool force; /* re-materialize gems even when installed */
	/*
	 * Plan only, write nothing (check, list, clean...): the cache and the
	 * install root are opened if they exist, never created; a gem that is
	 * not installed is planned PLAN_FETCH without looking at the cache.
	 */
	bool readonly;
	bool local_only; /* only what is installed: a gem to fetch or build is an error (scint exec) */
	int io_backend; /* enum ioq_backend */
	bool may_resolve; /* resolve when the lockfile is missing or stale (lock.c) */
	bool frozen;	  /* --frozen: never change the lockfile */
	int remote_mode;  /* enum remote_mode (remote.h): --remote-cache */
	/* `scint cache push [GEMS]`: also upload the native entries already cached (these gems; all if none) */
	bool remote_push_cached;
	/*
	 * `scint cache pull [GEMS]`: only fill cached/ (remote artifacts, pure
	 * gems unpacked; nothing compiled, the bundle path untouched).
	 * `scint cache list --remote`: only ask for the entries' index objects.
	 */
	bool remote_pull;
	bool remote_list;
	char *const *push_only; /* push/pull: the named gems (all if none) */
	size_t npush_only;
};

struct install_stats {
	unsigned gems, fetched, from_cache, built, compiled, installed, already, defaults, paths;
	unsigned failed, unsupported;
	uint64_t bytes_fetched, files_materialized, bytes_materialized, files_unpacked;
	uint64_t bytes_unpacked;
	uint64_t helper_maxrss_kb; /* the Ruby helper's peak RSS, read before it is stopped */
	unsigned specs_native, specs_helper; /* gemspecs written in C / by the helper (assemble.c) */
	unsigned remote_hits, remote_uploads, remote_refused;
	uint64_t remote_bytes_down, remote_bytes_up;
};

struct install {
	struct arena arena;
	struct install_opts opts;
	struct ruby_abi abi;
	struct lockfile lock;
	struct sbuf lock_text;
	struct bconfig *config;
	/* What the Gemfile asks for on this machine (gemfile.c): the closure's roots. */
	const char **roots;
	size_t nroots;
	bool have_roots;
	bool gemfile_stale; /* gemfile_check found the lockfile out of date */
	const char *gemfile_diff; /* then: Bundler's "You have added to the Gemfile:..." */
	bool lock_missing;  /* no lockfile (opts.may_resolve) */
	struct sbuf gemfile_digest; /* hex key of the Gemfile's evaluation */
	char gemfile_sha256[65];    /* of the Gemfile's bytes, for `scint exec` ("" unread) */
	struct gemfile gemfile;	    /* the Gemfile's evaluation (gemfile.c), strings in arena */

	struct gem **gems; /* every gem of the bundle for this platform, sorted by name */
	size_t ngems, gems_cap;
	struct hmap by_name;
	struct gem_source *sources;
	size_t nsources;

	/* paths and directory fds */
	const char *install_root; /* <bundle_path>/ruby/<ruby_version_dir> */
	const char *helper_path;
	const char *ruby_exe; /* the interpreter found on PATH (or SCINT_RUBY), resolved */
	const char *cached_dir; /* absolute cached/<abi> (symlink mode targets) */
	int cache_fd, inbound_fd, assembling_fd, cached_fd, locks_fd, index_fd;
	int root_fd, gems_fd, specs_fd, ext_fd, bin_fd;
	/*
	 * The bundle path's locks (install.c: install_lock_root), held from
	 * before its gems are looked at until install_release(): the install
	 * root itself, and Bundler's bundler.lock there when a Bundler made
	 * one. -1 when not held (read-only runs; where none can be taken).
	 */
	int root_lock_fd, bundler_lock_fd;
	bool fds_set; /* install_setup() set the fds above (to -1 until opened) */
	/* Called once when that lock is busy and the run waits for it (cli prints). */
	void (*root_lock_wait)(const struct install *in);
	int gits_fd;         /* <cache>/inbound/gits, opened on demand; -1 */
	int git_gems_fd;     /* bundler/gems, on demand; -1 */
	int git_ext_fd;      /* bundler/gems/<ext_dir>, on demand; -1 */
	/*
	 * The directory held nothing when this run opened it (created by the
	 * run, or found empty): no gem has leftovers of an interrupted run in
	 * it, and materialize.c skips clearing them. Each gem only ever
	 * creates its own names there, so this stays true for the gems to come.
	 */
	bool gems_fresh, specs_fresh, ext_fresh, git_gems_fresh, git_ext_fresh;
	struct git_repo **gitrepos;
	size_t ngitrepos;
	const char *ext_dir; /* extensions/<platform>/<ext_api> (relative to root) */

	enum link_mode link_mode; /* the decided mode (AUTO until probed) */

	struct reactor *reactor;
	struct ioq *ioq;
	struct http *http;
	struct child_mgr *children;
	struct jobserver *jobserver;
	struct sched *sched;
	struct rpc helper;
	bool helper_started;
	struct compile_pool *builders; /* compile.c: the build servers, once a build ran */

	struct job finalize_job;
	struct finalize_state *fin;
	struct promote_sync *psync; /* promote.c: the batched syncfs before manifests */
	struct remote *remote;      /* remote.c: the remote artifact cache, or NULL */
	struct sbuf remote_warnings; /* remote.c: lines for the CLI to print after the run */
	struct install_stats stats;
	void (*on_event)(struct install *in, struct gem *g, const char *what);
	void *ui;
};

/*
 * gemfile.c: checks the lockfile against the Gemfile, sets in->roots. A
 * Gemfile that does not match the lockfile gives -SC_ELOCKFILE and sets
 * in->gemfile_stale.
 */
int gemfile_check(struct install *in, struct sbuf *err);
/* The Gemfile, lockfile and what the evaluation read are still what this install used. */
bool gemfile_inputs_current(struct install *in);

/* Evaluates the Gemfile into in->gemfile (cached, see gemfile.c). */
int gemfile_load(struct install *in, struct sbuf *err);

/*
 * Does the lockfile section ls lock from the Gemfile source gs (git remote
 * and branch/tag/ref/glob/submodules, path, or a rubygems source's remotes)?
 */
bool gemfile_source_matches(const struct gemfile_source *gs, const struct lock_source *ls);

/*
 * lock.c: resolves the Gemfile against the cached compact index and renders
 * the lockfile (see lock.c for the rules). req may be NULL (install: only
 * what the Gemfile changed is unlocked).
 */
/*
 * What `scint outdated` needs besides the new resolution, filled by
 * lock_resolve when lock_request.outdated is set: the index lines of every
 * gem it picked from a rubygems source, and for each global remote (in the
 * order Bundler 2.3 fetches them) the number of rounds of Bundler's
 * breadth-first lookup from the Gemfile's names (with every locked name too
 * when GEMS are named and there is one remote): its "Fetching gem metadata"
 * line prints one dot per round. With several remotes a second line per
 * remote follows, for Bundler's double check of the dependencies found.
 */
struct lock_outdated {
	struct outdated_avail *avail; /* sorted by name */
	size_t navail;
	const char **remotes; /* redacted */
	unsigned *rounds;
	size_t nremotes;
};

struct lock_request {
	struct lock_outdated *outdated; /* filled when set (see above) */
	bool keep_git;			/* update_all keeps git gems at their revision */
	bool update_all;	 /* unlock every gem */
	const char **update;	 /* gems to unlock */
	size_t nupdate;
	const char **groups;	 /* unlock the gems of these groups */
	size_t ngroups;
	char level;		 /* 'M' (default), 'm', 'p' */
	bool strict, conservative, pre;
	int index_mode; /* 0: sync with the server, 1: --local, 2: --prefer-local */
	long cooldown_days; /* --cooldown N; -1: BUNDLE_COOLDOWN or none */
	const char **add_platforms, **remove_platforms;
	size_t nadd_platforms, nremove_platforms;
};
int lock_resolve(struct install *in, const struct lock_request *req, struct sbuf *ret_text,
		 struct sbuf *err);
/* Replaces the lockfile with text atomically when it differs; *ret_changed tells. */
int lock_write(struct install *in, const struct sbuf *text, bool *ret_changed, struct sbuf *err);
/*
 * The gem server of this remote (plan.c), added to in->sources once; NULL
 * past LOCK_GEM_SOURCES_MAX servers (a Gemfile may name more).
 */
struct gem_source *plan_source_remote(struct install *in, const char *remote);
/*
 * The absolute directory of a path source (remote as the lockfile writes it,
 * relative to the app), in *ret_abs; 0, or -SC_ENOTFOUND with Bundler's
 * "The path `...` does not exist." (or "is not a directory.") in err.
 */
int plan_path_dir(struct install *in, const char *remote, const char **ret_abs, struct sbuf *err);

/* plan.c */
int plan_build(struct install *in, struct sbuf *err);
int plan_submit(struct install *in);
/* `scint cache pull|list --remote [GEMS]`: is g one of GEMS (every gem when none)? */
bool plan_named(const struct install *in, const struct gem *g);

/* Per-phase constructors: allocate the gem's job, wire its dependencies. */
struct job *index_job_new(struct install *in, struct gem *g);
struct job *fetch_job_new(struct install *in, struct gem *g, struct job *index);
struct job *assemble_job_new(struct install *in, struct gem *g, struct job *after);
struct job *compile_job_new(struct install *in, struct gem *g, struct job *after);
struct job *promote_job_new(struct install *in, struct gem *g, struct job *after);
struct job *materialize_job_new(struct install *in, struct gem *g, struct job *after);
void finalize_job_init(struct install *in);

/*
 * assemble.c: SCINT_GEM_MAX_BYTES, SCINT_GEM_MAX_FILE_BYTES and
 * SCINT_GEM_MAX_ENTRIES (git checkouts are bound by them too); -SC_ECONFIG
 * with the setting's name in *ret_bad when one is malformed.
 */
int assemble_limits(uint64_t *ret_gem_bytes, uint64_t *ret_file_bytes, uint64_t *ret_entries,
		    const char **ret_bad);

/* git.c */
struct job *git_job_new(struct install *in, struct gem *g);
/*
 * A git source of the Gemfile for lock.c (git.c, "probes"): resolved to a
 * revision as Bundler 2.3 does (`git ls-remote`: a full revision as given,
 * else the ref named exactly, refs/<ref>, refs/tags/<ref>, refs/heads/<ref>,
 * or the remote's HEAD without one; a hex abbreviation no ref names is
 * looked up after fetching the branches and tags), fetched into the
 * cache's bare repository (inbound/gits/<slug>, as an install does),
 * checked out (submodules too when asked) into a scratch directory under
 * assembling/<abi>/ (flocked like an entry, removed after) and its
 * gemspecs loaded by the helper (gitspecs). Given a revision, that one is
 * checked out: no network when the bare repository has it.
 */
struct git_probe {
	const char *remote; /* as the Gemfile gives it */
	const char *ref;    /* its ref, else branch, else tag; NULL: the remote's HEAD */
	const char *glob;   /* NULL: Bundler's default */
	bool submodules;
	const char *name;	/* a gem of the source, for messages */
	const char *revision;	/* in: the revision to check out, or NULL to resolve; out: it */
	bool offline;		/* in: no network (--local): the revision must be cached */
	struct git_spec *specs; /* out: the gems of the checkout (names and deps checked) */
	size_t nspecs;
	bool fetched; /* out: git talked to the remote */
};
/*
 * Runs the probes concurrently on the reactor (their own scheduler; the
 * helper is started if needed). 0, or the first failure with its message
 * in err (credentials scrubbed).
 */
int git_probe_run(struct install *in, struct git_probe *probes, size_t n, struct sbuf *err);
/* install.c: <cache>/{inbound/gems,assembling,cached,locks,index}, opened once. */
int install_open_cache(struct install *in, struct sbuf *err);
/* Parses a cached "<entry>.gemspec" of a git entry into repo->specs; 0 or -SC_ECACHE. */
int git_specs_parse(struct install *in, struct git_repo *repo, struct strv text);
/* Checks a GIT source's options; sets up repo. 0 or -SC_EUNSAFE/-SC_ELOCKFILE with err. */
int git_repo_init(struct install *in, const struct lock_source *src, struct git_repo *repo,
		  struct sbuf *err);
/*
 * Where Bundler 2.3 puts the extensions of a git gem whose gemspec is in
 * `dir` of the checkout (Bundler's Specification#extension_dir: the spec's
 * base_dir, two levels above its gemspec, then "<repo>-<rev12>[-<basename of
 * dir>]"): relative to the install root, and relative to the cache entry
 * ("ext" for a gemspec at the root, else inside gem/).
 */
const char *git_ext_path(struct install *in, const struct git_repo *repo, const char *dir);
const char *git_ext_entry_rel(struct install *in, const struct git_repo *repo, const char *dir);
/* The git gem's spec in its repository's list, or NULL. */
const struct git_spec *git_spec_of(const struct gem *g);
/* A git gem's directory (Bundler's full_gem_path):
 * <install root>/bundler/gems/<base>-<rev12>[/<dir of its gemspec>]. */
const char *git_gem_dir(struct install *in, const struct gem *g);
/* bundler/gems and bundler/gems/extensions/<platform>/<api>, created on first use. */
int install_git_gems_fd(struct install *in);
int install_git_ext_fd(struct install *in);
/* compile.c: the entry's gem/ and ext/ trees (ext/ if with_ext) into m's rows. */
int compile_scan_tree(struct install *in, int dirfd, const char *entry, struct manifest *m,
		      bool with_ext, const char **ret_err_path);

/* extensions/<platform>/<api>, created on first use; -errno on failure. */
int install_ext_fd(struct install *in);
/* bin/, likewise. */
int install_bin_fd(struct install *in);

/* The Ruby helper, started on first use. */
struct rpc *install_helper(struct install *in);
/*
 * Calls the helper and waits for the answer (before the job graph runs: the
 * setup's one Ruby question at a time). The answer goes to ret; on failure
 * returns a negative error with the helper's message in err.
 */
int install_ruby_call(struct install *in, const char *method, const void *payload, size_t len,
		      struct sbuf *ret, struct sbuf *err);

/* Cache entry locking (cache.c): -EWOULDBLOCK when another process holds it. */
int cache_lock_entry(struct install *in, struct gem *g);
void cache_unlock_entry(struct install *in, struct gem *g);
/*
 * Loads cached/<abi>/<entry>.manifest and runs the cheap check of cache.h:
 * 0 (g->manifest set), -ENOENT, or -SC_ECACHE for a damaged entry (the
 * reason in g->damage).
 */
int cache_load_manifest(struct install *in, struct gem *g);
/* Moves the gem's cached entry to quarantine/ (entry lock held); sets g->quarantined. */
int cache_quarantine_gem(struct install *in, struct gem *g);

/* UI hook: "fetch", "install", "use", "fail", ... (may be NULL) */
static inline void install_event(struct install *in, struct gem *g, const char *what)
{
	if (in->on_event)
		in->on_event(in, g, what);
}

/* promote.c: makes the gem's promotion wait for j too (compile inserts itself). */
void promote_depends_on(struct gem *g, struct job *j);

/*
 * promote.c: native gems are built where their entry will live. Under the
 * entry lock, moves the assembled tree to cached/<abi>/<entry>/ (a damaged
 * entry there is quarantined, an incomplete one removed) after writing the
 * marker assembling/<abi>/<entry>.building; no manifest yet, so the tree is
 * no complete entry. Once per entry (git members share it). Returns 0 or
 * -errno with `who` failed.
 */
#define PROMOTE_MARKER_SUFFIX ".building"
int promote_move_tree(struct install *in, struct gem *g, struct job *who);
/* The dirfd (assembling or cached) and absolute path the tree g->entry is under now. */
int promote_tree_fd(const struct install *in, const struct gem *g);
const char *promote_tree_dir(struct install *in, const struct gem *g);
/* Removes an unpromoted tree, wherever it is, and its marker. */
void promote_discard_tree(struct install *in, struct gem *g);

/* finalize.c: the fingerprint of everything a no-op run must match. */
void install_fingerprint(const struct install *in, char ret_hex[65]);
/* True when <app config dir>/scint.state holds this fingerprint. */
bool install_state_current(struct install *in);
/* The directory of scint.state and the runtime lock (Bundler's app config dir). */
const char *install_app_config_dir(struct install *in);
/*
 * A full no-op run: writes scint.state again when its snapshot
 * (snapshot.c) no longer matches. Best effort; nothing is reported.
 */
void install_state_refresh(struct install *in);

/*
 * snapshot.c: the no-op install answered from a snapshot of what the last
 * install wrote. install_snapshot_render appends the snapshot section of
 * scint.state ("snapshot -" when none can be taken); install_state_base_len
 * is the length of a state text without it. install_snapshot_current, with
 * only the options and the config loaded (no lockfile, no engine), says
 * whether the snapshot in state_path still holds, and the gem counts it
 * recorded.
 */
void install_snapshot_render(struct install *in, struct sbuf *out);
size_t install_state_base_len(const char *text, size_t len);
bool install_snapshot_current(struct install *in, const char *state_path, unsigned *ret_gems,
			      unsigned *ret_defaults);

/* compile.c: stops the build servers (they exit on EOF; killed if they linger). */
void compile_stop_servers(struct install *in);

/* compile.c: the last line a running build printed (for the live display); "" if none. */
void compile_output_tail(const struct job *j, char *buf, size_t size);
