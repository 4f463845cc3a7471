/*
 * gemfile.c: is Gemfile.lock still the lock of this Gemfile, and which of its
 * dependencies does this install want?
 *
 * A Gemfile edited since the lockfile was written must not be installed
 * from the stale lock: scint resolves again (phases/lock.c) or, frozen,
 * refuses. So the Gemfile is evaluated with Bundler's own DSL (by the Ruby
 * helper, `--gemfile`) and its dependencies compared with the lockfile's
 * DEPENDENCIES: names, requirements and explicit sources must agree.
 * (The helper call is `gemfile`, see phases/ruby/helper.rb.)
 *
 * The evaluation also gives what the lockfile cannot: groups, platforms and
 * `require:` options (kept in in->gemfile_deps for the runtime lock).
 * Dependencies for other platforms only, in BUNDLE_WITHOUT groups, or in
 * optional groups not named in BUNDLE_WITH are not installed, as Bundler does.
 *
 * The answer (format and parser: bundle/gemfile.h) is cached in
 * <cache>/gemfiles/<key>.deps, keyed by the contents of the Gemfile, the
 * lockfile and the app's *.gemspec files (`gemspec` reads them), by the
 * interpreter and by the Bundler version, not by where the app is: a warm
 * install (in this checkout or another) reads one small file and starts no
 * Ruby. The answer also names what else the evaluation read: files
 * (eval_gemfile, gemspecs, a Gemfile.local it looked for) with their sha256,
 * and the environment variables the Gemfile looked at with the sha256 of
 * their values. A cached answer is used only while all of those still hold;
 * otherwise the Gemfile is evaluated again and the cache entry replaced.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/digest.h"
#include "base/err.h"
#include "bundle/config.h"
#include "bundle/gemfile.h"
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
	/* The DSL that evaluates it. */
	if (in->abi.bundler_version)
		digest_update(&d, in->abi.bundler_version, strlen(in->abi.bundler_version) + 1);
	digest_update(&d, gemfile->buf ? gemfile->buf : "", gemfile->len);
	digest_update(&d, "", 1);
	digest_update(&d, in->lock_text.buf, in->lock_text.len);
	(void)fs_list_dirat(AT_FDCWD, in->opts.app_dir, gemfile_key_gemspec, &d);
	digest_final_hex(&d, ret_hex);
}

/*
 * sha256 hex of a regular file's content; false when there is none (missing,
 * not a regular file, too big), as the helper's File.file? says. A FIFO or a
 * device a Gemfile looked at is never opened: that could block forever.
 */
static bool gemfile_file_sha(const char *path, char hex[DIGEST_SHA256_HEX])
{
	struct sbuf text = SBUF_INIT;
	struct digest d;
	struct stat st;
	bool ok = stat(path, &st) == 0 && S_ISREG(st.st_mode) &&
		  fs_read_file(path, &text, GEMFILE_MAX) == 0;

	if (ok) {
		digest_init(&d, DIGEST_SHA256);
		digest_update(&d, text.buf ? text.buf : "", text.len);
		digest_final_hex(&d, hex);
	}
	sbuf_release(&text);
	return ok;
}

/*
 * Does a cached answer still hold: the same Bundler, every file it read with
 * the same content (or still missing), every ENV variable the Gemfile read
 * with the same value (or still unset)? Sets *why to what changed.
 */
static bool gemfile_still_valid(struct install *in, const struct gemfile *gf, const char **why)
{
	char hex[DIGEST_SHA256_HEX];

	if (gf->bundler_version && in->abi.bundler_version &&
	    strcmp(gf->bundler_version, in->abi.bundler_version) != 0) {
		*why = "Bundler version";
		return false;
	}
	for (size_t i = 0; i < gf->nfiles; i++) {
		const struct gemfile_file *f = &gf->files[i];
		const char *path = f->path[0] == '/' ? f->path
						     : arena_printf(&in->arena, "%s/%s",
								    in->opts.app_dir, f->path);
		bool have = gemfile_file_sha(path, hex);
		if (have != (f->sha256 != NULL) || (have && strcmp(hex, f->sha256) != 0)) {
			*why = arena_printf(&in->arena, "file %s", f->path);
			return false;
		}
	}
	for (size_t i = 0; i < gf->nenvs; i++) {
		const struct gemfile_env *e = &gf->envs[i];
		const char *v = getenv(e->name);
		if (v) {
			struct digest d;
			digest_init(&d, DIGEST_SHA256);
			digest_update(&d, v, strlen(v));
			digest_final_hex(&d, hex);
		}
		if ((v != NULL) != (e->sha256 != NULL) || (v && strcmp(hex, e->sha256) != 0)) {
			*why = arena_printf(&in->arena, "environment variable %s", e->name);
			return false;
		}
	}
	return true;
}

/*
 * Are the inputs this install used still the ones on disk: the Gemfile and
 * the gemspecs beside it (the evaluation's key), the lockfile's bytes, and
 * every file and ENV variable the evaluation read? The no-op snapshot is
 * written only then (phases/snapshot.c): an edit made while the install ran
 * must not be recorded as installed.
 */
bool gemfile_inputs_current(struct install *in)
{
	struct sbuf gemfile = SBUF_INIT, lock = SBUF_INIT;
	char hex[DIGEST_SHA256_HEX];
	const char *why;
	bool ok = in->gemfile_digest.len == DIGEST_SHA256_HEX - 1 &&
		  fs_read_file(in->opts.gemfile, &gemfile, GEMFILE_MAX) == 0;

	if (ok) {
		gemfile_key(in, &gemfile, hex);
		ok = !strcmp(hex, sbuf_cstr(&in->gemfile_digest));
	}
	ok = ok && fs_read_file(in->opts.lockfile, &lock, in->lock_text.len + 1) == 0 &&
	     lock.len == in->lock_text.len &&
	     !memcmp(lock.buf ? lock.buf : "", in->lock_text.buf ? in->lock_text.buf : "", lock.len);
	ok = ok && gemfile_still_valid(in, &in->gemfile, &why);
	sbuf_release(&gemfile);
	sbuf_release(&lock);
	return ok;
}

/*
 * Reads the cached evaluation when it still holds, or evaluates the Gemfile
 * with the helper and caches it; parses the answer into in->gemfile.
 */
static int gemfile_evaluate(struct install *in, struct sbuf *err)
{
	struct sbuf gemfile = SBUF_INIT, out = SBUF_INIT, perr = SBUF_INIT;
	char hex[DIGEST_SHA256_HEX];
	const char *why = NULL;
	int r = fs_read_file(in->opts.gemfile, &gemfile, GEMFILE_MAX);

	if (r < 0) {
		sbuf_addf(err, "cannot read %s: %s", in->opts.gemfile, sc_strerror(r));
		return r;
	}
	sbuf_reset(&in->gemfile_digest);
	sha256_hex(gemfile.buf ? gemfile.buf : "", gemfile.len, in->gemfile_sha256);
	gemfile_key(in, &gemfile, hex);
	sbuf_release(&gemfile);
	sbuf_addstr(&in->gemfile_digest, hex);
	char *dir = arena_printf(&in->arena, "%s/gemfiles", in->opts.cache_root);
	char *name = arena_printf(&in->arena, "%.24s.deps", hex);
	char *path = arena_printf(&in->arena, "%s/%s", dir, name);
	if (fs_read_file(path, &out, GEMFILE_MAX) == 0 &&
	    gemfile_parse(&in->arena, sbuf_strv(&out), &in->gemfile, NULL) == 0 &&
	    gemfile_still_valid(in, &in->gemfile, &why)) {
		r = 0;
		goto out;
	}
	(void)why; /* what changed; the evaluation below replaces the entry */
	sbuf_reset(&out);
	struct sbuf cwhy = SBUF_INIT;
	r = install_ruby_call(in, "gemfile", in->opts.gemfile, strlen(in->opts.gemfile), &out, &cwhy);
	if (r < 0) {
		sbuf_addf(err, "cannot evaluate %s: %s", in->opts.gemfile, cwhy.buf);
		sbuf_release(&cwhy);
		goto out;
	}
	sbuf_release(&cwhy);
	r = gemfile_parse(&in->arena, sbuf_strv(&out), &in->gemfile, &perr);
	if (r < 0) {
		sbuf_addf(err, "the evaluation of %s is malformed: %s", in->opts.gemfile,
			  sbuf_cstr(&perr));
		r = -SC_ERUBY;
		goto out;
	}
	if (fs_mkdir_p(dir, 0755) == 0) {
		int dfd = fs_open_dir(dir);
		if (dfd >= 0) {
			(void)fs_write_atomic(dfd, name, out.buf ? out.buf : "", out.len, 0644);
			(void)close(dfd);
		}
	}
out:
	sbuf_release(&out);
	sbuf_release(&perr);
	return r;
}

int gemfile_load(struct install *in, struct sbuf *err)
{
	return gemfile_evaluate(in, err);
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

static bool gemfile_wanted(struct install *in, const struct gemfile_dep *d)
{
	const char *without = bconfig_get(in->config, "BUNDLE_WITHOUT");
	const char *with = bconfig_get(in->config, "BUNDLE_WITH");
	const struct gemfile *gf = &in->gemfile;

	if (!d->platform_ok)
		return false;
	/* Bundler installs a dependency when any of its groups is requested. */
	for (size_t i = 0; i < d->ngroups; i++) {
		const char *g = d->groups[i];
		bool optional_only = false;
		for (size_t k = 0; k < gf->noptional_groups; k++)
			optional_only |= !strcmp(gf->optional_groups[k], g);
		if (!gemfile_in_list(without, g) && (!optional_only || gemfile_in_list(with, g)))
			return true;
	}
	return false;
}

/* The lockfile section that locks gem name, or NULL. */
static const struct lock_source *gemfile_locked_source(const struct lockfile *lf, const char *name)
{
	for (size_t i = 0; i < lf->nsources; i++)
		for (size_t k = 0; k < lf->sources[i].nspecs; k++)
			if (!strcmp(lf->sources[i].specs[k].name, name))
				return &lf->sources[i];
	return NULL;
}

static bool gemfile_opt_eq(const struct lock_source *ls, const char *key, const char *want)
{
	const char *have = lock_source_opt(ls, key);

	return want ? have && !strcmp(have, want) : !have;
}

/*
 * Does the lockfile still lock a pinned dependency from the source the
 * Gemfile names (git remote and branch/tag/ref/glob/submodules, path, or a
 * block `source`)? A gem moved to another source must be locked again.
 */
bool gemfile_source_matches(const struct gemfile_source *gs, const struct lock_source *ls)
{
	const char *remote = gs->nremotes ? gs->remotes[0] : NULL;

	switch (gs->kind) {
	case GEMFILE_SRC_GIT:
		return ls->kind == LOCK_SRC_GIT && gemfile_opt_eq(ls, "remote", remote) &&
		       gemfile_opt_eq(ls, "branch", gs->branch) &&
		       gemfile_opt_eq(ls, "tag", gs->tag) && gemfile_opt_eq(ls, "ref", gs->ref) &&
		       gemfile_opt_eq(ls, "glob", gs->glob) &&
		       gemfile_opt_eq(ls, "submodules", gs->submodules ? "true" : NULL);
	case GEMFILE_SRC_PATH:
	case GEMFILE_SRC_GEMSPEC:
		return ls->kind == LOCK_SRC_PATH && gemfile_opt_eq(ls, "remote", remote);
	case GEMFILE_SRC_GEM:
		if (ls->kind != LOCK_SRC_GEM)
			return false;
		for (size_t i = 0; i < gs->nremotes; i++) {
			bool found = false;
			for (size_t k = 0; k < ls->nopts && !found; k++)
				found = !strcmp(ls->opts[k].key, "remote") &&
					!strcmp(ls->opts[k].value, gs->remotes[i]);
			if (!found)
				return false;
		}
		return true;
	}
	return true;
}

int gemfile_check(struct install *in, struct sbuf *err)
{
	struct sbuf diff = SBUF_INIT, added = SBUF_INIT, deleted = SBUF_INIT, moved = SBUF_INIT;
	const struct gemfile_dep *deps;
	size_t ndeps;
	int r;

	in->gemfile_stale = false;
	r = gemfile_evaluate(in, err);
	if (r < 0)
		goto out;
	deps = in->gemfile.deps;
	ndeps = in->gemfile.ndeps;
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
		const struct lock_source *ls = l && !changed && d->pinned && d->source
						       ? gemfile_locked_source(&in->lock, d->name)
						       : NULL;
		if (ls && !gemfile_source_matches(d->source, ls)) {
			const char *was = lock_source_opt(ls, "remote");
			sbuf_addf(&moved, "\n* %s from `%s` to `%s`", d->name, was ? was : "?",
				  d->source->nremotes ? d->source->remotes[0] : "?");
			sbuf_addf(&diff, "%s'%s' has another source", diff.len ? ", " : "",
				  d->name);
		}
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
		in->gemfile_diff = arena_printf(&in->arena, "%s%s%s%s%s%s",
						added.len ? "\n\nYou have added to the Gemfile:" : "",
						added.len ? added.buf : "",
						deleted.len ? "\n\nYou have deleted from the Gemfile:" : "",
						deleted.len ? deleted.buf : "",
						moved.len ? "\n\nYou have changed in the Gemfile:" : "",
						moved.len ? moved.buf : "");
		sbuf_addf(err,
			  "%s does not match %s: %s. Run `bundle lock` to update the lockfile "
			  "(scint installs from the lockfile and does not resolve)",
			  in->opts.lockfile, in->opts.gemfile, diff.buf);
		r = -SC_ELOCKFILE;
		goto out;
	}
	in->roots = arena_alloc(&in->arena, (ndeps + 1) * sizeof(*in->roots));
	for (size_t i = 0; i < ndeps; i++)
		if (gemfile_wanted(in, &deps[i]))
			in->roots[in->nroots++] = deps[i].name;
	in->have_roots = true;
out:
	sbuf_release(&diff);
	sbuf_release(&added);
	sbuf_release(&deleted);
	sbuf_release(&moved);
	return r;
}
