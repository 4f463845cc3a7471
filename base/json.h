/*
 * json.h: the small JSON writer scint needs for traces and reports.
 * Appends to an sbuf; strings are escaped per RFC 8259 (bytes >= 0x80 are
 * passed through, invalid UTF-8 included, as \u escapes would need decoding).
 */
#pragma once

#include <stddef.h>
#include <stdint.h>

struct sbuf;

void json_add_str(struct sbuf *sb, const char *s, size_t n);
void json_add_cstr(struct sbuf *sb, const char *s); /* NULL writes null */
