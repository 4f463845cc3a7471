/*
 * yaml_dump.c: prints yaml_parse()'s tree of each file named on the command
 * line, for tests/yaml/psych_diff.rb to compare with Psych.parse; with
 * "-b N" it parses every file N times instead and prints the time per file.
 *
 * Output per file: "OK <len>\n<tree>" or "NO <len>\n<why>", then "\n". The
 * tree is one node per line: "S<style> <tag> <len>:<bytes>" (style 1..5 as
 * Psych numbers them), "Q <tag> <n>", "M <tag> <n>" (then n key/value
 * pairs); <tag> is "<len>:<tag>" or "-".
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/arena.h"
#include "base/err.h"
#include "base/sbuf.h"
#include "bundle/yaml.h"

static void dump(struct sbuf *o, const struct yaml_node *n)
{
	char tag[64];

	if (n->tag)
		snprintf(tag, sizeof(tag), "%zu:", strlen(n->tag));
	switch (n->kind) {
	case YAML_SCALAR:
		sbuf_addf(o, "S%d %s%s %zu:", (int)n->style + 1, n->tag ? tag : "-",
			  n->tag ? n->tag : "", n->len);
		sbuf_add(o, n->str, n->len);
		sbuf_addch(o, '\n');
		break;
	case YAML_SEQ:
	case YAML_MAP:
		sbuf_addf(o, "%c %s%s %zu\n", n->kind == YAML_SEQ ? 'Q' : 'M', n->tag ? tag : "-",
			  n->tag ? n->tag : "", n->n);
		for (size_t i = 0; i < n->n; i++) {
			if (n->kind == YAML_MAP)
				dump(o, n->keys[i]);
			dump(o, n->items[i]);
		}
		break;
	}
}

static char *slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	char *buf = NULL;
	size_t cap = 0, n = 0, k;

	if (!f) {
		perror(path);
		exit(2);
	}
	do {
		if (n == cap) {
			cap = cap ? cap * 2 : 65536;
			buf = realloc(buf, cap);
			if (!buf)
				exit(2);
		}
		k = fread(buf + n, 1, cap - n, f);
		n += k;
	} while (k);
	fclose(f);
	*len = n;
	return buf;
}

int main(int argc, char **argv)
{
	int first = 1, rounds = 0;

	if (argc > 2 && strcmp(argv[1], "-b") == 0) {
		rounds = atoi(argv[2]);
		first = 3;
	}
	if (rounds > 0) {
		size_t nf = (size_t)(argc - first), total = 0, ok = 0;
		char **texts = calloc(nf, sizeof(*texts));
		size_t *lens = calloc(nf, sizeof(*lens));
		struct timespec t0, t1;

		for (size_t i = 0; i < nf; i++) {
			texts[i] = slurp(argv[first + i], &lens[i]);
			total += lens[i];
		}
		clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t0);
		for (int k = 0; k < rounds; k++) {
			for (size_t i = 0; i < nf; i++) {
				struct arena a;
				struct yaml_node *root;

				arena_init(&a);
				if (yaml_parse(&a, strv_make(texts[i], lens[i]), &root, NULL) ==
					    0 &&
				    k == 0)
					ok++;
				arena_release(&a);
			}
		}
		clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t1);
		double us = ((double)(t1.tv_sec - t0.tv_sec) * 1e6 +
			     (double)(t1.tv_nsec - t0.tv_nsec) / 1e3);
		printf("%zu files (%zu accepted), %zu bytes, %d rounds: %.2f us per file, %.1f "
		       "MB/s\n",
		       nf, ok, total, rounds, us / (double)rounds / (double)nf,
		       (double)total * rounds / us);
		return 0;
	}
	for (int i = first; i < argc; i++) {
		struct arena a;
		struct sbuf o = SBUF_INIT, why = SBUF_INIT;
		struct yaml_node *root;
		size_t len;
		char *text = slurp(argv[i], &len);
		int r;

		arena_init(&a);
		r = yaml_parse(&a, strv_make(text, len), &root, &why);
		if (r == 0) {
			dump(&o, root);
			printf("OK %zu\n", o.len);
			fwrite(o.buf, 1, o.len, stdout);
		} else {
			if (r != -SC_EUNSUPPORTED)
				sbuf_addf(&why, " (%s)", sc_strerror(r));
			printf("NO %zu\n", why.len);
			fwrite(why.buf ? why.buf : "", 1, why.len, stdout);
		}
		printf("\n");
		sbuf_release(&o);
		sbuf_release(&why);
		arena_release(&a);
		free(text);
	}
	return 0;
}
