/*
 * arena.h: run-lifetime bump allocator (apk's balloc, h2o's mem pool).
 *
 * Everything derived from the lockfile and the plan (names, versions, paths,
 * job-graph nodes) is allocated here and freed once, by arena_release(). There
 * are no per-object frees. Allocations are zeroed and 16-byte aligned; OOM is
 * fatal.
 */
#pragma once

#include <stdarg.h>
#include <stddef.h>

#include "compiler.h"
#include "strv.h"

struct arena_chunk;

struct arena {
	struct arena_chunk *head;
	size_t total_bytes; /* bytes handed out, for stats */
};

void arena_init(struct arena *a);
void arena_release(struct arena *a);

void *arena_alloc(struct arena *a, size_t size);
char *arena_strdup(struct arena *a, const char *s);
char *arena_strndup(struct arena *a, const char *s, size_t n);
char *arena_strv(struct arena *a, struct strv v);
char *arena_printf(struct arena *a, const char *fmt, ...) sc_printf(2, 3);
char *arena_vprintf(struct arena *a, const char *fmt, va_list ap) sc_printf(2, 0);

/* Grows an arena-backed array by doubling; returns the (possibly moved) array. */
void *arena_grow_array(struct arena *a, void *arr, size_t elem_size, size_t len, size_t *cap);
