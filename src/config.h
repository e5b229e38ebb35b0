/*
 * config.h - every run-time option of chatd: its flag, default, validation and help text.
 *
 * A struct config is filled once (defaults, then flags) before any thread starts and is
 * read-only afterwards, so every thread may read it without synchronisation.
 */
#ifndef CHATD_CONFIG_H
#define CHATD_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define CONFIG_ALLOW_ORIGIN_MAX 1024 /* bytes of the --allow-origin list, NUL included */
#define CONFIG_CLUSTER_URL_MAX  256  /* bytes of the --cluster URL, NUL included */
#define CONFIG_TRUSTED_MAX      1024 /* bytes of the --trusted-proxies list, NUL included */

/* A parsed --cluster redis://[USER:PASSWORD@]HOST:PORT[/PREFIX]. */
struct redis_url {
	char user[64];      /* "" = none (Redis's "default" user) */
	char password[128]; /* "" = none; --cluster-password-file may supply it */
	char host[128];     /* an address literal (IPv6 without brackets) or a host name */
	int port;
	char prefix[64]; /* every key and channel starts with it and ':' (default "chatd") */
};

struct config {
	int workers;              /* epoll worker threads; 0 = online CPUs */
	char bind_addr[64];       /* IPv4 or IPv6 literal */
	int port;                 /* 0 = ephemeral (tests) */
	size_t max_line;          /* bytes per client line, line end excluded */
	size_t max_outbuf;        /* memory queued for one user before it is cut off */
	size_t max_memory;        /* live heap over which users are cut, largest first; 0 = off */
	int max_conns_per_ip;     /* open connections per address (IPv6: per /64); 0 = off */
	int max_clients;          /* 0 = derived from RLIMIT_NOFILE at start */
	int notice_limit;         /* room size above which notices become summaries */
	int history;              /* lines each room keeps for newcomers and /history; 0 = off */
	size_t history_bytes;     /* at most this much memory per room's history */
	int max_rooms;            /* rooms that may exist at once */
	size_t max_http_header;   /* bytes of an HTTP request head */
	int handshake_timeout_ms; /* time to send a complete HTTP request */
	int ws_ping_interval_ms;  /* a silent WebSocket user is pinged after this; 0 = never */
	int flush_interval_ms;    /* the adaptive flush's longest holdoff (worker.c) */
	int rate_limit;           /* lines per second per user; 0 = no limit */
	int rate_burst;           /* lines a user may send at once; 0 = twice rate_limit */
	char user[64];            /* drop to this user after binding (when root); "" = stay */
	char admin[80];           /* admin listener "ADDR:PORT" ("[v6]:PORT"), or "" when off */
	int admin_max_conns;      /* admin connections served at once */
	int admin_timeout_ms;     /* from accept to the last byte of an admin answer */
	int drain_timeout_ms;     /* flush budget at shutdown and for half-closed users */
	int log_level;            /* enum log_level */
	int log_format;           /* enum log_format: text or json lines */
	/* pages of other origins that may open /ws: "" (none), "*" (any), or a checked
	 * comma-separated list (http_origin_list_check) */
	char allow_origin[CONFIG_ALLOW_ORIGIN_MAX];
	char cluster[CONFIG_CLUSTER_URL_MAX]; /* --cluster URL (checked), or "" when alone */
	char cluster_password_file[256];      /* a file whose first line is the password */
	char auth_secret[256]; /* --auth-secret: the file with the tokens' HS256 key, or "" */
	int require_auth;      /* --require-auth: guests may only read */
	char node_id[64];      /* "" = host name, port and start time */
	char admin_token[256]; /* --admin-token: the file with the operators' bearer token, or "" */
	char state_dir[256];   /* --state-dir: where the bans are kept, or "" (memory only) */
	int max_bans;          /* --max-bans */
	int proxy_protocol;    /* --proxy-protocol: a PROXY header first, from trusted proxies */
	/* --trusted-proxies: comma-separated CIDR ranges (cidr_list_parse, checked), or "" */
	char trusted_proxies[CONFIG_TRUSTED_MAX];
};

#define CONFIG_MAX_WORKERS 64

/* Fills in the defaults. */
void config_defaults(struct config *cfg);

/*
 * Parses argv into cfg. Returns 0 to run, 1 when --help or --version was printed (exit 0),
 * or -1 after printing an error and the usage to stderr (exit 2).
 */
int config_parse(struct config *cfg, int argc, char **argv);

void config_usage(FILE *out);

/* Parses a --cluster URL: redis://[USER:PASSWORD@]HOST:PORT[/PREFIX] (HOST a name, an IPv4
 * address or a bracketed IPv6 address; PREFIX letters, digits and . _ - :). Returns 0, or -1
 * with *why saying what is wrong. */
int config_parse_redis_url(const char *s, struct redis_url *out, const char **why);

/* Whether a --node-id (or a prefix) is 1 to 63 of letters, digits and . _ - : */
bool config_name_valid(const char *s);

/* Splits "ADDR:PORT" or "[V6ADDR]:PORT" (port 0-65535, address literal). Returns 0 or -1. */
int config_split_hostport(const char *s, char *host, size_t cap, int *port);

#endif
