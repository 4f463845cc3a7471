/*
 * index.c: the compact index phase. It runs only for a gem that must be
 * downloaded and has no CHECKSUMS entry in the lockfile: it learns the
 * gem's SHA-256 from /info/<name> (bundler-compat.md §3).
 *
 *   INDEX_LOCAL --line found in our copy--------------------------> INDEX_DONE
 *        |
 *        v
 *   INDEX_REQUEST --start--> INDEX_WAIT --200--> INDEX_WRITE --> INDEX_DONE
 *        ^                      |  |--304/404----------------------> INDEX_DONE
 *        \--retry timer---------/  \--4xx/exhausted------------------> INDEX_FAILED
 *
 * INDEX_LOCAL   reads index/<slug>/info/<name>; info lines are immutable,
 *               so a copy that has the line needs no request.
 * INDEX_REQUEST sends GET /info/<name> (If-None-Match with the saved ETag), to
 *               the source's mirror when one is configured (phases/mirror.h).
 * INDEX_WAIT    waits for the response (and retry backoff).
 * INDEX_WRITE   saves the body and ETag (temp names, then renamed: the body
 *               first, so that a process sharing the cache that sees the
 *               new ETag sees the new body; a 304 reads the body again).
 * Without a checksum (a 404: the server has no compact index for the gem;
 * or no line for the locked version) the gem cannot be verified: the job
 * fails and nothing is downloaded, unless BUNDLE_DISABLE_CHECKSUM_VALIDATION
 * is set (Bundler's setting, from its config or the environment): then the
 * gem is installed with a warning. (Bundler 2.3 installs such a gem
 * silently; an unverifiable package is refused here as a security matter.)
 * A known checksum that does not match always fails (fetch.c).
 * Bodies are held in memory, at most SCINT_MAX_INDEX_DOWNLOAD bytes each
 * (retry.h); an info file on disk is read within the same limit.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "base/err.h"
#include "bundle/config.h"
#include "bundle/index.h"
#include "engine/http.h"
#include "engine/ioq.h"
#include "engine/reactor.h"
#include "fsops/fsops.h"
#include "phases/phase.h"
#include "phases/session/retry.h"


enum index_state {
	INDEX_LOCAL,
	INDEX_REQUEST,
	INDEX_WAIT,
	INDEX_WRITE,
	INDEX_DONE,
	INDEX_FAILED,
	INDEX_STATE__COUNT,
};

static const char *const index_state_name[INDEX_STATE__COUNT] = {
	"LOCAL", "REQUEST", "WAIT", "WRITE", "DONE", "FAILED",
};

struct index_job {
	struct job job;
	struct install *in;
	struct gem *gem;
	enum index_state state;
	struct http_req req;
	struct timer retry_timer;
	unsigned attempt;
	bool response_in;
	struct mirror_target target; /* where the request in flight went */
	struct sbuf etag_old;
	struct ioq_op ops[4];
	unsigned ops_left;
	int op_err;
	char *url;
	char tmp_info[300], tmp_etag[300], info_name[256], etag_name[264];
};

static bool index_edge_ok(enum index_state from, enum index_state to)
{
	switch (from) {
	case INDEX_LOCAL:
		return to == INDEX_REQUEST || to == INDEX_DONE || to == INDEX_FAILED;
	case INDEX_REQUEST:
		return to == INDEX_WAIT || to == INDEX_FAILED;
	case INDEX_WAIT:
		return to == INDEX_REQUEST || to == INDEX_WRITE || to == INDEX_DONE ||
		       to == INDEX_FAILED;
	case INDEX_WRITE:
		return to == INDEX_DONE || to == INDEX_FAILED;
	case INDEX_DONE:
	case INDEX_FAILED:
	case INDEX_STATE__COUNT:
		break;
	}
	return false;
}

static void index_enter_at(struct index_job *x, enum index_state to, int line)
{
	SC_ASSERT(index_edge_ok(x->state, to));
	trace_state(&x->job.ctx, index_state_name[x->state], index_state_name[to], line);
	x->state = to;
	job_wake(&x->job);
}

/* Every state change goes through here; debug builds trace the caller's line. */
#define index_enter(x, to) index_enter_at((x), (to), TRACE_LINE)

static int index_source_dir(struct install *in, struct gem_source *src)
{
	char path[600];

	if (src->index_fd >= 0)
		return src->index_fd;
	snprintf(path, sizeof(path), "%s/info", src->slug);
	int r = fs_mkdirat_p(in->index_fd, path, 0755);
	if (r < 0)
		return r;
	src->index_fd = fs_open_dirat(in->index_fd, path);
	if (src->index_fd >= 0)
		trace_name_fd(src->index_fd, path);
	return src->index_fd;
}

/* Takes the checksum for our gem from an info body; false when absent. */
static bool index_take_checksum(struct index_job *x, struct strv body)
{
	char hex[DIGEST_SHA256_HEX];
	struct gem *g = x->gem;

	if (index_info_checksum(body, g->version, g->platform, hex) < 0)
		return false;
	g->checksum = arena_strdup(&x->in->arena, hex);
	return true;
}

static void index_local(struct index_job *x)
{
	struct sbuf body = SBUF_INIT;
	int dfd = index_source_dir(x->in, x->gem->source);

	if (dfd < 0) {
		job_fail(&x->job, dfd, "cannot create the index cache for %s: %s",
			 x->gem->source->redacted, sc_strerror(dfd));
		index_enter(x, INDEX_FAILED);
		return;
	}
	snprintf(x->info_name, sizeof(x->info_name), "%s", x->gem->name);
	snprintf(x->etag_name, sizeof(x->etag_name), "%s.etag", x->gem->name);
	if (fs_read_fileat(dfd, x->info_name, &body, (size_t)net_policy()->max_index_bytes) == 0 &&
	    index_take_checksum(x, sbuf_strv(&body))) {
		sbuf_release(&body);
		index_enter(x, INDEX_DONE);
		return;
	}
	sbuf_release(&body);
	if (fs_read_fileat(dfd, x->etag_name, &x->etag_old, 1024) < 0)
		sbuf_reset(&x->etag_old);
	sbuf_rtrim(&x->etag_old);
	index_enter(x, INDEX_REQUEST);
}

static void index_http_done(struct http_req *req)
{
	struct index_job *x = req->data;

	x->response_in = true;
	job_wake(&x->job);
}

static void index_retry_fire(struct timer *t)
{
	struct index_job *x = container_of(t, struct index_job, retry_timer);

	index_enter(x, INDEX_REQUEST);
}

static void index_request(struct index_job *x)
{
	struct gem_source *src = x->gem->source;

	mirror_target(&src->route, &x->target);
	x->url = arena_printf(&x->in->arena, "%sinfo/%s", x->target.base, x->gem->name);
	x->req = (struct http_req){
		.url = x->url,
		.userpwd = x->target.userpwd,
		.connect_timeout_ms = x->target.connect_timeout_ms,
		.extra_header = x->target.extra_header,
		.if_none_match = x->etag_old.len ? x->etag_old.buf : NULL,
		.max_bytes = net_policy()->max_index_bytes,
		.done = index_http_done,
		.data = x,
		.ctx = &x->job.ctx,
	};
	x->response_in = false;
	x->attempt++;
	int r = http_start(sched_http(x->job.sched), &x->req);
	if (r < 0) {
		job_fail(&x->job, r, "cannot request %sinfo/%s: %s", x->target.redacted, x->gem->name,
			 x->req.errmsg[0] ? x->req.errmsg : sc_strerror(r));
		index_enter(x, INDEX_FAILED);
		return;
	}
	index_enter(x, INDEX_WAIT);
}

static void index_write_done(struct ioq_op *op)
{
	struct index_job *x = op->data;

	if (op->res < 0 && !x->op_err)
		x->op_err = op->res;
	if (--x->ops_left == 0)
		job_wake(&x->job);
}

static void index_submit(struct index_job *x, struct ioq_op *op)
{
	op->done = index_write_done;
	op->data = x;
	op->ctx = &x->job.ctx;
	x->ops_left++;
	ioq_submit(sched_ioq(x->job.sched), op);
}

/* Bundler's Settings#to_bool: unset, "", "false", "f", "no", "n", "0" are false. */
static bool index_setting_true(const char *v)
{
	static const char *const no[] = { "", "false", "f", "no", "n", "0" };

	if (!v)
		return false;
	for (size_t i = 0; i < SC_ARRAY_SIZE(no); i++)
		if (!strcasecmp(v, no[i]))
			return false;
	return true;
}

/* No checksum for the locked version: refused, unless the user opted out. */
static void index_unverifiable(struct index_job *x, const char *why)
{
	struct install *in = x->in;
	struct gem *g = x->gem;
	const char *opt_out = bconfig_get(in->config, "BUNDLE_DISABLE_CHECKSUM_VALIDATION");

	if (index_setting_true(opt_out)) {
		g->warning = arena_printf(&in->arena,
					  "%s was installed unverified: %sinfo/%s %s and Gemfile.lock "
					  "has no CHECKSUMS entry for it "
					  "(BUNDLE_DISABLE_CHECKSUM_VALIDATION is set)",
					  g->full_name, g->source->redacted, g->name, why);
		index_enter(x, INDEX_DONE);
		return;
	}
	job_fail(&x->job, -SC_ECHECKSUM,
		 "cannot verify %s: %sinfo/%s %s and Gemfile.lock has no CHECKSUMS entry for "
		 "it, so its checksum is unknown; it was not installed (set "
		 "BUNDLE_DISABLE_CHECKSUM_VALIDATION=true to install unverified gems)",
		 g->full_name, g->source->redacted, g->name, why);
	index_enter(x, INDEX_FAILED);
}

static void index_response(struct index_job *x)
{
	struct http_req *req = &x->req;
	struct gem_source *src = x->gem->source;

	if (!x->response_in)
		return; /* still waiting (or a retry timer is armed) */
	x->response_in = false;
	switch (retry_index_answer(&x->job, &src->route, &x->target, req, &x->attempt,
				   &x->retry_timer)) {
	case RETRY_FALL_BACK:
		index_enter(x, INDEX_REQUEST);
		return;
	case RETRY_LATER:
		return;
	case RETRY_ANSWER:
		break;
	}
	if (req->res < 0 || (req->status >= 400 && req->status != 404)) {
		job_fail(&x->job, req->res < 0 ? req->res : -SC_EHTTP,
			 "cannot fetch the index for '%s' from %s: %s", x->gem->name, src->redacted,
			 retry_cause(req, "SCINT_MAX_INDEX_DOWNLOAD"));
		index_enter(x, INDEX_FAILED);
		return;
	}
	if (req->status == 304) {
		/*
		 * Our copy is current. Read again first: another process
		 * sharing the cache may have renamed its newer copy in after
		 * INDEX_LOCAL read the old one (its ETag, which we sent, is
		 * renamed only after its copy: index_write).
		 */
		struct sbuf body = SBUF_INIT;
		bool found = fs_read_fileat(src->index_fd, x->info_name, &body,
					    (size_t)net_policy()->max_index_bytes) == 0 &&
			     index_take_checksum(x, sbuf_strv(&body));
		sbuf_release(&body);
		if (found) {
			index_enter(x, INDEX_DONE);
			return;
		}
		index_unverifiable(x, "has no line for this version");
		return;
	}
	if (req->status == 404) {
		index_unverifiable(x, "answered HTTP 404 (the server has no compact index for it)");
		return;
	}
	if (req->status != 200) {
		job_fail(&x->job, -SC_EHTTP, "cannot fetch the index for '%s' from %s: HTTP %ld",
			 x->gem->name, src->redacted, req->status);
		index_enter(x, INDEX_FAILED);
		return;
	}
	if (!index_take_checksum(x, sbuf_strv(&req->body))) {
		index_unverifiable(x, "has no line for this version");
		return;
	}
	/* Save the body and ETag under temporary names; renamed in INDEX_WRITE. */
	int pid = (int)getpid();
	snprintf(x->tmp_info, sizeof(x->tmp_info), ".%s.tmp-%d", x->gem->name, pid);
	snprintf(x->tmp_etag, sizeof(x->tmp_etag), ".%s.etag.tmp-%d", x->gem->name, pid);
	ioq_prep_write_file(&x->ops[0], src->index_fd, x->tmp_info, 0644, req->body.buf,
			    req->body.len);
	index_submit(x, &x->ops[0]);
	if (req->etag.len) {
		ioq_prep_write_file(&x->ops[1], src->index_fd, x->tmp_etag, 0644, req->etag.buf,
				    req->etag.len);
		index_submit(x, &x->ops[1]);
	}
	index_enter(x, INDEX_WRITE);
}

static void index_write(struct index_job *x)
{
	int dfd = x->gem->source->index_fd;

	if (x->ops_left)
		return;
	if (x->op_err) {
		/* The checksum is known; a cache that cannot be written is not fatal. */
		index_enter(x, INDEX_DONE);
		return;
	}
	/*
	 * The copy is renamed in before its ETag: a process that reads the
	 * new ETag (and gets a 304 for it) then finds the new copy too.
	 */
	if (x->ops[0].opcode == IOQ_WRITE_FILE) {
		ioq_prep_renameat(&x->ops[0], dfd, x->tmp_info, dfd, x->info_name, 0);
		index_submit(x, &x->ops[0]);
		return;
	}
	if (x->ops[0].opcode == IOQ_RENAMEAT && x->req.etag.len && x->ops[1].opcode == IOQ_WRITE_FILE) {
		ioq_prep_renameat(&x->ops[1], dfd, x->tmp_etag, dfd, x->etag_name, 0);
		index_submit(x, &x->ops[1]);
		return;
	}
	index_enter(x, INDEX_DONE);
}

static void index_step(struct job *j)
{
	struct index_job *x = container_of(j, struct index_job, job);

	if (j->canceled) {
		/* Fail-fast: finish once nothing of ours is in flight. */
		if (!x->req.active && !x->ops_left)
			job_finish(j);
		return;
	}
	switch (x->state) {
	case INDEX_LOCAL:
		index_local(x);
		break;
	case INDEX_REQUEST:
		index_request(x);
		break;
	case INDEX_WAIT:
		index_response(x);
		break;
	case INDEX_WRITE:
		index_write(x);
		break;
	case INDEX_DONE:
	case INDEX_FAILED:
		job_finish(j);
		break;
	case INDEX_STATE__COUNT:
		SC_ASSERT(!"bad state");
	}
}

static void index_cancel(struct job *j)
{
	struct index_job *x = container_of(j, struct index_job, job);

	reactor_timer_disarm(sched_reactor(j->sched), &x->retry_timer);
	if (x->req.active)
		http_cancel(sched_http(j->sched), &x->req);
}

static void index_release(struct job *j)
{
	struct index_job *x = container_of(j, struct index_job, job);

	http_req_release(&x->req);
	sbuf_release(&x->etag_old);
}

static const struct job_ops index_ops = {
	.kind = JOB_INDEX,
	.step = index_step,
	.cancel = index_cancel,
	.release = index_release,
};

struct job *index_job_new(struct install *in, struct gem *g)
{
	struct index_job *x = arena_alloc(&in->arena, sizeof(*x));

	x->in = in;
	x->gem = g;
	sbuf_init(&x->etag_old, 0); /* fs_read_fileat bounds it (a max under its 8K read refused every file) */
	timer_init(&x->retry_timer, index_retry_fire);
	job_init(&x->job, in->sched, &index_ops, g->full_name, (int)g->ndependents);
	g->index = x;
	return &x->job;
}
