/*
 * install_session.h: a real install session for phase unit tests, without Ruby.
 *
 * sc_install_open() runs what install_setup() and install_prepare() do,
 * minus the two Ruby questions: install_setup() itself (the lockfile, the
 * Bundler config of a fresh app directory, the engine on the chosen I/O
 * backend), the target Ruby's facts as the test gives them (what abi_load
 * would read from the facts cache), install_open_cache(), and the install
 * root's gems/ and specifications/ as install_prepare() opens them. A
 * phase's job is then created with its own constructor and run by the
 * session's scheduler (sched_run): its step() and done() on that backend.
 *
 * Included by the phase tests of this directory (its functions are static:
 * only the test binaries that use it link the phases).
 */
#pragma once

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/sbuf.h"
#include "engine/ioq.h"
#include "fsops/fsops.h"
#include "phases/session/install.h"
#include "phases/phase.h"
#include "sc_test.h"

static const char sc_lockfile[] = "GEM\n"
				  "  remote: http://127.0.0.1:9/\n"
				  "  specs:\n"
				  "    foo (1.0.0)\n"
				  "\n"
				  "PLATFORMS\n"
				  "  ruby\n"
				  "\n"
				  "DEPENDENCIES\n"
				  "  foo\n"
				  "\n"
				  "BUNDLED WITH\n"
				  "   2.3.15\n";

/* Written once: a second session over the same directories sees them unchanged. */
static void sc_write(const char *path, const char *text)
{
	if (access(path, F_OK) == 0)
		return;
	FILE *f = fopen(path, "w");

	assert_non_null(f);
	assert_int_equal(fputs(text, f) >= 0, 1);
	assert_int_equal(fclose(f), 0);
}

/* The backend of a twin, or skip(): the io_uring twin is skipped under SCINT_IO_URING=0. */
static enum ioq_backend sc_install_backend(bool uring)
{
	const char *env = getenv("SCINT_IO_URING");

	if (!uring)
		return IOQ_BACKEND_SYNC;
	if (env && env[0] == '0')
		skip();
	return IOQ_BACKEND_URING;
}

/* Fresh directories under sc_test_tmpdir()/<name>. Skips the test when the backend is missing. */
static void sc_install_open(struct install *in, const char *name, enum ioq_backend backend,
			    enum link_mode mode)
{
	struct sbuf err = SBUF_INIT;
	struct arena *a = &in->arena;
	const char *base;

	memset(in, 0, sizeof(*in));
	arena_init(a);
	base = arena_printf(a, "%s/%s", sc_test_tmpdir(), name);
	/* The user's config is the test's own (an empty HOME). */
	assert_int_equal(fs_mkdir_p(arena_printf(a, "%s/home", base), 0755), 0);
	setenv("HOME", arena_printf(a, "%s/home", base), 1);
	assert_int_equal(fs_mkdir_p(arena_printf(a, "%s/app", base), 0755), 0);
	in->opts.app_dir = arena_printf(a, "%s/app", base);
	in->opts.gemfile = arena_printf(a, "%s/Gemfile", in->opts.app_dir);
	in->opts.lockfile = arena_printf(a, "%s/Gemfile.lock", in->opts.app_dir);
	in->opts.bundle_path = arena_printf(a, "%s/.bundle", in->opts.app_dir);
	in->opts.cache_root = arena_printf(a, "%s/cache", base);
	in->opts.jobs = 2;
	in->opts.link_mode = mode;
	in->opts.io_backend = (int)backend;
	sc_write(in->opts.gemfile, "source \"http://127.0.0.1:9/\"\ngem \"foo\"\n");
	sc_write(in->opts.lockfile, sc_lockfile);
	int r = install_setup(in, &err);
	if (r < 0 && !in->ioq && backend == IOQ_BACKEND_URING) {
		sbuf_release(&err);
		install_release(in);
		skip(); /* no io_uring here */
	}
	if (r < 0)
		fail_msg("install_setup: %s", sbuf_cstr(&err));
	assert_string_equal(ioq_backend_name(in->ioq),
			    backend == IOQ_BACKEND_URING ? "io_uring" : "sync");

	/* The facts abi_load would give (phases/session/abi.c). */
	in->abi.ruby = "/usr/bin/ruby";
	in->abi.engine = "ruby";
	in->abi.version = "3.1.2";
	in->abi.ruby_version_dir = "3.1.0";
	in->abi.platform = "x86_64-linux";
	in->abi.ext_api = "3.1.0";
	in->abi.install_name = "ruby";
	in->abi.rubygems_version = "3.3.15";
	in->abi.abi = "ruby-3.1.2-x86_64-linux";
	in->abi.make = "make";
	hmap_init(&in->abi.default_gems);
	hmap_init(&in->by_name);
	assert_int_equal(install_open_cache(in, &err), 0);

	/* The install root as install_prepare opens it (install.c, install_open_root). */
	in->install_root =
		arena_printf(a, "%s/ruby/%s", in->opts.bundle_path, in->abi.ruby_version_dir);
	in->ext_dir = arena_printf(a, "extensions/%s/%s", in->abi.platform, in->abi.ext_api);
	assert_int_equal(fs_mkdir_p(arena_printf(a, "%s/gems", in->install_root), 0755), 0);
	assert_int_equal(fs_mkdir_p(arena_printf(a, "%s/specifications", in->install_root), 0755),
			 0);
	assert_int_equal(fs_mkdir_p(arena_printf(a, "%s/cache", in->install_root), 0755), 0);
	in->root_fd = fs_open_dir(in->install_root);
	assert_true(in->root_fd >= 0);
	in->gems_fd = fs_open_dirat(in->root_fd, "gems");
	in->specs_fd = fs_open_dirat(in->root_fd, "specifications");
	assert_true(in->gems_fd >= 0 && in->specs_fd >= 0);
	sbuf_release(&err);
}

static void sc_install_close(struct install *in)
{
	install_release(in);
}
