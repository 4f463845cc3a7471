/*
 * gitsrc.c: the rules of a GIT source's names (no I/O). See gitsrc.h.
 */
#include "bundle/gitsrc.h"

#include <string.h>

#include "base/arena.h"
#include "base/compiler.h"
#include "base/digest.h"
#include "base/hex.h"
#include "base/sbuf.h"

const char *gitsrc_base_name(struct arena *a, const char *uri)
{
	const char *s = uri;
	size_t n = strlen(s);

	while (n && s[n - 1] == '/')
		n--;
	size_t start = n;
	while (start && s[start - 1] != '/' && s[start - 1] != ':')
		start--;
	size_t len = n - start;
	if (len > 4 && !strncmp(s + start + len - 4, ".git", 4))
		len -= 4;
	return arena_strndup(a, s + start, len);
}

bool gitsrc_is_revision(const char *s)
{
	size_t n = strlen(s);

	return n == 40 && hex_is_lower(s, n);
}

bool gitsrc_ref_ok(const char *ref, const char **why)
{
	size_t n = strlen(ref);

	*why = NULL;
	if (!n || n > GITSRC_REF_MAX) {
		*why = n ? "it is longer than 255 bytes" : "it is empty";
		return false;
	}
	if (ref[0] == '-') {
		*why = "it would be read as an option";
		return false;
	}
	for (const char *p = ref; *p; p++) {
		if ((unsigned char)*p <= 0x20 || *p == 0x7f) {
			*why = "it holds a space or a control character";
			return false;
		}
	}
	return true;
}

/*
 * A remote git may fetch: an absolute path, file://, git://, ssh://,
 * http(s):// or scp-like "user@host:path". Never an option ("-..."), a
 * transport helper ("ext::", "fd::", any "<name>::"), nor a control
 * character.
 */
bool gitsrc_url_ok(const char *u, const char **why)
{
	const char *const schemes[] = { "https://", "http://",	  "git://",    "ssh://",
					"file://",  "git+ssh://", "ssh+git://" };

	*why = NULL;
	if (!*u || u[0] == '-') {
		*why = "it would be read as an option";
		return false;
	}
	if (strstr(u, "::")) {
		*why = "git transport helpers (\"<name>::\") are not allowed";
		return false;
	}
	for (const char *p = u; *p; p++) {
		if ((unsigned char)*p < 0x20 || *p == 0x7f) {
			*why = "it holds a control character";
			return false;
		}
	}
	if (u[0] == '/')
		return true;
	for (size_t i = 0; i < SC_ARRAY_SIZE(schemes); i++) {
		size_t n = strlen(schemes[i]);
		if (strncmp(u, schemes[i], n) || !u[n])
			continue;
		/* ssh would take a host (or user) starting with '-' as its option. */
		if (u[n] == '-' || strstr(u + n, "@-")) {
			*why = "its host would be read as an option";
			return false;
		}
		return true;
	}
	/* scp-like: [user@]host:path, the host without '/' */
	const char *colon = strchr(u, ':');
	if (colon && colon > u && !memchr(u, '/', (size_t)(colon - u)) && colon[1]) {
		const char *at = memchr(u, '@', (size_t)(colon - u));
		if (at && at[1] == '-') {
			*why = "its host would be read as an option";
			return false;
		}
		return true;
	}
	*why = "it is not an absolute path or a file, git, ssh, http or https URL";
	return false;
}

bool gitsrc_url_is_local(const char *u)
{
	return u[0] == '/' || !strncmp(u, "file:", 5);
}

/* inbound/gits/<host>-<path>-<8 hex of url>: readable, one path component. */
const char *gitsrc_slug(struct arena *a, const char *redacted)
{
	char hex[DIGEST_SHA256_HEX];
	struct sbuf b = SBUF_INIT;
	const char *s = strstr(redacted, "://");

	sha256_hex(redacted, strlen(redacted), hex);
	s = s ? s + 3 : redacted;
	for (; *s && b.len < 80; s++) {
		char c = *s;
		bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
			  (c >= '0' && c <= '9') || c == '.' || c == '_';
		if (!ok)
			c = '-';
		if (c == '-' && (!b.len || b.buf[b.len - 1] == '-'))
			continue;
		if (c == '.' && (!b.len || b.buf[b.len - 1] == '.' || b.buf[b.len - 1] == '-'))
			continue;
		sbuf_addch(&b, c);
	}
	while (b.len && (b.buf[b.len - 1] == '-' || b.buf[b.len - 1] == '.'))
		b.len--;
	sbuf_addf(&b, "%s%.8s", b.len ? "-" : "", hex);
	const char *r = arena_strdup(a, b.buf);
	sbuf_release(&b);
	return r;
}

/* A submodule URL relative to its superproject's ("../x.git", "./x"), as git resolves it. */
const char *gitsrc_resolve_url(struct arena *ar, const char *super, const char *rel)
{
	if (strncmp(rel, "./", 2) && strncmp(rel, "../", 3))
		return rel;
	size_t n = strlen(super);
	while (n && super[n - 1] == '/')
		n--;
	const char *r = rel;
	for (;;) {
		if (!strncmp(r, "./", 2)) {
			r += 2;
		} else if (!strncmp(r, "../", 3)) {
			r += 3;
			while (n && super[n - 1] != '/' && super[n - 1] != ':')
				n--;
			if (n && super[n - 1] == '/')
				n--;
		} else {
			break;
		}
	}
	/* scp-like "host:path": up to the host keeps its ':' ("git@h:" + "x.git"). */
	bool colon = n && super[n - 1] == ':';
	return arena_printf(ar, "%.*s%s%s", (int)n, super, colon ? "" : "/", r);
}

/* The value of submodule.<name>.<key> for the module whose path is `path`, from `git config -z -l`.
 */
const char *gitsrc_module_get(struct arena *ar, const struct sbuf *cfg, const char *path,
			      const char *key)
{
	/* Entries: "submodule.<name>.<key>\n<value>\0". Find the name whose path matches. */
	const char *p = cfg->buf, *end = cfg->buf + cfg->len;
	const char *name = NULL;
	size_t name_len = 0;

	for (int pass = 0; pass < 2 && p; pass++) {
		for (const char *q = cfg->buf; q && q < end;) {
			const char *z = memchr(q, '\0', (size_t)(end - q));
			if (!z)
				break;
			const char *nl = memchr(q, '\n', (size_t)(z - q));
			if (nl && !strncmp(q, "submodule.", 10)) {
				const char *k = q + 10;
				const char *dot = nl;
				while (dot > k && dot[-1] != '.')
					dot--;
				if (dot > k) {
					size_t nlen = (size_t)(dot - 1 - k);
					const char *kname = dot;
					size_t klen = (size_t)(nl - dot);
					if (pass == 0 && klen == 4 && !strncmp(kname, "path", 4) &&
					    !strcmp(nl + 1, path)) {
						name = k;
						name_len = nlen;
					}
					if (pass == 1 && name && nlen == name_len &&
					    !strncmp(k, name, nlen) && klen == strlen(key) &&
					    !strncmp(kname, key, klen))
						return arena_strdup(ar, nl + 1);
				}
			}
			q = z + 1;
		}
		if (!name)
			return NULL;
	}
	return NULL;
}
