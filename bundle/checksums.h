/*
 * checksums.h: the checksums.yaml of a .gem package (pure, no I/O).
 *
 * RubyGems writes one mapping per algorithm:
 *
 *   ---
 *   SHA256:
 *     metadata.gz: 7b1f...
 *     data.tar.gz: 0a4c...
 *
 * The text is the package's own, so hostile: the reader never allocates,
 * never writes, and what it returns is a view into the text.
 */
#pragma once

#include <stdbool.h>

#include "base/strv.h"

/*
 * Finds the value of "<name>:" under "SHA256:" in yaml. True with *ret the
 * value (trimmed; one pair of matching quotes removed), false when absent.
 * The caller compares it: a malformed value is simply a mismatch.
 */
bool gem_checksums_sha256(struct strv yaml, const char *name, struct strv *ret);
