/*
 * server.h - chatd's lifecycle: listeners, workers, shutdown. This is the API the program and
 * the integration tests start servers with. The server module is the top of the layering: it
 * puts the workers together (the event loop, routing, sessions, the web front end) and owns
 * what they share (struct hub) from start to stop.
 */
#ifndef CHATD_SERVER_H
#define CHATD_SERVER_H

#include "config.h"
#include "hub.h"
#include "worker.h"

#include <stdint.h>

struct admin;

struct server {
	struct hub hub;    /* what the workers share (hub.h) */
	uint16_t port;     /* the bound port */
	uint16_t irc_port; /* the IRC clients' port (--irc-port), 0 when off */
	int backlog;
	long fd_limit;
	int auto_max_clients; /* what --max-clients 0 stands for (from the open-file limit) */
	/* the admin listener (admin.c), NULL when off: started and stopped on the server's
	 * thread; admin_port is written before its thread starts */
	struct admin *admin;
	uint16_t admin_port;
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

/* --check-config: what server_start would refuse before binding anything (the --auth-secret
 * key, the --user, the cluster's password file), each logged. Returns 0, or -EINVAL. */
int server_check(const struct config *cfg);

/* Fills in what cfg leaves to the server (--max-clients 0: from the open-file limit): the
 * configuration the workers go by, at start and at each reload. */
void server_derive(const struct server *srv, struct config *cfg);

/* The admin listener's port (0 when --admin off). */
uint16_t server_admin_port(const struct server *srv);

/* The IRC clients' port (--irc-port; useful with --irc-port 0), 0 when off. */
uint16_t server_irc_port(const struct server *srv);

/* The port the listeners are bound to (useful with --port 0). */
uint16_t server_port(const struct server *srv);

/* Asks every worker to stop: goodbye line, flush (bounded by drain-timeout), close. */
void server_stop(struct server *srv);

/* Waits for the workers to finish and frees everything. */
void server_wait(struct server *srv);

/* Sums the per-worker counters (relaxed reads; exact once the server is idle). */
void server_get_stats(struct server *srv, struct server_stats *out);

#endif
