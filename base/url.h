/*
 * url.h: the parts of a "scheme://[userinfo@]host[:port]rest" URL, as far as
 * Bundler::URI#to_s and Remote#remove_auth look at them, and the URL with its
 * credentials taken out for anything that is printed or traced.
 *
 * Pure string work on views into the caller's string: no allocation except
 * into the caller's sbuf, no I/O. Nothing is decoded or validated beyond the
 * split; a string without "scheme://" is not a URL here.
 */
#pragma once

#include <stdbool.h>

#include "base/strv.h"

struct sbuf;

struct url_parts {
	struct strv scheme;   /* without "://" */
	struct strv userinfo; /* without '@' */
	struct strv host;     /* brackets kept for IPv6, as URI#host */
	struct strv port;     /* without ':' */
	struct strv rest;     /* path, query, fragment */
	bool has_userinfo;
};

/*
 * Splits s: the scheme is a letter then RFC 3986 scheme characters, the
 * authority runs to the first '/', '?' or '#', and its last '@' ends the
 * userinfo. Returns false (and zeroes *u) when s has no "scheme://".
 */
bool url_split(struct strv s, struct url_parts *u);

/*
 * Copies url to out (replacing its contents) without its userinfo:
 * "https://u:p@h/" -> "https://h/" (Remote#remove_auth). A string that is not
 * a URL is copied unchanged.
 */
void url_redact(const char *url, struct sbuf *out);
