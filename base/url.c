#include "url.h"

#include <string.h>

#include "base/sbuf.h"

/* RFC 3986 scheme characters after the first letter (ASCII, locale-independent). */
static bool url_is_scheme_char(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       c == '+' || c == '-' || c == '.';
}

bool url_split(struct strv s, struct url_parts *u)
{
	size_t i = 0, auth_end, at;
	struct strv auth;

	*u = (struct url_parts){ 0 };
	if (!s.len || !((s.p[0] >= 'a' && s.p[0] <= 'z') || (s.p[0] >= 'A' && s.p[0] <= 'Z')))
		return false;
	while (i < s.len && url_is_scheme_char((unsigned char)s.p[i]))
		i++;
	if (!strv_starts_with(strv_drop(s, i), "://"))
		return false;
	u->scheme = strv_make(s.p, i);
	s = strv_drop(s, i + 3);
	auth_end = 0;
	while (auth_end < s.len && !strchr("/?#", s.p[auth_end]))
		auth_end++;
	auth = strv_make(s.p, auth_end);
	u->rest = strv_drop(s, auth_end);
	at = auth.len;
	for (size_t j = auth.len; j-- > 0;) {
		if (auth.p[j] == '@') {
			at = j;
			break;
		}
	}
	if (at < auth.len) {
		u->has_userinfo = true;
		u->userinfo = strv_make(auth.p, at);
		auth = strv_drop(auth, at + 1);
	}
	if (auth.len && auth.p[0] == '[') {
		const char *close = memchr(auth.p, ']', auth.len);
		size_t hl = close ? (size_t)(close - auth.p) + 1 : auth.len;
		u->host = strv_make(auth.p, hl);
		auth = strv_drop(auth, hl);
	} else {
		const char *colon = memchr(auth.p, ':', auth.len);
		size_t hl = colon ? (size_t)(colon - auth.p) : auth.len;
		u->host = strv_make(auth.p, hl);
		auth = strv_drop(auth, hl);
	}
	if (auth.len && auth.p[0] == ':')
		u->port = strv_drop(auth, 1);
	return true;
}

void url_redact(const char *url, struct sbuf *out)
{
	struct strv s = strv_from(url);
	struct url_parts u;

	sbuf_reset(out);
	if (!url_split(s, &u) || !u.has_userinfo) {
		sbuf_addv(out, s);
		return;
	}
	sbuf_add(out, s.p, (size_t)(u.userinfo.p - s.p));
	sbuf_add(out, u.userinfo.p + u.userinfo.len + 1,
		 (size_t)(s.p + s.len - (u.userinfo.p + u.userinfo.len + 1)));
}
