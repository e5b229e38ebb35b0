/*
 * directory.c - names and rooms under one mutex (see directory.h).
 */
#include "directory.h"
#include "common.h"
#include "proto.h"
#include "timer.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define SUMMARY_PERIOD_MS 1000

int dir_init(struct directory *d, long max_rooms, long notice_limit)
{
	memset(d, 0, sizeof(*d));
	d->max_rooms = max_rooms;
	d->notice_limit = notice_limit;
	d->next_room_id = 1;
	d->room_lists = ROOMOPS_LIST_DEFAULT;
	return -pthread_mutex_init(&d->lock, NULL);
}

static void room_free(struct room *r)
{
	history_destroy(&r->hist);
	roomstate_free(&r->st);
	free(r->users);
	free(r);
}

void dir_set_history(struct directory *d, uint32_t lines, size_t bytes)
{
	d->history_lines = lines;
	d->history_bytes = bytes;
}

void dir_set_room_lists(struct directory *d, uint32_t n)
{
	d->room_lists = n;
}

void dir_set_limits(struct directory *d, long max_rooms, long notice_limit)
{
	pthread_mutex_lock(&d->lock);
	d->max_rooms = max_rooms;
	d->notice_limit = notice_limit;
	pthread_mutex_unlock(&d->lock);
}

void dir_destroy(struct directory *d)
{
	size_t pos = 0;
	uint64_t key;
	void *v;
	while (map_next(&d->rooms, &pos, &key, &v)) {
		for (struct room *r = v, *next; r != NULL; r = next) {
			next = r->hash_next;
			room_free(r);
		}
	}
	map_free(&d->rooms);
	map_free(&d->names);
	pthread_mutex_destroy(&d->lock);
}

/* ---- names (lock held) ------------------------------------------------------------------ */

/* The map key of a name: the hash of its look-alike fold (command.h), so names that fold
 * alike share a chain. */
static uint64_t name_key(const char *name, size_t n)
{
	char folded[NAME_MAX_LEN];
	if (n > NAME_MAX_LEN)
		n = NAME_MAX_LEN; /* only for lookups, which find nothing that long */
	name_fold(name, n, folded);
	return map_hash_name(folded, n);
}

static struct user *name_find(struct directory *d, const char *name, size_t n)
{
	if (n > NAME_MAX_LEN)
		return NULL;
	struct user *u = map_get(&d->names, name_key(name, n));
	for (; u != NULL; u = u->hash_next)
		if (name_same(u->name, strlen(u->name), name, n))
			return u;
	return NULL;
}

static int name_insert(struct directory *d, struct user *u)
{
	uint64_t h = name_key(u->name, strlen(u->name));
	u->hash_next = map_get(&d->names, h);
	return map_put(&d->names, h, u);
}

static void name_remove(struct directory *d, struct user *u)
{
	uint64_t h = name_key(u->name, strlen(u->name));
	struct user *head = map_get(&d->names, h);
	if (head == u) {
		if (u->hash_next != NULL)
			map_put(&d->names, h, u->hash_next); /* replaces: cannot fail */
		else
			map_del(&d->names, h);
		return;
	}
	for (struct user *p = head; p != NULL; p = p->hash_next)
		if (p->hash_next == u) {
			p->hash_next = u->hash_next;
			return;
		}
}

/* ---- rooms (lock held) -------------------------------------------------------------------- */

static struct room *room_find(struct directory *d, const char *name, size_t n)
{
	struct room *r = map_get(&d->rooms, map_hash_name(name, n));
	for (; r != NULL; r = r->hash_next)
		if (strlen(r->name) == n && strncasecmp(r->name, name, n) == 0)
			return r;
	return NULL;
}

static struct room *room_create(struct directory *d, const char *name, size_t n, bool lobby)
{
	struct room *r = calloc(1, sizeof(*r));
	if (r == NULL)
		return NULL;
	memcpy(r->name, name, n);
	r->id = d->next_room_id++;
	r->refs = 1;
	r->listed = true;
	r->last_summary_ms = INT64_MIN / 2;
	uint64_t h = map_hash_name(name, n);
	r->hash_next = map_get(&d->rooms, h);
	if (map_put(&d->rooms, h, r) < 0) {
		free(r);
		return NULL;
	}
	history_init(&r->hist, d->history_lines, d->history_bytes);
	roomstate_init(&r->st, lobby);
	d->nrooms++;
	return r;
}

static void room_put_locked(struct room *r)
{
	if (--r->refs == 0)
		room_free(r);
}

/* Takes an empty room off the list; it is freed when the last worker lets go of it. */
static void room_unlist(struct directory *d, struct room *r)
{
	uint64_t h = map_hash_name(r->name, strlen(r->name));
	struct room *head = map_get(&d->rooms, h);
	if (head == r) {
		if (r->hash_next != NULL)
			map_put(&d->rooms, h, r->hash_next);
		else
			map_del(&d->rooms, h);
	} else {
		for (struct room *p = head; p != NULL; p = p->hash_next)
			if (p->hash_next == r) {
				p->hash_next = r->hash_next;
				break;
			}
	}
	if (r->summary_queued) {
		struct room **pp = &d->summaries;
		while (*pp != r)
			pp = &(*pp)->summary_next;
		*pp = r->summary_next;
		r->summary_queued = false;
	}
	r->listed = false;
	d->nrooms--;
	room_put_locked(r);
}

/* Whether u is in r (lock held, or u's own worker). */
static bool user_in(const struct user *u, const struct room *r)
{
	for (uint32_t i = 0; i < u->nrooms; i++)
		if ((i == 0 ? &u->first : &u->more[i - 1])->room == r)
			return true;
	return false;
}

struct user_room *user_room_named(struct user *u, const char *name, size_t n)
{
	for (uint32_t i = 0; i < u->nrooms; i++) {
		struct user_room *s = user_room_at(u, i);
		if (strlen(s->room->name) == n && strncasecmp(s->room->name, name, n) == 0)
			return s;
	}
	return NULL;
}

/* Room for one more slot in u (lock held). */
static int slot_reserve(struct user *u)
{
	if (u->nrooms == 0 || u->nrooms - 1 < u->more_cap)
		return 0;
	uint32_t cap = u->more_cap ? u->more_cap * 2 : 4;
	struct user_room *more = realloc(u->more, cap * sizeof(*more));
	if (more == NULL)
		return -ENOMEM;
	u->more = more;
	u->more_cap = cap;
	return 0;
}

/* Swaps slots i and 0: r = slot i's room becomes the current one (lock held). */
static void slot_make_current(struct user *u, uint32_t i)
{
	if (i != 0) {
		struct user_room t = u->first;
		u->first = *user_room_at(u, i);
		*user_room_at(u, i) = t;
	}
	u->room = u->nrooms > 0 ? u->first.room : NULL;
}

/* Removes slot i (its last takes its place; lock held). */
static void slot_remove(struct user *u, uint32_t i)
{
	*user_room_at(u, i) = *user_room_at(u, u->nrooms - 1);
	u->nrooms--;
	u->room = u->nrooms > 0 ? u->first.room : NULL;
}

/* The index of u's slot for r (u is in r; lock held). */
static uint32_t slot_index(struct user *u, const struct room *r)
{
	uint32_t i = 0;
	while (i + 1 < u->nrooms && user_room_at(u, i)->room != r)
		i++;
	return i;
}

/* Adds u to r as its current room; r and u must have room (room_reserve, slot_reserve). */
static void room_add_user(struct room *r, struct user *u)
{
	struct user_room *s = user_room_at(u, u->nrooms++);
	s->room = r;
	s->index = r->nusers;
	r->users[r->nusers++] = u;
	slot_make_current(u, u->nrooms - 1);
}

/* Counts a join or leave for the summary; returns when that summary is due. */
static int64_t room_count(struct directory *d, struct room *r, bool entered, int64_t now)
{
	if (entered)
		r->entered++;
	else
		r->left++;
	if (!r->summary_queued) {
		r->summary_queued = true;
		r->summary_next = d->summaries;
		d->summaries = r;
	}
	int64_t due = r->last_summary_ms + SUMMARY_PERIOD_MS;
	return due > now ? due : now;
}

/* Removes u from r, one of its rooms; says whether to send an individual notice. */
static bool room_remove_user(struct directory *d, struct user *u, struct room *r, int64_t now,
			     int64_t *due)
{
	bool notice = true;
	if (r->nusers > d->notice_limit) {
		*due = room_count(d, r, false, now);
		notice = false;
	}
	uint32_t i = slot_index(u, r);
	uint32_t at = user_room_at(u, i)->index;
	struct user *last = r->users[--r->nusers];
	r->users[at] = last;
	user_room_at(last, slot_index(last, r))->index = at;
	slot_remove(u, i);
	roomstate_left(&r->st, u->id);
	if (r->nusers == 0)
		room_unlist(d, r);
	return notice;
}

/* ---- public API --------------------------------------------------------------------------- */

int dir_add_user(struct directory *d, struct user *u)
{
	snprintf(u->name, sizeof(u->name), "%llu", (unsigned long long)u->id);
	pthread_mutex_lock(&d->lock);
	int rc = name_insert(d, u);
	u->listed = rc == 0;
	pthread_mutex_unlock(&d->lock);
	return rc;
}

void dir_remove_user(struct directory *d, struct user *u, bool *notice, struct room **room_left,
		     int64_t *summary_due)
{
	*notice = false;
	*room_left = u->room;
	*summary_due = 0;
	pthread_mutex_lock(&d->lock);
	if (u->room != NULL)
		*notice = room_remove_user(d, u, u->room, clock_now_ms(), summary_due);
	if (u->listed)
		name_remove(d, u);
	u->listed = false;
	free(u->more);
	u->more = NULL;
	u->more_cap = 0;
	pthread_mutex_unlock(&d->lock);
}

int dir_rename(struct directory *d, struct user *u, const char *name, size_t n,
	       char old[NAME_MAX_LEN + 1])
{
	pthread_mutex_lock(&d->lock);
	struct user *holder = name_find(d, name, n);
	int rc = 0;
	if ((holder != NULL && holder != u) || name_looks_generated(name, n)) {
		rc = -EEXIST;
		goto out;
	}
	memcpy(old, u->name, sizeof(u->name));
	name_remove(d, u);
	memset(u->name, 0, sizeof(u->name));
	memcpy(u->name, name, n);
	if (name_insert(d, u) < 0) { /* put the old name back: it had a slot a moment ago */
		memcpy(u->name, old, sizeof(u->name));
		name_insert(d, u);
		rc = -ENOMEM;
	}
out:
	pthread_mutex_unlock(&d->lock);
	return rc;
}

static int room_reserve(struct room *r)
{
	if (r->nusers < r->cap)
		return 0;
	uint32_t cap = r->cap ? r->cap * 2 : 8;
	/* NOLINTNEXTLINE(bugprone-sizeof-expression): an array of pointers */
	struct user **users = realloc(r->users, cap * sizeof(*users));
	if (users == NULL)
		return -ENOMEM;
	r->users = users;
	r->cap = cap;
	return 0;
}

/* The room `name`, created if new (within --max-rooms unless exempt); NULL with *rc set. */
static struct room *room_find_or_create(struct directory *d, const char *name, size_t n,
					bool exempt, int *rc)
{
	struct room *r = room_find(d, name, n);
	if (r != NULL)
		return r;
	if (d->nrooms >= d->max_rooms && !exempt) {
		*rc = -ENOSPC;
		return NULL;
	}
	r = room_create(d, name, n, exempt);
	if (r == NULL)
		*rc = -ENOMEM;
	return r;
}

void dir_with_room(struct directory *d, const char *name, size_t n,
		   void (*fn)(struct room *r, void *arg), void *arg)
{
	pthread_mutex_lock(&d->lock);
	fn(room_find(d, name, n), arg);
	pthread_mutex_unlock(&d->lock);
}

int dir_join(struct directory *d, struct user *u, const char *name, size_t n, bool exempt,
	     int64_t now, struct join_result *res)
{
	return dir_join_key(d, u, name, n, exempt, now, NULL, 0, res);
}

/* dir_join_key and dir_join_also: keep, u's other rooms are kept (at most max of all). */
static int join(struct directory *d, struct user *u, const char *name, size_t n, bool exempt,
		int64_t now, const char *key, size_t key_len, uint32_t max, bool keep,
		struct join_result *res)
{
	memset(res, 0, sizeof(*res));
	pthread_mutex_lock(&d->lock);
	int rc = 0;
	struct room *to = room_find(d, name, n);
	if (to != NULL && user_in(u, to)) {
		rc = -EALREADY;
		goto out;
	}
	if (keep && u->nrooms >= max) {
		rc = -ETOOMANYREFS;
		goto out;
	}
	if (to == NULL && (to = room_find_or_create(d, name, n, exempt, &rc)) == NULL)
		goto out;
	bool created = to->nusers == 0;
	/* a room new here may exist on another node (--cluster): then it is checked too */
	bool founder = created && (d->room_seed == NULL || d->room_seed(d->room_seed_ctx, to));
	uint32_t invites = to->st.ninvites;
	if (!founder &&
	    (rc = roomstate_check_join(&to->st, u->name, &u->addr, to->nusers, key, key_len)) < 0) {
		if (to->nusers == 0)
			room_unlist(d, to);
		goto out;
	}
	/* before leaving: u stays put. Moving (!keep), u's slot for the room it leaves is free. */
	if (room_reserve(to) < 0 || (keep && slot_reserve(u) < 0)) {
		if (to->nusers == 0)
			room_unlist(d, to);
		rc = -ENOMEM;
		goto out;
	}
	if (!keep && u->room != NULL) {
		/* The caller's worker holds a reference to the old room (u is a local member
		 * there), so it outlives room_unlist when u was its last member. */
		res->from = u->room;
		int64_t due = 0;
		res->notice_from = room_remove_user(d, u, u->room, now, &due);
		res->summary_due = due;
	}
	room_add_user(to, u); /* cannot fail: reserved */
	if (founder)
		roomstate_created(&to->st, u->id);
	res->invite_used = to->st.ninvites < invites;
	res->op = roomstate_ids_has(&to->st.ops, u->id);
	memcpy(res->topic, to->st.topic, sizeof(res->topic));
	memcpy(res->topic_by, to->st.topic_by, sizeof(res->topic_by));
	res->to = to;
	res->members = to->nusers;
	if (to->nusers > d->notice_limit)
		res->summary_due = timer_earliest(res->summary_due, room_count(d, to, true, now));
	else
		res->notice_to = true;
out:
	pthread_mutex_unlock(&d->lock);
	return rc;
}

int dir_join_key(struct directory *d, struct user *u, const char *name, size_t n, bool exempt,
		 int64_t now, const char *key, size_t key_len, struct join_result *res)
{
	return join(d, u, name, n, exempt, now, key, key_len, 1, false, res);
}

int dir_join_also(struct directory *d, struct user *u, const char *name, size_t n, bool exempt,
		  int64_t now, const char *key, size_t key_len, uint32_t max,
		  struct join_result *res)
{
	return join(d, u, name, n, exempt, now, key, key_len, max, true, res);
}

bool dir_leave(struct directory *d, struct user *u, struct room *r, int64_t now,
	       int64_t *summary_due)
{
	*summary_due = 0;
	pthread_mutex_lock(&d->lock);
	bool notice = user_in(u, r) && room_remove_user(d, u, r, now, summary_due);
	pthread_mutex_unlock(&d->lock);
	return notice;
}

bool dir_set_current(struct directory *d, struct user *u, struct room *r)
{
	if (u->room == r) /* the owner's read: it alone writes it */
		return r != NULL;
	pthread_mutex_lock(&d->lock);
	bool in = user_in(u, r);
	if (in)
		slot_make_current(u, slot_index(u, r));
	pthread_mutex_unlock(&d->lock);
	return in;
}

bool dir_user_rooms(struct directory *d, const char *name, size_t n, const char *prefix, char *out,
		    size_t cap)
{
	size_t len = 0;
	out[0] = '\0';
	pthread_mutex_lock(&d->lock);
	struct user *u = name_find(d, name, n);
	for (uint32_t i = 0; u != NULL && i < u->nrooms; i++) {
		const char *room = user_room_at(u, i)->room->name;
		if (len + strlen(prefix) + strlen(room) + 2 > cap)
			break;
		len += (size_t)snprintf(out + len, cap - len, "%s%s%s", len > 0 ? " " : "", prefix,
					room);
	}
	pthread_mutex_unlock(&d->lock);
	return u != NULL;
}

void dir_set_verified(struct directory *d, struct user *u)
{
	pthread_mutex_lock(&d->lock);
	u->verified = true;
	pthread_mutex_unlock(&d->lock);
}

bool dir_lookup_verified(struct directory *d, const char *name, size_t n, uint64_t *id,
			 unsigned *worker, bool *verified)
{
	pthread_mutex_lock(&d->lock);
	const struct user *u = name_find(d, name, n);
	if (u != NULL) {
		*id = u->id;
		*worker = u->worker;
		*verified = u->verified;
	}
	pthread_mutex_unlock(&d->lock);
	return u != NULL;
}

bool dir_lookup(struct directory *d, const char *name, size_t n, uint64_t *id, unsigned *worker,
		char spelled[NAME_MAX_LEN + 1])
{
	pthread_mutex_lock(&d->lock);
	const struct user *u = name_find(d, name, n);
	if (u != NULL) {
		*id = u->id;
		*worker = u->worker;
		memcpy(spelled, u->name, NAME_MAX_LEN + 1);
	}
	pthread_mutex_unlock(&d->lock);
	return u != NULL;
}

/* The /who line for r's members, naming the first DIR_WHO_NAMES_MAX of them (lock held). */
static size_t who_line(const struct room *r, char *out, size_t cap)
{
	const char *names[DIR_WHO_NAMES_MAX];
	char marked[DIR_WHO_NAMES_MAX][NAME_MAX_LEN + sizeof(PROTO_VERIFIED_MARK)];
	size_t shown = 0;
	for (; shown < r->nusers && shown < DIR_WHO_NAMES_MAX; shown++) {
		const struct user *u = r->users[shown];
		names[shown] = u->name;
		if (u->verified) {
			snprintf(marked[shown], sizeof(marked[shown]), "%s" PROTO_VERIFIED_MARK,
				 u->name);
			names[shown] = marked[shown];
		}
	}
	return proto_who(out, cap, r->name, r->nusers, names, shown);
}

size_t dir_room_names(struct directory *d, const char *room, size_t n,
		      char (*out)[NAME_MAX_LEN + 1], size_t max)
{
	pthread_mutex_lock(&d->lock);
	struct room *r = room_find(d, room, n);
	size_t k = 0;
	for (; r != NULL && k < r->nusers && k < max; k++)
		memcpy(out[k], r->users[k]->name, NAME_MAX_LEN + 1);
	pthread_mutex_unlock(&d->lock);
	return k;
}

size_t dir_who(struct directory *d, const struct user *u, char *out, size_t cap)
{
	pthread_mutex_lock(&d->lock);
	size_t len = u->room != NULL ? who_line(u->room, out, cap) : proto_no_room(out, cap);
	pthread_mutex_unlock(&d->lock);
	return len;
}

/* u's rooms but the current one, space-separated, as many as fit in cap (lock held). */
static void entry_others(const struct user *u, char *out, size_t cap)
{
	size_t len = 0;
	out[0] = '\0';
	for (uint32_t i = 1; i < u->nrooms; i++) {
		const char *name = u->more[i - 1].room->name;
		if (len + strlen(name) + 2 > cap)
			return;
		len += (size_t)snprintf(out + len, cap - len, "%s%s", len > 0 ? " " : "", name);
	}
}

size_t dir_list_users(struct directory *d, struct dir_entry *out, size_t max)
{
	size_t n = 0, pos = 0;
	uint64_t key;
	void *v;
	pthread_mutex_lock(&d->lock);
	while (n < max && map_next(&d->names, &pos, &key, &v))
		for (const struct user *u = v; u != NULL && n < max; u = u->hash_next, n++) {
			out[n].id = u->id;
			out[n].worker = u->worker;
			memcpy(out[n].name, u->name, sizeof(out[n].name));
			snprintf(out[n].room, sizeof(out[n].room), "%s",
				 u->room != NULL ? u->room->name : "");
			entry_others(u, out[n].others, sizeof(out[n].others));
			out[n].verified = u->verified;
			out[n].front = u->front;
			out[n].addr = u->addr;
			out[n].since_ms = u->since_ms;
			out[n].queued = atomic_load_explicit(&u->queued, memory_order_relaxed);
		}
	pthread_mutex_unlock(&d->lock);
	return n;
}

size_t dir_list_rooms(struct directory *d, struct dir_room *out, size_t max)
{
	size_t n = 0, pos = 0;
	uint64_t key;
	void *v;
	pthread_mutex_lock(&d->lock);
	while (n < max && map_next(&d->rooms, &pos, &key, &v))
		for (struct room *r = v; r != NULL && n < max; r = r->hash_next, n++) {
			memcpy(out[n].name, r->name, sizeof(out[n].name));
			out[n].members = r->nusers;
			pthread_mutex_lock(&r->hist.lock);
			out[n].history_lines = r->hist.count;
			pthread_mutex_unlock(&r->hist.lock);
		}
	pthread_mutex_unlock(&d->lock);
	return n;
}

size_t dir_who_in(struct directory *d, const char *name, size_t n, char *out, size_t cap)
{
	pthread_mutex_lock(&d->lock);
	struct room *r = room_find(d, name, n);
	size_t len = r != NULL ? who_line(r, out, cap) : proto_no_room(out, cap);
	pthread_mutex_unlock(&d->lock);
	return len;
}

/* Appends one room's line to out[0..*len) when it leaves room for the last line
 * ("and N more"); false when it does not. */
static bool rooms_add(const struct room *r, char *out, size_t cap, size_t *len)
{
	char line[PROTO_LINE_SIZE(rooms_entry)];
	size_t n = proto_rooms_entry(line, sizeof(line), r->name, r->nusers);
	if (*len + n + PROTO_LINE_SIZE(rooms_more) > cap)
		return false;
	memcpy(out + *len, line, n + 1);
	*len += n;
	return true;
}

size_t dir_rooms(struct directory *d, char *out, size_t cap)
{
	return dir_rooms_for(d, NULL, out, cap);
}

/* Whether r is secret (+s) and viewer not one of its members (lock held). */
static bool room_hidden(const struct room *r, const struct user *viewer)
{
	return (r->st.modes & ROOM_MODE_SECRET) && !user_in(viewer, r);
}

/* How many rooms viewer does not see (lock held). */
static long rooms_hidden(struct directory *d, const struct user *viewer)
{
	size_t pos = 0;
	uint64_t key;
	void *v;
	long hidden = 0;
	while (viewer != NULL && map_next(&d->rooms, &pos, &key, &v))
		for (const struct room *r = v; r != NULL; r = r->hash_next)
			if (room_hidden(r, viewer))
				hidden++;
	return hidden;
}

size_t dir_rooms_for(struct directory *d, const struct user *viewer, char *out, size_t cap)
{
	pthread_mutex_lock(&d->lock);
	long hidden = rooms_hidden(d, viewer);
	size_t len = proto_rooms_head(out, cap, d->nrooms - hidden);
	size_t pos = 0;
	uint64_t key;
	void *v;
	long shown = 0;
	bool fits = true;
	while (fits && map_next(&d->rooms, &pos, &key, &v)) {
		for (const struct room *r = v; r != NULL; r = r->hash_next) {
			if (viewer != NULL && room_hidden(r, viewer))
				continue;
			fits = rooms_add(r, out, cap, &len);
			if (!fits)
				break;
			shown++;
		}
	}
	if (shown < d->nrooms - hidden)
		len += proto_rooms_more(out + len, cap - len, d->nrooms - hidden - shown);
	pthread_mutex_unlock(&d->lock);
	return len;
}

long dir_room_count(struct directory *d)
{
	pthread_mutex_lock(&d->lock);
	long n = d->nrooms;
	pthread_mutex_unlock(&d->lock);
	return n;
}

void dir_room_get(struct directory *d, struct room *r)
{
	pthread_mutex_lock(&d->lock);
	r->refs++;
	pthread_mutex_unlock(&d->lock);
}

struct room *dir_room_find(struct directory *d, const char *name, size_t n)
{
	pthread_mutex_lock(&d->lock);
	struct room *r = room_find(d, name, n);
	if (r != NULL)
		r->refs++;
	pthread_mutex_unlock(&d->lock);
	return r;
}

void dir_room_put(struct directory *d, struct room *r)
{
	pthread_mutex_lock(&d->lock);
	room_put_locked(r);
	pthread_mutex_unlock(&d->lock);
}

int dir_take_summaries(struct directory *d, int64_t now, struct summary *out, int max,
		       int64_t *next_due)
{
	int n = 0;
	*next_due = 0;
	pthread_mutex_lock(&d->lock);
	for (struct room **pp = &d->summaries; *pp != NULL;) {
		struct room *r = *pp;
		int64_t due = r->last_summary_ms + SUMMARY_PERIOD_MS;
		if (due > now || n == max) {
			*next_due = timer_earliest(*next_due, due > now ? due : now);
			pp = &r->summary_next;
			continue;
		}
		*pp = r->summary_next;
		r->summary_queued = false;
		r->last_summary_ms = now;
		r->refs++;
		out[n++] = (struct summary){ r, r->entered, r->left };
		r->entered = r->left = 0;
	}
	pthread_mutex_unlock(&d->lock);
	return n;
}
