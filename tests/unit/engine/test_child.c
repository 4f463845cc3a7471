/*
 * Children in the reactor: what they inherit. Their stdout/stderr pipe is
 * blocking on their side (only scint's end is non-blocking), so a build
 * writing faster than scint reads waits instead of failing with EAGAIN.
 */
#include "sc_test.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/wait.h>
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

/*
 * An fd scint holds without FD_CLOEXEC (as libcurl's sockets are) does not
 * reach the child; one it is told to keep does, at the same number.
 */
SC_TEST(child_inherits_only_what_it_is_given)
{
	int leak = open("/dev/null", O_RDONLY); /* no O_CLOEXEC */
	int kept = open("/dev/null", O_RDONLY);
	struct reactor *r = reactor_new();
	struct child_mgr *m = child_mgr_new(r);
	char script[128];
	struct child c;
	bool done = false;

	assert_true(leak > 2 && kept > 2);
	snprintf(script, sizeof(script), "test -e /proc/self/fd/%d && echo leak; "
		 "test -e /proc/self/fd/%d && echo kept; true", leak, kept);
	const char *argv[] = { "sh", "-c", script, NULL };
	int keep[] = { kept };
	memset(&c, 0, sizeof(c));
	c.argv = argv;
	c.stderr_fd = -1;
	c.keep_fds = keep;
	c.nkeep_fds = 1;
	c.done = child_done;
	c.data = &done;
	assert_int_equal(child_spawn(m, &c), 0);
	while (!done)
		assert_true(reactor_poll(r, 5000) >= 0);
	assert_int_equal(c.exit_code, 0);
	assert_string_equal(sbuf_cstr(&c.out), "kept\n");
	child_release(&c);
	child_mgr_free(m);
	reactor_free(r);
	close(leak);
	close(kept);
}

/*
 * A failure after the spawn (here: no fd left for the pidfd, a real
 * RLIMIT_NOFILE) returns -errno with the child killed and reaped and every
 * fd child_spawn opened closed; nothing keeps running unwatched.
 */
SC_TEST(child_spawn_failure_after_spawn_stops_the_child)
{
	struct reactor *r = reactor_new();
	struct child_mgr *m = child_mgr_new(r);
	const char *argv[] = { "sleep", "30", NULL };
	struct rlimit old, lim;
	struct child c;
	int fd, fillers[256], nfill = 0;
	bool done = false;

	assert_non_null(r);
	assert_int_equal(getrlimit(RLIMIT_NOFILE, &old), 0);
	/* Every fd below `fd` in use: the 4 pipe fds fit under the limit, the pidfd does not. */
	while ((fd = open("/dev/null", O_RDONLY | O_CLOEXEC)) >= 0 && fd < 64 && nfill < 256)
		fillers[nfill++] = fd;
	assert_true(fd >= 64);
	(void)close(fd);
	lim = (struct rlimit){ .rlim_cur = (rlim_t)fd + 4, .rlim_max = old.rlim_max };
	assert_int_equal(setrlimit(RLIMIT_NOFILE, &lim), 0);
	memset(&c, 0, sizeof(c));
	c.argv = argv;
	c.stderr_fd = -1;
	c.stdin_pipe = true;
	c.done = child_done;
	c.data = &done;
	int ret = child_spawn(m, &c);
	assert_int_equal(setrlimit(RLIMIT_NOFILE, &old), 0);
	assert_int_equal(ret, -EMFILE);
	assert_int_equal(c.pid, -1);
	assert_non_null(strstr(sbuf_cstr(&c.out), "cannot watch 'sleep'"));
	/* The sleep was killed and reaped: this process has no child left. */
	assert_int_equal(waitpid(-1, NULL, WNOHANG), -1);
	assert_int_equal(errno, ECHILD);
	/* Its pipes are closed: the lowest free fd is the first one they took. */
	int again = open("/dev/null", O_RDONLY | O_CLOEXEC);
	assert_int_equal(again, fd);
	(void)close(again);
	for (int i = 0; i < nfill; i++)
		(void)close(fillers[i]);
	assert_int_equal(child_mgr_running(m), 0);
	assert_false(done);
	child_release(&c);
	child_mgr_free(m);
	reactor_free(r);
}

/* The reactor's epoll fd (the only one this test has open), found through /proc. */
static int find_epoll_fd(void)
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *de;
	int found = -1;

	assert_non_null(d);
	while ((de = readdir(d))) {
		char path[300], link[64];
		snprintf(path, sizeof(path), "/proc/self/fd/%s", de->d_name);
		ssize_t n = readlink(path, link, sizeof(link) - 1);
		if (n < 0)
			continue;
		link[n] = '\0';
		if (strcmp(link, "anon_inode:[eventpoll]") == 0)
			found = atoi(de->d_name);
	}
	closedir(d);
	assert_true(found >= 0);
	return found;
}

/* Puts /dev/null where the epoll fd was: every epoll_ctl then fails with EINVAL. */
static int break_epoll(int epfd)
{
	int saved = fcntl(epfd, F_DUPFD_CLOEXEC, 0);
	int null = open("/dev/null", O_RDONLY | O_CLOEXEC);

	assert_true(saved >= 0 && null >= 0);
	assert_int_equal(dup3(null, epfd, O_CLOEXEC), epfd);
	close(null);
	return saved;
}

static void restore_epoll(int epfd, int saved)
{
	assert_int_equal(dup3(saved, epfd, O_CLOEXEC), epfd);
	close(saved);
}

/*
 * The reactor refuses the child's watchers (a real epoll_ctl failure: the
 * epoll fd is not an epoll fd for the moment): child_spawn returns -errno,
 * the child was killed and reaped, and every fd child_spawn opened is closed.
 */
SC_TEST(child_spawn_reactor_refuses_watcher_stops_the_child)
{
	struct reactor *r = reactor_new();
	struct child_mgr *m = child_mgr_new(r);
	const char *argv[] = { "sleep", "30", NULL };
	struct child c;
	bool done = false;

	assert_non_null(r);
	int epfd = find_epoll_fd();
	int saved = break_epoll(epfd);
	int nfds = sc_test_count_fds();
	memset(&c, 0, sizeof(c));
	c.argv = argv;
	c.stderr_fd = -1;
	c.stdin_pipe = true;
	c.done = child_done;
	c.data = &done;
	int ret = child_spawn(m, &c);
	assert_int_equal(sc_test_count_fds(), nfds);
	restore_epoll(epfd, saved);
	assert_int_equal(ret, -EINVAL);
	assert_int_equal(c.pid, -1);
	assert_int_equal(c.in_fd, -1);
	assert_non_null(strstr(sbuf_cstr(&c.out), "cannot watch 'sleep'"));
	assert_int_equal(waitpid(-1, NULL, WNOHANG), -1);
	assert_int_equal(errno, ECHILD);
	assert_int_equal(child_mgr_running(m), 0);
	assert_int_equal(reactor_nregistered(r), 0);
	assert_false(done);
	child_release(&c);
	child_mgr_free(m);
	reactor_free(r);
}

/*
 * A full stdin pipe that the reactor refuses to watch: child_write returns
 * -errno instead of asserting, drops what it queued and closes stdin; the
 * child still runs and is reaped as usual.
 */
SC_TEST(child_write_reactor_refuses_watcher_closes_stdin)
{
	struct reactor *r = reactor_new();
	struct child_mgr *m = child_mgr_new(r);
	const char *argv[] = { "sleep", "30", NULL };
	size_t n = (size_t)1 << 20;
	char *data = calloc(1, n);
	struct child c;
	bool done = false;

	assert_non_null(r);
	assert_non_null(data);
	memset(&c, 0, sizeof(c));
	c.argv = argv;
	c.stderr_fd = -1;
	c.stdin_pipe = true;
	c.done = child_done;
	c.data = &done;
	assert_int_equal(child_spawn(m, &c), 0);
	int epfd = find_epoll_fd();
	int saved = break_epoll(epfd);
	int ret = child_write(&c, data, n); /* sleep reads nothing: the pipe fills */
	restore_epoll(epfd, saved);
	assert_int_equal(ret, -EINVAL);
	assert_int_equal(c.in_fd, -1);
	assert_int_equal(c.in_buf.len, 0);
	assert_int_equal(child_write(&c, "x", 1), -EPIPE);
	assert_int_equal(child_kill(&c, SIGKILL), 0);
	while (!done)
		assert_true(reactor_poll(r, 5000) >= 0);
	assert_int_equal(c.term_signal, SIGKILL);
	assert_int_equal(child_mgr_running(m), 0);
	free(data);
	child_release(&c);
	child_mgr_free(m);
	reactor_free(r);
}
