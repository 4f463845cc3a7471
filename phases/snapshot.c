/*
 * snapshot.c: the no-op install answered from what the last install wrote.
 *
 * A no-op install used to plan every gem (two fstatat each), load the Ruby
 * facts, check the Gemfile's evaluation and set up the engine before it
 * found that nothing changed. The last install that completed now appends a
 * snapshot to <app config>/scint.state (after the lines the fingerprint
 * check compares):
 *
 *   snapshot <key> <gems> <defaults>     key: 16 hex digits, see snap_key
 *   snapruby <path>                      the interpreter, as abi.c finds it
 *   snap <stat>|- <path>                 one file or directory, "-" when missing
 *   snapenv <hash>|- <name>              an ENV variable the Gemfile read
 *
 * <stat> is device, inode, size, mode, mtime and ctime (nanoseconds). The
 * paths are the Gemfile, the lockfile, the Bundler config files, the app
 * directory and its *.gemspec files, every file the Gemfile's evaluation
 * read, the interpreter, and the install root with its gems/ and
 * specifications/ directories: removing a gem's directory or its
 * specification changes the mtime of those directories, and the next
 * install plans in full and repairs it. The key folds in scint's version,
 * the options that decide the result (paths, link mode, --frozen) and every
 * BUNDLE_*, BUNDLER_*, GEM_*, RUBY*, SCINT_* (but the diagnostics switches),
 * PATH, HOME and XDG_* variable. Anything different, and the install runs
 * the full way; a full no-op run that finds a stale snapshot writes a new one.
 *
 * Timestamps have a granularity: a change made in the same clock tick as
 * the snapshot's stat would keep the mtime. So the snapshot is stat'ed, the
 * coarse clock is waited past the newest timestamp (at most a few ms; a
 * path with whole-second times or a timestamp in the future gives no
 * snapshot), and stat'ed again: only an unchanged second look is written,
 * and only when the Gemfile, lockfile and what the Gemfile's evaluation read
 * still hold what this install used (gemfile_inputs_current): an edit made
 * while it ran is never recorded as installed.
 *
 * Only bundles of gem-server gems get a snapshot (PATH and GIT gems are
 * checked in full every time), and only when no gem left a warning to print.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "bundle/config.h"
#include "fsops/fsops.h"
#include "phases/session/abi.h"
#include "phases/phase.h"

extern char **environ;

#define SNAP_LINES_MAX	 256
#define SNAP_WAIT_MAX_NS (30 * 1000000LL)

static uint64_t snap_fnv(uint64_t h, const void *p, size_t n)
{
	const unsigned char *s = p;

	for (size_t i = 0; i < n; i++) {
		h ^= s[i];
		h *= 0x100000001b3ULL;
	}
	return h;
}

static uint64_t snap_fnv_str(uint64_t h, const char *s)
{
	return snap_fnv(h, s ? s : "", s ? strlen(s) + 1 : 1);
}

/* Variables whose change may change what an install does (diagnostics aside). */
static bool snap_env_relevant(const char *kv)
{
	static const char *const prefixes[] = { "BUNDLE_", "BUNDLER_", "GEM_", "RUBY", "SCINT_",
						"XDG_",	   "PATH=",    "HOME=" };
	static const char *const ignored[] = { "SCINT_STATS=", "SCINT_IO_TRACE=", "SCINT_PROFILE=",
					       "SCINT_HTTP_VERBOSE=", "SCINT_IO_URING=", "SCINT_SPEC_CHECK=" };

	for (size_t i = 0; i < SC_ARRAY_SIZE(ignored); i++)
		if (!strncmp(kv, ignored[i], strlen(ignored[i])))
			return false;
	for (size_t i = 0; i < SC_ARRAY_SIZE(prefixes); i++)
		if (!strncmp(kv, prefixes[i], strlen(prefixes[i])))
			return true;
	return false;
}

static uint64_t snap_key(const struct install *in)
{
	const struct install_opts *o = &in->opts;
	uint64_t h = 0xcbf29ce484222325ULL, env = 0;

	h = snap_fnv_str(h, "scint-snapshot 1");
	h = snap_fnv_str(h, SCINT_VERSION);
	h = snap_fnv_str(h, o->app_dir);
	h = snap_fnv_str(h, o->gemfile);
	h = snap_fnv_str(h, o->lockfile);
	h = snap_fnv_str(h, o->bundle_path);
	h = snap_fnv_str(h, o->cache_root);
	h = snap_fnv_str(h, link_mode_name[o->link_mode]);
	h = snap_fnv_str(h, o->frozen ? "frozen" : "");
	h = snap_fnv_str(h, o->local_only ? "local" : "");
	/* Order-independent: the same variables in another order are the same. */
	for (char **e = environ; e && *e; e++)
		if (snap_env_relevant(*e))
			env += snap_fnv_str(0xcbf29ce484222325ULL, *e);
	return snap_fnv(h, &env, sizeof(env));
}

/* The stat line of path ("-" when missing); *newest gets the latest timestamp. */
static void snap_stat(const char *path, struct sbuf *out, int64_t *newest, bool *whole_seconds)
{
	struct stat st;

	if (stat(path, &st) < 0) {
		sbuf_addch(out, '-');
		return;
	}
	sbuf_addf(out, "%llx:%llx:%llx:%o:%lld.%09ld:%lld.%09ld", (unsigned long long)st.st_dev,
		  (unsigned long long)st.st_ino, (unsigned long long)st.st_size,
		  (unsigned)st.st_mode, (long long)st.st_mtim.tv_sec, st.st_mtim.tv_nsec,
		  (long long)st.st_ctim.tv_sec, st.st_ctim.tv_nsec);
	if (newest) {
		int64_t m = (int64_t)st.st_mtim.tv_sec * 1000000000 + st.st_mtim.tv_nsec;
		int64_t c = (int64_t)st.st_ctim.tv_sec * 1000000000 + st.st_ctim.tv_nsec;
		*newest = m > *newest ? m : *newest;
		*newest = c > *newest ? c : *newest;
		/*
		 * A path with whole-second times changed in this second or the last
		 * could change again unseen: one is enough to distrust the look.
		 * (An old one, as packaged interpreters have, cannot.)
		 */
		struct timespec now;
		if (!st.st_mtim.tv_nsec && !st.st_ctim.tv_nsec &&
		    (clock_gettime(CLOCK_REALTIME, &now) < 0 ||
		     now.tv_sec - (st.st_mtim.tv_sec > st.st_ctim.tv_sec ? st.st_mtim.tv_sec
									 : st.st_ctim.tv_sec) < 2))
			*whole_seconds = true;
	}
}

/* `ruby` as abi.c finds it: a path, or "-". */
static const char *snap_which_ruby(struct arena *a)
{
	const char *ruby = abi_which_ruby(a);

	return ruby ? ruby : "-";
}

static void snap_env_line(struct sbuf *out, const char *name)
{
	const char *v = getenv(name);

	if (v)
		sbuf_addf(out, "snapenv %016llx %s\n",
			  (unsigned long long)snap_fnv_str(0xcbf29ce484222325ULL, v), name);
	else
		sbuf_addf(out, "snapenv - %s\n", name);
}

struct snap_render {
	struct install *in;
	struct sbuf *out;
	int64_t newest;
	bool whole_seconds;
	unsigned lines;
};

static void snap_add(struct snap_render *r, const char *path)
{
	sbuf_addlit(r->out, "snap ");
	snap_stat(path, r->out, &r->newest, &r->whole_seconds);
	sbuf_addf(r->out, " %s\n", path);
	r->lines++;
}

static void snap_add_gemspec(int dirfd, const char *name, void *data)
{
	struct snap_render *r = data;
	size_t n = strlen(name);

	(void)dirfd;
	if (n >= 8 && !strcmp(name + n - 8, ".gemspec"))
		snap_add(r, arena_printf(&r->in->arena, "%s/%s", r->in->opts.app_dir, name));
}

static bool snap_eligible(const struct install *in)
{
	if (in->stats.unsupported || in->opts.readonly)
		return false;
	for (size_t i = 0; i < in->lock.nsources; i++)
		if (in->lock.sources[i].kind != LOCK_SRC_GEM)
			return false;
	for (size_t i = 0; i < in->ngems; i++) {
		const struct gem *g = in->gems[i];
		if (g->warning || g->plan == PLAN_PATH || g->plan == PLAN_GIT ||
		    g->plan == PLAN_GIT_MEMBER || g->plan == PLAN_UNSUPPORTED)
			return false;
	}
	return true;
}

/* One look at everything; false when something cannot be written down. */
static bool snap_look(struct install *in, struct sbuf *out, int64_t *newest, bool *whole)
{
	struct snap_render r = { .in = in, .out = out, .whole_seconds = false };
	unsigned defaults = 0;

	for (size_t i = 0; i < in->ngems; i++)
		defaults += in->gems[i]->plan == PLAN_DEFAULT_GEM;
	sbuf_addf(out, "snapshot %016llx %zu %u\n", (unsigned long long)snap_key(in), in->ngems,
		  defaults);
	const char *ruby = snap_which_ruby(&in->arena);
	sbuf_addf(out, "snapruby %s\n", ruby);
	snap_add(&r, in->opts.gemfile);
	snap_add(&r, in->opts.lockfile);
	if (in->config->local.path)
		snap_add(&r, in->config->local.path);
	if (in->config->global.path)
		snap_add(&r, in->config->global.path);
	snap_add(&r, in->opts.app_dir);
	(void)fs_list_dirat(AT_FDCWD, in->opts.app_dir, snap_add_gemspec, &r);
	for (size_t i = 0; i < in->gemfile.nfiles; i++) {
		const char *p = in->gemfile.files[i].path;
		snap_add(&r, p[0] == '/' ? p : arena_printf(&in->arena, "%s/%s", in->opts.app_dir, p));
	}
	if (strcmp(ruby, "-"))
		snap_add(&r, ruby);
	snap_add(&r, in->install_root);
	snap_add(&r, arena_printf(&in->arena, "%s/gems", in->install_root));
	snap_add(&r, arena_printf(&in->arena, "%s/specifications", in->install_root));
	for (size_t i = 0; i < in->gemfile.nenvs; i++) {
		snap_env_line(out, in->gemfile.envs[i].name);
		r.lines++;
	}
	*newest = r.newest;
	*whole = r.whole_seconds;
	return r.lines < SNAP_LINES_MAX && !strchr(ruby, '\n');
}

/* Waits until the coarse clock is past ns (a change from now on gets a later time). */
static bool snap_wait_past(int64_t ns)
{
	for (int i = 0; i < 8; i++) {
		struct timespec now;
		if (clock_gettime(CLOCK_REALTIME_COARSE, &now) < 0)
			return false;
		int64_t t = (int64_t)now.tv_sec * 1000000000 + now.tv_nsec;
		if (t > ns)
			return true;
		if (ns - t > SNAP_WAIT_MAX_NS)
			return false;
		struct timespec d = { 0, (long)(ns - t) + 1000000 };
		(void)nanosleep(&d, NULL);
	}
	return false;
}

void install_snapshot_render(struct install *in, struct sbuf *out)
{
	struct sbuf first = SBUF_INIT, second = SBUF_INIT;
	int64_t newest = 0, newest2 = 0;
	bool whole = false, whole2 = false;

	if (snap_eligible(in) && snap_look(in, &first, &newest, &whole) && !whole &&
	    snap_wait_past(newest) && snap_look(in, &second, &newest2, &whole2) &&
	    first.len == second.len && !memcmp(first.buf, second.buf, first.len) &&
	    gemfile_inputs_current(in))
		sbuf_add(out, first.buf, first.len);
	else
		sbuf_addlit(out, "snapshot -\n");
	sbuf_release(&first);
	sbuf_release(&second);
}

/* Does one line of the snapshot still hold? */
static bool snap_line_holds(struct install *in, struct strv line, const char **ruby)
{
	struct strv key, rest, val;
	struct sbuf now = SBUF_INIT;
	bool ok = false;

	if (!strv_cut(line, ' ', &key, &rest))
		return false;
	if (strv_eq_cstr(key, "snapruby")) {
		*ruby = snap_which_ruby(&in->arena);
		return strv_eq_cstr(rest, *ruby);
	}
	if (!strv_cut(rest, ' ', &val, &rest))
		return false;
	char *name = arena_strv(&in->arena, rest);
	if (strv_eq_cstr(key, "snap")) {
		snap_stat(name, &now, NULL, NULL);
	} else if (strv_eq_cstr(key, "snapenv")) {
		const char *v = getenv(name);
		if (v)
			sbuf_addf(&now, "%016llx",
				  (unsigned long long)snap_fnv_str(0xcbf29ce484222325ULL, v));
		else
			sbuf_addch(&now, '-');
	} else {
		return false;
	}
	ok = now.len == val.len && !memcmp(now.buf, val.p, val.len);
	sbuf_release(&now);
	return ok;
}

/* The snapshot section of a state file's text, or an empty view. */
static struct strv snap_section(struct strv text)
{
	static const char marker[] = "\nsnapshot ";

	for (size_t i = 0; i + sizeof(marker) - 1 <= text.len; i++)
		if (text.p[i] == '\n' && !memcmp(text.p + i, marker, sizeof(marker) - 1))
			return (struct strv){ text.p + i + 1, text.len - i - 1 };
	return (struct strv){ text.p, 0 };
}

size_t install_state_base_len(const char *text, size_t len)
{
	struct strv s = snap_section((struct strv){ text, len });

	return s.len ? (size_t)(s.p - text) : len;
}

bool install_snapshot_current(struct install *in, const char *state_path, unsigned *ret_gems,
			      unsigned *ret_defaults)
{
	struct sbuf text = SBUF_INIT;
	struct strv rest, line, word, tail;
	const char *ruby = NULL;
	bool ok = false;
	unsigned lines = 0;

	if (fs_read_file(state_path, &text, 65536) < 0)
		goto out;
	rest = snap_section(sbuf_strv(&text));
	if (!strv_next_line(&rest, &line) || !strv_cut(line, ' ', &word, &tail) ||
	    !strv_cut(tail, ' ', &word, &tail))
		goto out;
	char key[17];
	snprintf(key, sizeof(key), "%016llx", (unsigned long long)snap_key(in));
	if (!strv_eq_cstr(word, key))
		goto out;
	char *counts = arena_strv(&in->arena, tail), *end;
	unsigned long gems = strtoul(counts, &end, 10);
	unsigned long defaults = *end == ' ' ? strtoul(end + 1, &end, 10) : 0;
	if (*end || !gems || defaults > gems || gems > (1u << 20))
		goto out;
	ok = true;
	while (ok && strv_next_line(&rest, &line)) {
		ok = ++lines < SNAP_LINES_MAX && snap_line_holds(in, line, &ruby);
	}
	/* The interpreter's line comes first, and its file was stat'ed by a snap line. */
	ok = ok && ruby && lines >= 6;
	*ret_gems = (unsigned)gems;
	*ret_defaults = (unsigned)defaults;
out:
	sbuf_release(&text);
	return ok;
}
