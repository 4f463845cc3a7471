/*
 * signals.c: SIGINT, SIGTERM and SIGHUP during an install.
 *
 * Builds run in process groups of their own, so a terminal's Ctrl-C reaches
 * scint only. The signals are blocked and read from a signalfd registered in
 * the reactor; the first one cancels the run (transfers aborted, builds
 * killed, assembling trees removed), a second one exits at once.
 */
#include "cli/signals.h"

#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include "engine/reactor.h"
#include "engine/sched.h"

static struct {
	struct wake wake;
	struct sched *sched;
	int signo;
} sig = { .wake = { .kind = WAKE_SIGNAL, .fd = -1 } };

static void signals_dispatch(struct wake *w, uint32_t events, void *data)
{
	struct signalfd_siginfo si;

	(void)events;
	(void)data;
	while (read(w->fd, &si, sizeof(si)) == sizeof(si)) {
		if (sig.signo) {
			/* Second signal: the user insists. Builds were signalled already. */
			_exit(128 + (int)si.ssi_signo);
		}
		sig.signo = (int)si.ssi_signo;
		if (sig.sched)
			sched_cancel(sig.sched);
	}
}

int signals_watch(struct reactor *r, struct sched *s)
{
	sigset_t set;

	sigemptyset(&set);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGHUP);
	if (sigprocmask(SIG_BLOCK, &set, NULL) < 0)
		return -errno;
	sig.wake.fd = signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC);
	if (sig.wake.fd < 0)
		return -errno;
	sig.sched = s;
	reactor_set_dispatch(r, WAKE_SIGNAL, signals_dispatch, NULL);
	return reactor_add(r, &sig.wake, EPOLLIN);
}

int signals_received(void)
{
	return sig.signo;
}

void signals_release(struct reactor *r)
{
	if (sig.wake.fd < 0)
		return;
	reactor_del(r, &sig.wake);
	(void)close(sig.wake.fd);
	sig.wake.fd = -1;
	sig.sched = NULL;
}
