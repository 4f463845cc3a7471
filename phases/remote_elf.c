/*
 * remote_elf.c: the ELF check of a pulled artifact's files (remote_elf.h).
 *
 * What the dynamic loader (glibc's ld.so) reads, and so what is read here:
 *   the ELF header          class, byte order, machine, type, e_phoff/e_phnum
 *   program headers         PT_LOAD (vaddr -> file offset), PT_DYNAMIC
 *   the dynamic array       at PT_DYNAMIC's p_vaddr, mapped through the
 *                           PT_LOAD segment holding it, up to DT_NULL:
 *                           DT_NEEDED, DT_STRTAB (+DT_STRSZ), DT_VERNEED,
 *                           DT_RUNPATH, DT_RPATH
 *   the version needs       from DT_VERNEED, chained by vn_next until 0,
 *                           each one's auxiliaries by vna_next until 0 (as
 *                           _dl_check_map_versions walks them: vn_cnt and
 *                           DT_VERNEEDNUM do not bound the loader's walk,
 *                           so they do not bound this one either)
 *   the version definitions of a needed library found on the host
 *                           (remote_elf_verdefs: DT_VERDEF, chained by
 *                           vd_next until 0, at most REMOTE_ELF_VERDEF_MAX),
 *                           to check every version a need names against
 *                           them as _dl_check_map_versions does (weak needs
 *                           and libraries without DT_VERDEF pass); each
 *                           library read once a run (at most
 *                           REMOTE_ELF_LIB_MAX bytes), kept in the search
 * Section headers are never read: a stripped or lying section table changes
 * nothing the loader does, so it changes nothing here.
 *
 * Hostile files: every address is mapped through a PT_LOAD segment whose
 * file bytes lie inside the buffer, and a read must fit in that segment's
 * file bytes; segments must be sorted and not overlap (no two answers for
 * one address); strings must end inside the string table (DT_STRSZ and its
 * segment); at most REMOTE_ELF_* program headers, loads, dynamic entries,
 * needed libraries, version needs and auxiliaries are walked (the chains
 * only move forward, so every walk also ends at the end of the file).
 * Anything the loader would read and this cannot is a refusal.
 *
 * The library search (remote_libsearch_*) follows the loader's order
 * without running anything: stat() and glob() only, on paths under a root
 * that unit tests set to a temporary directory.
 */
#include "phases/remote_elf.h"

#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <glob.h>
#include <gnu/libc-version.h>
#include <link.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/err.h"
#include "fsops/fsops.h"

/* The ELF header of the running executable (GNU ld and lld define it). */
extern const ElfW(Ehdr) __ehdr_start __attribute__((visibility("hidden")));

void remote_elf_host_get(struct remote_elf_host *ret)
{
	ret->elf_class = sizeof(void *) == 8 ? ELFCLASS64 : ELFCLASS32;
#if __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
	ret->elf_data = ELFDATA2MSB;
#else
	ret->elf_data = ELFDATA2LSB;
#endif
	ret->machine = __ehdr_start.e_machine;
	ret->glibc = gnu_get_libc_version();
}

/* ---- the ELF file ---- */

struct elf_seg {
	uint64_t vaddr, memsz, off, filesz;
};

struct elf_file {
	const unsigned char *p;
	size_t n;
	bool is64;
	struct elf_seg loads[REMOTE_ELF_LOADS_MAX];
	size_t nloads;
};

/* The file offset of [addr, addr + len) and the file bytes from there to its segment's end. */
static bool elf_map(const struct elf_file *f, uint64_t addr, uint64_t len, uint64_t *ret_off,
		    uint64_t *ret_avail)
{
	for (size_t i = 0; i < f->nloads; i++) {
		const struct elf_seg *s = &f->loads[i];
		if (addr < s->vaddr || addr - s->vaddr >= s->filesz)
			continue;
		uint64_t avail = s->filesz - (addr - s->vaddr);
		if (len > avail)
			return false;
		*ret_off = s->off + (addr - s->vaddr);
		if (ret_avail)
			*ret_avail = avail;
		return true;
	}
	return false;
}

static bool elf_glibc_newer(const char *need, const char *host)
{
	while (*need || *host) {
		char *e1, *e2;
		unsigned long a = strtoul(need, &e1, 10), b = strtoul(host, &e2, 10);
		if (a != b)
			return a > b;
		if (e1 == need && e2 == host)
			return false;
		need = *e1 == '.' ? e1 + 1 : e1;
		host = *e2 == '.' ? e2 + 1 : e2;
		if (e1 == need && *need && !(*need >= '0' && *need <= '9'))
			return false; /* trailing garbage: compared as far as it is numeric */
	}
	return false;
}

struct elf_strtab {
	uint64_t off, len; /* in the file */
};

/* The NUL-terminated string at index i of the table, or NULL. */
static const char *elf_str(const struct elf_file *f, const struct elf_strtab *t, uint64_t i)
{
	if (i >= t->len)
		return NULL;
	const char *s = (const char *)f->p + t->off + i;
	return memchr(s, '\0', t->len - i) ? s : NULL;
}

static int elf_bad(struct sbuf *why, const char *what)
{
	sbuf_addf(why, "a malformed ELF file (%s)", what);
	return -SC_EUNSAFE;
}

/* Reads the program headers: the PT_LOAD segments into f, PT_DYNAMIC's address. */
static int elf_phdrs(struct elf_file *f, uint64_t phoff, unsigned phnum, unsigned phentsize,
		     bool *ret_dyn, uint64_t *ret_dyn_addr, struct sbuf *why)
{
	size_t want = f->is64 ? sizeof(Elf64_Phdr) : sizeof(Elf32_Phdr);
	unsigned ndyn = 0;

	if (phnum == PN_XNUM || phnum > REMOTE_ELF_PHDRS_MAX)
		return elf_bad(why, "too many program headers");
	if (phentsize != want || phoff > f->n || (uint64_t)phnum * want > f->n - phoff)
		return elf_bad(why, "program headers out of the file");
	for (unsigned i = 0; i < phnum; i++) {
		const unsigned char *ph = f->p + phoff + (uint64_t)i * want;
		uint32_t type;
		struct elf_seg s;
		if (f->is64) {
			Elf64_Phdr h;
			memcpy(&h, ph, sizeof(h));
			type = h.p_type;
			s = (struct elf_seg){ h.p_vaddr, h.p_memsz, h.p_offset, h.p_filesz };
		} else {
			Elf32_Phdr h;
			memcpy(&h, ph, sizeof(h));
			type = h.p_type;
			s = (struct elf_seg){ h.p_vaddr, h.p_memsz, h.p_offset, h.p_filesz };
		}
		if (type == PT_DYNAMIC) {
			if (++ndyn > 1)
				return elf_bad(why, "more than one PT_DYNAMIC");
			*ret_dyn = true;
			*ret_dyn_addr = s.vaddr;
			continue;
		}
		if (type != PT_LOAD)
			continue;
		if (f->nloads == REMOTE_ELF_LOADS_MAX)
			return elf_bad(why, "too many PT_LOAD segments");
		if (s.off > f->n || s.filesz > f->n - s.off)
			return elf_bad(why, "a PT_LOAD segment beyond the end of the file");
		if (s.filesz > s.memsz || s.vaddr > UINT64_MAX - s.memsz)
			return elf_bad(why, "a PT_LOAD segment's sizes");
		if (f->nloads) {
			const struct elf_seg *prev = &f->loads[f->nloads - 1];
			if (s.vaddr < prev->vaddr + prev->memsz)
				return elf_bad(why, "PT_LOAD segments unsorted or overlapping");
		}
		f->loads[f->nloads++] = s;
	}
	return 0;
}

struct elf_dyn {
	uint64_t needed[REMOTE_ELF_NEEDED_MAX];
	size_t nneeded;
	bool has_strtab, has_strsz, has_verneed, has_verdef, has_runpath, has_rpath;
	uint64_t strtab, strsz, verneed, verdef, runpath, rpath;
};

static int elf_dynamic(const struct elf_file *f, uint64_t addr, struct elf_dyn *d, struct sbuf *why)
{
	size_t dsz = f->is64 ? sizeof(Elf64_Dyn) : sizeof(Elf32_Dyn);
	uint64_t off, avail;

	if (!elf_map(f, addr, dsz, &off, &avail))
		return elf_bad(why, "PT_DYNAMIC outside the loaded segments");
	for (size_t i = 0;; i++) {
		if (i == REMOTE_ELF_DYN_MAX)
			return elf_bad(why, "too many dynamic entries");
		if ((uint64_t)(i + 1) * dsz > avail)
			return elf_bad(why, "the dynamic array has no end");
		int64_t tag;
		uint64_t val;
		if (f->is64) {
			Elf64_Dyn e;
			memcpy(&e, f->p + off + i * dsz, sizeof(e));
			tag = e.d_tag;
			val = e.d_un.d_val;
		} else {
			Elf32_Dyn e;
			memcpy(&e, f->p + off + i * dsz, sizeof(e));
			tag = e.d_tag;
			val = e.d_un.d_val;
		}
		bool *has = NULL;
		uint64_t *slot = NULL;
		switch (tag) {
		case DT_NULL:
			return 0;
		case DT_NEEDED:
			if (d->nneeded == REMOTE_ELF_NEEDED_MAX)
				return elf_bad(why, "too many needed libraries");
			d->needed[d->nneeded++] = val;
			continue;
		case DT_STRTAB:
			has = &d->has_strtab, slot = &d->strtab;
			break;
		case DT_STRSZ:
			has = &d->has_strsz, slot = &d->strsz;
			break;
		case DT_VERNEED:
			has = &d->has_verneed, slot = &d->verneed;
			break;
		case DT_VERDEF:
			has = &d->has_verdef, slot = &d->verdef;
			break;
		case DT_RUNPATH:
			has = &d->has_runpath, slot = &d->runpath;
			break;
		case DT_RPATH:
			has = &d->has_rpath, slot = &d->rpath;
			break;
		default:
			continue;
		}
		/* The loader keeps the last of a repeated tag; no linker writes one twice. */
		if (*has)
			return elf_bad(why, "a repeated dynamic tag");
		*has = true;
		*slot = val;
	}
}

/* ---- the version definitions of host libraries, read once a run ---- */

struct ls_lib {
	char *path;
	bool checked; /* names is what it defines; false: nothing to check against */
	char **names;
	size_t nnames;
};

struct ls_libs {
	struct ls_lib *v;
	size_t n;
};

static void ls_libs_free(struct ls_libs *c)
{
	if (!c)
		return;
	for (size_t i = 0; i < c->n; i++) {
		for (size_t k = 0; k < c->v[i].nnames; k++)
			free(c->v[i].names[k]);
		free(c->v[i].names);
		free(c->v[i].path);
	}
	free(c->v);
	free(c);
}

static int ls_locate(const struct remote_libsearch *ls, const char *path, const char *runpath,
		     const char *soname, struct sbuf *ret_host);
static const struct ls_lib *ls_lib_get(const struct remote_libsearch *ls, const char *path);
static bool ls_lib_defines(const struct ls_lib *lib, const char *version);

/* Where a version need's file is found, to check its names against (vc of elf_verneed). */
struct elf_vcheck {
	const struct remote_libsearch *libs;
	const char *path, *runpath;
};

/*
 * vc NULL: every GLIBC_x.y the version needs name must be at most the host's
 * glibc. vc set (a second walk, after the first passed): every version a need
 * names, unless weak, must be defined (DT_VERDEF) by the library the search
 * finds for its file on the host; a library inside the entry, or one on the
 * host without version definitions (the loader checks nothing against it) or
 * that cannot be read, is not checked.
 */
static int elf_verneed(const struct elf_file *f, const struct elf_dyn *d,
		       const struct elf_strtab *st, const char *host_glibc,
		       const struct elf_vcheck *vc, struct sbuf *why)
{
	uint64_t addr = d->verneed;
	size_t naux = 0;
	struct sbuf where = SBUF_INIT;
	int r = 0;

	for (size_t k = 0;; k++) {
		uint64_t off;
		if (k == REMOTE_ELF_VERNEED_MAX)
			return elf_bad(why, "too many version needs");
		if (!elf_map(f, addr, sizeof(Elf64_Verneed), &off, NULL))
			return elf_bad(why, "version needs outside the loaded segments");
		Elf64_Verneed vn; /* the same layout in both classes */
		memcpy(&vn, f->p + off, sizeof(vn));
		if (vn.vn_version != 1)
			return elf_bad(why, "a version need of another version");
		const char *file = elf_str(f, st, vn.vn_file);
		if (!file)
			return elf_bad(why, "a version need's file name");
		const struct ls_lib *lib = NULL;
		if (vc) {
			sbuf_reset(&where);
			int at = strchr(file, '/') || !*file
					 ? 0
					 : ls_locate(vc->libs, vc->path, vc->runpath, file, &where);
			if (at == 0) {
				sbuf_addf(why,
					  "it needs versions of the shared library %s, which this "
					  "host does not have",
					  file);
				r = -SC_EUNSAFE;
				break;
			}
			if (at == 1)
				lib = ls_lib_get(vc->libs, sbuf_cstr(&where));
		}
		uint64_t a = addr + vn.vn_aux;
		for (;;) {
			uint64_t aoff;
			if (++naux > REMOTE_ELF_VERNAUX_MAX)
				return elf_bad(why, "too many version need entries");
			if (!elf_map(f, a, sizeof(Elf64_Vernaux), &aoff, NULL))
				return elf_bad(why,
					       "version need entries outside the loaded segments");
			Elf64_Vernaux va;
			memcpy(&va, f->p + aoff, sizeof(va));
			const char *v = elf_str(f, st, va.vna_name);
			if (!v)
				return elf_bad(why, "a version name");
			if (!vc && !strncmp(v, "GLIBC_", 6) && v[6] >= '0' && v[6] <= '9' &&
			    elf_glibc_newer(v + 6, host_glibc)) {
				sbuf_addf(why, "it needs %s, newer than this host's glibc %s", v,
					  host_glibc);
				return -SC_EUNSAFE;
			}
			if (lib && !(va.vna_flags & VER_FLG_WEAK) && !ls_lib_defines(lib, v)) {
				sbuf_addf(why, "it needs %s, which %s does not define", v,
					  sbuf_cstr(&where) + strlen(vc->libs->root));
				sbuf_release(&where);
				return -SC_EUNSAFE;
			}
			if (!va.vna_next)
				break;
			a += va.vna_next;
		}
		if (!vn.vn_next)
			break;
		addr += vn.vn_next;
	}
	sbuf_release(&where);
	return r;
}

int remote_elf_check(const unsigned char *p, size_t n, const struct remote_elf_host *host,
		     const struct remote_libsearch *libs, const char *path, struct sbuf *why)
{
	struct elf_file *f;
	struct elf_dyn *d;
	uint16_t type, machine;
	uint64_t phoff;
	unsigned phnum, phentsize;
	int r = 0;

	if (n < 4 || memcmp(p, ELFMAG, SELFMAG))
		return 0;
	if (n < EI_NIDENT || (p[EI_CLASS] != ELFCLASS32 && p[EI_CLASS] != ELFCLASS64) ||
	    (p[EI_DATA] != ELFDATA2LSB && p[EI_DATA] != ELFDATA2MSB))
		return elf_bad(why, "identification");
	if (p[EI_CLASS] != host->elf_class || p[EI_DATA] != host->elf_data) {
		sbuf_addf(why,
			  "an ELF file of another class or byte order (%d-bit %s) than this host's",
			  p[EI_CLASS] == ELFCLASS64 ? 64 : 32,
			  p[EI_DATA] == ELFDATA2LSB ? "little-endian" : "big-endian");
		return -SC_EUNSAFE;
	}
	bool is64 = p[EI_CLASS] == ELFCLASS64;
	if (is64) {
		Elf64_Ehdr h;
		if (n < sizeof(h))
			return elf_bad(why, "header");
		memcpy(&h, p, sizeof(h));
		type = h.e_type, machine = h.e_machine, phoff = h.e_phoff;
		phnum = h.e_phnum, phentsize = h.e_phentsize;
	} else {
		Elf32_Ehdr h;
		if (n < sizeof(h))
			return elf_bad(why, "header");
		memcpy(&h, p, sizeof(h));
		type = h.e_type, machine = h.e_machine, phoff = h.e_phoff;
		phnum = h.e_phnum, phentsize = h.e_phentsize;
	}
	if (machine != host->machine) {
		sbuf_addf(why, "an ELF file for another machine (e_machine %u, this host's is %u)",
			  machine, host->machine);
		return -SC_EUNSAFE;
	}
	if (type != ET_DYN && type != ET_EXEC)
		return 0; /* an object file, a core: never loaded */
	if (phnum == 0)
		return elf_bad(why, "no program headers");

	f = calloc(1, sizeof(*f));
	d = calloc(1, sizeof(*d));
	if (!f || !d) {
		r = -ENOMEM;
		sbuf_addstr(why, "out of memory");
		goto out;
	}
	f->p = p, f->n = n, f->is64 = is64;
	bool dyn = false;
	uint64_t dyn_addr = 0;
	if ((r = elf_phdrs(f, phoff, phnum, phentsize, &dyn, &dyn_addr, why)) < 0)
		goto out;
	if (!dyn)
		goto out; /* statically linked: needs nothing */
	if ((r = elf_dynamic(f, dyn_addr, d, why)) < 0)
		goto out;
	if (!d->nneeded && !d->has_verneed && !d->has_runpath && !d->has_rpath)
		goto out;
	struct elf_strtab st;
	if (!d->has_strtab || !elf_map(f, d->strtab, 1, &st.off, &st.len)) {
		r = elf_bad(why, "the dynamic string table");
		goto out;
	}
	if (d->has_strsz && d->strsz < st.len)
		st.len = d->strsz;
	const char *runpath = NULL;
	if (d->has_runpath || d->has_rpath) {
		runpath = elf_str(f, &st, d->has_runpath ? d->runpath : d->rpath);
		if (!runpath) {
			r = elf_bad(why, "the run path");
			goto out;
		}
		size_t nelem = 1;
		for (const char *q = runpath; (q = strchr(q, ':')); q++)
			nelem++;
		if (nelem > REMOTE_ELF_RUNPATH_MAX) {
			sbuf_addf(why,
				  "a malformed ELF file (a run path of %zu elements, more than %d)",
				  nelem, REMOTE_ELF_RUNPATH_MAX);
			r = -SC_EUNSAFE;
			goto out;
		}
	}
	if (d->has_verneed && (r = elf_verneed(f, d, &st, host->glibc, NULL, why)) < 0)
		goto out;
	for (size_t i = 0; i < d->nneeded; i++) {
		const char *lib = elf_str(f, &st, d->needed[i]);
		if (!lib || !*lib) {
			r = elf_bad(why, "a needed library's name");
			goto out;
		}
		if (!libs)
			continue;
		if (strchr(lib, '/') || !remote_libsearch_find(libs, path, runpath, lib)) {
			sbuf_addf(why,
				  "it needs the shared library %s, which this host does not have",
				  lib);
			r = -SC_EUNSAFE;
			goto out;
		}
	}
	if (libs && d->has_verneed) {
		struct elf_vcheck vc = { libs, path, runpath };
		r = elf_verneed(f, d, &st, host->glibc, &vc, why);
	}
out:
	free(d);
	free(f);
	return r;
}

int remote_elf_verdefs(const unsigned char *p, size_t n, char ***ret, size_t *ret_n)
{
	struct remote_elf_host host;
	struct elf_file *f = NULL;
	struct elf_dyn *d = NULL;
	struct sbuf why = SBUF_INIT;
	uint64_t phoff, dyn_addr = 0;
	unsigned phnum, phentsize;
	uint16_t type, machine;
	bool dyn = false;
	int r = 0;

	*ret = NULL, *ret_n = 0;
	remote_elf_host_get(&host);
	if (n < EI_NIDENT || memcmp(p, ELFMAG, SELFMAG) || p[EI_CLASS] != host.elf_class ||
	    p[EI_DATA] != host.elf_data)
		return 0;
	if (p[EI_CLASS] == ELFCLASS64) {
		Elf64_Ehdr h;
		if (n < sizeof(h))
			return 0;
		memcpy(&h, p, sizeof(h));
		type = h.e_type, machine = h.e_machine, phoff = h.e_phoff;
		phnum = h.e_phnum, phentsize = h.e_phentsize;
	} else {
		Elf32_Ehdr h;
		if (n < sizeof(h))
			return 0;
		memcpy(&h, p, sizeof(h));
		type = h.e_type, machine = h.e_machine, phoff = h.e_phoff;
		phnum = h.e_phnum, phentsize = h.e_phentsize;
	}
	if (machine != host.machine || (type != ET_DYN && type != ET_EXEC) || !phnum)
		return 0;
	f = calloc(1, sizeof(*f));
	d = calloc(1, sizeof(*d));
	if (!f || !d) {
		r = -ENOMEM;
		goto out;
	}
	f->p = p, f->n = n, f->is64 = p[EI_CLASS] == ELFCLASS64;
	struct elf_strtab st;
	if (elf_phdrs(f, phoff, phnum, phentsize, &dyn, &dyn_addr, &why) < 0 || !dyn ||
	    elf_dynamic(f, dyn_addr, d, &why) < 0 || !d->has_verdef || !d->has_strtab ||
	    !elf_map(f, d->strtab, 1, &st.off, &st.len))
		goto out;
	if (d->has_strsz && d->strsz < st.len)
		st.len = d->strsz;
	uint64_t addr = d->verdef;
	for (size_t k = 0;; k++) {
		uint64_t off, aoff;
		if (k == REMOTE_ELF_VERDEF_MAX ||
		    !elf_map(f, addr, sizeof(Elf64_Verdef), &off, NULL))
			goto bad;
		Elf64_Verdef vd; /* the same layout in both classes */
		memcpy(&vd, p + off, sizeof(vd));
		if (vd.vd_version != 1)
			goto bad;
		if (vd.vd_cnt) { /* the first auxiliary names the version, the others its parents */
			if (!elf_map(f, addr + vd.vd_aux, sizeof(Elf64_Verdaux), &aoff, NULL))
				goto bad;
			Elf64_Verdaux va;
			memcpy(&va, p + aoff, sizeof(va));
			const char *name = elf_str(f, &st, va.vda_name);
			if (!name)
				goto bad;
			char **v = realloc(*ret, (*ret_n + 1) * sizeof(*v));
			if (!v || !(v[*ret_n] = strdup(name))) {
				if (v)
					*ret = v;
				r = -ENOMEM;
				goto bad;
			}
			*ret = v;
			++*ret_n;
		}
		if (!vd.vd_next)
			break;
		addr += vd.vd_next;
	}
	r = 1;
	goto out;
bad:
	for (size_t i = 0; i < *ret_n; i++)
		free((*ret)[i]);
	free(*ret);
	*ret = NULL, *ret_n = 0;
out:
	sbuf_release(&why);
	free(d);
	free(f);
	return r;
}

/* ---- the library search ---- */

/* The Debian/Ubuntu multiarch triplet of this host, or NULL. */
static const char *elf_triplet(void)
{
#if defined(__x86_64__) && defined(__ILP32__)
	return "x86_64-linux-gnux32";
#elif defined(__x86_64__)
	return "x86_64-linux-gnu";
#elif defined(__i386__)
	return "i386-linux-gnu";
#elif defined(__aarch64__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
	return "aarch64-linux-gnu";
#elif defined(__arm__) && defined(__ARM_PCS_VFP)
	return "arm-linux-gnueabihf";
#elif defined(__arm__)
	return "arm-linux-gnueabi";
#elif defined(__powerpc64__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
	return "powerpc64le-linux-gnu";
#elif defined(__s390x__)
	return "s390x-linux-gnu";
#elif defined(__riscv) && __riscv_xlen == 64
	return "riscv64-linux-gnu";
#else
	return NULL;
#endif
}

/*
 * Appends an absolute directory (trailing '/' dropped), once; up to
 * REMOTE_LDCONF_DIRS of them unless it is a default (always kept).
 */
static int ls_add_dir(struct remote_libsearch *ls, const char *dir, size_t len, bool dflt)
{
	while (len > 1 && dir[len - 1] == '/')
		len--;
	if (!len || dir[0] != '/' || memchr(dir, '$', len) ||
	    (!dflt && ls->ndirs >= REMOTE_LDCONF_DIRS))
		return 0;
	for (size_t i = 0; i < ls->ndirs; i++)
		if (strlen(ls->dirs[i]) == len && !memcmp(ls->dirs[i], dir, len))
			return 0;
	char **v = realloc(ls->dirs, (ls->ndirs + 1) * sizeof(*v));
	if (!v)
		return -ENOMEM;
	ls->dirs = v;
	if (!(v[ls->ndirs] = strndup(dir, len)))
		return -ENOMEM;
	ls->ndirs++;
	return 0;
}

static int ls_add(struct remote_libsearch *ls, const char *dir, size_t len)
{
	return ls_add_dir(ls, dir, len, false);
}

struct ldconf {
	struct remote_libsearch *ls;
	unsigned nfiles;
};

/* Drops blanks (and a CR) around the n bytes at *s; returns the length left. */
static size_t ldconf_trim(const char **s, size_t n)
{
	const char *p = *s;

	while (n && (*p == ' ' || *p == '\t'))
		p++, n--;
	while (n && (p[n - 1] == ' ' || p[n - 1] == '\t' || p[n - 1] == '\r'))
		n--;
	*s = p;
	return n;
}

/* One ld.so.conf file (path without root), as ldconfig's parse_conf reads it. */
static int ldconf_file(struct ldconf *c, const char *path, unsigned depth)
{
	struct sbuf text = SBUF_INIT, full = SBUF_INIT;
	int r = 0;

	if (depth > REMOTE_LDCONF_DEPTH || c->nfiles >= REMOTE_LDCONF_FILES)
		return 0;
	c->nfiles++;
	sbuf_addf(&full, "%s%s", c->ls->root, path);
	if (fs_read_file(sbuf_cstr(&full), &text, 1 << 20) < 0)
		goto out; /* missing or unreadable: the loader does without it too */
	const char *s = sbuf_cstr(&text), *end = s + text.len;
	while (s < end && r == 0) {
		const char *nl = memchr(s, '\n', (size_t)(end - s));
		const char *le = nl ? nl : end;
		const char *h = memchr(s, '#', (size_t)(le - s));
		size_t len = ldconf_trim(&s, (size_t)((h ? h : le) - s));
		const char *e = s + len;
		if (len > 8 && !strncmp(s, "include", 7) && (s[7] == ' ' || s[7] == '\t')) {
			/* include PATTERN...: each a glob, relative to this file's directory */
			const char *q = s + 8;
			while (q < e && r == 0) {
				while (q < e && (*q == ' ' || *q == '\t'))
					q++;
				const char *qe = q;
				while (qe < e && *qe != ' ' && *qe != '\t')
					qe++;
				if (qe == q)
					break;
				struct sbuf pat = SBUF_INIT;
				sbuf_addstr(&pat, c->ls->root);
				if (*q != '/') {
					const char *slash = strrchr(path, '/');
					sbuf_add(&pat, path, (size_t)(slash - path) + 1);
				}
				sbuf_add(&pat, q, (size_t)(qe - q));
				glob_t gl;
				if (glob(sbuf_cstr(&pat), 0, NULL, &gl) == 0) {
					size_t rl = strlen(c->ls->root);
					for (size_t i = 0; i < gl.gl_pathc && r == 0; i++)
						if (!strncmp(gl.gl_pathv[i], c->ls->root, rl) &&
						    gl.gl_pathv[i][rl] == '/')
							r = ldconf_file(c, gl.gl_pathv[i] + rl,
									depth + 1);
					globfree(&gl);
				}
				sbuf_release(&pat);
				q = qe;
			}
		} else if (len &&
			   !(len > 6 && !strncmp(s, "hwcap", 5) && (s[5] == ' ' || s[5] == '\t'))) {
			const char *eq = memchr(s, '=', len); /* "DIR=TYPE" (old) */
			r = ls_add(c->ls, s, (size_t)((eq ? eq : e) - s));
		}
		s = nl ? nl + 1 : end;
	}
out:
	sbuf_release(&full);
	sbuf_release(&text);
	return r;
}

int remote_libsearch_init(struct remote_libsearch *ls, const char *root,
			  const char *ld_library_path, const char *const *extra, size_t nextra)
{
	struct ldconf c = { ls, 0 };
	const char *t = elf_triplet();
	int r = 0;

	*ls = (struct remote_libsearch){ 0 };
	if (!(ls->root = strdup(root ? root : "")) || !(ls->libs = calloc(1, sizeof(*ls->libs)))) {
		free(ls->root);
		return -ENOMEM;
	}
	for (const char *q = ld_library_path; q && *q && r == 0;) {
		const char *e = strchrnul(q, ':');
		r = ls_add(ls, q, (size_t)(e - q)); /* relative (cwd-dependent) ones are skipped */
		q = *e ? e + 1 : e;
	}
	for (size_t i = 0; i < nextra && r == 0; i++)
		r = ls_add(ls, extra[i], strlen(extra[i]));
	if (r == 0)
		r = ldconf_file(&c, "/etc/ld.so.conf", 0);
	if (r == 0 && t) {
		char buf[256];
		snprintf(buf, sizeof(buf), "/lib/%s", t);
		r = ls_add_dir(ls, buf, strlen(buf), true);
		snprintf(buf, sizeof(buf), "/usr/lib/%s", t);
		if (r == 0)
			r = ls_add_dir(ls, buf, strlen(buf), true);
	}
	static const char *const std[] = { "/lib", "/usr/lib", "/lib64", "/usr/lib64" };
	for (size_t i = 0; i < (sizeof(void *) == 8 ? 4 : 2) && r == 0; i++)
		r = ls_add_dir(ls, std[i], strlen(std[i]), true);
	if (r < 0)
		remote_libsearch_release(ls);
	return r;
}

void remote_libsearch_release(struct remote_libsearch *ls)
{
	for (size_t i = 0; i < ls->ndirs; i++)
		free(ls->dirs[i]);
	free(ls->dirs);
	free(ls->root);
	ls_libs_free(ls->libs);
	*ls = (struct remote_libsearch){ 0 };
}

/* Whether <root><dir>/<soname> is a regular file; its path into ret (may be NULL) if so. */
static bool ls_host_has(const struct remote_libsearch *ls, const char *dir, size_t len,
			const char *soname, struct sbuf *ret)
{
	char p[4096];
	struct stat st;

	if (snprintf(p, sizeof(p), "%s%.*s/%s", ls->root ? ls->root : "", (int)len, dir, soname) >=
	    (int)sizeof(p))
		return false;
	if (stat(p, &st) < 0 || !S_ISREG(st.st_mode))
		return false;
	if (ret) {
		sbuf_reset(ret);
		sbuf_addstr(ret, p);
	}
	return true;
}

/* The library at path (root included), read and parsed on first use; NULL on no memory. */

/*
 * A host library's bytes, for its version definitions: a regular file of
 * at most REMOTE_ELF_LIB_MAX bytes, read for the size fstat gives and no
 * more. A run path may name any directory (/proc, /sys): a pseudo-file
 * reports size 0 and is not read (it could block or never end), and
 * O_NONBLOCK keeps a FIFO swapped in after the stat from blocking the open.
 */
static int ls_read_lib(const char *path, struct sbuf *out)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
	struct stat st;
	int r = 0;

	if (fd < 0)
		return -errno;
	if (fstat(fd, &st) < 0) {
		r = -errno;
	} else if (!S_ISREG(st.st_mode) || st.st_size <= 0 ||
		   (uint64_t)st.st_size > REMOTE_ELF_LIB_MAX) {
		r = -EINVAL;
	} else if (sbuf_grow(out, (size_t)st.st_size) < 0) {
		r = -ENOMEM;
	} else {
		while (out->len < (size_t)st.st_size) {
			ssize_t k = pread(fd, out->buf + out->len, (size_t)st.st_size - out->len,
					  (off_t)out->len);
			if (k < 0 && errno == EINTR)
				continue;
			if (k <= 0) {
				r = k < 0 ? -errno : -EIO;
				break;
			}
			out->len += (size_t)k;
		}
		out->buf[out->len] = '\0';
	}
	(void)close(fd);
	return r;
}
static const struct ls_lib *ls_lib_get(const struct remote_libsearch *ls, const char *path)
{
	struct ls_libs *c = ls->libs;
	struct sbuf buf = SBUF_INIT;

	if (!c)
		return NULL;
	for (size_t i = 0; i < c->n; i++)
		if (!strcmp(c->v[i].path, path))
			return &c->v[i];
	struct ls_lib *v = realloc(c->v, (c->n + 1) * sizeof(*v));
	if (!v)
		return NULL;
	c->v = v;
	struct ls_lib *lib = &v[c->n];
	*lib = (struct ls_lib){ .path = strdup(path) };
	if (!lib->path)
		return NULL;
	/* unreadable, empty or larger than the cap: nothing to check against */
	if (ls_read_lib(path, &buf) == 0) {
		int r = remote_elf_verdefs((const unsigned char *)(buf.buf ? buf.buf : ""), buf.len,
					   &lib->names, &lib->nnames);
		if (r < 0) {
			sbuf_release(&buf);
			free(lib->path);
			return NULL;
		}
		lib->checked = r == 1;
	}
	sbuf_release(&buf);
	c->n++;
	return lib;
}

static bool ls_lib_defines(const struct ls_lib *lib, const char *version)
{
	if (!lib->checked)
		return true;
	for (size_t i = 0; i < lib->nnames; i++)
		if (!strcmp(lib->names[i], version))
			return true;
	return false;
}

/* Drops ".", "" and resolves ".." components of an absolute path in place (never above "/"). */
static void ls_normalize(struct sbuf *sb)
{
	char *out = sb->buf, *s = sb->buf;
	size_t o = 0;

	while (*s) {
		while (*s == '/')
			s++;
		char *e = strchrnul(s, '/');
		size_t len = (size_t)(e - s);
		if (len == 0 || (len == 1 && s[0] == '.')) {
			/* nothing */
		} else if (len == 2 && s[0] == '.' && s[1] == '.') {
			while (o > 0 && out[o - 1] != '/')
				o--;
			if (o > 0)
				o--;
		} else {
			out[o++] = '/';
			memmove(out + o, s, len);
			o += len;
		}
		s = e;
	}
	if (o == 0)
		out[o++] = '/';
	sbuf_setlen(sb, o);
}

static int ls_entry_cmp(const void *key, const void *row)
{
	return strcmp(key, ((const struct mf_entry *)row)->path);
}

/* One run path directory (already expanded, absolute, normalized). */
static bool ls_runpath_dir(const struct remote_libsearch *ls, const char *dir, const char *soname,
			   bool *ret_entry, struct sbuf *ret)
{
	size_t el = ls->entry_dir ? strlen(ls->entry_dir) : 0;

	if (el && ls->m && !strncmp(dir, ls->entry_dir, el) && (dir[el] == '/' || !dir[el])) {
		/* <rel>/<soname> among the manifest's rows, sorted by path: one binary search */
		const char *rel = dir[el] ? dir + el + 1 : "";
		struct sbuf key = SBUF_INIT;
		if (*rel)
			sbuf_addf(&key, "%s/", rel);
		sbuf_addstr(&key, soname);
		const struct mf_entry *e =
			ls->m->nentries ? bsearch(sbuf_cstr(&key), ls->m->entries, ls->m->nentries,
						  sizeof(*ls->m->entries), ls_entry_cmp)
					: NULL;
		sbuf_release(&key);
		*ret_entry = true;
		return e && e->type != MF_DIR;
	}
	return ls_host_has(ls, dir, strlen(dir), soname, ret);
}

bool remote_libsearch_find(const struct remote_libsearch *ls, const char *path, const char *runpath,
			   const char *soname)
{
	return ls_locate(ls, path, runpath, soname, NULL) != 0;
}

/* 0: not found; 1: on the host, its path (root included) in ret (may be NULL); 2: in the entry. */
static int ls_locate(const struct remote_libsearch *ls, const char *path, const char *runpath,
		     const char *soname, struct sbuf *ret)
{
	char *seen[REMOTE_ELF_RUNPATH_MAX];
	size_t nseen = 0;
	bool found = false, entry = false;

	for (const char *q = runpath; q && *q && !found;) {
		const char *e = strchrnul(q, ':');
		struct sbuf dir = SBUF_INIT;
		bool ok = true;
		for (const char *s = q; s < e && ok;) {
			if (*s != '$') {
				sbuf_addch(&dir, *s++);
				continue;
			}
			size_t tl = 0;
			if ((size_t)(e - s) >= 7 && !strncmp(s, "$ORIGIN", 7))
				tl = 7;
			else if ((size_t)(e - s) >= 9 && !strncmp(s, "${ORIGIN}", 9))
				tl = 9;
			if (!tl || !ls->entry_dir || !path) {
				ok = false; /* $LIB, $PLATFORM, anything else: not followed */
				break;
			}
			const char *slash = strrchr(path, '/');
			sbuf_addf(&dir, "%s/%.*s", ls->entry_dir, slash ? (int)(slash - path) : 0,
				  path);
			s += tl;
		}
		if (ok && dir.len && dir.buf[0] == '/') {
			ls_normalize(&dir);
			/* each directory once (a run path repeating one costs nothing more) */
			bool dup = false;
			for (size_t i = 0; i < nseen && !dup; i++)
				dup = !strcmp(seen[i], sbuf_cstr(&dir));
			if (!dup) {
				entry = false;
				found = ls_runpath_dir(ls, sbuf_cstr(&dir), soname, &entry, ret);
				if (nseen < REMOTE_ELF_RUNPATH_MAX)
					seen[nseen++] = sbuf_detach(&dir, NULL);
			}
		}
		sbuf_release(&dir);
		q = *e ? e + 1 : e;
	}
	for (size_t i = 0; i < nseen; i++)
		free(seen[i]);
	if (found)
		return entry ? 2 : 1;
	for (size_t i = 0; i < ls->ndirs; i++)
		if (ls_host_has(ls, ls->dirs[i], strlen(ls->dirs[i]), soname, ret))
			return 1;
	return 0;
}
