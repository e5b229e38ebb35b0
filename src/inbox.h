/*
 * inbox.h - a worker's inbox: a lock-free multi-producer single-consumer queue of intrusive
 * nodes, plus an eventfd that wakes the consumer only when it may be asleep.
 *
 * Who may call what, concurrently:
 *
 *   call                  thread                      may run concurrently with
 *   inbox_init/destroy    owner, before/after threads nothing
 *   inbox_push            any thread (producers)      every call below, and other pushes
 *   inbox_pop             the consumer only           pushes
 *   inbox_prepare_sleep   the consumer only           pushes
 *   inbox_awake           the consumer only           pushes
 *   inbox_kick            any thread                  everything
 *
 * A node must not be pushed again until the consumer has popped it.
 */
#ifndef CHATD_INBOX_H
#define CHATD_INBOX_H

#include "common.h"

#include <stdatomic.h>
#include <stdbool.h>

struct inbox_node {
	_Atomic(struct inbox_node *) next;
};

struct inbox {
	/* Producers' side: exchanged by every producer. Own cache line. */
	_Alignas(CACHE_LINE) _Atomic(struct inbox_node *) head;
	/* 1 while the consumer may be blocked in epoll_wait; set by the consumer, cleared by
	 * the consumer or by the one producer that wins the exchange and writes the eventfd. */
	_Alignas(CACHE_LINE) atomic_int sleeping;
	/* Consumer's side: touched by the consumer only. */
	_Alignas(CACHE_LINE) struct inbox_node *tail;
	struct inbox_node stub;
	int efd; /* eventfd, registered in the consumer's epoll set; read-only after init */
};

/* Returns 0 or -errno (eventfd creation). */
int inbox_init(struct inbox *q);
void inbox_destroy(struct inbox *q);

/* Appends n. Returns true when this push wrote the eventfd (the consumer may have slept). */
bool inbox_push(struct inbox *q, struct inbox_node *n);

/*
 * Removes the oldest node, or returns NULL when none is available. NULL does not prove the
 * queue empty: a producer may be between its two steps. inbox_prepare_sleep tells whether
 * sleeping is safe.
 */
struct inbox_node *inbox_pop(struct inbox *q);

/*
 * Called by the consumer right before a blocking wait. Returns true when the consumer may
 * block: every producer whose node it cannot yet see will write the eventfd. Returns false
 * (and cancels the sleep) when a node can be popped now.
 */
bool inbox_prepare_sleep(struct inbox *q);

/* Called by the consumer after its wait returned; also reads the eventfd if it fired. */
void inbox_awake(struct inbox *q, bool efd_fired);

/* Wakes the consumer unconditionally (shutdown). */
void inbox_kick(struct inbox *q);

#endif
