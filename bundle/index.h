/*
 * index.h: the compact index formats (/versions and /info/<name>), parsing only.
 *
 * An /info line is
 *   <version>[-<platform>] <dep>:<req>[&<req>],...|checksum:<hex>,ruby:<req>,rubygems:<req>
 * The dependency part may be empty ("1.0.0 |checksum:..."). See
 * ../shared/docs/bundler-compat.md §3.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/strv.h"

struct index_info_line {
	struct strv version;
	struct strv platform; /* "ruby" when absent */
	struct strv deps;     /* raw "a:>= 1&< 2,b:~> 0.3" */
	struct strv checksum; /* 64 hex, or empty */
	struct strv ruby;     /* required ruby, or empty */
	struct strv rubygems; /* required rubygems, or empty */
};

/*
 * Parses one info line (without '\n'); returns 0, -EINVAL (empty or invalid
 * version, empty platform, an entry after '|' without ':', or a checksum that
 * is not 64 hex digits), or -SC_EUNSAFE for a version or platform that
 * bundle/names.h refuses (it could not name a file). Unknown keys after '|'
 * are ignored.
 */
int index_info_parse_line(struct strv line, struct index_info_line *ret);

/*
 * Iterates the dependency part of an info line ("a:>= 1&< 2,b:~> 0.3"):
 * returns 1 with the name and its requirements, joined by '&' (for
 * requirement_parse_list(reqs, '&', ...)), 0 at the end, -EINVAL for an entry
 * without ':' or with a name that is not a gem name (bundle/names.h).
 * *cursor starts as index_info_line.deps.
 */
int index_deps_next(struct strv *cursor, struct strv *ret_name, struct strv *ret_reqs);

/*
 * Finds the line for version/platform (NULL or "" meaning "ruby"; both
 * compared as exact strings) in an /info body and copies its sha256, lower
 * case and NUL-terminated, into ret_hex (65 bytes). When a version is listed
 * twice the last line wins. Returns 0, -SC_ENOTFOUND when there is no such
 * line or it carries no checksum, -EINVAL on a malformed body (or a version
 * or platform asked for that bundle/names.h refuses). Lines whose
 * version or platform bundle/names.h refuses are skipped: the version and
 * platform asked for come from a checked lockfile, so such a line is never
 * the one asked for, and its names are never used.
 */
int index_info_checksum(struct strv info, const char *version, const char *platform,
			char ret_hex[65]);

struct index_versions_entry {
	struct strv name;
	struct strv versions; /* "1.0,1.1-x86_64-linux,-1.2" as written */
	struct strv info_md5; /* 32 hex */
};

/*
 * Iterates the lines of a /versions body after its "---" line; returns 1 with
 * *ret filled, 0 at the end, -EINVAL on a malformed line (one whose name is
 * not a gem name included). *cursor starts as the whole body. The preamble is
 * recognised line by line ("---", or a first word ending in ':' such as
 * "created_at:"; gem names cannot contain ':'), so a body without one works
 * too. Blank lines are skipped; a line without the md5 column gives an empty
 * info_md5, as Bundler allows. The views point into the body. A name may come
 * back on several entries (the file is append-only).
 */
int index_versions_next(struct strv *cursor, struct index_versions_entry *ret);

/*
 * The publication time of an info line, from the `created_at:` key that
 * compact index v2 servers append ("...|checksum:<hex>,created_at:
 * 2024-01-01T00:00:00Z"; a space for the 'T', fractions and a zone suffix are
 * accepted and UTC is assumed), in seconds since the epoch. Returns 0,
 * -SC_ENOTFOUND when the line has no such key, -EINVAL when its value is not
 * such a date.
 */
int index_info_created_at(struct strv line, int64_t *ret);
