/*
 * test_gemspec.c: the gemspec writer in C. Every expected text below was
 * produced by Ruby 3.1 / RubyGems 3.3.15: String#dump for the escapes, and
 * the Ruby helper's `spec` method (phases/ruby/helper.rb) for the whole spec.
 */
#include <errno.h>
#include <string.h>

#include "base/arena.h"
#include "base/err.h"
#include "base/sbuf.h"
#include "bundle/gemspec.h"
#include "sc_test.h"

SC_TEST(dump_matches_ruby)
{
	static const struct {
		const char *in;
		size_t len;
		const char *want;
	} cases[] = {
		{ "plain", 5, "\"plain\"" },
		{ "", 0, "\"\"" },
		{ "q\"b\\s", 5, "\"q\\\"b\\\\s\"" },
		{ "#{x} #$y #@z #a ## end#", 23, "\"\\#{x} \\#$y \\#@z #a ## end#\"" },
		{ "\n\r\t\f\v\b\a\x1b", 8, "\"\\n\\r\\t\\f\\v\\b\\a\\e\"" },
		{ "\x00\x01\x1f\x7f", 4, "\"\\x00\\x01\\x1F\\x7F\"" },
		{ "\xc3\xa9", 2, "\"\\u00E9\"" },
		{ "\xf0\x9f\x98\x80", 4, "\"\\u{1F600}\"" },
		{ "\xe2\x80\xa8\xc2\xa0\xef\xbb\xbf\xc2\x85", 10,
		  "\"\\u2028\\u00A0\\uFEFF\\u0085\"" },
		{ "\xf4\x8f\xbf\xbf", 4, "\"\\u{10FFFF}\"" },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct sbuf out = SBUF_INIT;
		assert_int_equal(gemspec_dump(&out, strv_make(cases[i].in, cases[i].len)), 0);
		if (strcmp(sbuf_cstr(&out), cases[i].want))
			fail_msg("case %zu: got %s, want %s", i, sbuf_cstr(&out), cases[i].want);
		sbuf_release(&out);
	}
}

SC_TEST(dump_refuses_what_is_not_utf8)
{
	static const char *const bad[] = {
		"\xff",		    /* not a lead byte */
		"\xc3",		    /* cut short */
		"\xc0\x80",	    /* overlong NUL */
		"\xe0\x80\xaf",	    /* overlong '/' */
		"\xed\xa0\x80",	    /* a surrogate */
		"\xf4\x90\x80\x80", /* above U+10FFFF */
		"a\x80",	    /* a lone continuation byte */
	};

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct sbuf out = SBUF_INIT;
		if (gemspec_dump(&out, strv_from(bad[i])) != -SC_EUNSUPPORTED)
			fail_msg("case %zu was not refused", i);
		sbuf_release(&out);
	}
}

static const char base_yaml[] = "--- !ruby/object:Gem::Specification\n"
				"name: specver\n"
				"version: !ruby/object:Gem::Version\n"
				"  version: 1.0.0\n"
				"platform: ruby\n"
				"authors:\n"
				"- A\n"
				"autorequire:\n"
				"bindir: bin\n"
				"cert_chain: []\n"
				"date: 2024-01-02 00:00:00.000000000 Z\n"
				"dependencies:\n"
				"- !ruby/object:Gem::Dependency\n"
				"  name: x\n"
				"  requirement: !ruby/object:Gem::Requirement\n"
				"    requirements:\n"
				"    - - \">=\"\n"
				"      - !ruby/object:Gem::Version\n"
				"        version: '0'\n"
				"  type: :runtime\n"
				"  prerelease: false\n"
				"  version_requirements: !ruby/object:Gem::Requirement\n"
				"    requirements:\n"
				"    - - \">=\"\n"
				"      - !ruby/object:Gem::Version\n"
				"        version: '0'\n"
				"description:\n"
				"email:\n"
				"executables: []\n"
				"extensions: []\n"
				"extra_rdoc_files: []\n"
				"files:\n"
				"- lib/specver.rb\n"
				"homepage:\n"
				"licenses: []\n"
				"metadata: {}\n"
				"post_install_message:\n"
				"rdoc_options: []\n"
				"require_paths:\n"
				"- lib\n"
				"required_ruby_version: !ruby/object:Gem::Requirement\n"
				"  requirements:\n"
				"  - - \">=\"\n"
				"    - !ruby/object:Gem::Version\n"
				"      version: '0'\n"
				"required_rubygems_version: !ruby/object:Gem::Requirement\n"
				"  requirements:\n"
				"  - - \">=\"\n"
				"    - !ruby/object:Gem::Version\n"
				"      version: '0'\n"
				"requirements: []\n"
				"rubygems_version: 3.3.15\n"
				"signing_key:\n"
				"specification_version: 3\n"
				"summary: s\n"
				"test_files: []\n";

static const char base_want[] =
	"name\tspecver\nversion\t1.0.0\nplatform\truby\nrequire_paths\tlib\nbindir\tbin\n"
	"executables\t\nextensions\t\ndep\tx\t>= 0\n"
	"---gemspec---\n"
	"# -*- encoding: utf-8 -*-\n"
	"# stub: specver 1.0.0 ruby lib\n"
	"\n"
	"Gem::Specification.new do |s|\n"
	"  s.name = \"specver\".freeze\n"
	"  s.version = \"1.0.0\"\n"
	"\n"
	"  s.required_rubygems_version = Gem::Requirement.new(\">= 0\".freeze) if s.respond_to? "
	":required_rubygems_version=\n"
	"  s.require_paths = [\"lib\".freeze]\n"
	"  s.authors = [\"A\".freeze]\n"
	"  s.date = \"2024-01-02\"\n"
	"  s.rubygems_version = \"3.3.15\".freeze\n"
	"  s.summary = \"s\".freeze\n"
	"\n"
	"  s.installed_by_version = \"3.3.15\" if s.respond_to? :installed_by_version\n"
	"\n"
	"  if s.respond_to? :specification_version then\n"
	"    s.specification_version = 3\n"
	"  end\n"
	"\n"
	"  if s.respond_to? :add_runtime_dependency then\n"
	"    s.add_runtime_dependency(%q<x>.freeze, [\">= 0\"])\n"
	"  else\n"
	"    s.add_dependency(%q<x>.freeze, [\">= 0\"])\n"
	"  end\n"
	"end\n";

/* base_yaml with the first occurrence of from replaced by to. */
static char *variant(struct arena *a, const char *from, const char *to)
{
	const char *p = strstr(base_yaml, from);
	if (!p)
		fail_msg("'%s' is not in the base YAML", from);
	return arena_printf(a, "%.*s%s%s", (int)(p - base_yaml), base_yaml, to, p + strlen(from));
}

static int render(struct arena *a, const char *yaml, const char *rgv, struct sbuf *out,
		  struct sbuf *why)
{
	return gemspec_render(a, strv_from(yaml), rgv, out, why);
}

SC_TEST(render_matches_the_helper)
{
	struct arena a;
	struct sbuf out = SBUF_INIT, why = SBUF_INIT;

	arena_init(&a);
	if (render(&a, base_yaml, "3.3.15", &out, &why))
		fail_msg("declined: %s", sbuf_cstr(&why));
	assert_string_equal(sbuf_cstr(&out), base_want);
	sbuf_release(&out);
	/* Plain scalars Psych reads as strings are written as strings. */
	if (render(&a, variant(&a, "summary: s\n", "summary: 1.2.3 v1 abc\n"), "3.3.15", &out,
		   &why))
		fail_msg("declined: %s", sbuf_cstr(&why));
	assert_non_null(strstr(sbuf_cstr(&out), "  s.summary = \"1.2.3 v1 abc\".freeze\n"));
	sbuf_release(&out);
	/* A backslash in a single-quoted scalar is text (it once hung the parser). */
	if (render(&a, variant(&a, "summary: s\n", "summary: 'a\\b \\'\n"), "3.3.15", &out, &why))
		fail_msg("declined: %s", sbuf_cstr(&why));
	assert_non_null(strstr(sbuf_cstr(&out), "  s.summary = \"a\\\\b \\\\\".freeze\n"));
	sbuf_release(&out);
	/* A Date instead of a Time keeps its day. */
	if (render(&a, variant(&a, "2024-01-02 00:00:00.000000000 Z", "2012-02-29"), "3.3.15", &out,
		   &why))
		fail_msg("declined: %s", sbuf_cstr(&why));
	assert_non_null(strstr(sbuf_cstr(&out), "  s.date = \"2012-02-29\"\n"));
	sbuf_release(&out);
	sbuf_release(&why);
	arena_release(&a);
}

SC_TEST(render_declines_what_it_cannot_be_sure_of)
{
	static const struct {
		const char *from, *to;
	} cases[] = {
		{ "summary: s\n", "summary: 1.0\n" },  /* a Float */
		{ "summary: s\n", "summary: yes\n" },  /* true */
		{ "summary: s\n", "summary: :sym\n" }, /* a Symbol */
		{ "summary: s\n",
		  "summary: :h/t!\n" }, /* a Symbol too (found by fuzzing against Psych) */
		{ "summary: s\n", "summary: 0x1F\n" },		      /* an Integer */
		{ "summary: s\n", "summary: 1:30\n" },		      /* sexagesimal */
		{ "summary: s\n", "summary: 2020-01-01\n" },	      /* a Date */
		{ "summary: s\n", "summary:\n" },		      /* nil */
		{ "summary: s\n", "summary: !str s\n" },	      /* a tag */
		{ "summary: s\n", "summary: &a s\nhomepage2: *a\n" }, /* anchors */
		{ "summary: s\n", "summary: s\nfrobnicate: 1\n" },    /* an unknown key */
		{ "2024-01-02 00:00:00.000000000 Z",
		  "2024-01-02 00:00:00 +01:00" },		     /* local time */
		{ "2024-01-02 00:00:00.000000000 Z", "2024-02-30" }, /* rolls over in Time.utc */
		{ "date: 2024-01-02 00:00:00.000000000 Z\n", "" },   /* today's date */
		{ "platform: ruby", "platform: i686-linux" },	     /* written as x86-linux */
		{ "  version: 1.0.0\n", "  version: 1.0.0-beta\n" }, /* not digits/letters/dots */
		{ "type: :runtime", "type: :optional" },
		{ "specification_version: 3", "specification_version: 010" }, /* octal */
		{ "bindir: bin", "bindir: bin/" },
		{ "- A\n", "- \xff\n" }, /* not UTF-8 */
		{ "--- !ruby/object:Gem::Specification", "!ruby/object:Gem::Specification" },
		{ "- lib\n",
		  "- \"lib\\n\"\n" }, /* a line break the helper refuses in a summary field */
		/* Short plain values Psych tests line by line and with Unicode case folding: */
		{ "summary: s\n", "summary: on\n\n  no\n" },   /* "on\nno" is true */
		{ "summary: s\n", "summary: y\n\n  on\n" },    /* true */
		{ "- A\n", "- ye\xc5\xbf\n" },               /* "ye\u017F" is true */
		{ "- lib\n", "- o\xef\xac\x80\n" },         /* "o\uFB00" is false */
		{ "summary: s\n", "summary: on\n\n  n\xc3\xa9\n" }, /* 5 characters, 6 bytes */
		/* Ignored keys are still loaded: a Symbol or a bad Integer fails the helper. */
		{ "rubygems_version: 3.3.15", "rubygems_version: :foo" },
		{ "rubygems_version: 3.3.15", "rubygems_version: 0b_" },
	};
	struct arena a;

	arena_init(&a);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct sbuf out = SBUF_INIT, why = SBUF_INIT;
		int r = render(&a, variant(&a, cases[i].from, cases[i].to), "3.3.15", &out, &why);
		if (r != -SC_EUNSUPPORTED)
			fail_msg("case %zu (%s): %d, not declined", i, cases[i].to, r);
		if (out.len)
			fail_msg("case %zu: output left behind", i);
		if (!why.len)
			fail_msg("case %zu: no reason", i);
		sbuf_release(&out);
		sbuf_release(&why);
	}
	arena_release(&a);
}

SC_TEST(render_only_for_the_rubygems_it_knows)
{
	static const char *const other[] = { "3.4.0", "3.2.33", "3.3", "3.3.x", "", "4.0.0" };
	struct arena a;
	struct sbuf out = SBUF_INIT, why = SBUF_INIT;

	arena_init(&a);
	for (size_t i = 0; i < sizeof(other) / sizeof(other[0]); i++) {
		assert_int_equal(render(&a, base_yaml, other[i], &out, &why), -SC_EUNSUPPORTED);
		assert_int_equal(out.len, 0);
	}
	assert_int_equal(render(&a, base_yaml, NULL, &out, &why), -SC_EUNSUPPORTED);
	assert_true(gemspec_rubygems_supported("3.3.26"));
	assert_int_equal(render(&a, base_yaml, "3.3.7", &out, &why), 0);
	assert_non_null(strstr(sbuf_cstr(&out), "  s.rubygems_version = \"3.3.7\".freeze\n"));
	sbuf_release(&out);
	sbuf_release(&why);
	arena_release(&a);
}

/*
 * Large lists: 20,000 metadata keys and 3,000 runtime dependencies, each
 * written in reverse order, come out sorted (by qsort: the insertion sort
 * this replaced was quadratic in what hostile metadata can hold).
 */
SC_TEST(render_sorts_large_lists)
{
	struct arena a;
	struct sbuf yaml = SBUF_INIT, out = SBUF_INIT, why = SBUF_INIT;
	const char *deps = strstr(base_yaml, "dependencies:\n"),
		   *desc = strstr(base_yaml, "description:\n");
	const char *meta = strstr(base_yaml, "metadata: {}\n");

	arena_init(&a);
	sbuf_add(&yaml, base_yaml, (size_t)(deps - base_yaml));
	sbuf_addstr(&yaml, "dependencies:\n");
	for (int i = 3000; i > 0; i--)
		sbuf_addf(
			&yaml,
			"- !ruby/object:Gem::Dependency\n  name: d%05d\n"
			"  requirement: !ruby/object:Gem::Requirement\n    requirements:\n"
			"    - - \">=\"\n      - !ruby/object:Gem::Version\n        version: '%d'\n"
			"  type: :runtime\n",
			i, i);
	sbuf_add(&yaml, desc, (size_t)(meta - desc));
	sbuf_addstr(&yaml, "metadata:\n");
	for (int i = 20000; i > 0; i--)
		sbuf_addf(&yaml, "  k%05d: v\n", i);
	sbuf_addstr(&yaml, meta + strlen("metadata: {}\n"));
	if (gemspec_render(&a, sbuf_strv(&yaml), "3.3.15", &out, &why))
		fail_msg("declined: %s", sbuf_cstr(&why));
	const char *d1 = strstr(sbuf_cstr(&out), "dep\td00001\t>= 1\ndep\td00002\t>= 2\n");
	const char *m1 = strstr(sbuf_cstr(&out),
				"s.metadata = { \"k00001\" => \"v\", \"k00002\" => \"v\", ");
	assert_non_null(d1);
	assert_non_null(m1);
	sbuf_release(&yaml);
	sbuf_release(&out);
	sbuf_release(&why);
	arena_release(&a);
}
