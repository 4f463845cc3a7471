/*
 * compiler.h: attribute wrappers and the few macros every module uses.
 *
 * SC_ASSERT() is always compiled in and is for programmer errors only
 * (state preconditions, queue bounds, op ownership). SC_DEBUG_ASSERT() is for
 * expensive checks and disappears from release builds.
 */
#pragma once

#include <stddef.h>

#define sc_printf(a, b) __attribute__((format(printf, a, b)))
#define sc_unused       __attribute__((unused))
#define sc_noreturn     __attribute__((noreturn))
#define SC_MUST_CHECK   __attribute__((warn_unused_result))
#define sc_likely(x)    __builtin_expect(!!(x), 1)
#define sc_unlikely(x)  __builtin_expect(!!(x), 0)

#define SC_ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

#define container_of(ptr, type, member) ((type *)(void *)((char *)(ptr) - offsetof(type, member)))
#define container_of_const(ptr, type, member)                                                      \
	((const type *)(const void *)((const char *)(ptr) - offsetof(type, member)))

#define SC_MIN(a, b) ((a) < (b) ? (a) : (b))
#define SC_MAX(a, b) ((a) > (b) ? (a) : (b))

sc_noreturn void sc_assert_fail(const char *expr, const char *file, int line, const char *func);

#define SC_ASSERT(x)                                                                               \
	do {                                                                                       \
		if (sc_unlikely(!(x)))                                                             \
			sc_assert_fail(#x, __FILE__, __LINE__, __func__);                          \
	} while (0)

#ifdef SC_RELEASE
#define SC_DEBUG_ASSERT(x)                                                                         \
	do {                                                                                       \
	} while (0)
#else
#define SC_DEBUG_ASSERT(x) SC_ASSERT(x)
#endif

/* Allocation that cannot fail: scint treats OOM as fatal, as git does. */
void *sc_xmalloc(size_t n);
void *sc_xcalloc(size_t nmemb, size_t n);
void *sc_xrealloc(void *p, size_t n);
char *sc_xstrdup(const char *s);
char *sc_xstrndup(const char *s, size_t n);
