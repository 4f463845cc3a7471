#include "base/dl.h"

#include <dlfcn.h>

#include "base/err.h"
#include "base/sbuf.h"

int dl_load(void **handle, const char *soname, const struct dl_sym *syms, size_t n,
	    struct sbuf *err)
{
	if (*handle)
		return 0;
	void *h = dlopen(soname, RTLD_NOW | RTLD_LOCAL);
	if (!h) {
		if (err)
			sbuf_addf(err, "cannot load %s: %s", soname, dlerror());
		return -SC_ENOTFOUND;
	}
	for (size_t i = 0; i < n; i++) {
		*syms[i].slot = dlsym(h, syms[i].name);
		if (!*syms[i].slot) {
			if (err)
				sbuf_addf(err, "cannot load %s: no symbol %s", soname, syms[i].name);
			dlclose(h);
			return -SC_ENOTFOUND;
		}
	}
	*handle = h;
	return 0;
}
