/*
 * mirror.c: see mirror.h.
 */
#include "phases/mirror.h"

#include <string.h>

#include "base/arena.h"
#include "base/sbuf.h"
#include "base/url.h"
#include "bundle/config.h"
#include "engine/http.h"

static const char *mirror_slash(struct arena *a, const char *url)
{
	size_t n = strlen(url);

	if (n && url[n - 1] == '/')
		return arena_strdup(a, url);
	return arena_printf(a, "%s/", url);
}

void mirror_route_init(struct mirror_route *m, struct arena *a, const struct bconfig *c,
		       const char *remote)
{
	struct sbuf buf = SBUF_INIT;

	*m = (struct mirror_route){ 0 };
	m->remote = mirror_slash(a, remote);
	url_redact(m->remote, &buf);
	m->redacted = arena_strdup(a, buf.buf);
	if (c && bconfig_credentials(c, m->remote, &buf) > 0)
		m->userpwd = arena_strdup(a, buf.buf);
	if (c && bconfig_mirror_lookup(c, m->remote, &buf, &m->fallback_ms) > 0) {
		m->mirror = mirror_slash(a, buf.buf);
		url_redact(m->mirror, &buf);
		m->mirror_redacted = arena_strdup(a, buf.buf);
		if (bconfig_credentials(c, m->mirror, &buf) > 0)
			m->mirror_userpwd = arena_strdup(a, buf.buf);
		m->source_header = arena_printf(a, "X-Gemfile-Source: %s", m->redacted);
	}
	sbuf_release(&buf);
}

void mirror_target(const struct mirror_route *m, struct mirror_target *ret)
{
	if (m->mirror && !m->mirror_down) {
		*ret = (struct mirror_target){ .base = m->mirror, .redacted = m->mirror_redacted,
					       .userpwd = m->mirror_userpwd,
					       .connect_timeout_ms = m->fallback_ms,
					       .extra_header = m->source_header,
					       .is_mirror = true };
		return;
	}
	*ret = (struct mirror_target){ .base = m->remote, .redacted = m->redacted,
				       .userpwd = m->userpwd };
}

bool mirror_should_fall_back(struct mirror_route *m, const struct mirror_target *t,
			     const struct http_req *req)
{
	if (!t->is_mirror || m->fallback_ms <= 0 || req->res == 0 || !req->connect_failed)
		return false;
	m->mirror_down = true;
	return true;
}
