/*
 * rpc.h: a long-lived helper child spoken to with a line protocol
 * (`CALL <id> <method> <n>\n<payload>` / `RESULT <id> ok|err <n>\n<payload>`).
 *
 * The protocol has fds of its own (the helper reads calls on fd 3 and
 * writes results on fd 4); the helper's stdout and stderr are scint's
 * stderr, so what user code (a Gemfile) prints is shown and cannot be taken
 * for a result. Results are parsed as hostile input: a malformed or
 * unexpected frame stops the helper and fails the calls, never asserts.
 * Each call has a time limit, and the helper an address-space limit.
 *
 * scint uses it for the Ruby helper: one Ruby start per run, and only on runs
 * that need Ruby. Calls are answered in order; each call's done callback runs
 * from the reactor's dispatch when its RESULT has arrived (it only records).
 * If the helper dies, every outstanding and later call fails with -SC_ERUBY
 * and the helper's exit status in `result`.
 *
 * A call with an output callback may be answered in several frames: any
 * number of `OUT <id> <n>\n<bytes>` (what a native build prints, as it
 * prints it), then its RESULT. OUT frames are for the oldest outstanding
 * call only, and refused (the helper is stopped) for a call without one.
 * Frames are parsed after each read and their bytes dropped from the read
 * buffer as they are consumed (rpc.c, RPC_COMPACT_MIN): a long stream of
 * frames holds at most one partial frame, one read (16 KiB) and what is
 * consumed before a compaction (64 KiB, or as much as is left).
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "base/list.h"
#include "base/sbuf.h"
#include "engine/child.h"

struct rpc_call;
typedef void rpc_done_fn(struct rpc_call *call);
typedef void rpc_output_fn(struct rpc_call *call, const char *p, size_t n);

struct rpc_call {
	/* inputs, owned by the caller until done */
	const char *method;
	const void *payload;
	size_t len;
	rpc_done_fn *done;
	rpc_output_fn *output; /* NULL: the call may not stream output */
	void *data;
	/* outputs */
	int res;           /* 0, or -SC_ERUBY (the helper raised or died) */
	struct sbuf result; /* the answer, or the error message; caller releases */
	/* private: */
	struct list_head link;
	unsigned id;
};

struct rpc_options {
	uint64_t call_timeout_ms; /* 0: none */
	uint64_t mem_limit;       /* RLIMIT_AS in bytes; 0: none */
	const char *timeout_setting; /* named in the timeout message */
	const char *const *envp;     /* NULL: scint's environment */
	const int *keep_fds;         /* fds (>= 5) the helper inherits, e.g. a make jobserver */
	size_t nkeep_fds;
};

struct rpc {
	struct child child;
	/* private: */
	struct rpc_options opts;
	struct reactor *reactor;
	struct timer timer; /* the deadline of the oldest outstanding call */
	struct list_head waiting;
	unsigned next_id;
	bool started;
	bool dead;
	size_t parsed; /* bytes of child.out consumed */
	char why[256]; /* why the helper is not running (exec failure), "" if it is */
};

/*
 * Starts the helper (argv must outlive the rpc; the helper is told nothing
 * of fds 3 and 4, argv says so). Returns 0 or a negative error.
 */
int rpc_start(struct rpc *r, struct child_mgr *m, const char *const *argv,
	      const struct rpc_options *opts, const struct trace_ctx *ctx);
/*
 * Sends a call; done runs later, from the reactor's dispatch, except on a
 * helper already dead: then every waiting call (this one included) fails
 * and its done runs before rpc_call returns.
 */
void rpc_call(struct rpc *r, struct rpc_call *call);
/* Closes the helper's stdin so it exits; its exit is collected by the reactor. */
void rpc_stop(struct rpc *r);
bool rpc_running(const struct rpc *r);
