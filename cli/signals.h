/* signals.h: interrupting an install cleanly (see signals.c). */
#pragma once

struct reactor;
struct sched;

/* Blocks SIGINT/SIGTERM/SIGHUP and watches them through the reactor. */
int signals_watch(struct reactor *r, struct sched *s);
/* The first signal received (0: none). */
int signals_received(void);
void signals_release(struct reactor *r);
