/*
 * cmd_install.c: `scint install`: options, the session, output and exit code.
 * A no-op is answered from the snapshot of the last install (phases/snapshot.c)
 * before the lockfile is read or the engine set up. `scint cache push`, `pull`
 * and `list --remote` are install-shaped runs of this same function (pull and
 * list: the cache only, no live display, reported by cmd_cache.c).
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

#include "base/clock.h"
#include "base/err.h"
#include "base/trace.h"
#include "bundle/config.h"
#include "bundle/lockfile.h"
#include "cli/cli.h"
#include "cli/signals.h"
#include "cli/stats.h"
#include "cli/ui.h"
#include "engine/ioq.h"
#include "engine/profile.h"
#include "fsops/fsops.h"
#include "phases/session/install.h"
#include "phases/remote.h"

extern char **environ;

static void install_usage(FILE *f)
{
	fprintf(f,
		"usage: scint install [options]\n"
		"\n"
		"Installs the gems of Gemfile.lock into the bundle path (BUNDLE_PATH, default\n"
		".bundle) through scint's global cache, so that `bundle exec` works. Without\n"
		"a Gemfile.lock, or when the Gemfile changed, resolves first (only what\n"
		"changed) and writes Gemfile.lock.\n"
		"\n"
		"  -j, --jobs N           parallel compiler jobs (default: BUNDLE_JOBS or CPU count)\n"
		"      --link-mode MODE   auto|clone|hardlink|copy|symlink (default auto)\n"
		"      --path DIR         install into DIR instead of BUNDLE_PATH\n"
		"      --gemfile FILE     use FILE and FILE.lock (default: ./Gemfile, searched upward)\n"
		"      --cache DIR        the cache root (default: SCINT_CACHE, XDG_CACHE_HOME/scint)\n"
		"      --fail-fast        stop at the first failure\n"
		"      --force            re-install every gem into the bundle path\n"
		"      --frozen           never change Gemfile.lock (also BUNDLE_FROZEN, BUNDLE_DEPLOYMENT)\n"
		"      --remote-cache MODE read|write|off: the remote artifact cache (SCINT_REMOTE_CACHE)\n"
		"  -v, --verbose          more output\n"
		"  -q, --quiet            only errors and the summary\n"
		"\n"
		"Environment: SCINT_IO_URING=0 (plain syscalls), SCINT_IO_TRACE=FILE,\n"
		"SCINT_RUBY=PATH, NO_COLOR.\n");
}

static void remote_usage(bool pull)
{
	if (pull)
		printf("usage: scint cache pull [GEMS] [--gemfile FILE] [--cache DIR] [--jobs N]\n"
		       "\n"
		       "Fills the cache from SCINT_REMOTE_CACHE for the lockfile's gems (GEMS,\n"
		       "or all): verified artifacts of the gems with extensions, the others\n"
		       "from their .gem. Compiles nothing; writes neither the lockfile nor the\n"
		       "bundle path.\n");
	else
		printf("usage: scint cache list --remote [GEMS] [--gemfile FILE] [--cache DIR]\n"
		       "\n"
		       "For the lockfile's gems with extensions: hit, miss or refused on\n"
		       "SCINT_REMOTE_CACHE for this Ruby (only the index objects are read).\n");
}

char *cli_abs_path(struct arena *a, const char *base, const char *p)
{
	char buf[PATH_MAX * 2];

	if (p[0] == '/')
		return arena_strdup(a, p);
	if (p[0] == '~' && (p[1] == '/' || !p[1]) && getenv("HOME")) {
		snprintf(buf, sizeof(buf), "%s%s", getenv("HOME"), p + 1);
		return arena_strdup(a, buf);
	}
	snprintf(buf, sizeof(buf), "%s/%s", base, p);
	return arena_strdup(a, buf);
}

/*
 * What every command that opens a bundle needs after cli_find_gemfile:
 * Bundler's config (the app's, the user's, BUNDLE_*), the bundle path
 * (path_opt, else BUNDLE_PATH, else .bundle), the cache root (cache_opt,
 * else cli_cache_root) and the Ruby helper. Returns 0 or -errno with err set.
 */
int cli_open_config(struct install *in, const char *path_opt, const char *cache_opt,
		    struct sbuf *err)
{
	struct install_opts *o = &in->opts;
	const char *path = path_opt;
	int r;

	in->config = arena_alloc(&in->arena, sizeof(*in->config));
	r = bconfig_load(in->config, &in->arena, arena_printf(&in->arena, "%s/.bundle", o->app_dir),
			 getenv("HOME"), environ, err);
	if (r < 0)
		return r;
	if (!path)
		path = bconfig_get(in->config, "BUNDLE_PATH");
	o->bundle_path = cli_abs_path(&in->arena, o->app_dir, path && *path ? path : ".bundle");
	if (cache_opt) {
		o->cache_root = cli_abs_path(&in->arena, o->app_dir, cache_opt);
	} else {
		char *root = cli_cache_root();
		o->cache_root = arena_strdup(&in->arena, root);
		free(root);
	}
	char *helper = cli_helper_path();
	in->helper_path = arena_strdup(&in->arena, helper);
	free(helper);
	return 0;
}

int cli_find_gemfile(struct arena *a, const char *opt, struct install_opts *o)
{
	char cwd[PATH_MAX], buf[PATH_MAX + 16];
	const char *env = getenv("BUNDLE_GEMFILE");

	if (!getcwd(cwd, sizeof(cwd)))
		return -errno;
	if (!opt && env && *env)
		opt = env;
	if (opt) {
		char *abs = cli_abs_path(a, cwd, opt);
		char real[PATH_MAX];
		if (!realpath(abs, real)) {
			cli_error("cannot find the Gemfile %s: %s", abs, strerror(errno));
			return -ENOENT;
		}
		o->gemfile = arena_strdup(a, real);
	} else {
		for (char *dir = cwd; *dir;) {
			static const char *const names[] = { "Gemfile", "gems.rb" };
			for (int i = 0; i < 2 && !o->gemfile; i++) {
				snprintf(buf, sizeof(buf), "%s/%s", dir[1] ? dir : "", names[i]);
				if (access(buf, R_OK) == 0)
					o->gemfile = arena_strdup(a, buf);
			}
			if (o->gemfile)
				break;
			char *slash = strrchr(dir, '/');
			if (!slash || slash == dir)
				break;
			*slash = '\0';
		}
		if (!o->gemfile) {
			cli_error("could not locate Gemfile (in this directory or above)");
			return -ENOENT;
		}
	}
	char *slash = strrchr(o->gemfile, '/');
	o->app_dir = arena_strndup(a, o->gemfile, (size_t)(slash - o->gemfile));
	struct sbuf lock = SBUF_INIT;
	(void)lockfile_path_for_gemfile(o->gemfile, &lock);
	o->lockfile = arena_strdup(a, sbuf_cstr(&lock));
	sbuf_release(&lock);
	return 0;
}

/* A .gitignore that does not ignore .bundle/ would let installed gems be committed. */
static void install_check_gitignore(const char *app_dir)
{
	struct sbuf text = SBUF_INIT;
	char path[PATH_MAX + 16];

	snprintf(path, sizeof(path), "%s/.gitignore", app_dir);
	if (fs_read_file(path, &text, 1 << 20) < 0)
		return;
	struct strv rest = sbuf_strv(&text), line;
	bool ignored = false;
	while (strv_next_line(&rest, &line)) {
		line = strv_trim(line);
		if (strv_eq_cstr(line, ".bundle") || strv_eq_cstr(line, ".bundle/") ||
		    strv_eq_cstr(line, "/.bundle") || strv_eq_cstr(line, "/.bundle/") ||
		    strv_eq_cstr(line, ".bundle/*") || strv_eq_cstr(line, "/.bundle/*") ||
		    strv_eq_cstr(line, ".bundle/**") || strv_eq_cstr(line, "/.bundle/**"))
			ignored = true;
		else if (strv_eq_cstr(line, "!.bundle") || strv_eq_cstr(line, "!/.bundle") ||
			 strv_eq_cstr(line, "!.bundle/") || strv_eq_cstr(line, "!/.bundle/"))
			ignored = false;
	}
	sbuf_release(&text);
	if (!ignored)
		cli_warn(".gitignore does not ignore .bundle/: add a line \"/.bundle/\" so that "
			 "installed gems are not committed");
}

/*
 * The no-op answered from the snapshot of the last install: the same line
 * and stats as a full no-op run, nothing else run. Releases what it used
 * when it answers.
 */
static bool install_snapshot_fast(struct install *in, uint64_t t0)
{
	const char *dir = install_app_config_dir(in);
	unsigned gems, defaults;

	if (!install_snapshot_current(in, arena_printf(&in->arena, "%s/scint.state", dir), &gems,
				      &defaults) ||
	    access(arena_printf(&in->arena, "%s/scint.lock.marshal", dir), F_OK) < 0)
		return false;
	static const struct trace_ctx ctx = { .phase = "setup" };
	trace_event(&ctx, "noop", "the snapshot of the last install holds");
	in->ngems = gems;
	in->stats.defaults = defaults;
	in->stats.already = gems - defaults;
	in->link_mode = in->opts.link_mode;
	printf("Bundle complete! %u gems in %.2fs: 0 installed (0 fetched, 0 from cache, 0 "
	       "compiled), %u already installed, %u default, 0 failed\n",
	       gems, (double)(clock_now_ns() - t0) / 1e9, in->stats.already, defaults);
	const char *sp = getenv("SCINT_STATS");
	struct stats_counts counts = { 0 };
	int r;
	if (sp && *sp && (r = stats_write(sp, in, &counts, t0, clock_now_ns(), true)) < 0)
		cli_warn("cannot write the stats %s: %s", sp, sc_strerror(r));
	install_check_gitignore(in->opts.app_dir);
	trace_close();
	arena_release(&in->arena);
	return true;
}

static void install_report(struct install *in, struct ui *ui, int r, uint64_t t0,
			   struct stats_counts *ret)
{
	size_t n;
	struct job *const *jobs = sched_jobs(in->sched, &n);
	unsigned failed = 0, skipped = 0;
	double secs = (double)(clock_now_ns() - t0) / 1e9;

	ui_finish(ui);
	/* Damaged cache entries (phases/session/cache.h): named, with what was wrong and what was done. */
	for (size_t i = 0; i < in->ngems; i++) {
		const struct gem *g = in->gems[i];
		if (!g->damage)
			continue;
		const char *outcome = g->promoted ? "rebuilt it"
				      : g->plan == PLAN_MATERIALIZE ? "another scint process rebuilt it"
								    : "could not rebuild it";
		if (g->quarantined)
			cli_warn("the cache entry of %s was damaged: %s; moved it to %s; %s",
				 g->full_name, g->damage, g->quarantined, outcome);
		else
			cli_warn("the cache entry of %s was damaged: %s; %s", g->full_name, g->damage,
				 outcome);
	}
	for (size_t i = 0; i < n; i++) {
		const struct job *j = jobs[i];
		if (j->state != JOB_FAILED)
			continue;
		if (j->err == -SC_EDEPFAILED || j->err == -SC_ECANCELED) {
			skipped++;
			continue;
		}
		failed++;
		cli_error("%s", j->errmsg.len ? j->errmsg.buf : sc_strerror(j->err));
	}
	for (size_t i = 0; i < in->ngems; i++) {
		struct gem *g = in->gems[i];
		if (g->plan != PLAN_UNSUPPORTED)
			continue;
		const char *remote = lock_source_opt(g->spec->source, "remote");
		cli_error("%s comes from a plugin source (%s), which scint does not support yet; "
			  "install it with `bundle install`",
			  g->full_name, remote ? remote : "?");
		failed++;
	}
	for (size_t i = 0; i < in->ngems; i++)
		if (in->gems[i]->warning)
			cli_warn("%s", in->gems[i]->warning);
	for (const char *w = in->remote_warnings.buf, *e; w && *w; w = e + 1) {
		e = strchr(w, '\n');
		if (!e)
			break;
		cli_warn("%.*s", (int)(e - w), w);
	}
	unsigned from_cache = 0, fetched = 0, installed = 0;
	for (size_t i = 0; i < in->ngems; i++) {
		struct gem *g = in->gems[i];
		if (!g->last || g->last->state != JOB_DONE) /* last: the materialize job */
			continue;
		installed++;
		fetched += g->downloaded;
		from_cache += !g->unpacked;
	}
	struct sched_stats st;
	sched_get_stats(in->sched, &st);
	unsigned compiled = st.kind[JOB_COMPILE].done;
	if (skipped)
		cli_error("%u more jobs did not run because of the errors above", skipped);
	printf("%s %zu gems in %.2fs: %u installed (%u fetched, %u from cache, %u compiled), "
	       "%u already installed, %u default, %u failed\n",
	       r == 0 && !failed ? "Bundle complete!" : "Install failed:", in->ngems, secs,
	       installed, fetched, from_cache, compiled, in->stats.already, in->stats.defaults,
	       failed + (r && !failed ? 1 : 0));
	*ret = (struct stats_counts){ installed, fetched, from_cache, compiled,
				      failed + (r && !failed ? 1 : 0) };
	if (in->remote)
		printf("Remote cache: %u hits, %u refused, %u uploaded; %.1f KiB down, %.1f KiB up\n",
		       in->stats.remote_hits, in->stats.remote_refused, in->stats.remote_uploads,
		       (double)in->stats.remote_bytes_down / 1024.0,
		       (double)in->stats.remote_bytes_up / 1024.0);
	if (ui->verbose)
		printf("link mode: %s, io: %s, into %s\n", link_mode_name[in->link_mode],
		       ioq_backend_name(in->ioq), in->install_root);
}

/*
 * The engine of a command that works on the cache (install, lock, update,
 * outdated): the cache shared (`scint cache clear` takes it exclusively), the
 * reactor and its watchers set up, and from then on every child dies with
 * the run (evaluating the Gemfile may start Ruby). Prints what failed.
 */
static void cli_root_lock_wait(const struct install *in)
{
	if (in->opts.quiet)
		return;
	fprintf(stderr, "Waiting for another install into %s to finish...\n", in->install_root);
	fflush(stderr);
}

int cli_engine_start(struct install *in)
{
	struct sbuf err = SBUF_INIT;
	int cfd, r;

	in->root_lock_wait = cli_root_lock_wait;
	if (fs_mkdir_p(in->opts.cache_root, 0755) == 0 && (cfd = fs_open_dir(in->opts.cache_root)) >= 0) {
		int lfd = openat(cfd, ".lock", O_RDWR | O_CREAT | O_CLOEXEC, 0644);
		if (lfd >= 0)
			(void)flock(lfd, LOCK_SH); /* released at exit */
		close(cfd);
	}
	r = install_setup(in, &err);
	if (r < 0) {
		cli_error("%s", err.len ? err.buf : sc_strerror(r));
		sbuf_release(&err);
		return r;
	}
	sbuf_release(&err);
	if ((r = signals_watch(in->reactor, in->sched, in->children)) < 0)
		cli_warn("cannot watch for interrupts: %s", sc_strerror(r));
	return 0;
}

enum install_kind {
	RUN_INSTALL,
	RUN_PUSH,	 /* scint cache push */
	RUN_PULL,	 /* scint cache pull */
	RUN_LIST_REMOTE, /* scint cache list --remote */
};

static int install_main_with(int argc, char **argv, bool local_only, enum install_kind kind)
{
	bool push = kind == RUN_PUSH;
	bool remote_only = kind == RUN_PULL || kind == RUN_LIST_REMOTE;
	static const struct option longopts[] = {
		{ "jobs", required_argument, NULL, 'j' },
		{ "link-mode", required_argument, NULL, 'L' },
		{ "path", required_argument, NULL, 'P' },
		CLI_OPTION_GEMFILE,
		CLI_OPTION_CACHE,
		{ "fail-fast", no_argument, NULL, 'F' },
		{ "force", no_argument, NULL, 'f' },
		{ "frozen", no_argument, NULL, 'Z' },
		{ "remote-cache", required_argument, NULL, 'R' },
		CLI_OPTION_VERBOSE,
		CLI_OPTION_QUIET,
		CLI_OPTION_HELP,
		{ NULL, 0, NULL, 0 },
	};
	struct install in = { 0 };
	struct install_opts *o = &in.opts;

	o->local_only = local_only;
	struct cli_common co = { 0 };
	const char *path = NULL, *pf = NULL;
	const char *mode = getenv("SCINT_LINK_MODE");
	struct sbuf err = SBUF_INIT;
	uint64_t t0 = clock_now_ns();
	int c, r, rc = CLI_FAILED;
	long jobs = 0;

	while ((c = getopt_long(argc, argv, "j:vqh", longopts, NULL)) != -1) {
		switch (c) {
		case 'j':
			jobs = strtol(optarg, NULL, 10);
			if (jobs < 1 || jobs > 1024) {
				cli_error("--jobs takes a number from 1 to 1024");
				return CLI_USAGE;
			}
			break;
		case 'L':
			mode = optarg;
			break;
		case 'P':
			path = optarg;
			break;
		case 'F':
			o->fail_fast = true;
			break;
		case 'f':
			o->force = true;
			break;
		case 'Z':
			o->frozen = true;
			break;
		case 'R':
			if (remote_mode_parse(optarg) < 0) {
				cli_error("--remote-cache takes read, write or off");
				return CLI_USAGE;
			}
			o->remote_mode = remote_mode_parse(optarg);
			break;
		case 'h':
			if (kind == RUN_PULL || kind == RUN_LIST_REMOTE)
				remote_usage(kind == RUN_PULL);
			else
				install_usage(stdout);
			return CLI_OK;
		default:
			if (cli_common_option(&co, c, optarg))
				break;
			install_usage(stderr);
			return CLI_USAGE;
		}
	}
	o->verbose = co.verbose;
	o->quiet = co.quiet;
	if (push || remote_only) {
		o->remote_push_cached = push;
		o->remote_pull = kind == RUN_PULL;
		o->remote_list = kind == RUN_LIST_REMOTE;
		o->push_only = argv + optind;
		o->npush_only = (size_t)(argc - optind);
		if (remote_only && o->remote_mode == REMOTE_MODE_OFF) {
			cli_error(
				"scint cache %s reads the remote cache: --remote-cache off leaves "
				"nothing to do",
				kind == RUN_PULL ? "pull" : "list --remote");
			return CLI_USAGE;
		}
	} else if (optind < argc) {
		cli_error("unexpected argument '%s'", argv[optind]);
		return CLI_USAGE;
	}
	o->link_mode = LINK_AUTO;
	o->may_resolve = !remote_only; /* pull and list never write the lockfile */
	if (mode && *mode) {
		int m = -1;
		for (int i = 0; i < LINK_MODE__COUNT; i++)
			if (!strcmp(mode, link_mode_name[i]))
				m = i;
		if (m < 0) {
			cli_error("unknown link mode '%s' (auto, clone, hardlink, copy, symlink)",
				  mode);
			return CLI_USAGE;
		}
		o->link_mode = (enum link_mode)m;
	}
	const char *uring = getenv("SCINT_IO_URING");
	o->io_backend = uring && uring[0] == '0' ? IOQ_BACKEND_SYNC : IOQ_BACKEND_AUTO;
	arena_init(&in.arena);
	if (cli_find_gemfile(&in.arena, co.gemfile, o) < 0)
		goto out;

	r = cli_open_config(&in, path, co.cache, &err);
	if (r < 0) {
		cli_error("%s", err.buf);
		goto out;
	}
	if (!jobs) {
		const char *bj = bconfig_get(in.config, "BUNDLE_JOBS");
		jobs = bj ? strtol(bj, NULL, 10) : 0;
		if (jobs < 1)
			jobs = sysconf(_SC_NPROCESSORS_ONLN);
		if (jobs < 1)
			jobs = 1;
	}
	o->jobs = (unsigned)jobs;

	const char *tr = getenv("SCINT_IO_TRACE");
	if (tr && *tr && (r = trace_open(tr)) < 0)
		cli_warn("cannot open the trace %s: %s", tr, sc_strerror(r));
	pf = getenv("SCINT_PROFILE");
	if (pf && *pf && (r = profile_open(pf)) < 0)
		cli_warn("cannot open the profile %s: %s", pf, sc_strerror(r));

	/* Nothing changed since the last install: answered from its snapshot (phases/snapshot.c). */
	if (!o->force && !o->verbose && !profile_enabled && !o->remote_push_cached &&
	    !remote_only && install_snapshot_fast(&in, t0))
		return CLI_OK;

	if ((r = cli_engine_start(&in)) < 0)
		goto out;
	if (remote_only && !in.remote) {
		/* Configured, but not usable (no signing key): the warning says why. */
		for (const char *w = in.remote_warnings.buf, *e; w && *w; w = e + 1) {
			if (!(e = strchr(w, '\n')))
				break;
			cli_warn("%.*s", (int)(e - w), w);
		}
		cli_error("no usable remote cache: nothing to %s",
			  kind == RUN_PULL ? "pull" : "list");
		goto out;
	}
	r = install_prepare(&in, &err);
	if (r < 0) {
		if (signals_received()) {
			cli_error("interrupted: nothing was installed");
			rc = 128 + signals_received();
		} else {
			cli_error("%s", err.len ? err.buf : sc_strerror(r));
		}
		goto out;
	}
	if (remote_only) {
		/* No live display: the report lists what happened per gem. */
		r = install_run(&in, &err);
		signals_release(in.reactor);
		if (err.len) {
			cli_error("%s", err.buf);
			goto out;
		}
		rc = cli_cache_remote_report(&in, r, (double)(clock_now_ns() - t0) / 1e9);
		if (signals_received())
			rc = 128 + signals_received();
		goto out;
	}
	struct ui ui;
	ui_init(&ui, o->quiet, o->verbose);
	ui_attach(&ui, &in);
	r = install_run(&in, &err);
	signals_release(in.reactor);
	if (err.len) {
		ui_finish(&ui);
		cli_error("%s", err.buf);
		if (signals_received())
			rc = 128 + signals_received();
		goto out;
	}
	struct stats_counts counts;
	install_report(&in, &ui, r, t0, &counts);
	rc = r == 0 && !in.stats.unsupported ? CLI_OK : CLI_FAILED;
	if (signals_received()) {
		cli_error("interrupted: nothing half-done was kept; run scint install again");
		rc = 128 + signals_received();
	}
	const char *sp = getenv("SCINT_STATS");
	if (sp && *sp && (r = stats_write(sp, &in, &counts, t0, clock_now_ns(), rc == CLI_OK)) < 0)
		cli_warn("cannot write the stats %s: %s", sp, sc_strerror(r));
	install_check_gitignore(o->app_dir);
out:
	signals_release(in.reactor);
	if (profile_enabled) {
		struct sbuf summary = SBUF_INIT;
		r = profile_close(in.sched, &summary);
		fputs(sbuf_cstr(&summary), stderr);
		sbuf_release(&summary);
		if (r < 0)
			cli_warn("cannot write the profile %s: %s", pf, sc_strerror(r));
	}
	trace_close();
	install_release(&in);
	sbuf_release(&err);
	return rc;
}

static int install_main(int argc, char **argv)
{
	return install_main_with(argc, argv, false, RUN_INSTALL);
}

int cli_install_push(int argc, char **argv)
{
	return install_main_with(argc, argv, false, RUN_PUSH);
}

int cli_install_pull(int argc, char **argv)
{
	return install_main_with(argc, argv, false, RUN_PULL);
}

int cli_install_list_remote(int argc, char **argv)
{
	return install_main_with(argc, argv, false, RUN_LIST_REMOTE);
}

int cli_install_local(int argc, char **argv)
{
	return install_main_with(argc, argv, true, RUN_INSTALL);
}

const struct cli_cmd cmd_install = {
	.name = "install",
	.summary = "install the gems of Gemfile.lock into the bundle path",
	.run = install_main,
};
