/*
 * What child.h promises about a child's life, on real processes: a program
 * that cannot be run is an error from child_spawn() with the reason in out
 * and no done callback; done never runs from child_spawn(), even for a
 * child that exits at once; exit codes and signals are reported; bytes
 * written to a stdin pipe (more than a pipe holds) all arrive, and none
 * after it is closed; output past
 * out_max keeps its head and newest tail only; child_kill() signals the
 * whole process group.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/clock.h"
#include "base/err.h"
#include "base/sbuf.h"
#include "engine/child.h"
#include "engine/reactor.h"
#include "sc_test.h"

struct run {
	struct reactor *r;
	struct child_mgr *m;
	struct child c;
	const char *argv[4];
	int ndone;
};

static void run_done(struct child *c)
{
	struct run *x = c->data;

	x->ndone++;
}

static void run_init(struct run *x, const char *script)
{
	memset(x, 0, sizeof(*x));
	x->r = reactor_new();
	assert_non_null(x->r);
	x->m = child_mgr_new(x->r);
	x->argv[0] = "sh";
	x->argv[1] = "-c";
	x->argv[2] = script;
	x->c.argv = x->argv;
	x->c.stderr_fd = -1;
	x->c.done = run_done;
	x->c.data = x;
}

static void run_wait(struct run *x)
{
	uint64_t deadline = clock_now_ns() + 10 * 1000000000ull;

	while (!x->ndone) {
		assert_true(clock_now_ns() < deadline);
		assert_true(reactor_poll(x->r, 100) >= 0);
	}
	assert_int_equal(x->ndone, 1);
	assert_int_equal(child_mgr_running(x->m), 0);
}

static void run_release(struct run *x)
{
	child_release(&x->c);
	child_mgr_free(x->m);
	assert_int_equal(reactor_nregistered(x->r), 0);
	reactor_free(x->r);
}

SC_TEST(child_that_cannot_run_is_an_error_without_done)
{
	struct run x;

	run_init(&x, NULL);
	x.argv[0] = "/nonexistent/scint-no-such-program";
	x.argv[1] = NULL;
	assert_int_equal(child_spawn(x.m, &x.c), -SC_EEXEC);
	assert_non_null(
		strstr(sbuf_cstr(&x.c.out), "cannot run '/nonexistent/scint-no-such-program'"));
	assert_int_equal(reactor_poll(x.r, 50), 0);
	assert_int_equal(x.ndone, 0);
	assert_int_equal(reactor_nregistered(x.r), 0);
	run_release(&x);
}

SC_TEST(child_exit_code_and_signal)
{
	struct run x;

	run_init(&x, "echo out; echo err >&2; exit 3");
	assert_int_equal(child_spawn(x.m, &x.c), 0);
	assert_int_equal(x.ndone, 0); /* never from child_spawn */
	run_wait(&x);
	assert_true(x.c.exited);
	assert_int_equal(x.c.exit_code, 3);
	assert_int_equal(x.c.term_signal, 0);
	assert_string_equal(child_status_str(&x.c), "exit 3");
	assert_non_null(strstr(sbuf_cstr(&x.c.out), "out\n"));
	assert_non_null(strstr(sbuf_cstr(&x.c.out), "err\n"));
	run_release(&x);

	run_init(&x, "kill -9 $$");
	assert_int_equal(child_spawn(x.m, &x.c), 0);
	run_wait(&x);
	assert_int_equal(x.c.term_signal, SIGKILL);
	assert_non_null(strstr(child_status_str(&x.c), "signal 9"));
	run_release(&x);
}

/* 1 MiB through `cat`: far more than a pipe holds, so the stdin watcher must take turns. */
SC_TEST(child_stdin_pipe_delivers_every_byte)
{
	struct run x;
	size_t n = (size_t)1 << 20;
	char *data = malloc(n);

	for (size_t i = 0; i < n; i++)
		data[i] = (char)('A' + i % 23);
	run_init(&x, "cat");
	x.c.stdin_pipe = true;
	assert_int_equal(child_spawn(x.m, &x.c), 0);
	assert_true(x.c.in_fd >= 0);
	assert_int_equal(child_write(&x.c, data, n / 2), 0);
	assert_int_equal(child_write(&x.c, data + n / 2, n - n / 2), 0);
	/* child_close_stdin() closes at once (queued bytes are dropped): wait for the echo first.
	 */
	uint64_t deadline = clock_now_ns() + 10 * 1000000000ull;
	while (x.c.out.len < n && !x.ndone) {
		assert_true(clock_now_ns() < deadline);
		assert_true(reactor_poll(x.r, 100) >= 0);
	}
	child_close_stdin(&x.c);
	assert_int_equal(child_write(&x.c, "x", 1), -EPIPE);
	run_wait(&x);
	assert_int_equal(x.c.exit_code, 0);
	assert_int_equal(x.c.out.len, n);
	assert_memory_equal(x.c.out.buf, data, n);
	free(data);
	run_release(&x);
}

/* 4 MiB of numbered lines into a 64 KiB out_max: the first line and the last one are kept. */
SC_TEST(child_output_past_out_max_keeps_head_and_tail)
{
	struct run x;

	run_init(&x, "seq 1 600000; echo last-line");
	x.c.out_max = 64 * 1024;
	assert_int_equal(child_spawn(x.m, &x.c), 0);
	run_wait(&x);
	assert_int_equal(x.c.exit_code, 0);
	assert_true(x.c.out.len <= x.c.out_max);
	assert_true(x.c.out.alloc <= 4 * x.c.out_max);
	assert_memory_equal(x.c.out.buf, "1\n2\n3\n", 6);
	const char *end = x.c.out.buf + x.c.out.len - strlen("600000\nlast-line\n");
	assert_memory_equal(end, "600000\nlast-line\n", strlen("600000\nlast-line\n"));
	assert_true(x.c.dropped > 0);
	run_release(&x);
}

/* The child's own child is in its process group: child_kill() reaches it too. */
SC_TEST(child_kill_signals_the_process_group)
{
	struct run x;
	char stat_path[64];
	uint64_t deadline = clock_now_ns() + 10 * 1000000000ull;

	run_init(&x, "sleep 30 & echo $!; wait");
	assert_int_equal(child_spawn(x.m, &x.c), 0);
	while (!strchr(sbuf_cstr(&x.c.out), '\n')) {
		assert_true(clock_now_ns() < deadline);
		assert_true(reactor_poll(x.r, 100) >= 0);
	}
	int grandchild = atoi(sbuf_cstr(&x.c.out));
	assert_true(grandchild > 0);
	assert_int_equal(kill(grandchild, 0), 0);
	assert_int_equal(child_kill(&x.c, SIGTERM), 0);
	run_wait(&x);
	assert_int_equal(x.c.term_signal, SIGTERM);
	/* The grandchild is gone (or a zombie waiting for its new parent to reap it). */
	snprintf(stat_path, sizeof(stat_path), "/proc/%d/stat", grandchild);
	for (;;) {
		FILE *f = fopen(stat_path, "r");
		char line[512] = "";
		if (f) {
			if (!fgets(line, sizeof(line), f))
				line[0] = '\0';
			fclose(f);
		}
		const char *rp = strrchr(line, ')');
		if (!f || (rp && rp[1] == ' ' && rp[2] == 'Z'))
			break;
		assert_true(clock_now_ns() < deadline);
		usleep(10000);
	}
	run_release(&x);
}
