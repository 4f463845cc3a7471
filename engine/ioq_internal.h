/*
 * ioq_internal.h: what the op queue's front end (ioq.c) and its two backends
 * (ioq_uring.c, ioq_sync.c) share. Not for use outside engine/ioq*.c.
 */
#pragma once

#include "engine/ioq.h"
#include "engine/reactor.h"

struct ioq__uring;

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
};

/* Runs op to completion with plain syscalls; returns its result. */
int ioq__sync_run(struct ioq_op *op);
/* Records the result, traces it and moves op to the completed list. */
void ioq__finish(struct ioq *q, struct ioq_op *op, int res);

int ioq__uring_init(struct ioq *q, unsigned depth);
void ioq__uring_free(struct ioq *q);
/* Starts queued ops on the ring; returns how many went into SQEs. */
unsigned ioq__uring_flush(struct ioq *q);
