/*
 * web.h - the browser side of the chat port: deciding from a new connection's first bytes
 * whether it speaks HTTP or the line protocol (http_sniff), answering HTTP requests (the chat
 * page, built into the binary from web/, and error statuses), upgrading GET /ws to a
 * WebSocket (RFC 6455), and turning WebSocket frames into lines and back. A WebSocket user is
 * a user like any other once upgraded: its lines go through intake (intake.h) to the session.
 * Runs on the connection's worker thread only.
 */
#ifndef CHATD_WEB_H
#define CHATD_WEB_H

#include <stddef.h>
#include <stdint.h>

struct conn_ops;

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

/* A new connection's handlers (the workers' accept_ops): what it speaks is decided from its
 * first bytes (HTTP, or the line protocol: intake.h), or from WEB_SNIFF_MS of silence. */
extern const struct conn_ops web_sniff_ops;

#endif
