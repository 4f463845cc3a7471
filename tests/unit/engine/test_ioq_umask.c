/*
 * WRITE_FILE under a umask of 077 on both backends (and io_uring without
 * fixed-file chains): the file gets exactly the mode asked for, set on the
 * file written and never by its path after the close. A rename and a
 * symlink chained behind the write (what a later tar entry could do) must
 * neither fail the write nor let the mode reach the symlink's target.
 * The whole binary runs under umask 077 (fs_umask() reads it once).
 */
#include "sc_test.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/sbuf.h"
#include "engine/ioq.h"
#include "engine/reactor.h"
#include "fsops/fsops.h"

enum variant { V_SYNC, V_URING, V_URING_NODIRECT };

static void op_done(struct ioq_op *op)
{
	(void)op;
}

static void umask_write(enum variant v, const char *sub)
{
	static const char data[] = "mode\n";
	const char *env = getenv("SCINT_IO_URING");

	umask(077);
	assert_int_equal(fs_umask(), 077);
	if (v != V_SYNC && env && env[0] == '0')
		skip();
	struct reactor *r = reactor_new();
	struct ioq *q = ioq_new(r, v == V_SYNC ? IOQ_BACKEND_SYNC : IOQ_BACKEND_URING, 64);
	if (!q) {
		reactor_free(r);
		skip();
	}
	if (v == V_URING_NODIRECT)
		ioq_disable_direct(q);
	struct sbuf path = SBUF_INIT;
	sbuf_addf(&path, "%s/%s", sc_test_tmpdir(), sub);
	assert_int_equal(fs_mkdir_p(path.buf, 0700), 0);
	int dfd = fs_open_dir(path.buf);
	assert_true(dfd >= 0);
	sbuf_release(&path);
	/* A file of someone else's that a symlink will point at. */
	int vfd = openat(dfd, "victim", O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	assert_true(vfd >= 0);
	close(vfd);

	struct ioq_op ops[5];
	memset(ops, 0, sizeof(ops));
	ioq_prep_write_file(&ops[0], dfd, "f", 0644, data, sizeof(data) - 1);
	ioq_prep_renameat(&ops[1], dfd, "f", dfd, "g", 0);
	ioq_prep_symlinkat(&ops[2], "victim", dfd, "f");
	ioq_prep_write_file(&ops[3], dfd, "x", 0755, data, sizeof(data) - 1);
	ioq_prep_write_file(&ops[4], dfd, "empty", 0640, "", 0);
	for (int i = 0; i < 5; i++)
		ops[i].done = op_done;
	ioq_submit(q, &ops[0]);
	assert_true(ioq_submit_after(q, &ops[0], &ops[1]));
	assert_true(ioq_submit_after(q, &ops[1], &ops[2]));
	ioq_submit(q, &ops[3]);
	ioq_submit(q, &ops[4]);
	while (ioq_pending(q) || ioq_has_completed(q)) {
		ioq_flush(q);
		if (!ioq_has_completed(q))
			assert_true(reactor_poll(r, -1) >= 0);
		ioq_complete(q);
	}
	assert_int_equal(ops[0].res, (int)sizeof(data) - 1);
	assert_int_equal(ops[1].res, 0);
	assert_int_equal(ops[2].res, 0);
	assert_int_equal(ops[3].res, (int)sizeof(data) - 1);
	assert_int_equal(ops[4].res, 0);

	struct stat st;
	assert_int_equal(fstatat(dfd, "g", &st, AT_SYMLINK_NOFOLLOW), 0);
	assert_int_equal(st.st_mode & 07777, 0644);
	assert_int_equal(st.st_size, (off_t)sizeof(data) - 1);
	assert_int_equal(fstatat(dfd, "victim", &st, AT_SYMLINK_NOFOLLOW), 0);
	assert_int_equal(st.st_mode & 07777, 0600);
	assert_int_equal(fstatat(dfd, "x", &st, AT_SYMLINK_NOFOLLOW), 0);
	assert_int_equal(st.st_mode & 07777, 0755);
	assert_int_equal(fstatat(dfd, "empty", &st, AT_SYMLINK_NOFOLLOW), 0);
	assert_int_equal(st.st_mode & 07777, 0640);
	close(dfd);
	ioq_free(q);
	reactor_free(r);
}

SC_TEST(ioq_write_file_mode_under_umask_077_sync)
{
	umask_write(V_SYNC, "umask-sync");
}

SC_TEST(ioq_write_file_mode_under_umask_077_uring)
{
	umask_write(V_URING, "umask-uring");
}

SC_TEST(ioq_write_file_mode_under_umask_077_uring_nodirect)
{
	umask_write(V_URING_NODIRECT, "umask-nodirect");
}
