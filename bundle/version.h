/*
 * version.h: Gem::Version semantics (RubyGems lib/rubygems/version.rb).
 *
 * A version is a string of segments separated by '.', where a segment is a
 * run of digits or a run of letters ("1.0.0.rc1" -> 1, 0, 0, "rc", 1).
 * Comparison follows Gem::Version#<=>: trailing zero segments are ignored,
 * numeric segments compare numerically, a string segment sorts before any
 * numeric one (prereleases sort before the release), strings compare as
 * strings. No allocation; inputs are views.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "base/strv.h"

/* Gem::Version.correct?: digits/letters/dots/dashes as RubyGems accepts them. */
bool version_valid(struct strv v);
/* True when any segment is alphabetic (Gem::Version#prerelease?). */
bool version_is_prerelease(struct strv v);
/* <0, 0, >0 as Gem::Version#<=>. Both must be valid. */
int version_cmp(struct strv a, struct strv b);
/* version_cmp() of Gem::Version#release of a (a without its prerelease part) with b. */
int version_release_cmp(struct strv a, struct strv b);
/*
 * Writes Gem::Version#bump of v ("1.2.3" -> "1.3", "1" -> "2", "1.2.a" ->
 * "2") into buf as a C string. Returns its length, or -E2BIG when buf is too
 * small. v must be valid.
 */
int version_bump(struct strv v, char *buf, size_t size);
