/*
 * ioq_uring.c: the op queue's io_uring backend.
 *
 * The ring's fd is registered in the reactor (it becomes readable when CQEs
 * are posted), so io_uring shares the single epoll wait point with curl and
 * the children (as h2o does). ioq__uring_flush() turns queued ops into SQEs
 * until the SQ or the depth bound is full (the rest stays queued, h2o's
 * backlog) and submits once. Completions are drained by the reactor
 * dispatcher into the completed list.
 *
 * WRITE_FILE is a small state machine on the op itself:
 *   step 0 OPENAT -> step 1 WRITE (requeued while short) -> step 2 CLOSE.
 * An error after the open is saved and reported after the close.
 * -EINTR/-EAGAIN resubmit; -EOPNOTSUPP (and opcodes the probe did not find)
 * go to the sync path.
 */
#include <errno.h>
#include <fcntl.h>
#include <liburing.h>
#include <stdlib.h>
#include <sys/epoll.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/compiler.h"
#include "engine/ioq_internal.h"
#include "fsops/fsops.h"

struct ioq__uring {
	struct io_uring ring;
	struct wake wake;
	struct ioq *q;
};

enum {
	WF_OPEN = 0,
	WF_WRITE = 1,
	WF_CLOSE = 2,
};

static const int ioq_uring_opcode[IOQ_OPCODE__COUNT] = {
	[IOQ_OPENAT] = IORING_OP_OPENAT,       [IOQ_CLOSE] = IORING_OP_CLOSE,
	[IOQ_WRITE] = IORING_OP_WRITE,	       [IOQ_MKDIRAT] = IORING_OP_MKDIRAT,
	[IOQ_LINKAT] = IORING_OP_LINKAT,       [IOQ_SYMLINKAT] = IORING_OP_SYMLINKAT,
	[IOQ_RENAMEAT] = IORING_OP_RENAMEAT,   [IOQ_STATX] = IORING_OP_STATX,
	[IOQ_UNLINKAT] = IORING_OP_UNLINKAT,   [IOQ_WRITE_FILE] = IORING_OP_OPENAT,
	[IOQ_COPY_FILE] = -1,		       [IOQ_CLONE_FILE] = -1,
};

static void ioq_uring_dispatch(struct wake *w, uint32_t events, void *data);

int ioq__uring_init(struct ioq *q, unsigned depth)
{
	const char *env = getenv("SCINT_IO_URING");
	struct ioq__uring *u;
	int k;

	if (env && env[0] == '0')
		return -ENOTSUP;
	u = sc_xcalloc(1, sizeof(*u));
	k = io_uring_queue_init(depth, &u->ring, IORING_SETUP_SUBMIT_ALL);
	if (k == -EINVAL)
		k = io_uring_queue_init(depth, &u->ring, 0);
	if (k < 0) {
		free(u);
		return k;
	}
	/*
	 * mkdirat, linkat, renameat and most openat calls cannot complete inline
	 * and go to io-wq worker threads. Left unbounded, a batch of links into
	 * one directory becomes dozens of threads fighting over its lock; a
	 * few workers per CPU do the same work with far less contention.
	 */
	const char *wq = getenv("SCINT_IOWQ_MAX");
	unsigned maxw[2] = { 0, wq ? (unsigned)atoi(wq) : 4 };
	if (maxw[1])
		(void)io_uring_register_iowq_max_workers(&u->ring, maxw);
	struct io_uring_probe *probe = io_uring_get_probe_ring(&u->ring);
	for (int i = 0; i < IOQ_OPCODE__COUNT; i++)
		q->uring_op_ok[i] = probe && ioq_uring_opcode[i] >= 0 &&
				    io_uring_opcode_supported(probe, ioq_uring_opcode[i]);
	if (probe)
		io_uring_free_probe(probe);
	if (q->uring_op_ok[IOQ_WRITE_FILE])
		q->uring_op_ok[IOQ_WRITE_FILE] = q->uring_op_ok[IOQ_WRITE] && q->uring_op_ok[IOQ_CLOSE];
	u->q = q;
	u->wake = (struct wake){ .kind = WAKE_IOQ, .fd = u->ring.ring_fd };
	reactor_set_dispatch(q->r, WAKE_IOQ, ioq_uring_dispatch, q);
	k = reactor_add(q->r, &u->wake, EPOLLIN);
	if (k < 0) {
		io_uring_queue_exit(&u->ring);
		free(u);
		return k;
	}
	q->uring = u;
	return 0;
}

void ioq__uring_free(struct ioq *q)
{
	struct ioq__uring *u = q->uring;

	if (!u)
		return;
	reactor_del(q->r, &u->wake);
	io_uring_queue_exit(&u->ring);
	free(u);
	q->uring = NULL;
}

static void ioq_uring_prep_sqe(struct io_uring_sqe *sqe, struct ioq_op *op)
{
	switch (op->opcode) {
	case IOQ_OPENAT:
		io_uring_prep_openat(sqe, op->dirfd, op->path, op->flags, op->mode);
		break;
	case IOQ_CLOSE:
		io_uring_prep_close(sqe, op->fd);
		break;
	case IOQ_WRITE:
		io_uring_prep_write(sqe, op->fd, (const char *)op->buf + op->done_bytes,
				    (unsigned)SC_MIN(op->len - op->done_bytes, (size_t)1 << 30),
				    op->off + op->done_bytes);
		break;
	case IOQ_MKDIRAT:
		io_uring_prep_mkdirat(sqe, op->dirfd, op->path, op->mode);
		break;
	case IOQ_LINKAT:
		io_uring_prep_linkat(sqe, op->dirfd, op->path, op->dirfd2, op->path2, 0);
		break;
	case IOQ_SYMLINKAT:
		io_uring_prep_symlinkat(sqe, op->path, op->dirfd2, op->path2);
		break;
	case IOQ_RENAMEAT:
		io_uring_prep_renameat(sqe, op->dirfd, op->path, op->dirfd2, op->path2,
				       (unsigned)op->flags);
		break;
	case IOQ_STATX:
		io_uring_prep_statx(sqe, op->dirfd, op->path, op->flags, op->mode, op->stx);
		break;
	case IOQ_UNLINKAT:
		io_uring_prep_unlinkat(sqe, op->dirfd, op->path, op->flags);
		break;
	case IOQ_WRITE_FILE:
		switch (op->step) {
		case WF_OPEN:
			io_uring_prep_openat(sqe, op->dirfd, op->path,
					     O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC,
					     op->mode);
			break;
		case WF_WRITE:
			io_uring_prep_write(sqe, op->tmp_fd, (const char *)op->buf + op->done_bytes,
					    (unsigned)SC_MIN(op->len - op->done_bytes,
							     (size_t)1 << 30),
					    op->done_bytes);
			break;
		default:
			io_uring_prep_close(sqe, op->tmp_fd);
			break;
		}
		break;
	case IOQ_COPY_FILE:
	case IOQ_CLONE_FILE:
	case IOQ_OPCODE__COUNT:
		SC_ASSERT(!"opcode has no io_uring form");
	}
	io_uring_sqe_set_data(sqe, op);
}

unsigned ioq__uring_flush(struct ioq *q)
{
	struct ioq__uring *u = q->uring;
	unsigned n = 0;

	while (!list_empty(&q->queued) && q->in_kernel < q->depth) {
		struct ioq_op *op = list_first_entry(&q->queued, struct ioq_op, link);
		if (op->sync_only || !q->uring_op_ok[op->opcode]) {
			list_del(&op->link);
			q->nqueued--;
			q->stats.sync_fallbacks++;
			ioq__finish(q, op, ioq__sync_run(op));
			continue;
		}
		struct io_uring_sqe *sqe = io_uring_get_sqe(&u->ring);
		if (!sqe)
			break;
		list_del(&op->link);
		q->nqueued--;
		ioq_uring_prep_sqe(sqe, op);
		q->in_kernel++;
		n++;
	}
	if (n) {
		int k;
		do
			k = io_uring_submit(&u->ring);
		while (k == -EINTR || k == -EAGAIN);
		SC_ASSERT(k >= 0);
	}
	return n;
}

static void ioq_uring_requeue(struct ioq *q, struct ioq_op *op)
{
	list_add(&op->link, &q->queued);
	q->nqueued++;
}

/* WRITE_FILE's transitions; returns true when the op is finished. */
static bool ioq_uring_write_file_step(struct ioq *q, struct ioq_op *op, int res)
{
	switch (op->step) {
	case WF_OPEN:
		if (res < 0) {
			ioq__finish(q, op, res);
			return true;
		}
		op->tmp_fd = res;
		op->step = op->len ? WF_WRITE : WF_CLOSE;
		break;
	case WF_WRITE:
		if (res < 0) {
			op->saved_err = res;
			op->step = WF_CLOSE;
		} else if (res == 0) {
			op->saved_err = -EIO;
			op->step = WF_CLOSE;
		} else {
			op->done_bytes += (size_t)res;
			if (op->done_bytes >= op->len)
				op->step = WF_CLOSE;
		}
		break;
	default: {
		int r = op->saved_err ? op->saved_err : res;
		/* io_uring has no fchmod: apply an exact mode the umask would strip. */
		if (r >= 0 && (op->mode & ~fs_umask()) != op->mode &&
		    fchmodat(op->dirfd, op->path, op->mode, 0) < 0)
			r = -errno;
		op->tmp_fd = -1;
		ioq__finish(q, op, r < 0 ? r : (int)SC_MIN(op->done_bytes, (size_t)INT32_MAX));
		return true;
	}
	}
	ioq_uring_requeue(q, op);
	return false;
}

static void ioq_uring_cqe(struct ioq *q, struct ioq_op *op, int res)
{
	if (res == -EINTR || res == -EAGAIN) {
		ioq_uring_requeue(q, op);
		return;
	}
	if (res == -EOPNOTSUPP && !(op->opcode == IOQ_WRITE_FILE && op->step != WF_OPEN)) {
		op->sync_only = true;
		ioq_uring_requeue(q, op);
		return;
	}
	if (op->opcode == IOQ_WRITE_FILE) {
		ioq_uring_write_file_step(q, op, res);
		return;
	}
	if (op->opcode == IOQ_WRITE && res > 0) {
		op->done_bytes += (size_t)res;
		if (op->done_bytes < op->len) {
			ioq_uring_requeue(q, op);
			return;
		}
		res = (int)SC_MIN(op->done_bytes, (size_t)INT32_MAX);
	}
	ioq__finish(q, op, res);
}

static void ioq_uring_dispatch(struct wake *w, uint32_t events, void *data)
{
	struct ioq *q = data;
	struct ioq__uring *u = q->uring;
	struct io_uring_cqe *cqe;
	unsigned head, n = 0;

	(void)w;
	(void)events;
	io_uring_for_each_cqe(&u->ring, head, cqe)
	{
		struct ioq_op *op = io_uring_cqe_get_data(cqe);
		SC_ASSERT(op && op->in_flight);
		q->in_kernel--;
		ioq_uring_cqe(q, op, cqe->res);
		n++;
	}
	io_uring_cq_advance(&u->ring, n);
}
