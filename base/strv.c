#include "strv.h"

static bool strv_is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

struct strv strv_trim(struct strv a)
{
	while (a.len && strv_is_space(a.p[0])) {
		a.p++;
		a.len--;
	}
	while (a.len && strv_is_space(a.p[a.len - 1]))
		a.len--;
	return a;
}

bool strv_cut(struct strv a, char sep, struct strv *ret_head, struct strv *ret_tail)
{
	const char *q = a.len ? memchr(a.p, sep, a.len) : NULL;

	if (!q) {
		*ret_head = a;
		*ret_tail = (struct strv){ a.p + a.len, 0 };
		return false;
	}
	*ret_head = (struct strv){ a.p, (size_t)(q - a.p) };
	*ret_tail = (struct strv){ q + 1, a.len - (size_t)(q - a.p) - 1 };
	return true;
}

bool strv_next_line(struct strv *rest, struct strv *ret_line)
{
	struct strv line, tail;

	if (rest->len == 0)
		return false;
	strv_cut(*rest, '\n', &line, &tail);
	if (line.len && line.p[line.len - 1] == '\r')
		line.len--;
	*ret_line = line;
	*rest = tail;
	return true;
}

int strv_cmp(struct strv a, struct strv b)
{
	size_t n = a.len < b.len ? a.len : b.len;
	int c = n ? memcmp(a.p, b.p, n) : 0;

	if (c)
		return c;
	return a.len < b.len ? -1 : a.len > b.len;
}
