/*
 * chat.c - bin/chat, the seed's client.go done right: standard input goes to the server,
 * the server's lines go to standard output. At the end of input it half-closes the socket
 * and keeps printing until the server closes, so `printf 'hi\n' | chat` shows the echo of
 * its own line. Single-threaded: one poll() loop over stdin and the socket.
 *
 *   usage: chat [HOST] [PORT]     (defaults: localhost 2020)
 */
#include <errno.h>
#include <netdb.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static int connect_to(const char *host, const char *port)
{
	struct addrinfo hints = { .ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM };
	struct addrinfo *res;
	int rc = getaddrinfo(host, port, &hints, &res);
	if (rc != 0) {
		fprintf(stderr, "chat: cannot resolve %s: %s\n", host, gai_strerror(rc));
		return -1;
	}
	int fd = -1, err = 0;
	for (struct addrinfo *ai = res; ai != NULL; ai = ai->ai_next) {
		fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC, ai->ai_protocol);
		if (fd >= 0 && connect(fd, ai->ai_addr, ai->ai_addrlen) == 0)
			break;
		err = errno;
		if (fd >= 0)
			close(fd);
		fd = -1;
	}
	freeaddrinfo(res);
	if (fd < 0)
		fprintf(stderr, "chat: cannot connect to %s port %s: %s\n", host, port,
			strerror(err));
	return fd;
}

/* Writes all of buf; returns 0 or -1. */
static int write_all(int fd, const char *buf, size_t n)
{
	while (n > 0) {
		ssize_t w = write(fd, buf, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return -1;
		buf += w;
		n -= (size_t)w;
	}
	return 0;
}

int main(int argc, char **argv)
{
	if (argc > 3 ||
	    (argc > 1 && (strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0))) {
		fprintf(argc > 3 ? stderr : stdout, "usage: chat [HOST] [PORT]\n");
		return argc > 3 ? 2 : 0;
	}
	const char *host = argc > 1 ? argv[1] : "localhost";
	const char *port = argc > 2 ? argv[2] : "2020";
	(void)signal(SIGPIPE, SIG_IGN);
	int fd = connect_to(host, port);
	if (fd < 0)
		return 1;

	char buf[65536];
	struct pollfd pfd[2] = { { .fd = STDIN_FILENO, .events = POLLIN },
				 { .fd = fd, .events = POLLIN } };
	for (;;) {
		if (poll(pfd, 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			perror("chat: poll");
			return 1;
		}
		if (pfd[1].revents) {
			ssize_t n = read(fd, buf, sizeof(buf));
			if (n == 0)
				return 0; /* the server closed: we are done */
			if (n < 0 && errno != EINTR) {
				fprintf(stderr, "chat: connection lost: %s\n", strerror(errno));
				return 1;
			}
			if (n > 0 && write_all(STDOUT_FILENO, buf, (size_t)n) < 0)
				return 1;
		}
		if (pfd[0].revents) {
			ssize_t n = read(STDIN_FILENO, buf, sizeof(buf));
			if (n < 0 && errno == EINTR)
				continue;
			if (n <= 0) {
				/* End of input: half-close and keep printing until the server closes. */
				shutdown(fd, SHUT_WR);
				pfd[0].fd = -1;
			} else if (write_all(fd, buf, (size_t)n) < 0) {
				fprintf(stderr, "chat: connection lost: %s\n", strerror(errno));
				return 1;
			}
		}
	}
}
