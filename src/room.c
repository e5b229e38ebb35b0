/*
 * room.c - see room.h.
 */
#include "room.h"

#include <errno.h>
#include <stdlib.h>

int room_local_add(struct map *rooms, struct directory *d, unsigned worker, struct room *r,
		   struct conn *c)
{
	struct local_room *lr = map_get(rooms, r->id);
	if (lr == NULL) {
		lr = calloc(1, sizeof(*lr));
		if (lr == NULL || map_put(rooms, r->id, lr) < 0) {
			free(lr);
			return -ENOMEM;
		}
		lr->room = r;
		dir_room_get(d, r);
		/* release: our bit becomes visible after the member array exists. Publishers
		 * load the mask with acquire (route_publish_room). */
		atomic_fetch_or_explicit(&r->worker_mask, 1ULL << worker, memory_order_release);
	}
	if (lr->n == lr->cap) {
		uint32_t cap = lr->cap ? lr->cap * 2 : 8;
		/* NOLINTNEXTLINE(bugprone-sizeof-expression): an array of pointers */
		struct conn **m = realloc(lr->members, cap * sizeof(*m));
		if (m == NULL) {
			if (lr->n == 0) /* undo the creation above */
				room_local_remove(rooms, d, worker, r, NULL);
			return -ENOMEM;
		}
		lr->members = m;
		lr->cap = cap;
	}
	if (c->nlocal > 0 && c->nlocal - 1 == c->local_more_cap) {
		uint32_t cap = c->local_more_cap ? c->local_more_cap * 2 : 4;
		struct conn_room *more = realloc(c->local_more, cap * sizeof(*more));
		if (more == NULL) {
			if (lr->n == 0)
				room_local_remove(rooms, d, worker, r, NULL);
			return -ENOMEM;
		}
		c->local_more = more;
		c->local_more_cap = cap;
	}
	*conn_room_at(c, c->nlocal++) = (struct conn_room){ .room = r, .local_index = lr->n };
	lr->members[lr->n++] = c;
	return 0;
}

void room_local_remove(struct map *rooms, struct directory *d, unsigned worker, struct room *r,
		       struct conn *c)
{
	struct local_room *lr = map_get(rooms, r->id);
	if (lr == NULL)
		return;
	struct conn_room *s = c != NULL ? conn_room_of(c, r) : NULL;
	if (s != NULL) {
		struct conn *last = lr->members[--lr->n];
		lr->members[s->local_index] = last;
		conn_room_of(last, r)->local_index = s->local_index;
		*s = *conn_room_at(c, --c->nlocal); /* the last local room fills its place */
	}
	if (lr->n > 0)
		return;
	/* relaxed is enough: a publisher that still sees the bit pushes a message we will
	 * deliver to nobody; one that does not see it skips us, which is what we want. */
	atomic_fetch_and_explicit(&r->worker_mask, ~(1ULL << worker), memory_order_relaxed);
	map_del(rooms, r->id);
	free(lr->members);
	free(lr);
	dir_room_put(d, r);
}
