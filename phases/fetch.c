/*
 * fetch.c: download a .gem into inbound/gems/ (design.md §1, "Fetch").
 *
 *   FETCH_LOCK --entry lock taken--> FETCH_OPEN --> FETCH_REQUEST --> FETCH_WAIT
 *     |  ^ busy: retry timer            ^                               |  |
 *     |  \------/                       \--retry timer-- FETCH_CLOSE <--/  | 200, sha ok
 *     |                                   (5xx/reset/stall)              v
 *     |--cached meanwhile / inbound present--> FETCH_DONE <-- FETCH_RENAME <-- FETCH_CLOSE
 *     \--------------------------------------------------> FETCH_FAILED (4xx, checksum, I/O,
 *                                                                        size, time)
 *
 * FETCH_LOCK     takes the cache entry lock (another scint process may be
 *                building the same entry: wait for it, then re-check: a
 *                valid cached/ entry or a verified inbound file is used).
 * FETCH_OPEN     opens inbound/gems/.<full_name>.gem.tmp-<pid> (truncated:
 *                a retry starts the file over).
 * FETCH_REQUEST  GET <remote>gems/<full_name>.gem, from the source's mirror when
 *                one is configured (phases/mirror.h: a mirror with a
 *                fallback_timeout that cannot be reached sends this and every
 *                later request to the source itself, without a retry delay).
 * FETCH_WAIT     the body streams into the temp file as it arrives: it is
 *                copied into a buffer, each full buffer is written by one
 *                WRITE op, and once FETCH_BUFS writes are in flight the job
 *                pauses the transfer until one completes. Bytes curl hands
 *                over before the job runs go to spare buffers (up to
 *                FETCH_BUFS_MAX; past that the sink pauses the transfer
 *                itself), so a download holds at most FETCH_BUFS_MAX *
 *                FETCH_BUF_SIZE bytes, whatever the gem's size, and about
 *                FETCH_BUFS of them in practice. The SHA-256 is computed as the
 *                bytes arrive. Once the response is complete and every write
 *                has landed: retried with backoff for 5xx/429/transport
 *                errors and truncation, never for 4xx or a body over
 *                SCINT_MAX_DOWNLOAD; the digest must equal the lockfile
 *                CHECKSUMS entry or the compact index checksum.
 * FETCH_CLOSE    closes the temp file (then a retry once the retry timer has
 *                fired, or the rename);
 * FETCH_RENAME   renames it to <full_name>.gem: only verified packages ever
 *                carry the final name. Assemble reads the package from there.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/clock.h"
#include "base/err.h"
#include "engine/http.h"
#include "engine/ioq.h"
#include "engine/reactor.h"
#include "fsops/fsops.h"
#include "phases/phase.h"
#include "phases/session/retry.h"

#define FETCH_BUFS     4
#define FETCH_BUFS_MAX 16
#define FETCH_BUF_SIZE ((size_t)128 << 10)
#define LOCK_RETRY_NS  (100u * 1000000u)

enum fetch_state {
	FETCH_LOCK,
	FETCH_OPEN,
	FETCH_REQUEST,
	FETCH_WAIT,
	FETCH_CLOSE,
	FETCH_RENAME,
	FETCH_DONE,
	FETCH_FAILED,
	FETCH_STATE__COUNT,
};

static const char *const fetch_state_name[FETCH_STATE__COUNT] = {
	"LOCK", "OPEN", "REQUEST", "WAIT", "CLOSE", "RENAME", "DONE", "FAILED",
};

struct fetch_job;

/* One body buffer: filled by the sink, then written by its own op. */
struct fetch_buf {
	struct ioq_op op;
	struct fetch_job *f;
	char *data;
	size_t cap, len;
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
	bool retrying;   /* FETCH_CLOSE leads to another attempt, not the rename */
	bool timer_armed;
	bool retry_due;  /* the retry timer fired: FETCH_CLOSE opens the file again */
	bool fall_back;  /* the retry goes to the source at once (a mirror did not answer) */
	struct mirror_target target; /* where the request in flight went */
	struct ioq_op op; /* open, close, rename */
	int fd;           /* the temp file, -1 when closed */
	uint64_t off;     /* where the next buffer goes */
	struct fetch_buf bufs[FETCH_BUFS_MAX];
	struct fetch_buf *cur; /* the buffer being filled, or NULL */
	unsigned writes;       /* buffers in flight */
	int write_err;
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
		return to == FETCH_LOCK || to == FETCH_OPEN || to == FETCH_DONE;
	case FETCH_OPEN:
		return to == FETCH_REQUEST;
	case FETCH_REQUEST:
		return to == FETCH_WAIT;
	case FETCH_WAIT:
		return to == FETCH_CLOSE;
	case FETCH_CLOSE:
		return to == FETCH_OPEN || to == FETCH_RENAME;
	case FETCH_RENAME:
		return to == FETCH_DONE;
	case FETCH_DONE:
	case FETCH_FAILED:
	case FETCH_STATE__COUNT:
		break;
	}
	return false;
}

static void fetch_enter_at(struct fetch_job *f, enum fetch_state to, int line)
{
	SC_ASSERT(fetch_edge_ok(f->state, to));
	trace_state(&f->job.ctx, fetch_state_name[f->state], fetch_state_name[to], line);
	f->state = to;
	job_wake(&f->job);
}

/* Every state change goes through here; debug builds trace the caller's line. */
#define fetch_enter(f, to) fetch_enter_at((f), (to), TRACE_LINE)

static void fetch_op_done(struct ioq_op *op)
{
	struct fetch_job *f = op->data;

	/* The fd is tracked here, so that a canceled job still closes it. */
	if (op->opcode == IOQ_OPENAT && op->res >= 0)
		f->fd = op->res;
	else if (op->opcode == IOQ_CLOSE)
		f->fd = -1;
	job_wake(&f->job);
}

static void fetch_submit(struct fetch_job *f, struct ioq_op *op)
{
	op->done = fetch_op_done;
	op->data = f;
	op->ctx = &f->job.ctx;
	ioq_submit(sched_ioq(f->job.sched), op);
}

/* Opens (truncates) the temp file: the first attempt's and every retry's start. */
static void fetch_open(struct fetch_job *f)
{
	ioq_prep_openat(&f->op, f->in->inbound_fd, f->tmp, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW,
			0644);
	fetch_submit(f, &f->op);
	fetch_enter(f, FETCH_OPEN);
}

static void fetch_timer_fire(struct timer *t)
{
	struct fetch_job *f = container_of(t, struct fetch_job, timer);

	/* A callback only records: the step starts the retry (fetch_closed). */
	f->timer_armed = false;
	if (f->state == FETCH_CLOSE && f->retrying)
		f->retry_due = true;
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
	fetch_open(f);
}

static void fetch_http_done(struct http_req *req)
{
	struct fetch_job *f = req->data;

	f->response_in = true;
	job_wake(&f->job);
}

static void fetch_write_done(struct ioq_op *op)
{
	struct fetch_buf *b = container_of(op, struct fetch_buf, op);
	struct fetch_job *f = b->f;

	if (op->res >= 0 && (size_t)op->res != b->len)
		op->res = -EIO; /* the op queue writes everything or fails */
	if (op->res < 0 && !f->write_err)
		f->write_err = op->res;
	b->len = 0;
	if (b - f->bufs >= FETCH_BUFS) {
		/* a spare: give the memory back */
		free(b->data);
		b->data = NULL;
		b->cap = 0;
	}
	f->writes--;
	job_wake(&f->job); /* a paused transfer goes on from fetch_step */
}

/* Sends the buffer being filled to the temp file. */
static void fetch_flush(struct fetch_job *f)
{
	struct fetch_buf *b = f->cur;

	f->cur = NULL;
	if (!b || !b->len)
		return;
	ioq_prep_write(&b->op, f->fd, b->data, b->len, f->off);
	b->op.done = fetch_write_done;
	b->op.data = f;
	b->op.ctx = &f->job.ctx;
	f->off += b->len;
	f->writes++;
	ioq_submit(sched_ioq(f->job.sched), &b->op);
}

/* A buffer with room for n more bytes, or NULL when all of them are being written. */
static struct fetch_buf *fetch_room(struct fetch_job *f, size_t n)
{
	if (f->cur && f->cur->cap - f->cur->len >= n)
		return f->cur;
	fetch_flush(f);
	if (f->writes >= FETCH_BUFS)
		job_wake(&f->job); /* to pause the transfer, from the job */
	for (unsigned i = 0; i < FETCH_BUFS_MAX; i++) {
		struct fetch_buf *b = &f->bufs[i];
		if (b->op.in_flight)
			continue;
		if (b->cap < n || !b->data) {
			/* curl hands out at most CURL_MAX_WRITE_SIZE at a time: n is small */
			size_t cap = n > FETCH_BUF_SIZE ? n : FETCH_BUF_SIZE;
			free(b->data);
			b->data = sc_xmalloc(cap);
			b->cap = cap;
		}
		b->f = f;
		b->len = 0;
		f->cur = b;
		return b;
	}
	return NULL;
}

/* The body of the 200 response, as curl receives it. */
static size_t fetch_sink(struct http_req *req, const char *p, size_t n)
{
	struct fetch_job *f = req->data;

	if (f->write_err || f->job.canceled)
		return 0; /* the transfer ends with -SC_ECANCELED */
	struct fetch_buf *b = fetch_room(f, n);
	if (!b)
		return HTTP_SINK_PAUSE;
	memcpy(b->data + b->len, p, n);
	b->len += n;
	if (b->len == b->cap)
		fetch_flush(f);
	return n;
}

static void fetch_release_bufs(struct fetch_job *f)
{
	for (unsigned i = 0; i < FETCH_BUFS_MAX; i++) {
		SC_ASSERT(!f->bufs[i].op.in_flight);
		free(f->bufs[i].data);
		f->bufs[i].data = NULL;
		f->bufs[i].cap = f->bufs[i].len = 0;
	}
	f->cur = NULL;
}

static void fetch_opened(struct fetch_job *f)
{
	if (f->op.in_flight)
		return;
	if (f->op.res < 0) {
		job_fail(&f->job, f->op.res, "cannot create inbound/gems/%s: %s", f->tmp,
			 sc_strerror(f->op.res));
		fetch_enter(f, FETCH_FAILED);
		return;
	}
	f->off = 0;
	f->write_err = 0;
	f->cur = NULL;
	for (unsigned i = 0; i < FETCH_BUFS_MAX; i++)
		f->bufs[i].len = 0;
	fetch_enter(f, FETCH_REQUEST);
}

static void fetch_request(struct fetch_job *f)
{
	struct gem_source *src = f->gem->source;

	mirror_target(&src->route, &f->target);
	f->url = arena_printf(&f->in->arena, "%sgems/%s.gem", f->target.base, f->gem->full_name);
	f->req = (struct http_req){
		.url = f->url,
		.userpwd = f->target.userpwd,
		.connect_timeout_ms = f->target.connect_timeout_ms,
		.extra_header = f->target.extra_header,
		.max_bytes = net_policy()->max_gem_bytes,
		.want_sha256 = true,
		.sink = fetch_sink,
		.done = fetch_http_done,
		.data = f,
		.ctx = &f->job.ctx,
	};
	f->response_in = false;
	f->attempt++;
	int r = http_start(sched_http(f->job.sched), &f->req);
	if (r < 0) {
		job_fail(&f->job, r, "cannot request %sgems/%s.gem: %s", f->target.redacted,
			 f->gem->full_name, f->req.errmsg[0] ? f->req.errmsg : sc_strerror(r));
		fetch_enter(f, FETCH_FAILED);
		return;
	}
	fetch_enter(f, FETCH_WAIT);
}

static void fetch_close(struct fetch_job *f, bool retrying)
{
	f->retrying = retrying;
	ioq_prep_close(&f->op, f->fd);
	fetch_submit(f, &f->op);
	fetch_enter(f, FETCH_CLOSE);
}

static void fetch_response(struct fetch_job *f)
{
	struct http_req *req = &f->req;
	struct gem *g = f->gem;
	const char *src = f->target.redacted;

	if (!f->response_in) {
		/* Streaming: FETCH_BUFS writes in flight pause the transfer, fewer resume it. */
		if (!req->paused && f->writes >= FETCH_BUFS)
			http_pause(sched_http(f->job.sched), req);
		else if (req->paused && f->writes < FETCH_BUFS && !f->write_err)
			http_resume(sched_http(f->job.sched), req);
		return;
	}
	if (req->res == 0)
		fetch_flush(f);
	if (f->writes)
		return; /* every write lands before the file is judged */
	f->response_in = false;
	if (f->write_err) {
		job_fail(&f->job, f->write_err, "cannot write inbound/gems/%s: %s", f->tmp,
			 sc_strerror(f->write_err));
		fetch_enter(f, FETCH_FAILED);
		return;
	}
	if (mirror_should_fall_back(&g->source->route, &f->target, req)) {
		if (trace_enabled)
			trace_event(&f->job.ctx, "mirror-fallback", req->errmsg);
		f->fall_back = true;
		f->attempt--;
		fetch_close(f, true);
		return;
	}
	if (retry_worthwhile(req) && f->attempt <= retry_max()) {
		if (trace_enabled)
			trace_event(&f->job.ctx, "retry", retry_cause(req, "SCINT_MAX_DOWNLOAD"));
		fetch_close(f, true);
		return;
	}
	if (req->res < 0 || req->status != 200) {
		const char *tries = f->attempt > 1 ? " (after retries)" : "";
		job_fail(&f->job, req->res < 0 ? req->res : -SC_EHTTP,
			 "could not download %s.gem from %s: %s%s", g->full_name, src,
			 retry_cause(req, "SCINT_MAX_DOWNLOAD"), tries);
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
	f->in->stats.bytes_fetched += req->received;
	memcpy(g->pkg_sha256, req->sha256, sizeof(g->pkg_sha256));
	fetch_release_bufs(f);
	fetch_close(f, false);
}

static void fetch_closed(struct fetch_job *f)
{
	if (f->op.in_flight || f->timer_armed)
		return;
	if (f->op.res < 0) {
		job_fail(&f->job, f->op.res, "cannot write inbound/gems/%s: %s", f->tmp,
			 sc_strerror(f->op.res));
		fetch_enter(f, FETCH_FAILED);
		return;
	}
	if (f->retrying && f->retry_due) {
		f->retry_due = false;
		fetch_open(f);
		return;
	}
	if (f->retrying) {
		http_req_release(&f->req);
		f->timer_armed = true;
		reactor_timer_arm(sched_reactor(f->job.sched), &f->timer,
				  clock_now_ns() + (f->fall_back ? 0 : retry_delay_ns(f->attempt)));
		f->fall_back = false;
		return;
	}
	ioq_prep_renameat(&f->op, f->in->inbound_fd, f->tmp, f->in->inbound_fd, f->final, 0);
	fetch_submit(f, &f->op);
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

static bool fetch_busy(const struct fetch_job *f)
{
	return f->req.active || f->op.in_flight || f->writes;
}

static void fetch_failed(struct fetch_job *f)
{
	struct gem *g = f->gem;

	if (fetch_busy(f))
		return;
	if (f->fd >= 0) {
		(void)close(f->fd); /* failure path: nothing more is written */
		f->fd = -1;
	}
	(void)unlinkat(f->in->inbound_fd, f->tmp, 0); /* our pid's name: only ours */
	fetch_release_bufs(f);
	cache_unlock_entry(f->in, g);
	job_finish(&f->job);
}

static void fetch_step(struct job *j)
{
	struct fetch_job *f = container_of(j, struct fetch_job, job);

	if (j->canceled && f->state != FETCH_FAILED && f->state != FETCH_DONE) {
		if (!fetch_busy(f)) {
			fetch_enter(f, FETCH_FAILED);
			fetch_failed(f);
		}
		return;
	}
	switch (f->state) {
	case FETCH_LOCK:
		fetch_lock(f);
		break;
	case FETCH_OPEN:
		fetch_opened(f);
		break;
	case FETCH_REQUEST:
		fetch_request(f);
		break;
	case FETCH_WAIT:
		fetch_response(f);
		break;
	case FETCH_CLOSE:
		fetch_closed(f);
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
	fetch_release_bufs(f);
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
	f->fd = -1;
	snprintf(f->final, sizeof(f->final), "%s.gem", g->full_name);
	snprintf(f->tmp, sizeof(f->tmp), ".%s.gem.tmp-%d", g->full_name, (int)getpid());
	timer_init(&f->timer, fetch_timer_fire);
	job_init(&f->job, in->sched, &fetch_ops, g->full_name, (int)g->ndependents);
	if (index)
		job_depends(&f->job, index);
	g->fetch = f;
	return &f->job;
}
