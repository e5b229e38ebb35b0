/*
 * iplimit.h - connections per client address, for --max-conns-per-ip: a server-wide count of
 * open connections per address, under one mutex taken once when a connection is admitted and
 * once when it closes (never per message).
 *
 * An address is an IPv4 address, or an IPv6 /64 (one host commonly holds a whole /64, so
 * counting single IPv6 addresses would limit nothing); IPv4-mapped IPv6 addresses
 * (::ffff:a.b.c.d, from a dual-stack listener) count as their IPv4 address.
 *
 * Any worker may call any function; the lock covers the table.
 */
#ifndef CHATD_IPLIMIT_H
#define CHATD_IPLIMIT_H

#include "map.h"

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>

struct iplimit {
	bool counting; /* --max-conns-per-ip was on at start (else nothing is counted); read-only */
	int max;       /* --max-conns-per-ip now; guarded by lock (a reload may change it) */
	pthread_mutex_t lock;
	struct map counts; /* iplimit_key -> its open connections (struct ip_count) */
};

int iplimit_init(struct iplimit *l, int max);
void iplimit_destroy(struct iplimit *l);

/* A reload's new limit. Counting is decided at start: turning the limit on or off needs a
 * restart, so max must be above 0 exactly when it was at start. Returns 0 or -EINVAL. */
int iplimit_set_max(struct iplimit *l, int max);

/* The counting key of a peer address (never 0), or 0 for a family that is not counted. */
uint64_t iplimit_key(const struct sockaddr *sa);

/*
 * Counts one more connection from key. Returns 0, -EDQUOT when the address already has
 * `max` connections (nothing counted), or -ENOMEM. Always 0 when the limit is off or key 0.
 */
int iplimit_acquire(struct iplimit *l, uint64_t key);

/* Counts one connection from key less (one that iplimit_acquire counted). */
void iplimit_release(struct iplimit *l, uint64_t key);

#endif
