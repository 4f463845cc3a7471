/*
 * hmap.h: string-keyed hash map (open addressing, linear probing).
 *
 * Keys are views that the caller keeps alive (normally arena strings); the
 * map stores the view and a value pointer. Used for name -> gem lookups.
 */
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "strv.h"

struct hmap_slot {
	struct strv key;
	void *value;
	uint32_t hash;
};

struct hmap {
	struct hmap_slot *slots;
	size_t cap; /* power of two */
	size_t len;
};

void hmap_init(struct hmap *m);
void hmap_release(struct hmap *m);

/* Returns the value stored under key, or NULL. */
void *hmap_get(const struct hmap *m, struct strv key);
/* Stores value under key, replacing an earlier value; returns the old value or NULL. */
void *hmap_put(struct hmap *m, struct strv key, void *value);

uint32_t hmap_hash(struct strv key);
