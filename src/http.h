/*
 * http.h - the HTTP/1.1 request head, as pure functions: recognising an HTTP client on a
 * fresh connection, parsing a request head, and checking a WebSocket upgrade (RFC 6455
 * section 4.2.1) including its Origin. No I/O, no allocation: a parsed request points into the
 * caller's buffer.
 *
 * Same port, two protocols: a connection is HTTP iff its first bytes are an upper-case method
 * (GET, HEAD, POST, PUT, DELETE, OPTIONS or PATCH), one space and '/'. Everything else is the
 * line protocol. (A chat user whose very first line is "GET /..." is taken for a browser;
 * any later line, or "GET" not followed by " /", is chat as usual.)
 */
#ifndef CHATD_HTTP_H
#define CHATD_HTTP_H

#include "base64.h"
#include "common.h"
#include "sha1.h"

#include <stdbool.h>
#include <stddef.h>

#define HTTP_MAX_HEADERS 32

enum http_sniff { HTTP_NO, HTTP_YES, HTTP_MAYBE };

/* Looks at the first bytes of a connection; HTTP_MAYBE while they are a prefix of both. */
enum http_sniff http_sniff(const char *buf, size_t len);

struct http_slice {
	const char *p;
	size_t n;
};

struct http_header {
	struct http_slice name, value;
};

struct http_request {
	struct http_slice method, target;
	int minor; /* HTTP/1.x */
	int nheaders;
	struct http_header headers[HTTP_MAX_HEADERS];
	int status; /* on PARSE_ERROR: the status to answer (400, 431, 505) */
};

/*
 * Parses the request head in buf[0..len). Returns the head's length (through the blank line)
 * when complete, PARSE_AGAIN when more bytes are needed and len < max_head, or PARSE_ERROR
 * with req->status set: 431 past max_head or HTTP_MAX_HEADERS, 505 for a version other than
 * HTTP/1.0 or 1.1, 400 for anything else malformed (control characters, obsolete line
 * folding, a missing Host in HTTP/1.1 or two Host lines, no colon, spaces before the colon,
 * bytes after the version...).
 */
int http_parse_request(const char *buf, size_t len, size_t max_head, struct http_request *req);

/* The value of header `name` (case-insensitive), or NULL. */
const struct http_slice *http_header(const struct http_request *req, const char *name);

/* Whether header `name` holds `token` in its comma-separated list (case-insensitive). */
bool http_header_has_token(const struct http_request *req, const char *name, const char *token);

bool http_slice_is(struct http_slice s, const char *text); /* exact, case-sensitive */
/* The value of query parameter `name` in a request target ("/ws?room=a&token=x": token is x),
 * as it is (no percent-decoding); false when absent. */
bool http_query_param(struct http_slice target, const char *name, struct http_slice *value);

/* Sec-WebSocket-Accept: the base64 of a SHA-1 digest, 28 characters. */
#define HTTP_WS_ACCEPT_LEN (BASE64_ENCODED_SIZE(SHA1_DIGEST_LEN) - 1)

/*
 * Checks a WebSocket opening handshake. Returns 0 and writes Sec-WebSocket-Accept
 * (HTTP_WS_ACCEPT_LEN characters and a NUL) when valid; otherwise the status to answer: 405 (not GET),
 * 426 (no upgrade to websocket, or a version other than 13: answer with
 * "Sec-WebSocket-Version: 13"), 400 (a key that is not base64 of 16 bytes or appears twice,
 * no Sec-WebSocket-Version, missing Connection: upgrade, HTTP/1.0).
 */
int http_ws_accept(const struct http_request *req, char accept[HTTP_WS_ACCEPT_LEN + 1]);

/* The 101 answer to a WebSocket upgrade up to its key, and the size of the whole answer
 * (the key, the blank line, a NUL). */
#define HTTP_UPGRADE_HEAD                                                                   \
	"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" \
	"Sec-WebSocket-Accept: "
#define HTTP_UPGRADE_MAX (sizeof(HTTP_UPGRADE_HEAD "\r\n\r\n") + HTTP_WS_ACCEPT_LEN)

/* Writes the 101 answer with Sec-WebSocket-Accept `accept` (http_ws_accept's). Returns its
 * length, or 0 when it does not fit in cap bytes (HTTP_UPGRADE_MAX always fits). */
size_t http_format_upgrade(char *out, size_t cap, const char *accept);

/*
 * Cross-site WebSocket hijacking: a browser lets any page open a WebSocket to any server and
 * says which page it is in the Origin header (RFC 6454 serialisation, scheme://host[:port], or
 * "null" for a sandboxed or file page). Clients that are not browsers send no Origin.
 */
enum http_origin {
	HTTP_ORIGIN_ALLOWED,   /* no Origin, the same host and port as Host, or allow-listed */
	HTTP_ORIGIN_FOREIGN,   /* another site, or "null" */
	HTTP_ORIGIN_MALFORMED, /* not scheme://host[:port] */
	HTTP_ORIGIN_REPEATED,  /* more than one Origin header */
};

/*
 * Decides whether a WebSocket upgrade may go ahead, by its Origin:
 * - no Origin header: allowed (not a browser);
 * - allow is "*": allowed, whatever the Origin (the check is off);
 * - two or more Origin headers: HTTP_ORIGIN_REPEATED; "null": HTTP_ORIGIN_FOREIGN;
 *   anything but scheme://host[:port] (a path, a trailing slash, user info, an empty or bad
 *   port...): HTTP_ORIGIN_MALFORMED;
 * - the Origin's host and port equal the Host header's: allowed. Hosts compare without case
 *   (an IPv6 literal in brackets as written); a missing port is its scheme's default
 *   (http and ws 80, https and wss 443), and so is a Host without a port, since a proxy that
 *   keeps Host in front of chatd drops the port the browser used. The scheme is not compared:
 *   chatd speaks no TLS itself, so an https page reached through a proxy is its own page;
 * - the Origin equals an entry of allow, a comma-separated list of http or https origins as
 *   accepted by http_origin_list_check (scheme and host without case, ports with defaults
 *   filled in): allowed. allow may be NULL or "" (no list);
 * - otherwise HTTP_ORIGIN_FOREIGN.
 */
enum http_origin http_origin_check(const struct http_request *req, const char *allow);

/* What was wrong with an Origin, for the 403 body and the log: "origin not allowed"... */
const char *http_origin_why(enum http_origin verdict);
/* The longest of them: "more than one Origin header" (a test checks). */
#define HTTP_WHY_MAX 27

/*
 * Checks an --allow-origin list: "*" alone, or one or more comma-separated entries (spaces
 * around them are ignored), each scheme://host[:port] with scheme http or https, a host name
 * or IPv4 address or bracketed IPv6 literal, no path and no trailing slash. Returns NULL when
 * valid, otherwise a pointer to the first bad entry inside list.
 */
const char *http_origin_list_check(const char *list);

/* The reason phrase of a status code. */
const char *http_reason(int status);
/* The longest of them: "Request Header Fields Too Large" (a test checks). */
#define HTTP_REASON_MAX 31

/*
 * The text body of an error answer: "STATUS REASON\n", or "STATUS REASON: WHY\n" when why is
 * not NULL (why: an http_origin_why text). Returns its length, or 0 when it does not fit in
 * cap bytes (HTTP_ERROR_BODY_MAX always fits).
 */
size_t http_format_error_body(char *out, size_t cap, int status, const char *why);
#define HTTP_ERROR_BODY_MAX \
	(sizeof(" : \n") + DECIMAL_LEN_MAX(int) + HTTP_REASON_MAX + HTTP_WHY_MAX)

/*
 * Formats a response head: status line, Content-Type (when not NULL), Content-Length,
 * Connection: close unless `keep`, `extra` (complete header lines, may be NULL or ""), blank
 * line. Returns its length, or 0 when it does not fit. content_type is at most HTTP_TYPE_MAX
 * bytes and extra at most HTTP_EXTRA_MAX (chatd's own: the page's types, Allow,
 * Sec-WebSocket-Version, Retry-After), so HTTP_HEAD_MAX always fits.
 */
#define HTTP_TYPE_MAX  64
#define HTTP_EXTRA_MAX 128
#define HTTP_HEAD_MAX                                                                       \
	(sizeof("HTTP/1.1  \r\nContent-Type: \r\nContent-Length: \r\nConnection: close\r\n" \
		"Cache-Control: no-store\r\nX-Content-Type-Options: nosniff\r\n\r\n") +     \
	 DECIMAL_LEN_MAX(int) + HTTP_REASON_MAX + HTTP_TYPE_MAX + DECIMAL_LEN_MAX(size_t) + \
	 HTTP_EXTRA_MAX)
size_t http_format_head(char *out, size_t cap, int status, const char *content_type,
			size_t content_length, bool keep, const char *extra);

#endif
