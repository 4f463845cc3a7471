/*
 * yaml.h: the subset of YAML that Psych (Ruby's YAML) emits for a
 * Gem::Specification, as found in a gem's metadata.gz, parsed into a tree
 * without Ruby. No I/O.
 *
 * The subset is what `Gem::Specification#to_yaml` writes: one document
 * (optional "---" start, optional "..." end), block mappings and block
 * sequences (Psych writes a sequence inside a mapping at the mapping's own
 * indentation: "key:\n- a\n- b"), the empty flow collections "[]" and "{}",
 * plain, single-quoted and double-quoted scalars, literal and folded block
 * scalars ("|", "|-", "|+", ">", ">-", with an optional indentation
 * indicator), tags written "!ruby/object:Gem::Version" (local tags, kept
 * as written), comment lines and trailing comments after plain values.
 *
 * Anything else is declined with -SC_EUNSUPPORTED and a reason in why:
 * anchors and aliases, flow collections with content, complex keys ("? "),
 * directives ("%YAML"), several documents, tabs in indentation, a scalar
 * that is not valid UTF-8, and every limit below. Stricter than YAML, the
 * whole text must be valid UTF-8 of characters libyaml reads as printable,
 * without tab, carriage return, BOM, U+0085, U+2028 or U+2029 anywhere
 * (Psych escapes them in double quotes), keys are one-line scalars
 * without tag of at most YAML_KEY_MAX bytes, and a tag is "!" and a name
 * of letters, digits and "-_./:" (no "!!str", no "!<...>"). The caller then hands
 * the text to the Ruby helper, which is the truth; this parser only has to
 * be right on what it accepts, never complete. It never asserts on input:
 * the text is hostile.
 *
 * Scalars are returned decoded (escapes of double-quoted scalars resolved,
 * '' of single-quoted ones, line folding applied) with their style, so the
 * caller can apply Psych's type resolution of plain scalars itself
 * (a plain "1.0" is a Float to Psych, a plain "true" a boolean, a plain
 * ":runtime" a Symbol, an empty plain value nil).
 */
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "base/strv.h"

struct arena;
struct sbuf;

#define YAML_DEPTH_MAX	64	    /* nesting of collections */
#define YAML_NODES_MAX	1000000u    /* nodes in one document */
#define YAML_SCALAR_MAX (16u << 20) /* bytes of one decoded scalar */
#define YAML_KEY_MAX	1000u /* bytes of one key as written (libyaml's simple keys: 1024 chars) */

enum yaml_kind {
	YAML_SCALAR,
	YAML_SEQ,
	YAML_MAP
};

enum yaml_style {
	YAML_PLAIN,   /* also the empty value of "key:" (len 0) */
	YAML_SINGLE,  /* 'text' */
	YAML_DOUBLE,  /* "text" */
	YAML_LITERAL, /* | */
	YAML_FOLDED,  /* > */
};

struct yaml_node {
	enum yaml_kind kind;
	const char *tag; /* "!ruby/object:Gem::Version" as written (NUL-terminated), or NULL */
	uint32_t line;	 /* 1-based line where the node starts (for messages) */
	/* YAML_SCALAR: the decoded value, NUL-terminated; may hold NUL bytes (len counts them). */
	enum yaml_style style;
	const char *str;
	size_t len;
	/*
	 * YAML_SEQ: items[0..n). YAML_MAP: keys[i] (always scalars) and items[i]
	 * (their values), in document order; a key written twice is declined.
	 */
	struct yaml_node **keys;
	struct yaml_node **items;
	size_t n;
};

/*
 * Parses text (need not be NUL-terminated) into *ret, everything allocated
 * from a. Returns 0, or -SC_EUNSUPPORTED (outside the subset, or over a
 * limit) with "line N: why" appended to why (may be NULL); ENOMEM is
 * reported as -ENOMEM.
 */
int yaml_parse(struct arena *a, struct strv text, struct yaml_node **ret, struct sbuf *why);

/* The value of key in a YAML_MAP (keys compared as decoded bytes), or NULL. */
const struct yaml_node *yaml_map_get(const struct yaml_node *map, const char *key);
