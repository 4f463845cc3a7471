/*
 * manifest.h: the per-entry manifest of scint's cache, and the gem spec
 * summary the Ruby helper returns.
 *
 * A manifest describes one promoted entry cached/<abi>/<full_name>/ exactly:
 * every directory, file (mode, size, SHA-256) and symlink, with paths
 * relative to the entry ("gem/lib/rack.rb", "ext/rack/ext.so"), plus the
 * spec summary materialization needs (require paths, executables,
 * extensions). Materialization is driven by it alone: no directory walks.
 * The text is versioned and deterministic (entries sorted by path), so equal
 * trees give equal manifests. Writing the manifest is the last step of a
 * promotion: an entry without one is incomplete.
 *
 *   scint-manifest 1
 *   full_name<TAB>rack-3.0.0
 *   ...                      (key<TAB>value[<TAB>value...])
 *   d<TAB>0755<TAB>gem/lib
 *   f<TAB>0644<TAB><size><TAB><sha256><TAB>gem/lib/rack.rb
 *   l<TAB>gem/lib/link<TAB><target>
 *   end
 *
 * Paths never contain TAB or LF (assembly rejects such archive entries).
 *
 * A manifest in the shared cache is outside input like any other: a
 * tampered one must not make materialization create anything outside
 * .bundle. manifest_parse() therefore checks every row as assembly checks
 * archive entries (manifest_check()), and every summary field as the
 * helper's answer is checked (gem_summary_check()). A manifest that fails
 * is damaged: the caller treats the entry as absent.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "base/strv.h"

struct arena;
struct sbuf;

#define MANIFEST_VERSION 1

enum mf_type {
	MF_DIR,
	MF_FILE,
	MF_SYMLINK,
};

struct mf_entry {
	enum mf_type type;
	mode_t mode;        /* permission bits (dirs, files) */
	uint64_t size;      /* files */
	const char *sha256; /* files: 64 hex */
	const char *path;   /* relative to the entry: "gem/..." or "ext/..." */
	const char *target; /* symlinks */
};

struct spec_dep {
	const char *name;
	const char *reqs; /* "~> 1.0, >= 1.0.1" */
};

/* What the helper reports about a gem's spec (and what manifests keep). */
struct gem_summary {
	const char *name;
	const char *version;
	const char *platform;
	const char **require_paths;
	size_t nrequire_paths;
	const char *bindir;
	const char **executables;
	size_t nexecutables;
	const char **extensions;
	size_t nextensions;
	struct spec_dep *deps;
	size_t ndeps;
	/* private: */
	size_t deps_cap;
};

struct manifest {
	const char *full_name;
	const char *abi;
	const char *gem_sha256; /* SHA-256 of the .gem it came from */
	bool has_ext;           /* an ext/ tree (built extensions) is part of the entry */
	struct gem_summary spec;
	struct mf_entry *entries;
	size_t nentries, cap;
	uint64_t total_bytes; /* sum of file sizes */
	size_t nfiles;
};

/* Appends an entry (strings must live in the arena). */
struct mf_entry *manifest_add(struct arena *a, struct manifest *m, enum mf_type type,
			      const char *path);
/* Sorts entries by path (parents before children). */
void manifest_sort(struct manifest *m);
/* Renders the manifest (sorted first). */
void manifest_write(struct manifest *m, struct sbuf *out);
/*
 * Parses a manifest and checks it (manifest_check()); -SC_ECACHE with a
 * message in errmsg (may be NULL) on any defect or other version.
 */
int manifest_parse(struct arena *a, struct strv text, struct manifest *ret, struct sbuf *errmsg);

/* At most this many rows (a gem with more files is not one anyone ships). */
#define MANIFEST_ENTRIES_MAX (1u << 20)
/* At most this many bytes in one file (assembly and compile refuse larger ones). */
#define MANIFEST_FILE_MAX ((uint64_t)4 << 30)

/*
 * Checks a manifest (rows sorted, as manifest_sort() leaves them):
 *  - every path is "gem/<p>" or "ext/<p>" (ext/ only when has_ext) with <p>
 *    an entry path (bundle/names.h): relative, canonical, no "..", no
 *    control characters;
 *  - paths strictly ascending, so no row is repeated;
 *  - the parent of every row is its root or a directory row, so nothing is
 *    placed beneath a symlink;
 *  - symlink targets relative and, followed through the other symlink rows,
 *    inside their root (names_check_link());
 *  - modes within 0777 (no setuid, setgid or sticky bit), file sizes at most
 *    MANIFEST_FILE_MAX, SHA-256 digests 64 lower-case hex digits;
 *  - the summary passes gem_summary_check(), and full_name is
 *    name-version[-platform] of it.
 * Returns 0 or -SC_ECACHE with "manifest entry '...': why" in errmsg (may
 * be NULL).
 */
int manifest_check(const struct manifest *m, struct sbuf *errmsg);

/*
 * Parses the helper's answer to `spec`: the summary lines, then the line
 * "---gemspec---", then the gemspec text (returned as a view into text).
 * Only the structure is checked here; the values with gem_summary_check().
 */
int gem_summary_parse(struct arena *a, struct strv text, struct gem_summary *ret,
		      struct strv *ret_gemspec);

/*
 * Checks the values of a summary (the helper is a child: its answer is
 * input like any other), at least as strictly as RubyGems' installer does
 * (bundle/names.h): name, version and platform; executables are single file
 * names; bindir, require_paths and extensions are relative paths without
 * ".."; dependency names are gem names; nothing holds a control character.
 * Returns 0, or -SC_EUNSAFE with "<field> '<value>': why" in errmsg (may be
 * NULL).
 */
int gem_summary_check(const struct gem_summary *s, struct sbuf *errmsg);

/*
 * gem_summary_check(), then: is this the gem the lockfile names? The name
 * and version must be equal and the platform the same (platform_same():
 * "x86_64-linux-gnu" is "x86_64-linux"). Returns 0, -SC_EUNSAFE (see
 * above), or -SC_EGEMFORMAT with "its metadata says ..." in errmsg.
 */
int gem_summary_verify(const struct gem_summary *s, const char *name, const char *version,
		       const char *platform, struct sbuf *errmsg);
