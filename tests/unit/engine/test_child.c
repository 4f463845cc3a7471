/*
 * Children in the reactor: what they inherit. Their stdout/stderr pipe is
 * blocking on their side (only scint's end is non-blocking), so a build
 * writing faster than scint reads waits instead of failing with EAGAIN.
 */
#include "sc_test.h"

#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "base/compiler.h"
#include "engine/child.h"
#include "engine/reactor.h"

static void child_done(struct child *c)
{
	*(bool *)c->data = true;
}

static void run_child(const char *script, struct child *c)
{
	struct reactor *r = reactor_new();
	struct child_mgr *m = child_mgr_new(r);
	const char *argv[] = { "sh", "-c", script, NULL };
	bool done = false;

	assert_non_null(r);
	memset(c, 0, sizeof(*c));
	c->argv = argv;
	c->stderr_fd = -1;
	c->done = child_done;
	c->data = &done;
	assert_int_equal(child_spawn(m, c), 0);
	/* Let the child fill the pipe before we read anything. */
	struct timespec ts = { 0, 300 * 1000 * 1000 };
	nanosleep(&ts, NULL);
	while (!done)
		assert_true(reactor_poll(r, 5000) >= 0);
	child_mgr_free(m);
	reactor_free(r);
}

/* flags of fd n in /proc/self/fdinfo, as the child printed them ("flags:\t0100002"). */
static long fd_flags(const char *out, const char *tag)
{
	const char *p = strstr(out, tag);

	assert_non_null(p);
	return strtol(p + strlen(tag), NULL, 8);
}

SC_TEST(child_stdout_and_stderr_are_blocking)
{
	struct child c;

	run_child("sed -n 's/^flags:[[:space:]]*/out /p' /proc/self/fdinfo/1; "
		  "sed -n 's/^flags:[[:space:]]*/err /p' /proc/self/fdinfo/2 >&2",
		  &c);
	assert_int_equal(c.exit_code, 0);
	const char *out = sbuf_cstr(&c.out);
	assert_int_equal(fd_flags(out, "out ") & O_NONBLOCK, 0);
	assert_int_equal(fd_flags(out, "err ") & O_NONBLOCK, 0);
	child_release(&c);
}

/* 4 MiB written while scint is not reading: the writer waits, it does not fail. */
SC_TEST(child_writing_faster_than_we_read_does_not_fail)
{
	struct child c;

	run_child("head -c 4194304 /dev/zero && echo done >&2", &c);
	assert_int_equal(c.term_signal, 0);
	assert_int_equal(c.exit_code, 0);
	assert_int_equal(c.out.len, 4194304 + 5);
	assert_memory_equal(c.out.buf + c.out.len - 5, "done\n", 5);
	child_release(&c);
}
