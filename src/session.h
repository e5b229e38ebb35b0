/*
 * session.h - what a user does, from its first line to its last: entering the lobby, chat
 * lines, the commands (/nick, /join, /rooms, /who, /msg, /me, /quit, /help), leaving, and the
 * once-a-second summaries of large rooms. Built on routing (route.h) and the directory
 * (directory.h); lines reach it through intake (intake.h), whatever the user's transport.
 * Runs on the user's worker thread only.
 */
#ifndef CHATD_SESSION_H
#define CHATD_SESSION_H

#include "conn.h"

#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct worker;
struct hub;

/* Sets up w's session state (before w's thread starts); session_detach frees it after the
 * thread is joined. session_attach returns 0 or -ENOMEM. */
int session_attach(struct worker *w);
void session_detach(struct worker *w);

/* Where a newcomer asked to start (/ws?room=NAME&since=SEQ&token=...). */
struct session_entry {
	const char *room; /* a valid room name (room_name_valid), room_len bytes; 0: the lobby */
	size_t room_len;
	bool resume; /* it saw the room's lines up to `since`: it gets those after, or a gap */
	uint64_t since;
	const char *token; /* the token it will sign in with right after, token_len bytes, or 0 */
	size_t token_len;
	/* the name it asks for (an IRC user's NICK: name_valid), name_len bytes, or 0: the
	 * generated one. Taken before it enters the lobby when free (not banned, not held; alone:
	 * with --cluster it keeps the generated name) */
	const char *name;
	size_t name_len;
};

/* A newcomer: name, welcome line, the lobby or the room `at` asks for (NULL: the lobby).
 * Returns 0 or -ENOMEM. */
int session_start(struct worker *w, struct conn *c, const struct session_entry *at);

/* An operator's order about one user (operator.h), carried out by the user's worker. */
enum session_control {
	SESSION_KICK,      /* told why and disconnected; the room hears "kicked: REASON" */
	SESSION_BANNED,    /* the same, for a ban that covers it */
	SESSION_ROOM_KICK, /* a room's operator put it out of the room: to the lobby (roomops.h);
			    * an IRC user just leaves that channel */
};

/* A room's operator on another node put user `id` of worker `worker` out of room `room_id`
 * called room (cluster.c): the user's worker moves it to the lobby and tells it by whom and
 * why. Any thread. Returns 0 or -ENOMEM. */
int session_room_kick_send(struct hub *hub, unsigned worker, uint64_t id, uint64_t room_id,
			   const char *room, const char *by, const char *reason);

/* Asks worker `worker` to carry out `op` on user `id` (gone by then: nothing happens). Any
 * thread (the admin thread). reason: valid text, at most BAN_REASON_MAX bytes. Returns 0 or
 * -ENOMEM. */
int session_control_send(struct hub *hub, unsigned worker, uint64_t id, enum session_control op,
			 const char *reason);

/* Room r's history to c (one of its rooms), as on entering it. An IRC user with server-time
 * is not given it on entering a room (it would come before the JOIN): ircd.c shows it after. */
void session_show_history(struct worker *w, struct conn *c, struct room *r);

/* c (an IRC user) leaves r, one of its rooms: the room is told ("NAME has left."). */
void session_part(struct worker *w, struct conn *c, struct room *r);

/* The refusal a +m room gives a line of c's (conn.irc_refusal: ircd.c answers 404). */
#define SESSION_E_MODERATED (-EROFS)

/* One valid line (UTF-8, no control characters) from the user. */
void session_on_line(struct worker *w, struct conn *c, const char *line, size_t len);

/* Handlers for every kind of user (struct conn_ops): the user is closing, for any reason:
 * it leaves the chat (the room is told unless the server is stopping); the server is
 * stopping: the user is told and closed. */
void session_on_close(struct worker *w, struct conn *c);
void session_on_shutdown(struct worker *w, struct conn *c);

#endif
