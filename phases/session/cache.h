/*
 * cache.h: checking and quarantining promoted cache entries, shared by
 * installs (plan.c, promote.c) and `scint cache verify` (cli/cmd_cache.c).
 *
 * Two levels of checking (design.md §4, §7):
 *  - the cheap check, on every warm install that materializes an entry:
 *    one statx per file (from the entry directory, opened once), no file is
 *    read. A file that is missing, is not a regular file, has another size
 *    than its manifest row, or was modified after the manifest was written
 *    (its mtime is newer than the manifest's: every file of an entry is
 *    written before its manifest) makes the entry damaged; so does an entry
 *    directory that is missing or a symlink. The gemspec is checked the same way (it has no
 *    manifest row, so only existence, emptiness and mtime). Not detected:
 *    a same-size change whose mtime was put back (`touch -r`, `cp -p`);
 *  - the full check (`scint cache verify`): every directory and symlink,
 *    and every file's SHA-256 against its manifest row.
 *
 * A damaged entry is moved, under its entry lock, into
 *   quarantine/<abi>/<entry>.<unix time>.<pid>/
 * (the tree, its manifest and gemspec, and a `reason` file), manifest first,
 * so that from the first rename on every reader sees the entry as absent.
 * Nothing reads quarantine/ again: it is kept for inspection and removed by
 * `scint cache clear`.
 */
#pragma once

#include <stddef.h>

struct manifest;
struct sbuf;

/*
 * The cheap check of cached/<abi>/<entry> (dirfd cached_fd) against m.
 * Returns 0 when sound, else -SC_ECACHE with the first problem in why.
 */
int cache_check_cheap(int cached_fd, const char *entry, const struct manifest *m,
		      struct sbuf *why);

/*
 * The full check: every entry of m, every file's digest. Appends one line
 * per problem to problems (at most max_lines of them) and returns the number
 * of problems found (0: sound). Bytes read are added to *ret_bytes.
 */
unsigned cache_check_full(int cached_fd, const char *entry, const struct manifest *m,
			  struct sbuf *problems, unsigned max_lines, unsigned long long *ret_bytes);

/*
 * Moves cached/<abi>/<entry> (tree, .manifest, .gemspec) into
 * quarantine/<abi>/ with a reason file. The caller holds the entry lock (or
 * the cache's exclusive lock). Missing parts are fine. On success the
 * quarantine dir (relative to the cache root) is appended to ret_dir.
 */
int cache_quarantine(int cache_fd, int cached_fd, const char *abi, const char *entry,
		     const char *why, struct sbuf *ret_dir);
