/*
 * log.h - one line per event on stderr: time, level, worker, connection, message; as text
 * (the default) or, with --log-format json, as one JSON object per line for log shippers:
 *   {"time":"2026-11-24T03:42:55.357Z","level":"info","worker":2,"conn":17,"msg":"..."}
 * ("worker" is absent on the main and admin threads, "conn" when no connection is concerned;
 * the message is JSON-escaped, with any byte that is not UTF-8 replaced by U+FFFD).
 *
 * Any thread may log. Lines are formatted by the caller into a bounded buffer and written by
 * a dedicated logger thread, so a worker never blocks on a slow stderr: when the buffer is
 * full the line is dropped and counted, and the logger reports how many were dropped.
 */
#ifndef CHATD_LOG_H
#define CHATD_LOG_H

#include <stdbool.h>
#include <stdint.h>

enum log_level { LOG_DEBUG, LOG_INFO, LOG_WARN, LOG_ERROR, LOG_OFF };

/* Parses "debug", "info", "warn", "error" or "off"; returns -1 when unknown. */
int log_parse_level(const char *name);
void log_set_level(enum log_level level);
int log_enabled(enum log_level level);

enum log_format { LOG_FORMAT_TEXT, LOG_FORMAT_JSON };

/* Parses "text" or "json"; returns -1 when unknown. */
int log_parse_format(const char *name);
/* Any thread, any time (a relaxed atomic): lines formatted afterwards take the new format. */
void log_set_format(enum log_format format);

/* Starts/stops the logger thread. Before start and after stop, lines are written directly. */
int log_start(void);
void log_stop(void);

/*
 * A rate limiter for one kind of log line that clients can trigger, owned by one thread: at
 * most LOG_GATE_PER_SEC lines of the kind a second; the rest are counted and reported in one
 * "N similar messages suppressed" line when the next second starts.
 */
#define LOG_GATE_PER_SEC 10
struct log_gate {
	int64_t window_ms;
	uint32_t count;
	uint32_t suppressed;
};

/* Whether a line of g's kind may be written now (level must be enabled). */
bool log_gate_pass(struct log_gate *g, enum log_level level, int worker);

/* Logs a line of g's kind when the gate lets it pass (a client-triggered event: at most
 * LOG_GATE_PER_SEC a second, the rest counted as suppressed). */
void log_gated(struct log_gate *g, enum log_level level, int worker, uint64_t conn, const char *fmt,
	       ...) __attribute__((format(printf, 5, 6)));

/* worker < 0 means "main thread"; conn == 0 means "no connection". */
void log_write(enum log_level level, int worker, uint64_t conn, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

#define log_debug(w, c, ...)                                         \
	do {                                                         \
		if (log_enabled(LOG_DEBUG))                          \
			log_write(LOG_DEBUG, (w), (c), __VA_ARGS__); \
	} while (0)
#define log_info(w, c, ...)                                         \
	do {                                                        \
		if (log_enabled(LOG_INFO))                          \
			log_write(LOG_INFO, (w), (c), __VA_ARGS__); \
	} while (0)
#define log_warn(w, c, ...)                                         \
	do {                                                        \
		if (log_enabled(LOG_WARN))                          \
			log_write(LOG_WARN, (w), (c), __VA_ARGS__); \
	} while (0)
#define log_error(w, c, ...)                                         \
	do {                                                         \
		if (log_enabled(LOG_ERROR))                          \
			log_write(LOG_ERROR, (w), (c), __VA_ARGS__); \
	} while (0)

#endif
