/*
 * abi.c: facts about the target Ruby, computed once per interpreter and
 * cached, so that a no-op install starts no Ruby (design.md §3).
 *
 * The interpreter is $SCINT_RUBY, else `ruby` on PATH. Its identity is the
 * resolved path plus the file's device, inode, size and mtime (and scint's
 * version): when any changes, the facts are computed again by running
 * `ruby helper.rb --facts` and saved to <cache>/rubies/<id>.facts.
 *
 * The ABI key (cache directory name) is <engine>-<version>-<platform>, with
 * "-static" when libruby is not shared: everything that decides whether a
 * compiled extension can load.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "base/clock.h"
#include "base/digest.h"
#include "base/err.h"
#include "engine/trace.h"
#include "fsops/fsops.h"
#include "phases/abi.h"

extern char **environ;

static const struct trace_ctx abi_ctx = { .phase = "setup" };

/* Finds `name` on PATH; returns an arena path or NULL. */
static const char *abi_which(struct arena *a, const char *name)
{
	const char *path = getenv("PATH");

	if (strchr(name, '/'))
		return access(name, X_OK) == 0 ? arena_strdup(a, name) : NULL;
	if (!path)
		path = "/usr/local/bin:/usr/bin:/bin";
	while (*path) {
		size_t n = strcspn(path, ":");
		char *cand = arena_printf(a, "%.*s/%s", (int)n, n ? path : ".", name);
		if (access(cand, X_OK) == 0)
			return cand;
		path += n;
		if (*path == ':')
			path++;
	}
	return NULL;
}

int abi_run_capture(const char *const *argv, struct sbuf *out)
{
	posix_spawn_file_actions_t fa;
	int p[2], status = 0;
	pid_t pid;
	uint64_t t0 = clock_now_ns();

	if (pipe2(p, O_CLOEXEC) < 0)
		return -errno;
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_adddup2(&fa, p[1], 1);
	posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
	union {
		const char *const *c;
		char *const *m;
	} av = { .c = argv };
	int r = posix_spawn(&pid, argv[0], &fa, NULL, av.m, environ);
	posix_spawn_file_actions_destroy(&fa);
	(void)close(p[1]);
	if (r != 0) {
		(void)close(p[0]);
		return -r;
	}
	trace_proc(&abi_ctx, "spawn", argv, pid, 0, 0, t0, clock_now_ns());
	for (;;) {
		char buf[8192];
		ssize_t k = read(p[0], buf, sizeof(buf));
		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0)
			break;
		sbuf_add(out, buf, (size_t)k);
	}
	(void)close(p[0]);
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	int code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
	trace_proc(&abi_ctx, "exit", argv, pid, code, 0, t0, clock_now_ns());
	return code;
}

static int abi_parse(struct arena *a, struct strv text, struct ruby_abi *abi)
{
	struct strv rest = text, line, key, val;
	bool shared = true;

	hmap_init(&abi->default_gems);
	while (strv_next_line(&rest, &line)) {
		if (!strv_cut(line, ' ', &key, &val))
			continue;
		if (strv_eq_cstr(key, "default_gem")) {
			struct strv name, ver, plat;
			strv_cut(val, ' ', &name, &val);
			strv_cut(val, ' ', &ver, &plat);
			hmap_put(&abi->default_gems, strv_from(arena_strv(a, name)),
				 arena_strv(a, ver));
			continue;
		}
		const char *v = arena_strv(a, val);
#define ABI_KEY(k, field)                                                                          \
	if (strv_eq_cstr(key, k))                                                                  \
		abi->field = v;
		ABI_KEY("engine", engine)
		ABI_KEY("version", version)
		ABI_KEY("ruby_version_dir", ruby_version_dir)
		ABI_KEY("platform", platform)
		ABI_KEY("ext_api", ext_api)
		ABI_KEY("install_name", install_name)
		ABI_KEY("rubygems_version", rubygems_version)
		ABI_KEY("bundler_version", bundler_version)
		ABI_KEY("make", make)
		ABI_KEY("ruby", ruby)
#undef ABI_KEY
		if (strv_eq_cstr(key, "shared"))
			shared = strv_eq_cstr(val, "yes");
	}
	if (!abi->engine || !abi->version || !abi->ruby_version_dir || !abi->platform ||
	    !abi->ext_api || !abi->install_name || !abi->rubygems_version || !abi->ruby)
		return -SC_ERUBY;
	if (!abi->make)
		abi->make = "make";
	abi->abi = arena_printf(a, "%s-%s-%s%s", abi->engine, abi->version, abi->platform,
				shared ? "" : "-static");
	return 0;
}

int abi_load(struct arena *a, const char *cache_root, const char *helper, struct ruby_abi *abi,
	     struct sbuf *err)
{
	const char *ruby = getenv("SCINT_RUBY");
	char real[PATH_MAX], hex[DIGEST_SHA256_HEX];
	struct stat st;
	struct sbuf key = SBUF_INIT, text = SBUF_INIT;
	int r;

	ruby = abi_which(a, ruby && *ruby ? ruby : "ruby");
	if (!ruby || !realpath(ruby, real) || stat(real, &st) < 0) {
		sbuf_addstr(err, "cannot find ruby (install Ruby, put it on PATH or set SCINT_RUBY)");
		return -SC_ENOTFOUND;
	}
	sbuf_addf(&key, "%s\n%llu\n%llu\n%lld\n%lld.%09ld\n%s\n", real,
		  (unsigned long long)st.st_dev, (unsigned long long)st.st_ino,
		  (long long)st.st_size, (long long)st.st_mtim.tv_sec, st.st_mtim.tv_nsec,
		  SCINT_VERSION);
	sha256_hex(key.buf, key.len, hex);
	sbuf_release(&key);
	char *dir = arena_printf(a, "%s/rubies", cache_root);
	char *file = arena_printf(a, "%s/%.16s.facts", dir, hex);

	*abi = (struct ruby_abi){ 0 };
	if (fs_read_file(file, &text, 1 << 20) == 0 && abi_parse(a, sbuf_strv(&text), abi) == 0) {
		sbuf_release(&text);
		return 0;
	}
	sbuf_reset(&text);
	const char *argv[] = { real, helper, "--facts", NULL };
	r = abi_run_capture(argv, &text);
	if (r != 0 || abi_parse(a, sbuf_strv(&text), abi) < 0) {
		sbuf_addf(err, "cannot read the facts of %s (%s %s --facts: %s)", real, real, helper,
			  r < 0 ? sc_strerror(r) : r ? "failed" : "malformed output");
		sbuf_release(&text);
		return -SC_ERUBY;
	}
	r = fs_mkdir_p(dir, 0755);
	if (r == 0) {
		int dfd = fs_open_dir(dir);
		if (dfd >= 0) {
			(void)fs_write_atomic(dfd, strrchr(file, '/') + 1, text.buf, text.len, 0644);
			(void)close(dfd);
		}
	}
	sbuf_release(&text);
	return 0;
}
