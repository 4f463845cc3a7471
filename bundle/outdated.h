/*
 * outdated.h: `bundle outdated` as Bundler 2.3.15 computes and prints it
 * (bundler/lib/bundler/cli/outdated.rb), pure: the locked specs, the specs
 * of a resolution with the gems unlocked, the versions the index lists and
 * the Gemfile's dependencies in; the rows and their text out.
 *
 * For each locked gem (one per name; its Gemfile dependency or none), the
 * unlocked resolution's spec for its platform is found (none: skipped).
 * Its "newest" is that spec's version with `strict` (--filter-strict or a
 * --patch/--minor/--major level); otherwise the highest version the index
 * lists for the gem on a platform the locked spec's platform can use,
 * prereleases left out unless the locked version is one or `pre` is set
 * (Bundler reads the index here without the Ruby requirement). A gem is
 * outdated when newest is above the locked version and, with --filter-*,
 * when the update is of that kind. Git and path gems are their resolved
 * version (never outdated).
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>

struct arena;
struct lockfile;
struct sbuf;

/* Every version (and platform) the index of a gem's source lists. */
struct outdated_avail {
	const char *name;
	const char **versions, **platforms;
	size_t n;
};

/* A Gemfile dependency as Bundler shows it. */
struct outdated_dep {
	const char *name;
	const char *reqs;   /* Gem::Requirement#to_s: ">= 0" when none */
	const char *groups; /* "development, test" */
};

struct outdated_opts {
	bool pre, strict, only_explicit, parseable;
	const char *filters[3]; /* "major", "minor", "patch", in the order given */
	size_t nfilters;
	const char *group;	 /* --group G, or NULL */
	bool groups;		 /* --groups */
	const char *const *gems; /* GEMS given (all when ngems is 0) */
	size_t ngems;
};

struct outdated_row {
	const char *name, *current, *newest;
	const struct outdated_dep *dep; /* NULL: not in the Gemfile */
};

/*
 * The outdated gems, sorted by name, in *ret (arena a). cur: the lockfile;
 * next: the unlocked resolution; avail sorted by name. Returns the count.
 */
size_t outdated_rows(struct arena *a, const struct lockfile *cur, const struct lockfile *next,
		     const struct outdated_avail *avail, size_t navail,
		     const struct outdated_dep *deps, size_t ndeps, const struct outdated_opts *o,
		     struct outdated_row **ret);

/*
 * What Bundler prints after resolving: the table (Gem, Current, Latest,
 * Requested, Groups; with --group only the rows of that group), or with
 * --parseable one "name (newest x, installed y[, requested z])" line per
 * row, or when there is no row the "Bundle up to date!" message (nothing
 * with --parseable).
 */
void outdated_format(const struct outdated_row *rows, size_t n, const struct outdated_opts *o,
		     struct sbuf *out);
