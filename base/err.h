/*
 * err.h: scint's error codes.
 *
 * Fallible functions return int: >= 0 is success, < 0 is -errno or -SC_E*.
 * The domain codes start at 1024 so they never collide with errno values
 * (apk-tools' trick). sc_strerror() takes either sign and covers both ranges.
 */
#pragma once

enum sc_err {
	SC_EBASE = 1024,
	SC_ECHECKSUM,    /* digest does not match the expected one */
	SC_EHTTP,        /* HTTP status error (4xx/5xx) */
	SC_ENET,         /* transport error: connect, reset, timeout */
	SC_EGEMFORMAT,   /* malformed .gem package */
	SC_EUNSAFE,      /* archive entry escapes its directory, or is a device/fifo */
	SC_EBUILD,       /* native extension build failed */
	SC_ELOCKFILE,    /* malformed Gemfile.lock */
	SC_ECONFIG,      /* malformed configuration */
	SC_ETRUNCATED,   /* download or archive ended early */
	SC_ERUBY,        /* the Ruby helper failed or answered nonsense */
	SC_EUNSUPPORTED, /* a feature scint does not support yet */
	SC_EDEPFAILED,   /* a job this one depends on failed */
	SC_ECANCELED,    /* aborted by fail-fast */
	SC_ETOOBIG,      /* a configured limit was exceeded */
	SC_ENOTFOUND,    /* gem, version or platform not available */
	SC_ECACHE,       /* cache entry is corrupt or of another format */
	SC_EEXEC,        /* child process could not be started */
	SC_ECONFLICT,    /* dependency resolution found no solution */
	SC_E__END,
};

/* Returns a static description of err (either sign); never NULL. */
const char *sc_strerror(int err);
