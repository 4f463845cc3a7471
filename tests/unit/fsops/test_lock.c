/*
 * test_lock.c: fs_lock_open(), what the bundle path's lock is taken with:
 * a directory locked through a descriptor of its own (no file created in
 * it), and a lock file only when someone else made it.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fsops/fsops.h"
#include "sc_test.h"

static int scratch(void)
{
	char dir[256];

	snprintf(dir, sizeof(dir), "%s/lock-XXXXXX", sc_test_tmpdir());
	assert_non_null(mkdtemp(dir));
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	assert_true(fd >= 0);
	return fd;
}

static struct timespec mtime(int fd)
{
	struct stat st;

	assert_int_equal(fstat(fd, &st), 0);
	return st.st_mtim;
}

SC_TEST(lock_open_locks_a_directory_without_writing_in_it)
{
	int d = scratch();
	struct timespec before = mtime(d);

	int a = fs_lock_open(d, ".", O_RDONLY | O_DIRECTORY);
	assert_true(a >= 0);
	/* Another descriptor (another install) finds it held, until it is closed. */
	assert_int_equal(fs_lock_open(d, ".", O_RDONLY | O_DIRECTORY), -EWOULDBLOCK);
	close(a);
	int b = fs_lock_open(d, ".", O_RDONLY | O_DIRECTORY);
	assert_true(b >= 0);
	close(b);
	struct timespec after = mtime(d);
	assert_true(before.tv_sec == after.tv_sec && before.tv_nsec == after.tv_nsec);
	close(d);
}

SC_TEST(lock_open_takes_only_a_lock_file_that_exists)
{
	int d = scratch();

	assert_int_equal(fs_lock_open(d, "bundler.lock", O_RDONLY), -ENOENT);
	assert_int_equal(faccessat(d, "bundler.lock", F_OK, 0), -1); /* not created */
	/* As Bundler makes it: created, locked exclusively. */
	int held = openat(d, "bundler.lock", O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	assert_true(held >= 0);
	assert_int_equal(flock(held, LOCK_EX), 0);
	assert_int_equal(fs_lock_open(d, "bundler.lock", O_RDONLY), -EWOULDBLOCK);
	assert_int_equal(flock(held, LOCK_UN), 0);
	int ours = fs_lock_open(d, "bundler.lock", O_RDONLY);
	assert_true(ours >= 0);
	/* Held read-only, it still keeps the next Bundler out. */
	assert_int_equal(flock(held, LOCK_EX | LOCK_NB), -1);
	assert_int_equal(errno, EWOULDBLOCK);
	close(ours);
	close(held);
	/* A symlink in its place is not followed. */
	assert_int_equal(symlinkat("/etc/passwd", d, "link.lock"), 0);
	assert_int_equal(fs_lock_open(d, "link.lock", O_RDONLY), -ELOOP);
	close(d);
}
