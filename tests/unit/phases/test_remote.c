/*
 * test_remote.c: the ELF check of remote artifacts (phases/remote_elf.c).
 *
 * On a real ELF file (this test binary): glibc symbol versions against a
 * host version, needed libraries, every truncation and a sweep of corrupted
 * header and program header bytes (no read outside the buffer: run under
 * ASan). On crafted files, 64- and 32-bit, with no section headers at all
 * or lying ones: a too new GLIBC_x.y found through the program headers
 * only, needed libraries, another class or machine, version need chains
 * longer than the caps, and offsets out of range; a run path over its cap,
 * and 256 needed libraries through 64 run path elements into a 1000-row
 * entry; versions needed from a library found on the (temporary or real)
 * host checked against its version definitions. The library search on a
 * temporary root: ld.so.conf with include globs (nested, looping),
 * LD_LIBRARY_PATH, the default and multiarch directories, $ORIGIN run paths
 * into the entry's manifest or out of it.
 */
#include <elf.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "base/arena.h"
#include "base/err.h"
#include "base/sbuf.h"
#include "fsops/fsops.h"
#include "phases/remote_elf.h"
#include "sc_test.h"

static struct remote_elf_host host(const char *glibc)
{
	struct remote_elf_host h;

	remote_elf_host_get(&h);
	h.glibc = glibc;
	return h;
}

/* A search that finds only what the entry ships or tmp/<name>/ holds. */
static struct remote_libsearch empty_search(const char *name)
{
	struct remote_libsearch ls;
	char root[4096];

	snprintf(root, sizeof(root), "%s/%s", sc_test_tmpdir(), name);
	assert_int_equal(fs_mkdir_p(root, 0755), 0);
	assert_int_equal(remote_libsearch_init(&ls, root, NULL, NULL, 0), 0);
	return ls;
}

static void put(const char *root, const char *rel, const char *text)
{
	char p[4096];

	snprintf(p, sizeof(p), "%s%s", root, rel);
	char *slash = strrchr(p, '/');
	*slash = '\0';
	assert_int_equal(fs_mkdir_p(p, 0755), 0);
	*slash = '/';
	FILE *f = fopen(p, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

/* ---- this binary ---- */

static struct sbuf self_elf(void)
{
	struct sbuf b = SBUF_INIT;

	assert_int_equal(fs_read_file("/proc/self/exe", &b, (size_t)256 << 20), 0);
	assert_true(b.len > 64);
	return b;
}

SC_TEST(elf_glibc_versions)
{
	struct sbuf b = self_elf(), why = SBUF_INIT;
	const unsigned char *p = (const unsigned char *)b.buf;
	struct remote_elf_host h = host("99.0");

	assert_int_equal(remote_elf_check(p, b.len, &h, NULL, "x", &why), 0);
	h = host("2.0");
	assert_int_equal(remote_elf_check(p, b.len, &h, NULL, "x", &why), -SC_EUNSAFE);
	assert_non_null(strstr(sbuf_cstr(&why), "needs GLIBC_2."));
	assert_non_null(strstr(sbuf_cstr(&why), "newer than this host's glibc 2.0"));
	sbuf_release(&why);
	sbuf_release(&b);
}

/* This binary's needed libraries are found on this host, and not on an empty root. */
SC_TEST(elf_needed_library_missing)
{
	struct sbuf b = self_elf(), why = SBUF_INIT;
	struct remote_libsearch ls, none = empty_search("self-empty");
	struct remote_elf_host h = host("99.0");

	assert_int_equal(remote_libsearch_init(&ls, "", NULL, NULL, 0), 0);
	assert_int_equal(remote_elf_check((const unsigned char *)b.buf, b.len, &h, &ls, "x", &why),
			 0);
	assert_int_equal(
		remote_elf_check((const unsigned char *)b.buf, b.len, &h, &none, "x", &why),
		-SC_EUNSAFE);
	assert_non_null(strstr(sbuf_cstr(&why), "needs the shared library lib"));
	remote_libsearch_release(&none);
	remote_libsearch_release(&ls);
	sbuf_release(&why);
	sbuf_release(&b);
}

SC_TEST(elf_not_elf_passes)
{
	struct sbuf why = SBUF_INIT;
	struct remote_elf_host h = host("2.36");

	assert_int_equal(
		remote_elf_check((const unsigned char *)"#!/bin/sh\n", 10, &h, NULL, "x", &why), 0);
	assert_int_equal(remote_elf_check((const unsigned char *)"", 0, &h, NULL, "x", &why), 0);
	sbuf_release(&why);
}

/* Every truncation is read within its bounds: accepted or refused, never beyond. */
SC_TEST(elf_truncated_and_corrupted)
{
	struct sbuf b = self_elf(), why = SBUF_INIT;
	struct remote_libsearch ls;
	struct remote_elf_host h = host("2.36");
	size_t step = b.len / 256 + 1;

	assert_int_equal(remote_libsearch_init(&ls, "", NULL, NULL, 0), 0);
	/* Each copy is allocated to its exact length, so that ASan sees any overrun. */
	for (size_t n = 0; n < b.len; n += n < 128 ? 1 : step) {
		unsigned char *copy = malloc(n ? n : 1);
		memcpy(copy, b.buf, n);
		sbuf_reset(&why);
		int r = remote_elf_check(copy, n, &h, &ls, "x", &why);
		assert_true(r == 0 || r == -SC_EUNSAFE);
		free(copy);
	}
	/*
	 * Corrupt each byte of the ELF header and of the program headers in
	 * turn, and a sweep of the rest (the dynamic array, the strings, the
	 * version needs).
	 */
	unsigned char *copy = malloc(b.len);
	Elf64_Ehdr eh;
	memcpy(copy, b.buf, b.len);
	memcpy(&eh, b.buf, sizeof(eh));
	uint64_t phend = eh.e_phoff + (uint64_t)eh.e_phnum * eh.e_phentsize;
	for (size_t i = 0; i < b.len; i++) {
		if (i >= 64 && (i < eh.e_phoff || i >= phend) && i % 61)
			continue;
		copy[i] ^= 0xff;
		sbuf_reset(&why);
		int r = remote_elf_check(copy, b.len, &h, &ls, "x", &why);
		assert_true(r == 0 || r == -SC_EUNSAFE);
		copy[i] ^= 0xff;
	}
	free(copy);
	remote_libsearch_release(&ls);
	sbuf_release(&why);
	sbuf_release(&b);
}

/* ---- crafted files ---- */

/*
 * One PT_LOAD maps the whole file at vaddr BASE (so file offset o is
 * address BASE + o); PT_DYNAMIC at DYN. No section headers unless a test
 * adds lying ones.
 */
enum { BASE = 0x10000, DYN = 0x100, STR = 0x200, VN = 0x300, SIZE = 0x400 };

struct crafted {
	bool is64;
	const char *glibc;   /* the GLIBC_x.y needed, or NULL: no version needs */
	const char *needed;  /* or NULL */
	const char *runpath; /* or NULL */
	bool rpath;	     /* DT_RPATH instead of DT_RUNPATH */
	size_t nverneed;     /* chained version needs (default 1) */
	size_t naux;	     /* auxiliaries of the first (default 1) */
	size_t size;	     /* default SIZE */
};

static size_t str_add(unsigned char *p, size_t *at, const char *s)
{
	size_t off = *at - STR;
	memcpy(p + *at, s, strlen(s) + 1);
	*at += strlen(s) + 1;
	return off;
}

static void dyn_put(unsigned char *p, bool is64, size_t i, int64_t tag, uint64_t val)
{
	if (is64) {
		Elf64_Dyn d = { .d_tag = tag, .d_un.d_val = val };
		memcpy(p + DYN + i * sizeof(d), &d, sizeof(d));
	} else {
		Elf32_Dyn d = { .d_tag = (Elf32_Sword)tag, .d_un.d_val = (Elf32_Word)val };
		memcpy(p + DYN + i * sizeof(d), &d, sizeof(d));
	}
}

static unsigned char *craft(const struct crafted *c, size_t *ret_n)
{
	struct remote_elf_host h = host("2.36");
	size_t n = c->size ? c->size : SIZE, nvn = c->nverneed ? c->nverneed : 1;
	size_t naux = c->naux ? c->naux : 1;
	unsigned char *p = calloc(1, n);

	memcpy(p, ELFMAG, SELFMAG);
	p[EI_CLASS] = c->is64 ? ELFCLASS64 : ELFCLASS32;
	p[EI_DATA] = h.elf_data;
	p[EI_VERSION] = EV_CURRENT;
	if (c->is64) {
		Elf64_Ehdr e = { .e_type = ET_DYN, .e_machine = h.machine, .e_version = EV_CURRENT,
				 .e_phoff = 64, .e_phentsize = sizeof(Elf64_Phdr), .e_phnum = 2,
				 .e_ehsize = sizeof(Elf64_Ehdr) };
		memcpy(e.e_ident, p, EI_NIDENT);
		memcpy(p, &e, sizeof(e));
		Elf64_Phdr ph[2] = {
			{ .p_type = PT_LOAD, .p_vaddr = BASE, .p_filesz = n, .p_memsz = n },
			{ .p_type = PT_DYNAMIC, .p_offset = DYN, .p_vaddr = BASE + DYN,
			  .p_filesz = 0x100, .p_memsz = 0x100 },
		};
		memcpy(p + 64, ph, sizeof(ph));
	} else {
		Elf32_Ehdr e = { .e_type = ET_DYN, .e_machine = h.machine, .e_version = EV_CURRENT,
				 .e_phoff = 52, .e_phentsize = sizeof(Elf32_Phdr), .e_phnum = 2,
				 .e_ehsize = sizeof(Elf32_Ehdr) };
		memcpy(e.e_ident, p, EI_NIDENT);
		memcpy(p, &e, sizeof(e));
		Elf32_Phdr ph[2] = {
			{ .p_type = PT_LOAD, .p_vaddr = BASE, .p_filesz = n, .p_memsz = n },
			{ .p_type = PT_DYNAMIC, .p_offset = DYN, .p_vaddr = BASE + DYN,
			  .p_filesz = 0x80, .p_memsz = 0x80 },
		};
		memcpy(p + 52, ph, sizeof(ph));
	}
	size_t at = STR + 1, di = 0;
	size_t libc = str_add(p, &at, "libc.so.6");
	dyn_put(p, c->is64, di++, DT_NEEDED, libc);
	if (c->needed)
		dyn_put(p, c->is64, di++, DT_NEEDED, str_add(p, &at, c->needed));
	if (c->runpath)
		dyn_put(p, c->is64, di++, c->rpath ? DT_RPATH : DT_RUNPATH,
			str_add(p, &at, c->runpath));
	if (c->glibc) {
		size_t old = str_add(p, &at, "GLIBC_2.2.5");
		size_t name = str_add(p, &at, c->glibc);
		dyn_put(p, c->is64, di++, DT_VERNEED, BASE + VN);
		dyn_put(p, c->is64, di++, DT_VERNEEDNUM, nvn);
		/* Needs, each 16 bytes apart, its auxiliaries right behind the last need. */
		size_t aux0 = VN + nvn * 16;
		assert_true(aux0 + (naux + nvn) * 16 <= n);
		for (size_t k = 0; k < nvn; k++) {
			size_t a = k == 0 ? aux0 : aux0 + (naux + k - 1) * 16;
			Elf64_Verneed vn = { .vn_version = 1, .vn_cnt = 1, .vn_file = (Elf64_Word)libc,
					     .vn_aux = (Elf64_Word)(a - (VN + k * 16)),
					     .vn_next = k + 1 < nvn ? 16 : 0 };
			memcpy(p + VN + k * 16, &vn, sizeof(vn));
		}
		for (size_t x = 0; x < naux + nvn - 1; x++) {
			/* the first need's last auxiliary names the tested version */
			Elf64_Vernaux va = { .vna_name = (Elf64_Word)(x == naux - 1 ? name : old),
					     .vna_next = x + 1 < naux ? 16 : 0 };
			memcpy(p + aux0 + x * 16, &va, sizeof(va));
		}
	}
	dyn_put(p, c->is64, di++, DT_STRTAB, BASE + STR);
	dyn_put(p, c->is64, di++, DT_STRSZ, at - STR);
	dyn_put(p, c->is64, di++, DT_NULL, 0);
	assert_true(at <= VN);
	*ret_n = n;
	return p;
}

static int check(const unsigned char *p, size_t n, const char *glibc,
		 const struct remote_libsearch *ls, struct sbuf *why)
{
	struct remote_elf_host h = host(glibc);

	sbuf_reset(why);
	if (n >= 20 && p[EI_CLASS] == ELFCLASS32) {
		h.elf_class = ELFCLASS32;
		memcpy(&h.machine, p + 18, 2);
	}
	return remote_elf_check(p, n, &h, ls, "gem/lib/x/x.so", why);
}

/*
 * A too new GLIBC_x.y seen through the program headers alone: with no
 * section headers, with e_shoff = 0 and a count, and with a section table
 * that lists nothing but PROGBITS. Both classes.
 */
SC_TEST(elf_stripped_sections_newer_glibc)
{
	struct sbuf why = SBUF_INIT;

	for (int is64 = 0; is64 < 2; is64++) {
		size_t n;
		unsigned char *p = craft(&(struct crafted){ .is64 = is64, .glibc = "GLIBC_2.99" }, &n);
		assert_int_equal(check(p, n, "2.99", NULL, &why), 0);
		assert_int_equal(check(p, n, "2.36", NULL, &why), -SC_EUNSAFE);
		assert_string_equal(sbuf_cstr(&why),
				    "it needs GLIBC_2.99, newer than this host's glibc 2.36");
		/* lying section headers: e_shoff 0 with a count, then a table of PROGBITS only */
		if (is64) {
			uint16_t shnum = 3, shentsize = sizeof(Elf64_Shdr);
			memcpy(p + 0x3c, &shnum, 2);
			memcpy(p + 0x3a, &shentsize, 2);
			assert_int_equal(check(p, n, "2.36", NULL, &why), -SC_EUNSAFE);
			unsigned char *q = realloc(p, n + 3 * sizeof(Elf64_Shdr));
			p = q;
			for (int i = 0; i < 3; i++) {
				Elf64_Shdr sh = { .sh_type = SHT_PROGBITS, .sh_offset = 0,
						  .sh_size = n };
				memcpy(p + n + i * sizeof(sh), &sh, sizeof(sh));
			}
			uint64_t shoff = n;
			memcpy(p + 0x28, &shoff, 8);
			n += 3 * sizeof(Elf64_Shdr);
			assert_int_equal(check(p, n, "2.36", NULL, &why), -SC_EUNSAFE);
			assert_non_null(strstr(sbuf_cstr(&why), "needs GLIBC_2.99"));
		}
		free(p);
	}
	sbuf_release(&why);
}

/* Needed libraries through program headers only: missing, on the host, in the entry. */
SC_TEST(elf_needed_through_program_headers)
{
	struct sbuf why = SBUF_INIT;
	struct arena a;
	struct manifest m = { 0 };
	size_t n;
	struct remote_libsearch ls = empty_search("needed");
	unsigned char *p = craft(&(struct crafted){ .is64 = true, .needed = "libfoo.so.1" }, &n);

	arena_init(&a);
	assert_int_equal(check(p, n, "2.36", &ls, &why), -SC_EUNSAFE);
	assert_string_equal(sbuf_cstr(&why),
			    "it needs the shared library libc.so.6, which this host does not have");
	put(ls.root, "/usr/lib/libc.so.6", "");
	assert_int_equal(check(p, n, "2.36", &ls, &why), -SC_EUNSAFE);
	assert_non_null(strstr(sbuf_cstr(&why), "libfoo.so.1"));
	/* a directory of that name is no library */
	char d[4096];
	snprintf(d, sizeof(d), "%s/usr/lib/libfoo.so.1", ls.root);
	assert_int_equal(fs_mkdir_p(d, 0755), 0);
	assert_int_equal(check(p, n, "2.36", &ls, &why), -SC_EUNSAFE);
	/* shipped by the entry but no run path leads there: the loader would not find it */
	ls.entry_dir = "/cache/cached/ruby-3.1/x-1";
	ls.m = &m;
	manifest_add(&a, &m, MF_FILE, "gem/lib/libfoo.so.1");
	assert_int_equal(check(p, n, "2.36", &ls, &why), -SC_EUNSAFE);
	free(p);

	/* $ORIGIN/../libfoo.so.1 from gem/lib/x/x.so is gem/lib/libfoo.so.1: RUNPATH, then RPATH */
	for (int rpath = 0; rpath < 2; rpath++) {
		p = craft(&(struct crafted){ .is64 = true, .needed = "libfoo.so.1",
					     .runpath = "/nowhere:${ORIGIN}/../y/..:$LIB",
					     .rpath = rpath },
			  &n);
		assert_int_equal(check(p, n, "2.36", &ls, &why), 0);
		free(p);
	}
	/* a run path out of the entry is looked up on the host, not in the manifest */
	p = craft(&(struct crafted){ .is64 = true, .needed = "libfoo.so.1",
				     .runpath = "$ORIGIN/../../../../../../../../opt/foo" },
		  &n);
	assert_int_equal(check(p, n, "2.36", &ls, &why), -SC_EUNSAFE);
	put(ls.root, "/opt/foo/libfoo.so.1", "");
	assert_int_equal(check(p, n, "2.36", &ls, &why), 0);
	/* without a library search, needed libraries are not checked */
	assert_int_equal(check(p, n, "2.36", NULL, &why), 0);
	free(p);
	remote_libsearch_release(&ls);
	arena_release(&a);
	sbuf_release(&why);
}

SC_TEST(elf_other_class_or_machine_refused)
{
	struct sbuf why = SBUF_INIT;
	struct remote_elf_host h = host("2.36");
	size_t n;
	unsigned char *p = craft(&(struct crafted){ .is64 = h.elf_class != ELFCLASS64 }, &n);

	assert_int_equal(remote_elf_check(p, n, &h, NULL, "x", &why), -SC_EUNSAFE);
	assert_non_null(strstr(sbuf_cstr(&why), "another class or byte order"));
	free(p);
	p = craft(&(struct crafted){ .is64 = h.elf_class == ELFCLASS64 }, &n);
	sbuf_reset(&why);
	assert_int_equal(remote_elf_check(p, n, &h, NULL, "x", &why), 0);
	uint16_t other = h.machine == EM_AARCH64 ? EM_X86_64 : EM_AARCH64;
	memcpy(p + 18, &other, 2);
	assert_int_equal(remote_elf_check(p, n, &h, NULL, "x", &why), -SC_EUNSAFE);
	assert_non_null(strstr(sbuf_cstr(&why), "for another machine"));
	/* an object file of another machine too; one of this machine passes (never loaded) */
	uint16_t rel = ET_REL;
	memcpy(p + 16, &rel, 2);
	assert_int_equal(remote_elf_check(p, n, &h, NULL, "x", &why), -SC_EUNSAFE);
	memcpy(p + 18, &h.machine, 2);
	assert_int_equal(remote_elf_check(p, n, &h, NULL, "x", &why), 0);
	free(p);
	sbuf_release(&why);
}

/* Version need chains are walked until next is 0, within caps, in both classes. */
SC_TEST(elf_verneed_chains_bounded)
{
	struct sbuf why = SBUF_INIT;
	size_t n;

	for (int is64 = 0; is64 < 2; is64++) {
		/* long but within the caps: the need at the end is still seen */
		unsigned char *p = craft(&(struct crafted){ .is64 = is64, .glibc = "GLIBC_3.0",
							    .nverneed = REMOTE_ELF_VERNEED_MAX - 1,
							    .naux = 100, .size = 0x20000 },
					 &n);
		assert_int_equal(check(p, n, "3.0", NULL, &why), 0);
		assert_int_equal(check(p, n, "2.36", NULL, &why), -SC_EUNSAFE);
		free(p);
		/* one need more than the cap */
		p = craft(&(struct crafted){ .is64 = is64, .glibc = "GLIBC_2.1",
					     .nverneed = REMOTE_ELF_VERNEED_MAX + 1, .size = 0x20000 },
			  &n);
		assert_int_equal(check(p, n, "2.36", NULL, &why), -SC_EUNSAFE);
		assert_string_equal(sbuf_cstr(&why), "a malformed ELF file (too many version needs)");
		free(p);
		/* auxiliaries past the cap */
		p = craft(&(struct crafted){ .is64 = is64, .glibc = "GLIBC_2.1",
					     .naux = REMOTE_ELF_VERNAUX_MAX + 1, .size = 0x50000 },
			  &n);
		assert_int_equal(check(p, n, "2.36", NULL, &why), -SC_EUNSAFE);
		assert_string_equal(sbuf_cstr(&why),
				    "a malformed ELF file (too many version need entries)");
		free(p);
	}
	/* a chain that never ends runs off its segment: refused, never read beyond */
	unsigned char *p = craft(&(struct crafted){ .is64 = true, .glibc = "GLIBC_2.1" }, &n);
	Elf64_Verneed vn;
	memcpy(&vn, p + VN, sizeof(vn));
	vn.vn_next = (Elf64_Word)(n - VN - 8);
	memcpy(p + VN, &vn, sizeof(vn));
	assert_int_equal(check(p, n, "2.36", NULL, &why), -SC_EUNSAFE);
	assert_non_null(strstr(sbuf_cstr(&why), "outside the loaded segments"));
	vn.vn_next = 0;
	vn.vn_aux = 0xfffffff0u;
	memcpy(p + VN, &vn, sizeof(vn));
	assert_int_equal(check(p, n, "2.36", NULL, &why), -SC_EUNSAFE);
	vn.vn_aux = 16;
	vn.vn_version = 2;
	memcpy(p + VN, &vn, sizeof(vn));
	assert_int_equal(check(p, n, "2.36", NULL, &why), -SC_EUNSAFE);
	free(p);
	sbuf_release(&why);
}

static void set64(unsigned char *p, size_t off, uint64_t v)
{
	memcpy(p + off, &v, 8);
}

/* Offsets, addresses and sizes out of range: each refused, none read beyond the buffer. */
SC_TEST(elf_out_of_range)
{
	struct sbuf why = SBUF_INIT;
	struct crafted c = { .is64 = true, .glibc = "GLIBC_2.1", .needed = "libz.so.1",
			     .runpath = "$ORIGIN" };
	size_t n;
	unsigned char *good = craft(&c, &n);
	unsigned char *p = malloc(n);
	/* Phdr 0 (PT_LOAD) at 64, phdr 1 (PT_DYNAMIC) at 120; fields at +8 offset, +16 vaddr, +32 filesz. */
	struct {
		size_t off;
		uint64_t val;
		const char *msg;
	} cases[] = {
		{ 0x20, 1u << 30, "program headers out of the file" },	   /* e_phoff */
		{ 64 + 32, SIZE + 1, "beyond the end of the file" },	   /* PT_LOAD filesz */
		{ 64 + 8, 8, "beyond the end of the file" },		   /* PT_LOAD offset */
		{ 120 + 16, BASE + SIZE - 8, "PT_DYNAMIC outside the loaded segments" },
		{ 120 + 16, 0x42, "PT_DYNAMIC outside the loaded segments" },
		{ DYN + 8, 0x7fffffff, "a needed library's name" }, /* DT_NEEDED libc */
		{ DYN + 24, 0x7fffffff, "a needed library's name" }, /* DT_NEEDED libz */
		{ DYN + 40, 0x7fffffff, "the run path" },
		{ DYN + 56, BASE + SIZE, "version needs outside the loaded segments" },
		{ DYN + 88, BASE + SIZE, "the dynamic string table" }, /* DT_STRTAB */
		{ DYN + 104, 2, "the run path" }, /* DT_STRSZ cuts every string but "" */
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		memcpy(p, good, n);
		assert_int_equal(check(p, n, "2.36", NULL, &why), 0);
		set64(p, cases[i].off, cases[i].val);
		assert_int_equal(check(p, n, "2.36", NULL, &why), -SC_EUNSAFE);
		if (!strstr(sbuf_cstr(&why), cases[i].msg))
			fail_msg("case %zu: %s", i, sbuf_cstr(&why));
	}
	/* a dynamic array with no DT_NULL up to the end of the segment */
	memcpy(p, good, n);
	for (size_t o = DYN; o + 16 <= n; o += 16) {
		set64(p, o, DT_DEBUG);
		set64(p, o + 8, 0);
	}
	assert_int_equal(check(p, n, "2.36", NULL, &why), -SC_EUNSAFE);
	assert_non_null(strstr(sbuf_cstr(&why), "no end"));
	/* two PT_DYNAMIC, overlapping PT_LOADs */
	memcpy(p, good, n);
	uint32_t t = PT_DYNAMIC;
	memcpy(p + 64, &t, 4);
	assert_int_equal(check(p, n, "2.36", NULL, &why), -SC_EUNSAFE);
	assert_non_null(strstr(sbuf_cstr(&why), "more than one PT_DYNAMIC"));
	memcpy(p, good, n);
	t = PT_LOAD;
	memcpy(p + 120, &t, 4);
	assert_int_equal(check(p, n, "2.36", NULL, &why), -SC_EUNSAFE);
	assert_non_null(strstr(sbuf_cstr(&why), "overlapping"));
	/* a repeated DT_STRTAB (the loader would take the last one) */
	memcpy(p, good, n);
	set64(p, DYN + 96, DT_STRTAB);
	assert_int_equal(check(p, n, "2.36", NULL, &why), -SC_EUNSAFE);
	assert_non_null(strstr(sbuf_cstr(&why), "repeated dynamic tag"));
	/* no program headers in a shared object */
	memcpy(p, good, n);
	uint16_t zero = 0;
	memcpy(p + 0x38, &zero, 2);
	assert_int_equal(check(p, n, "2.36", NULL, &why), -SC_EUNSAFE);
	/* every truncation of the crafted file, each copy exactly its length */
	for (size_t len = 0; len < n; len++) {
		unsigned char *q = malloc(len ? len : 1);
		memcpy(q, good, len);
		int r = len < 4 ? 0 : check(q, len, "2.36", NULL, &why);
		assert_true(r == 0 || r == -SC_EUNSAFE);
		if (len >= 64)
			assert_int_equal(r, -SC_EUNSAFE); /* the PT_LOAD is larger than the file */
		free(q);
	}
	free(p);
	free(good);
	sbuf_release(&why);
}

/* ---- larger crafted files: many needed libraries, version definitions ---- */

/*
 * A 64-bit shared object of this host's kind: one PT_LOAD over the whole
 * file at BASE, PT_DYNAMIC at B_DYN, strings from B_STR, version records
 * (needs or definitions) from B_VER.
 */
enum { B_DYN = 0x1000, B_STR = 0x8000, B_VER = 0xc000, B_SIZE = 0x10000 };

struct big {
	unsigned char *p;
	size_t str_at, ndyn;
};

static void big_init(struct big *b)
{
	struct remote_elf_host h = host("2.36");

	b->p = calloc(1, B_SIZE);
	b->str_at = B_STR + 1;
	b->ndyn = 0;
	Elf64_Ehdr e = { .e_type = ET_DYN, .e_machine = h.machine, .e_version = EV_CURRENT,
			 .e_phoff = 64, .e_phentsize = sizeof(Elf64_Phdr), .e_phnum = 2,
			 .e_ehsize = sizeof(Elf64_Ehdr) };
	memcpy(e.e_ident, ELFMAG, SELFMAG);
	e.e_ident[EI_CLASS] = ELFCLASS64;
	e.e_ident[EI_DATA] = h.elf_data;
	e.e_ident[EI_VERSION] = EV_CURRENT;
	memcpy(b->p, &e, sizeof(e));
	Elf64_Phdr ph[2] = {
		{ .p_type = PT_LOAD, .p_vaddr = BASE, .p_filesz = B_SIZE, .p_memsz = B_SIZE },
		{ .p_type = PT_DYNAMIC, .p_offset = B_DYN, .p_vaddr = BASE + B_DYN,
		  .p_filesz = B_STR - B_DYN, .p_memsz = B_STR - B_DYN },
	};
	memcpy(b->p + 64, ph, sizeof(ph));
}

static size_t big_str(struct big *b, const char *s)
{
	size_t off = b->str_at - B_STR;
	assert_true(b->str_at + strlen(s) + 1 <= B_VER);
	memcpy(b->p + b->str_at, s, strlen(s) + 1);
	b->str_at += strlen(s) + 1;
	return off;
}

static void big_dyn(struct big *b, int64_t tag, uint64_t val)
{
	Elf64_Dyn d = { .d_tag = tag, .d_un.d_val = val };
	assert_true(B_DYN + (b->ndyn + 1) * sizeof(d) <= B_STR);
	memcpy(b->p + B_DYN + b->ndyn++ * sizeof(d), &d, sizeof(d));
}

static unsigned char *big_finish(struct big *b)
{
	big_dyn(b, DT_STRTAB, BASE + B_STR);
	big_dyn(b, DT_STRSZ, b->str_at - B_STR);
	big_dyn(b, DT_NULL, 0);
	return b->p;
}

/* n needed libraries libn000.so... and a run path of k "$ORIGIN" elements. */
static unsigned char *craft_many(size_t nneeded, size_t k)
{
	struct big b;
	struct sbuf rp = SBUF_INIT;

	big_init(&b);
	for (size_t i = 0; i < nneeded; i++) {
		char name[32];
		snprintf(name, sizeof(name), "libn%03zu.so", i);
		big_dyn(&b, DT_NEEDED, big_str(&b, name));
	}
	for (size_t i = 0; i < k; i++)
		sbuf_addstr(&rp, i ? ":$ORIGIN" : "$ORIGIN");
	big_dyn(&b, DT_RUNPATH, big_str(&b, sbuf_cstr(&rp)));
	sbuf_release(&rp);
	return big_finish(&b);
}

/*
 * A run path of more than REMOTE_ELF_RUNPATH_MAX elements is refused; one of
 * that many against 256 needed libraries shipped by a 1000-row entry is
 * looked up row by row no more (it finishes, and finds them all).
 */
SC_TEST(elf_runpath_elements_bounded)
{
	struct sbuf why = SBUF_INIT;
	struct arena a;
	struct manifest m = { 0 };
	struct remote_libsearch ls = empty_search("many");
	unsigned char *p;

	arena_init(&a);
	for (size_t i = 0; i < 1000; i++) {
		char rel[64];
		if (i < REMOTE_ELF_NEEDED_MAX)
			snprintf(rel, sizeof(rel), "gem/lib/x/libn%03zu.so", i);
		else
			snprintf(rel, sizeof(rel), "gem/lib/x/other/f%04zu.rb", i);
		manifest_add(&a, &m, MF_FILE, arena_strdup(&a, rel));
	}
	manifest_sort(&m);
	ls.entry_dir = "/cache/cached/ruby-3.1/x-1";
	ls.m = &m;

	p = craft_many(REMOTE_ELF_NEEDED_MAX, REMOTE_ELF_RUNPATH_MAX + 1);
	assert_int_equal(check(p, B_SIZE, "2.36", &ls, &why), -SC_EUNSAFE);
	assert_string_equal(sbuf_cstr(&why),
			    "a malformed ELF file (a run path of 65 elements, more than 64)");
	free(p);
	p = craft_many(REMOTE_ELF_NEEDED_MAX, REMOTE_ELF_RUNPATH_MAX);
	assert_int_equal(check(p, B_SIZE, "2.36", &ls, &why), 0);
	free(p);
	/* the last one missing from the entry (and the host): still found missing */
	for (size_t i = 0; i < m.nentries; i++)
		if (!strcmp(m.entries[i].path, "gem/lib/x/libn255.so"))
			m.entries[i].path = "gem/lib/x/libn255.so.gone";
	manifest_sort(&m);
	p = craft_many(REMOTE_ELF_NEEDED_MAX, REMOTE_ELF_RUNPATH_MAX);
	assert_int_equal(check(p, B_SIZE, "2.36", &ls, &why), -SC_EUNSAFE);
	assert_non_null(strstr(sbuf_cstr(&why), "libn255.so"));
	free(p);
	remote_libsearch_release(&ls);
	arena_release(&a);
	sbuf_release(&why);
}

/* A file needing `version` (weak or not) of the library `lib` (a DT_NEEDED too). */
static unsigned char *craft_verneed(const char *lib, const char *version, bool weak)
{
	struct big b;

	big_init(&b);
	size_t file = big_str(&b, lib), name = big_str(&b, version);
	big_dyn(&b, DT_NEEDED, file);
	big_dyn(&b, DT_VERNEED, BASE + B_VER);
	big_dyn(&b, DT_VERNEEDNUM, 1);
	Elf64_Verneed vn = { .vn_version = 1, .vn_cnt = 1, .vn_file = (Elf64_Word)file,
			     .vn_aux = sizeof(vn) };
	Elf64_Vernaux va = { .vna_flags = weak ? VER_FLG_WEAK : 0, .vna_other = 2,
			     .vna_name = (Elf64_Word)name };
	memcpy(b.p + B_VER, &vn, sizeof(vn));
	memcpy(b.p + B_VER + sizeof(vn), &va, sizeof(va));
	return big_finish(&b);
}

/* A library `soname` defining its base version and the nnames versions given. */
static unsigned char *craft_verdef(const char *soname, const char *const *names, size_t nnames)
{
	struct big b;
	size_t at = B_VER;

	big_init(&b);
	big_dyn(&b, DT_SONAME, big_str(&b, soname));
	big_dyn(&b, DT_VERDEF, BASE + B_VER);
	big_dyn(&b, DT_VERDEFNUM, nnames + 1);
	for (size_t i = 0; i <= nnames; i++) {
		Elf64_Verdef vd = { .vd_version = 1, .vd_flags = i ? 0 : VER_FLG_BASE,
				    .vd_ndx = (Elf64_Half)(i + 1), .vd_cnt = 1,
				    .vd_aux = sizeof(vd),
				    .vd_next = i < nnames ? sizeof(vd) + sizeof(Elf64_Verdaux) : 0 };
		Elf64_Verdaux va = { .vda_name = (Elf64_Word)big_str(&b, i ? names[i - 1] : soname) };
		memcpy(b.p + at, &vd, sizeof(vd));
		memcpy(b.p + at + sizeof(vd), &va, sizeof(va));
		at += sizeof(vd) + sizeof(va);
	}
	return big_finish(&b);
}

static void put_bytes(const char *root, const char *rel, const unsigned char *p, size_t n)
{
	char path[4096];

	put(root, rel, "");
	snprintf(path, sizeof(path), "%s%s", root, rel);
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	assert_int_equal(fwrite(p, 1, n, f), n);
	fclose(f);
}

/*
 * Every version a file needs must be defined by the library the search finds
 * for it: FOO_1.0 of a libfoo.so.1 defining only FOO_1.0 passes, FOO_2.0 is
 * refused (unless weak); a library without version definitions, or one
 * shipped by the entry, is not checked.
 */
SC_TEST(elf_verneed_against_found_library)
{
	struct sbuf why = SBUF_INIT;
	struct remote_libsearch ls = empty_search("verdef");
	const char *defs[] = { "FOO_0.9", "FOO_1.0" };
	unsigned char *lib = craft_verdef("libfoo.so.1", defs, 2), *p;

	put_bytes(ls.root, "/usr/lib/libfoo.so.1", lib, B_SIZE);
	p = craft_verneed("libfoo.so.1", "FOO_1.0", false);
	assert_int_equal(check(p, B_SIZE, "2.36", &ls, &why), 0);
	free(p);
	p = craft_verneed("libfoo.so.1", "FOO_2.0", false);
	assert_int_equal(check(p, B_SIZE, "2.36", &ls, &why), -SC_EUNSAFE);
	assert_string_equal(sbuf_cstr(&why),
			    "it needs FOO_2.0, which /usr/lib/libfoo.so.1 does not define");
	/* without a library search nothing is looked up (the GLIBC_ check alone) */
	assert_int_equal(check(p, B_SIZE, "2.36", NULL, &why), 0);
	free(p);
	p = craft_verneed("libfoo.so.1", "FOO_2.0", true);
	assert_int_equal(check(p, B_SIZE, "2.36", &ls, &why), 0);
	free(p);
	/* the base version (the soname) is a definition too */
	p = craft_verneed("libfoo.so.1", "libfoo.so.1", false);
	assert_int_equal(check(p, B_SIZE, "2.36", &ls, &why), 0);
	free(p);

	/* a library without version definitions: the loader checks nothing, neither does this */
	struct remote_libsearch ls2 = empty_search("verdef-none");
	unsigned char *plain = craft_verdef("libfoo.so.1", NULL, 0);
	Elf64_Dyn nul = { .d_tag = DT_NULL };
	memcpy(plain + B_DYN + sizeof(Elf64_Dyn), &nul, sizeof(nul)); /* DT_STRTAB, then the end */
	memcpy(plain + B_DYN, &(Elf64_Dyn){ .d_tag = DT_STRTAB, .d_un.d_val = BASE + B_STR },
	       sizeof(nul));
	put_bytes(ls2.root, "/usr/lib/libfoo.so.1", plain, B_SIZE);
	p = craft_verneed("libfoo.so.1", "FOO_2.0", false);
	assert_int_equal(check(p, B_SIZE, "2.36", &ls2, &why), 0);
	/* a malformed definition chain: nothing to check against, no read beyond it */
	Elf64_Verdef vd;
	memcpy(&vd, lib + B_VER, sizeof(vd));
	vd.vd_next = 0xfffffff0u;
	memcpy(lib + B_VER, &vd, sizeof(vd));
	put_bytes(ls2.root, "/usr/lib/libfoo.so.1", lib, B_SIZE);
	remote_libsearch_release(&ls2);
	ls2 = empty_search("verdef-none");
	assert_int_equal(check(p, B_SIZE, "2.36", &ls2, &why), 0);
	/* a missing library is refused by its DT_NEEDED first */
	struct remote_libsearch ls3 = empty_search("verdef-missing");
	assert_int_equal(check(p, B_SIZE, "2.36", &ls3, &why), -SC_EUNSAFE);
	assert_non_null(strstr(sbuf_cstr(&why), "needs the shared library libfoo.so.1"));
	free(p);
	free(plain);
	free(lib);
	remote_libsearch_release(&ls3);
	remote_libsearch_release(&ls2);
	remote_libsearch_release(&ls);
	sbuf_release(&why);
}

/* On this host: a GLIBCXX_3.4.99 that the host's libstdc++.so.6 does not define is refused. */
SC_TEST(elf_verneed_host_libstdcxx)
{
	struct sbuf why = SBUF_INIT;
	struct remote_libsearch ls;

	assert_int_equal(remote_libsearch_init(&ls, "", NULL, NULL, 0), 0);
	if (!remote_libsearch_find(&ls, "x", NULL, "libstdc++.so.6")) {
		fprintf(stderr, "skipped: no libstdc++.so.6 on this host\n");
		remote_libsearch_release(&ls);
		return;
	}
	unsigned char *p = craft_verneed("libstdc++.so.6", "GLIBCXX_3.4", false);
	assert_int_equal(check(p, B_SIZE, "2.36", &ls, &why), 0);
	free(p);
	p = craft_verneed("libstdc++.so.6", "GLIBCXX_3.4.99", false);
	assert_int_equal(check(p, B_SIZE, "2.36", &ls, &why), -SC_EUNSAFE);
	assert_non_null(strstr(sbuf_cstr(&why), "it needs GLIBCXX_3.4.99, which /"));
	assert_non_null(strstr(sbuf_cstr(&why), "libstdc++.so.6 does not define"));
	free(p);
	p = craft_verneed("libstdc++.so.6", "CXXABI_1.3.99", false);
	assert_int_equal(check(p, B_SIZE, "2.36", &ls, &why), -SC_EUNSAFE);
	free(p);
	remote_libsearch_release(&ls);
	sbuf_release(&why);
}

/* ---- the library search ---- */

static bool in_dirs(const struct remote_libsearch *ls, const char *d)
{
	for (size_t i = 0; i < ls->ndirs; i++)
		if (!strcmp(ls->dirs[i], d))
			return true;
	return false;
}

static size_t dir_index(const struct remote_libsearch *ls, const char *d)
{
	for (size_t i = 0; i < ls->ndirs; i++)
		if (!strcmp(ls->dirs[i], d))
			return i;
	fail_msg("%s not searched", d);
	return 0;
}

SC_TEST(libsearch_ld_so_conf)
{
	char root[4096];
	struct remote_libsearch ls;
	const char *extra[] = { "/opt/ruby/lib/" };

	snprintf(root, sizeof(root), "%s/ldconf", sc_test_tmpdir());
	put(root, "/etc/ld.so.conf", "# comment\ninclude /etc/ld.so.conf.d/*.conf\n/opt/top  # tail\n");
	put(root, "/etc/ld.so.conf.d/a.conf", "/opt/a\n\n  /opt/a2/ \nhwcap 0 nosegneg\n/opt/t=libc6\n");
	put(root, "/etc/ld.so.conf.d/b.conf", "include sub/*.conf\n/opt/b\nrelative/dir\n");
	put(root, "/etc/ld.so.conf.d/sub/c.conf", "/opt/c\ninclude ../sub/c.conf\n");
	put(root, "/etc/ld.so.conf.d/skip.txt", "/opt/not-a-conf\n");
	assert_int_equal(remote_libsearch_init(&ls, root, "/ld/one::rel:/ld/two/", extra, 1), 0);
	assert_string_equal(ls.dirs[0], "/ld/one");
	assert_string_equal(ls.dirs[1], "/ld/two");
	assert_string_equal(ls.dirs[2], "/opt/ruby/lib");
	assert_true(dir_index(&ls, "/opt/a") < dir_index(&ls, "/opt/a2"));
	assert_true(dir_index(&ls, "/opt/a2") < dir_index(&ls, "/opt/c"));
	assert_true(dir_index(&ls, "/opt/c") < dir_index(&ls, "/opt/b"));
	assert_true(dir_index(&ls, "/opt/b") < dir_index(&ls, "/opt/top"));
	assert_true(dir_index(&ls, "/opt/top") < dir_index(&ls, "/usr/lib"));
	assert_true(dir_index(&ls, "/lib") < dir_index(&ls, "/usr/lib"));
	assert_true(in_dirs(&ls, "/opt/t"));
	assert_false(in_dirs(&ls, "/opt/not-a-conf"));
	assert_false(in_dirs(&ls, "relative/dir"));
	assert_false(in_dirs(&ls, "rel"));
	assert_false(in_dirs(&ls, "hwcap 0 nosegneg"));
	if (sizeof(void *) == 8)
		assert_true(in_dirs(&ls, "/usr/lib64"));
#if defined(__x86_64__) && !defined(__ILP32__)
	assert_true(dir_index(&ls, "/usr/lib/x86_64-linux-gnu") < dir_index(&ls, "/lib"));
#endif
	/* found in a directory only ld.so.conf.d names */
	assert_false(remote_libsearch_find(&ls, "x", NULL, "libc2.so.1"));
	put(root, "/opt/c/libc2.so.1", "");
	assert_true(remote_libsearch_find(&ls, "x", NULL, "libc2.so.1"));
	remote_libsearch_release(&ls);

	/* an include of itself and a flood of files: bounded, no error */
	snprintf(root, sizeof(root), "%s/ldloop", sc_test_tmpdir());
	put(root, "/etc/ld.so.conf", "include /etc/ld.so.conf\n/opt/loop\n");
	assert_int_equal(remote_libsearch_init(&ls, root, NULL, NULL, 0), 0);
	assert_true(in_dirs(&ls, "/opt/loop"));
	remote_libsearch_release(&ls);
	snprintf(root, sizeof(root), "%s/ldmany", sc_test_tmpdir());
	put(root, "/etc/ld.so.conf", "include d/*\n");
	for (int i = 0; i < REMOTE_LDCONF_FILES + 10; i++) {
		char rel[64], text[64];
		snprintf(rel, sizeof(rel), "/etc/d/%04d", i);
		snprintf(text, sizeof(text), "/opt/many/%d\n/opt/many/%d/b\n", i, i);
		put(root, rel, text);
	}
	assert_int_equal(remote_libsearch_init(&ls, root, NULL, NULL, 0), 0);
	/* ld.so.conf itself and 255 included files: two directories each, the defaults kept */
	assert_true(in_dirs(&ls, "/opt/many/0"));
	assert_true(in_dirs(&ls, "/opt/many/254/b"));
	assert_false(in_dirs(&ls, "/opt/many/255"));
	assert_true(in_dirs(&ls, "/usr/lib"));
	remote_libsearch_release(&ls);
	/* no ld.so.conf at all: the defaults */
	ls = empty_search("ldnone");
	assert_true(in_dirs(&ls, "/usr/lib"));
	remote_libsearch_release(&ls);
}
