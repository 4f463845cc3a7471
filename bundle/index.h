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

#include "base/strv.h"

struct index_info_line {
	struct strv version;
	struct strv platform; /* "ruby" when absent */
	struct strv deps;     /* raw "a:>= 1&< 2,b:~> 0.3" */
	struct strv checksum; /* 64 hex, or empty */
	struct strv ruby;     /* required ruby, or empty */
	struct strv rubygems; /* required rubygems, or empty */
};

/* Parses one info line (without '\n'); returns 0 or -EINVAL. */
int index_info_parse_line(struct strv line, struct index_info_line *ret);

/*
 * Finds the line for version/platform in an /info body and copies its sha256
 * into ret_hex (65 bytes). Returns 0, -SC_ENOTFOUND when there is no such
 * line or it carries no checksum, -EINVAL on a malformed body.
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
 * *ret filled, 0 at the end, -EINVAL on a malformed line. *cursor starts as the
 * whole body.
 */
int index_versions_next(struct strv *cursor, struct index_versions_entry *ret);
