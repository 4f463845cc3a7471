/*
 * engine/http.c on the reactor against a real HTTP server on 127.0.0.1 (a
 * forked accept loop, one forked process per connection): what http.h
 * promises. A GET completes with its status and body (a 404 is a response,
 * not an error; a redirect's body is dropped); the SHA-256 is the body's; a
 * sink that pauses gets the same bytes again after http_resume(); a body
 * over max_bytes is refused (announced: before any byte; chunked: cut off
 * at the limit); a server that closes mid-body is an error; a refused
 * connection says so; a transfer canceled in flight gets exactly one done
 * callback (-SC_ECANCELED) and nothing after it is freed (run under ASan);
 * a header value with a line break is refused (an ETag's is left out).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "base/clock.h"
#include "base/compiler.h"
#include "base/digest.h"
#include "base/err.h"
#include "engine/http.h"
#include "engine/reactor.h"
#include "sc_test.h"

#define BIG_LEN 100000 /* /big's announced and sent body */

static pid_t srv_pid = -1;
static int srv_port;

static void srv_write_all(int fd, const char *p, size_t n)
{
	while (n) {
		ssize_t k = write(fd, p, n);
		if (k <= 0)
			_exit(0); /* the client went away */
		p += k;
		n -= (size_t)k;
	}
}

static void srv_writef(int fd, const char *s)
{
	srv_write_all(fd, s, strlen(s));
}

/* Waits until the client closes the connection (or 10 s pass). */
static void srv_hold(int fd)
{
	char b[256];

	alarm(10);
	while (read(fd, b, sizeof(b)) > 0)
		;
}

static char srv_body_byte(size_t i)
{
	return (char)('a' + i % 26);
}

static void srv_serve(int fd)
{
	char req[4096];
	size_t n = 0;

	while (n < sizeof(req) - 1) {
		ssize_t k = read(fd, req + n, sizeof(req) - 1 - n);
		if (k <= 0)
			_exit(0);
		n += (size_t)k;
		req[n] = '\0';
		if (strstr(req, "\r\n\r\n"))
			break;
	}
	const char *path = strchr(req, ' ');
	path = path ? path + 1 : "";
	if (!strncmp(path, "/ok ", 4)) {
		srv_writef(fd, "HTTP/1.1 200 OK\r\nContent-Length: 11\r\nETag: \"v1\"\r\n"
			       "Connection: close\r\n\r\nhello world");
	} else if (!strncmp(path, "/echo ", 6)) {
		/* The request's header block is the body. */
		char hdr[128];
		size_t len = (size_t)(strstr(req, "\r\n\r\n") - req) + 4;
		snprintf(hdr, sizeof(hdr),
			 "HTTP/1.1 200 OK\r\nContent-Length: %zu\r\nConnection: close\r\n\r\n",
			 len);
		srv_writef(fd, hdr);
		srv_write_all(fd, req, len);
	} else if (!strncmp(path, "/missing ", 9)) {
		srv_writef(fd, "HTTP/1.1 404 Not Found\r\nContent-Length: 9\r\n"
			       "Connection: close\r\n\r\nnot here\n");
	} else if (!strncmp(path, "/redirect ", 10)) {
		srv_writef(fd, "HTTP/1.1 302 Found\r\nLocation: /ok\r\nContent-Length: 6\r\n"
			       "Connection: close\r\n\r\nmoved\n");
	} else if (!strncmp(path, "/big ", 5)) {
		char hdr[128], buf[4096];
		snprintf(hdr, sizeof(hdr),
			 "HTTP/1.1 200 OK\r\nContent-Length: %d\r\nConnection: close\r\n\r\n",
			 BIG_LEN);
		srv_writef(fd, hdr);
		for (size_t i = 0; i < BIG_LEN; i += sizeof(buf)) {
			size_t m = BIG_LEN - i < sizeof(buf) ? BIG_LEN - i : sizeof(buf);
			for (size_t j = 0; j < m; j++)
				buf[j] = srv_body_byte(i + j);
			srv_write_all(fd, buf, m);
		}
	} else if (!strncmp(path, "/endless ", 9)) {
		/* Chunked, no length announced, never ending: the client must cut it off. */
		char chunk[4096 + 16];
		srv_writef(fd, "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n"
			       "Connection: close\r\n\r\n");
		int h = snprintf(chunk, sizeof(chunk), "%x\r\n", 4096);
		memset(chunk + h, 'z', 4096);
		memcpy(chunk + h + 4096, "\r\n", 2);
		alarm(10);
		for (;;)
			srv_write_all(fd, chunk, (size_t)h + 4096 + 2);
	} else if (!strncmp(path, "/cut ", 5)) {
		/* 1000 bytes announced, 100 sent, then the connection closes. */
		srv_writef(fd,
			   "HTTP/1.1 200 OK\r\nContent-Length: 1000\r\nConnection: close\r\n\r\n");
		char buf[100];
		memset(buf, 'c', sizeof(buf));
		srv_write_all(fd, buf, sizeof(buf));
	} else if (!strncmp(path, "/stall ", 7)) {
		/* Part of the body, then nothing until the client gives up. */
		srv_writef(fd,
			   "HTTP/1.1 200 OK\r\nContent-Length: 1000\r\nConnection: close\r\n\r\n"
			   "first bytes");
		srv_hold(fd);
	} else {
		srv_writef(fd, "HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n"
			       "Connection: close\r\n\r\n");
	}
	shutdown(fd, SHUT_WR);
	_exit(0);
}

static void srv_stop(void)
{
	if (srv_pid > 0) {
		(void)kill(srv_pid, SIGTERM);
		(void)waitpid(srv_pid, NULL, 0);
		srv_pid = -1;
	}
}

/* The server, started once per test binary and stopped at exit. */
static int srv_start(void)
{
	if (srv_pid > 0)
		return srv_port;
	int ls = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	struct sockaddr_in sa = { .sin_family = AF_INET,
				  .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t len = sizeof(sa);

	assert_true(ls >= 0);
	assert_int_equal(bind(ls, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(listen(ls, 64), 0);
	assert_int_equal(getsockname(ls, (struct sockaddr *)&sa, &len), 0);
	srv_port = ntohs(sa.sin_port);
	srv_pid = fork();
	assert_true(srv_pid >= 0);
	if (srv_pid == 0) {
		signal(SIGCHLD, SIG_IGN); /* connection processes reap themselves */
		signal(SIGPIPE, SIG_IGN);
		for (;;) {
			int fd = accept4(ls, NULL, NULL, SOCK_CLOEXEC);
			if (fd < 0)
				continue;
			pid_t c = fork();
			if (c == 0) {
				close(ls);
				srv_serve(fd);
			}
			close(fd);
		}
	}
	close(ls);
	atexit(srv_stop);
	return srv_port;
}

static char *url_of(const char *path)
{
	static char buf[128];

	snprintf(buf, sizeof(buf), "http://127.0.0.1:%d%s", srv_start(), path);
	return buf;
}

struct t_req {
	struct http_req req;
	int ndone;
	struct sbuf sunk; /* what the sink took */
	bool pause_once;  /* the sink pauses at its first call */
	bool was_paused;
	char url[128];
};

static void t_done(struct http_req *req)
{
	struct t_req *t = req->data;

	t->ndone++;
}

/* One tick of the scheduler's loop, as far as HTTP goes (engine/sched.h). */
static void tick(struct reactor *r, struct http *h, int max_ms)
{
	int t = reactor_timeout_ms(r);

	if (t < 0 || t > max_ms)
		t = max_ms;
	assert_true(reactor_poll(r, t) >= 0);
	reactor_run_timers(r);
	http_drain(h);
}

static void run_until_done(struct reactor *r, struct http *h, struct t_req *t)
{
	uint64_t deadline = clock_now_ns() + 10 * 1000000000ull;

	while (!t->ndone) {
		assert_true(clock_now_ns() < deadline);
		tick(r, h, 100);
	}
}

struct env {
	struct reactor *r;
	struct http *h;
};

static void env_init(struct env *e)
{
	struct http_options o = { .connect_timeout_ms = 5000 };

	e->r = reactor_new();
	assert_non_null(e->r);
	e->h = http_new(e->r, &o);
}

static void env_release(struct env *e)
{
	assert_int_equal(http_active(e->h), 0);
	http_free(e->h);
	reactor_free(e->r);
}

static struct t_req *t_new(const char *path, uint64_t max_bytes)
{
	struct t_req *t = sc_xcalloc(1, sizeof(*t));

	snprintf(t->url, sizeof(t->url), "%s", url_of(path));
	t->req.url = t->url;
	t->req.max_bytes = max_bytes;
	t->req.done = t_done;
	t->req.data = t;
	sbuf_init(&t->sunk, 0);
	return t;
}

static void t_free(struct t_req *t)
{
	http_req_release(&t->req);
	sbuf_release(&t->sunk);
	free(t);
}

static struct t_req *get(struct env *e, const char *path, uint64_t max_bytes)
{
	struct t_req *t = t_new(path, max_bytes);

	assert_int_equal(http_start(e->h, &t->req), 0);
	run_until_done(e->r, e->h, t);
	assert_int_equal(t->ndone, 1);
	return t;
}

SC_TEST(get_completes_with_status_and_body)
{
	struct env e;
	env_init(&e);
	struct t_req *t = get(&e, "/ok", 0);

	assert_int_equal(t->req.res, 0);
	assert_int_equal(t->req.status, 200);
	assert_int_equal(t->req.body.len, 11);
	assert_memory_equal(t->req.body.buf, "hello world", 11);
	assert_int_equal(t->req.received, 11);
	assert_int_equal(t->req.content_length, 11);
	assert_string_equal(sbuf_cstr(&t->req.etag), "\"v1\"");
	t_free(t);

	/* An error status is a response: res 0, the status and its body. */
	t = get(&e, "/missing", 0);
	assert_int_equal(t->req.res, 0);
	assert_int_equal(t->req.status, 404);
	assert_string_equal(sbuf_cstr(&t->req.body), "not here\n");
	t_free(t);

	/* A redirect is followed; only the last response's body is kept. */
	t = get(&e, "/redirect", 0);
	assert_int_equal(t->req.res, 0);
	assert_int_equal(t->req.status, 200);
	assert_string_equal(sbuf_cstr(&t->req.body), "hello world");
	t_free(t);

	struct http_stats st;
	http_get_stats(e.h, &st);
	assert_int_equal(st.requests, 3);
	assert_int_equal(st.in_flight, 0);
	env_release(&e);
}

SC_TEST(sha256_is_the_body_s)
{
	struct env e;
	env_init(&e);
	struct t_req *t = t_new("/big", 0);
	char want[DIGEST_SHA256_HEX];

	t->req.want_sha256 = true;
	assert_int_equal(http_start(e.h, &t->req), 0);
	run_until_done(e.r, e.h, t);
	assert_int_equal(t->req.res, 0);
	assert_int_equal(t->req.body.len, BIG_LEN);
	for (size_t i = 0; i < BIG_LEN; i++)
		if (t->req.body.buf[i] != srv_body_byte(i))
			fail_msg("body byte %zu", i);
	sha256_hex(t->req.body.buf, t->req.body.len, want);
	assert_string_equal(t->req.sha256, want);
	t_free(t);
	env_release(&e);
}

static size_t t_sink(struct http_req *req, const char *p, size_t n)
{
	struct t_req *t = req->data;

	if (t->pause_once) {
		t->pause_once = false;
		t->was_paused = true;
		return HTTP_SINK_PAUSE;
	}
	sbuf_add(&t->sunk, p, n);
	return n;
}

/* A paused sink gets the same bytes again after http_resume(): nothing lost, nothing twice. */
SC_TEST(sink_paused_then_resumed_gets_every_byte_once)
{
	struct env e;
	env_init(&e);
	struct t_req *t = t_new("/big", 0);
	uint64_t deadline = clock_now_ns() + 10 * 1000000000ull;

	t->req.sink = t_sink;
	t->req.want_sha256 = true;
	t->pause_once = true;
	assert_int_equal(http_start(e.h, &t->req), 0);
	while (!t->was_paused && !t->ndone) {
		assert_true(clock_now_ns() < deadline);
		tick(e.r, e.h, 100);
	}
	assert_true(t->was_paused);
	assert_int_equal(t->ndone, 0);
	/* Paused: a few ticks bring no body. */
	for (int i = 0; i < 3; i++)
		tick(e.r, e.h, 20);
	assert_int_equal(t->sunk.len, 0);
	assert_int_equal(t->ndone, 0);
	http_resume(e.h, &t->req); /* from "a job's step", outside the dispatch */
	run_until_done(e.r, e.h, t);
	assert_int_equal(t->req.res, 0);
	assert_int_equal(t->req.status, 200);
	assert_int_equal(t->req.body.len, 0); /* a sink's bytes are not kept */
	assert_int_equal(t->sunk.len, BIG_LEN);
	assert_int_equal(t->req.received, BIG_LEN);
	for (size_t i = 0; i < BIG_LEN; i++)
		if (t->sunk.buf[i] != srv_body_byte(i))
			fail_msg("sunk byte %zu", i);
	char want[DIGEST_SHA256_HEX];
	sha256_hex(t->sunk.buf, t->sunk.len, want);
	assert_string_equal(t->req.sha256, want);
	t_free(t);
	env_release(&e);
}

/* An announced length over max_bytes is refused before any body byte is taken. */
SC_TEST(announced_body_over_the_limit_is_refused)
{
	struct env e;
	env_init(&e);
	/* One byte short: without the check of the announced length, most of it would flow. */
	struct t_req *t = get(&e, "/big", BIG_LEN - 1);

	assert_int_equal(t->req.res, -SC_ETOOBIG);
	assert_int_equal(t->req.received, 0);
	assert_int_equal(t->req.body.len, 0);
	t_free(t);

	/* The same limit with a sink: the sink never sees a byte. */
	t = t_new("/big", BIG_LEN - 1);
	t->req.sink = t_sink;
	assert_int_equal(http_start(e.h, &t->req), 0);
	run_until_done(e.r, e.h, t);
	assert_int_equal(t->req.res, -SC_ETOOBIG);
	assert_int_equal(t->sunk.len, 0);
	t_free(t);

	/* At the limit exactly, it passes. */
	t = get(&e, "/big", BIG_LEN);
	assert_int_equal(t->req.res, 0);
	assert_int_equal(t->req.body.len, BIG_LEN);
	t_free(t);
	env_release(&e);
}

/* A body with no announced length that grows past max_bytes is cut off there. */
SC_TEST(endless_body_is_cut_off_at_the_limit)
{
	struct env e;
	env_init(&e);
	struct t_req *t = get(&e, "/endless", 50000);

	assert_int_equal(t->req.res, -SC_ETOOBIG);
	assert_true(t->req.received <= 50000);
	assert_true(t->req.body.len <= 50000);
	assert_true(t->req.body.alloc <= 2 * (50000 + 1)); /* sbuf doubles up to its need */
	t_free(t);

	/* With a sink, nothing but max_bytes bounds it. */
	t = t_new("/endless", 50000);
	t->req.sink = t_sink;
	assert_int_equal(http_start(e.h, &t->req), 0);
	run_until_done(e.r, e.h, t);
	assert_int_equal(t->req.res, -SC_ETOOBIG);
	assert_true(t->req.received <= 50000);
	assert_true(t->sunk.len <= 50000);
	t_free(t);
	env_release(&e);
}

/* A server that closes before the announced length: an error, never a success. */
SC_TEST(server_closing_mid_body_is_an_error)
{
	struct env e;
	env_init(&e);
	struct t_req *t = t_new("/cut", 0);

	t->req.want_sha256 = true;
	assert_int_equal(http_start(e.h, &t->req), 0);
	run_until_done(e.r, e.h, t);
	assert_true(t->req.res < 0);
	assert_int_equal(t->req.res, -SC_ETRUNCATED);
	assert_string_equal(t->req.sha256, "");
	assert_true(t->req.errmsg[0] != '\0');
	t_free(t);
	env_release(&e);
}

SC_TEST(refused_connection_says_so)
{
	struct env e;
	env_init(&e);
	/* A port that was just free: bound, then closed without listening. */
	int s = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	struct sockaddr_in sa = { .sin_family = AF_INET,
				  .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t len = sizeof(sa);
	char url[64];

	assert_int_equal(bind(s, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(getsockname(s, (struct sockaddr *)&sa, &len), 0);
	snprintf(url, sizeof(url), "http://127.0.0.1:%d/ok", ntohs(sa.sin_port));
	close(s);
	struct t_req *t = t_new("/ok", 0);
	snprintf(t->url, sizeof(t->url), "%s", url);
	assert_int_equal(http_start(e.h, &t->req), 0);
	run_until_done(e.r, e.h, t);
	assert_int_equal(t->req.res, -SC_ENET);
	assert_true(t->req.connect_failed);
	assert_int_equal(t->req.status, 0);
	t_free(t);
	env_release(&e);
}

/*
 * Canceled in flight (body bytes arrived, the server holds the rest): one
 * done callback with -SC_ECANCELED at the next drain; the request is freed
 * right after it, and later ticks touch neither it nor its socket (ASan).
 * A second request, canceled before its first tick, too.
 */
SC_TEST(canceled_in_flight_calls_done_once_then_never)
{
	struct env e;
	env_init(&e);
	struct t_req *t = t_new("/stall", 0), *u = t_new("/stall", 0);
	uint64_t deadline = clock_now_ns() + 10 * 1000000000ull;

	assert_int_equal(http_start(e.h, &t->req), 0);
	while (t->req.received == 0) {
		assert_true(clock_now_ns() < deadline);
		tick(e.r, e.h, 100);
	}
	assert_int_equal(t->ndone, 0);
	assert_int_equal(http_active(e.h), 1);
	assert_int_equal(http_start(e.h, &u->req), 0);
	http_cancel(e.h, &u->req); /* before it ever ran */
	http_cancel(e.h, &t->req);
	http_cancel(e.h, &t->req);     /* twice is harmless */
	assert_int_equal(t->ndone, 0); /* callbacks run from the drain, not from cancel */
	assert_int_equal(http_drain(e.h), 2);
	assert_int_equal(t->ndone, 1);
	assert_int_equal(u->ndone, 1);
	assert_int_equal(t->req.res, -SC_ECANCELED);
	assert_int_equal(u->req.res, -SC_ECANCELED);
	assert_int_equal(http_active(e.h), 0);
	http_cancel(e.h, &t->req); /* after done: nothing */
	t_free(t);
	t_free(u);
	/* A late callback would write into freed memory: ASan reports it. */
	for (int i = 0; i < 5; i++)
		tick(e.r, e.h, 20);
	assert_int_equal(http_drain(e.h), 0);
	env_release(&e);
}

/* A header value is one line: a caller's CR or LF would start a header of its own. */
SC_TEST(header_values_with_line_breaks_are_refused)
{
	struct env e;
	env_init(&e);
	static const char *const bad[] = { "X-A: 1\r\nInjected: yes", "X-A: 1\nInjected: yes",
					   "X-A: 1\rInjected: yes" };

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct t_req *t = t_new("/echo", 0);
		t->req.extra_header = bad[i];
		assert_int_equal(http_start(e.h, &t->req), -EINVAL);
		assert_non_null(strstr(t->req.errmsg, "line break"));
		t_free(t);
		t = t_new("/echo", 0);
		t->req.bearer = bad[i] + 5; /* "1\r\n..." */
		assert_int_equal(http_start(e.h, &t->req), -EINVAL);
		t_free(t);
	}
	assert_int_equal(http_active(e.h), 0);
	for (int i = 0; i < 3; i++)
		tick(e.r, e.h, 10);

	/* One-line values go out as given. */
	struct t_req *t = t_new("/echo", 0);
	t->req.extra_header = "X-A: 1";
	t->req.if_none_match = "\"v1\"";
	assert_int_equal(http_start(e.h, &t->req), 0);
	run_until_done(e.r, e.h, t);
	assert_int_equal(t->req.status, 200);
	assert_non_null(strstr(sbuf_cstr(&t->req.body), "\r\nX-A: 1\r\n"));
	assert_non_null(strstr(sbuf_cstr(&t->req.body), "\r\nIf-None-Match: \"v1\"\r\n"));
	t_free(t);

	/* A stored ETag that is not one line is left out: a plain GET, nothing injected. */
	t = t_new("/echo", 0);
	t->req.if_none_match = "\"v1\"\r\nInjected: yes";
	assert_int_equal(http_start(e.h, &t->req), 0);
	run_until_done(e.r, e.h, t);
	assert_int_equal(t->req.res, 0);
	assert_int_equal(t->req.status, 200);
	assert_null(strstr(sbuf_cstr(&t->req.body), "Injected"));
	assert_null(strstr(sbuf_cstr(&t->req.body), "If-None-Match"));
	t_free(t);
	env_release(&e);
}
