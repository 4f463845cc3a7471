#include "sbuf.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <errno.h>

#include "err.h"

void sbuf_init(struct sbuf *sb, size_t max)
{
	*sb = (struct sbuf){ .max = max };
}

void sbuf_release(struct sbuf *sb)
{
	size_t max = sb->max;

	free(sb->buf);
	*sb = (struct sbuf){ .max = max };
}

void sbuf_reset(struct sbuf *sb)
{
	sb->len = 0;
	if (sb->buf)
		sb->buf[0] = '\0';
}

char *sbuf_detach(struct sbuf *sb, size_t *ret_len)
{
	char *p = sb->buf ? sb->buf : sc_xstrdup("");

	if (ret_len)
		*ret_len = sb->len;
	sb->buf = NULL;
	sb->len = sb->alloc = 0;
	return p;
}

int sbuf_grow(struct sbuf *sb, size_t extra)
{
	size_t need = sb->len + extra + 1;

	if (need < sb->len)
		return -SC_ETOOBIG;
	if (sb->max && sb->len + extra > sb->max)
		return -SC_ETOOBIG;
	if (need <= sb->alloc)
		return 0;
	size_t n = sb->alloc ? sb->alloc : 64;
	while (n < need)
		n = n < (SIZE_MAX / 2) ? n * 2 : need;
	sb->buf = sc_xrealloc(sb->buf, n);
	sb->alloc = n;
	return 0;
}

int sbuf_add(struct sbuf *sb, const void *p, size_t n)
{
	int r = sbuf_grow(sb, n);

	if (r < 0)
		return r;
	if (n)
		memcpy(sb->buf + sb->len, p, n);
	sb->len += n;
	sb->buf[sb->len] = '\0';
	return 0;
}

int sbuf_addstr(struct sbuf *sb, const char *s)
{
	return sbuf_add(sb, s, strlen(s));
}

int sbuf_addch(struct sbuf *sb, char c)
{
	return sbuf_add(sb, &c, 1);
}

int sbuf_addv(struct sbuf *sb, struct strv v)
{
	return sbuf_add(sb, v.p, v.len);
}

int sbuf_vaddf(struct sbuf *sb, const char *fmt, va_list ap)
{
	va_list cp;
	int n;

	va_copy(cp, ap);
	n = vsnprintf(NULL, 0, fmt, cp);
	va_end(cp);
	if (n < 0)
		return -EINVAL;
	int r = sbuf_grow(sb, (size_t)n);
	if (r < 0)
		return r;
	vsnprintf(sb->buf + sb->len, (size_t)n + 1, fmt, ap);
	sb->len += (size_t)n;
	return 0;
}

int sbuf_addf(struct sbuf *sb, const char *fmt, ...)
{
	va_list ap;
	int r;

	va_start(ap, fmt);
	r = sbuf_vaddf(sb, fmt, ap);
	va_end(ap);
	return r;
}

void sbuf_setlen(struct sbuf *sb, size_t len)
{
	SC_ASSERT(len <= sb->len);
	sb->len = len;
	if (sb->buf)
		sb->buf[len] = '\0';
}

void sbuf_rtrim(struct sbuf *sb)
{
	while (sb->len && (sb->buf[sb->len - 1] == ' ' || sb->buf[sb->len - 1] == '\n' ||
			   sb->buf[sb->len - 1] == '\t' || sb->buf[sb->len - 1] == '\r'))
		sb->len--;
	if (sb->buf)
		sb->buf[sb->len] = '\0';
}
