/*
 * abi.c: facts about the target Ruby, computed once per interpreter and
 * cached, so that a no-op install starts no Ruby (design.md §3).
 *
 * The interpreter is $SCINT_RUBY, else `ruby` on PATH. Its identity is the
 * resolved path plus the file's device, inode, size and mtime (and scint's
 * version): when any changes, the facts are computed again by running
 * the long-lived Ruby helper (`facts`) and saved to <cache>/rubies/<id>.facts.
 *
 * The ABI key (cache directory name) is <engine>-<version>-<platform>, with
 * "-static" when libruby is not shared: everything that decides whether a
 * compiled extension can load.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/clock.h"
#include "base/digest.h"
#include "base/err.h"
#include "base/trace.h"
#include "bundle/names.h"
#include "fsops/fsops.h"
#include "phases/session/abi.h"

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

const char *abi_which_ruby(struct arena *a)
{
	const char *ruby = getenv("SCINT_RUBY");

	return abi_which(a, ruby && *ruby ? ruby : "ruby");
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
		ABI_KEY("patchlevel", patchlevel)
		ABI_KEY("ruby_version_dir", ruby_version_dir)
		ABI_KEY("platform", platform)
		ABI_KEY("ext_api", ext_api)
		ABI_KEY("install_name", install_name)
		ABI_KEY("rubygems_version", rubygems_version)
		ABI_KEY("bundler_version", bundler_version)
		ABI_KEY("bundler_lib", bundler_lib)
		ABI_KEY("bundler_spec", bundler_spec)
		ABI_KEY("make", make)
		ABI_KEY("ruby", ruby)
		ABI_KEY("default_dir", default_dir)
		ABI_KEY("default_specs_dir", default_specs_dir)
#undef ABI_KEY
		if (strv_eq_cstr(key, "shared"))
			shared = strv_eq_cstr(val, "yes");
	}
	if (!abi->engine || !abi->version || !abi->ruby_version_dir || !abi->platform ||
	    !abi->ext_api || !abi->install_name || !abi->rubygems_version || !abi->ruby ||
	    !abi->default_dir || !abi->default_specs_dir) /* older facts files: asked again */
		goto out_release_gems;
	if (!abi->make)
		abi->make = "make";
	/* Paths `scint exec` hands to programs: absolute, or not at all. */
	if (abi->bundler_lib && abi->bundler_lib[0] != '/')
		abi->bundler_lib = NULL;
	if (abi->bundler_spec && abi->bundler_spec[0] != '/')
		abi->bundler_spec = NULL;
	/* These name directories of the cache and of .bundle (a facts file may be shared). */
	const char *parts[] = { abi->engine, abi->version, abi->platform, abi->ruby_version_dir,
				abi->ext_api, abi->install_name };
	const char *why;
	for (size_t i = 0; i < SC_ARRAY_SIZE(parts); i++)
		if (names_check_component(strv_from(parts[i]), &why) < 0)
			goto out_release_gems;
	abi->abi = arena_printf(a, "%s-%s-%s%s", abi->engine, abi->version, abi->platform,
				shared ? "" : "-static");
	return 0;
out_release_gems:
	/* The caller parses again (the helper's answer): nothing of this attempt is kept. */
	hmap_release(&abi->default_gems);
	*abi = (struct ruby_abi){ 0 };
	return -SC_ERUBY;
}

int abi_load(struct install *in, struct sbuf *err)
{
	struct arena *a = &in->arena;
	const char *ruby;
	char real[PATH_MAX], hex[DIGEST_SHA256_HEX];
	struct stat st;
	struct sbuf key = SBUF_INIT, text = SBUF_INIT;
	int r;

	ruby = abi_which_ruby(a);
	if (!ruby || !realpath(ruby, real) || stat(real, &st) < 0) {
		sbuf_addstr(err, "cannot find ruby (install Ruby, put it on PATH or set SCINT_RUBY)");
		return -SC_ENOTFOUND;
	}
	in->ruby_exe = arena_strdup(a, real);
	/* RUBYOPT and RUBYLIB can load another RubyGems (its version picks the gemspec writer). */
	const char *ropt = getenv("RUBYOPT"), *rlib = getenv("RUBYLIB");
	sbuf_addf(&key, "facts-2\n%s\n%llu\n%llu\n%lld\n%lld.%09ld\n%s\n%s\n%s\n", real,
		  (unsigned long long)st.st_dev, (unsigned long long)st.st_ino,
		  (long long)st.st_size, (long long)st.st_mtim.tv_sec, st.st_mtim.tv_nsec,
		  SCINT_VERSION, ropt ? ropt : "", rlib ? rlib : "");
	sha256_hex(key.buf, key.len, hex);
	sbuf_release(&key);
	char *dir = arena_printf(a, "%s/rubies", in->opts.cache_root);
	char *name = arena_printf(a, "%.16s.facts", hex);
	char *file = arena_printf(a, "%s/%s", dir, name);

	in->abi = (struct ruby_abi){ 0 };
	if (fs_read_file(file, &text, 1 << 20) == 0 && abi_parse(a, sbuf_strv(&text), &in->abi) == 0) {
		sbuf_release(&text);
		return 0;
	}
	sbuf_reset(&text);
	r = install_ruby_call(in, "facts", NULL, 0, &text, err);
	if (r == 0 && abi_parse(a, sbuf_strv(&text), &in->abi) < 0) {
		sbuf_addf(err, "cannot read the facts of %s: the helper's answer is malformed", real);
		r = -SC_ERUBY;
	}
	if (r == 0 && fs_mkdir_p(dir, 0755) == 0) {
		int dfd = fs_open_dir(dir);
		if (dfd >= 0) {
			(void)fs_write_atomic(dfd, name, text.buf, text.len, 0644);
			(void)close(dfd);
		}
	}
	sbuf_release(&text);
	return r;
}
