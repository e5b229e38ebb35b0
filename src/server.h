/*
 * server.h - chatd's lifecycle: listeners, workers, shutdown. This is the API the program and
 * the integration tests start servers with.
 *
 * struct server holds the state all workers share; each field says who writes it.
 */
#ifndef CHATD_SERVER_H
#define CHATD_SERVER_H

#include "config.h"
#include "directory.h"
#include "iplimit.h"
#include "memory.h"
#include "worker.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>

struct server {
	struct config cfg; /* read-only once workers run */
	unsigned nworkers;
	struct worker *workers; /* array of nworkers; see worker.h for ownership */
	uint16_t port;          /* the bound port */
	int backlog;
	long fd_limit;

	/* Touched once per connect/disconnect, never per message: */
	atomic_uint_fast64_t next_id; /* next user name; fetch_add by accepting workers */
	atomic_long users;            /* users in the room, all workers */
	atomic_long conns;            /* open client connections (checked against max_clients) */
	atomic_bool stopping;         /* set once by server_stop */
	struct directory dir;         /* names and rooms; its own lock (directory.h) */
	struct iplimit iplimit;       /* connections per address; its own lock (iplimit.h) */
	struct memory_guard mem;      /* --max-memory; atomics (memory.h) */

	/* the admin listener (admin.c), NULL when off: its thread's state, set up by admin_start
	 * and freed by admin_stop on the server's thread; touched by the admin thread between */
	struct admin *admin;
	uint16_t admin_port; /* written before the admin thread starts */
};

struct server_stats {
#define SERVER_STAT_FIELD(name, help) uint64_t name;
	WORKER_STATS(SERVER_STAT_FIELD)
#undef SERVER_STAT_FIELD
	long users;
	long conns;
};

/*
 * Binds one SO_REUSEPORT listener per worker and starts the workers. Returns 0 and sets *out,
 * or logs one clear line and returns -errno (e.g. -EADDRINUSE).
 */
int server_start(const struct config *cfg, struct server **out);

/* The admin listener's port (0 when --admin off). */
uint16_t server_admin_port(const struct server *srv);

/* The port the listeners are bound to (useful with --port 0). */
uint16_t server_port(const struct server *srv);

/* Asks every worker to stop: goodbye line, flush (bounded by drain-timeout), close. */
void server_stop(struct server *srv);

/* Waits for the workers to finish and frees everything. */
void server_wait(struct server *srv);

/* Sums the per-worker counters (relaxed reads; exact once the server is idle). */
void server_get_stats(struct server *srv, struct server_stats *out);

#endif
