/*
 * shed.h - --max-memory on a worker (memory.h has the server-wide guard): sampling the live
 * heap (every MEMORY_SAMPLE_MS, by whichever worker gets there first, and on a timer while near
 * the cap, so samples keep coming when nothing else wakes a worker), and, while the heap is
 * over the cap, the worker's part of each round: cutting its connections that cost the most,
 * most expensive first (worker_close_conn with CLOSE_MEMORY; the loop says the last words).
 *
 * Runs as a wake-up hook, before the worker accepts (so a newcomer is judged by a fresh
 * sample even after the worker slept), on the worker's thread; its state is the hook's own.
 */
#ifndef CHATD_SHED_H
#define CHATD_SHED_H

struct worker;

/* Registers the hook on w (before w's thread starts). Returns 0 or -errno; shed_detach frees
 * its state after the thread is joined. */
int shed_attach(struct worker *w);
void shed_detach(struct worker *w);

#endif
