/*
 * msg.h - immutable, reference-counted message buffers shared by every worker and recipient.
 *
 * A line is formatted once into one struct msg and never copied per recipient: output queues
 * hold pointers, writev points into msg->data.
 *
 * Two-level reference count, so the per-recipient path touches no shared cache line:
 *   - refs (atomic) counts the WORKERS holding the message. The creator sets it to the number
 *     of workers it will hand the message to (itself included) before publishing it, and each
 *     worker drops its one reference with msg_release when it is done with the message.
 *   - slot[w].local_refs (plain) counts the holds inside worker w: one while w is fanning
 *     the message out, plus one per output-queue entry. Only worker w touches slot[w]; when it
 *     reaches zero, w calls msg_release.
 * slot[w].node links the message into worker w's inbox. Each slot has its own cache line.
 *
 * Slots: a message that only one worker will ever hold (a reply to one user, a private
 * message) has a single slot, used whatever that worker's index (msg_slot); a room line has
 * one per worker. Each slot points back at its message, so a worker that pops a node from its
 * inbox finds the message without knowing how many slots it has.
 *
 * Memory: m->size is the whole allocation (header, slots, data). It is what a queued
 * reference to m can keep alive on its own, so output queues charge it against --max-outbuf
 * (msg_charge), not just the bytes that go on the wire.
 *
 * Everything but the two counts is written by the creator before the message is published and
 * read-only afterwards.
 */
#ifndef CHATD_MSG_H
#define CHATD_MSG_H

#include "common.h"
#include "inbox.h"

#include <stdbool.h>

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

/* How a worker picks a message's recipients (route_deliver). New routes add a kind here. */
enum msg_kind {
	MSG_ROOM,   /* to every member of room `room`, except `exclude` */
	MSG_DIRECT, /* to the one user `target` (on worker `target_worker`) */
	MSG_ALL,    /* to every user of the workers it is handed to */
	MSG_UPLINK, /* to the worker's uplink handler (the cluster: requests to the link, answers) */
	MSG_CONTROL, /* to the worker's control handler (an operator's order: session.h) */
};

/* msg.origin of a message pushed by a thread that is no worker (the admin thread). */
#define MSG_ORIGIN_OUTSIDE UINT32_MAX

struct msg;

struct msg_slot {
	_Alignas(CACHE_LINE) struct inbox_node node; /* link in worker w's inbox */
	struct msg *msg;                             /* back to the message; set at creation */
	uint32_t local_refs;                         /* worker w only */
};

struct msg {
	atomic_uint refs;       /* workers holding the message; see above */
	uint32_t len;           /* bytes in data */
	uint32_t size;          /* bytes allocated for the whole message */
	uint32_t origin;        /* index of the worker that created it (inbox accounting) */
	uint8_t kind;           /* enum msg_kind */
	uint8_t nslots;         /* 1 (one worker, whichever), or one per worker */
	bool raw;               /* sent as is to every kind of connection (HTTP responses,
				 * WebSocket control frames); otherwise a line ending in \n */
	bool json;              /* a JSON feed event (feed.h) for JSON connections alone */
	bool tagmsg;            /* an IRC TAGMSG ("NAME +TAGS", irc.h irc_tagmsg): for IRC users
				 * with message-tags alone, never kept in a room's history */
	uint8_t ws_head_len;    /* the WebSocket text-frame header for data[0..len-1), made */
	uint8_t ws_head[10];    /* once here and shared by every WebSocket recipient */
	uint64_t exclude;       /* MSG_ROOM: connection id that must not receive it, or 0 */
	uint64_t room;          /* MSG_ROOM: the room's id */
	uint64_t target;        /* MSG_DIRECT: the recipient's connection id. MSG_ROOM: 0, or
				 * a tag shared by the copies of one notice sent to several
				 * rooms (a rename): an IRC user in several gets it once */
	uint64_t hpos;          /* MSG_ROOM: its position in the room's history (history.h), or 0 */
	uint64_t seq;           /* MSG_ROOM kept in history: the room's sequence number */
	int64_t time_ms;        /* MSG_ROOM: when it was published (ms since the epoch), or 0 */
	char *data;             /* len bytes, after the slots */
	struct msg_slot slot[]; /* nslots */
};

/*
 * Allocates a message with room for len bytes of data and nslots worker slots (1 for a
 * message that only one worker will hold; otherwise the number of workers, at most 255).
 * kind is MSG_ROOM with no exclusion; refs is 0. Returns NULL when out of memory.
 */
struct msg *msg_new(size_t len, unsigned nslots);

/* What one queued reference to m is charged against --max-outbuf: the allocation it may keep
 * alive on its own, and its slot in an output ring. */
static inline size_t msg_charge(const struct msg *m)
{
	return (size_t)m->size + sizeof(struct msg *);
}

/* msg_new + snprintf-style formatting of the whole text. */
struct msg *msg_printf(unsigned nslots, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Sets the worker reference count before the message is published to other threads. */
static inline void msg_set_workers(struct msg *m, unsigned workers)
{
	atomic_init(&m->refs, workers);
}

/* Drops one worker reference; the thread that drops the last one frees the message. */
void msg_release(struct msg *m);

/* One more holder of a published message, taken while another holder keeps it alive (the
 * room's history, under its lock). relaxed: like a shared_ptr copy, ordering comes with the
 * handing over of the pointer. */
static inline void msg_hold(struct msg *m)
{
	atomic_fetch_add_explicit(&m->refs, 1, memory_order_relaxed);
}

/* Worker w's slot: its own, or the only one. */
static inline struct msg_slot *msg_slot(struct msg *m, unsigned w)
{
	return &m->slot[m->nslots == 1 ? 0 : w];
}

/* Worker w starts holding m locally (before fan-out). */
static inline void msg_local_begin(struct msg *m, unsigned w)
{
	msg_slot(m, w)->local_refs = 1;
}

static inline void msg_local_get(struct msg *m, unsigned w)
{
	msg_slot(m, w)->local_refs++;
}

static inline void msg_local_put(struct msg *m, unsigned w)
{
	if (--msg_slot(m, w)->local_refs == 0)
		msg_release(m);
}

static inline struct inbox_node *msg_node(struct msg *m, unsigned w)
{
	return &msg_slot(m, w)->node;
}

static inline struct msg *msg_from_node(struct inbox_node *n)
{
	return container_of(n, struct msg_slot, node)->msg;
}

/* Messages alive right now (allocated, not yet freed): for leak checks in tests. */
long msg_live_count(void);

#endif
