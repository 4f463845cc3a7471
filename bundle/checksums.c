/*
 * checksums.c: the checksums.yaml reader (see checksums.h).
 */
#include "bundle/checksums.h"

bool gem_checksums_sha256(struct strv yaml, const char *name, struct strv *ret)
{
	struct strv rest = yaml, line;
	bool in256 = false;

	while (strv_next_line(&rest, &line)) {
		if (line.len && line.p[0] != ' ') {
			in256 = strv_eq_cstr(strv_trim(line), "SHA256:");
			continue;
		}
		if (!in256)
			continue;
		struct strv k, v;
		if (!strv_cut(strv_trim(line), ':', &k, &v))
			continue;
		if (!strv_eq_cstr(strv_trim(k), name))
			continue;
		v = strv_trim(v);
		if (v.len >= 2 && (v.p[0] == '\'' || v.p[0] == '"') && v.p[v.len - 1] == v.p[0])
			v = strv_make(v.p + 1, v.len - 2);
		*ret = v;
		return true;
	}
	return false;
}
