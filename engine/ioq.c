#include "engine/ioq.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>

#include "base/clock.h"
#include "base/compiler.h"
#include "base/trace.h"
#include "engine/ioq_internal.h"

const char *const ioq_opcode_name[IOQ_OPCODE__COUNT] = {
	[IOQ_OPENAT] = "openat",     [IOQ_CLOSE] = "close",
	[IOQ_WRITE] = "write",	     [IOQ_MKDIRAT] = "mkdirat",
	[IOQ_LINKAT] = "linkat",     [IOQ_SYMLINKAT] = "symlinkat",
	[IOQ_RENAMEAT] = "renameat", [IOQ_STATX] = "statx",
	[IOQ_UNLINKAT] = "unlinkat", [IOQ_WRITE_FILE] = "write_file",
	[IOQ_COPY_FILE] = "copy",    [IOQ_CLONE_FILE] = "clone",
};

struct ioq *ioq_new(struct reactor *r, enum ioq_backend backend, unsigned depth)
{
	struct ioq *q = sc_xcalloc(1, sizeof(*q));

	q->r = r;
	q->depth = depth ? depth : 256;
	list_init(&q->queued);
	list_init(&q->completed);
	if (backend != IOQ_BACKEND_SYNC) {
		int k = ioq__uring_init(q, q->depth);
		if (k == 0) {
			q->backend = IOQ_BACKEND_URING;
			return q;
		}
		if (backend == IOQ_BACKEND_URING) {
			free(q);
			errno = -k;
			return NULL;
		}
	}
	q->backend = IOQ_BACKEND_SYNC;
	return q;
}

void ioq_free(struct ioq *q)
{
	if (!q)
		return;
	SC_ASSERT(q->in_kernel == 0);
	ioq__uring_free(q);
	for (unsigned i = 0; i <= IOQ_PHASES_MAX; i++)
		free(q->hist[i].count);
	free(q);
}

const char *ioq_backend_name(const struct ioq *q)
{
	return q->backend == IOQ_BACKEND_URING ? "io_uring" : "sync";
}

static void ioq_start(struct ioq *q, struct ioq_op *op)
{
	SC_ASSERT(!op->in_flight);
	SC_ASSERT(op->opcode < IOQ_OPCODE__COUNT);
	SC_ASSERT(op->done);
	op->in_flight = true;
	op->res = 0;
	op->step = 0;
	op->saved_err = 0;
	op->done_bytes = 0;
	op->tmp_fd = -1;
	op->slot = -1;
	op->cqes_left = 0;
	op->chain_next = NULL;
	op->t_start_ns = trace_enabled ? trace_shared_now_ns() : 0;
	q->stats.submitted[op->opcode]++;
	q->nqueued++;
}

void ioq_submit(struct ioq *q, struct ioq_op *op)
{
	ioq_start(q, op);
	op->qstate = IOQ_S_QUEUED;
	list_add_tail(&op->link, &q->queued);
}

bool ioq_submit_after(struct ioq *q, struct ioq_op *prev, struct ioq_op *op)
{
	if (!prev->in_flight || (prev->qstate != IOQ_S_QUEUED && prev->qstate != IOQ_S_CHAINED))
		return false;
	SC_ASSERT(!prev->chain_next);
	ioq_start(q, op);
	op->qstate = IOQ_S_CHAINED;
	prev->chain_next = op;
	return true;
}

struct ioq_op *ioq_chain_tail(struct ioq_op *op)
{
	if (!op->in_flight || (op->qstate != IOQ_S_QUEUED && op->qstate != IOQ_S_CHAINED))
		return NULL;
	while (op->chain_next && op->chain_next->qstate == IOQ_S_CHAINED)
		op = op->chain_next;
	return op->chain_next ? NULL : op;
}

unsigned ioq_flush_if(struct ioq *q, unsigned min)
{
	return q->nqueued >= min ? ioq_flush(q) : 0;
}

bool ioq__sync_budget_take(struct ioq *q, const struct ioq_op *op)
{
	if (op->opcode != IOQ_COPY_FILE && op->opcode != IOQ_CLONE_FILE)
		return true;
	return q->sync_budget > 0;
}

/* Runs op with plain syscalls and finishes it, charging copies and clones to the budget. */
static void ioq_run_sync(struct ioq *q, struct ioq_op *op)
{
	uint64_t reap_ns = q->trace_reap_ns;
	int res;

	q->trace_reap_ns = 0; /* (a redo inside a reap ends when it ends) */
	res = ioq__sync_run(op);

	if (op->opcode == IOQ_COPY_FILE || op->opcode == IOQ_CLONE_FILE) {
		uint64_t cost = IOQ_SYNC_OP_COST + op->done_bytes;
		q->sync_budget = q->sync_budget > cost ? q->sync_budget - cost : 0;
	}
	ioq__finish(q, op, res);
	q->trace_reap_ns = reap_ns;
}

void ioq__run_sync(struct ioq *q, struct ioq_op *op)
{
	ioq_run_sync(q, op);
}

unsigned ioq_flush(struct ioq *q)
{
	unsigned n = 0;

	q->stats.flushes++;
	q->sync_budget = IOQ_SYNC_BUDGET;
	if (q->backend == IOQ_BACKEND_URING)
		return ioq__uring_flush(q);
	/*
	 * Sync backend: run what is queued now, in order (an op chained behind
	 * another is queued when that one finishes, and runs in this flush).
	 * Ops queued by done callbacks run at the next flush, so a callback
	 * never runs inside submit. Copies and clones stop at the budget.
	 */
	while (!list_empty(&q->queued)) {
		struct ioq_op *op = list_first_entry(&q->queued, struct ioq_op, link);
		if (!ioq__sync_budget_take(q, op))
			break;
		list_del(&op->link);
		q->nqueued--;
		op->qstate = IOQ_S_STARTED;
		ioq_run_sync(q, op);
		n++;
	}
	return n;
}

static void ioq_trace(const struct ioq *q, const struct ioq_op *op)
{
	int64_t bytes = -1;

	switch (op->opcode) {
	case IOQ_WRITE:
	case IOQ_WRITE_FILE:
	case IOQ_COPY_FILE:
	case IOQ_CLONE_FILE:
		bytes = op->res >= 0 ? op->res : (int64_t)op->done_bytes;
		break;
	default:
		break;
	}
	const char *path = op->path, *path2 = op->path2;
	int dirfd = op->dirfd, dirfd2 = op->dirfd2;
	if (op->opcode == IOQ_CLOSE || op->opcode == IOQ_WRITE)
		path = path2 = NULL;
	if (op->opcode == IOQ_SYMLINKAT)
		dirfd = -1; /* path is the link target, printed as written */
	trace_io(op->ctx, ioq_opcode_name[op->opcode], dirfd, path, dirfd2, path2, bytes,
		 op->res < 0 ? op->res : 0, op->t_start_ns,
		 q->trace_reap_ns ? q->trace_reap_ns : clock_now_ns());
}

void ioq__finish(struct ioq *q, struct ioq_op *op, int res)
{
	op->res = res;
	if (res > 0 && (op->opcode == IOQ_WRITE_FILE || op->opcode == IOQ_WRITE ||
			op->opcode == IOQ_COPY_FILE))
		q->stats.bytes_written += (uint64_t)res;
	if (trace_enabled)
		ioq_trace(q, op);
	op->qstate = IOQ_S_IDLE;
	list_add_tail(&op->link, &q->completed);
	struct ioq_op *next = op->chain_next;
	op->chain_next = NULL;
	if (next && next->qstate == IOQ_S_CHAINED) {
		/* Its turn: queued at the tail, so this very flush may start it. */
		next->qstate = IOQ_S_QUEUED;
		list_add_tail(&next->link, &q->queued);
	}
}

unsigned ioq_complete(struct ioq *q)
{
	unsigned n = 0;
	struct list_head done;

	/* Detach first: done callbacks may submit new ops that complete later. */
	list_init(&done);
	if (list_empty(&q->completed))
		return 0;
	done.next = q->completed.next;
	done.prev = q->completed.prev;
	done.next->prev = &done;
	done.prev->next = &done;
	list_init(&q->completed);
	while (!list_empty(&done)) {
		struct ioq_op *op = list_first_entry(&done, struct ioq_op, link);
		list_del(&op->link);
		op->in_flight = false;
		op->done(op);
		n++;
	}
	return n;
}

bool ioq_has_completed(const struct ioq *q)
{
	return !list_empty(&q->completed);
}

unsigned ioq_pending(const struct ioq *q)
{
	return q->nqueued + q->in_kernel;
}

void ioq_get_stats(const struct ioq *q, struct ioq_stats *ret)
{
	*ret = q->stats;
	ret->queued = q->nqueued;
	ret->in_kernel = q->in_kernel;
}

unsigned ioq__phase_bit(struct ioq *q, const struct ioq_op *op)
{
	const char *phase = op->ctx ? op->ctx->phase : NULL;

	if (!phase)
		return 0;
	for (unsigned i = 1; i <= q->nhist; i++)
		if (q->hist[i].phase == phase || !strcmp(q->hist[i].phase, phase))
			return 1u << (i - 1);
	if (q->nhist == IOQ_PHASES_MAX)
		return 0;
	q->hist[++q->nhist].phase = phase;
	return 1u << (q->nhist - 1);
}

static void ioq_hist_add(struct ioq__hist *h, unsigned n)
{
	if (!h->count)
		h->count = sc_xcalloc(IOQ_HIST_MAX + 1, sizeof(*h->count));
	h->count[SC_MIN(n, (unsigned)IOQ_HIST_MAX)]++;
	h->enters++;
	h->sqes += n;
	if (n > h->max)
		h->max = n;
}

void ioq__count_enter(struct ioq *q, unsigned n, unsigned mask)
{
	ioq_hist_add(&q->hist[0], n);
	for (unsigned i = 1; i <= q->nhist; i++)
		if (mask & (1u << (i - 1)))
			ioq_hist_add(&q->hist[i], n);
}

bool ioq_ring_stats(const struct ioq *q, const char *phase, struct ioq_ring_stats *ret)
{
	const struct ioq__hist *h = NULL;

	*ret = (struct ioq_ring_stats){ 0 };
	if (q->backend != IOQ_BACKEND_URING)
		return false;
	if (!phase)
		h = &q->hist[0];
	for (unsigned i = 1; !h && i <= q->nhist; i++)
		if (!strcmp(q->hist[i].phase, phase))
			h = &q->hist[i];
	ret->chains = q->chains;
	ret->linked_sqes = q->linked_sqes;
	ret->enter_ns = q->enter_ns;
	if (!h || !h->enters)
		return true;
	ret->enters = h->enters;
	ret->sqes = h->sqes;
	ret->max = h->max;
	ret->mean = (double)h->sqes / (double)h->enters;
	uint64_t seen = 0, half = (h->enters + 1) / 2;
	for (unsigned k = 0; k <= IOQ_HIST_MAX; k++) {
		seen += h->count[k];
		if (seen >= half) {
			ret->median = k;
			break;
		}
	}
	return true;
}

static void ioq_prep(struct ioq_op *op, enum ioq_opcode opcode)
{
	SC_ASSERT(!op->in_flight);
	op->opcode = opcode;
	op->dirfd = op->dirfd2 = AT_FDCWD;
	op->path = op->path2 = NULL;
	op->flags = 0;
	op->mode = 0;
	op->fd = -1;
	op->buf = NULL;
	op->len = 0;
	op->off = 0;
	op->stx = NULL;
	op->sync_only = false;
	op->chain_next = NULL;
	op->slot = -1;
}

void ioq_prep_openat(struct ioq_op *op, int dirfd, const char *path, int flags, mode_t mode)
{
	ioq_prep(op, IOQ_OPENAT);
	op->dirfd = dirfd;
	op->path = path;
	op->flags = flags | O_CLOEXEC;
	op->mode = mode;
}

void ioq_prep_close(struct ioq_op *op, int fd)
{
	ioq_prep(op, IOQ_CLOSE);
	op->fd = fd;
}

void ioq_prep_write(struct ioq_op *op, int fd, const void *buf, size_t len, uint64_t off)
{
	ioq_prep(op, IOQ_WRITE);
	op->fd = fd;
	op->buf = buf;
	op->len = len;
	op->off = off;
}

void ioq_prep_mkdirat(struct ioq_op *op, int dirfd, const char *path, mode_t mode)
{
	ioq_prep(op, IOQ_MKDIRAT);
	op->dirfd = dirfd;
	op->path = path;
	op->mode = mode;
}

void ioq_prep_linkat(struct ioq_op *op, int olddirfd, const char *oldpath, int newdirfd,
		     const char *newpath)
{
	ioq_prep(op, IOQ_LINKAT);
	op->dirfd = olddirfd;
	op->path = oldpath;
	op->dirfd2 = newdirfd;
	op->path2 = newpath;
}

void ioq_prep_symlinkat(struct ioq_op *op, const char *target, int newdirfd, const char *linkpath)
{
	ioq_prep(op, IOQ_SYMLINKAT);
	op->path = target;
	op->dirfd2 = newdirfd;
	op->path2 = linkpath;
}

void ioq_prep_renameat(struct ioq_op *op, int olddirfd, const char *oldpath, int newdirfd,
		       const char *newpath, unsigned flags)
{
	ioq_prep(op, IOQ_RENAMEAT);
	op->dirfd = olddirfd;
	op->path = oldpath;
	op->dirfd2 = newdirfd;
	op->path2 = newpath;
	op->flags = (int)flags;
}

void ioq_prep_statx(struct ioq_op *op, int dirfd, const char *path, int flags, unsigned mask,
		    struct statx *stx)
{
	ioq_prep(op, IOQ_STATX);
	op->dirfd = dirfd;
	op->path = path;
	op->flags = flags;
	op->mode = mask;
	op->stx = stx;
}

void ioq_prep_unlinkat(struct ioq_op *op, int dirfd, const char *path, int flags)
{
	ioq_prep(op, IOQ_UNLINKAT);
	op->dirfd = dirfd;
	op->path = path;
	op->flags = flags;
}

void ioq_prep_write_file(struct ioq_op *op, int dirfd, const char *path, mode_t mode,
			 const void *buf, size_t len)
{
	ioq_prep(op, IOQ_WRITE_FILE);
	op->dirfd = dirfd;
	op->path = path;
	op->mode = mode;
	op->buf = buf;
	op->len = len;
}

void ioq_prep_copy_file(struct ioq_op *op, int srcdirfd, const char *src, int dstdirfd,
			const char *dst, mode_t mode)
{
	ioq_prep(op, IOQ_COPY_FILE);
	op->dirfd = srcdirfd;
	op->path = src;
	op->dirfd2 = dstdirfd;
	op->path2 = dst;
	op->mode = mode;
	op->sync_only = true;
}

void ioq_prep_clone_file(struct ioq_op *op, int srcdirfd, const char *src, int dstdirfd,
			 const char *dst, mode_t mode)
{
	ioq_prep_copy_file(op, srcdirfd, src, dstdirfd, dst, mode);
	op->opcode = IOQ_CLONE_FILE;
}
