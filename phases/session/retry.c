#include "phases/session/retry.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "base/clock.h"
#include "base/err.h"
#include "base/sbuf.h"
#include "base/trace.h"
#include "bundle/config.h"
#include "engine/http.h"
#include "engine/reactor.h"
#include "engine/sched.h"
#include "phases/mirror.h"

static struct net_policy policy = {
	.timeout_s = 10,
	.low_speed_bytes = 1024,
	.total_timeout_s = 600,
	.max_gem_bytes = (uint64_t)1 << 30,
	.max_index_bytes = (uint64_t)16 << 20,
};

/* "123", "64K", "512M", "1G" (powers of 1024); false when malformed or 0. */
static bool net_parse_size(const char *s, uint64_t *ret)
{
	char *end;
	unsigned shift = 0;

	if (!s || *s < '0' || *s > '9')
		return false;
	errno = 0;
	unsigned long long v = strtoull(s, &end, 10);
	if (errno)
		return false;
	switch (*end) {
	case 'k': case 'K': shift = 10; end++; break;
	case 'm': case 'M': shift = 20; end++; break;
	case 'g': case 'G': shift = 30; end++; break;
	default: break;
	}
	if ((*end == 'b' || *end == 'B') && shift)
		end++;
	if (*end || !v || v > (UINT64_MAX >> shift))
		return false;
	*ret = (uint64_t)v << shift;
	return true;
}

/* A positive count (seconds, bytes/s) of at most 10^7; false when malformed. */
static bool net_parse_count(const char *s, long *ret)
{
	char *end;

	if (!s || *s < '0' || *s > '9')
		return false;
	errno = 0;
	long v = strtol(s, &end, 10);
	if (errno || *end || v <= 0 || v > 10000000)
		return false;
	*ret = v;
	return true;
}

/*
 * Bundler's fetcher: ssl_ca_cert (a file, or a directory of certificates)
 * replaces the default store; without it OpenSSL's default paths are used,
 * which honour SSL_CERT_FILE and SSL_CERT_DIR (libcurl's own default does
 * not, so they are passed on). ssl_client_cert is one PEM holding the
 * certificate and its key. ssl_verify_mode 0 is OpenSSL's VERIFY_NONE.
 */
static void net_tls_load(const struct bconfig *c, struct http_options *ret)
{
	const char *ca = c ? bconfig_get(c, "BUNDLE_SSL_CA_CERT") : getenv("BUNDLE_SSL_CA_CERT");
	const char *cert = c ? bconfig_get(c, "BUNDLE_SSL_CLIENT_CERT")
			     : getenv("BUNDLE_SSL_CLIENT_CERT");
	const char *mode = c ? bconfig_get(c, "BUNDLE_SSL_VERIFY_MODE")
			     : getenv("BUNDLE_SSL_VERIFY_MODE");
	struct stat st;

	if (ca && *ca) {
		if (stat(ca, &st) == 0 && S_ISDIR(st.st_mode))
			ret->ca_path = ca;
		else
			ret->ca_file = ca;
	} else {
		const char *f = getenv("SSL_CERT_FILE"), *d = getenv("SSL_CERT_DIR");
		if (f && *f)
			ret->ca_file = f;
		if (d && *d)
			ret->ca_path = d;
	}
	if (cert && *cert)
		ret->client_cert = cert;
	if (mode && !strcmp(mode, "0"))
		ret->no_verify = true;
}

int net_policy_load(const struct bconfig *c, struct http_options *ret, struct sbuf *err)
{
	struct net_policy p = policy;
	const char *bad = NULL, *bad_value = NULL, *v;

	v = c ? bconfig_get(c, "BUNDLE_TIMEOUT") : getenv("BUNDLE_TIMEOUT");
	if (v && *v && !net_parse_count(v, &p.timeout_s))
		bad = "BUNDLE_TIMEOUT", bad_value = v;
	if ((v = getenv("SCINT_HTTP_LOW_SPEED")) && *v && !net_parse_count(v, &p.low_speed_bytes))
		bad = "SCINT_HTTP_LOW_SPEED", bad_value = v;
	if ((v = getenv("SCINT_HTTP_TIMEOUT")) && *v && !net_parse_count(v, &p.total_timeout_s))
		bad = "SCINT_HTTP_TIMEOUT", bad_value = v;
	if ((v = getenv("SCINT_MAX_DOWNLOAD")) && *v && !net_parse_size(v, &p.max_gem_bytes))
		bad = "SCINT_MAX_DOWNLOAD", bad_value = v;
	if ((v = getenv("SCINT_MAX_INDEX_DOWNLOAD")) && *v &&
	    !net_parse_size(v, &p.max_index_bytes))
		bad = "SCINT_MAX_INDEX_DOWNLOAD", bad_value = v;
	if (bad) {
		sbuf_addf(err, "invalid %s '%s': expected a positive %s", bad, bad_value,
			  strncmp(bad, "SCINT_MAX_", 10) ? "whole number"
							 : "size in bytes (K, M, G suffixes allowed)");
		return -SC_ECONFIG;
	}
	policy = p;
	net_tls_load(c, ret);
	ret->connect_timeout_ms = p.timeout_s * 1000;
	ret->stall_timeout_s = p.timeout_s;
	ret->low_speed_bytes = p.low_speed_bytes;
	ret->total_timeout_s = p.total_timeout_s;
	return 0;
}

const struct net_policy *net_policy(void)
{
	return &policy;
}

bool retry_worthwhile(const struct http_req *req)
{
	if (req->res == -SC_ECANCELED || req->res == -SC_ETOOBIG)
		return false;
	if (req->res == -ETIMEDOUT && req->timed_out == HTTP_TIMEOUT_TOTAL)
		return false; /* it had all the time there is: another try takes as long */
	if (req->res < 0)
		return true;
	return req->status >= 500 || req->status == 429 || req->status == 408;
}

unsigned retry_max(void)
{
	const char *e = getenv("SCINT_HTTP_RETRIES");

	return e ? (unsigned)atoi(e) : 3;
}

uint64_t retry_delay_ns(unsigned attempt)
{
	const char *e = getenv("SCINT_HTTP_RETRY_DELAY_MS");
	uint64_t base_ms = e ? (uint64_t)atoi(e) : 250;
	uint64_t d = base_ms << (attempt > 6 ? 6 : attempt - 1);

	/* +-25% jitter so that parallel CI jobs do not retry in lockstep */
	d = d * (75 + (uint64_t)(rand() % 51)) / 100;
	return d * 1000000u;
}

const char *retry_cause(const struct http_req *req, const char *limit_setting)
{
	static char buf[400];

	if (req->res == -SC_ETRUNCATED && req->content_length >= 0)
		snprintf(buf, sizeof(buf), "download truncated (got %llu of %lld bytes)",
			 (unsigned long long)req->received, (long long)req->content_length);
	else if (req->res == -SC_ETOOBIG && req->content_length >= 0 &&
		 (uint64_t)req->content_length > req->max_bytes)
		snprintf(buf, sizeof(buf),
			 "the server announced %lld bytes (Content-Length), over the limit of "
			 "%llu bytes (set %s to raise it)",
			 (long long)req->content_length, (unsigned long long)req->max_bytes,
			 limit_setting);
	else if (req->res == -SC_ETOOBIG)
		snprintf(buf, sizeof(buf),
			 "the body grew past the limit of %llu bytes and was cut off "
			 "(set %s to raise it)",
			 (unsigned long long)req->max_bytes, limit_setting);
	else if (req->res == -ETIMEDOUT && req->timed_out == HTTP_TIMEOUT_TOTAL)
		snprintf(buf, sizeof(buf),
			 "the transfer took longer than %ld s (got %llu bytes; set "
			 "SCINT_HTTP_TIMEOUT to allow more)",
			 policy.total_timeout_s, (unsigned long long)req->received);
	else if (req->res == -ETIMEDOUT && req->timed_out == HTTP_TIMEOUT_LOW_SPEED)
		snprintf(buf, sizeof(buf),
			 "the transfer was too slow: less than %ld bytes/s for %ld s (got %llu "
			 "bytes; BUNDLE_TIMEOUT and SCINT_HTTP_LOW_SPEED set these limits)",
			 policy.low_speed_bytes, policy.timeout_s, (unsigned long long)req->received);
	else if (req->res == -ETIMEDOUT && req->timed_out == HTTP_TIMEOUT_CONNECT)
		snprintf(buf, sizeof(buf), "no connection within %ld s (set BUNDLE_TIMEOUT to wait longer)",
			 policy.timeout_s);
	else if (req->res < 0)
		snprintf(buf, sizeof(buf), "%s", req->errmsg[0] ? req->errmsg : sc_strerror(req->res));
	else
		snprintf(buf, sizeof(buf), "HTTP %ld", req->status);
	return buf;
}

enum retry_next retry_index_answer(struct job *job, struct mirror_route *route,
				   const struct mirror_target *t, struct http_req *req,
				   unsigned *attempt, struct timer *retry_timer)
{
	if (mirror_should_fall_back(route, t, req)) {
		if (trace_enabled)
			trace_event(&job->ctx, "mirror-fallback", req->errmsg);
		(*attempt)--;
		http_req_release(req);
		return RETRY_FALL_BACK;
	}
	if (retry_worthwhile(req) && *attempt <= retry_max()) {
		if (trace_enabled)
			trace_event(&job->ctx, "retry", retry_cause(req, "SCINT_MAX_INDEX_DOWNLOAD"));
		http_req_release(req);
		reactor_timer_arm(sched_reactor(job->sched), retry_timer,
				  clock_now_ns() + retry_delay_ns(*attempt));
		return RETRY_LATER;
	}
	return RETRY_ANSWER;
}
