/*
 * worker.h - one event-loop thread: its epoll set, its SO_REUSEPORT listener, its inbox, and
 * every connection it accepted.
 *
 * Ownership: everything in struct worker except `inbox` (pushed to by every worker) and
 * `stats` (read by anyone, relaxed) is touched only by the worker's own thread once it runs.
 * Before the thread starts and after it is joined, the server's thread owns it all.
 */
#ifndef CHATD_WORKER_H
#define CHATD_WORKER_H

#include "config.h"
#include "conn.h"
#include "inbox.h"
#include "list.h"
#include "log.h"
#include "map.h"
#include "room.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

struct server;

/* Counters: name and help. Each is written by its worker only and summed at read time. */
#define WORKER_COUNTERS(X)                                                                  \
	X(accepted, "connections accepted")                                                 \
	X(rejected_full, "connections refused because the server was full")                 \
	X(rejected_busy, "connections refused while the heap was over --max-memory")        \
	X(rejected_per_ip, "connections refused past --max-conns-per-ip")                   \
	X(accept_errors, "accept4 failures other than EAGAIN")                              \
	X(accept_pauses, "accepting paused for lack of file descriptors")                   \
	X(lines_in, "chat and /me lines accepted and relayed")                              \
	X(commands, "command lines")                                                        \
	X(commands_invalid, "command lines refused: unknown command or bad usage")          \
	X(renames, "successful /nick")                                                      \
	X(nick_rejected, "/nick refused: name taken")                                       \
	X(join_rejected, "/join refused: --max-rooms reached")                              \
	X(private_sent, "/msg delivered to the recipient's worker")                         \
	X(private_unknown, "/msg to a name nobody has")                                     \
	X(lines_rate_limited, "lines refused for passing --rate-limit")                     \
	X(flood_disconnects, "users disconnected for flooding past --rate-limit")           \
	X(lines_too_long, "lines dropped for passing --max-line")                           \
	X(lines_control, "lines dropped for control characters")                            \
	X(lines_bad_utf8, "lines dropped for invalid UTF-8")                                \
	X(lines_format, "lines dropped for bidi, separator or invisible characters")        \
	X(bytes_in, "bytes read from clients")                                              \
	X(bytes_out, "bytes written to clients")                                            \
	X(writes, "gather writes (sendmsg calls) that wrote data")                          \
	X(deliveries, "messages queued to a recipient")                                     \
	X(slow_disconnects, "users disconnected for passing --max-outbuf")                  \
	X(nomem_disconnects, "users disconnected for lack of memory")                       \
	X(nomem_errors, "requests refused for lack of memory, the user told")               \
	X(nomem_dropped, "server notices dropped for lack of memory")                       \
	X(memory_evictions, "connections cut, largest first, while over --max-memory")      \
	X(resets, "connections ended by a read or write error")                             \
	X(eofs, "connections ended by the peer (FIN)")                                      \
	X(inbox_msgs, "messages taken from this worker's inbox")                            \
	X(wakeups_sent, "eventfd writes to wake another worker")                            \
	X(input_pauses, "iterations that skipped reading because an inbox was too deep")    \
	X(http_requests, "HTTP requests answered (page, errors, upgrades)")                 \
	X(http_errors, "HTTP requests refused: malformed, too big, timed out, bad upgrade") \
	X(ws_upgrades, "WebSocket users admitted")                                          \
	X(ws_origin_refused, "WebSocket upgrades refused for their Origin: 403")            \
	X(ws_protocol_errors, "WebSocket connections closed for a protocol violation")      \
	X(iterations, "event-loop iterations")

/* All of the above, and one maximum (not a counter: /metrics shows it as a gauge). */
#define WORKER_STATS(X)    \
	WORKER_COUNTERS(X) \
	X(max_iteration_us, "longest event-loop iteration, microseconds")

struct worker_stats {
#define WORKER_STAT_FIELD(name, help) _Atomic uint64_t name;
	WORKER_STATS(WORKER_STAT_FIELD)
#undef WORKER_STAT_FIELD
};

#define WORKER_ITER_BUCKETS 10
extern const uint64_t worker_iter_bucket_us[WORKER_ITER_BUCKETS - 1];

/* Kinds of log lines a client can trigger; each is limited to 10 a second per worker. */
enum gate {
	GATE_BAD_LINE,
	GATE_SLOW,
	GATE_ACCEPT,
	GATE_FULL,
	GATE_RATE,
	GATE_HTTP,
	GATE_WS,
	GATE_MEMORY,
	GATE_COUNT
};

struct worker {
	struct inbox inbox; /* pushed to by every worker; consumed by this one */
	struct server *srv;
	unsigned index;
	pthread_t thread;
	int epfd;
	int listen_fd;            /* -1 once shutting down */
	bool listener_ready;      /* accept4 has not yet returned EAGAIN */
	int64_t accept_resume_ms; /* accepting paused until then (EMFILE), or 0 */

	struct map by_id;       /* connection id -> struct conn, for users in the chat */
	struct map local_rooms; /* room id -> struct local_room (room.h) */
	uint32_t nconns;        /* connections owned, draining ones included */

	struct list_node ready;       /* connections with input not yet drained */
	struct list_node draining;    /* connections flushing before close, by deadline */
	struct list_node sniffing;    /* new connections waiting for their first bytes (web.c) */
	struct list_node handshaking; /* HTTP connections reading their request (web.c) */
	struct conn *dirty;           /* output appended this iteration */
	struct conn *closing;         /* to be reaped at the end of this iteration */
	struct conn *dead;            /* to be freed after this iteration's flush */
	bool inbox_more;              /* the inbox budget ran out with messages left */
	int64_t summary_due_ms;       /* this worker counted notices not yet summarised, or 0 */
	bool shutting_down;

	char *rbuf;                        /* read buffer shared by this worker's connections */
	struct log_gate gates[GATE_COUNT]; /* one per kind of client-triggered log line */
	struct worker_stats stats;
	/* users on this worker now (a gauge), and the event-loop iteration time histogram
	 * (bucket i counts iterations up to ITER_BUCKET_US[i] microseconds, the last one has
	 * no bound); single writer, relaxed, read by the admin thread */
	_Atomic uint64_t users_now;
	_Atomic uint64_t ws_users_now; /* of which WebSocket users */
	_Atomic uint64_t iter_hist[WORKER_ITER_BUCKETS];

	/*
	 * Inbox accounting, for backpressure: pushed_to[j] counts messages this worker pushed
	 * into worker j's inbox; popped_from[i] counts messages this worker popped that worker
	 * i created. Each array is written by its owner only (relaxed stores) and read by the
	 * others (relaxed loads), so pushed_to[j] - workers[j].popped_from[me] is how deep our
	 * share of j's inbox is, give or take messages in flight.
	 */
	_Alignas(CACHE_LINE) _Atomic uint64_t pushed_to[CONFIG_MAX_WORKERS];
	_Alignas(CACHE_LINE) _Atomic uint64_t popped_from[CONFIG_MAX_WORKERS];
	bool input_paused;      /* our share of some inbox is over INBOX_HIGH: stop reading */
	int64_t now_ms;         /* CLOCK_MONOTONIC at the start of this iteration */
	int64_t trim_ms;        /* next pass giving back idle connections' output rings */
	int64_t next_flush_us;  /* no flush before this (CLOCK_MONOTONIC, us): the holdoff */
	uint32_t lines_pending; /* messages fanned out since the last flush */
	uint32_t shed_round;    /* the last --max-memory round this worker took part in */
};

/* Sets up epoll, inbox and buffers; listen_fd is taken over. Returns 0 or -errno. */
int worker_init(struct worker *w, struct server *srv, unsigned index, int listen_fd);

/* Releases what worker_init set up and everything left in the inbox. Thread must be joined. */
void worker_destroy(struct worker *w);

/* The thread body. */
void *worker_main(void *arg);

/*
 * Primitives for session.c (worker thread only). A message from worker_msg_new is filled in
 * by the caller, then handed to exactly one publish function, which takes it over. A message
 * for worker_publish_direct is made with one_worker (one slot); one for worker_publish_room
 * without (a slot per worker).
 */
struct msg *worker_msg_new(struct worker *w, size_t len, bool one_worker);
void worker_publish_room(struct worker *w, struct room *r, struct msg *m);
void worker_publish_direct(struct worker *w, struct msg *m, uint64_t target,
			   unsigned target_worker);
void worker_send_line(struct worker *w, struct conn *c, const char *text, size_t len);
/* raw: sent as is to every kind of connection (HTTP responses, WebSocket control frames) */
void worker_send(struct worker *w, struct conn *c, const char *text, size_t len, bool raw);
/* Line protocol input: frames bytes into lines and hands each to worker_take_line. */
void worker_feed_lines(struct worker *w, struct conn *c, const char *buf, size_t n);
/* One line from a user, whatever its transport: rate limit, validation, then the session. */
bool worker_take_line(struct worker *w, struct conn *c, enum line_event ev, const char *text,
		      size_t len);
void worker_enqueue(struct worker *w, struct conn *c, struct msg *m);
/* c has output queued (by conn_queue_reply): flush it at the end of this iteration. */
void worker_mark_dirty(struct worker *w, struct conn *c);
/* Flood control: charges one line (or WebSocket control frame) to c's token bucket. Returns
 * false when it is refused: c was told, and is closing when it kept flooding. */
bool worker_rate_take(struct worker *w, struct conn *c);
void worker_close_conn(struct worker *w, struct conn *c, enum conn_close_reason reason);
/* The adaptive flush: how long a worker waits after a flush that took took_us before the
 * next one: took_us x (workers - 1), at most cap_us (--flush-interval); 0 with one worker.
 * Microseconds when lightly loaded (a line goes out at once), growing with the load and with
 * preemption. */
int64_t worker_flush_holdoff_us(int64_t took_us, unsigned workers, int64_t cap_us);
/* Logs a client-triggered event, at most 10 a second per kind; the rest are counted and
 * reported as suppressed. */
void worker_log_gated(struct worker *w, enum gate g, enum log_level lvl, uint64_t conn,
		      const char *fmt, ...) __attribute__((format(printf, 5, 6)));

/* Counters have one writer: a relaxed load and store, no read-modify-write. */
static inline void stat_add(_Atomic uint64_t *counter, uint64_t n)
{
	atomic_store_explicit(counter, atomic_load_explicit(counter, memory_order_relaxed) + n,
			      memory_order_relaxed);
}

#endif
