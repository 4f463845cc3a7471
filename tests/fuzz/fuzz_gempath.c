/*
 * fuzz_gempath.c: the entry-name and symlink rules of a gem's data.tar.gz
 * (bundle/gempath.h) on arbitrary names, targets and chains of links.
 *
 * The input is split at '\n' into records. The first record is an entry
 * name for gempath_clean; every later pair "<link name>\n<target>" is a
 * symlink the gem creates, kept only when gempath_clean and
 * gempath_link_inside accept it, and then resolved with gempath_resolve
 * through the links kept so far, as assembly does.
 *
 * Invariants (abort on violation):
 *   - a cleaned name (other than the root) is itself clean: cleaning it again
 *     returns it unchanged,
 *     and it has no "..", "." or empty component, no leading '/', no control
 *     character, and fits GEMPATH_MAX;
 *   - a resolved path has no "..", "." or empty component, no leading '/' and
 *     no control character (it names something inside the gem), whatever
 *     chain of accepted links led to it.
 *
 * FUZZ_OPTIONS: -max_len=8192
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "bundle/gempath.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define LINKS_MAX 16

struct links {
	size_t n;
	char path[LINKS_MAX][GEMPATH_MAX + 1];
	char target[LINKS_MAX][GEMPATH_MAX + 1];
};

static const char *links_find(const char *path, size_t len, void *data)
{
	const struct links *l = data;

	for (size_t i = l->n; i-- > 0;)
		if (strlen(l->path[i]) == len && !memcmp(l->path[i], path, len))
			return l->target[i];
	return NULL;
}

/*
 * p[0..len) is a gem-relative path as gempath_clean promises it. A resolved
 * path (names_only) may hold a component longer than NAME_MAX taken from a
 * link target: the kernel refuses to follow it, so only the containment
 * rules matter there.
 */
static void check_clean(const char *p, size_t len, bool names_only)
{
	if (len > GEMPATH_MAX || memchr(p, '\0', len))
		abort();
	if (len && (p[0] == '/' || p[len - 1] == '/'))
		abort();
	for (size_t i = 0; i < len; i++)
		if ((unsigned char)p[i] < 0x20 || p[i] == 0x7f)
			abort();
	size_t start = 0;
	for (size_t i = 0; i <= len; i++) {
		if (i < len && p[i] != '/')
			continue;
		size_t n = i - start;
		if (len && (n == 0 || (n == 1 && p[start] == '.') ||
			    (n == 2 && p[start] == '.' && p[start + 1] == '.')))
			abort();
		if (!names_only && n > GEMPATH_NAME_MAX)
			abort();
		start = i + 1;
	}
}

static int clean(const char *name, size_t len, char *out)
{
	const char *why = NULL;
	int n = gempath_clean(name, len, out, GEMPATH_MAX + 1, &why);

	if (n < 0) {
		if (!why)
			abort();
		return -1;
	}
	check_clean(out, (size_t)n, false);
	if (n == 0) /* the gem root ("." or "./"): nothing to clean again */
		return 0;
	char again[GEMPATH_MAX + 1];
	int m = gempath_clean(out, (size_t)n, again, sizeof(again), &why);
	if (m != n || memcmp(again, out, (size_t)n))
		abort();
	return n;
}

/* The next '\n'-terminated record of [*p, end) (the last may be unterminated). */
static bool next_record(const char **p, const char *end, const char **rec, size_t *len)
{
	if (*p >= end)
		return false;
	const char *nl = memchr(*p, '\n', (size_t)(end - *p));
	*rec = *p;
	*len = nl ? (size_t)(nl - *p) : (size_t)(end - *p);
	*p = nl ? nl + 1 : end;
	return true;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct links links;
	static char path[GEMPATH_MAX + 1], target[GEMPATH_MAX + 1], dir[GEMPATH_MAX + 1];
	static char resolved[GEMPATH_MAX + 1];
	const char *p = (const char *)data, *end = p + size, *rec, *trec;
	size_t len, tlen;
	const char *why;

	links.n = 0;
	if (!next_record(&p, end, &rec, &len))
		return 0;
	(void)clean(rec, len, path);

	while (links.n < LINKS_MAX && next_record(&p, end, &rec, &len) &&
	       next_record(&p, end, &trec, &tlen)) {
		int n = clean(rec, len, path);
		if (n <= 0 || tlen > GEMPATH_MAX || memchr(trec, '\0', tlen))
			continue;
		memcpy(target, trec, tlen);
		target[tlen] = '\0';
		why = NULL;
		if (!gempath_link_inside(path, target, tlen, &why)) {
			if (!why)
				abort();
			continue;
		}
		/* The link's directory, as assembly passes it. */
		const char *slash = strrchr(path, '/');
		size_t dlen = slash ? (size_t)(slash - path) : 0;
		memcpy(dir, path, dlen);
		dir[dlen] = '\0';
		why = NULL;
		int r = gempath_resolve(dir, target, links_find, &links, resolved, sizeof(resolved),
					&why);
		if (r < 0) {
			if (!why)
				abort();
			continue;
		}
		check_clean(resolved, (size_t)r, true);
		memcpy(links.path[links.n], path, (size_t)n + 1);
		memcpy(links.target[links.n], target, tlen + 1);
		links.n++;
	}
	return 0;
}
