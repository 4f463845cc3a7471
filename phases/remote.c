/*
 * remote.c: the shared remote artifact cache (design.md §9).
 *
 * A remote is http(s)://host/path, or s3://bucket/prefix: the same objects
 * under <endpoint>/<bucket>/<prefix> (path-style) or
 * https://<bucket>.<endpoint host>/<prefix> (virtual-hosted), each request
 * signed with AWS SigV4 by libcurl (remote_setup_s3).
 *
 * Objects, under <remote>/scint-1/:
 *   <key>-<16 hex of its SHA-256>.artifact  a tar (zstd where libarchive has it, else gzip) of one
 *                   promoted entry: "scint.manifest", "scint.gemspec", then
 *                   "tree/<path>" for every file row of the manifest
 *                   (directories and symlinks come from the manifest alone);
 *   <key>.index     written last, after the artifact: what the artifact is and
 *                   its signature:
 *                     scint-remote 1
 *                     key <64 hex>
 *                     full_name <full name>
 *                     abi <abi>
 *                     size <bytes of the artifact>
 *                     sha256 <64 hex of the artifact>
 *                     signature hmac-sha256 <64 hex>  (a shared secret)
 *                             or ed25519 <128 hex>      (a key pair)
 *                             or unsigned
 *                   the signature covers every byte before the "signature "
 *                   line. A reader sees an entry once its index
 *                   exists, so uploads are atomic from its view.
 * <key> is the SHA-256 of everything that decides the artifact's bytes: the
 * Ruby ABI (engine, version, extension API, platform), the gem's full name
 * and .gem SHA-256, the build arguments, the build environment (glibc
 * version; the compiler settings of the environment when set: CC, CFLAGS,
 * RUSTFLAGS, CPATH and the others of remote_key_env),
 * and the entry's absolute directory <cache root>/cached/<abi>/
 * <entry>, symlinks resolved (remote_entry_dir): a build writes it into
 * gem_make.out, the objects' debug information and sometimes the
 * extension's data, so an artifact is shared only between machines with
 * the same cache root (a fleet's shared layout); another root misses and
 * builds its own rather than getting files that name another machine's
 * directory. The shared
 * libraries an extension links are not known before a build: they are
 * checked when an artifact is pulled (ELF check below).
 * Only entries with compiled extensions are pushed: a pure-Ruby gem unpacks
 * from its .gem (fetched anyway, Bundler keeps it in the bundle's cache/)
 * faster than a second download.
 *
 * The pull job, per gem to fetch or assemble, runs beside the .gem's fetch
 * (after the index job when the checksum is learnt there):
 *
 *   RJ_START --GET index--> RJ_FIRST --GET artifact--> RJ_SECOND --> RJ_DONE
 *       \---- no remote / down / no checksum / miss / refused ------/
 *
 * RJ_FIRST   404: a miss (the push job uploads after the local build);
 *            another status or a transport error: the remote is down for
 *            the rest of the run (one warning); 200: the index must parse,
 *            name this key, gem and ABI, and carry a valid HMAC (unless
 *            SCINT_REMOTE_CACHE_UNSIGNED=1 accepts unsigned ones).
 * RJ_SECOND  the artifact's size and SHA-256 must be the index's (a
 *            truncated or altered download is refused). The verified bytes
 *            wait in g->remote_artifact for the assemble job.
 * The assemble job (entry lock held) calls remote_unpack(): the manifest
 * must parse and pass manifest_check() (the hostile-archive rules: no "..",
 * no absolute path, no control character, symlinks inside the entry, no row
 * beneath a symlink), name this gem, ABI and .gem digest, and stay within
 * SCINT_GEM_MAX_* limits; every tar entry must be the file of one file row,
 * once, with its size and SHA-256; every ELF file must pass
 * remote_elf_check() (remote_elf.c): the host's class, byte order and
 * machine, and, read through its program headers as the loader reads it,
 * no GLIBC_x.y symbol version newer than the host's and no DT_NEEDED
 * library the loader's search would not find (RUNPATH/RPATH with $ORIGIN
 * into the entry, LD_LIBRARY_PATH, the interpreter's lib/, ld.so.conf, the
 * default directories; made once a run, remote_libs()).
 * Files are created O_EXCL|O_NOFOLLOW beneath assembling/<abi>/<entry>/ in
 * directories made from the manifest's rows; symlinks last. Then promote
 * runs as for a local build. Any refusal removes the tree, records one
 * warning and the gem is built locally.
 *
 * `scint cache pull [GEMS]` (opts.remote_pull) runs the same pull job in a
 * graph of fetch, pull, assemble and promote only (plan.c); when no
 * checksum is known the pull job keys on the .gem's own SHA-256 (after its
 * fetch, or hashed from inbound/ when an earlier run left it there). Without a usable artifact, assemble drops a gem with
 * extensions (g->remote_unbuilt) instead of compiling it; nothing is pushed.
 * `scint cache list --remote` (opts.remote_list) runs the pull job alone,
 * and in RJ_FIRST remote_list_index() verifies the index object as above
 * and records on the gem what the CLI lists (remote_listed, remote_size,
 * remote_sig; remote_miss; remote_refused): the artifact is never asked for.
 *
 * The push job runs after a promotion this run built (not one it pulled),
 * and, for `scint cache push [GEMS]`, for every native entry of the bundle
 * already cached (no dependency):
 *   RJ_START --PUT artifact--> RJ_FIRST --PUT index--> RJ_SECOND --> RJ_DONE
 * A failed upload is one warning; the install goes on. Once the artifact's
 * PUT is under way the push job reports the "upload" event (install_event),
 * as assemble.c reports "remote" for an entry that came from the remote; the
 * live display reads in->stats and remote_bytes_receiving().
 *
 * Unpacking and packing run synchronously within one step (bounded by the
 * gem limits); the transfers are libcurl multi transfers on the reactor.
 * This file includes <archive.h> besides assemble.c: artifact tars are a
 * format of their own (written here too), checked against their manifest.
 */
#include "phases/remote.h"

#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/pem.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/digest.h"
#include "base/env.h"
#include "base/dl.h"
#include "base/err.h"
#include "base/hex.h"
#include "base/hmap.h"
#include "base/url.h"
#include "bundle/config.h"
#include "engine/http.h"
#include "fsops/fsops.h"
#include "phases/remote_elf.h"

#define REMOTE_INDEX_MAX 4096
#define REMOTE_META_MAX	 ((size_t)64 << 20)
#define REMOTE_KEY_MAX	 4096
#define REMOTE_KEY_MIN	 16

struct remote {
	const char *base;      /* without a trailing '/', credentials included: never printed */
	const char *redacted;  /* for messages */
	const char *userpwd;   /* SCINT_REMOTE_CACHE_CREDENTIALS, or NULL */
	const char *token;     /* SCINT_REMOTE_CACHE_TOKEN, or NULL */
	const char *sigv4;     /* S3: "aws:amz:<region>:s3" (userpwd is "key id:secret"), or NULL */
	const char *aws_token; /* S3: AWS_SESSION_TOKEN, or NULL */
	bool s3;
	unsigned char key[REMOTE_KEY_MAX];
	size_t keylen;
	EVP_PKEY *sign_key; /* Ed25519 private key (SCINT_REMOTE_CACHE_SIGNING_KEY_FILE), or NULL */
	EVP_PKEY *verify_key; /* Ed25519 public key (SCINT_REMOTE_CACHE_PUBLIC_KEY_FILE), or NULL */
	bool unsigned_ok;
	bool write;
	bool down; /* a transfer failed: no more requests this run */
	const char *glibc;
	struct remote_elf_host host;  /* the ELF check: what this host loads */
	struct remote_libsearch libs; /* where it finds needed libraries (made on first use) */
	bool libs_ready;
	const char *cache_root; /* resolved, for the key (remote_entry_dir) */
};

enum remote_state {
	RJ_START,
	RJ_FIRST,
	RJ_SECOND,
	RJ_DONE,
	RJ_STATE__COUNT,
};

static const char *const remote_state_name[RJ_STATE__COUNT] = { "START", "FIRST", "SECOND",
								"DONE" };

struct remote_job {
	struct job job;
	struct install *in;
	struct gem *gem;
	bool push;
	bool cached;  /* push: an entry already cached (scint cache push), not one promoted now */
	bool waiting; /* a transfer is in flight */
	enum remote_state state;
	struct http_req req;
	char key[DIGEST_SHA256_HEX];
	char *url;
	struct sbuf data;  /* push: the artifact */
	struct sbuf index; /* push: the index object */
	uint64_t size;	   /* pull: the artifact's size as the index says */
	char sha256[DIGEST_SHA256_HEX];
};

/* ---- libarchive, loaded on first use (as in assemble.c) ---- */

static struct {
	__typeof__(archive_entry_filetype) *entry_filetype;
	__typeof__(archive_entry_free) *entry_free;
	__typeof__(archive_entry_new) *entry_new;
	__typeof__(archive_entry_pathname) *entry_pathname;
	__typeof__(archive_entry_set_filetype) *entry_set_filetype;
	__typeof__(archive_entry_set_pathname) *entry_set_pathname;
	__typeof__(archive_entry_set_perm) *entry_set_perm;
	__typeof__(archive_entry_set_size) *entry_set_size;
	__typeof__(archive_entry_size) *entry_size;
	__typeof__(archive_entry_size_is_set) *entry_size_is_set;
	__typeof__(archive_error_string) *error_string;
	__typeof__(archive_read_data) *read_data;
	__typeof__(archive_read_free) *read_free;
	__typeof__(archive_read_new) *read_new;
	__typeof__(archive_read_next_header) *read_next_header;
	__typeof__(archive_read_open_memory) *read_open_memory;
	__typeof__(archive_read_support_filter_gzip) *read_support_filter_gzip;
	__typeof__(archive_read_support_filter_zstd) *read_support_filter_zstd;
	__typeof__(archive_read_support_format_tar) *read_support_format_tar;
	__typeof__(archive_write_add_filter_gzip) *write_add_filter_gzip;
	__typeof__(archive_write_add_filter_zstd) *write_add_filter_zstd;
	__typeof__(archive_write_close) *write_close;
	__typeof__(archive_write_data) *write_data;
	__typeof__(archive_write_free) *write_free;
	__typeof__(archive_write_header) *write_header;
	__typeof__(archive_write_new) *write_new;
	__typeof__(archive_write_open) *write_open;
	__typeof__(archive_write_set_format_pax_restricted) *write_set_format_pax_restricted;
	__typeof__(archive_write_set_bytes_in_last_block) *write_set_bytes_in_last_block;
} ra;

#define RA_SYM(fn)                              \
	{                                       \
		"archive_" #fn, (void **)&ra.fn \
	}

static const struct dl_sym ra_syms[] = {
	RA_SYM(entry_filetype),
	RA_SYM(entry_free),
	RA_SYM(entry_new),
	RA_SYM(entry_pathname),
	RA_SYM(entry_set_filetype),
	RA_SYM(entry_set_pathname),
	RA_SYM(entry_set_perm),
	RA_SYM(entry_set_size),
	RA_SYM(entry_size),
	RA_SYM(entry_size_is_set),
	RA_SYM(error_string),
	RA_SYM(read_data),
	RA_SYM(read_free),
	RA_SYM(read_new),
	RA_SYM(read_next_header),
	RA_SYM(read_open_memory),
	RA_SYM(read_support_filter_gzip),
	RA_SYM(read_support_filter_zstd),
	RA_SYM(read_support_format_tar),
	RA_SYM(write_add_filter_gzip),
	RA_SYM(write_add_filter_zstd),
	RA_SYM(write_close),
	RA_SYM(write_data),
	RA_SYM(write_free),
	RA_SYM(write_header),
	RA_SYM(write_new),
	RA_SYM(write_open),
	RA_SYM(write_set_format_pax_restricted),
	RA_SYM(write_set_bytes_in_last_block),
};

static void *ra_handle;

static int remote_load_archive(struct sbuf *why)
{
	return dl_load(&ra_handle, "libarchive.so.13", ra_syms, SC_ARRAY_SIZE(ra_syms), why);
}

/* ---- settings ---- */

int remote_mode_parse(const char *s)
{
	if (!strcmp(s, "off"))
		return REMOTE_MODE_OFF;
	if (!strcmp(s, "read"))
		return REMOTE_MODE_READ;
	if (!strcmp(s, "write"))
		return REMOTE_MODE_WRITE;
	return -1;
}

/* The environment wins over .bundle/config and ~/.bundle/config (as for BUNDLE_* keys). */
static const char *remote_setting(struct install *in, const char *key)
{
	const char *v = env_get(key); /* hidden from children by cli/main.c */

	if (!v && in->config)
		v = bconfig_get(in->config, key);
	return v && *v ? v : NULL;
}

void remote_warn(struct install *in, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	sbuf_vaddf(&in->remote_warnings, fmt, ap);
	va_end(ap);
	sbuf_addch(&in->remote_warnings, '\n');
}

static int remote_read_key(struct install *in, struct remote *rm, struct sbuf *err)
{
	const char *k = remote_setting(in, "SCINT_REMOTE_CACHE_HMAC_KEY");
	const char *file = remote_setting(in, "SCINT_REMOTE_CACHE_HMAC_KEY_FILE");
	struct sbuf text = SBUF_INIT;

	if (!k && file) {
		int r = fs_read_file(file, &text, REMOTE_KEY_MAX + 2);
		if (r < 0) {
			sbuf_addf(err, "cannot read SCINT_REMOTE_CACHE_HMAC_KEY_FILE %s: %s", file,
				  sc_strerror(r));
			sbuf_release(&text);
			return -SC_ECONFIG;
		}
		/* the file's bytes, less one final newline; a NUL would cut the key short */
		if (text.len && text.buf[text.len - 1] == '\n')
			sbuf_setlen(&text, text.len - 1);
		if (text.len && text.buf[text.len - 1] == '\r')
			sbuf_setlen(&text, text.len - 1);
		if (memchr(text.buf ? text.buf : "", '\0', text.len)) {
			sbuf_addf(err, "SCINT_REMOTE_CACHE_HMAC_KEY_FILE %s holds a NUL byte", file);
			sbuf_release(&text);
			return -SC_ECONFIG;
		}
		k = sbuf_cstr(&text);
	}
	int r = 0;
	if (k && (strlen(k) < REMOTE_KEY_MIN || strlen(k) > REMOTE_KEY_MAX)) {
		sbuf_addf(err, "the remote cache's HMAC key must have %d to %d bytes",
			  REMOTE_KEY_MIN, REMOTE_KEY_MAX);
		r = -SC_ECONFIG;
	} else if (k) {
		rm->keylen = strlen(k);
		memcpy(rm->key, k, rm->keylen);
	}
	sbuf_release(&text);
	return r;
}

/* An Ed25519 key from a PEM file: private (want_private) or public. */
static int remote_read_pem(const char *setting, const char *file, bool want_private, EVP_PKEY **ret,
			   struct sbuf *err)
{
	FILE *f = fopen(file, "re");
	EVP_PKEY *k = NULL;

	if (!f) {
		sbuf_addf(err, "cannot read %s %s: %s", setting, file, strerror(errno));
		return -SC_ECONFIG;
	}
	k = want_private ? PEM_read_PrivateKey(f, NULL, NULL, NULL)
			 : PEM_read_PUBKEY(f, NULL, NULL, NULL);
	(void)fclose(f);
	if (!k || EVP_PKEY_id(k) != EVP_PKEY_ED25519) {
		EVP_PKEY_free(k);
		sbuf_addf(err, "%s %s: not an Ed25519 %s key in PEM", setting, file,
			  want_private ? "private" : "public");
		return -SC_ECONFIG;
	}
	*ret = k;
	return 0;
}

static int remote_read_keypair(struct install *in, struct remote *rm, struct sbuf *err)
{
	const char *priv = remote_setting(in, "SCINT_REMOTE_CACHE_SIGNING_KEY_FILE");
	const char *pub = remote_setting(in, "SCINT_REMOTE_CACHE_PUBLIC_KEY_FILE");
	int r = 0;

	if (priv)
		r = remote_read_pem("SCINT_REMOTE_CACHE_SIGNING_KEY_FILE", priv, true,
				    &rm->sign_key, err);
	if (r == 0 && pub)
		r = remote_read_pem("SCINT_REMOTE_CACHE_PUBLIC_KEY_FILE", pub, false,
				    &rm->verify_key, err);
	if (r == 0 && rm->sign_key && !rm->verify_key) {
		/* The signer checks what it pulls with its own public half. */
		EVP_PKEY_up_ref(rm->sign_key);
		rm->verify_key = rm->sign_key;
	}
	return r;
}

void remote_release(struct install *in)
{
	if (!in->remote)
		return;
	EVP_PKEY_free(in->remote->sign_key);
	EVP_PKEY_free(in->remote->verify_key);
	in->remote->sign_key = in->remote->verify_key = NULL;
	if (in->remote->libs_ready)
		remote_libsearch_release(&in->remote->libs);
	in->remote->libs_ready = false;
}

/* Visible ASCII only: what goes into a request header. */
static bool remote_printable(const char *p)
{
	for (; *p; p++)
		if (*p <= ' ' || *p > '~')
			return false;
	return true;
}

static bool remote_s3_chars(const char *p, size_t n, const char *extra)
{
	for (size_t i = 0; i < n; i++) {
		char c = p[i];
		if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || (c && strchr(extra, c))))
			return false;
	}
	return true;
}

/*
 * s3://bucket[/prefix]: the base URL is <endpoint>/<bucket>/<prefix>
 * (path-style) or <scheme>://<bucket>.<endpoint host>/<prefix>
 * (virtual-hosted). The endpoint is SCINT_REMOTE_CACHE_S3_ENDPOINT, else
 * https://s3.<region>.amazonaws.com; path-style is the default with an
 * explicit endpoint (S3-compatible servers), virtual-hosted without one
 * (and for a bucket with a dot), unless SCINT_REMOTE_CACHE_S3_PATH_STYLE
 * says 1 or 0. Credentials come from AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY
 * and AWS_SESSION_TOKEN (hidden from children by cli/main.c); without
 * them requests are anonymous (a public bucket).
 */
static int remote_setup_s3(struct install *in, struct remote *rm, const char *url, struct sbuf *err)
{
	const char *b = url + 5, *slash = strchr(b, '/');
	size_t blen = slash ? (size_t)(slash - b) : strlen(b);
	const char *prefix = slash ? slash + 1 : "";
	size_t plen = strlen(prefix);
	const char *region = remote_setting(in, "SCINT_REMOTE_CACHE_S3_REGION");
	const char *endpoint = remote_setting(in, "SCINT_REMOTE_CACHE_S3_ENDPOINT");
	const char *ps = remote_setting(in, "SCINT_REMOTE_CACHE_S3_PATH_STYLE");
	const char *id = env_get("AWS_ACCESS_KEY_ID"), *secret = env_get("AWS_SECRET_ACCESS_KEY");
	const char *token = env_get("AWS_SESSION_TOKEN");

	if (!region)
		region = getenv("AWS_REGION");
	if (!region || !*region)
		region = getenv("AWS_DEFAULT_REGION");
	if (!region || !*region)
		region = "us-east-1";
	while (plen && prefix[plen - 1] == '/')
		plen--;
	/* S3's bucket rules; a prefix of plain segments (it is a URL path, unescaped) */
	if (blen < 3 || blen > 63 || !remote_s3_chars(b, blen, ".-") || b[0] == '.' ||
	    b[0] == '-' || b[blen - 1] == '.' || b[blen - 1] == '-') {
		sbuf_addf(err, "SCINT_REMOTE_CACHE s3://%.*s: not a valid bucket name",
			  (int)(blen > 80 ? 80 : blen), b);
		return -SC_ECONFIG;
	}
	if (plen > 512 || !remote_s3_chars(prefix, plen, "ABCDEFGHIJKLMNOPQRSTUVWXYZ._-/") ||
	    (plen && prefix[0] == '/') || strstr(prefix, "//") || strstr(prefix, "/./") ||
	    strstr(prefix, "/../") || !strncmp(prefix, "./", 2) || !strncmp(prefix, "../", 3) ||
	    (plen == 1 && prefix[0] == '.') || (plen == 2 && !strncmp(prefix, "..", 2))) {
		sbuf_addf(err,
			  "SCINT_REMOTE_CACHE s3://%.*s/...: the prefix must be segments of "
			  "letters, digits, '.', '_' and '-'",
			  (int)blen, b);
		return -SC_ECONFIG;
	}
	if (strlen(region) > 64 || !remote_s3_chars(region, strlen(region), "-")) {
		sbuf_addstr(err, "the S3 region must be letters, digits and '-' "
				 "(SCINT_REMOTE_CACHE_S3_REGION, AWS_REGION)");
		return -SC_ECONFIG;
	}
	if (ps && strcmp(ps, "0") && strcmp(ps, "1") && strcmp(ps, "true") && strcmp(ps, "false")) {
		sbuf_addf(err, "SCINT_REMOTE_CACHE_S3_PATH_STYLE must be 1 or 0, not '%s'", ps);
		return -SC_ECONFIG;
	}
	bool path_style = ps ? (!strcmp(ps, "1") || !strcmp(ps, "true")) : endpoint != NULL;
	if (memchr(b, '.', blen))
		path_style = true; /* a dotted bucket does not match the endpoint's certificate */
	const char *ep = endpoint ? endpoint
				  : arena_printf(&in->arena, "https://s3.%s.amazonaws.com", region);
	size_t elen = strlen(ep);
	while (elen && ep[elen - 1] == '/')
		elen--;
	size_t skip = !strncmp(ep, "http://", 7) ? 7 : !strncmp(ep, "https://", 8) ? 8 : 0;
	if (!skip || elen <= skip || strpbrk(ep, "@?# \t\r\n")) {
		sbuf_addstr(err, "SCINT_REMOTE_CACHE_S3_ENDPOINT must be an http:// or https:// "
				 "URL without credentials");
		return -SC_ECONFIG;
	}
	if (path_style)
		rm->base = arena_printf(&in->arena, "%.*s/%.*s%s%.*s", (int)elen, ep, (int)blen, b,
					plen ? "/" : "", (int)plen, prefix);
	else
		rm->base = arena_printf(&in->arena, "%.*s%.*s.%.*s%s%.*s", (int)skip, ep, (int)blen,
					b, (int)(elen - skip), ep + skip, plen ? "/" : "",
					(int)plen, prefix);
	rm->redacted = arena_printf(&in->arena, "s3://%.*s%s%.*s", (int)blen, b, plen ? "/" : "",
				    (int)plen, prefix);
	rm->s3 = true;
	rm->sigv4 = arena_printf(&in->arena, "aws:amz:%s:s3", region);
	if (id && *id && secret && *secret) {
		if (strchr(id, ':') || !remote_printable(id) || !remote_printable(secret) ||
		    (token && !remote_printable(token))) {
			/* never the values: they are secrets */
			sbuf_addstr(err, "AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY or "
					 "AWS_SESSION_TOKEN holds a character that cannot be sent");
			return -SC_ECONFIG;
		}
		rm->userpwd = arena_printf(&in->arena, "%s:%s", id, secret);
		rm->aws_token = token && *token ? token : NULL;
	} else {
		rm->sigv4 = NULL; /* anonymous: a public bucket */
	}
	return 0;
}

int remote_setup(struct install *in, struct sbuf *err)
{
	const char *url = remote_setting(in, "SCINT_REMOTE_CACHE");
	const char *m = remote_setting(in, "SCINT_REMOTE_CACHE_MODE");
	int mode = in->opts.remote_mode;
	struct sbuf red = SBUF_INIT;

	sbuf_init(&in->remote_warnings, 0);
	if (in->opts.readonly || in->opts.local_only)
		return 0; /* check, list, exec...: nothing is built or fetched */
	if (mode == REMOTE_MODE_DEFAULT && m) {
		mode = remote_mode_parse(m);
		if (mode < 0) {
			sbuf_addf(err,
				  "SCINT_REMOTE_CACHE_MODE must be read, write or off, not '%s'",
				  m);
			return -SC_ECONFIG;
		}
	}
	if ((in->opts.remote_pull || in->opts.remote_list) && (!url || mode == REMOTE_MODE_OFF)) {
		sbuf_addf(err,
			  "scint cache %s needs a remote cache to read from (SCINT_REMOTE_CACHE, "
			  "not in off mode)",
			  in->opts.remote_pull ? "pull" : "list --remote");
		return -SC_ECONFIG;
	}
	if (in->opts.remote_push_cached &&
	    (!url || mode == REMOTE_MODE_OFF || mode == REMOTE_MODE_READ)) {
		sbuf_addstr(
			err,
			"scint cache push needs a remote cache to write to (SCINT_REMOTE_CACHE, "
			"not in read or off mode)");
		return -SC_ECONFIG;
	}
	if (!url || mode == REMOTE_MODE_OFF || in->opts.readonly || in->opts.local_only)
		return 0;
	struct remote *rm = arena_alloc(&in->arena, sizeof(*rm));
	if (!strncmp(url, "s3://", 5)) {
		int r = remote_setup_s3(in, rm, url, err);
		if (r < 0)
			return r;
	} else {
		url_redact(url, &red);
		if (strncmp(url, "http://", 7) && strncmp(url, "https://", 8)) {
			sbuf_addf(err,
				  "SCINT_REMOTE_CACHE %s: only s3://, http:// and https:// remotes "
				  "are supported",
				  red.buf);
			sbuf_release(&red);
			return -SC_ECONFIG;
		}
		size_t n = strlen(url);
		while (n && url[n - 1] == '/')
			n--;
		rm->base = arena_strv(&in->arena, strv_make(url, n));
		rm->redacted = arena_strdup(&in->arena, red.buf);
		sbuf_release(&red);
		rm->userpwd = remote_setting(in, "SCINT_REMOTE_CACHE_CREDENTIALS");
		rm->token = remote_setting(in, "SCINT_REMOTE_CACHE_TOKEN");
	}
	/*
	 * The opt-out is the user's, never the project's: the environment or
	 * ~/.bundle/config only (a repository's .bundle/config could ship it).
	 */
	const char *u = env_get("SCINT_REMOTE_CACHE_UNSIGNED");
	for (size_t i = 0; !u && in->config && i < in->config->global.n; i++)
		if (!strcmp(in->config->global.entries[i].key, "SCINT_REMOTE_CACHE_UNSIGNED"))
			u = in->config->global.entries[i].value;
	rm->unsigned_ok = u && (!strcmp(u, "1") || !strcmp(u, "true"));
	/* pull and list --remote only read, whatever the mode. */
	rm->write = mode != REMOTE_MODE_READ && !in->opts.remote_pull && !in->opts.remote_list;
	remote_elf_host_get(&rm->host);
	rm->glibc = rm->host.glibc;
	int r = remote_read_key(in, rm, err);
	if (r == 0)
		r = remote_read_keypair(in, rm, err);
	if (r < 0) {
		EVP_PKEY_free(rm->sign_key);
		EVP_PKEY_free(rm->verify_key);
		return r;
	}
	if (!rm->keylen && !rm->verify_key && !rm->unsigned_ok) {
		remote_warn(in,
			    "the remote cache %s is not used: no signing key "
			    "(SCINT_REMOTE_CACHE_HMAC_KEY or SCINT_REMOTE_CACHE_HMAC_KEY_FILE, "
			    "SCINT_REMOTE_CACHE_PUBLIC_KEY_FILE; "
			    "SCINT_REMOTE_CACHE_UNSIGNED=1 accepts unsigned artifacts)",
			    rm->redacted);
		return 0;
	}
	in->remote = rm;
	return 0;
}

/* The remote failed: one warning, no more requests this run. */
static void remote_down(struct install *in, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
static void remote_down(struct install *in, const char *fmt, ...)
{
	struct remote *rm = in->remote;
	struct sbuf msg = SBUF_INIT;
	va_list ap;

	if (rm->down)
		return;
	rm->down = true;
	va_start(ap, fmt);
	sbuf_vaddf(&msg, fmt, ap);
	va_end(ap);
	remote_warn(in, "the remote cache %s is not used for the rest of this run: %s",
		    rm->redacted, msg.buf);
	sbuf_release(&msg);
}

/* ---- keys and signatures ---- */

/*
 * The entry's final directory, <cache root>/cached/<abi>/<entry>: a build
 * writes it into gem_make.out, the objects' debug information and, for some
 * gems, the extension's data, so it is part of the key (a runner with
 * another cache root misses). Also $ORIGIN's base for the ELF check.
 */
static const char *remote_entry_dir(struct install *in, const struct gem *g)
{
	struct remote *rm = in->remote;

	if (!rm->cache_root) {
		/* As a build sees it (its getcwd()): symlinks resolved, no trailing '/'. */
		char buf[PATH_MAX];
		const char *real = realpath(in->opts.cache_root, buf);
		rm->cache_root = arena_strdup(&in->arena, real ? real : in->opts.cache_root);
	}
	return arena_printf(&in->arena, "%s/cached/%s/%s", rm->cache_root, in->abi.abi, g->entry);
}

/* The environment a native build reads its compiler and flags from. */
static const char *const remote_key_env[] = {
	"CC",
	"CXX",
	"CPP",
	"CFLAGS",
	"CXXFLAGS",
	"CPPFLAGS",
	"LDFLAGS",
	"LIBS",
	"ARCHFLAGS",
	"PKG_CONFIG_PATH",
	"CPATH",
	"C_INCLUDE_PATH",
	"CPLUS_INCLUDE_PATH",
	"LIBRARY_PATH",
	"RUSTFLAGS",
	"CARGO_ENCODED_RUSTFLAGS",
	"CARGO_BUILD_RUSTFLAGS",
};

static void remote_key(struct install *in, const struct gem *g, const char *gem_sha256,
		       char ret_hex[DIGEST_SHA256_HEX])
{
	const struct ruby_abi *a = &in->abi;
	struct sbuf k = SBUF_INIT;

	sbuf_addf(&k,
		  "scint-remote-key 1\nabi %s\nengine %s\nversion %s\next_api %s\nplatform %s\n"
		  "full_name %s\ngem_sha256 %s\nbuild_args %zu\n",
		  a->abi, a->engine, a->version, a->ext_api, a->platform, g->full_name, gem_sha256,
		  g->nbuild_args);
	for (size_t i = 0; i < g->nbuild_args; i++)
		sbuf_add(&k, g->build_args[i], strlen(g->build_args[i]) + 1);
	sbuf_addf(&k, "\nglibc %s\nentry_dir %s\n", in->remote->glibc, remote_entry_dir(in, g));
	/*
	 * The compiler settings a build takes from the environment (mkmf,
	 * configure and make read them): CFLAGS=-march=native on one runner
	 * must not give another an extension its CPU cannot run. Unset ones
	 * add nothing, so a fleet that sets none keys as before.
	 */
	for (size_t i = 0; i < SC_ARRAY_SIZE(remote_key_env); i++) {
		const char *v = getenv(remote_key_env[i]);
		char vhex[DIGEST_SHA256_HEX];
		if (!v || !*v) /* set empty builds as unset */
			continue;
		sha256_hex(v, strlen(v), vhex);
		sbuf_addf(&k, "env %s %s\n", remote_key_env[i], vhex);
	}
	sha256_hex(k.buf, k.len, ret_hex);
	sbuf_release(&k);
}

static void remote_hmac(const struct remote *rm, const char *p, size_t n,
			char ret_hex[DIGEST_SHA256_HEX])
{
	unsigned char mac[EVP_MAX_MD_SIZE];
	unsigned int len = 0;
	static const char hex[] = "0123456789abcdef";

	(void)HMAC(EVP_sha256(), rm->key, (int)rm->keylen, (const unsigned char *)p, n, mac, &len);
	for (unsigned i = 0; i < 32; i++) {
		ret_hex[2 * i] = hex[mac[i] >> 4];
		ret_hex[2 * i + 1] = hex[mac[i] & 15];
	}
	ret_hex[64] = '\0';
}

/* Next line of text at *pos, which must be "<key> <value>"; the value in *ret. */
static bool remote_index_line(struct strv text, size_t *pos, const char *key, struct strv *ret)
{
	size_t kl = strlen(key), p = *pos;
	const char *nl = memchr(text.p + p, '\n', text.len - p);

	if (!nl)
		return false;
	size_t len = (size_t)(nl - (text.p + p));
	if (len <= kl || memcmp(text.p + p, key, kl) || text.p[p + kl] != ' ')
		return false;
	*ret = strv_make(text.p + p + kl + 1, len - kl - 1);
	*pos = p + len + 1;
	return true;
}

static int remote_unhex(struct strv hex, unsigned char *out, size_t n)
{
	if (hex.len != 2 * n)
		return -1;
	for (size_t i = 0; i < 2 * n; i++) {
		char c = hex.p[i];
		int v = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
		if (v < 0)
			return -1;
		out[i / 2] = (unsigned char)(i % 2 ? (out[i / 2] << 4) | v : v);
	}
	return 0;
}

/* "hmac-sha256 <hex>", "ed25519 <hex>" or "unsigned", checked against the configured keys. */
static int remote_signature_verify(const struct remote *rm, struct strv sig, struct strv msg,
				   struct sbuf *why)
{
	static const char hm[] = "hmac-sha256 ", ed[] = "ed25519 ";

	if (strv_eq_cstr(sig, "unsigned")) {
		/* with a key configured, its signature is required: no downgrade */
		if (rm->unsigned_ok && !rm->keylen && !rm->verify_key)
			return 0;
		sbuf_addstr(why, rm->keylen || rm->verify_key
					 ? "the artifact is unsigned, and a key is configured"
					 : "the artifact is unsigned (SCINT_REMOTE_CACHE_UNSIGNED=1 accepts "
					   "unsigned artifacts)");
		return -SC_EUNSAFE;
	}
	if (sig.len > sizeof(hm) - 1 && !memcmp(sig.p, hm, sizeof(hm) - 1)) {
		struct strv mac = strv_make(sig.p + sizeof(hm) - 1, sig.len - (sizeof(hm) - 1));
		char want[DIGEST_SHA256_HEX];
		if (!rm->keylen) {
			sbuf_addstr(why, "it is signed with an HMAC key, and none is configured");
			return -SC_EUNSAFE;
		}
		remote_hmac(rm, msg.p, msg.len, want);
		if (mac.len == 64 && CRYPTO_memcmp(want, mac.p, 64) == 0)
			return 0;
		sbuf_addstr(why, "its signature does not verify with the configured key");
		return -SC_EUNSAFE;
	}
	if (sig.len > sizeof(ed) - 1 && !memcmp(sig.p, ed, sizeof(ed) - 1)) {
		unsigned char raw[64];
		if (!rm->verify_key) {
			sbuf_addstr(why, "it is signed with an Ed25519 key, and no public key is "
					 "configured (SCINT_REMOTE_CACHE_PUBLIC_KEY_FILE)");
			return -SC_EUNSAFE;
		}
		struct strv hex = strv_make(sig.p + sizeof(ed) - 1, sig.len - (sizeof(ed) - 1));
		EVP_MD_CTX *ctx = EVP_MD_CTX_new();
		int ok = ctx && remote_unhex(hex, raw, sizeof(raw)) == 0 &&
			 EVP_DigestVerifyInit(ctx, NULL, NULL, NULL, rm->verify_key) == 1 &&
			 EVP_DigestVerify(ctx, raw, sizeof(raw), (const unsigned char *)msg.p,
					  msg.len) == 1;
		EVP_MD_CTX_free(ctx);
		if (ok)
			return 0;
		sbuf_addstr(why, "its signature does not verify with the configured key");
		return -SC_EUNSAFE;
	}
	sbuf_addstr(why, "its index object has an unknown signature scheme");
	return -SC_EUNSAFE;
}

/* Checks a pulled index object; sets j->size and j->sha256. */
static int remote_index_verify(struct remote_job *j, struct strv text, struct sbuf *why)
{
	struct remote *rm = j->in->remote;
	struct strv key, full_name, abi, size, sha, mac;
	size_t pos = 0;
	static const char head[] = "scint-remote 1\n";

	if (text.len < sizeof(head) - 1 || memcmp(text.p, head, sizeof(head) - 1) ||
	    memchr(text.p, '\0', text.len)) {
		sbuf_addstr(why, "its index object is not a scint remote index");
		return -SC_EUNSAFE;
	}
	pos = sizeof(head) - 1;
	if (!remote_index_line(text, &pos, "key", &key) ||
	    !remote_index_line(text, &pos, "full_name", &full_name) ||
	    !remote_index_line(text, &pos, "abi", &abi) ||
	    !remote_index_line(text, &pos, "size", &size) ||
	    !remote_index_line(text, &pos, "sha256", &sha)) {
		sbuf_addstr(why, "its index object is malformed");
		return -SC_EUNSAFE;
	}
	size_t signed_len = pos;
	if (!remote_index_line(text, &pos, "signature", &mac) || pos != text.len) {
		sbuf_addstr(why, "its index object is malformed");
		return -SC_EUNSAFE;
	}
	if (!strv_eq_cstr(key, j->key) || !strv_eq_cstr(full_name, j->gem->full_name) ||
	    !strv_eq_cstr(abi, j->in->abi.abi) || !hex_is_sha256(sha.p, sha.len)) {
		sbuf_addstr(why, "its index object describes another artifact");
		return -SC_EUNSAFE;
	}
	int r = remote_signature_verify(rm, mac, strv_make(text.p, signed_len), why);
	if (r < 0)
		return r;
	char num[32];
	char *end;
	if (!size.len || size.len >= sizeof(num)) {
		sbuf_addstr(why, "its index object is malformed");
		return -SC_EUNSAFE;
	}
	memcpy(num, size.p, size.len);
	num[size.len] = '\0';
	errno = 0;
	unsigned long long sz = strtoull(num, &end, 10);
	uint64_t max_gem = 0, max_file = 0, max_entries = 0;
	const char *bad;
	(void)assemble_limits(&max_gem, &max_file, &max_entries, &bad);
	if (*end || errno || num[0] < '0' || num[0] > '9' || sz == 0 || sz > max_gem) {
		sbuf_addstr(why, "its artifact's size is out of bounds (SCINT_GEM_MAX_BYTES)");
		return -SC_EUNSAFE;
	}
	j->size = sz;
	memcpy(j->sha256, sha.p, 64);
	j->sha256[64] = '\0';
	return 0;
}

/* ---- packing (push) ---- */

static la_ssize_t remote_write_cb(struct archive *a, void *data, const void *buf, size_t n)
{
	(void)a;
	if (sbuf_add(data, buf, n) < 0)
		return -1;
	return (la_ssize_t)n;
}

static int remote_add(struct archive *a, const char *name, const void *p, size_t n)
{
	struct archive_entry *e = ra.entry_new();
	int r = 0;

	ra.entry_set_pathname(e, name);
	ra.entry_set_filetype(e, AE_IFREG);
	ra.entry_set_perm(e, 0644);
	ra.entry_set_size(e, (la_int64_t)n);
	if (ra.write_header(a, e) != ARCHIVE_OK || (n && ra.write_data(a, p, n) != (la_ssize_t)n))
		r = -EIO;
	ra.entry_free(e);
	return r;
}

static int remote_pack(struct install *in, struct gem *g, struct sbuf *out, struct sbuf *why)
{
	struct sbuf mf = SBUF_INIT, spec = SBUF_INIT, file = SBUF_INIT;
	uint64_t max_gem, max_file, max_entries;
	const char *bad;
	int r;

	(void)assemble_limits(&max_gem, &max_file, &max_entries, &bad);
	if ((r = remote_load_archive(why)) < 0)
		return r;
	r = fs_read_fileat(in->cached_fd, arena_printf(&in->arena, "%s.manifest", g->entry), &mf,
			   REMOTE_META_MAX);
	if (r == 0)
		r = fs_read_fileat(in->cached_fd, arena_printf(&in->arena, "%s.gemspec", g->entry),
				   &spec, REMOTE_META_MAX);
	if (r < 0) {
		sbuf_addf(why, "cannot read the cache entry: %s", sc_strerror(r));
		goto out;
	}
	struct archive *a = ra.write_new();
	(void)ra.write_set_format_pax_restricted(a);
	/* No zero padding after the compressed stream (a zstd reader takes it for a frame). */
	(void)ra.write_set_bytes_in_last_block(a, 1);
	if (ra.write_add_filter_zstd(a) != ARCHIVE_OK)
		(void)ra.write_add_filter_gzip(a);
	if (ra.write_open(a, out, NULL, remote_write_cb, NULL) != ARCHIVE_OK) {
		sbuf_addf(why, "cannot pack the artifact: %s", ra.error_string(a));
		ra.write_free(a);
		r = -EIO;
		goto out;
	}
	r = remote_add(a, "scint.manifest", mf.buf, mf.len);
	if (r == 0)
		r = remote_add(a, "scint.gemspec", spec.buf, spec.len);
	const struct manifest *m = g->manifest;
	for (size_t i = 0; r == 0 && i < m->nentries; i++) {
		const struct mf_entry *e = &m->entries[i];
		if (e->type != MF_FILE)
			continue;
		sbuf_reset(&file);
		r = fs_read_fileat(in->cached_fd,
				   arena_printf(&in->arena, "%s/%s", g->entry, e->path), &file,
				   (size_t)max_file);
		if (r < 0) {
			sbuf_addf(why, "cannot read %s of the cache entry: %s", e->path,
				  sc_strerror(r));
			break;
		}
		r = remote_add(a, arena_printf(&in->arena, "tree/%s", e->path), file.buf, file.len);
	}
	if (r == 0 && ra.write_close(a) != ARCHIVE_OK)
		r = -EIO;
	if (r == -EIO)
		sbuf_addf(why, "cannot pack the artifact: %s",
			  ra.error_string(a) ? ra.error_string(a) : "");
	ra.write_free(a);
out:
	sbuf_release(&mf);
	sbuf_release(&spec);
	sbuf_release(&file);
	return r;
}

/* ---- unpacking (pull) ---- */

static int remote_read_entry(struct archive *a, struct sbuf *out, uint64_t size, size_t max)
{
	char buf[65536];

	if (size > max)
		return -SC_ETOOBIG;
	sbuf_reset(out);
	for (;;) {
		la_ssize_t k = ra.read_data(a, buf, sizeof(buf));
		if (k < 0)
			return -EIO;
		if (k == 0)
			break;
		if (out->len + (size_t)k > size)
			return -SC_ETOOBIG;
		if (sbuf_add(out, buf, (size_t)k) < 0)
			return -ENOMEM;
	}
	return out->len == size ? 0 : -SC_ETRUNCATED;
}

static int remote_write_all(int fd, const char *p, size_t n)
{
	while (n) {
		ssize_t k = write(fd, p, n);
		if (k < 0 && errno == EINTR)
			continue;
		if (k < 0)
			return -errno;
		p += k;
		n -= (size_t)k;
	}
	return 0;
}

/* Creates the manifest's directories beneath efd (rows sorted: parents first). */
static int remote_make_dirs(int efd, const struct manifest *m, struct sbuf *why)
{
	if (mkdirat(efd, "gem", 0755) < 0 || (m->has_ext && mkdirat(efd, "ext", 0755) < 0)) {
		sbuf_addf(why, "cannot create the entry: %s", strerror(errno));
		return -errno;
	}
	for (size_t i = 0; i < m->nentries; i++) {
		const struct mf_entry *e = &m->entries[i];
		if (e->type != MF_DIR)
			continue;
		if (mkdirat(efd, e->path, 0700) < 0 &&
		    !(errno == EEXIST && (!strcmp(e->path, "gem") || !strcmp(e->path, "ext")))) {
			sbuf_addf(why, "cannot create %s: %s", e->path, strerror(errno));
			return -errno;
		}
	}
	return 0;
}

/* Modes of the manifest's directories, once their files are in (deepest first). */
static int remote_dir_modes(int efd, const struct manifest *m, struct sbuf *why)
{
	for (size_t i = m->nentries; i-- > 0;) {
		const struct mf_entry *e = &m->entries[i];
		if (e->type == MF_DIR &&
		    fchmodat(efd, e->path, (e->mode & 0755) | 0700, AT_SYMLINK_NOFOLLOW) < 0) {
			sbuf_addf(why, "cannot set the mode of %s: %s", e->path, strerror(errno));
			return -errno;
		}
	}
	return 0;
}

/*
 * The library search of the ELF check, made once a run: LD_LIBRARY_PATH, the
 * interpreter's lib/ (libruby is loaded from there before any extension),
 * ld.so.conf, the loader's defaults.
 */
static struct remote_libsearch *remote_libs(struct install *in, const char *entry_dir,
					    const struct manifest *m)
{
	struct remote *rm = in->remote;

	if (!rm->libs_ready) {
		const char *extra[1];
		size_t nextra = 0;
		const char *ruby = in->abi.ruby, *s1 = ruby ? strrchr(ruby, '/') : NULL;
		const char *s2 = s1 ? memrchr(ruby, '/', (size_t)(s1 - ruby)) : NULL;
		const char *llp = getenv("LD_LIBRARY_PATH");
		if (s2)
			extra[nextra++] = arena_printf(&in->arena, "%.*s/lib", (int)(s2 - ruby), ruby);
		if (remote_libsearch_init(&rm->libs, "", llp, extra, nextra) < 0)
			return NULL; /* out of memory: every needed library counts as missing */
		rm->libs_ready = true;
	}
	rm->libs.entry_dir = entry_dir;
	rm->libs.m = m;
	return &rm->libs;
}

static int remote_place_file(struct install *in, int efd, const char *entry_dir,
			     const struct manifest *m, const struct mf_entry *e,
			     const struct sbuf *data, struct sbuf *why)
{
	char hex[DIGEST_SHA256_HEX];
	static const struct remote_libsearch none;
	const struct remote_libsearch *libs = remote_libs(in, entry_dir, m);

	if (data->len != e->size) {
		sbuf_addf(why, "%s has %zu bytes, its manifest says %" PRIu64, e->path, data->len,
			  e->size);
		return -SC_EUNSAFE;
	}
	sha256_hex(data->buf ? data->buf : "", data->len, hex);
	if (strcmp(hex, e->sha256)) {
		sbuf_addf(why, "%s does not match its manifest digest", e->path);
		return -SC_EUNSAFE;
	}
	struct sbuf elf = SBUF_INIT;
	int r = remote_elf_check((const unsigned char *)(data->buf ? data->buf : ""), data->len,
				 &in->remote->host, libs ? libs : &none, e->path, &elf);
	if (r < 0) {
		sbuf_addf(why, "%s: %s", e->path, elf.buf);
		sbuf_release(&elf);
		return r;
	}
	sbuf_release(&elf);
	int fd = openat(efd, e->path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
			(e->mode & 0755) | 0400);
	if (fd < 0) {
		r = -errno;
		sbuf_addf(why, "cannot create %s: %s", e->path, sc_strerror(r));
		return r;
	}
	r = remote_write_all(fd, data->buf ? data->buf : "", data->len);
	if (r == 0 && fchmod(fd, (e->mode & 0755) | 0400) < 0)
		r = -errno;
	if (close(fd) < 0 && r == 0)
		r = -errno;
	if (r < 0)
		sbuf_addf(why, "cannot write %s: %s", e->path, sc_strerror(r));
	return r;
}

/* The artifact's tar, checked entry by entry against its manifest (see the top). */
static int remote_unpack_tar(struct install *in, struct gem *g, struct archive *a, int efd,
			     struct sbuf *why)
{
	struct archive_entry *ae;
	struct sbuf buf = SBUF_INIT;
	struct manifest *m = arena_alloc(&in->arena, sizeof(*m));
	struct hmap rows;
	uint64_t max_gem, max_file, max_entries, nseen = 0;
	const char *bad, *entry_dir = remote_entry_dir(in, g);
	int r;

	hmap_init(&rows);
	(void)assemble_limits(&max_gem, &max_file, &max_entries, &bad);
	/* 1. the manifest */
	if (ra.read_next_header(a, &ae) != ARCHIVE_OK ||
	    strcmp(ra.entry_pathname(ae) ? ra.entry_pathname(ae) : "", "scint.manifest") ||
	    ra.entry_filetype(ae) != AE_IFREG || !ra.entry_size_is_set(ae)) {
		sbuf_addstr(why, "the artifact does not begin with its manifest");
		r = -SC_EUNSAFE;
		goto out;
	}
	if ((r = remote_read_entry(a, &buf, (uint64_t)ra.entry_size(ae), REMOTE_META_MAX)) < 0) {
		sbuf_addf(why, "cannot read the artifact's manifest: %s", sc_strerror(r));
		goto out;
	}
	struct sbuf perr = SBUF_INIT;
	r = manifest_parse(&in->arena, sbuf_strv(&buf), m, &perr);
	if (r < 0) {
		sbuf_addf(why, "its manifest is refused: %s", perr.len ? perr.buf : sc_strerror(r));
		sbuf_release(&perr);
		r = -SC_EUNSAFE;
		goto out;
	}
	sbuf_release(&perr);
	if (strcmp(m->full_name, g->full_name) || !m->abi || strcmp(m->abi, in->abi.abi) ||
	    !m->gem_sha256 || (g->checksum && strcmp(m->gem_sha256, g->checksum))) {
		sbuf_addstr(why, "its manifest describes another gem, ABI or package");
		r = -SC_EUNSAFE;
		goto out;
	}
	if (m->total_bytes > max_gem || m->nentries > max_entries) {
		sbuf_addstr(why, "it is larger than SCINT_GEM_MAX_BYTES or SCINT_GEM_MAX_ENTRIES");
		r = -SC_ETOOBIG;
		goto out;
	}
	/* 2. the gemspec */
	if (ra.read_next_header(a, &ae) != ARCHIVE_OK ||
	    strcmp(ra.entry_pathname(ae) ? ra.entry_pathname(ae) : "", "scint.gemspec") ||
	    ra.entry_filetype(ae) != AE_IFREG || !ra.entry_size_is_set(ae) ||
	    (r = remote_read_entry(a, &buf, (uint64_t)ra.entry_size(ae), REMOTE_META_MAX)) < 0) {
		sbuf_addstr(why, "the artifact has no gemspec after its manifest");
		r = -SC_EUNSAFE;
		goto out;
	}
	if (memchr(buf.buf ? buf.buf : "", '\0', buf.len)) {
		sbuf_addstr(why, "its gemspec holds a NUL byte");
		r = -SC_EUNSAFE;
		goto out;
	}
	g->gemspec = strv_make(arena_strv(&in->arena, sbuf_strv(&buf)), buf.len);
	/* 3. the tree */
	if ((r = remote_make_dirs(efd, m, why)) < 0)
		goto out;
	for (size_t i = 0; i < m->nentries; i++)
		if (m->entries[i].type == MF_FILE)
			hmap_put(&rows, strv_from(m->entries[i].path), &m->entries[i]);
	for (;;) {
		int k = ra.read_next_header(a, &ae);
		if (k == ARCHIVE_EOF)
			break;
		if (k != ARCHIVE_OK) {
			sbuf_addf(why, "the artifact is damaged: %s", ra.error_string(a));
			r = -SC_EUNSAFE;
			goto out;
		}
		const char *name = ra.entry_pathname(ae);
		struct mf_entry *e = name && !strncmp(name, "tree/", 5)
					     ? hmap_get(&rows, strv_from(name + 5))
					     : NULL;
		if (!e || ra.entry_filetype(ae) != AE_IFREG || !ra.entry_size_is_set(ae)) {
			sbuf_addf(why, "its entry '%s' is not a file of its manifest (or repeated)",
				  name ? name : "");
			r = -SC_EUNSAFE;
			goto out;
		}
		hmap_put(&rows, strv_from(e->path), NULL); /* once; the key stays the manifest's string */
		if ((uint64_t)ra.entry_size(ae) != e->size || e->size > max_file) {
			sbuf_addf(why,
				  "%s does not have its manifest's size (or is over "
				  "SCINT_GEM_MAX_FILE_BYTES)",
				  e->path);
			r = -SC_EUNSAFE;
			goto out;
		}
		if ((r = remote_read_entry(a, &buf, e->size, (size_t)max_file)) < 0) {
			sbuf_addf(why, "cannot read %s from the artifact: %s", e->path,
				  sc_strerror(r));
			r = -SC_EUNSAFE;
			goto out;
		}
		if ((r = remote_place_file(in, efd, entry_dir, m, e, &buf, why)) < 0)
			goto out;
		nseen++;
	}
	if (nseen != m->nfiles) {
		sbuf_addstr(why, "the artifact lacks files its manifest lists");
		r = -SC_EUNSAFE;
		goto out;
	}
	/* 4. symlinks last: nothing is ever written through one */
	for (size_t i = 0; i < m->nentries; i++) {
		const struct mf_entry *e = &m->entries[i];
		if (e->type == MF_SYMLINK && symlinkat(e->target, efd, e->path) < 0) {
			r = -errno;
			sbuf_addf(why, "cannot create the link %s: %s", e->path, sc_strerror(r));
			goto out;
		}
	}
	if ((r = remote_dir_modes(efd, m, why)) < 0)
		goto out;
	g->manifest = m;
out:
	hmap_release(&rows);
	sbuf_release(&buf);
	return r;
}

int remote_unpack(struct install *in, struct gem *g, struct sbuf *why)
{
	struct archive *a;
	int r;

	if ((r = remote_load_archive(why)) < 0)
		goto out_drop;
	(void)fs_rmtree_at(in->assembling_fd, g->entry);
	if (mkdirat(in->assembling_fd, g->entry, 0755) < 0) {
		r = -errno;
		sbuf_addf(why, "cannot create its assembling directory: %s", sc_strerror(r));
		goto out_drop;
	}
	int efd = fs_open_dirat(in->assembling_fd, g->entry);
	if (efd < 0) {
		r = efd;
		sbuf_addf(why, "cannot open its assembling directory: %s", sc_strerror(r));
		goto out_remove;
	}
	a = ra.read_new();
	(void)ra.read_support_filter_gzip(a);
	(void)ra.read_support_filter_zstd(a);
	(void)ra.read_support_format_tar(a);
	if (ra.read_open_memory(a, g->remote_artifact.buf, g->remote_artifact.len) != ARCHIVE_OK) {
		sbuf_addf(why, "cannot read the artifact: %s", ra.error_string(a));
		r = -SC_EUNSAFE;
	} else {
		r = remote_unpack_tar(in, g, a, efd, why);
	}
	ra.read_free(a);
	(void)close(efd);
	if (r == 0) {
		g->unpacked = true;
		g->remote_hit = true;
		g->needs_build = false;
		in->stats.remote_hits++;
		goto out_drop;
	}
out_remove:
	(void)fs_rmtree_at(in->assembling_fd, g->entry);
	g->remote_refused = arena_strdup(&in->arena, sbuf_cstr(why));
	g->manifest = NULL;
	g->gemspec = (struct strv){ 0 };
	in->stats.remote_refused++;
out_drop:
	sbuf_release(&g->remote_artifact);
	sbuf_init(&g->remote_artifact, 0);
	return r;
}

/* ---- the jobs ---- */

/*
 * RJ_START -> RJ_FIRST -> RJ_SECOND -> RJ_DONE; RJ_DONE also from START and
 * FIRST (nothing to do, a miss, a refusal) and on cancel.
 */
static bool remote_edge_ok(enum remote_state from, enum remote_state to)
{
	switch (from) {
	case RJ_START:
		return to == RJ_FIRST || to == RJ_DONE;
	case RJ_FIRST:
		return to == RJ_SECOND || to == RJ_DONE;
	case RJ_SECOND:
		return to == RJ_DONE;
	case RJ_DONE:
	case RJ_STATE__COUNT:
		break;
	}
	return false;
}

static void remote_enter_at(struct remote_job *j, enum remote_state to, int line)
{
	SC_ASSERT(remote_edge_ok(j->state, to));
	trace_state(&j->job.ctx, remote_state_name[j->state], remote_state_name[to], line);
	j->state = to;
	job_wake(&j->job);
}

/* Every state change goes through here; debug builds trace the caller's line. */
#define remote_enter(j, to) remote_enter_at((j), (to), TRACE_LINE)

static void remote_http_done(struct http_req *req)
{
	struct remote_job *j = req->data;

	j->waiting = false;
	job_wake(&j->job);
}

static int remote_request(struct remote_job *j, const char *name, const char *method,
			  const struct sbuf *body, uint64_t max_bytes)
{
	struct remote *rm = j->in->remote;

	http_req_release(&j->req);
	j->url = arena_printf(&j->in->arena, "%s/scint-1/%s", rm->base, name);
	j->req = (struct http_req){
		.url = j->url,
		.userpwd = rm->userpwd,
		.bearer = rm->token,
		.aws_sigv4 = rm->sigv4,
		.aws_token = rm->aws_token,
		.method = method,
		.upload = body ? body->buf : NULL,
		.upload_len = body ? body->len : 0,
		.max_bytes = max_bytes,
		.want_sha256 = !body,
		.done = remote_http_done,
		.data = j,
		.ctx = &j->job.ctx,
	};
	int r = http_start(sched_http(j->job.sched), &j->req);
	if (r < 0) {
		remote_down(j->in, "%s", j->req.errmsg[0] ? j->req.errmsg : sc_strerror(r));
		return r;
	}
	j->waiting = true;
	return 0;
}

/*
 * Artifacts are named by their content: two machines uploading one entry
 * at once each write their own artifact, and the index (written last, the
 * last writer wins) always names one that is complete.
 */
static const char *remote_artifact_name(struct remote_job *j)
{
	return arena_printf(&j->in->arena, "%s-%.16s.artifact", j->key, j->sha256);
}

/* A transfer's outcome: 0 for a 2xx, else the remote is down (or, for a pull, a 404: a miss). */
static int remote_response(struct remote_job *j, const char *what)
{
	struct http_req *q = &j->req;

	if (q->res < 0) {
		remote_down(j->in, "%s %s: %s", what, j->gem->full_name,
			    q->errmsg[0] ? q->errmsg : sc_strerror(q->res));
		return q->res;
	}
	if (q->status >= 200 && q->status < 300)
		return 0;
	if (!j->push && (q->status == 404 || q->status == 410))
		return -SC_ENOTFOUND;
	remote_down(j->in, "%s %s: HTTP %ld%s", what, j->gem->full_name, q->status,
		    q->status == 403 && j->in->remote->s3
			    ? " (access denied: check the AWS credentials and the bucket's policy)"
			    : "");
	return -SC_ENET;
}

static void remote_refuse(struct remote_job *j, const char *why)
{
	struct install *in = j->in;

	in->stats.remote_refused++;
	j->gem->remote_refused = arena_strdup(&in->arena, why);
	remote_warn(in, "the remote cache's artifact of %s is refused (%s); %s", j->gem->full_name,
		    why,
		    in->opts.remote_pull ? "not built (scint cache pull builds nothing)"
					 : "building it here");
	trace_event(&j->job.ctx, "remote-refused", why);
}

/*
 * `scint cache pull`, a .gem already in inbound/ and no checksum known (no
 * index job runs for it): its SHA-256, read in blocks. false when unreadable.
 */
static bool remote_inbound_sha256(struct install *in, struct gem *g)
{
	char name[600], buf[1 << 16];
	struct digest d;
	ssize_t k;

	snprintf(name, sizeof(name), "%s.gem", g->full_name);
	int fd = openat(in->inbound_fd, name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0)
		return false;
	digest_init(&d, DIGEST_SHA256);
	while ((k = read(fd, buf, sizeof(buf))) > 0 || (k < 0 && errno == EINTR))
		if (k > 0)
			digest_update(&d, buf, (size_t)k);
	if (k == 0)
		digest_final_hex(&d, g->pkg_sha256);
	digest_release(&d);
	(void)close(fd);
	return k == 0;
}

static void remote_pull_start(struct remote_job *j)
{
	struct gem *g = j->gem;

	/* `scint cache pull` without a known checksum: the fetched .gem's own (plan.c). */
	if (j->in->opts.remote_pull && j->in->remote && !g->checksum && !g->pkg_sha256[0] &&
	    g->plan == PLAN_ASSEMBLE)
		(void)remote_inbound_sha256(j->in, g);
	const char *sha = g->checksum					? g->checksum
			  : j->in->opts.remote_pull && g->pkg_sha256[0] ? g->pkg_sha256
									: NULL;
	if (!j->in->remote || j->in->remote->down || !sha) {
		remote_enter(j, RJ_DONE);
		return;
	}
	remote_key(j->in, g, sha, j->key);
	if (remote_request(j, arena_printf(&j->in->arena, "%s.index", j->key), NULL, NULL,
			   REMOTE_INDEX_MAX) < 0)
		remote_enter(j, RJ_DONE);
	else
		remote_enter(j, RJ_FIRST);
}

static void remote_pull_index(struct remote_job *j)
{
	struct sbuf why = SBUF_INIT;

	if (j->waiting)
		return;
	int r = remote_response(j, "asking for");
	if (r == -SC_ENOTFOUND) {
		j->gem->remote_miss = true;
		trace_event(&j->job.ctx, "remote-miss", j->key);
	}
	if (r < 0) {
		remote_enter(j, RJ_DONE);
		return;
	}
	r = remote_index_verify(j, sbuf_strv(&j->req.body), &why);
	if (r < 0) {
		remote_refuse(j, why.buf);
		sbuf_release(&why);
		remote_enter(j, RJ_DONE);
		return;
	}
	sbuf_release(&why);
	if (remote_request(j, remote_artifact_name(j), NULL, NULL, j->size) < 0)
		remote_enter(j, RJ_DONE);
	else
		remote_enter(j, RJ_SECOND);
}

/*
 * `scint cache list --remote`: the index object alone, verified as a pull
 * verifies it (the artifact is never asked for); records on the gem what
 * the CLI lists: remote_listed with the artifact's size and signature kind,
 * remote_miss, or remote_refused.
 */
static void remote_list_index(struct remote_job *j)
{
	struct install *in = j->in;
	struct gem *g = j->gem;
	struct sbuf why = SBUF_INIT;
	struct strv text, line;

	if (j->waiting)
		return;
	int r = remote_response(j, "asking for");
	if (r == -SC_ENOTFOUND)
		g->remote_miss = true;
	if (r < 0) {
		remote_enter(j, RJ_DONE);
		return;
	}
	text = sbuf_strv(&j->req.body);
	r = remote_index_verify(j, text, &why);
	if (r < 0) {
		g->remote_refused = arena_strdup(&in->arena, sbuf_cstr(&why));
	} else {
		g->remote_listed = true;
		g->remote_size = j->size;
		g->remote_sig = "?";
		while (strv_next_line(&text, &line)) {
			if (line.len > 10 && !memcmp(line.p, "signature ", 10)) {
				struct strv kind = strv_make(line.p + 10, line.len - 10);
				const char *sp = memchr(kind.p, ' ', kind.len);
				if (sp)
					kind.len = (size_t)(sp - kind.p);
				g->remote_sig = arena_strv(&in->arena, kind);
			}
		}
	}
	sbuf_release(&why);
	remote_enter(j, RJ_DONE);
}

bool remote_unusable(const struct install *in)
{
	return !in->remote || in->remote->down;
}

static void remote_pull_artifact(struct remote_job *j)
{
	struct http_req *q = &j->req;
	struct gem *g = j->gem;

	if (j->waiting)
		return;
	if (q->res == -SC_ETOOBIG || q->res == -SC_ETRUNCATED ||
	    (q->res == 0 && q->status == 200 && q->received != j->size)) {
		remote_refuse(j, "the download's size is not the index's (truncated?)");
	} else if (remote_response(j, "downloading") < 0) {
		/* warned (down) */
	} else if (strcmp(q->sha256, j->sha256)) {
		remote_refuse(j, "the download's SHA-256 is not the signed one");
	} else {
		g->remote_artifact = q->body;
		sbuf_init(&q->body, 0);
		j->in->stats.remote_bytes_down += j->size;
		trace_event(&j->job.ctx, "remote-hit", j->key);
	}
	remote_enter(j, RJ_DONE);
}

uint64_t remote_bytes_receiving(const struct install *in)
{
	uint64_t n = 0;

	for (size_t i = 0; in->remote && i < in->ngems; i++) {
		const struct remote_job *j = in->gems[i]->pull;
		/* Until its step takes the bytes (stats) or refuses them. */
		if (j && j->state == RJ_SECOND)
			n += j->req.received;
	}
	return n;
}

static void remote_push_start(struct remote_job *j)
{
	struct install *in = j->in;
	struct gem *g = j->gem;
	struct sbuf why = SBUF_INIT;

	if (!in->remote || !in->remote->write || in->remote->down || !(g->promoted || j->cached) ||
	    g->remote_hit || !g->manifest || !g->manifest->has_ext || !g->manifest->gem_sha256) {
		remote_enter(j, RJ_DONE);
		return;
	}
	remote_key(in, g, g->manifest->gem_sha256, j->key);
	if (remote_pack(in, g, &j->data, &why) < 0) {
		remote_warn(in, "cannot upload %s to the remote cache: %s", g->full_name,
			    why.buf ? why.buf : "");
		sbuf_release(&why);
		remote_enter(j, RJ_DONE);
		return;
	}
	sbuf_release(&why);
	sha256_hex(j->data.buf, j->data.len, j->sha256);
	if (remote_request(j, remote_artifact_name(j), "PUT", &j->data, 0) < 0) {
		remote_enter(j, RJ_DONE);
		return;
	}
	install_event(in, g, "upload");
	remote_enter(j, RJ_FIRST);
}

static void remote_push_index(struct remote_job *j)
{
	struct install *in = j->in;
	struct remote *rm = in->remote;
	char mac[DIGEST_SHA256_HEX];

	if (j->waiting)
		return;
	if (remote_response(j, "uploading") < 0) {
		remote_enter(j, RJ_DONE);
		return;
	}
	sbuf_addf(&j->index, "scint-remote 1\nkey %s\nfull_name %s\nabi %s\nsize %zu\nsha256 %s\n",
		  j->key, j->gem->full_name, in->abi.abi, j->data.len, j->sha256);
	if (rm->sign_key) {
		unsigned char sig[64];
		size_t siglen = sizeof(sig);
		EVP_MD_CTX *ctx = EVP_MD_CTX_new();
		int ok = ctx && EVP_DigestSignInit(ctx, NULL, NULL, NULL, rm->sign_key) == 1 &&
			 EVP_DigestSign(ctx, sig, &siglen, (const unsigned char *)j->index.buf,
					j->index.len) == 1 &&
			 siglen == sizeof(sig);
		EVP_MD_CTX_free(ctx);
		if (!ok) {
			remote_warn(in, "cannot sign the artifact of %s for the remote cache",
				    j->gem->full_name);
			remote_enter(j, RJ_DONE);
			return;
		}
		sbuf_addstr(&j->index, "signature ed25519 ");
		for (size_t i = 0; i < sizeof(sig); i++)
			sbuf_addf(&j->index, "%02x", sig[i]);
		sbuf_addch(&j->index, '\n');
	} else if (rm->keylen) {
		remote_hmac(rm, j->index.buf, j->index.len, mac);
		sbuf_addf(&j->index, "signature hmac-sha256 %s\n", mac);
	} else {
		sbuf_addstr(&j->index, "signature unsigned\n");
	}
	if (remote_request(j, arena_printf(&in->arena, "%s.index", j->key), "PUT", &j->index, 0) <
	    0)
		remote_enter(j, RJ_DONE);
	else
		remote_enter(j, RJ_SECOND);
}

static void remote_push_done(struct remote_job *j)
{
	if (j->waiting)
		return;
	if (remote_response(j, "uploading the index of") == 0) {
		j->in->stats.remote_uploads++;
		j->in->stats.remote_bytes_up += j->data.len;
		trace_event(&j->job.ctx, "remote-upload", j->key);
	}
	remote_enter(j, RJ_DONE);
}

static void remote_step(struct job *jb)
{
	struct remote_job *j = container_of(jb, struct remote_job, job);

	if (jb->canceled && !j->waiting && j->state != RJ_DONE)
		remote_enter(j, RJ_DONE);
	switch (j->state) {
	case RJ_START:
		if (j->push)
			remote_push_start(j);
		else
			remote_pull_start(j);
		break;
	case RJ_FIRST:
		if (j->push)
			remote_push_index(j);
		else if (j->in->opts.remote_list)
			remote_list_index(j);
		else
			remote_pull_index(j);
		break;
	case RJ_SECOND:
		if (j->push)
			remote_push_done(j);
		else
			remote_pull_artifact(j);
		break;
	case RJ_DONE:
		if (!j->waiting)
			job_finish(jb);
		break;
	case RJ_STATE__COUNT:
		SC_ASSERT(!"bad state");
	}
}

static void remote_cancel(struct job *jb)
{
	struct remote_job *j = container_of(jb, struct remote_job, job);

	if (j->waiting)
		http_cancel(sched_http(jb->sched), &j->req);
}

static void remote_job_release(struct job *jb)
{
	struct remote_job *j = container_of(jb, struct remote_job, job);

	http_req_release(&j->req);
	sbuf_release(&j->data);
	sbuf_release(&j->index);
}

static const struct job_ops remote_ops = {
	.kind = JOB_REMOTE,
	.step = remote_step,
	.cancel = remote_cancel,
	.release = remote_job_release,
};

static struct remote_job *remote_job_new(struct install *in, struct gem *g, bool push)
{
	struct remote_job *j = arena_alloc(&in->arena, sizeof(*j));

	j->in = in;
	j->gem = g;
	j->push = push;
	job_init(&j->job, in->sched, &remote_ops, g->full_name, (int)g->ndependents);
	return j;
}

struct job *remote_pull_job_new(struct install *in, struct gem *g, struct job *index)
{
	if (!in->remote)
		return NULL;
	struct remote_job *j = remote_job_new(in, g, false);
	if (index)
		job_depends(&j->job, index);
	g->pull = j;
	return &j->job;
}

/* `scint cache push [GEMS]`: is g's cached entry to be uploaded? (Loads its manifest.) */
static bool remote_push_cached(struct install *in, struct gem *g)
{
	bool named = !in->opts.npush_only;

	for (size_t i = 0; i < in->opts.npush_only && !named; i++)
		named = !strcmp(in->opts.push_only[i], g->name) ||
			!strcmp(in->opts.push_only[i], g->full_name);
	if (!named || g->git)
		return false;
	if (!g->manifest && cache_load_manifest(in, g) < 0)
		return false;
	return g->manifest->has_ext;
}

struct job *remote_push_job_new(struct install *in, struct gem *g, struct job *promote)
{
	if (!in->remote || !in->remote->write)
		return NULL;
	if (!promote && !(in->opts.remote_push_cached && remote_push_cached(in, g)))
		return NULL;
	struct remote_job *j = remote_job_new(in, g, true);
	j->cached = !promote;
	if (promote)
		job_depends(&j->job, promote);
	g->push = j;
	return &j->job;
}
