/*
 * cmd_index.c: `scint index sync [--source URL]... [--local|--prefer-local]
 * [--cache DIR] [--list] GEM...`: brings the cache's copy of the compact
 * index of each source up to date for the gems named and their
 * dependencies (phases/index_sync.h), and says what it did. Resolution
 * (`scint lock`) runs the same sync; this command is for looking at it.
 *
 * Output: per source one line "<url>: <n> names (<absent> absent), <requests>
 * requests: <304> not modified, <206> appended, <200> whole, <unchanged>
 * unchanged by MD5" (and mirror counts when a mirror was used); --list adds
 * one line per name: "<name> present|absent[ fetched]".
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/arena.h"
#include "base/err.h"
#include "base/sbuf.h"
#include "base/trace.h"
#include "base/url.h"
#include "bundle/config.h"
#include "cli/cli.h"
#include "engine/ioq.h"
#include "phases/index_sync.h"

extern char **environ;

static void index_usage(FILE *f)
{
	fprintf(f,
		"usage: scint index sync [options] GEM...\n"
		"\n"
		"Updates the cache's copy of the compact index (versions, info/<gem>) for the\n"
		"gems named and everything they depend on, as resolution does.\n"
		"\n"
		"  --source URL       the gem source (required; repeatable)\n"
		"  --local            read the cache only: no request at all\n"
		"  --prefer-local     use cached files; fetch only the names not cached\n"
		"  --cache DIR        the cache root (default: SCINT_CACHE, XDG_CACHE_HOME/scint)\n"
		"  --list             print every name of the closure\n"
		"  -v, --verbose      libcurl's verbose output\n");
}

static int index_sync_cmd(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "source", required_argument, NULL, 's' },
		{ "local", no_argument, NULL, 'l' },
		{ "prefer-local", no_argument, NULL, 'p' },
		{ "cache", required_argument, NULL, 'c' },
		{ "list", no_argument, NULL, 'L' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct index_sync_opts o = { .mode = INDEX_SYNC_NETWORK };
	const char **sources = NULL;
	size_t nsources = 0;
	bool list = false;
	char *cache = NULL;
	int c, rc = CLI_FAILED, r;
	struct arena a;
	struct bconfig config;
	struct sbuf err = SBUF_INIT;
	struct index_sync *s = NULL;
	char cwd[4096];

	arena_init(&a);
	optind = 1;
	while ((c = getopt_long(argc, argv, "vh", longopts, NULL)) != -1) {
		switch (c) {
		case 's':
			sources = realloc(sources, (nsources + 1) * sizeof(*sources));
			sources[nsources++] = optarg;
			break;
		case 'l':
			o.mode = INDEX_SYNC_LOCAL;
			break;
		case 'p':
			o.mode = INDEX_SYNC_PREFER_LOCAL;
			break;
		case 'c':
			free(cache);
			cache = strdup(optarg);
			break;
		case 'L':
			list = true;
			break;
		case 'v':
			o.verbose = true;
			break;
		case 'h':
			index_usage(stdout);
			rc = CLI_OK;
			goto out;
		default:
			index_usage(stderr);
			rc = CLI_USAGE;
			goto out;
		}
	}
	if (optind >= argc) {
		index_usage(stderr);
		rc = CLI_USAGE;
		goto out;
	}
	if (!nsources) {
		cli_error("scint index sync needs a --source URL");
		rc = CLI_USAGE;
		goto out;
	}
	if (!cache)
		cache = cli_cache_root();
	if (!getcwd(cwd, sizeof(cwd)))
		snprintf(cwd, sizeof(cwd), ".");
	r = bconfig_load(&config, &a, arena_printf(&a, "%s/.bundle", cwd), getenv("HOME"), environ,
			 &err);
	if (r < 0) {
		cli_error("%s", err.buf);
		goto out;
	}
	const char *tr = getenv("SCINT_TRACE");
	if (tr && *tr && (r = trace_open(tr)) < 0)
		cli_warn("cannot open the trace %s: %s", tr, sc_strerror(r));
	const char *uring = getenv("SCINT_IO_URING");
	o.io_backend = uring && uring[0] == '0' ? IOQ_BACKEND_SYNC : IOQ_BACKEND_AUTO;
	o.cache_root = cache;
	o.config = &config;
	if ((r = index_sync_new(&o, &s, &err)) < 0) {
		cli_error("%s", err.buf);
		goto out;
	}
	int *ids = arena_alloc(&a, nsources * sizeof(*ids));
	for (size_t i = 0; i < nsources; i++) {
		ids[i] = index_sync_add_source(s, sources[i], &err);
		if (ids[i] < 0) {
			cli_error("%s", err.buf);
			goto out;
		}
		for (int k = optind; k < argc; k++) {
			if (index_sync_want(s, ids[i], argv[k], &err) < 0) {
				cli_error("%s", err.buf);
				rc = CLI_USAGE;
				goto out;
			}
		}
	}
	r = index_sync_run(s, &err);
	struct index_sync_stats st;
	index_sync_get_stats(s, &st);
	for (size_t i = 0; i < nsources; i++) {
		size_t n, absent = 0;
		const struct index_sync_info *const *names = index_sync_names(s, ids[i], &n);
		struct sbuf red = SBUF_INIT;
		for (size_t k = 0; k < n; k++)
			absent += !names[k]->present;
		url_redact(sources[i], &red);
		printf("%s: %zu names (%zu absent)\n", red.buf, n, absent);
		sbuf_release(&red);
		if (list)
			for (size_t k = 0; k < n; k++)
				printf("  %s %s%s\n", names[k]->name,
				       names[k]->present ? "present" : "absent",
				       names[k]->fetched ? " fetched" : "");
	}
	printf("%u requests: %u not modified, %u appended, %u whole, %u refetched whole; "
	       "%u unchanged by MD5; %llu bytes",
	       st.requests, st.not_modified, st.partial, st.full, st.refetched, st.unchanged,
	       (unsigned long long)st.bytes);
	if (st.from_mirror || st.fell_back)
		printf("; %u from a mirror, %u fell back to the source", st.from_mirror,
		       st.fell_back);
	printf("\n");
	if (r < 0) {
		cli_error("%s", err.buf);
		goto out;
	}
	rc = CLI_OK;
out:
	index_sync_free(s);
	trace_close();
	free(sources);
	free(cache);
	sbuf_release(&err);
	arena_release(&a);
	return rc;
}

static int index_run(int argc, char **argv)
{
	if (argc < 2 || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
		index_usage(argc < 2 ? stderr : stdout);
		return argc < 2 ? CLI_USAGE : CLI_OK;
	}
	if (!strcmp(argv[1], "sync"))
		return index_sync_cmd(argc - 1, argv + 1);
	cli_error("unknown index command '%s'", argv[1]);
	index_usage(stderr);
	return CLI_USAGE;
}

const struct cli_cmd cmd_index = {
	.name = "index",
	.summary = "sync the compact index cache (debugging)",
	.run = index_run,
};
