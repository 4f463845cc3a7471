/*
 * gemspec.h: a gem's metadata (the YAML of metadata.gz) turned into the
 * installed gemspec without Ruby, for the common case. No I/O.
 *
 * The output is byte for byte what the Ruby helper's `spec` method answers
 * (phases/ruby/helper.rb): the summary lines, "---gemspec---\n", then what
 * RubyGems writes as specifications/<full_name>.gemspec, i.e.
 * `Gem::Specification.from_yaml(yaml)` with `installed_by_version` set,
 * then `to_ruby_for_cache`. The rules followed are RubyGems 3.3's
 * (specification.rb: yaml_initialize, reset_nil_attributes_to_default,
 * for_cache, ruby_code, to_ruby; requirement.rb, dependency.rb; and Psych's
 * ScalarScanner for the type of a plain scalar), and the writer refuses
 * every other RubyGems version.
 *
 * The helper stays the truth. Everything this file is not certain about is
 * declined with -SC_EUNSUPPORTED and a reason, and the caller asks the
 * helper instead: an unknown key, tag or shape, a plain scalar Psych would
 * read as something other than a string where a string is expected, a date
 * in another format than Psych's own ("YYYY-MM-DD HH:MM:SS.N Z" or
 * "YYYY-MM-DD"), a platform whose Gem::Platform form differs from the text,
 * a version outside digits, letters and dots, a control character in a
 * summary field (the helper refuses those), anything the YAML parser
 * declines (bundle/yaml.h). Declining is always safe; accepting is a
 * promise of identical bytes. Names that become paths are still checked by
 * the caller (gem_summary_check): nothing here replaces that check.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "base/strv.h"

struct arena;
struct sbuf;
struct yaml_node;

/* Bytes of YAML this writer takes at most (larger metadata goes to the helper). */
#define GEMSPEC_YAML_MAX (4u << 20)

/* True for the RubyGems versions whose output this writer was verified against (3.3.x). */
bool gemspec_rubygems_supported(const char *rubygems_version);

/*
 * Appends to out the helper's `spec` answer for the metadata YAML text, as
 * RubyGems rubygems_version would write it. Returns 0; -SC_EUNSUPPORTED
 * (declined, out unchanged, the reason appended to why, which may be NULL);
 * -ENOMEM, or -SC_ETOOBIG when out's limit is reached. Temporary data comes
 * from a.
 */
int gemspec_render(struct arena *a, struct strv yaml, const char *rubygems_version,
		   struct sbuf *out, struct sbuf *why);

/* The same from an already parsed tree (the root of the document). */
int gemspec_render_tree(struct arena *a, const struct yaml_node *root, struct strv yaml,
			const char *rubygems_version, struct sbuf *out, struct sbuf *why);

/*
 * Ruby's String#dump of s (UTF-8) appended to out: quotes, \" \\ \#{ \#$
 * \#@, \n \t and the other named escapes, \xHH for other control bytes,
 * \uXXXX or \u{XXXXX} for every non-ASCII character. Returns 0,
 * -SC_EUNSUPPORTED for bytes that are not UTF-8 (Ruby would write those as
 * \xHH: never guessed), or the sbuf's error.
 */
int gemspec_dump(struct sbuf *out, struct strv s);
