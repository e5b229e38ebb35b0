/*
 * oom_alloc.c - the allocator chatd's objects are linked against in `make test-oom` (see
 * oom.h): every call is counted along its path (phase, call site, five callers), and the one
 * armed call fails with ENOMEM. Everything else goes to the real allocator, which is ASan's:
 * every allocation is still checked.
 *
 * A path is read from the frame-pointer chain (everything in the executable is built with
 * -fno-omit-frame-pointer and -fno-optimize-sibling-calls): the frame of oom_* holds the
 * return address into the call site, the site's frame the one into its caller, and so on.
 * The walk stops where a return address leaves the executable (libc's thread start), so it
 * never reads a frame that was not built with a frame pointer, and, on the driver's thread,
 * at the driver's own frames (oom_driver_frame): a path names chatd's code only, whichever
 * driver function started the scenario.
 *
 * Called from every server thread at once: the table is under one mutex. Allocation is not
 * on any path where that could matter here.
 */
#include "oom.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#define TABLE_SIZE 4096 /* paths; a power of two, far more than chatd has */

/* The executable's code, from the linker (ld defines both names). */
/* NOLINTNEXTLINE(bugprone-reserved-identifier,cert-dcl37-c,cert-dcl51-cpp): ld's name */
extern const char __executable_start[];
extern const char etext[];

static pthread_mutex_t table_lock = PTHREAD_MUTEX_INITIALIZER;
static struct oom_path table[TABLE_SIZE];      /* guarded by table_lock */
static size_t table_len;                       /* guarded by table_lock */
static atomic_int phase;                       /* set by the driver's thread, read by all */
static _Thread_local const void *driver_frame; /* the driver's thread: where chatd's calls end */

static struct oom_path armed;   /* set before the server starts; read under table_lock */
static uint64_t armed_nth;      /* 0: nothing armed */
static atomic_bool armed_fired; /* the armed call failed */

void oom_set_phase(enum oom_phase p)
{
	atomic_store(&phase, (int)p);
}

void oom_driver_frame(const void *frame)
{
	driver_frame = frame;
}

void oom_arm(const struct oom_path *target, uint64_t nth)
{
	pthread_mutex_lock(&table_lock);
	armed = *target;
	armed_nth = nth;
	pthread_mutex_unlock(&table_lock);
}

bool oom_fired(void)
{
	return atomic_load(&armed_fired);
}

size_t oom_paths(struct oom_path *out, size_t cap)
{
	pthread_mutex_lock(&table_lock);
	size_t n = table_len;
	size_t k = 0;
	for (size_t i = 0; i < TABLE_SIZE && k < cap; i++)
		if (table[i].calls > 0)
			out[k++] = table[i];
	pthread_mutex_unlock(&table_lock);
	return n;
}

static bool in_executable(uintptr_t pc)
{
	return pc >= (uintptr_t)__executable_start && pc < (uintptr_t)etext;
}

/*
 * Fills pc[] from the frame of an oom_* function: frame[0] is the caller's saved frame
 * pointer, frame[1] the return address into the caller. A frame is only read once the function it
 * belongs to is known to be in the executable (built with frame pointers); a return into the
 * driver's frame (or one above it) is not part of the path.
 */
static void walk(void *const *frame, uintptr_t pc[OOM_DEPTH])
{
	memset(pc, 0, OOM_DEPTH * sizeof(pc[0]));
	for (int i = 0; i < OOM_DEPTH; i++) {
		uintptr_t ret = (uintptr_t)frame[1];
		void *const *next = frame[0];
		if (!in_executable(ret) || (driver_frame != NULL && (void *)next >= driver_frame))
			return;
		pc[i] = ret;
		/* the caller's frame is above ours on the same stack */
		if (next <= frame || (uintptr_t)next - (uintptr_t)frame > ((uintptr_t)1 << 20) ||
		    ((uintptr_t)next & 7) != 0)
			return;
		frame = next;
	}
}

static bool same_path(const struct oom_path *a, enum oom_phase ph, const uintptr_t *pc)
{
	return a->phase == ph && memcmp(a->pc, pc, sizeof(a->pc)) == 0;
}

static size_t slot_of(enum oom_phase ph, const uintptr_t *pc)
{
	uint64_t h = (uint64_t)ph * 0x9E3779B97F4A7C15ULL;
	for (int i = 0; i < OOM_DEPTH; i++)
		h = (h ^ pc[i]) * 0x100000001B3ULL;
	return (size_t)(h >> 20) & (TABLE_SIZE - 1);
}

/* Counts one allocation along the path that `frame` starts; true when it is to fail. */
static bool take(void *const *frame)
{
	uintptr_t pc[OOM_DEPTH];
	walk(frame, pc);
	enum oom_phase ph = (enum oom_phase)atomic_load(&phase);
	bool fail = false;
	pthread_mutex_lock(&table_lock);
	size_t i = slot_of(ph, pc);
	while (table[i].calls > 0 && !same_path(&table[i], ph, pc))
		i = (i + 1) & (TABLE_SIZE - 1);
	if (table[i].calls == 0) {
		if (table_len == TABLE_SIZE - 1) { /* full: cannot happen with chatd's sizes */
			pthread_mutex_unlock(&table_lock);
			abort();
		}
		table[i].phase = ph;
		memcpy(table[i].pc, pc, sizeof(table[i].pc));
		table_len++;
	}
	uint64_t n = ++table[i].calls;
	if (armed_nth != 0 && n == armed_nth && same_path(&armed, ph, pc)) {
		fail = true;
		atomic_store(&armed_fired, true);
	}
	pthread_mutex_unlock(&table_lock);
	return fail;
}

static void *nomem(void)
{
	errno = ENOMEM;
	return NULL;
}

void *oom_malloc(size_t size)
{
	if (take(__builtin_frame_address(0)))
		return nomem();
	return malloc(size);
}

void *oom_calloc(size_t n, size_t size)
{
	if (take(__builtin_frame_address(0)))
		return nomem();
	return calloc(n, size);
}

/* A failed realloc leaves the old block as it was, as the real one does. */
void *oom_realloc(void *p, size_t size)
{
	if (take(__builtin_frame_address(0)))
		return nomem();
	return realloc(p, size);
}

void *oom_aligned_alloc(size_t align, size_t size)
{
	if (take(__builtin_frame_address(0)))
		return nomem();
	return aligned_alloc(align, size);
}
