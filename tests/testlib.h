/*
 * testlib.h - helpers shared by the integration tests: start a server in-process on an
 * ephemeral loopback port, join users to it and check its counters; a small blocking line
 * client and an RFC 6455 client with timeouts; bin/chatd as a child process; redis-server as a
 * child process and a blocking Redis client (src/resp.c's writer and reader).
 */
#ifndef CHATD_TESTLIB_H
#define CHATD_TESTLIB_H

#include "config.h"
#include "resp.h"
#include "server.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Defaults for tests: loopback, port 0, quiet logs. */
struct config ts_config(int workers);

/* Starts a server or fails the test. */
struct server *ts_start(const struct config *cfg);

/* Stops, waits, and asserts that no message buffer leaked. */
void ts_stop(struct server *srv);
/* Stops several servers of one process together (a cluster's nodes): every one of them stopped
 * and joined before the leak check, which counts the messages of all of them. */
void ts_stop_all(struct server **srv, int n);

/* Waits until the server counts `users` users in the room (fails after 5 s). */
void ts_wait_users(struct server *srv, long users);
/* Waits until the server holds this many connections (a leaving user's socket may still be
 * draining after it left: its --max-conns-per-ip place is free once this count drops). */
void ts_wait_conns(struct server *srv, long conns);

/* A snapshot of the server's counters (server_get_stats). */
struct server_stats ts_stats(struct server *srv);

/* Waits until counter `field` (a uint64_t of struct server_stats) reaches at least `want`
 * (fails after timeout_ms); returns its value then. */
#define TS_WAIT_COUNTER(srv, field, want, timeout_ms) \
	ts_wait_counter((srv), offsetof(struct server_stats, field), #field, (want), (timeout_ms))
uint64_t ts_wait_counter(struct server *srv, size_t offset, const char *name, uint64_t want,
			 int timeout_ms);

struct tclient {
	int fd;
	uint64_t name; /* from the welcome line, when tc_join was used */
	size_t len;
	char buf[65536];
};

/* A connected loopback TCP socket (fails the test on error). */
int ts_dial(uint16_t port);
/* The same from a chosen loopback source address ("127.0.0.2": the whole of 127.0.0.0/8 is
 * this host's), so one test can be several clients of different addresses. */
int ts_dial_from(const char *source, uint16_t port);

/* Reads an HTTP answer from fd until the peer closes, cap - 1 bytes, or timeout_ms without
 * data; closes fd, NUL-terminates out, returns the status (0 without a status line). */
int ts_http_answer(int fd, char *out, size_t cap, int timeout_ms);
/* Sends request on a new connection and reads the answer (head and body) until the server
 * closes (ts_http_answer, 15 s); returns its status. */
int ts_http(uint16_t port, const char *request, char *out, size_t cap);

/* Connects (fails the test on error). */
struct tclient *tc_connect(uint16_t port);
/* Connects from source (ts_dial_from) and reads the welcome line, recording the name. */
struct tclient *tc_join_from(const char *source, uint16_t port);
/* A client on an already connected socket. */
struct tclient *tc_adopt(int fd);
/* Connects and reads the welcome line, recording the name. */
struct tclient *tc_join(uint16_t port);
void tc_close(struct tclient *c);
/* Closes the n clients of c. */
void tc_close_all(struct tclient **c, int n);

/* Joins n users to srv (c[0] first) and waits until the server counts n users. */
void ts_join_users(struct server *srv, struct tclient **c, int n);
/* Joins *a, then *b, and reads from *a the notice that *b entered (the lobby, 2 users). */
void ts_join_pair(struct server *srv, struct tclient **a, struct tclient **b);

void tc_send(struct tclient *c, const char *text);
void tc_send_bytes(struct tclient *c, const void *data, size_t n);

/*
 * Reads one line (without \n) into out. Returns 1 on a line, 0 on EOF or connection error,
 * -1 on timeout.
 */
int tc_read_line(struct tclient *c, char *out, size_t cap, int timeout_ms);

/* Reads the next line and asserts it equals `want`. */
void tc_expect(struct tclient *c, const char *want);

/* Reads lines until one equals `want` (others are skipped); fails after timeout_ms. */
void tc_expect_eventually(struct tclient *c, const char *want, int timeout_ms);

/* Asserts the peer closes (EOF or reset) within timeout_ms, skipping lines. */
void tc_expect_closed(struct tclient *c, int timeout_ms);

/* Asserts nothing arrives within ms. */
void tc_expect_silence(struct tclient *c, int ms);

/* bin/chatd as a child process, its stderr read through a pipe. */
struct tproc {
	int pid;
	int err;         /* read end of its stderr */
	uint16_t port;   /* chat port, from its "listening on" log line */
	uint16_t admin;  /* admin port, from its "admin listener on" line, or 0 */
	char log[16384]; /* everything it logged so far */
	size_t log_len;
};

/* Starts ./bin/chatd --bind 127.0.0.1 --port 0 --admin 127.0.0.1:0 ARGS... (NULL-ended) and
 * waits for it to listen (fails the test after 5 s). It is killed if the test's process dies
 * (PR_SET_PDEATHSIG); a test stops it itself with tp_stop in its .fini. */
void tp_start(struct tproc *p, const char *const *args);
/* Reads its log until a line contains `text` (true) or timeout_ms pass (false). */
bool tp_wait_log(struct tproc *p, const char *text, int timeout_ms);
/* Sends sig; waits up to timeout_ms for it to exit; returns its exit status, or -1 if it is
 * still running (it is then killed with SIGKILL and reaped). */
int tp_signal_wait(struct tproc *p, int sig, int timeout_ms);
/* Kills and reaps it if it still runs (safe to call twice). */
void tp_stop(struct tproc *p);

/* Whether an executable named name is in a directory of $PATH. */
bool ts_on_path(const char *name);
/* A loopback port nobody listens on right now (for a program that needs a port number:
 * another test may take it before that program binds it, so retry on "address in use"). */
uint16_t ts_free_port(void);

/* A small RFC 6455 client (masked frames), independent of src/ws.c. */
struct wsclient {
	int fd;
	size_t len;
	unsigned char buf[65536];
};

/* Connects and completes the upgrade (fails the test otherwise). */
struct wsclient *wc_connect(uint16_t port);
/* The same on an already connected socket. */
struct wsclient *wc_open(int fd);
/* The same with a request of the caller's (its key must be RFC 6455's sample nonce). */
struct wsclient *wc_open_req(int fd, const char *request);
/* Sends one frame: fin_op is the first header byte (FIN and opcode), masked when mask. */
void wc_send(struct wsclient *c, int fin_op, const void *p, size_t n, bool mask);
void wc_text(struct wsclient *c, const char *s);
/* Reads one frame (fails the test after 5 s); returns its opcode (-1 on EOF), payload in out,
 * its length in *len. */
int wc_read(struct wsclient *c, char *out, size_t cap, size_t *len);
/* Reads text frames until one equals want (skipping pings and pongs). */
void wc_expect(struct wsclient *c, const char *want);
/* Reads the first frame and asserts it is the text of a welcome line. */
void wc_expect_welcome(struct wsclient *c);
/* Reads until a close frame; returns its code. */
int wc_close_code(struct wsclient *c);
void wc_free(struct wsclient *c);

/*
 * redis-server as a child process, on loopback: --bind 127.0.0.1 --port PORT --save ''
 * --appendonly no --daemonize no, then ARGS (NULL-ended, each word its own argument:
 * "--client-output-buffer-limit", "pubsub", "64kb", "0", "0"). Waits until it answers PING
 * (5 s). Fails the test, saying how to install it, when redis-server is not on the PATH, and
 * with its log when it does not start. Its log goes to an unlinked temporary file. It is
 * killed if the test's process dies (PR_SET_PDEATHSIG), but a test stops it itself with
 * ts_redis_stop, in its .fini so that a failed assertion stops it too.
 */
/* On a free port, written to *port; returns the pid. */
int ts_redis_start(uint16_t *port, const char *const *args);
/* On the given port (a restart where a killed one was), trying for 5 s; returns the pid. */
int ts_redis_start_on(uint16_t port, const char *const *args);
/* SIGKILL and waitpid; nothing when pid <= 0. */
void ts_redis_stop(int pid);

/* A blocking Redis client: commands written by resp_write_command, replies read by resp_parse
 * (RESP2 until the test sends HELLO 3). */
struct tredis {
	int fd;
	size_t len;  /* bytes in buf */
	size_t done; /* bytes of buf taken by the reply last returned */
	size_t cap;
	char *buf; /* TR_BUF_MAX bytes */
	struct resp_parser parser;
	struct resp_node nodes[256];
};
#define TR_BUF_MAX (4u << 20)

/* Connects to 127.0.0.1:port (fails the test on error). */
struct tredis *tr_connect(uint16_t port);
void tr_close(struct tredis *c);
/* Sends one command. */
void tr_send(struct tredis *c, size_t argc, const struct resp_arg *argv);
/* Sends bytes as they are (several commands at once, or a broken one). */
void tr_send_bytes(struct tredis *c, const void *data, size_t n);
/* Sends a command of NUL-terminated words: TR_SEND(c, "SUBSCRIBE", channel). */
#define TR_SEND(c, ...) tr_send_words((c), (const char *const[]){ __VA_ARGS__, NULL })
void tr_send_words(struct tredis *c, const char *const *words); /* NULL-ended */
/* The next reply or push (fails the test after timeout_ms, on EOF, on malformed input or a
 * reply over TR_BUF_MAX bytes or 256 nodes); valid until the next call. */
const struct resp_node *tr_reply(struct tredis *c, int timeout_ms);
/* TR_SEND, then the reply (5 s): TR_COMMAND(c, "GET", key)->type. */
#define TR_COMMAND(c, ...) tr_command_words((c), (const char *const[]){ __VA_ARGS__, NULL })
const struct resp_node *tr_command_words(struct tredis *c, const char *const *words);
/* Asserts that node n is a simple or bulk string equal to text. */
void tr_expect_str(const struct resp_node *n, const char *text);

#endif
