#include "fsops.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/fs.h>
#include <linux/openat2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "base/compiler.h"
#include "base/clock.h"
#include "base/sbuf.h"
#include "base/trace.h"

#define RET_NERRNO(expr) ((expr) < 0 ? -errno : 0)

/*
 * Every helper below that touches the filesystem leaves one SCINT_IO_TRACE
 * record, attributed to the job whose step called it (trace_current).
 */
static const struct trace_ctx fs_setup_ctx = { .phase = "setup" };

static uint64_t fs_t0(void)
{
	return trace_enabled ? clock_now_ns() : 0;
}

static int fs_traced(const char *op, int dirfd, const char *path, int64_t bytes, int r,
		     uint64_t t0)
{
	if (trace_enabled)
		trace_io(trace_current ? trace_current : &fs_setup_ctx, op, dirfd, path, -1, NULL,
			 bytes, r < 0 ? r : 0, t0, clock_now_ns());
	return r;
}

static int fs_mkdirat_p_untraced(int dirfd, const char *path, mode_t mode)
{
	char buf[4096];
	size_t n = strlen(path);
	struct stat st;

	if (n == 0)
		return 0;
	/* Usually it exists already: one fstatat instead of a mkdirat per component. */
	if (fstatat(dirfd, path, &st, 0) == 0)
		return S_ISDIR(st.st_mode) ? 0 : -ENOTDIR;
	if (n >= sizeof(buf))
		return -ENAMETOOLONG;
	memcpy(buf, path, n + 1);
	for (size_t i = 1; i <= n; i++) {
		if (buf[i] != '/' && buf[i] != '\0')
			continue;
		char c = buf[i];
		buf[i] = '\0';
		if (mkdirat(dirfd, buf, mode) < 0 && errno != EEXIST)
			return -errno;
		buf[i] = c;
	}
	if (fstatat(dirfd, path, &st, 0) < 0)
		return -errno;
	return S_ISDIR(st.st_mode) ? 0 : -ENOTDIR;
}

int fs_mkdirat_p(int dirfd, const char *path, mode_t mode)
{
	uint64_t t0 = fs_t0();

	return fs_traced("mkdir_p", dirfd, path, -1, fs_mkdirat_p_untraced(dirfd, path, mode), t0);
}

int fs_mkdir_p(const char *path, mode_t mode)
{
	return fs_mkdirat_p(AT_FDCWD, path, mode);
}

int fs_open_dirat(int dirfd, const char *path)
{
	uint64_t t0 = fs_t0();
	int fd = openat(dirfd, path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

	return fs_traced("opendir", dirfd, path, -1, fd < 0 ? -errno : fd, t0);
}

int fs_open_dir(const char *path)
{
	return fs_open_dirat(AT_FDCWD, path);
}

/* The same walk without openat2 (kernels before 5.6, or a seccomp filter refusing it). */
int fs__open_dir_walk(int dirfd, const char *path)
{
	char part[NAME_MAX + 1];
	int fd = -1;

	if (!*path || *path == '/')
		return -EXDEV;
	for (const char *p = path; *p;) {
		const char *end = strchr(p, '/');
		size_t n = end ? (size_t)(end - p) : strlen(p);
		if (n == 0 || n > NAME_MAX || (n == 2 && p[0] == '.' && p[1] == '.')) {
			if (fd >= 0)
				(void)close(fd);
			return n > NAME_MAX ? -ENAMETOOLONG : -EXDEV;
		}
		memcpy(part, p, n);
		part[n] = '\0';
		int k = openat(fd >= 0 ? fd : dirfd, part,
			       O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		int err = errno;
		if (fd >= 0)
			(void)close(fd);
		if (k < 0)
			return -err;
		fd = k;
		p += n;
		while (*p == '/')
			p++;
	}
	return fd;
}

int fs_open_dir_beneath(int dirfd, const char *path)
{
	uint64_t t0 = fs_t0();
	struct open_how how = {
		.flags = O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC,
		.resolve = RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS,
	};
	int fd = (int)syscall(SYS_openat2, dirfd, path, &how, sizeof(how));

	if (fd < 0)
		fd = errno == ENOSYS || errno == EPERM ? fs__open_dir_walk(dirfd, path) : -errno;
	return fs_traced("opendir", dirfd, path, -1, fd, t0);
}

static int fs_read_fileat_untraced(int dirfd, const char *path, struct sbuf *out,
				   size_t max_bytes)
{
	int fd = openat(dirfd, path, O_RDONLY | O_CLOEXEC);
	int r = 0;

	if (fd < 0)
		return -errno;
	struct stat st;
	if (fstat(fd, &st) == 0 && st.st_size > 0) {
		if ((uint64_t)st.st_size > max_bytes) {
			r = -EFBIG;
			goto out_close;
		}
		if (sbuf_grow(out, (size_t)st.st_size) < 0) {
			r = -EFBIG;
			goto out_close;
		}
	}
	for (;;) {
		if (sbuf_grow(out, 8192) < 0) {
			r = -EFBIG;
			goto out_close;
		}
		ssize_t k = read(fd, out->buf + out->len, out->alloc - out->len - 1);
		if (k < 0) {
			if (errno == EINTR)
				continue;
			r = -errno;
			goto out_close;
		}
		if (k == 0)
			break;
		out->len += (size_t)k;
		out->buf[out->len] = '\0';
		if (out->len > max_bytes) {
			r = -EFBIG;
			goto out_close;
		}
	}
out_close:
	(void)close(fd);
	return r;
}

int fs_read_fileat(int dirfd, const char *path, struct sbuf *out, size_t max_bytes)
{
	uint64_t t0 = fs_t0();
	size_t before = out->len;
	int r = fs_read_fileat_untraced(dirfd, path, out, max_bytes);

	return fs_traced("read_file", dirfd, path, (int64_t)(out->len - before), r, t0);
}

int fs_read_file(const char *path, struct sbuf *out, size_t max_bytes)
{
	return fs_read_fileat(AT_FDCWD, path, out, max_bytes);
}

int fs_pwrite_all(int fd, const void *buf, size_t len, uint64_t off)
{
	const char *p = buf;

	while (len) {
		ssize_t k = pwrite(fd, p, len, (off_t)off);
		if (k < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (k == 0)
			return -EIO;
		p += k;
		off += (uint64_t)k;
		len -= (size_t)k;
	}
	return 0;
}

int fs_write_atomic(int dirfd, const char *name, const void *buf, size_t len, mode_t mode)
{
	char tmp[4096];
	uint64_t t0 = fs_t0();
	int r;

	if ((size_t)snprintf(tmp, sizeof(tmp), "%s.tmp-%d", name, (int)getpid()) >= sizeof(tmp))
		return -ENAMETOOLONG;
	int fd = openat(dirfd, tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, mode);
	if (fd < 0)
		return -errno;
	r = fs_pwrite_all(fd, buf, len, 0);
	if (r == 0 && (mode & ~fs_umask()) != mode)
		r = RET_NERRNO(fchmod(fd, mode));
	if (close(fd) < 0 && r == 0)
		r = -errno;
	if (r == 0)
		r = RET_NERRNO(renameat(dirfd, tmp, dirfd, name));
	if (r < 0)
		(void)unlinkat(dirfd, tmp, 0);
	return fs_traced("write_atomic", dirfd, name, (int64_t)len, r, t0);
}

/*
 * The file a dangling symlink names, in *ret (malloc'd, absolute): its
 * directory must exist; a target that is itself a link (a chain) is -ELOOP.
 */
static int fs_dangling_target(const char *path, char **ret)
{
	char link[PATH_MAX], full[2 * PATH_MAX + 2];
	ssize_t n = readlink(path, link, sizeof(link) - 1);
	struct stat st;

	*ret = NULL;
	if (n < 0)
		return -errno;
	if (n == 0)
		return -ENOENT;
	link[n] = '\0';
	const char *ps = strrchr(path, '/');
	if (link[0] == '/' || !ps)
		snprintf(full, sizeof(full), "%s", link);
	else
		snprintf(full, sizeof(full), "%.*s/%s", (int)(ps - path), path, link);
	if (lstat(full, &st) == 0)
		return -ELOOP;
	char *base = strrchr(full, '/');
	const char *name = base ? base + 1 : full;
	if (!*name)
		return -ENOENT;
	if (base)
		*base = '\0';
	char *dir = realpath(!base ? "." : full[0] ? full : "/", NULL);
	if (!dir)
		return -errno;
	size_t len = strlen(dir) + strlen(name) + 2;
	*ret = malloc(len);
	if (!*ret) {
		free(dir);
		return -ENOMEM;
	}
	snprintf(*ret, len, "%s/%s", strcmp(dir, "/") ? dir : "", name);
	free(dir);
	return 0;
}

int fs_replace_if_changed(const char *path, const void *buf, size_t len, mode_t mode)
{
	struct sbuf old = SBUF_INIT;
	char *real = NULL, *slash, tmp[PATH_MAX + 32];
	const char *target = path;
	struct stat st;
	static unsigned counter;
	int fd = -1, r;
	uint64_t t0 = fs_t0();

	r = fs_read_file(path, &old, len + 1);
	if (r == 0 && old.len == len && memcmp(old.buf ? old.buf : "", buf, len) == 0) {
		sbuf_release(&old);
		return 0;
	}
	sbuf_release(&old);
	if (r < 0 && r != -ENOENT && r != -EFBIG)
		return r;
	if (lstat(path, &st) == 0) {
		bool dangling = false;
		if (S_ISLNK(st.st_mode)) {
			real = realpath(path, NULL);
			if (!real && errno == ENOENT) {
				/* a link to a file not there yet: created, as open(2) would */
				r = fs_dangling_target(path, &real);
				if (r < 0)
					return r;
				dangling = true;
			} else if (!real) {
				return -errno;
			}
			target = real;
			if (!dangling && stat(target, &st) < 0) {
				r = -errno;
				goto out;
			}
		}
		if (dangling) {
			mode &= ~fs_umask();
		} else if (!S_ISREG(st.st_mode)) {
			r = -EISDIR;
			goto out;
		} else {
			mode = st.st_mode & 07777;
		}
	} else if (errno != ENOENT) {
		return -errno;
	} else {
		mode &= ~fs_umask();
	}
	slash = strrchr(target, '/');
	if ((size_t)snprintf(tmp, sizeof(tmp), "%.*s.%s.tmp-%d-%u",
			     slash ? (int)(slash + 1 - target) : 0, target,
			     slash ? slash + 1 : target, (int)getpid(), counter++) >= sizeof(tmp)) {
		r = -ENAMETOOLONG;
		goto out;
	}
	fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0) {
		r = -errno;
		goto out;
	}
	r = fs_pwrite_all(fd, buf, len, 0);
	if (r == 0)
		r = RET_NERRNO(fchmod(fd, mode));
	if (r == 0)
		r = RET_NERRNO(fsync(fd));
	if (close(fd) < 0 && r == 0)
		r = -errno;
	if (r == 0)
		r = RET_NERRNO(rename(tmp, target));
	if (r < 0) {
		(void)unlink(tmp);
		goto out;
	}
	/* The rename itself must reach the disk. */
	if (slash) {
		char dir[PATH_MAX];
		snprintf(dir, sizeof(dir), "%.*s", slash == target ? 1 : (int)(slash - target),
			 target);
		fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	} else {
		fd = open(".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	}
	if (fd >= 0) {
		(void)fsync(fd);
		(void)close(fd);
	}
	r = 1;
out:
	free(real);
	return fs_traced("replace_if_changed", AT_FDCWD, path, (int64_t)len, r, t0);
}

/*
 * Makes the directory d writable and searchable by its owner once: a build
 * (or a gem's tar) may leave a 0555 directory, whose entries its owner then
 * cannot unlink (EACCES; root never gets it). By the descriptor, never by
 * path. Returns whether a retry may help.
 */
static bool fs_rmtree_unlock(DIR *d, bool *done)
{
	struct stat st;

	if (*done || fstat(dirfd(d), &st) < 0)
		return false;
	*done = true;
	return fchmod(dirfd(d), (st.st_mode & 07777) | S_IRWXU) == 0;
}

/*
 * Opens the subdirectory name of d to empty it; one it may not read or
 * search (0000, 0200) is made u+rwx first. fchmodat with
 * AT_SYMLINK_NOFOLLOW on one name relative to d: never through a symlink
 * (a name swapped for one fails with EOPNOTSUPP and is left alone).
 */
static int fs_rmtree_open_sub(DIR *d, const char *name, bool *unlocked)
{
	int sub = openat(dirfd(d), name, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
	struct stat st;

	if (sub >= 0 || errno != EACCES)
		return sub < 0 ? -errno : sub;
	/* The search bit of d itself may be what is missing. */
	if (fs_rmtree_unlock(d, unlocked)) {
		sub = openat(dirfd(d), name, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
		if (sub >= 0 || errno != EACCES)
			return sub < 0 ? -errno : sub;
	}
	if (fstatat(dirfd(d), name, &st, AT_SYMLINK_NOFOLLOW) < 0 || !S_ISDIR(st.st_mode) ||
	    fchmodat(dirfd(d), name, (st.st_mode & 07777) | S_IRWXU, AT_SYMLINK_NOFOLLOW) < 0)
		return -EACCES;
	sub = openat(dirfd(d), name, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
	return sub < 0 ? -errno : sub;
}

/* unlinkat in d, retried once after fs_rmtree_unlock when d refuses it. */
static int fs_rmtree_unlink(DIR *d, const char *name, int flags, bool *unlocked)
{
	if (unlinkat(dirfd(d), name, flags) == 0)
		return 0;
	if (errno == EACCES && fs_rmtree_unlock(d, unlocked) &&
	    unlinkat(dirfd(d), name, flags) == 0)
		return 0;
	return -errno;
}

static int fs_rmtree_fd(int dfd, int depth)
{
	DIR *d;
	struct dirent *de;
	int r = 0;
	bool unlocked = false;

	if (depth > 256) {
		(void)close(dfd);
		return -ELOOP;
	}
	d = fdopendir(dfd);
	if (!d) {
		(void)close(dfd);
		return -errno;
	}
	while ((de = readdir(d))) {
		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		bool isdir = de->d_type == DT_DIR;
		if (de->d_type == DT_UNKNOWN) {
			struct stat st;
			if (fstatat(dirfd(d), de->d_name, &st, AT_SYMLINK_NOFOLLOW) == 0)
				isdir = S_ISDIR(st.st_mode);
		}
		if (isdir) {
			int sub = fs_rmtree_open_sub(d, de->d_name, &unlocked);
			if (sub < 0) {
				r = r ? r : sub;
				continue;
			}
			int k = fs_rmtree_fd(sub, depth + 1);
			if (k < 0 && !r)
				r = k;
			k = fs_rmtree_unlink(d, de->d_name, AT_REMOVEDIR, &unlocked);
			if (k < 0 && !r)
				r = k;
		} else {
			int k = fs_rmtree_unlink(d, de->d_name, 0, &unlocked);
			if (k < 0 && k != -ENOENT && !r)
				r = k;
		}
	}
	(void)closedir(d);
	return r;
}

static int fs_rmtree_at_untraced(int dirfd, const char *name)
{
	struct stat st;

	if (fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
		return errno == ENOENT ? 0 : -errno;
	if (!S_ISDIR(st.st_mode))
		return RET_NERRNO(unlinkat(dirfd, name, 0));
	int fd = openat(dirfd, name, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
	/* A top directory its owner may not read (0000, 0200): u+rwx, as below it. */
	if (fd < 0 && errno == EACCES &&
	    fchmodat(dirfd, name, (st.st_mode & 07777) | S_IRWXU, AT_SYMLINK_NOFOLLOW) == 0)
		fd = openat(dirfd, name, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0)
		return -errno;
	int r = fs_rmtree_fd(fd, 0);
	if (unlinkat(dirfd, name, AT_REMOVEDIR) < 0 && !r && errno != ENOENT)
		r = -errno;
	return r;
}

int fs_rmtree_at(int dirfd, const char *name)
{
	uint64_t t0 = fs_t0();

	return fs_traced("rmtree", dirfd, name, -1, fs_rmtree_at_untraced(dirfd, name), t0);
}

int fs_rmtree(const char *path)
{
	return fs_rmtree_at(AT_FDCWD, path);
}

int fs_list_dirat(int at, const char *path, fs_entry_fn *fn, void *data)
{
	uint64_t t0 = fs_t0();
	int fd = openat(at, path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
	struct dirent *de;

	if (!d) {
		int r = -errno;
		if (fd >= 0)
			(void)close(fd);
		return fs_traced("readdir", at, path, -1, r, t0);
	}
	while ((de = readdir(d))) {
		const char *n = de->d_name;
		if (n[0] == '.' && (!n[1] || (n[1] == '.' && !n[2])))
			continue;
		fn(dirfd(d), n, data);
	}
	closedir(d);
	return fs_traced("readdir", at, path, -1, 0, t0);
}

bool fs_exists_at(int dirfd, const char *name)
{
	struct stat st;
	uint64_t t0 = fs_t0();

	return fs_traced("fstatat", dirfd, name, -1,
			 RET_NERRNO(fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW)), t0) == 0;
}

bool fs_is_dir_at(int dirfd, const char *name)
{
	struct stat st;
	uint64_t t0 = fs_t0();

	return fs_traced("fstatat", dirfd, name, -1, RET_NERRNO(fstatat(dirfd, name, &st, 0)),
			 t0) == 0 &&
	       S_ISDIR(st.st_mode);
}

static int fs_dir_is_empty_untraced(int dirfd)
{
	union {
		char buf[4096];
		uint64_t align;
	} u;
	int fd = openat(dirfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	int r = 1;

	if (fd < 0)
		return -errno;
	for (;;) {
		long n = syscall(SYS_getdents64, fd, u.buf, sizeof(u.buf));
		if (n < 0) {
			r = -errno;
			break;
		}
		if (n == 0)
			break;
		for (long off = 0; off < n && r == 1;) {
			const struct dirent64 *de = (const struct dirent64 *)(void *)(u.buf + off);
			const char *nm = de->d_name;
			if (!(nm[0] == '.' && (!nm[1] || (nm[1] == '.' && !nm[2]))))
				r = 0;
			off += de->d_reclen;
		}
		if (r != 1)
			break;
	}
	(void)close(fd);
	return r;
}

int fs_dir_is_empty(int dirfd)
{
	uint64_t t0 = fs_t0();

	return fs_traced("getdents", dirfd, ".", -1, fs_dir_is_empty_untraced(dirfd), t0);
}

int fs_clone_fd(int src_fd, int dst_fd)
{
	return RET_NERRNO(ioctl(dst_fd, FICLONE, src_fd));
}

int fs_copy_fd(int src_fd, int dst_fd, uint64_t len)
{
	bool use_cfr = true;
	char buf[65536];
	uint64_t done = 0;

	while (len) {
		if (use_cfr) {
			ssize_t k = copy_file_range(src_fd, NULL, dst_fd, NULL, len, 0);
			if (k > 0) {
				done += (uint64_t)k;
				len -= (uint64_t)k;
				continue;
			}
			if (k == 0)
				return -EIO; /* source shrank under us */
			if (errno == EINTR)
				continue;
			if (errno != EXDEV && errno != ENOSYS && errno != EINVAL &&
			    errno != EOPNOTSUPP)
				return -errno;
			use_cfr = false;
		}
		ssize_t k = read(src_fd, buf, len < sizeof(buf) ? len : sizeof(buf));
		if (k < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (k == 0)
			return -EIO;
		int r = fs_pwrite_all(dst_fd, buf, (size_t)k, done);
		if (r < 0)
			return r;
		done += (uint64_t)k;
		len -= (uint64_t)k;
	}
	return 0;
}

int64_t fs_copy_file_at(int src_dirfd, const char *src_name, int dst_dirfd, const char *dst_name,
			mode_t mode, bool clone)
{
	int64_t r;
	struct stat st;
	int src = openat(src_dirfd, src_name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);

	if (src < 0)
		return -errno;
	if (fstat(src, &st) < 0) {
		r = -errno;
		goto out_close_src;
	}
	int dst = openat(dst_dirfd, dst_name, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode);
	if (dst < 0) {
		r = -errno;
		goto out_close_src;
	}
	r = clone ? fs_clone_fd(src, dst) : fs_copy_fd(src, dst, (uint64_t)st.st_size);
	if (r == 0 && (mode & ~fs_umask()) != mode && fchmod(dst, mode) < 0)
		r = -errno;
	if (close(dst) < 0 && r == 0)
		r = -errno;
	if (r < 0)
		(void)unlinkat(dst_dirfd, dst_name, 0);
	else
		r = st.st_size;
out_close_src:
	(void)close(src);
	return r;
}

static int fs_lock(int dirfd, const char *name, int oflags, int how)
{
	uint64_t t0 = fs_t0();
	int fd = openat(dirfd, name, oflags | O_CLOEXEC | O_NOFOLLOW, 0644);

	if (fd < 0)
		return fs_traced("flock", dirfd, name, -1, -errno, t0);
	while (flock(fd, how) < 0) {
		if (errno == EINTR)
			continue;
		int r = -errno;
		(void)close(fd);
		return fs_traced("flock", dirfd, name, -1, r, t0);
	}
	return fs_traced("flock", dirfd, name, -1, fd, t0);
}

int fs_lock_try(int dirfd, const char *name)
{
	return fs_lock(dirfd, name, O_RDWR | O_CREAT, LOCK_EX | LOCK_NB);
}

int fs_lock_wait(int dirfd, const char *name)
{
	return fs_lock(dirfd, name, O_RDWR | O_CREAT, LOCK_EX);
}

int fs_lock_open(int dirfd, const char *name, int oflags)
{
	return fs_lock(dirfd, name, oflags, LOCK_EX | LOCK_NB);
}

int fs_fd_finish(int fd, mode_t mode)
{
	int r = 0;

	if ((mode & ~fs_umask()) != mode && fchmod(fd, mode) < 0)
		r = -errno;
	if (close(fd) < 0 && r == 0 && errno != EINTR)
		r = -errno;
	return r;
}

mode_t fs_umask(void)
{
	static int cached = -1;

	if (cached < 0) {
		mode_t m = umask(022);
		umask(m);
		cached = (int)m;
	}
	return (mode_t)cached;
}
