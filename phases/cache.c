/*
 * cache.c: the parts of the cache layout the phases share: per-entry locks
 * and manifest loading. The layout itself (design.md §4):
 *
 *   inbound/gems/<full_name>.gem       verified downloads
 *   assembling/<abi>/<full_name>/      unpack and compile happen only here
 *   cached/<abi>/<full_name>/gem/      the promoted gem tree
 *   cached/<abi>/<full_name>/ext/      its built extensions (if any)
 *   cached/<abi>/<full_name>.gemspec   the installed gemspec
 *   cached/<abi>/<full_name>.manifest  written last: the entry is valid iff present
 *   index/<source-slug>/info/<name>    compact index copies (+ .etag)
 *   locks/<abi>/<full_name>.lock       flock held while an entry is built
 *
 * A gem built with BUNDLE_BUILD__<NAME> arguments gets an entry of its own,
 * "<full_name>+build-<8 hex of the arguments>", since its artifact differs.
 *
 * Readers take no lock: a manifest is renamed into place only after the
 * entry's tree is complete, so a present manifest means a complete entry.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "base/err.h"
#include "fsops/fsops.h"
#include "phases/phase.h"

#define MANIFEST_MAX_BYTES (64u << 20)

int cache_lock_entry(struct install *in, struct gem *g)
{
	char name[512];

	if (g->lock_fd >= 0)
		return 0;
	snprintf(name, sizeof(name), "%s.lock", g->entry);
	int fd = fs_lock_try(in->locks_fd, name);
	if (fd < 0)
		return fd;
	g->lock_fd = fd;
	return 0;
}

void cache_unlock_entry(struct install *in, struct gem *g)
{
	(void)in;
	if (g->lock_fd < 0)
		return;
	(void)close(g->lock_fd); /* closing drops the flock */
	g->lock_fd = -1;
}

int cache_load_manifest(struct install *in, struct gem *g)
{
	struct sbuf text = SBUF_INIT, err = SBUF_INIT;
	char name[512];
	int r;

	snprintf(name, sizeof(name), "%s.manifest", g->entry);
	r = fs_read_fileat(in->cached_fd, name, &text, MANIFEST_MAX_BYTES);
	if (r < 0)
		goto out;
	struct manifest *m = arena_alloc(&in->arena, sizeof(*m));
	r = manifest_parse(&in->arena, sbuf_strv(&text), m, &err);
	if (r == 0 && (strcmp(m->full_name, g->full_name) || strcmp(m->abi, in->abi.abi)))
		r = -SC_ECACHE;
	if (r == 0)
		g->manifest = m;
out:
	sbuf_release(&text);
	sbuf_release(&err);
	return r;
}
