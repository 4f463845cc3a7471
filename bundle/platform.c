/*
 * platform.c: Gem::Platform.new, #to_s and #=== without regular expressions.
 *
 * Parsing mirrors Gem::Platform#initialize of RubyGems 3.3 (the one Ruby 3.1
 * ships) step by step: split at '-' (trailing empty parts dropped, as
 * String#split does), glue a last part without digits back onto the one
 * before it ("x86_64-linux-gnu" -> "x86_64", "linux-gnu"), map /i\d86/ cpus
 * to "x86", take "<os>-<number>" literally, and otherwise run the os through
 * RubyGems' alias table, whose regular expressions are spelled out below in
 * the order RubyGems tries them.
 *
 * Matching is the #=== of RubyGems 3.3.15 (what Ruby 3.1 ships) with three
 * fixes later RubyGems made, because scint picks variants for real machines:
 * on linux the versions are compared after normalisation (nil, "gnu" and
 * "eabihf" alike; a "musl" gem runs only on musl; RubyGems 3.3.23), a
 * "universal" cpu matches any mingw flavour (RubyGems 3.3.18), and a plain
 * "arm" cpu matches "armv7" but not "arm64" (RubyGems 3.5.15).
 */
#include "bundle/platform.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

/* More '-' parts than this is not a platform anyone builds for. */
#define PLATFORM_SPLIT_MAX 16

static bool platform_is_digit(char c)
{
	return c >= '0' && c <= '9';
}

static bool platform_is_word(char c)
{
	return platform_is_digit(c) || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
}

static bool platform_has_digit(struct strv s)
{
	for (size_t i = 0; i < s.len; i++)
		if (platform_is_digit(s.p[i]))
			return true;
	return false;
}

/* Offset of the first occurrence of needle in s, or -1. */
static long platform_find(struct strv s, const char *needle)
{
	size_t n = strlen(needle);

	for (size_t i = 0; i + n <= s.len; i++)
		if (memcmp(s.p + i, needle, n) == 0)
			return (long)i;
	return -1;
}

/* The run of characters at s[from..] accepted by `ok`. */
static struct strv platform_run(struct strv s, size_t from, bool (*ok)(char))
{
	size_t i = from;

	while (i < s.len && ok(s.p[i]))
		i++;
	return strv_make(s.p + from, i - from);
}

/* /^\d+(\.\d+)?$/ */
static bool platform_is_number(struct strv s)
{
	struct strv d = platform_run(s, 0, platform_is_digit);
	struct strv f;

	if (d.len == 0)
		return false;
	if (d.len == s.len)
		return true;
	if (s.p[d.len] != '.')
		return false;
	f = platform_run(s, d.len + 1, platform_is_digit);
	return f.len > 0 && d.len + 1 + f.len == s.len;
}

/* /i\d86/ anywhere */
static bool platform_is_x86(struct strv s)
{
	for (size_t i = 0; i + 4 <= s.len; i++)
		if (s.p[i] == 'i' && platform_is_digit(s.p[i + 1]) && s.p[i + 2] == '8' &&
		    s.p[i + 3] == '6')
			return true;
	return false;
}

static int platform_set(char dst[PLATFORM_PART_MAX], struct strv v)
{
	if (v.len >= PLATFORM_PART_MAX)
		return -EINVAL;
	if (v.len)
		memcpy(dst, v.p, v.len);
	dst[v.len] = '\0';
	return 0;
}

static int platform_set2(struct platform *p, const char *os, struct strv version)
{
	int r = platform_set(p->os, strv_from(os));

	return r < 0 ? r : platform_set(p->version, version);
}

static const struct strv platform_nil = { "", 0 };

/* /<name>(\d+)?/ anywhere: os `name`, version the digits right after it. */
static bool platform_alias_digits(struct strv os, const char *name, struct platform *p, int *r)
{
	long at = platform_find(os, name);

	if (at < 0)
		return false;
	*r = platform_set2(p, name, platform_run(os, (size_t)at + strlen(name), platform_is_digit));
	return true;
}

/* /<name>(\d+\.\d+)?/ anywhere. */
static bool platform_alias_dotted(struct strv os, const char *name, struct platform *p, int *r)
{
	long at = platform_find(os, name);
	struct strv rest, d, v = platform_nil;

	if (at < 0)
		return false;
	rest = strv_drop(os, (size_t)at + strlen(name));
	d = platform_run(rest, 0, platform_is_digit);
	if (d.len && d.len < rest.len && rest.p[d.len] == '.') {
		struct strv f = platform_run(rest, d.len + 1, platform_is_digit);

		if (f.len)
			v = strv_make(rest.p, d.len + 1 + f.len);
	}
	*r = platform_set2(p, name, v);
	return true;
}

/* /^<name>([\d.]*)/ */
static bool platform_is_digit_or_dot(char c)
{
	return platform_is_digit(c) || c == '.';
}

static bool platform_alias_prefix(struct strv os, const char *name, struct platform *p, int *r)
{
	if (!strv_starts_with(os, name))
		return false;
	*r = platform_set2(p, name, platform_run(os, strlen(name), platform_is_digit_or_dot));
	return true;
}

/* /linux-?((?!gnu)\w+)?/ and /mingw-?(\w+)?/ */
static bool platform_alias_word(struct strv os, const char *name, bool not_gnu, struct platform *p,
				int *r)
{
	long at = platform_find(os, name);
	struct strv rest, w;

	if (at < 0)
		return false;
	rest = strv_drop(os, (size_t)at + strlen(name));
	if (rest.len && rest.p[0] == '-')
		rest = strv_drop(rest, 1);
	w = platform_run(rest, 0, platform_is_word);
	if (not_gnu && strv_starts_with(rest, "gnu"))
		w = platform_nil;
	*r = platform_set2(p, name, w);
	return true;
}

/* /(mswin\d+)(\_(\d+))?/ */
static bool platform_alias_mswin(struct strv os, struct platform *p, int *r)
{
	struct strv rest = os, v = platform_nil;
	long at;

	while ((at = platform_find(rest, "mswin")) >= 0) {
		struct strv d;

		rest = strv_drop(rest, (size_t)at);
		d = platform_run(rest, 5, platform_is_digit);
		if (d.len) {
			size_t end = 5 + d.len;
			if (end < rest.len && rest.p[end] == '_')
				v = platform_run(rest, end + 1, platform_is_digit);
			*r = platform_set(p->os, strv_make(rest.p, end));
			if (*r == 0)
				*r = platform_set(p->version, v);
			if (*r == 0 && !p->cpu[0] && strv_ends_with(strv_make(rest.p, end), "32"))
				strcpy(p->cpu, "x86");
			return true;
		}
		rest = strv_drop(rest, 5);
	}
	return false;
}

/* /^(\w+_platform)(\d+)?/ : \w+ is greedy, so the last "_platform" of the leading word wins. */
static bool platform_alias_custom(struct strv os, struct platform *p, int *r)
{
	struct strv word = platform_run(os, 0, platform_is_word);
	const size_t n = strlen("_platform");

	for (size_t i = word.len; i-- > 1;) {
		if (i + n <= word.len && memcmp(word.p + i, "_platform", n) == 0) {
			*r = platform_set(p->os, strv_make(os.p, i + n));
			if (*r == 0)
				*r = platform_set(p->version,
						  platform_run(os, i + n, platform_is_digit));
			return true;
		}
	}
	return false;
}

/* The alias table of Gem::Platform#initialize, in RubyGems' order. */
static int platform_parse_os(struct strv os, struct platform *p)
{
	int r = 0;

	if (platform_alias_digits(os, "aix", p, &r))
		return r;
	if (platform_find(os, "cygwin") >= 0)
		return platform_set2(p, "cygwin", platform_nil);
	if (platform_alias_digits(os, "darwin", p, &r))
		return r;
	if (strv_eq_cstr(os, "macruby"))
		return platform_set2(p, "macruby", platform_nil);
	if (platform_alias_digits(os, "freebsd", p, &r))
		return r;
	if (platform_alias_digits(os, "hpux", p, &r))
		return r;
	if (strv_eq_cstr(os, "java") || strv_eq_cstr(os, "jruby"))
		return platform_set2(p, "java", platform_nil);
	if (platform_alias_prefix(os, "java", p, &r))
		return r;
	if (strv_starts_with(os, "dalvik") &&
	    platform_run(os, 6, platform_is_digit).len + 6 == os.len)
		return platform_set2(p, "dalvik", strv_drop(os, 6));
	if (strv_eq_cstr(os, "dotnet"))
		return platform_set2(p, "dotnet", platform_nil);
	if (platform_alias_prefix(os, "dotnet", p, &r))
		return r;
	if (platform_alias_word(os, "linux", true, p, &r))
		return r;
	if (platform_find(os, "mingw32") >= 0)
		return platform_set2(p, "mingw32", platform_nil);
	if (platform_alias_word(os, "mingw", false, p, &r))
		return r;
	if (platform_alias_mswin(os, p, &r))
		return r;
	if (platform_find(os, "netbsdelf") >= 0)
		return platform_set2(p, "netbsdelf", platform_nil);
	if (platform_alias_dotted(os, "openbsd", p, &r))
		return r;
	if (platform_alias_dotted(os, "bitrig", p, &r))
		return r;
	if (platform_alias_dotted(os, "solaris", p, &r))
		return r;
	if (platform_alias_custom(os, p, &r))
		return r;
	return platform_set2(p, "unknown", platform_nil);
}

int platform_parse(struct strv s, struct platform *ret)
{
	struct strv parts[PLATFORM_SPLIT_MAX], rest = s, cpu;
	size_t n = 0;
	int r;

	*ret = (struct platform){ 0 };
	/* "current" would be Gem::Platform.local, which only the caller knows. */
	if (s.len == 0 || strv_eq_cstr(s, "current"))
		return -EINVAL;
	if (strv_eq_cstr(s, "ruby")) {
		ret->ruby = true;
		return 0;
	}
	for (;;) {
		struct strv part;
		bool more = strv_cut(rest, '-', &part, &rest);

		if (n == PLATFORM_SPLIT_MAX)
			return -EINVAL;
		parts[n++] = part;
		if (!more)
			break;
	}
	while (n && parts[n - 1].len == 0)
		n--;
	if (n == 0)
		return -EINVAL;
	/* Reassemble x86-linux-gnu: the parts are adjacent in s, so one view spans both. */
	if (n > 2 && !platform_has_digit(parts[n - 1])) {
		parts[n - 2].len = (size_t)(parts[n - 1].p + parts[n - 1].len - parts[n - 2].p);
		n--;
	}
	cpu = parts[0];
	r = platform_set(ret->cpu, platform_is_x86(cpu) ? STRV_LIT("x86") : cpu);
	if (r < 0)
		return r;
	if (n == 3 && platform_is_number(parts[2])) {
		r = platform_set(ret->os, parts[1]);
		return r < 0 ? r : platform_set(ret->version, parts[2]);
	}
	if (n == 1) {
		/* Legacy "java", "mswin32": the only part is the os. */
		ret->cpu[0] = '\0';
		return platform_parse_os(cpu, ret);
	}
	return platform_parse_os(parts[1], ret);
}

void platform_to_string(const struct platform *p, char *buf, size_t size)
{
	const char *part[3] = { p->cpu, p->os, p->version };
	size_t pos = 0;

	if (size == 0)
		return;
	buf[0] = '\0';
	if (p->ruby) {
		snprintf(buf, size, "ruby");
		return;
	}
	for (int i = 0; i < 3; i++) {
		int w;

		if (!part[i][0])
			continue;
		w = snprintf(buf + pos, size - pos, "%s%s", pos ? "-" : "", part[i]);
		if (w < 0 || (size_t)w >= size - pos)
			return;
		pos += (size_t)w;
	}
}

static bool platform_cpu_nil_or_universal(const char *cpu)
{
	return !cpu[0] || strcmp(cpu, "universal") == 0;
}

/* Platform#normalized_linux_version (RubyGems 3.3.23): strip "gnu" and "eabi"/"eabihf". */
static struct strv platform_linux_version(const char *version)
{
	struct strv v = strv_from(version);

	if (strv_starts_with(v, "gnu"))
		v = strv_drop(v, 3);
	if (strv_ends_with(v, "eabihf"))
		v.len -= 6;
	else if (strv_ends_with(v, "eabi"))
		v.len -= 4;
	return v;
}

static bool platform_linux_version_match(const struct platform *spec, const struct platform *local)
{
	char musl[PLATFORM_PART_MAX + 16];
	static const char *const flavour[] = { "musl", "musleabi", "musleabihf" };

	if (strv_eq(platform_linux_version(spec->version), platform_linux_version(local->version)))
		return true;
	for (size_t i = 0; i < sizeof(flavour) / sizeof(flavour[0]); i++) {
		snprintf(musl, sizeof(musl), "%s%s", flavour[i], spec->version);
		if (strcmp(musl, local->version) == 0)
			return true;
	}
	return false;
}

bool platform_match(const struct platform *spec, const struct platform *local)
{
	bool cpu_ok;

	/* A pure-Ruby gem runs anywhere; a local "ruby" platform runs only those. */
	if (spec->ruby || local->ruby)
		return spec->ruby;
	if ((strcmp(spec->cpu, "universal") == 0 || strcmp(local->cpu, "universal") == 0) &&
	    strncmp(spec->os, "mingw", 5) == 0 && strncmp(local->os, "mingw", 5) == 0)
		return true;
	cpu_ok = platform_cpu_nil_or_universal(spec->cpu) ||
		 platform_cpu_nil_or_universal(local->cpu) || strcmp(spec->cpu, local->cpu) == 0 ||
		 (strcmp(spec->cpu, "arm") == 0 && strncmp(local->cpu, "armv", 4) == 0);
	if (!cpu_ok || strcmp(spec->os, local->os) != 0)
		return false;
	if (strcmp(spec->version, local->version) == 0)
		return true;
	if (strcmp(spec->os, "linux") == 0)
		return platform_linux_version_match(spec, local);
	return !spec->version[0] || !local->version[0];
}

/*
 * Bundler's GemHelpers.generic: a spec for one of these platforms also
 * stands for the generic one (x86_64-mingw32 is x64-mingw32, mingw32 is
 * x86-mingw32). The first entry whose os matches and whose cpu is nil or
 * equal wins; anything else is generic "ruby".
 */
static bool platform_generic(const struct platform *p, struct platform *ret)
{
	static const struct {
		const char *cpu, *os, *gcpu;
	} generics[] = {
		{ "", "java", "" },
		{ "x86", "mswin32", "x86" }, /* "mswin32" parses as x86-mswin32 */
		{ "", "mswin64", "" },
		{ "universal", "mingw32", "universal" },
		{ "x64", "mingw32", "x64" },
		{ "x86_64", "mingw32", "x64" },
		{ "", "mingw32", "x86" },
	};

	for (size_t i = 0; i < sizeof(generics) / sizeof(generics[0]); i++) {
		if (strcmp(p->os, generics[i].os) != 0)
			continue;
		if (generics[i].cpu[0] && strcmp(p->cpu, generics[i].cpu) != 0)
			continue;
		*ret = (struct platform){ 0 };
		strcpy(ret->cpu, generics[i].gcpu);
		strcpy(ret->os, generics[i].os);
		return true;
	}
	return false;
}

static bool platform_equal(const struct platform *a, const struct platform *b)
{
	return a->ruby == b->ruby && strcmp(a->cpu, b->cpu) == 0 && strcmp(a->os, b->os) == 0 &&
	       strcmp(a->version, b->version) == 0;
}

static bool platform_is_ruby(struct strv s)
{
	return s.len == 0 || strv_eq_cstr(s, "ruby");
}

bool platform_same(struct strv a, struct strv b)
{
	struct platform pa, pb;

	if (platform_is_ruby(a) || platform_is_ruby(b))
		return platform_is_ruby(a) && platform_is_ruby(b);
	if (platform_parse(a, &pa) < 0 || platform_parse(b, &pb) < 0)
		return false;
	return platform_equal(&pa, &pb);
}

/* "x86_64-linux-gnu", "arm-linux-gnueabihf": a glibc build named as such. */
static bool platform_says_gnu(struct strv s)
{
	return platform_find(s, "-linux-gnu") >= 0;
}

enum platform_rank platform_rank(struct strv spec_platform, struct strv local_platform)
{
	struct platform spec, local, gen;

	if (spec_platform.len == 0 || strv_eq_cstr(spec_platform, "ruby"))
		return PLATFORM_RUBY;
	if (platform_parse(spec_platform, &spec) < 0 || platform_parse(local_platform, &local) < 0)
		return PLATFORM_INCOMPATIBLE;
	if (platform_equal(&spec, &local))
		return PLATFORM_EXACT;
	/*
	 * RubyGems 3.3 parses the "gnu" away, which would let a glibc build
	 * pass for musl; RubyGems 3.4 keeps it, and then it does not match.
	 */
	if (platform_says_gnu(spec_platform) && strncmp(local.version, "musl", 4) == 0)
		return PLATFORM_INCOMPATIBLE;
	if (platform_match(&spec, &local))
		return PLATFORM_COMPATIBLE;
	if (platform_generic(&spec, &gen) && platform_match(&gen, &local))
		return PLATFORM_COMPATIBLE;
	return PLATFORM_INCOMPATIBLE;
}
