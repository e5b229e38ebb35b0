/*
 * main.c - chatd's entry point: flags and the --config file -> config, signals, start, wait
 * for signals, stop. The signals are blocked in every thread and taken here with sigwait, so
 * no handler runs inside a worker: SIGHUP re-reads the --config file on this thread
 * (reload.c), SIGINT and SIGTERM stop the server. --check-config validates and exits without
 * binding anything. Under a service manager (NOTIFY_SOCKET: systemd's Type=notify),
 * chatd says it is ready once every listener accepts, reloading around a SIGHUP, and stopping
 * when a signal starts the shutdown (notify.h).
 */
#include "config.h"
#include "log.h"
#include "notify.h"
#include "reload.h"
#include "server.h"

#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* --check-config: everything config_parse checked, and what the server would refuse before
 * binding. Exit status 0 or 1. */
static int check_config(const struct config *cfg)
{
	log_set_level(LOG_ERROR); /* only what is wrong */
	if (server_check(cfg) < 0) {
		fprintf(stderr, "chatd: configuration invalid\n");
		return 1;
	}
	if (cfg->config_file[0] != '\0')
		printf("chatd: configuration OK (%s and the flags)\n", cfg->config_file);
	else
		printf("chatd: configuration OK (the flags)\n");
	return 0;
}

/* SIGHUP with --state-dir: the bans file is read again (bans.h). */
static void reread_bans(void *arg, enum reload_phase phase, const struct config *cfg)
{
	(void)cfg;
	struct server *srv = arg;
	if (phase == RELOAD_BEGIN || srv->hub.cfg.state_dir[0] == '\0')
		return;
	char why[PATH_MAX + 64] = "";
	int n = bans_reload(&srv->hub.bans, why, sizeof(why));
	if (n < 0)
		log_error(-1, 0, "reload: bans kept as they were: %s", why);
	else
		log_info(-1, 0, "reload: %d bans read from %s/bans", n, srv->hub.cfg.state_dir);
}

/* SIGHUP under a service manager: RELOADING=1 while the file is re-read, READY=1 after. */
static void tell_service_manager(void *arg, enum reload_phase phase, const struct config *cfg)
{
	(void)arg;
	(void)cfg;
	if (phase == RELOAD_BEGIN)
		notify_reloading();
	else
		notify_ready("reloaded");
}

int main(int argc, char **argv)
{
	struct config cfg;
	config_defaults(&cfg);
	int rc = config_parse(&cfg, argc, argv);
	if (rc > 0)
		return 0;
	if (rc < 0)
		return config_wants_check(argc, argv) ? 1 : 2;
	if (cfg.check_only)
		return check_config(&cfg);
	log_set_level((enum log_level)cfg.log_level);
	log_set_format((enum log_format)cfg.log_format);

	sigset_t signals;
	sigemptyset(&signals);
	sigaddset(&signals, SIGINT);
	sigaddset(&signals, SIGTERM);
	sigaddset(&signals, SIGHUP);
	pthread_sigmask(SIG_BLOCK, &signals, NULL); /* inherited by every thread */
	(void)signal(SIGPIPE, SIG_IGN);             /* belt and braces: writes use MSG_NOSIGNAL */

	if (log_start() < 0)
		fprintf(stderr, "chatd: logging thread not started; logging directly\n");
	struct server *srv;
	rc = server_start(&cfg, &srv);
	if (rc < 0) {
		log_stop();
		return 1;
	}
	char status[160];
	snprintf(status, sizeof(status), "listening on %s port %u, %u workers", cfg.bind_addr,
		 server_port(srv), srv->hub.nworkers);
	notify_ready(status); /* a failure is logged; chatd serves unsupervised as well */
	if (cfg.config_file[0] != '\0')
		log_info(-1, 0,
			 "configuration read from %s (flags win over it; SIGHUP re-reads it)",
			 cfg.config_file);
	struct reload reload;
	reload_init(&reload, srv, &cfg, argc, argv);
	reload_add_hook(&reload, tell_service_manager, NULL);
	reload_add_hook(&reload, reread_bans, srv);
	int sig = 0;
	while (sigwait(&signals, &sig) == 0 && sig == SIGHUP)
		(void)reload_run(&reload); /* logs and counts its outcome */
	log_info(-1, 0, "%s received: shutting down (drain timeout %d ms)", strsignal(sig),
		 reload.running.drain_timeout_ms);
	snprintf(status, sizeof(status), "shutting down (%s)", strsignal(sig));
	notify_stopping(status);
	server_stop(srv);
	server_wait(srv);
	log_stop();
	return 0;
}
