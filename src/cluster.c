/*
 * cluster.c - see cluster.h and docs/cluster.md.
 *
 * Wire formats (every key and channel starts with the URL's PREFIX and ':'; NODE is a node id,
 * ID a connection id on it, ROOM a room's name folded to lower case, FOLDED a user's name
 * folded like the directory folds it: case and look-alikes):
 *   room channel    PREFIX:room:ROOM, carrying "SEQ NODE EXCLUDE LINE" (LINE ends in \n;
 *                   EXCLUDE is a connection id on NODE that must not get it, or 0)
 *   room sequence   PREFIX:seq:ROOM, incremented by the publish script
 *   room history    PREFIX:hist:ROOM, a stream of the lines users said (chat and actions),
 *                   each "seq SEQ time MS line LINE" (MS: Redis's clock), added by the
 *                   publish script, capped at about --history entries (MAXLEN ~), expiring
 *                   like the room's members (refreshed with them while anyone is in the room)
 *   node channel    PREFIX:node:NODE: "probe N" (self-probes), "dm NODE ID WORKER NAME\nLINE"
 *                   (a private message for user ID on WORKER)
 *   nodes           PREFIX:nodes, sorted set: node -> time of its last heartbeat (ms)
 *   names           PREFIX:name:FOLDED = "NODE ID WORKER V NAME", SET NX with an expiry (V:
 *                   1 for a signed-in user, auth.h; 0 otherwise)
 *   a node's users  PREFIX:where:NODE, hash: ID -> "ROOM\tFOLDED\tNAME"
 *   room members    PREFIX:members:ROOM, hash: "NODE ID" -> NAME, with an expiry
 *   rooms           PREFIX:rooms, hash: ROOM -> the room's name as spelled
 *   room state      PREFIX:state:ROOM, hash: "f" -> the founder ("NODE ID"), "m:X" -> 1 for
 *                   each mode letter X set, "k" -> the key, "l" -> the limit, "t" -> the
 *                   topic ("AT\tBY\tTEXT"), "b:MASK" -> who banned, "i:FOLDED" -> 1;
 *                   expiring like the room's members, deleted when its last member leaves;
 *                   PREFIX:staterooms, the set of rooms that have one
 *   state channel   PREFIX:state, carrying every change of every room's state, "NODE
 *                   ROOM\tOP\tFIELD\tVALUE" (roomops_apply_locked: OP s d o O v V k n, and
 *                   f a room founded, e a room ended); n, the room's members on every node,
 *                   is published by the user script at each join and leave of a room with a
 *                   limit
 * Every change of a user's state is one script run, so the keys of one user always agree.
 */
#include "cluster.h"
#include "common.h"
#include "directory.h"
#include "log.h"
#include "map.h"
#include "msg.h"
#include "proto.h"
#include "resp.h"
#include "roomops.h"
#include "route.h"
#include "sha1.h"
#include "timer.h"
#include "worker.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <ctype.h>
#include <limits.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define LINK_WORKER    0     /* the worker that owns the link */
#define BACKOFF_MIN_MS 100   /* first retry after the link went down */
#define BACKOFF_MAX_MS 5000  /* retries never wait longer than this */
#define BEAT_MS        2000  /* heartbeat, peers and self-probe period */
#define ALIVE_MS       6000  /* a node not heard from for this long is gone (3 beats) */
#define PROBES_MISSED  2     /* self-probes not back: the subscription is dead */
#define NAME_TTL_S     30    /* a name's claim lasts this long unless refreshed */
#define SYNC_MS        10000 /* claims and memberships are refreshed this often */
/* The link's connections are cut as slow past max(--max-outbuf, this): the greetings and
 * scripts alone queue 4 KB at connect, more than the smallest --max-outbuf. */
#define LINK_OUTBUF_MIN ((size_t)1 << 20)
#define ROOMS_LISTED    500 /* the most rooms a /rooms answer from Redis lists */
/* The most bytes of a room's history read from Redis at once (--history-bytes, up to this):
 * the answer is read whole into the subscriber's buffer (cl->in_max). */
#define SEED_BYTES_MAX ((size_t)1 << 20)
/* nodes of one parsed reply: a /who (a count and DIR_WHO_NAMES_MAX names) or a /rooms (a
 * count and two per room) answer, and pub/sub messages (4) */
#define LINK_NODES (2 * ROOMS_LISTED + 8)
_Static_assert(LINK_NODES > DIR_WHO_NAMES_MAX + 2, "a /who answer fits");

/*
 * INCR the room's sequence number (KEYS[1]), PUBLISH the line with it (KEYS[2]): one order for
 * every node. A line a user said also goes into the room's history stream (KEYS[3]) with its
 * number and the time by Redis's clock (one clock for the lines of every node), in the same
 * step, so the stream holds exactly the lines of the room's order: ARGV[2] is the node's
 * --history, 0 for a notice (not kept) or with --history 0; the stream is capped at about that
 * many entries and expires ARGV[4] seconds after its last line, unless the room's members are
 * refreshed meanwhile (user_script). ARGV[1] is the payload "NODE EXCLUDE LINE", the line
 * starting at byte ARGV[3].
 */
static const char publish_script[] =
    "local seq = redis.call('INCR', KEYS[1])\n"
    "redis.call('PUBLISH', KEYS[2], seq .. ' ' .. ARGV[1])\n"
    "if ARGV[2] ~= '0' then\n"
    "  local t = redis.call('TIME')\n"
    "  local ms = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)\n"
    "  redis.call('XADD', KEYS[3], 'MAXLEN', '~', ARGV[2], '*',\n"
    "             'seq', string.format('%d', seq), 'time', string.format('%d', ms),\n"
    "             'line', string.sub(ARGV[1], tonumber(ARGV[3]) + 1))\n"
    "  redis.call('EXPIRE', KEYS[3], ARGV[4])\n"
    "end\n"
    "return seq\n";

/*
 * A room's history for a node where it is new (KEYS[1], the stream), run on the subscriber
 * right after the room's SUBSCRIBE (seed_ask): its newest ARGV[1] lines, newest first, at
 * most ARGV[2] bytes in all, as one string: ARGV[3] ("ID ROOM", which read this is), then a
 * record "SEQ MS LEN\nLINE" per line (LEN: the line's length). One string, not XREVRANGE's
 * reply itself: a few thousand lines would be tens of thousands of reply elements, and the
 * bytes are bounded here, by the reader's buffer. A key that is not a stream reads as empty.
 */
static const char seed_script[] =
    "local out, size, most = { ARGV[3] .. '\\n' }, 0, tonumber(ARGV[2])\n"
    "local ok, entries = pcall(redis.call, 'XREVRANGE', KEYS[1], '+', '-', 'COUNT', ARGV[1])\n"
    "if not ok then entries = {} end\n"
    "for _, e in ipairs(entries) do\n"
    "  local f, v = e[2], {}\n"
    "  for i = 1, #f, 2 do v[f[i]] = f[i + 1] end\n"
    "  if v.seq and v.time and v.line then\n"
    "    local rec = v.seq .. ' ' .. v.time .. ' ' .. #v.line .. '\\n' .. v.line\n"
    "    size = size + #rec\n"
    "    if size > most then break end\n"
    "    out[#out + 1] = rec\n"
    "  end\n"
    "end\n"
    "return table.concat(out)\n";

/* Every BEAT_MS, with Redis's clock: this node (ARGV[1]) is alive now. A node silent for
 * ALIVE_MS (ARGV[2]) is dead: its users leave their rooms (the leave notice is ARGV[4] NAME
 * ARGV[5], published like a room line), their names are freed, the state of the rooms they
 * were the last members of ends (published on PREFIX:state), and it is forgotten. Returns
 * the nodes alive. Whichever node beats first after the death does the clean-up, once: the
 * script runs alone and removes the dead node. ARGV[3] is the prefix. */
static const char beat_script[] =
    "local me, alive, p = ARGV[1], tonumber(ARGV[2]), ARGV[3]\n"
    "local t = redis.call('TIME')\n"
    "local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)\n"
    "for _, node in ipairs(redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', now - alive)) do\n"
    "  if node ~= me then\n"
    "    local where = p .. ':where:' .. node\n"
    "    local users = redis.call('HGETALL', where)\n"
    "    for i = 1, #users, 2 do\n"
    "      local room, key, name = string.match(users[i + 1], '^([^\\t]*)\\t([^\\t]*)\\t(.*)$')\n"
    "      redis.call('HDEL', p .. ':members:' .. room, node .. ' ' .. users[i])\n"
    "      if redis.call('HLEN', p .. ':members:' .. room) == 0 and\n"
    "         redis.call('DEL', p .. ':state:' .. room) == 1 then\n"
    "        redis.call('SREM', p .. ':staterooms', room)\n"
    "        redis.call('PUBLISH', p .. ':state', me .. ' ' .. room .. '\\te\\t\\t')\n"
    "      end\n"
    "      local v = redis.call('GET', p .. ':name:' .. key)\n"
    "      if v and string.sub(v, 1, #node + 1) == node .. ' ' then\n"
    "        redis.call('DEL', p .. ':name:' .. key)\n"
    "      end\n"
    "      local seq = redis.call('INCR', p .. ':seq:' .. room)\n"
    "      redis.call('PUBLISH', p .. ':room:' .. room,\n"
    "                 seq .. ' ' .. me .. ' 0 ' .. ARGV[4] .. name .. ARGV[5])\n"
    "    end\n"
    "    redis.call('DEL', where)\n"
    "    redis.call('ZREM', KEYS[1], node)\n"
    "  end\n"
    "end\n"
    "redis.call('ZADD', KEYS[1], now, me)\n"
    "return redis.call('ZRANGEBYSCORE', KEYS[1], now - alive, '+inf')\n";

/*
 * One user's state: ARGV = prefix, node, id, ttl, mode, FOLDED, name, worker, ROOM, room as
 * spelled. mode "put": claim the name (SET NX, or already this user's), then record the room
 * and free the user's previous name; 0 when another user holds the name (nothing changes).
 * "move": the same with the name Redis has for the user, when it has one (a /join must not
 * undo a /nick granted while it was on its way).
 * "sync": the same for a user not recorded yet (after the link came back); for one recorded,
 * refresh its claim and its room's expiry (its members' and its history's: a room's history
 * lasts while anyone is in the room). "gone": forget the user and free its name.
 * "reset": forget every user of the node (ARGV[3..] unused), before a full sync.
 * "auth": the user signed in as the name (ARGV[11] is 1): taken from whoever holds it
 * unless that one is signed in too; returns { 1, the former holder's record or "" }, or
 * { 0, "" }. ARGV[11]: 1 when the user is signed in.
 */
static const char user_script[] =
    "local p, node, id, ttl, mode = ARGV[1], ARGV[2], ARGV[3], ARGV[4], ARGV[5]\n"
    "local where = p .. ':where:' .. node\n"
    "local owner = node .. ' ' .. id .. ' '\n"
    "local function mine(key)\n"
    "  local v = redis.call('GET', key)\n"
    "  return v and string.sub(v, 1, #owner) == owner\n"
    "end\n"
    "local function claim(folded, name)\n"
    "  local key = p .. ':name:' .. folded\n"
    "  local value = owner .. ARGV[8] .. ' ' .. ARGV[11] .. ' ' .. name\n"
    "  if redis.call('SET', key, value, 'NX', 'EX', ttl) then return true end\n"
    "  if not mine(key) then return false end\n"
    "  redis.call('SET', key, value, 'EX', ttl)\n"
    "  return true\n"
    "end\n"
    "local function counted(room)\n"
    "  if redis.call('HEXISTS', p .. ':state:' .. room, 'l') == 1 then\n"
    "    local n = redis.call('HLEN', p .. ':members:' .. room)\n"
    "    redis.call('PUBLISH', p .. ':state', node .. ' ' .. room .. '\\tn\\t\\t' .. n)\n"
    "  end\n"
    "end\n"
    "local function forget(id, value, to)\n"
    "  local room, key = string.match(value, '^([^\\t]*)\\t([^\\t]*)\\t')\n"
    "  local members = p .. ':members:' .. room\n"
    "  redis.call('HDEL', members, node .. ' ' .. id)\n"
    "  if to and to ~= room and redis.call('HLEN', members) == 0 and\n"
    "     redis.call('DEL', p .. ':state:' .. room) == 1 then\n"
    "    redis.call('SREM', p .. ':staterooms', room)\n"
    "    redis.call('PUBLISH', p .. ':state', node .. ' ' .. room .. '\\te\\t\\t')\n"
    "  elseif to and to ~= room then counted(room) end\n"
    "  return key\n"
    "end\n"
    "if mode == 'reset' then\n"
    "  local users = redis.call('HGETALL', where)\n"
    "  for i = 1, #users, 2 do\n"
    "    owner = node .. ' ' .. users[i] .. ' '\n"
    "    local key = p .. ':name:' .. forget(users[i], users[i + 1], nil)\n"
    "    if mine(key) then redis.call('DEL', key) end\n"
    "  end\n"
    "  redis.call('DEL', where)\n"
    "  return 1\n"
    "end\n"
    "local old = redis.call('HGET', where, id)\n"
    "if mode == 'sync' and old then\n"
    "  local room, folded, name = string.match(old, '^([^\\t]*)\\t([^\\t]*)\\t(.*)$')\n"
    "  if not claim(folded, name) then return 0 end\n"
    "  redis.call('EXPIRE', p .. ':members:' .. room, ttl)\n"
    "  redis.call('EXPIRE', p .. ':hist:' .. room, ttl)\n"
    "  redis.call('EXPIRE', p .. ':state:' .. room, ttl)\n"
    "  return 1\n"
    "end\n"
    "local folded, name = ARGV[6], ARGV[7]\n"
    "local evicted = ''\n"
    "if mode == 'auth' then\n"
    "  local key = p .. ':name:' .. folded\n"
    "  local v = redis.call('GET', key)\n"
    "  if v and string.sub(v, 1, #owner) ~= owner then\n"
    "    if string.match(v, '^%S+ %S+ %S+ (%S+) ') == '1' then return { 0, '' } end\n"
    "    evicted = v\n"
    "    redis.call('DEL', key)\n"
    "  end\n"
    "end\n"
    "if mode == 'move' and old then\n"
    "  folded, name = string.match(old, '^[^\\t]*\\t([^\\t]*)\\t(.*)$')\n"
    "end\n"
    "if mode ~= 'gone' and not claim(folded, name) then return 0 end\n"
    "if old then\n"
    "  local key = forget(id, old, mode == 'gone' and '' or ARGV[9])\n"
    "  if key ~= folded and mine(p .. ':name:' .. key) then\n"
    "    redis.call('DEL', p .. ':name:' .. key)\n"
    "  end\n"
    "end\n"
    "if mode == 'gone' then\n"
    "  redis.call('HDEL', where, id)\n"
    "  return 1\n"
    "end\n"
    "redis.call('HSET', where, id, ARGV[9] .. '\\t' .. folded .. '\\t' .. name)\n"
    "local members = p .. ':members:' .. ARGV[9]\n"
    "redis.call('HSET', members, node .. ' ' .. id, name)\n"
    "redis.call('EXPIRE', members, ttl)\n"
    "redis.call('EXPIRE', p .. ':hist:' .. ARGV[9], ttl)\n"
    "redis.call('EXPIRE', p .. ':state:' .. ARGV[9], ttl)\n"
    "redis.call('HSET', p .. ':rooms', ARGV[9], ARGV[10])\n"
    "if not old or string.match(old, '^([^\\t]*)\\t') ~= ARGV[9] then counted(ARGV[9]) end\n"
    "if mode == 'auth' then return { 1, evicted } end\n"
    "return 1\n";

/* /who: ARGV = prefix, ROOM, the most names. Returns the member count, then the first
 * names in alphabetical order. */
static const char who_script[] =
    "local names = redis.call('HVALS', ARGV[1] .. ':members:' .. ARGV[2])\n"
    "table.sort(names, function(a, b) return string.lower(a) < string.lower(b) end)\n"
    "local out = { #names }\n"
    "for i = 1, math.min(#names, tonumber(ARGV[3])) do out[#out + 1] = names[i] end\n"
    "return out\n";

/* /rooms: ARGV = prefix, the most rooms, who asks ("NODE ID", its key in a room's members).
 * Returns the room count, then name and member count of the first rooms by name; rooms
 * nobody is in any more are forgotten, and secret rooms (+s: the field m:s of their state)
 * are left out unless the asker is in them. */
static const char rooms_script[] =
    "local p = ARGV[1]\n"
    "local rooms = redis.call('HGETALL', p .. ':rooms')\n"
    "local found = {}\n"
    "for i = 1, #rooms, 2 do\n"
    "  local members = p .. ':members:' .. rooms[i]\n"
    "  local n = redis.call('HLEN', members)\n"
    "  if n == 0 then redis.call('HDEL', p .. ':rooms', rooms[i])\n"
    "  elseif redis.call('HEXISTS', p .. ':state:' .. rooms[i], 'm:s') == 0 or\n"
    "         redis.call('HEXISTS', members, ARGV[3]) == 1 then\n"
    "    found[#found + 1] = { rooms[i + 1], n }\n"
    "  end\n"
    "end\n"
    "table.sort(found, function(a, b) return string.lower(a[1]) < string.lower(b[1]) end)\n"
    "local out = { #found }\n"
    "for i = 1, math.min(#found, tonumber(ARGV[2])) do\n"
    "  out[#out + 1] = found[i][1]\n"
    "  out[#out + 1] = found[i][2]\n"
    "end\n"
    "return out\n";

/* /msg to a user of another node: ARGV = prefix, FOLDED, the private line. Publishes it to
 * the recipient's node and returns the name's record ("NODE ID WORKER NAME"), or nil. */
static const char direct_script[] =
    "local v = redis.call('GET', ARGV[1] .. ':name:' .. ARGV[2])\n"
    "if not v then return false end\n"
    "local node = string.match(v, '^(%S+) ')\n"
    "redis.call('PUBLISH', ARGV[1] .. ':node:' .. node, 'dm ' .. v .. '\\n' .. ARGV[3])\n"
    "return v\n";

/*
 * A change of a room's state (docs/cluster.md, "Room state"): ARGV = prefix, ROOM, OP,
 * FIELD, VALUE, the message for PREFIX:state, ttl, WHO. OP s sets FIELD in the room's hash,
 * d deletes it, f founds the room (0, and nothing published, when it has a founder already);
 * the others (a member's mode, a kick) are not kept. WHO, when not empty, is a member's name
 * that must be in the room on some node (0 and nothing published otherwise). Returns 1 after
 * publishing the message: every node applies it, in one order with the room's lines.
 */
static const char state_script[] =
    "local p, room, op, field, value, ttl, who = ARGV[1], ARGV[2], ARGV[3], ARGV[4],\n"
    "  ARGV[5], ARGV[7], ARGV[8]\n"
    "local key = p .. ':state:' .. room\n"
    "if who ~= '' then\n"
    "  local found = false\n"
    "  for _, n in ipairs(redis.call('HVALS', p .. ':members:' .. room)) do\n"
    "    if string.lower(n) == string.lower(who) then found = true break end\n"
    "  end\n"
    "  if not found then return 0 end\n"
    "end\n"
    "if op == 'f' then\n"
    "  if redis.call('HSETNX', key, 'f', value) == 0 then return 0 end\n"
    "elseif op == 's' then redis.call('HSET', key, field, value)\n"
    "elseif op == 'd' then redis.call('HDEL', key, field) end\n"
    "if op == 'f' or op == 's' or op == 'd' then\n"
    "  redis.call('EXPIRE', key, ttl)\n"
    "  redis.call('SADD', p .. ':staterooms', room)\n"
    "end\n"
    "redis.call('PUBLISH', p .. ':state', ARGV[6])\n"
    "if op == 's' and field == 'l' then\n"
    "  local n = redis.call('HLEN', p .. ':members:' .. room)\n"
    "  redis.call('PUBLISH', p .. ':state',\n"
    "    string.match(ARGV[6], '^(%S+) ') .. ' ' .. room .. '\\tn\\t\\t' .. n)\n"
    "end\n"
    "return 1\n";

/*
 * Every room's state, for a node whose link comes up, run by EVAL on the subscriber right
 * behind its SUBSCRIBE to PREFIX:state (so no change is missed between the two): ARGV = prefix,
 * the most bytes. One string: "state\n", then per room "=ROOM\n" and a "FIELD\tVALUE\n" per
 * field. Rooms whose state expired are forgotten; rooms past the bytes are left out.
 */
static const char dump_script[] =
    "local p, most = ARGV[1], tonumber(ARGV[2])\n"
    "local out, size = { 'state\\n' }, 6\n"
    "for _, room in ipairs(redis.call('SMEMBERS', p .. ':staterooms')) do\n"
    "  local f = redis.call('HGETALL', p .. ':state:' .. room)\n"
    "  if #f == 0 then redis.call('SREM', p .. ':staterooms', room) else\n"
    "    local rec = { '=' .. room .. '\\n' }\n"
    "    for i = 1, #f, 2 do rec[#rec + 1] = f[i] .. '\\t' .. f[i + 1] .. '\\n' end\n"
    "    local text = table.concat(rec)\n"
    "    size = size + #text\n"
    "    if size > most then break end\n"
    "    out[#out + 1] = text\n"
    "  end\n"
    "end\n"
    "return table.concat(out)\n";

/* The scripts run by EVALSHA on the command connection (seed_script goes by EVAL on the
 * subscriber, which may run before the command connection loaded anything). */
enum script {
	SCRIPT_PUBLISH,
	SCRIPT_BEAT,
	SCRIPT_USER,
	SCRIPT_WHO,
	SCRIPT_ROOMS,
	SCRIPT_DIRECT,
	SCRIPT_STATE
};
static const char *const scripts[] = { publish_script, beat_script,   user_script, who_script,
				       rooms_script,   direct_script, state_script };
#define SCRIPTS (sizeof(scripts) / sizeof(scripts[0]))

/* What a command connection's reply answers: replies come in the order of the commands. */
enum cmd_kind {
	REPLY_HELLO,
	REPLY_LOAD,
	REPLY_PUBLISH,
	REPLY_BEAT,
	REPLY_PROBE,
	REPLY_USER,   /* a user script run; req: what to tell the user if the name was taken */
	REPLY_DIRECT, /* req: the /msg, to answer with the echo or "no such user" */
	REPLY_WHO,    /* req: who asked, and the room */
	REPLY_ROOMS,  /* req: who asked */
	REPLY_STATE,  /* req: a change of a room's state (UPLINK_STATE) */
};

/*
 * What an uplink message asks (msg.target; data: struct request_head, then its fields).
 * The first ones go to the link worker; the ANSWER_ ones from it to a user's worker.
 */
enum uplink_op {
	UPLINK_PUBLISH = 1, /* ROOM \n LINE: a room line of the user (0: a notice) */
	UPLINK_SUBSCRIBE,   /* ROOM: this worker's first member entered it */
	UPLINK_UNSUBSCRIBE, /* ROOM: its last left */
	UPLINK_PUT,         /* NAME \n ROOM: the user's name and room now (a newcomer) */
	UPLINK_MOVE,        /* NAME \n ROOM: the user's room now (its name as Redis has it) */
	UPLINK_NICK,        /* NAME \n ROOM: the user asks for NAME (/nick) */
	UPLINK_GONE,        /* the user left */
	UPLINK_DIRECT,      /* NAME \n LINE: /msg NAME; LINE is the private line */
	UPLINK_WHO,         /* ROOM: the user's /who */
	UPLINK_ROOMS,       /* the user's /rooms */
	UPLINK_AUTH,        /* NAME \n ROOM: the user signed in as NAME (auth.h) */
	UPLINK_CONTROL,     /* ORDER: an operator's order for every node (cluster_control) */
	UPLINK_STATE,      /* ROOM \n "OP REMOTE FN VN\n" FIELD VALUE NOTICE: cluster_room_change */
	ANSWER_NAME_OK,    /* NAME: the user's /nick NAME is granted */
	ANSWER_NAME_TAKEN, /* NAME: refused, another user has it */
	ANSWER_NAME_LOST,  /* NAME: the user's name is held by a user of another node */
	ANSWER_EVICT,      /* NAME: a guest's name goes to a signed-in user (peer, if any) */
	ANSWER_AUTH_OK,    /* NAME: the user signs in as NAME now */
	ANSWER_AUTH_TAKEN, /* NAME: refused, a signed-in user has it */
	ANSWER_AUTH_LOCAL, /* NAME: the link went down: sign in on this node alone */
	ANSWER_HISTORY,    /* room, pos: the room's history was seeded from Redis (seed_land) */
	/* the user's request was only for the link's sake (a put, a sync): nothing to say */
	ANSWER_NONE,
};

struct request_head {
	uint64_t user;        /* the connection id of the user it is about, or 0 */
	uint64_t exclude;     /* UPLINK_PUBLISH: a connection id that must not get the line, or 0 */
	uint64_t peer;        /* ANSWER_EVICT: the user signing in as the name, or 0 */
	uint32_t worker;      /* that user's worker */
	uint32_t text_len;    /* UPLINK_DIRECT: the length of the text, at the end of LINE */
	uint32_t peer_worker; /* the peer's worker */
	uint32_t verified;    /* the user is signed in (its claim says so) */
	uint64_t room;        /* ANSWER_HISTORY: the room's id */
	uint64_t pos;         /* ANSWER_HISTORY: the seed's position in the room's history */
};

/* A request kept until Redis answers it (the command's pending entry owns it). */
struct request {
	struct request_head h;
	uint8_t op; /* enum uplink_op */
	size_t len;
	char data[]; /* the fields */
};

struct pending {
	uint8_t kind;        /* enum cmd_kind */
	int64_t sent_us;     /* REPLY_PUBLISH: for the publish latency */
	struct request *req; /* for the kinds that say so, owned */
};

/* One of the two connections to Redis. */
struct link_conn {
	struct conn *c; /* NULL while closed */
	char *in;       /* bytes read and not yet parsed: the reply being read */
	size_t len;
	struct resp_parser parser;
	struct resp_node nodes[LINK_NODES];
	bool ready; /* its HELLO was answered */
};

/* A room this node has members in, on how many of its workers. */
struct subscription {
	char name[ROOM_MAX_LEN + 1]; /* folded to lower case: the channel's spelling */
	uint32_t workers;
	/* the room its lines are delivered to, with a reference: taken again at every subscribe
	 * event, so a room emptied and made anew under the same name is followed */
	struct room *room;
	struct subscription *hash_next; /* subscriptions whose names hash alike */
	/* Redis confirmed the SUBSCRIBE. Until then this node would miss the room's lines (the
	 * command connection may overtake the subscriber), so lines said meanwhile are held in
	 * `held` as records "EXCLUDE FROM WORKER LEN\n" + the line, and published at the
	 * confirmation. */
	bool confirmed;
	char *held;
	size_t held_len;
	/* The room's history from Redis, for a room new to the node (seed_ask): while the read
	 * `seed_id` is on its way (`seeding`), the room's lines from Redis are held in `live` as
	 * records (a size_t length, then the payload "SEQ NODE EXCLUDE LINE"), so that the users
	 * who entered meanwhile get the history before any of them. */
	bool seeding;
	uint64_t seed_id;
	char *live;
	size_t live_len;
	/* while the held lines go out: the numbers of the lines read (ascending), which are not
	 * delivered again (sub_seeded) */
	const uint64_t *seeded;
	size_t nseeded;
};

struct cluster {
	struct worker *w; /* the link worker */
	struct redis_url url;
	char node_id[64];
	struct sockaddr_storage addr;
	socklen_t addr_len;
	char sha[SCRIPTS][2 * SHA1_DIGEST_LEN + 1]; /* each script's, for EVALSHA */
	char node_channel[160];    /* PREFIX:node:ID: self-probes and private messages */
	char control_channel[160]; /* PREFIX:control: operators' orders for every node */
	char state_channel[160];   /* PREFIX:state: changes of rooms' state */
	/* every room's state as this node knows it (struct replica, by map_hash_name of the
	 * folded name): under the directory lock, read by every worker (replica_seed) */
	struct map replica;
	bool state_loading; /* the dump of every room's state is on its way (dump_ask) */
	char leave_head[PROTO_LINE_MAX], leave_tail[PROTO_LINE_MAX]; /* a dead node's user left */
	struct pending *pend; /* ring of the command connection's replies due */
	size_t pend_head, pend_count, pend_cap;
	struct timer beat;    /* TIMER_BEAT: the next heartbeat and self-probe */
	int64_t next_sync_ms; /* when the beat next refreshes claims and memberships */
	uint64_t probe_sent;  /* self-probes published on this connection */
	uint64_t probe_seen;  /* the last one back on the subscriber */
	struct link_conn sub, cmd;
	size_t in_max;        /* a reply longer than this closes the link */
	size_t queue_max;     /* room lines are dropped past this in the command queue */
	size_t out_limit;     /* the link's connections are cut as slow past this */
	size_t seed_bytes;    /* the most bytes of a room's history read from Redis */
	uint64_t seeds_asked; /* the last seed's id */
	uint32_t sub_pending; /* subscriptions sent and not yet confirmed */
	struct map subs;      /* map_hash_name(name) -> chain of struct subscription */
	size_t nsubs;
	int backoff_ms;
	struct timer retry; /* TIMER_CLUSTER: the next connection attempt */
	bool was_up;        /* the link has been up: users are told when it goes */
	bool stopping;
	_Atomic bool up;
	_Atomic uint64_t subscriptions;
	_Atomic uint64_t peers; /* other nodes heard from within ALIVE_MS */
	_Atomic uint64_t publish_us_sum, publish_count, publish_us_max;
#define CLUSTER_COUNTER_FIELD(name, help) _Atomic uint64_t name;
	CLUSTER_COUNTERS(CLUSTER_COUNTER_FIELD)
#undef CLUSTER_COUNTER_FIELD
};

static struct subscription *sub_find(struct cluster *cl, const char *name, size_t n);
static void pend_fail_all(struct cluster *cl);
static void users_sync(struct cluster *cl, const char *mode);
static void users_resync(struct cluster *cl);
static void user_reply(struct cluster *cl, const struct resp_node *root, struct request *r);
static void direct_reply(struct cluster *cl, const struct resp_node *root, struct request *r);
static void who_reply(struct cluster *cl, const struct resp_node *root, const struct request *r);
static void rooms_reply(struct cluster *cl, const struct resp_node *root, const struct request *r);
static void link_deliver_direct(struct cluster *cl, const char *p, size_t n);
static void link_evict(struct cluster *cl, const char *p, size_t n);
static void link_control(struct cluster *cl, const char *p, size_t n);
static void auth_reply(struct cluster *cl, const struct resp_node *root, const struct request *r,
		       const char *name, size_t n);
static void sub_release(struct cluster *cl, struct subscription *s, bool up);
static void sub_unconfirm(struct cluster *cl, struct subscription *s);
static void sub_resubscribe(struct cluster *cl, struct subscription *s);
static void seed_ask(struct cluster *cl, struct subscription *s);
static void seed_fail(struct cluster *cl, struct subscription *s, const char *why);
static void seed_land(struct cluster *cl, const struct resp_node *root);
static void seeds_fail(struct cluster *cl, struct subscription *s);
static void dump_ask(struct cluster *cl);
static void state_land(struct cluster *cl, const char *p, size_t n);
static void link_state(struct cluster *cl, const char *p, size_t n);
static void state_reply(struct cluster *cl, const struct resp_node *root, const struct request *r);
static void uplink_state(struct cluster *cl, const struct request_head *h, const char *room,
			 size_t rn, const char *b, size_t bn, struct request *req);

/* Calls fn for every subscription (fn must not add or remove any). */
static void subs_each(struct cluster *cl, void (*fn)(struct cluster *, struct subscription *))
{
	size_t pos = 0;
	uint64_t key;
	void *v;
	while (map_next(&cl->subs, &pos, &key, &v))
		for (struct subscription *s = v; s != NULL; s = s->hash_next)
			fn(cl, s);
}

static void count(_Atomic uint64_t *counter)
{
	atomic_fetch_add_explicit(counter, 1, memory_order_relaxed);
}

/* ---- commands --------------------------------------------------------------------------------- */

/* Queues a command on lc. False when it could not be (no memory: the link is cut). */
static bool link_send(struct cluster *cl, struct link_conn *lc, size_t argc,
		      const struct resp_arg *argv)
{
	if (lc->c == NULL)
		return false;
	size_t n = resp_command_len(argc, argv);
	struct msg *m = msg_new(n, 1);
	if (m == NULL) {
		worker_close_conn(cl->w, lc->c, CLOSE_NOMEM);
		return false;
	}
	resp_write_command(m->data, argc, argv);
	m->raw = true;
	route_send_msg(cl->w, lc->c, m);
	return true;
}

static int pend_grow(struct cluster *cl)
{
	size_t cap = cl->pend_cap ? cl->pend_cap * 2 : 64;
	struct pending *p = malloc(cap * sizeof(*p));
	if (p == NULL)
		return -ENOMEM;
	for (size_t i = 0; i < cl->pend_count; i++)
		p[i] = cl->pend[(cl->pend_head + i) % cl->pend_cap];
	free(cl->pend);
	cl->pend = p;
	cl->pend_cap = cap;
	cl->pend_head = 0;
	return 0;
}

static void request_fail(struct cluster *cl, struct pending *p);

/* Queues a command on the command connection and notes what its reply will answer; takes req
 * over (answered as if the link were down when the command cannot be sent). */
static bool cmd_send_req(struct cluster *cl, enum cmd_kind kind, size_t argc,
			 const struct resp_arg *argv, struct request *req)
{
	struct pending p = { (uint8_t)kind, kind == REPLY_PUBLISH ? clock_now_us() : 0, req };
	if (cl->cmd.c == NULL || (cl->pend_count == cl->pend_cap && pend_grow(cl) < 0)) {
		if (cl->cmd.c != NULL)
			worker_close_conn(cl->w, cl->cmd.c, CLOSE_NOMEM);
		request_fail(cl, &p);
		return false;
	}
	if (!link_send(cl, &cl->cmd, argc, argv)) {
		request_fail(cl, &p);
		return false;
	}
	cl->pend[(cl->pend_head + cl->pend_count++) % cl->pend_cap] = p;
	return true;
}

static bool cmd_send(struct cluster *cl, enum cmd_kind kind, size_t argc,
		     const struct resp_arg *argv)
{
	return cmd_send_req(cl, kind, argc, argv, NULL);
}

#define SCRIPT_ARGS_MAX 12

/* EVALSHA of one of the scripts with nkeys keys and then arguments, args[0..argc). */
static bool script_run(struct cluster *cl, enum script sc, enum cmd_kind kind, size_t nkeys,
		       size_t argc, const struct resp_arg *args, struct request *req)
{
	char keys[4];
	snprintf(keys, sizeof(keys), "%zu", nkeys);
	struct resp_arg argv[SCRIPT_ARGS_MAX + 3] = { RESP_ARG_LIT("EVALSHA"),
						      resp_arg_str(cl->sha[sc]),
						      resp_arg_str(keys) };
	memcpy(argv + 3, args, argc * sizeof(*args));
	return cmd_send_req(cl, kind, argc + 3, argv, req);
}

/* HELLO 3 with the credentials and a client name, first on each connection. */
static void link_hello(struct cluster *cl, struct link_conn *lc, const char *role)
{
	char name[96];
	snprintf(name, sizeof(name), "chatd-%s-%s", role, cl->node_id);
	struct resp_arg argv[7] = { RESP_ARG_LIT("HELLO"), RESP_ARG_LIT("3") };
	size_t argc = 2;
	if (cl->url.password[0] != '\0') {
		argv[argc++] = RESP_ARG_LIT("AUTH");
		argv[argc++] = resp_arg_str(cl->url.user[0] != '\0' ? cl->url.user : "default");
		argv[argc++] = resp_arg_str(cl->url.password);
	}
	argv[argc++] = RESP_ARG_LIT("SETNAME");
	argv[argc++] = resp_arg_str(name);
	if (lc == &cl->cmd)
		cmd_send(cl, REPLY_HELLO, argc, argv);
	else
		link_send(cl, lc, argc, argv);
}

/* A room's name as Redis keys and channels spell it (room names are case-insensitive):
 * room[0..n) folded to lower case into out, NUL-terminated. */
static void room_fold(const char *room, size_t n, char *out)
{
	for (size_t i = 0; i < n; i++)
		out[i] = (char)tolower((unsigned char)room[i]);
	out[n] = '\0';
}

/* PREFIX:KIND:ROOM, the room's name folded to lower case: room names are case-insensitive,
 * so every spelling of one room is one channel. */
static size_t channel_of(const struct cluster *cl, const char *kind, const char *room, char *out,
			 size_t cap)
{
	int n = snprintf(out, cap, "%s:%s:", cl->url.prefix, kind);
	size_t len = strlen(room);
	if (n < 0 || (size_t)n + len >= cap)
		return 0;
	room_fold(room, len, out + n);
	return (size_t)n + len;
}

static void link_subscribe(struct cluster *cl, const char *room, bool on)
{
	char channel[sizeof(cl->url.prefix) + ROOM_MAX_LEN + 8];
	size_t n = channel_of(cl, "room", room, channel, sizeof(channel));
	struct resp_arg argv[2] = { on ? RESP_ARG_LIT("SUBSCRIBE") : RESP_ARG_LIT("UNSUBSCRIBE"),
				    { channel, n } };
	if (link_send(cl, &cl->sub, 2, argv) && on)
		cl->sub_pending++;
}

/* ---- the link's state --------------------------------------------------------------------- */

/* A line from proto.c to every user of the node. */
static void tell_everyone(struct cluster *cl, size_t (*word)(char *, size_t))
{
	char line[PROTO_LINE_MAX];
	size_t n = word(line, sizeof(line));
	struct msg *m = route_msg_new(cl->w, n, false);
	if (m == NULL)
		return;
	memcpy(m->data, line, n);
	route_publish_all(cl->w, m);
}

static void link_check_up(struct cluster *cl)
{
	if (atomic_load_explicit(&cl->up, memory_order_relaxed) || !cl->sub.ready ||
	    !cl->cmd.ready || cl->sub_pending > 0 || cl->state_loading)
		return;
	/* release: pairs with the acquire in cluster_publish_room (nothing else is published
	 * through it, but a worker that sees the link up should see it with its subscriptions) */
	atomic_store_explicit(&cl->up, true, memory_order_release);
	cl->backoff_ms = BACKOFF_MIN_MS;
	timer_arm(&cl->w->timers, &cl->beat, TIMER_BEAT, cl->w->now_ms); /* beat at once */
	users_resync(cl);
	log_info((int)cl->w->index, 0, "cluster: link to Redis %s:%d is up (node %s, %zu rooms)",
		 cl->url.host, cl->url.port, cl->node_id, cl->nsubs);
	if (cl->was_up)
		tell_everyone(cl, proto_cluster_back);
	cl->was_up = true;
}

static void link_retry_later(struct cluster *cl)
{
	if (cl->stopping || timer_armed(&cl->retry))
		return;
	timer_arm(&cl->w->timers, &cl->retry, TIMER_CLUSTER, cl->w->now_ms + cl->backoff_ms);
	cl->backoff_ms = cl->backoff_ms * 2 < BACKOFF_MAX_MS ? cl->backoff_ms * 2 : BACKOFF_MAX_MS;
}

/* One of the connections closed: the other goes too, users are told once, and the link is
 * opened again later. */
static void link_down(struct cluster *cl)
{
	timer_stop(&cl->beat);
	atomic_store_explicit(&cl->peers, 0, memory_order_relaxed);
	pend_fail_all(cl);
	subs_each(cl, sub_unconfirm);
	if (cl->sub.c != NULL)
		worker_close_conn(cl->w, cl->sub.c, CLOSE_RESET);
	if (cl->cmd.c != NULL)
		worker_close_conn(cl->w, cl->cmd.c, CLOSE_RESET);
	bool stopping = cl->stopping || cl->w->shutting_down;
	if (atomic_load_explicit(&cl->up, memory_order_relaxed)) {
		atomic_store_explicit(&cl->up, false, memory_order_relaxed);
		if (stopping) {
			log_info((int)cl->w->index, 0, "cluster: link to Redis closed");
		} else {
			log_warn((int)cl->w->index, 0,
				 "cluster: link to Redis %s:%d is down; lines reach this node only "
				 "until it is back",
				 cl->url.host, cl->url.port);
			tell_everyone(cl, proto_cluster_down);
		}
	}
	link_retry_later(cl);
}

static int link_open(struct cluster *cl, struct link_conn *lc, const struct conn_ops *ops)
{
	int fd = socket(cl->addr.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	int one = 1;
	(void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if (connect(fd, (struct sockaddr *)&cl->addr, cl->addr_len) < 0 && errno != EINPROGRESS) {
		int rc = -errno;
		close(fd);
		return rc;
	}
	struct conn *c = worker_connect(cl->w, fd, ops);
	if (c == NULL) {
		int rc = -errno;
		close(fd);
		return rc;
	}
	c->out_limit = cl->out_limit;
	lc->c = c;
	lc->len = 0;
	lc->ready = false;
	resp_parser_reset(&lc->parser);
	return 0;
}

static const struct conn_ops sub_ops, cmd_ops;

/* The retry timer: both connections are opened, greeted, and the subscriptions sent. */
static void link_connect(struct timer *t, void *ctx)
{
	(void)ctx;
	struct cluster *cl = container_of(t, struct cluster, retry);
	if (cl->stopping || cl->sub.c != NULL || cl->cmd.c != NULL)
		return;
	if (cl->was_up)
		count(&cl->reconnects);
	int rc = link_open(cl, &cl->sub, &sub_ops);
	if (rc == 0 && (rc = link_open(cl, &cl->cmd, &cmd_ops)) < 0)
		worker_close_conn(cl->w, cl->sub.c, CLOSE_RESET);
	if (rc < 0) {
		log_warn((int)cl->w->index, 0, "cluster: cannot connect to Redis %s:%d: %s",
			 cl->url.host, cl->url.port, strerror(-rc));
		link_retry_later(cl);
		return;
	}
	cl->sub_pending = 0;
	pend_fail_all(cl);
	cl->probe_sent = cl->probe_seen = 0;
	subs_each(cl, sub_unconfirm);
	link_hello(cl, &cl->sub, "sub");
	link_hello(cl, &cl->cmd, "cmd");
	for (size_t i = 0; i < SCRIPTS; i++) {
		struct resp_arg load[3] = { RESP_ARG_LIT("SCRIPT"), RESP_ARG_LIT("LOAD"),
					    resp_arg_str(scripts[i]) };
		cmd_send(cl, REPLY_LOAD, 3, load);
	}
	struct resp_arg node[2] = { RESP_ARG_LIT("SUBSCRIBE"), resp_arg_str(cl->node_channel) };
	if (link_send(cl, &cl->sub, 2, node))
		cl->sub_pending++;
	struct resp_arg control[2] = { RESP_ARG_LIT("SUBSCRIBE"),
				       resp_arg_str(cl->control_channel) };
	if (link_send(cl, &cl->sub, 2, control))
		cl->sub_pending++;
	struct resp_arg state[2] = { RESP_ARG_LIT("SUBSCRIBE"), resp_arg_str(cl->state_channel) };
	if (link_send(cl, &cl->sub, 2, state))
		cl->sub_pending++;
	dump_ask(cl);
	subs_each(cl, sub_resubscribe);
}

/* ---- replies ---------------------------------------------------------------------------------- */

/* Whether the line numbered seq is one of the lines s's seed read from Redis, or older than
 * them all (the history shown, or older than it), while the lines held for the seed go out. */
static bool sub_seeded(const struct subscription *s, uint64_t seq)
{
	if (s == NULL || s->nseeded == 0 || seq > s->seeded[s->nseeded - 1])
		return false;
	size_t lo = 0, hi = s->nseeded;
	if (seq < s->seeded[0])
		return true;
	while (lo < hi) { /* the first not below seq */
		size_t mid = lo + (hi - lo) / 2;
		if (s->seeded[mid] < seq)
			lo = mid + 1;
		else
			hi = mid;
	}
	return s->seeded[lo] == seq;
}

/* A room line from Redis, p[0..n) = "SEQ NODE EXCLUDE LINE", to this node's members of s's
 * room (none without s) through the inboxes; not a line a user said that the history seeded
 * from Redis has already (seed_land). */
static void room_deliver(struct cluster *cl, struct subscription *s, const char *p, size_t n)
{
	const char *end = p + n;
	const char *sp1 = memchr(p, ' ', n);
	const char *sp2 = sp1 ? memchr(sp1 + 1, ' ', (size_t)(end - sp1 - 1)) : NULL;
	const char *sp3 = sp2 ? memchr(sp2 + 1, ' ', (size_t)(end - sp2 - 1)) : NULL;
	if (sp3 == NULL || sp3 + 1 >= end || end[-1] != '\n') {
		count(&cl->errors);
		return;
	}
	const char *line = sp3 + 1;
	size_t line_len = (size_t)(end - line);
	uint64_t seq = strtoull(p, NULL, 10); /* the room's number in Redis: history.h */
	bool seeded = sub_seeded(s, seq);
	struct room *r = s != NULL ? s->room : NULL;
	if (r == NULL || (seeded && proto_said_by_user(line, line_len)))
		return; /* every member left meanwhile, or in the history already */
	struct msg *m = route_msg_new(cl->w, line_len, false);
	if (m != NULL) {
		memcpy(m->data, line, line_len);
		size_t node_len = (size_t)(sp2 - sp1 - 1);
		if (node_len == strlen(cl->node_id) && memcmp(sp1 + 1, cl->node_id, node_len) == 0)
			m->exclude = strtoull(sp2 + 1, NULL, 10);
		m->seq = seq;
		count(&cl->received);
		route_publish_room(cl->w, r, m);
	}
}

static void seed_hold(struct cluster *cl, struct subscription *s, const char *p, size_t n);

/* A room line from Redis on PREFIX:room:NAME: delivered to this node's members of the room, or
 * held while the room's history is on its way from Redis. */
static void link_deliver(struct cluster *cl, const struct resp_pubsub *ps)
{
	size_t skip = strlen(cl->url.prefix) + strlen(":room:");
	if (ps->channel.n <= skip || ps->channel.n - skip > ROOM_MAX_LEN)
		return;
	struct subscription *s = sub_find(cl, ps->channel.p + skip, ps->channel.n - skip);
	if (s != NULL && s->seeding) {
		seed_hold(cl, s, ps->payload.p, ps->payload.n);
		return;
	}
	room_deliver(cl, s, ps->payload.p, ps->payload.n);
}

/* Redis confirmed a room's subscription: lines held for it go out now. */
static void sub_confirmed(struct cluster *cl, const struct resp_pubsub *ps)
{
	char head[sizeof(cl->url.prefix) + 8];
	size_t skip = (size_t)snprintf(head, sizeof(head), "%s:room:", cl->url.prefix);
	if (ps->channel.n <= skip || memcmp(ps->channel.p, head, skip) != 0)
		return; /* the node's own channel */
	struct subscription *s = sub_find(cl, ps->channel.p + skip, ps->channel.n - skip);
	if (s == NULL || s->confirmed)
		return;
	s->confirmed = true;
	if (atomic_load_explicit(&cl->up, memory_order_relaxed))
		sub_release(cl, s, true);
}

static void sub_reply(struct cluster *cl, const struct resp_node *root)
{
	if (!cl->sub.ready) {
		if (root->type == RESP_ERROR || root->type == RESP_BULK_ERROR) {
			log_error((int)cl->w->index, 0, "cluster: Redis refused HELLO: %.*s",
				  (int)root->len, root->str);
			worker_close_conn(cl->w, cl->sub.c, CLOSE_RESET);
			return;
		}
		cl->sub.ready = true;
		link_check_up(cl);
		return;
	}
	struct resp_pubsub ps;
	switch (resp_pubsub(root, &ps)) {
	case RESP_PUBSUB_MESSAGE:
		if (ps.channel.n == strlen(cl->node_channel) &&
		    memcmp(ps.channel.p, cl->node_channel, ps.channel.n) == 0) {
			if (ps.payload.n > 6 && memcmp(ps.payload.p, "probe ", 6) == 0)
				cl->probe_seen = strtoull(ps.payload.p + 6, NULL, 10);
			else if (ps.payload.n > 3 && memcmp(ps.payload.p, "dm ", 3) == 0)
				link_deliver_direct(cl, ps.payload.p, ps.payload.n);
			else if (ps.payload.n > 6 && memcmp(ps.payload.p, "evict ", 6) == 0)
				link_evict(cl, ps.payload.p, ps.payload.n);
			break;
		}
		if (ps.channel.n == strlen(cl->control_channel) &&
		    memcmp(ps.channel.p, cl->control_channel, ps.channel.n) == 0) {
			link_control(cl, ps.payload.p, ps.payload.n);
			break;
		}
		if (ps.channel.n == strlen(cl->state_channel) &&
		    memcmp(ps.channel.p, cl->state_channel, ps.channel.n) == 0) {
			link_state(cl, ps.payload.p, ps.payload.n);
			break;
		}
		link_deliver(cl, &ps);
		break;
	case RESP_PUBSUB_SUBSCRIBE:
		if (cl->sub_pending > 0)
			cl->sub_pending--;
		sub_confirmed(cl, &ps);
		atomic_store_explicit(&cl->subscriptions, (uint64_t)ps.count, memory_order_relaxed);
		link_check_up(cl);
		break;
	case RESP_PUBSUB_UNSUBSCRIBE:
		atomic_store_explicit(&cl->subscriptions, (uint64_t)ps.count, memory_order_relaxed);
		break;
	default:
		if (root->type == RESP_BULK && root->len >= 6 &&
		    memcmp(root->str, "state\n", 6) == 0) {
			state_land(cl, root->str, root->len); /* every room's state (dump_ask) */
			break;
		}
		if (root->type == RESP_BULK || root->type == RESP_SIMPLE) {
			seed_land(cl, root); /* a room's history, read after its SUBSCRIBE */
			break;
		}
		if (root->type == RESP_ERROR || root->type == RESP_BULK_ERROR) {
			count(&cl->errors);
			log_warn((int)cl->w->index, 0, "cluster: Redis: %.*s", (int)root->len,
				 root->str);
			if (cl->state_loading) { /* the first read on the subscriber: dump_ask */
				cl->state_loading = false;
				link_check_up(cl);
				break;
			}
			/* the answer of some read of a room's history: which one, it does not
			 * say */
			subs_each(cl, seeds_fail);
		}
		break;
	}
}

/* The heartbeat's answer: the nodes heard from lately, this one among them. */
static void beat_reply(struct cluster *cl, const struct resp_node *root)
{
	if (root->type != RESP_ARRAY && root->type != RESP_SET)
		return;
	uint64_t others = 0;
	for (uint32_t i = 0; i < root->n; i++) {
		const struct resp_node *n = resp_child(root, i);
		if (!resp_is(n, cl->node_id))
			others++;
	}
	atomic_store_explicit(&cl->peers, others, memory_order_relaxed);
}

static void publish_reply(struct cluster *cl, int64_t sent_us)
{
	uint64_t took = (uint64_t)(clock_now_us() - sent_us);
	/* one writer: the link worker */
	atomic_store_explicit(&cl->publish_us_sum,
			      atomic_load_explicit(&cl->publish_us_sum, memory_order_relaxed) +
				  took,
			      memory_order_relaxed);
	atomic_store_explicit(&cl->publish_count,
			      atomic_load_explicit(&cl->publish_count, memory_order_relaxed) + 1,
			      memory_order_relaxed);
	if (took > atomic_load_explicit(&cl->publish_us_max, memory_order_relaxed))
		atomic_store_explicit(&cl->publish_us_max, took, memory_order_relaxed);
}

static void cmd_reply(struct cluster *cl, const struct resp_node *root)
{
	bool error = root->type == RESP_ERROR || root->type == RESP_BULK_ERROR;
	if (cl->pend_count == 0) { /* a reply to nothing we sent */
		log_error((int)cl->w->index, 0,
			  "cluster: an unexpected reply from Redis; reconnecting");
		worker_close_conn(cl->w, cl->cmd.c, CLOSE_RESET);
		return;
	}
	struct pending p = cl->pend[cl->pend_head];
	cl->pend_head = (cl->pend_head + 1) % cl->pend_cap;
	cl->pend_count--;
	if (p.kind == REPLY_HELLO) {
		if (error) {
			log_error((int)cl->w->index, 0, "cluster: Redis refused HELLO: %.*s",
				  (int)root->len, root->str);
			worker_close_conn(cl->w, cl->cmd.c, CLOSE_RESET);
			return;
		}
		cl->cmd.ready = true;
		link_check_up(cl);
		return;
	}
	if (error) {
		count(&cl->errors);
		worker_log_gated(cl->w, GATE_SLOW, LOG_WARN, 0, "cluster: Redis: %.*s",
				 (int)root->len, root->str);
		request_fail(cl, &p);
		return;
	}
	switch ((enum cmd_kind)p.kind) {
	case REPLY_PUBLISH:
		publish_reply(cl, p.sent_us);
		break;
	case REPLY_BEAT:
		beat_reply(cl, root);
		break;
	case REPLY_USER:
		user_reply(cl, root, p.req);
		break;
	case REPLY_DIRECT:
		direct_reply(cl, root, p.req);
		break;
	case REPLY_WHO:
		who_reply(cl, root, p.req);
		break;
	case REPLY_ROOMS:
		rooms_reply(cl, root, p.req);
		break;
	case REPLY_STATE:
		state_reply(cl, root, p.req);
		break;
	default:
		break;
	}
	free(p.req);
}

/* Every BEAT_MS while up: this node is alive, who else is, and is the subscription? A
 * subscription can die without a word (a half-open connection after a network fault): the
 * node publishes a probe to its own channel each beat and expects it back on the subscriber;
 * PROBES_MISSED probes not back and the subscriber is closed, so the link is opened again. */
static void link_beat(struct timer *t, void *ctx)
{
	(void)ctx;
	struct cluster *cl = container_of(t, struct cluster, beat);
	if (!atomic_load_explicit(&cl->up, memory_order_relaxed) || cl->cmd.c == NULL)
		return;
	if (cl->probe_sent >= cl->probe_seen + PROBES_MISSED) {
		count(&cl->probe_failures);
		log_warn((int)cl->w->index, 0,
			 "cluster: %llu self-probes did not come back; reopening the link",
			 (unsigned long long)(cl->probe_sent - cl->probe_seen));
		if (cl->sub.c != NULL)
			worker_close_conn(cl->w, cl->sub.c, CLOSE_RESET);
		return;
	}
	char key[sizeof(cl->url.prefix) + 8], alive[16], probe[32];
	snprintf(key, sizeof(key), "%s:nodes", cl->url.prefix);
	snprintf(alive, sizeof(alive), "%d", ALIVE_MS);
	struct resp_arg beat[6] = { resp_arg_str(key),
				    resp_arg_str(cl->node_id),
				    resp_arg_str(alive),
				    resp_arg_str(cl->url.prefix),
				    resp_arg_str(cl->leave_head),
				    resp_arg_str(cl->leave_tail) };
	script_run(cl, SCRIPT_BEAT, REPLY_BEAT, 1, 6, beat, NULL);
	snprintf(probe, sizeof(probe), "probe %llu", (unsigned long long)++cl->probe_sent);
	struct resp_arg pub[3] = { RESP_ARG_LIT("PUBLISH"), resp_arg_str(cl->node_channel),
				   resp_arg_str(probe) };
	cmd_send(cl, REPLY_PROBE, 3, pub);
	if (cl->w->now_ms >= cl->next_sync_ms)
		users_sync(cl, "sync");
	timer_arm(&cl->w->timers, &cl->beat, TIMER_BEAT, cl->w->now_ms + BEAT_MS);
}

/* Bytes from one of the connections: every complete reply is handled, a partial one kept. */
static void link_on_bytes(struct worker *w, struct conn *c, char *buf, size_t n)
{
	struct cluster *cl = w->hub->cluster;
	struct link_conn *lc = c == cl->sub.c ? &cl->sub : &cl->cmd;
	if (lc->len + n > cl->in_max) {
		log_error((int)w->index, 0,
			  "cluster: a reply from Redis over %zu bytes; reconnecting", cl->in_max);
		worker_close_conn(w, c, CLOSE_RESET);
		return;
	}
	memcpy(lc->in + lc->len, buf, n);
	lc->len += n;
	size_t off = 0;
	while (off < lc->len && !c->closing) {
		ssize_t r = resp_parse(&lc->parser, lc->in + off, lc->len - off);
		if (r == PARSE_AGAIN)
			break;
		if (r == PARSE_ERROR) {
			log_error((int)w->index, 0,
				  "cluster: malformed reply from Redis; reconnecting");
			worker_close_conn(w, c, CLOSE_RESET);
			return;
		}
		if (r == RESP_TOO_BIG) {
			count(&cl->errors);
			off += lc->parser.reply_len;
			continue;
		}
		if (lc == &cl->sub)
			sub_reply(cl, lc->nodes);
		else
			cmd_reply(cl, lc->nodes);
		off += (size_t)r;
	}
	memmove(lc->in, lc->in + off, lc->len - off);
	lc->len -= off;
}

/* cppcheck-suppress constParameter ; the signature of conn_ops.on_close */
static void link_on_close(struct worker *w, struct conn *c)
{
	struct cluster *cl = w->hub->cluster;
	if (c == cl->sub.c)
		cl->sub.c = NULL;
	else if (c == cl->cmd.c)
		cl->cmd.c = NULL;
	cl->sub.ready = cl->cmd.ready = false;
	link_down(cl);
}

static const struct conn_ops sub_ops = {
	.name = "redis subscriber",
	.on_bytes = link_on_bytes,
	.on_close = link_on_close,
};

static const struct conn_ops cmd_ops = {
	.name = "redis commands",
	.on_bytes = link_on_bytes,
	.on_close = link_on_close,
};

/* ---- the link worker's inbox ------------------------------------------------------------------ */

/* A line of this node's users to this node's members of room `name` only (the link is down). */
static void deliver_local(struct cluster *cl, const char *name, size_t name_len, const char *line,
			  size_t line_len, uint64_t exclude)
{
	struct worker *w = cl->w;
	struct room *r = dir_room_find(&w->hub->dir, name, name_len);
	struct msg *m = r != NULL ? route_msg_new(w, line_len, false) : NULL;
	if (m != NULL) {
		memcpy(m->data, line, line_len);
		m->exclude = exclude;
		count(&cl->local_only);
		route_publish_room(w, r, m);
	}
	if (r != NULL)
		dir_room_put(&w->hub->dir, r);
}

/* One line to one user of this node (on any of its workers). */
static void tell_user(struct cluster *cl, uint64_t id, unsigned worker, const char *line, size_t n)
{
	struct msg *m = route_msg_new(cl->w, n, true);
	if (m == NULL)
		return;
	memcpy(m->data, line, n);
	route_publish_direct(cl->w, m, id, worker);
}

/* h's line was dropped: its sender (if a user said it) is told. */
static void tell_dropped(struct cluster *cl, const struct request_head *h)
{
	if (h->user == 0)
		return;
	char notice[PROTO_LINE_MAX];
	size_t n = proto_cluster_dropped(notice, sizeof(notice));
	tell_user(cl, h->user, h->worker, notice, n);
}

/* The publish script for one line (h: who said it, who must not get it): every node gets it
 * in the room's order. The queue to Redis is bounded by what it holds in memory, the measure
 * --max-outbuf cuts on, at half of it: a line past that is dropped, counted, and its sender
 * told, and the other half is left for the commands that keep names and rooms right. */
static void publish_now(struct cluster *cl, const char *room, const char *line, size_t line_len,
			const struct request_head *h)
{
	size_t charge = sizeof(struct msg) + 2 * sizeof(struct msg *) + 256 + line_len;
	if (cl->cmd.c->out_charge + charge > cl->queue_max) {
		count(&cl->dropped);
		worker_log_gated(cl->w, GATE_SLOW, LOG_WARN, 0,
				 "cluster: %zu bytes queued for Redis; a line is dropped",
				 cl->cmd.c->out_charge);
		tell_dropped(cl, h);
		return;
	}
	char seq_key[sizeof(cl->url.prefix) + ROOM_MAX_LEN + 8];
	char channel[sizeof(seq_key)], hist_key[sizeof(seq_key)], most[16], at[24], ttl[16];
	size_t kn = channel_of(cl, "seq", room, seq_key, sizeof(seq_key));
	size_t cn = channel_of(cl, "room", room, channel, sizeof(channel));
	size_t hn = channel_of(cl, "hist", room, hist_key, sizeof(hist_key));
	/* what users said goes into the room's history in Redis too (publish_script) */
	snprintf(most, sizeof(most), "%d",
		 proto_said_by_user(line, line_len) ? cl->w->hub->cfg.history : 0);
	snprintf(ttl, sizeof(ttl), "%d", NAME_TTL_S);
	/* the payload is copied once more into the command: an ordinary line is put together on
	 * the stack, only a long one needs an allocation */
	char small[2048];
	size_t need = sizeof(cl->node_id) + 24 + line_len;
	char *payload = need <= sizeof(small) ? small : malloc(need);
	if (payload == NULL) {
		count(&cl->dropped);
		return;
	}
	int pn = snprintf(payload, sizeof(cl->node_id) + 24, "%s %llu ", cl->node_id,
			  (unsigned long long)h->exclude);
	memcpy(payload + pn, line, line_len);
	snprintf(at, sizeof(at), "%d", pn);
	struct resp_arg argv[7] = { { seq_key, kn },    { channel, cn },
				    { hist_key, hn },   { payload, (size_t)pn + line_len },
				    resp_arg_str(most), resp_arg_str(at),
				    resp_arg_str(ttl) };
	if (script_run(cl, SCRIPT_PUBLISH, REPLY_PUBLISH, 3, 7, argv, NULL))
		count(&cl->published);
	if (payload != small)
		free(payload);
}

static struct subscription *sub_find(struct cluster *cl, const char *name, size_t n)
{
	struct subscription *s = map_get(&cl->subs, map_hash_name(name, n));
	while (s != NULL && !(strlen(s->name) == n && strncasecmp(s->name, name, n) == 0))
		s = s->hash_next;
	return s;
}

static void sub_unconfirm(struct cluster *cl, struct subscription *s)
{
	sub_release(cl, s, false); /* the link is going down: held lines go to this node */
	s->confirmed = false;
	if (s->seeding)
		seed_fail(cl, s, "the link went down");
}

static void sub_resubscribe(struct cluster *cl, struct subscription *s)
{
	link_subscribe(cl, s->name, true);
}

/* A new subscription for room name[0..n), or NULL (no memory). */
static struct subscription *sub_add(struct cluster *cl, const char *name, size_t n)
{
	struct subscription *s = calloc(1, sizeof(*s));
	uint64_t h = map_hash_name(name, n);
	if (s == NULL)
		return NULL;
	room_fold(name, n, s->name);
	s->hash_next = map_get(&cl->subs, h);
	if (map_put(&cl->subs, h, s) < 0) {
		free(s);
		return NULL;
	}
	cl->nsubs++;
	return s;
}

/* Drops s: its held lines go out (or to this node), its room reference is let go, the room's
 * lines held for its seed are dropped (and its seed's answer will be ignored: seed_owner). */
static void sub_remove(struct cluster *cl, struct subscription *s)
{
	uint64_t h = map_hash_name(s->name, strlen(s->name));
	struct subscription *head = map_get(&cl->subs, h);
	if (head == s) {
		if (s->hash_next != NULL)
			map_put(&cl->subs, h, s->hash_next); /* replaces: cannot fail */
		else
			map_del(&cl->subs, h);
	} else {
		while (head->hash_next != s)
			head = head->hash_next;
		head->hash_next = s->hash_next;
	}
	sub_release(cl, s, atomic_load_explicit(&cl->up, memory_order_relaxed));
	if (s->room != NULL)
		dir_room_put(&cl->w->hub->dir, s->room);
	free(s->live); /* room lines held for a history from Redis: nobody here to get them */
	free(s);
	cl->nsubs--;
}

/* Keeps a line until s's subscription is confirmed (bounded like the command queue), as a
 * record: its head, its length, the line. */
static void sub_hold(struct cluster *cl, struct subscription *s, const char *line, size_t n,
		     const struct request_head *h)
{
	size_t rec = sizeof(*h) + sizeof(n) + n;
	char *grown =
	    s->held_len + rec > cl->queue_max ? NULL : realloc(s->held, s->held_len + rec);
	if (grown == NULL) {
		count(&cl->dropped);
		tell_dropped(cl, h);
		return;
	}
	memcpy(grown + s->held_len, h, sizeof(*h));
	memcpy(grown + s->held_len + sizeof(*h), &n, sizeof(n));
	memcpy(grown + s->held_len + sizeof(*h) + sizeof(n), line, n);
	s->held = grown;
	s->held_len += rec;
}

/* Sends s's held lines through Redis (up) or to this node's members (down), in order. */
static void sub_release(struct cluster *cl, struct subscription *s, bool up)
{
	for (size_t off = 0; off < s->held_len;) {
		struct request_head h;
		size_t n;
		memcpy(&h, s->held + off, sizeof(h));
		memcpy(&n, s->held + off + sizeof(h), sizeof(n));
		const char *line = s->held + off + sizeof(h) + sizeof(n);
		if (up)
			publish_now(cl, s->name, line, n, &h);
		else
			deliver_local(cl, s->name, strlen(s->name), line, n, h.exclude);
		off += sizeof(h) + sizeof(n) + n;
	}
	free(s->held);
	s->held = NULL;
	s->held_len = 0;
}

/* A line this node's users said, for room `name`: through Redis when the link is up. */
static void uplink_publish(struct cluster *cl, const char *name, size_t name_len, const char *line,
			   size_t line_len, const struct request_head *h)
{
	if (!atomic_load_explicit(&cl->up, memory_order_relaxed)) {
		/* the link went down while the line was on its way: this node only */
		deliver_local(cl, name, name_len, line, line_len, h->exclude);
		return;
	}
	struct subscription *s = sub_find(cl, name, name_len);
	if (s != NULL && !s->confirmed) {
		sub_hold(cl, s, line, line_len, h);
		return;
	}
	char room[ROOM_MAX_LEN + 1];
	snprintf(room, sizeof(room), "%.*s", (int)name_len, name);
	publish_now(cl, room, line, line_len, h);
}

/* A worker of this node got its first member in a room, or lost its last. */
static void uplink_watch(struct cluster *cl, const char *name, size_t n, bool first)
{
	struct subscription *s = sub_find(cl, name, n);
	if (!first) {
		if (s != NULL && s->workers > 0 && --s->workers == 0) {
			if (cl->sub.c != NULL)
				link_subscribe(cl, s->name, false);
			sub_remove(cl, s);
		}
		return;
	}
	if (s == NULL && (s = sub_add(cl, name, n)) == NULL) {
		log_error((int)cl->w->index, 0,
			  "cluster: out of memory for a subscription; reconnecting");
		link_down(cl);
		return;
	}
	/* the room now listed under this name: the one this worker's member entered, or a
	 * newer one; deliveries go there */
	struct room *r = dir_room_find(&cl->w->hub->dir, name, n);
	if (s->room != NULL)
		dir_room_put(&cl->w->hub->dir, s->room);
	s->room = r;
	if (s->workers++ > 0 || cl->sub.c == NULL)
		return;
	link_subscribe(cl, s->name, true);
	/* new to the node while the link is up: the room's history comes from Redis; the users
	 * who entered until then get it when it lands */
	if (cl->w->hub->cfg.history > 0 && atomic_load_explicit(&cl->up, memory_order_relaxed))
		seed_ask(cl, s);
}

/* ---- users: names, rooms, private messages and listings across nodes ------------------------ */

/* The fields of a request, a[0..an) and b[0..bn) (b empty when there is one field). */
static void request_fields(const char *data, size_t len, const char **a, size_t *an, const char **b,
			   size_t *bn)
{
	const char *nl = memchr(data, '\n', len);
	*a = data;
	*an = nl != NULL ? (size_t)(nl - data) : len;
	*b = nl != NULL ? nl + 1 : data + len;
	*bn = nl != NULL ? len - *an - 1 : 0;
}

/* A message for worker `to`'s uplink handler: op, head, then a[0..an) '\n' b[0..bn). */
static void uplink_send(struct worker *w, unsigned to, enum uplink_op op,
			const struct request_head *h, const char *a, size_t an, const char *b,
			size_t bn)
{
	struct msg *m = msg_new(sizeof(*h) + an + 1 + bn, 1);
	if (m == NULL) {
		log_error((int)w->index, 0, "cluster: out of memory for a request to the link");
		return;
	}
	memcpy(m->data, h, sizeof(*h));
	memcpy(m->data + sizeof(*h), a, an);
	m->data[sizeof(*h) + an] = '\n';
	memcpy(m->data + sizeof(*h) + an + 1, b, bn);
	m->kind = MSG_UPLINK;
	m->target = op;
	route_hand_to(w, m, to);
}

/* A request about user c of worker w to the link worker. */
static void uplink_user(struct worker *w, const struct conn *c, enum uplink_op op, const char *a,
			size_t an, const char *b, size_t bn, uint32_t text_len)
{
	struct request_head h = { .user = c->id, .worker = w->index, .text_len = text_len };
	uplink_send(w, LINK_WORKER, op, &h, a, an, b, bn);
}

/* Keeps a request for its command's answer (NULL when out of memory: nothing to answer). */
static struct request *request_keep(enum uplink_op op, const struct request_head *h,
				    const char *data, size_t len)
{
	struct request *r = malloc(sizeof(*r) + len + 1);
	if (r == NULL)
		return NULL;
	r->h = *h;
	r->op = (uint8_t)op;
	r->len = len;
	memcpy(r->data, data, len);
	r->data[len] = '\0';
	return r;
}

/* Sends multi-line text to one user, a line per message (a WebSocket user gets a frame each). */
static void tell_lines(struct cluster *cl, uint64_t id, unsigned worker, const char *text,
		       size_t len)
{
	const char *p = text, *end = text + len, *nl;
	while (p < end && (nl = memchr(p, '\n', (size_t)(end - p))) != NULL) {
		tell_user(cl, id, worker, p, (size_t)(nl + 1 - p));
		p = nl + 1;
	}
}

/* An answer about a user's name, to the user's worker. */
static void answer_name(struct cluster *cl, enum uplink_op op, const struct request_head *h,
			const char *name, size_t n)
{
	uplink_send(cl->w, h->worker, op, h, name, n, "", 0);
}

/* The longest /who and /rooms answers built here. */
#define WHO_TEXT_MAX PROTO_WHO_MAX(DIR_WHO_NAMES_MAX)
#define ROOMS_TEXT_MAX                                                               \
	(PROTO_LINE_SIZE(rooms_head) + ROOMS_LISTED * PROTO_LINE_SIZE(rooms_entry) + \
	 PROTO_LINE_SIZE(rooms_more))

/* A /who or /rooms asked while the link went down: this node's answer. */
static void answer_listing_locally(struct cluster *cl, const struct request *r)
{
	size_t cap = r->op == UPLINK_WHO ? WHO_TEXT_MAX : ROOMS_TEXT_MAX;
	char *text = malloc(cap);
	if (text == NULL)
		return;
	struct directory *d = &cl->w->hub->dir;
	const char *room, *rest;
	size_t room_n, rest_n;
	request_fields(r->data, r->len, &room, &room_n, &rest, &rest_n);
	size_t n =
	    r->op == UPLINK_WHO ? dir_who_in(d, room, room_n, text, cap) : dir_rooms(d, text, cap);
	tell_lines(cl, r->h.user, r->h.worker, text, n);
	free(text);
}

/* A command whose answer will never come (the link went down, or it could not be sent): the
 * user is answered as this node alone would answer. */
static void request_fail(struct cluster *cl, struct pending *p)
{
	struct request *r = p->req;
	p->req = NULL;
	if (r == NULL)
		return;
	const char *a, *b;
	size_t an, bn;
	request_fields(r->data, r->len, &a, &an, &b, &bn);
	char line[PROTO_LINE_MAX];
	size_t n;
	switch ((enum uplink_op)r->op) {
	case UPLINK_NICK: /* renamed on this node, as while the link is down */
		answer_name(cl, ANSWER_NAME_OK, &r->h, a, an);
		break;
	case UPLINK_AUTH:
		answer_name(cl, ANSWER_AUTH_LOCAL, &r->h, a, an);
		break;
	case UPLINK_DIRECT:
		n = proto_no_such_user(line, sizeof(line), a, an);
		tell_user(cl, r->h.user, r->h.worker, line, n);
		break;
	case UPLINK_WHO:
	case UPLINK_ROOMS:
		answer_listing_locally(cl, r);
		break;
	case UPLINK_STATE:
		if (r->h.user != 0 && b[0] != 'f') {
			n = proto_error(line, sizeof(line), "%s", PROTO_CLUSTER_CUT_OFF);
			tell_user(cl, r->h.user, r->h.worker, line, n);
		}
		break;
	default:
		break;
	}
	free(r);
}

static void pend_fail_all(struct cluster *cl)
{
	for (; cl->pend_count > 0; cl->pend_count--) {
		request_fail(cl, &cl->pend[cl->pend_head]);
		cl->pend_head = (cl->pend_head + 1) % cl->pend_cap;
	}
	cl->pend_head = 0;
}

/* Runs the user script for one user: mode "put", "move", "sync" or "gone". */
static void user_script_run(struct cluster *cl, const char *mode, uint64_t id, unsigned worker,
			    bool verified, const char *name, const char *room, struct request *req)
{
	char ids[24], workers[16], ttl[16], folded[NAME_MAX_LEN + 1], room_key[ROOM_MAX_LEN + 1];
	snprintf(ids, sizeof(ids), "%llu", (unsigned long long)id);
	snprintf(workers, sizeof(workers), "%u", worker);
	snprintf(ttl, sizeof(ttl), "%d", NAME_TTL_S);
	size_t nn = strnlen(name, NAME_MAX_LEN), rn = strnlen(room, ROOM_MAX_LEN);
	name_fold(name, nn, folded);
	folded[nn] = '\0';
	room_fold(room, rn, room_key);
	struct resp_arg args[11] = {
		resp_arg_str(cl->url.prefix),
		resp_arg_str(cl->node_id),
		resp_arg_str(ids),
		resp_arg_str(ttl),
		resp_arg_str(mode),
		{ folded, nn },
		{ name, nn },
		resp_arg_str(workers),
		{ room_key, rn },
		{ room, rn },
		verified ? RESP_ARG_LIT("1") : RESP_ARG_LIT("0"),
	};
	script_run(cl, SCRIPT_USER, REPLY_USER, 0, 11, args, req);
}

/* Every user of the node to Redis: "sync" refreshes (and records the users Redis does not
 * know), "put" after a "reset" records them all anew. A name held meanwhile by a user of
 * another node comes back as 0: that user is renamed (answer_name). */
static void users_sync(struct cluster *cl, const char *mode)
{
	struct directory *d = &cl->w->hub->dir;
	size_t max = (size_t)atomic_load_explicit(&cl->w->hub->users, memory_order_relaxed) + 64;
	struct dir_entry *users = malloc(max * sizeof(*users));
	cl->next_sync_ms = cl->w->now_ms + SYNC_MS;
	if (users == NULL) {
		log_error((int)cl->w->index, 0, "cluster: out of memory for a refresh of names");
		return;
	}
	size_t n = dir_list_users(d, users, max);
	for (size_t i = 0; i < n && cl->cmd.c != NULL; i++) {
		if (users[i].room[0] == '\0')
			continue;
		struct request_head h = { .user = users[i].id,
					  .worker = users[i].worker,
					  .verified = users[i].verified };
		struct request *r =
		    request_keep(UPLINK_PUT, &h, users[i].name, strlen(users[i].name));
		user_script_run(cl, mode, users[i].id, users[i].worker, users[i].verified,
				users[i].name, users[i].room, r);
	}
	free(users);
}

/* The link is up again: what Redis knew of this node's users is dropped (Redis may have
 * restarted, or other nodes may have taken this one for dead), and every user recorded anew,
 * claiming its name again. */
static void users_resync(struct cluster *cl)
{
	struct resp_arg args[5] = { resp_arg_str(cl->url.prefix), resp_arg_str(cl->node_id),
				    RESP_ARG_LIT("0"), RESP_ARG_LIT("0"), RESP_ARG_LIT("reset") };
	script_run(cl, SCRIPT_USER, REPLY_USER, 0, 5, args, NULL);
	users_sync(cl, "put");
}

/* The answer to a sign-in: { 1, the former holder's record "NODE ID WORKER V NAME" or "" }
 * or { 0, "" } (a signed-in user has the name). A former holder on this node is renamed by
 * its worker, which then lets the user sign in (so the two never hold the name at once on
 * this node); one on another node is told through that node's channel. */
static void auth_reply(struct cluster *cl, const struct resp_node *root, const struct request *r,
		       const char *name, size_t n)
{
	if (root->type != RESP_ARRAY || root->n != 2 || resp_child(root, 0)->type != RESP_INTEGER ||
	    resp_child(root, 0)->integer != 1) {
		answer_name(cl, ANSWER_AUTH_TAKEN, &r->h, name, n);
		return;
	}
	const struct resp_node *was = resp_child(root, 1);
	char node[sizeof(cl->node_id)];
	unsigned long long id = 0;
	unsigned worker = 0;
	char record[256];
	snprintf(record, sizeof(record), "%.*s", was->str != NULL ? (int)was->len : 0,
		 was->str != NULL ? was->str : "");
	char *sp1 = strchr(record, ' ');
	if (sp1 == NULL) { /* the name was free, or already this user's */
		answer_name(cl, ANSWER_AUTH_OK, &r->h, name, n);
		return;
	}
	snprintf(node, sizeof(node), "%.*s", (int)(sp1 - record), record);
	char *end;
	id = strtoull(sp1 + 1, &end, 10);
	worker = (unsigned)strtoul(end, &end, 10);
	if (strcmp(node, cl->node_id) == 0 && worker < cl->w->hub->nworkers) {
		struct request_head h = {
			.user = id, .worker = worker, .peer = r->h.user, .peer_worker = r->h.worker
		};
		uplink_send(cl->w, worker, ANSWER_EVICT, &h, name, n, "", 0);
		return;
	}
	char channel[sizeof(cl->url.prefix) + sizeof(node) + 8], payload[128];
	snprintf(channel, sizeof(channel), "%s:node:%s", cl->url.prefix, node);
	snprintf(payload, sizeof(payload), "evict %s %llu %u %.*s", node, id, worker, (int)n, name);
	struct resp_arg pub[3] = { RESP_ARG_LIT("PUBLISH"), resp_arg_str(channel),
				   resp_arg_str(payload) };
	cmd_send(cl, REPLY_PROBE, 3, pub);
	answer_name(cl, ANSWER_AUTH_OK, &r->h, name, n);
}

/* The user script's answer: 1 done, 0 the name is another user's. */
static void user_reply(struct cluster *cl, const struct resp_node *root, struct request *r)
{
	if (r == NULL)
		return;
	bool granted = root->type == RESP_INTEGER && root->integer == 1;
	const char *a, *b;
	size_t an, bn;
	request_fields(r->data, r->len, &a, &an, &b, &bn);
	if (r->op == UPLINK_AUTH) {
		auth_reply(cl, root, r, a, an);
		return;
	}
	if (r->op == UPLINK_NICK)
		answer_name(cl, granted ? ANSWER_NAME_OK : ANSWER_NAME_TAKEN, &r->h, a, an);
	else if (!granted && (r->op == UPLINK_PUT || r->op == UPLINK_MOVE))
		answer_name(cl, ANSWER_NAME_LOST, &r->h, a, an);
}

/* The private-message script's answer: the recipient's record, or nil (no such user). */
static void direct_reply(struct cluster *cl, const struct resp_node *root, struct request *r)
{
	const char *to, *line;
	size_t to_n, line_n;
	request_fields(r->data, r->len, &to, &to_n, &line, &line_n);
	if (root->type != RESP_BULK && root->type != RESP_SIMPLE) {
		char out[PROTO_LINE_MAX];
		size_t n = proto_no_such_user(out, sizeof(out), to, to_n);
		tell_user(cl, r->h.user, r->h.worker, out, n);
		return;
	}
	count(&cl->remote_private);
	/* "NODE ID WORKER V NAME": the name as its owner spells it */
	const char *name = root->str, *end = root->str + root->len;
	for (int spaces = 0; name < end && spaces < 4; name++)
		spaces += *name == ' ';
	char spelled[NAME_MAX_LEN + 1];
	snprintf(spelled, sizeof(spelled), "%.*s", (int)(end - name), name);
	/* the text is the end of the private line, before its \n */
	size_t text_len = r->h.text_len < line_n ? r->h.text_len : 0;
	const char *text = line + line_n - 1 - text_len;
	struct msg *m =
	    route_msg_new(cl->w, proto_user_line_len(USER_ECHO, spelled, text_len), true);
	if (m == NULL)
		return;
	proto_user_line(m->data, USER_ECHO, spelled, text, text_len);
	route_publish_direct(cl->w, m, r->h.user, r->h.worker);
}

/* /who's answer from Redis: the member count, then names. */
static void who_reply(struct cluster *cl, const struct resp_node *root, const struct request *r)
{
	if (root->type != RESP_ARRAY || root->n < 1) {
		answer_listing_locally(cl, r);
		return;
	}
	const char *names[DIR_WHO_NAMES_MAX];
	char held[DIR_WHO_NAMES_MAX][NAME_MAX_LEN + 1];
	size_t n = 0;
	for (uint32_t i = 1; i < root->n && n < DIR_WHO_NAMES_MAX; i++) {
		const struct resp_node *e = resp_child(root, i);
		snprintf(held[n], sizeof(held[n]), "%.*s", (int)e->len, e->str);
		names[n] = held[n];
		n++;
	}
	char *text = malloc(WHO_TEXT_MAX);
	if (text == NULL)
		return;
	const char *a, *b;
	size_t an, bn;
	request_fields(r->data, r->len, &a, &an, &b, &bn);
	char room[ROOM_MAX_LEN + 1];
	snprintf(room, sizeof(room), "%.*s", (int)an, a);
	size_t len =
	    proto_who(text, WHO_TEXT_MAX, room, (long)resp_child(root, 0)->integer, names, n);
	tell_lines(cl, r->h.user, r->h.worker, text, len);
	free(text);
}

/* /rooms's answer from Redis: the room count, then name and member count per room. */
static void rooms_reply(struct cluster *cl, const struct resp_node *root, const struct request *r)
{
	if (root->type != RESP_ARRAY || root->n < 1) {
		answer_listing_locally(cl, r);
		return;
	}
	char *text = malloc(ROOMS_TEXT_MAX);
	if (text == NULL)
		return;
	long rooms = (long)resp_child(root, 0)->integer, shown = 0;
	size_t len = proto_rooms_head(text, ROOMS_TEXT_MAX, rooms);
	for (uint32_t i = 1; i + 1 < root->n; i += 2, shown++) {
		const struct resp_node *name = resp_child(root, i);
		char room[ROOM_MAX_LEN + 1];
		snprintf(room, sizeof(room), "%.*s", (int)name->len, name->str);
		len += proto_rooms_entry(text + len, ROOMS_TEXT_MAX - len, room,
					 (long)resp_child(root, i + 1)->integer);
	}
	if (shown < rooms)
		len += proto_rooms_more(text + len, ROOMS_TEXT_MAX - len, rooms - shown);
	tell_lines(cl, r->h.user, r->h.worker, text, len);
	free(text);
}

/* ---- operators' orders for every node (operator.h) ------------------------------------------ */

/*
 * An order goes out as "NODE ORDER" on PREFIX:control, which every node subscribes to; each
 * node but the one it came from carries it out on its own users and bans (hub->obey_order:
 * operator_obey).
 * While the link is down an order reaches this node only (it was carried out here already):
 * counted and logged, not queued.
 */
static void uplink_control(struct cluster *cl, const char *order, size_t n, bool up)
{
	if (!up) {
		count(&cl->local_only);
		log_warn((int)cl->w->index, 0,
			 "cluster: link down: an operator's order reached this node only: %.*s",
			 (int)(n < 120 ? n : 120), order);
		return;
	}
	char *text = malloc(strlen(cl->node_id) + 1 + n + 1);
	if (text == NULL) {
		log_error((int)cl->w->index, 0, "cluster: out of memory for an operator's order");
		return;
	}
	int k = sprintf(text, "%s ", cl->node_id);
	memcpy(text + k, order, n);
	text[(size_t)k + n] = '\0';
	struct resp_arg pub[3] = { RESP_ARG_LIT("PUBLISH"), resp_arg_str(cl->control_channel),
				   resp_arg_str(text) };
	cmd_send(cl, REPLY_PROBE, 3, pub); /* its answer, a count, is of no use */
	free(text);
}

static void link_control(struct cluster *cl, const char *p, size_t n)
{
	const char *space = memchr(p, ' ', n);
	if (space == NULL) {
		count(&cl->errors);
		return;
	}
	size_t node = (size_t)(space - p);
	if (node == strlen(cl->node_id) && memcmp(p, cl->node_id, node) == 0)
		return; /* ours: carried out here before it was sent */
	struct hub *hub = cl->w->hub;
	if (hub->obey_order != NULL)
		hub->obey_order(hub, space + 1, n - node - 1);
}

bool cluster_control(struct hub *hub, const char *order, size_t n)
{
	if (hub->cluster == NULL)
		return false;
	struct request_head h = { 0 };
	struct msg *m = msg_new(sizeof(h) + n + 1, 1);
	if (m == NULL)
		return false;
	memcpy(m->data, &h, sizeof(h));
	memcpy(m->data + sizeof(h), order, n);
	m->data[sizeof(h) + n] = '\n';
	m->kind = MSG_UPLINK;
	m->target = UPLINK_CONTROL;
	route_push_outside(hub, m, LINK_WORKER);
	return true;
}

/* A request from a worker of this node to the link. */
static void link_request(struct cluster *cl, enum uplink_op op, const struct request_head *h,
			 const char *data, size_t len)
{
	const char *a, *b;
	size_t an, bn;
	request_fields(data, len, &a, &an, &b, &bn);
	bool up = atomic_load_explicit(&cl->up, memory_order_relaxed) && cl->cmd.c != NULL;
	if (op == UPLINK_PUBLISH) {
		uplink_publish(cl, a, an, b, bn, h);
		return;
	}
	if (op == UPLINK_SUBSCRIBE || op == UPLINK_UNSUBSCRIBE) {
		uplink_watch(cl, a, an, op == UPLINK_SUBSCRIBE);
		return;
	}
	if (op == UPLINK_CONTROL) {
		uplink_control(cl, a, an, up);
		return;
	}
	struct pending p = { .req = request_keep(op, h, data, len) };
	if (p.req == NULL) {
		log_error((int)cl->w->index, 0, "cluster: out of memory for a request");
		return;
	}
	if (!up) { /* a change of state is sent again in full when the link is back */
		request_fail(cl, &p);
		return;
	}
	char name[NAME_MAX_LEN + 1], room[ROOM_MAX_LEN + 1];
	snprintf(name, sizeof(name), "%.*s", (int)an, a);
	switch (op) {
	case UPLINK_PUT:
	case UPLINK_NICK:
	case UPLINK_MOVE:
		snprintf(room, sizeof(room), "%.*s", (int)bn, b);
		user_script_run(cl, op == UPLINK_MOVE ? "move" : "put", h->user, h->worker,
				h->verified != 0, name, room, p.req);
		break;
	case UPLINK_AUTH:
		snprintf(room, sizeof(room), "%.*s", (int)bn, b);
		user_script_run(cl, "auth", h->user, h->worker, true, name, room, p.req);
		break;
	case UPLINK_GONE:
		user_script_run(cl, "gone", h->user, h->worker, false, "", "", p.req);
		break;
	case UPLINK_DIRECT: {
		char folded[NAME_MAX_LEN + 1];
		name_fold(a, strlen(name), folded);
		struct resp_arg args[3] = { resp_arg_str(cl->url.prefix),
					    { folded, strlen(name) },
					    { b, bn } };
		script_run(cl, SCRIPT_DIRECT, REPLY_DIRECT, 0, 3, args, p.req);
		break;
	}
	case UPLINK_WHO: {
		char most[16];
		snprintf(most, sizeof(most), "%d", DIR_WHO_NAMES_MAX);
		size_t rn = an < ROOM_MAX_LEN ? an : ROOM_MAX_LEN;
		room_fold(a, rn, room);
		struct resp_arg args[3] = { resp_arg_str(cl->url.prefix),
					    { room, rn },
					    resp_arg_str(most) };
		script_run(cl, SCRIPT_WHO, REPLY_WHO, 0, 3, args, p.req);
		break;
	}
	case UPLINK_STATE:
		uplink_state(cl, h, a, an, b, bn, p.req);
		break;
	case UPLINK_ROOMS: {
		char most[16], asker[sizeof(cl->node_id) + 24];
		snprintf(most, sizeof(most), "%d", ROOMS_LISTED);
		snprintf(asker, sizeof(asker), "%s %llu", cl->node_id, (unsigned long long)h->user);
		struct resp_arg args[3] = { resp_arg_str(cl->url.prefix), resp_arg_str(most),
					    resp_arg_str(asker) };
		script_run(cl, SCRIPT_ROOMS, REPLY_ROOMS, 0, 3, args, p.req);
		break;
	}
	default:
		free(p.req);
		break;
	}
}

/* A private message for a user of this node, from another node's user: "dm NODE ID WORKER
 * NAME\nLINE" on the node's channel. */
static void link_deliver_direct(struct cluster *cl, const char *p, size_t n)
{
	const char *nl = memchr(p, '\n', n);
	size_t id_len = strlen(cl->node_id);
	/* this node's id, then numbers, all before the \n: strtoull stops there at the latest */
	if (nl == NULL || nl + 1 >= p + n || p[n - 1] != '\n' || (size_t)(nl - p) < 3 + id_len ||
	    memcmp(p + 3, cl->node_id, id_len) != 0 || p[3 + id_len] != ' ') {
		count(&cl->errors);
		return;
	}
	char *end;
	uint64_t id = strtoull(p + 4 + id_len, &end, 10);
	unsigned long worker = *end == ' ' ? strtoul(end + 1, &end, 10) : ULONG_MAX;
	if (*end != ' ' || worker >= cl->w->hub->nworkers) {
		count(&cl->errors);
		return;
	}
	tell_user(cl, id, (unsigned)worker, nl + 1, (size_t)(p + n - nl - 1));
}

/* "evict NODE ID WORKER NAME" on the node's channel: a user of another node signed in as the
 * name of this node's guest ID, which is renamed. */
static void link_evict(struct cluster *cl, const char *p, size_t n)
{
	char text[160], node[sizeof(cl->node_id)], name[NAME_MAX_LEN + 1];
	unsigned long long id;
	unsigned worker;
	snprintf(text, sizeof(text), "%.*s", (int)(n < sizeof(text) - 1 ? n : sizeof(text) - 1), p);
	char *f[5], *save = NULL;
	int k = 0;
	for (char *t = strtok_r(text, " ", &save); t != NULL && k < 5;
	     t = strtok_r(NULL, " ", &save))
		f[k++] = t;
	if (k != 5 || strcmp(f[1], cl->node_id) != 0 || strlen(f[4]) > NAME_MAX_LEN) {
		count(&cl->errors);
		return;
	}
	snprintf(node, sizeof(node), "%s", f[1]);
	snprintf(name, sizeof(name), "%s", f[4]);
	id = strtoull(f[2], NULL, 10);
	worker = (unsigned)strtoul(f[3], NULL, 10);
	if (worker >= cl->w->hub->nworkers)
		return;
	struct request_head h = { .user = id, .worker = worker };
	uplink_send(cl->w, worker, ANSWER_EVICT, &h, name, strlen(name), "", 0);
}

/* ---- a room's history from Redis, for a room new to the node ------------------------------ */

/*
 * The ordering. The first member of a room on the node takes the room's history (empty) as it
 * enters, before the link worker even hears of the room: its history from Redis comes later.
 * When a room is new to the node (its first member on any worker) while the link is up, the
 * link worker sends its SUBSCRIBE and, right behind it on the same subscriber connection,
 * the read of the room's stream (seed_script; RESP3 lets a subscribed connection run
 * commands). Redis runs one connection's commands in order and sends their answers and the
 * channel's messages in the order it made them, so every line of the room said before the
 * read is in it (if users said it), and every line said after comes after its answer. A line
 * said between the SUBSCRIBE and the read (another client's command may run between the two)
 * is in both, and comes before the answer.
 * 1. Until the answer lands, the room's lines from Redis are held (seed_hold): nothing of the
 *    room reaches its users here.
 * 2. When it lands (seed_land), under the room's history lock, the lines read go in front of
 *    the room's history (history_seed; only into a history that kept no line yet, which every
 *    user here took empty), taking position P, and the room's worker mask is read, as
 *    route_publish_room does.
 * 3. Each of those workers is sent ANSWER_HISTORY (the room, P), then the held lines, through
 *    the same inbox (one producer's order is kept); of the held lines, those users said that
 *    the read had too are dropped (by their numbers).
 * 4. On each worker, every member of the room who took the history before P (seen_hpos < P)
 *    is shown it now (route_show_history), before any of those lines, which it then skips by
 *    position when the block had them (seen_hpos), as on entering a room. A worker whose bit
 *    was not in the mask set it after the seed (a worker sets its bit before its user takes
 *    the history, under the same lock): its users took the seeded history on entering.
 * No answer, or a failed one (the link went down, an error, more lines held meanwhile than the
 * command queue's bound): the held lines go out as they are, in order, and the users keep the
 * history this node had (empty) and every line that follows.
 */

/* Reads s's room's history from Redis, right behind its SUBSCRIBE on the subscriber. */
static void seed_ask(struct cluster *cl, struct subscription *s)
{
	char key[sizeof(cl->url.prefix) + ROOM_MAX_LEN + 8], lines[16], bytes[24], which[48];
	size_t kn = channel_of(cl, "hist", s->name, key, sizeof(key));
	snprintf(lines, sizeof(lines), "%d", cl->w->hub->cfg.history);
	snprintf(bytes, sizeof(bytes), "%zu", cl->seed_bytes);
	s->seed_id = ++cl->seeds_asked;
	snprintf(which, sizeof(which), "%llu %s", (unsigned long long)s->seed_id, s->name);
	struct resp_arg argv[7] = { RESP_ARG_LIT("EVAL"), resp_arg_str(seed_script),
				    RESP_ARG_LIT("1"),    { key, kn },
				    resp_arg_str(lines),  resp_arg_str(bytes),
				    resp_arg_str(which) };
	s->seeding = link_send(cl, &cl->sub, 7, argv);
}

/* The subscription a read's answer is for ("ID ROOM\n" first), or NULL: dropped meanwhile, or
 * made anew (a read of its own). *body: the records after that line. */
static struct subscription *seed_owner(struct cluster *cl, const struct resp_node *root,
				       const char **body)
{
	const char *p = root->str;
	const char *nl = root->len > 0 ? memchr(p, '\n', root->len) : NULL;
	const char *sp = nl != NULL ? memchr(p, ' ', (size_t)(nl - p)) : NULL;
	if (sp == NULL || !isdigit((unsigned char)*p)) {
		count(&cl->errors);
		return NULL;
	}
	*body = nl + 1;
	uint64_t id = strtoull(p, NULL, 10); /* digits, then the space */
	struct subscription *s = sub_find(cl, sp + 1, (size_t)(nl - sp - 1));
	return s != NULL && s->seeding && s->seed_id == id ? s : NULL;
}

/* s's read is over: the room's lines held meanwhile go to this node's members, in order, less
 * the lines users said that the read had (seeded[0..n), ascending; the history has them). */
static void seed_end(struct cluster *cl, struct subscription *s, const uint64_t *seeded, size_t n)
{
	char *live = s->live;
	size_t len = s->live_len;
	s->seeding = false;
	s->live = NULL;
	s->live_len = 0;
	s->seeded = seeded;
	s->nseeded = n;
	for (size_t off = 0; off < len;) {
		size_t rn;
		memcpy(&rn, live + off, sizeof(rn));
		room_deliver(cl, s, live + off + sizeof(rn), rn);
		off += sizeof(rn) + rn;
	}
	s->seeded = NULL;
	s->nseeded = 0;
	free(live);
}

/* No history from Redis for s's room: its users keep this node's. */
static void seed_fail(struct cluster *cl, struct subscription *s, const char *why)
{
	count(&cl->seeds_failed);
	worker_log_gated(cl->w, GATE_SLOW, LOG_WARN, 0,
			 "cluster: no history from Redis for room %s (%s): its users here get "
			 "this node's",
			 s->name, why);
	seed_end(cl, s, NULL, 0);
}

/* An error answered some read (subs_each): every read on its way is given up. */
static void seeds_fail(struct cluster *cl, struct subscription *s)
{
	if (s->seeding)
		seed_fail(cl, s, "an error from Redis");
}

/* A line of s's room from Redis while its history is on its way: held, up to the command
 * queue's bound (half of --max-outbuf); past it the read is given up and the lines go out. */
static void seed_hold(struct cluster *cl, struct subscription *s, const char *p, size_t n)
{
	size_t rec = sizeof(n) + n;
	bool over = s->live_len + rec > cl->queue_max;
	char *grown = over ? NULL : realloc(s->live, s->live_len + rec);
	if (grown == NULL) {
		seed_fail(cl, s, over ? "too many lines while it was read" : "out of memory");
		room_deliver(cl, s, p, n);
		return;
	}
	memcpy(grown + s->live_len, &n, sizeof(n));
	memcpy(grown + s->live_len + sizeof(n), p, n);
	s->live = grown;
	s->live_len += rec;
}

static void entries_release(struct history_entry *e, size_t n)
{
	for (size_t i = 0; i < n; i++)
		msg_release(e[i].m);
}

/* One record of seed_script's answer at *p (before end), "SEQ MS LEN\nLINE", into e with a
 * message holding the line (a reference for the history); *p moves past it. False when
 * malformed or out of memory. */
static bool seed_record(const char **p, const char *end, struct history_entry *e)
{
	const char *nl = memchr(*p, '\n', (size_t)(end - *p));
	char head[64], *next;
	size_t hn = nl != NULL ? (size_t)(nl - *p) : 0;
	if (hn == 0 || hn >= sizeof(head) || !isdigit((unsigned char)**p))
		return false;
	memcpy(head, *p, hn);
	head[hn] = '\0';
	errno = 0;
	unsigned long long seq = strtoull(head, &next, 10);
	bool ok = next[0] == ' ' && isdigit((unsigned char)next[1]);
	long long ms = ok ? strtoll(next + 1, &next, 10) : 0;
	ok = ok && next[0] == ' ' && isdigit((unsigned char)next[1]);
	unsigned long long len = ok ? strtoull(next + 1, &next, 10) : 0;
	if (!ok || errno != 0 || *next != '\0' || seq == 0 || len == 0 ||
	    len > (unsigned long long)(end - nl - 1))
		return false;
	struct msg *m = msg_new((size_t)len, 1);
	if (m == NULL)
		return false;
	memcpy(m->data, nl + 1, (size_t)len);
	msg_set_workers(m, 1);
	*e = (struct history_entry){ .m = m, .seq = seq, .time_ms = ms };
	*p = nl + 1 + len;
	return true;
}

/* The records p[0..len), the room's lines newest first, into e[0..max) oldest first; returns
 * how many. A malformed record ends them (the older lines are not kept). */
static size_t seed_parse(struct cluster *cl, const char *p, size_t len, struct history_entry *e,
			 size_t max)
{
	const char *end = p + len;
	size_t n = 0;
	while (p < end && n < max && seed_record(&p, end, &e[n]))
		n++;
	if (p < end && n < max)
		count(&cl->errors);
	for (size_t i = 0; i < n / 2; i++) {
		struct history_entry t = e[i];
		e[i] = e[n - 1 - i];
		e[n - 1 - i] = t;
	}
	return n;
}

/* Puts e[0..n) in front of s's room's history if it kept no line yet (the users here all took
 * it empty); *pos: the seed's position, *mask: the workers with members in the room. Returns
 * how many lines were kept; takes e's references. */
static size_t seed_put(struct subscription *s, struct history_entry *e, size_t n, uint64_t *pos,
		       uint64_t *mask)
{
	struct room *room = s->room;
	size_t kept = 0;
	*pos = *mask = 0;
	if (room == NULL || n == 0) {
		entries_release(e, n);
		return 0;
	}
	pthread_mutex_lock(&room->hist.lock);
	if (room->hist.last_pos == 0)
		kept = history_seed(&room->hist, e, n, pos);
	else
		entries_release(e, n);
	/* acquire: pairs with the release in room_local_add, as in route_publish_room */
	*mask = atomic_load_explicit(&room->worker_mask, memory_order_acquire);
	pthread_mutex_unlock(&room->hist.lock);
	return kept;
}

/* A room's history from Redis lands (seed_script's answer): see "The ordering" above. */
static void seed_land(struct cluster *cl, const struct resp_node *root)
{
	const char *body = NULL;
	struct subscription *s = seed_owner(cl, root, &body);
	if (s == NULL)
		return; /* the room's last member here left meanwhile */
	size_t max = (size_t)cl->w->hub->cfg.history;
	struct history_entry *e = malloc(max * sizeof(*e));
	uint64_t *seqs = malloc(max * sizeof(*seqs));
	if (e == NULL || seqs == NULL) {
		free(e);
		free(seqs);
		seed_fail(cl, s, "out of memory");
		return;
	}
	size_t n = seed_parse(cl, body, (size_t)(root->str + root->len - body), e, max);
	for (size_t i = 0; i < n; i++)
		seqs[i] = e[i].seq;
	uint64_t pos, mask;
	size_t kept = seed_put(s, e, n, &pos, &mask);
	free(e);
	count(&cl->seeds);
	for (uint64_t rest = kept > 0 ? mask : 0; rest != 0; rest &= rest - 1) {
		struct request_head h = { .room = s->room->id, .pos = pos };
		uplink_send(cl->w, (unsigned)__builtin_ctzll(rest), ANSWER_HISTORY, &h, "", 0, "",
			    0);
	}
	seed_end(cl, s, seqs, kept > 0 ? n : 0);
	free(seqs);
}

/* ---- on a user's worker -------------------------------------------------------------------- */

static bool link_seen_up(const struct worker *w)
{
	const struct cluster *cl = w->hub->cluster;
	/* acquire: pairs with the release in link_check_up */
	return cl != NULL && atomic_load_explicit(&cl->up, memory_order_acquire);
}

bool cluster_linked(const struct worker *w)
{
	return link_seen_up(w);
}

bool cluster_renamed(struct worker *w, struct conn *c, const char *old)
{
	stat_add(&w->stats.renames, 1);
	log_info((int)w->index, c->id, "%s is now %s", old, c->user.name);
	char line[PROTO_LINE_MAX];
	size_t len = proto_renamed(line, sizeof(line), old, c->user.name);
	/* every room of the user's is told; an IRC user sharing several sees one NICK (msg.h) */
	uint64_t tag = c->user.nrooms > 1 ? route_new_tag(w) : 0;
	for (uint32_t i = 0; i < c->user.nrooms; i++) {
		struct msg *m = route_msg_new(w, len, false);
		if (m == NULL) {
			stat_add(&w->stats.nomem_dropped, 1);
			return false;
		}
		memcpy(m->data, line, len);
		m->target = tag;
		cluster_publish_room(w, user_room_at(&c->user, i)->room, m, 0);
	}
	return true;
}

/* The user's name and room, to the link (PUT or MOVE). */
static void user_record(struct worker *w, struct conn *c, enum uplink_op op)
{
	if (!link_seen_up(w) || c->user.room == NULL)
		return;
	const char *room = c->user.room->name; /* set at creation, never written again */
	struct request_head h = { .user = c->id, .worker = w->index, .verified = c->user.verified };
	uplink_send(w, LINK_WORKER, op, &h, c->user.name, strlen(c->user.name), room, strlen(room));
}

void cluster_user_moved(struct worker *w, struct conn *c, bool newcomer)
{
	user_record(w, c, newcomer ? UPLINK_PUT : UPLINK_MOVE);
}

void cluster_user_gone(struct worker *w, struct conn *c)
{
	if (link_seen_up(w))
		uplink_user(w, c, UPLINK_GONE, "", 0, "", 0, 0);
}

bool cluster_nick(struct worker *w, struct conn *c, const char *name, size_t n)
{
	if (!link_seen_up(w) || c->user.room == NULL)
		return false;
	const char *room = c->user.room->name;
	uplink_user(w, c, UPLINK_NICK, name, n, room, strlen(room), 0);
	return true;
}

bool cluster_direct(struct worker *w, struct conn *c, const char *to, size_t to_n, const char *text,
		    size_t text_n)
{
	if (!link_seen_up(w))
		return false;
	size_t n = proto_user_line_len(USER_PRIVATE, c->user.name, text_n);
	char *line = malloc(n);
	if (line == NULL)
		return false;
	proto_user_line(line, USER_PRIVATE, c->user.name, text, text_n);
	uplink_user(w, c, UPLINK_DIRECT, to, to_n, line, n, (uint32_t)text_n);
	free(line);
	return true;
}

bool cluster_ask(struct worker *w, struct conn *c, enum cluster_ask what)
{
	if (!link_seen_up(w))
		return false;
	if (what == CLUSTER_ROOMS) {
		uplink_user(w, c, UPLINK_ROOMS, "", 0, "", 0, 0);
		return true;
	}
	if (c->user.room == NULL)
		return false;
	const char *room = c->user.room->name;
	uplink_user(w, c, UPLINK_WHO, room, strlen(room), "", 0, 0);
	return true;
}

/* The user's name was found taken on another node: it becomes a guest name of this node,
 * claimed like any other. */
static void rename_to_guest(struct worker *w, struct conn *c,
			    size_t (*word)(char *, size_t, const char *, const char *))
{
	char old[NAME_MAX_LEN + 1], guest[NAME_MAX_LEN + 1];
	uint64_t x = (uint64_t)clock_now_us() ^ (c->id * 0x9E3779B97F4A7C15ULL);
	int rc = -EEXIST;
	for (int tries = 0; tries < 8 && rc == -EEXIST; tries++) {
		x ^= x << 13, x ^= x >> 7, x ^= x << 17; /* xorshift64 */
		snprintf(guest, sizeof(guest), "guest%06u", (unsigned)(x % 1000000));
		rc = dir_rename(&w->hub->dir, &c->user, guest, strlen(guest), old);
	}
	if (rc < 0) {
		log_warn((int)w->index, c->id, "cluster: no guest name for %s (%s)", c->user.name,
			 strerror(-rc));
		return;
	}
	if (w->hub->cluster != NULL && word == proto_name_lost)
		count(&w->hub->cluster->names_lost);
	char line[PROTO_LINE_MAX];
	route_send_line(w, c, line, word(line, sizeof(line), old, c->user.name));
	cluster_renamed(w, c, old);
	user_record(w, c, UPLINK_PUT);
}

/* c signs in as name[0..n): renamed (unless it has the name already), marked signed in, told;
 * with a link, Redis records it (its claim already says so: the sign-in script set it). */
static void sign_in_now(struct worker *w, struct conn *c, const char *name, size_t n)
{
	char old[NAME_MAX_LEN + 1], line[PROTO_LINE_MAX];
	int rc = dir_rename(&w->hub->dir, &c->user, name, n, old);
	if (rc < 0) {
		stat_add(&w->stats.auth_refused, 1);
		route_send_line(
		    w, c, line,
		    proto_auth_refused(line, sizeof(line),
				       rc == -EEXIST ? "the name is taken" : "out of memory"));
		return;
	}
	dir_set_verified(&w->hub->dir, &c->user);
	stat_add(&w->stats.auth_ok, 1);
	log_info((int)w->index, c->id, "signed in as %s", c->user.name);
	route_send_line(w, c, line, proto_signed_in(line, sizeof(line), c->user.name));
	if (strcmp(old, c->user.name) != 0)
		cluster_renamed(w, c, old);
	user_record(w, c, UPLINK_PUT);
}

static void refuse_signed_in_already(struct worker *w, struct conn *c)
{
	char line[PROTO_LINE_MAX];
	size_t n = proto_auth_refused(line, sizeof(line), "that name is signed in already");
	stat_add(&w->stats.auth_refused, 1);
	route_send_line(w, c, line, n);
}

/* Signing in on this node alone (no link): a guest of this node holding the name is renamed
 * by its worker first, which then lets c sign in (ANSWER_EVICT). */
static void sign_in_locally(struct worker *w, struct conn *c, const char *name, size_t n)
{
	uint64_t id;
	unsigned worker;
	bool verified;
	if (!dir_lookup_verified(&w->hub->dir, name, n, &id, &worker, &verified) || id == c->id) {
		sign_in_now(w, c, name, n);
		return;
	}
	if (verified) {
		refuse_signed_in_already(w, c);
		return;
	}
	struct request_head h = {
		.user = id, .worker = worker, .peer = c->id, .peer_worker = w->index
	};
	uplink_send(w, worker, ANSWER_EVICT, &h, name, n, "", 0);
}

void cluster_sign_in(struct worker *w, struct conn *c, const char *name, size_t n)
{
	if (!link_seen_up(w) || c->user.room == NULL) {
		sign_in_locally(w, c, name, n);
		return;
	}
	const char *room = c->user.room->name;
	struct request_head h = { .user = c->id, .worker = w->index, .verified = 1 };
	uplink_send(w, LINK_WORKER, UPLINK_AUTH, &h, name, n, room, strlen(room));
}

/* A guest (h->user) must give its name up to a signed-in user (h->peer, or one of another
 * node): renamed and told, then the peer signs in. */
static void user_evict(struct worker *w, const struct request_head *h, const char *name, size_t n)
{
	struct conn *c = route_find_user(w, h->user);
	if (c != NULL && !c->closing && c->user.listed && !c->user.verified &&
	    strlen(c->user.name) == n && name_same(c->user.name, n, name, n))
		rename_to_guest(w, c, proto_name_reclaimed);
	if (h->peer == 0)
		return;
	struct request_head to = { .user = h->peer, .worker = h->peer_worker };
	uplink_send(w, h->peer_worker, ANSWER_AUTH_OK, &to, name, n, "", 0);
}

/* An answer about c's name, from the link worker. */
static void user_answer(struct worker *w, enum uplink_op op, const struct request_head *h,
			const char *name, size_t n)
{
	struct conn *c = route_find_user(w, h->user);
	if (c == NULL || c->closing || !c->user.listed)
		return;
	char line[PROTO_LINE_MAX], old[NAME_MAX_LEN + 1];
	int rc;
	switch (op) {
	case ANSWER_NAME_OK:
		rc = dir_rename(&w->hub->dir, &c->user, name, n, old);
		if (rc == 0) {
			cluster_renamed(w, c, old);
			return;
		}
		/* taken on this node meanwhile: Redis is told the name this user keeps */
		stat_add(&w->stats.nick_rejected, 1);
		route_send_line(w, c, line, proto_name_taken(line, sizeof(line), name, n));
		user_record(w, c, UPLINK_PUT);
		break;
	case ANSWER_NAME_TAKEN:
		stat_add(&w->stats.nick_rejected, 1);
		route_send_line(w, c, line, proto_name_taken(line, sizeof(line), name, n));
		break;
	case ANSWER_NAME_LOST:
		if (strlen(c->user.name) == n && memcmp(c->user.name, name, n) == 0)
			rename_to_guest(w, c, proto_name_lost);
		break;
	case ANSWER_AUTH_OK:
		sign_in_now(w, c, name, n);
		break;
	case ANSWER_AUTH_LOCAL:
		sign_in_locally(w, c, name, n);
		break;
	case ANSWER_AUTH_TAKEN:
		refuse_signed_in_already(w, c);
		break;
	default:
		break;
	}
}

static void cluster_uplink(struct worker *w, struct msg *m)
{
	struct cluster *cl = w->hub->cluster;
	struct request_head h;
	if (m->len < sizeof(h))
		return;
	memcpy(&h, m->data, sizeof(h));
	const char *data = m->data + sizeof(h);
	size_t len = m->len - sizeof(h);
	enum uplink_op op = (enum uplink_op)m->target;
	if (op == ANSWER_HISTORY) {
		route_show_history(w, h.room, h.pos);
		return;
	}
	if (op >= ANSWER_NAME_OK) {
		const char *a, *b;
		size_t an, bn;
		request_fields(data, len, &a, &an, &b, &bn);
		if (op == ANSWER_EVICT)
			user_evict(w, &h, a, an);
		else
			user_answer(w, op, &h, a, an);
		return;
	}
	if (cl != NULL && w == cl->w)
		link_request(cl, op, &h, data, len);
}

static void cluster_watch(struct worker *w, const char *room, bool first)
{
	struct request_head h = { 0 };
	uplink_send(w, LINK_WORKER, first ? UPLINK_SUBSCRIBE : UPLINK_UNSUBSCRIBE, &h, room,
		    strlen(room), "", 0);
}

void cluster_publish_room(struct worker *w, struct room *r, struct msg *m, uint64_t from)
{
	struct cluster *cl = w->hub->cluster;
	if (cl == NULL || !atomic_load_explicit(&cl->up, memory_order_acquire)) {
		if (cl != NULL)
			count(&cl->local_only);
		route_publish_room(w, r, m);
		return;
	}
	struct request_head h = { .user = from, .exclude = m->exclude, .worker = w->index };
	uplink_send(w, LINK_WORKER, UPLINK_PUBLISH, &h, r->name, strlen(r->name), m->data, m->len);
	msg_set_workers(m, 1); /* never published: this worker drops it */
	msg_release(m);
}

/* ---- rooms' state (docs/cluster.md, "Room state") ------------------------------------------- */

/* A room's state as this node knows it, for rooms it may have no member in (under the
 * directory lock). */
struct replica {
	char name[ROOM_MAX_LEN + 1]; /* folded */
	struct room_state st;
	struct replica *next; /* replicas whose names hash alike */
};

static struct replica *replica_find(struct cluster *cl, const char *name, size_t n, bool make)
{
	uint64_t h = map_hash_name(name, n);
	struct replica *head = map_get(&cl->replica, h);
	for (struct replica *e = head; e != NULL; e = e->next)
		if (strlen(e->name) == n && memcmp(e->name, name, n) == 0)
			return e;
	if (!make || n > ROOM_MAX_LEN)
		return NULL;
	struct replica *e = calloc(1, sizeof(*e));
	if (e == NULL)
		return NULL;
	memcpy(e->name, name, n);
	roomstate_init(&e->st, false);
	e->next = head;
	if (map_put(&cl->replica, h, e) < 0) {
		roomstate_free(&e->st);
		free(e);
		return NULL;
	}
	return e;
}

static void replica_drop(struct cluster *cl, const char *name, size_t n)
{
	uint64_t h = map_hash_name(name, n);
	struct replica *head = map_get(&cl->replica, h);
	for (struct replica *e = head, *prev = NULL; e != NULL; prev = e, e = e->next) {
		if (strlen(e->name) != n || memcmp(e->name, name, n) != 0)
			continue;
		if (prev != NULL)
			prev->next = e->next;
		else if (e->next == NULL)
			(void)map_del(&cl->replica, h);
		else if (map_put(&cl->replica, h, e->next) < 0)
			return; /* kept: cannot happen, the key is there already */
		roomstate_free(&e->st);
		free(e);
		return;
	}
}

/* Forgets every replica (lock held, or no worker running). */
static void replica_clear(struct cluster *cl)
{
	size_t pos = 0;
	uint64_t key;
	void *v;
	while (map_next(&cl->replica, &pos, &key, &v))
		for (struct replica *e = v, *next; e != NULL; e = next) {
			next = e->next;
			roomstate_free(&e->st);
			free(e);
		}
	map_free(&cl->replica);
	memset(&cl->replica, 0, sizeof(cl->replica));
}

/* directory.h's room_seed, lock held, any worker: a room new to this node takes the state the
 * cluster has for it (as this node last heard, the link up or not); false when it has one (the
 * joiner is checked, and is no operator). */
static bool replica_seed(void *ctx, struct room *r)
{
	struct cluster *cl = ctx;
	if (r->st.lobby)
		return true;
	char folded[ROOM_MAX_LEN + 1];
	size_t n = strlen(r->name);
	room_fold(r->name, n, folded);
	const struct replica *e = replica_find(cl, folded, n, false);
	if (e == NULL)
		return true;
	(void)roomops_copy_locked(&r->st, &e->st); /* no memory: fewer bans or invitations */
	return false;
}

/* The most members of this node one ban made on another node puts out of the room (the others
 * stay until they leave: they cannot come back). */
#define STATE_BAN_KICKS 64

/* One change of a room's state, parsed. */
struct state_change {
	struct cluster *cl;
	const char *room, *field, *value;
	size_t rn, fn, vn;
	char op;
	bool own; /* made on this node */
	bool kick;
	struct roomops_target t;                       /* kick: the member of this node */
	struct roomops_target banned[STATE_BAN_KICKS]; /* a ban's: members of this node */
	size_t nbanned;
	uint64_t room_id;
	char room_name[ROOM_MAX_LEN + 1];
};

/* Lock held: the change into the node's copy and into the room here, if any. */
static void state_apply(struct room *r, void *arg)
{
	struct state_change *sc = arg;
	if (sc->op == 'e') {
		replica_drop(sc->cl, sc->room, sc->rn);
		return;
	}
	struct replica *e =
	    replica_find(sc->cl, sc->room, sc->rn, sc->op == 'f' || sc->op == 's' || sc->op == 'd');
	if (e != NULL)
		(void)roomops_apply_locked(&e->st, NULL, sc->op, sc->field, sc->fn, sc->value,
					   sc->vn, NULL);
	if (r == NULL || sc->op == 'f')
		return;
	sc->kick =
	    roomops_apply_locked(&r->st, r, sc->op, sc->field, sc->fn, sc->value, sc->vn, &sc->t);
	sc->room_id = r->id;
	memcpy(sc->room_name, r->name, sizeof(sc->room_name));
	if (sc->own || sc->op != 's' || sc->fn < 3 || sc->fn > ROOMOPS_MASK_MAX + 2 ||
	    memcmp(sc->field, "b:", 2) != 0)
		return;
	char mask[ROOMOPS_MASK_MAX + 1];
	snprintf(mask, sizeof(mask), "%.*s", (int)(sc->fn - 2), sc->field + 2);
	for (uint32_t i = 0; i < r->nusers && sc->nbanned < STATE_BAN_KICKS; i++) {
		const struct user *u = r->users[i];
		if (!roomstate_mask_matches(mask, u->name, &u->addr))
			continue;
		struct roomops_target *t = &sc->banned[sc->nbanned++];
		t->id = u->id;
		t->worker = u->worker;
		memcpy(t->name, u->name, sizeof(t->name));
	}
}

/* A ban made on another node: this node's matching members are put out of the room. */
static void state_ban_kicks(struct cluster *cl, const struct state_change *sc)
{
	struct hub *hub = cl->w->hub;
	char by[NAME_MAX_LEN + 1];
	snprintf(by, sizeof(by), "%.*s", (int)sc->vn, sc->value);
	for (size_t i = 0; i < sc->nbanned && hub->room_kick != NULL; i++)
		(void)hub->room_kick(hub, sc->banned[i].worker, sc->banned[i].id, sc->room_id,
				     sc->room_name, by, "banned");
}

/* "NODE ROOM\tOP\tFIELD\tVALUE" on PREFIX:state: applied on every node, the one it came from
 * too (it applied it first: applying it again changes nothing, and leaves every node with the
 * state in Redis's order when two nodes change one room at once). */
static void link_state(struct cluster *cl, const char *p, size_t n)
{
	const char *end = p + n, *sp = memchr(p, ' ', n);
	const char *t1 = sp ? memchr(sp, '\t', (size_t)(end - sp)) : NULL;
	const char *t2 = t1 && t1 + 2 < end ? t1 + 2 : NULL;
	const char *t3 = t2 && *t2 == '\t' ? memchr(t2 + 1, '\t', (size_t)(end - t2 - 1)) : NULL;
	if (t3 == NULL || (size_t)(t1 - sp - 1) > ROOM_MAX_LEN) {
		count(&cl->errors);
		return;
	}
	struct state_change sc = { .cl = cl,
				   .room = sp + 1,
				   .rn = (size_t)(t1 - sp - 1),
				   .op = t1[1],
				   .field = t2 + 1,
				   .fn = (size_t)(t3 - t2 - 1),
				   .value = t3 + 1,
				   .vn = (size_t)(end - t3 - 1) };
	size_t node = (size_t)(sp - p);
	sc.own = node == strlen(cl->node_id) && memcmp(p, cl->node_id, node) == 0;
	count(&cl->state_changes);
	dir_with_room(&cl->w->hub->dir, sc.room, sc.rn, state_apply, &sc);
	state_ban_kicks(cl, &sc);
	if (!sc.kick)
		return;
	/* VALUE: "BY\tREASON" */
	char by[NAME_MAX_LEN + 1] = "", reason[BAN_REASON_MAX + 1] = "";
	const char *tab = memchr(sc.value, '\t', sc.vn);
	size_t bn = tab != NULL ? (size_t)(tab - sc.value) : sc.vn;
	snprintf(by, sizeof(by), "%.*s", (int)bn, sc.value);
	if (tab != NULL)
		snprintf(reason, sizeof(reason), "%.*s", (int)(sc.value + sc.vn - tab - 1),
			 tab + 1);
	struct hub *hub = cl->w->hub;
	if (hub->room_kick != NULL)
		(void)hub->room_kick(hub, sc.t.worker, sc.t.id, sc.room_id, sc.room_name, by,
				     reason);
}

/* Reads every room's state, right behind the SUBSCRIBE to PREFIX:state. */
static void dump_ask(struct cluster *cl)
{
	char most[24];
	snprintf(most, sizeof(most), "%zu", cl->in_max / 2);
	struct resp_arg argv[5] = { RESP_ARG_LIT("EVAL"), resp_arg_str(dump_script),
				    RESP_ARG_LIT("0"), resp_arg_str(cl->url.prefix),
				    resp_arg_str(most) };
	cl->state_loading = link_send(cl, &cl->sub, 5, argv);
}

/* Copies a room's state from the dump into the room here (its members' modes stay). */
static void state_land_room(struct room *r, void *arg)
{
	const struct replica *e = arg;
	if (r != NULL && !r->st.lobby)
		(void)roomops_copy_locked(&r->st, &e->st);
}

/* The answer of dump_ask: "state\n", then "=ROOM\n" and "FIELD\tVALUE\n" lines. */
static void state_land(struct cluster *cl, const char *p, size_t n)
{
	struct directory *d = &cl->w->hub->dir;
	const char *end = p + n, *line = p + 6, *nl;
	pthread_mutex_lock(&d->lock);
	replica_clear(cl);
	struct replica *e = NULL;
	size_t rooms = 0;
	for (; line < end && (nl = memchr(line, '\n', (size_t)(end - line))) != NULL;
	     line = nl + 1) {
		if (*line == '=') {
			e = replica_find(cl, line + 1, (size_t)(nl - line - 1), true);
			rooms += e != NULL;
			continue;
		}
		const char *tab = memchr(line, '\t', (size_t)(nl - line));
		if (e != NULL && tab != NULL)
			(void)roomops_apply_locked(&e->st, NULL, 's', line, (size_t)(tab - line),
						   tab + 1, (size_t)(nl - tab - 1), NULL);
	}
	pthread_mutex_unlock(&d->lock);
	/* the rooms this node has members in follow what the cluster has; the link worker alone
	 * changes the replicas, so it walks them without the lock */
	size_t pos = 0;
	uint64_t key;
	void *v;
	while (map_next(&cl->replica, &pos, &key, &v))
		for (struct replica *x = v; x != NULL; x = x->next)
			dir_with_room(d, x->name, strlen(x->name), state_land_room, x);
	log_info((int)cl->w->index, 0, "cluster: the state of %zu rooms read from Redis", rooms);
	cl->state_loading = false;
	link_check_up(cl);
}

/* The head of a change from a worker (cluster_room_change), b[0..bn) = "OP REMOTE FN VN\n"
 * FIELD VALUE NOTICE. */
struct state_head {
	char op;
	bool remote;
	size_t fn, vn;
	const char *field; /* then the value, then the notice */
};

static bool state_head_parse(const char *b, size_t bn, struct state_head *sh)
{
	const char *nl = memchr(b, '\n', bn);
	if (nl == NULL || nl - b < 7 || b[1] != ' ' || b[3] != ' ')
		return false;
	char *end;
	sh->op = b[0];
	sh->remote = b[2] == '1';
	sh->fn = strtoul(b + 4, &end, 10);
	if (*end != ' ')
		return false;
	sh->vn = strtoul(end + 1, &end, 10);
	sh->field = nl + 1;
	return end == nl && sh->fn + sh->vn <= (size_t)(b + bn - sh->field);
}

/* A change from a worker (cluster_room_change): b = "OP REMOTE FN VN\n" FIELD VALUE NOTICE. */
static void uplink_state(struct cluster *cl, const struct request_head *h, const char *room,
			 size_t rn, const char *b, size_t bn, struct request *req)
{
	struct state_head sh;
	if (rn > ROOM_MAX_LEN || !state_head_parse(b, bn, &sh)) {
		count(&cl->errors);
		free(req);
		return;
	}
	char op = sh.op;
	bool remote = sh.remote;
	size_t fn = sh.fn, vn = sh.vn;
	const char *field = sh.field, *value = field + fn;
	char folded[ROOM_MAX_LEN + 1], founder[96];
	room_fold(room, rn, folded);
	if (op == 'f') { /* the value: who founded it */
		snprintf(founder, sizeof(founder), "%s %llu", cl->node_id,
			 (unsigned long long)h->user);
		value = founder;
		vn = strlen(founder);
	}
	size_t mn = strlen(cl->node_id) + rn + fn + vn + 8;
	char *msg = malloc(mn);
	if (msg == NULL) {
		count(&cl->errors);
		free(req);
		return;
	}
	int k = snprintf(msg, mn, "%s %s\t%c\t%.*s\t%.*s", cl->node_id, folded, op, (int)fn, field,
			 (int)vn, value);
	char ttl[16];
	snprintf(ttl, sizeof(ttl), "%d", NAME_TTL_S);
	char ops[2] = { op, '\0' };
	struct resp_arg args[8] = { resp_arg_str(cl->url.prefix),
				    { folded, rn },
				    resp_arg_str(ops),
				    { field, fn },
				    { value, vn },
				    { msg, (size_t)k },
				    resp_arg_str(ttl),
				    { field, remote ? fn : 0 } };
	script_run(cl, SCRIPT_STATE, REPLY_STATE, 0, 8, args, req);
	free(msg);
}

/* Lock held: the user t->id thought it founded r, but another node did first. */
static void state_unfound(struct room *r, void *arg)
{
	const struct roomops_target *t = arg;
	if (r != NULL)
		roomstate_ids_del(&r->st.ops, t->id);
}

/* Redis's answer to a change: 1, published (a change for a member of another node: its
 * notice goes to the room now); 0: no such member anywhere, or the room had a founder
 * already (the user who thought it founded it is no operator after all). */
static void state_reply(struct cluster *cl, const struct resp_node *root, const struct request *r)
{
	if (r == NULL)
		return;
	const char *room, *b;
	size_t rn, bn;
	request_fields(r->data, r->len, &room, &rn, &b, &bn);
	struct state_head sh;
	if (!state_head_parse(b, bn, &sh))
		return;
	char op = sh.op;
	bool remote = sh.remote;
	size_t fn = sh.fn;
	const char *field = sh.field, *notice = field + fn + sh.vn;
	size_t nn = (size_t)(b + bn - notice);
	bool ok = root->type == RESP_INTEGER && root->integer == 1;
	char line[PROTO_LINE_MAX];
	if (ok && remote && nn > 0) {
		char name[ROOM_MAX_LEN + 1];
		snprintf(name, sizeof(name), "%.*s", (int)rn, room);
		struct request_head h = { .user = r->h.user, .worker = r->h.worker };
		publish_now(cl, name, notice, nn, &h);
	} else if (!ok && remote) {
		size_t len = proto_error(line, sizeof(line), "no such member in %.*s: %.*s.",
					 (int)rn, room, (int)fn, field);
		tell_user(cl, r->h.user, r->h.worker, line, len);
	} else if (!ok && op == 'f') {
		struct roomops_target t = { .id = r->h.user };
		dir_with_room(&cl->w->hub->dir, room, rn, state_unfound, &t);
	}
}

bool cluster_cut_off(const struct worker *w)
{
	return w->hub->cluster != NULL && !cluster_linked(w);
}

void cluster_room_change(struct worker *w, const struct conn *c, const struct room *r, char op,
			 const char *field, size_t fn, const char *value, size_t vn, bool remote,
			 const char *notice, size_t nn)
{
	if (w->hub->cluster == NULL || r->st.lobby)
		return;
	char head[64];
	int k = snprintf(head, sizeof(head), "%c %d %zu %zu\n", op, remote ? 1 : 0, fn, vn);
	size_t len = (size_t)k + fn + vn + nn;
	char *b = malloc(len);
	if (b == NULL) {
		stat_add(&w->stats.nomem_dropped, 1);
		return;
	}
	memcpy(b, head, (size_t)k);
	memcpy(b + k, field, fn);
	memcpy(b + k + fn, value, vn);
	memcpy(b + k + fn + vn, notice, nn);
	uplink_user(w, c, UPLINK_STATE, r->name, strlen(r->name), b, len, 0);
	free(b);
}

/* ---- set-up ----------------------------------------------------------------------------------- */

static bool cluster_on_shutdown(struct worker *w, void *arg)
{
	(void)w;
	struct cluster *cl = arg;
	cl->stopping = true;
	timer_stop(&cl->retry);
	timer_stop(&cl->beat);
	return false;
}

/* --cluster-password-file: its first line, without the line end. */
static int read_password(const char *path, char *out, size_t cap)
{
	FILE *f = fopen(path, "r");
	if (f == NULL)
		return -errno;
	bool ok = fgets(out, (int)cap, f) != NULL;
	(void)fclose(f); /* read-only: nothing to flush */
	if (!ok)
		return -EINVAL;
	out[strcspn(out, "\r\n")] = '\0';
	return 0;
}

int cluster_check_config(const struct config *cfg)
{
	if (cfg->cluster[0] == '\0' || cfg->cluster_password_file[0] == '\0')
		return 0;
	char password[sizeof(((struct redis_url *)NULL)->password)];
	int rc = read_password(cfg->cluster_password_file, password, sizeof(password));
	explicit_bzero(password, sizeof(password));
	if (rc < 0)
		log_error(-1, 0, "--cluster-password-file %s: %s", cfg->cluster_password_file,
			  strerror(-rc));
	return rc;
}

static int resolve(struct cluster *cl)
{
	char port[8];
	snprintf(port, sizeof(port), "%d", cl->url.port);
	struct addrinfo hints = { .ai_socktype = SOCK_STREAM }, *res = NULL;
	int rc = getaddrinfo(cl->url.host, port, &hints, &res);
	if (rc != 0) {
		log_error(-1, 0, "--cluster: cannot resolve %s: %s", cl->url.host,
			  gai_strerror(rc));
		return -EINVAL;
	}
	memcpy(&cl->addr, res->ai_addr, res->ai_addrlen);
	cl->addr_len = res->ai_addrlen;
	freeaddrinfo(res);
	return 0;
}

/* A script's SHA-1 in hex, as Redis names it for EVALSHA. */
static void sha1_hex(const char *script, char out[2 * SHA1_DIGEST_LEN + 1])
{
	uint8_t digest[SHA1_DIGEST_LEN];
	sha1(script, strlen(script), digest);
	for (size_t i = 0; i < SHA1_DIGEST_LEN; i++)
		snprintf(out + 2 * i, 3, "%02x", digest[i]);
}

static int cluster_setup(struct cluster *cl, struct worker *w)
{
	const struct config *cfg = &w->hub->cfg;
	const char *why = NULL;
	if (config_parse_redis_url(cfg->cluster, &cl->url, &why) < 0) {
		log_error(-1, 0, "--cluster %s: %s", cfg->cluster, why);
		return -EINVAL;
	}
	if (cfg->cluster_password_file[0] != '\0') {
		int rc = read_password(cfg->cluster_password_file, cl->url.password,
				       sizeof(cl->url.password));
		if (rc < 0) {
			log_error(-1, 0, "--cluster-password-file %s: %s",
				  cfg->cluster_password_file, strerror(-rc));
			return rc;
		}
	}
	int rc = resolve(cl);
	if (rc < 0)
		return rc;
	for (size_t i = 0; i < SCRIPTS; i++)
		sha1_hex(scripts[i], cl->sha[i]);
	char left[PROTO_LINE_MAX];
	size_t n =
	    proto_left(left, sizeof(left), "\x01", PROTO_SERVER_GONE, strlen(PROTO_SERVER_GONE));
	const char *mark = memchr(left, '\x01', n);
	snprintf(cl->leave_head, sizeof(cl->leave_head), "%.*s", (int)(mark - left), left);
	snprintf(cl->leave_tail, sizeof(cl->leave_tail), "%s", mark + 1);
	snprintf(cl->node_channel, sizeof(cl->node_channel), "%s:node:%s", cl->url.prefix,
		 cl->node_id);
	snprintf(cl->control_channel, sizeof(cl->control_channel), "%s:control", cl->url.prefix);
	snprintf(cl->state_channel, sizeof(cl->state_channel), "%s:state", cl->url.prefix);
	/* a room's history read from Redis is one reply: at most --history-bytes of it */
	cl->seed_bytes = cfg->history_bytes < SEED_BYTES_MAX ? cfg->history_bytes : SEED_BYTES_MAX;
	cl->in_max = cfg->max_line + (size_t)64 * 1024 + cl->seed_bytes;
	cl->queue_max = cfg->max_outbuf / 2;
	cl->out_limit = cfg->max_outbuf > LINK_OUTBUF_MIN ? cfg->max_outbuf : LINK_OUTBUF_MIN;
	struct resp_limits lim = { .max_depth = 4, .max_elements = 1024, .max_bulk = cl->in_max };
	cl->sub.in = malloc(cl->in_max);
	cl->cmd.in = malloc(cl->in_max);
	if (cl->sub.in == NULL || cl->cmd.in == NULL ||
	    resp_parser_init(&cl->sub.parser, cl->sub.nodes, LINK_NODES, &lim) < 0 ||
	    resp_parser_init(&cl->cmd.parser, cl->cmd.nodes, LINK_NODES, &lim) < 0)
		return -ENOMEM;
	return 0;
}

static void cluster_free(struct cluster *cl)
{
	size_t pos = 0;
	uint64_t key;
	void *v;
	while (map_next(&cl->subs, &pos, &key, &v))
		for (struct subscription *s = v, *next; s != NULL; s = next) {
			next = s->hash_next;
			free(s->held);
			free(s->live);
			if (s->room != NULL)
				dir_room_put(&cl->w->hub->dir, s->room);
			free(s);
		}
	map_free(&cl->subs);
	replica_clear(cl);
	map_free(&cl->replica);
	free(cl->pend);
	free(cl->sub.in);
	free(cl->cmd.in);
	free(cl);
}

/* The node's name: --node-id, or host name, port and start time. */
static void cluster_name_node(struct cluster *cl, const struct config *cfg)
{
	if (cfg->node_id[0] != '\0') {
		snprintf(cl->node_id, sizeof(cl->node_id), "%s", cfg->node_id);
		return;
	}
	char host[40] = "node";
	(void)gethostname(host, sizeof(host) - 1);
	host[strcspn(host, " ")] = '\0';
	snprintf(cl->node_id, sizeof(cl->node_id), "%.39s:%d:%llx", host, cfg->port,
		 (unsigned long long)time(NULL));
}

int cluster_attach(struct worker *w)
{
	struct hub *hub = w->hub;
	/* answers between workers (a sign-in taking a guest's name) need no cluster */
	route_set_uplink(w, cluster_uplink);
	if (hub->cfg.cluster[0] == '\0')
		return 0;
	if (w->index != LINK_WORKER) {
		route_set_uplink(w, cluster_uplink);
		route_set_room_watch(w, cluster_watch);
		return 0;
	}
	struct cluster *cl = calloc(1, sizeof(*cl));
	if (cl == NULL)
		return -ENOMEM;
	cl->w = w;
	cl->backoff_ms = BACKOFF_MIN_MS;
	cluster_name_node(cl, &hub->cfg);
	timer_init(&cl->retry, link_connect);
	timer_init(&cl->beat, link_beat);
	int rc = cluster_setup(cl, w);
	if (rc == 0)
		rc = worker_add_hook(w, WORKER_HOOK_SHUTDOWN, cluster_on_shutdown, cl);
	if (rc < 0) {
		cluster_free(cl);
		return rc;
	}
	hub->cluster = cl;
	hub->dir.room_seed = replica_seed;
	hub->dir.room_seed_ctx = cl;
	route_set_uplink(w, cluster_uplink);
	route_set_room_watch(w, cluster_watch);
	/* connect in the first iteration (a deadline of 0 would mean "none") */
	timer_arm(&w->timers, &cl->retry, TIMER_CLUSTER, clock_now_ms());
	log_info(-1, 0, "cluster: node %s, Redis %s:%d, prefix %s", cl->node_id, cl->url.host,
		 cl->url.port, cl->url.prefix);
	return 0;
}

void cluster_detach(struct worker *w)
{
	if (w->index != LINK_WORKER || w->hub->cluster == NULL)
		return;
	w->hub->dir.room_seed = NULL;
	cluster_free(w->hub->cluster);
	w->hub->cluster = NULL;
}

void cluster_get_stats(const struct hub *hub, struct cluster_stats *out)
{
	memset(out, 0, sizeof(*out));
	const struct cluster *cl = hub->cluster;
	if (cl == NULL)
		return;
	out->configured = true;
	out->up = atomic_load_explicit(&cl->up, memory_order_relaxed);
	out->subscriptions = atomic_load_explicit(&cl->subscriptions, memory_order_relaxed);
	out->peers = atomic_load_explicit(&cl->peers, memory_order_relaxed);
	out->publish_us_sum = atomic_load_explicit(&cl->publish_us_sum, memory_order_relaxed);
	out->publish_count = atomic_load_explicit(&cl->publish_count, memory_order_relaxed);
	out->publish_us_max = atomic_load_explicit(&cl->publish_us_max, memory_order_relaxed);
#define CLUSTER_STAT_LOAD(name, help) \
	out->name = atomic_load_explicit(&cl->name, memory_order_relaxed);
	CLUSTER_COUNTERS(CLUSTER_STAT_LOAD)
#undef CLUSTER_STAT_LOAD
}
