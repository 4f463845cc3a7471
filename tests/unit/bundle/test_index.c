/*
 * test_index.c: compact index /info and /versions parsing. The sample lines
 * follow the shapes rubygems.org serves (see bundler-compat.md section 3).
 */
#include <errno.h>
#include <string.h>

#include "base/err.h"
#include "base/strv.h"
#include "bundle/index.h"
#include "sc_test.h"

#define SHA_A "a648c8841c844e3789c555a30b05e20c2935f82bc70bd8f2c187e053f10ee637"
#define SHA_B "27eccf9482b4db6788f6ded3b43f33f90a157336626a5708dab5d7a96026659a"
#define SHA_C "7033435776EB8077FE52E6AF6ED7D7ECD89F07E7A0C70E212F19A6CEA9599116"

static const char info_body[] =
	"---\n"
	"1.13.7 mini_portile2:~> 2.8.0,racc:~> 1.4|checksum:" SHA_A ",ruby:>= 2.6&< 3.2.dev,"
	"rubygems:>= 3.1.4\n"
	"1.13.8 mini_portile2:~> 2.8.0,racc:~> 1.4|checksum:" SHA_B ",ruby:>= 2.6\n"
	"1.13.8-x86_64-linux racc:~> 1.4|checksum:" SHA_C ",ruby:>= 2.6&< 3.2.dev\n"
	"1.13.9 |ruby:>= 2.6\n"
	"2.0.0.rc1 |checksum:" SHA_A "\r\n";

SC_TEST(index_info_line_fields)
{
	struct index_info_line l;

	assert_int_equal(
		index_info_parse_line(
			STRV_LIT("1.13.8-x86_64-linux racc:~> 1.4,foo:>= 1&< 2|checksum:" SHA_A
				 ",ruby:>= 2.6&< 3.2.dev,rubygems:>= 3.1.4"),
			&l),
		0);
	assert_true(strv_eq_cstr(l.version, "1.13.8"));
	assert_true(strv_eq_cstr(l.platform, "x86_64-linux"));
	assert_true(strv_eq_cstr(l.deps, "racc:~> 1.4,foo:>= 1&< 2"));
	assert_true(strv_eq_cstr(l.checksum, SHA_A));
	assert_true(strv_eq_cstr(l.ruby, ">= 2.6&< 3.2.dev"));
	assert_true(strv_eq_cstr(l.rubygems, ">= 3.1.4"));

	assert_int_equal(index_info_parse_line(STRV_LIT("1.0.0 |checksum:" SHA_B), &l), 0);
	assert_true(strv_eq_cstr(l.platform, "ruby"));
	assert_int_equal(l.deps.len, 0);
	assert_true(strv_eq_cstr(l.checksum, SHA_B));
	assert_int_equal(l.ruby.len, 0);

	/* Unknown keys are ignored; no '|' at all means no requirements. */
	assert_int_equal(index_info_parse_line(STRV_LIT("0.1 |future:x,checksum:" SHA_B), &l), 0);
	assert_true(strv_eq_cstr(l.checksum, SHA_B));
	assert_int_equal(index_info_parse_line(STRV_LIT("0.1 a:>= 1"), &l), 0);
	assert_true(strv_eq_cstr(l.deps, "a:>= 1"));
	assert_int_equal(l.checksum.len, 0);
}

SC_TEST(index_deps_iterates)
{
	struct strv cur = STRV_LIT("mini_portile2:~> 2.8.0,racc:>= 1.4&< 2"), name, reqs;
	struct strv bad = STRV_LIT("a:>= 1,oops"), empty = STRV_LIT("");

	assert_int_equal(index_deps_next(&cur, &name, &reqs), 1);
	assert_true(strv_eq_cstr(name, "mini_portile2"));
	assert_true(strv_eq_cstr(reqs, "~> 2.8.0"));
	assert_int_equal(index_deps_next(&cur, &name, &reqs), 1);
	assert_true(strv_eq_cstr(name, "racc"));
	assert_true(strv_eq_cstr(reqs, ">= 1.4&< 2"));
	assert_int_equal(index_deps_next(&cur, &name, &reqs), 0);
	assert_int_equal(index_deps_next(&empty, &name, &reqs), 0);
	assert_int_equal(index_deps_next(&bad, &name, &reqs), 1);
	assert_int_equal(index_deps_next(&bad, &name, &reqs), -EINVAL);
}

SC_TEST(index_info_line_errors)
{
	struct index_info_line l;

	assert_int_equal(index_info_parse_line(STRV_LIT(""), &l), -EINVAL);
	assert_int_equal(index_info_parse_line(STRV_LIT(" |checksum:" SHA_A), &l), -EINVAL);
	assert_int_equal(index_info_parse_line(STRV_LIT("x.y |"), &l), -EINVAL);
	assert_int_equal(index_info_parse_line(STRV_LIT("1.0- |"), &l), -EINVAL);
	assert_int_equal(index_info_parse_line(STRV_LIT("1.0 |checksum:abc"), &l), -EINVAL);
	assert_int_equal(index_info_parse_line(STRV_LIT("1.0 |checksum"), &l), -EINVAL);
}

SC_TEST(index_info_checksum_lookup)
{
	struct strv body = STRV_LIT(info_body);
	char hex[65];

	assert_int_equal(index_info_checksum(body, "1.13.8", NULL, hex), 0);
	assert_string_equal(hex, SHA_B);
	assert_int_equal(index_info_checksum(body, "1.13.8", "ruby", hex), 0);
	assert_string_equal(hex, SHA_B);
	assert_int_equal(index_info_checksum(body, "1.13.8", "x86_64-linux", hex), 0);
	/* Upper-case hex comes back lower-cased. */
	assert_string_equal(hex,
			    "7033435776eb8077fe52e6af6ed7d7ecd89f07e7a0c70e212f19a6cea9599116");
	assert_int_equal(index_info_checksum(body, "2.0.0.rc1", "", hex), 0);
	assert_string_equal(hex, SHA_A);
	assert_int_equal(index_info_checksum(body, "1.13.9", NULL, hex), -SC_ENOTFOUND);
	assert_int_equal(index_info_checksum(body, "1.13.8", "java", hex), -SC_ENOTFOUND);
	assert_int_equal(index_info_checksum(body, "1.13", NULL, hex), -SC_ENOTFOUND);
	assert_int_equal(index_info_checksum(STRV_LIT("---\n1.0 |checksum:zz\n"), "1.0", NULL, hex),
			 -EINVAL);
	/* A repeated version: the later line wins. */
	assert_int_equal(index_info_checksum(STRV_LIT("---\n1.0 |checksum:" SHA_A
						      "\n1.0 |checksum:" SHA_B "\n"),
					     "1.0", NULL, hex),
			 0);
	assert_string_equal(hex, SHA_B);
}

SC_TEST(index_versions_iterates)
{
	struct strv cur = STRV_LIT("created_at: 2024-01-01T00:00:00Z\n"
				   "---\n"
				   "rack 1.0,2.0,3.0.0 0123456789abcdef0123456789abcdef\n"
				   "\n"
				   "nokogiri 1.13.8,1.13.8-x86_64-linux,-1.13.7 "
				   "fedcba9876543210fedcba9876543210\r\n"
				   "rack 3.0.1 00000000000000000000000000000000\n"
				   "nomd5 1.0\n");
	struct index_versions_entry e;

	assert_int_equal(index_versions_next(&cur, &e), 1);
	assert_true(strv_eq_cstr(e.name, "rack"));
	assert_true(strv_eq_cstr(e.versions, "1.0,2.0,3.0.0"));
	assert_true(strv_eq_cstr(e.info_md5, "0123456789abcdef0123456789abcdef"));
	assert_int_equal(index_versions_next(&cur, &e), 1);
	assert_true(strv_eq_cstr(e.name, "nokogiri"));
	assert_true(strv_eq_cstr(e.versions, "1.13.8,1.13.8-x86_64-linux,-1.13.7"));
	assert_true(strv_eq_cstr(e.info_md5, "fedcba9876543210fedcba9876543210"));
	assert_int_equal(index_versions_next(&cur, &e), 1);
	assert_true(strv_eq_cstr(e.name, "rack"));
	assert_true(strv_eq_cstr(e.versions, "3.0.1"));
	assert_int_equal(index_versions_next(&cur, &e), 1);
	assert_true(strv_eq_cstr(e.name, "nomd5"));
	assert_int_equal(e.info_md5.len, 0);
	assert_int_equal(index_versions_next(&cur, &e), 0);
	assert_int_equal(index_versions_next(&cur, &e), 0);
}

SC_TEST(index_versions_errors)
{
	struct strv cur = STRV_LIT("---\nrack 1.0 nothex\n");
	struct strv cur2 = STRV_LIT("---\nrack\n");
	struct index_versions_entry e;

	assert_int_equal(index_versions_next(&cur, &e), -EINVAL);
	assert_int_equal(index_versions_next(&cur2, &e), -EINVAL);
}

/* Names from the index would become paths if anything used them: refused where parsed. */
SC_TEST(index_refuses_names_that_are_not_gem_names)
{
	struct index_info_line l;
	struct strv cur = STRV_LIT("---\n../../evil 1.0 0123456789abcdef0123456789abcdef\n");
	struct strv cur2 = STRV_LIT("---\n.. 1.0\n");
	struct strv deps = STRV_LIT("rack:>= 1,../../x:>= 0");
	struct strv name, reqs;
	struct index_versions_entry e;
	char hex[65];

	assert_int_equal(index_versions_next(&cur, &e), -EINVAL);
	assert_int_equal(index_versions_next(&cur2, &e), -EINVAL);
	assert_int_equal(index_deps_next(&deps, &name, &reqs), 1);
	assert_int_equal(index_deps_next(&deps, &name, &reqs), -EINVAL);
	assert_int_equal(index_info_parse_line(STRV_LIT("1.0-../../x |checksum:" SHA_A), &l),
			 -SC_EUNSAFE);
	assert_int_equal(index_info_parse_line(STRV_LIT("1.0-x86_64/linux |"), &l), -SC_EUNSAFE);
	assert_int_equal(index_info_parse_line(STRV_LIT("1.0-.. |"), &l), -SC_EUNSAFE);
	/* Such lines are skipped; the line asked for still gives its checksum. */
	struct strv body = STRV_LIT("---\n1.0-../../../evil |checksum:" SHA_A "\n"
				    "1.0 |checksum:" SHA_B "\n"
				    "1.0-x86_64-linux/.. |checksum:" SHA_A "\n");
	assert_int_equal(index_info_checksum(body, "1.0", NULL, hex), 0);
	assert_string_equal(hex, SHA_B);
	assert_int_equal(index_info_checksum(body, "1.0", "../../../evil", hex), -EINVAL);
	assert_int_equal(index_info_checksum(body, "1.0", "x86_64-linux/..", hex), -EINVAL);
}

/* compact index v2: the created_at: key (cooldown), in the forms servers write. */
SC_TEST(index_created_at)
{
	int64_t t = 0;

	assert_int_equal(index_info_created_at(STRV_LIT("1.0 |checksum:ab,created_at:2024-01-01T00:00:00Z"), &t), 0);
	assert_int_equal(t, 1704067200);
	assert_int_equal(index_info_created_at(STRV_LIT("1.0 a:>= 1|created_at:2000-02-29 12:30:05.123 UTC,ruby:>= 2"), &t), 0);
	assert_int_equal(t, 951827405);
	assert_int_equal(index_info_created_at(STRV_LIT("1.0 |checksum:ab,ruby:>= 2.5"), &t), -SC_ENOTFOUND);
	assert_int_equal(index_info_created_at(STRV_LIT("1.0 a:>= 1"), &t), -SC_ENOTFOUND);
	assert_int_equal(index_info_created_at(STRV_LIT("1.0 |created_at:yesterday"), &t), -EINVAL);
	assert_int_equal(index_info_created_at(STRV_LIT("1.0 |created_at:2024-13-01T00:00:00Z"), &t), -EINVAL);
	assert_int_equal(index_info_created_at(STRV_LIT("1.0 |created_at:2024-01-01T00:00"), &t), -EINVAL);
	assert_int_equal(index_info_created_at(STRV_LIT("1.0 |created_at:"), &t), -EINVAL);
}
