/*
 * main.c - chatd's entry point: flags -> config, signals, start, wait for SIGINT/SIGTERM,
 * stop. The signals are blocked in every thread and taken here with sigwait, so no handler
 * runs inside a worker. SIGHUP, which by default would kill the process, is taken too: there
 * is no configuration file to re-read yet (chatd takes flags only), so it is logged and
 * otherwise ignored.
 */
#include "config.h"
#include "log.h"
#include "server.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int main(int argc, char **argv)
{
	struct config cfg;
	config_defaults(&cfg);
	int rc = config_parse(&cfg, argc, argv);
	if (rc != 0)
		return rc > 0 ? 0 : 2;
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
	int sig = 0;
	while (sigwait(&signals, &sig) == 0 && sig == SIGHUP)
		log_info(-1, 0,
			 "SIGHUP received: no configuration file to re-read (chatd takes "
			 "flags only); ignored");
	log_info(-1, 0, "%s received: shutting down (drain timeout %d ms)", strsignal(sig),
		 cfg.drain_timeout_ms);
	server_stop(srv);
	server_wait(srv);
	log_stop();
	return 0;
}
