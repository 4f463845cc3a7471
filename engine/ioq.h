/*
 * ioq.h: the op queue, scint's only way to touch the filesystem from jobs.
 *
 * A caller embeds a `struct ioq_op` in its job, fills it with one of the
 * ioq_prep_*() functions, and hands it to ioq_submit(). The op is queued;
 * ioq_flush() (once per reactor tick) moves queued ops into the kernel. When
 * the op is complete its `done` callback runs from ioq_complete(), never from
 * inside ioq_submit() or ioq_flush(), whichever backend is in use.
 *
 * Two backends share this API and the completion path:
 *   - io_uring (ioq_uring.c): batched SQEs, the ring fd registered in the
 *     reactor; opcodes the kernel lacks (probed at start) and completions
 *     with -EOPNOTSUPP go to the sync path;
 *   - sync (ioq_sync.c): the same operations as plain syscalls, run at flush
 *     time. Used when io_uring is unavailable (seccomp, sysctl, old kernel)
 *     and forced by SCINT_IO_URING=0.
 *
 * Ownership: the op and every pointer in it (paths, buffers, statx) belong to
 * the caller and must stay valid until `done` has run; an op must not be
 * submitted again before then (SC_ASSERT(!op->in_flight)). `res` is >= 0 on
 * success (an fd for OPENAT, a byte count for WRITE/WRITE_FILE/COPY_FILE),
 * else -errno. Every completion is reported to base/trace.h.
 *
 * Compound ops: WRITE_FILE is openat(O_CREAT|O_TRUNC|O_NOFOLLOW) + writes
 * + close, with the exact mode applied even under a restrictive umask. On
 * io_uring it is one linked chain of SQEs (openat into a fixed-file slot,
 * write, close of the slot: one submit, no round trip between them) when
 * the kernel lets us register a sparse file table; else three dependent
 * steps (short writes requeued). A chain whose write came back short is
 * done again with plain syscalls. COPY_FILE and CLONE_FILE have no io_uring
 * opcode and always run synchronously at flush time, at most
 * IOQ_SYNC_BUDGET bytes' worth per flush (each op costs its bytes plus
 * 64 KiB; at least one op per flush): the rest waits for the next tick, so
 * a tree of clones or copies never holds the loop for long.
 *
 * Ordering: ioq_submit_after() queues an op behind another that has not
 * started yet. The second starts once the first has completed, whatever its
 * result (io_uring: IOSQE_IO_HARDLINK; sync: run in order). Chains go to
 * the kernel as linked SQEs in one submit (a chain longer than the ring
 * holds, or holding an op that cannot be linked, continues from user space
 * when the op before completes). Only ordering is promised: the ops of a
 * chain keep their own results. Independent ops have no order.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "base/list.h"

struct reactor;
struct statx;
struct trace_ctx;
struct ioq_op;

typedef void ioq_done_fn(struct ioq_op *op);

enum ioq_opcode {
	IOQ_OPENAT,
	IOQ_CLOSE,
	IOQ_WRITE,
	IOQ_MKDIRAT,
	IOQ_LINKAT,
	IOQ_SYMLINKAT,
	IOQ_RENAMEAT,
	IOQ_STATX,
	IOQ_UNLINKAT,
	IOQ_WRITE_FILE, /* compound: open + write* + close */
	IOQ_COPY_FILE,  /* sync: copy_file_range */
	IOQ_CLONE_FILE, /* sync: FICLONE */
	IOQ_OPCODE__COUNT,
};

extern const char *const ioq_opcode_name[IOQ_OPCODE__COUNT];

struct ioq_op {
	struct list_head link; /* private: queue membership */
	enum ioq_opcode opcode;
	int res;
	bool in_flight;
	ioq_done_fn *done;
	void *data;
	const struct trace_ctx *ctx; /* for the trace; may be NULL */

	/* arguments (meaning depends on opcode) */
	int dirfd;
	const char *path;
	int dirfd2;
	const char *path2;
	int flags;
	mode_t mode;
	int fd;
	const void *buf;
	size_t len;
	uint64_t off;
	struct statx *stx;

	/* private: */
	struct ioq_op *chain_next; /* starts after this op (ioq_submit_after) */
	uint8_t qstate;
	uint8_t cqes_left;
	int slot; /* fixed-file slot of a linked WRITE_FILE, else -1 */
	uint8_t step;
	bool sync_only;
	int tmp_fd;
	int saved_err;
	size_t done_bytes;
	uint64_t t_start_ns;
};

struct ioq;

enum ioq_backend {
	IOQ_BACKEND_AUTO,
	IOQ_BACKEND_SYNC,
	IOQ_BACKEND_URING,
};

/*
 * Creates the queue. AUTO tries io_uring and falls back to sync; URING fails
 * (NULL, errno set) when io_uring cannot be set up. depth bounds the ops in
 * the kernel at once.
 */
struct ioq *ioq_new(struct reactor *r, enum ioq_backend backend, unsigned depth);
void ioq_free(struct ioq *q);
const char *ioq_backend_name(const struct ioq *q);

/* Queues op; its done runs later from ioq_complete(). */
void ioq_submit(struct ioq *q, struct ioq_op *op);
/*
 * Queues op to start once prev has completed (see "Ordering" above). prev
 * must be the last op of its chain (nothing submitted after it yet). Returns
 * false, queueing nothing, when prev has already started or completed: the
 * caller then waits for prev's done, or submits op on its own.
 */
bool ioq_submit_after(struct ioq *q, struct ioq_op *prev, struct ioq_op *op);
/* The last op of op's chain while op has not started yet, else NULL. */
struct ioq_op *ioq_chain_tail(struct ioq_op *op);
/* Flushes when at least min ops are queued (a producer's mid-tick submit). */
unsigned ioq_flush_if(struct ioq *q, unsigned min);
/*
 * io_uring only: no fixed-file chains for WRITE_FILE (the three-step path
 * old kernels get). For tests; a no-op on the sync backend.
 */
void ioq_disable_direct(struct ioq *q);
/* Moves queued ops into the kernel (or runs them, sync backend). Returns ops started. */
unsigned ioq_flush(struct ioq *q);
/* Runs the done callbacks of completed ops. Returns how many ran. */
unsigned ioq_complete(struct ioq *q);
/* True when ops are completed and waiting for ioq_complete(). */
bool ioq_has_completed(const struct ioq *q);
/* Ops queued or in the kernel. */
unsigned ioq_pending(const struct ioq *q);

struct ioq_stats {
	uint64_t submitted[IOQ_OPCODE__COUNT];
	uint64_t sync_fallbacks;
	uint64_t flushes;
	uint64_t bytes_written;
	uint64_t submit_errors; /* io_uring_enter calls that failed (their ops got the error) */
	unsigned queued, in_kernel;
};
void ioq_get_stats(const struct ioq *q, struct ioq_stats *ret);

/*
 * What the ring was given: io_uring_enter calls that submitted SQEs, the
 * SQEs, their sizes per call (median, mean, largest), linked chains (2+
 * SQEs linked together) and the SQEs in them, time spent in the submitting
 * io_uring_enter calls. phase NULL: every call; else the calls that carried
 * at least one SQE of an op whose ctx names that phase (the first 8 phases
 * seen are kept). Returns false (ret zeroed) on the sync backend.
 */
struct ioq_ring_stats {
	uint64_t enters, sqes, chains, linked_sqes, enter_ns;
	unsigned median, max;
	double mean;
};
bool ioq_ring_stats(const struct ioq *q, const char *phase, struct ioq_ring_stats *ret);
/* Whether WRITE_FILE goes to the ring as one linked chain (fixed-file slots). */
bool ioq_uses_direct(const struct ioq *q);
/* The ring's setup flags the kernel took (0 on the sync backend). */
enum {
	IOQ_SETUP_SUBMIT_ALL = 1u << 0,	  /* IORING_SETUP_SUBMIT_ALL */
	IOQ_SETUP_COOP_TASKRUN = 1u << 1, /* IORING_SETUP_COOP_TASKRUN */
};
unsigned ioq_ring_setup(const struct ioq *q);

/* Fillers: reset the op and set its arguments. The op's done/data/ctx are kept. */
void ioq_prep_openat(struct ioq_op *op, int dirfd, const char *path, int flags, mode_t mode);
void ioq_prep_close(struct ioq_op *op, int fd);
void ioq_prep_write(struct ioq_op *op, int fd, const void *buf, size_t len, uint64_t off);
void ioq_prep_mkdirat(struct ioq_op *op, int dirfd, const char *path, mode_t mode);
void ioq_prep_linkat(struct ioq_op *op, int olddirfd, const char *oldpath, int newdirfd,
		     const char *newpath);
void ioq_prep_symlinkat(struct ioq_op *op, const char *target, int newdirfd,
			const char *linkpath);
void ioq_prep_renameat(struct ioq_op *op, int olddirfd, const char *oldpath, int newdirfd,
		       const char *newpath, unsigned flags);
void ioq_prep_statx(struct ioq_op *op, int dirfd, const char *path, int flags, unsigned mask,
		    struct statx *stx);
void ioq_prep_unlinkat(struct ioq_op *op, int dirfd, const char *path, int flags);
void ioq_prep_write_file(struct ioq_op *op, int dirfd, const char *path, mode_t mode,
			 const void *buf, size_t len);
void ioq_prep_copy_file(struct ioq_op *op, int srcdirfd, const char *src, int dstdirfd,
			const char *dst, mode_t mode);
void ioq_prep_clone_file(struct ioq_op *op, int srcdirfd, const char *src, int dstdirfd,
			 const char *dst, mode_t mode);
