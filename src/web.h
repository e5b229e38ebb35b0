/*
 * web.h - the browser side of the chat port: deciding from a new connection's first bytes
 * whether it speaks HTTP or the line protocol (http_sniff), answering HTTP requests (the chat
 * page, built into the binary from web/, and error statuses), upgrading GET /ws to a
 * WebSocket (RFC 6455), and turning WebSocket frames into lines and back. A WebSocket user is
 * a user like any other once upgraded. Runs on the connection's worker thread only.
 */
#ifndef CHATD_WEB_H
#define CHATD_WEB_H

#include <stddef.h>
#include <stdint.h>

struct worker;
struct conn;

/* The line protocol's welcome waits this long for a first byte that could be HTTP. */
#define WEB_SNIFF_MS 100

/* A file of the chat page, embedded at build time (scripts/embed.sh -> build/assets.c). */
struct web_asset {
	const char *path;
	const char *type;
	const unsigned char *data;
	size_t len;
};
extern const struct web_asset web_assets[];
extern const size_t web_asset_count;

/* A new connection: nothing decided yet. */
void web_start(struct worker *w, struct conn *c);

/* Bytes read from a connection that is not (yet) a line-protocol user. A WebSocket user's
 * frames are unmasked in place, so buf is written to. */
void web_on_bytes(struct worker *w, struct conn *c, char *buf, size_t n);

/* Sniffing and handshake deadlines; the earliest one (0 when none). */
void web_expire(struct worker *w, int64_t now);
int64_t web_next_deadline(struct worker *w);

/* Server stopping: connections that are not users yet are closed. */
void web_shutdown(struct worker *w);

#endif
