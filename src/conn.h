/*
 * conn.h - one client connection: its socket, its input framer and its output queue.
 *
 * A connection belongs for its whole life to the worker that accepted it (`worker`); only that
 * worker's thread ever touches it, so nothing here is atomic or locked.
 *
 * Output queue: a ring of message references (allocated at the first message, shrunk back by
 * conn_trim once a burst is over). The worker appends during an event-loop iteration and
 * flushes once at the end, gathering every queued message into one sendmsg (a writev with
 * MSG_NOSIGNAL). out_off counts the bytes of the oldest message already written after a
 * partial write.
 *
 * Two sizes of the queue: out_bytes, the bytes still to go on the wire (flush bookkeeping),
 * and out_charge, the memory the queue may keep alive: each entry is charged its message's
 * whole allocation (msg_charge), which is what --max-outbuf limits. A 2-byte WebSocket pong
 * costs its allocation, not 2 bytes.
 *
 * Control replies (WebSocket pongs): at most one unsent reply is queued (conn_queue_reply);
 * a newer one replaces its bytes until the first of them is written.
 */
#ifndef CHATD_CONN_H
#define CHATD_CONN_H

#include "cidr.h"
#include "directory.h"
#include "list.h"
#include "msg.h"
#include "proto.h"
#include "timer.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum conn_close_reason {
	CLOSE_NONE,
	CLOSE_EOF,      /* peer finished sending (FIN): flush what it is owed, then close */
	CLOSE_RESET,    /* read/write error (RST, EPIPE...): close now */
	CLOSE_SLOW,     /* output queue passed --max-outbuf */
	CLOSE_NOMEM,    /* out of memory for this connection */
	CLOSE_SHUTDOWN, /* server stopping: flush, then close */
	CLOSE_QUIT,     /* the user typed /quit: flush, then close */
	CLOSE_FLOOD,    /* kept sending past --rate-limit: close */
	CLOSE_MEMORY,   /* cut to bring the heap back under --max-memory */
	CLOSE_KICKED,   /* an operator removed it, or a ban covers it: flush, then close */
};

struct worker;
struct conn;

/* A room whose lines this connection's user receives on its worker: it is in that room's
 * local member array (room.h) at local_index. A line or WebSocket user has one at most (its
 * room); an IRC user one per channel it is in. */
struct conn_room {
	struct room *room;
	uint32_t local_index;
	uint64_t seen_hpos; /* room lines at or before this history position were in the room's
			     * history the user got on joining it (history.h) */
};

/*
 * What a connection does with what happens to it: its handlers. Set when the connection is
 * accepted (the worker's first table: web.c's sniffer) and swapped when what it speaks is
 * known (line user, HTTP request, WebSocket user). The event loop calls these and nothing
 * else of the layers above it. A NULL handler does nothing.
 */
struct conn_ops {
	const char *name; /* "sniff", "line", "http", "websocket": for logs */
	/* Accepted: set up what the table needs (a timer, a welcome). */
	void (*on_open)(struct worker *w, struct conn *c);
	/* Bytes read from the socket. buf is the worker's read buffer and may be written to
	 * (WebSocket frames are unmasked in place). */
	void (*on_bytes)(struct worker *w, struct conn *c, char *buf, size_t n);
	/* The connection's timer (c->timer) expired. */
	void (*on_deadline)(struct worker *w, struct conn *c);
	/* The connection is closing, whatever the reason, and is still whole: leave the chat.
	 * Called once, before it drains or is freed. */
	void (*on_close)(struct worker *w, struct conn *c);
	/* The server is stopping: say goodbye, then close (worker_close_conn). */
	void (*on_shutdown)(struct worker *w, struct conn *c);
	/* Last words to a connection being cut (its queue was just thrown away; out_off tells
	 * whether a message had been cut mid-way): write them now, best effort. */
	void (*say_last)(struct worker *w, struct conn *c, const char *line, size_t n, bool mid);
};

struct ws_parser;

struct conn {
	uint64_t id;           /* the user's name; unique server-wide, never reused */
	uint64_t ip_key;       /* its address's count in --max-conns-per-ip (iplimit.h), or 0 */
	struct cidr_addr addr; /* the client's address: the peer's, or the one a trusted proxy
				* named (via.h) */
	int fd;
	unsigned worker;  /* owning worker's index (its msg slot) */
	struct user user; /* name and room, registered in the directory */
	/* the rooms it receives lines of: local[0..nlocal), local_room_at (room.c keeps them) */
	struct conn_room local_first; /* the first */
	struct conn_room *local_more; /* the others (IRC users): local_more[i - 1], allocated */
	uint32_t nlocal, local_more_cap;
	void *auth_rooms; /* auth.c's: the rooms a signed-in user's token lets it into, or NULL */
	bool readable;    /* EPOLLIN seen and not yet drained to EAGAIN */
	bool peer_closed; /* EPOLLRDHUP/EPOLLHUP seen: read on until EOF */
	bool writable;    /* false after EAGAIN on write, until EPOLLOUT */
	bool on_ready;    /* linked in the worker's ready list (ready_link) */
	bool draining;    /* closed, flushing what it is owed (timer: TIMER_DRAIN) */
	bool on_dirty;    /* linked in the worker's dirty (to flush) list */
	bool closing;     /* left (or leaving) the chat; no more input is read */
	bool outbound;    /* opened by chatd (the cluster link), not a client */
	uint8_t close_reason;       /* enum conn_close_reason */
	const struct conn_ops *ops; /* its handlers: what it speaks */
	bool ws_framed;             /* lines go out as WebSocket text frames (conn_enqueue) */
	bool feed_json;             /* a JSON feed user (/ws?format=json): lines go out as events */
	bool resume_pending;        /* resuming in a room whose lines are on their way from Redis */
	uint64_t resume_since;      /* and the last number it saw there (session.c) */
	bool ws_ping_out;           /* WebSocket users: chatd's ping awaits any answer (web.c) */
	bool irc_quiet;             /* IRC users: lines not sent raw are dropped (registering) */
	bool irc_echo;              /* IRC users: echo-message: its own room lines come back */
	bool irc_time;              /* IRC users: server-time: "@time=" on what it is told */
	bool irc_tags;              /* IRC users: message-tags: "msgid=" on room lines */
	uint64_t irc_once;   /* IRC users: the tag of the last room notice sent to several rooms
			    * that it got (msg.h target): the others' copies are skipped */
	struct room *irc_to; /* IRC users: the channel of the PRIVMSG being run (ircd.c), or NULL:
			      * a chat line goes to the current room */
	int irc_refusal;     /* IRC users: the ROOMOPS_E_* refusal of the last order, told by ircd.c
			  * as a numeric instead of an error line (session.c sets it) */
	void *irc; /* ircd.c's state of an IRC user (plain memory), or NULL: lines go out as IRC
		    * messages (irc.h irc_render) */
	struct line_framer in; /* line users: the partial line */
	char *pre;             /* before it is a user: bytes read so far (lazy) */
	uint32_t pre_len;
	struct ws_parser *ws;   /* WebSocket users: frame parser */
	struct timer timer;     /* its one deadline: sniff, handshake, ws ping, drain (timer.h) */
	uint32_t rate_tokens;   /* flood control: lines available now, x1000 (token bucket) */
	uint32_t rate_refused;  /* lines refused in the current second */
	int64_t rate_ms;        /* when the bucket was last refilled */
	int64_t rate_window_ms; /* start of the second rate_refused counts */

	struct msg **outq;  /* ring of references; NULL when empty */
	uint32_t out_head;  /* index of the oldest entry */
	uint32_t out_count; /* entries in the ring */
	uint32_t out_cap;   /* ring size, a power of two */
	uint32_t out_off;   /* bytes of outq[out_head] already written */
	size_t out_bytes;   /* bytes queued and not yet written */
	size_t out_charge;  /* sum of msg_charge over the queued entries */
	size_t out_limit;   /* out_charge past which it is cut as slow: 0 = --max-outbuf (users;
			     * chatd's own connections, the cluster link, set theirs) */
	struct msg *reply;  /* the queued control reply, while none of it is written */

	struct list_node conn_link;  /* worker's list of all its connections */
	struct list_node ready_link; /* worker's ready list: input not yet drained */
	struct conn *next_dirty;     /* worker's dirty list: output to flush this iteration */
	struct conn *next_close;     /* worker's close list, then its dead list */
};

/* Local room i < c->nlocal of c. */
static inline struct conn_room *conn_room_at(struct conn *c, uint32_t i)
{
	return i == 0 ? &c->local_first : &c->local_more[i - 1];
}

/* c's local room r, or NULL when c does not receive r's lines (a short scan). */
static inline struct conn_room *conn_room_of(struct conn *c, const struct room *r)
{
	for (uint32_t i = 0; i < c->nlocal; i++)
		if (conn_room_at(c, i)->room == r)
			return conn_room_at(c, i);
	return NULL;
}

struct conn *conn_new(int fd, uint64_t id, unsigned worker);

/* Closes the socket, releases queued messages and the input buffer, frees c. */
void conn_free(struct conn *c);

/* Appends a reference to m (taking a local hold). Returns 0 or -ENOMEM. */
int conn_enqueue(struct conn *c, struct msg *m);

/* The longest control reply conn_queue_reply takes: a WebSocket control frame. */
#define CONN_REPLY_MAX (2 + 125)

/*
 * Queues a control reply of n <= CONN_REPLY_MAX bytes, sent as is. When an earlier reply is
 * still queued and none of its bytes is written, its bytes are replaced instead (RFC 6455
 * 5.5.3 allows answering only the most recent ping), so a connection never holds more than
 * one unsent reply however many pings arrive. Returns 0 or -ENOMEM.
 */
int conn_queue_reply(struct conn *c, const void *bytes, size_t n);

/* Writes n bytes now, bypassing the queue, best effort (last words before a close). */
void conn_send_now(const struct conn *c, const void *bytes, size_t n);

/* Frees the handshake buffer and the WebSocket parser, if any. */
void conn_drop_handshake(struct conn *c);

/* Drops every queued message. */
void conn_discard_output(struct conn *c);

/*
 * Writes queued output: one write, repeated while the kernel takes everything, at most
 * max_writes times. Several queued messages are first copied into scratch[0..scratch_cap)
 * (the caller's buffer, free during the call) and written as one contiguous piece: the
 * kernel's cost per iovec is higher than the copy (docs/benchmarks.md, "Where the time
 * goes"). Returns 0 when the queue is empty, -EAGAIN when the socket is full (c->writable is
 * cleared) or when the write budget ran out with data left, or another -errno on a write
 * error. *written receives the bytes written.
 */
int conn_flush(struct conn *c, int max_writes, char *scratch, size_t scratch_cap, size_t *written);

/*
 * What c costs in memory now: the connection, its queued output (out_charge) and its input
 * buffers. line_buf and head_buf are the sizes of a partial-line buffer (--max-line + 1) and
 * an HTTP head buffer (--max-http-header), which are allocated whole.
 */
size_t conn_cost(const struct conn *c, size_t line_buf, size_t head_buf);

/* Shrinks an empty output ring back to its minimum. Returns true when it did. */
bool conn_trim(struct conn *c);

/* What c's queue may hold before c is cut as a slow consumer (max_outbuf: --max-outbuf). */
static inline size_t conn_out_max(const struct conn *c, size_t max_outbuf)
{
	return c->out_limit != 0 ? c->out_limit : max_outbuf;
}

#endif
