/*
 * retry.h: the retry policy shared by the HTTP phases (index, fetch).
 *
 * Transport errors (connect, reset, timeout, truncated body) and 5xx/429
 * answers are retried with exponential backoff and jitter; 4xx never are.
 * The attempt count is bounded (SCINT_HTTP_RETRIES, default 3 retries).
 */
#pragma once

#include <stdbool.h>
#include <stdint.h>

struct http_req;

bool retry_worthwhile(const struct http_req *req);
unsigned retry_max(void);
/* Delay before retry number `attempt` (1-based), in nanoseconds. */
uint64_t retry_delay_ns(unsigned attempt);
/* "HTTP 503", "connection reset ...": a short cause for messages (static buffer). */
const char *retry_cause(const struct http_req *req);
