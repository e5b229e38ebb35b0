/*
 * admin.h - the admin listener: a separate, by default loopback-only, HTTP endpoint serving
 * GET and HEAD /metrics (Prometheus text format) and /healthz. It runs its own thread with its
 * own small non-blocking epoll loop, so no admin client can stall a worker, and no admin
 * client can stall the admin thread either: several connections at once (at most
 * --admin-max-conns), one deadline of --admin-timeout for each whole request and response,
 * and admin_stop never waits for a client. The figures on /metrics are the workers' own
 * counters, read with relaxed loads and summed here at scrape time, and the admin thread's.
 */
#ifndef CHATD_ADMIN_H
#define CHATD_ADMIN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define ADMIN_HEAD_MAX 8192                 /* a longer request head is answered 431 */
#define ADMIN_PAGE_MAX ((size_t)256 * 1024) /* /metrics is cut at this size */

struct admin;
struct hub;

/* Binds the listener (hub->cfg.admin, "" = off: *out stays NULL) and starts its thread; *port
 * receives the bound port. Logs a warning when the address is not loopback. Returns 0 or
 * -errno after logging one line. */
int admin_start(struct hub *hub, struct admin **out, uint16_t *port);

/* Stops the thread at once, closing every admin connection wherever it is, and closes the
 * listener (no-op when a is NULL). Never waits for a client. */
void admin_stop(struct admin *a);

/* Writes the /metrics page into out; returns its length (truncated at cap). a: the admin
 * listener whose own counters are shown too, or NULL. */
size_t admin_render_metrics(struct hub *hub, const struct admin *a, char *out, size_t cap);

/* Whether an address literal is loopback (127.0.0.0/8, ::1, or ::ffff:127.0.0.0/104). */
bool admin_host_is_loopback(const char *host);

#endif
