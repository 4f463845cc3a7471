#include "hmap.h"

#include <stdlib.h>

#include "compiler.h"

void hmap_init(struct hmap *m)
{
	*m = (struct hmap){ 0 };
}

void hmap_release(struct hmap *m)
{
	free(m->slots);
	*m = (struct hmap){ 0 };
}

uint32_t hmap_hash(struct strv key)
{
	uint32_t h = 2166136261u;

	for (size_t i = 0; i < key.len; i++) {
		h ^= (unsigned char)key.p[i];
		h *= 16777619u;
	}
	return h ? h : 1;
}

static struct hmap_slot *hmap_find(const struct hmap *m, struct strv key, uint32_t h)
{
	size_t mask = m->cap - 1;

	for (size_t i = h & mask;; i = (i + 1) & mask) {
		struct hmap_slot *s = &m->slots[i];
		if (!s->hash || (s->hash == h && strv_eq(s->key, key)))
			return s;
	}
}

void *hmap_get(const struct hmap *m, struct strv key)
{
	if (!m->cap)
		return NULL;
	struct hmap_slot *s = hmap_find(m, key, hmap_hash(key));
	return s->hash ? s->value : NULL;
}

static void hmap_rehash(struct hmap *m, size_t ncap)
{
	struct hmap old = *m;

	m->slots = sc_xcalloc(ncap, sizeof(*m->slots));
	m->cap = ncap;
	m->len = 0;
	for (size_t i = 0; i < old.cap; i++) {
		if (old.slots[i].hash) {
			struct hmap_slot *s = hmap_find(m, old.slots[i].key, old.slots[i].hash);
			*s = old.slots[i];
			m->len++;
		}
	}
	free(old.slots);
}

void *hmap_put(struct hmap *m, struct strv key, void *value)
{
	if ((m->len + 1) * 4 >= m->cap * 3)
		hmap_rehash(m, m->cap ? m->cap * 2 : 16);
	uint32_t h = hmap_hash(key);
	struct hmap_slot *s = hmap_find(m, key, h);
	void *old = s->hash ? s->value : NULL;
	if (!s->hash)
		m->len++;
	*s = (struct hmap_slot){ .key = key, .value = value, .hash = h };
	return old;
}
