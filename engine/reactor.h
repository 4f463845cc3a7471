/*
 * reactor.h: the one wait point (epoll) and the timers.
 *
 * Everything that can wake scint registers here: curl's sockets, the
 * io_uring ring fd, each child's pidfd and output pipe. A registered object
 * begins with (or embeds) a `struct wake`; its kind selects the dispatcher
 * that the owning service installed with reactor_set_dispatch(), which
 * reaches the owner with container_of(). Timers are kept in a binary heap.
 *
 * Watcher lifetime: any callback may remove (reactor_del) and then free any
 * watcher, including one whose event is still pending in the same
 * epoll_wait batch; removal invalidates the watcher's pending events, so the
 * reactor never touches it again. Owners must reactor_del (and disarm their
 * timers) before freeing; nothing else is needed.
 *
 * The reactor never runs job logic. Dispatchers and timer callbacks only
 * record results and mark jobs ready; the scheduler's tick decides what runs.
 * The reactor is opaque and single-threaded.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum wake_kind {
	WAKE_IOQ,        /* io_uring ring fd */
	WAKE_HTTP,       /* a curl socket */
	WAKE_CHILD_PID,  /* a child's pidfd */
	WAKE_CHILD_PIPE, /* a child's output pipe */
	WAKE_CHILD_IN,   /* a child's stdin pipe, while we have bytes to write */
	WAKE_JOBSERVER,  /* the make jobserver's read end, while a build waits for a token */
	WAKE_SIGNAL,     /* a signalfd (SIGINT, SIGTERM, SIGHUP) */
	WAKE_KIND__COUNT,
};

struct wake {
	enum wake_kind kind;
	int fd;
	uint32_t events; /* currently registered epoll events; 0 when not registered */
};

struct timer;
typedef void reactor_dispatch_fn(struct wake *w, uint32_t events, void *data);
typedef void timer_fn(struct timer *t);

struct timer {
	uint64_t deadline_ns;
	timer_fn *fn;
	/* private: */
	size_t heap_idx; /* SIZE_MAX when not armed */
};

struct reactor;

/* Returns NULL with errno set when epoll cannot be created. */
struct reactor *reactor_new(void);
void reactor_free(struct reactor *r);

void reactor_set_dispatch(struct reactor *r, enum wake_kind kind, reactor_dispatch_fn *fn,
			  void *data);

/* Registers, changes or removes the epoll interest of w. Return 0 or -errno. */
int reactor_add(struct reactor *r, struct wake *w, uint32_t events);
int reactor_mod(struct reactor *r, struct wake *w, uint32_t events);
/* Also drops w's events not yet dispatched in the current batch: w may be freed after it. */
void reactor_del(struct reactor *r, struct wake *w);

void timer_init(struct timer *t, timer_fn *fn);
/* Arms (or re-arms) t to fire at deadline_ns (CLOCK_MONOTONIC). */
void reactor_timer_arm(struct reactor *r, struct timer *t, uint64_t deadline_ns);
void reactor_timer_disarm(struct reactor *r, struct timer *t);
static inline bool timer_armed(const struct timer *t)
{
	return t->heap_idx != (size_t)-1;
}

/* Milliseconds until the nearest timer (rounded up), or -1 with none armed. */
int reactor_timeout_ms(const struct reactor *r);
/*
 * Waits up to timeout_ms (-1: forever) and dispatches what became ready.
 * Returns the number of events dispatched, or -errno.
 */
int reactor_poll(struct reactor *r, int timeout_ms);
/* Fires every timer whose deadline has passed. Returns how many fired. */
int reactor_run_timers(struct reactor *r);
/* How many wakes are registered (for the "something is in flight" assertion). */
unsigned reactor_nregistered(const struct reactor *r);
