/*
 * test_http.c - the HTTP request-head parser on every error path, the same-port sniffing
 * rule, and the WebSocket opening handshake of RFC 6455.
 */
#include "common.h"
#include "http.h"

#include <criterion/criterion.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>

static const char handshake[] = "GET /ws HTTP/1.1\r\n"
				"Host: server.example.com\r\n"
				"Upgrade: websocket\r\n"
				"Connection: keep-alive, Upgrade\r\n"
				"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
				"Origin: http://example.com\r\n"
				"Sec-WebSocket-Version: 13\r\n"
				"\r\n";

static int parse(const char *s, struct http_request *req)
{
	return http_parse_request(s, strlen(s), 8192, req);
}

Test(http, parses_a_complete_head)
{
	struct http_request req;
	int n = parse(handshake, &req);
	cr_assert_eq(n, (int)strlen(handshake));
	cr_assert(http_slice_is(req.method, "GET"));
	cr_assert(http_slice_is(req.target, "/ws"));
	cr_assert_eq(req.minor, 1);
	cr_assert_eq(req.nheaders, 6);
	const struct http_slice *host = http_header(&req, "host");
	cr_assert_not_null(host);
	cr_assert(http_slice_is(*host, "server.example.com"));
	cr_assert(http_header_has_token(&req, "Connection", "upgrade"));
	cr_assert(http_header_has_token(&req, "connection", "KEEP-ALIVE"));
	cr_assert_not(http_header_has_token(&req, "Connection", "close"));
}

Test(http, every_proper_prefix_needs_more)
{
	struct http_request req;
	size_t len = strlen(handshake);
	for (size_t k = 0; k < len; k++)
		cr_assert_eq(http_parse_request(handshake, k, 8192, &req), PARSE_AGAIN,
			     "prefix of %zu bytes", k);
}

Test(http, bare_lf_and_trailing_bytes_are_fine)
{
	struct http_request req;
	const char *s = "GET / HTTP/1.0\nUser-Agent: x\n\nEXTRA";
	cr_assert_eq(parse(s, &req), (int)strlen(s) - 5, "HTTP/1.0 needs no Host");
}

static void expect_status(const char *s, int status)
{
	struct http_request req;
	cr_assert_eq(parse(s, &req), PARSE_ERROR, "accepted: %s", s);
	cr_assert_eq(req.status, status, "%s -> %d", s, req.status);
}

Test(http, malformed_heads_get_the_right_status)
{
	expect_status("GET / HTTP/1.1\r\n\r\n", 400);             /* no Host */
	expect_status("GET /\r\n\r\n", 400);                      /* HTTP/0.9 */
	expect_status("GET  / HTTP/1.1\r\nHost: a\r\n\r\n", 400); /* empty target */
	expect_status("G(T / HTTP/1.1\r\nHost: a\r\n\r\n", 400);  /* bad method */
	expect_status("GET / HTTP/2.0\r\nHost: a\r\n\r\n", 505);
	expect_status("GET / HTTP/1.2\r\nHost: a\r\n\r\n", 505);
	expect_status("GET / FTP/1.1\r\nHost: a\r\n\r\n", 400);
	expect_status("GET / HTTP/1.1\r\nHost a\r\n\r\n", 400);             /* no colon */
	expect_status("GET / HTTP/1.1\r\nHost : a\r\n\r\n", 400);           /* space before colon */
	expect_status("GET / HTTP/1.1\r\nHost: a\r\n folded\r\n\r\n", 400); /* obs-fold */
	expect_status("GET / HTTP/1.1\r\nHost: a\x01b\r\n\r\n", 400);       /* control char */
	expect_status("GET /a\x7f HTTP/1.1\r\nHost: a\r\n\r\n", 400);
}

Test(http, too_big_or_too_many_headers_is_431)
{
	struct http_request req;
	char big[9000];
	memset(big, 'a', sizeof(big));
	/* NOLINTNEXTLINE(bugprone-not-null-terminated-result): parsed by length, no NUL */
	memcpy(big, "GET /", 5);
	cr_assert_eq(http_parse_request(big, sizeof(big), 8192, &req), PARSE_ERROR);
	cr_assert_eq(req.status, 431);
	char many[4096] = "GET / HTTP/1.1\r\nHost: a\r\n";
	for (int i = 0; i < HTTP_MAX_HEADERS; i++)
		strcat(many, "X-A: b\r\n");
	strcat(many, "\r\n");
	expect_status(many, 431);
}

Test(http, sniffing_the_first_bytes)
{
	cr_assert_eq(http_sniff("GET / HTTP/1.1", 14), HTTP_YES);
	cr_assert_eq(http_sniff("GET /ws", 7), HTTP_YES);
	cr_assert_eq(http_sniff("OPTIONS /", 9), HTTP_YES);
	cr_assert_eq(http_sniff("GE", 2), HTTP_MAYBE);
	cr_assert_eq(http_sniff("GET ", 4), HTTP_MAYBE);
	cr_assert_eq(http_sniff("", 0), HTTP_MAYBE);
	cr_assert_eq(http_sniff("get /", 5), HTTP_NO, "methods are upper case");
	cr_assert_eq(http_sniff("GETaway", 7), HTTP_NO);
	cr_assert_eq(http_sniff("GET x", 5), HTTP_NO, "a chat line about GET");
	cr_assert_eq(http_sniff("hello\n", 6), HTTP_NO);
	cr_assert_eq(http_sniff("P", 1), HTTP_MAYBE, "PUT, POST, PATCH");
}

Test(http, websocket_accept_of_rfc6455_section_1_3)
{
	struct http_request req;
	cr_assert_gt(parse(handshake, &req), 0);
	char accept[29];
	cr_assert_eq(http_ws_accept(&req, accept), 0);
	cr_assert_str_eq(accept, "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
}

static int ws_status(const char *head)
{
	struct http_request req;
	cr_assert_gt(parse(head, &req), 0, "%s", head);
	char accept[29];
	return http_ws_accept(&req, accept);
}

Test(http, websocket_handshake_rejections)
{
	const char *key = "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n";
	char h[512];
	snprintf(h, sizeof(h),
		 "POST /ws HTTP/1.1\r\nHost: a\r\nUpgrade: websocket\r\n"
		 "Connection: Upgrade\r\n%sSec-WebSocket-Version: 13\r\n\r\n",
		 key);
	cr_assert_eq(ws_status(h), 405);
	snprintf(h, sizeof(h), "GET /ws HTTP/1.1\r\nHost: a\r\n\r\n");
	cr_assert_eq(ws_status(h), 426, "no Upgrade");
	snprintf(h, sizeof(h),
		 "GET /ws HTTP/1.1\r\nHost: a\r\nUpgrade: websocket\r\n"
		 "Connection: Upgrade\r\n%sSec-WebSocket-Version: 8\r\n\r\n",
		 key);
	cr_assert_eq(ws_status(h), 426, "version 8");
	snprintf(h, sizeof(h),
		 "GET /ws HTTP/1.1\r\nHost: a\r\nUpgrade: websocket\r\n"
		 "Connection: keep-alive\r\n%sSec-WebSocket-Version: 13\r\n\r\n",
		 key);
	cr_assert_eq(ws_status(h), 400, "no Connection: upgrade");
	snprintf(h, sizeof(h),
		 "GET /ws HTTP/1.1\r\nHost: a\r\nUpgrade: websocket\r\n"
		 "Connection: Upgrade\r\nSec-WebSocket-Key: c2hvcnQ=\r\n"
		 "Sec-WebSocket-Version: 13\r\n\r\n");
	cr_assert_eq(ws_status(h), 400, "key is not 16 bytes");
	snprintf(h, sizeof(h),
		 "GET /ws HTTP/1.1\r\nHost: a\r\nUpgrade: websocket\r\n"
		 "Connection: Upgrade\r\nSec-WebSocket-Version: 13\r\n\r\n");
	cr_assert_eq(ws_status(h), 400, "no key");
}

Test(http, response_head_format)
{
	char out[512];
	size_t n = http_format_head(out, sizeof(out), 404, "text/plain", 9, false, NULL);
	cr_assert_gt(n, 0);
	cr_assert(strncmp(out, "HTTP/1.1 404 Not Found\r\n", 24) == 0, "%s", out);
	cr_assert(strstr(out, "Content-Length: 9\r\n") != NULL);
	cr_assert(strstr(out, "Connection: close\r\n") != NULL);
	cr_assert(strcmp(out + n - 4, "\r\n\r\n") == 0);
	cr_assert_eq(http_format_head(out, 20, 200, NULL, 0, true, NULL), 0, "too small");
}

Test(http, version_errors_are_400_unless_a_well_formed_other_version)
{
	expect_status("GET / HTTP/1.1 \r\nHost: a\r\n\r\n", 400);   /* trailing space */
	expect_status("GET / HTTP/1.1\rx\r\nHost: a\r\n\r\n", 400); /* bare CR inside */
	expect_status("GET / HTTP/1.10\r\nHost: a\r\n\r\n", 400);
	expect_status("GET / HTTP/1.x\r\nHost: a\r\n\r\n", 400);
	expect_status("GET / http/1.1\r\nHost: a\r\n\r\n", 400);
	expect_status("GET / HTTP/0.9\r\nHost: a\r\n\r\n", 505);
	expect_status("GET / HTTP/3.0\r\nHost: a\r\n\r\n", 505);
}

Test(http, more_control_and_header_errors)
{
	expect_status("GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", 400); /* two Hosts */
	expect_status("GET / HTTP/1.1\r\nHost: a\r\n\t\r\n\r\n", 400);      /* fold, empty */
	expect_status("GET / HTTP/1.1\r\nHost: a\r\nX: b\rc\r\n\r\n", 400); /* bare CR */
	expect_status("GET /\x01 HTTP/1.1\r\nHost: a\r\n\r\n", 400);        /* C0 in target */
	expect_status("GET / HTTP/1.1\r\nHost: a\r\n: v\r\n\r\n", 400);     /* empty name */
	expect_status("GET / HTTP/1.1\r\nHost: a\r\nX\x80: v\r\n\r\n", 400);
	expect_status("\r\nGET / HTTP/1.1\r\nHost: a\r\n\r\n", 400); /* empty request line */
	struct http_request req;
	const char nul[] = "GET / HTTP/1.1\r\nHost: a\0b\r\n\r\n";
	cr_assert_eq(http_parse_request(nul, sizeof(nul) - 1, 8192, &req), PARSE_ERROR);
	cr_assert_eq(req.status, 400);
}

Test(http, exactly_the_header_limit_is_fine)
{
	char many[4096] = "GET / HTTP/1.1\r\nHost: a\r\n";
	for (int i = 1; i < HTTP_MAX_HEADERS; i++)
		strcat(many, "X-A: b\r\n");
	strcat(many, "\r\n");
	struct http_request req;
	cr_assert_eq(parse(many, &req), (int)strlen(many));
	cr_assert_eq(req.nheaders, HTTP_MAX_HEADERS);
}

Test(http, head_size_limit_is_checked_against_the_bytes_so_far)
{
	struct http_request req;
	size_t len = strlen(handshake);
	cr_assert_eq(http_parse_request(handshake, len, len, &req), (int)len, "fits exactly");
	cr_assert_eq(http_parse_request(handshake, len - 1, len, &req), PARSE_AGAIN);
	cr_assert_eq(http_parse_request(handshake, len - 1, len - 1, &req), PARSE_ERROR);
	cr_assert_eq(req.status, 431);
	cr_assert_eq(http_parse_request(handshake, len, len - 1, &req), PARSE_ERROR);
	cr_assert_eq(req.status, 431);
}

Test(http, header_values_are_trimmed_and_tokens_found_anywhere)
{
	struct http_request req;
	const char *s = "GET / HTTP/1.1\r\nHost:   a.example \t\r\nConnection: ,keep-alive ,"
			" UPGRADE ,\r\nX-Empty:\r\n\r\n";
	cr_assert_gt(parse(s, &req), 0);
	cr_assert(http_slice_is(*http_header(&req, "HOST"), "a.example"));
	cr_assert(http_header_has_token(&req, "Connection", "upgrade"));
	cr_assert(http_header_has_token(&req, "Connection", "keep-alive"));
	cr_assert_not(http_header_has_token(&req, "Connection", "keep"));
	cr_assert_eq(http_header(&req, "X-Empty")->n, 0);
	cr_assert_null(http_header(&req, "X-Missing"));
}

Test(http, sniffing_with_nothing_read_yet)
{
	cr_assert_eq(http_sniff(NULL, 0), HTTP_MAYBE);
	cr_assert_eq(http_sniff("DELETE", 6), HTTP_MAYBE);
	cr_assert_eq(http_sniff("DELETE /x", 9), HTTP_YES);
	cr_assert_eq(http_sniff("CONNECT /", 9), HTTP_NO, "not one of the seven");
	cr_assert_eq(http_sniff("GET  /", 6), HTTP_NO, "one space only");
}

static const char *ws_head(char *h, size_t cap, const char *version_line, const char *more)
{
	snprintf(h, cap,
		 "%s\r\nHost: a\r\nUpgrade: WebSocket\r\nConnection: keep-alive, Upgrade\r\n"
		 "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n%s\r\n",
		 version_line, more);
	return h;
}

Test(http, websocket_handshake_more_cases)
{
	char h[512];
	cr_assert_eq(
	    ws_status(ws_head(h, sizeof(h), "GET /ws HTTP/1.1", "Sec-WebSocket-Version: 13\r\n")),
	    0, "Upgrade is a case-insensitive token");
	cr_assert_eq(
	    ws_status(ws_head(h, sizeof(h), "GET /ws HTTP/1.0", "Sec-WebSocket-Version: 13\r\n")),
	    400, "HTTP/1.0");
	cr_assert_eq(
	    ws_status(ws_head(h, sizeof(h), "HEAD /ws HTTP/1.1", "Sec-WebSocket-Version: 13\r\n")),
	    405);
	cr_assert_eq(ws_status(ws_head(h, sizeof(h), "GET /ws HTTP/1.1", "")), 400,
		     "no Sec-WebSocket-Version");
	cr_assert_eq(ws_status(ws_head(h, sizeof(h), "GET /ws HTTP/1.1",
				       "Sec-WebSocket-Version: 13, 8\r\n")),
		     426);
	cr_assert_eq(ws_status(ws_head(h, sizeof(h), "GET /ws HTTP/1.1",
				       "Sec-WebSocket-Version: 13\r\n"
				       "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n")),
		     400, "a second key");
	const char *bad_keys[] = {
		"dGhlIHNhbXBsZSBub25jZQ=!",         /* not base64 */
		"dGhlIHNhbXBsZSBub25jZR==",         /* non-zero bits under the padding */
		"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", /* 24 bytes */
		"dGhlIHNhbXBsZSBub25jZQ",           /* no padding */
	};
	for (size_t i = 0; i < ARRAY_LEN(bad_keys); i++) {
		snprintf(h, sizeof(h),
			 "GET /ws HTTP/1.1\r\nHost: a\r\nUpgrade: websocket\r\n"
			 "Connection: Upgrade\r\nSec-WebSocket-Key: %s\r\n"
			 "Sec-WebSocket-Version: 13\r\n\r\n",
			 bad_keys[i]);
		cr_assert_eq(ws_status(h), 400, "key %s", bad_keys[i]);
	}
}

/* ---- the Origin of a WebSocket handshake ------------------------------------------------- */

/* The verdict on an upgrade sent to Host `host` (NULL: an HTTP/1.0 request without one)
 * with the given Origin lines ("" for none). */
static enum http_origin origin_verdict(const char *host, const char *origin_lines,
				       const char *allow)
{
	char h[1024];
	if (host != NULL)
		snprintf(h, sizeof(h), "GET /ws HTTP/1.1\r\nHost: %s\r\n%s\r\n", host,
			 origin_lines);
	else
		snprintf(h, sizeof(h), "GET /ws HTTP/1.0\r\n%s\r\n", origin_lines);
	struct http_request req;
	cr_assert_gt(parse(h, &req), 0, "%s", h);
	return http_origin_check(&req, allow);
}

/* One Origin line. */
static enum http_origin origin_of(const char *host, const char *origin, const char *allow)
{
	char line[512];
	snprintf(line, sizeof(line), "Origin: %s\r\n", origin);
	return origin_verdict(host, line, allow);
}

Test(http, no_origin_is_allowed_since_only_browsers_send_one)
{
	cr_assert_eq(origin_verdict("127.0.0.1:2020", "", NULL), HTTP_ORIGIN_ALLOWED);
	cr_assert_eq(origin_verdict("127.0.0.1:2020", "", ""), HTTP_ORIGIN_ALLOWED);
}

Test(http, an_origin_with_the_host_headers_host_and_port_is_allowed)
{
	const char *same[][2] = {
		{ "127.0.0.1:2020", "http://127.0.0.1:2020" },
		{ "chat.example:2020", "https://chat.example:2020" }, /* scheme not compared */
		{ "Chat.Example:2020", "http://chat.EXAMPLE:2020" },  /* host without case */
		{ "[::1]:2020", "http://[::1]:2020" },
		{ "[FE80::1]:8080", "http://[fe80::1]:8080" },
		{ "localhost:2020", "ws://localhost:2020" },
	};
	for (size_t i = 0; i < ARRAY_LEN(same); i++)
		cr_assert_eq(origin_of(same[i][0], same[i][1], NULL), HTTP_ORIGIN_ALLOWED,
			     "Host %s, Origin %s", same[i][0], same[i][1]);
}

Test(http, missing_ports_are_the_schemes_default_on_both_sides)
{
	/* a proxy that keeps Host: the browser's port is the scheme's default */
	cr_assert_eq(origin_of("chat.example", "https://chat.example", NULL), HTTP_ORIGIN_ALLOWED);
	cr_assert_eq(origin_of("chat.example", "http://chat.example", NULL), HTTP_ORIGIN_ALLOWED);
	cr_assert_eq(origin_of("chat.example", "wss://chat.example:443", NULL),
		     HTTP_ORIGIN_ALLOWED);
	cr_assert_eq(origin_of("chat.example:80", "http://chat.example", NULL),
		     HTTP_ORIGIN_ALLOWED);
	cr_assert_eq(origin_of("chat.example:443", "https://chat.example", NULL),
		     HTTP_ORIGIN_ALLOWED);
	cr_assert_eq(origin_of("[::1]", "http://[::1]:80", NULL), HTTP_ORIGIN_ALLOWED);
	cr_assert_eq(origin_of("chat.example:443", "http://chat.example", NULL),
		     HTTP_ORIGIN_FOREIGN, "80 is not 443");
	cr_assert_eq(origin_of("chat.example", "http://chat.example:8080", NULL),
		     HTTP_ORIGIN_FOREIGN, "8080 is not 80");
}

Test(http, another_host_or_port_is_foreign)
{
	const char *foreign[][2] = {
		{ "127.0.0.1:2020", "http://evil.example" },
		{ "127.0.0.1:2020", "http://127.0.0.1:2021" }, /* another port */
		{ "127.0.0.1:2020", "http://127.0.0.1" },      /* port 80 */
		{ "127.0.0.1:2020", "http://127.0.0.2:2020" },
		{ "[::1]:2020", "http://[::2]:2020" },
		{ "chat.example", "http://chat.example.evil.example" }, /* a longer name */
		{ "chat.example", "http://evilchat.example" },
		{ "chat.example", "http://chat.exampl" },
		{ "chat.example:2020", "chrome-extension://chat.example:2020" }, /* not a page */
	};
	for (size_t i = 0; i < ARRAY_LEN(foreign); i++)
		cr_assert_eq(origin_of(foreign[i][0], foreign[i][1], NULL), HTTP_ORIGIN_FOREIGN,
			     "Host %s, Origin %s", foreign[i][0], foreign[i][1]);
	cr_assert_eq(origin_of(NULL, "http://chat.example", NULL), HTTP_ORIGIN_FOREIGN,
		     "no Host to compare with");
	cr_assert_eq(origin_of("bad host", "http://bad host", NULL), HTTP_ORIGIN_MALFORMED);
	cr_assert_eq(origin_of("a:", "http://a", NULL), HTTP_ORIGIN_FOREIGN, "bad Host port");
}

Test(http, a_null_origin_is_refused)
{
	cr_assert_eq(origin_of("127.0.0.1:2020", "null", NULL), HTTP_ORIGIN_FOREIGN);
	cr_assert_eq(origin_of("127.0.0.1:2020", "null", "http://127.0.0.1:2020"),
		     HTTP_ORIGIN_FOREIGN, "a list cannot name null");
}

Test(http, a_malformed_origin_is_refused)
{
	const char *bad[] = {
		"",
		"127.0.0.1:2020",            /* no scheme */
		"http://127.0.0.1:2020/",    /* trailing slash */
		"http://127.0.0.1:2020/ws",  /* a path */
		"http://u@127.0.0.1:2020",   /* user info */
		"http://127.0.0.1:",         /* empty port */
		"http://127.0.0.1:99999",    /* port out of range */
		"http://127.0.0.1:000080",   /* six digits */
		"http://127.0.0.1:20x0",     /* not a number */
		"http://[::1",               /* unclosed bracket */
		"http://[]:2020",            /* empty literal */
		"http://[::1]x",             /* bytes after the literal */
		"http:/127.0.0.1:2020",      /* one slash */
		"http://",                   /* no host */
		"://127.0.0.1:2020",         /* no scheme name */
		"NULL",                      /* null is lower case */
		"http://127.0.0.1\x80:2020", /* not ASCII */
		"http://127.0.0.1:2020?x",   /* a query */
	};
	for (size_t i = 0; i < ARRAY_LEN(bad); i++)
		cr_assert_eq(origin_of("127.0.0.1:2020", bad[i], NULL), HTTP_ORIGIN_MALFORMED,
			     "Origin '%s'", bad[i]);
}

Test(http, several_origin_headers_are_refused)
{
	cr_assert_eq(origin_verdict("127.0.0.1:2020",
				    "Origin: http://127.0.0.1:2020\r\n"
				    "Origin: http://127.0.0.1:2020\r\n",
				    NULL),
		     HTTP_ORIGIN_REPEATED, "even when both match");
	cr_assert_eq(origin_verdict("127.0.0.1:2020",
				    "origin: http://127.0.0.1:2020\r\nORIGIN: null\r\n",
				    "http://127.0.0.1:2020"),
		     HTTP_ORIGIN_REPEATED, "names without case");
}

Test(http, allow_list_entries_match_exactly_with_default_ports)
{
	const char *list = "https://a.example, http://app.example:8080,http://[::1]:3000";
	const char *host = "127.0.0.1:2020";
	const char *listed[] = {
		"http://app.example:8080", "http://APP.Example:8080", "HTTP://app.example:8080",
		"https://a.example",       "https://a.example:443",   "http://[::1]:3000",
	};
	for (size_t i = 0; i < ARRAY_LEN(listed); i++)
		cr_assert_eq(origin_of(host, listed[i], list), HTTP_ORIGIN_ALLOWED, "%s",
			     listed[i]);
	const char *unlisted[] = {
		"http://app.example:8081",  /* another port */
		"http://app.example",       /* port 80 */
		"https://app.example:8080", /* another scheme */
		"http://a.example",         /* http, not https */
		"https://b.a.example",      /* a sub-domain */
		"https://a.example.evil",   /* a longer name */
		"http://[::1]:3001",
	};
	for (size_t i = 0; i < ARRAY_LEN(unlisted); i++)
		cr_assert_eq(origin_of(host, unlisted[i], list), HTTP_ORIGIN_FOREIGN, "%s",
			     unlisted[i]);
	cr_assert_eq(origin_of(host, "http://app.example/", list), HTTP_ORIGIN_MALFORMED);
	cr_assert_eq(origin_of(host, "http://app.example", "http://app.example/"),
		     HTTP_ORIGIN_FOREIGN, "an entry with a path matches nothing");
}

Test(http, allow_list_star_lets_every_origin_in)
{
	const char *host = "127.0.0.1:2020";
	cr_assert_eq(origin_of(host, "http://evil.example", "*"), HTTP_ORIGIN_ALLOWED);
	cr_assert_eq(origin_of(host, "null", "*"), HTTP_ORIGIN_ALLOWED);
	cr_assert_eq(origin_of(host, "http://x/", "*"), HTTP_ORIGIN_ALLOWED);
	cr_assert_eq(origin_verdict(host, "Origin: http://a\r\nOrigin: http://b\r\n", "*"),
		     HTTP_ORIGIN_ALLOWED);
}

Test(http, allow_list_syntax_check_points_at_the_first_bad_entry)
{
	const char *good[] = {
		"*",
		"http://a.example",
		"https://a.example:8443",
		"http://127.0.0.1:3000,https://b.example",
		" http://a.example , https://b.example ",
		"http://[::1]:8080",
		"HTTPS://A.Example",
	};
	for (size_t i = 0; i < ARRAY_LEN(good); i++)
		cr_assert_null(http_origin_list_check(good[i]), "%s", good[i]);
	struct {
		const char *list;
		size_t at; /* offset of the bad entry */
	} bad[] = {
		{ "", 0 },
		{ "ftp://a.example", 0 },
		{ "ws://a.example", 0 },
		{ "http://a.example/", 0 },
		{ "http://a.example,", 17 },
		{ "http://a.example,,http://b", 17 },
		{ "http://a.example,*", 17 },
		{ "*,http://a.example", 0 },
		{ "a.example", 0 },
		{ "http://a.example:0x50", 0 },
		{ "http://a.example, null", 18 },
		{ "http://a.example:70000", 0 },
		{ "http://user@a.example", 0 },
	};
	for (size_t i = 0; i < ARRAY_LEN(bad); i++) {
		const char *at = http_origin_list_check(bad[i].list);
		cr_assert_not_null(at, "'%s' accepted", bad[i].list);
		cr_assert_eq((size_t)(at - bad[i].list), bad[i].at, "'%s': at %td", bad[i].list,
			     at - bad[i].list);
	}
}

Test(http, forbidden_has_its_reason_and_each_refusal_says_why)
{
	cr_assert_str_eq(http_reason(403), "Forbidden");
	cr_assert_str_eq(http_origin_why(HTTP_ORIGIN_FOREIGN), "origin not allowed");
	cr_assert_str_eq(http_origin_why(HTTP_ORIGIN_MALFORMED), "malformed Origin");
	cr_assert_str_eq(http_origin_why(HTTP_ORIGIN_REPEATED), "more than one Origin header");
}

/* ---- answers formatted here (web.c sends them) ------------------------------------------- */

Test(http, the_101_answer_for_rfc6455s_example_key)
{
	struct http_request req;
	char accept[HTTP_WS_ACCEPT_LEN + 1];
	cr_assert_gt(parse(handshake, &req), 0);
	cr_assert_eq(http_ws_accept(&req, accept), 0);
	char out[HTTP_UPGRADE_MAX];
	size_t n = http_format_upgrade(out, sizeof(out), accept);
	const char *want = "HTTP/1.1 101 Switching Protocols\r\n"
			   "Upgrade: websocket\r\n"
			   "Connection: Upgrade\r\n"
			   "Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n"
			   "\r\n";
	cr_assert_str_eq(out, want);
	cr_assert_eq(n, strlen(want));
	cr_assert_eq(n + 1, HTTP_UPGRADE_MAX, "HTTP_UPGRADE_MAX is the answer and its NUL");
	cr_assert_eq(http_format_upgrade(out, n, accept), 0, "one byte short: does not fit");
}

Test(http, an_error_body_is_status_reason_and_why)
{
	char out[HTTP_ERROR_BODY_MAX];
	size_t n = http_format_error_body(out, sizeof(out), 404, NULL);
	cr_assert_str_eq(out, "404 Not Found\n");
	cr_assert_eq(n, strlen(out));
	n = http_format_error_body(out, sizeof(out), 403, http_origin_why(HTTP_ORIGIN_FOREIGN));
	cr_assert_str_eq(out, "403 Forbidden: origin not allowed\n");
	cr_assert_eq(n, strlen(out));
	cr_assert_eq(http_format_error_body(out, n, 403, http_origin_why(HTTP_ORIGIN_FOREIGN)), 0,
		     "one byte short: does not fit");
}

Test(http, every_reason_and_why_fits_the_error_body_bound)
{
	size_t longest_reason = 0, longest_why = 0;
	for (int status = 100; status < 600; status++) {
		size_t n = strlen(http_reason(status));
		longest_reason = n > longest_reason ? n : longest_reason;
	}
	const enum http_origin verdicts[] = { HTTP_ORIGIN_ALLOWED, HTTP_ORIGIN_FOREIGN,
					      HTTP_ORIGIN_MALFORMED, HTTP_ORIGIN_REPEATED };
	for (size_t i = 0; i < ARRAY_LEN(verdicts); i++) {
		size_t n = strlen(http_origin_why(verdicts[i]));
		longest_why = n > longest_why ? n : longest_why;
	}
	cr_assert_eq(longest_reason, HTTP_REASON_MAX);
	cr_assert_eq(longest_why, HTTP_WHY_MAX);
	/* the longest of both, with the widest status an int can hold */
	char out[HTTP_ERROR_BODY_MAX];
	size_t n = http_format_error_body(out, sizeof(out), INT_MIN,
					  http_origin_why(HTTP_ORIGIN_REPEATED));
	cr_assert_str_eq(out, "-2147483648 Unknown: more than one Origin header\n");
	cr_assert_eq(n, strlen(out));
	n = http_format_error_body(out, sizeof(out), 431, http_origin_why(HTTP_ORIGIN_REPEATED));
	cr_assert_str_eq(out, "431 Request Header Fields Too Large: more than one Origin header\n");
	cr_assert_eq(n, strlen(out));
}

Test(http, the_longest_head_fits_HTTP_HEAD_MAX)
{
	char type[HTTP_TYPE_MAX + 1], extra[HTTP_EXTRA_MAX + 1];
	memset(type, 't', HTTP_TYPE_MAX);
	type[HTTP_TYPE_MAX] = '\0';
	memset(extra, 'x', HTTP_EXTRA_MAX);
	extra[HTTP_EXTRA_MAX - 2] = '\r';
	extra[HTTP_EXTRA_MAX - 1] = '\n';
	extra[HTTP_EXTRA_MAX] = '\0';
	char head[HTTP_HEAD_MAX];
	size_t n = http_format_head(head, sizeof(head), 431, type, SIZE_MAX, false, extra);
	cr_assert_gt(n, 0, "the longest head does not fit");
	cr_assert(strstr(head, "\r\n\r\n") == head + n - 4);
}
