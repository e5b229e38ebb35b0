/*
 * stress.h - concurrency scenarios shared by the criterion suite and the ThreadSanitizer
 * driver (tsan_main.c). Each returns NULL on success or a description of the first failure.
 *
 * Why both: criterion's runner cannot start under ThreadSanitizer (Snaipe/Criterion#274, its
 * arena collides with TSan's address-space layout), so `make tsan` runs these same scenarios
 * from a plain driver built with -fsanitize=thread, while `make test` and `make asan` run them
 * through criterion.
 */
#ifndef CHATD_STRESS_H
#define CHATD_STRESS_H

#include <stdbool.h>

/* producers x per_producer pushes; checks nothing lost, duplicated or reordered per producer.
 * sleepy: the consumer blocks on the eventfd whenever inbox_prepare_sleep allows, and a 5 s
 * sleep with items still expected counts as a lost wake-up. */
const char *stress_inbox(unsigned producers, unsigned per_producer, bool sleepy);

/* threads workers each hold and release every one of `messages` shared messages. */
const char *stress_msg_refcount(unsigned threads, unsigned messages);

/*
 * A server with `workers` workers and `clients` clients; `senders` of them send `lines`
 * numbered lines each; every client must receive every line, per-sender in order. With
 * slow_reader, one more client never reads and must be cut off while the others still get
 * everything. The server is then stopped; no message buffer may be left.
 */
const char *stress_server_chat(unsigned workers, unsigned clients, unsigned senders, unsigned lines,
			       bool slow_reader);

/*
 * The same chat with one client that never reads, under --max-memory: once the heap passes
 * the cap, the reader that holds the most is cut (and only it: everyone else keeps getting
 * every line). Under TSan this is the data-race check of the memory guard's rounds.
 */
const char *stress_memory_cap(unsigned workers, unsigned clients, unsigned senders, unsigned lines);

/*
 * clients users on `workers` workers rename themselves, hop between rooms, send private
 * messages and room lines, and ask /who and /rooms, all at once, for `rounds` rounds. Then
 * every user must be in exactly one room (the /rooms counts add up), and the server must stop
 * with nothing leaked. Under TSan this is the data-race check of the directory and the rooms.
 */
const char *stress_chat_commands(unsigned workers, unsigned clients, unsigned rounds);

/*
 * clients IRC users on `workers` workers join and part channels (several at once), speak in
 * them, rename themselves, ask TOPIC, MODE, WHOIS and NAMES, for `rounds` rounds; then half of
 * them are cut at once. Each time, the /rooms counts must add up to the memberships they
 * should have, and the server must stop with nothing leaked. Under TSan this is the data-race
 * check of a user's several rooms (directory slots, local member arrays, swap-removes).
 */
const char *stress_irc_channels(unsigned workers, unsigned clients, unsigned rounds);

/*
 * The chat of stress_server_chat while another thread reloads the configuration as fast as it
 * can (reload_apply), every live setting flipping between two values: every line still
 * arrives, in order, and nothing leaks. Under TSan this is the data-race check of the
 * configuration snapshots (live.c) and of the modules' setters.
 */
const char *stress_reload_chat(unsigned workers, unsigned clients, unsigned senders,
			       unsigned lines);

/*
 * Two cluster nodes (`workers` workers each) through a redis-server it starts on a free
 * loopback port: a sender on node a says a third of `lines` numbered lines in a room, then
 * `newcomers` users enter the room on node b, where it is new (its history is read from
 * Redis), while the sender says the rest. Each newcomer must get every line once, in order,
 * in the history block or live. Under TSan this is the data-race check of the history read
 * from Redis (the link worker seeding a room's history that the other workers read).
 */
const char *stress_cluster_history(unsigned workers, unsigned newcomers, unsigned lines);

#endif
