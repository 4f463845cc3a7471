/*
 * The make jobserver: tokens go back without blocking even when a build has
 * filled the pipe, and a token the pipe refused is not lost.
 */
#include "sc_test.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "engine/jobserver.h"
#include "engine/reactor.h"

static void granted(struct js_waiter *w)
{
	(void)w;
}

/* A view of fd with flags of its own (a new open file description, as a build's make has). */
static int reopen_fd(int fd, int flags)
{
	char path[64];

	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	int k = open(path, flags | O_NONBLOCK | O_CLOEXEC);
	assert_true(k >= 0);
	return k;
}

SC_TEST(jobserver_release_into_a_full_pipe_does_not_block)
{
	struct reactor *r = reactor_new();
	struct jobserver *js = jobserver_new(r, 1);
	struct js_waiter w = { .granted = granted };
	char buf[4096];
	ssize_t k;

	assert_non_null(r);
	assert_non_null(js);
	const int *fds = jobserver_fds(js);
	/* As make sees it, the write end is blocking. */
	assert_int_equal(fcntl(fds[1], F_GETFL) & O_NONBLOCK, 0);
	assert_int_equal(jobserver_acquire(js, &w), 1);
	/* A build writes tokens it never took until the pipe is full. */
	int wr = reopen_fd(fds[1], O_WRONLY);
	memset(buf, '+', sizeof(buf));
	while ((k = write(wr, buf, sizeof(buf))) > 0)
		;
	assert_int_equal(errno, EAGAIN);
	while (write(wr, buf, 1) == 1)
		;
	/* A blocking write would hang here: the alarm turns that into a failure. */
	alarm(10);
	jobserver_release(js);
	alarm(0);
	/* Empty the pipe: only the kept token is left, and it is handed out once. */
	int rd = reopen_fd(fds[0], O_RDONLY);
	while (read(rd, buf, sizeof(buf)) > 0)
		;
	assert_int_equal(jobserver_acquire(js, &w), 1);
	assert_int_equal(jobserver_acquire(js, &w), 0); /* none left: queued */
	jobserver_cancel(js, &w);
	/* With room again, a release goes into the pipe. */
	jobserver_release(js);
	assert_int_equal(read(rd, buf, sizeof(buf)), 1);
	close(wr);
	close(rd);
	jobserver_free(js);
	reactor_free(r);
}
