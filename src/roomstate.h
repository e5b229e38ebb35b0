/*
 * roomstate.h - the state of a room that can be run (roomops.h has the rules and what an
 * operator may do): its modes, topic, key, limit, operators and voiced members (by user id),
 * bans and invitations, and the pure checks on them (a join, a ban mask). No locking here:
 * the state lives in struct room (directory.h) and every function is called with the
 * directory lock held. One exception: `moderated` mirrors +m in an atomic, so that the chat
 * path reads it without the lock.
 */
#ifndef CHATD_ROOMSTATE_H
#define CHATD_ROOMSTATE_H

#include "cidr.h"
#include "command.h"

#include <errno.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define ROOMOPS_TOPIC_MAX    200 /* bytes of a topic */
#define ROOMOPS_KEY_MAX      32  /* a key: 1-32 letters, digits, _ or - */
#define ROOMOPS_MASK_MAX     64  /* bytes of a ban mask */
#define ROOMOPS_LIST_DEFAULT 64  /* --room-lists: bans, and pending invitations, per room */
#define ROOMOPS_LIMIT_MAX    1000000

/* The modes a room may have (IRC letters). */
enum roomops_mode {
	ROOM_MODE_INVITE = 1u << 0,    /* i */
	ROOM_MODE_MODERATED = 1u << 1, /* m */
	ROOM_MODE_SECRET = 1u << 2,    /* s */
	ROOM_MODE_TOPIC = 1u << 3,     /* t */
	ROOM_MODE_NOEXT = 1u << 4,     /* n (always set) */
};

/* Why a join is refused (dir_join_key) or an order is not carried out. */
#define ROOMOPS_E_BANNED   (-EPERM)        /* 474 */
#define ROOMOPS_E_KEY      (-EKEYREJECTED) /* 475 */
#define ROOMOPS_E_FULL     (-EMLINK)       /* 471 */
#define ROOMOPS_E_INVITE   (-EACCES)       /* 473 */
#define ROOMOPS_E_NOTOP    (-ENOTSUP)      /* 482: not an operator of the room */
#define ROOMOPS_E_NOUSER   (-ENOENT)       /* 441: no such member of the room */
#define ROOMOPS_E_LISTFULL (-ENOSPC)       /* too many bans or invitations */
#define ROOMOPS_E_INVALID  (-EINVAL)       /* a bad mask, key or number */

struct roomops_ids {
	uint64_t *id;
	uint32_t n, cap;
};

struct room_state {
	uint32_t modes; /* enum roomops_mode */
	atomic_bool moderated;
	bool lobby;     /* no operators, nothing can be set */
	uint32_t limit; /* 0: none */
	/* --cluster, a room with a limit: its members on every node, as Redis last counted them
	 * (cluster.c); a join is checked against the larger of this and the members here */
	uint32_t cluster_members;
	char key[ROOMOPS_KEY_MAX + 1];
	char topic[ROOMOPS_TOPIC_MAX + 1];
	char topic_by[NAME_MAX_LEN + 1];
	int64_t topic_at;               /* when it was set (Unix seconds), 0 when none */
	struct roomops_ids ops, voiced; /* user ids, members only */
	char (*bans)[ROOMOPS_MASK_MAX + 1];
	uint32_t nbans;
	char (*invites)[NAME_MAX_LEN + 1]; /* folded names */
	uint32_t ninvites;
};

void roomstate_init(struct room_state *s, bool lobby);
void roomstate_free(struct room_state *s);

/* Whether the user (id, name, address) may enter (key: the one it gave, or NULL): 0 or a
 * ROOMOPS_E_* refusal, in IRC's order: ban, invite-only, key, limit. Takes an invitation it
 * uses. `members`: how many are in the room now (on this node; with --cluster the larger of
 * that and s->cluster_members counts). */
int roomstate_check_join(struct room_state *s, const char *name, const struct cidr_addr *addr,
			 uint32_t members, const char *key, size_t key_len);
/* The user `id` created the room: its operator (unless the lobby). */
void roomstate_created(struct room_state *s, uint64_t id);
/* The user `id` left the room: no longer an operator nor voiced there. */
void roomstate_left(struct room_state *s, uint64_t id);

bool roomstate_ids_has(const struct roomops_ids *set, uint64_t id);
/* 0 or -ENOMEM. */
int roomstate_ids_add(struct roomops_ids *set, uint64_t id);
void roomstate_ids_del(struct roomops_ids *set, uint64_t id);

/* The invitation of name (folded like names), or -1. */
long roomstate_invite_find(const struct room_state *s, const char *name, size_t n);

/* Whether mask is a valid ban mask (a name, a CIDR range or an address glob). */
bool roomstate_mask_valid(const char *mask, size_t n);
/* Whether the ban `mask` covers the user called name at addr. */
bool roomstate_mask_matches(const char *mask, const char *name, const struct cidr_addr *addr);
/* Whether s[0..n) matches glob[0..gn) ('*' any run, '?' one character). */
bool roomstate_glob(const char *glob, size_t gn, const char *s, size_t n);

#endif
