/*
 * sched.h: the scheduler, scint's session object, and the job graph.
 *
 * The scheduler owns every job of a run: dependencies between them, their
 * states, concurrency limits per job kind, priorities, fail-fast, error
 * collection and the stats that progress output and SCINT_PROFILE read. It
 * also runs the reactor loop (sched_run), one tick at a time:
 *
 *   1. start queued jobs while their kind has free slots (highest prio first),
 *      then run up to SCHED_STEPS_PER_TICK ready jobs' step()
 *   2. ioq_flush() (also after any step that leaves SCHED_FLUSH_OPS ops queued)
 *   3. epoll_wait: timeout 0 when work is ready, else the nearest timer
 *   4. dispatch (ring, curl sockets, pidfds, pipes) - callbacks only record
 *   5. fire timers; http_drain()
 *   6. ioq_complete() (op done callbacks); reap finished jobs
 *
 * Job states:
 *
 *   PENDING --deps done--> QUEUED --slot free--> RUNNING --job_finish()--> DONE
 *      |                      |                      |                  \-> FAILED
 *      \--dep failed / abort--+----------------------/ (never started)  --> FAILED
 *
 * Only job_finish() ends a job; only the scheduler starts one. A job's step()
 * runs only while it is RUNNING and was woken (job_wake) since its last step.
 * A failed job fails its dependents with -SC_EDEPFAILED; with fail-fast the
 * first failure also cancels everything not yet started and asks running jobs
 * to stop (ops->cancel). Jobs live in the run's arena; their buffers are freed
 * by ops->release at reap time, at the end of the tick they finished in.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/compiler.h"
#include "base/list.h"
#include "base/sbuf.h"
#include "base/trace.h"

struct arena;
struct reactor;
struct ioq;
struct http;
struct child_mgr;
struct sched;
struct job;

#define SCHED_STEPS_PER_TICK 64
/* Ops queued by steps that make the op queue flush before the tick ends. */
#define SCHED_FLUSH_OPS 64

enum job_kind {
	JOB_INDEX,
	JOB_FETCH,
	JOB_ASSEMBLE,
	JOB_COMPILE,
	JOB_PROMOTE,
	JOB_MATERIALIZE,
	JOB_FINALIZE,
	JOB_GIT, /* a git source: fetch and export (phases/git.c) */
	JOB_REMOTE, /* the remote artifact cache: pull or push (phases/remote.c) */
	JOB_KIND__COUNT,
};

extern const char *const job_kind_name[JOB_KIND__COUNT];

enum job_state {
	JOB_PENDING,
	JOB_QUEUED,
	JOB_RUNNING,
	JOB_DONE,
	JOB_FAILED,
	JOB_STATE__COUNT,
};

extern const char *const job_state_name[JOB_STATE__COUNT];

struct job_ops {
	enum job_kind kind;
	void (*step)(struct job *j);
	void (*cancel)(struct job *j);  /* optional: stop in-flight work; step still finishes */
	void (*release)(struct job *j); /* optional: free job-lifetime buffers */
};

struct job {
	const struct job_ops *ops;
	struct sched *sched;
	enum job_state state;
	const char *label; /* the gem's full name, or a short description */
	int prio;          /* within its kind; higher starts first */
	unsigned id;
	struct trace_ctx ctx;
	int err;           /* first error, 0 when none */
	struct sbuf errmsg; /* what failed, for the user */
	uint64_t t_queued_ns, t_start_ns, t_end_ns;
	unsigned ops_pending; /* for the job's own bookkeeping of outstanding ops */

	/* private: */
	struct list_head link; /* on a queue, the ready list or the reap list */
	bool ready;
	bool canceled;
	unsigned ndeps_left;
	struct job **dependents;
	size_t ndependents, dependents_cap;
};

struct sched_limits {
	unsigned max_running[JOB_KIND__COUNT]; /* 0: unlimited */
};

struct sched_kind_stats {
	unsigned total, queued, running, done, failed;
	uint64_t busy_ns;        /* sum of job run times */
	uint64_t first_start_ns; /* when the first job of the kind started (0: none) */
	uint64_t last_end_ns;    /* when the last one ended */
	unsigned max_running;    /* the most that ran at once */
};

struct sched_stats {
	struct sched_kind_stats kind[JOB_KIND__COUNT];
	unsigned jobs, unfinished;
	uint64_t ticks;
};

enum sched_event {
	SCHED_EV_START,
	SCHED_EV_FINISH,
	SCHED_EV_TICK,
};
typedef void sched_observer_fn(struct sched *s, struct job *j, enum sched_event ev, void *data);

struct sched *sched_new(struct arena *a, struct reactor *r, struct ioq *q, struct http *h,
			struct child_mgr *cm, const struct sched_limits *limits, bool fail_fast);
void sched_free(struct sched *s);

struct arena *sched_arena(struct sched *s);
struct reactor *sched_reactor(struct sched *s);
struct ioq *sched_ioq(struct sched *s);
struct http *sched_http(struct sched *s);
struct child_mgr *sched_children(struct sched *s);
void sched_set_observer(struct sched *s, sched_observer_fn *fn, void *data);
void sched_set_limit(struct sched *s, enum job_kind kind, unsigned max_running);

/*
 * A stall (jobs unfinished, nothing in flight, nothing ready: a bug in a
 * phase) ends the process with abort(), as a failed assertion does. Just
 * before, the process-wide handler (set by cli/, which prints the report;
 * none: nothing is printed) gets the stalled scheduler.
 */
typedef void sched_stall_fn(const struct sched *s);
void sched_set_stall_handler(sched_stall_fn *fn);
/* Appends one line per job not DONE or FAILED ("  kind label (state, N deps left)"). */
void sched_format_unfinished(const struct sched *s, struct sbuf *out);

/* Prepares a job (state PENDING). label must outlive the run (arena). */
void job_init(struct job *j, struct sched *s, const struct job_ops *ops, const char *label,
	      int prio);
/* j runs only after dep is DONE. Call before sched_submit(j). */
void job_depends(struct job *j, struct job *dep);
/* Hands j to the scheduler; it starts when its deps are done and a slot is free. */
void sched_submit(struct sched *s, struct job *j);

/* Marks a RUNNING job ready for its next step() (from done callbacks too). */
void job_wake(struct job *j);
/*
 * Records an error on the job (the first one wins) with a message, and
 * returns err so that callers can `return job_fail(...)`. Does not end it.
 */
int job_fail(struct job *j, int err, const char *fmt, ...) sc_printf(3, 4);
/* Ends a RUNNING job: DONE, or FAILED when an error was recorded. */
void job_finish(struct job *j);
/* True when fail-fast has aborted the run (steps should wind down). */
bool sched_aborting(const struct sched *s);
/*
 * Stops the run (an interrupt): jobs not started fail with -SC_ECANCELED,
 * running ones are asked to stop (ops->cancel: transfers aborted, builds
 * signalled) and finish through their failure paths, which clean up.
 */
void sched_cancel(struct sched *s);

/*
 * Runs the loop until every submitted job is DONE or FAILED. Returns 0 when
 * all are DONE, else the first error.
 */
int sched_run(struct sched *s);

void sched_get_stats(const struct sched *s, struct sched_stats *ret);
/* Every job, in submission order (for error reports and profiles). */
struct job *const *sched_jobs(const struct sched *s, size_t *ret_n);
