#include "err.h"

#include <string.h>

static const char *const sc_err_text[] = {
	[SC_ECHECKSUM - SC_EBASE] = "checksum mismatch",
	[SC_EHTTP - SC_EBASE] = "HTTP error",
	[SC_ENET - SC_EBASE] = "network error",
	[SC_EGEMFORMAT - SC_EBASE] = "malformed gem package",
	[SC_EUNSAFE - SC_EBASE] = "unsafe archive entry",
	[SC_EBUILD - SC_EBASE] = "extension build failed",
	[SC_ELOCKFILE - SC_EBASE] = "malformed Gemfile.lock",
	[SC_ECONFIG - SC_EBASE] = "malformed configuration",
	[SC_ETRUNCATED - SC_EBASE] = "truncated data",
	[SC_ERUBY - SC_EBASE] = "ruby helper failed",
	[SC_EUNSUPPORTED - SC_EBASE] = "not supported",
	[SC_EDEPFAILED - SC_EBASE] = "a dependency failed",
	[SC_ECANCELED - SC_EBASE] = "canceled",
	[SC_ETOOBIG - SC_EBASE] = "limit exceeded",
	[SC_ENOTFOUND - SC_EBASE] = "not found",
	[SC_ECACHE - SC_EBASE] = "corrupt cache entry",
	[SC_EEXEC - SC_EBASE] = "cannot start program",
	[SC_ECONFLICT - SC_EBASE] = "no versions satisfy every requirement",
};

const char *sc_strerror(int err)
{
	if (err < 0)
		err = -err;
	if (err > SC_EBASE && err < SC_E__END && sc_err_text[err - SC_EBASE])
		return sc_err_text[err - SC_EBASE];
	if (err == 0)
		return "success";
	return strerror(err);
}
