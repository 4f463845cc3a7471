#include "sc_test.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define SC_TEST_MAX 512

static struct CMUnitTest sc_tests[SC_TEST_MAX];
static size_t sc_ntests;
static char sc_tmp[256];

void sc_test_register(const char *name, void (*fn)(void **state))
{
	if (sc_ntests == SC_TEST_MAX)
		abort();
	sc_tests[sc_ntests++] = (struct CMUnitTest){ .name = name, .test_func = fn };
}

static void sc_test_cleanup(void)
{
	if (sc_tmp[0]) {
		char cmd[300];
		snprintf(cmd, sizeof(cmd), "rm -rf '%s'", sc_tmp);
		if (system(cmd) != 0)
			fprintf(stderr, "cannot remove %s\n", sc_tmp);
	}
}

const char *sc_test_tmpdir(void)
{
	if (!sc_tmp[0]) {
		const char *base = getenv("TMPDIR");
		snprintf(sc_tmp, sizeof(sc_tmp), "%s/sc-test-XXXXXX", base ? base : "/tmp");
		if (!mkdtemp(sc_tmp)) {
			perror("mkdtemp");
			abort();
		}
		atexit(sc_test_cleanup);
	}
	return sc_tmp;
}

int sc_test_count_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	int n = 0;

	if (!d) {
		perror("opendir /proc/self/fd");
		abort();
	}
	while (readdir(d))
		n++;
	closedir(d);
	return n;
}

int main(int argc, char **argv)
{
	const char *name = strrchr(argv[0], '/');

	(void)argc;
	name = name ? name + 1 : argv[0];
	return _cmocka_run_group_tests(name, sc_tests, sc_ntests, NULL, NULL);
}
