/*
 * git.c: a GIT source at its locked revision, from the remote to an
 * assembled cache entry (the git side of design.md §1's Fetch and Assemble).
 *
 * One job per GIT source (on its leader gem), states and transitions:
 *
 *   GIT_LOCK        the cache entry lock; an entry another process promoted
 *                   meanwhile -> GIT_DONE (materialize uses it), else -> REPO_LOCK
 *   REPO_LOCK       the bare repository's flock (per unit: the source, then
 *                   each submodule); stale lock files removed; -> REPO_INIT
 *                   (`git init --bare`) when it has no repository yet, else REPO_HAVE
 *   REPO_HAVE       `git cat-file -e <rev>^{commit}`: present -> REPO_EXPORT,
 *                   else -> REPO_FETCH (`git fetch --depth 1 <url> <rev>`)
 *   REPO_FETCH      refused by the server -> REPO_FETCH_ALL (branches and
 *                   tags), failed -> GIT_FAILED, else -> REPO_HAVE2
 *   REPO_HAVE2      the revision must now be there (else "does not exist")
 *   REPO_EXPORT     `git read-tree --reset -u <rev>` into the unit's directory
 *                   of the checkout, with an index file of our own;
 *                   -> REPO_LSTREE with submodules, else -> GIT_SPECS
 *   REPO_LSTREE     the revision's gitlinks (`git ls-tree -r -z`)
 *   REPO_MODULES    their URLs (`git config -f .gitmodules`), checked like a
 *                   lockfile's remote; each becomes a unit (at most
 *                   GIT_UNITS_MAX, GIT_DEPTH_MAX deep); the flock is
 *                   released; -> REPO_LOCK for the next unit, else GIT_SPECS
 *   GIT_SPECS       the helper evaluates the gemspecs (phases/ruby/helper.rb,
 *                   gitspecs); -> GIT_SPECS_WAIT
 *   GIT_SPECS_WAIT  gemspecs written back, every locked gem of the source
 *                   found at its version, the manifest built; gems with
 *                   extensions get compile jobs; -> GIT_DONE
 *   GIT_FAILED      (from any state) waits for its child or helper call,
 *                   removes the assembling tree, drops the locks
 *
 * The cache:
 *   inbound/gits/<slug>/        a bare repository per remote URL (slug: host,
 *                               path and 8 hex of the URL: readable, unique,
 *                               one path component), shared by every project
 *   inbound/gits/<slug>.lock    flock held while a run fetches into it or
 *                               exports from it
 *   assembling/<abi>/<entry>/gem/   the export: the revision's tree, the
 *                               submodules' trees at the commits it records
 *                               (recursively, when the lockfile says
 *                               `submodules: true`), gemspecs rewritten as
 *                               Bundler rewrites them; then compile, promote
 *                               and materialize as for a .gem. The entry is
 *                               "<base>-<rev12>" (Bundler's install dir name),
 *                               plus "+<8 hex>" for submodules or a glob.
 *   cached/<abi>/<entry>.gemspec    the gems of the checkout (git_specs_parse)
 *
 * Fetch: `git fetch --depth 1 <url> +<rev>:refs/scint/<rev>` (servers with
 * protocol v2 or allowAnySHA1InWant take a bare revision); when refused, the
 * branches and tags are fetched whole. A revision already in the bare
 * repository is not fetched again. Every git runs with a controlled
 * environment: no system or global config, no terminal prompt, no hooks,
 * transports limited to file, git, ssh, http and https (GIT_ALLOW_PROTOCOL:
 * never `ext::`, which runs commands; file only when the source's remote is
 * itself local, and a remote source's submodule URL that is a local path or
 * file:// is refused, as git >= 2.38.1 refuses it); URLs and revisions are checked where
 * the lockfile is read (git_repo_init) and follow `--`. Credentials (in the
 * URL or BUNDLE_<HOST>, as Bundler adds them to the URL) are scrubbed from
 * git's output before anything is shown.
 *
 * Probes (git_probe_run, for lock.c): the same job without a gem or cache
 * entry, for a Gemfile git source: REPO_LOCK (REPO_INIT) -> REPO_RESOLVE
 * (`git ls-remote -- <url> <ref|HEAD>`, every line checked: 40 lower-case
 * hex, a ref name without control characters; the revision picked as
 * Bundler's `git rev-parse --verify` would; a hex abbreviation no ref names
 * -> REPO_FETCH_ALL -> REPO_REVPARSE in the bare repository) -> REPO_HAVE
 * ... REPO_EXPORT into a scratch directory assembling/<abi>/git-probe-<pid>-<n>
 * (flocked as an entry) -> GIT_SPECS -> GIT_SPECS_WAIT (the specs go to the
 * probe; nothing is written back, built or promoted) -> GIT_DONE. A probe
 * given a revision starts at REPO_HAVE: no network when it is cached.
 *
 * Stale lock files a killed git left in a bare repository are removed under
 * our flock (nothing else writes there meanwhile); objects a killed fetch
 * half wrote are git's temporary files and ignored by it.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/clock.h"
#include "base/digest.h"
#include "base/err.h"
#include "base/hex.h"
#include "base/trace.h"
#include "base/url.h"
#include "bundle/config.h"
#include "bundle/gitsrc.h"
#include "bundle/names.h"
#include "engine/child.h"
#include "engine/reactor.h"
#include "engine/rpc.h"
#include "fsops/fsops.h"
#include "phases/phase.h"
#include "phases/session/retry.h"

extern char **environ;

#define GIT_LOCK_RETRY_NS (100u * 1000000u)
#define GIT_UNITS_MAX	  256
#define GIT_DEPTH_MAX	  8
#define GIT_DEFAULT_GLOB  "{,*,*/*}.gemspec"
#define GIT_SPECS_MAX	  ((size_t)64 << 20)

enum git_state {
	GIT_LOCK,
	REPO_LOCK,
	REPO_INIT,
	REPO_HAVE,
	REPO_FETCH,
	REPO_FETCH_ALL,
	REPO_HAVE2,
	REPO_EXPORT,
	REPO_LSTREE,
	REPO_MODULES,
	REPO_RESOLVE,
	REPO_REVPARSE,
	GIT_SPECS,
	GIT_SPECS_WAIT,
	GIT_DONE,
	GIT_FAILED,
	GIT_STATE__COUNT,
};

static const char *const git_state_name[GIT_STATE__COUNT] = {
	"LOCK",	       "REPO_LOCK",	 "REPO_INIT",	 "REPO_HAVE",
	"REPO_FETCH",  "REPO_FETCH_ALL", "REPO_HAVE2",	 "REPO_EXPORT",
	"REPO_LSTREE", "REPO_MODULES",	 "REPO_RESOLVE", "REPO_REVPARSE",
	"SPECS",       "SPECS_WAIT",	 "DONE",	 "FAILED",
};

/* One repository to export: the source's, then each submodule's. */
struct git_unit {
	const char *url;      /* what git fetches */
	const char *redacted; /* for messages */
	const char *userpwd;  /* to scrub, or NULL */
	const char *rev;      /* 40 hex */
	const char *slug;
	const char *dst;  /* relative to the entry's gem/ ("" for the top) */
	const char *what; /* "submodule 'x' of ..." or NULL for the top */
	int depth;
};

struct git_job {
	struct job job;
	struct install *in;
	struct gem *gem;	 /* NULL for a probe */
	struct git_probe *probe; /* lock.c's question, or NULL for an install */
	const char *name;	 /* a gem of the source, for messages */
	const char *entry;	 /* the checkout's directory, relative to assembling/<abi> */
	struct git_repo *repo;
	enum git_state state;
	struct timer timer;
	bool waited;

	struct git_unit units[GIT_UNITS_MAX];
	size_t nunits, cur;
	int repo_lock; /* flock fd of the current unit's bare repository */

	struct child child;
	bool running;
	bool child_done;
	struct timer deadline; /* SCINT_HTTP_TIMEOUT: a git that takes longer is killed */
	bool timed_out;
	bool fetched; /* a git fetch ran (this job talked to a remote) */

	bool tree_created;
	const char *entry_abs; /* <cache>/assembling/<abi>/<entry> */
	struct sbuf modules;   /* `git config -z` of .gitmodules */

	struct rpc_call call;
	bool call_done;
};

/* ---- names ---- */

/*
 * Credentials as Bundler finds them (URL userinfo, else BUNDLE_<HOST>), for
 * http(s) remotes. Bundler puts them into the URL it hands git; scint hands
 * git the URL without them and the credentials through the environment
 * (an http.extraHeader in GIT_CONFIG_*), so that no argv, trace or git
 * config file ever holds them.
 */
static void git_url_creds(struct install *in, const char *remote, const char **ret_url,
			  const char **ret_userpwd)
{
	struct sbuf cred = SBUF_INIT, red = SBUF_INIT;

	*ret_url = remote;
	*ret_userpwd = NULL;
	if (strncmp(remote, "http://", 7) && strncmp(remote, "https://", 8))
		return;
	url_redact(remote, &red);
	*ret_url = arena_strdup(&in->arena, red.buf);
	if (in->config && bconfig_credentials(in->config, remote, &cred) > 0 && cred.len)
		*ret_userpwd = arena_strdup(&in->arena, cred.buf);
	sbuf_release(&cred);
	sbuf_release(&red);
}

static void git_base64(const char *s, struct sbuf *out)
{
	static const char tab[] =
		"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	size_t n = strlen(s);

	for (size_t i = 0; i < n; i += 3) {
		unsigned v = (unsigned char)s[i] << 16;
		if (i + 1 < n)
			v |= (unsigned char)s[i + 1] << 8;
		if (i + 2 < n)
			v |= (unsigned char)s[i + 2];
		sbuf_addch(out, tab[(v >> 18) & 63]);
		sbuf_addch(out, tab[(v >> 12) & 63]);
		sbuf_addch(out, i + 1 < n ? tab[(v >> 6) & 63] : '=');
		sbuf_addch(out, i + 2 < n ? tab[v & 63] : '=');
	}
}

/*
 * The checks and names of a git source: where (the lockfile or the
 * Gemfile) names it in `from`; rev NULL for a probe that resolves it.
 */
static int git_repo_setup(struct install *in, const char *from, const char *remote, const char *rev,
			  bool submodules, const char *glob, struct git_repo *repo,
			  struct sbuf *err)
{
	const char *why;
	struct sbuf b = SBUF_INIT;

	url_redact(remote, &b);
	repo->remote = remote;
	repo->redacted = arena_strdup(&in->arena, b.buf);
	sbuf_release(&b);
	if (!gitsrc_url_ok(remote, &why)) {
		sbuf_addf(err, "%s: the git remote %s is refused: %s", from, repo->redacted, why);
		return -SC_EUNSAFE;
	}
	if (rev && !gitsrc_is_revision(rev)) {
		sbuf_addf(err,
			  "%s: the git source %s locks revision '%s', which is not 40 "
			  "lower-case hex digits",
			  from, repo->redacted, rev);
		return -SC_EUNSAFE;
	}
	repo->revision = rev;
	repo->submodules = submodules;
	repo->glob = glob ? glob : GIT_DEFAULT_GLOB;
	/* A glob is matched inside the checkout: relative, no "..", no control characters. */
	if (repo->glob[0] == '/' || strstr(repo->glob, "..") || strchr(repo->glob, '\\')) {
		sbuf_addf(err, "%s: the glob '%s' of %s may leave the checkout", from, repo->glob,
			  repo->redacted);
		return -SC_EUNSAFE;
	}
	for (const char *p = repo->glob; *p; p++) {
		if ((unsigned char)*p < 0x20 || *p == 0x7f) {
			sbuf_addf(err, "%s: the glob of %s holds a control character", from,
				  repo->redacted);
			return -SC_EUNSAFE;
		}
	}
	repo->base = gitsrc_base_name(&in->arena, repo->redacted);
	if (names_check_component(strv_from(repo->base), &why) < 0 || !*repo->base) {
		sbuf_addf(err, "%s: the git remote %s has no usable name: %s", from, repo->redacted,
			  why ? why : "empty");
		return -SC_EUNSAFE;
	}
	repo->install_name =
		rev ? arena_printf(&in->arena, "%s-%.12s", repo->base, rev) : repo->base;
	repo->slug = gitsrc_slug(&in->arena, repo->redacted);
	git_url_creds(in, remote, &repo->url, &repo->userpwd);
	return 0;
}

int git_repo_init(struct install *in, const struct lock_source *src, struct git_repo *repo,
		  struct sbuf *err)
{
	const char *remote = lock_source_opt(src, "remote");
	const char *rev = lock_source_opt(src, "revision");
	const char *sub = lock_source_opt(src, "submodules");

	return git_repo_setup(in, "Gemfile.lock", remote ? remote : "", rev ? rev : "",
			      sub && !strcmp(sub, "true"), lock_source_opt(src, "glob"), repo, err);
}

/* ---- the cached list of the checkout's gems ----
 *
 *   scint-gitspecs 1
 *   revision<TAB><40 hex>  the entry is "<base>-<rev12>": the full revision must match
 *   gem<TAB><dir>          then the summary lines of that gem (manifest.h)
 *   end
 */

int git_specs_parse(struct install *in, struct git_repo *repo, struct strv text)
{
	const char *p = text.p, *end = text.p + text.len;
	struct git_spec *specs = NULL;
	size_t n = 0, cap = 0;
	const char *hdr = "scint-gitspecs 1\n";

	if (text.len < strlen(hdr) || memcmp(p, hdr, strlen(hdr)))
		return -SC_ECACHE;
	p += strlen(hdr);
	if (end - p < 50 || memcmp(p, "revision\t", 9) || memcmp(p + 9, repo->revision, 40) ||
	    p[49] != '\n')
		return -SC_ECACHE;
	p += 50;
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		if (!nl)
			return -SC_ECACHE;
		if (nl - p == 3 && !memcmp(p, "end", 3))
			break;
		if (nl - p < 4 || memcmp(p, "gem\t", 4))
			return -SC_ECACHE;
		const char *dir = arena_strndup(&in->arena, p + 4, (size_t)(nl - p - 4));
		const char *why;
		if (*dir && names_check_entry_path(strv_from(dir), &why) < 0)
			return -SC_ECACHE;
		/* The summary runs to the next "gem\t" or "end" line. */
		const char *q = nl + 1, *sum_end = q;
		while (sum_end < end) {
			const char *nl2 = memchr(sum_end, '\n', (size_t)(end - sum_end));
			if (!nl2)
				return -SC_ECACHE;
			if ((nl2 - sum_end == 3 && !memcmp(sum_end, "end", 3)) ||
			    (nl2 - sum_end >= 4 && !memcmp(sum_end, "gem\t", 4)))
				break;
			sum_end = nl2 + 1;
		}
		struct sbuf one = SBUF_INIT;
		struct strv unused;
		sbuf_add(&one, q, (size_t)(sum_end - q));
		sbuf_addstr(&one, "---gemspec---\n");
		if (n == cap) {
			cap = cap ? 2 * cap : 4;
			struct git_spec *ns = arena_alloc(&in->arena, cap * sizeof(*ns));
			if (n)
				memcpy(ns, specs, n * sizeof(*ns));
			specs = ns;
		}
		struct git_spec *s = &specs[n];
		memset(s, 0, sizeof(*s));
		const char *copy = arena_strndup(&in->arena, one.buf, one.len);
		int r = gem_summary_parse(&in->arena, strv_make(copy, one.len), &s->spec, &unused);
		sbuf_release(&one);
		if (r < 0 || gem_summary_check(&s->spec, NULL) < 0)
			return -SC_ECACHE;
		s->dir = dir;
		s->name = s->spec.name;
		s->version = s->spec.version;
		s->full_name = arena_printf(&in->arena, "%s-%s", s->name, s->version);
		n++;
		p = sum_end;
	}
	repo->specs = specs;
	repo->nspecs = n;
	repo->have_specs = true;
	return 0;
}

static void git_summary_render(const struct gem_summary *s, struct sbuf *out)
{
	sbuf_addf(out, "name\t%s\nversion\t%s\nplatform\t%s\n", s->name, s->version, s->platform);
	sbuf_addstr(out, "require_paths");
	for (size_t i = 0; i < s->nrequire_paths; i++)
		sbuf_addf(out, "\t%s", s->require_paths[i]);
	sbuf_addf(out, "\nbindir\t%s\nexecutables", s->bindir ? s->bindir : "bin");
	for (size_t i = 0; i < s->nexecutables; i++)
		sbuf_addf(out, "\t%s", s->executables[i]);
	sbuf_addstr(out, "\nextensions");
	for (size_t i = 0; i < s->nextensions; i++)
		sbuf_addf(out, "\t%s", s->extensions[i]);
	sbuf_addch(out, '\n');
	for (size_t i = 0; i < s->ndeps; i++)
		sbuf_addf(out, "dep\t%s\t%s\n", s->deps[i].name, s->deps[i].reqs);
}

/* "a/b" -> "a" and "b"; "b" -> "" and "b". */
static void git_split_dir(struct install *in, const char *dir, const char **parent,
			  const char **base)
{
	const char *slash = strrchr(dir, '/');

	*parent = slash ? arena_strndup(&in->arena, dir, (size_t)(slash - dir)) : "";
	*base = slash ? slash + 1 : dir;
}

const char *git_ext_path(struct install *in, const struct git_repo *repo, const char *dir)
{
	const char *parent, *base;

	if (!*dir)
		return arena_printf(&in->arena, "bundler/gems/%s/%s", in->ext_dir,
				    repo->install_name);
	git_split_dir(in, dir, &parent, &base);
	return arena_printf(&in->arena, "bundler/gems/%s%s%s/%s/%s-%s", repo->install_name,
			    *parent ? "/" : "", parent, in->ext_dir, repo->install_name, base);
}

const char *git_ext_entry_rel(struct install *in, const struct git_repo *repo, const char *dir)
{
	const char *parent, *base;

	if (!*dir)
		return "ext";
	git_split_dir(in, dir, &parent, &base);
	return arena_printf(&in->arena, "gem/%s%s%s/%s-%s", parent, *parent ? "/" : "", in->ext_dir,
			    repo->install_name, base);
}

const struct git_spec *git_spec_of(const struct gem *g)
{
	if (!g->git || !g->git->have_specs)
		return NULL;
	for (size_t i = 0; i < g->git->nspecs; i++)
		if (!strcmp(g->git->specs[i].name, g->name))
			return &g->git->specs[i];
	return NULL;
}

const char *git_gem_dir(struct install *in, const struct gem *g)
{
	const struct git_spec *gs = git_spec_of(g);

	if (!g->git)
		return NULL;
	return arena_printf(&in->arena, "%s/bundler/gems/%s%s%s", in->install_root,
			    g->git->install_name, gs && *gs->dir ? "/" : "", gs ? gs->dir : "");
}

/* ---- the job ---- */

static bool git_edge_ok(enum git_state from, enum git_state to)
{
	if (to == GIT_FAILED)
		return from != GIT_DONE && from != GIT_FAILED;
	switch (from) {
	case GIT_LOCK:
		return to == REPO_LOCK || to == GIT_DONE;
	case REPO_LOCK:
		return to == REPO_INIT || to == REPO_HAVE || to == REPO_RESOLVE;
	case REPO_INIT:
		return to == REPO_HAVE || to == REPO_RESOLVE;
	case REPO_RESOLVE:
		return to == REPO_HAVE || to == REPO_FETCH_ALL;
	case REPO_REVPARSE:
		return to == REPO_HAVE2;
	case REPO_HAVE:
		return to == REPO_FETCH || to == REPO_EXPORT;
	case REPO_FETCH:
		return to == REPO_HAVE2 || to == REPO_FETCH_ALL;
	case REPO_FETCH_ALL:
		return to == REPO_HAVE2 || to == REPO_REVPARSE;
	case REPO_HAVE2:
		return to == REPO_EXPORT || to == REPO_FETCH_ALL;
	case REPO_EXPORT:
		return to == REPO_LSTREE || to == REPO_LOCK || to == GIT_SPECS;
	case REPO_LSTREE:
		return to == REPO_MODULES || to == REPO_LOCK || to == GIT_SPECS;
	case REPO_MODULES:
		return to == REPO_LOCK || to == GIT_SPECS;
	case GIT_SPECS:
		return to == GIT_SPECS_WAIT;
	case GIT_SPECS_WAIT:
		return to == GIT_DONE;
	case GIT_DONE:
	case GIT_FAILED:
	case GIT_STATE__COUNT:
		break;
	}
	return false;
}

static void git_enter_at(struct git_job *a, enum git_state to, int line)
{
	SC_ASSERT(git_edge_ok(a->state, to));
	trace_state(&a->job.ctx, git_state_name[a->state], git_state_name[to], line);
	a->state = to;
	job_wake(&a->job);
}

/* Every state change goes through here; debug builds trace the caller's line. */
#define git_enter(a, to) git_enter_at((a), (to), TRACE_LINE)

/* Replaces every occurrence of the credentials (and of the password alone) in s by "***". */
static void git_scrub(const char *secret, struct sbuf *s)
{
	if (!secret || !*secret || !s->buf)
		return;
	const char *colon = strchr(secret, ':');
	/* The password alone too (git may print it without the user), unless too short to tell. */
	const char *needles[2] = { secret, colon && strlen(colon + 1) >= 4 ? colon + 1 : NULL };
	for (size_t k = 0; k < 2; k++) {
		if (!needles[k])
			continue;
		size_t nl = strlen(needles[k]);
		struct sbuf out = SBUF_INIT;
		const char *p = s->buf, *end = s->buf + s->len, *hit;
		while ((hit = memmem(p, (size_t)(end - p), needles[k], nl))) {
			sbuf_add(&out, p, (size_t)(hit - p));
			sbuf_addstr(&out, "***");
			p = hit + nl;
		}
		sbuf_add(&out, p, (size_t)(end - p));
		sbuf_reset(s);
		sbuf_add(s, out.buf ? out.buf : "", out.len);
		sbuf_release(&out);
	}
}

static sc_printf(3, 4) void git_fail(struct git_job *a, int err, const char *fmt, ...)
{
	struct sbuf msg = SBUF_INIT;
	va_list ap;

	va_start(ap, fmt);
	sbuf_vaddf(&msg, fmt, ap);
	va_end(ap);
	for (size_t i = 0; i < a->nunits; i++)
		git_scrub(a->units[i].userpwd, &msg);
	sbuf_rtrim(&msg);
	job_fail(&a->job, err, "%s", msg.buf);
	sbuf_release(&msg);
	git_enter(a, GIT_FAILED);
}

static void git_timer_fire(struct timer *t)
{
	struct git_job *a = container_of(t, struct git_job, timer);

	job_wake(&a->job);
}

static void git_deadline_fire(struct timer *t)
{
	struct git_job *a = container_of(t, struct git_job, deadline);

	if (a->running && !a->child_done) {
		a->timed_out = true;
		(void)child_kill(&a->child, SIGKILL);
	}
}

static bool git_env_kept(const char *kv)
{
	static const char *const keep[] = {
		"PATH=",     "HOME=",	    "SSH_AUTH_SOCK=", "GIT_SSH_COMMAND=",
		"GIT_SSH=",  "TMPDIR=",	    "http_proxy=",    "https_proxy=",
		"no_proxy=", "HTTP_PROXY=", "HTTPS_PROXY=",   "NO_PROXY="
	};

	for (size_t i = 0; i < SC_ARRAY_SIZE(keep); i++)
		if (!strncmp(kv, keep[i], strlen(keep[i])))
			return true;
	return false;
}

/* A controlled environment: none of the user's git settings but the transport's. */
static const char **git_env(struct git_job *a, const char *index_file, const char *userpwd)
{
	struct install *in = a->in;
	size_t n = 0, k = 0;

	while (environ[n])
		n++;
	const char **env = arena_alloc(&in->arena, (n + 16) * sizeof(*env));
	for (size_t i = 0; i < n; i++)
		if (git_env_kept(environ[i]))
			env[k++] = environ[i];
	env[k++] = "LC_ALL=C";
	env[k++] = "GIT_TERMINAL_PROMPT=0";
	env[k++] = "GIT_ASKPASS=true";
	env[k++] = "SSH_ASKPASS=true";
	env[k++] = "GIT_CONFIG_NOSYSTEM=1";
	env[k++] = "GIT_CONFIG_GLOBAL=/dev/null";
	/* file only for a local source: a remote one's submodules never read this machine's. */
	env[k++] = gitsrc_url_is_local(a->units[0].url)
			   ? "GIT_ALLOW_PROTOCOL=file:git:ssh:http:https"
			   : "GIT_ALLOW_PROTOCOL=git:ssh:http:https";
	env[k++] = "GIT_PROTOCOL_FROM_USER=0";
	if (index_file)
		env[k++] = arena_printf(&in->arena, "GIT_INDEX_FILE=%s", index_file);
	/* As for the HTTP phases: a transfer slower than SCINT_HTTP_LOW_SPEED for BUNDLE_TIMEOUT
	 * fails. */
	env[k++] = arena_printf(&in->arena, "GIT_HTTP_LOW_SPEED_LIMIT=%ld",
				net_policy()->low_speed_bytes);
	env[k++] = arena_printf(&in->arena, "GIT_HTTP_LOW_SPEED_TIME=%ld", net_policy()->timeout_s);
	if (userpwd) {
		struct sbuf b = SBUF_INIT;
		git_base64(userpwd, &b);
		env[k++] = "GIT_CONFIG_COUNT=1";
		env[k++] = "GIT_CONFIG_KEY_0=http.extraHeader";
		env[k++] = arena_printf(&in->arena, "GIT_CONFIG_VALUE_0=Authorization: Basic %s",
					b.buf);
		sbuf_release(&b);
	}
	env[k] = NULL;
	return env;
}

static void git_child_done(struct child *ch)
{
	struct git_job *a = ch->data;

	a->child_done = true;
	job_wake(&a->job);
}

static const char *git_bare(struct git_job *a, const struct git_unit *u)
{
	return arena_printf(&a->in->arena, "%s/inbound/gits/%s", a->in->opts.cache_root, u->slug);
}

/*
 * Runs `git -C <bare> -c ... <args...>` (args NULL-terminated); the job is
 * woken when it ended. Returns false (after failing the job) when it could
 * not start.
 */
static bool git_run(struct git_job *a, const char *bare, const char *index_file, const char *work,
		    const char *const *args)
{
	struct install *in = a->in;
	static const char *const pre[] = {
		"git",
		"-c",
		"core.hooksPath=/dev/null",
		"-c",
		"core.fsmonitor=false",
		"-c",
		"credential.helper=",
		"-c",
		"protocol.allow=user",
		"-c",
		"gc.auto=0",
		"-c",
		"maintenance.auto=false",
		"-c",
		"core.askPass=true",
		"-c",
		"submodule.recurse=false",
		"-c",
		"fetch.recurseSubmodules=false",
	};
	size_t na = 0;

	while (args[na])
		na++;
	const char **argv = arena_alloc(&in->arena, (SC_ARRAY_SIZE(pre) + na + 6) * sizeof(*argv));
	size_t i = 0;
	for (size_t k = 0; k < SC_ARRAY_SIZE(pre); k++)
		argv[i++] = pre[k];
	argv[i++] = arena_printf(&in->arena, "--git-dir=%s", bare);
	if (work)
		argv[i++] = arena_printf(&in->arena, "--work-tree=%s", work);
	for (size_t k = 0; k < na; k++)
		argv[i++] = args[k];
	argv[i] = NULL;
	child_release(&a->child);
	a->child = (struct child){
		.argv = argv,
		.envp = git_env(a, index_file, a->units[a->cur].userpwd),
		.cwd = NULL,
		.stderr_fd = -1,
		.out_max = (size_t)4 << 20,
		.done = git_child_done,
		.data = a,
		.ctx = &a->job.ctx,
	};
	a->child_done = false;
	int r = child_spawn(in->children, &a->child);
	if (r < 0) {
		git_fail(a, r, "cannot run git for %s: %s", a->name,
			 a->child.out.len ? a->child.out.buf : sc_strerror(r));
		return false;
	}
	a->running = true;
	if (net_policy()->total_timeout_s > 0)
		reactor_timer_arm(sched_reactor(a->job.sched), &a->deadline,
				  clock_now_ns() +
					  (uint64_t)net_policy()->total_timeout_s * 1000000000u);
	return true;
}

/* The child ended: true when it is done (and a->running cleared). */
static bool git_wait(struct git_job *a)
{
	if (!a->child_done)
		return false;
	a->running = false;
	reactor_timer_disarm(sched_reactor(a->job.sched), &a->deadline);
	return true;
}

static bool git_ok(const struct git_job *a)
{
	return a->child.exited && a->child.exit_code == 0 && !a->child.term_signal;
}

static struct git_unit *git_unit(struct git_job *a)
{
	return &a->units[a->cur];
}

/* "riggit (remote)" or "riggit (submodule 'x' at url)" for messages. */
static const char *git_what(struct git_job *a)
{
	struct git_unit *u = git_unit(a);

	return u->what ? arena_printf(&a->in->arena, "%s (%s)", a->name, u->what)
		       : arena_printf(&a->in->arena, "%s (%s)", a->name, u->redacted);
}

static const char *git_output(struct git_job *a)
{
	struct sbuf *o = &a->child.out;

	if (a->timed_out)
		return arena_printf(
			&a->in->arena,
			"git did not finish within %ld s (SCINT_HTTP_TIMEOUT raises the limit)",
			net_policy()->total_timeout_s);
	for (size_t i = 0; i < a->nunits; i++)
		git_scrub(a->units[i].userpwd, o);
	sbuf_rtrim(o);
	return o->len ? o->buf : child_status_str(&a->child);
}

/* ---- GIT_LOCK: the cache entry ---- */

/* <cache>/inbound/gits, created and opened on first use. */
static int git_open_gits(struct install *in)
{
	if (in->gits_fd >= 0)
		return 0;
	int r = fs_mkdirat_p(in->cache_fd, "inbound/gits", 0755);
	in->gits_fd = r < 0 ? r : fs_open_dirat(in->cache_fd, "inbound/gits");
	if (in->gits_fd < 0) {
		r = in->gits_fd;
		in->gits_fd = -1;
		return r;
	}
	return 0;
}

static void git_lock(struct git_job *a)
{
	struct install *in = a->in;
	struct gem *g = a->gem;

	int r = cache_lock_entry(in, g);
	if (r == -EWOULDBLOCK || r == -EAGAIN) {
		if (!a->waited)
			install_event(in, g, "wait");
		a->waited = true;
		reactor_timer_arm(sched_reactor(a->job.sched), &a->timer,
				  clock_now_ns() + GIT_LOCK_RETRY_NS);
		return;
	}
	if (r < 0) {
		git_fail(a, r, "cannot lock the cache entry of %s: %s", g->name, sc_strerror(r));
		return;
	}
	if (cache_load_manifest(in, g) == 0) {
		/* Another process promoted it while we waited. */
		struct sbuf text = SBUF_INIT;
		char *name = arena_printf(&in->arena, "%s.gemspec", g->entry);
		if (fs_read_fileat(in->cached_fd, name, &text, GIT_SPECS_MAX) == 0 &&
		    git_specs_parse(in, a->repo, sbuf_strv(&text)) == 0) {
			sbuf_release(&text);
			g->plan = PLAN_MATERIALIZE;
			cache_unlock_entry(in, g);
			git_enter(a, GIT_DONE);
			return;
		}
		sbuf_release(&text);
		g->manifest = NULL;
	}
	r = git_open_gits(in);
	if (r < 0) {
		git_fail(a, r, "cannot create %s/inbound/gits: %s", in->opts.cache_root,
			 sc_strerror(r));
		return;
	}
	a->entry_abs = arena_printf(&in->arena, "%s/assembling/%s/%s", in->opts.cache_root,
				    in->abi.abi, g->entry);
	(void)fs_rmtree_at(in->assembling_fd, g->entry);
	r = fs_mkdirat_p(in->assembling_fd, arena_printf(&in->arena, "%s/gem", g->entry), 0755);
	if (r < 0) {
		git_fail(a, r, "cannot create %s: %s", a->entry_abs, sc_strerror(r));
		return;
	}
	a->tree_created = true;
	git_enter(a, REPO_LOCK);
}

/* ---- per repository ---- */

/* Lock files a killed git left behind: we hold the repository's flock. */
static void git_clear_stale(int dfd)
{
	static const char *const stale[] = { "shallow.lock", "config.lock", "packed-refs.lock",
					     "HEAD.lock",    "index.lock",  "FETCH_HEAD.lock" };

	for (size_t i = 0; i < SC_ARRAY_SIZE(stale); i++)
		(void)unlinkat(dfd, stale[i], 0);
}

static void git_repo_lock(struct git_job *a)
{
	struct install *in = a->in;
	struct git_unit *u = git_unit(a);
	char *name = arena_printf(&in->arena, "%s.lock", u->slug);

	int fd = fs_lock_try(in->gits_fd, name);
	if (fd == -EWOULDBLOCK || fd == -EAGAIN) {
		if (!a->waited && a->gem)
			install_event(in, a->gem, "wait");
		a->waited = true;
		reactor_timer_arm(sched_reactor(a->job.sched), &a->timer,
				  clock_now_ns() + GIT_LOCK_RETRY_NS);
		return;
	}
	if (fd < 0) {
		git_fail(a, fd, "cannot lock the git cache of %s: %s", git_what(a),
			 sc_strerror(fd));
		return;
	}
	a->repo_lock = fd;
	int dfd = fs_open_dirat(in->gits_fd, u->slug);
	if (dfd >= 0) {
		git_clear_stale(dfd);
		bool ok = fs_exists_at(dfd, "HEAD") && fs_is_dir_at(dfd, "objects");
		(void)close(dfd);
		if (ok) {
			a->child_done = false; /* REPO_HAVE starts its child on its first step */
			git_enter(a, u->rev ? REPO_HAVE : REPO_RESOLVE);
			return;
		}
	}
	const char *args[] = { "init", "--bare", "-q", NULL };
	/* --git-dir names the new repository: git init creates it there. */
	if (git_run(a, git_bare(a, u), NULL, NULL, args))
		git_enter(a, REPO_INIT);
}

static void git_repo_init_done(struct git_job *a)
{
	if (!git_wait(a))
		return;
	if (!git_ok(a)) {
		git_fail(a, -SC_EEXEC, "cannot create the git cache of %s: %s", git_what(a),
			 git_output(a));
		return;
	}
	a->child_done = false;
	git_enter(a, git_unit(a)->rev ? REPO_HAVE : REPO_RESOLVE);
}

/* REPO_HAVE / REPO_HAVE2: is the revision's commit in the bare repository? */
static void git_have(struct git_job *a)
{
	struct git_unit *u = git_unit(a);

	if (!a->running && !a->child_done) {
		const char *args[] = { "cat-file", "-e",
				       arena_printf(&a->in->arena, "%s^{commit}", u->rev), NULL };
		(void)git_run(a, git_bare(a, u), NULL, NULL, args);
		return;
	}
	if (!git_wait(a))
		return;
	a->child_done = false;
	bool have = git_ok(a);
	if (a->state == REPO_HAVE) {
		if (have) {
			git_enter(a, REPO_EXPORT);
			return;
		}
		if (a->probe && a->probe->offline) {
			git_fail(a, -SC_ENOTFOUND,
				 "%s: revision %s of %s is not in the cache, and --local fetches "
				 "nothing",
				 a->name, u->rev, u->redacted);
			return;
		}
		if (a->gem)
			install_event(a->in, a->gem, "fetch");
		const char *args[] = { "fetch",
				       "-q",
				       "--no-tags",
				       "--no-write-fetch-head",
				       "--depth",
				       "1",
				       "--",
				       u->url,
				       arena_printf(&a->in->arena, "+%s:refs/scint/%s", u->rev,
						    u->rev),
				       NULL };
		a->fetched = true;
		if (git_run(a, git_bare(a, u), NULL, NULL, args))
			git_enter(a, REPO_FETCH);
		return;
	}
	/* REPO_HAVE2: after a full fetch */
	if (!have && a->probe) {
		git_fail(a, -SC_ENOTFOUND,
			 "%s: %s names revision %s, which is not a commit of %s%s%s (or does "
			 "not exist there)",
			 a->name,
			 u->what	 ? "its submodule"
			 : a->probe->ref ? a->probe->ref
					 : "HEAD",
			 u->rev, u->redacted, u->what ? ", " : "", u->what ? u->what : "");
		return;
	}
	if (!have) {
		git_fail(
			a, -SC_ENOTFOUND,
			"cannot install %s: revision %s does not exist in %s%s%s (it may have been "
			"removed by a force push; run `bundle update %s`)",
			a->gem->name, u->rev, u->redacted, u->what ? ", " : "",
			u->what ? u->what : "", a->gem->name);
		return;
	}
	git_enter(a, REPO_EXPORT);
}

static void git_fetch_all(struct git_job *a)
{
	struct git_unit *u = git_unit(a);
	struct install *in = a->in;
	int dfd = fs_open_dirat(in->gits_fd, u->slug);
	bool shallow = dfd >= 0 && fs_exists_at(dfd, "shallow");

	if (dfd >= 0)
		(void)close(dfd);
	const char *args[] = { "fetch",
			       "-q",
			       "--no-tags",
			       "--no-write-fetch-head",
			       shallow ? "--unshallow" : "--",
			       shallow ? "--" : u->url,
			       shallow ? u->url : "+refs/heads/*:refs/heads/*",
			       shallow ? "+refs/heads/*:refs/heads/*" : "+refs/tags/*:refs/tags/*",
			       shallow ? "+refs/tags/*:refs/tags/*" : NULL,
			       NULL };
	if (git_run(a, git_bare(a, u), NULL, NULL, args))
		git_enter(a, REPO_FETCH_ALL);
}

static void git_fetch_done(struct git_job *a)
{
	if (!git_wait(a))
		return;
	a->child_done = false;
	if (git_ok(a)) {
		git_enter(a, REPO_HAVE2);
		return;
	}
	const char *out = git_output(a);
	/*
	 * A server that refuses a bare revision ("not our ref", "no such
	 * remote ref", "Server does not allow request for unadvertised
	 * object") still answers: fetch its branches and tags.
	 */
	bool refused = strstr(out, "not our ref") || strstr(out, "unadvertised object") ||
		       strstr(out, "no such remote ref") ||
		       strstr(out, "couldn't find remote ref") ||
		       strstr(out, "upload-pack: not our ref");
	if (refused) {
		git_fetch_all(a);
		return;
	}
	git_fail(a, -SC_ENET, "cannot fetch %s: git fetch failed: %s", git_what(a), out);
}

static void git_fetch_all_done(struct git_job *a)
{
	if (!git_wait(a))
		return;
	a->child_done = false;
	if (!git_ok(a)) {
		git_fail(a, -SC_ENET, "cannot fetch %s: git fetch failed: %s", git_what(a),
			 git_output(a));
		return;
	}
	git_enter(a, git_unit(a)->rev ? REPO_HAVE2 : REPO_REVPARSE);
}

/* ---- REPO_RESOLVE / REPO_REVPARSE: a probe's branch, tag or ref to a revision ---- */

/* "<40 hex>\t<refname>\n" lines: the revision of name, or NULL. */
static const char *git_ls_find(struct git_job *a, const char *name)
{
	const char *p = a->child.out.buf ? a->child.out.buf : "";
	const char *end = p + a->child.out.len;
	size_t nl = strlen(name);

	while (p < end) {
		const char *eol = memchr(p, '\n', (size_t)(end - p));
		if (!eol)
			eol = end;
		if (eol - p == 41 + (ptrdiff_t)nl && p[40] == '\t' && !memcmp(p + 41, name, nl))
			return arena_strndup(&a->in->arena, p, 40);
		p = eol + 1;
	}
	return NULL;
}

/*
 * Every answer line of `git ls-remote` ("<40 hex>\t...") must be 40
 * lower-case hex and a ref name without control characters; other lines
 * are git's diagnostics (stderr is merged), never taken for an answer.
 */
static bool git_ls_valid(struct git_job *a)
{
	const char *p = a->child.out.buf ? a->child.out.buf : "";
	const char *end = p + a->child.out.len;

	while (p < end) {
		const char *eol = memchr(p, '\n', (size_t)(end - p));
		if (!eol)
			eol = end;
		if (eol - p >= 41 && p[40] == '\t') {
			char rev[41];
			memcpy(rev, p, 40);
			rev[40] = '\0';
			if (!gitsrc_is_revision(rev) || eol - p == 41)
				return false;
			for (const char *c = p + 41; c < eol; c++)
				if ((unsigned char)*c < 0x20 || *c == 0x7f)
					return false;
		}
		p = eol + 1;
	}
	return true;
}

/* A hex abbreviation (Bundler's rev-parse takes one when no ref has the name). */
static bool git_is_abbrev(const char *ref)
{
	size_t n = strlen(ref);

	return n >= 4 && n < 40 && hex_is_any(ref, n);
}

static void git_set_rev(struct git_job *a, const char *rev)
{
	struct install *in = a->in;
	struct git_repo *repo = a->repo;

	a->units[0].rev = rev;
	repo->revision = rev;
	repo->install_name = arena_printf(&in->arena, "%s-%.12s", repo->base, rev);
	a->probe->revision = rev;
}

/*
 * As Bundler 2.3's `git rev-parse --verify <ref|HEAD>` in a bare clone of
 * the branches and tags picks it: a full revision as it is, else the ref
 * named exactly ("HEAD", "refs/..."), refs/<ref>, refs/tags/<ref>,
 * refs/heads/<ref>; a hex abbreviation no ref names needs the branches and
 * tags fetched (REPO_FETCH_ALL, then REPO_REVPARSE).
 */
static void git_resolve(struct git_job *a)
{
	struct git_unit *u = git_unit(a);
	const char *ref = a->probe->ref;

	if (!a->running && !a->child_done) {
		const char *args[] = { "ls-remote", "--", u->url, ref ? ref : "HEAD", NULL };
		a->fetched = true;
		(void)git_run(a, git_bare(a, u), NULL, NULL, args);
		return;
	}
	if (!git_wait(a))
		return;
	a->child_done = false;
	if (!git_ok(a)) {
		git_fail(a, -SC_ENET, "cannot reach the git remote %s (for %s): %s", u->redacted,
			 a->name, git_output(a));
		return;
	}
	if (!git_ls_valid(a)) {
		git_fail(a, -SC_EUNSAFE,
			 "the git remote %s (for %s) answered `git ls-remote` with a line that is "
			 "not a 40-hex revision and a ref name",
			 u->redacted, a->name);
		return;
	}
	const char *rev = NULL;
	if (!ref) {
		rev = git_ls_find(a, "HEAD");
	} else if (!strncmp(ref, "refs/", 5) || !strcmp(ref, "HEAD")) {
		rev = git_ls_find(a, ref);
	} else {
		static const char *const rules[] = { "refs/", "refs/tags/", "refs/heads/" };
		for (size_t i = 0; i < SC_ARRAY_SIZE(rules) && !rev; i++)
			rev = git_ls_find(a, arena_printf(&a->in->arena, "%s%s", rules[i], ref));
	}
	if (!rev && ref && git_is_abbrev(ref)) {
		git_fetch_all(a);
		return;
	}
	if (!rev) {
		git_fail(a, -SC_ENOTFOUND,
			 "Revision %s does not exist in the repository %s. Maybe you misspelled "
			 "it? (for %s)",
			 ref ? ref : "HEAD", u->redacted, a->name);
		return;
	}
	git_set_rev(a, rev);
	git_enter(a, REPO_HAVE);
}

static void git_revparse(struct git_job *a)
{
	struct git_unit *u = git_unit(a);

	if (!a->running && !a->child_done) {
		const char *args[] = { "rev-parse", "--verify", "-q", a->probe->ref, NULL };
		(void)git_run(a, git_bare(a, u), NULL, NULL, args);
		return;
	}
	if (!git_wait(a))
		return;
	a->child_done = false;
	/* the line that is a revision (a warning may come before it: stderr is merged) */
	const char *p = a->child.out.buf ? a->child.out.buf : "";
	const char *end = p + a->child.out.len;
	char rev[41] = "";
	while (git_ok(a) && p < end && !*rev) {
		const char *eol = memchr(p, '\n', (size_t)(end - p));
		if (!eol)
			eol = end;
		if (eol - p == 40) {
			memcpy(rev, p, 40);
			rev[40] = '\0';
			if (!gitsrc_is_revision(rev))
				rev[0] = '\0';
		}
		p = eol + 1;
	}
	if (!gitsrc_is_revision(rev)) {
		git_fail(a, -SC_ENOTFOUND,
			 "Revision %s does not exist in the repository %s. Maybe you misspelled "
			 "it? (for %s)",
			 a->probe->ref, u->redacted, a->name);
		return;
	}
	git_set_rev(a, arena_strdup(&a->in->arena, rev));
	git_enter(a, REPO_HAVE2);
}

static const char *git_work(struct git_job *a, const struct git_unit *u)
{
	return *u->dst ? arena_printf(&a->in->arena, "%s/gem/%s", a->entry_abs, u->dst)
		       : arena_printf(&a->in->arena, "%s/gem", a->entry_abs);
}

static const char *git_index(struct git_job *a)
{
	return arena_printf(&a->in->arena, "%s/index-%zu", a->entry_abs, a->cur);
}

/* read-tree -u into the work tree, with an index of our own (the bare repository keeps none). */
static void git_export(struct git_job *a)
{
	struct git_unit *u = git_unit(a);

	if (!a->running && !a->child_done) {
		if (*u->dst) {
			int r = fs_mkdirat_p(
				a->in->assembling_fd,
				arena_printf(&a->in->arena, "%s/gem/%s", a->entry, u->dst), 0755);
			if (r < 0) {
				git_fail(a, r, "cannot create the checkout of %s: %s", git_what(a),
					 sc_strerror(r));
				return;
			}
		}
		const char *args[] = { "read-tree", "--reset", "-u", u->rev, NULL };
		(void)git_run(a, git_bare(a, u), git_index(a), git_work(a, u), args);
		return;
	}
	if (!git_wait(a))
		return;
	a->child_done = false;
	if (!git_ok(a)) {
		git_fail(a, -SC_EEXEC, "cannot check out %s at %s: %s", git_what(a), u->rev,
			 git_output(a));
		return;
	}
	if (!a->repo->submodules) {
		git_enter(a, GIT_SPECS);
		return;
	}
	git_enter(a, REPO_LSTREE);
}

/* The gitlinks of the revision: "160000 commit <sha>\t<path>\0" from ls-tree -r -z. */
static void git_lstree(struct git_job *a)
{
	struct git_unit *u = git_unit(a);

	if (!a->running && !a->child_done) {
		const char *args[] = { "ls-tree", "-r", "-z", u->rev, NULL };
		(void)git_run(a, git_bare(a, u), NULL, NULL, args);
		return;
	}
	if (!git_wait(a))
		return;
	a->child_done = false;
	if (!git_ok(a)) {
		git_fail(a, -SC_EEXEC, "cannot list %s at %s: %s", git_what(a), u->rev,
			 git_output(a));
		return;
	}
	/* Keep the listing: REPO_MODULES reads .gitmodules next. */
	sbuf_reset(&a->modules);
	sbuf_add(&a->modules, a->child.out.buf ? a->child.out.buf : "", a->child.out.len);
	git_enter(a, REPO_MODULES);
}

static void git_modules(struct git_job *a)
{
	struct install *in = a->in;
	struct git_unit *u = git_unit(a);

	if (!a->running && !a->child_done) {
		const char *gm = arena_printf(&in->arena, "%s/.gitmodules", git_work(a, u));
		struct stat st;
		if (stat(gm, &st) < 0) {
			/* No submodules here: next repository, or the specs. */
			goto next;
		}
		/* `git config -f` reads the file only: no includes run anything. */
		const char *args[] = { "config", "--no-includes", "-z", "-f", gm, "-l", NULL };
		(void)git_run(a, git_bare(a, u), NULL, NULL, args);
		return;
	}
	if (!git_wait(a))
		return;
	a->child_done = false;
	if (!git_ok(a)) {
		git_fail(a, -SC_EEXEC, "cannot read .gitmodules of %s: %s", git_what(a),
			 git_output(a));
		return;
	}
	{
		struct sbuf cfg = SBUF_INIT;
		sbuf_add(&cfg, a->child.out.buf ? a->child.out.buf : "", a->child.out.len);
		const char *p = a->modules.buf, *end = a->modules.buf + a->modules.len;
		while (p && p < end) {
			const char *z = memchr(p, '\0', (size_t)(end - p));
			if (!z)
				break;
			/* "<mode> <type> <sha>\t<path>" */
			if (!strncmp(p, "160000 commit ", 14) && z - p > 14 + 41 && p[54] == '\t') {
				const char *sha = arena_strndup(&in->arena, p + 14, 40);
				const char *path =
					arena_strndup(&in->arena, p + 55, (size_t)(z - p - 55));
				const char *why;
				const char *url = gitsrc_module_get(&in->arena, &cfg, path, "url");
				const char *what = arena_printf(&in->arena, "submodule '%s'", path);
				if (names_check_entry_path(strv_from(path), &why) < 0) {
					sbuf_release(&cfg);
					git_fail(a, -SC_EUNSAFE,
						 "cannot install %s: the %s has an unsafe path: %s",
						 a->name, what, why);
					return;
				}
				if (!url) {
					sbuf_release(&cfg);
					git_fail(a, -SC_ENOTFOUND,
						 "cannot install %s: the %s has no url in "
						 ".gitmodules",
						 a->name, what);
					return;
				}
				url = gitsrc_resolve_url(&in->arena, u->url, url);
				struct sbuf red = SBUF_INIT;
				url_redact(url, &red);
				if (!gitsrc_url_ok(url, &why)) {
					git_fail(a, -SC_EUNSAFE,
						 "cannot install %s: the url %s of its %s is "
						 "refused: %s",
						 a->name, red.buf, what, why);
					sbuf_release(&red);
					sbuf_release(&cfg);
					return;
				}
				if (gitsrc_url_is_local(url) &&
				    !gitsrc_url_is_local(a->units[0].url)) {
					git_fail(a, -SC_EUNSAFE,
						 "cannot install %s: the url %s of its %s is "
						 "refused: a remote repository's submodule may not "
						 "be a local path or file:// URL",
						 a->name, red.buf, what);
					sbuf_release(&red);
					sbuf_release(&cfg);
					return;
				}
				if (a->nunits == GIT_UNITS_MAX || u->depth + 1 > GIT_DEPTH_MAX) {
					sbuf_release(&red);
					sbuf_release(&cfg);
					git_fail(a, -SC_ETOOBIG,
						 "cannot install %s: more than %d submodules or "
						 "nested "
						 "deeper than %d",
						 a->name, GIT_UNITS_MAX, GIT_DEPTH_MAX);
					return;
				}
				struct git_unit *s = &a->units[a->nunits++];
				u = git_unit(a); /* (the array does not move; for clarity) */
				git_url_creds(in, url, &s->url, &s->userpwd);
				s->redacted = arena_strdup(&in->arena, red.buf);
				s->rev = sha;
				s->slug = gitsrc_slug(&in->arena, s->redacted);
				s->dst = *u->dst ? arena_printf(&in->arena, "%s/%s", u->dst, path)
						 : path;
				s->what = arena_printf(&in->arena, "%s at %s", what, s->redacted);
				s->depth = u->depth + 1;
				sbuf_release(&red);
			}
			p = z + 1;
		}
		sbuf_release(&cfg);
	}
next:
	(void)close(a->repo_lock);
	a->repo_lock = -1;
	a->child_done = false;
	if (a->cur + 1 < a->nunits) {
		a->cur++;
		git_enter(a, REPO_LOCK);
		return;
	}
	git_enter(a, GIT_SPECS);
}

/* ---- GIT_SPECS: the gemspecs, evaluated as Bundler does ---- */

static void git_specs_done(struct rpc_call *call)
{
	struct git_job *a = call->data;

	a->call_done = true;
	job_wake(&a->job);
}

static void git_specs(struct git_job *a)
{
	struct install *in = a->in;
	struct sbuf payload = SBUF_INIT;

	sbuf_addf(&payload, "%s/gem", a->entry_abs);
	sbuf_addch(&payload, '\0');
	sbuf_addstr(&payload, a->repo->glob);
	sbuf_addch(&payload, '\0');
	sbuf_addstr(&payload, git_bare(a, &a->units[0]));
	sbuf_addch(&payload, '\0');
	sbuf_addf(&payload, "%s/index-0", a->entry_abs);
	char *p = arena_strndup(&in->arena, payload.buf, payload.len);
	a->call = (struct rpc_call){
		.method = "gitspecs",
		.payload = p,
		.len = payload.len,
		.done = git_specs_done,
		.data = a,
	};
	sbuf_release(&payload);
	a->call_done = false;
	git_enter(a, GIT_SPECS_WAIT);
	rpc_call(install_helper(in), &a->call);
}

static bool git_parse_size(const char **p, const char *end, size_t *ret)
{
	size_t v = 0;
	const char *s = *p;

	if (s >= end || *s < '0' || *s > '9')
		return false;
	while (s < end && *s >= '0' && *s <= '9') {
		if (v > ((size_t)1 << 40))
			return false;
		v = v * 10 + (size_t)(*s++ - '0');
	}
	*p = s;
	*ret = v;
	return true;
}

static void git_specs_wait(struct git_job *a)
{
	struct install *in = a->in;
	struct gem *g = a->gem;
	struct git_repo *repo = a->repo;

	if (!a->call_done)
		return;
	if (a->repo_lock >= 0) {
		(void)close(a->repo_lock);
		a->repo_lock = -1;
	}
	if (a->call.res < 0) {
		sbuf_rtrim(&a->call.result);
		git_fail(a, a->call.res, "cannot load the gemspecs of %s (%s at %.12s): %s",
			 a->name, repo->redacted, repo->revision, sbuf_cstr(&a->call.result));
		return;
	}
	const char *p = a->call.result.buf ? a->call.result.buf : "";
	const char *end = p + a->call.result.len;
	struct sbuf list = SBUF_INIT;
	struct git_spec *specs = arena_alloc(&in->arena, 64 * sizeof(*specs));
	const char **gzs = arena_alloc(&in->arena, 64 * sizeof(*gzs));
	size_t *gzlen = arena_alloc(&in->arena, 64 * sizeof(*gzlen));
	size_t n = 0;
	int err = 0;
	const char *why = NULL;

	sbuf_addf(&list, "scint-gitspecs 1\nrevision\t%s\n", repo->revision);
	while (p < end && !err) {
		size_t n1, n2, n3;
		if (end - p < 8 || memcmp(p, "gemspec\t", 8)) {
			err = -SC_ERUBY;
			break;
		}
		p += 8;
		const char *tab = memchr(p, '\t', (size_t)(end - p));
		if (!tab) {
			err = -SC_ERUBY;
			break;
		}
		const char *rel = arena_strndup(&in->arena, p, (size_t)(tab - p));
		p = tab + 1;
		if (!git_parse_size(&p, end, &n1) || p >= end || *p++ != '\t' ||
		    !git_parse_size(&p, end, &n2) || p >= end || *p++ != '\t' ||
		    !git_parse_size(&p, end, &n3) || p >= end || *p++ != '\n' ||
		    (size_t)(end - p) < n1 + n2 + n3) {
			err = -SC_ERUBY;
			break;
		}
		if (names_check_entry_path(strv_from(rel), &why) < 0) {
			err = -SC_EUNSAFE;
			break;
		}
		struct git_spec s = { 0 };
		struct strv unused;
		char *sum = arena_alloc(&in->arena, n1 + 16);
		memcpy(sum, p, n1);
		memcpy(sum + n1, "---gemspec---\n", 15);
		if (gem_summary_parse(&in->arena, strv_make(sum, n1 + 14), &s.spec, &unused) < 0) {
			err = -SC_ERUBY;
			break;
		}
		struct sbuf cwhy = SBUF_INIT;
		if (gem_summary_check(&s.spec, &cwhy) < 0) {
			why = arena_strdup(&in->arena, sbuf_cstr(&cwhy));
			sbuf_release(&cwhy);
			err = -SC_EUNSAFE;
			break;
		}
		sbuf_release(&cwhy);
		/* Bundler writes the evaluated spec back over the gemspec (serialize_gemspecs_in).
		 */
		int r = g ? fs_write_atomic(in->assembling_fd,
					    arena_printf(&in->arena, "%s/gem/%s", a->entry, rel),
					    p + n1, n2, 0644)
			  : 0;
		if (r < 0) {
			why = arena_printf(&in->arena, "%s: %s", rel, sc_strerror(r));
			err = r;
			break;
		}
		const char *slash = strrchr(rel, '/');
		s.dir = slash ? arena_strndup(&in->arena, rel, (size_t)(slash - rel)) : "";
		s.name = s.spec.name;
		s.version = s.spec.version;
		s.full_name = arena_printf(&in->arena, "%s-%s", s.name, s.version);
		bool dup = false;
		for (size_t k = 0; k < n; k++)
			dup = dup || !strcmp(specs[k].name, s.name);
		if (!dup && n < 64) {
			gzs[n] = p + n1 + n2;
			gzlen[n] = n3;
			specs[n++] = s;
			sbuf_addf(&list, "gem\t%s\n", s.dir);
			git_summary_render(&s.spec, &list);
		}
		p += n1 + n2 + n3;
	}
	sbuf_addstr(&list, "end\n");
	if (err) {
		sbuf_release(&list);
		git_fail(a, err, "cannot load the gemspecs of %s (%s at %.12s): %s", a->name,
			 repo->redacted, repo->revision,
			 why ? why : "the helper's answer is malformed");
		return;
	}
	repo->specs = specs;
	repo->nspecs = n;
	repo->have_specs = true;
	if (a->probe) {
		/* lock.c resolves with them; the checkout is only scratch */
		sbuf_release(&list);
		a->probe->specs = specs;
		a->probe->nspecs = n;
		git_enter(a, GIT_DONE);
		return;
	}
	/* Every locked gem of the source must be in the checkout, at its locked version. */
	for (size_t i = 0; i < in->ngems; i++) {
		struct gem *m = in->gems[i];
		if (m->git != repo)
			continue;
		const struct git_spec *s = git_spec_of(m);
		if (!s || strcmp(s->version, m->version)) {
			sbuf_release(&list);
			git_fail(a, -SC_ENOTFOUND,
				 "cannot install %s: %s at %.12s %s (check the lockfile's glob)",
				 m->full_name, repo->redacted, repo->revision,
				 s ? arena_printf(&in->arena, "has %s", s->full_name)
				   : "has no gemspec for it");
			return;
		}
		m->subdir = s->dir;
	}
	/* The per-unit index files are ours, not the checkout's. */
	for (size_t i = 0; i < a->nunits; i++)
		(void)unlinkat(in->assembling_fd,
			       arena_printf(&in->arena, "%s/index-%zu", g->entry, i), 0);
	struct manifest *m = arena_alloc(&in->arena, sizeof(*m));
	const char *bad = NULL;
	int r = compile_scan_tree(in, in->assembling_fd, g->entry, m, false, &bad);
	if (r < 0) {
		sbuf_release(&list);
		git_fail(a, r, "cannot read the checkout of %s: %s: %s", g->name, bad ? bad : "?",
			 sc_strerror(r));
		return;
	}
	/* A checkout is bound like an unpacked gem (checked once it is out: git wrote it). */
	uint64_t max_bytes, max_file, max_entries, biggest = 0;
	if (assemble_limits(&max_bytes, &max_file, &max_entries, &bad) < 0) {
		sbuf_release(&list);
		git_fail(a, -SC_ECONFIG,
			 "invalid %s: expected a size in bytes (K, M, G suffixes allowed)", bad);
		return;
	}
	for (size_t i = 0; i < m->nentries; i++)
		if (m->entries[i].type == MF_FILE && m->entries[i].size > biggest)
			biggest = m->entries[i].size;
	const char *over = m->total_bytes > max_bytes  ? "SCINT_GEM_MAX_BYTES"
			   : biggest > max_file	       ? "SCINT_GEM_MAX_FILE_BYTES"
			   : m->nentries > max_entries ? "SCINT_GEM_MAX_ENTRIES"
						       : NULL;
	if (over) {
		sbuf_release(&list);
		git_fail(a, -SC_ETOOBIG,
			 "cannot install %s: its checkout (%zu entries, %llu bytes) is over the "
			 "limit "
			 "of %s, which raises it",
			 g->name, m->nentries, (unsigned long long)m->total_bytes, over);
		return;
	}
	if (!n) {
		sbuf_release(&list);
		git_fail(a, -SC_ENOTFOUND, "cannot install %s: %s at %.12s has no gemspec", g->name,
			 repo->redacted, repo->revision);
		return;
	}
	/* The manifest speaks for the checkout's first gem (a repository has no spec of its own).
	 */
	m->spec = specs[0].spec;
	m->full_name = strcmp(specs[0].spec.platform, "ruby")
			       ? arena_printf(&in->arena, "%s-%s", specs[0].full_name,
					      specs[0].spec.platform)
			       : specs[0].full_name;
	m->abi = in->abi.abi;
	g->manifest = m;
	g->gemspec = strv_make(arena_strndup(&in->arena, list.buf, list.len), list.len);
	sbuf_release(&list);
	g->unpacked = true;
	g->downloaded = a->fetched;
	/* Native extensions: built in the checkout, one gem after the other (one ext/ tree). */
	struct job *after = &a->job;
	for (size_t i = 0; i < in->ngems; i++) {
		struct gem *mg = in->gems[i];
		const struct git_spec *s;
		if (mg->git != repo || !(s = git_spec_of(mg)) || !s->spec.nextensions)
			continue;
		mg->entry = g->entry;
		mg->ext_rel = git_ext_entry_rel(in, repo, s->dir);
		mg->manifest = m;
		mg->promote = g->promote;
		mg->needs_build = true;
		sbuf_reset(&mg->metadata_gz);
		for (size_t k = 0; k < n; k++)
			if (!strcmp(specs[k].name, mg->name))
				sbuf_add(&mg->metadata_gz, gzs[k], gzlen[k]);
		after = compile_job_new(in, mg, after);
		g->needs_build = true;
	}
	git_enter(a, GIT_DONE);
}

/* ---- GIT_FAILED ---- */

static void git_failed(struct git_job *a)
{
	struct install *in = a->in;

	if (a->running && !a->child_done)
		return;
	if (a->state == GIT_SPECS_WAIT && !a->call_done)
		return;
	if (a->repo_lock >= 0) {
		(void)close(a->repo_lock);
		a->repo_lock = -1;
	}
	if (a->tree_created)
		(void)fs_rmtree_at(in->assembling_fd, a->entry);
	if (a->gem)
		cache_unlock_entry(in, a->gem);
	job_finish(&a->job);
}

static void git_step(struct job *j)
{
	struct git_job *a = container_of(j, struct git_job, job);

	if (j->canceled && a->state != GIT_FAILED && a->state != GIT_DONE) {
		if (a->state == GIT_SPECS_WAIT && !a->call_done)
			return;
		if (a->running && !a->child_done)
			return; /* git_cancel signalled it */
		git_enter(a, GIT_FAILED);
	}
	switch (a->state) {
	case GIT_LOCK:
		git_lock(a);
		break;
	case REPO_LOCK:
		git_repo_lock(a);
		break;
	case REPO_INIT:
		git_repo_init_done(a);
		break;
	case REPO_HAVE:
	case REPO_HAVE2:
		git_have(a);
		break;
	case REPO_FETCH:
		git_fetch_done(a);
		break;
	case REPO_FETCH_ALL:
		git_fetch_all_done(a);
		break;
	case REPO_EXPORT:
		git_export(a);
		break;
	case REPO_LSTREE:
		git_lstree(a);
		break;
	case REPO_MODULES:
		git_modules(a);
		break;
	case REPO_RESOLVE:
		git_resolve(a);
		break;
	case REPO_REVPARSE:
		git_revparse(a);
		break;
	case GIT_SPECS:
		git_specs(a);
		break;
	case GIT_SPECS_WAIT:
		git_specs_wait(a);
		break;
	case GIT_DONE:
		job_finish(j);
		break;
	case GIT_FAILED:
		git_failed(a);
		break;
	case GIT_STATE__COUNT:
		SC_ASSERT(!"bad state");
	}
}

static void git_cancel(struct job *j)
{
	struct git_job *a = container_of(j, struct git_job, job);

	reactor_timer_disarm(sched_reactor(j->sched), &a->timer);
	reactor_timer_disarm(sched_reactor(j->sched), &a->deadline);
	if (a->running && !a->child_done)
		(void)child_kill(&a->child, SIGTERM);
}

static void git_release(struct job *j)
{
	struct git_job *a = container_of(j, struct git_job, job);

	reactor_timer_disarm(sched_reactor(j->sched), &a->timer);
	reactor_timer_disarm(sched_reactor(j->sched), &a->deadline);
	if (a->repo_lock >= 0)
		(void)close(a->repo_lock);
	a->repo_lock = -1;
	child_release(&a->child);
	sbuf_release(&a->modules);
	sbuf_release(&a->call.result);
}

static const struct job_ops git_ops = {
	.kind = JOB_GIT,
	.step = git_step,
	.cancel = git_cancel,
	.release = git_release,
};

struct job *git_job_new(struct install *in, struct gem *g)
{
	struct git_job *a = arena_alloc(&in->arena, sizeof(*a));
	struct git_repo *repo = g->git;

	a->in = in;
	a->gem = g;
	a->name = g->name;
	a->entry = g->entry;
	a->repo = repo;
	a->repo_lock = -1;
	sbuf_init(&a->modules, 0);
	a->units[0] = (struct git_unit){
		.url = repo->url,
		.redacted = repo->redacted,
		.userpwd = repo->userpwd,
		.rev = repo->revision,
		.slug = repo->slug,
		.dst = "",
	};
	a->nunits = 1;
	timer_init(&a->timer, git_timer_fire);
	timer_init(&a->deadline, git_deadline_fire);
	job_init(&a->job, in->sched, &git_ops, g->full_name, (int)g->ndependents);
	return &a->job;
}

/* ---- probes (lock.c) ---- */

int git_probe_run(struct install *in, struct git_probe *probes, size_t n, struct sbuf *err)
{
	struct git_job **jobs = arena_alloc(&in->arena, (n + 1) * sizeof(*jobs));
	int *locks = arena_alloc(&in->arena, (n + 1) * sizeof(*locks));
	struct sched_limits lim = { 0 };
	struct sched *s = NULL;
	const char *why;
	int r;

	for (size_t i = 0; i < n; i++) {
		jobs[i] = NULL;
		locks[i] = -1;
	}
	if ((r = install_open_cache(in, err)) < 0)
		return r;
	if ((r = git_open_gits(in)) < 0) {
		sbuf_addf(err, "cannot create %s/inbound/gits: %s", in->opts.cache_root,
			  sc_strerror(r));
		return r;
	}
	const char *from = strrchr(in->opts.gemfile, '/');
	from = from ? from + 1 : in->opts.gemfile;
	lim.max_running[JOB_GIT] = 8;
	s = sched_new(&in->arena, in->reactor, in->ioq, in->http, in->children, &lim, false);
	for (size_t i = 0; i < n; i++) {
		struct git_probe *pr = &probes[i];
		struct git_repo *repo = arena_alloc(&in->arena, sizeof(*repo));
		memset(repo, 0, sizeof(*repo));
		if (pr->ref && !gitsrc_ref_ok(pr->ref, &why)) {
			struct sbuf red = SBUF_INIT;
			url_redact(pr->remote, &red);
			sbuf_addf(err,
				  "%s: the branch, tag or ref '%s' of the git source %s is "
				  "refused: %s",
				  from, pr->ref, red.buf, why);
			sbuf_release(&red);
			r = -SC_EUNSAFE;
			goto out;
		}
		const char *rev = pr->revision;
		if (!rev && pr->ref && strlen(pr->ref) == 40 &&
		    hex_is_any(pr->ref, 40)) {
			/* a full revision is itself (rev-parse prints it in lower case) */
			char *lc = arena_strdup(&in->arena, pr->ref);
			for (char *c = lc; *c; c++)
				if (*c >= 'A' && *c <= 'F')
					*c = (char)(*c - 'A' + 'a');
			rev = lc;
		}
		r = git_repo_setup(in, from, pr->remote, rev, pr->submodules, pr->glob, repo, err);
		if (r < 0)
			goto out;
		pr->revision = rev;
		/* the scratch checkout, flocked as an entry so that no sweep takes it */
		const char *entry =
			arena_printf(&in->arena, "git-probe-%ld-%zu", (long)getpid(), i);
		locks[i] = fs_lock_try(in->locks_fd, arena_printf(&in->arena, "%s.lock", entry));
		if (locks[i] < 0) {
			r = locks[i];
			locks[i] = -1;
			sbuf_addf(err, "cannot lock %s/locks/%s/%s.lock: %s", in->opts.cache_root,
				  in->abi.abi, entry, sc_strerror(r));
			goto out;
		}
		(void)fs_rmtree_at(in->assembling_fd, entry);
		r = fs_mkdirat_p(in->assembling_fd, arena_printf(&in->arena, "%s/gem", entry),
				 0755);
		if (r < 0) {
			sbuf_addf(err, "cannot create %s/assembling/%s/%s: %s", in->opts.cache_root,
				  in->abi.abi, entry, sc_strerror(r));
			goto out;
		}
		struct git_job *a = arena_alloc(&in->arena, sizeof(*a));
		memset(a, 0, sizeof(*a));
		a->in = in;
		a->probe = pr;
		a->repo = repo;
		a->name = pr->name ? pr->name : repo->base;
		a->entry = entry;
		a->entry_abs = arena_printf(&in->arena, "%s/assembling/%s/%s", in->opts.cache_root,
					    in->abi.abi, entry);
		a->repo_lock = -1;
		a->state = REPO_LOCK;
		sbuf_init(&a->modules, 0);
		a->units[0] = (struct git_unit){
			.url = repo->url,
			.redacted = repo->redacted,
			.userpwd = repo->userpwd,
			.rev = rev,
			.slug = repo->slug,
			.dst = "",
		};
		a->nunits = 1;
		timer_init(&a->timer, git_timer_fire);
		timer_init(&a->deadline, git_deadline_fire);
		job_init(&a->job, s, &git_ops, arena_printf(&in->arena, "git %s", repo->redacted),
			 0);
		jobs[i] = a;
	}
	for (size_t i = 0; i < n; i++)
		sched_submit(s, &jobs[i]->job);
	r = sched_run(s);
	for (size_t i = 0; i < n; i++) {
		probes[i].fetched = jobs[i]->fetched;
		if (jobs[i]->job.err < 0 && r >= 0)
			r = jobs[i]->job.err;
	}
	if (r < 0) {
		for (size_t i = 0; i < n; i++) {
			if (jobs[i]->job.err < 0) {
				sbuf_addstr(err, sbuf_cstr(&jobs[i]->job.errmsg));
				break;
			}
		}
		if (!err->len)
			sbuf_addf(err, "fetching the git sources failed: %s", sc_strerror(r));
	}
out:
	for (size_t i = 0; i < n; i++) {
		if (locks[i] < 0)
			continue;
		const char *entry =
			arena_printf(&in->arena, "git-probe-%ld-%zu", (long)getpid(), i);
		(void)fs_rmtree_at(in->assembling_fd, entry);
		(void)unlinkat(in->locks_fd, arena_printf(&in->arena, "%s.lock", entry), 0);
		(void)close(locks[i]);
	}
	sched_free(s);
	return r;
}
