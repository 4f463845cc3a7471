/*
 * ioq_internal.h: what the op queue's front end (ioq.c) and its two backends
 * (ioq_uring.c, ioq_sync.c) share. Not for use outside engine/ioq*.c.
 */
#pragma once

#include "engine/ioq.h"
#include "engine/reactor.h"

struct ioq__uring;

/* Where an op is between ioq_submit() and its done. */
enum {
	IOQ_S_IDLE = 0,
	IOQ_S_QUEUED,  /* on q->queued */
	IOQ_S_CHAINED, /* behind another op (its chain_next), not on a list */
	IOQ_S_STARTED, /* in the kernel or run */
};

/* Copies and clones run at flush time, at most this much per flush. */
#define IOQ_SYNC_BUDGET ((uint64_t)8 << 20)
#define IOQ_SYNC_OP_COST ((uint64_t)64 << 10)

/* Sizes of submits, per phase (index 0: all). */
#define IOQ_HIST_MAX	1024
#define IOQ_PHASES_MAX	8
struct ioq__hist {
	const char *phase;
	uint64_t enters, sqes;
	unsigned max;
	uint32_t *count; /* IOQ_HIST_MAX + 1 buckets */
};

struct ioq {
	struct reactor *r;
	enum ioq_backend backend; /* SYNC or URING once created */
	unsigned depth;
	struct list_head queued;    /* submitted, not yet started */
	struct list_head completed; /* finished, done() not yet run */
	unsigned nqueued;
	unsigned in_kernel;
	struct ioq_stats stats;
	struct ioq__uring *uring;
	bool uring_op_ok[IOQ_OPCODE__COUNT];
	uint64_t sync_budget; /* left in this flush */
	/*
	 * Trace only: one clock reading for the CQEs of one reap (their end),
	 * 0 outside a reap; a reading per op cost more than the rest of a
	 * record. (Starts share trace_shared_now_ns().)
	 */
	uint64_t trace_reap_ns;
	/* ring statistics (io_uring backend) */
	uint64_t chains, linked_sqes, enter_ns;
	struct ioq__hist hist[IOQ_PHASES_MAX + 1];
	unsigned nhist;
};

/* Whether op, a copy or clone, may run in this flush; charges the budget. */
bool ioq__sync_budget_take(struct ioq *q, const struct ioq_op *op);
/* Counts one submit of n SQEs carrying the phases of mask (bit i: hist[i + 1]). */
void ioq__count_enter(struct ioq *q, unsigned n, unsigned mask);
/* The bit of op's phase for ioq__count_enter (0 when not kept). */
unsigned ioq__phase_bit(struct ioq *q, const struct ioq_op *op);

/* Runs op to completion with plain syscalls; returns its result. */
int ioq__sync_run(struct ioq_op *op);
/* Runs op with plain syscalls and finishes it (copies and clones charge the budget). */
void ioq__run_sync(struct ioq *q, struct ioq_op *op);
/* Records the result, traces it and moves op to the completed list. */
void ioq__finish(struct ioq *q, struct ioq_op *op, int res);

int ioq__uring_init(struct ioq *q, unsigned depth);
void ioq__uring_free(struct ioq *q);
/* Starts queued ops on the ring; returns how many went into SQEs. */
unsigned ioq__uring_flush(struct ioq *q);
