#include "trace.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/clock.h"
#include "base/compiler.h"

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

/* A named directory fd: its path, escaped once for every record that prints it. */
struct trace_name {
	int fd;
	char *esc; /* NULL: slot free */
	size_t len;
};

static char *put_esc(char *o, const char *s, size_t n);

static struct {
	int fd;
	uint64_t t0_ns;
	char *buf;
	size_t len, cap;
	size_t reserved; /* tr.len may grow up to this in the record being written */
	uint64_t shared_ns; /* trace_shared_now_ns(), 0 when to be taken again */
	struct trace_name names[TRACE_FD_NAMES];
	const struct trace_name *by_fd[TRACE_FD_DIRECT];
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

uint64_t trace_shared_now_ns(void)
{
	if (!tr.shared_ns)
		tr.shared_ns = clock_now_ns();
	return tr.shared_ns;
}

void trace_step_end(void)
{
	tr.shared_ns = 0;
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
		free(tr.names[i].esc);
		tr.names[i].esc = NULL;
	}
	memset(tr.by_fd, 0, sizeof(tr.by_fd));
	trace_enabled = false;
}

void trace_name_fd(int fd, const char *path)
{
	struct trace_name *slot = NULL;
	size_t n;
	char *esc;

	if (!trace_enabled)
		return;
	for (int i = 0; i < TRACE_FD_NAMES; i++) {
		if (tr.names[i].esc && tr.names[i].fd == fd) {
			slot = &tr.names[i];
			break;
		}
		if (!tr.names[i].esc && !slot)
			slot = &tr.names[i];
	}
	if (!slot)
		return; /* the fd's paths print relative */
	n = strlen(path);
	esc = n <= SIZE_MAX / 6 - 1 ? malloc(6 * n + 1) : NULL;
	free(slot->esc);
	slot->esc = NULL;
	if (fd >= 0 && fd < TRACE_FD_DIRECT)
		tr.by_fd[fd] = NULL;
	if (!esc)
		return; /* (not a stale name either) */
	slot->fd = fd;
	slot->esc = esc;
	slot->len = (size_t)(put_esc(esc, path, n) - esc);
	if (fd >= 0 && fd < TRACE_FD_DIRECT)
		tr.by_fd[fd] = slot;
}

void trace_forget_fd(int fd)
{
	if (!trace_enabled)
		return;
	for (int i = 0; i < TRACE_FD_NAMES; i++) {
		if (tr.names[i].esc && tr.names[i].fd == fd) {
			free(tr.names[i].esc);
			tr.names[i].esc = NULL;
		}
	}
	if (fd >= 0 && fd < TRACE_FD_DIRECT)
		tr.by_fd[fd] = NULL;
}

static const struct trace_name *trace_fd_name(int fd)
{
	if (fd >= 0 && fd < TRACE_FD_DIRECT)
		return tr.by_fd[fd];
	for (int i = 0; i < TRACE_FD_NAMES; i++)
		if (tr.names[i].esc && tr.names[i].fd == fd)
			return &tr.names[i];
	return NULL;
}

/*
 * Each record reserves its worst case once (trace_reserve: every string byte
 * may become a 6-byte \u escape) and is then written through a cursor with
 * no further checks; trace_commit() ends it. Records stay well below the
 * slack kept above TRACE_FLUSH_BYTES unless a path is huge, and then the
 * buffer grows.
 */
#define TRACE_FIXED 320 /* the fields around the strings, numbers included */

static char *trace_reserve(size_t n)
{
	n += TRACE_FIXED;
	if (tr.len + n > tr.cap) {
		size_t cap = tr.cap * 2 > tr.len + n ? tr.cap * 2 : tr.len + n;
		char *b = realloc(tr.buf, cap);
		if (!b)
			return NULL;
		tr.buf = b;
		tr.cap = cap;
	}
	tr.reserved = tr.len + n;
	return tr.buf + tr.len;
}

static void trace_commit(char *o)
{
	tr.shared_ns = 0;
	tr.len = (size_t)(o - tr.buf);
	/* Within what was reserved (a debug check of TRACE_FIXED and the sizes). */
	SC_DEBUG_ASSERT(tr.len <= tr.reserved);
	if (tr.len >= TRACE_FLUSH_BYTES)
		trace_write_out();
}

static inline char *put(char *o, const char *s, size_t n)
{
	memcpy(o, s, n);
	return o + n;
}

#define PUT_LIT(o, s) put(o, s, sizeof(s) - 1)

static char *put_u64(char *o, uint64_t v)
{
	char tmp[24];
	size_t i = sizeof(tmp);

	do {
		tmp[--i] = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	return put(o, tmp + i, sizeof(tmp) - i);
}

static char *put_i64(char *o, int64_t v)
{
	if (v < 0) {
		*o++ = '-';
		return put_u64(o, (uint64_t)0 - (uint64_t)v);
	}
	return put_u64(o, (uint64_t)v);
}

#define SWAR_ONES UINT64_C(0x0101010101010101)
#define SWAR_HIGH UINT64_C(0x8080808080808080)

/* The body of a JSON string (as base/json.c escapes it), no quotes: at most 6n bytes. */
static char *put_esc(char *o, const char *s, size_t n)
{
	static const char hexd[] = "0123456789abcdef";
	size_t i = 0;

	/*
	 * Eight bytes at a time while none needs escaping (a byte below 0x20,
	 * '"' or '\\'): paths almost never do, and they are most of a trace.
	 */
	for (; i + 8 <= n; i += 8) {
		uint64_t w, q, b;
		memcpy(&w, s + i, 8);
		q = w ^ (SWAR_ONES * '"');
		b = w ^ (SWAR_ONES * '\\');
		if (((w - SWAR_ONES * 0x20) & ~w & SWAR_HIGH) |
		    ((q - SWAR_ONES) & ~q & SWAR_HIGH) | ((b - SWAR_ONES) & ~b & SWAR_HIGH))
			break;
		memcpy(o, &w, 8);
		o += 8;
	}
	for (; i < n; i++) {
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
	return o;
}

/* A JSON string of n bytes (reserve 6n + 2), or null for NULL. */
static char *put_str(char *o, const char *s, size_t n)
{
	if (!s)
		return PUT_LIT(o, "null");
	*o++ = '"';
	o = put_esc(o, s, n);
	*o++ = '"';
	return o;
}

static size_t slen(const char *s)
{
	return s ? strlen(s) : 0;
}

static char *trace_begin(char *o, const char *op, size_t oplen, uint64_t t_start_ns)
{
	uint64_t t = t_start_ns > tr.t0_ns ? t_start_ns - tr.t0_ns : 0;

	o = PUT_LIT(o, "{\"t\":");
	o = put_u64(o, t / 1000);
	o = PUT_LIT(o, ",\"op\":");
	return put_str(o, op, oplen);
}

/* What a path field needs: its directory's name comes escaped already. */
struct trace_path {
	const struct trace_name *dir; /* NULL: path printed alone */
	const char *path;
	size_t len;
};

static size_t trace_path_get(struct trace_path *tp, int dirfd, const char *path)
{
	tp->path = path;
	tp->dir = NULL;
	tp->len = 0;
	if (!path)
		return 0;
	tp->len = strlen(path);
	if (path[0] != '/')
		tp->dir = trace_fd_name(dirfd);
	return 6 * tp->len + (tp->dir ? tp->dir->len + 1 : 0) + 16;
}

static char *put_path(char *o, const char *key, size_t keylen, const struct trace_path *tp)
{
	if (!tp->path)
		return o;
	o = put(o, key, keylen);
	if (tp->dir) {
		o = put(o, tp->dir->esc, tp->dir->len);
		*o++ = '/';
	}
	o = put_esc(o, tp->path, tp->len);
	*o++ = '"';
	return o;
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

/* What trace_end() writes beyond TRACE_FIXED. */
static size_t trace_end_size(const struct trace_ctx *ctx)
{
	return ctx ? 6 * (slen(ctx->phase) + slen(ctx->gem)) : 0;
}

static char *trace_end(char *o, const struct trace_ctx *ctx, int res, uint64_t t_start_ns,
		       uint64_t t_end_ns)
{
	o = PUT_LIT(o, ",\"res\":");
	o = put_i64(o, res < 0 ? res : 0);
	if (res < 0) {
		const char *name = trace_errno_name(res);
		o = PUT_LIT(o, ",\"err\":\"");
		if (name)
			o = put(o, name, strlen(name));
		else
			o = put_i64(o, -(int64_t)res);
		*o++ = '"';
	}
	o = PUT_LIT(o, ",\"dur_us\":");
	o = put_u64(o, (t_end_ns > t_start_ns ? t_end_ns - t_start_ns : 0) / 1000);
	if (ctx) {
		o = PUT_LIT(o, ",\"phase\":");
		o = put_str(o, ctx->phase, slen(ctx->phase));
		if (ctx->job) {
			o = PUT_LIT(o, ",\"job\":");
			o = put_u64(o, ctx->job);
		}
		if (ctx->gem) {
			o = PUT_LIT(o, ",\"gem\":");
			o = put_str(o, ctx->gem, strlen(ctx->gem));
		}
	}
	return PUT_LIT(o, "}\n");
}

void trace_io(const struct trace_ctx *ctx, const char *op, int dirfd, const char *path,
	      int dirfd2, const char *path2, int64_t bytes, int res, uint64_t t_start_ns,
	      uint64_t t_end_ns)
{
	struct trace_path p1, p2;
	size_t oplen;
	char *o;

	if (!trace_enabled)
		return;
	oplen = strlen(op);
	o = trace_reserve(6 * oplen + trace_path_get(&p1, dirfd, path) +
			  trace_path_get(&p2, dirfd2, path2) + trace_end_size(ctx));
	if (!o)
		return;
	o = trace_begin(o, op, oplen, t_start_ns);
	o = put_path(o, ",\"path\":\"", 9, &p1);
	o = put_path(o, ",\"path2\":\"", 10, &p2);
	if (bytes >= 0) {
		o = PUT_LIT(o, ",\"bytes\":");
		o = put_i64(o, bytes);
	}
	trace_commit(trace_end(o, ctx, res, t_start_ns, t_end_ns));
}

void trace_http(const struct trace_ctx *ctx, const char *op, const char *url, long status,
		int64_t bytes, int res, uint64_t t_start_ns, uint64_t t_end_ns)
{
	size_t oplen, urllen;
	char *o;

	if (!trace_enabled)
		return;
	oplen = strlen(op);
	urllen = slen(url);
	o = trace_reserve(6 * (oplen + urllen) + trace_end_size(ctx));
	if (!o)
		return;
	o = trace_begin(o, op, oplen, t_start_ns);
	o = PUT_LIT(o, ",\"url\":");
	o = put_str(o, url, urllen);
	o = PUT_LIT(o, ",\"status\":");
	o = put_i64(o, status);
	if (bytes >= 0) {
		o = PUT_LIT(o, ",\"bytes\":");
		o = put_i64(o, bytes);
	}
	trace_commit(trace_end(o, ctx, res, t_start_ns, t_end_ns));
}

void trace_proc(const struct trace_ctx *ctx, const char *op, const char *const *argv, int pid,
		int status, int res, uint64_t t_start_ns, uint64_t t_end_ns)
{
	size_t oplen, need;
	char *o;

	if (!trace_enabled)
		return;
	oplen = strlen(op);
	need = 6 * oplen + trace_end_size(ctx) + 2;
	for (int i = 0; argv && argv[i]; i++)
		need += 6 * strlen(argv[i]) + 3;
	o = trace_reserve(need);
	if (!o)
		return;
	o = trace_begin(o, op, oplen, t_start_ns);
	o = PUT_LIT(o, ",\"pid\":");
	o = put_i64(o, pid);
	o = PUT_LIT(o, ",\"status\":");
	o = put_i64(o, status);
	if (argv) {
		o = PUT_LIT(o, ",\"argv\":[");
		for (int i = 0; argv[i]; i++) {
			if (i)
				*o++ = ',';
			o = put_str(o, argv[i], strlen(argv[i]));
		}
		*o++ = ']';
	}
	trace_commit(trace_end(o, ctx, res, t_start_ns, t_end_ns));
}

void trace_event(const struct trace_ctx *ctx, const char *what, const char *detail)
{
	size_t wlen, dlen;
	uint64_t now;
	char *o;

	if (!trace_enabled)
		return;
	now = clock_now_ns();
	wlen = slen(what);
	dlen = slen(detail);
	o = trace_reserve(6 * (wlen + dlen) + trace_end_size(ctx));
	if (!o)
		return;
	o = trace_begin(o, "event", 5, now);
	o = PUT_LIT(o, ",\"what\":");
	o = put_str(o, what, wlen);
	if (detail) {
		o = PUT_LIT(o, ",\"detail\":");
		o = put_str(o, detail, dlen);
	}
	trace_commit(trace_end(o, ctx, 0, now, now));
}

void trace_state(const struct trace_ctx *ctx, const char *from, const char *to, int line)
{
	size_t flen, tlen;
	uint64_t now;
	char *o;

	if (!trace_enabled)
		return;
	now = clock_now_ns();
	flen = strlen(from);
	tlen = strlen(to);
	o = trace_reserve(6 * (flen + tlen) + trace_end_size(ctx));
	if (!o)
		return;
	o = trace_begin(o, "event", 5, now);
	o = PUT_LIT(o, ",\"what\":\"state\",\"detail\":\"");
	o = put_esc(o, from, flen);
	o = PUT_LIT(o, " -> ");
	o = put_esc(o, to, tlen);
	*o++ = '"';
	if (line > 0) {
		o = PUT_LIT(o, ",\"line\":");
		o = put_i64(o, line);
	}
	trace_commit(trace_end(o, ctx, 0, now, now));
}
