/*
 * proxy.h - what a proxy in front of chatd says about the client, as pure functions: the
 * PROXY protocol header (HAProxy's proxy-protocol.txt, versions 1 and 2) a load balancer
 * sends before the client's bytes, and the X-Forwarded-For header an HTTP proxy adds.
 *
 * No I/O, no allocation: the caller keeps the bytes read so far and parses them again when
 * more arrive (every proper prefix of a valid header is PARSE_AGAIN, and a malformed one is
 * PARSE_ERROR as soon as its bytes show it). Whether to believe a header at all (the peer is
 * in --trusted-proxies) is the caller's decision: the spec forbids guessing whether a header
 * is there, so a listener either requires one or reads none.
 */
#ifndef CHATD_PROXY_H
#define CHATD_PROXY_H

#include "cidr.h"
#include "common.h"
#include "http.h"

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#define PROXY_V1_MAX     107  /* the longest version 1 line, CRLF included (the spec's bound) */
#define PROXY_V2_HEAD    16   /* signature, version and command, family, length */
#define PROXY_V2_LEN_MAX 1024 /* address block and TLVs chatd accepts after the 16 bytes */
#define PROXY_HEADER_MAX (PROXY_V2_HEAD + PROXY_V2_LEN_MAX) /* the longest header accepted */

/* What a valid header says. */
enum proxy_kind {
	PROXY_SOURCE,  /* the client's address and port: use them */
	PROXY_LOCAL,   /* v2 LOCAL: the proxy's own connection (a health check): keep the peer */
	PROXY_UNKNOWN, /* v1 UNKNOWN, or a v2 family/protocol chatd does not use: keep the peer */
};

enum proxy_error {
	PROXY_OK,
	PROXY_ERR_SIGNATURE,   /* neither "PROXY " nor the version 2 signature */
	PROXY_ERR_V1_TOO_LONG, /* no CRLF within PROXY_V1_MAX bytes */
	PROXY_ERR_V1_LINE_END, /* a CR or an LF alone */
	PROXY_ERR_V1_PROTOCOL, /* not TCP4, TCP6 or UNKNOWN */
	PROXY_ERR_V1_FIELDS,   /* not exactly five fields after PROXY, one space apart */
	PROXY_ERR_V1_ADDRESS,  /* an address not in its family's form */
	PROXY_ERR_V1_PORT,     /* a port not decimal 0..65535 without heading zeros */
	PROXY_ERR_V2_VERSION,  /* version nibble other than 2 */
	PROXY_ERR_V2_COMMAND,  /* command other than LOCAL (0) or PROXY (1) */
	PROXY_ERR_V2_FAMILY,   /* an unassigned address family or transport protocol */
	PROXY_ERR_V2_TOO_LONG, /* a length over PROXY_V2_LEN_MAX */
	PROXY_ERR_V2_SHORT,    /* a length shorter than the family's addresses */
	PROXY_ERR_V2_TLV,      /* TLVs that do not exactly fill the rest of the header */
};

struct proxy_header {
	int version; /* 1 or 2 */
	enum proxy_kind kind;
	struct sockaddr_storage src, dst; /* PROXY_SOURCE: AF_INET or AF_INET6, with ports */
	enum proxy_error error;           /* after PARSE_ERROR: what is wrong */
};

/*
 * Parses the header at the start of buf[0..n). Returns its length (the client's own bytes
 * follow it) with *out filled in, PARSE_AGAIN when buf is a proper prefix of a header that
 * may still be valid, or PARSE_ERROR with out->error set. A header is never longer than
 * PROXY_HEADER_MAX: with that many bytes the answer is never PARSE_AGAIN.
 */
int proxy_parse(const uint8_t *buf, size_t n, struct proxy_header *out);

/* What went wrong, in a few words, for a log line. */
const char *proxy_error_text(enum proxy_error e);

/*
 * The client an X-Forwarded-For chain names, believing only what trusted proxies wrote.
 * values[0..n) are the header's values in the order they came (several headers are one
 * comma-separated list). Walking from the right, each entry was added by the hop on its
 * right, so entries are skipped while they are in `trusted` (a proxy of ours passing the
 * connection on); the first one that is not is the client. Entries are addresses, optionally
 * with a port ("a.b.c.d:P", "[v6]:P") or in brackets. An entry that is not an address ends the
 * walk: the client is then the last trusted address skipped, if any. When every entry is
 * trusted, the client is the leftmost. Returns true with *client set (port 0), or false when
 * the chain names nobody (empty, or its rightmost entry malformed).
 */
bool proxy_forwarded_for(const struct http_slice *values, size_t n, const struct cidr_list *trusted,
			 struct cidr_addr *client);

#endif
