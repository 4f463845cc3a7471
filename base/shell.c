#include "base/shell.h"

#include <errno.h>
#include <string.h>

#include "base/arena.h"
#include "base/sbuf.h"

int shell_split(struct arena *a, const char *s, const char ***ret_words)
{
	struct sbuf w = SBUF_INIT;
	const char **words = NULL;
	size_t n = 0, cap = 0;
	int r = 0;

	while (*s) {
		while (*s == ' ' || *s == '\t' || *s == '\n')
			s++;
		if (!*s)
			break;
		sbuf_reset(&w);
		sbuf_addstr(&w, ""); /* an empty quoted word is still a word */
		while (*s && *s != ' ' && *s != '\t' && *s != '\n') {
			if (*s == '\'') {
				const char *e = strchr(s + 1, '\'');
				if (!e) {
					r = -EINVAL;
					goto out;
				}
				sbuf_add(&w, s + 1, (size_t)(e - s - 1));
				s = e + 1;
			} else if (*s == '"') {
				s++;
				while (*s && *s != '"') {
					if (*s == '\\' && s[1] && strchr("\"\\$`\n", s[1])) {
						if (s[1] != '\n')
							sbuf_addch(&w, s[1]);
						s += 2;
					} else {
						sbuf_addch(&w, *s++);
					}
				}
				if (*s != '"') {
					r = -EINVAL;
					goto out;
				}
				s++;
			} else if (*s == '\\' && s[1]) {
				if (s[1] != '\n')
					sbuf_addch(&w, s[1]);
				s += 2;
			} else {
				sbuf_addch(&w, *s++);
			}
		}
		words = arena_grow_array(a, words, sizeof(*words), n, &cap);
		words[n++] = arena_strndup(a, w.buf, w.len);
	}
	*ret_words = words;
	r = (int)n;
out:
	sbuf_release(&w);
	return r;
}
