/*
 * mirror.h: where the requests for a source go (Bundler's mirrors,
 * settings/mirror.rb), for every index request and gem download.
 *
 * A route is the source's URL and, when configured, a mirror: mirror.all
 * (BUNDLE_MIRROR__ALL), else the mirror for the source URL, else for its
 * host (bconfig_mirror_for). Credentials for each come from the settings
 * for that URL (BUNDLE_<HOST> of the mirror's host for the mirror).
 *
 * fallback_timeout (mirror.<url>.fallback_timeout, mirror.all.fallback_timeout:
 * "true" = 0.1 s, else whole seconds as Bundler's to_i, 0/"false" = none):
 * Bundler probes the mirror with a blocking TCP connect before using it.
 * Here the mirror's requests carry the fallback timeout as their connect
 * timeout, and a request that cannot connect to the mirror in that time (or
 * is refused, or its host does not resolve) marks the mirror down for the
 * rest of the run and is sent again, at once, to the source itself; so are
 * later requests. Without a fallback timeout the mirror is always used and
 * its failures are failures, as with Bundler. Requests to a mirror carry
 * "X-Gemfile-Source: <source URL without credentials>", as Bundler's do
 * (a caching mirror such as gemstash learns its upstream from it).
 */
#pragma once

#include <stdbool.h>

struct arena;
struct bconfig;
struct http_req;

struct mirror_route {
	const char *remote;          /* the source, with a trailing '/' (userinfo as written) */
	const char *redacted;        /* the source without credentials */
	const char *userpwd;         /* the source's credentials, or NULL */
	const char *mirror;          /* the mirror, with a trailing '/', or NULL */
	const char *mirror_redacted;
	const char *mirror_userpwd;
	long fallback_ms;            /* 0: no fallback */
	const char *source_header;   /* "X-Gemfile-Source: <source>" for the mirror's requests */
	bool mirror_down;            /* a fallback happened: everything goes to the source */
};

/* Fills the route for remote (normalized to end in '/'); strings in the arena. */
void mirror_route_init(struct mirror_route *m, struct arena *a, const struct bconfig *c,
		       const char *remote);

/* Where a request goes now: base URL (with '/'), its credentials and the connect timeout (0: default). */
struct mirror_target {
	const char *base;
	const char *redacted;
	const char *userpwd;
	long connect_timeout_ms;
	const char *extra_header; /* for a mirror, X-Gemfile-Source (as Bundler sends it), else NULL */
	bool is_mirror;
};
void mirror_target(const struct mirror_route *m, struct mirror_target *ret);

/*
 * After a request sent to target t has finished: true when it should go
 * again, to the source, at once (a mirror with a fallback timeout that could
 * not be reached); the route is then marked down.
 */
bool mirror_should_fall_back(struct mirror_route *m, const struct mirror_target *t,
			     const struct http_req *req);
