/* stats.h: SCINT_STATS, a JSON summary of one install (see stats.c). */
#pragma once

#include <stdbool.h>
#include <stdint.h>

struct install;

struct stats_counts {
	unsigned installed, fetched, from_cache, compiled, failed;
};

/* Writes the summary to path (atomically). Returns 0 or -errno. */
int stats_write(const char *path, struct install *in, const struct stats_counts *c, uint64_t t0,
		uint64_t t_end, bool ok);
