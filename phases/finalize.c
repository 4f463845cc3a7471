/*
 * finalize.c: the project-level files, once every gem is in place.
 *
 *   FIN_START --> FIN_WRITE --> FIN_RENAME --> FIN_WRITE_STATE --> FIN_DONE
 *                     |             |   \--state unchanged---------> FIN_DONE
 *                     \-------------+--------------+---------------> FIN_FAILED
 *                                      (a write, rename or mkdir failed)
 *
 * Every change of state goes through fin_enter() (the edges of fin_edge_ok).
 *
 * FIN_START   renders what the project should hold and compares it with what
 *             it holds: <app config>/config (BUNDLE_PATH, so that a plain
 *             `bundle exec` finds the gems), <app config>/scint.lock.marshal
 *             (the runtime lock of `scint exec`: see fin_marshal, in Ruby's
 *             Marshal format; a git gem's paths are in its checkout) and
 *             <app config>/scint.state (the fingerprint a
 *             later no-op run compares, and the few lines `scint exec` reads:
 *             root, bundle_path, lockfile_sha256, bundler_*; then the
 *             snapshot of phases/snapshot.c). Files that would not change
 *             are not written.
 * FIN_WRITE   writes the changed config and runtime lock under temporary names;
 * FIN_RENAME  renames them into place, then renders the state (its snapshot
 *             sees them as they stay) and writes it if it changed;
 * FIN_WRITE_STATE renames the state into place, last.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/digest.h"
#include "base/err.h"
#include "bundle/config.h"
#include "bundle/marshal.h"
#include "bundle/names.h"
#include "engine/ioq.h"
#include "fsops/fsops.h"
#include "phases/phase.h"

#define FIN_FILES 3
/* The runtime lock's format (the shim checks it; scint.state names it, so a new format is written). */
#define FIN_RUNTIME_LOCK_FORMAT 4

/* The finalize job's state lives in the install (one per run). */
#define F (in->fin)

enum fin_state {
	FIN_START,
	FIN_WRITE,
	FIN_RENAME,
	FIN_WRITE_STATE,
	FIN_DONE,
	FIN_FAILED,
	FIN_STATE__COUNT,
};

static const char *const fin_state_name[FIN_STATE__COUNT] = {
	"START", "WRITE", "RENAME", "WRITE_STATE", "DONE", "FAILED",
};

struct fin_file {
	const char *name; /* in the app config dir */
	char tmp[300];
	struct sbuf text;
	bool changed;
	struct ioq_op op;
};

struct finalize_state {
	enum fin_state state;
	int dirfd;
	struct fin_file files[FIN_FILES];
	unsigned ops_left;
	int err;
	const char *err_name;
};


const char *install_app_config_dir(struct install *in)
{
	const char *p = in->config->local.path;
	const char *slash = p ? strrchr(p, '/') : NULL;

	if (!slash)
		return arena_printf(&in->arena, "%s/.bundle", in->opts.app_dir);
	return arena_strndup(&in->arena, p, (size_t)(slash - p));
}

void install_fingerprint(const struct install *in, char ret_hex[65])
{
	struct digest d;

	digest_init(&d, DIGEST_SHA256);
	digest_update(&d, SCINT_VERSION, strlen(SCINT_VERSION) + 1);
	digest_update(&d, in->abi.abi, strlen(in->abi.abi) + 1);
	digest_update(&d, in->install_root, strlen(in->install_root) + 1);
	digest_update(&d, link_mode_name[in->opts.link_mode],
		      strlen(link_mode_name[in->opts.link_mode]) + 1);
	digest_update(&d, in->lock_text.buf, in->lock_text.len);
	digest_update(&d, sbuf_cstr(&in->gemfile_digest), in->gemfile_digest.len);
	for (size_t i = 0; i < in->nroots; i++)
		digest_update(&d, in->roots[i], strlen(in->roots[i]) + 1);
	digest_final_hex(&d, ret_hex);
}

static void fin_state_text(struct install *in, struct sbuf *out)
{
	char hex[DIGEST_SHA256_HEX];

	install_fingerprint(in, hex);
	sbuf_addf(out, "scint-state 1\nfingerprint %s\nroot %s\n", hex, in->install_root);
	/* What `scint exec` needs without reading the runtime lock (cli/cmd_exec.c). */
	sha256_hex(in->lock_text.buf ? in->lock_text.buf : "", in->lock_text.len, hex);
	sbuf_addf(out, "runtime_lock %d\nbundle_path %s\nlockfile_sha256 %s\n", FIN_RUNTIME_LOCK_FORMAT,
		  in->opts.bundle_path, hex);
	if (in->gemfile_sha256[0])
		sbuf_addf(out, "gemfile_sha256 %s\n", in->gemfile_sha256);
	if (in->abi.bundler_version)
		sbuf_addf(out, "bundler_version %s\n", in->abi.bundler_version);
	if (in->abi.bundler_lib)
		sbuf_addf(out, "bundler_lib %s\n", in->abi.bundler_lib);
}

bool install_state_current(struct install *in)
{
	struct sbuf want = SBUF_INIT, have = SBUF_INIT;
	char *path = arena_printf(&in->arena, "%s/scint.state",
				  install_app_config_dir(in));
	bool ok;

	fin_state_text(in, &want);
	/* The snapshot section (snapshot.c) is not part of what must match. */
	ok = fs_read_file(path, &have, 65536) == 0 &&
	     install_state_base_len(have.buf ? have.buf : "", have.len) == want.len &&
	     !memcmp(have.buf, want.buf, want.len);
	/* A removed runtime lock is written again (`scint exec` rebuilds it so). */
	ok = ok && access(arena_printf(&in->arena, "%s/scint.lock.marshal", install_app_config_dir(in)),
			  F_OK) == 0;
	sbuf_release(&want);
	sbuf_release(&have);
	return ok;
}

void install_state_refresh(struct install *in)
{
	struct sbuf want = SBUF_INIT, have = SBUF_INIT;
	const char *dir = install_app_config_dir(in);

	fin_state_text(in, &want);
	install_snapshot_render(in, &want);
	if (fs_read_file(arena_printf(&in->arena, "%s/scint.state", dir), &have, 65536) < 0 ||
	    have.len != want.len || memcmp(have.buf, want.buf, want.len)) {
		int dfd = fs_open_dir(dir);
		if (dfd >= 0) {
			(void)fs_write_atomic(dfd, "scint.state", want.buf, want.len, 0644);
			(void)close(dfd);
		}
	}
	sbuf_release(&want);
	sbuf_release(&have);
}

/* Require paths of a gem installed by someone else: from the spec's stub line. */
static void fin_stub_paths(struct install *in, struct gem *g, struct gem_summary *s)
{
	struct sbuf text = SBUF_INIT;
	char name[300];

	snprintf(name, sizeof(name), "%s.gemspec", g->full_name);
	s->require_paths = arena_alloc(&in->arena, 8 * sizeof(char *));
	if (fs_read_fileat(in->specs_fd, name, &text, 1 << 20) == 0) {
		/* "# stub: name version platform path\0path" on line 2 */
		struct strv rest = sbuf_strv(&text), line;
		while (strv_next_line(&rest, &line)) {
			if (!strv_starts_with(line, "# stub: "))
				continue;
			struct strv f = strv_drop(line, 8), w;
			for (int i = 0; i < 3; i++)
				strv_cut(f, ' ', &w, &f);
			while (f.len && s->nrequire_paths < 8) {
				const char *why;
				strv_cut(f, '\0', &w, &f);
				/* Load paths stay inside the gem (bundle/names.h). */
				if (names_check_spec_path(w, &why) == 0)
					s->require_paths[s->nrequire_paths++] =
						arena_strv(&in->arena, w);
			}
			break;
		}
	}
	if (!s->nrequire_paths)
		s->require_paths[s->nrequire_paths++] = "lib";
	sbuf_release(&text);
}

/* A ","-separated list as an Array of Strings. */
static void fin_marshal_list(struct marshal *m, const char *list)
{
	size_t n = 0;

	for (const char *p = list; p && *p; p += strcspn(p, ","), p += *p == ',')
		n++;
	marshal_array(m, n);
	for (const char *p = list; p && *p; p += *p == ',') {
		size_t k = strcspn(p, ",");
		marshal_str(m, p, k);
		p += k;
	}
}

static void fin_marshal_strs(struct marshal *m, const char *const *v, size_t n)
{
	marshal_array(m, n);
	for (size_t i = 0; i < n; i++)
		marshal_cstr(m, v[i]);
}

/* The runtime lock's gems: every installed (or used in place) gem, in in->gems order. */
static bool fin_runtime_gem(const struct gem *g)
{
	return g->plan != PLAN_UNSUPPORTED;
}

static int fin_cmp_gem_name(const void *a, const void *b)
{
	return strcmp((*(struct gem *const *)a)->name, (*(struct gem *const *)b)->name);
}

/* g's slot in in->gems (sorted by name), or -1. */
static long fin_gem_slot(struct install *in, const struct gem *g)
{
	size_t lo = 0, hi = in->ngems;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = strcmp(in->gems[mid]->name, g->name);
		if (!c)
			return in->gems[mid] == g ? (long)mid : -1;
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return -1;
}

struct fin_tsort {
	struct install *in;
	const long *pos;
	bool *done;
	long *order;
	size_t n;
};

/* Bundler's SpecSet#tsort: nodes by name, children by name, a child before its parent. */
static void fin_tsort_visit(struct fin_tsort *t, size_t i)
{
	struct gem *g = t->in->gems[i];

	if (t->done[i])
		return;
	t->done[i] = true;
	struct gem **deps = arena_alloc(&t->in->arena, (g->ndeps + 1) * sizeof(*deps));
	memcpy(deps, g->deps, g->ndeps * sizeof(*deps));
	qsort(deps, g->ndeps, sizeof(*deps), fin_cmp_gem_name);
	for (size_t k = 0; k < g->ndeps; k++) {
		long slot = fin_gem_slot(t->in, deps[k]);
		if (slot >= 0 && t->pos[slot] >= 0)
			fin_tsort_visit(t, (size_t)slot);
	}
	t->order[t->n++] = t->pos[i];
}

/*
 * The runtime lock, read by the exec shim (phases/ruby/shim/bundler/setup.rb), in
 * a shape that loads fast (arrays, symbols, no per-gem hash keys):
 *   { "version" => 4 (FIN_RUNTIME_LOCK_FORMAT), "ruby", "abi", "gem_home", "bundle_path", "app_dir",
 *     "bundler_version", "bundler_lib", "bundler_spec" (String or nil),
 *     "roots" => [names the install wanted, Gemfile order],
 *     "deps"  => [[name, [groups], platform_ok, require], ...] every Gemfile
 *                dependency in Gemfile order; require is nil (no option),
 *                [] (`require: false`) or [paths],
 *     "gems"  => [[name, version, platform (nil: ruby), full_name (nil:
 *                name-version), source (:gem, :default, :path), dir (path
 *                gems; nil: <gem_home>/gems/<full_name>), load_paths
 *                (absolute, Bundler's order: require paths, then the
 *                extension dir), bindir (a Symbol; false when unknown),
 *                executables (nil: none), ext], ...] by name: as few objects
 *                as can be, each one costs the shim at every start,
 *     "order" => [indexes into gems]: Bundler.setup's order (SpecSet#sorted:
 *                rake first, then the tsort) }
 */
static void fin_marshal(struct install *in, struct sbuf *out)
{
	struct marshal m;
	size_t n = 0;
	long *pos = arena_alloc(&in->arena, (in->ngems + 1) * sizeof(*pos));

	for (size_t i = 0; i < in->ngems; i++)
		pos[i] = fin_runtime_gem(in->gems[i]) ? (long)n++ : -1;
	marshal_init(&m, out);
	marshal_hash(&m, 13);
	marshal_cstr(&m, "version");
	marshal_int(&m, FIN_RUNTIME_LOCK_FORMAT);
	marshal_cstr(&m, "ruby");
	marshal_cstr(&m, in->abi.version);
	marshal_cstr(&m, "abi");
	marshal_cstr(&m, in->abi.abi);
	marshal_cstr(&m, "gem_home");
	marshal_cstr(&m, in->install_root);
	marshal_cstr(&m, "bundle_path");
	marshal_cstr(&m, in->opts.bundle_path);
	marshal_cstr(&m, "app_dir");
	marshal_cstr(&m, in->opts.app_dir);
	marshal_cstr(&m, "bundler_version");
	marshal_cstr(&m, in->abi.bundler_version);
	marshal_cstr(&m, "bundler_lib");
	marshal_cstr(&m, in->abi.bundler_lib);
	marshal_cstr(&m, "bundler_spec");
	marshal_cstr(&m, in->abi.bundler_spec);
	marshal_cstr(&m, "roots");
	if (in->have_roots) {
		fin_marshal_strs(&m, in->roots, in->nroots);
	} else {
		marshal_array(&m, in->lock.ndeps);
		for (size_t i = 0; i < in->lock.ndeps; i++)
			marshal_cstr(&m, in->lock.deps[i].name);
	}
	marshal_cstr(&m, "deps");
	marshal_array(&m, in->gemfile.ndeps);
	for (size_t i = 0; i < in->gemfile.ndeps; i++) {
		const struct gemfile_dep *d = &in->gemfile.deps[i];
		marshal_array(&m, 4);
		marshal_cstr(&m, d->name);
		fin_marshal_strs(&m, d->groups, d->ngroups);
		marshal_bool(&m, d->platform_ok);
		if (d->require)
			fin_marshal_list(&m, d->require);
		else
			marshal_nil(&m);
	}
	marshal_cstr(&m, "gems");
	marshal_array(&m, n);
	for (size_t i = 0; i < in->ngems; i++) {
		struct gem *g = in->gems[i];
		if (!fin_runtime_gem(g))
			continue;
		struct gem_summary stub = { 0 };
		const struct gem_summary *s = g->manifest ? &g->manifest->spec : NULL;
		bool ext = g->manifest && g->manifest->has_ext, known = s != NULL;
		if (!s && (g->plan == PLAN_INSTALLED || g->plan == PLAN_PATH)) {
			if (g->plan == PLAN_INSTALLED && cache_load_manifest(in, g) == 0) {
				s = &g->manifest->spec;
				ext = g->manifest->has_ext;
				known = true;
			} else if (g->plan == PLAN_INSTALLED) {
				fin_stub_paths(in, g, &stub);
				s = &stub;
			}
		}
		const char *dir = NULL;
		const struct git_spec *gs = git_spec_of(g);
		if (g->plan == PLAN_PATH) {
			const char *remote = lock_source_opt(g->spec->source, "remote");
			dir = remote && remote[0] == '/'
				      ? remote
				      : arena_printf(&in->arena, "%s/%s", in->opts.app_dir,
						     remote ? remote : ".");
		} else if (g->git) {
			dir = git_gem_dir(in, g);
			s = gs ? &gs->spec : NULL;
			known = s != NULL;
			ext = gs && gs->spec.nextensions;
		}
		bool ruby = !g->platform || !strcmp(g->platform, "ruby");
		marshal_array(&m, 10);
		marshal_cstr(&m, g->name);
		marshal_cstr(&m, g->version);
		marshal_cstr(&m, ruby ? NULL : g->platform);
		marshal_cstr(&m, ruby ? NULL : g->full_name);
		marshal_sym(&m, g->plan == PLAN_DEFAULT_GEM ? "default"
				: g->plan == PLAN_PATH	    ? "path"
				: g->git		    ? "git"
							    : "gem");
		marshal_cstr(&m, dir);
		if (g->plan == PLAN_DEFAULT_GEM) {
			marshal_array(&m, 0);
		} else if (g->plan == PLAN_PATH) {
			marshal_array(&m, 1);
			marshal_cstr(&m, arena_printf(&in->arena, "%s/lib", dir));
		} else if (g->git) {
			/* its require paths in the checkout, then the shared extension dir */
			size_t nrp = s ? s->nrequire_paths : 0;
			marshal_array(&m, (nrp ? nrp : 1) + (ext ? 1 : 0));
			for (size_t k = 0; k < nrp; k++)
				marshal_cstr(&m, arena_printf(&in->arena, "%s/%s", dir,
							      s->require_paths[k]));
			if (!nrp)
				marshal_cstr(&m, arena_printf(&in->arena, "%s/lib", dir));
			if (ext)
				marshal_cstr(&m, arena_printf(&in->arena, "%s/%s", in->install_root,
							      git_ext_path(in, g->git, gs->dir)));
		} else {
			marshal_array(&m, s->nrequire_paths + (ext ? 1 : 0));
			for (size_t k = 0; k < s->nrequire_paths; k++)
				marshal_cstr(&m, arena_printf(&in->arena, "%s/gems/%s/%s",
							      in->install_root, g->full_name,
							      s->require_paths[k]));
			if (ext)
				marshal_cstr(&m, arena_printf(&in->arena, "%s/%s/%s",
							      in->install_root, in->ext_dir,
							      g->full_name));
		}
		if (known && s->bindir)
			marshal_sym(&m, s->bindir);
		else
			marshal_bool(&m, false);
		if (known && s->nexecutables)
			fin_marshal_strs(&m, s->executables, s->nexecutables);
		else
			marshal_nil(&m);
		marshal_bool(&m, ext);
	}
	struct fin_tsort t = {
		.in = in,
		.pos = pos,
		.done = arena_alloc(&in->arena, (in->ngems + 1) * sizeof(bool)),
		.order = arena_alloc(&in->arena, (in->ngems + 1) * sizeof(long)),
	};
	memset(t.done, 0, (in->ngems + 1) * sizeof(bool));
	long rake = -1;
	for (size_t i = 0; i < in->ngems; i++) {
		if (pos[i] < 0)
			continue;
		if (!strcmp(in->gems[i]->name, "rake"))
			rake = pos[i];
		fin_tsort_visit(&t, i);
	}
	marshal_cstr(&m, "order");
	marshal_array(&m, t.n);
	if (rake >= 0)
		marshal_int(&m, rake);
	for (size_t i = 0; i < t.n; i++)
		if (t.order[i] != rake)
			marshal_int(&m, t.order[i]);
	marshal_release(&m);
}

/* BUNDLE_PATH as Bundler should read it: relative to the app when inside it. */
static const char *fin_bundle_path_value(struct install *in)
{
	const char *bp = in->opts.bundle_path, *app = in->opts.app_dir;
	size_t n = strlen(app);

	if (!strncmp(bp, app, n) && bp[n] == '/')
		return bp + n + 1;
	return bp;
}

static bool fin_differs(int dirfd, const char *name, const struct sbuf *want)
{
	struct sbuf have = SBUF_INIT;
	bool differs = fs_read_fileat(dirfd, name, &have, (size_t)64 << 20) < 0 ||
		       have.len != want->len || memcmp(have.buf, want->buf, want->len);

	sbuf_release(&have);
	return differs;
}

static bool fin_edge_ok(enum fin_state from, enum fin_state to)
{
	if (to == FIN_FAILED)
		return from != FIN_START && from != FIN_DONE && from != FIN_FAILED;
	switch (from) {
	case FIN_START:
		return to == FIN_WRITE;
	case FIN_WRITE:
		return to == FIN_RENAME;
	case FIN_RENAME:
		return to == FIN_WRITE_STATE || to == FIN_DONE;
	case FIN_WRITE_STATE:
		return to == FIN_DONE;
	case FIN_DONE:
	case FIN_FAILED:
	case FIN_STATE__COUNT:
		break;
	}
	return false;
}

static void fin_enter_at(struct install *in, enum fin_state to, int line)
{
	SC_ASSERT(fin_edge_ok(F->state, to));
	trace_state(&in->finalize_job.ctx, fin_state_name[F->state], fin_state_name[to], line);
	F->state = to;
	job_wake(&in->finalize_job);
}

/* Every state change goes through here; debug builds trace the caller's line. */
#define fin_enter(in, to) fin_enter_at((in), (to), TRACE_LINE)

static void fin_op_done(struct ioq_op *op)
{
	struct install *in = op->data;

	if (op->res < 0 && !F->err) {
		F->err = op->res;
		F->err_name = op->path2 ? op->path2 : op->path;
	}
	if (--F->ops_left == 0)
		job_wake(&in->finalize_job);
}

static void fin_submit(struct install *in, struct ioq_op *op)
{
	op->done = fin_op_done;
	op->data = in;
	op->ctx = &in->finalize_job.ctx;
	F->ops_left++;
	ioq_submit(in->ioq, op);
}

/* The app config dir, created when missing; false (the job failed) when it cannot be. */
static bool fin_open_dir(struct install *in)
{
	const char *dir = install_app_config_dir(in);

	if (F->dirfd >= 0)
		return true;
	int r = fs_mkdir_p(dir, 0755);
	F->dirfd = r < 0 ? r : fs_open_dir(dir);
	if (F->dirfd < 0) {
		job_fail(&in->finalize_job, F->dirfd, "cannot create %s: %s", dir,
			 sc_strerror(F->dirfd));
		fin_enter(in, FIN_FAILED);
		return false;
	}
	trace_name_fd(F->dirfd, dir);
	return true;
}

static void fin_write_tmp(struct install *in, struct fin_file *f)
{
	snprintf(f->tmp, sizeof(f->tmp), ".%s.tmp-%d", f->name, (int)getpid());
	ioq_prep_write_file(&f->op, F->dirfd, f->tmp, 0644, f->text.buf, f->text.len);
	fin_submit(in, &f->op);
}

static void fin_start(struct install *in)
{
	F->files[0].name = "config";
	F->files[1].name = "scint.lock.marshal";
	F->files[2].name = "scint.state";
	for (int i = 0; i < FIN_FILES; i++)
		sbuf_init(&F->files[i].text, 0);
	bconfig_render_with(&in->config->local, "BUNDLE_PATH", fin_bundle_path_value(in),
			    &F->files[0].text);
	fin_marshal(in, &F->files[1].text);

	F->dirfd = fs_open_dir(install_app_config_dir(in));
	if (F->dirfd >= 0)
		trace_name_fd(F->dirfd, install_app_config_dir(in));
	fin_enter(in, FIN_WRITE);
	/* The state file is rendered once the others are in place (fin_state_start). */
	for (int i = 0; i < FIN_FILES - 1; i++) {
		struct fin_file *f = &F->files[i];
		f->changed = F->dirfd < 0 || fin_differs(F->dirfd, f->name, &f->text);
		if (f->changed && !fin_open_dir(in))
			return;
		if (f->changed)
			fin_write_tmp(in, f);
	}
}

/*
 * The state file last: it vouches for everything before it, and its
 * snapshot (snapshot.c) must see the config dir's files as they stay.
 */
static void fin_state_start(struct install *in)
{
	struct fin_file *f = &F->files[FIN_FILES - 1];

	fin_state_text(in, &f->text);
	install_snapshot_render(in, &f->text);
	f->changed = F->dirfd < 0 || fin_differs(F->dirfd, f->name, &f->text);
	if (!f->changed) {
		fin_enter(in, FIN_DONE);
		return;
	}
	if (!fin_open_dir(in))
		return;
	fin_enter(in, FIN_WRITE_STATE);
	fin_write_tmp(in, f);
}

static bool fin_check(struct install *in, const char *what)
{
	if (!F->err)
		return false;
	job_fail(&in->finalize_job, F->err, "cannot %s %s: %s", what, F->err_name,
		 sc_strerror(F->err));
	fin_enter(in, FIN_FAILED);
	return true;
}

static void fin_step(struct job *j)
{
	struct install *in = container_of(j, struct install, finalize_job);

	switch (F->state) {
	case FIN_START:
		fin_start(in);
		break;
	case FIN_WRITE:
		if (F->ops_left || fin_check(in, "write"))
			break;
		fin_enter(in, FIN_RENAME);
		for (int i = 0; i < FIN_FILES - 1; i++) {
			struct fin_file *f = &F->files[i];
			if (!f->changed)
				continue;
			ioq_prep_renameat(&f->op, F->dirfd, f->tmp, F->dirfd, f->name, 0);
			fin_submit(in, &f->op);
		}
		break;
	case FIN_RENAME:
		if (F->ops_left || fin_check(in, "rename"))
			break;
		fin_state_start(in);
		break;
	case FIN_WRITE_STATE:
		if (F->ops_left || fin_check(in, "write"))
			break;
		if (F->files[FIN_FILES - 1].op.opcode == IOQ_WRITE_FILE) {
			struct fin_file *f = &F->files[FIN_FILES - 1];
			ioq_prep_renameat(&f->op, F->dirfd, f->tmp, F->dirfd, f->name, 0);
			fin_submit(in, &f->op);
			break;
		}
		fin_enter(in, FIN_DONE);
		break;
	case FIN_DONE:
	case FIN_FAILED:
		if (F->ops_left)
			break;
		job_finish(j);
		break;
	case FIN_STATE__COUNT:
		SC_ASSERT(!"bad state");
	}
}

static void fin_release(struct job *j)
{
	struct install *in = container_of(j, struct install, finalize_job);

	for (int i = 0; i < FIN_FILES; i++)
		sbuf_release(&F->files[i].text);
	if (F->dirfd >= 0) {
		trace_forget_fd(F->dirfd);
		(void)close(F->dirfd);
	}
	F->dirfd = -1;
}

static const struct job_ops finalize_ops = {
	.kind = JOB_FINALIZE,
	.step = fin_step,
	.release = fin_release,
};

void finalize_job_init(struct install *in)
{
	in->fin = arena_alloc(&in->arena, sizeof(*in->fin));
	in->fin->dirfd = -1;
	job_init(&in->finalize_job, in->sched, &finalize_ops, "finalize", 0);
}
