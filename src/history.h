/*
 * history.h - a room's last lines, for the history a user gets on joining and /history
 * (--history N lines, at most --history-bytes of messages per room; 0 lines: off).
 *
 * Only what users said is kept (chat lines and actions), never server notices or private
 * messages. Each entry holds a reference to the line's shared message (msg.h: the history is
 * one more holder of it), the room's sequence number of the line and the time it was said.
 *
 * Order: every entry also gets a position, counting the appends to this history, and the
 * message carries it (msg.hpos). A joining user is given the entries up to position P and
 * then receives only lines past P: no line twice, none missed (route_publish_room appends and
 * reads the room's worker mask under `lock`; a joining user's worker sets its bit in the mask
 * before it takes the entries under `lock`).
 *
 * Threads: any worker appends (the one publishing a room line) and reads (a joining user's);
 * the cluster's link worker also seeds it (older lines in front); `lock` guards everything
 * here.
 */
#ifndef CHATD_HISTORY_H
#define CHATD_HISTORY_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct msg;

struct history_entry {
	struct msg *m;   /* the line, a reference held */
	uint64_t seq;    /* the room's sequence number */
	int64_t time_ms; /* when it was said (server time, ms since the epoch) */
};

struct history {
	pthread_mutex_t lock;
	struct history_entry *ring; /* max_lines entries, allocated at the first append */
	uint32_t max_lines, head, count;
	size_t bytes, max_bytes; /* what the kept messages hold (msg_charge) */
	uint64_t last_pos;       /* position of the last append */
	uint64_t last_seq;       /* sequence number of the last line kept */
};

void history_init(struct history *h, uint32_t max_lines, size_t max_bytes);
/* Releases every kept line. */
void history_destroy(struct history *h);

/*
 * With `lock` held: keeps m, the next line of the room, as sequence number seq (0: the one
 * after the last), said at time_ms; the oldest lines go (released) past --history or
 * --history-bytes. Returns true when m is kept: the caller counts the history as one of m's
 * holders (msg_set_workers) before it lets go of the lock. m->hpos and m->seq are set.
 */
bool history_add(struct history *h, struct msg *m, uint64_t seq, int64_t time_ms);

/*
 * With `lock` held: puts lines said before the oldest line kept here in front of it (a
 * cluster node's history read from Redis, cluster.c). e[0..n) are the lines, oldest first,
 * each with its sequence number and time and a reference the history takes over (released
 * when the line is not kept). From the newest down, a line is skipped unless it is older than
 * every line kept (so no sequence number is kept twice), and the first one past --history or
 * --history-bytes, beside what is kept, ends the seed (older ones would leave a hole). The
 * lines kept take one position together, after every line appended so far: *pos receives it,
 * or the last position when none was kept (a user who took the history before has
 * seen_hpos below it). Returns how many lines were kept.
 */
size_t history_seed(struct history *h, struct history_entry *e, size_t n, uint64_t *pos);

/*
 * Copies the newest entries, at most max, into out, each with a reference taken for the
 * caller (msg_release each); returns how many. *pos receives the position of the last line
 * appended so far: the caller's user must not receive lines at or before it. Takes `lock`.
 */
size_t history_take(struct history *h, size_t max, struct history_entry *out, uint64_t *pos);

/* The sequence number of the last line kept so far (0: none yet). Takes `lock`. */
uint64_t history_last_seq(struct history *h);

#endif
