/*
 * materialize.c: place one cached entry into .bundle/ruby/<M.m.0>/ (design.md
 * §1, "Materialize"), driven by its manifest alone.
 *
 *   MAT_START --> MAT_DIRS --> MAT_FILES --> MAT_STUBS --> MAT_SPEC --> MAT_DONE
 *       \--symlink mode-----------------------------------^
 *   (any error) --> MAT_FAILED (waits for its ops)
 *
 * MAT_START  clears what a killed run may have left (gems/<full_name>,
 *            its extension dir, a stale gemspec), then creates the roots.
 *            A directory of these that held nothing when the run opened it
 *            (install.c: created by the run, or found empty) has nothing to
 *            clear: its removals are skipped.
 * MAT_DIRS   mkdirat for the manifest's directories in one round: one
 *            chain per subtree (ioq_submit_after), so a child's mkdirat
 *            never races its parent's.
 * MAT_FILES  one op per file: linkat (hardlink), FICLONE (clone) or
 *            copy_file_range (copy), at most MAT_WINDOW in flight, queued
 *            in batches of MAT_BATCH or more and chained MAT_CHAIN at a time
 *            (one io-wq worker runs a chain's links back to back; each op
 *            keeps its own result). Clones and copies run at flush time,
 *            within the op queue's budget per tick (engine/ioq.h). In auto
 *            mode the first file of the run decides (reflink, else hardlink,
 *            else copy); a cache on another filesystem ends up copying. A
 *            link refused for one file (EMLINK, EXDEV) falls back to a copy.
 * MAT_STUBS  bin/<exe> wrappers, as RubyGems writes them.
 * MAT_SPEC   specifications/<full_name>.gemspec, last: RubyGems and Bundler
 *            consider a gem installed when its spec exists, so a run killed
 *            earlier leaves a gem the next run sees as missing. Linked from
 *            cached/ in hardlink and symlink mode, cloned in clone mode,
 *            copied where the link or clone is refused and in copy mode. With it,
 *            cache/<full_name>.gem, where Bundler keeps each package (`gem
 *            pristine`, `bundle install --local` and `bundle cache` read
 *            it): linked (or cloned, copied, symlinked: the run's link mode)
 *            from the verified inbound/gems/<full_name>.gem. Best effort: a
 *            package no longer in inbound/ (or already in cache/) is skipped.
 *
 * A git checkout goes where Bundler puts it: bundler/gems/<repo>-<rev12>
 * and bundler/gems/extensions/<platform>/<api>/<repo>-<rev12>, binstubs for
 * the executables of each of its gems in the bundle, and no gemspec in
 * specifications/ (its gemspecs are in the checkout).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/clock.h"
#include "base/err.h"
#include "bundle/binstub.h"
#include "engine/ioq.h"
#include "fsops/fsops.h"
#include "phases/phase.h"

#define MAT_WINDOW 128
/* Symlink mode's window (mat_window): its few ops and the binstubs. */
#define MAT_SYMLINK_WINDOW 16
/* Files are queued in batches of at least this many ops (a submit's worth). */
#define MAT_BATCH 64
/* Links per chain: one io-wq worker runs a chain's links back to back. */
#define MAT_CHAIN 16

enum mat_state {
	MAT_START,
	MAT_DIRS,
	MAT_FILES,
	MAT_STUBS,
	MAT_SPEC,
	MAT_DONE,
	MAT_FAILED,
	MAT_STATE__COUNT,
};

static const char *const mat_state_name[MAT_STATE__COUNT] = {
	"START", "DIRS", "FILES", "STUBS", "SPEC", "DONE", "FAILED",
};

struct mat_op {
	struct ioq_op op;
	struct materialize_job *m;
	struct mat_op *next_free;
	bool fell_back; /* already retried as a copy */
	bool optional;  /* cache/<full_name>.gem: a missing source or existing target is fine */
	bool exclusive; /* a root mkdirat where nothing was cleared: EEXIST is a leftover, an error */
};

struct materialize_job {
	struct job job;
	struct install *in;
	struct gem *gem;
	enum mat_state state;
	const struct manifest *mf;
	size_t next, next_dir;
	struct mat_op *ops; /* mat_window() of them, while the job runs (mat_step .. mat_release) */
	struct mat_op *free_ops;
	unsigned inflight;
	int err;
	const char *err_path;
	struct sbuf stubs; /* all binstub texts, back to back */
	const char *spec_name;   /* in specifications/ */
	const char *cached_spec; /* in cached/<abi>/ */
	struct sbuf build_info;
	bool spec_submitted;
	uint64_t files, bytes;
};

static bool mat_edge_ok(enum mat_state from, enum mat_state to)
{
	if (to == MAT_FAILED)
		return from != MAT_DONE && from != MAT_FAILED;
	switch (from) {
	case MAT_START:
		return to == MAT_DIRS || to == MAT_STUBS;
	case MAT_DIRS:
		return to == MAT_DIRS || to == MAT_FILES;
	case MAT_FILES:
		return to == MAT_STUBS;
	case MAT_STUBS:
		return to == MAT_SPEC;
	case MAT_SPEC:
		return to == MAT_DONE;
	case MAT_DONE:
	case MAT_FAILED:
	case MAT_STATE__COUNT:
		break;
	}
	return false;
}

static void mat_enter_at(struct materialize_job *m, enum mat_state to, int line)
{
	SC_ASSERT(mat_edge_ok(m->state, to));
	if (m->state != to)
		trace_state(&m->job.ctx, mat_state_name[m->state], mat_state_name[to], line);
	m->state = to;
	job_wake(&m->job);
}

/* Every state change goes through here; debug builds trace the caller's line. */
#define mat_enter(m, to) mat_enter_at((m), (to), TRACE_LINE)

static bool mat_is_ext(const struct mf_entry *e)
{
	return e->path[0] == 'e'; /* "ext/..." (else "gem/...") */
}

/*
 * Where the entry goes: gems/<full_name> and extensions/.../<full_name>, or
 * for a git checkout bundler/gems/<base>-<rev12> and
 * bundler/gems/extensions/.../<base>-<rev12>, as Bundler places them.
 */
static const char *mat_name(const struct gem *g)
{
	return g->git ? g->git->install_name : g->full_name;
}

static int mat_gems_fd(const struct install *in, const struct gem *g)
{
	return g->git ? in->git_gems_fd : in->gems_fd;
}

static int mat_ext_fd(const struct install *in, const struct gem *g)
{
	return g->git ? in->git_ext_fd : in->ext_fd;
}

/* Destination dirfd and path for a manifest entry. */
static int mat_dst(struct materialize_job *m, const struct mf_entry *e, const char **ret_path)
{
	struct install *in = m->in;

	*ret_path = arena_printf(&in->arena, "%s/%s", mat_name(m->gem), e->path + 4);
	return mat_is_ext(e) ? mat_ext_fd(in, m->gem) : mat_gems_fd(in, m->gem);
}

static const char *mat_src(struct materialize_job *m, const struct mf_entry *e)
{
	return arena_printf(&m->in->arena, "%s/%s", m->gem->entry, e->path);
}

static void mat_op_done(struct ioq_op *op);

static struct mat_op *mat_op_get(struct materialize_job *m)
{
	struct mat_op *o = m->free_ops;

	SC_ASSERT(o);
	m->free_ops = o->next_free;
	m->inflight++;
	o->m = m;
	o->fell_back = false;
	o->optional = false;
	o->exclusive = false;
	o->op.done = mat_op_done;
	o->op.data = m;
	o->op.ctx = &m->job.ctx;
	return o;
}

static void mat_submit(struct materialize_job *m, struct mat_op *o)
{
	ioq_submit(m->in->ioq, &o->op);
}

static bool mat_link_refused(int res)
{
	return res == -EXDEV || res == -EMLINK || res == -EPERM || res == -EOPNOTSUPP ||
	       res == -EINVAL || res == -ENOTTY;
}

static void mat_op_done(struct ioq_op *op)
{
	struct mat_op *o = container_of(op, struct mat_op, op);
	struct materialize_job *m = o->m;

	if ((op->opcode == IOQ_LINKAT || op->opcode == IOQ_CLONE_FILE) && !o->fell_back &&
	    mat_link_refused(op->res)) {
		/* This file cannot be linked (link count, filesystem): copy it. */
		o->fell_back = true;
		int sfd = op->dirfd, dfd = op->dirfd2;
		const char *src = op->path, *dst = op->path2;
		ioq_prep_copy_file(op, sfd, src, dfd, dst, op->mode ? op->mode : 0644);
		mat_submit(m, o);
		return;
	}
	bool benign = (op->opcode == IOQ_UNLINKAT && op->res == -ENOENT) ||
		      (op->opcode == IOQ_MKDIRAT && op->res == -EEXIST && !o->exclusive) ||
		      (o->optional && (op->res == -ENOENT || op->res == -EEXIST));
	if (op->res < 0 && !benign && !m->err) {
		m->err = op->res;
		m->err_path = op->path2 ? op->path2 : op->path;
	}
	if (op->res > 0 && (op->opcode == IOQ_COPY_FILE || op->opcode == IOQ_CLONE_FILE))
		m->bytes += (uint64_t)op->res;
	m->inflight--;
	o->next_free = m->free_ops;
	m->free_ops = o;
	job_wake(&m->job);
}

/* Stops at the first failed op once everything in flight has come back. */
static bool mat_failed_batch(struct materialize_job *m)
{
	if (!m->err)
		return false;
	job_fail(&m->job, m->err, "cannot install %s: %s: %s", m->gem->full_name, m->err_path,
		 sc_strerror(m->err));
	mat_enter(m, MAT_FAILED);
	return true;
}

/*
 * Auto mode: the first file placed by the run decides the link mode, by
 * trying a reflink, then a hardlink, then settling for copies.
 */
static int mat_probe(struct materialize_job *m, const struct mf_entry *e)
{
	struct install *in = m->in;
	const char *dst, *src = mat_src(m, e);
	int dfd = mat_dst(m, e, &dst);
	uint64_t t0 = clock_now_ns();
	int64_t r = fs_copy_file_at(in->cached_fd, src, dfd, dst, e->mode, true);

	trace_io(&m->job.ctx, "clone", in->cached_fd, src, dfd, dst, r, r < 0 ? (int)r : 0, t0,
		 clock_now_ns());
	if (r >= 0) {
		in->link_mode = LINK_CLONE;
		return 0;
	}
	t0 = clock_now_ns();
	r = linkat(in->cached_fd, src, dfd, dst, 0) < 0 ? -errno : 0;
	trace_io(&m->job.ctx, "linkat", in->cached_fd, src, dfd, dst, -1, (int)r, t0,
		 clock_now_ns());
	if (r == 0) {
		in->link_mode = LINK_HARDLINK;
		return 0;
	}
	in->link_mode = LINK_COPY;
	t0 = clock_now_ns();
	r = fs_copy_file_at(in->cached_fd, src, dfd, dst, e->mode, false);
	trace_io(&m->job.ctx, "copy", in->cached_fd, src, dfd, dst, r, r < 0 ? (int)r : 0, t0,
		 clock_now_ns());
	return r < 0 ? (int)r : 0;
}

static void mat_start(struct materialize_job *m)
{
	struct install *in = m->in;
	struct gem *g = m->gem;
	const struct manifest *mf = g->manifest;
	int r;

	m->mf = mf;
	bool exes = mf->spec.nexecutables;
	if (g->git)
		for (size_t i = 0; i < g->git->nspecs; i++)
			exes = exes || g->git->specs[i].spec.nexecutables;
	if ((g->git && (install_git_gems_fd(in) < 0 || (mf->has_ext && install_git_ext_fd(in) < 0))) ||
	    (!g->git && mf->has_ext && install_ext_fd(in) < 0) || (exes && install_bin_fd(in) < 0)) {
		job_fail(&m->job, -errno, "cannot create the directories of %s in %s",
			 g->full_name, in->install_root);
		mat_enter(m, MAT_FAILED);
		return;
	}
	/*
	 * Leftovers of an interrupted install (the spec is missing, or --force),
	 * except in a directory that held nothing when the run opened it.
	 */
	r = 0;
	if (!(g->git ? in->git_gems_fresh : in->gems_fresh))
		r = fs_rmtree_at(mat_gems_fd(in, g), mat_name(g));
	if (r == 0 && mf->has_ext && !(g->git ? in->git_ext_fresh : in->ext_fresh))
		r = fs_rmtree_at(mat_ext_fd(in, g), mat_name(g));
	if (r < 0) {
		job_fail(&m->job, r, "cannot remove the old install of %s: %s", g->full_name,
			 sc_strerror(r));
		mat_enter(m, MAT_FAILED);
		return;
	}
	struct mat_op *o;
	if (!g->git && !in->specs_fresh) {
		o = mat_op_get(m);
		ioq_prep_unlinkat(&o->op, in->specs_fd, m->spec_name, 0);
		mat_submit(m, o);
	}
	if (in->link_mode == LINK_SYMLINK) {
		o = mat_op_get(m);
		ioq_prep_symlinkat(&o->op, arena_printf(&in->arena, "%s/%s/gem", in->cached_dir,
							g->entry),
				   mat_gems_fd(in, g), mat_name(g));
		mat_submit(m, o);
		if (mf->has_ext) {
			o = mat_op_get(m);
			ioq_prep_symlinkat(&o->op,
					   arena_printf(&in->arena, "%s/%s/ext", in->cached_dir,
							g->entry),
					   mat_ext_fd(in, g), mat_name(g));
			mat_submit(m, o);
		}
		m->files = mf->nfiles;
		m->bytes = mf->total_bytes;
		mat_enter(m, MAT_STUBS);
		return;
	}
	/*
	 * Where nothing was cleared, the gem's own roots must be new: one that
	 * exists is another process's (nothing locks the bundle path) and is
	 * not merged into.
	 */
	o = mat_op_get(m);
	o->exclusive = g->git ? in->git_gems_fresh : in->gems_fresh;
	ioq_prep_mkdirat(&o->op, mat_gems_fd(in, g), mat_name(g), 0755);
	mat_submit(m, o);
	if (mf->has_ext) {
		o = mat_op_get(m);
		o->exclusive = g->git ? in->git_ext_fresh : in->ext_fresh;
		ioq_prep_mkdirat(&o->op, mat_ext_fd(in, g), mat_name(g), 0755);
		mat_submit(m, o);
	}
	mat_enter(m, MAT_DIRS);
}

/* The first two components ("gem/lib"): the subtree a directory belongs to. */
static size_t mat_top_len(const char *path)
{
	const char *p = strchr(path, '/');

	p = p ? strchr(p + 1, '/') : NULL;
	return p ? (size_t)(p - path) : strlen(path);
}

/*
 * Every directory of the manifest in one round: the manifest is sorted, so
 * a directory comes after its parent; each subtree of the roots is one
 * chain of mkdirat ops (a parent's mkdirat completes before its child's
 * starts), the subtrees run side by side. A manifest with more directories
 * than the window takes one round per window.
 */
static void mat_dirs(struct materialize_job *m)
{
	struct ioq_op *tail = NULL;
	const char *top = NULL;
	size_t top_len = 0;

	if (m->inflight || mat_failed_batch(m))
		return;
	while (m->next_dir < m->mf->nentries && m->free_ops) {
		const struct mf_entry *e = &m->mf->entries[m->next_dir++];
		if (e->type != MF_DIR)
			continue;
		const char *dst;
		int dfd = mat_dst(m, e, &dst);
		struct mat_op *o = mat_op_get(m);
		ioq_prep_mkdirat(&o->op, dfd, dst, e->mode ? e->mode : 0755);
		size_t len = mat_top_len(e->path);
		bool same = top && len == top_len && !memcmp(top, e->path, len);
		if (!same || !tail || !ioq_submit_after(m->in->ioq, tail, &o->op))
			mat_submit(m, o);
		tail = &o->op;
		top = e->path;
		top_len = len;
	}
	if (m->next_dir >= m->mf->nentries && !m->inflight)
		mat_enter(m, MAT_FILES);
}

static void mat_files(struct materialize_job *m)
{
	struct install *in = m->in;

	struct ioq_op *tail = NULL;
	unsigned nchain = 0, nfree = MAT_WINDOW - m->inflight;

	if (mat_failed_batch(m))
		return;
	/* Refill in batches: a few completions do not make a submit of their own. */
	if (m->inflight && nfree < MAT_BATCH && m->next < m->mf->nentries)
		return;
	while (m->next < m->mf->nentries && m->free_ops) {
		const struct mf_entry *e = &m->mf->entries[m->next++];
		const char *dst;
		int dfd;
		if (e->type == MF_DIR)
			continue;
		dfd = mat_dst(m, e, &dst);
		if (e->type == MF_SYMLINK) {
			struct mat_op *o = mat_op_get(m);
			ioq_prep_symlinkat(&o->op, e->target, dfd, dst);
			mat_submit(m, o);
			continue;
		}
		m->files++;
		if (in->link_mode == LINK_AUTO) {
			int r = mat_probe(m, e);
			if (r < 0) {
				job_fail(&m->job, r, "cannot install %s: %s: %s", m->gem->full_name,
					 dst, sc_strerror(r));
				mat_enter(m, MAT_FAILED);
				return;
			}
			m->bytes += e->size;
			continue;
		}
		const char *src = mat_src(m, e);
		struct mat_op *o = mat_op_get(m);
		switch (in->link_mode) {
		case LINK_HARDLINK:
			ioq_prep_linkat(&o->op, in->cached_fd, src, dfd, dst);
			o->op.mode = e->mode;
			m->bytes += e->size;
			break;
		case LINK_CLONE:
			ioq_prep_clone_file(&o->op, in->cached_fd, src, dfd, dst, e->mode);
			break;
		default:
			ioq_prep_copy_file(&o->op, in->cached_fd, src, dfd, dst, e->mode);
			break;
		}
		/* Links and clones in chains of MAT_CHAIN (independent results). */
		if (tail && nchain < MAT_CHAIN && ioq_submit_after(in->ioq, tail, &o->op)) {
			nchain++;
		} else {
			mat_submit(m, o);
			nchain = 1;
		}
		tail = &o->op;
	}
	if (m->next < m->mf->nentries || m->inflight)
		return;
	if (!mat_failed_batch(m))
		mat_enter(m, MAT_STUBS);
}

static void mat_stubs(struct materialize_job *m)
{
	struct install *in = m->in;
	const struct gem_summary *one = &m->mf->spec;
	const struct git_repo *repo = m->gem->git;
	/* A git checkout: the executables of each of its locked gems. */
	size_t nspecs = repo ? repo->nspecs : 1, nexe = 0;

	if (m->inflight || mat_failed_batch(m))
		return;
	for (size_t k = 0; k < nspecs; k++)
		nexe += repo ? repo->specs[k].spec.nexecutables : one->nexecutables;
	size_t *ends = arena_alloc(&in->arena, (nexe + 1) * sizeof(*ends));
	const char **names = arena_alloc(&in->arena, (nexe + 1) * sizeof(*names));
	size_t i = 0;
	/* Render all first: the ops point into the buffer, which must not move. */
	for (size_t k = 0; k < nspecs; k++) {
		const struct gem_summary *s = repo ? &repo->specs[k].spec : one;
		if (repo && !hmap_get(&in->by_name, strv_from(s->name)))
			continue; /* in the repository, not in the bundle */
		for (size_t e = 0; e < s->nexecutables; e++) {
			binstub_render(&m->stubs, in->abi.install_name, s->name, s->executables[e]);
			names[i] = s->executables[e];
			ends[i++] = m->stubs.len;
		}
	}
	nexe = i;
	for (i = 0; i < nexe; i++) {
		size_t start = i ? ends[i - 1] : 0;
		struct mat_op *o = mat_op_get(m);
		ioq_prep_write_file(&o->op, in->bin_fd, names[i], 0755, m->stubs.buf + start,
				    ends[i] - start);
		mat_submit(m, o);
	}
	/* RubyGems' build_info/<full_name>.info: the build arguments, one per line. */
	if (m->gem->nbuild_args) {
		for (size_t k = 0; k < m->gem->nbuild_args; k++)
			sbuf_addf(&m->build_info, "%s\n", m->gem->build_args[k]);
		struct mat_op *o = mat_op_get(m);
		ioq_prep_write_file(&o->op, in->root_fd,
				    arena_printf(&in->arena, "build_info/%s.info", m->gem->full_name),
				    0644, m->build_info.buf, m->build_info.len);
		mat_submit(m, o);
	}
	mat_enter(m, MAT_SPEC);
}

/* cache/<full_name>.gem from inbound/gems/ (see MAT_SPEC above). */
static void mat_package(struct materialize_job *m)
{
	struct install *in = m->in;
	const char *name = arena_printf(&in->arena, "%s.gem", m->gem->full_name);
	const char *dst = arena_printf(&in->arena, "cache/%s", name);

	if (in->link_mode == LINK_SYMLINK && !fs_exists_at(in->inbound_fd, name))
		return; /* no dangling link */
	struct mat_op *o = mat_op_get(m);

	o->optional = true;
	switch (in->link_mode) {
	case LINK_HARDLINK:
		ioq_prep_linkat(&o->op, in->inbound_fd, name, in->root_fd, dst);
		o->op.mode = 0644;
		break;
	case LINK_CLONE:
		ioq_prep_clone_file(&o->op, in->inbound_fd, name, in->root_fd, dst, 0644);
		break;
	case LINK_SYMLINK:
		ioq_prep_symlinkat(&o->op,
				   arena_printf(&in->arena, "%s/inbound/gems/%s", in->opts.cache_root,
						name),
				   in->root_fd, dst);
		break;
	default:
		ioq_prep_copy_file(&o->op, in->inbound_fd, name, in->root_fd, dst, 0644);
		break;
	}
	mat_submit(m, o);
}

static void mat_spec(struct materialize_job *m)
{
	struct install *in = m->in;

	if (m->inflight || mat_failed_batch(m))
		return;
	/* A git gem's gemspecs are in its checkout: nothing in specifications/. */
	if (!m->spec_submitted && !m->gem->git) {
		struct mat_op *o = mat_op_get(m);
		/*
		 * Symlink mode shares the gem's tree with the cache already: its
		 * gemspec is linked too (one batched linkat instead of a copy
		 * run at flush time), a copy where the link is refused.
		 */
		if (in->link_mode == LINK_HARDLINK || in->link_mode == LINK_SYMLINK)
			ioq_prep_linkat(&o->op, in->cached_fd, m->cached_spec, in->specs_fd,
					m->spec_name);
		else if (in->link_mode == LINK_CLONE)
			ioq_prep_clone_file(&o->op, in->cached_fd, m->cached_spec, in->specs_fd,
					    m->spec_name, 0644);
		else
			ioq_prep_copy_file(&o->op, in->cached_fd, m->cached_spec, in->specs_fd,
					   m->spec_name, 0644);
		o->op.mode = 0644;
		mat_submit(m, o);
		mat_package(m);
		m->spec_submitted = true;
		return;
	}
	/* The gemspec is a materialized file too (one more link or copy). */
	in->stats.files_materialized += m->files + 1;
	in->stats.bytes_materialized += m->bytes;
	install_event(in, m->gem, "installed");
	mat_enter(m, MAT_DONE);
}

/*
 * Ops a job may have in flight at once. Symlink mode places no file: a few
 * links and the binstubs (all written at once), so a small window unless
 * the gem has many executables.
 */
static unsigned mat_window(const struct materialize_job *m)
{
	const struct git_repo *repo = m->gem->git;
	size_t nexe = 0;

	if (!m->gem->manifest)
		return MAT_WINDOW;
	if (!repo)
		nexe = m->gem->manifest->spec.nexecutables;
	for (size_t k = 0; repo && k < repo->nspecs; k++)
		nexe += repo->specs[k].spec.nexecutables;
	/* mat_stubs takes one op per binstub at once, plus build_info. */
	unsigned big = nexe + 4 > MAT_WINDOW ? (unsigned)nexe + 4 : MAT_WINDOW;
	if (m->in->link_mode != LINK_SYMLINK)
		return big;
	return nexe + 4 <= MAT_SYMLINK_WINDOW ? MAT_SYMLINK_WINDOW : big;
}

static void mat_step(struct job *j)
{
	struct materialize_job *m = container_of(j, struct materialize_job, job);

	if (j->canceled && m->state != MAT_DONE && m->state != MAT_FAILED)
		mat_enter(m, MAT_FAILED);
	if (!m->ops && m->state == MAT_START) {
		/* the window of a job that runs, not of every job planned */
		int n = (int)mat_window(m);
		m->ops = sc_xcalloc((size_t)n, sizeof(*m->ops));
		for (int i = n - 1; i >= 0; i--) {
			m->ops[i].next_free = m->free_ops;
			m->free_ops = &m->ops[i];
		}
	}
	switch (m->state) {
	case MAT_START:
		mat_start(m);
		break;
	case MAT_DIRS:
		mat_dirs(m);
		break;
	case MAT_FILES:
		mat_files(m);
		break;
	case MAT_STUBS:
		mat_stubs(m);
		break;
	case MAT_SPEC:
		mat_spec(m);
		break;
	case MAT_DONE:
		job_finish(j);
		break;
	case MAT_FAILED:
		if (!m->inflight)
			job_finish(j);
		break;
	case MAT_STATE__COUNT:
		SC_ASSERT(!"bad state");
	}
}

static void mat_release(struct job *j)
{
	struct materialize_job *m = container_of(j, struct materialize_job, job);

	sbuf_release(&m->stubs);
	sbuf_release(&m->build_info);
	free(m->ops); /* released at reap: no op of the job is in flight */
	m->ops = NULL;
	m->free_ops = NULL;
}

static const struct job_ops materialize_ops = {
	.kind = JOB_MATERIALIZE,
	.step = mat_step,
	.release = mat_release,
};

struct job *materialize_job_new(struct install *in, struct gem *g, struct job *after)
{
	struct materialize_job *m = arena_alloc(&in->arena, sizeof(*m));

	m->in = in;
	m->gem = g;
	m->spec_name = arena_printf(&in->arena, "%s.gemspec", g->full_name);
	m->cached_spec = arena_printf(&in->arena, "%s.gemspec", g->entry);
	sbuf_init(&m->build_info, 0);
	sbuf_init(&m->stubs, 0);
	job_init(&m->job, in->sched, &materialize_ops, g->full_name, (int)g->ndependents);
	if (after)
		job_depends(&m->job, after);
	g->materialize = m;
	return &m->job;
}
