/* Expected texts are what Bundler 2.3.15's Injector writes for the same input. */
#include <errno.h>
#include <string.h>

#include "base/sbuf.h"
#include "bundle/gemfile_edit.h"
#include "sc_test.h"

static void check_remove(const char *in, const char *const *names, size_t n, const char *want)
{
	struct sbuf out = SBUF_INIT;
	bool found[8];

	gemfile_remove(strv_from(in), names, n, found, &out);
	assert_string_equal(out.buf, want);
	sbuf_release(&out);
}

SC_TEST(remove_matches_bundler)
{
	const char *rack[] = { "rack" }, *rack_pg[] = { "rack", "pg" }, *c[] = { "c" },
		   *d[] = { "d" };

	check_remove("source \"https://x\"\n\ngem \"rack\"\ngem 'rails', '~> 7.0'\n", rack, 1,
		     "source \"https://x\"\n\ngem 'rails', '~> 7.0'\n");
	check_remove("gem(\"rack\")\n# gem \"pg\"\ngem \"pg\" # db\ngem \"x\" # gem 'rack'\n",
		     rack_pg, 2, "# gem \"pg\"\ngem \"x\" # gem 'rack'\n");
	check_remove("source \"s\"\n\ngroup :test do\n  gem \"rack\",\n    require: false,\n    "
		     "platforms: :ruby\nend\n\ngem \"a\"\n\n\n\ngem \"b\"\n",
		     rack, 1, "source \"s\"\n\ngem \"a\"\n\n\n\ngem \"b\"\n");
	check_remove("group :a do\n  group :b do\n    gem \"c\"\n  end\nend\ngem \"d\"\n", c, 1,
		     "gem \"d\"\n");
	check_remove("gem \"c\"\ngem \"d\"", d, 1, "gem \"c\"\n");
	check_remove("gem \"c\"\r\ngem \"d\"\r\n", d, 1, "gem \"c\"\n");
	check_remove("gem \"rack-test\"\ngem  'rack'\nmygem \"rack\"\n", rack, 1,
		     "gem \"rack-test\"\n");
}

SC_TEST(remove_reports_what_it_found)
{
	const char *names[] = { "a", "zz" };
	bool found[2];
	struct sbuf out = SBUF_INIT;

	gemfile_remove(strv_from("gem \"a\"\n# gem \"zz\"\n"), names, 2, found, &out);
	assert_true(found[0]);
	assert_false(found[1]);
	sbuf_release(&out);
}

static void check_line(const char *name, const char *const *reqs, size_t nreqs,
		       const char *const *groups, size_t ngroups, const char *want)
{
	struct sbuf out = SBUF_INIT, err = SBUF_INIT;
	int r = gemfile_add_line(&out, name, reqs, nreqs, groups, ngroups, &err);

	if (!want) {
		assert_int_equal(r, -EINVAL);
		assert_true(err.len > 0);
	} else {
		assert_int_equal(r, 0);
		assert_string_equal(out.buf, want);
	}
	sbuf_release(&out);
	sbuf_release(&err);
}

SC_TEST(add_line_is_bundlers)
{
	const char *r1[] = { "~> 1.2" }, *r2[] = { "1.0-beta", ">=2", "1.0-beta" };
	const char *g1[] = { "test" }, *g2[] = { "development", "test" }, *gd[] = { "default" };
	const char *bad1[] = { "1.0\"; system(\"x\")" }, *bad2[] = { "~>" }, *bad3[] = { "1..2" };
	const char *badg[] = { "a-b" };

	check_line("rack", r1, 1, NULL, 0, "gem \"rack\", \"~> 1.2\"");
	check_line("rack", r2, 3, g1, 1,
		   "gem \"rack\", \"= 1.0.pre.beta\", \">= 2\", :group => :test");
	check_line("rack", r1, 1, g2, 2, "gem \"rack\", \"~> 1.2\", :groups => [:development, :test]");
	check_line("rack", r1, 1, gd, 1, "gem \"rack\", \"~> 1.2\"");
	check_line("../evil", r1, 1, NULL, 0, NULL);
	check_line("rack", bad1, 1, NULL, 0, NULL);
	check_line("rack", bad2, 1, NULL, 0, NULL);
	check_line("rack", bad3, 1, NULL, 0, NULL);
	check_line("rack", r1, 1, badg, 1, NULL);
}

SC_TEST(append_is_puts)
{
	struct sbuf out = SBUF_INIT;

	gemfile_append(strv_from("gem \"a\"\n"), "gem \"b\", \"= 1\"", &out);
	assert_string_equal(out.buf, "gem \"a\"\n\ngem \"b\", \"= 1\"\n");
	sbuf_release(&out);
}

static void check_cons(const char *version, const char *prefix, const char *want)
{
	struct sbuf out = SBUF_INIT;
	int r = gemfile_conservative_req(version, prefix, &out);

	if (!want) {
		assert_true(r < 0);
	} else {
		assert_int_equal(r, 0);
		assert_string_equal(out.buf, want);
	}
	sbuf_release(&out);
}

/* Injector#conservative_version, values from Gem::Version in Ruby 3.1. */
SC_TEST(conservative_version)
{
	check_cons("1.2.3", "~> ", "~> 1.2");
	check_cons("1", "~> ", "~> 1");
	check_cons("1.0", "= ", "= 1.0");
	check_cons("10.02.3", ">= ", ">= 10.2");
	check_cons("0.3.1.4", "~> ", "~> 0.3.1");
	check_cons("0.3", "~> ", "~> 0.3");
	check_cons("2.0.0.rc1", "~> ", "~> 2.0.rc1");
	check_cons("1.0.a", "~> ", "~> 1.0.a.a"); /* below 1.0: three segments, "a" among them */
	check_cons("0.9.0.beta", "~> ", "~> 0.9.0.beta");
	check_cons("1.0\"x", "~> ", NULL);
	check_cons("x1", "~> ", NULL);
}
