/*
 * cidr.c - client addresses and address ranges (see cidr.h).
 */
#include "cidr.h"
#include "common.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>

static const uint8_t v4_mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xFF, 0xFF };

bool cidr_addr_is_v4(const struct cidr_addr *a)
{
	return memcmp(a->b, v4_mapped, sizeof(v4_mapped)) == 0;
}

bool cidr_addr_from_sockaddr(struct cidr_addr *a, const struct sockaddr *sa)
{
	memset(a, 0, sizeof(*a));
	if (sa->sa_family == AF_INET) {
		const struct sockaddr_in *in4 = (const struct sockaddr_in *)sa;
		memcpy(a->b, v4_mapped, sizeof(v4_mapped));
		memcpy(a->b + 12, &in4->sin_addr, 4);
		a->port = ntohs(in4->sin_port);
		return true;
	}
	if (sa->sa_family == AF_INET6) {
		const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)sa;
		memcpy(a->b, in6->sin6_addr.s6_addr, 16);
		a->port = ntohs(in6->sin6_port);
		return true;
	}
	return false;
}

socklen_t cidr_addr_to_sockaddr(const struct cidr_addr *a, struct sockaddr_storage *ss)
{
	memset(ss, 0, sizeof(*ss));
	if (cidr_addr_is_v4(a)) {
		struct sockaddr_in *in4 = (struct sockaddr_in *)ss;
		in4->sin_family = AF_INET;
		in4->sin_port = htons(a->port);
		memcpy(&in4->sin_addr, a->b + 12, 4);
		return sizeof(*in4);
	}
	struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)ss;
	in6->sin6_family = AF_INET6;
	in6->sin6_port = htons(a->port);
	memcpy(in6->sin6_addr.s6_addr, a->b, 16);
	return sizeof(*in6);
}

bool cidr_addr_parse(const char *s, size_t n, struct cidr_addr *a)
{
	char text[CIDR_ADDR_STRLEN];
	if (n == 0 || n >= sizeof(text))
		return false;
	memcpy(text, s, n);
	text[n] = '\0';
	memset(a, 0, sizeof(*a));
	/* glibc's inet_pton takes exactly four decimal parts, each without heading zeros */
	if (inet_pton(AF_INET, text, a->b + 12) == 1) {
		memcpy(a->b, v4_mapped, sizeof(v4_mapped));
		return true;
	}
	return inet_pton(AF_INET6, text, a->b) == 1;
}

const char *cidr_addr_format(const struct cidr_addr *a, char *out, size_t cap)
{
	bool v4 = cidr_addr_is_v4(a);
	if (inet_ntop(v4 ? AF_INET : AF_INET6, v4 ? a->b + 12 : a->b, out, (socklen_t)cap) == NULL)
		snprintf(out, cap, "?");
	return out;
}

const char *cidr_addr_format_port(const struct cidr_addr *a, char *out, size_t cap)
{
	char addr[CIDR_ADDR_STRLEN];
	cidr_addr_format(a, addr, sizeof(addr));
	if (cidr_addr_is_v4(a))
		snprintf(out, cap, "%s:%u", addr, (unsigned)a->port);
	else
		snprintf(out, cap, "[%s]:%u", addr, (unsigned)a->port);
	return out;
}

int cidr_parse(const char *s, size_t n, struct cidr *out)
{
	const char *slash = memchr(s, '/', n);
	size_t alen = slash != NULL ? (size_t)(slash - s) : n;
	struct cidr_addr a;
	if (!cidr_addr_parse(s, alen, &a))
		return -1;
	bool v4 = cidr_addr_is_v4(&a);
	unsigned bits = v4 ? 32 : 128;
	if (slash != NULL && !decimal_parse(slash + 1, n - alen - 1, bits, &bits))
		return -1;
	if (v4)
		bits += 96;
	/* no bit set past the prefix: 10.0.0.1/8 is a typo, not a range */
	for (unsigned i = bits; i < 128; i++)
		if (a.b[i / 8] & (0x80u >> (i % 8)))
			return -1;
	memcpy(out->b, a.b, sizeof(out->b));
	out->bits = (uint8_t)bits;
	return 0;
}

static bool is_space(char ch)
{
	return ch == ' ' || ch == '\t';
}

const char *cidr_list_parse(const char *s, struct cidr_list *out, size_t *bad_len)
{
	out->n = 0;
	if (*s == '\0')
		return NULL;
	for (;;) {
		size_t n = strcspn(s, ",");
		const char *e = s;
		size_t k = n;
		while (k > 0 && is_space(*e)) {
			e++;
			k--;
		}
		while (k > 0 && is_space(e[k - 1]))
			k--;
		if (out->n == CIDR_LIST_MAX || cidr_parse(e, k, &out->v[out->n]) < 0) {
			*bad_len = n;
			return s;
		}
		out->n++;
		if (s[n] == '\0')
			return NULL;
		s += n + 1;
	}
}

bool cidr_match(const struct cidr *c, const struct cidr_addr *a)
{
	unsigned full = c->bits / 8, rest = c->bits % 8;
	if (memcmp(c->b, a->b, full) != 0)
		return false;
	if (rest == 0)
		return true;
	uint8_t mask = (uint8_t)(0xFFu << (8 - rest));
	return (a->b[full] & mask) == c->b[full];
}

bool cidr_list_match(const struct cidr_list *l, const struct cidr_addr *a)
{
	for (unsigned i = 0; i < l->n; i++)
		if (cidr_match(&l->v[i], a))
			return true;
	return false;
}
