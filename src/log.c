/*
 * log.c - the logger: callers format a line and append it to a bounded ring under a mutex;
 * one logger thread writes the ring to stderr. The mutex is held only for a memcpy, never
 * across I/O, and no chat message ever logs on its per-message path, so this lock is not on
 * the hot path. When the ring is full the line is dropped and counted (a worker never waits
 * for stderr); the logger reports the number of dropped lines.
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
#define LOG_LINE_MAX  1024

static const char *const level_names[] = { "DEBUG", "INFO", "WARN", "ERROR" };

static atomic_int log_min_level = LOG_INFO; /* read by every thread, relaxed: a hint */

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
			char note[96];
			int k = snprintf(note, sizeof(note),
					 "log: %llu lines dropped (stderr too slow)\n",
					 (unsigned long long)dropped);
			write_all(note, (size_t)k);
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
	char line[LOG_LINE_MAX];
	struct timespec ts;
	struct tm tm;
	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	size_t n = strftime(line, sizeof(line), "%Y-%m-%dT%H:%M:%S", &tm);
	char who[48];
	if (worker < 0)
		snprintf(who, sizeof(who), "main");
	else
		snprintf(who, sizeof(who), "w%d", worker);
	if (conn != 0) {
		size_t w = strlen(who);
		snprintf(who + w, sizeof(who) - w, " c%llu", (unsigned long long)conn);
	}
	n += (size_t)snprintf(line + n, sizeof(line) - n, ".%03ldZ %-5s %s ", ts.tv_nsec / 1000000,
			      level_names[level], who);
	va_list ap;
	va_start(ap, fmt);
	int k = vsnprintf(line + n, sizeof(line) - n - 1, fmt, ap);
	va_end(ap);
	if (k < 0)
		k = 0;
	n += (size_t)k < sizeof(line) - n - 1 ? (size_t)k : sizeof(line) - n - 2;
	line[n++] = '\n';

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
