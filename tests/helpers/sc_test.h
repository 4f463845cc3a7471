/*
 * sc_test.h: self-registering cmocka tests (the apk-tools pattern).
 *
 *   SC_TEST(version_compare) { assert_int_equal(...); }
 *
 * Each test binary links sc_test_main.c, which runs every registered test
 * in one cmocka group named after the binary. A test that cannot run here
 * calls skip(); tests/run.sh counts it as skipped.
 */
#pragma once

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

void sc_test_register(const char *name, void (*fn)(void **state));

#define SC_TEST(name)                                                                              \
	static void test_##name(void **state);                                                     \
	__attribute__((constructor)) static void sc_test_reg_##name(void)                          \
	{                                                                                          \
		sc_test_register(#name, test_##name);                                              \
	}                                                                                          \
	static void test_##name(void **state __attribute__((unused)))

/* A fresh temporary directory (removed at exit); returns its path. */
const char *sc_test_tmpdir(void);

/* How many descriptors this process has open (entries of /proc/self/fd). */
int sc_test_count_fds(void);
