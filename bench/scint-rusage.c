/*
 * scint-rusage: runs a command and reports the wall time, CPU time and peak
 * RSS of its whole process tree as one JSON line, for scint-bench.
 *
 *   scint-rusage [-o FILE] [--] COMMAND [ARG...]
 *
 * The command's stdin, stdout and stderr are left untouched; the record goes
 * to FILE (truncated), or to stderr without -o:
 *
 *   {"wall_ms":812.345,"user_ms":640.000,"sys_ms":210.000,"maxrss_kb":48212,
 *    "exit":0,"signal":0,"minflt":..,"majflt":..,"inblock":..,"oublock":..,
 *    "nvcsw":..,"nivcsw":..}
 *
 * What the numbers cover:
 * - wall_ms: CLOCK_MONOTONIC from just before fork to the reaping of the child.
 * - user_ms, sys_ms, the fault, block and switch counts: getrusage(RUSAGE_CHILDREN)
 *   after the child is reaped, i.e. the child plus every descendant that was
 *   waited for. This process is a child subreaper (PR_SET_CHILD_SUBREAPER), so
 *   descendants orphaned by their parent are reparented here; those that have
 *   exited by the time the command exits are reaped and counted too. A
 *   descendant still running then (a daemon) is neither counted nor waited for.
 * - maxrss_kb: the largest peak RSS of any single process of the tree (what
 *   the kernel keeps for RUSAGE_CHILDREN, as GNU time reports it), not the sum
 *   of processes that ran at the same time.
 * - exit: the command's exit code, 128 + N when killed by signal N (as shells
 *   report it), 127 when it could not be executed (then "error" says why).
 *
 * Exit status: the command's "exit" value; 2 for a usage error or when FILE
 * cannot be opened (the command is not run then).
 *
 * While the command runs, SIGINT and SIGQUIT are ignored here (as system(3)
 * does) so that a ^C stops the command and its record is still written.
 * Exec failure reaches the parent through a CLOEXEC pipe (git's run-command).
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "base/json.h"
#include "base/sbuf.h"

#define RUSAGE_EXIT_USAGE   2
#define RUSAGE_EXIT_NOEXEC  127
#define RUSAGE_EXIT_SIGBASE 128

struct rusage_run {
	char *const *argv;
	double wall_ms;
	struct rusage ru; /* RUSAGE_CHILDREN once everything is reaped */
	int status;	  /* from wait4 */
	int exec_errno;	  /* > 0 when the command could not be executed */
};

static void usage(FILE *f)
{
	(void)fputs("usage: scint-rusage [-o FILE] [--] COMMAND [ARG...]\n"
		    "Runs COMMAND and writes one JSON line with wall_ms, user_ms, sys_ms,\n"
		    "maxrss_kb and exit (for the command and all its descendants) to FILE,\n"
		    "or to stderr without -o. Exits with the command's exit status.\n",
		    f);
}

static double monotonic_ms(void)
{
	struct timespec ts;

	(void)clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static double timeval_ms(const struct timeval *tv)
{
	return (double)tv->tv_sec * 1e3 + (double)tv->tv_usec / 1e3;
}

/* In the child, between fork and exec: async-signal-safe calls only. */
static void rusage_child_exec(char *const *argv, int notify_fd)
{
	struct sigaction dfl = { .sa_handler = SIG_DFL };
	int err;

	(void)sigaction(SIGINT, &dfl, NULL);
	(void)sigaction(SIGQUIT, &dfl, NULL);
	execvp(argv[0], argv);
	err = errno;
	/* A short or failed write leaves the parent with "exec succeeded"; the
	 * exit status 127 still tells the story. */
	(void)!write(notify_fd, &err, sizeof(err));
	_exit(RUSAGE_EXIT_NOEXEC);
}

/*
 * Runs r->argv to completion and fills r. Returns 0, or -errno when the
 * command could not be started at all (pipe or fork failed).
 */
static int rusage_run(struct rusage_run *r)
{
	struct sigaction ign = { .sa_handler = SIG_IGN };
	struct sigaction old_int;
	struct sigaction old_quit;
	int notify[2];
	double t0;
	pid_t pid;
	ssize_t n;
	int ret = 0;

	if (pipe2(notify, O_CLOEXEC) < 0)
		return -errno;
	/* Orphaned descendants come to us, so their CPU time can be counted. */
	(void)prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0);
	(void)sigaction(SIGINT, &ign, &old_int);
	(void)sigaction(SIGQUIT, &ign, &old_quit);

	t0 = monotonic_ms();
	pid = fork();
	if (pid < 0) {
		ret = -errno;
		(void)close(notify[0]);
		(void)close(notify[1]);
		goto out_restore_signals;
	}
	if (pid == 0)
		rusage_child_exec(r->argv, notify[1]);

	(void)close(notify[1]);
	do
		n = read(notify[0], &r->exec_errno, sizeof(r->exec_errno));
	while (n < 0 && errno == EINTR);
	if (n != (ssize_t)sizeof(r->exec_errno))
		r->exec_errno = 0;
	(void)close(notify[0]);

	while (wait4(pid, &r->status, 0, NULL) < 0) {
		if (errno != EINTR) {
			ret = -errno;
			goto out_restore_signals;
		}
	}
	r->wall_ms = monotonic_ms() - t0;
	/* Reap orphans that already exited; never wait for live ones. */
	while (waitpid(-1, NULL, WNOHANG) > 0)
		;
	(void)getrusage(RUSAGE_CHILDREN, &r->ru);

out_restore_signals:
	(void)sigaction(SIGINT, &old_int, NULL);
	(void)sigaction(SIGQUIT, &old_quit, NULL);
	return ret;
}

static int rusage_exit_code(const struct rusage_run *r)
{
	if (r->exec_errno)
		return RUSAGE_EXIT_NOEXEC;
	if (WIFEXITED(r->status))
		return WEXITSTATUS(r->status);
	if (WIFSIGNALED(r->status))
		return RUSAGE_EXIT_SIGBASE + WTERMSIG(r->status);
	return RUSAGE_EXIT_NOEXEC;
}

static void rusage_format(const struct rusage_run *r, struct sbuf *out)
{
	const struct rusage *ru = &r->ru;

	sbuf_addf(out,
		  "{\"wall_ms\":%.3f,\"user_ms\":%.3f,\"sys_ms\":%.3f,\"maxrss_kb\":%ld,"
		  "\"exit\":%d,\"signal\":%d,\"minflt\":%ld,\"majflt\":%ld,\"inblock\":%ld,"
		  "\"oublock\":%ld,\"nvcsw\":%ld,\"nivcsw\":%ld",
		  r->wall_ms, timeval_ms(&ru->ru_utime), timeval_ms(&ru->ru_stime), ru->ru_maxrss,
		  rusage_exit_code(r), WIFSIGNALED(r->status) ? WTERMSIG(r->status) : 0,
		  ru->ru_minflt, ru->ru_majflt, ru->ru_inblock, ru->ru_oublock, ru->ru_nvcsw,
		  ru->ru_nivcsw);
	if (r->exec_errno) {
		struct sbuf msg = SBUF_INIT;

		sbuf_addf(&msg, "cannot run '%s': %s", r->argv[0], strerror(r->exec_errno));
		sbuf_add(out, ",\"error\":", 9);
		json_add_str(out, msg.buf, msg.len);
		sbuf_release(&msg);
	}
	sbuf_add(out, "}\n", 2);
}

/* Writes all of buf to fd. Returns 0 or -errno. */
static int write_all(int fd, const char *buf, size_t len)
{
	while (len) {
		ssize_t k = write(fd, buf, len);
		if (k < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		buf += k;
		len -= (size_t)k;
	}
	return 0;
}

int main(int argc, char **argv)
{
	struct rusage_run run = { 0 };
	struct sbuf out = SBUF_INIT;
	const char *out_path = NULL;
	int out_fd = STDERR_FILENO;
	int opt;
	int r;

	/* "+": stop at the first non-option, the command's own options are its own. */
	while ((opt = getopt(argc, argv, "+o:h")) != -1) {
		switch (opt) {
		case 'o':
			out_path = optarg;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return RUSAGE_EXIT_USAGE;
		}
	}
	if (optind >= argc) {
		usage(stderr);
		return RUSAGE_EXIT_USAGE;
	}
	run.argv = argv + optind;

	/* Opened before the command runs: a bad path must not waste a run. */
	if (out_path) {
		out_fd = open(out_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
		if (out_fd < 0) {
			(void)fprintf(stderr, "scint-rusage: cannot open '%s': %s\n", out_path,
				      strerror(errno));
			return RUSAGE_EXIT_USAGE;
		}
	}

	r = rusage_run(&run);
	if (r < 0) {
		(void)fprintf(stderr, "scint-rusage: cannot run '%s': %s\n", run.argv[0],
			      strerror(-r));
		r = RUSAGE_EXIT_NOEXEC;
		goto out_close;
	}
	if (run.exec_errno)
		(void)fprintf(stderr, "scint-rusage: cannot run '%s': %s\n", run.argv[0],
			      strerror(run.exec_errno));

	rusage_format(&run, &out);
	r = write_all(out_fd, out.buf, out.len);
	if (r < 0)
		(void)fprintf(stderr, "scint-rusage: cannot write the record: %s\n", strerror(-r));
	r = rusage_exit_code(&run);

out_close:
	sbuf_release(&out);
	if (out_path)
		(void)close(out_fd);
	return r;
}
