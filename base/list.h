/*
 * list.h: intrusive circular doubly-linked list (the kernel's list_head).
 * A node is embedded in its owner and reached with list_entry().
 */
#pragma once

#include <stdbool.h>

#include "compiler.h"

struct list_head {
	struct list_head *next, *prev;
};

#define LIST_HEAD_INIT(name) { &(name), &(name) }

static inline void list_init(struct list_head *h)
{
	h->next = h->prev = h;
}

static inline bool list_empty(const struct list_head *h)
{
	return h->next == h;
}

static inline void list__add(struct list_head *n, struct list_head *prev, struct list_head *next)
{
	next->prev = n;
	n->next = next;
	n->prev = prev;
	prev->next = n;
}

static inline void list_add(struct list_head *n, struct list_head *h)
{
	list__add(n, h, h->next);
}

static inline void list_add_tail(struct list_head *n, struct list_head *h)
{
	list__add(n, h->prev, h);
}

static inline void list_del(struct list_head *n)
{
	n->next->prev = n->prev;
	n->prev->next = n->next;
	n->next = n->prev = n;
}

/* True when the node is linked into some list (nodes are self-linked when not). */
static inline bool list_linked(const struct list_head *n)
{
	return n->next && n->next != n;
}

#define list_entry(ptr, type, member) container_of(ptr, type, member)
#define list_first_entry(h, type, member) list_entry((h)->next, type, member)

#define list_for_each(pos, h) for (pos = (h)->next; pos != (h); pos = pos->next)
#define list_for_each_safe(pos, n, h)                                                              \
	for (pos = (h)->next, n = pos->next; pos != (h); pos = n, n = pos->next)
