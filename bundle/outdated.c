/*
 * outdated.c: see outdated.h.
 */
#include "bundle/outdated.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "base/arena.h"
#include "base/sbuf.h"
#include "bundle/lockfile.h"
#include "bundle/platform.h"
#include "bundle/version.h"

/* Bundler's MatchPlatform#match_platform: can a spec for `spec` be used where `cur` is locked? */
static bool od_platform_ok(const char *spec, const char *cur)
{
	if (!spec || !*spec || !strcmp(spec, "ruby"))
		return true;
	return platform_rank(strv_from(spec), strv_from(cur ? cur : "ruby")) !=
	       PLATFORM_INCOMPATIBLE;
}

static const struct lock_spec *od_find(const struct lockfile *lf, const char *name,
				       const char *platform)
{
	for (size_t s = 0; s < lf->nsources; s++)
		for (size_t i = 0; i < lf->sources[s].nspecs; i++) {
			const struct lock_spec *sp = &lf->sources[s].specs[i];
			if (!strcmp(sp->name, name) && od_platform_ok(sp->platform, platform))
				return sp;
		}
	return NULL;
}

static const struct outdated_avail *od_avail(const struct outdated_avail *av, size_t n,
					     const char *name)
{
	for (size_t i = 0; i < n; i++)
		if (!strcmp(av[i].name, name))
			return &av[i];
	return NULL;
}

static const struct outdated_dep *od_dep(const struct outdated_dep *deps, size_t n,
					 const char *name)
{
	const struct outdated_dep *d = NULL;

	for (size_t i = 0; i < n; i++) /* Bundler's to_h: the last one wins */
		if (!strcmp(deps[i].name, name))
			d = &deps[i];
	return d;
}

/*
 * Gem::Version#segments[idx] as an integer, as Bundler's
 * get_version_semver_portion_value reads it (a string segment is 0).
 */
static long od_segment(const char *v, size_t idx)
{
	size_t k = 0;

	for (const char *p = v; *p;) {
		if (isdigit((unsigned char)*p)) {
			char *end;
			long x = strtol(p, &end, 10);
			if (k++ == idx)
				return x;
			p = end;
		} else if (isalpha((unsigned char)*p)) {
			while (isalpha((unsigned char)*p))
				p++;
			if (k++ == idx)
				return 0;
		} else {
			p++;
		}
	}
	return 0;
}

static bool od_has_filter(const struct outdated_opts *o, const char *f)
{
	for (size_t i = 0; i < o->nfilters; i++)
		if (!strcmp(o->filters[i], f))
			return true;
	return false;
}

/* Bundler's update_present_via_semver_portions. */
static bool od_update_present(const char *cur, const char *act, const struct outdated_opts *o)
{
	long cmaj = od_segment(cur, 0), amaj = od_segment(act, 0);
	bool up = od_has_filter(o, "major") && amaj > cmaj;

	if (!up && (od_has_filter(o, "minor") || od_has_filter(o, "patch")) && cmaj == amaj) {
		long cmin = od_segment(cur, 1), amin = od_segment(act, 1);
		if (od_has_filter(o, "minor"))
			up = amin > cmin;
		if (!up && od_has_filter(o, "patch") && cmin == amin)
			up = od_segment(act, 2) > od_segment(cur, 2);
	}
	return up;
}

/* The newest version of av usable on platform, Bundler's way; NULL if none. */
static const char *od_newest(const struct outdated_avail *av, const char *platform, bool keep_pre)
{
	const char *best = NULL, *best_rel = NULL;
	size_t count = 0;

	for (size_t i = 0; av && i < av->n; i++) {
		if (!od_platform_ok(av->platforms[i], platform) ||
		    !version_valid(strv_from(av->versions[i])))
			continue;
		count++;
		if (!best || version_cmp(strv_from(av->versions[i]), strv_from(best)) > 0)
			best = av->versions[i];
		if (!version_is_prerelease(strv_from(av->versions[i])) &&
		    (!best_rel || version_cmp(strv_from(av->versions[i]), strv_from(best_rel)) > 0))
			best_rel = av->versions[i];
	}
	/* prereleases go only when there is more than one candidate */
	return keep_pre || count <= 1 ? best : best_rel;
}

static int od_spec_cmp(const void *a, const void *b)
{
	const struct lock_spec *const *x = a, *const *y = b;
	int c = strcmp((*x)->name, (*y)->name);

	if (c)
		return c;
	return *x < *y ? -1 : *x > *y; /* stable: the first locked variant */
}

size_t outdated_rows(struct arena *a, const struct lockfile *cur, const struct lockfile *next,
		     const struct outdated_avail *avail, size_t navail,
		     const struct outdated_dep *deps, size_t ndeps, const struct outdated_opts *o,
		     struct outdated_row **ret)
{
	size_t total = 0, n = 0, nrows = 0;

	for (size_t s = 0; s < cur->nsources; s++)
		total += cur->sources[s].nspecs;
	const struct lock_spec **specs = arena_alloc(a, (total + 1) * sizeof(*specs));
	for (size_t s = 0; s < cur->nsources; s++)
		for (size_t i = 0; i < cur->sources[s].nspecs; i++)
			specs[n++] = &cur->sources[s].specs[i];
	qsort(specs, n, sizeof(*specs), od_spec_cmp);
	*ret = arena_alloc(a, (n + 1) * sizeof(**ret));
	for (size_t i = 0; i < n; i++) {
		const struct lock_spec *cs = specs[i];
		if (i && !strcmp(specs[i - 1]->name, cs->name))
			continue;
		bool named = !o->ngems;
		for (size_t g = 0; g < o->ngems && !named; g++)
			named = !strcmp(o->gems[g], cs->name);
		const struct outdated_dep *dep = od_dep(deps, ndeps, cs->name);
		if (!named || (o->only_explicit && !dep))
			continue;
		const struct lock_spec *act = od_find(next, cs->name, cs->platform);
		if (!act)
			continue;
		const char *newest = act->version;
		if (!o->strict && act->source && act->source->kind == LOCK_SRC_GEM) {
			bool keep_pre = o->pre || version_is_prerelease(strv_from(cs->version));
			newest = od_newest(od_avail(avail, navail, cs->name), cs->platform,
					   keep_pre);
		}
		if (!newest || !version_valid(strv_from(newest)) ||
		    !version_valid(strv_from(cs->version)))
			continue;
		if (o->nfilters && !od_update_present(cs->version, newest, o))
			continue;
		if (version_cmp(strv_from(newest), strv_from(cs->version)) <= 0)
			continue;
		(*ret)[nrows++] = (struct outdated_row){ cs->name, cs->version, newest, dep };
	}
	return nrows;
}

/* Is the requirement more than ">= x" / "> x" (Gem::Requirement#specific?)? */
static bool od_specific(const char *reqs)
{
	if (strstr(reqs, ", "))
		return true;
	return !(reqs[0] == '>' && (reqs[1] == ' ' || (reqs[1] == '=' && reqs[2] == ' ')));
}

/* Does the ", "-joined list hold g? */
static bool od_in_groups(const char *groups, const char *g)
{
	size_t len = strlen(g);

	for (const char *p = groups; *p;) {
		const char *e = strstr(p, ", ");
		size_t k = e ? (size_t)(e - p) : strlen(p);
		if (k == len && !memcmp(p, g, len))
			return true;
		p += k;
		if (e)
			p += 2;
	}
	return false;
}

void outdated_format(const struct outdated_row *rows, size_t n, const struct outdated_opts *o,
		     struct sbuf *out)
{
	if (!n) {
		if (o->parseable)
			return;
		if (!o->nfilters) {
			sbuf_addstr(out, "Bundle up to date!\n");
			return;
		}
		sbuf_addstr(out, "No ");
		for (size_t i = 0; i < o->nfilters; i++)
			sbuf_addf(out, "%s%s", i ? " or " : "", o->filters[i]);
		sbuf_addstr(out, " updates to display.\n");
		return;
	}
	if (o->parseable) {
		/* Bundler's groups are "" here: --group matches nothing */
		if (o->group && !o->groups)
			return;
		for (size_t i = 0; i < n; i++) {
			sbuf_addf(out, "%s (newest %s, installed %s", rows[i].name, rows[i].newest,
				  rows[i].current);
			if (rows[i].dep && od_specific(rows[i].dep->reqs))
				sbuf_addf(out, ", requested %s", rows[i].dep->reqs);
			sbuf_addstr(out, ")\n");
		}
		return;
	}
	static const char *const head[5] = { "Gem", "Current", "Latest", "Requested", "Groups" };
	size_t w[5];
	for (size_t c = 0; c < 5; c++)
		w[c] = strlen(head[c]);
	bool *keep = calloc(n, sizeof(*keep));
	if (!keep)
		return;
	for (size_t i = 0; i < n; i++) {
		const char *grp = rows[i].dep ? rows[i].dep->groups : "";
		keep[i] = !o->group || o->groups || od_in_groups(grp, o->group);
		if (!keep[i])
			continue;
		const char *cell[5] = { rows[i].name, rows[i].current, rows[i].newest,
					rows[i].dep ? rows[i].dep->reqs : "", grp };
		for (size_t c = 0; c < 5; c++)
			if (strlen(cell[c]) > w[c])
				w[c] = strlen(cell[c]);
	}
	for (size_t i = 0; i <= n; i++) {
		if (i && !keep[i - 1])
			continue;
		const struct outdated_row *r = i ? &rows[i - 1] : NULL;
		const char *grp = r && r->dep ? r->dep->groups : "";
		const char *cell[5] = { r ? r->name : head[0], r ? r->current : head[1],
					r ? r->newest : head[2],
					r ? (r->dep ? r->dep->reqs : "") : head[3],
					r ? grp : head[4] };
		size_t start = out->len;
		for (size_t c = 0; c < 5; c++)
			sbuf_addf(out, "%s%-*s", c ? "  " : "", (int)w[c], cell[c]);
		while (out->len > start && out->buf[out->len - 1] == ' ')
			out->len--;
		sbuf_setlen(out, out->len);
		sbuf_addch(out, '\n');
	}
	free(keep);
}
