/*
 * intake.h - what every line a user sends goes through before the session sees it, whatever
 * its transport: flood control (a token bucket per user), then validation (UTF-8, control and
 * format characters, --max-line); refused lines are answered, counted and logged. Also the
 * line protocol itself: its handlers (framing bytes into lines) and its last words.
 *
 * Runs on the user's worker thread only; the per-user state lives in struct conn (rate_*,
 * the framer `in`).
 */
#ifndef CHATD_INTAKE_H
#define CHATD_INTAKE_H

#include "conn.h"
#include "proto.h"

#include <stdbool.h>
#include <stddef.h>

struct worker;

/* A line-protocol user's handlers (nc, bin/chat). */
extern const struct conn_ops intake_line_ops;

/* c speaks the line protocol: it becomes a user (welcome, lobby), and the n bytes already
 * read from it (kept while that was being decided) are its first input. */
void intake_start_line_user(struct worker *w, struct conn *c, const char *kept, size_t n);

/* One line from a user, whatever its transport: rate limit, validation, then the session.
 * Returns false when c is closing (stop feeding it lines). */
bool intake_take_line(struct worker *w, struct conn *c, enum line_event ev, const char *text,
		      size_t len);

/* Flood control: charges one line (or WebSocket control frame) to c's token bucket. Returns
 * false when it is refused: c was told, and is closing when it kept flooding. */
bool intake_rate_take(struct worker *w, struct conn *c);

#endif
