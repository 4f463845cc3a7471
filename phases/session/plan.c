/*
 * plan.c: from a parsed Gemfile.lock to the set of gems to install and the
 * least work that is correct for each (design.md §1, "Planning").
 *
 *  1. Pick, for every locked name, the variant that fits the local platform
 *     (exact > compatible > ruby), from GEM and PATH sections.
 *  2. Walk the dependency closure from DEPENDENCIES through the chosen
 *     variants' dependencies; names without a usable variant for this
 *     platform are skipped, as Bundler does.
 *  3. Per gem, in this order: a default gem of this Ruby (same version) is
 *     used in place; a PATH gem is used in place; a gem already in .bundle
 *     is kept; a valid cached/ entry is materialized; a .gem in inbound/ is
 *     assembled; anything else is fetched. With install_opts.readonly a gem
 *     that is not installed is planned PLAN_FETCH without looking at the cache. A cached entry that fails the
 *     cheap check (cache.h) is quarantined and rebuilt like a missing one.
 *     A PATH gem whose directory is missing fails the install with
 *     Bundler's message. A GIT source's options are checked (git.c) and
 *     its checkout planned once, on its first gem (see plan_git).
 *     A gem to fetch from a GEM section with several remotes comes from
 *     the remote whose index lists its version and platform, the last
 *     remote of the section first (Bundler 2.3 fetches its remotes in that
 *     order and keeps the first spec it finds: a later `source` line wins);
 *     the indexes of those remotes are synced first (plan_remotes), and
 *     the checksum comes from the chosen remote's line.
 *  4. Build the job graph: index -> fetch -> assemble -> [compile] ->
 *     promote -> materialize, with a remote artifact cache (remote.c) a pull
 *     job beside the fetch (assemble waits for both) and a push job after
 *     promote (git: git -> [compile] -> promote ->
 *     materialize), and finalize after every materialize.
 *
 * Planning runs before the reactor and makes only bounded synchronous calls:
 * one fstatat per installed-check, one manifest read and one fstatat per
 * cached file (the cheap check) per gem to materialize.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "base/clock.h"
#include "base/digest.h"
#include "base/err.h"
#include "base/shell.h"
#include "base/trace.h"
#include "bundle/config.h"
#include "bundle/index.h"
#include "bundle/platform.h"
#include "fsops/fsops.h"
#include "phases/index_sync.h"
#include "phases/phase.h"
#include "phases/remote.h"

const char *const gem_plan_name[GEM_PLAN__COUNT] = {
	[PLAN_DEFAULT_GEM] = "default", [PLAN_PATH] = "path",
	[PLAN_INSTALLED] = "installed", [PLAN_MATERIALIZE] = "materialize",
	[PLAN_ASSEMBLE] = "assemble",	[PLAN_FETCH] = "fetch",
	[PLAN_GIT] = "git", [PLAN_GIT_MEMBER] = "git-member",
	[PLAN_UNSUPPORTED] = "unsupported",
};

const char *const link_mode_name[LINK_MODE__COUNT] = {
	[LINK_AUTO] = "auto", [LINK_CLONE] = "clone",	  [LINK_HARDLINK] = "hardlink",
	[LINK_COPY] = "copy", [LINK_SYMLINK] = "symlink",
};

static struct gem_source *plan_source(struct install *in, const struct lock_source *src)
{
	return plan_source_remote(in, lock_source_opt(src, "remote"));
}

struct gem_source *plan_source_remote(struct install *in, const char *remote)
{
	struct sbuf buf = SBUF_INIT;

	if (!in->sources)
		in->sources = arena_alloc(&in->arena, LOCK_GEM_SOURCES_MAX * sizeof(*in->sources));

	if (!remote)
		return NULL;
	sbuf_addstr(&buf, remote);
	if (!buf.len || buf.buf[buf.len - 1] != '/')
		sbuf_addch(&buf, '/');
	for (size_t i = 0; i < in->nsources; i++) {
		if (!strcmp(in->sources[i].remote, buf.buf)) {
			sbuf_release(&buf);
			return &in->sources[i];
		}
	}
	if (in->nsources >= LOCK_GEM_SOURCES_MAX) {
		/* a lockfile cannot name more (bundle/lockfile.c); a Gemfile can */
		sbuf_release(&buf);
		return NULL;
	}
	struct gem_source *s = &in->sources[in->nsources++];
	/* The route (phases/mirror.h) normalizes the URL, credentials and mirror. */
	mirror_route_init(&s->route, &in->arena, in->config, buf.buf);
	s->remote = s->route.remote;
	s->redacted = s->route.redacted;
	s->userpwd = s->route.userpwd;
	/* index/<host>-<8 hex of the redacted URL>: readable and unique. */
	index_source_slug(s->redacted, &buf);
	s->slug = arena_strdup(&in->arena, buf.buf);
	s->index_fd = -1;
	sbuf_release(&buf);
	return s;
}

static struct gem *plan_add_gem(struct install *in, const struct lock_spec *spec)
{
	struct gem *g = arena_alloc(&in->arena, sizeof(*g));

	g->spec = spec;
	g->name = spec->name;
	g->version = spec->version;
	g->platform = spec->platform;
	g->full_name = spec->full_name;
	g->lock_fd = -1;
	g->entry = g->full_name;
	sbuf_init(&g->pkg, 0);
	sbuf_init(&g->metadata_gz, 0);
	in->gems = arena_grow_array(&in->arena, in->gems, sizeof(*in->gems), in->ngems,
				    &in->gems_cap);
	in->gems[in->ngems++] = g;
	hmap_put(&in->by_name, strv_from(g->name), g);
	return g;
}

/*
 * The best locked variant of `name` for this platform, or NULL; *ret_seen
 * lists the platforms that are locked (for the error when none fits).
 */
static const struct lock_spec *plan_pick(struct install *in, const char *name, struct sbuf *ret_seen)
{
	const struct lock_spec *best = NULL;
	enum platform_rank best_rank = PLATFORM_INCOMPATIBLE;

	for (size_t i = 0; i < in->lock.nsources; i++) {
		const struct lock_source *src = &in->lock.sources[i];
		for (size_t k = 0; k < src->nspecs; k++) {
			const struct lock_spec *s = &src->specs[k];
			if (strcmp(s->name, name))
				continue;
			sbuf_addf(ret_seen, "%s%s", ret_seen->len ? ", " : "", s->full_name);
			enum platform_rank r =
				platform_rank(strv_from(s->platform), strv_from(in->abi.platform));
			if (r > best_rank) {
				best = s;
				best_rank = r;
			}
		}
	}
	return best;
}

static int plan_closure(struct install *in, struct sbuf *err)
{
	const char **queue = arena_alloc(&in->arena, 4096 * sizeof(*queue));
	size_t qcap = 4096, head = 0, tail = 0;
	struct hmap seen;
	int r = 0;

	hmap_init(&seen);
	size_t nroots = in->have_roots ? in->nroots : in->lock.ndeps;
	for (size_t i = 0; i < nroots; i++) {
		const char *n = in->have_roots ? in->roots[i] : in->lock.deps[i].name;
		if (!hmap_get(&seen, strv_from(n))) {
			hmap_put(&seen, strv_from(n), (void *)1);
			queue[tail++] = n;
		}
	}
	while (head < tail) {
		const char *name = queue[head++];
		struct sbuf locked = SBUF_INIT;
		if (!strcmp(name, "bundler"))
			continue;
		const struct lock_spec *spec = plan_pick(in, name, &locked);
		if (!spec && locked.len) {
			/* Needed here, but locked for other platforms only: never skip it silently. */
			sbuf_addf(err,
				  "Gemfile.lock has no variant of '%s' for this platform (%s); it locks "
				  "%s. Run `bundle lock --add-platform %s` where the gems are available",
				  name, in->abi.platform, locked.buf, in->abi.platform);
			sbuf_release(&locked);
			r = -SC_ELOCKFILE;
			break;
		}
		sbuf_release(&locked);
		if (!spec) {
			sbuf_addf(err, "Gemfile.lock has no spec for '%s' (check that it is up to date)",
				  name);
			r = -SC_ELOCKFILE;
			break;
		}
		plan_add_gem(in, spec);
		for (size_t k = 0; k < spec->ndeps; k++) {
			const char *d = spec->deps[k].name;
			if (hmap_get(&seen, strv_from(d)))
				continue;
			hmap_put(&seen, strv_from(d), (void *)1);
			if (tail == qcap) {
				const char **nq = arena_alloc(&in->arena, 2 * qcap * sizeof(*nq));
				memcpy(nq, queue, qcap * sizeof(*nq));
				queue = nq;
				qcap *= 2;
			}
			queue[tail++] = d;
		}
	}
	hmap_release(&seen);
	return r;
}

static int plan_gem_cmp(const void *a, const void *b)
{
	const struct gem *x = *(struct gem *const *)a, *y = *(struct gem *const *)b;

	return strcmp(x->full_name, y->full_name);
}

static void plan_link_deps(struct install *in)
{
	for (size_t i = 0; i < in->ngems; i++) {
		struct gem *g = in->gems[i];
		g->deps = arena_alloc(&in->arena, (g->spec->ndeps + 1) * sizeof(*g->deps));
		for (size_t k = 0; k < g->spec->ndeps; k++) {
			struct gem *d = hmap_get(&in->by_name, strv_from(g->spec->deps[k].name));
			if (d && d != g) {
				g->deps[g->ndeps++] = d;
				d->ndependents++;
			}
		}
	}
}

/*
 * BUNDLE_BUILD__<NAME> (bundle config build.<name>): arguments for the
 * gem's extconf. A gem built with them is a different artifact, so it gets a
 * cache entry of its own.
 */
static void plan_build_args(struct install *in, struct gem *g)
{
	struct sbuf key = SBUF_INIT;
	char *setting = arena_printf(&in->arena, "build.%s", g->name);
	const char *v;

	bconfig_key_for(setting, &key);
	v = bconfig_get(in->config, key.buf);
	sbuf_release(&key);
	if (!v || !*v)
		return;
	int n = shell_split(&in->arena, v, &g->build_args);
	if (n <= 0) {
		g->build_args = NULL;
		return;
	}
	g->nbuild_args = (size_t)n;
	char hex[DIGEST_SHA256_HEX];
	struct sbuf all = SBUF_INIT;
	for (size_t i = 0; i < g->nbuild_args; i++)
		sbuf_add(&all, g->build_args[i], strlen(g->build_args[i]) + 1);
	sha256_hex(all.buf, all.len, hex);
	sbuf_release(&all);
	g->entry = arena_printf(&in->arena, "%s+build-%.8s", g->full_name, hex);
}

/*
 * A damaged cached entry (cache.h: the cheap check failed). When its lock is
 * free, it is checked again under the lock (another process may have
 * rebuilt it meanwhile: true, use it) and else quarantined; the lock is then
 * kept, and the gem goes through fetch/assemble/promote like a new one. When
 * another process holds the lock it is rebuilding the entry: our fetch or
 * assemble waits for it and uses what it promoted.
 */
static bool plan_repair(struct install *in, struct gem *g)
{
	const char *damage = g->damage;

	if (cache_lock_entry(in, g) < 0)
		return false;
	int r = cache_load_manifest(in, g);
	if (r == 0) {
		cache_unlock_entry(in, g);
		g->damage = NULL;
		return true;
	}
	if (r == -SC_ECACHE)
		(void)cache_quarantine_gem(in, g); /* on failure promote.c tries again */
	else
		g->damage = damage; /* already gone: someone else quarantined it */
	return false;
}

/* Reads the cached list of a git entry's gems (git.c); true when usable. */
static bool plan_git_specs(struct install *in, struct gem *g)
{
	struct sbuf text = SBUF_INIT;
	bool ok = fs_read_fileat(in->cached_fd, arena_printf(&in->arena, "%s.gemspec", g->entry),
				 &text, (size_t)64 << 20) == 0 &&
		  git_specs_parse(in, g->git, sbuf_strv(&text)) == 0;

	sbuf_release(&text);
	return ok;
}

/*
 * Is the checkout in .bundle complete? Bundler only asks whether its
 * directory exists; a run killed while materializing would then leave a
 * partial checkout that passes. Every row of the entry's manifest is looked
 * up instead (one fstatat each, files by size), as the cache's cheap check does.
 */
static bool plan_git_installed(struct install *in, struct gem *g)
{
	const struct manifest *m = g->manifest;
	const char *name = g->git->install_name;

	for (size_t i = 0; i < m->nentries; i++) {
		const struct mf_entry *e = &m->entries[i];
		struct stat st;
		const char *path = e->path[0] == 'e'
					   ? arena_printf(&in->arena, "bundler/gems/%s/%s/%s", in->ext_dir,
							  name, e->path + 4)
					   : arena_printf(&in->arena, "bundler/gems/%s/%s", name, e->path + 4);
		if (fstatat(in->root_fd, path, &st, AT_SYMLINK_NOFOLLOW) < 0)
			return false;
		if (e->type == MF_FILE && (!S_ISREG(st.st_mode) || (uint64_t)st.st_size != e->size))
			return false;
	}
	return fs_is_dir_at(in->root_fd, arena_printf(&in->arena, "bundler/gems/%s", name));
}

/*
 * A GIT source's gem: the first of the source (by name) leads, its jobs
 * install the whole checkout; the others are members. The leader is
 * installed when bundler/gems/<base>-<rev12> holds its whole entry,
 * materialized from a valid cache entry, else fetched.
 */
static int plan_git(struct install *in, struct gem *g, struct sbuf *err)
{
	const struct lock_source *src = g->spec->source;
	struct git_repo *repo = NULL;

	for (size_t i = 0; i < in->ngitrepos; i++)
		if (in->gitrepos[i]->src == src)
			repo = in->gitrepos[i];
	if (!repo) {
		repo = arena_alloc(&in->arena, sizeof(*repo));
		repo->src = src;
		int r = git_repo_init(in, src, repo, err);
		if (r < 0)
			return r;
		/*
		 * Two GIT sections of one checkout (the same repository and
		 * revision, locked through another branch or ref): Bundler
		 * installs both into one directory; one leader installs it here.
		 */
		for (size_t i = 0; i < in->ngitrepos; i++) {
			struct git_repo *o = in->gitrepos[i];
			if (!strcmp(o->install_name, repo->install_name) &&
			    !strcmp(o->revision, repo->revision) && !strcmp(o->glob, repo->glob) &&
			    o->submodules == repo->submodules && !strcmp(o->slug, repo->slug))
				repo = o;
		}
	}
	if (repo->src == src && repo->leader == NULL) {
		struct git_repo **nr =
			arena_alloc(&in->arena, (in->ngitrepos + 1) * sizeof(*nr));
		if (in->ngitrepos)
			memcpy(nr, in->gitrepos, in->ngitrepos * sizeof(*nr));
		nr[in->ngitrepos++] = repo;
		in->gitrepos = nr;
	}
	g->git = repo;
	g->subdir = "";
	if (repo->leader) {
		g->plan = PLAN_GIT_MEMBER;
		g->entry = repo->leader->entry;
		return 0;
	}
	repo->leader = g;
	g->entry = repo->install_name;
	if (repo->submodules || strcmp(repo->glob, "{,*,*/*}.gemspec")) {
		char hex[DIGEST_SHA256_HEX];
		char *key = arena_printf(&in->arena, "%d\n%s", repo->submodules, repo->glob);
		sha256_hex(key, strlen(key), hex);
		g->entry = arena_printf(&in->arena, "%s+%.8s", repo->install_name, hex);
	}
	int r = cache_load_manifest(in, g);
	if ((r == 0 || (r == -SC_ECACHE && !in->opts.readonly && plan_repair(in, g))) &&
	    plan_git_specs(in, g)) {
		g->plan = !in->opts.force && in->root_fd >= 0 && plan_git_installed(in, g)
				  ? PLAN_INSTALLED
				  : PLAN_MATERIALIZE;
		return 0;
	}
	g->manifest = NULL;
	g->plan = PLAN_GIT;
	/*
	 * Read-only, without the cache's entry: installed when its checkout
	 * is there, as Bundler asks (its gemspecs are then unknown).
	 */
	if (in->opts.readonly && in->root_fd >= 0 &&
	    fs_is_dir_at(in->root_fd, arena_printf(&in->arena, "bundler/gems/%s", repo->install_name)))
		g->plan = PLAN_INSTALLED;
	return 0;
}

int plan_path_dir(struct install *in, const char *remote, const char **ret_abs, struct sbuf *err)
{
	struct stat st;
	char *abs;

	abs = remote[0] == '/' ? arena_strdup(&in->arena, remote)
			       : arena_printf(&in->arena, "%s/%s", in->opts.app_dir, remote);
	/* File.expand_path: "." and ".." components and a trailing '/' are folded. */
	char *resolved = realpath(abs, NULL);
	if (resolved) {
		abs = arena_strdup(&in->arena, resolved);
		free(resolved);
	}
	*ret_abs = abs;
	if (stat(abs, &st) == 0 && S_ISDIR(st.st_mode))
		return 0;
	sbuf_addf(err, "The path `%s` %s", abs,
		  stat(abs, &st) == 0 ? "is not a directory." : "does not exist.");
	return -SC_ENOTFOUND;
}

/* Bundler's Source::Path#load_spec_files: a path that is not a directory fails the install. */
static int plan_path_check(struct install *in, struct gem *g, struct sbuf *err)
{
	const char *remote = lock_source_opt(g->spec->source, "remote");
	const char *abs;

	if (!remote)
		return 0;
	return plan_path_dir(in, remote, &abs, err);
}

static void plan_decide(struct install *in, struct gem *g)
{
	char name[512];
	const char *dv = hmap_get(&in->abi.default_gems, strv_from(g->name));

	if (g->spec->source->kind == LOCK_SRC_PATH) {
		g->plan = PLAN_PATH;
		return;
	}
	if (g->spec->source->kind != LOCK_SRC_GEM) {
		g->plan = PLAN_UNSUPPORTED;
		return;
	}
	g->source = plan_source(in, g->spec->source);
	if (!g->source) { /* not reached: the lockfile bounds its GEM sections */
		g->plan = PLAN_UNSUPPORTED;
		return;
	}
	if (dv && !strcmp(dv, g->version) && !strcmp(g->platform, "ruby")) {
		g->plan = PLAN_DEFAULT_GEM;
		return;
	}
	g->checksum = lockfile_checksum(&in->lock, g->name, g->version, g->platform);
	plan_build_args(in, g);
	snprintf(name, sizeof(name), "%s.gemspec", g->full_name);
	/* A specifications/ the run found empty (or created) holds no gemspec. */
	if (!in->opts.force && in->specs_fd >= 0 && !in->specs_fresh &&
	    fs_exists_at(in->specs_fd, name) &&
	    fs_exists_at(in->gems_fd, g->full_name)) {
		g->plan = PLAN_INSTALLED;
		return;
	}
	if (in->opts.readonly) {
		g->plan = PLAN_FETCH; /* not installed; the cache is not looked at */
		return;
	}
	int r = cache_load_manifest(in, g);
	/* list --remote only reads: a damaged entry is left for an install to repair. */
	if (r == 0 || (r == -SC_ECACHE && !in->opts.remote_list && plan_repair(in, g))) {
		g->plan = PLAN_MATERIALIZE;
		return;
	}
	snprintf(name, sizeof(name), "%s.gem", g->full_name);
	g->plan = fs_exists_at(in->inbound_fd, name) ? PLAN_ASSEMBLE : PLAN_FETCH;
}

static size_t plan_nremotes(const struct lock_source *src)
{
	size_t n = 0;

	for (size_t i = 0; i < src->nopts; i++)
		n += !strcmp(src->opts[i].key, "remote");
	return n;
}

/*
 * Does an info body list version/platform? Copies its sha256 (or "") into
 * ret_hex. The last such line wins, as in index_info_checksum.
 */
static bool plan_info_has(struct strv body, const char *version, const char *platform,
			  char ret_hex[65])
{
	struct strv line;
	bool found = false;

	while (strv_next_line(&body, &line)) {
		struct index_info_line il;
		if (!line.len || strv_eq_cstr(line, "---") || index_info_parse_line(line, &il) < 0 ||
		    !strv_eq_cstr(il.version, version) || !strv_eq_cstr(il.platform, platform))
			continue;
		found = true;
		ret_hex[0] = '\0';
		if (il.checksum.len == 64) {
			for (size_t i = 0; i < 64; i++)
				ret_hex[i] = (char)(il.checksum.p[i] | 0x20);
			ret_hex[64] = '\0';
		}
	}
	return found;
}

/*
 * The gems to fetch from GEM sections with several remotes: syncs those
 * remotes' indexes for them, then gives each gem the remote that lists it
 * (the last one first) and that line's checksum when the lockfile has none.
 */
static int plan_remotes(struct install *in, struct sbuf *err)
{
	struct index_sync *sync = NULL;
	size_t nwant = 0;
	int r = 0;

	for (size_t i = 0; i < in->ngems; i++) {
		struct gem *g = in->gems[i];
		if (g->plan == PLAN_FETCH && g->spec->source->kind == LOCK_SRC_GEM &&
		    plan_nremotes(g->spec->source) > 1)
			nwant++;
	}
	if (!nwant || in->opts.readonly)
		return 0;
	struct index_sync_opts so = {
		.cache_root = in->opts.cache_root,
		.config = in->config,
		.mode = INDEX_SYNC_NETWORK,
		.io_backend = in->opts.io_backend,
	};
	if ((r = index_sync_new(&so, &sync, err)) < 0)
		return r;
	for (size_t i = 0; r == 0 && i < in->ngems; i++) {
		struct gem *g = in->gems[i];
		const struct lock_source *src = g->spec->source;
		if (g->plan != PLAN_FETCH || src->kind != LOCK_SRC_GEM || plan_nremotes(src) < 2)
			continue;
		for (size_t o = 0; r == 0 && o < src->nopts; o++) {
			if (strcmp(src->opts[o].key, "remote"))
				continue;
			int sid = index_sync_add_source(sync, src->opts[o].value, err);
			r = sid < 0 ? sid : index_sync_want(sync, sid, g->name, err);
		}
	}
	if (r == 0)
		r = index_sync_run(sync, err);
	for (size_t i = 0; r == 0 && i < in->ngems; i++) {
		struct gem *g = in->gems[i];
		const struct lock_source *src = g->spec->source;
		if (g->plan != PLAN_FETCH || src->kind != LOCK_SRC_GEM || plan_nremotes(src) < 2)
			continue;
		for (size_t o = src->nopts; o-- > 0;) {
			if (strcmp(src->opts[o].key, "remote"))
				continue;
			int sid = index_sync_add_source(sync, src->opts[o].value, err);
			const struct index_sync_info *info =
				sid < 0 ? NULL : index_sync_info(sync, sid, g->name);
			char hex[65];
			if (!info || !info->present ||
			    !plan_info_has(info->body, g->version, g->platform, hex))
				continue;
			struct gem_source *gs = plan_source_remote(in, src->opts[o].value);
			if (gs)
				g->source = gs;
			if (!g->checksum && hex[0])
				g->checksum = arena_strdup(&in->arena, hex);
			break;
		}
	}
	index_sync_free(sync);
	return r;
}

int plan_build(struct install *in, struct sbuf *err)
{
	int r;

	hmap_init(&in->by_name);
	in->sources = arena_alloc(&in->arena, LOCK_GEM_SOURCES_MAX * sizeof(*in->sources));
	in->nsources = 0;
	r = plan_closure(in, err);
	if (r < 0)
		return r;
	qsort(in->gems, in->ngems, sizeof(*in->gems), plan_gem_cmp);
	plan_link_deps(in);
	for (size_t i = 0; i < in->ngems; i++) {
		struct gem *g = in->gems[i];
		enum lock_source_kind kind = g->spec->source->kind;
		if (kind == LOCK_SRC_PATH && (r = plan_path_check(in, g, err)) < 0)
			return r;
		if (kind == LOCK_SRC_GIT) {
			if ((r = plan_git(in, g, err)) < 0)
				return r;
		} else {
			plan_decide(in, g);
		}
		if (trace_enabled) {
			struct trace_ctx ctx = { .phase = "plan", .gem = g->full_name };
			trace_event(&ctx, "plan", gem_plan_name[g->plan]);
		}
	}
	in->stats.gems = (unsigned)in->ngems;
	return plan_remotes(in, err);
}

/* Priority: gems many others depend on first (they gate compiles). */
static int plan_prio(const struct gem *g)
{
	return (int)g->ndependents;
}

/* `scint cache pull|list --remote [GEMS]`: is g one of the gems named (all when none)? */
bool plan_named(const struct install *in, const struct gem *g)
{
	if (!in->opts.npush_only)
		return true;
	for (size_t i = 0; i < in->opts.npush_only; i++)
		if (!strcmp(in->opts.push_only[i], g->name) ||
		    !strcmp(in->opts.push_only[i], g->full_name))
			return true;
	return false;
}

/*
 * The job graph of `scint cache pull` and `scint cache list --remote`: no
 * materialize, no finalize, no push; nothing reaches the bundle path.
 *   pull: for a gem the cache lacks, fetch (when not in inbound/) beside the
 *         remote's pull job (after the fetch when no checksum is known: the
 *         .gem's SHA-256 is part of the key), assemble (a verified artifact
 *         is unpacked in place of the .gem; a gem with extensions and no
 *         artifact is dropped there, not built: assemble.c) and promote.
 *   list: for every gem of a GEM source, the pull job alone, which asks for
 *         the index object only (remote.c); the checksum comes from the
 *         lockfile, the cached entry's manifest or the compact index.
 */
static int plan_submit_remote(struct install *in)
{
	struct sched *s = in->sched;

	for (size_t i = 0; i < in->ngems; i++) {
		struct gem *g = in->gems[i];
		struct job *last = NULL, *pull = NULL, *ix = NULL;
		bool gem_source = g->plan == PLAN_FETCH || g->plan == PLAN_ASSEMBLE ||
				  g->plan == PLAN_MATERIALIZE;
		if (!gem_source || !plan_named(in, g))
			continue;
		if (in->opts.remote_list) {
			if (!g->checksum && g->manifest && g->manifest->gem_sha256)
				g->checksum = g->manifest->gem_sha256;
			ix = g->checksum ? NULL : index_job_new(in, g);
			(void)remote_pull_job_new(in, g, ix);
			continue;
		}
		if (g->plan == PLAN_MATERIALIZE)
			continue; /* cached already */
		if (g->plan == PLAN_FETCH) {
			ix = g->checksum ? NULL : index_job_new(in, g);
			last = fetch_job_new(in, g, ix);
		}
		/* Without a checksum the key waits for the .gem's own SHA-256. */
		pull = remote_pull_job_new(in, g, g->checksum || !last ? ix : last);
		last = assemble_job_new(in, g, last);
		if (pull)
			job_depends(last, pull);
		last = promote_job_new(in, g, last);
		g->last = last;
	}
	size_t n;
	struct job *const *jobs = sched_jobs(s, &n);
	for (size_t i = 0; i < n; i++)
		sched_submit(s, jobs[i]);
	return 0;
}

int plan_submit(struct install *in)
{
	struct sched *s = in->sched;

	if (in->opts.remote_pull || in->opts.remote_list)
		return plan_submit_remote(in);

	finalize_job_init(in);
	for (size_t i = 0; i < in->ngems; i++) {
		struct gem *g = in->gems[i];
		struct job *last = NULL, *pull = NULL;
		switch (g->plan) {
		case PLAN_FETCH: {
			struct job *ix = g->checksum ? NULL : index_job_new(in, g);
			last = fetch_job_new(in, g, ix);
			pull = remote_pull_job_new(in, g, ix);
		}
			/* fall through */
		case PLAN_ASSEMBLE:
			if (g->plan == PLAN_ASSEMBLE)
				pull = remote_pull_job_new(in, g, NULL);
			last = assemble_job_new(in, g, last);
			if (pull) /* a remote hit takes the place of unpacking and building */
				job_depends(last, pull);
			last = promote_job_new(in, g, last);
			(void)remote_push_job_new(in, g, last);
			/* fall through */
		case PLAN_MATERIALIZE:
			if (g->plan == PLAN_MATERIALIZE)
				(void)remote_push_job_new(in, g, NULL);
			last = materialize_job_new(in, g, last);
			job_depends(&in->finalize_job, last);
			break;
		case PLAN_GIT:
			last = git_job_new(in, g);
			last = promote_job_new(in, g, last);
			last = materialize_job_new(in, g, last);
			job_depends(&in->finalize_job, last);
			break;
		case PLAN_INSTALLED:
			(void)remote_push_job_new(in, g, NULL);
			break;
		case PLAN_DEFAULT_GEM:
		case PLAN_PATH:
		case PLAN_GIT_MEMBER:
		case PLAN_UNSUPPORTED:
		case GEM_PLAN__COUNT:
			break;
		}
		g->last = last;
		(void)plan_prio;
	}
	/* A git source's other gems are in place when its leader is. */
	for (size_t i = 0; i < in->ngems; i++) {
		struct gem *g = in->gems[i];
		if (g->plan == PLAN_GIT_MEMBER)
			g->last = g->git->leader->last;
	}
	/* Submit in graph order so that each job sees its deps registered. */
	size_t n;
	struct job *const *jobs = sched_jobs(s, &n);
	for (size_t i = 0; i < n; i++)
		sched_submit(s, jobs[i]);
	return 0;
}
