/*
 * msg.c - allocation and the atomic worker reference count of shared messages (see msg.h).
 */
#include "msg.h"
#include "proto.h"
#include "ws.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Relaxed: a statistic for tests, read when the server is idle. */
static atomic_long live_msgs;

struct msg *msg_new(size_t len, unsigned nslots)
{
	size_t head = sizeof(struct msg) + (size_t)nslots * sizeof(struct msg_slot);
	size_t size = (head + len + CACHE_LINE - 1) & ~(size_t)(CACHE_LINE - 1);
	struct msg *m = aligned_alloc(CACHE_LINE, size);
	if (m == NULL)
		return NULL;
	memset(m, 0, head);
	m->len = (uint32_t)len;
	m->size = (uint32_t)size;
	m->nslots = (uint8_t)nslots;
	m->kind = MSG_ROOM;
	m->data = (char *)m + head;
	for (unsigned i = 0; i < nslots; i++)
		m->slot[i].msg = m;
	/* A line goes to WebSocket users as one text frame without its newline. */
	m->ws_head_len = (uint8_t)ws_frame_header(m->ws_head, WS_TEXT, len > 0 ? len - 1 : 0);
	atomic_fetch_add_explicit(&live_msgs, 1, memory_order_relaxed);
	return m;
}

struct msg *msg_printf(unsigned nslots, const char *fmt, ...)
{
	char text[512];
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	if (n < 0)
		return NULL;
	/* Cut on a character boundary: a message is never half a UTF-8 character. */
	size_t len = (size_t)n < sizeof(text) ? (size_t)n : utf8_cut(text, sizeof(text) - 1);
	struct msg *m = msg_new(len, nslots);
	if (m != NULL)
		memcpy(m->data, text, len);
	return m;
}

void msg_release(struct msg *m)
{
	/* acq_rel: release makes this worker's reads of m happen before the free; acquire, in
	 * the thread that sees the count reach zero, makes every other worker's reads happen
	 * before its free. */
	if (atomic_fetch_sub_explicit(&m->refs, 1, memory_order_acq_rel) != 1)
		return;
	atomic_fetch_sub_explicit(&live_msgs, 1, memory_order_relaxed);
	free(m);
}

long msg_live_count(void)
{
	return atomic_load_explicit(&live_msgs, memory_order_relaxed);
}
