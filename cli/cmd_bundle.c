/*
 * cmd_bundle.c: the everyday commands that read an installed bundle, each
 * printing what Bundler 2.3's command prints (same lines, streams and exit
 * status) so that scripts keep working:
 *
 *   scint check            bundle check
 *   scint list             bundle list [--name-only | --paths]
 *   scint info GEM         bundle info GEM [--path | --version]
 *   scint clean            bundle clean [--dry-run]
 *   scint binstubs GEM...  bundle binstubs GEM... [--force] (wrappers use `scint exec`)
 *
 * They share one read-only session (cli_bundle_open): the lockfile, the
 * target Ruby and the Gemfile's evaluation, both cached as for install (no
 * Ruby starts when they are), and the install plan with install_opts.readonly
 * (nothing is created or written; a gem counts as installed when its
 * specification and directory are in the bundle, as for install).
 *
 * What needs a gem's specification (info's Summary and Homepage, clean's and
 * binstubs' executables) reads the installed specification file with
 * bundle/specfile.h (bounded, no Ruby); for a git gem, its checkout's
 * gemspec as kept in the cache (git_spec_of: bindir and executables, no
 * summary), its directory by git_gem_dir (as finalize writes it). A path
 * gem's specification is not known (no Ruby): info prints no Summary and
 * clean keeps no bin/ entry for its executables. list's groups are the
 * Gemfile's (in->gemfile), those BUNDLE_WITHOUT leaves out included, their
 * gems from the lockfile. Every path is made of the checked
 * names of Gemfile.lock and of single directory entries; clean opens every
 * directory below the bundle path with O_NOFOLLOW and removes with
 * fs_rmtree_at (which never follows a link).
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/err.h"
#include "bundle/config.h"
#include "bundle/names.h"
#include "bundle/specfile.h"
#include "cli/cli.h"
#include "engine/ioq.h"
#include "fsops/fsops.h"
#include "phases/session/install.h"

extern char **environ;

/* Bundler's exit statuses (Bundler::BundlerError#status_code). */
enum {
	BUNDLER_GEM_NOT_FOUND = 7,
	BUNDLER_INVALID_OPTION = 15
};

#define SPECFILE_MAX (4u << 20)

int cli_bundle_open(struct install *in, const char *gemfile, int *ret_stage)
{
	struct install_opts *o = &in->opts;
	struct sbuf err = SBUF_INIT;
	int r;

	*ret_stage = 1;
	arena_init(&in->arena);
	/* install_release closes these: none is open yet. */
	in->cache_fd = in->inbound_fd = in->assembling_fd = in->cached_fd = -1;
	in->locks_fd = in->index_fd = -1;
	in->root_fd = in->gems_fd = in->specs_fd = in->ext_fd = in->bin_fd = -1;
	o->readonly = true;
	o->jobs = 1;
	o->link_mode = LINK_AUTO;
	const char *uring = getenv("SCINT_IO_URING");
	o->io_backend = uring && uring[0] == '0' ? IOQ_BACKEND_SYNC : IOQ_BACKEND_AUTO;
	if ((r = cli_find_gemfile(&in->arena, gemfile, o)) < 0)
		return r;
	if ((r = cli_open_config(in, NULL, NULL, &err)) < 0)
		goto fail;
	if ((r = install_setup(in, &err)) < 0)
		goto fail;
	*ret_stage = 2;
	if ((r = install_prepare(in, &err)) < 0 || (r = plan_build(in, &err)) < 0)
		goto fail;
	sbuf_release(&err);
	return 0;
fail:
	cli_error("%s", err.len ? err.buf : sc_strerror(r));
	sbuf_release(&err);
	return r;
}

static bool bundle_installed(const struct gem *g)
{
	/* A git source's other gems are in place when its leader's checkout is. */
	if (g->plan == PLAN_GIT_MEMBER)
		return g->git && g->git->leader && g->git->leader->plan == PLAN_INSTALLED;
	return g->plan == PLAN_INSTALLED || g->plan == PLAN_DEFAULT_GEM || g->plan == PLAN_PATH;
}

static struct gem *bundle_find(struct install *in, const char *name)
{
	const char *why;

	/* A name that is not a gem name is not in the bundle (and never a path). */
	if (names_check_gem(strv_from(name), &why) < 0)
		return NULL;
	return hmap_get(&in->by_name, strv_from(name));
}

/* Bundler's spec.full_gem_path. */
static const char *bundle_gem_path(struct install *in, const struct gem *g)
{
	if (g->plan == PLAN_PATH) {
		const char *p = lock_source_opt(g->spec->source, "remote");
		if (!p || !strcmp(p, "."))
			return in->opts.app_dir;
		if (p[0] == '/')
			return p;
		if (!strncmp(p, "./", 2))
			p += 2;
		return arena_printf(&in->arena, "%s/%s", in->opts.app_dir, p);
	}
	if (g->git)
		return git_gem_dir(in, g);
	if (g->plan == PLAN_DEFAULT_GEM && in->abi.default_dir)
		return arena_printf(&in->arena, "%s/gems/%s", in->abi.default_dir, g->full_name);
	return arena_printf(&in->arena, "%s/gems/%s", in->install_root, g->full_name);
}

/* The installed specification of g (0), or -errno / -EINVAL (message printed). */
static int bundle_specfile(struct install *in, const struct gem *g, struct specfile *ret)
{
	struct sbuf text = SBUF_INIT, err = SBUF_INIT;
	int r = -ENOENT;

	memset(ret, 0, sizeof(*ret));
	ret->bindir = "bin";
	if (g->git) {
		/* The checkout's gemspec as git.c evaluated it (no summary kept). */
		const struct git_spec *gs = git_spec_of(g);
		if (!gs || !bundle_installed(g))
			return -ENOENT;
		if (gs->spec.bindir)
			ret->bindir = gs->spec.bindir;
		ret->executables = gs->spec.executables;
		ret->nexecutables = gs->spec.nexecutables;
		return 0;
	}
	if (g->plan == PLAN_INSTALLED && in->specs_fd >= 0) {
		char name[NAMES_FULL_NAME_MAX + 16];
		snprintf(name, sizeof(name), "%s.gemspec", g->full_name);
		r = fs_read_fileat(in->specs_fd, name, &text, SPECFILE_MAX);
	} else if (g->plan == PLAN_DEFAULT_GEM && in->abi.default_specs_dir) {
		r = fs_read_file(arena_printf(&in->arena, "%s/%s.gemspec",
					      in->abi.default_specs_dir, g->full_name),
				 &text, SPECFILE_MAX);
	}
	if (r == 0) {
		r = specfile_parse(&in->arena, sbuf_strv(&text), ret, &err);
		if (r < 0)
			cli_error("%s: %s", g->full_name, err.buf);
	}
	sbuf_release(&text);
	sbuf_release(&err);
	return r;
}

static int bundle_usage(FILE *f, const char *text)
{
	fputs(text, f);
	return f == stdout ? CLI_OK : CLI_USAGE;
}

static void bundle_release(struct install *in)
{
	install_release(in);
}

/* ---------------------------------------------------------------- check */

static const char check_help[] =
	"usage: scint check [--gemfile FILE]\n"
	"\n"
	"Tells whether every gem of Gemfile.lock that this machine needs is installed\n"
	"in the bundle path, as `bundle check` does (exit 0 when it is, else 1 and the\n"
	"missing gems). Writes nothing; starts no Ruby when the Gemfile's evaluation\n"
	"is cached.\n";

static int check_main(int argc, char **argv)
{
	static const struct option longopts[] = {
		CLI_OPTION_GEMFILE,
		{ "dry-run", no_argument, NULL, 'n' },
		CLI_OPTION_HELP,
		{ NULL, 0, NULL, 0 },
	};
	struct cli_common co = { 0 };
	struct install in = { 0 };
	int c, stage;

	while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		if (cli_common_option(&co, c, optarg))
			continue;
		if (c == 'h')
			return bundle_usage(stdout, check_help);
		else if (c != 'n')
			return bundle_usage(stderr, check_help);
	}
	if (optind < argc) {
		cli_error("unexpected argument '%s'", argv[optind]);
		return CLI_USAGE;
	}
	if (cli_bundle_open(&in, co.gemfile, &stage) < 0) {
		if (stage == 2) {
			fprintf(stderr, "Bundler can't satisfy your Gemfile's dependencies.\n"
					"Install missing gems with `scint install`.\n");
		}
		bundle_release(&in);
		return CLI_FAILED;
	}
	size_t missing = 0;
	for (size_t i = 0; i < in.ngems; i++)
		missing += !bundle_installed(in.gems[i]);
	if (missing) {
		fprintf(stderr, "The following gems are missing\n");
		for (size_t i = 0; i < in.ngems; i++)
			if (!bundle_installed(in.gems[i]))
				fprintf(stderr, " * %s (%s)\n", in.gems[i]->name,
					in.gems[i]->version);
		fprintf(stderr, "Install missing gems with `scint install`\n");
	} else {
		printf("The Gemfile's dependencies are satisfied\n");
	}
	bundle_release(&in);
	return missing ? CLI_FAILED : CLI_OK;
}

const struct cli_cmd cmd_check = {
	.name = "check",
	.summary = "tell whether the bundle is installed (as bundle check)",
	.run = check_main,
};

/* ---------------------------------------------------------------- list */

static const char list_help[] =
	"usage: scint list [--name-only | --paths] [--only-group G | --without-group G]\n"
	"                  [--gemfile FILE]\n"
	"\n"
	"Lists the gems of the bundle as `bundle list` does.\n"
	"\n"
	"      --name-only         one gem name per line\n"
	"      --paths             one installed path per line\n"
	"      --only-group G      only the gems of group(s) G (comma-separated, repeatable)\n"
	"      --without-group G   all but the gems of group(s) G\n";

/* Is g in the comma-separated list? */
static bool list_has(const char *list, const char *g, size_t n)
{
	for (const char *p = list; p && *p;) {
		size_t k = strcspn(p, ",");
		if (k == n && !strncmp(p, g, n))
			return true;
		p += k;
		p += *p == ',';
	}
	return false;
}

/* The lockfile's spec named name (its first variant), or NULL. */
static const struct lock_spec *list_lock_spec(const struct install *in, const char *name)
{
	for (size_t s = 0; s < in->lock.nsources; s++)
		for (size_t i = 0; i < in->lock.sources[s].nspecs; i++)
			if (!strcmp(in->lock.sources[s].specs[i].name, name))
				return &in->lock.sources[s].specs[i];
	return NULL;
}

/*
 * The gem of the bundle named name, else one made of the lockfile's spec
 * (a gem this machine does not install: plan PLAN_UNSUPPORTED, no deps
 * linked), added to extra; NULL when the lockfile has none.
 */
static struct gem *list_gem(struct install *in, const char *name, struct gem **extra,
			    size_t *nextra)
{
	struct gem *g = hmap_get(&in->by_name, strv_from(name));
	if (g)
		return g;
	for (size_t i = 0; i < *nextra; i++)
		if (!strcmp(extra[i]->name, name))
			return extra[i];
	const struct lock_spec *ls = list_lock_spec(in, name);
	if (!ls)
		return NULL;
	g = arena_alloc(&in->arena, sizeof(*g));
	memset(g, 0, sizeof(*g));
	g->spec = ls;
	g->name = ls->name;
	g->version = ls->version;
	g->platform = ls->platform;
	g->full_name = ls->full_name;
	g->plan = PLAN_UNSUPPORTED;
	extra[(*nextra)++] = g;
	return g;
}

/*
 * Bundler's specs_for(groups): the closure of the Gemfile's dependencies in
 * the shown groups (every group but `without`, or only `only`). Marks the
 * gems to list in keep[]; -1 with Bundler's message for an unknown group.
 */
static int list_by_groups(struct install *in, const char *only, const char *without, bool *keep,
			  struct gem ***ret_extra, size_t *ret_nextra)
{
	const char *sel = only ? only : without;

	const struct gemfile *gf = &in->gemfile;
	char group[256];

	/* Bundler's definition.groups: every group of the Gemfile's dependencies. */
	for (const char *p = sel; *p;) {
		size_t k = strcspn(p, ",");
		bool known = false;
		snprintf(group, sizeof(group), "%.*s", (int)k, p);
		for (size_t i = 0; i < gf->ndeps && !known && k < sizeof(group); i++)
			known = gemfile_dep_in_group(&gf->deps[i], group);
		if (!known) {
			fprintf(stderr, "`%.*s` group could not be found.\n", (int)k, p);
			return -1;
		}
		p += k;
		p += *p == ',';
	}
	/*
	 * Over the lockfile's specs: a group this machine leaves out
	 * (BUNDLE_WITHOUT) is listed too, its gems from the lockfile.
	 */
	size_t nlock = 0;
	for (size_t k = 0; k < in->lock.nsources; k++)
		nlock += in->lock.sources[k].nspecs;
	struct gem **queue = calloc(in->ngems + nlock + 1, sizeof(*queue));
	struct gem **extra = calloc(nlock + 1, sizeof(*extra));
	size_t head = 0, tail = 0, nextra = 0;
	struct hmap seen;
	if (!queue || !extra)
		abort();
	hmap_init(&seen);
	for (size_t i = 0; i < gf->ndeps; i++) {
		const struct gemfile_dep *d = &gf->deps[i];
		bool shown = false;
		/* dependencies_for: in a shown group and for this platform. */
		for (size_t k = 0; k < d->ngroups && !shown && d->platform_ok; k++) {
			size_t n = strlen(d->groups[k]);
			shown = only ? list_has(only, d->groups[k], n)
				     : !list_has(without, d->groups[k], n);
		}
		struct gem *g = shown ? list_gem(in, d->name, extra, &nextra) : NULL;
		if (g && !hmap_get(&seen, strv_from(g->name))) {
			hmap_put(&seen, strv_from(g->name), g);
			queue[tail++] = g;
		}
	}
	while (head < tail) {
		struct gem *g = queue[head++];
		for (size_t k = 0; k < g->ndeps; k++)
			if (!hmap_get(&seen, strv_from(g->deps[k]->name))) {
				hmap_put(&seen, strv_from(g->deps[k]->name), g->deps[k]);
				queue[tail++] = g->deps[k];
			}
		/* A gem of the lockfile only: its dependencies as locked. */
		for (size_t k = 0; g->plan == PLAN_UNSUPPORTED && k < g->spec->ndeps; k++) {
			const char *dn = g->spec->deps[k].name;
			struct gem *dg = hmap_get(&seen, strv_from(dn))
						 ? NULL
						 : list_gem(in, dn, extra, &nextra);
			if (dg) {
				hmap_put(&seen, strv_from(dg->name), dg);
				queue[tail++] = dg;
			}
		}
	}
	for (size_t i = 0; i < in->ngems; i++)
		keep[i] = hmap_get(&seen, strv_from(in->gems[i]->name)) != NULL;
	hmap_release(&seen);
	free(queue);
	*ret_extra = extra;
	*ret_nextra = nextra;
	return 0;
}

static int list_cmp(const void *a, const void *b)
{
	const struct gem *x = *(struct gem *const *)a, *y = *(struct gem *const *)b;

	return strcmp(x->name, y->name);
}

/* Bundler's GemNotFound for a bundle with missing gems (list, info). */
static bool bundle_require_installed(struct install *in)
{
	for (size_t i = 0; i < in->ngems; i++) {
		if (bundle_installed(in->gems[i]))
			continue;
		fprintf(stderr, "Could not find %s in any of the sources\n",
			in->gems[i]->full_name);
		return false;
	}
	return true;
}

static int list_main(int argc, char **argv)
{
	static const struct option longopts[] = {
		CLI_OPTION_GEMFILE,
		{ "name-only", no_argument, NULL, 'n' },
		{ "paths", no_argument, NULL, 'p' },
		{ "only-group", required_argument, NULL, 'O' },
		{ "without-group", required_argument, NULL, 'W' },
		CLI_OPTION_HELP,
		{ NULL, 0, NULL, 0 },
	};
	struct cli_common co = { 0 };
	struct sbuf only = SBUF_INIT, without = SBUF_INIT;
	bool names = false, paths = false;
	struct install in = { 0 };
	int c, stage;

	while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		if (cli_common_option(&co, c, optarg))
			continue;
		if (c == 'n')
			names = true;
		else if (c == 'p')
			paths = true;
		else if (c == 'O' || c == 'W') {
			struct sbuf *sb = c == 'O' ? &only : &without;
			sbuf_addf(sb, "%s%s", sb->len ? "," : "", optarg);
		} else if (c == 'h')
			return bundle_usage(stdout, list_help);
		else
			return bundle_usage(stderr, list_help);
	}
	int rc = CLI_OK;
	bool *keep = NULL;
	struct gem **extra = NULL;
	size_t nextra = 0;
	if (only.len && without.len) {
		fprintf(stderr, "The `--only-group` and `--without-group` options cannot be used "
				"together\n");
		rc = BUNDLER_INVALID_OPTION;
		goto out;
	}
	if (optind < argc) {
		cli_error("unexpected argument '%s'", argv[optind]);
		rc = CLI_USAGE;
		goto out;
	}
	if (names && paths) {
		fprintf(stderr,
			"The `--name-only` and `--paths` options cannot be used together\n");
		rc = BUNDLER_INVALID_OPTION;
		goto out;
	}
	if (cli_bundle_open(&in, co.gemfile, &stage) < 0) {
		rc = CLI_FAILED;
		goto out_release;
	}
	keep = calloc(in.ngems + 1, sizeof(*keep));
	if (!keep)
		abort();
	if (only.len || without.len) {
		if (list_by_groups(&in, only.len ? only.buf : NULL, only.len ? NULL : without.buf,
				   keep, &extra, &nextra) < 0) {
			rc = BUNDLER_INVALID_OPTION;
			goto out_release;
		}
	} else {
		if (!bundle_require_installed(&in)) {
			fprintf(stderr, "Install missing gems with `scint install`.\n");
			rc = CLI_FAILED;
			goto out_release;
		}
		for (size_t i = 0; i < in.ngems; i++)
			keep[i] = true;
	}
	struct gem **v = calloc(in.ngems + nextra + 1, sizeof(*v));
	size_t nv = 0;
	if (!v)
		abort();
	for (size_t i = 0; i < in.ngems; i++)
		if (keep[i])
			v[nv++] = in.gems[i];
	for (size_t i = 0; i < nextra; i++)
		v[nv++] = extra[i];
	free(extra);
	extra = NULL;
	qsort(v, nv, sizeof(*v), list_cmp);
	if (!nv)
		printf("No gems in the Gemfile\n");
	else if (!names && !paths)
		printf("Gems included by the bundle:\n");
	for (size_t i = 0; i < nv; i++) {
		if (names)
			printf("%s\n", v[i]->name);
		else if (paths)
			printf("%s\n", bundle_gem_path(&in, v[i]));
		else
			printf("  * %s (%s)\n", v[i]->name, v[i]->version);
	}
	if (nv && !names && !paths)
		printf("Use `scint info` to print more detailed information about a gem\n");
	free(v);
out_release:
	free(extra);
	bundle_release(&in);
out:
	free(keep);
	sbuf_release(&only);
	sbuf_release(&without);
	return rc;
}

const struct cli_cmd cmd_list = {
	.name = "list",
	.summary = "list the gems of the bundle (as bundle list)",
	.run = list_main,
};

/* ---------------------------------------------------------------- info */

static const char info_help[] =
	"usage: scint info GEM [--path | --version] [--gemfile FILE]\n"
	"\n"
	"Shows a gem of the bundle as `bundle info` does: summary, homepage, the\n"
	"metadata links, its path and the gems depending on it.\n"
	"\n"
	"      --path      only the path the gem is installed at\n"
	"      --version   only its version\n";

static int info_main(int argc, char **argv)
{
	static const struct option longopts[] = {
		CLI_OPTION_GEMFILE,
		{ "path", no_argument, NULL, 'p' },
		{ "version", no_argument, NULL, 'V' },
		CLI_OPTION_HELP,
		{ NULL, 0, NULL, 0 },
	};
	struct cli_common co = { 0 };
	bool only_path = false, only_version = false;
	struct install in = { 0 };
	int c, stage, rc = CLI_OK;

	while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		if (cli_common_option(&co, c, optarg))
			continue;
		if (c == 'p')
			only_path = true;
		else if (c == 'V')
			only_version = true;
		else if (c == 'h')
			return bundle_usage(stdout, info_help);
		else
			return bundle_usage(stderr, info_help);
	}
	if (argc - optind != 1) {
		cli_error("scint info takes one gem name");
		return CLI_USAGE;
	}
	const char *name = argv[optind];
	if (cli_bundle_open(&in, co.gemfile, &stage) < 0) {
		bundle_release(&in);
		return CLI_FAILED;
	}
	if (!bundle_require_installed(&in)) {
		bundle_release(&in);
		return BUNDLER_GEM_NOT_FOUND;
	}
	struct gem *g = bundle_find(&in, name);
	if (!g) {
		fprintf(stderr, "Could not find gem '%s'.\n", name);
		bundle_release(&in);
		return BUNDLER_GEM_NOT_FOUND;
	}
	const char *path = bundle_gem_path(&in, g);
	bool deleted = !bundle_installed(g);
	if (only_path) {
		if (deleted)
			fprintf(stderr, "The gem %s has been deleted. It was installed at: %s\n",
				name, path);
		else
			printf("%s\n", path);
		goto out;
	}
	if (only_version) {
		printf("%s\n", g->version);
		goto out;
	}
	struct specfile sf;
	if (bundle_specfile(&in, g, &sf) == -EINVAL) {
		rc = CLI_FAILED;
		goto out;
	}
	struct sbuf o = SBUF_INIT;
	/* Bundler's spec.git_version: " <rev7>" for a git gem. */
	sbuf_addf(&o, "  * %s (%s%s%.7s)\n", g->name, g->version, g->git ? " " : "",
		  g->git ? g->git->revision : "");
	if (sf.summary)
		sbuf_addf(&o, "\tSummary: %s\n", sf.summary);
	if (sf.homepage)
		sbuf_addf(&o, "\tHomepage: %s\n", sf.homepage);
	static const char *const links[][2] = {
		{ "Documentation", "documentation_uri" },
		{ "Source Code", "source_code_uri" },
		{ "Funding", "funding_uri" },
		{ "Wiki", "wiki_uri" },
		{ "Changelog", "changelog_uri" },
		{ "Bug Tracker", "bug_tracker_uri" },
		{ "Mailing List", "mailing_list_uri" },
	};
	for (size_t i = 0; i < SC_ARRAY_SIZE(links); i++) {
		const char *v = specfile_meta(&sf, links[i][1]);
		if (v)
			sbuf_addf(&o, "\t%s: %s\n", links[i][0], v);
	}
	sbuf_addf(&o, "\tPath: %s\n", path);
	if (g->plan == PLAN_DEFAULT_GEM)
		sbuf_addstr(&o, "\tDefault Gem: yes\n");
	/* Reverse dependencies, sorted as Bundler sorts its lines. */
	char **rev = calloc(in.ngems + 1, sizeof(*rev));
	size_t nrev = 0;
	if (!rev)
		abort();
	for (size_t i = 0; i < in.ngems; i++) {
		const struct lock_spec *s = in.gems[i]->spec;
		for (size_t k = 0; k < s->ndeps; k++) {
			if (strcmp(s->deps[k].name, g->name))
				continue;
			rev[nrev++] = arena_printf(&in.arena, "%s (%s) depends on %s (%s)", s->name,
						   s->version, g->name,
						   s->deps[k].reqs ? s->deps[k].reqs : ">= 0");
			break;
		}
	}
	for (size_t i = 1; i < nrev; i++)
		for (size_t k = i; k > 0 && strcmp(rev[k - 1], rev[k]) > 0; k--) {
			char *t = rev[k];
			rev[k] = rev[k - 1];
			rev[k - 1] = t;
		}
	if (nrev) {
		sbuf_addstr(&o, "\tReverse Dependencies: ");
		for (size_t i = 0; i < nrev; i++)
			sbuf_addf(&o, "\n\t\t%s", rev[i]);
	}
	free(rev);
	if (!o.len || o.buf[o.len - 1] != '\n')
		sbuf_addch(&o, '\n');
	if (deleted)
		fprintf(stderr,
			"The gem %s has been deleted. Gemspec information is still available "
			"though:\n%s",
			name, o.buf);
	else
		fputs(o.buf, stdout);
	sbuf_release(&o);
out:
	bundle_release(&in);
	return rc;
}

const struct cli_cmd cmd_info = {
	.name = "info",
	.summary = "show a gem of the bundle (as bundle info)",
	.run = info_main,
};

/* ---------------------------------------------------------------- clean */

static const char clean_help[] =
	"usage: scint clean [--dry-run] [--gemfile FILE]\n"
	"\n"
	"Removes from the bundle path what Gemfile.lock no longer names, as `bundle\n"
	"clean` does: gem directories, specifications, cached .gem files, built\n"
	"extensions and the executables in bin/ of gems no longer in the bundle.\n"
	"\n"
	"      --dry-run   only print what would be removed\n";

struct clean_state {
	struct install *in;
	struct hmap keep; /* names (in the directory being listed) to keep */
	char **names;
	size_t n, cap;
};

static void clean_collect(int dirfd, const char *name, void *data)
{
	struct clean_state *cs = data;

	(void)dirfd;
	if (name[0] == '.') /* Dir["*"] skips them; so do temporary files */
		return;
	if (hmap_get(&cs->keep, strv_from(name)))
		return;
	cs->names =
		arena_grow_array(&cs->in->arena, cs->names, sizeof(*cs->names), cs->n, &cs->cap);
	cs->names[cs->n++] = arena_strdup(&cs->in->arena, name);
}

static int clean_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The stale entries of dirfd, sorted (Dir[] order); the keep set is emptied after. */
static void clean_list(struct clean_state *cs, int dirfd)
{
	cs->names = NULL;
	cs->n = cs->cap = 0;
	if (dirfd >= 0)
		(void)fs_list_dirat(dirfd, ".", clean_collect, cs);
	if (cs->n)
		qsort(cs->names, cs->n, sizeof(*cs->names), clean_cmp);
	hmap_release(&cs->keep);
	hmap_init(&cs->keep);
}

static void clean_keep(struct clean_state *cs, const char *name)
{
	hmap_put(&cs->keep, strv_from(arena_strdup(&cs->in->arena, name)), (void *)1);
}

/* A subdirectory, never through a symlink; -1 when missing. */
static int clean_open(int dirfd, const char *name)
{
	if (dirfd < 0)
		return -1;
	int fd = openat(dirfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	return fd < 0 ? -1 : fd;
}

/* Bundler's remove_dir output: full_name split at its last '-'. */
static void clean_say(const char *full_name, bool dry_run)
{
	size_t n = strlen(full_name);

	while (n && full_name[n - 1] == '-') /* String#split drops trailing empty fields */
		n--;
	const char *dash = memrchr(full_name, '-', n);
	int nl = dash ? (int)(dash - full_name) : 0;
	const char *ver = dash ? dash + 1 : full_name;
	printf("%s %.*s (%.*s)\n", dry_run ? "Would have removed" : "Removing", nl, full_name,
	       (int)(n - (size_t)(ver - full_name)), ver);
}

static int clean_remove(int dirfd, const char *name, bool *failed)
{
	int r = fs_rmtree_at(dirfd, name);

	if (r < 0) {
		cli_error("cannot remove %s: %s", name, sc_strerror(r));
		*failed = true;
	}
	return r;
}

/* Below extensions/ (ext): <platform>/<api>/<x> of no gem of the bundle. */
static void clean_extensions(struct clean_state *cs, int ext, bool git, bool *failed)
{
	struct install *in = cs->in;
	struct clean_state plats = { .in = in };
	hmap_init(&plats.keep);
	clean_list(&plats, ext);
	for (size_t p = 0; p < plats.n; p++) {
		int pfd = clean_open(ext, plats.names[p]);
		struct clean_state apis = { .in = in };
		hmap_init(&apis.keep);
		clean_list(&apis, pfd);
		for (size_t a = 0; a < apis.n; a++) {
			int afd = clean_open(pfd, apis.names[a]);
			bool local = !strcmp(plats.names[p], in->abi.platform) &&
				     !strcmp(apis.names[a], in->abi.ext_api);
			for (size_t i = 0; i < in->ngems && local; i++) {
				const struct gem *g = in->gems[i];
				if (git && g->git)
					clean_keep(cs, g->git->install_name);
				else if (!git && !g->git)
					clean_keep(cs, g->full_name);
			}
			clean_list(cs, afd);
			for (size_t i = 0; i < cs->n; i++)
				(void)clean_remove(afd, cs->names[i], failed);
			if (afd >= 0)
				(void)close(afd);
		}
		hmap_release(&apis.keep);
		if (pfd >= 0)
			(void)close(pfd);
	}
	hmap_release(&plats.keep);
}

static int clean_main(int argc, char **argv)
{
	static const struct option longopts[] = {
		CLI_OPTION_GEMFILE,
		{ "dry-run", no_argument, NULL, 'n' },
		{ "force", no_argument, NULL, 'f' },
		CLI_OPTION_HELP,
		{ NULL, 0, NULL, 0 },
	};
	struct cli_common co = { 0 };
	bool dry_run = false, failed = false;
	struct install in = { 0 };
	int c, stage;

	while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		if (cli_common_option(&co, c, optarg))
			continue;
		if (c == 'n')
			dry_run = true;
		else if (c == 'h')
			return bundle_usage(stdout, clean_help);
		else if (c != 'f')
			return bundle_usage(stderr, clean_help);
	}
	if (optind < argc) {
		cli_error("unexpected argument '%s'", argv[optind]);
		return CLI_USAGE;
	}
	if (cli_bundle_open(&in, co.gemfile, &stage) < 0) {
		bundle_release(&in);
		return CLI_FAILED;
	}
	/* <bundle_path>/ruby/<v>: below the bundle path, no link is followed. */
	int bp = fs_open_dir(in.opts.bundle_path);
	int ruby = clean_open(bp >= 0 ? bp : -1, "ruby");
	int root = clean_open(ruby, in.abi.ruby_version_dir);
	if (bp >= 0)
		(void)close(bp);
	if (ruby >= 0)
		(void)close(ruby);
	struct stat st;
	if (root < 0 && lstat(in.install_root, &st) == 0)
		cli_warn("%s is reached through a link: scint clean does not follow links out of "
			 "the bundle path, nothing was removed",
			 in.install_root);
	struct clean_state cs = { .in = &in };
	hmap_init(&cs.keep);
	char name[NAMES_FULL_NAME_MAX + 16];

	/* gems/: directories of gems not in the bundle, reported as Bundler does. */
	int dfd = clean_open(root, "gems");
	for (size_t i = 0; i < in.ngems; i++)
		clean_keep(&cs, in.gems[i]->full_name);
	clean_list(&cs, dfd);
	for (size_t i = 0; i < cs.n; i++) {
		clean_say(cs.names[i], dry_run);
		if (!dry_run)
			(void)clean_remove(dfd, cs.names[i], &failed);
	}
	if (dfd >= 0)
		(void)close(dfd);

	/* bundler/gems/<repo>-<rev12>: checkouts no longer locked, likewise. */
	int git = clean_open(root, "bundler");
	int gitgems = clean_open(git, "gems");
	if (git >= 0)
		(void)close(git);
	for (size_t i = 0; i < in.ngems; i++)
		if (in.gems[i]->git)
			clean_keep(&cs, in.gems[i]->git->install_name);
	clean_keep(&cs, "extensions");
	clean_list(&cs, gitgems);
	for (size_t i = 0; i < cs.n; i++) {
		clean_say(cs.names[i], dry_run);
		if (!dry_run)
			(void)clean_remove(gitgems, cs.names[i], &failed);
	}
	if (dry_run)
		goto out;

	/* specifications/<x>.gemspec and cache/<x>.gem */
	static const char *const files[][2] = { { "specifications", ".gemspec" },
						{ "cache", ".gem" } };
	for (size_t d = 0; d < 2; d++) {
		dfd = clean_open(root, files[d][0]);
		for (size_t i = 0; i < in.ngems; i++) {
			snprintf(name, sizeof(name), "%s%s", in.gems[i]->full_name, files[d][1]);
			clean_keep(&cs, name);
		}
		clean_list(&cs, dfd);
		size_t sl = strlen(files[d][1]);
		for (size_t i = 0; i < cs.n; i++) {
			size_t n = strlen(cs.names[i]);
			if (n > sl && !strcmp(cs.names[i] + n - sl, files[d][1]) &&
			    !fs_is_dir_at(dfd, cs.names[i]))
				(void)clean_remove(dfd, cs.names[i], &failed);
		}
		if (dfd >= 0)
			(void)close(dfd);
	}

	/* bin/: executables of the gems of the bundle (and their .bat) stay. */
	dfd = clean_open(root, "bin");
	for (size_t i = 0; i < in.ngems && dfd >= 0; i++) {
		struct specfile sf;
		if (bundle_specfile(&in, in.gems[i], &sf) < 0)
			continue;
		for (size_t k = 0; k < sf.nexecutables; k++) {
			clean_keep(&cs, sf.executables[k]);
			snprintf(name, sizeof(name), "%.200s.bat", sf.executables[k]);
			clean_keep(&cs, name);
		}
	}
	clean_list(&cs, dfd);
	for (size_t i = 0; i < cs.n; i++)
		if (!fs_is_dir_at(dfd, cs.names[i]))
			(void)clean_remove(dfd, cs.names[i], &failed);
	if (dfd >= 0)
		(void)close(dfd);

	/*
	 * extensions/<platform>/<api>/<full_name> of gems not in the bundle,
	 * bundler/gems/extensions/<platform>/<api>/<repo>-<rev12> of git
	 * checkouts not locked.
	 */
	int ext = clean_open(root, "extensions");
	clean_extensions(&cs, ext, false, &failed);
	if (ext >= 0)
		(void)close(ext);
	int gext = clean_open(gitgems, "extensions");
	clean_extensions(&cs, gext, true, &failed);
	if (gext >= 0)
		(void)close(gext);
out:
	if (gitgems >= 0)
		(void)close(gitgems);
	hmap_release(&cs.keep);
	if (root >= 0)
		(void)close(root);
	bundle_release(&in);
	return failed ? CLI_FAILED : CLI_OK;
}

const struct cli_cmd cmd_clean = {
	.name = "clean",
	.summary = "remove what Gemfile.lock no longer names from the bundle (as bundle clean)",
	.run = clean_main,
};

/* ---------------------------------------------------------------- binstubs */

static const char binstubs_help[] =
	"usage: scint binstubs GEM... [--force] [--gemfile FILE]\n"
	"\n"
	"Writes bin/<executable> in the app for each executable of each GEM, as\n"
	"`bundle binstubs` does; the wrappers run the executable with `scint exec`\n"
	"(the scint binary is found on PATH, or in $SCINT). An existing file is\n"
	"skipped unless --force.\n"
	"\n"
	"      --force   overwrite existing files in bin/\n";

static void binstub_text(struct sbuf *out, const char *exe, const char *gemfile_base)
{
	sbuf_addf(out,
		  "#!/bin/sh\n"
		  "#\n"
		  "# This file was generated by scint.\n"
		  "#\n"
		  "# The application '%s' is installed as part of a gem, and\n"
		  "# this file is here to facilitate running it.\n"
		  "#\n"
		  "\n"
		  "if [ -z \"$BUNDLE_GEMFILE\" ]; then\n"
		  "  BUNDLE_GEMFILE=\"$(CDPATH= cd -- \"$(dirname -- \"$0\")/..\" && pwd)/%s\"\n"
		  "  export BUNDLE_GEMFILE\n"
		  "fi\n"
		  "\n"
		  "exec \"${SCINT:-scint}\" exec %s \"$@\"\n",
		  exe, gemfile_base, exe);
}

static void binstubs_skipped(const char **v, size_t n)
{
	if (!n)
		return;
	if (n == 1) {
		fprintf(stderr, "Skipped %s since it already exists.\n", v[0]);
	} else {
		fprintf(stderr, "Skipped ");
		for (size_t i = 0; i < n; i++)
			fprintf(stderr, "%s%s", i == 0 ? "" : i == n - 1 ? " and " : ", ", v[i]);
		fprintf(stderr, " since they already exist.\n");
	}
	fprintf(stderr, "If you want to overwrite skipped stubs, use --force.\n");
}

static int binstubs_main(int argc, char **argv)
{
	static const struct option longopts[] = {
		CLI_OPTION_GEMFILE,
		{ "force", no_argument, NULL, 'f' },
		CLI_OPTION_HELP,
		{ NULL, 0, NULL, 0 },
	};
	struct cli_common co = { 0 };
	bool force = false;
	struct install in = { 0 };
	int c, stage, rc = CLI_OK;

	while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		if (cli_common_option(&co, c, optarg))
			continue;
		if (c == 'f')
			force = true;
		else if (c == 'h')
			return bundle_usage(stdout, binstubs_help);
		else
			return bundle_usage(stderr, binstubs_help);
	}
	if (optind == argc) {
		fprintf(stderr, "`scint binstubs` needs at least one gem to run.\n");
		return CLI_FAILED;
	}
	if (cli_bundle_open(&in, co.gemfile, &stage) < 0) {
		bundle_release(&in);
		return CLI_FAILED;
	}
	const char *base = strrchr(in.opts.gemfile, '/') + 1;
	int bin = -1;
	for (int i = optind; i < argc && rc == CLI_OK; i++) {
		struct gem *g = bundle_find(&in, argv[i]);
		if (!g) {
			fprintf(stderr, "Could not find gem '%s'.\n", argv[i]);
			rc = BUNDLER_GEM_NOT_FOUND;
			break;
		}
		struct specfile sf;
		int r = bundle_specfile(&in, g, &sf);
		if (r == -ENOENT) {
			fprintf(stderr, "Could not find %s in any of the sources\n", g->full_name);
			fprintf(stderr, "Install missing gems with `scint install`.\n");
			rc = CLI_FAILED;
			break;
		}
		if (r < 0) {
			rc = CLI_FAILED;
			break;
		}
		if (!sf.nexecutables) {
			fprintf(stderr, "There are no executables for the gem %s.\n", g->name);
			continue;
		}
		if (bin < 0) {
			char *dir = arena_printf(&in.arena, "%s/bin", in.opts.app_dir);
			if ((r = fs_mkdir_p(dir, 0755)) < 0 || (bin = fs_open_dir(dir)) < 0) {
				cli_error("cannot create %s: %s", dir,
					  sc_strerror(r < 0 ? r : bin));
				rc = CLI_FAILED;
				break;
			}
		}
		const char **skipped = calloc(sf.nexecutables, sizeof(*skipped));
		size_t nskipped = 0;
		if (!skipped)
			abort();
		for (size_t k = 0; k < sf.nexecutables; k++) {
			const char *exe = sf.executables[k]; /* checked by specfile_parse */
			struct stat st;
			if (fstatat(bin, exe, &st, AT_SYMLINK_NOFOLLOW) == 0 &&
			    (!force || S_ISDIR(st.st_mode))) {
				skipped[nskipped++] = exe;
				continue;
			}
			struct sbuf text = SBUF_INIT;
			binstub_text(&text, exe, base);
			/* A new file replaces a link, never writes through it. */
			r = fs_write_atomic(bin, exe, text.buf, text.len, 0777 & ~fs_umask());
			sbuf_release(&text);
			if (r < 0) {
				cli_error("cannot write bin/%s: %s", exe, sc_strerror(r));
				rc = CLI_FAILED;
			}
		}
		binstubs_skipped(skipped, nskipped);
		free(skipped);
	}
	if (bin >= 0)
		(void)close(bin);
	bundle_release(&in);
	return rc;
}

const struct cli_cmd cmd_binstubs = {
	.name = "binstubs",
	.summary = "write bin/ wrappers for a gem's executables that use scint exec",
	.run = binstubs_main,
};
