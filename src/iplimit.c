/*
 * iplimit.c - connections per client address (see iplimit.h).
 */
#include "iplimit.h"

#include <errno.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>

/* What the map holds per address with open connections: allocated at its first connection,
 * freed with its last. */
struct ip_count {
	uint32_t open;
};

int iplimit_init(struct iplimit *l, int max)
{
	memset(l, 0, sizeof(*l));
	l->counting = max > 0;
	l->max = max;
	return -pthread_mutex_init(&l->lock, NULL);
}

int iplimit_set_max(struct iplimit *l, int max)
{
	if ((max > 0) != l->counting)
		return -EINVAL;
	pthread_mutex_lock(&l->lock);
	l->max = max;
	pthread_mutex_unlock(&l->lock);
	return 0;
}

void iplimit_destroy(struct iplimit *l)
{
	size_t pos = 0;
	uint64_t key;
	void *v;
	while (map_next(&l->counts, &pos, &key, &v))
		free(v);
	map_free(&l->counts);
	pthread_mutex_destroy(&l->lock);
}

/*
 * IPv4 keys are tagged with 0xFFFFFFFF in the top half: as an IPv6 /64 that is ff..::/8,
 * multicast, which is never the source of a TCP connection, so the two kinds cannot collide.
 */
uint64_t iplimit_key(const struct sockaddr *sa)
{
	const uint8_t *b;
	if (sa->sa_family == AF_INET) {
		b = (const uint8_t *)&((const struct sockaddr_in *)sa)->sin_addr;
	} else if (sa->sa_family == AF_INET6) {
		b = ((const struct sockaddr_in6 *)sa)->sin6_addr.s6_addr;
		static const uint8_t mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xFF, 0xFF };
		if (memcmp(b, mapped, sizeof(mapped)) != 0) {
			uint64_t prefix = 0;
			for (int i = 0; i < 8; i++)
				prefix = prefix << 8 | b[i];
			return prefix != 0 ? prefix : 1; /* ::/64 (not a source address) */
		}
		b += 12;
	} else {
		return 0;
	}
	return 0xFFFFFFFF00000000ULL | (uint64_t)b[0] << 24 | (uint64_t)b[1] << 16 |
	       (uint64_t)b[2] << 8 | b[3];
}

int iplimit_acquire(struct iplimit *l, uint64_t key)
{
	if (!l->counting || key == 0)
		return 0;
	int rc = 0;
	pthread_mutex_lock(&l->lock);
	struct ip_count *n = map_get(&l->counts, key);
	if (n == NULL) {
		n = calloc(1, sizeof(*n));
		if (n == NULL || map_put(&l->counts, key, n) < 0) {
			free(n);
			rc = -ENOMEM;
			goto out;
		}
	}
	if (n->open >= (uint32_t)l->max)
		rc = -EDQUOT;
	else
		n->open++;
out:
	pthread_mutex_unlock(&l->lock);
	return rc;
}

void iplimit_release(struct iplimit *l, uint64_t key)
{
	if (!l->counting || key == 0)
		return;
	pthread_mutex_lock(&l->lock);
	struct ip_count *n = map_get(&l->counts, key);
	if (n != NULL && --n->open == 0) {
		map_del(&l->counts, key);
		free(n);
	}
	pthread_mutex_unlock(&l->lock);
}
