#include "engine/sched.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

#include "base/arena.h"
#include "base/clock.h"
#include "base/err.h"
#include "engine/child.h"
#include "engine/http.h"
#include "engine/ioq.h"
#include "engine/profile.h"
#include "engine/reactor.h"

const char *const job_kind_name[JOB_KIND__COUNT] = {
	[JOB_INDEX] = "index",	       [JOB_FETCH] = "fetch",
	[JOB_ASSEMBLE] = "assemble",   [JOB_COMPILE] = "compile",
	[JOB_PROMOTE] = "promote",     [JOB_MATERIALIZE] = "materialize",
	[JOB_FINALIZE] = "finalize",   [JOB_GIT] = "git",
	[JOB_REMOTE] = "remote",
};

const char *const job_state_name[JOB_STATE__COUNT] = {
	[JOB_PENDING] = "pending", [JOB_QUEUED] = "queued", [JOB_RUNNING] = "running",
	[JOB_DONE] = "done",	   [JOB_FAILED] = "failed",
};

/* The order in which kinds get slots when several have queued jobs. */
static const enum job_kind sched_kind_order[JOB_KIND__COUNT] = {
	JOB_FINALIZE, JOB_MATERIALIZE, JOB_PROMOTE, JOB_COMPILE,
	JOB_ASSEMBLE, JOB_INDEX,       JOB_FETCH,	JOB_GIT,	JOB_REMOTE,
};

struct sched {
	struct arena *arena;
	struct reactor *r;
	struct ioq *q;
	struct http *h;
	struct child_mgr *cm;
	struct sched_limits limits;
	bool fail_fast;
	bool aborting;
	int first_err;
	struct list_head queued[JOB_KIND__COUNT];
	struct list_head ready;
	struct list_head reap;
	struct job **all;
	size_t njobs, all_cap;
	struct sched_stats stats;
	sched_observer_fn *observer;
	void *observer_data;
};

struct sched *sched_new(struct arena *a, struct reactor *r, struct ioq *q, struct http *h,
			struct child_mgr *cm, const struct sched_limits *limits, bool fail_fast)
{
	struct sched *s = sc_xcalloc(1, sizeof(*s));

	s->arena = a;
	s->r = r;
	s->q = q;
	s->h = h;
	s->cm = cm;
	if (limits)
		s->limits = *limits;
	s->fail_fast = fail_fast;
	for (int k = 0; k < JOB_KIND__COUNT; k++)
		list_init(&s->queued[k]);
	list_init(&s->ready);
	list_init(&s->reap);
	return s;
}

void sched_free(struct sched *s)
{
	if (!s)
		return;
	for (size_t i = 0; i < s->njobs; i++)
		sbuf_release(&s->all[i]->errmsg);
	free(s);
}

struct arena *sched_arena(struct sched *s)
{
	return s->arena;
}

struct reactor *sched_reactor(struct sched *s)
{
	return s->r;
}

struct ioq *sched_ioq(struct sched *s)
{
	return s->q;
}

struct http *sched_http(struct sched *s)
{
	return s->h;
}

struct child_mgr *sched_children(struct sched *s)
{
	return s->cm;
}

void sched_set_observer(struct sched *s, sched_observer_fn *fn, void *data)
{
	s->observer = fn;
	s->observer_data = data;
}

void sched_set_limit(struct sched *s, enum job_kind kind, unsigned max_running)
{
	s->limits.max_running[kind] = max_running;
}

bool sched_aborting(const struct sched *s)
{
	return s->aborting;
}

void job_init(struct job *j, struct sched *s, const struct job_ops *ops, const char *label,
	      int prio)
{
	SC_ASSERT(ops && ops->step && ops->kind < JOB_KIND__COUNT);
	*j = (struct job){ .ops = ops, .sched = s, .state = JOB_PENDING, .label = label,
			   .prio = prio };
	j->id = (unsigned)s->njobs + 1;
	j->ctx = (struct trace_ctx){ .phase = job_kind_name[ops->kind], .gem = label, .job = j->id };
	list_init(&j->link);
	sbuf_init(&j->errmsg, (size_t)16 << 20); /* a failed build's whole output */
	s->all = arena_grow_array(s->arena, s->all, sizeof(*s->all), s->njobs, &s->all_cap);
	s->all[s->njobs++] = j;
	s->stats.jobs++;
	s->stats.unfinished++;
	s->stats.kind[ops->kind].total++;
}

void job_depends(struct job *j, struct job *dep)
{
	SC_ASSERT(j->state == JOB_PENDING && j->sched == dep->sched);
	dep->dependents = arena_grow_array(j->sched->arena, dep->dependents,
					   sizeof(*dep->dependents), dep->ndependents,
					   &dep->dependents_cap);
	dep->dependents[dep->ndependents++] = j;
	if (dep->state == JOB_DONE)
		return;
	j->ndeps_left++;
	if (dep->state == JOB_FAILED && !j->err)
		job_fail(j, -SC_EDEPFAILED, "'%s' failed", dep->label);
}

static void sched_enqueue(struct sched *s, struct job *j)
{
	struct list_head *pos, *head = &s->queued[j->ops->kind];

	SC_ASSERT(j->state == JOB_PENDING);
	j->state = JOB_QUEUED;
	j->t_queued_ns = clock_now_ns();
	s->stats.kind[j->ops->kind].queued++;
	/* Keep the queue sorted by prio, highest first, FIFO among equals. */
	list_for_each(pos, head) {
		struct job *o = list_entry(pos, struct job, link);
		if (o->prio < j->prio)
			break;
	}
	list__add(&j->link, pos->prev, pos);
}

static void sched_end(struct sched *s, struct job *j, enum job_state to);

/* Fails a job that never ran (dependency failed or run aborted). */
static void sched_fail_unstarted(struct sched *s, struct job *j, int err)
{
	if (j->state == JOB_QUEUED) {
		list_del(&j->link);
		s->stats.kind[j->ops->kind].queued--;
	}
	if (!j->err)
		j->err = err;
	sched_end(s, j, JOB_FAILED);
}

void sched_submit(struct sched *s, struct job *j)
{
	SC_ASSERT(j->sched == s && j->state == JOB_PENDING);
	if (j->err) {
		sched_fail_unstarted(s, j, j->err);
		return;
	}
	if (s->aborting) {
		sched_fail_unstarted(s, j, -SC_ECANCELED);
		return;
	}
	if (j->ndeps_left == 0)
		sched_enqueue(s, j);
}

void job_wake(struct job *j)
{
	struct sched *s = j->sched;

	if (j->state != JOB_RUNNING || j->ready)
		return;
	j->ready = true;
	list_add_tail(&j->link, &s->ready);
}

int job_fail(struct job *j, int err, const char *fmt, ...)
{
	va_list ap;

	SC_ASSERT(err < 0);
	if (j->err)
		return err;
	j->err = err;
	sbuf_reset(&j->errmsg);
	va_start(ap, fmt);
	sbuf_vaddf(&j->errmsg, fmt, ap);
	va_end(ap);
	return err;
}

static void sched_abort(struct sched *s);

void sched_cancel(struct sched *s)
{
	if (!s->first_err)
		s->first_err = -SC_ECANCELED;
	sched_abort(s);
}

static void sched_abort(struct sched *s)
{
	if (s->aborting)
		return;
	s->aborting = true;
	for (size_t i = 0; i < s->njobs; i++) {
		struct job *j = s->all[i];
		if (j->state == JOB_PENDING || j->state == JOB_QUEUED)
			sched_fail_unstarted(s, j, -SC_ECANCELED);
	}
	for (size_t i = 0; i < s->njobs; i++) {
		struct job *j = s->all[i];
		if (j->state == JOB_RUNNING && !j->canceled) {
			j->canceled = true;
			if (j->ops->cancel)
				j->ops->cancel(j);
			job_wake(j);
		}
	}
}

/* The single place where a job reaches a terminal state. */
static void sched_end(struct sched *s, struct job *j, enum job_state to)
{
	struct sched_kind_stats *ks = &s->stats.kind[j->ops->kind];

	SC_ASSERT(to == JOB_DONE || to == JOB_FAILED);
	SC_ASSERT(j->state != JOB_DONE && j->state != JOB_FAILED);
	if (j->state == JOB_RUNNING) {
		ks->running--;
		if (j->ready) {
			list_del(&j->link);
			j->ready = false;
		}
		j->t_end_ns = clock_now_ns();
		ks->busy_ns += j->t_end_ns - j->t_start_ns;
		ks->last_end_ns = j->t_end_ns;
	} else {
		j->t_start_ns = j->t_end_ns = clock_now_ns();
	}
	j->state = to;
	s->stats.unfinished--;
	if (to == JOB_DONE) {
		ks->done++;
	} else {
		ks->failed++;
		if (!s->first_err && j->err != -SC_EDEPFAILED && j->err != -SC_ECANCELED)
			s->first_err = j->err;
	}
	list_add_tail(&j->link, &s->reap);
	if (profile_enabled)
		profile_job_end(j);
	if (s->observer)
		s->observer(s, j, SCHED_EV_FINISH, s->observer_data);

	for (size_t i = 0; i < j->ndependents; i++) {
		struct job *d = j->dependents[i];
		if (d->state != JOB_PENDING && d->state != JOB_QUEUED)
			continue;
		SC_ASSERT(d->ndeps_left > 0);
		d->ndeps_left--;
		if (to == JOB_FAILED) {
			if (!d->err)
				job_fail(d, -SC_EDEPFAILED, "'%s' failed", j->label);
			sched_fail_unstarted(s, d, -SC_EDEPFAILED);
		} else if (d->ndeps_left == 0 && d->state == JOB_PENDING && !s->aborting) {
			sched_enqueue(s, d);
		}
	}
	if (to == JOB_FAILED && s->fail_fast && j->err != -SC_EDEPFAILED &&
	    j->err != -SC_ECANCELED)
		sched_abort(s);
}

void job_finish(struct job *j)
{
	SC_ASSERT(j->state == JOB_RUNNING);
	if (j->canceled && !j->err)
		j->err = -SC_ECANCELED;
	sched_end(j->sched, j, j->err ? JOB_FAILED : JOB_DONE);
}

static void sched_start_queued(struct sched *s)
{
	for (size_t i = 0; i < JOB_KIND__COUNT; i++) {
		enum job_kind k = sched_kind_order[i];
		struct sched_kind_stats *ks = &s->stats.kind[k];
		unsigned max = s->limits.max_running[k];
		while (!list_empty(&s->queued[k]) && (!max || ks->running < max)) {
			struct job *j = list_first_entry(&s->queued[k], struct job, link);
			list_del(&j->link);
			ks->queued--;
			ks->running++;
			if (ks->running > ks->max_running)
				ks->max_running = ks->running;
			j->state = JOB_RUNNING;
			j->t_start_ns = clock_now_ns();
			if (!ks->first_start_ns)
				ks->first_start_ns = j->t_start_ns;
			if (profile_enabled)
				profile_job_start(j);
			if (s->observer)
				s->observer(s, j, SCHED_EV_START, s->observer_data);
			job_wake(j);
		}
	}
}

static unsigned sched_run_ready(struct sched *s)
{
	unsigned n = 0;

	while (!list_empty(&s->ready) && n < SCHED_STEPS_PER_TICK) {
		struct job *j = list_first_entry(&s->ready, struct job, link);
		list_del(&j->link);
		j->ready = false;
		SC_ASSERT(j->state == JOB_RUNNING);
		trace_current = &j->ctx;
		j->ops->step(j);
		trace_current = NULL;
		trace_step_end();
		/* A full batch goes to the kernel now: the next steps overlap with it. */
		ioq_flush_if(s->q, SCHED_FLUSH_OPS);
		n++;
	}
	return n;
}

static void sched_reap(struct sched *s)
{
	while (!list_empty(&s->reap)) {
		struct job *j = list_first_entry(&s->reap, struct job, link);
		list_del(&j->link);
		if (j->ops->release)
			j->ops->release(j);
	}
}

static bool sched_has_startable(const struct sched *s)
{
	for (int k = 0; k < JOB_KIND__COUNT; k++) {
		unsigned max = s->limits.max_running[k];
		if (!list_empty(&s->queued[k]) && (!max || s->stats.kind[k].running < max))
			return true;
	}
	return false;
}

static sched_stall_fn *sched_stall_handler;

void sched_set_stall_handler(sched_stall_fn *fn)
{
	sched_stall_handler = fn;
}

void sched_format_unfinished(const struct sched *s, struct sbuf *out)
{
	for (size_t i = 0; i < s->njobs; i++) {
		const struct job *j = s->all[i];
		if (j->state != JOB_DONE && j->state != JOB_FAILED)
			sbuf_addf(out, "  %s %s (%s, %u deps left)\n", job_kind_name[j->ops->kind],
				  j->label, job_state_name[j->state], j->ndeps_left);
	}
}

/* A bug, not an outcome: the handler (cli/) reports the jobs, then it aborts as SC_ASSERT does. */
static sc_noreturn void sched_report_stall(struct sched *s)
{
	if (sched_stall_handler)
		sched_stall_handler(s);
	abort();
}

int sched_run(struct sched *s)
{
	while (s->stats.unfinished > 0) {
		sched_start_queued(s);
		sched_run_ready(s);
		ioq_flush(s->q);
		if (s->stats.unfinished == 0 && ioq_pending(s->q) == 0)
			break;
		int timeout = reactor_timeout_ms(s->r);
		if (!list_empty(&s->ready) || ioq_has_completed(s->q) || sched_has_startable(s) ||
		    !list_empty(&s->reap))
			timeout = 0;
		if (timeout < 0 && ioq_pending(s->q) == 0 && http_active(s->h) == 0 &&
		    child_mgr_running(s->cm) == 0)
			sched_report_stall(s);
		int k = reactor_poll(s->r, timeout);
		if (k < 0)
			return k;
		reactor_run_timers(s->r);
		http_drain(s->h);
		ioq_complete(s->q);
		sched_reap(s);
		s->stats.ticks++;
		if (profile_enabled) {
			struct ioq_stats qs;
			ioq_get_stats(s->q, &qs);
			profile_counters(http_active(s->h), qs.queued, qs.in_kernel,
					 s->stats.kind[JOB_COMPILE].running);
		}
		if (s->observer)
			s->observer(s, NULL, SCHED_EV_TICK, s->observer_data);
	}
	/* Ops whose jobs already ended (e.g. cleanup) still complete before we return. */
	while (ioq_pending(s->q) || ioq_has_completed(s->q)) {
		ioq_flush(s->q);
		if (!ioq_has_completed(s->q))
			reactor_poll(s->r, -1);
		ioq_complete(s->q);
	}
	sched_reap(s);
	return s->first_err;
}

void sched_get_stats(const struct sched *s, struct sched_stats *ret)
{
	*ret = s->stats;
}

struct job *const *sched_jobs(const struct sched *s, size_t *ret_n)
{
	*ret_n = s->njobs;
	return s->all;
}
