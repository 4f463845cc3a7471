/*
 * gemfile_edit.h: editing a Gemfile's text as `bundle add` and `bundle
 * remove` do (Bundler 2.3's Injector), byte for byte. No I/O, no Ruby.
 *
 * add: Bundler appends "\n" and one line per gem:
 *   gem "name", "~> 1.0", :group => :test
 * remove: Bundler drops every line naming the gem (`gem "x"`, `gem('x')`,
 * not after a '#'), with its continuation lines when the line ends with ',',
 * folds blank lines into the line before them, removes `group`/`source`/
 * `env`/`install_if` blocks left empty, and writes the result with one
 * trailing newline. Names are checked with names_check_gem() first, versions
 * against Gem::Requirement::PATTERN and groups as plain Ruby symbols.
 *
 * gemfile_conservative_req() is Injector#conservative_version: the
 * requirement `bundle add` writes for the version it resolved.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "base/strv.h"

struct sbuf;

/*
 * Renders the `bundle add` line (without newline) for name with the given
 * requirement strings ("~> 1.0", "1.2": each as Bundler normalises it) and
 * groups (none: the default group). -EINVAL with a message in err (Bundler's
 * own for a bad requirement) when an argument is refused.
 */
int gemfile_add_line(struct sbuf *out, const char *name, const char *const *reqs, size_t nreqs,
		     const char *const *groups, size_t ngroups, struct sbuf *err);
/* text + "\n" + lines + "\n": what Injector#append_to writes. */
void gemfile_append(struct strv text, const char *lines, struct sbuf *out);
/*
 * The Gemfile without the gems in names. found[i] tells whether a line
 * named names[i]; the caller refuses the edit when one was not found (as
 * Bundler does: "`x` is not specified in <Gemfile> so it could not be removed.").
 */
void gemfile_remove(struct strv text, const char *const *names, size_t n, bool *found,
		    struct sbuf *out);
/*
 * Injector#conservative_version of version (valid, from a lockfile) with
 * prefix "~> " (default), "= " (--strict) or ">= " (--optimistic): the
 * first two segments from 1.0 up ("~> 1.2"), three below ("~> 0.3.1"), the
 * prerelease suffix kept ("~> 2.0.rc1"). -EINVAL for an invalid version.
 */
int gemfile_conservative_req(const char *version, const char *prefix, struct sbuf *out);
