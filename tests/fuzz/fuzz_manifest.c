/*
 * fuzz_manifest.c: a cache entry's manifest (manifest_parse), which comes
 * from the shared cache and so may have been written by anyone, and the same
 * bytes as the Ruby helper's spec answer (gem_summary_parse).
 *
 * An accepted manifest is written back (manifest_write); that text must
 * parse again and write back to the same bytes.
 *
 * FUZZ_OPTIONS: -max_len=65536
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/arena.h"
#include "base/sbuf.h"
#include "bundle/manifest.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(const struct manifest *m)
{
	size_t nfiles = 0;

	for (size_t i = 0; i < m->nentries; i++) {
		const struct mf_entry *e = &m->entries[i];
		if (!e->path || e->mode > 0777) /* never setuid, setgid or sticky */
			abort();
		if (e->type == MF_FILE) {
			nfiles++;
			if (!e->sha256 || strlen(e->sha256) != 64)
				abort();
		}
		if (e->type == MF_SYMLINK && !e->target)
			abort();
	}
	if (nfiles != m->nfiles)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct strv text = strv_make((const char *)data, size);
	struct arena a;
	struct manifest m, again;
	struct gem_summary s;
	struct strv gemspec;
	struct sbuf err = SBUF_INIT, out = SBUF_INIT, out2 = SBUF_INIT;

	arena_init(&a);
	if (gem_summary_parse(&a, text, &s, &gemspec) == 0) {
		if (!s.name || !s.version || !s.platform || !s.bindir)
			abort();
		if (gemspec.len &&
		    (gemspec.p < text.p || gemspec.p + gemspec.len > text.p + text.len))
			abort();
	}
	if (manifest_parse(&a, text, &m, &err) < 0) {
		if (err.len == 0)
			abort();
		goto out;
	}
	check(&m);
	manifest_write(&m, &out);
	sbuf_reset(&err);
	if (manifest_parse(&a, sbuf_strv(&out), &again, &err) < 0) {
		fprintf(stderr, "written manifest does not parse: %s\n---\n%s---\n",
			sbuf_cstr(&err), sbuf_cstr(&out));
		abort();
	}
	check(&again);
	manifest_write(&again, &out2);
	if (!strv_eq(sbuf_strv(&out), sbuf_strv(&out2))) {
		fprintf(stderr, "write is not a fixed point:\n---\n%s---\n%s---\n", sbuf_cstr(&out),
			sbuf_cstr(&out2));
		abort();
	}
out:
	sbuf_release(&out2);
	sbuf_release(&out);
	sbuf_release(&err);
	arena_release(&a);
	return 0;
}
