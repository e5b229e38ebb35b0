/*
 * list.h - a minimal intrusive doubly linked list (circular, with a head sentinel), for sets a
 * worker must unlink from in O(1): the ready list and the draining list. Not thread-safe:
 * every list is owned by one worker.
 */
#ifndef CHATD_LIST_H
#define CHATD_LIST_H

#include <stdbool.h>

struct list_node {
	struct list_node *prev, *next;
};

static inline void list_init(struct list_node *head)
{
	head->prev = head->next = head;
}

static inline bool list_empty(const struct list_node *head)
{
	return head->next == head;
}

static inline void list_push_back(struct list_node *head, struct list_node *n)
{
	n->prev = head->prev;
	n->next = head;
	head->prev->next = n;
	head->prev = n;
}

static inline void list_unlink(struct list_node *n)
{
	n->prev->next = n->next;
	n->next->prev = n->prev;
	n->prev = n->next = n;
}

/* Removes and returns the first node, or NULL. */
static inline struct list_node *list_pop_front(struct list_node *head)
{
	if (list_empty(head))
		return 0;
	struct list_node *n = head->next;
	list_unlink(n);
	return n;
}

#endif
