/*
 * cmd_cache.c: `scint cache dir|list [--remote]|clear|verify [--repair]|push
 * [GEMS]|pull [GEMS]` (push is an install that also uploads cached entries;
 * pull and list --remote are install-shaped runs on the cache only, all in
 * cmd_install.c; their report is here: cli_cache_remote_report).
 *
 * verify runs the full check of phases/session/cache.h on every entry of every ABI
 * (every file's SHA-256 against its manifest) and exits non-zero when one is
 * damaged; --repair moves the damaged ones to quarantine/ (the next install
 * rebuilds them), holding the cache's exclusive lock like clear.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

#include "base/arena.h"
#include "base/err.h"
#include "base/sbuf.h"
#include "bundle/manifest.h"
#include "cli/cli.h"
#include "fsops/fsops.h"
#include "phases/session/cache.h"
#include "phases/remote.h"

static int cache_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Names in dir matching suffix (sorted); returns the count, names malloc'd. */
static size_t cache_names(const char *dir, const char *suffix, char ***ret)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	size_t n = 0, cap = 0, sl = strlen(suffix);
	char **v = NULL;

	*ret = NULL;
	if (!d)
		return 0;
	while ((de = readdir(d))) {
		size_t len = strlen(de->d_name);
		if (de->d_name[0] == '.' || len < sl || strcmp(de->d_name + len - sl, suffix))
			continue;
		if (n == cap) {
			cap = cap ? cap * 2 : 64;
			v = realloc(v, cap * sizeof(*v));
		}
		v[n++] = strndup(de->d_name, len - sl);
	}
	closedir(d);
	if (n)
		qsort(v, n, sizeof(*v), cache_cmp);
	*ret = v;
	return n;
}

static void cache_free_names(char **v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

static int cache_list(const char *root)
{
	char path[4096];
	char **abis, **entries;
	size_t nabi, total = 0;

	snprintf(path, sizeof(path), "%s/cached", root);
	nabi = cache_names(path, "", &abis);
	for (size_t i = 0; i < nabi; i++) {
		snprintf(path, sizeof(path), "%s/cached/%s", root, abis[i]);
		size_t n = cache_names(path, ".manifest", &entries);
		for (size_t k = 0; k < n; k++) {
			struct sbuf text = SBUF_INIT;
			struct arena a;
			struct manifest m;
			char file[4200];
			arena_init(&a);
			snprintf(file, sizeof(file), "%s/%s.manifest", path, entries[k]);
			bool ok = fs_read_file(file, &text, 64u << 20) == 0 &&
				  manifest_parse(&a, sbuf_strv(&text), &m, NULL) == 0;
			if (ok)
				printf("%s\t%s\t%zu files\t%llu bytes%s\n", abis[i], entries[k],
				       m.nfiles, (unsigned long long)m.total_bytes,
				       m.has_ext ? "\tnative" : "");
			else
				printf("%s\t%s\tcorrupt manifest\n", abis[i], entries[k]);
			sbuf_release(&text);
			arena_release(&a);
			total++;
		}
		cache_free_names(entries, n);
	}
	cache_free_names(abis, nabi);
	if (!total)
		fprintf(stderr, "the cache at %s holds no gems\n", root);
	return CLI_OK;
}

/* The cache's exclusive lock (installs hold it shared): -1 when busy or failing. */
static int cache_lock_exclusive(int cfd, const char *root)
{
	int lfd = openat(cfd, ".lock", O_RDWR | O_CREAT | O_CLOEXEC, 0644);

	if (lfd < 0 || flock(lfd, LOCK_EX | LOCK_NB) < 0) {
		cli_error("the cache %s is in use by another scint process; try again later", root);
		if (lfd >= 0)
			close(lfd);
		return -1;
	}
	return lfd;
}

static int cache_clear(const char *root)
{
	int cfd = fs_open_dir(root);

	if (cfd == -ENOENT)
		return CLI_OK;
	if (cfd < 0) {
		cli_error("cannot open the cache %s: %s", root, sc_strerror(cfd));
		return CLI_FAILED;
	}
	int lfd = cache_lock_exclusive(cfd, root);
	if (lfd < 0) {
		close(cfd);
		return CLI_FAILED;
	}
	static const char *const parts[] = { "inbound", "assembling", "cached", "index", "locks",
					     "rubies", "quarantine" };
	int r = 0;
	for (size_t i = 0; i < sizeof(parts) / sizeof(parts[0]); i++) {
		int k = fs_rmtree_at(cfd, parts[i]);
		if (k < 0 && !r) {
			cli_error("cannot remove %s/%s: %s", root, parts[i], sc_strerror(k));
			r = k;
		}
	}
	close(lfd);
	close(cfd);
	if (r == 0)
		printf("cleared %s\n", root);
	return r ? CLI_FAILED : CLI_OK;
}


#define VERIFY_LINES_MAX 5

static int cache_verify(const char *root, bool repair)
{
	char path[4096];
	char **abis, **entries;
	size_t nabi, total = 0, damaged = 0, repaired = 0, files = 0;
	unsigned long long bytes = 0;
	int cfd = fs_open_dir(root), lfd = -1, rc = CLI_OK;

	if (cfd == -ENOENT) {
		fprintf(stderr, "the cache at %s holds no gems\n", root);
		return CLI_OK;
	}
	if (cfd < 0) {
		cli_error("cannot open the cache %s: %s", root, sc_strerror(cfd));
		return CLI_FAILED;
	}
	if (repair && (lfd = cache_lock_exclusive(cfd, root)) < 0) {
		close(cfd);
		return CLI_FAILED;
	}
	snprintf(path, sizeof(path), "%s/cached", root);
	nabi = cache_names(path, "", &abis);
	for (size_t i = 0; i < nabi; i++) {
		snprintf(path, sizeof(path), "%s/cached/%s", root, abis[i]);
		int afd = fs_open_dir(path);
		if (afd < 0)
			continue;
		size_t n = cache_names(path, ".manifest", &entries);
		for (size_t k = 0; k < n; k++) {
			struct sbuf text = SBUF_INIT, problems = SBUF_INIT;
			struct arena a;
			struct manifest m;
			unsigned nproblems;
			char file[4200];
			arena_init(&a);
			total++;
			snprintf(file, sizeof(file), "%s.manifest", entries[k]);
			int r = fs_read_fileat(afd, file, &text, 64u << 20);
			if (r == 0)
				r = manifest_parse(&a, sbuf_strv(&text), &m, &problems);
			/* A git checkout's entry is "<repo>-<rev12>": its side file lists its gems. */
			struct sbuf side = SBUF_INIT;
			snprintf(file, sizeof(file), "%s.gemspec", entries[k]);
			bool git = fs_read_fileat(afd, file, &side, 64u << 20) == 0 &&
				   side.len > 16 && !memcmp(side.buf, "scint-gitspecs 1", 16);
			sbuf_release(&side);
			if (r == 0 && (strcmp(m.abi, abis[i]) ||
				       (!git && strncmp(entries[k], m.full_name, strlen(m.full_name))))) {
				sbuf_addf(&problems, "the manifest is for %s (%s)", m.full_name, m.abi);
				r = -SC_ECACHE;
			}
			if (r < 0) {
				if (!problems.len)
					sbuf_addstr(&problems, sc_strerror(r));
				sbuf_addch(&problems, '\n');
				nproblems = 1;
			} else {
				nproblems = cache_check_full(afd, entries[k], &m, &problems,
							     VERIFY_LINES_MAX, &bytes);
				files += m.nfiles;
			}
			if (nproblems) {
				damaged++;
				printf("damaged: %s/%s (%u problem%s)\n", abis[i], entries[k], nproblems,
				       nproblems == 1 ? "" : "s");
				struct strv rest = sbuf_strv(&problems), line;
				while (strv_next_line(&rest, &line))
					printf("  %.*s\n", (int)line.len, line.p);
				if (nproblems > VERIFY_LINES_MAX)
					printf("  ... and %u more\n", nproblems - VERIFY_LINES_MAX);
				if (repair) {
					struct sbuf q = SBUF_INIT;
					sbuf_addf(&problems, "found by scint cache verify\n");
					r = cache_quarantine(cfd, afd, abis[i], entries[k], problems.buf, &q);
					if (r < 0) {
						cli_error("cannot quarantine %s/%s: %s", abis[i], entries[k],
							  sc_strerror(r));
						rc = CLI_FAILED;
					} else {
						repaired++;
						printf("  moved to %s/%s: the next scint install rebuilds it\n",
						       root, q.buf);
					}
					sbuf_release(&q);
				}
			}
			sbuf_release(&text);
			sbuf_release(&problems);
			arena_release(&a);
		}
		cache_free_names(entries, n);
		close(afd);
	}
	cache_free_names(abis, nabi);
	printf("checked %zu cache entr%s (%zu files, %llu bytes): %zu damaged%s\n", total,
	       total == 1 ? "y" : "ies", files, bytes, damaged,
	       repair && damaged ? (repaired == damaged ? ", all quarantined" : ", not all quarantined")
				 : "");
	if (lfd >= 0)
		close(lfd);
	close(cfd);
	if (damaged && !(repair && repaired == damaged))
		rc = CLI_FAILED;
	return rc;
}

/* A gem `scint cache pull|list --remote` looked at: of a GEM source, named (or all named). */
static bool cache_remote_gem(const struct install *in, const struct gem *g)
{
	if (g->plan != PLAN_FETCH && g->plan != PLAN_ASSEMBLE && g->plan != PLAN_MATERIALIZE)
		return false;
	return plan_named(in, g);
}

static void cache_remote_warnings(struct install *in)
{
	for (const char *w = in->remote_warnings.buf, *e; w && *w; w = e + 1) {
		if (!(e = strchr(w, '\n')))
			break;
		cli_warn("%.*s", (int)(e - w), w);
	}
}

/* Prints the run's failed jobs (not those that only followed another's failure); their count. */
static unsigned cache_remote_failures(struct install *in)
{
	unsigned failed = 0;
	size_t n;
	struct job *const *jobs = sched_jobs(in->sched, &n);

	for (size_t i = 0; i < n; i++) {
		const struct job *j = jobs[i];
		if (j->state != JOB_FAILED || j->err == -SC_EDEPFAILED || j->err == -SC_ECANCELED)
			continue;
		failed++;
		cli_error("%s", j->errmsg.len ? j->errmsg.buf : sc_strerror(j->err));
	}
	return failed;
}

/* `scint cache list --remote`: one line per gem with extensions (or with an entry). */
static int cache_list_remote_report(struct install *in, int r)
{
	unsigned unknown = 0, hits = 0, misses = 0, refused = 0;
	unsigned failed = cache_remote_failures(in);

	for (size_t i = 0; i < in->ngems; i++) {
		const struct gem *g = in->gems[i];
		if (!cache_remote_gem(in, g))
			continue;
		bool native = g->manifest && g->manifest->has_ext;
		if (g->remote_listed) {
			hits++;
			printf("%s\thit\t%llu bytes\t%s\n", g->full_name,
			       (unsigned long long)g->remote_size, g->remote_sig);
		} else if (g->remote_refused) {
			refused++;
			printf("%s\trefused (%s)\n", g->full_name, g->remote_refused);
		} else if (g->remote_miss && native) {
			misses++;
			printf("%s\tmiss\n", g->full_name);
		} else if (g->remote_miss && !g->manifest) {
			unknown++; /* not cached here: whether it has extensions is not known */
		} else if (!g->remote_miss && !remote_unusable(in)) {
			printf("%s\tnot asked (its .gem checksum is unknown)\n", g->full_name);
		}
	}
	cache_remote_warnings(in);
	if (remote_unusable(in)) {
		cli_error("the remote cache could not be listed");
		return CLI_FAILED;
	}
	printf("Remote cache: %u hits, %u misses, %u refused", hits, misses, refused);
	if (unknown)
		printf("; %u more gem%s not cached here %s no entry (without extensions, or not "
		       "built yet)",
		       unknown, unknown == 1 ? "" : "s", unknown == 1 ? "has" : "have");
	printf("\n");
	return r == 0 && !failed ? CLI_OK : CLI_FAILED;
}

/* `scint cache pull`: what each gem with extensions got, then one summary line. */
static int cache_pull_report(struct install *in, int r, double secs)
{
	unsigned hits = 0, missing = 0, refused = 0, cached = 0, pure = 0;
	unsigned failed = cache_remote_failures(in);
	for (size_t i = 0; i < in->ngems; i++) {
		const struct gem *g = in->gems[i];
		if (!cache_remote_gem(in, g))
			continue;
		if (g->plan == PLAN_MATERIALIZE && !g->remote_hit && !g->unpacked) {
			cached++;
		} else if (g->remote_hit && g->promoted) {
			hits++;
			printf("Pulled %s\n", g->full_name);
		} else if (g->remote_unbuilt && g->remote_refused) {
			refused++;
			printf("Refused %s (%s): not built\n", g->full_name, g->remote_refused);
		} else if (g->remote_unbuilt) {
			missing++;
			printf("Missing %s: %s; not built\n", g->full_name,
			       g->remote_miss ? "not on the remote"
			       : remote_unusable(in)
				       ? "the remote cache could not be asked"
				       : "its checksum was not known to ask the remote");
		} else if (g->promoted) {
			pure++;
		}
	}
	for (size_t i = 0; i < in->opts.npush_only; i++) {
		bool found = false;
		for (size_t k = 0; k < in->ngems && !found; k++)
			found = !strcmp(in->opts.push_only[i], in->gems[k]->name) ||
				!strcmp(in->opts.push_only[i], in->gems[k]->full_name);
		if (!found) {
			cli_error("%s is not a gem of %s", in->opts.push_only[i],
				  in->opts.lockfile);
			failed++;
		}
	}
	cache_remote_warnings(in);
	if (remote_unusable(in)) {
		/* A transfer failed (the warning says which): not the same as a miss. */
		cli_error("the remote cache failed: not everything it has was pulled");
		failed++;
	}
	printf("Remote cache: %u hits, %u missing, %u refused, %u already cached, %u without "
	       "extensions cached; %.1f KiB down in %.2fs\n",
	       hits, missing, refused, cached, pure, (double)in->stats.remote_bytes_down / 1024.0,
	       secs);
	return r == 0 && !failed ? CLI_OK : CLI_FAILED;
}

int cli_cache_remote_report(struct install *in, int r, double secs)
{
	if (in->opts.remote_list)
		return cache_list_remote_report(in, r);
	return cache_pull_report(in, r, secs);
}

static int cache_main(int argc, char **argv)
{
	char *root = cli_cache_root();
	int rc;

	if (argc < 2 || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
		printf("usage: scint cache dir|list [--remote]|clear|verify [--repair]|push [GEMS]|"
		       "pull [GEMS]\n\n"
		       "  dir     print the cache root\n"
		       "  list    list the cached gems per Ruby ABI. --remote: for the bundle's\n"
		       "          gems with extensions, whether SCINT_REMOTE_CACHE has an entry\n"
		       "          for this Ruby (hit, miss or refused, with its size and\n"
		       "          signature kind); only the small index objects are read\n"
		       "  clear   remove everything in the cache\n"
		       "  verify  check every cached file against its manifest's digest; exits\n"
		       "          non-zero when an entry is damaged. --repair moves damaged\n"
		       "          entries to quarantine/ so that the next install rebuilds them\n"
		       "  push    install (as scint install, same options), then upload the\n"
		       "          bundle's compiled entries (of GEMS, or all) to "
		       "SCINT_REMOTE_CACHE\n"
		       "  pull    fill the cache from SCINT_REMOTE_CACHE for the bundle's locked\n"
		       "          gems (GEMS, or all), verified as an install verifies them;\n"
		       "          compiles nothing and leaves the bundle path alone (takes\n"
		       "          --gemfile, --cache, --jobs, --remote-cache read|write)\n");
		free(root);
		return argc < 2 ? CLI_USAGE : CLI_OK;
	}
	if (!strcmp(argv[1], "push")) {
		free(root);
		return cli_install_push(argc - 1, argv + 1);
	}
	if (!strcmp(argv[1], "pull")) {
		free(root);
		return cli_install_pull(argc - 1, argv + 1);
	}
	if (!strcmp(argv[1], "list") && argc >= 3 && !strcmp(argv[2], "--remote")) {
		/* argv[2] stands in for the command name getopt skips. */
		free(root);
		return cli_install_list_remote(argc - 2, argv + 2);
	}
	if (!strcmp(argv[1], "dir")) {
		printf("%s\n", root);
		rc = CLI_OK;
	} else if (!strcmp(argv[1], "list")) {
		rc = cache_list(root);
	} else if (!strcmp(argv[1], "clear")) {
		rc = cache_clear(root);
	} else if (!strcmp(argv[1], "verify") &&
		   (argc == 2 || (argc == 3 && !strcmp(argv[2], "--repair")))) {
		rc = cache_verify(root, argc == 3);
	} else if (!strcmp(argv[1], "verify")) {
		cli_error("usage: scint cache verify [--repair]");
		rc = CLI_USAGE;
	} else {
		cli_error("unknown cache command '%s' (dir, list, clear, verify, push, pull)",
			  argv[1]);
		rc = CLI_USAGE;
	}
	free(root);
	return rc;
}

const struct cli_cmd cmd_cache = {
	.name = "cache",
	.summary =
		"show, list, verify or clear the global cache, or push/pull it to/from the remote",
	.run = cache_main,
};
