#include "sc_test.h"

#include <string.h>

#include "base/hex.h"

SC_TEST(hex_lower_takes_only_lower_case)
{
	assert_true(hex_is_lower("0123456789abcdef", 16));
	assert_true(hex_is_lower("", 0));
	assert_false(hex_is_lower("0123456789ABCDEF", 16));
	assert_false(hex_is_lower("abcg", 4));
	assert_false(hex_is_lower("ab\0d", 4));
	/* only n bytes are looked at */
	assert_true(hex_is_lower("abc-", 3));
}

SC_TEST(hex_any_takes_both_cases)
{
	assert_true(hex_is_any("0123456789abcdefABCDEF", 22));
	assert_false(hex_is_any("abcG", 4));
	assert_false(hex_is_any(" abc", 4));
	assert_false(hex_is_any("ab/", 3));
}

SC_TEST(hex_sha256_is_64_lower)
{
	char s[66];

	memset(s, 'a', 64);
	s[64] = '\0';
	assert_true(hex_is_sha256(s, 64));
	assert_false(hex_is_sha256(s, 63));
	s[64] = 'a';
	s[65] = '\0';
	assert_false(hex_is_sha256(s, 65));
	s[10] = 'A';
	assert_false(hex_is_sha256(s, 64));
}

SC_TEST(hex_digit_values)
{
	static const char digits[] = "0123456789abcdef";

	for (int i = 0; i < 16; i++) {
		assert_int_equal(hex_digit(digits[i]), i);
		assert_int_equal(hex_digit((char)(digits[i] >= 'a' ? digits[i] - 32 : digits[i])), i);
	}
	for (int c = -128; c < 128; c++)
		if (!strchr("0123456789abcdefABCDEF", c) || c == 0)
			assert_int_equal(hex_digit((char)c), -1);
}
