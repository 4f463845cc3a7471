#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "base/arena.h"
#include "base/err.h"
#include "base/sbuf.h"
#include "bundle/yaml.h"
#include "sc_test.h"

static struct arena test_arena;

static const struct yaml_node *parse_ok(const char *text)
{
	struct yaml_node *root = NULL;
	struct sbuf why = SBUF_INIT;
	int r = yaml_parse(&test_arena, strv_from(text), &root, &why);

	if (r != 0)
		fail_msg("declined (%d): %s\n%s", r, sbuf_cstr(&why), text);
	sbuf_release(&why);
	assert_non_null(root);
	return root;
}

static void declined_n(const char *text, size_t len, const char *why_part)
{
	struct arena a;
	struct yaml_node *root = NULL;
	struct sbuf why = SBUF_INIT;
	int r;

	arena_init(&a);
	r = yaml_parse(&a, strv_make(text, len), &root, &why);
	if (r != -SC_EUNSUPPORTED)
		fail_msg("accepted (%d): %.200s", r, text);
	if (!strstr(sbuf_cstr(&why), why_part))
		fail_msg("'%s' does not say '%s' for %.200s", sbuf_cstr(&why), why_part, text);
	sbuf_release(&why);
	arena_release(&a);
}

static void declined(const char *text, const char *why_part)
{
	declined_n(text, strlen(text), why_part);
}

static const struct yaml_node *get(const struct yaml_node *map, const char *key)
{
	const struct yaml_node *n = yaml_map_get(map, key);

	if (!n)
		fail_msg("no key '%s'", key);
	return n;
}

static void assert_scalar(const struct yaml_node *n, enum yaml_style style, const char *s)
{
	assert_int_equal(n->kind, YAML_SCALAR);
	if (n->len != strlen(s) || memcmp(n->str, s, n->len) != 0)
		fail_msg("got '%.*s', want '%s'", (int)n->len, n->str, s);
	assert_int_equal(n->str[n->len], '\0');
	assert_int_equal(n->style, style);
}

/* The value of key "a" in a one-key document. */
static const struct yaml_node *value_of(const char *text)
{
	return get(parse_ok(text), "a");
}

/* The decoded length of key "a" of text[0..len). */
static size_t value_of_len_check(const char *text, size_t len)
{
	struct yaml_node *root = NULL;
	int r = yaml_parse(&test_arena, strv_make(text, len), &root, NULL);

	assert_int_equal(r, 0);
	return get(root, "a")->len;
}

static const char gemspec[] = "--- !ruby/object:Gem::Specification\n"
			      "name: rack\n"
			      "version: !ruby/object:Gem::Version\n"
			      "  version: 3.0.8\n"
			      "platform: ruby\n"
			      "authors:\n"
			      "- Leah Neukirchen\n"
			      "autorequire:\n"
			      "bindir: bin\n"
			      "cert_chain: []\n"
			      "date: 2024-01-02 00:00:00.000000000 Z\n"
			      "dependencies:\n"
			      "- !ruby/object:Gem::Dependency\n"
			      "  name: minitest\n"
			      "  requirement: !ruby/object:Gem::Requirement\n"
			      "    requirements:\n"
			      "    - - \"~>\"\n"
			      "      - !ruby/object:Gem::Version\n"
			      "        version: '5.0'\n"
			      "  type: :development\n"
			      "  prerelease: false\n"
			      "description: |-\n"
			      "  Rack provides a minimal interface.\n"
			      "\n"
			      "  Second paragraph.\n"
			      "email: leah@example.invalid\n"
			      "metadata: {}\n"
			      "post_install_message: ~\n"
			      "rubygems_version: 3.4.10\n"
			      "signing_key:\n"
			      "specification_version: 4\n"
			      "summary: A modular Ruby webserver interface.\n"
			      "test_files: []\n";

SC_TEST(yaml_reads_a_gemspec)
{
	arena_init(&test_arena);
	const struct yaml_node *s = parse_ok(gemspec), *v, *d, *req;

	assert_int_equal(s->kind, YAML_MAP);
	assert_string_equal(s->tag, "!ruby/object:Gem::Specification");
	assert_int_equal(s->n, 18);
	assert_scalar(get(s, "name"), YAML_PLAIN, "rack");
	v = get(s, "version");
	assert_int_equal(v->kind, YAML_MAP);
	assert_string_equal(v->tag, "!ruby/object:Gem::Version");
	assert_int_equal(v->line, 3);
	assert_scalar(get(v, "version"), YAML_PLAIN, "3.0.8");
	assert_scalar(get(s, "autorequire"), YAML_PLAIN, "");
	assert_scalar(get(s, "signing_key"), YAML_PLAIN, "");
	assert_scalar(get(s, "post_install_message"), YAML_PLAIN, "~");
	assert_int_equal(get(s, "cert_chain")->kind, YAML_SEQ);
	assert_int_equal(get(s, "cert_chain")->n, 0);
	assert_int_equal(get(s, "metadata")->kind, YAML_MAP);
	assert_int_equal(get(s, "metadata")->n, 0);
	assert_scalar(get(s, "date"), YAML_PLAIN, "2024-01-02 00:00:00.000000000 Z");
	assert_scalar(get(s, "email"), YAML_PLAIN, "leah@example.invalid");
	assert_scalar(get(s, "description"), YAML_LITERAL,
		      "Rack provides a minimal interface.\n\nSecond paragraph.");
	d = get(s, "dependencies");
	assert_int_equal(d->kind, YAML_SEQ);
	assert_int_equal(d->n, 1);
	assert_string_equal(d->items[0]->tag, "!ruby/object:Gem::Dependency");
	assert_int_equal(d->items[0]->line, 13);
	assert_scalar(get(d->items[0], "type"), YAML_PLAIN, ":development");
	req = get(get(d->items[0], "requirement"), "requirements");
	/* "- - " is a sequence in a sequence */
	assert_int_equal(req->kind, YAML_SEQ);
	assert_int_equal(req->n, 1);
	assert_int_equal(req->items[0]->kind, YAML_SEQ);
	assert_int_equal(req->items[0]->n, 2);
	assert_scalar(req->items[0]->items[0], YAML_DOUBLE, "~>");
	assert_scalar(get(req->items[0]->items[1], "version"), YAML_SINGLE, "5.0");
	assert_null(yaml_map_get(s, "nope"));
	assert_null(yaml_map_get(get(s, "name"), "name"));
	arena_release(&test_arena);
}

SC_TEST(yaml_sequences_in_both_indentations_and_email_forms)
{
	arena_init(&test_arena);
	const struct yaml_node *s =
		parse_ok("email:\n- a@x\n- b@x\nfiles:\n  - x\n  -\n  - - y\nlast: 1\n");

	assert_int_equal(get(s, "email")->n, 2);
	assert_scalar(get(s, "email")->items[1], YAML_PLAIN, "b@x");
	assert_int_equal(get(s, "files")->n, 3);
	assert_scalar(get(s, "files")->items[1], YAML_PLAIN, "");
	assert_scalar(get(s, "files")->items[2]->items[0], YAML_PLAIN, "y");
	assert_scalar(get(s, "last"), YAML_PLAIN, "1");
	s = parse_ok("- a: 1\n  b: 2\n- c\n");
	assert_int_equal(s->kind, YAML_SEQ);
	assert_scalar(get(s->items[0], "b"), YAML_PLAIN, "2");
	arena_release(&test_arena);
}

SC_TEST(yaml_block_scalars_follow_libyaml)
{
	arena_init(&test_arena);
	assert_scalar(value_of("a: |\n  x\n   y\n\n"), YAML_LITERAL, "x\n y\n");
	assert_scalar(value_of("a: |-\n  x\n\n"), YAML_LITERAL, "x");
	assert_scalar(value_of("a: |+\n  x\n\n\nb: 1\n"), YAML_LITERAL, "x\n\n\n");
	/* Psych's indentation indicator for text that starts with spaces */
	assert_scalar(value_of("a: |2-\n    indented\n  first\n"), YAML_LITERAL,
		      "  indented\nfirst");
	assert_scalar(parse_ok("- |2\n   x\n")->items[0], YAML_LITERAL, " x\n");
	assert_scalar(value_of("a: >\n  folded\n  text\n\n  para\n   more\n  back\n"), YAML_FOLDED,
		      "folded text\npara\n more\nback\n");
	assert_scalar(value_of("a: >-\n  x\n  y\n"), YAML_FOLDED, "x y");
	assert_scalar(value_of("a: |\n\n  after blank\n"), YAML_LITERAL, "\nafter blank\n");
	assert_scalar(value_of("a: | # comment\n  x\n"), YAML_LITERAL, "x\n");
	assert_scalar(value_of("a: |\n  x"), YAML_LITERAL, "x");
	/* a header at the very end of the text (this once re-read the line) */
	assert_scalar(value_of("a: >"), YAML_FOLDED, "");
	assert_scalar(parse_ok("- |-")->items[0], YAML_LITERAL, "");
	assert_scalar(value_of("a: |\nb: 1\n"), YAML_LITERAL, "");
	assert_scalar(value_of("a: |\n  # not a comment\n"), YAML_LITERAL, "# not a comment\n");
	declined("a: |0\n  x\n", "indentation indicator of 0");
	declined("a: |x\n  x\n", "text after a block scalar header");
	arena_release(&test_arena);
}

SC_TEST(yaml_quoted_scalars_and_escapes)
{
	static const char want[] =
		"\0\a\b\t\n\v\f\r\x1b \"/\\\xc2\x85\xc2\xa0\xe2\x80\xa8\xe2\x80\xa9"
		"A\xc3\xa9\xf0\x9f\x98\x80\x7f";
	const struct yaml_node *n;

	arena_init(&test_arena);
	n = value_of("a: \"\\0\\a\\b\\t\\n\\v\\f\\r\\e\\ "
		     "\\\"\\/\\\\\\N\\_\\L\\P\\x41\\u00E9\\U0001F600\\x7F\"\n");
	assert_int_equal(n->style, YAML_DOUBLE);
	assert_int_equal(n->len, sizeof(want) - 1);
	assert_memory_equal(n->str, want, sizeof(want) - 1);
	assert_scalar(value_of("a: 'it''s # not: a comment'\n"), YAML_SINGLE,
		      "it's # not: a comment");
	assert_scalar(value_of("a: ''\n"), YAML_SINGLE, "");
	assert_scalar(value_of("a: \"\"\n"), YAML_DOUBLE, "");
	assert_scalar(value_of("a: 'back\\slash'\n"), YAML_SINGLE, "back\\slash");
	/* line folding and escaped line breaks, as libyaml does them */
	assert_scalar(value_of("a: \"one\n  two\n\n  three \\\n  four\\\n  \\ five\"\n"),
		      YAML_DOUBLE, "one two\nthree four five");
	assert_scalar(value_of("a: 'x   \n   y'\n"), YAML_SINGLE, "x y");
	assert_scalar(value_of("a: '1.0'\nb: 'true'\n"), YAML_SINGLE, "1.0");
	assert_scalar(value_of("'a': 1\n"), YAML_PLAIN, "1");
	declined("a: \"bad \\q\"\n", "unknown escape '\\q'");
	declined("a: \"it\\'s\"\n", "unknown escape");
	declined("a: \"\\ud800\"\n", "invalid code point");
	declined("a: \"\\x4\"\n", "bad hex escape");
	declined("a: \"open\n", "unterminated quoted scalar");
	declined("a: \"x\n---\ny\"\n", "document marker inside a quoted scalar");
	declined("a: 'x' y\n", "text after a quoted scalar");
	arena_release(&test_arena);
}

SC_TEST(yaml_plain_scalars_comments_and_folding)
{
	arena_init(&test_arena);
	assert_scalar(value_of("a: x # comment\n"), YAML_PLAIN, "x");
	assert_scalar(value_of("a: x#y\n"), YAML_PLAIN, "x#y");
	assert_scalar(value_of("a: http://x:80/y\n"), YAML_PLAIN, "http://x:80/y");
	assert_scalar(value_of("a: long\n  continued\n\n  more   \n  # ends here\nb: 1\n"),
		      YAML_PLAIN, "long continued\nmore");
	assert_scalar(value_of("a: -1\n"), YAML_PLAIN, "-1");
	assert_scalar(value_of("a:   \n  next line\n"), YAML_PLAIN, "next line");
	assert_scalar(value_of("# c\n---\n# c\na: 1 # c\n...\n# c\n"), YAML_PLAIN, "1");
	assert_scalar(value_of("a : spaced\n"), YAML_PLAIN, "spaced");
	assert_scalar(parse_ok("--- plain root\n"), YAML_PLAIN, "plain root");
	assert_scalar(parse_ok("x\n"), YAML_PLAIN, "x");
	assert_scalar(value_of("a: caf\xc3\xa9 \xe4\xb8\xad\n"), YAML_PLAIN,
		      "caf\xc3\xa9 \xe4\xb8\xad");
	declined("a: b: c\n", "text after a plain scalar");
	declined("a: x\n  b: y\n", "text after a plain scalar");
	declined("a: - b\n", "'-' where a value was expected");
	declined("a: @x\n", "'@' where a value was expected");
	arena_release(&test_arena);
}

SC_TEST(yaml_declines_what_is_outside_the_subset)
{
	declined("a: &x 1\n", "an anchor");
	declined("a: *x\n", "an alias");
	declined("a: [1]\n", "flow collection with content");
	declined("a: {b: 1}\n", "flow collection with content");
	declined("? a\n: b\n", "complex mapping key");
	declined("%YAML 1.1\n---\na: 1\n", "line 1: a directive");
	declined("a: 1\n---\nb: 2\n", "line 2: several documents");
	declined("a: 1\n...\n---\nb: 2\n", "line 3: several documents");
	declined("a: 1\n...\nb: 2\n", "text after the document");
	declined("a:\n\tb: 1\n", "line 2: a tab character");
	declined("a: 1\r\n", "carriage return");
	declined("a: \x01\n", "control character 0x01");
	declined("a: \x7f\n", "control character 0x7f");
	declined("a: \xc3\n", "invalid UTF-8");
	declined("a: \xc0\xaf\n", "invalid UTF-8");
	declined("a: \xed\xa0\x80\n", "invalid UTF-8");
	declined("a: \xc2\x85\n", "U+0085");
	declined("a: \xe2\x80\xa8\n", "U+2028");
	declined("\xef\xbb\xbf"
		 "a: 1\n",
		 "U+FEFF");
	declined_n("a: \0\n", 5, "control character 0x00");
	declined("a: 1\nb: 2\na: 3\n", "line 3: duplicate key 'a'");
	declined("a: !!str 1\n", "a tag other than !name");
	declined("a: !<x> 1\n", "a tag other than !name");
	declined("a: !t !u 1\n", "two tags");
	declined("", "an empty document");
	declined_n(NULL, 0, "line 1: an empty document");
	declined("# only a comment\n", "an empty document");
	declined("a:\n  b: 1\n c: 2\n", "line 3: unexpected indentation");
	declined("a: 1\n- b\n", "a sequence entry where a mapping key was expected");
}

SC_TEST(yaml_duplicate_keys_in_a_large_map)
{
	struct sbuf t = SBUF_INIT;

	arena_init(&test_arena);
	for (int i = 0; i < 200; i++)
		sbuf_addf(&t, "k%d: %d\n", i, i);
	const struct yaml_node *m = parse_ok(sbuf_cstr(&t));
	assert_int_equal(m->n, 200);
	assert_scalar(get(m, "k199"), YAML_PLAIN, "199");
	assert_int_equal(get(m, "k150")->line, 151);
	sbuf_addlit(&t, "k77: again\n");
	declined(sbuf_cstr(&t), "line 201: duplicate key 'k77'");
	sbuf_release(&t);
	arena_release(&test_arena);
}

SC_TEST(yaml_limits)
{
	struct sbuf t = SBUF_INIT;
	char *big;

	/* depth: YAML_DEPTH_MAX nested collections parse, one more does not */
	for (int i = 0; i < YAML_DEPTH_MAX - 1; i++)
		sbuf_addlit(&t, "- ");
	sbuf_addlit(&t, "[]\n");
	arena_init(&test_arena);
	parse_ok(sbuf_cstr(&t));
	arena_release(&test_arena);
	sbuf_reset(&t);
	for (int i = 0; i < YAML_DEPTH_MAX; i++)
		sbuf_addlit(&t, "- ");
	sbuf_addlit(&t, "[]\n");
	declined(sbuf_cstr(&t), "nesting deeper than 64");
	sbuf_reset(&t);
	for (int i = 0; i < YAML_DEPTH_MAX + 1; i++)
		sbuf_addf(&t, "%*sk:\n", i, "");
	declined(sbuf_cstr(&t), "nesting deeper than 64");

	/* nodes: a sequence of YAML_NODES_MAX empty items is one node too many */
	sbuf_reset(&t);
	sbuf_grow(&t, 2 * YAML_NODES_MAX);
	for (size_t i = 0; i < YAML_NODES_MAX; i++)
		sbuf_add(&t, "-\n", 2);
	declined(sbuf_cstr(&t), "more than 1000000 nodes");
	sbuf_release(&t);

	/* one scalar: at most YAML_SCALAR_MAX bytes, plain (in place) or quoted (decoded) */
	big = malloc(YAML_SCALAR_MAX + 16);
	assert_non_null(big);
	memcpy(big, "a: '", 4);
	memset(big + 4, 'x', YAML_SCALAR_MAX);
	memcpy(big + 4 + YAML_SCALAR_MAX, "'\n", 2);
	arena_init(&test_arena);
	assert_int_equal(value_of_len_check(big, 4 + YAML_SCALAR_MAX + 2), YAML_SCALAR_MAX);
	arena_release(&test_arena);
	memcpy(big + 4 + YAML_SCALAR_MAX, "x'\n", 3);
	declined_n(big, 4 + YAML_SCALAR_MAX + 3, "a scalar longer than");
	big[3] = ' ';
	big[4 + YAML_SCALAR_MAX + 1] = '\n';
	declined_n(big, 4 + YAML_SCALAR_MAX + 2, "a scalar longer than");
	free(big);
}
