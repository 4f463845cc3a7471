/*
 * cmd_cache.c: `scint cache dir|list|clear`.
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

static int cache_clear(const char *root)
{
	int cfd = fs_open_dir(root);

	if (cfd == -ENOENT)
		return CLI_OK;
	if (cfd < 0) {
		cli_error("cannot open the cache %s: %s", root, sc_strerror(cfd));
		return CLI_FAILED;
	}
	int lfd = openat(cfd, ".lock", O_RDWR | O_CREAT | O_CLOEXEC, 0644);
	if (lfd < 0 || flock(lfd, LOCK_EX | LOCK_NB) < 0) {
		cli_error("the cache %s is in use by another scint process; try again later", root);
		close(cfd);
		if (lfd >= 0)
			close(lfd);
		return CLI_FAILED;
	}
	static const char *const parts[] = { "inbound", "assembling", "cached", "index", "locks",
					     "rubies" };
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

static int cache_main(int argc, char **argv)
{
	char *root = cli_cache_root();
	int rc;

	if (argc < 2 || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
		printf("usage: scint cache dir|list|clear\n\n"
		       "  dir    print the cache root\n"
		       "  list   list the cached gems per Ruby ABI\n"
		       "  clear  remove everything in the cache\n");
		free(root);
		return argc < 2 ? CLI_USAGE : CLI_OK;
	}
	if (!strcmp(argv[1], "dir")) {
		printf("%s\n", root);
		rc = CLI_OK;
	} else if (!strcmp(argv[1], "list")) {
		rc = cache_list(root);
	} else if (!strcmp(argv[1], "clear")) {
		rc = cache_clear(root);
	} else {
		cli_error("unknown cache command '%s' (dir, list, clear)", argv[1]);
		rc = CLI_USAGE;
	}
	free(root);
	return rc;
}

const struct cli_cmd cmd_cache = {
	.name = "cache",
	.summary = "show, list or clear the global cache (dir, list, clear)",
	.run = cache_main,
};
