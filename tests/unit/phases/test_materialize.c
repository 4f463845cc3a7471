/*
 * phases/materialize.c run by a real install session (install_session.h)
 * without Ruby: a cached entry and its manifest are written here, loaded
 * by cache_load_manifest(), and the job made by materialize_job_new() runs
 * to done() under the session's scheduler. One twin per I/O backend (plain syscalls, io_uring), in
 * hardlink and copy mode: the tree, its modes and symlink, the binstub and the gemspec land in the
 * install root, a killed run's leftover is removed, and a cached file that vanished fails the job
 * with its path.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/digest.h"
#include "base/err.h"
#include "base/sbuf.h"
#include "bundle/manifest.h"
#include "fsops/fsops.h"
#include "install_session.h"
#include "sc_test.h"

static const char summary[] = "name\tfoo\nversion\t1.0.0\nplatform\truby\nrequire_paths\tlib\n"
			      "bindir\texe\nexecutables\tfoo\nextensions\n---gemspec---\n";

struct file {
	const char *path; /* in the entry */
	const char *text;
	mode_t mode;
};

static const struct file files[] = {
	{ "gem/exe/foo", "#!/usr/bin/env ruby\nrequire \"foo\"\n", 0755 },
	{ "gem/lib/foo.rb", "module Foo; end\n", 0644 },
	{ "gem/lib/foo/deep/x.rb", "X = 1\n", 0600 },
	{ "gem/lib/foo/version.rb", "Foo::VERSION = \"1.0.0\"\n", 0644 },
};
static const char *const dirs[] = { "gem/exe", "gem/lib", "gem/lib/foo", "gem/lib/foo/deep" };

#define at(in, ...) arena_printf(&(in)->arena, __VA_ARGS__)

static void write_file(const char *path, const char *text, mode_t mode)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);

	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	assert_int_equal(fchmod(fd, mode), 0);
	close(fd);
}

/* cached/<abi>/foo-1.0.0/, its gemspec, then its manifest (last, as promote writes it). */
static struct gem *cached_entry(struct install *in)
{
	struct arena *a = &in->arena;
	const char *entry = at(in, "%s/foo-1.0.0", in->cached_dir);
	struct manifest m = { 0 };
	struct strv gemspec;
	struct sbuf text = SBUF_INIT;

	assert_int_equal(gem_summary_parse(a, STRV_LIT(summary), &m.spec, &gemspec), 0);
	m.full_name = "foo-1.0.0";
	m.abi = in->abi.abi;
	m.gem_sha256 = "abababababababababababababababababababababababababababababababab";
	for (size_t i = 0; i < SC_ARRAY_SIZE(dirs); i++) {
		assert_int_equal(fs_mkdir_p(arena_printf(a, "%s/%s", entry, dirs[i]), 0755), 0);
		manifest_add(a, &m, MF_DIR, dirs[i])->mode = 0755;
	}
	for (size_t i = 0; i < SC_ARRAY_SIZE(files); i++) {
		char *hex = arena_alloc(a, DIGEST_SHA256_HEX);
		write_file(arena_printf(a, "%s/%s", entry, files[i].path), files[i].text,
			   files[i].mode);
		sha256_hex(files[i].text, strlen(files[i].text), hex);
		struct mf_entry *e = manifest_add(a, &m, MF_FILE, files[i].path);
		e->mode = files[i].mode;
		e->size = strlen(files[i].text);
		e->sha256 = hex;
	}
	assert_int_equal(symlink("foo.rb", arena_printf(a, "%s/gem/lib/alias.rb", entry)), 0);
	manifest_add(a, &m, MF_SYMLINK, "gem/lib/alias.rb")->target = "foo.rb";
	write_file(at(in, "%s/foo-1.0.0.gemspec", in->cached_dir),
		   "# stub: foo 1.0.0 ruby lib\nGem::Specification.new\n", 0644);
	manifest_write(&m, &text);
	write_file(at(in, "%s/foo-1.0.0.manifest", in->cached_dir), sbuf_cstr(&text), 0644);
	sbuf_release(&text);

	struct gem *g = arena_alloc(a, sizeof(*g));
	memset(g, 0, sizeof(*g));
	g->name = "foo";
	g->version = "1.0.0";
	g->platform = "ruby";
	g->full_name = g->entry = "foo-1.0.0";
	g->plan = PLAN_MATERIALIZE;
	g->lock_fd = -1;
	in->gems = arena_alloc(a, sizeof(*in->gems));
	in->gems[0] = g;
	in->ngems = 1;
	assert_int_equal(cache_load_manifest(in, g), 0);
	assert_non_null(g->manifest);
	return g;
}

static void check_file(struct install *in, const struct file *f)
{
	const char *got_path =
		arena_printf(&in->arena, "%s/gems/foo-1.0.0/%s", in->install_root, f->path + 4);
	struct sbuf got = SBUF_INIT;
	struct stat st, src;

	assert_int_equal(fs_read_file(got_path, &got, 1 << 20), 0);
	assert_string_equal(sbuf_cstr(&got), f->text);
	assert_int_equal(lstat(got_path, &st), 0);
	assert_true(S_ISREG(st.st_mode));
	assert_int_equal(st.st_mode & 07777, f->mode);
	assert_int_equal(
		stat(arena_printf(&in->arena, "%s/foo-1.0.0/%s", in->cached_dir, f->path), &src),
		0);
	/* The link mode is the one asked for: a hardlink shares the cached inode, a copy does not.
	 */
	if (in->link_mode == LINK_HARDLINK)
		assert_true(st.st_ino == src.st_ino);
	else
		assert_true(st.st_ino != src.st_ino);
	sbuf_release(&got);
}

static void materialize_twin(bool uring, enum link_mode mode, const char *name)
{
	struct install in;
	struct sbuf text = SBUF_INIT;
	char target[64];

	sc_install_open(&in, name, sc_install_backend(uring), mode);
	struct gem *g = cached_entry(&in);
	/* A killed run's leftover, which the job removes first. */
	assert_int_equal(fs_mkdir_p(at(&in, "%s/gems/foo-1.0.0/stale", in.install_root), 0755), 0);

	struct job *j = materialize_job_new(&in, g, NULL);
	sched_submit(in.sched, j);
	assert_int_equal(sched_run(in.sched), 0);
	assert_int_equal(j->state, JOB_DONE);
	assert_int_equal(j->err, 0);

	for (size_t i = 0; i < SC_ARRAY_SIZE(files); i++)
		check_file(&in, &files[i]);
	const char *gem_dir = at(&in, "%s/gems/foo-1.0.0", in.install_root);
	assert_false(fs_exists_at(AT_FDCWD, at(&in, "%s/stale", gem_dir)));
	ssize_t n = readlink(at(&in, "%s/lib/alias.rb", gem_dir), target, sizeof(target) - 1);
	assert_int_equal(n, 6);
	target[n] = '\0';
	assert_string_equal(target, "foo.rb");
	/* The binstub RubyGems would write, and the gemspec, written last. */
	assert_int_equal(fs_read_file(at(&in, "%s/bin/foo", in.install_root), &text, 1 << 20), 0);
	assert_non_null(strstr(sbuf_cstr(&text), "foo"));
	sbuf_reset(&text);
	assert_int_equal(
		fs_read_file(at(&in, "%s/specifications/foo-1.0.0.gemspec", in.install_root), &text,
			     1 << 20),
		0);
	assert_non_null(strstr(sbuf_cstr(&text), "# stub: foo 1.0.0"));
	assert_int_equal(in.stats.files_materialized, SC_ARRAY_SIZE(files) + 1);
	sbuf_release(&text);
	sc_install_close(&in);
}

/* A cached file gone after the manifest was loaded: the job fails and names it. */
static void materialize_missing_twin(bool uring, const char *name)
{
	struct install in;

	sc_install_open(&in, name, sc_install_backend(uring), LINK_COPY);
	struct gem *g = cached_entry(&in);
	assert_int_equal(unlink(at(&in, "%s/foo-1.0.0/gem/lib/foo/version.rb", in.cached_dir)), 0);
	struct job *j = materialize_job_new(&in, g, NULL);
	sched_submit(in.sched, j);
	assert_int_equal(sched_run(in.sched), -ENOENT);
	assert_int_equal(j->state, JOB_FAILED);
	assert_int_equal(j->err, -ENOENT);
	assert_non_null(strstr(sbuf_cstr(&j->errmsg), "lib/foo/version.rb"));
	/* Never vouched for: no gemspec in specifications/. */
	assert_false(fs_exists_at(in.specs_fd, "foo-1.0.0.gemspec"));
	sc_install_close(&in);
}

SC_TEST(materialize_hardlink_sync)
{
	materialize_twin(false, LINK_HARDLINK, "hardlink-sync");
}

SC_TEST(materialize_hardlink_uring)
{
	materialize_twin(true, LINK_HARDLINK, "hardlink-uring");
}

SC_TEST(materialize_copy_sync)
{
	materialize_twin(false, LINK_COPY, "copy-sync");
}

SC_TEST(materialize_copy_uring)
{
	materialize_twin(true, LINK_COPY, "copy-uring");
}

SC_TEST(materialize_missing_cached_file_sync)
{
	materialize_missing_twin(false, "missing-sync");
}

SC_TEST(materialize_missing_cached_file_uring)
{
	materialize_missing_twin(true, "missing-uring");
}
