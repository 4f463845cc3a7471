#include "json.h"

#include <string.h>

#include "sbuf.h"

void json_add_str(struct sbuf *sb, const char *s, size_t n)
{
	static const char hexd[] = "0123456789abcdef";

	sbuf_addch(sb, '"');
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		switch (c) {
		case '"':
			sbuf_add(sb, "\\\"", 2);
			break;
		case '\\':
			sbuf_add(sb, "\\\\", 2);
			break;
		case '\n':
			sbuf_add(sb, "\\n", 2);
			break;
		case '\t':
			sbuf_add(sb, "\\t", 2);
			break;
		case '\r':
			sbuf_add(sb, "\\r", 2);
			break;
		default:
			if (c < 0x20) {
				char esc[6] = { '\\', 'u', '0', '0', hexd[c >> 4], hexd[c & 15] };
				sbuf_add(sb, esc, 6);
			} else {
				sbuf_addch(sb, (char)c);
			}
		}
	}
	sbuf_addch(sb, '"');
}

void json_add_cstr(struct sbuf *sb, const char *s)
{
	if (!s)
		sbuf_add(sb, "null", 4);
	else
		json_add_str(sb, s, strlen(s));
}
