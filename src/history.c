/*
 * history.c - see history.h.
 */
#include "history.h"
#include "msg.h"

#include <stdlib.h>

void history_init(struct history *h, uint32_t max_lines, size_t max_bytes)
{
	pthread_mutex_init(&h->lock, NULL);
	h->ring = NULL;
	h->max_lines = max_lines;
	h->max_bytes = max_bytes;
	h->head = h->count = 0;
	h->bytes = 0;
	h->last_pos = h->last_seq = 0;
}

static void drop_oldest(struct history *h)
{
	struct history_entry *e = &h->ring[h->head];
	h->bytes -= msg_charge(e->m);
	msg_release(e->m);
	e->m = NULL;
	h->head = (h->head + 1) % h->max_lines;
	h->count--;
}

void history_destroy(struct history *h)
{
	while (h->count > 0)
		drop_oldest(h);
	free(h->ring);
	h->ring = NULL;
	pthread_mutex_destroy(&h->lock);
}

/* The ring, allocated at the first line kept (a room nobody speaks in costs no ring). */
static bool ring_ready(struct history *h)
{
	if (h->ring != NULL)
		return true;
	h->ring = calloc(h->max_lines, sizeof(*h->ring));
	h->head = h->count = 0;
	return h->ring != NULL;
}

bool history_add(struct history *h, struct msg *m, uint64_t seq, int64_t time_ms)
{
	size_t charge = msg_charge(m);
	if (h->max_lines == 0 || charge > h->max_bytes)
		return false;
	if (!ring_ready(h))
		return false;
	while (h->count > 0 && (h->count == h->max_lines || h->bytes + charge > h->max_bytes))
		drop_oldest(h);
	m->hpos = ++h->last_pos;
	m->seq = seq != 0 ? seq : h->last_seq + 1;
	h->last_seq = m->seq;
	h->ring[(h->head + h->count) % h->max_lines] =
	    (struct history_entry){ .m = m, .seq = m->seq, .time_ms = time_ms };
	h->count++;
	h->bytes += charge;
	return true;
}

size_t history_seed(struct history *h, struct history_entry *e, size_t n, uint64_t *pos)
{
	size_t kept = 0;
	uint64_t newest = 0;
	/* the oldest sequence number kept: only older lines go in front of it */
	uint64_t below = h->count > 0 ? h->ring[h->head].seq : UINT64_MAX;
	bool fits = h->max_lines > 0 && n > 0 && ring_ready(h);
	for (size_t i = n; i-- > 0;) {
		struct msg *m = e[i].m;
		size_t charge = msg_charge(m);
		if (e[i].seq >= below || e[i].seq == 0) {
			msg_release(m); /* kept already, or not older */
			continue;
		}
		fits = fits && h->count < h->max_lines && h->bytes + charge <= h->max_bytes;
		if (!fits) {
			msg_release(m);
			continue;
		}
		h->head = (h->head + h->max_lines - 1) % h->max_lines;
		m->hpos = h->last_pos + 1;
		m->seq = e[i].seq;
		h->ring[h->head] =
		    (struct history_entry){ .m = m, .seq = m->seq, .time_ms = e[i].time_ms };
		h->count++;
		h->bytes += charge;
		below = m->seq;
		if (kept++ == 0)
			newest = m->seq;
	}
	if (kept > 0) {
		h->last_pos++;
		if (h->last_seq < newest)
			h->last_seq = newest;
	}
	*pos = h->last_pos;
	return kept;
}

size_t history_take(struct history *h, size_t max, struct history_entry *out, uint64_t *pos)
{
	pthread_mutex_lock(&h->lock);
	size_t n = h->count < max ? h->count : max;
	for (size_t i = 0; i < n; i++) {
		out[i] = h->ring[(h->head + h->count - n + i) % h->max_lines];
		msg_hold(out[i].m);
	}
	*pos = h->last_pos;
	pthread_mutex_unlock(&h->lock);
	return n;
}

uint64_t history_last_seq(struct history *h)
{
	pthread_mutex_lock(&h->lock);
	uint64_t seq = h->last_seq;
	pthread_mutex_unlock(&h->lock);
	return seq;
}
