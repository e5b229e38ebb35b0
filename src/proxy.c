/*
 * proxy.c - the PROXY protocol header and X-Forwarded-For (see proxy.h).
 *
 * Version 1 is one line of text: "PROXY TCP4|TCP6 SRC DST SPORT DPORT\r\n", or
 * "PROXY UNKNOWN...\r\n", at most 107 bytes. Version 2 is binary: a 12-byte signature, the
 * version (2) and command (LOCAL or PROXY) in one byte, the family and transport in the next,
 * a 16-bit length, then that many bytes: the addresses and ports of the family, and TLVs
 * (type, 16-bit length, value) that chatd checks for shape and skips.
 */
#include "proxy.h"
#include "common.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <string.h>

static const char v1_sig[] = "PROXY ";
static const uint8_t v2_sig[12] = { 0x0D, 0x0A, 0x0D, 0x0A, 0x00, 0x0D,
				    0x0A, 0x51, 0x55, 0x49, 0x54, 0x0A };

enum { V1_SIG_LEN = sizeof(v1_sig) - 1 };

static int fail(struct proxy_header *out, enum proxy_error e)
{
	out->error = e;
	return PARSE_ERROR;
}

/* A port: decimal, no heading zero, at most 65535. */
static bool parse_port(const char *s, size_t n, uint16_t *port)
{
	unsigned v;
	if (!decimal_parse(s, n, 65535, &v))
		return false;
	*port = (uint16_t)v;
	return true;
}

/* An address of one family (inet_pton's strict forms: four decimal parts without heading
 * zeros for IPv4) into its socket address. */
static bool v1_address(int family, const char *s, size_t n, uint16_t port,
		       struct sockaddr_storage *out)
{
	char text[INET6_ADDRSTRLEN];
	if (n == 0 || n >= sizeof(text))
		return false;
	memcpy(text, s, n);
	text[n] = '\0';
	memset(out, 0, sizeof(*out));
	if (family == AF_INET) {
		struct sockaddr_in *in4 = (struct sockaddr_in *)out;
		in4->sin_family = AF_INET;
		in4->sin_port = htons(port);
		return inet_pton(AF_INET, text, &in4->sin_addr) == 1;
	}
	struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)out;
	in6->sin6_family = AF_INET6;
	in6->sin6_port = htons(port);
	return inet_pton(AF_INET6, text, &in6->sin6_addr) == 1;
}

/* The four fields after "PROXY TCP4 " or "PROXY TCP6 ": source and destination addresses,
 * source and destination ports, exactly one space apart. */
static int v1_fields(int family, const char *p, size_t len, struct proxy_header *out)
{
	const char *field[4];
	size_t flen[4];
	size_t k = 0, start = 0;
	for (size_t i = 0; i <= len; i++) {
		if (i < len && p[i] != ' ')
			continue;
		if (i == start || k == 4) /* an empty field (two spaces), or a fifth one */
			return fail(out, PROXY_ERR_V1_FIELDS);
		field[k] = p + start;
		flen[k++] = i - start;
		start = i + 1;
	}
	if (k != 4)
		return fail(out, PROXY_ERR_V1_FIELDS);
	uint16_t sport, dport;
	if (!parse_port(field[2], flen[2], &sport) || !parse_port(field[3], flen[3], &dport))
		return fail(out, PROXY_ERR_V1_PORT);
	if (!v1_address(family, field[0], flen[0], sport, &out->src) ||
	    !v1_address(family, field[1], flen[1], dport, &out->dst))
		return fail(out, PROXY_ERR_V1_ADDRESS);
	return 0;
}

/* Where the line's CR LF is: its CR's index (> 0), PARSE_AGAIN, or PARSE_ERROR. */
static int v1_line_end(const uint8_t *buf, size_t n, struct proxy_header *out)
{
	size_t lim = n;
	if (lim > PROXY_V1_MAX)
		lim = PROXY_V1_MAX;
	for (size_t i = 0; i < lim; i++) {
		if (buf[i] == '\n') /* an LF without its CR */
			return fail(out, PROXY_ERR_V1_LINE_END);
		if (buf[i] != '\r')
			continue;
		if (i + 1 >= PROXY_V1_MAX) /* its LF would be byte 108 */
			return fail(out, PROXY_ERR_V1_TOO_LONG);
		if (i + 1 == n)
			return PARSE_AGAIN;
		if (buf[i + 1] != '\n')
			return fail(out, PROXY_ERR_V1_LINE_END);
		return (int)i;
	}
	return n >= PROXY_V1_MAX ? fail(out, PROXY_ERR_V1_TOO_LONG) : PARSE_AGAIN;
}

static int parse_v1(const uint8_t *buf, size_t n, struct proxy_header *out)
{
	if (memcmp(buf, v1_sig, n < V1_SIG_LEN ? n : V1_SIG_LEN) != 0)
		return fail(out, PROXY_ERR_SIGNATURE);
	int end = v1_line_end(buf, n, out);
	if (end < 0)
		return end;
	out->version = 1;
	const char *p = (const char *)buf + V1_SIG_LEN; /* the CR is past the signature */
	size_t len = (size_t)end - V1_SIG_LEN;
	/* UNKNOWN: whatever follows it up to the CR LF is to be ignored */
	if (len >= 7 && memcmp(p, "UNKNOWN", 7) == 0 && (len == 7 || p[7] == ' ')) {
		out->kind = PROXY_UNKNOWN;
		return end + 2;
	}
	bool tcp = len >= 4 && memcmp(p, "TCP", 3) == 0 && (p[3] == '4' || p[3] == '6');
	if (!tcp || (len > 4 && p[4] != ' '))
		return fail(out, PROXY_ERR_V1_PROTOCOL);
	if (len == 4)
		return fail(out, PROXY_ERR_V1_FIELDS);
	if (v1_fields(p[3] == '4' ? AF_INET : AF_INET6, p + 5, len - 5, out) < 0)
		return PARSE_ERROR;
	out->kind = PROXY_SOURCE;
	return end + 2;
}

/* Bytes of addresses and ports each family has in front of its TLVs. */
static size_t v2_address_len(unsigned family)
{
	switch (family) {
	case 1: /* AF_INET: two addresses of 4 bytes, two ports */
		return 12;
	case 2: /* AF_INET6: two of 16, two ports */
		return 36;
	case 3: /* AF_UNIX: two paths of 108 bytes */
		return 216;
	default: /* AF_UNSPEC */
		return 0;
	}
}

/* TLVs from off to end: each a type, a 16-bit length and that many bytes, ending at end. */
static bool v2_tlvs_fit(const uint8_t *buf, size_t off, size_t end)
{
	while (off < end) {
		if (end - off < 3)
			return false;
		size_t len = (size_t)buf[off + 1] << 8 | buf[off + 2];
		if (len > end - off - 3)
			return false;
		off += 3 + len;
	}
	return true;
}

static void v2_addresses(const uint8_t *a, unsigned family, struct proxy_header *out)
{
	memset(&out->src, 0, sizeof(out->src));
	memset(&out->dst, 0, sizeof(out->dst));
	if (family == 1) {
		struct sockaddr_in *s = (struct sockaddr_in *)&out->src;
		struct sockaddr_in *d = (struct sockaddr_in *)&out->dst;
		s->sin_family = d->sin_family = AF_INET;
		memcpy(&s->sin_addr, a, 4);
		memcpy(&d->sin_addr, a + 4, 4);
		memcpy(&s->sin_port, a + 8, 2); /* network order, as on the wire */
		memcpy(&d->sin_port, a + 10, 2);
		return;
	}
	struct sockaddr_in6 *s = (struct sockaddr_in6 *)&out->src;
	struct sockaddr_in6 *d = (struct sockaddr_in6 *)&out->dst;
	s->sin6_family = d->sin6_family = AF_INET6;
	memcpy(&s->sin6_addr, a, 16);
	memcpy(&d->sin6_addr, a + 16, 16);
	memcpy(&s->sin6_port, a + 32, 2);
	memcpy(&d->sin6_port, a + 34, 2);
}

static int parse_v2(const uint8_t *buf, size_t n, struct proxy_header *out)
{
	if (memcmp(buf, v2_sig, n < sizeof(v2_sig) ? n : sizeof(v2_sig)) != 0)
		return fail(out, PROXY_ERR_SIGNATURE);
	if (n < 13)
		return PARSE_AGAIN;
	if (buf[12] >> 4 != 2)
		return fail(out, PROXY_ERR_V2_VERSION);
	unsigned command = buf[12] & 0x0F;
	if (command > 1)
		return fail(out, PROXY_ERR_V2_COMMAND);
	if (n < 14)
		return PARSE_AGAIN;
	unsigned family = buf[13] >> 4, transport = buf[13] & 0x0F;
	/* LOCAL: the family is to be ignored, whatever it is */
	if (command == 1 && (family > 3 || transport > 2))
		return fail(out, PROXY_ERR_V2_FAMILY);
	if (n < PROXY_V2_HEAD)
		return PARSE_AGAIN;
	size_t len = (size_t)buf[14] << 8 | buf[15];
	if (len > PROXY_V2_LEN_MAX)
		return fail(out, PROXY_ERR_V2_TOO_LONG);
	size_t alen = command == 1 ? v2_address_len(family) : 0;
	if (len < alen)
		return fail(out, PROXY_ERR_V2_SHORT);
	if (n < PROXY_V2_HEAD + len)
		return PARSE_AGAIN;
	out->version = 2;
	int total = (int)(PROXY_V2_HEAD + len);
	if (command == 0) {
		out->kind = PROXY_LOCAL;
		return total;
	}
	/* AF_UNSPEC or an unspecified transport: the address block means nothing, skip it */
	if (family == 0 || transport == 0) {
		out->kind = PROXY_UNKNOWN;
		return total;
	}
	if (!v2_tlvs_fit(buf, PROXY_V2_HEAD + alen, PROXY_V2_HEAD + len))
		return fail(out, PROXY_ERR_V2_TLV);
	/* UNIX sockets and datagrams: valid, but not a TCP client's address; the spec lets a
	 * receiver fall back to the connection's own endpoints */
	if (family == 3 || transport == 2) {
		out->kind = PROXY_UNKNOWN;
		return total;
	}
	v2_addresses(buf + PROXY_V2_HEAD, family, out);
	out->kind = PROXY_SOURCE;
	return total;
}

int proxy_parse(const uint8_t *buf, size_t n, struct proxy_header *out)
{
	memset(out, 0, sizeof(*out));
	if (n == 0)
		return PARSE_AGAIN;
	if (buf[0] == (uint8_t)v1_sig[0])
		return parse_v1(buf, n, out);
	if (buf[0] == v2_sig[0])
		return parse_v2(buf, n, out);
	return fail(out, PROXY_ERR_SIGNATURE);
}

const char *proxy_error_text(enum proxy_error e)
{
	switch (e) {
	case PROXY_OK:
		return "no error";
	case PROXY_ERR_SIGNATURE:
		return "not a PROXY protocol header";
	case PROXY_ERR_V1_TOO_LONG:
		return "version 1 line without CRLF in 107 bytes";
	case PROXY_ERR_V1_LINE_END:
		return "version 1 line with a CR or LF alone";
	case PROXY_ERR_V1_PROTOCOL:
		return "version 1 protocol not TCP4, TCP6 or UNKNOWN";
	case PROXY_ERR_V1_FIELDS:
		return "version 1 line without exactly two addresses and two ports";
	case PROXY_ERR_V1_ADDRESS:
		return "version 1 address malformed or of the wrong family";
	case PROXY_ERR_V1_PORT:
		return "version 1 port malformed";
	case PROXY_ERR_V2_VERSION:
		return "version 2 signature with another version";
	case PROXY_ERR_V2_COMMAND:
		return "version 2 command neither LOCAL nor PROXY";
	case PROXY_ERR_V2_FAMILY:
		return "version 2 family or transport unassigned";
	case PROXY_ERR_V2_TOO_LONG:
		return "version 2 header longer than chatd accepts";
	case PROXY_ERR_V2_SHORT:
		return "version 2 length shorter than its addresses";
	case PROXY_ERR_V2_TLV:
		return "version 2 TLVs malformed";
	}
	return "unknown error";
}

/* ---- X-Forwarded-For ------------------------------------------------------------------------ */

static bool is_space(char ch)
{
	return ch == ' ' || ch == '\t';
}

/* One entry: an address, "a.b.c.d:P", "[v6]" or "[v6]:P", spaces around it allowed. */
static bool xff_entry(const char *s, size_t n, struct cidr_addr *a)
{
	while (n > 0 && is_space(*s)) {
		s++;
		n--;
	}
	while (n > 0 && is_space(s[n - 1]))
		n--;
	uint16_t port;
	if (n > 0 && s[0] == '[') {
		const char *close = memchr(s, ']', n);
		if (close == NULL)
			return false;
		size_t after = n - (size_t)(close - s) - 1;
		if (after > 0 && (close[1] != ':' || !parse_port(close + 2, after - 1, &port)))
			return false;
		return cidr_addr_parse(s + 1, (size_t)(close - s) - 1, a);
	}
	if (cidr_addr_parse(s, n, a))
		return true;
	/* a.b.c.d:P: one colon (an IPv6 address has two or more) */
	const char *colon = memchr(s, ':', n);
	if (colon == NULL || memchr(colon + 1, ':', n - (size_t)(colon - s) - 1) != NULL)
		return false;
	return parse_port(colon + 1, n - (size_t)(colon - s) - 1, &port) &&
	       cidr_addr_parse(s, (size_t)(colon - s), a) && cidr_addr_is_v4(a);
}

bool proxy_forwarded_for(const struct http_slice *values, size_t n, const struct cidr_list *trusted,
			 struct cidr_addr *client)
{
	bool named = false;
	for (size_t i = n; i-- > 0;) {
		const char *p = values[i].p;
		size_t end = values[i].n;
		for (;;) {
			size_t start = end;
			while (start > 0 && p[start - 1] != ',')
				start--;
			struct cidr_addr a;
			if (!xff_entry(p + start, end - start, &a))
				return named;
			*client = a;
			named = true;
			if (!cidr_list_match(trusted, &a))
				return true;
			if (start == 0)
				break;
			end = start - 1;
		}
	}
	return named;
}
