/*
 * config.c: Bundler settings (settings.rb, yaml_serializer.rb, mirror.rb of
 * Bundler 2.3), read and written the way Bundler does it, quirks included.
 *
 * Reading follows YAMLSerializer.load line by line. A line is first tried as
 * `KEY: value` (HASH_REGEX): the key is the longest prefix that is followed by
 * ':' and then whitespace or the end of the line (the regex's key is greedy,
 * so `A: "x: y"` gives key `A: "x` and value `y"`, as in Bundler). One space
 * after the colon is skipped; a value wrapped in matching quotes loses them,
 * and nothing is unescaped. A key with an empty value opens a mapping; the
 * following `- item` lines (ARRAY_REGEX, tried second) are appended to the
 * most recent such key. Top-level array values are joined with ':'. Nested
 * mappings (indented keys) are never written by Bundler's settings and are
 * left out, as is a key whose mapping stays empty. Keys then get Bundler's
 * backward-compatible spelling: "/" appended to keys containing "http:" or
 * "https:", '.' -> "__", and '-' -> "___" (Settings#load_config).
 *
 * Writing follows YAMLSerializer.dump: "---\n", then per key `KEY: "value"`,
 * the value with runs of whitespace turned into one space and quoted as
 * Ruby's String#inspect quotes it under a UTF-8 locale; arrays as "KEY:\n- "
 * items. Bundler writes nothing when the value is unchanged (Settings#set_key).
 *
 * All returned strings live in the caller's arena; layers are never modified
 * after bconfig_load().
 */
#include "config.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base/arena.h"
#include "base/compiler.h"
#include "base/err.h"
#include "base/hmap.h"
#include "base/sbuf.h"
#include "base/url.h"

/* A config file is a few lines; anything larger is not one. */

/* ------------------------------------------------------------------ */
/* Small character helpers (Ruby's ASCII classes, locale-independent). */

static bool cfg_is_space(unsigned char c)
{
	/* Ruby's \s: [ \t\n\v\f\r] */
	return c == ' ' || (c >= '\t' && c <= '\r');
}

static bool cfg_is_word(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       c == '_';
}

static char cfg_lower(char c)
{
	return (c >= 'A' && c <= 'Z') ? (char)(c - 'A' + 'a') : c;
}

static char cfg_upper(char c)
{
	return (c >= 'a' && c <= 'z') ? (char)(c - 'a' + 'A') : c;
}

static bool cfg_starts_ci(struct strv s, const char *prefix)
{
	size_t n = strlen(prefix);

	if (s.len < n)
		return false;
	for (size_t i = 0; i < n; i++)
		if (cfg_lower(s.p[i]) != prefix[i])
			return false;
	return true;
}

static bool cfg_ends_ci(struct strv s, const char *suffix)
{
	size_t n = strlen(suffix);

	return s.len >= n && cfg_starts_ci(strv_drop(s, s.len - n), suffix);
}

static bool cfg_contains_ci(struct strv s, const char *needle)
{
	for (size_t i = 0; i < s.len; i++)
		if (cfg_starts_ci(strv_drop(s, i), needle))
			return true;
	return false;
}

/* ------------------------------------------------------------------ */
/* Parsing (YAMLSerializer.load + Settings#load_config). */

struct cfg_parser {
	struct arena *a;
	struct bconfig_entry *entries;
	size_t n, cap;
	struct hmap index;  /* key -> entry index + 1 */
	size_t nstack;	    /* depths that have a mapping: 0 .. nstack-1 */
	bool have_list;	    /* a key with an empty value has been seen */
	bool list_toplevel; /* ... and it was a top-level key */
	size_t list_entry;  /* ... namely this entry */
	size_t items_cap;
	size_t lineno;
	struct sbuf *errmsg;
};

/* `(['"]?)(.*)\1$`: strips one pair of matching quotes, and nothing else. */
static struct strv cfg_unquote(struct strv v, bool *ret_quoted)
{
	*ret_quoted = false;
	if (v.len >= 2 && (v.p[0] == '"' || v.p[0] == '\'') && v.p[v.len - 1] == v.p[0]) {
		*ret_quoted = true;
		return strv_make(v.p + 1, v.len - 2);
	}
	return v;
}

/*
 * HASH_REGEX: ^([ ]*)(.+)(?::(?=(?:\s|$)))[ ]?(['"]?)(.*)\3$
 * Returns false when the line does not match.
 */
static bool cfg_match_hash(struct strv line, size_t *ret_indent, struct strv *ret_key,
			   struct strv *ret_val, bool *ret_quoted)
{
	size_t spaces = 0, colon = 0, indent;
	bool found = false;
	struct strv rest;

	while (spaces < line.len && line.p[spaces] == ' ')
		spaces++;
	/* The key is greedy: take the last colon that can end it (the key is never empty). */
	for (size_t i = line.len; i-- > 1;) {
		if (line.p[i] == ':' &&
		    (i + 1 == line.len || cfg_is_space((unsigned char)line.p[i + 1]))) {
			colon = i;
			found = true;
			break;
		}
	}
	if (!found)
		return false;
	indent = SC_MIN(spaces, colon - 1);
	*ret_indent = indent;
	*ret_key = strv_make(line.p + indent, colon - indent);
	rest = strv_drop(line, colon + 1);
	if (rest.len && rest.p[0] == ' ')
		rest = strv_drop(rest, 1);
	*ret_val = cfg_unquote(rest, ret_quoted);
	return true;
}

/* ARRAY_REGEX: ^(?:[ ]*-[ ])(['"]?)(.*)\1$ */
static bool cfg_match_item(struct strv line, struct strv *ret_val)
{
	size_t i = 0;
	bool quoted;

	while (i < line.len && line.p[i] == ' ')
		i++;
	if (i + 1 >= line.len || line.p[i] != '-' || line.p[i + 1] != ' ')
		return false;
	*ret_val = cfg_unquote(strv_drop(line, i + 2), &quoted);
	return true;
}

/* convert_to_backward_compatible_key, then load_config's '-' -> "___". */
static const char *cfg_settings_key(struct cfg_parser *p, struct strv key)
{
	struct sbuf sb = SBUF_INIT;
	const char *ret;
	bool http = cfg_contains_ci(key, "http:") || cfg_contains_ci(key, "https:");

	for (size_t i = 0; i < key.len; i++) {
		if (key.p[i] == '.')
			sbuf_add(&sb, "__", 2);
		else if (key.p[i] == '-')
			sbuf_add(&sb, "___", 3);
		else
			sbuf_addch(&sb, key.p[i]);
	}
	if (http && !strv_ends_with(key, "/"))
		sbuf_addch(&sb, '/');
	ret = arena_strndup(p->a, sbuf_cstr(&sb), sb.len);
	sbuf_release(&sb);
	return ret;
}

static size_t cfg_entry_for(struct cfg_parser *p, struct strv key)
{
	const char *k = cfg_settings_key(p, key);
	void *found = hmap_get(&p->index, strv_from(k));

	if (found)
		return (size_t)((uintptr_t)found - 1);
	p->entries = arena_grow_array(p->a, p->entries, sizeof(*p->entries), p->n, &p->cap);
	p->entries[p->n] = (struct bconfig_entry){ .key = k };
	hmap_put(&p->index, strv_from(k), (void *)(uintptr_t)(p->n + 1));
	return p->n++;
}

static int cfg_error(struct cfg_parser *p, const char *what)
{
	if (p->errmsg)
		sbuf_addf(p->errmsg, "config line %zu: %s", p->lineno, what);
	return -SC_ECONFIG;
}

static int cfg_hash_line(struct cfg_parser *p, size_t indent, struct strv key, struct strv val,
			 bool quoted)
{
	size_t depth = indent / 2;
	struct bconfig_entry *e;
	size_t idx;

	/* stack[depth] is nil in Bundler: NoMethodError. */
	if (depth >= p->nstack)
		return cfg_error(p, "indented key without a parent key");
	if (!quoted && val.len == 0) {
		p->nstack = SC_MAX(p->nstack, depth + 2);
		p->have_list = true;
		p->list_toplevel = depth == 0;
		p->items_cap = 0;
		if (depth == 0) {
			idx = cfg_entry_for(p, key);
			p->list_entry = idx;
			e = &p->entries[idx];
			e->value = NULL;
			e->items = NULL;
			e->nitems = 0;
		}
		return 0;
	}
	if (depth > 0)
		return 0;
	/* cfg_entry_for() may move the array: index only after it returns. */
	idx = cfg_entry_for(p, key);
	e = &p->entries[idx];
	e->value = arena_strv(p->a, val);
	e->items = NULL;
	e->nitems = 0;
	return 0;
}

static int cfg_item_line(struct cfg_parser *p, struct strv val)
{
	struct bconfig_entry *e;

	/* last_hash is nil in Bundler: NoMethodError. */
	if (!p->have_list)
		return cfg_error(p, "list item without a key");
	if (!p->list_toplevel)
		return 0;
	e = &p->entries[p->list_entry];
	if (!e->items) {
		/* `= [] unless is_a?(Array)`: a string or mapping value is replaced. */
		e->value = NULL;
		e->nitems = 0;
		p->items_cap = 0;
	}
	e->items = arena_grow_array(p->a, e->items, sizeof(*e->items), e->nitems, &p->items_cap);
	e->items[e->nitems++] = arena_strv(p->a, val);
	return 0;
}

/* Joins array values with ':' and drops keys that ended up as mappings. */
static void cfg_finish(struct cfg_parser *p, struct bconfig_layer *ret)
{
	size_t out = 0;

	for (size_t i = 0; i < p->n; i++) {
		struct bconfig_entry *e = &p->entries[i];
		if (e->items) {
			struct sbuf sb = SBUF_INIT;
			for (size_t j = 0; j < e->nitems; j++) {
				if (j)
					sbuf_addch(&sb, ':');
				sbuf_addstr(&sb, e->items[j]);
			}
			e->value = arena_strndup(p->a, sbuf_cstr(&sb), sb.len);
			sbuf_release(&sb);
		}
		if (e->value)
			p->entries[out++] = *e;
	}
	ret->entries = p->entries;
	ret->n = out;
}

int bconfig_parse(struct arena *a, struct strv text, struct bconfig_layer *ret, struct sbuf *errmsg)
{
	struct cfg_parser p = { .a = a, .nstack = 1, .errmsg = errmsg };
	struct strv rest = text, line, key, val;
	size_t indent;
	bool quoted;
	int r = 0;

	*ret = (struct bconfig_layer){ 0 };
	hmap_init(&p.index);
	/* str.split(/\r?\n/): a '\r' is dropped only before a '\n'. */
	while (rest.len) {
		const char *nl = memchr(rest.p, '\n', rest.len);
		size_t len = nl ? (size_t)(nl - rest.p) : rest.len;
		line = strv_make(rest.p, len);
		rest = strv_drop(rest, nl ? len + 1 : len);
		if (nl && strv_ends_with(line, "\r"))
			line.len--;
		p.lineno++;
		/* Keys and values become C strings: a NUL would cut them short. */
		if (memchr(line.p, '\0', line.len)) {
			r = cfg_error(&p, "NUL byte");
			goto out_release_index;
		}

		if (cfg_match_hash(line, &indent, &key, &val, &quoted))
			r = cfg_hash_line(&p, indent, key, val, quoted);
		else if (cfg_match_item(line, &val))
			r = cfg_item_line(&p, val);
		if (r < 0)
			goto out_release_index;
	}
	cfg_finish(&p, ret);
out_release_index:
	hmap_release(&p.index);
	return r;
}

/* ------------------------------------------------------------------ */
/* Loading. */

static const char *cfg_getenv(char *const *envp, const char *name)
{
	size_t n = strlen(name);

	for (; envp && *envp; envp++)
		if (strncmp(*envp, name, n) == 0 && (*envp)[n] == '=')
			return *envp + n + 1;
	return NULL;
}

static const char *cfg_getenv_nonempty(char *const *envp, const char *name)
{
	const char *v = cfg_getenv(envp, name);

	return v && *v ? v : NULL;
}

/*
 * Bundler.app_config_path: $BUNDLE_APP_CONFIG when set (even empty), expanded
 * against the app root (the parent of app_config_dir) unless absolute, and
 * "~" against home as File.expand_path does; else app_config_dir.
 */
const char *bconfig_app_config_dir(struct arena *a, const char *app_config_dir, const char *home,
				   char *const *envp)
{
	const char *app_config = cfg_getenv(envp, "BUNDLE_APP_CONFIG");
	const char *slash;

	if (!app_config)
		return app_config_dir;
	if (app_config[0] == '/')
		return app_config;
	if (home && *home && app_config[0] == '~' && (!app_config[1] || app_config[1] == '/'))
		return arena_printf(a, "%s%s", home, app_config + 1);
	slash = strrchr(app_config_dir, '/');
	if (!slash)
		return app_config[0] ? app_config : ".";
	return arena_printf(a, "%.*s%s%s", (int)(slash - app_config_dir), app_config_dir,
			    app_config[0] ? "/" : "", app_config);
}

static const char *cfg_local_path(struct arena *a, const char *app_config_dir, const char *home,
				  char *const *envp)
{
	return arena_printf(a, "%s/config", bconfig_app_config_dir(a, app_config_dir, home, envp));
}

/* Settings#global_config_file. */
static const char *cfg_global_path(struct arena *a, const char *home, char *const *envp)
{
	const char *v;

	if ((v = cfg_getenv_nonempty(envp, "BUNDLE_CONFIG")))
		return arena_strdup(a, v);
	if ((v = cfg_getenv_nonempty(envp, "BUNDLE_USER_CONFIG")))
		return arena_strdup(a, v);
	if ((v = cfg_getenv_nonempty(envp, "BUNDLE_USER_HOME")))
		return arena_printf(a, "%s/config", v);
	if (home && *home)
		return arena_printf(a, "%s/.bundle/config", home);
	return NULL;
}

static void cfg_load_env(struct arena *a, char *const *envp, struct bconfig_layer *ret)
{
	size_t cap = 0;

	*ret = (struct bconfig_layer){ 0 };
	/* ENV.select { key =~ /\ABUNDLE_.+/ } */
	for (; envp && *envp; envp++) {
		const char *eq = strchr(*envp, '=');
		if (!eq || strncmp(*envp, "BUNDLE_", 7) != 0 || eq - *envp <= 7)
			continue;
		ret->entries =
			arena_grow_array(a, ret->entries, sizeof(*ret->entries), ret->n, &cap);
		ret->entries[ret->n++] = (struct bconfig_entry){
			.key = arena_strndup(a, *envp, (size_t)(eq - *envp)),
			.value = arena_strdup(a, eq + 1),
		};
	}
}

void bconfig_files(struct arena *a, const char *app_config_dir, const char *home, char *const *envp,
		   struct bconfig_files *ret)
{
	ret->local = app_config_dir ? cfg_local_path(a, app_config_dir, home, envp) : NULL;
	ret->global = cfg_global_path(a, home, envp);
	/* Settings#ignore_config?: set at all, even empty, means ignore both files. */
	ret->ignore = cfg_getenv(envp, "BUNDLE_IGNORE_CONFIG") != NULL;
}

static int cfg_parse_file(struct arena *a, const char *path, const struct strv *text,
			  struct bconfig_layer *ret, struct sbuf *errmsg)
{
	*ret = (struct bconfig_layer){ 0 };
	if (!text)
		return 0;
	int r = bconfig_parse(a, *text, ret, errmsg);
	if (r < 0 && errmsg)
		sbuf_addf(errmsg, " in '%s'", path);
	return r;
}

int bconfig_build(struct bconfig *c, struct arena *a, char *const *envp,
		  const struct bconfig_files *f, const struct strv *local_text,
		  const struct strv *global_text, struct sbuf *errmsg)
{
	int r;

	*c = (struct bconfig){ 0 };
	cfg_load_env(a, envp, &c->env);
	if (f->local && !f->ignore &&
	    (r = cfg_parse_file(a, f->local, local_text, &c->local, errmsg)) < 0)
		return r;
	if (f->global && !f->ignore &&
	    (r = cfg_parse_file(a, f->global, global_text, &c->global, errmsg)) < 0)
		return r;
	c->local.path = f->local;
	c->global.path = f->global;
	return 0;
}

/* ------------------------------------------------------------------ */
/* Lookups. */

static const char *cfg_layer_get(const struct bconfig_layer *l, struct strv key)
{
	for (size_t i = 0; i < l->n; i++)
		if (strv_eq_cstr(key, l->entries[i].key))
			return l->entries[i].value;
	return NULL;
}

static const char *cfg_get(const struct bconfig *c, struct strv key)
{
	const char *v;

	if ((v = cfg_layer_get(&c->local, key)))
		return v;
	if ((v = cfg_layer_get(&c->env, key)))
		return v;
	return cfg_layer_get(&c->global, key);
}

const char *bconfig_get(const struct bconfig *c, const char *key)
{
	return cfg_get(c, strv_from(key));
}

/* "." -> "__", "-" -> "___", upcased, with the BUNDLE_ prefix. */
static void cfg_env_key(struct strv name, struct sbuf *out)
{
	sbuf_reset(out);
	sbuf_add(out, "BUNDLE_", 7);
	for (size_t i = 0; i < name.len; i++) {
		if (name.p[i] == '.')
			sbuf_add(out, "__", 2);
		else if (name.p[i] == '-')
			sbuf_add(out, "___", 3);
		else
			sbuf_addch(out, cfg_upper(name.p[i]));
	}
}

void bconfig_host_key(const char *host, struct sbuf *out)
{
	cfg_env_key(strv_from(host), out);
}

/* ------------------------------------------------------------------ */
/* URIs, as far as Bundler::URI#to_s changes them (split by base/url.h). */

/*
 * URI#to_s of the parsed URI: the scheme lower-cased, an empty userinfo
 * dropped, and an empty or default port (80 for http, 443 for https) dropped;
 * a numeric port is printed as a number (":08443" -> ":8443").
 */
static void cfg_uri_canon(struct strv s, struct sbuf *out)
{
	struct url_parts u;
	bool digits = true;
	unsigned long port = 0;

	if (!url_split(s, &u)) {
		sbuf_addv(out, s);
		return;
	}
	for (size_t i = 0; i < u.scheme.len; i++)
		sbuf_addch(out, cfg_lower(u.scheme.p[i]));
	sbuf_add(out, "://", 3);
	if (u.userinfo.len) {
		sbuf_addv(out, u.userinfo);
		sbuf_addch(out, '@');
	}
	sbuf_addv(out, u.host);
	for (size_t i = 0; i < u.port.len; i++) {
		if (u.port.p[i] < '0' || u.port.p[i] > '9' || port > 0xffffff) {
			digits = false;
			break;
		}
		port = port * 10 + (unsigned long)(u.port.p[i] - '0');
	}
	if (u.port.len && !digits) {
		sbuf_addch(out, ':');
		sbuf_addv(out, u.port);
	} else if (u.port.len) {
		bool http = u.scheme.len == 4 && cfg_starts_ci(u.scheme, "http");
		bool https = u.scheme.len == 5 && cfg_starts_ci(u.scheme, "https");
		if (!((http && port == 80) || (https && port == 443)))
			sbuf_addf(out, ":%lu", port);
	}
	sbuf_addv(out, u.rest);
}

/*
 * Settings.normalize_uri: NORMALIZE_URI_OPTIONS_PATTERN
 * /\A(\w+\.)?(https?.*?)(\.fallback_timeout)?\z/i splits off a prefix and a
 * suffix, the URI gets a trailing '/', and goes through URI#to_s.
 */
static void cfg_normalize_uri(struct strv s, struct sbuf *out)
{
	size_t w = 0, plen = 0, slen = 0;
	struct strv uri;
	struct sbuf tmp = SBUF_INIT;

	while (w < s.len && cfg_is_word((unsigned char)s.p[w]))
		w++;
	if (w > 0 && w < s.len && s.p[w] == '.' && cfg_starts_ci(strv_drop(s, w + 1), "http"))
		plen = w + 1;
	if (plen || cfg_starts_ci(s, "http")) {
		/* The URI part is lazy: the suffix is taken whenever it can be. */
		if (cfg_ends_ci(s, ".fallback_timeout") &&
		    s.len >= plen + strlen("http") + strlen(".fallback_timeout"))
			slen = strlen(".fallback_timeout");
	}
	uri = strv_make(s.p + plen, s.len - plen - slen);
	sbuf_addv(&tmp, uri);
	if (!strv_ends_with(uri, "/"))
		sbuf_addch(&tmp, '/');
	sbuf_add(out, s.p, plen);
	cfg_uri_canon(sbuf_strv(&tmp), out);
	sbuf_add(out, s.p + s.len - slen, slen);
	sbuf_release(&tmp);
}

void bconfig_key_for(const char *name, struct sbuf *out)
{
	struct strv n = strv_from(name);
	struct sbuf norm = SBUF_INIT;

	if (strv_starts_with(n, "http") || strv_starts_with(n, "mirror.http")) {
		cfg_normalize_uri(n, &norm);
		n = sbuf_strv(&norm);
	}
	cfg_env_key(n, out);
	sbuf_release(&norm);
}

/* Settings#[] as credentials_for uses it: a "false" value converts to false. */
static const char *cfg_credential_value(const struct bconfig *c, const struct sbuf *key)
{
	const char *v = cfg_get(c, sbuf_strv(key));

	if (!v || !*v || strcmp(v, "false") == 0)
		return NULL;
	return v;
}

int bconfig_credentials(const struct bconfig *c, const char *url, struct sbuf *out)
{
	struct url_parts u;
	struct sbuf canon = SBUF_INIT, key = SBUF_INIT;
	const char *v = NULL;
	bool parsed = url_split(strv_from(url), &u);

	sbuf_reset(out);
	/* Remote#apply_auth: userinfo already in the URI is kept (an empty one is nil). */
	if (parsed && u.userinfo.len) {
		sbuf_addv(out, u.userinfo);
		return 1;
	}
	/* credentials_for: self[uri.to_s] || self[uri.host] */
	cfg_uri_canon(strv_from(url), &canon);
	bconfig_key_for(sbuf_cstr(&canon), &key);
	v = cfg_credential_value(c, &key);
	if (!v && parsed && u.host.len) {
		/*
		 * key_for would send a host starting with "http" (httpbin.org)
		 * through normalize_uri, where Bundler 2.3 raises "Gem sources
		 * must be absolute"; the plain host key is what was meant.
		 */
		cfg_env_key(u.host, &key);
		v = cfg_credential_value(c, &key);
	}
	sbuf_release(&key);
	sbuf_release(&canon);
	if (!v)
		return 0;
	sbuf_addstr(out, v);
	return 1;
}

/* ------------------------------------------------------------------ */
/* Mirrors (mirror.rb). */

struct cfg_mirror_pick {
	struct strv want; /* the @mirrors key we are after */
	bool is_all;
	char *best_name; /* the last matching name in sorted order wins */
	const char *value;
};

/* Settings#all's spelling of a key: BUNDLE_ dropped, ___ -> -, __ -> ., downcased. */
static char *cfg_setting_name(const char *key)
{
	struct sbuf sb = SBUF_INIT, sb2 = SBUF_INIT;
	struct strv k = strv_from(key);

	if (strv_starts_with(k, "BUNDLE_"))
		k = strv_drop(k, 7);
	for (size_t i = 0; i < k.len; i++) {
		if (i + 3 <= k.len && memcmp(k.p + i, "___", 3) == 0) {
			sbuf_addch(&sb, '-');
			i += 2;
		} else {
			sbuf_addch(&sb, k.p[i]);
		}
	}
	for (size_t i = 0; i < sb.len; i++) {
		if (i + 2 <= sb.len && memcmp(sb.buf + i, "__", 2) == 0) {
			sbuf_addch(&sb2, '.');
			i++;
		} else {
			sbuf_addch(&sb2, cfg_lower(sb.buf[i]));
		}
	}
	sbuf_release(&sb);
	return sbuf_detach(&sb2, NULL);
}

/*
 * MirrorConfig#initialize: /\Amirror\.(all|.+?)(\.fallback_timeout)?\/?\z/.
 * Sets *ret_uri (the @mirrors key) and returns false for a fallback_timeout
 * key or a name that is not a mirror.
 */
static bool cfg_mirror_uri(struct strv name, bool *ret_all, struct sbuf *ret_uri)
{
	struct strv s;
	struct url_parts u;

	if (!strv_starts_with(name, "mirror.") || name.len == 7)
		return false;
	s = strv_drop(name, 7);
	if (strv_ends_with(s, "/") && s.len > 1)
		s.len--;
	if (strv_ends_with(s, ".fallback_timeout") && s.len > strlen(".fallback_timeout"))
		return false;
	*ret_all = strv_eq_cstr(s, "all");
	sbuf_reset(ret_uri);
	if (*ret_all)
		return true;
	/* Bundler::URI(uri).absolute? ? Settings.normalize_uri(uri) : uri */
	if (url_split(s, &u))
		cfg_normalize_uri(s, ret_uri);
	else
		sbuf_addv(ret_uri, s);
	return true;
}

static void cfg_mirror_consider(const struct bconfig *c, const char *key,
				struct cfg_mirror_pick *picks, size_t npicks, struct sbuf *tmp)
{
	char *name = cfg_setting_name(key);
	struct sbuf k = SBUF_INIT;
	bool all;
	const char *v;

	if (!cfg_mirror_uri(strv_from(name), &all, tmp))
		goto out_free_name;
	bconfig_key_for(name, &k);
	v = cfg_get(c, sbuf_strv(&k));
	if (!v || !*v)
		goto out_free_name;
	for (size_t i = 0; i < npicks; i++) {
		struct cfg_mirror_pick *p = &picks[i];
		if (p->is_all != all || (!all && !strv_eq(p->want, sbuf_strv(tmp))))
			continue;
		if (p->best_name && strcmp(p->best_name, name) >= 0)
			continue;
		free(p->best_name);
		p->best_name = sc_xstrdup(name);
		p->value = v;
	}
out_free_name:
	sbuf_release(&k);
	free(name);
}

/* Mirror#fallback_timeout=: true -> 0.1 s, false -> 0, else to_i seconds. */
static long cfg_fallback_ms(const char *v)
{
	long n = 0;

	if (!v)
		return 0;
	if (!strcmp(v, "true"))
		return 100;
	while (*v == ' ' || *v == '\t')
		v++;
	for (; *v >= '0' && *v <= '9' && n < 86400; v++)
		n = n * 10 + (*v - '0');
	return n * 1000;
}

int bconfig_mirror_for(const struct bconfig *c, const char *url, struct sbuf *out)
{
	return bconfig_mirror_lookup(c, url, out, NULL);
}

int bconfig_mirror_lookup(const struct bconfig *c, const char *url, struct sbuf *out,
			  long *ret_fallback_ms)
{
	const struct bconfig_layer *layers[] = { &c->local, &c->env, &c->global };
	struct sbuf norm = SBUF_INIT, host = SBUF_INIT, tmp = SBUF_INIT;
	struct cfg_mirror_pick picks[3] = { { .is_all = true } };
	struct url_parts u;
	const char *value = NULL;
	int r = 0;

	/* fetch_valid_mirror_for: @mirrors[downcased] || @mirrors[URI(downcased).host] */
	cfg_normalize_uri(strv_from(url), &norm);
	for (size_t i = 0; i < norm.len; i++)
		norm.buf[i] = cfg_lower(norm.buf[i]);
	picks[1].want = sbuf_strv(&norm);
	if (url_split(sbuf_strv(&norm), &u))
		sbuf_addv(&host, u.host);
	picks[2].want = sbuf_strv(&host);

	for (size_t l = 0; l < SC_ARRAY_SIZE(layers); l++)
		for (size_t i = 0; i < layers[l]->n; i++)
			cfg_mirror_consider(c, layers[l]->entries[i].key, picks, host.len ? 3 : 2,
					    &tmp);
	size_t chosen = 0;
	for (size_t i = 0; i < SC_ARRAY_SIZE(picks) && !value; i++)
		value = picks[(chosen = i)].value;
	sbuf_reset(out);
	if (ret_fallback_ms)
		*ret_fallback_ms = 0;
	if (value) {
		cfg_normalize_uri(strv_from(value), out);
		r = 1;
		if (ret_fallback_ms) {
			/* The same @mirrors entry's "<name>.fallback_timeout". */
			struct sbuf name = SBUF_INIT, key = SBUF_INIT;
			const char *base = picks[chosen].best_name;
			size_t bl = strlen(base);
			sbuf_add(&name, base, bl && base[bl - 1] == '/' ? bl - 1 : bl);
			sbuf_addstr(&name, ".fallback_timeout");
			bconfig_key_for(name.buf, &key);
			*ret_fallback_ms = cfg_fallback_ms(cfg_get(c, sbuf_strv(&key)));
			sbuf_release(&key);
			sbuf_release(&name);
		}
	}
	for (size_t i = 0; i < SC_ARRAY_SIZE(picks); i++)
		free(picks[i].best_name);
	sbuf_release(&tmp);
	sbuf_release(&host);
	sbuf_release(&norm);
	return r;
}

/* ------------------------------------------------------------------ */
/* Writing (YAMLSerializer.dump). */

static const char cfg_hex[] = "0123456789ABCDEF";

/* Length of the valid UTF-8 sequence at s (and its code point), or 0. */
static size_t cfg_utf8_len(const unsigned char *s, size_t n, uint32_t *ret_cp)
{
	size_t len;
	uint32_t cp, min;

	if (s[0] >= 0xc2 && s[0] <= 0xdf) {
		len = 2, cp = s[0] & 0x1f, min = 0x80;
	} else if (s[0] >= 0xe0 && s[0] <= 0xef) {
		len = 3, cp = s[0] & 0x0f, min = 0x800;
	} else if (s[0] >= 0xf0 && s[0] <= 0xf4) {
		len = 4, cp = s[0] & 0x07, min = 0x10000;
	} else {
		return 0;
	}
	if (n < len)
		return 0;
	for (size_t i = 1; i < len; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = (cp << 6) | (s[i] & 0x3f);
	}
	if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
		return 0;
	*ret_cp = cp;
	return len;
}

static void cfg_add_u(struct sbuf *out, uint32_t cp)
{
	if (cp > 0xffff)
		sbuf_addf(out, "\\u{%X}", (unsigned)cp);
	else
		sbuf_addf(out, "\\u%04X", (unsigned)cp);
}

/*
 * v.to_s.gsub(/\s+/, " ").inspect for a UTF-8 string under a UTF-8 locale.
 * Non-ASCII characters are copied, except the ones Ruby is sure to escape
 * (U+2028, U+2029 and the noncharacters); Ruby also escapes unassigned code
 * points, which would need its Unicode tables. Invalid bytes become "\xNN"
 * (Bundler itself raises on them in gsub).
 */
/* One ASCII byte of String#inspect; next is the byte after it (0 at the end). */
static void cfg_add_inspect_ascii(struct sbuf *out, unsigned char c, unsigned char next)
{
	switch (c) {
	case '"':
	case '\\':
		sbuf_addch(out, '\\');
		sbuf_addch(out, (char)c);
		return;
	case '#':
		/* "#{", "#$" and "#@" would interpolate. */
		if (next == '{' || next == '$' || next == '@')
			sbuf_addch(out, '\\');
		sbuf_addch(out, '#');
		return;
	case '\a':
		sbuf_add(out, "\\a", 2);
		return;
	case '\b':
		sbuf_add(out, "\\b", 2);
		return;
	case 0x1b:
		sbuf_add(out, "\\e", 2);
		return;
	default:
		break;
	}
	if (c < 0x20 || c == 0x7f)
		cfg_add_u(out, c);
	else
		sbuf_addch(out, (char)c);
}

/* One non-ASCII character (or invalid byte) at s; returns the bytes consumed. */
static size_t cfg_add_inspect_utf8(struct sbuf *out, const unsigned char *s, size_t n)
{
	uint32_t cp;
	size_t len = cfg_utf8_len(s, n, &cp);

	if (!len) {
		char esc[4] = { '\\', 'x', cfg_hex[s[0] >> 4], cfg_hex[s[0] & 15] };
		sbuf_add(out, esc, sizeof(esc));
		return 1;
	}
	if (cp == 0x2028 || cp == 0x2029 || (cp >= 0xfdd0 && cp <= 0xfdef) ||
	    (cp & 0xfffe) == 0xfffe)
		cfg_add_u(out, cp);
	else
		sbuf_add(out, s, len);
	return len;
}

static void cfg_add_inspect(struct sbuf *out, const char *str)
{
	const unsigned char *s = (const unsigned char *)str;
	size_t n = strlen(str), i = 0;

	sbuf_addch(out, '"');
	while (i < n) {
		if (cfg_is_space(s[i])) {
			/* gsub(/\s+/, " ") */
			while (i < n && cfg_is_space(s[i]))
				i++;
			sbuf_addch(out, ' ');
		} else if (s[i] < 0x80) {
			cfg_add_inspect_ascii(out, s[i], s[i + 1]);
			i++;
		} else {
			i += cfg_add_inspect_utf8(out, s + i, n - i);
		}
	}
	sbuf_addch(out, '"');
}

static void cfg_dump_entry(struct sbuf *out, const char *key, const char *value,
			   const char *const *items, size_t nitems)
{
	sbuf_addstr(out, key);
	sbuf_addch(out, ':');
	if (items) {
		for (size_t i = 0; i < nitems; i++) {
			sbuf_add(out, "\n- ", 3);
			cfg_add_inspect(out, items[i]);
		}
		sbuf_addch(out, '\n');
		return;
	}
	sbuf_addch(out, ' ');
	cfg_add_inspect(out, value);
	sbuf_addch(out, '\n');
}

bool bconfig_render_with(const struct bconfig_layer *layer, const char *key, const char *value,
			 struct sbuf *out)
{
	const struct bconfig_entry *old = NULL;
	char *conv = NULL;
	bool changed;

	/* Settings#set_key: with/without go through array_to_s (" " -> ":"). */
	if (value && (strcmp(key, "BUNDLE_WITH") == 0 || strcmp(key, "BUNDLE_WITHOUT") == 0)) {
		conv = sc_xstrdup(value);
		for (char *p = conv; *p; p++)
			if (*p == ' ')
				*p = ':';
		value = conv;
	}
	for (size_t i = 0; i < layer->n && !old; i++)
		if (strcmp(layer->entries[i].key, key) == 0)
			old = &layer->entries[i];
	/* `return if hash[key] == value`; an array never equals a string. */
	if (!value)
		changed = old != NULL;
	else
		changed = !old || old->items || strcmp(old->value, value) != 0;

	sbuf_reset(out);
	sbuf_add(out, "---\n", 4);
	for (size_t i = 0; i < layer->n; i++) {
		const struct bconfig_entry *e = &layer->entries[i];
		if (e == old && changed) {
			if (value)
				cfg_dump_entry(out, e->key, value, NULL, 0);
			continue;
		}
		cfg_dump_entry(out, e->key, e->value, (const char *const *)e->items, e->nitems);
	}
	if (!old && value)
		cfg_dump_entry(out, key, value, NULL, 0);
	free(conv);
	return changed;
}
