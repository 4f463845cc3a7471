/*
 * signals.c: SIGINT, SIGTERM and SIGHUP during an install.
 *
 * Children (builds, the Ruby helper) run in process groups of their own, so
 * a terminal's Ctrl-C reaches scint only. The signals are blocked and read
 * from a signalfd registered in the reactor, from before the Gemfile is
 * evaluated; the first one cancels the run (transfers aborted, assembling
 * trees removed) and sends SIGTERM to every child's process group, then
 * SIGKILL to what is left after SIGNALS_KILL_MS; a second one kills every
 * child's group and exits at once. No child outlives scint's exit.
 */
#include "cli/signals.h"

#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include "base/clock.h"
#include "engine/child.h"
#include "engine/reactor.h"
#include "engine/sched.h"

#define SIGNALS_KILL_MS 3000

static struct {
	struct wake wake;
	struct reactor *r;
	struct sched *sched;
	struct child_mgr *children;
	struct timer kill_timer;
	int signo;
} sig = { .wake = { .kind = WAKE_SIGNAL, .fd = -1 } };

static void signals_kill_fire(struct timer *t)
{
	(void)t;
	if (sig.children)
		(void)child_mgr_kill_all(sig.children, SIGKILL);
}

static void signals_dispatch(struct wake *w, uint32_t events, void *data)
{
	struct signalfd_siginfo si;

	(void)events;
	(void)data;
	while (read(w->fd, &si, sizeof(si)) == sizeof(si)) {
		if (sig.signo) {
			/* Second signal: the user insists. Nothing of ours may outlive us. */
			if (sig.children)
				(void)child_mgr_kill_all(sig.children, SIGKILL);
			_exit(128 + (int)si.ssi_signo);
		}
		sig.signo = (int)si.ssi_signo;
		if (sig.sched)
			sched_cancel(sig.sched);
		if (sig.children && child_mgr_kill_all(sig.children, SIGTERM))
			reactor_timer_arm(sig.r, &sig.kill_timer,
					  clock_now_ns() + (uint64_t)SIGNALS_KILL_MS * 1000000u);
	}
}

int signals_watch(struct reactor *r, struct sched *s, struct child_mgr *children)
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
	sig.r = r;
	sig.sched = s;
	sig.children = children;
	timer_init(&sig.kill_timer, signals_kill_fire);
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
	reactor_timer_disarm(r, &sig.kill_timer);
	reactor_del(r, &sig.wake);
	(void)close(sig.wake.fd);
	sig.wake.fd = -1;
	sig.sched = NULL;
	sig.children = NULL;
}
