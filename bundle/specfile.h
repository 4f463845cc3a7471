/*
 * specfile.h: the few fields of an installed specification file
 * (specifications/<full_name>.gemspec, Ruby as Gem::Specification#to_ruby
 * writes it) that `scint info`, `clean` and `binstubs` need, read without Ruby.
 *
 * Only the top-level `  s.<field> = <literal>` lines are read: summary,
 * homepage, bindir, executables and metadata, each a double-quoted string (as
 * String#dump writes it), an array of them or a one-line hash of them. A line
 * in another form is skipped (the field stays unset); nothing is evaluated.
 * The text is hostile: values are bounded (SPECFILE_VALUE_MAX), control
 * characters other than newline and tab become '?', executable names are
 * checked with names_check_executable() (a bad one fails the parse). No I/O.
 */
#pragma once

#include <stddef.h>

#include "base/strv.h"

struct arena;
struct sbuf;

#define SPECFILE_VALUE_MAX (64u << 10)
#define SPECFILE_LIST_MAX  4096

struct specfile {
	const char *summary;  /* NULL when absent */
	const char *homepage; /* NULL when absent */
	const char *bindir;   /* "bin" when absent (RubyGems' default) */
	const char **executables;
	size_t nexecutables;
	const char **meta_keys, **meta_values;
	size_t nmeta;
};

/* 0, or -EINVAL with a reason in err for a bad executable name. */
int specfile_parse(struct arena *a, struct strv text, struct specfile *ret, struct sbuf *err);
/* The metadata value for key, or NULL. */
const char *specfile_meta(const struct specfile *s, const char *key);
