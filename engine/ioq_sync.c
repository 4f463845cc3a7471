/*
 * ioq_sync.c: the op queue's plain-syscall backend. Also the path io_uring
 * uses for opcodes it lacks (COPY_FILE, CLONE_FILE, anything the probe did
 * not find) and for completions that came back -EOPNOTSUPP.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/compiler.h"
#include "engine/ioq_internal.h"
#include "fsops/fsops.h"

#define RET_NERRNO(expr) ((expr) < 0 ? -errno : 0)

static int ioq_sync_write_all(struct ioq_op *op, int fd)
{
	int r = fs_pwrite_all(fd, op->buf, op->len, op->off);

	if (r == 0)
		op->done_bytes = op->len;
	return r;
}

static int ioq_sync_write_file(struct ioq_op *op)
{
	int fd = openat(op->dirfd, op->path, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC,
			op->mode);
	if (fd < 0)
		return -errno;
	op->off = 0;
	int r = ioq_sync_write_all(op, fd);
	if (r == 0 && (op->mode & ~fs_umask()) != op->mode)
		r = RET_NERRNO(fchmod(fd, op->mode));
	if (close(fd) < 0 && r == 0)
		r = -errno;
	return r < 0 ? r : (int)op->done_bytes;
}

int ioq__sync_run(struct ioq_op *op)
{
	int r;

	switch (op->opcode) {
	case IOQ_OPENAT:
		r = openat(op->dirfd, op->path, op->flags, op->mode);
		return r < 0 ? -errno : r;
	case IOQ_CLOSE:
		return RET_NERRNO(close(op->fd));
	case IOQ_WRITE:
		r = ioq_sync_write_all(op, op->fd);
		return r < 0 ? r : (int)op->done_bytes;
	case IOQ_MKDIRAT:
		return RET_NERRNO(mkdirat(op->dirfd, op->path, op->mode));
	case IOQ_LINKAT:
		return RET_NERRNO(linkat(op->dirfd, op->path, op->dirfd2, op->path2, 0));
	case IOQ_SYMLINKAT:
		return RET_NERRNO(symlinkat(op->path, op->dirfd2, op->path2));
	case IOQ_RENAMEAT:
		return RET_NERRNO(renameat2(op->dirfd, op->path, op->dirfd2, op->path2,
					    (unsigned)op->flags));
	case IOQ_STATX:
		return RET_NERRNO(statx(op->dirfd, op->path, op->flags, op->mode, op->stx));
	case IOQ_UNLINKAT:
		return RET_NERRNO(unlinkat(op->dirfd, op->path, op->flags));
	case IOQ_WRITE_FILE:
		return ioq_sync_write_file(op);
	case IOQ_COPY_FILE:
	case IOQ_CLONE_FILE: {
		int64_t k = fs_copy_file_at(op->dirfd, op->path, op->dirfd2, op->path2, op->mode,
					    op->opcode == IOQ_CLONE_FILE);
		if (k >= 0)
			op->done_bytes = (size_t)k;
		return k < 0 ? (int)k : (k > INT32_MAX ? INT32_MAX : (int)k);
	}
	case IOQ_OPCODE__COUNT:
		break;
	}
	SC_ASSERT(!"unknown ioq opcode");
	return -EINVAL;
}
