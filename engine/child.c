#include "engine/child.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/pidfd.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include "base/clock.h"
#include "base/compiler.h"
#include "base/err.h"
#include "base/trace.h"

#define CHILD_OUT_MAX_DEFAULT ((size_t)16 << 20)

extern char **environ;

struct child_mgr {
	struct reactor *r;
	struct list_head running;
	unsigned nrunning;
	uint64_t nspawned;
};

static void child_dispatch_pid(struct wake *w, uint32_t events, void *data);

/* posix_spawn takes char *const[] for historical reasons; it does not write. */
static char *const *child_strv(const char *const *v)
{
	union {
		const char *const *c;
		char *const *m;
	} u = { .c = v };
	return u.m;
}

static void child_dispatch_out(struct wake *w, uint32_t events, void *data);
static void child_dispatch_in(struct wake *w, uint32_t events, void *data);

struct child_mgr *child_mgr_new(struct reactor *r)
{
	struct child_mgr *m = sc_xcalloc(1, sizeof(*m));

	m->r = r;
	list_init(&m->running);
	reactor_set_dispatch(r, WAKE_CHILD_PID, child_dispatch_pid, m);
	reactor_set_dispatch(r, WAKE_CHILD_PIPE, child_dispatch_out, m);
	reactor_set_dispatch(r, WAKE_CHILD_IN, child_dispatch_in, m);
	return m;
}

void child_mgr_free(struct child_mgr *m)
{
	if (!m)
		return;
	SC_ASSERT(list_empty(&m->running));
	free(m);
}

unsigned child_mgr_running(const struct child_mgr *m)
{
	return m->nrunning;
}

struct reactor *child_mgr_reactor(const struct child_mgr *m)
{
	return m->r;
}

unsigned child_mgr_kill_all(struct child_mgr *m, int sig)
{
	struct list_head *pos;
	unsigned n = 0;

	/*
	 * Not a child already reaped (still listed while something holds its
	 * pipe): its pid may now lead another group. What its group left is
	 * the group's own to end (helper.rb kills its group before exiting).
	 */
	list_for_each(pos, &m->running) {
		struct child *c = list_entry(pos, struct child, link);
		if (c->pid > 0 && !c->exited && kill(-c->pid, sig) == 0)
			n++;
	}
	return n;
}

/* Moves *fd to a number >= 5, so that dup2 onto fds 3 and 4 cannot clobber it. */
static int child_fd_above_4(int *fd)
{
	if (*fd > 4)
		return 0;
	int k = fcntl(*fd, F_DUPFD_CLOEXEC, 5);
	if (k < 0)
		return -errno;
	(void)close(*fd);
	*fd = k;
	return 0;
}

uint64_t child_mgr_spawned(const struct child_mgr *m)
{
	return m->nspawned;
}

/*
 * Closes in the child every fd above 2 that would survive exec (no
 * FD_CLOEXEC) but the ones it is given: libcurl's sockets (a live connection
 * to a gem server) and anything else a library opened without the flag must
 * never reach a build, git or the helper. Queued before the dup2s, which
 * give the child its own fds. Best effort: without /proc nothing is closed.
 */
static void child_close_inherited(const struct child *c, posix_spawn_file_actions_t *fa)
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *de;

	if (!d)
		return;
	while ((de = readdir(d))) {
		char *end;
		long fd = strtol(de->d_name, &end, 10);
		if (*end || end == de->d_name || fd <= 2 || fd > INT_MAX || fd == dirfd(d) ||
		    fd == c->stderr_fd)
			continue;
		bool keep = false;
		for (size_t i = 0; i < c->nkeep_fds; i++)
			keep |= c->keep_fds[i] == fd;
		int fl = fcntl((int)fd, F_GETFD);
		if (!keep && fl >= 0 && !(fl & FD_CLOEXEC))
			posix_spawn_file_actions_addclose(fa, (int)fd);
	}
	closedir(d);
}

int child_spawn(struct child_mgr *m, struct child *c)
{
	posix_spawn_file_actions_t fa;
	posix_spawnattr_t attr;
	int outp[2] = { -1, -1 }, inp[2] = { -1, -1 };
	pid_t pid;
	int r;

	c->mgr = m;
	c->pid = -1;
	c->in_fd = -1;
	c->exited = c->eof = c->finished = false;
	c->exit_code = c->term_signal = 0;
	c->dropped = 0;
	sbuf_init(&c->out, 0);
	sbuf_init(&c->in_buf, 0);
	c->pid_wake = (struct wake){ .kind = WAKE_CHILD_PID, .fd = -1 };
	c->out_wake = (struct wake){ .kind = WAKE_CHILD_PIPE, .fd = -1 };
	c->in_wake = (struct wake){ .kind = WAKE_CHILD_IN, .fd = -1 };
	c->t_start_ns = clock_now_ns();

	/*
	 * Only our read end is non-blocking: the write end is the child's
	 * stdout/stderr (a separate open file description), and make, cc or git
	 * writing there must wait for us, not fail with EAGAIN.
	 */
	if (pipe2(outp, O_CLOEXEC) < 0)
		return -errno;
	if (fcntl(outp[0], F_SETFL, O_NONBLOCK) < 0) {
		r = -errno;
		goto out_close_pipes;
	}
	if (c->stdin_pipe && pipe2(inp, O_CLOEXEC) < 0) {
		r = -errno;
		goto out_close_pipes;
	}
	SC_ASSERT(!c->proto_fds || c->stdin_pipe);
	/* The protocol takes fds 3 and 4: an fd kept beside it must not be one of them. */
	for (size_t i = 0; c->proto_fds && i < c->nkeep_fds; i++)
		SC_ASSERT(c->keep_fds[i] > 4);
	if (c->proto_fds &&
	    ((r = child_fd_above_4(&inp[0])) < 0 || (r = child_fd_above_4(&outp[1])) < 0))
		goto out_close_pipes;
	posix_spawn_file_actions_init(&fa);
	child_close_inherited(c, &fa);
	posix_spawnattr_init(&attr);
	posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGMASK |
						POSIX_SPAWN_SETSIGDEF);
	posix_spawnattr_setpgroup(&attr, 0);
	sigset_t none, all;
	sigemptyset(&none);
	sigfillset(&all);
	posix_spawnattr_setsigmask(&attr, &none);
	posix_spawnattr_setsigdefault(&attr, &all);
	if (c->proto_fds) {
		int err_fd = c->stderr_fd >= 0 ? c->stderr_fd : 2;
		posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
		posix_spawn_file_actions_adddup2(&fa, err_fd, 1);
		posix_spawn_file_actions_adddup2(&fa, err_fd, 2);
		posix_spawn_file_actions_adddup2(&fa, inp[0], 3);
		posix_spawn_file_actions_adddup2(&fa, outp[1], 4);
	} else {
		if (c->stdin_pipe)
			posix_spawn_file_actions_adddup2(&fa, inp[0], 0);
		else
			posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
		posix_spawn_file_actions_adddup2(&fa, outp[1], 1);
		posix_spawn_file_actions_adddup2(&fa, c->stderr_fd >= 0 ? c->stderr_fd : outp[1],
						 2);
	}
	/* dup2(fd, fd) clears FD_CLOEXEC in the child only (glibc >= 2.29, POSIX 2017). */
	for (size_t i = 0; i < c->nkeep_fds; i++)
		posix_spawn_file_actions_adddup2(&fa, c->keep_fds[i], c->keep_fds[i]);
	if (c->cwd)
		posix_spawn_file_actions_addchdir_np(&fa, c->cwd);
	r = posix_spawnp(&pid, c->argv[0], &fa, &attr, child_strv(c->argv),
			 c->envp ? child_strv(c->envp) : environ);
	posix_spawn_file_actions_destroy(&fa);
	posix_spawnattr_destroy(&attr);
	if (r != 0) {
		sbuf_addf(&c->out, "cannot run '%s': %s\n", c->argv[0], strerror(r));
		trace_proc(c->ctx, "spawn", c->argv, -1, -1, -r, c->t_start_ns, clock_now_ns());
		r = r == ENOENT || r == EACCES || r == ENOEXEC ? -SC_EEXEC : -r;
		goto out_close_pipes;
	}
	m->nspawned++;
	c->pid = pid;
	/*
	 * From here on a failure must not leave the child running unwatched:
	 * its group is killed and the leader reaped before returning (git's
	 * run-command cleans up the same way).
	 */
	c->pid_wake.fd = pidfd_open(pid, 0);
	if (c->pid_wake.fd < 0) {
		r = -errno;
		goto out_kill;
	}
	if (c->as_limit) {
		/* posix_spawn has no hook before exec: limit the child right after it. */
		struct rlimit lim = { .rlim_cur = c->as_limit, .rlim_max = c->as_limit };
		(void)prlimit(pid, RLIMIT_AS, &lim, NULL);
	}
	(void)close(outp[1]);
	outp[1] = -1;
	c->out_wake.fd = outp[0];
	outp[0] = -1;
	if (c->stdin_pipe) {
		(void)close(inp[0]);
		inp[0] = -1;
		c->in_fd = inp[1];
		inp[1] = -1;
		(void)fcntl(c->in_fd, F_SETFL, O_NONBLOCK);
	}
	if ((r = reactor_add(m->r, &c->pid_wake, EPOLLIN)) < 0)
		goto out_kill;
	if ((r = reactor_add(m->r, &c->out_wake, EPOLLIN)) < 0) {
		reactor_del(m->r, &c->pid_wake);
		goto out_kill;
	}
	list_add_tail(&c->link, &m->running);
	m->nrunning++;
	trace_proc(c->ctx, "spawn", c->argv, pid, 0, 0, c->t_start_ns, clock_now_ns());
	return 0;

out_kill:
	sbuf_addf(&c->out, "cannot watch '%s' (stopped it): %s\n", c->argv[0], sc_strerror(r));
	trace_proc(c->ctx, "spawn", c->argv, pid, -1, r, c->t_start_ns, clock_now_ns());
	(void)kill(-pid, SIGKILL);
	while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
		;
	c->pid = -1;
	if (c->pid_wake.fd >= 0) {
		(void)close(c->pid_wake.fd);
		c->pid_wake.fd = -1;
	}
	if (c->out_wake.fd >= 0) {
		(void)close(c->out_wake.fd);
		c->out_wake.fd = -1;
	}
	if (c->in_fd >= 0) {
		(void)close(c->in_fd);
		c->in_fd = -1;
	}
out_close_pipes:
	for (int i = 0; i < 2; i++) {
		if (outp[i] >= 0)
			(void)close(outp[i]);
		if (inp[i] >= 0)
			(void)close(inp[i]);
	}
	return r;
}

static void child_maybe_finish(struct child *c)
{
	struct child_mgr *m = c->mgr;

	if (!c->exited || !c->eof || c->finished)
		return;
	c->finished = true;
	list_del(&c->link);
	m->nrunning--;
	child_close_stdin(c);
	trace_proc(c->ctx, "exit", c->argv, c->pid, c->term_signal ? 128 + c->term_signal : c->exit_code,
		   0, c->t_start_ns, clock_now_ns());
	c->done(c);
}

void child_drop_output(struct child *c)
{
	struct child_mgr *m = c->mgr;

	if (!c->exited || c->eof || c->out_wake.fd < 0)
		return;
	reactor_del(m->r, &c->out_wake);
	(void)close(c->out_wake.fd);
	c->out_wake.fd = -1;
	c->eof = true;
	child_maybe_finish(c);
}

static void child_dispatch_pid(struct wake *w, uint32_t events, void *data)
{
	struct child *c = container_of(w, struct child, pid_wake);
	struct child_mgr *m = data;
	siginfo_t si;

	(void)events;
	memset(&si, 0, sizeof(si));
	if (waitid(P_PIDFD, (id_t)w->fd, &si, WEXITED | WNOHANG) < 0 || si.si_pid == 0)
		return;
	c->exited = true;
	if (si.si_code == CLD_EXITED)
		c->exit_code = si.si_status;
	else
		c->term_signal = si.si_status;
	reactor_del(m->r, w);
	(void)close(w->fd);
	w->fd = -1;
	child_maybe_finish(c);
}

static void child_append(struct child *c, const char *p, size_t n)
{
	size_t max = c->out_max ? c->out_max : CHILD_OUT_MAX_DEFAULT;

	if (c->out.len + n > max) {
		/* Keep the head (how it started) and the newest tail (how it failed). */
		size_t head = max / 4, tail = max / 2;
		if (c->out.len > head + tail) {
			size_t drop = c->out.len - head - tail;
			memmove(c->out.buf + head, c->out.buf + head + drop, tail);
			sbuf_setlen(&c->out, head + tail);
			c->dropped += drop;
		}
		if (n > tail) {
			c->dropped += n - tail;
			p += n - tail;
			n = tail;
		}
	}
	sbuf_add(&c->out, p, n);
}

static void child_dispatch_out(struct wake *w, uint32_t events, void *data)
{
	struct child *c = container_of(w, struct child, out_wake);
	struct child_mgr *m = data;
	char buf[16384];

	(void)events;
	for (;;) {
		ssize_t k = read(w->fd, buf, sizeof(buf));
		if (k > 0) {
			child_append(c, buf, (size_t)k);
			/* Parsed as it comes: a reader that consumes (rpc.c) keeps out small. */
			if (c->on_read)
				c->on_read(c);
			continue;
		}
		if (k < 0 && errno == EINTR)
			continue;
		if (k < 0 && errno == EAGAIN)
			break;
		/* EOF (or an error, treated as EOF) */
		reactor_del(m->r, w);
		(void)close(w->fd);
		w->fd = -1;
		c->eof = true;
		break;
	}
	child_maybe_finish(c);
}

/*
 * Writes what is queued; watches the pipe for room while bytes remain.
 * Returns 0, or -errno when the reactor refuses the watcher: nothing would
 * ever flush the rest, so the queued bytes are dropped and our end closed
 * (the child reads EOF and ends; its exit tells the caller the rest).
 */
static int child_flush_in(struct child *c)
{
	struct child_mgr *m = c->mgr;
	int r;

	while (c->in_buf.len) {
		ssize_t k = write(c->in_fd, c->in_buf.buf, c->in_buf.len);
		if (k < 0 && errno == EINTR)
			continue;
		if (k < 0 && errno == EAGAIN)
			break;
		if (k < 0) {
			sbuf_reset(&c->in_buf); /* EPIPE: the child is gone; its exit tells why */
			break;
		}
		memmove(c->in_buf.buf, c->in_buf.buf + k, c->in_buf.len - (size_t)k);
		sbuf_setlen(&c->in_buf, c->in_buf.len - (size_t)k);
	}
	if (c->in_buf.len && !c->in_wake.events) {
		c->in_wake.fd = c->in_fd;
		if ((r = reactor_add(m->r, &c->in_wake, EPOLLOUT)) < 0) {
			trace_proc(c->ctx, "stdin", c->argv, c->pid, -1, r, c->t_start_ns,
				   clock_now_ns());
			child_close_stdin(c);
			return r;
		}
	} else if (!c->in_buf.len && c->in_wake.events) {
		reactor_del(m->r, &c->in_wake);
	}
	return 0;
}

static void child_dispatch_in(struct wake *w, uint32_t events, void *data)
{
	(void)events;
	(void)data;
	/* Registered already: only stops watching here, cannot fail. */
	(void)child_flush_in(container_of(w, struct child, in_wake));
}

int child_write(struct child *c, const void *p, size_t n)
{
	if (c->in_fd < 0)
		return -EPIPE;
	int r = sbuf_add(&c->in_buf, p, n);
	if (r < 0) {
		/* Part of a message queued and the rest lost would desync the protocol: as a refused watcher. */
		child_close_stdin(c);
		return r;
	}
	return child_flush_in(c);
}

void child_close_stdin(struct child *c)
{
	if (c->in_fd < 0)
		return;
	if (c->in_wake.events)
		reactor_del(c->mgr->r, &c->in_wake);
	(void)close(c->in_fd);
	c->in_fd = -1;
	sbuf_release(&c->in_buf);
}

int child_kill(struct child *c, int sig)
{
	if (c->pid <= 0 || c->exited)
		return 0;
	if (kill(-c->pid, sig) < 0 && errno != ESRCH)
		return -errno;
	return 0;
}

void child_release(struct child *c)
{
	if (!c)
		return;
	sbuf_release(&c->out);
	sbuf_release(&c->in_buf);
}

const char *child_status_str(const struct child *c)
{
	static char buf[32];

	if (c->term_signal)
		snprintf(buf, sizeof(buf), "killed by signal %d", c->term_signal);
	else
		snprintf(buf, sizeof(buf), "exit %d", c->exit_code);
	return buf;
}
