/*
 * retry.h: the network policy shared by the HTTP phases (index, fetch):
 * retries, size limits and time limits.
 *
 * Transport errors (connect, reset, a stalled transfer, truncated body) and
 * 5xx/429 answers are retried with exponential backoff and jitter; 4xx
 * never are, nor a body over its size limit, nor a transfer that used up
 * its whole time limit. The attempt count is bounded (SCINT_HTTP_RETRIES,
 * default 3 retries).
 *
 * Settings (read once by net_policy_load; git.c applies the time limits to
 * its git children too):
 *   BUNDLE_TIMEOUT            seconds (Bundler's setting, from its config
 *                             or the environment; default 10): the connect
 *                             timeout, and a transfer slower than
 *                             SCINT_HTTP_LOW_SPEED bytes/s for this long
 *                             is aborted;
 *   SCINT_HTTP_LOW_SPEED      bytes/s (default 1024);
 *   SCINT_HTTP_TIMEOUT        seconds one transfer may take in all
 *                             (default 600);
 *   SCINT_MAX_DOWNLOAD        bytes of one .gem (default 1G);
 *   SCINT_MAX_INDEX_DOWNLOAD  bytes of one compact index file, kept in
 *                             memory (default 16M).
 * Sizes take a K/M/G suffix (powers of 1024).
 * TLS, as Bundler's fetcher: BUNDLE_SSL_CA_CERT (a CA file or directory;
 * else SSL_CERT_FILE / SSL_CERT_DIR, which OpenSSL's default store reads),
 * BUNDLE_SSL_CLIENT_CERT (PEM with certificate and key),
 * BUNDLE_SSL_VERIFY_MODE=0 (no verification).
 */
#pragma once

#include <stdbool.h>
#include <stdint.h>

struct bconfig;
struct http_options;
struct http_req;
struct job;
struct mirror_route;
struct mirror_target;
struct sbuf;
struct timer;

struct net_policy {
	long timeout_s;       /* BUNDLE_TIMEOUT */
	long low_speed_bytes; /* SCINT_HTTP_LOW_SPEED */
	long total_timeout_s; /* SCINT_HTTP_TIMEOUT */
	uint64_t max_gem_bytes;   /* SCINT_MAX_DOWNLOAD */
	uint64_t max_index_bytes; /* SCINT_MAX_INDEX_DOWNLOAD */
};

/*
 * Reads the settings into the policy and fills the HTTP options from it.
 * Returns 0, or -SC_ECONFIG with a message naming the setting in err.
 */
int net_policy_load(const struct bconfig *c, struct http_options *ret, struct sbuf *err);
/* The policy in force (the defaults until net_policy_load has run). */
const struct net_policy *net_policy(void);

bool retry_worthwhile(const struct http_req *req);
unsigned retry_max(void);
/* Delay before retry number `attempt` (1-based), in nanoseconds. */
uint64_t retry_delay_ns(unsigned attempt);
/*
 * "HTTP 503", "connection reset ...", "the body is 5368709120 bytes
 * (Content-Length), over the limit of 1073741824 bytes (SCINT_MAX_DOWNLOAD)":
 * a short cause for messages (static buffer). limit_setting names the setting
 * that raises the request's max_bytes.
 */
const char *retry_cause(const struct http_req *req, const char *limit_setting);

enum retry_next {
	RETRY_ANSWER,	 /* neither: the caller judges the answer */
	RETRY_FALL_BACK, /* ask the source itself now (mirror_should_fall_back) */
	RETRY_LATER,	 /* a retry is worthwhile: retry_timer is armed */
};
/*
 * The first look at a compact index request's answer (index.c,
 * index_sync.c): when the mirror it went to should fall back, the attempt
 * does not count (*attempt is decremented) and the caller requests again at
 * once; when a retry is worthwhile (attempts left), retry_timer is armed on
 * the job's reactor for retry_delay_ns(*attempt), and its callback requests
 * again. In both cases req is released and the event traced on the job.
 */
enum retry_next retry_index_answer(struct job *job, struct mirror_route *route,
				   const struct mirror_target *t, struct http_req *req,
				   unsigned *attempt, struct timer *retry_timer);
