/*
 * room.h - a worker's own view of the rooms: for each room that has members on this worker,
 * the array of those members. Fan-out of a room line walks this array only, so a room line
 * costs a worker only its own members of that room.
 *
 * Owned by one worker; only its thread touches a struct local_room. The first local member
 * sets the worker's bit in the room's worker_mask and takes a reference on the room; the last
 * one to leave clears the bit and drops the reference.
 *
 * A member's position in `members` is kept in its connection's entry for that room (conn.h,
 * conn_room.local_index): a user in several rooms (IRC) has one per room. A swap-remove
 * finds the moved member's entry for the room by a short scan of its rooms (leaves only).
 */
#ifndef CHATD_ROOM_H
#define CHATD_ROOM_H

#include "conn.h"
#include "directory.h"
#include "map.h"

struct local_room {
	struct room *room;
	struct conn **members;
	uint32_t n, cap;
	/* the largest seen_hpos (conn.h) any member has had here, never lowered: a line past it
	 * is in no member's history block, so the fan-out skips the per-member check */
	uint64_t seen_max;
};

/* The local members of room `room_id`, or NULL when this worker has none. */
static inline struct local_room *room_local_find(struct map *rooms, uint64_t room_id)
{
	return map_get(rooms, room_id);
}

/* Adds c (whose user is already in r in the directory; c must not be a local member of r
 * yet): c's conn_room for r records where. Returns 0 or -ENOMEM. */
int room_local_add(struct map *rooms, struct directory *d, unsigned worker, struct room *r,
		   struct conn *c);

/* Removes c from its local room r (nothing when c is not one of its members; NULL: none). */
void room_local_remove(struct map *rooms, struct directory *d, unsigned worker, struct room *r,
		       struct conn *c);

#endif
