#include "trace.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/clock.h"

/*
 * Records are formatted by hand into one buffer (no printf, no per-record
 * allocation) and written in blocks of TRACE_FLUSH_BYTES: a traced install
 * must stay within 10% of an untraced one (bench/README.md).
 */
#define TRACE_FLUSH_BYTES (1024 * 1024)
#define TRACE_FD_NAMES	  64
#define TRACE_FD_DIRECT	  1024 /* fds below this find their name by index */

bool trace_enabled;
const struct trace_ctx *trace_current;

static struct {
	int fd;
	uint64_t t0_ns;
	char *buf;
	size_t len, cap;
	struct {
		int fd;
		char *path;
	} names[TRACE_FD_NAMES];
	const char *by_fd[TRACE_FD_DIRECT];
} tr = { .fd = -1 };

int trace_open(const char *path)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_APPEND, 0644);

	if (fd < 0)
		return -errno;
	tr.buf = malloc(TRACE_FLUSH_BYTES + 65536);
	if (!tr.buf) {
		(void)close(fd);
		return -ENOMEM;
	}
	tr.cap = TRACE_FLUSH_BYTES + 65536;
	tr.len = 0;
	tr.fd = fd;
	tr.t0_ns = clock_now_ns();
	trace_enabled = true;
	return 0;
}

static void trace_write_out(void)
{
	const char *p = tr.buf;
	size_t n = tr.len;

	while (n) {
		ssize_t k = write(tr.fd, p, n);
		if (k < 0) {
			if (errno == EINTR)
				continue;
			break; /* a broken trace must not break the install */
		}
		p += k;
		n -= (size_t)k;
	}
	tr.len = 0;
}

void trace_flush(void)
{
	if (tr.fd >= 0 && tr.len)
		trace_write_out();
}

void trace_close(void)
{
	if (tr.fd < 0)
		return;
	trace_flush();
	(void)close(tr.fd);
	tr.fd = -1;
	free(tr.buf);
	tr.buf = NULL;
	tr.len = tr.cap = 0;
	for (int i = 0; i < TRACE_FD_NAMES; i++) {
		free(tr.names[i].path);
		tr.names[i].path = NULL;
	}
	memset(tr.by_fd, 0, sizeof(tr.by_fd));
	trace_enabled = false;
}

void trace_name_fd(int fd, const char *path)
{
	if (!trace_enabled)
		return;
	for (int i = 0; i < TRACE_FD_NAMES; i++) {
		if (!tr.names[i].path || tr.names[i].fd == fd) {
			free(tr.names[i].path);
			tr.names[i].fd = fd;
			tr.names[i].path = strdup(path);
			if (fd >= 0 && fd < TRACE_FD_DIRECT)
				tr.by_fd[fd] = tr.names[i].path;
			return;
		}
	}
}

void trace_forget_fd(int fd)
{
	if (!trace_enabled)
		return;
	for (int i = 0; i < TRACE_FD_NAMES; i++) {
		if (tr.names[i].path && tr.names[i].fd == fd) {
			free(tr.names[i].path);
			tr.names[i].path = NULL;
		}
	}
	if (fd >= 0 && fd < TRACE_FD_DIRECT)
		tr.by_fd[fd] = NULL;
}

static const char *trace_fd_path(int fd)
{
	if (fd >= 0 && fd < TRACE_FD_DIRECT)
		return tr.by_fd[fd];
	for (int i = 0; i < TRACE_FD_NAMES; i++)
		if (tr.names[i].path && tr.names[i].fd == fd)
			return tr.names[i].path;
	return NULL;
}

/* Room for n more bytes (the buffer grows; it is written out between records). */
static char *trace_room(size_t n)
{
	if (tr.len + n > tr.cap) {
		size_t cap = tr.cap * 2 > tr.len + n ? tr.cap * 2 : tr.len + n;
		char *b = realloc(tr.buf, cap);
		if (!b)
			return NULL;
		tr.buf = b;
		tr.cap = cap;
	}
	return tr.buf + tr.len;
}

static void trace_lit(const char *s, size_t n)
{
	char *p = trace_room(n);

	if (p) {
		memcpy(p, s, n);
		tr.len += n;
	}
}

#define TRACE_LIT(s) trace_lit(s, sizeof(s) - 1)

static void trace_u64(uint64_t v)
{
	char tmp[24];
	size_t i = sizeof(tmp);

	do {
		tmp[--i] = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	trace_lit(tmp + i, sizeof(tmp) - i);
}

static void trace_i64(int64_t v)
{
	if (v < 0) {
		TRACE_LIT("-");
		trace_u64((uint64_t)0 - (uint64_t)v);
	} else {
		trace_u64((uint64_t)v);
	}
}

/* The body of a JSON string (as base/json.c escapes it), no quotes. */
static void trace_str_body(const char *s, size_t n)
{
	static const char hexd[] = "0123456789abcdef";
	char *p = trace_room(6 * n), *o = p;

	if (!p)
		return;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c >= 0x20 && c != '"' && c != '\\') {
			*o++ = (char)c;
			continue;
		}
		*o++ = '\\';
		switch (c) {
		case '"':
		case '\\':
			*o++ = (char)c;
			break;
		case '\n':
			*o++ = 'n';
			break;
		case '\t':
			*o++ = 't';
			break;
		case '\r':
			*o++ = 'r';
			break;
		default:
			*o++ = 'u';
			*o++ = '0';
			*o++ = '0';
			*o++ = hexd[c >> 4];
			*o++ = hexd[c & 15];
		}
	}
	tr.len += (size_t)(o - p);
}

/* A JSON string, or null for NULL. */
static void trace_cstr(const char *s)
{
	if (!s) {
		TRACE_LIT("null");
		return;
	}
	TRACE_LIT("\"");
	trace_str_body(s, strlen(s));
	TRACE_LIT("\"");
}

static void trace_begin(const char *op, uint64_t t_start_ns)
{
	uint64_t t = t_start_ns > tr.t0_ns ? t_start_ns - tr.t0_ns : 0;

	TRACE_LIT("{\"t\":");
	trace_u64(t / 1000);
	TRACE_LIT(",\"op\":");
	trace_cstr(op);
}

static void trace_path(const char *key, int dirfd, const char *path)
{
	if (!path)
		return;
	TRACE_LIT(",\"");
	trace_lit(key, strlen(key));
	TRACE_LIT("\":\"");
	const char *dir = path[0] == '/' ? NULL : trace_fd_path(dirfd);
	if (dir) {
		trace_str_body(dir, strlen(dir));
		TRACE_LIT("/");
	}
	trace_str_body(path, strlen(path));
	TRACE_LIT("\"");
}

static const char *trace_errno_name(int res)
{
	switch (-res) {
	case ENOENT:
		return "ENOENT";
	case EEXIST:
		return "EEXIST";
	case EXDEV:
		return "EXDEV";
	case EOPNOTSUPP:
		return "EOPNOTSUPP";
	case EACCES:
		return "EACCES";
	case ENOSPC:
		return "ENOSPC";
	case EINVAL:
		return "EINVAL";
	case ENOTDIR:
		return "ENOTDIR";
	case EISDIR:
		return "EISDIR";
	case ELOOP:
		return "ELOOP";
	case EAGAIN:
		return "EAGAIN";
	case ECANCELED:
		return "ECANCELED";
	default:
		return NULL;
	}
}

static void trace_end(const struct trace_ctx *ctx, int res, uint64_t t_start_ns,
		      uint64_t t_end_ns)
{
	TRACE_LIT(",\"res\":");
	trace_i64(res < 0 ? res : 0);
	if (res < 0) {
		const char *name = trace_errno_name(res);
		TRACE_LIT(",\"err\":");
		if (name) {
			trace_cstr(name);
		} else {
			TRACE_LIT("\"");
			trace_i64(-(int64_t)res);
			TRACE_LIT("\"");
		}
	}
	TRACE_LIT(",\"dur_us\":");
	trace_u64((t_end_ns > t_start_ns ? t_end_ns - t_start_ns : 0) / 1000);
	if (ctx) {
		TRACE_LIT(",\"phase\":");
		trace_cstr(ctx->phase);
		if (ctx->job) {
			TRACE_LIT(",\"job\":");
			trace_u64(ctx->job);
		}
		if (ctx->gem) {
			TRACE_LIT(",\"gem\":");
			trace_cstr(ctx->gem);
		}
	}
	TRACE_LIT("}\n");
	if (tr.len >= TRACE_FLUSH_BYTES)
		trace_write_out();
}

void trace_io(const struct trace_ctx *ctx, const char *op, int dirfd, const char *path,
	      int dirfd2, const char *path2, int64_t bytes, int res, uint64_t t_start_ns,
	      uint64_t t_end_ns)
{
	if (!trace_enabled)
		return;
	trace_begin(op, t_start_ns);
	trace_path("path", dirfd, path);
	trace_path("path2", dirfd2, path2);
	if (bytes >= 0) {
		TRACE_LIT(",\"bytes\":");
		trace_i64(bytes);
	}
	trace_end(ctx, res, t_start_ns, t_end_ns);
}

void trace_http(const struct trace_ctx *ctx, const char *op, const char *url, long status,
		int64_t bytes, int res, uint64_t t_start_ns, uint64_t t_end_ns)
{
	if (!trace_enabled)
		return;
	trace_begin(op, t_start_ns);
	TRACE_LIT(",\"url\":");
	trace_cstr(url);
	TRACE_LIT(",\"status\":");
	trace_i64(status);
	if (bytes >= 0) {
		TRACE_LIT(",\"bytes\":");
		trace_i64(bytes);
	}
	trace_end(ctx, res, t_start_ns, t_end_ns);
}

void trace_proc(const struct trace_ctx *ctx, const char *op, const char *const *argv, int pid,
		int status, int res, uint64_t t_start_ns, uint64_t t_end_ns)
{
	if (!trace_enabled)
		return;
	trace_begin(op, t_start_ns);
	TRACE_LIT(",\"pid\":");
	trace_i64(pid);
	TRACE_LIT(",\"status\":");
	trace_i64(status);
	if (argv) {
		TRACE_LIT(",\"argv\":[");
		for (int i = 0; argv[i]; i++) {
			if (i)
				TRACE_LIT(",");
			trace_cstr(argv[i]);
		}
		TRACE_LIT("]");
	}
	trace_end(ctx, res, t_start_ns, t_end_ns);
}

void trace_event(const struct trace_ctx *ctx, const char *what, const char *detail)
{
	if (!trace_enabled)
		return;
	uint64_t now = clock_now_ns();
	trace_begin("event", now);
	TRACE_LIT(",\"what\":");
	trace_cstr(what);
	if (detail) {
		TRACE_LIT(",\"detail\":");
		trace_cstr(detail);
	}
	trace_end(ctx, 0, now, now);
}

void trace_state(const struct trace_ctx *ctx, const char *from, const char *to, int line)
{
	if (!trace_enabled)
		return;
	uint64_t now = clock_now_ns();
	trace_begin("event", now);
	TRACE_LIT(",\"what\":\"state\",\"detail\":\"");
	trace_str_body(from, strlen(from));
	TRACE_LIT(" -> ");
	trace_str_body(to, strlen(to));
	TRACE_LIT("\"");
	if (line > 0) {
		TRACE_LIT(",\"line\":");
		trace_i64(line);
	}
	trace_end(ctx, 0, now, now);
}
