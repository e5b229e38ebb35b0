/*
 * memory.c - the server-wide memory cap (see memory.h).
 */
#include "memory.h"

#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define MEMORY_SANITIZER 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer)
#define MEMORY_SANITIZER 1
#endif
#endif

#ifdef MEMORY_SANITIZER
/* The sanitizers replace malloc; their runtime says what is allocated (mallinfo2 would only
 * see glibc's own, unused, arenas). Declared here: gcc ships no allocator_interface.h. */
size_t __sanitizer_get_current_allocated_bytes(void);

size_t memory_heap_bytes(void)
{
	return __sanitizer_get_current_allocated_bytes();
}
#else
size_t memory_heap_bytes(void)
{
	/* uordblks: bytes in malloc'd chunks of every arena; hblkhd: bytes in mmap'd chunks.
	 * Memory freed but kept by the allocator is not counted. */
	struct mallinfo2 mi = mallinfo2();
	return mi.uordblks + mi.hblkhd;
}
#endif

/* A cgroup memory limit (v2, then v1), or 0 when there is none. */
static size_t cgroup_limit(void)
{
	static const char *const files[] = { "/sys/fs/cgroup/memory.max",
					     "/sys/fs/cgroup/memory/memory.limit_in_bytes" };
	for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		FILE *f = fopen(files[i], "r");
		if (f == NULL)
			continue;
		char line[32];
		char *got = fgets(line, sizeof(line), f);
		(void)fclose(f); /* read-only: nothing to flush */
		if (got == NULL)
			continue;
		char *end;
		unsigned long long v = strtoull(line, &end, 10);
		if (end != line && v > 0 && v < (1ULL << 62))
			return (size_t)v;
	}
	return 0;
}

size_t memory_default_cap(void)
{
	long pages = sysconf(_SC_PHYS_PAGES), page = sysconf(_SC_PAGE_SIZE);
	size_t phys = pages > 0 && page > 0 ? (size_t)pages * (size_t)page : 0;
	size_t cg = cgroup_limit();
	if (cg != 0 && (phys == 0 || cg < phys))
		phys = cg;
	return phys / 4;
}

/* The largest power of two (from MEMORY_FLOOR_MIN) not above what one connection can cost. */
static size_t top_bucket(size_t largest)
{
	size_t top = MEMORY_FLOOR_MIN;
	while (top * 2 <= largest && top < ((size_t)1 << 62))
		top *= 2;
	return top;
}

void memory_guard_init(struct memory_guard *g, size_t cap, size_t largest)
{
	memset(g, 0, sizeof(*g));
	size_t top = top_bucket(largest);
	atomic_init(&g->cap, cap);
	atomic_init(&g->top, top);
	atomic_init(&g->floor, top);
}

void memory_guard_set(struct memory_guard *g, size_t cap, size_t largest)
{
	atomic_store_explicit(&g->top, top_bucket(largest), memory_order_relaxed);
	atomic_store_explicit(&g->cap, cap, memory_order_relaxed);
	if (cap == 0) { /* off: nothing samples any more, so nothing would clear these */
		atomic_store_explicit(&g->over, false, memory_order_relaxed);
		atomic_store_explicit(&g->near, false, memory_order_relaxed);
		atomic_store_explicit(&g->excess, 0, memory_order_relaxed);
	}
}

bool memory_guard_sample(struct memory_guard *g, int64_t now_ms)
{
	size_t cap = memory_guard_cap(g);
	if (cap == 0)
		return false;
	int64_t due = atomic_load_explicit(&g->next_sample_ms, memory_order_relaxed);
	if (now_ms < due || !atomic_compare_exchange_strong_explicit(
				&g->next_sample_ms, &due, now_ms + MEMORY_SAMPLE_MS,
				memory_order_relaxed, memory_order_relaxed))
		return false; /* not due, or another thread samples this time */
	size_t heap = memory_heap_bytes();
	atomic_store_explicit(&g->heap, heap, memory_order_relaxed);
	atomic_store_explicit(&g->near, heap > cap / 2, memory_order_relaxed);
	if (heap <= cap) {
		atomic_store_explicit(&g->over, false, memory_order_relaxed);
		atomic_store_explicit(&g->excess, 0, memory_order_relaxed);
		atomic_store_explicit(&g->floor,
				      atomic_load_explicit(&g->top, memory_order_relaxed),
				      memory_order_relaxed);
		return false;
	}
	/* Still over after a round: the next bucket down. */
	uint64_t floor = atomic_load_explicit(&g->floor, memory_order_relaxed);
	if (atomic_load_explicit(&g->over, memory_order_relaxed) && floor / 2 >= MEMORY_FLOOR_MIN)
		atomic_store_explicit(&g->floor, floor / 2, memory_order_relaxed);
	atomic_store_explicit(&g->excess, (int64_t)(heap - cap), memory_order_relaxed);
	atomic_store_explicit(&g->over, true, memory_order_relaxed);
	atomic_fetch_add_explicit(&g->round, 1, memory_order_relaxed);
	return true;
}

bool memory_guard_claim(struct memory_guard *g, size_t cost)
{
	int64_t left = atomic_load_explicit(&g->excess, memory_order_relaxed);
	while (left > 0) {
		if (atomic_compare_exchange_weak_explicit(&g->excess, &left, left - (int64_t)cost,
							  memory_order_relaxed,
							  memory_order_relaxed))
			return true;
	}
	return false;
}
