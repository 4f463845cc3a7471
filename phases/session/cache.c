/*
 * cache.c: the parts of the cache layout the phases share: per-entry locks
 * and manifest loading. The layout itself (design.md §4):
 *
 *   inbound/gems/<full_name>.gem       verified downloads
 *   assembling/<abi>/<full_name>/      unpack happens only here
 *   assembling/<abi>/<full_name>.building  a native build runs in cached/ (promote.c)
 *   cached/<abi>/<full_name>/gem/      the promoted gem tree (a native gem's is built
 *                                      here, under the entry lock, before its manifest)
 *   cached/<abi>/<full_name>/ext/      its built extensions (if any)
 *   cached/<abi>/<full_name>.gemspec   the installed gemspec
 *   cached/<abi>/<full_name>.manifest  written last: the entry is valid iff present
 *   index/<source-slug>/info/<name>    compact index copies (+ .etag)
 *   locks/<abi>/<full_name>.lock       flock held while an entry is built
 *   inbound/gits/<slug>/               bare repositories of git sources (git.c); a git
 *                                      checkout's entry is named <repo>-<rev12>, its
 *                                      .gemspec side file lists the checkout's gems
 *
 * A gem built with BUNDLE_BUILD__<NAME> arguments gets an entry of its own,
 * "<full_name>+build-<8 hex of the arguments>", since its artifact differs.
 *
 * Readers take no lock: a manifest is renamed into place only after the
 * entry's tree is complete and durable (promote.c), so a present manifest
 * means a complete entry, and a tree without one is never read. Whether it is still intact is another matter:
 * loading an entry runs the cheap check of cache.h, and a damaged entry is
 * quarantined and rebuilt (plan.c, promote.c).
 */
#include "phases/session/cache.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "base/clock.h"
#include "base/compiler.h"
#include "base/digest.h"
#include "base/err.h"
#include "base/trace.h"
#include "fsops/fsops.h"
#include "phases/phase.h"

#define MANIFEST_MAX_BYTES (64u << 20)
#define CACHE_PATH_MAX	   4200

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

	g->manifest = NULL;
	snprintf(name, sizeof(name), "%s.manifest", g->entry);
	r = fs_read_fileat(in->cached_fd, name, &text, MANIFEST_MAX_BYTES);
	if (r < 0) {
		if (r != -ENOENT)
			sbuf_addf(&err, "its manifest cannot be read: %s", sc_strerror(r));
		goto out;
	}
	struct manifest *m = arena_alloc(&in->arena, sizeof(*m));
	struct sbuf perr = SBUF_INIT;
	r = manifest_parse(&in->arena, sbuf_strv(&text), m, &perr);
	if (r < 0)
		sbuf_addf(&err, "its manifest is corrupt (%s)", perr.len ? perr.buf : "?");
	sbuf_release(&perr);
	/* A git entry's manifest speaks for its checkout's first gem (git.c): the abi is what must match. */
	if (r == 0 && ((!g->git && strcmp(m->full_name, g->full_name)) || strcmp(m->abi, in->abi.abi))) {
		sbuf_addf(&err, "its manifest is for %s (%s)", m->full_name, m->abi);
		r = -SC_ECACHE;
	}
	if (r == 0) {
		uint64_t t0 = clock_now_ns();
		r = cache_check_cheap(in->cached_fd, g->entry, m, &err);
		if (trace_enabled) {
			const struct trace_ctx ctx = { .phase = "plan", .gem = g->full_name };
			trace_io(trace_current ? trace_current : &ctx, "check_entry", in->cached_fd,
				 g->entry, -1, NULL, (int64_t)m->nfiles, r, t0, clock_now_ns());
		}
	}
	if (r == 0)
		g->manifest = m;
out:
	if (r < 0 && r != -ENOENT) {
		/* Present but unusable: damaged (the caller quarantines it). */
		g->damage = arena_strdup(&in->arena, err.len ? err.buf : sc_strerror(r));
		r = -SC_ECACHE;
	}
	sbuf_release(&text);
	sbuf_release(&err);
	return r;
}

int cache_quarantine_gem(struct install *in, struct gem *g)
{
	struct sbuf dir = SBUF_INIT;
	uint64_t t0 = clock_now_ns();
	int r = cache_quarantine(in->cache_fd, in->cached_fd, in->abi.abi, g->entry,
				 g->damage ? g->damage : "replaced by a rebuild", &dir);

	if (trace_enabled) {
		const struct trace_ctx ctx = { .phase = "plan", .gem = g->full_name };
		trace_io(trace_current ? trace_current : &ctx, "quarantine", in->cached_fd, g->entry,
			 in->cache_fd, dir.len ? dir.buf : NULL, -1, r, t0, clock_now_ns());
	}
	if (r == 0 && dir.len)
		g->quarantined = arena_printf(&in->arena, "%s/%s", in->opts.cache_root, dir.buf);
	sbuf_release(&dir);
	return r;
}

/*
 * Checking and quarantining entries (see cache.h).
 */

/* Is a's mtime later than b's plus slack_ns? */
static bool cache_newer(const struct stat *a, const struct stat *b, int64_t slack_ns)
{
	int64_t ta = (int64_t)a->st_mtim.tv_sec * 1000000000 + a->st_mtim.tv_nsec;
	int64_t tb = (int64_t)b->st_mtim.tv_sec * 1000000000 + b->st_mtim.tv_nsec;

	return ta > tb + slack_ns;
}

/*
 * Entries promoted by earlier versions wrote the gemspec and the manifest at
 * the same time, so the gemspec may be a clock tick newer: a second of
 * slack for it (nobody edits a gemspec within a second of its promotion).
 */
#define CACHE_GEMSPEC_SLACK_NS 1000000000

static const char *cache_path(char *buf, size_t size, const char *entry, const char *rel)
{
	if ((size_t)snprintf(buf, size, "%s/%s", entry, rel) >= size) {
		errno = ENAMETOOLONG;
		return NULL;
	}
	return buf;
}

/*
 * One file of the entry: lstat-like statx of the file only (no sync, only
 * type, size and mtime asked for), by a name relative to dirfd.
 */
static int cache_stat(int dirfd, const char *name, struct statx *stx)
{
	if (statx(dirfd, name, AT_SYMLINK_NOFOLLOW | AT_STATX_DONT_SYNC,
		  STATX_TYPE | STATX_SIZE | STATX_MTIME, stx) < 0)
		return -errno;
	if ((stx->stx_mask & (STATX_TYPE | STATX_SIZE | STATX_MTIME)) !=
	    (STATX_TYPE | STATX_SIZE | STATX_MTIME))
		return -EIO;
	return 0;
}

static bool cache_stx_newer(const struct statx *a, const struct stat *b)
{
	int64_t ta = (int64_t)a->stx_mtime.tv_sec * 1000000000 + a->stx_mtime.tv_nsec;
	int64_t tb = (int64_t)b->st_mtim.tv_sec * 1000000000 + b->st_mtim.tv_nsec;

	return ta > tb;
}

int cache_check_cheap(int cached_fd, const char *entry, const struct manifest *m, struct sbuf *why)
{
	char path[CACHE_PATH_MAX];
	struct stat mst, st;
	struct statx stx;
	int r = 0;

	/* Every file of the entry was written before this manifest. */
	snprintf(path, sizeof(path), "%s.manifest", entry);
	if (fstatat(cached_fd, path, &mst, 0) < 0) {
		sbuf_addf(why, "its manifest cannot be read: %s", strerror(errno));
		return -SC_ECACHE;
	}
	snprintf(path, sizeof(path), "%s.gemspec", entry);
	if (fstatat(cached_fd, path, &st, AT_SYMLINK_NOFOLLOW) < 0) {
		sbuf_addf(why, "its gemspec is %s", errno == ENOENT ? "missing" : strerror(errno));
		return -SC_ECACHE;
	}
	if (!S_ISREG(st.st_mode) || st.st_size == 0 ||
	    cache_newer(&st, &mst, CACHE_GEMSPEC_SLACK_NS)) {
		sbuf_addf(why, "its gemspec %s",
			  !S_ISREG(st.st_mode) ? "is not a regular file"
			  : st.st_size == 0    ? "is empty"
					       : "was modified after the entry was cached");
		return -SC_ECACHE;
	}
	if (m->nfiles == 0)
		return 0;
	/*
	 * Files are looked up from the entry directory, opened once (without
	 * following a symlink in its place), not from cached/: a shorter walk.
	 * The cost is mostly the syscall itself, not the walk: opening each
	 * directory once as well was measured and gained nothing.
	 */
	int efd = openat(cached_fd, entry, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (efd < 0) {
		/* Said of its first file, as a lookup through the entry would. */
		int e = errno;
		size_t i = 0;
		while (m->entries[i].type != MF_FILE)
			i++;
		sbuf_addf(why, "%s is %s", m->entries[i].path,
			  e == ENOENT ? "missing" : strerror(e));
		return -SC_ECACHE;
	}
	for (size_t i = 0; i < m->nentries && r == 0; i++) {
		const struct mf_entry *e = &m->entries[i];
		const char *p = e->path;
		if (e->type != MF_FILE)
			continue;
		int sr = cache_stat(efd, p, &stx);
		if (sr < 0) {
			sbuf_addf(why, "%s is %s", p, sr == -ENOENT ? "missing" : strerror(-sr));
			r = -SC_ECACHE;
		} else if (!S_ISREG(stx.stx_mode)) {
			sbuf_addf(why, "%s is not a regular file", p);
			r = -SC_ECACHE;
		} else if (stx.stx_size != e->size) {
			sbuf_addf(why, "%s has %llu bytes, its manifest says %llu", p,
				  (unsigned long long)stx.stx_size, (unsigned long long)e->size);
			r = -SC_ECACHE;
		} else if (cache_stx_newer(&stx, &mst)) {
			/* In hardlink mode this is what an edit of an installed gem looks like. */
			sbuf_addf(why,
				  "%s was modified after the entry was cached (a gem installed "
				  "with hardlinks shares its files with the cache)",
				  p);
			r = -SC_ECACHE;
		}
	}
	(void)close(efd);
	return r;
}

/* Digest of an open regular file; -errno, or the byte count read. */
static int64_t cache_digest_fd(int fd, char hex[DIGEST_SHA256_HEX])
{
	static char buf[1 << 17];
	struct digest d;
	int64_t total = 0;

	digest_init(&d, DIGEST_SHA256);
	for (;;) {
		ssize_t n = read(fd, buf, sizeof(buf));
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			int e = errno;
			digest_release(&d);
			return -e;
		}
		if (n == 0)
			break;
		digest_update(&d, buf, (size_t)n);
		total += n;
	}
	digest_final_hex(&d, hex);
	return total;
}

static sc_printf(4, 5) void cache_problem(struct sbuf *out, unsigned *n, unsigned max,
					  const char *fmt, ...)
{
	va_list ap;

	if ((*n)++ >= max)
		return;
	va_start(ap, fmt);
	sbuf_vaddf(out, fmt, ap);
	va_end(ap);
	sbuf_addch(out, '\n');
}

unsigned cache_check_full(int cached_fd, const char *entry, const struct manifest *m,
			  struct sbuf *problems, unsigned max_lines, unsigned long long *ret_bytes)
{
	char path[CACHE_PATH_MAX], target[CACHE_PATH_MAX], hex[DIGEST_SHA256_HEX];
	struct stat st;
	unsigned n = 0;

	snprintf(path, sizeof(path), "%s.gemspec", entry);
	if (fstatat(cached_fd, path, &st, AT_SYMLINK_NOFOLLOW) < 0)
		cache_problem(problems, &n, max_lines, "%s.gemspec: %s", entry,
			      errno == ENOENT ? "missing" : strerror(errno));
	else if (!S_ISREG(st.st_mode) || st.st_size == 0)
		cache_problem(problems, &n, max_lines, "%s.gemspec: %s", entry,
			      S_ISREG(st.st_mode) ? "empty" : "not a regular file");
	if (fstatat(cached_fd, entry, &st, AT_SYMLINK_NOFOLLOW) < 0 || !S_ISDIR(st.st_mode)) {
		cache_problem(problems, &n, max_lines, "%s/: the entry's directory is missing",
			      entry);
		return n;
	}
	for (size_t i = 0; i < m->nentries; i++) {
		const struct mf_entry *e = &m->entries[i];
		if (!cache_path(path, sizeof(path), entry, e->path)) {
			cache_problem(problems, &n, max_lines, "%s: name too long", e->path);
			continue;
		}
		if (e->type == MF_DIR) {
			if (fstatat(cached_fd, path, &st, AT_SYMLINK_NOFOLLOW) < 0)
				cache_problem(problems, &n, max_lines, "%s: %s", e->path,
					      errno == ENOENT ? "missing" : strerror(errno));
			else if (!S_ISDIR(st.st_mode))
				cache_problem(problems, &n, max_lines, "%s: not a directory",
					      e->path);
			continue;
		}
		if (e->type == MF_SYMLINK) {
			ssize_t k = readlinkat(cached_fd, path, target, sizeof(target) - 1);
			if (k < 0) {
				cache_problem(problems, &n, max_lines, "%s: %s", e->path,
					      errno == ENOENT ? "missing"
					      : errno == EINVAL ? "not a symlink"
								: strerror(errno));
				continue;
			}
			target[k] = '\0';
			if (strcmp(target, e->target))
				cache_problem(problems, &n, max_lines,
					      "%s: points to %s, its manifest says %s", e->path,
					      target, e->target);
			continue;
		}
		int fd = openat(cached_fd, path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK);
		if (fd < 0) {
			cache_problem(problems, &n, max_lines, "%s: %s", e->path,
				      errno == ENOENT ? "missing"
				      : errno == ELOOP ? "not a regular file"
						       : strerror(errno));
			continue;
		}
		if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
			cache_problem(problems, &n, max_lines, "%s: not a regular file", e->path);
			close(fd);
			continue;
		}
		int64_t got = cache_digest_fd(fd, hex);
		close(fd);
		if (got < 0) {
			cache_problem(problems, &n, max_lines, "%s: %s", e->path,
				      strerror((int)-got));
			continue;
		}
		*ret_bytes += (unsigned long long)got;
		if ((uint64_t)got != e->size)
			cache_problem(problems, &n, max_lines,
				      "%s: %lld bytes, its manifest says %llu", e->path,
				      (long long)got, (unsigned long long)e->size);
		else if (strcmp(hex, e->sha256))
			cache_problem(problems, &n, max_lines,
				      "%s: content differs from its manifest (sha256 %.16s..., "
				      "expected %.16s...)",
				      e->path, hex, e->sha256);
	}
	return n;
}

/* renameat, or removal when the rename cannot be done; a missing source is fine. */
static int cache_move(int from_fd, const char *name, int to_fd, const char *to)
{
	if (renameat(from_fd, name, to_fd, to) == 0 || errno == ENOENT)
		return 0;
	int r = -errno;
	/* Not on one filesystem, or no room: the damaged data goes away all the same. */
	if (unlinkat(from_fd, name, 0) == 0 || errno == ENOENT)
		return 0;
	if (errno == EISDIR || errno == EPERM)
		return fs_rmtree_at(from_fd, name);
	return r;
}

int cache_quarantine(int cache_fd, int cached_fd, const char *abi, const char *entry,
		     const char *why, struct sbuf *ret_dir)
{
	char dir[CACHE_PATH_MAX], name[CACHE_PATH_MAX];
	int r, qfd;

	snprintf(dir, sizeof(dir), "quarantine/%s/%s.%lld.%d", abi, entry, (long long)time(NULL),
		 (int)getpid());
	r = fs_mkdirat_p(cache_fd, dir, 0755);
	qfd = r < 0 ? r : fs_open_dirat(cache_fd, dir);
	if (qfd < 0) {
		/* Cannot keep it: remove it, manifest first. */
		snprintf(name, sizeof(name), "%s.manifest", entry);
		if (unlinkat(cached_fd, name, 0) < 0 && errno != ENOENT)
			return -errno;
		(void)fs_rmtree_at(cached_fd, entry);
		snprintf(name, sizeof(name), "%s.gemspec", entry);
		(void)unlinkat(cached_fd, name, 0);
		return 0;
	}
	/* The manifest first: from this rename on, the entry is absent for every reader. */
	snprintf(name, sizeof(name), "%s.manifest", entry);
	r = cache_move(cached_fd, name, qfd, name);
	if (r == 0)
		r = cache_move(cached_fd, entry, qfd, entry);
	snprintf(name, sizeof(name), "%s.gemspec", entry);
	if (r == 0)
		r = cache_move(cached_fd, name, qfd, name);
	if (why) {
		struct sbuf text = SBUF_INIT;
		sbuf_addf(&text, "%s\n", why);
		(void)fs_write_atomic(qfd, "reason", text.buf, text.len, 0644);
		sbuf_release(&text);
	}
	close(qfd);
	if (r == 0 && ret_dir)
		sbuf_addstr(ret_dir, dir);
	return r;
}
