/*
 * test_replace.c: fs_replace_if_changed(), the lockfile's atomic replace:
 * unchanged content leaves the file alone (same inode, same mtime), changed
 * content is renamed over it with the old permissions kept, a symlink's
 * target is replaced, no temporary file is left behind, and a directory in
 * the way is an error that changes nothing.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/sbuf.h"
#include "fsops/fsops.h"
#include "sc_test.h"

static char dir[64];

static void mkscratch(void)
{
	snprintf(dir, sizeof(dir), "/tmp/sc-replace-XXXXXX");
	assert_non_null(mkdtemp(dir));
}

/* dir/name in a static buffer: one call per expression. */
static char *at(const char *name)
{
	static char path[256];
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	return path;
}

static size_t count_entries(void)
{
	char cmd[128];
	size_t n = 0;
	FILE *f;
	char line[256];

	snprintf(cmd, sizeof(cmd), "ls -A %s", dir);
	f = popen(cmd, "r");
	assert_non_null(f);
	while (fgets(line, sizeof(line), f))
		n++;
	pclose(f);
	return n;
}

SC_TEST(replace_writes_new_and_changed_files_only)
{
	struct stat a, b;
	struct sbuf got = SBUF_INIT;

	mkscratch();
	umask(027);
	assert_int_equal(fs_replace_if_changed(at("Gemfile.lock"), "one\n", 4, 0666), 1);
	umask(022);
	assert_int_equal(stat(at("Gemfile.lock"), &a), 0);
	assert_int_equal(a.st_mode & 0777, 0640); /* a new file: mode less the umask */
	/* Same bytes: nothing written, same inode and mtime. */
	usleep(20000);
	assert_int_equal(fs_replace_if_changed(at("Gemfile.lock"), "one\n", 4, 0644), 0);
	assert_int_equal(stat(at("Gemfile.lock"), &b), 0);
	assert_int_equal(a.st_ino, b.st_ino);
	assert_int_equal(a.st_mtim.tv_nsec, b.st_mtim.tv_nsec);
	/* A prefix or an extension of the old content is a change. */
	assert_int_equal(chmod(at("Gemfile.lock"), 0600), 0);
	assert_int_equal(fs_replace_if_changed(at("Gemfile.lock"), "one", 3, 0644), 1);
	/* Renamed over, not rewritten in place: a hard link to the old file keeps its bytes. */
	char old[256];
	snprintf(old, sizeof(old), "%s", at("old"));
	assert_int_equal(link(at("Gemfile.lock"), old), 0);
	assert_int_equal(fs_replace_if_changed(at("Gemfile.lock"), "one\ntwo\n", 8, 0644), 1);
	assert_int_equal(fs_read_file(at("old"), &got, 1 << 20), 0);
	assert_string_equal(sbuf_cstr(&got), "one");
	sbuf_reset(&got);
	assert_int_equal(unlink(at("old")), 0);
	assert_int_equal(stat(at("Gemfile.lock"), &b), 0);
	assert_int_equal(b.st_mode & 0777, 0600);  /* old permissions kept */
	assert_int_equal(fs_read_file(at("Gemfile.lock"), &got, 1 << 20), 0);
	assert_string_equal(sbuf_cstr(&got), "one\ntwo\n");
	assert_int_equal(count_entries(), 1); /* no temporary left */
	sbuf_release(&got);
	assert_int_equal(fs_rmtree(dir), 0);
}

SC_TEST(replace_follows_a_symlink_and_refuses_a_directory)
{
	struct stat st;
	struct sbuf got = SBUF_INIT;

	mkscratch();
	assert_int_equal(fs_replace_if_changed(at("real.lock"), "old\n", 4, 0644), 1);
	assert_int_equal(symlink("real.lock", at("Gemfile.lock")), 0);
	assert_int_equal(fs_replace_if_changed(at("Gemfile.lock"), "new\n", 4, 0644), 1);
	assert_int_equal(lstat(at("Gemfile.lock"), &st), 0);
	assert_true(S_ISLNK(st.st_mode));
	assert_int_equal(fs_read_file(at("real.lock"), &got, 1 << 20), 0);
	assert_string_equal(sbuf_cstr(&got), "new\n");
	assert_int_equal(mkdir(at("dir.lock"), 0755), 0);
	assert_true(fs_replace_if_changed(at("dir.lock"), "x\n", 2, 0644) < 0);
	assert_int_equal(stat(at("dir.lock"), &st), 0);
	assert_true(S_ISDIR(st.st_mode));
	assert_int_equal(count_entries(), 3);
	/* A missing directory is an error, not a crash. */
	assert_int_equal(fs_replace_if_changed(at("nope/Gemfile.lock"), "x", 1, 0644), -ENOENT);
	sbuf_release(&got);
	assert_int_equal(fs_rmtree(dir), 0);
}

SC_TEST(replace_through_a_dangling_symlink_creates_its_target)
{
	struct stat st;
	struct sbuf got = SBUF_INIT;

	mkscratch();
	assert_int_equal(mkdir(at("shared"), 0755), 0);
	assert_int_equal(symlink("shared/app.lock", at("Gemfile.lock")), 0);
	assert_int_equal(fs_replace_if_changed(at("Gemfile.lock"), "new\n", 4, 0644), 1);
	assert_int_equal(lstat(at("Gemfile.lock"), &st), 0);
	assert_true(S_ISLNK(st.st_mode));
	assert_int_equal(fs_read_file(at("shared/app.lock"), &got, 1 << 20), 0);
	assert_string_equal(sbuf_cstr(&got), "new\n");
	assert_int_equal(fs_replace_if_changed(at("Gemfile.lock"), "new\n", 4, 0644), 0);
	/* a link into a missing directory, and a chain of links ending nowhere */
	assert_int_equal(symlink("gone/app.lock", at("a.lock")), 0);
	assert_int_equal(fs_replace_if_changed(at("a.lock"), "x", 1, 0644), -ENOENT);
	assert_int_equal(symlink("c.lock", at("b.lock")), 0);
	assert_int_equal(symlink("nowhere.lock", at("c.lock")), 0);
	assert_int_equal(fs_replace_if_changed(at("b.lock"), "x", 1, 0644), -ELOOP);
	assert_int_equal(lstat(at("nowhere.lock"), &st), -1);
	sbuf_release(&got);
	assert_int_equal(fs_rmtree(dir), 0);
}
