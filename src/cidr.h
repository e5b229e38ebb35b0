/*
 * cidr.h - client addresses and address ranges: the address chatd keeps for each connection,
 * and the --trusted-proxies list (CIDR,...) it is matched against.
 *
 * An address is 16 bytes whatever its family: IPv4 is kept as an IPv4-mapped IPv6 address
 * (::ffff:a.b.c.d), so one comparison serves both families, and a peer a dual-stack listener
 * reports as ::ffff:a.b.c.d is the IPv4 address it is (it matches IPv4 ranges, and is shown in
 * IPv4 form). An IPv4 range a.b.c.d/N is the mapped range ::ffff:a.b.c.d/(96 + N).
 *
 * Pure functions: no I/O, no allocation, no shared state. Any thread may call them.
 */
#ifndef CHATD_CIDR_H
#define CHATD_CIDR_H

#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#define CIDR_LIST_MAX 64 /* ranges in --trusted-proxies */
/* The longest text of an address (an IPv6 one, NUL included), and of one with its port
 * ("[v6]:65535"). */
#define CIDR_ADDR_STRLEN      INET6_ADDRSTRLEN
#define CIDR_ADDR_PORT_STRLEN (INET6_ADDRSTRLEN + 8)

/* A client's address and TCP port. */
struct cidr_addr {
	uint8_t b[16]; /* IPv6, or IPv4-mapped IPv6 */
	uint16_t port; /* host byte order; 0 when unknown */
};

/* An address range: the addresses whose first `bits` bits are those of b. */
struct cidr {
	uint8_t b[16]; /* bits past the prefix are zero */
	uint8_t bits;  /* 0..128 (an IPv4 /N is 96 + N) */
};

struct cidr_list {
	unsigned n;
	struct cidr v[CIDR_LIST_MAX];
};

/* The address of an AF_INET or AF_INET6 socket address; false (a zeroed) for another family. */
bool cidr_addr_from_sockaddr(struct cidr_addr *a, const struct sockaddr *sa);

/* The socket address of a: AF_INET for an IPv4 (mapped) address, AF_INET6 otherwise.
 * Returns its length. */
socklen_t cidr_addr_to_sockaddr(const struct cidr_addr *a, struct sockaddr_storage *ss);

/* Whether a is an IPv4 address (kept IPv4-mapped). */
bool cidr_addr_is_v4(const struct cidr_addr *a);

/* Parses s[0..n), an IPv4 address in dotted decimal (no heading zeros) or an IPv6 address
 * (inet_pton's forms), into a (port 0). Returns false when it is neither. */
bool cidr_addr_parse(const char *s, size_t n, struct cidr_addr *a);

/* Writes a's address (IPv4 form for an IPv4 one) into out, NUL-terminated; cap at least
 * CIDR_ADDR_STRLEN. Returns out. */
const char *cidr_addr_format(const struct cidr_addr *a, char *out, size_t cap);

/* The same with the port: "a.b.c.d:P" or "[v6]:P"; cap at least CIDR_ADDR_PORT_STRLEN. */
const char *cidr_addr_format_port(const struct cidr_addr *a, char *out, size_t cap);

/* Parses s[0..n): "ADDR" (a /32 or /128) or "ADDR/N" (N up to 32 for IPv4, 128 for IPv6, no
 * heading zeros, no bits set past the prefix). Returns 0 or -1. */
int cidr_parse(const char *s, size_t n, struct cidr *out);

/* Parses a comma-separated list of cidr_parse ranges (spaces around an entry allowed), at
 * most CIDR_LIST_MAX of them; "" is the empty list. Returns NULL, or the first entry that is
 * not a range (or the first past CIDR_LIST_MAX) with its length in *bad_len. */
const char *cidr_list_parse(const char *s, struct cidr_list *out, size_t *bad_len);

bool cidr_match(const struct cidr *c, const struct cidr_addr *a);

/* Whether a is in one of l's ranges. */
bool cidr_list_match(const struct cidr_list *l, const struct cidr_addr *a);

#endif
