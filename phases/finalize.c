/*
 * finalize.c: the project-level files, once every gem is in place.
 *
 *   FIN_START --> FIN_WRITE --> FIN_RENAME --> FIN_DONE
 *       \--nothing changed------------------> FIN_DONE
 *
 * FIN_START   renders what the project should hold and compares it with what
 *             it holds: <app config>/config (BUNDLE_PATH, so that a plain
 *             `bundle exec` finds the gems), <app config>/scint.lock.marshal
 *             (the runtime lock: gem -> version and load paths, in Ruby's
 *             Marshal format; a git gem's are in its checkout) and <app config>/scint.state (the fingerprint a
 *             later no-op run compares). Files that would not change are not
 *             written.
 * FIN_WRITE   writes the changed files under temporary names;
 * FIN_RENAME  renames them into place (state last).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
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

/* The finalize job's state lives in the install (one per run). */
#define F (in->fin)

enum fin_state {
	FIN_START,
	FIN_WRITE,
	FIN_RENAME,
	FIN_DONE,
	FIN_FAILED,
	FIN_STATE__COUNT,
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


static const char *fin_app_config_dir(struct install *in)
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
}

bool install_state_current(struct install *in)
{
	struct sbuf want = SBUF_INIT, have = SBUF_INIT;
	char *path = arena_printf(&in->arena, "%s/scint.state",
				  fin_app_config_dir(in));
	bool ok;

	fin_state_text(in, &want);
	ok = fs_read_file(path, &have, 4096) == 0 && have.len == want.len &&
	     !memcmp(have.buf, want.buf, want.len);
	sbuf_release(&want);
	sbuf_release(&have);
	return ok;
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

static void fin_marshal(struct install *in, struct sbuf *out)
{
	struct marshal m;
	size_t n = 0;

	for (size_t i = 0; i < in->ngems; i++)
		n += in->gems[i]->plan != PLAN_UNSUPPORTED;
	marshal_init(&m, out);
	marshal_hash(&m, 5);
	marshal_cstr(&m, "version");
	marshal_int(&m, 1);
	marshal_cstr(&m, "ruby");
	marshal_cstr(&m, in->abi.version);
	marshal_cstr(&m, "abi");
	marshal_cstr(&m, in->abi.abi);
	marshal_cstr(&m, "gem_home");
	marshal_cstr(&m, in->install_root);
	marshal_cstr(&m, "gems");
	marshal_hash(&m, n);
	for (size_t i = 0; i < in->ngems; i++) {
		struct gem *g = in->gems[i];
		if (g->plan == PLAN_UNSUPPORTED)
			continue;
		struct gem_summary stub = { 0 };
		const struct gem_summary *s = g->manifest ? &g->manifest->spec : NULL;
		bool ext = g->manifest && g->manifest->has_ext;
		if (!s && (g->plan == PLAN_INSTALLED || g->plan == PLAN_PATH)) {
			if (g->plan == PLAN_INSTALLED && cache_load_manifest(in, g) == 0) {
				s = &g->manifest->spec;
				ext = g->manifest->has_ext;
			} else if (g->plan == PLAN_INSTALLED) {
				fin_stub_paths(in, g, &stub);
				s = &stub;
			}
		}
		marshal_cstr(&m, g->name);
		marshal_hash(&m, 5);
		marshal_cstr(&m, "version");
		marshal_cstr(&m, g->version);
		marshal_cstr(&m, "platform");
		marshal_cstr(&m, g->platform);
		marshal_cstr(&m, "full_name");
		marshal_cstr(&m, g->full_name);
		marshal_cstr(&m, "source");
		marshal_cstr(&m, g->plan == PLAN_DEFAULT_GEM ? "default"
				 : g->plan == PLAN_PATH	     ? "path"
				 : g->git		     ? "git"
							     : "gem");
		marshal_cstr(&m, "load_paths");
		const struct git_spec *gs = git_spec_of(g);
		if (g->git) {
			/* bundler/gems/<base>-<rev12>/<dir>/<require path>, then the shared extension dir. */
			const char *root = arena_printf(&in->arena, "%s/bundler/gems/%s%s%s",
							in->install_root, g->git->install_name,
							gs && *gs->dir ? "/" : "", gs ? gs->dir : "");
			size_t nrp = gs ? gs->spec.nrequire_paths : 0;
			bool gext = gs && gs->spec.nextensions;
			marshal_array(&m, (nrp ? nrp : 1) + (gext ? 1 : 0));
			for (size_t k = 0; k < nrp; k++)
				marshal_cstr(&m, arena_printf(&in->arena, "%s/%s", root,
							      gs->spec.require_paths[k]));
			if (!nrp)
				marshal_cstr(&m, arena_printf(&in->arena, "%s/lib", root));
			if (gext)
				marshal_cstr(&m, arena_printf(&in->arena, "%s/%s", in->install_root,
							      git_ext_path(in, g->git, gs->dir)));
		} else if (g->plan == PLAN_DEFAULT_GEM) {
			marshal_array(&m, 0);
		} else if (g->plan == PLAN_PATH) {
			const char *remote = lock_source_opt(g->spec->source, "remote");
			marshal_array(&m, 1);
			char *p = remote && remote[0] == '/'
					  ? arena_printf(&in->arena, "%s/lib", remote)
					  : arena_printf(&in->arena, "%s/%s/lib", in->opts.app_dir,
							 remote ? remote : ".");
			marshal_cstr(&m, p);
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
	}
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

static void fin_start(struct install *in)
{
	const char *dir = fin_app_config_dir(in);
	bool any = false;

	F->files[0].name = "config";
	F->files[1].name = "scint.lock.marshal";
	F->files[2].name = "scint.state";
	for (int i = 0; i < FIN_FILES; i++)
		sbuf_init(&F->files[i].text, 0);
	bconfig_render_with(&in->config->local, "BUNDLE_PATH", fin_bundle_path_value(in),
			    &F->files[0].text);
	fin_marshal(in, &F->files[1].text);
	fin_state_text(in, &F->files[2].text);

	F->dirfd = fs_open_dir(dir);
	for (int i = 0; i < FIN_FILES; i++) {
		struct fin_file *f = &F->files[i];
		f->changed = F->dirfd < 0 || fin_differs(F->dirfd, f->name, &f->text);
		any |= f->changed;
	}
	if (!any) {
		F->state = FIN_DONE;
		job_wake(&in->finalize_job);
		return;
	}
	if (F->dirfd < 0) {
		int r = fs_mkdir_p(dir, 0755);
		F->dirfd = r < 0 ? r : fs_open_dir(dir);
		if (F->dirfd < 0) {
			job_fail(&in->finalize_job, F->dirfd, "cannot create %s: %s", dir,
				 sc_strerror(F->dirfd));
			F->state = FIN_FAILED;
			job_wake(&in->finalize_job);
			return;
		}
	}
	trace_name_fd(F->dirfd, dir);
	for (int i = 0; i < FIN_FILES; i++) {
		struct fin_file *f = &F->files[i];
		if (!f->changed)
			continue;
		snprintf(f->tmp, sizeof(f->tmp), ".%s.tmp-%d", f->name, (int)getpid());
		ioq_prep_write_file(&f->op, F->dirfd, f->tmp, 0644, f->text.buf, f->text.len);
		fin_submit(in, &f->op);
	}
	F->state = FIN_WRITE;
}

static bool fin_check(struct install *in, const char *what)
{
	if (!F->err)
		return false;
	job_fail(&in->finalize_job, F->err, "cannot %s %s: %s", what, F->err_name,
		 sc_strerror(F->err));
	F->state = FIN_FAILED;
	job_wake(&in->finalize_job);
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
		/* The state file goes last: it vouches for everything before it. */
		for (int i = 0; i < FIN_FILES; i++) {
			struct fin_file *f = &F->files[i];
			if (!f->changed)
				continue;
			ioq_prep_renameat(&f->op, F->dirfd, f->tmp, F->dirfd, f->name, 0);
			fin_submit(in, &f->op);
			if (i == FIN_FILES - 2)
				break;
		}
		F->state = FIN_RENAME;
		break;
	case FIN_RENAME:
		if (F->ops_left || fin_check(in, "rename"))
			break;
		if (F->files[FIN_FILES - 1].changed &&
		    F->files[FIN_FILES - 1].op.opcode == IOQ_WRITE_FILE) {
			struct fin_file *f = &F->files[FIN_FILES - 1];
			ioq_prep_renameat(&f->op, F->dirfd, f->tmp, F->dirfd, f->name, 0);
			fin_submit(in, &f->op);
			break;
		}
		F->state = FIN_DONE;
		job_wake(j);
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
