/*
 * listener.h - taking new connections from a worker's SO_REUSEPORT listener: accept4 within a
 * budget, admission (server full, heap over --max-memory, --max-conns-per-ip: each refusal is
 * a line to the client, a log line and a counter), TCP_NODELAY, and the pause after EMFILE
 * (retried from a timer, never spun on: docs/ARCHITECTURE.md, "EMFILE"). An admitted socket
 * is handed to the loop (worker_adopt), which gives it the worker's first handlers.
 *
 * Runs as the worker's input hook, on the worker's thread; its per-worker state (the pause)
 * is the hook's own.
 */
#ifndef CHATD_LISTENER_H
#define CHATD_LISTENER_H

struct worker;

/* Registers the accepting hook on w (before w's thread starts). Returns 0 or -errno;
 * listener_detach frees its state after the thread is joined. */
int listener_attach(struct worker *w);
void listener_detach(struct worker *w);

#endif
