/*
 * fuzz_yaml.c: the gemspec YAML parser on arbitrary text.
 *
 * A declined text says why, starting "line N: "; an accepted one gives a
 * tree within the limits of yaml.h: nesting at most YAML_DEPTH_MAX, every
 * scalar NUL-terminated at its length and at most YAML_SCALAR_MAX bytes,
 * plain scalars without blanks at their ends, keys untagged scalars that
 * are all distinct and found again by yaml_map_get, lines within the text.
 *
 * FUZZ_OPTIONS: -max_len=8192
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base/arena.h"
#include "base/err.h"
#include "base/sbuf.h"
#include "bundle/yaml.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static size_t nodes;

static void check(const struct yaml_node *n, int depth, uint32_t lines)
{
	if (!n || n->line < 1 || n->line > lines || ++nodes > YAML_NODES_MAX)
		abort();
	if (n->tag && n->tag[0] != '!')
		abort();
	switch (n->kind) {
	case YAML_SCALAR:
		if (!n->str || n->str[n->len] != '\0' || n->len > YAML_SCALAR_MAX ||
		    n->style > YAML_FOLDED)
			abort();
		if (n->style == YAML_PLAIN && n->len &&
		    (strchr(" \n", n->str[0]) || strchr(" \n", n->str[n->len - 1])))
			abort();
		return;
	case YAML_SEQ:
	case YAML_MAP:
		if (depth + 1 > YAML_DEPTH_MAX || (n->n && !n->items))
			abort();
		for (size_t i = 0; i < n->n; i++) {
			if (n->kind == YAML_MAP) {
				const struct yaml_node *k = n->keys[i];
				check(k, depth + 1, lines);
				if (k->kind != YAML_SCALAR || k->tag)
					abort();
				for (size_t j = 0; j < i; j++)
					if (n->keys[j]->len == k->len &&
					    memcmp(n->keys[j]->str, k->str, k->len) == 0)
						abort();
				if (!memchr(k->str, 0, k->len) &&
				    yaml_map_get(n, k->str) != n->items[i])
					abort();
			}
			check(n->items[i], depth + 1, lines);
		}
		return;
	}
	abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct arena a;
	struct sbuf why = SBUF_INIT;
	struct yaml_node *root = NULL;
	uint32_t lines = 1;
	int r;

	for (size_t i = 0; i < size; i++)
		lines += data[i] == '\n';
	arena_init(&a);
	r = yaml_parse(&a, strv_make((const char *)data, size), &root, &why);
	if (r == 0) {
		nodes = 0;
		check(root, 0, lines);
	} else if (r != -SC_EUNSUPPORTED || strncmp(sbuf_cstr(&why), "line ", 5) != 0) {
		abort();
	}
	arena_release(&a);
	sbuf_release(&why);
	return 0;
}
