#include "compiler.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void sc_assert_fail(const char *expr, const char *file, int line, const char *func)
{
	fprintf(stderr, "scint: assertion failed: %s (%s:%d, %s)\n", expr, file, line, func);
	abort();
}

static sc_noreturn void sc_oom(size_t n)
{
	fprintf(stderr, "scint: out of memory allocating %zu bytes\n", n);
	abort();
}

void *sc_xmalloc(size_t n)
{
	void *p = malloc(n ? n : 1);

	if (!p)
		sc_oom(n);
	return p;
}

void *sc_xcalloc(size_t nmemb, size_t n)
{
	void *p = calloc(nmemb ? nmemb : 1, n ? n : 1);

	if (!p)
		sc_oom(nmemb * n);
	return p;
}

void *sc_xrealloc(void *p, size_t n)
{
	void *q = realloc(p, n ? n : 1);

	if (!q)
		sc_oom(n);
	return q;
}

char *sc_xstrdup(const char *s)
{
	return sc_xstrndup(s, strlen(s));
}

char *sc_xstrndup(const char *s, size_t n)
{
	char *p = sc_xmalloc(n + 1);

	memcpy(p, s, n);
	p[n] = '\0';
	return p;
}
