/*
 * install.c: setting up and running one `scint install` session.
 *
 * install_setup() reads the lockfile and the Bundler config, loads the Ruby
 * facts, opens the cache and install directories and creates the engine
 * (reactor, op queue, HTTP, children, scheduler). With install_opts.readonly
 * (the read-only commands: check, list, info, clean) install_prepare opens the
 * install root only if it exists and creates nothing; with remote_pull or
 * remote_list (`scint cache pull`, `scint cache list --remote`) it opens the
 * cache only and never the install root. install_run() plans, stops early
 * when nothing changed (no Ruby; the only write is scint.state when its
 * snapshot, phases/snapshot.c, is stale), else submits the job graph and runs
 * the loop. A no-op whose snapshot holds never gets here (cli/cmd_install.c).
 * Directory creation here is synchronous and happens once per run;
 * everything per gem goes through the phases.
 */
#include "phases/session/install.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/clock.h"
#include "base/err.h"
#include "bundle/config.h"
#include "engine/child.h"
#include "engine/http.h"
#include "engine/ioq.h"
#include "engine/jobserver.h"
#include "engine/reactor.h"
#include "fsops/fsops.h"
#include "phases/session/abi.h"
#include "phases/remote.h"
#include "phases/session/retry.h"

extern char **environ;

#define LOCKFILE_MAX (64u << 20)

static const struct trace_ctx install_ctx = { .phase = "setup" };

/*
 * Opens (creating it when missing) parent/rel. With ret_fresh: whether it
 * held nothing (created now, or found empty; an unreadable one is not fresh).
 */
static int install_dir(struct install *in, int parent, const char *parent_path, const char *rel,
		       int *ret_fd, bool *ret_fresh, struct sbuf *err)
{
	int fd = fs_open_dirat(parent, rel);
	bool created = false;

	if (fd == -ENOENT) {
		int r = fs_mkdirat_p(parent, rel, 0755);
		if (r == 0)
			fd = fs_open_dirat(parent, rel);
		else
			fd = r;
		created = true;
	}
	if (fd < 0) {
		sbuf_addf(err, "cannot create %s/%s: %s", parent_path, rel, sc_strerror(fd));
		return fd;
	}
	*ret_fd = fd;
	if (ret_fresh)
		*ret_fresh = created || fs_dir_is_empty(fd) == 1;
	if (trace_enabled)
		trace_name_fd(fd, arena_printf(&in->arena, "%s/%s", parent_path, rel));
	return 0;
}

int install_open_cache(struct install *in, struct sbuf *err)
{
	const char *root = in->opts.cache_root;
	const char *abi = in->abi.abi;
	int r;

	if (in->cache_fd >= 0 && in->cached_dir)
		return 0; /* opened already (a lock that fetched a git source) */
	r = fs_mkdir_p(root, 0755);
	if (r < 0) {
		sbuf_addf(err, "cannot create the cache %s: %s", root, sc_strerror(r));
		return r;
	}
	in->cache_fd = fs_open_dir(root);
	if (in->cache_fd < 0) {
		sbuf_addf(err, "cannot open the cache %s: %s", root, sc_strerror(in->cache_fd));
		return in->cache_fd;
	}
	if ((r = install_dir(in, in->cache_fd, root, "inbound/gems", &in->inbound_fd, NULL, err)) < 0 ||
	    (r = install_dir(in, in->cache_fd, root, arena_printf(&in->arena, "assembling/%s", abi),
			     &in->assembling_fd, NULL, err)) < 0 ||
	    (r = install_dir(in, in->cache_fd, root, arena_printf(&in->arena, "cached/%s", abi),
			     &in->cached_fd, NULL, err)) < 0 ||
	    (r = install_dir(in, in->cache_fd, root, arena_printf(&in->arena, "locks/%s", abi),
			     &in->locks_fd, NULL, err)) < 0 ||
	    (r = install_dir(in, in->cache_fd, root, "index", &in->index_fd, NULL, err)) < 0)
		return r;
	in->cached_dir = arena_printf(&in->arena, "%s/cached/%s", root, abi);
	return 0;
}

/* How often a run waiting for the bundle path's lock tries it again. */
#define INSTALL_ROOT_LOCK_POLL_MS 50

/*
 * An exclusive flock on root/name opened with oflags, waited for with the
 * reactor running so that an interrupt ends the wait. Returns the fd, -1
 * when there is nothing to lock or no lock can be had here (no access, no
 * flock on the filesystem: the run goes on without, as Bundler's does),
 * or -errno with err set.
 */
static int install_wait_lock(struct install *in, const char *name, int oflags, bool *told,
			     struct sbuf *err)
{
	for (;;) {
		int fd = fs_lock_open(in->root_fd, name, oflags);
		if (fd >= 0)
			return fd;
		if (fd == -ENOENT || fd == -EACCES || fd == -EPERM || fd == -EROFS ||
		    fd == -ENOLCK || fd == -EOPNOTSUPP || fd == -EINVAL || fd == -ENOSYS ||
		    fd == -EBADF)
			return -1;
		if (fd != -EWOULDBLOCK) {
			sbuf_addf(err, "cannot lock %s/%s: %s", in->install_root, name,
				  sc_strerror(fd));
			return fd;
		}
		if (!*told && in->root_lock_wait)
			in->root_lock_wait(in);
		*told = true;
		int k = reactor_poll(in->reactor, INSTALL_ROOT_LOCK_POLL_MS);
		if (k < 0 && k != -EINTR) {
			sbuf_addf(err, "waiting for another install into %s: %s", in->install_root,
				  sc_strerror(k));
			return k;
		}
		if (k >= 0)
			(void)reactor_run_timers(in->reactor);
		if (sched_aborting(in->sched)) {
			sbuf_addf(err, "interrupted while waiting for another install into %s",
				  in->install_root);
			return -SC_ECANCELED;
		}
	}
}

/*
 * One install at a time per bundle path. scint's runs lock the directory
 * itself (a lock file would change it after the snapshot of the install,
 * and a no-op install writes nothing); a Bundler at work there holds
 * bundler.lock (Bundler::ProcessLock, removed when it is done), which is
 * waited for, and held, when it exists.
 */
static int install_lock_root(struct install *in, struct sbuf *err)
{
	bool told = false;
	int fd;

	fd = install_wait_lock(in, ".", O_RDONLY | O_DIRECTORY, &told, err);
	if (fd < -1)
		return fd;
	in->root_lock_fd = fd;
	fd = install_wait_lock(in, "bundler.lock", O_RDONLY, &told, err);
	if (fd < -1)
		return fd;
	in->bundler_lock_fd = fd;
	return 0;
}

static int install_open_root(struct install *in, struct sbuf *err)
{
	int r;

	in->install_root = arena_printf(&in->arena, "%s/ruby/%s", in->opts.bundle_path,
					in->abi.ruby_version_dir);
	in->ext_dir = arena_printf(&in->arena, "extensions/%s/%s", in->abi.platform,
				   in->abi.ext_api);
	r = fs_mkdir_p(in->install_root, 0755);
	if (r < 0) {
		sbuf_addf(err, "cannot create %s: %s", in->install_root, sc_strerror(r));
		return r;
	}
	in->root_fd = fs_open_dir(in->install_root);
	if (in->root_fd < 0) {
		sbuf_addf(err, "cannot open %s: %s", in->install_root, sc_strerror(in->root_fd));
		return in->root_fd;
	}
	if ((r = install_lock_root(in, err)) < 0)
		return r;
	if ((r = install_dir(in, in->root_fd, in->install_root, "gems", &in->gems_fd,
			       &in->gems_fresh, err)) < 0 ||
	    (r = install_dir(in, in->root_fd, in->install_root, "specifications", &in->specs_fd,
			     &in->specs_fresh, err)) < 0)
		return r;
	/* The rest of the directories Bundler creates, empty until something needs them. */
	static const char *const empty[] = { "build_info", "cache", "doc", "extensions", "plugins" };
	for (size_t i = 0; i < SC_ARRAY_SIZE(empty); i++) {
		if (fs_is_dir_at(in->root_fd, empty[i]))
			continue;
		r = fs_mkdirat_p(in->root_fd, empty[i], 0755);
		if (r < 0) {
			sbuf_addf(err, "cannot create %s/%s: %s", in->install_root, empty[i],
				  sc_strerror(r));
			return r;
		}
	}
	return 0;
}

/* Directories only some bundles need (Bundler creates them on demand too). */
static int install_lazy_dir(struct install *in, const char *rel, int *fd, bool *fresh)
{
	struct sbuf err = SBUF_INIT;

	if (*fd < 0 && install_dir(in, in->root_fd, in->install_root, rel, fd, fresh, &err) < 0)
		*fd = -1;
	sbuf_release(&err);
	return *fd;
}

int install_ext_fd(struct install *in)
{
	return install_lazy_dir(in, in->ext_dir, &in->ext_fd, &in->ext_fresh);
}

int install_bin_fd(struct install *in)
{
	return install_lazy_dir(in, "bin", &in->bin_fd, NULL);
}

int install_git_gems_fd(struct install *in)
{
	return install_lazy_dir(in, "bundler/gems", &in->git_gems_fd, &in->git_gems_fresh);
}

int install_git_ext_fd(struct install *in)
{
	return install_lazy_dir(in, arena_printf(&in->arena, "bundler/gems/%s", in->ext_dir),
				&in->git_ext_fd, &in->git_ext_fresh);
}

static int install_read_lockfile(struct install *in, struct sbuf *err)
{
	struct sbuf perr = SBUF_INIT;
	int r = fs_read_file(in->opts.lockfile, &in->lock_text, LOCKFILE_MAX);

	if (r == -ENOENT && in->opts.may_resolve) {
		in->lock_missing = true;
		sbuf_reset(&in->lock_text);
		return 0;
	}
	if (r == -ENOENT) {
		sbuf_addf(err,
			  "%s not found: scint installs from a lockfile (run `bundle lock` to "
			  "create it)",
			  in->opts.lockfile);
		return -SC_ENOTFOUND;
	}
	if (r < 0) {
		sbuf_addf(err, "cannot read %s: %s", in->opts.lockfile, sc_strerror(r));
		return r;
	}
	r = lockfile_parse(&in->arena, sbuf_strv(&in->lock_text), &in->lock, &perr);
	if (r < 0)
		sbuf_addf(err, "%s: %s", in->opts.lockfile, perr.len ? perr.buf : sc_strerror(r));
	sbuf_release(&perr);
	return r;
}

int install_setup(struct install *in, struct sbuf *err)
{
	const char *home = getenv("HOME");
	int r;

	in->cache_fd = in->inbound_fd = in->assembling_fd = in->cached_fd = -1;
	in->locks_fd = in->index_fd = -1;
	in->root_fd = in->gems_fd = in->specs_fd = in->ext_fd = in->bin_fd = -1;
	in->root_lock_fd = in->bundler_lock_fd = -1;
	in->fds_set = true;
	in->gits_fd = in->git_gems_fd = in->git_ext_fd = -1;
	sbuf_init(&in->lock_text, 0);
	sbuf_init(&in->gemfile_digest, 0);
	r = install_read_lockfile(in, err);
	if (r < 0)
		return r;
	if (!in->config) {
		in->config = arena_alloc(&in->arena, sizeof(*in->config));
		r = bconfig_load(in->config, &in->arena,
				 arena_printf(&in->arena, "%s/.bundle", in->opts.app_dir), home,
				 environ, err);
		if (r < 0)
			return r;
	}
	/* A hostile GIT source is refused before anything runs (the Gemfile's evaluation included). */
	for (size_t i = 0; i < in->lock.nsources; i++) {
		struct git_repo scratch = { 0 };
		if (in->lock.sources[i].kind == LOCK_SRC_GIT &&
		    (r = git_repo_init(in, &in->lock.sources[i], &scratch, err)) < 0)
			return r;
	}
	in->reactor = reactor_new();
	if (!in->reactor) {
		sbuf_addf(err, "cannot create the event loop: %s", strerror(errno));
		return -errno;
	}
	in->ioq = ioq_new(in->reactor, (enum ioq_backend)in->opts.io_backend, 1024);
	if (!in->ioq) {
		sbuf_addf(err, "cannot set up io_uring: %s", strerror(errno));
		return -errno;
	}
	struct http_options ho = { .user_agent = "scint/" SCINT_VERSION,
				   .verbose = getenv("SCINT_HTTP_VERBOSE") != NULL };
	int k = net_policy_load(in->config, &ho, err);
	if (k < 0)
		return k;
	in->http = http_new(in->reactor, &ho);
	if (!in->http) {
		sbuf_addstr(err, "cannot initialise libcurl");
		return -ENOMEM;
	}
	in->children = child_mgr_new(in->reactor);
	in->jobserver = jobserver_new(in->reactor, in->opts.jobs);
	if (!in->jobserver) {
		sbuf_addf(err, "cannot create the make jobserver: %s", strerror(errno));
		return -errno;
	}
	struct sched_limits lim = { 0 };
	unsigned jobs = in->opts.jobs;
	lim.max_running[JOB_INDEX] = 16;
	lim.max_running[JOB_FETCH] = 16;
	lim.max_running[JOB_ASSEMBLE] = 8;
	lim.max_running[JOB_COMPILE] = jobs;
	lim.max_running[JOB_PROMOTE] = 16;
	lim.max_running[JOB_MATERIALIZE] = 32;
	lim.max_running[JOB_FINALIZE] = 1;
	lim.max_running[JOB_GIT] = 8;
	lim.max_running[JOB_REMOTE] = 8; /* transfers to and from the remote artifact cache */
	in->sched = sched_new(&in->arena, in->reactor, in->ioq, in->http, in->children, &lim,
			      in->opts.fail_fast);
	if (in->opts.link_mode != LINK_AUTO)
		in->link_mode = in->opts.link_mode;
	return remote_setup(in, err);
}

static bool install_setting_true(struct install *in, const char *key)
{
	const char *v = bconfig_get(in->config, key);

	return v && (!strcmp(v, "true") || !strcmp(v, "1"));
}

/*
 * The Gemfile changed (or there is no lockfile): resolve what changed, write
 * the lockfile, and check again. Frozen and deployment installs refuse, with
 * Bundler's message; err holds what changed.
 */
static int install_relock(struct install *in, struct sbuf *err)
{
	struct sbuf text = SBUF_INIT, perr = SBUF_INIT;
	bool changed;
	int r;

	bool frozen = install_setting_true(in, "BUNDLE_FROZEN");
	bool deployment = install_setting_true(in, "BUNDLE_DEPLOYMENT");
	const char *base = strrchr(in->opts.lockfile, '/');
	base = base ? base + 1 : in->opts.lockfile;
	if ((in->opts.frozen || frozen || deployment) && in->lock_missing) {
		sbuf_reset(err);
		sbuf_addf(err,
			  "The --%s flag requires a %s. Please make sure you have checked your %s "
			  "into version control before deploying.",
			  deployment && !in->opts.frozen && !frozen ? "deployment" : "frozen", base, base);
		return -SC_ELOCKFILE;
	}
	if (in->opts.frozen || frozen || deployment) {
		/* Bundler 2.3's ProductionError */
		sbuf_reset(err);
		sbuf_addf(err,
			  "You are trying to install in deployment mode after changing\n"
			  "your Gemfile. Run `bundle install` elsewhere and add the\n"
			  "updated %s to version control.",
			  base);
		if (!in->opts.frozen)
			sbuf_addf(err,
				  "\n\nIf this is a development machine, remove the %s freeze \n"
				  "by running `bundle config unset %s`.",
				  in->opts.gemfile, frozen ? "frozen" : "deployment");
		sbuf_addstr(err, in->gemfile_diff ? in->gemfile_diff : "");
		return -SC_ELOCKFILE;
	}
	sbuf_reset(err);
	/* `scint exec` re-resolving an edited Gemfile: from what is cached, no request. */
	struct lock_request local = { .index_mode = 1, .cooldown_days = -1, .level = 'M' };
	r = lock_resolve(in, in->opts.local_only ? &local : NULL, &text, err);
	if (r == 0)
		r = lock_write(in, &text, &changed, err);
	if (r == 0) {
		sbuf_reset(&in->lock_text);
		sbuf_addv(&in->lock_text, sbuf_strv(&text));
		in->lock_missing = false;
		r = lockfile_parse(&in->arena, sbuf_strv(&in->lock_text), &in->lock, &perr);
		if (r < 0)
			sbuf_addf(err, "the new lockfile: %s", perr.buf ? perr.buf : "");
	}
	if (r == 0)
		r = gemfile_check(in, err);
	sbuf_release(&text);
	sbuf_release(&perr);
	return r;
}

int install_prepare(struct install *in, struct sbuf *err)
{
	int r;

	/* The target Ruby and the Gemfile: cached, else one Ruby start for both. */
	r = abi_load(in, err);
	if (r < 0)
		return r;
	r = gemfile_check(in, err);
	if (r < 0 && in->gemfile_stale && in->opts.may_resolve)
		r = install_relock(in, err);
	if (r < 0)
		return r;
	if (in->opts.readonly) {
		/* Nothing is created: a missing root leaves every gem uninstalled. */
		in->install_root = arena_printf(&in->arena, "%s/ruby/%s", in->opts.bundle_path,
						in->abi.ruby_version_dir);
		in->ext_dir = arena_printf(&in->arena, "extensions/%s/%s", in->abi.platform,
					   in->abi.ext_api);
		in->root_fd = fs_open_dir(in->install_root);
		if (in->root_fd >= 0) {
			in->gems_fd = fs_open_dirat(in->root_fd, "gems");
			in->specs_fd = fs_open_dirat(in->root_fd, "specifications");
		}
		if (in->gems_fd < 0 || in->specs_fd < 0) {
			if (in->gems_fd >= 0)
				(void)close(in->gems_fd);
			if (in->specs_fd >= 0)
				(void)close(in->specs_fd);
			in->gems_fd = in->specs_fd = -1;
		}
		/*
		 * The cache's entries, only read: a git checkout's gemspecs
		 * (where each gem's directory is, its executables) are kept there.
		 */
		bool git = false;
		for (size_t i = 0; i < in->lock.nsources && !git; i++)
			git = in->lock.sources[i].kind == LOCK_SRC_GIT;
		if (git) {
			in->cached_dir = arena_printf(&in->arena, "%s/cached/%s", in->opts.cache_root,
						      in->abi.abi);
			in->cached_fd = fs_open_dir(in->cached_dir);
			if (in->cached_fd < 0)
				in->cached_fd = -1;
		}
		return 0;
	}
	if (in->opts.remote_pull || in->opts.remote_list) {
		/* cache pull / list --remote: the cache only, never the bundle path. */
		in->install_root = arena_printf(&in->arena, "%s/ruby/%s", in->opts.bundle_path,
						in->abi.ruby_version_dir);
		in->ext_dir = arena_printf(&in->arena, "extensions/%s/%s", in->abi.platform,
					   in->abi.ext_api);
		return install_open_cache(in, err);
	}
	if ((r = install_open_cache(in, err)) < 0 || (r = install_open_root(in, err)) < 0)
		return r;
	return 0;
}

/* A helper call (a Gemfile, a gem's metadata) gets this long, and the helper this much memory. */
#define INSTALL_HELPER_TIMEOUT_S 300
#define INSTALL_HELPER_MEMORY_MB 4096

struct rpc *install_helper(struct install *in)
{
	static const struct trace_ctx helper_ctx = { .phase = "ruby" };

	if (!in->helper_started) {
		const char **argv = arena_alloc(&in->arena, 6 * sizeof(*argv));
		const char *t = getenv("SCINT_HELPER_TIMEOUT"), *mem = getenv("SCINT_HELPER_MEMORY_MB");
		double secs = t && *t ? strtod(t, NULL) : INSTALL_HELPER_TIMEOUT_S;
		struct rpc_options ro = {
			.call_timeout_ms = secs > 0 ? (uint64_t)(secs * 1000) : 0,
			.mem_limit = (uint64_t)(mem && *mem ? strtoull(mem, NULL, 10)
							: INSTALL_HELPER_MEMORY_MB) << 20,
			.timeout_setting = "SCINT_HELPER_TIMEOUT",
		};
		argv[0] = in->ruby_exe;
		argv[1] = in->helper_path;
		argv[2] = "--serve"; /* calls on fd 3, results on fd 4 (rpc.h) */
		argv[3] = "3";
		argv[4] = "4";
		in->helper_started = true;
		(void)rpc_start(&in->helper, in->children, argv, &ro, &helper_ctx);
	}
	return &in->helper;
}

static void install_stop_helper(struct install *in);

static void install_ruby_done(struct rpc_call *call)
{
	*(bool *)call->data = true;
}

int install_ruby_call(struct install *in, const char *method, const void *payload, size_t len,
		      struct sbuf *ret, struct sbuf *err)
{
	bool done = false;
	struct rpc_call call = {
		.method = method,
		.payload = payload,
		.len = len,
		.done = install_ruby_done,
		.data = &done,
	};

	rpc_call(install_helper(in), &call);
	while (!done) {
		/* Timers too: the call's time limit and an interrupt's kill are timers. */
		int k = reactor_poll(in->reactor, reactor_timeout_ms(in->reactor));
		if (k >= 0)
			(void)reactor_run_timers(in->reactor);
		if (k < 0) {
			sbuf_addf(err, "waiting for the Ruby helper: %s", sc_strerror(k));
			sbuf_release(&call.result);
			return k;
		}
	}
	if (call.res < 0) {
		sbuf_rtrim(&call.result);
		sbuf_addstr(err, sbuf_cstr(&call.result));
	} else {
		sbuf_add(ret, call.result.buf ? call.result.buf : "", call.result.len);
	}
	sbuf_release(&call.result);
	return call.res;
}

/* A "<name>.tmp-<pid>" file whose process is gone (a killed run): removed. */
static void install_sweep_tmp_entry(int dirfd, const char *name, void *data)
{
	const char *t = strstr(name, ".tmp-");

	(void)data;
	if (!t || name[0] != '.')
		return;
	long pid = strtol(t + 5, NULL, 10);
	if (pid > 0 && kill((pid_t)pid, 0) < 0 && errno == ESRCH)
		(void)unlinkat(dirfd, name, 0);
}

/* index/<slug>/ (versions) and its info/ hold the temp files of index writes. */
static void install_sweep_index_entry(int dirfd, const char *name, void *data)
{
	char path[600];

	(void)data;
	if (name[0] == '.')
		return;
	(void)fs_list_dirat(dirfd, name, install_sweep_tmp_entry, NULL);
	snprintf(path, sizeof(path), "%s/info", name);
	(void)fs_list_dirat(dirfd, path, install_sweep_tmp_entry, NULL);
}

/*
 * An assembling/ tree (or side file) no live process is building: removed;
 * for a .building marker also the tree in cached/ it stands for, unless its
 * manifest made it an entry (promote.c).
 */
static void install_sweep_assembling_entry(int dirfd, const char *n, void *data)
{
	struct install *in = data;
	size_t len = strlen(n);
	const size_t mlen = sizeof(PROMOTE_MARKER_SUFFIX) - 1;
	char lock[512], name[512];

	/* Entry trees and their .gemspec/.manifest/.building side files share a lock. */
	const char *dot = len > 8 && !strcmp(n + len - 8, ".gemspec")	 ? n + len - 8
			  : len > 9 && !strcmp(n + len - 9, ".manifest") ? n + len - 9
			  : len > mlen && !strcmp(n + len - mlen, PROMOTE_MARKER_SUFFIX)
				  ? n + len - mlen
				  : NULL;
	int base = (int)(dot ? (size_t)(dot - n) : len);
	snprintf(lock, sizeof(lock), "%.*s.lock", base, n);
	int lfd = fs_lock_try(in->locks_fd, lock);
	if (lfd < 0)
		return;
	if (dot && !strcmp(dot, PROMOTE_MARKER_SUFFIX)) {
		/* A build in cached/ (promote.c) that never got its manifest: not an entry. */
		snprintf(name, sizeof(name), "%.*s.manifest", base, n);
		if (!fs_exists_at(in->cached_fd, name)) {
			snprintf(name, sizeof(name), "%.*s", base, n);
			(void)fs_rmtree_at(in->cached_fd, name);
		}
	}
	(void)fs_rmtree_at(dirfd, n);
	(void)close(lfd);
}

int install_run(struct install *in, struct sbuf *err)
{
	int r = plan_build(in, err);
	bool work = false;

	if (r < 0)
		return r;
	for (size_t i = 0; i < in->ngems; i++) {
		struct gem *g = in->gems[i];
		switch (g->plan) {
		case PLAN_DEFAULT_GEM:
			in->stats.defaults++;
			break;
		case PLAN_PATH:
			in->stats.paths++;
			break;
		case PLAN_INSTALLED:
			in->stats.already++;
			break;
		case PLAN_UNSUPPORTED:
			in->stats.unsupported++;
			break;
		case PLAN_GIT_MEMBER:
			break;
		default:
			work = true;
		}
	}
	if (work && in->opts.local_only) {
		unsigned missing = 0;
		const char *first = NULL;
		for (size_t i = 0; i < in->ngems; i++) {
			enum gem_plan p = in->gems[i]->plan;
			if (p != PLAN_DEFAULT_GEM && p != PLAN_PATH && p != PLAN_INSTALLED &&
			    p != PLAN_UNSUPPORTED && !missing++)
				first = in->gems[i]->full_name;
		}
		sbuf_addf(err, "%u gem%s of %s %s not installed (%s%s): run `scint install`", missing,
			  missing == 1 ? "" : "s", in->opts.lockfile, missing == 1 ? "is" : "are",
			  first, missing > 1 ? ", ..." : "");
		return -SC_ENOTFOUND;
	}
	if (!work && !in->stats.unsupported && !in->opts.remote_push_cached &&
	    !in->opts.remote_pull && !in->opts.remote_list && install_state_current(in)) {
		trace_event(&install_ctx, "noop", "every gem is installed and nothing changed");
		/* The next no-op answers from a snapshot (snapshot.c). */
		install_state_refresh(in);
		return 0;
	}
	if (work) {
		/* Leftovers of killed runs, which nothing else would ever remove. */
		(void)fs_list_dirat(in->assembling_fd, ".", install_sweep_assembling_entry, in);
		(void)fs_list_dirat(in->inbound_fd, ".", install_sweep_tmp_entry, NULL);
		(void)fs_list_dirat(in->index_fd, ".", install_sweep_index_entry, NULL);
	}
	r = plan_submit(in);
	if (r < 0)
		return r;
	r = sched_run(in->sched);
	/* Assembled but never promoted (a dependency's failure stopped it): don't leave it. */
	for (size_t i = 0; i < in->ngems; i++) {
		struct gem *g = in->gems[i];
		if (g->unpacked && !g->promoted && g->lock_fd >= 0) {
			promote_discard_tree(in, g);
			cache_unlock_entry(in, g);
		}
	}
	install_stop_helper(in);
	compile_stop_servers(in);
	return r;
}

/* VmHWM of a live process (its own peak RSS, which getrusage of a child cannot give apart). */
static uint64_t install_peak_rss_kb(int pid)
{
	char path[64];
	struct sbuf text = SBUF_INIT;
	uint64_t kb = 0;

	snprintf(path, sizeof(path), "/proc/%d/status", pid);
	if (pid > 0 && fs_read_file(path, &text, 1 << 16) == 0) {
		const char *p = strstr(sbuf_cstr(&text), "\nVmHWM:");
		if (p)
			kb = strtoull(p + 8, NULL, 10);
	}
	sbuf_release(&text);
	return kb;
}

/* Lets the helper exit on EOF (it is done when stdin closes); kills it if it lingers. */
static void install_stop_helper(struct install *in)
{
	if (!in->helper_started || !rpc_running(&in->helper))
		return;
	in->stats.helper_maxrss_kb = install_peak_rss_kb(in->helper.child.pid);
	rpc_stop(&in->helper);
	uint64_t deadline = clock_now_ns() + 2000000000u;
	while (rpc_running(&in->helper) && clock_now_ns() < deadline)
		reactor_poll(in->reactor, 50);
	if (rpc_running(&in->helper)) {
		child_kill(&in->helper.child, SIGKILL);
		while (rpc_running(&in->helper))
			reactor_poll(in->reactor, 50);
	}
}

void install_release(struct install *in)
{
	int *fds[] = { &in->cache_fd, &in->inbound_fd, &in->assembling_fd, &in->cached_fd,
		       &in->locks_fd,  &in->index_fd,   &in->root_fd,	    &in->gems_fd,
		       &in->specs_fd,  &in->ext_fd,	&in->bin_fd, &in->gits_fd,
		       &in->git_gems_fd, &in->git_ext_fd, &in->root_lock_fd, &in->bundler_lock_fd };

	for (size_t i = 0; i < in->nsources; i++)
		if (in->sources[i].index_fd >= 0)
			(void)close(in->sources[i].index_fd);
	for (size_t i = 0; i < in->ngems; i++) {
		sbuf_release(&in->gems[i]->pkg);
		sbuf_release(&in->gems[i]->metadata_gz);
		sbuf_release(&in->gems[i]->remote_artifact);
		if (in->gems[i]->lock_fd >= 0)
			(void)close(in->gems[i]->lock_fd);
	}
	if (in->reactor) {
		install_stop_helper(in);
		compile_stop_servers(in);
	}
	remote_release(in);
	sched_free(in->sched);
	http_free(in->http);
	child_mgr_free(in->children);
	jobserver_free(in->jobserver);
	ioq_free(in->ioq);
	reactor_free(in->reactor);
	/* (Before install_setup the fds are the zeroed struct's, none of them ours.) */
	if (in->fds_set) {
		for (size_t i = 0; i < SC_ARRAY_SIZE(fds); i++)
			if (*fds[i] >= 0)
				(void)close(*fds[i]);
	}
	hmap_release(&in->by_name);
	hmap_release(&in->abi.default_gems);
	sbuf_release(&in->lock_text);
	sbuf_release(&in->gemfile_digest);
	sbuf_release(&in->remote_warnings);
	arena_release(&in->arena);
}
