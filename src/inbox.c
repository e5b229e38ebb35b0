/*
 * inbox.c - Dmitry Vyukov's intrusive MPSC node queue ("Intrusive MPSC node-based queue",
 * 1024cores.net) with an eventfd wake-up protocol. This file is the only lock-free code in
 * chatd besides the reference count in msg.c; keep it small.
 *
 * Queue: producers exchange `head` with their node, then link the previous head to it. The
 * consumer walks from `tail`. A stub node lets the last real node be popped. Between a
 * producer's exchange and its link the chain is broken: the consumer sees no next node and
 * pop returns NULL although a node is on its way.
 *
 * Wake-up (a Dekker-style handshake, seq_cst fences on both sides):
 *
 *   consumer (prepare_sleep)            producer (push)
 *   sleeping = 1                        link prev->next = n
 *   fence(seq_cst)           <pairs>    fence(seq_cst)
 *   look at tail->next                  look at sleeping
 *
 * The two fences are ordered one way or the other, so either the consumer sees the link (and
 * does not sleep) or the producer sees sleeping == 1 (and writes the eventfd). Which link does
 * the consumer look for? If tail->next is NULL and head != tail, the producer whose exchange
 * returned `tail` has not linked yet; that producer's link is exactly tail->next, so it is the
 * one guaranteed to see sleeping == 1 after linking. Producers exchange `sleeping` to 0 so only
 * one eventfd write happens per sleep (eventfd coalesces anyway; this saves the syscalls).
 */
#include "inbox.h"

#include <errno.h>
#include <stdint.h>
#include <sys/eventfd.h>
#include <unistd.h>

int inbox_init(struct inbox *q)
{
	atomic_init(&q->stub.next, NULL);
	atomic_init(&q->head, &q->stub);
	atomic_init(&q->sleeping, 0);
	q->tail = &q->stub;
	q->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	return q->efd < 0 ? -errno : 0;
}

void inbox_destroy(struct inbox *q)
{
	if (q->efd >= 0)
		close(q->efd);
	q->efd = -1;
}

/* The queue part of a push: two steps, with a window in between (see the top comment). */
static void push_node(struct inbox *q, struct inbox_node *n)
{
	/* relaxed: published by the release half of the exchange below. */
	atomic_store_explicit(&n->next, NULL, memory_order_relaxed);
	/* acq_rel: release publishes n (and the message it sits in) to the producer that links
	 * after us; acquire orders our store to prev->next after prev's own NULL store. */
	struct inbox_node *prev = atomic_exchange_explicit(&q->head, n, memory_order_acq_rel);
	/* release: pairs with the consumer's acquire load of ->next; everything written before
	 * the push (the message contents) is visible to the consumer that reaches n. */
	atomic_store_explicit(&prev->next, n, memory_order_release);
}

static void efd_signal(struct inbox *q)
{
	uint64_t one = 1;
	/* A failed write can only be EAGAIN (counter at 2^64-2): the consumer is awake then. */
	(void)!write(q->efd, &one, sizeof(one));
}

bool inbox_push(struct inbox *q, struct inbox_node *n)
{
	push_node(q, n);
	/* seq_cst fence: pairs with the fence in inbox_prepare_sleep (see the top comment). */
	atomic_thread_fence(memory_order_seq_cst);
	/* relaxed: the fence above orders this load after our link. Load first so the common
	 * case (consumer awake) costs no read-modify-write on a shared line. */
	if (atomic_load_explicit(&q->sleeping, memory_order_relaxed) == 0)
		return false;
	/* relaxed: only decides which producer writes; the eventfd write is the signal. */
	if (atomic_exchange_explicit(&q->sleeping, 0, memory_order_relaxed) == 0)
		return false;
	efd_signal(q);
	return true;
}

struct inbox_node *inbox_pop(struct inbox *q)
{
	struct inbox_node *tail = q->tail;
	/* acquire: pairs with the producer's release store of the link. */
	struct inbox_node *next = atomic_load_explicit(&tail->next, memory_order_acquire);
	if (tail == &q->stub) {
		if (next == NULL)
			return NULL;
		q->tail = next;
		tail = next;
		next = atomic_load_explicit(&next->next, memory_order_acquire);
	}
	if (next != NULL) {
		q->tail = next;
		return tail;
	}
	/* tail is the last linked node. If a producer already exchanged head past it, its link
	 * is pending: report "nothing yet" rather than wait for it. */
	/* acquire: pairs with the release half of producers' exchange. */
	if (tail != atomic_load_explicit(&q->head, memory_order_acquire))
		return NULL;
	/* Re-append the stub so tail can be handed out. */
	push_node(q, &q->stub);
	next = atomic_load_explicit(&tail->next, memory_order_acquire);
	if (next != NULL) {
		q->tail = next;
		return tail;
	}
	return NULL; /* a producer slipped in before the stub; its node comes next time */
}

bool inbox_prepare_sleep(struct inbox *q)
{
	/* relaxed store + seq_cst fence: pairs with the fence in inbox_push. */
	atomic_store_explicit(&q->sleeping, 1, memory_order_relaxed);
	atomic_thread_fence(memory_order_seq_cst);
	struct inbox_node *tail = q->tail;
	/* relaxed loads: a non-NULL answer only cancels the sleep; the pop that follows uses
	 * acquire loads. */
	bool linked = atomic_load_explicit(&tail->next, memory_order_relaxed) != NULL;
	bool last =
	    tail != &q->stub && tail == atomic_load_explicit(&q->head, memory_order_relaxed);
	if (!linked && !last)
		return true;
	atomic_store_explicit(&q->sleeping, 0, memory_order_relaxed);
	return false;
}

void inbox_awake(struct inbox *q, bool efd_fired)
{
	/* relaxed: a producer that still sees 1 only writes one extra, harmless, eventfd. */
	atomic_store_explicit(&q->sleeping, 0, memory_order_relaxed);
	if (efd_fired) {
		uint64_t count;
		/* Resets the counter; EAGAIN means a concurrent read already did. */
		(void)!read(q->efd, &count, sizeof(count));
	}
}

void inbox_kick(struct inbox *q)
{
	efd_signal(q);
}
