/*
 * gemfile.c: is Gemfile.lock still the lock of this Gemfile, and which of its
 * dependencies does this install want?
 *
 * scint installs from the lockfile; it does not resolve. A Gemfile edited
 * without `bundle lock` would otherwise be installed silently from a stale
 * lock. So the Gemfile is evaluated with Bundler's own DSL (by the Ruby
 * helper, `--gemfile`) and its dependencies compared with the lockfile's
 * DEPENDENCIES: names, requirements and explicit sources must agree.
 * (The helper call is `gemfile`, see bundle/helper.rb.)
 *
 * The evaluation also gives what the lockfile cannot: groups and platforms.
 * Dependencies for other platforms only, in BUNDLE_WITHOUT groups, or in
 * optional groups not named in BUNDLE_WITH are not installed, as Bundler does.
 *
 * The answer is cached in <cache>/gemfiles/<key>.deps, keyed by the contents
 * of the Gemfile, the lockfile and the app's *.gemspec files (`gemspec`
 * reads them) and by the interpreter, not by where the app is: a warm install
 * (in this checkout or another) reads one small file and starts no Ruby.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "base/digest.h"
#include "base/err.h"
#include "bundle/config.h"
#include "fsops/fsops.h"
#include "phases/phase.h"

#define GEMFILE_MAX (16u << 20)


/* Folds the app's *.gemspec files (read by `gemspec` in a Gemfile) into the key. */
static void gemfile_key_gemspec(int dirfd, const char *name, void *data)
{
	struct digest *d = data;
	struct sbuf spec = SBUF_INIT;
	size_t n = strlen(name);

	if (n < 8 || strcmp(name + n - 8, ".gemspec"))
		return;
	digest_update(d, name, n + 1);
	if (fs_read_fileat(dirfd, name, &spec, GEMFILE_MAX) == 0)
		digest_update(d, spec.buf, spec.len);
	sbuf_release(&spec);
}

static void gemfile_key(struct install *in, const struct sbuf *gemfile, char ret_hex[65])
{
	struct digest d;

	digest_init(&d, DIGEST_SHA256);
	digest_update(&d, "scint-gemfile-3", 16);
	/* Not the Gemfile's path: a fresh checkout of the same app must hit the cache. */
	digest_update(&d, in->abi.ruby, strlen(in->abi.ruby) + 1);
	digest_update(&d, gemfile->buf ? gemfile->buf : "", gemfile->len);
	digest_update(&d, "", 1);
	digest_update(&d, in->lock_text.buf, in->lock_text.len);
	(void)fs_list_dirat(AT_FDCWD, in->opts.app_dir, gemfile_key_gemspec, &d);
	digest_final_hex(&d, ret_hex);
}

/* Reads the cached evaluation, or evaluates the Gemfile with the helper and caches it. */
static int gemfile_evaluate(struct install *in, struct sbuf *out, struct sbuf *err)
{
	struct sbuf gemfile = SBUF_INIT;
	char hex[DIGEST_SHA256_HEX];
	int r = fs_read_file(in->opts.gemfile, &gemfile, GEMFILE_MAX);

	if (r < 0) {
		sbuf_addf(err, "cannot read %s: %s", in->opts.gemfile, sc_strerror(r));
		return r;
	}
	sbuf_addstr(&in->gemfile_digest, "");
	gemfile_key(in, &gemfile, hex);
	sbuf_release(&gemfile);
	sbuf_addstr(&in->gemfile_digest, hex);
	char *dir = arena_printf(&in->arena, "%s/gemfiles", in->opts.cache_root);
	char *name = arena_printf(&in->arena, "%.24s.deps", hex);
	char *path = arena_printf(&in->arena, "%s/%s", dir, name);
	if (fs_read_file(path, out, GEMFILE_MAX) == 0)
		return 0;
	sbuf_reset(out);
	struct sbuf why = SBUF_INIT;
	r = install_ruby_call(in, "gemfile", in->opts.gemfile, strlen(in->opts.gemfile), out, &why);
	if (r < 0) {
		sbuf_addf(err, "cannot evaluate %s: %s", in->opts.gemfile, why.buf);
		sbuf_release(&why);
		return r;
	}
	sbuf_release(&why);
	if (fs_mkdir_p(dir, 0755) == 0) {
		int dfd = fs_open_dir(dir);
		if (dfd >= 0) {
			(void)fs_write_atomic(dfd, name, out->buf ? out->buf : "", out->len, 0644);
			(void)close(dfd);
		}
	}
	return 0;
}

static size_t gemfile_parse(struct install *in, struct strv text, struct gemfile_dep **ret,
			    const char ***ret_optional, size_t *ret_noptional,
			    struct gemfile_eval *ev)
{
	struct strv rest = text, line, f[6];
	struct gemfile_dep *deps = NULL;
	const char **opt = NULL;
	size_t n = 0, cap = 0, nopt = 0, optcap = 0;

	while (strv_next_line(&rest, &line)) {
		size_t k = 0;
		struct strv tail = line;
		while (k < 6 && tail.len) {
			strv_cut(tail, '\t', &f[k], &tail);
			k++;
		}
		if (strv_eq_cstr(f[0], "optional_group") && k >= 2) {
			opt = arena_grow_array(&in->arena, opt, sizeof(*opt), nopt, &optcap);
			opt[nopt++] = arena_strv(&in->arena, f[1]);
			continue;
		}
		if (strv_eq_cstr(f[0], "source") && k >= 2) {
			ev->sources = arena_grow_array(&in->arena, ev->sources, sizeof(*ev->sources),
						       ev->nsources, &ev->capsources);
			ev->sources[ev->nsources++] = arena_strv(&in->arena, f[1]);
			continue;
		}
		if (strv_eq_cstr(f[0], "ruby_directive") && k >= 2) {
			ev->ruby_directive = arena_strv(&in->arena, f[1]);
			continue;
		}
		if (strv_eq_cstr(f[0], "bundler_version") && k >= 2) {
			ev->bundler_version = arena_strv(&in->arena, f[1]);
			continue;
		}
		if (!strv_eq_cstr(f[0], "dep") || k < 6)
			continue;
		deps = arena_grow_array(&in->arena, deps, sizeof(*deps), n, &cap);
		deps[n++] = (struct gemfile_dep){
			.name = arena_strv(&in->arena, f[1]),
			.reqs = arena_strv(&in->arena, f[2]),
			.groups = arena_strv(&in->arena, f[3]),
			.platform_ok = strv_eq_cstr(f[4], "1"),
			.pinned = strv_eq_cstr(f[5], "1"),
		};
	}
	*ret = deps;
	*ret_optional = opt;
	*ret_noptional = nopt;
	return n;
}

/* Is group g in the ':'- or ' '-separated list? */
static bool gemfile_in_list(const char *list, const char *g)
{
	size_t n = strlen(g);

	for (const char *p = list; p && *p;) {
		size_t k = strcspn(p, ": ");
		if (k == n && !strncmp(p, g, n))
			return true;
		p += k;
		p += strspn(p, ": ");
	}
	return false;
}

static bool gemfile_wanted(struct install *in, const struct gemfile_dep *d, const char **optional,
			   size_t noptional)
{
	const char *without = bconfig_get(in->config, "BUNDLE_WITHOUT");
	const char *with = bconfig_get(in->config, "BUNDLE_WITH");

	if (!d->platform_ok)
		return false;
	/* Bundler installs a dependency when any of its groups is requested. */
	for (const char *p = d->groups; *p;) {
		size_t k = strcspn(p, ",");
		char *g = arena_strndup(&in->arena, p, k);
		bool optional_only = false;
		for (size_t i = 0; i < noptional; i++)
			optional_only |= !strcmp(optional[i], g);
		if (!gemfile_in_list(without, g) && (!optional_only || gemfile_in_list(with, g)))
			return true;
		p += k;
		if (*p == ',')
			p++;
	}
	return false;
}

int gemfile_load(struct install *in, struct gemfile_eval *ret, struct sbuf *err)
{
	struct sbuf text = SBUF_INIT;
	int r;

	*ret = (struct gemfile_eval){ 0 };
	r = gemfile_evaluate(in, &text, err);
	if (r == 0)
		ret->ndeps = gemfile_parse(in, sbuf_strv(&text), &ret->deps, &ret->optional,
					   &ret->noptional, ret);
	sbuf_release(&text);
	return r;
}

bool gemfile_dep_wanted(struct install *in, const struct gemfile_eval *ev,
			const struct gemfile_dep *d)
{
	return gemfile_wanted(in, d, ev->optional, ev->noptional);
}

int gemfile_check(struct install *in, struct sbuf *err)
{
	struct sbuf diff = SBUF_INIT, added = SBUF_INIT, deleted = SBUF_INIT;
	struct gemfile_eval ev;
	struct gemfile_dep *deps;
	size_t ndeps;
	int r;

	in->gemfile_stale = false;
	r = gemfile_load(in, &ev, err);
	if (r < 0)
		goto out;
	deps = ev.deps;
	ndeps = ev.ndeps;
	for (size_t i = 0; i < ndeps; i++) {
		const struct gemfile_dep *d = &deps[i];
		const struct lock_dependency *l = NULL;
		if (!strcmp(d->name, "bundler"))
			continue;
		for (size_t k = 0; k < in->lock.ndeps && !l; k++)
			if (!strcmp(in->lock.deps[k].name, d->name))
				l = &in->lock.deps[k];
		bool changed = l && (strcmp(l->reqs ? l->reqs : "", d->reqs) || l->pinned != d->pinned);
		if (!l || changed)
			sbuf_addf(&added, "\n* %s%s%s%s", d->name, d->reqs[0] ? " (" : "", d->reqs,
				  d->reqs[0] ? ")" : "");
		if (changed)
			sbuf_addf(&deleted, "\n* %s%s%s%s", l->name, l->reqs ? " (" : "",
				  l->reqs ? l->reqs : "", l->reqs ? ")" : "");
		if (!l)
			sbuf_addf(&diff, "%s'%s' was added", diff.len ? ", " : "", d->name);
		else if (changed)
			sbuf_addf(&diff, "%s'%s' changed (%s%s%s in the lockfile, %s%s%s in the Gemfile)",
				  diff.len ? ", " : "", d->name, l->reqs ? l->reqs : "any version",
				  l->pinned ? ", own source" : "", "", d->reqs[0] ? d->reqs : "any version",
				  d->pinned ? ", own source" : "", "");
	}
	for (size_t k = 0; k < in->lock.ndeps; k++) {
		bool found = !strcmp(in->lock.deps[k].name, "bundler");
		for (size_t i = 0; i < ndeps && !found; i++)
			found = !strcmp(deps[i].name, in->lock.deps[k].name);
		if (!found) {
			const struct lock_dependency *l = &in->lock.deps[k];
			sbuf_addf(&diff, "%s'%s' was removed", diff.len ? ", " : "", l->name);
			sbuf_addf(&deleted, "\n* %s%s%s%s", l->name, l->reqs ? " (" : "",
				  l->reqs ? l->reqs : "", l->reqs ? ")" : "");
		}
	}
	if (diff.len) {
		in->gemfile_stale = true;
		in->gemfile_diff = arena_printf(&in->arena, "%s%s%s%s",
						added.len ? "\n\nYou have added to the Gemfile:" : "",
						added.len ? added.buf : "",
						deleted.len ? "\n\nYou have deleted from the Gemfile:" : "",
						deleted.len ? deleted.buf : "");
		sbuf_addf(err,
			  "%s does not match %s: %s. Run `bundle lock` to update the lockfile "
			  "(scint installs from the lockfile and does not resolve)",
			  in->opts.lockfile, in->opts.gemfile, diff.buf);
		r = -SC_ELOCKFILE;
		goto out;
	}
	in->roots = arena_alloc(&in->arena, (ndeps + 1) * sizeof(*in->roots));
	for (size_t i = 0; i < ndeps; i++)
		if (gemfile_wanted(in, &deps[i], ev.optional, ev.noptional))
			in->roots[in->nroots++] = deps[i].name;
	in->have_roots = true;
out:
	sbuf_release(&diff);
	sbuf_release(&added);
	sbuf_release(&deleted);
	return r;
}
