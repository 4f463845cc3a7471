#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include "base/arena.h"
#include "base/err.h"
#include "base/sbuf.h"
#include "base/strv.h"
#include "bundle/config.h"
#include "sc_test.h"

/* ---- helpers ---- */

static void write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	assert_non_null(f);
	fputs(text, f);
	assert_int_equal(fclose(f), 0);
}

static char *read_file(const char *path)
{
	struct sbuf sb = SBUF_INIT;
	char buf[4096];
	size_t got;
	FILE *f = fopen(path, "r");

	if (!f)
		return NULL;
	while ((got = fread(buf, 1, sizeof(buf), f)) > 0)
		sbuf_add(&sb, buf, got);
	fclose(f);
	return sbuf_detach(&sb, NULL);
}

static void mkdir_p(const char *path)
{
	char cmd[1024];

	snprintf(cmd, sizeof(cmd), "mkdir -p '%s'", path);
	assert_int_equal(system(cmd), 0);
}

/* A fresh directory under the test tmpdir. */
static const char *fresh_dir(struct arena *a, const char *name)
{
	const char *d = arena_printf(a, "%s/%s", sc_test_tmpdir(), name);

	mkdir_p(d);
	return d;
}

/* Runs `sh -c cmd` (BUNDLE_* and RUBYOPT from our own environment removed); stdout to out. */
static int sh_run(const char *cmd, struct sbuf *out)
{
	struct sbuf full = SBUF_INIT;
	char buf[4096];
	size_t got;
	FILE *f;
	int status;

	sbuf_addf(&full,
		  "for v in $(env | sed -n 's/^\\(BUNDLE_[A-Za-z0-9_]*\\)=.*/\\1/p'); do unset $v; "
		  "done; unset RUBYOPT; %s",
		  cmd);
	f = popen(sbuf_cstr(&full), "r");
	assert_non_null(f);
	while ((got = fread(buf, 1, sizeof(buf), f)) > 0)
		if (out)
			sbuf_add(out, buf, got);
	status = pclose(f);
	sbuf_release(&full);
	return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

static int ruby_script(struct arena *a, const char *name, const char *script, struct sbuf *out)
{
	const char *path = arena_printf(a, "%s/%s.rb", sc_test_tmpdir(), name);

	write_file(path, script);
	return sh_run(arena_printf(a, "ruby '%s'", path), out);
}

/* An envp array in the arena, copied from a NULL-terminated list. */
static char **env_of(struct arena *a, const char *const *vars)
{
	size_t n = 0;
	char **envp;

	while (vars[n])
		n++;
	envp = arena_alloc(a, (n + 1) * sizeof(*envp));
	for (size_t i = 0; i < n; i++)
		envp[i] = arena_strdup(a, vars[i]);
	envp[n] = NULL;
	return envp;
}

#define ENVP(a, ...) env_of((a), (const char *const[]){ __VA_ARGS__, NULL })

static void parse_ok(struct arena *a, const char *text, struct bconfig_layer *l)
{
	struct sbuf err = SBUF_INIT;
	int r = bconfig_parse(a, strv_from(text), l, &err);

	if (r < 0)
		fail_msg("parse failed: %s", sbuf_cstr(&err));
	sbuf_release(&err);
}

static const char *layer_get(const struct bconfig_layer *l, const char *key)
{
	for (size_t i = 0; i < l->n; i++)
		if (strcmp(l->entries[i].key, key) == 0)
			return l->entries[i].value;
	return NULL;
}

/* ---- parsing ---- */

SC_TEST(config_parse_quoted_and_bare_values)
{
	struct arena a;
	struct bconfig_layer l;

	arena_init(&a);
	parse_ok(&a,
		 "---\n"
		 "BUNDLE_PATH: \".bundle\"\n"
		 "BUNDLE_JOBS: 4\n"
		 "BUNDLE_BIN: 'bin stubs'\n"
		 "BUNDLE_EMPTY: \"\"\n"
		 "BUNDLE_OPEN: \"unterminated\n"
		 "BUNDLE_ESC: \"a\\\"b\"\n"
		 "BUNDLE_SPACES:  two\r\n"
		 "BUNDLE_NOSPACE:\"x\"\n"
		 "BUNDLE_PATH: \"vendor/bundle\"\n",
		 &l);
	assert_null(l.path);
	assert_int_equal(l.n, 7);
	/* File order; a repeated key keeps its first position and takes the last value. */
	assert_string_equal(l.entries[0].key, "BUNDLE_PATH");
	assert_string_equal(l.entries[0].value, "vendor/bundle");
	assert_null(l.entries[0].items);
	assert_string_equal(layer_get(&l, "BUNDLE_JOBS"), "4");
	assert_string_equal(layer_get(&l, "BUNDLE_BIN"), "bin stubs");
	assert_string_equal(layer_get(&l, "BUNDLE_EMPTY"), "");
	assert_string_equal(layer_get(&l, "BUNDLE_OPEN"), "\"unterminated");
	/* Bundler does not unescape. */
	assert_string_equal(layer_get(&l, "BUNDLE_ESC"), "a\\\"b");
	assert_string_equal(layer_get(&l, "BUNDLE_SPACES"), " two");
	/* No whitespace after the colon: not a key line at all. */
	assert_null(layer_get(&l, "BUNDLE_NOSPACE"));
	arena_release(&a);
}

SC_TEST(config_parse_key_quirks)
{
	struct arena a;
	struct bconfig_layer l;

	arena_init(&a);
	parse_ok(&a,
		 "---\n"
		 "A: \"x: y\"\n"
		 "BUNDLE_GEMS.EXAMPLE-X.COM: \"u:p\"\n"
		 "BUNDLE_HTTPS://gems.example.com/private: \"s:t\"\n",
		 &l);
	assert_int_equal(l.n, 3);
	/* HASH_REGEX's key is greedy: it runs to the last ": ". */
	assert_string_equal(l.entries[0].key, "A: \"x");
	assert_string_equal(l.entries[0].value, "y\"");
	/* '.' -> "__" (YAMLSerializer), '-' -> "___" (Settings#load_config). */
	assert_string_equal(l.entries[1].key, "BUNDLE_GEMS__EXAMPLE___X__COM");
	/* URL keys get a trailing '/'. */
	assert_string_equal(l.entries[2].key, "BUNDLE_HTTPS://gems__example__com/private/");
	arena_release(&a);
}

SC_TEST(config_parse_arrays)
{
	struct arena a;
	struct bconfig_layer l;

	arena_init(&a);
	parse_ok(&a,
		 "---\n"
		 "BUNDLE_WITHOUT:\n"
		 "- \"development\"\n"
		 "- test\n"
		 "BUNDLE_PATH: \"p\"\n"
		 "  - 'late'\n"
		 "BUNDLE_MAP:\n"
		 "  NESTED: \"x\"\n"
		 "BUNDLE_WITH:\n"
		 "- \"a\"\n"
		 "BUNDLE_WITH: \"plain\"\n"
		 "- \"b\"\n",
		 &l);
	assert_int_equal(l.n, 3);
	assert_string_equal(l.entries[0].key, "BUNDLE_WITHOUT");
	/* Items go to the last key with an empty value, wherever they appear. */
	assert_string_equal(l.entries[0].value, "development:test:late");
	assert_int_equal(l.entries[0].nitems, 3);
	assert_string_equal(l.entries[0].items[1], "test");
	assert_string_equal(l.entries[1].value, "p");
	/* BUNDLE_MAP is a nested mapping: left out. An item after a string restarts the array. */
	assert_null(layer_get(&l, "BUNDLE_MAP"));
	assert_null(layer_get(&l, "NESTED"));
	assert_string_equal(layer_get(&l, "BUNDLE_WITH"), "b");
	assert_int_equal(l.entries[2].nitems, 1);
	arena_release(&a);
}

SC_TEST(config_parse_errors)
{
	struct arena a;
	struct bconfig_layer l;
	struct sbuf err = SBUF_INIT;

	arena_init(&a);
	assert_int_equal(bconfig_parse(&a, STRV_LIT("---\n- \"orphan\"\n"), &l, &err), -SC_ECONFIG);
	assert_non_null(strstr(sbuf_cstr(&err), "line 2"));
	sbuf_reset(&err);
	assert_int_equal(bconfig_parse(&a, STRV_LIT("---\n  K: \"v\"\n"), &l, &err), -SC_ECONFIG);
	assert_int_equal(bconfig_parse(&a, STRV_LIT("---\n  K: \"v\"\n"), &l, NULL), -SC_ECONFIG);
	/* Empty text and comments are fine. */
	assert_int_equal(bconfig_parse(&a, STRV_LIT(""), &l, &err), 0);
	assert_int_equal(l.n, 0);
	assert_int_equal(bconfig_parse(&a, STRV_LIT("---\n\n#comment\n"), &l, &err), 0);
	assert_int_equal(l.n, 0);
	sbuf_release(&err);
	arena_release(&a);
}

/* Bundler's own loader (Settings#load_config) on the same text gives the same entries. */
SC_TEST(config_parse_matches_bundler)
{
	static const char text[] = "---\n"
				   "BUNDLE_PATH: \".bundle\"\n"
				   "A: \"x: y\"\n"
				   "B: bare value\n"
				   "C: \"unterminated\n"
				   "D: 'single'\n"
				   "E:  two\n"
				   "F:\t\"tab\"\n"
				   "G: \"\"\n"
				   "H: \"\n"
				   "I:\"nospace\"\n"
				   "J:\n"
				   "- \"a\"\n"
				   "- b\n"
				   "-  c\n"
				   "- \"x: y\"\n"
				   "  - \"ind\"\n"
				   "K: \"k\"\n"
				   "- \"late\"\n"
				   "http://x.com: 1\n"
				   "L.M-N: v\n"
				   "# c: d\n"
				   "O: a \"q\"\n"
				   "P:\r\n"
				   "- \"r\"\r\n"
				   "Q: \"a\" \n"
				   "R: \"esc\\\\aped\\\"\"\n";
	struct arena a;
	struct bconfig_layer l;
	struct sbuf ours = SBUF_INIT, theirs = SBUF_INIT;
	const char *dir, *script;

	arena_init(&a);
	dir = fresh_dir(&a, "parse-cross");
	write_file(arena_printf(&a, "%s/config", dir), text);
	parse_ok(&a, text, &l);
	for (size_t i = 0; i < l.n; i++)
		sbuf_addf(&ours, "%s\t%s\n", l.entries[i].key, l.entries[i].value);
	script = arena_printf(&a,
			      "ENV['BUNDLE_USER_CONFIG'] = '/dev/null'\n"
			      "require 'bundler'\n"
			      "s = Bundler::Settings.new('%s')\n"
			      "s.instance_variable_get(:@local_config).each do |k, v|\n"
			      "  next if v.is_a?(Hash)\n"
			      "  puts \"#{k}\\t#{v.is_a?(Array) ? v.join(':') : v}\"\n"
			      "end\n",
			      dir);
	assert_int_equal(ruby_script(&a, "parse-cross", script, &theirs), 0);
	assert_string_equal(sbuf_cstr(&ours), sbuf_cstr(&theirs));
	sbuf_release(&theirs);
	sbuf_release(&ours);
	arena_release(&a);
}

/* ---- loading and precedence ---- */

SC_TEST(config_load_precedence)
{
	struct arena a;
	struct bconfig c;
	struct sbuf err = SBUF_INIT;
	const char *app, *home;
	char **envp;

	arena_init(&a);
	envp = ENVP(&a, "PATH=/usr/bin", "BUNDLE_JOBS=8", "BUNDLE_RETRY=2", "BUNDLE_=ignored",
		    "NOT_BUNDLE_X=1");
	app = fresh_dir(&a, "prec/app/.bundle");
	home = fresh_dir(&a, "prec/home");
	mkdir_p(arena_printf(&a, "%s/.bundle", home));
	write_file(arena_printf(&a, "%s/config", app),
		   "---\nBUNDLE_PATH: \".bundle\"\nBUNDLE_JOBS: \"4\"\n");
	write_file(arena_printf(&a, "%s/.bundle/config", home),
		   "---\nBUNDLE_PATH: \"/global\"\nBUNDLE_JOBS: \"2\"\nBUNDLE_RETRY: \"9\"\n"
		   "BUNDLE_TIMEOUT: \"30\"\n");

	assert_int_equal(bconfig_load(&c, &a, app, home, envp, &err), 0);
	/* local > env > global */
	assert_string_equal(bconfig_get(&c, "BUNDLE_PATH"), ".bundle");
	assert_string_equal(bconfig_get(&c, "BUNDLE_JOBS"), "4");
	assert_string_equal(bconfig_get(&c, "BUNDLE_RETRY"), "2");
	assert_string_equal(bconfig_get(&c, "BUNDLE_TIMEOUT"), "30");
	assert_null(bconfig_get(&c, "BUNDLE_GEMFILE"));
	assert_null(bconfig_get(&c, "BUNDLE_"));
	assert_null(bconfig_get(&c, "NOT_BUNDLE_X"));
	assert_int_equal(c.env.n, 2);
	assert_null(c.env.path);
	assert_string_equal(c.local.path, arena_printf(&a, "%s/config", app));
	assert_string_equal(c.global.path, arena_printf(&a, "%s/.bundle/config", home));
	sbuf_release(&err);
	arena_release(&a);
}

SC_TEST(config_load_app_config_user_config_and_ignore)
{
	struct arena a;
	struct bconfig c;
	const char *root, *app, *home, *custom, *user;
	char **env_rel, **env_abs, **env_user, **env_ign;

	arena_init(&a);
	env_rel = ENVP(&a, "BUNDLE_APP_CONFIG=custom");
	root = fresh_dir(&a, "appcfg/app");
	app = arena_printf(&a, "%s/.bundle", root);
	home = fresh_dir(&a, "appcfg/home");
	custom = fresh_dir(&a, "appcfg/app/custom");
	user = arena_printf(&a, "%s/user-config", home);
	mkdir_p(app);
	write_file(arena_printf(&a, "%s/config", app), "---\nBUNDLE_PATH: \"default\"\n");
	write_file(arena_printf(&a, "%s/config", custom), "---\nBUNDLE_PATH: \"custom\"\n");
	write_file(user, "---\nBUNDLE_JOBS: \"7\"\n");

	/* Relative BUNDLE_APP_CONFIG is taken from the app root. */
	assert_int_equal(bconfig_load(&c, &a, app, home, env_rel, NULL), 0);
	assert_string_equal(bconfig_get(&c, "BUNDLE_PATH"), "custom");
	assert_string_equal(c.local.path, arena_printf(&a, "%s/custom/config", root));
	assert_null(bconfig_get(&c, "BUNDLE_JOBS"));

	env_abs = ENVP(&a, arena_printf(&a, "BUNDLE_APP_CONFIG=%s", custom));
	assert_int_equal(bconfig_load(&c, &a, app, home, env_abs, NULL), 0);
	assert_string_equal(bconfig_get(&c, "BUNDLE_PATH"), "custom");

	env_user = ENVP(&a, arena_printf(&a, "BUNDLE_USER_CONFIG=%s", user));
	assert_int_equal(bconfig_load(&c, &a, app, home, env_user, NULL), 0);
	assert_string_equal(bconfig_get(&c, "BUNDLE_PATH"), "default");
	assert_string_equal(bconfig_get(&c, "BUNDLE_JOBS"), "7");
	assert_string_equal(c.global.path, user);

	/* BUNDLE_IGNORE_CONFIG (even empty) skips both files, not the environment. */
	env_ign = ENVP(&a, env_user[0], "BUNDLE_IGNORE_CONFIG=");
	assert_int_equal(bconfig_load(&c, &a, app, home, env_ign, NULL), 0);
	assert_null(bconfig_get(&c, "BUNDLE_PATH"));
	assert_null(bconfig_get(&c, "BUNDLE_JOBS"));
	assert_string_equal(bconfig_get(&c, "BUNDLE_IGNORE_CONFIG"), "");
	arena_release(&a);
}

SC_TEST(config_load_missing_files_and_errors)
{
	struct arena a;
	struct bconfig c;
	struct sbuf err = SBUF_INIT;
	const char *dir;
	char **envp;

	arena_init(&a);
	envp = env_of(&a, (const char *const[]){ NULL });
	dir = fresh_dir(&a, "missing");
	assert_int_equal(bconfig_load(&c, &a, arena_printf(&a, "%s/nope/.bundle", dir),
				      arena_printf(&a, "%s/nohome", dir), envp, &err),
			 0);
	assert_int_equal(c.local.n + c.env.n + c.global.n, 0);
	assert_non_null(c.local.path);
	assert_int_equal(bconfig_load(&c, &a, NULL, NULL, NULL, &err), 0);
	assert_null(c.local.path);
	assert_null(c.global.path);

	/* A directory where the file should be, and a malformed file, are errors. */
	mkdir_p(arena_printf(&a, "%s/isdir/.bundle/config", dir));
	assert_int_equal(
		bconfig_load(&c, &a, arena_printf(&a, "%s/isdir/.bundle", dir), NULL, envp, &err),
		-EISDIR);
	assert_non_null(strstr(sbuf_cstr(&err), "cannot read"));
	sbuf_reset(&err);
	mkdir_p(arena_printf(&a, "%s/bad/.bundle", dir));
	write_file(arena_printf(&a, "%s/bad/.bundle/config", dir), "---\n- \"x\"\n");
	assert_int_equal(
		bconfig_load(&c, &a, arena_printf(&a, "%s/bad/.bundle", dir), NULL, envp, &err),
		-SC_ECONFIG);
	assert_non_null(strstr(sbuf_cstr(&err), "bad/.bundle/config"));
	sbuf_release(&err);
	arena_release(&a);
}

/* ---- keys and credentials ---- */

SC_TEST(config_host_key_and_key_for)
{
	struct sbuf k = SBUF_INIT;

	bconfig_host_key("gems.example.com", &k);
	assert_string_equal(sbuf_cstr(&k), "BUNDLE_GEMS__EXAMPLE__COM");
	bconfig_host_key("my-gems.ex-ample.com", &k);
	assert_string_equal(sbuf_cstr(&k), "BUNDLE_MY___GEMS__EX___AMPLE__COM");
	bconfig_key_for("path", &k);
	assert_string_equal(sbuf_cstr(&k), "BUNDLE_PATH");
	bconfig_key_for("local.rack", &k);
	assert_string_equal(sbuf_cstr(&k), "BUNDLE_LOCAL__RACK");
	bconfig_key_for("https://gems.example.com/private", &k);
	assert_string_equal(sbuf_cstr(&k), "BUNDLE_HTTPS://GEMS__EXAMPLE__COM/PRIVATE/");
	bconfig_key_for("https://u@gems.example.com:443", &k);
	assert_string_equal(sbuf_cstr(&k), "BUNDLE_HTTPS://U@GEMS__EXAMPLE__COM/");
	bconfig_key_for("mirror.https://rubygems.org", &k);
	assert_string_equal(sbuf_cstr(&k), "BUNDLE_MIRROR__HTTPS://RUBYGEMS__ORG/");
	bconfig_key_for("mirror.https://rubygems.org.fallback_timeout", &k);
	assert_string_equal(sbuf_cstr(&k),
			    "BUNDLE_MIRROR__HTTPS://RUBYGEMS__ORG/__FALLBACK_TIMEOUT");
	/* start_with?("http") is case-sensitive: no normalization, port kept. */
	bconfig_key_for("HTTPS://h.com:443/x", &k);
	assert_string_equal(sbuf_cstr(&k), "BUNDLE_HTTPS://H__COM:443/X");
	sbuf_release(&k);
}

SC_TEST(config_key_for_matches_bundler)
{
	static const char *names[] = {
		"path",
		"gem.test",
		"mirror.all",
		"build.nokogiri",
		"https://gems.example.com",
		"https://GEMS.Example.com/Priv",
		"https://h.com:8443",
		"http://h.com:80/",
		"https://h:08443/x",
		"https://u:p@h.com/",
		"https://@h.com/",
		"https://h.com/a?b=c#frag",
		"https://[::1]:3000/",
		"https://my-host.ex-ample.com/a.b/",
		"mirror.https://rubygems.org",
		"mirror.https://rubygems.org.fallback_timeout",
		"HTTPS://h.com:443/x",
		"https://h.com:/",
	};
	struct arena a;
	struct sbuf ours = SBUF_INIT, theirs = SBUF_INIT, k = SBUF_INIT, script = SBUF_INIT;

	arena_init(&a);
	sbuf_addstr(&script, "require 'bundler'\n[");
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		bconfig_key_for(names[i], &k);
		sbuf_addf(&ours, "%s\n", sbuf_cstr(&k));
		sbuf_addf(&script, "'%s',\n", names[i]);
	}
	sbuf_addstr(&script, "].each { |n| puts Bundler::Settings.key_for(n) }\n");
	assert_int_equal(ruby_script(&a, "key-for", sbuf_cstr(&script), &theirs), 0);
	assert_string_equal(sbuf_cstr(&ours), sbuf_cstr(&theirs));
	sbuf_release(&script);
	sbuf_release(&k);
	sbuf_release(&theirs);
	sbuf_release(&ours);
	arena_release(&a);
}

static void load_cred_config(struct arena *a, struct bconfig *c, char **envp)
{
	const char *app = fresh_dir(a, "cred/app/.bundle");

	write_file(arena_printf(a, "%s/config", app),
		   "---\n"
		   "BUNDLE_HTTPS://GEMS__EXAMPLE__COM/PRIVATE/: \"scoped:1\"\n"
		   "BUNDLE_FALSE__EXAMPLE__COM: \"false\"\n");
	assert_int_equal(bconfig_load(c, a, app, NULL, envp, NULL), 0);
}

SC_TEST(config_credentials)
{
	struct arena a;
	struct bconfig c;
	struct sbuf out = SBUF_INIT;
	char **envp;

	arena_init(&a);
	envp = ENVP(&a, "BUNDLE_GEMS__EXAMPLE__COM=user:pass",
		    "BUNDLE_MY___GEMS__EXAMPLE__COM=dash:ed",
		    "BUNDLE_FALSE__EXAMPLE__COM=env:creds");
	load_cred_config(&a, &c, envp);

	/* Host key from the environment. */
	assert_int_equal(bconfig_credentials(&c, "https://gems.example.com/", &out), 1);
	assert_string_equal(sbuf_cstr(&out), "user:pass");
	assert_int_equal(bconfig_credentials(&c, "https://gems.example.com:8443/x/", &out), 1);
	assert_string_equal(sbuf_cstr(&out), "user:pass");
	assert_int_equal(bconfig_credentials(&c, "https://my-gems.example.com/", &out), 1);
	assert_string_equal(sbuf_cstr(&out), "dash:ed");

	/* The URI-scoped key beats the host key; the URL is normalized first. */
	assert_int_equal(bconfig_credentials(&c, "https://gems.example.com/private/", &out), 1);
	assert_string_equal(sbuf_cstr(&out), "scoped:1");
	assert_int_equal(bconfig_credentials(&c, "https://gems.example.com/private", &out), 1);
	assert_string_equal(sbuf_cstr(&out), "scoped:1");
	assert_int_equal(bconfig_credentials(&c, "HTTPS://gems.example.com:443/private/", &out), 1);
	assert_string_equal(sbuf_cstr(&out), "scoped:1");

	/* Userinfo in the URL wins over everything. */
	assert_int_equal(bconfig_credentials(&c, "https://tok:x@gems.example.com/private/", &out),
			 1);
	assert_string_equal(sbuf_cstr(&out), "tok:x");
	assert_int_equal(bconfig_credentials(&c, "https://token@other.example.com/", &out), 1);
	assert_string_equal(sbuf_cstr(&out), "token");
	/* An empty userinfo is none. */
	assert_int_equal(bconfig_credentials(&c, "https://@gems.example.com/", &out), 1);
	assert_string_equal(sbuf_cstr(&out), "user:pass");

	/* "false" in the local layer hides the env value, and converts to false. */
	assert_int_equal(bconfig_credentials(&c, "https://false.example.com/", &out), 0);
	assert_int_equal(bconfig_credentials(&c, "https://rubygems.org/", &out), 0);
	assert_string_equal(sbuf_cstr(&out), "");
	sbuf_release(&out);
	arena_release(&a);
}

SC_TEST(config_mirrors)
{
	struct arena a;
	struct bconfig c;
	struct sbuf out = SBUF_INIT;
	char **envp, **env_all;

	arena_init(&a);
	envp = ENVP(&a, "BUNDLE_MIRROR__HTTPS://RUBYGEMS__ORG/=https://mirror.example.com",
		    "BUNDLE_MIRROR__GEMS__EXAMPLE__COM=http://hostmirror.example.com:80/m");
	env_all = ENVP(&a, "BUNDLE_MIRROR__HTTPS://RUBYGEMS__ORG/=https://mirror.example.com",
		       "BUNDLE_MIRROR__ALL=https://all.example.com");
	assert_int_equal(bconfig_load(&c, &a, NULL, NULL, envp, NULL), 0);
	assert_int_equal(bconfig_mirror_for(&c, "https://rubygems.org", &out), 1);
	assert_string_equal(sbuf_cstr(&out), "https://mirror.example.com/");
	assert_int_equal(bconfig_mirror_for(&c, "https://RubyGems.org/", &out), 1);
	assert_int_equal(bconfig_mirror_for(&c, "https://gems.example.com/private/", &out), 1);
	assert_string_equal(sbuf_cstr(&out), "http://hostmirror.example.com/m/");
	assert_int_equal(bconfig_mirror_for(&c, "https://other.example.com/", &out), 0);
	assert_int_equal(bconfig_load(&c, &a, NULL, NULL, env_all, NULL), 0);
	assert_int_equal(bconfig_mirror_for(&c, "https://rubygems.org/", &out), 1);
	assert_string_equal(sbuf_cstr(&out), "https://all.example.com/");
	sbuf_release(&out);
	arena_release(&a);
}

/* mirror.<url>.fallback_timeout: Mirror#fallback_timeout= ("true" 0.1 s, else to_i seconds). */
SC_TEST(config_mirror_fallback_timeout)
{
	struct arena a;
	struct bconfig c;
	struct sbuf out = SBUF_INIT;
	long ms = -1;

	arena_init(&a);
	char **envp = ENVP(&a, "BUNDLE_MIRROR__HTTPS://GEMS__EXAMPLE__ORG/=https://mirror.example.com",
			   "BUNDLE_MIRROR__HTTPS://GEMS__EXAMPLE__ORG/__FALLBACK_TIMEOUT=true",
			   "BUNDLE_MIRROR__GEMS__EXAMPLE__COM=http://hostmirror.example.com/",
			   "BUNDLE_MIRROR__GEMS__EXAMPLE__COM__FALLBACK_TIMEOUT=3",
			   "BUNDLE_MIRROR__HTTPS://OTHER__EXAMPLE__COM/=https://m.example.com",
			   "BUNDLE_MIRROR__HTTPS://OTHER__EXAMPLE__COM/__FALLBACK_TIMEOUT=0.5");
	assert_int_equal(bconfig_load(&c, &a, NULL, NULL, envp, NULL), 0);
	assert_int_equal(bconfig_mirror_lookup(&c, "https://gems.example.org", &out, &ms), 1);
	assert_string_equal(sbuf_cstr(&out), "https://mirror.example.com/");
	assert_int_equal(ms, 100);
	assert_int_equal(bconfig_mirror_lookup(&c, "https://gems.example.com/x/", &out, &ms), 1);
	assert_string_equal(sbuf_cstr(&out), "http://hostmirror.example.com/");
	assert_int_equal(ms, 3000);
	/* "0.5".to_i is 0: no probe, as with Bundler */
	assert_int_equal(bconfig_mirror_lookup(&c, "https://other.example.com/", &out, &ms), 1);
	assert_int_equal(ms, 0);
	ms = -1;
	assert_int_equal(bconfig_mirror_lookup(&c, "https://none.example.com/", &out, &ms), 0);
	assert_int_equal(ms, 0);

	char **env_all = ENVP(&a, "BUNDLE_MIRROR__ALL=https://all.example.com",
			      "BUNDLE_MIRROR__ALL__FALLBACK_TIMEOUT=2");
	assert_int_equal(bconfig_load(&c, &a, NULL, NULL, env_all, NULL), 0);
	assert_int_equal(bconfig_mirror_lookup(&c, "https://gems.example.org/", &out, &ms), 1);
	assert_string_equal(sbuf_cstr(&out), "https://all.example.com/");
	assert_int_equal(ms, 2000);
	sbuf_release(&out);
	arena_release(&a);
}

/* Bundler::Settings on the same files and environment agrees on values, credentials, mirrors. */
SC_TEST(config_settings_match_bundler)
{
	static const char *env[] = {
		"BUNDLE_GEMS__EXAMPLE__COM=user:pass",
		"BUNDLE_MY___GEMS__EXAMPLE__COM=dash:ed",
		"BUNDLE_JOBS=3",
		"BUNDLE_GEMFILE=env.rb",
		"BUNDLE_MIRROR__HTTPS://RUBYGEMS__ORG/=https://mirror.example.com",
	};
	static const char *urls[] = {
		"https://gems.example.com/",
		"https://gems.example.com/private/",
		"https://gems.example.com:443/private/",
		"https://my-gems.example.com/",
		"https://tok:x@gems.example.com/",
		"https://global.example.com/",
		"https://rubygems.org/",
		"https://nothing.example.com/",
	};
	static const char *names[] = { "path", "gemfile", "bin", "cache_path", "shebang" };
	struct arena a;
	struct bconfig c;
	struct sbuf ours = SBUF_INIT, theirs = SBUF_INIT, script = SBUF_INIT, v = SBUF_INIT;
	const char *app, *home;
	char *envp[sizeof(env) / sizeof(env[0]) + 1] = { NULL };

	arena_init(&a);
	app = fresh_dir(&a, "settings/app/.bundle");
	home = fresh_dir(&a, "settings/home");
	mkdir_p(arena_printf(&a, "%s/.bundle", home));
	write_file(arena_printf(&a, "%s/config", app),
		   "---\n"
		   "BUNDLE_PATH: \".bundle\"\n"
		   "BUNDLE_GEMFILE: \"local.rb\"\n"
		   "BUNDLE_HTTPS://GEMS__EXAMPLE__COM/PRIVATE/: \"scoped:1\"\n");
	write_file(arena_printf(&a, "%s/.bundle/config", home),
		   "---\n"
		   "BUNDLE_PATH: \"/global\"\n"
		   "BUNDLE_BIN: \"binstubs\"\n"
		   "BUNDLE_GLOBAL__EXAMPLE__COM: \"glob:al\"\n");

	for (size_t i = 0; i < sizeof(env) / sizeof(env[0]); i++) {
		const char *eq = strchr(env[i], '=');
		envp[i] = arena_strdup(&a, env[i]);
		sbuf_addf(&script, "ENV['%.*s'] = '%s'\n", (int)(eq - env[i]), env[i], eq + 1);
	}
	sbuf_addf(&script,
		  "require 'bundler'\n"
		  "s = Bundler::Settings.new('%s')\n"
		  "%%w[%s %s %s %s %s].each { |n| puts \"get #{n} #{s[n].inspect}\" }\n"
		  "%%w[",
		  app, names[0], names[1], names[2], names[3], names[4]);
	for (size_t i = 0; i < sizeof(urls) / sizeof(urls[0]); i++)
		sbuf_addf(&script, "%s ", urls[i]);
	sbuf_addstr(
		&script,
		"].each do |u|\n"
		"  m = s.mirror_for(u).to_s\n"
		"  puts \"mirror #{u} #{m == Bundler::Settings.normalize_uri(u) ? 'none' : m}\"\n"
		"  uri = Bundler::URI(u)\n"
		"  c = uri.userinfo || s.credentials_for(uri)\n"
		"  puts \"cred #{u} #{c.inspect}\"\n"
		"end\n");
	/* HOME must be set before RubyGems starts: Gem.user_home is memoized. */
	write_file(arena_printf(&a, "%s/settings.rb", sc_test_tmpdir()), sbuf_cstr(&script));
	assert_int_equal(
		sh_run(arena_printf(&a, "HOME='%s' ruby '%s/settings.rb'", home, sc_test_tmpdir()),
		       &theirs),
		0);

	assert_int_equal(bconfig_load(&c, &a, app, home, envp, NULL), 0);
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		const char *val;
		bconfig_key_for(names[i], &v);
		val = bconfig_get(&c, sbuf_cstr(&v));
		if (val)
			sbuf_addf(&ours, "get %s \"%s\"\n", names[i], val);
		else
			sbuf_addf(&ours, "get %s nil\n", names[i]);
	}
	for (size_t i = 0; i < sizeof(urls) / sizeof(urls[0]); i++) {
		if (bconfig_mirror_for(&c, urls[i], &v))
			sbuf_addf(&ours, "mirror %s %s\n", urls[i], sbuf_cstr(&v));
		else
			sbuf_addf(&ours, "mirror %s none\n", urls[i]);
		if (bconfig_credentials(&c, urls[i], &v))
			sbuf_addf(&ours, "cred %s \"%s\"\n", urls[i], sbuf_cstr(&v));
		else
			sbuf_addf(&ours, "cred %s nil\n", urls[i]);
	}
	assert_string_equal(sbuf_cstr(&ours), sbuf_cstr(&theirs));
	sbuf_release(&v);
	sbuf_release(&script);
	sbuf_release(&theirs);
	sbuf_release(&ours);
	arena_release(&a);
}

/* ---- writing ---- */

SC_TEST(config_render_with)
{
	struct arena a;
	struct bconfig_layer empty = { 0 }, l;
	struct sbuf out = SBUF_INIT;

	arena_init(&a);
	/* What `bundle config set --local path .bundle` writes into a fresh app. */
	assert_true(bconfig_render_with(&empty, "BUNDLE_PATH", ".bundle", &out));
	assert_string_equal(sbuf_cstr(&out), "---\nBUNDLE_PATH: \".bundle\"\n");

	/* Unchanged value: Bundler writes nothing, even over a hand-written bare value. */
	parse_ok(&a, "---\nBUNDLE_PATH: .bundle\n", &l);
	assert_false(bconfig_render_with(&l, "BUNDLE_PATH", ".bundle", &out));
	assert_string_equal(sbuf_cstr(&out), "---\nBUNDLE_PATH: \".bundle\"\n");

	/* Replaced in place, new keys appended, raw values re-quoted as Ruby's inspect. */
	parse_ok(&a, "---\nBUNDLE_PATH: \".bundle\"\nBUNDLE_X: \"a\\\"b\"\nBUNDLE_JOBS: \"4\"\n",
		 &l);
	assert_true(bconfig_render_with(&l, "BUNDLE_PATH", "vendor/x", &out));
	assert_string_equal(sbuf_cstr(&out), "---\nBUNDLE_PATH: \"vendor/x\"\n"
					     "BUNDLE_X: \"a\\\\\\\"b\"\n"
					     "BUNDLE_JOBS: \"4\"\n");
	assert_true(bconfig_render_with(&l, "BUNDLE_RETRY", "3", &out));
	assert_string_equal(sbuf_cstr(&out), "---\nBUNDLE_PATH: \".bundle\"\n"
					     "BUNDLE_X: \"a\\\\\\\"b\"\n"
					     "BUNDLE_JOBS: \"4\"\n"
					     "BUNDLE_RETRY: \"3\"\n");

	/* Arrays stay arrays; with/without take spaces as separators; NULL unsets. */
	parse_ok(&a, "---\nBUNDLE_WITHOUT:\n- \"dev\"\n- \"test\"\n", &l);
	assert_true(bconfig_render_with(&l, "BUNDLE_PATH", "p", &out));
	assert_string_equal(sbuf_cstr(&out),
			    "---\nBUNDLE_WITHOUT:\n- \"dev\"\n- \"test\"\nBUNDLE_PATH: \"p\"\n");
	assert_true(bconfig_render_with(&l, "BUNDLE_WITHOUT", "dev test", &out));
	assert_string_equal(sbuf_cstr(&out), "---\nBUNDLE_WITHOUT: \"dev:test\"\n");
	assert_true(bconfig_render_with(&l, "BUNDLE_WITHOUT", NULL, &out));
	assert_string_equal(sbuf_cstr(&out), "---\n");
	assert_false(bconfig_render_with(&empty, "BUNDLE_WITHOUT", NULL, &out));

	/* Whitespace runs collapse; quotes, backslashes and "#{" are escaped. */
	assert_true(
		bconfig_render_with(&empty, "BUNDLE_X", "a\t\n b \"#{x}\" \\ #y \x01\x1b", &out));
	assert_string_equal(sbuf_cstr(&out),
			    "---\nBUNDLE_X: \"a b \\\"\\#{x}\\\" \\\\ #y \\u0001\\e\"\n");
	sbuf_release(&out);
	arena_release(&a);
}

/* Our rendering equals Bundler::YAMLSerializer.dump of the same hash. */
SC_TEST(config_render_matches_bundler_dump)
{
	static const char *values[] = {
		".bundle",
		"a\"b\\c",
		"#{x} #$y #@z #w #",
		"tab\there\nnewline  \r\f\v end",
		"\x01\x7f\x1b\a\b",
		"caf\xc3\xa9 \xe2\x82\xac \xe2\x80\xa8 \xef\xbf\xbe \xf0\x9f\x98\x80",
		"",
	};
	struct arena a;
	struct bconfig_layer l = { 0 };
	struct sbuf ours = SBUF_INIT, theirs = SBUF_INIT, script = SBUF_INIT;
	size_t n = sizeof(values) / sizeof(values[0]);

	arena_init(&a);
	l.entries = arena_alloc(&a, n * sizeof(*l.entries));
	sbuf_addstr(&script, "require 'bundler'\nrequire 'bundler/yaml_serializer'\nh = {}\n");
	for (size_t i = 0; i < n; i++) {
		l.entries[i].key = arena_printf(&a, "BUNDLE_K%zu", i);
		l.entries[i].value = values[i];
		l.n++;
		sbuf_addf(&script, "h['BUNDLE_K%zu'] = \"", i);
		for (const char *p = values[i]; *p; p++)
			sbuf_addf(&script, "\\x%02x", (unsigned char)*p);
		sbuf_addstr(&script, "\".dup.force_encoding('UTF-8')\n");
	}
	sbuf_addstr(&script, "h['BUNDLE_ARR'] = ['x y', 'z\"']\n"
			     "h['BUNDLE_NEW'] = 'new value'\n"
			     "print Bundler::YAMLSerializer.dump(h)\n");
	assert_int_equal(ruby_script(&a, "dump", sbuf_cstr(&script), &theirs), 0);

	/* The array entry, as a parsed layer would carry it. */
	{
		const char **items = arena_alloc(&a, 2 * sizeof(*items));
		struct bconfig_entry *e = arena_alloc(&a, (n + 1) * sizeof(*e));
		memcpy(e, l.entries, n * sizeof(*e));
		items[0] = "x y";
		items[1] = "z\"";
		e[n] = (struct bconfig_entry){
			.key = "BUNDLE_ARR", .value = "x y:z\"", .items = items, .nitems = 2
		};
		l.entries = e;
		l.n = n + 1;
	}
	assert_true(bconfig_render_with(&l, "BUNDLE_NEW", "new value", &ours));
	assert_string_equal(sbuf_cstr(&ours), sbuf_cstr(&theirs));
	sbuf_release(&script);
	sbuf_release(&theirs);
	sbuf_release(&ours);
	arena_release(&a);
}

/* Real `bundle config set --local` on a fresh app and on an existing file. */
SC_TEST(config_render_matches_bundle_config_set)
{
	struct arena a;
	struct bconfig c;
	struct sbuf out = SBUF_INIT;
	const char *root, *home, *cfg, *cmd;
	char *written, **envp;

	arena_init(&a);
	envp = env_of(&a, (const char *const[]){ NULL });
	root = fresh_dir(&a, "bundle-set/app");
	home = fresh_dir(&a, "bundle-set/home");
	cfg = arena_printf(&a, "%s/.bundle/config", root);
	write_file(arena_printf(&a, "%s/Gemfile", root), "source \"https://rubygems.org\"\n");
	cmd = arena_printf(&a,
			   "cd '%s' && HOME='%s' bundle config set --local path .bundle >/dev/null",
			   root, home);
	if (sh_run(cmd, NULL) != 0)
		fail_msg("bundle config set failed: %s", cmd);
	written = read_file(cfg);
	assert_non_null(written);
	assert_string_equal(written, "---\nBUNDLE_PATH: \".bundle\"\n");
	free(written);

	/* Loading that file and setting the same value again: no change. */
	assert_int_equal(
		bconfig_load(&c, &a, arena_printf(&a, "%s/.bundle", root), home, envp, NULL), 0);
	assert_false(bconfig_render_with(&c.local, "BUNDLE_PATH", ".bundle", &out));

	/* An existing file with a bare value and a raw escape, then a new key. */
	write_file(cfg, "---\nBUNDLE_PATH: .bundle\nBUNDLE_X: \"a\\\"b #{c}\"\n");
	assert_int_equal(
		bconfig_load(&c, &a, arena_printf(&a, "%s/.bundle", root), home, envp, NULL), 0);
	assert_true(bconfig_render_with(&c.local, "BUNDLE_JOBS", "3", &out));
	cmd = arena_printf(&a, "cd '%s' && HOME='%s' bundle config set --local jobs 3 >/dev/null",
			   root, home);
	assert_int_equal(sh_run(cmd, NULL), 0);
	written = read_file(cfg);
	assert_non_null(written);
	assert_string_equal(sbuf_cstr(&out), written);
	free(written);

	/* Replacing an existing key keeps its place. */
	assert_int_equal(
		bconfig_load(&c, &a, arena_printf(&a, "%s/.bundle", root), home, envp, NULL), 0);
	assert_true(bconfig_render_with(&c.local, "BUNDLE_PATH", "vendor/bundle", &out));
	cmd = arena_printf(&a,
			   "cd '%s' && HOME='%s' bundle config set --local path vendor/bundle "
			   ">/dev/null",
			   root, home);
	assert_int_equal(sh_run(cmd, NULL), 0);
	written = read_file(cfg);
	assert_non_null(written);
	assert_string_equal(sbuf_cstr(&out), written);
	free(written);
	sbuf_release(&out);
	arena_release(&a);
}
