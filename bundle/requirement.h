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

/* Parses one constraint; returns 0 or -EINVAL. */
int requirement_parse(struct strv s, struct requirement *ret);
bool requirement_satisfied(const struct requirement *r, struct strv version);

/*
 * Parses a list separated by `sep` (',' or '&') into ret[0..max); returns the
 * number parsed, or -EINVAL (malformed) / -E2BIG (more than max).
 */
int requirement_parse_list(struct strv s, char sep, struct requirement *ret, size_t max);
bool requirement_list_satisfied(const struct requirement *r, size_t n, struct strv version);
