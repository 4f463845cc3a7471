/*
 * bconfig_load.c: the file-reading side of Bundler's settings
 * (bundle/config.h). bundle/ does no I/O: it says which files hold the
 * settings (bconfig_files) and builds the layers from their text
 * (bconfig_build); this reads the files between the two.
 */
#include <errno.h>
#include <fcntl.h>
#include <unistd.h>

#include "base/arena.h"
#include "base/err.h"
#include "base/sbuf.h"
#include "bundle/config.h"

#define BCONFIG_FILE_MAX (1u << 20)

/* Reads path into sb; *ret_exists false for a missing file. Returns 0 or -errno/-SC_ETOOBIG. */
static int bconfig_read_file(const char *path, struct sbuf *sb, bool *ret_exists)
{
	char chunk[4096];
	int fd, r = 0;

	*ret_exists = false;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return (errno == ENOENT || errno == ENOTDIR) ? 0 : -errno;
	*ret_exists = true;
	for (;;) {
		ssize_t got = read(fd, chunk, sizeof(chunk));
		if (got < 0 && errno == EINTR)
			continue;
		if (got < 0) {
			r = -errno; /* EISDIR for a directory, as File#read */
			break;
		}
		if (got == 0)
			break;
		r = sbuf_add(sb, chunk, (size_t)got);
		if (r < 0)
			break;
	}
	(void)close(fd);
	return r;
}

/* Reads one of the files (when it is to be read) into text; *ret_text NULL when absent. */
static int bconfig_read_one(const char *path, bool ignore, struct sbuf *text, struct strv *view,
			    const struct strv **ret_text, struct sbuf *errmsg)
{
	bool exists;
	int r;

	*ret_text = NULL;
	if (!path || ignore)
		return 0;
	r = bconfig_read_file(path, text, &exists);
	if (r < 0) {
		if (errmsg)
			sbuf_addf(errmsg, "cannot read '%s': %s", path, sc_strerror(r));
		return r;
	}
	if (exists) {
		*view = sbuf_strv(text);
		*ret_text = view;
	}
	return 0;
}

int bconfig_load(struct bconfig *c, struct arena *a, const char *app_config_dir, const char *home,
		 char *const *envp, struct sbuf *errmsg)
{
	struct bconfig_files f;
	struct sbuf local, global, global_err = SBUF_INIT;
	struct strv lv, gv;
	const struct strv *lt, *gt;
	int r;

	bconfig_files(a, app_config_dir, home, envp, &f);
	sbuf_init(&local, BCONFIG_FILE_MAX);
	sbuf_init(&global, BCONFIG_FILE_MAX);
	*c = (struct bconfig){ 0 };
	if ((r = bconfig_read_one(f.local, f.ignore, &local, &lv, &lt, errmsg)) < 0)
		goto out;
	r = bconfig_read_one(f.global, f.ignore, &global, &gv, &gt, errmsg ? &global_err : NULL);
	if (r < 0) {
		/* A malformed local file is reported first, as Bundler reads the local one first.
		 */
		struct bconfig_files local_only = f;
		local_only.global = NULL;
		int k = bconfig_build(c, a, envp, &local_only, lt, NULL, errmsg);
		if (k < 0)
			r = k;
		else if (errmsg)
			sbuf_add(errmsg, global_err.buf, global_err.len);
		goto out;
	}
	r = bconfig_build(c, a, envp, &f, lt, gt, errmsg);
out:
	sbuf_release(&global_err);
	sbuf_release(&local);
	sbuf_release(&global);
	return r;
}
