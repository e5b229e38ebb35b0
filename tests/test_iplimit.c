/*
 * test_iplimit.c - connections per address (--max-conns-per-ip): the counting key of IPv4,
 * IPv6 (/64) and IPv4-mapped addresses, the count itself, and a server refusing the
 * connection past the limit.
 */
#include "iplimit.h"
#include "testlib.h"

#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <errno.h>
#include <netinet/in.h>
#include <string.h>

static uint64_t key_of(const char *text)
{
	struct sockaddr_in6 a6 = { .sin6_family = AF_INET6 };
	struct sockaddr_in a4 = { .sin_family = AF_INET };
	if (inet_pton(AF_INET, text, &a4.sin_addr) == 1)
		return iplimit_key((struct sockaddr *)&a4);
	cr_assert_eq(inet_pton(AF_INET6, text, &a6.sin6_addr), 1, "%s", text);
	return iplimit_key((struct sockaddr *)&a6);
}

Test(iplimit, ipv4_addresses_count_apart_and_mapped_ones_as_ipv4)
{
	cr_assert_neq(key_of("127.0.0.1"), key_of("127.0.0.2"));
	cr_assert_eq(key_of("::ffff:127.0.0.1"), key_of("127.0.0.1"));
	cr_assert_neq(key_of("127.0.0.1"), 0);
}

Test(iplimit, ipv6_counts_per_64)
{
	cr_assert_eq(key_of("2001:db8:1:2::1"), key_of("2001:db8:1:2:ffff::9"));
	cr_assert_neq(key_of("2001:db8:1:2::1"), key_of("2001:db8:1:3::1"));
	cr_assert_neq(key_of("::1"), 0);
	/* no IPv6 unicast /64 takes an IPv4 key */
	cr_assert_neq(key_of("ffff:ffff:7f00:1::"), key_of("127.0.0.1") + 1);
}

Test(iplimit, the_count_refuses_past_max_and_frees_on_release)
{
	struct iplimit l;
	cr_assert_eq(iplimit_init(&l, 2), 0);
	uint64_t a = key_of("10.0.0.1"), b = key_of("10.0.0.2");
	cr_assert_eq(iplimit_acquire(&l, a), 0);
	cr_assert_eq(iplimit_acquire(&l, a), 0);
	cr_assert_eq(iplimit_acquire(&l, a), -EDQUOT);
	cr_assert_eq(iplimit_acquire(&l, b), 0, "another address has its own count");
	iplimit_release(&l, a);
	cr_assert_eq(iplimit_acquire(&l, a), 0);
	iplimit_release(&l, a);
	iplimit_release(&l, a);
	iplimit_release(&l, b);
	cr_assert_eq(l.counts.len, 0, "nothing left counted");
	iplimit_destroy(&l);
}

Test(iplimit, off_counts_nothing)
{
	struct iplimit l;
	cr_assert_eq(iplimit_init(&l, 0), 0);
	for (int i = 0; i < 100; i++)
		cr_assert_eq(iplimit_acquire(&l, key_of("10.0.0.1")), 0);
	cr_assert_eq(l.counts.len, 0);
	iplimit_destroy(&l);
}

Test(iplimit, the_connection_past_the_limit_gets_a_line_and_is_closed, .timeout = 30)
{
	struct config cfg = ts_config(2);
	cfg.max_conns_per_ip = 2;
	struct server *srv = ts_start(&cfg);
	uint16_t port = server_port(srv);
	struct tclient *a = tc_join(port), *b = tc_join(port), *c = tc_connect(port);
	tc_expect(c, "* error: too many connections from 127.0.0.1 (max 2); try again later.");
	tc_expect_closed(c, 2000);
	tc_close(c);
	cr_assert_eq(ts_stats(srv).rejected_per_ip, 1);
	tc_close(b);
	ts_wait_users(srv, 1);
	ts_wait_conns(srv, 1);             /* b's socket closed, not only its session */
	struct tclient *d = tc_join(port); /* a place is free again */
	tc_send(d, "in\n");
	tc_expect_eventually(a, "3:in", 2000); /* a refused connection takes no name */
	tc_close(a);
	tc_close(d);
	ts_stop(srv);
}
