/*
 * names.c: checks for names and relative paths that come from outside
 * (see names.h for the rules and why each exists).
 */
#include "bundle/names.h"

#include <errno.h>
#include <string.h>
#include <strings.h>

#include "base/sbuf.h"
#include "bundle/version.h"

/* At most this many symlinks are followed while resolving one target (Linux's MAXSYMLINKS). */
#define NAMES_LINK_HOPS 40

static int names_fail(const char **ret_why, const char *why)
{
	*ret_why = why;
	return -EINVAL;
}

static bool names_is_alnum(char c)
{
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static bool names_is_control(char c)
{
	return (unsigned char)c < 0x20 || c == 0x7f;
}

static bool names_has_control(struct strv s)
{
	for (size_t i = 0; i < s.len; i++)
		if (names_is_control(s.p[i]))
			return true;
	return false;
}

int names_check_gem(struct strv name, const char **ret_why)
{
	if (name.len == 0)
		return names_fail(ret_why, "empty name");
	if (name.len > NAMES_GEM_MAX)
		return names_fail(ret_why, "name too long");
	for (size_t i = 0; i < name.len; i++) {
		char c = name.p[i];
		if (!names_is_alnum(c) && c != '.' && c != '-' && c != '_')
			return names_fail(ret_why, "a gem name has only letters, digits, '.', '-' "
						   "and '_'");
	}
	if (name.p[0] == '.')
		return names_fail(ret_why, "a gem name does not start with '.'");
	return 0;
}

/*
 * A version or platform that ends like one of the cache's side files
 * (<entry>.gemspec, .manifest, .building, .lock) would make an entry's name
 * another entry's side file: "foo-1.manifest" is both foo 1's manifest and
 * the tree of foo 1.manifest. Nobody publishes such a version; refused.
 */
static bool names_side_file_suffix(struct strv s)
{
	static const char *const suffix[] = { ".gemspec", ".manifest", ".building", ".lock" };

	for (size_t i = 0; i < sizeof(suffix) / sizeof(suffix[0]); i++) {
		size_t n = strlen(suffix[i]);
		if (s.len >= n && !strncasecmp(s.p + s.len - n, suffix[i], n))
			return true;
	}
	return false;
}

int names_check_version(struct strv version, const char **ret_why)
{
	if (version.len == 0)
		return names_fail(ret_why, "empty version");
	if (version.len > NAMES_VERSION_MAX)
		return names_fail(ret_why, "version too long");
	for (size_t i = 0; i < version.len; i++) {
		char c = version.p[i];
		if (!names_is_alnum(c) && c != '.' && c != '-')
			return names_fail(ret_why,
					  "a version has only letters, digits, '.' and '-'");
	}
	if (!version_valid(version))
		return names_fail(ret_why, "not a valid version");
	if (names_side_file_suffix(version))
		return names_fail(ret_why, "a version ends like a cache file (.gemspec, .manifest, "
					   ".building, .lock)");
	return 0;
}

int names_check_platform(struct strv platform, const char **ret_why)
{
	size_t part = 0;

	if (platform.len == 0)
		return names_fail(ret_why, "empty platform");
	if (platform.len > NAMES_PLATFORM_MAX)
		return names_fail(ret_why, "platform too long");
	for (size_t i = 0; i < platform.len; i++) {
		char c = platform.p[i];
		if (c == '-') {
			if (part == 0)
				return names_fail(ret_why, "empty part in platform");
			part = 0;
			continue;
		}
		if (!names_is_alnum(c) && c != '_' && c != '.')
			return names_fail(ret_why, "a platform has only letters, digits, '_', '.' "
						   "and '-' between its parts");
		if (part == 0 && c == '.')
			return names_fail(ret_why, "a platform part does not start with '.'");
		part++;
	}
	if (part == 0)
		return names_fail(ret_why, "empty part in platform");
	if (names_side_file_suffix(platform))
		return names_fail(ret_why, "a platform ends like a cache file (.gemspec, .manifest, "
					   ".building, .lock)");
	return 0;
}

int names_check_executable(struct strv exe, const char **ret_why)
{
	if (exe.len == 0)
		return names_fail(ret_why, "empty name");
	if (exe.len > NAMES_EXE_MAX)
		return names_fail(ret_why, "name too long");
	if (strv_eq_cstr(exe, ".") || strv_eq_cstr(exe, ".."))
		return names_fail(ret_why, "not a file name");
	for (size_t i = 0; i < exe.len; i++) {
		char c = exe.p[i];
		if (c == '/')
			return names_fail(ret_why, "'/' in an executable name");
		if (names_is_control(c))
			return names_fail(ret_why, "control character in an executable name");
		if (strchr("'\"`\\#", c))
			return names_fail(ret_why, "quote, backslash or '#' in an executable name");
	}
	return 0;
}

int names_check_component(struct strv comp, const char **ret_why)
{
	if (comp.len == 0)
		return names_fail(ret_why, "empty name");
	if (comp.len > NAMES_EXE_MAX)
		return names_fail(ret_why, "name too long");
	if (strv_eq_cstr(comp, ".") || strv_eq_cstr(comp, ".."))
		return names_fail(ret_why, "not a file name");
	if (memchr(comp.p, '/', comp.len))
		return names_fail(ret_why, "'/' in a file name");
	if (names_has_control(comp))
		return names_fail(ret_why, "control character in a file name");
	return 0;
}

/*
 * Walks the '/'-separated components of a relative path. `canonical` also
 * refuses empty and "." components (so leading, trailing and doubled '/').
 */
static int names_check_components(struct strv path, bool canonical, const char **ret_why)
{
	struct strv rest = path, comp;
	bool more;

	if (path.len == 0)
		return names_fail(ret_why, "empty path");
	if (path.len > NAMES_PATH_MAX)
		return names_fail(ret_why, "path too long");
	if (path.p[0] == '/')
		return names_fail(ret_why, "absolute path");
	if (names_has_control(path))
		return names_fail(ret_why, "control character in path");
	do {
		more = strv_cut(rest, '/', &comp, &rest);
		if (strv_eq_cstr(comp, ".."))
			return names_fail(ret_why, "'..' in path");
		if (canonical && (comp.len == 0 || strv_eq_cstr(comp, ".")))
			return names_fail(ret_why, "empty or '.' component in path");
	} while (more);
	return 0;
}

int names_check_spec_path(struct strv path, const char **ret_why)
{
	return names_check_components(path, false, ret_why);
}

int names_check_entry_path(struct strv path, const char **ret_why)
{
	return names_check_components(path, true, ret_why);
}

/* The resolved location: components relative to the root, '/'-joined. */
struct names_res {
	char buf[NAMES_PATH_MAX + 1];
	size_t len;
};

static void names_res_up(struct names_res *r)
{
	while (r->len && r->buf[r->len - 1] != '/')
		r->len--;
	if (r->len)
		r->len--; /* the '/' */
}

static bool names_res_push(struct names_res *r, struct strv comp)
{
	size_t need = r->len + (r->len ? 1 : 0) + comp.len;

	if (need > NAMES_PATH_MAX)
		return false;
	if (r->len)
		r->buf[r->len++] = '/';
	memcpy(r->buf + r->len, comp.p, comp.len);
	r->len += comp.len;
	return true;
}

int names_check_link(struct strv path, struct strv target, names_link_fn *follow, void *data,
		     const char **ret_why)
{
	/* Pending components: a stack of target remainders, the newest link on top. */
	struct strv pending[NAMES_LINK_HOPS + 1];
	struct names_res res;
	unsigned depth = 0, hops = 0;
	const char *why;

	if (names_check_entry_path(path, &why) < 0)
		return names_fail(ret_why, why);
	if (target.len == 0)
		return names_fail(ret_why, "empty symlink target");
	if (target.len > NAMES_PATH_MAX)
		return names_fail(ret_why, "symlink target too long");
	if (names_has_control(target))
		return names_fail(ret_why, "control character in symlink target");
	if (target.p[0] == '/')
		return names_fail(ret_why, "absolute symlink target");
	/* Resolution starts in the link's directory. */
	memcpy(res.buf, path.p, path.len);
	res.len = path.len;
	names_res_up(&res);
	pending[depth++] = target;
	while (depth) {
		struct strv comp, *top = &pending[depth - 1];
		if (top->len == 0) {
			depth--;
			continue;
		}
		if (!strv_cut(*top, '/', &comp, top))
			*top = strv_make(top->p + top->len, 0);
		if (comp.len == 0 || strv_eq_cstr(comp, "."))
			continue;
		if (strv_eq_cstr(comp, "..")) {
			if (res.len == 0)
				return names_fail(ret_why, "symlink points outside the gem");
			names_res_up(&res);
			continue;
		}
		if (!names_res_push(&res, comp))
			return names_fail(ret_why, "symlink target too long");
		const char *next = follow ? follow(strv_make(res.buf, res.len), data) : NULL;
		if (!next)
			continue;
		/* A link on the way: go on from its directory with its target. */
		if (++hops > NAMES_LINK_HOPS || depth == NAMES_LINK_HOPS + 1)
			return names_fail(ret_why, "too many levels of symlinks");
		if (!next[0] || next[0] == '/')
			return names_fail(ret_why, "symlink points outside the gem");
		names_res_up(&res);
		pending[depth++] = strv_from(next);
	}
	return 0;
}

void names_quote(struct sbuf *out, struct strv v)
{
	size_t n = v.len > NAMES_QUOTE_MAX ? NAMES_QUOTE_MAX : v.len;

	sbuf_addch(out, '\'');
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)v.p[i];
		if (c < 0x20 || c >= 0x7f || c == '\'' || c == '\\')
			sbuf_addf(out, "\\x%02x", c);
		else
			sbuf_addch(out, (char)c);
	}
	if (n < v.len)
		sbuf_addstr(out, "...");
	sbuf_addch(out, '\'');
}
