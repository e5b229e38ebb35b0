/*
 * test_http.c - the HTTP request-head parser on every error path, the same-port sniffing
 * rule, and the WebSocket opening handshake of RFC 6455.
 */
#include "common.h"
#include "http.h"

#include <criterion/criterion.h>
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
