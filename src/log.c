/*
 * log.c - the logger: callers format a line and append it to a bounded ring under a mutex;
 * one logger thread writes the ring to stderr. The mutex is held only for a memcpy, never
 * across I/O, and no chat message ever logs on its per-message path, so this lock is not on
 * the hot path. When the ring is full the line is dropped and counted (a worker never waits
 * for stderr); the logger reports the number of dropped lines.
 *
 * A line is text or, with --log-format json, one JSON object (log.h): the caller's message is
 * formatted first, then either copied after the text prefix or JSON-escaped into the object,
 * which is cut on a character boundary so that it stays valid JSON however long the message.
 */
#include "log.h"
#include "common.h"

#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define LOG_RING_SIZE ((size_t)256 * 1024)
#define LOG_LINE_MAX  1024 /* a text line; also a message before it is escaped */
#define LOG_JSON_MAX  2048 /* a JSON line: escaping makes the message longer */

static const char *const level_names[] = { "DEBUG", "INFO", "WARN", "ERROR" };
static const char *const json_level_names[] = { "debug", "info", "warn", "error" };

static atomic_int log_min_level = LOG_INFO;          /* read by every thread, relaxed: a hint */
static atomic_int log_line_format = LOG_FORMAT_TEXT; /* the same */

static struct {
	pthread_mutex_t lock;
	pthread_cond_t nonempty;
	pthread_t thread;
	bool running;     /* logger thread started; guarded by lock */
	bool stopping;    /* guarded by lock */
	size_t head;      /* next byte to write out; guarded by lock */
	size_t len;       /* bytes in the ring; guarded by lock */
	uint64_t dropped; /* lines dropped since last report; guarded by lock */
	char ring[LOG_RING_SIZE];
} logger = { .lock = PTHREAD_MUTEX_INITIALIZER, .nonempty = PTHREAD_COND_INITIALIZER };

int64_t clock_now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int64_t clock_wall_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int64_t clock_now_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

int log_parse_level(const char *name)
{
	static const char *const names[] = { "debug", "info", "warn", "error", "off" };
	for (size_t i = 0; i < ARRAY_LEN(names); i++)
		if (strcmp(name, names[i]) == 0)
			return (int)i;
	return -1;
}

void log_set_level(enum log_level level)
{
	atomic_store_explicit(&log_min_level, (int)level, memory_order_relaxed);
}

int log_enabled(enum log_level level)
{
	return (int)level >= atomic_load_explicit(&log_min_level, memory_order_relaxed);
}

int log_parse_format(const char *name)
{
	if (strcmp(name, "text") == 0)
		return LOG_FORMAT_TEXT;
	if (strcmp(name, "json") == 0)
		return LOG_FORMAT_JSON;
	return -1;
}

void log_set_format(enum log_format format)
{
	atomic_store_explicit(&log_line_format, (int)format, memory_order_relaxed);
}

/* The length of the UTF-8 sequence at p[0..n), or 0 when it is not a valid one (overlong, a
 * surrogate, past U+10FFFF, cut short, a stray continuation byte). */
static size_t utf8_sequence(const unsigned char *p, size_t n)
{
	size_t len;
	uint32_t cp, min;
	if (p[0] < 0x80)
		return 1;
	if (p[0] >= 0xc2 && p[0] <= 0xdf) {
		len = 2;
		cp = p[0] & 0x1fu;
		min = 0x80;
	} else if ((p[0] & 0xf0) == 0xe0) {
		len = 3;
		cp = p[0] & 0x0fu;
		min = 0x800;
	} else if (p[0] >= 0xf0 && p[0] <= 0xf4) {
		len = 4;
		cp = p[0] & 0x07u;
		min = 0x10000;
	} else {
		return 0;
	}
	if (n < len)
		return 0;
	for (size_t i = 1; i < len; i++) {
		if ((p[i] & 0xc0) != 0x80)
			return 0;
		cp = cp << 6 | (p[i] & 0x3fu);
	}
	if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
		return 0;
	return len;
}

/* The letter of \n, \t or \r's short escape. */
static char json_short_escape(unsigned char c)
{
	if (c == '\n')
		return 'n';
	return c == '\t' ? 't' : 'r';
}

/*
 * Appends msg to out[*n..limit) as the inside of a JSON string: '"' and '\' escaped, control
 * characters and DEL as \n, \t, \r or \u00XX, a byte that is not UTF-8 as \ufffd (so the
 * line is valid UTF-8 whatever the message held). Stops before a character that does not fit.
 */
static void json_escape(char *out, size_t *n, size_t limit, const char *msg)
{
	const unsigned char *p = (const unsigned char *)msg;
	size_t left = strlen(msg);
	while (left > 0) {
		char esc[8];
		const char *piece = esc;
		size_t take = 1, len;
		if (*p == '"' || *p == '\\') {
			len = (size_t)snprintf(esc, sizeof(esc), "\\%c", (char)*p);
		} else if (*p == '\n' || *p == '\t' || *p == '\r') {
			len = (size_t)snprintf(esc, sizeof(esc), "\\%c", json_short_escape(*p));
		} else if (*p < 0x20 || *p == 0x7f) {
			len = (size_t)snprintf(esc, sizeof(esc), "\\u%04x", *p);
		} else if ((take = utf8_sequence(p, left)) == 0) {
			take = 1;
			piece = "\\ufffd";
			len = 6;
		} else {
			piece = (const char *)p;
			len = take;
		}
		if (len > limit - *n)
			return;
		memcpy(out + *n, piece, len);
		*n += len;
		p += take;
		left -= take;
	}
}

/* "2026-11-24T03:42:55.357Z" (UTC, milliseconds) into out[32]. */
static void log_stamp(char *out, size_t cap)
{
	struct timespec ts;
	struct tm tm;
	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	size_t n = strftime(out, cap, "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(out + n, cap - n, ".%03ldZ", ts.tv_nsec / 1000000);
}

/* One text line: "STAMP LEVEL w2 c17 message\n", cut to LOG_LINE_MAX. Returns its length. */
static size_t format_text(char *line, const char *stamp, enum log_level level, int worker,
			  uint64_t conn, const char *msg)
{
	char who[48];
	if (worker < 0)
		snprintf(who, sizeof(who), "main");
	else
		snprintf(who, sizeof(who), "w%d", worker);
	if (conn != 0) {
		size_t w = strlen(who);
		snprintf(who + w, sizeof(who) - w, " c%llu", (unsigned long long)conn);
	}
	int k =
	    snprintf(line, LOG_LINE_MAX - 1, "%s %-5s %s %s", stamp, level_names[level], who, msg);
	size_t n = k < 0 ? 0 : (size_t)k < LOG_LINE_MAX - 1 ? (size_t)k : LOG_LINE_MAX - 2;
	line[n++] = '\n';
	return n;
}

/* One JSON line (log.h), at most LOG_JSON_MAX bytes. Returns its length. */
static size_t format_json(char *line, const char *stamp, enum log_level level, int worker,
			  uint64_t conn, const char *msg)
{
	int k = snprintf(line, LOG_JSON_MAX, "{\"time\":\"%s\",\"level\":\"%s\"", stamp,
			 json_level_names[level]);
	size_t n = (size_t)k;
	if (worker >= 0)
		n += (size_t)snprintf(line + n, LOG_JSON_MAX - n, ",\"worker\":%d", worker);
	if (conn != 0)
		n += (size_t)snprintf(line + n, LOG_JSON_MAX - n, ",\"conn\":%llu",
				      (unsigned long long)conn);
	n += (size_t)snprintf(line + n, LOG_JSON_MAX - n, ",\"msg\":\"");
	json_escape(line, &n, LOG_JSON_MAX - 3, msg); /* room for the closing "}\n */
	line[n++] = '"';
	line[n++] = '}';
	line[n++] = '\n';
	return n;
}

/* The line for msg in the current format into line[LOG_JSON_MAX]; returns its length. */
static size_t format_line(char *line, enum log_level level, int worker, uint64_t conn,
			  const char *msg)
{
	char stamp[32];
	log_stamp(stamp, sizeof(stamp));
	if (atomic_load_explicit(&log_line_format, memory_order_relaxed) == LOG_FORMAT_JSON)
		return format_json(line, stamp, level, worker, conn, msg);
	return format_text(line, stamp, level, worker, conn, msg);
}

static void write_all(const char *p, size_t n)
{
	while (n > 0) {
		ssize_t w = write(STDERR_FILENO, p, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return; /* stderr is gone: nothing better to do with a log line */
		p += w;
		n -= (size_t)w;
	}
}

/* Appends one line to the ring; caller holds the lock. Returns false when it does not fit. */
static bool ring_append(const char *line, size_t n)
{
	if (n > LOG_RING_SIZE - logger.len)
		return false;
	size_t tail = (logger.head + logger.len) % LOG_RING_SIZE;
	size_t first = n < LOG_RING_SIZE - tail ? n : LOG_RING_SIZE - tail;
	memcpy(logger.ring + tail, line, first);
	memcpy(logger.ring, line + first, n - first);
	logger.len += n;
	return true;
}

static void *logger_main(void *arg)
{
	(void)arg;
	static char out[LOG_RING_SIZE];
	pthread_mutex_lock(&logger.lock);
	for (;;) {
		while (logger.len == 0 && logger.dropped == 0 && !logger.stopping)
			pthread_cond_wait(&logger.nonempty, &logger.lock);
		size_t n = logger.len;
		size_t first = n < LOG_RING_SIZE - logger.head ? n : LOG_RING_SIZE - logger.head;
		memcpy(out, logger.ring + logger.head, first);
		memcpy(out + first, logger.ring, n - first);
		logger.head = (logger.head + n) % LOG_RING_SIZE;
		logger.len = 0;
		uint64_t dropped = logger.dropped;
		logger.dropped = 0;
		bool stop = logger.stopping;
		pthread_mutex_unlock(&logger.lock);

		write_all(out, n);
		if (dropped > 0) {
			char note[96], line[LOG_JSON_MAX];
			snprintf(note, sizeof(note), "log: %llu lines dropped (stderr too slow)",
				 (unsigned long long)dropped);
			write_all(line, format_line(line, LOG_WARN, -1, 0, note));
		}
		pthread_mutex_lock(&logger.lock);
		if (stop && logger.len == 0)
			break;
	}
	pthread_mutex_unlock(&logger.lock);
	return NULL;
}

int log_start(void)
{
	pthread_mutex_lock(&logger.lock);
	int rc = 0;
	if (!logger.running) {
		logger.stopping = false;
		rc = -pthread_create(&logger.thread, NULL, logger_main, NULL);
		logger.running = rc == 0;
	}
	pthread_mutex_unlock(&logger.lock);
	return rc;
}

void log_stop(void)
{
	pthread_mutex_lock(&logger.lock);
	if (!logger.running) {
		pthread_mutex_unlock(&logger.lock);
		return;
	}
	logger.stopping = true;
	pthread_cond_signal(&logger.nonempty);
	pthread_mutex_unlock(&logger.lock);
	pthread_join(logger.thread, NULL);
	pthread_mutex_lock(&logger.lock);
	logger.running = false;
	pthread_mutex_unlock(&logger.lock);
}

void log_write(enum log_level level, int worker, uint64_t conn, const char *fmt, ...)
{
	char msg[LOG_LINE_MAX], line[LOG_JSON_MAX];
	va_list ap;
	va_start(ap, fmt);
	if (vsnprintf(msg, sizeof(msg), fmt, ap) < 0)
		msg[0] = '\0';
	va_end(ap);
	size_t n = format_line(line, level, worker, conn, msg);

	pthread_mutex_lock(&logger.lock);
	if (!logger.running) {
		pthread_mutex_unlock(&logger.lock);
		write_all(line, n); /* before start / after stop: single-threaded phases */
		return;
	}
	if (ring_append(line, n))
		pthread_cond_signal(&logger.nonempty);
	else
		logger.dropped++;
	pthread_mutex_unlock(&logger.lock);
}

bool log_gate_pass(struct log_gate *g, enum log_level level, int worker)
{
	int64_t now = clock_now_ms();
	if (now - g->window_ms >= 1000) {
		if (g->suppressed > 0)
			log_write(level, worker, 0, "%u similar messages suppressed",
				  g->suppressed);
		g->window_ms = now;
		g->count = 0;
		g->suppressed = 0;
	}
	if (g->count++ < LOG_GATE_PER_SEC)
		return true;
	g->suppressed++;
	return false;
}

void log_gated(struct log_gate *g, enum log_level level, int worker, uint64_t conn, const char *fmt,
	       ...)
{
	if (!log_enabled(level) || !log_gate_pass(g, level, worker))
		return;
	char text[256];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	log_write(level, worker, conn, "%s", text);
}
