/*
 * version.c: Gem::Version without allocation.
 *
 * RubyGems normalises a version by stripping it, reading "" as "0" and
 * replacing every '-' with ".pre.", then splits it into runs of digits and
 * runs of letters. The comparison works on the "canonical" segments: the
 * numeric prefix and the part from the first letter segment on each lose
 * their trailing zeros. Here a tokenizer reads segments straight from the
 * text (a '-' yields a synthetic "pre" segment) and a second layer drops the
 * trailing zeros by looking ahead, so nothing is copied.
 */
#include "bundle/version.h"

#include <errno.h>
#include <string.h>

enum vseg_kind {
	VSEG_END,
	VSEG_NUM,
	VSEG_STR,
};

struct vseg {
	enum vseg_kind kind;
	struct strv text; /* digits without leading zeros ("" for 0), or letters */
};

struct vseg_iter {
	const char *p;
	const char *end;
	bool release_only; /* stop at the first letter segment (Gem::Version#release) */
	bool seen_str;	   /* a letter segment has been returned */
	size_t zeros;	   /* zero segments still to return before `held` */
	bool has_held;
	struct vseg held;
};

static bool version_is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}

static bool version_is_digit(char c)
{
	return c >= '0' && c <= '9';
}

static bool version_is_alpha(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static bool version_is_alnum(char c)
{
	return version_is_digit(c) || version_is_alpha(c);
}

static struct strv version_strip(struct strv v)
{
	while (v.len && version_is_space(v.p[0])) {
		v.p++;
		v.len--;
	}
	while (v.len && version_is_space(v.p[v.len - 1]))
		v.len--;
	return v;
}

/* Skips the characters of `s` from `i` while they are alnum, or '-' too. */
static size_t version_span(struct strv s, size_t i, bool dash)
{
	while (i < s.len && (version_is_alnum(s.p[i]) || (dash && s.p[i] == '-')))
		i++;
	return i;
}

bool version_valid(struct strv v)
{
	size_t i = 0, j;

	/*
	 * ANCHORED_VERSION_PATTERN:
	 * \A\s*([0-9]+(?>\.[0-9a-zA-Z]+)*(-[0-9A-Za-z-]+(\.[0-9A-Za-z-]+)*)?)?\s*\z
	 */
	v = version_strip(v);
	if (v.len == 0)
		return true;
	while (i < v.len && version_is_digit(v.p[i]))
		i++;
	if (i == 0)
		return false;
	while (i < v.len && v.p[i] == '.') {
		j = version_span(v, i + 1, false);
		if (j == i + 1)
			return false;
		i = j;
	}
	if (i < v.len && v.p[i] == '-') {
		j = version_span(v, i + 1, true);
		if (j == i + 1)
			return false;
		i = j;
		while (i < v.len && v.p[i] == '.') {
			j = version_span(v, i + 1, true);
			if (j == i + 1)
				return false;
			i = j;
		}
	}
	return i == v.len;
}

bool version_is_prerelease(struct strv v)
{
	for (size_t i = 0; i < v.len; i++)
		if (version_is_alpha(v.p[i]) || v.p[i] == '-')
			return true;
	return false;
}

static void vseg_iter_init(struct vseg_iter *it, struct strv v, bool release_only)
{
	v = version_strip(v);
	/* An empty version is "0", whose canonical form has no segments either. */
	*it = (struct vseg_iter){ .p = v.p, .end = v.p + v.len, .release_only = release_only };
}

/* The next raw segment, as String#scan(/[0-9]+|[a-z]+/i) after gsub("-", ".pre."). */
static enum vseg_kind vseg_raw_next(struct vseg_iter *it, struct vseg *ret)
{
	const char *s;

	while (it->p < it->end && !version_is_alnum(*it->p) && *it->p != '-')
		it->p++;
	if (it->p == it->end) {
		ret->kind = VSEG_END;
		return VSEG_END;
	}
	s = it->p;
	if (*s == '-') {
		it->p++;
		ret->kind = VSEG_STR;
		ret->text = STRV_LIT("pre");
	} else if (version_is_digit(*s)) {
		while (it->p < it->end && version_is_digit(*it->p))
			it->p++;
		while (s < it->p && *s == '0')
			s++;
		ret->kind = VSEG_NUM;
		ret->text = strv_make(s, (size_t)(it->p - s));
	} else {
		while (it->p < it->end && version_is_alpha(*it->p))
			it->p++;
		ret->kind = VSEG_STR;
		ret->text = strv_make(s, (size_t)(it->p - s));
	}
	if (ret->kind == VSEG_STR && it->release_only) {
		it->p = it->end;
		ret->kind = VSEG_END;
	}
	return ret->kind;
}

static bool vseg_is_zero(const struct vseg *s)
{
	return s->kind == VSEG_NUM && s->text.len == 0;
}

/* The next canonical segment (Gem::Version#canonical_segments). */
static enum vseg_kind vseg_next(struct vseg_iter *it, struct vseg *ret)
{
	if (it->zeros) {
		it->zeros--;
		*ret = (struct vseg){ VSEG_NUM, STRV_LIT("") };
		return VSEG_NUM;
	}
	if (it->has_held) {
		it->has_held = false;
		*ret = it->held;
		return ret->kind;
	}
	vseg_raw_next(it, ret);
	if (vseg_is_zero(ret)) {
		size_t n = 1;

		while (vseg_raw_next(it, ret) == VSEG_NUM && vseg_is_zero(ret))
			n++;
		/* Zeros that end their part (numeric prefix or string part) are dropped. */
		if (ret->kind == VSEG_END || (ret->kind == VSEG_STR && !it->seen_str)) {
			if (ret->kind == VSEG_STR)
				it->seen_str = true;
			return ret->kind;
		}
		it->held = *ret;
		it->has_held = true;
		it->zeros = n - 1;
		*ret = (struct vseg){ VSEG_NUM, STRV_LIT("") };
		return VSEG_NUM;
	}
	if (ret->kind == VSEG_STR)
		it->seen_str = true;
	return ret->kind;
}

/* Compares digit strings without leading zeros. */
static int version_numcmp(struct strv a, struct strv b)
{
	int c;

	if (a.len != b.len)
		return a.len < b.len ? -1 : 1;
	c = a.len ? memcmp(a.p, b.p, a.len) : 0;
	return (c > 0) - (c < 0);
}

static int version_segcmp(const struct vseg *a, const struct vseg *b)
{
	int c;

	if (a->kind == VSEG_NUM && b->kind == VSEG_NUM)
		return version_numcmp(a->text, b->text);
	if (a->kind == VSEG_STR && b->kind == VSEG_NUM)
		return -1;
	if (a->kind == VSEG_NUM && b->kind == VSEG_STR)
		return 1;
	c = strv_cmp(a->text, b->text);
	return (c > 0) - (c < 0);
}

static int version_cmp_impl(struct strv a, bool a_release, struct strv b)
{
	struct vseg_iter ia, ib;
	struct vseg sa, sb;

	vseg_iter_init(&ia, a, a_release);
	vseg_iter_init(&ib, b, false);
	for (;;) {
		int c;

		vseg_next(&ia, &sa);
		vseg_next(&ib, &sb);
		if (sa.kind == VSEG_END && sb.kind == VSEG_END)
			return 0;
		/* A missing segment counts as 0. */
		if (sa.kind == VSEG_END)
			sa = (struct vseg){ VSEG_NUM, STRV_LIT("") };
		if (sb.kind == VSEG_END)
			sb = (struct vseg){ VSEG_NUM, STRV_LIT("") };
		c = version_segcmp(&sa, &sb);
		if (c)
			return c;
	}
}

int version_cmp(struct strv a, struct strv b)
{
	return version_cmp_impl(a, false, b);
}

int version_release_cmp(struct strv a, struct strv b)
{
	return version_cmp_impl(a, true, b);
}

/* Appends the digits of d (no leading zeros; "" is 0) to buf at *pos, plus one if succ. */
static int version_put_num(struct strv d, bool succ, char *buf, size_t size, size_t *pos)
{
	size_t n = d.len ? d.len : 1, i;
	char *q = buf + *pos;

	/* Room for the digits, a carry digit and the NUL. */
	if (size - *pos < n + 2)
		return -E2BIG;
	if (d.len)
		memcpy(q, d.p, n);
	else
		q[0] = '0';
	for (i = n; succ && i-- > 0;) {
		if (q[i] != '9') {
			q[i]++;
			succ = false;
		} else {
			q[i] = '0';
		}
	}
	if (succ) {
		memmove(q + 1, q, n);
		q[0] = '1';
		n++;
	}
	*pos += n;
	q[n] = '\0';
	return 0;
}

int version_bump(struct strv v, char *buf, size_t size)
{
	struct vseg_iter it;
	struct vseg seg;
	size_t nseg = 0, i, pos = 0;

	/* Gem::Version#bump: drop letter segments and the last one, add one to the new last. */
	if (size == 0)
		return -E2BIG;
	buf[0] = '\0';
	vseg_iter_init(&it, v, true);
	while (vseg_raw_next(&it, &seg) != VSEG_END)
		nseg++;
	if (nseg == 0)
		return version_put_num(STRV_LIT(""), true, buf, size, &pos) < 0 ? -E2BIG : (int)pos;
	if (nseg > 1)
		nseg--;
	vseg_iter_init(&it, v, true);
	for (i = 0; i < nseg; i++) {
		vseg_raw_next(&it, &seg);
		if (i) {
			if (size - pos < 2)
				return -E2BIG;
			buf[pos++] = '.';
		}
		if (version_put_num(seg.text, i + 1 == nseg, buf, size, &pos) < 0)
			return -E2BIG;
	}
	return (int)pos;
}
