/*
 * oom_client.c - the scenario's clients (see oom.h): blocking loopback sockets with poll
 * timeouts, a line client, a small RFC 6455 client (masked frames) and a one-shot HTTP
 * request. Nothing here asserts: every failure is a return value the scenario judges, since
 * under an injected allocation failure a missing line may be exactly what should happen.
 */
#include "oom.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define OOM_TEXT "out of memory"

int64_t oom_now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void oom_sleep_ms(int ms)
{
	struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000 };
	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

static int dial(uint16_t port)
{
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons(port) };
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (connect(fd, (struct sockaddr *)&a, sizeof(a)) < 0) {
		close(fd);
		return -1;
	}
	return fd;
}

static struct peer *peer_new(const char *label, int fd, bool ws)
{
	struct peer *p = calloc(1, sizeof(*p));
	if (p == NULL) {
		close(fd);
		return NULL;
	}
	snprintf(p->label, sizeof(p->label), "%s", label);
	p->fd = fd;
	p->ws = ws;
	return p;
}

struct peer *peer_line(const char *label, uint16_t port)
{
	int fd = dial(port);
	return fd < 0 ? NULL : peer_new(label, fd, false);
}

void peer_free(struct peer *p)
{
	if (p == NULL)
		return;
	close(p->fd);
	free(p);
}

bool peer_send_raw(struct peer *p, const void *data, size_t n)
{
	const char *s = data;
	while (n > 0 && !p->closed && !p->unwritable) {
		ssize_t w = send(p->fd, s, n, MSG_NOSIGNAL);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0) {
			p->unwritable = true; /* what the server sent before is still read */
			return false;
		}
		s += w;
		n -= (size_t)w;
	}
	return !p->closed && !p->unwritable;
}

bool peer_ws_frame(struct peer *p, int fin_op, const void *payload, size_t n)
{
	unsigned char f[8 + 4 + 4096];
	if (n > 4096)
		return false;
	size_t at = 0;
	f[at++] = (unsigned char)fin_op;
	if (n < 126) {
		f[at++] = (unsigned char)(0x80 | n);
	} else {
		f[at++] = 0x80 | 126;
		f[at++] = (unsigned char)(n >> 8);
		f[at++] = (unsigned char)n;
	}
	static const unsigned char key[4] = { 0x37, 0xfa, 0x21, 0x3d };
	memcpy(f + at, key, 4);
	at += 4;
	for (size_t i = 0; i < n; i++)
		f[at + i] = ((const unsigned char *)payload)[i] ^ key[i & 3];
	return peer_send_raw(p, f, at + n);
}

bool peer_say(struct peer *p, const char *text)
{
	size_t n = strlen(text);
	if (p->ws)
		return peer_ws_frame(p, 0x81, text, n);
	char line[4200];
	if (n + 2 > sizeof(line))
		return false;
	snprintf(line, sizeof(line), "%s\n", text);
	return peer_send_raw(p, line, n + 1);
}

void peer_reset(struct peer *p)
{
	struct linger lg = { .l_onoff = 1, .l_linger = 0 };
	(void)setsockopt(p->fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
	close(p->fd);
	p->fd = -1;
	p->closed = true;
}

/* Waits up to the deadline for more bytes. Returns 1 on data, 0 when gone, -1 on timeout. */
static int fill(struct peer *p, int64_t deadline)
{
	if (p->closed)
		return 0;
	if (p->len == sizeof(p->buf)) { /* a line longer than the buffer: treat as broken */
		p->closed = true;
		return 0;
	}
	for (;;) {
		int64_t left = deadline - oom_now_ms();
		struct pollfd pfd = { .fd = p->fd, .events = POLLIN };
		int r = poll(&pfd, 1, left > 0 ? (int)left : 0);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return -1;
		ssize_t n = recv(p->fd, p->buf + p->len, sizeof(p->buf) - p->len, 0);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			p->closed = true;
			return 0;
		}
		p->len += (size_t)n;
		return 1;
	}
}

static void consume(struct peer *p, size_t n)
{
	memmove(p->buf, p->buf + n, p->len - n);
	p->len -= n;
}

static void copy_out(char *out, size_t cap, const char *s, size_t n)
{
	size_t k = n < cap - 1 ? n : cap - 1;
	memcpy(out, s, k);
	out[k] = '\0';
}

/* One whole frame at the front of the buffer: its opcode, payload and length, or -1. */
static int ws_frame_at(const struct peer *p, size_t *off, size_t *n)
{
	if (p->len < 2)
		return -1;
	const unsigned char *b = (const unsigned char *)p->buf;
	size_t len = b[1] & 127, at = 2;
	if (len == 127)
		return -2; /* the server never sends a 64-bit length to these clients */
	if (len == 126) {
		if (p->len < 4)
			return -1;
		len = (size_t)b[2] << 8 | b[3];
		at = 4;
	}
	if (p->len < at + len)
		return -1;
	*off = at;
	*n = len;
	return b[0] & 15;
}

/* A whole frame: a text frame becomes the line (1); a close frame ends the connection (0); a
 * pong is noted and anything else skipped (2). -1: no whole frame yet. */
static int ws_take(struct peer *p, char *out, size_t cap)
{
	size_t off, n;
	int op = ws_frame_at(p, &off, &n);
	if (op == -2) {
		p->closed = true;
		return 0;
	}
	if (op < 0)
		return -1;
	const char *payload = p->buf + off;
	int got = 2;
	if (op == 1) {
		copy_out(out, cap, payload, n);
		got = 1;
	} else if (op == 0xA) {
		copy_out(p->pong, sizeof(p->pong), payload, n);
	} else if (op == 8) {
		char why[128];
		copy_out(why, sizeof(why), n > 2 ? payload + 2 : "", n > 2 ? n - 2 : 0);
		if (strstr(why, OOM_TEXT) != NULL)
			p->told = true;
		p->closed = true;
		got = 0;
	}
	consume(p, off + n);
	return got;
}

static int line_take(struct peer *p, char *out, size_t cap)
{
	char *nl = memchr(p->buf, '\n', p->len);
	if (nl == NULL)
		return -1;
	size_t n = (size_t)(nl - p->buf);
	copy_out(out, cap, p->buf, n);
	consume(p, n + 1);
	return 1;
}

int peer_read_line(struct peer *p, char *out, size_t cap, int timeout_ms)
{
	int64_t deadline = oom_now_ms() + timeout_ms;
	for (;;) {
		int got = p->ws ? ws_take(p, out, cap) : line_take(p, out, cap);
		if (got == 1 && strstr(out, OOM_TEXT) != NULL)
			p->told = true;
		if (got == 2)
			continue; /* not a line: look at the next frame */
		if (got >= 0)
			return got;
		int r = fill(p, deadline);
		if (r <= 0)
			return r;
	}
}

bool peer_wait_pong(struct peer *p, int timeout_ms)
{
	int64_t deadline = oom_now_ms() + timeout_ms;
	p->pong[0] = '\0';
	char line[4096];
	for (;;) {
		int got = ws_take(p, line, sizeof(line));
		if (p->pong[0] != '\0')
			return true;
		if (got == 0)
			return false;
		if (got == 1 && strstr(line, OOM_TEXT) != NULL)
			p->told = true;
		if (got >= 1)
			continue;
		if (fill(p, deadline) <= 0)
			return false;
	}
}

struct peer *peer_ws(const char *label, uint16_t port)
{
	int fd = dial(port);
	if (fd < 0)
		return NULL;
	struct peer *p = peer_new(label, fd, true);
	if (p == NULL)
		return NULL;
	static const char req[] =
	    "GET /ws HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\n"
	    "Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
	    "Sec-WebSocket-Version: 13\r\n\r\n";
	if (!peer_send_raw(p, req, sizeof(req) - 1))
		return p; /* closed: the scenario sees it */
	int64_t deadline = oom_now_ms() + 3000;
	for (;;) {
		char *end = memmem(p->buf, p->len, "\r\n\r\n", 4);
		if (end != NULL) {
			if (strncmp(p->buf, "HTTP/1.1 101 ", 13) != 0)
				p->closed = true; /* refused */
			consume(p, (size_t)(end + 4 - p->buf));
			return p;
		}
		if (fill(p, deadline) <= 0) {
			p->closed = true;
			return p;
		}
	}
}

int http_request(uint16_t port, const char *const *pieces, size_t npieces, int gap_ms,
		 int timeout_ms, char *answer, size_t cap)
{
	answer[0] = '\0';
	int fd = dial(port);
	if (fd < 0)
		return -1;
	for (size_t i = 0; i < npieces; i++) {
		if (i > 0)
			oom_sleep_ms(gap_ms);
		(void)!send(fd, pieces[i], strlen(pieces[i]), MSG_NOSIGNAL);
	}
	size_t len = 0;
	int64_t deadline = oom_now_ms() + timeout_ms;
	for (;;) {
		int64_t left = deadline - oom_now_ms();
		struct pollfd pfd = { .fd = fd, .events = POLLIN };
		if (left <= 0 || poll(&pfd, 1, (int)left) != 1)
			break; /* no end: the caller sees no status or a late one */
		char chunk[16384];
		ssize_t n = recv(fd, chunk, sizeof(chunk), 0);
		if (n <= 0)
			break;
		size_t k = (size_t)n < cap - 1 - len ? (size_t)n : cap - 1 - len;
		memcpy(answer + len, chunk, k);
		len += k;
		answer[len] = '\0';
	}
	close(fd);
	int status;
	if (sscanf(answer, "HTTP/1.1 %d", &status) != 1)
		status = 0;
	return status;
}
