/*
 * fuzz_gemspec.c: the gemspec writer (bundle/gemspec.c) behind the YAML
 * parser, on arbitrary metadata text.
 *
 * An accepted spec reads back through gem_summary_parse, and
 * gem_summary_check either passes it or refuses it cleanly; its gemspec
 * holds no raw control character but the line breaks and the NULs that
 * join the "# stub:" lines' paths (String#dump escapes everything else);
 * the same input gives the same bytes twice. A declined input leaves the
 * output empty and says why.
 *
 * FUZZ_OPTIONS: -max_len=16384
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base/arena.h"
#include "base/err.h"
#include "base/sbuf.h"
#include "bundle/gemspec.h"
#include "bundle/manifest.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct strv text = strv_make((const char *)data, size);
	struct arena a;
	struct sbuf out = SBUF_INIT, again = SBUF_INIT, why = SBUF_INIT;

	arena_init(&a);
	int r = gemspec_render(&a, text, "3.3.15", &out, &why);
	if (r < 0) {
		if (out.len || (r == -SC_EUNSUPPORTED && !why.len))
			abort();
		goto done;
	}
	if (gemspec_render(&a, text, "3.3.15", &again, NULL) != 0 || again.len != out.len ||
	    memcmp(again.buf, out.buf, out.len))
		abort();
	struct gem_summary s;
	struct strv gemspec;
	if (gem_summary_parse(&a, sbuf_strv(&out), &s, &gemspec) < 0)
		abort();
	(void)gem_summary_check(&s, NULL);
	bool stub = false;
	for (size_t i = 0; i < gemspec.len; i++) {
		unsigned char c = (unsigned char)gemspec.p[i];
		if (i == 0 || gemspec.p[i - 1] == '\n')
			stub = strv_starts_with(strv_drop(gemspec, i), "# stub: ");
		if ((c < 0x20 && c != '\n' && !(c == 0 && stub)) || c == 0x7f)
			abort();
	}
done:
	arena_release(&a);
	sbuf_release(&out);
	sbuf_release(&again);
	sbuf_release(&why);
	return 0;
}
