#include <string.h>

#include "base/arena.h"
#include "base/sbuf.h"
#include "bundle/gitsrc.h"
#include "sc_test.h"

static void assert_url_ok(const char *u)
{
	const char *why = NULL;

	if (!gitsrc_url_ok(u, &why))
		fail_msg("'%s' refused: %s", u, why);
}

static void assert_url_refused(const char *u, const char *why_part)
{
	const char *why = NULL;

	if (gitsrc_url_ok(u, &why))
		fail_msg("'%s' accepted", u);
	assert_non_null(why);
	if (!strstr(why, why_part))
		fail_msg("'%s': '%s' does not say '%s'", u, why, why_part);
}

SC_TEST(remotes_git_may_fetch)
{
	assert_url_ok("https://github.com/rails/rails.git");
	assert_url_ok("http://127.0.0.1:8080/x.git");
	assert_url_ok("git://127.0.0.1:9418/x.git");
	assert_url_ok("ssh://git@example.com/x.git");
	assert_url_ok("file:///srv/git/x.git");
	assert_url_ok("/srv/git/my repo.git");
	assert_url_ok("git@github.com:rails/rails.git");
}

SC_TEST(remotes_that_would_run_commands_are_refused)
{
	assert_url_refused("ext::sh -c touch% /tmp/x", "transport helpers");
	assert_url_refused("fd::3", "transport helpers");
	assert_url_refused("https://x/y::z", "transport helpers");
	assert_url_refused("--upload-pack=touch /tmp/x", "option");
	assert_url_refused("-c", "option");
	assert_url_refused("ssh://-oProxyCommand=touch%20x/y.git", "option");
	assert_url_refused("ssh://git@-oProxyCommand=x/y.git", "option");
	assert_url_refused("git@-oProxyCommand=x:y.git", "option");
	assert_url_refused("https://example.com/x\n.git", "control character");
	assert_url_refused("relative/path.git", "not an absolute path");
	assert_url_refused("", "option");
}

SC_TEST(local_remotes_are_told_apart)
{
	assert_true(gitsrc_url_is_local("/srv/git/x.git"));
	assert_true(gitsrc_url_is_local("file:///srv/git/x.git"));
	assert_true(gitsrc_url_is_local("file:/srv/git/x.git"));
	assert_false(gitsrc_url_is_local("git://127.0.0.1:9418/x.git"));
	assert_false(gitsrc_url_is_local("https://example.com/x.git"));
	assert_false(gitsrc_url_is_local("git@example.com:x.git"));
	assert_false(gitsrc_url_is_local("ssh://example.com/srv/x.git"));
}

SC_TEST(revisions_are_forty_lower_case_hex)
{
	assert_true(gitsrc_is_revision("b7f44264868806fc184e3f5bda992b883adf06bf"));
	assert_false(gitsrc_is_revision("B7F44264868806FC184E3F5BDA992B883ADF06BF"));
	assert_false(gitsrc_is_revision("b7f442648688"));
	assert_false(gitsrc_is_revision("HEAD"));
	assert_false(gitsrc_is_revision("--output=/tmp/x"));
	assert_false(gitsrc_is_revision("b7f44264868806fc184e3f5bda992b883adf06bf0"));
}

SC_TEST(refs_of_the_gemfile_are_no_options_and_hold_no_controls)
{
	const char *why;
	char long_ref[GITSRC_REF_MAX + 2];

	assert_true(gitsrc_ref_ok("main", &why));
	assert_true(gitsrc_ref_ok("refs/pull/12/head", &why));
	assert_true(gitsrc_ref_ok("v1.0.0", &why));
	assert_true(gitsrc_ref_ok("b7f4426", &why));
	assert_false(gitsrc_ref_ok("", &why));
	assert_non_null(why);
	assert_false(gitsrc_ref_ok("--upload-pack=touch /tmp/x", &why));
	assert_false(gitsrc_ref_ok("-q", &why));
	assert_false(gitsrc_ref_ok("main\n  revision: 0000", &why));
	assert_false(gitsrc_ref_ok("a b", &why));
	assert_false(gitsrc_ref_ok("tab\there", &why));
	assert_false(gitsrc_ref_ok("del\x7f", &why));
	memset(long_ref, 'a', sizeof(long_ref) - 1);
	long_ref[sizeof(long_ref) - 1] = '\0';
	assert_false(gitsrc_ref_ok(long_ref, &why));
	long_ref[GITSRC_REF_MAX] = '\0';
	assert_true(gitsrc_ref_ok(long_ref, &why));
}

SC_TEST(base_name_and_slug)
{
	struct arena a;

	arena_init(&a);
	assert_string_equal(gitsrc_base_name(&a, "https://github.com/rails/rails.git"), "rails");
	assert_string_equal(gitsrc_base_name(&a, "git@github.com:rails/rails.git/"), "rails");
	assert_string_equal(gitsrc_base_name(&a, "git@host:repo"), "repo");
	assert_string_equal(gitsrc_base_name(&a, "/srv/riggit.git"), "riggit");
	const char *s = gitsrc_slug(&a, "https://github.com/rails/rails.git");
	assert_int_equal(strncmp(s, "github.com-rails-rails.git-", 27), 0);
	assert_int_equal(strlen(s), 27 + 8);
	/* One path component, whatever the URL holds. */
	s = gitsrc_slug(&a, "file:///../../etc/x/../..");
	assert_null(strchr(s, '/'));
	assert_null(strstr(s, ".."));
	assert_true(s[0] != '.' && s[0] != '-');
	assert_string_not_equal(gitsrc_slug(&a, "https://h/a.git"),
				gitsrc_slug(&a, "https://h/a.git/"));
	arena_release(&a);
}

SC_TEST(submodule_urls_resolve_like_git)
{
	struct arena a;

	arena_init(&a);
	assert_string_equal(gitsrc_resolve_url(&a, "https://h/org/super.git", "../lib.git"),
			    "https://h/org/lib.git");
	assert_string_equal(gitsrc_resolve_url(&a, "https://h/org/super.git", "./sub"),
			    "https://h/org/super.git/sub");
	assert_string_equal(gitsrc_resolve_url(&a, "git@h:org/super.git", "../../other/x.git"),
			    "git@h:other/x.git");
	assert_string_equal(gitsrc_resolve_url(&a, "git@h:org/super.git", "../lib.git"),
			    "git@h:org/lib.git");
	assert_string_equal(gitsrc_resolve_url(&a, "https://h/a.git", "https://elsewhere/b.git"),
			    "https://elsewhere/b.git");
	arena_release(&a);
}

SC_TEST(gitmodules_lookup_by_path)
{
	struct arena a;
	struct sbuf cfg = SBUF_INIT;
	static const char text[] =
		"submodule.one.path\nvendor/one\0submodule.one.url\nhttps://h/one.git\0"
		"submodule.a.b.path\nvendor/two\0submodule.a.b.url\n../two.git\0"
		"core.x\ny\0";

	arena_init(&a);
	sbuf_add(&cfg, text, sizeof(text) - 1);
	assert_string_equal(gitsrc_module_get(&a, &cfg, "vendor/one", "url"), "https://h/one.git");
	assert_string_equal(gitsrc_module_get(&a, &cfg, "vendor/two", "url"), "../two.git");
	assert_null(gitsrc_module_get(&a, &cfg, "vendor/three", "url"));
	assert_null(gitsrc_module_get(&a, &cfg, "vendor/one", "branch"));
	sbuf_release(&cfg);
	arena_release(&a);
}
