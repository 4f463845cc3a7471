/*
 * lockfile.h: Gemfile.lock, parsed and written as Bundler does
 * (bundler/lib/bundler/lockfile_parser.rb and lockfile_generator.rb).
 *
 * Sections: GIT, PATH, PLUGIN SOURCE and GEM source sections (each with
 * options and `specs:`), PLATFORMS, DEPENDENCIES, CHECKSUMS, RUBY VERSION,
 * BUNDLED WITH. Unknown top-level sections are kept verbatim so that a
 * rewrite loses nothing. All strings live in the arena passed to
 * lockfile_parse(); the struct holds no other resources.
 *
 * lockfile_write() produces Bundler's canonical text: for a lockfile Bundler
 * wrote, parse + write gives back the same bytes.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "base/strv.h"

struct arena;
struct sbuf;

enum lock_source_kind {
	LOCK_SRC_GEM,
	LOCK_SRC_GIT,
	LOCK_SRC_PATH,
	LOCK_SRC_PLUGIN,
};

struct lock_option {
	const char *key;   /* "remote", "revision", "branch", "glob", "type", ... */
	const char *value; /* as written, credentials included if the file had them */
};

struct lock_dep {
	const char *name;
	const char *reqs; /* "~> 1.0, >= 1.0.2" as written inside the parens, or NULL */
};

struct lock_source;

struct lock_spec {
	const char *name;
	const char *version;
	const char *platform;  /* "ruby" when the line has no platform */
	const char *full_name; /* name-version[-platform] */
	struct lock_dep *deps;
	size_t ndeps;
	struct lock_source *source;
};

struct lock_source {
	enum lock_source_kind kind;
	struct lock_option *opts; /* every option line in file order, "remote" included */
	size_t nopts;
	struct lock_spec *specs;
	size_t nspecs;
};

struct lock_dependency {
	const char *name;
	const char *reqs; /* as written inside the parens, or NULL */
	bool pinned;      /* trailing '!' */
};

struct lock_checksum {
	const char *name;
	const char *version;
	const char *platform; /* "ruby" when absent */
	const char *sha256;   /* 64 lower-case hex, or NULL when the line has none */
	const char *raw;      /* the checksum part of the line as written ("" if none) */
};

struct lock_section {
	const char *name; /* an unknown top-level section, kept verbatim */
	const char *body; /* its lines, each with its '\n' */
};

struct lockfile {
	struct lock_source *sources; /* in file order */
	size_t nsources;
	const char **platforms;
	size_t nplatforms;
	struct lock_dependency *deps;
	size_t ndeps;
	bool has_checksums; /* a CHECKSUMS section was present (even empty) */
	struct lock_checksum *checksums;
	size_t nchecksums;
	const char *ruby_version; /* "ruby 3.1.2p20", or NULL */
	const char *bundled_with; /* "2.3.15", or NULL */
	struct lock_section *extra;
	size_t nextra;
};

/*
 * Parses `text`. On error returns -SC_ELOCKFILE and writes a message naming
 * the line ("line 12: ...") to errmsg (which may be NULL). Merge-conflict
 * markers are an error.
 */
int lockfile_parse(struct arena *a, struct strv text, struct lockfile *ret, struct sbuf *errmsg);

/* Appends Bundler's canonical rendering of lf to out. Returns 0. */
int lockfile_write(const struct lockfile *lf, struct sbuf *out);

/* The value of a source option ("remote", "revision", ...) or NULL. */
const char *lock_source_opt(const struct lock_source *src, const char *key);

/* The locked sha256 for name/version/platform from CHECKSUMS, or NULL. */
const char *lockfile_checksum(const struct lockfile *lf, const char *name, const char *version,
			      const char *platform);
