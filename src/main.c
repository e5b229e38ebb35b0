/*
 * main.c - chatd's entry point: flags and the --config file -> config, signals, start, wait
 * for signals, stop. The signals are blocked in every thread and taken here with sigwait, so
 * no handler runs inside a worker: SIGHUP re-reads the --config file on this thread
 * (reload.c), SIGINT and SIGTERM stop the server. --check-config validates and exits without
 * binding anything.
 */
#include "config.h"
#include "log.h"
#include "reload.h"
#include "server.h"

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
	if (cfg.config_file[0] != '\0')
		log_info(-1, 0,
			 "configuration read from %s (flags win over it; SIGHUP re-reads it)",
			 cfg.config_file);
	struct reload reload;
	reload_init(&reload, srv, &cfg, argc, argv);
	int sig = 0;
	while (sigwait(&signals, &sig) == 0 && sig == SIGHUP)
		(void)reload_run(&reload); /* logs and counts its outcome */
	log_info(-1, 0, "%s received: shutting down (drain timeout %d ms)", strsignal(sig),
		 reload.running.drain_timeout_ms);
	server_stop(srv);
	server_wait(srv);
	log_stop();
	return 0;
}
