/*
 * index.c: compact index lines, read as Bundler's CompactIndexClient does.
 *
 * An /info line splits at its first ' ' into "version[-platform]" and the
 * rest, the version at its first '-', and the rest at its first '|' into the
 * dependency list and the "key:value" requirement list (commas between
 * entries, '&' between the parts of one requirement). Unknown keys after the
 * '|' are ignored, as Bundler ignores them. Every returned view points into
 * the caller's text.
 */
#include "bundle/index.h"

#include <errno.h>
#include <string.h>

#include "base/err.h"
#include "base/hex.h"
#include "bundle/names.h"
#include "bundle/version.h"

static bool index_is_hex(struct strv s, size_t len)
{
	return s.len == len && hex_is_any(s.p, s.len);
}

static struct strv index_chomp(struct strv line)
{
	if (line.len && line.p[line.len - 1] == '\r')
		line.len--;
	return line;
}

int index_info_parse_line(struct strv line, struct index_info_line *ret)
{
	struct strv head, rest, reqs, item;
	const char *why;
	bool more;

	*ret = (struct index_info_line){ .platform = STRV_LIT("ruby") };
	line = index_chomp(line);
	strv_cut(line, ' ', &head, &rest);
	if (!strv_cut(head, '-', &ret->version, &ret->platform))
		ret->platform = STRV_LIT("ruby");
	if (ret->version.len == 0 || ret->platform.len == 0 || !version_valid(ret->version))
		return -EINVAL;
	if (names_check_version(ret->version, &why) < 0 ||
	    names_check_platform(ret->platform, &why) < 0)
		return -SC_EUNSAFE;
	if (!strv_cut(rest, '|', &ret->deps, &reqs))
		reqs = strv_make(rest.p + rest.len, 0);
	do {
		struct strv key, value;

		more = strv_cut(reqs, ',', &item, &reqs);
		if (item.len == 0)
			continue;
		if (!strv_cut(item, ':', &key, &value))
			return -EINVAL;
		if (strv_eq_cstr(key, "checksum")) {
			if (!index_is_hex(value, 64))
				return -EINVAL;
			ret->checksum = value;
		} else if (strv_eq_cstr(key, "ruby")) {
			ret->ruby = value;
		} else if (strv_eq_cstr(key, "rubygems")) {
			ret->rubygems = value;
		}
	} while (more);
	return 0;
}

int index_deps_next(struct strv *cursor, struct strv *ret_name, struct strv *ret_reqs)
{
	struct strv item;

	if (cursor->len == 0)
		return 0;
	const char *why;

	strv_cut(*cursor, ',', &item, cursor);
	if (!strv_cut(item, ':', ret_name, ret_reqs) || names_check_gem(*ret_name, &why) < 0)
		return -EINVAL;
	return 1;
}

int index_info_checksum(struct strv info, const char *version, const char *platform,
			char ret_hex[65])
{
	struct strv rest = info, line, found = { NULL, 0 };
	struct index_info_line l;
	const char *why;
	bool matched = false;
	int r;

	if (!platform || !platform[0])
		platform = "ruby";
	if (names_check_version(strv_from(version), &why) < 0 ||
	    names_check_platform(strv_from(platform), &why) < 0)
		return -EINVAL;
	while (strv_next_line(&rest, &line)) {
		if (line.len == 0 || strv_eq_cstr(line, "---"))
			continue;
		r = index_info_parse_line(line, &l);
		if (r == -SC_EUNSAFE)
			continue; /* never the line asked for: see index.h */
		if (r < 0)
			return r;
		/* A version can be listed twice; the later line wins, as in Bundler's hash. */
		if (strv_eq_cstr(l.version, version) && strv_eq_cstr(l.platform, platform)) {
			matched = true;
			found = l.checksum;
		}
	}
	if (!matched || found.len != 64)
		return -SC_ENOTFOUND;
	for (size_t i = 0; i < 64; i++) {
		char c = found.p[i];
		ret_hex[i] = (c >= 'A' && c <= 'F') ? (char)(c - 'A' + 'a') : c;
	}
	ret_hex[64] = '\0';
	return 0;
}

/* A preamble line of /versions: "---" or "created_at: ...". */
static bool index_versions_preamble(struct strv line)
{
	struct strv first, rest;

	if (strv_eq_cstr(line, "---"))
		return true;
	strv_cut(line, ' ', &first, &rest);
	return first.len && first.p[first.len - 1] == ':';
}

int index_versions_next(struct strv *cursor, struct index_versions_entry *ret)
{
	struct strv line, rest;
	const char *why;

	while (strv_next_line(cursor, &line)) {
		if (line.len == 0 || index_versions_preamble(line))
			continue;
		*ret = (struct index_versions_entry){ 0 };
		strv_cut(line, ' ', &ret->name, &rest);
		strv_cut(rest, ' ', &ret->versions, &ret->info_md5);
		if (names_check_gem(ret->name, &why) < 0 || ret->versions.len == 0)
			return -EINVAL;
		if (ret->info_md5.len && !index_is_hex(ret->info_md5, 32))
			return -EINVAL;
		return 1;
	}
	return 0;
}

int index_info_created_at(struct strv line, int64_t *ret)
{
	struct strv head, meta, field;

	if (!strv_cut(line, '|', &head, &meta))
		return -SC_ENOTFOUND;
	while (meta.len) {
		if (!strv_cut(meta, ',', &field, &meta))
			meta.len = 0;
		field = strv_trim(field);
		if (!strv_starts_with(field, "created_at:"))
			continue;
		struct strv v = strv_trim(strv_drop(field, 11));
		int f[6] = { 0 };
		static const char seps[] = "--T::";
		size_t i = 0;
		for (int k = 0; k < 6; k++) {
			size_t digits = 0;
			while (i < v.len && v.p[i] >= '0' && v.p[i] <= '9' && digits < 4) {
				f[k] = f[k] * 10 + (v.p[i++] - '0');
				digits++;
			}
			if (!digits)
				return -EINVAL;
			if (k < 5) {
				if (i >= v.len || (v.p[i] != seps[k] && !(k == 2 && v.p[i] == ' ')))
					return -EINVAL;
				i++;
			}
		}
		if (f[1] < 1 || f[1] > 12 || f[2] < 1 || f[2] > 31 || f[3] > 23 || f[4] > 59 ||
		    f[5] > 60 || f[0] < 1970)
			return -EINVAL;
		/* days since the epoch (civil calendar, H. Hinnant's algorithm) */
		int y = f[0] - (f[1] <= 2);
		int era = y / 400, yoe = y - era * 400;
		int doy = (153 * (f[1] + (f[1] > 2 ? -3 : 9)) + 2) / 5 + f[2] - 1;
		int doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
		int64_t days = (int64_t)era * 146097 + doe - 719468;
		*ret = days * 86400 + f[3] * 3600 + f[4] * 60 + f[5];
		return 0;
	}
	return -SC_ENOTFOUND;
}
