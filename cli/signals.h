/* signals.h: interrupting an install cleanly (see signals.c). */
#pragma once

struct child_mgr;
struct reactor;
struct sched;

/*
 * Blocks SIGINT/SIGTERM/SIGHUP and watches them through the reactor: the run
 * is canceled and every child (builds, the Ruby helper) killed.
 */
int signals_watch(struct reactor *r, struct sched *s, struct child_mgr *children);
/* The first signal received (0: none). */
int signals_received(void);
void signals_release(struct reactor *r);
