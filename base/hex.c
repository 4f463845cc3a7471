#include "hex.h"

/*
 * Without an early exit, so that the compiler vectorizes it: a cached
 * manifest has one digest per file, all checked when the entry is loaded.
 */
bool hex_is_lower(const char *s, size_t n)
{
	unsigned char bad = 0;

	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		bad |= (unsigned char)((unsigned char)(c - '0') > 9 &&
				       (unsigned char)(c - 'a') > 5);
	}
	return !bad;
}

bool hex_is_any(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f') ||
		      (s[i] >= 'A' && s[i] <= 'F')))
			return false;
	return true;
}

bool hex_is_sha256(const char *s, size_t n)
{
	return n == 64 && hex_is_lower(s, n);
}

int hex_digit(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}
