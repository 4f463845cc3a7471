/*
 * compile.c: native extensions, built once per Ruby ABI inside the
 * assembling tree, exactly as RubyGems builds them (design.md §1, "Compile").
 *
 *   CC_START --> CC_TOKEN --token--> CC_RUN --exit 0 + EOF--> CC_SCAN --> CC_DONE
 *                  (waits for the        \--failure----------------------> CC_FAILED
 *                   jobserver)
 *
 * CC_START  runs once the gem is assembled and its runtime dependencies are
 *           materialized (an extconf.rb may require one, e.g. mini_portile2;
 *           GEM_HOME/GEM_PATH point at the bundle during the build).
 * CC_TOKEN  takes a jobserver token: the build's first job. make's further
 *           parallel jobs take tokens through MAKEFLAGS, so all builds together
 *           never run more compiler jobs than --jobs.
 * CC_START  also moves the assembled tree to cached/<abi>/<entry>/ (no
 *           manifest yet, so no entry: promote.c), where the build runs: the
 *           paths it records (Makefile, gem_make.out, mkmf.log, an rpath or
 *           a data dir compiled in) are those of the shared entry that every
 *           project's files come from, and stay valid after promote.
 * CC_RUN    the build call `build <gem dir> <ext dir> [BUNDLE_BUILD args]` to
 *           an idle build server (`ruby helper.rb --build-server`, a child
 *           speaking rpc.h, started on first need, at most one per compile
 *           slot, kept for the run): it forks a copy of itself with
 *           RubyGems' builders loaded, in which Gem::Ext::Builder runs the
 *           extconf/rake/cmake/configure builder, writes gem_make.out and
 *           mkmf.log, copies the built files into the require path and
 *           writes gem.build_complete last. The output comes as it is
 *           printed (OUT frames), the exit status as the call's answer; a
 *           trace record "build" stands for the build. Cancel ends the
 *           server's process group (the build's make and compilers with it);
 *           so does scint's death, even by SIGKILL (helper.rb,
 *           die_with_group). A server that died or broke the protocol is
 *           replaced at once (struct cc_server).
 * CC_SCAN   walks the built tree into the manifest (gem/ and ext/), so that
 *           promote publishes exactly what the build produced.
 * CC_FAILED keeps the whole output in <cache>/logs/<abi>/<entry>.log, shows it,
 *           removes the assembling tree (nothing reaches cached/) and lets
 *           the next run try again.
 *
 * A git gem is built the same way in its repository's checkout
 * (assembling/<abi>/<repo>-<rev12>/gem/<dir of its gemspec>), its spec
 * coming from the git job as metadata.gz; the gems of one checkout build one
 * after the other into its one ext/ tree. compile_scan_tree() is the walk,
 * shared with git.c.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/clock.h"
#include "base/digest.h"
#include "base/err.h"
#include "engine/child.h"
#include "engine/jobserver.h"
#include "engine/rpc.h"
#include "fsops/fsops.h"
#include "phases/phase.h"

extern char **environ;

#define CC_FILE_MAX ((uint64_t)2 << 30)

enum cc_state {
	CC_START,
	CC_TOKEN,
	CC_RUN,
	CC_SCAN,
	CC_DONE,
	CC_FAILED,
	CC_STATE__COUNT,
};

static const char *const cc_state_name[CC_STATE__COUNT] = {
	"START", "TOKEN", "RUN", "SCAN", "DONE", "FAILED",
};

/*
 * The build servers: `ruby helper.rb --build-server 3 4` children (rpc.h),
 * at most one live one per compile slot (--jobs), started when a build
 * first needs one and kept for the rest of the run; each runs one build at
 * a time. A server that died or broke the protocol (rpc.dead) counts for
 * nothing: it was killed, and may take a while to be reaped (a process
 * outside its group can hold its pipe), so the next build gets another slot
 * at once; a slot is reused once its server is reaped.
 */
struct cc_server {
	struct rpc rpc;
	bool busy;
};

struct compile_pool {
	struct cc_server **servers; /* live ones <= max: builds at once <= tokens = --jobs */
	unsigned n, cap, max; /* servers[0..n), cap of the array, live at most max */
	const char *argv[6];
	const char **envp;
};

struct compile_job {
	struct job job;
	struct install *in;
	struct gem *gem;
	enum cc_state state;
	struct js_waiter waiter;
	bool have_token;
	bool spawned;    /* the build call is out */
	bool child_done; /* its answer is in */
	struct cc_server *server;
	struct rpc_call call;
	struct sbuf out; /* what the build printed, bounded as a child's output */
	size_t dropped;
	int exit_code, term_signal;
	uint64_t t_start_ns;
	const char **argv; /* as `helper.rb --build` would take it: for traces */
	struct sbuf payload;
};

static bool cc_edge_ok(enum cc_state from, enum cc_state to)
{
	if (to == CC_FAILED)
		return from != CC_DONE && from != CC_FAILED;
	switch (from) {
	case CC_START:
		return to == CC_TOKEN;
	case CC_TOKEN:
		return to == CC_RUN;
	case CC_RUN:
		return to == CC_SCAN;
	case CC_SCAN:
		return to == CC_DONE;
	case CC_DONE:
	case CC_FAILED:
	case CC_STATE__COUNT:
		break;
	}
	return false;
}

static void cc_enter_at(struct compile_job *c, enum cc_state to, int line)
{
	SC_ASSERT(cc_edge_ok(c->state, to));
	trace_state(&c->job.ctx, cc_state_name[c->state], cc_state_name[to], line);
	c->state = to;
	job_wake(&c->job);
}

/* Every state change goes through here; debug builds trace the caller's line. */
#define cc_enter(c, to) cc_enter_at((c), (to), TRACE_LINE)

static bool cc_env_dropped(const char *kv)
{
	static const char *const drop[] = { "GEM_HOME=",       "GEM_PATH=",	 "MAKEFLAGS=",
					    "MFLAGS=",	       "MAKELEVEL=",	 "RUBYOPT=",
					    "RUBYLIB=",	       "BUNDLE_GEMFILE=", "BUNDLE_BIN_PATH=",
					    "BUNDLER_SETUP=",  "RUBYGEMS_GEMDEPS=" };

	for (size_t i = 0; i < SC_ARRAY_SIZE(drop); i++)
		if (!strncmp(kv, drop[i], strlen(drop[i])))
			return true;
	return false;
}

/* The builds' environment: ours, with RubyGems pointed at the bundle and make at the jobserver. */
static const char **cc_env(struct install *in)
{
	size_t n = 0, k = 0;

	while (environ[n])
		n++;
	const char **env = arena_alloc(&in->arena, (n + 4) * sizeof(*env));
	for (size_t i = 0; i < n; i++)
		if (!cc_env_dropped(environ[i]))
			env[k++] = environ[i];
	env[k++] = arena_printf(&in->arena, "GEM_HOME=%s", in->install_root);
	env[k++] = arena_printf(&in->arena, "GEM_PATH=%s", in->install_root);
	env[k++] = arena_printf(&in->arena, "MAKEFLAGS=%s", jobserver_makeflags(in->jobserver));
	env[k] = NULL;
	return env;
}

static void cc_granted(struct js_waiter *w)
{
	struct compile_job *c = container_of(w, struct compile_job, waiter);

	c->have_token = true;
	job_wake(&c->job);
}

#define CC_OUT_MAX ((size_t)16 << 20)

/* Keeps the head (how it started) and the newest tail (how it failed), as child.c does. */
static void cc_output(struct rpc_call *call, const char *p, size_t n)
{
	struct compile_job *c = call->data;
	struct sbuf *out = &c->out;

	if (out->len + n > CC_OUT_MAX) {
		size_t head = CC_OUT_MAX / 4, tail = CC_OUT_MAX / 2;
		if (out->len > head + tail) {
			size_t drop = out->len - head - tail;
			memmove(out->buf + head, out->buf + head + drop, tail);
			sbuf_setlen(out, head + tail);
			c->dropped += drop;
		}
		if (n > tail) {
			c->dropped += n - tail;
			p += n - tail;
			n = tail;
		}
	}
	sbuf_add(out, p, n);
}

static void cc_call_done(struct rpc_call *call)
{
	struct compile_job *c = call->data;
	int code = 0;

	c->server->busy = false;
	if (call->res == 0 && sscanf(sbuf_cstr(&call->result), "exit %d", &code) == 1) {
		c->exit_code = code;
	} else if (call->res == 0 && sscanf(sbuf_cstr(&call->result), "signal %d", &code) == 1 &&
		   code > 0) {
		c->term_signal = code;
	} else {
		/* The server died (a signal, scint's cancel) or answered nonsense. */
		sbuf_rtrim(&call->result);
		sbuf_addf(&c->out, "\n%s\n",
			  call->res < 0 ? sbuf_cstr(&call->result) : "a malformed build result");
		c->exit_code = 1;
	}
	trace_proc(&c->job.ctx, "build", c->argv, c->server->rpc.child.pid,
		   c->term_signal ? 128 + c->term_signal : c->exit_code, 0, c->t_start_ns,
		   clock_now_ns());
	c->child_done = true;
	job_wake(&c->job);
}

/* An idle build server, started if every running one is busy; NULL when none can start. */
static struct cc_server *cc_server_get(struct compile_job *c, const char **ret_why)
{
	static const struct trace_ctx server_ctx = { .phase = "compile" };
	struct install *in = c->in;
	struct compile_pool *p = in->builders;

	if (!p) {
		p = in->builders = arena_alloc(&in->arena, sizeof(*p));
		p->max = in->opts.jobs ? in->opts.jobs : 1;
		p->cap = p->max;
		p->servers = arena_alloc(&in->arena, p->cap * sizeof(*p->servers));
		p->argv[0] = in->ruby_exe;
		p->argv[1] = in->helper_path;
		p->argv[2] = "--build-server"; /* calls on fd 3, results on fd 4 (rpc.h) */
		p->argv[3] = "3";
		p->argv[4] = "4";
		p->envp = cc_env(in);
	}
	unsigned live = 0;
	for (unsigned i = 0; i < p->n; i++) {
		struct cc_server *x = p->servers[i];
		bool up = rpc_running(&x->rpc) && !x->rpc.dead;
		if (up && !x->busy)
			return x;
		live += up || x->busy;
	}
	/* Every live server holds a build, hence a token: cannot happen with tokens <= max. */
	if (live >= p->max) {
		*ret_why = "every build server is busy";
		return NULL;
	}
	/* Reuse the slot of one that is gone, else take a new one. */
	struct cc_server *s = NULL;
	for (unsigned i = 0; i < p->n && !s; i++)
		if (!p->servers[i]->busy && !rpc_running(&p->servers[i]->rpc))
			s = p->servers[i];
	if (!s) {
		/* Dead servers not reaped yet fill the slots: one more (each holds a killed group). */
		size_t cap = p->cap;
		p->servers = arena_grow_array(&in->arena, p->servers, sizeof(*p->servers), p->n, &cap);
		p->cap = (unsigned)cap;
		s = p->servers[p->n++] = arena_alloc(&in->arena, sizeof(*s));
	}
	/* No time or memory limit: a build may take long, and compilers need memory. */
	struct rpc_options ro = {
		.envp = p->envp,
		.keep_fds = jobserver_fds(in->jobserver),
		.nkeep_fds = 2,
	};
	int r = rpc_start(&s->rpc, in->children, p->argv, &ro, &server_ctx);
	if (r < 0) {
		*ret_why = s->rpc.why;
		return NULL;
	}
	return s;
}

static void cc_start(struct compile_job *c)
{
	struct install *in = c->in;
	struct gem *g = c->gem;
	size_t i = 0;

	/* Built where the entry will live: the paths it records stay valid (promote.c). */
	if (promote_move_tree(in, g, &c->job) < 0) {
		cc_enter(c, CC_FAILED);
		return;
	}
	const char *base = promote_tree_dir(in, g);

	c->argv = arena_alloc(&in->arena, (g->nbuild_args + 6) * sizeof(*c->argv));
	c->argv[i++] = in->ruby_exe;
	c->argv[i++] = in->helper_path;
	c->argv[i++] = "--build";
	/* A git gem's gemspec may sit in a directory of the checkout. */
	c->argv[i++] = g->subdir && *g->subdir ? arena_printf(&in->arena, "%s/gem/%s", base, g->subdir)
					      : arena_printf(&in->arena, "%s/gem", base);
	c->argv[i++] = arena_printf(&in->arena, "%s/%s", base, g->ext_rel ? g->ext_rel : "ext");
	for (size_t k = 0; k < g->nbuild_args; k++)
		c->argv[i++] = g->build_args[k];
	c->argv[i] = NULL;
	/* The build call: "<nargs>\0<gem dir>\0<ext dir>\0<args>\0...<metadata.gz>" (helper.rb). */
	sbuf_addf(&c->payload, "%zu", g->nbuild_args);
	sbuf_add(&c->payload, "", 1);
	for (size_t k = 3; k < i; k++) {
		sbuf_addstr(&c->payload, c->argv[k]);
		sbuf_add(&c->payload, "", 1);
	}
	sbuf_add(&c->payload, g->metadata_gz.buf, g->metadata_gz.len);
	int r = jobserver_acquire(in->jobserver, &c->waiter);
	if (r < 0) {
		job_fail(&c->job, r, "cannot wait for a build slot for %s: %s", g->full_name,
			 sc_strerror(r));
		cc_enter(c, CC_FAILED);
		return;
	}
	c->have_token = r > 0;
	cc_enter(c, CC_TOKEN);
}

static void cc_spawn(struct compile_job *c)
{
	struct install *in = c->in;
	struct gem *g = c->gem;
	const char *why = NULL;

	if (!c->have_token)
		return;
	c->server = cc_server_get(c, &why);
	if (!c->server) {
		job_fail(&c->job, -SC_EEXEC, "cannot start the build of %s: %s", g->full_name,
			 why && *why ? why : "no build server");
		cc_enter(c, CC_FAILED);
		return;
	}
	c->server->busy = true;
	c->spawned = true;
	c->t_start_ns = clock_now_ns();
	c->call = (struct rpc_call){
		.method = "build",
		.payload = c->payload.buf,
		.len = c->payload.len,
		.done = cc_call_done,
		.output = cc_output,
		.data = c,
	};
	install_event(in, g, "compile");
	cc_enter(c, CC_RUN);
	rpc_call(&c->server->rpc, &c->call);
}

/* Writes the build output to <cache>/logs/<abi>/<entry>.log; returns its path or NULL. */
static const char *cc_keep_log(struct compile_job *c)
{
	struct install *in = c->in;
	const char *dir = arena_printf(&in->arena, "%s/logs/%s", in->opts.cache_root, in->abi.abi);
	const char *name = arena_printf(&in->arena, "%s.log", c->gem->entry);

	if (fs_mkdir_p(dir, 0755) < 0)
		return NULL;
	int dfd = fs_open_dir(dir);
	if (dfd < 0)
		return NULL;
	int r = fs_write_atomic(dfd, name, c->out.buf ? c->out.buf : "", c->out.len, 0644);
	(void)close(dfd);
	return r < 0 ? NULL : arena_printf(&in->arena, "%s/%s", dir, name);
}

static void cc_run(struct compile_job *c)
{
	struct install *in = c->in;
	struct gem *g = c->gem;

	if (!c->child_done)
		return;
	jobserver_release(in->jobserver);
	c->have_token = false;
	if (c->exit_code == 0 && !c->term_signal) {
		cc_enter(c, CC_SCAN);
		return;
	}
	char status[32];
	if (c->term_signal)
		snprintf(status, sizeof(status), "killed by signal %d", c->term_signal);
	else
		snprintf(status, sizeof(status), "exit %d", c->exit_code);
	const char *log = cc_keep_log(c);
	sbuf_rtrim(&c->out);
	job_fail(&c->job, -SC_EBUILD,
		 "cannot build the native extension of %s (%s); the build's output follows%s%s\n"
		 "%s",
		 g->full_name, status, log ? ", also kept in " : "", log ? log : "",
		 c->out.buf ? c->out.buf : "");
	cc_enter(c, CC_FAILED);
}

/* ---- CC_SCAN: the built tree becomes the manifest ---- */

struct cc_walk {
	struct install *in;
	struct manifest *m;
	int err;
	const char *err_path;
};

static void cc_walk_dir(struct cc_walk *w, int dfd, const char *rel, int depth);

static void cc_walk_file(struct cc_walk *w, int dfd, const char *name, const char *path,
			 const struct stat *st)
{
	struct mf_entry *e = manifest_add(&w->in->arena, w->m, MF_FILE, path);
	struct digest d;
	char buf[65536], hex[DIGEST_SHA256_HEX];
	int fd = openat(dfd, name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);

	e->mode = st->st_mode & 0777;
	e->size = (uint64_t)st->st_size;
	if (fd < 0 || (uint64_t)st->st_size > CC_FILE_MAX) {
		w->err = fd < 0 ? -errno : -SC_ETOOBIG;
		w->err_path = path;
		if (fd >= 0)
			(void)close(fd);
		return;
	}
	digest_init(&d, DIGEST_SHA256);
	for (;;) {
		ssize_t k = read(fd, buf, sizeof(buf));
		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0) {
			if (k < 0) {
				w->err = -errno;
				w->err_path = path;
			}
			break;
		}
		digest_update(&d, buf, (size_t)k);
	}
	(void)close(fd);
	digest_final_hex(&d, hex);
	e->sha256 = arena_strdup(&w->in->arena, hex);
	w->m->nfiles++;
	w->m->total_bytes += e->size;
}

static void cc_walk_dir(struct cc_walk *w, int dfd, const char *rel, int depth)
{
	DIR *d = fdopendir(dfd);
	struct dirent *de;

	if (!d) {
		w->err = -errno;
		w->err_path = rel;
		(void)close(dfd);
		return;
	}
	while (!w->err && (de = readdir(d))) {
		const char *n = de->d_name;
		struct stat st;
		if (!strcmp(n, ".") || !strcmp(n, ".."))
			continue;
		if (fstatat(dirfd(d), n, &st, AT_SYMLINK_NOFOLLOW) < 0)
			continue;
		char *path = arena_printf(&w->in->arena, "%s/%s", rel, n);
		if (strpbrk(n, "\t\n\r")) {
			w->err = -SC_EUNSAFE;
			w->err_path = path;
			break;
		}
		if (S_ISDIR(st.st_mode)) {
			struct mf_entry *e = manifest_add(&w->in->arena, w->m, MF_DIR, path);
			e->mode = st.st_mode & 0777;
			int sub = openat(dirfd(d), n, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
			if (sub < 0 || depth > 64) {
				w->err = sub < 0 ? -errno : -ELOOP;
				w->err_path = path;
				if (sub >= 0)
					(void)close(sub);
				break;
			}
			cc_walk_dir(w, sub, path, depth + 1);
		} else if (S_ISLNK(st.st_mode)) {
			char target[4096];
			ssize_t k = readlinkat(dirfd(d), n, target, sizeof(target) - 1);
			if (k < 0)
				continue;
			target[k] = '\0';
			struct mf_entry *e = manifest_add(&w->in->arena, w->m, MF_SYMLINK, path);
			e->target = arena_strdup(&w->in->arena, target);
		} else if (S_ISREG(st.st_mode)) {
			cc_walk_file(w, dirfd(d), n, path, &st);
		}
	}
	closedir(d);
}

int compile_scan_tree(struct install *in, int dirfd, const char *entry, struct manifest *m,
		      bool with_ext, const char **ret_err_path)
{
	struct cc_walk w = { .in = in, .m = m };
	static const char *const roots[] = { "gem", "ext" };

	/* A fresh entry list: the build added, changed and maybe removed files. */
	m->entries = NULL;
	m->nentries = m->cap = 0;
	m->nfiles = 0;
	m->total_bytes = 0;
	for (size_t i = 0; i < (with_ext ? 2u : 1u) && !w.err; i++) {
		int fd = fs_open_dirat(dirfd, arena_printf(&in->arena, "%s/%s", entry, roots[i]));
		if (fd < 0) {
			w.err = fd;
			w.err_path = roots[i];
			break;
		}
		cc_walk_dir(&w, fd, roots[i], 0);
	}
	if (w.err)
		*ret_err_path = w.err_path;
	return w.err;
}

static void cc_scan(struct compile_job *c)
{
	struct install *in = c->in;
	struct gem *g = c->gem;
	struct manifest *m = g->manifest;
	struct cc_walk w = { .in = in, .m = m };

	int tfd = promote_tree_fd(in, g);

	if (!fs_exists_at(tfd, arena_printf(&in->arena, "%s/%s/gem.build_complete", g->entry,
					    g->ext_rel ? g->ext_rel : "ext"))) {
		job_fail(&c->job, -SC_EBUILD, "the build of %s did not complete (no gem.build_complete)",
			 g->full_name);
		cc_enter(c, CC_FAILED);
		return;
	}
	/* A git gem in a directory of its checkout builds into gem/ (git_ext_entry_rel). */
	bool ext = fs_is_dir_at(tfd, arena_printf(&in->arena, "%s/ext", g->entry));
	w.err = compile_scan_tree(in, tfd, g->entry, m, ext, &w.err_path);
	if (w.err) {
		job_fail(&c->job, w.err, "cannot read the build of %s: %s: %s", g->full_name,
			 w.err_path, sc_strerror(w.err));
		cc_enter(c, CC_FAILED);
		return;
	}
	m->has_ext = ext;
	in->stats.compiled++;
	cc_enter(c, CC_DONE);
}

static void cc_failed(struct compile_job *c)
{
	struct install *in = c->in;

	if (c->spawned && !c->child_done)
		return;
	if (c->have_token) {
		jobserver_release(in->jobserver);
		c->have_token = false;
	}
	jobserver_cancel(in->jobserver, &c->waiter);
	promote_discard_tree(in, c->gem);
	cache_unlock_entry(in, c->gem);
	job_finish(&c->job);
}

static void compile_step(struct job *j)
{
	struct compile_job *c = container_of(j, struct compile_job, job);

	if (j->canceled && c->state != CC_DONE && c->state != CC_FAILED) {
		if (c->spawned && !c->child_done)
			return; /* compile_cancel signalled it; wait for the exit */
		cc_enter(c, CC_FAILED);
	}
	switch (c->state) {
	case CC_START:
		cc_start(c);
		break;
	case CC_TOKEN:
		cc_spawn(c);
		break;
	case CC_RUN:
		cc_run(c);
		break;
	case CC_SCAN:
		cc_scan(c);
		break;
	case CC_DONE:
		job_finish(j);
		break;
	case CC_FAILED:
		cc_failed(c);
		break;
	case CC_STATE__COUNT:
		SC_ASSERT(!"bad state");
	}
}

static void compile_cancel(struct job *j)
{
	struct compile_job *c = container_of(j, struct compile_job, job);

	/* The server and its build share a process group: both end, the call fails. */
	if (c->spawned && !c->child_done)
		(void)child_kill(&c->server->rpc.child, SIGTERM);
}

static void compile_release(struct job *j)
{
	struct compile_job *c = container_of(j, struct compile_job, job);

	sbuf_release(&c->out);
	sbuf_release(&c->payload);
	sbuf_release(&c->call.result);
	sbuf_release(&c->gem->metadata_gz);
}

static const struct job_ops compile_ops = {
	.kind = JOB_COMPILE,
	.step = compile_step,
	.cancel = compile_cancel,
	.release = compile_release,
};

/* Runtime dependencies, transitively: what the build may require. */
static void compile_depend_on_deps(struct compile_job *c, struct gem *g, struct hmap *seen)
{
	for (size_t i = 0; i < g->ndeps; i++) {
		struct gem *d = g->deps[i];
		if (d == c->gem || hmap_get(seen, strv_from(d->name)))
			continue;
		hmap_put(seen, strv_from(d->name), d);
		/* A gem of the same git checkout is installed with this build's own entry. */
		if (d->last && !(d->git && d->git == c->gem->git))
			job_depends(&c->job, d->last);
		compile_depend_on_deps(c, d, seen);
	}
}

/* Build cost for ordering: bytes of the extension sources (slow builds first). */
static int compile_prio(const struct gem *g)
{
	const struct manifest *m = g->manifest;
	uint64_t bytes = 0;

	for (size_t i = 0; i < m->nentries; i++)
		if (m->entries[i].type == MF_FILE && !strncmp(m->entries[i].path, "gem/ext/", 8))
			bytes += m->entries[i].size;
	return (int)SC_MIN(bytes / 1024 + 1000u * g->ndependents, (uint64_t)INT32_MAX);
}

struct job *compile_job_new(struct install *in, struct gem *g, struct job *after)
{
	struct compile_job *c = arena_alloc(&in->arena, sizeof(*c));
	struct hmap seen;

	c->in = in;
	c->gem = g;
	c->waiter.granted = cc_granted;
	job_init(&c->job, in->sched, &compile_ops, g->full_name, compile_prio(g));
	job_depends(&c->job, after);
	hmap_init(&seen);
	compile_depend_on_deps(c, g, &seen);
	hmap_release(&seen);
	promote_depends_on(g, &c->job);
	sched_submit(in->sched, &c->job);
	g->compile = c;
	return &c->job;
}

void compile_output_tail(const struct job *j, char *buf, size_t size)
{
	const struct compile_job *c = container_of_const(j, struct compile_job, job);
	const struct sbuf *out = &c->out;
	size_t end = out->len, start;

	buf[0] = '\0';
	if (j->ops != &compile_ops || c->state != CC_RUN || !out->buf)
		return;
	while (end && (out->buf[end - 1] == '\n' || out->buf[end - 1] == '\r'))
		end--;
	start = end;
	while (start && out->buf[start - 1] != '\n')
		start--;
	size_t n = SC_MIN(end - start, size - 1);
	for (size_t i = 0; i < n; i++) {
		char ch = out->buf[start + i];
		buf[i] = (ch < 0x20 || ch == 0x7f) ? ' ' : ch;
	}
	buf[n] = '\0';
}

void compile_stop_servers(struct install *in)
{
	struct compile_pool *p = in->builders;

	if (!p)
		return;
	for (unsigned i = 0; i < p->n; i++)
		rpc_stop(&p->servers[i]->rpc);
	uint64_t deadline = clock_now_ns() + 2000000000u;
	for (unsigned i = 0; i < p->n; i++) {
		struct rpc *r = &p->servers[i]->rpc;
		while (rpc_running(r) && !r->child.exited && clock_now_ns() < deadline)
			reactor_poll(in->reactor, 50);
		/*
		 * Still running after the deadline: its group is killed. (A server
		 * that exited killed its own group first: helper.rb; a reaped
		 * leader's pid is not signalled, it may lead another group now.)
		 */
		if (rpc_running(r)) {
			(void)child_kill(&r->child, SIGKILL);
			while (rpc_running(r) && !r->child.exited)
				reactor_poll(in->reactor, 50);
		}
		/*
		 * Exited, its group killed, and still not at EOF: something a
		 * build started in a session of its own holds the pipe. Not
		 * waited for (it could hold it for ever).
		 */
		uint64_t eof_by = clock_now_ns() + 500000000u;
		while (rpc_running(r) && clock_now_ns() < eof_by)
			reactor_poll(in->reactor, 50);
		if (rpc_running(r))
			child_drop_output(&r->child);
	}
}
