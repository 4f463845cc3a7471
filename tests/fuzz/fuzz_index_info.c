/*
 * fuzz_index_info.c: a compact index /info body, read line by line
 * (index_info_parse_line, index_deps_next, the requirement lists,
 * index_info_created_at) and as a
 * whole (index_info_checksum for each version it lists).
 *
 * Every view the parser returns must lie inside its line.
 *
 * FUZZ_OPTIONS: -max_len=16384
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base/strv.h"
#include "bundle/index.h"
#include "bundle/platform.h"
#include "bundle/requirement.h"
#include "bundle/version.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void inside(struct strv v, struct strv line)
{
	if (v.len && (v.p < line.p || v.p + v.len > line.p + line.len))
		abort();
}

static void reqs(struct strv s, char sep)
{
	struct requirement r[16];
	int n = requirement_parse_list(s, sep, r, 16);

	for (int i = 0; i < n; i++)
		(void)requirement_satisfied(&r[i], STRV_LIT("1.0.0"));
}

static void one_line(struct strv body, struct strv line)
{
	struct index_info_line l;
	struct strv cur, name, rq;
	char hex[65], vbuf[128], pbuf[128];
	int r;

	int64_t t;
	if (index_info_created_at(line, &t) == 0 && t < 0)
		abort();
	if (index_info_parse_line(line, &l) < 0)
		return;
	inside(l.version, line);
	inside(l.deps, line);
	inside(l.checksum, line);
	inside(l.ruby, line);
	inside(l.rubygems, line);
	if (!version_valid(l.version) || (l.checksum.len && l.checksum.len != 64))
		abort();
	(void)version_cmp(l.version, l.version);
	(void)version_is_prerelease(l.version);
	struct platform pl;
	(void)platform_parse(l.platform, &pl);
	cur = l.deps;
	while ((r = index_deps_next(&cur, &name, &rq)) > 0) {
		inside(name, line);
		inside(rq, line);
		if (name.len == 0)
			abort();
		reqs(rq, '&');
	}
	reqs(l.ruby, '&');
	reqs(l.rubygems, '&');
	/* The whole body, asked for this line's version and platform. */
	if (l.version.len < sizeof(vbuf) && l.platform.len < sizeof(pbuf)) {
		memcpy(vbuf, l.version.p, l.version.len);
		vbuf[l.version.len] = '\0';
		memcpy(pbuf, l.platform.p, l.platform.len);
		pbuf[l.platform.len] = '\0';
		if (index_info_checksum(body, vbuf, pbuf, hex) == 0 && strlen(hex) != 64)
			abort();
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct strv body = strv_make((const char *)data, size), rest = body, line;
	size_t n = 0;

	while (strv_next_line(&rest, &line) && n++ < 64)
		one_line(body, line);
	return 0;
}
