/*
 * reload.h - SIGHUP: re-reads the --config file (the command-line flags still win over it),
 * and puts into effect what can change while chatd runs. Each changed setting is logged
 * ("reload: max-outbuf 262144 -> 524288"), and so is each one that needs a restart ("reload:
 * workers 2 -> 4 needs a restart; kept 2"); an invalid file changes nothing (the error is
 * logged). Counted in hub->live (chatd_config_reloads_total, chatd_config_reload_errors_total).
 *
 * What changes live is listed once, in reload.c (live_options): limits read by the workers
 * through their snapshot (live.h), and the few a module keeps itself (the log level, the
 * address table's limit, the directory's limits, the memory guard's cap), set through their
 * own functions. Everything else, options added later included, needs a restart.
 *
 * Thread: the one that takes the signals (main); reload_run and reload_apply are never called
 * concurrently with each other or with server_stop.
 */
#ifndef CHATD_RELOAD_H
#define CHATD_RELOAD_H

#include "config.h"
#include "server.h"

/*
 * Code that must hear of reloads (systemd's RELOADING=1 and READY=1, bans re-read from
 * disk): RELOAD_BEGIN before the file is read, then RELOAD_DONE with the configuration now
 * running, or RELOAD_FAILED with the one kept.
 */
enum reload_phase { RELOAD_BEGIN, RELOAD_DONE, RELOAD_FAILED };
typedef void (*reload_hook_fn)(void *arg, enum reload_phase phase, const struct config *cfg);
#define RELOAD_HOOKS_MAX 8

struct reload {
	struct server *srv;
	int argc;
	char **argv;
	/* what the file and flags said at start or at the last reload, the settings that need a
	 * restart as they were at start: what the next reload is compared with */
	struct config running;
	struct {
		reload_hook_fn fn;
		void *arg;
	} hooks[RELOAD_HOOKS_MAX];
	unsigned nhooks;
};

/* cfg: what config_parse made of argc/argv at start (before server_derive). */
void reload_init(struct reload *r, struct server *srv, const struct config *cfg, int argc,
		 char **argv);

/* Returns 0 or -ENOSPC. */
int reload_add_hook(struct reload *r, reload_hook_fn fn, void *arg);

/* SIGHUP: the hooks' BEGIN; defaults, the --config file, the flags; reload_apply; the hooks'
 * DONE or FAILED. Returns 0, or -1 when the running configuration was kept (logged and
 * counted). Without --config, logs that there is nothing to re-read. */
int reload_run(struct reload *r);

/* Puts next, a complete configuration that parsed, into effect as far as it can change live
 * (what SIGHUP does after reading; tests call it directly). Returns 0, or -ENOMEM with
 * nothing changed (logged and counted). */
int reload_apply(struct reload *r, const struct config *next);

#endif
