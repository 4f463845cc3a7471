/*
 * resolve.c: PubGrub (see resolve.h), after Dart pub's solver.md and the
 * pub_grub gem Bundler vendors.
 *
 * Package 0 is the root (one version). Terms are (bitset, absent_ok) over a
 * package's candidates; the partial solution is a stack of assignments, each
 * keeping the package's accumulated term after it, so backtracking pops and
 * "satisfier" is a scan. Incompatibilities are never removed.
 */
#include "bundle/resolve.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/arena.h"
#include "base/err.h"
#include "base/sbuf.h"
#include "base/strv.h"
#include "bundle/requirement.h"
#include "bundle/version.h"

#define RS_REQS_MAX 16

struct rs_term {
	uint32_t pkg;
	bool absent_ok; /* true: a negative term (set holds what is still allowed) */
	uint64_t *set;
};

enum rs_cause {
	RS_ROOT,	/* the root must be selected */
	RS_DEPENDENCY,	/* pkg at a version depends on dep */
	RS_NO_VERSIONS, /* no candidate in a set */
	RS_DERIVED,	/* from two others during conflict resolution */
};

struct rs_inc {
	struct rs_term *terms;
	size_t n;
	enum rs_cause cause;
	size_t c1, c2;	    /* RS_DERIVED */
	const char *label;  /* RS_DEPENDENCY: the requirement as written */
	const char *origin; /* RS_DEPENDENCY: where it is written, or NULL */
	int line;	    /* explanation: its line number, 0 if not numbered */
	unsigned nder;	    /* explanation: how often the failure's derivation uses it */
};

struct rs_assign {
	struct rs_term t;   /* this assignment's own term */
	struct rs_term acc; /* the package's accumulated term after it */
	int level;
	long cause; /* incompatibility index, -1 for a decision */
	long prev;  /* previous assignment of the same package, -1 */
};

struct rs_pkg {
	const char *name;
	const struct resolve_version *v;
	size_t nv, nw;
	size_t *pref;
	size_t npref;
	bool allow_pre, missing;
	long last;    /* last assignment index, -1 */
	long decided; /* version index, -1 */
	size_t *incs;
	size_t ninc, capinc;
	bool queued;
};

struct rs {
	struct arena *a;
	struct sbuf *err;
	resolve_fetch_fn *fetch;
	void *data;
	struct resolve_limits lim;
	size_t steps;
	struct rs_pkg *pkgs;
	size_t npkgs, cappkgs;
	/* name -> pkg index, open addressing */
	uint32_t *hash;
	size_t hashcap;
	struct rs_inc *incs;
	size_t nincs, capincs;
	struct rs_assign *as;
	size_t nas, capas;
	int level;
};

/* ------------------------------------------------------------ bitsets */

static uint64_t *rs_set_new(struct rs *s, const struct rs_pkg *p)
{
	return arena_alloc(s->a, p->nw * sizeof(uint64_t));
}

static void rs_set_fill(const struct rs_pkg *p, uint64_t *set)
{
	for (size_t i = 0; i < p->nw; i++)
		set[i] = ~(uint64_t)0;
	if (p->nv % 64)
		set[p->nw - 1] = ((uint64_t)1 << (p->nv % 64)) - 1;
	if (p->nv == 0)
		set[0] = 0;
}

static bool rs_bit(const uint64_t *set, size_t i)
{
	return set[i / 64] >> (i % 64) & 1;
}

static size_t rs_count(const struct rs_pkg *p, const uint64_t *set)
{
	size_t n = 0;

	for (size_t i = 0; i < p->nw; i++)
		n += (size_t)__builtin_popcountll(set[i]);
	return n;
}

static bool rs_subset(const struct rs_pkg *p, const uint64_t *a, const uint64_t *b)
{
	for (size_t i = 0; i < p->nw; i++)
		if (a[i] & ~b[i])
			return false;
	return true;
}

static bool rs_disjoint(const struct rs_pkg *p, const uint64_t *a, const uint64_t *b)
{
	for (size_t i = 0; i < p->nw; i++)
		if (a[i] & b[i])
			return false;
	return true;
}

/* ------------------------------------------------------------ terms */

static struct rs_term rs_term_make(struct rs *s, uint32_t pkg, bool absent_ok, bool full)
{
	struct rs_pkg *p = &s->pkgs[pkg];
	struct rs_term t = { .pkg = pkg, .absent_ok = absent_ok, .set = rs_set_new(s, p) };

	if (full)
		rs_set_fill(p, t.set);
	return t;
}

static struct rs_term rs_term_not(struct rs *s, struct rs_term t)
{
	struct rs_pkg *p = &s->pkgs[t.pkg];
	struct rs_term r = rs_term_make(s, t.pkg, !t.absent_ok, true);

	for (size_t i = 0; i < p->nw; i++)
		r.set[i] &= ~t.set[i];
	return r;
}

static struct rs_term rs_term_and(struct rs *s, struct rs_term a, struct rs_term b)
{
	struct rs_pkg *p = &s->pkgs[a.pkg];
	struct rs_term r = rs_term_make(s, a.pkg, a.absent_ok && b.absent_ok, false);

	for (size_t i = 0; i < p->nw; i++)
		r.set[i] = a.set[i] & b.set[i];
	return r;
}

static bool rs_term_empty(struct rs *s, struct rs_term t)
{
	return !t.absent_ok && rs_count(&s->pkgs[t.pkg], t.set) == 0;
}

/* Does a (an accumulated term) imply t? */
static bool rs_implies(struct rs *s, struct rs_term a, struct rs_term t)
{
	return (!a.absent_ok || t.absent_ok) && rs_subset(&s->pkgs[t.pkg], a.set, t.set);
}

static bool rs_excludes(struct rs *s, struct rs_term a, struct rs_term t)
{
	return !(a.absent_ok && t.absent_ok) && rs_disjoint(&s->pkgs[t.pkg], a.set, t.set);
}

/* The package's accumulated term (everything allowed when unassigned). */
static struct rs_term rs_acc(struct rs *s, uint32_t pkg)
{
	struct rs_pkg *p = &s->pkgs[pkg];

	if (p->last >= 0)
		return s->as[p->last].acc;
	return rs_term_make(s, pkg, true, true);
}

/* ------------------------------------------------------------ packages */

static uint32_t rs_hash_str(const char *k)
{
	uint32_t h = 2166136261u;

	for (; *k; k++)
		h = (h ^ (uint8_t)*k) * 16777619u;
	return h;
}

static int rs_hash_put(struct rs *s, uint32_t idx)
{
	if ((s->npkgs + 1) * 2 > s->hashcap) {
		size_t cap = s->hashcap ? s->hashcap * 2 : 256;
		uint32_t *h = arena_alloc(s->a, cap * sizeof(*h));
		memset(h, 0xff, cap * sizeof(*h));
		for (size_t i = 0; i < s->hashcap; i++) {
			if (s->hash[i] == UINT32_MAX)
				continue;
			size_t j = rs_hash_str(s->pkgs[s->hash[i]].name) & (cap - 1);
			while (h[j] != UINT32_MAX)
				j = (j + 1) & (cap - 1);
			h[j] = s->hash[i];
		}
		s->hash = h;
		s->hashcap = cap;
	}
	size_t j = rs_hash_str(s->pkgs[idx].name) & (s->hashcap - 1);
	while (s->hash[j] != UINT32_MAX)
		j = (j + 1) & (s->hashcap - 1);
	s->hash[j] = idx;
	return 0;
}

static long rs_pkg_find(struct rs *s, const char *name)
{
	if (!s->hashcap)
		return -1;
	size_t j = rs_hash_str(name) & (s->hashcap - 1);
	while (s->hash[j] != UINT32_MAX) {
		if (!strcmp(s->pkgs[s->hash[j]].name, name))
			return s->hash[j];
		j = (j + 1) & (s->hashcap - 1);
	}
	return -1;
}

static int rs_pkg_add(struct rs *s, const char *name, const struct resolve_pkg_info *info)
{
	if (s->npkgs >= s->lim.max_packages) {
		sbuf_addf(s->err, "resolution gave up: more than %zu gems", s->lim.max_packages);
		return -E2BIG;
	}
	if (info->nversions > s->lim.max_versions) {
		sbuf_addf(s->err, "resolution gave up: %s has more than %zu versions", name,
			  s->lim.max_versions);
		return -E2BIG;
	}
	s->pkgs = arena_grow_array(s->a, s->pkgs, sizeof(*s->pkgs), s->npkgs, &s->cappkgs);
	struct rs_pkg *p = &s->pkgs[s->npkgs];
	*p = (struct rs_pkg){
		.name = arena_strdup(s->a, name),
		.v = info->versions,
		.nv = info->nversions,
		.nw = info->nversions / 64 + 1,
		.allow_pre = info->allow_pre,
		.missing = info->missing,
		.last = -1,
		.decided = -1,
	};
	p->pref = arena_alloc(s->a, (info->nversions + 1) * sizeof(size_t));
	if (info->pref) {
		for (size_t i = 0; i < info->npref; i++)
			if (info->pref[i] < info->nversions && p->npref < info->nversions)
				p->pref[p->npref++] = info->pref[i];
	} else {
		for (size_t i = 0; i < info->nversions; i++)
			p->pref[p->npref++] = info->nversions - 1 - i;
	}
	rs_hash_put(s, (uint32_t)s->npkgs);
	return (int)s->npkgs++;
}

static long rs_pkg_get(struct rs *s, const char *name)
{
	long k = rs_pkg_find(s, name);

	if (k >= 0)
		return k;
	struct resolve_pkg_info info = { 0 };
	int r = s->fetch(s->data, name, &info, s->err);
	if (r < 0)
		return r;
	for (size_t i = 1; i < info.nversions; i++) {
		if (version_cmp(strv_from(info.versions[i - 1].version),
				strv_from(info.versions[i].version)) >= 0) {
			sbuf_addf(s->err, "versions of %s are not sorted", name);
			return -EINVAL;
		}
	}
	return rs_pkg_add(s, name, &info);
}

/* The versions of p a requirement list ("~> 1.0, >= 1.0.2") allows. */
static int rs_req_set(struct rs *s, struct rs_pkg *p, const char *reqs, uint64_t *ret)
{
	struct requirement r[RS_REQS_MAX];
	int n = requirement_parse_list(strv_from(reqs ? reqs : ""), ',', r, RS_REQS_MAX);
	bool pre = p->allow_pre;

	if (n < 0) {
		sbuf_addf(s->err, "invalid requirement '%s' on %s", reqs, p->name);
		return -EINVAL;
	}
	for (int i = 0; i < n; i++)
		pre |= version_is_prerelease(r[i].version);
	memset(ret, 0, p->nw * sizeof(uint64_t));
	for (size_t i = 0; i < p->nv; i++) {
		struct strv v = strv_from(p->v[i].version);
		if ((pre || !version_is_prerelease(v)) &&
		    requirement_list_satisfied(r, (size_t)n, v))
			ret[i / 64] |= (uint64_t)1 << (i % 64);
	}
	return 0;
}

/* ------------------------------------------------------------ incompatibilities */

static int rs_step(struct rs *s)
{
	if (++s->steps > s->lim.max_steps) {
		sbuf_addf(s->err, "resolution gave up after %zu steps", s->lim.max_steps);
		return -E2BIG;
	}
	return 0;
}

/* Adds an incompatibility (terms merged per package by intersection); returns its index. */
static size_t rs_inc_add(struct rs *s, const struct rs_term *terms, size_t n, enum rs_cause cause,
			 size_t c1, size_t c2, const char *label)
{
	struct rs_term *t = arena_alloc(s->a, (n + 1) * sizeof(*t));
	size_t m = 0;

	for (size_t i = 0; i < n; i++) {
		size_t k = 0;
		while (k < m && t[k].pkg != terms[i].pkg)
			k++;
		if (k < m)
			t[k] = rs_term_and(s, t[k], terms[i]);
		else
			t[m++] = terms[i];
	}
	/* A derived incompatibility does not need "the root is selected". */
	if (cause == RS_DERIVED && m > 1) {
		size_t w = 0;
		for (size_t i = 0; i < m; i++)
			if (!(t[i].pkg == 0 && !t[i].absent_ok))
				t[w++] = t[i];
		m = w;
	}
	s->incs = arena_grow_array(s->a, s->incs, sizeof(*s->incs), s->nincs, &s->capincs);
	size_t idx = s->nincs++;
	s->incs[idx] = (struct rs_inc){
		.terms = t, .n = m, .cause = cause, .c1 = c1, .c2 = c2, .label = label
	};
	for (size_t i = 0; i < m; i++) {
		struct rs_pkg *p = &s->pkgs[t[i].pkg];
		p->incs = arena_grow_array(s->a, p->incs, sizeof(size_t), p->ninc, &p->capinc);
		p->incs[p->ninc++] = idx;
	}
	return idx;
}

/* ------------------------------------------------------------ partial solution */

static void rs_assign(struct rs *s, struct rs_term t, long cause)
{
	struct rs_pkg *p = &s->pkgs[t.pkg];

	s->as = arena_grow_array(s->a, s->as, sizeof(*s->as), s->nas, &s->capas);
	struct rs_assign *x = &s->as[s->nas];
	x->t = t;
	x->prev = p->last;
	x->acc = p->last >= 0 ? rs_term_and(s, s->as[p->last].acc, t) : t;
	x->level = s->level;
	x->cause = cause;
	p->last = (long)s->nas++;
}

static void rs_backtrack(struct rs *s, int level)
{
	while (s->nas && s->as[s->nas - 1].level > level) {
		struct rs_assign *x = &s->as[--s->nas];
		struct rs_pkg *p = &s->pkgs[x->t.pkg];
		p->last = x->prev;
		if (x->cause < 0)
			p->decided = -1;
	}
	s->level = level;
}

/* The first assignment after which the partial solution satisfies t. */
static long rs_satisfier(struct rs *s, struct rs_term t)
{
	for (long i = s->pkgs[t.pkg].last, first = -1; i >= 0; i = s->as[i].prev) {
		if (rs_implies(s, s->as[i].acc, t))
			first = i;
		else
			return first;
		if (s->as[i].prev < 0)
			return first;
	}
	return -1;
}

enum rs_rel {
	RS_SATISFIED,
	RS_CONTRADICTED,
	RS_ALMOST,
	RS_INCONCLUSIVE
};

static enum rs_rel rs_relation(struct rs *s, const struct rs_inc *inc, size_t *ret_unsat)
{
	size_t unsat = SIZE_MAX;

	for (size_t i = 0; i < inc->n; i++) {
		struct rs_term acc = rs_acc(s, inc->terms[i].pkg);
		if (rs_implies(s, acc, inc->terms[i]))
			continue;
		if (rs_excludes(s, acc, inc->terms[i]))
			return RS_CONTRADICTED;
		if (unsat != SIZE_MAX)
			return RS_INCONCLUSIVE;
		unsat = i;
	}
	if (unsat == SIZE_MAX)
		return RS_SATISFIED;
	*ret_unsat = unsat;
	return RS_ALMOST;
}

static bool rs_is_failure(const struct rs_inc *inc)
{
	return inc->n == 0 || (inc->n == 1 && inc->terms[0].pkg == 0 && !inc->terms[0].absent_ok);
}

/* Conflict resolution; returns the root cause's index, or -SC_ECONFLICT / error. */
static long rs_resolve_conflict(struct rs *s, size_t inc_idx)
{
	bool is_new = false;

	for (;;) {
		int r = rs_step(s);
		if (r < 0)
			return r;
		struct rs_inc *inc = &s->incs[inc_idx];
		if (rs_is_failure(inc))
			return -(long)inc_idx - 1 - SC_E__END; /* failure, see rs_solve */
		long sat = -1;
		size_t term_i = 0;
		int prev_level = 1;
		struct rs_term diff = { 0 };
		bool has_diff = false;
		for (size_t i = 0; i < inc->n; i++) {
			long si = rs_satisfier(s, inc->terms[i]);
			if (si < 0)
				si = 0; /* cannot happen for a satisfied incompatibility */
			if (sat < 0) {
				sat = si;
				term_i = i;
			} else if (sat < si) {
				if (s->as[sat].level > prev_level)
					prev_level = s->as[sat].level;
				sat = si;
				term_i = i;
				has_diff = false;
			} else {
				if (s->as[si].level > prev_level)
					prev_level = s->as[si].level;
			}
			if (term_i == i) {
				/* the part of the satisfier's own term outside the
				 * incompatibility's */
				struct rs_term d =
					rs_term_and(s, s->as[sat].t, rs_term_not(s, inc->terms[i]));
				has_diff = !rs_term_empty(s, d);
				if (has_diff) {
					diff = d;
					long ps = rs_satisfier(s, rs_term_not(s, d));
					if (ps >= 0 && s->as[ps].level > prev_level)
						prev_level = s->as[ps].level;
				}
			}
		}
		struct rs_assign *x = &s->as[sat];
		if (prev_level < x->level || x->cause < 0) {
			rs_backtrack(s, prev_level);
			(void)is_new;
			return (long)inc_idx;
		}
		struct rs_inc *cause = &s->incs[x->cause];
		size_t cap = inc->n + cause->n + 1, n = 0;
		struct rs_term *nt = arena_alloc(s->a, cap * sizeof(*nt));
		for (size_t i = 0; i < inc->n; i++)
			if (i != term_i)
				nt[n++] = inc->terms[i];
		for (size_t i = 0; i < cause->n; i++)
			if (cause->terms[i].pkg != x->t.pkg)
				nt[n++] = cause->terms[i];
		if (has_diff)
			nt[n++] = rs_term_not(s, diff);
		inc_idx = rs_inc_add(s, nt, n, RS_DERIVED, inc_idx, (size_t)x->cause, NULL);
		is_new = true;
	}
}

/* Derives from an almost satisfied incompatibility; returns the package changed or -1. */
static long rs_propagate_one(struct rs *s, size_t inc_idx)
{
	size_t u;

	if (rs_relation(s, &s->incs[inc_idx], &u) != RS_ALMOST)
		return -1;
	struct rs_term t = s->incs[inc_idx].terms[u];
	rs_assign(s, rs_term_not(s, t), (long)inc_idx);
	return t.pkg;
}

static long rs_propagate(struct rs *s, uint32_t start)
{
	uint32_t *queue = arena_alloc(s->a, (s->npkgs + 1) * sizeof(*queue));
	size_t nq = 0;

	queue[nq++] = start;
	while (nq) {
		uint32_t pk = queue[--nq];
		s->pkgs[pk].queued = false;
		for (size_t k = s->pkgs[pk].ninc; k-- > 0;) {
			int r = rs_step(s);
			if (r < 0)
				return r;
			size_t ii = s->pkgs[pk].incs[k], u;
			enum rs_rel rel = rs_relation(s, &s->incs[ii], &u);
			if (rel == RS_SATISFIED) {
				long root = rs_resolve_conflict(s, ii);
				if (root < 0)
					return root;
				long changed = rs_propagate_one(s, (size_t)root);
				for (size_t q = 0; q < nq; q++)
					s->pkgs[queue[q]].queued = false;
				nq = 0;
				if (changed >= 0) {
					queue[nq++] = (uint32_t)changed;
					s->pkgs[changed].queued = true;
				}
				break;
			}
			if (rel == RS_ALMOST) {
				uint32_t q = s->incs[ii].terms[u].pkg;
				rs_assign(s, rs_term_not(s, s->incs[ii].terms[u]), (long)ii);
				if (!s->pkgs[q].queued) {
					/* the queue can hold each package once */
					s->pkgs[q].queued = true;
					queue[nq++] = q;
				}
			}
		}
	}
	return 0;
}

/* Picks the next package and version; returns the package, -1 when done, or an error. */
static long rs_decide(struct rs *s)
{
	long best = -1;
	size_t best_n = SIZE_MAX;

	for (size_t i = 0; i < s->npkgs; i++) {
		struct rs_pkg *p = &s->pkgs[i];
		if (p->decided >= 0 || p->last < 0 || s->as[p->last].acc.absent_ok)
			continue;
		size_t n = rs_count(p, s->as[p->last].acc.set);
		if (n < best_n) {
			best = (long)i;
			best_n = n;
		}
	}
	if (best < 0)
		return -1;
	struct rs_pkg *p = &s->pkgs[best];
	struct rs_term acc = s->as[p->last].acc;
	long pick = -1;
	for (size_t i = 0; i < p->npref && pick < 0; i++)
		if (rs_bit(acc.set, p->pref[i]))
			pick = (long)p->pref[i];
	if (pick < 0) {
		struct rs_term t = acc;
		rs_inc_add(s, &t, 1, RS_NO_VERSIONS, 0, 0, NULL);
		return best;
	}
	/* Dependencies of that version; pkgs may move when packages are added. */
	const struct resolve_version *v = &p->v[pick];
	bool conflict = false;
	uint32_t pid = (uint32_t)best;
	for (size_t d = 0; d < v->ndeps; d++) {
		long q = rs_pkg_get(s, v->deps[d].name);
		if (q < 0)
			return q;
		if ((uint32_t)q == pid)
			continue;
		struct rs_term t[2];
		t[0] = rs_term_make(s, pid, false, false);
		t[0].set[pick / 64] |= (uint64_t)1 << (pick % 64);
		t[1] = rs_term_make(s, (uint32_t)q, true, false);
		int r = rs_req_set(s, &s->pkgs[q], v->deps[d].reqs, t[1].set);
		if (r < 0)
			return r;
		t[1] = rs_term_not(s, (struct rs_term){ .pkg = (uint32_t)q, .set = t[1].set });
		/* t[1] is now "q not in the required set" as a negative term. */
		size_t ii = rs_inc_add(s, t, 2, RS_DEPENDENCY, 0, 0, v->deps[d].reqs);
		s->incs[ii].origin = v->deps[d].origin;
		if (rs_implies(s, rs_acc(s, (uint32_t)q), t[1]))
			conflict = true;
	}
	if (!conflict) {
		struct rs_term t = rs_term_make(s, pid, false, false);
		t.set[pick / 64] |= (uint64_t)1 << (pick % 64);
		s->level++;
		rs_assign(s, t, -1);
		s->pkgs[pid].decided = pick;
	}
	return best;
}

/* ------------------------------------------------------------ explanation */

static void rs_set_desc(struct rs *s, const struct rs_pkg *p, const uint64_t *set, struct sbuf *out)
{
	size_t n = rs_count(p, set), lo = SIZE_MAX, hi = 0;

	(void)s;
	if (n == 0) {
		sbuf_addstr(out, "(no version)");
		return;
	}
	for (size_t i = 0; i < p->nv; i++) {
		if (rs_bit(set, i)) {
			if (lo == SIZE_MAX)
				lo = i;
			hi = i;
		}
	}
	if (n == 1) {
		sbuf_addf(out, "= %s", p->v[lo].version);
	} else if (hi - lo + 1 == n) {
		if (lo == 0)
			sbuf_addf(out, "<= %s", p->v[hi].version);
		else if (hi == p->nv - 1)
			sbuf_addf(out, ">= %s", p->v[lo].version);
		else
			sbuf_addf(out, ">= %s, <= %s", p->v[lo].version, p->v[hi].version);
	} else {
		size_t k = 0;
		sbuf_addstr(out, "in {");
		for (size_t i = 0; i < p->nv; i++) {
			if (!rs_bit(set, i))
				continue;
			if (k++ == 6) {
				sbuf_addstr(out, ", ...");
				break;
			}
			sbuf_addf(out, "%s%s", k > 1 ? ", " : "", p->v[i].version);
		}
		sbuf_addstr(out, "}");
	}
}

/* "a >= 1.0" for a positive term, "a" for every version of a. */
static void rs_term_desc(struct rs *s, struct rs_term t, bool positive_view, struct sbuf *out)
{
	const struct rs_pkg *p = &s->pkgs[t.pkg];
	struct rs_term v = positive_view == !t.absent_ok ? t : rs_term_not(s, t);

	if (t.pkg == 0) {
		sbuf_addstr(out, p->name);
		return;
	}
	if (p->nv == 0)
		sbuf_addf(out, "%s (which could not be found in any source)", p->name);
	else if (rs_count(p, v.set) == p->nv)
		sbuf_addf(out, "every version of %s", p->name);
	else {
		sbuf_addf(out, "%s ", p->name);
		rs_set_desc(s, p, v.set, out);
	}
}

static void rs_inc_desc(struct rs *s, const struct rs_inc *inc, struct sbuf *out)
{
	switch (inc->cause) {
	case RS_ROOT:
		sbuf_addf(out, "%s is required", s->pkgs[0].name);
		return;
	case RS_DEPENDENCY: {
		const struct rs_pkg *q = &s->pkgs[inc->terms[1].pkg];
		rs_term_desc(s, inc->terms[0], true, out);
		sbuf_addf(out, " depends on %s%s%s", q->name, inc->label && *inc->label ? " " : "",
			  inc->label && *inc->label ? inc->label : "");
		if (inc->origin)
			sbuf_addf(out, " (%s)", inc->origin);
		return;
	}
	case RS_NO_VERSIONS: {
		const struct rs_pkg *p = &s->pkgs[inc->terms[0].pkg];
		if (p->missing || p->nv == 0)
			sbuf_addf(out, "%s could not be found in any source", p->name);
		else {
			sbuf_addf(out, "no versions of %s match ", p->name);
			rs_set_desc(s, p, inc->terms[0].set, out);
		}
		return;
	}
	case RS_DERIVED:
		break;
	}
	if (rs_is_failure(inc)) {
		sbuf_addstr(out, "version solving has failed");
		return;
	}
	if (inc->n == 1) {
		rs_term_desc(s, inc->terms[0], true, out);
		sbuf_addstr(out, inc->terms[0].absent_ok ? " is required" : " is forbidden");
		return;
	}
	if (inc->n == 2) {
		struct rs_term a = inc->terms[0], b = inc->terms[1];
		if (a.absent_ok && !b.absent_ok) {
			struct rs_term c = a;
			a = b;
			b = c;
		}
		if (!a.absent_ok && b.absent_ok) {
			rs_term_desc(s, a, true, out);
			sbuf_addstr(out, " requires ");
			rs_term_desc(s, b, true, out);
			return;
		}
		if (!a.absent_ok && !b.absent_ok) {
			rs_term_desc(s, a, true, out);
			sbuf_addstr(out, " is incompatible with ");
			rs_term_desc(s, b, true, out);
			return;
		}
	}
	sbuf_addstr(out, "one of ");
	for (size_t i = 0; i < inc->n; i++) {
		sbuf_addstr(out, i ? (i + 1 == inc->n ? " or " : ", ") : "");
		sbuf_addstr(out, inc->terms[i].absent_ok ? "not " : "");
		rs_term_desc(s, inc->terms[i], true, out);
	}
	sbuf_addstr(out, " must be false");
}

/*
 * The report, as pub's (and the pub_grub gem's) FailureWriter writes it:
 * derived incompatibilities used more than once get a line number that later
 * lines refer to; single-cause chains read "And because ..." and
 * conclusions "So, because ..." / "Thus, ...".
 */
struct rs_report {
	struct rs *s;
	struct sbuf *out;
	int lines;
	unsigned depth;
};

static bool rs_derived(const struct rs_inc *inc)
{
	return inc->cause == RS_DERIVED;
}

static void rs_count_derivations(struct rs *s, size_t idx, unsigned depth)
{
	struct rs_inc *inc = &s->incs[idx];

	if (++inc->nder > 1 || !rs_derived(inc) || depth > 10000)
		return;
	rs_count_derivations(s, inc->c1, depth + 1);
	rs_count_derivations(s, inc->c2, depth + 1);
}

static void rs_ref(struct rs_report *w, const struct rs_inc *inc)
{
	rs_inc_desc(w->s, inc, w->out);
	if (inc->line)
		sbuf_addf(w->out, " (%d)", inc->line);
}

/* Ends the line being written (text already in w->out after `start`). */
static void rs_line_end(struct rs_report *w, struct rs_inc *inc, size_t start, bool numbered)
{
	if (numbered) {
		char num[16];
		int n = snprintf(num, sizeof(num), "(%d) ", ++w->lines);
		inc->line = w->lines;
		/* the number goes in front of the line */
		size_t len = w->out->len - start;
		char *tail = malloc(len + 1);
		if (tail) {
			memcpy(tail, w->out->buf + start, len);
			sbuf_setlen(w->out, start);
			sbuf_add(w->out, num, (size_t)n);
			sbuf_add(w->out, tail, len);
			free(tail);
		}
	}
	sbuf_addch(w->out, '\n');
}

static void rs_visit(struct rs_report *w, size_t idx, bool conclusion)
{
	struct rs *s = w->s;
	struct rs_inc *inc = &s->incs[idx];

	if (!rs_derived(inc) || ++w->depth > 500) {
		w->depth--;
		return;
	}
	bool numbered = conclusion || inc->nder > 1;
	const char *conj = numbered ? "So," : "And";
	size_t ci = inc->c1, oi = inc->c2;
	struct rs_inc *c = &s->incs[ci], *o = &s->incs[oi];
	size_t start;

	if (rs_derived(c) && rs_derived(o)) {
		if (c->line && o->line) {
			start = w->out->len;
			sbuf_addstr(w->out, "Because ");
			rs_ref(w, c);
			sbuf_addstr(w->out, " and ");
			rs_ref(w, o);
		} else if (c->line || o->line) {
			struct rs_inc *with = c->line ? c : o;
			rs_visit(w, c->line ? oi : ci, false);
			start = w->out->len;
			sbuf_addf(w->out, "%s because ", conj);
			rs_ref(w, with);
		} else {
			bool single_c =
				!rs_derived(&s->incs[c->c1]) && !rs_derived(&s->incs[c->c2]);
			bool single_o =
				!rs_derived(&s->incs[o->c1]) && !rs_derived(&s->incs[o->c2]);
			if (single_c || single_o) {
				rs_visit(w, single_o ? ci : oi, false);
				rs_visit(w, single_o ? oi : ci, false);
				start = w->out->len;
				sbuf_addstr(w->out, "Thus");
			} else {
				rs_visit(w, ci, true);
				sbuf_addch(w->out, '\n');
				rs_visit(w, oi, false);
				start = w->out->len;
				sbuf_addf(w->out, "%s because ", conj);
				rs_ref(w, c);
			}
		}
	} else if (rs_derived(c) || rs_derived(o)) {
		size_t di = rs_derived(c) ? ci : oi;
		struct rs_inc *d = &s->incs[di], *e = rs_derived(c) ? o : c;
		struct rs_inc *dc = &s->incs[d->c1], *dother = &s->incs[d->c2];
		bool collapsible = d->nder <= 1 && rs_derived(dc) != rs_derived(dother) &&
				   !(rs_derived(dc) ? dc : dother)->line;
		if (d->line) {
			start = w->out->len;
			sbuf_addstr(w->out, "Because ");
			rs_ref(w, e);
			sbuf_addstr(w->out, " and ");
			rs_ref(w, d);
		} else if (collapsible) {
			rs_visit(w, rs_derived(dc) ? d->c1 : d->c2, false);
			start = w->out->len;
			sbuf_addf(w->out, "%s because ", conj);
			rs_ref(w, rs_derived(dc) ? dother : dc);
			sbuf_addstr(w->out, " and ");
			rs_ref(w, e);
		} else {
			rs_visit(w, di, false);
			start = w->out->len;
			sbuf_addf(w->out, "%s because ", conj);
			rs_ref(w, e);
		}
	} else {
		start = w->out->len;
		sbuf_addstr(w->out, "Because ");
		rs_ref(w, c);
		sbuf_addstr(w->out, " and ");
		rs_ref(w, o);
	}
	sbuf_addstr(w->out, ", ");
	rs_inc_desc(s, inc, w->out);
	sbuf_addch(w->out, '.');
	rs_line_end(w, inc, start, numbered && !rs_is_failure(inc));
	w->depth--;
}

/* ------------------------------------------------------------ driver */

static int rs_pick_cmp(const void *a, const void *b)
{
	return strcmp(((const struct resolve_pick *)a)->name,
		      ((const struct resolve_pick *)b)->name);
}

int resolve_run(struct arena *a, const char *root_name, const struct resolve_dep *roots,
		size_t nroots, resolve_fetch_fn *fetch, void *data,
		const struct resolve_limits *limits, struct resolve_result *ret, struct sbuf *err)
{
	struct rs s = { .a = a, .err = err, .fetch = fetch, .data = data };
	struct resolve_version *rootv = arena_alloc(a, sizeof(*rootv));
	long r;

	s.lim.max_packages = limits && limits->max_packages ? limits->max_packages : 20000;
	s.lim.max_versions = limits && limits->max_versions ? limits->max_versions : 20000;
	s.lim.max_steps = limits && limits->max_steps ? limits->max_steps : 2000000;
	*ret = (struct resolve_result){ 0 };
	rootv->version = "root";
	rootv->deps = roots;
	rootv->ndeps = nroots;
	struct resolve_pkg_info ri = { .versions = rootv, .nversions = 1 };
	r = rs_pkg_add(&s, root_name, &ri);
	if (r < 0)
		return (int)r;
	struct rs_term t = rs_term_make(&s, 0, true, false); /* "the root is not selected" */
	rs_inc_add(&s, &t, 1, RS_ROOT, 0, 0, NULL);
	uint32_t next = 0;
	for (;;) {
		r = rs_propagate(&s, next);
		if (r < -(long)SC_E__END) {
			size_t fail = (size_t)(-(r + 1 + SC_E__END));
			struct sbuf ex = SBUF_INIT;
			if (s.incs[fail].cause == RS_DERIVED) {
				struct rs_report w = { .s = &s, .out = &ex };
				rs_count_derivations(&s, fail, 0);
				rs_visit(&w, fail, false);
			} else {
				sbuf_addstr(&ex, "Because ");
				rs_inc_desc(&s, &s.incs[fail], &ex);
				sbuf_addstr(&ex, ", version solving has failed.\n");
			}
			sbuf_addstr(err, "could not find compatible versions\n\n");
			sbuf_addv(err, sbuf_strv(&ex));
			sbuf_rtrim(err);
			sbuf_release(&ex);
			return -SC_ECONFLICT;
		}
		if (r < 0)
			return (int)r;
		if ((r = rs_step(&s)) < 0)
			return (int)r;
		r = rs_decide(&s);
		if (r == -1)
			break;
		if (r < 0)
			return (int)r;
		next = (uint32_t)r;
	}
	ret->picks = arena_alloc(a, (s.npkgs + 1) * sizeof(*ret->picks));
	for (size_t i = 1; i < s.npkgs; i++) {
		struct rs_pkg *p = &s.pkgs[i];
		if (p->decided < 0)
			continue;
		ret->picks[ret->npicks++] =
			(struct resolve_pick){ p->name, p->v[p->decided].version };
	}
	qsort(ret->picks, ret->npicks, sizeof(*ret->picks), rs_pick_cmp);
	return 0;
}

const char *resolve_result_version(const struct resolve_result *r, const char *name)
{
	size_t lo = 0, hi = r->npicks;

	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		int c = strcmp(r->picks[mid].name, name);
		if (!c)
			return r->picks[mid].version;
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

/* ------------------------------------------------------------ GemVersionPromoter */

struct rs_promote {
	const struct resolve_version *v;
	struct strv locked;
	char level;
	bool allow_pre;
};

/* Major and minor segments (as numbers, -1 when absent) of a version. */
static void rs_segments(struct strv v, long seg[2])
{
	seg[0] = seg[1] = -1;
	for (int i = 0; i < 2 && v.len; i++) {
		struct strv head;
		strv_cut(v, '.', &head, &v);
		seg[i] = strtol(head.p, NULL, 10);
	}
}

/* <0 when a is preferred to b (the reverse of GemVersionPromoter's ascending sort). */
static int rs_promote_cmp(const struct rs_promote *c, size_t ia, size_t ib)
{
	struct strv a = strv_from(c->v[ia].version), b = strv_from(c->v[ib].version);
	int asc;

	if (!c->allow_pre) {
		bool ap = version_is_prerelease(a), bp = version_is_prerelease(b);
		if (ap != bp)
			return ap ? 1 : -1;
	}
	if (c->level == 'M' || !c->locked.len) {
		asc = version_cmp(a, b);
	} else if (version_cmp(a, c->locked) < 0 || version_cmp(b, c->locked) < 0) {
		asc = version_cmp(a, b);
	} else {
		long sa[2], sb[2];
		rs_segments(a, sa);
		rs_segments(b, sb);
		if (sa[0] != sb[0] || (c->level == 'p' && sa[1] != sb[1]))
			asc = version_cmp(b, a);
		else
			asc = version_cmp(a, b);
	}
	return -asc;
}

static bool rs_within_level(struct strv v, struct strv locked, char level)
{
	long sv[2], sl[2];

	if (level == 'M')
		return true;
	if (version_cmp(v, locked) < 0)
		return false;
	rs_segments(v, sv);
	rs_segments(locked, sl);
	return sv[0] == sl[0] && (level == 'm' || sv[1] == sl[1]);
}

size_t resolve_promote(const struct resolve_version *versions, size_t *idx, size_t n,
		       const char *locked, char level, bool unlocking, bool strict, bool allow_pre)
{
	struct rs_promote c = { .v = versions,
				.locked = strv_from(locked ? locked : ""),
				.level = level,
				.allow_pre = allow_pre };

	if (strict && locked) {
		size_t w = 0;
		for (size_t i = 0; i < n; i++)
			if (rs_within_level(strv_from(versions[idx[i]].version), c.locked, level))
				idx[w++] = idx[i];
		n = w;
	}
	/* insertion sort: stable and n is bounded by the resolver's limits */
	for (size_t i = 1; i < n; i++) {
		size_t x = idx[i], j = i;
		while (j > 0 && rs_promote_cmp(&c, x, idx[j - 1]) < 0) {
			idx[j] = idx[j - 1];
			j--;
		}
		idx[j] = x;
	}
	/* GemVersionPromoter#post_sort: a gem not being updated keeps its version. */
	if (locked && level != 'M' && !unlocking && !version_is_prerelease(c.locked)) {
		for (size_t i = 0; i < n; i++) {
			if (version_cmp(strv_from(versions[idx[i]].version), c.locked))
				continue;
			size_t x = idx[i];
			memmove(idx + 1, idx, i * sizeof(*idx));
			idx[0] = x;
			break;
		}
	}
	return n;
}
