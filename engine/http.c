#include "engine/http.h"

#include <curl/curl.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>

#include "base/clock.h"
#include "base/compiler.h"
#include "base/dl.h"
#include "base/err.h"
#include "base/trace.h"
#include "base/url.h"
#include "engine/reactor.h"

#define HTTP_BODY_MAX_DEFAULT ((uint64_t)1 << 30)

_Static_assert(HTTP_SINK_PAUSE == CURL_WRITEFUNC_PAUSE, "the sink's pause is curl's");

struct http_sock {
	struct wake wake;
	struct http *h;
};

struct http {
	CURLM *multi;
	struct reactor *r;
	struct timer timer;
	struct http_options opts;
	struct list_head active;
	struct list_head finished; /* canceled requests waiting for http_drain */
	struct http_stats stats;
	bool timer_due;
	char load_error[256];
};

static int http_sock_cb(CURL *easy, curl_socket_t s, int what, void *userp, void *socketp);
static int http_timer_cb(CURLM *multi, long timeout_ms, void *userp);
static void http_dispatch(struct wake *w, uint32_t events, void *data);
static void http_timer_fire(struct timer *t);

/*
 * libcurl, loaded on first use (see base/dl.h): a no-op install never pays
 * for loading it and its dependencies.
 */
static struct {
	__typeof__(curl_easy_cleanup) *easy_cleanup;
	__typeof__(curl_easy_getinfo) *easy_getinfo;
	__typeof__(curl_easy_init) *easy_init;
	__typeof__(curl_easy_pause) *easy_pause;
	__typeof__(curl_easy_setopt) *easy_setopt;
	__typeof__(curl_global_init) *global_init;
	__typeof__(curl_multi_add_handle) *multi_add_handle;
	__typeof__(curl_multi_assign) *multi_assign;
	__typeof__(curl_multi_cleanup) *multi_cleanup;
	__typeof__(curl_multi_info_read) *multi_info_read;
	__typeof__(curl_multi_init) *multi_init;
	__typeof__(curl_multi_remove_handle) *multi_remove_handle;
	__typeof__(curl_multi_setopt) *multi_setopt;
	__typeof__(curl_multi_socket_action) *multi_socket_action;
	__typeof__(curl_slist_append) *slist_append;
	__typeof__(curl_slist_free_all) *slist_free_all;
} cu;

#define CU_SYM(fn) { "curl_" #fn, (void **)&cu.fn }

static const struct dl_sym cu_syms[] = {
	CU_SYM(easy_cleanup),
	CU_SYM(easy_getinfo),
	CU_SYM(easy_init),
	CU_SYM(easy_pause),
	CU_SYM(easy_setopt),
	CU_SYM(global_init),
	CU_SYM(multi_add_handle),
	CU_SYM(multi_assign),
	CU_SYM(multi_cleanup),
	CU_SYM(multi_info_read),
	CU_SYM(multi_init),
	CU_SYM(multi_remove_handle),
	CU_SYM(multi_setopt),
	CU_SYM(multi_socket_action),
	CU_SYM(slist_append),
	CU_SYM(slist_free_all),
};

static void *cu_handle;

static bool http_global_ready;

struct http *http_new(struct reactor *r, const struct http_options *opts)
{
	struct http *h = sc_xcalloc(1, sizeof(*h));

	h->r = r;
	h->opts = *opts;
	if (!h->opts.max_host_connections)
		h->opts.max_host_connections = 8;
	if (!h->opts.max_total_connections)
		h->opts.max_total_connections = 32;
	if (!h->opts.connect_timeout_ms)
		h->opts.connect_timeout_ms = 10000;
	if (!h->opts.low_speed_bytes)
		h->opts.low_speed_bytes = 1;
	if (!h->opts.stall_timeout_s)
		h->opts.stall_timeout_s = 30;
	list_init(&h->active);
	list_init(&h->finished);
	timer_init(&h->timer, http_timer_fire);
	reactor_set_dispatch(r, WAKE_HTTP, http_dispatch, h);
	return h;
}

/* Loads libcurl and creates the multi handle, on the first transfer. */
static int http_start_curl(struct http *h)
{
	struct sbuf err = SBUF_INIT;

	if (h->multi)
		return 0;
	int r = dl_load(&cu_handle, "libcurl.so.4", cu_syms, SC_ARRAY_SIZE(cu_syms), &err);
	if (r < 0) {
		snprintf(h->load_error, sizeof(h->load_error), "%s (install libcurl4)", err.buf);
		sbuf_release(&err);
		return r;
	}
	if (!http_global_ready) {
		if (cu.global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
			return -SC_ENET;
		http_global_ready = true;
	}
	h->multi = cu.multi_init();
	if (!h->multi)
		return -ENOMEM;
	cu.multi_setopt(h->multi, CURLMOPT_SOCKETFUNCTION, http_sock_cb);
	cu.multi_setopt(h->multi, CURLMOPT_SOCKETDATA, h);
	cu.multi_setopt(h->multi, CURLMOPT_TIMERFUNCTION, http_timer_cb);
	cu.multi_setopt(h->multi, CURLMOPT_TIMERDATA, h);
	cu.multi_setopt(h->multi, CURLMOPT_PIPELINING, (long)CURLPIPE_MULTIPLEX);
	cu.multi_setopt(h->multi, CURLMOPT_MAX_HOST_CONNECTIONS,
			(long)h->opts.max_host_connections);
	cu.multi_setopt(h->multi, CURLMOPT_MAX_TOTAL_CONNECTIONS,
			(long)h->opts.max_total_connections);
	return 0;
}

void http_free(struct http *h)
{
	if (!h)
		return;
	SC_ASSERT(list_empty(&h->active));
	reactor_timer_disarm(h->r, &h->timer);
	if (h->multi)
		cu.multi_cleanup(h->multi); /* closes sockets through http_sock_cb */
	free(h);
}

/* curl tells us which sockets to watch; we mirror that into epoll. */
static int http_sock_cb(CURL *easy, curl_socket_t s, int what, void *userp, void *socketp)
{
	struct http *h = userp;
	struct http_sock *hs = socketp;

	(void)easy;
	if (what == CURL_POLL_REMOVE) {
		if (hs) {
			reactor_del(h->r, &hs->wake);
			free(hs);
			cu.multi_assign(h->multi, s, NULL);
		}
		return 0;
	}
	uint32_t ev = (what & CURL_POLL_IN ? EPOLLIN : 0) | (what & CURL_POLL_OUT ? EPOLLOUT : 0);
	if (!hs) {
		hs = sc_xcalloc(1, sizeof(*hs));
		hs->wake = (struct wake){ .kind = WAKE_HTTP, .fd = s };
		hs->h = h;
		if (reactor_add(h->r, &hs->wake, ev) < 0) {
			free(hs);
			return -1;
		}
		cu.multi_assign(h->multi, s, hs);
	} else if (reactor_mod(h->r, &hs->wake, ev) < 0) {
		return -1;
	}
	return 0;
}

/* Only stores the deadline (curl's rule: never call curl from here). */
static int http_timer_cb(CURLM *multi, long timeout_ms, void *userp)
{
	struct http *h = userp;

	(void)multi;
	if (timeout_ms < 0)
		reactor_timer_disarm(h->r, &h->timer);
	else
		reactor_timer_arm(h->r, &h->timer,
				  clock_now_ns() + (uint64_t)timeout_ms * 1000000u);
	return 0;
}

static void http_timer_fire(struct timer *t)
{
	struct http *h = container_of(t, struct http, timer);
	int running;

	cu.multi_socket_action(h->multi, CURL_SOCKET_TIMEOUT, 0, &running);
}

static void http_dispatch(struct wake *w, uint32_t events, void *data)
{
	struct http *h = data;
	int running, mask = 0;

	if (events & EPOLLIN)
		mask |= CURL_CSELECT_IN;
	if (events & EPOLLOUT)
		mask |= CURL_CSELECT_OUT;
	if (events & (EPOLLERR | EPOLLHUP))
		mask |= CURL_CSELECT_ERR;
	cu.multi_socket_action(h->multi, w->fd, mask, &running);
}

/*
 * Body bytes: counted against max_bytes (an endless body is cut off here),
 * then kept in `body` or handed to the sink (a 200 body; with a sink, other
 * statuses' bodies are only counted).
 */
static size_t http_write_cb(char *p, size_t size, size_t nmemb, void *userp)
{
	struct http_req *req = userp;
	size_t n = size * nmemb;

	if (n > req->max_bytes - req->received) {
		req->cut_off = true;
		return 0; /* curl aborts with CURLE_WRITE_ERROR */
	}
	if (req->sink) {
		if (req->status == 200) {
			size_t k = req->sink(req, p, n);
			if (k == HTTP_SINK_PAUSE) {
				req->paused = true;
				return CURL_WRITEFUNC_PAUSE;
			}
			if (k != n)
				return 0;
		}
	} else if (sbuf_add(&req->body, p, n) < 0) {
		req->cut_off = true;
		return 0;
	}
	req->received += n;
	if (req->want_sha256)
		digest_update(&req->digest, p, n);
	return n;
}

static void http_header_value(struct sbuf *dst, const char *p, size_t n, size_t skip)
{
	sbuf_reset(dst);
	sbuf_add(dst, p + skip, n - skip);
	sbuf_rtrim(dst);
	while (dst->len && dst->buf[0] == ' ') {
		memmove(dst->buf, dst->buf + 1, dst->len);
		dst->len--;
	}
}

/* "HTTP/1.1 200 OK" -> 200; 0 when malformed. */
static long http_status_of(const char *p, size_t n)
{
	size_t i = 5;
	long st = 0;

	while (i < n && p[i] != ' ')
		i++;
	while (i < n && p[i] == ' ')
		i++;
	for (unsigned d = 0; d < 3; d++, i++) {
		if (i >= n || p[i] < '0' || p[i] > '9')
			return 0;
		st = st * 10 + (p[i] - '0');
	}
	return st;
}

/* A Content-Length value (saturating); -1 when malformed. */
static int64_t http_length_of(const char *p, size_t n)
{
	size_t i = 0;
	int64_t v = 0;

	while (i < n && (p[i] == ' ' || p[i] == '\t'))
		i++;
	if (i >= n || p[i] < '0' || p[i] > '9')
		return -1;
	for (; i < n && p[i] >= '0' && p[i] <= '9'; i++)
		v = v > (INT64_MAX - 9) / 10 ? INT64_MAX : v * 10 + (p[i] - '0');
	return v;
}

static size_t http_header_cb(char *p, size_t size, size_t nmemb, void *userp)
{
	struct http_req *req = userp;
	size_t n = size * nmemb;

	if (n > 5 && !strncasecmp(p, "ETag:", 5))
		http_header_value(&req->etag, p, n, 5);
	else if (n > 12 && !strncasecmp(p, "Repr-Digest:", 12))
		http_header_value(&req->repr_digest, p, n, 12);
	else if (n > 7 && !strncasecmp(p, "Digest:", 7) && !req->repr_digest.len)
		http_header_value(&req->repr_digest, p, n, 7); /* RFC 3230's, when no Repr-Digest */
	else if (n > 15 && !strncasecmp(p, "Content-Length:", 15)) {
		req->content_length = http_length_of(p + 15, n - 15);
		/* Refused before any body byte (a redirect's or an error's body is only counted). */
		if (req->status >= 200 && req->status < 300 && req->content_length >= 0 &&
		    (uint64_t)req->content_length > req->max_bytes) {
			req->cut_off = true;
			return 0; /* curl aborts with CURLE_WRITE_ERROR */
		}
	} else if (n > 14 && !strncasecmp(p, "Content-Range:", 14)) {
		const char *q = p + 14, *end = p + n;
		while (q < end && (*q == ' ' || *q == '\t'))
			q++;
		if (end - q > 6 && !strncasecmp(q, "bytes ", 6) && q[6] >= '0' && q[6] <= '9')
			req->range_start = http_length_of(q + 6, (size_t)(end - q - 6));
	} else if (n > 5 && !strncmp(p, "HTTP/", 5)) {
		/* A new response (redirect or 100-continue): drop what the previous one sent. */
		req->status = http_status_of(p, n);
		req->content_length = -1;
		req->range_start = -1;
		req->received = 0;
		sbuf_reset(&req->body);
		sbuf_reset(&req->etag);
		sbuf_reset(&req->repr_digest);
		if (req->want_sha256) {
			digest_release(&req->digest);
			digest_init(&req->digest, DIGEST_SHA256);
		}
	}
	return n;
}

/*
 * A header value must stay one line: libcurl 7.88 sends a CR or LF inside a
 * custom header as given, which would start another header.
 */
static bool http_one_line(const char *v)
{
	return !v || !strpbrk(v, "\r\n");
}

int http_start(struct http *h, struct http_req *req)
{
	CURL *e;
	struct curl_slist *hdrs = NULL;
	struct sbuf red = SBUF_INIT;

	SC_ASSERT(!req->active);
	if (!http_one_line(req->extra_header) || !http_one_line(req->bearer) ||
	    !http_one_line(req->aws_token) || !http_one_line(req->range) ||
	    !http_one_line(req->method)) {
		snprintf(req->errmsg, sizeof(req->errmsg), "a request header holds a line break");
		return -EINVAL;
	}
	int k = http_start_curl(h);
	if (k < 0) {
		snprintf(req->errmsg, sizeof(req->errmsg), "%s", h->load_error);
		return k;
	}
	e = cu.easy_init();
	if (!e)
		return -ENOMEM;
	req->res = 0;
	req->status = 0;
	req->content_length = -1;
	req->range_start = -1;
	req->received = 0;
	req->paused = false;
	req->cut_off = false;
	req->timed_out = HTTP_TIMEOUT_NONE;
	req->connect_failed = false;
	req->errmsg[0] = '\0';
	req->sha256[0] = '\0';
	if (!req->max_bytes)
		req->max_bytes = HTTP_BODY_MAX_DEFAULT;
	sbuf_init(&req->body, req->sink || req->max_bytes > SIZE_MAX ? 0 : (size_t)req->max_bytes);
	sbuf_init(&req->etag, 1024);
	sbuf_init(&req->repr_digest, 1024);
	if (req->want_sha256)
		digest_init(&req->digest, DIGEST_SHA256);
	url_redact(req->url, &red);
	req->redacted_url = sbuf_detach(&red, NULL);

	cu.easy_setopt(e, CURLOPT_URL, req->url);
	cu.easy_setopt(e, CURLOPT_PRIVATE, req);
	cu.easy_setopt(e, CURLOPT_WRITEFUNCTION, http_write_cb);
	cu.easy_setopt(e, CURLOPT_WRITEDATA, req);
	cu.easy_setopt(e, CURLOPT_HEADERFUNCTION, http_header_cb);
	cu.easy_setopt(e, CURLOPT_HEADERDATA, req);
	cu.easy_setopt(e, CURLOPT_ERRORBUFFER, req->errmsg);
	cu.easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
	cu.easy_setopt(e, CURLOPT_FOLLOWLOCATION, 1L);
	cu.easy_setopt(e, CURLOPT_MAXREDIRS, 5L);
	cu.easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS,
		       req->connect_timeout_ms > 0 ? req->connect_timeout_ms
						   : h->opts.connect_timeout_ms);
	cu.easy_setopt(e, CURLOPT_LOW_SPEED_LIMIT, h->opts.low_speed_bytes);
	cu.easy_setopt(e, CURLOPT_LOW_SPEED_TIME, h->opts.stall_timeout_s);
	if (h->opts.total_timeout_s > 0)
		cu.easy_setopt(e, CURLOPT_TIMEOUT, h->opts.total_timeout_s);
	cu.easy_setopt(e, CURLOPT_HTTP_VERSION, (long)CURL_HTTP_VERSION_2TLS);
	/*
	 * Waiting for a connection that might multiplex pays only where HTTP/2 can
	 * be negotiated (TLS): over cleartext HTTP/1.1 it queues every request
	 * behind the first one's response headers.
	 */
	if (!strncasecmp(req->url, "https:", 6))
		cu.easy_setopt(e, CURLOPT_PIPEWAIT, 1L);
	cu.easy_setopt(e, CURLOPT_USERAGENT, h->opts.user_agent ? h->opts.user_agent : "scint");
	cu.easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https,file");
	cu.easy_setopt(e, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
	/* curl's verbose log shows request headers: not those carrying a token or a signature */
	if (h->opts.verbose && !req->bearer && !req->aws_sigv4)
		cu.easy_setopt(e, CURLOPT_VERBOSE, 1L);
	if (h->opts.ca_file)
		cu.easy_setopt(e, CURLOPT_CAINFO, h->opts.ca_file);
	if (h->opts.ca_path)
		cu.easy_setopt(e, CURLOPT_CAPATH, h->opts.ca_path);
	if (h->opts.client_cert) {
		cu.easy_setopt(e, CURLOPT_SSLCERT, h->opts.client_cert);
		cu.easy_setopt(e, CURLOPT_SSLKEY, h->opts.client_cert);
	}
	if (h->opts.no_verify) {
		cu.easy_setopt(e, CURLOPT_SSL_VERIFYPEER, 0L);
		cu.easy_setopt(e, CURLOPT_SSL_VERIFYHOST, 0L);
	}
	if (req->userpwd) {
		cu.easy_setopt(e, CURLOPT_USERPWD, req->userpwd);
		cu.easy_setopt(e, CURLOPT_HTTPAUTH, (long)CURLAUTH_BASIC);
		cu.easy_setopt(e, CURLOPT_UNRESTRICTED_AUTH, 0L);
	}
	if (req->aws_sigv4) {
		/* after USERPWD: this sets CURLOPT_HTTPAUTH to CURLAUTH_AWS_SIGV4 */
		char sum[DIGEST_SHA256_HEX];
		struct sbuf hv = SBUF_INIT;
		cu.easy_setopt(e, CURLOPT_AWS_SIGV4, req->aws_sigv4);
		sha256_hex(req->upload ? req->upload : "", req->upload ? req->upload_len : 0, sum);
		sbuf_addf(&hv, "x-amz-content-sha256: %s", sum);
		hdrs = cu.slist_append(hdrs, hv.buf);
		sbuf_release(&hv);
		if (req->aws_token) {
			sbuf_addf(&hv, "x-amz-security-token: %s", req->aws_token);
			hdrs = cu.slist_append(hdrs, hv.buf);
			sbuf_release(&hv);
		}
	}
	if (req->range)
		cu.easy_setopt(e, CURLOPT_RANGE, req->range);
	if (req->method && !strcmp(req->method, "HEAD")) {
		cu.easy_setopt(e, CURLOPT_NOBODY, 1L);
	} else if (req->method && !strcmp(req->method, "PUT")) {
		/* The body is in memory: a POST with the PUT verb sends it as is. */
		cu.easy_setopt(e, CURLOPT_CUSTOMREQUEST, "PUT");
		cu.easy_setopt(e, CURLOPT_POSTFIELDS, req->upload);
		cu.easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)req->upload_len);
		cu.easy_setopt(e, CURLOPT_FOLLOWLOCATION, 0L);
		hdrs = cu.slist_append(hdrs, "Content-Type: application/octet-stream");
		hdrs = cu.slist_append(hdrs, "Expect:");
	}
	if (req->bearer) {
		struct sbuf hv = SBUF_INIT;
		sbuf_addf(&hv, "Authorization: Bearer %s", req->bearer);
		hdrs = cu.slist_append(hdrs, hv.buf);
		sbuf_release(&hv);
	}
	/* A stored ETag is outside input: one that is not one line is not sent (a plain GET is right). */
	if (req->if_none_match && http_one_line(req->if_none_match)) {
		struct sbuf hv = SBUF_INIT;
		sbuf_addf(&hv, "If-None-Match: %s", req->if_none_match);
		hdrs = cu.slist_append(hdrs, hv.buf);
		sbuf_release(&hv);
	}
	if (req->extra_header)
		hdrs = cu.slist_append(hdrs, req->extra_header);
	if (hdrs)
		cu.easy_setopt(e, CURLOPT_HTTPHEADER, hdrs);
	req->easy = e;
	req->headers = hdrs;
	req->t_start_ns = clock_now_ns();
	if (cu.multi_add_handle(h->multi, e) != CURLM_OK) {
		cu.easy_cleanup(e);
		cu.slist_free_all(hdrs);
		req->easy = NULL;
		req->headers = NULL;
		return -SC_ENET;
	}
	req->active = true;
	list_add_tail(&req->link, &h->active);
	h->stats.requests++;
	h->stats.in_flight++;
	return 0;
}

static int http_map_error(const struct http *h, struct http_req *req, CURLcode c)
{
	if (c == CURLE_COULDNT_CONNECT || c == CURLE_COULDNT_RESOLVE_HOST ||
	    c == CURLE_COULDNT_RESOLVE_PROXY)
		req->connect_failed = true;
	switch (c) {
	case CURLE_OK:
		return 0;
	case CURLE_PARTIAL_FILE:
		return -SC_ETRUNCATED;
	case CURLE_WRITE_ERROR:
		return req->cut_off ? -SC_ETOOBIG : -SC_ECANCELED; /* else the sink refused */
	case CURLE_OPERATION_TIMEDOUT: {
		/*
		 * One code for three rules. curl's message tells them apart; the
		 * clock is the fallback (a reused connection has no connect time).
		 */
		uint64_t ms = (clock_now_ns() - req->t_start_ns) / 1000000u;
		if (!strncmp(req->errmsg, "Operation too slow", 18))
			req->timed_out = HTTP_TIMEOUT_LOW_SPEED;
		else if (!strncmp(req->errmsg, "Connection timed out", 20) ||
			 !strncmp(req->errmsg, "Resolving timed out", 19))
			req->timed_out = HTTP_TIMEOUT_CONNECT, req->connect_failed = true;
		else if (h->opts.total_timeout_s > 0 &&
			 ms + 50 >= (uint64_t)h->opts.total_timeout_s * 1000u)
			req->timed_out = HTTP_TIMEOUT_TOTAL;
		else
			req->timed_out = HTTP_TIMEOUT_LOW_SPEED;
		return -ETIMEDOUT;
	}
	case CURLE_OUT_OF_MEMORY:
		return -ENOMEM;
	default:
		return -SC_ENET;
	}
}

static void http_finish(struct http *h, struct http_req *req, int res)
{
	CURL *e = req->easy;
	curl_off_t cl = -1;
	long status = 0;

	cu.easy_getinfo(e, CURLINFO_RESPONSE_CODE, &status);
	cu.easy_getinfo(e, CURLINFO_CONTENT_LENGTH_DOWNLOAD_T, &cl);
	req->status = status;
	if (cl >= 0)
		req->content_length = cl;
	req->res = res;
	if (res < 0 && !req->errmsg[0])
		snprintf(req->errmsg, sizeof(req->errmsg), "%s", sc_strerror(res));
	if (req->want_sha256) {
		if (res == 0)
			digest_final_hex(&req->digest, req->sha256);
		else
			digest_release(&req->digest);
	}
	cu.multi_remove_handle(h->multi, e);
	cu.easy_cleanup(e);
	cu.slist_free_all(req->headers);
	req->easy = NULL;
	req->headers = NULL;
	req->active = false;
	list_del(&req->link);
	h->stats.in_flight--;
	h->stats.bytes += req->received;
	trace_http(req->ctx, req->method ? req->method : "GET", req->redacted_url, req->status,
		   (int64_t)req->received, res, req->t_start_ns, clock_now_ns());
	free(req->redacted_url);
	req->redacted_url = NULL;
	req->done(req);
}

unsigned http_drain(struct http *h)
{
	CURLMsg *m;
	int left;
	unsigned n = 0;

	while (!list_empty(&h->finished)) {
		struct http_req *req = list_first_entry(&h->finished, struct http_req, link);
		list_del(&req->link);
		list_add(&req->link, &h->active); /* http_finish unlinks it */
		http_finish(h, req, -SC_ECANCELED);
		n++;
	}
	if (!h->multi)
		return n; /* libcurl not loaded: nothing ever started */
	while ((m = cu.multi_info_read(h->multi, &left))) {
		if (m->msg != CURLMSG_DONE)
			continue;
		struct http_req *req = NULL;
		cu.easy_getinfo(m->easy_handle, CURLINFO_PRIVATE, (char **)&req);
		SC_ASSERT(req && req->easy == m->easy_handle);
		http_finish(h, req, http_map_error(h, req, m->data.result));
		n++;
	}
	return n;
}

void http_cancel(struct http *h, struct http_req *req)
{
	if (!req->active)
		return;
	list_del(&req->link);
	list_add_tail(&req->link, &h->finished);
}

void http_pause(struct http *h, struct http_req *req)
{
	(void)h;
	if (!req->active || req->paused)
		return;
	req->paused = true;
	cu.easy_pause(req->easy, CURLPAUSE_RECV);
}

void http_resume(struct http *h, struct http_req *req)
{
	if (!req->active || !req->paused)
		return;
	req->paused = false; /* the sink may pause it again from inside easy_pause */
	cu.easy_pause(req->easy, CURLPAUSE_CONT);
	/*
	 * curl runs the transfer at its next timeout: do it now, from the job's
	 * step, rather than from inside the reactor's dispatch of another socket.
	 */
	int running;
	cu.multi_socket_action(h->multi, CURL_SOCKET_TIMEOUT, 0, &running);
}

unsigned http_active(const struct http *h)
{
	return h->stats.in_flight;
}

void http_get_stats(const struct http *h, struct http_stats *ret)
{
	*ret = h->stats;
}

void http_req_release(struct http_req *req)
{
	if (!req)
		return;
	sbuf_release(&req->body);
	sbuf_release(&req->etag);
	sbuf_release(&req->repr_digest);
}
