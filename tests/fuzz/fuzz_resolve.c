/*
 * fuzz_resolve.c: the resolver on a hostile index. The input is an index in
 * the form "<pkg> <version> <dep>:<reqs>;<dep>:<reqs>" per line (pkg and dep
 * are single letters, so the fuzzer builds deep graphs quickly) whose first
 * line is the root's dependencies in the same "dep:reqs;..." form. Whatever
 * it holds, resolve_run must return (within its step limit), and a solution
 * must satisfy every requirement it used.
 *
 * FUZZ_OPTIONS: -max_len=4096
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base/arena.h"
#include "base/sbuf.h"
#include "base/strv.h"
#include "bundle/requirement.h"
#include "bundle/resolve.h"
#include "bundle/version.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FZ_LINES 64
#define FZ_DEPS 8

struct fz_line {
	char pkg[2];
	char *version;
	struct resolve_dep deps[FZ_DEPS];
	size_t ndeps;
};

struct fz {
	struct arena *a;
	struct fz_line lines[FZ_LINES];
	size_t n;
};

static size_t fz_deps(struct arena *a, char *s, struct resolve_dep *ret)
{
	size_t n = 0;

	for (char *tok = strtok(s, ";"); tok && n < FZ_DEPS; tok = strtok(NULL, ";")) {
		char *c = strchr(tok, ':');
		if (!c || c == tok)
			continue;
		*c++ = '\0';
		ret[n++] = (struct resolve_dep){ arena_strndup(a, tok, 1), c, NULL };
	}
	return n;
}

static int fz_cmp(const void *x, const void *y)
{
	const struct resolve_version *a = x, *b = y;

	return version_cmp(strv_from(a->version), strv_from(b->version));
}

static int fz_fetch(void *data, const char *name, struct resolve_pkg_info *ret, struct sbuf *err)
{
	struct fz *f = data;
	struct resolve_version *v = arena_alloc(f->a, (f->n + 1) * sizeof(*v));
	size_t n = 0;

	(void)err;
	for (size_t i = 0; i < f->n; i++) {
		if (strcmp(f->lines[i].pkg, name))
			continue;
		bool dup = false;
		for (size_t k = 0; k < n && !dup; k++)
			dup = version_cmp(strv_from(v[k].version), strv_from(f->lines[i].version)) == 0;
		if (!dup)
			v[n++] = (struct resolve_version){ f->lines[i].version, f->lines[i].deps,
							   f->lines[i].ndeps };
	}
	qsort(v, n, sizeof(*v), fz_cmp);
	*ret = (struct resolve_pkg_info){ .versions = v, .nversions = n, .missing = !n };
	return 0;
}

/* Does version of the picked package satisfy reqs (when it parses)? */
static void fz_check(const struct resolve_result *res, const struct resolve_dep *d)
{
	const char *v = resolve_result_version(res, d->name);
	struct requirement r[16];
	int n = requirement_parse_list(strv_from(d->reqs), ',', r, 16);

	if (!v)
		abort(); /* every dependency of a solution is picked */
	if (n >= 0 && !requirement_list_satisfied(r, (size_t)n, strv_from(v)))
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct arena a;
	struct fz f = { .a = &a };
	struct resolve_dep roots[FZ_DEPS];
	size_t nroots = 0;
	struct resolve_result res;
	struct sbuf err = SBUF_INIT;
	struct resolve_limits lim = { .max_packages = 40, .max_versions = 64, .max_steps = 20000 };

	arena_init(&a);
	char *text = arena_strndup(&a, (const char *)data, size);
	char *save = NULL;
	bool first = true;
	for (char *line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		if (first) {
			nroots = fz_deps(&a, line, roots);
			first = false;
			continue;
		}
		char *sp = strchr(line, ' ');
		if (!sp || sp == line || f.n >= FZ_LINES)
			continue;
		*sp++ = '\0';
		char *deps = strchr(sp, ' ');
		if (deps)
			*deps++ = '\0';
		if (!version_valid(strv_from(sp)) || strlen(sp) > 32)
			continue;
		struct fz_line *l = &f.lines[f.n++];
		l->pkg[0] = line[0];
		l->version = sp;
		l->ndeps = deps ? fz_deps(&a, deps, l->deps) : 0;
	}
	int r = resolve_run(&a, "Gemfile", roots, nroots, fz_fetch, &f, &lim, &res, &err);
	if (r == 0) {
		for (size_t i = 0; i < nroots; i++)
			fz_check(&res, &roots[i]);
		for (size_t i = 0; i < res.npicks; i++) {
			/* the first line of the picked version is the one fz_fetch used */
			size_t k = 0;
			while (k < f.n && (strcmp(f.lines[k].pkg, res.picks[i].name) ||
					   version_cmp(strv_from(f.lines[k].version),
						       strv_from(res.picks[i].version))))
				k++;
			if (k == f.n)
				abort();
			for (size_t d = 0; d < f.lines[k].ndeps; d++)
				if (strcmp(f.lines[k].deps[d].name, res.picks[i].name))
					fz_check(&res, &f.lines[k].deps[d]);
		}
	} else if (!err.len) {
		abort(); /* every failure says why */
	}
	sbuf_release(&err);
	arena_release(&a);
	return 0;
}
