/*
 * index_sync.c: the compact index sync (index_sync.h has the contract).
 *
 * One job per file: the source's `versions`, and each name's info file.
 * Both run the same state machine:
 *
 *   SYNC_LOCAL --current: versions MD5 matches / not listed-----------> SYNC_DONE
 *       |
 *       v
 *   SYNC_REQUEST --start--> SYNC_WAIT --304------------------------------> SYNC_DONE
 *       ^  ^                  |  |  |--206 first byte ok, digest ok--\
 *       |  \--retry timer-----/  |  |--200, digest ok-----------------+-> SYNC_WRITE --> SYNC_DONE
 *       \--416 / refused append--/  \--404 (info: absent)---------------> SYNC_DONE
 *          / mirror fell back           (versions 404, 4xx, digest of a whole body) -> SYNC_FAILED
 *
 * SYNC_LOCAL    reads our copy and its ETag (synchronously, as index.c does);
 *               an info file whose MD5 equals the one `versions` lists needs
 *               no request; a name `versions` does not list is absent.
 * SYNC_REQUEST  GET, ranged (bytes=<size-1>-) when there is a non-empty
 *               copy and no earlier answer refused the append; for
 *               `versions`, If-None-Match with the saved ETag (an info file
 *               is only asked for when its MD5 says our copy is not current).
 * SYNC_WAIT     judges the answer (index_update.h's rules), builds the new
 *               file in memory (at most the body limit, 8x for `versions`).
 * SYNC_WRITE    writes the file (and the ETag of `versions`) under temporary
 *               names, then removes the old ETag and renames, in an order
 *               that never leaves an ETag beside a file it does not describe.
 * An info body is taken as soon as it is verified (SYNC_WAIT; in SYNC_LOCAL
 * when unchanged): the dependency names it lists are discovered and their
 * jobs submitted in that step, while the file is still being written.
 *
 * An info job whose copy exists waits (job_depends) for the versions job of
 * its source, to compare MD5s; a cold one starts at once. When `versions`
 * arrives after a cold info body was taken, the two are compared, and a
 * name whose MD5 differs is synced once more.
 * The local modes walk the closure synchronously (no engine is created for
 * INDEX_SYNC_LOCAL; PREFER_LOCAL creates jobs only for names not cached).
 */
#include "phases/index_sync.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "base/arena.h"
#include "base/digest.h"
#include "base/err.h"
#include "base/hmap.h"
#include "base/sbuf.h"
#include "base/url.h"
#include "bundle/index.h"
#include "bundle/index_update.h"
#include "bundle/names.h"
#include "engine/child.h"
#include "engine/http.h"
#include "engine/ioq.h"
#include "engine/reactor.h"
#include "engine/sched.h"
#include "fsops/fsops.h"
#include "phases/mirror.h"
#include "phases/session/retry.h"

#define ISYNC_MAX_NAMES_DEFAULT 100000u
#define ISYNC_VERSIONS_FACTOR	8 /* `versions` may be 8x the limit (a large registry's is tens of MB) */
#define ISYNC_RUNNING		128
#define ISYNC_HOST_CONNECTIONS	24

struct isync_source;
struct isync_name;

enum sync_state {
	SYNC_LOCAL,
	SYNC_REQUEST,
	SYNC_WAIT,
	SYNC_WRITE,
	SYNC_DONE,
	SYNC_FAILED,
	SYNC_STATE__COUNT,
};

static const char *const sync_state_name[SYNC_STATE__COUNT] = {
	"LOCAL", "REQUEST", "WAIT", "WRITE", "DONE", "FAILED",
};

struct sync_job {
	struct job job;
	struct isync_source *src;
	struct isync_name *nm; /* NULL: the versions job */
	enum sync_state state;
	struct http_req req;
	struct mirror_target target;
	struct timer retry_timer;
	unsigned attempt;
	bool response_in;
	bool have_local;
	bool append;    /* the request in flight is ranged */
	bool no_append; /* an answer refused the append: the whole file next */
	bool changed;   /* result differs from local */
	struct sbuf local, etag, result;
	struct ioq_op ops[2];
	unsigned nops;      /* ops of the current write step */
	unsigned ops_left;
	unsigned wstep;     /* sync_written's step */
	int dirfd;
	const char *file; /* "versions" or the name, in dirfd */
	const char *path; /* for messages: "versions", "info/<name>" */
	char range[32];
	char tmp_file[300], tmp_etag[300], etag_file[300];
	char *url;
};

struct isync_name {
	struct index_sync_info pub;
	struct isync_source *src;
	struct sbuf body;
	bool done;
	bool queued;    /* waiting in the source's discovery queue */
	bool cold;      /* taken before `versions` was current */
	bool rechecked;
	bool active;    /* its job has not finished (it may still be writing the file) */
	bool recheck_pending; /* to be synced again once its job has finished */
};

struct isync_source {
	struct index_sync *s;
	int id;
	struct mirror_route route;
	const char *slug, *dir;
	int dir_fd, info_fd;
	struct sbuf versions;
	bool versions_synced; /* fetched or revalidated by this handle */
	bool versions_read;   /* read from the cache (local modes) */
	struct sync_job *vjob;
	struct hmap md5;      /* name -> 32 hex chars in `versions` (or "") */
	struct hmap names;    /* name -> struct isync_name */
	struct isync_name **order;
	size_t n, cap;
	size_t qhead;         /* discovery queue: order[qhead..n) not yet handled */
	bool over_limit;
};

struct index_sync {
	struct index_sync_opts o;
	struct arena arena;
	int index_fd;
	size_t max_names;
	struct reactor *r;
	struct ioq *q;
	struct http *h;
	struct child_mgr *cm;
	struct sched *sched; /* during a run */
	struct isync_source **srcs;
	size_t nsrcs, srcs_cap;
	struct index_sync_stats stats;
	struct sbuf errs;
	int first_err;
};

static const struct job_ops sync_ops;
static void isync_pump(struct isync_source *src);
static void sync_name_finished(struct isync_name *nm);

static void isync_error(struct index_sync *s, int err, const char *fmt, ...) sc_printf(3, 4);
static void isync_error(struct index_sync *s, int err, const char *fmt, ...)
{
	va_list ap;

	if (!s->first_err)
		s->first_err = err;
	if (s->errs.len)
		sbuf_addch(&s->errs, '\n');
	va_start(ap, fmt);
	sbuf_vaddf(&s->errs, fmt, ap);
	va_end(ap);
}

void index_source_slug(const char *redacted_url, struct sbuf *out)
{
	char hex[DIGEST_SHA256_HEX];
	const char *host = strstr(redacted_url, "://");

	sha256_hex(redacted_url, strlen(redacted_url), hex);
	host = host ? host + 3 : redacted_url;
	size_t hl = strcspn(host, "/");
	sbuf_reset(out);
	for (size_t i = 0; i < hl; i++)
		sbuf_addch(out, host[i] == ':' ? '.' : host[i]);
	sbuf_addf(out, "-%.8s", hex);
}

static uint64_t isync_limit(const struct sync_job *x)
{
	uint64_t l = net_policy()->max_index_bytes;

	return x->nm ? l : l * ISYNC_VERSIONS_FACTOR;
}

/* ------------------------------------------------------------------ */
/* versions: the MD5 of every name */

static const char isync_no_md5[] = "";

static int isync_index_versions(struct isync_source *src)
{
	struct strv cur = sbuf_strv(&src->versions);
	struct index_versions_entry e;
	int r;

	hmap_release(&src->md5);
	hmap_init(&src->md5);
	while ((r = index_versions_next(&cur, &e)) != 0) {
		if (r < 0)
			continue; /* a line we cannot use names nothing we may request */
		const char *md5 = e.info_md5.len ? e.info_md5.p : isync_no_md5;
		void *v;
		memcpy(&v, &md5, sizeof(v)); /* hmap keeps void *; the pointer is only read */
		hmap_put(&src->md5, e.name, v);
	}
	return 0;
}

/* The MD5 `versions` lists for name: 1 (hex in ret), 0 listed without one, -1 not listed. */
static int isync_listed_md5(const struct isync_source *src, const char *name, char ret[33])
{
	const char *p = hmap_get(&src->md5, strv_from(name));

	if (!p)
		return -1;
	if (p == isync_no_md5)
		return 0;
	for (int i = 0; i < 32; i++)
		ret[i] = (p[i] >= 'A' && p[i] <= 'F') ? (char)(p[i] - 'A' + 'a') : p[i];
	ret[32] = '\0';
	return 1;
}

static void isync_md5(struct strv body, char ret[DIGEST_MD5_HEX])
{
	struct digest d;

	digest_init(&d, DIGEST_MD5);
	digest_update(&d, body.p, body.len);
	digest_final_hex(&d, ret);
}

/* ------------------------------------------------------------------ */
/* discovery */

static struct isync_name *isync_discover(struct isync_source *src, struct strv name)
{
	struct isync_name *nm = hmap_get(&src->names, name);

	if (nm)
		return nm;
	if (src->n >= src->s->max_names) {
		if (!src->over_limit)
			isync_error(src->s, -SC_ETOOBIG,
				    "the dependencies of the gems wanted from %s reach more than %zu "
				    "names (SCINT_INDEX_MAX_NAMES)",
				    src->route.redacted, src->s->max_names);
		src->over_limit = true;
		return NULL;
	}
	nm = arena_alloc(&src->s->arena, sizeof(*nm));
	nm->src = src;
	nm->pub.name = arena_strv(&src->s->arena, name);
	sbuf_init(&nm->body, 0);
	hmap_put(&src->names, strv_from(nm->pub.name), nm);
	src->order = arena_grow_array(&src->s->arena, src->order, sizeof(*src->order), src->n,
				      &src->cap);
	src->order[src->n++] = nm;
	nm->queued = true;
	return nm;
}

/* Discovers every dependency an info body names (lines it cannot read are skipped). */
static void isync_discover_deps(struct isync_source *src, struct strv body)
{
	struct strv rest = body, line;

	while (strv_next_line(&rest, &line)) {
		struct index_info_line l;
		struct strv cur, name, reqs;
		int r;

		if (line.len == 0 || strv_eq_cstr(line, "---"))
			continue;
		if (index_info_parse_line(line, &l) < 0)
			continue;
		cur = l.deps;
		while ((r = index_deps_next(&cur, &name, &reqs)) != 0)
			if (r > 0 && !isync_discover(src, name))
				return;
	}
}

/* The name's answer is known: keeps a copy of body (a job may still write its own). */
static void isync_name_done(struct isync_name *nm, bool present, const struct sbuf *body,
			    bool fetched)
{
	nm->done = true;
	nm->pub.present = present;
	nm->pub.fetched = nm->pub.fetched || fetched;
	sbuf_release(&nm->body);
	if (present && body)
		sbuf_add(&nm->body, sbuf_cstr(body), body->len);
	nm->pub.body = present ? sbuf_strv(&nm->body) : (struct strv){ "", 0 };
	if (present)
		isync_discover_deps(nm->src, nm->pub.body);
}

/* ------------------------------------------------------------------ */
/* the sync job */

static bool sync_edge_ok(enum sync_state from, enum sync_state to)
{
	if (to == SYNC_FAILED)
		return from != SYNC_DONE && from != SYNC_FAILED;
	switch (from) {
	case SYNC_LOCAL:
		return to == SYNC_REQUEST || to == SYNC_DONE;
	case SYNC_REQUEST:
		return to == SYNC_WAIT;
	case SYNC_WAIT:
		return to == SYNC_REQUEST || to == SYNC_WRITE || to == SYNC_DONE;
	case SYNC_WRITE:
		return to == SYNC_DONE;
	case SYNC_DONE:
	case SYNC_FAILED:
	case SYNC_STATE__COUNT:
		break;
	}
	return false;
}

static void sync_enter_at(struct sync_job *x, enum sync_state to, int line)
{
	SC_ASSERT(sync_edge_ok(x->state, to));
	trace_state(&x->job.ctx, sync_state_name[x->state], sync_state_name[to], line);
	x->state = to;
	job_wake(&x->job);
}

/* Every state change goes through here; debug builds trace the caller's line. */
#define sync_enter(x, to) sync_enter_at((x), (to), TRACE_LINE)

static void sync_fail(struct sync_job *x, int err, const char *fmt, ...) sc_printf(3, 4);
static void sync_fail(struct sync_job *x, int err, const char *fmt, ...)
{
	va_list ap;
	struct sbuf msg = SBUF_INIT;

	va_start(ap, fmt);
	sbuf_vaddf(&msg, fmt, ap);
	va_end(ap);
	job_fail(&x->job, err, "%s", msg.buf);
	sbuf_release(&msg);
	sync_enter(x, SYNC_FAILED);
}

static void sync_local(struct sync_job *x)
{
	struct isync_source *src = x->src;
	size_t limit = (size_t)isync_limit(x);
	int r;

	sbuf_reset(&x->local);
	sbuf_reset(&x->etag);
	r = fs_read_fileat(x->dirfd, x->file, &x->local, limit);
	x->have_local = r == 0;
	if (r < 0)
		sbuf_reset(&x->local);
	/*
	 * Only `versions` is revalidated by ETag. An info file is asked for only
	 * when its MD5 differs from the one `versions` lists, so our copy is not
	 * the server's: a 304 could only keep a wrong copy. (Its ETag file, one
	 * more file to create per gem, is not kept; index.c's are removed.)
	 */
	if (!x->nm && x->have_local && fs_read_fileat(x->dirfd, x->etag_file, &x->etag, 1024) < 0)
		sbuf_reset(&x->etag);
	sbuf_rtrim(&x->etag);
	if (x->nm && src->versions_synced) {
		char want[33], have[DIGEST_MD5_HEX];
		int k = isync_listed_md5(src, x->nm->pub.name, want);
		if (k < 0) {
			isync_name_done(x->nm, false, NULL, false); /* the source does not have it */
			sync_enter(x, SYNC_DONE);
			return;
		}
		if (k > 0 && x->have_local) {
			isync_md5(sbuf_strv(&x->local), have);
			if (!strcmp(have, want)) {
				src->s->stats.unchanged++;
				isync_name_done(x->nm, true, &x->local, false);
				sync_enter(x, SYNC_DONE);
				return;
			}
		}
	}
	sync_enter(x, SYNC_REQUEST);
}

static void sync_http_done(struct http_req *req)
{
	struct sync_job *x = req->data;

	x->response_in = true;
	job_wake(&x->job);
}

static void sync_retry_fire(struct timer *t)
{
	struct sync_job *x = container_of(t, struct sync_job, retry_timer);

	sync_enter(x, SYNC_REQUEST);
}

static void sync_request(struct sync_job *x)
{
	struct index_sync *s = x->src->s;

	mirror_target(&x->src->route, &x->target);
	x->url = arena_printf(&s->arena, "%s%s", x->target.base, x->path);
	x->append = x->have_local && x->local.len > 0 && !x->no_append;
	if (x->append)
		index_range_from(x->local.len, x->range, sizeof(x->range));
	x->req = (struct http_req){
		.url = x->url,
		.userpwd = x->target.userpwd,
		/* after a refused append our copy is suspect: no 304 may keep it */
		.if_none_match = x->have_local && !x->no_append && x->etag.len ? x->etag.buf : NULL,
		.range = x->append ? x->range : NULL,
		.max_bytes = isync_limit(x),
		.connect_timeout_ms = x->target.connect_timeout_ms,
		.extra_header = x->target.extra_header,
		.done = sync_http_done,
		.data = x,
		.ctx = &x->job.ctx,
	};
	x->response_in = false;
	x->attempt++;
	s->stats.requests++;
	int r = http_start(sched_http(x->job.sched), &x->req);
	if (r < 0) {
		sync_fail(x, r, "cannot request %s%s: %s", x->target.redacted, x->path,
			  x->req.errmsg[0] ? x->req.errmsg : sc_strerror(r));
		return;
	}
	sync_enter(x, SYNC_WAIT);
}

/* An answer that cannot extend our copy: ask for the whole file. */
static void sync_refetch(struct sync_job *x)
{
	x->src->s->stats.refetched++;
	x->no_append = true;
	http_req_release(&x->req);
	sync_enter(x, SYNC_REQUEST);
}

static void sync_submit(struct sync_job *x, struct ioq_op *op);

static void sync_write(struct sync_job *x)
{
	int pid = (int)getpid();

	snprintf(x->tmp_file, sizeof(x->tmp_file), ".%s.tmp-%d", x->file, pid);
	snprintf(x->tmp_etag, sizeof(x->tmp_etag), ".%s.etag.tmp-%d", x->file, pid);
	x->nops = 0;
	x->wstep = 0;
	ioq_prep_write_file(&x->ops[x->nops++], x->dirfd, x->tmp_file, 0644, x->result.buf,
			    x->result.len);
	if (x->req.etag.len && !x->nm)
		ioq_prep_write_file(&x->ops[x->nops++], x->dirfd, x->tmp_etag, 0644,
				    x->req.etag.buf, x->req.etag.len);
	for (unsigned i = 0; i < x->nops; i++)
		sync_submit(x, &x->ops[i]);
	sync_enter(x, SYNC_WRITE);
}

/*
 * An info body is final (verified): the name is done and the dependencies it
 * lists are requested now, while the file is still being written.
 */
static void sync_take(struct sync_job *x)
{
	struct isync_name *nm = x->nm;

	if (!nm)
		return;
	nm->cold = !x->src->versions_synced;
	isync_name_done(nm, true, &x->result, x->changed);
	isync_pump(x->src);
}

static void sync_response(struct sync_job *x)
{
	struct http_req *req = &x->req;
	struct index_sync *s = x->src->s;
	const char *where = x->target.redacted;
	char b64[45], have[45];
	int k;

	if (!x->response_in)
		return;
	x->response_in = false;
	if (x->target.is_mirror && req->res == 0)
		s->stats.from_mirror++;
	switch (retry_index_answer(&x->job, &x->src->route, &x->target, req, &x->attempt,
				   &x->retry_timer)) {
	case RETRY_FALL_BACK:
		s->stats.fell_back++;
		sync_enter(x, SYNC_REQUEST);
		return;
	case RETRY_LATER:
		return;
	case RETRY_ANSWER:
		break;
	}
	s->stats.bytes += req->received;
	if (req->res < 0) {
		sync_fail(x, req->res, "cannot fetch %s%s: %s", where, x->path,
			  retry_cause(req, "SCINT_MAX_INDEX_DOWNLOAD"));
		return;
	}
	if (req->status == 404) {
		if (!x->nm) {
			sync_fail(x, -SC_ENOTFOUND,
				  "%s has no compact index (GET %sversions answered HTTP 404); scint "
				  "needs a source that serves /versions and /info",
				  x->src->route.redacted, where);
			return;
		}
		isync_name_done(x->nm, false, NULL, false);
		sync_enter(x, SYNC_DONE);
		return;
	}
	if (req->status == 416 && x->append) {
		sync_refetch(x);
		return;
	}
	if (req->status == 304) {
		if (!x->have_local) {
			sync_fail(x, -SC_EHTTP, "cannot fetch %s%s: HTTP 304 to a request without a copy",
				  where, x->path);
			return;
		}
		s->stats.not_modified++;
		sbuf_release(&x->result);
		x->result = x->local; /* moved: a `versions` copy may be tens of MB */
		sbuf_init(&x->local, 0);
		x->changed = false;
		goto done;
	}
	sbuf_release(&x->result);
	sbuf_init(&x->result, (size_t)isync_limit(x));
	if (req->status == 206 && x->append) {
		/* the range asked for (when the server names it), starting with our last byte */
		if ((req->range_start >= 0 && (uint64_t)req->range_start != x->local.len - 1) ||
		    !index_range_ok(sbuf_strv(&x->local), sbuf_strv(&req->body))) {
			sync_refetch(x);
			return;
		}
		if (sbuf_add(&x->result, x->local.buf, x->local.len) < 0 ||
		    sbuf_add(&x->result, req->body.buf + 1, req->body.len - 1) < 0) {
			sync_fail(x, -SC_ETOOBIG,
				  "%s%s grew past %llu bytes (SCINT_MAX_INDEX_DOWNLOAD)", where, x->path,
				  (unsigned long long)isync_limit(x));
			return;
		}
	} else if (req->status == 200) {
		sbuf_release(&x->result);
		x->result = req->body; /* moved; within max_bytes */
		sbuf_init(&req->body, 0);
	} else {
		sync_fail(x, -SC_EHTTP, "cannot fetch %s%s: HTTP %ld", where, x->path, req->status);
		return;
	}
	/* Repr-Digest / Digest: the whole representation. */
	k = req->repr_digest.len ? index_digest_sha256(sbuf_strv(&req->repr_digest), b64) : 0;
	if (k != 0) {
		sha256_base64(x->result.buf, x->result.len, have);
		if (k < 0 || strcmp(have, b64) != 0) {
			if (x->append && k > 0) {
				sync_refetch(x);
				return;
			}
			sync_fail(x, -SC_ECHECKSUM,
				  "%s%s does not match the digest the server sent (%s: sha-256 %s, "
				  "received %s); refused",
				  where, x->path, k < 0 ? "malformed header" : "expected", b64, have);
			return;
		}
	}
	/* An appended info file must have the MD5 `versions` lists. */
	if (x->nm && x->append && x->src->versions_synced) {
		char want[33], md5[DIGEST_MD5_HEX];
		if (isync_listed_md5(x->src, x->nm->pub.name, want) > 0) {
			isync_md5(sbuf_strv(&x->result), md5);
			if (strcmp(md5, want) != 0) {
				sync_refetch(x);
				return;
			}
		}
	}
	if (req->status == 206)
		s->stats.partial++;
	else
		s->stats.full++; /* a ranged request may get the whole file (Range ignored) */
	x->changed = !x->have_local || x->local.len != x->result.len ||
		     memcmp(sbuf_cstr(&x->local), sbuf_cstr(&x->result), x->result.len) != 0 ||
		     (!x->nm && strcmp(sbuf_cstr(&x->etag), sbuf_cstr(&req->etag)) != 0);
	sync_take(x);
	if (x->changed) {
		sync_write(x);
		return;
	}
	sync_enter(x, SYNC_DONE);
	return;
done:
	sync_take(x);
	sync_enter(x, SYNC_DONE);
}

static void sync_op_done(struct ioq_op *op)
{
	struct sync_job *x = op->data;

	if (--x->ops_left == 0)
		job_wake(&x->job);
}

static void sync_submit(struct sync_job *x, struct ioq_op *op)
{
	op->done = sync_op_done;
	op->data = x;
	op->ctx = &x->job.ctx;
	x->ops_left++;
	ioq_submit(sched_ioq(x->job.sched), op);
}

/*
 * After the writes, in order, each step once the previous one has landed:
 *   1. the old ETag file is removed (a missing one is fine); an info file is
 *      renamed into place at the same time (its ETag is not used);
 *   2. `versions` is renamed into place;
 *   3. its new ETag is renamed into place.
 * A crash anywhere leaves no ETag that vouches for a file it does not
 * describe (a 304 could otherwise keep a stale copy).
 */
static void sync_written(struct sync_job *x)
{
	bool etag = !x->nm && x->req.etag.len;

	if (x->ops_left)
		return;
	for (unsigned i = 0; i < x->nops; i++) {
		struct ioq_op *op = &x->ops[i];
		if (op->res < 0 && !(op->opcode == IOQ_UNLINKAT && op->res == -ENOENT)) {
			sync_fail(x, op->res, "cannot write %s/%s: %s", x->src->dir, x->path,
				  sc_strerror(op->res));
			return;
		}
	}
	x->nops = 0;
	switch (x->wstep++) {
	case 0:
		ioq_prep_unlinkat(&x->ops[x->nops++], x->dirfd, x->etag_file, 0);
		if (x->nm)
			ioq_prep_renameat(&x->ops[x->nops++], x->dirfd, x->tmp_file, x->dirfd, x->file,
					  0);
		break;
	case 1:
		if (x->nm)
			goto done;
		ioq_prep_renameat(&x->ops[x->nops++], x->dirfd, x->tmp_file, x->dirfd, x->file, 0);
		break;
	case 2:
		if (!etag)
			goto done;
		ioq_prep_renameat(&x->ops[x->nops++], x->dirfd, x->tmp_etag, x->dirfd, x->etag_file,
				  0);
		break;
	default:
		goto done;
	}
	for (unsigned i = 0; i < x->nops; i++)
		sync_submit(x, &x->ops[i]);
	return;
done:
	sync_enter(x, SYNC_DONE);
}

/* A name's job has ended (or it had none): a pending recheck queues it again. */
static void sync_name_finished(struct isync_name *nm)
{
	struct isync_source *src = nm->src;

	if (nm->active)
		return;
	if (!nm->recheck_pending)
		return;
	nm->recheck_pending = false;
	nm->done = false;
	nm->queued = true;
	for (size_t i = 0; i < src->qhead; i++)
		if (src->order[i] == nm) {
			src->qhead = i;
			break;
		}
}

/* The versions job is done: index it, and check what cold info jobs took meanwhile. */
static void sync_versions_done(struct sync_job *x)
{
	struct isync_source *src = x->src;

	sbuf_release(&src->versions);
	src->versions = x->result;
	sbuf_init(&x->result, 0);
	isync_index_versions(src);
	src->versions_synced = true;
	src->vjob = NULL;
	for (size_t i = 0; i < src->n; i++) {
		struct isync_name *nm = src->order[i];
		char want[33], have[DIGEST_MD5_HEX];
		if (!nm->done || !nm->cold || !nm->pub.present || nm->rechecked)
			continue;
		if (isync_listed_md5(src, nm->pub.name, want) <= 0)
			continue;
		isync_md5(nm->pub.body, have);
		if (!strcmp(have, want))
			continue;
		/* The server changed it between the two answers: once more, now by MD5. */
		nm->rechecked = true;
		nm->recheck_pending = true;
		sync_name_finished(nm); /* now, or when its job has written the file */
	}
}

static void sync_step(struct job *j)
{
	struct sync_job *x = container_of(j, struct sync_job, job);

	if (j->canceled) {
		if (!x->req.active && !x->ops_left)
			job_finish(j);
		return;
	}
	switch (x->state) {
	case SYNC_LOCAL:
		sync_local(x);
		break;
	case SYNC_REQUEST:
		sync_request(x);
		break;
	case SYNC_WAIT:
		sync_response(x);
		break;
	case SYNC_WRITE:
		sync_written(x);
		break;
	case SYNC_DONE:
		if (!x->nm)
			sync_versions_done(x);
		else
			x->nm->active = false, sync_name_finished(x->nm);
		isync_pump(x->src);
		job_finish(j);
		break;
	case SYNC_FAILED:
		if (x->nm) {
			x->nm->done = true; /* absent: the error says why */
			x->nm->recheck_pending = false;
			x->nm->active = false;
		}
		job_finish(j);
		break;
	case SYNC_STATE__COUNT:
		SC_ASSERT(!"bad state");
	}
}

static void sync_cancel(struct job *j)
{
	struct sync_job *x = container_of(j, struct sync_job, job);

	reactor_timer_disarm(sched_reactor(j->sched), &x->retry_timer);
	if (x->req.active)
		http_cancel(sched_http(j->sched), &x->req);
}

static void sync_release(struct job *j)
{
	struct sync_job *x = container_of(j, struct sync_job, job);

	reactor_timer_disarm(sched_reactor(j->sched), &x->retry_timer);
	http_req_release(&x->req);
	sbuf_release(&x->local);
	sbuf_release(&x->etag);
	sbuf_release(&x->result);
}

static const struct job_ops sync_ops = {
	.kind = JOB_INDEX,
	.step = sync_step,
	.cancel = sync_cancel,
	.release = sync_release,
};

static struct sync_job *sync_job_new(struct isync_source *src, struct isync_name *nm)
{
	struct index_sync *s = src->s;
	struct sync_job *x = arena_alloc(&s->arena, sizeof(*x));

	x->src = src;
	x->nm = nm;
	sbuf_init(&x->local, 0);
	sbuf_init(&x->etag, 0); /* fs_read_fileat bounds it; a max under its 8K read would refuse every file */
	sbuf_init(&x->result, 0);
	timer_init(&x->retry_timer, sync_retry_fire);
	if (nm) {
		x->dirfd = src->info_fd;
		x->file = nm->pub.name;
		x->path = arena_printf(&s->arena, "info/%s", nm->pub.name);
	} else {
		x->dirfd = src->dir_fd;
		x->file = "versions";
		x->path = "versions";
	}
	snprintf(x->etag_file, sizeof(x->etag_file), "%s.etag", x->file);
	job_init(&x->job, s->sched, &sync_ops,
		 nm ? nm->pub.name : arena_printf(&s->arena, "versions %s", src->slug),
		 nm ? 0 : 1000);
	return x;
}

/* ------------------------------------------------------------------ */
/* the local modes, and handing names to jobs */

/* Reads name's cached info file: true (body in *ret) when there is one. */
static bool isync_read_cached(struct isync_source *src, const char *name, struct sbuf *ret)
{
	sbuf_init(ret, 0);
	if (fs_read_fileat(src->info_fd, name, ret, (size_t)net_policy()->max_index_bytes) == 0)
		return true;
	sbuf_release(ret);
	return false;
}

/* Handles every name discovered and not handled yet (breadth-first). */
static void isync_pump(struct isync_source *src)
{
	struct index_sync *s = src->s;

	while (src->qhead < src->n) {
		struct isync_name *nm = src->order[src->qhead++];
		struct sbuf body;

		if (!nm->queued)
			continue;
		nm->queued = false;
		if (s->o.mode != INDEX_SYNC_NETWORK && !nm->rechecked) {
			bool cached = isync_read_cached(src, nm->pub.name, &body);
			if (cached || s->o.mode == INDEX_SYNC_LOCAL) {
				isync_name_done(nm, cached, cached ? &body : NULL, false);
				if (cached)
					sbuf_release(&body);
				continue;
			}
			char md5[33];
			if (src->versions.len && isync_listed_md5(src, nm->pub.name, md5) < 0) {
				/* not on the source as far as our versions copy knows */
				isync_name_done(nm, false, NULL, false);
				continue;
			}
		}
		if (s->o.mode == INDEX_SYNC_NETWORK && src->versions_synced) {
			char md5[33];
			if (isync_listed_md5(src, nm->pub.name, md5) < 0) {
				isync_name_done(nm, false, NULL, false); /* not on this source */
				continue;
			}
		}
		struct sync_job *x = sync_job_new(src, nm);
		nm->active = true;
		if (src->vjob && fs_exists_at(src->info_fd, nm->pub.name))
			job_depends(&x->job, &src->vjob->job);
		sched_submit(s->sched, &x->job);
	}
}

static int isync_engine(struct index_sync *s, struct sbuf *err)
{
	struct http_options ho = { 0 };

	if (s->r)
		return 0;
	int r = net_policy_load(s->o.config, &ho, err);
	if (r < 0)
		return r;
	ho.verbose = s->o.verbose;
	/*
	 * Many small bodies, each of which may name the next ones: over HTTP/1.1
	 * more connections cut the queue behind each (Bundler's compact index
	 * fetcher runs 25 threads); over HTTP/2 they are multiplexed anyway.
	 */
	ho.max_host_connections = ISYNC_HOST_CONNECTIONS;
	ho.user_agent = "scint/" SCINT_VERSION;
	s->r = reactor_new();
	if (!s->r) {
		sbuf_addf(err, "cannot create the event loop: %s", strerror(errno));
		return -errno;
	}
	s->q = ioq_new(s->r, (enum ioq_backend)s->o.io_backend, 256);
	if (!s->q) {
		sbuf_addf(err, "cannot set up the I/O queue: %s", strerror(errno));
		return -errno;
	}
	s->h = http_new(s->r, &ho);
	s->cm = child_mgr_new(s->r);
	return 0;
}

static void isync_collect_errors(struct index_sync *s)
{
	size_t n;
	struct job *const *jobs = sched_jobs(s->sched, &n);

	for (size_t i = 0; i < n; i++) {
		const struct job *j = jobs[i];
		if (j->state != JOB_FAILED || j->err == -SC_EDEPFAILED)
			continue;
		isync_error(s, j->err, "%s", j->errmsg.len ? j->errmsg.buf : sc_strerror(j->err));
	}
}

int index_sync_run(struct index_sync *s, struct sbuf *err)
{
	bool network = false;
	int r;

	s->first_err = 0;
	sbuf_reset(&s->errs);
	for (size_t i = 0; i < s->nsrcs; i++) {
		struct isync_source *src = s->srcs[i];
		if (s->o.mode != INDEX_SYNC_NETWORK && !src->versions_read) {
			fs_read_fileat(src->dir_fd, "versions", &src->versions,
				       (size_t)net_policy()->max_index_bytes * ISYNC_VERSIONS_FACTOR);
			isync_index_versions(src);
			src->versions_read = true;
		}
		if (s->o.mode == INDEX_SYNC_LOCAL)
			isync_pump(src);
		else
			network = true;
	}
	if (network) {
		r = isync_engine(s, err);
		if (r < 0)
			return r;
		struct sched_limits lim = { 0 };
		lim.max_running[JOB_INDEX] = ISYNC_RUNNING;
		s->sched = sched_new(&s->arena, s->r, s->q, s->h, s->cm, &lim, false);
		for (size_t i = 0; i < s->nsrcs; i++) {
			struct isync_source *src = s->srcs[i];
			if (s->o.mode == INDEX_SYNC_NETWORK && !src->versions_synced && !src->vjob) {
				src->vjob = sync_job_new(src, NULL);
				sched_submit(s->sched, &src->vjob->job);
			}
			isync_pump(src);
		}
		r = sched_run(s->sched);
		isync_collect_errors(s);
		for (size_t i = 0; i < s->nsrcs; i++)
			s->srcs[i]->vjob = NULL; /* a failed one is tried again by the next run */
		sched_free(s->sched);
		s->sched = NULL;
		if (r < 0 && !s->first_err)
			isync_error(s, r, "the index sync failed: %s", sc_strerror(r));
	}
	if (s->first_err && err)
		sbuf_addv(err, sbuf_strv(&s->errs));
	return s->first_err;
}

/* ------------------------------------------------------------------ */
/* the handle */

int index_sync_new(const struct index_sync_opts *o, struct index_sync **ret, struct sbuf *err)
{
	struct index_sync *s = sc_xcalloc(1, sizeof(*s));
	const char *v = getenv("SCINT_INDEX_MAX_NAMES");
	char path[4096];
	int r;

	s->o = *o;
	arena_init(&s->arena);
	sbuf_init(&s->errs, 0);
	s->index_fd = -1;
	s->max_names = ISYNC_MAX_NAMES_DEFAULT;
	if (v && *v) {
		char *end;
		unsigned long n = strtoul(v, &end, 10);
		if (*end || !n || n > 100000000ul) {
			sbuf_addf(err, "invalid SCINT_INDEX_MAX_NAMES '%s': expected a positive count",
				  v);
			index_sync_free(s);
			return -SC_ECONFIG;
		}
		s->max_names = n;
	}
	s->o.cache_root = arena_strdup(&s->arena, o->cache_root);
	snprintf(path, sizeof(path), "%s/index", o->cache_root);
	r = fs_mkdir_p(path, 0755);
	if (r == 0)
		s->index_fd = r = fs_open_dir(path);
	if (r < 0) {
		sbuf_addf(err, "cannot create %s: %s", path, sc_strerror(r));
		index_sync_free(s);
		return r;
	}
	/* The limits apply to what is read from the cache too: load them now. */
	struct http_options ho = { 0 };
	r = net_policy_load(o->config, &ho, err);
	if (r < 0) {
		index_sync_free(s);
		return r;
	}
	*ret = s;
	return 0;
}

void index_sync_free(struct index_sync *s)
{
	if (!s)
		return;
	for (size_t i = 0; i < s->nsrcs; i++) {
		struct isync_source *src = s->srcs[i];
		for (size_t k = 0; k < src->n; k++)
			sbuf_release(&src->order[k]->body);
		sbuf_release(&src->versions);
		hmap_release(&src->md5);
		hmap_release(&src->names);
		if (src->info_fd >= 0)
			close(src->info_fd);
		if (src->dir_fd >= 0)
			close(src->dir_fd);
	}
	if (s->index_fd >= 0)
		close(s->index_fd);
	child_mgr_free(s->cm);
	http_free(s->h);
	ioq_free(s->q);
	reactor_free(s->r);
	sbuf_release(&s->errs);
	arena_release(&s->arena);
	free(s);
}

int index_sync_add_source(struct index_sync *s, const char *remote, struct sbuf *err)
{
	struct mirror_route route;
	struct sbuf slug = SBUF_INIT;
	int r;

	if (strncasecmp(remote, "http://", 7) && strncasecmp(remote, "https://", 8)) {
		struct sbuf red = SBUF_INIT;
		url_redact(remote, &red);
		sbuf_addf(err, "'%s' is not an http(s) gem source: scint reads compact indexes over "
			  "HTTP only", red.buf);
		sbuf_release(&red);
		return -EINVAL;
	}
	mirror_route_init(&route, &s->arena, s->o.config, remote);
	for (size_t i = 0; i < s->nsrcs; i++)
		if (!strcmp(s->srcs[i]->route.remote, route.remote))
			return (int)i;
	struct isync_source *src = arena_alloc(&s->arena, sizeof(*src));
	src->s = s;
	src->id = (int)s->nsrcs;
	src->route = route;
	index_source_slug(route.redacted, &slug);
	src->slug = arena_strdup(&s->arena, slug.buf);
	sbuf_release(&slug);
	src->dir = arena_printf(&s->arena, "%s/index/%s", s->o.cache_root, src->slug);
	src->dir_fd = src->info_fd = -1;
	sbuf_init(&src->versions, 0);
	hmap_init(&src->md5);
	hmap_init(&src->names);
	r = fs_mkdirat_p(s->index_fd, arena_printf(&s->arena, "%s/info", src->slug), 0755);
	if (r == 0)
		r = src->dir_fd = fs_open_dirat(s->index_fd, src->slug);
	if (r >= 0)
		r = src->info_fd = fs_open_dirat(src->dir_fd, "info");
	if (r < 0) {
		sbuf_addf(err, "cannot create %s: %s", src->dir, sc_strerror(r));
		if (src->dir_fd >= 0)
			close(src->dir_fd);
		hmap_release(&src->md5);
		hmap_release(&src->names);
		return r;
	}
	s->srcs = arena_grow_array(&s->arena, s->srcs, sizeof(*s->srcs), s->nsrcs, &s->srcs_cap);
	s->srcs[s->nsrcs++] = src;
	return src->id;
}

int index_sync_want(struct index_sync *s, int source, const char *name, struct sbuf *err)
{
	const char *why;

	SC_ASSERT(source >= 0 && (size_t)source < s->nsrcs);
	if (names_check_gem(strv_from(name), &why) < 0) {
		sbuf_addf(err, "'%s' is not a gem name: %s", name, why);
		return -SC_EUNSAFE;
	}
	if (!isync_discover(s->srcs[source], strv_from(name))) {
		sbuf_addv(err, sbuf_strv(&s->errs));
		return -SC_ETOOBIG;
	}
	return 0;
}

const struct index_sync_info *index_sync_info(const struct index_sync *s, int source,
					      const char *name)
{
	SC_ASSERT(source >= 0 && (size_t)source < s->nsrcs);
	struct isync_name *nm = hmap_get(&s->srcs[source]->names, strv_from(name));

	return nm && nm->done ? &nm->pub : NULL;
}

const struct index_sync_info *const *index_sync_names(const struct index_sync *s, int source,
						      size_t *ret_n)
{
	SC_ASSERT(source >= 0 && (size_t)source < s->nsrcs);
	const struct isync_source *src = s->srcs[source];

	/* struct isync_name starts with its public part */
	*ret_n = src->n;
	return (const struct index_sync_info *const *)src->order;
}

const char *index_sync_source_dir(const struct index_sync *s, int source)
{
	SC_ASSERT(source >= 0 && (size_t)source < s->nsrcs);
	return s->srcs[source]->dir;
}

struct strv index_sync_versions(const struct index_sync *s, int source)
{
	SC_ASSERT(source >= 0 && (size_t)source < s->nsrcs);
	return sbuf_strv(&s->srcs[source]->versions);
}

void index_sync_get_stats(const struct index_sync *s, struct index_sync_stats *ret)
{
	*ret = s->stats;
}
