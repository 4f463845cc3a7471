#include "bundle/manifest.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "base/arena.h"
#include "base/err.h"
#include "base/sbuf.h"

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

/* Splits a line at TABs into at most max fields; returns the count. */
static size_t mf_fields(struct strv line, struct strv *f, size_t max)
{
	size_t n = 0;
	struct strv head, rest = line;

	while (n < max) {
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

/* 64 lower-case hex digits, as digests are written. */
static bool mf_is_sha256(struct strv s)
{
	if (s.len != 64)
		return false;
	for (size_t i = 0; i < s.len; i++)
		if (!((s.p[i] >= '0' && s.p[i] <= '9') || (s.p[i] >= 'a' && s.p[i] <= 'f')))
			return false;
	return true;
}

#define MF_FIELDS_MAX 256

/* Summary keys shared by manifests and the helper's spec answer. */
static int mf_summary_line(struct arena *a, struct strv key, const struct strv *f, size_t n,
			   struct gem_summary *s)
{
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
	else if (strv_eq_cstr(key, "dep") && n == 2) {
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
			size_t n = mf_fields(strv_drop(line, 2), f, 5);
			uint64_t v;
			struct mf_entry *e;
			switch (line.p[0]) {
			case 'd':
				if (n != 2 || !mf_parse_u64(f[0], 8, &v) || v > 0777)
					return mf_error(errmsg, lineno, "bad directory entry");
				e = manifest_add(a, ret, MF_DIR, arena_strv(a, f[1]));
				e->mode = (mode_t)v;
				break;
			case 'f':
				if (n != 4 || !mf_parse_u64(f[0], 8, &v) || v > 0777 ||
				    !mf_is_sha256(f[2]))
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
	if (!ret->full_name || !ret->abi || !ret->spec.name || !ret->spec.version)
		return mf_error(errmsg, lineno, "missing fields");
	if (!ret->spec.bindir)
		ret->spec.bindir = "bin";
	return 0;
}
