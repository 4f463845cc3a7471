/*
 * gempath.h: the rules for names inside a gem's data.tar.gz (pure, no I/O).
 *
 * Every entry name of a .gem is hostile until gempath_clean() has turned it
 * into a gem-relative path: no leading '/', no "..", no "." or empty
 * components, no control characters (they would break the manifest's
 * TAB/LF format and terminals), no component longer than NAME_MAX and no
 * path longer than GEMPATH_MAX (so "<cache>/<entry>/gem/<path>" stays far
 * below PATH_MAX).
 *
 * Symlinks are checked twice:
 *   - gempath_link_inside(): lexically, as RubyGems' extractor does, but
 *     stricter: the target must be relative and, walked from the link's
 *     directory, must never climb above the gem root (not even to come back
 *     in: "../gem/x" names the directory around the gem);
 *   - gempath_resolve(): the way the kernel will, following the symlinks
 *     the gem itself created (the caller reports them through a callback),
 *     so that a chain of links that are each harmless on their own (a link
 *     to the root, then a link climbing through it) is caught.
 *
 * All paths here are gem-relative ("lib/x.rb"; "" is the gem root).
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>

/* Longest cleaned path (bytes, without the NUL), and longest component. */
#define GEMPATH_MAX	 3072
#define GEMPATH_NAME_MAX 255
/* Symlinks followed while resolving one path (the kernel's MAXSYMLINKS). */
#define GEMPATH_LINK_HOPS_MAX 40

/*
 * Normalises the entry name name[0..len) ("./lib//x.rb" -> "lib/x.rb") into
 * ret (size bytes, at least GEMPATH_MAX + 1 for any valid name). Returns the
 * length of the result (0 for the gem root itself, "." or "./"), or -1 with
 * *ret_why set to a static reason when the name is unsafe: empty, absolute,
 * "..", a NUL or control character, a component or the path too long.
 */
int gempath_clean(const char *name, size_t len, char *ret, size_t size, const char **ret_why);

/*
 * Lexical check of a symlink at link_path (a cleaned path) pointing to
 * target[0..len): true when target is relative, non-empty, free of NUL and
 * control characters, no longer than GEMPATH_MAX, and never climbs above
 * the gem root when walked from link_path's directory. Else false with
 * *ret_why set to a static reason.
 */
bool gempath_link_inside(const char *link_path, const char *target, size_t len,
			 const char **ret_why);

/*
 * What the gem holds at path[0..len) (a cleaned path): the target of a
 * symlink it created there, or NULL when it is not a symlink (a directory,
 * a file, or nothing yet).
 */
typedef const char *gempath_link_fn(const char *path, size_t len, void *data);

/*
 * Resolves target as the kernel would from the directory dir (a cleaned
 * path, "" for the root), following every symlink link_fn reports. A
 * component that is not a symlink is taken as it is (a directory that may
 * be created later; the kernel fails on a missing one or a file, which
 * names nothing outside). Writes the resolved gem-relative path into ret
 * (size bytes) and returns its length; -1 with *ret_why set when the
 * resolution leaves the gem (an absolute target, a ".." at the root), runs
 * into more than GEMPATH_LINK_HOPS_MAX links, or grows past size.
 */
int gempath_resolve(const char *dir, const char *target, gempath_link_fn *link_fn, void *data,
		    char *ret, size_t size, const char **ret_why);
