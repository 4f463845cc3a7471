/*
 * gemfile_edit.c: Bundler's Gemfile edits for add and remove (see gemfile_edit.h).
 */
#include "bundle/gemfile_edit.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "base/sbuf.h"
#include "bundle/names.h"
#include "bundle/version.h"

static bool ge_space(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\f' || c == '\v';
}

/* Gem::Requirement::PATTERN; appends "op version" (Gem::Version's form) to out. */
static bool ge_requirement(const char *s, struct sbuf *out)
{
	static const char *const ops[] = { "!=", ">=", "<=", "~>", "=", ">", "<" };
	const char *op = "=";
	size_t n;

	while (ge_space(*s))
		s++;
	for (size_t i = 0; i < sizeof(ops) / sizeof(ops[0]); i++) {
		n = strlen(ops[i]);
		if (!strncmp(s, ops[i], n)) {
			op = ops[i];
			s += n;
			break;
		}
	}
	while (ge_space(*s))
		s++;
	const char *v = s;
	/* [0-9]+(\.[0-9a-zA-Z]+)*(-[0-9A-Za-z-]+(\.[0-9A-Za-z-]+)*)? */
	if (!(*s >= '0' && *s <= '9'))
		return false;
	while (*s >= '0' && *s <= '9')
		s++;
	while (*s == '.') {
		s++;
		size_t k =
			strspn(s, "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ");
		if (!k)
			return false;
		s += k;
	}
	if (*s == '-') {
		do {
			s++;
			size_t k = strspn(s, "0123456789abcdefghijklmnopqrstuvwxyz"
					     "ABCDEFGHIJKLMNOPQRSTUVWXYZ-");
			if (!k)
				return false;
			s += k;
		} while (*s == '.');
	}
	size_t vlen = (size_t)(s - v);
	while (ge_space(*s))
		s++;
	if (*s || vlen > NAMES_VERSION_MAX)
		return false;
	sbuf_addf(out, "%s ", op);
	/* Gem::Version.new: "-" becomes ".pre." */
	for (size_t i = 0; i < vlen; i++) {
		if (v[i] == '-')
			sbuf_addstr(out, ".pre.");
		else
			sbuf_addch(out, v[i]);
	}
	return true;
}

/* A symbol Ruby inspects as :name (no quoting needed). */
static bool ge_plain_symbol(const char *g)
{
	if (!*g || strlen(g) > 64 ||
	    !((*g >= 'a' && *g <= 'z') || (*g >= 'A' && *g <= 'Z') || *g == '_'))
		return false;
	return strspn(g, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_") ==
	       strlen(g);
}

int gemfile_add_line(struct sbuf *out, const char *name, const char *const *reqs, size_t nreqs,
		     const char *const *groups, size_t ngroups, struct sbuf *err)
{
	const char *why;

	if (names_check_gem(strv_from(name), &why) < 0) {
		sbuf_addf(err, "'%s' is not a valid gem name: %s", name, why);
		return -EINVAL;
	}
	sbuf_addf(out, "gem \"%s\"", name);
	for (size_t i = 0; i < nreqs; i++) {
		struct sbuf r = SBUF_INIT;
		if (!ge_requirement(reqs[i], &r)) {
			sbuf_release(&r);
			sbuf_addf(err, "Invalid gem requirement pattern '%s'", reqs[i]);
			return -EINVAL;
		}
		/* Gem::Requirement drops duplicates. */
		bool dup = false;
		for (size_t k = 0; k < i && !dup; k++) {
			struct sbuf o = SBUF_INIT;
			dup = ge_requirement(reqs[k], &o) && !strcmp(o.buf, r.buf);
			sbuf_release(&o);
		}
		if (!dup)
			sbuf_addf(out, ", \"%s\"", r.buf);
		sbuf_release(&r);
	}
	for (size_t i = 0; i < ngroups; i++) {
		if (!ge_plain_symbol(groups[i])) {
			sbuf_addf(err,
				  "'%s' is not a group name scint can write (letters, digits, '_')",
				  groups[i]);
			return -EINVAL;
		}
	}
	if (ngroups == 1 && strcmp(groups[0], "default")) {
		sbuf_addf(out, ", :group => :%s", groups[0]);
	} else if (ngroups > 1) {
		sbuf_addstr(out, ", :groups => [");
		for (size_t i = 0; i < ngroups; i++)
			sbuf_addf(out, "%s:%s", i ? ", " : "", groups[i]);
		sbuf_addch(out, ']');
	}
	return 0;
}

void gemfile_append(struct strv text, const char *lines, struct sbuf *out)
{
	sbuf_addv(out, text);
	sbuf_addch(out, '\n');
	sbuf_addstr(out, lines);
	sbuf_addch(out, '\n');
}

/*
 * /gem\s+(['"])NAME\1|gem\s*\((['"])NAME\2\)/ for any of names: the offset of
 * the leftmost match and which name matched, or -1.
 */
static long ge_match(struct strv line, const char *const *names, size_t n, size_t *ret_which)
{
	for (size_t i = 0; i + 3 <= line.len; i++) {
		if (memcmp(line.p + i, "gem", 3))
			continue;
		for (size_t k = 0; k < n; k++) {
			size_t nl = strlen(names[k]);
			for (int paren = 0; paren < 2; paren++) {
				size_t j = i + 3, sp = 0;
				while (j < line.len && ge_space(line.p[j]))
					j++, sp++;
				if (!paren && !sp)
					continue;
				if (paren) {
					if (j >= line.len || line.p[j] != '(')
						continue;
					j++;
				}
				if (j >= line.len || (line.p[j] != '\'' && line.p[j] != '"'))
					continue;
				char q = line.p[j++];
				if (j + nl + 1 + (size_t)paren > line.len ||
				    memcmp(line.p + j, names[k], nl) || line.p[j + nl] != q ||
				    (paren && line.p[j + nl + 1] != ')'))
					continue;
				*ret_which = k;
				return (long)i;
			}
		}
	}
	return -1;
}

static bool ge_ends_with_comma(struct strv line)
{
	while (line.len && ge_space(line.p[line.len - 1]))
		line.len--;
	return line.len && line.p[line.len - 1] == ',';
}

/* Ruby's String#strip.start_with?(word). */
static bool ge_strip_starts(const char *s, const char *word)
{
	while (*s && (ge_space(*s) || *s == '\0'))
		s++;
	return !strncmp(s, word, strlen(word));
}

/* elem =~ /^\s*end\s*$/: some line of it is "end" between blanks. */
static bool ge_is_end(const char *s)
{
	while (*s) {
		const char *nl = strchr(s, '\n');
		size_t len = nl ? (size_t)(nl - s) : strlen(s);
		size_t a = 0, b = len;
		while (a < b && ge_space(s[a]))
			a++;
		while (b > a && ge_space(s[b - 1]))
			b--;
		if (b - a == 3 && !memcmp(s + a, "end", 3))
			return true;
		if (!nl)
			break;
		s = nl + 1;
	}
	return false;
}

struct ge_lines {
	char **v;
	size_t n, cap;
};

static void ge_push(struct ge_lines *l, char *s)
{
	if (l->n == l->cap) {
		l->cap = l->cap ? 2 * l->cap : 64;
		l->v = realloc(l->v, l->cap * sizeof(*l->v));
		if (!l->v)
			abort();
	}
	l->v[l->n++] = s;
}

static void ge_delete_at(struct ge_lines *l, size_t i)
{
	free(l->v[i]);
	memmove(l->v + i, l->v + i + 1, (l->n - i - 1) * sizeof(*l->v));
	l->n--;
}

/* Injector#remove_nested_blocks */
static void ge_remove_blocks(struct ge_lines *l, const char *block)
{
	long nested = 0;

	for (size_t i = 0; i + 1 < l->n; i++)
		if (strstr(l->v[i + 1], block) && strstr(l->v[i], block))
			nested++;
	while (nested >= 0) {
		nested--;
		for (size_t i = 0; i < l->n; i++) {
			if (!l->v[i] || !ge_strip_starts(l->v[i], block))
				continue;
			if (i + 1 < l->n && l->v[i + 1] && ge_is_end(l->v[i + 1])) {
				free(l->v[i]);
				free(l->v[i + 1]);
				l->v[i] = l->v[i + 1] = NULL;
			}
		}
		size_t k = 0;
		for (size_t i = 0; i < l->n; i++)
			if (l->v[i])
				l->v[k++] = l->v[i];
		l->n = k;
	}
}

void gemfile_remove(struct strv text, const char *const *names, size_t n, bool *found,
		    struct sbuf *out)
{
	struct ge_lines l = { 0 };
	struct strv rest = text;
	bool multiline = false;

	for (size_t i = 0; i < n; i++)
		found[i] = false;
	/* File.readlines: lines keep their "\n". */
	while (rest.len) {
		const char *nl = memchr(rest.p, '\n', rest.len);
		struct strv line = strv_make(rest.p, nl ? (size_t)(nl - rest.p) + 1 : rest.len);
		rest = strv_drop(rest, line.len);
		size_t which = 0;
		long at = ge_match(line, names, n, &which);
		if (at >= 0 && !memchr(line.p, '#', (size_t)at + 1)) {
			found[which] = true;
			multiline = ge_ends_with_comma(line);
			continue;
		}
		if (!multiline)
			ge_push(&l, strndup(line.p, line.len));
		if (multiline)
			multiline = ge_ends_with_comma(line);
	}
	/* Blank lines fold into the line before them (as Bundler's loop does). */
	for (size_t i = 0; i < l.n; i++) {
		if (i + 1 < l.n && !strcmp(l.v[i + 1], "\n")) {
			size_t len = strlen(l.v[i]);
			char *s = realloc(l.v[i], len + 2);
			if (!s)
				abort();
			s[len] = '\n';
			s[len + 1] = '\0';
			l.v[i] = s;
			ge_delete_at(&l, i + 1);
		}
	}
	static const char *const blocks[] = { "group", "source", "env", "install_if" };
	for (size_t b = 0; b < 4; b++)
		ge_remove_blocks(&l, blocks[b]);
	size_t start = out->len;
	for (size_t i = 0; i < l.n; i++) {
		sbuf_addstr(out, l.v[i]);
		free(l.v[i]);
	}
	free(l.v);
	/* chomp, then File#puts adds one newline back. */
	if (out->len > start && out->buf[out->len - 1] == '\n') {
		sbuf_setlen(out, out->len - 1);
		if (out->len > start && out->buf[out->len - 1] == '\r')
			sbuf_setlen(out, out->len - 1);
	} else if (out->len > start && out->buf[out->len - 1] == '\r') {
		sbuf_setlen(out, out->len - 1);
	}
	if (out->len == start || out->buf[out->len - 1] != '\n')
		sbuf_addch(out, '\n');
}

int gemfile_conservative_req(const char *version, const char *prefix, struct sbuf *out)
{
	struct strv v = strv_from(version);

	if (!*version || !version_valid(v) || strchr(version, '-') || strlen(version) > 256)
		return -EINVAL;
	/* Gem::Version#segments: runs of digits (as numbers) and of letters. */
	struct sbuf segs[8], release = SBUF_INIT;
	size_t nseg = 0;
	bool in_release = true;
	for (const char *p = version; *p;) {
		size_t n = strspn(p, "0123456789");
		bool digits = n > 0;
		if (!digits)
			n = strspn(p, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ");
		if (!n) {
			p++;
			continue;
		}
		struct sbuf seg = SBUF_INIT;
		if (digits) {
			size_t z = 0;
			while (z + 1 < n && p[z] == '0')
				z++; /* to_i drops leading zeros */
			sbuf_add(&seg, p + z, n - z);
		} else {
			sbuf_add(&seg, p, n);
			in_release = false;
		}
		if (in_release && digits)
			sbuf_addf(&release, "%s%s", release.len ? "." : "", seg.buf);
		if (nseg < sizeof(segs) / sizeof(segs[0]))
			segs[nseg++] = seg;
		else
			sbuf_release(&seg);
		p += n;
	}
	size_t keep = version_cmp(v, strv_from("1.0")) >= 0 ? 2 : 3;
	sbuf_addstr(out, prefix);
	for (size_t i = 0; i < nseg && i < keep; i++)
		sbuf_addf(out, "%s%s", i ? "." : "", segs[i].buf);
	if (version_is_prerelease(v)) {
		/* version.to_s.gsub(version.release.to_s, "") */
		const char *p = version;
		size_t rl = release.len;
		while (*p) {
			if (rl && !strncmp(p, release.buf, rl)) {
				p += rl;
				continue;
			}
			sbuf_addch(out, *p++);
		}
	}
	for (size_t i = 0; i < nseg; i++)
		sbuf_release(&segs[i]);
	sbuf_release(&release);
	return 0;
}
