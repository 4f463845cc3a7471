/*
 * test_gempath.c: entry names and symlink targets of hostile .gem archives.
 */
#include <string.h>

#include "bundle/gempath.h"
#include "sc_test.h"

static char out[GEMPATH_MAX + 1];

static int clean(const char *name, const char **why)
{
	return gempath_clean(name, strlen(name), out, sizeof(out), why);
}

SC_TEST(gempath_clean_normalises)
{
	static const char *const cases[][2] = {
		{ "lib/x.rb", "lib/x.rb" },
		{ "./lib/x.rb", "lib/x.rb" },
		{ "lib//x.rb", "lib/x.rb" },
		{ "lib/./x.rb", "lib/x.rb" },
		{ "lib/", "lib" },
		{ "./", "" },
		{ ".", "" },
		{ ".//./", "" },
		{ "a.../..b/...", "a.../..b/..." },
		{ "lib/.hidden", "lib/.hidden" },
		{ "bin/caf\xc3\xa9", "bin/caf\xc3\xa9" },
	};
	const char *why;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int n = clean(cases[i][0], &why);
		assert_int_equal(n, (int)strlen(cases[i][1]));
		assert_string_equal(out, cases[i][1]);
		assert_null(why);
	}
}

SC_TEST(gempath_clean_refuses_unsafe_names)
{
	static const char *const cases[][2] = {
		{ "/etc/passwd", "absolute path" },
		{ "//etc/passwd", "absolute path" },
		{ "../x", "'..' in path" },
		{ "lib/../../x", "'..' in path" },
		{ "lib/..", "'..' in path" },
		{ "lib/../x", "'..' in path" }, /* stays inside, but ".." never reaches a path */
		{ "", "empty name" },
		{ "lib/a\tb", "control character in name" },
		{ "lib/a\nb", "control character in name" },
		{ "lib/a\rb", "control character in name" },
		{ "lib/\x1b[2J", "control character in name" },
		{ "lib/a\x7f", "control character in name" },
	};
	const char *why;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		assert_int_equal(clean(cases[i][0], &why), -1);
		assert_string_equal(why, cases[i][1]);
	}
}

SC_TEST(gempath_clean_refuses_embedded_nul)
{
	const char name[] = "lib/x.rb\0/../../etc";
	const char *why;

	assert_int_equal(gempath_clean(name, sizeof(name) - 1, out, sizeof(out), &why), -1);
	assert_string_equal(why, "NUL character in name");
	assert_int_equal(gempath_clean(NULL, 0, out, sizeof(out), &why), -1);
	assert_string_equal(why, "empty name");
}

SC_TEST(gempath_clean_limits_length)
{
	static char name[2 * GEMPATH_MAX];
	const char *why;
	size_t n = 0;

	/* 200 directories deep is fine (RubyGems accepts it). */
	for (int i = 0; i < 200; i++) {
		memcpy(name + n, "d/", 2);
		n += 2;
	}
	memcpy(name + n, "x.rb", 5);
	assert_int_equal(clean(name, &why), (int)strlen(name));
	assert_null(why);

	/* Exactly GEMPATH_MAX bytes is fine, one more is not. */
	memset(name, 'a', GEMPATH_MAX);
	for (size_t i = 100; i < GEMPATH_MAX; i += 101)
		name[i] = '/';
	name[GEMPATH_MAX] = '\0';
	assert_int_equal(clean(name, &why), GEMPATH_MAX);
	name[GEMPATH_MAX] = 'a';
	name[GEMPATH_MAX + 1] = '\0';
	assert_int_equal(clean(name, &why), -1);
	assert_string_equal(why, "path longer than 3072 bytes");

	/* Redundant parts do not count: "./" * 2000 + "x". */
	n = 0;
	for (int i = 0; i < 2000; i++) {
		memcpy(name + n, "./", 2);
		n += 2;
	}
	memcpy(name + n, "x", 2);
	assert_int_equal(clean(name, &why), 1);
	assert_string_equal(out, "x");

	/* One component longer than NAME_MAX. */
	memset(name, 'b', 256);
	name[256] = '\0';
	assert_int_equal(clean(name, &why), -1);
	assert_string_equal(why, "a path component is longer than 255 bytes");

	/* A small output buffer is never overrun. */
	char small[4];
	assert_int_equal(gempath_clean("abcd", 4, small, sizeof(small), &why), -1);
	assert_int_equal(gempath_clean("abc", 3, small, sizeof(small), &why), 3);
	assert_string_equal(small, "abc");
}

SC_TEST(gempath_link_inside_lexical)
{
	static const struct {
		const char *link, *target;
		bool ok;
		const char *why;
	} cases[] = {
		{ "lib/alias.rb", "x.rb", true, NULL },
		{ "lib/alias.rb", "./x.rb", true, NULL },
		{ "lib/a/b", "../../README", true, NULL },
		{ "lib/a/b", "../..", true, NULL }, /* the root itself */
		{ "top", ".", true, NULL },
		{ "lib/a/b", "../../../etc", false, "symlink points outside the gem" },
		{ "top", "..", false, "symlink points outside the gem" },
		{ "lib/evil", "../../../../../etc", false, "symlink points outside the gem" },
		/* out and back in names the directory around the gem */
		{ "lib/x", "../../gem/lib/x.rb", false, "symlink points outside the gem" },
		{ "lib/x", "/etc/passwd", false, "absolute symlink target" },
		{ "lib/x", "", false, "empty symlink target" },
		{ "lib/x", "a\nb", false, "control character in symlink target" },
		{ "lib/x", "a\tb", false, "control character in symlink target" },
	};
	const char *why;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		bool ok = gempath_link_inside(cases[i].link, cases[i].target,
					      strlen(cases[i].target), &why);
		assert_int_equal(ok, cases[i].ok);
		if (cases[i].why)
			assert_string_equal(why, cases[i].why);
		else
			assert_null(why);
	}
	const char nul[] = "x\0/../../..";
	assert_false(gempath_link_inside("lib/x", nul, sizeof(nul) - 1, &why));
	assert_string_equal(why, "NUL character in symlink target");

	static char long_target[GEMPATH_MAX + 2];
	memset(long_target, 'a', GEMPATH_MAX + 1);
	assert_false(gempath_link_inside("x", long_target, GEMPATH_MAX + 1, &why));
	assert_string_equal(why, "symlink target longer than 3072 bytes");
}

/* A tiny model of the links a gem created: pairs of path, target. */
static const char *const *links;

static const char *link_fn(const char *path, size_t len, void *data)
{
	(void)data;
	for (size_t i = 0; links[i]; i += 2)
		if (strlen(links[i]) == len && !memcmp(links[i], path, len))
			return links[i + 1];
	return NULL;
}

static int resolve(const char *dir, const char *target, const char **why)
{
	return gempath_resolve(dir, target, link_fn, NULL, out, sizeof(out), why);
}

SC_TEST(gempath_resolve_follows_links)
{
	/* clang-format off */
	static const char *const model[] = {
		"a/b/c/up", "../../..", /* the gem root, lexically fine */
		"lib2", "lib",
		"lib/deep", "../a/b/c",
		"self", ".",
		NULL,
	};
	/* clang-format on */
	const char *why;

	links = model;
	assert_int_equal(resolve("", "lib/x.rb", &why), 8);
	assert_string_equal(out, "lib/x.rb");
	assert_int_equal(resolve("", "lib2/x.rb", &why), 8);
	assert_string_equal(out, "lib/x.rb");
	assert_int_equal(resolve("a/b/c", "up", &why), 0);
	assert_string_equal(out, "");
	assert_int_equal(resolve("lib", "deep/up/lib2", &why), 3);
	assert_string_equal(out, "lib");
	assert_int_equal(resolve("", "missing/x/..", &why), 7);
	assert_string_equal(out, "missing");
	/* the chain: a link through the root-link that climbs once more */
	assert_int_equal(resolve("a/b/c", "up/..", &why), -1);
	assert_string_equal(why, "symlink points outside the gem");
	assert_int_equal(resolve("", "self/../etc", &why), -1);
	assert_string_equal(why, "symlink points outside the gem");
	assert_int_equal(resolve("lib", "deep/up/../etc", &why), -1);
	assert_string_equal(why, "symlink points outside the gem");
	assert_int_equal(resolve("", "/etc", &why), -1);
	assert_string_equal(why, "absolute symlink target");
}

SC_TEST(gempath_resolve_absolute_link_in_chain)
{
	static const char *const model[] = { "etc", "/etc", "x", "etc", NULL };
	const char *why;

	links = model;
	assert_int_equal(resolve("", "x/passwd", &why), -1);
	assert_string_equal(why, "absolute symlink target");
}

SC_TEST(gempath_resolve_stops_loops)
{
	static const char *const model[] = { "a", "b", "b", "a", "s", "s/s", NULL };
	const char *why;

	links = model;
	assert_int_equal(resolve("", "a", &why), -1);
	assert_string_equal(why, "too many levels of symbolic links");
	assert_int_equal(resolve("", "s", &why), -1);
	assert_string_equal(why, "too many levels of symbolic links");
}

SC_TEST(gempath_resolve_never_overruns)
{
	static const char *const model[] = { NULL };
	char small[8];
	const char *why;

	links = model;
	assert_int_equal(gempath_resolve("", "abcdefgh", link_fn, NULL, small, sizeof(small), &why),
			 -1);
	assert_string_equal(why, "path too long");
	assert_int_equal(gempath_resolve("abc", "d/e", link_fn, NULL, small, sizeof(small), &why),
			 7);
	assert_string_equal(small, "abc/d/e");
}
