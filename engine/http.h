/*
 * http.h: HTTP transfers through libcurl's multi interface, driven by the
 * reactor. This is the only module that includes <curl/curl.h>.
 *
 * curl's socket interest (CURLMOPT_SOCKETFUNCTION) becomes epoll
 * registrations; its timer (CURLMOPT_TIMERFUNCTION) only stores a deadline
 * in a reactor timer. Readiness is fed back with curl_multi_socket_action().
 * Finished transfers are collected by http_drain() (once per tick), which
 * runs each request's done callback: callbacks only record and wake jobs.
 *
 * A request's body is kept in memory, or handed to the caller's sink as it
 * arrives (a 200 body; the sink may pause the transfer until http_resume(),
 * which is how a caller bounds the memory of a large download). Either way
 * the body is bounded by max_bytes: a Content-Length above it fails the
 * transfer before any body byte is taken, a body that grows past it is cut
 * off (res = -SC_ETOOBIG). The SHA-256 is computed while the body streams
 * in. Requests may be signed with AWS SigV4 (S3). Credentials go to curl
 * only (never to messages, traces or files); messages use the redacted URL.
 * A caller's header value holding a CR or LF is refused by http_start()
 * (-EINVAL): it would start another header. An if_none_match that is not
 * one line (a stored ETag) is left out instead: the request is a plain GET.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/digest.h"
#include "base/list.h"
#include "base/sbuf.h"

struct reactor;
struct trace_ctx;
struct http_req;

typedef void http_done_fn(struct http_req *req);

enum http_timeout {
	HTTP_TIMEOUT_NONE,
	HTTP_TIMEOUT_CONNECT,   /* no connection within connect_timeout_ms */
	HTTP_TIMEOUT_LOW_SPEED, /* slower than low_speed_bytes/s for stall_timeout_s */
	HTTP_TIMEOUT_TOTAL,     /* longer than total_timeout_s */
};

/* A sink's answer when it has no room: the same bytes come again after http_resume(). */
#define HTTP_SINK_PAUSE ((size_t)0x10000001)

/*
 * Takes n body bytes of a 200 response: returns n, HTTP_SINK_PAUSE, or 0 to
 * abort the transfer (res = -SC_ECANCELED). Runs from curl's callbacks (or
 * from http_resume): it must not start, cancel, pause or resume transfers.
 * A sink should rather take the bytes and have its job call http_pause():
 * pausing from here, inside the reactor's dispatch, makes curl drop the
 * socket's registration while the reactor may still hold events for it.
 */
typedef size_t http_sink_fn(struct http_req *req, const char *p, size_t n);

struct http_req {
	/* inputs, owned by the caller and valid until done has run */
	const char *url;
	const char *userpwd;       /* "user:password" or NULL */
	const char *if_none_match; /* ETag to revalidate, or NULL */
	const char *range;         /* "123-" or NULL */
	const char *extra_header;  /* one more request header ("Name: value"), or NULL */
	const char *bearer;        /* "Authorization: Bearer <token>" is sent (never traced), or NULL */
	/*
	 * AWS SigV4 ("aws:amz:<region>:s3"), or NULL: the request is signed by
	 * libcurl with userpwd as "key id:secret" (no Basic auth then), with an
	 * x-amz-content-sha256 header of the body's SHA-256 (libcurl 7.88 sends
	 * none, S3 requires one) and, when aws_token is set, x-amz-security-token.
	 */
	const char *aws_sigv4;
	const char *aws_token;
	const char *method;        /* "PUT" or "HEAD"; NULL: GET */
	const void *upload;        /* PUT: the request body (caller-owned, valid until done) */
	size_t upload_len;
	uint64_t max_bytes;        /* body limit; 0 = 1 GiB */
	long connect_timeout_ms;   /* 0: the http's connect_timeout_ms */
	bool want_sha256;
	http_sink_fn *sink;        /* NULL: the body goes to `body` */
	http_done_fn *done;
	void *data;
	const struct trace_ctx *ctx;

	/* outputs, valid in done */
	int res;             /* 0: a response arrived (any status); else -SC_ENET, -SC_ETRUNCATED,
			      * -SC_ETOOBIG (over max_bytes), -ETIMEDOUT (too slow, too long) ... */
	long status;         /* HTTP status, 0 without a response */
	struct sbuf body;    /* the response body (without a sink); the caller releases it */
	uint64_t received;   /* body bytes of the last response (taken by the sink, or in body) */
	struct sbuf etag;    /* ETag response header, "" when none */
	struct sbuf repr_digest; /* Repr-Digest response header, else Digest, "" when none */
	char sha256[DIGEST_SHA256_HEX];
	char errmsg[256];    /* transport error text when res < 0 */
	int64_t content_length; /* announced length, -1 when unknown */
	int64_t range_start;    /* the first byte a Content-Range names ("bytes N-M/T"), -1: none */
	enum http_timeout timed_out; /* which limit a -ETIMEDOUT transfer ran into */
	bool connect_failed; /* res < 0 before any connection: refused, unresolved, connect timeout */

	/* private: */
	struct list_head link;
	void *easy;
	void *headers;
	struct digest digest;
	uint64_t t_start_ns;
	char *redacted_url;
	bool active;
	bool paused;
	bool cut_off; /* the body grew past max_bytes */
};

struct http;

struct http_options {
	unsigned max_host_connections; /* default 8 */
	unsigned max_total_connections; /* default 32 */
	long connect_timeout_ms;       /* default 10000 */
	long low_speed_bytes;          /* abort if slower than this many bytes/s ... (default 1) */
	long stall_timeout_s;          /* ... for this long; default 30 */
	long total_timeout_s;          /* abort a transfer that takes longer; 0 = no limit */
	const char *user_agent;
	/* TLS, as Bundler's fetcher sets them up (NULL: libcurl's defaults) */
	const char *ca_file;     /* CA bundle (BUNDLE_SSL_CA_CERT, else SSL_CERT_FILE) */
	const char *ca_path;     /* CA directory (BUNDLE_SSL_CA_CERT naming one, else SSL_CERT_DIR) */
	const char *client_cert; /* PEM with certificate and key (BUNDLE_SSL_CLIENT_CERT) */
	bool no_verify;          /* BUNDLE_SSL_VERIFY_MODE=0 (OpenSSL's VERIFY_NONE) */
	bool verbose;
};

/* Cheap: libcurl is loaded on the first http_start(). Never NULL. */
struct http *http_new(struct reactor *r, const struct http_options *opts);
void http_free(struct http *h);

/*
 * Starts a transfer. Returns 0, or -errno / -SC_ENET / -SC_ENOTFOUND (libcurl
 * cannot be loaded; req->errmsg says why) / -EINVAL (a header value with a
 * line break) when it cannot start; done is not called then.
 */
int http_start(struct http *h, struct http_req *req);
/* Aborts a running transfer; its done callback runs with res = -SC_ECANCELED. */
void http_cancel(struct http *h, struct http_req *req);
/* Stops receiving for a transfer until http_resume() (from a job step, not a callback). */
void http_pause(struct http *h, struct http_req *req);
/* Continues a paused transfer, whoever paused it (may call the sink at once). */
void http_resume(struct http *h, struct http_req *req);
/* Collects finished transfers and runs their done callbacks. Returns how many. */
unsigned http_drain(struct http *h);
unsigned http_active(const struct http *h);

struct http_stats {
	uint64_t requests;
	uint64_t bytes;
	unsigned in_flight;
};
void http_get_stats(const struct http *h, struct http_stats *ret);

/* Releases the request's buffers (body, etag); NULL-safe. */
void http_req_release(struct http_req *req);
