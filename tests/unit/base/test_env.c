#include "sc_test.h"

#include <stdlib.h>
#include <string.h>

#include "base/env.h"

extern char **environ;

/* True when every byte of s after its '=' is zero, through end (exclusive). */
static int blank_after_eq(const char *s, size_t end)
{
	const char *eq = strchr(s, '=');

	for (const char *p = eq + 1; p < s + end; p++)
		if (*p)
			return 0;
	return 1;
}

/*
 * A hidden variable leaves the environment and its bytes are blanked where
 * they were (/proc/<pid>/environ shows that memory), a second entry of the
 * same name included; env_get still answers the first value.
 */
SC_TEST(env_hide_blanks_what_it_hides)
{
	static char a[] = "SCINT_REMOTE_CACHE_TOKEN=first-secret";
	static char b[] = "PATH=/usr/bin";
	static char c[] = "SCINT_REMOTE_CACHE_TOKEN=second-secret";
	static char d[] = "SCINT_REMOTE_CACHE=http://user:pw@host/x";
	char *env[] = { a, b, c, d, NULL };
	char **saved = environ;

	environ = env;
	env_hide("SCINT_REMOTE_CACHE");
	const char *token = env_get("SCINT_REMOTE_CACHE_TOKEN");
	const char *url = env_get("SCINT_REMOTE_CACHE");
	int gone = !getenv("SCINT_REMOTE_CACHE_TOKEN") && !getenv("SCINT_REMOTE_CACHE");
	const char *path = getenv("PATH");
	environ = saved;

	assert_non_null(token);
	assert_string_equal(token, "first-secret");
	assert_non_null(url);
	assert_string_equal(url, "http://user:pw@host/x");
	assert_true(gone);
	assert_non_null(path);
	assert_string_equal(path, "/usr/bin");
	assert_true(blank_after_eq(a, sizeof(a)));
	assert_true(blank_after_eq(c, sizeof(c)));
	assert_true(blank_after_eq(d, sizeof(d)));
	assert_string_equal(b, "PATH=/usr/bin");
}
