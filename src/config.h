/*
 * config.h - every run-time option of chatd: its flag, default, validation and help text.
 *
 * A struct config is filled before any thread starts (defaults, then the --config file, then
 * the flags, which win) and is read-only afterwards, so every thread may read it without
 * synchronisation. SIGHUP builds a new one the same way on the main thread (reload.c); the
 * workers see the settings that may change while running through an immutable copy (live.h).
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
#define CONFIG_PATH_MAX         256  /* bytes of a file name given as an option, NUL included */
#define CONFIG_LINE_MAX         4096 /* bytes of one line of a --config file */
#define CONFIG_ERR_MAX          1400 /* bytes of an error message ("FILE:LINE: ..."), NUL included */

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
	int room_lists;           /* bans, and pending invitations, per room (roomops.h) */
	size_t max_http_header;   /* bytes of an HTTP request head */
	int handshake_timeout_ms; /* time to send a complete HTTP request */
	int ws_ping_interval_ms;  /* a silent WebSocket user is pinged after this; 0 = never */
	int irc_port;             /* IRC clients' port: 0 = ephemeral (tests), -1 = off */
	char irc_password[256]; /* --irc-password: the file with the PASS IRC clients send, or "" */
	int irc_ping_interval_ms; /* a silent IRC client is pinged after this */
	int irc_max_channels;     /* --irc-max-channels: the rooms one IRC user may be in */
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
	/* How chatd was started; command line only, not options of the table (a file cannot
	 * name another file, and reloads leave them as they are): */
	char config_file[CONFIG_PATH_MAX]; /* --config FILE, or "" */
	bool check_only;                   /* --check-config: validate, say so, exit */
};

#define CONFIG_MAX_WORKERS 64

/* Fills in the defaults. */
void config_defaults(struct config *cfg);

/*
 * Parses argv into cfg, and the --config file argv names under them (a flag given on the
 * command line wins over the file). Returns 0 to run, 1 when --help or --version was printed
 * (exit 0), or -1 after printing the error to stderr, with the usage when the mistake is in
 * the flags (exit 2; 1 with --check-config).
 */
int config_parse(struct config *cfg, int argc, char **argv);

/*
 * The same without printing: what SIGHUP re-reads (cfg holds the defaults). Returns 0, or -1
 * with the error in err: "FILE:LINE: NAME: what is wrong", "FILE: why it cannot be read", or
 * "--NAME: what is wrong" for a flag.
 */
int config_load(struct config *cfg, int argc, char **argv, char *err, size_t cap);

/* Whether argv asks for --check-config (known even when the rest does not parse). */
bool config_wants_check(int argc, char **argv);

/*
 * The options whose values differ between was and now, in the table's order: fn gets the
 * option's name and both values as they would be written in the file (a --cluster URL's
 * credentials masked). Returns how many differ.
 */
typedef void (*config_change_fn)(void *arg, const char *name, const char *was, const char *now);
int config_diff(const struct config *was, const struct config *now, config_change_fn fn, void *arg);

/* Copies option `name`'s value from src into dst (a setting that needs a restart keeps its
 * running value). Returns 0, or -1 when no option has that name. */
int config_keep(struct config *dst, const struct config *src, const char *name);

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
