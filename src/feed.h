/*
 * feed.h - the structured feed (`/ws?format=json`, docs/protocol.md "The JSON feed"): every
 * line the server sends, as one JSON object, for programs that should not parse text.
 *
 * The text lines are the protocol's contract (proto.h words every one of them, and their
 * first bytes tell their kind: docs/protocol.md "What the server says"), so the feed is
 * derived from them: feed_render reads a line back into its parts (who said it, the text, the
 * name a rename gives...) and writes them as JSON, with what the line itself does not carry
 * (the room it came through, its sequence number, the time) from a struct feed_ctx. Every
 * kind of line has one reader here, next to the others, and tests/test_feed.c checks each
 * against the proto.c function that words it.
 *
 * Owns: nothing. Pure code: no I/O, no allocation, no locks; any thread.
 *
 * Output: one object and "\n" (the WebSocket framing leaves the "\n" out, as for text lines).
 * Like snprintf, each function returns the length the whole object takes and writes at most
 * cap bytes of it (no NUL): call it with cap 0 to size a buffer, then again to fill it.
 */
#ifndef CHATD_FEED_H
#define CHATD_FEED_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The "type" of an event. */
enum feed_type {
	FEED_CHAT,    /* "NAME:TEXT" */
	FEED_ACTION,  /* "+ NAME TEXT" (/me) */
	FEED_PRIVATE, /* "(private) NAME:TEXT", or the sender's echo "* to NAME: TEXT" */
	FEED_JOIN,    /* "* NAME has entered." */
	FEED_LEAVE,   /* "* NAME has left." or "* NAME has left ("REASON")." */
	FEED_RENAME,  /* "* OLD is now known as NEW." */
	FEED_NOTICE,  /* any other "* " line */
	FEED_ERROR,   /* "* error: ..." */
	FEED_HISTORY, /* the head of a history block (feed_history) */
	FEED_GAP,     /* lines a resuming client missed that are no longer kept (feed_gap) */
};

/* What a line does not say itself. Zero / NULL: not known, the member is left out. */
struct feed_ctx {
	const char *room; /* the room it was said in or concerns */
	const char *me;   /* the recipient's name: the sender of an echo */
	uint64_t seq;     /* the room's sequence number of a chat line or action */
	int64_t time_ms;  /* server time, ms since the epoch */
	bool history;     /* a kept line sent again (history on joining, /history, resume) */
};

/* Which kind of line line[0..n) is (a final "\n" may be there or not). */
enum feed_type feed_classify(const char *line, size_t n);

/* The event for line[0..n), a line worded by proto.c. */
size_t feed_render(char *out, size_t cap, const char *line, size_t n, const struct feed_ctx *x);

/* {"type":"history","room":ROOM,"count":N,...}: N kept lines follow, numbered first..last;
 * resuming, "since" says after which line they start (since < 0: not a resume). */
size_t feed_history(char *out, size_t cap, const char *room, size_t count, uint64_t first,
		    uint64_t last, int64_t since);

/*
 * {"type":"gap","room":ROOM,"since":SINCE,"missed":N,...}: a client resuming after SINCE
 * missed N lines that are no longer kept (the next line it gets is SINCE + N + 1). missed < 0:
 * the room's numbers do not reach back to SINCE (the room was emptied and began again, or the
 * server restarted): how many were missed is not known, "missed" is null.
 */
size_t feed_gap(char *out, size_t cap, const char *room, uint64_t since, int64_t missed);

#endif
