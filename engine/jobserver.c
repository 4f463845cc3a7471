#include "engine/jobserver.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <unistd.h>

#include "base/compiler.h"
#include "engine/reactor.h"

struct jobserver {
	struct reactor *r;
	int fds[2];	  /* the pipe, as builds see it (blocking) */
	struct wake wake; /* our non-blocking view of fds[0] */
	int wfd;	  /* our non-blocking view of fds[1] */
	unsigned tokens;
	unsigned kept; /* tokens released while the pipe was full, not yet written back */
	struct list_head waiters;
	char makeflags[64];
};

static void jobserver_dispatch(struct wake *w, uint32_t events, void *data);

struct jobserver *jobserver_new(struct reactor *r, unsigned tokens)
{
	struct jobserver *js = sc_xcalloc(1, sizeof(*js));
	char path[64];

	js->r = r;
	js->wfd = -1;
	js->tokens = tokens ? tokens : 1;
	list_init(&js->waiters);
	if (pipe2(js->fds, O_CLOEXEC) < 0)
		goto out_free;
	/* Above 4: a helper that speaks its protocol on fds 3 and 4 inherits these too. */
	for (int i = 0; i < 2; i++)
		if (js->fds[i] <= 4) {
			int k = fcntl(js->fds[i], F_DUPFD_CLOEXEC, 5);
			if (k < 0) {
				js->wake.fd = -1;
				goto out_close;
			}
			(void)close(js->fds[i]);
			js->fds[i] = k;
		}
	snprintf(path, sizeof(path), "/proc/self/fd/%d", js->fds[0]);
	js->wake = (struct wake){ .kind = WAKE_JOBSERVER,
				  .fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC) };
	if (js->wake.fd < 0)
		goto out_close;
	snprintf(path, sizeof(path), "/proc/self/fd/%d", js->fds[1]);
	js->wfd = open(path, O_WRONLY | O_NONBLOCK | O_CLOEXEC);
	if (js->wfd < 0)
		goto out_close;
	for (unsigned i = 0; i < js->tokens; i++)
		if (write(js->fds[1], "+", 1) != 1)
			goto out_close;
	snprintf(js->makeflags, sizeof(js->makeflags), " -j --jobserver-auth=%d,%d", js->fds[0],
		 js->fds[1]);
	reactor_set_dispatch(r, WAKE_JOBSERVER, jobserver_dispatch, js);
	return js;

out_close:
	if (js->wake.fd >= 0)
		(void)close(js->wake.fd);
	if (js->wfd >= 0)
		(void)close(js->wfd);
	(void)close(js->fds[0]);
	(void)close(js->fds[1]);
out_free:
	free(js);
	return NULL;
}

void jobserver_free(struct jobserver *js)
{
	if (!js)
		return;
	reactor_del(js->r, &js->wake);
	(void)close(js->wake.fd);
	(void)close(js->wfd);
	(void)close(js->fds[0]);
	(void)close(js->fds[1]);
	free(js);
}

static bool jobserver_take(struct jobserver *js)
{
	char c;

	if (js->kept) {
		js->kept--; /* one the full pipe would not take back: handed out directly */
		return true;
	}
	for (;;) {
		ssize_t k = read(js->wake.fd, &c, 1);
		if (k == 1)
			return true;
		if (k < 0 && errno == EINTR)
			continue;
		return false; /* EAGAIN: every token is in use */
	}
}

/* Watches the pipe while someone waits; 0, or -errno when epoll refuses it. */
static int jobserver_watch(struct jobserver *js)
{
	bool want = !list_empty(&js->waiters);

	if (want && !js->wake.events)
		return reactor_add(js->r, &js->wake, EPOLLIN);
	if (!want && js->wake.events)
		reactor_del(js->r, &js->wake);
	return 0;
}

int jobserver_acquire(struct jobserver *js, struct js_waiter *w)
{
	SC_ASSERT(!w->queued);
	if (list_empty(&js->waiters) && jobserver_take(js))
		return 1;
	list_add_tail(&w->link, &js->waiters);
	w->queued = true;
	int r = jobserver_watch(js);
	if (r < 0) {
		/* nobody would ever grant it */
		list_del(&w->link);
		w->queued = false;
		return r;
	}
	return 0;
}

void jobserver_cancel(struct jobserver *js, struct js_waiter *w)
{
	if (!w || !w->queued)
		return;
	list_del(&w->link);
	w->queued = false;
	(void)jobserver_watch(js); /* fewer waiters: only stops watching */
}

/*
 * Gives tokens back without ever blocking the reactor. The pipe is shared
 * with every make of every build, and a build that writes more than it took
 * (a broken make, a recipe writing to the jobserver fd) can fill it; a
 * blocking write would then stop the whole install. A token the full pipe
 * refuses (EAGAIN) is kept in js->kept: the next release writes it back
 * first, and jobserver_take hands it out before reading the pipe, so it is
 * neither lost nor counted twice. A full pipe already holds far more tokens
 * than --jobs, so keeping one back never starves a build.
 */
void jobserver_release(struct jobserver *js)
{
	js->kept++;
	while (js->kept) {
		ssize_t k = write(js->wfd, "+", 1);
		if (k == 1) {
			js->kept--;
			continue;
		}
		if (k < 0 && errno == EINTR)
			continue;
		break; /* EAGAIN: full; any other error: the pipe is unusable, keep the token */
	}
}

static void jobserver_dispatch(struct wake *w, uint32_t events, void *data)
{
	struct jobserver *js = data;

	(void)w;
	(void)events;
	/* Tokens go to waiters in order; make may take one first (then we wait more). */
	while (!list_empty(&js->waiters) && jobserver_take(js)) {
		struct js_waiter *jw = list_first_entry(&js->waiters, struct js_waiter, link);
		list_del(&jw->link);
		jw->queued = false;
		jw->granted(jw);
	}
	(void)jobserver_watch(js); /* only stops watching here: waiters never grow */
}

const char *jobserver_makeflags(const struct jobserver *js)
{
	return js->makeflags;
}

const int *jobserver_fds(const struct jobserver *js)
{
	return js->fds;
}

unsigned jobserver_tokens(const struct jobserver *js)
{
	return js->tokens;
}
