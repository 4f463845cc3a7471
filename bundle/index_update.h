/*
 * index_update.h: the pure rules of keeping a compact index file current
 * (phases/index_sync.c does the I/O), as Bundler's CompactIndexClient::Updater.
 *
 * A copy is extended with "Range: bytes=<size-1>-": the answer's first byte
 * must equal the copy's last byte (the server's file still starts with our
 * copy, as far as one byte tells), and the rest is appended. A file is
 * verified against the sha-256 of a Repr-Digest (RFC 9530: "sha-256=:<b64>:")
 * or Digest (RFC 3230: "SHA-256=<b64>") header when the server sends one.
 * No I/O here.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "base/strv.h"

/*
 * Finds the sha-256 entry of a Repr-Digest or Digest header value
 * ("sha-256=:<base64>:, sha-512=:...:", algorithm names in any case; the
 * value in colons, in double quotes, or bare, as Bundler's parse_digests
 * unwraps it) and copies its base64 (44 characters) into ret_b64 (45 bytes,
 * NUL-terminated). Returns 1, 0 when the header names no sha-256, -EINVAL
 * when the sha-256 entry is malformed (unbalanced wrapping, not 44 base64
 * characters ending in '=').
 */
int index_digest_sha256(struct strv header, char ret_b64[45]);

/* The Range value (for curl: "<from>-") that extends a copy of size bytes (size > 0). */
void index_range_from(size_t size, char *buf, size_t bufsz);

/*
 * Checks a 206 body against the copy it extends: true when the body is not
 * empty and its first byte equals the copy's last byte. The bytes to append
 * are then body without its first byte.
 */
bool index_range_ok(struct strv copy, struct strv body);
