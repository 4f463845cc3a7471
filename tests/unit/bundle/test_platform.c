/*
 * test_platform.c: Gem::Platform parsing, #to_s and matching.
 *
 * The parse table is the output of RubyGems 3.3.15 (Ruby 3.1) for
 *   ruby -e 'p Gem::Platform.new("x86_64-linux-gnu").to_a'
 * with nil written as "". The match table is Gem::Platform#=== and Bundler
 * 2.3.15's MatchPlatform.platforms_match? on the same Ruby, except the rows
 * under "later RubyGems": there scint follows fixes made after 3.3.15 (musl
 * is not glibc, 3.3.23; universal-mingw32 runs on ucrt, 3.3.18; "arm" is not
 * "arm64", 3.5.15), and the expected value is that of Gem::Platform#=== in
 * those releases.
 */
#include <errno.h>
#include <string.h>

#include "base/strv.h"
#include "bundle/platform.h"
#include "sc_test.h"

SC_TEST(platform_parse_matches_rubygems)
{
	static const char *const cases[][5] = {
		/* input, cpu, os, version, to_s */
		{ "x86_64-linux", "x86_64", "linux", "", "x86_64-linux" },
		{ "x86_64-linux-gnu", "x86_64", "linux", "", "x86_64-linux" },
		{ "x86_64-linux-musl", "x86_64", "linux", "musl", "x86_64-linux-musl" },
		{ "aarch64-linux-gnu", "aarch64", "linux", "", "aarch64-linux" },
		{ "aarch64-linux-musl", "aarch64", "linux", "musl", "aarch64-linux-musl" },
		{ "arm-linux-gnueabihf", "arm", "linux", "", "arm-linux" },
		{ "arm-linux-musleabihf", "arm", "linux", "musleabihf", "arm-linux-musleabihf" },
		{ "armv7-linux-eabihf", "armv7", "linux", "eabihf", "armv7-linux-eabihf" },
		{ "i686-linux", "x86", "linux", "", "x86-linux" },
		{ "i386-linux", "x86", "linux", "", "x86-linux" },
		{ "x86-linux", "x86", "linux", "", "x86-linux" },
		{ "arm64-darwin-21", "arm64", "darwin", "21", "arm64-darwin-21" },
		{ "arm64-darwin21", "arm64", "darwin", "21", "arm64-darwin-21" },
		{ "x86_64-darwin-19", "x86_64", "darwin", "19", "x86_64-darwin-19" },
		{ "x86_64-darwin", "x86_64", "darwin", "", "x86_64-darwin" },
		{ "universal-darwin", "universal", "darwin", "", "universal-darwin" },
		{ "universal-darwin-22", "universal", "darwin", "22", "universal-darwin-22" },
		{ "java", "", "java", "", "java" },
		{ "jruby", "", "java", "", "java" },
		{ "universal-java-11", "universal", "java", "11", "universal-java-11" },
		{ "universal-java11", "universal", "java", "11", "universal-java-11" },
		{ "x86-mingw32", "x86", "mingw32", "", "x86-mingw32" },
		{ "x64-mingw32", "x64", "mingw32", "", "x64-mingw32" },
		{ "x64-mingw-ucrt", "x64", "mingw", "ucrt", "x64-mingw-ucrt" },
		{ "x86_64-mingw32", "x86_64", "mingw32", "", "x86_64-mingw32" },
		{ "mingw32", "", "mingw32", "", "mingw32" },
		{ "mswin32", "x86", "mswin32", "", "x86-mswin32" },
		{ "mswin64", "", "mswin64", "", "mswin64" },
		{ "x64-mswin64_140", "x64", "mswin64", "140", "x64-mswin64-140" },
		{ "i386-mswin32", "x86", "mswin32", "", "x86-mswin32" },
		{ "x86-mswin32-60", "x86", "mswin32", "60", "x86-mswin32-60" },
		{ "x86_64-freebsd13", "x86_64", "freebsd", "13", "x86_64-freebsd-13" },
		{ "x86_64-freebsd-13", "x86_64", "freebsd", "13", "x86_64-freebsd-13" },
		{ "sparc-solaris2.8", "sparc", "solaris", "2.8", "sparc-solaris-2.8" },
		{ "i686-darwin8", "x86", "darwin", "8", "x86-darwin-8" },
		{ "powerpc-darwin", "powerpc", "darwin", "", "powerpc-darwin" },
		{ "x86_64-openbsd6.9", "x86_64", "openbsd", "6.9", "x86_64-openbsd-6.9" },
		{ "dalvik21", "", "dalvik", "21", "dalvik-21" },
		{ "dotnet", "", "dotnet", "", "dotnet" },
		{ "dotnet4.0", "", "dotnet", "4.0", "dotnet-4.0" },
		{ "wasm32_platform1", "", "wasm32_platform", "1", "wasm32_platform-1" },
		{ "foo_bar_platform2x", "", "foo_bar_platform", "2", "foo_bar_platform-2" },
		{ "i386", "", "unknown", "", "unknown" },
		{ "x86_64-linux-android", "x86_64", "linux", "android", "x86_64-linux-android" },
		{ "aix7", "", "aix", "7", "aix-7" },
		{ "x86_64-linux-", "x86_64", "linux", "", "x86_64-linux" },
		{ "a--b", "a", "unknown", "", "a-unknown" },
		{ "arm64-darwin-21.3", "arm64", "darwin", "21.3", "arm64-darwin-21.3" },
		{ "x86_64-linux-2", "x86_64", "linux", "2", "x86_64-linux-2" },
		{ "universal-dotnet", "universal", "dotnet", "", "universal-dotnet" },
		{ "x86_64-cygwin", "x86_64", "cygwin", "", "x86_64-cygwin" },
		{ "powerpc-aix5.3", "powerpc", "aix", "5", "powerpc-aix-5" },
		{ "x86_64-netbsdelf7", "x86_64", "netbsdelf", "", "x86_64-netbsdelf" },
		{ "java1.8", "", "java", "1.8", "java-1.8" },
		{ "linuxfoo", "", "linux", "foo", "linux-foo" },
		{ "x86_64-linuxfoo", "x86_64", "linux", "foo", "x86_64-linux-foo" },
		{ "universal-mingw32", "universal", "mingw32", "", "universal-mingw32" },
	};
	struct platform p;
	char buf[128];

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		if (platform_parse(strv_from(cases[i][0]), &p) != 0)
			fail_msg("'%s' did not parse", cases[i][0]);
		platform_to_string(&p, buf, sizeof(buf));
		if (strcmp(p.cpu, cases[i][1]) || strcmp(p.os, cases[i][2]) ||
		    strcmp(p.version, cases[i][3]) || strcmp(buf, cases[i][4]) || p.ruby)
			fail_msg("'%s' -> [%s, %s, %s] '%s', want [%s, %s, %s] '%s'", cases[i][0],
				 p.cpu, p.os, p.version, buf, cases[i][1], cases[i][2], cases[i][3],
				 cases[i][4]);
	}
}

SC_TEST(platform_parse_ruby_and_errors)
{
	struct platform p;
	char buf[8];

	assert_int_equal(platform_parse(STRV_LIT("ruby"), &p), 0);
	assert_true(p.ruby);
	platform_to_string(&p, buf, sizeof(buf));
	assert_string_equal(buf, "ruby");
	assert_int_equal(platform_parse(STRV_LIT(""), &p), -EINVAL);
	assert_int_equal(platform_parse(STRV_LIT("--"), &p), -EINVAL);
	assert_int_equal(platform_parse(STRV_LIT("current"), &p), -EINVAL);
	assert_int_equal(platform_parse(STRV_LIT("averyveryveryveryveryverylongcpuname-linux"), &p),
			 -EINVAL);
	assert_int_equal(
		platform_parse(STRV_LIT("x86_64-linux-averyveryveryveryverylonglibcname"), &p),
		-EINVAL);
	/* An unknown long os is not stored, so it is no error (Ruby says "unknown"). */
	assert_int_equal(platform_parse(STRV_LIT("x86_64-averyveryveryveryverylongosname99"), &p),
			 0);
	assert_string_equal(p.os, "unknown");
	/* A short buffer truncates rather than overflows. */
	assert_int_equal(platform_parse(STRV_LIT("x86_64-linux"), &p), 0);
	platform_to_string(&p, buf, sizeof(buf));
	assert_true(strlen(buf) < sizeof(buf));
}

static bool match(const char *spec, const char *local)
{
	struct platform s, l;

	assert_int_equal(platform_parse(strv_from(spec), &s), 0);
	assert_int_equal(platform_parse(strv_from(local), &l), 0);
	return platform_match(&s, &l);
}

SC_TEST(platform_match_matches_rubygems)
{
	static const struct {
		const char *spec, *local;
		bool want;
	} cases[] = {
		{ "x86_64-linux", "x86_64-linux", true },
		{ "x86_64-linux-gnu", "x86_64-linux", true },
		{ "universal-darwin", "arm64-darwin-21", true },
		{ "arm64-darwin", "arm64-darwin-21", true },
		{ "arm64-darwin-21", "arm64-darwin-22", false },
		{ "arm64-darwin-22", "arm64-darwin", true },
		{ "x86_64-darwin", "arm64-darwin-21", false },
		{ "java", "universal-java-11", true },
		{ "universal-java-11", "java", true },
		{ "x86-mingw32", "x64-mingw32", false },
		{ "x64-mingw32", "x64-mingw-ucrt", false },
		{ "x86_64-linux", "aarch64-linux", false },
		{ "x86-linux", "i686-linux", true },
		{ "arm-linux", "armv7-linux", true },
		{ "x86_64-freebsd", "x86_64-freebsd-13", true },
		{ "x86_64-linux", "x86_64-darwin", false },
		{ "mswin32", "i386-mswin32", true },
		{ "x86_64-mingw32", "x64-mingw32", false },
		/* Later RubyGems: the linux libc rules and the arm64 fix. */
		{ "x86_64-linux-musl", "x86_64-linux", false },
		{ "x86_64-linux-musl", "x86_64-linux-gnu", false },
		{ "x86_64-linux", "x86_64-linux-musl", true },
		{ "x86_64-linux-musl", "x86_64-linux-musl", true },
		{ "arm-linux-musleabihf", "arm-linux-gnueabihf", false },
		{ "arm-linux", "arm-linux-musleabihf", true },
		{ "armv7-linux-eabihf", "armv7-linux", true },
		{ "arm-linux", "arm64-linux", false },
		/* Later RubyGems: universal-mingw32 runs on the ucrt Rubies. */
		{ "universal-mingw32", "x64-mingw-ucrt", true },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		if (match(cases[i].spec, cases[i].local) != cases[i].want)
			fail_msg("'%s' === '%s' should be %d", cases[i].spec, cases[i].local,
				 cases[i].want);
}

SC_TEST(platform_match_ruby)
{
	assert_true(match("ruby", "x86_64-linux"));
	assert_true(match("ruby", "ruby"));
	assert_false(match("x86_64-linux", "ruby"));
}

SC_TEST(platform_rank_orders_variants)
{
	const struct strv local = STRV_LIT("x86_64-linux");

	assert_int_equal(platform_rank(STRV_LIT("x86_64-linux"), local), PLATFORM_EXACT);
	assert_int_equal(platform_rank(STRV_LIT("x86_64-linux-gnu"), local), PLATFORM_EXACT);
	assert_int_equal(platform_rank(STRV_LIT("ruby"), local), PLATFORM_RUBY);
	assert_int_equal(platform_rank(STRV_LIT(""), local), PLATFORM_RUBY);
	assert_int_equal(platform_rank(STRV_LIT("x86_64-linux-musl"), local),
			 PLATFORM_INCOMPATIBLE);
	assert_int_equal(platform_rank(STRV_LIT("aarch64-linux"), local), PLATFORM_INCOMPATIBLE);
	assert_int_equal(platform_rank(STRV_LIT("java"), local), PLATFORM_INCOMPATIBLE);
	assert_int_equal(platform_rank(STRV_LIT("x86_64-linux"), STRV_LIT("x86_64-linux-musl")),
			 PLATFORM_COMPATIBLE);
	/* An explicit glibc build is not for musl (RubyGems 3.4 keeps "gnu" to tell). */
	assert_int_equal(platform_rank(STRV_LIT("x86_64-linux-gnu"), STRV_LIT("x86_64-linux-musl")),
			 PLATFORM_INCOMPATIBLE);
	assert_int_equal(
		platform_rank(STRV_LIT("arm-linux-gnueabihf"), STRV_LIT("arm-linux-musleabihf")),
		PLATFORM_INCOMPATIBLE);
	assert_int_equal(platform_rank(STRV_LIT("x86_64-linux-gnu"), STRV_LIT("x86_64-linux-gnu")),
			 PLATFORM_EXACT);
	assert_int_equal(platform_rank(STRV_LIT("arm64-darwin"), STRV_LIT("arm64-darwin-21")),
			 PLATFORM_COMPATIBLE);
	assert_int_equal(platform_rank(STRV_LIT("universal-darwin"), STRV_LIT("arm64-darwin-23")),
			 PLATFORM_COMPATIBLE);
	assert_int_equal(platform_rank(STRV_LIT("arm64-darwin-22"), STRV_LIT("arm64-darwin-21")),
			 PLATFORM_INCOMPATIBLE);
	assert_int_equal(platform_rank(STRV_LIT("java"), STRV_LIT("universal-java-17")),
			 PLATFORM_COMPATIBLE);
	/* Bundler's generic platforms: x86_64-mingw32 stands for x64-mingw32. */
	assert_int_equal(platform_rank(STRV_LIT("x86_64-mingw32"), STRV_LIT("x64-mingw32")),
			 PLATFORM_COMPATIBLE);
	assert_int_equal(platform_rank(STRV_LIT("mingw32"), STRV_LIT("x86-mingw32")),
			 PLATFORM_COMPATIBLE);
	assert_int_equal(platform_rank(STRV_LIT("x86_64-linux"), STRV_LIT("bogus-")),
			 PLATFORM_INCOMPATIBLE);
	assert_true(PLATFORM_EXACT > PLATFORM_COMPATIBLE && PLATFORM_COMPATIBLE > PLATFORM_RUBY);
}

/* A gem's metadata platform against its lockfile line. */
SC_TEST(platform_same_as_rubygems_normalises)
{
	assert_true(platform_same(STRV_LIT("ruby"), STRV_LIT("ruby")));
	assert_true(platform_same(STRV_LIT(""), STRV_LIT("ruby")));
	assert_true(platform_same(STRV_LIT("x86_64-linux"), STRV_LIT("x86_64-linux")));
	assert_true(platform_same(STRV_LIT("x86_64-linux-gnu"), STRV_LIT("x86_64-linux")));
	assert_true(platform_same(STRV_LIT("i686-linux"), STRV_LIT("x86-linux")));
	assert_true(platform_same(STRV_LIT("arm64-darwin21"), STRV_LIT("arm64-darwin-21")));
	assert_false(platform_same(STRV_LIT("ruby"), STRV_LIT("x86_64-linux")));
	assert_false(platform_same(STRV_LIT("x86_64-linux"), STRV_LIT("")));
	assert_false(platform_same(STRV_LIT("x86_64-linux"), STRV_LIT("x86_64-darwin")));
	assert_false(platform_same(STRV_LIT("x86_64-linux"), STRV_LIT("x86_64-linux-musl")));
	assert_false(platform_same(STRV_LIT("x86_64-linux"), STRV_LIT("aarch64-linux")));
	/* Compatible is not the same: a universal or version-less gem is another gem. */
	assert_false(platform_same(STRV_LIT("universal-darwin"), STRV_LIT("x86_64-darwin")));
	assert_false(platform_same(STRV_LIT("x86_64-darwin"), STRV_LIT("x86_64-darwin-21")));
	assert_false(platform_same(STRV_LIT("current"), STRV_LIT("current")));
}
