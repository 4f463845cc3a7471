/*
 * dl.h: loading a shared library on first use.
 *
 * libcurl and libarchive (with their dozens of dependencies) cost ~12 ms of
 * dynamic loading at every start; a no-op or warm install needs neither. So
 * they are dlopen'ed by the module that uses them, the first time it does,
 * and called through a table of function pointers filled here.
 */
#pragma once

#include <stddef.h>

struct sbuf;

struct dl_sym {
	const char *name;
	void **slot;
};

/*
 * dlopen(soname) unless *handle is set, then resolves every symbol into its
 * slot. Returns 0, or -SC_ENOTFOUND with the loader's message in err (which
 * may be NULL).
 */
int dl_load(void **handle, const char *soname, const struct dl_sym *syms, size_t n,
	    struct sbuf *err);
