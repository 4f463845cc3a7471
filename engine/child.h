/*
 * child.h: child processes (compilers, the Ruby helper, git) in the reactor.
 *
 * child_spawn() starts the program with posix_spawn (which reports exec
 * failure synchronously, as git's CLOEXEC notify pipe does), opens a pidfd
 * for it right away, and registers the pidfd and the output pipe with the
 * reactor. The child runs in its own process group so that a whole build
 * tree can be signalled. Output (stdout and stderr merged unless a separate
 * stderr fd is given) is collected into `out`, bounded: past out_max the
 * middle is dropped, keeping the head and the newest tail.
 *
 * A child is complete only when both its exit status (waitid on the pidfd)
 * and EOF on its output pipe have been seen (tmux's DEAD/CLOSED); then its
 * done callback runs, from the reactor's dispatch, never from child_spawn().
 * The caller owns the struct and everything it points to until done ran.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/list.h"
#include "base/sbuf.h"
#include "engine/reactor.h"

struct trace_ctx;
struct child;
struct child_mgr;

typedef void child_done_fn(struct child *c);
/* Called after each read that appended output to c->out (for line protocols: it may consume
 * and compact c->out, which then never holds more than one read beyond what it left). */
typedef void child_read_fn(struct child *c);

struct child {
	/* inputs */
	const char *const *argv;
	const char *const *envp; /* NULL: inherit scint's environment */
	const char *cwd;         /* NULL: scint's cwd */
	bool stdin_pipe;         /* keep a pipe to the child's stdin (in_fd) */
	int stderr_fd;           /* -1: merged into out; else dup'ed as the child's stderr */
	/*
	 * A protocol on fds of its own: the stdin pipe is the child's fd 3 and
	 * the output pipe its fd 4; its stdin is /dev/null and its stdout and
	 * stderr are stderr_fd (scint's stderr when -1), so what it prints stays
	 * visible and out of the protocol.
	 */
	bool proto_fds;
	uint64_t as_limit;       /* RLIMIT_AS of the child in bytes; 0: none */
	size_t out_max;          /* 0: 16 MiB */
	const int *keep_fds;     /* fds the child inherits as they are (e.g. the jobserver) */
	size_t nkeep_fds;
	child_done_fn *done;
	child_read_fn *on_read;
	void *data;
	const struct trace_ctx *ctx;

	/* outputs */
	int pid;
	bool exited;
	int exit_code;   /* valid when exited by exit() */
	int term_signal; /* non-zero when killed by a signal */
	struct sbuf out;
	int in_fd;       /* our end of the stdin pipe, or -1 */

	/* private: */
	struct child_mgr *mgr;
	struct wake pid_wake;
	struct wake out_wake;
	struct wake in_wake;
	struct sbuf in_buf;  /* bytes waiting for the stdin pipe */
	bool eof;
	bool finished;
	uint64_t t_start_ns;
	size_t dropped;
	struct list_head link;
};

struct child_mgr *child_mgr_new(struct reactor *r);
void child_mgr_free(struct child_mgr *m);
unsigned child_mgr_running(const struct child_mgr *m);
struct reactor *child_mgr_reactor(const struct child_mgr *m);
/*
 * Signals the process group of every child not yet reaped (on an
 * interrupt; async-signal-free, callable before _exit). Returns how many.
 */
unsigned child_mgr_kill_all(struct child_mgr *m, int sig);
uint64_t child_mgr_spawned(const struct child_mgr *m);

/*
 * Starts c. Returns 0, or -SC_EEXEC/-errno when the program cannot be
 * started (c->out then holds the reason); done is not called in that case.
 * A failure after the program started (no pidfd, the reactor refuses a
 * watcher) kills its process group and reaps it before returning -errno:
 * nothing started by a failed call keeps running, and every fd it opened
 * is closed.
 */
int child_spawn(struct child_mgr *m, struct child *c);
/* Signals the child's process group (SIGTERM/SIGKILL). Returns 0 or -errno. */
int child_kill(struct child *c, int sig);
/*
 * Queues bytes for the child's stdin (stdin_pipe children). Returns 0,
 * -EPIPE when stdin is closed, or -errno when the pipe is full and the
 * reactor refuses to watch it: then the queued bytes are dropped and stdin
 * is closed (the child reads EOF), the child itself keeps running until it
 * exits and done runs as usual.
 */
int child_write(struct child *c, const void *p, size_t n);
/* Closes our end of the child's stdin now: bytes still queued are dropped. */
void child_close_stdin(struct child *c);
/*
 * Once the child has exited: stops waiting for EOF on its output (a process
 * outside its group, which a group kill does not reach, may hold the pipe
 * for ever) and finishes it now (done runs from here). No-op before the exit.
 */
void child_drop_output(struct child *c);
/* Releases the output buffers (after done). NULL-safe. */
void child_release(struct child *c);
/* "exit 2", "killed by signal 9": for messages; returns a static buffer. */
const char *child_status_str(const struct child *c);
