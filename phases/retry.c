#include "phases/retry.h"

#include <stdio.h>
#include <stdlib.h>

#include "base/err.h"
#include "engine/http.h"

bool retry_worthwhile(const struct http_req *req)
{
	if (req->res == -SC_ECANCELED || req->res == -SC_ETOOBIG)
		return false;
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

const char *retry_cause(const struct http_req *req)
{
	static char buf[320];

	if (req->res == -SC_ETRUNCATED && req->content_length >= 0)
		snprintf(buf, sizeof(buf), "download truncated (got %zu of %lld bytes)",
			 req->body.len, (long long)req->content_length);
	else if (req->res < 0)
		snprintf(buf, sizeof(buf), "%s", req->errmsg[0] ? req->errmsg : sc_strerror(req->res));
	else
		snprintf(buf, sizeof(buf), "HTTP %ld", req->status);
	return buf;
}
