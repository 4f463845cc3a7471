/*
 * test_index_update.c: Repr-Digest / Digest parsing and the ranged-append
 * check (bundle/index_update.h).
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "base/digest.h"
#include "base/strv.h"
#include "bundle/index_update.h"
#include "sc_test.h"

/* sha256("") in base64 */
#define B64_EMPTY "47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU="

SC_TEST(index_digest_forms)
{
	char b64[45];

	/* RFC 9530 byte sequence */
	assert_int_equal(index_digest_sha256(STRV_LIT("sha-256=:" B64_EMPTY ":"), b64), 1);
	assert_string_equal(b64, B64_EMPTY);
	/* among others, any case, spaces */
	assert_int_equal(index_digest_sha256(STRV_LIT("sha-512=:AAAA:,  SHA-256=:" B64_EMPTY ": "),
					     b64),
			 1);
	assert_string_equal(b64, B64_EMPTY);
	/* RFC 3230 Digest: bare value */
	assert_int_equal(index_digest_sha256(STRV_LIT("SHA-256=" B64_EMPTY), b64), 1);
	assert_string_equal(b64, B64_EMPTY);
	/* quotes, as some servers send them */
	assert_int_equal(index_digest_sha256(STRV_LIT("sha-256=\"" B64_EMPTY "\""), b64), 1);
	/* no sha-256 */
	assert_int_equal(index_digest_sha256(STRV_LIT("sha-512=:AAAA:"), b64), 0);
	assert_int_equal(index_digest_sha256(STRV_LIT(""), b64), 0);
	assert_int_equal(index_digest_sha256(STRV_LIT("md5=abc, unixsum=3"), b64), 0);
	assert_int_equal(index_digest_sha256(STRV_LIT("sha-2567=:" B64_EMPTY ":"), b64), 0);
}

SC_TEST(index_digest_malformed)
{
	char b64[45];

	/* unbalanced wrapping */
	assert_int_equal(index_digest_sha256(STRV_LIT("sha-256=:" B64_EMPTY), b64), -EINVAL);
	assert_int_equal(index_digest_sha256(STRV_LIT("sha-256=:"), b64), -EINVAL);
	assert_int_equal(index_digest_sha256(STRV_LIT("sha-256=\"" B64_EMPTY ":"), b64), -EINVAL);
	/* wrong length, bad characters, no padding */
	assert_int_equal(index_digest_sha256(STRV_LIT("sha-256=:AAAA:"), b64), -EINVAL);
	assert_int_equal(
		index_digest_sha256(STRV_LIT("sha-256=:47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuF!=:"),
				    b64),
		-EINVAL);
	assert_int_equal(
		index_digest_sha256(STRV_LIT("sha-256=:47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFUA:"),
				    b64),
		-EINVAL);
	assert_int_equal(index_digest_sha256(STRV_LIT("sha-256="), b64), -EINVAL);
}

SC_TEST(index_digest_matches_sha256_base64)
{
	char b64[45], have[45];
	const char body[] = "---\n1.0.0 |checksum:abc\n";

	sha256_base64(body, strlen(body), have);
	char hdr[80];
	snprintf(hdr, sizeof(hdr), "sha-256=:%s:", have);
	assert_int_equal(index_digest_sha256(strv_from(hdr), b64), 1);
	assert_string_equal(b64, have);
}

SC_TEST(index_range)
{
	char buf[32];

	index_range_from(1, buf, sizeof(buf));
	assert_string_equal(buf, "0-");
	index_range_from(4096, buf, sizeof(buf));
	assert_string_equal(buf, "4095-");
	/* the first byte must be our last byte */
	assert_true(index_range_ok(STRV_LIT("---\na 1\n"), STRV_LIT("\nb 2\n")));
	assert_true(index_range_ok(STRV_LIT("x"), STRV_LIT("x")));
	assert_false(index_range_ok(STRV_LIT("---\na 1\n"), STRV_LIT("Xb 2\n")));
	assert_false(index_range_ok(STRV_LIT("---\n"), STRV_LIT("")));
	assert_false(index_range_ok(STRV_LIT(""), STRV_LIT("\n")));
}
