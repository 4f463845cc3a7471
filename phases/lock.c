/*
 * lock.c: resolution for `scint lock`, `scint update` and an install whose
 * Gemfile changed: the Gemfile's dependencies (gemfile.c), the compact index
 * copies in <cache>/index/<slug>/info/<name> (index.c keeps them), the
 * resolver (bundle/resolve.h), and the lockfile as Bundler 2.3 writes it
 * (bundle/lockfile.h).
 *
 * Rules, as Bundler 2.3.15 applies them:
 *  - candidates: every version with a variant usable on one of the
 *    lockfile's PLATFORMS whose `ruby:` and `rubygems:` requirements the
 *    target Ruby meets; prereleases count but are tried last unless a
 *    Gemfile requirement names one or --pre is given (Molinillo's order;
 *    Bundler 2.4+ drops them instead, which gives the same lock whenever a
 *    release fits);
 *  - Bundler's base (converge_locked_specs): the locked specs reachable
 *    from Gemfile dependencies that their locked version still satisfies
 *    are pinned; a dependency whose locked version no longer fits is
 *    resolved afresh with what only it reaches; unlocked gems (update)
 *    follow GemVersionPromoter (--major/--minor/--patch, --strict) and never
 *    go below their locked version; `update GEM` also unlocks GEM's
 *    dependencies unless --conservative. Where those pins conflict (Bundler
 *    2.3 would stop there) the resolution is run again with the locked
 *    versions only preferred;
 *  - PLATFORMS: the lockfile's, plus the local platform, plus/minus
 *    --add-platform/--remove-platform; each resolved gem is locked with its
 *    best variant per platform (bundle/platform.h ranks);
 *  - cooldown (--cooldown N, BUNDLE_COOLDOWN, Bundler 4's): versions whose
 *    info line says they were published (created_at:) less than N days ago
 *    are not candidates, except the locked version; lines without a date
 *    pass;
 *  - `bundler` resolves to the running Bundler and is never a spec line;
 *    BUNDLED WITH is that Bundler's version.
 * With --local, the gems installed in the bundle path whose cache entry
 * records their dependencies (cached/<abi>/<full_name>.manifest) are
 * candidates too, where the cached index lacks their version and platform.
 * The index is synced first (phases/index_sync.h: the Gemfile's names and
 * their closure; --local reads only the cache, --prefer-local goes to the
 * network only for what the cache lacks), then read from the cache.
 * Sources: the global rubygems source (several remotes are one index, as
 * Bundler 2.3's aggregate, and one GEM section), `source ... do` blocks
 * (Bundler 2.3's SourceMap#all_requirements: a block's dependencies, and
 * every gem of their closure its server has, come from it, the first block
 * winning; what it lacks comes from the global source), path sources
 * (`path:`, `gemspec`: one version per gem, as its gemspec says, loaded by
 * the helper's `gitspecs` without git; their dependencies from the global
 * source), and git sources (lk_git_sources): one the old lockfile has with
 * the same options (lk_git_locked) keeps its section, with no git command;
 * one that is new or changed, or that `update` unlocks (Bundler's
 * converge_locked_specs: none of its gems left in the base), is resolved
 * from its ref/branch/tag or HEAD, fetched and checked out by git.c's
 * probes (git_probe_run) and gets a new section from its gemspecs. Their
 * gems are the only candidates of their names, at their version and deps
 * (those deps come from the global source), and each GIT section is written
 * with the specs the resolution uses. One GEM section per rubygems source,
 * a PATH section per path source, the GIT sections.
 *
 * For `scint outdated` (lock_request.outdated, keep_git): git gems stay at
 * their revision under a full update, and what the index lists for each
 * picked gem and the rounds of Bundler's metadata lookup are handed back.
 *
 * Where Bundler 2.4+ (PubGrub) and 2.3.15 (Molinillo) differ on ordinary
 * graphs, this follows 2.3.15, whose lockfiles the tests compare: 2.3 may
 * pick a prerelease when nothing else fits (2.4 refuses), and 2.3 pins the
 * base strictly where 2.4 only prefers locked versions.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "base/err.h"
#include "base/hmap.h"
#include "base/url.h"
#include "bundle/config.h"
#include "bundle/index.h"
#include "bundle/manifest.h"
#include "bundle/names.h"
#include "bundle/platform.h"
#include "bundle/requirement.h"
#include "bundle/resolve.h"
#include "bundle/version.h"
#include "fsops/fsops.h"
#include "phases/index_sync.h"
#include "phases/phase.h"
#include "phases/session/retry.h"

#define LOCK_VARIANTS_MAX 64
#define LOCK_VERSIONS_MAX 20000 /* the resolver's default limit too */
#define LOCK_DEPS_MAX	  256
#define LOCK_REQS_MAX	  16
#define LOCKFILE_TEXT_MAX (64u << 20)

struct lk_variant {
	const char *platform;
	const char *sha256; /* from the info line, "" if none */
	struct resolve_dep *deps;
	size_t ndeps;
	bool unfit; /* its ruby:/rubygems: requirement excludes the target (lk_load) */
};

struct lk_version {
	const char *version;
	struct lk_variant *var;
	size_t nvar, capvar;
};

struct lk_gem {
	const char *name;
	struct lk_version *vers; /* ascending */
	size_t nvers;
	struct resolve_version *rv;
};

/* The gems of a path source (`path:`, `gemspec`), as their gemspecs say. */
struct lk_path {
	bool is_path;
	struct gem_summary *specs;
	size_t nspecs;
};

struct lk {
	struct install *in;
	const struct lock_request *req;
	const struct gemfile *ev;
	int *info_fds; /* per gem source: [0] the global one, then the scoped ones */
	int *gfds;     /* every remote of the global source ([0] is info_fds[0]) */
	size_t ngfds;
	size_t nsrc;
	struct hmap srcof;     /* name -> source index + 1 (absent: the global source) */
	struct hmap gwant;     /* several global remotes: names wanted from all of them */
	struct lk_path *paths; /* per source: its gems when it is a path source */
	const char **platforms;
	size_t nplatforms;
	struct hmap gems;    /* name -> struct lk_gem */
	struct hmap unlock;  /* name -> "" */
	struct hmap locked;  /* name -> locked version */
	struct hmap pre;     /* names whose Gemfile requirement names a prerelease */
	struct hmap kept;    /* locked gems kept at their version (Bundler's base) */
	struct hmap gitspec; /* name -> const struct lock_spec *: a kept GIT source's gem */
	bool floor;	     /* updating: no version below the locked one */
	bool soft;	     /* retry after a conflict: locked versions only preferred */
	const char *bundler_version;
	long cooldown_days; /* 0: off */
	int64_t now;

	/* --local: name -> struct lk_inst list (lk_installed_load) */
	struct hmap installed;
	bool installed_loaded;
};

static char lk_mark[] = "";

static bool lk_reqs_ok(struct strv reqs, const char *version)
{
	struct requirement r[LOCK_REQS_MAX];
	int n;

	if (!reqs.len)
		return true;
	n = requirement_parse_list(reqs, '&', r, LOCK_REQS_MAX);
	if (n < 0 || !version || !version_valid(strv_from(version)))
		return false;
	return requirement_list_satisfied(r, (size_t)n, strv_from(version));
}

static bool lk_platform_usable(struct lk *k, const char *platform)
{
	for (size_t i = 0; i < k->nplatforms; i++)
		if (platform_rank(strv_from(platform), strv_from(k->platforms[i])) !=
		    PLATFORM_INCOMPATIBLE)
			return true;
	return false;
}

static int lk_version_cmp(const void *a, const void *b)
{
	return version_cmp(strv_from(((const struct lk_version *)a)->version),
			   strv_from(((const struct lk_version *)b)->version));
}

/* The variant of v Bundler locks for platform (the best match), or -1. */
static int lk_best_variant(const struct lk_version *v, const char *platform)
{
	int best = -1, best_rank = PLATFORM_INCOMPATIBLE;

	for (size_t j = 0; j < v->nvar; j++) {
		int rk = platform_rank(strv_from(v->var[j].platform), strv_from(platform));
		if (rk > best_rank) {
			best_rank = rk;
			best = (int)j;
		}
	}
	return best;
}

/*
 * The text of info/<name> from the gem's source (several global remotes:
 * their files one after the other, the later one winning a repeated line).
 * 0, -ENOENT when no copy has it, or another -errno.
 */
static int lk_read_info(struct lk *k, const char *name, struct sbuf *body)
{
	int r;

	uintptr_t si = (uintptr_t)hmap_get(&k->srcof, strv_from(name));
	int info_fd = k->info_fds ? k->info_fds[si ? si - 1 : 0] : -1;
	r = info_fd >= 0
		    ? fs_read_fileat(info_fd, name, body, (size_t)net_policy()->max_index_bytes)
		    : -ENOENT;
	/* several global remotes: one index, their versions together (the later one wins) */
	for (size_t m = 1; si <= 1 && m < k->ngfds && (r >= 0 || r == -ENOENT); m++) {
		struct sbuf more = SBUF_INIT;
		int r2 = k->gfds[m] >= 0 ? fs_read_fileat(k->gfds[m], name, &more,
							  (size_t)net_policy()->max_index_bytes)
					 : -ENOENT;
		if (r2 >= 0) {
			sbuf_addch(body, '\n');
			sbuf_add(body, more.buf ? more.buf : "", more.len);
			r = 0;
		} else if (r2 != -ENOENT) {
			r = r2;
		}
		sbuf_release(&more);
	}
	return r;
}

/* A gem installed in the bundle path that scint's cache describes (--local). */
struct lk_inst {
	struct gem_summary spec;
	struct lk_inst *next;
};

#define LOCK_INSTALLED_MAX 100000
#define LOCK_MANIFEST_MAX  (256u << 20)

struct lk_inst_scan {
	struct lk *k;
	const char *cached_dir;
	size_t n;
};

static void lk_installed_one(int dirfd, const char *fname, void *data)
{
	struct lk_inst_scan *sc = data;
	struct lk *k = sc->k;
	struct arena *a = &k->in->arena;
	size_t len = strlen(fname);
	struct sbuf text = SBUF_INIT;
	struct manifest m = { 0 };
	const char *why;

	(void)dirfd;
	if (len <= 8 || strcmp(fname + len - 8, ".gemspec") || sc->n >= LOCK_INSTALLED_MAX)
		return;
	char *full = arena_strndup(a, fname, len - 8);
	if (names_check_component(strv_from(full), &why) < 0)
		return;
	/* its dependencies: from the cache entry it was materialized from */
	if (fs_read_file(arena_printf(a, "%s/%s.manifest", sc->cached_dir, full), &text,
			 LOCK_MANIFEST_MAX) < 0 ||
	    manifest_parse(a, sbuf_strv(&text), &m, NULL) < 0 ||
	    gem_summary_check(&m.spec, NULL) < 0)
		goto out;
	const char *plat = m.spec.platform && *m.spec.platform ? m.spec.platform : "ruby";
	const char *expect =
		strcmp(plat, "ruby")
			? arena_printf(a, "%s-%s-%s", m.spec.name, m.spec.version, plat)
			: arena_printf(a, "%s-%s", m.spec.name, m.spec.version);
	if (strcmp(expect, full))
		goto out;
	struct lk_inst *it = arena_alloc(a, sizeof(*it));
	it->spec = m.spec;
	it->spec.platform = plat;
	it->next = hmap_get(&k->installed, strv_from(m.spec.name));
	hmap_put(&k->installed, strv_from(m.spec.name), it);
	sc->n++;
out:
	sbuf_release(&text);
}

/*
 * --local: the gems installed in the bundle path (specifications/), with
 * the dependencies scint's cache entry of each records, are candidates
 * beside the cached index, as Bundler 2.3's installed specs are.
 */
static void lk_installed_load(struct lk *k)
{
	struct install *in = k->in;
	struct lk_inst_scan sc = { .k = k };

	k->installed_loaded = true;
	if (!in->opts.bundle_path || !in->abi.ruby_version_dir || !in->abi.abi ||
	    !in->opts.cache_root)
		return;
	sc.cached_dir = arena_printf(&in->arena, "%s/cached/%s", in->opts.cache_root, in->abi.abi);
	(void)fs_list_dirat(AT_FDCWD,
			    arena_printf(&in->arena, "%s/ruby/%s/specifications",
					 in->opts.bundle_path, in->abi.ruby_version_dir),
			    lk_installed_one, &sc);
}

/* Parses info/<name> into g; a missing file leaves g without versions. */
static int lk_load(struct lk *k, struct lk_gem *g, struct sbuf *err)
{
	struct arena *a = &k->in->arena;
	struct sbuf body = SBUF_INIT;
	const char *why;
	int r;

	if (names_check_gem(strv_from(g->name), &why) < 0) {
		sbuf_addf(err, "invalid gem name '%s': %s", g->name, why);
		return -SC_EUNSAFE;
	}
	r = lk_read_info(k, g->name, &body);
	bool local = k->req && k->req->index_mode == 1;
	if (local && !k->installed_loaded)
		lk_installed_load(k);
	if (r == -ENOENT && !(local && hmap_get(&k->installed, strv_from(g->name))))
		return 0;
	if (r == -ENOENT)
		r = 0;
	if (r < 0) {
		sbuf_addf(err, "cannot read the index file of %s: %s", g->name, sc_strerror(r));
		return r;
	}
	char *text = arena_strndup(a, body.buf ? body.buf : "", body.len);
	struct hmap byver; /* version string -> index + 1 */
	sbuf_release(&body);
	hmap_init(&byver);
	struct strv rest = strv_from(text), line;
	size_t cap = 0;
	while (strv_next_line(&rest, &line)) {
		struct index_info_line il;
		if (!line.len || strv_eq_cstr(line, "---"))
			continue;
		if (index_info_parse_line(line, &il) < 0)
			continue; /* a line that could not name anything is never a candidate */
		char *ver = arena_strv(a, il.version);
		bool unfit = !lk_reqs_ok(il.ruby, k->in->abi.version) ||
			     !lk_reqs_ok(il.rubygems, k->in->abi.rubygems_version);
		char *plat = arena_strv(a, il.platform);
		if (!lk_platform_usable(k, plat))
			continue;
		if (k->cooldown_days > 0) {
			/* too new (a locked version is exempt; a line without a date passes) */
			int64_t t;
			if (index_info_created_at(line, &t) < 0)
				t = -1;
			const char *locked = hmap_get(&k->locked, strv_from(g->name));
			if (t >= 0 && t > k->now - (int64_t)k->cooldown_days * 86400 &&
			    !(locked && strv_eq_cstr(il.version, locked)))
				continue;
		}
		/*
		 * The dependencies first: a malformed list makes the line unusable
		 * (and leaves an earlier line of the same variant as it was).
		 */
		struct strv cur = il.deps, dn, dr;
		size_t ndeps = 0;
		while ((r = index_deps_next(&cur, &dn, &dr)) > 0)
			ndeps++;
		if (r < 0) {
			r = 0;
			continue;
		}
		if (ndeps > LOCK_DEPS_MAX) {
			sbuf_addf(err, "the index lists more than %d dependencies for %s %s",
				  LOCK_DEPS_MAX, g->name, ver);
			r = -SC_ETOOBIG;
			goto out;
		}
		struct resolve_dep *deps = arena_alloc(a, (ndeps + 1) * sizeof(*deps));
		cur = il.deps;
		for (size_t d = 0; d < ndeps && index_deps_next(&cur, &dn, &dr) > 0; d++) {
			char *reqs = arena_strv(a, dr);
			for (char *p = reqs; *p; p++)
				if (*p == '&')
					*p = ',';
			deps[d] = (struct resolve_dep){ arena_strv(a, dn), reqs, NULL };
		}
		struct lk_version *v = NULL;
		uintptr_t slot = (uintptr_t)hmap_get(&byver, strv_from(ver));
		if (slot) {
			v = &g->vers[slot - 1];
		} else {
			if (g->nvers >= LOCK_VERSIONS_MAX) {
				sbuf_addf(err, "resolution gave up: %s has more than %d versions",
					  g->name, LOCK_VERSIONS_MAX);
				r = -SC_ETOOBIG;
				goto out;
			}
			g->vers = arena_grow_array(a, g->vers, sizeof(*g->vers), g->nvers, &cap);
			v = &g->vers[g->nvers++];
			memset(v, 0, sizeof(*v));
			v->version = ver;
			hmap_put(&byver, strv_from(ver), (void *)(uintptr_t)g->nvers);
		}
		struct lk_variant *var = NULL;
		for (size_t i = 0; i < v->nvar && !var; i++)
			if (!strcmp(v->var[i].platform, plat))
				var = &v->var[i]; /* a repeated line: the last one wins */
		if (!var) {
			if (v->nvar >= LOCK_VARIANTS_MAX) {
				sbuf_addf(err, "the index lists more than %d platforms for %s %s",
					  LOCK_VARIANTS_MAX, g->name, ver);
				r = -SC_ETOOBIG;
				goto out;
			}
			v->var = arena_grow_array(a, v->var, sizeof(*v->var), v->nvar, &v->capvar);
			var = &v->var[v->nvar++];
		}
		var->platform = plat;
		var->unfit = unfit;
		var->sha256 = arena_strv(a, il.checksum);
		var->deps = deps;
		var->ndeps = ndeps;
	}
	/* --local: installed gems the cached index lacks */
	for (const struct lk_inst *it = local ? hmap_get(&k->installed, strv_from(g->name)) : NULL;
	     it; it = it->next) {
		const struct gem_summary *sp = &it->spec;
		if (!version_valid(strv_from(sp->version)) || !lk_platform_usable(k, sp->platform))
			continue;
		uintptr_t slot = (uintptr_t)hmap_get(&byver, strv_from(sp->version));
		struct lk_version *v = slot ? &g->vers[slot - 1] : NULL;
		bool have = false;
		for (size_t i = 0; v && i < v->nvar && !have; i++)
			have = !strcmp(v->var[i].platform, sp->platform);
		if (have || sp->ndeps > LOCK_DEPS_MAX || (v && v->nvar >= LOCK_VARIANTS_MAX) ||
		    (!v && g->nvers >= LOCK_VERSIONS_MAX))
			continue;
		if (!v) {
			g->vers = arena_grow_array(a, g->vers, sizeof(*g->vers), g->nvers, &cap);
			v = &g->vers[g->nvers++];
			memset(v, 0, sizeof(*v));
			v->version = sp->version;
			hmap_put(&byver, strv_from(sp->version), (void *)(uintptr_t)g->nvers);
		}
		v->var = arena_grow_array(a, v->var, sizeof(*v->var), v->nvar, &v->capvar);
		struct lk_variant *var = &v->var[v->nvar++];
		*var = (struct lk_variant){ .platform = sp->platform, .sha256 = "" };
		var->deps = arena_alloc(a, (sp->ndeps + 1) * sizeof(*var->deps));
		for (size_t d = 0; d < sp->ndeps; d++)
			var->deps[var->ndeps++] =
				(struct resolve_dep){ sp->deps[d].name,
						      sp->deps[d].reqs && strcmp(sp->deps[d].reqs,
										 ">= 0")
							      ? sp->deps[d].reqs
							      : "",
						      NULL };
	}
	/*
	 * Bundler 2.3 tries a version as the best variant for every platform of
	 * the lock, then as its ruby variant alone: when a platform's best
	 * variant asks for another Ruby or RubyGems, the version is the ruby
	 * variant for every platform (if that one fits), else nothing.
	 */
	for (size_t i = 0; i < g->nvers; i++) {
		struct lk_version *v = &g->vers[i];
		bool collapse = false;
		for (size_t p = 0; p < k->nplatforms && !collapse; p++) {
			int b = lk_best_variant(v, k->platforms[p]);
			collapse = b >= 0 && v->var[b].unfit;
		}
		size_t kept = 0;
		for (size_t j = 0; j < v->nvar; j++)
			if (!v->var[j].unfit && (!collapse || !strcmp(v->var[j].platform, "ruby")))
				v->var[kept++] = v->var[j];
		v->nvar = kept;
	}
	/* versions with no usable variant left */
	size_t w = 0;
	for (size_t i = 0; i < g->nvers; i++)
		if (g->vers[i].nvar)
			g->vers[w++] = g->vers[i];
	g->nvers = w;
	qsort(g->vers, g->nvers, sizeof(*g->vers), lk_version_cmp);
	/* "1.0" and "1.0.0" are one version: the first spelling keeps the variants */
	w = 0;
	for (size_t i = 0; i < g->nvers; i++) {
		struct lk_version *prev = w ? &g->vers[w - 1] : NULL;
		if (prev && !version_cmp(strv_from(prev->version), strv_from(g->vers[i].version))) {
			for (size_t j = 0; j < g->vers[i].nvar && prev->nvar < LOCK_VARIANTS_MAX;
			     j++) {
				prev->var = arena_grow_array(a, prev->var, sizeof(*prev->var),
							     prev->nvar, &prev->capvar);
				prev->var[prev->nvar++] = g->vers[i].var[j];
			}
			continue;
		}
		g->vers[w++] = g->vers[i];
	}
	g->nvers = w;
	r = 0;
out:
	hmap_release(&byver);
	return r;
}

/*
 * The dependencies of a version for the resolver: the union over the variants
 * it would be locked with, the best one for each platform (Bundler 2.3's
 * SpecGroup#dependencies_for): a ruby variant's own dependencies (a
 * mini_portile2 for compiling) do not count where a platform's build is used.
 */
static void lk_union_deps(struct lk *k, struct lk_version *v, struct resolve_version *ret)
{
	size_t total = 0, n = 0;
	bool used[LOCK_VARIANTS_MAX + 1] = { 0 };

	for (size_t p = 0; p < k->nplatforms; p++) {
		int b = lk_best_variant(v, k->platforms[p]);
		if (b >= 0)
			used[b] = true;
	}
	for (size_t i = 0; i < v->nvar; i++)
		total += v->var[i].ndeps;
	struct resolve_dep *d = arena_alloc(&k->in->arena, (total + 1) * sizeof(*d));
	for (size_t i = 0; i < v->nvar; i++) {
		if (!used[i])
			continue;
		for (size_t j = 0; j < v->var[i].ndeps; j++) {
			bool seen = false;
			for (size_t m = 0; m < n && !seen; m++)
				seen = !strcmp(d[m].name, v->var[i].deps[j].name);
			if (!seen)
				d[n++] = v->var[i].deps[j];
		}
	}
	*ret = (struct resolve_version){ v->version, d, n };
}

/*
 * A gem of a path source: its one version, as its gemspec says (dependencies
 * the runtime ones). Returns 1 when the gem comes from a path source (it may
 * then have no version: the source lacks it), 0 when it does not.
 */
static int lk_path_gem(struct lk *k, struct lk_gem *g)
{
	struct arena *a = &k->in->arena;
	uintptr_t si = (uintptr_t)hmap_get(&k->srcof, strv_from(g->name));
	const struct lk_path *p = si && k->paths ? &k->paths[si - 1] : NULL;

	if (!p || !p->is_path)
		return 0;
	for (size_t i = 0; i < p->nspecs; i++) {
		const struct gem_summary *sp = &p->specs[i];
		if (strcmp(sp->name, g->name))
			continue;
		g->vers = arena_alloc(a, sizeof(*g->vers));
		memset(g->vers, 0, sizeof(*g->vers));
		g->vers[0].version = sp->version;
		g->vers[0].var = arena_alloc(a, sizeof(*g->vers[0].var));
		g->vers[0].nvar = 1;
		struct lk_variant *var = &g->vers[0].var[0];
		*var = (struct lk_variant){ .platform = sp->platform, .sha256 = "" };
		var->deps = arena_alloc(a, (sp->ndeps + 1) * sizeof(*var->deps));
		for (size_t d = 0; d < sp->ndeps; d++)
			var->deps[var->ndeps++] = (struct resolve_dep){
				sp->deps[d].name,
				strcmp(sp->deps[d].reqs, ">= 0") ? sp->deps[d].reqs : "", NULL
			};
		g->nvers = 1;
		break;
	}
	return 1;
}

static bool lk_size(const char **p, const char *end, size_t *ret)
{
	size_t v = 0;
	const char *s = *p;

	if (s >= end || *s < '0' || *s > '9')
		return false;
	while (s < end && *s >= '0' && *s <= '9') {
		if (v > (SIZE_MAX - 9) / 10)
			return false;
		v = v * 10 + (size_t)(*s++ - '0');
	}
	*p = s;
	*ret = v;
	return true;
}

/*
 * Loads the gemspecs of a path source's directory with the Ruby helper's
 * `gitspecs` (Bundler.load_gemspec in each gemspec's directory, the source's
 * glob, by default Bundler's DEFAULT_GLOB), checks each summary.
 */
static int lk_load_path(struct lk *k, const struct gemfile_source *src, struct lk_path *ret,
			struct sbuf *err)
{
	struct install *in = k->in;
	struct sbuf payload = SBUF_INIT, out = SBUF_INIT;
	const char *abs;
	size_t cap = 0;
	int r;

	ret->is_path = true;
	r = plan_path_dir(in, src->remotes[0], &abs, err);
	if (r < 0)
		return r;
	sbuf_addstr(&payload, abs);
	sbuf_addch(&payload, '\0');
	sbuf_addstr(&payload, src->glob ? src->glob : "{,*,*/*}.gemspec");
	sbuf_addch(&payload, '\0');
	sbuf_addch(&payload, '\0');
	r = install_ruby_call(in, "gitspecs", payload.buf, payload.len, &out, err);
	sbuf_release(&payload);
	if (r < 0)
		goto out;
	const char *p = out.buf ? out.buf : "", *end = p + out.len;
	while (p < end) {
		size_t n1, n2, n3;
		const char *tab = end - p > 8 && !memcmp(p, "gemspec\t", 8)
					  ? memchr(p + 8, '\t', (size_t)(end - p - 8))
					  : NULL;
		p = tab ? tab + 1 : end;
		if (!tab || !lk_size(&p, end, &n1) || p >= end || *p++ != '\t' ||
		    !lk_size(&p, end, &n2) || p >= end || *p++ != '\t' || !lk_size(&p, end, &n3) ||
		    p >= end || *p++ != '\n' || n1 > (size_t)(end - p) ||
		    n2 > (size_t)(end - p) - n1 || n3 > (size_t)(end - p) - n1 - n2) {
			sbuf_addf(err,
				  "the Ruby helper's answer for the gemspecs in %s is malformed",
				  abs);
			r = -SC_ERUBY;
			goto out;
		}
		struct gem_summary sp = { 0 };
		struct strv unused;
		char *sum = arena_alloc(&in->arena, n1 + 16);
		memcpy(sum, p, n1);
		memcpy(sum + n1, "---gemspec---\n", 15);
		p += n1 + n2 + n3;
		struct sbuf why = SBUF_INIT;
		if (gem_summary_parse(&in->arena, strv_make(sum, n1 + 14), &sp, &unused) < 0 ||
		    gem_summary_check(&sp, &why) < 0) {
			sbuf_addf(err, "a gemspec in %s is not usable: %s", abs,
				  why.len ? sbuf_cstr(&why) : "malformed summary");
			sbuf_release(&why);
			r = -SC_EUNSAFE;
			goto out;
		}
		sbuf_release(&why);
		if (ret->nspecs >= LOCK_VARIANTS_MAX) {
			sbuf_addf(err, "%s has more than %d gemspecs", abs, LOCK_VARIANTS_MAX);
			r = -SC_ETOOBIG;
			goto out;
		}
		ret->specs = arena_grow_array(&in->arena, ret->specs, sizeof(*ret->specs),
					      ret->nspecs, &cap);
		ret->specs[ret->nspecs++] = sp;
	}
	r = 0;
out:
	sbuf_release(&out);
	return r;
}

/*
 * --local with no cached index for a gem: its specs in the old lockfile's GEM
 * sections are what is installed (as Bundler's --local index holds the
 * installed specs). One version: the first spec's (a lockfile names one).
 */
static void lk_from_lock(struct lk *k, struct lk_gem *g)
{
	struct arena *a = &k->in->arena;
	const struct lockfile *lf = &k->in->lock;
	const char *version = NULL;
	size_t n = 0;

	for (size_t s = 0; s < lf->nsources; s++)
		for (size_t i = 0; lf->sources[s].kind == LOCK_SRC_GEM && i < lf->sources[s].nspecs; i++)
			if (!strcmp(lf->sources[s].specs[i].name, g->name) &&
			    (!version || !strcmp(version, lf->sources[s].specs[i].version))) {
				version = lf->sources[s].specs[i].version;
				n++;
			}
	if (!n)
		return;
	g->vers = arena_alloc(a, sizeof(*g->vers));
	memset(g->vers, 0, sizeof(*g->vers));
	g->vers[0].version = version;
	g->vers[0].var = arena_alloc(a, n * sizeof(*g->vers[0].var));
	for (size_t s = 0; s < lf->nsources; s++) {
		for (size_t i = 0; lf->sources[s].kind == LOCK_SRC_GEM && i < lf->sources[s].nspecs; i++) {
			const struct lock_spec *sp = &lf->sources[s].specs[i];
			if (strcmp(sp->name, g->name) || strcmp(sp->version, version) ||
			    !lk_platform_usable(k, sp->platform))
				continue;
			struct lk_variant *v = &g->vers[0].var[g->vers[0].nvar++];
			struct resolve_dep *d = arena_alloc(a, (sp->ndeps + 1) * sizeof(*d));
			for (size_t j = 0; j < sp->ndeps; j++)
				d[j] = (struct resolve_dep){ sp->deps[j].name,
							     sp->deps[j].reqs ? sp->deps[j].reqs : "", NULL };
			*v = (struct lk_variant){ .platform = sp->platform, .sha256 = "", .deps = d,
						  .ndeps = sp->ndeps };
		}
	}
	g->nvers = g->vers[0].nvar ? 1 : 0;
}

static struct lk_gem *lk_gem(struct lk *k, const char *name, struct sbuf *err, int *ret_r)
{
	struct lk_gem *g = hmap_get(&k->gems, strv_from(name));

	*ret_r = 0;
	if (g)
		return g;
	g = arena_alloc(&k->in->arena, sizeof(*g));
	memset(g, 0, sizeof(*g));
	g->name = arena_strdup(&k->in->arena, name);
	const struct lock_spec *gs = hmap_get(&k->gitspec, strv_from(name));
	if (gs) {
		/* a gem of a kept GIT source: its locked version, its locked deps */
		g->vers = arena_alloc(&k->in->arena, sizeof(*g->vers));
		memset(g->vers, 0, sizeof(*g->vers));
		g->vers[0].version = gs->version;
		g->vers[0].var = arena_alloc(&k->in->arena, sizeof(*g->vers[0].var));
		memset(g->vers[0].var, 0, sizeof(*g->vers[0].var));
		g->vers[0].var[0].platform = gs->platform;
		g->vers[0].var[0].sha256 = "";
		struct resolve_dep *d = arena_alloc(&k->in->arena, (gs->ndeps + 1) * sizeof(*d));
		for (size_t i = 0; i < gs->ndeps; i++)
			d[i] = (struct resolve_dep){ gs->deps[i].name,
						     gs->deps[i].reqs ? gs->deps[i].reqs : "",
						     NULL };
		g->vers[0].var[0].deps = d;
		g->vers[0].var[0].ndeps = gs->ndeps;
		g->vers[0].nvar = 1;
		g->nvers = 1;
	} else if (!strcmp(name, "bundler")) {
		g->vers = arena_alloc(&k->in->arena, sizeof(*g->vers));
		memset(g->vers, 0, sizeof(*g->vers));
		g->vers[0].version = k->bundler_version;
		g->vers[0].var = arena_alloc(&k->in->arena, sizeof(*g->vers[0].var));
		memset(g->vers[0].var, 0, sizeof(*g->vers[0].var));
		g->vers[0].var[0].platform = "ruby";
		g->vers[0].nvar = 1;
		g->nvers = 1;
	} else if ((*ret_r = lk_path_gem(k, g)) == 0 && (*ret_r = lk_load(k, g, err)) < 0) {
		return NULL;
	} else if (!g->nvers && k->req && k->req->index_mode == 1) {
		lk_from_lock(k, g);
	}
	*ret_r = 0;
	g->rv = arena_alloc(&k->in->arena, (g->nvers + 1) * sizeof(*g->rv));
	for (size_t i = 0; i < g->nvers; i++)
		lk_union_deps(k, &g->vers[i], &g->rv[i]);
	hmap_put(&k->gems, strv_from(g->name), g);
	return g;
}

static int lk_fetch(void *data, const char *name, struct resolve_pkg_info *ret, struct sbuf *err)
{
	struct lk *k = data;
	int r;
	struct lk_gem *g = lk_gem(k, name, err, &r);

	if (!g)
		return r;
	bool unlocking = k->req && k->req->update_all;
	unlocking |= hmap_get(&k->unlock, strv_from(name)) != NULL;
	const char *locked = hmap_get(&k->locked, strv_from(name));
	bool pre = (k->req && k->req->pre) || hmap_get(&k->pre, strv_from(name)) != NULL;
	char level = k->req && k->req->level ? k->req->level : 'M';
	size_t *idx = arena_alloc(&k->in->arena, (g->nvers + 1) * sizeof(*idx)), n = g->nvers;

	for (size_t i = 0; i < n; i++)
		idx[i] = i;
	bool kept = locked && !unlocking && hmap_get(&k->kept, strv_from(name)) != NULL;
	if (kept && !k->soft) {
		/* Bundler 2.3's base: the locked version only (when it is still a candidate) */
		size_t w = 0;
		for (size_t i = 0; i < n; i++)
			if (!strcmp(g->rv[i].version, locked))
				idx[w++] = i;
		if (w) {
			n = w;
			goto done;
		}
	}
	if (locked && (kept || (k->soft && !unlocking))) {
		/* the locked version first, then as if not locked */
		n = resolve_promote(g->rv, idx, n, NULL, 'M', false, false, pre);
		for (size_t i = 0; i < n; i++) {
			if (strcmp(g->rv[idx[i]].version, locked))
				continue;
			size_t x = idx[i];
			memmove(idx + 1, idx, i * sizeof(*idx));
			idx[0] = x;
			break;
		}
	} else {
		n = resolve_promote(g->rv, idx, n, locked, level, unlocking,
				    k->req && k->req->strict && locked, pre);
		if (locked && k->floor && !k->soft) {
			/* an update never goes below the locked version (additional base
			 * requirements) */
			size_t w = 0;
			for (size_t i = 0; i < n; i++)
				if (version_cmp(strv_from(g->rv[idx[i]].version),
						strv_from(locked)) >= 0)
					idx[w++] = idx[i];
			n = w;
		}
	}
done:
	*ret = (struct resolve_pkg_info){ .versions = g->rv,
					  .nversions = g->nvers,
					  .pref = idx,
					  .npref = n,
					  .allow_pre = true,
					  .missing = !g->nvers };
	return 0;
}

/* Unlocks name and, unless conservative, what it depends on in the lockfile. */
static void lk_unlock(struct lk *k, const char *name, bool deep, unsigned depth)
{
	if (hmap_get(&k->unlock, strv_from(name)) || depth > 1000)
		return;
	hmap_put(&k->unlock, strv_from(name), lk_mark);
	if (!deep)
		return;
	const struct lockfile *lf = &k->in->lock;
	for (size_t s = 0; s < lf->nsources; s++)
		for (size_t i = 0; i < lf->sources[s].nspecs; i++) {
			const struct lock_spec *sp = &lf->sources[s].specs[i];
			if (strcmp(sp->name, name))
				continue;
			for (size_t d = 0; d < sp->ndeps; d++)
				lk_unlock(k, sp->deps[d].name, deep, depth + 1);
		}
}

static bool lk_reqs_name_pre(const char *reqs)
{
	struct requirement r[LOCK_REQS_MAX];
	int n = requirement_parse_list(strv_from(reqs), ',', r, LOCK_REQS_MAX);

	for (int i = 0; i < n; i++)
		if (version_is_prerelease(r[i].version))
			return true;
	return false;
}

static void lk_keep(struct lk *k, const struct hmap *dropped, const char *name, unsigned depth)
{
	const struct lockfile *lf = &k->in->lock;

	if (hmap_get(&k->kept, strv_from(name)) || depth > 1000 ||
	    !hmap_get(&k->locked, strv_from(name)) || hmap_get(dropped, strv_from(name)))
		return;
	hmap_put(&k->kept, strv_from(name), lk_mark);
	for (size_t s = 0; s < lf->nsources; s++)
		for (size_t i = 0; i < lf->sources[s].nspecs; i++) {
			const struct lock_spec *sp = &lf->sources[s].specs[i];
			if (strcmp(sp->name, name))
				continue;
			for (size_t d = 0; d < sp->ndeps; d++)
				if (strcmp(sp->deps[d].name, "bundler"))
					lk_keep(k, dropped, sp->deps[d].name, depth + 1);
		}
}

/*
 * The kept set: a Gemfile dependency whose locked version no longer meets
 * its requirement is dropped with everything only it reaches; the closure
 * of the other dependencies over the locked specs is kept.
 */
static void lk_keep_closure(struct lk *k, const struct gemfile *ev)
{
	struct requirement r[LOCK_REQS_MAX];
	struct hmap dropped;
	bool *ok = arena_alloc(&k->in->arena, (ev->ndeps + 1) * sizeof(*ok));

	hmap_init(&dropped);
	for (size_t i = 0; i < ev->ndeps; i++) {
		const struct gemfile_dep *d = &ev->deps[i];
		const char *v = hmap_get(&k->locked, strv_from(d->name));
		int n = requirement_parse_list(strv_from(d->reqs), ',', r, LOCK_REQS_MAX);
		ok[i] = v && n >= 0 && version_valid(strv_from(v)) &&
			requirement_list_satisfied(r, (size_t)n, strv_from(v));
		if (v && !ok[i])
			hmap_put(&dropped, strv_from(d->name), lk_mark);
	}
	for (size_t i = 0; i < ev->ndeps; i++)
		if (ok[i])
			lk_keep(k, &dropped, ev->deps[i].name, 0);
	hmap_release(&dropped);
}

static void lk_add_platform(struct lk *k, const char *p)
{
	for (size_t i = 0; i < k->nplatforms; i++)
		if (!strcmp(k->platforms[i], p))
			return;
	k->platforms[k->nplatforms++] = p;
}

/*
 * The locked GIT section a Gemfile git source keeps: same remote and the
 * same branch/tag/ref/glob/submodules options (Bundler's source equality).
 */
static const struct lock_source *lk_git_locked(const struct lockfile *old,
					       const struct gemfile_source *src)
{
	for (size_t s = 0; s < old->nsources; s++)
		if (old->sources[s].kind == LOCK_SRC_GIT && src->nremotes == 1 &&
		    gemfile_source_matches(src, &old->sources[s]))
			return &old->sources[s];
	return NULL;
}

/* The index in gsrc (0: the global source) of the dependency's source. */
static size_t lk_dep_source(const struct gemfile_source **gsrc, size_t ngsrc,
			    const struct gemfile_dep *d)
{
	for (size_t j = 1; d->source && j < ngsrc; j++)
		if (gsrc[j] == d->source)
			return j;
	return 0;
}

/* Is name kept at its locked version (Bundler's converged base, less what is unlocked)? */
static bool lk_git_spec_stays(struct lk *k, const char *name)
{
	if (k->req && k->req->update_all && !k->req->keep_git)
		return false;
	return hmap_get(&k->kept, strv_from(name)) && !hmap_get(&k->unlock, strv_from(name));
}

/*
 * The GIT section Bundler writes for a Gemfile git source at rev, with the
 * gems of its checkout (specs as the helper loaded them).
 */
static struct lock_source *lk_git_section(struct lk *k, const struct gemfile_source *src,
					  const struct git_probe *pr)
{
	struct arena *a = &k->in->arena;
	struct lock_source *ls = arena_alloc(a, sizeof(*ls));

	memset(ls, 0, sizeof(*ls));
	ls->kind = LOCK_SRC_GIT;
	ls->opts = arena_alloc(a, 8 * sizeof(*ls->opts));
	ls->opts[ls->nopts++] = (struct lock_option){ "remote", src->remotes[0] };
	ls->opts[ls->nopts++] = (struct lock_option){ "revision", pr->revision };
	if (src->ref)
		ls->opts[ls->nopts++] = (struct lock_option){ "ref", src->ref };
	if (src->branch)
		ls->opts[ls->nopts++] = (struct lock_option){ "branch", src->branch };
	if (src->tag)
		ls->opts[ls->nopts++] = (struct lock_option){ "tag", src->tag };
	if (src->submodules)
		ls->opts[ls->nopts++] = (struct lock_option){ "submodules", "true" };
	if (src->glob)
		ls->opts[ls->nopts++] = (struct lock_option){ "glob", src->glob };
	ls->specs = arena_alloc(a, (pr->nspecs + 1) * sizeof(*ls->specs));
	for (size_t i = 0; i < pr->nspecs; i++) {
		const struct gem_summary *sp = &pr->specs[i].spec;
		struct lock_spec *l = &ls->specs[ls->nspecs++];
		bool ruby = !strcmp(sp->platform, "ruby");
		*l = (struct lock_spec){
			.name = sp->name,
			.version = sp->version,
			.platform = sp->platform,
			.full_name = ruby ? arena_printf(a, "%s-%s", sp->name, sp->version)
					  : arena_printf(a, "%s-%s-%s", sp->name, sp->version,
							 sp->platform),
			.source = ls,
		};
		l->deps = arena_alloc(a, (sp->ndeps + 1) * sizeof(*l->deps));
		for (size_t d = 0; d < sp->ndeps; d++)
			l->deps[l->ndeps++] = (struct lock_dep){ sp->deps[d].name,
								 strcmp(sp->deps[d].reqs, ">= 0")
									 ? sp->deps[d].reqs
									 : NULL };
	}
	return ls;
}

/*
 * The Gemfile's git sources, as Bundler 2.3 converges them: a source the
 * lockfile locks with the same options keeps its revision (no git at all)
 * unless it is unlocked: `update`/`lock --update` of everything, or none of
 * its locked gems stays in the converged base while some were dropped
 * (`update GEM` of its gems, a changed requirement). An unlocked, new or
 * changed source is resolved again from its branch/tag/ref (git_probe_run);
 * a kept one whose section lacks a gem the Gemfile now wants from it is
 * checked out at its locked revision to find it. Any moved revision turns
 * off the update floor, as Bundler's expired sources drop its additional
 * base requirements. Fills gits with the sections to lock.
 */
static int lk_git_sources(struct lk *k, const struct gemfile_source **gitsrc,
			  const struct lock_source **gitls, size_t n,
			  const struct lock_source **gits, size_t *ngits, struct sbuf *err)
{
	struct install *in = k->in;
	const struct gemfile *gf = k->ev;
	struct arena *a = &in->arena;
	struct git_probe *probes = arena_alloc(a, (n + 1) * sizeof(*probes));
	size_t *probe_of = arena_alloc(a, (n + 1) * sizeof(*probe_of)), nprobes = 0;
	int r;

	for (size_t i = 0; i < n; i++) {
		const struct gemfile_source *src = gitsrc[i];
		const struct lock_source *ls = gitls[i];
		const char *name = NULL;
		bool move = !ls, missing = false;
		for (size_t d = 0; d < gf->ndeps; d++) {
			if (gf->deps[d].source != src)
				continue;
			name = name ? name : gf->deps[d].name;
			bool found = false;
			for (size_t j = 0; ls && j < ls->nspecs && !found; j++)
				found = !strcmp(ls->specs[j].name, gf->deps[d].name);
			missing |= !found;
		}
		if (ls && !move) {
			bool stays = false, dropped = false;
			for (size_t j = 0; j < ls->nspecs; j++) {
				bool st = lk_git_spec_stays(k, ls->specs[j].name);
				stays |= st;
				dropped |= !st;
			}
			move = !stays && dropped;
		}
		probe_of[i] = SIZE_MAX;
		if (!move && !missing) {
			bool dup = false;
			for (size_t j = 0; j < *ngits; j++)
				dup |= gits[j] == ls;
			if (!dup)
				gits[(*ngits)++] = ls;
			continue;
		}
		bool offline = k->req && k->req->index_mode == 1;
		if (move && offline) {
			struct sbuf red = SBUF_INIT;
			url_redact(src->remotes[0], &red);
			sbuf_addf(err, "%s: the git source %s %s%s, and --local does not fetch it",
				  in->opts.gemfile, red.buf,
				  ls ? "is unlocked" : "is not locked with these options in ",
				  ls ? "" : in->opts.lockfile);
			sbuf_release(&red);
			return -SC_ENOTFOUND;
		}
		probe_of[i] = nprobes;
		probes[nprobes++] = (struct git_probe){
			.offline = offline,
			.remote = src->remotes[0],
			.ref = src->ref	     ? src->ref
			       : src->branch ? src->branch
					     : src->tag,
			.glob = src->glob,
			.submodules = src->submodules,
			.name = name,
			.revision = move ? NULL : lock_source_opt(ls, "revision"),
		};
	}
	if (!nprobes)
		return 0;
	r = git_probe_run(in, probes, nprobes, err);
	if (r < 0)
		return r;
	for (size_t i = 0; i < n; i++) {
		if (probe_of[i] == SIZE_MAX)
			continue;
		const struct git_probe *pr = &probes[probe_of[i]];
		const char *was = gitls[i] ? lock_source_opt(gitls[i], "revision") : NULL;
		if (!was || strcmp(was, pr->revision))
			k->floor = false;
		struct lock_source *ls = lk_git_section(k, gitsrc[i], pr);
		for (size_t d = 0; d < gf->ndeps; d++) {
			if (gf->deps[d].source != gitsrc[i])
				continue;
			bool found = false;
			for (size_t j = 0; j < ls->nspecs && !found; j++)
				found = !strcmp(ls->specs[j].name, gf->deps[d].name);
			if (!found) {
				struct sbuf red = SBUF_INIT;
				url_redact(gitsrc[i]->remotes[0], &red);
				sbuf_addf(err,
					  "Could not find gem '%s' in %s (at %.7s).\n"
					  "The source does not contain any versions of '%s'",
					  gf->deps[d].name, red.buf, pr->revision,
					  gf->deps[d].name);
				sbuf_release(&red);
				return -SC_ENOTFOUND;
			}
		}
		gits[(*ngits)++] = ls;
	}
	return 0;
}

/* Bounds of lk_rounds: Bundler's lookup ends by itself; a hostile index must not loop. */
#define LOCK_ROUNDS_MAX 1000

/*
 * The rounds of Bundler 2.3's CompactIndex#specs_for_names from roots over
 * the info files of dirfd: each round looks up the remaining names; the
 * next round's are the dependencies of every version found, less the names
 * found so far.
 */
static int lk_rounds(struct lk *k, int dirfd, const char *const *roots, size_t nroots,
		     struct hmap *ret_deps, unsigned *ret, struct sbuf *err)
{
	struct arena *a = &k->in->arena;
	struct hmap complete, seen;
	const char **cur = arena_alloc(a, (nroots + 1) * sizeof(*cur)), **next = NULL;
	size_t ncur = 0, nnext = 0, capnext = 0;
	int r = 0;

	hmap_init(&complete);
	hmap_init(&seen);
	for (size_t i = 0; i < nroots; i++)
		if (!hmap_get(&seen, strv_from(roots[i]))) {
			hmap_put(&seen, strv_from(roots[i]), lk_mark);
			cur[ncur++] = roots[i];
		}
	*ret = 0;
	while (ncur && *ret < LOCK_ROUNDS_MAX) {
		(*ret)++;
		hmap_release(&seen);
		hmap_init(&seen);
		next = NULL;
		nnext = capnext = 0;
		for (size_t i = 0; i < ncur; i++) {
			struct sbuf body = SBUF_INIT;
			const char *why;
			if (names_check_gem(strv_from(cur[i]), &why) < 0)
				continue;
			r = dirfd >= 0 ? fs_read_fileat(dirfd, cur[i], &body,
							(size_t)net_policy()->max_index_bytes)
				       : -ENOENT;
			if (r == -ENOENT) {
				sbuf_release(&body);
				r = 0;
				continue;
			}
			if (r < 0) {
				sbuf_addf(err, "cannot read the index file of %s: %s", cur[i],
					  sc_strerror(r));
				sbuf_release(&body);
				goto out;
			}
			struct strv rest = sbuf_strv(&body), line, dn, dr;
			bool found = false;
			while (strv_next_line(&rest, &line)) {
				struct index_info_line il;
				if (!line.len || strv_eq_cstr(line, "---") ||
				    index_info_parse_line(line, &il) < 0)
					continue;
				found = true;
				struct strv c = il.deps;
				while (index_deps_next(&c, &dn, &dr) > 0) {
					if (ret_deps && !hmap_get(ret_deps, dn)) {
						char *dup = arena_strv(a, dn);
						hmap_put(ret_deps, strv_from(dup), dup);
					}
					if (hmap_get(&seen, dn))
						continue;
					char *nm = arena_strv(a, dn);
					hmap_put(&seen, strv_from(nm), lk_mark);
					next = arena_grow_array(a, next, sizeof(*next), nnext,
								&capnext);
					next[nnext++] = nm;
				}
			}
			sbuf_release(&body);
			if (found)
				hmap_put(&complete, strv_from(cur[i]), lk_mark);
		}
		ncur = 0;
		cur = arena_alloc(a, (nnext + 1) * sizeof(*cur));
		for (size_t i = 0; i < nnext; i++)
			if (!hmap_get(&complete, strv_from(next[i])))
				cur[ncur++] = next[i];
	}
	r = 0;
out:
	hmap_release(&complete);
	hmap_release(&seen);
	return r;
}

/* Fills *ret for `scint outdated` (phase.h, struct lock_outdated). */
static int lk_outdated(struct lk *k, const struct gemfile *gf, const struct gemfile_source **gsrc,
		       size_t ngsrc, struct gem_source **gs, struct gem_source **ggs,
		       size_t nglobal, const struct resolve_result *res, struct lock_outdated *ret,
		       struct sbuf *err)
{
	struct arena *a = &k->in->arena;
	const struct lockfile *old = &k->in->lock;
	int r;

	memset(ret, 0, sizeof(*ret));
	ret->avail = arena_alloc(a, (res->npicks + 1) * sizeof(*ret->avail));
	for (size_t i = 0; i < res->npicks; i++) {
		const char *name = res->picks[i].name;
		uintptr_t si = (uintptr_t)hmap_get(&k->srcof, strv_from(name));
		if (!strcmp(name, "bundler") || hmap_get(&k->gitspec, strv_from(name)) ||
		    (k->paths && k->paths[si ? si - 1 : 0].is_path))
			continue;
		struct sbuf body = SBUF_INIT;
		r = lk_read_info(k, name, &body);
		if (r < 0 && r != -ENOENT) {
			sbuf_addf(err, "cannot read the index file of %s: %s", name,
				  sc_strerror(r));
			sbuf_release(&body);
			return r;
		}
		struct outdated_avail *av = &ret->avail[ret->navail++];
		size_t cap = 0;
		*av = (struct outdated_avail){ .name = name };
		char *text = arena_strndup(a, body.buf ? body.buf : "", body.len);
		sbuf_release(&body);
		struct strv rest = strv_from(text), line;
		while (strv_next_line(&rest, &line)) {
			struct index_info_line il;
			if (!line.len || strv_eq_cstr(line, "---") ||
			    index_info_parse_line(line, &il) < 0 || av->n >= LOCK_VERSIONS_MAX)
				continue;
			size_t c2 = cap;
			av->versions = arena_grow_array(a, av->versions, sizeof(*av->versions),
							av->n, &cap);
			av->platforms = arena_grow_array(a, av->platforms, sizeof(*av->platforms),
							 av->n, &c2);
			av->versions[av->n] = arena_strv(a, il.version);
			av->platforms[av->n++] = arena_strv(a, il.platform);
		}
	}
	/*
	 * The roots of Bundler's lookup, per source: the Gemfile's names of the
	 * source, and with GEMS named the names of its lockfile section (with
	 * several global remotes Bundler uses the Gemfile's source, without
	 * them, as bundle outdated GEM shows). Source blocks come first (Bundler's
	 * all_sources order); the names a block's gems need and it lacks go to
	 * the global source.
	 */
	size_t nroots = 0, cap = 0;
	const char **roots = NULL;
	ret->remotes = arena_alloc(a, (2 * nglobal + ngsrc + 1) * sizeof(*ret->remotes));
	ret->rounds = arena_alloc(a, (2 * nglobal + ngsrc + 1) * sizeof(*ret->rounds));
	for (size_t j = 0; j < ngsrc; j++) {
		size_t nb = 0, capb = 0;
		const char **b = NULL;
		if (k->paths && k->paths[j].is_path)
			continue;
		for (size_t i = 0; i < gf->ndeps; i++) {
			if (lk_dep_source(gsrc, ngsrc, &gf->deps[i]) != j ||
			    (!j && gf->deps[i].source))
				continue;
			b = arena_grow_array(a, b, sizeof(*b), nb, &capb);
			b[nb++] = gf->deps[i].name;
		}
		for (size_t s = 0; !k->req->update_all && (j || nglobal == 1) && s < old->nsources;
		     s++) {
			if (old->sources[s].kind != LOCK_SRC_GEM || !gsrc[j] ||
			    !gemfile_source_matches(gsrc[j], &old->sources[s]))
				continue;
			for (size_t i = 0; i < old->sources[s].nspecs; i++) {
				b = arena_grow_array(a, b, sizeof(*b), nb, &capb);
				b[nb++] = old->sources[s].specs[i].name;
			}
		}
		if (!j) {
			for (size_t i = 0; i < nb; i++) {
				roots = arena_grow_array(a, roots, sizeof(*roots), nroots, &cap);
				roots[nroots++] = b[i];
			}
			continue;
		}
		struct hmap bdeps;
		hmap_init(&bdeps);
		r = lk_rounds(k, k->info_fds[j], b, nb, &bdeps, &ret->rounds[ret->nremotes], err);
		for (size_t i = 0; r == 0 && i < bdeps.cap; i++) {
			const char *nm = bdeps.slots ? bdeps.slots[i].value : NULL;
			if (!nm ||
			    (k->info_fds[j] >= 0 && faccessat(k->info_fds[j], nm, F_OK, 0) == 0))
				continue;
			roots = arena_grow_array(a, roots, sizeof(*roots), nroots, &cap);
			roots[nroots++] = nm;
		}
		hmap_release(&bdeps);
		if (r < 0)
			return r;
		ret->remotes[ret->nremotes++] = gs[j]->redacted;
	}
	struct hmap deps;
	hmap_init(&deps);
	for (size_t m = 0; m < nglobal; m++) {
		int fd = m ? k->gfds[m] : k->info_fds[0];
		r = lk_rounds(k, fd, roots, nroots, &deps, &ret->rounds[ret->nremotes], err);
		if (r < 0)
			goto out;
		ret->remotes[ret->nremotes++] = ggs[m]->redacted;
	}
	/*
	 * Several remotes: Bundler's double_check_for_index looks up, from every
	 * remote again, the dependencies of everything found that the Gemfile
	 * does not name (one remote alone skips the names it already has).
	 */
	const char **more = NULL;
	size_t nmore = 0, capmore = 0;
	for (size_t i = 0; nglobal > 1 && i < deps.cap; i++) {
		const char *nm = deps.slots ? deps.slots[i].value : NULL;
		bool named = false;
		for (size_t d = 0; nm && d < gf->ndeps && !named; d++)
			named = !strcmp(gf->deps[d].name, nm);
		if (!nm || named)
			continue;
		more = arena_grow_array(a, more, sizeof(*more), nmore, &capmore);
		more[nmore++] = nm;
	}
	for (size_t m = 0; nmore && m < nglobal; m++) {
		int fd = m ? k->gfds[m] : k->info_fds[0];
		r = lk_rounds(k, fd, more, nmore, NULL, &ret->rounds[ret->nremotes], err);
		if (r < 0)
			goto out;
		ret->remotes[ret->nremotes++] = ggs[m]->redacted;
	}
	r = 0;
out:
	hmap_release(&deps);
	return r;
}

int lock_resolve(struct install *in, const struct lock_request *req, struct sbuf *ret_text,
		 struct sbuf *err)
{
	struct arena *a = &in->arena;
	const struct gemfile *gf = &in->gemfile;
	const char *remote = NULL;
	struct lk k = { .in = in, .req = req, .ev = gf };
	struct index_sync *sync = NULL;
	const struct lockfile *old = &in->lock;
	int r;

	hmap_init(&k.gems);
	hmap_init(&k.unlock);
	hmap_init(&k.locked);
	hmap_init(&k.pre);
	hmap_init(&k.kept);
	hmap_init(&k.gitspec);
	hmap_init(&k.srcof);
	hmap_init(&k.gwant);
	hmap_init(&k.installed);
	r = gemfile_load(in, err);
	if (r < 0)
		goto out;
	/*
	 * The gem sources: [0] the global rubygems source (id "0"), then each
	 * `source ... do` block and path source (one remote each), in Gemfile
	 * order; the locked GIT sections the git sources keep in gits.
	 */
	const struct gemfile_source **gsrc = arena_alloc(a, (gf->nsources + 1) * sizeof(*gsrc));
	const struct lock_source **gits = arena_alloc(a, (gf->nsources + 1) * sizeof(*gits));
	/* the Gemfile's git sources, with the GIT section that locks each (or NULL) */
	const struct gemfile_source **gitsrc = arena_alloc(a, (gf->nsources + 1) * sizeof(*gitsrc));
	const struct lock_source **gitls = arena_alloc(a, (gf->nsources + 1) * sizeof(*gitls));
	size_t ngsrc = 1, nglobal = 0, ngits = 0, ngitsrc = 0;
	const char *unsupported = NULL;
	gsrc[0] = NULL;
	for (size_t i = 0; i < gf->nsources; i++) {
		const struct gemfile_source *src = &gf->sources[i];
		if (src->kind == GEMFILE_SRC_GEM && !strcmp(src->id, "0")) {
			if (src->nremotes) {
				remote = src->remotes[0];
				gsrc[0] = src;
				nglobal = src->nremotes;
			}
		} else if (src->kind != GEMFILE_SRC_GIT) {
			if (src->nremotes == 1)
				gsrc[ngsrc++] = src;
			else
				unsupported = src->kind == GEMFILE_SRC_GEM
						      ? "a source block with several remotes"
						      : "a path source without a path";
		} else if (src->nremotes != 1) {
			unsupported = "a git source without a remote";
		} else {
			/* kept at its locked revision, or resolved below (lk_git_probe) */
			gitsrc[ngitsrc] = src;
			gitls[ngitsrc++] = lk_git_locked(old, src);
		}
	}
	if (unsupported || !remote) {
		sbuf_addf(err, "%s %s%s: scint cannot resolve that yet (run `bundle lock`)",
			  in->opts.gemfile, unsupported ? "uses " : "has no global rubygems source",
			  unsupported ? unsupported : "");
		r = -SC_EUNSUPPORTED;
		goto out;
	}
	for (size_t i = 0; i < gf->ndeps; i++) {
		if (gf->deps[i].pinned && lk_dep_source(gsrc, ngsrc, &gf->deps[i]) == 0 &&
		    !(gf->deps[i].source && gf->deps[i].source->kind == GEMFILE_SRC_GIT)) {
			sbuf_addf(err,
				  "%s%s%s: '%s' comes from a source which "
				  "scint cannot resolve yet (run `bundle lock`)",
				  in->opts.gemfile, gf->deps[i].location ? " at " : "",
				  gf->deps[i].location ? gf->deps[i].location : "",
				  gf->deps[i].name);
			r = -SC_EUNSUPPORTED;
			goto out;
		}
	}
	for (size_t s = 0; s < old->nsources; s++) {
		if (old->sources[s].kind != LOCK_SRC_GEM && old->sources[s].kind != LOCK_SRC_PATH &&
		    old->sources[s].kind != LOCK_SRC_GIT) {
			sbuf_addf(err,
				  "%s has plugin sources, which scint cannot "
				  "resolve yet (run `bundle lock`)",
				  in->opts.lockfile);
			r = -SC_EUNSUPPORTED;
			goto out;
		}
	}
	k.now = (int64_t)time(NULL);
	k.cooldown_days = req && req->cooldown_days >= 0 ? req->cooldown_days : 0;
	if (!req || req->cooldown_days < 0) {
		const char *cd = bconfig_get(in->config, "BUNDLE_COOLDOWN");
		char *end = NULL;
		long n = cd && *cd ? strtol(cd, &end, 10) : 0;
		if (cd && *cd && (*end || n < 0 || n > 100000)) {
			sbuf_addf(
				err,
				"BUNDLE_COOLDOWN must be a number of days (0 to 100000), not '%s'",
				cd);
			r = -SC_ECONFIG;
			goto out;
		}
		k.cooldown_days = n;
	}
	k.bundler_version = gf->bundler_version	      ? gf->bundler_version
			    : in->abi.bundler_version ? in->abi.bundler_version
						      : "2.3.15";

	/* PLATFORMS */
	size_t np = old->nplatforms + 2 + (req ? req->nadd_platforms : 0);
	k.platforms = arena_alloc(a, np * sizeof(*k.platforms));
	for (size_t i = 0; i < old->nplatforms; i++)
		lk_add_platform(&k, old->platforms[i]);
	lk_add_platform(&k, in->abi.platform);
	for (size_t i = 0; req && i < req->nadd_platforms; i++) {
		struct platform pl;
		if (platform_parse(strv_from(req->add_platforms[i]), &pl) < 0) {
			sbuf_addf(err, "the platform `%s` is unknown", req->add_platforms[i]);
			r = -EINVAL;
			goto out;
		}
		lk_add_platform(&k, req->add_platforms[i]);
	}
	for (size_t i = 0; req && i < req->nremove_platforms; i++) {
		size_t w = 0;
		bool found = false;
		for (size_t j = 0; j < k.nplatforms; j++) {
			if (!strcmp(k.platforms[j], req->remove_platforms[i]))
				found = true;
			else
				k.platforms[w++] = k.platforms[j];
		}
		if (!found) {
			sbuf_addf(err,
				  "Unable to remove the platform `%s` since the only platforms "
				  "are %s",
				  req->remove_platforms[i], k.nplatforms ? k.platforms[0] : "none");
			r = -EINVAL;
			goto out;
		}
		k.nplatforms = w;
	}

	/* what is locked, and what is unlocked */
	for (size_t s = 0; s < old->nsources; s++)
		for (size_t i = 0; i < old->sources[s].nspecs; i++) {
			const struct lock_spec *sp = &old->sources[s].specs[i];
			hmap_put(&k.locked, strv_from(sp->name), arena_strdup(a, sp->version));
		}
	for (size_t i = 0; i < gf->ndeps; i++) {
		const struct gemfile_dep *d = &gf->deps[i];
		/*
		 * An added or changed dependency is not unlocked: its locked version
		 * stays first in line and gives way only if no longer allowed, as in
		 * Bundler's converge_locked_specs.
		 */
		if (lk_reqs_name_pre(d->reqs))
			hmap_put(&k.pre, strv_from(d->name), lk_mark);
	}
	bool deep = !(req && req->conservative);
	for (size_t i = 0; req && i < req->nupdate; i++)
		lk_unlock(&k, req->update[i], deep, 0);
	for (size_t g = 0; req && g < req->ngroups; g++)
		for (size_t i = 0; i < gf->ndeps; i++)
			for (size_t j = 0; j < gf->deps[i].ngroups; j++)
				if (!strcmp(gf->deps[i].groups[j], req->groups[g]))
					lk_unlock(&k, gf->deps[i].name, deep, 0);

	/*
	 * Bundler 2.3's converge_locked_specs: the locked specs reachable from
	 * Gemfile dependencies that are unchanged, or that their locked version
	 * still satisfies, are kept at their version (unless unlocked); the rest
	 * resolve freely. An update (`update`, `lock --update`) never goes below
	 * a locked version (unless a git source moved: see lk_git_sources).
	 */
	k.floor = req && (req->update_all || req->nupdate || req->ngroups);
	if (!(req && req->update_all))
		lk_keep_closure(&k, gf);

	/* the git sources: kept at their locked revision, or fetched and resolved */
	r = lk_git_sources(&k, gitsrc, gitls, ngitsrc, gits, &ngits, err);
	if (r < 0)
		goto out;
	/* their gems are the only candidates of their names (the first source wins) */
	for (size_t s = 0; s < ngits; s++)
		for (size_t i = 0; i < gits[s]->nspecs; i++) {
			const struct lock_spec *sp = &gits[s]->specs[i];
			if (!hmap_get(&k.gitspec, strv_from(sp->name)))
				hmap_put(&k.gitspec, strv_from(sp->name), (void *)(uintptr_t)sp);
		}
	struct gem_source **gs = arena_alloc(a, ngsrc * sizeof(*gs));
	int *sids = arena_alloc(a, ngsrc * sizeof(*sids));
	k.paths = arena_alloc(a, ngsrc * sizeof(*k.paths));
	memset(k.paths, 0, ngsrc * sizeof(*k.paths));
	for (size_t j = 0; j < ngsrc; j++) {
		if (j && gsrc[j]->kind != GEMFILE_SRC_GEM) {
			gs[j] = NULL;
			r = lk_load_path(&k, gsrc[j], &k.paths[j], err);
			if (r < 0)
				goto out;
		} else {
			gs[j] = plan_source_remote(in, j ? gsrc[j]->remotes[0] : remote);
			if (!gs[j])
				goto too_many_sources;
		}
	}
	struct index_sync_opts so = {
		.cache_root = in->opts.cache_root,
		.config = in->config,
		.mode = !req || !req->index_mode ? INDEX_SYNC_NETWORK
			: req->index_mode == 1	 ? INDEX_SYNC_LOCAL
						 : INDEX_SYNC_PREFER_LOCAL,
		.io_backend = in->opts.io_backend,
	};
	r = index_sync_new(&so, &sync, err);
	int *gsids = arena_alloc(a, nglobal * sizeof(*gsids));
	struct gem_source **ggs = arena_alloc(a, nglobal * sizeof(*ggs));
	for (size_t m = 0; r == 0 && m < nglobal; m++) {
		ggs[m] = plan_source_remote(in, gsrc[0]->remotes[m]);
		if (!ggs[m])
			goto too_many_sources;
		gsids[m] = index_sync_add_source(sync, gsrc[0]->remotes[m], err);
		r = gsids[m] < 0 ? gsids[m] : 0;
	}
	for (size_t j = 0; r == 0 && j < ngsrc; j++) {
		sids[j] = k.paths[j].is_path ? -1
					     : index_sync_add_source(
						       sync, j ? gsrc[j]->remotes[0] : remote, err);
		r = sids[j] < 0 && !k.paths[j].is_path ? sids[j] : 0;
	}
	for (size_t i = 0; r == 0 && i < gf->ndeps; i++) {
		size_t j = lk_dep_source(gsrc, ngsrc, &gf->deps[i]);
		if (strcmp(gf->deps[i].name, "bundler") && !k.paths[j].is_path &&
		    !hmap_get(&k.gitspec, strv_from(gf->deps[i].name)))
			r = index_sync_want(sync, sids[j], gf->deps[i].name, err);
	}
	/* the dependencies of path and kept git gems come from the global source */
	for (size_t j = 0; r == 0 && j < ngsrc; j++)
		for (size_t i = 0; r == 0 && i < k.paths[j].nspecs; i++)
			for (size_t d = 0; r == 0 && d < k.paths[j].specs[i].ndeps; d++) {
				const char *dn = k.paths[j].specs[i].deps[d].name;
				if (strcmp(dn, "bundler") && !hmap_get(&k.gitspec, strv_from(dn)))
					r = index_sync_want(sync, sids[0], dn, err);
			}
	for (size_t s = 0; r == 0 && s < ngits; s++)
		for (size_t i = 0; r == 0 && i < gits[s]->nspecs; i++)
			for (size_t d = 0; r == 0 && d < gits[s]->specs[i].ndeps; d++) {
				const char *dn = gits[s]->specs[i].deps[d].name;
				if (strcmp(dn, "bundler") && !hmap_get(&k.gitspec, strv_from(dn)))
					r = index_sync_want(sync, sids[0], dn, err);
			}
	if (r == 0)
		r = index_sync_run(sync, err);
	if (r < 0)
		goto out;
	/*
	 * Bundler 2.3's SourceMap#all_requirements: each Gemfile dependency comes
	 * from its source; every other gem a block source's closure finds there
	 * comes from that source (the first block that finds it); what a block
	 * source lacks comes from the global one.
	 */
	for (size_t i = 0; i < gf->ndeps; i++)
		if (!hmap_get(&k.srcof, strv_from(gf->deps[i].name)))
			hmap_put(&k.srcof, strv_from(gf->deps[i].name),
				 (void *)(uintptr_t)(lk_dep_source(gsrc, ngsrc, &gf->deps[i]) + 1));
	bool again = false;
	for (size_t j = 1; j < ngsrc; j++) {
		size_t n = 0;
		if (k.paths[j].is_path)
			continue;
		const struct index_sync_info *const *names = index_sync_names(sync, sids[j], &n);
		for (size_t i = 0; i < n; i++) {
			if (hmap_get(&k.srcof, strv_from(names[i]->name)) ||
			    hmap_get(&k.gitspec, strv_from(names[i]->name)))
				continue;
			if (names[i]->present) {
				hmap_put(&k.srcof, strv_from(arena_strdup(a, names[i]->name)),
					 (void *)(uintptr_t)(j + 1));
			} else {
				r = index_sync_want(sync, sids[0], names[i]->name, err);
				if (r < 0)
					goto out;
				again = true;
			}
		}
	}
	if (again && (r = index_sync_run(sync, err)) < 0)
		goto out;
	/*
	 * Several global remotes make one index (Bundler 2.3's aggregate): every
	 * name one of them was asked for is wanted from all of them, until none
	 * is new.
	 */
	for (bool more = nglobal > 1; more;) {
		more = false;
		for (size_t m = 0; r == 0 && m < nglobal; m++) {
			size_t n = 0;
			const struct index_sync_info *const *names =
				index_sync_names(sync, gsids[m], &n);
			for (size_t i = 0; r == 0 && i < n; i++) {
				if (hmap_get(&k.gwant, strv_from(names[i]->name)))
					continue;
				const char *nm = arena_strdup(a, names[i]->name);
				hmap_put(&k.gwant, strv_from(nm), lk_mark);
				for (size_t m2 = 0; r == 0 && m2 < nglobal; m2++)
					r = index_sync_want(sync, gsids[m2], nm, err);
				more = true;
			}
		}
		if (r == 0 && more)
			r = index_sync_run(sync, err);
		if (r < 0)
			goto out;
	}
	k.gfds = arena_alloc(a, nglobal * sizeof(*k.gfds));
	for (size_t m = 1; m < nglobal; m++) {
		k.gfds[m] = fs_open_dir(
			arena_printf(a, "%s/info", index_sync_source_dir(sync, gsids[m])));
		k.ngfds = m + 1;
	}
	k.info_fds = arena_alloc(a, ngsrc * sizeof(*k.info_fds));
	for (size_t j = 0; j < ngsrc; j++) {
		const char *dir =
			k.paths[j].is_path
				? NULL
				: arena_printf(a, "%s/info", index_sync_source_dir(sync, sids[j]));
		k.info_fds[j] = k.paths[j].is_path ? -1 : fs_open_dir(dir);
		k.nsrc = j + 1;
	}
	struct resolve_dep *roots = arena_alloc(a, (gf->ndeps + 1) * sizeof(*roots));
	size_t nroots = 0;
	for (size_t i = 0; i < gf->ndeps; i++) {
		/*
		 * Every group is resolved; a dependency for other platforms only
		 * (`platforms: :jruby`) is not, though DEPENDENCIES lists it, as
		 * Bundler 2.3's expand_dependencies does (for the local platform).
		 */
		if (!gf->deps[i].platform_ok)
			continue;
		roots[nroots++] = (struct resolve_dep){ gf->deps[i].name, gf->deps[i].reqs,
							gf->deps[i].location };
		struct lk_gem *g = lk_gem(&k, gf->deps[i].name, err, &r);
		if (!g)
			goto out;
		size_t j = lk_dep_source(gsrc, ngsrc, &gf->deps[i]);
		if (!g->nvers && k.paths[j].is_path) {
			sbuf_addf(err, "Could not find gem '%s' in source at `%s`.",
				  gf->deps[i].name, gsrc[j]->remotes[0]);
			r = -SC_ENOTFOUND;
			goto out;
		}
		if (!g->nvers && strcmp(gf->deps[i].name, "bundler")) {
			sbuf_addf(err,
				  "Could not find gem '%s' in rubygems repository %s or installed "
				  "locally.%s",
				  gf->deps[i].name, gs[j]->redacted,
				  so.mode == INDEX_SYNC_NETWORK
					  ? ""
					  : " (only the cached index was read)");
			r = -SC_ENOTFOUND;
			goto out;
		}
	}
	struct resolve_result res;
	size_t errlen = err->len;
	r = resolve_run(a, "Gemfile", roots, nroots, lk_fetch, &k, NULL, &res, err);
	if (r == -SC_ECONFLICT && (k.kept.len || k.floor)) {
		/* Bundler 2.3 would fail here; the locked versions become preferences */
		sbuf_setlen(err, errlen);
		k.soft = true;
		r = resolve_run(a, "Gemfile", roots, nroots, lk_fetch, &k, NULL, &res, err);
	}
	if (r < 0)
		goto out;

	if (req && req->outdated) {
		r = lk_outdated(&k, gf, gsrc, ngsrc, gs, ggs, nglobal, &res, req->outdated, err);
		if (r < 0)
			goto out;
	}

	/* the lockfile */
	struct lockfile lf = { 0 };
	struct lock_source *lss = arena_alloc(a, (ngsrc + ngits) * sizeof(*lss));
	size_t cap = res.npicks * k.nplatforms + 1, ngspecs = 0;
	for (size_t s = 0; s < ngits; s++)
		ngspecs += gits[s]->nspecs;
	struct lock_checksum *cks = arena_alloc(a, (cap + ngspecs) * sizeof(*cks));
	size_t ncks = 0;
	memset(lss, 0, (ngsrc + ngits) * sizeof(*lss));
	for (size_t j = 0; j < ngsrc; j++) {
		lss[j].kind = k.paths[j].is_path ? LOCK_SRC_PATH : LOCK_SRC_GEM;
		lss[j].opts = arena_alloc(a, (nglobal + 2) * sizeof(*lss[j].opts));
		lss[j].opts[0] =
			(struct lock_option){ "remote", k.paths[j].is_path ? gsrc[j]->remotes[0]
									   : gs[j]->remote };
		lss[j].nopts = 1;
		/* several global remotes: Bundler's remotes reversed (the Gemfile's order) */
		for (size_t m = 0; j == 0 && nglobal > 1 && m < nglobal; m++)
			lss[j].opts[m] =
				(struct lock_option){ "remote", ggs[nglobal - 1 - m]->remote };
		if (j == 0 && nglobal > 1)
			lss[j].nopts = nglobal;
		if (k.paths[j].is_path && gsrc[j]->glob &&
		    strcmp(gsrc[j]->glob, "{,*,*/*}.gemspec"))
			lss[j].opts[lss[j].nopts++] = (struct lock_option){ "glob", gsrc[j]->glob };
		lss[j].specs = arena_alloc(a, cap * sizeof(*lss[j].specs));
	}
	for (size_t i = 0; i < res.npicks; i++) {
		if (!strcmp(res.picks[i].name, "bundler") ||
		    hmap_get(&k.gitspec, strv_from(res.picks[i].name)))
			continue;
		struct lk_gem *g = hmap_get(&k.gems, strv_from(res.picks[i].name));
		uintptr_t si = (uintptr_t)hmap_get(&k.srcof, strv_from(g->name));
		struct lock_source *ls = &lss[si ? si - 1 : 0];
		struct lk_version *v = NULL;
		for (size_t j = 0; j < g->nvers && !v; j++)
			if (!strcmp(g->vers[j].version, res.picks[i].version))
				v = &g->vers[j];
		bool used[LOCK_VARIANTS_MAX + 1] = { 0 };
		for (size_t p = 0; p < k.nplatforms; p++) {
			int best = lk_best_variant(v, k.platforms[p]);
			if (best >= 0)
				used[best] = true;
		}
		for (size_t j = 0; j < v->nvar; j++) {
			if (!used[j])
				continue;
			const struct lk_variant *var = &v->var[j];
			cks[ncks++] =
				(struct lock_checksum){ g->name, v->version, var->platform,
							*var->sha256 ? var->sha256 : NULL, NULL };
			struct lock_spec *sp = &ls->specs[ls->nspecs++];
			bool ruby = !strcmp(var->platform, "ruby");
			*sp = (struct lock_spec){
				.name = g->name,
				.version = v->version,
				.platform = var->platform,
				.full_name = ruby ? arena_printf(a, "%s-%s", g->name, v->version)
						  : arena_printf(a, "%s-%s-%s", g->name, v->version,
								 var->platform),
				.source = ls,
			};
			sp->deps = arena_alloc(a, (var->ndeps + 1) * sizeof(*sp->deps));
			for (size_t d = 0; d < var->ndeps; d++)
				sp->deps[sp->ndeps++] =
					(struct lock_dep){ var->deps[d].name,
							   var->deps[d].reqs[0] ? var->deps[d].reqs
										: NULL };
		}
	}
	lf.sources = lss; /* the GEM and PATH sections, then the kept GIT ones */
	lf.nsources = ngsrc;
	/* the kept GIT sections, with the specs the resolution still uses */
	for (size_t s = 0; s < ngits; s++) {
		struct lock_source *gl = &lf.sources[lf.nsources];
		*gl = (struct lock_source){ .kind = LOCK_SRC_GIT,
					    .opts = gits[s]->opts,
					    .nopts = gits[s]->nopts };
		gl->specs = arena_alloc(a, (gits[s]->nspecs + 1) * sizeof(*gl->specs));
		for (size_t i = 0; i < gits[s]->nspecs; i++) {
			const struct lock_spec *sp = &gits[s]->specs[i];
			if (!resolve_result_version(&res, sp->name))
				continue;
			gl->specs[gl->nspecs] = *sp;
			gl->specs[gl->nspecs++].source = gl;
			cks[ncks++] = (struct lock_checksum){ sp->name, sp->version, sp->platform,
							      NULL, NULL };
		}
		if (gl->nspecs)
			lf.nsources++;
	}
	lf.platforms = k.platforms;
	lf.nplatforms = k.nplatforms;
	lf.deps = arena_alloc(a, (gf->ndeps + 1) * sizeof(*lf.deps));
	for (size_t i = 0; i < gf->ndeps; i++)
		lf.deps[lf.ndeps++] =
			(struct lock_dependency){ gf->deps[i].name,
						  gf->deps[i].reqs[0] ? gf->deps[i].reqs : NULL,
						  gf->deps[i].pinned };
	/* RUBY VERSION only with a `ruby` line: the locked one, else this Ruby */
	struct lock_format fmt = lockfile_format_for(k.bundler_version);
	if (gf->ruby && old->ruby_version) {
		lf.ruby_version = old->ruby_version;
	} else if (gf->ruby) {
		struct sbuf rv = SBUF_INIT;
		lockfile_ruby_version(&fmt, in->abi.version, in->abi.patchlevel, in->abi.engine,
				      NULL, &rv);
		lf.ruby_version = arena_strdup(a, sbuf_cstr(&rv));
		sbuf_release(&rv);
	}
	/* CHECKSUMS when the lockfile has them: the index's sha256 of each variant */
	lf.has_checksums = old->has_checksums;
	if (lf.has_checksums) {
		lf.checksums = cks;
		lf.nchecksums = ncks;
	}
	lf.bundled_with = k.bundler_version;
	lf.extra = old->extra;
	lf.nextra = old->nextra;
	lf.crlf = old->crlf;
	r = lockfile_write(&lf, k.bundler_version, ret_text);
	goto out;
too_many_sources:
	sbuf_addf(err, "%s names more than %d gem servers", in->opts.gemfile, LOCK_GEM_SOURCES_MAX);
	r = -SC_ETOOBIG;
out:
	index_sync_free(sync);
	for (size_t j = 0; j < k.nsrc; j++)
		if (k.info_fds[j] >= 0)
			close(k.info_fds[j]);
	hmap_release(&k.srcof);
	hmap_release(&k.gwant);
	hmap_release(&k.installed);
	for (size_t m = 1; m < k.ngfds; m++)
		if (k.gfds[m] >= 0)
			close(k.gfds[m]);
	hmap_release(&k.gems);
	hmap_release(&k.unlock);
	hmap_release(&k.locked);
	hmap_release(&k.pre);
	hmap_release(&k.kept);
	hmap_release(&k.gitspec);
	return r;
}

int lock_write(struct install *in, const struct sbuf *text, bool *ret_changed, struct sbuf *err)
{
	const char *path = in->opts.lockfile;
	int r;

	*ret_changed = false;
	if (!in->lock_missing && in->lock_text.len == text->len &&
	    !memcmp(in->lock_text.buf ? in->lock_text.buf : "", text->buf ? text->buf : "",
		    text->len))
		return 0;
	/* Through a symlinked lockfile, keeping its mode, as Bundler's File.write does. */
	r = fs_replace_if_changed(path, text->buf ? text->buf : "", text->len, 0644);
	if (r < 0) {
		sbuf_addf(err, "cannot write %s: %s", path, sc_strerror(r));
		return r;
	}
	*ret_changed = r > 0;
	return 0;
}
