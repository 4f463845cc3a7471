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
 */
#pragma once

#include <stdbool.h>

#include "base/strv.h"

#define PLATFORM_PART_MAX 32

struct platform {
	char cpu[PLATFORM_PART_MAX];     /* "" stands for nil */
	char os[PLATFORM_PART_MAX];
	char version[PLATFORM_PART_MAX]; /* "" stands for nil */
	bool ruby;                       /* the "ruby" platform */
};

/* Returns 0, or -EINVAL for an empty or over-long string. */
int platform_parse(struct strv s, struct platform *ret);
/* Gem::Platform#to_s: cpu-os-version with nil parts dropped ("ruby" for ruby). */
void platform_to_string(const struct platform *p, char *buf, size_t size);
/* Gem::Platform#=== : can a gem built for `spec` run on `local`? */
bool platform_match(const struct platform *spec, const struct platform *local);

enum platform_rank {
	PLATFORM_INCOMPATIBLE = 0,
	PLATFORM_RUBY = 1,       /* pure-Ruby variant, always usable */
	PLATFORM_COMPATIBLE = 2, /* platform_match() but not the same string */
	PLATFORM_EXACT = 3,      /* same platform as local after parsing */
};

/* Ranks a locked variant's platform string for the local platform string. */
enum platform_rank platform_rank(struct strv spec_platform, struct strv local_platform);
