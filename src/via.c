/*
 * via.c - see via.h.
 *
 * A connection from a trusted proxy under --proxy-protocol:
 *
 *   accept (listener.c: via_accept_ops)  not counted under --max-conns-per-ip yet
 *     └─ via_proxy_ops                   TIMER_HANDSHAKE armed; bytes parsed as they come,
 *                                        kept in c->pre while the header is incomplete
 *          ├─ valid header               c->addr = its source (LOCAL, UNKNOWN: the peer's),
 *          │                             counted there, then the worker's accept_ops with
 *          │                             the bytes behind the header
 *          ├─ malformed, or too long     logged, counted, closed
 *          └─ deadline                   logged, counted, closed
 */
#include "via.h"
#include "conn.h"
#include "iplimit.h"
#include "log.h"
#include "proto.h"
#include "proxy.h"
#include "worker.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static bool via_trusted(const struct worker *w, const struct cidr_addr *a)
{
	return cidr_list_match(&w->hub->trusted, a);
}

const struct conn_ops *via_accept_ops(struct worker *w, const struct cidr_addr *peer, bool *count)
{
	bool trusted = via_trusted(w, peer);
	*count = !trusted;
	if (!w->hub->cfg.proxy_protocol)
		return w->accept_ops;
	return trusted ? &via_proxy_ops : NULL;
}

/* c's address becomes a, and its --max-conns-per-ip place moves there. Returns 0, or
 * -EDQUOT / -ENOMEM when a's count refuses it (c keeps its address and place). */
static int via_move(struct worker *w, struct conn *c, const struct cidr_addr *a)
{
	struct sockaddr_storage ss;
	cidr_addr_to_sockaddr(a, &ss);
	uint64_t key = iplimit_key((const struct sockaddr *)&ss);
	if (key != c->ip_key) {
		int rc = iplimit_acquire(&w->hub->iplimit, key);
		if (rc < 0)
			return rc;
		iplimit_release(&w->hub->iplimit, c->ip_key);
		c->ip_key = key;
	}
	c->addr = *a;
	return 0;
}

/* The address a connection was refused for (via_move): counted, logged, and what the client
 * is told written into line (returns its length). */
static size_t via_refusal(struct worker *w, struct conn *c, const struct cidr_addr *a, int rc,
			  char *line, size_t cap)
{
	char addr[CIDR_ADDR_STRLEN];
	cidr_addr_format(a, addr, sizeof(addr));
	if (rc != -EDQUOT) { /* the address's count could not be stored */
		stat_add(&w->stats.nomem_disconnects, 1);
		worker_log_gated(w, GATE_MEMORY, LOG_WARN, c->id,
				 "connection from %s refused: out of memory", addr);
		return proto_server_busy(line, cap);
	}
	int max = w->hub->cfg.max_conns_per_ip;
	stat_add(&w->stats.rejected_per_ip, 1);
	worker_log_gated(w, GATE_FULL, LOG_WARN, c->id,
			 "connection refused: too many connections from %s (max %d)", addr, max);
	return proto_too_many_from(line, cap, addr, max);
}

/* ---- the PROXY protocol header ------------------------------------------------------------ */

static void header_on_open(struct worker *w, struct conn *c)
{
	worker_arm_conn_timer(w, c, TIMER_HANDSHAKE, w->now_ms + w->hub->cfg.handshake_timeout_ms);
}

/* No valid header: counted, logged (rate-limited), closed without a word (the spec: abort,
 * so that the sender notices). */
static void header_fail(struct worker *w, struct conn *c, _Atomic uint64_t *counter,
			const char *why)
{
	char peer[CIDR_ADDR_PORT_STRLEN];
	stat_add(counter, 1);
	worker_log_gated(w, GATE_PROXY, LOG_WARN, c->id, "PROXY protocol from %s: %s; closed",
			 cidr_addr_format_port(&c->addr, peer, sizeof(peer)), why);
	worker_close_conn(w, c, CLOSE_RESET);
}

static void header_on_deadline(struct worker *w, struct conn *c)
{
	char why[80];
	snprintf(why, sizeof(why), "no complete header within --handshake-timeout (%d s)",
		 w->hub->cfg.handshake_timeout_ms / 1000);
	header_fail(w, c, &w->stats.proxy_timeouts, why);
}

/* The debug line of an accepted header: the proxy, and the client it named. */
static void header_log(const struct worker *w, const struct conn *c, const struct proxy_header *h,
		       const struct cidr_addr *proxy)
{
	if (!log_enabled(LOG_DEBUG))
		return;
	char from[CIDR_ADDR_PORT_STRLEN];
	cidr_addr_format_port(proxy, from, sizeof(from));
	if (h->kind != PROXY_SOURCE) { /* the proxy's own connection (a health check), or none */
		log_write(LOG_DEBUG, (int)w->index, c->id, "PROXY v%d %s from %s", h->version,
			  h->kind == PROXY_LOCAL ? "LOCAL" : "UNKNOWN", from);
		return;
	}
	char client[CIDR_ADDR_PORT_STRLEN];
	log_write(LOG_DEBUG, (int)w->index, c->id, "PROXY v%d: client %s via %s", h->version,
		  cidr_addr_format_port(&c->addr, client, sizeof(client)), from);
}

/* A valid header: c is the client's connection from here on. Returns false when the client's
 * address is refused (c is then closing). */
static bool header_accept(struct worker *w, struct conn *c, const struct proxy_header *h)
{
	stat_add(&w->stats.proxy_headers, 1);
	timer_stop(&c->timer);
	struct cidr_addr proxy = c->addr;
	if (h->kind == PROXY_SOURCE) {
		struct cidr_addr a;
		cidr_addr_from_sockaddr(&a, (const struct sockaddr *)&h->src);
		int rc = via_move(w, c, &a);
		if (rc < 0) {
			char line[PROTO_LINE_MAX];
			size_t n = via_refusal(w, c, &a, rc, line, sizeof(line));
			conn_send_now(c, line, n);
			worker_close_conn(w, c, CLOSE_RESET);
			return false;
		}
	}
	header_log(w, c, h, &proxy);
	return true;
}

/* Hands c to the worker's accept_ops; rest[0..n) and more[0..m) are the client's first bytes
 * (buf is writable: the next handlers may unmask WebSocket frames in place). */
static void header_hand_over(struct worker *w, struct conn *c, char *rest, size_t n, char *more,
			     size_t m)
{
	worker_set_ops(w, c, w->accept_ops);
	if (c->ops->on_open != NULL)
		c->ops->on_open(w, c);
	if (n > 0 && !c->closing)
		c->ops->on_bytes(w, c, rest, n);
	if (m > 0 && !c->closing)
		c->ops->on_bytes(w, c, more, m);
}

/* Parses buf[0..len) (held: c->pre, or the read); returns the header's length, 0 when more
 * is needed, or -1 after closing c. */
static int header_parse(struct worker *w, struct conn *c, const char *buf, size_t len)
{
	struct proxy_header h;
	int rc = proxy_parse((const uint8_t *)buf, len, &h);
	if (rc == PARSE_AGAIN)
		return 0;
	if (rc == PARSE_ERROR) {
		header_fail(w, c, &w->stats.proxy_bad_header, proxy_error_text(h.error));
		return -1;
	}
	return header_accept(w, c, &h) ? rc : -1;
}

static void header_on_bytes(struct worker *w, struct conn *c, char *buf, size_t n)
{
	if (c->pre == NULL) { /* the whole header in one read, as proxies send it */
		int used = header_parse(w, c, buf, n);
		if (used > 0) {
			header_hand_over(w, c, buf + used, n - (size_t)used, NULL, 0);
			return;
		}
		if (used < 0)
			return;
		/* a header cut short: less than PROXY_HEADER_MAX (proxy_parse would have decided) */
		if ((c->pre = malloc(PROXY_HEADER_MAX)) == NULL) {
			worker_close_conn(w, c, CLOSE_NOMEM);
			return;
		}
		memcpy(c->pre, buf, n);
		c->pre_len = (uint32_t)n;
		return;
	}
	size_t take = PROXY_HEADER_MAX - c->pre_len;
	if (take > n)
		take = n;
	memcpy(c->pre + c->pre_len, buf, take);
	c->pre_len += (uint32_t)take;
	int used = header_parse(w, c, c->pre, c->pre_len);
	if (used <= 0)
		return;
	char *pre = c->pre;
	size_t held = c->pre_len;
	c->pre = NULL;
	c->pre_len = 0;
	header_hand_over(w, c, pre + used, held - (size_t)used, buf + take, n - take);
	free(pre);
}

const struct conn_ops via_proxy_ops = {
	.name = "proxy",
	.on_open = header_on_open,
	.on_bytes = header_on_bytes,
	.on_deadline = header_on_deadline,
};

/* ---- X-Forwarded-For ---------------------------------------------------------------------- */

const char *via_forwarded_for(struct worker *w, struct conn *c, const struct http_request *req)
{
	static const char name[] = "X-Forwarded-For";
	if (!via_trusted(w, &c->addr))
		return NULL;
	struct http_slice values[HTTP_MAX_HEADERS]; /* every one: the rightmost are ours */
	size_t n = 0;
	for (int i = 0; i < req->nheaders; i++) {
		const struct http_header *hd = &req->headers[i];
		if (hd->name.n == sizeof(name) - 1 && !strncasecmp(hd->name.p, name, hd->name.n))
			values[n++] = hd->value;
	}
	struct cidr_addr a;
	if (n == 0 || !proxy_forwarded_for(values, n, &w->hub->trusted, &a))
		return NULL;
	int rc = via_move(w, c, &a);
	if (rc < 0) {
		char line[PROTO_LINE_MAX];
		(void)via_refusal(w, c, &a, rc, line, sizeof(line)); /* counted and logged */
		return rc == -EDQUOT ? "too many from this address" : "server out of memory";
	}
	stat_add(&w->stats.proxy_forwarded, 1);
	if (log_enabled(LOG_DEBUG)) {
		char client[CIDR_ADDR_STRLEN];
		log_write(LOG_DEBUG, (int)w->index, c->id, "X-Forwarded-For: client %s",
			  cidr_addr_format(&a, client, sizeof(client)));
	}
	return NULL;
}
