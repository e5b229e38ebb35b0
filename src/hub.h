/*
 * hub.h - what every worker of one server shares: the configuration, the directory of names
 * and rooms, the server-wide counts and limits, and the workers themselves (each one's inbox
 * is pushed to by all). The server (server.c) fills it in before any worker runs and frees it
 * after the last one is joined; in between each field says who may write it.
 *
 * It sits below the workers in the layering (docs/ARCHITECTURE.md): the event loop, routing
 * and the sessions reach the shared state through here, never through the server module that
 * starts them.
 */
#ifndef CHATD_HUB_H
#define CHATD_HUB_H

#include "cidr.h"
#include "bans.h"
#include "config.h"
#include "directory.h"
#include "iplimit.h"
#include "live.h"
#include "memory.h"

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

struct worker;
struct cluster;

#define HUB_AUTH_KEY_MAX 4096 /* the longest --auth-secret key */

struct hub {
	/* as started (max-clients derived): read-only once workers run. What may change while
	 * running (reload.c) is read from the worker's snapshot, w->cfg, instead (live.h). */
	struct config cfg;
	struct live live; /* the configuration in effect: its snapshots and their readers */
	unsigned nworkers;
	struct worker *workers; /* array of nworkers; see worker.h for ownership */

	/* Touched once per connect/disconnect, never per message: */
	atomic_uint_fast64_t next_id; /* next user name; fetch_add by accepting workers */
	atomic_long users;            /* users in the chat, all workers */
	atomic_long conns;            /* open client connections (checked against max_clients) */
	atomic_bool stopping;         /* set once by server_stop */
	/* --irc-password's bytes (read at start; read-only once workers run), irc_pass_len 0:
	 * none */
	uint8_t irc_pass[256];
	size_t irc_pass_len;
	struct directory dir;    /* names and rooms; its own lock (directory.h) */
	struct iplimit iplimit;  /* connections per address; its own lock (iplimit.h) */
	struct memory_guard mem; /* --max-memory; atomics (memory.h) */
	struct ban_list bans;    /* the operators' bans; its own lock (bans.h) */
	struct cluster *cluster; /* the link to the other nodes (cluster.c), or NULL: set
				       * before the workers run */
	/* carries out an operator's order that came from another node (operator_obey), called
	 * by the cluster's link worker; set before the workers run */
	void (*obey_order)(struct hub *hub, const char *order, size_t n);
	/* puts user id of worker `worker` out of room room_id (called room), kicked by a room
	 * operator of another node (session_room_kick_send), called by the cluster's link
	 * worker; set before the workers run */
	int (*room_kick)(struct hub *hub, unsigned worker, uint64_t id, uint64_t room_id,
			 const char *room, const char *by, const char *reason);
	/* --auth-secret's key (read once at start-up, never logged); auth_key_len 0: none */
	uint8_t auth_key[HUB_AUTH_KEY_MAX];
	size_t auth_key_len;
	struct cidr_list trusted; /* --trusted-proxies, parsed at start; read-only (via.h) */
};

#endif
