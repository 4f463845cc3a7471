/*
 * resolve.h: version resolution with PubGrub (as Bundler 2.4+ and Dart's pub
 * use it), pure: no I/O.
 *
 * The caller describes the root's dependencies (the Gemfile) and answers,
 * through a callback, "which versions does gem X have, and what does each
 * depend on". Candidates are finite, so a version set is a bitset over a
 * package's candidate list; a term is (set, absent_ok): positive terms
 * ("X is selected at a version in S") have absent_ok false, negative terms
 * ("X is not selected at a version in S") are stored as their complement with
 * absent_ok true. Intersection is then AND of sets and of absent_ok.
 *
 * Policy stays with the caller: which versions are candidates at all (Ruby
 * and RubyGems requirements, platforms, cooldown) and in which order they are
 * tried (`pref`: locked versions first, `--patch`/`--minor`, ...). The
 * resolver adds Bundler's prerelease rule: a prerelease is in a requirement's
 * set only when the requirement names a prerelease or the package allows
 * prereleases (`--pre`, or locked at one).
 *
 * On a conflict the answer is PubGrub's explanation: the chain of
 * incompatibilities that made version solving fail, each external one
 * naming the requirement as written ("Gemfile depends on a ~> 1.0").
 *
 * Every size is bounded by struct resolve_limits; going past one is an error
 * with a message, never a hang.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>

struct arena;
struct sbuf;

struct resolve_dep {
	const char *name;
	const char *reqs;   /* "~> 1.0, >= 1.0.2" or "" for >= 0 */
	const char *origin; /* where it is written ("Gemfile:12") for the explanation, or NULL */
};

struct resolve_version {
	const char *version;
	const struct resolve_dep *deps;
	size_t ndeps;
};

/* What the callback fills in for one package. */
struct resolve_pkg_info {
	const struct resolve_version *versions; /* sorted ascending by version, unique */
	size_t nversions;
	/* Indices into versions, most preferred first; NULL: highest first. */
	const size_t *pref;
	size_t npref;	/* versions not listed are never chosen */
	bool allow_pre; /* prereleases count even for requirements that name none */
	bool missing;	/* no such gem in any source (for the explanation) */
};

/*
 * Fills *ret for `name` (strings and arrays must live until resolve_run
 * returns). Returns 0, or a negative errno to abort (with a message in err).
 */
typedef int resolve_fetch_fn(void *data, const char *name, struct resolve_pkg_info *ret,
			     struct sbuf *err);

struct resolve_limits {
	size_t max_packages; /* distinct names (default 20000) */
	size_t max_versions; /* candidates of one package (default 20000) */
	size_t max_steps;    /* propagations + decisions + conflict steps (default 2000000) */
};

struct resolve_pick {
	const char *name;
	const char *version;
};

struct resolve_result {
	struct resolve_pick *picks; /* sorted by name; the root is not listed */
	size_t npicks;
};

/*
 * Resolves `roots` (the Gemfile's dependencies; `root_name` names it in the
 * explanation, e.g. "Gemfile"). Returns 0 with *ret filled (in arena a);
 * -SC_ECONFLICT when no solution exists, with the explanation in err;
 * -E2BIG when a limit is reached; -EINVAL for a malformed requirement;
 * or the callback's error. err gets a message in each error case.
 */
int resolve_run(struct arena *a, const char *root_name, const struct resolve_dep *roots,
		size_t nroots, resolve_fetch_fn *fetch, void *data,
		const struct resolve_limits *limits, struct resolve_result *ret, struct sbuf *err);

/* The version picked for name, or NULL. */
const char *resolve_result_version(const struct resolve_result *r, const char *name);

/*
 * Bundler's GemVersionPromoter order (bundler/gem_version_promoter.rb of
 * 2.3): sorts idx[0..n) (indices into versions, ascending in version) most
 * preferred first, for a gem locked at `locked` (NULL: not locked, highest
 * first). level is 'M' (major), 'm' (minor) or 'p' (patch); unlocking says
 * whether this gem is being updated (else the locked version goes first);
 * strict drops versions outside the level (and below the locked one);
 * allow_pre keeps prereleases in the order rather than last. Returns the
 * number of indices kept.
 */
size_t resolve_promote(const struct resolve_version *versions, size_t *idx, size_t n,
		       const char *locked, char level, bool unlocking, bool strict, bool allow_pre);
