/*
 * test_gemfile.c: parsing the Ruby helper's Gemfile evaluation
 * (bundle/gemfile.h): every line type, the old six-field dep lines, and the
 * refusals (bad names, unknown sources, limits, control characters).
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "base/arena.h"
#include "base/sbuf.h"
#include "base/strv.h"
#include "bundle/gemfile.h"
#include "sc_test.h"

#define SHA_A "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"

SC_TEST(gemfile_parses_every_line_type)
{
	static const char text[] =
		"source\t0\tgem\n"
		"source_opt\t0\tremote\thttps://gems.example.com/\n"
		"source\t1\tgem\n"
		"source_opt\t1\tremote\thttps://private.example.com/\n"
		"source\t2\tgit\n"
		"source_opt\t2\tremote\thttps://git.example.com/x.git\n"
		"source_opt\t2\tbranch\tmain\n"
		"source_opt\t2\tglob\t*/*.gemspec\n"
		"source_opt\t2\tsubmodules\ttrue\n"
		"source_opt\t2\tsomething_new\tx\n"
		"source\t3\tgemspec\n"
		"source_opt\t3\tremote\t.\n"
		"source_opt\t3\tname\tmygem\n"
		"source_opt\t3\tdevelopment_group\tdevelopment\n"
		"dep\track\t~> 3.0\tdefault\t1\t0\n"
		"dep\tprivate_gem\t\tdefault,test\t1\t1\t1\tmri,windows\truntime\tGemfile:7\n"
		"dep\tx\t>= 1, < 3\tdefault\t0\t1\t2\t\truntime\tGemfile:9\n"
		"dep\tminitest\t~> 5.0\tdevelopment\t1\t0\t0\t\tdevelopment\tmygem.gemspec:3\n"
		"optional_group\tdocs\n"
		"ruby\t~> 3.1\truby\t\t\n"
		"file\tGemfile\t" SHA_A "\n"
		"env\tRAILS_VERSION\t-\n"
		"env\tDB\t" SHA_A "\n"
		"bundler\t2.3.15\n"
		"require\track\track/lite\n";
	struct arena a;
	struct gemfile gf;
	struct sbuf err = SBUF_INIT;

	arena_init(&a);
	if (gemfile_parse(&a, STRV_LIT(text), &gf, &err) != 0)
		fail_msg("parse: %s", sbuf_cstr(&err));
	assert_int_equal(gf.nsources, 4);
	assert_int_equal(gf.sources[2].kind, GEMFILE_SRC_GIT);
	assert_string_equal(gf.sources[2].remotes[0], "https://git.example.com/x.git");
	assert_string_equal(gf.sources[2].branch, "main");
	assert_string_equal(gf.sources[2].glob, "*/*.gemspec");
	assert_true(gf.sources[2].submodules);
	assert_null(gf.sources[2].tag);
	assert_int_equal(gf.sources[3].kind, GEMFILE_SRC_GEMSPEC);
	assert_string_equal(gf.sources[3].name, "mygem");
	assert_int_equal(gf.ndeps, 4);
	assert_string_equal(gf.deps[0].name, "rack");
	assert_string_equal(gf.deps[0].reqs, "~> 3.0");
	assert_null(gf.deps[0].source);
	assert_null(gf.deps[0].location);
	assert_ptr_equal(gf.deps[1].source, &gf.sources[1]);
	assert_ptr_equal(gemfile_source_by_id(&gf, "1"), &gf.sources[1]);
	assert_int_equal(gf.deps[1].ngroups, 2);
	assert_true(gemfile_dep_in_group(&gf.deps[1], "test"));
	assert_false(gemfile_dep_in_group(&gf.deps[1], "tes"));
	assert_int_equal(gf.deps[1].nplatforms, 2);
	assert_string_equal(gf.deps[1].platforms[1], "windows");
	assert_string_equal(gf.deps[1].location, "Gemfile:7");
	assert_false(gf.deps[2].platform_ok);
	assert_true(gf.deps[2].pinned);
	assert_true(gf.deps[3].development);
	assert_null(gf.deps[3].source);
	assert_int_equal(gf.noptional_groups, 1);
	assert_string_equal(gf.optional_groups[0], "docs");
	assert_non_null(gf.ruby);
	assert_string_equal(gf.ruby->requirement, "~> 3.1");
	assert_int_equal(gf.nfiles, 1);
	assert_int_equal(gf.nenvs, 2);
	assert_null(gf.envs[0].sha256);
	assert_string_equal(gf.envs[1].sha256, SHA_A);
	assert_string_equal(gf.bundler_version, "2.3.15");
	sbuf_release(&err);
	arena_release(&a);
}

static void assert_refused(const char *text, int want, const char *msg_part)
{
	struct arena a;
	struct gemfile gf;
	struct sbuf err = SBUF_INIT;

	arena_init(&a);
	assert_int_equal(gemfile_parse(&a, strv_from(text), &gf, &err), want);
	assert_int_equal(gf.ndeps, 0);
	if (!strstr(sbuf_cstr(&err), msg_part))
		fail_msg("message '%s' lacks '%s'", sbuf_cstr(&err), msg_part);
	sbuf_release(&err);
	arena_release(&a);
}

SC_TEST(gemfile_refuses_hostile_answers)
{
	assert_refused("dep\t../etc\t\tdefault\t1\t0\n", -EINVAL, "invalid gem name");
	assert_refused("dep\track\t~> x y\tdefault\t1\t0\n", -EINVAL, "invalid requirement");
	assert_refused("dep\track\t\tdef/ault\t1\t0\n", -EINVAL, "invalid group");
	assert_refused("dep\track\t\tdefault\t1\n", -EINVAL, "5 fields");
	assert_refused("dep\track\t\tdefault\t2\t0\n", -EINVAL, "platform_ok");
	assert_refused("dep\track\t\tdefault\t1\t1\t9\n", -EINVAL, "unknown source '9'");
	assert_refused("dep\track\t\tdefault\t1\t0\t0\t../x\n", -EINVAL, "invalid platform");
	assert_refused("source\t1\tsvn\n", -EINVAL, "unknown source kind");
	assert_refused("source\t1\tgem\nsource\t1\tgit\n", -EINVAL, "listed twice");
	assert_refused("source_opt\t4\tremote\tx\n", -EINVAL, "unknown source");
	assert_refused("source\t1\tgit\nsource_opt\t1\tremote\ta\nsource_opt\t1\tremote\tb\n",
		       -EINVAL, "one remote");
	assert_refused("source\t1\tgemspec\nsource_opt\t1\tname\ta/b\n", -EINVAL,
		       "invalid gem name");
	assert_refused("file\tGemfile\tnothex\n", -EINVAL, "sha256");
	assert_refused("env\tA=B\t-\n", -EINVAL, "env line");
	assert_refused("bundler\tnot a version\n", -EINVAL, "bundler version");
	assert_refused("ruby\t~> 3\truby\t\t\nruby\t~> 3\truby\t\t\n", -EINVAL, "twice");
	assert_refused("dep\tra\x1b[2Jck\t\tdefault\t1\t0\n", -EINVAL, "control character");
}

SC_TEST(gemfile_bounds_counts_and_sizes)
{
	struct sbuf text = SBUF_INIT;

	/* One dependency over the limit. */
	for (int i = 0; i <= GEMFILE_DEPS_MAX; i++)
		assert_int_equal(sbuf_addf(&text, "dep\tg%d\t\tdefault\t1\t0\n", i), 0);
	assert_refused(sbuf_cstr(&text), -E2BIG, "more than");
	sbuf_reset(&text);
	assert_int_equal(sbuf_addstr(&text, "dep\track\t\t"), 0);
	for (int i = 0; i <= GEMFILE_LIST_MAX; i++)
		assert_int_equal(sbuf_addf(&text, "%sg%d", i ? "," : "", i), 0);
	assert_int_equal(sbuf_addstr(&text, "\t1\t0\n"), 0);
	assert_refused(sbuf_cstr(&text), -E2BIG, "groups");
	sbuf_reset(&text);
	assert_int_equal(sbuf_addstr(&text, "file\t"), 0);
	for (int i = 0; i <= GEMFILE_FIELD_MAX; i++)
		assert_int_equal(sbuf_addch(&text, 'x'), 0);
	assert_int_equal(sbuf_addstr(&text, "\t" SHA_A "\n"), 0);
	assert_refused(sbuf_cstr(&text), -E2BIG, "field over");
	sbuf_release(&text);
}

SC_TEST(gemfile_accepts_old_dep_lines_and_empty_answers)
{
	struct arena a;
	struct gemfile gf;

	arena_init(&a);
	assert_int_equal(gemfile_parse(&a, STRV_LIT(""), &gf, NULL), 0);
	assert_int_equal(gf.ndeps, 0);
	assert_int_equal(gemfile_parse(&a, STRV_LIT("dep\track\t\tdefault\t1\t0"), &gf, NULL), 0);
	assert_int_equal(gf.ndeps, 1);
	assert_string_equal(gf.deps[0].reqs, "");
	assert_int_equal(gf.deps[0].nplatforms, 0);
	assert_null(gf.ruby);
	assert_null(gf.bundler_version);
	arena_release(&a);
}
