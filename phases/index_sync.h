/*
 * index_sync.h: keeping the cache's copy of compact indexes current, for
 * resolution (`scint lock`, `scint install` without a lockfile) and for
 * `scint index sync` (a debugging command).
 *
 * The caller adds sources (remote URLs as a Gemfile or lockfile writes them)
 * and the gem names it wants from each (the roots), then runs the sync on
 * the reactor: every request concurrent through engine/http.c, discovery
 * breadth-first (an /info body is parsed as soon as it arrives and the
 * dependencies it names are requested at once), so the closure of the roots
 * is fetched in about as many round trips as it is deep.
 *
 * Per source, in network mode:
 *   GET /versions once per handle: a ranged request ("Range: bytes=<size-1>-")
 *   with If-None-Match when a copy exists. 304: current. 206: its first byte
 *   must equal the last byte of our copy (else a full refetch); the rest is
 *   appended. 200: the whole file. A Repr-Digest (or Digest) sha-256 sent
 *   with the answer must match the whole resulting file (after an append
 *   that fails it, a full refetch; a full body that fails it is refused).
 *   A 404 on /versions is an error naming the source (no compact index).
 *   GET /info/<name> only when the MD5 that `versions` lists for the name
 *   differs from our copy's (same range, first-byte and digest rules; after
 *   an append the MD5 must also equal the one listed, else a full refetch).
 *   A name `versions` does not list is not requested: it is reported absent.
 *   On a cold cache (no info/<name> yet) the request starts at once, without
 *   waiting for /versions; its answer is checked against `versions` when
 *   that arrives.
 * Mirrors (BUNDLE_MIRROR__*, mirror.all, fallback_timeout) apply to every
 * request (phases/mirror.h); credentials as for installs (BUNDLE_<HOST>, or
 * the URL's userinfo; for a mirror, the mirror's host). Retries, timeouts and
 * size limits are phases/session/retry.h's (SCINT_MAX_INDEX_DOWNLOAD for each info
 * body, 8 times that for `versions`, whose copy may grow by appends to that);
 * SCINT_INDEX_MAX_NAMES (default 100000) bounds the names one source's
 * closure may reach.
 *
 * Modes: INDEX_SYNC_LOCAL makes no request at all (reads the cache only;
 * what is not cached is absent). INDEX_SYNC_PREFER_LOCAL reads the cache
 * and goes to the network only when a source has no `versions` copy or a
 * name of the closure has no info file.
 *
 * ON-DISK CONTRACT (what a reader of the cache may rely on):
 *   <cache>/index/<slug>/versions        the source's /versions, as served
 *   <cache>/index/<slug>/versions.etag   its ETag as received (may be absent)
 *   <cache>/index/<slug>/info/<name>     /info/<name>, as served
 * (info/<name>.etag may exist, written by the install's checksum lookup,
 * phases/index.c; the sync removes it when it rewrites the file.)
 * <slug> is index_source_slug() of the source URL without credentials (the
 * original source, never the mirror: a mirror serves the same index).
 * Files are only ever replaced by rename(2) of a complete, verified file in
 * the same directory, so a reader sees an old or a new copy, never a part.
 * After index_sync_run() returns 0 in network mode, `versions` and every
 * info file of the closure of the wanted names were fetched or revalidated
 * during this handle's life (a name is absent when `versions` does not list
 * it). In the local modes nothing is guaranteed current.
 * Info lines may carry keys a reader does not know (created_at:,
 * platform:=...): bundle/index.h's parser accepts and ignores them.
 *
 * All names become paths: roots are checked here (bundle/names.h); a
 * dependency that names no valid gem, or an info line that does not parse,
 * is skipped (never requested; the resolver judges the lines it reads).
 *
 * Use (the resolver's side):
 *
 *   struct index_sync *is;
 *   struct index_sync_opts o = { .cache_root = root, .config = &config,
 *                                .mode = INDEX_SYNC_NETWORK, .io_backend = backend };
 *   if (index_sync_new(&o, &is, &err) < 0) ...
 *   int src = index_sync_add_source(is, "https://gems.example.com/", &err);
 *   index_sync_want(is, src, "rails", &err);   (each Gemfile dependency)
 *   if (index_sync_run(is, &err) < 0) ...      (err: one line per failure)
 *   const struct index_sync_info *i = index_sync_info(is, src, "rack");
 *   if (i && i->present) ... i->body: the lines of info/rack (bundle/index.h)
 *   (a name found later, e.g. from another source's closure: want it, run again)
 *   index_sync_free(is);
 *
 * Memory: every info body of the closures and each source's `versions` are
 * kept until index_sync_free (index_sync_info / index_sync_versions), so a
 * resolver need not read the files again.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/strv.h"

struct bconfig;
struct sbuf;
struct index_sync;

enum index_sync_mode {
	INDEX_SYNC_NETWORK,
	INDEX_SYNC_LOCAL,
	INDEX_SYNC_PREFER_LOCAL,
};

struct index_sync_opts {
	const char *cache_root;        /* the cache root (cli_cache_root()); index/ lives in it */
	const struct bconfig *config;  /* Bundler settings: credentials, mirrors, BUNDLE_TIMEOUT */
	enum index_sync_mode mode;
	int io_backend;                /* enum ioq_backend */
	bool verbose;                  /* curl's verbose output (debugging) */
};

/* One name of a source, after a run. */
struct index_sync_info {
	const char *name;
	bool present;      /* false: the source does not have the gem (or, locally, not cached) */
	bool fetched;      /* its file was (re)written by this handle */
	struct strv body;  /* the info file's bytes, valid until index_sync_free (empty when absent) */
};

struct index_sync_stats {
	unsigned requests;     /* HTTP requests made */
	unsigned not_modified; /* 304 answers */
	unsigned partial;      /* 206 answers appended */
	unsigned full;         /* 200 bodies taken whole */
	unsigned refetched;    /* appends refused (first byte, digest, MD5): fetched again whole */
	unsigned unchanged;    /* info files whose MD5 matched `versions`: no request */
	unsigned from_mirror;  /* requests answered by a mirror */
	unsigned fell_back;    /* requests that fell back from a mirror to the source */
	uint64_t bytes;        /* body bytes received */
};

/*
 * Creates a handle (no I/O yet). Returns 0, or a negative error with a
 * message in err (a bad setting, the cache directory cannot be created).
 */
int index_sync_new(const struct index_sync_opts *o, struct index_sync **ret, struct sbuf *err);
void index_sync_free(struct index_sync *s);

/*
 * Adds a source ("https://gems.example.com/", with or without the trailing '/';
 * userinfo allowed) and returns its id (>= 0), or the id it already has;
 * -EINVAL with a message in err for a URL that is not http(s).
 */
int index_sync_add_source(struct index_sync *s, const char *remote, struct sbuf *err);

/*
 * Wants name from the source (a root of the closure). Returns 0, or
 * -SC_EUNSAFE with a message in err for a name that is not a gem name.
 */
int index_sync_want(struct index_sync *s, int source, const char *name, struct sbuf *err);

/*
 * Syncs every source and the closure of every wanted name. May be called
 * again after more index_sync_want() calls: only the new names are
 * requested (`versions` is not requested twice). Returns 0, or the first
 * error with the messages of every failure in err (one per line).
 */
int index_sync_run(struct index_sync *s, struct sbuf *err);

/* After a run: the name's entry, or NULL when it was never part of a closure. */
const struct index_sync_info *index_sync_info(const struct index_sync *s, int source,
					      const char *name);
/* Every name of the source's closure, in discovery order (*ret_n of them). */
const struct index_sync_info *const *index_sync_names(const struct index_sync *s, int source,
						      size_t *ret_n);
/* "<cache>/index/<slug>" of the source (absolute). */
const char *index_sync_source_dir(const struct index_sync *s, int source);
/* The source's `versions` as of the last run (empty when there is none). */
struct strv index_sync_versions(const struct index_sync *s, int source);
void index_sync_get_stats(const struct index_sync *s, struct index_sync_stats *ret);

/*
 * The cache directory name of a source: "<host>[.<port>]-<8 hex of the SHA-256
 * of the URL>" where the URL is written without credentials and with a
 * trailing '/' (what plan.c and index.c use too).
 */
void index_source_slug(const char *redacted_url, struct sbuf *out);
