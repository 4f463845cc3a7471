/*
 * sbuf.h: growable byte buffer, always NUL-terminated (git's strbuf).
 *
 * A buffer may carry a size limit (`max`, as curl's dynbuf): appends that
 * would exceed it fail with -SC_ETOOBIG and leave the buffer unchanged.
 * Allocation failure is fatal (see sc_xmalloc). An sbuf is released with
 * sbuf_release(), which leaves it empty and reusable.
 */
#pragma once

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>

#include "compiler.h"
#include "strv.h"

struct sbuf {
	char *buf; /* NULL until the first append; use sbuf_cstr() for a string */
	size_t len;
	size_t alloc;
	size_t max; /* 0: no limit */
};

#define SBUF_INIT { 0 }

void sbuf_init(struct sbuf *sb, size_t max);
void sbuf_release(struct sbuf *sb);
/* Keeps the allocation, forgets the contents. */
void sbuf_reset(struct sbuf *sb);
/* Hands the buffer to the caller (who frees it); *ret_len may be NULL. */
char *sbuf_detach(struct sbuf *sb, size_t *ret_len);

/* Appenders return 0, or -SC_ETOOBIG when `max` would be exceeded. */
int sbuf_grow(struct sbuf *sb, size_t extra);
int sbuf_add(struct sbuf *sb, const void *p, size_t n);
int sbuf_addstr(struct sbuf *sb, const char *s);
/* Appends a string literal (its length known at compile time). */
#define sbuf_addlit(sb, lit) sbuf_add((sb), "" lit, sizeof(lit) - 1)
int sbuf_addch(struct sbuf *sb, char c);
int sbuf_addv(struct sbuf *sb, struct strv v);
int sbuf_addf(struct sbuf *sb, const char *fmt, ...) sc_printf(2, 3);
int sbuf_vaddf(struct sbuf *sb, const char *fmt, va_list ap) sc_printf(2, 0);
void sbuf_setlen(struct sbuf *sb, size_t len);
void sbuf_rtrim(struct sbuf *sb);

/* A C string view of the contents ("" when empty); valid until the next change. */
static inline const char *sbuf_cstr(const struct sbuf *sb)
{
	return sb->buf ? sb->buf : "";
}

static inline struct strv sbuf_strv(const struct sbuf *sb)
{
	return (struct strv){ sbuf_cstr(sb), sb->len };
}
