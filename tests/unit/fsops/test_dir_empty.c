/*
 * test_dir_empty.c: fs_dir_is_empty() (what lets materialize skip clearing
 * leftovers): 1 for a new directory, 0 as soon as it holds a file, a
 * directory, a symlink or a dot-file, 1 again once emptied, and the offset
 * of the descriptor it is given does not move.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fsops/fsops.h"
#include "sc_test.h"

static int scratch(void)
{
	char dir[256];

	snprintf(dir, sizeof(dir), "%s/dir-empty-XXXXXX", sc_test_tmpdir());
	assert_non_null(mkdtemp(dir));
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	assert_true(fd >= 0);
	return fd;
}

SC_TEST(dir_is_empty_sees_every_kind_of_entry)
{
	int d = scratch();

	assert_int_equal(fs_dir_is_empty(d), 1);
	assert_int_equal(mkdirat(d, "sub", 0755), 0);
	assert_int_equal(fs_dir_is_empty(d), 0);
	assert_int_equal(unlinkat(d, "sub", AT_REMOVEDIR), 0);
	assert_int_equal(fs_dir_is_empty(d), 1);
	assert_int_equal(symlinkat("/nonexistent", d, "link"), 0);
	assert_int_equal(fs_dir_is_empty(d), 0);
	assert_int_equal(unlinkat(d, "link", 0), 0);
	int f = openat(d, ".x", O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
	assert_true(f >= 0);
	close(f);
	assert_int_equal(fs_dir_is_empty(d), 0);
	assert_int_equal(lseek(d, 0, SEEK_CUR), 0);
	assert_int_equal(unlinkat(d, ".x", 0), 0);
	assert_int_equal(fs_dir_is_empty(d), 1);
	close(d);
}

SC_TEST(dir_is_empty_sees_one_entry_among_many_slots)
{
	int d = scratch();
	char name[32];

	/* Many names removed again, one left: its slot is far into the listing. */
	for (int i = 0; i < 300; i++) {
		snprintf(name, sizeof(name), "file-with-a-long-name-%03d", i);
		int f = openat(d, name, O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
		assert_true(f >= 0);
		close(f);
	}
	for (int i = 0; i < 300; i++) {
		if (i == 299)
			continue;
		snprintf(name, sizeof(name), "file-with-a-long-name-%03d", i);
		assert_int_equal(unlinkat(d, name, 0), 0);
	}
	assert_int_equal(fs_dir_is_empty(d), 0);
	assert_int_equal(unlinkat(d, "file-with-a-long-name-299", 0), 0);
	assert_int_equal(fs_dir_is_empty(d), 1);
	close(d);
}

SC_TEST(dir_is_empty_of_a_file_is_an_error)
{
	int d = scratch();
	int f = openat(d, "plain", O_RDWR | O_CREAT | O_CLOEXEC, 0644);

	assert_true(f >= 0);
	assert_true(fs_dir_is_empty(f) < 0);
	close(f);
	close(d);
}
