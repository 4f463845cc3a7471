/*
 * assemble.c: unpack a .gem into assembling/<abi>/<full_name>/gem/ (design.md
 * §1, "Assemble"). The only file that includes <archive.h>.
 *
 *   ASM_LOCK --> ASM_LOAD --> ASM_PREPARE --> ASM_UNPACK <--> ASM_DIRS
 *                                                 |
 *                                                 v
 *          ASM_DONE <-- ASM_SPEC_WAIT <-- ASM_SPEC <-- ASM_DRAIN
 *   (any state) --error--> ASM_FAILED (waits for its ops, removes the tree)
 *
 * ASM_LOCK      the cache entry lock (already held when fetch ran).
 * ASM_LOAD      the package bytes: from fetch (memory) or inbound/gems/.
 * ASM_PREPARE   removes a stale assembling tree, creates <full_name>/gem.
 * ASM_UNPACK    reads the outer tar; metadata.gz and checksums.yaml.gz are
 *               kept in memory, data.tar.gz is read *while streaming*: the
 *               inner archive's read callback hands out the outer entry's
 *               blocks (no temp file). Each file is read into a buffer,
 *               hashed and written by one WRITE_FILE op; at most
 *               ASM_WRITES_MAX ops / ASM_BYTES_MAX bytes are in flight, and a
 *               step handles at most ASM_ENTRIES_PER_STEP entries (a bounded
 *               CPU slice) before yielding to other jobs.
 * ASM_DIRS      an entry needs parent directories that do not exist yet:
 *               they are created one by one (each mkdirat must complete
 *               before its child's), then the entry proceeds.
 * ASM_DRAIN     waits for every write; verifies checksums.yaml.gz against
 *               the digests of metadata.gz and data.tar.gz.
 * ASM_SPEC      asks the Ruby helper for the spec summary and the installed
 *               gemspec text; gems with extensions get a compile job.
 * Invariants: nothing is written outside assembling/<abi>/<full_name>/;
 * entries with absolute paths, "..", TAB/LF in names, links resolving
 * outside the gem, devices, fifos and sockets fail the gem (SC_EUNSAFE);
 * on failure the tree is removed and nothing reaches cached/.
 */
#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <stdarg.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/clock.h"
#include "base/digest.h"
#include "base/dl.h"
#include "base/err.h"
#include "engine/ioq.h"
#include "engine/reactor.h"
#include "engine/rpc.h"
#include "fsops/fsops.h"
#include "phases/phase.h"

#define ASM_WRITES_MAX	     64
#define ASM_BYTES_MAX	     ((size_t)64 << 20)
#define ASM_ENTRIES_PER_STEP 64
#define ASM_FILE_MAX	     ((size_t)1 << 30)
#define ASM_META_MAX	     ((size_t)16 << 20)
#define ASM_PATH_MAX	     4000
#define LOCK_RETRY_NS	     (100u * 1000000u)

/*
 * libarchive, loaded on first use (see base/dl.h): warm and no-op installs
 * never unpack, so they never pay for loading it.
 */
static struct {
	__typeof__(archive_entry_filetype) *entry_filetype;
	__typeof__(archive_entry_hardlink) *entry_hardlink;
	__typeof__(archive_entry_pathname) *entry_pathname;
	__typeof__(archive_entry_perm) *entry_perm;
	__typeof__(archive_entry_size) *entry_size;
	__typeof__(archive_entry_symlink) *entry_symlink;
	__typeof__(archive_errno) *errnum;
	__typeof__(archive_error_string) *error_string;
	__typeof__(archive_read_data) *read_data;
	__typeof__(archive_read_data_block) *read_data_block;
	__typeof__(archive_read_free) *read_free;
	__typeof__(archive_read_new) *read_new;
	__typeof__(archive_read_next_header) *read_next_header;
	__typeof__(archive_read_open) *read_open;
	__typeof__(archive_read_open_memory) *read_open_memory;
	__typeof__(archive_read_support_filter_gzip) *read_support_filter_gzip;
	__typeof__(archive_read_support_format_raw) *read_support_format_raw;
	__typeof__(archive_read_support_format_tar) *read_support_format_tar;
	__typeof__(archive_set_error) *set_error;
} la;

#define LA_SYM(fn) { "archive_" #fn, (void **)&la.fn }

static const struct dl_sym la_syms[] = {
	LA_SYM(entry_filetype),
	LA_SYM(entry_hardlink),
	LA_SYM(entry_pathname),
	LA_SYM(entry_perm),
	LA_SYM(entry_size),
	LA_SYM(entry_symlink),
	{ "archive_errno", (void **)&la.errnum },
	LA_SYM(error_string),
	LA_SYM(read_data),
	LA_SYM(read_data_block),
	LA_SYM(read_free),
	LA_SYM(read_new),
	LA_SYM(read_next_header),
	LA_SYM(read_open),
	LA_SYM(read_open_memory),
	LA_SYM(read_support_filter_gzip),
	LA_SYM(read_support_format_raw),
	LA_SYM(read_support_format_tar),
	LA_SYM(set_error),
};

static void *la_handle;

enum asm_state {
	ASM_LOCK,
	ASM_LOAD,
	ASM_PREPARE,
	ASM_UNPACK,
	ASM_DIRS,
	ASM_DRAIN,
	ASM_SPEC,
	ASM_SPEC_WAIT,
	ASM_DONE,
	ASM_FAILED,
	ASM_STATE__COUNT,
};

static const char *const asm_state_name[ASM_STATE__COUNT] = {
	"LOCK", "LOAD", "PREPARE", "UNPACK", "DIRS", "DRAIN", "SPEC", "SPEC_WAIT", "DONE", "FAILED",
};

struct asm_write {
	struct ioq_op op;
	struct assemble_job *a;
	char *buf;
	size_t len;
	struct asm_write *next_free;
};

/* An entry waiting for its parent directories. */
struct asm_pending {
	bool active;
	enum mf_type type;
	char *path;   /* relative to the gem root */
	char *target; /* symlink target */
	mode_t mode;
	char *buf;
	size_t len;
};

struct assemble_job {
	struct job job;
	struct install *in;
	struct gem *gem;
	enum asm_state state;
	struct timer timer;
	bool waited_for_lock;

	struct archive *outer;
	struct archive *inner;
	bool outer_eof;
	struct digest d_meta, d_data;
	char sha_meta[DIGEST_SHA256_HEX], sha_data[DIGEST_SHA256_HEX];
	bool have_meta, have_data;
	struct sbuf metadata_gz;
	struct sbuf checksums_gz;

	struct hmap dirs; /* gem-relative dir -> (void *)1 once created */
	struct hmap symlinks; /* gem-relative symlink paths */
	const char *dirq[64];
	size_t ndirq, dirq_next;
	struct ioq_op dir_op;
	struct asm_pending pending;

	struct asm_write writes[ASM_WRITES_MAX];
	struct asm_write *free_writes;
	unsigned writes_inflight;
	size_t bytes_inflight;
	int io_err;
	const char *io_err_path;

	struct ioq_op misc_op;
	struct rpc_call call;
	bool call_done;

	struct manifest *m;
	const char *root; /* the entry name under assembling/<abi>/ */
	bool tree_created;
};

static bool asm_edge_ok(enum asm_state from, enum asm_state to)
{
	if (to == ASM_FAILED)
		return from != ASM_DONE && from != ASM_FAILED;
	switch (from) {
	case ASM_LOCK:
		return to == ASM_LOAD || to == ASM_DONE;
	case ASM_LOAD:
		return to == ASM_PREPARE;
	case ASM_PREPARE:
		return to == ASM_UNPACK;
	case ASM_UNPACK:
		return to == ASM_DIRS || to == ASM_DRAIN;
	case ASM_DIRS:
		return to == ASM_UNPACK;
	case ASM_DRAIN:
		return to == ASM_SPEC;
	case ASM_SPEC:
		return to == ASM_SPEC_WAIT;
	case ASM_SPEC_WAIT:
		return to == ASM_DONE;
	case ASM_DONE:
	case ASM_FAILED:
	case ASM_STATE__COUNT:
		break;
	}
	return false;
}

static void asm_enter(struct assemble_job *a, enum asm_state to)
{
	SC_ASSERT(asm_edge_ok(a->state, to));
	trace_state(&a->job.ctx, asm_state_name[a->state], asm_state_name[to]);
	a->state = to;
	job_wake(&a->job);
}

static sc_printf(3, 4) void asm_fail(struct assemble_job *a, int err, const char *fmt, ...)
{
	struct sbuf msg = SBUF_INIT;
	va_list ap;

	va_start(ap, fmt);
	sbuf_vaddf(&msg, fmt, ap);
	va_end(ap);
	job_fail(&a->job, err, "%s", msg.buf);
	sbuf_release(&msg);
	asm_enter(a, ASM_FAILED);
}

static void asm_timer_fire(struct timer *t)
{
	job_wake(&container_of(t, struct assemble_job, timer)->job);
}

/* ---- ASM_LOCK / ASM_LOAD / ASM_PREPARE ---- */

static void asm_lock(struct assemble_job *a)
{
	struct install *in = a->in;
	struct gem *g = a->gem;

	if (g->plan == PLAN_MATERIALIZE) {
		/* Another process promoted the entry while we waited (see fetch.c). */
		asm_enter(a, ASM_DONE);
		return;
	}
	int r = cache_lock_entry(in, g);
	if (r == -EWOULDBLOCK || r == -EAGAIN) {
		if (!a->waited_for_lock)
			install_event(in, g, "wait");
		a->waited_for_lock = true;
		reactor_timer_arm(sched_reactor(a->job.sched), &a->timer,
				  clock_now_ns() + LOCK_RETRY_NS);
		return;
	}
	if (r < 0) {
		asm_fail(a, r, "cannot lock the cache entry of %s: %s", g->full_name, sc_strerror(r));
		return;
	}
	if (!g->fetch && cache_load_manifest(in, g) == 0) {
		g->plan = PLAN_MATERIALIZE;
		cache_unlock_entry(in, g);
		asm_enter(a, ASM_DONE);
		return;
	}
	asm_enter(a, ASM_LOAD);
}

static void asm_load(struct assemble_job *a)
{
	struct install *in = a->in;
	struct gem *g = a->gem;
	char name[300];

	if (g->pkg.len == 0) {
		snprintf(name, sizeof(name), "%s.gem", g->full_name);
		int r = fs_read_fileat(in->inbound_fd, name, &g->pkg, ASM_FILE_MAX * 2);
		if (r < 0) {
			asm_fail(a, r, "cannot read the package of %s: %s", g->full_name, sc_strerror(r));
			return;
		}
		sha256_hex(g->pkg.buf, g->pkg.len, g->pkg_sha256);
		if (g->checksum && strcmp(g->checksum, g->pkg_sha256)) {
			/* A damaged inbound file: drop it so that the next run fetches again. */
			(void)unlinkat(in->inbound_fd, name, 0);
			asm_fail(a, -SC_ECHECKSUM,
				 "checksum mismatch for the cached package of %s: it was removed; "
				 "run scint install again to download it",
				 g->full_name);
			return;
		}
	}
	install_event(in, g, "install");
	asm_enter(a, ASM_PREPARE);
}

static void asm_prepare(struct assemble_job *a)
{
	struct install *in = a->in;
	char path[600];
	int r;

	/* We hold the entry lock: anything here is a killed run's leftover. */
	r = fs_rmtree_at(in->assembling_fd, a->root);
	if (r == 0) {
		snprintf(path, sizeof(path), "%s/gem", a->root);
		r = fs_mkdirat_p(in->assembling_fd, path, 0755);
	}
	if (r < 0) {
		asm_fail(a, r, "cannot prepare the assembling directory of %s: %s", a->gem->full_name,
			 sc_strerror(r));
		return;
	}
	a->tree_created = true;
	struct sbuf err = SBUF_INIT;
	r = dl_load(&la_handle, "libarchive.so.13", la_syms, SC_ARRAY_SIZE(la_syms), &err);
	if (r < 0) {
		asm_fail(a, r, "cannot unpack %s: %s (install libarchive13)", a->gem->full_name,
			 err.buf);
		sbuf_release(&err);
		return;
	}
	a->outer = la.read_new();
	la.read_support_format_tar(a->outer);
	if (la.read_open_memory(a->outer, a->gem->pkg.buf, a->gem->pkg.len) != ARCHIVE_OK) {
		asm_fail(a, -SC_EGEMFORMAT, "%s is not a valid gem package: %s", a->gem->full_name,
			 la.error_string(a->outer));
		return;
	}
	asm_enter(a, ASM_UNPACK);
}

/* ---- paths ---- */

/* Normalises an archive path ("./lib/x.rb" -> "lib/x.rb"); NULL if unsafe. */
static const char *asm_clean_path(const char *p, char *buf, size_t size, const char **why)
{
	size_t n = 0;

	*why = NULL;
	if (!p || !*p) {
		*why = "empty name";
		return NULL;
	}
	if (p[0] == '/') {
		*why = "absolute path";
		return NULL;
	}
	while (*p) {
		while (*p == '/')
			p++;
		if (!*p)
			break;
		const char *e = strchr(p, '/');
		size_t len = e ? (size_t)(e - p) : strlen(p);
		if (len == 1 && p[0] == '.') {
			p += len;
			continue;
		}
		if (len == 2 && p[0] == '.' && p[1] == '.') {
			*why = "'..' in path";
			return NULL;
		}
		if (n + len + 2 > size) {
			*why = "name too long";
			return NULL;
		}
		if (n)
			buf[n++] = '/';
		memcpy(buf + n, p, len);
		n += len;
		p += len;
	}
	buf[n] = '\0';
	if (strpbrk(buf, "\t\n\r")) {
		*why = "control character in name";
		return NULL;
	}
	return buf;
}

/* Does a symlink at `path` (gem-relative) pointing to `target` stay inside? */
static bool asm_link_inside(const char *path, const char *target)
{
	int depth = 0;
	const char *p;

	if (target[0] == '/' || !target[0])
		return false;
	for (p = path; *p; p++)
		if (*p == '/')
			depth++;
	for (p = target; *p;) {
		while (*p == '/')
			p++;
		if (!*p)
			break;
		const char *e = strchr(p, '/');
		size_t len = e ? (size_t)(e - p) : strlen(p);
		if (len == 2 && p[0] == '.' && p[1] == '.') {
			if (--depth < 0)
				return false;
		} else if (!(len == 1 && p[0] == '.')) {
			depth++;
		}
		p += len;
	}
	return true;
}

static char *asm_op_path(struct assemble_job *a, const char *rel)
{
	return arena_printf(&a->in->arena, "%s/gem/%s", a->root, rel);
}

/* The manifest path of an op path: "gem/..." (a suffix of it). */
static const char *asm_mf_path(struct assemble_job *a, const char *op_path)
{
	return op_path + strlen(a->root) + 1;
}

/* ---- writes ---- */

static void asm_write_done(struct ioq_op *op)
{
	struct asm_write *w = container_of(op, struct asm_write, op);
	struct assemble_job *a = w->a;

	if (op->res < 0 && !a->io_err) {
		a->io_err = op->res;
		a->io_err_path = op->path;
	}
	free(w->buf);
	w->buf = NULL;
	a->writes_inflight--;
	a->bytes_inflight -= w->len;
	w->next_free = a->free_writes;
	a->free_writes = w;
	job_wake(&a->job);
}

static struct asm_write *asm_write_get(struct assemble_job *a)
{
	struct asm_write *w = a->free_writes;

	SC_ASSERT(w);
	a->free_writes = w->next_free;
	a->writes_inflight++;
	w->a = a;
	w->op.done = asm_write_done;
	w->op.data = a;
	w->op.ctx = &a->job.ctx;
	return w;
}

static bool asm_window_full(const struct assemble_job *a)
{
	return !a->free_writes || a->bytes_inflight >= ASM_BYTES_MAX;
}

/* Issues the op for an entry whose parent directories exist. Takes p's buffers. */
static void asm_emit(struct assemble_job *a, struct asm_pending *p)
{
	struct install *in = a->in;
	char *op_path = asm_op_path(a, p->path);
	struct mf_entry *e;
	struct asm_write *w;

	switch (p->type) {
	case MF_DIR:
		/* created by asm_dirs already */
		break;
	case MF_FILE:
		w = asm_write_get(a);
		w->buf = p->buf;
		w->len = p->len;
		a->bytes_inflight += p->len;
		e = manifest_add(&in->arena, a->m, MF_FILE, asm_mf_path(a, op_path));
		e->mode = p->mode;
		e->size = p->len;
		char hex[DIGEST_SHA256_HEX];
		sha256_hex(p->buf ? p->buf : "", p->len, hex);
		e->sha256 = arena_strdup(&in->arena, hex);
		a->m->nfiles++;
		a->m->total_bytes += p->len;
		in->stats.files_unpacked++;
		in->stats.bytes_unpacked += p->len;
		ioq_prep_write_file(&w->op, in->assembling_fd, op_path, p->mode, w->buf, w->len);
		ioq_submit(in->ioq, &w->op);
		break;
	case MF_SYMLINK:
		w = asm_write_get(a);
		w->buf = p->target; /* freed on completion */
		w->len = 0;
		p->target = NULL;
		e = manifest_add(&in->arena, a->m, MF_SYMLINK, asm_mf_path(a, op_path));
		e->target = arena_strdup(&in->arena, w->buf);
		hmap_put(&a->symlinks, strv_from(e->path + 4), e);
		ioq_prep_symlinkat(&w->op, w->buf, in->assembling_fd, op_path);
		ioq_submit(in->ioq, &w->op);
		break;
	}
	free(p->path);
	free(p->target);
	*p = (struct asm_pending){ 0 };
}

/*
 * Queues the missing ancestors of rel (and rel itself when it is a dir).
 * Returns 0, or SC_EUNSAFE when an ancestor is a symlink from the archive.
 */
static int asm_need_dirs(struct assemble_job *a, const char *rel, bool self)
{
	char buf[ASM_PATH_MAX];
	size_t n = strlen(rel);

	a->ndirq = a->dirq_next = 0;
	memcpy(buf, rel, n + 1);
	for (size_t i = 0; i <= n; i++) {
		if (buf[i] != '/' && !(buf[i] == '\0' && self))
			continue;
		char c = buf[i];
		buf[i] = '\0';
		struct strv v = strv_from(buf);
		if (hmap_get(&a->symlinks, v))
			return -SC_EUNSAFE;
		if (!hmap_get(&a->dirs, v)) {
			if (a->ndirq == SC_ARRAY_SIZE(a->dirq))
				return -ENAMETOOLONG;
			a->dirq[a->ndirq++] = arena_strdup(&a->in->arena, buf);
		}
		buf[i] = c;
	}
	return 0;
}

static void asm_dir_done(struct ioq_op *op)
{
	job_wake(&((struct assemble_job *)op->data)->job);
}

static void asm_dirs_next(struct assemble_job *a)
{
	const char *rel = a->dirq[a->dirq_next];
	char *op_path = asm_op_path(a, rel);
	mode_t mode = 0755;

	if (a->pending.type == MF_DIR && a->dirq_next + 1 == a->ndirq)
		mode = (a->pending.mode & 0777) | 0700;
	ioq_prep_mkdirat(&a->dir_op, a->in->assembling_fd, op_path, mode);
	a->dir_op.done = asm_dir_done;
	a->dir_op.data = a;
	a->dir_op.ctx = &a->job.ctx;
	ioq_submit(a->in->ioq, &a->dir_op);
}

/* ASM_DIRS: one mkdirat completed (or none issued yet). */
static void asm_dirs(struct assemble_job *a)
{
	if (a->dir_op.in_flight)
		return;
	const char *rel = a->dirq[a->dirq_next];
	if (a->dir_op.res < 0 && a->dir_op.res != -EEXIST) {
		job_fail(&a->job, a->dir_op.res, "cannot create %s/%s while unpacking %s: %s",
			 "gem", rel, a->gem->full_name, sc_strerror(a->dir_op.res));
		asm_enter(a, ASM_FAILED);
		return;
	}
	struct mf_entry *e = manifest_add(&a->in->arena, a->m, MF_DIR,
					  asm_mf_path(a, asm_op_path(a, rel)));
	e->mode = a->dir_op.mode;
	hmap_put(&a->dirs, strv_from(e->path + 4), (void *)1);
	a->dirq_next++;
	if (a->dirq_next < a->ndirq) {
		asm_dirs_next(a);
		return;
	}
	if (a->pending.active)
		asm_emit(a, &a->pending);
	asm_enter(a, ASM_UNPACK);
}

/* Starts directory creation for p, or emits it right away. Returns true if waiting. */
static bool asm_place(struct assemble_job *a, struct asm_pending *p)
{
	const char *slash = strrchr(p->path, '/');
	int r;

	if (p->type == MF_DIR) {
		r = asm_need_dirs(a, p->path, true);
	} else if (slash) {
		char parent[ASM_PATH_MAX];
		memcpy(parent, p->path, (size_t)(slash - p->path));
		parent[slash - p->path] = '\0';
		r = asm_need_dirs(a, parent, true);
	} else {
		a->ndirq = 0;
		r = 0;
	}
	if (r == 0 && hmap_get(&a->symlinks, strv_from(p->path)))
		r = -SC_EUNSAFE;
	if (r < 0) {
		job_fail(&a->job, r, "unsafe entry '%s' in %s: it is inside a symlink of the gem",
			 p->path, a->gem->full_name);
		free(p->path);
		free(p->target);
		free(p->buf);
		*p = (struct asm_pending){ 0 };
		asm_enter(a, ASM_FAILED);
		return true;
	}
	if (a->ndirq == 0) {
		asm_emit(a, p);
		return false;
	}
	a->pending = *p;
	a->pending.active = true;
	*p = (struct asm_pending){ 0 };
	asm_dirs_next(a);
	asm_enter(a, ASM_DIRS);
	return true;
}

/* ---- the archives ---- */

static la_ssize_t asm_inner_read(struct archive *ar, void *data, const void **buf)
{
	struct assemble_job *a = data;
	size_t size;
	la_int64_t off;
	int r = la.read_data_block(a->outer, buf, &size, &off);

	if (r == ARCHIVE_EOF)
		return 0;
	if (r != ARCHIVE_OK) {
		la.set_error(ar, EIO, "%s", la.error_string(a->outer));
		return -1;
	}
	digest_update(&a->d_data, *buf, size);
	return (la_ssize_t)size;
}

static int asm_read_small(struct archive *ar, struct sbuf *out, struct digest *d)
{
	const void *buf;
	size_t size;
	la_int64_t off;
	int r;

	while ((r = la.read_data_block(ar, &buf, &size, &off)) == ARCHIVE_OK) {
		if (sbuf_add(out, buf, size) < 0)
			return -SC_ETOOBIG;
		if (d)
			digest_update(d, buf, size);
	}
	return r == ARCHIVE_EOF ? 0 : -SC_EGEMFORMAT;
}

static int asm_open_inner(struct assemble_job *a)
{
	digest_init(&a->d_data, DIGEST_SHA256);
	a->inner = la.read_new();
	la.read_support_filter_gzip(a->inner);
	la.read_support_format_tar(a->inner);
	if (la.read_open(a->inner, a, NULL, asm_inner_read, NULL) != ARCHIVE_OK)
		return -SC_EGEMFORMAT;
	return 0;
}

static void asm_close_inner(struct assemble_job *a)
{
	const void *buf;
	size_t size;
	la_int64_t off;

	/* The digest must cover all of data.tar.gz, past the tar's end blocks too. */
	while (la.read_data_block(a->outer, &buf, &size, &off) == ARCHIVE_OK)
		digest_update(&a->d_data, buf, size);
	digest_final_hex(&a->d_data, a->sha_data);
	la.read_free(a->inner);
	a->inner = NULL;
	a->have_data = true;
}

/* Reads the next outer entry. Returns 1 to continue, 0 at the end, <0 on error. */
static int asm_outer_next(struct assemble_job *a)
{
	struct archive_entry *e;
	int r = la.read_next_header(a->outer, &e);

	if (r == ARCHIVE_EOF)
		return 0;
	if (r != ARCHIVE_OK && r != ARCHIVE_WARN)
		return -SC_EGEMFORMAT;
	const char *name = la.entry_pathname(e);
	if (!name)
		return 1;
	if (!strcmp(name, "metadata.gz")) {
		digest_init(&a->d_meta, DIGEST_SHA256);
		r = asm_read_small(a->outer, &a->metadata_gz, &a->d_meta);
		digest_final_hex(&a->d_meta, a->sha_meta);
		a->have_meta = r == 0;
		return r < 0 ? r : 1;
	}
	if (!strcmp(name, "checksums.yaml.gz"))
		return asm_read_small(a->outer, &a->checksums_gz, NULL) < 0 ? -SC_EGEMFORMAT : 1;
	if (!strcmp(name, "data.tar.gz")) {
		if (a->have_data)
			return -SC_EGEMFORMAT;
		return asm_open_inner(a) < 0 ? -SC_EGEMFORMAT : 2;
	}
	return 1; /* signatures and anything else: not installed */
}

/* Reads one inner entry into p. Returns 1 (entry), 0 (end), <0 error (detail in *why). */
static int asm_inner_next(struct assemble_job *a, struct asm_pending *p, const char **why)
{
	struct archive_entry *e;
	char clean[ASM_PATH_MAX];
	int r;

	*why = NULL;
	for (;;) {
		r = la.read_next_header(a->inner, &e);
		if (r == ARCHIVE_EOF)
			return 0;
		if (r != ARCHIVE_OK && r != ARCHIVE_WARN) {
			*why = la.error_string(a->inner);
			return r == ARCHIVE_FATAL && la.errnum(a->inner) == EIO ? -SC_ETRUNCATED
										  : -SC_EGEMFORMAT;
		}
		const char *path = asm_clean_path(la.entry_pathname(e), clean, sizeof(clean), why);
		if (!path) {
			*why = arena_printf(&a->in->arena, "'%s': %s",
					    la.entry_pathname(e) ? la.entry_pathname(e) : "",
					    *why);
			return -SC_EUNSAFE;
		}
		if (!path[0])
			continue; /* the root itself */
		*p = (struct asm_pending){ .path = sc_xstrdup(path),
					   .mode = la.entry_perm(e) & 0777 };
		mode_t type = la.entry_filetype(e);
		if (la.entry_hardlink(e)) {
			/* RubyGems' extractor creates nothing for hard link entries; neither do we. */
			free(p->path);
			p->path = NULL;
			continue;
		}
		switch (type) {
		case AE_IFDIR:
			p->type = MF_DIR;
			return 1;
		case AE_IFLNK: {
			const char *target = la.entry_symlink(e);
			if (!target || !asm_link_inside(path, target)) {
				*why = arena_printf(&a->in->arena,
						    "'%s': symlink to '%s' points outside the gem",
						    path, target ? target : "");
				return -SC_EUNSAFE;
			}
			if (strpbrk(target, "\t\n\r")) {
				*why = arena_printf(&a->in->arena, "'%s': control character in link", path);
				return -SC_EUNSAFE;
			}
			p->type = MF_SYMLINK;
			p->target = sc_xstrdup(target);
			return 1;
		}
		case AE_IFREG:
			break;
		default:
			*why = arena_printf(&a->in->arena, "'%s': %s entries are not allowed", path,
					    type == AE_IFIFO   ? "fifo"
					    : type == AE_IFCHR ? "character device"
					    : type == AE_IFBLK ? "block device"
					    : type == AE_IFSOCK ? "socket"
								: "special");
			return -SC_EUNSAFE;
		}
		p->type = MF_FILE;
		la_int64_t size = la.entry_size(e);
		if (size < 0 || (uint64_t)size > ASM_FILE_MAX) {
			*why = arena_printf(&a->in->arena, "'%s' is too large", path);
			return -SC_ETOOBIG;
		}
		p->buf = sc_xmalloc((size_t)size + 1);
		size_t got = 0;
		while (got < (size_t)size) {
			la_ssize_t k = la.read_data(a->inner, p->buf + got, (size_t)size - got);
			if (k < 0) {
				*why = la.error_string(a->inner);
				return -SC_ETRUNCATED;
			}
			if (k == 0)
				break;
			got += (size_t)k;
		}
		if (got != (size_t)size) {
			*why = arena_printf(&a->in->arena, "'%s' ends early", path);
			return -SC_ETRUNCATED;
		}
		p->len = got;
		return 1;
	}
}

static void asm_unpack(struct assemble_job *a)
{
	unsigned n = 0;
	const char *why;
	struct asm_pending p = { 0 };

	if (a->io_err) {
		job_fail(&a->job, a->io_err, "cannot write %s while unpacking %s: %s",
			 a->io_err_path, a->gem->full_name, sc_strerror(a->io_err));
		asm_enter(a, ASM_FAILED);
		return;
	}
	while (n < ASM_ENTRIES_PER_STEP) {
		if (asm_window_full(a))
			return; /* a write completion wakes us */
		if (!a->inner) {
			int r = asm_outer_next(a);
			if (r == 0) {
				asm_enter(a, ASM_DRAIN);
				return;
			}
			if (r < 0) {
				asm_fail(a, r, "%s is not a valid gem package: %s", a->gem->full_name,
					 la.error_string(a->outer) ? la.error_string(a->outer)
									: sc_strerror(r));
				return;
			}
			n++;
			continue;
		}
		int r = asm_inner_next(a, &p, &why);
		if (r == 0) {
			asm_close_inner(a);
			continue;
		}
		if (r < 0) {
			free(p.path);
			free(p.target);
			free(p.buf);
			job_fail(&a->job, r, "%s %s: %s", r == -SC_EUNSAFE ? "unsafe archive entry in" :
							  "cannot unpack",
				 a->gem->full_name, why ? why : sc_strerror(r));
			asm_enter(a, ASM_FAILED);
			return;
		}
		n++;
		if (asm_place(a, &p))
			return;
	}
	job_wake(&a->job); /* slice used up: let others run, then continue */
}

/* ---- ASM_DRAIN: checksums.yaml.gz ---- */

static int asm_gunzip(const struct sbuf *in, struct sbuf *out)
{
	struct archive *ar = la.read_new();
	struct archive_entry *e;
	int r = -SC_EGEMFORMAT;

	la.read_support_filter_gzip(ar);
	la.read_support_format_raw(ar);
	if (la.read_open_memory(ar, in->buf, in->len) == ARCHIVE_OK &&
	    la.read_next_header(ar, &e) == ARCHIVE_OK) {
		char buf[4096];
		la_ssize_t k;
		r = 0;
		while ((k = la.read_data(ar, buf, sizeof(buf))) > 0)
			if (sbuf_add(out, buf, (size_t)k) < 0)
				r = -SC_ETOOBIG;
		if (k < 0)
			r = -SC_EGEMFORMAT;
	}
	la.read_free(ar);
	return r;
}

/* Finds "  <name>: <hex>" under "SHA256:" in checksums.yaml. */
static bool asm_yaml_sha256(struct strv yaml, const char *name, struct strv *ret)
{
	struct strv rest = yaml, line;
	bool in256 = false;

	while (strv_next_line(&rest, &line)) {
		if (line.len && line.p[0] != ' ') {
			in256 = strv_eq_cstr(strv_trim(line), "SHA256:");
			continue;
		}
		if (!in256)
			continue;
		struct strv k, v;
		if (!strv_cut(strv_trim(line), ':', &k, &v))
			continue;
		if (strv_eq_cstr(strv_trim(k), name)) {
			*ret = strv_trim(v);
			if (ret->len && (ret->p[0] == '\'' || ret->p[0] == '"'))
				*ret = strv_make(ret->p + 1, ret->len >= 2 ? ret->len - 2 : 0);
			return true;
		}
	}
	return false;
}

static void asm_drain(struct assemble_job *a)
{
	struct sbuf yaml = SBUF_INIT;

	if (a->writes_inflight)
		return;
	if (a->io_err) {
		job_fail(&a->job, a->io_err, "cannot write %s while unpacking %s: %s",
			 a->io_err_path, a->gem->full_name, sc_strerror(a->io_err));
		asm_enter(a, ASM_FAILED);
		return;
	}
	if (!a->have_meta || !a->have_data) {
		asm_fail(a, -SC_EGEMFORMAT, "%s is not a valid gem package: %s", a->gem->full_name,
			 a->have_meta ? "data.tar.gz is missing" : "metadata.gz is missing");
		return;
	}
	if (a->checksums_gz.len) {
		struct strv want;
		if (asm_gunzip(&a->checksums_gz, &yaml) < 0) {
			sbuf_release(&yaml);
			asm_fail(a, -SC_EGEMFORMAT, "%s has a corrupt checksums.yaml.gz",
				 a->gem->full_name);
			return;
		}
		const char *bad = NULL;
		if (asm_yaml_sha256(sbuf_strv(&yaml), "metadata.gz", &want) &&
		    !strv_eq_cstr(want, a->sha_meta))
			bad = "metadata.gz";
		if (asm_yaml_sha256(sbuf_strv(&yaml), "data.tar.gz", &want) &&
		    !strv_eq_cstr(want, a->sha_data))
			bad = "data.tar.gz";
		sbuf_release(&yaml);
		if (bad) {
			asm_fail(a, -SC_ECHECKSUM,
				 "checksum mismatch inside %s: %s does not match the package's "
				 "checksums.yaml.gz",
				 a->gem->full_name, bad);
			return;
		}
	}
	asm_enter(a, ASM_SPEC);
}

/* ---- ASM_SPEC ---- */

static void asm_spec_done(struct rpc_call *call)
{
	struct assemble_job *a = call->data;

	a->call_done = true;
	job_wake(&a->job);
}

static void asm_spec(struct assemble_job *a)
{
	struct rpc *helper = install_helper(a->in);

	a->call = (struct rpc_call){
		.method = "spec",
		.payload = a->metadata_gz.buf,
		.len = a->metadata_gz.len,
		.done = asm_spec_done,
		.data = a,
	};
	a->call_done = false;
	asm_enter(a, ASM_SPEC_WAIT);
	rpc_call(helper, &a->call);
}

/* Refused metadata (or a helper that died): the package is not kept, the next run fetches it. */
static void asm_drop_package(struct assemble_job *a)
{
	char *name = arena_printf(&a->in->arena, "%s.gem", a->gem->full_name);

	(void)unlinkat(a->in->inbound_fd, name, 0);
}

static void asm_spec_wait(struct assemble_job *a)
{
	struct install *in = a->in;
	struct gem *g = a->gem;
	struct strv gemspec;

	if (!a->call_done)
		return;
	if (a->call.res < 0) {
		sbuf_rtrim(&a->call.result);
		asm_fail(a, a->call.res, "cannot read the spec of %s: %s", g->full_name,
			 a->call.result.buf);
		asm_drop_package(a);
		return;
	}
	struct sbuf *res = &a->call.result;
	if (gem_summary_parse(&in->arena, sbuf_strv(res), &a->m->spec, &gemspec) < 0) {
		asm_fail(a, -SC_ERUBY, "cannot read the spec of %s: the helper's answer is malformed",
			 g->full_name);
		asm_drop_package(a);
		return;
	}
	struct sbuf why = SBUF_INIT;
	int r = gem_summary_verify(&a->m->spec, g->name, g->version, g->platform, &why);
	if (r < 0) {
		asm_fail(a, r,
			 r == -SC_EUNSAFE ? "unsafe metadata in %s: %s"
					  : "%s is not the package the lockfile names: %s",
			 g->full_name, sbuf_cstr(&why));
		asm_drop_package(a);
	}
	sbuf_release(&why);
	if (r < 0)
		return;
	g->gemspec = strv_make(arena_strv(&in->arena, gemspec), gemspec.len);
	a->m->full_name = g->full_name;
	a->m->abi = in->abi.abi;
	a->m->gem_sha256 = arena_strdup(&in->arena, g->pkg_sha256);
	g->manifest = a->m;
	g->unpacked = true;
	g->needs_build = a->m->spec.nextensions > 0;
	if (g->needs_build) {
		/* The build reads the spec too: hand the metadata over. */
		sbuf_release(&g->metadata_gz);
		g->metadata_gz = a->metadata_gz;
		sbuf_init(&a->metadata_gz, 0);
		compile_job_new(in, g, &a->job);
	}
	asm_enter(a, ASM_DONE);
}

/* ---- ASM_FAILED ---- */

static void asm_failed(struct assemble_job *a)
{
	struct install *in = a->in;

	if (a->writes_inflight || a->dir_op.in_flight)
		return;
	if (a->state == ASM_SPEC_WAIT && !a->call_done)
		return;
	if (a->tree_created)
		(void)fs_rmtree_at(in->assembling_fd, a->root);
	cache_unlock_entry(in, a->gem);
	job_finish(&a->job);
}

static void asm_step(struct job *j)
{
	struct assemble_job *a = container_of(j, struct assemble_job, job);

	if (j->canceled && a->state != ASM_FAILED && a->state != ASM_DONE) {
		if (a->state == ASM_SPEC_WAIT && !a->call_done)
			return;
		a->state = ASM_FAILED;
	}
	switch (a->state) {
	case ASM_LOCK:
		asm_lock(a);
		break;
	case ASM_LOAD:
		asm_load(a);
		break;
	case ASM_PREPARE:
		asm_prepare(a);
		break;
	case ASM_UNPACK:
		asm_unpack(a);
		break;
	case ASM_DIRS:
		asm_dirs(a);
		break;
	case ASM_DRAIN:
		asm_drain(a);
		break;
	case ASM_SPEC:
		asm_spec(a);
		break;
	case ASM_SPEC_WAIT:
		asm_spec_wait(a);
		break;
	case ASM_DONE:
		job_finish(j);
		break;
	case ASM_FAILED:
		asm_failed(a);
		break;
	case ASM_STATE__COUNT:
		SC_ASSERT(!"bad state");
	}
}

static void asm_cancel(struct job *j)
{
	struct assemble_job *a = container_of(j, struct assemble_job, job);

	reactor_timer_disarm(sched_reactor(j->sched), &a->timer);
}

static void asm_release(struct job *j)
{
	struct assemble_job *a = container_of(j, struct assemble_job, job);

	reactor_timer_disarm(sched_reactor(j->sched), &a->timer);
	if (a->inner)
		la.read_free(a->inner);
	if (a->outer)
		la.read_free(a->outer);
	a->inner = a->outer = NULL;
	digest_release(&a->d_data);
	digest_release(&a->d_meta);
	sbuf_release(&a->metadata_gz);
	sbuf_release(&a->checksums_gz);
	sbuf_release(&a->call.result);
	free(a->pending.path);
	free(a->pending.target);
	free(a->pending.buf);
	hmap_release(&a->dirs);
	hmap_release(&a->symlinks);
	/* The package bytes are no longer needed: the tree and manifest carry it on. */
	sbuf_release(&a->gem->pkg);
}

static const struct job_ops assemble_ops = {
	.kind = JOB_ASSEMBLE,
	.step = asm_step,
	.cancel = asm_cancel,
	.release = asm_release,
};

struct job *assemble_job_new(struct install *in, struct gem *g, struct job *after)
{
	struct assemble_job *a = arena_alloc(&in->arena, sizeof(*a));

	a->in = in;
	a->gem = g;
	a->root = g->entry;
	a->m = arena_alloc(&in->arena, sizeof(*a->m));
	hmap_init(&a->dirs);
	hmap_init(&a->symlinks);
	hmap_put(&a->dirs, STRV_LIT(""), (void *)1);
	sbuf_init(&a->metadata_gz, ASM_META_MAX);
	sbuf_init(&a->checksums_gz, ASM_META_MAX);
	for (int i = ASM_WRITES_MAX - 1; i >= 0; i--) {
		a->writes[i].next_free = a->free_writes;
		a->free_writes = &a->writes[i];
	}
	timer_init(&a->timer, asm_timer_fire);
	job_init(&a->job, in->sched, &assemble_ops, g->full_name, (int)g->ndependents);
	if (after)
		job_depends(&a->job, after);
	g->assemble = a;
	return &a->job;
}
