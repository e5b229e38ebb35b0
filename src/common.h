/*
 * common.h - small definitions every chatd module shares.
 *
 * Return-code vocabulary (used by every module, written once here):
 *   - syscall wrappers and setup functions return 0 on success or -errno on failure;
 *   - parsers return the number of bytes consumed (> 0), PARSE_AGAIN when they need more
 *     input, or PARSE_ERROR when the input is malformed.
 * Nothing in this header touches shared state.
 */
#ifndef CHATD_COMMON_H
#define CHATD_COMMON_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define CHATD_VERSION                   "0.1.0"

#define PARSE_AGAIN                     (-1)
#define PARSE_ERROR                     (-2)

#define CACHE_LINE                      64

#define container_of(ptr, type, member) ((type *)((char *)(ptr)-offsetof(type, member)))
#define ARRAY_LEN(a)                    (sizeof(a) / sizeof((a)[0]))
#define likely(x)                       __builtin_expect(!!(x), 1)
#define unlikely(x)                     __builtin_expect(!!(x), 0)

/*
 * The most characters a value of an integer type takes in decimal, a minus sign included:
 * a bit is log10(2) < 28/93 of a digit, so N bits take at most N * 28 / 93 + 1 digits (64
 * bits: 20, as UINT64_MAX has; 32 bits: 10), plus one for the sign. A bound for sizing
 * buffers: at most one more than the widest value of the type needs.
 */
#define DECIMAL_LEN_MAX(type) (sizeof(type) * CHAR_BIT * 28 / 93 + 2)

/* A small decimal number written strictly: s[0..n) is 1 to 9 digits, no heading zero, at most
 * max. Address ranges' bits, ports. */
static inline bool decimal_parse(const char *s, size_t n, unsigned max, unsigned *out)
{
	if (n == 0 || n > 9 || (s[0] == '0' && n > 1))
		return false;
	unsigned v = 0;
	for (size_t i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return false;
		v = v * 10 + (unsigned)(s[i] - '0');
	}
	if (v > max)
		return false;
	*out = v;
	return true;
}

/* Milliseconds on CLOCK_MONOTONIC: every timer and deadline in chatd uses this clock. */
int64_t clock_now_ms(void);
/* The same clock in microseconds (the flush holdoff, iteration times). */
int64_t clock_now_us(void);
/* Wall-clock milliseconds since the epoch (CLOCK_REALTIME): when a line was said, as shown to
 * users; never for timers. */
int64_t clock_wall_ms(void);

#endif
