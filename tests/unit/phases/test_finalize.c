/*
 * phases/finalize.c run by a real install session (install_session.h)
 * without Ruby: the job made by finalize_job_init() runs to done() under
 * the session's scheduler, one twin per I/O backend. It writes the app's
 * config (BUNDLE_PATH), the runtime lock and scint.state, after
 * which install_state_current() holds; a second session with nothing
 * changed rewrites none of them; an app config dir that cannot be created
 * fails the job with a message.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/sbuf.h"
#include "fsops/fsops.h"
#include "install_session.h"
#include "sc_test.h"

static const char *const names[] = { "config", "scint.lock.marshal", "scint.state" };

static int run_finalize(struct install *in)
{
	finalize_job_init(in);
	sched_submit(in->sched, &in->finalize_job);
	return sched_run(in->sched);
}

static void finalize_twin(bool uring, const char *name)
{
	struct install in;
	struct sbuf text = SBUF_INIT;
	struct stat st[3], again;

	sc_install_open(&in, name, sc_install_backend(uring), LINK_HARDLINK);
	const char *dir = install_app_config_dir(&in);
	assert_false(install_state_current(&in));
	assert_int_equal(run_finalize(&in), 0);
	assert_int_equal(in.finalize_job.state, JOB_DONE);
	assert_true(install_state_current(&in));
	assert_int_equal(fs_read_file(arena_printf(&in.arena, "%s/config", dir), &text, 1 << 20),
			 0);
	assert_non_null(strstr(sbuf_cstr(&text), "BUNDLE_PATH: \".bundle\""));
	sbuf_reset(&text);
	assert_int_equal(
		fs_read_file(arena_printf(&in.arena, "%s/scint.lock.marshal", dir), &text, 1 << 20),
		0);
	assert_true(text.len > 2 && text.buf[0] == 4 && text.buf[1] == 8); /* Marshal 4.8 */
	sbuf_reset(&text);
	assert_int_equal(
		fs_read_file(arena_printf(&in.arena, "%s/scint.state", dir), &text, 1 << 20), 0);
	assert_non_null(strstr(sbuf_cstr(&text), "root "));
	assert_non_null(strstr(sbuf_cstr(&text), in.install_root));
	for (int i = 0; i < 3; i++)
		assert_int_equal(stat(arena_printf(&in.arena, "%s/%s", dir, names[i]), &st[i]), 0);
	/* No temporary file is left behind. */
	int dfd = fs_open_dir(dir);
	assert_true(dfd >= 0);
	for (int i = 0; i < 3; i++)
		assert_false(fs_exists_at(
			dfd, arena_printf(&in.arena, ".%s.tmp-%d", names[i], (int)getpid())));
	close(dfd);
	sc_install_close(&in);

	/* The same install again: every file is current, none is written (a rename makes a new
	 * inode). */
	sc_install_open(&in, name, sc_install_backend(uring), LINK_HARDLINK);
	dir = install_app_config_dir(&in);
	assert_true(install_state_current(&in));
	assert_int_equal(run_finalize(&in), 0);
	assert_int_equal(in.finalize_job.state, JOB_DONE);
	for (int i = 0; i < 3; i++) {
		assert_int_equal(stat(arena_printf(&in.arena, "%s/%s", dir, names[i]), &again), 0);
		assert_true(again.st_ino == st[i].st_ino);
	}
	sbuf_release(&text);
	sc_install_close(&in);
}

/* BUNDLE_APP_CONFIG names a regular file: the job fails, it does not assert. */
static void finalize_fail_twin(bool uring, const char *name)
{
	struct install in;
	char path[512];

	snprintf(path, sizeof(path), "%s/%s/app/cfg", sc_test_tmpdir(), name);
	setenv("BUNDLE_APP_CONFIG", "cfg", 1);
	sc_install_open(&in, name, sc_install_backend(uring), LINK_HARDLINK);
	unsetenv("BUNDLE_APP_CONFIG");
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	fclose(f);
	assert_string_equal(install_app_config_dir(&in), path);
	int r = run_finalize(&in);
	assert_true(r < 0);
	assert_int_equal(in.finalize_job.state, JOB_FAILED);
	assert_int_equal(in.finalize_job.err, r);
	assert_non_null(strstr(sbuf_cstr(&in.finalize_job.errmsg), "cannot create"));
	sc_install_close(&in);
}

SC_TEST(finalize_sync)
{
	finalize_twin(false, "fin-sync");
}

SC_TEST(finalize_uring)
{
	finalize_twin(true, "fin-uring");
}

SC_TEST(finalize_unwritable_config_dir_sync)
{
	finalize_fail_twin(false, "fin-fail-sync");
}

SC_TEST(finalize_unwritable_config_dir_uring)
{
	finalize_fail_twin(true, "fin-fail-uring");
}
