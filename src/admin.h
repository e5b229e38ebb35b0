/*
 * admin.h - the admin listener: a separate, by default loopback-only, HTTP endpoint serving
 * GET /metrics (Prometheus text format) and GET /healthz. It runs on its own thread with
 * blocking I/O and short timeouts, so a slow scraper never touches a worker; the figures are
 * the workers' own counters, read with relaxed loads and summed here at scrape time.
 */
#ifndef CHATD_ADMIN_H
#define CHATD_ADMIN_H

#include <stddef.h>
#include <stdint.h>

struct server;

/* Binds the listener (server->cfg.admin, "" = off) and starts its thread. Returns 0 or
 * -errno after logging one line. */
int admin_start(struct server *srv);

/* Stops the thread and closes the listener (no-op when off). */
void admin_stop(struct server *srv);

/* Writes the /metrics page into out; returns its length (truncated at cap). */
size_t admin_render_metrics(struct server *srv, char *out, size_t cap);

#endif
