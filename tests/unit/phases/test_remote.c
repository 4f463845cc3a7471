/*
 * test_remote.c: the ELF check of remote artifacts (phases/remote.c) on a
 * real ELF file (this test binary): glibc symbol versions against a host
 * version, needed libraries, and every truncation and a sweep of corrupted
 * header bytes (no read outside the buffer: run under ASan).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/err.h"
#include "base/sbuf.h"
#include "fsops/fsops.h"
#include "phases/remote.h"
#include "sc_test.h"

static struct sbuf self_elf(void)
{
	struct sbuf b = SBUF_INIT;

	assert_int_equal(fs_read_file("/proc/self/exe", &b, (size_t)256 << 20), 0);
	assert_true(b.len > 64);
	return b;
}

static bool lib_all(const char *soname, void *data)
{
	(void)soname;
	(void)data;
	return true;
}

static bool lib_no_libc(const char *soname, void *data)
{
	(void)data;
	return strncmp(soname, "libc.so", 7) != 0;
}

SC_TEST(elf_glibc_versions)
{
	struct sbuf b = self_elf(), why = SBUF_INIT;
	const unsigned char *p = (const unsigned char *)b.buf;

	assert_int_equal(remote_elf_check(p, b.len, "2.36", lib_all, NULL, &why), 0);
	assert_int_equal(remote_elf_check(p, b.len, "99.0", NULL, NULL, &why), 0);
	sbuf_reset(&why);
	assert_int_equal(remote_elf_check(p, b.len, "2.0", NULL, NULL, &why), -SC_EUNSAFE);
	assert_non_null(strstr(sbuf_cstr(&why), "needs GLIBC_2."));
	assert_non_null(strstr(sbuf_cstr(&why), "newer than this host's glibc 2.0"));
	sbuf_release(&why);
	sbuf_release(&b);
}

SC_TEST(elf_needed_library_missing)
{
	struct sbuf b = self_elf(), why = SBUF_INIT;

	assert_int_equal(remote_elf_check((const unsigned char *)b.buf, b.len, "99.0", lib_no_libc,
					  NULL, &why),
			 -SC_EUNSAFE);
	assert_non_null(strstr(sbuf_cstr(&why), "needs the shared library libc.so"));
	sbuf_release(&why);
	sbuf_release(&b);
}

SC_TEST(elf_not_elf_passes)
{
	struct sbuf why = SBUF_INIT;

	assert_int_equal(remote_elf_check((const unsigned char *)"#!/bin/sh\n", 10, "2.36", NULL,
					  NULL, &why),
			 0);
	assert_int_equal(remote_elf_check((const unsigned char *)"", 0, "2.36", NULL, NULL, &why),
			 0);
	sbuf_release(&why);
}

/* Every truncation is read within its bounds: accepted or refused, never beyond. */
SC_TEST(elf_truncated_and_corrupted)
{
	struct sbuf b = self_elf(), why = SBUF_INIT;
	size_t step = b.len / 256 + 1;

	/* Each copy is allocated to its exact length, so that ASan sees any overrun. */
	for (size_t n = 0; n < b.len; n += n < 128 ? 1 : step) {
		unsigned char *copy = malloc(n ? n : 1);
		memcpy(copy, b.buf, n);
		sbuf_reset(&why);
		int r = remote_elf_check(copy, n, "2.36", lib_all, NULL, &why);
		assert_true(r == 0 || r == -SC_EUNSAFE);
		free(copy);
	}
	/*
	 * Corrupt each byte of the ELF header and of the section headers in
	 * turn, and a sweep of the rest (the version needs, the dynamic section).
	 */
	unsigned char *copy = malloc(b.len);
	uint64_t shoff;
	memcpy(copy, b.buf, b.len);
	memcpy(&shoff, b.buf + 0x28, 8);
	for (size_t i = 0; i < b.len; i++) {
		if (i >= 64 && (i < shoff || i >= shoff + 64 * 64) && i % 61)
			continue;
		copy[i] ^= 0xff;
		sbuf_reset(&why);
		int r = remote_elf_check(copy, b.len, "2.36", lib_all, NULL, &why);
		assert_true(r == 0 || r == -SC_EUNSAFE);
		copy[i] ^= 0xff;
	}
	free(copy);
	sbuf_release(&why);
	sbuf_release(&b);
}
