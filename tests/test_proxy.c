/*
 * test_proxy.c - the PROXY protocol header parser (src/proxy.c) against HAProxy's
 * proxy-protocol.txt: its examples and length bounds for version 1, the binary layout of
 * version 2 (LOCAL, TCP over IPv4 and IPv6, TLVs, the families chatd falls back on), every
 * proper prefix of a valid header asking for more, and each malformation refused with its
 * own error; then the X-Forwarded-For walk.
 */
#include "proxy.h"

#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>

static const uint8_t sig[12] = { 0x0D, 0x0A, 0x0D, 0x0A, 0x00, 0x0D,
				 0x0A, 0x51, 0x55, 0x49, 0x54, 0x0A };

static int parse_text(const char *text, struct proxy_header *h)
{
	return proxy_parse((const uint8_t *)text, strlen(text), h);
}

/* Every proper prefix of buf[0..n) needs more bytes. */
static void assert_prefixes_need_more(const uint8_t *buf, size_t n)
{
	for (size_t k = 0; k < n; k++) {
		struct proxy_header h;
		cr_assert_eq(proxy_parse(buf, k, &h), PARSE_AGAIN, "prefix of %zu bytes of %zu", k,
			     n);
	}
}

static void assert_refused(const char *text, enum proxy_error e)
{
	struct proxy_header h;
	cr_assert_eq(parse_text(text, &h), PARSE_ERROR, "'%s' accepted", text);
	cr_assert_eq(h.error, e, "'%s': error %d (%s), expected %d", text, h.error,
		     proxy_error_text(h.error), e);
}

static void assert_v4(const struct sockaddr_storage *ss, const char *addr, unsigned port)
{
	const struct sockaddr_in *in4 = (const struct sockaddr_in *)ss;
	char text[INET_ADDRSTRLEN];
	cr_assert_eq(in4->sin_family, AF_INET);
	cr_assert_str_eq(inet_ntop(AF_INET, &in4->sin_addr, text, sizeof(text)), addr);
	cr_assert_eq(ntohs(in4->sin_port), port);
}

static void assert_v6(const struct sockaddr_storage *ss, const char *addr, unsigned port)
{
	const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)ss;
	char text[INET6_ADDRSTRLEN];
	cr_assert_eq(in6->sin6_family, AF_INET6);
	cr_assert_str_eq(inet_ntop(AF_INET6, &in6->sin6_addr, text, sizeof(text)), addr);
	cr_assert_eq(ntohs(in6->sin6_port), port);
}

/* ---- version 1 ------------------------------------------------------------------------------ */

Test(proxy, v1_the_specs_example_names_source_and_destination)
{
	const char *text = "PROXY TCP4 192.168.0.1 192.168.0.11 56324 443\r\n"
			   "GET / HTTP/1.1\r\nHost: 192.168.0.11\r\n\r\n";
	struct proxy_header h;
	int n = parse_text(text, &h);
	cr_assert_eq(n, (int)strlen("PROXY TCP4 192.168.0.1 192.168.0.11 56324 443\r\n"),
		     "the header's length, the request behind it left alone");
	cr_assert_eq(h.version, 1);
	cr_assert_eq(h.kind, PROXY_SOURCE);
	assert_v4(&h.src, "192.168.0.1", 56324);
	assert_v4(&h.dst, "192.168.0.11", 443);
	assert_prefixes_need_more((const uint8_t *)text, (size_t)n);
}

Test(proxy, v1_tcp6_at_the_specs_longest_104_bytes)
{
	const char *text = "PROXY TCP6 ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff "
			   "ffff:ffff:ffff:ffff:ffff:ffff:ffff:fffe 65535 65535\r\n";
	cr_assert_eq(strlen(text), 104);
	struct proxy_header h;
	cr_assert_eq(parse_text(text, &h), 104);
	cr_assert_eq(h.kind, PROXY_SOURCE);
	assert_v6(&h.src, "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", 65535);
	assert_v6(&h.dst, "ffff:ffff:ffff:ffff:ffff:ffff:ffff:fffe", 65535);
	cr_assert_eq(parse_text("PROXY TCP6 2001:db8::1 ::1 0 2020\r\n", &h), 35);
	assert_v6(&h.src, "2001:db8::1", 0);
}

Test(proxy, v1_unknown_keeps_the_peer_and_ignores_the_rest_of_its_line)
{
	struct proxy_header h;
	cr_assert_eq(parse_text("PROXY UNKNOWN\r\n", &h), 15, "the short form");
	cr_assert_eq(h.kind, PROXY_UNKNOWN);
	cr_assert_eq(parse_text("PROXY UNKNOWN whatever \x01 it says\r\nhi\n", &h),
		     (int)strlen("PROXY UNKNOWN whatever \x01 it says\r\n"));
	cr_assert_eq(h.kind, PROXY_UNKNOWN);
	assert_refused("PROXY UNKNOWNX\r\n", PROXY_ERR_V1_PROTOCOL);
}

Test(proxy, v1_line_of_107_bytes_is_taken_and_108_refused)
{
	/* the spec's worst case: "PROXY UNKNOWN" and two full IPv6 addresses and ports */
	char line[200];
	snprintf(line, sizeof(line), "PROXY UNKNOWN %s %s 65535 65535\r\n",
		 "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff",
		 "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff");
	cr_assert_eq(strlen(line), 107);
	struct proxy_header h;
	cr_assert_eq(parse_text(line, &h), 107);
	snprintf(line, sizeof(line), "PROXY UNKNOWN %s %s 65535 655350\r\n",
		 "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff",
		 "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff");
	assert_refused(line, PROXY_ERR_V1_TOO_LONG);
	/* without any line end, the 107th byte decides: no waiting for more */
	static const char sig_v1[6] = { 'P', 'R', 'O', 'X', 'Y', ' ' }; /* no NUL: not a string */
	memset(line, 'x', sizeof(line));
	memcpy(line, sig_v1, sizeof(sig_v1));
	cr_assert_eq(proxy_parse((const uint8_t *)line, 106, &h), PARSE_AGAIN);
	cr_assert_eq(proxy_parse((const uint8_t *)line, 107, &h), PARSE_ERROR);
	cr_assert_eq(h.error, PROXY_ERR_V1_TOO_LONG);
}

Test(proxy, v1_needs_crlf_and_refuses_a_cr_or_lf_alone)
{
	assert_refused("PROXY TCP4 1.2.3.4 5.6.7.8 1 2\n", PROXY_ERR_V1_LINE_END);
	assert_refused("PROXY TCP4 1.2.3.4 5.6.7.8 1 2\rX", PROXY_ERR_V1_LINE_END);
	assert_refused("PROXY UNKNOWN\n", PROXY_ERR_V1_LINE_END);
	struct proxy_header h;
	cr_assert_eq(parse_text("PROXY TCP4 1.2.3.4 5.6.7.8 1 2\r", &h), PARSE_AGAIN,
		     "a CR at the end of what arrived: its LF may follow");
}

Test(proxy, v1_refuses_addresses_that_are_not_canonical)
{
	assert_refused("PROXY TCP4 192.168.0.01 1.2.3.4 1 2\r\n", PROXY_ERR_V1_ADDRESS);
	assert_refused("PROXY TCP4 256.1.1.1 1.2.3.4 1 2\r\n", PROXY_ERR_V1_ADDRESS);
	assert_refused("PROXY TCP4 1.2.3 1.2.3.4 1 2\r\n", PROXY_ERR_V1_ADDRESS);
	assert_refused("PROXY TCP4 0x7f.0.0.1 1.2.3.4 1 2\r\n", PROXY_ERR_V1_ADDRESS);
	assert_refused("PROXY TCP4 ::1 1.2.3.4 1 2\r\n", PROXY_ERR_V1_ADDRESS);
	assert_refused("PROXY TCP6 1.2.3.4 ::1 1 2\r\n", PROXY_ERR_V1_ADDRESS);
	assert_refused("PROXY TCP6 ::1 2001:db8:::1 1 2\r\n", PROXY_ERR_V1_ADDRESS);
	assert_refused("PROXY TCP4 localhost 1.2.3.4 1 2\r\n", PROXY_ERR_V1_ADDRESS);
}

Test(proxy, v1_refuses_ports_with_heading_zeros_signs_or_past_65535)
{
	assert_refused("PROXY TCP4 1.2.3.4 5.6.7.8 0443 2\r\n", PROXY_ERR_V1_PORT);
	assert_refused("PROXY TCP4 1.2.3.4 5.6.7.8 65536 2\r\n", PROXY_ERR_V1_PORT);
	assert_refused("PROXY TCP4 1.2.3.4 5.6.7.8 -1 2\r\n", PROXY_ERR_V1_PORT);
	assert_refused("PROXY TCP4 1.2.3.4 5.6.7.8 +1 2\r\n", PROXY_ERR_V1_PORT);
	assert_refused("PROXY TCP4 1.2.3.4 5.6.7.8 1 99999999999\r\n", PROXY_ERR_V1_PORT);
	assert_refused("PROXY TCP4 1.2.3.4 5.6.7.8 1 2x\r\n", PROXY_ERR_V1_PORT);
	struct proxy_header h;
	cr_assert_gt(parse_text("PROXY TCP4 1.2.3.4 5.6.7.8 0 65535\r\n", &h), 0);
}

Test(proxy, v1_refuses_missing_extra_or_doubly_spaced_fields)
{
	assert_refused("PROXY TCP4\r\n", PROXY_ERR_V1_FIELDS);
	assert_refused("PROXY TCP4 1.2.3.4 5.6.7.8 1\r\n", PROXY_ERR_V1_FIELDS);
	assert_refused("PROXY TCP4 1.2.3.4 5.6.7.8 1 2 3\r\n", PROXY_ERR_V1_FIELDS);
	assert_refused("PROXY TCP4  1.2.3.4 5.6.7.8 1 2\r\n", PROXY_ERR_V1_FIELDS);
	assert_refused("PROXY TCP4 1.2.3.4 5.6.7.8 1 2 \r\n", PROXY_ERR_V1_FIELDS);
	assert_refused("PROXY TCP4 1.2.3.4\t5.6.7.8 1 2\r\n", PROXY_ERR_V1_FIELDS);
}

Test(proxy, v1_refuses_other_protocols_and_spellings)
{
	assert_refused("PROXY UDP4 1.2.3.4 5.6.7.8 1 2\r\n", PROXY_ERR_V1_PROTOCOL);
	assert_refused("PROXY TCP5 1.2.3.4 5.6.7.8 1 2\r\n", PROXY_ERR_V1_PROTOCOL);
	assert_refused("PROXY tcp4 1.2.3.4 5.6.7.8 1 2\r\n", PROXY_ERR_V1_PROTOCOL);
	assert_refused("PROXY \r\n", PROXY_ERR_V1_PROTOCOL);
	assert_refused("proxy TCP4 1.2.3.4 5.6.7.8 1 2\r\n", PROXY_ERR_SIGNATURE);
	assert_refused("PROXY\r\n", PROXY_ERR_SIGNATURE);
	assert_refused("PROXYTCP4\r\n", PROXY_ERR_SIGNATURE);
}

/* ---- version 2 ------------------------------------------------------------------------------ */

/* A version 2 header into out: ver_cmd, fam, then body (len bytes); returns its length. */
static size_t v2(uint8_t *out, uint8_t ver_cmd, uint8_t fam, const void *body, size_t len)
{
	memcpy(out, sig, sizeof(sig));
	out[12] = ver_cmd;
	out[13] = fam;
	out[14] = (uint8_t)(len >> 8);
	out[15] = (uint8_t)len;
	if (len > 0)
		memcpy(out + 16, body, len);
	return 16 + len;
}

/* TCP over IPv4 from src:sport to dst:dport, and tlv_len bytes of TLVs after the addresses. */
static size_t v2_tcp4(uint8_t *out, const char *src, uint16_t sport, const char *dst,
		      uint16_t dport, const uint8_t *tlvs, size_t tlv_len)
{
	uint8_t body[12 + 256];
	cr_assert_eq(inet_pton(AF_INET, src, body), 1);
	cr_assert_eq(inet_pton(AF_INET, dst, body + 4), 1);
	body[8] = (uint8_t)(sport >> 8);
	body[9] = (uint8_t)sport;
	body[10] = (uint8_t)(dport >> 8);
	body[11] = (uint8_t)dport;
	cr_assert_leq(tlv_len, 256);
	if (tlv_len > 0)
		memcpy(body + 12, tlvs, tlv_len);
	return v2(out, 0x21, 0x11, body, 12 + tlv_len);
}

Test(proxy, v2_tcp4_as_haproxy_sends_it)
{
	/* send-proxy-v2 for 172.19.0.1:42578 -> 172.19.0.3:80, then the client's request */
	static const uint8_t wire[] = { 0x0d, 0x0a, 0x0d, 0x0a, 0x00, 0x0d, 0x0a, 0x51,
					0x55, 0x49, 0x54, 0x0a, 0x21, 0x11, 0x00, 0x0c,
					0xac, 0x13, 0x00, 0x01, 0xac, 0x13, 0x00, 0x03,
					0xa6, 0x52, 0x00, 0x50, 'G',  'E',  'T',  ' ' };
	struct proxy_header h;
	cr_assert_eq(proxy_parse(wire, sizeof(wire), &h), 28);
	cr_assert_eq(h.version, 2);
	cr_assert_eq(h.kind, PROXY_SOURCE);
	assert_v4(&h.src, "172.19.0.1", 42578);
	assert_v4(&h.dst, "172.19.0.3", 80);
	assert_prefixes_need_more(wire, 28);
}

Test(proxy, v2_tcp6_names_the_ipv6_source)
{
	uint8_t body[36] = { 0 }, buf[64];
	cr_assert_eq(inet_pton(AF_INET6, "2001:db8::7", body), 1);
	cr_assert_eq(inet_pton(AF_INET6, "2001:db8::1", body + 16), 1);
	body[32] = 0x13; /* 5000 */
	body[33] = 0x88;
	body[34] = 0x07; /* 2020 */
	body[35] = 0xe4;
	size_t n = v2(buf, 0x21, 0x21, body, sizeof(body));
	struct proxy_header h;
	cr_assert_eq(proxy_parse(buf, n, &h), 52);
	cr_assert_eq(h.kind, PROXY_SOURCE);
	assert_v6(&h.src, "2001:db8::7", 5000);
	assert_v6(&h.dst, "2001:db8::1", 2020);
	assert_prefixes_need_more(buf, n);
}

Test(proxy, v2_local_is_accepted_whatever_its_family_and_length)
{
	uint8_t buf[64], junk[20];
	memset(junk, 0xEE, sizeof(junk));
	struct proxy_header h;
	cr_assert_eq(proxy_parse(buf, v2(buf, 0x20, 0x00, NULL, 0), &h), 16, "a health check");
	cr_assert_eq(h.kind, PROXY_LOCAL);
	/* the receiver must skip the length given, and ignore the family, even an unassigned one */
	cr_assert_eq(proxy_parse(buf, v2(buf, 0x20, 0xFF, junk, sizeof(junk)), &h), 36);
	cr_assert_eq(h.kind, PROXY_LOCAL);
}

Test(proxy, v2_tlvs_are_skipped_when_they_fill_the_header_exactly)
{
	static const uint8_t tlvs[] = { 0x04, 0x00, 0x02, 0x00, 0x00,           /* NOOP, 2 bytes */
					0x02, 0x00, 0x04, 'c',  'h',  'a', 't', /* AUTHORITY */
					0xE0, 0x00, 0x00 };                     /* custom, empty */
	uint8_t buf[128];
	size_t n = v2_tcp4(buf, "10.0.0.9", 1234, "10.0.0.1", 2020, tlvs, sizeof(tlvs));
	struct proxy_header h;
	cr_assert_eq(proxy_parse(buf, n, &h), (int)n);
	assert_v4(&h.src, "10.0.0.9", 1234);
	/* a TLV running past the header, or a piece of a TLV head */
	static const uint8_t over[] = { 0x04, 0x00, 0x05, 0x00 };
	n = v2_tcp4(buf, "10.0.0.9", 1234, "10.0.0.1", 2020, over, sizeof(over));
	cr_assert_eq(proxy_parse(buf, n, &h), PARSE_ERROR);
	cr_assert_eq(h.error, PROXY_ERR_V2_TLV);
	n = v2_tcp4(buf, "10.0.0.9", 1234, "10.0.0.1", 2020, over, 2);
	cr_assert_eq(proxy_parse(buf, n, &h), PARSE_ERROR);
	cr_assert_eq(h.error, PROXY_ERR_V2_TLV);
}

Test(proxy, v2_families_chatd_does_not_use_fall_back_to_the_peer)
{
	uint8_t buf[512], body[216 + 4];
	memset(body, 0, sizeof(body));
	struct proxy_header h;
	cr_assert_eq(proxy_parse(buf, v2(buf, 0x21, 0x00, body, 8), &h), 24, "UNSPEC");
	cr_assert_eq(h.kind, PROXY_UNKNOWN);
	cr_assert_eq(proxy_parse(buf, v2(buf, 0x21, 0x12, body, 12), &h), 28, "UDP over IPv4");
	cr_assert_eq(h.kind, PROXY_UNKNOWN);
	cr_assert_eq(proxy_parse(buf, v2(buf, 0x21, 0x31, body, 216), &h), 232, "UNIX stream");
	cr_assert_eq(h.kind, PROXY_UNKNOWN);
}

Test(proxy, v2_refuses_a_bad_signature_at_its_first_wrong_byte)
{
	uint8_t buf[64];
	size_t n = v2_tcp4(buf, "10.0.0.9", 1, "10.0.0.1", 2, NULL, 0);
	for (size_t i = 1; i < sizeof(sig); i++) {
		uint8_t bad[64];
		memcpy(bad, buf, n);
		bad[i] ^= 0x01;
		struct proxy_header h;
		cr_assert_eq(proxy_parse(bad, i + 1, &h), PARSE_ERROR, "byte %zu", i);
		cr_assert_eq(h.error, PROXY_ERR_SIGNATURE);
	}
}

Test(proxy, v2_refuses_other_versions_commands_and_families)
{
	uint8_t buf[64], body[36] = { 0 };
	struct proxy_header h;
	static const struct {
		uint8_t ver_cmd, fam;
		enum proxy_error e;
	} bad[] = {
		{ 0x11, 0x11, PROXY_ERR_V2_VERSION }, { 0x31, 0x11, PROXY_ERR_V2_VERSION },
		{ 0x22, 0x11, PROXY_ERR_V2_COMMAND }, { 0x2F, 0x11, PROXY_ERR_V2_COMMAND },
		{ 0x21, 0x41, PROXY_ERR_V2_FAMILY },  { 0x21, 0x13, PROXY_ERR_V2_FAMILY },
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		size_t n = v2(buf, bad[i].ver_cmd, bad[i].fam, body, 12);
		cr_assert_eq(proxy_parse(buf, n, &h), PARSE_ERROR, "case %zu", i);
		cr_assert_eq(h.error, bad[i].e, "case %zu: %s", i, proxy_error_text(h.error));
		/* decided from the first 14 bytes, without waiting for the rest */
		cr_assert_eq(proxy_parse(buf, 14, &h), PARSE_ERROR, "case %zu early", i);
	}
}

Test(proxy, v2_lengths_are_bounded_and_must_hold_the_addresses)
{
	uint8_t buf[PROXY_HEADER_MAX + 64] = { 0 };
	struct proxy_header h;
	/* over the bound: refused from the 16-byte head alone */
	v2(buf, 0x21, 0x11, NULL, 0);
	buf[14] = (uint8_t)((PROXY_V2_LEN_MAX + 1) >> 8);
	buf[15] = (uint8_t)(PROXY_V2_LEN_MAX + 1);
	cr_assert_eq(proxy_parse(buf, 16, &h), PARSE_ERROR);
	cr_assert_eq(h.error, PROXY_ERR_V2_TOO_LONG);
	buf[14] = buf[15] = 0xFF;
	cr_assert_eq(proxy_parse(buf, 16, &h), PARSE_ERROR);
	/* at the bound: accepted, once it is all there (TLV padding fills it) */
	uint8_t pad[PROXY_V2_LEN_MAX];
	memset(pad, 0, sizeof(pad));
	pad[12] = 0x04; /* one NOOP TLV over the rest */
	pad[13] = (uint8_t)((PROXY_V2_LEN_MAX - 15) >> 8);
	pad[14] = (uint8_t)(PROXY_V2_LEN_MAX - 15);
	size_t n = v2(buf, 0x21, 0x11, pad, sizeof(pad));
	cr_assert_eq(n, PROXY_HEADER_MAX);
	cr_assert_eq(proxy_parse(buf, n - 1, &h), PARSE_AGAIN);
	cr_assert_eq(proxy_parse(buf, n, &h), (int)n);
	/* shorter than the family's addresses */
	uint8_t body[36] = { 0 };
	cr_assert_eq(proxy_parse(buf, v2(buf, 0x21, 0x11, body, 11), &h), PARSE_ERROR);
	cr_assert_eq(h.error, PROXY_ERR_V2_SHORT);
	cr_assert_eq(proxy_parse(buf, v2(buf, 0x21, 0x21, body, 12), &h), PARSE_ERROR);
	cr_assert_eq(h.error, PROXY_ERR_V2_SHORT);
}

Test(proxy, anything_else_is_refused_at_once)
{
	assert_refused("GET / HTTP/1.1\r\n", PROXY_ERR_SIGNATURE);
	assert_refused("hello\n", PROXY_ERR_SIGNATURE);
	assert_refused("\x16\x03\x01", PROXY_ERR_SIGNATURE); /* a TLS ClientHello */
	assert_refused("PX", PROXY_ERR_SIGNATURE);
	struct proxy_header h;
	cr_assert_eq(parse_text("", &h), PARSE_AGAIN);
	cr_assert_eq(parse_text("P", &h), PARSE_AGAIN);
}

/* ---- X-Forwarded-For ------------------------------------------------------------------------ */

/* The client named by the header values (NULL-ended), trusting the ranges `trusted`; "" when
 * it names nobody. */
static const char *xff(const char *trusted, const char *const *values)
{
	static char out[CIDR_ADDR_STRLEN];
	struct cidr_list list;
	size_t bad_len;
	cr_assert_null(cidr_list_parse(trusted, &list, &bad_len));
	struct http_slice v[8];
	size_t n = 0;
	for (; values[n] != NULL; n++)
		v[n] = (struct http_slice){ values[n], strlen(values[n]) };
	struct cidr_addr a;
	if (!proxy_forwarded_for(v, n, &list, &a))
		return "";
	return cidr_addr_format(&a, out, sizeof(out));
}

#define XFF(trusted, ...) xff((trusted), (const char *const[]){ __VA_ARGS__, NULL })

Test(xff, the_rightmost_untrusted_entry_is_the_client)
{
	cr_assert_str_eq(XFF("10.0.0.0/8", "203.0.113.7"), "203.0.113.7");
	cr_assert_str_eq(XFF("10.0.0.0/8", "203.0.113.7, 10.0.0.2"), "203.0.113.7",
			 "a proxy of ours passed it on");
	cr_assert_str_eq(XFF("10.0.0.0/8", "1.1.1.1, 203.0.113.7"), "203.0.113.7",
			 "what the client wrote itself is not believed");
	cr_assert_str_eq(XFF("10.0.0.0/8", "1.1.1.1", "203.0.113.7,10.0.0.2"), "203.0.113.7",
			 "several headers are one list, in order");
	cr_assert_str_eq(XFF("10.0.0.0/8", "10.0.0.3, 10.0.0.2"), "10.0.0.3",
			 "all trusted: the leftmost");
}

Test(xff, entries_may_carry_ports_and_brackets)
{
	cr_assert_str_eq(XFF("10.0.0.0/8", "198.51.100.1:4711"), "198.51.100.1");
	cr_assert_str_eq(XFF("10.0.0.0/8", "[2001:db8::1]:443"), "2001:db8::1");
	cr_assert_str_eq(XFF("10.0.0.0/8", "[2001:db8::1]"), "2001:db8::1");
	cr_assert_str_eq(XFF("10.0.0.0/8", "  2001:db8::2 "), "2001:db8::2");
	cr_assert_str_eq(XFF("::1", "::ffff:192.0.2.1"), "192.0.2.1", "IPv4-mapped is IPv4");
}

Test(xff, a_malformed_entry_ends_the_walk)
{
	cr_assert_str_eq(XFF("10.0.0.0/8", "unknown"), "", "nobody named");
	cr_assert_str_eq(XFF("10.0.0.0/8", ""), "");
	cr_assert_str_eq(XFF("10.0.0.0/8", "203.0.113.7, 10.0.0.2,"), "", "an empty last entry");
	cr_assert_str_eq(XFF("10.0.0.0/8", "garbage, 10.0.0.2"), "10.0.0.2",
			 "the last trusted hop is the best known");
	cr_assert_str_eq(XFF("10.0.0.0/8", "1.2.3.4:99999"), "");
	cr_assert_str_eq(XFF("10.0.0.0/8", "[2001:db8::1"), "");
	cr_assert_str_eq(XFF("10.0.0.0/8", "2001:db8::1:80x"), "");
}
