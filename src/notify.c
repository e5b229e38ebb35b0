/*
 * notify.c - the readiness protocol of systemd's Type=notify services, written here (no
 * libsystemd): one AF_UNIX datagram of newline-separated KEY=value lines to the socket named
 * by NOTIFY_SOCKET, as sd_notify(3) describes it. READY=1 also carries MAINPID, the process
 * systemd should watch (it is already the one it started: chatd does not fork, so this only
 * makes the message self-contained). An address starting with '@' is in Linux's abstract
 * namespace: the '@' becomes a NUL byte and the address length counts no final NUL.
 *
 * Main thread only; nothing kept between calls (a socket per message: a handful per run).
 */
#include "notify.h"
#include "log.h"

#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

/* Fills addr from NOTIFY_SOCKET's value; returns the address length or -errno. */
static int notify_address(const char *name, struct sockaddr_un *addr, socklen_t *len)
{
	size_t n = strlen(name);
	if (name[0] != '/' && name[0] != '@')
		return -EAFNOSUPPORT; /* e.g. "vsock:..." (a VM's manager): not supported */
	if (n >= sizeof(addr->sun_path))
		return -ENAMETOOLONG;
	memset(addr, 0, sizeof(*addr));
	addr->sun_family = AF_UNIX;
	memcpy(addr->sun_path, name, n);
	*len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + n);
	if (name[0] == '@')
		addr->sun_path[0] = '\0'; /* abstract: the length counts no final NUL */
	else
		*len += 1;
	return 0;
}

int notify_send(const char *state)
{
	const char *name = getenv("NOTIFY_SOCKET");
	if (name == NULL || name[0] == '\0')
		return 0;
	struct sockaddr_un addr;
	socklen_t len = 0;
	int rc = notify_address(name, &addr, &len);
	if (rc < 0)
		return rc;
	int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	size_t n = strlen(state);
	ssize_t sent = sendto(fd, state, n, MSG_NOSIGNAL, (const struct sockaddr *)&addr, len);
	if (sent < 0)
		rc = -errno;
	else if ((size_t)sent != n)
		rc = -EMSGSIZE; /* a datagram goes whole or not at all: cannot happen */
	close(fd);
	return rc;
}

/* Sends state; logs a failure once, naming the first line of what was not sent. */
static int notify_logged(const char *state)
{
	int rc = notify_send(state);
	if (rc < 0)
		log_warn(-1, 0, "NOTIFY_SOCKET %s: cannot send %.*s: %s (chatd runs on)",
			 getenv("NOTIFY_SOCKET"), (int)strcspn(state, "\n"), state, strerror(-rc));
	return rc;
}

int notify_ready(const char *status)
{
	char state[512];
	snprintf(state, sizeof(state), "READY=1\nSTATUS=%s\nMAINPID=%ld", status, (long)getpid());
	return notify_logged(state);
}

int notify_reloading(void)
{
	/* systemd 253's Type=notify-reload wants the time the reload started with it */
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	char state[128];
	snprintf(state, sizeof(state),
		 "RELOADING=1\nSTATUS=reloading configuration\nMONOTONIC_USEC=%llu",
		 (unsigned long long)ts.tv_sec * 1000000ULL +
		     (unsigned long long)ts.tv_nsec / 1000ULL);
	return notify_logged(state);
}

int notify_stopping(const char *status)
{
	char state[512];
	snprintf(state, sizeof(state), "STOPPING=1\nSTATUS=%s", status);
	return notify_logged(state);
}
