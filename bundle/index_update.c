/*
 * index_update.c: see index_update.h.
 */
#include "bundle/index_update.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

static bool iu_is_b64(char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
	       c == '+' || c == '/';
}

static struct strv iu_trim(struct strv v)
{
	while (v.len && (v.p[0] == ' ' || v.p[0] == '\t'))
		v.p++, v.len--;
	while (v.len && (v.p[v.len - 1] == ' ' || v.p[v.len - 1] == '\t'))
		v.len--;
	return v;
}

/* Bundler's byte_sequence: a wrapping ':' or '"' must be matched. */
static bool iu_unwrap(struct strv *v, char c)
{
	if (v->len && v->p[0] == c) {
		if (v->len < 2 || v->p[v->len - 1] != c)
			return false;
		v->p++;
		v->len -= 2;
	}
	return true;
}

int index_digest_sha256(struct strv header, char ret_b64[45])
{
	struct strv rest = header, item;
	bool more;

	do {
		struct strv alg, value;

		more = strv_cut(rest, ',', &item, &rest);
		if (!strv_cut(item, '=', &alg, &value))
			continue;
		alg = iu_trim(alg);
		if (alg.len != 7 || strncasecmp(alg.p, "sha-256", 7) != 0)
			continue;
		value = iu_trim(value);
		if (!iu_unwrap(&value, ':') || !iu_unwrap(&value, '"'))
			return -EINVAL;
		/* 32 bytes: 43 base64 characters and one '=' */
		if (value.len != 44 || value.p[43] != '=')
			return -EINVAL;
		for (size_t i = 0; i < 43; i++)
			if (!iu_is_b64(value.p[i]))
				return -EINVAL;
		memcpy(ret_b64, value.p, 44);
		ret_b64[44] = '\0';
		return 1;
	} while (more);
	return 0;
}

void index_range_from(size_t size, char *buf, size_t bufsz)
{
	snprintf(buf, bufsz, "%zu-", size ? size - 1 : 0);
}

bool index_range_ok(struct strv copy, struct strv body)
{
	return copy.len > 0 && body.len > 0 && body.p[0] == copy.p[copy.len - 1];
}
