/*
 * lockfile.c: Gemfile.lock parser and writer.
 *
 * The parser reads line by line with a small state machine (one state per
 * kind of section). It accepts what Bundler writes, "\r\n" line ends and
 * stray blank lines, and rejects anything whose structure is off: wrong
 * indentation, tabs, spec lines outside "specs:", options after it, a
 * source without "specs:", a section given twice, malformed versions,
 * requirements or checksums. Bundler itself skips most such lines silently;
 * scint would rather stop than install from a lockfile it misread.
 *
 * The writer is Bundler's LockfileGenerator: sources (path, git and plugin
 * sources sorted by Bundler's identifier, then the rubygems ones), specs
 * sorted by full name with `bundler` left out, each spec's dependencies
 * sorted by Gem::Dependency#to_s and made unique, requirements sorted then
 * reversed with ">= 0" left out, PLATFORMS sorted, DEPENDENCIES sorted and one
 * per name, CHECKSUMS sorted as whole lines, the RUBY VERSION and BUNDLED
 * WITH values indented by 3 spaces (2 from Bundler 4: lockfile_format_for). Strings that Bundler would re-render from parsed
 * objects (versions, platforms, option values) are written as they were read,
 * so parse + write of a Bundler-written file gives back the same bytes.
 *
 * All parsed strings live in the caller's arena. The writer sorts arrays of
 * pointers on the heap and frees them before it returns.
 */
#include "bundle/lockfile.h"

#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base/arena.h"
#include "base/compiler.h"
#include "base/err.h"
#include "base/hex.h"
#include "base/hmap.h"
#include "base/sbuf.h"
#include "bundle/names.h"
#include "bundle/requirement.h"
#include "bundle/version.h"

enum lp_state {
	LP_NONE,   /* before the first section */
	LP_SOURCE, /* a source header; reading its options */
	LP_SPECS,  /* after "  specs:" */
	LP_PLATFORMS,
	LP_DEPENDENCIES,
	LP_CHECKSUMS,
	LP_RUBY,
	LP_BUNDLED,
	LP_EXTRA, /* an unknown section, kept verbatim */
};

struct lp_section {
	const char *name;
	enum lp_state state;
	enum lock_source_kind kind; /* for LP_SOURCE */
};

static const struct lp_section lp_sections[] = {
	{ "GEM", LP_SOURCE, LOCK_SRC_GEM },
	{ "GIT", LP_SOURCE, LOCK_SRC_GIT },
	{ "PATH", LP_SOURCE, LOCK_SRC_PATH },
	{ "PLUGIN SOURCE", LP_SOURCE, LOCK_SRC_PLUGIN },
	{ "PLATFORMS", LP_PLATFORMS, LOCK_SRC_GEM },
	{ "DEPENDENCIES", LP_DEPENDENCIES, LOCK_SRC_GEM },
	{ "CHECKSUMS", LP_CHECKSUMS, LOCK_SRC_GEM },
	{ "RUBY VERSION", LP_RUBY, LOCK_SRC_GEM },
	{ "BUNDLED WITH", LP_BUNDLED, LOCK_SRC_GEM },
};

static const char *const lock_source_header[] = {
	[LOCK_SRC_GEM] = "GEM",
	[LOCK_SRC_GIT] = "GIT",
	[LOCK_SRC_PATH] = "PATH",
	[LOCK_SRC_PLUGIN] = "PLUGIN SOURCE",
};

struct lp {
	struct arena *a;
	struct lockfile *lf;
	struct sbuf *errmsg;
	size_t lineno;
	enum lp_state state;
	size_t section_line; /* line of the current section header */
	const char *anchor;  /* the last known section header seen */
	unsigned seen;	     /* bit per state: single sections already seen */
	size_t src_cap, opt_cap, spec_cap, dep_cap;
	size_t ngem_sources;
	size_t plat_cap, deps_cap, cks_cap, extra_cap;
	struct sbuf extra_body;
	struct hmap specs; /* full names seen, to refuse duplicates */
	struct hmap deps;  /* DEPENDENCIES name -> index + 1 */
	struct hmap cks;   /* "name (version[-platform])" -> checksum index + 1 */
};

static int lp_fail(struct lp *p, size_t line, const char *fmt, ...) sc_printf(3, 4);

static int lp_fail(struct lp *p, size_t line, const char *fmt, ...)
{
	if (p->errmsg) {
		va_list ap;

		(void)sbuf_addf(p->errmsg, "line %zu: ", line);
		va_start(ap, fmt);
		(void)sbuf_vaddf(p->errmsg, fmt, ap);
		va_end(ap);
	}
	return -SC_ELOCKFILE;
}

static struct lock_source *lp_src(struct lp *p)
{
	return &p->lf->sources[p->lf->nsources - 1];
}

static struct lock_spec *lp_spec(struct lp *p)
{
	struct lock_source *src = lp_src(p);

	return src->nspecs ? &src->specs[src->nspecs - 1] : NULL;
}

static bool lp_is_blank(struct strv line)
{
	for (size_t i = 0; i < line.len; i++)
		if (line.p[i] != ' ' && line.p[i] != '\t' && line.p[i] != '\r')
			return false;
	return true;
}

static bool lp_is_word(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       c == '_';
}

static bool lp_is_alpha(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

/* LockfileParser.sections_in_lockfile: /^\w[\w ]*$/ */
static bool lp_is_section_name(struct strv line)
{
	if (!line.len || !lp_is_word(line.p[0]))
		return false;
	for (size_t i = 1; i < line.len; i++)
		if (!lp_is_word(line.p[i]) && line.p[i] != ' ')
			return false;
	return true;
}

static bool lp_has_space(struct strv s)
{
	for (size_t i = 0; i < s.len; i++)
		if (s.p[i] == ' ' || s.p[i] == '\t')
			return true;
	return false;
}

/*
 * Merge-conflict markers anywhere in the text, as LockfileParser#initialize
 * checks; NUL bytes, which no lockfile has and which would cut the strings
 * parsed from their line short; and a '\r' that does not end its line, which
 * the writer would turn into a line end.
 */
static int lp_check_conflicts(struct lp *p, struct strv text)
{
	static const char *const markers[] = { "<<<<<<<", "=======", ">>>>>>>", "|||||||" };
	struct strv rest = text, line;
	size_t lineno = 0;

	while (strv_next_line(&rest, &line)) {
		lineno++;
		if (memchr(line.p, '\0', line.len))
			return lp_fail(p, lineno, "NUL byte");
		if (memchr(line.p, '\r', line.len))
			return lp_fail(p, lineno, "carriage return inside the line");
		for (size_t m = 0; m < SC_ARRAY_SIZE(markers); m++) {
			size_t n = strlen(markers[m]);
			for (size_t i = 0; i + n <= line.len; i++)
				if (memcmp(line.p + i, markers[m], n) == 0)
					return lp_fail(
						p, lineno,
						"merge conflict marker '%s'; resolve the conflict "
						"or check out a clean Gemfile.lock",
						markers[m]);
		}
	}
	return 0;
}

/*
 * Splits "name", "name (inner)" or "name (inner)tail". The name stops at a
 * space, '(', ')', ',' or '!'; it must not be empty.
 */
static int lp_name_paren(struct lp *p, struct strv s, struct strv *name, struct strv *inner,
			 bool *has_paren, struct strv *tail)
{
	size_t i = 0;
	const char *close;

	while (i < s.len && !strchr(" (),!\t", s.p[i]))
		i++;
	*name = strv_make(s.p, i);
	*inner = strv_make(s.p + i, 0);
	*has_paren = false;
	*tail = strv_drop(s, i);
	if (i == 0)
		return lp_fail(p, p->lineno, "missing gem name in '%.*s'", STRV_ARG(s));
	if (!strv_starts_with(*tail, " ("))
		return 0;
	close = memchr(tail->p + 2, ')', tail->len - 2);
	if (!close)
		return lp_fail(p, p->lineno, "missing ')' in '%.*s'", STRV_ARG(s));
	*inner = strv_make(tail->p + 2, (size_t)(close - tail->p - 2));
	*has_paren = true;
	*tail = strv_drop(*tail, (size_t)(close + 1 - tail->p));
	return 0;
}

typedef int lp_check_fn(struct strv v, const char **ret_why);

/*
 * Names become cache paths (bundle/names.h): "line N: invalid <what>
 * '<value>': <why>" for one that could not be a gem's.
 */
static int lp_check(struct lp *p, const char *what, struct strv v, lp_check_fn *check)
{
	const char *why;
	struct sbuf q = SBUF_INIT;
	int r;

	if (check(v, &why) == 0)
		return 0;
	names_quote(&q, v);
	r = lp_fail(p, p->lineno, "invalid %s %s: %s", what, sbuf_cstr(&q), why);
	sbuf_release(&q);
	return r;
}

/* "1.2.3" or "1.2.3-x86_64-linux" (the platform starts at the first '-', as in Bundler). */
static int lp_version_platform(struct lp *p, struct strv inner, const char **ret_version,
			       const char **ret_platform)
{
	struct strv version, platform;
	bool dash = strv_cut(inner, '-', &version, &platform);
	int r;

	if (version.len == 0 || lp_has_space(inner) || !version_valid(version))
		return lp_fail(p, p->lineno, "invalid version '%.*s'", STRV_ARG(inner));
	if (dash && platform.len == 0)
		return lp_fail(p, p->lineno, "empty platform in '%.*s'", STRV_ARG(inner));
	if ((r = lp_check(p, "version", version, names_check_version)) < 0 ||
	    (dash && (r = lp_check(p, "platform", platform, names_check_platform)) < 0))
		return r;
	*ret_version = arena_strv(p->a, version);
	*ret_platform = dash ? arena_strv(p->a, platform) : "ruby";
	return 0;
}

/* A requirement list as written in the lockfile: "~> 1.0, >= 1.0.2". */
static int lp_reqs(struct lp *p, struct strv inner, const char **ret)
{
	struct strv item, rest = inner;
	struct requirement req;
	bool more;

	do {
		more = strv_cut(rest, ',', &item, &rest);
		if (requirement_parse(item, &req) < 0)
			return lp_fail(p, p->lineno, "invalid requirement '%.*s'", STRV_ARG(inner));
	} while (more);
	*ret = arena_strv(p->a, inner);
	return 0;
}

static void lp_add_option(struct lp *p, struct strv key, struct strv value)
{
	struct lock_source *src = lp_src(p);

	src->opts = arena_grow_array(p->a, src->opts, sizeof(*src->opts), src->nopts, &p->opt_cap);
	src->opts[src->nopts++] =
		(struct lock_option){ arena_strv(p->a, key), arena_strv(p->a, value) };
}

/* "  key: value" or "  specs:" inside a source, before its specs. */
static int lp_source_line(struct lp *p, size_t indent, struct strv body)
{
	static const char *const required[][2] = {
		[LOCK_SRC_GEM] = { NULL, NULL },
		[LOCK_SRC_GIT] = { "remote", "revision" },
		[LOCK_SRC_PATH] = { "remote", NULL },
		[LOCK_SRC_PLUGIN] = { "remote", "type" },
	};
	struct lock_source *src = lp_src(p);
	size_t k = 0;

	if (indent != 2)
		return lp_fail(p, p->lineno, "expected an option or 'specs:' in %s section",
			       lock_source_header[src->kind]);
	if (strv_eq_cstr(body, "specs:")) {
		for (size_t i = 0; i < 2; i++) {
			const char *key = required[src->kind][i];
			if (key && !lock_source_opt(src, key))
				return lp_fail(p, p->section_line, "%s section without '%s'",
					       lock_source_header[src->kind], key);
		}
		p->state = LP_SPECS;
		p->spec_cap = 0;
		return 0;
	}
	while (k < body.len && lp_is_alpha(body.p[k]))
		k++;
	if (k == 0 || !strv_starts_with(strv_drop(body, k), ": "))
		return lp_fail(p, p->lineno, "malformed option '%.*s'", STRV_ARG(body));
	lp_add_option(p, strv_make(body.p, k), strv_drop(body, k + 2));
	return 0;
}

static int lp_spec_line(struct lp *p, struct strv body)
{
	struct lock_source *src = lp_src(p);
	struct strv name, inner, tail;
	struct lock_spec *spec;
	bool paren;
	int r;

	r = lp_name_paren(p, body, &name, &inner, &paren, &tail);
	if (r < 0)
		return r;
	if (!paren || tail.len)
		return lp_fail(p, p->lineno, "expected 'name (version)', got '%.*s'",
			       STRV_ARG(body));
	r = lp_check(p, "gem name", name, names_check_gem);
	if (r < 0)
		return r;
	src->specs =
		arena_grow_array(p->a, src->specs, sizeof(*src->specs), src->nspecs, &p->spec_cap);
	spec = &src->specs[src->nspecs];
	*spec = (struct lock_spec){ .name = arena_strv(p->a, name) };
	r = lp_version_platform(p, inner, &spec->version, &spec->platform);
	if (r < 0)
		return r;
	if (name.len + 1 + inner.len > NAMES_FULL_NAME_MAX)
		return lp_fail(p, p->lineno, "spec name and version too long (over %d bytes)",
			       NAMES_FULL_NAME_MAX);
	if (strcmp(spec->platform, "ruby") == 0)
		spec->full_name = arena_printf(p->a, "%s-%s", spec->name, spec->version);
	else
		spec->full_name =
			arena_printf(p->a, "%s-%s-%s", spec->name, spec->version, spec->platform);
	if (hmap_put(&p->specs, strv_from(spec->full_name), (void *)(uintptr_t)1))
		return lp_fail(p, p->lineno, "spec '%.*s' is listed twice", STRV_ARG(body));
	src->nspecs++;
	p->dep_cap = 0;
	return 0;
}

static int lp_spec_dep_line(struct lp *p, struct strv body)
{
	struct lock_spec *spec = lp_spec(p);
	struct strv name, inner, tail;
	const char *reqs = NULL;
	bool paren;
	int r;

	if (!spec)
		return lp_fail(p, p->lineno, "dependency '%.*s' before any spec", STRV_ARG(body));
	r = lp_name_paren(p, body, &name, &inner, &paren, &tail);
	if (r < 0)
		return r;
	if (tail.len)
		return lp_fail(p, p->lineno, "unexpected '%.*s' after dependency", STRV_ARG(tail));
	r = lp_check(p, "gem name", name, names_check_gem);
	if (r < 0)
		return r;
	if (paren) {
		r = lp_reqs(p, inner, &reqs);
		if (r < 0)
			return r;
	}
	spec->deps =
		arena_grow_array(p->a, spec->deps, sizeof(*spec->deps), spec->ndeps, &p->dep_cap);
	spec->deps[spec->ndeps++] = (struct lock_dep){ arena_strv(p->a, name), reqs };
	return 0;
}

static int lp_specs_line(struct lp *p, size_t indent, struct strv body)
{
	if (indent == 4)
		return lp_spec_line(p, body);
	if (indent == 6)
		return lp_spec_dep_line(p, body);
	if (indent == 2)
		return lp_fail(p, p->lineno, "unexpected '%.*s' after 'specs:'", STRV_ARG(body));
	return lp_fail(p, p->lineno, "bad indentation (%zu spaces) in specs", indent);
}

static int lp_platform_line(struct lp *p, size_t indent, struct strv body)
{
	struct lockfile *lf = p->lf;

	int r;

	if (indent != 2 || lp_has_space(body))
		return lp_fail(p, p->lineno, "malformed platform line '%.*s'", STRV_ARG(body));
	r = lp_check(p, "platform", body, names_check_platform);
	if (r < 0)
		return r;
	lf->platforms = arena_grow_array(p->a, lf->platforms, sizeof(*lf->platforms),
					 lf->nplatforms, &p->plat_cap);
	lf->platforms[lf->nplatforms++] = arena_strv(p->a, body);
	return 0;
}

static int lp_dependency_line(struct lp *p, size_t indent, struct strv body)
{
	struct lockfile *lf = p->lf;
	struct lock_dependency dep = { 0 };
	struct strv name, inner, tail;
	bool paren;
	void *at;
	int r;

	if (indent != 2)
		return lp_fail(p, p->lineno, "bad indentation (%zu spaces) in DEPENDENCIES",
			       indent);
	r = lp_name_paren(p, body, &name, &inner, &paren, &tail);
	if (r < 0)
		return r;
	if (tail.len && !strv_eq_cstr(tail, "!"))
		return lp_fail(p, p->lineno, "unexpected '%.*s' after dependency", STRV_ARG(tail));
	r = lp_check(p, "gem name", name, names_check_gem);
	if (r < 0)
		return r;
	if (paren) {
		r = lp_reqs(p, inner, &dep.reqs);
		if (r < 0)
			return r;
	}
	dep.name = arena_strv(p->a, name);
	dep.pinned = tail.len != 0;
	/* Bundler keeps dependencies in a hash by name: a repeated name replaces the first. */
	at = hmap_get(&p->deps, name);
	if (at) {
		lf->deps[(uintptr_t)at - 1] = dep;
		return 0;
	}
	lf->deps = arena_grow_array(p->a, lf->deps, sizeof(*lf->deps), lf->ndeps, &p->deps_cap);
	lf->deps[lf->ndeps++] = dep;
	(void)hmap_put(&p->deps, strv_from(dep.name), (void *)(uintptr_t)lf->ndeps);
	return 0;
}

static int lp_b64_value(char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '+' || c == '-')
		return 62;
	if (c == '/' || c == '_')
		return 63;
	return -1;
}

/*
 * A sha256 as Bundler::Checksum.to_hexdigest accepts it: 64 hex digits
 * (returned lower-cased), or 43 base64 digits (plain or url-safe) with up to
 * two '=' (returned as hex).
 */
static int lp_sha256_hex(struct strv v, char hex[65])
{
	static const char digits[] = "0123456789abcdef";
	unsigned char bin[33];
	uint32_t acc = 0;
	size_t nbits = 0, nbin = 0;

	if (v.len == 64 && hex_is_any(v.p, v.len)) {
		for (size_t i = 0; i < 64; i++) {
			char c = v.p[i];
			hex[i] = (c >= 'A' && c <= 'F') ? (char)(c - 'A' + 'a') : c;
		}
		hex[64] = '\0';
		return 0;
	}
	while (v.len && v.p[v.len - 1] == '=' && v.len > 43)
		v.len--;
	if (v.len != 43)
		return -EINVAL;
	for (size_t i = 0; i < v.len; i++) {
		int d = lp_b64_value(v.p[i]);
		if (d < 0)
			return -EINVAL;
		acc = (acc << 6) | (uint32_t)d;
		nbits += 6;
		if (nbits >= 8) {
			nbits -= 8;
			bin[nbin++] = (unsigned char)(acc >> nbits);
			acc &= (1u << nbits) - 1;
		}
	}
	SC_ASSERT(nbin == 32);
	for (size_t i = 0; i < 32; i++) {
		hex[2 * i] = digits[bin[i] >> 4];
		hex[2 * i + 1] = digits[bin[i] & 15];
	}
	hex[64] = '\0';
	return 0;
}

/* "sha256=<hex>[,algo=value...]"; returns the sha256 in hex, or NULL. */
static int lp_checksums(struct lp *p, struct strv raw, const char **ret_sha256)
{
	struct strv item, rest = raw, algo, value;
	char hex[65];
	bool more;

	*ret_sha256 = NULL;
	do {
		more = strv_cut(rest, ',', &item, &rest);
		if (!strv_cut(item, '=', &algo, &value) || algo.len == 0 || value.len == 0)
			return lp_fail(p, p->lineno, "malformed checksum '%.*s'", STRV_ARG(item));
		if (!strv_eq_cstr(algo, "sha256"))
			continue;
		if (lp_sha256_hex(value, hex) < 0)
			return lp_fail(p, p->lineno, "invalid sha256 checksum '%.*s'",
				       STRV_ARG(value));
		if (*ret_sha256 && strcmp(*ret_sha256, hex) != 0)
			return lp_fail(p, p->lineno, "two different sha256 checksums");
		*ret_sha256 = arena_strdup(p->a, hex);
	} while (more);
	return 0;
}

static int lp_checksum_line(struct lp *p, size_t indent, struct strv body)
{
	struct lockfile *lf = p->lf;
	struct lock_checksum ck = { .raw = "" };
	struct strv name, inner, tail, key;
	bool paren;
	void *at;
	int r;

	if (indent != 2)
		return lp_fail(p, p->lineno, "bad indentation (%zu spaces) in CHECKSUMS", indent);
	r = lp_name_paren(p, body, &name, &inner, &paren, &tail);
	if (r < 0)
		return r;
	if (!paren)
		return lp_fail(p, p->lineno, "expected 'name (version) sha256=...', got '%.*s'",
			       STRV_ARG(body));
	r = lp_check(p, "gem name", name, names_check_gem);
	if (r < 0)
		return r;
	ck.name = arena_strv(p->a, name);
	r = lp_version_platform(p, inner, &ck.version, &ck.platform);
	if (r < 0)
		return r;
	if (tail.len) {
		if (tail.p[0] != ' ' || tail.len == 1 || lp_has_space(strv_drop(tail, 1)))
			return lp_fail(p, p->lineno, "malformed checksum list '%.*s'",
				       STRV_ARG(tail));
		tail = strv_drop(tail, 1);
		r = lp_checksums(p, tail, &ck.sha256);
		if (r < 0)
			return r;
		ck.raw = arena_strv(p->a, tail);
	}
	/* The entry as it is written back: "-ruby" is no platform, as in Bundler. */
	if (strcmp(ck.platform, "ruby") == 0)
		key = strv_from(arena_printf(p->a, "%s (%s)", ck.name, ck.version));
	else
		key = strv_from(
			arena_printf(p->a, "%s (%s-%s)", ck.name, ck.version, ck.platform));
	at = hmap_get(&p->cks, key);
	if (at) {
		/* The same entry twice is harmless (Bundler merges it); two different ones are not.
		 */
		if (strcmp(lf->checksums[(uintptr_t)at - 1].raw, ck.raw) == 0)
			return 0;
		return lp_fail(p, p->lineno, "conflicting checksums for '%.*s'", STRV_ARG(key));
	}
	lf->checksums = arena_grow_array(p->a, lf->checksums, sizeof(*lf->checksums),
					 lf->nchecksums, &p->cks_cap);
	lf->checksums[lf->nchecksums++] = ck;
	(void)hmap_put(&p->cks, key, (void *)(uintptr_t)lf->nchecksums);
	return 0;
}

/* The one value line of RUBY VERSION or BUNDLED WITH (written with 3 spaces). */
static int lp_value_line(struct lp *p, size_t indent, struct strv body, const char **slot)
{
	struct strv v = strv_trim(body);

	if (!p->lf->value_indent && indent <= 3)
		p->lf->value_indent = (unsigned)indent;
	if (*slot)
		return lp_fail(p, p->lineno, "more than one value in section");
	if (p->state == LP_BUNDLED && !version_valid(v))
		return lp_fail(p, p->lineno, "invalid bundler version '%.*s'", STRV_ARG(v));
	*slot = arena_strv(p->a, v);
	return 0;
}

static int lp_end_section(struct lp *p)
{
	struct lockfile *lf = p->lf;
	struct lock_section *x;

	switch (p->state) {
	case LP_SOURCE:
		return lp_fail(p, p->section_line, "%s section without 'specs:'",
			       lock_source_header[lp_src(p)->kind]);
	case LP_RUBY:
		if (!lf->ruby_version)
			return lp_fail(p, p->section_line, "RUBY VERSION section without a value");
		break;
	case LP_BUNDLED:
		if (!lf->bundled_with)
			return lp_fail(p, p->section_line, "BUNDLED WITH section without a value");
		break;
	case LP_EXTRA:
		x = &lf->extra[lf->nextra - 1];
		x->body = arena_strv(p->a, sbuf_strv(&p->extra_body));
		sbuf_reset(&p->extra_body);
		break;
	case LP_NONE:
	case LP_SPECS:
	case LP_PLATFORMS:
	case LP_DEPENDENCIES:
	case LP_CHECKSUMS:
		break;
	}
	return 0;
}

static int lp_header(struct lp *p, struct strv line)
{
	struct lockfile *lf = p->lf;
	const struct lp_section *sec = NULL;
	int r;

	r = lp_end_section(p);
	if (r < 0)
		return r;
	p->section_line = p->lineno;
	for (size_t i = 0; i < SC_ARRAY_SIZE(lp_sections); i++)
		if (strv_eq_cstr(line, lp_sections[i].name))
			sec = &lp_sections[i];
	if (sec && sec->state == LP_SOURCE) {
		if (sec->kind == LOCK_SRC_GEM && ++p->ngem_sources > LOCK_GEM_SOURCES_MAX)
			return lp_fail(p, p->lineno, "more than %d GEM sections",
				       LOCK_GEM_SOURCES_MAX);
		lf->sources = arena_grow_array(p->a, lf->sources, sizeof(*lf->sources),
					       lf->nsources, &p->src_cap);
		lf->sources[lf->nsources++] = (struct lock_source){ .kind = sec->kind };
		p->opt_cap = 0;
		p->state = LP_SOURCE;
		p->anchor = sec->name;
		return 0;
	}
	if (sec) {
		if (p->seen & (1u << sec->state))
			return lp_fail(p, p->lineno, "section %s appears twice", sec->name);
		p->seen |= 1u << sec->state;
		if (sec->state == LP_CHECKSUMS)
			lf->has_checksums = true;
		p->state = sec->state;
		p->anchor = sec->name;
		return 0;
	}
	if (!lp_is_section_name(line))
		return lp_fail(p, p->lineno, "unexpected line '%.*s'", STRV_ARG(line));
	lf->extra =
		arena_grow_array(p->a, lf->extra, sizeof(*lf->extra), lf->nextra, &p->extra_cap);
	lf->extra[lf->nextra++] =
		(struct lock_section){ .name = arena_strv(p->a, line), .after = p->anchor };
	p->state = LP_EXTRA;
	return 0;
}

static int lp_line(struct lp *p, struct strv line)
{
	size_t indent = 0;
	struct strv body;

	if (lp_is_blank(line))
		return 0;
	if (line.p[0] != ' ' && line.p[0] != '\t')
		return lp_header(p, line);
	while (indent < line.len && line.p[indent] == ' ')
		indent++;
	if (line.p[indent] == '\t')
		return lp_fail(p, p->lineno, "tab in indentation");
	body = strv_drop(line, indent);
	switch (p->state) {
	case LP_NONE:
		return lp_fail(p, p->lineno, "indented line before any section");
	case LP_SOURCE:
		return lp_source_line(p, indent, body);
	case LP_SPECS:
		return lp_specs_line(p, indent, body);
	case LP_PLATFORMS:
		return lp_platform_line(p, indent, body);
	case LP_DEPENDENCIES:
		return lp_dependency_line(p, indent, body);
	case LP_CHECKSUMS:
		return lp_checksum_line(p, indent, body);
	case LP_RUBY:
		return lp_value_line(p, indent, body, &p->lf->ruby_version);
	case LP_BUNDLED:
		return lp_value_line(p, indent, body, &p->lf->bundled_with);
	case LP_EXTRA:
		(void)sbuf_add(&p->extra_body, line.p, line.len);
		(void)sbuf_addch(&p->extra_body, '\n');
		return 0;
	}
	return 0;
}

int lockfile_parse(struct arena *a, struct strv text, struct lockfile *ret, struct sbuf *errmsg)
{
	struct lp p = { .a = a, .lf = ret, .errmsg = errmsg };
	struct strv rest = text, line;
	int r;

	*ret = (struct lockfile){ 0 };
	sbuf_init(&p.extra_body, 0);
	hmap_init(&p.specs);
	hmap_init(&p.deps);
	hmap_init(&p.cks);
	r = lp_check_conflicts(&p, text);
	if (r < 0)
		goto out_release;
	ret->crlf = memmem(text.p, text.len, "\r\n", 2) != NULL;
	while (strv_next_line(&rest, &line)) {
		p.lineno++;
		r = lp_line(&p, line);
		if (r < 0)
			goto out_release;
	}
	p.lineno++;
	r = lp_end_section(&p);
	if (r < 0)
		goto out_release;
	for (size_t i = 0; i < ret->nsources; i++)
		for (size_t j = 0; j < ret->sources[i].nspecs; j++)
			ret->sources[i].specs[j].source = &ret->sources[i];
	r = 0;
out_release:
	hmap_release(&p.cks);
	hmap_release(&p.deps);
	hmap_release(&p.specs);
	sbuf_release(&p.extra_body);
	if (r < 0)
		*ret = (struct lockfile){ 0 };
	return r;
}

int lockfile_path_for_gemfile(const char *gemfile, struct sbuf *out)
{
	const char *slash = strrchr(gemfile, '/');
	const char *base = slash ? slash + 1 : gemfile;

	if (strcmp(base, "gems.rb") == 0)
		(void)sbuf_addf(out, "%.*sgems.locked", (int)(base - gemfile), gemfile);
	else
		(void)sbuf_addf(out, "%s.lock", gemfile);
	return 0;
}

const char *lock_source_opt(const struct lock_source *src, const char *key)
{
	for (size_t i = 0; i < src->nopts; i++)
		if (strcmp(src->opts[i].key, key) == 0)
			return src->opts[i].value;
	return NULL;
}

const char *lockfile_checksum(const struct lockfile *lf, const char *name, const char *version,
			      const char *platform)
{
	if (!platform || !platform[0])
		platform = "ruby";
	for (size_t i = 0; i < lf->nchecksums; i++) {
		const struct lock_checksum *c = &lf->checksums[i];
		if (strcmp(c->name, name) == 0 && strcmp(c->version, version) == 0 &&
		    strcmp(c->platform, platform) == 0)
			return c->sha256;
	}
	return NULL;
}

/*
 * Writer.
 */

typedef int lw_cmp_fn(const void *a, const void *b);

/* Stable insertion sort: input from Bundler is already sorted, which makes it linear. */
static void lw_sort(const void **v, size_t n, lw_cmp_fn *cmp)
{
	for (size_t i = 1; i < n; i++) {
		const void *x = v[i];
		size_t j = i;

		while (j > 0 && cmp(v[j - 1], x) > 0) {
			v[j] = v[j - 1];
			j--;
		}
		v[j] = x;
	}
}

static int lw_strcmp(const void *a, const void *b)
{
	return strcmp(a, b);
}

/* A sort key and the text to print, both heap strings. */
struct lw_item {
	char *key;
	char *text;
	const void *obj;
};

static int lw_item_cmp(const void *a, const void *b)
{
	return strcmp(((const struct lw_item *)a)->key, ((const struct lw_item *)b)->key);
}

static void lw_items_free(struct lw_item *items, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(items[i].key);
		free(items[i].text);
	}
	free(items);
}

/*
 * Bundler's requirement rendering: each "op version", sorted, reversed, made
 * unique, ">= 0" alone omitted. Appends " (reqs)" to out, or nothing. A list
 * that does not parse (a caller-built struct) is written as given.
 */
static void lw_reqs(struct sbuf *out, const char *reqs)
{
	struct strv rest, item;
	char **list;
	const void **order;
	size_t n = 1, m = 0, uniq = 0;
	bool more, ok = true, all_default = true;

	if (!reqs)
		return;
	for (const char *c = reqs; *c; c++)
		n += *c == ',';
	list = sc_xcalloc(n, sizeof(*list));
	order = sc_xcalloc(n, sizeof(*order));
	rest = strv_from(reqs);
	do {
		struct requirement r;
		size_t oplen;

		more = strv_cut(rest, ',', &item, &rest);
		if (requirement_parse(item, &r) < 0) {
			ok = false;
			break;
		}
		all_default = all_default && requirement_is_default(&r);
		oplen = strlen(requirement_op_str(r.op));
		list[m] = sc_xmalloc(oplen + r.version.len + 2);
		memcpy(list[m], requirement_op_str(r.op), oplen);
		list[m][oplen] = ' ';
		memcpy(list[m] + oplen + 1, r.version.p, r.version.len);
		list[m][oplen + 1 + r.version.len] = '\0';
		order[m] = list[m];
		m++;
	} while (more);
	lw_sort(order, m, lw_strcmp);
	for (size_t i = 0; i < m; i++)
		uniq += i == 0 || strcmp(order[i], order[i - 1]) != 0;
	if (!ok) {
		(void)sbuf_addf(out, " (%s)", reqs);
	} else if (m && !(all_default && uniq == 1)) {
		(void)sbuf_addstr(out, " (");
		for (size_t i = m; i-- > 0;) {
			if (i + 1 < m && strcmp(order[i], order[i + 1]) == 0)
				continue;
			if (i + 1 < m)
				(void)sbuf_addstr(out, ", ");
			(void)sbuf_addstr(out, order[i]);
		}
		(void)sbuf_addch(out, ')');
	}
	for (size_t i = 0; i < m; i++)
		free(list[i]);
	free(order);
	free(list);
}

/*
 * A dependency as "name (reqs)" for sorting (Gem::Dependency#to_s, ">= 0" when
 * there is no requirement) and as its lockfile text " name (reqs)".
 */
static void lw_dep_item(struct lw_item *it, const char *name, const char *reqs, bool pinned)
{
	struct sbuf sb = SBUF_INIT;

	(void)sbuf_addstr(&sb, name);
	lw_reqs(&sb, reqs);
	if (sb.len == strlen(name))
		(void)sbuf_addstr(&sb, " (>= 0)");
	it->key = sbuf_detach(&sb, NULL);
	(void)sbuf_addstr(&sb, name);
	lw_reqs(&sb, reqs);
	if (pinned)
		(void)sbuf_addch(&sb, '!');
	it->text = sbuf_detach(&sb, NULL);
}

static void lw_spec(struct sbuf *out, const struct lock_spec *spec)
{
	struct lw_item *items = sc_xcalloc(spec->ndeps + 1, sizeof(*items));
	const void **order = sc_xcalloc(spec->ndeps + 1, sizeof(*order));

	if (spec->platform && spec->platform[0] && strcmp(spec->platform, "ruby") != 0)
		(void)sbuf_addf(out, "    %s (%s-%s)\n", spec->name, spec->version, spec->platform);
	else
		(void)sbuf_addf(out, "    %s (%s)\n", spec->name, spec->version);
	for (size_t i = 0; i < spec->ndeps; i++) {
		lw_dep_item(&items[i], spec->deps[i].name, spec->deps[i].reqs, false);
		order[i] = &items[i];
	}
	lw_sort(order, spec->ndeps, lw_item_cmp);
	for (size_t i = 0; i < spec->ndeps; i++) {
		const struct lw_item *it = order[i];
		if (i && strcmp(it->key, ((const struct lw_item *)order[i - 1])->key) == 0)
			continue;
		(void)sbuf_addf(out, "      %s\n", it->text);
	}
	free(order);
	lw_items_free(items, spec->ndeps);
}

static int lw_spec_cmp(const void *a, const void *b)
{
	return strcmp(((const struct lock_spec *)a)->full_name,
		      ((const struct lock_spec *)b)->full_name);
}

static bool lw_is_ruby(const char *platform)
{
	return !platform || !platform[0] || strcmp(platform, "ruby") == 0;
}

/* name-version[-platform], for specs a caller built without full_name. */
static char *lw_full_name(const struct lock_spec *spec)
{
	struct sbuf sb = SBUF_INIT;

	(void)sbuf_addf(&sb, "%s-%s", spec->name, spec->version);
	if (!lw_is_ruby(spec->platform))
		(void)sbuf_addf(&sb, "-%s", spec->platform);
	return sbuf_detach(&sb, NULL);
}

static void lw_source_specs(struct sbuf *out, const struct lock_source *src)
{
	struct lock_spec *copy = sc_xcalloc(src->nspecs + 1, sizeof(*copy));
	const void **order = sc_xcalloc(src->nspecs + 1, sizeof(*order));
	char **names = sc_xcalloc(src->nspecs + 1, sizeof(*names));

	for (size_t i = 0; i < src->nspecs; i++) {
		copy[i] = src->specs[i];
		if (!copy[i].full_name)
			copy[i].full_name = names[i] = lw_full_name(&copy[i]);
		order[i] = &copy[i];
	}
	lw_sort(order, src->nspecs, lw_spec_cmp);
	for (size_t i = 0; i < src->nspecs; i++) {
		const struct lock_spec *spec = order[i];
		if (strcmp(spec->name, "bundler") != 0)
			lw_spec(out, spec);
	}
	for (size_t i = 0; i < src->nspecs; i++)
		free(names[i]);
	free(names);
	free(order);
	free(copy);
}

/* The options Bundler writes first, in its order; any others follow in file order. */
static const char *const lw_known_opts[][8] = {
	[LOCK_SRC_GEM] = { "remote", NULL },
	[LOCK_SRC_GIT] = { "remote", "revision", "ref", "branch", "tag", "submodules", "glob",
			   NULL },
	[LOCK_SRC_PATH] = { "remote", "glob", NULL },
	[LOCK_SRC_PLUGIN] = { "remote", "type", NULL },
};

static bool lw_is_known_opt(enum lock_source_kind kind, const char *key)
{
	for (size_t i = 0; lw_known_opts[kind][i]; i++)
		if (strcmp(lw_known_opts[kind][i], key) == 0)
			return true;
	return false;
}

static void lw_source(struct sbuf *out, const struct lock_source *src)
{
	(void)sbuf_addf(out, "%s\n", lock_source_header[src->kind]);
	for (size_t k = 0; lw_known_opts[src->kind][k]; k++)
		for (size_t i = 0; i < src->nopts; i++)
			if (strcmp(src->opts[i].key, lw_known_opts[src->kind][k]) == 0)
				(void)sbuf_addf(out, "  %s: %s\n", src->opts[i].key,
						src->opts[i].value);
	for (size_t i = 0; i < src->nopts; i++)
		if (!lw_is_known_opt(src->kind, src->opts[i].key))
			(void)sbuf_addf(out, "  %s: %s\n", src->opts[i].key, src->opts[i].value);
	(void)sbuf_addstr(out, "  specs:\n");
	lw_source_specs(out, src);
}

static void lw_opt(struct sbuf *sb, const struct lock_source *src, const char *key, const char *pre)
{
	const char *v = lock_source_opt(src, key);

	if (v)
		(void)sbuf_addf(sb, "%s%s", pre, v);
}

/*
 * Bundler sorts sources by #identifier (Source#to_s), which the lockfile
 * mostly determines:
 *   GIT    "<uri> (at <ref|branch|tag>@<revision[0,7]>[, glob: <glob>])"
 *   PATH   "source at `<path>`"
 *   PLUGIN "plugin source for <type> with uri <uri>"
 *   GEM    "rubygems repository <remotes, last in file first, joined by ', '>"
 * A git source without ref, branch or tag uses the checked-out branch, which
 * is not in the file; the sort is stable, so file order decides such ties.
 */
static char *lw_source_identifier(const struct lock_source *src)
{
	struct sbuf sb = SBUF_INIT;
	const char *rev, *ref;
	bool first = true;

	switch (src->kind) {
	case LOCK_SRC_GIT:
		lw_opt(&sb, src, "remote", "");
		ref = lock_source_opt(src, "ref");
		if (!ref)
			ref = lock_source_opt(src, "branch");
		if (!ref)
			ref = lock_source_opt(src, "tag");
		rev = lock_source_opt(src, "revision");
		(void)sbuf_addstr(&sb, " (at ");
		if (ref && lock_source_opt(src, "ref") && strlen(ref) >= 4 &&
		    strspn(ref, "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ") ==
			    strlen(ref))
			(void)sbuf_addf(&sb, "%.7s", ref);
		else if (ref)
			(void)sbuf_addstr(&sb, ref);
		(void)sbuf_addf(&sb, "@%.7s", rev ? rev : "");
		lw_opt(&sb, src, "glob", ", glob: ");
		(void)sbuf_addch(&sb, ')');
		break;
	case LOCK_SRC_PATH:
		(void)sbuf_addstr(&sb, "source at `");
		lw_opt(&sb, src, "remote", "");
		(void)sbuf_addch(&sb, '`');
		break;
	case LOCK_SRC_PLUGIN:
		(void)sbuf_addstr(&sb, "plugin source for ");
		lw_opt(&sb, src, "type", "");
		(void)sbuf_addstr(&sb, " with uri ");
		lw_opt(&sb, src, "remote", "");
		break;
	case LOCK_SRC_GEM:
		(void)sbuf_addstr(&sb, "rubygems repository ");
		for (size_t i = src->nopts; i-- > 0;) {
			if (strcmp(src->opts[i].key, "remote") != 0)
				continue;
			(void)sbuf_addf(&sb, "%s%s", first ? "" : ", ", src->opts[i].value);
			first = false;
		}
		if (first) {
			sbuf_reset(&sb);
			(void)sbuf_addstr(&sb, "locally installed gems");
		}
		break;
	}
	return sbuf_detach(&sb, NULL);
}

static void lw_sources(struct sbuf *out, const struct lockfile *lf)
{
	struct lw_item *items = sc_xcalloc(lf->nsources + 1, sizeof(*items));
	const void **order = sc_xcalloc(lf->nsources + 1, sizeof(*order));
	size_t n = 0;

	/* Path, git and plugin sources first, then the rubygems ones; each group sorted. */
	for (int gem = 0; gem < 2; gem++) {
		size_t start = n;

		for (size_t i = 0; i < lf->nsources; i++) {
			if ((lf->sources[i].kind == LOCK_SRC_GEM) != gem)
				continue;
			items[n].key = lw_source_identifier(&lf->sources[i]);
			items[n].obj = &lf->sources[i];
			order[n] = &items[n];
			n++;
		}
		lw_sort(order + start, n - start, lw_item_cmp);
	}
	for (size_t i = 0; i < n; i++) {
		if (i)
			(void)sbuf_addch(out, '\n');
		lw_source(out, ((const struct lw_item *)order[i])->obj);
	}
	free(order);
	lw_items_free(items, n);
}

static void lw_platforms(struct sbuf *out, const struct lockfile *lf)
{
	const void **order = sc_xcalloc(lf->nplatforms + 1, sizeof(*order));

	(void)sbuf_addstr(out, "\nPLATFORMS\n");
	for (size_t i = 0; i < lf->nplatforms; i++)
		order[i] = lf->platforms[i];
	lw_sort(order, lf->nplatforms, lw_strcmp);
	for (size_t i = 0; i < lf->nplatforms; i++)
		if (i == 0 || strcmp(order[i], order[i - 1]) != 0)
			(void)sbuf_addf(out, "  %s\n", (const char *)order[i]);
	free(order);
}

static void lw_dependencies(struct sbuf *out, const struct lockfile *lf)
{
	struct lw_item *items = sc_xcalloc(lf->ndeps + 1, sizeof(*items));
	const void **order = sc_xcalloc(lf->ndeps + 1, sizeof(*order));
	struct hmap handled;

	hmap_init(&handled);
	(void)sbuf_addstr(out, "\nDEPENDENCIES\n");
	for (size_t i = 0; i < lf->ndeps; i++) {
		lw_dep_item(&items[i], lf->deps[i].name, lf->deps[i].reqs, lf->deps[i].pinned);
		items[i].obj = &lf->deps[i];
		order[i] = &items[i];
	}
	lw_sort(order, lf->ndeps, lw_item_cmp);
	for (size_t i = 0; i < lf->ndeps; i++) {
		const struct lw_item *it = order[i];
		const struct lock_dependency *dep = it->obj;
		if (hmap_get(&handled, strv_from(dep->name)))
			continue;
		(void)hmap_put(&handled, strv_from(dep->name), (void *)(uintptr_t)1);
		(void)sbuf_addf(out, "  %s\n", it->text);
	}
	hmap_release(&handled);
	free(order);
	lw_items_free(items, lf->ndeps);
}

static void lw_checksums(struct sbuf *out, const struct lockfile *lf)
{
	struct lw_item *items = sc_xcalloc(lf->nchecksums + 1, sizeof(*items));
	const void **order = sc_xcalloc(lf->nchecksums + 1, sizeof(*order));

	(void)sbuf_addstr(out, "\nCHECKSUMS\n");
	for (size_t i = 0; i < lf->nchecksums; i++) {
		const struct lock_checksum *c = &lf->checksums[i];
		struct sbuf sb = SBUF_INIT;

		(void)sbuf_addf(&sb, "%s (%s", c->name, c->version);
		if (!lw_is_ruby(c->platform))
			(void)sbuf_addf(&sb, "-%s", c->platform);
		(void)sbuf_addch(&sb, ')');
		if (c->raw && c->raw[0])
			(void)sbuf_addf(&sb, " %s", c->raw);
		else if (c->sha256)
			(void)sbuf_addf(&sb, " sha256=%s", c->sha256);
		items[i].key = sbuf_detach(&sb, NULL);
		order[i] = &items[i];
	}
	lw_sort(order, lf->nchecksums, lw_item_cmp);
	for (size_t i = 0; i < lf->nchecksums; i++)
		(void)sbuf_addf(out, "  %s\n", ((const struct lw_item *)order[i])->key);
	free(order);
	lw_items_free(items, lf->nchecksums);
}

/* Where an unknown section goes: after the known section it followed in the file. */
enum lw_slot {
	LW_SLOT_TOP,
	LW_SLOT_SOURCES,
	LW_SLOT_PLATFORMS,
	LW_SLOT_DEPENDENCIES,
	LW_SLOT_CHECKSUMS,
	LW_SLOT_RUBY,
	LW_SLOT_BUNDLED,
};

static enum lw_slot lw_slot_of(const char *after)
{
	static const char *const names[] = {
		[LW_SLOT_PLATFORMS] = "PLATFORMS",  [LW_SLOT_DEPENDENCIES] = "DEPENDENCIES",
		[LW_SLOT_CHECKSUMS] = "CHECKSUMS",  [LW_SLOT_RUBY] = "RUBY VERSION",
		[LW_SLOT_BUNDLED] = "BUNDLED WITH",
	};

	if (!after)
		return LW_SLOT_TOP;
	for (size_t i = LW_SLOT_PLATFORMS; i < SC_ARRAY_SIZE(names); i++)
		if (strcmp(after, names[i]) == 0)
			return (enum lw_slot)i;
	return LW_SLOT_SOURCES;
}

static void lw_extras(struct sbuf *out, const struct lockfile *lf, enum lw_slot slot)
{
	for (size_t i = 0; i < lf->nextra; i++) {
		const struct lock_section *x = &lf->extra[i];
		if (lw_slot_of(x->after) != slot)
			continue;
		if (out->len)
			(void)sbuf_addch(out, '\n');
		(void)sbuf_addf(out, "%s\n%s", x->name, x->body ? x->body : "");
	}
}

static void lw_to_crlf(struct sbuf *out, size_t from)
{
	struct sbuf tmp = SBUF_INIT;
	const char *s = sbuf_cstr(out) + from;

	for (; *s; s++) {
		if (*s == '\n')
			(void)sbuf_addch(&tmp, '\r');
		(void)sbuf_addch(&tmp, *s);
	}
	sbuf_setlen(out, from);
	(void)sbuf_addv(out, sbuf_strv(&tmp));
	sbuf_release(&tmp);
}

/* The major version of a "X.Y.Z..." string, or -1 when it does not start with digits. */
static long lw_major(const char *version)
{
	long major = 0;
	const char *c = version;

	if (!c || *c < '0' || *c > '9')
		return -1;
	for (; *c >= '0' && *c <= '9'; c++) {
		major = major * 10 + (*c - '0');
		if (major > 1000000)
			return -1;
	}
	return major;
}

struct lock_format lockfile_format_for(const char *bundler_version)
{
	long major = lw_major(bundler_version);
	long minor = -1;
	const char *dot = bundler_version ? strchr(bundler_version, '.') : NULL;

	if (dot)
		minor = lw_major(dot + 1);
	if (major >= 4)
		return (struct lock_format){
			.value_indent = 2,
			.ruby_patchlevel = false,
			.checksums_default = true,
			.bundler_checksum = true,
			.checksums_known = true,
		};
	return (struct lock_format){
		.value_indent = 3,
		.ruby_patchlevel = true,
		.checksums_default = false,
		.bundler_checksum = false,
		.checksums_known = major > 2 || (major == 2 && minor >= 5),
	};
}

void lockfile_ruby_version(const struct lock_format *f, const char *version,
			   const char *patchlevel, const char *engine, const char *engine_version,
			   struct sbuf *out)
{
	(void)sbuf_addf(out, "ruby %s", version);
	if (f->ruby_patchlevel && patchlevel && patchlevel[0] && strcmp(patchlevel, "-1") != 0)
		(void)sbuf_addf(out, "p%s", patchlevel);
	if (engine && engine[0] && strcmp(engine, "ruby") != 0)
		(void)sbuf_addf(out, " (%s %s)", engine, engine_version ? engine_version : "");
}

int lockfile_write(const struct lockfile *lf, const char *version_hint, struct sbuf *out)
{
	size_t start = out->len;
	struct sbuf body = SBUF_INIT;
	unsigned indent = lf->value_indent;
	const char *pad;

	if (version_hint || (indent != 2 && indent != 3))
		indent = lockfile_format_for(version_hint ? version_hint : lf->bundled_with)
				 .value_indent;
	pad = indent == 2 ? "  " : "   ";

	/* Build in a private buffer so that "is this the first section" sees only our text. */
	lw_extras(&body, lf, LW_SLOT_TOP);
	if (body.len && lf->nsources)
		(void)sbuf_addch(&body, '\n');
	lw_sources(&body, lf);
	lw_extras(&body, lf, LW_SLOT_SOURCES);
	lw_platforms(&body, lf);
	lw_extras(&body, lf, LW_SLOT_PLATFORMS);
	lw_dependencies(&body, lf);
	lw_extras(&body, lf, LW_SLOT_DEPENDENCIES);
	if (lf->has_checksums)
		lw_checksums(&body, lf);
	lw_extras(&body, lf, LW_SLOT_CHECKSUMS);
	if (lf->ruby_version)
		(void)sbuf_addf(&body, "\nRUBY VERSION\n%s%s\n", pad, lf->ruby_version);
	lw_extras(&body, lf, LW_SLOT_RUBY);
	if (lf->bundled_with)
		(void)sbuf_addf(&body, "\nBUNDLED WITH\n%s%s\n", pad, lf->bundled_with);
	lw_extras(&body, lf, LW_SLOT_BUNDLED);
	(void)sbuf_addv(out, sbuf_strv(&body));
	sbuf_release(&body);
	if (lf->crlf)
		lw_to_crlf(out, start);
	return 0;
}
