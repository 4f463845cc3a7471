/*
 * abi.h: loading the target Ruby's facts (see abi.c).
 */
#pragma once

#include "phases/phase.h"

/*
 * Fills abi for the Ruby scint targets, from the facts cache under
 * cache_root or by running the helper once. Returns 0, or a negative error
 * with a message in err.
 */
int abi_load(struct arena *a, const char *cache_root, const char *helper, struct ruby_abi *abi,
	     struct sbuf *err);

/*
 * Runs argv to completion (before the reactor starts: nothing else to do),
 * capturing its stdout into out; stderr passes through. Returns the exit
 * status (128 + signal) or -errno when it cannot start. Traced.
 */
int abi_run_capture(const char *const *argv, struct sbuf *out);
