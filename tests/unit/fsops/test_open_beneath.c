/*
 * test_open_beneath.c: fs_open_dir_beneath() (and its fallback walk) opens a
 * directory below a dirfd only through real directories: a symlink swapped
 * in for the last or a middle component, "..", or an absolute path fails,
 * and a chmod on what it returns never reaches the link's target.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fsops/fsops.h"
#include "sc_test.h"

typedef int open_fn(int dirfd, const char *path);

static mode_t mode_of(int dfd, const char *path)
{
	struct stat st;

	assert_int_equal(fstatat(dfd, path, &st, AT_SYMLINK_NOFOLLOW), 0);
	return st.st_mode & 07777;
}

static void check(open_fn *fn, const char *tag)
{
	char dir[512];
	snprintf(dir, sizeof(dir), "%s/%s", sc_test_tmpdir(), tag);
	assert_int_equal(mkdir(dir, 0755), 0);
	int top = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	assert_true(top >= 0);
	assert_int_equal(mkdirat(top, "tree", 0755), 0);
	int root = openat(top, "tree", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	assert_true(root >= 0);
	assert_int_equal(mkdirat(root, "a", 0755), 0);
	assert_int_equal(mkdirat(root, "a/b", 0755), 0);
	assert_int_equal(mkdirat(root, "a/b/c", 0755), 0);
	assert_int_equal(mkdirat(top, "outside", 0755), 0);
	assert_int_equal(mkdirat(top, "outside/c", 0755), 0);

	/* Real directories: opened, and the chmod lands on the entry. */
	int fd = fn(root, "a/b/c");
	assert_true(fd >= 0);
	assert_int_equal(fchmod(fd, 0700), 0);
	close(fd);
	assert_int_equal(mode_of(root, "a/b/c"), 0700);

	/* The last component swapped for a link to a directory outside. */
	assert_int_equal(unlinkat(root, "a/b/c", AT_REMOVEDIR), 0);
	assert_int_equal(symlinkat("../../../outside", root, "a/b/c"), 0);
	fd = fn(root, "a/b/c");
	assert_true(fd == -ELOOP || fd == -ENOTDIR);
	assert_int_equal(mode_of(top, "outside"), 0755);

	/* A middle component swapped: the final name exists (outside/c) through it. */
	assert_int_equal(unlinkat(root, "a/b/c", 0), 0);
	assert_int_equal(unlinkat(root, "a/b", AT_REMOVEDIR), 0);
	assert_int_equal(symlinkat("../../outside", root, "a/b"), 0);
	fd = fn(root, "a/b/c");
	assert_true(fd == -ELOOP || fd == -ENOTDIR);
	assert_int_equal(mode_of(top, "outside/c"), 0755);

	/* Never above the dirfd, never absolute. */
	assert_int_equal(fn(root, "../outside"), -EXDEV);
	assert_int_equal(fn(root, dir), -EXDEV);
	assert_int_equal(fn(root, "a/../../outside"), -EXDEV);
	close(root);
	close(top);
}

SC_TEST(open_dir_beneath_refuses_swapped_links)
{
	check(fs_open_dir_beneath, "openat2");
}

SC_TEST(open_dir_walk_refuses_swapped_links)
{
	check(fs__open_dir_walk, "walk");
}
