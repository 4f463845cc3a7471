/*
 * fuzz_index_digest.c: a Repr-Digest / Digest header value through
 * index_digest_sha256(), and the input split in two as a local copy and a
 * 206 body through index_range_ok().
 *
 * A found digest must be 44 base64 characters ending in '=' and NUL-
 * terminated; errors are -EINVAL only.
 *
 * FUZZ_OPTIONS: -max_len=4096
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base/strv.h"
#include "bundle/index_update.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct strv in = strv_make((const char *)data, size);
	char b64[45];
	int r;

	memset(b64, 'x', sizeof(b64));
	r = index_digest_sha256(in, b64);
	if (r == 1) {
		if (b64[44] != '\0' || strlen(b64) != 44 || b64[43] != '=')
			abort();
	} else if (r != 0 && r != -EINVAL) {
		abort();
	}
	size_t half = size / 2;
	struct strv copy = strv_make(in.p, half), body = strv_make(in.p + half, size - half);
	if (index_range_ok(copy, body) && (copy.len == 0 || body.len == 0 ||
					   body.p[0] != copy.p[copy.len - 1]))
		abort();
	return 0;
}
