/*
 * requirement.h: Gem::Requirement (one or more "op version" constraints).
 *
 * Parses the forms found in Gemfile.lock and the compact index:
 * "~> 1.2", ">= 0", "= 1.0", "1.0" (means "= 1.0"), "!= 2", "< 3", "<= 3",
 * "> 1", and lists joined by ", " (lockfile) or "&" (compact index).
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "base/strv.h"

enum req_op {
	REQ_EQ,
	REQ_NE,
	REQ_GT,
	REQ_LT,
	REQ_GE,
	REQ_LE,
	REQ_TWIDDLE, /* ~> */
};

struct requirement {
	enum req_op op;
	struct strv version; /* a view into the parsed text */
};

/*
 * Parses one constraint; returns 0 or -EINVAL (malformed, or a version longer
 * than 256 bytes). ret->version is a view into s, without surrounding spaces.
 */
int requirement_parse(struct strv s, struct requirement *ret);
/* Gem::Requirement#satisfied_by? for one constraint; version must be valid. */
bool requirement_satisfied(const struct requirement *r, struct strv version);
/* The operator as written by RubyGems: "=", "!=", ">", "<", ">=", "<=", "~>". */
const char *requirement_op_str(enum req_op op);
/* True for ">= 0" (Gem::Requirement.default, which the lockfile omits). */
bool requirement_is_default(const struct requirement *r);

/*
 * Parses a list separated by `sep` (',' or '&') into ret[0..max); returns the
 * number parsed (0 for an empty or all-blank s), or -EINVAL (malformed) /
 * -E2BIG (more than max).
 */
int requirement_parse_list(struct strv s, char sep, struct requirement *ret, size_t max);
/* True when every constraint holds (also when n is 0). */
bool requirement_list_satisfied(const struct requirement *r, size_t n, struct strv version);
