/*
 * map.h - an open-addressing hash map from 64-bit keys to pointers (linear probing,
 * backward-shift deletion, power-of-two capacity, grows at 70% load). Not thread-safe: each
 * map is owned by one thread or guarded by its owner's lock. Key 0 is reserved (empty slot).
 */
#ifndef CHATD_MAP_H
#define CHATD_MAP_H

#include <stddef.h>
#include <stdint.h>

struct map_slot {
	uint64_t key; /* 0 = empty */
	void *value;
};

struct map {
	struct map_slot *slots;
	size_t cap; /* power of two, or 0 before the first insert */
	size_t len;
};

/* Returns the value stored under key, or NULL. */
void *map_get(const struct map *m, uint64_t key);

/* Stores value under key (replacing any). Returns 0 or -ENOMEM; replacing an existing key
 * never allocates and never fails. key must not be 0. */
int map_put(struct map *m, uint64_t key, void *value);

/* Removes key; returns its value or NULL. */
void *map_del(struct map *m, uint64_t key);

/* Frees the table (not the values). */
void map_free(struct map *m);

/* Iteration: for (size_t i = 0; map_next(m, &i, &k, &v); ) visits every entry once. */
int map_next(const struct map *m, size_t *pos, uint64_t *key, void **value);

/* FNV-1a of the ASCII-lowercased bytes: case-insensitive names as map keys (never 0). */
uint64_t map_hash_name(const char *s, size_t n);

#endif
