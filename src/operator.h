/*
 * operator.h - what an operator does through the admin listener (docs/deploy.md "Operators"):
 * see who is connected and which rooms exist, remove a user, ban an address, range or name
 * and lift a ban. admin.c reads the request and checks the token; these functions do the
 * work and write the JSON answer.
 *
 * Threads: called on the admin thread. Users and rooms are read from the directory under its
 * lock (dir_list_users, dir_list_rooms); a user is removed by its own worker, asked through
 * that worker's inbox (session_control_send: the admin thread is one more producer of the
 * lock-free inbox), so no connection is touched from here. Bans live in the hub's ban list
 * (bans.h, its own lock). Every action is logged with who asked (the token's fingerprint and
 * the client's address), never with the token.
 */
#ifndef CHATD_OPERATOR_H
#define CHATD_OPERATOR_H

#include "http.h"

#include <stdbool.h>
#include <stddef.h>

struct hub;

/* One request to the operators' API. */
struct op_call {
	struct http_slice query; /* the target's query string, after '?' (may be empty) */
	struct http_slice body;  /* the body (may be empty): JSON, or form-encoded */
	struct http_slice rest;  /* the path after the route's own (DELETE /bans/ID: "ID") */
	const char *who;         /* "token 3f2a91c0 from 127.0.0.1:40312", for the log */
};

/* The answer: status and a malloc'd JSON body (NULL when out of memory: admin.c says 503). */
struct op_answer {
	int status;
	char *body;
	size_t len;
};

/* GET /users[?room=R][&name=N][&limit=K] */
void op_users(struct hub *hub, const struct op_call *q, struct op_answer *a);
/* GET /rooms */
void op_rooms(struct hub *hub, const struct op_call *q, struct op_answer *a);
/* POST /kick  name=N [reason=R] */
void op_kick(struct hub *hub, const struct op_call *q, struct op_answer *a);
/* POST /ban  target=ADDR|CIDR|NAME [duration=SECONDS] [reason=R] */
void op_ban(struct hub *hub, const struct op_call *q, struct op_answer *a);
/* GET /bans */
void op_bans(struct hub *hub, const struct op_call *q, struct op_answer *a);
/* DELETE /bans/ID */
void op_unban(struct hub *hub, const struct op_call *q, struct op_answer *a);

/*
 * With --cluster, kicks, bans and unbans reach every node: the node that took the request
 * carries it out and sends the order on (cluster_control); every other node carries it out
 * on its own users and bans here. Orders: "kick NAME<tab>REASON", "ban TARGET<tab>UNTIL_MS
 * <tab>BY<tab>REASON", "unban TARGET". Runs on the link worker; logs what it did.
 */
void operator_obey(struct hub *hub, const char *order, size_t n);

/* A request parameter: from a JSON body, a form-encoded body or the query string, in that
 * order, decoded into out (NUL-terminated). False when absent, too long or not text. */
bool op_param(const struct op_call *q, const char *name, char *out, size_t cap);

#endif
