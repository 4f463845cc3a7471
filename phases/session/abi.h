/*
 * abi.h: loading the target Ruby's facts (see abi.c).
 */
#pragma once

#include "phases/phase.h"

/*
 * Finds the target Ruby (in->ruby_exe) and fills in->abi from the facts cache
 * under the cache root, or asks the Ruby helper once. Returns 0, or a
 * negative error with a message in err.
 */
int abi_load(struct install *in, struct sbuf *err);
/* `ruby` ($SCINT_RUBY, else on PATH) as abi_load finds it: an arena path, or NULL. */
const char *abi_which_ruby(struct arena *a);
