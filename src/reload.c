/*
 * reload.c - SIGHUP (see reload.h): read, compare with what runs, keep what needs a restart,
 * publish the rest to the workers and the modules, log every change. Runs on the main thread.
 */
#include "reload.h"
#include "directory.h"
#include "inbox.h"
#include "iplimit.h"
#include "live.h"
#include "log.h"
#include "memory.h"

#include <errno.h>
#include <stdatomic.h>
#include <string.h>

/*
 * The settings a reload puts into effect; every other one needs a restart. Read by the
 * workers from their snapshot (live.h): max-line (a line user's next line; a WebSocket keeps
 * the limit it was opened with), max-outbuf, max-clients, handshake-timeout and drain-timeout
 * (deadlines set from then on), flush-interval, rate-limit, rate-burst, allow-origin (the
 * next upgrade). Kept by a module, set in reload_apply: log-level, max-conns-per-ip (between
 * two limits: turning it on or off needs a restart, see refusal()), max-rooms,
 * notice-limit, max-memory.
 */
static const char *const live_options[] = {
	"max-line",         "max-outbuf", "max-clients",  "handshake-timeout", "drain-timeout",
	"flush-interval",   "rate-limit", "rate-burst",   "allow-origin",      "log-level",
	"max-conns-per-ip", "max-rooms",  "notice-limit", "max-memory",
};

static bool is_live(const char *name)
{
	for (size_t i = 0; i < ARRAY_LEN(live_options); i++)
		if (strcmp(name, live_options[i]) == 0)
			return true;
	return false;
}

/* Why a change of a live setting needs a restart after all, or NULL. */
static const char *refusal(const struct config *was, const struct config *next, const char *name)
{
	if (strcmp(name, "max-conns-per-ip") == 0 &&
	    (next->max_conns_per_ip > 0) != (was->max_conns_per_ip > 0))
		return " (connections are counted per address only when it was on at start)";
	return NULL;
}

struct apply {
	const struct config *was;
	const struct config *next;
	struct config *want; /* next, with what needs a restart as it was */
	bool log;
	int changed, kept;
};

static void on_change(void *arg, const char *name, const char *was, const char *now)
{
	struct apply *a = arg;
	const char *why = is_live(name) ? refusal(a->was, a->next, name) : "";
	if (why == NULL) {
		a->changed++;
		if (a->log)
			log_info(-1, 0, "reload: %s %s -> %s", name, was, now);
		return;
	}
	a->kept++;
	config_keep(a->want, a->was, name);
	if (a->log)
		log_warn(-1, 0, "reload: %s %s -> %s needs a restart%s; kept %s", name, was, now,
			 why, was);
}

void reload_init(struct reload *r, struct server *srv, const struct config *cfg, int argc,
		 char **argv)
{
	memset(r, 0, sizeof(*r));
	r->srv = srv;
	r->argc = argc;
	r->argv = argv;
	r->running = *cfg;
}

int reload_add_hook(struct reload *r, reload_hook_fn fn, void *arg)
{
	if (r->nhooks == RELOAD_HOOKS_MAX)
		return -ENOSPC;
	r->hooks[r->nhooks].fn = fn;
	r->hooks[r->nhooks].arg = arg;
	r->nhooks++;
	return 0;
}

static void run_hooks(struct reload *r, enum reload_phase phase)
{
	for (unsigned i = 0; i < r->nhooks; i++)
		r->hooks[i].fn(r->hooks[i].arg, phase, &r->running);
}

/* The modules that keep a setting of their own, and the workers' wake-up. */
static void apply_modules(struct hub *hub, const struct config *eff)
{
	(void)iplimit_set_max(&hub->iplimit, eff->max_conns_per_ip); /* on/off was kept */
	dir_set_limits(&hub->dir, eff->max_rooms, eff->notice_limit);
	memory_guard_set(&hub->mem, eff->max_memory,
			 eff->max_outbuf + eff->max_line + eff->max_http_header);
	/* idle workers take the snapshot now, rather than at their next event, so that the
	 * retired one can be freed at the next reload */
	for (unsigned i = 0; i < hub->nworkers; i++)
		inbox_kick(&hub->workers[i].inbox);
}

int reload_apply(struct reload *r, const struct config *next)
{
	struct hub *hub = &r->srv->hub;
	struct config want = *next;
	struct apply a = { .was = &r->running, .next = next, .want = &want };
	/* first quietly (what runs after this reload), then, once it is published, logged */
	config_diff(&r->running, next, on_change, &a);
	struct config eff = want;
	server_derive(r->srv, &eff);
	if (live_publish(&hub->live, &eff) < 0) {
		/* counted before it is logged: whoever reads the log line sees the count */
		atomic_fetch_add_explicit(&hub->live.reload_errors, 1, memory_order_relaxed);
		log_error(-1, 0, "reload: out of memory; keeping the running configuration");
		return -ENOMEM;
	}
	apply_modules(hub, &eff);
	a = (struct apply){ .was = &r->running, .next = next, .want = &want, .log = true };
	config_diff(&r->running, next, on_change, &a);
	if (a.changed + a.kept == 0)
		log_info(-1, 0, "reload: no setting changed");
	else
		log_info(-1, 0, "reload: done: %d setting%s changed, %d need%s a restart",
			 a.changed, a.changed == 1 ? "" : "s", a.kept, a.kept == 1 ? "s" : "");
	log_set_level((enum log_level)eff.log_level); /* after the lines above */
	r->running = want;
	atomic_fetch_add_explicit(&hub->live.reloads, 1, memory_order_relaxed);
	return 0;
}

int reload_run(struct reload *r)
{
	run_hooks(r, RELOAD_BEGIN);
	if (r->running.config_file[0] == '\0') {
		log_info(-1, 0, "SIGHUP received: no --config file to re-read; nothing changed");
		run_hooks(r, RELOAD_DONE);
		return 0;
	}
	log_info(-1, 0, "SIGHUP received: re-reading %s", r->running.config_file);
	struct config next;
	config_defaults(&next);
	char err[CONFIG_ERR_MAX] = "";
	int rc = config_load(&next, r->argc, r->argv, err, sizeof(err));
	if (rc < 0) {
		/* counted before it is logged: whoever reads the log line sees the count */
		atomic_fetch_add_explicit(&r->srv->hub.live.reload_errors, 1, memory_order_relaxed);
		log_error(-1, 0, "reload: %s; keeping the running configuration", err);
	} else {
		rc = reload_apply(r, &next);
	}
	run_hooks(r, rc == 0 ? RELOAD_DONE : RELOAD_FAILED);
	return rc == 0 ? 0 : -1;
}
