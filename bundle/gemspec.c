/*
 * gemspec.c: Gem::Specification.from_yaml + to_ruby_for_cache of RubyGems
 * 3.3, for the metadata shapes RubyGems itself writes; everything else is
 * declined (see gemspec.h).
 *
 * Reading follows what Psych and RubyGems do with each key: yaml_initialize
 * sets every key as an instance variable as it was loaded (a Gem::Version
 * keeps its text, a Requirement its list), `date=` keeps the day,
 * `platform=` keeps the text as original_platform, from_yaml puts -1 into a
 * missing specification_version and reset_nil_attributes_to_default the
 * defaults into nil attributes. Writing follows to_ruby: the attributes in
 * @@attributes order, each written when it differs from its default or is
 * required, with ruby_code's forms.
 */
#include "bundle/gemspec.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base/arena.h"
#include "base/err.h"
#include "base/sbuf.h"
#include "bundle/yaml.h"

#define TAG_SPEC	"!ruby/object:Gem::Specification"
#define TAG_VERSION	"!ruby/object:Gem::Version"
#define TAG_REQUIREMENT "!ruby/object:Gem::Requirement"
#define TAG_DEPENDENCY	"!ruby/object:Gem::Dependency"

#define GS_LIST_MAX	100000u /* items of one list attribute */

struct gs_list {
	const char **v;
	size_t *len;
	size_t n;
};

struct gs_req {
	const char **ops;
	const char **versions;
	size_t n;
};

struct gs_dep {
	const char *name;
	struct gs_req req;
	bool development;
};

/* One spec as RubyGems holds it after from_yaml (only what to_ruby reads). */
struct gs_spec {
	const char *name;
	const char *version;
	const char *platform; /* original_platform; "ruby" for Gem::Platform::RUBY */
	struct gs_list authors, cert_chain, executables, extensions, extra_rdoc_files, licenses,
		rdoc_options, requirements, require_paths;
	struct strv autorequire, bindir, description, email, homepage, post_install_message,
		signing_key, summary;
	bool has_autorequire, has_description, has_email, has_homepage, has_post_install_message,
		has_signing_key;
	struct gs_list email_list; /* email written as a list */
	bool email_is_list;
	int date_y, date_m, date_d;
	struct gs_req required_ruby_version, required_rubygems_version;
	struct gs_list meta_keys, meta_vals;
	struct gs_dep *deps;
	size_t ndeps;
	const struct gs_dep **runtime; /* the runtime ones, by name */
	size_t nruntime;
	long specification_version;
};

struct gs_ctx {
	struct arena *a;
	struct sbuf *why;
};

static int gs_decline(struct gs_ctx *c, const struct yaml_node *n, const char *what)
{
	if (c->why) {
		if (n)
			(void)sbuf_addf(c->why, "line %u: %s", (unsigned)n->line, what);
		else
			(void)sbuf_addstr(c->why, what);
	}
	return -SC_EUNSUPPORTED;
}

bool gemspec_rubygems_supported(const char *v)
{
	if (!v || strncmp(v, "3.3.", 4))
		return false;
	v += 4;
	if (!*v)
		return false;
	for (; *v; v++)
		if (*v < '0' || *v > '9')
			return false;
	return true;
}

/* ---- Psych's reading of a plain scalar (ScalarScanner#tokenize) ---- */

enum gs_ptype {
	PT_STR,
	PT_NULL,
	PT_OTHER
};

static bool gs_r1_class(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || c == ' ' ||
	       c == '\t' || c == '\n' || c == '\v' || c == '\f' || c == '\r' ||
	       (c && strchr("!@#$%^&*(){}<>|/\\~;=", c));
}

static bool gs_ieq(const char *s, size_t n, const char *w)
{
	if (strlen(w) != n)
		return false;
	for (size_t i = 0; i < n; i++) {
		char c = s[i];
		if (c >= 'A' && c <= 'Z')
			c = (char)(c - 'A' + 'a');
		if (c != w[i])
			return false;
	}
	return true;
}

static bool gs_digit(char c)
{
	return c >= '0' && c <= '9';
}

/* FLOAT = /^(?:[-+]?([0-9][0-9_,]*)?\.[0-9]*([eE][-+][0-9]+)?)$/ */
static bool gs_is_float(const char *s, size_t n)
{
	size_t i = 0;
	if (i < n && (s[i] == '-' || s[i] == '+'))
		i++;
	if (i < n && gs_digit(s[i])) {
		i++;
		while (i < n && (gs_digit(s[i]) || s[i] == '_' || s[i] == ','))
			i++;
	}
	if (i >= n || s[i] != '.')
		return false;
	i++;
	while (i < n && gs_digit(s[i]))
		i++;
	if (i < n && (s[i] == 'e' || s[i] == 'E')) {
		i++;
		if (i >= n || (s[i] != '-' && s[i] != '+'))
			return false;
		i++;
		if (i >= n || !gs_digit(s[i]))
			return false;
		while (i < n && gs_digit(s[i]))
			i++;
	}
	return i == n;
}

/* Anything that could be INTEGER: optional sign, then digits/_/, or 0b/0x forms. */
static bool gs_maybe_int(const char *s, size_t n)
{
	size_t i = 0;
	if (i < n && (s[i] == '-' || s[i] == '+'))
		i++;
	if (i >= n)
		return false;
	for (; i < n; i++) {
		char c = s[i];
		if (!(gs_digit(c) || c == '_' || c == ',' || c == 'x' || c == 'b' ||
		      (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F')))
			return false;
	}
	return gs_digit(s[s[0] == '-' || s[0] == '+' ? 1 : 0]);
}

/*
 * What Psych makes of a plain scalar: PT_STR when it is certainly the
 * String of the same bytes, PT_NULL for nil, PT_OTHER for everything else
 * or anything not certain (booleans, numbers, times, symbols...).
 */
static enum gs_ptype gs_plain_type(const char *s, size_t n)
{
	if (n == 0)
		return PT_NULL;
	bool ascii = true, nl = false;
	size_t chars = 0;
	for (size_t i = 0; i < n; i++) {
		unsigned char b = (unsigned char)s[i];
		ascii = ascii && b < 0x80;
		nl = nl || b == '\n';
		chars += (b & 0xc0) != 0x80;
	}
	/*
	 * Psych tests the short ones (5 characters or fewer) against
	 * /^[^ytonf~]/i, then /^(yes|true|on)$/i and the like, with ^ and $
	 * at every line and Unicode case folding ("yeſ" is true): with a line
	 * break, or a first character that may start one of those words, not
	 * certain: declined. (No character outside ASCII fails [^ytonf~]/i,
	 * checked over every code point with Ruby 3.1.) ":" is a Symbol (below).
	 */
	if (chars <= 5 && (nl || (!ascii && strchr("ytonfYTONF~", s[0]))))
		return PT_OTHER;
	if (nl)
		return PT_STR;
	if (!ascii)
		/* No non-string form has a non-ASCII byte; ":x" is a Symbol. */
		return s[0] == ':' ? PT_OTHER : PT_STR;
	unsigned char c0 = (unsigned char)s[0];
	bool r1 = gs_r1_class(c0) || (!gs_digit((char)c0) && c0 != '.' && c0 != ':' && c0 != '-' &&
				      n >= 2 && gs_r1_class((unsigned char)s[1]));
	if (r1) {
		if (n > 5)
			return PT_STR;
		char l = (char)(c0 | 0x20);
		if (!strchr("ytonf", l) && c0 != '~')
			return PT_STR;
		if ((n == 1 && c0 == '~') || gs_ieq(s, n, "null"))
			return PT_NULL;
		if (gs_ieq(s, n, "yes") || gs_ieq(s, n, "true") || gs_ieq(s, n, "on") ||
		    gs_ieq(s, n, "no") || gs_ieq(s, n, "false") || gs_ieq(s, n, "off"))
			return PT_OTHER;
		return PT_STR;
	}
	/* Outside the first pattern: /^:./ is a Symbol, whatever follows. */
	if (c0 == ':')
		return PT_OTHER;
	/* Every other form is made of these bytes only. */
	bool special = true;
	for (size_t i = 0; i < n; i++) {
		char c = s[i];
		if (!(gs_digit(c) || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		      strchr(" .:_,+-", c)))
			special = false;
	}
	if (!special)
		return PT_STR;
	if (memchr(s, ':', n))
		return PT_OTHER; /* symbols, sexagesimal numbers, times */
	if (n >= 5 && gs_digit(s[0]) && gs_digit(s[1]) && gs_digit(s[2]) && gs_digit(s[3]) &&
	    s[4] == '-')
		return PT_OTHER; /* dates */
	if (s[0] == '-' && n >= 6 && gs_digit(s[1]) && gs_digit(s[2]) && gs_digit(s[3]) &&
	    gs_digit(s[4]) && s[5] == '-')
		return PT_OTHER;
	if (gs_ieq(s, n, ".inf") || gs_ieq(s, n, "+.inf") || gs_ieq(s, n, "-.inf") ||
	    gs_ieq(s, n, ".nan"))
		return PT_OTHER;
	if (gs_is_float(s, n) || gs_maybe_int(s, n))
		return PT_OTHER;
	return PT_STR;
}

/* ---- reading values ---- */

static bool gs_is_null(const struct yaml_node *n)
{
	return !n || (n->kind == YAML_SCALAR && !n->tag && n->style == YAML_PLAIN &&
		      gs_plain_type(n->str, n->len) == PT_NULL);
}

/* A String value: a scalar without tag that Psych loads as a String. */
static int gs_str(struct gs_ctx *c, const struct yaml_node *n, struct strv *ret)
{
	if (!n || n->kind != YAML_SCALAR)
		return gs_decline(c, n, "a string was expected");
	if (n->tag)
		return gs_decline(c, n, "a tagged scalar");
	if (n->style == YAML_PLAIN && gs_plain_type(n->str, n->len) != PT_STR)
		return gs_decline(c, n, "a plain scalar Psych may not read as a string");
	if (memchr(n->str, '\0', n->len))
		return gs_decline(c, n, "a NUL byte in a string");
	*ret = strv_make(n->str, n->len);
	return 0;
}

/* A String or nil: *has tells which. */
static int gs_opt_str(struct gs_ctx *c, const struct yaml_node *n, struct strv *ret, bool *has)
{
	*has = false;
	if (gs_is_null(n))
		return 0;
	*has = true;
	return gs_str(c, n, ret);
}

/* An Array of Strings; nil reads as [] (the getters' `||= []`). */
static int gs_list(struct gs_ctx *c, const struct yaml_node *n, struct gs_list *ret)
{
	*ret = (struct gs_list){ 0 };
	if (gs_is_null(n))
		return 0;
	if (n->kind != YAML_SEQ || n->tag)
		return gs_decline(c, n, "a list of strings was expected");
	if (n->n > GS_LIST_MAX)
		return gs_decline(c, n, "a list over the limit");
	ret->v = arena_alloc(c->a, (n->n + 1) * sizeof(*ret->v));
	ret->len = arena_alloc(c->a, (n->n + 1) * sizeof(*ret->len));
	for (size_t i = 0; i < n->n; i++) {
		struct strv s;
		int r = gs_str(c, n->items[i], &s);
		if (r < 0)
			return r;
		ret->v[i] = s.p;
		ret->len[i] = s.len;
	}
	ret->n = n->n;
	return 0;
}

/* Gem::Version as loaded: its text, kept as written; digits, letters and dots only. */
static int gs_version(struct gs_ctx *c, const struct yaml_node *n, const char **ret)
{
	if (!n || n->kind != YAML_MAP || !n->tag || strcmp(n->tag, TAG_VERSION) || n->n != 1)
		return gs_decline(c, n, "a Gem::Version of another shape");
	struct strv v;
	const struct yaml_node *k = n->keys[0];
	if (k->tag || k->len != 7 || memcmp(k->str, "version", 7))
		return gs_decline(c, n, "a Gem::Version of another shape");
	int r = gs_str(c, n->items[0], &v);
	if (r < 0)
		return r;
	/* [0-9]+(\.[0-9A-Za-z]+)*: what Gem::Version reads as written */
	bool ok = v.len > 0 && v.len <= 128 && gs_digit(v.p[0]);
	bool dot = false;
	for (size_t i = 0; ok && i < v.len; i++) {
		char ch = v.p[i];
		if (ch == '.') {
			ok = !dot && i + 1 < v.len;
			dot = true;
		} else {
			ok = gs_digit(ch) || (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z');
			dot = false;
		}
	}
	if (!ok)
		return gs_decline(c, n, "a version outside digits, letters and dots");
	*ret = arena_strv(c->a, v);
	return 0;
}

static bool gs_op_ok(struct strv op)
{
	static const char *const ops[] = { "=", "!=", ">", "<", ">=", "<=", "~>" };
	for (size_t i = 0; i < sizeof(ops) / sizeof(ops[0]); i++)
		if (strv_eq_cstr(op, ops[i]))
			return true;
	return false;
}

/* Gem::Requirement as loaded; nil reads as the default (">= 0"). */
static int gs_requirement(struct gs_ctx *c, const struct yaml_node *n, struct gs_req *ret)
{
	*ret = (struct gs_req){ 0 };
	if (gs_is_null(n)) {
		ret->ops = arena_alloc(c->a, sizeof(*ret->ops));
		ret->versions = arena_alloc(c->a, sizeof(*ret->versions));
		ret->ops[0] = ">=";
		ret->versions[0] = "0";
		ret->n = 1;
		return 0;
	}
	if (n->kind != YAML_MAP || !n->tag || strcmp(n->tag, TAG_REQUIREMENT) || n->n != 1)
		return gs_decline(c, n, "a Gem::Requirement of another shape");
	const struct yaml_node *k = n->keys[0], *l = n->items[0];
	if (k->tag || k->len != 12 || memcmp(k->str, "requirements", 12))
		return gs_decline(c, n, "a Gem::Requirement of another shape");
	if (l->kind != YAML_SEQ || l->tag || l->n == 0 || l->n > 64)
		return gs_decline(c, l, "a requirement list of another shape");
	ret->ops = arena_alloc(c->a, l->n * sizeof(*ret->ops));
	ret->versions = arena_alloc(c->a, l->n * sizeof(*ret->versions));
	for (size_t i = 0; i < l->n; i++) {
		const struct yaml_node *p = l->items[i];
		struct strv op;
		if (p->kind != YAML_SEQ || p->tag || p->n != 2)
			return gs_decline(c, p, "a requirement of another shape");
		int r = gs_str(c, p->items[0], &op);
		if (r < 0)
			return r;
		if (!gs_op_ok(op))
			return gs_decline(c, p, "an unknown requirement operator");
		r = gs_version(c, p->items[1], &ret->versions[i]);
		if (r < 0)
			return r;
		ret->ops[i] = arena_strv(c->a, op);
	}
	ret->n = l->n;
	return 0;
}

/* Gem::Requirement#== Gem::Requirement.default: one ">=" of a version equal to 0. */
static bool gs_req_is_default(const struct gs_req *q)
{
	if (q->n != 1 || strcmp(q->ops[0], ">="))
		return false;
	for (const char *p = q->versions[0]; *p; p++)
		if (*p != '0' && *p != '.')
			return false;
	return true;
}

static bool gs_name_ok(struct strv s)
{
	if (s.len == 0 || s.len > 256)
		return false;
	for (size_t i = 0; i < s.len; i++) {
		char ch = s.p[i];
		if (!(gs_digit(ch) || (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
		      ch == '.' || ch == '-' || ch == '_'))
			return false;
	}
	return true;
}

static int gs_dependency(struct gs_ctx *c, const struct yaml_node *n, struct gs_dep *ret)
{
	const struct yaml_node *name = NULL, *req = NULL, *type = NULL;
	if (n->kind != YAML_MAP || !n->tag || strcmp(n->tag, TAG_DEPENDENCY))
		return gs_decline(c, n, "a dependency of another shape");
	for (size_t i = 0; i < n->n; i++) {
		const struct yaml_node *k = n->keys[i], *v = n->items[i];
		if (k->tag || k->style != YAML_PLAIN)
			return gs_decline(c, k, "a dependency key of another shape");
		if (!strcmp(k->str, "name"))
			name = v;
		else if (!strcmp(k->str, "requirement"))
			req = v;
		else if (!strcmp(k->str, "type"))
			type = v;
		else if (!strcmp(k->str, "prerelease")) {
			if (v->kind != YAML_SCALAR || v->tag || v->style != YAML_PLAIN ||
			    (strcmp(v->str, "true") && strcmp(v->str, "false")))
				return gs_decline(c, v,
						  "a dependency's prerelease of another shape");
		} else if (!strcmp(k->str, "version_requirements")) {
			struct gs_req ignored; /* read only when requirement is not set */
			int r = gs_requirement(c, v, &ignored);
			if (r < 0)
				return r;
		} else
			return gs_decline(c, k, "an unknown dependency key");
	}
	struct strv s;
	int r = gs_str(c, name, &s);
	if (r < 0)
		return r;
	if (!gs_name_ok(s))
		return gs_decline(c, name, "a dependency name outside the gem name characters");
	ret->name = arena_strv(c->a, s);
	if (!req || gs_is_null(req))
		return gs_decline(c, n, "a dependency without its requirement");
	r = gs_requirement(c, req, &ret->req);
	if (r < 0)
		return r;
	ret->development = false;
	if (type && !gs_is_null(type)) {
		if (type->kind != YAML_SCALAR || type->tag || type->style != YAML_PLAIN)
			return gs_decline(c, type, "a dependency type of another shape");
		if (!strcmp(type->str, ":development"))
			ret->development = true;
		else if (strcmp(type->str, ":runtime"))
			return gs_decline(c, type, "an unknown dependency type");
	}
	return 0;
}

static int gs_days(int y, int m)
{
	static const int d[] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
	if (m == 2 && ((y % 4 == 0 && y % 100 != 0) || y % 400 == 0))
		return 29;
	return d[m - 1];
}

static int gs_num(const char *s, size_t n)
{
	int v = 0;
	for (size_t i = 0; i < n; i++) {
		if (!gs_digit(s[i]))
			return -1;
		v = v * 10 + (s[i] - '0');
	}
	return v;
}

/*
 * The date as `date=` keeps it: Psych reads "YYYY-MM-DD HH:MM:SS.N Z" as a
 * UTC Time and "YYYY-MM-DD" as a Date; both keep their day. Other forms
 * (a zone offset reads in the local zone) are declined.
 */
static int gs_date(struct gs_ctx *c, const struct yaml_node *n, struct gs_spec *s)
{
	if (gs_is_null(n) || n->kind != YAML_SCALAR || n->tag || n->style != YAML_PLAIN)
		return gs_decline(c, n, "a date of another form");
	const char *p = n->str;
	size_t len = n->len;
	if (len < 10 || p[4] != '-' || p[7] != '-')
		return gs_decline(c, n, "a date of another form");
	int y = gs_num(p, 4), m = gs_num(p + 5, 2), d = gs_num(p + 8, 2);
	if (y < 1000 || m < 1 || m > 12 || d < 1 || d > gs_days(y, m))
		return gs_decline(c, n, "a date of another form");
	if (len > 10) {
		/* " HH:MM:SS" then "." digits, then " Z" or "Z" */
		size_t i = 10;
		if (len < 21 || p[i] != ' ' || p[i + 3] != ':' || p[i + 6] != ':')
			return gs_decline(c, n, "a date of another form");
		int hh = gs_num(p + 11, 2), mm = gs_num(p + 14, 2), ss = gs_num(p + 17, 2);
		if (hh < 0 || hh > 23 || mm < 0 || mm > 59 || ss < 0 || ss > 59)
			return gs_decline(c, n, "a date of another form");
		i = 19;
		if (p[i] != '.')
			return gs_decline(c, n, "a date of another form");
		i++;
		size_t f = i;
		while (i < len && gs_digit(p[i]))
			i++;
		if (i == f || i - f > 9)
			return gs_decline(c, n, "a date of another form");
		if (i < len && p[i] == ' ')
			i++;
		if (i + 1 != len || p[i] != 'Z')
			return gs_decline(c, n, "a date of another form");
	}
	s->date_y = y;
	s->date_m = m;
	s->date_d = d;
	return 0;
}

static bool gs_platform_ok(const char *p)
{
	/* Gem::Platform.new(p).to_s == p for these; others are declined. */
	static const char *const known[] = {
		"x86_64-linux",	     "aarch64-linux",	   "x86_64-darwin",    "arm64-darwin",
		"x86-mingw32",	     "x64-mingw32",	   "x64-mingw-ucrt",   "java",
		"x86_64-linux-musl", "aarch64-linux-musl", "universal-darwin", "x86-linux",
		"arm-linux",
	};
	for (size_t i = 0; i < sizeof(known) / sizeof(known[0]); i++)
		if (!strcmp(p, known[i]))
			return true;
	return false;
}

struct gs_pair {
	struct strv k, v;
};

static int gs_cmp_pair(const void *a, const void *b)
{
	return strv_cmp(((const struct gs_pair *)a)->k, ((const struct gs_pair *)b)->k);
}

static int gs_cmp_dep(const void *a, const void *b)
{
	return strcmp((*(const struct gs_dep *const *)a)->name,
		      (*(const struct gs_dep *const *)b)->name);
}

static int gs_metadata(struct gs_ctx *c, const struct yaml_node *n, struct gs_spec *s)
{
	s->meta_keys = s->meta_vals = (struct gs_list){ 0 };
	if (gs_is_null(n))
		return 0;
	if (n->kind != YAML_MAP || n->tag || n->n > GS_LIST_MAX)
		return gs_decline(c, n, "metadata of another shape");
	s->meta_keys.v = arena_alloc(c->a, (n->n + 1) * sizeof(char *));
	s->meta_keys.len = arena_alloc(c->a, (n->n + 1) * sizeof(size_t));
	s->meta_vals.v = arena_alloc(c->a, (n->n + 1) * sizeof(char *));
	s->meta_vals.len = arena_alloc(c->a, (n->n + 1) * sizeof(size_t));
	struct gs_pair *pairs = arena_alloc(c->a, (n->n + 1) * sizeof(*pairs));
	for (size_t i = 0; i < n->n; i++) {
		struct strv k, v;
		int r = gs_str(c, n->keys[i], &k);
		if (r < 0)
			return r;
		if (strv_eq_cstr(k, "<<"))
			return gs_decline(c, n->keys[i], "a merge key in metadata");
		r = gs_str(c, n->items[i], &v);
		if (r < 0)
			return r;
		pairs[i].k = k;
		pairs[i].v = v;
	}
	/* keys sorted by their bytes (Ruby's String#<=>); the parser refuses a key written twice */
	qsort(pairs, n->n, sizeof(*pairs), gs_cmp_pair);
	for (size_t i = 0; i < n->n; i++) {
		s->meta_keys.v[i] = pairs[i].k.p;
		s->meta_keys.len[i] = pairs[i].k.len;
		s->meta_vals.v[i] = pairs[i].v.p;
		s->meta_vals.len[i] = pairs[i].v.len;
	}
	s->meta_keys.n = s->meta_vals.n = n->n;
	return 0;
}

/* ---- from_yaml ---- */

static int gs_read(struct gs_ctx *c, const struct yaml_node *root, struct gs_spec *s)
{
	const struct yaml_node *name = NULL, *version = NULL, *platform = NULL, *date = NULL,
			       *summary = NULL, *specv = NULL;
	bool seen_req_paths = false;
	int r = 0;

	memset(s, 0, sizeof(*s));
	if (!root || root->kind != YAML_MAP || !root->tag || strcmp(root->tag, TAG_SPEC))
		return gs_decline(c, root, "the document is not a Gem::Specification");
	s->bindir = strv_from("bin");
	s->required_ruby_version.n = s->required_rubygems_version.n = 0;
	for (size_t i = 0; i < root->n && r == 0; i++) {
		const struct yaml_node *k = root->keys[i], *v = root->items[i];
		if (k->tag || k->style != YAML_PLAIN)
			return gs_decline(c, k, "a key of another shape");
		const char *key = k->str;
		bool has;
		if (!strcmp(key, "name"))
			name = v;
		else if (!strcmp(key, "version"))
			version = v;
		else if (!strcmp(key, "platform"))
			platform = v;
		else if (!strcmp(key, "date"))
			date = v;
		else if (!strcmp(key, "summary"))
			summary = v;
		else if (!strcmp(key, "specification_version"))
			specv = v;
		else if (!strcmp(key, "authors"))
			r = gs_list(c, v, &s->authors);
		else if (!strcmp(key, "cert_chain"))
			r = gs_list(c, v, &s->cert_chain);
		else if (!strcmp(key, "executables"))
			r = gs_list(c, v, &s->executables);
		else if (!strcmp(key, "extensions"))
			r = gs_list(c, v, &s->extensions);
		else if (!strcmp(key, "extra_rdoc_files"))
			r = gs_list(c, v, &s->extra_rdoc_files);
		else if (!strcmp(key, "licenses"))
			r = gs_list(c, v, &s->licenses);
		else if (!strcmp(key, "rdoc_options"))
			r = gs_list(c, v, &s->rdoc_options);
		else if (!strcmp(key, "requirements"))
			r = gs_list(c, v, &s->requirements);
		else if (!strcmp(key, "require_paths")) {
			r = gs_list(c, v, &s->require_paths);
			seen_req_paths = !gs_is_null(v);
		} else if (!strcmp(key, "autorequire"))
			r = gs_opt_str(c, v, &s->autorequire, &s->has_autorequire);
		else if (!strcmp(key, "bindir")) {
			struct strv b;
			r = gs_opt_str(c, v, &b, &has);
			if (r == 0 && has)
				s->bindir = b;
		} else if (!strcmp(key, "description"))
			r = gs_opt_str(c, v, &s->description, &s->has_description);
		else if (!strcmp(key, "homepage"))
			r = gs_opt_str(c, v, &s->homepage, &s->has_homepage);
		else if (!strcmp(key, "post_install_message"))
			r = gs_opt_str(c, v, &s->post_install_message,
				       &s->has_post_install_message);
		else if (!strcmp(key, "signing_key"))
			r = gs_opt_str(c, v, &s->signing_key, &s->has_signing_key);
		else if (!strcmp(key, "email")) {
			if (v && v->kind == YAML_SEQ) {
				s->email_is_list = true;
				s->has_email = true;
				r = gs_list(c, v, &s->email_list);
			} else
				r = gs_opt_str(c, v, &s->email, &s->has_email);
		} else if (!strcmp(key, "metadata"))
			r = gs_metadata(c, v, s);
		else if (!strcmp(key, "required_ruby_version"))
			r = gs_requirement(c, v, &s->required_ruby_version);
		else if (!strcmp(key, "required_rubygems_version"))
			r = gs_requirement(c, v, &s->required_rubygems_version);
		else if (!strcmp(key, "dependencies")) {
			if (gs_is_null(v))
				continue;
			if (v->kind != YAML_SEQ || v->tag || v->n > GS_LIST_MAX)
				return gs_decline(c, v, "dependencies of another shape");
			s->deps = arena_alloc(c->a, (v->n + 1) * sizeof(*s->deps));
			for (size_t j = 0; j < v->n && r == 0; j++)
				r = gs_dependency(c, v->items[j], &s->deps[j]);
			s->ndeps = v->n;
		} else if (!strcmp(key, "files") || !strcmp(key, "test_files")) {
			/* for_cache sets both to nil: only their shape matters. */
			struct gs_list ignored;
			r = gs_list(c, v, &ignored);
		} else if (!strcmp(key, "rubygems_version") || !strcmp(key, "has_rdoc")) {
			/*
			 * mark_version overwrites the first; to_ruby never writes the
			 * second. Psych still loads them: a Symbol or a bad number
			 * fails the helper's load, so only strings, nil and (for
			 * has_rdoc) booleans are taken.
			 */
			if (v->kind != YAML_SCALAR || v->tag)
				return gs_decline(c, v, "a scalar was expected");
			if (v->style == YAML_PLAIN && gs_plain_type(v->str, v->len) == PT_OTHER &&
			    !(key[0] == 'h' && (gs_ieq(v->str, v->len, "true") ||
						gs_ieq(v->str, v->len, "false"))))
				return gs_decline(c, v, "a value Psych does not load as a string");
		} else
			return gs_decline(c, k, "an unknown key");
	}
	if (r < 0)
		return r;
	if (!s->required_ruby_version.n &&
	    (r = gs_requirement(c, NULL, &s->required_ruby_version)) < 0)
		return r;
	if (!s->required_rubygems_version.n &&
	    (r = gs_requirement(c, NULL, &s->required_rubygems_version)) < 0)
		return r;

	struct strv sv;
	if ((r = gs_str(c, name, &sv)) < 0)
		return r;
	if (!gs_name_ok(sv))
		return gs_decline(c, name, "a name outside the gem name characters");
	s->name = arena_strv(c->a, sv);
	if ((r = gs_version(c, version, &s->version)) < 0)
		return r;
	if (!platform || (r = gs_str(c, platform, &sv)) < 0)
		return r < 0 ? r : gs_decline(c, root, "no platform");
	s->platform = arena_strv(c->a, sv);
	if (strcmp(s->platform, "ruby") && !gs_platform_ok(s->platform))
		return gs_decline(c, platform, "a platform not known to keep its text");
	if (!date)
		return gs_decline(c, root, "no date");
	if ((r = gs_date(c, date, s)) < 0)
		return r;
	if (gs_is_null(summary))
		return gs_decline(c, summary ? summary : root, "no summary");
	if ((r = gs_str(c, summary, &s->summary)) < 0)
		return r;
	s->specification_version = -1;
	if (!gs_is_null(specv)) {
		if (specv->kind != YAML_SCALAR || specv->tag || specv->style != YAML_PLAIN ||
		    specv->len == 0 || specv->len > 6 || (specv->str[0] == '0' && specv->len > 1) ||
		    gs_num(specv->str, specv->len) < 0)
			return gs_decline(c, specv, "a specification_version of another form");
		s->specification_version = gs_num(specv->str, specv->len);
	}
	if (!seen_req_paths) {
		s->require_paths.v = arena_alloc(c->a, sizeof(char *));
		s->require_paths.len = arena_alloc(c->a, sizeof(size_t));
		s->require_paths.v[0] = "lib";
		s->require_paths.len[0] = 3;
		s->require_paths.n = 1;
	}
	/* File.join(bindir, exe): only where that is plain concatenation. */
	if (s->bindir.len == 0 || s->bindir.p[s->bindir.len - 1] == '/' || s->bindir.p[0] == '/')
		return gs_decline(c, root, "a bindir File.join would change");
	for (size_t i = 0; i < s->executables.n; i++)
		if (!s->executables.len[i] || s->executables.v[i][0] == '/' ||
		    s->executables.v[i][s->executables.len[i] - 1] == '/')
			return gs_decline(c, root, "an executable File.join would change");
	/* runtime_dependencies.sort_by(&:name) is not stable: no two with one name. */
	s->runtime = arena_alloc(c->a, (s->ndeps + 1) * sizeof(*s->runtime));
	for (size_t i = 0; i < s->ndeps; i++)
		if (!s->deps[i].development)
			s->runtime[s->nruntime++] = &s->deps[i];
	qsort(s->runtime, s->nruntime, sizeof(*s->runtime), gs_cmp_dep);
	for (size_t i = 1; i < s->nruntime; i++)
		if (!strcmp(s->runtime[i - 1]->name, s->runtime[i]->name))
			return gs_decline(c, root, "two runtime dependencies of one name");
	return 0;
}

/* ---- writing ---- */

int gemspec_dump(struct sbuf *out, struct strv s)
{
	static const char hex[] = "0123456789ABCDEF";
	int r = sbuf_addch(out, '"');

	for (size_t i = 0; i < s.len && r == 0; i++) {
		unsigned char ch = (unsigned char)s.p[i];
		char esc = 0;
		switch (ch) {
		case '"':
			esc = '"';
			break;
		case '\\':
			esc = '\\';
			break;
		case '\n':
			esc = 'n';
			break;
		case '\r':
			esc = 'r';
			break;
		case '\t':
			esc = 't';
			break;
		case '\f':
			esc = 'f';
			break;
		case '\v':
			esc = 'v';
			break;
		case '\b':
			esc = 'b';
			break;
		case '\a':
			esc = 'a';
			break;
		case 033:
			esc = 'e';
			break;
		case '#':
			if (i + 1 < s.len &&
			    (s.p[i + 1] == '{' || s.p[i + 1] == '$' || s.p[i + 1] == '@'))
				esc = '#';
			break;
		default:
			break;
		}
		if (esc) {
			char e[2] = { '\\', esc };
			r = sbuf_add(out, e, 2);
			continue;
		}
		if (ch >= 0x20 && ch < 0x7f) {
			r = sbuf_addch(out, (char)ch);
			continue;
		}
		if (ch < 0x80) {
			char e[4] = { '\\', 'x', hex[ch >> 4], hex[ch & 15] };
			r = sbuf_add(out, e, 4);
			continue;
		}
		/* UTF-8: decoded strictly (no overlong forms, surrogates or > U+10FFFF). */
		uint32_t cp;
		size_t need;
		if (ch >= 0xc2 && ch <= 0xdf) {
			cp = ch & 0x1f;
			need = 1;
		} else if (ch >= 0xe0 && ch <= 0xef) {
			cp = ch & 0x0f;
			need = 2;
		} else if (ch >= 0xf0 && ch <= 0xf4) {
			cp = ch & 0x07;
			need = 3;
		} else
			return -SC_EUNSUPPORTED;
		if (i + need >= s.len)
			return -SC_EUNSUPPORTED;
		for (size_t k = 1; k <= need; k++) {
			unsigned char cc = (unsigned char)s.p[i + k];
			if ((cc & 0xc0) != 0x80)
				return -SC_EUNSUPPORTED;
			cp = (cp << 6) | (cc & 0x3f);
		}
		if ((need == 2 && cp < 0x800) || (need == 3 && (cp < 0x10000 || cp > 0x10ffff)) ||
		    (cp >= 0xd800 && cp <= 0xdfff))
			return -SC_EUNSUPPORTED;
		i += need;
		if (cp < 0x10000)
			r = sbuf_addf(out, "\\u%04X", (unsigned)cp);
		else
			r = sbuf_addf(out, "\\u{%X}", (unsigned)cp);
	}
	if (r == 0)
		r = sbuf_addch(out, '"');
	return r;
}

/* ruby_code(String): dump + ".freeze" */
static int gs_code_str(struct sbuf *o, struct strv s)
{
	int r = gemspec_dump(o, s);
	return r < 0 ? r : sbuf_addstr(o, ".freeze");
}

static int gs_code_list(struct sbuf *o, const struct gs_list *l)
{
	int r = sbuf_addch(o, '[');
	for (size_t i = 0; i < l->n && r == 0; i++) {
		if (i)
			r = sbuf_addstr(o, ", ");
		if (r == 0)
			r = gs_code_str(o, strv_make(l->v[i], l->len[i]));
	}
	return r < 0 ? r : sbuf_addch(o, ']');
}

/* ruby_code(Gem::Requirement): Gem::Requirement.new("op v".freeze) or a list of those. */
static int gs_code_req(struct sbuf *o, const struct gs_req *q)
{
	int r = sbuf_addstr(o, "Gem::Requirement.new(");
	if (q->n > 1)
		r |= sbuf_addch(o, '[');
	for (size_t i = 0; i < q->n && r == 0; i++)
		r = sbuf_addf(o, "%s\"%s %s\".freeze", i ? ", " : "", q->ops[i], q->versions[i]);
	if (q->n > 1)
		r |= sbuf_addch(o, ']');
	r |= sbuf_addch(o, ')');
	return r ? -SC_ETOOBIG : 0;
}

/* requirements_list.inspect: ["op v", ...] (the characters need no escape). */
static int gs_inspect_req(struct sbuf *o, const struct gs_req *q)
{
	int r = sbuf_addch(o, '[');
	for (size_t i = 0; i < q->n && r == 0; i++)
		r = sbuf_addf(o, "%s\"%s %s\"", i ? ", " : "", q->ops[i], q->versions[i]);
	return r < 0 ? r : sbuf_addch(o, ']');
}

/* A summary field: the helper refuses a control character, so here it is declined. */
static bool gs_field_ok(struct strv v)
{
	for (size_t i = 0; i < v.len; i++)
		if ((unsigned char)v.p[i] < 0x20 || v.p[i] == 0x7f)
			return false;
	return true;
}

static int gs_summary_list(struct sbuf *o, const char *key, const struct gs_list *l)
{
	int r = sbuf_addstr(o, key);
	r |= sbuf_addch(o, '\t');
	for (size_t i = 0; i < l->n && r == 0; i++) {
		if (!gs_field_ok(strv_make(l->v[i], l->len[i])))
			return -SC_EUNSUPPORTED;
		if (i)
			r = sbuf_addch(o, '\t');
		r |= sbuf_add(o, l->v[i], l->len[i]);
	}
	r |= sbuf_addch(o, '\n');
	return r ? -SC_ETOOBIG : 0;
}

static int gs_cmp_cstr(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static int gs_summary(struct gs_ctx *c, const struct gs_spec *s, struct sbuf *o)
{
	int r;
	if (!gs_field_ok(s->bindir))
		return gs_decline(c, NULL, "a control character in bindir");
	r = sbuf_addf(o, "name\t%s\nversion\t%s\nplatform\t%s\n", s->name, s->version, s->platform);
	if (r < 0)
		return r;
	if ((r = gs_summary_list(o, "require_paths", &s->require_paths)) < 0)
		goto out;
	r = sbuf_addstr(o, "bindir\t");
	r |= sbuf_addv(o, s->bindir);
	r |= sbuf_addch(o, '\n');
	if (r)
		return -SC_ETOOBIG;
	if ((r = gs_summary_list(o, "executables", &s->executables)) < 0)
		goto out;
	if ((r = gs_summary_list(o, "extensions", &s->extensions)) < 0)
		goto out;
	/* runtime dependencies by name (sorted and unique since reading) */
	for (size_t i = 0; i < s->nruntime; i++) {
		const struct gs_dep *d = s->runtime[i];
		r = sbuf_addf(o, "dep\t%s\t", d->name);
		for (size_t k = 0; k < d->req.n && r == 0; k++)
			r = sbuf_addf(o, "%s%s %s", k ? ", " : "", d->req.ops[k],
				      d->req.versions[k]);
		if (r == 0)
			r = sbuf_addch(o, '\n');
		if (r < 0)
			return r;
	}
	return 0;
out:
	return r == -SC_EUNSUPPORTED ? gs_decline(c, NULL, "a control character in a summary field")
				     : r;
}

/* `files` after for_cache: bindir/executables, extra_rdoc_files, extensions; uniq, sorted. */
static int gs_files(struct gs_ctx *c, const struct gs_spec *s, struct gs_list *ret)
{
	size_t n = s->executables.n + s->extra_rdoc_files.n + s->extensions.n, k = 0;
	const char **v = arena_alloc(c->a, (n + 1) * sizeof(*v));
	for (size_t i = 0; i < s->executables.n; i++)
		v[k++] = arena_printf(c->a, "%.*s/%s", (int)s->bindir.len, s->bindir.p,
				      s->executables.v[i]);
	for (size_t i = 0; i < s->extra_rdoc_files.n; i++)
		v[k++] = s->extra_rdoc_files.v[i];
	for (size_t i = 0; i < s->extensions.n; i++)
		v[k++] = s->extensions.v[i];
	qsort(v, k, sizeof(*v), gs_cmp_cstr);
	size_t u = 0;
	for (size_t i = 0; i < k; i++)
		if (!u || strcmp(v[u - 1], v[i]))
			v[u++] = v[i];
	ret->v = v;
	ret->len = arena_alloc(c->a, (u + 1) * sizeof(size_t));
	for (size_t i = 0; i < u; i++)
		ret->len[i] = strlen(v[i]);
	ret->n = u;
	return 0;
}

static int gs_attr_list(struct sbuf *o, const char *name, const struct gs_list *l)
{
	if (!l->n)
		return 0;
	int r = sbuf_addf(o, "  s.%s = ", name);
	if (r == 0)
		r = gs_code_list(o, l);
	return r < 0 ? r : sbuf_addch(o, '\n');
}

static int gs_attr_str(struct sbuf *o, const char *name, bool has, struct strv v)
{
	if (!has)
		return 0;
	int r = sbuf_addf(o, "  s.%s = ", name);
	if (r == 0)
		r = gs_code_str(o, v);
	return r < 0 ? r : sbuf_addch(o, '\n');
}

static int gs_to_ruby(struct gs_ctx *c, const struct gs_spec *s, const char *rgv, struct sbuf *o)
{
	int r = 0;
	struct gs_list files;

	/* The stub lines: name version platform require_paths joined by NUL. */
	r |= sbuf_addf(o, "# -*- encoding: utf-8 -*-\n# stub: %s %s %s ", s->name, s->version,
		       s->platform);
	for (size_t i = 0; i < s->require_paths.n; i++) {
		if (i)
			r |= sbuf_addch(o, '\0');
		r |= sbuf_add(o, s->require_paths.v[i], s->require_paths.len[i]);
	}
	r |= sbuf_addch(o, '\n');
	if (s->extensions.n) {
		r |= sbuf_addstr(o, "# stub: ");
		for (size_t i = 0; i < s->extensions.n; i++) {
			if (i)
				r |= sbuf_addch(o, '\0');
			r |= sbuf_add(o, s->extensions.v[i], s->extensions.len[i]);
		}
		r |= sbuf_addch(o, '\n');
	}
	r |= sbuf_addstr(o, "\nGem::Specification.new do |s|\n  s.name = ");
	if (r)
		return -SC_ETOOBIG;
	if ((r = gs_code_str(o, strv_from(s->name))) < 0)
		return r;
	r |= sbuf_addstr(o, "\n  s.version = ");
	r |= gemspec_dump(o, strv_from(s->version));
	r |= sbuf_addch(o, '\n');
	if (strcmp(s->platform, "ruby")) {
		r |= sbuf_addstr(o, "  s.platform = ");
		r |= gs_code_str(o, strv_from(s->platform));
		r |= sbuf_addch(o, '\n');
	}
	r |= sbuf_addstr(o, "\n  s.required_rubygems_version = ");
	r |= gs_code_req(o, &s->required_rubygems_version);
	r |= sbuf_addstr(o, " if s.respond_to? :required_rubygems_version=\n");
	if (s->meta_keys.n) {
		r |= sbuf_addstr(o, "  s.metadata = { ");
		for (size_t i = 0; i < s->meta_keys.n; i++) {
			if (i)
				r |= sbuf_addstr(o, ", ");
			r |= gemspec_dump(o, strv_make(s->meta_keys.v[i], s->meta_keys.len[i]));
			r |= sbuf_addstr(o, " => ");
			r |= gemspec_dump(o, strv_make(s->meta_vals.v[i], s->meta_vals.len[i]));
		}
		r |= sbuf_addstr(o, " } if s.respond_to? :metadata=\n");
	}
	r |= sbuf_addstr(o, "  s.require_paths = ");
	r |= gs_code_list(o, &s->require_paths);
	r |= sbuf_addch(o, '\n');
	if (r)
		goto fail;

	/* @@attributes in order, less the handled ones. */
	r |= gs_attr_list(o, "authors", &s->authors);
	r |= gs_attr_str(o, "autorequire", s->has_autorequire, s->autorequire);
	r |= gs_attr_str(o, "bindir", !strv_eq_cstr(s->bindir, "bin"), s->bindir);
	r |= gs_attr_list(o, "cert_chain", &s->cert_chain);
	r |= sbuf_addf(o, "  s.date = \"%04d-%02d-%02d\"\n", s->date_y, s->date_m, s->date_d);
	r |= gs_attr_str(o, "description", s->has_description, s->description);
	if (s->email_is_list) {
		/* an empty list differs from the default nil: written as [] */
		r |= sbuf_addstr(o, "  s.email = ");
		r |= gs_code_list(o, &s->email_list);
		r |= sbuf_addch(o, '\n');
	} else
		r |= gs_attr_str(o, "email", s->has_email, s->email);
	r |= gs_attr_list(o, "executables", &s->executables);
	r |= gs_attr_list(o, "extensions", &s->extensions);
	r |= gs_attr_list(o, "extra_rdoc_files", &s->extra_rdoc_files);
	if (r)
		goto fail;
	gs_files(c, s, &files);
	r |= gs_attr_list(o, "files", &files);
	r |= gs_attr_str(o, "homepage", s->has_homepage, s->homepage);
	r |= gs_attr_list(o, "licenses", &s->licenses);
	r |= gs_attr_str(o, "post_install_message", s->has_post_install_message,
			 s->post_install_message);
	r |= gs_attr_list(o, "rdoc_options", &s->rdoc_options);
	if (!gs_req_is_default(&s->required_ruby_version)) {
		r |= sbuf_addstr(o, "  s.required_ruby_version = ");
		r |= gs_code_req(o, &s->required_ruby_version);
		r |= sbuf_addch(o, '\n');
	}
	r |= gs_attr_list(o, "requirements", &s->requirements);
	r |= sbuf_addf(o, "  s.rubygems_version = \"%s\".freeze\n", rgv);
	r |= gs_attr_str(o, "summary", true, s->summary);
	if (s->has_signing_key)
		r |= gs_attr_str(o, "signing_key", true, s->signing_key);
	r |= sbuf_addf(
		o, "\n  s.installed_by_version = \"%s\" if s.respond_to? :installed_by_version\n",
		rgv);
	if (s->ndeps) {
		r |= sbuf_addf(o,
			       "\n  if s.respond_to? :specification_version then\n"
			       "    s.specification_version = %ld\n  end\n\n"
			       "  if s.respond_to? :add_runtime_dependency then\n",
			       s->specification_version);
		for (size_t i = 0; i < s->ndeps; i++) {
			r |= sbuf_addf(o, "    s.add_%s_dependency(%%q<%s>.freeze, ",
				       s->deps[i].development ? "development" : "runtime",
				       s->deps[i].name);
			r |= gs_inspect_req(o, &s->deps[i].req);
			r |= sbuf_addstr(o, ")\n");
		}
		r |= sbuf_addstr(o, "  else\n");
		for (size_t i = 0; i < s->ndeps; i++) {
			r |= sbuf_addf(o, "    s.add_dependency(%%q<%s>.freeze, ", s->deps[i].name);
			r |= gs_inspect_req(o, &s->deps[i].req);
			r |= sbuf_addstr(o, ")\n");
		}
		r |= sbuf_addstr(o, "  end\n");
	}
	r |= sbuf_addstr(o, "end\n");
	if (!r)
		return 0;
fail:
	/* Only gemspec_dump's refusal of non-UTF-8 or a full buffer get here. */
	if (o->max && o->len + 64 > o->max)
		return -SC_ETOOBIG;
	return gs_decline(c, NULL, "a string that is not valid UTF-8");
}

/* normalize_yaml_input: a text it would change is declined. */
static int gs_text_check(struct gs_ctx *c, struct strv y, const struct yaml_node *date)
{
	static const char pre[] = "--- ";
	if (y.len < 4 || memcmp(y.p, pre, 4))
		return gs_decline(c, NULL, "the YAML does not start with \"--- \"");
	if (memmem(y.p, y.len, " !!null \n", 9))
		return gs_decline(c, NULL, "a \" !!null \" RubyGems rewrites");
	/* ^date: YYYY-MM-DD HH:MM:SS.NZ is rewritten: fine only as the top-level date itself. */
	uint32_t line = 1;
	for (size_t i = 0; i < y.len; i++) {
		if (i == 0 || y.p[i - 1] == '\n') {
			if (y.len - i >= 6 && !memcmp(y.p + i, "date: ", 6) &&
			    (!date || date->line != line)) {
				const char *e = memchr(y.p + i, '\n', y.len - i);
				size_t n = e ? (size_t)(e - (y.p + i)) : y.len - i;
				if (memchr(y.p + i, 'Z', n))
					return gs_decline(c, NULL, "a date line RubyGems rewrites");
			}
		}
		if (y.p[i] == '\n')
			line++;
	}
	return 0;
}

int gemspec_render_tree(struct arena *a, const struct yaml_node *root, struct strv yaml,
			const char *rubygems_version, struct sbuf *out, struct sbuf *why)
{
	struct gs_ctx c = { .a = a, .why = why };
	struct gs_spec s;
	size_t len0 = out->len;
	int r;

	if (!gemspec_rubygems_supported(rubygems_version))
		return gs_decline(&c, NULL,
				  "a RubyGems version this writer was not verified against");
	if ((r = gs_read(&c, root, &s)) < 0)
		return r;
	r = gs_text_check(&c, yaml,
			  root && root->kind == YAML_MAP ? yaml_map_get(root, "date") : NULL);
	if (r == 0)
		r = gs_summary(&c, &s, out);
	if (r == 0)
		r = sbuf_addstr(out, "---gemspec---\n");
	if (r == 0)
		r = gs_to_ruby(&c, &s, rubygems_version, out);
	if (r < 0)
		sbuf_setlen(out, len0);
	return r;
}

int gemspec_render(struct arena *a, struct strv yaml, const char *rubygems_version,
		   struct sbuf *out, struct sbuf *why)
{
	struct yaml_node *root = NULL;
	int r;

	if (!gemspec_rubygems_supported(rubygems_version)) {
		if (why)
			(void)sbuf_addstr(
				why, "a RubyGems version this writer was not verified against");
		return -SC_EUNSUPPORTED;
	}
	if (yaml.len > GEMSPEC_YAML_MAX) {
		if (why)
			(void)sbuf_addstr(why, "metadata larger than the writer takes");
		return -SC_EUNSUPPORTED;
	}
	r = yaml_parse(a, yaml, &root, why);
	if (r < 0)
		return r;
	return gemspec_render_tree(a, root, yaml, rubygems_version, out, why);
}
