/*
 * remote_elf.h: can this host load the ELF files of a pulled artifact?
 * (see remote_elf.c; used by remote.c before anything reaches cached/).
 *
 * The check reads what the dynamic loader reads (program headers,
 * PT_DYNAMIC, the dynamic string table, the version needs), never section
 * headers, which a file can drop or fill with anything. Every offset, size
 * and count is bounded by the file and by hard caps.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/sbuf.h"
#include "bundle/manifest.h"

/* What a loadable object must match on this host. */
struct remote_elf_host {
	unsigned char elf_class; /* ELFCLASS64 or ELFCLASS32 */
	unsigned char elf_data;	 /* ELFDATA2LSB or ELFDATA2MSB */
	uint16_t machine;	 /* EM_X86_64, EM_AARCH64, ... */
	const char *glibc;	 /* "2.36" */
};

/* This host: the class, byte order and machine scint runs as, gnu_get_libc_version(). */
void remote_elf_host_get(struct remote_elf_host *ret);

/*
 * Where the loader would find a DT_NEEDED library, without running anything:
 *   1. DT_RUNPATH of the object, or DT_RPATH when it has no DT_RUNPATH,
 *      "$ORIGIN"/"${ORIGIN}" expanded against the file's final place
 *      (entry_dir/<its path>); a directory inside entry_dir is looked up in
 *      the entry's manifest (its files are not on disk yet; one binary
 *      search, so m's rows must be sorted by path as manifest_parse()
 *      leaves them), one outside on the host; a directory with another "$"
 *      token is skipped, one repeated is looked at once;
 *   2. dirs: LD_LIBRARY_PATH (absolute components), the extra directories
 *      given (the interpreter's lib/, where libruby is already loaded from),
 *      the directories of /etc/ld.so.conf and its "include" globs (relative
 *      patterns against the including file's directory; at most
 *      REMOTE_LDCONF_DEPTH levels, REMOTE_LDCONF_FILES files,
 *      REMOTE_LDCONF_DIRS directories), then the loader's defaults: the
 *      multiarch triplet's /lib/<triplet> and /usr/lib/<triplet>, /lib,
 *      /usr/lib, and /lib64, /usr/lib64 on 64-bit hosts.
 * A library on the host is found when stat() of <root><dir>/<soname> is a
 * regular file. root is "" on the host (a test's directory in unit tests).
 */
#define REMOTE_LDCONF_DEPTH 8
#define REMOTE_LDCONF_FILES 256
#define REMOTE_LDCONF_DIRS  512

struct remote_libsearch {
	char *root;
	char **dirs; /* host directories in search order, without root */
	size_t ndirs;
	const char *entry_dir;	  /* the entry's final absolute directory, or NULL */
	const struct manifest *m; /* the entry's rows, or NULL */
	/* private: the version definitions of host libraries read so far */
	struct ls_libs *libs;
};

/*
 * Reads <root>/etc/ld.so.conf (a missing file is no error) and fills dirs
 * as described above. ld_library_path may be NULL; extra has nextra
 * absolute directories. 0 or -ENOMEM.
 */
int remote_libsearch_init(struct remote_libsearch *ls, const char *root,
			  const char *ld_library_path, const char *const *extra, size_t nextra);
void remote_libsearch_release(struct remote_libsearch *ls);

/*
 * Would the loader find soname for the file at path (relative to the entry)
 * whose run path (DT_RUNPATH, else DT_RPATH; NULL if none) is runpath?
 */
bool remote_libsearch_find(const struct remote_libsearch *ls, const char *path, const char *runpath,
			   const char *soname);

/*
 * The check of one file's bytes p[0..n). Non-ELF bytes pass. An ELF file
 * of another class, byte order or machine than host is refused (the host
 * cannot load it). A shared object or executable is refused when it is
 * malformed where the loader reads it, needs a GLIBC_x.y symbol version
 * newer than host->glibc, has a run path of more than
 * REMOTE_ELF_RUNPATH_MAX elements, or (libs not NULL) a DT_NEEDED library
 * remote_libsearch_find() does not find for path, or a (non-weak) version
 * of a DT_VERNEED file that the library found for it on the host does not
 * define in its DT_VERDEF (a library inside the entry, or one without
 * version definitions or unreadable, is not checked). Relocatable objects
 * (.o) of the host's class and machine pass. 0, or -SC_EUNSAFE with the
 * reason in why.
 */
int remote_elf_check(const unsigned char *p, size_t n, const struct remote_elf_host *host,
		     const struct remote_libsearch *libs, const char *path, struct sbuf *why);

/*
 * The names the version definitions (DT_VERDEF) of a shared object p[0..n)
 * give (a host library's: read the same bounded way as remote_elf_check()
 * reads a file). 1 with the names in *ret (each and the array malloc'ed),
 * 0 when there is nothing to check against (not an ELF file of this host's
 * kind, malformed, no DT_VERDEF), -ENOMEM.
 */
int remote_elf_verdefs(const unsigned char *p, size_t n, char ***ret, size_t *ret_n);

/* Caps on what one file may make the check walk. */
#define REMOTE_ELF_PHDRS_MAX   1024
#define REMOTE_ELF_LOADS_MAX   64
#define REMOTE_ELF_DYN_MAX     4096
#define REMOTE_ELF_NEEDED_MAX  256
#define REMOTE_ELF_VERNEED_MAX 1024
#define REMOTE_ELF_VERNAUX_MAX 16384
/* A run path of more elements is refused (each needed library walks them all). */
#define REMOTE_ELF_RUNPATH_MAX 64
/* Version definitions walked in one host library; the largest library read. */
#define REMOTE_ELF_VERDEF_MAX 4096
#define REMOTE_ELF_LIB_MAX    ((size_t)64 << 20)
