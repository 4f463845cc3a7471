/*
 * ioq_uring.c: the op queue's io_uring backend.
 *
 * The ring's fd is registered in the reactor (it becomes readable when CQEs
 * are posted), so io_uring shares the single epoll wait point with curl and
 * the children (as h2o does). ioq__uring_flush() turns queued ops into SQEs
 * until the SQ, the depth bound (SQEs in the kernel) or the fixed-file
 * slots run out (the rest stays queued, h2o's backlog) and submits once.
 * Completions are drained by the reactor dispatcher into the completed list.
 *
 * WRITE_FILE, when a sparse fixed-file table could be registered (5.19+):
 * one chain, openat into a slot we pick (IORING_FILE_INDEX_ALLOC would pick
 * it at completion, too late for the write linked behind it) -> write from
 * the slot -> close of the slot, each SQE hard-linked to the next (a failed
 * open leaves the slot empty: the write and close fail with -EBADF and the
 * open's error is reported). O_CLOEXEC is left out: the kernel refuses it
 * for direct descriptors, which never reach the fd table anyway. The slot is
 * reused once the close's CQE is in. A short write, or -EAGAIN/-EOPNOTSUPP
 * from the open, makes the whole op run again with plain syscalls.
 * Without fixed files, and for a mode the umask would strip (fchmod'ed on
 * the open fd: ioq_uring_mode_stripped), it is a small state machine on the
 * op itself:
 *   step 0 OPENAT -> step 1 WRITE (requeued while short) -> step 2 CLOSE,
 * an error after the open saved and reported after the close.
 *
 * Chains (ioq_submit_after): a queued op and the ops chained behind it go
 * into consecutive SQEs, IOSQE_IO_HARDLINK between them, as far as the SQ
 * and the depth allow; what does not fit, or follows an op that cannot be
 * linked (a plain WRITE, a three-step WRITE_FILE, a copy or clone), stays
 * behind the last op that went in and is queued when that one completes.
 * -EINTR/-EAGAIN resubmit the op alone; -EOPNOTSUPP (and opcodes the probe
 * did not find) go to the sync path.
 *
 * A submit that fails (io_uring_enter's -errno other than -EINTR/-EAGAIN,
 * and -EBUSY after reaping the CQ ring twice) takes its SQEs back from the
 * SQ ring and finishes each op they carried with that error; nothing is
 * asserted about the kernel's answers.
 *
 * Fewer than IOQ_BATCH_MIN queued ops while at least as many are in the
 * kernel are held back for up to IOQ_HOLD_TICKS flushes, to join the next
 * batch. The SQEs of each submit are counted (ioq__count_enter) for
 * ioq_ring_stats().
 */
#include <errno.h>
#include <fcntl.h>
#include <liburing.h>
#include <stdlib.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/clock.h"
#include "base/compiler.h"
#include "base/trace.h"
#include "engine/ioq_internal.h"
#include "fsops/fsops.h"

struct ioq__uring {
	struct io_uring ring;
	struct wake wake;
	struct ioq *q;
	bool direct; /* WRITE_FILE as one chain through a fixed-file slot */
	int *free_slots;
	unsigned nfree, nslots;
	unsigned held; /* flushes held back in a row (see ioq__uring_flush) */
};

/* user_data: the op, its low bits the SQE's place in a WRITE_FILE chain. */
enum {
	TAG_OP = 0,
	TAG_OPEN = 1,
	TAG_WRITE = 2,
	TAG_CLOSE = 3,
	TAG_MASK = 3,
};

#define IOQ_SLOTS_MAX 1024u
#define IOQ_BATCH_MIN 16u
#define IOQ_HOLD_TICKS 4u
#define IOQ_WRITE_MAX ((size_t)1 << 30)

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
	/*
	 * COOP_TASKRUN (5.19+). Each request an io-wq worker finishes leaves
	 * work for this thread (task_work: freeing the request, since 6.4); by default
	 * adding it interrupts this thread with an IPI wherever it is. A cold
	 * install punts every file it creates to io-wq (openat with O_CREAT,
	 * mkdirat and linkat never complete inline) while this thread inflates,
	 * and those interrupts doubled its system time: io_uring lost to plain
	 * syscalls (large shape, tmpfs, 2 CPUs: 1.07-1.19 s against 0.96-1.05 s;
	 * 0.76-0.87 s with the flag). With it the work waits for this thread's
	 * next entry to the kernel. CQEs are still posted, and epoll woken, as
	 * soon as a worker finishes; only this thread submits and reaps.
	 */
	static const unsigned setups[] = {
		IORING_SETUP_SUBMIT_ALL | IORING_SETUP_COOP_TASKRUN,
		IORING_SETUP_SUBMIT_ALL,
		0,
	};
	k = -EINVAL;
	for (size_t i = 0; i < SC_ARRAY_SIZE(setups) && k == -EINVAL; i++)
		k = io_uring_queue_init(depth, &u->ring, setups[i]);
	if (k < 0) {
		free(u);
		return k;
	}
	/*
	 * mkdirat, linkat, renameat, statx, openat with O_CREAT (and writes to
	 * regular files on filesystems without non-blocking buffered writes)
	 * go to io-wq's bounded workers: by default at most min(depth, 4 per
	 * CPU) for this ring. SCINT_IOWQ_MAX=N (1-1024) sets both worker
	 * limits to N, for measurements; otherwise the kernel's stay.
	 */
	const char *wq = getenv("SCINT_IOWQ_MAX");
	if (wq && *wq) {
		char *end;
		unsigned long n = strtoul(wq, &end, 10);
		unsigned maxw[2] = { (unsigned)n, (unsigned)n };
		if (!*end && n >= 1 && n <= 1024)
			(void)io_uring_register_iowq_max_workers(&u->ring, maxw);
	}
	struct io_uring_probe *probe = io_uring_get_probe_ring(&u->ring);
	for (int i = 0; i < IOQ_OPCODE__COUNT; i++)
		q->uring_op_ok[i] = probe && ioq_uring_opcode[i] >= 0 &&
				    io_uring_opcode_supported(probe, ioq_uring_opcode[i]);
	if (probe)
		io_uring_free_probe(probe);
	if (q->uring_op_ok[IOQ_WRITE_FILE])
		q->uring_op_ok[IOQ_WRITE_FILE] = q->uring_op_ok[IOQ_WRITE] && q->uring_op_ok[IOQ_CLOSE];
	/*
	 * Fixed-file slots for WRITE_FILE chains: as many as chains can be in
	 * the kernel, within the fd limit (the kernel refuses more). A kernel
	 * without sparse registration (before 5.19) keeps the three-step path.
	 */
	struct rlimit rl;
	unsigned nslots = SC_MIN(depth, IOQ_SLOTS_MAX);
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY &&
	    rl.rlim_cur / 2 < nslots)
		nslots = (unsigned)(rl.rlim_cur / 2);
	const char *direct = getenv("SCINT_IO_URING_DIRECT");
	if (q->uring_op_ok[IOQ_WRITE_FILE] && nslots >= 4 && !(direct && direct[0] == '0') &&
	    io_uring_register_files_sparse(&u->ring, nslots) == 0) {
		u->direct = true;
		u->nslots = u->nfree = nslots;
		u->free_slots = sc_xmalloc(nslots * sizeof(*u->free_slots));
		for (unsigned i = 0; i < nslots; i++)
			u->free_slots[i] = (int)(nslots - 1 - i);
	}
	u->q = q;
	u->wake = (struct wake){ .kind = WAKE_IOQ, .fd = u->ring.ring_fd };
	reactor_set_dispatch(q->r, WAKE_IOQ, ioq_uring_dispatch, q);
	k = reactor_add(q->r, &u->wake, EPOLLIN);
	if (k < 0) {
		io_uring_queue_exit(&u->ring);
		free(u->free_slots);
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
	free(u->free_slots);
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
	io_uring_sqe_set_data64(sqe, (uint64_t)(uintptr_t)op);
}

void ioq_disable_direct(struct ioq *q)
{
	if (q->uring)
		q->uring->direct = false;
}

bool ioq_uses_direct(const struct ioq *q)
{
	return q->uring && q->uring->direct;
}

unsigned ioq_ring_setup(const struct ioq *q)
{
	unsigned f = q->uring ? q->uring->ring.flags : 0;

	return (f & IORING_SETUP_SUBMIT_ALL ? IOQ_SETUP_SUBMIT_ALL : 0) |
	       (f & IORING_SETUP_COOP_TASKRUN ? IOQ_SETUP_COOP_TASKRUN : 0);
}

/* The op runs with plain syscalls (no opcode, or told to). */
static bool ioq_uring_sync(const struct ioq *q, const struct ioq_op *op)
{
	return op->sync_only || !q->uring_op_ok[op->opcode];
}

/*
 * Whether the umask would strip bits of the mode a WRITE_FILE asks for
 * (0644 under umask 077). io_uring has no fchmod, and a direct descriptor
 * is no fd that fchmod(2) could take, so such a file is not written as a
 * chain: it takes the three-step path, whose open returns a real fd, and is
 * fchmod'ed on that fd as soon as it is open (ioq_uring_write_file_step).
 * Not a chmod by path after the close: the name could be another file by
 * then (a later tar entry, a symlink), and the mode must be the one of the
 * file written. Under the usual umask (022) no gem file needs it.
 */
static bool ioq_uring_mode_stripped(const struct ioq_op *op)
{
	return (op->mode & ~fs_umask()) != op->mode;
}

/* A WRITE_FILE that goes in as one chain through a slot. */
static bool ioq_uring_is_direct(const struct ioq__uring *u, const struct ioq_op *op)
{
	return u->direct && op->opcode == IOQ_WRITE_FILE && op->step == WF_OPEN &&
	       op->len <= IOQ_WRITE_MAX && !ioq_uring_mode_stripped(op);
}

static unsigned ioq_uring_sqes(const struct ioq__uring *u, const struct ioq_op *op)
{
	if (ioq_uring_is_direct(u, op))
		return op->len ? 3 : 2;
	return 1;
}

/* Whether an op chained behind op may go into the same chain of SQEs. */
static bool ioq_uring_linkable(const struct ioq__uring *u, const struct ioq_op *op)
{
	if (op->opcode == IOQ_WRITE)
		return false; /* a short write is requeued: its successor would overtake it */
	return op->opcode != IOQ_WRITE_FILE || ioq_uring_is_direct(u, op);
}

/* Fills op's SQE(s); returns the last one. */
static struct io_uring_sqe *ioq_uring_emit(struct ioq *q, struct ioq_op *op, unsigned nsqe)
{
	struct ioq__uring *u = q->uring;
	struct io_uring_sqe *sqe = io_uring_get_sqe(&u->ring);

	SC_ASSERT(sqe);
	op->qstate = IOQ_S_STARTED;
	q->nqueued--;
	q->in_kernel += nsqe;
	if (!ioq_uring_is_direct(u, op)) {
		ioq_uring_prep_sqe(sqe, op);
		op->cqes_left = 1;
		return sqe;
	}
	SC_ASSERT(u->nfree > 0);
	int slot = u->free_slots[--u->nfree];
	op->slot = slot;
	op->cqes_left = (uint8_t)nsqe;
	op->tmp_fd = 0; /* the open's result, once known */
	io_uring_prep_openat_direct(sqe, op->dirfd, op->path, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW,
				    op->mode, (unsigned)slot);
	sqe->flags |= IOSQE_IO_HARDLINK;
	io_uring_sqe_set_data64(sqe, (uint64_t)(uintptr_t)op | TAG_OPEN);
	if (op->len) {
		sqe = io_uring_get_sqe(&u->ring);
		io_uring_prep_write(sqe, slot, op->buf, (unsigned)op->len, 0);
		sqe->flags |= IOSQE_FIXED_FILE | IOSQE_IO_HARDLINK;
		io_uring_sqe_set_data64(sqe, (uint64_t)(uintptr_t)op | TAG_WRITE);
	}
	sqe = io_uring_get_sqe(&u->ring);
	io_uring_prep_close_direct(sqe, (unsigned)slot);
	io_uring_sqe_set_data64(sqe, (uint64_t)(uintptr_t)op | TAG_CLOSE);
	return sqe;
}

/* One SQE the kernel did not take: its op ends with err once all its SQEs are counted. */
static void ioq_uring_fail_sqe(struct ioq *q, struct ioq_op *op, unsigned tag, int err)
{
	struct ioq__uring *u = q->uring;

	if (tag != TAG_OP) {
		/* a WRITE_FILE chain through a slot: nothing of it ran, the slot is empty */
		if (--op->cqes_left)
			return;
		u->free_slots[u->nfree++] = op->slot;
		op->slot = -1;
		op->tmp_fd = -1;
		ioq__finish(q, op, err);
		return;
	}
	if (op->opcode == IOQ_WRITE_FILE && op->step != WF_OPEN && op->tmp_fd >= 0) {
		/* the three-step path had opened the file: failure path, plain close */
		(void)close(op->tmp_fd);
		op->tmp_fd = -1;
	}
	ioq__finish(q, op, err);
}

/*
 * io_uring_enter refused the batch (the fd is no ring, no memory, a bad
 * address...). The SQEs it did not take are taken back from the SQ ring,
 * so that no later submit runs them (scint never uses SQPOLL: the kernel
 * reads the SQ tail only inside io_uring_enter), and each op they carried
 * finishes with the error, as if its CQE had brought it: the phases take
 * their ordinary error path.
 */
static void ioq_uring_fail_unsubmitted(struct ioq *q, int err)
{
	struct io_uring_sq *sq = &q->uring->ring.sq;
	unsigned head = io_uring_smp_load_acquire(sq->khead);
	unsigned tail = sq->sqe_tail;

	for (unsigned i = head; i != tail; i++) {
		const struct io_uring_sqe *sqe = &sq->sqes[i & sq->ring_mask];
		uint64_t ud = sqe->user_data;
		struct ioq_op *op = (struct ioq_op *)(uintptr_t)(ud & ~(uint64_t)TAG_MASK);
		SC_ASSERT(op && op->in_flight);
		q->in_kernel--;
		ioq_uring_fail_sqe(q, op, (unsigned)(ud & TAG_MASK), err);
	}
	sq->sqe_head = sq->sqe_tail = head;
	io_uring_smp_store_release(sq->ktail, head);
	q->stats.submit_errors++;
}

unsigned ioq__uring_flush(struct ioq *q)
{
	struct ioq__uring *u = q->uring;
	struct list_head *prev = &q->queued;
	unsigned n = 0, mask = 0;

	/*
	 * A few ops while the kernel is busy with others wait for the next
	 * tick (a completion of those wakes the loop), up to IOQ_HOLD_TICKS
	 * ticks: they then go in with what comes next rather than in an
	 * io_uring_enter of their own.
	 */
	if (q->nqueued && q->nqueued < IOQ_BATCH_MIN && q->in_kernel >= IOQ_BATCH_MIN &&
	    u->held < IOQ_HOLD_TICKS) {
		u->held++;
		return 0;
	}
	u->held = 0;
	while (prev->next != &q->queued) {
		struct ioq_op *op = list_entry(prev->next, struct ioq_op, link);
		if (ioq_uring_sync(q, op)) {
			if (!ioq__sync_budget_take(q, op)) {
				prev = prev->next; /* next flush */
				continue;
			}
			list_del(&op->link);
			q->nqueued--;
			op->qstate = IOQ_S_STARTED;
			q->stats.sync_fallbacks++;
			ioq__run_sync(q, op);
			continue;
		}
		unsigned limit = io_uring_sq_space_left(&u->ring);
		if (q->in_kernel || n)
			limit = SC_MIN(limit, q->depth > q->in_kernel ? q->depth - q->in_kernel : 0);
		unsigned need = ioq_uring_sqes(u, op);
		if (need > limit)
			break;
		if (ioq_uring_is_direct(u, op) && !u->nfree) {
			prev = prev->next; /* waits for a slot; others may go */
			continue;
		}
		list_del(&op->link);
		unsigned seg = 0;
		for (;;) {
			struct io_uring_sqe *last = ioq_uring_emit(q, op, need);
			seg += need;
			n += need;
			limit -= need;
			mask |= ioq__phase_bit(q, op);
			struct ioq_op *nx = op->chain_next;
			if (!nx || nx->qstate != IOQ_S_CHAINED || !ioq_uring_linkable(u, op) ||
			    ioq_uring_sync(q, nx))
				break;
			need = ioq_uring_sqes(u, nx);
			if (need > limit || (ioq_uring_is_direct(u, nx) && !u->nfree))
				break; /* continues from user space when op completes */
			last->flags |= IOSQE_IO_HARDLINK;
			op->chain_next = NULL;
			op = nx;
		}
		if (seg > 1) {
			q->chains++;
			q->linked_sqes += seg;
		}
	}
	/* SQEs a short submit left in the SQ ring go in with this batch (or alone). */
	if (n || io_uring_sq_ready(&u->ring)) {
		uint64_t t0 = clock_now_ns();
		int k, busy = 0;
		for (;;) {
			k = io_uring_submit(&u->ring);
			if (k == -EINTR || k == -EAGAIN)
				continue;
			/* The CQ ring is full: reap (done callbacks run later), then once more. */
			if (k == -EBUSY && busy++ < 2) {
				ioq_uring_dispatch(&u->wake, 0, q);
				continue;
			}
			break;
		}
		q->enter_ns += clock_now_ns() - t0;
		if (k < 0)
			ioq_uring_fail_unsubmitted(q, k);
		else if (n)
			ioq__count_enter(q, n, mask);
	}
	return n;
}

static void ioq_uring_requeue(struct ioq *q, struct ioq_op *op)
{
	op->qstate = IOQ_S_QUEUED;
	list_add(&op->link, &q->queued);
	q->nqueued++;
}

/* An op the ring could not do after all: plain syscalls, now. */
static void ioq_uring_redo_sync(struct ioq *q, struct ioq_op *op)
{
	q->stats.sync_fallbacks++;
	op->done_bytes = 0;
	op->saved_err = 0;
	ioq__run_sync(q, op);
}

/* One CQE of a WRITE_FILE chain; the op finishes with the last. */
static void ioq_uring_direct_cqe(struct ioq *q, struct ioq_op *op, unsigned tag, int res)
{
	struct ioq__uring *u = q->uring;

	switch (tag) {
	case TAG_OPEN:
		op->tmp_fd = res < 0 ? res : 0;
		break;
	case TAG_WRITE:
		if (res < 0 && !op->saved_err)
			op->saved_err = res;
		else if (res >= 0)
			op->done_bytes = (size_t)res;
		break;
	default:
		if (res < 0 && !op->saved_err && op->tmp_fd == 0)
			op->saved_err = res;
		break;
	}
	if (--op->cqes_left)
		return;
	u->free_slots[u->nfree++] = op->slot;
	op->slot = -1;
	int open_res = op->tmp_fd, err = op->saved_err;
	op->tmp_fd = -1;
	if (open_res == -EAGAIN || open_res == -EINTR || open_res == -EOPNOTSUPP ||
	    (open_res == 0 && (err == -EAGAIN || err == -EINTR || err == -EOPNOTSUPP ||
			       (!err && op->done_bytes < op->len)))) {
		ioq_uring_redo_sync(q, op);
		return;
	}
	int r = open_res < 0 ? open_res : err;
	/* (No mode to fix: ioq_uring_is_direct takes no mode the umask strips.) */
	ioq__finish(q, op, r < 0 ? r : (int)SC_MIN(op->done_bytes, (size_t)INT32_MAX));
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
		/* The exact mode on the descriptor just opened (ioq_uring_mode_stripped). */
		if (ioq_uring_mode_stripped(op) && fchmod(res, op->mode) < 0) {
			op->saved_err = -errno;
			op->step = WF_CLOSE;
		}
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
	q->trace_reap_ns = trace_enabled ? clock_now_ns() : 0;
	io_uring_for_each_cqe(&u->ring, head, cqe)
	{
		uint64_t ud = io_uring_cqe_get_data64(cqe);
		struct ioq_op *op = (struct ioq_op *)(uintptr_t)(ud & ~(uint64_t)TAG_MASK);
		SC_ASSERT(op && op->in_flight);
		q->in_kernel--;
		if (ud & TAG_MASK)
			ioq_uring_direct_cqe(q, op, (unsigned)(ud & TAG_MASK), cqe->res);
		else
			ioq_uring_cqe(q, op, cqe->res);
		n++;
	}
	io_uring_cq_advance(&u->ring, n);
	q->trace_reap_ns = 0;
}
