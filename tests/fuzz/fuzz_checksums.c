/*
 * fuzz_checksums.c: the checksums.yaml reader of a .gem package (the
 * "SHA256:" mapping that assembly checks metadata.gz and data.tar.gz
 * against), on arbitrary text.
 *
 * A value found must be a view inside the text.
 *
 * FUZZ_OPTIONS: -max_len=16384
 */
#include <stdint.h>
#include <stdlib.h>

#include "bundle/checksums.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void lookup(struct strv yaml, const char *name)
{
	struct strv v;

	if (!gem_checksums_sha256(yaml, name, &v))
		return;
	if (v.len && (v.p < yaml.p || v.p + v.len > yaml.p + yaml.len))
		abort();
	(void)strv_eq_cstr(v, "0000000000000000000000000000000000000000000000000000000000000000");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct strv yaml = strv_make((const char *)data, size);

	lookup(yaml, "metadata.gz");
	lookup(yaml, "data.tar.gz");
	return 0;
}
