/*
 * cli.h: the command table and the pieces the commands share.
 */
#pragma once

#include <stdbool.h>

struct arena;
struct install_opts;
struct sbuf;

struct cli_cmd {
	const char *name;
	const char *summary;
	int (*run)(int argc, char **argv);
};

extern const struct cli_cmd cmd_install;
extern const struct cli_cmd cmd_cache;
extern const struct cli_cmd cmd_lock;
extern const struct cli_cmd cmd_update;
extern const struct cli_cmd cmd_outdated;
extern const struct cli_cmd cmd_index;
extern const struct cli_cmd cmd_check;
extern const struct cli_cmd cmd_list;
extern const struct cli_cmd cmd_info;
extern const struct cli_cmd cmd_clean;
extern const struct cli_cmd cmd_binstubs;
extern const struct cli_cmd cmd_add;
extern const struct cli_cmd cmd_remove;
extern const struct cli_cmd cmd_exec;

/* Exit codes. */
enum {
	CLI_OK = 0,
	CLI_FAILED = 1, /* the operation failed (details printed) */
	CLI_USAGE = 2,
};

struct arena;
struct install;
struct install_opts;

/* p made absolute against base ("~/" is $HOME), in the arena. */
char *cli_abs_path(struct arena *a, const char *base, const char *p);
/*
 * Bundler's Gemfile search (cmd_install.c): opt (--gemfile), else
 * BUNDLE_GEMFILE, else Gemfile or gems.rb upward from the working directory;
 * sets o->gemfile, o->app_dir and o->lockfile (<gemfile>.lock; gems.locked
 * for gems.rb). Prints the error.
 */
int cli_find_gemfile(struct arena *a, const char *opt, struct install_opts *o);
/*
 * The read-only session of check, list, info, clean, binstubs (cmd_bundle.c):
 * Gemfile, config, lockfile, target Ruby, the Gemfile's evaluation (cached;
 * Ruby only when it is not) and the plan, with nothing written to the bundle
 * (install_opts.readonly). Prints the error; returns 0, or -SC_ELOCKFILE and
 * the like (*ret_stage: 1 before the lockfile was read, 2 after).
 */
int cli_bundle_open(struct install *in, const char *gemfile, int *ret_stage);

/* $SCINT_CACHE, else $XDG_CACHE_HOME/scint, else ~/.cache/scint (malloc'd). */
char *cli_cache_root(void);
/* The Ruby helper: $SCINT_HELPER, else next to the binary (installed or build tree). */
char *cli_helper_path(void);
/* Colour only on a terminal and without NO_COLOR. */
bool cli_color(int fd);
void cli_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void cli_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/*
 * Options several commands take with the same name, argument and meaning
 * (options.c): --gemfile FILE, --cache DIR, --verbose (-v), --quiet (-q).
 * A command lists the CLI_OPTION_* entries it takes in its getopt_long table
 * and hands each answer its own cases do not know to cli_common_option,
 * which records it in co and returns true, or returns false (not one of
 * them: the command prints its usage). -v and -q come back from getopt_long
 * as 'v' and 'q', so a command that gives a letter another meaning (add's
 * -v VERSION) handles it before. Help, usage and messages stay each command's.
 */
enum {
	CLI_OPT_GEMFILE = 0x100, /* above every short option's letter */
	CLI_OPT_CACHE,
};
/* clang-format off */
#define CLI_OPTION_GEMFILE { "gemfile", required_argument, NULL, CLI_OPT_GEMFILE }
#define CLI_OPTION_CACHE   { "cache", required_argument, NULL, CLI_OPT_CACHE }
#define CLI_OPTION_VERBOSE { "verbose", no_argument, NULL, 'v' }
#define CLI_OPTION_QUIET   { "quiet", no_argument, NULL, 'q' }
#define CLI_OPTION_HELP	   { "help", no_argument, NULL, 'h' }
/* clang-format on */

struct cli_common {
	const char *gemfile; /* --gemfile, else NULL */
	const char *cache;   /* --cache, else NULL */
	bool verbose, quiet;
};

bool cli_common_option(struct cli_common *co, int c, const char *arg);

/*
 * After cli_find_gemfile: Bundler's config, the bundle path (path_opt, else
 * BUNDLE_PATH, else .bundle), the cache root (cache_opt, else
 * cli_cache_root()) and the Ruby helper's path (cmd_install.c).
 */
int cli_open_config(struct install *in, const char *path_opt, const char *cache_opt,
		    struct sbuf *err);
/* Shares the cache, sets up the engine, watches signals; prints what failed. 0 or -errno. */
int cli_engine_start(struct install *in);
/*
 * `scint install` with these arguments (argv[0] is "install"), refusing to
 * fetch or build anything: what `scint exec` runs to rebuild the runtime lock.
 */
int cli_install_local(int argc, char **argv);
/* `scint cache push [GEMS] [install options]`: an install that also uploads cached native entries. */
int cli_install_push(int argc, char **argv);
/*
 * `scint cache pull [GEMS] [options]` and `scint cache list --remote
 * [options]`: install-shaped runs that fill the cache from the remote (no
 * build, no bundle path) or ask it for the entries' index objects.
 */
int cli_install_pull(int argc, char **argv);
int cli_install_list_remote(int argc, char **argv);
/* What a pull or list --remote run found (cmd_cache.c); returns the exit code. */
int cli_cache_remote_report(struct install *in, int r, double secs);
