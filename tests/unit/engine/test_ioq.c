/*
 * The op queue on both backends, driven through the scheduler's loop by a
 * small job: directories, files (incl. one larger than a single write),
 * links, symlinks, renames, statx, unlink, copy; errors come back as -errno.
 */
#include "sc_test.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/arena.h"
#include "base/sbuf.h"
#include "engine/child.h"
#include "engine/http.h"
#include "engine/ioq.h"
#include "engine/reactor.h"
#include "engine/sched.h"
#include "fsops/fsops.h"

struct ioq_test_job {
	struct job job;
	int step;
	int dirfd;
	struct ioq_op ops[8];
	int res[8];
	struct statx stx;
	char *big;
	size_t big_len;
};

static void ioq_test_done(struct ioq_op *op)
{
	struct ioq_test_job *t = op->data;

	t->res[op - t->ops] = op->res;
	if (--t->job.ops_pending == 0)
		job_wake(&t->job);
}

static void ioq_test_submit(struct ioq_test_job *t, int i)
{
	t->ops[i].done = ioq_test_done;
	t->ops[i].data = t;
	t->job.ops_pending++;
	ioq_submit(sched_ioq(t->job.sched), &t->ops[i]);
}

static void ioq_test_step(struct job *j)
{
	struct ioq_test_job *t = container_of(j, struct ioq_test_job, job);

	switch (t->step++) {
	case 0:
		ioq_prep_mkdirat(&t->ops[0], t->dirfd, "d", 0755);
		ioq_test_submit(t, 0);
		break;
	case 1:
		assert_int_equal(t->res[0], 0);
		ioq_prep_write_file(&t->ops[0], t->dirfd, "d/small", 0644, "hello", 5);
		ioq_prep_write_file(&t->ops[1], t->dirfd, "d/big", 0755, t->big, t->big_len);
		ioq_prep_mkdirat(&t->ops[2], t->dirfd, "d", 0755);
		ioq_prep_write_file(&t->ops[3], t->dirfd, "missing/x", 0644, "x", 1);
		for (int i = 0; i < 4; i++)
			ioq_test_submit(t, i);
		break;
	case 2:
		assert_int_equal(t->res[0], 5);
		assert_int_equal(t->res[1], (int)t->big_len);
		assert_int_equal(t->res[2], -EEXIST);
		assert_int_equal(t->res[3], -ENOENT);
		ioq_prep_linkat(&t->ops[0], t->dirfd, "d/small", t->dirfd, "d/link");
		ioq_prep_symlinkat(&t->ops[1], "small", t->dirfd, "d/sym");
		ioq_prep_statx(&t->ops[2], t->dirfd, "d/big", 0, STATX_SIZE | STATX_MODE, &t->stx);
		ioq_prep_copy_file(&t->ops[3], t->dirfd, "d/big", t->dirfd, "d/copy", 0600);
		for (int i = 0; i < 4; i++)
			ioq_test_submit(t, i);
		break;
	case 3:
		for (int i = 0; i < 2; i++)
			assert_int_equal(t->res[i], 0);
		assert_int_equal(t->res[2], 0);
		assert_int_equal(t->stx.stx_size, t->big_len);
		assert_int_equal(t->stx.stx_mode & 07777, 0755);
		assert_int_equal(t->res[3], (int)t->big_len);
		ioq_prep_renameat(&t->ops[0], t->dirfd, "d/link", t->dirfd, "d/renamed", 0);
		ioq_prep_unlinkat(&t->ops[1], t->dirfd, "d/sym", 0);
		ioq_prep_unlinkat(&t->ops[2], t->dirfd, "d/nothing", 0);
		for (int i = 0; i < 3; i++)
			ioq_test_submit(t, i);
		break;
	case 4:
		assert_int_equal(t->res[0], 0);
		assert_int_equal(t->res[1], 0);
		assert_int_equal(t->res[2], -ENOENT);
		job_finish(j);
		break;
	}
}

static const struct job_ops ioq_test_ops = { .kind = JOB_ASSEMBLE, .step = ioq_test_step };

static void ioq_test_run(enum ioq_backend backend, const char *sub)
{
	struct arena a;
	struct reactor *r = reactor_new();
	struct ioq *q = ioq_new(r, backend, 4); /* tiny depth: exercises the backlog */
	struct sbuf path = SBUF_INIT, data = SBUF_INIT;

	if (!q) {
		reactor_free(r);
		skip();
	}
	struct http_options ho = { 0 };
	struct http *h = http_new(r, &ho);
	struct child_mgr *cm = child_mgr_new(r);
	arena_init(&a);
	struct sched *s = sched_new(&a, r, q, h, cm, NULL, false);
	struct ioq_test_job t = { 0 };

	sbuf_addf(&path, "%s/%s", sc_test_tmpdir(), sub);
	assert_int_equal(fs_mkdir_p(path.buf, 0755), 0);
	t.dirfd = fs_open_dir(path.buf);
	assert_true(t.dirfd >= 0);
	t.big_len = 3 * 1024 * 1024 + 17;
	t.big = malloc(t.big_len);
	for (size_t i = 0; i < t.big_len; i++)
		t.big[i] = (char)(i * 31);
	job_init(&t.job, s, &ioq_test_ops, "ioq-test", 0);
	sched_submit(s, &t.job);
	assert_int_equal(sched_run(s), 0);
	assert_int_equal(t.step, 5);

	sbuf_addstr(&path, "/d/copy");
	assert_int_equal(fs_read_file(path.buf, &data, 1 << 30), 0);
	assert_int_equal(data.len, t.big_len);
	assert_memory_equal(data.buf, t.big, t.big_len);
	struct stat st;
	assert_int_equal(stat(path.buf, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0600);

	free(t.big);
	close(t.dirfd);
	sbuf_release(&path);
	sbuf_release(&data);
	sched_free(s);
	http_free(h);
	child_mgr_free(cm);
	ioq_free(q);
	reactor_free(r);
	arena_release(&a);
}

SC_TEST(ioq_sync_backend)
{
	ioq_test_run(IOQ_BACKEND_SYNC, "sync");
}

SC_TEST(ioq_uring_backend)
{
	const char *env = getenv("SCINT_IO_URING");

	if (env && env[0] == '0')
		skip();
	ioq_test_run(IOQ_BACKEND_URING, "uring");
}
