/*
 * gemspec_render.c: for each YAML file named on the command line, the
 * answer of the gemspec writer (bundle/gemspec.h) for RubyGems 3.3.15, as
 * one record: "OK <n>\n" and n bytes, or "DECLINE <why>\n". Then one line
 * "CPU <ns>": the process CPU time the renders took. Used by
 * gemspec_diff.rb.
 */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "base/arena.h"
#include "base/sbuf.h"
#include "bundle/gemspec.h"

static char *slurp(const char *path, size_t *ret_len)
{
	FILE *f = fopen(path, "rb");
	struct sbuf sb = SBUF_INIT;
	char buf[65536];
	size_t n;

	if (!f)
		return NULL;
	while ((n = fread(buf, 1, sizeof(buf), f)) > 0)
		sbuf_add(&sb, buf, n);
	fclose(f);
	return sbuf_detach(&sb, ret_len);
}

static long long cpu_ns(void)
{
	struct timespec t;
	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
	return (long long)t.tv_sec * 1000000000LL + t.tv_nsec;
}

int main(int argc, char **argv)
{
	long long spent = 0;

	for (int i = 1; i < argc; i++) {
		size_t len = 0;
		char *text = slurp(argv[i], &len);
		struct arena a;
		struct sbuf out = SBUF_INIT, why = SBUF_INIT;

		arena_init(&a);
		long long t0 = cpu_ns();
		int r = text ? gemspec_render(&a, strv_make(text ? text : "", len), "3.3.15", &out,
					      &why)
			     : -1;
		spent += cpu_ns() - t0;
		if (r == 0) {
			printf("OK %zu\n", out.len);
			fwrite(out.buf, 1, out.len, stdout);
		} else {
			for (char *p = why.buf; p && *p; p++)
				if (*p == '\n')
					*p = ' ';
			printf("DECLINE %s\n", text ? sbuf_cstr(&why) : "unreadable");
		}
		arena_release(&a);
		sbuf_release(&out);
		sbuf_release(&why);
		free(text);
	}
	printf("CPU %lld\n", spent);
	return 0;
}
