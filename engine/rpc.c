#include "engine/rpc.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/compiler.h"
#include "base/err.h"

static void rpc_fail_all(struct rpc *r, const char *why)
{
	while (!list_empty(&r->waiting)) {
		struct rpc_call *c = list_first_entry(&r->waiting, struct rpc_call, link);
		list_del(&c->link);
		c->res = -SC_ERUBY;
		sbuf_reset(&c->result);
		sbuf_addstr(&c->result, why);
		c->done(c);
	}
}

/* Parses complete RESULT frames from the child's output. */
static void rpc_on_read(struct child *ch)
{
	struct rpc *r = container_of(ch, struct rpc, child);
	struct sbuf *out = &ch->out;

	for (;;) {
		const char *p = out->buf + r->parsed;
		size_t avail = out->len - r->parsed;
		const char *nl = memchr(p, '\n', avail);
		if (!nl)
			break;
		unsigned id;
		char status[8];
		size_t n;
		char hdr[128];
		size_t hlen = (size_t)(nl - p);
		if (hlen >= sizeof(hdr) ||
		    (memcpy(hdr, p, hlen), hdr[hlen] = '\0',
		     sscanf(hdr, "RESULT %u %7s %zu", &id, status, &n) != 3)) {
			r->dead = true;
			child_kill(ch, 9);
			rpc_fail_all(r, "the helper broke the protocol");
			return;
		}
		if (avail - hlen - 1 < n)
			break;
		if (list_empty(&r->waiting)) {
			r->dead = true;
			rpc_fail_all(r, "the helper answered a call nobody made");
			return;
		}
		struct rpc_call *c = list_first_entry(&r->waiting, struct rpc_call, link);
		SC_ASSERT(c->id == id);
		list_del(&c->link);
		sbuf_reset(&c->result);
		sbuf_add(&c->result, nl + 1, n);
		c->res = strcmp(status, "ok") == 0 ? 0 : -SC_ERUBY;
		r->parsed += hlen + 1 + n;
		c->done(c);
	}
	/* Drop consumed bytes once nothing is pending, so the buffer stays small. */
	if (r->parsed == out->len) {
		sbuf_reset(out);
		r->parsed = 0;
	}
}

static void rpc_on_exit(struct child *ch)
{
	struct rpc *r = container_of(ch, struct rpc, child);
	char why[128];

	r->dead = true;
	snprintf(why, sizeof(why), "the Ruby helper exited (%s)", child_status_str(ch));
	snprintf(r->why, sizeof(r->why), "%s", why);
	rpc_fail_all(r, why);
	child_release(ch);
}

int rpc_start(struct rpc *r, struct child_mgr *m, const char *const *argv,
	      const struct trace_ctx *ctx)
{
	memset(r, 0, sizeof(*r));
	list_init(&r->waiting);
	r->child.argv = argv;
	r->child.stdin_pipe = true;
	r->child.stderr_fd = 2;
	r->child.out_max = (size_t)1 << 30;
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
	int n = snprintf(hdr, sizeof(hdr), "CALL %u %s %zu\n", call->id, call->method, call->len);
	SC_ASSERT(n > 0 && (size_t)n < sizeof(hdr));
	child_write(&r->child, hdr, (size_t)n);
	if (call->len)
		child_write(&r->child, call->payload, call->len);
}

void rpc_stop(struct rpc *r)
{
	if (r->started && !r->dead)
		child_close_stdin(&r->child);
}

bool rpc_running(const struct rpc *r)
{
	return r->started && !r->child.finished;
}
