/*
 * fuzz_config.c: a .bundle/config file (bconfig_parse), then the lookups
 * that read it: every key, credentials and mirrors for a URL (the input's
 * first line when it has one, a fixed URL too), and bconfig_render_with,
 * whose output must parse again and hold the value it set.
 *
 * FUZZ_OPTIONS: -max_len=16384
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/arena.h"
#include "base/sbuf.h"
#include "base/url.h"
#include "bundle/config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void lookups(const struct bconfig *c, const char *url)
{
	struct sbuf sb = SBUF_INIT;

	(void)bconfig_credentials(c, url, &sb);
	sbuf_reset(&sb);
	if (bconfig_mirror_for(c, url, &sb) == 1) {
		char *mirror = sbuf_detach(&sb, NULL);
		(void)bconfig_credentials(c, mirror, &sb);
		free(mirror);
	}
	sbuf_reset(&sb);
	url_redact(url, &sb);
	sbuf_reset(&sb);
	bconfig_key_for(url, &sb);
	sbuf_release(&sb);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct strv text = strv_make((const char *)data, size), line, rest = text;
	struct arena a;
	struct bconfig c = { 0 };
	struct bconfig_layer again;
	struct sbuf err = SBUF_INIT, out = SBUF_INIT;

	arena_init(&a);
	if (bconfig_parse(&a, text, &c.local, &err) < 0) {
		if (err.len == 0)
			abort();
		goto out;
	}
	for (size_t i = 0; i < c.local.n; i++) {
		const struct bconfig_entry *e = &c.local.entries[i];
		if (!e->key || !e->value || bconfig_get(&c, e->key) != e->value)
			abort();
	}
	lookups(&c, "https://user@gems.example.com:443/private");
	if (strv_next_line(&rest, &line))
		lookups(&c, arena_strv(&a, line));

	(void)bconfig_render_with(&c.local, "BUNDLE_PATH", "vendor/x y", &out);
	sbuf_reset(&err);
	if (bconfig_parse(&a, sbuf_strv(&out), &again, &err) < 0) {
		fprintf(stderr, "rendered config does not parse: %s\n---\n%s---\n", sbuf_cstr(&err),
			sbuf_cstr(&out));
		abort();
	}
	struct bconfig c2 = { .local = again };
	const char *v = bconfig_get(&c2, "BUNDLE_PATH");
	if (!v || strcmp(v, "vendor/x y") != 0) {
		fprintf(stderr, "rendered config lost BUNDLE_PATH (%s)\n---\n%s---\n",
			v ? v : "(none)", sbuf_cstr(&out));
		abort();
	}
	sbuf_reset(&out);
	(void)bconfig_render_with(&c.local, "BUNDLE_PATH", NULL, &out);
out:
	sbuf_release(&out);
	sbuf_release(&err);
	arena_release(&a);
	return 0;
}
