/*
 * directory.h - the server-wide directory: every user's name, and every room with its
 * members. One mutex (`lock`) guards all of it. Renames, joins, leaves, /who, /rooms and
 * /msg lookups take it; they are rare next to chat lines, and the chat path never does:
 * a chat line needs only its sender's room pointer and the room's atomic worker mask.
 *
 * Ownership:
 *   struct user   lives inside its connection, owned by the user's worker. Its fields are
 *                 written by that worker with the lock held, so the owner may read them
 *                 without the lock; every other thread reads them under the lock. One
 *                 exception: a slot's `index` is also rewritten, under the lock, by whichever
 *                 thread's leave swap-removes another member into its place; only the
 *                 directory reads it.
 *   struct room   allocated and freed here. `worker_mask` is atomic (see below); everything
 *                 else is under the lock. A room lives while it has members or while a worker
 *                 holds a reference (dir_room_get/put) to it.
 *
 * Memberships: a user is in rooms[0..nrooms) (user_room_at): slot 0 is its current room, the
 * one its typed lines and room commands act on, mirrored in `room` (NULL: in no room; an IRC
 * user's PRIVMSG names its room instead: conn.irc_to). A line or WebSocket user
 * is in one room at most; an IRC user may be in up to --irc-max-channels (and in none). Each
 * slot holds the user's index in that room's `users`, kept right by every swap-remove: the
 * moved user's slot for that room is found by a short scan of its rooms (on leaves only). The
 * worker's own view of the rooms a user receives lines of is its connection's (conn.h).
 */
#ifndef CHATD_DIRECTORY_H
#define CHATD_DIRECTORY_H

#include "cidr.h"
#include "command.h"
#include "history.h"
#include "map.h"
#include "roomstate.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

struct room {
	uint64_t id; /* never reused; messages name rooms by id */
	char name[ROOM_MAX_LEN + 1];
	/*
	 * Bit w is set while worker w has members here. Worker w alone sets and clears its bit
	 * (fetch_or/fetch_and, release) when its local member count goes 0->1 or 1->0; a worker
	 * publishing a line loads the mask (acquire) and pushes to those workers only. A user
	 * joining at the very moment a line is published may miss that line, never more.
	 */
	_Atomic uint64_t worker_mask;
	/* under the directory lock: */
	struct user **users; /* members, any worker */
	uint32_t nusers, cap;
	int refs;           /* 1 while listed, +1 per worker holding it */
	long entered, left; /* counted for the next summary (room above --notice-limit) */
	int64_t last_summary_ms;
	bool listed;
	struct room *hash_next;    /* rooms with the same name hash */
	struct room *summary_next; /* rooms with counts waiting for a summary */
	bool summary_queued;
	struct history hist;  /* its last lines: its own lock (history.h) */
	struct room_state st; /* topic, operators, bans, modes: roomstate.h (under the lock) */
};

/* One room a user is in (struct user's rooms). */
struct user_room {
	struct room *room;
	uint32_t index; /* in room->users */
};

/* How a user reaches the chat (GET /users' "protocol"). */
enum user_front { USER_FRONT_LINE, USER_FRONT_WS, USER_FRONT_WS_JSON, USER_FRONT_IRC };

struct user {
	uint64_t id; /* the connection id; the generated name is its decimal form */
	unsigned worker;
	/* set before dir_add_user, read-only afterwards (the operators' list reads them) */
	struct cidr_addr addr; /* the client's address (behind a proxy: the one it names) */
	uint8_t front;         /* enum user_front */
	int64_t since_ms;      /* when it entered the chat (wall clock) */
	/* bytes waiting in its output queue, as of its worker's last flush (relaxed store by
	 * the worker, relaxed loads by the operators' list: a figure, not a synchronisation) */
	_Atomic uint64_t queued;
	char name[NAME_MAX_LEN + 1];
	struct room *room;      /* rooms[0].room: the current room, or NULL */
	struct user_room first; /* slot 0 */
	struct user_room *more; /* slots 1..nrooms-1 (IRC users): more[i - 1], allocated */
	uint32_t nrooms, more_cap;
	bool listed;
	bool verified;          /* signed in: its name is vouched for by a token (auth.h) */
	struct user *hash_next; /* users with the same name hash */
};

/* Slot i < u->nrooms of u's rooms (0: the current room). */
static inline struct user_room *user_room_at(struct user *u, uint32_t i)
{
	return i == 0 ? &u->first : &u->more[i - 1];
}

/* u's slot for room r, or NULL when u is not in r. The owner's worker may call it without
 * the lock; any other thread holds it. */
static inline struct user_room *user_room_of(struct user *u, const struct room *r)
{
	for (uint32_t i = 0; r != NULL && i < u->nrooms; i++)
		if (user_room_at(u, i)->room == r)
			return user_room_at(u, i);
	return NULL;
}

/* The same by name (case-insensitive), or NULL. */
struct user_room *user_room_named(struct user *u, const char *name, size_t n);

struct directory {
	pthread_mutex_t lock;
	struct map names; /* map_hash_name(name_fold(name)) -> chain of struct user */
	struct map rooms; /* map_hash_name(room name) -> chain of struct room */
	long nrooms;
	long max_rooms; /* these two under the lock: a reload may change them */
	long notice_limit;
	uint64_t next_room_id;
	struct room *summaries; /* rooms with counts waiting */
	uint32_t room_lists;    /* bans, and invitations, per room: --room-lists (roomops.h) */
	uint32_t history_lines; /* each new room's history: --history, --history-bytes */
	size_t history_bytes;
	/* With --cluster (cluster.c; set before the workers start): called with the lock held
	 * when a room is made on this node for a user entering it. It fills the room's state
	 * from the cluster's copy and returns false when the room exists on another node (the
	 * user is checked like any joiner, and is not its operator); true: the user founds it. */
	bool (*room_seed)(void *ctx, struct room *r);
	void *room_seed_ctx;
};

int dir_init(struct directory *d, long max_rooms, long notice_limit);
void dir_destroy(struct directory *d);
/* The history each room keeps from now on (before any room exists): --history lines, at
 * most --history-bytes. */
void dir_set_history(struct directory *d, uint32_t lines, size_t bytes);
/* --room-lists: how many bans, and pending invitations, each room keeps (before any room
 * exists; dir_init sets ROOMOPS_LIST_DEFAULT). */
void dir_set_room_lists(struct directory *d, uint32_t n);
/* A reload's --max-rooms and --notice-limit (any thread; takes the lock). Rooms over a new,
 * lower --max-rooms stay; only new ones are refused. */
void dir_set_limits(struct directory *d, long max_rooms, long notice_limit);

/* Registers a newcomer under its generated name. Returns 0 or -ENOMEM. */
int dir_add_user(struct directory *d, struct user *u);

/* Removes u from its current room and from the names (now: for the summary clock); u must be
 * in one room at most (dir_leave the others first). *notice: send an individual leave notice
 * (false: counted for the room's summary, or no room). *room_left receives u's room (the
 * caller's worker still holds a reference to it). Frees u's extra slots. */
void dir_remove_user(struct directory *d, struct user *u, bool *notice, struct room **room_left,
		     int64_t *summary_due);

/* Renames u. Returns 0, or -EEXIST when another user has a name that folds alike (command.h:
 * case and look-alikes) or the name folds like a generated one. old receives the previous
 * name. */
int dir_rename(struct directory *d, struct user *u, const char *name, size_t n,
	       char old[NAME_MAX_LEN + 1]);

struct join_result {
	struct room *from;   /* the room left, or NULL */
	struct room *to;     /* the room entered; the caller must dir_room_get it if it keeps it */
	bool notice_from;    /* send an individual leave notice to `from` */
	bool notice_to;      /* send an individual entry notice to `to` */
	long members;        /* members of `to` after the join */
	int64_t summary_due; /* a count went to a room summary due then (ms), or 0 */
	bool op;             /* u created `to`: its operator (roomstate.h) */
	bool invite_used;    /* u came in on an invitation, now used up (--cluster tells) */
	char topic[ROOMOPS_TOPIC_MAX + 1]; /* `to`'s topic ("": none) and who set it */
	char topic_by[NAME_MAX_LEN + 1];
};

/* Calls fn(r, arg) with the lock held, r the room called name[0..n) or NULL (cluster.c). */
void dir_with_room(struct directory *d, const char *name, size_t n,
		   void (*fn)(struct room *r, void *arg), void *arg);

/* Moves u into the room `name` (created if new). Returns 0, -EALREADY (already there),
 * -ENOSPC (--max-rooms reached; `exempt` rooms, the lobby, may always be created) or
 * -ENOMEM. */
int dir_join(struct directory *d, struct user *u, const char *name, size_t n, bool exempt,
	     int64_t now, struct join_result *res);
/* The same with the key u gives (NULL: none): an existing room may also refuse u for its
 * rules (roomstate.h): ROOMOPS_E_BANNED, _INVITE, _KEY or _FULL. dir_join gives no key. */
int dir_join_key(struct directory *d, struct user *u, const char *name, size_t n, bool exempt,
		 int64_t now, const char *key, size_t key_len, struct join_result *res);

/* The same, keeping u in the rooms it is in (an IRC user: `to` becomes its current room);
 * -ETOOMANYREFS when u is in `max` rooms already. */
int dir_join_also(struct directory *d, struct user *u, const char *name, size_t n, bool exempt,
		  int64_t now, const char *key, size_t key_len, uint32_t max,
		  struct join_result *res);

/* Takes u out of r (one of its rooms; its current room becomes another of them, or none).
 * Returns whether to send an individual leave notice; *summary_due as in join_result. The
 * caller's worker holds a reference to r. */
bool dir_leave(struct directory *d, struct user *u, struct room *r, int64_t now,
	       int64_t *summary_due);

/* Makes r, one of u's rooms, its current one (what its typed lines and room commands are
 * about). False when u is not in r. */
bool dir_set_current(struct directory *d, struct user *u, struct room *r);

/* Writes the names of the rooms the user called name is in ("#a #b", each with prefix in
 * front), at most cap bytes. False when there is no such user. */
bool dir_user_rooms(struct directory *d, const char *name, size_t n, const char *prefix, char *out,
		    size_t cap);

/* Marks u signed in (its worker, after renaming it to the token's name). */
void dir_set_verified(struct directory *d, struct user *u);

/* Finds a user by name, folded (any case, look-alikes): fills id, worker and the name as
 * spelled. */
bool dir_lookup(struct directory *d, const char *name, size_t n, uint64_t *id, unsigned *worker,
		char spelled[NAME_MAX_LEN + 1]);
/* The same, also saying whether that user is signed in. */
bool dir_lookup_verified(struct directory *d, const char *name, size_t n, uint64_t *id,
			 unsigned *worker, bool *verified);

/* The most names a /who answer shows (then "and N more"): PROTO_WHO_MAX(DIR_WHO_NAMES_MAX)
 * bytes hold the longest answer. */
#define DIR_WHO_NAMES_MAX 200

/* Writes the /who answer for u's room ("* 3 users in lobby: a, b, c\n", at most cap bytes). */
size_t dir_who(struct directory *d, const struct user *u, char *out, size_t cap);
/* The same for the room called name[0..n) (the "no room" line when there is none). */
size_t dir_who_in(struct directory *d, const char *name, size_t n, char *out, size_t cap);

/* Copies the names of up to max members of the room called room[0..n) into out; returns how
 * many (0 when there is no such room). */
size_t dir_room_names(struct directory *d, const char *room, size_t n,
		      char (*out)[NAME_MAX_LEN + 1], size_t max);

/* Writes the /rooms answer (one "* " line per room, a header first), at most cap bytes; when
 * not every room fits, a last line "*   and N more" says how many were left out. */
size_t dir_rooms(struct directory *d, char *out, size_t cap);
/* The same as `viewer` sees it: secret rooms (+s) it is not in are left out (NULL: all). */
size_t dir_rooms_for(struct directory *d, const struct user *viewer, char *out, size_t cap);

long dir_room_count(struct directory *d);

/* One user as dir_list_users copies it. */
#define DIR_ENTRY_OTHERS (4 * (ROOM_MAX_LEN + 1))
struct dir_entry {
	uint64_t id;
	unsigned worker;
	char name[NAME_MAX_LEN + 1];
	char room[ROOM_MAX_LEN + 1]; /* its current room; "" when in no room */
	/* its other rooms (an IRC user's), space-separated: as many as DIR_ENTRY_OTHERS holds */
	char others[DIR_ENTRY_OTHERS + 1];
	bool verified;
	uint8_t front; /* enum user_front */
	struct cidr_addr addr;
	int64_t since_ms;
	uint64_t queued;
};

/* One room as dir_list_rooms copies it. */
struct dir_room {
	char name[ROOM_MAX_LEN + 1];
	uint32_t members;
	uint32_t history_lines; /* lines its history holds now */
};

/* Copies up to max of the rooms (in no particular order) into out; returns how many. */
size_t dir_list_rooms(struct directory *d, struct dir_room *out, size_t max);

/* Copies up to max of the users (in no particular order) into out; returns how many it
 * copied. */
size_t dir_list_users(struct directory *d, struct dir_entry *out, size_t max);

void dir_room_get(struct directory *d, struct room *r);
void dir_room_put(struct directory *d, struct room *r);

/* The room called name[0..n) (case-insensitive) with a reference taken for the caller
 * (dir_room_put it), or NULL when there is none. */
struct room *dir_room_find(struct directory *d, const char *name, size_t n);

struct summary {
	struct room *room; /* with a reference taken for the caller: dir_room_put it */
	long entered, left;
};

/*
 * Takes the counts of rooms whose summary is due (at most one per room per second), up to
 * max of them. Returns how many; *next_due is when the next waiting room is due, or 0.
 */
int dir_take_summaries(struct directory *d, int64_t now, struct summary *out, int max,
		       int64_t *next_due);

#endif
