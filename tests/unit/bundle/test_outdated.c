/*
 * test_outdated.c: bundle outdated's choice of rows (platforms, prereleases,
 * --filter-*, strict, GEMS, --only-explicit) and its text (the table's
 * widths, --group, --parseable, the up-to-date messages), on lockfiles
 * parsed from text.
 */
#include <string.h>

#include "base/arena.h"
#include "base/sbuf.h"
#include "bundle/lockfile.h"
#include "bundle/outdated.h"
#include "sc_test.h"

static const char cur_text[] = "GEM\n"
			       "  remote: https://gems.example.com/\n"
			       "  specs:\n"
			       "    od_dep (1.0.0)\n"
			       "    od_json (2.0.0-x86_64-linux)\n"
			       "    od_pre (1.0.0.beta1)\n"
			       "    od_web (1.2.3)\n"
			       "      od_dep (~> 1.0)\n"
			       "\n"
			       "PLATFORMS\n"
			       "  x86_64-linux\n"
			       "\n"
			       "DEPENDENCIES\n"
			       "  od_json (~> 2.0)\n"
			       "  od_pre\n"
			       "  od_web\n"
			       "\n"
			       "BUNDLED WITH\n"
			       "   2.3.15\n";

/* the unlocked resolution */
static const char next_text[] = "GEM\n"
				"  remote: https://gems.example.com/\n"
				"  specs:\n"
				"    od_dep (1.0.1)\n"
				"    od_json (2.1.0-x86_64-linux)\n"
				"    od_pre (1.0.0.beta2)\n"
				"    od_web (1.3.0)\n"
				"      od_dep (~> 1.0)\n"
				"\n"
				"PLATFORMS\n"
				"  x86_64-linux\n"
				"\n"
				"DEPENDENCIES\n"
				"  od_json (~> 2.0)\n"
				"  od_pre\n"
				"  od_web\n"
				"\n"
				"BUNDLED WITH\n"
				"   2.3.15\n";

static const char *dep_v[] = { "1.0.0", "1.0.1", "2.0.0" };
static const char *dep_p[] = { "ruby", "ruby", "ruby" };
static const char *json_v[] = { "2.0.0", "2.1.0", "2.1.0", "2.2.0" };
static const char *json_p[] = { "ruby", "ruby", "x86_64-linux", "arm64-darwin" };
static const char *pre_v[] = { "1.0.0.beta1", "1.0.0.beta2" };
static const char *pre_p[] = { "ruby", "ruby" };
static const char *web_v[] = { "1.2.3", "1.3.0", "2.0.0", "3.0.0.rc1" };
static const char *web_p[] = { "ruby", "ruby", "ruby", "ruby" };

static const struct outdated_avail avail[] = {
	{ "od_dep", dep_v, dep_p, 3 },
	{ "od_json", json_v, json_p, 4 },
	{ "od_pre", pre_v, pre_p, 2 },
	{ "od_web", web_v, web_p, 4 },
};

static const struct outdated_dep deps[] = {
	{ "od_json", "~> 2.0", "default" },
	{ "od_pre", ">= 0", "default" },
	{ "od_web", ">= 0", "development, test" },
};

static void run(const struct outdated_opts *o, struct sbuf *out)
{
	struct arena a;
	struct lockfile cur = { 0 }, next = { 0 };
	struct sbuf err = SBUF_INIT;
	struct outdated_row *rows;

	arena_init(&a);
	assert_int_equal(lockfile_parse(&a, strv_from(cur_text), &cur, &err), 0);
	assert_int_equal(lockfile_parse(&a, strv_from(next_text), &next, &err), 0);
	size_t n = outdated_rows(&a, &cur, &next, avail, 4, deps, 3, o, &rows);
	outdated_format(rows, n, o, out);
	sbuf_release(&err);
	arena_release(&a);
}

SC_TEST(outdated_table_newest_from_the_index)
{
	struct outdated_opts o = { 0 };
	struct sbuf out = SBUF_INIT;

	run(&o, &out);
	/* od_json: 2.2.0 is arm64-darwin only; od_web: 3.0.0.rc1 left out; od_pre: locked at one */
	assert_string_equal(sbuf_cstr(&out),
			    "Gem      Current      Latest       Requested  Groups\n"
			    "od_dep   1.0.0        2.0.0\n"
			    "od_json  2.0.0        2.1.0        ~> 2.0     default\n"
			    "od_pre   1.0.0.beta1  1.0.0.beta2  >= 0       default\n"
			    "od_web   1.2.3        2.0.0        >= 0       development, test\n");
	sbuf_release(&out);
}

SC_TEST(outdated_strict_groups_filters_and_gems)
{
	struct sbuf out = SBUF_INIT;
	struct outdated_opts o = { .strict = true, .group = "test" };

	run(&o, &out);
	assert_string_equal(sbuf_cstr(&out),
			    "Gem     Current  Latest  Requested  Groups\n"
			    "od_web  1.2.3    1.3.0   >= 0       development, test\n");
	sbuf_reset(&out);

	struct outdated_opts f = { .filters = { "major" }, .nfilters = 1, .only_explicit = true };
	run(&f, &out);
	assert_string_equal(sbuf_cstr(&out),
			    "Gem     Current  Latest  Requested  Groups\n"
			    "od_web  1.2.3    2.0.0   >= 0       development, test\n");
	sbuf_reset(&out);

	struct outdated_opts p = { .filters = { "patch" }, .nfilters = 1, .parseable = true };
	run(&p, &out);
	assert_string_equal(sbuf_cstr(&out), "");
	sbuf_reset(&out);

	struct outdated_opts m = { .filters = { "patch", "minor" }, .nfilters = 2 };
	run(&m, &out);
	assert_string_equal(sbuf_cstr(&out), "Gem      Current  Latest  Requested  Groups\n"
					     "od_json  2.0.0    2.1.0   ~> 2.0     default\n");
	sbuf_reset(&out);

	const char *const names[] = { "od_dep" };
	struct outdated_opts g = { .strict = true, .gems = names, .ngems = 1, .parseable = true };
	run(&g, &out);
	assert_string_equal(sbuf_cstr(&out), "od_dep (newest 1.0.1, installed 1.0.0)\n");
	sbuf_reset(&out);

	struct outdated_opts pj = { .parseable = true, .pre = true };
	run(&pj, &out);
	assert_string_equal(sbuf_cstr(&out),
			    "od_dep (newest 2.0.0, installed 1.0.0)\n"
			    "od_json (newest 2.1.0, installed 2.0.0, requested ~> 2.0)\n"
			    "od_pre (newest 1.0.0.beta2, installed 1.0.0.beta1)\n"
			    "od_web (newest 3.0.0.rc1, installed 1.2.3)\n");
	sbuf_release(&out);
}

SC_TEST(outdated_nothing_to_show)
{
	struct sbuf out = SBUF_INIT;
	const char *const names[] = { "od_json" };
	struct outdated_opts o = {
		.gems = names, .ngems = 1, .filters = { "patch", "major" }, .nfilters = 2
	};

	run(&o, &out);
	assert_string_equal(sbuf_cstr(&out), "No patch or major updates to display.\n");
	sbuf_reset(&out);
	outdated_format(NULL, 0, &(struct outdated_opts){ 0 }, &out);
	assert_string_equal(sbuf_cstr(&out), "Bundle up to date!\n");
	sbuf_release(&out);
}
