/*
 * ircd.h - the IRC front end (docs/irc.md): the handlers of a connection to --irc-port.
 * An IRC user is a user like any other: the same names (NICK), rooms (channel #dev is room
 * dev), limits and flood control (intake.h), the same routing; what it is sent is rendered
 * as IRC messages on the way out (route.c, irc.h irc_render). Registration (PASS, NICK, USER,
 * CAP), then the commands, each turned into what a line user would do (session.h) or
 * answered from the directory.
 *
 * Runs on the user's worker thread only; its per-user state hangs off struct conn (c->irc).
 */
#ifndef CHATD_IRCD_H
#define CHATD_IRCD_H

#include "conn.h"

/* A connection to --irc-port: its first and only handlers. */
extern const struct conn_ops ircd_ops;

#endif
