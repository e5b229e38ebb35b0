/*
 * config.c - the option table: one row per flag, with its default, its limits and its help
 * line. Parsing the flags and the --config file, validation, --help, and comparing two
 * configurations (SIGHUP's log) are all driven by the table, so adding an option is adding a
 * row (and a live one, also a name in reload.c). Runs on the main thread: before the server
 * starts, and on SIGHUP. (--allow-origin is checked with http.c's pure origin syntax, so the
 * flag and the check can never disagree.)
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
#include <stdarg.h>
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
	OPT_FLAG, /* takes no value: sets an int to 1 (in a file: alone, or yes or no) */
	OPT_CIDRS,
	OPT_PORT, /* a port number, or off (-1) */
	/* A new type is handled in set_option, format_value and copy_value (the last two switch
	 * without a default, so the compiler points at them). */
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

/* Where the values being parsed come from, and where an error goes: the command line (file
 * NULL) or line `line` of `file` (0: the file as a whole). The error is written to err,
 * without "chatd: ". */
struct source {
	const char *file;
	int line;
	char *err;
	size_t cap;
	bool in_flags; /* the error is in the flags: the usage helps */
};

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
	{ "room-lists", OPT_INT, FIELD(room_lists), 1, 10000, "N",
	  "bans, and pending invitations, each room keeps at most (/ban, /invite; default: 64)" },
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
	{ "irc-port", OPT_PORT, FIELD(irc_port), 0, 65535, "P",
	  "TCP port for IRC clients (irssi, WeeChat: docs/irc.md), on the --bind address "
	  "(default: 6667; 0 = any free port; off to disable)" },
	{ "irc-password", OPT_PATH, FIELD(irc_password), 0, 0, "FILE",
	  "IRC clients must send this password (the file's bytes, a final line end excluded) "
	  "with PASS before registering (default: none)" },
	{ "irc-ping-interval", OPT_SECONDS, FIELD(irc_ping_interval_ms), 1, 3600, "SECONDS",
	  "an IRC client silent this long is sent a PING; one more interval without an answer "
	  "closes it, as does not registering within one (default: 120)" },
	{ "irc-max-channels", OPT_INT, FIELD(irc_max_channels), 1, 1000, "N",
	  "channels one IRC client may be in at once; a JOIN past it is refused with 405 "
	  "(default: 20)" },
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
	cfg->room_lists = 64;
	cfg->rate_limit = 100;
	cfg->flush_interval_ms = 50;
	cfg->max_http_header = 8192;
	cfg->handshake_timeout_ms = 10000;
	cfg->ws_ping_interval_ms = 30000;
	cfg->irc_port = 6667;
	cfg->irc_ping_interval_ms = 120000;
	cfg->irc_max_channels = 20;
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
	fprintf(out, "  %-26s %s\n", "--config FILE",
		"read options from FILE, one 'name value' line each (a long flag without its "
		"dashes), # comments; flags given here win; SIGHUP re-reads it");
	fprintf(out, "  %-26s %s\n", "--check-config",
		"check the flags and the --config file without starting; exit 0 when valid, 1 "
		"when not");
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

/* Records an error about opt (NULL: about the flag or the line as a whole) in src; returns
 * -1. */
static int fail(struct source *src, const struct option_row *opt, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static int fail(struct source *src, const struct option_row *opt, const char *fmt, ...)
{
	size_t n = 0;
	int k = 0;
	if (src->file != NULL && src->line > 0)
		k = snprintf(src->err, src->cap, "%s:%d: ", src->file, src->line);
	else if (src->file != NULL)
		k = snprintf(src->err, src->cap, "%s: ", src->file);
	n = k > 0 ? (size_t)k : 0;
	if (opt != NULL && n < src->cap) {
		k = snprintf(src->err + n, src->cap - n,
			     src->file != NULL ? "%s: " : "--%s: ", opt->name);
		n += k > 0 ? (size_t)k : 0;
	}
	if (n < src->cap) {
		va_list ap;
		va_start(ap, fmt);
		(void)vsnprintf(src->err + n, src->cap - n, fmt, ap); /* cut to fit: fine */
		va_end(ap);
	}
	src->in_flags = src->file == NULL;
	return -1;
}

/* --allow-origin: checked here, so a typo stops chatd instead of refusing every page. */
static int set_origins(struct config *cfg, const struct option_row *opt, const char *value,
		       struct source *src)
{
	if (strlen(value) >= sizeof(cfg->allow_origin))
		return fail(src, opt, "longer than %zu bytes", sizeof(cfg->allow_origin) - 1);
	const char *bad = http_origin_list_check(value);
	if (bad != NULL)
		return fail(
		    src, opt,
		    "'%.*s' is not an origin: use http://HOST[:PORT] or "
		    "https://HOST[:PORT] (no path, no trailing slash), comma-separated, or * "
		    "alone",
		    (int)strcspn(bad, ","), bad);
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
static int set_cluster(struct config *cfg, const struct option_row *opt, const char *value,
		       struct source *src)
{
	struct redis_url url;
	const char *why = NULL;
	if (strlen(value) >= sizeof(cfg->cluster))
		return fail(src, opt, "longer than %zu bytes", sizeof(cfg->cluster) - 1);
	if (config_parse_redis_url(value, &url, &why) < 0)
		return fail(src, opt, "'%s': %s", value, why);
	snprintf(cfg->cluster, sizeof(cfg->cluster), "%s", value);
	return 0;
}

/* --trusted-proxies: checked here, so a typo stops chatd instead of trusting something else. */
static int set_trusted(struct config *cfg, const struct option_row *opt, const char *value,
		       struct source *src)
{
	struct cidr_list list;
	size_t bad_len = 0;
	if (strlen(value) >= sizeof(cfg->trusted_proxies))
		return fail(src, opt, "longer than %zu bytes", sizeof(cfg->trusted_proxies) - 1);
	const char *bad = cidr_list_parse(value, &list, &bad_len);
	if (bad != NULL)
		return fail(src, opt,
			    "'%.*s' is not an address or ADDR/N range (IPv4 or IPv6, no bits set "
			    "past N), or there are more than %d",
			    (int)bad_len, bad, CIDR_LIST_MAX);
	snprintf(cfg->trusted_proxies, sizeof(cfg->trusted_proxies), "%s", value);
	return 0;
}

static int set_option(struct config *cfg, const struct option_row *opt, const char *value,
		      struct source *src)
{
	char *field = (char *)cfg + opt->offset;
	long long v = 0;
	switch (opt->type) {
	case OPT_ADDR: {
		unsigned char tmp[16];
		if (strlen(value) >= sizeof(cfg->bind_addr) ||
		    (inet_pton(AF_INET, value, tmp) != 1 && inet_pton(AF_INET6, value, tmp) != 1))
			return fail(src, opt, "'%s' is not an IPv4 or IPv6 address", value);
		snprintf(field, sizeof(cfg->bind_addr), "%s", value);
		return 0;
	}
	case OPT_STRING:
		if (strlen(value) == 0 || strlen(value) >= sizeof(cfg->user))
			return fail(src, opt, "'%s' is empty or too long", value);
		snprintf(field, sizeof(cfg->user), "%s", value);
		return 0;
	case OPT_ADMIN: {
		if (strcmp(value, "off") == 0) {
			cfg->admin[0] = '\0';
			return 0;
		}
		char host[64];
		int port;
		if (config_split_hostport(value, host, sizeof(host), &port) < 0)
			return fail(src, opt, "'%s' is not ADDR:PORT (or off)", value);
		snprintf(cfg->admin, sizeof(cfg->admin), "%s", value);
		return 0;
	}
	case OPT_PORT:
		if (strcmp(value, "off") == 0) {
			*(int *)field = -1;
			return 0;
		}
		break;
	case OPT_ORIGINS:
		return set_origins(cfg, opt, value, src);
	case OPT_CLUSTER:
		return set_cluster(cfg, opt, value, src);
	case OPT_CIDRS:
		return set_trusted(cfg, opt, value, src);
	case OPT_PATH:
		if (strlen(value) == 0 || strlen(value) >= sizeof(cfg->cluster_password_file))
			return fail(src, opt, "'%s' is empty or too long", value);
		snprintf(field, sizeof(cfg->cluster_password_file), "%s", value);
		return 0;
	case OPT_NODE:
		if (!config_name_valid(value))
			return fail(src, opt,
				    "'%s' is not 1 to 63 letters, digits and . _ - :", value);
		snprintf(field, sizeof(cfg->node_id), "%s", value);
		return 0;
	case OPT_LEVEL: {
		int level = log_parse_level(value);
		if (level < 0)
			return fail(src, opt, "unknown level '%s'", value);
		*(int *)field = level;
		return 0;
	}
	case OPT_LOG_FORMAT: {
		int format = log_parse_format(value);
		if (format < 0)
			return fail(src, opt, "unknown format '%s' (text or json)", value);
		*(int *)field = format;
		return 0;
	}
	default:
		break;
	}
	if (!parse_number(value, opt->type == OPT_SIZE, &v) || v < opt->min || v > opt->max)
		return fail(src, opt, "'%s' is not a number in %lld..%lld", value, opt->min,
			    opt->max);
	switch (opt->type) {
	case OPT_INT:
	case OPT_PORT:
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

/* A flag in a file: its name alone, or "yes", sets it; "no" clears it. */
static int set_flag(struct config *cfg, const struct option_row *opt, const char *value,
		    struct source *src)
{
	int on;
	if (*value == '\0' || strcmp(value, "yes") == 0)
		on = 1;
	else if (strcmp(value, "no") == 0)
		on = 0;
	else
		return fail(src, opt, "'%s': write the name alone, or yes or no", value);
	*(int *)((char *)cfg + opt->offset) = on;
	return 0;
}

/* --config FILE: a file name, kept for SIGHUP. */
static int set_config_file(struct config *cfg, const char *value, struct source *src)
{
	if (*value == '\0' || strlen(value) >= sizeof(cfg->config_file))
		return fail(src, NULL, "--config: '%s' is empty or too long", value);
	snprintf(cfg->config_file, sizeof(cfg->config_file), "%s", value);
	return 0;
}

/* The flags of argv into cfg. Returns 0, 1 after printing --help or --version, or -1 with the
 * error in src. */
static int parse_args(struct config *cfg, int argc, char **argv, struct source *src)
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
		if (strcmp(arg, "--check-config") == 0) {
			cfg->check_only = true;
			continue;
		}
		if (strncmp(arg, "--", 2) != 0)
			return fail(src, NULL, "unexpected argument '%s'", arg);
		const char *name = arg + 2;
		const char *eq = strchr(name, '=');
		size_t len = eq ? (size_t)(eq - name) : strlen(name);
		bool is_file = len == strlen("config") && strncmp(name, "config", len) == 0;
		const struct option_row *opt = is_file ? NULL : find_option(name, len);
		if (!is_file && opt == NULL)
			return fail(src, NULL, "unknown option '%s'", arg);
		const char *value = eq ? eq + 1 : NULL;
		if (opt != NULL && opt->type == OPT_FLAG) {
			if (value != NULL)
				return fail(src, NULL, "option '--%s' takes no value", opt->name);
			*(int *)((char *)cfg + opt->offset) = 1;
			continue;
		}
		if (value == NULL) {
			if (i + 1 >= argc)
				return fail(src, NULL, "option '--%.*s' needs a value", (int)len,
					    name);
			value = argv[++i];
		}
		int rc =
		    is_file ? set_config_file(cfg, value, src) : set_option(cfg, opt, value, src);
		if (rc < 0)
			return -1;
	}
	return 0;
}

/* Names that only the command line takes. */
static bool command_line_only(const char *name)
{
	static const char *const names[] = { "config", "check-config", "help", "version" };
	for (size_t i = 0; i < ARRAY_LEN(names); i++)
		if (strcmp(name, names[i]) == 0)
			return true;
	return false;
}

/*
 * One line of a --config file: blank, a comment (# first), or NAME [VALUE], NAME a long flag
 * without its dashes and VALUE the rest of the line (inner spaces kept). first_line[i] is the
 * line that set options[i]: setting it twice is a mistake, not a silent override.
 */
static int parse_line(struct config *cfg, char *line, int *first_line, struct source *src)
{
	char *p = line + strspn(line, " \t");
	size_t n = strlen(p);
	while (n > 0 && strchr(" \t\r\n", p[n - 1]) != NULL)
		p[--n] = '\0';
	if (n == 0 || *p == '#')
		return 0;
	size_t len = strcspn(p, " \t");
	char *value = p + len + strspn(p + len, " \t");
	p[len] = '\0';
	const struct option_row *opt = find_option(p, len);
	if (opt == NULL && command_line_only(p))
		return fail(src, NULL, "'%s' may only be given on the command line", p);
	if (opt == NULL)
		return fail(src, NULL, "unknown option '%s'", p);
	size_t i = (size_t)(opt - options);
	if (first_line[i] != 0)
		return fail(src, opt, "set twice (first on line %d)", first_line[i]);
	first_line[i] = src->line;
	if (opt->type == OPT_FLAG)
		return set_flag(cfg, opt, value, src);
	if (*value == '\0')
		return fail(src, opt, "needs a value");
	return set_option(cfg, opt, value, src);
}

/* The options of a --config file into cfg; the first mistake stops it. */
static int read_file(struct config *cfg, const char *path, struct source *src)
{
	src->file = path;
	src->line = 0;
	FILE *f = fopen(path, "re");
	if (f == NULL)
		return fail(src, NULL, "%s", strerror(errno));
	int first_line[ARRAY_LEN(options)] = { 0 };
	char line[CONFIG_LINE_MAX + 2]; /* the longest line, its \n and the NUL */
	int rc = 0;
	while (rc == 0 && fgets(line, sizeof(line), f) != NULL) {
		src->line++;
		size_t n = strlen(line);
		if (n == sizeof(line) - 1 && line[n - 1] != '\n')
			rc = fail(src, NULL, "line longer than %d bytes", CONFIG_LINE_MAX);
		else
			rc = parse_line(cfg, line, first_line, src);
	}
	if (rc == 0 && ferror(f)) {
		src->line = 0;
		rc = fail(src, NULL, "%s", strerror(errno));
	}
	(void)fclose(f); /* read-only: nothing to flush */
	return rc;
}

/* cfg (the defaults) <- the --config file that argv names <- argv's flags, which win. */
static int load(struct config *cfg, int argc, char **argv, struct source *src)
{
	struct config flags = *cfg;
	int rc = parse_args(&flags, argc, argv, src);
	if (rc != 0)
		return rc;
	if (flags.config_file[0] == '\0') {
		*cfg = flags;
		return 0;
	}
	if (read_file(cfg, flags.config_file, src) < 0)
		return -1;
	src->file = NULL;
	src->line = 0;
	return parse_args(cfg, argc, argv, src); /* they parsed once: they parse again */
}

int config_parse(struct config *cfg, int argc, char **argv)
{
	char err[CONFIG_ERR_MAX] = "";
	struct source src = { .err = err, .cap = sizeof(err) };
	int rc = load(cfg, argc, argv, &src);
	if (rc < 0) {
		fprintf(stderr, "chatd: %s\n", err);
		if (src.in_flags) {
			fputc('\n', stderr);
			config_usage(stderr);
		}
	}
	return rc;
}

int config_load(struct config *cfg, int argc, char **argv, char *err, size_t cap)
{
	struct source src = { .err = err, .cap = cap };
	int rc = load(cfg, argc, argv, &src);
	if (rc > 0) /* --help at run time: argv is the one chatd started with, so never */
		snprintf(err, cap, "--help or --version among the flags");
	return rc == 0 ? 0 : -1;
}

bool config_wants_check(int argc, char **argv)
{
	for (int i = 1; i < argc; i++)
		if (strcmp(argv[i], "--check-config") == 0)
			return true;
	return false;
}

/* ---- comparing two configurations (SIGHUP) -------------------------------------------------- */

static const char *const level_names[] = { "debug", "info", "warn", "error", "off" };

/* An option's value as the file would say it; mask: a --cluster URL's credentials hidden (for
 * the log). */
static void format_value(const struct config *cfg, const struct option_row *opt, bool mask,
			 char *out, size_t cap)
{
	const char *field = (const char *)cfg + opt->offset;
	int n = 0;
	size_t z = 0;
	if (opt->type == OPT_SIZE)
		memcpy(&z, field, sizeof(z));
	else if (opt->type == OPT_INT || opt->type == OPT_SECONDS || opt->type == OPT_LEVEL ||
		 opt->type == OPT_FLAG || opt->type == OPT_LOG_FORMAT || opt->type == OPT_PORT)
		memcpy(&n, field, sizeof(n));
	switch (opt->type) {
	case OPT_PORT:
		if (n < 0) {
			snprintf(out, cap, "off");
			return;
		}
		snprintf(out, cap, "%d", n);
		return;
	case OPT_INT:
		snprintf(out, cap, "%d", n);
		return;
	case OPT_SIZE:
		snprintf(out, cap, "%zu", z);
		return;
	case OPT_SECONDS:
		if (n % 1000 == 0)
			snprintf(out, cap, "%d", n / 1000);
		else
			snprintf(out, cap, "%.3f", n / 1000.0);
		return;
	case OPT_LEVEL:
		snprintf(out, cap, "%s",
			 n >= 0 && (size_t)n < ARRAY_LEN(level_names) ? level_names[n] : "?");
		return;
	case OPT_FLAG:
		snprintf(out, cap, "%s", n ? "yes" : "no");
		return;
	case OPT_LOG_FORMAT:
		snprintf(out, cap, "%s", n == LOG_FORMAT_JSON ? "json" : "text");
		return;
	case OPT_ADMIN:
		snprintf(out, cap, "%s", *field != '\0' ? field : "off");
		return;
	case OPT_CLUSTER: {
		const char *at = mask ? strrchr(field, '@') : NULL;
		if (at != NULL)
			snprintf(out, cap, "redis://***%s", at);
		else
			snprintf(out, cap, "%s", *field != '\0' ? field : "(none)");
		return;
	}
	case OPT_ADDR:
	case OPT_STRING:
	case OPT_ORIGINS:
	case OPT_PATH:
	case OPT_NODE:
	case OPT_CIDRS:
		snprintf(out, cap, "%s", *field != '\0' ? field : "(none)");
		return;
	}
	snprintf(out, cap, "?");
}

/* Copies one option's value. */
static void copy_value(struct config *dst, const struct config *src, const struct option_row *opt)
{
	char *to = (char *)dst + opt->offset;
	const char *from = (const char *)src + opt->offset;
	switch (opt->type) {
	case OPT_INT:
	case OPT_PORT:
	case OPT_SECONDS:
	case OPT_LEVEL:
	case OPT_FLAG:
	case OPT_LOG_FORMAT:
		memcpy(to, from, sizeof(int));
		return;
	case OPT_SIZE:
		memcpy(to, from, sizeof(size_t));
		return;
	case OPT_ADDR:
	case OPT_STRING:
	case OPT_ADMIN:
	case OPT_ORIGINS:
	case OPT_CLUSTER:
	case OPT_PATH:
	case OPT_NODE:
	case OPT_CIDRS:
		memcpy(to, from, strlen(from) + 1); /* it fit in the same field of src */
		return;
	}
}

int config_diff(const struct config *was, const struct config *now, config_change_fn fn, void *arg)
{
	char a[CONFIG_ALLOW_ORIGIN_MAX + 64], b[CONFIG_ALLOW_ORIGIN_MAX + 64];
	int changes = 0;
	for (size_t i = 0; i < ARRAY_LEN(options); i++) {
		format_value(was, &options[i], false, a, sizeof(a));
		format_value(now, &options[i], false, b, sizeof(b));
		if (strcmp(a, b) == 0)
			continue;
		changes++;
		format_value(was, &options[i], true, a, sizeof(a));
		format_value(now, &options[i], true, b, sizeof(b));
		fn(arg, options[i].name, a, b);
	}
	return changes;
}

int config_keep(struct config *dst, const struct config *src, const char *name)
{
	const struct option_row *opt = find_option(name, strlen(name));
	if (opt == NULL)
		return -1;
	copy_value(dst, src, opt);
	return 0;
}
