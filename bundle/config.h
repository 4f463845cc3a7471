/*
 * config.h: Bundler settings (bundler/lib/bundler/settings.rb).
 *
 * Three layers, highest first: the local config (`<app>/.bundle/config`, or
 * `$BUNDLE_APP_CONFIG/config`), the environment (BUNDLE_* variables), the
 * global config (`$BUNDLE_USER_CONFIG`, else `~/.bundle/config`). Files are
 * the YAML subset Bundler writes:
 *
 *   ---
 *   BUNDLE_PATH: ".bundle"
 *   BUNDLE_JOBS: "4"
 *
 * (values quoted or bare; Bundler's multi-line "- item" arrays are read and
 * joined with ':' as Bundler does). Keys are in env form.
 *
 * Credentials: for a source URL, the key is BUNDLE_<HOST> with '.' -> "__"
 * and '-' -> "___", upper-cased (e.g. BUNDLE_GEMS__EXAMPLE__COM), or the
 * URI-scoped key for the full URL (BUNDLE_HTTPS://GEMS__EXAMPLE__COM/PATH/
 * in Bundler's key form). Mirrors: BUNDLE_MIRROR__<URL key>.
 * All strings are arena-allocated; nothing in bundle/config.c does I/O:
 * bconfig_files() says which files hold the settings and bconfig_build()
 * makes the layers from their text. bconfig_load(), which reads the files,
 * is declared here for its callers but lives in phases/session/bconfig_load.c.
 * Values are kept as Bundler reads them: one pair of matching quotes is
 * removed, nothing is unescaped.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "base/strv.h"

struct arena;
struct sbuf;

struct bconfig_entry {
	const char *key;
	const char *value;  /* for a "- item" array: the items joined with ':' */
	const char **items; /* the array items, or NULL for a plain value */
	size_t nitems;
};

struct bconfig_layer {
	struct bconfig_entry *entries; /* in file order */
	size_t n;
	const char *path; /* file the layer came from, or NULL (env) */
};

struct bconfig {
	struct bconfig_layer local;
	struct bconfig_layer env;
	struct bconfig_layer global;
};

/*
 * Parses Bundler's config YAML into a layer (strings and the entries array in
 * the arena; ret->path is left NULL). Keys get Bundler's spelling: '.' ->
 * "__", '-' -> "___", and a trailing '/' on URL keys; a repeated key keeps its
 * first place and its last value. Nested mappings are left out. Returns 0, or
 * -SC_ECONFIG (where Bundler's loader would crash: a "- item" before any key,
 * an indented key without a parent) with a message in errmsg (may be NULL).
 */
int bconfig_parse(struct arena *a, struct strv text, struct bconfig_layer *ret,
		  struct sbuf *errmsg);

/* The two files, as bconfig_load() finds them (see there). */
struct bconfig_files {
	const char *local;  /* NULL when there is no app */
	const char *global; /* NULL when no variable or home names one */
	bool ignore;	    /* $BUNDLE_IGNORE_CONFIG: neither file is read */
};

/* Which files the settings come from (no I/O; strings in the arena). */
void bconfig_files(struct arena *a, const char *app_config_dir, const char *home, char *const *envp,
		   struct bconfig_files *ret);

/*
 * Builds the three layers from the files' texts (NULL: the file does not
 * exist, an empty layer; not looked at when f->ignore) and the BUNDLE_*
 * variables of envp. Sets layer.path from f. Returns 0, or -SC_ECONFIG with
 * a message naming the file in errmsg (may be NULL).
 */
int bconfig_build(struct bconfig *c, struct arena *a, char *const *envp,
		  const struct bconfig_files *f, const struct strv *local_text,
		  const struct strv *global_text, struct sbuf *errmsg);

/*
 * Loads all three layers: bconfig_files(), reading each file (at most 1 MiB,
 * -SC_ETOOBIG past it), then bconfig_build(). Defined in phases/session/bconfig_load.c. app_config_dir is
 * the directory holding the local config (normally "<app>/.bundle"; NULL when there is no app);
 * home is $HOME; envp the environment (BUNDLE_* variables form the env layer). $BUNDLE_APP_CONFIG,
 * when set, replaces app_config_dir; a relative value is taken from the app root, the parent of
 * app_config_dir (Bundler.app_config_path). The global file is $BUNDLE_CONFIG, else
 * $BUNDLE_USER_CONFIG, else $BUNDLE_USER_HOME/config, else <home>/.bundle/config. With
 * $BUNDLE_IGNORE_CONFIG set, neither file is read. layer.path is set for both
 * files whether or not they exist. Missing files are empty layers. Returns 0,
 * or -errno / -SC_ETOOBIG / -SC_ECONFIG with a message in errmsg (may be NULL).
 */
int bconfig_load(struct bconfig *c, struct arena *a, const char *app_config_dir, const char *home,
		 char *const *envp, struct sbuf *errmsg);

/*
 * Bundler.app_config_path: $BUNDLE_APP_CONFIG ("~/" from home; relative to
 * the app root, the parent of app_config_dir) when set, else app_config_dir.
 * The directory of the local config, of scint.state and the runtime lock.
 */
const char *bconfig_app_config_dir(struct arena *a, const char *app_config_dir, const char *home,
				   char *const *envp);

/* The effective value for key ("BUNDLE_PATH"), or NULL. */
const char *bconfig_get(const struct bconfig *c, const char *key);

/* "gems.example.com" -> "BUNDLE_GEMS__EXAMPLE__COM" (into out, replacing its contents). */
void bconfig_host_key(const char *host, struct sbuf *out);

/*
 * Settings.key_for: a setting name in the env form ("path" -> "BUNDLE_PATH",
 * "local.rack" -> "BUNDLE_LOCAL__RACK"). Names starting with "http" or
 * "mirror.http" are normalized first as Settings.normalize_uri does
 * (trailing '/', default port dropped): "https://gems.example.com/private" ->
 * "BUNDLE_HTTPS://GEMS__EXAMPLE__COM/PRIVATE/". Replaces out's contents.
 */
void bconfig_key_for(const char *name, struct sbuf *out);

/*
 * Settings#mirror_for: the mirror configured for a source URL (mirror.all,
 * then BUNDLE_MIRROR__<normalized URL key>, then a mirror keyed by host), as a
 * normalized URL in out (replacing its contents). Returns 1, or 0 when the URL
 * has no mirror. Bundler probes mirrors that have a fallback_timeout over TCP;
 * this does no I/O: phases/mirror.h falls back on the reactor instead.
 * Callers look up credentials for the URL this returns, as Bundler does.
 */
int bconfig_mirror_for(const struct bconfig *c, const char *url, struct sbuf *out);
/*
 * bconfig_mirror_for, and the fallback timeout of the mirror chosen
 * (mirror.<same key>.fallback_timeout; "true" = 100 ms, "false" = 0, else
 * whole seconds as Bundler's to_i) in *ret_fallback_ms (0: none; may be NULL).
 */
int bconfig_mirror_lookup(const struct bconfig *c, const char *url, struct sbuf *out,
			  long *ret_fallback_ms);

/*
 * Finds credentials ("user:password") for a source URL: userinfo in the URL
 * itself wins, then the URI-scoped key, then BUNDLE_<HOST>. Writes them to
 * out and returns 1, or returns 0 when there are none.
 * (Settings#credentials_for: each key is looked up through all three layers;
 * a value of "false" or "" counts as none.)
 */
int bconfig_credentials(const struct bconfig *c, const char *url, struct sbuf *out);

/*
 * Renders the layer with key set to value (appended when new, replaced in
 * place when present), in Bundler's format ("---\nKEY: \"value\"\n"), into
 * out, replacing its contents. key is in env form ("BUNDLE_PATH"); a NULL
 * value removes the key (bundle config unset). For BUNDLE_WITH/WITHOUT spaces
 * become ':' as in Settings#set_key. Returns true when the rendering differs
 * from the layer as loaded, i.e. when Bundler would write the file; false
 * when the key already has this value (out then holds the layer re-rendered).
 */
bool bconfig_render_with(const struct bconfig_layer *layer, const char *key, const char *value,
			 struct sbuf *out);
