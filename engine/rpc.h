/*
 * rpc.h: a long-lived helper child spoken to with a line protocol
 * (`CALL <id> <method> <n>\n<payload>` / `RESULT <id> ok|err <n>\n<payload>`).
 *
 * scint uses it for the Ruby helper: one Ruby start per run, and only on runs
 * that need Ruby. Calls are answered in order; each call's done callback runs
 * from the reactor's dispatch when its RESULT has arrived (it only records).
 * If the helper dies, every outstanding and later call fails with -SC_ERUBY
 * and the helper's exit status in `result`.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "base/list.h"
#include "base/sbuf.h"
#include "engine/child.h"

struct rpc_call;
typedef void rpc_done_fn(struct rpc_call *call);

struct rpc_call {
	/* inputs, owned by the caller until done */
	const char *method;
	const void *payload;
	size_t len;
	rpc_done_fn *done;
	void *data;
	/* outputs */
	int res;           /* 0, or -SC_ERUBY (the helper raised or died) */
	struct sbuf result; /* the answer, or the error message; caller releases */
	/* private: */
	struct list_head link;
	unsigned id;
};

struct rpc {
	struct child child;
	/* private: */
	struct list_head waiting;
	unsigned next_id;
	bool started;
	bool dead;
	size_t parsed; /* bytes of child.out consumed */
	char why[256]; /* why the helper is not running (exec failure), "" if it is */
};

/* Starts the helper (argv must outlive the rpc). Returns 0 or a negative error. */
int rpc_start(struct rpc *r, struct child_mgr *m, const char *const *argv,
	      const struct trace_ctx *ctx);
/* Sends a call; done runs later. */
void rpc_call(struct rpc *r, struct rpc_call *call);
/* Closes the helper's stdin so it exits; its exit is collected by the reactor. */
void rpc_stop(struct rpc *r);
bool rpc_running(const struct rpc *r);
