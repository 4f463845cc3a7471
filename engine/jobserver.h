/*
 * jobserver.h: one GNU make jobserver shared by every native build.
 *
 * The pipe starts with `tokens` bytes. scint takes one token before it
 * starts a build (the build's own first job: make's implicit slot, or the
 * compiler runs of extconf.rb) and returns it when the build ends; each
 * make inside a build takes further tokens for parallel jobs through
 * MAKEFLAGS. So the total number of compiler jobs across all concurrent
 * builds never exceeds `tokens` (--jobs).
 *
 * make must see the pipe blocking (make 4.3 fails on a non-blocking jobserver
 * pipe), while scint must never block: scint reads through its own open file
 * description of the read end (reopened via /proc/self/fd) with O_NONBLOCK,
 * registered in the reactor while someone waits for a token, and writes
 * tokens back through a non-blocking view of the write end. The pipe's fds
 * are close-on-exec; builds get them with child.keep_fds.
 */
#pragma once

#include <stdbool.h>

#include "base/list.h"

struct reactor;
struct js_waiter;

typedef void js_granted_fn(struct js_waiter *w);

struct js_waiter {
	js_granted_fn *granted; /* runs from the reactor's dispatch; only records */
	/* private: */
	struct list_head link;
	bool queued;
};

struct jobserver;

/* Returns NULL (errno set) when the pipe cannot be made. */
struct jobserver *jobserver_new(struct reactor *r, unsigned tokens);
void jobserver_free(struct jobserver *js);

/*
 * Takes a token: returns 1 when taken now, 0 when w is queued (granted
 * later), or -errno when the token pipe cannot be watched (w not queued).
 */
int jobserver_acquire(struct jobserver *js, struct js_waiter *w);
/* Forgets a queued waiter (NULL-safe, no-op when not queued). */
void jobserver_cancel(struct jobserver *js, struct js_waiter *w);
/*
 * Gives a token back, never blocking: when the pipe is full (a build wrote
 * tokens it did not take) the token is kept and handed out by the next
 * acquire, or written back by the next release.
 */
void jobserver_release(struct jobserver *js);

/* " -j --jobserver-auth=R,W" for the builds' MAKEFLAGS. */
const char *jobserver_makeflags(const struct jobserver *js);
/* The two pipe fds builds must inherit. */
const int *jobserver_fds(const struct jobserver *js);
unsigned jobserver_tokens(const struct jobserver *js);
