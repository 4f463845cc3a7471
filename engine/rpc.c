#include "engine/rpc.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/clock.h"
#include "base/compiler.h"
#include "base/err.h"

/* A RESULT header line is short; a payload is at most this big. */
#define RPC_HEADER_MAX 128
#define RPC_RESULT_MAX ((size_t)256 << 20)
/*
 * Consumed bytes at the front of the read buffer are dropped (the rest moved
 * down) once there are at least this many and at least as many as remain:
 * each byte is moved at most as often as a frame before it completes, so
 * the moves cost no more than the reads, and the buffer never holds more
 * than one partial frame plus what one dispatch read beyond a compaction.
 */
#define RPC_COMPACT_MIN ((size_t)64 << 10)

static void rpc_fail_all(struct rpc *r, const char *why)
{
	reactor_timer_disarm(r->reactor, &r->timer);
	while (!list_empty(&r->waiting)) {
		struct rpc_call *c = list_first_entry(&r->waiting, struct rpc_call, link);
		list_del(&c->link);
		c->res = -SC_ERUBY;
		sbuf_reset(&c->result);
		sbuf_addstr(&c->result, why);
		c->done(c);
	}
}

/* The helper cannot be trusted any more: kill it and fail every call with why. */
static void rpc_abandon(struct rpc *r, const char *why)
{
	if (!r->why[0])
		snprintf(r->why, sizeof(r->why), "%s", why);
	r->dead = true;
	(void)child_kill(&r->child, SIGKILL);
	rpc_fail_all(r, r->why);
}

/* The oldest outstanding call gets the whole time limit from now. */
static void rpc_arm(struct rpc *r)
{
	if (list_empty(&r->waiting) || !r->opts.call_timeout_ms || r->dead)
		reactor_timer_disarm(r->reactor, &r->timer);
	else
		reactor_timer_arm(r->reactor, &r->timer,
				  clock_now_ns() + r->opts.call_timeout_ms * 1000000u);
}

static void rpc_timeout(struct timer *t)
{
	struct rpc *r = container_of(t, struct rpc, timer);
	char why[256];
	uint64_t ms = r->opts.call_timeout_ms;

	if (ms % 1000)
		snprintf(why, sizeof(why), "the Ruby helper did not answer within %llu ms",
			 (unsigned long long)ms);
	else
		snprintf(why, sizeof(why), "the Ruby helper did not answer within %llu s",
			 (unsigned long long)(ms / 1000));
	if (r->opts.timeout_setting)
		snprintf(why + strlen(why), sizeof(why) - strlen(why), " (raise %s to allow more)",
			 r->opts.timeout_setting);
	rpc_abandon(r, why);
}

/* Drops the consumed prefix of the read buffer when it is large (RPC_COMPACT_MIN). */
static void rpc_compact(struct rpc *r)
{
	struct sbuf *out = &r->child.out;
	size_t rest = out->len - r->parsed;

	if (!r->parsed || r->parsed < RPC_COMPACT_MIN || r->parsed < rest)
		return;
	if (rest)
		memmove(out->buf, out->buf + r->parsed, rest);
	sbuf_setlen(out, rest);
	r->parsed = 0;
}

/* Parses complete RESULT frames from the helper's protocol fd. */
static void rpc_on_read(struct child *ch)
{
	struct rpc *r = container_of(ch, struct rpc, child);
	struct sbuf *out = &ch->out;

	while (!r->dead) {
		const char *p = out->buf + r->parsed;
		size_t avail = out->len - r->parsed;
		const char *nl = memchr(p, '\n', avail < RPC_HEADER_MAX ? avail : RPC_HEADER_MAX);
		if (!nl) {
			if (avail >= RPC_HEADER_MAX)
				rpc_abandon(r, "the Ruby helper broke the protocol (header too long)");
			break;
		}
		unsigned id;
		char status[8], hdr[RPC_HEADER_MAX + 1];
		unsigned long long n;
		int end = 0;
		size_t hlen = (size_t)(nl - p);
		memcpy(hdr, p, hlen);
		hdr[hlen] = '\0';
		if (sscanf(hdr, "OUT %u %llu%n", &id, &n, &end) == 2 && (size_t)end == hlen) {
			struct rpc_call *c = list_empty(&r->waiting)
						     ? NULL
						     : list_first_entry(&r->waiting, struct rpc_call, link);
			if (!c || c->id != id || !c->output || n > RPC_RESULT_MAX) {
				rpc_abandon(r, "the Ruby helper broke the protocol (output for no call)");
				break;
			}
			if (avail - hlen - 1 < n)
				break;
			r->parsed += hlen + 1 + (size_t)n;
			c->output(c, nl + 1, (size_t)n);
			rpc_compact(r);
			continue;
		}
		if (sscanf(hdr, "RESULT %u %7s %llu%n", &id, status, &n, &end) != 3 ||
		    (size_t)end != hlen || (strcmp(status, "ok") && strcmp(status, "err"))) {
			rpc_abandon(r, "the Ruby helper broke the protocol (a malformed result)");
			break;
		}
		if (n > RPC_RESULT_MAX) {
			rpc_abandon(r, "the Ruby helper broke the protocol (a result too large)");
			break;
		}
		if (list_empty(&r->waiting) ||
		    list_first_entry(&r->waiting, struct rpc_call, link)->id != id) {
			rpc_abandon(r, "the Ruby helper broke the protocol (an answer to no call)");
			break;
		}
		if (avail - hlen - 1 < n)
			break;
		struct rpc_call *c = list_first_entry(&r->waiting, struct rpc_call, link);
		list_del(&c->link);
		sbuf_reset(&c->result);
		sbuf_add(&c->result, nl + 1, (size_t)n);
		c->res = strcmp(status, "ok") == 0 ? 0 : -SC_ERUBY;
		r->parsed += hlen + 1 + (size_t)n;
		rpc_arm(r);
		c->done(c);
		rpc_compact(r);
	}
	/* Drop consumed bytes once nothing is pending, so the buffer stays small. */
	if (r->parsed == out->len || r->dead) {
		sbuf_reset(out);
		r->parsed = 0;
	} else {
		rpc_compact(r);
	}
}

static void rpc_on_exit(struct child *ch)
{
	struct rpc *r = container_of(ch, struct rpc, child);
	char why[128];

	r->dead = true;
	if (!r->why[0]) {
		snprintf(why, sizeof(why), "the Ruby helper exited (%s)", child_status_str(ch));
		snprintf(r->why, sizeof(r->why), "%s", why);
	}
	rpc_fail_all(r, r->why);
	child_release(ch);
}

int rpc_start(struct rpc *r, struct child_mgr *m, const char *const *argv,
	      const struct rpc_options *opts, const struct trace_ctx *ctx)
{
	memset(r, 0, sizeof(*r));
	list_init(&r->waiting);
	if (opts)
		r->opts = *opts;
	r->reactor = child_mgr_reactor(m);
	timer_init(&r->timer, rpc_timeout);
	r->child.argv = argv;
	r->child.envp = r->opts.envp;
	r->child.keep_fds = r->opts.keep_fds;
	r->child.nkeep_fds = r->opts.nkeep_fds;
	r->child.stdin_pipe = true;
	r->child.proto_fds = true;
	r->child.stderr_fd = 2;
	r->child.as_limit = r->opts.mem_limit;
	r->child.out_max = RPC_RESULT_MAX + RPC_HEADER_MAX + 1;
	r->child.done = rpc_on_exit;
	r->child.on_read = rpc_on_read;
	r->child.ctx = ctx;
	int k = child_spawn(m, &r->child);
	if (k < 0) {
		r->dead = true;
		sbuf_rtrim(&r->child.out);
		snprintf(r->why, sizeof(r->why), "cannot start the Ruby helper: %s",
			 r->child.out.len ? r->child.out.buf : sc_strerror(k));
		child_release(&r->child);
		return k;
	}
	r->started = true;
	return 0;
}

void rpc_call(struct rpc *r, struct rpc_call *call)
{
	char hdr[160];

	call->id = ++r->next_id;
	sbuf_init(&call->result, 0);
	list_add_tail(&call->link, &r->waiting);
	if (r->dead) {
		rpc_fail_all(r, r->why[0] ? r->why : "the Ruby helper is not running");
		return;
	}
	if (call->link.prev == &r->waiting)
		rpc_arm(r); /* the only outstanding call: its clock starts now */
	int n = snprintf(hdr, sizeof(hdr), "CALL %u %s %zu\n", call->id, call->method, call->len);
	SC_ASSERT(n > 0 && (size_t)n < sizeof(hdr)); /* methods are ours, short literals */
	/*
	 * A write that fails has closed the helper's stdin: it reads EOF and
	 * exits, and its exit fails every waiting call (rpc's done).
	 */
	if (child_write(&r->child, hdr, (size_t)n) == 0 && call->len)
		(void)child_write(&r->child, call->payload, call->len);
}

void rpc_stop(struct rpc *r)
{
	if (r->started && !r->dead)
		child_close_stdin(&r->child);
	if (r->reactor)
		reactor_timer_disarm(r->reactor, &r->timer);
}

bool rpc_running(const struct rpc *r)
{
	return r->started && !r->child.finished;
}
