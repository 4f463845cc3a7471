/*
 * test_bconfig_load.c: the reading side of the settings reports errors in
 * the order Bundler meets them: the local file (unreadable, then malformed)
 * before the global one.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/arena.h"
#include "base/err.h"
#include "base/sbuf.h"
#include "bundle/config.h"
#include "sc_test.h"

static void put(const char *path, const char *text)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	close(fd);
}

SC_TEST(bconfig_load_reports_the_local_file_first)
{
	struct arena a;
	struct bconfig c;
	struct sbuf err = SBUF_INIT;
	char app[512], home[512], path[600];

	arena_init(&a);
	snprintf(app, sizeof(app), "%s/app/.bundle", sc_test_tmpdir());
	snprintf(home, sizeof(home), "%s/home", sc_test_tmpdir());
	snprintf(path, sizeof(path), "%s/app", sc_test_tmpdir());
	assert_int_equal(mkdir(path, 0755), 0);
	assert_int_equal(mkdir(app, 0755), 0);
	assert_int_equal(mkdir(home, 0755), 0);
	snprintf(path, sizeof(path), "%s/.bundle", home);
	assert_int_equal(mkdir(path, 0755), 0);
	/* The global config is a directory: unreadable. */
	snprintf(path, sizeof(path), "%s/.bundle/config", home);
	assert_int_equal(mkdir(path, 0755), 0);
	char *envp[] = { NULL };

	/* A good local file: the global one's read error. */
	snprintf(path, sizeof(path), "%s/config", app);
	put(path, "---\nBUNDLE_PATH: \"v\"\n");
	assert_int_equal(bconfig_load(&c, &a, app, home, envp, &err), -EISDIR);
	assert_non_null(strstr(sbuf_cstr(&err), "cannot read"));
	assert_non_null(strstr(sbuf_cstr(&err), "home/.bundle/config"));

	/* A malformed local file comes first. */
	sbuf_reset(&err);
	put(path, "---\n- \"x\"\n");
	assert_int_equal(bconfig_load(&c, &a, app, home, envp, &err), -SC_ECONFIG);
	assert_non_null(strstr(sbuf_cstr(&err), "app/.bundle/config"));
	assert_null(strstr(sbuf_cstr(&err), "cannot read"));

	/* Both fine: both layers, each with its path. */
	snprintf(path, sizeof(path), "%s/.bundle/config", home);
	assert_int_equal(rmdir(path), 0);
	put(path, "---\nBUNDLE_JOBS: \"3\"\n");
	snprintf(path, sizeof(path), "%s/config", app);
	put(path, "---\nBUNDLE_PATH: \"v\"\n");
	sbuf_reset(&err);
	assert_int_equal(bconfig_load(&c, &a, app, home, envp, &err), 0);
	assert_string_equal(bconfig_get(&c, "BUNDLE_PATH"), "v");
	assert_string_equal(bconfig_get(&c, "BUNDLE_JOBS"), "3");
	assert_non_null(c.global.path);
	sbuf_release(&err);
	arena_release(&a);
}
