/*
 * digest.h: SHA-256 and MD5 through OpenSSL's EVP interface.
 *
 * A digest context is owned by its user: init, update any number of times,
 * final (which releases it). Hex output is lower-case and NUL-terminated.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#define DIGEST_SHA256_HEX 65
#define DIGEST_MD5_HEX	  33

struct digest {
	void *ctx; /* EVP_MD_CTX */
};

enum digest_kind {
	DIGEST_SHA256,
	DIGEST_MD5,
};

void digest_init(struct digest *d, enum digest_kind kind);
void digest_update(struct digest *d, const void *p, size_t n);
/* Writes the hex digest (65 bytes for SHA-256, 33 for MD5) and releases the context. */
void digest_final_hex(struct digest *d, char *ret_hex);
/* Releases a context without finishing it (NULL-tolerant). */
void digest_release(struct digest *d);

void sha256_hex(const void *p, size_t n, char ret_hex[DIGEST_SHA256_HEX]);
/* Base64 of the raw SHA-256 (for Repr-Digest); ret must hold 45 bytes. */
void sha256_base64(const void *p, size_t n, char ret_b64[45]);
