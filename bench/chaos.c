/*
 * chaos.c - bench/chaos, misbehaving clients for scripts/soak.sh. Loopback only.
 *
 *   chaos soak    [-d SECONDS] [--kinds a,b,...] [--port P] [--markdown]
 *   chaos exhaust --server-pid PID [--hog N] [--free K] [--max-cpu PCT] [--port P]
 *
 * soak: for -d seconds every kind of misbehaviour below runs in its own threads, in a loop,
 * while bench/flood keeps well-behaved users chatting. Each attempt checks that chatd handled
 * it by the rule docs/protocol.md states (the error line, the HTTP status, the WebSocket close
 * code, the disconnect) and that the connection still works where the rule says it stays. An
 * observer in the lobby checks every line the server sends: valid UTF-8, no control bytes, and
 * never a piece of a line whose sender reset the connection before finishing it.
 *
 *   churn      connect and leave at a high rate: FIN or RST before the welcome, after it, /quit
 *   slow       stay in the lobby and never read; expect to be cut (--max-outbuf)
 *   random     random bytes (with newlines), then a probe line that must still be answered
 *   overlong   a line 3x --max-line in small writes: error, connection stays
 *   control    C0, DEL and C1 control characters: one error per line, connection stays
 *   badutf8    overlong form, surrogate, > U+10FFFF: one error per line, connection stays
 *   slowloris  an HTTP head trickled a header at a time, never finished: 408 in time
 *   bighead    an HTTP head past --max-http-header: 431
 *   wsmask     WebSocket frame without a mask: close 1002
 *   wsutf8     WebSocket text with bad UTF-8, whole or split across fragments: close 1007
 *   rst        RST in the middle of a line (line protocol) or of a frame (WebSocket)
 *   pings      a WebSocket user pinging without reading: flooding, disconnected (the server
 *              holds at most one unsent pong meanwhile)
 *   flooder    lines far past --rate-limit: "slow down" errors, then disconnected
 *
 * exhaust: run against a chatd started under a low RLIMIT_NOFILE. Opens --hog connections (more
 * than the fds allow), keeps attempting new ones while full and measures the server's CPU,
 * then closes --free of the admitted ones and measures how fast waiting or new users get in.
 *
 * Exit status 1 when any attempt saw something the rules do not allow (soak) or a bound was
 * missed (exhaust). Threads: each kind runs in its own threads with blocking sockets and
 * deadlines; results are atomics, failure texts are kept under one mutex.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "proc.h"

#define MS 1000000LL

static struct {
	const char *host;
	int port;
	double duration;
	const char *kinds;
	bool markdown;
	int max_line, handshake_timeout_s, max_header;
	/* exhaust */
	int server_pid, hog, free_n;
	double max_cpu;
} opt = { .host = "127.0.0.1",
	  .port = 2020,
	  .duration = 30,
	  .max_line = 4096,
	  .handshake_timeout_s = 10,
	  .max_header = 8192,
	  .hog = 400,
	  .free_n = 50,
	  .max_cpu = 30 };

static int64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static void sleep_ms(int64_t ms)
{
	struct timespec ts = { .tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * MS };
	nanosleep(&ts, NULL);
}

/* xorshift64*, one state per thread */
static uint64_t rnd(uint64_t *s)
{
	*s ^= *s >> 12;
	*s ^= *s << 25;
	*s ^= *s >> 27;
	return *s * 2685821657736338717ULL;
}

/* ---- sockets -------------------------------------------------------------------------------- */

static struct sockaddr_in server_addr(void)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons((uint16_t)opt.port) };
	inet_pton(AF_INET, opt.host, &a.sin_addr);
	return a;
}

/* Blocking connect with a 3 s bound; rcvbuf > 0 shrinks the receive buffer first. */
static int dial(int rcvbuf)
{
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (rcvbuf > 0)
		setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof(rcvbuf));
	struct timeval tv = { .tv_sec = 3 };
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	struct sockaddr_in a = server_addr();
	if (connect(fd, (struct sockaddr *)&a, sizeof(a)) < 0) {
		int e = errno;
		close(fd);
		return -e;
	}
	return fd;
}

/* Closes with a RST instead of a FIN (SO_LINGER 0). */
static void close_rst(int fd)
{
	struct linger lg = { .l_onoff = 1, .l_linger = 0 };
	setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
	close(fd);
}

static int send_all(int fd, const void *p, size_t n)
{
	const char *s = p;
	while (n > 0) {
		ssize_t k = send(fd, s, n, MSG_NOSIGNAL);
		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0)
			return -errno;
		s += k;
		n -= (size_t)k;
	}
	return 0;
}

static int send_str(int fd, const char *s)
{
	return send_all(fd, s, strlen(s));
}

/* ---- reading with deadlines ------------------------------------------------------------------ */

enum { RD_EOF = -1, RD_RESET = -2, RD_TIMEOUT = -3, RD_TOOLONG = -4 };

struct rd {
	int fd;
	size_t len, used; /* buf[used..len) is unread */
	char buf[16384];
};

static const char *rd_err(int rc)
{
	switch (rc) {
	case RD_EOF:
		return "connection closed";
	case RD_RESET:
		return "connection reset";
	case RD_TIMEOUT:
		return "timed out";
	default:
		return "server line too long";
	}
}

/* Reads more bytes before the deadline; returns bytes read or an RD_ code. */
static int rd_fill(struct rd *r, int64_t deadline)
{
	if (r->used > 0) {
		memmove(r->buf, r->buf + r->used, r->len - r->used);
		r->len -= r->used;
		r->used = 0;
	}
	if (r->len == sizeof(r->buf))
		return RD_TOOLONG;
	for (;;) {
		int64_t left = (deadline - now_ns()) / MS;
		if (left <= 0)
			return RD_TIMEOUT;
		struct pollfd p = { .fd = r->fd, .events = POLLIN };
		int k = poll(&p, 1, (int)left);
		if (k < 0 && errno == EINTR)
			continue;
		if (k == 0)
			return RD_TIMEOUT;
		ssize_t n = recv(r->fd, r->buf + r->len, sizeof(r->buf) - r->len, MSG_DONTWAIT);
		if (n > 0) {
			r->len += (size_t)n;
			return (int)n;
		}
		if (n == 0)
			return RD_EOF;
		if (errno == EAGAIN || errno == EINTR)
			continue;
		return RD_RESET;
	}
}

/* Next line without its "\n" (NUL-terminated in place) or an RD_ code. */
static int rd_line(struct rd *r, char **line, int64_t deadline)
{
	size_t scanned = 0;
	for (;;) {
		char *start = r->buf + r->used;
		char *nl = memchr(start + scanned, '\n', r->len - r->used - scanned);
		if (nl != NULL) {
			*nl = 0;
			*line = start;
			r->used += (size_t)(nl - start) + 1;
			return (int)(nl - start);
		}
		scanned = r->len - r->used;
		int rc = rd_fill(r, deadline);
		if (rc < 0)
			return rc;
	}
}

/* Reads until EOF or reset; returns RD_EOF/RD_RESET, or RD_TIMEOUT if data keeps coming. */
static int rd_until_closed(struct rd *r, int64_t deadline)
{
	for (;;) {
		char *line;
		int n;
		while ((n = rd_line(r, &line, deadline)) >= 0)
			;
		if (n != RD_TOOLONG)
			return n;
		r->len = r->used = 0; /* not ours to judge here: skip the bytes */
	}
}

/* ---- what a server line may hold ------------------------------------------------------------ */

/* Well-formed UTF-8 (no overlong forms, surrogates or > U+10FFFF), no C0 but tab, no DEL, no C1.
 * Written apart from src/proto.c on purpose: the check must not share the code it checks. */
static bool text_ok(const unsigned char *s, size_t n)
{
	for (size_t i = 0; i < n;) {
		unsigned c = s[i];
		if (c < 0x80) {
			if ((c < 0x20 && c != '\t') || c == 0x7f)
				return false;
			i++;
			continue;
		}
		size_t len = c >= 0xf0 ? 4 : c >= 0xe0 ? 3 : 2;
		if (c < 0xc2 || c > 0xf4 || i + len > n)
			return false;
		uint32_t cp = c & (0x7f >> len);
		for (size_t k = 1; k < len; k++) {
			if ((s[i + k] & 0xc0) != 0x80)
				return false;
			cp = cp << 6 | (s[i + k] & 0x3f);
		}
		if ((len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000) || cp > 0x10ffff ||
		    (cp >= 0xd800 && cp <= 0xdfff) || (cp >= 0x80 && cp <= 0x9f))
			return false;
		i += len;
	}
	return true;
}

/* ---- results ------------------------------------------------------------------------------- */

struct kind;
typedef int (*attempt_fn)(struct kind *k, uint64_t *seed, int64_t deadline);

#define MAX_FAILS 5
struct kind {
	const char *name, *does, *rule;
	attempt_fn run;
	const char *note_a_name, *note_b_name;
	int threads;
	bool on;
	_Atomic uint64_t tries, handled, failed, note_a, note_b;
	pthread_mutex_t lock; /* guards nfails and fails */
	int nfails;
	char fails[MAX_FAILS][200];
};

static int fail(struct kind *k, const char *fmt, ...)
{
	atomic_fetch_add(&k->failed, 1);
	pthread_mutex_lock(&k->lock);
	if (k->nfails < MAX_FAILS) {
		va_list ap;
		va_start(ap, fmt);
		vsnprintf(k->fails[k->nfails++], sizeof(k->fails[0]), fmt, ap);
		va_end(ap);
	}
	pthread_mutex_unlock(&k->lock);
	return -1;
}

static int ok(struct kind *k)
{
	atomic_fetch_add(&k->handled, 1);
	return 0;
}

/*
 * Reads lines until one starts with prefix (other users' chat and notices pass by). Every line
 * is checked on the way; a line starting with `unwanted` (when given) is a failure too.
 */
static int expect_line(struct kind *k, struct rd *r, const char *prefix, const char *unwanted,
		       int64_t deadline, const char *step)
{
	char *line;
	int n;
	while ((n = rd_line(r, &line, deadline)) >= 0) {
		if (!text_ok((unsigned char *)line, (size_t)n))
			return fail(k, "%s: the server sent a line with invalid text", step);
		if (strncmp(line, prefix, strlen(prefix)) == 0)
			return 0;
		if (unwanted != NULL && strncmp(line, unwanted, strlen(unwanted)) == 0)
			return fail(k, "%s: unexpected \"%.80s\"", step, line);
	}
	return fail(k, "%s: waiting for \"%s\": %s", step, prefix, rd_err(n));
}

static int expect_closed(struct kind *k, struct rd *r, int64_t deadline, const char *step)
{
	int rc = rd_until_closed(r, deadline);
	if (rc == RD_EOF || rc == RD_RESET)
		return 0;
	return fail(k, "%s: connection not closed: %s", step, rd_err(rc));
}

/* The probe every "connection stays" rule ends with: an unknown command must be answered. */
#define PROBE        "/chaos-probe\n"
#define PROBE_ANSWER "* error: unknown command"

/* ---- kinds -------------------------------------------------------------------------------- */

static int k_churn(struct kind *k, uint64_t *seed, int64_t deadline)
{
	(void)deadline;
	int fd = dial(0);
	if (fd < 0)
		return fail(k, "connect: %s", strerror(-fd));
	struct rd r = { .fd = fd };
	int64_t t = now_ns() + 3000 * MS;
	int rc = 0;
	switch (rnd(seed) % 4) {
	case 0: /* FIN before the welcome */
		close(fd);
		return ok(k);
	case 1: /* RST before the welcome */
		close_rst(fd);
		atomic_fetch_add(&k->note_a, 1);
		return ok(k);
	case 2: /* welcome (after the 100 ms sniffing pause), then RST or FIN */
		rc = expect_line(k, &r, "* Welcome", "* error", t, "welcome");
		if (rnd(seed) & 1) {
			close_rst(fd);
			atomic_fetch_add(&k->note_a, 1);
		} else {
			close(fd);
		}
		return rc < 0 ? rc : ok(k);
	default: /* /quit: Goodbye, then the server closes */
		rc = send_str(fd, "/quit chaos\n");
		if (rc == 0)
			rc = expect_line(k, &r, "* Goodbye.", "* error", t, "/quit");
		else
			rc = fail(k, "send: %s", strerror(-rc));
		if (rc == 0)
			rc = expect_closed(k, &r, t, "/quit");
		close(fd);
		atomic_fetch_add(&k->note_b, 1);
		return rc < 0 ? rc : ok(k);
	}
}

/*
 * Never reads while the lobby's chat piles up; then reads everything there is. A cut user finds
 * the end of the stream; one not cut yet still receives chat after 3 s of reading and is simply
 * closed. (The "too slow" line rarely gets through: the socket buffer it would go into is the
 * one that is full.)
 */
static int k_slow(struct kind *k, uint64_t *seed, int64_t deadline)
{
	int fd = dial(4096);
	if (fd < 0)
		return fail(k, "connect: %s", strerror(-fd));
	int64_t hold = now_ns() + (int64_t)(15000 + rnd(seed) % 15000) * MS;
	if (hold > deadline)
		hold = deadline;
	while (now_ns() < hold)
		sleep_ms(100);
	struct rd r = { .fd = fd };
	int rc = rd_until_closed(&r, now_ns() + 3000 * MS);
	close(fd);
	if (rc == RD_TIMEOUT) /* still being served: not slow enough yet */
		return ok(k);
	atomic_fetch_add(&k->note_a, 1);
	return ok(k);
}

static int k_random(struct kind *k, uint64_t *seed, int64_t deadline)
{
	(void)deadline;
	int fd = dial(0);
	if (fd < 0)
		return fail(k, "connect: %s", strerror(-fd));
	unsigned char buf[4096];
	size_t n = 512 + rnd(seed) % (sizeof(buf) - 512);
	for (size_t i = 0; i < n; i++) {
		uint64_t v = rnd(seed);
		buf[i] = (v & 63) == 0 ? '\n' : (unsigned char)(v >> 8);
	}
	for (size_t off = 0; off < n;) {
		size_t chunk = 1 + rnd(seed) % 700;
		if (chunk > n - off)
			chunk = n - off;
		if (send_all(fd, buf + off, chunk) < 0)
			break; /* closed by some rule: the reading below finds out which */
		off += chunk;
	}
	(void)send_str(fd, "\n" PROBE);
	struct rd r = { .fd = fd };
	int64_t t = now_ns() + 5000 * MS;
	char *line;
	int len;
	/* The probe's answer, or a documented ending: the bytes were taken for HTTP, or flooding. */
	while ((len = rd_line(&r, &line, t)) >= 0) {
		if (!text_ok((unsigned char *)line, (size_t)len) &&
		    strncmp(line, "HTTP/1.1 ", 9) != 0)
			break;
		if (strncmp(line, PROBE_ANSWER, strlen(PROBE_ANSWER)) == 0) {
			close_rst(fd);
			return ok(k);
		}
		if (strncmp(line, "HTTP/1.1 4", 10) == 0 ||
		    strncmp(line, "* error: flooding", 17) == 0) {
			atomic_fetch_add(&k->note_a, 1);
			int rc = expect_closed(k, &r, t, "random bytes taken for HTTP or flooding");
			close(fd);
			return rc < 0 ? rc : ok(k);
		}
	}
	close(fd);
	if (len >= 0)
		return fail(k, "the server sent a line with invalid text");
	return fail(k, "probe after %zu random bytes: %s", n, rd_err(len));
}

/* Sends lines, expects one error line each (rule `err`), then the probe's answer. */
static int lines_then_probe(struct kind *k, const char *const *lines, size_t nlines,
			    const char *err, size_t piece)
{
	int fd = dial(0);
	if (fd < 0)
		return fail(k, "connect: %s", strerror(-fd));
	struct rd r = { .fd = fd };
	int64_t t = now_ns() + 5000 * MS;
	int rc = 0;
	for (size_t i = 0; i < nlines && rc == 0; i++) {
		size_t len = strlen(lines[i]);
		for (size_t off = 0; off < len && rc == 0; off += piece)
			rc = send_all(fd, lines[i] + off, len - off < piece ? len - off : piece);
	}
	if (rc == 0)
		rc = send_str(fd, PROBE);
	if (rc < 0) {
		close(fd);
		return fail(k, "send: %s", strerror(-rc));
	}
	for (size_t i = 0; i < nlines && rc == 0; i++)
		rc = expect_line(k, &r, err, PROBE_ANSWER, t, "error line");
	if (rc == 0)
		rc = expect_line(k, &r, PROBE_ANSWER, NULL, t, "probe");
	close(fd);
	return rc < 0 ? rc : ok(k);
}

static int k_overlong(struct kind *k, uint64_t *seed, int64_t deadline)
{
	(void)deadline;
	size_t n = (size_t)opt.max_line * 3 + rnd(seed) % 1000;
	char *line = malloc(n + 2);
	if (line == NULL)
		return fail(k, "out of memory");
	memset(line, 'x', n);
	line[n] = '\n';
	line[n + 1] = 0;
	const char *lines[] = { line };
	int rc = lines_then_probe(k, lines, 1, "* error: line too long", 1000);
	free(line);
	return rc;
}

static int k_control(struct kind *k, uint64_t *seed, int64_t deadline)
{
	(void)seed, (void)deadline;
	static const char *const lines[] = { "bell \a here\n", "del \x7f here\n",
					     "c1 \xc2\x85 here\n", "esc \x1b[2J\n" };
	return lines_then_probe(k, lines, 4, "* error: U+00", 4096); /* names the character */
}

static int k_badutf8(struct kind *k, uint64_t *seed, int64_t deadline)
{
	(void)seed, (void)deadline;
	static const char *const lines[] = { "overlong \xc0\xaf\n", "surrogate \xed\xa0\x80\n",
					     "too big \xf4\x90\x80\x80\n", "cut \xe2\x82\n",
					     "stray \x80\n" };
	return lines_then_probe(k, lines, 5, "* error: invalid UTF-8", 4096);
}

/* Reads the HTTP status line, then expects the connection to close. */
static int expect_http_status(struct kind *k, struct rd *r, const char *status, int64_t deadline)
{
	char *line;
	int n = rd_line(r, &line, deadline);
	if (n < 0)
		return fail(k, "waiting for %s: %s", status, rd_err(n));
	if (strncmp(line, status, strlen(status)) != 0)
		return fail(k, "expected \"%s\", got \"%.60s\"", status, line);
	return expect_closed(k, r, deadline, status);
}

static int k_slowloris(struct kind *k, uint64_t *seed, int64_t deadline)
{
	(void)seed, (void)deadline;
	int fd = dial(0);
	if (fd < 0)
		return fail(k, "connect: %s", strerror(-fd));
	int64_t start = now_ns();
	int64_t limit = start + (int64_t)(opt.handshake_timeout_s + 3) * 1000 * MS;
	struct rd r = { .fd = fd };
	int rc = send_str(fd, "GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n");
	for (int i = 0; rc == 0; i++) {
		struct pollfd p = { .fd = fd, .events = POLLIN };
		if (poll(&p, 1, 500) != 0 || now_ns() > limit)
			break; /* an answer, or too late */
		char h[64];
		snprintf(h, sizeof(h), "X-Slow-%d: still coming\r\n", i);
		rc = send_str(fd, h);
	}
	rc = expect_http_status(k, &r, "HTTP/1.1 408", limit);
	double took = (double)(now_ns() - start) / 1e9;
	close(fd);
	if (rc < 0)
		return rc;
	if (took < opt.handshake_timeout_s - 1.0)
		return fail(k, "408 after %.1f s, before --handshake-timeout", took);
	return ok(k);
}

static int k_bighead(struct kind *k, uint64_t *seed, int64_t deadline)
{
	(void)seed, (void)deadline;
	int fd = dial(0);
	if (fd < 0)
		return fail(k, "connect: %s", strerror(-fd));
	struct rd r = { .fd = fd };
	int rc = send_str(fd, "GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n");
	char h[128];
	for (int i = 0; rc == 0 && i * 40 < opt.max_header + 1024; i++) {
		snprintf(h, sizeof(h), "X-Big-%04d: %028d\r\n", i, i);
		rc = send_str(fd, h);
	}
	/* The server may answer and close while we still send: a failed send is fine here. */
	rc = expect_http_status(k, &r, "HTTP/1.1 431", now_ns() + 5000 * MS);
	close(fd);
	return rc < 0 ? rc : ok(k);
}

/* ---- WebSocket ----------------------------------------------------------------------------- */

static int ws_open(struct kind *k, struct rd *r)
{
	int fd = dial(0);
	if (fd < 0)
		return fail(k, "connect: %s", strerror(-fd));
	r->fd = fd;
	r->len = r->used = 0;
	int rc =
	    send_str(fd, "GET /ws HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\n"
			 "Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
			 "Sec-WebSocket-Version: 13\r\n\r\n");
	int64_t t = now_ns() + 3000 * MS;
	char *line;
	int n = rc == 0 ? rd_line(r, &line, t) : RD_RESET;
	if (n < 0 || strncmp(line, "HTTP/1.1 101 ", 13) != 0) {
		close(fd);
		return fail(k, "upgrade: %s", n < 0 ? rd_err(n) : line);
	}
	while ((n = rd_line(r, &line, t)) > 1) /* headers, up to the empty line ("\r") */
		;
	if (n < 0) {
		close(fd);
		return fail(k, "upgrade headers: %s", rd_err(n));
	}
	return fd;
}

/* A client frame; masked unless told otherwise. Returns its length in out. */
static size_t ws_frame(unsigned char *out, int op, bool fin, const void *data, size_t n,
		       bool masked, uint64_t *seed)
{
	size_t h = 0;
	out[h++] = (unsigned char)((fin ? 0x80 : 0) | op);
	unsigned char m = masked ? 0x80 : 0;
	if (n < 126) {
		out[h++] = (unsigned char)(m | n);
	} else {
		out[h++] = m | 126;
		out[h++] = (unsigned char)(n >> 8);
		out[h++] = (unsigned char)n;
	}
	unsigned char key[4] = { 0 };
	if (masked) {
		uint64_t v = rnd(seed);
		memcpy(key, &v, 4);
		memcpy(out + h, key, 4);
		h += 4;
	}
	const unsigned char *s = data;
	for (size_t i = 0; i < n; i++)
		out[h + i] = s[i] ^ key[i & 3];
	return h + n;
}

/* Reads one server frame: its opcode, or an RD_ code; *payload and *n point into r->buf and
 * stay valid until the next read. */
static int ws_read_frame(struct rd *r, int64_t deadline, const unsigned char **payload, size_t *n)
{
	size_t need = 2;
	for (;;) {
		while (r->len - r->used < need) {
			int rc = rd_fill(r, deadline);
			if (rc < 0)
				return rc;
		}
		const unsigned char *p = (unsigned char *)r->buf + r->used;
		size_t len = p[1] & 127, off = 2;
		if (len == 126) {
			if (need < 4) {
				need = 4;
				continue;
			}
			len = (size_t)p[2] << 8 | p[3];
			off = 4;
		}
		if (r->len - r->used < off + len) {
			need = off + len;
			continue;
		}
		r->used += off + len;
		*payload = p + off;
		*n = len;
		return p[0] & 15;
	}
}

/* Reads server frames until a close frame; returns its status code, or an RD_ code. */
static int ws_read_close(struct rd *r, int64_t deadline)
{
	for (;;) {
		const unsigned char *p;
		size_t n;
		int op = ws_read_frame(r, deadline, &p, &n);
		if (op < 0)
			return op;
		if (op == 8)
			return n >= 2 ? (p[0] << 8 | p[1]) : 1005;
	}
}

static int ws_expect_close(struct kind *k, struct rd *r, int code, const char *what)
{
	int64_t t = now_ns() + 5000 * MS;
	int got = ws_read_close(r, t);
	if (got < 0)
		return fail(k, "%s: waiting for close %d: %s", what, code, rd_err(got));
	if (got != code)
		return fail(k, "%s: close code %d, expected %d", what, got, code);
	return expect_closed(k, r, t, what);
}

/* Opens a WebSocket, sends frames f[0..n), expects a close with `code`, then the close. */
static int ws_violation(struct kind *k, const unsigned char *f, size_t n, int code,
			const char *what)
{
	struct rd r;
	int fd = ws_open(k, &r);
	if (fd < 0)
		return fd;
	int rc = send_all(fd, f, n);
	(void)rc; /* the server may close before all of it is sent */
	rc = ws_expect_close(k, &r, code, what);
	close(fd);
	return rc < 0 ? rc : ok(k);
}

static int k_wsmask(struct kind *k, uint64_t *seed, int64_t deadline)
{
	(void)deadline;
	unsigned char f[64];
	size_t n = ws_frame(f, 1, true, "no mask", 7, false, seed);
	return ws_violation(k, f, n, 1002, "unmasked frame");
}

static int k_wsutf8(struct kind *k, uint64_t *seed, int64_t deadline)
{
	(void)deadline;
	unsigned char f[64];
	if (rnd(seed) & 1) { /* a euro sign cut between fragments, then a bad continuation byte */
		size_t n = ws_frame(f, 1, false, "ok \xe2\x82", 5, true, seed);
		n += ws_frame(f + n, 0, true, "(", 1, true, seed);
		atomic_fetch_add(&k->note_a, 1);
		return ws_violation(k, f, n, 1007, "bad UTF-8 across fragments");
	}
	size_t n = ws_frame(f, 1, true, "bad \xc0\xaf", 6, true, seed);
	return ws_violation(k, f, n, 1007, "bad UTF-8");
}

/* Reads frames until a text frame starting with `prefix` (other frames are skipped). */
static int ws_expect_text(struct kind *k, struct rd *r, const char *prefix, int64_t deadline,
			  const char *what)
{
	for (;;) {
		const unsigned char *p;
		size_t n;
		int op = ws_read_frame(r, deadline, &p, &n);
		if (op < 0)
			return fail(k, "%s: waiting for '%s': %s", what, prefix, rd_err(op));
		if (op == 1 && n >= strlen(prefix) && memcmp(p, prefix, strlen(prefix)) == 0)
			return 0;
	}
}

/*
 * A WebSocket user sends 2,000 empty pings without reading. Pings count against --rate-limit
 * like lines, so it is told it floods and is cut; meanwhile the server holds at most one
 * unsent pong for it, whatever the number of pings (the soak's heap check sees it).
 */
static int k_pings(struct kind *k, uint64_t *seed, int64_t deadline)
{
	(void)deadline;
	struct rd r;
	int fd = ws_open(k, &r);
	if (fd < 0)
		return fd;
	unsigned char burst[500 * 6];
	size_t n = 0;
	while (n < sizeof(burst))
		n += ws_frame(burst + n, 9, true, "", 0, true, seed);
	for (int i = 0; i < 4; i++)
		if (send_all(fd, burst, n) < 0)
			break; /* cut before all was sent: fine */
	int64_t t = now_ns() + 5000 * MS;
	int rc = ws_expect_text(k, &r, "* error: flooding", t, "ping flood");
	if (rc == 0)
		rc = expect_closed(k, &r, t, "ping flood");
	close(fd);
	return rc < 0 ? rc : ok(k);
}

static _Atomic uint64_t rst_counter;

static int k_rst(struct kind *k, uint64_t *seed, int64_t deadline)
{
	(void)deadline;
	char text[64];
	snprintf(text, sizeof(text), "chaos-rst-partial-%llu",
		 (unsigned long long)atomic_fetch_add(&rst_counter, 1));
	if (rnd(seed) & 1) { /* line protocol: half a line, then RST */
		int fd = dial(0);
		if (fd < 0)
			return fail(k, "connect: %s", strerror(-fd));
		struct rd r = { .fd = fd };
		if (expect_line(k, &r, "* Welcome", NULL, now_ns() + 3000 * MS, "welcome") < 0) {
			close(fd);
			return -1;
		}
		int rc = send_str(fd, text);
		sleep_ms(1 + (int64_t)(rnd(seed) % 20)); /* let it reach the server's buffer */
		close_rst(fd);
		return rc < 0 ? fail(k, "before the reset: %s", strerror(-rc)) : ok(k);
	}
	struct rd r; /* WebSocket: a frame header promising more than is sent, then RST */
	int fd = ws_open(k, &r);
	if (fd < 0)
		return fd;
	unsigned char f[200];
	char payload[120];
	memset(payload, '.', sizeof(payload));
	/* NOLINTNEXTLINE(bugprone-not-null-terminated-result): a frame payload, not a string */
	memcpy(payload, text, strlen(text));
	size_t n = ws_frame(f, 1, true, payload, sizeof(payload), true, seed);
	int rc = send_all(fd, f, n / 2);
	sleep_ms(1 + (int64_t)(rnd(seed) % 20));
	close_rst(fd);
	atomic_fetch_add(&k->note_a, 1);
	return rc < 0 ? fail(k, "before the reset: %s", strerror(-rc)) : ok(k);
}

static int k_flooder(struct kind *k, uint64_t *seed, int64_t deadline)
{
	(void)seed, (void)deadline;
	int fd = dial(0);
	if (fd < 0)
		return fail(k, "connect: %s", strerror(-fd));
	/* own room, so the accepted part of the burst bothers nobody */
	char burst[1000 * 16];
	size_t n = (size_t)snprintf(burst, sizeof(burst), "/join chaos-flood\n");
	for (int i = 0; n + 16 < sizeof(burst); i++)
		n += (size_t)snprintf(burst + n, sizeof(burst) - n, "spam %8d\n", i);
	int rc = send_all(fd, burst, n);
	(void)rc; /* the server may cut us before all of it is sent */
	struct rd r = { .fd = fd };
	int64_t t = now_ns() + 5000 * MS;
	rc = expect_line(k, &r, "* error: slow down", NULL, t, "rate limit");
	if (rc == 0)
		rc = expect_line(k, &r, "* error: flooding", NULL, t, "flood disconnect");
	if (rc == 0)
		rc = expect_closed(k, &r, t, "flood disconnect");
	close(fd);
	return rc < 0 ? rc : ok(k);
}

#define KIND(n, d, r, fn, th, na, nb)                                                \
	{                                                                            \
		.name = (n), .does = (d), .rule = (r), .run = (fn), .threads = (th), \
		.note_a_name = (na), .note_b_name = (nb)                             \
	}
static struct kind kinds[] = {
	KIND("churn", "connect and leave: FIN or RST before or after the welcome, or /quit",
	     "welcome / Goodbye, closed", k_churn, 2, "RST", "/quit"),
	KIND("slow", "stay in the lobby, never read for 15-30 s, then read all",
	     "cut at --max-outbuf", k_slow, 8, "cut", NULL),
	KIND("random", "0.5-4 KiB of random bytes, then a probe line", "probe answered", k_random,
	     2, "closed by rule", NULL),
	KIND("overlong", "a line of 3x --max-line in 1000-byte writes, then a probe",
	     "error line, connection stays", k_overlong, 1, NULL, NULL),
	KIND("control", "4 lines with C0, DEL, C1, ESC, then a probe",
	     "4 error lines, connection stays", k_control, 1, NULL, NULL),
	KIND("badutf8", "5 lines of invalid UTF-8, then a probe", "5 error lines, connection stays",
	     k_badutf8, 1, NULL, NULL),
	KIND("slowloris", "an HTTP head, one header every 500 ms, never finished",
	     "408 at --handshake-timeout", k_slowloris, 16, NULL, NULL),
	KIND("bighead", "an HTTP head past --max-http-header", "431", k_bighead, 1, NULL, NULL),
	KIND("wsmask", "a WebSocket frame without a mask", "close 1002", k_wsmask, 1, NULL, NULL),
	KIND("wsutf8", "WebSocket text with bad UTF-8 (whole, or split across fragments)",
	     "close 1007", k_wsutf8, 1, "fragmented", NULL),
	KIND("rst", "RST in the middle of a line or of a WebSocket frame",
	     "partial line never delivered", k_rst, 2, "WebSocket", NULL),
	KIND("pings", "a WebSocket user sends 2,000 pings without reading",
	     "flooding, then disconnected", k_pings, 1, NULL, NULL),
	KIND("flooder", "1,000 lines in one burst", "slow down, then disconnected", k_flooder, 1,
	     NULL, NULL),
};
#define NKINDS (sizeof(kinds) / sizeof(kinds[0]))

/* ---- the observer ------------------------------------------------------------------------- */

static atomic_bool stop_all;
static _Atomic uint64_t obs_lines, obs_bad_text, obs_partial;
static atomic_bool obs_lost;

static void *observer_main(void *arg)
{
	(void)arg;
	int fd = dial(0);
	if (fd < 0) {
		atomic_store(&obs_lost, true);
		return NULL;
	}
	struct rd r = { .fd = fd };
	while (!atomic_load(&stop_all)) {
		char *line;
		int n = rd_line(&r, &line, now_ns() + 200 * MS);
		if (n == RD_TIMEOUT)
			continue;
		if (n < 0) {
			atomic_store(&obs_lost, true);
			break;
		}
		atomic_fetch_add(&obs_lines, 1);
		if (!text_ok((unsigned char *)line, (size_t)n))
			atomic_fetch_add(&obs_bad_text, 1);
		if (strstr(line, "chaos-rst-partial") != NULL)
			atomic_fetch_add(&obs_partial, 1);
	}
	close(fd);
	return NULL;
}

/* ---- soak ---------------------------------------------------------------------------------- */

struct runner {
	struct kind *k;
	uint64_t seed;
	int64_t deadline;
};

static void *runner_main(void *arg)
{
	struct runner *ru = arg;
	/* Paced: at most 100 churn or 50 other attempts a second per thread. A soak is about
	 * variety over time, not rate, and this keeps TIME_WAIT and the box's CPU in bounds. */
	int64_t period = (ru->k->run == k_churn ? 10 : 20) * MS;
	while (!atomic_load(&stop_all) && now_ns() < ru->deadline) {
		int64_t t0 = now_ns();
		atomic_fetch_add(&ru->k->tries, 1);
		ru->k->run(ru->k, &ru->seed, ru->deadline);
		int64_t spent = now_ns() - t0;
		if (spent < period)
			sleep_ms((period - spent) / MS);
	}
	return NULL;
}

static bool kind_selected(const char *name)
{
	if (opt.kinds == NULL)
		return true;
	size_t n = strlen(name);
	for (const char *p = opt.kinds; (p = strstr(p, name)) != NULL; p += n)
		if ((p == opt.kinds || p[-1] == ',') && (p[n] == 0 || p[n] == ','))
			return true;
	return false;
}

/* Prints one kind's row (and its first failures); returns whether it passed. */
static bool soak_report_kind(const struct kind *k)
{
	char notes[160] = "";
	size_t m = 0;
	if (k->note_a_name != NULL)
		m += (size_t)snprintf(notes, sizeof(notes), "%s %llu", k->note_a_name,
				      (unsigned long long)k->note_a);
	if (k->note_b_name != NULL)
		snprintf(notes + m, sizeof(notes) - m, ", %s %llu", k->note_b_name,
			 (unsigned long long)k->note_b);
	unsigned long long tries = k->tries, handled = k->handled, failed = k->failed;
	if (opt.markdown)
		printf("| %s | %s | %s | %llu | %llu | %llu | %s |\n", k->name, k->does, k->rule,
		       tries, handled, failed, notes);
	else
		printf("%-10s %9llu %9llu %7llu  %s\n", k->name, tries, handled, failed, notes);
	for (int f = 0; f < k->nfails; f++)
		fprintf(stderr, "chaos: %s: %s\n", k->name, k->fails[f]);
	return failed == 0 && tries > 0;
}

/* Runs every selected kind's threads until the deadline; returns 2 if they cannot start. */
static int soak_run_kinds(int64_t deadline)
{
	size_t nr = 0;
	for (size_t i = 0; i < NKINDS; i++) {
		kinds[i].on = kind_selected(kinds[i].name);
		pthread_mutex_init(&kinds[i].lock, NULL);
		if (kinds[i].on)
			nr += (size_t)kinds[i].threads;
	}
	struct runner *rs = calloc(nr, sizeof(*rs));
	pthread_t *th = calloc(nr, sizeof(*th));
	size_t started = 0;
	for (size_t i = 0; rs != NULL && th != NULL && i < NKINDS; i++)
		for (int t = 0; kinds[i].on && t < kinds[i].threads; t++) {
			uint64_t seed = 0x9e3779b97f4a7c15ULL * (started + 1) ^ (uint64_t)now_ns();
			rs[started] = (struct runner){ &kinds[i], seed, deadline };
			if (pthread_create(&th[started], NULL, runner_main, &rs[started]) != 0)
				break;
			started++;
		}
	for (size_t j = 0; j < started; j++)
		pthread_join(th[j], NULL);
	free(rs);
	free(th);
	return started == nr ? 0 : 2;
}

static int run_soak(void)
{
	pthread_t obs;
	if (pthread_create(&obs, NULL, observer_main, NULL) != 0)
		return 2;
	sleep_ms(300);
	int rc = soak_run_kinds(now_ns() + (int64_t)(opt.duration * 1e9));
	sleep_ms(500); /* let the observer see the last lines */
	atomic_store(&stop_all, true);
	pthread_join(obs, NULL);
	if (rc != 0) {
		fprintf(stderr, "chaos: cannot start the client threads\n");
		return rc;
	}

	bool bad = false;
	if (opt.markdown)
		printf("| kind | what it does | rule | attempts | handled | failed | notes |\n"
		       "|---|---|---|---:|---:|---:|---|\n");
	else
		printf("%-10s %9s %9s %7s  %s\n", "kind", "attempts", "handled", "failed", "notes");
	for (size_t i = 0; i < NKINDS; i++)
		if (kinds[i].on && !soak_report_kind(&kinds[i]))
			bad = true;
	bool lost = atomic_load(&obs_lost);
	printf("observer: %llu lines, %llu with invalid text, %llu pieces of reset lines, %s\n",
	       (unsigned long long)obs_lines, (unsigned long long)obs_bad_text,
	       (unsigned long long)obs_partial, lost ? "DISCONNECTED" : "stayed connected");
	if (obs_bad_text || obs_partial || lost)
		bad = true;
	printf("chaos: %s\n", bad ? "FAILED" : "every misbehaviour handled by its rule");
	return bad ? 1 : 0;
}

/* ---- exhaust -------------------------------------------------------------------------------- */

enum hog_state { HOG_PENDING, HOG_WELCOMED, HOG_REFUSED, HOG_FAILED, HOG_CLOSED };

struct hog {
	int fd;
	enum hog_state st;
	bool spoke; /* sent its first line, so the welcome need not wait for the sniffing pause */
	size_t len;
	char buf[512];
};

/* Non-blocking connect; the kernel completes it even while chatd cannot accept. */
static int dial_nb(void)
{
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return -errno;
	struct sockaddr_in a = server_addr();
	if (connect(fd, (struct sockaddr *)&a, sizeof(a)) < 0 && errno != EINPROGRESS) {
		int e = errno;
		close(fd);
		return -e;
	}
	return fd;
}

/* Reads what a hog has been sent; moves it to WELCOMED or REFUSED. */
static void hog_poll(struct hog *h)
{
	if (h->st != HOG_PENDING)
		return;
	if (!h->spoke && send(h->fd, "/rooms\n", 7, MSG_NOSIGNAL | MSG_DONTWAIT) == 7)
		h->spoke = true;
	for (;;) {
		ssize_t n = recv(h->fd, h->buf + h->len, sizeof(h->buf) - 1 - h->len, MSG_DONTWAIT);
		if (n > 0) {
			h->len += (size_t)n;
			h->buf[h->len] = 0;
			if (strstr(h->buf, "* Welcome") != NULL)
				h->st = HOG_WELCOMED;
			else if (strstr(h->buf, "* error: server full") != NULL)
				h->st = HOG_REFUSED;
			if (h->st != HOG_PENDING || h->len == sizeof(h->buf) - 1)
				return;
			continue;
		}
		if (n == 0 || (errno != EAGAIN && errno != EINTR)) {
			h->st = HOG_FAILED;
			return;
		}
		return;
	}
}

/* The server's CPU use, in cores, from cpu0 seconds at t0 until now. */
static double server_cores_since(double cpu0, int64_t t0)
{
	return (proc_cpu_seconds(opt.server_pid) - cpu0) / ((double)(now_ns() - t0) / 1e9);
}

/* Phase 1: opens hogs[0..n) and waits 3 s for each to be admitted, refused or left waiting. */
static void exhaust_fill(struct hog *hogs, int n, int counts[HOG_CLOSED + 1])
{
	for (int i = 0; i < n; i++) {
		hogs[i].fd = dial_nb();
		hogs[i].st = hogs[i].fd < 0 ? HOG_FAILED : HOG_PENDING;
		if (i % 50 == 49)
			sleep_ms(20);
	}
	int64_t settle = now_ns() + 3000 * MS;
	while (now_ns() < settle) {
		for (int i = 0; i < n; i++)
			hog_poll(&hogs[i]);
		sleep_ms(50);
	}
	for (int i = 0; i < n; i++)
		counts[hogs[i].st]++;
}

/* Phase 2: while full, 100 new connection attempts a second for 5 s, each reset after 1 s.
 * Returns the attempts made. */
static int exhaust_knock(void)
{
	enum { KEEP = 100 };
	int knock[KEEP], nk = 0, attempts = 0;
	for (int64_t until = now_ns() + 5000 * MS; now_ns() < until; sleep_ms(10)) {
		int fd = dial_nb();
		attempts++;
		if (nk == KEEP) { /* the oldest, a second old, goes */
			close_rst(knock[0]);
			memmove(knock, knock + 1, sizeof(knock[0]) * (KEEP - 1));
			nk--;
		}
		if (fd >= 0)
			knock[nk++] = fd;
	}
	for (int i = 0; i < nk; i++)
		close_rst(knock[i]);
	return attempts;
}

struct admission {
	int freed, admitted, retries;
	double first_s, all_s; /* after the leavers closed; -1 if it did not happen */
};

/* Phase 3: closes opt.free_n admitted hogs, opens as many new connections (hogs[opt.hog..]),
 * and times how fast waiting or new users get in. A new one refused because it came before
 * the server had taken the leavers off retries, as a user would. */
static struct admission exhaust_free(struct hog *hogs, int total)
{
	struct admission a = { .first_s = -1, .all_s = -1 };
	for (int i = 0; i < opt.hog && a.freed < opt.free_n; i++)
		if (hogs[i].st == HOG_WELCOMED) {
			close(hogs[i].fd);
			hogs[i].st = HOG_CLOSED;
			a.freed++;
		}
	int64_t t0 = now_ns();
	for (int i = opt.hog; i < total; i++) {
		hogs[i].fd = dial_nb();
		hogs[i].st = hogs[i].fd < 0 ? HOG_FAILED : HOG_PENDING;
	}
	for (int64_t end = t0 + 5000 * MS; now_ns() < end && a.admitted < a.freed; sleep_ms(5)) {
		for (int i = 0; i < total; i++) {
			if (hogs[i].st != HOG_PENDING)
				continue;
			hog_poll(&hogs[i]);
			if (i >= opt.hog &&
			    (hogs[i].st == HOG_REFUSED || hogs[i].st == HOG_FAILED)) {
				close(hogs[i].fd);
				hogs[i] = (struct hog){ .fd = dial_nb(), .st = HOG_PENDING };
				a.retries++;
				continue;
			}
			if (hogs[i].st != HOG_WELCOMED)
				continue;
			double t = (double)(now_ns() - t0) / 1e9;
			if (a.first_s < 0)
				a.first_s = t;
			if (++a.admitted == a.freed)
				a.all_s = t;
		}
	}
	return a;
}

static int run_exhaust(void)
{
	if (opt.server_pid <= 0) {
		fprintf(stderr, "chaos exhaust: --server-pid is required\n");
		return 2;
	}
	int total = opt.hog + opt.free_n;
	struct hog *hogs = calloc((size_t)total, sizeof(*hogs));
	if (hogs == NULL)
		return 2;
	int fds_before = proc_fd_count(opt.server_pid);
	double cpu0 = proc_cpu_seconds(opt.server_pid);
	int64_t t0 = now_ns();
	sleep_ms(3000);
	double cores_before = server_cores_since(cpu0, t0);

	int counts[HOG_CLOSED + 1] = { 0 };
	exhaust_fill(hogs, opt.hog, counts);
	printf("exhaust: server fds %d before, %d full; %d connections: %d admitted, %d refused "
	       "(server full), %d waiting in the backlog, %d failed\n",
	       fds_before, proc_fd_count(opt.server_pid), opt.hog, counts[HOG_WELCOMED],
	       counts[HOG_REFUSED], counts[HOG_PENDING], counts[HOG_FAILED]);

	cpu0 = proc_cpu_seconds(opt.server_pid);
	t0 = now_ns();
	int attempts = exhaust_knock();
	double cores_full = server_cores_since(cpu0, t0);
	printf("exhaust: server CPU %.1f%% of one core before (the other users chatting), %.1f%% "
	       "while full with %d more connection attempts in 5 s (bound: %.0f%% more)\n",
	       cores_before * 100, cores_full * 100, attempts, opt.max_cpu);

	struct admission a = exhaust_free(hogs, total);
	printf("exhaust: closed %d admitted users; %d waiting or new users admitted, first after "
	       "%.3f s, all %d after %.3f s (%d new ones refused at first and retried)\n",
	       a.freed, a.admitted, a.first_s, a.freed, a.all_s, a.retries);
	for (int i = 0; i < total; i++)
		if (hogs[i].fd >= 0 && hogs[i].st != HOG_CLOSED)
			close(hogs[i].fd);
	free(hogs);

	bool bad = false;
	if (counts[HOG_REFUSED] + counts[HOG_PENDING] == 0) {
		fprintf(stderr, "chaos exhaust: never got past the limit (more --hog)\n");
		bad = true;
	}
	/* A busy loop shows as a whole core; the other users' chatting is not the point. */
	if ((cores_full - cores_before) * 100 > opt.max_cpu) {
		fprintf(stderr,
			"chaos exhaust: CPU %.1f%% while full is more than %.0f%% above %.1f%%\n",
			cores_full * 100, opt.max_cpu, cores_before * 100);
		bad = true;
	}
	if (a.freed == 0 || a.admitted < a.freed) {
		fprintf(stderr, "chaos exhaust: %d of %d freed places taken again within 5 s\n",
			a.admitted, a.freed);
		bad = true;
	}
	printf("chaos exhaust: %s\n", bad ? "FAILED" : "ok");
	return bad ? 1 : 0;
}

/* ---- options ----------------------------------------------------------------------------- */

static void usage(FILE *f)
{
	fprintf(f, "usage: chaos soak [options]      misbehaving clients for -d seconds\n"
		   "       chaos exhaust [options]   flood a chatd under a low fd limit\n"
		   "  --host ADDR             loopback address of chatd (default 127.0.0.1)\n"
		   "  --port P                (default 2020)\n"
		   "soak:\n"
		   "  -d SECONDS              how long (default 30)\n"
		   "  --kinds a,b,...         only these kinds (default all):\n"
		   "                          ");
	for (size_t i = 0; i < NKINDS; i++)
		fprintf(f, "%s%s", kinds[i].name, i + 1 < NKINDS ? "," : "\n");
	fprintf(f, "  --max-line N            the server's --max-line (default 4096)\n"
		   "  --max-http-header N     the server's --max-http-header (default 8192)\n"
		   "  --handshake-timeout S   the server's --handshake-timeout (default 10)\n"
		   "  --markdown              print the table as Markdown\n"
		   "exhaust:\n"
		   "  --server-pid PID        chatd's pid (CPU and fd readings)\n"
		   "  --hog N                 connections to open (default 400)\n"
		   "  --free K                admitted ones to close afterwards (default 50)\n"
		   "  --max-cpu PCT           CPU while full may exceed CPU before by this much\n"
		   "                          (percent of a core; default 30)\n");
}

static bool host_is_loopback(const char *h)
{
	struct in_addr a;
	return inet_pton(AF_INET, h, &a) == 1 && (ntohl(a.s_addr) >> 24) == 127;
}

int main(int argc, char **argv)
{
	bool help = argc >= 2 && (strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0);
	if (argc < 2 || (strcmp(argv[1], "soak") != 0 && strcmp(argv[1], "exhaust") != 0)) {
		usage(help ? stdout : stderr);
		return help ? 0 : 2;
	}
	bool soak = strcmp(argv[1], "soak") == 0;
	for (int i = 2; i < argc; i++) {
		const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
		if (!strcmp(a, "--markdown")) {
			opt.markdown = true;
			continue;
		}
		if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
			usage(stdout);
			return 0;
		}
		if (v == NULL) {
			fprintf(stderr, "chaos: %s needs a value (or is unknown)\n", a);
			return 2;
		}
		i++;
		if (!strcmp(a, "--host"))
			opt.host = v;
		else if (!strcmp(a, "--port"))
			opt.port = atoi(v);
		else if (!strcmp(a, "-d"))
			opt.duration = atof(v);
		else if (!strcmp(a, "--kinds"))
			opt.kinds = v;
		else if (!strcmp(a, "--max-line"))
			opt.max_line = atoi(v);
		else if (!strcmp(a, "--max-http-header"))
			opt.max_header = atoi(v);
		else if (!strcmp(a, "--handshake-timeout"))
			opt.handshake_timeout_s = atoi(v);
		else if (!strcmp(a, "--server-pid"))
			opt.server_pid = atoi(v);
		else if (!strcmp(a, "--hog"))
			opt.hog = atoi(v);
		else if (!strcmp(a, "--free"))
			opt.free_n = atoi(v);
		else if (!strcmp(a, "--max-cpu"))
			opt.max_cpu = atof(v);
		else {
			fprintf(stderr, "chaos: unknown option %s\n", a);
			return 2;
		}
	}
	if (!host_is_loopback(opt.host)) {
		fprintf(stderr, "chaos: --host must be a loopback address (127.0.0.0/8)\n");
		return 2;
	}
	if (opt.port <= 0 || opt.port > 65535 || opt.duration <= 0 || opt.max_line <= 0 ||
	    opt.hog <= 0 || opt.free_n <= 0) {
		fprintf(stderr, "chaos: bad option value\n");
		return 2;
	}
	(void)signal(SIGPIPE, SIG_IGN);
	return soak ? run_soak() : run_exhaust();
}
