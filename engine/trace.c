#include "trace.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/clock.h"
#include "base/json.h"
#include "base/sbuf.h"

#define TRACE_FLUSH_BYTES (256 * 1024)
#define TRACE_FD_NAMES	  64

bool trace_enabled;
const struct trace_ctx *trace_current;

static struct {
	int fd;
	uint64_t t0_ns;
	struct sbuf buf;
	struct {
		int fd;
		char *path;
	} names[TRACE_FD_NAMES];
} tr = { .fd = -1 };

int trace_open(const char *path)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_APPEND, 0644);

	if (fd < 0)
		return -errno;
	tr.fd = fd;
	tr.t0_ns = clock_now_ns();
	sbuf_init(&tr.buf, 0);
	trace_enabled = true;
	return 0;
}

static void trace_write_out(void)
{
	const char *p = tr.buf.buf;
	size_t n = tr.buf.len;

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
	sbuf_reset(&tr.buf);
}

void trace_flush(void)
{
	if (tr.fd >= 0 && tr.buf.len)
		trace_write_out();
}

void trace_close(void)
{
	if (tr.fd < 0)
		return;
	trace_flush();
	(void)close(tr.fd);
	tr.fd = -1;
	sbuf_release(&tr.buf);
	for (int i = 0; i < TRACE_FD_NAMES; i++) {
		free(tr.names[i].path);
		tr.names[i].path = NULL;
	}
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
}

static const char *trace_fd_path(int fd)
{
	for (int i = 0; i < TRACE_FD_NAMES; i++)
		if (tr.names[i].path && tr.names[i].fd == fd)
			return tr.names[i].path;
	return NULL;
}

static void trace_begin(const char *op, uint64_t t_start_ns)
{
	uint64_t t = t_start_ns > tr.t0_ns ? t_start_ns - tr.t0_ns : 0;

	sbuf_addf(&tr.buf, "{\"t\":%llu,\"op\":", (unsigned long long)(t / 1000));
	json_add_cstr(&tr.buf, op);
}

static void trace_path(const char *key, int dirfd, const char *path)
{
	if (!path)
		return;
	sbuf_addf(&tr.buf, ",\"%s\":", key);
	const char *dir = path[0] == '/' ? NULL : trace_fd_path(dirfd);
	if (dir) {
		struct sbuf full = SBUF_INIT;
		sbuf_addf(&full, "%s/%s", dir, path);
		json_add_str(&tr.buf, full.buf, full.len);
		sbuf_release(&full);
	} else {
		json_add_cstr(&tr.buf, path);
	}
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
	sbuf_addf(&tr.buf, ",\"res\":%d", res < 0 ? res : 0);
	if (res < 0) {
		const char *name = trace_errno_name(res);
		sbuf_addlit(&tr.buf, ",\"err\":");
		if (name)
			json_add_cstr(&tr.buf, name);
		else
			sbuf_addf(&tr.buf, "\"%d\"", -res);
	}
	sbuf_addf(&tr.buf, ",\"dur_us\":%llu",
		  (unsigned long long)((t_end_ns > t_start_ns ? t_end_ns - t_start_ns : 0) / 1000));
	if (ctx) {
		sbuf_addlit(&tr.buf, ",\"phase\":");
		json_add_cstr(&tr.buf, ctx->phase);
		if (ctx->job)
			sbuf_addf(&tr.buf, ",\"job\":%u", ctx->job);
		if (ctx->gem) {
			sbuf_addlit(&tr.buf, ",\"gem\":");
			json_add_cstr(&tr.buf, ctx->gem);
		}
	}
	sbuf_addlit(&tr.buf, "}\n");
	if (tr.buf.len >= TRACE_FLUSH_BYTES)
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
	if (bytes >= 0)
		sbuf_addf(&tr.buf, ",\"bytes\":%lld", (long long)bytes);
	trace_end(ctx, res, t_start_ns, t_end_ns);
}

void trace_http(const struct trace_ctx *ctx, const char *op, const char *url, long status,
		int64_t bytes, int res, uint64_t t_start_ns, uint64_t t_end_ns)
{
	if (!trace_enabled)
		return;
	trace_begin(op, t_start_ns);
	sbuf_addlit(&tr.buf, ",\"url\":");
	json_add_cstr(&tr.buf, url);
	sbuf_addf(&tr.buf, ",\"status\":%ld", status);
	if (bytes >= 0)
		sbuf_addf(&tr.buf, ",\"bytes\":%lld", (long long)bytes);
	trace_end(ctx, res, t_start_ns, t_end_ns);
}

void trace_proc(const struct trace_ctx *ctx, const char *op, const char *const *argv, int pid,
		int status, int res, uint64_t t_start_ns, uint64_t t_end_ns)
{
	if (!trace_enabled)
		return;
	trace_begin(op, t_start_ns);
	sbuf_addf(&tr.buf, ",\"pid\":%d,\"status\":%d", pid, status);
	if (argv) {
		sbuf_addlit(&tr.buf, ",\"argv\":[");
		for (int i = 0; argv[i]; i++) {
			if (i)
				sbuf_addch(&tr.buf, ',');
			json_add_cstr(&tr.buf, argv[i]);
		}
		sbuf_addch(&tr.buf, ']');
	}
	trace_end(ctx, res, t_start_ns, t_end_ns);
}

void trace_event(const struct trace_ctx *ctx, const char *what, const char *detail)
{
	if (!trace_enabled)
		return;
	uint64_t now = clock_now_ns();
	trace_begin("event", now);
	sbuf_addlit(&tr.buf, ",\"what\":");
	json_add_cstr(&tr.buf, what);
	if (detail) {
		sbuf_addlit(&tr.buf, ",\"detail\":");
		json_add_cstr(&tr.buf, detail);
	}
	trace_end(ctx, 0, now, now);
}

void trace_state(const struct trace_ctx *ctx, const char *from, const char *to)
{
	char buf[96];

	if (!trace_enabled)
		return;
	snprintf(buf, sizeof(buf), "%s -> %s", from, to);
	trace_event(ctx, "state", buf);
}
