/*
 * map.c - see map.h.
 */
#include "map.h"

#include <errno.h>
#include <stdlib.h>

static size_t slot_of(uint64_t key, size_t cap)
{
	/* Fibonacci hashing spreads sequential ids (connection ids) over the table. */
	return (size_t)((key * 0x9E3779B97F4A7C15ULL) >> 17) & (cap - 1);
}

/* The slot holding key, or NULL. */
static struct map_slot *slot_find(const struct map *m, uint64_t key)
{
	if (m->cap == 0)
		return NULL;
	for (size_t i = slot_of(key, m->cap);; i = (i + 1) & (m->cap - 1)) {
		if (m->slots[i].key == key)
			return &m->slots[i];
		if (m->slots[i].key == 0)
			return NULL;
	}
}

void *map_get(const struct map *m, uint64_t key)
{
	const struct map_slot *s = slot_find(m, key);
	return s != NULL ? s->value : NULL;
}

static int map_grow(struct map *m)
{
	size_t cap = m->cap ? m->cap * 2 : 16;
	struct map_slot *slots = calloc(cap, sizeof(*slots));
	if (slots == NULL)
		return -ENOMEM;
	for (size_t j = 0; j < m->cap; j++) {
		if (m->slots[j].key == 0)
			continue;
		size_t i = slot_of(m->slots[j].key, cap);
		while (slots[i].key != 0)
			i = (i + 1) & (cap - 1);
		slots[i] = m->slots[j];
	}
	free(m->slots);
	m->slots = slots;
	m->cap = cap;
	return 0;
}

int map_put(struct map *m, uint64_t key, void *value)
{
	/* Replacing never allocates, so it cannot fail: callers that move a chain head to the
	 * next entry (name_remove, room_unlist) rely on it. Only a new key may grow the table. */
	struct map_slot *s = slot_find(m, key);
	if (s != NULL) {
		s->value = value;
		return 0;
	}
	if ((m->len + 1) * 10 > m->cap * 7 && map_grow(m) < 0)
		return -ENOMEM;
	size_t i = slot_of(key, m->cap);
	while (m->slots[i].key != 0)
		i = (i + 1) & (m->cap - 1);
	m->slots[i].key = key;
	m->slots[i].value = value;
	m->len++;
	return 0;
}

void *map_del(struct map *m, uint64_t key)
{
	if (m->cap == 0)
		return NULL;
	size_t i = slot_of(key, m->cap);
	while (m->slots[i].key != key) {
		if (m->slots[i].key == 0)
			return NULL;
		i = (i + 1) & (m->cap - 1);
	}
	void *value = m->slots[i].value;
	/* Backward-shift: pull later entries of the probe run into the hole. */
	for (size_t j = (i + 1) & (m->cap - 1); m->slots[j].key != 0; j = (j + 1) & (m->cap - 1)) {
		size_t home = slot_of(m->slots[j].key, m->cap);
		/* j's entry may move to i only if i lies cyclically within [home, j). */
		if (((j - home) & (m->cap - 1)) >= ((j - i) & (m->cap - 1))) {
			m->slots[i] = m->slots[j];
			i = j;
		}
	}
	m->slots[i].key = 0;
	m->slots[i].value = NULL;
	m->len--;
	return value;
}

void map_free(struct map *m)
{
	free(m->slots);
	m->slots = NULL;
	m->cap = m->len = 0;
}

int map_next(const struct map *m, size_t *pos, uint64_t *key, void **value)
{
	for (; *pos < m->cap; (*pos)++) {
		if (m->slots[*pos].key != 0) {
			*key = m->slots[*pos].key;
			*value = m->slots[*pos].value;
			(*pos)++;
			return 1;
		}
	}
	return 0;
}

uint64_t map_hash_name(const char *s, size_t n)
{
	uint64_t h = 0xcbf29ce484222325ULL;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c >= 'A' && c <= 'Z')
			c = (unsigned char)(c - 'A' + 'a');
		h = (h ^ c) * 0x100000001b3ULL;
	}
	return h ? h : 1;
}
