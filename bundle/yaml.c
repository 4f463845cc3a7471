/*
 * yaml.c: the block-YAML subset of yaml.h, parsed the way libyaml (Psych's
 * parser) scans it.
 *
 * The text is checked once up front (valid UTF-8, only characters libyaml
 * reads as printable, no tab, no carriage return, no BOM and no Unicode line
 * separator), so the scanners below only ever meet ' ' as a blank and '\n'
 * as a line break. The structure is then read line by line: a node that
 * follows "key:", "- " or "---" on the same line is an inline value; one on
 * the following lines is a block node whose column decides what it belongs
 * to. Scalars are decoded with libyaml's own rules (scan_plain_scalar,
 * scan_flow_scalar, scan_block_scalar): line folding, escapes, chomping and
 * the indentation of block scalars. Whatever libyaml would read differently
 * or reject is declined, never guessed.
 */
#include "bundle/yaml.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/arena.h"
#include "base/hex.h"
#include "base/err.h"
#include "base/sbuf.h"

struct yp {
	struct arena *a;
	const char *start, *end;
	struct sbuf *why;
	struct sbuf buf; /* scratch for decoding one scalar */
	const char *val; /* the value of the last plain scalar (scan_plain) */
	size_t vlen;
	size_t nodes;
	const char *lc_pos; /* line cache: lc_pos is on line lc_line */
	uint32_t lc_line;
};

static const char *line_start(const struct yp *P, const char *p)
{
	while (p > P->start && p[-1] != '\n')
		p--;
	return p;
}

static uint32_t line_of(struct yp *P, const char *pos)
{
	const char *p = P->start;
	uint32_t line = 1;

	if (pos >= P->lc_pos) {
		p = P->lc_pos;
		line = P->lc_line;
	} else if (P->lc_pos - pos < pos - P->start) {
		/* back from the cache, so that going back and forth stays linear */
		line = P->lc_line;
		for (p = P->lc_pos; p > pos; p--)
			line -= p[-1] == '\n';
		p = line_start(P, pos);
	}
	while (p < pos) {
		const char *nl = memchr(p, '\n', (size_t)(pos - p));
		if (!nl)
			break;
		line++;
		p = nl + 1;
	}
	P->lc_pos = p;
	P->lc_line = line;
	return line;
}

sc_printf(3, 4) static int decline(struct yp *P, const char *pos, const char *fmt, ...)
{
	if (P->why) {
		va_list ap;

		sbuf_addf(P->why, "line %u: ", line_of(P, pos));
		va_start(ap, fmt);
		sbuf_vaddf(P->why, fmt, ap);
		va_end(ap);
	}
	return -SC_EUNSUPPORTED;
}

/* ---- characters and lines ---- */

static int column(const struct yp *P, const char *p)
{
	return (int)(p - line_start(P, p));
}

static bool blankz(const struct yp *P, const char *p)
{
	return p >= P->end || *p == ' ' || *p == '\n';
}

static bool is_dash(const struct yp *P, const char *p)
{
	return p < P->end && *p == '-' && blankz(P, p + 1);
}

/* "---" or "..." at column 0, followed by a blank or the end. */
static bool doc_marker(const struct yp *P, const char *p)
{
	if (P->end - p < 3 || (p > P->start && p[-1] != '\n'))
		return false;
	if (memcmp(p, "---", 3) != 0 && memcmp(p, "...", 3) != 0)
		return false;
	return blankz(P, p + 3);
}

static const char *skip_spaces(const struct yp *P, const char *p)
{
	while (p < P->end && *p == ' ')
		p++;
	return p;
}

static const char *eol(const struct yp *P, const char *p)
{
	const char *nl = memchr(p, '\n', (size_t)(P->end - p));

	return nl ? nl : P->end;
}

static const char *next_line(const struct yp *P, const char *p)
{
	const char *nl = eol(P, p);

	return nl < P->end ? nl + 1 : P->end;
}

/*
 * From the start of a line, skips blank and comment lines; returns the first
 * non-space character of the next content line (which may be a document
 * marker), or NULL at the end of the text.
 */
static const char *next_content(const struct yp *P, const char *p)
{
	while (p < P->end) {
		const char *q = skip_spaces(P, p);
		if (q < P->end && *q != '\n' && *q != '#')
			return q;
		p = next_line(P, q);
	}
	return NULL;
}

/*
 * After a value on its line: spaces, an optional comment, then the end of
 * the line. Returns the start of the next line, or NULL if something else
 * follows.
 */
static const char *finish_line(const struct yp *P, const char *p)
{
	p = skip_spaces(P, p);
	if (p < P->end && *p == '#')
		p = eol(P, p);
	if (p < P->end && *p != '\n')
		return NULL;
	return p < P->end ? p + 1 : p;
}

/* ---- the up-front check of the whole text ---- */

/* The ASCII characters that need no further look: printable, and '\n'. */
static const bool ascii_ok[256] = {
	['\n'] = true,
#define R4(c)  [c] = true, [c + 1] = true, [c + 2] = true, [c + 3] = true
#define R16(c) R4(c), R4(c + 4), R4(c + 8), R4(c + 12)
	R16(0x20),     R16(0x30), R16(0x40),	 R16(0x50),	R16(0x60),     R4(0x70),
	R4(0x74),      R4(0x78),  [0x7c] = true, [0x7d] = true, [0x7e] = true,
#undef R16
#undef R4
};

static int check_text(struct yp *P)
{
	const unsigned char *s = (const unsigned char *)P->start,
			    *e = (const unsigned char *)P->end;

	while (s < e) {
		unsigned c;
		uint32_t cp;
		size_t n;

		while (s < e && ascii_ok[*s])
			s++;
		if (s >= e)
			break;
		c = *s;
		if (c < 0x80) {
			if (c == '\t')
				return decline(P, (const char *)s, "a tab character");
			if (c == '\r')
				return decline(P, (const char *)s, "a carriage return");
			return decline(P, (const char *)s, "control character 0x%02x", c);
		}
		if (c >= 0xc2 && c <= 0xdf) {
			n = 2;
			cp = c & 0x1f;
		} else if (c >= 0xe0 && c <= 0xef) {
			n = 3;
			cp = c & 0x0f;
		} else if (c >= 0xf0 && c <= 0xf4) {
			n = 4;
			cp = c & 0x07;
		} else {
			return decline(P, (const char *)s, "invalid UTF-8");
		}
		if ((size_t)(e - s) < n)
			return decline(P, (const char *)s, "invalid UTF-8");
		for (size_t i = 1; i < n; i++) {
			if ((s[i] & 0xc0) != 0x80)
				return decline(P, (const char *)s, "invalid UTF-8");
			cp = cp << 6 | (s[i] & 0x3f);
		}
		if ((n == 3 && cp < 0x800) || (n == 4 && (cp < 0x10000 || cp > 0x10ffff)) ||
		    (cp >= 0xd800 && cp <= 0xdfff))
			return decline(P, (const char *)s, "invalid UTF-8");
		if (cp < 0xa0 || cp == 0x2028 || cp == 0x2029 || cp == 0xfeff || cp == 0xfffe ||
		    cp == 0xffff)
			return decline(P, (const char *)s, "character U+%04X", cp);
		s += n;
	}
	return 0;
}

/* ---- nodes ---- */

static int new_node(struct yp *P, const char *pos, enum yaml_kind kind, const char *tag,
		    struct yaml_node **ret)
{
	struct yaml_node *n;

	if (++P->nodes > YAML_NODES_MAX)
		return decline(P, pos, "more than %u nodes", YAML_NODES_MAX);
	n = arena_alloc(P->a, sizeof(*n));
	n->kind = kind;
	n->tag = tag;
	n->line = line_of(P, pos);
	*ret = n;
	return 0;
}

static int new_scalar(struct yp *P, const char *pos, const char *tag, enum yaml_style style,
		      const char *s, size_t len, struct yaml_node **ret)
{
	int r = new_node(P, pos, YAML_SCALAR, tag, ret);

	if (r < 0)
		return r;
	(*ret)->style = style;
	(*ret)->str = arena_strndup(P->a, s, len);
	(*ret)->len = len;
	return 0;
}

/* Appends to the scratch buffer, declining past YAML_SCALAR_MAX. */
static int add(struct yp *P, const char *pos, const void *s, size_t n)
{
	if (P->buf.len + n > YAML_SCALAR_MAX)
		return decline(P, pos, "a scalar longer than %u bytes", YAML_SCALAR_MAX);
	return sbuf_add(&P->buf, s, n) < 0 ? -ENOMEM : 0;
}

static int add_rep(struct yp *P, const char *pos, char c, size_t n)
{
	int r = 0;

	for (size_t i = 0; i < n && r == 0; i++)
		r = add(P, pos, &c, 1);
	return r;
}

/* The scratch buffer as a scalar node. */
static int buf_scalar(struct yp *P, const char *pos, const char *tag, enum yaml_style style,
		      struct yaml_node **ret)
{
	return new_scalar(P, pos, tag, style, P->buf.buf ? P->buf.buf : "", P->buf.len, ret);
}

/* ---- scalars ---- */

/* The characters that end a run of a plain scalar, or may: ' ', '\n', ':'. */
static const bool plain_stop[256] = { [' '] = true, ['\n'] = true, [':'] = true };

/*
 * libyaml's scan_plain_scalar in block context: indent is the column a
 * continuation line must reach. *pp is left after the last content
 * character. The value is P->val/P->vlen: the text itself while it stays on
 * one line, else the scratch buffer with the lines folded.
 */
static int scan_plain(struct yp *P, const char **pp, int indent)
{
	const char *p = *pp, *last = p, *e = P->end;
	bool leading = false, direct = true;
	size_t spaces = 0, breaks = 0;
	int r;

	for (;;) {
		const char *run, *ls = NULL;

		if ((p < e && *p == '#') || doc_marker(P, p))
			break;
		run = p;
		for (;;) {
			while (p < e && !plain_stop[(unsigned char)*p])
				p++;
			if (p >= e || *p != ':' || blankz(P, p + 1))
				break;
			p++;
		}
		if (p > run) {
			if (leading) {
				if (direct) {
					sbuf_reset(&P->buf);
					r = add(P, *pp, *pp, (size_t)(last - *pp));
					if (r < 0)
						return r;
					direct = false;
				}
				r = breaks ? add_rep(P, run, '\n', breaks) : add(P, run, " ", 1);
				leading = false;
				breaks = 0;
			} else {
				r = direct ? 0 : add_rep(P, run, ' ', spaces);
			}
			spaces = 0;
			if (r == 0 && !direct)
				r = add(P, run, run, (size_t)(p - run));
			if (r < 0)
				return r;
			last = p;
		}
		if (p >= e || (*p != ' ' && *p != '\n'))
			break;
		while (p < e && (*p == ' ' || *p == '\n')) {
			if (*p == ' ') {
				if (!leading)
					spaces++;
			} else {
				ls = p + 1;
				if (!leading) {
					spaces = 0;
					leading = true;
				} else {
					breaks++;
				}
			}
			p++;
		}
		/* On the first line the value is always right of indent. */
		if (ls && p - ls < indent)
			break;
	}
	if (direct) {
		P->val = *pp;
		P->vlen = (size_t)(last - *pp);
		if (P->vlen > YAML_SCALAR_MAX)
			return decline(P, *pp, "a scalar longer than %u bytes", YAML_SCALAR_MAX);
	} else {
		P->val = P->buf.buf;
		P->vlen = P->buf.len;
	}
	*pp = last;
	return 0;
}

static int add_utf8(struct yp *P, const char *pos, uint32_t cp)
{
	char u[4];
	size_t n;

	if (cp < 0x80) {
		u[0] = (char)cp;
		n = 1;
	} else if (cp < 0x800) {
		u[0] = (char)(0xc0 | cp >> 6);
		u[1] = (char)(0x80 | (cp & 0x3f));
		n = 2;
	} else if (cp < 0x10000) {
		u[0] = (char)(0xe0 | cp >> 12);
		u[1] = (char)(0x80 | (cp >> 6 & 0x3f));
		u[2] = (char)(0x80 | (cp & 0x3f));
		n = 3;
	} else {
		u[0] = (char)(0xf0 | cp >> 18);
		u[1] = (char)(0x80 | (cp >> 12 & 0x3f));
		u[2] = (char)(0x80 | (cp >> 6 & 0x3f));
		u[3] = (char)(0x80 | (cp & 0x3f));
		n = 4;
	}
	return add(P, pos, u, n);
}

/* One escape sequence of a double-quoted scalar; *pp is at the backslash. */
static int scan_escape(struct yp *P, const char **pp)
{
	const char *p = *pp;
	size_t hex = 0;
	uint32_t cp = 0;
	char c;

	if (p + 1 >= P->end)
		return decline(P, p, "an escape at the end of the text");
	switch (p[1]) {
	case '0':
		c = '\0';
		break;
	case 'a':
		c = '\a';
		break;
	case 'b':
		c = '\b';
		break;
	case 't':
		c = '\t';
		break;
	case 'n':
		c = '\n';
		break;
	case 'v':
		c = '\v';
		break;
	case 'f':
		c = '\f';
		break;
	case 'r':
		c = '\r';
		break;
	case 'e':
		c = '\x1b';
		break;
	case ' ':
		c = ' ';
		break;
	case '"':
		c = '"';
		break;
	case '/':
		c = '/';
		break;
	case '\\':
		c = '\\';
		break;
	case 'N':
		cp = 0x85;
		hex = 0;
		c = 0;
		goto code;
	case '_':
		cp = 0xa0;
		goto code;
	case 'L':
		cp = 0x2028;
		goto code;
	case 'P':
		cp = 0x2029;
		goto code;
	case 'x':
		hex = 2;
		goto code;
	case 'u':
		hex = 4;
		goto code;
	case 'U':
		hex = 8;
		goto code;
	default:
		return decline(P, p, "an unknown escape '\\%c'", p[1]);
	}
	*pp = p + 2;
	return add(P, p, &c, 1);
code:
	if (hex) {
		if ((size_t)(P->end - p) < 2 + hex)
			return decline(P, p, "a short escape");
		for (size_t i = 0; i < hex; i++) {
			int v = hex_digit(p[2 + i]);
			if (v < 0)
				return decline(P, p, "a bad hex escape");
			cp = cp << 4 | (uint32_t)v;
		}
		if ((cp >= 0xd800 && cp <= 0xdfff) || cp > 0x10ffff)
			return decline(P, p, "an escape of an invalid code point");
	}
	*pp = p + 2 + hex;
	return add_utf8(P, p, cp);
}

/*
 * libyaml's scan_flow_scalar: *pp at the opening quote, left after the
 * closing one.
 */
static int scan_quoted(struct yp *P, const char **pp, bool single)
{
	const char *p = *pp + 1, *e = P->end;
	char q = single ? '\'' : '"';
	int r;

	sbuf_reset(&P->buf);
	for (;;) {
		bool leading = false, leading_break = false;
		size_t spaces = 0, breaks = 0;

		if (doc_marker(P, p))
			return decline(P, p, "a document marker inside a quoted scalar");
		if (p >= e)
			return decline(P, *pp, "an unterminated quoted scalar");
		while (p < e && *p != ' ' && *p != '\n') {
			const char *run = p;

			if (single && *p == '\'' && p + 1 < e && p[1] == '\'') {
				r = add(P, p, "'", 1);
				p += 2;
			} else if (*p == q) {
				break;
			} else if (!single && *p == '\\' && p + 1 < e && p[1] == '\n') {
				p += 2;
				leading = true;
				break;
			} else if (!single && *p == '\\') {
				r = scan_escape(P, &p);
			} else {
				p++;
				while (p < e && *p != ' ' && *p != '\n' && *p != q &&
				       (single || *p != '\\'))
					p++;
				r = add(P, run, run, (size_t)(p - run));
			}
			if (r < 0)
				return r;
		}
		if (p < e && *p == q)
			break;
		while (p < e && (*p == ' ' || *p == '\n')) {
			if (*p == ' ') {
				if (!leading)
					spaces++;
			} else if (!leading) {
				spaces = 0;
				leading = leading_break = true;
			} else {
				breaks++;
			}
			p++;
		}
		if (leading) {
			if (leading_break && !breaks)
				r = add(P, p, " ", 1);
			else
				r = add_rep(P, p, '\n', breaks);
		} else {
			r = add_rep(P, p, ' ', spaces);
		}
		if (r < 0)
			return r;
	}
	*pp = p + 1;
	return 0;
}

/*
 * libyaml's scan_block_scalar_breaks: eats the empty lines before a content
 * line (counting them in *breaks) and fixes *indent if it is still 0.
 */
static void block_breaks(struct yp *P, const char **pp, int *indent, int parent, size_t *breaks)
{
	const char *p = *pp;
	int max_indent = 0;

	for (;;) {
		const char *ls = line_start(P, p);
		while ((!*indent || p - ls < *indent) && p < P->end && *p == ' ')
			p++;
		if (p - ls > max_indent)
			max_indent = (int)(p - ls);
		if (p >= P->end || *p != '\n')
			break;
		(*breaks)++;
		p++;
	}
	if (!*indent) {
		*indent = max_indent;
		if (*indent < parent + 1)
			*indent = parent + 1;
		if (*indent < 1)
			*indent = 1;
	}
	*pp = p;
}

/*
 * libyaml's scan_block_scalar: *pp at '|' or '>'; parent is the indentation
 * of the enclosing block (-1 at the top). Leaves *pp at the start of the
 * line after the scalar.
 */
static int scan_block(struct yp *P, const char **pp, int parent)
{
	const char *p = *pp, *e = P->end;
	bool literal = *p == '|', leading_break = false, leading_blank = false;
	int chomp = 0, indent = 0, r;
	size_t breaks = 0;

	p++;
	if (p < e && (*p == '+' || *p == '-')) {
		chomp = *p++ == '+' ? 1 : -1;
		if (p < e && *p >= '0' && *p <= '9') {
			if (*p == '0')
				return decline(P, p, "a block scalar indentation indicator of 0");
			indent = *p++ - '0';
		}
	} else if (p < e && *p >= '0' && *p <= '9') {
		if (*p == '0')
			return decline(P, p, "a block scalar indentation indicator of 0");
		indent = *p++ - '0';
		if (p < e && (*p == '+' || *p == '-'))
			chomp = *p++ == '+' ? 1 : -1;
	}
	p = finish_line(P, p);
	if (!p)
		return decline(P, *pp, "text after a block scalar header");
	if (indent)
		indent = parent >= 0 ? parent + indent : indent;
	sbuf_reset(&P->buf);
	block_breaks(P, &p, &indent, parent, &breaks);
	while (p < e && column(P, p) == indent) {
		bool trailing_blank = *p == ' ';
		const char *s = p;

		if (!literal && leading_break && !leading_blank && !trailing_blank) {
			r = breaks ? 0 : add(P, p, " ", 1);
		} else {
			r = leading_break ? add(P, p, "\n", 1) : 0;
		}
		leading_break = false;
		if (r == 0)
			r = add_rep(P, p, '\n', breaks);
		breaks = 0;
		leading_blank = *p == ' ';
		p = eol(P, p);
		if (r == 0)
			r = add(P, s, s, (size_t)(p - s));
		if (r < 0)
			return r;
		if (p >= e)
			break;
		p++;
		leading_break = true;
		block_breaks(P, &p, &indent, parent, &breaks);
	}
	r = 0;
	if (chomp != -1 && leading_break)
		r = add(P, p, "\n", 1);
	if (r == 0 && chomp == 1)
		r = add_rep(P, p, '\n', breaks);
	*pp = p >= e ? e : line_start(P, p);
	return r;
}

/* ---- structure ---- */

static int parse_inline(struct yp *P, const char **pp, int parent, bool map_value, const char *tag,
			const char *tagpos, int depth, struct yaml_node **ret);
static int parse_block_at(struct yp *P, const char **pp, int col, int parent, const char *tag,
			  const char *tagpos, int depth, struct yaml_node **ret);
static int parse_seq(struct yp *P, const char **pp, int col, const char *tag, const char *tagpos,
		     int depth, struct yaml_node **ret);
static int parse_value(struct yp *P, const char **pp, int parent, bool map_value, int depth,
		       struct yaml_node **ret);

static bool plain_start(const struct yp *P, const char *p)
{
	switch (*p) {
	case '-':
	case '?':
	case ':':
		return !blankz(P, p + 1);
	case ',':
	case '[':
	case ']':
	case '{':
	case '}':
	case '#':
	case '&':
	case '*':
	case '!':
	case '|':
	case '>':
	case '\'':
	case '"':
	case '%':
	case '@':
	case '`':
	case ' ':
	case '\n':
		return false;
	default:
		return true;
	}
}

/*
 * Whether the content at p starts a "key: value" entry: a quoted scalar
 * closed on this line or a plain run, then ':' and a blank, all on one line.
 * Sets *colon to the ':'.
 */
static bool key_line(const struct yp *P, const char *p, const char **colon)
{
	const char *e = eol(P, p);

	if (*p == '"' || *p == '\'') {
		char q = *p++;
		while (p < e) {
			if (*p == q) {
				if (q == '\'' && p + 1 < e && p[1] == '\'') {
					p += 2;
					continue;
				}
				break;
			}
			if (q == '"' && *p == '\\')
				p++;
			p++;
		}
		if (p >= e)
			return false;
		p = skip_spaces(P, p + 1);
		*colon = p;
		return p < e && *p == ':' && blankz(P, p + 1);
	}
	if (!plain_start(P, p))
		return false;
	for (; p < e; p++) {
		if (*p == ':' && blankz(P, p + 1)) {
			*colon = p;
			return true;
		}
		if (*p == ' ' && p + 1 < e && p[1] == '#')
			return false;
	}
	return false;
}

static int parse_key(struct yp *P, const char **pp, struct yaml_node **ret)
{
	const char *p = *pp, *colon, *s = p;
	int r;

	if (!key_line(P, p, &colon))
		return decline(P, p, "expected a mapping key");
	if (colon - p > YAML_KEY_MAX)
		return decline(P, p, "a key longer than %u bytes", YAML_KEY_MAX);
	if (*p == '"' || *p == '\'') {
		r = scan_quoted(P, &s, *p == '\'');
		if (r < 0)
			return r;
		r = buf_scalar(P, p, NULL, *p == '\'' ? YAML_SINGLE : YAML_DOUBLE, ret);
	} else {
		const char *t = colon;
		while (t > p && t[-1] == ' ')
			t--;
		r = new_scalar(P, p, NULL, YAML_PLAIN, p, (size_t)(t - p), ret);
	}
	*pp = colon + 1;
	return r;
}

/*
 * A key shown in a message: printable ASCII as it is, anything else as
 * \xNN (a decoded key may hold escapes, NULs or half a character at the
 * cut), at most 60 bytes of the key.
 */
static const char *key_show(const struct yaml_node *k, char *buf, size_t size)
{
	size_t o = 0;

	for (size_t i = 0; i < k->len && i < 60 && o + 5 < size; i++) {
		unsigned char c = (unsigned char)k->str[i];
		if (c >= 0x20 && c < 0x7f && c != '\\')
			buf[o++] = (char)c;
		else
			o += (size_t)snprintf(buf + o, size - o, "\\x%02x", c);
	}
	buf[o] = '\0';
	return buf;
}

static bool key_eq(const struct yaml_node *a, const struct yaml_node *b)
{
	return a->len == b->len && memcmp(a->str, b->str, a->len) == 0;
}

/* Keys of a large map, sorted to find a repeated one (see map_dups). */
struct key_ref {
	const struct yaml_node *k;
	size_t i;
};

static int key_ref_cmp(const void *x, const void *y)
{
	const struct key_ref *a = x, *b = y;

	if (a->k->len != b->k->len)
		return a->k->len < b->k->len ? -1 : 1;
	int c = memcmp(a->k->str, b->k->str, a->k->len);
	if (c)
		return c;
	return a->i < b->i ? -1 : a->i > b->i;
}

/*
 * A key written twice, in a map of more than MAP_SMALL keys: sorted once
 * the map is complete (n log n whatever the keys: a hash table keyed by
 * the text can be flooded with colliding keys). Declines at the later
 * of the first repeated pair in sort order.
 */
#define MAP_SMALL 16

static int map_dups(struct yp *P, const struct yaml_node *map)
{
	if (map->n <= MAP_SMALL)
		return 0;
	struct key_ref *v = arena_alloc(P->a, map->n * sizeof(*v));
	for (size_t i = 0; i < map->n; i++)
		v[i] = (struct key_ref){ map->keys[i], i };
	qsort(v, map->n, sizeof(*v), key_ref_cmp);
	for (size_t i = 1; i < map->n; i++)
		if (key_eq(v[i - 1].k, v[i].k)) {
			char buf[320];
			if (P->why)
				sbuf_addf(P->why, "line %u: duplicate key '%s'", v[i].k->line,
					  key_show(v[i].k, buf, sizeof(buf)));
			return -SC_EUNSUPPORTED;
		}
	return 0;
}

static void push(struct yp *P, struct yaml_node *c, size_t *cap, struct yaml_node *key,
		 struct yaml_node *item)
{
	if (c->n == *cap) {
		size_t oldcap = *cap;
		c->items = arena_grow_array(P->a, c->items, sizeof(*c->items), c->n, cap);
		if (c->kind == YAML_MAP)
			c->keys = arena_grow_array(P->a, c->keys, sizeof(*c->keys), c->n, &oldcap);
	}
	if (key)
		c->keys[c->n] = key;
	c->items[c->n] = item;
}

static int parse_map(struct yp *P, const char **pp, int col, const char *tag, const char *tagpos,
		     int depth, struct yaml_node **ret)
{
	const char *p = *pp;
	struct yaml_node *map, *key, *val;
	size_t cap = 0;
	int r;

	if (depth >= YAML_DEPTH_MAX)
		return decline(P, p, "nesting deeper than %d", YAML_DEPTH_MAX);
	r = new_node(P, tagpos ? tagpos : p, YAML_MAP, tag, &map);
	if (r < 0)
		return r;
	for (;;) {
		const char *kpos = p;

		if (is_dash(P, p))
			return decline(P, p, "a sequence entry where a mapping key was expected");
		r = parse_key(P, &p, &key);
		if (r < 0)
			return r;
		r = parse_value(P, &p, col, true, depth + 1, &val);
		if (r < 0)
			return r;
		/* A merge key: Psych's to_ruby merges the value's keys into this map. */
		if (key->len == 2 && memcmp(key->str, "<<", 2) == 0)
			return decline(P, kpos, "a merge key ('<<')");
		push(P, map, &cap, key, val);
		for (size_t i = 0; map->n < MAP_SMALL && i < map->n; i++) {
			char buf[320];
			if (key_eq(map->keys[i], key))
				return decline(P, kpos, "duplicate key '%s'",
					       key_show(key, buf, sizeof(buf)));
		}
		map->n++;
		const char *q = next_content(P, p);
		if (!q || doc_marker(P, q))
			break;
		int c = column(P, q);
		if (c < col)
			break;
		if (c > col)
			return decline(P, q, "unexpected indentation");
		p = q;
	}
	r = map_dups(P, map);
	if (r < 0)
		return r;
	*pp = p;
	*ret = map;
	return 0;
}

/*
 * The value of "key:", "- " or "---" continues on the following lines: a
 * block node more indented than parent, or (for a mapping value) a sequence
 * at the mapping's own column, or else an empty scalar. *pp is at the start
 * of a line.
 */
static int parse_next_lines(struct yp *P, const char **pp, int parent, bool map_value,
			    const char *tag, const char *pos, int depth, struct yaml_node **ret)
{
	const char *q = next_content(P, *pp);

	if (q && !doc_marker(P, q)) {
		int c = column(P, q);
		if (c > parent) {
			*pp = q;
			return parse_block_at(P, pp, c, parent, tag, tag ? pos : NULL, depth, ret);
		}
		if (map_value && c == parent && is_dash(P, q)) {
			*pp = q;
			return parse_seq(P, pp, c, tag, tag ? pos : NULL, depth, ret);
		}
	}
	return new_scalar(P, pos, tag, YAML_PLAIN, "", 0, ret);
}

/* A node starting a content line at column col. */
static int parse_block_at(struct yp *P, const char **pp, int col, int parent, const char *tag,
			  const char *tagpos, int depth, struct yaml_node **ret)
{
	const char *p = *pp, *colon;

	if (is_dash(P, p))
		return parse_seq(P, pp, col, tag, tagpos, depth, ret);
	if (*p == '?' && blankz(P, p + 1))
		return decline(P, p, "a complex mapping key");
	if (*p == '!')
		return decline(P, p, "a tag on a line of its own");
	if (key_line(P, p, &colon))
		return parse_map(P, pp, col, tag, tagpos, depth, ret);
	return parse_inline(P, pp, parent, false, tag, tag ? tagpos : NULL, depth, ret);
}

static bool tag_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       c == '-' || c == '_' || c == '/' || c == ':' || c == '.';
}

/*
 * A value written on the line it belongs to, *pp at its first character.
 * Leaves *pp at the start of the line after it.
 */
static int parse_inline(struct yp *P, const char **pp, int parent, bool map_value, const char *tag,
			const char *tagpos, int depth, struct yaml_node **ret)
{
	const char *p = *pp, *q;
	int r;

	switch (*p) {
	case '!':
		if (tag)
			return decline(P, p, "two tags on one node");
		q = p + 1;
		while (q < P->end && tag_char(*q))
			q++;
		if (q == p + 1 || !blankz(P, q))
			return decline(P, p, "a tag other than !name");
		tag = arena_strndup(P->a, p, (size_t)(q - p));
		tagpos = p;
		q = skip_spaces(P, q);
		if (q >= P->end || *q == '\n' || *q == '#') {
			*pp = finish_line(P, q);
			return parse_next_lines(P, pp, parent, map_value, tag, tagpos, depth, ret);
		}
		*pp = q;
		return parse_inline(P, pp, parent, map_value, tag, tagpos, depth, ret);
	case '&':
		return decline(P, p, "an anchor");
	case '*':
		return decline(P, p, "an alias");
	case '[':
	case '{':
		if (P->end - p < 2 || p[1] != (*p == '[' ? ']' : '}') ||
		    !(q = finish_line(P, p + 2)))
			return decline(P, p, "a flow collection with content");
		if (depth >= YAML_DEPTH_MAX)
			return decline(P, p, "nesting deeper than %d", YAML_DEPTH_MAX);
		r = new_node(P, tagpos ? tagpos : p, *p == '[' ? YAML_SEQ : YAML_MAP, tag, ret);
		*pp = q;
		return r;
	case '|':
	case '>':
		r = scan_block(P, pp, parent);
		if (r < 0)
			return r;
		return buf_scalar(P, tagpos ? tagpos : p, tag,
				  *p == '|' ? YAML_LITERAL : YAML_FOLDED, ret);
	case '"':
	case '\'':
		q = p;
		r = scan_quoted(P, &q, *p == '\'');
		if (r < 0)
			return r;
		if (!(q = finish_line(P, q)))
			return decline(P, p, "text after a quoted scalar");
		*pp = q;
		return buf_scalar(P, tagpos ? tagpos : p, tag,
				  *p == '\'' ? YAML_SINGLE : YAML_DOUBLE, ret);
	default:
		break;
	}
	if (!plain_start(P, p))
		return decline(P, p, "'%c' where a value was expected", *p);
	q = p;
	r = scan_plain(P, &q, parent + 1);
	if (r < 0)
		return r;
	if (!(q = finish_line(P, q)))
		return decline(P, p, "text after a plain scalar");
	*pp = q;
	return new_scalar(P, tagpos ? tagpos : p, tag, YAML_PLAIN, P->val, P->vlen, ret);
}

/* *pp just after "key:", "- " or "---". */
static int parse_value(struct yp *P, const char **pp, int parent, bool map_value, int depth,
		       struct yaml_node **ret)
{
	const char *p = skip_spaces(P, *pp), *at = *pp;

	if (p >= P->end || *p == '\n' || *p == '#') {
		*pp = finish_line(P, p);
		return parse_next_lines(P, pp, parent, map_value, NULL, at, depth, ret);
	}
	*pp = p;
	return parse_inline(P, pp, parent, map_value, NULL, NULL, depth, ret);
}

static int parse_seq(struct yp *P, const char **pp, int col, const char *tag, const char *tagpos,
		     int depth, struct yaml_node **ret)
{
	const char *p = *pp, *colon;
	struct yaml_node *seq, *item;
	size_t cap = 0;
	int r;

	if (depth >= YAML_DEPTH_MAX)
		return decline(P, p, "nesting deeper than %d", YAML_DEPTH_MAX);
	r = new_node(P, tagpos ? tagpos : p, YAML_SEQ, tag, &seq);
	if (r < 0)
		return r;
	for (;;) {
		const char *q = skip_spaces(P, p + 1);

		if (q < P->end && *q != '\n' && *q != '#' && q > p + 1) {
			p = q;
			if (is_dash(P, q))
				r = parse_seq(P, &p, column(P, q), NULL, NULL, depth + 1, &item);
			else if (*q == '?' && blankz(P, q + 1))
				r = decline(P, q, "a complex mapping key");
			else if (*q != '!' && key_line(P, q, &colon))
				r = parse_map(P, &p, column(P, q), NULL, NULL, depth + 1, &item);
			else
				r = parse_inline(P, &p, col, false, NULL, NULL, depth + 1, &item);
		} else {
			p++;
			r = parse_value(P, &p, col, false, depth + 1, &item);
		}
		if (r < 0)
			return r;
		push(P, seq, &cap, NULL, item);
		seq->n++;
		q = next_content(P, p);
		if (!q || doc_marker(P, q))
			break;
		int c = column(P, q);
		if (c < col || (c == col && !is_dash(P, q)))
			break;
		if (c > col)
			return decline(P, q, "unexpected indentation");
		p = q;
	}
	*pp = p;
	*ret = seq;
	return 0;
}

int yaml_parse(struct arena *a, struct strv text, struct yaml_node **ret, struct sbuf *why)
{
	struct yp P = { .a = a, .why = why };
	const char *p, *q;
	struct yaml_node *root = NULL;
	int r;

	if (!text.p)
		text = strv_make("", 0);
	P.start = P.lc_pos = p = text.p;
	P.end = text.p + text.len;
	P.lc_line = 1;
	r = check_text(&P);
	if (r < 0)
		goto out;
	q = next_content(&P, p);
	if (!q) {
		r = decline(&P, P.end, "an empty document");
		goto out;
	}
	if (*q == '%') {
		r = decline(&P, q, "a directive");
		goto out;
	}
	if (doc_marker(&P, q)) {
		if (*q == '.') {
			r = decline(&P, q, "a document end before any document");
			goto out;
		}
		p = q + 3;
		r = parse_value(&P, &p, -1, false, 0, &root);
	} else {
		p = q;
		r = parse_block_at(&P, &p, column(&P, q), -1, NULL, NULL, 0, &root);
	}
	if (r < 0)
		goto out;
	q = next_content(&P, p);
	if (q && doc_marker(&P, q) && *q == '.') {
		if (!(p = finish_line(&P, q + 3))) {
			r = decline(&P, q, "text after the document end");
			goto out;
		}
		q = next_content(&P, p);
	}
	if (q) {
		r = decline(&P, q,
			    doc_marker(&P, q) ? "several documents" : "text after the document");
		goto out;
	}
	*ret = root;
out:
	sbuf_release(&P.buf);
	return r;
}

const struct yaml_node *yaml_map_get(const struct yaml_node *map, const char *key)
{
	size_t len = strlen(key);

	if (!map || map->kind != YAML_MAP)
		return NULL;
	for (size_t i = 0; i < map->n; i++)
		if (map->keys[i]->len == len && memcmp(map->keys[i]->str, key, len) == 0)
			return map->items[i];
	return NULL;
}
