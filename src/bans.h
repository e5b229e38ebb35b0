/*
 * bans.h - the operators' bans (POST /ban on the admin listener, docs/deploy.md): an address
 * or an address range, or a name, for a while or for good, with a reason. A banned address is
 * refused when it starts a session (every front end; behind a proxy, the user's own address),
 * a banned name cannot be taken (/nick, signing in).
 *
 * With --state-dir the list is kept in DIR/bans and survives a restart: every change rewrites
 * the file whole, atomically (a temporary file, fsync, rename, fsync of the directory), so a
 * crash leaves the old list or the new one, never half of one. A change that cannot be saved
 * is not made.
 *
 * Threads: the admin thread adds and removes; workers check at session start, /nick and
 * sign-in; `lock` guards the list and the file. `count` lets the checks skip the lock when
 * there is no ban at all (relaxed: a ban added a moment earlier is found by the kick that
 * follows it, not by this check).
 */
#ifndef CHATD_BANS_H
#define CHATD_BANS_H

#include "cidr.h"
#include "common.h"

#include <limits.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define BAN_REASON_MAX 200 /* bytes of a ban's reason */
#define BAN_BY_MAX     96  /* who banned: "token 3f2a91c0 from 127.0.0.1:40312" */
#define BAN_VALUE_MAX  64  /* the address, range or name as given */

enum ban_kind { BAN_ADDR, BAN_NAME };

struct ban {
	uint64_t id;
	uint8_t kind;              /* enum ban_kind */
	struct cidr range;         /* BAN_ADDR: the address (a /32 or /128) or range */
	char value[BAN_VALUE_MAX]; /* as given: "10.0.0.0/8", "bob" */
	int64_t since_ms;          /* when it was made */
	int64_t until_ms;          /* when it ends; 0: never */
	char reason[BAN_REASON_MAX + 1];
	char by[BAN_BY_MAX];
};

struct ban_list {
	pthread_mutex_t lock;
	struct ban *v;
	size_t n, cap, max; /* max: --max-bans */
	uint64_t next_id;
	char path[PATH_MAX]; /* DIR/bans, or "" without --state-dir */
	atomic_size_t count; /* n, for the lock-free "no bans at all" check */
};

/* Sets up an empty list of at most max bans; with a state directory (dir not ""), loads
 * DIR/bans when it exists. Returns 0, or -errno with why[] saying what (a bad line of the
 * file: its number and what is wrong). */
int bans_init(struct ban_list *l, size_t max, const char *dir, char *why, size_t why_cap);
void bans_destroy(struct ban_list *l);

/* SIGHUP: reads DIR/bans again (an operator may have edited it while chatd ran, or restored a
 * copy) and, when it is valid, puts it in place of the list; a bad file changes nothing (why[]
 * says what). Present users are not re-checked: the file is for what newcomers meet. Returns
 * the number of bans now, 0 without --state-dir, or -errno. */
int bans_reload(struct ban_list *l, char *why, size_t why_cap);

/*
 * Parses a ban's target: an address or range (cidr_parse), else a name (name_valid). Fills
 * b->kind, b->range, b->value. Returns false when it is neither.
 */
bool bans_parse_target(const char *s, size_t n, struct ban *b);

/* Adds b (its id is set); saves the list. Returns 0, -ENOSPC past --max-bans, or the -errno
 * of the save (the ban is then not added). Expired bans are dropped first. */
int bans_add(struct ban_list *l, struct ban *b, int64_t now_ms);

/* Removes ban `id` and saves. Returns 0, -ENOENT, or the save's -errno (kept then). */
int bans_remove(struct ban_list *l, uint64_t id, struct ban *removed);

/* Removes every ban of target `value` (as given: "10.0.0.0/8", "bob") and saves; returns how
 * many went, or the save's -errno (none removed then). */
int bans_remove_target(struct ban_list *l, const char *value);

/* Whether addr / name[0..n) is banned now; the ban is copied to *hit when it is. */
bool bans_match_addr(struct ban_list *l, const struct cidr_addr *addr, int64_t now_ms,
		     struct ban *hit);
bool bans_match_name(struct ban_list *l, const char *name, size_t n, int64_t now_ms,
		     struct ban *hit);

/* Whether b (not the list: a ban already copied out) covers this address or name. */
bool ban_covers(const struct ban *b, const struct cidr_addr *addr, const char *name);

/* The bans in force as a JSON array, into out[0..cap) (snprintf-like: returns the length
 * needed). */
size_t bans_render_json(struct ban_list *l, int64_t now_ms, char *out, size_t cap);
/* One ban as a JSON object (snprintf-like). */
size_t ban_render_json(const struct ban *b, char *out, size_t cap);

#endif
