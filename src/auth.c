/*
 * auth.c - see auth.h.
 */
#include "auth.h"
#include "secret.h"
#include "bans.h"
#include "cluster.h"
#include "command.h"
#include "directory.h"
#include "hub.h"
#include "jwt.h"
#include "log.h"
#include "proto.h"
#include "route.h"
#include "worker.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

/* A token's rooms claim, kept on the connection (conn.auth_rooms). */
struct auth_rooms {
	size_t n;
	char name[JWT_ROOMS_MAX][ROOM_MAX_LEN + 1];
};

int auth_load_key(struct hub *hub)
{
	const struct config *cfg = &hub->cfg;
	hub->auth_key_len = 0;
	if (cfg->auth_secret[0] == '\0') {
		if (!cfg->require_auth)
			return 0;
		log_error(-1, 0, "--require-auth needs --auth-secret");
		return -EINVAL;
	}
	size_t len;
	int rc = secret_read_file(cfg->auth_secret, hub->auth_key, sizeof(hub->auth_key), &len);
	if (rc < 0 && rc != -E2BIG) {
		log_error(-1, 0, "--auth-secret %s: %s", cfg->auth_secret, strerror(-rc));
		return rc;
	}
	bool too_long = rc == -E2BIG;
	if (too_long || len < AUTH_KEY_MIN) {
		log_error(-1, 0, "--auth-secret %s: the key must be %d to %d bytes",
			  cfg->auth_secret, AUTH_KEY_MIN, HUB_AUTH_KEY_MAX - 2);
		memset(hub->auth_key, 0, sizeof(hub->auth_key));
		return -EINVAL;
	}
	hub->auth_key_len = len;
	log_info(-1, 0, "sign-in with tokens signed by --auth-secret%s",
		 cfg->require_auth ? "; guests may only read (--require-auth)" : "");
	return 0;
}

/* A refusal: c is told why, it is counted, and logged (gated: a client can cause it). */
static void refuse(struct worker *w, struct conn *c, const char *why, _Atomic uint64_t *counter)
{
	char line[PROTO_LINE_MAX];
	stat_add(counter, 1);
	worker_log_gated(w, GATE_BAD_LINE, LOG_INFO, c->id, "sign-in refused: %s", why);
	route_send_line(w, c, line, proto_auth_refused(line, sizeof(line), why));
}

static _Atomic uint64_t *counter_for(struct worker *w, int err)
{
	switch (err) {
	case JWT_BAD_ALG:
		return &w->stats.auth_bad_alg;
	case JWT_BAD_SIGNATURE:
		return &w->stats.auth_bad_signature;
	case JWT_BAD_CLAIMS:
		return &w->stats.auth_bad_claims;
	case JWT_EXPIRED:
		return &w->stats.auth_expired;
	case JWT_NOT_YET_VALID:
		return &w->stats.auth_not_yet_valid;
	default:
		return &w->stats.auth_malformed;
	}
}

/* Keeps the token's rooms on c; false (c told) when one breaks the room rules. */
static bool keep_rooms(struct worker *w, struct conn *c, const struct jwt_claims *cl)
{
	auth_forget(c);
	if (!cl->has_rooms)
		return true;
	struct auth_rooms *r = calloc(1, sizeof(*r));
	if (r == NULL) {
		refuse(w, c, "out of memory", &w->stats.auth_refused);
		return false;
	}
	for (size_t i = 0; i < cl->room_count; i++) {
		size_t len = strlen(cl->rooms[i]);
		if (!room_name_valid(cl->rooms[i], len)) {
			free(r);
			refuse(w, c, "a room of the token breaks the room rules",
			       &w->stats.auth_bad_name);
			return false;
		}
		memcpy(r->name[r->n++], cl->rooms[i], len + 1);
	}
	c->auth_rooms = r;
	return true;
}

void auth_sign_in(struct worker *w, struct conn *c, const char *token, size_t n)
{
	const struct hub *hub = w->hub;
	if (hub->auth_key_len == 0) {
		refuse(w, c, "this server has no sign-in", &w->stats.auth_refused);
		return;
	}
	struct jwt_claims cl;
	int rc = jwt_verify(token, n, hub->auth_key, hub->auth_key_len, (int64_t)time(NULL),
			    AUTH_SKEW_S, &cl);
	if (rc != JWT_OK) {
		refuse(w, c, jwt_error_text(rc), counter_for(w, rc));
		return;
	}
	size_t len = strlen(cl.sub);
	if (!name_valid(cl.sub, len) || name_looks_generated(cl.sub, len)) {
		refuse(w, c, "the token's name breaks the name rules", &w->stats.auth_bad_name);
		return;
	}
	if (bans_match_name(&w->hub->bans, cl.sub, len, clock_wall_ms(), NULL)) {
		refuse(w, c, "that name is banned", &w->stats.auth_refused);
		return;
	}
	if (c->user.verified && !name_same(c->user.name, strlen(c->user.name), cl.sub, len)) {
		refuse(w, c, "signed in already under another name", &w->stats.auth_refused);
		return;
	}
	if (keep_rooms(w, c, &cl))
		cluster_sign_in(w, c, cl.sub, len);
}

bool auth_refuse_guest(struct worker *w, struct conn *c)
{
	if (!w->hub->cfg.require_auth || c->user.verified)
		return false;
	char line[PROTO_LINE_MAX];
	stat_add(&w->stats.guest_refused, 1);
	route_send_line(w, c, line, proto_guest_refused(line, sizeof(line)));
	return true;
}

void auth_greet(struct worker *w, struct conn *c)
{
	if (!w->hub->cfg.require_auth)
		return;
	char line[PROTO_LINE_MAX];
	route_send_line(w, c, line, proto_sign_in_first(line, sizeof(line)));
}

static bool is_lobby(const char *name, size_t n)
{
	return n == strlen("lobby") && strncasecmp(name, "lobby", n) == 0;
}

/* Whether room name[0..n) is one of the claim's count rooms, each `stride` bytes apart. */
static bool listed(const char *rooms, size_t count, size_t stride, const char *name, size_t n)
{
	for (size_t i = 0; i < count; i++) {
		const char *r = rooms + i * stride;
		if (strlen(r) == n && strncasecmp(r, name, n) == 0)
			return true;
	}
	return false;
}

/* c may not enter name[0..n): told and counted. */
static bool refuse_room(struct worker *w, struct conn *c, const char *name, size_t n)
{
	char line[PROTO_LINE_MAX];
	stat_add(&w->stats.join_rejected, 1);
	route_send_line(w, c, line,
			proto_error(line, sizeof(line), "your sign-in does not let you into %.*s.",
				    (int)n, name));
	return false;
}

bool auth_may_enter(struct worker *w, struct conn *c, const char *name, size_t n)
{
	const struct auth_rooms *r = c->auth_rooms;
	if (r == NULL || is_lobby(name, n) || listed(r->name[0], r->n, sizeof(r->name[0]), name, n))
		return true;
	return refuse_room(w, c, name, n);
}

bool auth_token_lets_in(struct worker *w, struct conn *c, const char *token, size_t n,
			const char *room, size_t room_len)
{
	const struct hub *hub = w->hub;
	struct jwt_claims cl;
	if (hub->auth_key_len == 0 || jwt_verify(token, n, hub->auth_key, hub->auth_key_len,
						 (int64_t)time(NULL), AUTH_SKEW_S, &cl) != JWT_OK)
		return false;
	if (!cl.has_rooms || is_lobby(room, room_len) ||
	    listed(cl.rooms[0], cl.room_count, sizeof(cl.rooms[0]), room, room_len))
		return true;
	return refuse_room(w, c, room, room_len);
}

void auth_forget(struct conn *c)
{
	free(c->auth_rooms);
	c->auth_rooms = NULL;
}
