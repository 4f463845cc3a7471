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
 * lockfile_write() produces Bundler's canonical text, in the format of a
 * given Bundler version (2.3 to 4.x): for a lockfile Bundler wrote, parse +
 * write gives back the same bytes. Sections of newer Bundlers (4.1's
 * OVERRIDES, CONTENT ADDRESSES) are unknown sections here and are kept.
 *
 * Parsing is stricter than Bundler's (which skips lines it does not
 * understand): wrong indentation, tabs, spec lines before "specs:", options
 * after it, a source without "specs:", a GIT source without remote/revision,
 * PATH without remote, PLUGIN SOURCE without remote/type, a section given
 * twice, the same spec twice, invalid versions, requirements or sha256
 * values, two different checksums for one gem, and merge-conflict markers
 * are all errors. Blank lines anywhere and "\r\n" line ends are accepted.
 * Like Bundler, a spec's version ends at the first '-' (the rest is its
 * platform), a repeated DEPENDENCIES name replaces the earlier entry, and an
 * identical repeated CHECKSUMS line is dropped.
 *
 * The writer sorts, so a struct built in any order comes out canonical:
 * PATH/GIT/PLUGIN sources by Bundler's Source#identifier, then GEM sources;
 * specs by full name ("foo-2fa-1.0.0" before "foo-3.0.0") with a spec named
 * "bundler" left out; dependencies by "name (reqs)", made unique; each
 * requirement list parsed and rendered as RubyGems does ("op version",
 * sorted, reversed, ">= 0" alone dropped); PLATFORMS sorted and unique;
 * DEPENDENCIES sorted, one per name; CHECKSUMS sorted as whole lines. Names,
 * versions, platforms and option values are written as they were read
 * (Bundler 2.3 would re-render "x86_64-linux-gnu" as "x86_64-linux"; newer
 * Bundlers keep it). Options Bundler does not know are kept, after the known
 * ones. Unknown sections go back after the known section they followed.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "base/strv.h"

struct arena;
struct sbuf;

/* GEM sections in one lockfile: each is a gem server of the install. */
#define LOCK_GEM_SOURCES_MAX 64

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
	bool pinned;	  /* trailing '!' */
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
	const char *body; /* its lines, each with its '\n' (blank lines dropped) */
	/* The known section it followed ("GEM", "PLATFORMS", ...), NULL at the top. */
	const char *after;
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
	bool crlf; /* the text had "\r\n" line ends; lockfile_write() keeps them, as Bundler does */
	/*
	 * Spaces before the RUBY VERSION / BUNDLED WITH value as parsed (2 from
	 * Bundler 4, 3 before), 0 when the text had neither section or the
	 * struct was built by hand.
	 */
	unsigned value_indent;
};

/*
 * What differs between the lockfiles of Bundler versions, for writing one
 * "as Bundler <version> would". Sections, sorting and spec lines are the
 * same from 2.3 on; these are the differences:
 *   value_indent      spaces before the RUBY VERSION / BUNDLED WITH value:
 *                     3 before 4.0, 2 from 4.0 (rubygems PR #9076)
 *   ruby_patchlevel   RUBY VERSION of a new lock carries "p<patchlevel>"
 *                     (before 4.0); a value read from a lockfile is kept as is
 *   checksums_known   the version knows CHECKSUMS (2.5 and later)
 *   checksums_default a new lockfile gets CHECKSUMS (4.0 and later; before,
 *                     only when the lockfile had them or lockfile_checksums
 *                     is set)
 *   bundler_checksum  CHECKSUMS carries a "bundler (x.y.z) sha256=..." line
 *                     for Bundler itself (4.0 and later)
 */
struct lock_format {
	unsigned value_indent;
	bool ruby_patchlevel;
	bool checksums_known;
	bool checksums_default;
	bool bundler_checksum;
};

/* The format of Bundler `bundler_version` ("2.3.15", "4.0.24"); NULL or unparsable: 2.x's. */
struct lock_format lockfile_format_for(const char *bundler_version);

/*
 * The RUBY VERSION value a Bundler of format f writes for a new lock
 * (RubyVersion.system.to_s): "ruby 3.1.2p20" (patchlevel kept before 4.0,
 * "p-1" never written) or "ruby 3.1.2"; with " (<engine> <engine_version>)"
 * when engine is not "ruby". patchlevel and engine may be NULL. Appends to out.
 */
void lockfile_ruby_version(const struct lock_format *f, const char *version,
			   const char *patchlevel, const char *engine, const char *engine_version,
			   struct sbuf *out);

/*
 * Parses `text`. On error returns -SC_ELOCKFILE, leaves *ret empty, and
 * appends a message naming the line ("line 12: ...") to errmsg (which may be
 * NULL). Merge-conflict markers are an error. Returns 0 on success; an empty
 * text is a valid, empty lockfile.
 */
int lockfile_parse(struct arena *a, struct strv text, struct lockfile *ret, struct sbuf *errmsg);

/*
 * Appends Bundler's canonical rendering of lf to out (with "\r\n" line ends
 * when lf->crlf), in the format of Bundler `version_hint` (see struct
 * lock_format; only value_indent changes what this function writes: the
 * caller builds the struct with the sections and values that version would
 * put there). With version_hint NULL the format is the one the text was
 * parsed with (lf->value_indent), else that of lf->bundled_with: parse +
 * write(NULL) of a Bundler-written lockfile gives back its bytes. Specs
 * without full_name and checksums without raw (then "sha256=<hex>" is
 * written) are accepted. Returns 0.
 */
int lockfile_write(const struct lockfile *lf, const char *version_hint, struct sbuf *out);

/*
 * The lockfile that pairs with a Gemfile path, as Bundler's
 * SharedHelpers#default_lockfile: "<dir>/gems.locked" for a file named
 * exactly "gems.rb", else "<gemfile>.lock" ("foo_gems.rb" -> "foo_gems.rb.lock",
 * "Gemfile" -> "Gemfile.lock"). Appends to out. Returns 0.
 */
int lockfile_path_for_gemfile(const char *gemfile, struct sbuf *out);

/* The value of a source option ("remote", "revision", ...) or NULL; the first one if repeated. */
const char *lock_source_opt(const struct lock_source *src, const char *key);

/*
 * The locked sha256 for name/version/platform (NULL or "" meaning "ruby";
 * strings compared exactly) from CHECKSUMS, or NULL.
 */
const char *lockfile_checksum(const struct lockfile *lf, const char *name, const char *version,
			      const char *platform);
