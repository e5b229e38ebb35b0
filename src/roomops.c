/*
 * roomops.c - see roomops.h.
 */
#include "roomops.h"
#include "directory.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* ---- what an operator may do ---------------------------------------------------------------- */

/* The member of r called name (lock held), or NULL. */
static struct user *member_find(struct room *r, const char *name, size_t n)
{
	for (uint32_t i = 0; i < r->nusers; i++)
		if (name_same(r->users[i]->name, strlen(r->users[i]->name), name, n))
			return r->users[i];
	return NULL;
}

static void target_fill(struct roomops_target *t, const struct user *u)
{
	t->id = u->id;
	t->worker = u->worker;
	memcpy(t->name, u->name, sizeof(t->name));
}

static bool may_run(const struct room *r, const struct user *by)
{
	return !r->st.lobby && roomstate_ids_has(&r->st.ops, by->id);
}

bool roomops_may_speak(struct directory *d, struct room *r, const struct user *u)
{
	if (!atomic_load_explicit(&r->st.moderated, memory_order_relaxed))
		return true;
	pthread_mutex_lock(&d->lock);
	bool ok = !(r->st.modes & ROOM_MODE_MODERATED) || roomstate_ids_has(&r->st.ops, u->id) ||
		  roomstate_ids_has(&r->st.voiced, u->id);
	pthread_mutex_unlock(&d->lock);
	return ok;
}

bool roomops_topic(struct directory *d, struct room *r, char topic[ROOMOPS_TOPIC_MAX + 1],
		   char by[NAME_MAX_LEN + 1])
{
	pthread_mutex_lock(&d->lock);
	memcpy(topic, r->st.topic, ROOMOPS_TOPIC_MAX + 1);
	memcpy(by, r->st.topic_by, NAME_MAX_LEN + 1);
	pthread_mutex_unlock(&d->lock);
	return topic[0] != '\0';
}

int64_t roomops_topic_time(struct directory *d, struct room *r)
{
	pthread_mutex_lock(&d->lock);
	int64_t at = r->st.topic_at;
	pthread_mutex_unlock(&d->lock);
	return at;
}

int roomops_set_topic(struct directory *d, struct room *r, const struct user *by, const char *text,
		      size_t n)
{
	if (n > ROOMOPS_TOPIC_MAX)
		return ROOMOPS_E_INVALID;
	pthread_mutex_lock(&d->lock);
	int rc = 0;
	if (r->st.lobby || ((r->st.modes & ROOM_MODE_TOPIC) && !may_run(r, by))) {
		rc = ROOMOPS_E_NOTOP;
	} else {
		memset(r->st.topic, 0, sizeof(r->st.topic));
		memcpy(r->st.topic, text, n);
		memcpy(r->st.topic_by, by->name, sizeof(r->st.topic_by));
		r->st.topic_at = n > 0 ? (int64_t)time(NULL) : 0;
	}
	pthread_mutex_unlock(&d->lock);
	return rc;
}

int roomops_set_member(struct directory *d, struct room *r, const struct user *by, char mode,
		       bool on, const char *name, size_t n, struct roomops_target *t)
{
	pthread_mutex_lock(&d->lock);
	int rc = 0;
	struct user *u = NULL;
	struct roomops_ids *set = mode == 'o' ? &r->st.ops : &r->st.voiced;
	if (!may_run(r, by))
		rc = ROOMOPS_E_NOTOP;
	else if ((u = member_find(r, name, n)) == NULL)
		rc = ROOMOPS_E_NOUSER;
	else if (on)
		rc = roomstate_ids_add(set, u->id);
	else
		roomstate_ids_del(set, u->id);
	if (u != NULL)
		target_fill(t, u);
	pthread_mutex_unlock(&d->lock);
	return rc;
}

int roomops_kick(struct directory *d, struct room *r, const struct user *by, const char *name,
		 size_t n, struct roomops_target *t)
{
	pthread_mutex_lock(&d->lock);
	int rc = 0;
	const struct user *u = NULL;
	if (!may_run(r, by))
		rc = ROOMOPS_E_NOTOP;
	else if ((u = member_find(r, name, n)) == NULL)
		rc = ROOMOPS_E_NOUSER;
	else
		target_fill(t, u);
	pthread_mutex_unlock(&d->lock);
	return rc;
}

static long ban_find(const struct room_state *s, const char *mask, size_t n)
{
	for (uint32_t i = 0; i < s->nbans; i++)
		if (strlen(s->bans[i]) == n &&
		    (name_valid(mask, n) ? name_same(s->bans[i], n, mask, n)
					 : memcmp(s->bans[i], mask, n) == 0))
			return (long)i;
	return -1;
}

/* Adds mask to r's bans (lock held). */
static int ban_add_locked(struct room_state *s, const char *mask, size_t n, uint32_t max)
{
	if (ban_find(s, mask, n) >= 0)
		return -EEXIST;
	if (s->nbans >= max)
		return ROOMOPS_E_LISTFULL;
	void *p = realloc(s->bans, (s->nbans + 1) * sizeof(s->bans[0]));
	if (p == NULL)
		return -ENOMEM;
	s->bans = p;
	memset(s->bans[s->nbans], 0, sizeof(s->bans[0]));
	memcpy(s->bans[s->nbans++], mask, n);
	return 0;
}

int roomops_ban(struct directory *d, struct room *r, const struct user *by, const char *mask,
		size_t n, struct roomops_target *out, size_t max, size_t *nout)
{
	*nout = 0;
	if (!roomstate_mask_valid(mask, n))
		return ROOMOPS_E_INVALID;
	pthread_mutex_lock(&d->lock);
	int rc = may_run(r, by) ? ban_add_locked(&r->st, mask, n, d->room_lists) : ROOMOPS_E_NOTOP;
	for (uint32_t i = 0; rc == 0 && i < r->nusers && *nout < max; i++) {
		const struct user *u = r->users[i];
		if (u != by &&
		    roomstate_mask_matches(r->st.bans[r->st.nbans - 1], u->name, &u->addr))
			target_fill(&out[(*nout)++], u);
	}
	pthread_mutex_unlock(&d->lock);
	return rc;
}

int roomops_unban(struct directory *d, struct room *r, const struct user *by, const char *mask,
		  size_t n)
{
	pthread_mutex_lock(&d->lock);
	int rc = ROOMOPS_E_NOTOP;
	if (may_run(r, by)) {
		long i = ban_find(&r->st, mask, n);
		rc = i < 0 ? ROOMOPS_E_NOUSER : 0;
		if (i >= 0)
			memmove(r->st.bans[i], r->st.bans[--r->st.nbans], sizeof(r->st.bans[0]));
	}
	pthread_mutex_unlock(&d->lock);
	return rc;
}

size_t roomops_bans(struct directory *d, struct room *r, char *out, size_t cap)
{
	size_t len = 0;
	int k;
	pthread_mutex_lock(&d->lock);
	if (r->st.nbans == 0)
		k = snprintf(out, cap, "* No bans in %s.", r->name);
	else
		k = snprintf(out, cap, "* Bans in %s:", r->name);
	len = k > 0 && (size_t)k < cap ? (size_t)k : 0;
	for (uint32_t i = 0; i < r->st.nbans; i++) {
		k = snprintf(out + len, cap - len, "%s %s", i == 0 ? "" : ",", r->st.bans[i]);
		if (k < 0 || (size_t)k >= cap - len)
			break;
		len += (size_t)k;
	}
	pthread_mutex_unlock(&d->lock);
	if (len + 2 > cap)
		return 0;
	out[len++] = '\n';
	out[len] = '\0';
	return len;
}

size_t roomops_ban_list(struct directory *d, struct room *r, char (*out)[ROOMOPS_MASK_MAX + 1],
			size_t max)
{
	size_t n = 0;
	pthread_mutex_lock(&d->lock);
	for (; n < r->st.nbans && n < max; n++)
		memcpy(out[n], r->st.bans[n], ROOMOPS_MASK_MAX + 1);
	pthread_mutex_unlock(&d->lock);
	return n;
}

int roomops_set_key(struct directory *d, struct room *r, const struct user *by, const char *key,
		    size_t n)
{
	if (key != NULL && !(n <= ROOMOPS_KEY_MAX && room_name_valid(key, n)))
		return ROOMOPS_E_INVALID;
	pthread_mutex_lock(&d->lock);
	int rc = may_run(r, by) ? 0 : ROOMOPS_E_NOTOP;
	if (rc == 0) {
		memset(r->st.key, 0, sizeof(r->st.key));
		if (key != NULL)
			memcpy(r->st.key, key, n);
	}
	pthread_mutex_unlock(&d->lock);
	return rc;
}

int roomops_set_limit(struct directory *d, struct room *r, const struct user *by, uint32_t limit)
{
	if (limit > ROOMOPS_LIMIT_MAX)
		return ROOMOPS_E_INVALID;
	pthread_mutex_lock(&d->lock);
	int rc = may_run(r, by) ? 0 : ROOMOPS_E_NOTOP;
	if (rc == 0)
		r->st.limit = limit;
	pthread_mutex_unlock(&d->lock);
	return rc;
}

static uint32_t mode_bit(char mode)
{
	switch (mode) {
	case 'i':
		return ROOM_MODE_INVITE;
	case 'm':
		return ROOM_MODE_MODERATED;
	case 's':
		return ROOM_MODE_SECRET;
	case 't':
		return ROOM_MODE_TOPIC;
	case 'n':
		return ROOM_MODE_NOEXT;
	default:
		return 0;
	}
}

int roomops_set_mode(struct directory *d, struct room *r, const struct user *by, char mode, bool on)
{
	uint32_t bit = mode_bit(mode);
	if (bit == 0 || (bit == ROOM_MODE_NOEXT && !on))
		return ROOMOPS_E_INVALID;
	pthread_mutex_lock(&d->lock);
	int rc = may_run(r, by) ? 0 : ROOMOPS_E_NOTOP;
	if (rc == 0) {
		r->st.modes = on ? r->st.modes | bit : r->st.modes & ~bit;
		atomic_store_explicit(&r->st.moderated, (r->st.modes & ROOM_MODE_MODERATED) != 0,
				      memory_order_relaxed);
	}
	pthread_mutex_unlock(&d->lock);
	return rc;
}

int roomops_invite(struct directory *d, struct room *r, const struct user *by, const char *name,
		   size_t n)
{
	if (!name_valid(name, n))
		return ROOMOPS_E_INVALID;
	pthread_mutex_lock(&d->lock);
	int rc = may_run(r, by) ? 0 : ROOMOPS_E_NOTOP;
	struct room_state *s = &r->st;
	if (rc == 0 && roomstate_invite_find(s, name, n) < 0) {
		void *p = NULL;
		if (s->ninvites >= d->room_lists)
			rc = ROOMOPS_E_LISTFULL;
		else if ((p = realloc(s->invites, (s->ninvites + 1) * sizeof(s->invites[0]))) ==
			 NULL)
			rc = -ENOMEM;
		if (rc == 0) {
			s->invites = p;
			memset(s->invites[s->ninvites], 0, sizeof(s->invites[0]));
			memcpy(s->invites[s->ninvites++], name, n);
		}
	}
	pthread_mutex_unlock(&d->lock);
	return rc;
}

size_t roomops_modes(struct directory *d, struct room *r, bool show_key, char *out, size_t cap)
{
	static const char letters[] = "imstn";
	char flags[16] = "+";
	size_t f = 1;
	pthread_mutex_lock(&d->lock);
	for (const char *l = letters; *l != '\0'; l++)
		if (r->st.modes & mode_bit(*l))
			flags[f++] = *l;
	if (r->st.key[0] != '\0')
		flags[f++] = 'k';
	if (r->st.limit > 0)
		flags[f++] = 'l';
	flags[f] = '\0';
	int k = snprintf(out, cap, "%s%s%s", flags, r->st.key[0] != '\0' ? " " : "",
			 r->st.key[0] == '\0' ? ""
			 : show_key           ? r->st.key
					      : "*");
	size_t len = k > 0 && (size_t)k < cap ? (size_t)k : 0;
	if (r->st.limit > 0 && len < cap) {
		k = snprintf(out + len, cap - len, " %u", r->st.limit);
		if (k > 0 && (size_t)k < cap - len)
			len += (size_t)k;
	}
	pthread_mutex_unlock(&d->lock);
	return len;
}

size_t roomops_names(struct directory *d, struct room *r, char mode, char *out, size_t cap)
{
	size_t len = 0;
	if (cap == 0)
		return 0;
	out[0] = '\0';
	pthread_mutex_lock(&d->lock);
	const struct roomops_ids *set = mode == 'o' ? &r->st.ops : &r->st.voiced;
	for (uint32_t i = 0; i < r->nusers; i++) {
		const struct user *u = r->users[i];
		if (!roomstate_ids_has(set, u->id))
			continue;
		int k = snprintf(out + len, cap - len, "%s%s", len > 0 ? ", " : "", u->name);
		if (k < 0 || (size_t)k >= cap - len)
			break;
		len += (size_t)k;
	}
	pthread_mutex_unlock(&d->lock);
	return len;
}

/* ---- changes from the cluster (directory lock held) ------------------------------------------ */

static bool field_is(const char *field, size_t fn, const char *name)
{
	return fn == strlen(name) && memcmp(field, name, fn) == 0;
}

/* "AT\tBY\tTEXT" into s's topic (an empty value clears it). */
static void apply_topic(struct room_state *s, const char *v, size_t vn)
{
	memset(s->topic, 0, sizeof(s->topic));
	memset(s->topic_by, 0, sizeof(s->topic_by));
	s->topic_at = 0;
	const char *t1 = memchr(v, '\t', vn);
	const char *t2 = t1 != NULL ? memchr(t1 + 1, '\t', (size_t)(v + vn - t1 - 1)) : NULL;
	if (t2 == NULL)
		return;
	size_t by = (size_t)(t2 - t1 - 1), text = (size_t)(v + vn - t2 - 1);
	if (by > NAME_MAX_LEN || text > ROOMOPS_TOPIC_MAX)
		return;
	s->topic_at = strtoll(v, NULL, 10);
	memcpy(s->topic_by, t1 + 1, by);
	memcpy(s->topic, t2 + 1, text);
}

static void apply_invite(struct room_state *s, const char *name, size_t n, bool on)
{
	long i = roomstate_invite_find(s, name, n);
	if (!on) {
		if (i >= 0)
			memmove(s->invites[i], s->invites[--s->ninvites], sizeof(s->invites[0]));
		return;
	}
	if (i >= 0 || !name_valid(name, n))
		return;
	void *p = realloc(s->invites, (s->ninvites + 1) * sizeof(s->invites[0]));
	if (p == NULL)
		return; /* no memory: this node misses the invitation */
	s->invites = p;
	memset(s->invites[s->ninvites], 0, sizeof(s->invites[0]));
	memcpy(s->invites[s->ninvites++], name, n);
}

static void apply_ban(struct room_state *s, const char *mask, size_t n, bool on)
{
	if (!on) {
		long i = ban_find(s, mask, n);
		if (i >= 0)
			memmove(s->bans[i], s->bans[--s->nbans], sizeof(s->bans[0]));
		return;
	}
	if (roomstate_mask_valid(mask, n))
		(void)ban_add_locked(s, mask, n, UINT32_MAX); /* the origin checked --room-lists */
}

static void apply_field(struct room_state *s, bool on, const char *f, size_t fn, const char *v,
			size_t vn)
{
	if (fn == 3 && f[0] == 'm' && f[1] == ':') { /* a mode letter */
		uint32_t bit = mode_bit(f[2]);
		if (bit == ROOM_MODE_NOEXT)
			return;
		s->modes = on ? s->modes | bit : s->modes & ~bit;
		atomic_store_explicit(&s->moderated, (s->modes & ROOM_MODE_MODERATED) != 0,
				      memory_order_relaxed);
	} else if (field_is(f, fn, "k")) {
		memset(s->key, 0, sizeof(s->key));
		if (on && vn <= ROOMOPS_KEY_MAX)
			memcpy(s->key, v, vn);
	} else if (field_is(f, fn, "l")) {
		unsigned long l = on ? strtoul(v, NULL, 10) : 0;
		s->limit = l <= ROOMOPS_LIMIT_MAX ? (uint32_t)l : 0;
	} else if (field_is(f, fn, "t")) {
		apply_topic(s, v, on ? vn : 0);
	} else if (fn > 2 && f[0] == 'b' && f[1] == ':') {
		apply_ban(s, f + 2, fn - 2, on);
	} else if (fn > 2 && f[0] == 'i' && f[1] == ':') {
		apply_invite(s, f + 2, fn - 2, on);
	}
}

bool roomops_apply_locked(struct room_state *s, struct room *r, char op, const char *field,
			  size_t fn, const char *value, size_t vn, struct roomops_target *t)
{
	if (s->lobby)
		return false;
	if (op == 's' || op == 'd') {
		apply_field(s, op == 's', field, fn, value, vn);
		return false;
	}
	if (op == 'n') { /* the members on every node, counted by Redis */
		unsigned long n = strtoul(value, NULL, 10);
		s->cluster_members = n <= ROOMOPS_LIMIT_MAX ? (uint32_t)n : ROOMOPS_LIMIT_MAX;
		return false;
	}
	const struct user *u = r != NULL ? member_find(r, field, fn) : NULL;
	if (u == NULL)
		return false;
	switch (op) {
	case 'o':
		(void)roomstate_ids_add(&s->ops, u->id);
		return false;
	case 'O':
		roomstate_ids_del(&s->ops, u->id);
		return false;
	case 'v':
		(void)roomstate_ids_add(&s->voiced, u->id);
		return false;
	case 'V':
		roomstate_ids_del(&s->voiced, u->id);
		return false;
	case 'k':
		if (t == NULL)
			return false;
		target_fill(t, u);
		return true;
	default:
		return false;
	}
}

int roomops_copy_locked(struct room_state *dst, const struct room_state *src)
{
	dst->modes = src->modes;
	atomic_store_explicit(&dst->moderated, (src->modes & ROOM_MODE_MODERATED) != 0,
			      memory_order_relaxed);
	dst->limit = src->limit;
	dst->cluster_members = src->cluster_members;
	memcpy(dst->key, src->key, sizeof(dst->key));
	memcpy(dst->topic, src->topic, sizeof(dst->topic));
	memcpy(dst->topic_by, src->topic_by, sizeof(dst->topic_by));
	dst->topic_at = src->topic_at;
	dst->nbans = dst->ninvites = 0;
	for (uint32_t i = 0; i < src->nbans; i++)
		if (ban_add_locked(dst, src->bans[i], strlen(src->bans[i]), UINT32_MAX) == -ENOMEM)
			return -ENOMEM;
	for (uint32_t i = 0; i < src->ninvites; i++)
		apply_invite(dst, src->invites[i], strlen(src->invites[i]), true);
	return dst->ninvites == src->ninvites ? 0 : -ENOMEM;
}
