/*
 * tsan_main.c - runs the concurrency scenarios of stress.c in a binary built with
 * -fsanitize=thread (`make tsan`). Criterion's runner cannot start under ThreadSanitizer
 * (Snaipe/Criterion#274), so this driver stands in for it here and prints the same kind of
 * closing line. TSan reports make the process exit non-zero (halt_on_error).
 */
#include "stress.h"

#include <stdio.h>

struct scenario {
	const char *name;
	const char *(*run)(void);
};

static const char *inbox_fifo(void)
{
	return stress_inbox(4, 100000, false);
}
static const char *inbox_wakeup(void)
{
	return stress_inbox(4, 100000, true);
}
static const char *msg_refcount(void)
{
	return stress_msg_refcount(4, 20000);
}
static const char *server_fifo(void)
{
	return stress_server_chat(4, 200, 20, 50, false);
}
static const char *chat_commands(void)
{
	return stress_chat_commands(4, 40, 60);
}

static const char *irc_channels(void)
{
	return stress_irc_channels(4, 40, 60);
}

static const char *server_slow(void)
{
	return stress_server_chat(4, 50, 5, 20, true);
}

static const char *cluster_history(void)
{
	return stress_cluster_history(4, 12, 60);
}

static const char *memory_cap(void)
{
	return stress_memory_cap(2, 10, 2, 20);
}

static const char *reload_chat(void)
{
	return stress_reload_chat(4, 40, 4, 50);
}

int main(void)
{
	static const struct scenario scenarios[] = {
		{ "inbox: 4 producers x 100k, nothing lost or reordered", inbox_fifo },
		{ "inbox: wake-up protocol never sleeps with work queued", inbox_wakeup },
		{ "msg: refcount across 4 threads frees each message once", msg_refcount },
		{ "server: per-sender FIFO, 4 workers, 200 clients", server_fifo },
		{ "server: slow consumer cut off, others get everything", server_slow },
		{ "server: over --max-memory the largest consumer is cut, others get everything",
		  memory_cap },
		{ "chat: renames, joins, /msg, /who, /rooms from 40 users at once", chat_commands },
		{ "irc: 40 IRC users join, part, speak in several channels at once", irc_channels },
		{ "reload: every live setting swapped while 40 users chat", reload_chat },
		{ "cluster: a room's history and state from Redis, no line lost or twice, 4 "
		  "workers",
		  cluster_history },
	};
	int passed = 0, failed = 0;
	for (size_t i = 0; i < sizeof(scenarios) / sizeof(scenarios[0]); i++) {
		const char *err = scenarios[i].run();
		printf("[%s] %s%s%s\n", err ? "FAIL" : "PASS", scenarios[i].name, err ? ": " : "",
		       err ? err : "");
		(void)fflush(stdout);
		if (err)
			failed++;
		else
			passed++;
	}
	printf("tsan: %d passed, %d failed\n", passed, failed);
	return failed == 0 ? 0 : 1;
}
