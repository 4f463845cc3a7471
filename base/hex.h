/*
 * hex.h: is a string made of hex digits, as digests and git revisions are written.
 *
 * hex_is_lower takes only 0-9 and a-f (what sha256_hex and git print, and
 * what a path or a lockfile field made from a digest must be); hex_is_any also
 * takes A-F. Both look at exactly n bytes, so the caller decides the length
 * (n == 0 is true). hex_is_sha256 is the lower-case hex of a SHA-256: 64 of
 * them. hex_digit is the value of one hex digit (either case), or -1.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>

bool hex_is_lower(const char *s, size_t n);
bool hex_is_any(const char *s, size_t n);
bool hex_is_sha256(const char *s, size_t n);
int hex_digit(char c);
