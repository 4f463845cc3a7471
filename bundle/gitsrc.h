/*
 * gitsrc.h: the rules of a GIT source's names, as scint checks them where a
 * lockfile (or a repository's .gitmodules) gives them. Pure functions, no
 * I/O; strings returned live in the arena passed in.
 *
 * A remote becomes an argument of git and a revision a refspec, so both
 * are hostile until checked: a remote must be an absolute path or a file,
 * git, ssh, http(s) or scp-like URL, never an option ("-..."), a transport
 * helper ("ext::", "fd::": ext:: runs commands), an ssh host starting with
 * '-', nor hold a control character; a revision is 40 lower-case hex digits;
 * a branch, tag or ref of the Gemfile is no option and holds no space or
 * control character.
 */
#pragma once

#include <stdbool.h>

struct arena;
struct sbuf;

/* Bundler's Source::Git#base_name: the URL's last path component without ".git". */
const char *gitsrc_base_name(struct arena *a, const char *uri);
/* 40 lower-case hex digits. */
bool gitsrc_is_revision(const char *s);
/*
 * A Gemfile's branch, tag or ref, before it becomes an argument of git and
 * a lockfile line: 1 to GITSRC_REF_MAX bytes, not an option ("-..."), no
 * space or control character. On refusal *why says why (static text).
 */
#define GITSRC_REF_MAX 255
bool gitsrc_ref_ok(const char *ref, const char **why);
/* See above; on refusal *why says why (static text). */
bool gitsrc_url_ok(const char *u, const char **why);
/*
 * A repository of this machine: an absolute path or file://. A remote one's
 * submodules may not be (its .gitmodules would read any repository the user
 * can, as git >= 2.38.1 refuses with protocol.file.allow=user).
 */
bool gitsrc_url_is_local(const char *u);
/*
 * inbound/gits/<slug>: host and path of the (credential-free) URL with
 * every byte other than [A-Za-z0-9._] folded to '-', at most 80 of them,
 * then '-' and 8 hex of the URL's SHA-256: one readable path component.
 */
const char *gitsrc_slug(struct arena *a, const char *redacted);
/* A submodule URL relative to its superproject's ("./x", "../x.git") made absolute, as git does. */
const char *gitsrc_resolve_url(struct arena *ar, const char *super, const char *rel);
/*
 * From the output of `git config -z -l -f .gitmodules` ("key\nvalue\0"...):
 * the value of submodule.<name>.<key> for the submodule whose path is
 * `path`, or NULL.
 */
const char *gitsrc_module_get(struct arena *ar, const struct sbuf *cfg, const char *path,
			      const char *key);
