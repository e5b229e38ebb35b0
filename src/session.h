/*
 * session.h - what a user does, from its first line to its last: entering the lobby, chat
 * lines, the commands (/nick, /join, /rooms, /who, /msg, /me, /quit, /help), leaving, and the
 * once-a-second summaries of large rooms. Built on the worker's primitives (worker.h) and the
 * directory (directory.h). Runs on the user's worker thread only.
 */
#ifndef CHATD_SESSION_H
#define CHATD_SESSION_H

#include "conn.h"

#include <stdbool.h>
#include <stdint.h>

struct worker;

/* A newcomer: name, welcome line, the lobby. Returns 0 or -ENOMEM. */
int session_start(struct worker *w, struct conn *c);

/* The user is gone (or going): leave notice when announce, out of the room and directory. */
void session_end(struct worker *w, struct conn *c, const char *reason, size_t reason_len,
		 bool announce);

/* One valid line (UTF-8, no control characters) from the user. */
void session_on_line(struct worker *w, struct conn *c, const char *line, size_t len);

/* Sends the summaries of large rooms that are due. */
void session_run_summaries(struct worker *w, int64_t now);

#endif
