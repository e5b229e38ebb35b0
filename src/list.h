/*
 * list.h - a minimal intrusive doubly linked list (circular, with a head sentinel), for sets a
 * worker must unlink from in O(1): the ready list, its connections, each kind of timer. Not
 * thread-safe: every list is owned by one worker.
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

/* Moves every node of src, in order, to the empty list dst; src is left empty. */
static inline void list_move_all(struct list_node *dst, struct list_node *src)
{
	list_init(dst);
	if (list_empty(src))
		return;
	dst->next = src->next;
	dst->prev = src->prev;
	dst->next->prev = dst;
	dst->prev->next = dst;
	list_init(src);
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
