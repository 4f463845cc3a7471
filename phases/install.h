/*
 * install.h: one `scint install` session (see install.c).
 */
#pragma once

#include "phases/phase.h"

/* Fills in everything install_run needs; in->opts must be set. */
int install_setup(struct install *in, struct sbuf *err);
/* Plans and runs the install. Returns 0 or the first error (details on the jobs). */
int install_run(struct install *in, struct sbuf *err);
/* Frees the session (NULL-safe fields). */
void install_release(struct install *in);
