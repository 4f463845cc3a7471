/*
 * cmd_lock.c: `scint lock` and `scint update`: resolve the Gemfile
 * (phases/lock.c) and write Gemfile.lock as Bundler does, replaced
 * atomically and only when its content changes. A conflict prints the
 * resolver's explanation, exits 1 and leaves the lockfile untouched.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/err.h"
#include "bundle/config.h"
#include "cli/cli.h"
#include "cli/signals.h"
#include "engine/ioq.h"
#include "phases/session/abi.h"
#include "phases/session/install.h"

extern char **environ;

static void lock_usage(FILE *f, bool update)
{
	if (update)
		fprintf(f,
			"usage: scint update [GEMS...] [options]\n"
			"\n"
			"Updates GEMS (and what they depend on) to the newest versions the "
			"Gemfile\n"
			"allows, or every gem when none is named, writes Gemfile.lock and "
			"installs\n"
			"(as `scint install`).\n"
			"\n"
			"      --conservative     do not update the dependencies of GEMS\n"
			"      --patch|--minor|--major  prefer updates of this level (default "
			"major)\n"
			"      --strict           never go beyond the level\n"
			"      --pre              consider prereleases first\n"
			"      --group G          update the gems of group G\n"
			"      --no-install       only write Gemfile.lock\n"
			"      --gemfile FILE     use FILE and FILE.lock\n"
			"      --cache DIR        the cache root (its copy of the compact index is "
			"used)\n"
			"      --local            resolve from the cached index only, no request\n"
			"      --prefer-local     go to the server only for what the cache lacks\n"
			"      --cooldown N       skip versions published less than N days ago\n"
			"                         (BUNDLE_COOLDOWN; locked versions are exempt)\n");
	else
		fprintf(f,
			"usage: scint lock [options]\n"
			"\n"
			"Resolves the Gemfile and writes Gemfile.lock, keeping locked versions\n"
			"unless the Gemfile no longer allows them.\n"
			"\n"
			"      --update [GEMS]    unlock GEMS (comma or space separated), or every "
			"gem\n"
			"      --add-platform P   add platform P to PLATFORMS (repeatable)\n"
			"      --remove-platform P\n"
			"      --print            print the lockfile instead of writing it\n"
			"      --lockfile F       read and write F\n"
			"      --patch|--minor|--major, --strict, --conservative, --pre  as for "
			"update\n"
			"      --gemfile FILE     use FILE and FILE.lock\n"
			"      --cache DIR        the cache root (its copy of the compact index is "
			"used)\n"
			"      --local            resolve from the cached index only, no request\n"
			"      --prefer-local     go to the server only for what the cache lacks\n"
			"      --cooldown N       skip versions published less than N days ago\n"
			"                         (BUNDLE_COOLDOWN; locked versions are exempt)\n");
}

static void lock_push(struct arena *a, const char ***arr, size_t *n, const char *s)
{
	/* "a,b c" gives a, b and c */
	for (const char *p = s; *p;) {
		size_t k = strcspn(p, ", ");
		if (k) {
			const char **x = arena_alloc(a, (*n + 1) * sizeof(*x));
			if (*n)
				memcpy(x, *arr, *n * sizeof(*x));
			x[(*n)++] = arena_strndup(a, p, k);
			*arr = x;
		}
		p += k;
		p += strspn(p, ", ");
	}
}

static int lock_main_common(int argc, char **argv, bool update)
{
	static const struct option longopts[] = {
		{ "update", no_argument, NULL, 'u' },
		{ "add-platform", required_argument, NULL, 'A' },
		{ "remove-platform", required_argument, NULL, 'R' },
		{ "print", no_argument, NULL, 'p' },
		{ "lockfile", required_argument, NULL, 'l' },
		{ "local", no_argument, NULL, 'o' },
		{ "prefer-local", no_argument, NULL, 'O' },
		{ "cooldown", required_argument, NULL, 'D' },
		{ "no-install", no_argument, NULL, 'N' },
		{ "conservative", no_argument, NULL, 'c' },
		{ "patch", no_argument, NULL, '1' },
		{ "minor", no_argument, NULL, '2' },
		{ "major", no_argument, NULL, '3' },
		{ "strict", no_argument, NULL, 's' },
		{ "pre", no_argument, NULL, 'P' },
		{ "group", required_argument, NULL, 'g' },
		{ "all", no_argument, NULL, 'a' },
		CLI_OPTION_GEMFILE,
		CLI_OPTION_CACHE,
		CLI_OPTION_VERBOSE,
		CLI_OPTION_QUIET,
		CLI_OPTION_HELP,
		{ NULL, 0, NULL, 0 },
	};
	struct install in = { 0 };
	struct install_opts *o = &in.opts;
	struct lock_request req = { .level = 'M', .cooldown_days = -1 };
	struct cli_common co = { 0 };
	const char *lockfile = NULL;
	struct sbuf err = SBUF_INIT, text = SBUF_INIT;
	bool print = false, lock_update = false, no_install = false;
	int c, r, rc = CLI_FAILED;

	arena_init(&in.arena);
	while ((c = getopt_long(argc, argv, "vqh", longopts, NULL)) != -1) {
		switch (c) {
		case 'u':
			lock_update = true;
			break;
		case 'A':
			lock_push(&in.arena, &req.add_platforms, &req.nadd_platforms, optarg);
			break;
		case 'R':
			lock_push(&in.arena, &req.remove_platforms, &req.nremove_platforms, optarg);
			break;
		case 'p':
			print = true;
			break;
		case 'l':
			lockfile = optarg;
			break;
		case 'o':
			req.index_mode = 1;
			break;
		case 'O':
			req.index_mode = 2;
			break;
		case 'N':
			no_install = true;
			break;
		case 'D': {
			char *end;
			req.cooldown_days = strtol(optarg, &end, 10);
			if (*end || req.cooldown_days < 0 || req.cooldown_days > 100000) {
				cli_error("--cooldown takes a number of days (0 to 100000)");
				arena_release(&in.arena);
				return CLI_USAGE;
			}
			break;
		}
		case 'c':
			req.conservative = true;
			break;
		case '1':
			req.level = 'p';
			break;
		case '2':
			req.level = 'm';
			break;
		case '3':
			req.level = 'M';
			break;
		case 's':
			req.strict = true;
			break;
		case 'P':
			req.pre = true;
			break;
		case 'g':
			lock_push(&in.arena, &req.groups, &req.ngroups, optarg);
			break;
		case 'a':
			req.update_all = true;
			break;
		case 'h':
			lock_usage(stdout, update);
			arena_release(&in.arena);
			return CLI_OK;
		default:
			if (cli_common_option(&co, c, optarg))
				break;
			lock_usage(stderr, update);
			arena_release(&in.arena);
			return CLI_USAGE;
		}
	}
	o->verbose = co.verbose;
	if (update || lock_update) {
		for (int i = optind; i < argc; i++)
			lock_push(&in.arena, &req.update, &req.nupdate, argv[i]);
		if (!req.nupdate && !req.ngroups)
			req.update_all = true;
	} else if (optind < argc) {
		cli_error("unexpected argument '%s'", argv[optind]);
		arena_release(&in.arena);
		return CLI_USAGE;
	}
	const char *uring = getenv("SCINT_IO_URING");
	o->io_backend = uring && uring[0] == '0' ? IOQ_BACKEND_SYNC : IOQ_BACKEND_AUTO;
	o->jobs = 1;
	o->may_resolve = true;
	if (cli_find_gemfile(&in.arena, co.gemfile, o) < 0)
		goto out;
	if (lockfile) {
		char cwd[4096];
		o->lockfile =
			cli_abs_path(&in.arena, getcwd(cwd, sizeof(cwd)) ? cwd : ".", lockfile);
	}
	r = cli_open_config(&in, NULL, co.cache, &err);
	if (r < 0) {
		cli_error("%s", err.buf);
		goto out;
	}

	if ((r = cli_engine_start(&in)) < 0)
		goto out;
	/* `update GEM` names gems of the lockfile, as Bundler checks. */
	for (size_t i = 0; i < req.nupdate; i++) {
		bool found = false;
		for (size_t s = 0; s < in.lock.nsources && !found; s++)
			for (size_t k = 0; k < in.lock.sources[s].nspecs && !found; k++)
				found = !strcmp(in.lock.sources[s].specs[k].name, req.update[i]);
		if (!found) {
			cli_error("Could not find gem '%s'.", req.update[i]);
			goto out;
		}
	}
	r = abi_load(&in, &err);
	if (r == 0)
		r = lock_resolve(&in, &req, &text, &err);
	if (r < 0) {
		if (signals_received())
			cli_error("interrupted: the lockfile was not changed");
		else
			cli_error("%s", err.len ? err.buf : sc_strerror(r));
		goto out;
	}
	if (print) {
		fwrite(text.buf ? text.buf : "", 1, text.len, stdout);
		rc = CLI_OK;
		goto out;
	}
	bool changed;
	r = lock_write(&in, &text, &changed, &err);
	if (r < 0) {
		cli_error("%s", err.buf);
		goto out;
	}
	if (!co.quiet && !update)
		printf("%s %s\n", changed ? "Writing lockfile to" : "The lockfile is up to date:",
		       o->lockfile);
	rc = CLI_OK;
	if (update && !no_install) {
		/* `bundle update` installs what it locked: so does this, with a new session */
		char *gf = strdup(o->gemfile), *cr = co.cache ? strdup(o->cache_root) : NULL;
		char *iargv[8];
		int iargc = 0;
		iargv[iargc++] = (char[]){ "install" };
		iargv[iargc++] = (char[]){ "--gemfile" };
		iargv[iargc++] = gf;
		if (cr) {
			iargv[iargc++] = (char[]){ "--cache" };
			iargv[iargc++] = cr;
		}
		if (co.quiet)
			iargv[iargc++] = (char[]){ "--quiet" };
		iargv[iargc] = NULL;
		signals_release(in.reactor);
		install_release(&in);
		sbuf_release(&err);
		sbuf_release(&text);
		optind = 0; /* getopt_long starts over */
		rc = gf ? cmd_install.run(iargc, iargv) : CLI_FAILED;
		free(gf);
		free(cr);
		return rc;
	}
out:
	signals_release(in.reactor);
	install_release(&in);
	sbuf_release(&err);
	sbuf_release(&text);
	return rc;
}

static int lock_main(int argc, char **argv)
{
	return lock_main_common(argc, argv, false);
}

static int update_main(int argc, char **argv)
{
	return lock_main_common(argc, argv, true);
}

const struct cli_cmd cmd_lock = {
	.name = "lock",
	.summary = "resolve the Gemfile and write Gemfile.lock",
	.run = lock_main,
};

const struct cli_cmd cmd_update = {
	.name = "update",
	.summary = "update gems to the newest versions the Gemfile allows",
	.run = update_main,
};
