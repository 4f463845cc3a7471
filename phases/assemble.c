/*
 * assemble.c: unpack a .gem into assembling/<abi>/<full_name>/gem/ (design.md
 * §1, "Assemble"). The only file that includes <archive.h>.
 *
 *   ASM_LOCK --> ASM_LOAD --> ASM_PREPARE --> ASM_UNPACK ------------> ASM_DRAIN
 *                                              |  ^  ^  ^                  |
 *                                              v  |  |  |                  v
 *                                      ASM_REPLACE-+  |  |              ASM_SPEC
 *                                         |   \      |  |                  |
 *                                         |    '-> ASM_DIRS               v
 *                                         |          |  |           ASM_SPEC_WAIT
 *                                         '------> ASM_STREAM              |
 *                                                                          v
 *   (any state) --error--> ASM_FAILED (waits for its ops,       ASM_DONE
 *                          removes the tree)             (ASM_SPEC --> ASM_DONE
 *                                                          when written in C)
 *
 * ASM_LOCK      the cache entry lock (already held when fetch ran). A
 *               verified remote artifact (remote.c) is unpacked here in
 *               place of the .gem: the job is then done, nothing is built.
 * ASM_LOAD      the package: the bytes fetch kept in memory, else
 *               inbound/gems/<full_name>.gem read in bounded blocks while
 *               unpacking (its SHA-256 is checked when the outer tar ends).
 * ASM_PREPARE   removes a stale assembling tree, creates <full_name>/gem.
 * ASM_UNPACK    reads the outer tar; metadata.gz and checksums.yaml.gz are
 *               kept in memory (bounded), data.tar.gz is read *while
 *               streaming*: the inner archive's read callback hands out the
 *               outer entry's blocks (no temp file). Each inner header is
 *               checked (bundle/gempath.h) and placed in the model of the
 *               tree (see below). Files up to ASM_CHUNK are read into a
 *               buffer that grows as data arrives and written by one
 *               WRITE_FILE op (on io_uring one linked chain: open into a
 *               fixed slot, write, close); at most ASM_WRITES_MAX ops /
 *               ASM_BYTES_MAX bytes are in flight, and a step inflates at
 *               most ASM_STEP_BYTES (each entry counted as its size plus
 *               ASM_ENTRY_COST) before yielding to other jobs.
 *               Missing directories are queued as mkdirat ops and the
 *               reader goes on: an op below a directory still on its way
 *               is chained behind its mkdirat (ioq_submit_after) while that
 *               is queued, or parked on it once it is in the kernel and
 *               queued when it completes (asm_cursor_for).
 * ASM_REPLACE   the entry's path already holds something (a later entry of
 *               the same path wins, as in tar and RubyGems): waits until no
 *               op is in flight, removes the old one, then places the entry.
 * ASM_DIRS      waits for write slots for the entry's directories and op,
 *               or (a directory entry changing a mode, a large file) for a
 *               directory this job is still creating.
 * ASM_STREAM    a file larger than ASM_CHUNK: OPENAT, then WRITE ops of
 *               ASM_CHUNK bytes as the data is inflated (within the same
 *               window), then fchmod/close; memory stays bounded whatever
 *               the file's size.
 * ASM_DRAIN     waits for every write; re-checks every symlink against the
 *               final tree; builds the manifest from the model; verifies
 *               checksums.yaml.gz and the inflated size of metadata.gz.
 * ASM_SPEC      the spec summary and the installed gemspec text: written in C
 *               from metadata.gz (bundle/gemspec.h) when that writer takes
 *               the metadata, else (or always, under SCINT_SPEC_CHECK=1,
 *               which compares both) asked of the Ruby helper; a run whose
 *               gems are all taken in C starts no helper for them. Either
 *               text goes through the same checks (gem_summary_parse,
 *               gem_summary_verify). Gems with extensions get a compile job (under
 *               `scint cache pull`, which compiles nothing, their tree is
 *               removed instead and the gem marked remote_unbuilt).
 *
 * The model: every directory, file and symlink this job created, keyed by
 * gem-relative path. Nothing else writes into the fresh tree (we hold the
 * entry lock), so the model is what the kernel sees. It lets the job:
 *   - resolve an entry's directory through the gem's own symlinks, as the
 *     kernel would, so that the op paths it issues contain no symlink at
 *     all (a file under a link that stays inside goes to the link's target,
 *     as with RubyGems; one that leads outside fails the gem), and every op
 *     opens its last component with O_NOFOLLOW (or creates it);
 *   - check each symlink target against the links already there, and all of
 *     them again once the archive is complete (a later link can change what
 *     an earlier target means);
 *   - make "the last entry wins" exact, and the manifest one row per path.
 *
 * Same path twice (defined like RubyGems' extractor, which removes the
 * destination before each entry): file, symlink or directory replaced by a
 * file or symlink; file or symlink replaced by a directory; a directory
 * entry over a directory keeps its contents and takes the later mode (tar's
 * behaviour; RubyGems would empty it, which no real gem relies on).
 *
 * Permissions (RubyGems 3.3 applies the entry's mode as is): files keep the
 * entry's permission bits without setuid/setgid/sticky and without group or
 * other write (the cache is shared and hardlinked into projects), and are
 * always readable by their owner; directories get rwx for the owner, the
 * same mask otherwise.
 *
 * Limits (each with a setting to raise it, see asm_limits_load): unpacked
 * bytes per gem, bytes per file, entries per gem, inflated size of
 * metadata.gz and checksums.yaml.gz. Sizes come from the tar headers and
 * are checked before any data is read; no buffer is sized from a header.
 *
 * Invariants: nothing is written outside assembling/<abi>/<full_name>/;
 * entries with unsafe names (gempath_clean), links resolving outside the
 * gem, devices, fifos and sockets fail the gem (SC_EUNSAFE); on failure the
 * tree is removed and nothing reaches cached/.
 */
#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/clock.h"
#include "base/digest.h"
#include "base/dl.h"
#include "base/err.h"
#include "bundle/checksums.h"
#include "bundle/gemspec.h"
#include "bundle/gempath.h"
#include "engine/ioq.h"
#include "engine/reactor.h"
#include "engine/rpc.h"
#include "fsops/fsops.h"
#include "phases/phase.h"
#include "phases/remote.h"

#define ASM_WRITES_MAX	     256
#define ASM_BYTES_MAX	     ((size_t)2 << 20)
#define ASM_CHUNK	     ((size_t)512 << 10)
#define ASM_STEP_BYTES	     ((uint64_t)256 << 10)
#define ASM_ENTRY_COST	     512 /* bytes a step is charged per entry, beside its data */
#define ASM_PKG_BLOCK	     ((size_t)128 << 10)
#define ASM_DEPTH_MAX	     (GEMPATH_MAX / 2 + 1)
#define LOCK_RETRY_NS	     (100u * 1000000u)

/*
 * Path bytes looked up while resolving through the gem's links, per allowed
 * entry: one resolution is bounded (hops and path length), but a gem of
 * many small links to a long chain would make every one of them cost it.
 */
#define ASM_LINK_WORK_PER_ENTRY 16384

/*
 * Directories below the gem root: a deeper tree could not be removed again
 * (fs_rmtree_at stops at 256 levels), from assembling/, cached/ or .bundle.
 */
#define ASM_TREE_DEPTH_MAX 200

/* Defaults of the limits (see asm_limits_load). */
#define ASM_DEF_GEM_BYTES  ((uint64_t)1 << 30)
#define ASM_DEF_FILE_BYTES ((uint64_t)512 << 20)
#define ASM_DEF_ENTRIES	   ((uint64_t)100000)
#define ASM_DEF_META_BYTES ((uint64_t)32 << 20)

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
	ASM_REPLACE,
	ASM_DIRS,
	ASM_STREAM,
	ASM_DRAIN,
	ASM_SPEC,
	ASM_SPEC_WAIT,
	ASM_DONE,
	ASM_FAILED,
	ASM_STATE__COUNT,
};

static const char *const asm_state_name[ASM_STATE__COUNT] = {
	"LOCK",	  "LOAD", "PREPARE", "UNPACK",	  "REPLACE", "DIRS",
	"STREAM", "DRAIN", "SPEC",   "SPEC_WAIT", "DONE",    "FAILED",
};

/* The limits of one gem (bytes, bytes, count, bytes). */
struct asm_limits {
	uint64_t gem_bytes, file_bytes, entries, meta_bytes;
};

/* One directory, file or symlink of the tree (run lifetime, in the arena). */
struct asm_node {
	enum mf_type type;
	mode_t mode;
	uint64_t size;
	const char *sha256;  /* files */
	const char *op_path; /* "<root>/gem/<rel>", relative to assembling_fd */
	const char *rel;     /* gem-relative: a suffix of op_path ("" for the root) */
	const char *target;  /* symlinks */
	struct asm_node *parent, *first, *next, *prev;
	struct asm_write *mk; /* directories: its mkdirat until that completes */
};

struct asm_write {
	struct ioq_op op;
	struct assemble_job *a;
	char *buf;	  /* owned; freed on completion */
	size_t len;
	const char *what; /* the op path (arena), for errors */
	struct asm_write *next_free;
	struct asm_node *node; /* mkdirat: the directory it creates */
	/* parked behind a mkdirat already in the kernel (see asm_queue) */
	struct asm_write *park_root;		    /* the mkdirat it waits for */
	struct asm_write *park_head, *park_tail; /* a root: the writes waiting for it */
	struct asm_write *park_next;
};

/* Where the next op of an entry goes: a fresh chain, behind tail, or parked on root. */
struct asm_cursor {
	struct ioq_op *tail;
	struct asm_write *root;
};

/* The inner entry being placed. */
struct asm_entry {
	enum mf_type type;
	mode_t mode;
	uint64_t size;
	const char *target; /* arena */
	char name[GEMPATH_MAX + 1]; /* as cleaned (for messages) */
	char path[GEMPATH_MAX + 1]; /* its real place: directories resolved through links */
	struct asm_node *node;
	/* ASM_STREAM */
	int fd;
	uint64_t off;
	struct digest d;
};

struct assemble_job {
	struct job job;
	struct install *in;
	struct gem *gem;
	enum asm_state state;
	struct timer timer;
	bool waited_for_lock;
	struct asm_limits lim;

	/* the package */
	int pkg_fd; /* inbound/gems/<full_name>.gem when not in memory; else -1 */
	char *pkg_block;
	struct digest d_pkg;

	struct archive *outer;
	struct archive *inner;
	struct digest d_meta, d_data;
	char sha_meta[DIGEST_SHA256_HEX], sha_data[DIGEST_SHA256_HEX];
	bool have_meta, have_data;
	struct sbuf metadata_gz;
	struct sbuf checksums_gz;

	/* the model */
	struct hmap nodes; /* rel -> struct asm_node *, NULL once removed */
	struct asm_node *root_node;
	uint64_t nentries, unpacked_bytes;
	uint64_t nnodes, path_bytes, nlinks;
	uint64_t link_work; /* path bytes looked up by asm_link_of */

	struct asm_entry *cur;  /* job lifetime, from ASM_PREPARE */
	struct asm_node **dirq; /* ASM_DEPTH_MAX, from ASM_PREPARE */
	size_t ndirq;
	unsigned need_slots;
	bool wait_slots; /* ASM_DIRS: for write slots (else for cur's directory) */
	struct ioq_op open_op;

	struct asm_write *writes; /* ASM_WRITES_MAX, from ASM_PREPARE */
	struct asm_write *free_writes;
	unsigned writes_inflight;
	size_t bytes_inflight;
	int io_err;
	const char *io_err_path; /* arena */

	struct rpc_call call;
	bool call_done;
	struct sbuf meta_yaml;	/* metadata.gz inflated (ASM_DRAIN to ASM_SPEC) */
	struct sbuf native_spec; /* the spec written in C, kept for SCINT_SPEC_CHECK */
	bool native_ok;

	struct manifest *m;
	const char *root; /* the entry name under assembling/<abi>/ */
	bool tree_created;
	bool pkg_bad; /* the package's content was refused: drop it from inbound/ */
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
		return to == ASM_REPLACE || to == ASM_DIRS || to == ASM_STREAM || to == ASM_DRAIN;
	case ASM_REPLACE:
		return to == ASM_DIRS || to == ASM_STREAM || to == ASM_UNPACK;
	case ASM_DIRS:
		return to == ASM_STREAM || to == ASM_UNPACK || to == ASM_DIRS;
	case ASM_STREAM:
		return to == ASM_UNPACK;
	case ASM_DRAIN:
		return to == ASM_SPEC;
	case ASM_SPEC:
		return to == ASM_SPEC_WAIT || to == ASM_DONE; /* DONE: written in C */
	case ASM_SPEC_WAIT:
		return to == ASM_DONE;
	case ASM_DONE:
	case ASM_FAILED:
	case ASM_STATE__COUNT:
		break;
	}
	return false;
}

static void asm_enter_at(struct assemble_job *a, enum asm_state to, int line)
{
	SC_ASSERT(asm_edge_ok(a->state, to));
	trace_state(&a->job.ctx, asm_state_name[a->state], asm_state_name[to], line);
	a->state = to;
	job_wake(&a->job);
}

/* Every state change goes through here; debug builds trace the caller's line. */
#define asm_enter(a, to) asm_enter_at((a), (to), TRACE_LINE)

static sc_printf(3, 4) void asm_fail(struct assemble_job *a, int err, const char *fmt, ...)
{
	struct sbuf msg = SBUF_INIT;
	va_list ap;

	va_start(ap, fmt);
	sbuf_vaddf(&msg, fmt, ap);
	va_end(ap);
	job_fail(&a->job, err, "%s", msg.buf);
	sbuf_release(&msg);
	/* A package that cannot be unpacked is fetched again next time, not reused. */
	a->pkg_bad = a->state >= ASM_PREPARE &&
		     (err == -SC_EUNSAFE || err == -SC_EGEMFORMAT || err == -SC_ETOOBIG ||
		      err == -SC_ETRUNCATED || err == -SC_ECHECKSUM);
	asm_enter(a, ASM_FAILED);
}

/* "unsafe archive entry in <gem>: <detail>" */
static sc_printf(2, 3) void asm_unsafe(struct assemble_job *a, const char *fmt, ...)
{
	struct sbuf msg = SBUF_INIT;
	va_list ap;

	va_start(ap, fmt);
	sbuf_vaddf(&msg, fmt, ap);
	va_end(ap);
	asm_fail(a, -SC_EUNSAFE, "unsafe archive entry in %s: %s", a->gem->full_name, msg.buf);
	sbuf_release(&msg);
}

/* A name from the archive, fit for a message: control bytes as \xNN, at most 300 bytes. */
static const char *asm_quote(struct assemble_job *a, const char *s, size_t len)
{
	struct sbuf out = SBUF_INIT;

	for (size_t i = 0; i < len && out.len < 300; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c < 0x20 || c == 0x7f || c == '\\')
			sbuf_addf(&out, "\\x%02x", c);
		else
			sbuf_addch(&out, (char)c);
	}
	if (out.len >= 300)
		sbuf_addstr(&out, "...");
	const char *r = arena_strdup(&a->in->arena, sbuf_cstr(&out));
	sbuf_release(&out);
	return r;
}

static void asm_timer_fire(struct timer *t)
{
	job_wake(&container_of(t, struct assemble_job, timer)->job);
}

/* ---- limits ---- */

/* "123", "64K", "512M", "2G" (powers of 1024). */
static int asm_parse_size(const char *s, uint64_t *ret)
{
	uint64_t v = 0;
	const char *p = s;

	if (*p < '0' || *p > '9')
		return -1;
	for (; *p >= '0' && *p <= '9'; p++) {
		if (v > (UINT64_MAX - 9) / 10)
			return -1;
		v = v * 10 + (uint64_t)(*p - '0');
	}
	unsigned shift = 0;
	switch (*p) {
	case 'k':
	case 'K':
		shift = 10;
		break;
	case 'm':
	case 'M':
		shift = 20;
		break;
	case 'g':
	case 'G':
		shift = 30;
		break;
	case 't':
	case 'T':
		shift = 40;
		break;
	case '\0':
		break;
	default:
		return -1;
	}
	if (shift && *++p)
		return -1;
	if (v == 0 || v > (UINT64_MAX >> shift))
		return -1;
	*ret = v << shift;
	return 0;
}

/*
 * The settings, from the environment:
 *   SCINT_GEM_MAX_BYTES           unpacked bytes of one gem (default 1G)
 *   SCINT_GEM_MAX_FILE_BYTES      bytes of one file in a gem (default 512M)
 *   SCINT_GEM_MAX_ENTRIES         entries in one gem's data.tar.gz (default 100000)
 *   SCINT_GEM_MAX_METADATA_BYTES  metadata.gz and checksums.yaml.gz, packed
 *                                 and inflated (default 32M)
 * Returns 0, or -SC_ECONFIG with *ret_bad naming the variable.
 */
static int asm_limits_load(struct asm_limits *ret, const char **ret_bad)
{
	static const struct {
		const char *name;
		size_t off;
		uint64_t def;
	} vars[] = {
		{ "SCINT_GEM_MAX_BYTES", offsetof(struct asm_limits, gem_bytes), ASM_DEF_GEM_BYTES },
		{ "SCINT_GEM_MAX_FILE_BYTES", offsetof(struct asm_limits, file_bytes),
		  ASM_DEF_FILE_BYTES },
		{ "SCINT_GEM_MAX_ENTRIES", offsetof(struct asm_limits, entries), ASM_DEF_ENTRIES },
		{ "SCINT_GEM_MAX_METADATA_BYTES", offsetof(struct asm_limits, meta_bytes),
		  ASM_DEF_META_BYTES },
	};

	for (size_t i = 0; i < SC_ARRAY_SIZE(vars); i++) {
		uint64_t *v = (uint64_t *)(void *)((char *)ret + vars[i].off);
		const char *e = getenv(vars[i].name);
		*v = vars[i].def;
		if (e && *e && asm_parse_size(e, v) < 0) {
			*ret_bad = vars[i].name;
			return -SC_ECONFIG;
		}
	}
	return 0;
}

int assemble_limits(uint64_t *ret_gem_bytes, uint64_t *ret_file_bytes, uint64_t *ret_entries,
		    const char **ret_bad)
{
	struct asm_limits lim;
	int r = asm_limits_load(&lim, ret_bad);

	*ret_gem_bytes = lim.gem_bytes;
	*ret_file_bytes = lim.file_bytes;
	*ret_entries = lim.entries;
	return r;
}

/* A size for messages: "512 MiB" when it is a whole number of MiB. */
static const char *asm_size_str(struct assemble_job *a, uint64_t n)
{
	if (n >= (1u << 20) && n % (1u << 20) == 0)
		return arena_printf(&a->in->arena, "%" PRIu64 " MiB", n >> 20);
	return arena_printf(&a->in->arena, "%" PRIu64 " bytes", n);
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
	if (g->remote_artifact.len) {
		/* A verified artifact of the remote cache: checked and unpacked in its place. */
		struct sbuf why = SBUF_INIT;
		r = remote_unpack(in, g, &why);
		if (r < 0)
			remote_warn(in, "the remote cache's artifact of %s is refused (%s); %s",
				    g->full_name, sbuf_cstr(&why),
				    in->opts.remote_pull
					    ? "not built (scint cache pull builds nothing)"
					    : "building it here");
		sbuf_release(&why);
		if (r == 0) {
			install_event(in, g, "remote");
			asm_enter(a, ASM_DONE);
			return;
		}
	}
	asm_enter(a, ASM_LOAD);
}

static const char *asm_pkg_name(struct assemble_job *a)
{
	return arena_printf(&a->in->arena, "%s.gem", a->gem->full_name);
}

/*
 * The package comes from fetch's memory, or from inbound/gems/, read in
 * ASM_PKG_BLOCK blocks by the outer archive (asm_pkg_read) and hashed on
 * the way: a package of any size costs one block of memory.
 */
static void asm_load(struct assemble_job *a)
{
	struct install *in = a->in;
	struct gem *g = a->gem;

	if (g->pkg.len == 0) {
		const char *name = asm_pkg_name(a);
		a->pkg_fd = openat(in->inbound_fd, name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
		if (a->pkg_fd < 0) {
			int r = -errno;
			asm_fail(a, r, "cannot read the package of %s: %s", g->full_name,
				 sc_strerror(r));
			return;
		}
		a->pkg_block = sc_xmalloc(ASM_PKG_BLOCK);
		digest_init(&a->d_pkg, DIGEST_SHA256);
	}
	install_event(in, g, "install");
	asm_enter(a, ASM_PREPARE);
}

static la_ssize_t asm_pkg_read(struct archive *ar, void *data, const void **buf)
{
	struct assemble_job *a = data;
	ssize_t k;

	do
		k = read(a->pkg_fd, a->pkg_block, ASM_PKG_BLOCK);
	while (k < 0 && errno == EINTR);
	if (k < 0) {
		la.set_error(ar, errno, "cannot read the package: %s", sc_strerror(-errno));
		return -1;
	}
	digest_update(&a->d_pkg, a->pkg_block, (size_t)k);
	*buf = a->pkg_block;
	return k;
}

/*
 * At the end of the outer tar: hashes what libarchive did not read (end
 * blocks) and compares the package with the checksum fetch verified. A
 * damaged inbound file is removed so that the next run fetches it again.
 */
static int asm_pkg_verify(struct assemble_job *a)
{
	struct gem *g = a->gem;
	ssize_t k;

	if (a->pkg_fd < 0)
		return 0;
	while ((k = read(a->pkg_fd, a->pkg_block, ASM_PKG_BLOCK)) > 0 ||
	       (k < 0 && errno == EINTR))
		if (k > 0)
			digest_update(&a->d_pkg, a->pkg_block, (size_t)k);
	if (k < 0) {
		int r = -errno;
		asm_fail(a, r, "cannot read the package of %s: %s", g->full_name, sc_strerror(r));
		return r;
	}
	digest_final_hex(&a->d_pkg, g->pkg_sha256);
	if (g->checksum && strcmp(g->checksum, g->pkg_sha256)) {
		(void)unlinkat(a->in->inbound_fd, asm_pkg_name(a), 0);
		asm_fail(a, -SC_ECHECKSUM,
			 "checksum mismatch for the cached package of %s: it was removed; "
			 "run scint install again to download it",
			 g->full_name);
		return -SC_ECHECKSUM;
	}
	return 0;
}

static void asm_prepare(struct assemble_job *a)
{
	struct install *in = a->in;
	const char *bad = NULL;
	char path[600];
	int r;

	r = asm_limits_load(&a->lim, &bad);
	if (r < 0) {
		asm_fail(a, r, "cannot unpack %s: %s=%s is not a size (a number, K, M or G)",
			 a->gem->full_name, bad, getenv(bad));
		return;
	}
	sbuf_init(&a->metadata_gz, (size_t)SC_MIN(a->lim.meta_bytes, (uint64_t)SIZE_MAX / 2));
	sbuf_init(&a->checksums_gz, (size_t)SC_MIN(a->lim.meta_bytes, (uint64_t)SIZE_MAX / 2));
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
	a->writes = sc_xcalloc(ASM_WRITES_MAX, sizeof(*a->writes));
	for (int i = ASM_WRITES_MAX - 1; i >= 0; i--) {
		a->writes[i].next_free = a->free_writes;
		a->free_writes = &a->writes[i];
	}
	a->cur = sc_xmalloc(sizeof(*a->cur));
	*a->cur = (struct asm_entry){ .fd = -1 };
	a->dirq = sc_xmalloc(ASM_DEPTH_MAX * sizeof(*a->dirq));
	a->root_node = arena_alloc(&in->arena, sizeof(*a->root_node));
	a->root_node->type = MF_DIR;
	a->root_node->mode = 0755;
	a->root_node->op_path = arena_printf(&in->arena, "%s/gem", a->root);
	a->root_node->rel = "";
	hmap_put(&a->nodes, STRV_LIT(""), a->root_node);
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
	if (a->pkg_fd >= 0)
		r = la.read_open(a->outer, a, NULL, asm_pkg_read, NULL);
	else
		r = la.read_open_memory(a->outer, a->gem->pkg.buf, a->gem->pkg.len);
	if (r != ARCHIVE_OK) {
		asm_fail(a, -SC_EGEMFORMAT, "%s is not a valid gem package: %s", a->gem->full_name,
			 la.error_string(a->outer));
		return;
	}
	asm_enter(a, ASM_UNPACK);
}

/* ---- the model ---- */

/* A symlink whose target, resolved through the gem's other links, is unsafe. */
static void asm_bad_link(struct assemble_job *a, const char *path, const char *target,
			 const char *why)
{
	const char *t = asm_quote(a, target, strlen(target));

	if (!strcmp(why, "symlink points outside the gem"))
		asm_unsafe(a, "'%s': symlink to '%s' points outside the gem through another symlink",
			   path, t);
	else
		asm_unsafe(a, "'%s': symlink to '%s': %s", path, t, why);
}

static struct asm_node *asm_node_get(struct assemble_job *a, const char *rel, size_t len)
{
	return hmap_get(&a->nodes, strv_make(rel, len));
}

/*
 * After a resolution: fails the job (true) once the gem's links have taken
 * more than their budget of lookups.
 */
static bool asm_link_work_over(struct assemble_job *a)
{
	if (a->link_work / ASM_LINK_WORK_PER_ENTRY <= a->lim.entries)
		return false;
	asm_fail(a, -SC_ETOOBIG,
		 "cannot unpack %s: its symlinks take more than %" PRIu64 " bytes of lookups to "
		 "resolve (%d per allowed entry; SCINT_GEM_MAX_ENTRIES raises it)",
		 a->gem->full_name, a->lim.entries * ASM_LINK_WORK_PER_ENTRY,
		 ASM_LINK_WORK_PER_ENTRY);
	return true;
}

/* gempath_link_fn over the model. */
static const char *asm_link_of(const char *path, size_t len, void *data)
{
	struct assemble_job *a = data;

	if (a->nlinks == 0)
		return NULL; /* most gems: resolution is lexical, no lookups */
	a->link_work += len;
	struct asm_node *n = asm_node_get(a, path, len);

	return n && n->type == MF_SYMLINK ? n->target : NULL;
}

static struct asm_node *asm_node_new(struct assemble_job *a, struct asm_node *parent,
				     enum mf_type type, const char *rel)
{
	struct asm_node *n = arena_alloc(&a->in->arena, sizeof(*n));

	n->type = type;
	n->op_path = arena_printf(&a->in->arena, "%s/gem/%s", a->root, rel);
	n->rel = n->op_path + strlen(a->root) + 5;
	n->parent = parent;
	n->next = parent->first;
	if (n->next)
		n->next->prev = n;
	parent->first = n;
	hmap_put(&a->nodes, strv_from(n->rel), n);
	return n;
}

/* The next node of a preorder walk below root (NULL at the end). */
static struct asm_node *asm_node_walk(struct asm_node *root, struct asm_node *n)
{
	if (n->first)
		return n->first;
	while (n != root) {
		if (n->next)
			return n->next;
		n = n->parent;
	}
	return NULL;
}

/* Takes n and everything below it out of the model. */
static void asm_node_remove(struct assemble_job *a, struct asm_node *n)
{
	if (n->prev)
		n->prev->next = n->next;
	else
		n->parent->first = n->next;
	if (n->next)
		n->next->prev = n->prev;
	hmap_put(&a->nodes, strv_from(n->rel), NULL);
	a->nlinks -= n->type == MF_SYMLINK;
	for (struct asm_node *c = n->first ? asm_node_walk(n, n) : NULL; c; c = asm_node_walk(n, c)) {
		hmap_put(&a->nodes, strv_from(c->rel), NULL);
		a->nlinks -= c->type == MF_SYMLINK;
	}
	n->next = n->prev = NULL;
}

/* The modes the tree gets (see the top of the file). */
static mode_t asm_file_mode(mode_t entry)
{
	return (entry & 0755) | 0400;
}

static mode_t asm_dir_mode(mode_t entry)
{
	return (entry & 0755) | 0700;
}

/* ---- writes ---- */

static void asm_write_done(struct ioq_op *op)
{
	struct asm_write *w = container_of(op, struct asm_write, op);
	struct assemble_job *a = w->a;

	/* Only job- or run-lifetime memory is kept: w->buf is freed right below. */
	if (op->res < 0 && !a->io_err) {
		a->io_err = op->res;
		a->io_err_path = w->what;
	}
	if (w->node) {
		/* A directory is there (or failed: what waits for it fails the same way). */
		w->node->mk = NULL;
		w->node = NULL;
	}
	if (w->park_head) {
		/* What waited for this directory goes in now, as one chain, in order. */
		struct ioq_op *tail = NULL;
		for (struct asm_write *p = w->park_head, *nx; p; p = nx) {
			nx = p->park_next;
			p->park_next = NULL;
			p->park_root = NULL;
			if (!tail || !ioq_submit_after(a->in->ioq, tail, &p->op))
				ioq_submit(a->in->ioq, &p->op);
			tail = &p->op;
		}
		w->park_head = w->park_tail = NULL;
	}
	free(w->buf);
	w->buf = NULL;
	a->writes_inflight--;
	a->bytes_inflight -= w->len;
	w->next_free = a->free_writes;
	a->free_writes = w;
	job_wake(&a->job);
}

/* A free write slot, or NULL when the window is full. */
static struct asm_write *asm_write_get(struct assemble_job *a, const char *what, char *buf,
				       size_t len)
{
	struct asm_write *w = a->free_writes;

	SC_ASSERT(w);
	a->free_writes = w->next_free;
	a->writes_inflight++;
	a->bytes_inflight += len;
	w->a = a;
	w->buf = buf;
	w->len = len;
	w->what = what;
	w->node = NULL;
	w->park_root = w->park_head = w->park_tail = w->park_next = NULL;
	w->op.done = asm_write_done;
	w->op.data = a;
	w->op.ctx = &a->job.ctx;
	return w;
}

static bool asm_window_full(const struct assemble_job *a)
{
	return !a->free_writes || a->bytes_inflight >= ASM_BYTES_MAX;
}

/*
 * Where the ops of an entry whose directory is dir go. Nothing is ever
 * waited for here; a directory created by this job may still be on its way:
 *   - done (no mkdirat pending): a fresh chain (or a lone op);
 *   - its mkdirat is still queued (not in the kernel yet): behind the last
 *     op of that chain, so the kernel creates the directory first;
 *   - its mkdirat is in the kernel: parked on it (or on the mkdirat the
 *     directory's own mkdirat is parked on) and queued, in order, when it
 *     completes (asm_write_done).
 * The tar reader goes on with the next entry in every case.
 */
static struct asm_cursor asm_cursor_for(struct asm_node *dir)
{
	struct asm_write *mk = dir->mk;
	struct asm_cursor cur = { 0 };

	if (!mk)
		return cur;
	if (mk->park_root) {
		cur.root = mk->park_root;
		return cur;
	}
	cur.tail = ioq_chain_tail(&mk->op);
	if (!cur.tail)
		cur.root = mk;
	return cur;
}

static void asm_queue(struct assemble_job *a, struct asm_cursor *cur, struct asm_write *w)
{
	if (cur->root) {
		w->park_root = cur->root;
		if (cur->root->park_tail)
			cur->root->park_tail->park_next = w;
		else
			cur->root->park_head = w;
		cur->root->park_tail = w;
		return;
	}
	if (!cur->tail || !ioq_submit_after(a->in->ioq, cur->tail, &w->op))
		ioq_submit(a->in->ioq, &w->op);
	cur->tail = &w->op;
}

static unsigned asm_free_writes(const struct assemble_job *a)
{
	return ASM_WRITES_MAX - a->writes_inflight;
}

/* Fails the job when a write failed. Returns true if it did. */
static bool asm_check_io(struct assemble_job *a)
{
	if (!a->io_err)
		return false;
	asm_fail(a, a->io_err, "cannot write %s while unpacking %s: %s", a->io_err_path,
		 a->gem->full_name, sc_strerror(a->io_err));
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

/* Reads an outer entry into out (bounded by out's max: -SC_ETOOBIG). */
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

/* Reads the next outer entry. Returns 1 to continue, 0 at the end, <0 failed (reported). */
static int asm_outer_next(struct assemble_job *a)
{
	const char *full_name = a->gem->full_name;
	struct archive_entry *e;
	int r = la.read_next_header(a->outer, &e);

	if (r == ARCHIVE_EOF)
		return asm_pkg_verify(a) < 0 ? -1 : 0;
	if (r != ARCHIVE_OK && r != ARCHIVE_WARN)
		goto out_format;
	const char *name = la.entry_pathname(e);
	if (!name)
		return 1;
	if (!strcmp(name, "metadata.gz")) {
		if (a->have_meta)
			goto out_twice;
		digest_init(&a->d_meta, DIGEST_SHA256);
		r = asm_read_small(a->outer, &a->metadata_gz, &a->d_meta);
		digest_final_hex(&a->d_meta, a->sha_meta);
		a->have_meta = r == 0;
		if (r == -SC_ETOOBIG)
			goto out_meta_big;
		if (r < 0)
			goto out_format;
		return 1;
	}
	if (!strcmp(name, "checksums.yaml.gz")) {
		if (a->checksums_gz.len)
			goto out_twice;
		r = asm_read_small(a->outer, &a->checksums_gz, NULL);
		if (r == -SC_ETOOBIG)
			goto out_meta_big;
		if (r < 0)
			goto out_format;
		return 1;
	}
	if (!strcmp(name, "data.tar.gz")) {
		if (a->have_data)
			goto out_twice;
		if (asm_open_inner(a) < 0)
			goto out_format;
		return 1;
	}
	return 1; /* signatures and anything else: not installed */

out_meta_big:
	asm_fail(a, -SC_ETOOBIG,
		 "cannot unpack %s: %s is larger than %s (the limit; "
		 "SCINT_GEM_MAX_METADATA_BYTES raises it)",
		 full_name, name, asm_size_str(a, a->lim.meta_bytes));
	return -1;
out_twice:
	asm_fail(a, -SC_EGEMFORMAT, "%s is not a valid gem package: %s is in it twice", full_name,
		 name);
	return -1;
out_format:
	asm_fail(a, -SC_EGEMFORMAT, "%s is not a valid gem package: %s", full_name,
		 la.error_string(a->outer) ? la.error_string(a->outer) : "bad tar header");
	return -1;
}

/*
 * Reads the next inner header into a->cur, checking its name and sizes.
 * Returns 1 (an entry to place), 0 (end of data.tar.gz), -1 (failed, reported).
 */
static int asm_inner_header(struct assemble_job *a)
{
	const char *full_name = a->gem->full_name;
	struct asm_entry *c = a->cur;
	struct archive_entry *e;
	const char *why;

	for (;;) {
		int r = la.read_next_header(a->inner, &e);
		if (r == ARCHIVE_EOF)
			return 0;
		if (r != ARCHIVE_OK && r != ARCHIVE_WARN) {
			bool eio = r == ARCHIVE_FATAL && la.errnum(a->inner) == EIO;
			asm_fail(a, eio ? -SC_ETRUNCATED : -SC_EGEMFORMAT, "cannot unpack %s: %s",
				 full_name,
				 la.error_string(a->inner) ? la.error_string(a->inner)
							   : "bad tar header in data.tar.gz");
			return -1;
		}
		if (++a->nentries > a->lim.entries) {
			asm_fail(a, -SC_ETOOBIG,
				 "cannot unpack %s: data.tar.gz has more than %" PRIu64
				 " entries (the limit; SCINT_GEM_MAX_ENTRIES raises it)",
				 full_name, a->lim.entries);
			return -1;
		}
		const char *raw = la.entry_pathname(e);
		size_t rawlen = raw ? strlen(raw) : 0;
		if (gempath_clean(raw, rawlen, c->name, sizeof(c->name), &why) < 0) {
			asm_unsafe(a, "'%s': %s", asm_quote(a, raw ? raw : "", rawlen), why);
			return -1;
		}
		/* Every entry's data is inflated, even one that creates nothing. */
		la_int64_t size = la.entry_size(e);
		if (size < 0) {
			asm_fail(a, -SC_EGEMFORMAT, "cannot unpack %s: '%s' has a negative size",
				 full_name, c->name);
			return -1;
		}
		if ((uint64_t)size > a->lim.file_bytes) {
			asm_fail(a, -SC_ETOOBIG,
				 "cannot unpack %s: '%s' is %" PRIu64 " bytes, more than %s (the "
				 "limit per file; SCINT_GEM_MAX_FILE_BYTES raises it)",
				 full_name, c->name, (uint64_t)size,
				 asm_size_str(a, a->lim.file_bytes));
			return -1;
		}
		if ((uint64_t)size > a->lim.gem_bytes - a->unpacked_bytes) {
			asm_fail(a, -SC_ETOOBIG,
				 "cannot unpack %s: it unpacks to more than %s (the limit per gem; "
				 "SCINT_GEM_MAX_BYTES raises it)",
				 full_name, asm_size_str(a, a->lim.gem_bytes));
			return -1;
		}
		a->unpacked_bytes += (uint64_t)size;
		if (!c->name[0])
			continue; /* the root itself */
		if (la.entry_hardlink(e))
			continue; /* RubyGems' extractor creates nothing for hard links; neither do we. */
		mode_t type = la.entry_filetype(e);
		c->mode = la.entry_perm(e);
		c->size = 0;
		c->target = NULL;
		c->node = NULL;
		switch (type) {
		case AE_IFDIR:
			c->type = MF_DIR;
			return 1;
		case AE_IFLNK: {
			const char *t = la.entry_symlink(e);
			size_t tlen = t ? strlen(t) : 0;
			if (!gempath_link_inside(c->name, t, tlen, &why)) {
				if (!strcmp(why, "symlink points outside the gem") ||
				    !strcmp(why, "absolute symlink target"))
					asm_unsafe(a, "'%s': symlink to '%s' points outside the gem",
						   c->name, asm_quote(a, t, tlen));
				else
					asm_unsafe(a, "'%s': %s", c->name, why);
				return -1;
			}
			c->type = MF_SYMLINK;
			c->target = arena_strdup(&a->in->arena, t);
			return 1;
		}
		case AE_IFREG:
			c->type = MF_FILE;
			c->size = (uint64_t)size;
			return 1;
		default:
			asm_unsafe(a, "'%s': %s entries are not allowed", c->name,
				   type == AE_IFIFO    ? "fifo"
				   : type == AE_IFCHR  ? "character device"
				   : type == AE_IFBLK  ? "block device"
				   : type == AE_IFSOCK ? "socket"
						       : "special");
			return -1;
		}
	}
}

/* ---- placing an entry ---- */

/*
 * The deepest node of the model among the prefixes of path[0..len) that
 * end at a '/' or at len (the root when none exists); *ret_len gets its
 * length. Every ancestor of a node is a directory, so one lookup settles
 * the common case, and each further lookup stands for a directory the
 * caller then creates: the work per entry stays linear in the budget.
 */
static struct asm_node *asm_deepest(struct assemble_job *a, const char *path, size_t len,
				    size_t *ret_len)
{
	size_t i = len;

	while (i > 0) {
		struct asm_node *d = asm_node_get(a, path, i);
		if (d) {
			*ret_len = i;
			return d;
		}
		while (i > 0 && path[i - 1] != '/')
			i--;
		if (i > 0)
			i--;
	}
	*ret_len = 0;
	return a->root_node;
}

/*
 * Every node (explicit entries and the directories they imply) counts
 * against SCINT_GEM_MAX_ENTRIES, and their paths against 256 bytes per
 * allowed entry: a few deep names cannot make the model, or the tree,
 * grow without bound.
 */
static int asm_node_budget(struct assemble_job *a, size_t path_len)
{
	if (++a->nnodes > a->lim.entries) {
		asm_fail(a, -SC_ETOOBIG,
			 "cannot unpack %s: its tree has more than %" PRIu64 " files, directories and "
			 "symlinks (the limit; SCINT_GEM_MAX_ENTRIES raises it)",
			 a->gem->full_name, a->lim.entries);
		return -1;
	}
	a->path_bytes += path_len;
	if (a->path_bytes / 256 > a->lim.entries) {
		asm_fail(a, -SC_ETOOBIG,
			 "cannot unpack %s: the paths of its tree add up to more than %" PRIu64
			 " bytes (256 per allowed entry; SCINT_GEM_MAX_ENTRIES raises it)",
			 a->gem->full_name, a->lim.entries * 256);
		return -1;
	}
	return 0;
}

static bool asm_emit(struct assemble_job *a, struct asm_cursor *cur);
static bool asm_make_dirs(struct assemble_job *a);

/* A directory entry over an existing directory: the later mode. Returns true if failed. */
static bool asm_dir_chmod(struct assemble_job *a)
{
	struct asm_node *d = a->cur->node;
	mode_t mode = asm_dir_mode(a->cur->mode);

	/*
	 * On a descriptor, not by path: the op path holds no link when it is
	 * computed, and a link swapped in for any of its components since then
	 * must not redirect the chmod outside the tree.
	 */
	int fd = fs_open_dir_beneath(a->in->assembling_fd, d->op_path);
	int r = fd < 0 ? fd : fchmod(fd, mode) < 0 ? -errno : 0;
	if (fd >= 0)
		(void)close(fd);
	if (r < 0) {
		asm_fail(a, r, "cannot change the mode of %s while unpacking %s: %s", d->op_path,
			 a->gem->full_name, sc_strerror(r));
		return true;
	}
	d->mode = mode;
	return false;
}

/* Leaves the waiting states once the entry is placed. */
static void asm_entry_done(struct assemble_job *a)
{
	if (a->state != ASM_UNPACK)
		asm_enter(a, ASM_UNPACK);
}

/*
 * Finds where the entry really goes: its directory resolved through the
 * gem's own symlinks (the op paths then hold no link), every existing
 * component a directory. Then replaces what the path holds, if anything.
 * Returns true when the job waits (or failed).
 */
static bool asm_place(struct assemble_job *a)
{
	struct asm_entry *c = a->cur;
	char *slash = strrchr(c->name, '/');
	const char *why;
	int n = 0;

	if (slash) {
		*slash = '\0';
		n = gempath_resolve("", c->name, asm_link_of, a, c->path, GEMPATH_MAX + 1, &why);
		*slash = '/';
		if (asm_link_work_over(a))
			return true;
		if (n < 0) {
			if (!strcmp(why, "symlink points outside the gem"))
				asm_unsafe(a, "'%s' leads outside the gem through a symlink",
					   c->name);
			else
				asm_unsafe(a, "'%s': %s", c->name, why);
			return true;
		}
		/* Resolved, the directory holds no link: it is a file or it is fine. */
		size_t dlen;
		struct asm_node *d = asm_deepest(a, c->path, (size_t)n, &dlen);
		if (d->type != MF_DIR) {
			asm_fail(a, -SC_EGEMFORMAT,
				 "cannot unpack %s: '%s': '%.*s' is a file, not a directory",
				 a->gem->full_name, c->name, (int)dlen, c->path);
			return true;
		}
		size_t blen = strlen(slash);
		if ((size_t)n + blen > GEMPATH_MAX) {
			asm_unsafe(a, "'%s': path longer than %d bytes through its symlinks",
				   c->name, GEMPATH_MAX);
			return true;
		}
		if (n == 0)
			memcpy(c->path, slash + 1, blen);
		else
			memcpy(c->path + n, slash, blen + 1);
	} else {
		memcpy(c->path, c->name, strlen(c->name) + 1);
	}
	struct asm_node *old = asm_node_get(a, c->path, strlen(c->path));
	if (old && !(old->type == MF_DIR && c->type == MF_DIR)) {
		if (a->writes_inflight) {
			asm_enter(a, ASM_REPLACE);
			return true;
		}
		struct asm_node *o = old;
		int r = o->type == MF_DIR ? fs_rmtree_at(a->in->assembling_fd, o->op_path)
					  : (unlinkat(a->in->assembling_fd, o->op_path, 0) < 0 ? -errno : 0);
		if (r < 0) {
			asm_fail(a, r, "cannot replace %s while unpacking %s: %s", o->op_path,
				 a->gem->full_name, sc_strerror(r));
			return true;
		}
		asm_node_remove(a, o);
	}
	return asm_make_dirs(a);
}

/* ASM_REPLACE: the entry waits for every op before its path is cleared. */
static void asm_replace(struct assemble_job *a)
{
	if (a->writes_inflight)
		return;
	if (asm_check_io(a))
		return;
	if (!asm_place(a))
		asm_entry_done(a);
}

/*
 * Queues the missing directories of the entry (in the model too), then its
 * own op, without waiting for any of them (see asm_cursor_for). Waits
 * (ASM_DIRS) only for write slots, or for a directory still on its way
 * when the entry changes its mode or is a large file (ASM_STREAM writes
 * through a plain fd). Returns true if waiting (or failed).
 */
static bool asm_make_dirs(struct assemble_job *a)
{
	struct asm_entry *c = a->cur;
	size_t n = strlen(c->path), end = n, i;

	if (c->type != MF_DIR) {
		const char *slash = strrchr(c->path, '/');
		end = slash ? (size_t)(slash - c->path) : 0;
	}
	size_t depth = end > 0;
	for (i = 0; i < end; i++)
		depth += c->path[i] == '/';
	if (depth > ASM_TREE_DEPTH_MAX) {
		asm_fail(a, -SC_ETOOBIG, "cannot unpack %s: '%s' is more than %d directories deep",
			 a->gem->full_name, c->name, ASM_TREE_DEPTH_MAX);
		return true;
	}
	struct asm_node *parent = asm_deepest(a, c->path, end, &i);
	SC_ASSERT(parent->type == MF_DIR);
	/* A slot for every op of the entry first: nothing is created until they are free. */
	size_t missing = i < end && i == 0;
	for (size_t k = i; k < end; k++)
		missing += c->path[k] == '/';
	if (missing + 1 > asm_free_writes(a)) {
		a->need_slots = (unsigned)missing + 1;
		a->wait_slots = true;
		asm_enter(a, ASM_DIRS);
		return true;
	}
	struct asm_cursor cur = asm_cursor_for(parent);
	a->ndirq = 0;
	while (i < end) {
		size_t start = i ? i + 1 : 0;
		for (i = start; i < end && c->path[i] != '/'; i++)
			;
		if (asm_node_budget(a, i) < 0)
			return true;
		char saved = c->path[i];
		c->path[i] = '\0';
		struct asm_node *d = asm_node_new(a, parent, MF_DIR, c->path);
		c->path[i] = saved;
		d->mode = 0755;
		SC_ASSERT(a->ndirq < ASM_DEPTH_MAX);
		a->dirq[a->ndirq++] = d;
		parent = d;
	}
	c->node = parent; /* files and links: the directory; asm_emit adds the entry below it */
	if (c->type == MF_DIR) {
		mode_t mode = asm_dir_mode(c->mode);
		if (a->ndirq && a->dirq[a->ndirq - 1] == parent) {
			parent->mode = mode;
		} else if (parent->mode != mode) {
			/* A directory entry over a directory: it keeps its contents, takes the mode. */
			if (parent->mk) {
				a->wait_slots = false;
				asm_enter(a, ASM_DIRS);
				return true;
			}
			return asm_dir_chmod(a);
		}
	}
	for (size_t k = 0; k < a->ndirq; k++) {
		struct asm_node *d = a->dirq[k];
		struct asm_write *w = asm_write_get(a, d->op_path, NULL, 0);
		ioq_prep_mkdirat(&w->op, a->in->assembling_fd, d->op_path, d->mode);
		w->node = d;
		d->mk = w;
		asm_queue(a, &cur, w);
	}
	return asm_emit(a, &cur);
}

/* ASM_DIRS: write slots have come back, or the entry's directory is there. */
static void asm_dirs(struct assemble_job *a)
{
	struct asm_entry *c = a->cur;

	if (asm_check_io(a))
		return;
	if (a->wait_slots) {
		if (asm_free_writes(a) < a->need_slots)
			return;
		a->wait_slots = false;
		if (!asm_make_dirs(a))
			asm_entry_done(a);
		return;
	}
	if (c->node->mk)
		return;
	struct asm_cursor none = { 0 };
	if (c->type == MF_DIR ? !asm_dir_chmod(a) : !asm_emit(a, &none))
		asm_entry_done(a);
}

/* Reads a small file's data into a buffer that grows as the data arrives. */
static int asm_read_file(struct assemble_job *a, char **ret_buf)
{
	struct asm_entry *c = a->cur;
	size_t size = (size_t)c->size, cap = 0, got = 0;
	char *buf = NULL;

	while (got < size) {
		if (got == cap) {
			cap = cap ? SC_MIN(cap * 2, size) : SC_MIN(size, (size_t)64 << 10);
			buf = sc_xrealloc(buf, cap);
		}
		la_ssize_t k = la.read_data(a->inner, buf + got, cap - got);
		if (k < 0) {
			free(buf);
			asm_fail(a, -SC_ETRUNCATED, "cannot unpack %s: '%s': %s", a->gem->full_name,
				 c->name, la.error_string(a->inner));
			return -1;
		}
		if (k == 0)
			break;
		got += (size_t)k;
	}
	if (got != size) {
		free(buf);
		asm_fail(a, -SC_ETRUNCATED, "cannot unpack %s: '%s' ends early", a->gem->full_name,
			 c->name);
		return -1;
	}
	*ret_buf = buf;
	return 0;
}

static void asm_open_done(struct ioq_op *op)
{
	struct assemble_job *a = op->data;

	if (op->res >= 0)
		a->cur->fd = op->res;
	job_wake(&a->job);
}

/*
 * Issues the op of the entry (cur: see asm_cursor_for). Returns true if
 * waiting (or failed).
 */
static bool asm_emit(struct assemble_job *a, struct asm_cursor *cur)
{
	struct install *in = a->in;
	struct asm_entry *c = a->cur;
	struct asm_node *parent = c->node, *n;
	struct asm_write *w;
	const char *why;
	char resolved[GEMPATH_MAX + 1];

	switch (c->type) {
	case MF_DIR:
		return false; /* created (or re-moded) by asm_make_dirs */
	case MF_SYMLINK: {
		int r = gempath_resolve(parent->rel, c->target, asm_link_of, a, resolved,
					sizeof(resolved), &why);
		if (asm_link_work_over(a))
			return true;
		if (r < 0) {
			asm_bad_link(a, c->name, c->target, why);
			return true;
		}
		if (asm_node_budget(a, strlen(c->path)) < 0)
			return true;
		n = asm_node_new(a, parent, MF_SYMLINK, c->path);
		n->target = c->target;
		a->nlinks++;
		w = asm_write_get(a, n->op_path, NULL, 0);
		ioq_prep_symlinkat(&w->op, n->target, in->assembling_fd, n->op_path);
		asm_queue(a, cur, w);
		return false;
	}
	case MF_FILE:
		break;
	}
	if (c->size > ASM_CHUNK && parent->mk) {
		/* Streamed through a plain fd: its directory must be there first. */
		a->wait_slots = false;
		asm_enter(a, ASM_DIRS);
		return true;
	}
	if (asm_node_budget(a, strlen(c->path)) < 0)
		return true;
	n = asm_node_new(a, parent, MF_FILE, c->path);
	n->mode = asm_file_mode(c->mode);
	n->size = c->size;
	c->node = n;
	if (c->size <= ASM_CHUNK) {
		char *buf = NULL, hex[DIGEST_SHA256_HEX];
		if (asm_read_file(a, &buf) < 0)
			return true;
		sha256_hex(buf ? buf : "", (size_t)c->size, hex);
		n->sha256 = arena_strdup(&in->arena, hex);
		w = asm_write_get(a, n->op_path, buf, (size_t)c->size);
		ioq_prep_write_file(&w->op, in->assembling_fd, n->op_path, n->mode, buf,
				    (size_t)c->size);
		asm_queue(a, cur, w);
		return false;
	}
	c->fd = -1;
	c->off = 0;
	digest_init(&c->d, DIGEST_SHA256);
	ioq_prep_openat(&a->open_op, in->assembling_fd, n->op_path,
			O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, n->mode);
	a->open_op.done = asm_open_done;
	a->open_op.data = a;
	a->open_op.ctx = &a->job.ctx;
	ioq_submit(in->ioq, &a->open_op);
	asm_enter(a, ASM_STREAM);
	return true;
}

/* ASM_STREAM: a large file, ASM_CHUNK bytes per WRITE op, within the window. */
static void asm_stream(struct assemble_job *a)
{
	struct asm_entry *c = a->cur;
	struct asm_node *n = c->node;

	if (a->open_op.in_flight)
		return;
	if (a->open_op.res < 0) {
		asm_fail(a, a->open_op.res, "cannot write %s while unpacking %s: %s", n->op_path,
			 a->gem->full_name, sc_strerror(a->open_op.res));
		return;
	}
	if (asm_check_io(a))
		return;
	while (c->off < c->size && !asm_window_full(a)) {
		size_t want = (size_t)SC_MIN((uint64_t)ASM_CHUNK, c->size - c->off), got = 0;
		char *buf = sc_xmalloc(want);
		while (got < want) {
			la_ssize_t k = la.read_data(a->inner, buf + got, want - got);
			if (k < 0) {
				free(buf);
				asm_fail(a, -SC_ETRUNCATED, "cannot unpack %s: '%s': %s",
					 a->gem->full_name, c->name, la.error_string(a->inner));
				return;
			}
			if (k == 0)
				break;
			got += (size_t)k;
		}
		if (got < want) {
			free(buf);
			asm_fail(a, -SC_ETRUNCATED, "cannot unpack %s: '%s' ends early",
				 a->gem->full_name, c->name);
			return;
		}
		digest_update(&c->d, buf, got);
		struct asm_write *w = asm_write_get(a, n->op_path, buf, got);
		ioq_prep_write(&w->op, c->fd, buf, got, c->off);
		ioq_submit(a->in->ioq, &w->op);
		c->off += got;
	}
	if (c->off < c->size || a->writes_inflight)
		return; /* a write completion wakes us */
	int r = fs_fd_finish(c->fd, n->mode);
	c->fd = -1;
	if (r < 0) {
		asm_fail(a, r, "cannot write %s while unpacking %s: %s", n->op_path,
			 a->gem->full_name, sc_strerror(r));
		return;
	}
	char hex[DIGEST_SHA256_HEX];
	digest_final_hex(&c->d, hex);
	n->sha256 = arena_strdup(&a->in->arena, hex);
	asm_enter(a, ASM_UNPACK);
}

static void asm_unpack(struct assemble_job *a)
{
	uint64_t spent = 0;

	if (asm_check_io(a))
		return;
	while (spent < ASM_STEP_BYTES) {
		if (asm_window_full(a))
			return; /* a write completion wakes us */
		if (!a->inner) {
			int r = asm_outer_next(a);
			if (r == 0)
				asm_enter(a, ASM_DRAIN);
			if (r <= 0)
				return;
			spent += ASM_ENTRY_COST;
			continue;
		}
		int r = asm_inner_header(a);
		if (r == 0) {
			asm_close_inner(a);
			continue;
		}
		if (r < 0)
			return;
		spent += ASM_ENTRY_COST + a->cur->size;
		if (asm_place(a))
			return;
	}
	job_wake(&a->job); /* slice used up: let others run, then continue */
}

/* ---- ASM_DRAIN ---- */

/*
 * Inflates a .gz held in memory into out (NULL: only counted), stopping at
 * max bytes. Returns 0, -SC_ETOOBIG or -SC_EGEMFORMAT.
 */
static int asm_gunzip(const struct sbuf *in, struct sbuf *out, uint64_t max)
{
	struct archive *ar = la.read_new();
	struct archive_entry *e;
	int r = -SC_EGEMFORMAT;

	la.read_support_filter_gzip(ar);
	la.read_support_format_raw(ar);
	if (la.read_open_memory(ar, in->buf, in->len) == ARCHIVE_OK &&
	    la.read_next_header(ar, &e) == ARCHIVE_OK) {
		char buf[16384];
		uint64_t total = 0;
		la_ssize_t k;
		r = 0;
		while ((k = la.read_data(ar, buf, sizeof(buf))) > 0) {
			total += (uint64_t)k;
			if (total > max || (out && sbuf_add(out, buf, (size_t)k) < 0)) {
				r = -SC_ETOOBIG;
				break;
			}
		}
		if (k < 0)
			r = -SC_EGEMFORMAT;
	}
	la.read_free(ar);
	return r;
}

/*
 * Every symlink again, now that the tree is complete (a later link can
 * change what an earlier target names); then the manifest: one row per
 * node of the model, so never a path twice.
 */
static int asm_build_manifest(struct assemble_job *a)
{
	struct install *in = a->in;
	struct asm_node *root = a->root_node;
	char resolved[GEMPATH_MAX + 1];
	const char *why;

	for (struct asm_node *n = asm_node_walk(root, root); n; n = asm_node_walk(root, n)) {
		if (n->type == MF_SYMLINK) {
			int r = gempath_resolve(n->parent->rel, n->target, asm_link_of, a, resolved,
						sizeof(resolved), &why);
			if (asm_link_work_over(a))
				return -1;
			if (r < 0) {
				asm_bad_link(a, n->rel, n->target, why);
				return -1;
			}
		}
		struct mf_entry *e = manifest_add(&in->arena, a->m, n->type,
						  n->op_path + strlen(a->root) + 1);
		e->mode = n->mode;
		if (n->type == MF_SYMLINK)
			e->target = n->target;
		if (n->type == MF_FILE) {
			e->size = n->size;
			e->sha256 = n->sha256;
			a->m->nfiles++;
			a->m->total_bytes += n->size;
			in->stats.files_unpacked++;
			in->stats.bytes_unpacked += n->size;
		}
	}
	manifest_sort(a->m);
	for (size_t i = 1; i < a->m->nentries; i++) {
		if (!strcmp(a->m->entries[i - 1].path, a->m->entries[i].path)) {
			/* Cannot happen (one node per path); never promote such a manifest. */
			asm_fail(a, -SC_EGEMFORMAT, "cannot unpack %s: '%s' is listed twice",
				 a->gem->full_name, a->m->entries[i].path);
			return -1;
		}
	}
	return 0;
}

static void asm_drain(struct assemble_job *a)
{
	const char *full_name = a->gem->full_name;
	struct sbuf yaml = SBUF_INIT;
	int r;

	if (a->writes_inflight)
		return;
	if (asm_check_io(a))
		return;
	if (!a->have_meta || !a->have_data) {
		asm_fail(a, -SC_EGEMFORMAT, "%s is not a valid gem package: %s", full_name,
			 a->have_meta ? "data.tar.gz is missing" : "metadata.gz is missing");
		return;
	}
	if (asm_build_manifest(a) < 0)
		return;
	/* Bounded here, before the C writer or the helper reads it. */
	sbuf_reset(&a->meta_yaml);
	r = asm_gunzip(&a->metadata_gz, &a->meta_yaml, a->lim.meta_bytes);
	if (r < 0) {
		if (r == -SC_ETOOBIG)
			asm_fail(a, r,
				 "cannot unpack %s: metadata.gz inflates to more than %s (the limit; "
				 "SCINT_GEM_MAX_METADATA_BYTES raises it)",
				 full_name, asm_size_str(a, a->lim.meta_bytes));
		else
			asm_fail(a, r, "%s has a corrupt metadata.gz", full_name);
		return;
	}
	if (a->checksums_gz.len) {
		struct strv want;
		r = asm_gunzip(&a->checksums_gz, &yaml, a->lim.meta_bytes);
		if (r < 0) {
			sbuf_release(&yaml);
			if (r == -SC_ETOOBIG)
				asm_fail(a, r,
					 "cannot unpack %s: checksums.yaml.gz inflates to more than %s "
					 "(the limit; SCINT_GEM_MAX_METADATA_BYTES raises it)",
					 full_name, asm_size_str(a, a->lim.meta_bytes));
			else
				asm_fail(a, -SC_EGEMFORMAT, "%s has a corrupt checksums.yaml.gz",
					 full_name);
			return;
		}
		const char *bad = NULL;
		if (gem_checksums_sha256(sbuf_strv(&yaml), "metadata.gz", &want) &&
		    !strv_eq_cstr(want, a->sha_meta))
			bad = "metadata.gz";
		if (gem_checksums_sha256(sbuf_strv(&yaml), "data.tar.gz", &want) &&
		    !strv_eq_cstr(want, a->sha_data))
			bad = "data.tar.gz";
		sbuf_release(&yaml);
		if (bad) {
			asm_fail(a, -SC_ECHECKSUM,
				 "checksum mismatch inside %s: %s does not match the package's "
				 "checksums.yaml.gz",
				 full_name, bad);
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

/* SCINT_SPEC_CHECK=1: both writers for every gem, their texts compared (a diagnostic). */
static bool asm_spec_check(void)
{
	static int on = -1;

	if (on < 0) {
		const char *e = getenv("SCINT_SPEC_CHECK");
		on = e && !strcmp(e, "1");
	}
	return on;
}

/*
 * The spec written in C into a->native_spec (bundle/gemspec.h). Returns
 * false when the writer declines; the trace says why, and the helper is
 * asked instead.
 */
static bool asm_spec_native(struct assemble_job *a)
{
	struct arena tmp;
	struct sbuf why = SBUF_INIT;
	int r;

	arena_init(&tmp);
	sbuf_reset(&a->native_spec);
	/*
	 * libarchive inflates every gzip member of metadata.gz; RubyGems reads
	 * the first only (Zlib::GzipReader#read). A member after the first
	 * starts with the gzip magic: with those bytes anywhere past the first
	 * header (by chance, inside deflate data, about once in 16 M bytes) the
	 * helper reads the metadata, as RubyGems would.
	 */
	if (a->metadata_gz.len > 3 &&
	    memmem(a->metadata_gz.buf + 3, a->metadata_gz.len - 3, "\x1f\x8b\x08", 3)) {
		sbuf_addstr(&why, "metadata.gz may hold a second gzip member");
		r = -SC_EUNSUPPORTED;
	} else
		r = gemspec_render(&tmp, sbuf_strv(&a->meta_yaml), a->in->abi.rubygems_version,
				   &a->native_spec, &why);
	arena_release(&tmp);
	a->native_ok = r == 0;
	if (r == 0)
		trace_event(&a->job.ctx, "spec", "native");
	else {
		char *d = arena_printf(&a->in->arena, "helper: %s",
				       r == -SC_EUNSUPPORTED ? sbuf_cstr(&why) : sc_strerror(r));
		trace_event(&a->job.ctx, "spec", d);
		sbuf_release(&a->native_spec);
	}
	sbuf_release(&why);
	return a->native_ok;
}

static void asm_spec_accept(struct assemble_job *a, struct sbuf *res, const char *source);

static void asm_spec(struct assemble_job *a)
{
	bool check = asm_spec_check();

	if (asm_spec_native(a)) {
		a->in->stats.specs_native++;
		if (!check) {
			sbuf_release(&a->meta_yaml);
			asm_spec_accept(a, &a->native_spec, "the spec written from its metadata");
			sbuf_release(&a->native_spec);
			return;
		}
	}
	sbuf_release(&a->meta_yaml);
	a->in->stats.specs_helper++;

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

/*
 * SCINT_SPEC_CHECK: the first line where the text written in C differs
 * from the helper's, or NULL when they are the same bytes.
 */
static char *asm_spec_diff(struct assemble_job *a, struct strv c, struct strv ruby)
{
	size_t i = 0, start = 0;
	unsigned line = 1;

	if (strv_eq(c, ruby))
		return NULL;
	while (i < c.len && i < ruby.len && c.p[i] == ruby.p[i]) {
		if (c.p[i++] == '\n') {
			start = i;
			line++;
		}
	}
	/* The differing line of each (up to its line break), shown with %.*s: NULs cut it short. */
	const char *ec = memchr(c.p + start, '\n', c.len - start);
	const char *er = memchr(ruby.p + start, '\n', ruby.len - start);
	size_t nc = ec ? (size_t)(ec - (c.p + start)) : c.len - start;
	size_t nr = er ? (size_t)(er - (ruby.p + start)) : ruby.len - start;
	return arena_printf(&a->in->arena, "line %u:\n  C:      %.*s\n  helper: %.*s", line,
			    (int)(nc > 500 ? 500 : nc), c.p + start, (int)(nr > 500 ? 500 : nr),
			    ruby.p + start);
}

/* Refused metadata (or a helper that died): the package is not kept, the next run fetches it. */
static void asm_drop_package(struct assemble_job *a)
{
	char *name = arena_printf(&a->in->arena, "%s.gem", a->gem->full_name);

	(void)unlinkat(a->in->inbound_fd, name, 0);
}

static void asm_spec_wait(struct assemble_job *a)
{
	struct gem *g = a->gem;

	if (!a->call_done)
		return;
	if (a->call.res < 0) {
		sbuf_rtrim(&a->call.result);
		asm_fail(a, a->call.res, "cannot read the spec of %s: %s", g->full_name,
			 a->call.result.buf);
		asm_drop_package(a);
		return;
	}
	if (a->native_ok) {
		char *diff = asm_spec_diff(a, sbuf_strv(&a->native_spec), sbuf_strv(&a->call.result));
		sbuf_release(&a->native_spec);
		if (diff) {
			asm_fail(a, -SC_ERUBY,
				 "SCINT_SPEC_CHECK: the spec of %s written in C differs from the "
				 "helper's, %s",
				 g->full_name, diff);
			return;
		}
	}
	asm_spec_accept(a, &a->call.result, "the helper's answer");
}

/* The spec text (summary, separator, gemspec), from C or the helper, checked and taken. */
static void asm_spec_accept(struct assemble_job *a, struct sbuf *res, const char *source)
{
	struct install *in = a->in;
	struct gem *g = a->gem;
	struct strv gemspec;

	if (gem_summary_parse(&in->arena, sbuf_strv(res), &a->m->spec, &gemspec) < 0) {
		asm_fail(a, -SC_ERUBY, "cannot read the spec of %s: %s is malformed", g->full_name,
			 source);
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
	if (g->needs_build && in->opts.remote_pull) {
		/* `scint cache pull` compiles nothing: no artifact, no entry. */
		(void)fs_rmtree_at(in->assembling_fd, a->root);
		g->manifest = NULL;
		g->unpacked = false;
		g->remote_unbuilt = true;
		cache_unlock_entry(in, g);
		trace_event(&a->job.ctx, "remote-unbuilt",
			    "not built: cache pull compiles nothing");
		asm_enter(a, ASM_DONE);
		return;
	}
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

	if (a->writes_inflight || a->open_op.in_flight)
		return;
	if (a->state == ASM_SPEC_WAIT && !a->call_done)
		return;
	if (a->cur && a->cur->fd >= 0) {
		(void)close(a->cur->fd);
		a->cur->fd = -1;
	}
	if (a->tree_created)
		(void)fs_rmtree_at(in->assembling_fd, a->root);
	if (a->pkg_bad)
		(void)unlinkat(in->inbound_fd, asm_pkg_name(a), 0);
	cache_unlock_entry(in, a->gem);
	job_finish(&a->job);
}

static void asm_step(struct job *j)
{
	struct assemble_job *a = container_of(j, struct assemble_job, job);

	if (j->canceled && a->state != ASM_FAILED && a->state != ASM_DONE) {
		if (a->state == ASM_SPEC_WAIT && !a->call_done)
			return;
		asm_enter(a, ASM_FAILED);
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
	case ASM_REPLACE:
		asm_replace(a);
		break;
	case ASM_DIRS:
		asm_dirs(a);
		break;
	case ASM_STREAM:
		asm_stream(a);
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
	if (a->pkg_fd >= 0)
		(void)close(a->pkg_fd);
	a->pkg_fd = -1;
	free(a->pkg_block);
	a->pkg_block = NULL;
	digest_release(&a->d_pkg);
	digest_release(&a->d_data);
	digest_release(&a->d_meta);
	if (a->cur) {
		if (a->cur->fd >= 0)
			(void)close(a->cur->fd);
		digest_release(&a->cur->d);
		free(a->cur);
		a->cur = NULL;
	}
	free(a->dirq);
	a->dirq = NULL;
	free(a->writes);
	a->writes = NULL;
	a->free_writes = NULL;
	sbuf_release(&a->metadata_gz);
	sbuf_release(&a->checksums_gz);
	sbuf_release(&a->meta_yaml);
	sbuf_release(&a->native_spec);
	sbuf_release(&a->call.result);
	hmap_release(&a->nodes);
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
	a->pkg_fd = -1;
	a->m = arena_alloc(&in->arena, sizeof(*a->m));
	hmap_init(&a->nodes);
	timer_init(&a->timer, asm_timer_fire);
	job_init(&a->job, in->sched, &assemble_ops, g->full_name, (int)g->ndependents);
	if (after)
		job_depends(&a->job, after);
	g->assemble = a;
	return &a->job;
}
