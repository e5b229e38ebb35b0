/*
 * test_cidr.c - addresses and ranges (src/cidr.c): --trusted-proxies parsing and matching,
 * IPv4 and IPv6, plain addresses as /32 and /128, IPv4-mapped peers against IPv4 ranges, and
 * the flag refusing what is not a list of ranges.
 */
#include "cidr.h"
#include "config.h"

#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <criterion/redirect.h>
#include <string.h>

static struct cidr_addr addr(const char *text)
{
	struct cidr_addr a;
	cr_assert(cidr_addr_parse(text, strlen(text), &a), "%s", text);
	return a;
}

static bool in(const char *list, const char *text)
{
	struct cidr_list l;
	size_t bad_len;
	cr_assert_null(cidr_list_parse(list, &l, &bad_len), "%s", list);
	struct cidr_addr a = addr(text);
	return cidr_list_match(&l, &a);
}

static bool range_ok(const char *text)
{
	struct cidr c;
	return cidr_parse(text, strlen(text), &c) == 0;
}

Test(cidr, ipv4_ranges_match_their_addresses_only)
{
	cr_assert(in("10.0.0.0/8", "10.255.1.2"));
	cr_assert_not(in("10.0.0.0/8", "11.0.0.1"));
	cr_assert(in("192.168.4.0/22", "192.168.7.255"));
	cr_assert_not(in("192.168.4.0/22", "192.168.8.0"));
	cr_assert(in("0.0.0.0/0", "203.0.113.9"));
	cr_assert_not(in("0.0.0.0/0", "2001:db8::1"), "an IPv4 range holds no IPv6 address");
}

Test(cidr, plain_addresses_are_single_hosts)
{
	cr_assert(in("127.0.0.1", "127.0.0.1"));
	cr_assert_not(in("127.0.0.1", "127.0.0.2"));
	cr_assert(in("2001:db8::1", "2001:db8::1"));
	cr_assert_not(in("2001:db8::1", "2001:db8::2"));
}

Test(cidr, ipv6_ranges_match_on_any_bit_boundary)
{
	cr_assert(in("2001:db8::/32", "2001:db8:ffff::1"));
	cr_assert_not(in("2001:db8::/32", "2001:db9::1"));
	cr_assert(in("fc00::/7", "fdff::1"));
	cr_assert_not(in("fc00::/7", "fe00::1"));
	cr_assert(in("::/0", "2001:db8::1"));
}

Test(cidr, ipv4_mapped_peers_match_ipv4_ranges)
{
	/* what a dual-stack (--bind ::) listener reports for an IPv4 client */
	cr_assert(in("10.0.0.0/8", "::ffff:10.1.2.3"));
	cr_assert(in("127.0.0.1", "::ffff:127.0.0.1"));
	cr_assert_not(in("10.0.0.0/8", "::ffff:11.1.2.3"));
	struct sockaddr_in6 sa6 = { .sin6_family = AF_INET6, .sin6_port = htons(4711) };
	cr_assert_eq(inet_pton(AF_INET6, "::ffff:10.1.2.3", &sa6.sin6_addr), 1);
	struct cidr_addr a;
	cr_assert(cidr_addr_from_sockaddr(&a, (struct sockaddr *)&sa6));
	char text[CIDR_ADDR_PORT_STRLEN];
	cr_assert_str_eq(cidr_addr_format_port(&a, text, sizeof(text)), "10.1.2.3:4711",
			 "shown as the IPv4 address it is");
	struct sockaddr_storage ss;
	cr_assert_eq(cidr_addr_to_sockaddr(&a, &ss), sizeof(struct sockaddr_in));
	cr_assert_eq(ss.ss_family, AF_INET);
}

Test(cidr, addresses_format_with_and_without_ports)
{
	struct cidr_addr a = addr("2001:db8::5");
	a.port = 443;
	char text[CIDR_ADDR_PORT_STRLEN];
	cr_assert_str_eq(cidr_addr_format(&a, text, sizeof(text)), "2001:db8::5");
	cr_assert_str_eq(cidr_addr_format_port(&a, text, sizeof(text)), "[2001:db8::5]:443");
	struct sockaddr_storage ss;
	cr_assert_eq(cidr_addr_to_sockaddr(&a, &ss), sizeof(struct sockaddr_in6));
	struct cidr_addr back;
	cr_assert(cidr_addr_from_sockaddr(&back, (struct sockaddr *)&ss));
	cr_assert_eq(memcmp(&a, &back, sizeof(a)), 0, "a round trip");
}

Test(cidr, ranges_that_are_not_ranges_are_refused)
{
	cr_assert(range_ok("10.0.0.0/8"));
	cr_assert(range_ok("0.0.0.0/0"));
	cr_assert(range_ok("::/0"));
	cr_assert_not(range_ok("10.0.0.1/8"), "bits past the prefix: a typo, not a range");
	cr_assert_not(range_ok("10.0.0.0/33"));
	cr_assert_not(range_ok("::/129"));
	cr_assert_not(range_ok("10.0.0.0/08"));
	cr_assert_not(range_ok("10.0.0.0/"));
	cr_assert_not(range_ok("10.0.0.0/ 8"));
	cr_assert_not(range_ok("/8"));
	cr_assert_not(range_ok("10.0.0"));
	cr_assert_not(range_ok("010.0.0.0/8"));
	cr_assert_not(range_ok("proxy.example"));
	cr_assert_not(range_ok(""));
}

Test(cidr, lists_are_comma_separated_and_bounded)
{
	struct cidr_list l;
	size_t bad_len = 0;
	cr_assert_null(cidr_list_parse("10.0.0.0/8, 127.0.0.1,::1", &l, &bad_len));
	cr_assert_eq(l.n, 3);
	cr_assert_null(cidr_list_parse("", &l, &bad_len));
	cr_assert_eq(l.n, 0);
	const char *s = "10.0.0.0/8,10.0.0.1/8,::1";
	const char *bad = cidr_list_parse(s, &l, &bad_len);
	cr_assert_eq(bad, s + 11, "the entry at fault");
	cr_assert_eq(bad_len, 10);
	cr_assert_not_null(cidr_list_parse("10.0.0.0/8,", &l, &bad_len), "an empty entry");
	char many[CIDR_LIST_MAX * 16 + 32] = "";
	for (int i = 0; i <= CIDR_LIST_MAX; i++) {
		char one[16];
		snprintf(one, sizeof(one), "%s10.0.%d.1", i ? "," : "", i);
		strcat(many, one);
	}
	bad = cidr_list_parse(many, &l, &bad_len);
	cr_assert_not_null(bad, "one more than CIDR_LIST_MAX");
	cr_assert_eq(strncmp(bad, "10.0.64.1", bad_len), 0);
}

Test(cidr, the_trusted_proxies_flag_refuses_what_is_not_a_list_of_ranges,
     .init = cr_redirect_stderr)
{
	struct config cfg;
	config_defaults(&cfg);
	char *good[] = { "chatd", "--proxy-protocol", "--trusted-proxies", "10.0.0.0/8,::1", NULL };
	cr_assert_eq(config_parse(&cfg, 4, good), 0);
	cr_assert_eq(cfg.proxy_protocol, 1);
	cr_assert_str_eq(cfg.trusted_proxies, "10.0.0.0/8,::1");
	config_defaults(&cfg);
	cr_assert_eq(cfg.proxy_protocol, 0, "off by default");
	cr_assert_str_eq(cfg.trusted_proxies, "", "nobody trusted by default");
	char *bad[] = { "chatd", "--trusted-proxies", "10.0.0.1/8", NULL };
	cr_assert_eq(config_parse(&cfg, 3, bad), -1);
}
