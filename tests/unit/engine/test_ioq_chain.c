/*
 * The op queue's chains and batches, on both backends (and io_uring without
 * fixed-file chains): ops chained with ioq_submit_after() run in order and
 * keep their own results, also when the chain is longer than the ring's
 * depth; a chain cannot grow behind an op that has started; copies stop
 * at the budget of a flush; the ring statistics count what was submitted.
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

struct rec {
	struct ioq_op op;
	int order; /* completion rank, from 1 */
};

static int completed;

static void rec_done(struct ioq_op *op)
{
	struct rec *r = op->data;

	r->order = ++completed;
}

static struct ioq *chain_queue(struct reactor *r, enum variant v, unsigned depth)
{
	const char *env = getenv("SCINT_IO_URING");

	if (v != V_SYNC && env && env[0] == '0')
		return NULL;
	struct ioq *q = ioq_new(r, v == V_SYNC ? IOQ_BACKEND_SYNC : IOQ_BACKEND_URING, depth);
	if (q && v == V_URING_NODIRECT)
		ioq_disable_direct(q);
	return q;
}

/* Runs the queue until nothing is pending (what sched_run does at its end). */
static void drain(struct ioq *q, struct reactor *r)
{
	while (ioq_pending(q) || ioq_has_completed(q)) {
		ioq_flush(q);
		if (!ioq_has_completed(q))
			assert_true(reactor_poll(r, -1) >= 0);
		ioq_complete(q);
	}
}

static int open_tmp(const char *sub)
{
	struct sbuf path = SBUF_INIT;

	sbuf_addf(&path, "%s/%s", sc_test_tmpdir(), sub);
	assert_int_equal(fs_mkdir_p(path.buf, 0755), 0);
	int fd = fs_open_dir(path.buf);
	assert_true(fd >= 0);
	sbuf_release(&path);
	return fd;
}

static void rec_init(struct rec *recs, size_t n)
{
	memset(recs, 0, n * sizeof(*recs));
	for (size_t i = 0; i < n; i++) {
		recs[i].op.done = rec_done;
		recs[i].op.data = &recs[i];
		recs[i].op.ctx = NULL;
		recs[i].order = 0;
	}
}

/*
 * A tree built by one chain per level of dependency: each op needs the one
 * before it (a directory before what goes in it). Unordered on io_uring,
 * they would race and fail with ENOENT. A failing op in the middle (EEXIST)
 * does not stop the ops behind it.
 */
static void chain_tree(enum variant v, const char *sub)
{
	struct reactor *r = reactor_new();
	struct ioq *q = chain_queue(r, v, 64);
	struct rec recs[12];
	static const char data[] = "chained file\n";

	if (!q) {
		reactor_free(r);
		skip();
	}
	int dfd = open_tmp(sub);
	rec_init(recs, 12);
	completed = 0;
	ioq_prep_mkdirat(&recs[0].op, dfd, "a", 0755);
	ioq_prep_write_file(&recs[1].op, dfd, "a/f", 0644, data, sizeof(data) - 1);
	ioq_prep_mkdirat(&recs[2].op, dfd, "a/b", 0755);
	ioq_prep_mkdirat(&recs[3].op, dfd, "a/b", 0755); /* EEXIST, the chain goes on */
	ioq_prep_mkdirat(&recs[4].op, dfd, "a/b/c", 0700);
	ioq_prep_write_file(&recs[5].op, dfd, "a/b/c/g", 0600, data, sizeof(data) - 1);
	ioq_prep_write_file(&recs[6].op, dfd, "a/b/c/empty", 0644, "", 0);
	ioq_prep_symlinkat(&recs[7].op, "g", dfd, "a/b/c/s");
	ioq_prep_linkat(&recs[8].op, dfd, "a/b/c/g", dfd, "a/b/h");
	ioq_prep_write_file(&recs[9].op, dfd, "a/b/c/s", 0644, "x", 1); /* O_NOFOLLOW: ELOOP */
	ioq_prep_statx(&recs[10].op, dfd, "a/b/h", 0, STATX_NLINK, &(struct statx){ 0 });
	ioq_prep_unlinkat(&recs[11].op, dfd, "a/b/h", 0);
	ioq_submit(q, &recs[0].op);
	for (int i = 1; i < 12; i++) {
		assert_ptr_equal(ioq_chain_tail(&recs[0].op), &recs[i - 1].op);
		assert_true(ioq_submit_after(q, &recs[i - 1].op, &recs[i].op));
	}
	assert_int_equal(ioq_pending(q), 12);
	drain(q, r);
	for (int i = 0; i < 12; i++)
		assert_int_equal(recs[i].order, i + 1);
	assert_int_equal(recs[0].op.res, 0);
	assert_int_equal(recs[1].op.res, (int)sizeof(data) - 1);
	assert_int_equal(recs[2].op.res, 0);
	assert_int_equal(recs[3].op.res, -EEXIST);
	assert_int_equal(recs[4].op.res, 0);
	assert_int_equal(recs[5].op.res, (int)sizeof(data) - 1);
	assert_int_equal(recs[6].op.res, 0);
	assert_int_equal(recs[7].op.res, 0);
	assert_int_equal(recs[8].op.res, 0);
	assert_int_equal(recs[9].op.res, -ELOOP);
	assert_int_equal(recs[10].op.res, 0);
	assert_int_equal(recs[11].op.res, 0);

	struct stat st;
	assert_int_equal(fstatat(dfd, "a/b/c/g", &st, 0), 0);
	assert_int_equal(st.st_size, (off_t)sizeof(data) - 1);
	assert_int_equal(st.st_mode & 07777, 0600);
	assert_int_equal(st.st_nlink, 1); /* the link was made, then removed */
	assert_int_equal(fstatat(dfd, "a/b/c/empty", &st, 0), 0);
	assert_int_equal(st.st_size, 0);
	assert_int_equal(fstatat(dfd, "a/b/c", &st, 0), 0);
	assert_int_equal(st.st_mode & 07777, 0700);

	struct ioq_ring_stats rs;
	if (v == V_SYNC) {
		assert_false(ioq_ring_stats(q, NULL, &rs));
		assert_int_equal(rs.enters, 0);
	} else {
		assert_true(ioq_ring_stats(q, NULL, &rs));
		assert_true(rs.enters >= 1);
		/* 12 ops; a WRITE_FILE is 2 or 3 SQEs when it goes in as a chain */
		assert_true(rs.sqes >= 12);
		assert_true(rs.chains >= 1);
		/* one chain, unless a three-step WRITE_FILE breaks it (user space goes on) */
		if (ioq_uses_direct(q))
			assert_true(rs.linked_sqes >= 12);
		/*
		 * direct: three WRITE_FILEs of 3 SQEs, an empty one of 2; three
		 * steps: the same, but nothing after the open that fails (ELOOP)
		 */
		assert_int_equal(rs.sqes, 12 + 3 * 2 + 1 - (ioq_uses_direct(q) ? 0 : 2));
		if (v == V_URING_NODIRECT)
			assert_false(ioq_uses_direct(q));
		assert_true(rs.median >= 1 && rs.max >= rs.median);
	}
	close(dfd);
	ioq_free(q);
	reactor_free(r);
}

SC_TEST(ioq_chain_tree_sync)
{
	chain_tree(V_SYNC, "tree-sync");
}

SC_TEST(ioq_chain_tree_uring)
{
	chain_tree(V_URING, "tree-uring");
}

SC_TEST(ioq_chain_tree_uring_nodirect)
{
	chain_tree(V_URING_NODIRECT, "tree-nodirect");
}

/*
 * A chain ten times the ring's depth: what does not fit waits behind the
 * last op that went in and still runs in order. Each file goes into a
 * directory made just before it in the chain.
 */
static void chain_long(enum variant v, const char *sub)
{
	enum { N = 80 };
	struct reactor *r = reactor_new();
	struct ioq *q = chain_queue(r, v, 8);
	struct rec *recs = calloc(N, sizeof(*recs));
	char names[N][32];

	if (!q) {
		free(recs);
		reactor_free(r);
		skip();
	}
	int dfd = open_tmp(sub);
	rec_init(recs, N);
	completed = 0;
	for (int i = 0; i < N; i += 2) {
		snprintf(names[i], sizeof(names[i]), "d%d", i);
		snprintf(names[i + 1], sizeof(names[i + 1]), "d%d/f", i);
		ioq_prep_mkdirat(&recs[i].op, dfd, names[i], 0755);
		ioq_prep_write_file(&recs[i + 1].op, dfd, names[i + 1], 0644, names[i], strlen(names[i]));
	}
	/* A second, independent op before the chain: it need not wait. */
	struct rec lone;
	rec_init(&lone, 1);
	ioq_prep_mkdirat(&lone.op, dfd, "lone", 0755);
	ioq_submit(q, &recs[0].op);
	ioq_submit(q, &lone.op);
	for (int i = 1; i < N; i++)
		assert_true(ioq_submit_after(q, &recs[i - 1].op, &recs[i].op));
	drain(q, r);
	for (int i = 0; i < N; i++) {
		assert_int_equal(recs[i].op.res, i % 2 ? (int)strlen(names[i - 1]) : 0);
		if (i)
			assert_true(recs[i].order > recs[i - 1].order);
	}
	assert_int_equal(lone.op.res, 0);
	close(dfd);
	free(recs);
	ioq_free(q);
	reactor_free(r);
}

SC_TEST(ioq_chain_long_sync)
{
	chain_long(V_SYNC, "long-sync");
}

SC_TEST(ioq_chain_long_uring)
{
	chain_long(V_URING, "long-uring");
}

SC_TEST(ioq_chain_long_uring_nodirect)
{
	chain_long(V_URING_NODIRECT, "long-nodirect");
}

/* Nothing can be chained behind an op that has started or completed. */
static void chain_started(enum variant v)
{
	struct reactor *r = reactor_new();
	struct ioq *q = chain_queue(r, v, 8);
	struct rec recs[3];

	if (!q) {
		reactor_free(r);
		skip();
	}
	int dfd = open_tmp(v == V_SYNC ? "started-sync" : "started-uring");
	rec_init(recs, 3);
	ioq_prep_mkdirat(&recs[0].op, dfd, "x", 0755);
	ioq_prep_mkdirat(&recs[1].op, dfd, "x/y", 0755);
	ioq_prep_mkdirat(&recs[2].op, dfd, "x/y/z", 0755);
	ioq_submit(q, &recs[0].op);
	assert_true(ioq_submit_after(q, &recs[0].op, &recs[1].op));
	ioq_flush(q);
	/* recs[0] has started (sync: has run): neither it nor its chain takes more */
	assert_null(ioq_chain_tail(&recs[0].op));
	assert_false(ioq_submit_after(q, &recs[0].op, &recs[2].op));
	drain(q, r);
	assert_false(ioq_submit_after(q, &recs[1].op, &recs[2].op));
	assert_null(ioq_chain_tail(&recs[1].op));
	assert_int_equal(recs[0].op.res, 0);
	assert_int_equal(recs[1].op.res, 0);
	close(dfd);
	ioq_free(q);
	reactor_free(r);
}

SC_TEST(ioq_chain_started_sync)
{
	chain_started(V_SYNC);
}

SC_TEST(ioq_chain_started_uring)
{
	chain_started(V_URING);
}

/* Copies run at most a budget's worth per flush (at least one): the loop keeps turning. */
static void copy_budget(enum variant v)
{
	enum { N = 4 };
	struct reactor *r = reactor_new();
	struct ioq *q = chain_queue(r, v, 64);
	struct rec recs[N];
	size_t len = (size_t)6 << 20;
	char *big = malloc(len);
	char dst[N][16];

	if (!q) {
		free(big);
		reactor_free(r);
		skip();
	}
	int dfd = open_tmp(v == V_SYNC ? "budget-sync" : "budget-uring");
	for (size_t i = 0; i < len; i++)
		big[i] = (char)(i * 7);
	int fd = openat(dfd, "src", O_WRONLY | O_CREAT | O_TRUNC, 0644);
	assert_true(fd >= 0);
	assert_int_equal(fs_pwrite_all(fd, big, len, 0), 0);
	close(fd);
	rec_init(recs, N);
	for (int i = 0; i < N; i++) {
		snprintf(dst[i], sizeof(dst[i]), "copy%d", i);
		ioq_prep_copy_file(&recs[i].op, dfd, "src", dfd, dst[i], 0644);
		ioq_submit(q, &recs[i].op);
	}
	unsigned flushes = 0;
	while (ioq_pending(q)) {
		ioq_flush(q);
		flushes++;
		assert_true(ioq_has_completed(q)); /* every flush makes progress */
		ioq_complete(q);
	}
	/* 6 MiB each, 8 MiB per flush: two copies per flush at most */
	assert_true(flushes >= N / 2);
	for (int i = 0; i < N; i++)
		assert_int_equal(recs[i].op.res, (int)len);
	close(dfd);
	free(big);
	ioq_free(q);
	reactor_free(r);
}

SC_TEST(ioq_copy_budget_sync)
{
	copy_budget(V_SYNC);
}

SC_TEST(ioq_copy_budget_uring)
{
	copy_budget(V_URING);
}
