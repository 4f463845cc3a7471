/*
 * test_resolve.c: the PubGrub resolver on small hand-made indexes, including
 * the backtracking and conflict cases of pub's solver.md, and the
 * GemVersionPromoter order.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/arena.h"
#include "base/err.h"
#include "base/sbuf.h"
#include "bundle/resolve.h"
#include "sc_test.h"

/*
 * An index as text: one line per version, "name version dep:req;dep:req",
 * ascending per name. Requirements use ", " between parts as the lockfile.
 */
struct fake {
	struct arena *a;
	const char *const *lines;
	size_t nlines;
	size_t fetches;
	const char *prefer_name, *prefer_version; /* tried first if set */
};

static int fake_fetch(void *data, const char *name, struct resolve_pkg_info *ret, struct sbuf *err)
{
	struct fake *f = data;
	struct resolve_version *v = arena_alloc(f->a, (f->nlines + 1) * sizeof(*v));
	size_t n = 0;

	(void)err;
	f->fetches++;
	for (size_t i = 0; i < f->nlines; i++) {
		char *line = arena_strdup(f->a, f->lines[i]);
		char *sp = strchr(line, ' ');
		*sp = '\0';
		if (strcmp(line, name))
			continue;
		char *ver = sp + 1, *deps = strchr(ver, ' ');
		struct resolve_dep *d = arena_alloc(f->a, 8 * sizeof(*d));
		size_t nd = 0;
		if (deps) {
			*deps++ = '\0';
			for (char *tok = strtok(deps, ";"); tok && nd < 8; tok = strtok(NULL, ";")) {
				char *c = strchr(tok, ':');
				if (c)
					*c++ = '\0';
				d[nd++] = (struct resolve_dep){ tok, c ? c : "", NULL };
			}
		}
		v[n++] = (struct resolve_version){ ver, d, nd };
	}
	ret->versions = v;
	ret->nversions = n;
	ret->missing = n == 0;
	if (f->prefer_name && !strcmp(name, f->prefer_name)) {
		size_t *pref = arena_alloc(f->a, (n + 1) * sizeof(*pref)), k = 0;
		for (size_t i = 0; i < n; i++)
			if (!strcmp(v[i].version, f->prefer_version))
				pref[k++] = i;
		for (size_t i = n; i-- > 0;)
			if (strcmp(v[i].version, f->prefer_version))
				pref[k++] = i;
		ret->pref = pref;
		ret->npref = k;
	}
	return 0;
}

/* Resolves and renders "a 1.0, b 2.0" (or the error). */
static int solve(const char *const *lines, size_t n, const struct resolve_dep *roots, size_t nroots,
		 struct sbuf *out)
{
	struct arena a;
	struct resolve_result res;
	struct fake f = { .a = &a, .lines = lines, .nlines = n };

	arena_init(&a);
	int r = resolve_run(&a, "Gemfile", roots, nroots, fake_fetch, &f, NULL, &res, out);
	if (r == 0)
		for (size_t i = 0; i < res.npicks; i++)
			sbuf_addf(out, "%s%s %s", i ? ", " : "", res.picks[i].name,
				  res.picks[i].version);
	arena_release(&a);
	return r;
}

SC_TEST(resolve_picks_highest_and_follows_deps)
{
	static const char *const idx[] = {
		"a 1.0.0 b:~> 1.0", "a 1.1.0 b:~> 1.1", "a 2.0.0.beta1", "b 1.0.0", "b 1.1.5",
		"b 2.0.0", "c 0.1",
	};
	const struct resolve_dep roots[] = { { "a", "", NULL }, { "c", ">= 0", NULL } };
	struct sbuf out = SBUF_INIT;

	assert_int_equal(solve(idx, 7, roots, 2, &out), 0);
	assert_string_equal(out.buf, "a 1.1.0, b 1.1.5, c 0.1");
	sbuf_release(&out);
}

SC_TEST(resolve_prerelease_only_when_named)
{
	static const char *const idx[] = { "a 1.0.0", "a 2.0.0.beta1" };
	const struct resolve_dep pre[] = { { "a", ">= 2.0.0.a", NULL } };
	const struct resolve_dep any[] = { { "a", "", NULL } };
	struct sbuf out = SBUF_INIT;

	assert_int_equal(solve(idx, 2, pre, 1, &out), 0);
	assert_string_equal(out.buf, "a 2.0.0.beta1");
	sbuf_reset(&out);
	assert_int_equal(solve(idx, 2, any, 1, &out), 0);
	assert_string_equal(out.buf, "a 1.0.0");
	sbuf_release(&out);
}

/* solver.md: "avoiding conflict during decision making". */
SC_TEST(resolve_avoids_conflict_in_decision)
{
	static const char *const idx[] = {
		"bar 1.0.0 baz:1.0.0", "bar 2.0.0 baz:2.0.0", "baz 1.0.0", "baz 2.0.0",
		"foo 1.0.0", "foo 1.1.0 bar:~> 2.0",
	};
	const struct resolve_dep roots[] = { { "foo", "~> 1.0", NULL }, { "baz", "~> 1.0", NULL } };
	struct sbuf out = SBUF_INIT;

	assert_int_equal(solve(idx, 6, roots, 2, &out), 0);
	assert_string_equal(out.buf, "baz 1.0.0, foo 1.0.0");
	sbuf_release(&out);
}

/* solver.md: "performing conflict resolution" (foo 1.1 depends on a missing-version gem). */
SC_TEST(resolve_conflict_resolution_backtracks)
{
	static const char *const idx[] = {
		"foo 1.0.0", "foo 2.0.0 bar:1.0.0", "bar 1.0.0 foo:1.0.0",
	};
	const struct resolve_dep roots[] = { { "foo", ">= 1.0.0", NULL } };
	struct sbuf out = SBUF_INIT;

	assert_int_equal(solve(idx, 3, roots, 1, &out), 0);
	assert_string_equal(out.buf, "foo 1.0.0");
	sbuf_release(&out);
}

/* solver.md: "conflict resolution with a partial satisfier". */
SC_TEST(resolve_partial_satisfier)
{
	static const char *const idx[] = {
		"foo 1.0.0", "foo 1.1.0 left:~> 1.0;right:~> 1.0", "left 1.0.0 shared:>= 1.0.0",
		"right 1.0.0 shared:< 2.0.0", "shared 1.0.0 target:~> 1.0", "shared 2.0.0",
		"target 1.0.0", "target 2.0.0",
	};
	const struct resolve_dep roots[] = { { "foo", "~> 1.0", NULL }, { "target", "~> 2.0", NULL } };
	struct sbuf out = SBUF_INIT;

	assert_int_equal(solve(idx, 8, roots, 2, &out), 0);
	assert_string_equal(out.buf, "foo 1.0.0, target 2.0.0");
	sbuf_release(&out);
}

/* Deep backtracking: the newest a needs a c that nothing else allows. */
SC_TEST(resolve_backtracks_through_versions)
{
	static const char *const idx[] = {
		"a 1.0 c:= 1.0", "a 2.0 c:= 2.0", "a 3.0 c:= 3.0", "b 1.0 c:< 2.0", "c 1.0",
		"c 2.0", "c 3.0",
	};
	const struct resolve_dep roots[] = { { "a", "", NULL }, { "b", "", NULL } };
	struct sbuf out = SBUF_INIT;

	assert_int_equal(solve(idx, 7, roots, 2, &out), 0);
	assert_string_equal(out.buf, "a 1.0, b 1.0, c 1.0");
	sbuf_release(&out);
}

/* A conflict names both requirements of the Gemfile in PubGrub's words. */
SC_TEST(resolve_conflict_is_explained)
{
	static const char *const idx[] = { "a 1.0 shared:~> 1.0", "b 1.0 shared:~> 2.0",
					   "shared 1.0", "shared 2.0" };
	const struct resolve_dep roots[] = { { "a", "= 1.0", "Gemfile:3" }, { "b", "~> 1.0", NULL } };
	struct sbuf out = SBUF_INIT;

	assert_int_equal(solve(idx, 4, roots, 2, &out), -SC_ECONFLICT);
	if (getenv("SC_TEST_PRINT"))
		print_message("%s\n", out.buf);
	assert_non_null(strstr(out.buf, "Gemfile depends on a = 1.0 (Gemfile:3)"));
	assert_non_null(strstr(out.buf, "Gemfile depends on b ~> 1.0"));
	assert_non_null(strstr(out.buf, "depends on shared ~> 1.0"));
	assert_non_null(strstr(out.buf, "depends on shared ~> 2.0"));
	assert_non_null(strstr(out.buf, "version solving has failed"));
	sbuf_release(&out);
}

SC_TEST(resolve_missing_gem_and_version)
{
	static const char *const idx[] = { "a 1.0 ghost:>= 0", "b 1.0" };
	const struct resolve_dep r1[] = { { "a", "", NULL } };
	const struct resolve_dep r2[] = { { "b", "~> 2.0", NULL } };
	struct sbuf out = SBUF_INIT;

	assert_int_equal(solve(idx, 2, r1, 1, &out), -SC_ECONFLICT);
	assert_non_null(strstr(out.buf, "ghost (which could not be found in any source)"));
	sbuf_reset(&out);
	assert_int_equal(solve(idx, 2, r2, 1, &out), -SC_ECONFLICT);
	assert_non_null(strstr(out.buf, "Gemfile depends on b ~> 2.0"));
	sbuf_release(&out);
}

/* A locked version is tried first; it gives way when a requirement excludes it. */
SC_TEST(resolve_prefers_locked)
{
	static const char *const idx[] = { "a 1.0", "a 1.1", "a 1.2" };
	const struct resolve_dep any[] = { { "a", "", NULL } };
	const struct resolve_dep tight[] = { { "a", ">= 1.2", NULL } };
	struct arena a;
	struct resolve_result res;
	struct fake f = { .a = &a, .lines = idx, .nlines = 3, .prefer_name = "a",
			  .prefer_version = "1.1" };
	struct sbuf err = SBUF_INIT;

	arena_init(&a);
	assert_int_equal(resolve_run(&a, "Gemfile", any, 1, fake_fetch, &f, NULL, &res, &err), 0);
	assert_string_equal(resolve_result_version(&res, "a"), "1.1");
	assert_int_equal(resolve_run(&a, "Gemfile", tight, 1, fake_fetch, &f, NULL, &res, &err), 0);
	assert_string_equal(resolve_result_version(&res, "a"), "1.2");
	assert_null(resolve_result_version(&res, "b"));
	arena_release(&a);
	sbuf_release(&err);
}

/* solver.md: "complex conflict resolution with a failure". */
SC_TEST(resolve_complex_failure_is_explained)
{
	static const char *const idx[] = {
		"foo 1.0.0 a:^1.0.0;b:^1.0.0", "foo 1.1.0 x:^1.0.0;y:^1.0.0", "a 1.0.0 b:^2.0.0",
		"b 1.0.0", "b 2.0.0", "x 1.0.0 y:^2.0.0", "y 1.0.0", "y 2.0.0",
	};
	static const char *const idx2[] = {
		"foo 1.0.0 a:~> 1.0;b:~> 1.0", "foo 1.1.0 x:~> 1.0;y:~> 1.0", "a 1.0.0 b:~> 2.0",
		"b 1.0.0", "b 2.0.0", "x 1.0.0 y:~> 2.0", "y 1.0.0", "y 2.0.0",
	};
	const struct resolve_dep roots[] = { { "foo", "~> 1.0", NULL } };
	struct sbuf out = SBUF_INIT;

	assert_int_equal(solve(idx, 8, roots, 1, &out), -EINVAL); /* "^" is not RubyGems' */
	sbuf_reset(&out);
	assert_int_equal(solve(idx2, 8, roots, 1, &out), -SC_ECONFLICT);
	if (getenv("SC_TEST_PRINT"))
		print_message("%s\n", out.buf);
	assert_non_null(strstr(out.buf, "foo = 1.0.0 depends on a ~> 1.0"));
	assert_non_null(strstr(out.buf, "every version of a depends on b ~> 2.0"));
	assert_non_null(strstr(out.buf, "foo = 1.1.0 depends on x ~> 1.0"));
	assert_non_null(strstr(out.buf, "every version of x depends on y ~> 2.0"));
	assert_non_null(strstr(out.buf, "Gemfile depends on foo ~> 1.0"));
	assert_non_null(strstr(out.buf, "version solving has failed."));
	sbuf_release(&out);
}

/* A hostile index: a long chain must stop at the limits with a message. */
SC_TEST(resolve_limits)
{
	enum { N = 300 };
	static const char *lines[N];
	static char buf[N][48];
	const struct resolve_dep roots[] = { { "g0", "", NULL } };
	struct resolve_limits lim = { .max_packages = 50 };
	struct arena a;
	struct resolve_result res;
	struct sbuf err = SBUF_INIT;

	for (int i = 0; i < N; i++) {
		snprintf(buf[i], sizeof(buf[i]), "g%d 1.0 g%d:>= 0", i, i + 1);
		lines[i] = buf[i];
	}
	struct fake f = { .a = &a, .lines = lines, .nlines = N };
	arena_init(&a);
	assert_int_equal(resolve_run(&a, "Gemfile", roots, 1, fake_fetch, &f, &lim, &res, &err), -E2BIG);
	assert_non_null(strstr(err.buf, "more than 50 gems"));
	sbuf_reset(&err);
	lim = (struct resolve_limits){ .max_steps = 100 };
	assert_int_equal(resolve_run(&a, "Gemfile", roots, 1, fake_fetch, &f, &lim, &res, &err), -E2BIG);
	assert_non_null(strstr(err.buf, "gave up after 100 steps"));
	arena_release(&a);
	sbuf_release(&err);
}

SC_TEST(resolve_rejects_bad_requirement)
{
	static const char *const idx[] = { "a 1.0 b:~> banana!", "b 1.0" };
	const struct resolve_dep roots[] = { { "a", "", NULL } };
	struct sbuf out = SBUF_INIT;

	assert_int_equal(solve(idx, 2, roots, 1, &out), -EINVAL);
	sbuf_release(&out);
}

static void promote(const char *const *vers, size_t n, const char *locked, char level,
		    bool unlocking, bool strict, struct sbuf *out)
{
	struct resolve_version v[16];
	size_t idx[16];

	for (size_t i = 0; i < n; i++) {
		v[i] = (struct resolve_version){ .version = vers[i] };
		idx[i] = i;
	}
	size_t k = resolve_promote(v, idx, n, locked, level, unlocking, strict, false);
	for (size_t i = 0; i < k; i++)
		sbuf_addf(out, "%s%s", i ? " " : "", vers[idx[i]]);
}

/* Orders as Bundler 2.3's GemVersionPromoter (its spec's examples). */
SC_TEST(resolve_promote_levels)
{
	static const char *const v[] = { "1.7.7", "1.7.8", "1.7.9", "1.7.15", "1.8.0", "2.0.0",
					 "2.0.0.pre" };
	struct sbuf out = SBUF_INIT;

	promote(v, 6, "1.7.8", 'p', true, false, &out);
	assert_string_equal(out.buf, "1.7.15 1.7.9 1.7.8 1.8.0 2.0.0 1.7.7");
	sbuf_reset(&out);
	promote(v, 6, "1.7.8", 'p', true, true, &out);
	assert_string_equal(out.buf, "1.7.15 1.7.9 1.7.8");
	sbuf_reset(&out);
	promote(v, 6, "1.7.8", 'm', true, true, &out);
	assert_string_equal(out.buf, "1.8.0 1.7.15 1.7.9 1.7.8");
	sbuf_reset(&out);
	promote(v, 7, "1.7.8", 'M', true, false, &out);
	assert_string_equal(out.buf, "2.0.0 1.8.0 1.7.15 1.7.9 1.7.8 1.7.7 2.0.0.pre");
	sbuf_reset(&out);
	promote(v, 6, "1.7.8", 'p', false, false, &out);
	assert_string_equal(out.buf, "1.7.8 1.7.15 1.7.9 1.8.0 2.0.0 1.7.7");
	sbuf_release(&out);
}
