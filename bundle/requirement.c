/*
 * requirement.c: Gem::Requirement parsing and matching.
 *
 * One constraint is Gem::Requirement::PATTERN:
 *   \A\s*(=|!=|>|<|>=|<=|~>)?\s*(<version pattern>)\s*\z
 * with a missing operator meaning "=". The parsed version is a view into the
 * caller's text and is never copied. "~> r" is satisfied by v when v >= r and
 * v.release < r.bump (RubyGems' OPS table).
 */
#include "bundle/requirement.h"

#include <errno.h>

#include "bundle/version.h"

/* Longest version a requirement may name; bump() needs a bounded buffer. */
#define REQUIREMENT_VERSION_MAX 256

static const char *const requirement_op_name[] = {
	[REQ_EQ] = "=",	 [REQ_NE] = "!=", [REQ_GT] = ">",	[REQ_LT] = "<",
	[REQ_GE] = ">=", [REQ_LE] = "<=", [REQ_TWIDDLE] = "~>",
};

const char *requirement_op_str(enum req_op op)
{
	return requirement_op_name[op];
}

static bool requirement_is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}

static struct strv requirement_skip_space(struct strv s)
{
	while (s.len && requirement_is_space(s.p[0]))
		s = strv_drop(s, 1);
	return s;
}

int requirement_parse(struct strv s, struct requirement *ret)
{
	enum req_op op = REQ_EQ;
	struct strv v;

	s = requirement_skip_space(s);
	if (strv_starts_with(s, ">=")) {
		op = REQ_GE;
		s = strv_drop(s, 2);
	} else if (strv_starts_with(s, "<=")) {
		op = REQ_LE;
		s = strv_drop(s, 2);
	} else if (strv_starts_with(s, "!=")) {
		op = REQ_NE;
		s = strv_drop(s, 2);
	} else if (strv_starts_with(s, "~>")) {
		op = REQ_TWIDDLE;
		s = strv_drop(s, 2);
	} else if (strv_starts_with(s, "=")) {
		s = strv_drop(s, 1);
	} else if (strv_starts_with(s, ">")) {
		op = REQ_GT;
		s = strv_drop(s, 1);
	} else if (strv_starts_with(s, "<")) {
		op = REQ_LT;
		s = strv_drop(s, 1);
	}
	v = requirement_skip_space(s);
	while (v.len && requirement_is_space(v.p[v.len - 1]))
		v.len--;
	/* Unlike a bare version, the version of a requirement cannot be empty. */
	if (v.len == 0 || v.len > REQUIREMENT_VERSION_MAX || !version_valid(v))
		return -EINVAL;
	ret->op = op;
	ret->version = v;
	return 0;
}

static bool requirement_twiddle_ok(struct strv r, struct strv version)
{
	char bump[REQUIREMENT_VERSION_MAX + 8];

	if (version_cmp(version, r) < 0)
		return false;
	if (version_bump(r, bump, sizeof(bump)) < 0)
		return false;
	return version_release_cmp(version, strv_from(bump)) < 0;
}

bool requirement_satisfied(const struct requirement *r, struct strv version)
{
	switch (r->op) {
	case REQ_EQ:
		return version_cmp(version, r->version) == 0;
	case REQ_NE:
		return version_cmp(version, r->version) != 0;
	case REQ_GT:
		return version_cmp(version, r->version) > 0;
	case REQ_LT:
		return version_cmp(version, r->version) < 0;
	case REQ_GE:
		return version_cmp(version, r->version) >= 0;
	case REQ_LE:
		return version_cmp(version, r->version) <= 0;
	case REQ_TWIDDLE:
		return requirement_twiddle_ok(r->version, version);
	}
	return false;
}

int requirement_parse_list(struct strv s, char sep, struct requirement *ret, size_t max)
{
	struct strv item, rest = s;
	size_t n = 0;

	if (strv_trim(s).len == 0)
		return 0;
	for (;;) {
		bool more = strv_cut(rest, sep, &item, &rest);
		int r;

		if (n == max)
			return -E2BIG;
		r = requirement_parse(item, &ret[n]);
		if (r < 0)
			return r;
		n++;
		if (!more)
			break;
	}
	return (int)n;
}

bool requirement_list_satisfied(const struct requirement *r, size_t n, struct strv version)
{
	for (size_t i = 0; i < n; i++)
		if (!requirement_satisfied(&r[i], version))
			return false;
	return true;
}

bool requirement_is_default(const struct requirement *r)
{
	return r->op == REQ_GE && version_cmp(r->version, STRV_LIT("0")) == 0;
}
