/*
 * test_via.c - chatd behind proxies (src/via.c), with headers written by hand: under
 * --proxy-protocol the header's client becomes the user's address (--max-conns-per-ip counts
 * it, not the proxy's), split headers and bytes behind them are handled, LOCAL keeps the
 * proxy's uncounted address, untrusted peers are refused, and a trusted peer without a valid
 * header in time is closed; X-Forwarded-For names a WebSocket user only from a trusted peer.
 * (tests/test_haproxy.c does the same with the real HAProxy in front.)
 */
#include "log.h"
#include "proxy.h"
#include "testlib.h"

#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static struct server *start_proxied(const char *trusted, int max_per_ip)
{
	struct config cfg = ts_config(2);
	cfg.proxy_protocol = 1;
	snprintf(cfg.trusted_proxies, sizeof(cfg.trusted_proxies), "%s", trusted);
	cfg.max_conns_per_ip = max_per_ip;
	return ts_start(&cfg);
}

/* A version 2 PROXY header for TCP over IPv4 from src:sport into out; returns its length. */
static size_t v2_header(uint8_t *out, const char *src, uint16_t sport)
{
	static const uint8_t sig[12] = { 0x0D, 0x0A, 0x0D, 0x0A, 0x00, 0x0D,
					 0x0A, 0x51, 0x55, 0x49, 0x54, 0x0A };
	memcpy(out, sig, sizeof(sig));
	out[12] = 0x21; /* version 2, PROXY */
	out[13] = 0x11; /* TCP over IPv4 */
	out[14] = 0;
	out[15] = 12;
	cr_assert_eq(inet_pton(AF_INET, src, out + 16), 1);
	cr_assert_eq(inet_pton(AF_INET, "127.0.0.1", out + 20), 1);
	out[24] = (uint8_t)(sport >> 8);
	out[25] = (uint8_t)sport;
	out[26] = 0x07; /* 2020 */
	out[27] = 0xE4;
	return 28;
}

/* Connects (from 127.0.0.1), sends header, reads the welcome line. */
static struct tclient *join_with(uint16_t port, const void *header, size_t n)
{
	struct tclient *c = tc_connect(port);
	tc_send_bytes(c, header, n);
	char line[256];
	cr_assert_eq(tc_read_line(c, line, sizeof(line), 5000), 1, "no welcome line");
	unsigned long long name;
	cr_assert_eq(sscanf(line, "* Welcome, %llu.", &name), 1, "bad welcome: '%s'", line);
	c->name = name;
	return c;
}

static struct tclient *join_v1(uint16_t port, const char *src)
{
	char header[PROXY_V1_MAX + 1];
	snprintf(header, sizeof(header), "PROXY TCP4 %s 127.0.0.1 40000 2020\r\n", src);
	return join_with(port, header, strlen(header));
}

Test(via, the_headers_client_is_the_users_address_for_max_conns_per_ip, .timeout = 30)
{
	struct server *srv = start_proxied("127.0.0.1", 1);
	uint16_t port = server_port(srv);
	/* all three come from 127.0.0.1, the proxy: only the clients it names are counted */
	struct tclient *a = join_v1(port, "10.1.2.3");
	struct tclient *b = join_v1(port, "10.1.2.4");
	struct tclient *c = tc_connect(port);
	tc_send(c, "PROXY TCP4 10.1.2.3 127.0.0.1 40001 2020\r\n");
	tc_expect(c, "* error: too many connections from 10.1.2.3 (max 1); try again later.");
	tc_expect_closed(c, 2000);
	struct server_stats st = ts_stats(srv);
	cr_assert_eq(st.rejected_per_ip, 1);
	cr_assert_eq(st.proxy_headers, 3);
	tc_close(c);
	tc_close(a); /* 10.1.2.3's place is free again once its socket is closed */
	ts_wait_users(srv, 1);
	ts_wait_conns(srv, 1);
	struct tclient *d = join_v1(port, "10.1.2.3");
	tc_send(d, "back\n");
	char want[64];
	snprintf(want, sizeof(want), "%llu:back", (unsigned long long)d->name);
	tc_expect_eventually(b, want, 2000);
	tc_close(b);
	tc_close(d);
	ts_stop(srv);
}

Test(via, a_v2_header_split_over_writes_with_a_line_behind_it, .timeout = 30)
{
	struct server *srv = start_proxied("127.0.0.1", 0);
	uint8_t buf[64];
	size_t n = v2_header(buf, "192.0.2.44", 5555);
	static const char hello[6] = { 'h', 'e', 'l', 'l', 'o', '\n' }; /* no NUL: bytes */
	memcpy(buf + n, hello, sizeof(hello));
	struct tclient *c = tc_connect(server_port(srv));
	tc_send_bytes(c, buf, 5); /* inside the signature */
	usleep(50000);
	tc_send_bytes(c, buf + 5, 12); /* inside the addresses */
	usleep(50000);
	tc_send_bytes(c, buf + 17, n - 17 + 6); /* the rest, and the user's first line */
	char line[256];
	cr_assert_eq(tc_read_line(c, line, sizeof(line), 5000), 1);
	unsigned long long name;
	cr_assert_eq(sscanf(line, "* Welcome, %llu.", &name), 1, "'%s'", line);
	char want[64];
	snprintf(want, sizeof(want), "%llu:hello", name);
	tc_expect(c, want);
	cr_assert_eq(ts_stats(srv).proxy_headers, 1);
	tc_close(c);
	ts_stop(srv);
}

Test(via, local_keeps_the_proxys_own_address_uncounted, .timeout = 30)
{
	struct server *srv = start_proxied("127.0.0.1", 1);
	static const uint8_t local[16] = { 0x0D, 0x0A, 0x0D, 0x0A, 0x00, 0x0D, 0x0A, 0x51,
					   0x55, 0x49, 0x54, 0x0A, 0x20, 0x00, 0x00, 0x00 };
	struct tclient *a = join_with(server_port(srv), local, sizeof(local));
	struct tclient *b = join_with(server_port(srv), local, sizeof(local));
	cr_assert_eq(ts_stats(srv).rejected_per_ip, 0, "127.0.0.1 twice, under a limit of 1");
	tc_close(a);
	tc_close(b);
	ts_stop(srv);
}

Test(via, a_connection_from_an_untrusted_address_is_refused, .timeout = 30)
{
	struct server *srv = start_proxied("127.0.0.2, 10.0.0.0/8", 0);
	struct tclient *c = tc_connect(server_port(srv)); /* from 127.0.0.1 */
	tc_send(c, "PROXY TCP4 10.1.2.3 127.0.0.1 40000 2020\r\n");
	tc_expect(c, "* error: this server takes connections through its proxies only.");
	tc_expect_closed(c, 2000);
	tc_close(c);
	struct server_stats st = ts_stats(srv);
	cr_assert_eq(st.proxy_untrusted, 1);
	cr_assert_eq(st.proxy_headers, 0, "its header was never read");
	ts_stop(srv);
}

Test(via, a_trusted_connection_without_a_header_is_closed, .timeout = 30)
{
	struct server *srv = start_proxied("127.0.0.1", 0);
	struct tclient *c = tc_connect(server_port(srv));
	tc_send(c, "hello\n");
	tc_expect_closed(c, 2000); /* not a word: the proxy is misconfigured, not a user */
	tc_close(c);
	cr_assert_eq(ts_stats(srv).proxy_bad_header, 1);
	c = tc_connect(server_port(srv));
	char line[200];
	static const char sig_v1[6] = { 'P', 'R', 'O', 'X', 'Y', ' ' }; /* no NUL: bytes */
	memset(line, 'x', sizeof(line));
	memcpy(line, sig_v1, sizeof(sig_v1));
	tc_send_bytes(c, line, sizeof(line)); /* no CRLF in 107 bytes */
	tc_expect_closed(c, 2000);
	tc_close(c);
	struct server_stats st = ts_stats(srv);
	cr_assert_eq(st.proxy_bad_header, 2);
	cr_assert_eq(st.users, 0);
	ts_stop(srv);
}

Test(via, a_silent_trusted_connection_is_closed_at_the_deadline, .timeout = 30)
{
	struct config cfg = ts_config(1);
	cfg.proxy_protocol = 1;
	snprintf(cfg.trusted_proxies, sizeof(cfg.trusted_proxies), "127.0.0.1");
	cfg.handshake_timeout_ms = 1000;
	struct server *srv = ts_start(&cfg);
	struct tclient *c = tc_connect(server_port(srv));
	tc_send(c, "PROXY TCP4 10.1"); /* and nothing more */
	tc_expect_silence(c, 500);     /* no welcome: a user would speak after the header */
	tc_expect_closed(c, 3000);
	tc_close(c);
	cr_assert_eq(ts_stats(srv).proxy_timeouts, 1);
	ts_stop(srv);
}

Test(via, without_proxy_protocol_a_proxy_line_is_chat, .timeout = 30)
{
	struct config cfg = ts_config(1);
	snprintf(cfg.trusted_proxies, sizeof(cfg.trusted_proxies), "127.0.0.1");
	struct server *srv = ts_start(&cfg);
	struct tclient *c = tc_join(server_port(srv));
	tc_send(c, "PROXY TCP4 10.1.2.3 127.0.0.1 40000 2020\r\n");
	char want[80];
	snprintf(want, sizeof(want), "%llu:PROXY TCP4 10.1.2.3 127.0.0.1 40000 2020",
		 (unsigned long long)c->name);
	tc_expect(c, want);
	cr_assert_eq(ts_stats(srv).proxy_headers, 0, "never guessed");
	tc_close(c);
	ts_stop(srv);
}

Test(via, proxy_protocol_without_trusted_proxies_does_not_start)
{
	struct config cfg = ts_config(1);
	log_set_level(LOG_OFF); /* the two refusals are logged as errors */
	cfg.proxy_protocol = 1;
	struct server *srv = NULL;
	cr_assert_eq(server_start(&cfg, &srv), -EINVAL);
	snprintf(cfg.trusted_proxies, sizeof(cfg.trusted_proxies), "10.0.0.1/8");
	cr_assert_eq(server_start(&cfg, &srv), -EINVAL, "a range with host bits");
}

/* ---- X-Forwarded-For ------------------------------------------------------------------------ */

static void upgrade_request(char *out, size_t cap, const char *xff)
{
	snprintf(out, cap,
		 "GET /ws HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
		 "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n"
		 "X-Forwarded-For: %s\r\n\r\n",
		 xff);
}

static struct wsclient *ws_via(uint16_t port, const char *xff)
{
	char req[512];
	upgrade_request(req, sizeof(req), xff);
	struct wsclient *w = wc_open_req(ts_dial(port), req);
	wc_expect_welcome(w);
	return w;
}

static struct server *start_forwarded(const char *trusted)
{
	struct config cfg = ts_config(2);
	snprintf(cfg.trusted_proxies, sizeof(cfg.trusted_proxies), "%s", trusted);
	cfg.max_conns_per_ip = 1;
	return ts_start(&cfg);
}

Test(via, x_forwarded_for_from_a_trusted_proxy_is_the_users_address, .timeout = 30)
{
	struct server *srv = start_forwarded("127.0.0.1");
	uint16_t port = server_port(srv);
	struct wsclient *a = ws_via(port, "203.0.113.7");
	struct wsclient *b = ws_via(port, "198.51.100.1, 127.0.0.1"); /* two proxies of ours */
	struct tclient *line = tc_join(port); /* the proxy's own address is not counted */
	char req[512], out[4096];
	upgrade_request(req, sizeof(req), "1.1.1.1, 203.0.113.7"); /* a's address again */
	cr_assert_eq(ts_http(port, req, out, sizeof(out)), 503, "%s", out);
	cr_assert_not_null(strstr(out, "503 Service Unavailable: too many from this address"), "%s",
			   out);
	struct server_stats st = ts_stats(srv);
	cr_assert_eq(st.proxy_forwarded, 2);
	cr_assert_eq(st.rejected_per_ip, 1);
	wc_free(a); /* 203.0.113.7's place is free again */
	ts_wait_conns(srv, 2);
	struct wsclient *c = ws_via(port, "203.0.113.7");
	wc_free(b);
	wc_free(c);
	tc_close(line);
	ts_stop(srv);
}

Test(via, x_forwarded_for_from_an_untrusted_peer_is_ignored, .timeout = 30)
{
	struct server *srv = start_forwarded("127.0.0.2");
	uint16_t port = server_port(srv);
	struct wsclient *a = ws_via(port, "203.0.113.7"); /* counted as 127.0.0.1, its peer */
	char req[512], out[4096];
	upgrade_request(req, sizeof(req), "198.51.100.1");
	ts_http(port, req, out, sizeof(out));
	cr_assert_not_null(strstr(out, "too many connections from 127.0.0.1 (max 1)"), "%s", out);
	cr_assert_eq(ts_stats(srv).proxy_forwarded, 0);
	wc_free(a);
	ts_stop(srv);
}
