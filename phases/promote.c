/*
 * promote.c: make an assembled (and compiled) entry part of the cache
 * (design.md §1, "Promote"; §8: a completion marker is written only after
 * the data it vouches for is durable).
 *
 *   PRO_START -> PRO_SPEC -> PRO_RENAME -> PRO_SYNC -> PRO_MANIFEST -> PRO_DIRSYNC -> PRO_DONE
 *       \------------ (any error) -------------------------------------------> PRO_FAILED
 *
 * PRO_START    nothing to do when another process promoted the entry while
 *              we waited. We hold the entry lock: a cached/ entry with a
 *              manifest is a damaged one (the fetch or assemble re-check
 *              refused it) and goes to quarantine (cache.h), one without is a
 *              killed run's leftover and is removed (promote_clear_slot). Group and other write
 *              bits are taken off the tree (the manifest keeps the modes
 *              that copies get). Writes assembling/<abi>/<entry>.gemspec.
 * PRO_SPEC     writes the manifest next to it, after the gemspec and after
 *              every file of the tree: the cheap check (cache.h) relies on no
 *              file of an entry being newer than its manifest. Renames the
 *              tree and the gemspec into cached/<abi>/ (one atomic rename each).
 * PRO_RENAME   waits for those, then joins the next sync batch.
 * PRO_SYNC     waits for its batch's syncfs() of the cache's filesystem (see
 *              struct promote_sync): the tree, the gemspec and the manifest's
 *              data are durable before the manifest is renamed into place.
 * PRO_MANIFEST renames the manifest into place: from this moment the entry is
 *              valid. Then joins the next sync batch again.
 * PRO_DIRSYNC  waits for that batch, which makes the rename itself durable
 *              (a promotion is not lost on power loss). Then the entry lock is
 *              released.
 * A failed build never reaches this phase (promote depends on compile).
 *
 * Native gems are built where their entry will live (promote_move_tree):
 * compile moves the assembled tree to cached/<abi>/<entry>/ before the build
 * starts, so the paths the build records (Makefile, mkmf.log, gem_make.out,
 * an rpath into the gem, a data dir compiled into the extension) are those
 * of the shared entry that every project's hardlinks or copies come from,
 * and stay valid after promote and materialize. A path under a project's
 * .bundle could not be right: one entry's bytes serve every project. Such a
 * tree is not a complete entry, since only the manifest (renamed last, as
 * always) makes one; the marker assembling/<abi>/<entry>.building, written
 * before the move and removed once the manifest is durable or the tree is
 * discarded, lets the next run's sweep (install.c) remove a tree a killed
 * run left in cached/ without a manifest. PRO_START then leaves the tree
 * where it is, and PRO_SPEC renames only the gemspec.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/clock.h"
#include "base/err.h"
#include "engine/child.h"
#include "engine/ioq.h"
#include "engine/reactor.h"
#include "fsops/fsops.h"
#include "phases/phase.h"

enum promote_state {
	PRO_START,
	PRO_SPEC,
	PRO_RENAME,
	PRO_SYNC,
	PRO_MANIFEST,
	PRO_DIRSYNC,
	PRO_DONE,
	PRO_FAILED,
	PRO_STATE__COUNT,
};

static const char *const promote_state_name[PRO_STATE__COUNT] = {
	"START", "SPEC", "RENAME", "SYNC", "MANIFEST", "DIRSYNC", "DONE", "FAILED",
};

struct promote_job {
	struct job job;
	struct install *in;
	struct gem *gem;
	enum promote_state state;
	struct ioq_op ops[3];
	unsigned ops_left;
	int op_err;
	const char *op_err_path;
	struct sbuf manifest_text;
	char *gemspec_name, *manifest_name, *marker_name;
	bool in_place;      /* the tree already sits in cached/ (promote_move_tree) */
	bool sync_waiting;  /* in the pending sync batch */
	bool sync_inflight; /* in the batch being synced (cannot leave it) */
	bool synced;        /* the batch this job waited for has run */
	int sync_res;
};

/*
 * The sync batch (group commit): the promotions waiting for durability.
 * syncfs has no io_uring opcode and can take long (it writes back every
 * dirty page of the filesystem), so it does not run on the loop: a `sync -f
 * <cached dir>` child runs it (one process start per batch), watched like
 * any child; when no such program can be started, or it fails (a `sync`
 * without -f), it runs in process from then on. Waiters that join while a
 * sync runs form the next batch, which starts when that one ends. A batch
 * with no sync running starts as soon as no other promotion can join it soon
 * (every running promotion waits in it), else PROMOTE_SYNC_WINDOW_NS after
 * its first waiter at the latest. The timer and the child's callback only
 * wake jobs: the first waiter to step starts the sync.
 */
#define PROMOTE_SYNC_WINDOW_NS (100u * 1000000u)

struct promote_sync {
	struct install *in;
	struct timer timer;
	struct promote_job **pending, **inflight;
	size_t npending, pending_cap, ninflight, inflight_cap;
	bool fired;   /* the pending batch may start */
	bool running; /* a sync is in flight for `inflight` */
	bool no_child; /* `sync` cannot be started here: sync in process */
	struct child child;
	const char *argv[4];
	uint64_t t0;
	struct trace_ctx ctx;
};

static bool promote_edge_ok(enum promote_state from, enum promote_state to)
{
	if (to == PRO_FAILED)
		return from != PRO_DONE && from != PRO_FAILED;
	switch (from) {
	case PRO_START:
		return to == PRO_SPEC || to == PRO_DONE;
	case PRO_SPEC:
		return to == PRO_RENAME;
	case PRO_RENAME:
		return to == PRO_SYNC;
	case PRO_SYNC:
		return to == PRO_MANIFEST;
	case PRO_MANIFEST:
		return to == PRO_DIRSYNC;
	case PRO_DIRSYNC:
		return to == PRO_DONE;
	case PRO_DONE:
	case PRO_FAILED:
	case PRO_STATE__COUNT:
		break;
	}
	return false;
}

static void promote_enter_at(struct promote_job *p, enum promote_state to, int line)
{
	SC_ASSERT(promote_edge_ok(p->state, to));
	trace_state(&p->job.ctx, promote_state_name[p->state], promote_state_name[to], line);
	p->state = to;
	job_wake(&p->job);
}

/* Every state change goes through here; debug builds trace the caller's line. */
#define promote_enter(p, to) promote_enter_at((p), (to), TRACE_LINE)

static void promote_op_done(struct ioq_op *op)
{
	struct promote_job *p = op->data;

	if (op->res < 0 && !p->op_err) {
		p->op_err = op->res;
		p->op_err_path = op->path2 ? op->path2 : op->path;
	}
	if (--p->ops_left == 0)
		job_wake(&p->job);
}

static void promote_submit(struct promote_job *p, struct ioq_op *op)
{
	op->done = promote_op_done;
	op->data = p;
	op->ctx = &p->job.ctx;
	p->ops_left++;
	ioq_submit(p->in->ioq, op);
}

/* Returns true when the last batch of ops failed (and moves to PRO_FAILED). */
static bool promote_check(struct promote_job *p, const char *what)
{
	if (!p->op_err)
		return false;
	job_fail(&p->job, p->op_err, "cannot %s %s of %s: %s", what, p->op_err_path,
		 p->gem->full_name, sc_strerror(p->op_err));
	promote_enter(p, PRO_FAILED);
	return true;
}

/* ---- the sync batch ---- */

static void promote_sync_fire(struct timer *t)
{
	struct promote_sync *ps = container_of(t, struct promote_sync, timer);

	ps->fired = true;
	for (size_t i = 0; i < ps->npending; i++)
		job_wake(&ps->pending[i]->job);
}

/*
 * Can no other promotion join the pending batch soon? True when every
 * running promotion waits in it (the others are queued behind them for a
 * slot, or wait for their builds), or when nothing is left that could
 * produce one.
 */
static bool promote_sync_idle(struct install *in)
{
	static const enum job_kind producers[] = { JOB_INDEX, JOB_FETCH, JOB_ASSEMBLE, JOB_COMPILE,
						   JOB_GIT };
	struct sched_stats st;

	sched_get_stats(in->sched, &st);
	const struct sched_kind_stats *pk = &st.kind[JOB_PROMOTE];
	if (pk->running <= in->psync->npending)
		return true;
	for (size_t i = 0; i < SC_ARRAY_SIZE(producers); i++) {
		const struct sched_kind_stats *k = &st.kind[producers[i]];
		if (k->total != k->done + k->failed)
			return false;
	}
	return pk->total - pk->done - pk->failed <= in->psync->npending;
}

static void promote_sync_arm(struct promote_sync *ps)
{
	struct reactor *r = sched_reactor(ps->in->sched);
	uint64_t now = clock_now_ns();

	if (ps->running || !ps->npending)
		return;
	if (promote_sync_idle(ps->in))
		reactor_timer_arm(r, &ps->timer, now);
	else if (!timer_armed(&ps->timer) && !ps->fired)
		reactor_timer_arm(r, &ps->timer, now + PROMOTE_SYNC_WINDOW_NS);
}

static void promote_sync_join(struct promote_job *p)
{
	struct install *in = p->in;
	struct promote_sync *ps = in->psync;

	if (!ps) {
		ps = in->psync = arena_alloc(&in->arena, sizeof(*ps));
		ps->in = in;
		timer_init(&ps->timer, promote_sync_fire);
		ps->ctx = (struct trace_ctx){ .phase = "promote" };
	}
	ps->pending = arena_grow_array(&in->arena, ps->pending, sizeof(*ps->pending), ps->npending,
				       &ps->pending_cap);
	ps->pending[ps->npending++] = p;
	p->sync_waiting = true;
	p->synced = false;
	promote_sync_arm(ps);
}

/* A waiter that fails before its batch started leaves it. */
static void promote_sync_leave(struct promote_job *p)
{
	struct promote_sync *ps = p->in->psync;

	if (!p->sync_waiting)
		return;
	for (size_t i = 0; i < ps->npending; i++) {
		if (ps->pending[i] == p) {
			ps->pending[i] = ps->pending[--ps->npending];
			break;
		}
	}
	p->sync_waiting = false;
	if (!ps->npending && timer_armed(&ps->timer))
		reactor_timer_disarm(sched_reactor(p->job.sched), &ps->timer);
}

/* The batch in flight is done (from the child's callback or in process): wake it. */
static void promote_sync_complete(struct promote_sync *ps, int res)
{
	trace_io(&ps->ctx, "syncfs", ps->in->cached_fd, NULL, -1, NULL, (int64_t)ps->ninflight,
		 res, ps->t0, clock_now_ns());
	for (size_t i = 0; i < ps->ninflight; i++) {
		struct promote_job *w = ps->inflight[i];
		w->sync_inflight = false;
		w->synced = true;
		w->sync_res = res;
		job_wake(&w->job);
	}
	ps->ninflight = 0;
	ps->running = false;
	/* Those that joined meanwhile have waited long enough: their batch starts now. */
	if (ps->npending)
		reactor_timer_arm(sched_reactor(ps->in->sched), &ps->timer, clock_now_ns());
}

static void promote_sync_child_done(struct child *c)
{
	struct promote_sync *ps = c->data;

	child_release(c);
	if (c->exited && c->exit_code == 0) {
		promote_sync_complete(ps, 0);
		return;
	}
	/*
	 * A `sync` without -f, or a real error: the batch goes back to pending
	 * and syncs in process from now on, which tells which one it was.
	 */
	ps->no_child = true;
	ps->running = false;
	for (size_t i = 0; i < ps->ninflight; i++) {
		struct promote_job *w = ps->inflight[i];
		w->sync_inflight = false;
		w->sync_waiting = true;
		ps->pending = arena_grow_array(&ps->in->arena, ps->pending, sizeof(*ps->pending),
					       ps->npending, &ps->pending_cap);
		ps->pending[ps->npending++] = w;
	}
	ps->ninflight = 0;
	reactor_timer_arm(sched_reactor(ps->in->sched), &ps->timer, clock_now_ns());
}

/* Starts a sync for the pending batch (from the step of one of its jobs). */
static void promote_sync_start(struct promote_sync *ps)
{
	struct install *in = ps->in;
	struct promote_job **t = ps->inflight;
	size_t tcap = ps->inflight_cap;

	ps->inflight = ps->pending;
	ps->inflight_cap = ps->pending_cap;
	ps->ninflight = ps->npending;
	ps->pending = t;
	ps->pending_cap = tcap;
	ps->npending = 0;
	for (size_t i = 0; i < ps->ninflight; i++) {
		ps->inflight[i]->sync_waiting = false;
		ps->inflight[i]->sync_inflight = true;
	}
	ps->fired = false;
	ps->running = true;
	ps->t0 = clock_now_ns();
	if (!ps->no_child) {
		ps->argv[0] = "sync";
		ps->argv[1] = "-f";
		ps->argv[2] = in->cached_dir;
		ps->argv[3] = NULL;
		ps->child = (struct child){ .argv = ps->argv,
					    .stderr_fd = -1,
					    .out_max = 4096,
					    .done = promote_sync_child_done,
					    .data = ps,
					    .ctx = &ps->ctx };
		if (child_spawn(in->children, &ps->child) == 0)
			return;
		child_release(&ps->child);
		ps->no_child = true;
	}
	promote_sync_complete(ps, syncfs(in->cached_fd) < 0 ? -errno : 0);
}

/* True once the batch this job joined has run; fails the job if the sync failed. */
static bool promote_synced(struct promote_job *p)
{
	struct promote_sync *ps = p->in->psync;

	if (!p->synced) {
		if (p->sync_waiting && ps->fired && !ps->running)
			promote_sync_start(ps);
		if (!p->synced)
			return false;
	}
	if (p->sync_res < 0) {
		job_fail(&p->job, p->sync_res, "cannot make the cache entry of %s durable: %s",
			 p->gem->full_name, sc_strerror(p->sync_res));
		promote_enter(p, PRO_FAILED);
		return false;
	}
	return true;
}

/* ---- the states ---- */

/*
 * The cache is shared: no file or directory of an entry may be writable by
 * group or others, whatever its archive said. Only entries that need it
 * cost a syscall. The owner's write bit stays: hardlinked installs share
 * these inodes, and Bundler installs gems owner-writable (a read-only tree
 * would differ from its, and would not stop root anyway); edits are found
 * by the cheap check instead (cache.h).
 */
static int promote_fix_modes(struct promote_job *p)
{
	struct install *in = p->in;
	const struct manifest *m = p->gem->manifest;

	for (size_t i = 0; i < m->nentries; i++) {
		const struct mf_entry *e = &m->entries[i];
		if (e->type == MF_SYMLINK || !(e->mode & 022))
			continue;
		char *path = arena_printf(&in->arena, "%s/%s", p->gem->entry, e->path);
		if (fchmodat(promote_tree_fd(in, p->gem), path, e->mode & 07755 & ~(mode_t)022, 0) <
		    0) {
			int r = -errno;
			job_fail(&p->job, r, "cannot change the mode of %s of %s: %s", path,
				 p->gem->full_name, sc_strerror(r));
			return r;
		}
	}
	return 0;
}

/*
 * Makes room in cached/ for the entry, under the entry lock: an entry with a
 * manifest there is a damaged one (the fetch or assemble re-check refused
 * it) and goes to quarantine, a tree without one is a killed run's leftover.
 */
static int promote_clear_slot(struct promote_job *p, struct job *who)
{
	struct install *in = p->in;
	struct gem *g = p->gem;
	int r;

	if (fs_exists_at(in->cached_fd, p->manifest_name)) {
		r = cache_quarantine_gem(in, g);
		if (r < 0)
			job_fail(who, r, "cannot move the damaged cache entry of %s away: %s",
				 g->full_name, sc_strerror(r));
	} else {
		r = fs_rmtree_at(in->cached_fd, g->entry);
		if (r < 0)
			job_fail(who, r, "cannot remove an incomplete cache entry of %s: %s",
				 g->full_name, sc_strerror(r));
	}
	return r;
}

static void promote_start(struct promote_job *p)
{
	struct install *in = p->in;
	struct gem *g = p->gem;
	int r;

	if (g->plan == PLAN_MATERIALIZE || g->remote_unbuilt) {
		/* Promoted by another process while we waited (or dropped by cache pull). */
		promote_enter(p, PRO_DONE);
		return;
	}
	/* What a later run would refuse to load is never promoted (bundle/manifest.h). */
	struct sbuf why = SBUF_INIT;
	manifest_sort(g->manifest);
	r = manifest_check(g->manifest, &why);
	if (r < 0)
		job_fail(&p->job, -SC_EUNSAFE, "unsafe entry in %s: %s", g->full_name,
			 sbuf_cstr(&why));
	sbuf_release(&why);
	if (r < 0) {
		promote_enter(p, PRO_FAILED);
		return;
	}
	r = p->in_place ? 0 : promote_clear_slot(p, &p->job);
	if (r < 0 || promote_fix_modes(p) < 0) {
		promote_enter(p, PRO_FAILED);
		return;
	}
	ioq_prep_write_file(&p->ops[0], in->assembling_fd, p->gemspec_name, 0644, g->gemspec.p,
			    g->gemspec.len);
	promote_submit(p, &p->ops[0]);
	promote_enter(p, PRO_SPEC);
}

static void promote_spec(struct promote_job *p)
{
	struct install *in = p->in;
	struct gem *g = p->gem;

	if (p->ops_left || promote_check(p, "write"))
		return;
	manifest_write(g->manifest, &p->manifest_text);
	ioq_prep_write_file(&p->ops[0], in->assembling_fd, p->manifest_name, 0644,
			    p->manifest_text.buf, p->manifest_text.len);
	ioq_prep_renameat(&p->ops[1], in->assembling_fd, p->gemspec_name, in->cached_fd,
			  p->gemspec_name, 0);
	if (!p->in_place)
		ioq_prep_renameat(&p->ops[2], in->assembling_fd, g->entry, in->cached_fd, g->entry,
				  0);
	for (int i = 0; i < (p->in_place ? 2 : 3); i++)
		promote_submit(p, &p->ops[i]);
	promote_enter(p, PRO_RENAME);
}

static void promote_rename(struct promote_job *p)
{
	if (p->ops_left || promote_check(p, "write or move"))
		return;
	promote_sync_join(p);
	promote_enter(p, PRO_SYNC);
}

static void promote_sync(struct promote_job *p)
{
	struct install *in = p->in;

	if (!promote_synced(p))
		return;
	ioq_prep_renameat(&p->ops[0], in->assembling_fd, p->manifest_name, in->cached_fd,
			  p->manifest_name, 0);
	promote_submit(p, &p->ops[0]);
	promote_enter(p, PRO_MANIFEST);
}

static void promote_manifest(struct promote_job *p)
{
	if (p->ops_left || promote_check(p, "move"))
		return;
	p->gem->promoted = true; /* valid from here on, durable or not */
	promote_sync_join(p);
	promote_enter(p, PRO_DIRSYNC);
}

static void promote_dirsync(struct promote_job *p)
{
	if (!promote_synced(p))
		return;
	if (p->in_place)
		(void)unlinkat(p->in->assembling_fd, p->marker_name, 0);
	cache_unlock_entry(p->in, p->gem);
	promote_enter(p, PRO_DONE);
}

static void promote_failed(struct promote_job *p)
{
	struct install *in = p->in;
	struct gem *g = p->gem;

	promote_sync_leave(p);
	if (p->ops_left || p->sync_inflight)
		return;
	promote_discard_tree(in, g);
	(void)unlinkat(in->assembling_fd, p->gemspec_name, 0);
	(void)unlinkat(in->assembling_fd, p->manifest_name, 0);
	cache_unlock_entry(in, g);
	job_finish(&p->job);
}

static void promote_step(struct job *j)
{
	struct promote_job *p = container_of(j, struct promote_job, job);

	if (j->canceled && p->state != PRO_DONE && p->state != PRO_FAILED && !p->ops_left &&
	    !p->sync_inflight)
		promote_enter(p, PRO_FAILED);
	switch (p->state) {
	case PRO_START:
		promote_start(p);
		break;
	case PRO_SPEC:
		promote_spec(p);
		break;
	case PRO_RENAME:
		promote_rename(p);
		break;
	case PRO_SYNC:
		promote_sync(p);
		break;
	case PRO_MANIFEST:
		promote_manifest(p);
		break;
	case PRO_DIRSYNC:
		promote_dirsync(p);
		break;
	case PRO_DONE:
		job_finish(j);
		break;
	case PRO_FAILED:
		promote_failed(p);
		break;
	case PRO_STATE__COUNT:
		SC_ASSERT(!"bad state");
	}
}

static void promote_release(struct job *j)
{
	struct promote_job *p = container_of(j, struct promote_job, job);

	sbuf_release(&p->manifest_text);
}

static const struct job_ops promote_ops = {
	.kind = JOB_PROMOTE,
	.step = promote_step,
	.release = promote_release,
};

struct job *promote_job_new(struct install *in, struct gem *g, struct job *after)
{
	struct promote_job *p = arena_alloc(&in->arena, sizeof(*p));

	p->in = in;
	p->gem = g;
	p->gemspec_name = arena_printf(&in->arena, "%s.gemspec", g->entry);
	p->manifest_name = arena_printf(&in->arena, "%s.manifest", g->entry);
	p->marker_name = arena_printf(&in->arena, "%s" PROMOTE_MARKER_SUFFIX, g->entry);
	job_init(&p->job, in->sched, &promote_ops, g->full_name, (int)g->ndependents);
	job_depends(&p->job, after);
	g->promote = p;
	return &p->job;
}

int promote_tree_fd(const struct install *in, const struct gem *g)
{
	return g->promote && g->promote->in_place ? in->cached_fd : in->assembling_fd;
}

const char *promote_tree_dir(struct install *in, const struct gem *g)
{
	bool cached = g->promote && g->promote->in_place;

	return arena_printf(&in->arena, "%s/%s/%s/%s", in->opts.cache_root,
			    cached ? "cached" : "assembling", in->abi.abi, g->entry);
}

int promote_move_tree(struct install *in, struct gem *g, struct job *who)
{
	struct promote_job *p = g->promote;
	int r;

	/* A git checkout's gems share its promotion, and its gem holds the lock. */
	SC_ASSERT(p && p->gem->lock_fd >= 0);
	if (p->in_place)
		return 0;
	/* The marker first: whatever the next step leaves behind, a later run finds it. */
	r = fs_write_atomic(in->assembling_fd, p->marker_name, "", 0, 0644);
	if (r < 0) {
		job_fail(who, r, "cannot write %s: %s", p->marker_name, sc_strerror(r));
		return r;
	}
	r = promote_clear_slot(p, who);
	if (r < 0)
		return r;
	if (renameat(in->assembling_fd, g->entry, in->cached_fd, g->entry) < 0) {
		r = -errno;
		job_fail(who, r, "cannot move the tree of %s into cached/: %s", g->full_name,
			 sc_strerror(r));
		return r;
	}
	p->in_place = true;
	return 0;
}

void promote_discard_tree(struct install *in, struct gem *g)
{
	struct promote_job *p = g->promote;

	if (p && p->in_place) {
		/* the marker goes only with the tree: a tree left behind stays swept */
		int r = fs_rmtree_at(in->cached_fd, g->entry);
		if (r == 0 || r == -ENOENT)
			(void)unlinkat(in->assembling_fd, p->marker_name, 0);
		p->in_place = false;
	} else {
		(void)fs_rmtree_at(in->assembling_fd, g->entry);
		if (p)
			(void)unlinkat(in->assembling_fd, p->marker_name, 0);
	}
}

void promote_depends_on(struct gem *g, struct job *j)
{
	SC_ASSERT(g->promote);
	job_depends(&g->promote->job, j);
}
