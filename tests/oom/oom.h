/*
 * oom.h - the allocation-failure test (`make test-oom`): an allocator that can fail one chosen
 * allocation of chatd's own code, a scenario that runs a server and its users in-process, and
 * the clients the scenario drives.
 *
 * The product objects are built with their calls to malloc, calloc, realloc and aligned_alloc
 * renamed to oom_* (objcopy --redefine-sym, see the Makefile), so only chatd's allocations pass
 * through oom_alloc.c: the driver's, libc's and the sanitizers' own never fail.
 *
 * Threads: oom_alloc.c is called from every server thread; its table is under a mutex. The
 * scenario and the clients run on the driver's one thread.
 */
#ifndef CHATD_OOM_H
#define CHATD_OOM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* ---- the allocator (oom_alloc.c) ---------------------------------------------------------- */

/* Where the scenario is; an allocation is counted in the phase it happens in. */
enum oom_phase {
	OOM_START, /* server_start */
	OOM_CHAT,  /* phase A: the users do everything once; one allocation may fail here */
	OOM_CHECK, /* phase B: fresh users check the server still works; nothing fails here */
	OOM_STOP,  /* server_stop and server_wait */
	OOM_PHASES
};

/* Return addresses kept per allocation: the call site in chatd and five callers above it. */
#define OOM_DEPTH 6

/*
 * A path: the phase, the allocation's call site in chatd (pc[0], a return address) and the
 * calls that led there (pc[1] up; 0 where the chain left the executable). calls counts
 * the allocations made along it.
 */
struct oom_path {
	enum oom_phase phase;
	uintptr_t pc[OOM_DEPTH];
	uint64_t calls;
};

void oom_set_phase(enum oom_phase phase);

/* Called on the driver's thread with the frame of the function that calls into chatd: paths
 * stop there. */
void oom_driver_frame(const void *frame);

/* Makes the nth allocation along `target` (phase and pcs) fail, once, with ENOMEM. */
void oom_arm(const struct oom_path *target, uint64_t nth);

/* Whether the armed failure happened. */
bool oom_fired(void);

/* Copies up to cap paths seen so far into out; returns how many there are. */
size_t oom_paths(struct oom_path *out, size_t cap);

/* What the renamed calls of the product objects resolve to. */
void *oom_malloc(size_t size);
void *oom_calloc(size_t n, size_t size);
void *oom_realloc(void *p, size_t size);
void *oom_aligned_alloc(size_t align, size_t size);

/* ---- the clients (oom_client.c) ----------------------------------------------------------- */

/* A user as the scenario sees it: a line client or a WebSocket client. */
struct peer {
	char label[8]; /* "A", "W", ... in the report */
	int fd;
	bool ws;
	bool closed;     /* EOF, reset or a close frame seen */
	bool unwritable; /* a send failed: the server is gone, its last lines may be unread */
	bool may_close;  /* its closing is part of the scenario (/quit, reset) */
	bool told;       /* it received a line (or close reason) saying "out of memory" */
	uint64_t id;     /* from its welcome line */
	char name[40];   /* its name as the room sees it */
	char pong[128];  /* the last pong's payload (WebSocket) */
	size_t len;
	char buf[65536];
};

/* Connects a line client (NULL on failure). */
struct peer *peer_line(const char *label, uint16_t port);
/* Connects a WebSocket client and completes the upgrade (NULL on failure). */
struct peer *peer_ws(const char *label, uint16_t port);
void peer_free(struct peer *p);

/* Sends a line (text without its newline): a line client adds "\n", a WebSocket client sends
 * one masked text frame. Returns false when the connection is gone. */
bool peer_say(struct peer *p, const char *text);
/* Raw bytes on the socket. */
bool peer_send_raw(struct peer *p, const void *data, size_t n);
/* One masked WebSocket frame: fin_op is its first byte (FIN bit and opcode). */
bool peer_ws_frame(struct peer *p, int fin_op, const void *payload, size_t n);
/* Resets the connection (SO_LINGER 0). */
void peer_reset(struct peer *p);

/* Reads one line (or text frame) into out. Returns 1, 0 when the connection is gone, -1 after
 * timeout_ms without one. Every line that says "out of memory" sets p->told. */
int peer_read_line(struct peer *p, char *out, size_t cap, int timeout_ms);

/* Reads until a pong arrives (WebSocket); returns true and leaves its payload in p->pong. */
bool peer_wait_pong(struct peer *p, int timeout_ms);

/* Sends an HTTP request in pieces (gap_ms apart) on a new connection and reads the answer
 * into `answer` (up to cap - 1 bytes, NUL-terminated) until the server closes. Returns the
 * status, 0 without one (closed unanswered), or -1 when the connection failed. */
int http_request(uint16_t port, const char *const *pieces, size_t npieces, int gap_ms,
		 int timeout_ms, char *answer, size_t cap);

int64_t oom_now_ms(void);
void oom_sleep_ms(int ms);

/* ---- the scenario (oom_scenario.c) -------------------------------------------------------- */

enum outcome {
	OUT_CLEAN,     /* every expectation held (the failure, if any, was absorbed) */
	OUT_TOLD,      /* some expectation failed, and the users and the counters say why */
	OUT_START,     /* server_start returned -ENOMEM */
	OUT_UNREACHED, /* the armed allocation was not made in this run */
	OUT_FAIL,      /* an invariant broke */
};

struct verdict {
	enum outcome outcome;
	char text[1024]; /* what happened, for the report */
};

/* Runs the whole scenario: start, phase A, phase B, stop. */
void scenario_run(struct verdict *v);

#endif
