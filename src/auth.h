/*
 * auth.h - signing in: a user shows a token that the website embedding the chat signed with
 * --auth-secret (an HS256 JWT, jwt.h), by `/auth TOKEN` or `/ws?token=TOKEN`, and gets the
 * token's name (`sub`), marked as signed in (/who shows it). A guest holding that name is
 * renamed and told (cluster.c does the renaming, on whichever worker or node the guest is).
 * A token's `rooms` claim, when present, lists the rooms the user may enter (the lobby
 * always). With --require-auth, guests may read but not speak, join or rename.
 *
 * Threads: auth_load_key runs once at start-up; everything else on the user's worker. The
 * key lives in the hub, read-only; neither it nor a token is ever logged.
 */
#ifndef CHATD_AUTH_H
#define CHATD_AUTH_H

#include <stdbool.h>
#include <stddef.h>

struct hub;
struct worker;
struct conn;

#define AUTH_SKEW_S  60 /* clock difference allowed with the website, each way (exp, nbf) */
#define AUTH_KEY_MIN 32 /* the shortest --auth-secret key accepted (bytes) */

/* Reads --auth-secret (the file's bytes, one final line end dropped) into the hub. Returns 0,
 * or -errno after logging why (unreadable, shorter than AUTH_KEY_MIN, longer than the hub
 * holds, --require-auth without it). */
int auth_load_key(struct hub *hub);

/* `/auth TOKEN` (and /ws?token=): verified, then the user signs in, or is told why not. */
void auth_sign_in(struct worker *w, struct conn *c, const char *token, size_t n);

/* --require-auth and c is not signed in: c is told (and it is counted); true. */
bool auth_refuse_guest(struct worker *w, struct conn *c);

/* Said to a newcomer once under --require-auth. */
void auth_greet(struct worker *w, struct conn *c);

/* Whether c may enter room name[0..n) (its token's rooms claim); when not, c is told. */
bool auth_may_enter(struct worker *w, struct conn *c, const char *name, size_t n);

/* Whether a newcomer that will sign in with token[0..n) right after may start in room
 * room[0..room_len) (/ws?room=&token=): the token is valid and its rooms claim, if any, lists
 * the room. When the room is refused and the token valid, c is told; an invalid token's
 * refusal comes with the sign-in. */
bool auth_token_lets_in(struct worker *w, struct conn *c, const char *token, size_t n,
			const char *room, size_t room_len);

/* Frees what signing in kept on c (conn_free's helper). */
void auth_forget(struct conn *c);

#endif
