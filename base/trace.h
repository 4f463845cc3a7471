/*
 * trace.h: SCINT_IO_TRACE, one JSON object per line for every filesystem,
 * network and process operation the engine performs.
 *
 * The op queue, the HTTP layer and the child layer call trace_* when an
 * operation completes; nothing wraps libc. Records are buffered in memory and
 * written in large blocks (the trace's own writes are not traced). Each record
 * carries the caller's trace_ctx: phase, job id and gem. Paths relative to a
 * directory fd are printed in full when the fd was named with
 * trace_name_fd(). Process-wide, single-threaded.
 *
 * It lives in base/ because it needs nothing above it (formatting and
 * buffered write(2) only, no reactor): fsops/ records its synchronous calls
 * here without depending on engine/.
 *
 * Record fields: t (us since start), op, path, path2, url, bytes, res (0 or
 * the -errno), err (errno name), dur_us, phase, job, gem; for processes also
 * pid, argv, status; for state changes also line (debug builds, see
 * trace_state).
 */
#pragma once

#include <stdbool.h>
#include <stdint.h>

struct trace_ctx {
	const char *phase; /* "fetch", "assemble", ... */
	const char *gem;   /* full name, or NULL */
	unsigned job;      /* job id, 0 when none */
};

extern bool trace_enabled;
/*
 * The context of the job whose step is running (set by the scheduler), for
 * records of synchronous calls made from it (fsops); NULL outside steps.
 */
extern const struct trace_ctx *trace_current;

/*
 * A clock reading for the start of an operation, shared by the operations a
 * step queues: taken at the first call, then again after any record is
 * written or a step ends (trace_step_end), so that no record starts before
 * one it follows. Reading the clock per operation cost more than the rest
 * of its record.
 */
uint64_t trace_shared_now_ns(void);
void trace_step_end(void);

/* Opens the trace file (truncating). Returns 0 or -errno. */
int trace_open(const char *path);
/* Flushes and closes (NULL-safe to call when not open). */
void trace_close(void);
void trace_flush(void);

/* Names a directory fd so that records print full paths; forget on close. */
void trace_name_fd(int fd, const char *path);
void trace_forget_fd(int fd);

void trace_io(const struct trace_ctx *ctx, const char *op, int dirfd, const char *path,
	      int dirfd2, const char *path2, int64_t bytes, int res, uint64_t t_start_ns,
	      uint64_t t_end_ns);
void trace_http(const struct trace_ctx *ctx, const char *op, const char *url, long status,
		int64_t bytes, int res, uint64_t t_start_ns, uint64_t t_end_ns);
void trace_proc(const struct trace_ctx *ctx, const char *op, const char *const *argv, int pid,
		int status, int res, uint64_t t_start_ns, uint64_t t_end_ns);
/* A free-form event (state transitions, plan decisions): {"op":"event","what":...}. */
void trace_event(const struct trace_ctx *ctx, const char *what, const char *detail);
/*
 * A state machine's transition, {"op":"event","what":"state","detail":"FROM -> TO"},
 * with "line":N when line > 0: the source line that asked for the change.
 * Each phase's `<phase>_enter()` funnel is a macro passing TRACE_LINE, which
 * is the caller's __LINE__ in debug builds and 0 in release builds (curl's
 * multistate()).
 */
void trace_state(const struct trace_ctx *ctx, const char *from, const char *to, int line);
#ifdef SC_RELEASE
#define TRACE_LINE 0
#else
#define TRACE_LINE __LINE__
#endif
