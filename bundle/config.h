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
 * All strings are arena-allocated; nothing here does I/O except
 * bconfig_load(), which reads the two files.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "base/strv.h"

struct arena;
struct sbuf;

struct bconfig_entry {
	const char *key;
	const char *value;
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
 * Parses Bundler's config YAML into a layer. Returns 0, or -SC_ECONFIG with a
 * message in errmsg (may be NULL).
 */
int bconfig_parse(struct arena *a, struct strv text, struct bconfig_layer *ret,
		  struct sbuf *errmsg);

/*
 * Loads all three layers. app_config_dir is the directory holding the local
 * config (normally "<app>/.bundle"); home is $HOME; envp the environment.
 * Missing files are empty layers. Returns 0 or a negative error.
 */
int bconfig_load(struct bconfig *c, struct arena *a, const char *app_config_dir, const char *home,
		 char *const *envp, struct sbuf *errmsg);

/* The effective value for key ("BUNDLE_PATH"), or NULL. */
const char *bconfig_get(const struct bconfig *c, const char *key);

/* "gems.example.com" -> "BUNDLE_GEMS__EXAMPLE__COM" (into out, replacing its contents). */
void bconfig_host_key(const char *host, struct sbuf *out);

/*
 * Finds credentials ("user:password") for a source URL: userinfo in the URL
 * itself wins, then the URI-scoped key, then BUNDLE_<HOST>. Writes them to
 * out and returns 1, or returns 0 when there are none.
 */
int bconfig_credentials(const struct bconfig *c, const char *url, struct sbuf *out);

/* Copies url to out without its userinfo ("https://u:p@h/" -> "https://h/"). */
void url_redact(const char *url, struct sbuf *out);

/*
 * Renders the layer with key set to value (appended when new, replaced in
 * place when present), in Bundler's format ("---\nKEY: \"value\"\n").
 * Returns true when the rendering differs from the layer as loaded.
 */
bool bconfig_render_with(const struct bconfig_layer *layer, const char *key, const char *value,
			 struct sbuf *out);
