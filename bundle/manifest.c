#include "bundle/manifest.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "base/arena.h"
#include "base/err.h"
#include "base/hex.h"
#include "base/hmap.h"
#include "base/sbuf.h"
#include "bundle/names.h"
#include "bundle/platform.h"

struct mf_entry *manifest_add(struct arena *a, struct manifest *m, enum mf_type type,
			      const char *path)
{
	m->entries = arena_grow_array(a, m->entries, sizeof(*m->entries), m->nentries, &m->cap);
	struct mf_entry *e = &m->entries[m->nentries++];
	*e = (struct mf_entry){ .type = type, .path = path };
	return e;
}

static int mf_cmp(const void *a, const void *b)
{
	const struct mf_entry *x = a, *y = b;

	return strcmp(x->path, y->path);
}

void manifest_sort(struct manifest *m)
{
	if (m->nentries > 1)
		qsort(m->entries, m->nentries, sizeof(*m->entries), mf_cmp);
}

static void mf_list(struct sbuf *out, const char *key, const char **v, size_t n)
{
	sbuf_addstr(out, key);
	for (size_t i = 0; i < n; i++) {
		sbuf_addch(out, '\t');
		sbuf_addstr(out, v[i]);
	}
	sbuf_addch(out, '\n');
}

void manifest_write(struct manifest *m, struct sbuf *out)
{
	const struct gem_summary *s = &m->spec;

	manifest_sort(m);
	sbuf_addf(out, "scint-manifest %d\n", MANIFEST_VERSION);
	sbuf_addf(out, "full_name\t%s\n", m->full_name);
	sbuf_addf(out, "abi\t%s\n", m->abi);
	sbuf_addf(out, "gem_sha256\t%s\n", m->gem_sha256 ? m->gem_sha256 : "-");
	sbuf_addf(out, "name\t%s\nversion\t%s\nplatform\t%s\n", s->name, s->version, s->platform);
	mf_list(out, "require_paths", s->require_paths, s->nrequire_paths);
	sbuf_addf(out, "bindir\t%s\n", s->bindir ? s->bindir : "bin");
	mf_list(out, "executables", s->executables, s->nexecutables);
	mf_list(out, "extensions", s->extensions, s->nextensions);
	for (size_t i = 0; i < s->ndeps; i++)
		sbuf_addf(out, "dep\t%s\t%s\n", s->deps[i].name, s->deps[i].reqs);
	sbuf_addf(out, "ext\t%d\n", m->has_ext ? 1 : 0);
	sbuf_addf(out, "entries\t%zu\n", m->nentries);
	for (size_t i = 0; i < m->nentries; i++) {
		const struct mf_entry *e = &m->entries[i];
		switch (e->type) {
		case MF_DIR:
			sbuf_addf(out, "d\t%04o\t%s\n", (unsigned)e->mode, e->path);
			break;
		case MF_FILE:
			sbuf_addf(out, "f\t%04o\t%llu\t%s\t%s\n", (unsigned)e->mode,
				  (unsigned long long)e->size, e->sha256, e->path);
			break;
		case MF_SYMLINK:
			sbuf_addf(out, "l\t%s\t%s\n", e->path, e->target);
			break;
		}
	}
	sbuf_addstr(out, "end\n");
}

/*
 * Takes the next line off *rest, without its '\n'. Unlike strv_next_line() a
 * '\r' is kept: the manifest is written with '\n' alone, and a path may end
 * in '\r' (a gem may have such a file).
 */
static bool mf_next_line(struct strv *rest, struct strv *ret_line)
{
	const char *nl;

	if (rest->len == 0)
		return false;
	nl = memchr(rest->p, '\n', rest->len);
	*ret_line = strv_make(rest->p, nl ? (size_t)(nl - rest->p) : rest->len);
	*rest = strv_drop(*rest, nl ? ret_line->len + 1 : ret_line->len);
	return true;
}

/*
 * Splits a line at TABs into at most max fields; returns the count, or
 * max + 1 when there are more (never silently dropped).
 */
static size_t mf_fields(struct strv line, struct strv *f, size_t max)
{
	size_t n = 0;
	struct strv head, rest = line;

	for (;;) {
		if (n == max)
			return max + 1;
		bool more = strv_cut(rest, '\t', &head, &rest);
		f[n++] = head;
		if (!more)
			break;
	}
	return n;
}

static const char **mf_strs(struct arena *a, const struct strv *f, size_t n, size_t *ret_n)
{
	const char **v = arena_alloc(a, (n ? n : 1) * sizeof(*v));

	for (size_t i = 0; i < n; i++)
		v[i] = arena_strv(a, f[i]);
	*ret_n = n;
	return v;
}

static bool mf_parse_u64(struct strv s, int base, uint64_t *ret)
{
	char buf[32], *end;

	/* Digits only: strtoull() would also take spaces, a sign and wrap "-1". */
	if (s.len == 0 || s.len >= sizeof(buf) || s.p[0] < '0' || s.p[0] > '9')
		return false;
	memcpy(buf, s.p, s.len);
	buf[s.len] = '\0';
	errno = 0;
	unsigned long long v = strtoull(buf, &end, base);
	if (errno || *end)
		return false;
	*ret = v;
	return true;
}

#define MF_FIELDS_MAX 256
#define MF_DEPS_MAX   1024

/* Summary keys shared by manifests and the helper's spec answer. */
static int mf_summary_line(struct arena *a, struct strv key, const struct strv *f, size_t n,
			   struct gem_summary *s)
{
	if (n > MF_FIELDS_MAX)
		return 0;
	if (strv_eq_cstr(key, "name") && n == 1)
		s->name = arena_strv(a, f[0]);
	else if (strv_eq_cstr(key, "version") && n == 1)
		s->version = arena_strv(a, f[0]);
	else if (strv_eq_cstr(key, "platform") && n == 1)
		s->platform = arena_strv(a, f[0]);
	else if (strv_eq_cstr(key, "bindir") && n == 1)
		s->bindir = arena_strv(a, f[0]);
	else if (strv_eq_cstr(key, "require_paths"))
		s->require_paths = mf_strs(a, f, n, &s->nrequire_paths);
	else if (strv_eq_cstr(key, "executables"))
		s->executables = mf_strs(a, f, n, &s->nexecutables);
	else if (strv_eq_cstr(key, "extensions"))
		s->extensions = mf_strs(a, f, n, &s->nextensions);
	else if (strv_eq_cstr(key, "dep") && n == 2 && s->ndeps < MF_DEPS_MAX) {
		s->deps = arena_grow_array(a, s->deps, sizeof(*s->deps), s->ndeps, &s->deps_cap);
		s->deps[s->ndeps++] = (struct spec_dep){ arena_strv(a, f[0]), arena_strv(a, f[1]) };
	} else
		return 0;
	return 1;
}

/* Splits "key<TAB>v1<TAB>v2"; a key with no values may lack the TAB. */
static size_t mf_split_values(struct strv line, struct strv *key, struct strv *vals, size_t max)
{
	struct strv rest;

	if (!strv_cut(line, '\t', key, &rest) || rest.len == 0)
		return 0;
	return mf_fields(rest, vals, max);
}

int gem_summary_parse(struct arena *a, struct strv text, struct gem_summary *ret,
		      struct strv *ret_gemspec)
{
	struct strv rest = text, line, key;
	struct strv *f = arena_alloc(a, MF_FIELDS_MAX * sizeof(*f));

	*ret = (struct gem_summary){ 0 };
	while (mf_next_line(&rest, &line)) {
		if (memchr(line.p, '\0', line.len))
			return -SC_ERUBY; /* the summary's strings are C strings */
		if (strv_eq_cstr(line, "---gemspec---")) {
			*ret_gemspec = rest;
			if (!ret->name || !ret->version || !ret->platform)
				return -SC_ERUBY;
			if (!ret->bindir)
				ret->bindir = "bin";
			return 0;
		}
		size_t n = mf_split_values(line, &key, f, MF_FIELDS_MAX);
		if (!mf_summary_line(a, key, f, n, ret))
			return -SC_ERUBY;
	}
	return -SC_ERUBY;
}

/* ---- checks ---- */

typedef int mf_check_fn(struct strv v, const char **ret_why);

/* Appends "<field> '<value>': why" and returns -SC_EUNSAFE. */
static int mf_bad_value(struct sbuf *errmsg, const char *field, const char *value, const char *why)
{
	if (errmsg) {
		sbuf_addf(errmsg, "%s ", field);
		names_quote(errmsg, strv_from(value));
		sbuf_addf(errmsg, ": %s", why);
	}
	return -SC_EUNSAFE;
}

static int mf_check_one(const char *field, const char *value, mf_check_fn *check,
			struct sbuf *errmsg)
{
	const char *why;

	if (!value)
		return mf_bad_value(errmsg, field, "", "missing");
	if (check(strv_from(value), &why) < 0)
		return mf_bad_value(errmsg, field, value, why);
	return 0;
}

static int mf_check_list(const char *field, const char **v, size_t n, mf_check_fn *check,
			 struct sbuf *errmsg)
{
	for (size_t i = 0; i < n; i++) {
		int r = mf_check_one(field, v[i], check, errmsg);
		if (r < 0)
			return r;
	}
	return 0;
}

/* A requirement list ("~> 1.0, >= 1.0.1") only needs to stay on its line. */
static int mf_check_reqs(struct strv v, const char **ret_why)
{
	for (size_t i = 0; i < v.len; i++) {
		if ((unsigned char)v.p[i] < 0x20 || v.p[i] == 0x7f) {
			*ret_why = "control character in requirements";
			return -EINVAL;
		}
	}
	return 0;
}

int gem_summary_check(const struct gem_summary *s, struct sbuf *errmsg)
{
	int r;

	if ((r = mf_check_one("name", s->name, names_check_gem, errmsg)) < 0 ||
	    (r = mf_check_one("version", s->version, names_check_version, errmsg)) < 0 ||
	    (r = mf_check_one("platform", s->platform, names_check_platform, errmsg)) < 0 ||
	    (r = mf_check_one("bindir", s->bindir ? s->bindir : "bin", names_check_spec_path,
			      errmsg)) < 0 ||
	    (r = mf_check_list("require_paths entry", s->require_paths, s->nrequire_paths,
			       names_check_spec_path, errmsg)) < 0 ||
	    (r = mf_check_list("executables entry", s->executables, s->nexecutables,
			       names_check_executable, errmsg)) < 0 ||
	    (r = mf_check_list("extensions entry", s->extensions, s->nextensions,
			       names_check_spec_path, errmsg)) < 0)
		return r;
	for (size_t i = 0; i < s->ndeps; i++) {
		if ((r = mf_check_one("dependency", s->deps[i].name, names_check_gem, errmsg)) <
			    0 ||
		    (r = mf_check_one("dependency requirements", s->deps[i].reqs, mf_check_reqs,
				      errmsg)) < 0)
			return r;
	}
	return 0;
}

int gem_summary_verify(const struct gem_summary *s, const char *name, const char *version,
		       const char *platform, struct sbuf *errmsg)
{
	int r = gem_summary_check(s, errmsg);

	if (r < 0)
		return r;
	if (strcmp(s->name, name) || strcmp(s->version, version) ||
	    !platform_same(strv_from(s->platform), strv_from(platform))) {
		if (errmsg)
			sbuf_addf(errmsg, "its metadata says %s %s (platform %s)", s->name,
				  s->version, s->platform);
		return -SC_EGEMFORMAT;
	}
	return 0;
}

static int mf_entry_error(struct sbuf *errmsg, const char *path, const char *why)
{
	if (errmsg) {
		sbuf_addstr(errmsg, "manifest entry ");
		names_quote(errmsg, strv_from(path));
		sbuf_addf(errmsg, ": %s", why);
	}
	return -SC_ECACHE;
}

/* The symlink rows of one root ("gem" or "ext"): root-relative path -> row index + 1. */
struct mf_links {
	struct hmap map;
	const struct mf_entry *entries;
};

static const char *mf_follow(struct strv path, void *data)
{
	const struct mf_links *l = data;
	uintptr_t at = (uintptr_t)hmap_get(&l->map, path);

	return at ? l->entries[at - 1].target : NULL;
}

static bool mf_is_hex64(const char *s)
{
	return hex_is_sha256(s, strlen(s));
}

/* full_name is name-version, or name-version-<p> with <p> the summary's platform. */
static bool mf_full_name_ok(const struct manifest *m)
{
	const struct gem_summary *s = &m->spec;
	struct strv f = strv_from(m->full_name);
	size_t nl = strlen(s->name), vl = strlen(s->version);

	if (f.len < nl + 1 + vl || memcmp(f.p, s->name, nl) || f.p[nl] != '-' ||
	    memcmp(f.p + nl + 1, s->version, vl))
		return false;
	f = strv_drop(f, nl + 1 + vl);
	if (f.len == 0)
		return platform_same(STRV_LIT("ruby"), strv_from(s->platform));
	if (f.p[0] != '-')
		return false;
	f = strv_drop(f, 1);
	return !platform_same(STRV_LIT("ruby"), f) && platform_same(f, strv_from(s->platform));
}

/* One row: its path, mode, size and digest; its parent must be a root or a directory row. */
static int mf_check_row(const struct manifest *m, const struct mf_entry *e, const struct hmap *dirs,
			struct sbuf *errmsg)
{
	struct strv rel = strv_drop(strv_from(e->path), 4);
	const char *why;

	if (strv_starts_with(strv_from(e->path), "ext/")) {
		if (!m->has_ext)
			return mf_entry_error(errmsg, e->path,
					      "under ext/ in an entry without one");
	} else if (!strv_starts_with(strv_from(e->path), "gem/")) {
		return mf_entry_error(errmsg, e->path, "not under gem/ or ext/");
	}
	if (names_check_entry_path(rel, &why) < 0)
		return mf_entry_error(errmsg, e->path, why);
	if (e->type != MF_SYMLINK && (e->mode & ~(mode_t)0777))
		return mf_entry_error(errmsg, e->path, "mode with setuid, setgid or sticky bit");
	if (e->type == MF_FILE && e->size > MANIFEST_FILE_MAX)
		return mf_entry_error(errmsg, e->path, "file too large");
	if (e->type == MF_FILE && !mf_is_hex64(e->sha256))
		return mf_entry_error(errmsg, e->path, "bad sha256");
	const char *slash = strrchr(e->path, '/');
	if ((size_t)(slash - e->path) > 3 &&
	    !hmap_get(dirs, strv_make(e->path, (size_t)(slash - e->path))))
		return mf_entry_error(errmsg, e->path, "its directory is not a directory entry");
	return 0;
}

int manifest_check(const struct manifest *m, struct sbuf *errmsg)
{
	struct hmap dirs;
	struct mf_links links[2] = { { .entries = m->entries }, { .entries = m->entries } };
	const char *why;
	int r = 0;

	size_t mark = errmsg ? errmsg->len : 0;

	if (errmsg)
		sbuf_addstr(errmsg, "manifest summary: ");
	if (gem_summary_check(&m->spec, errmsg) < 0)
		return -SC_ECACHE;
	if (errmsg)
		sbuf_setlen(errmsg, mark);
	if (!m->full_name || !mf_full_name_ok(m)) {
		if (errmsg)
			sbuf_addf(errmsg, "full name does not match the spec");
		return -SC_ECACHE;
	}
	if (m->gem_sha256 && !mf_is_hex64(m->gem_sha256)) {
		if (errmsg)
			sbuf_addf(errmsg, "bad gem_sha256");
		return -SC_ECACHE;
	}
	if (m->nentries > MANIFEST_ENTRIES_MAX) {
		if (errmsg)
			sbuf_addf(errmsg, "too many entries (%zu)", m->nentries);
		return -SC_ECACHE;
	}
	hmap_init(&dirs);
	hmap_init(&links[0].map);
	hmap_init(&links[1].map);
	for (size_t i = 0; i < m->nentries && r == 0; i++) {
		const struct mf_entry *e = &m->entries[i];
		if (i && strcmp(m->entries[i - 1].path, e->path) >= 0) {
			r = mf_entry_error(errmsg, e->path, "repeated or out of order");
			break;
		}
		r = mf_check_row(m, e, &dirs, errmsg);
		if (r == 0 && e->type == MF_DIR)
			hmap_put(&dirs, strv_from(e->path), (void *)1);
		if (r == 0 && e->type == MF_SYMLINK)
			hmap_put(&links[e->path[0] == 'e'].map, strv_from(e->path + 4),
				 (void *)(uintptr_t)(i + 1));
	}
	/* Links last: a target may go through a link that sorts after it. */
	for (size_t i = 0; i < m->nentries && r == 0; i++) {
		const struct mf_entry *e = &m->entries[i];
		if (e->type != MF_SYMLINK)
			continue;
		if (!e->target || names_check_link(strv_from(e->path + 4), strv_from(e->target),
						   mf_follow, &links[e->path[0] == 'e'], &why) < 0)
			r = mf_entry_error(errmsg, e->path, e->target ? why : "no target");
	}
	hmap_release(&links[1].map);
	hmap_release(&links[0].map);
	hmap_release(&dirs);
	return r;
}

/* ---- parsing ---- */

static int mf_error(struct sbuf *errmsg, size_t lineno, const char *what)
{
	if (errmsg)
		sbuf_addf(errmsg, "manifest line %zu: %s", lineno, what);
	return -SC_ECACHE;
}

int manifest_parse(struct arena *a, struct strv text, struct manifest *ret, struct sbuf *errmsg)
{
	struct strv rest = text, line, f[8];
	struct strv *vals = arena_alloc(a, MF_FIELDS_MAX * sizeof(*vals));
	size_t lineno = 1, want = 0;
	bool ended = false;

	*ret = (struct manifest){ 0 };
	if (!mf_next_line(&rest, &line) || !strv_eq_cstr(line, "scint-manifest 1"))
		return mf_error(errmsg, 1, "not a version 1 manifest");
	while (mf_next_line(&rest, &line)) {
		lineno++;
		if (ended)
			return mf_error(errmsg, lineno, "data after end");
		if (memchr(line.p, '\0', line.len))
			return mf_error(errmsg, lineno, "NUL byte");
		if (strv_eq_cstr(line, "end")) {
			ended = true;
			continue;
		}
		if (line.len > 2 && line.p[1] == '\t' && strchr("dfl", line.p[0])) {
			if (ret->nentries == MANIFEST_ENTRIES_MAX)
				return mf_error(errmsg, lineno, "too many entries");
			size_t n = mf_fields(strv_drop(line, 2), f, 5);
			uint64_t v;
			struct mf_entry *e;
			switch (line.p[0]) {
			case 'd':
				if (n != 2 || !mf_parse_u64(f[0], 8, &v) || v > 07777)
					return mf_error(errmsg, lineno, "bad directory entry");
				e = manifest_add(a, ret, MF_DIR, arena_strv(a, f[1]));
				e->mode = (mode_t)v;
				break;
			case 'f':
				if (n != 4 || !mf_parse_u64(f[0], 8, &v) || v > 07777)
					return mf_error(errmsg, lineno, "bad file entry");
				e = manifest_add(a, ret, MF_FILE, arena_strv(a, f[3]));
				e->mode = (mode_t)v;
				if (!mf_parse_u64(f[1], 10, &e->size))
					return mf_error(errmsg, lineno, "bad file size");
				e->sha256 = arena_strv(a, f[2]);
				ret->total_bytes += e->size;
				ret->nfiles++;
				break;
			default:
				if (n != 2)
					return mf_error(errmsg, lineno, "bad symlink entry");
				e = manifest_add(a, ret, MF_SYMLINK, arena_strv(a, f[0]));
				e->target = arena_strv(a, f[1]);
				break;
			}
			continue;
		}
		struct strv key;
		size_t n = mf_split_values(line, &key, vals, MF_FIELDS_MAX);
		if (strv_eq_cstr(key, "full_name") && n == 1)
			ret->full_name = arena_strv(a, vals[0]);
		else if (strv_eq_cstr(key, "abi") && n == 1)
			ret->abi = arena_strv(a, vals[0]);
		else if (strv_eq_cstr(key, "gem_sha256") && n == 1)
			ret->gem_sha256 =
				strv_eq_cstr(vals[0], "-") ? NULL : arena_strv(a, vals[0]);
		else if (strv_eq_cstr(key, "ext") && n == 1)
			ret->has_ext = strv_eq_cstr(vals[0], "1");
		else if (strv_eq_cstr(key, "entries") && n == 1) {
			uint64_t v;
			if (!mf_parse_u64(vals[0], 10, &v))
				return mf_error(errmsg, lineno, "bad entry count");
			want = (size_t)v;
		} else if (!mf_summary_line(a, key, vals, n, &ret->spec))
			return mf_error(errmsg, lineno, "unknown line");
	}
	if (!ended)
		return mf_error(errmsg, lineno, "truncated (no end line)");
	if (want != ret->nentries)
		return mf_error(errmsg, lineno, "entry count does not match");
	if (!ret->full_name || !ret->abi || !ret->spec.name || !ret->spec.version ||
	    !ret->spec.platform)
		return mf_error(errmsg, lineno, "missing fields");
	if (!ret->spec.bindir)
		ret->spec.bindir = "bin";
	return manifest_check(ret, errmsg);
}
