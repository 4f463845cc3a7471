/*
 * gempath.c: the rules for names inside a gem's data.tar.gz (see gempath.h).
 */
#include "bundle/gempath.h"

#include <string.h>

#define STR_(x) #x
#define STR(x)	STR_(x)

static bool gempath_has_ctl(const char *p, size_t len)
{
	for (size_t i = 0; i < len; i++)
		if ((unsigned char)p[i] < 0x20 || p[i] == 0x7f)
			return true;
	return false;
}

/* The next component of p[*i..len), skipping slashes; false at the end. */
static bool gempath_next(const char *p, size_t len, size_t *i, const char **ret, size_t *ret_len)
{
	while (*i < len && p[*i] == '/')
		(*i)++;
	if (*i >= len)
		return false;
	size_t start = *i;
	while (*i < len && p[*i] != '/')
		(*i)++;
	*ret = p + start;
	*ret_len = *i - start;
	return true;
}

static bool gempath_is_dot(const char *c, size_t n)
{
	return n == 1 && c[0] == '.';
}

static bool gempath_is_dotdot(const char *c, size_t n)
{
	return n == 2 && c[0] == '.' && c[1] == '.';
}

int gempath_clean(const char *name, size_t len, char *ret, size_t size, const char **ret_why)
{
	const char *c;
	size_t n = 0, clen, i = 0;

	*ret_why = NULL;
	if (!name || len == 0) {
		*ret_why = "empty name";
		return -1;
	}
	if (memchr(name, '\0', len)) {
		*ret_why = "NUL character in name";
		return -1;
	}
	if (gempath_has_ctl(name, len)) {
		*ret_why = "control character in name";
		return -1;
	}
	if (name[0] == '/') {
		*ret_why = "absolute path";
		return -1;
	}
	while (gempath_next(name, len, &i, &c, &clen)) {
		if (gempath_is_dot(c, clen))
			continue;
		if (gempath_is_dotdot(c, clen)) {
			*ret_why = "'..' in path";
			return -1;
		}
		if (clen > GEMPATH_NAME_MAX) {
			*ret_why =
				"a path component is longer than " STR(GEMPATH_NAME_MAX) " bytes";
			return -1;
		}
		if (n + !!n + clen > GEMPATH_MAX || n + !!n + clen + 1 > size) {
			*ret_why = "path longer than " STR(GEMPATH_MAX) " bytes";
			return -1;
		}
		if (n)
			ret[n++] = '/';
		memcpy(ret + n, c, clen);
		n += clen;
	}
	if (size)
		ret[n] = '\0';
	return (int)n;
}

bool gempath_link_inside(const char *link_path, const char *target, size_t len,
			 const char **ret_why)
{
	const char *c;
	size_t clen, i = 0;
	long depth = 0;

	*ret_why = NULL;
	if (!target || len == 0) {
		*ret_why = "empty symlink target";
		return false;
	}
	if (memchr(target, '\0', len)) {
		*ret_why = "NUL character in symlink target";
		return false;
	}
	if (gempath_has_ctl(target, len)) {
		*ret_why = "control character in symlink target";
		return false;
	}
	if (target[0] == '/') {
		*ret_why = "absolute symlink target";
		return false;
	}
	if (len > GEMPATH_MAX) {
		*ret_why = "symlink target longer than " STR(GEMPATH_MAX) " bytes";
		return false;
	}
	for (const char *p = link_path; *p; p++)
		if (*p == '/')
			depth++;
	while (gempath_next(target, len, &i, &c, &clen)) {
		if (gempath_is_dot(c, clen))
			continue;
		if (gempath_is_dotdot(c, clen)) {
			if (--depth < 0) {
				*ret_why = "symlink points outside the gem";
				return false;
			}
			continue;
		}
		depth++;
	}
	return true;
}

struct gempath_walk {
	char *buf;
	size_t size, n;
	unsigned hops;
	gempath_link_fn *link_fn;
	void *data;
	const char *why;
};

static void gempath_pop(struct gempath_walk *w)
{
	while (w->n > 0 && w->buf[w->n - 1] != '/')
		w->n--;
	if (w->n > 0)
		w->n--; /* the slash */
	w->buf[w->n] = '\0';
}

/* Walks target's components onto w->buf, following links. Recursion depth <= hops max. */
static int gempath_walk(struct gempath_walk *w, const char *target)
{
	const char *c;
	size_t clen, i = 0, len = strlen(target);

	if (target[0] == '/') {
		w->why = "absolute symlink target";
		return -1;
	}
	while (gempath_next(target, len, &i, &c, &clen)) {
		if (gempath_is_dot(c, clen))
			continue;
		if (gempath_is_dotdot(c, clen)) {
			if (w->n == 0) {
				w->why = "symlink points outside the gem";
				return -1;
			}
			gempath_pop(w);
			continue;
		}
		if (w->n + !!w->n + clen + 1 > w->size) {
			w->why = "path too long";
			return -1;
		}
		if (w->n)
			w->buf[w->n++] = '/';
		memcpy(w->buf + w->n, c, clen);
		w->n += clen;
		w->buf[w->n] = '\0';
		const char *link = w->link_fn(w->buf, w->n, w->data);
		if (!link)
			continue;
		if (++w->hops > GEMPATH_LINK_HOPS_MAX) {
			w->why = "too many levels of symbolic links";
			return -1;
		}
		gempath_pop(w);
		if (gempath_walk(w, link) < 0)
			return -1;
	}
	return 0;
}

int gempath_resolve(const char *dir, const char *target, gempath_link_fn *link_fn, void *data,
		    char *ret, size_t size, const char **ret_why)
{
	size_t n = strlen(dir);
	struct gempath_walk w = {
		.buf = ret, .size = size, .n = n, .link_fn = link_fn, .data = data
	};

	*ret_why = NULL;
	if (n + 1 > size) {
		*ret_why = "path too long";
		return -1;
	}
	memmove(ret, dir, n + 1);
	if (gempath_walk(&w, target) < 0) {
		*ret_why = w.why;
		return -1;
	}
	return (int)w.n;
}
