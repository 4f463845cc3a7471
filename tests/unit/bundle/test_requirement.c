/*
 * test_requirement.c: Gem::Requirement. The satisfaction table was printed by
 * RubyGems 3.3.15:
 *   ruby -e 'p Gem::Requirement.new("~> 1.2").satisfied_by?(Gem::Version.new("1.3.0.a"))'
 */
#include <errno.h>
#include <string.h>

#include "base/strv.h"
#include "bundle/requirement.h"
#include "sc_test.h"

static const char *const versions[] = {
	"1.0",	 "1.1", "1.2",	 "1.2.3", "1.2.9",   "1.3",	  "1.3.0.a",
	"1.10",	 "2",	"2.0.a", "0.9",	  "0",	     "1.0.0.rc1", "2.0.0.rc2",
	"2.0.0", "2.1", "2.1.a", "1.0.a", "1.9.9.1", "1.10.0.a",
};

SC_TEST(requirement_satisfied_matches_rubygems)
{
	static const struct {
		const char *req;
		const char *want; /* one digit per entry of versions[] */
	} cases[] = {
		{ "~> 1.2", "00111111000000000011" },	{ "~> 1.2.3", "00011000000000000000" },
		{ "~> 1", "11111111000000000011" },	{ "~> 0", "00000000001100000000" },
		{ "~> 1.0.a", "11111111000010000111" }, { "~> 2.0.0.rc1", "00000000100001100000" },
		{ ">= 0", "11111111111111111111" },	{ "= 1.0", "10000000000000000000" },
		{ "1.0", "10000000000000000000" },	{ "!= 1.0", "01111111111111111111" },
		{ "> 1.0", "01111111110001111011" },	{ "< 2", "11111111011111000111" },
		{ "<= 2", "11111111111111100111" },	{ ">= 1.0.0.rc1", "11111111110011111011" },
		{ "~> 1.9.9", "00000000000000000010" },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct requirement r;

		assert_int_equal(requirement_parse(strv_from(cases[i].req), &r), 0);
		for (size_t v = 0; v < sizeof(versions) / sizeof(versions[0]); v++) {
			bool want = cases[i].want[v] == '1';
			if (requirement_satisfied(&r, strv_from(versions[v])) != want)
				fail_msg("'%s' satisfied by '%s' should be %d", cases[i].req,
					 versions[v], want);
		}
	}
}

SC_TEST(requirement_parse_forms)
{
	static const struct {
		const char *in;
		int ok;
		enum req_op op;
		const char *version;
	} cases[] = {
		{ "~>1.2", 1, REQ_TWIDDLE, "1.2" }, { " >=  1.0 ", 1, REQ_GE, "1.0" },
		{ "=1", 1, REQ_EQ, "1" },	    { "==1", 0, REQ_EQ, NULL },
		{ "<>1", 0, REQ_EQ, NULL },	    { "~> ", 0, REQ_EQ, NULL },
		{ ">= 1.0 2", 0, REQ_EQ, NULL },    { "1.0", 1, REQ_EQ, "1.0" },
		{ ">", 0, REQ_EQ, NULL },	    { "~> 1.0-rc1", 1, REQ_TWIDDLE, "1.0-rc1" },
		{ "!=2", 1, REQ_NE, "2" },	    { "=< 1", 0, REQ_EQ, NULL },
		{ "=> 1", 0, REQ_EQ, NULL },	    { ">= 0.a", 1, REQ_GE, "0.a" },
		{ "< 3", 1, REQ_LT, "3" },	    { "<= 3", 1, REQ_LE, "3" },
		{ "> 1", 1, REQ_GT, "1" },	    { "", 0, REQ_EQ, NULL },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct requirement r;
		int got = requirement_parse(strv_from(cases[i].in), &r);

		if (!cases[i].ok) {
			if (got != -EINVAL)
				fail_msg("'%s' should not parse", cases[i].in);
			continue;
		}
		if (got != 0)
			fail_msg("'%s' should parse", cases[i].in);
		assert_int_equal(r.op, cases[i].op);
		assert_true(strv_eq_cstr(r.version, cases[i].version));
	}
}

SC_TEST(requirement_op_names)
{
	struct requirement r;

	assert_string_equal(requirement_op_str(REQ_TWIDDLE), "~>");
	assert_string_equal(requirement_op_str(REQ_NE), "!=");
	assert_int_equal(requirement_parse(STRV_LIT(">= 0"), &r), 0);
	assert_true(requirement_is_default(&r));
	assert_int_equal(requirement_parse(STRV_LIT(">= 0.0"), &r), 0);
	assert_true(requirement_is_default(&r));
	assert_int_equal(requirement_parse(STRV_LIT(">= 0.a"), &r), 0);
	assert_false(requirement_is_default(&r));
	assert_int_equal(requirement_parse(STRV_LIT("~> 0"), &r), 0);
	assert_false(requirement_is_default(&r));
}

SC_TEST(requirement_lists)
{
	struct requirement r[4];

	/* Lockfile form. */
	assert_int_equal(requirement_parse_list(STRV_LIT("~> 1.0, >= 1.0.2"), ',', r, 4), 2);
	assert_int_equal(r[0].op, REQ_TWIDDLE);
	assert_true(strv_eq_cstr(r[1].version, "1.0.2"));
	assert_true(requirement_list_satisfied(r, 2, STRV_LIT("1.1")));
	assert_false(requirement_list_satisfied(r, 2, STRV_LIT("1.0.1")));
	assert_false(requirement_list_satisfied(r, 2, STRV_LIT("2.0")));
	/* Compact index form. */
	assert_int_equal(requirement_parse_list(STRV_LIT(">= 2.5&< 4"), '&', r, 4), 2);
	assert_true(requirement_list_satisfied(r, 2, STRV_LIT("3.1.2")));
	assert_true(requirement_list_satisfied(r, 2, STRV_LIT("4.0.0.a")));
	assert_false(requirement_list_satisfied(r, 2, STRV_LIT("4")));
	/* Limits and errors. */
	assert_int_equal(requirement_parse_list(STRV_LIT("> 1,< 2,!= 1.5"), ',', r, 2), -E2BIG);
	assert_int_equal(requirement_parse_list(STRV_LIT("> 1,,< 2"), ',', r, 4), -EINVAL);
	assert_int_equal(requirement_parse_list(STRV_LIT("> 1, bogus"), ',', r, 4), -EINVAL);
	assert_int_equal(requirement_parse_list(STRV_LIT("  "), ',', r, 4), 0);
	assert_true(requirement_list_satisfied(r, 0, STRV_LIT("1")));
}
