/*
 * worker.h - one event-loop thread: its epoll set, its SO_REUSEPORT listener, its inbox's
 * eventfd, its timers, and every connection it accepted. The loop knows connections only
 * through their handlers (conn.h, struct conn_ops) and the layers above it only through the
 * hooks and handler tables they register: it includes none of their headers.
 *
 * Ownership: everything in struct worker except `inbox` (pushed to by every worker) and the
 * statistics (read by anyone, relaxed) is touched only by the worker's own thread once it
 * runs. Before the thread starts and after it is joined, the server's thread owns it all.
 */
#ifndef CHATD_WORKER_H
#define CHATD_WORKER_H

#include "cidr.h"
#include "conn.h"
#include "hub.h"
#include "inbox.h"
#include "list.h"
#include "log.h"
#include "timer.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
/* Counters: name and help. Each is written by its worker only and summed at read time. */
#define WORKER_COUNTERS(X)                                                                        \
	X(accepted, "connections accepted")                                                       \
	X(rejected_full, "connections refused because the server was full")                       \
	X(rejected_busy, "connections refused while the heap was over --max-memory")              \
	X(rejected_per_ip, "connections refused past --max-conns-per-ip")                         \
	X(accept_errors, "accept4 failures other than EAGAIN")                                    \
	X(accept_pauses, "accepting paused for lack of file descriptors")                         \
	X(lines_in, "chat and /me lines accepted and relayed")                                    \
	X(commands, "command lines")                                                              \
	X(commands_invalid, "command lines refused: unknown command or bad usage")                \
	X(renames, "successful /nick")                                                            \
	X(nick_rejected, "/nick refused: name taken")                                             \
	X(join_rejected, "/join refused: --max-rooms reached")                                    \
	X(private_sent, "/msg delivered to the recipient's worker")                               \
	X(private_unknown, "/msg to a name nobody has")                                           \
	X(auth_ok, "users signed in with a valid token (/auth, /ws?token=)")                      \
	X(auth_malformed, "tokens refused: not a JWS of three base64url parts and JSON")          \
	X(auth_bad_alg, "tokens refused: alg other than HS256 (none included)")                   \
	X(auth_bad_signature, "tokens refused: the signature does not match --auth-secret")       \
	X(auth_bad_claims, "tokens refused: sub, exp, nbf or rooms missing or malformed")         \
	X(auth_expired, "tokens refused: past exp")                                               \
	X(auth_not_yet_valid, "tokens refused: before nbf")                                       \
	X(auth_bad_name, "tokens refused: sub breaks the name rules")                             \
	X(auth_refused, "sign-ins refused otherwise: no --auth-secret, name signed in already")   \
	X(guest_refused, "guests' lines and commands refused under --require-auth")               \
	X(banned_refused, "connections refused because a ban covers their address")               \
	X(kicked, "users removed by an operator (POST /kick) or by a ban (POST /ban)")            \
	X(room_not_operator, "room orders refused: not an operator of the room")                  \
	X(room_banned, "joins refused: banned from the room (/ban)")                              \
	X(room_bad_key, "joins refused: the room's key missing or wrong (/key)")                  \
	X(room_full, "joins refused: the room at its member limit (/limit)")                      \
	X(room_invite_only, "joins refused: the room is invite-only and no invitation")           \
	X(room_moderated, "lines refused: the room is moderated and the user not voiced")         \
	X(room_list_full, "/ban or /invite refused: the room keeps --room-lists of them")         \
	X(room_cut_off, "room orders refused: --cluster and the link to Redis is down")           \
	X(room_kicks, "members kicked out of a room by its operator (/kick, /ban)")               \
	X(resumes, "WebSocket users who started in a room of their choosing (/ws?room=)")         \
	X(resume_gaps, "resuming users told of lines no longer kept (a gap)")                     \
	X(feed_json_users, "WebSocket users who asked for the JSON feed (/ws?format=json)")       \
	X(lines_rate_limited, "lines refused for passing --rate-limit")                           \
	X(flood_disconnects, "users disconnected for flooding past --rate-limit")                 \
	X(lines_too_long, "lines dropped for passing --max-line")                                 \
	X(lines_control, "lines dropped for control characters")                                  \
	X(lines_bad_utf8, "lines dropped for invalid UTF-8")                                      \
	X(lines_format, "lines dropped for bidi, separator or invisible characters")              \
	X(bytes_in, "bytes read from clients")                                                    \
	X(bytes_out, "bytes written to clients")                                                  \
	X(writes, "gather writes (sendmsg calls) that wrote data")                                \
	X(deliveries, "messages queued to a recipient")                                           \
	X(slow_disconnects, "users disconnected for passing --max-outbuf")                        \
	X(nomem_disconnects, "users disconnected for lack of memory")                             \
	X(nomem_errors, "requests refused for lack of memory, the user told")                     \
	X(nomem_dropped, "server notices dropped for lack of memory")                             \
	X(memory_evictions, "connections cut, largest first, while over --max-memory")            \
	X(resets, "connections ended by a read or write error")                                   \
	X(eofs, "connections ended by the peer (FIN)")                                            \
	X(inbox_msgs, "messages taken from this worker's inbox")                                  \
	X(wakeups_sent, "eventfd writes to wake another worker")                                  \
	X(input_pauses, "iterations that skipped reading because an inbox was too deep")          \
	X(http_requests, "HTTP requests answered (page, errors, upgrades)")                       \
	X(http_errors, "HTTP requests refused: malformed, too big, timed out, bad upgrade")       \
	X(ws_upgrades, "WebSocket users admitted")                                                \
	X(ws_origin_refused, "WebSocket upgrades refused for their Origin: 403")                  \
	X(ws_protocol_errors, "WebSocket connections closed for a protocol violation")            \
	X(proxy_headers, "PROXY protocol headers accepted (--proxy-protocol)")                    \
	X(proxy_untrusted, "connections refused under --proxy-protocol: not a trusted proxy")     \
	X(proxy_bad_header, "connections closed for a malformed PROXY protocol header")           \
	X(proxy_timeouts, "connections closed without a PROXY header in --handshake-timeout")     \
	X(proxy_forwarded, "WebSocket users addressed by X-Forwarded-For from a trusted proxy")   \
	X(ws_pings_sent, "pings sent to WebSocket users silent for --ws-ping-interval")           \
	X(ws_ping_timeouts, "WebSocket users closed (1001) for not answering a ping in time")     \
	X(irc_users, "IRC clients registered (--irc-port)")                                       \
	X(irc_pings_sent, "PINGs sent to IRC users silent for --irc-ping-interval")               \
	X(irc_ping_timeouts, "IRC users closed for not answering a PING in time")                 \
	X(irc_register_timeouts, "IRC clients closed for not registering in --irc-ping-interval") \
	X(irc_password_refused, "IRC clients refused for a wrong or missing --irc-password")      \
	X(irc_errors, "IRC commands answered with an error numeric")                              \
	X(irc_client_tags_dropped, "IRC PRIVMSGs/NOTICEs whose client-only tags were dropped")    \
	X(irc_tagmsgs, "IRC TAGMSGs relayed to the IRC users with message-tags")                  \
	X(irc_channels_refused, "JOINs refused for --irc-max-channels (405)")                     \
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
	GATE_PROXY,
	GATE_BANNED,
	GATE_ROOMOPS,
	GATE_IRC,
	GATE_COUNT
};

struct router;
struct sessions;

/* Lines fanned out since the last flush (lines_pending) that force a flush, and pause reading
 * and inbox draining until then: bounds the burst any one user's queue takes between two
 * writes. */
#define WORKER_FLUSH_BATCH_LINES 1024

/*
 * Work the layers above the loop need each iteration, in registration order:
 *   WORKER_HOOK_WAKE   right after the wake-up (the heap sample, routing's inbox drain);
 *                      returns true when it left work undone: the next wait does not block;
 *   WORKER_HOOK_INPUT  with the reads, skipped while input is paused (the listener's
 *                      accepts); returns true while it may have input left, like a
 *                      connection left on the ready list;
 *   WORKER_HOOK_SHUTDOWN  once, when the worker starts stopping, before the connections'
 *                      on_shutdown (the listener closes); the return value is ignored.
 * arg is what the hook was registered with: the layer's per-worker state.
 */
enum worker_hook_kind { WORKER_HOOK_WAKE, WORKER_HOOK_INPUT, WORKER_HOOK_SHUTDOWN };
typedef bool (*worker_hook_fn)(struct worker *w, void *arg);
struct worker_hook {
	worker_hook_fn fn;
	void *arg;
	enum worker_hook_kind kind;
};
#define WORKER_HOOKS_MAX 8

struct worker {
	struct inbox inbox; /* pushed to by every worker; consumed by this one's routing */
	struct hub *hub;
	/* the configuration in effect this iteration: taken from hub->live at every wake-up
	 * (live_enter), valid until the next; the settings SIGHUP may change are read here */
	const struct config *cfg;
	unsigned index;
	pthread_t thread;
	int epfd;
	int listen_fd;        /* -1 once shutting down */
	bool listener_ready;  /* accept4 has not yet returned EAGAIN (listener.c reads it) */
	int listen2_fd;       /* a second listener (another protocol's port), or -1 */
	bool listener2_ready; /* likewise for listen2_fd */
	const struct conn_ops *accept2_ops; /* a new connection's handlers on listen2_fd */
	bool input_paused;  /* a hook asked to skip reading (routing's backpressure) */
	bool input_pending; /* an input hook may have more (or the listener fired) */
	bool shutting_down;
	uint32_t nconns;        /* connections owned, draining ones included */
	uint32_t lines_pending; /* messages fanned out since the last flush (routing counts) */
	int64_t now_ms;         /* CLOCK_MONOTONIC at the start of this iteration */
	int64_t next_flush_us;  /* no flush before this (CLOCK_MONOTONIC, us): the holdoff */

	const struct conn_ops *accept_ops; /* a new connection's first handlers */
	struct worker_hook hooks[WORKER_HOOKS_MAX];
	unsigned nhooks;
	struct router *router;     /* routing's state (route.c); the loop never looks inside */
	struct sessions *sessions; /* the sessions' state (session.c); likewise */

	struct list_node conns; /* every connection, in accept order */
	struct list_node ready; /* connections with input not yet drained */
	struct conn *dirty;     /* output appended this iteration */
	struct conn *closing;   /* to be reaped at the end of this iteration */
	struct conn *dead;      /* to be freed after this iteration's flush */
	struct timers timers;
	struct timer trim_timer;

	char *rbuf;                        /* read buffer shared by this worker's connections */
	struct log_gate gates[GATE_COUNT]; /* one per kind of client-triggered log line */
	struct worker_stats stats;
	/* users on this worker now (a gauge), and the event-loop iteration time histogram
	 * (bucket i counts iterations up to worker_iter_bucket_us[i] microseconds, the last one
	 * has no bound); single writer, relaxed, read by the admin thread */
	_Atomic uint64_t users_now;
	_Atomic uint64_t ws_users_now; /* of which WebSocket users */
	_Atomic uint64_t iter_hist[WORKER_ITER_BUCKETS];
};

/* Sets up epoll, inbox and buffers; listen_fd is taken over; accept_ops are the handlers
 * every new connection starts with. Returns 0 or -errno. */
int worker_init(struct worker *w, struct hub *hub, unsigned index, int listen_fd,
		const struct conn_ops *accept_ops);

/* Adds a second listener (before the thread starts; fd is taken over): its connections start
 * with handlers ops (another protocol's port). Returns 0 or -errno (fd closed). */
int worker_add_listener(struct worker *w, int fd, const struct conn_ops *ops);

/* Registers a hook (before the thread starts). Returns 0 or -ENOSPC. */
int worker_add_hook(struct worker *w, enum worker_hook_kind kind, worker_hook_fn fn, void *arg);

/* The arg fn was registered with, or NULL (for the layer that frees it). */
void *worker_hook_arg(const struct worker *w, worker_hook_fn fn);

/* Releases what worker_init set up. The thread must be joined and the layers above detached
 * (their state freed, the inbox emptied). */
void worker_destroy(struct worker *w);

/* The thread body. */
void *worker_main(void *arg);

/* ---- for the layers above (worker thread only) ---- */

/* Takes over an accepted and admitted socket from addr: a connection with handlers ops (the
 * worker's accept_ops, or what comes before them: via.h), read at once. ip_key is its
 * --max-conns-per-ip count, or 0. Returns 0, or -ENOMEM / -errno with fd left to the caller. */
int worker_adopt(struct worker *w, int fd, const struct cidr_addr *addr, uint64_t ip_key,
		 const struct conn_ops *ops);

/* Takes over a socket chatd opened (non-blocking, connect in progress): a connection with
 * handlers ops, not a client (no --max-clients place, no address count). Writes wait for the
 * connect to complete (EPOLLOUT). Returns it, or NULL with fd left to the caller. */
struct conn *worker_connect(struct worker *w, int fd, const struct conn_ops *ops);

/* What c costs in memory now (conn_cost with this server's buffer sizes). */
size_t worker_conn_cost(const struct worker *w, const struct conn *c);

/* c has output queued: flush it at the end of this iteration. */
void worker_mark_dirty(struct worker *w, struct conn *c);

/* Ends the connection: its on_close runs and it is drained or closed at the end of this
 * iteration, by reason (conn.h). */
void worker_close_conn(struct worker *w, struct conn *c, enum conn_close_reason reason);

/* Stops listening: the listeners leave the epoll set and are closed (listen_fd and listen2_fd
 * become -1). */
void worker_close_listener(struct worker *w);

/* Swaps c's handlers (what it speaks is now known). */
void worker_set_ops(struct worker *w, struct conn *c, const struct conn_ops *ops);

/* Arms c's timer: its on_deadline runs at due_ms (timer.h: one fixed timeout per kind). */
void worker_arm_conn_timer(struct worker *w, struct conn *c, enum timer_kind kind, int64_t due_ms);

/*
 * The adaptive flush: after a flush that took took_us (wall time), the
 * next one waits took_us * (workers - 1), at most cap_us (--flush-interval); 0 with one
 * worker. Each worker
 * writes only its own users, so it waits while the others would take their turn: every user
 * is written about as often as one thread writing to all users would, whatever the worker
 * count, and the server's write rate (its cost: one sendmsg per user per flush) does not grow
 * with --workers. A lightly loaded worker's flush takes microseconds, so a line goes out in
 * the iteration that routed it; under load each write carries more lines. Wall time, not CPU
 * time: a flush preempted because more threads are busy than there are cores took longer, and
 * the worker then batches more, which is what a machine short of cores needs.
 */
int64_t worker_flush_holdoff_us(int64_t took_us, unsigned workers, int64_t cap_us);

/* Logs a client-triggered event of kind g, at most LOG_GATE_PER_SEC a second per kind and
 * worker; the rest are counted and reported as suppressed. */
#define worker_log_gated(w, g, lvl, conn, ...) \
	log_gated(&(w)->gates[(g)], (lvl), (int)(w)->index, (conn), __VA_ARGS__)

/* Counters have one writer: a relaxed load and store, no read-modify-write. */
static inline void stat_add(_Atomic uint64_t *counter, uint64_t n)
{
	atomic_store_explicit(counter, atomic_load_explicit(counter, memory_order_relaxed) + n,
			      memory_order_relaxed);
}

#endif
