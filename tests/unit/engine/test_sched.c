/*
 * The scheduler's job graph: dependency order, failure propagation,
 * fail-fast cancellation, per-kind limits and priorities. Fake jobs take one
 * reactor timer round trip to finish, so several are RUNNING at once.
 */
#include "sc_test.h"

#include <errno.h>
#include <signal.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "base/arena.h"
#include "base/clock.h"
#include "base/err.h"
#include "engine/child.h"
#include "engine/http.h"
#include "engine/ioq.h"
#include "engine/reactor.h"
#include "engine/sched.h"

struct fake {
	struct job job;
	struct timer timer;
	int result;    /* job_fail with this when non-zero */
	int steps;
	bool canceled;
	bool released;
};

struct world {
	struct arena a;
	struct reactor *r;
	struct ioq *q;
	struct http *h;
	struct child_mgr *cm;
	struct sched *s;
	const char *order[32];
	int norder;
	unsigned max_running;
};

static struct world *W;

static void fake_timer(struct timer *t)
{
	job_wake(&container_of(t, struct fake, timer)->job);
}

static void fake_step(struct job *j)
{
	struct fake *f = container_of(j, struct fake, job);
	struct sched_stats st;

	if (f->steps++ == 0) {
		W->order[W->norder++] = j->label;
		sched_get_stats(j->sched, &st);
		if (st.kind[j->ops->kind].running > W->max_running)
			W->max_running = st.kind[j->ops->kind].running;
		reactor_timer_arm(sched_reactor(j->sched), &f->timer, clock_now_ns() + 1000000);
		return;
	}
	if (f->result)
		job_fail(j, f->result, "%s failed on purpose", j->label);
	job_finish(j);
}

static void fake_cancel(struct job *j)
{
	container_of(j, struct fake, job)->canceled = true;
}

static void fake_release(struct job *j)
{
	container_of(j, struct fake, job)->released = true;
}

static const struct job_ops fetch_like = { .kind = JOB_FETCH, .step = fake_step,
					   .cancel = fake_cancel, .release = fake_release };
static const struct job_ops build_like = { .kind = JOB_COMPILE, .step = fake_step,
					   .cancel = fake_cancel, .release = fake_release };

static void world_init(struct world *w, bool fail_fast)
{
	struct http_options ho = { 0 };

	memset(w, 0, sizeof(*w));
	arena_init(&w->a);
	w->r = reactor_new();
	w->q = ioq_new(w->r, IOQ_BACKEND_SYNC, 8);
	w->h = http_new(w->r, &ho);
	w->cm = child_mgr_new(w->r);
	w->s = sched_new(&w->a, w->r, w->q, w->h, w->cm, NULL, fail_fast);
	W = w;
}

static void world_release(struct world *w)
{
	sched_free(w->s);
	child_mgr_free(w->cm);
	http_free(w->h);
	ioq_free(w->q);
	reactor_free(w->r);
	arena_release(&w->a);
}

static struct fake *fake_new(struct world *w, const struct job_ops *ops, const char *label,
			     int prio, int result)
{
	struct fake *f = arena_alloc(&w->a, sizeof(*f));

	timer_init(&f->timer, fake_timer);
	f->result = result;
	job_init(&f->job, w->s, ops, label, prio);
	return f;
}

SC_TEST(sched_runs_jobs_after_their_dependencies)
{
	struct world w;

	world_init(&w, false);
	struct fake *c = fake_new(&w, &build_like, "c", 0, 0);
	struct fake *b = fake_new(&w, &fetch_like, "b", 0, 0);
	struct fake *a = fake_new(&w, &fetch_like, "a", 0, 0);
	job_depends(&c->job, &b->job);
	job_depends(&b->job, &a->job);
	sched_submit(w.s, &c->job);
	sched_submit(w.s, &b->job);
	sched_submit(w.s, &a->job);
	assert_int_equal(sched_run(w.s), 0);
	assert_int_equal(w.norder, 3);
	assert_string_equal(w.order[0], "a");
	assert_string_equal(w.order[1], "b");
	assert_string_equal(w.order[2], "c");
	assert_int_equal(c->job.state, JOB_DONE);
	assert_true(a->released && b->released && c->released);
	world_release(&w);
}

SC_TEST(sched_failure_fails_dependents_only)
{
	struct world w;

	world_init(&w, false);
	struct fake *a = fake_new(&w, &fetch_like, "a", 0, -SC_EHTTP);
	struct fake *b = fake_new(&w, &build_like, "b", 0, 0);
	struct fake *d = fake_new(&w, &build_like, "d", 0, 0);
	struct fake *other = fake_new(&w, &fetch_like, "other", 0, 0);
	job_depends(&b->job, &a->job);
	job_depends(&d->job, &b->job);
	sched_submit(w.s, &a->job);
	sched_submit(w.s, &b->job);
	sched_submit(w.s, &d->job);
	sched_submit(w.s, &other->job);
	assert_int_equal(sched_run(w.s), -SC_EHTTP);
	assert_int_equal(a->job.state, JOB_FAILED);
	assert_string_equal(a->job.errmsg.buf, "a failed on purpose");
	assert_int_equal(b->job.state, JOB_FAILED);
	assert_int_equal(b->job.err, -SC_EDEPFAILED);
	assert_int_equal(b->steps, 0);
	assert_int_equal(d->job.err, -SC_EDEPFAILED);
	assert_int_equal(d->steps, 0);
	assert_int_equal(other->job.state, JOB_DONE);
	assert_false(other->canceled);
	assert_true(b->released && d->released);
	world_release(&w);
}

SC_TEST(sched_fail_fast_cancels_the_rest)
{
	struct world w;

	world_init(&w, true);
	sched_set_limit(w.s, JOB_FETCH, 2);
	struct fake *bad = fake_new(&w, &fetch_like, "bad", 9, -SC_ECHECKSUM);
	struct fake *running = fake_new(&w, &fetch_like, "running", 8, 0);
	struct fake *queued = fake_new(&w, &fetch_like, "queued", 0, 0);
	sched_submit(w.s, &bad->job);
	sched_submit(w.s, &running->job);
	sched_submit(w.s, &queued->job);
	assert_int_equal(sched_run(w.s), -SC_ECHECKSUM);
	assert_true(sched_aborting(w.s));
	/* The job running alongside was asked to stop; the queued one never ran. */
	assert_true(running->canceled);
	assert_int_equal(queued->steps, 0);
	assert_int_equal(queued->job.err, -SC_ECANCELED);
	world_release(&w);
}

SC_TEST(sched_respects_limits_and_priorities)
{
	struct world w;
	static const char *const want[] = { "p9", "p5a", "p5b", "p1", "p0" };

	world_init(&w, false);
	sched_set_limit(w.s, JOB_FETCH, 1);
	sched_submit(w.s, &fake_new(&w, &fetch_like, "p0", 0, 0)->job);
	sched_submit(w.s, &fake_new(&w, &fetch_like, "p5a", 5, 0)->job);
	sched_submit(w.s, &fake_new(&w, &fetch_like, "p9", 9, 0)->job);
	sched_submit(w.s, &fake_new(&w, &fetch_like, "p5b", 5, 0)->job);
	sched_submit(w.s, &fake_new(&w, &fetch_like, "p1", 1, 0)->job);
	assert_int_equal(sched_run(w.s), 0);
	assert_int_equal(w.max_running, 1);
	for (int i = 0; i < 5; i++)
		assert_string_equal(w.order[i], want[i]);
	world_release(&w);

	world_init(&w, false);
	sched_set_limit(w.s, JOB_FETCH, 3);
	for (int i = 0; i < 8; i++)
		sched_submit(w.s, &fake_new(&w, &fetch_like, "n", 0, 0)->job);
	assert_int_equal(sched_run(w.s), 0);
	assert_int_equal(w.max_running, 3);
	world_release(&w);
}

SC_TEST(job_fail_keeps_the_first_error)
{
	struct world w;

	world_init(&w, false);
	struct fake *f = fake_new(&w, &fetch_like, "x", 0, 0);
	assert_int_equal(job_fail(&f->job, -ENOENT, "first %d", 1), -ENOENT);
	job_fail(&f->job, -EIO, "second");
	assert_int_equal(f->job.err, -ENOENT);
	assert_string_equal(f->job.errmsg.buf, "first 1");
	sched_submit(w.s, &f->job); /* an error recorded before submission fails it at once */
	assert_int_equal(f->job.state, JOB_FAILED);
	assert_int_equal(sched_run(w.s), -ENOENT);
	world_release(&w);
}

/* A step that neither finishes nor waits on anything: the scheduler stalls. */
static void stuck_step(struct job *j)
{
	(void)j;
}

static const struct job_ops stuck_like = { .kind = JOB_FETCH, .step = stuck_step };

static int stall_out_fd = -1;

static void stall_to_pipe(const struct sched *s)
{
	struct sbuf report = SBUF_INIT;

	sched_format_unfinished(s, &report);
	(void)!write(stall_out_fd, report.buf, report.len);
	sbuf_release(&report);
}

/*
 * A stall is a bug: the handler gets the scheduler (and formats the jobs
 * left, the engine printing nothing itself), then the process aborts. Run in
 * a child process, which the abort ends.
 */
SC_TEST(sched_stall_reports_unfinished_jobs_then_aborts)
{
	int p[2];

	assert_int_equal(pipe(p), 0);
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		struct world w;
		close(p[0]);
		stall_out_fd = p[1];
		sched_set_stall_handler(stall_to_pipe);
		world_init(&w, false);
		struct fake *a = fake_new(&w, &stuck_like, "stuck", 0, 0);
		struct fake *b = fake_new(&w, &fetch_like, "after", 0, 0);
		job_depends(&b->job, &a->job);
		sched_submit(w.s, &a->job);
		sched_submit(w.s, &b->job);
		(void)sched_run(w.s);
		_exit(0); /* not reached */
	}
	close(p[1]);
	char buf[512];
	size_t n = 0;
	ssize_t k;
	while (n < sizeof(buf) - 1 && (k = read(p[0], buf + n, sizeof(buf) - 1 - n)) > 0)
		n += (size_t)k;
	buf[n] = '\0';
	close(p[0]);
	int status;
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFSIGNALED(status));
	assert_int_equal(WTERMSIG(status), SIGABRT);
	assert_string_equal(buf, "  fetch stuck (running, 0 deps left)\n"
				 "  fetch after (pending, 1 deps left)\n");
}
