/*
 * notify.h - telling the service manager how chatd is doing: systemd's readiness protocol
 * (sd_notify(3), "Type=notify" in a unit), written here without libsystemd.
 *
 * When the environment has NOTIFY_SOCKET (a file-system path, or '@' and a name in the
 * abstract namespace), each call sends one datagram of "KEY=value" lines to it over an
 * AF_UNIX SOCK_DGRAM socket; without it, each call does nothing and returns 0. A failure is
 * logged (log.h) and returned, never fatal: chatd serves as well unsupervised.
 *
 * Thread: the main thread (main.c), between server_start and server_wait. Reads the
 * environment; no state of its own.
 */
#ifndef CHATD_NOTIFY_H
#define CHATD_NOTIFY_H

/*
 * Sends state (newline-separated KEY=value lines, e.g. "READY=1\nSTATUS=up") as one datagram.
 * Returns 0 when sent or when NOTIFY_SOCKET is unset, or -errno (-EAFNOSUPPORT for an address
 * that is neither a path nor '@'name, -ENAMETOOLONG for one that does not fit sun_path).
 */
int notify_send(const char *state);

/* "READY=1", "STATUS=<status>" and "MAINPID=<pid>": every listener accepts. Logs a failure. */
int notify_ready(const char *status);

/* "RELOADING=1" with "MONOTONIC_USEC" and "STATUS=reloading configuration": a SIGHUP re-read
 * starts; notify_ready again when it is done. Logs a failure. */
int notify_reloading(void);

/* "STOPPING=1" and "STATUS=<status>": shutdown starts. Logs a failure. */
int notify_stopping(const char *status);

#endif
