/*
 * The reactor's watcher lifetime (design.md §2): a callback may remove or
 * free any watcher, including one whose event is still pending in the same
 * epoll_wait batch; that event must then never be dispatched.
 *
 * Each test makes several pipes readable before polling, so that one
 * epoll_wait returns all of them in one batch, and the first callback
 * removes (and frees) the owners of the others. A callback that polls
 * again nests a batch inside the first: a watcher freed there is skipped
 * by both.
 */
#include "sc_test.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <unistd.h>

#include "base/compiler.h"
#include "engine/reactor.h"

#define NOWNERS 8

struct owner {
	struct wake wake;
	int wfd;       /* the pipe's write end */
	bool removed;  /* reactor_del'ed (and, with free_others, freed) by a callback */
	int calls;
};

struct world {
	struct reactor *r;
	struct owner *o[NOWNERS];
	bool free_others;   /* free the owners too, not only remove them */
	bool readd_others;  /* put the removed fds back under new owners */
	int calls;
	int bad_calls;      /* dispatches of a removed owner */
};

static struct world *W;

static struct owner *owner_new(struct reactor *r)
{
	struct owner *o = sc_xcalloc(1, sizeof(*o));
	int p[2];

	assert_int_equal(pipe2(p, O_CLOEXEC | O_NONBLOCK), 0);
	o->wake = (struct wake){ .kind = WAKE_CHILD_PIPE, .fd = p[0] };
	o->wfd = p[1];
	assert_int_equal(reactor_add(r, &o->wake, EPOLLIN), 0);
	assert_int_equal(write(o->wfd, "x", 1), 1);
	return o;
}

static void owner_free(struct reactor *r, struct owner *o)
{
	reactor_del(r, &o->wake);
	(void)close(o->wake.fd);
	(void)close(o->wfd);
	free(o);
}

static void dispatch(struct wake *w, uint32_t events, void *data)
{
	struct owner *self = container_of(w, struct owner, wake);
	struct world *wd = data;

	(void)events;
	assert_ptr_equal(wd, W);
	if (self->removed) {
		wd->bad_calls++;
		return;
	}
	self->calls++;
	wd->calls++;
	char c;
	if (read(w->fd, &c, 1) < 0) /* drain the byte; a failed read shows as a repeat call */
		wd->bad_calls++;
	if (wd->calls > 1)
		return;
	/* The first callback of the batch removes every other watcher. */
	for (int i = 0; i < NOWNERS; i++) {
		struct owner *o = wd->o[i];
		if (o == self)
			continue;
		if (wd->free_others) {
			owner_free(wd->r, o);
			wd->o[i] = NULL;
			if (wd->readd_others) {
				/* A new owner, likely at the same address and on the same fd. */
				wd->o[i] = owner_new(wd->r);
			}
		} else {
			reactor_del(wd->r, &o->wake);
			o->removed = true;
		}
	}
}

static void world_run(struct world *w)
{
	W = w;
	w->r = reactor_new();
	assert_non_null(w->r);
	reactor_set_dispatch(w->r, WAKE_CHILD_PIPE, dispatch, w);
	for (int i = 0; i < NOWNERS; i++)
		w->o[i] = owner_new(w->r);
	/* Every pipe is readable now: one epoll_wait returns them all. */
	int n = reactor_poll(w->r, 1000);
	assert_true(n >= 1);
	assert_int_equal(w->bad_calls, 0);
	assert_int_equal(w->calls, 1);
	if (!w->free_others)
		assert_int_equal(reactor_nregistered(w->r), 1);
	for (int i = 0; i < NOWNERS; i++) {
		if (w->o[i] && w->o[i]->removed) {
			(void)close(w->o[i]->wake.fd);
			(void)close(w->o[i]->wfd);
			free(w->o[i]);
		} else if (w->o[i]) {
			owner_free(w->r, w->o[i]);
		}
	}
	assert_int_equal(reactor_nregistered(w->r), 0);
	reactor_free(w->r);
	W = NULL;
}

SC_TEST(removed_watcher_gets_no_pending_event)
{
	struct world w = { 0 };

	world_run(&w);
}

/* The crash of a busy cold install: the owner of a pending event freed by an earlier callback. */
SC_TEST(freed_watcher_gets_no_pending_event)
{
	struct world w = { .free_others = true };

	world_run(&w);
}

/* A new watcher on a reused fd (and likely a reused address) gets only its own events. */
SC_TEST(watcher_replaced_in_the_batch_gets_no_stale_event)
{
	struct world w = { .free_others = true, .readd_others = true };

	world_run(&w);
}

/* A removed watcher that was never in the batch: removal during dispatch is harmless. */
SC_TEST(remove_outside_the_batch_and_after_it)
{
	struct reactor *r = reactor_new();
	struct world w = { .r = r };

	W = &w;
	reactor_set_dispatch(r, WAKE_CHILD_PIPE, dispatch, &w);
	for (int i = 0; i < NOWNERS; i++)
		w.o[i] = owner_new(r);
	/* Drain all but the first: only one fd is ready. */
	for (int i = 1; i < NOWNERS; i++) {
		char c;
		assert_int_equal(read(w.o[i]->wake.fd, &c, 1), 1);
	}
	assert_int_equal(reactor_poll(r, 1000), 1);
	assert_int_equal(w.calls, 1);
	assert_int_equal(w.bad_calls, 0);
	/* Nothing pending now; a later poll sees nothing and dispatches nothing. */
	assert_int_equal(reactor_poll(r, 0), 0);
	for (int i = 0; i < NOWNERS; i++) {
		if (w.o[i]->removed) {
			(void)close(w.o[i]->wake.fd);
			(void)close(w.o[i]->wfd);
			free(w.o[i]);
		} else {
			owner_free(r, w.o[i]);
		}
	}
	reactor_free(r);
	W = NULL;
}

/* Timers: a due timer disarmed (and freed) by an earlier timer's callback never fires. */
struct tw {
	struct timer t;
	struct reactor *r;
	struct tw *other;
	int *fired;
};

static void tw_fire(struct timer *t)
{
	struct tw *self = container_of(t, struct tw, t);

	(*self->fired)++;
	if (self->other) {
		reactor_timer_disarm(self->r, &self->other->t);
		free(self->other);
		self->other = NULL;
	}
}

SC_TEST(timer_freed_by_an_earlier_timer_does_not_fire)
{
	struct reactor *r = reactor_new();
	int fired = 0;
	struct tw *a = sc_xcalloc(1, sizeof(*a)), *b = sc_xcalloc(1, sizeof(*b));

	*a = (struct tw){ .r = r, .fired = &fired };
	*b = (struct tw){ .r = r, .fired = &fired };
	timer_init(&a->t, tw_fire);
	timer_init(&b->t, tw_fire);
	reactor_timer_arm(r, &b->t, 2);
	reactor_timer_arm(r, &a->t, 1); /* a is due first and frees b */
	a->other = b;
	assert_int_equal(reactor_run_timers(r), 1);
	assert_int_equal(fired, 1);
	assert_int_equal(reactor_timeout_ms(r), -1);
	free(a);
	reactor_free(r);
}

/*
 * Nested batches: a callback polls again (a synchronous helper call does),
 * and a callback of the inner batch frees watchers whose events are still
 * pending in the outer batch too. Neither batch may dispatch them.
 */
#define NNEST 4

struct nest {
	struct reactor *r;
	struct owner *o[NNEST];
	const struct wake *freed[NNEST]; /* addresses of freed watchers, compared, never read */
	size_t nfreed;
	struct wake *outer; /* the watcher whose callback polled again */
	int depth, calls, bad_calls, inner_polls;
	bool nested, freed_others;
};

static void nest_dispatch(struct wake *w, uint32_t events, void *data)
{
	struct nest *n = data;
	char c;

	(void)events;
	for (size_t i = 0; i < n->nfreed; i++)
		if (n->freed[i] == w) {
			n->bad_calls++;
			return;
		}
	n->calls++;
	n->depth++;
	(void)!read(w->fd, &c, 1); /* a watcher seen in both batches finds its pipe drained */
	if (n->depth == 1 && !n->nested) {
		n->nested = true;
		n->outer = w;
		n->inner_polls = reactor_poll(n->r, 0);
	} else if (n->depth == 2 && !n->freed_others) {
		n->freed_others = true;
		for (int i = 0; i < NNEST; i++) {
			if (&n->o[i]->wake == w || &n->o[i]->wake == n->outer)
				continue;
			n->freed[n->nfreed++] = &n->o[i]->wake;
			owner_free(n->r, n->o[i]);
			n->o[i] = NULL;
		}
	}
	n->depth--;
}

SC_TEST(watcher_freed_in_a_nested_batch_is_skipped_by_the_outer_one)
{
	struct nest n = { 0 };

	n.r = reactor_new();
	assert_non_null(n.r);
	reactor_set_dispatch(n.r, WAKE_CHILD_PIPE, nest_dispatch, &n);
	for (int i = 0; i < NNEST; i++)
		n.o[i] = owner_new(n.r);
	assert_true(reactor_poll(n.r, 1000) >= 1);
	assert_true(n.nested);
	assert_true(n.freed_others); /* the inner batch held the other watchers */
	assert_int_equal(n.nfreed, NNEST - 2);
	assert_int_equal(n.bad_calls, 0);
	assert_int_equal(reactor_nregistered(n.r), 2);
	for (int i = 0; i < NNEST; i++)
		if (n.o[i])
			owner_free(n.r, n.o[i]);
	assert_int_equal(reactor_nregistered(n.r), 0);
	reactor_free(n.r);
}
