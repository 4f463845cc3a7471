/*
 * env.h: environment variables scint keeps to itself.
 *
 * Settings that hold secrets (the remote cache's keys, token and
 * credentials) must not reach the programs scint starts: a gem's extconf.rb,
 * make, the Ruby helper that evaluates gemspecs, git. env_hide() moves every
 * variable whose name starts with a prefix out of the process environment
 * into a private table, once, before anything is spawned, and blanks the
 * value's bytes where they were (/proc/<pid>/environ shows the initial
 * environment's memory, whatever unsetenv did); env_get() reads that table
 * first, then the environment.
 */
#pragma once

/* Moves NAME=VALUE variables whose NAME starts with prefix out of environ. */
void env_hide(const char *prefix);
/* The hidden value of name, else getenv(name). */
const char *env_get(const char *name);
