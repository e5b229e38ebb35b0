/*
 * roomstate.c - see roomstate.h.
 */
#include "roomstate.h"

#include <stdlib.h>
#include <string.h>

/* ---- small sets (lock held) ---------------------------------------------------------------- */

bool roomstate_ids_has(const struct roomops_ids *s, uint64_t id)
{
	for (uint32_t i = 0; i < s->n; i++)
		if (s->id[i] == id)
			return true;
	return false;
}

int roomstate_ids_add(struct roomops_ids *s, uint64_t id)
{
	if (roomstate_ids_has(s, id))
		return 0;
	if (s->n == s->cap) {
		uint32_t cap = s->cap ? s->cap * 2 : 4;
		uint64_t *p = realloc(s->id, cap * sizeof(*p));
		if (p == NULL)
			return -ENOMEM;
		s->id = p;
		s->cap = cap;
	}
	s->id[s->n++] = id;
	return 0;
}

void roomstate_ids_del(struct roomops_ids *s, uint64_t id)
{
	for (uint32_t i = 0; i < s->n; i++)
		if (s->id[i] == id) {
			s->id[i] = s->id[--s->n];
			return;
		}
}

void roomstate_init(struct room_state *s, bool lobby)
{
	memset(s, 0, sizeof(*s));
	s->lobby = lobby;
	s->modes = ROOM_MODE_TOPIC | ROOM_MODE_NOEXT;
	atomic_init(&s->moderated, false);
}

void roomstate_free(struct room_state *s)
{
	free(s->ops.id);
	free(s->voiced.id);
	free(s->bans);
	free(s->invites);
	memset(s, 0, sizeof(*s));
}

void roomstate_created(struct room_state *s, uint64_t id)
{
	if (!s->lobby)
		(void)roomstate_ids_add(&s->ops, id); /* no memory: a room without an operator */
}

void roomstate_left(struct room_state *s, uint64_t id)
{
	roomstate_ids_del(&s->ops, id);
	roomstate_ids_del(&s->voiced, id);
}

/* ---- masks ------------------------------------------------------------------------------------ */

bool roomstate_glob(const char *glob, size_t gn, const char *s, size_t n)
{
	size_t g = 0, i = 0, star_g = SIZE_MAX, star_i = 0;
	while (i < n) {
		if (g < gn && (glob[g] == '?' || glob[g] == s[i])) {
			g++;
			i++;
		} else if (g < gn && glob[g] == '*') {
			star_g = g++;
			star_i = i;
		} else if (star_g != SIZE_MAX) {
			g = star_g + 1;
			i = ++star_i;
		} else {
			return false;
		}
	}
	while (g < gn && glob[g] == '*')
		g++;
	return g == gn;
}

static bool is_glob(const char *m, size_t n)
{
	return memchr(m, '*', n) != NULL || memchr(m, '?', n) != NULL;
}

static bool glob_chars_valid(const char *m, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		char c = m[i];
		if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F') ||
		      c == '.' || c == ':' || c == '*' || c == '?'))
			return false;
	}
	return true;
}

bool roomstate_mask_valid(const char *mask, size_t n)
{
	struct cidr range;
	if (n == 0 || n > ROOMOPS_MASK_MAX)
		return false;
	if (name_valid(mask, n))
		return true;
	if (is_glob(mask, n))
		return glob_chars_valid(mask, n);
	return cidr_parse(mask, n, &range) == 0;
}

bool roomstate_mask_matches(const char *mask, const char *name, const struct cidr_addr *addr)
{
	size_t n = strlen(mask);
	if (name_valid(mask, n))
		return name_same(mask, n, name, strlen(name));
	if (is_glob(mask, n)) {
		char text[CIDR_ADDR_STRLEN];
		cidr_addr_format(addr, text, sizeof(text));
		return roomstate_glob(mask, n, text, strlen(text));
	}
	struct cidr range;
	return cidr_parse(mask, n, &range) == 0 && cidr_match(&range, addr);
}

static bool banned(const struct room_state *s, const char *name, const struct cidr_addr *addr)
{
	for (uint32_t i = 0; i < s->nbans; i++)
		if (roomstate_mask_matches(s->bans[i], name, addr))
			return true;
	return false;
}

/* The invitation for u's name, or -1. */
long roomstate_invite_find(const struct room_state *s, const char *name, size_t n)
{
	for (uint32_t i = 0; i < s->ninvites; i++)
		if (name_same(s->invites[i], strlen(s->invites[i]), name, n))
			return (long)i;
	return -1;
}

int roomstate_check_join(struct room_state *s, const char *name, const struct cidr_addr *addr,
			 uint32_t members, const char *key, size_t key_len)
{
	if (banned(s, name, addr))
		return ROOMOPS_E_BANNED;
	long inv = roomstate_invite_find(s, name, strlen(name));
	if ((s->modes & ROOM_MODE_INVITE) && inv < 0)
		return ROOMOPS_E_INVITE;
	if (s->key[0] != '\0' &&
	    (key == NULL || key_len != strlen(s->key) || memcmp(key, s->key, key_len) != 0))
		return ROOMOPS_E_KEY;
	if (members < s->cluster_members)
		members = s->cluster_members;
	if (s->limit > 0 && members >= s->limit)
		return ROOMOPS_E_FULL;
	if (inv >= 0 && (s->modes & ROOM_MODE_INVITE)) /* used: one entry per invitation */
		memmove(s->invites[inv], s->invites[--s->ninvites], sizeof(s->invites[0]));
	return 0;
}
