/*
 * fuzz_lockfile.c: lockfile_parse() on arbitrary bytes.
 *
 * A rejected text must come with a message. An accepted one is written back
 * (lockfile_write), and the canonical text must parse again and write back
 * to the same bytes: the writer's output is a fixed point.
 *
 * FUZZ_OPTIONS: -max_len=65536
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/arena.h"
#include "base/sbuf.h"
#include "bundle/lockfile.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(const struct lockfile *lf)
{
	for (size_t i = 0; i < lf->nsources; i++) {
		const struct lock_source *src = &lf->sources[i];
		(void)lock_source_opt(src, "remote");
		for (size_t j = 0; j < src->nspecs; j++)
			if (src->specs[j].source != src)
				abort();
	}
	for (size_t i = 0; i < lf->nchecksums; i++) {
		const struct lock_checksum *c = &lf->checksums[i];
		const char *sha = lockfile_checksum(lf, c->name, c->version, c->platform);
		if (sha && strlen(sha) != 64)
			abort();
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct arena a;
	struct lockfile lf, again;
	struct sbuf err = SBUF_INIT, out = SBUF_INIT, out2 = SBUF_INIT;

	arena_init(&a);
	if (lockfile_parse(&a, strv_make((const char *)data, size), &lf, &err) < 0) {
		if (err.len == 0)
			abort(); /* an error without a message */
		goto out;
	}
	check(&lf);
	lockfile_write(&lf, NULL, &out);
	sbuf_reset(&err);
	if (lockfile_parse(&a, sbuf_strv(&out), &again, &err) < 0) {
		fprintf(stderr, "canonical text does not parse: %s\n---\n%s---\n", sbuf_cstr(&err),
			sbuf_cstr(&out));
		abort();
	}
	check(&again);
	lockfile_write(&again, NULL, &out2);
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
