/*
 * stats.c: SCINT_STATS=<file>: a JSON summary of one install for tools
 * (scint-bench reads it for per-phase throughput). Written once, at exit.
 *
 * {"version":1,"elapsed_ms":..,"result":"ok"|"failed","gems":..,"installed":..,
 *  "fetched":..,"from_cache":..,"compiled":..,"already":..,"defaults":..,"failed":..,
 *  "bytes_fetched":..,"files_unpacked":..,"bytes_unpacked":..,
 *  "files_materialized":..,"bytes_materialized":..,
 *  "remote":{"hits":..,"refused":..,"uploads":..,"bytes_down":..,"bytes_up":..} (with a remote cache),
 *  "io_backend":"io_uring","link_mode":"hardlink",
 *  "phases":{"fetch":{"jobs":..,"done":..,"failed":..,"start_ms":..,"end_ms":..,
 *                     "busy_ms":..,"max_running":..},...},
 *  "ops":{"linkat":..,...},"sync_fallbacks":..,"io_uring":{...} (see stats_ring),
 *  "http":{"requests":..,"bytes":..},"processes":..,
 *  "maxrss_kb":..,"children_maxrss_kb":..,"helper_maxrss_kb":..,
 *  "helper_started":true|false,"specs_native":..,"specs_helper":..,
 *  "rss_anon_kb":..,"rss_file_kb":..}
 * Times are milliseconds since the command started. maxrss_kb is scint's own
 * peak RSS, children_maxrss_kb the largest of its children reaped so far
 * (getrusage: the Ruby helper, builds). A child started by vfork-style spawn
 * reports at least scint's RSS at its exec (the kernel counts the parent's
 * pages it shared until then); helper_maxrss_kb is the Ruby helper's own
 * VmHWM, read just before it is stopped (0: no helper ran); helper_started
 * says whether the Ruby helper ran at all, and specs_native / specs_helper
 * how many gemspecs were written in C and by the helper (both count a gem
 * under SCINT_SPEC_CHECK=1); rss_anon_kb and
 * rss_file_kb split scint's RSS at exit into its own memory and mapped
 * files (the libraries loaded on demand).
 */
#include "cli/stats.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "base/json.h"
#include "base/sbuf.h"
#include "engine/child.h"
#include "engine/http.h"
#include "engine/ioq.h"
#include "engine/sched.h"
#include "fsops/fsops.h"
#include "phases/phase.h"

static double stats_ms(uint64_t t, uint64_t t0)
{
	return t > t0 ? (double)(t - t0) / 1e6 : 0.0;
}

/*
 * "io_uring":{"setup":["submit_all","coop_taskrun"] (the ring's setup flags
 *   scint asks for that the kernel took),"direct":true,"chains":..,"linked_sqes":..,"enter_ms":..,
 *   "all":{"enters":..,"sqes":..,"median":..,"mean":..,"max":..},
 *   "assemble":{...},"materialize":{...}}: SQEs per submitting
 * io_uring_enter, over every call and over the calls that carried ops of
 * each phase (ioq_ring_stats). null on the sync backend.
 */
static void stats_ring(struct sbuf *j, const struct ioq *q)
{
	static const char *const phases[] = { NULL, "assemble", "materialize", "fetch", "promote" };
	struct ioq_ring_stats rs;

	if (!ioq_ring_stats(q, NULL, &rs)) {
		sbuf_addlit(j, ",\"io_uring\":null");
		return;
	}
	unsigned setup = ioq_ring_setup(q);
	sbuf_addf(j,
		  ",\"io_uring\":{\"setup\":[%s%s%s],\"direct\":%s,\"chains\":%llu,"
		  "\"linked_sqes\":%llu,\"enter_ms\":%.3f",
		  setup & IOQ_SETUP_SUBMIT_ALL ? "\"submit_all\"" : "",
		  (setup & IOQ_SETUP_SUBMIT_ALL) && (setup & IOQ_SETUP_COOP_TASKRUN) ? "," : "",
		  setup & IOQ_SETUP_COOP_TASKRUN ? "\"coop_taskrun\"" : "",
		  ioq_uses_direct(q) ? "true" : "false", (unsigned long long)rs.chains,
		  (unsigned long long)rs.linked_sqes, (double)rs.enter_ns / 1e6);
	for (size_t i = 0; i < sizeof(phases) / sizeof(phases[0]); i++) {
		ioq_ring_stats(q, phases[i], &rs);
		if (!rs.enters)
			continue;
		sbuf_addf(j,
			  ",\"%s\":{\"enters\":%llu,\"sqes\":%llu,\"median\":%u,\"mean\":%.1f,"
			  "\"max\":%u}",
			  phases[i] ? phases[i] : "all", (unsigned long long)rs.enters,
			  (unsigned long long)rs.sqes, rs.median, rs.mean, rs.max);
	}
	sbuf_addch(j, '}');
}

int stats_write(const char *path, struct install *in, const struct stats_counts *c, uint64_t t0,
		uint64_t t_end, bool ok)
{
	struct sbuf j = SBUF_INIT;
	struct sched_stats st;
	struct ioq_stats qs;
	struct http_stats hs;

	sbuf_addf(&j, "{\"version\":1,\"elapsed_ms\":%.3f,\"result\":\"%s\"", stats_ms(t_end, t0),
		  ok ? "ok" : "failed");
	sbuf_addf(&j,
		  ",\"gems\":%zu,\"installed\":%u,\"fetched\":%u,\"from_cache\":%u,\"compiled\":%u,"
		  "\"already\":%u,\"defaults\":%u,\"failed\":%u",
		  in->ngems, c->installed, c->fetched, c->from_cache, c->compiled, in->stats.already,
		  in->stats.defaults, c->failed);
	sbuf_addf(&j,
		  ",\"bytes_fetched\":%llu,\"files_unpacked\":%llu,\"bytes_unpacked\":%llu,"
		  "\"files_materialized\":%llu,\"bytes_materialized\":%llu",
		  (unsigned long long)in->stats.bytes_fetched,
		  (unsigned long long)in->stats.files_unpacked,
		  (unsigned long long)in->stats.bytes_unpacked,
		  (unsigned long long)in->stats.files_materialized,
		  (unsigned long long)in->stats.bytes_materialized);
	if (in->remote)
		sbuf_addf(&j,
			  ",\"remote\":{\"hits\":%u,\"refused\":%u,\"uploads\":%u,"
			  "\"bytes_down\":%llu,\"bytes_up\":%llu}",
			  in->stats.remote_hits, in->stats.remote_refused, in->stats.remote_uploads,
			  (unsigned long long)in->stats.remote_bytes_down,
			  (unsigned long long)in->stats.remote_bytes_up);
	sbuf_addlit(&j, ",\"io_backend\":");
	json_add_cstr(&j, in->ioq ? ioq_backend_name(in->ioq) : NULL);
	sbuf_addlit(&j, ",\"link_mode\":");
	json_add_cstr(&j, link_mode_name[in->link_mode]);
	sbuf_addlit(&j, ",\"phases\":{");
	if (in->sched) {
		sched_get_stats(in->sched, &st);
		bool first = true;
		for (int k = 0; k < JOB_KIND__COUNT; k++) {
			const struct sched_kind_stats *ks = &st.kind[k];
			if (!ks->total)
				continue;
			sbuf_addf(&j,
				  "%s\"%s\":{\"jobs\":%u,\"done\":%u,\"failed\":%u,\"start_ms\":%.3f,"
				  "\"end_ms\":%.3f,\"busy_ms\":%.3f,\"max_running\":%u}",
				  first ? "" : ",", job_kind_name[k], ks->total, ks->done, ks->failed,
				  stats_ms(ks->first_start_ns, t0), stats_ms(ks->last_end_ns, t0),
				  (double)ks->busy_ns / 1e6, ks->max_running);
			first = false;
		}
	}
	sbuf_addlit(&j, "},\"ops\":{");
	if (in->ioq) {
		ioq_get_stats(in->ioq, &qs);
		bool first = true;
		for (int o = 0; o < IOQ_OPCODE__COUNT; o++) {
			if (!qs.submitted[o])
				continue;
			sbuf_addf(&j, "%s\"%s\":%llu", first ? "" : ",", ioq_opcode_name[o],
				  (unsigned long long)qs.submitted[o]);
			first = false;
		}
		sbuf_addf(&j, "},\"sync_fallbacks\":%llu", (unsigned long long)qs.sync_fallbacks);
		stats_ring(&j, in->ioq);
	} else {
		sbuf_addch(&j, '}');
	}
	if (in->http) {
		http_get_stats(in->http, &hs);
		sbuf_addf(&j, ",\"http\":{\"requests\":%llu,\"bytes\":%llu}",
			  (unsigned long long)hs.requests, (unsigned long long)hs.bytes);
	}
	if (in->children)
		sbuf_addf(&j, ",\"processes\":%llu",
			  (unsigned long long)child_mgr_spawned(in->children));
	struct rusage self, kids;
	if (getrusage(RUSAGE_SELF, &self) == 0 && getrusage(RUSAGE_CHILDREN, &kids) == 0)
		sbuf_addf(&j, ",\"maxrss_kb\":%ld,\"children_maxrss_kb\":%ld", self.ru_maxrss,
			  kids.ru_maxrss);
	sbuf_addf(&j, ",\"helper_maxrss_kb\":%llu", (unsigned long long)in->stats.helper_maxrss_kb);
	sbuf_addf(&j, ",\"helper_started\":%s,\"specs_native\":%u,\"specs_helper\":%u",
		  in->helper_started ? "true" : "false", in->stats.specs_native, in->stats.specs_helper);
	/* What scint's RSS is made of at exit: its own memory, and mapped files (libraries). */
	struct sbuf status = SBUF_INIT;
	if (fs_read_file("/proc/self/status", &status, 1 << 16) == 0) {
		static const char *const keys[][2] = { { "\nRssAnon:", "rss_anon_kb" },
							{ "\nRssFile:", "rss_file_kb" } };
		for (size_t i = 0; i < SC_ARRAY_SIZE(keys); i++) {
			const char *p = strstr(sbuf_cstr(&status), keys[i][0]);
			if (p)
				sbuf_addf(&j, ",\"%s\":%llu", keys[i][1],
					  strtoull(p + strlen(keys[i][0]), NULL, 10));
		}
	}
	sbuf_release(&status);
	sbuf_addlit(&j, "}\n");
	int r = fs_write_atomic(AT_FDCWD, path, j.buf, j.len, 0644);
	sbuf_release(&j);
	return r;
}
