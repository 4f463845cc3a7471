/*
 * gemfile.h: a Gemfile as Bundler's DSL evaluated it, parsed from the Ruby
 * helper's answer to `gemfile <path>` (see phases/ruby/helper.rb).
 *
 * The answer is lines of TAB-separated fields, one record per line; unknown
 * line types are skipped (newer helpers may add some), a
 * known type with too few fields is an error, extra fields are ignored:
 *
 *   dep  name reqs groups platform_ok pinned [source platforms type location]
 *        reqs as in Gemfile.lock ("~> 1.0, >= 1.0.1", "" for >= 0); groups
 *        comma-separated; platform_ok 0 when the dependency is not for this
 *        platform or an install_if condition is false; pinned 1 for the
 *        lockfile's '!' (a git/path/block source); source the id of a
 *        `source` line, "" or "0" for the global rubygems source; platforms
 *        comma-separated as written (`platforms: [:mri, :windows]`), "" for
 *        any; type "runtime" or "development" (a gemspec's development
 *        dependency); location "Gemfile:12" (file relative to the Gemfile's
 *        directory, or absolute when outside it)
 *   source  id kind                      kind: gem, git, path, gemspec
 *   source_opt  id key value             remote (gem, repeatable; git uri;
 *        path as the lockfile writes it), branch, tag, ref, glob,
 *        submodules ("true"), name (gemspec: the gem), development_group
 *   require  name paths                  follows the dep line of its gem, only
 *        when the Gemfile gives `require:`: "-" for `require: false`, else the
 *        paths joined by "," (`require: true` as the gem's name)
 *   optional_group  name
 *   ruby  requirement engine engine_version patchlevel
 *        the `ruby` directive: requirement "~> 3.1" or "3.1.2, < 4" (comma
 *        list), engine "ruby"; the others may be ""
 *   file  path sha256|-                  a file the evaluation read or looked
 *        for (the Gemfile, eval_gemfile'd files, gemspecs, File.read /
 *        exist? / file? from the Gemfile), path as `location`, "-" when it
 *        did not exist
 *   env  NAME sha256|-                   an environment variable read while
 *        the Gemfile ran (ENV[], fetch, key?/has_key?/include?/member?,
 *        values_at; iterating ENV or ENV.to_h is not seen), with the sha256
 *        of its value, or "-" when it was unset
 *   bundler  version                     the Bundler whose DSL evaluated it
 *
 * Every name is checked (bundle/names.h): gem names, groups, platforms and
 * env names; every count and length is bounded. The parse is pure: nothing
 * is read or resolved here (paths stay as written).
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "base/strv.h"

struct arena;
struct sbuf;

#define GEMFILE_TEXT_MAX (16u << 20) /* the helper's whole answer */
#define GEMFILE_DEPS_MAX 65536
#define GEMFILE_SOURCES_MAX 4096
#define GEMFILE_FILES_MAX 4096
#define GEMFILE_ENV_MAX 4096
#define GEMFILE_LIST_MAX 256	/* groups, platforms or remotes of one entry */
#define GEMFILE_FIELD_MAX 4096 /* one field's bytes */

enum gemfile_source_kind {
	GEMFILE_SRC_GEM,     /* a rubygems server (block `source` or the global one) */
	GEMFILE_SRC_GIT,     /* git:, github:, a `git` block */
	GEMFILE_SRC_PATH,    /* path:, a `path` block */
	GEMFILE_SRC_GEMSPEC, /* `gemspec`: a path source for the app's own gem */
};

struct gemfile_source {
	const char *id; /* as the helper named it; "0" for the global rubygems source */
	enum gemfile_source_kind kind;
	const char **remotes; /* gem: the servers, in Bundler's order; git: {uri}; path: {path} */
	size_t nremotes;
	const char *branch, *tag, *ref, *glob; /* NULL when not given */
	bool submodules;
	const char *name;		/* gemspec: the gem's name, else NULL */
	const char *development_group;	/* gemspec: the group of its development deps */
};

struct gemfile_dep {
	const char *name;
	const char *reqs; /* "" for >= 0 */
	const char **groups;
	size_t ngroups;
	bool platform_ok; /* for this platform, and every install_if true */
	bool pinned;	  /* the lockfile's '!' */
	bool development; /* a gemspec's development dependency */
	const struct gemfile_source *source; /* NULL: the global rubygems source */
	const char **platforms; /* as written; none: any platform */
	size_t nplatforms;
	const char *location; /* "Gemfile:12", or NULL */
	const char *require;  /* NULL: no require: option; "": require: false; else ","-joined paths */
};

struct gemfile_ruby {
	const char *requirement; /* "~> 3.1" or "3.1.2, < 4" */
	const char *engine;	 /* "ruby" */
	const char *engine_version;
	const char *patchlevel; /* "" when not given */
};

struct gemfile_file {
	const char *path;
	const char *sha256; /* 64 lower-case hex; NULL: the file did not exist */
};

struct gemfile_env {
	const char *name;
	const char *sha256; /* of the value; NULL: the variable was unset */
};

struct gemfile {
	struct gemfile_dep *deps; /* in Gemfile order */
	size_t ndeps;
	struct gemfile_source *sources; /* in the order the helper listed them */
	size_t nsources;
	const char **optional_groups;
	size_t noptional_groups;
	const struct gemfile_ruby *ruby; /* NULL without a `ruby` directive */
	struct gemfile_file *files;
	size_t nfiles;
	struct gemfile_env *envs;
	size_t nenvs;
	const char *bundler_version; /* NULL when the helper did not say */
};

/*
 * Parses the helper's answer. On error returns -EINVAL (a malformed line, a
 * bad name, an unknown or repeated source id) or -E2BIG (a limit above),
 * appends "line N: ..." to errmsg (which may be NULL) and leaves *ret empty.
 * All strings live in the arena.
 */
int gemfile_parse(struct arena *a, struct strv text, struct gemfile *ret, struct sbuf *errmsg);

/* The source with this id, or NULL. */
const struct gemfile_source *gemfile_source_by_id(const struct gemfile *gf, const char *id);

/* Is group g one of the dependency's groups? */
bool gemfile_dep_in_group(const struct gemfile_dep *dep, const char *g);
