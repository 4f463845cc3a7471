/*
 * strv.h: non-owning string views, printed with "%.*s" and STRV_ARG().
 *
 * A view never owns its bytes; whoever made the underlying buffer keeps it
 * alive. Views are not NUL-terminated.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <string.h>

struct strv {
	const char *p;
	size_t len;
};

#define STRV_LIT(s) ((struct strv){ (s), sizeof(s) - 1 })
#define STRV_ARG(v) (int)(v).len, (v).p

static inline struct strv strv_from(const char *s)
{
	return (struct strv){ s, s ? strlen(s) : 0 };
}

static inline struct strv strv_make(const char *p, size_t len)
{
	return (struct strv){ p, len };
}

static inline bool strv_eq(struct strv a, struct strv b)
{
	return a.len == b.len && (a.len == 0 || memcmp(a.p, b.p, a.len) == 0);
}

static inline bool strv_eq_cstr(struct strv a, const char *s)
{
	return strv_eq(a, strv_from(s));
}

static inline bool strv_starts_with(struct strv a, const char *prefix)
{
	size_t n = strlen(prefix);

	return a.len >= n && memcmp(a.p, prefix, n) == 0;
}

static inline bool strv_ends_with(struct strv a, const char *suffix)
{
	size_t n = strlen(suffix);

	return a.len >= n && memcmp(a.p + a.len - n, suffix, n) == 0;
}

static inline struct strv strv_drop(struct strv a, size_t n)
{
	if (n > a.len)
		n = a.len;
	return (struct strv){ a.p + n, a.len - n };
}

/* Strips ASCII spaces, tabs, CR and LF from both ends. */
struct strv strv_trim(struct strv a);

/*
 * Splits `a` at the first `sep`: *ret_head gets what precedes it, and the
 * returned view what follows. Returns false (and *ret_head = a) when `sep`
 * does not occur.
 */
bool strv_cut(struct strv a, char sep, struct strv *ret_head, struct strv *ret_tail);

/*
 * Iterates lines: takes the next line off *rest (without its '\n', and without
 * a trailing '\r'). Returns false when *rest is empty.
 */
bool strv_next_line(struct strv *rest, struct strv *ret_line);

int strv_cmp(struct strv a, struct strv b);
