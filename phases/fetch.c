/*
 * fetch.c: download a .gem into inbound/gems/ (design.md §1, "Fetch").
 *
 *   FETCH_LOCK --entry lock taken--> FETCH_REQUEST --> FETCH_WAIT --200, sha ok--> FETCH_WRITE
 *     |  ^ busy: retry timer            ^                |                            |
 *     |  \------/                       \--retry timer---/ 5xx/reset                 v
 *     |--cached meanwhile / inbound present--> FETCH_DONE <---------------------- FETCH_RENAME
 *     \--------------------------------------------------> FETCH_FAILED (4xx, checksum, I/O)
 *
 * FETCH_LOCK     takes the cache entry lock (another scint process may be
 *                building the same entry: wait for it, then re-check: a
 *                valid cached/ entry or a verified inbound file is used).
 * FETCH_REQUEST  GET <remote>gems/<full_name>.gem, SHA-256 computed while
 *                the body streams in.
 * FETCH_WAIT     the response: retried with backoff for 5xx/429/transport
 *                errors and truncation, never for 4xx; the digest must equal
 *                the lockfile CHECKSUMS entry or the compact index checksum.
 * FETCH_WRITE    writes inbound/gems/.<full_name>.gem.tmp-<pid>;
 * FETCH_RENAME   renames it to <full_name>.gem: only verified packages ever
 *                carry the final name.
 * The body stays in memory (gem->pkg) for the assemble phase.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "base/clock.h"
#include "base/err.h"
#include "engine/http.h"
#include "engine/ioq.h"
#include "engine/reactor.h"
#include "fsops/fsops.h"
#include "phases/phase.h"
#include "phases/retry.h"

#define GEM_MAX_BYTES  ((size_t)2 << 30)
#define LOCK_RETRY_NS  (100u * 1000000u)

enum fetch_state {
	FETCH_LOCK,
	FETCH_REQUEST,
	FETCH_WAIT,
	FETCH_WRITE,
	FETCH_RENAME,
	FETCH_DONE,
	FETCH_FAILED,
	FETCH_STATE__COUNT,
};

static const char *const fetch_state_name[FETCH_STATE__COUNT] = {
	"LOCK", "REQUEST", "WAIT", "WRITE", "RENAME", "DONE", "FAILED",
};

struct fetch_job {
	struct job job;
	struct install *in;
	struct gem *gem;
	enum fetch_state state;
	struct http_req req;
	struct timer timer;
	unsigned attempt;
	bool response_in;
	bool waited_for_lock;
	struct ioq_op op;
	char *url;
	char tmp[300];
	char final[300];
};

static bool fetch_edge_ok(enum fetch_state from, enum fetch_state to)
{
	if (to == FETCH_FAILED)
		return from != FETCH_DONE && from != FETCH_FAILED;
	switch (from) {
	case FETCH_LOCK:
		return to == FETCH_LOCK || to == FETCH_REQUEST || to == FETCH_DONE;
	case FETCH_REQUEST:
		return to == FETCH_WAIT;
	case FETCH_WAIT:
		return to == FETCH_REQUEST || to == FETCH_WRITE;
	case FETCH_WRITE:
		return to == FETCH_RENAME;
	case FETCH_RENAME:
		return to == FETCH_DONE;
	case FETCH_DONE:
	case FETCH_FAILED:
	case FETCH_STATE__COUNT:
		break;
	}
	return false;
}

static void fetch_enter(struct fetch_job *f, enum fetch_state to)
{
	SC_ASSERT(fetch_edge_ok(f->state, to));
	trace_state(&f->job.ctx, fetch_state_name[f->state], fetch_state_name[to]);
	f->state = to;
	job_wake(&f->job);
}

static void fetch_timer_fire(struct timer *t)
{
	struct fetch_job *f = container_of(t, struct fetch_job, timer);

	if (f->state == FETCH_WAIT)
		fetch_enter(f, FETCH_REQUEST);
	else
		job_wake(&f->job);
}

static void fetch_lock(struct fetch_job *f)
{
	struct install *in = f->in;
	struct gem *g = f->gem;
	int r = cache_lock_entry(in, g);

	if (r == -EWOULDBLOCK || r == -EAGAIN) {
		if (!f->waited_for_lock)
			install_event(in, g, "wait");
		f->waited_for_lock = true;
		reactor_timer_arm(sched_reactor(f->job.sched), &f->timer,
				  clock_now_ns() + LOCK_RETRY_NS);
		return;
	}
	if (r < 0) {
		job_fail(&f->job, r, "cannot lock the cache entry of %s: %s", g->full_name,
			 sc_strerror(r));
		fetch_enter(f, FETCH_FAILED);
		return;
	}
	/* Another process may have done our work since we planned (re-check under the lock). */
	if (cache_load_manifest(in, g) == 0) {
		g->plan = PLAN_MATERIALIZE;
		cache_unlock_entry(in, g);
		fetch_enter(f, FETCH_DONE);
		return;
	}
	if (f->waited_for_lock && fs_exists_at(in->inbound_fd, f->final)) {
		g->plan = PLAN_ASSEMBLE;
		fetch_enter(f, FETCH_DONE);
		return;
	}
	install_event(in, g, "fetch");
	fetch_enter(f, FETCH_REQUEST);
}

static void fetch_http_done(struct http_req *req)
{
	struct fetch_job *f = req->data;

	f->response_in = true;
	job_wake(&f->job);
}

static void fetch_request(struct fetch_job *f)
{
	struct gem_source *src = f->gem->source;

	f->req = (struct http_req){
		.url = f->url,
		.userpwd = src->userpwd,
		.max_bytes = GEM_MAX_BYTES,
		.want_sha256 = true,
		.done = fetch_http_done,
		.data = f,
		.ctx = &f->job.ctx,
	};
	f->response_in = false;
	f->attempt++;
	int r = http_start(sched_http(f->job.sched), &f->req);
	if (r < 0) {
		job_fail(&f->job, r, "cannot request %sgems/%s.gem: %s", src->redacted,
			 f->gem->full_name, f->req.errmsg[0] ? f->req.errmsg : sc_strerror(r));
		fetch_enter(f, FETCH_FAILED);
		return;
	}
	fetch_enter(f, FETCH_WAIT);
}

static void fetch_op_done(struct ioq_op *op)
{
	struct fetch_job *f = op->data;

	job_wake(&f->job);
}

static void fetch_response(struct fetch_job *f)
{
	struct http_req *req = &f->req;
	struct gem *g = f->gem;
	const char *src = g->source->redacted;

	if (!f->response_in)
		return;
	f->response_in = false;
	if (retry_worthwhile(req) && f->attempt <= retry_max()) {
		if (trace_enabled)
			trace_event(&f->job.ctx, "retry", retry_cause(req));
		http_req_release(req);
		reactor_timer_arm(sched_reactor(f->job.sched), &f->timer,
				  clock_now_ns() + retry_delay_ns(f->attempt));
		return;
	}
	if (req->res < 0 || req->status != 200) {
		const char *tries = f->attempt > 1 ? " (after retries)" : "";
		job_fail(&f->job, req->res < 0 ? req->res : -SC_EHTTP,
			 "could not download %s.gem from %s: %s%s", g->full_name, src,
			 retry_cause(req), tries);
		fetch_enter(f, FETCH_FAILED);
		return;
	}
	if (g->checksum && strcmp(g->checksum, req->sha256) != 0) {
		job_fail(&f->job, -SC_ECHECKSUM,
			 "checksum mismatch for %s.gem from %s: expected sha256 %s, got %s "
			 "(the package was changed or corrupted; it was not installed)",
			 g->full_name, src, g->checksum, req->sha256);
		fetch_enter(f, FETCH_FAILED);
		return;
	}
	g->downloaded = true;
	f->in->stats.fetched++;
	f->in->stats.bytes_fetched += req->body.len;
	memcpy(g->pkg_sha256, req->sha256, sizeof(g->pkg_sha256));
	sbuf_release(&g->pkg);
	g->pkg = req->body;
	sbuf_init(&req->body, 0);
	snprintf(f->tmp, sizeof(f->tmp), ".%s.gem.tmp-%d", g->full_name, (int)getpid());
	ioq_prep_write_file(&f->op, f->in->inbound_fd, f->tmp, 0644, g->pkg.buf, g->pkg.len);
	f->op.done = fetch_op_done;
	f->op.data = f;
	f->op.ctx = &f->job.ctx;
	ioq_submit(sched_ioq(f->job.sched), &f->op);
	fetch_enter(f, FETCH_WRITE);
}

static void fetch_write(struct fetch_job *f)
{
	if (f->op.in_flight)
		return;
	if (f->op.res < 0) {
		job_fail(&f->job, f->op.res, "cannot write inbound/gems/%s: %s", f->tmp,
			 sc_strerror(f->op.res));
		fetch_enter(f, FETCH_FAILED);
		return;
	}
	ioq_prep_renameat(&f->op, f->in->inbound_fd, f->tmp, f->in->inbound_fd, f->final, 0);
	ioq_submit(sched_ioq(f->job.sched), &f->op);
	fetch_enter(f, FETCH_RENAME);
}

static void fetch_rename(struct fetch_job *f)
{
	if (f->op.in_flight)
		return;
	if (f->op.res < 0) {
		job_fail(&f->job, f->op.res, "cannot rename inbound/gems/%s: %s", f->tmp,
			 sc_strerror(f->op.res));
		fetch_enter(f, FETCH_FAILED);
		return;
	}
	fetch_enter(f, FETCH_DONE);
}

static void fetch_failed(struct fetch_job *f)
{
	struct gem *g = f->gem;

	if (f->op.in_flight)
		return;
	if (f->op.opcode == IOQ_WRITE_FILE || f->op.opcode == IOQ_RENAMEAT)
		(void)unlinkat(f->in->inbound_fd, f->tmp, 0);
	sbuf_release(&g->pkg);
	cache_unlock_entry(f->in, g);
	job_finish(&f->job);
}

static void fetch_step(struct job *j)
{
	struct fetch_job *f = container_of(j, struct fetch_job, job);

	if (j->canceled && f->state != FETCH_FAILED) {
		if (!f->req.active && !f->op.in_flight) {
			f->state = FETCH_FAILED;
			fetch_failed(f);
		}
		return;
	}
	switch (f->state) {
	case FETCH_LOCK:
		fetch_lock(f);
		break;
	case FETCH_REQUEST:
		fetch_request(f);
		break;
	case FETCH_WAIT:
		fetch_response(f);
		break;
	case FETCH_WRITE:
		fetch_write(f);
		break;
	case FETCH_RENAME:
		fetch_rename(f);
		break;
	case FETCH_DONE:
		job_finish(j);
		break;
	case FETCH_FAILED:
		fetch_failed(f);
		break;
	case FETCH_STATE__COUNT:
		SC_ASSERT(!"bad state");
	}
}

static void fetch_cancel(struct job *j)
{
	struct fetch_job *f = container_of(j, struct fetch_job, job);

	reactor_timer_disarm(sched_reactor(j->sched), &f->timer);
	if (f->req.active)
		http_cancel(sched_http(j->sched), &f->req);
}

static void fetch_release(struct job *j)
{
	struct fetch_job *f = container_of(j, struct fetch_job, job);

	reactor_timer_disarm(sched_reactor(j->sched), &f->timer);
	http_req_release(&f->req);
}

static const struct job_ops fetch_ops = {
	.kind = JOB_FETCH,
	.step = fetch_step,
	.cancel = fetch_cancel,
	.release = fetch_release,
};

struct job *fetch_job_new(struct install *in, struct gem *g, struct job *index)
{
	struct fetch_job *f = arena_alloc(&in->arena, sizeof(*f));

	f->in = in;
	f->gem = g;
	f->url = arena_printf(&in->arena, "%sgems/%s.gem", g->source->remote, g->full_name);
	snprintf(f->final, sizeof(f->final), "%s.gem", g->full_name);
	timer_init(&f->timer, fetch_timer_fire);
	job_init(&f->job, in->sched, &fetch_ops, g->full_name, (int)g->ndependents);
	if (index)
		job_depends(&f->job, index);
	g->fetch = f;
	return &f->job;
}
