/*
 * config.c - the option table: one row per flag, with its default, its limits and its help
 * line. Parsing, validation and --help are all driven by the table, so adding an option is
 * adding a row. Runs on the main thread before the server starts. (--allow-origin is checked
 * with http.c's pure origin syntax, so the flag and the check can never disagree.)
 */
#include "config.h"
#include "cidr.h"
#include "command.h"
#include "common.h"
#include "http.h"
#include "log.h"
#include "memory.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

enum opt_type {
	OPT_INT,
	OPT_SIZE,
	OPT_ADDR,
	OPT_LEVEL,
	OPT_LOG_FORMAT,
	OPT_SECONDS,
	OPT_STRING,
	OPT_ADMIN,
	OPT_ORIGINS,
	OPT_CLUSTER,
	OPT_PATH,
	OPT_NODE,
	OPT_FLAG, /* takes no value: sets an int to 1 */
	OPT_CIDRS,
};

struct option_row {
	const char *name;
	enum opt_type type;
	size_t offset;
	long long min, max;
	const char *arg;
	const char *help;
};

#define FIELD(f) offsetof(struct config, f)

static const struct option_row options[] = {
	{ "workers", OPT_INT, FIELD(workers), 0, CONFIG_MAX_WORKERS, "N",
	  "epoll worker threads, each with its own SO_REUSEPORT listener (default: online CPUs)" },
	{ "bind", OPT_ADDR, FIELD(bind_addr), 0, 0, "ADDR",
	  "address to listen on, IPv4 or IPv6 (default: 0.0.0.0)" },
	{ "port", OPT_INT, FIELD(port), 0, 65535, "P",
	  "TCP port (default: 2020; 0 = any free port)" },
	{ "max-line", OPT_SIZE, FIELD(max_line), 16, 1 << 20, "BYTES",
	  "longest accepted line, line end excluded (default: 4096)" },
	{ "max-outbuf", OPT_SIZE, FIELD(max_outbuf), 4096, 1LL << 32, "BYTES",
	  "memory one user's queued output may hold (each line counts its whole buffer) before "
	  "it is disconnected as too slow (default: 1M)" },
	{ "max-memory", OPT_SIZE, FIELD(max_memory), 0, 1LL << 50, "BYTES",
	  "live heap over which new connections are refused and the users holding the most are "
	  "cut, largest first (default: a quarter of physical memory; 0 = off)" },
	{ "max-conns-per-ip", OPT_INT, FIELD(max_conns_per_ip), 0, 10000000, "N",
	  "open connections from one address, IPv6 per /64 (default: 0 = no limit)" },
	{ "max-clients", OPT_INT, FIELD(max_clients), 1, 10000000, "N",
	  "users connected at once (default: open-file limit minus a reserve)" },
	{ "notice-limit", OPT_INT, FIELD(notice_limit), 0, 100000000, "N",
	  "room size above which enter/leave notices become one summary a second (default: 200)" },
	{ "history", OPT_INT, FIELD(history), 0, HISTORY_ASK_MAX, "N",
	  "lines each room keeps and shows to who joins, and to /history (default: 100; 0 = off)" },
	{ "history-bytes", OPT_SIZE, FIELD(history_bytes), 1024, 1LL << 30, "BYTES",
	  "memory one room's history may hold, each line counting its whole buffer (default: "
	  "128K)" },
	{ "max-rooms", OPT_INT, FIELD(max_rooms), 1, 1000000, "N",
	  "rooms that may exist at once (default: 1000)" },
	{ "max-http-header", OPT_SIZE, FIELD(max_http_header), 256, 1 << 20, "BYTES",
	  "longest HTTP request head on the chat port (default: 8K)" },
	{ "handshake-timeout", OPT_SECONDS, FIELD(handshake_timeout_ms), 1, 3600, "SECONDS",
	  "time a browser has to send its HTTP request (default: 10)" },
	{ "ws-ping-interval", OPT_SECONDS, FIELD(ws_ping_interval_ms), 0, 3600, "SECONDS",
	  "a WebSocket user silent this long is pinged, and closed (1001) when it has not "
	  "answered after as long again; keeps proxies from cutting quiet users (default: 30; "
	  "0 = off)" },
	{ "flush-interval", OPT_INT, FIELD(flush_interval_ms), 0, 1000, "MS",
	  "longest wait between two writes to a user: the adaptive flush waits the last "
	  "flush's time x (workers - 1), at most this (default: 50; 0 = every loop iteration)" },
	{ "rate-limit", OPT_INT, FIELD(rate_limit), 0, 1000000, "N",
	  "lines per second per user; excess lines are refused (default: 100; 0 = off)" },
	{ "rate-burst", OPT_INT, FIELD(rate_burst), 0, 1000000, "N",
	  "lines a user may send at once before the rate applies (default: twice --rate-limit)" },
	{ "drain-timeout", OPT_SECONDS, FIELD(drain_timeout_ms), 0, 3600, "SECONDS",
	  "time allowed to flush queued output at shutdown or after a half-close (default: 5)" },
	{ "admin", OPT_ADMIN, FIELD(admin), 0, 0, "ADDR:PORT",
	  "admin listener for GET and HEAD /metrics and /healthz (default: 127.0.0.1:9020; off "
	  "to disable)" },
	{ "admin-max-conns", OPT_INT, FIELD(admin_max_conns), 1, 4096, "N",
	  "admin connections served at once; a newcomer past it takes the slot of the oldest one "
	  "still sending its request (default: 64)" },
	{ "admin-timeout", OPT_SECONDS, FIELD(admin_timeout_ms), 1, 60, "SECONDS",
	  "time an admin client has for its whole request and answer (default: 2)" },
	{ "allow-origin", OPT_ORIGINS, FIELD(allow_origin), 0, 0, "LIST",
	  "other web pages that may open /ws: comma-separated http(s)://HOST[:PORT], or * for "
	  "any (default: only chatd's own page)" },
	{ "user", OPT_STRING, FIELD(user), 0, 0, "NAME",
	  "when started as root, switch to this user after binding, before serving anyone" },
	{ "log-level", OPT_LEVEL, FIELD(log_level), 0, 0, "LEVEL",
	  "debug, info, warn, error or off (default: info)" },
	{ "log-format", OPT_LOG_FORMAT, FIELD(log_format), 0, 0, "FORMAT",
	  "text, one line per event, or json, one object per line for log shippers (default: "
	  "text)" },
	{ "cluster", OPT_CLUSTER, FIELD(cluster), 0, 0, "URL",
	  "be one node of a chat spread over several chatd, through Redis 7 at "
	  "redis://[USER:PASSWORD@]HOST:PORT[/PREFIX] (default: off; docs/cluster.md)" },
	{ "auth-secret", OPT_PATH, FIELD(auth_secret), 0, 0, "FILE",
	  "the key (the file's bytes, a final line end excluded) that signs the tokens (HS256 "
	  "JWT) a website gives its users: /auth TOKEN, /ws?token=TOKEN (default: none)" },
	{ "require-auth", OPT_FLAG, FIELD(require_auth), 0, 0, "",
	  "guests may read but not speak, join or rename until they sign in (needs "
	  "--auth-secret)" },
	{ "cluster-password-file", OPT_PATH, FIELD(cluster_password_file), 0, 0, "FILE",
	  "read the Redis password from the first line of FILE instead of the URL" },
	{ "node-id", OPT_NODE, FIELD(node_id), 0, 0, "ID",
	  "this node's name in the cluster: letters, digits and . _ - : (default: host name, "
	  "port and start time)" },
	{ "admin-token", OPT_PATH, FIELD(admin_token), 0, 0, "FILE",
	  "the bearer token (the file's bytes, a final line end excluded, at least 16) the "
	  "operators' API on the admin listener asks for: /users, /rooms, /kick, /ban, /bans; "
	  "required when --admin is not on loopback (default: none)" },
	{ "state-dir", OPT_PATH, FIELD(state_dir), 0, 0, "DIR",
	  "where chatd keeps what must survive a restart (the bans; default: none, kept in "
	  "memory only)" },
	{ "max-bans", OPT_INT, FIELD(max_bans), 1, 1000000, "N",
	  "bans the operators may have in force at once (default: 10000)" },
	{ "proxy-protocol", OPT_FLAG, FIELD(proxy_protocol), 0, 0, "",
	  "every connection to the chat port starts with a PROXY protocol header (v1 or v2) from "
	  "an address in --trusted-proxies; others are refused (needs --trusted-proxies)" },
	{ "trusted-proxies", OPT_CIDRS, FIELD(trusted_proxies), 0, 0, "CIDR,...",
	  "proxies whose PROXY header and X-Forwarded-For name the client: comma-separated "
	  "addresses or ADDR/N ranges, IPv4 or IPv6 (default: none)" },
};

void config_defaults(struct config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->workers = 0;
	snprintf(cfg->bind_addr, sizeof(cfg->bind_addr), "0.0.0.0");
	cfg->port = 2020;
	cfg->max_line = 4096;
	cfg->max_outbuf = 1 << 20;
	cfg->max_memory = memory_default_cap();
	cfg->max_clients = 0;
	cfg->notice_limit = 200;
	cfg->history = 100;
	cfg->history_bytes = (size_t)128 * 1024;
	cfg->max_rooms = 1000;
	cfg->rate_limit = 100;
	cfg->flush_interval_ms = 50;
	cfg->max_http_header = 8192;
	cfg->handshake_timeout_ms = 10000;
	cfg->ws_ping_interval_ms = 30000;
	snprintf(cfg->admin, sizeof(cfg->admin), "127.0.0.1:9020");
	cfg->admin_max_conns = 64;
	cfg->max_bans = 10000;
	cfg->admin_timeout_ms = 2000;
	cfg->drain_timeout_ms = 5000;
	cfg->log_level = LOG_INFO;
	cfg->log_format = LOG_FORMAT_TEXT;
}

void config_usage(FILE *out)
{
	fprintf(out, "usage: chatd [options]\n\n"
		     "A multi-worker epoll chat server: connect with `nc HOST PORT`.\n\n"
		     "options:\n");
	for (size_t i = 0; i < ARRAY_LEN(options); i++) {
		char flag[48];
		snprintf(flag, sizeof(flag), "--%s %s", options[i].name, options[i].arg);
		fprintf(out, "  %-26s %s\n", flag, options[i].help);
	}
	fprintf(out, "  %-26s %s\n  %-26s %s\n", "--help", "show this help and exit", "--version",
		"show the version and exit");
	fprintf(out, "\nSizes accept a K, M or G suffix (powers of 1024).\n");
}

/* A host name: letters, digits, '-' and '.', not empty. */
static bool host_name_valid(const char *h)
{
	if (*h == '\0')
		return false;
	for (; *h != '\0'; h++)
		if (!((*h >= 'a' && *h <= 'z') || (*h >= 'A' && *h <= 'Z') ||
		      (*h >= '0' && *h <= '9') || *h == '-' || *h == '.'))
			return false;
	return true;
}

/* "HOST:PORT" or "[V6]:PORT" into host and port; HOST an address literal, or also a host name
 * when names_ok. Returns 0 or -1. */
static int split_hostport(const char *s, char *host, size_t cap, int *port, bool names_ok)
{
	const char *colon = strrchr(s, ':');
	if (colon == NULL || colon == s)
		return -1;
	const char *h = s, *he = colon;
	bool bracketed = *h == '[';
	if (bracketed) { /* [v6]:port */
		if (he[-1] != ']')
			return -1;
		h++;
		he--;
	}
	size_t n = (size_t)(he - h);
	if (n == 0 || n >= cap)
		return -1;
	memcpy(host, h, n);
	host[n] = '\0';
	char *end;
	long p = strtol(colon + 1, &end, 10);
	unsigned char tmp[16];
	if (*end != '\0' || end == colon + 1 || p < 0 || p > 65535)
		return -1;
	bool literal = inet_pton(AF_INET, host, tmp) == 1 || inet_pton(AF_INET6, host, tmp) == 1;
	if (!literal && (bracketed || !names_ok || !host_name_valid(host)))
		return -1;
	*port = (int)p;
	return 0;
}

int config_split_hostport(const char *s, char *host, size_t cap, int *port)
{
	return split_hostport(s, host, cap, port, false);
}

/* Parses a non-negative integer with an optional K/M/G suffix when allow_suffix. */
static bool parse_number(const char *s, bool allow_suffix, long long *out)
{
	if (*s == '\0' || *s == '-' || *s == '+')
		return false;
	errno = 0;
	char *end;
	unsigned long long v = strtoull(s, &end, 10);
	if (errno != 0 || end == s)
		return false;
	unsigned shift = 0;
	if (allow_suffix && *end != '\0' && end[1] == '\0') {
		switch (*end) {
		case 'k':
		case 'K':
			shift = 10;
			break;
		case 'm':
		case 'M':
			shift = 20;
			break;
		case 'g':
		case 'G':
			shift = 30;
			break;
		default:
			return false;
		}
		end++;
	}
	if (*end != '\0' || v > (1ULL << 40))
		return false;
	*out = (long long)(v << shift);
	return true;
}

/* --allow-origin: checked here, so a typo stops chatd instead of refusing every page. */
static int set_origins(struct config *cfg, const struct option_row *opt, const char *value)
{
	if (strlen(value) >= sizeof(cfg->allow_origin)) {
		fprintf(stderr, "chatd: --%s: longer than %zu bytes\n", opt->name,
			sizeof(cfg->allow_origin) - 1);
		return -1;
	}
	const char *bad = http_origin_list_check(value);
	if (bad != NULL) {
		fprintf(stderr,
			"chatd: --%s: '%.*s' is not an origin: use http://HOST[:PORT] or "
			"https://HOST[:PORT] (no path, no trailing slash), comma-separated, or * "
			"alone\n",
			opt->name, (int)strcspn(bad, ","), bad);
		return -1;
	}
	snprintf(cfg->allow_origin, sizeof(cfg->allow_origin), "%s", value);
	return 0;
}

bool config_name_valid(const char *s)
{
	size_t n = strlen(s);
	if (n == 0 || n > 63)
		return false;
	for (size_t i = 0; i < n; i++) {
		char ch = s[i];
		bool ok = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
			  (ch >= '0' && ch <= '9') || ch == '.' || ch == '_' || ch == '-' ||
			  ch == ':';
		if (!ok)
			return false;
	}
	return true;
}

/* Copies s[0..n) into out[cap] with its NUL; false when it does not fit. */
static bool copy_part(char *out, size_t cap, const char *s, size_t n)
{
	if (n >= cap)
		return false;
	memcpy(out, s, n);
	out[n] = '\0';
	return true;
}

/* USER:PASSWORD, the part before '@'. */
static int parse_credentials(const char *s, size_t n, struct redis_url *out, const char **why)
{
	const char *colon = memchr(s, ':', n);
	if (colon == NULL) {
		*why = "credentials must be USER:PASSWORD (USER may be empty)";
		return -1;
	}
	if (!copy_part(out->user, sizeof(out->user), s, (size_t)(colon - s)) ||
	    !copy_part(out->password, sizeof(out->password), colon + 1,
		       n - (size_t)(colon - s) - 1)) {
		*why = "user or password too long";
		return -1;
	}
	return 0;
}

int config_parse_redis_url(const char *s, struct redis_url *out, const char **why)
{
	static const char scheme[] = "redis://";
	memset(out, 0, sizeof(*out));
	snprintf(out->prefix, sizeof(out->prefix), "chatd");
	if (strncmp(s, scheme, strlen(scheme)) != 0) {
		*why = "it must start with redis://";
		return -1;
	}
	const char *p = s + strlen(scheme);
	const char *at = strrchr(p, '@');
	if (at != NULL) {
		if (parse_credentials(p, (size_t)(at - p), out, why) < 0)
			return -1;
		p = at + 1;
	}
	const char *slash = strchr(p, '/');
	size_t hp_len = slash != NULL ? (size_t)(slash - p) : strlen(p);
	char hostport[160];
	if (!copy_part(hostport, sizeof(hostport), p, hp_len) ||
	    split_hostport(hostport, out->host, sizeof(out->host), &out->port, true) < 0 ||
	    out->port == 0) {
		*why = "it needs HOST:PORT (a port from 1 to 65535; [ADDR] for IPv6)";
		return -1;
	}
	if (slash != NULL) {
		if (!config_name_valid(slash + 1)) {
			*why = "PREFIX must be 1 to 63 letters, digits and . _ - :";
			return -1;
		}
		snprintf(out->prefix, sizeof(out->prefix), "%s", slash + 1);
	}
	return 0;
}

/* --cluster: checked here, so a typo stops chatd instead of a link that never comes up. */
static int set_cluster(struct config *cfg, const struct option_row *opt, const char *value)
{
	struct redis_url url;
	const char *why = NULL;
	if (strlen(value) >= sizeof(cfg->cluster)) {
		fprintf(stderr, "chatd: --%s: longer than %zu bytes\n", opt->name,
			sizeof(cfg->cluster) - 1);
		return -1;
	}
	if (config_parse_redis_url(value, &url, &why) < 0) {
		fprintf(stderr, "chatd: --%s: '%s': %s\n", opt->name, value, why);
		return -1;
	}
	snprintf(cfg->cluster, sizeof(cfg->cluster), "%s", value);
	return 0;
}

/* --trusted-proxies: checked here, so a typo stops chatd instead of trusting something else. */
static int set_trusted(struct config *cfg, const struct option_row *opt, const char *value)
{
	struct cidr_list list;
	size_t bad_len = 0;
	if (strlen(value) >= sizeof(cfg->trusted_proxies)) {
		fprintf(stderr, "chatd: --%s: longer than %zu bytes\n", opt->name,
			sizeof(cfg->trusted_proxies) - 1);
		return -1;
	}
	const char *bad = cidr_list_parse(value, &list, &bad_len);
	if (bad != NULL) {
		fprintf(stderr,
			"chatd: --%s: '%.*s' is not an address or ADDR/N range (IPv4 or IPv6, no "
			"bits set past N), or there are more than %d\n",
			opt->name, (int)bad_len, bad, CIDR_LIST_MAX);
		return -1;
	}
	snprintf(cfg->trusted_proxies, sizeof(cfg->trusted_proxies), "%s", value);
	return 0;
}

static int set_option(struct config *cfg, const struct option_row *opt, const char *value)
{
	char *field = (char *)cfg + opt->offset;
	long long v = 0;
	switch (opt->type) {
	case OPT_ADDR: {
		unsigned char tmp[16];
		if (strlen(value) >= sizeof(cfg->bind_addr) ||
		    (inet_pton(AF_INET, value, tmp) != 1 && inet_pton(AF_INET6, value, tmp) != 1)) {
			fprintf(stderr, "chatd: --%s: '%s' is not an IPv4 or IPv6 address\n",
				opt->name, value);
			return -1;
		}
		snprintf(field, sizeof(cfg->bind_addr), "%s", value);
		return 0;
	}
	case OPT_STRING:
		if (strlen(value) == 0 || strlen(value) >= sizeof(cfg->user)) {
			fprintf(stderr, "chatd: --%s: '%s' is empty or too long\n", opt->name,
				value);
			return -1;
		}
		snprintf(field, sizeof(cfg->user), "%s", value);
		return 0;
	case OPT_ADMIN: {
		if (strcmp(value, "off") == 0) {
			cfg->admin[0] = '\0';
			return 0;
		}
		char host[64];
		int port;
		if (config_split_hostport(value, host, sizeof(host), &port) < 0) {
			fprintf(stderr, "chatd: --%s: '%s' is not ADDR:PORT (or off)\n", opt->name,
				value);
			return -1;
		}
		snprintf(cfg->admin, sizeof(cfg->admin), "%s", value);
		return 0;
	}
	case OPT_ORIGINS:
		return set_origins(cfg, opt, value);
	case OPT_CLUSTER:
		return set_cluster(cfg, opt, value);
	case OPT_CIDRS:
		return set_trusted(cfg, opt, value);
	case OPT_PATH:
		if (strlen(value) == 0 || strlen(value) >= sizeof(cfg->cluster_password_file)) {
			fprintf(stderr, "chatd: --%s: '%s' is empty or too long\n", opt->name,
				value);
			return -1;
		}
		snprintf(field, sizeof(cfg->cluster_password_file), "%s", value);
		return 0;
	case OPT_NODE:
		if (!config_name_valid(value)) {
			fprintf(stderr,
				"chatd: --%s: '%s' is not 1 to 63 letters, digits and . _ - :\n",
				opt->name, value);
			return -1;
		}
		snprintf(field, sizeof(cfg->node_id), "%s", value);
		return 0;
	case OPT_LEVEL: {
		int level = log_parse_level(value);
		if (level < 0) {
			fprintf(stderr, "chatd: --%s: unknown level '%s'\n", opt->name, value);
			return -1;
		}
		*(int *)field = level;
		return 0;
	}
	case OPT_LOG_FORMAT: {
		int format = log_parse_format(value);
		if (format < 0) {
			fprintf(stderr, "chatd: --%s: unknown format '%s' (text or json)\n",
				opt->name, value);
			return -1;
		}
		*(int *)field = format;
		return 0;
	}
	default:
		break;
	}
	if (!parse_number(value, opt->type == OPT_SIZE, &v) || v < opt->min || v > opt->max) {
		fprintf(stderr, "chatd: --%s: '%s' is not a number in %lld..%lld\n", opt->name,
			value, opt->min, opt->max);
		return -1;
	}
	switch (opt->type) {
	case OPT_INT:
		*(int *)field = (int)v;
		break;
	case OPT_SIZE:
		*(size_t *)field = (size_t)v;
		break;
	case OPT_SECONDS:
		*(int *)field = (int)v * 1000;
		break;
	default:
		break;
	}
	return 0;
}

static const struct option_row *find_option(const char *name, size_t len)
{
	for (size_t i = 0; i < ARRAY_LEN(options); i++)
		if (strlen(options[i].name) == len && strncmp(options[i].name, name, len) == 0)
			return &options[i];
	return NULL;
}

int config_parse(struct config *cfg, int argc, char **argv)
{
	for (int i = 1; i < argc; i++) {
		const char *arg = argv[i];
		if (strcmp(arg, "--help") == 0 || strcmp(arg, "-h") == 0) {
			config_usage(stdout);
			return 1;
		}
		if (strcmp(arg, "--version") == 0) {
			printf("chatd %s\n", CHATD_VERSION);
			return 1;
		}
		if (strncmp(arg, "--", 2) != 0) {
			fprintf(stderr, "chatd: unexpected argument '%s'\n", arg);
			goto usage;
		}
		const char *name = arg + 2;
		const char *eq = strchr(name, '=');
		size_t len = eq ? (size_t)(eq - name) : strlen(name);
		const struct option_row *opt = find_option(name, len);
		if (opt == NULL) {
			fprintf(stderr, "chatd: unknown option '%s'\n", arg);
			goto usage;
		}
		const char *value = eq ? eq + 1 : NULL;
		if (opt->type == OPT_FLAG) {
			if (value != NULL) {
				fprintf(stderr, "chatd: option '--%s' takes no value\n", opt->name);
				goto usage;
			}
			*(int *)((char *)cfg + opt->offset) = 1;
			continue;
		}
		if (value == NULL) {
			if (i + 1 >= argc) {
				fprintf(stderr, "chatd: option '--%s' needs a value\n", opt->name);
				goto usage;
			}
			value = argv[++i];
		}
		if (set_option(cfg, opt, value) < 0)
			goto usage;
	}
	return 0;
usage:
	fputc('\n', stderr);
	config_usage(stderr);
	return -1;
}
