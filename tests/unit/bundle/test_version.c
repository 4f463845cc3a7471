/*
 * test_version.c: Gem::Version semantics. Every expected value below was
 * produced by RubyGems 3.3.15 (Ruby 3.1), e.g.
 *   ruby -e 'p Gem::Version.new("1.0.a") <=> Gem::Version.new("1.a")'
 */
#include <errno.h>
#include <string.h>

#include "base/strv.h"
#include "bundle/version.h"
#include "sc_test.h"

static int sign(int x)
{
	return (x > 0) - (x < 0);
}

SC_TEST(version_cmp_matches_rubygems)
{
	static const struct {
		const char *a, *b;
		int want;
	} cases[] = {
		{ "1.0", "1", 0 },
		{ "1.0.0", "1", 0 },
		{ "1.0.a", "1.a", 0 },
		{ "1.a", "1", -1 },
		{ "1.0.0.rc1", "1.0.0", -1 },
		{ "1.0.0.rc1", "1.0.0.rc2", -1 },
		{ "1.0.0.rc10", "1.0.0.rc2", 1 },
		{ "1.0.0.beta", "1.0.0.alpha", 1 },
		{ "2.0.0-rc1", "2.0.0.pre.rc1", 0 },
		{ "1.0-1", "1.0", -1 },
		{ "1.0-1", "1.0.0.pre", 1 },
		{ "1.10", "1.9", 1 },
		{ "01", "1", 0 },
		{ "1.01", "1.1", 0 },
		{ "10000000000000000000000", "9999999999999999999999", 1 },
		{ "0.0.1", "0", 1 },
		{ "", "0", 0 },
		{ "  1.2  ", "1.2", 0 },
		{ "1.0.b1", "1.0.a.2", 1 },
		{ "1.2.d.42", "1.2.d.42.0", 0 },
		{ "5.a.0", "5.a", 0 },
		{ "1.0.a", "1.0.A", 1 },
		{ "1.2.3a", "1.2.3", -1 },
		{ "1.2.3a", "1.2.3.a", 0 },
		{ "0.a", "0", -1 },
		{ "1.0.0.a.0.b", "1.a.0.b", 0 },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct strv a = strv_from(cases[i].a), b = strv_from(cases[i].b);
		int got = sign(version_cmp(a, b)), back = sign(version_cmp(b, a));

		if (got != cases[i].want || back != -cases[i].want)
			fail_msg("'%s' <=> '%s': got %d/%d, want %d", cases[i].a, cases[i].b, got,
				 back, cases[i].want);
	}
}

SC_TEST(version_valid_matches_correct)
{
	static const struct {
		const char *v;
		bool ok;
	} cases[] = {
		{ "1", true },	      { "1.0", true },	 { "1.0.0.rc1", true }, { "1.0-rc1", true },
		{ "1.0-rc.1", true }, { "1..0", false }, { ".1", false },	{ "a", false },
		{ "1.", false },      { "1-", false },	 { "1--", true },	{ "1--2", true },
		{ "1.0a", true },     { "1.a-b", true }, { "1_0", false },	{ "1.0+", false },
		{ "0", true },	      { "", true },	 { " 1.0 ", true },	{ "1 0", false },
		{ "1.0\n", true },    { "-1", false },	 { "1.0-", false },	{ "1.0-a.", false },
		{ "1.0-a.b", true },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		if (version_valid(strv_from(cases[i].v)) != cases[i].ok)
			fail_msg("version_valid('%s') != %d", cases[i].v, cases[i].ok);
}

SC_TEST(version_prerelease)
{
	assert_false(version_is_prerelease(STRV_LIT("1.0")));
	assert_true(version_is_prerelease(STRV_LIT("1.0.a")));
	assert_true(version_is_prerelease(STRV_LIT("1.0-1")));
	assert_true(version_is_prerelease(STRV_LIT("1.0.0.rc1")));
	assert_true(version_is_prerelease(STRV_LIT("1.0A")));
}

SC_TEST(version_bump_matches_rubygems)
{
	static const char *const cases[][2] = {
		{ "1", "2" },	   { "1.2", "2" },  { "1.2.3", "1.3" },	    { "1.2.3.a", "1.3" },
		{ "1.2.a", "2" },  { "1.9", "2" },  { "1.9.9", "1.10" },    { "0", "1" },
		{ "9", "10" },	   { "1.09", "2" }, { "2.0.0.rc1", "2.1" }, { "1.0-1", "2" },
		{ "999", "1000" },
	};
	char buf[32];

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int n = version_bump(strv_from(cases[i][0]), buf, sizeof(buf));
		assert_int_equal(n, (int)strlen(cases[i][1]));
		assert_string_equal(buf, cases[i][1]);
	}
	/* Room for "1.3" plus a possible carry digit and the NUL. */
	assert_int_equal(version_bump(STRV_LIT("1.2.999"), buf, 4), -E2BIG);
	assert_int_equal(version_bump(STRV_LIT("1.2.999"), buf, 5), 3);
	assert_string_equal(buf, "1.3");
	assert_int_equal(version_bump(STRV_LIT("99"), buf, 4), 3);
	assert_string_equal(buf, "100");
}

SC_TEST(version_release_cmp)
{
	/* Gem::Version#release drops everything from the first letter segment. */
	assert_int_equal(version_release_cmp(STRV_LIT("1.3.0.a"), STRV_LIT("1.3")), 0);
	assert_true(version_release_cmp(STRV_LIT("2.0.a"), STRV_LIT("2")) == 0);
	assert_true(version_release_cmp(STRV_LIT("1.10.0.a"), STRV_LIT("1.10")) == 0);
	assert_true(version_release_cmp(STRV_LIT("1.2"), STRV_LIT("1.3")) < 0);
	assert_true(version_cmp(STRV_LIT("2.0.a"), STRV_LIT("2")) < 0);
}
