#include <errno.h>
#include <string.h>

#include "base/sbuf.h"
#include "bundle/names.h"
#include "sc_test.h"

typedef int check_fn(struct strv v, const char **ret_why);

static void assert_ok(check_fn *check, const char *v)
{
	const char *why = NULL;

	if (check(strv_from(v), &why) != 0)
		fail_msg("'%s' refused: %s", v, why);
}

static void assert_refused(check_fn *check, const char *v, const char *why_part)
{
	const char *why = NULL;

	if (check(strv_from(v), &why) != -EINVAL)
		fail_msg("'%s' accepted", v);
	assert_non_null(why);
	if (!strstr(why, why_part))
		fail_msg("'%s': '%s' does not say '%s'", v, why, why_part);
}

SC_TEST(gem_names_follow_rubygems_rule)
{
	assert_ok(names_check_gem, "rack");
	assert_ok(names_check_gem, "net-http-persistent");
	assert_ok(names_check_gem, "sc_color");
	assert_ok(names_check_gem, "ruby2.7_compat");
	assert_ok(names_check_gem, "_guard-core"); /* old gems start with '_' or '-' */
	assert_refused(names_check_gem, "", "empty");
	assert_refused(names_check_gem, "..", "does not start with '.'");
	assert_refused(names_check_gem, ".", "does not start with '.'");
	assert_refused(names_check_gem, ".hidden", "does not start with '.'");
	assert_refused(names_check_gem, "../../x", "only letters");
	assert_refused(names_check_gem, "a/b", "only letters");
	assert_refused(names_check_gem, "a b", "only letters");
	assert_refused(names_check_gem, "a\nb", "only letters");
	assert_refused(names_check_gem, "caf\xc3\xa9", "only letters");
	char long_name[NAMES_GEM_MAX + 2];
	memset(long_name, 'a', sizeof(long_name) - 1);
	long_name[sizeof(long_name) - 1] = '\0';
	assert_refused(names_check_gem, long_name, "too long");
	long_name[NAMES_GEM_MAX] = '\0';
	assert_ok(names_check_gem, long_name);
}

SC_TEST(versions_and_platforms)
{
	assert_ok(names_check_version, "1.0.0");
	assert_ok(names_check_version, "2.0.0.rc1");
	assert_ok(names_check_version, "1.0-pre");
	assert_refused(names_check_version, "", "empty");
	assert_refused(names_check_version, "1.0/..", "only letters");
	assert_refused(names_check_version, " 1.0", "only letters");
	assert_refused(names_check_version, "1..0", "not a valid version");
	assert_refused(names_check_version, "x", "not a valid version");
	/* an entry named like another entry's side file in the cache */
	assert_refused(names_check_version, "1.manifest", "ends like a cache file");
	assert_refused(names_check_version, "1.0.building", "ends like a cache file");
	assert_refused(names_check_version, "1.GEMSPEC", "ends like a cache file");
	assert_refused(names_check_version, "2.lock", "ends like a cache file");
	assert_ok(names_check_version, "1.0.locked");

	assert_ok(names_check_platform, "ruby");
	assert_ok(names_check_platform, "x86_64-linux");
	assert_ok(names_check_platform, "x86_64-linux-gnu");
	assert_ok(names_check_platform, "x64-mingw-ucrt");
	assert_ok(names_check_platform, "universal-java-1.8");
	assert_refused(names_check_platform, "", "empty platform");
	assert_refused(names_check_platform, "x86_64-linux/../../x", "only letters");
	assert_refused(names_check_platform, "..", "does not start with '.'");
	assert_refused(names_check_platform, "x86-.-linux", "does not start with '.'");
	assert_refused(names_check_platform, "x86_64--linux", "empty part");
	assert_refused(names_check_platform, "-linux", "empty part");
	assert_refused(names_check_platform, "linux-", "empty part");
	assert_refused(names_check_platform, "java\t", "only letters");
	assert_refused(names_check_platform, "x86_64-linux.building", "ends like a cache file");
}

SC_TEST(executables_are_one_file_name)
{
	assert_ok(names_check_executable, "rake");
	assert_ok(names_check_executable, "ruby-parse");
	assert_ok(names_check_executable, "_guard-core");
	assert_ok(names_check_executable, "c++filter");
	assert_ok(names_check_executable, ".hidden");
	assert_refused(names_check_executable, "", "empty");
	assert_refused(names_check_executable, ".", "not a file name");
	assert_refused(names_check_executable, "..", "not a file name");
	assert_refused(names_check_executable, "../../../evil", "'/'");
	assert_refused(names_check_executable, "/tmp/evil", "'/'");
	assert_refused(names_check_executable, "bin/x", "'/'");
	assert_refused(names_check_executable, "x\ny", "control character");
	assert_refused(names_check_executable, "x\x1b[2J", "control character");
	/* The name is pasted into the wrapper's Ruby code. */
	assert_refused(names_check_executable, "x', system('id'), '", "quote");
	assert_refused(names_check_executable, "x\"", "quote");
	assert_refused(names_check_executable, "#{`id`}", "quote");
	assert_refused(names_check_executable, "x\\", "quote");
}

SC_TEST(spec_and_entry_paths)
{
	assert_ok(names_check_spec_path, "lib");
	assert_ok(names_check_spec_path, ".");
	assert_ok(names_check_spec_path, "ext/foo/extconf.rb");
	assert_ok(names_check_spec_path, "./lib/");
	assert_ok(names_check_spec_path, "a..b/..c");
	assert_refused(names_check_spec_path, "", "empty");
	assert_refused(names_check_spec_path, "/usr/lib", "absolute");
	assert_refused(names_check_spec_path, "..", "'..'");
	assert_refused(names_check_spec_path, "lib/../../x", "'..'");
	assert_refused(names_check_spec_path, "lib/..", "'..'");
	assert_refused(names_check_spec_path, "li\rb", "control");

	assert_ok(names_check_entry_path, "lib/rack.rb");
	assert_ok(names_check_entry_path, "a");
	assert_refused(names_check_entry_path, "lib//x", "empty or '.'");
	assert_refused(names_check_entry_path, "./lib", "empty or '.'");
	assert_refused(names_check_entry_path, "lib/", "empty or '.'");
	assert_refused(names_check_entry_path, "lib/../x", "'..'");
	assert_refused(names_check_entry_path, "/lib", "absolute");

	assert_ok(names_check_component, "3.1.0");
	assert_ok(names_check_component, "ruby-3.1.2-x86_64-linux");
	assert_refused(names_check_component, "..", "not a file name");
	assert_refused(names_check_component, "a/b", "'/'");
	assert_refused(names_check_component, "a\n", "control");
}

/* Links of a test tree: "lib/up" -> "..", "lib/deep" -> "x/y/z", "loop" -> "loop". */
static const char *test_follow(struct strv path, void *data)
{
	static const char *const links[][2] = {
		{ "lib/up", ".." }, { "lib/deep", "x/y/z" },
		{ "loop", "loop" }, { "lib/abs", "/etc" },
		{ "a", "b" },	    { "b", "c" },
		{ "c", "lib" },
	};

	(void)data;
	for (size_t i = 0; i < sizeof(links) / sizeof(links[0]); i++)
		if (strv_eq_cstr(path, links[i][0]))
			return links[i][1];
	return NULL;
}

static int link_check(const char *path, const char *target, const char **why)
{
	return names_check_link(strv_from(path), strv_from(target), test_follow, NULL, why);
}

SC_TEST(symlinks_stay_inside_their_root)
{
	const char *why = NULL;

	assert_int_equal(link_check("lib/alias.rb", "rack.rb", &why), 0);
	assert_int_equal(link_check("lib/a/b", "../../README", &why), 0);
	assert_int_equal(link_check("lib/x", ".", &why), 0);
	assert_int_equal(link_check("lib/x", "..", &why), 0);
	assert_int_equal(link_check("lib/x", "./y//z", &why), 0);
	/* Through harmless links: lib/deep/.. is lib/x/y, lib/up is the root. */
	assert_int_equal(link_check("lib/x", "deep/../..", &why), 0);
	assert_int_equal(link_check("top", "a/rack.rb", &why), 0);

	assert_int_equal(link_check("lib/x", "../..", &why), -EINVAL);
	assert_string_equal(why, "symlink points outside the gem");
	assert_int_equal(link_check("x", "..", &why), -EINVAL);
	assert_int_equal(link_check("lib/x", "/etc/passwd", &why), -EINVAL);
	assert_string_equal(why, "absolute symlink target");
	assert_int_equal(link_check("lib/x", "", &why), -EINVAL);
	assert_int_equal(link_check("lib/x", "a\nb", &why), -EINVAL);
	assert_int_equal(link_check("lib/../x", "y", &why), -EINVAL);
	/* Each link alone stays inside; followed, they lead out. */
	assert_int_equal(link_check("lib/x", "up/..", &why), -EINVAL);
	assert_string_equal(why, "symlink points outside the gem");
	assert_int_equal(link_check("lib/x", "abs", &why), -EINVAL);
	assert_int_equal(link_check("lib/x", "deep/../../../../..", &why), -EINVAL);
	assert_int_equal(link_check("z", "a/../..", &why), -EINVAL);
	/* Lexically "up/../lib" stays in; resolved, "up" is the root and ".." leaves it. */
	assert_int_equal(link_check("lib/x", "up/../lib", &why), -EINVAL);
	assert_int_equal(link_check("lib/x", "../loop", &why), -EINVAL);
	assert_string_equal(why, "too many levels of symlinks");
	/* Without a follow function the check is lexical. */
	assert_int_equal(
		names_check_link(STRV_LIT("lib/x"), STRV_LIT("up/../lib"), NULL, NULL, &why), 0);
}

SC_TEST(quote_escapes_hostile_bytes)
{
	struct sbuf out = SBUF_INIT;
	char big[NAMES_QUOTE_MAX + 10];

	names_quote(&out, STRV_LIT("../x\x1b[2J'\\"));
	assert_string_equal(out.buf, "'../x\\x1b[2J\\x27\\x5c'");
	sbuf_reset(&out);
	memset(big, 'a', sizeof(big));
	names_quote(&out, strv_make(big, sizeof(big)));
	assert_int_equal(out.len, NAMES_QUOTE_MAX + 5);
	assert_non_null(strstr(out.buf, "a...'"));
	sbuf_release(&out);
}
