/*
 * promote.c: make an assembled (and compiled) entry part of the cache
 * (design.md §1, "Promote").
 *
 *   PRO_START --> PRO_WRITE --> PRO_RENAME --> PRO_MANIFEST --> PRO_DONE
 *       \------------ (any error) ----------------------------> PRO_FAILED
 *
 * PRO_START    nothing to do when another process promoted the entry while
 *              we waited; removes an incomplete cached/ leftover (no manifest).
 * PRO_WRITE    writes assembling/<abi>/<full_name>.gemspec and .manifest.
 * PRO_RENAME   renames the tree and the gemspec into cached/<abi>/ (one
 *              atomic rename each).
 * PRO_MANIFEST renames the manifest into place, last: from this moment the
 *              entry is valid, and never rebuilt. Then the entry lock is
 *              released.
 * A failed build never reaches this phase (promote depends on compile).
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "base/err.h"
#include "engine/ioq.h"
#include "fsops/fsops.h"
#include "phases/phase.h"

enum promote_state {
	PRO_START,
	PRO_WRITE,
	PRO_RENAME,
	PRO_MANIFEST,
	PRO_DONE,
	PRO_FAILED,
	PRO_STATE__COUNT,
};

static const char *const promote_state_name[PRO_STATE__COUNT] = {
	"START", "WRITE", "RENAME", "MANIFEST", "DONE", "FAILED",
};

struct promote_job {
	struct job job;
	struct install *in;
	struct gem *gem;
	enum promote_state state;
	struct ioq_op ops[2];
	unsigned ops_left;
	int op_err;
	const char *op_err_path;
	struct sbuf manifest_text;
	char *gemspec_name, *manifest_name;
};

static bool promote_edge_ok(enum promote_state from, enum promote_state to)
{
	if (to == PRO_FAILED)
		return from != PRO_DONE && from != PRO_FAILED;
	switch (from) {
	case PRO_START:
		return to == PRO_WRITE || to == PRO_DONE;
	case PRO_WRITE:
		return to == PRO_RENAME;
	case PRO_RENAME:
		return to == PRO_MANIFEST;
	case PRO_MANIFEST:
		return to == PRO_DONE;
	case PRO_DONE:
	case PRO_FAILED:
	case PRO_STATE__COUNT:
		break;
	}
	return false;
}

static void promote_enter(struct promote_job *p, enum promote_state to)
{
	SC_ASSERT(promote_edge_ok(p->state, to));
	trace_state(&p->job.ctx, promote_state_name[p->state], promote_state_name[to]);
	p->state = to;
	job_wake(&p->job);
}

static void promote_op_done(struct ioq_op *op)
{
	struct promote_job *p = op->data;

	if (op->res < 0 && !p->op_err) {
		p->op_err = op->res;
		p->op_err_path = op->path2 ? op->path2 : op->path;
	}
	if (--p->ops_left == 0)
		job_wake(&p->job);
}

static void promote_submit(struct promote_job *p, struct ioq_op *op)
{
	op->done = promote_op_done;
	op->data = p;
	op->ctx = &p->job.ctx;
	p->ops_left++;
	ioq_submit(p->in->ioq, op);
}

/* Returns true when the last batch of ops failed (and moves to PRO_FAILED). */
static bool promote_check(struct promote_job *p, const char *what)
{
	if (!p->op_err)
		return false;
	job_fail(&p->job, p->op_err, "cannot %s %s of %s: %s", what, p->op_err_path,
		 p->gem->full_name, sc_strerror(p->op_err));
	promote_enter(p, PRO_FAILED);
	return true;
}

static void promote_start(struct promote_job *p)
{
	struct install *in = p->in;
	struct gem *g = p->gem;

	if (g->plan == PLAN_MATERIALIZE) {
		/* Another process promoted it while we waited for the lock. */
		promote_enter(p, PRO_DONE);
		return;
	}
	/* What a later run would refuse to load is never promoted (bundle/manifest.h). */
	struct sbuf why = SBUF_INIT;
	manifest_sort(g->manifest);
	int r = manifest_check(g->manifest, &why);
	if (r < 0)
		job_fail(&p->job, -SC_EUNSAFE, "unsafe entry in %s: %s", g->full_name,
			 sbuf_cstr(&why));
	sbuf_release(&why);
	if (r < 0) {
		promote_enter(p, PRO_FAILED);
		return;
	}
	/* We hold the lock and there is no manifest: a leftover is incomplete. */
	r = fs_rmtree_at(in->cached_fd, g->entry);
	if (r < 0) {
		job_fail(&p->job, r, "cannot remove an incomplete cache entry of %s: %s",
			 g->full_name, sc_strerror(r));
		promote_enter(p, PRO_FAILED);
		return;
	}
	manifest_write(g->manifest, &p->manifest_text);
	ioq_prep_write_file(&p->ops[0], in->assembling_fd, p->gemspec_name, 0644, g->gemspec.p,
			    g->gemspec.len);
	ioq_prep_write_file(&p->ops[1], in->assembling_fd, p->manifest_name, 0644,
			    p->manifest_text.buf, p->manifest_text.len);
	promote_submit(p, &p->ops[0]);
	promote_submit(p, &p->ops[1]);
	promote_enter(p, PRO_WRITE);
}

static void promote_write(struct promote_job *p)
{
	struct install *in = p->in;
	struct gem *g = p->gem;

	if (p->ops_left || promote_check(p, "write"))
		return;
	ioq_prep_renameat(&p->ops[0], in->assembling_fd, g->entry, in->cached_fd, g->entry, 0);
	ioq_prep_renameat(&p->ops[1], in->assembling_fd, p->gemspec_name, in->cached_fd,
			  p->gemspec_name, 0);
	promote_submit(p, &p->ops[0]);
	promote_submit(p, &p->ops[1]);
	promote_enter(p, PRO_RENAME);
}

static void promote_rename(struct promote_job *p)
{
	struct install *in = p->in;

	if (p->ops_left || promote_check(p, "move"))
		return;
	ioq_prep_renameat(&p->ops[0], in->assembling_fd, p->manifest_name, in->cached_fd,
			  p->manifest_name, 0);
	promote_submit(p, &p->ops[0]);
	promote_enter(p, PRO_MANIFEST);
}

static void promote_manifest(struct promote_job *p)
{
	if (p->ops_left || promote_check(p, "move"))
		return;
	cache_unlock_entry(p->in, p->gem);
	p->gem->promoted = true;
	promote_enter(p, PRO_DONE);
}

static void promote_failed(struct promote_job *p)
{
	struct install *in = p->in;
	struct gem *g = p->gem;

	if (p->ops_left)
		return;
	(void)fs_rmtree_at(in->assembling_fd, g->entry);
	(void)unlinkat(in->assembling_fd, p->gemspec_name, 0);
	(void)unlinkat(in->assembling_fd, p->manifest_name, 0);
	cache_unlock_entry(in, g);
	job_finish(&p->job);
}

static void promote_step(struct job *j)
{
	struct promote_job *p = container_of(j, struct promote_job, job);

	if (j->canceled && p->state != PRO_DONE && p->state != PRO_FAILED && !p->ops_left)
		p->state = PRO_FAILED;
	switch (p->state) {
	case PRO_START:
		promote_start(p);
		break;
	case PRO_WRITE:
		promote_write(p);
		break;
	case PRO_RENAME:
		promote_rename(p);
		break;
	case PRO_MANIFEST:
		promote_manifest(p);
		break;
	case PRO_DONE:
		job_finish(j);
		break;
	case PRO_FAILED:
		promote_failed(p);
		break;
	case PRO_STATE__COUNT:
		SC_ASSERT(!"bad state");
	}
}

static void promote_release(struct job *j)
{
	struct promote_job *p = container_of(j, struct promote_job, job);

	sbuf_release(&p->manifest_text);
}

static const struct job_ops promote_ops = {
	.kind = JOB_PROMOTE,
	.step = promote_step,
	.release = promote_release,
};

struct job *promote_job_new(struct install *in, struct gem *g, struct job *after)
{
	struct promote_job *p = arena_alloc(&in->arena, sizeof(*p));

	p->in = in;
	p->gem = g;
	p->gemspec_name = arena_printf(&in->arena, "%s.gemspec", g->entry);
	p->manifest_name = arena_printf(&in->arena, "%s.manifest", g->entry);
	job_init(&p->job, in->sched, &promote_ops, g->full_name, (int)g->ndependents);
	job_depends(&p->job, after);
	g->promote = p;
	return &p->job;
}

void promote_depends_on(struct gem *g, struct job *j)
{
	SC_ASSERT(g->promote);
	job_depends(&g->promote->job, j);
}
