/*
 * via.h - where a connection really comes from when chatd runs behind proxies: the PROXY
 * protocol header a trusted load balancer sends first (--proxy-protocol, HAProxy's
 * send-proxy and send-proxy-v2), and X-Forwarded-For from a trusted HTTP proxy on a
 * WebSocket upgrade. Only peers in --trusted-proxies are believed.
 *
 * The address they name becomes the connection's (c->addr): log lines, --max-conns-per-ip.
 * A trusted proxy's own address is never counted under --max-conns-per-ip (every user behind
 * it shares it); a connection from one is counted under the client address its header names,
 * once it is known.
 *
 * With --proxy-protocol a new connection from a trusted proxy starts with via_proxy_ops: a
 * valid header (proxy.h) within --handshake-timeout, at most PROXY_HEADER_MAX bytes, else it
 * is closed; then it is handed to the worker's accept_ops (the web sniffer) with the bytes
 * that followed the header. A connection from any other address is refused at accept.
 *
 * Runs on the connection's worker thread only; the trusted list is the hub's (read-only).
 */
#ifndef CHATD_VIA_H
#define CHATD_VIA_H

#include "cidr.h"
#include "http.h"

#include <stdbool.h>
#include <stddef.h>

struct worker;
struct conn;
struct conn_ops;

/* A new connection's handlers under --proxy-protocol: the PROXY header first. */
extern const struct conn_ops via_proxy_ops;

/*
 * How a connection accepted from peer starts: the handlers to adopt it with, NULL when it
 * must be refused (--proxy-protocol, and peer is not in --trusted-proxies), and in *count
 * whether --max-conns-per-ip counts it under peer now (false for a trusted proxy's address).
 */
const struct conn_ops *via_accept_ops(struct worker *w, const struct cidr_addr *peer, bool *count);

/*
 * X-Forwarded-For on a WebSocket upgrade: when c's address is a trusted proxy's, the client
 * the header names (proxy_forwarded_for) becomes c's address and takes its
 * --max-conns-per-ip place; from any other peer the header is ignored. Returns NULL (also
 * when there is nothing to believe), or, when the named address's count refuses the
 * connection (counted and logged here), a few words for the answer (at most HTTP_WHY_MAX).
 */
const char *via_forwarded_for(struct worker *w, struct conn *c, const struct http_request *req);

#endif
