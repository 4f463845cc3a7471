/*
 * fuzz_specfile.c: the installed specification reader (info, clean,
 * binstubs) and Bundler's Gemfile edits (add, remove), on arbitrary text.
 *
 * An accepted specification has only checked executable names and no
 * control character but newline and tab in its summary; a Gemfile edit
 * always ends in one newline.
 *
 * FUZZ_OPTIONS: -max_len=16384
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base/arena.h"
#include "base/sbuf.h"
#include "bundle/gemfile_edit.h"
#include "bundle/names.h"
#include "bundle/specfile.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct strv text = strv_make((const char *)data, size);
	struct arena a;
	struct specfile s;
	struct sbuf err = SBUF_INIT, out = SBUF_INIT;
	const char *why;

	arena_init(&a);
	if (specfile_parse(&a, text, &s, &err) == 0) {
		for (size_t i = 0; i < s.nexecutables; i++)
			if (names_check_executable(strv_from(s.executables[i]), &why) < 0)
				abort();
		for (const char *p = s.summary; p && *p; p++)
			if ((unsigned char)*p < 0x20 && *p != '\n' && *p != '\t')
				abort();
	}
	static const char *const names[] = { "rack", "a.b" };
	bool found[2];
	gemfile_remove(text, names, 2, found, &out);
	if (!out.len || out.buf[out.len - 1] != '\n')
		abort();
	arena_release(&a);
	sbuf_release(&err);
	sbuf_release(&out);
	return 0;
}
