/*
 * names.h: the rules for names from outside that become paths (design.md §8).
 *
 * Gem names, versions and platforms (from Gemfile.lock, the compact index,
 * a gem's metadata, a cached manifest), executable names, and the relative
 * paths of a gemspec or a manifest all end up as path components under the
 * cache or .bundle. Each is checked here, where it is parsed, so that every
 * path scint builds is made of checked components only:
 *
 *   gem name      RubyGems' Gem::Specification::VALID_NAME_PATTERN
 *                 /\A[a-zA-Z0-9\.\-\_]+\z/, not starting with '.' (so never
 *                 "." or ".." and never a hidden or temporary file name),
 *                 at most NAMES_GEM_MAX bytes.
 *   version       Gem::Version.correct? without surrounding blanks (digits,
 *                 letters, '.', '-'), at most NAMES_VERSION_MAX bytes.
 *   platform      '-'-separated parts of [A-Za-z0-9_.], none empty or
 *                 starting with '.', at most NAMES_PLATFORM_MAX bytes
 *                 ("x86_64-linux-gnu", "universal-java-1.8").
 *   executable    one file name: no '/', not "." or "..", no control
 *                 character, and none of ' " ` \ # (RubyGems pastes the
 *                 name into the Ruby code of the bin/ wrapper).
 *   spec path     (bindir, require_paths, extensions) relative, no ".."
 *                 component, no control character, not empty.
 *   entry path    (manifest rows) a spec path that is also canonical: no
 *                 empty or "." component, no leading or trailing '/'.
 *
 * This is at least as strict as RubyGems 3.3's Gem::Installer#verify_spec
 * (which only refuses line breaks in these fields) and its
 * Gem::SpecificationPolicy name rule. Every check returns 0, or -EINVAL
 * with *ret_why set to a static phrase such as "'..' in path" for the
 * caller's message. No I/O.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "base/strv.h"

struct sbuf;

#define NAMES_GEM_MAX	   128
#define NAMES_VERSION_MAX  64
#define NAMES_PLATFORM_MAX 64
/*
 * name-version[-platform]: cache file names add up to 24 bytes to it
 * ("+build-<8 hex>.manifest") and must stay within NAME_MAX (255).
 */
#define NAMES_FULL_NAME_MAX 200
/* An executable name is one directory entry. */
#define NAMES_EXE_MAX 255
/* A relative path in a spec or manifest (assembly refuses longer archive paths). */
#define NAMES_PATH_MAX 4096

int names_check_gem(struct strv name, const char **ret_why);
/*
 * Versions and platforms: neither may end like a cache side file (.gemspec,
 * .manifest, .building, .lock), or an entry could be named as another's.
 */
int names_check_version(struct strv version, const char **ret_why);
/* "ruby" is a valid platform. */
int names_check_platform(struct strv platform, const char **ret_why);
int names_check_executable(struct strv exe, const char **ret_why);
int names_check_spec_path(struct strv path, const char **ret_why);
/*
 * One path component of any other kind (a Ruby's version directory or ABI
 * name): not empty, at most 255 bytes, no '/', not "." or "..", no control
 * character.
 */
int names_check_component(struct strv comp, const char **ret_why);
int names_check_entry_path(struct strv path, const char **ret_why);

/*
 * Does a symlink at `path` (an entry path relative to a root such as the
 * gem's directory) with `target` stay inside that root when resolved? The
 * target must be relative; ".." may not climb above the root. `follow`
 * (may be NULL) returns the target of another symlink in the same root, or
 * NULL: a component that is a symlink is followed (at most 40 times in all,
 * as the kernel does), so a chain of links that are each harmless alone
 * cannot lead outside either. Returns 0 or -EINVAL with *ret_why set.
 */
/*
 * Appends v to out in single quotes for a message, with control characters,
 * quotes, backslashes and bytes >= 0x7f escaped as \xNN, cut after
 * NAMES_QUOTE_MAX bytes ("..." marks the cut): hostile names never reach a
 * terminal raw.
 */
#define NAMES_QUOTE_MAX 200
void names_quote(struct sbuf *out, struct strv v);

typedef const char *names_link_fn(struct strv path, void *data);
int names_check_link(struct strv path, struct strv target, names_link_fn *follow, void *data,
		     const char **ret_why);
