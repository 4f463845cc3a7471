/*
 * install.h: one `scint install` session (see install.c).
 */
#pragma once

#include "phases/phase.h"

/* Reads the lockfile and config and creates the engine (reactor, children...); in->opts must be set. */
int install_setup(struct install *in, struct sbuf *err);
/*
 * Then fills in everything install_run needs: the target Ruby and the
 * Gemfile (which may run the Ruby helper: watch for interrupts before).
 */
int install_prepare(struct install *in, struct sbuf *err);
/* Plans and runs the install. Returns 0 or the first error (details on the jobs). */
int install_run(struct install *in, struct sbuf *err);
/* Frees the session (NULL-safe fields). */
void install_release(struct install *in);
