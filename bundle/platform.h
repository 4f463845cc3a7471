/*
 * platform.h: Gem::Platform (RubyGems lib/rubygems/platform.rb).
 *
 * A platform string such as "x86_64-linux", "x86_64-linux-gnu",
 * "arm64-darwin-21", "java", "universal-darwin" or "ruby" is split into
 * cpu, os and version exactly as Gem::Platform.new does (including its
 * aliases: "darwin20" -> os darwin, version 20; "mingw32"; "linux-musl";
 * "i686"/"i386" -> "x86"; ...). Matching follows Gem::Platform#=== of
 * RubyGems 3.3 (cpu equal or either universal/nil, os equal, version equal
 * or either nil), plus the linux rule that a nil version matches gnu.
 * On linux the versions are compared as RubyGems >= 3.3.23 does (nil, "gnu"
 * and "eabihf" are alike, "musl" runs only on musl, a nil-version gem also
 * runs on musl), "universal" matches every mingw (>= 3.3.18), and a plain
 * "arm" cpu matches "armv7" but not "arm64" (>= 3.5.15). The
 * struct holds no pointers; parts longer than PLATFORM_PART_MAX - 1 are
 * rejected. Parsing differs from Ruby only where Ruby would produce an
 * empty-string part (such as "javafoo" -> version ""), which reads as nil.
 */
#pragma once

#include <stdbool.h>

#include "base/strv.h"

#define PLATFORM_PART_MAX 32

struct platform {
	char cpu[PLATFORM_PART_MAX]; /* "" stands for nil */
	char os[PLATFORM_PART_MAX];
	char version[PLATFORM_PART_MAX]; /* "" stands for nil */
	bool ruby;			 /* the "ruby" platform */
};

/*
 * Returns 0, or -EINVAL for an empty or over-long string, for one made only
 * of '-', and for "current" (Gem::Platform.local, which the caller knows).
 */
int platform_parse(struct strv s, struct platform *ret);
/* Gem::Platform#to_s: cpu-os-version with nil parts dropped ("ruby" for ruby). */
void platform_to_string(const struct platform *p, char *buf, size_t size);
/*
 * Gem::Platform#=== : can a gem built for `spec` run on `local`? A "ruby"
 * spec runs everywhere; a "ruby" local runs only "ruby" specs.
 */
bool platform_match(const struct platform *spec, const struct platform *local);

/*
 * Do two platform strings name the same platform (a gem's metadata against
 * its lockfile line)? "ruby" and "" are the same and differ from every other
 * platform; otherwise both must parse to equal cpu, os and version, so
 * "x86_64-linux-gnu" is "x86_64-linux", as in RubyGems 3.3.
 */
bool platform_same(struct strv a, struct strv b);

enum platform_rank {
	PLATFORM_INCOMPATIBLE = 0,
	PLATFORM_RUBY = 1,	 /* pure-Ruby variant, always usable */
	PLATFORM_COMPATIBLE = 2, /* platform_match() but not the same string */
	PLATFORM_EXACT = 3,	 /* same platform as local after parsing */
};

/*
 * Ranks a locked variant's platform string for the local platform string.
 * "ruby" (or "") ranks PLATFORM_RUBY; otherwise EXACT when both parse to the
 * same cpu/os/version ("x86_64-linux-gnu" is "x86_64-linux"), COMPATIBLE
 * when platform_match() holds or Bundler's generic form of the spec matches
 * (x86_64-mingw32 stands for x64-mingw32), else INCOMPATIBLE. A spec named
 * "-linux-gnu..." is INCOMPATIBLE with a musl local, as in RubyGems 3.4+.
 * Callers pick the highest rank: exact beats compatible beats ruby.
 */
enum platform_rank platform_rank(struct strv spec_platform, struct strv local_platform);
