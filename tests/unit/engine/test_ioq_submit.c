/*
 * A failing io_uring_enter, provoked for real: the ring's fd number is made
 * to point at /dev/null (dup2), so the submit gets -EOPNOTSUPP from the
 * kernel. Every op of the batch (a plain op, a WRITE_FILE chain through a
 * fixed-file slot, ops linked with ioq_submit_after, a three-step WRITE_FILE
 * whose file is already open) completes with that error through its done
 * callback; none of them runs later: once the fd is the ring again, the next
 * batch runs alone and the failed ops' files never appear; no fd leaks.
 */
#include "sc_test.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/sbuf.h"
#include "engine/ioq.h"
#include "engine/reactor.h"
#include "fsops/fsops.h"

struct rec {
	struct ioq_op op;
	int done; /* times done ran */
};

static void rec_done(struct ioq_op *op)
{
	struct rec *r = op->data;

	r->done++;
}

static void rec_init(struct rec *recs, size_t n)
{
	memset(recs, 0, n * sizeof(*recs));
	for (size_t i = 0; i < n; i++) {
		recs[i].op.done = rec_done;
		recs[i].op.data = &recs[i];
	}
}

static void drain(struct ioq *q, struct reactor *r)
{
	while (ioq_pending(q) || ioq_has_completed(q)) {
		ioq_flush(q);
		if (!ioq_has_completed(q))
			assert_true(reactor_poll(r, -1) >= 0);
		ioq_complete(q);
	}
}

/* The fd of this process's only io_uring instance, found in /proc/self/fd; -1 if none. */
static int ring_fd(int *ret_count)
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *e;
	int fd = -1, n = 0;

	assert_non_null(d);
	while ((e = readdir(d))) {
		char link[300], target[64];
		snprintf(link, sizeof(link), "/proc/self/fd/%s", e->d_name);
		ssize_t k = readlink(link, target, sizeof(target) - 1);
		if (k < 0)
			continue;
		target[k] = '\0';
		if (!strcmp(target, "anon_inode:[io_uring]")) {
			fd = atoi(e->d_name);
			n++;
		}
	}
	closedir(d);
	*ret_count = n;
	return fd;
}

static void submit_fails(bool direct, const char *sub)
{
	const char *env = getenv("SCINT_IO_URING");

	if (env && env[0] == '0')
		skip();
	struct reactor *r = reactor_new();
	struct ioq *q = ioq_new(r, IOQ_BACKEND_URING, 64);
	if (!q) {
		reactor_free(r);
		skip();
	}
	if (!direct)
		ioq_disable_direct(q);
	int nrings;
	int rfd = ring_fd(&nrings);
	assert_int_equal(nrings, 1);
	struct sbuf path = SBUF_INIT;
	sbuf_addf(&path, "%s/%s", sc_test_tmpdir(), sub);
	assert_int_equal(fs_mkdir_p(path.buf, 0755), 0);
	int dirfd = fs_open_dir(path.buf);
	assert_true(dirfd >= 0);

	/* Without fixed files, a WRITE_FILE whose open has already run: its fd is open. */
	struct rec early[1];
	rec_init(early, 1);
	static char big[100000];
	memset(big, 'b', sizeof(big));
	ioq_prep_write_file(&early[0].op, dirfd, "early", 0644, big, sizeof(big));
	ioq_submit(q, &early[0].op);
	if (!direct) {
		/* run until the open's CQE is in and the op is queued for its write */
		ioq_flush(q);
		assert_true(reactor_poll(r, -1) >= 0);
	}
	int fds = sc_test_count_fds();

	int saved = fcntl(rfd, F_DUPFD_CLOEXEC, 0);
	int devnull = open("/dev/null", O_RDONLY | O_CLOEXEC);
	assert_true(saved >= 0 && devnull >= 0);
	assert_int_equal(dup2(devnull, rfd), rfd);

	struct rec recs[5];
	rec_init(recs, 5);
	ioq_prep_mkdirat(&recs[0].op, dirfd, "d", 0755);
	ioq_prep_write_file(&recs[1].op, dirfd, "f", 0644, "hello", 5);
	ioq_prep_mkdirat(&recs[2].op, dirfd, "chain", 0755);
	ioq_prep_write_file(&recs[3].op, dirfd, "chain/x", 0644, "x", 1);
	ioq_prep_symlinkat(&recs[4].op, "f", dirfd, "sym");
	ioq_submit(q, &recs[0].op);
	ioq_submit(q, &recs[1].op);
	ioq_submit(q, &recs[2].op);
	assert_true(ioq_submit_after(q, &recs[2].op, &recs[3].op));
	assert_true(ioq_submit_after(q, &recs[3].op, &recs[4].op));

	struct ioq_stats st;
	ioq_get_stats(q, &st);
	uint64_t errors = st.submit_errors;
	drain(q, r); /* every flush fails while the fd is not the ring */
	ioq_get_stats(q, &st);
	assert_true(st.submit_errors > errors);
	assert_int_equal(early[0].done, 1);
	assert_int_equal(early[0].op.res, -EOPNOTSUPP);
	for (int i = 0; i < 5; i++) {
		assert_int_equal(recs[i].done, 1);
		assert_int_equal(recs[i].op.res, -EOPNOTSUPP);
	}
	assert_int_equal(ioq_pending(q), 0);
	/* the early WRITE_FILE's open fd was closed with it */
	assert_true(sc_test_count_fds() <= fds + 2); /* + saved + devnull */

	/* The ring again: a new batch runs, and only it. */
	assert_int_equal(dup2(saved, rfd), rfd);
	(void)close(saved);
	(void)close(devnull);
	struct rec after[2];
	rec_init(after, 2);
	ioq_prep_mkdirat(&after[0].op, dirfd, "later", 0755);
	ioq_prep_write_file(&after[1].op, dirfd, "later-file", 0644, "ok", 2);
	ioq_submit(q, &after[0].op);
	ioq_submit(q, &after[1].op);
	drain(q, r);
	assert_int_equal(after[0].op.res, 0);
	assert_int_equal(after[1].op.res, 2);
	for (int i = 0; i < 5; i++)
		assert_int_equal(recs[i].done, 1);
	const char *never[] = { "d", "f", "chain", "sym" };
	for (size_t i = 0; i < SC_ARRAY_SIZE(never); i++)
		assert_true(faccessat(dirfd, never[i], F_OK, AT_SYMLINK_NOFOLLOW) < 0 && errno == ENOENT);
	assert_true(faccessat(dirfd, "later", F_OK, 0) == 0);

	(void)close(dirfd);
	sbuf_release(&path);
	ioq_free(q);
	reactor_free(r);
}

SC_TEST(ioq_uring_submit_error_fails_the_ops)
{
	submit_fails(true, "submit-direct");
}

SC_TEST(ioq_uring_submit_error_fails_the_ops_nodirect)
{
	submit_fails(false, "submit-nodirect");
}
