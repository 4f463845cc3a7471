/*
 * fuzz_remote_elf.c: the ELF check of a pulled artifact's files
 * (remote_elf_check), whose bytes come from whoever built the artifact.
 *
 * The host is taken to be of the input's own class and machine, so both
 * classes' readers run past the identification; the library search has a
 * root that holds nothing and an entry of one library, so run paths into and
 * out of the entry are followed. The answer must be 0 or -SC_EUNSAFE with a
 * reason; the sanitizers catch any read outside the input. The same bytes
 * are then read as a host library's version definitions
 * (remote_elf_verdefs).
 *
 * FUZZ_OPTIONS: -max_len=65536
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base/arena.h"
#include "base/err.h"
#include "base/sbuf.h"
#include "bundle/manifest.h"
#include "phases/remote_elf.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct remote_libsearch ls;
	static struct arena a;
	static struct manifest m;
	static bool ready;
	struct remote_elf_host h;
	struct sbuf why = SBUF_INIT;

	if (!ready) {
		if (remote_libsearch_init(&ls, "/nonexistent-fuzz-root", NULL, NULL, 0) < 0)
			abort();
		arena_init(&a);
		manifest_add(&a, &m, MF_FILE, "gem/lib/libx.so.1");
		ls.entry_dir = "/c/cached/ruby-3.1.2-x86_64-linux/x-1";
		ls.m = &m;
		ready = true;
	}
	remote_elf_host_get(&h);
	h.glibc = "2.36";
	if (size >= 20) {
		h.elf_class = data[4];
		memcpy(&h.machine, data + 18, 2);
	}
	/* The input in a buffer of its exact length, so that ASan sees any overrun. */
	unsigned char *p = malloc(size ? size : 1);
	if (!p)
		abort();
	memcpy(p, data, size);
	int r = remote_elf_check(p, size, &h, &ls, "gem/lib/x/x.so", &why);
	if (r != 0 && (r != -SC_EUNSAFE || why.len == 0))
		abort();
	/* the same bytes as a host library whose version definitions are read */
	char **names;
	size_t nnames;
	r = remote_elf_verdefs(p, size, &names, &nnames);
	if (r < 0 && r != -ENOMEM)
		abort();
	for (size_t i = 0; i < nnames; i++)
		if (!names[i])
			abort();
		else
			free(names[i]);
	free(names);
	free(p);
	sbuf_release(&why);
	return 0;
}
