/*
 * cmd_exec.c: `scint exec CMD [ARGS...]`: runs a command in the bundle, as
 * `bundle exec` does, without Bundler and without starting Ruby itself.
 *
 * It reads <app config>/scint.state (a few text lines written by the install,
 * phases/finalize.c: the install root, the bundle path, the SHA-256 of the
 * Gemfile.lock it installed and of the Gemfile, where the real Bundler is), checks that the
 * runtime lock <app config>/scint.lock.marshal is there and that Gemfile.lock
 * is still the one installed, sets the environment Bundler sets for `bundle
 * exec` (shared_helpers.rb, set_bundle_environment, and the BUNDLER_ORIG_*
 * copies of EnvironmentPreserver), with RUBYOPT loading scint's shim
 * (phases/ruby/shim/bundler/setup.rb, which reads the runtime lock) instead of
 * Bundler's bundler/setup, then execvp()s the command: no child process, so
 * signals and the exit status are the command's own.
 *
 * A missing runtime lock (or state) is rebuilt from Gemfile.lock and the
 * installed gems (a local-only install: nothing is fetched or built). A
 * Gemfile edited since the install goes through the same local install, as
 * Bundler.setup re-resolves an edited Gemfile against the installed gems
 * (only the Gemfile's own bytes are compared: files it pulls in with
 * eval_gemfile are not). A Gemfile.lock that changed since the install is an
 * error naming `scint install`. scint.state lives in the project and is checked like any
 * input: bounded, each value an absolute path or a hex digest without control
 * characters.
 */
#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/arena.h"
#include "base/digest.h"
#include "base/sbuf.h"
#include "base/strv.h"
#include "bundle/config.h"
#include "cli/cli.h"
#include "fsops/fsops.h"
#include "phases/session/install.h"

#define EXEC_STATE_MAX	  16384
#define EXEC_LOCKFILE_MAX (64u << 20)

struct exec_state {
	const char *root; /* <bundle_path>/ruby/<version> */
	const char *bundle_path;
	const char *lock_sha256;
	const char *gemfile_sha256; /* absent in a state an older scint wrote */
	const char *bundler_version; /* may be NULL */
	const char *bundler_lib;     /* may be NULL */
};

static void exec_usage(FILE *f)
{
	fprintf(f, "usage: scint exec [--gemfile FILE] COMMAND [ARGS...]\n"
		   "\n"
		   "Runs COMMAND in the bundle installed by `scint install`, as `bundle exec`\n"
		   "does: the gems' executables first on PATH, GEM_HOME/GEM_PATH on the bundle,\n"
		   "and Ruby started with scint's Bundler shim (the locked gems' load paths from\n"
		   ".bundle/scint.lock.marshal, no resolution). COMMAND replaces scint: its\n"
		   "signals and exit status are its own.\n");
}

/* A value of scint.state: an absolute path (or digest) without control characters. */
static bool exec_value_ok(const char *v, bool path)
{
	size_t n = strlen(v);

	if (!n || n >= PATH_MAX || (path && v[0] != '/'))
		return false;
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)v[i] < 0x20 || v[i] == 0x7f || (path && v[i] == ':'))
			return false;
	return true;
}

/* 0, -ENOENT (no state), or -EINVAL (not a state this scint wrote). */
static int exec_read_state(struct arena *a, const char *dir, struct exec_state *st)
{
	struct sbuf text = SBUF_INIT;
	struct strv rest, line, key, val;
	int r = fs_read_file(arena_printf(a, "%s/scint.state", dir), &text, EXEC_STATE_MAX);

	*st = (struct exec_state){ 0 };
	if (r < 0) {
		sbuf_release(&text);
		return r == -EFBIG ? -EINVAL : r;
	}
	rest = sbuf_strv(&text);
	while (strv_next_line(&rest, &line)) {
		if (!strv_cut(line, ' ', &key, &val))
			continue;
		const char *v = arena_strv(a, val);
		bool is_path = !strv_eq_cstr(key, "lockfile_sha256") &&
			       !strv_eq_cstr(key, "gemfile_sha256") &&
			       !strv_eq_cstr(key, "bundler_version");
		const char **field = strv_eq_cstr(key, "root")		    ? &st->root
				     : strv_eq_cstr(key, "bundle_path")	    ? &st->bundle_path
				     : strv_eq_cstr(key, "lockfile_sha256") ? &st->lock_sha256
				     : strv_eq_cstr(key, "gemfile_sha256")  ? &st->gemfile_sha256
				     : strv_eq_cstr(key, "bundler_version") ? &st->bundler_version
				     : strv_eq_cstr(key, "bundler_lib")	    ? &st->bundler_lib
									    : NULL;
		if (!field)
			continue;
		if (!exec_value_ok(v, is_path)) {
			sbuf_release(&text);
			return -EINVAL;
		}
		*field = v;
	}
	sbuf_release(&text);
	if (!st->root || !st->bundle_path || !st->lock_sha256 || strlen(st->lock_sha256) != 64)
		return -EINVAL;
	return 0;
}

/* Bundler.app_config_path, as install found it (bundle/config.h). */
static const char *exec_config_dir(struct arena *a, const char *app_dir)
{
	return bconfig_app_config_dir(a, arena_printf(a, "%s/.bundle", app_dir), getenv("HOME"),
				      environ);
}

/*
 * The Gemfile edited since the install: newer than the runtime lock and
 * other bytes than the install read (a state without the Gemfile's digest
 * counts as changed when the Gemfile is newer).
 */
static bool exec_gemfile_changed(const char *gemfile, const struct stat *runtime_lock,
				 const char *want_sha256)
{
	struct stat gst;
	struct sbuf text = SBUF_INIT;
	char hex[DIGEST_SHA256_HEX];
	int r;

	if (stat(gemfile, &gst) < 0)
		return false; /* cli_find_gemfile found it; the install says what went wrong */
	if (gst.st_mtim.tv_sec < runtime_lock->st_mtim.tv_sec ||
	    (gst.st_mtim.tv_sec == runtime_lock->st_mtim.tv_sec &&
	     gst.st_mtim.tv_nsec <= runtime_lock->st_mtim.tv_nsec))
		return false;
	if (!want_sha256 || strlen(want_sha256) != 64)
		return true;
	r = fs_read_file(gemfile, &text, EXEC_LOCKFILE_MAX);
	sha256_hex(text.buf ? text.buf : "", text.len, hex);
	sbuf_release(&text);
	return r < 0 || strcmp(hex, want_sha256) != 0;
}

/* The local-only install that writes the runtime lock again; its output goes to stderr. */
static int exec_rebuild(struct arena *a, const char *gemfile)
{
	char *argv[] = { arena_strdup(a, "install"), arena_strdup(a, "--quiet"),
			 arena_strdup(a, "--gemfile"), arena_strdup(a, gemfile), NULL };
	int saved = dup(1), rc;

	fflush(stdout);
	if (saved >= 0)
		(void)dup2(2, 1);
	rc = cli_install_local(4, argv);
	fflush(stdout);
	if (saved >= 0) {
		(void)dup2(saved, 1);
		close(saved);
	}
	return rc;
}

/* EnvironmentPreserver#backup: BUNDLER_ORIG_<key> once, the marker for an unset key. */
static void exec_preserve(const char *key)
{
	char name[64];
	const char *v = getenv(key);

	snprintf(name, sizeof(name), "BUNDLER_ORIG_%s", key);
	if (getenv(name))
		return;
	if (!v)
		setenv(name, "BUNDLER_ENVIRONMENT_PRESERVER_INTENTIONALLY_NIL", 1);
	else if (*v)
		setenv(name, v, 1);
}

/* Prepends item to the ':'-list in $key, dropping its later copies (Array#uniq). */
static void exec_prepend_list(struct arena *a, const char *key, const char *item)
{
	const char *old = getenv(key);
	struct sbuf out = SBUF_INIT;

	sbuf_addstr(&out, item);
	for (const char *p = old ? old : ""; *p;) {
		size_t k = strcspn(p, ":");
		bool dup = k == strlen(item) && !strncmp(p, item, k);
		/* Earlier copies are dropped too: every element once, in first-seen order. */
		for (const char *q = out.buf; !dup && q && *q;) {
			size_t m = strcspn(q, ":");
			dup = m == k && !strncmp(q, p, k);
			q += m + (q[m] == ':');
		}
		if (!dup && k) {
			sbuf_addch(&out, ':');
			sbuf_add(&out, p, k);
		}
		p += k + (p[k] == ':');
	}
	setenv(key, arena_strdup(a, sbuf_cstr(&out)), 1);
	sbuf_release(&out);
}

static int exec_main(int argc, char **argv)
{
	struct arena a;
	struct install_opts o = { 0 };
	struct exec_state st;
	const char *gemfile = NULL;
	int i = 1, r, rc = CLI_FAILED;
	sigset_t mask;

	/* The rebuild blocks signals for its signalfd: the command gets the mask scint got. */
	(void)sigprocmask(SIG_SETMASK, NULL, &mask);

	for (; i < argc && argv[i][0] == '-'; i++) {
		if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
			exec_usage(stdout);
			return CLI_OK;
		} else if (!strcmp(argv[i], "--gemfile") && i + 1 < argc) {
			gemfile = argv[++i];
		} else if (!strncmp(argv[i], "--gemfile=", 10)) {
			gemfile = argv[i] + 10;
		} else if (!strcmp(argv[i], "--")) {
			i++;
			break;
		} else {
			cli_error("unknown option '%s'", argv[i]);
			exec_usage(stderr);
			return CLI_USAGE;
		}
	}
	if (i >= argc) {
		exec_usage(stderr);
		return CLI_USAGE;
	}
	arena_init(&a);
	if (cli_find_gemfile(&a, gemfile, &o) < 0)
		goto out;
	const char *dir = exec_config_dir(&a, o.app_dir);
	const char *lock = arena_printf(&a, "%s/scint.lock.marshal", dir);
	struct stat lst, mst;
	if (stat(o.lockfile, &lst) < 0) {
		cli_error("cannot read %s: %s (run `scint install`)", o.lockfile, strerror(errno));
		goto out;
	}
	r = exec_read_state(&a, dir, &st);
	if (r == 0 && stat(lock, &mst) < 0)
		r = -ENOENT;
	bool edited = r == 0 && exec_gemfile_changed(o.gemfile, &mst, st.gemfile_sha256);
	if (edited || r == -ENOENT) {
		/*
		 * An edited Gemfile is re-resolved as Bundler.setup does; a missing
		 * runtime lock is written again from Gemfile.lock and the installed
		 * gems. Both by a local install: nothing fetched.
		 */
		if (!edited)
			cli_warn("%s is missing: rebuilding it from %s and the installed gems",
				 lock, o.lockfile);
		rc = exec_rebuild(&a, o.gemfile);
		if (rc != CLI_OK)
			goto out;
		rc = CLI_FAILED;
		r = exec_read_state(&a, dir, &st);
		if (r == 0 && stat(lock, &mst) < 0)
			r = -errno;
		if (r == 0 && stat(o.lockfile, &lst) < 0) {
			cli_error("cannot read %s: %s (run `scint install`)", o.lockfile,
				  strerror(errno));
			goto out;
		}
	}
	if (r < 0) {
		cli_error("cannot use the install recorded in %s/scint.state: %s (run `scint "
			  "install`)",
			  dir, r == -EINVAL ? "not written by this scint" : strerror(-r));
		goto out;
	}
	/* Gemfile.lock newer than the runtime lock: stale only if its content changed. */
	if (lst.st_mtim.tv_sec > mst.st_mtim.tv_sec ||
	    (lst.st_mtim.tv_sec == mst.st_mtim.tv_sec &&
	     lst.st_mtim.tv_nsec > mst.st_mtim.tv_nsec)) {
		struct sbuf text = SBUF_INIT;
		char hex[DIGEST_SHA256_HEX];
		r = fs_read_file(o.lockfile, &text, EXEC_LOCKFILE_MAX);
		sha256_hex(text.buf ? text.buf : "", text.len, hex);
		sbuf_release(&text);
		if (r < 0 || strcmp(hex, st.lock_sha256)) {
			cli_error("%s changed since the gems were installed: run `scint install`",
				  o.lockfile);
			goto out;
		}
	}

	char *helper = cli_helper_path();
	char *slash = strrchr(helper, '/');
	const char *shim = arena_printf(&a, "%.*s/shim/bundler/setup",
					slash ? (int)(slash - helper) : 1, slash ? helper : ".");
	free(helper);

	static const char *const keys[] = {
		"BUNDLE_BIN_PATH", "BUNDLE_GEMFILE", "BUNDLER_VERSION", "GEM_HOME", "GEM_PATH",
		"MANPATH",	   "PATH",	     "RB_USER_INSTALL", "RUBYLIB",  "RUBYOPT"
	};
	for (size_t k = 0; k < sizeof(keys) / sizeof(keys[0]); k++)
		exec_preserve(keys[k]);
	if (st.bundler_lib)
		setenv("BUNDLE_BIN_PATH", arena_printf(&a, "%s/../exe/bundle", st.bundler_lib), 1);
	setenv("BUNDLE_GEMFILE", o.gemfile, 1);
	if (st.bundler_version)
		setenv("BUNDLER_VERSION", st.bundler_version, 1);
	setenv("GEM_HOME", st.root, 1);
	setenv("GEM_PATH", "", 1);
	setenv("BUNDLE_PATH", st.bundle_path, 1);
	setenv("SCINT_RUNTIME_LOCK", lock, 1);
	exec_prepend_list(&a, "PATH", arena_printf(&a, "%s/bin", st.root));
	/* set_rubyopt: the shim first, once. */
	const char *ro = getenv("RUBYOPT");
	const char *req = arena_printf(&a, "-r%s", shim);
	if (!ro || strncmp(ro, req, strlen(req)))
		setenv("RUBYOPT", ro && *ro ? arena_printf(&a, "%s %s", req, ro) : req, 1);
	/* set_rubylib: the real Bundler reachable, for programs that need more than the shim. */
	if (st.bundler_lib)
		exec_prepend_list(&a, "RUBYLIB", st.bundler_lib);

	fflush(stdout);
	fflush(stderr);
	(void)sigprocmask(SIG_SETMASK, &mask, NULL);
	execvp(argv[i], argv + i);
	r = errno;
	if (r == ENOENT) {
		cli_error("command not found: %s", argv[i]);
		rc = 127;
	} else {
		cli_error("cannot run %s: %s", argv[i], strerror(r));
		rc = 126;
	}
out:
	arena_release(&a);
	return rc;
}

const struct cli_cmd cmd_exec = {
	.name = "exec",
	.summary = "run a command in the bundle (like `bundle exec`, without Bundler)",
	.run = exec_main,
};
