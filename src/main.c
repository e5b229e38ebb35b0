/*
 * main.c - chatd's entry point: flags -> config, signals, start, wait for SIGINT/SIGTERM,
 * stop. The signals are blocked in every thread and taken here with sigwait, so no handler
 * runs inside a worker. SIGHUP, which by default would kill the process, is taken too: there
 * is no configuration file to re-read yet (chatd takes flags only), so it is logged and
 * otherwise ignored. Under a service manager (NOTIFY_SOCKET: systemd's Type=notify), chatd
 * says it is ready once every listener accepts, and that it is stopping when a signal starts
 * the shutdown (notify.h).
 */
#include "config.h"
#include "log.h"
#include "notify.h"
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
	int sig = 0;
	while (sigwait(&signals, &sig) == 0 && sig == SIGHUP)
		log_info(-1, 0,
			 "SIGHUP received: no configuration file to re-read (chatd takes "
			 "flags only); ignored");
	log_info(-1, 0, "%s received: shutting down (drain timeout %d ms)", strsignal(sig),
		 cfg.drain_timeout_ms);
	snprintf(status, sizeof(status), "shutting down (%s)", strsignal(sig));
	notify_stopping(status);
	server_stop(srv);
	server_wait(srv);
	log_stop();
	return 0;
}
