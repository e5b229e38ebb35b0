/*
 * secret.h - reading a secret from a file (--auth-secret, --admin-token): the file's bytes, a
 * final line end (\n or \r\n) excluded, so `echo TOKEN > file` works. The secret is never
 * logged; a caller that fails wipes what it read.
 *
 * Owns: nothing. Any thread; start-up code calls it.
 */
#ifndef CHATD_SECRET_H
#define CHATD_SECRET_H

#include <stddef.h>
#include <stdint.h>

/* Reads path into buf[0..cap) and sets *len. Returns 0, -errno, or -E2BIG when the file holds
 * more than cap bytes (buf is then wiped). */
int secret_read_file(const char *path, uint8_t *buf, size_t cap, size_t *len);

#endif
