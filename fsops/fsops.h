/*
 * fsops.h: synchronous filesystem helpers, converted to -errno at the edge.
 *
 * These are the bounded synchronous calls scint makes outside the op queue:
 * setting up directories before a run, reading small files (lockfile,
 * manifests, config), atomic small-file replacement, recursive removal of
 * stale trees, file locks, and the data-copy primitives (clone, copy) that
 * io_uring has no opcode for. Every function returns >= 0 on success and
 * -errno on failure; none logs. Every fd they open is O_CLOEXEC.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct sbuf;

/* mkdir -p; mode applies to created directories. */
int fs_mkdir_p(const char *path, mode_t mode);
int fs_mkdirat_p(int dirfd, const char *path, mode_t mode);

/* Opens a directory (O_DIRECTORY|O_PATH-free, usable as dirfd and for getdents). */
int fs_open_dir(const char *path);
int fs_open_dirat(int dirfd, const char *path);
/*
 * Opens the directory at path below dirfd with no symlink in any component
 * (the last one included) and never leaving dirfd ("..", an absolute path):
 * a link swapped in for any part of the path fails with -ELOOP (or -EXDEV,
 * -ENOTDIR) instead of redirecting the caller. openat2(RESOLVE_BENEATH |
 * RESOLVE_NO_SYMLINKS), or a component walk with O_NOFOLLOW where the kernel
 * has no openat2. Returns the fd (O_RDONLY, usable for fchmod) or -errno.
 */
int fs_open_dir_beneath(int dirfd, const char *path);
/* The component walk alone (exported for its unit test). */
int fs__open_dir_walk(int dirfd, const char *path);

/* Reads a whole file into out (appending); fails with -EFBIG past max_bytes. */
int fs_read_file(const char *path, struct sbuf *out, size_t max_bytes);
int fs_read_fileat(int dirfd, const char *path, struct sbuf *out, size_t max_bytes);

/*
 * Writes buf to dirfd/name through a temporary name in the same directory and
 * rename(2), so readers see the old or the new file, never a partial one.
 */
int fs_write_atomic(int dirfd, const char *name, const void *buf, size_t len, mode_t mode);

/*
 * Replaces the file at path with buf, atomically and only when its content
 * differs (the lockfile writer's contract: Bundler leaves an unchanged
 * lockfile untouched, mtime included). The new content goes to a fresh
 * temporary name in the same directory, is fsync'ed and renamed over the
 * old file, then the directory is fsync'ed; a reader sees the old or the
 * new file, never a mix. The old file's permission bits are kept; a new file
 * gets `mode` (less the umask). When path is a symlink, its target is
 * replaced and the link stays (a dangling link: its target is created, in a
 * directory that must exist; a chain of dangling links is -ELOOP). Returns 1
 * when the file was written, 0 when it already had this content, or -errno
 * (the old file is then untouched).
 */
int fs_replace_if_changed(const char *path, const void *buf, size_t len, mode_t mode);

/*
 * Removes dirfd/name recursively (like rm -rf); a missing entry is success.
 * A directory its owner cannot empty or read (a build's 0555 or 0000 one:
 * EACCES) is made u+rwx once, by descriptor or by one name relative to its
 * parent without following a symlink, and the removal retried (rm -rf
 * would give up with "Permission denied").
 */
int fs_rmtree_at(int dirfd, const char *name);
int fs_rmtree(const char *path);

/*
 * Calls fn for every entry of dirfd/path except "." and ".." (readdir order).
 * fn must not rely on the listing staying valid past the call. Returns 0 or
 * -errno when the directory cannot be opened.
 */
typedef void fs_entry_fn(int dirfd, const char *name, void *data);
int fs_list_dirat(int dirfd, const char *path, fs_entry_fn *fn, void *data);

/* true when dirfd/name exists (lstat). */
bool fs_exists_at(int dirfd, const char *name);
bool fs_is_dir_at(int dirfd, const char *name);
/*
 * 1 when the directory open as dirfd holds nothing but "." and "..", 0 when
 * it holds something, -errno when it cannot be read (dirfd's offset is not
 * moved: it is read through a descriptor of its own).
 */
int fs_dir_is_empty(int dirfd);

/* pwrite()s all of buf at off, retrying short writes and EINTR. Returns 0 or -errno. */
int fs_pwrite_all(int fd, const void *buf, size_t len, uint64_t off);

/* The FICLONE ioctl: dst becomes a reflink of src. -EOPNOTSUPP/-EXDEV/... */
int fs_clone_fd(int src_fd, int dst_fd);
/* Copies len bytes with copy_file_range, falling back to read/write. */
int fs_copy_fd(int src_fd, int dst_fd, uint64_t len);
/*
 * Creates dst_dirfd/dst_name as a copy (or, with clone=true, a reflink) of
 * src_dirfd/src_name with the given mode. Returns bytes copied or -errno.
 */
int64_t fs_copy_file_at(int src_dirfd, const char *src_name, int dst_dirfd, const char *dst_name,
			mode_t mode, bool clone);

/*
 * Takes a non-blocking exclusive flock on dirfd/name (created 0644).
 * Returns the lock fd (>= 0), -EWOULDBLOCK when someone else holds it.
 */
int fs_lock_try(int dirfd, const char *name);
/* Blocking variant for the few places that may wait (cache clear). */
int fs_lock_wait(int dirfd, const char *name);

/*
 * fs_lock_try() on what dirfd/name is opened as with oflags (O_CLOEXEC and
 * O_NOFOLLOW added; nothing created without O_CREAT): a directory
 * (O_RDONLY | O_DIRECTORY) or a lock file someone else creates.
 */
int fs_lock_open(int dirfd, const char *name, int oflags);

/*
 * Finishes a file created with mode: applies mode exactly when the umask
 * took bits away (as WRITE_FILE does), then closes fd. fd is closed in any
 * case. Returns 0 or -errno.
 */
int fs_fd_finish(int fd, mode_t mode);

/* The process umask, read once. */
mode_t fs_umask(void);
