/*
 * fuzz_gemfile.c: gemfile_parse() on arbitrary bytes (the Ruby helper's
 * answer to `gemfile`, which a Gemfile can shape).
 *
 * A rejected answer must come with a message and leave the struct empty. An
 * accepted one must hold only checked values: gem names that pass
 * names_check_gem, dependencies whose source is one of the listed sources,
 * and counts within the limits.
 *
 * FUZZ_OPTIONS: -max_len=65536
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base/arena.h"
#include "base/sbuf.h"
#include "bundle/gemfile.h"
#include "bundle/names.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(const struct gemfile *gf)
{
	const char *why;

	if (gf->ndeps > GEMFILE_DEPS_MAX || gf->nsources > GEMFILE_SOURCES_MAX)
		abort();
	for (size_t i = 0; i < gf->ndeps; i++) {
		const struct gemfile_dep *d = &gf->deps[i];
		bool found = d->source == NULL;
		if (names_check_gem(strv_from(d->name), &why) < 0)
			abort();
		for (size_t k = 0; k < gf->nsources && !found; k++)
			found = d->source == &gf->sources[k];
		if (!found || d->ngroups > GEMFILE_LIST_MAX || d->nplatforms > GEMFILE_LIST_MAX)
			abort();
		for (size_t k = 0; k < d->ngroups; k++)
			(void)gemfile_dep_in_group(d, d->groups[k]);
	}
	for (size_t i = 0; i < gf->nsources; i++)
		if (gemfile_source_by_id(gf, gf->sources[i].id) != &gf->sources[i])
			abort();
	for (size_t i = 0; i < gf->nfiles; i++)
		if (gf->files[i].sha256 && strlen(gf->files[i].sha256) != 64)
			abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct arena a;
	struct gemfile gf;
	struct sbuf err = SBUF_INIT;

	arena_init(&a);
	if (gemfile_parse(&a, strv_make((const char *)data, size), &gf, &err) < 0) {
		if (err.len == 0 && size <= GEMFILE_TEXT_MAX)
			abort();
		if (gf.ndeps || gf.nsources)
			abort();
	} else {
		check(&gf);
	}
	sbuf_release(&err);
	arena_release(&a);
	return 0;
}
