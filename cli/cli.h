/*
 * cli.h: the command table and the pieces the commands share.
 */
#pragma once

#include <stdbool.h>

struct sbuf;

struct cli_cmd {
	const char *name;
	const char *summary;
	int (*run)(int argc, char **argv);
};

extern const struct cli_cmd cmd_install;
extern const struct cli_cmd cmd_cache;
extern const struct cli_cmd cmd_index;

/* Exit codes. */
enum {
	CLI_OK = 0,
	CLI_FAILED = 1, /* the operation failed (details printed) */
	CLI_USAGE = 2,
};

/* $SCINT_CACHE, else $XDG_CACHE_HOME/scint, else ~/.cache/scint (malloc'd). */
char *cli_cache_root(void);
/* The Ruby helper: $SCINT_HELPER, else next to the binary (installed or build tree). */
char *cli_helper_path(void);
/* Colour only on a terminal and without NO_COLOR. */
bool cli_color(int fd);
void cli_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void cli_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
