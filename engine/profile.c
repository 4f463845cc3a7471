#include "engine/profile.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/clock.h"
#include "base/json.h"
#include "base/sbuf.h"
#include "engine/sched.h"
#include "fsops/fsops.h"

#define PROFILE_LANES	   64
#define PROFILE_TID(k, l)  (100 * ((int)(k) + 1) + (int)(l))
#define PROFILE_PHASE_TID  1

bool profile_enabled;

static struct {
	char *path;
	uint64_t t0_ns;
	struct sbuf events;
	uint64_t lanes[JOB_KIND__COUNT]; /* bit set: lane busy */
	unsigned lanes_used[JOB_KIND__COUNT];
	unsigned char *lane_of; /* by job id */
	size_t lane_cap;
	unsigned last[4];
	bool have_last;
	uint64_t last_counter_ns;
} pr;

static double profile_us(uint64_t t)
{
	return t > pr.t0_ns ? (double)(t - pr.t0_ns) / 1000.0 : 0.0;
}

static void profile_sep(void)
{
	if (pr.events.len)
		sbuf_addlit(&pr.events, ",\n");
}

int profile_open(const char *path)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);

	if (fd < 0)
		return -errno;
	(void)close(fd);
	pr.path = strdup(path);
	pr.t0_ns = clock_now_ns();
	sbuf_init(&pr.events, 0);
	profile_enabled = true;
	return 0;
}

void profile_job_start(const struct job *j)
{
	enum job_kind k = j->ops->kind;
	unsigned lane = 0;

	while (lane < PROFILE_LANES - 1 && (pr.lanes[k] & (1ull << lane)))
		lane++;
	pr.lanes[k] |= 1ull << lane;
	if (lane + 1 > pr.lanes_used[k])
		pr.lanes_used[k] = lane + 1;
	if (j->id >= pr.lane_cap) {
		size_t n = pr.lane_cap ? pr.lane_cap : 256;
		while (n <= j->id)
			n *= 2;
		pr.lane_of = realloc(pr.lane_of, n);
		memset(pr.lane_of + pr.lane_cap, 0, n - pr.lane_cap);
		pr.lane_cap = n;
	}
	pr.lane_of[j->id] = (unsigned char)lane;
}

void profile_job_end(const struct job *j)
{
	enum job_kind k = j->ops->kind;
	unsigned lane = j->id < pr.lane_cap ? pr.lane_of[j->id] : 0;
	bool ran = j->t_end_ns > j->t_start_ns || j->state == JOB_DONE;

	if (j->id < pr.lane_cap && ran)
		pr.lanes[k] &= ~(1ull << lane);
	profile_sep();
	sbuf_addlit(&pr.events, "{\"ph\":\"X\",\"pid\":1,\"name\":");
	json_add_cstr(&pr.events, j->label);
	sbuf_addf(&pr.events, ",\"cat\":\"%s\",\"tid\":%d,\"ts\":%.3f,\"dur\":%.3f", job_kind_name[k],
		  PROFILE_TID(k, lane), profile_us(j->t_start_ns),
		  j->t_end_ns > j->t_start_ns ? (double)(j->t_end_ns - j->t_start_ns) / 1000.0 : 0.0);
	sbuf_addf(&pr.events, ",\"args\":{\"job\":%u,\"result\":\"%s\"", j->id,
		  j->state == JOB_DONE ? "done" : "failed");
	if (j->state != JOB_DONE && j->errmsg.len) {
		sbuf_addlit(&pr.events, ",\"error\":");
		json_add_str(&pr.events, j->errmsg.buf, SC_MIN(j->errmsg.len, (size_t)400));
	}
	sbuf_addlit(&pr.events, "}}");
}

void profile_counters(unsigned downloads, unsigned io_queued, unsigned io_in_kernel,
		      unsigned compiles)
{
	unsigned now[4] = { downloads, io_queued, io_in_kernel, compiles };
	uint64_t t = clock_now_ns();

	if (pr.have_last && !memcmp(now, pr.last, sizeof(now)))
		return;
	if (pr.have_last && t - pr.last_counter_ns < 200000)
		return; /* at most one sample per 0.2 ms */
	memcpy(pr.last, now, sizeof(now));
	pr.have_last = true;
	pr.last_counter_ns = t;
	profile_sep();
	sbuf_addf(&pr.events,
		  "{\"ph\":\"C\",\"pid\":1,\"name\":\"in flight\",\"ts\":%.3f,\"args\":{\"downloads\":%u,"
		  "\"io_queued\":%u,\"io_in_kernel\":%u,\"compiles\":%u}}",
		  profile_us(t), downloads, io_queued, io_in_kernel, compiles);
}

static void profile_thread_name(int tid, const char *name, int sort)
{
	profile_sep();
	sbuf_addf(&pr.events,
		  "{\"ph\":\"M\",\"pid\":1,\"tid\":%d,\"name\":\"thread_name\",\"args\":{\"name\":\"%s\"}},\n"
		  "{\"ph\":\"M\",\"pid\":1,\"tid\":%d,\"name\":\"thread_sort_index\",\"args\":{\"sort_index\":%d}}",
		  tid, name, tid, sort);
}

int profile_close(struct sched *s, struct sbuf *ret_summary)
{
	struct sbuf out = SBUF_INIT;
	struct sched_stats st;
	int r;

	if (!profile_enabled)
		return 0;
	profile_enabled = false;
	if (s)
		sched_get_stats(s, &st);
	else
		memset(&st, 0, sizeof(st));
	profile_thread_name(PROFILE_PHASE_TID, "phases", 0);
	profile_sep();
	sbuf_addlit(&pr.events,
		    "{\"ph\":\"M\",\"pid\":1,\"name\":\"process_name\",\"args\":{\"name\":\"scint install\"}}");
	for (int k = 0; k < JOB_KIND__COUNT; k++) {
		const struct sched_kind_stats *ks = &st.kind[k];
		for (unsigned l = 0; l < pr.lanes_used[k]; l++) {
			char name[48];
			snprintf(name, sizeof(name), "%s %u", job_kind_name[k], l + 1);
			profile_thread_name(PROFILE_TID(k, l), name, PROFILE_TID(k, l));
		}
		if (!ks->first_start_ns)
			continue;
		profile_sep();
		sbuf_addf(&pr.events,
			  "{\"ph\":\"X\",\"pid\":1,\"tid\":%d,\"name\":\"%s\",\"cat\":\"phase\",\"ts\":%.3f,"
			  "\"dur\":%.3f,\"args\":{\"jobs\":%u,\"failed\":%u}}",
			  PROFILE_PHASE_TID, job_kind_name[k], profile_us(ks->first_start_ns),
			  (double)(ks->last_end_ns - ks->first_start_ns) / 1000.0, ks->total, ks->failed);
	}
	sbuf_addlit(&out, "{\"displayTimeUnit\":\"ms\",\"traceEvents\":[\n");
	sbuf_add(&out, pr.events.buf ? pr.events.buf : "", pr.events.len);
	sbuf_addlit(&out, "\n],\"otherData\":{\"summary\":{");
	sbuf_addf(ret_summary, "%-12s %6s %7s %10s %10s %9s\n", "phase", "jobs", "failed",
		  "wall ms", "busy ms", "parallel");
	bool first = true;
	for (int k = 0; k < JOB_KIND__COUNT; k++) {
		const struct sched_kind_stats *ks = &st.kind[k];
		if (!ks->total)
			continue;
		double wall = ks->first_start_ns ? (double)(ks->last_end_ns - ks->first_start_ns) / 1e6
						 : 0.0;
		sbuf_addf(&out,
			  "%s\"%s\":{\"jobs\":%u,\"failed\":%u,\"wall_ms\":%.3f,\"busy_ms\":%.3f,"
			  "\"max_parallel\":%u}",
			  first ? "" : ",", job_kind_name[k], ks->total, ks->failed, wall,
			  (double)ks->busy_ns / 1e6, ks->max_running);
		sbuf_addf(ret_summary, "%-12s %6u %7u %10.1f %10.1f %9u\n", job_kind_name[k],
			  ks->total, ks->failed, wall, (double)ks->busy_ns / 1e6, ks->max_running);
		first = false;
	}
	sbuf_addlit(&out, "}}}\n");
	r = fs_write_atomic(AT_FDCWD, pr.path, out.buf, out.len, 0644);
	sbuf_release(&out);
	sbuf_release(&pr.events);
	free(pr.lane_of);
	free(pr.path);
	memset(&pr, 0, sizeof(pr));
	return r;
}
