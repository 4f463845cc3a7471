/*
 * profile.h: SCINT_PROFILE=<file>, a timeline of the install in Chrome's
 * trace-event format (JSON object form), which Perfetto and chrome://tracing
 * open. It holds:
 *   - one complete ("X") span per job, on a track per job kind, with lanes so
 *     that spans on one track never overlap ("fetch 1", "fetch 2", ...);
 *   - one span per phase (kind) from its first job's start to its last end;
 *   - counters ("C"): downloads in flight, op queue queued / in the kernel,
 *     running compiles, sampled on every loop tick where they changed;
 *   - a per-phase summary in "otherData", also given to the caller as a
 *     text table (cli/ prints it; the engine prints nothing).
 * Process-wide; the scheduler feeds it when enabled. Written at close.
 */
#pragma once

#include <stdbool.h>
#include <stdint.h>

struct job;
struct sbuf;
struct sched;

extern bool profile_enabled;

/* Starts collecting; the file is written by profile_close(). Returns 0 or -errno. */
int profile_open(const char *path);
void profile_job_start(const struct job *j);
void profile_job_end(const struct job *j);
void profile_counters(unsigned downloads, unsigned io_queued, unsigned io_in_kernel,
		      unsigned compiles);
/*
 * Adds the phase spans and summary from s (may be NULL), writes the file.
 * Appends the per-phase summary table (a header and a row per phase that
 * ran, one line each) to ret_summary, also when the file cannot be written.
 * Returns 0 (also when not enabled, then appending nothing) or -errno.
 */
int profile_close(struct sched *s, struct sbuf *ret_summary);
