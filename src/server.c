/*
 * server.c - starting and stopping chatd: one SO_REUSEPORT listener and one worker thread per
 * --workers, the shared join/leave state, and the orderly shutdown. Runs on the thread that
 * calls it (main, or a test); the workers run on their own threads.
 */
#include "server.h"
#include "auth.h"
#include "admin.h"
#include "cidr.h"
#include "cluster.h"
#include "ircd.h"
#include "log.h"
#include "listener.h"
#include "operator.h"
#include "route.h"
#include "secret.h"
#include "session.h"
#include "shed.h"
#include "web.h"

#include <arpa/inet.h>
#include <errno.h>
#include <grp.h>
#include <limits.h>
#include <pwd.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/random.h>
#include <unistd.h>

#define FD_RESERVE_BASE       32 /* stdio, logger, probe sockets, slack */
#define FD_RESERVE_PER_WORKER 3  /* epoll, eventfd, listener */

union sockaddr_any {
	struct sockaddr sa;
	struct sockaddr_in in4;
	struct sockaddr_in6 in6;
};

static int make_addr(const char *host, int port, union sockaddr_any *a, socklen_t *len)
{
	memset(a, 0, sizeof(*a));
	if (inet_pton(AF_INET, host, &a->in4.sin_addr) == 1) {
		a->in4.sin_family = AF_INET;
		a->in4.sin_port = htons((uint16_t)port);
		*len = sizeof(a->in4);
		return 0;
	}
	if (inet_pton(AF_INET6, host, &a->in6.sin6_addr) == 1) {
		a->in6.sin6_family = AF_INET6;
		a->in6.sin6_port = htons((uint16_t)port);
		*len = sizeof(a->in6);
		return 0;
	}
	return -EINVAL;
}

/* The kernel caps listen()'s backlog at net.core.somaxconn: ask for exactly that. */
static int read_somaxconn(void)
{
	int v = 4096;
	FILE *f = fopen("/proc/sys/net/core/somaxconn", "r");
	if (f != NULL) {
		char line[32];
		if (fgets(line, sizeof(line), f) != NULL) {
			char *end;
			long l = strtol(line, &end, 10);
			if (end != line && l > 0 && l <= INT_MAX)
				v = (int)l;
		}
		(void)fclose(f); /* read-only: nothing to flush */
	}
	return v;
}

/* Raises the soft open-file limit to the hard one; returns the resulting soft limit. */
static long raise_fd_limit(void)
{
	struct rlimit rl;
	if (getrlimit(RLIMIT_NOFILE, &rl) < 0)
		return 1024;
	if (rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		if (setrlimit(RLIMIT_NOFILE, &rl) < 0)
			getrlimit(RLIMIT_NOFILE, &rl);
	}
	return rl.rlim_cur == RLIM_INFINITY ? 1L << 20 : (long)rl.rlim_cur;
}

/*
 * With SO_REUSEPORT a second chatd of the same user would silently share the port, so first
 * bind a plain socket: it fails if anyone listens there, and with port 0 it picks the port.
 */
static int probe_port(const union sockaddr_any *addr, socklen_t len, uint16_t *port)
{
	int fd = socket(addr->sa.sa_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	int one = 1, rc = 0;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	union sockaddr_any bound = { 0 };
	socklen_t blen = sizeof(bound);
	if (bind(fd, &addr->sa, len) < 0 || getsockname(fd, &bound.sa, &blen) < 0)
		rc = -errno;
	else
		*port =
		    ntohs(addr->sa.sa_family == AF_INET ? bound.in4.sin_port : bound.in6.sin6_port);
	close(fd);
	return rc;
}

static int open_listener(const union sockaddr_any *addr, socklen_t len, int backlog)
{
	int fd = socket(addr->sa.sa_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	int one = 1;
	if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0 ||
	    setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one)) < 0 ||
	    bind(fd, &addr->sa, len) < 0 || listen(fd, backlog) < 0) {
		int rc = -errno;
		close(fd);
		return rc;
	}
	return fd;
}

/*
 * --user: after the listeners are bound (a port below 1024 needs root), give up root for
 * good: supplementary groups, then the group, then the user. Returns 0 or -errno (logged).
 */
static int drop_privileges(const char *name)
{
	if (name[0] == '\0')
		return 0;
	struct passwd *pw = getpwnam(name);
	if (pw == NULL) {
		log_error(-1, 0, "--user %s: no such user", name);
		return -ENOENT;
	}
	if (geteuid() != 0) {
		if (geteuid() == pw->pw_uid)
			return 0; /* already that user */
		log_error(-1, 0, "--user %s: only root can switch users", name);
		return -EPERM;
	}
	if (setgroups(0, NULL) < 0 || setgid(pw->pw_gid) < 0 || setuid(pw->pw_uid) < 0) {
		int rc = -errno;
		log_error(-1, 0, "--user %s: cannot switch: %s", name, strerror(-rc));
		return rc;
	}
	if (setuid(0) == 0) { /* must be impossible now */
		log_error(-1, 0, "--user %s: root could be regained; refusing to run", name);
		return -EPERM;
	}
	log_info(-1, 0, "running as user %s (uid %u, gid %u)", name, (unsigned)pw->pw_uid,
		 (unsigned)pw->pw_gid);
	return 0;
}

static void server_free(struct server *srv)
{
	bans_destroy(&srv->hub.bans);
	live_destroy(&srv->hub.live);
	iplimit_destroy(&srv->hub.iplimit);
	dir_destroy(&srv->hub.dir);
	free(srv->hub.workers);
	free(srv);
}

/* After the thread is joined: the layers first, then the loop (each detach copes with a layer
 * that was never attached). */
static void worker_teardown(struct worker *w)
{
	cluster_detach(w);
	session_detach(w);
	listener_detach(w);
	route_detach(w);
	shed_detach(w);
	worker_destroy(w);
}

/* One worker: the event loop with the web front end's handlers for new connections, and the
 * layers above the loop attached to it. Takes fd (the worker's listener) over, even when it
 * fails. Returns 0 or -errno; undone by worker_teardown. */
static int worker_setup(struct server *srv, unsigned index, int fd)
{
	struct worker *w = &srv->hub.workers[index];
	int rc = worker_init(w, &srv->hub, index, fd, &web_sniff_ops);
	if (rc < 0) {
		close(fd);
		return rc;
	}
	/* hooks run in this order: the heap sample first (admission uses it), then the inbox,
	 * then, with the reads, new connections */
	if ((rc = shed_attach(w)) < 0 || (rc = route_attach(w)) < 0 ||
	    (rc = listener_attach(w)) < 0 || (rc = session_attach(w)) < 0 ||
	    (rc = cluster_attach(w)) < 0)
		worker_teardown(w);
	return rc;
}

/* The first connection id, whose decimal form is the first generated name. With --cluster,
 * a random one of 100000 to 99999999, so that the generated names of different nodes seldom
 * meet (when they do, the name's claim in Redis settles it: cluster.c). */
static uint64_t first_id(const struct config *cfg)
{
	if (cfg->cluster[0] == '\0')
		return 1;
	uint32_t r = 0;
	if (getrandom(&r, sizeof(r), 0) != (ssize_t)sizeof(r))
		r = (uint32_t)clock_now_us() ^ (uint32_t)getpid();
	return 100000 + r % 99900000;
}

/* --trusted-proxies into the hub (the flag was checked; a config built otherwise, like a
 * test's, is checked here), and --proxy-protocol's need of it. Logs and returns -EINVAL. */
static int load_trusted(struct hub *hub)
{
	size_t bad_len = 0;
	const char *bad = cidr_list_parse(hub->cfg.trusted_proxies, &hub->trusted, &bad_len);
	if (bad != NULL) {
		log_error(-1, 0, "--trusted-proxies: '%.*s' is not an address or range",
			  (int)bad_len, bad);
		return -EINVAL;
	}
	if (hub->cfg.proxy_protocol && hub->trusted.n == 0) {
		log_error(-1, 0,
			  "--proxy-protocol needs --trusted-proxies: the addresses of the proxies "
			  "that send the header");
		return -EINVAL;
	}
	if (hub->cfg.proxy_protocol)
		log_info(-1, 0,
			 "PROXY protocol on: connections only from --trusted-proxies %s, each "
			 "starting with a header",
			 hub->cfg.trusted_proxies);
	return 0;
}

/* --irc-port: its address with the port probed (port 0: one picked), in *addr; srv->irc_port
 * set. Logs and returns -errno. */
static int irc_addr(struct server *srv, union sockaddr_any *addr, socklen_t *len)
{
	const char *host = srv->hub.cfg.bind_addr;
	int rc = make_addr(host, srv->hub.cfg.irc_port, addr, len);
	if (rc == 0)
		rc = probe_port(addr, *len, &srv->irc_port);
	if (rc < 0) {
		log_error(-1, 0, "cannot listen on %s --irc-port %d: %s", host,
			  srv->hub.cfg.irc_port, strerror(-rc));
		return rc;
	}
	if (addr->sa.sa_family == AF_INET)
		addr->in4.sin_port = htons(srv->irc_port);
	else
		addr->in6.sin6_port = htons(srv->irc_port);
	return 0;
}

/* Worker index's IRC listener (--irc-port), when on. Logs and returns -errno. */
static int irc_listen(struct server *srv, unsigned index, const union sockaddr_any *addr,
		      socklen_t len)
{
	if (srv->hub.cfg.irc_port < 0)
		return 0;
	int fd = open_listener(addr, len, srv->backlog);
	int rc = fd < 0 ? fd : worker_add_listener(&srv->hub.workers[index], fd, &ircd_ops);
	if (rc < 0)
		log_error(-1, 0, "cannot listen on %s --irc-port %u: %s", srv->hub.cfg.bind_addr,
			  srv->irc_port, strerror(-rc));
	return rc;
}

/* --irc-password's bytes into the hub. Logs and returns -EINVAL. */
static int load_irc_password(struct hub *hub)
{
	if (hub->cfg.irc_password[0] == '\0')
		return 0;
	int rc = secret_read_file(hub->cfg.irc_password, hub->irc_pass, sizeof(hub->irc_pass),
				  &hub->irc_pass_len);
	if (rc < 0 || hub->irc_pass_len == 0) {
		log_error(-1, 0, "--irc-password %s: %s", hub->cfg.irc_password,
			  rc < 0 ? strerror(-rc) : "empty");
		return -EINVAL;
	}
	return 0;
}

/* Creates the listeners and workers (threads not started). Logs and returns -errno. */
static int server_setup(struct server *srv)
{
	union sockaddr_any addr;
	socklen_t len;
	const char *host = srv->hub.cfg.bind_addr;
	int rc = make_addr(host, srv->hub.cfg.port, &addr, &len);
	if (rc == 0)
		rc = probe_port(&addr, len, &srv->port);
	if (rc < 0) {
		log_error(-1, 0, "cannot listen on %s port %d: %s", host, srv->hub.cfg.port,
			  strerror(-rc));
		return rc;
	}
	if (addr.sa.sa_family == AF_INET)
		addr.in4.sin_port = htons(srv->port);
	else
		addr.in6.sin6_port = htons(srv->port);
	union sockaddr_any irc = { 0 };
	socklen_t irc_len = 0;
	if (srv->hub.cfg.irc_port >= 0 && (rc = irc_addr(srv, &irc, &irc_len)) < 0)
		return rc;
	unsigned made = 0;
	for (; made < srv->hub.nworkers; made++) {
		rc = open_listener(&addr, len, srv->backlog);
		if (rc < 0) {
			log_error(-1, 0, "cannot listen on %s port %u: %s", host, srv->port,
				  strerror(-rc));
			goto err_workers;
		}
		int fd = rc;
		rc = worker_setup(srv, made, fd);
		if (rc < 0) {
			log_error(-1, 0, "cannot set up worker %u: %s", made, strerror(-rc));
			goto err_workers;
		}
		if ((rc = irc_listen(srv, made, &irc, irc_len)) < 0) {
			worker_teardown(&srv->hub.workers[made]);
			goto err_workers;
		}
	}
	return 0;
err_workers:
	while (made-- > 0)
		worker_teardown(&srv->hub.workers[made]);
	return rc;
}

int server_start(const struct config *cfg, struct server **out)
{
	struct server *srv = calloc(1, sizeof(*srv));
	if (srv == NULL)
		return -ENOMEM;
	srv->hub.cfg = *cfg;
	srv->hub.obey_order = operator_obey;
	srv->hub.room_kick = session_room_kick_send;
	long cpus = sysconf(_SC_NPROCESSORS_ONLN);
	srv->hub.nworkers =
	    cfg->workers > 0 ? (unsigned)cfg->workers : (unsigned)(cpus > 0 ? cpus : 1);
	if (srv->hub.nworkers > CONFIG_MAX_WORKERS)
		srv->hub.nworkers = CONFIG_MAX_WORKERS;
	srv->fd_limit = raise_fd_limit();
	long auto_max =
	    srv->fd_limit - FD_RESERVE_BASE - FD_RESERVE_PER_WORKER * (long)srv->hub.nworkers;
	srv->auto_max_clients = auto_max > 1 ? (int)(auto_max < INT_MAX ? auto_max : INT_MAX) : 1;
	server_derive(srv, &srv->hub.cfg);
	srv->backlog = read_somaxconn();
	atomic_init(&srv->hub.next_id, first_id(&srv->hub.cfg));
	if (dir_init(&srv->hub.dir, srv->hub.cfg.max_rooms, srv->hub.cfg.notice_limit) < 0) {
		free(srv);
		return -ENOMEM;
	}
	if (auth_load_key(&srv->hub) < 0 || load_trusted(&srv->hub) < 0 ||
	    load_irc_password(&srv->hub) < 0) {
		dir_destroy(&srv->hub.dir);
		free(srv);
		return -EINVAL;
	}
	char why[PATH_MAX + 64];
	int rc = bans_init(&srv->hub.bans, (size_t)srv->hub.cfg.max_bans, srv->hub.cfg.state_dir,
			   why, sizeof(why));
	if (rc < 0) {
		log_error(-1, 0, "cannot load the bans: %s", why);
		dir_destroy(&srv->hub.dir);
		free(srv);
		return rc;
	}
	dir_set_history(&srv->hub.dir, (uint32_t)srv->hub.cfg.history, srv->hub.cfg.history_bytes);
	dir_set_room_lists(&srv->hub.dir, (uint32_t)srv->hub.cfg.room_lists);
	if (iplimit_init(&srv->hub.iplimit, srv->hub.cfg.max_conns_per_ip) < 0) {
		bans_destroy(&srv->hub.bans);
		dir_destroy(&srv->hub.dir);
		free(srv);
		return -ENOMEM;
	}
	/* The most one connection can cost: its output limit and its input buffers. */
	memory_guard_init(&srv->hub.mem, srv->hub.cfg.max_memory,
			  srv->hub.cfg.max_outbuf + srv->hub.cfg.max_line +
			      srv->hub.cfg.max_http_header);
	srv->hub.workers = calloc(srv->hub.nworkers, sizeof(*srv->hub.workers));
	if (srv->hub.workers == NULL ||
	    live_init(&srv->hub.live, &srv->hub.cfg, srv->hub.nworkers) < 0) {
		server_free(srv);
		return -ENOMEM;
	}
	rc = server_setup(srv);
	if (rc < 0) {
		server_free(srv);
		return rc;
	}
	/* before dropping root: it may bind a low port too */
	rc = admin_start(&srv->hub, &srv->admin, &srv->admin_port);
	if (rc == 0)
		rc = drop_privileges(srv->hub.cfg.user);
	if (rc < 0) {
		admin_stop(srv->admin);
		for (unsigned i = 0; i < srv->hub.nworkers; i++)
			worker_teardown(&srv->hub.workers[i]);
		server_free(srv);
		return rc;
	}
	if (geteuid() == 0 && srv->hub.cfg.user[0] == '\0')
		log_warn(
		    -1, 0,
		    "running as root: a flaw in chatd would give an attacker the machine; start "
		    "it as an ordinary user, or give --user NAME to switch after binding");
	if (srv->hub.cfg.max_clients > auto_max)
		log_warn(-1, 0,
			 "--max-clients %d is above what %ld open files allow (%ld): "
			 "accepts will pause on EMFILE",
			 srv->hub.cfg.max_clients, srv->fd_limit, auto_max);
	unsigned started = 0;
	for (; started < srv->hub.nworkers; started++) {
		rc = -pthread_create(&srv->hub.workers[started].thread, NULL, worker_main,
				     &srv->hub.workers[started]);
		if (rc < 0)
			break;
	}
	if (rc < 0) {
		log_error(-1, 0, "cannot start worker thread: %s", strerror(-rc));
		srv->hub.nworkers = started; /* stop and join the ones that run */
		server_stop(srv);
		server_wait(srv);
		return rc;
	}
	if (srv->hub.cfg.irc_port >= 0)
		log_info(-1, 0, "IRC clients on %s port %u (--irc-port)", srv->hub.cfg.bind_addr,
			 srv->irc_port);
	log_info(-1, 0,
		 "listening on %s port %u: %u workers (one SO_REUSEPORT listener each), "
		 "backlog %d, open-file limit %ld, max clients %d",
		 srv->hub.cfg.bind_addr, srv->port, srv->hub.nworkers, srv->backlog, srv->fd_limit,
		 srv->hub.cfg.max_clients);
	*out = srv;
	return 0;
}

void server_derive(const struct server *srv, struct config *cfg)
{
	if (cfg->max_clients == 0)
		cfg->max_clients = srv->auto_max_clients;
}

int server_check(const struct config *cfg)
{
	int rc = 0;
	struct hub *hub = calloc(1, sizeof(*hub)); /* only its cfg and key: auth_load_key's */
	if (hub == NULL)
		return -ENOMEM;
	hub->cfg = *cfg;
	if (auth_load_key(hub) < 0)
		rc = -EINVAL;
	explicit_bzero(hub->auth_key, sizeof(hub->auth_key));
	free(hub);
	if (cfg->user[0] != '\0' && getpwnam(cfg->user) == NULL) {
		log_error(-1, 0, "--user %s: no such user", cfg->user);
		rc = -EINVAL;
	}
	if (cluster_check_config(cfg) < 0)
		rc = -EINVAL;
	return rc;
}

uint16_t server_irc_port(const struct server *srv)
{
	return srv->irc_port;
}

uint16_t server_port(const struct server *srv)
{
	return srv->port;
}

uint16_t server_admin_port(const struct server *srv)
{
	return srv->admin != NULL ? srv->admin_port : 0;
}

void server_stop(struct server *srv)
{
	/* release: pairs with the workers' acquire load at the top of their loop. */
	atomic_store_explicit(&srv->hub.stopping, true, memory_order_release);
	for (unsigned i = 0; i < srv->hub.nworkers; i++)
		inbox_kick(&srv->hub.workers[i].inbox);
}

void server_wait(struct server *srv)
{
	for (unsigned i = 0; i < srv->hub.nworkers; i++)
		pthread_join(srv->hub.workers[i].thread, NULL);
	admin_stop(srv->admin);
	srv->admin = NULL;
	/* Every thread is joined: no one pushes any more, so inboxes can be emptied. */
	for (unsigned i = 0; i < srv->hub.nworkers; i++)
		worker_teardown(&srv->hub.workers[i]);
	log_info(-1, 0, "stopped");
	server_free(srv);
}

void server_get_stats(struct server *srv, struct server_stats *out)
{
	memset(out, 0, sizeof(*out));
	uint64_t longest = 0;
	for (unsigned i = 0; i < srv->hub.nworkers; i++) {
		struct worker_stats *s = &srv->hub.workers[i].stats;
#define SERVER_STAT_SUM(name, help) \
	out->name += atomic_load_explicit(&s->name, memory_order_relaxed);
		WORKER_STATS(SERVER_STAT_SUM)
#undef SERVER_STAT_SUM
		uint64_t mx = atomic_load_explicit(&s->max_iteration_us, memory_order_relaxed);
		if (mx > longest)
			longest = mx;
	}
	out->max_iteration_us = longest; /* a maximum, not a sum */
	out->users = atomic_load_explicit(&srv->hub.users, memory_order_relaxed);
	out->conns = atomic_load_explicit(&srv->hub.conns, memory_order_relaxed);
}
