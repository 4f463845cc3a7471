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
/* Parses a manifest; -SC_ECACHE with a message on any defect or other version. */
int manifest_parse(struct arena *a, struct strv text, struct manifest *ret, struct sbuf *errmsg);

/*
 * Parses the helper's answer to `spec`: the summary lines, then the line
 * "---gemspec---", then the gemspec text (returned as a view into text).
 */
int gem_summary_parse(struct arena *a, struct strv text, struct gem_summary *ret,
		      struct strv *ret_gemspec);
