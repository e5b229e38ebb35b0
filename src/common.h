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

/* Milliseconds on CLOCK_MONOTONIC: every timer and deadline in chatd uses this clock. */
int64_t clock_now_ms(void);

#endif
