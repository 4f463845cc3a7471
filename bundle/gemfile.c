/*
 * gemfile.c: the parser of the Ruby helper's Gemfile evaluation (the line
 * format is described in gemfile.h).
 *
 * The helper runs the user's Gemfile, which may print or do anything, and
 * its answer is input like any other: each line is split on TABs, each
 * field bounded, each name checked before it is stored, sources referenced
 * by dependencies must have been listed before them, and the whole answer
 * is bounded in lines of each kind. Nothing here does I/O.
 */
#include "bundle/gemfile.h"

#include <errno.h>
#include <stdarg.h>
#include <string.h>

#include "base/arena.h"
#include "base/compiler.h"
#include "base/hex.h"
#include "base/sbuf.h"
#include "bundle/names.h"
#include "bundle/requirement.h"
#include "bundle/version.h"

#define GF_FIELDS_MAX 12

struct gp {
	struct arena *a;
	struct gemfile *gf;
	struct sbuf *errmsg;
	size_t lineno;
	size_t dep_cap, src_cap, opt_cap, file_cap, env_cap;
};

static int gp_fail(struct gp *p, int err, const char *fmt, ...) sc_printf(3, 4);

static int gp_fail(struct gp *p, int err, const char *fmt, ...)
{
	if (p->errmsg) {
		va_list ap;

		(void)sbuf_addf(p->errmsg, "line %zu: ", p->lineno);
		va_start(ap, fmt);
		(void)sbuf_vaddf(p->errmsg, fmt, ap);
		va_end(ap);
	}
	return err;
}

static bool gp_has_ctl(struct strv s)
{
	for (size_t i = 0; i < s.len; i++)
		if ((unsigned char)s.p[i] < 0x20 || s.p[i] == 0x7f)
			return true;
	return false;
}

/* A group or a Gemfile platform name (":mri", ":x64_mingw"): letters, digits, '_', '-', '.'. */
static bool gp_is_symbol(struct strv s)
{
	if (s.len == 0 || s.len > NAMES_GEM_MAX)
		return false;
	for (size_t i = 0; i < s.len; i++) {
		char c = s.p[i];
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == '_' || c == '-' || c == '.'))
			return false;
	}
	return true;
}

static int gp_gem_name(struct gp *p, struct strv name, const char **ret)
{
	const char *why;

	if (names_check_gem(name, &why) < 0)
		return gp_fail(p, -EINVAL, "invalid gem name '%.*s': %s",
			       (int)(name.len > 64 ? 64 : name.len), name.p, why);
	*ret = arena_strv(p->a, name);
	return 0;
}

/* A comma-separated list of symbols ("default,test"); empty gives none. */
static int gp_symbols(struct gp *p, const char *what, struct strv v, const char ***ret, size_t *ret_n)
{
	struct strv item, rest = v;
	const char **list = NULL;
	size_t n = 0, cap = 0;
	bool more;

	*ret = NULL;
	*ret_n = 0;
	if (v.len == 0)
		return 0;
	do {
		more = strv_cut(rest, ',', &item, &rest);
		if (!gp_is_symbol(item))
			return gp_fail(p, -EINVAL, "invalid %s '%.*s'", what,
				       (int)(item.len > 64 ? 64 : item.len), item.p);
		if (n >= GEMFILE_LIST_MAX)
			return gp_fail(p, -E2BIG, "more than %d %ss", GEMFILE_LIST_MAX, what);
		list = arena_grow_array(p->a, list, sizeof(*list), n, &cap);
		list[n++] = arena_strv(p->a, item);
	} while (more);
	*ret = list;
	*ret_n = n;
	return 0;
}

/* "~> 1.0, >= 1.0.1" (each part a RubyGems requirement), or "". */
static int gp_reqs(struct gp *p, struct strv v, const char **ret)
{
	struct strv item, rest = v;
	struct requirement req;
	bool more;

	if (v.len) {
		do {
			more = strv_cut(rest, ',', &item, &rest);
			if (requirement_parse(item, &req) < 0)
				return gp_fail(p, -EINVAL, "invalid requirement '%.*s'",
					       (int)(v.len > 64 ? 64 : v.len), v.p);
		} while (more);
	}
	*ret = arena_strv(p->a, v);
	return 0;
}

static struct gemfile_source *gp_source(struct gemfile *gf, struct strv id)
{
	for (size_t i = 0; i < gf->nsources; i++)
		if (strv_eq_cstr(id, gf->sources[i].id))
			return &gf->sources[i];
	return NULL;
}

static int gp_dep(struct gp *p, struct strv *f, size_t n)
{
	struct gemfile *gf = p->gf;
	struct gemfile_dep d = { 0 };
	int r;

	if (n < 6)
		return gp_fail(p, -EINVAL, "dep line with %zu fields", n);
	if (gf->ndeps >= GEMFILE_DEPS_MAX)
		return gp_fail(p, -E2BIG, "more than %d dependencies", GEMFILE_DEPS_MAX);
	if ((r = gp_gem_name(p, f[1], &d.name)) < 0 || (r = gp_reqs(p, f[2], &d.reqs)) < 0 ||
	    (r = gp_symbols(p, "group", f[3], &d.groups, &d.ngroups)) < 0)
		return r;
	if (!strv_eq_cstr(f[4], "0") && !strv_eq_cstr(f[4], "1"))
		return gp_fail(p, -EINVAL, "platform_ok must be 0 or 1");
	if (!strv_eq_cstr(f[5], "0") && !strv_eq_cstr(f[5], "1"))
		return gp_fail(p, -EINVAL, "pinned must be 0 or 1");
	d.platform_ok = strv_eq_cstr(f[4], "1");
	d.pinned = strv_eq_cstr(f[5], "1");
	if (n > 6 && f[6].len && !strv_eq_cstr(f[6], "0")) {
		d.source = gp_source(gf, f[6]);
		if (!d.source)
			return gp_fail(p, -EINVAL, "dependency '%s' names unknown source '%.*s'",
				       d.name, (int)(f[6].len > 32 ? 32 : f[6].len), f[6].p);
	}
	if (n > 7 && (r = gp_symbols(p, "platform", f[7], &d.platforms, &d.nplatforms)) < 0)
		return r;
	if (n > 8 && f[8].len) {
		if (strv_eq_cstr(f[8], "development"))
			d.development = true;
		else if (!strv_eq_cstr(f[8], "runtime"))
			return gp_fail(p, -EINVAL, "unknown dependency type '%.*s'",
				       (int)(f[8].len > 32 ? 32 : f[8].len), f[8].p);
	}
	if (n > 9 && f[9].len)
		d.location = arena_strv(p->a, f[9]);
	gf->deps = arena_grow_array(p->a, gf->deps, sizeof(*gf->deps), gf->ndeps, &p->dep_cap);
	gf->deps[gf->ndeps++] = d;
	return 0;
}

static int gp_source_line(struct gp *p, struct strv *f, size_t n)
{
	static const char *const kinds[] = {
		[GEMFILE_SRC_GEM] = "gem",
		[GEMFILE_SRC_GIT] = "git",
		[GEMFILE_SRC_PATH] = "path",
		[GEMFILE_SRC_GEMSPEC] = "gemspec",
	};
	struct gemfile *gf = p->gf;
	struct gemfile_source s = { 0 };
	size_t k;

	if (n < 3)
		return gp_fail(p, -EINVAL, "source line with %zu fields", n);
	if (gf->nsources >= GEMFILE_SOURCES_MAX)
		return gp_fail(p, -E2BIG, "more than %d sources", GEMFILE_SOURCES_MAX);
	if (f[1].len == 0 || f[1].len > 32)
		return gp_fail(p, -EINVAL, "bad source id");
	if (gp_source(gf, f[1]))
		return gp_fail(p, -EINVAL, "source '%.*s' listed twice", STRV_ARG(f[1]));
	for (k = 0; k < SC_ARRAY_SIZE(kinds); k++)
		if (strv_eq_cstr(f[2], kinds[k]))
			break;
	if (k == SC_ARRAY_SIZE(kinds))
		return gp_fail(p, -EINVAL, "unknown source kind '%.*s'",
			       (int)(f[2].len > 32 ? 32 : f[2].len), f[2].p);
	s.id = arena_strv(p->a, f[1]);
	s.kind = (enum gemfile_source_kind)k;
	gf->sources =
		arena_grow_array(p->a, gf->sources, sizeof(*gf->sources), gf->nsources, &p->src_cap);
	gf->sources[gf->nsources++] = s;
	return 0;
}

static int gp_source_opt(struct gp *p, struct strv *f, size_t n)
{
	struct gemfile_source *s;
	const char **slot = NULL;
	const char *v;

	if (n < 4)
		return gp_fail(p, -EINVAL, "source_opt line with %zu fields", n);
	s = gp_source(p->gf, f[1]);
	if (!s)
		return gp_fail(p, -EINVAL, "option for unknown source '%.*s'",
			       (int)(f[1].len > 32 ? 32 : f[1].len), f[1].p);
	if (f[3].len == 0)
		return gp_fail(p, -EINVAL, "empty value for '%.*s'",
			       (int)(f[2].len > 32 ? 32 : f[2].len), f[2].p);
	v = arena_strv(p->a, f[3]);
	if (strv_eq_cstr(f[2], "remote")) {
		if (s->nremotes >= GEMFILE_LIST_MAX)
			return gp_fail(p, -E2BIG, "more than %d remotes", GEMFILE_LIST_MAX);
		if (s->kind != GEMFILE_SRC_GEM && s->nremotes)
			return gp_fail(p, -EINVAL, "a %s source has one remote",
				       s->kind == GEMFILE_SRC_GIT ? "git" : "path");
		/* Lines of other sources may come between: no shared capacity. */
		size_t cap = s->nremotes;
		s->remotes =
			arena_grow_array(p->a, s->remotes, sizeof(*s->remotes), s->nremotes, &cap);
		s->remotes[s->nremotes++] = v;
		return 0;
	}
	if (strv_eq_cstr(f[2], "branch"))
		slot = &s->branch;
	else if (strv_eq_cstr(f[2], "tag"))
		slot = &s->tag;
	else if (strv_eq_cstr(f[2], "ref"))
		slot = &s->ref;
	else if (strv_eq_cstr(f[2], "glob"))
		slot = &s->glob;
	else if (strv_eq_cstr(f[2], "development_group"))
		slot = &s->development_group;
	else if (strv_eq_cstr(f[2], "name"))
		return gp_gem_name(p, f[3], &s->name);
	else if (strv_eq_cstr(f[2], "submodules")) {
		s->submodules = strv_eq_cstr(f[3], "true");
		return 0;
	}
	if (!slot)
		return 0; /* an option of a newer helper */
	if (*slot)
		return gp_fail(p, -EINVAL, "option '%.*s' given twice", STRV_ARG(f[2]));
	*slot = v;
	return 0;
}

static int gp_line(struct gp *p, struct strv line)
{
	struct gemfile *gf = p->gf;
	struct strv f[GF_FIELDS_MAX], rest = line;
	size_t n = 0;
	const char **list;
	size_t nlist;
	int r;

	if (line.len == 0)
		return 0;
	while (n < GF_FIELDS_MAX) {
		bool more = strv_cut(rest, '\t', &f[n], &rest);
		if (f[n].len > GEMFILE_FIELD_MAX)
			return gp_fail(p, -E2BIG, "field over %d bytes", GEMFILE_FIELD_MAX);
		if (gp_has_ctl(f[n]))
			return gp_fail(p, -EINVAL, "control character in a field");
		n++;
		if (!more)
			break;
	}
	if (strv_eq_cstr(f[0], "dep"))
		return gp_dep(p, f, n);
	if (strv_eq_cstr(f[0], "source"))
		return gp_source_line(p, f, n);
	if (strv_eq_cstr(f[0], "source_opt"))
		return gp_source_opt(p, f, n);
	if (strv_eq_cstr(f[0], "require")) {
		struct gemfile_dep *d = gf->ndeps ? &gf->deps[gf->ndeps - 1] : NULL;

		if (n < 3 || f[2].len == 0 || !d || !strv_eq_cstr(f[1], d->name))
			return gp_fail(p, -EINVAL, "require line without its dep line");
		if (d->require)
			return gp_fail(p, -EINVAL, "require given twice for '%s'", d->name);
		d->require = strv_eq_cstr(f[2], "-") ? "" : arena_strv(p->a, f[2]);
		return 0;
	}
	if (strv_eq_cstr(f[0], "optional_group")) {
		if (n < 2)
			return gp_fail(p, -EINVAL, "optional_group without a name");
		if (gf->noptional_groups >= GEMFILE_LIST_MAX)
			return gp_fail(p, -E2BIG, "more than %d optional groups", GEMFILE_LIST_MAX);
		r = gp_symbols(p, "group", f[1], &list, &nlist);
		if (r < 0)
			return r;
		if (nlist != 1)
			return gp_fail(p, -EINVAL, "optional_group needs one name");
		gf->optional_groups = arena_grow_array(p->a, gf->optional_groups,
						       sizeof(*gf->optional_groups),
						       gf->noptional_groups, &p->opt_cap);
		gf->optional_groups[gf->noptional_groups++] = list[0];
		return 0;
	}
	if (strv_eq_cstr(f[0], "ruby")) {
		struct gemfile_ruby *rb;

		if (n < 5)
			return gp_fail(p, -EINVAL, "ruby line with %zu fields", n);
		if (gf->ruby)
			return gp_fail(p, -EINVAL, "ruby given twice");
		rb = arena_alloc(p->a, sizeof(*rb));
		*rb = (struct gemfile_ruby){ 0 };
		r = gp_reqs(p, f[1], &rb->requirement);
		if (r < 0)
			return r;
		rb->engine = arena_strv(p->a, f[2]);
		rb->engine_version = arena_strv(p->a, f[3]);
		rb->patchlevel = arena_strv(p->a, f[4]);
		gf->ruby = rb;
		return 0;
	}
	if (strv_eq_cstr(f[0], "file")) {
		if (n < 3 || f[1].len == 0 || (!strv_eq_cstr(f[2], "-") && !hex_is_sha256(f[2].p, f[2].len)))
			return gp_fail(p, -EINVAL, "file line needs a path and a sha256 or '-'");
		if (gf->nfiles >= GEMFILE_FILES_MAX)
			return gp_fail(p, -E2BIG, "more than %d files", GEMFILE_FILES_MAX);
		gf->files = arena_grow_array(p->a, gf->files, sizeof(*gf->files), gf->nfiles,
					     &p->file_cap);
		gf->files[gf->nfiles++] = (struct gemfile_file){
			arena_strv(p->a, f[1]),
			strv_eq_cstr(f[2], "-") ? NULL : arena_strv(p->a, f[2]),
		};
		return 0;
	}
	if (strv_eq_cstr(f[0], "env")) {
		if (n < 3 || f[1].len == 0 || f[1].len > 256 || memchr(f[1].p, '=', f[1].len) ||
		    (!strv_eq_cstr(f[2], "-") && !hex_is_sha256(f[2].p, f[2].len)))
			return gp_fail(p, -EINVAL, "env line needs a name and a sha256 or '-'");
		if (gf->nenvs >= GEMFILE_ENV_MAX)
			return gp_fail(p, -E2BIG, "more than %d environment variables",
				       GEMFILE_ENV_MAX);
		gf->envs = arena_grow_array(p->a, gf->envs, sizeof(*gf->envs), gf->nenvs,
					    &p->env_cap);
		gf->envs[gf->nenvs++] = (struct gemfile_env){
			arena_strv(p->a, f[1]),
			strv_eq_cstr(f[2], "-") ? NULL : arena_strv(p->a, f[2]),
		};
		return 0;
	}
	if (strv_eq_cstr(f[0], "bundler")) {
		if (n < 2 || !version_valid(f[1]) || f[1].len > NAMES_VERSION_MAX)
			return gp_fail(p, -EINVAL, "bad bundler version");
		gf->bundler_version = arena_strv(p->a, f[1]);
		return 0;
	}
	return 0; /* a line type of a newer helper */
}

int gemfile_parse(struct arena *a, struct strv text, struct gemfile *ret, struct sbuf *errmsg)
{
	struct gp p = { .a = a, .gf = ret, .errmsg = errmsg };
	struct strv rest = text, line;
	int r = 0;

	*ret = (struct gemfile){ 0 };
	if (text.len > GEMFILE_TEXT_MAX) {
		if (errmsg)
			(void)sbuf_addf(errmsg, "answer over %u bytes", GEMFILE_TEXT_MAX);
		return -E2BIG;
	}
	if (memchr(text.p, '\0', text.len)) {
		if (errmsg)
			(void)sbuf_addstr(errmsg, "NUL byte in the answer");
		return -EINVAL;
	}
	while (strv_next_line(&rest, &line)) {
		p.lineno++;
		r = gp_line(&p, line);
		if (r < 0) {
			*ret = (struct gemfile){ 0 };
			return r;
		}
	}
	return 0;
}

const struct gemfile_source *gemfile_source_by_id(const struct gemfile *gf, const char *id)
{
	for (size_t i = 0; i < gf->nsources; i++)
		if (strcmp(gf->sources[i].id, id) == 0)
			return &gf->sources[i];
	return NULL;
}

bool gemfile_dep_in_group(const struct gemfile_dep *dep, const char *g)
{
	for (size_t i = 0; i < dep->ngroups; i++)
		if (strcmp(dep->groups[i], g) == 0)
			return true;
	return false;
}
