/*
 * gemfile_cmds.h: the Gemfile edit of `scint add` / `scint remove`
 * (cmd_gemfile.c), callable on its own so that a lock can follow it.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>

struct gemfile_edit {
	bool add;		 /* add (else remove) */
	const char *const *gems; /* names as given (checked before use) */
	size_t ngems;
	const char *const *reqs; /* add: requirement strings ("~> 1.0") */
	size_t nreqs;
	const char *const *groups; /* add: group names; none: the default group */
	size_t ngroups;
	const char *const *known; /* remove: the lock's dependencies (no other may go), or NULL */
	size_t nknown;
};

/*
 * Reads the Gemfile, applies the edit as Bundler's Injector does and writes
 * it back (atomically, same mode). Prints Bundler's messages and errors.
 * Returns CLI_OK or the exit status Bundler uses for the failure (4 for a
 * gem the Gemfile does not have, 15 for a bad option or a removal that would
 * take another of `known` with it: then nothing is written).
 */
int gemfile_edit_apply(const char *gemfile, const struct gemfile_edit *e);
