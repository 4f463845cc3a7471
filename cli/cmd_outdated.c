/*
 * cmd_outdated.c: `scint outdated [GEMS]`, Bundler 2.3.15's `bundle
 * outdated`: the locked gems that have a newer version, as a table (Gem,
 * Current, Latest, Requested, Groups) or one line each with --parseable,
 * exit 1 when one is listed and 0 otherwise. The index is synced and the
 * bundle resolved with the gems unlocked exactly as `scint lock --update`
 * does (phases/lock.c, which also reads what the index lists for each
 * gem); bundle/outdated.h decides and formats. Nothing is written. When
 * the Gemfile changed since the lockfile, the current gems are the
 * lockfile's brought up to date first (as Bundler's definition resolves).
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/err.h"
#include "bundle/config.h"
#include "bundle/outdated.h"
#include "cli/cli.h"
#include "cli/signals.h"
#include "engine/ioq.h"
#include "phases/session/abi.h"
#include "phases/session/install.h"

/* Bundler's exit statuses (Bundler::BundlerError#status_code). */
enum {
	OUTDATED_GEM_NOT_FOUND = 7,
	OUTDATED_INVALID_OPTION = 15,
	OUTDATED_PRODUCTION = 16,
};

static const char outdated_help[] =
	"usage: scint outdated [GEMS...] [options]\n"
	"\n"
	"Lists the locked gems that have a newer version, as `bundle outdated` does\n"
	"(exit 1 when one is listed, 0 otherwise). Prereleases are left out unless\n"
	"--pre or the locked version is one.\n"
	"\n"
	"      --local            use the cached index only, no request\n"
	"      --pre              count prereleases\n"
	"      --group G          only gems of group G\n"
	"      --groups           gems by group\n"
	"      --parseable, --porcelain  one line per gem\n"
	"      --only-explicit    only gems the Gemfile names\n"
	"      --patch|--minor|--major  resolve preferring updates of this level and\n"
	"                         show the resolved version (not the newest one)\n"
	"      --strict           with a level: never go beyond it\n"
	"      --filter-strict    show the resolved version, as the Gemfile allows\n"
	"      --filter-major|--filter-minor|--filter-patch  only updates of this kind\n"
	"      --gemfile FILE     use FILE and FILE.lock\n"
	"      --cache DIR        the cache root\n";

static int outdated_main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "local", no_argument, NULL, 'o' },
		{ "pre", no_argument, NULL, 'P' },
		{ "group", required_argument, NULL, 'g' },
		{ "groups", no_argument, NULL, 'G' },
		{ "parseable", no_argument, NULL, 'p' },
		{ "porcelain", no_argument, NULL, 'p' },
		{ "only-explicit", no_argument, NULL, 'x' },
		{ "patch", no_argument, NULL, '1' },
		{ "minor", no_argument, NULL, '2' },
		{ "major", no_argument, NULL, '3' },
		{ "strict", no_argument, NULL, 's' },
		{ "update-strict", no_argument, NULL, 's' },
		{ "filter-strict", no_argument, NULL, 'S' },
		{ "filter-major", no_argument, NULL, 'M' },
		{ "filter-minor", no_argument, NULL, 'm' },
		{ "filter-patch", no_argument, NULL, 'n' },
		CLI_OPTION_GEMFILE,
		CLI_OPTION_CACHE,
		CLI_OPTION_HELP,
		{ NULL, 0, NULL, 0 },
	};
	struct install in = { 0 };
	struct install_opts *o = &in.opts;
	struct lock_request req = { .level = 'M', .cooldown_days = -1, .keep_git = true };
	struct lock_outdated od = { 0 };
	struct outdated_opts oo = { 0 };
	struct cli_common co = { 0 };
	bool levels[3] = { false }, filter_strict = false;
	struct sbuf err = SBUF_INIT, text = SBUF_INIT, out = SBUF_INIT;
	int c, r, rc = CLI_FAILED;

	arena_init(&in.arena);
	while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		switch (c) {
		case 'o':
			req.index_mode = 1;
			break;
		case 'P':
			oo.pre = req.pre = true;
			break;
		case 'g':
			oo.group = optarg;
			break;
		case 'G':
			oo.groups = true;
			break;
		case 'p':
			oo.parseable = true;
			break;
		case 'x':
			oo.only_explicit = true;
			break;
		case '1':
		case '2':
		case '3':
			levels[c - '1'] = true;
			break;
		case 's':
			req.strict = true;
			break;
		case 'S':
			filter_strict = req.strict = true;
			break;
		case 'M':
		case 'm':
		case 'n': {
			const char *f = c == 'M' ? "major" : c == 'm' ? "minor" : "patch";
			bool seen = false;
			for (size_t i = 0; i < oo.nfilters; i++)
				seen |= !strcmp(oo.filters[i], f);
			if (!seen)
				oo.filters[oo.nfilters++] = f;
			break;
		}
		case 'h':
			fputs(outdated_help, stdout);
			arena_release(&in.arena);
			return CLI_OK;
		default:
			if (cli_common_option(&co, c, optarg))
				break;
			fputs(outdated_help, stderr);
			arena_release(&in.arena);
			return CLI_USAGE;
		}
	}
	/* Bundler's configure_gem_version_promoter: one level at most */
	static const char *const level_name[3] = { "patch", "minor", "major" };
	size_t nlevels = levels[0] + levels[1] + levels[2];
	if (nlevels > 1) {
		fprintf(stderr, "Provide only one of the following options: ");
		for (int i = 2, k = 0; i >= 0; i--)
			if (levels[i])
				fprintf(stderr, "%s%s", k++ ? ", " : "", level_name[i]);
		fputc('\n', stderr);
		arena_release(&in.arena);
		return OUTDATED_INVALID_OPTION;
	}
	req.level = levels[0] ? 'p' : levels[1] ? 'm' : 'M';
	/* the patch level options imply strict (Bundler's words) */
	oo.strict = filter_strict || nlevels;
	oo.gems = (const char *const *)argv + optind;
	oo.ngems = (size_t)(argc - optind);

	const char *uring = getenv("SCINT_IO_URING");
	o->io_backend = uring && uring[0] == '0' ? IOQ_BACKEND_SYNC : IOQ_BACKEND_AUTO;
	o->jobs = 1;
	o->may_resolve = true;
	if (cli_find_gemfile(&in.arena, co.gemfile, o) < 0)
		goto out;
	r = cli_open_config(&in, NULL, co.cache, &err);
	if (r < 0) {
		cli_error("%s", err.buf);
		goto out;
	}
	if ((r = cli_engine_start(&in)) < 0)
		goto out;
	for (int k = 0; k < 2; k++) {
		const char *key = k ? "BUNDLE_DEPLOYMENT" : "BUNDLE_FROZEN";
		const char *v = bconfig_get(in.config, key);
		if (v && (!strcmp(v, "true") || !strcmp(v, "1"))) {
			fprintf(stderr,
				"You are trying to check outdated gems in deployment mode. Run "
				"`bundle outdated` elsewhere.\n\nIf this is a development machine, "
				"remove the %s freeze\nby running `bundle config unset %s`.\n",
				o->gemfile, k ? "deployment" : "frozen");
			rc = OUTDATED_PRODUCTION;
			goto out;
		}
	}
	if (in.lock_missing) {
		cli_error("%s is missing: run `scint lock` first", o->lockfile);
		goto out;
	}
	/* GEMS name gems of the lockfile (Bundler's select_spec) */
	for (size_t i = 0; i < oo.ngems; i++) {
		bool found = false;
		for (size_t s = 0; s < in.lock.nsources && !found; s++)
			for (size_t k = 0; k < in.lock.sources[s].nspecs && !found; k++)
				found = !strcmp(in.lock.sources[s].specs[k].name, oo.gems[i]);
		if (!found) {
			fprintf(stderr, "Could not find gem '%s'.\n", oo.gems[i]);
			rc = OUTDATED_GEM_NOT_FOUND;
			goto out;
		}
		req.update = arena_grow_array(&in.arena, req.update, sizeof(*req.update),
					      req.nupdate, &(size_t){ req.nupdate });
		req.update[req.nupdate++] = oo.gems[i];
	}
	req.update_all = !oo.ngems;
	req.outdated = &od;
	r = abi_load(&in, &err);
	/*
	 * A Gemfile changed since the lockfile: the current gems are those of
	 * the lockfile brought up to date (only what changed moves), and
	 * Bundler's lookup of GEMS says it resolved.
	 */
	const struct lockfile *cur = &in.lock;
	struct lockfile relocked = { 0 };
	bool stale = false;
	int gc = r == 0 ? gemfile_check(&in, &err) : 0;
	if (gc < 0 && in.gemfile_stale) {
		struct lock_request creq = { .level = 'M',
					     .cooldown_days = -1,
					     .keep_git = true,
					     .index_mode = req.index_mode };
		struct sbuf ctext = SBUF_INIT;
		sbuf_reset(&err);
		stale = true;
		r = lock_resolve(&in, &creq, &ctext, &err);
		if (r == 0)
			r = lockfile_parse(&in.arena, sbuf_strv(&ctext), &relocked, &err);
		sbuf_release(&ctext);
		cur = &relocked;
	} else if (gc < 0) {
		r = gc;
	}
	if (r == 0)
		r = lock_resolve(&in, &req, &text, &err);
	if (r < 0) {
		if (signals_received())
			cli_error("interrupted");
		else
			cli_error("%s", err.len ? err.buf : sc_strerror(r));
		goto out;
	}
	struct lockfile next = { 0 };
	if ((r = lockfile_parse(&in.arena, sbuf_strv(&text), &next, &err)) < 0) {
		cli_error("the new resolution does not parse: %s", err.buf);
		goto out;
	}
	const struct gemfile *gf = &in.gemfile;
	struct outdated_dep *deps = arena_alloc(&in.arena, (gf->ndeps + 1) * sizeof(*deps));
	for (size_t i = 0; i < gf->ndeps; i++) {
		struct sbuf g = SBUF_INIT;
		for (size_t j = 0; j < gf->deps[i].ngroups; j++)
			sbuf_addf(&g, "%s%s", j ? ", " : "", gf->deps[i].groups[j]);
		deps[i] = (struct outdated_dep){ gf->deps[i].name,
						 *gf->deps[i].reqs ? gf->deps[i].reqs : ">= 0",
						 arena_strdup(&in.arena, sbuf_cstr(&g)) };
		sbuf_release(&g);
	}
	struct outdated_row *rows;
	size_t nrows = outdated_rows(&in.arena, cur, &next, od.avail, od.navail, deps, gf->ndeps,
				     &oo, &rows);
	if (stale && oo.ngems)
		sbuf_addstr(&out, "Resolving dependencies...\n");
	/* what Bundler prints while it resolves (silenced with --parseable) */
	if (!oo.parseable) {
		for (size_t i = 0; req.index_mode != 1 && i < od.nremotes; i++) {
			sbuf_addf(&out, "Fetching gem metadata from %s", od.remotes[i]);
			for (unsigned d = 0; d < od.rounds[i]; d++)
				sbuf_addch(&out, '.');
			sbuf_addch(&out, '\n');
		}
		sbuf_addstr(&out, "Resolving dependencies...\n");
	}
	sbuf_addch(&out, '\n');
	outdated_format(rows, nrows, &oo, &out);
	fwrite(out.buf, 1, out.len, stdout);
	rc = nrows ? CLI_FAILED : CLI_OK;
out:
	signals_release(in.reactor);
	install_release(&in);
	sbuf_release(&err);
	sbuf_release(&text);
	sbuf_release(&out);
	return rc;
}

const struct cli_cmd cmd_outdated = {
	.name = "outdated",
	.summary = "list the gems that have newer versions",
	.run = outdated_main,
};
