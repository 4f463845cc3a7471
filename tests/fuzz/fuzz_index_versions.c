/*
 * fuzz_index_versions.c: a compact index /versions body through
 * index_versions_next() until its end or the first error, each entry's
 * version list split as Bundler does ("1.0,1.1-x86_64-linux,-1.2").
 *
 * The iteration must end, and every view must lie inside the body.
 *
 * FUZZ_OPTIONS: -max_len=65536
 */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>

#include "base/strv.h"
#include "bundle/index.h"
#include "bundle/version.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void inside(struct strv v, struct strv body)
{
	if (v.len && (v.p < body.p || v.p + v.len > body.p + body.len))
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct strv body = strv_make((const char *)data, size), cur = body;
	struct index_versions_entry e;
	size_t n = 0;
	int r;

	while ((r = index_versions_next(&cur, &e)) > 0) {
		if (++n > size)
			abort(); /* more entries than bytes: not making progress */
		inside(e.name, body);
		inside(e.versions, body);
		inside(e.info_md5, body);
		if (e.name.len == 0 || e.versions.len == 0 ||
		    (e.info_md5.len != 0 && e.info_md5.len != 32))
			abort();
		struct strv rest = e.versions, item, ver, plat;
		bool more;
		do {
			more = strv_cut(rest, ',', &item, &rest);
			if (item.len && item.p[0] == '-')
				item = strv_drop(item, 1); /* a yanked version */
			strv_cut(item, '-', &ver, &plat);
			if (version_valid(ver))
				(void)version_cmp(ver, STRV_LIT("1.0"));
		} while (more);
	}
	if (r < 0 && r != -EINVAL)
		abort();
	return 0;
}
