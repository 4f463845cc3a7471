#include "reactor.h"

#include <errno.h>
#include <stdlib.h>
#include <sys/epoll.h>
#include <unistd.h>

#include "base/clock.h"
#include "base/compiler.h"

#define REACTOR_EVENTS_MAX 128

struct reactor_dispatch {
	reactor_dispatch_fn *fn;
	void *data;
};

/*
 * The events of one epoll_wait being dispatched. reactor_del() clears the
 * not yet dispatched events of the watcher it removes (libuv's
 * uv__platform_invalidate_fd), so a callback may free any watcher's owner,
 * even one whose event is still pending in this batch. Batches nest when a
 * callback polls again (a synchronous helper call).
 */
struct reactor_batch {
	struct epoll_event *evs;
	int next, n; /* evs[next..n) are still to be dispatched */
	struct reactor_batch *outer;
};

struct reactor {
	int epfd;
	struct reactor_batch *batch; /* innermost batch being dispatched, or NULL */
	unsigned nregistered;
	struct reactor_dispatch dispatch[WAKE_KIND__COUNT];
	struct timer **heap;
	size_t nheap, heap_cap;
};

struct reactor *reactor_new(void)
{
	struct reactor *r = sc_xcalloc(1, sizeof(*r));

	r->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (r->epfd < 0) {
		int e = errno;
		free(r);
		errno = e;
		return NULL;
	}
	return r;
}

void reactor_free(struct reactor *r)
{
	if (!r)
		return;
	(void)close(r->epfd);
	free(r->heap);
	free(r);
}

void reactor_set_dispatch(struct reactor *r, enum wake_kind kind, reactor_dispatch_fn *fn,
			  void *data)
{
	SC_ASSERT(kind < WAKE_KIND__COUNT);
	r->dispatch[kind] = (struct reactor_dispatch){ fn, data };
}

static int reactor_ctl(struct reactor *r, int op, struct wake *w, uint32_t events)
{
	struct epoll_event ev = { .events = events, .data.ptr = w };

	return epoll_ctl(r->epfd, op, w->fd, &ev) < 0 ? -errno : 0;
}

int reactor_add(struct reactor *r, struct wake *w, uint32_t events)
{
	SC_ASSERT(w->fd >= 0 && w->events == 0);
	int k = reactor_ctl(r, EPOLL_CTL_ADD, w, events);
	if (k == 0) {
		w->events = events ? events : EPOLLHUP;
		r->nregistered++;
	}
	return k;
}

int reactor_mod(struct reactor *r, struct wake *w, uint32_t events)
{
	SC_ASSERT(w->events != 0);
	int k = reactor_ctl(r, EPOLL_CTL_MOD, w, events);
	if (k == 0)
		w->events = events ? events : EPOLLHUP;
	return k;
}

void reactor_del(struct reactor *r, struct wake *w)
{
	if (!w->events)
		return;
	/* The fd may already be closed (curl closes before telling us): ignore errors. */
	(void)reactor_ctl(r, EPOLL_CTL_DEL, w, 0);
	w->events = 0;
	r->nregistered--;
	for (struct reactor_batch *b = r->batch; b; b = b->outer)
		for (int i = b->next; i < b->n; i++)
			if (b->evs[i].data.ptr == w)
				b->evs[i].data.ptr = NULL;
}

unsigned reactor_nregistered(const struct reactor *r)
{
	return r->nregistered;
}

int reactor_poll(struct reactor *r, int timeout_ms)
{
	struct epoll_event evs[REACTOR_EVENTS_MAX];
	struct reactor_batch b = { .evs = evs, .outer = r->batch };
	int n, ndispatched = 0;

	do
		n = epoll_wait(r->epfd, evs, REACTOR_EVENTS_MAX, timeout_ms);
	while (n < 0 && errno == EINTR && timeout_ms == -1);
	if (n < 0)
		return errno == EINTR ? 0 : -errno;
	b.n = n;
	r->batch = &b;
	while (b.next < b.n) {
		struct epoll_event *ev = &evs[b.next++];
		struct wake *w = ev->data.ptr;
		if (!w)
			continue; /* removed (perhaps freed) by an earlier callback of this batch */
		struct reactor_dispatch *d = &r->dispatch[w->kind];
		SC_ASSERT(d->fn);
		d->fn(w, ev->events, d->data);
		ndispatched++;
	}
	r->batch = b.outer;
	return ndispatched;
}

/* Timers: a binary min-heap on deadline_ns. */

void timer_init(struct timer *t, timer_fn *fn)
{
	t->fn = fn;
	t->deadline_ns = 0;
	t->heap_idx = (size_t)-1;
}

static void heap_swap(struct reactor *r, size_t a, size_t b)
{
	struct timer *t = r->heap[a];

	r->heap[a] = r->heap[b];
	r->heap[b] = t;
	r->heap[a]->heap_idx = a;
	r->heap[b]->heap_idx = b;
}

static void heap_up(struct reactor *r, size_t i)
{
	while (i > 0) {
		size_t p = (i - 1) / 2;
		if (r->heap[p]->deadline_ns <= r->heap[i]->deadline_ns)
			break;
		heap_swap(r, i, p);
		i = p;
	}
}

static void heap_down(struct reactor *r, size_t i)
{
	for (;;) {
		size_t l = 2 * i + 1, m = i;
		if (l < r->nheap && r->heap[l]->deadline_ns < r->heap[m]->deadline_ns)
			m = l;
		if (l + 1 < r->nheap && r->heap[l + 1]->deadline_ns < r->heap[m]->deadline_ns)
			m = l + 1;
		if (m == i)
			return;
		heap_swap(r, i, m);
		i = m;
	}
}

void reactor_timer_disarm(struct reactor *r, struct timer *t)
{
	size_t i = t->heap_idx;

	if (i == (size_t)-1)
		return;
	SC_ASSERT(i < r->nheap && r->heap[i] == t);
	r->nheap--;
	if (i != r->nheap) {
		r->heap[i] = r->heap[r->nheap];
		r->heap[i]->heap_idx = i;
		heap_down(r, i);
		heap_up(r, i);
	}
	t->heap_idx = (size_t)-1;
}

void reactor_timer_arm(struct reactor *r, struct timer *t, uint64_t deadline_ns)
{
	SC_ASSERT(t->fn);
	reactor_timer_disarm(r, t);
	if (r->nheap == r->heap_cap) {
		r->heap_cap = r->heap_cap ? r->heap_cap * 2 : 16;
		r->heap = sc_xrealloc(r->heap, r->heap_cap * sizeof(*r->heap));
	}
	t->deadline_ns = deadline_ns;
	t->heap_idx = r->nheap;
	r->heap[r->nheap++] = t;
	heap_up(r, t->heap_idx);
}

int reactor_timeout_ms(const struct reactor *r)
{
	if (!r->nheap)
		return -1;
	uint64_t now = clock_now_ns(), d = r->heap[0]->deadline_ns;
	if (d <= now)
		return 0;
	uint64_t ms = (d - now + 999999) / 1000000;
	return ms > 60000 ? 60000 : (int)ms;
}

int reactor_run_timers(struct reactor *r)
{
	uint64_t now = clock_now_ns();
	int n = 0;

	while (r->nheap && r->heap[0]->deadline_ns <= now) {
		struct timer *t = r->heap[0];
		reactor_timer_disarm(r, t);
		t->fn(t);
		n++;
	}
	return n;
}
