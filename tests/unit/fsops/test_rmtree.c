/*
 * test_rmtree.c: fs_rmtree_at() removes a tree that a build left read-only
 * (a 0555 directory with files in it, a 0500 one below it, a 0000 one, and
 * a 0000 top directory) as their non-root owner. root never gets EACCES, so
 * as root the removal runs in a child that dropped to nobody (uid/gid
 * 65534) on a tree that child made; skipped only when it cannot drop.
 */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "fsops/fsops.h"
#include "sc_test.h"

#define NOBODY 65534

static int mkfile(int dfd, const char *name)
{
	int fd = openat(dfd, name, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
	if (fd < 0)
		return -1;
	return close(fd);
}

/*
 * Builds top/{ro/{f, sub/g}, locked/h} under dir, locks it down
 * (ro 0555, ro/sub 0500, locked 0000, and top itself 0000 when lock_top)
 * and removes top. Returns 0 when fs_rmtree_at succeeded and top is gone,
 * else a small code naming the step that failed.
 */
static int build_and_remove(const char *dir, bool lock_top)
{
	int d = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (d < 0)
		return 10;
	if (mkdirat(d, "top", 0755) < 0 || mkdirat(d, "top/ro", 0755) < 0 ||
	    mkdirat(d, "top/ro/sub", 0755) < 0 || mkdirat(d, "top/locked", 0755) < 0 ||
	    mkfile(d, "top/ro/f") < 0 || mkfile(d, "top/ro/sub/g") < 0 ||
	    mkfile(d, "top/locked/h") < 0)
		return 11;
	if (fchmodat(d, "top/ro/sub", 0500, 0) < 0 || fchmodat(d, "top/ro", 0555, 0) < 0 ||
	    fchmodat(d, "top/locked", 0, 0) < 0 || (lock_top && fchmodat(d, "top", 0, 0) < 0))
		return 12;
	/* Not root in effect: an unlink in ro/ must be refused, or this tests nothing. */
	if (unlinkat(d, "top/ro/f", 0) == 0 || errno != EACCES)
		return 13;
	int r = fs_rmtree_at(d, "top");
	struct stat st;
	bool gone = fstatat(d, "top", &st, AT_SYMLINK_NOFOLLOW) < 0 && errno == ENOENT;
	(void)close(d);
	if (r < 0)
		return 20 + (-r > 20 ? 20 : -r);
	return gone ? 0 : 14;
}

/* Runs build_and_remove as a non-root owner; returns its code, or -1 to skip. */
static int as_owner(bool lock_top)
{
	char dir[256];
	snprintf(dir, sizeof(dir), "%s/rmtree-XXXXXX", sc_test_tmpdir());
	if (!mkdtemp(dir))
		return 97;
	if (geteuid() != 0)
		return build_and_remove(dir, lock_top);
	/* nobody must reach dir: the tmpdir's parents are searchable by all. */
	if (chown(dir, NOBODY, NOBODY) < 0 || chmod(sc_test_tmpdir(), 0755) < 0)
		return -1;
	pid_t pid = fork();
	if (pid < 0)
		return -1;
	if (pid == 0) {
		if (setgroups(0, NULL) < 0 || setresgid(NOBODY, NOBODY, NOBODY) < 0 ||
		    setresuid(NOBODY, NOBODY, NOBODY) < 0)
			_exit(99);
		_exit(build_and_remove(dir, lock_top));
	}
	int status = 0;
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	if (!WIFEXITED(status))
		return 98;
	return WEXITSTATUS(status) == 99 ? -1 : WEXITSTATUS(status);
}

SC_TEST(rmtree_removes_read_only_directories_of_their_owner)
{
	int r = as_owner(false);
	if (r < 0) {
		fprintf(stderr, "skipped: cannot run as a non-root owner (setresuid to %d)\n", NOBODY);
		skip();
	}
	assert_int_equal(r, 0);
}

SC_TEST(rmtree_removes_an_unreadable_top_directory)
{
	int r = as_owner(true);
	if (r < 0) {
		fprintf(stderr, "skipped: cannot run as a non-root owner (setresuid to %d)\n", NOBODY);
		skip();
	}
	assert_int_equal(r, 0);
}
