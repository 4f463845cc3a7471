#include <errno.h>
#include <string.h>

#include "base/arena.h"
#include "base/sbuf.h"
#include "bundle/specfile.h"
#include "sc_test.h"

static const char spec_text[] =
	"# -*- encoding: utf-8 -*-\n"
	"# stub: sc_tool 1.4.0 ruby lib\n"
	"\n"
	"Gem::Specification.new do |s|\n"
	"  s.name = \"sc_tool\".freeze\n"
	"  s.metadata = { \"bug_tracker_uri\" => \"https://x/issues\", \"source_code_uri\" => "
	"\"https://x/\\\"q\\\"\" } if s.respond_to? :metadata=\n"
	"  s.bindir = \"exe\".freeze\n"
	"  s.executables = [\"sctool\".freeze, \"sc-two\".freeze]\n"
	"  s.homepage = \"https://example.invalid/sc_tool\".freeze\n"
	"  s.summary = \"A tool \\u00E9 \\e[31mred\\#{x}\".freeze\n"
	"end\n";

SC_TEST(reads_the_plain_fields)
{
	struct arena a;
	struct specfile s;
	struct sbuf err = SBUF_INIT;

	arena_init(&a);
	assert_int_equal(specfile_parse(&a, strv_from(spec_text), &s, &err), 0);
	assert_string_equal(s.summary, "A tool \xc3\xa9 ?[31mred#{x}");
	assert_string_equal(s.homepage, "https://example.invalid/sc_tool");
	assert_string_equal(s.bindir, "exe");
	assert_int_equal(s.nexecutables, 2);
	assert_string_equal(s.executables[1], "sc-two");
	assert_string_equal(specfile_meta(&s, "source_code_uri"), "https://x/\"q\"");
	assert_string_equal(specfile_meta(&s, "bug_tracker_uri"), "https://x/issues");
	assert_null(specfile_meta(&s, "wiki_uri"));
	arena_release(&a);
	sbuf_release(&err);
}

SC_TEST(refuses_hostile_executables_and_skips_odd_lines)
{
	struct arena a;
	struct specfile s;
	struct sbuf err = SBUF_INIT;

	arena_init(&a);
	assert_int_equal(specfile_parse(&a,
					strv_from("  s.executables = [\"../../evil\".freeze]\n"),
					&s, &err),
			 -EINVAL);
	sbuf_reset(&err);
	assert_int_equal(specfile_parse(&a, strv_from("  s.bindir = \"../x\"\n"), &s, &err),
			 -EINVAL);
	sbuf_reset(&err);
	/* Unterminated strings, expressions and other forms leave the field unset. */
	assert_int_equal(specfile_parse(&a,
					strv_from("  s.summary = \"open\n"
						  "  s.homepage = ENV[\"X\"]\n"
						  "  s.executables = [\"a\".freeze, x]\n"
						  "  s.metadata = { \"k\" => 1 }\n"),
					&s, &err),
			 0);
	assert_null(s.summary);
	assert_null(s.homepage);
	assert_int_equal(s.nexecutables, 0);
	assert_int_equal(s.nmeta, 0);
	assert_string_equal(s.bindir, "bin");
	arena_release(&a);
	sbuf_release(&err);
}
