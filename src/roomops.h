/*
 * roomops.h - rooms that can be run: a room's topic, its operators and voiced members, its
 * bans, key, member limit, invitations and modes, and what an operator may do to a room.
 * IRC's channel modes map onto this state one letter each (o v b k l i m n s t): the line
 * and browser commands (/topic, /op, /kick, /ban, /key, /limit, /invite, /mode...) and an IRC
 * front end's MODE, TOPIC, KICK and INVITE call the same functions.
 *
 * Rules:
 *   - The first user to enter a new room is its operator; the lobby has no operators (nobody
 *     can set its topic or modes). Operator and voice belong to a membership: leaving the
 *     room loses them. A room's state ends with the room (when its last member leaves).
 *   - +t (on by default): only operators set the topic; -t: any member. +n is always on (only
 *     members speak in a room). +i: only invited users enter (an invitation lets its user in
 *     once). +k KEY: /join ROOM KEY. +l N: at most N members. +m: only operators and voiced
 *     members speak. +s: the room is listed in /rooms to its members only.
 *   - Bans: a name (folded as the directory folds names: case and look-alikes), an address
 *     range (CIDR, cidr.h) or an address glob (127.0.0.*, ? for one character). A banned user
 *     cannot enter; banning kicks matching members (not the operator who bans).
 *   - With --cluster the state is the cluster's (docs/cluster.md, "Room state across nodes"):
 *     the first user to create a room on any node is its operator; a change made here is
 *     handed to cluster.c, and changes from every node come back through
 *     roomops_apply_locked.
 *
 * Threads: the state (roomstate.h) lives in struct room (directory.h) and is guarded by the
 * directory lock; every function here takes it. `moderated` is also kept in an atomic so
 * that the chat path reads it without the lock (roomops_may_speak), taking the lock only in
 * a moderated room. A join is checked by dir_join_key, under the same lock.
 */
#ifndef CHATD_ROOMOPS_H
#define CHATD_ROOMOPS_H

#include "command.h"
#include "roomstate.h"

#include <errno.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct directory;
struct room;
struct user;

/* ---- for the sessions (any worker; each takes the directory lock) ---- */

/* A member another worker must act on (kick, ban): its id and worker, its name. */
struct roomops_target {
	uint64_t id;
	unsigned worker;
	char name[NAME_MAX_LEN + 1];
};

/* Whether u may speak in r now (+m: operators and voiced members only). */
bool roomops_may_speak(struct directory *d, struct room *r, const struct user *u);

/* The topic, the name of who set it ("" when none): false when there is no topic. */
bool roomops_topic(struct directory *d, struct room *r, char topic[ROOMOPS_TOPIC_MAX + 1],
		   char by[NAME_MAX_LEN + 1]);
/* When the topic was set (Unix seconds; IRC's 333), 0 when there is none. */
int64_t roomops_topic_time(struct directory *d, struct room *r);
/* Sets (n > 0) or clears (n == 0) the topic: 0, ROOMOPS_E_NOTOP (+t) or ROOMOPS_E_INVALID
 * (too long). */
int roomops_set_topic(struct directory *d, struct room *r, const struct user *by, const char *text,
		      size_t n);

/* +o/-o ('o') or +v/-v ('v') for the member called name: 0, ROOMOPS_E_NOTOP or
 * ROOMOPS_E_NOUSER. t receives the member. */
int roomops_set_member(struct directory *d, struct room *r, const struct user *by, char mode,
		       bool on, const char *name, size_t n, struct roomops_target *t);

/* Checks that `by` may kick the member called name out of r: 0, ROOMOPS_E_NOTOP or
 * ROOMOPS_E_NOUSER. t receives the member (its worker moves it: session.c). */
int roomops_kick(struct directory *d, struct room *r, const struct user *by, const char *name,
		 size_t n, struct roomops_target *t);

/* Adds a ban: 0, ROOMOPS_E_NOTOP, ROOMOPS_E_INVALID (not a name, range or glob),
 * ROOMOPS_E_LISTFULL (--room-lists), -EEXIST or -ENOMEM. The matching members (not `by`) are written to
 * out (at most max; *nout how many). */
int roomops_ban(struct directory *d, struct room *r, const struct user *by, const char *mask,
		size_t n, struct roomops_target *out, size_t max, size_t *nout);
/* Removes a ban: 0, ROOMOPS_E_NOTOP or ROOMOPS_E_NOUSER (no such ban). */
int roomops_unban(struct directory *d, struct room *r, const struct user *by, const char *mask,
		  size_t n);
/* The bans as "* Bans in ROOM: a, b" (or "* No bans in ROOM."), one line ending in \n. */
size_t roomops_bans(struct directory *d, struct room *r, char *out, size_t cap);
/* Copies up to max of the bans into out (IRC's 367 list); returns how many. */
size_t roomops_ban_list(struct directory *d, struct room *r, char (*out)[ROOMOPS_MASK_MAX + 1],
			size_t max);

/* +k KEY (key != NULL) or -k: 0, ROOMOPS_E_NOTOP or ROOMOPS_E_INVALID. */
int roomops_set_key(struct directory *d, struct room *r, const struct user *by, const char *key,
		    size_t n);
/* +l N (N > 0) or -l (0): 0, ROOMOPS_E_NOTOP. */
int roomops_set_limit(struct directory *d, struct room *r, const struct user *by, uint32_t limit);
/* +i, +m, +s, +t and their '-' ('i', 'm', 's', 't'; 'n' cannot be unset): 0, ROOMOPS_E_NOTOP
 * or ROOMOPS_E_INVALID. */
int roomops_set_mode(struct directory *d, struct room *r, const struct user *by, char mode,
		     bool on);
/* Invites the user called name (it need not be online): 0, ROOMOPS_E_NOTOP,
 * ROOMOPS_E_LISTFULL (--room-lists pending). */
int roomops_invite(struct directory *d, struct room *r, const struct user *by, const char *name,
		   size_t n);
/* The modes as IRC writes them: "+int", "+ntkl KEY 5" (the key shown to members only: the
 * caller asks for it with show_key). */
size_t roomops_modes(struct directory *d, struct room *r, bool show_key, char *out, size_t cap);
/* The names of r's operators (mode 'o') or voiced members ('v'), ", "-separated (at most
 * cap bytes, NUL-terminated; "" for none). Returns the length. */
size_t roomops_names(struct directory *d, struct room *r, char mode, char *out, size_t cap);

/* ---- for the cluster (cluster.c; directory lock held) ---- */

/*
 * A change of a room's state that came through Redis (docs/cluster.md, "Room state"),
 * applied to s, a node's copy of the room's state, with the directory lock held. op:
 *   's' set FIELD to VALUE, 'd' delete FIELD; FIELD is "m" (the modes, a number), "k" (the
 *       key), "l" (the limit), "t" (the topic, "AT\tBY\tTEXT"), "b:MASK" (a ban) or
 *       "i:NAME" (an invitation);
 *   'o' / 'O' (+o / -o), 'v' / 'V' (+v / -v): FIELD is a member's name, looked for among r's
 *       members (r: the room on this node, or NULL);
 *   'k' kick: FIELD is a member's name; when r has it, *t receives it and true is returned;
 *   'n': VALUE is how many members the room has on every node (for +l).
 * Setting a value that is already there changes nothing: a change may be applied twice.
 */
bool roomops_apply_locked(struct room_state *s, struct room *r, char op, const char *field,
			  size_t fn, const char *value, size_t vn, struct roomops_target *t);
/* Copies src's modes, key, limit, topic, bans and invitations into dst (not its members'
 * modes): 0 or -ENOMEM. */
int roomops_copy_locked(struct room_state *dst, const struct room_state *src);

#endif
