/*
 * remote.h: the shared remote artifact cache (see remote.c).
 *
 * A promoted cache entry with compiled extensions is pushed to a remote
 * (plain HTTP: GET/PUT, e.g. WebDAV; or S3 with SigV4) after a local build, and pulled by
 * other machines in place of assemble + compile. Configured by
 * SCINT_REMOTE_CACHE (or the same key in .bundle/config / ~/.bundle/config)
 * and --remote-cache read|write|off. Nothing from the remote reaches
 * cached/ before its signature, its manifest, every file digest and the ELF
 * check (glibc symbol versions, needed libraries) passed; a failing remote
 * never fails an install.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "phases/phase.h"

enum remote_mode {
	REMOTE_MODE_DEFAULT, /* write when a remote is configured */
	REMOTE_MODE_OFF,
	REMOTE_MODE_READ,  /* pull only */
	REMOTE_MODE_WRITE, /* pull, and push what this run built */
};

/* Parses "read", "write" or "off"; -1 for anything else. */
int remote_mode_parse(const char *s);

/*
 * Reads the settings into in->remote (left NULL when no remote is
 * configured or the mode is off). A malformed setting is an error
 * (-SC_ECONFIG, message in err); a remote that cannot be used safely (no
 * signing key and no opt-out) is switched off with a warning.
 */
int remote_setup(struct install *in, struct sbuf *err);

/* Frees the keys remote_setup loaded (NULL-safe on in->remote). */
void remote_release(struct install *in);

/* The pull job of a gem (none without a remote in read mode): after index (may be NULL). */
struct job *remote_pull_job_new(struct install *in, struct gem *g, struct job *index);
/* The push job of a gem, after its promotion (none unless writing). */
struct job *remote_push_job_new(struct install *in, struct gem *g, struct job *promote);
/* Body bytes of artifact downloads still in flight (for the live display). */
uint64_t remote_bytes_receiving(const struct install *in);

/*
 * Unpacks the verified artifact the pull job left in g->remote_artifact into
 * assembling/<abi>/<entry>/ (entry lock held), checking it as described in
 * remote.c; sets g->manifest and g->gemspec. 0, or a negative error with
 * the reason in why (the tree is removed again; the caller builds locally).
 */
int remote_unpack(struct install *in, struct gem *g, struct sbuf *why);

/* No remote, or it failed this run (no more requests): what `cache list --remote` reports. */
bool remote_unusable(const struct install *in);

/* Records a warning about the remote (printed by the CLI after the run). */
void remote_warn(struct install *in, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* The ELF check of a pulled artifact's files: phases/remote_elf.h. */
