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
 * else -errno. Every completion is reported to trace.h.
 *
 * Compound ops: WRITE_FILE is openat(O_CREAT|O_TRUNC|O_NOFOLLOW) + writes
 * (short writes requeued) + close, with the exact mode applied even under a
 * restrictive umask. COPY_FILE and CLONE_FILE have no io_uring opcode and
 * always run synchronously (bounded by one file).
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
	unsigned queued, in_kernel;
};
void ioq_get_stats(const struct ioq *q, struct ioq_stats *ret);

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
