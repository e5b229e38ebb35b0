/*
 * test_resp_redis.c - src/resp.c against a real redis-server (started per test on a free
 * loopback port by tests/testlib.c, stopped in the suite's .fini): commands written by
 * resp_write_command, answers read by resp_parse, in RESP2 and after HELLO 3 in RESP3: PING,
 * binary values, integers, a Lua script's nested array, HELLO's map, every RESP3 type Redis
 * can be made to send (DEBUG PROTOCOL), pipelining, a large value arriving in many reads,
 * pub/sub messages recognised by resp_pubsub, and a server killed and restarted on its port.
 */
#include "common.h"
#include "resp.h"
#include "testlib.h"

#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

static int redis_pid;

static void redis_stop(void)
{
	ts_redis_stop(redis_pid);
	redis_pid = 0;
}

TestSuite(resp_redis, .fini = redis_stop, .timeout = 30);

/* A redis-server for this test (DEBUG allowed from loopback, for DEBUG PROTOCOL). */
static uint16_t redis_start(void)
{
	static const char *const args[] = { "--enable-debug-command", "local", NULL };
	uint16_t port = 0;
	redis_pid = ts_redis_start(&port, args);
	return port;
}

static struct tredis *connect_resp3(uint16_t port)
{
	struct tredis *c = tr_connect(port);
	const struct resp_node *r = TR_COMMAND(c, "HELLO", "3");
	cr_assert_eq(r->type, RESP_MAP, "HELLO 3 answered type %d", r->type);
	return c;
}

/* The value of key in map m (fails the test when it is not there). */
static const struct resp_node *field(const struct resp_node *m, const char *key)
{
	const struct resp_node *v = resp_map_get(m, key);
	cr_assert_not_null(v, "no %s in the map", key);
	return v;
}

Test(resp_redis, ping_answers_pong)
{
	struct tredis *c = tr_connect(redis_start());
	const struct resp_node *r = TR_COMMAND(c, "PING");
	cr_assert_eq(r->type, RESP_SIMPLE);
	tr_expect_str(r, "PONG");
	r = TR_COMMAND(c, "PING", "hello");
	cr_assert_eq(r->type, RESP_BULK);
	tr_expect_str(r, "hello");
	tr_close(c);
}

Test(resp_redis, binary_value_with_nul_and_crlf_comes_back_whole)
{
	static const char key[] = "k\r\n\0ey";
	static const char value[] = "a\0b\r\n$3\r\n*1\r\n\r\n\xff";
	struct tredis *c = tr_connect(redis_start());
	struct resp_arg set[] = { RESP_ARG_LIT("SET"),
				  { key, sizeof(key) - 1 },
				  { value, sizeof(value) - 1 } };
	tr_send(c, 3, set);
	tr_expect_str(tr_reply(c, 5000), "OK");
	struct resp_arg get[] = { RESP_ARG_LIT("GET"), { key, sizeof(key) - 1 } };
	tr_send(c, 2, get);
	const struct resp_node *r = tr_reply(c, 5000);
	cr_assert_eq(r->type, RESP_BULK);
	cr_assert_eq(r->len, sizeof(value) - 1);
	cr_assert_eq(memcmp(r->str, value, r->len), 0);
	tr_close(c);
}

Test(resp_redis, missing_key_is_null_in_both_protocols)
{
	uint16_t port = redis_start();
	struct tredis *c2 = tr_connect(port), *c3 = connect_resp3(port);
	cr_assert_eq(TR_COMMAND(c2, "GET", "nothing")->type, RESP_NULL);           /* $-1 */
	cr_assert_eq(TR_COMMAND(c3, "GET", "nothing")->type, RESP_NULL);           /* _ */
	cr_assert_eq(TR_COMMAND(c2, "BLPOP", "nothing", "0.01")->type, RESP_NULL); /* *-1 */
	tr_close(c2);
	tr_close(c3);
}

Test(resp_redis, incr_counts_up_to_int64_max_then_errs)
{
	struct tredis *c = tr_connect(redis_start());
	const struct resp_node *r = TR_COMMAND(c, "INCR", "n");
	cr_assert_eq(r->type, RESP_INTEGER);
	cr_assert_eq(r->integer, 1);
	cr_assert_eq(TR_COMMAND(c, "INCR", "n")->integer, 2);
	r = TR_COMMAND(c, "INCRBY", "n", "9223372036854775805");
	cr_assert_eq(r->integer, INT64_MAX);
	cr_assert_eq(TR_COMMAND(c, "DECRBY", "m", "9223372036854775807")->integer, -INT64_MAX);
	cr_assert_eq(TR_COMMAND(c, "DECR", "m")->integer, INT64_MIN);
	r = TR_COMMAND(c, "INCR", "n");
	cr_assert_eq(r->type, RESP_ERROR);
	cr_assert(r->len > 4 && memcmp(r->str, "ERR ", 4) == 0, "%.*s", (int)r->len, r->str);
	tr_close(c);
}

Test(resp_redis, lua_script_returns_a_nested_array)
{
	struct tredis *c = tr_connect(redis_start());
	const struct resp_node *r = TR_COMMAND(
	    c, "EVAL", "return {1, 'two', {3, 'four'}, redis.status_reply('OK'), KEYS[1]}", "1",
	    "key\r\n");
	cr_assert_eq(r->type, RESP_ARRAY);
	cr_assert_eq(r->n, 5);
	cr_assert_eq(resp_child(r, 0)->integer, 1);
	tr_expect_str(resp_child(r, 1), "two");
	const struct resp_node *inner = resp_child(r, 2);
	cr_assert_eq(inner->type, RESP_ARRAY);
	cr_assert_eq(inner->n, 2);
	cr_assert_eq(resp_child(inner, 0)->integer, 3);
	tr_expect_str(resp_child(inner, 1), "four");
	cr_assert_eq(resp_child(r, 3)->type, RESP_SIMPLE);
	tr_expect_str(resp_child(r, 3), "OK");
	tr_expect_str(resp_child(r, 4), "key\r\n");
	tr_close(c);
}

Test(resp_redis, hello_3_answers_a_map_and_switches_to_resp3)
{
	struct tredis *c = tr_connect(redis_start());
	const struct resp_node *r = TR_COMMAND(c, "HELLO", "3");
	cr_assert_eq(r->type, RESP_MAP);
	tr_expect_str(field(r, "server"), "redis");
	cr_assert_eq(field(r, "proto")->integer, 3);
	const struct resp_node *v = field(r, "version");
	cr_assert(v->len > 2 && v->str[0] >= '6', "version %.*s", (int)v->len, v->str);
	cr_assert_eq(field(r, "modules")->type, RESP_ARRAY);
	/* a hash is a map now, and a set a set */
	TR_COMMAND(c, "HSET", "h", "f1", "v1", "f2", "v2");
	r = TR_COMMAND(c, "HGETALL", "h");
	cr_assert_eq(r->type, RESP_MAP);
	cr_assert_eq(r->n, 4);
	tr_expect_str(field(r, "f2"), "v2");
	TR_COMMAND(c, "SADD", "s", "a", "b");
	r = TR_COMMAND(c, "SMEMBERS", "s");
	cr_assert_eq(r->type, RESP_SET);
	cr_assert_eq(r->n, 2);
	TR_COMMAND(c, "ZADD", "z", "1.5", "m");
	r = TR_COMMAND(c, "ZSCORE", "z", "m");
	cr_assert_eq(r->type, RESP_DOUBLE);
	cr_assert(r->dbl == 1.5);
	tr_close(c);
}

Test(resp_redis, every_resp3_type_redis_sends_is_read)
{
	struct tredis *c = connect_resp3(redis_start());
	const struct resp_node *r = TR_COMMAND(c, "DEBUG", "PROTOCOL", "bignum");
	cr_assert_eq(r->type, RESP_BIG_NUMBER);
	cr_assert(r->len > 19);
	r = TR_COMMAND(c, "DEBUG", "PROTOCOL", "double");
	cr_assert_eq(r->type, RESP_DOUBLE);
	cr_assert(r->dbl > 3.14 && r->dbl < 3.15);
	cr_assert_eq(TR_COMMAND(c, "DEBUG", "PROTOCOL", "null")->type, RESP_NULL);
	r = TR_COMMAND(c, "DEBUG", "PROTOCOL", "true");
	cr_assert_eq(r->type, RESP_BOOL);
	cr_assert_eq(r->integer, 1);
	r = TR_COMMAND(c, "DEBUG", "PROTOCOL", "false");
	cr_assert_eq(r->type, RESP_BOOL);
	cr_assert_eq(r->integer, 0);
	r = TR_COMMAND(c, "DEBUG", "PROTOCOL", "verbatim");
	cr_assert_eq(r->type, RESP_VERBATIM);
	cr_assert_str_eq(r->format, "txt");
	cr_assert(memchr(r->str, '\n', r->len) != NULL, "the text has a newline");
	r = TR_COMMAND(c, "DEBUG", "PROTOCOL", "map");
	cr_assert_eq(r->type, RESP_MAP);
	cr_assert_eq(resp_child(r, 1)->type, RESP_BOOL);
	cr_assert_eq(TR_COMMAND(c, "DEBUG", "PROTOCOL", "set")->type, RESP_SET);
	r = TR_COMMAND(c, "DEBUG", "PROTOCOL", "array");
	cr_assert_eq(r->type, RESP_ARRAY);
	cr_assert_eq(r->n, 3);
	/* an attribute, then the reply it annotates: only the reply is in the tree */
	r = TR_COMMAND(c, "DEBUG", "PROTOCOL", "attrib");
	cr_assert_eq(r->type, RESP_BULK, "type %d", r->type);
	cr_assert_eq(c->parser.reply_nodes, 1);
	/* a push, then the reply */
	r = TR_COMMAND(c, "DEBUG", "PROTOCOL", "push");
	cr_assert_eq(r->type, RESP_PUSH);
	cr_assert_eq(tr_reply(c, 5000)->type, RESP_BULK);
	tr_close(c);
}

Test(resp_redis, pipelined_commands_are_answered_in_order)
{
	struct tredis *c = tr_connect(redis_start());
	char all[100 * 32];
	size_t n = 0;
	struct resp_arg incr[] = { RESP_ARG_LIT("INCR"), RESP_ARG_LIT("counter") };
	for (int i = 0; i < 100; i++)
		n += resp_write_command(all + n, 2, incr);
	cr_assert_leq(n, sizeof(all));
	tr_send_bytes(c, all, n);
	for (int i = 1; i <= 100; i++)
		cr_assert_eq(tr_reply(c, 5000)->integer, i);
	tr_close(c);
}

Test(resp_redis, large_value_read_across_many_reads)
{
	size_t n = 3u << 20;
	char *value = malloc(n);
	cr_assert_not_null(value);
	for (size_t i = 0; i < n; i++)
		value[i] = (char)(i * 7 + (i >> 11));
	struct tredis *c = tr_connect(redis_start());
	struct resp_arg set[] = { RESP_ARG_LIT("SET"), RESP_ARG_LIT("big"), { value, n } };
	tr_send(c, 3, set);
	tr_expect_str(tr_reply(c, 5000), "OK");
	const struct resp_node *r = TR_COMMAND(c, "GET", "big");
	cr_assert_eq(r->type, RESP_BULK);
	cr_assert_eq(r->len, n);
	cr_assert_eq(memcmp(r->str, value, n), 0);
	free(value);
	tr_close(c);
}

/* SUBSCRIBE on sub (confirmed), PUBLISH on pub, the message read on sub. */
static void subscribe_publish(struct tredis *sub, struct tredis *pub, enum resp_type kind)
{
	static const char payload[] = "hi\0there\r\n";
	struct resp_pubsub ps;
	const struct resp_node *r = TR_COMMAND(sub, "SUBSCRIBE", "chatd:room:lobby");
	cr_assert_eq(r->type, kind);
	cr_assert_eq(resp_pubsub(r, &ps), RESP_PUBSUB_SUBSCRIBE);
	cr_assert_eq(ps.channel.n, 16);
	cr_assert_eq(memcmp(ps.channel.p, "chatd:room:lobby", 16), 0);
	cr_assert_eq(ps.count, 1);
	struct resp_arg publish[] = { RESP_ARG_LIT("PUBLISH"),
				      RESP_ARG_LIT("chatd:room:lobby"),
				      { payload, sizeof(payload) - 1 } };
	tr_send(pub, 3, publish);
	r = tr_reply(pub, 5000);
	cr_assert_eq(r->type, RESP_INTEGER);
	cr_assert_eq(r->integer, 1, "receivers");
	r = tr_reply(sub, 5000);
	cr_assert_eq(r->type, kind);
	cr_assert_eq(resp_pubsub(r, &ps), RESP_PUBSUB_MESSAGE);
	cr_assert_eq(memcmp(ps.channel.p, "chatd:room:lobby", 16), 0);
	cr_assert_eq(ps.payload.n, sizeof(payload) - 1);
	cr_assert_eq(memcmp(ps.payload.p, payload, ps.payload.n), 0);
}

Test(resp_redis, pubsub_message_in_resp2)
{
	uint16_t port = redis_start();
	struct tredis *sub = tr_connect(port), *pub = tr_connect(port);
	subscribe_publish(sub, pub, RESP_ARRAY);
	struct resp_pubsub ps;
	/* PING while subscribed: ["pong", text] */
	cr_assert_eq(resp_pubsub(TR_COMMAND(sub, "PING", "probe"), &ps), RESP_PUBSUB_PONG);
	cr_assert_eq(ps.payload.n, 5);
	cr_assert_eq(resp_pubsub(TR_COMMAND(sub, "UNSUBSCRIBE"), &ps), RESP_PUBSUB_UNSUBSCRIBE);
	cr_assert_eq(ps.count, 0);
	tr_close(sub);
	tr_close(pub);
}

Test(resp_redis, pubsub_message_in_resp3_is_a_push)
{
	uint16_t port = redis_start();
	struct tredis *sub = connect_resp3(port), *pub = connect_resp3(port);
	subscribe_publish(sub, pub, RESP_PUSH);
	struct resp_pubsub ps;
	/* a command's reply on a subscribed RESP3 connection is an ordinary reply */
	const struct resp_node *r = TR_COMMAND(sub, "PING");
	cr_assert_eq(resp_pubsub(r, &ps), RESP_PUBSUB_NONE);
	tr_expect_str(r, "PONG");
	r = TR_COMMAND(sub, "PSUBSCRIBE", "chatd:node:*");
	cr_assert_eq(resp_pubsub(r, &ps), RESP_PUBSUB_PSUBSCRIBE);
	cr_assert_eq(ps.count, 2);
	r = TR_COMMAND(pub, "PUBLISH", "chatd:node:7", "probe");
	cr_assert_eq(r->integer, 1);
	cr_assert_eq(resp_pubsub(tr_reply(sub, 5000), &ps), RESP_PUBSUB_PMESSAGE);
	cr_assert_eq(ps.pattern.n, 12);
	cr_assert_eq(ps.channel.n, 12);
	cr_assert_eq(ps.payload.n, 5);
	tr_close(sub);
	tr_close(pub);
}

Test(resp_redis, server_killed_and_restarted_on_its_port_answers_again)
{
	uint16_t port = redis_start();
	struct tredis *c = tr_connect(port);
	tr_expect_str(TR_COMMAND(c, "SET", "k", "v"), "OK");
	ts_redis_stop(redis_pid); /* SIGKILL */
	redis_pid = 0;
	tr_close(c);
	redis_pid = ts_redis_start_on(port, NULL);
	c = tr_connect(port);
	tr_expect_str(TR_COMMAND(c, "PING"), "PONG");
	cr_assert_eq(TR_COMMAND(c, "GET", "k")->type, RESP_NULL, "nothing was saved");
	tr_close(c);
}
