/*
 * compile.c: native extensions (placeholder until the compile phase lands).
 * A gem whose spec lists extensions fails clearly instead of being installed
 * without them.
 */
#include "base/err.h"
#include "phases/phase.h"

struct compile_job {
	struct job job;
	struct install *in;
	struct gem *gem;
};

static void compile_step(struct job *j)
{
	struct compile_job *c = container_of(j, struct compile_job, job);

	job_fail(j, -SC_EUNSUPPORTED, "%s has native extensions (%s), which scint cannot build yet",
		 c->gem->full_name, c->gem->manifest->spec.extensions[0]);
	job_finish(j);
}

static const struct job_ops compile_ops = {
	.kind = JOB_COMPILE,
	.step = compile_step,
};

struct job *compile_job_new(struct install *in, struct gem *g, struct job *after)
{
	struct compile_job *c = arena_alloc(&in->arena, sizeof(*c));

	c->in = in;
	c->gem = g;
	job_init(&c->job, in->sched, &compile_ops, g->full_name, (int)g->ndependents);
	job_depends(&c->job, after);
	promote_depends_on(g, &c->job);
	sched_submit(in->sched, &c->job);
	g->compile = c;
	return &c->job;
}
