/*
 * specfile.c: reading an installed specification file's plain fields (see specfile.h).
 */
#include "bundle/specfile.h"

#include <errno.h>
#include <string.h>

#include "base/arena.h"
#include "base/hex.h"
#include "base/sbuf.h"
#include "bundle/names.h"

static void sf_utf8(struct sbuf *out, unsigned long cp)
{
	if (cp < 0x80) {
		sbuf_addch(out, (char)cp);
	} else if (cp < 0x800) {
		sbuf_addch(out, (char)(0xc0 | (cp >> 6)));
		sbuf_addch(out, (char)(0x80 | (cp & 0x3f)));
	} else if (cp < 0x10000) {
		sbuf_addch(out, (char)(0xe0 | (cp >> 12)));
		sbuf_addch(out, (char)(0x80 | ((cp >> 6) & 0x3f)));
		sbuf_addch(out, (char)(0x80 | (cp & 0x3f)));
	} else if (cp < 0x110000) {
		sbuf_addch(out, (char)(0xf0 | (cp >> 18)));
		sbuf_addch(out, (char)(0x80 | ((cp >> 12) & 0x3f)));
		sbuf_addch(out, (char)(0x80 | ((cp >> 6) & 0x3f)));
		sbuf_addch(out, (char)(0x80 | (cp & 0x3f)));
	} else {
		sbuf_addch(out, '?');
	}
}

/*
 * A double-quoted literal at *p (String#dump's escapes), optionally followed
 * by ".freeze". Advances *p past it; false when *p holds no such literal.
 */
static bool sf_string(struct strv *p, struct arena *a, const char **ret)
{
	struct sbuf out = SBUF_INIT;
	size_t i = 0;

	if (!p->len || p->p[0] != '"')
		return false;
	for (i = 1; i < p->len && p->p[i] != '"'; i++) {
		unsigned char c = (unsigned char)p->p[i];
		if (out.len > SPECFILE_VALUE_MAX)
			goto bad;
		if (c != '\\') {
			sbuf_addch(&out, c < 0x20 && c != '\t' ? '?' : (char)c);
			continue;
		}
		if (++i >= p->len)
			goto bad;
		char e = p->p[i];
		switch (e) {
		case 'n':
			sbuf_addch(&out, '\n');
			break;
		case 't':
			sbuf_addch(&out, '\t');
			break;
		case 'u': {
			unsigned long cp = 0;
			if (i + 1 < p->len && p->p[i + 1] == '{') {
				for (i += 2; i < p->len && p->p[i] != '}'; i++) {
					int h = hex_digit(p->p[i]);
					if (h < 0 || cp > 0x10ffff)
						goto bad;
					cp = cp * 16 + (unsigned long)h;
				}
			} else {
				for (int k = 0; k < 4; k++) {
					int h = i + 1 < p->len ? hex_digit(p->p[i + 1]) : -1;
					if (h < 0)
						goto bad;
					cp = cp * 16 + (unsigned long)h;
					i++;
				}
			}
			if (cp < 0x20 && cp != '\n' && cp != '\t')
				cp = '?';
			sf_utf8(&out, cp);
			break;
		}
		case 'x': {
			int h1 = i + 1 < p->len ? hex_digit(p->p[i + 1]) : -1;
			int h2 = i + 2 < p->len ? hex_digit(p->p[i + 2]) : -1;
			if (h1 < 0)
				goto bad;
			int v = h1;
			i++;
			if (h2 >= 0) {
				v = v * 16 + h2;
				i++;
			}
			sbuf_addch(&out, v < 0x20 && v != '\n' && v != '\t' ? '?' : (char)v);
			break;
		}
		case 'r':
		case 'f':
		case 'v':
		case 'b':
		case 'a':
		case 'e':
			sbuf_addch(&out, '?');
			break;
		case 's':
			sbuf_addch(&out, ' ');
			break;
		default: /* \" \\ \# and any other escaped character stand for themselves */
			if ((unsigned char)e < 0x20)
				goto bad;
			sbuf_addch(&out, e);
		}
	}
	if (i >= p->len)
		goto bad;
	*p = strv_drop(*p, i + 1);
	if (strv_starts_with(*p, ".freeze"))
		*p = strv_drop(*p, 7);
	*ret = arena_strv(a, sbuf_strv(&out));
	sbuf_release(&out);
	return true;
bad:
	sbuf_release(&out);
	return false;
}

static void sf_space(struct strv *p)
{
	while (p->len && (p->p[0] == ' ' || p->p[0] == '\t'))
		*p = strv_drop(*p, 1);
}

static bool sf_lit(struct strv *p, const char *lit)
{
	sf_space(p);
	if (!strv_starts_with(*p, lit))
		return false;
	*p = strv_drop(*p, strlen(lit));
	sf_space(p);
	return true;
}

/* ["a".freeze, "b".freeze] */
static bool sf_array(struct strv p, struct arena *a, const char ***ret, size_t *ret_n)
{
	const char **v = NULL;
	size_t n = 0, cap = 0;

	if (!sf_lit(&p, "["))
		return false;
	while (!sf_lit(&p, "]")) {
		const char *s;
		if (n && !sf_lit(&p, ","))
			return false;
		if (n >= SPECFILE_LIST_MAX || !sf_string(&p, a, &s))
			return false;
		v = arena_grow_array(a, v, sizeof(*v), n, &cap);
		v[n++] = s;
	}
	*ret = v;
	*ret_n = n;
	return true;
}

/* { "k" => "v", ... } */
static bool sf_hash(struct strv p, struct arena *a, struct specfile *s)
{
	size_t cap = 0, cap2 = 0;

	if (!sf_lit(&p, "{"))
		return false;
	while (!sf_lit(&p, "}")) {
		const char *k, *v;
		if (s->nmeta && !sf_lit(&p, ","))
			return false;
		sf_space(&p);
		if (s->nmeta >= SPECFILE_LIST_MAX || !sf_string(&p, a, &k) || !sf_lit(&p, "=>"))
			return false;
		if (!sf_string(&p, a, &v))
			return false;
		s->meta_keys = arena_grow_array(a, s->meta_keys, sizeof(char *), s->nmeta, &cap);
		s->meta_values =
			arena_grow_array(a, s->meta_values, sizeof(char *), s->nmeta, &cap2);
		s->meta_keys[s->nmeta] = k;
		s->meta_values[s->nmeta++] = v;
	}
	return true;
}

int specfile_parse(struct arena *a, struct strv text, struct specfile *ret, struct sbuf *err)
{
	struct strv rest = text, line;

	memset(ret, 0, sizeof(*ret));
	ret->bindir = "bin";
	while (strv_next_line(&rest, &line)) {
		if (!strv_starts_with(line, "  s."))
			continue;
		struct strv p = strv_drop(line, 4), field = p;
		size_t k = 0;
		while (k < p.len && (p.p[k] == '_' || (p.p[k] >= 'a' && p.p[k] <= 'z')))
			k++;
		field.len = k;
		p = strv_drop(p, k);
		if (!sf_lit(&p, "="))
			continue;
		const char *v;
		if (strv_eq_cstr(field, "summary") && sf_string(&p, a, &v))
			ret->summary = v;
		else if (strv_eq_cstr(field, "homepage") && sf_string(&p, a, &v))
			ret->homepage = v;
		else if (strv_eq_cstr(field, "bindir") && sf_string(&p, a, &v))
			ret->bindir = v;
		else if (strv_eq_cstr(field, "executables"))
			(void)sf_array(p, a, &ret->executables, &ret->nexecutables);
		else if (strv_eq_cstr(field, "metadata") && !sf_hash(p, a, ret))
			ret->nmeta = 0;
	}
	for (size_t i = 0; i < ret->nexecutables; i++) {
		const char *why;
		if (names_check_executable(strv_from(ret->executables[i]), &why) < 0) {
			sbuf_addf(err, "bad executable name in the specification: %s", why);
			return -EINVAL;
		}
	}
	const char *why;
	if (names_check_spec_path(strv_from(ret->bindir), &why) < 0) {
		sbuf_addf(err, "bad bindir in the specification: %s", why);
		return -EINVAL;
	}
	return 0;
}

const char *specfile_meta(const struct specfile *s, const char *key)
{
	for (size_t i = 0; i < s->nmeta; i++)
		if (!strcmp(s->meta_keys[i], key))
			return s->meta_values[i];
	return NULL;
}
