// feed.test.mjs - the JSON feed (/ws?format=json) and resuming (/ws?room=NAME&since=SEQ),
// checked by an independent client (npm ws): every event type parsed as JSON with its
// members (chat, action, private, join, leave, rename, notice, error, history, gap), the
// same rooms as line users, and a reconnect that gets exactly the lines it missed, or a gap
// when they are no longer kept.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import WebSocket from 'ws';
import { startChatd, stopChatd, queue } from './chatd.mjs';

let srv;
before(async () => { srv = await startChatd(['--history', '5']); });
after(async () => { await stopChatd(srv); });

// A JSON feed user: every message must be one JSON object.
function openJson(query = '') {
  const ws = new WebSocket(`ws://127.0.0.1:${srv.port}/ws?format=json${query}`);
  const ev = queue();
  ws.on('message', (d) => ev.push(JSON.parse(String(d))));
  return new Promise((resolve, reject) => {
    ws.on('open', () => resolve({ ws, ev, say: (l) => ws.send(l) }));
    ws.on('error', reject);
  });
}

function openTcp() {
  const sock = net.connect(srv.port, '127.0.0.1');
  const lines = queue();
  let buf = '';
  sock.on('data', (d) => {
    buf += d;
    let i;
    while ((i = buf.indexOf('\n')) >= 0) { lines.push(buf.slice(0, i)); buf = buf.slice(i + 1); }
  });
  return { sock, lines, say: (l) => sock.write(l + '\n') };
}

const type = (t, more = () => true) => (e) => e.type === t && more(e);
const closed = (ws) => new Promise((resolve) => ws.on('close', resolve));

test('every event type arrives as one JSON object with its members', async () => {
  const nc = openTcp();
  await nc.lines.next((l) => l.startsWith('* Welcome, '));
  nc.say('/nick bob');
  nc.say('/join feedroom');
  await nc.lines.next((l) => l.startsWith('* You are now in feedroom.'));
  nc.say('kept line');
  await nc.lines.next((l) => l === 'bob:kept line');

  const a = await openJson('&room=feedroom');
  const welcome = await a.ev.next(type('notice', (e) => e.name !== undefined));
  assert.match(welcome.text, /^Welcome, \d+\./);
  assert.equal(typeof welcome.time, 'number');
  const joined = await a.ev.next(type('notice', (e) => e.members !== undefined));
  assert.equal(joined.room, 'feedroom');
  const hist = await a.ev.next(type('history'));
  assert.equal(hist.room, 'feedroom');
  assert.equal(hist.count, 1);
  const kept = await a.ev.next(type('chat', (e) => e.history === true));
  assert.deepEqual([kept.from, kept.text, kept.room, kept.seq, kept.id],
    ['bob', 'kept line', 'feedroom', hist.first, 'feedroom/' + hist.first]);

  const join = await nc.lines.next((l) => / has entered\.$/.test(l));
  const id = /^\* (\S+) has/.exec(join)[1];
  a.say('/nick ann');
  const rename = await a.ev.next(type('rename'));
  assert.deepEqual([rename.from, rename.to, rename.room], [id, 'ann', 'feedroom']);

  nc.say('hello "ann"\tand <b>you</b>');
  const chat = await a.ev.next(type('chat'));
  assert.deepEqual([chat.from, chat.text, chat.room], ['bob', 'hello "ann" and <b>you</b>', 'feedroom']);
  assert.equal(chat.seq, kept.seq + 1);
  assert.equal(chat.history, undefined);

  nc.say('/me waves');
  const action = await a.ev.next(type('action'));
  assert.deepEqual([action.from, action.text], ['bob', 'waves']);

  nc.say('/msg ann psst');
  const priv = await a.ev.next(type('private', (e) => !e.echo));
  assert.deepEqual([priv.from, priv.to, priv.text], ['bob', 'ann', 'psst']);
  a.say('/msg bob yo');
  const echo = await a.ev.next(type('private', (e) => e.echo === true));
  assert.deepEqual([echo.from, echo.to, echo.text], ['ann', 'bob', 'yo']);
  await nc.lines.next((l) => l === '(private) ann:yo');

  a.say('/who');
  const who = await a.ev.next(type('notice', (e) => e.users !== undefined));
  assert.equal(who.room, 'feedroom');
  assert.deepEqual(who.users.map((u) => u.name).sort(), ['ann', 'bob']);

  a.say('/nosuchcommand');
  const err = await a.ev.next(type('error'));
  assert.match(err.text, /unknown command/);

  // the line user keeps the text format, for the same lines
  a.say('from json');
  await nc.lines.next((l) => l === 'ann:from json');

  nc.say('/quit gone "home"');
  const leave = await a.ev.next(type('leave'));
  assert.deepEqual([leave.from, leave.reason, leave.room], ['bob', 'gone "home"', 'feedroom']);

  a.say('/history');
  const again = await a.ev.next(type('history'));
  assert.ok(again.count >= 4);
  a.ws.close();
  await closed(a.ws);
  nc.sock.destroy();
});

test('a bad format, room or since is refused before the upgrade', async () => {
  for (const q of ['?format=xml', '?room=no%20way', '?room=a&since=x', '?since=3']) {
    const ws = new WebSocket(`ws://127.0.0.1:${srv.port}/ws${q}`);
    const status = await new Promise((resolve) => {
      ws.on('unexpected-response', (req, res) => resolve(res.statusCode));
      ws.on('open', () => resolve('open'));
      ws.on('error', () => {});
    });
    assert.equal(status, 400, q);
  }
});

// A room with a talker: n numbered lines said by a line user; returns the user.
async function talker(room) {
  const nc = openTcp();
  await nc.lines.next((l) => l.startsWith('* Welcome, '));
  nc.say('/join ' + room);
  await nc.lines.next((l) => l.startsWith('* You are now in ' + room + '.'));
  return nc;
}

async function sayNumbered(nc, from, to) {
  for (let i = from; i <= to; i++) nc.say('line ' + i);
  await nc.lines.next((l) => l.endsWith(':line ' + to));
}

test('resuming gets exactly the lines missed, and live lines after them', async () => {
  const nc = await talker('resume1');
  const a = await openJson('&room=resume1');
  await sayNumbered(nc, 1, 2);
  const two = await a.ev.next(type('chat', (e) => e.text === 'line 2'));
  a.ws.close();
  await closed(a.ws);
  await sayNumbered(nc, 3, 5); // said while a is away

  const b = await openJson(`&room=resume1&since=${two.seq}`);
  const hist = await b.ev.next(type('history'));
  assert.deepEqual([hist.since, hist.count], [two.seq, 3]);
  nc.say('line 6');
  const got = [];
  for (let i = 0; i < 4; i++) got.push(await b.ev.next(type('chat')));
  assert.deepEqual(got.map((e) => e.text), ['line 3', 'line 4', 'line 5', 'line 6']);
  assert.deepEqual(got.map((e) => e.seq), [two.seq + 1, two.seq + 2, two.seq + 3, two.seq + 4]);
  assert.deepEqual(got.map((e) => e.history === true), [true, true, true, false]);
  assert.equal(b.ev.seen.filter((e) => e.type === 'gap').length, 0, 'no gap');
  b.ws.close();
  nc.sock.destroy();
});

test('resuming after more lines than are kept tells of the gap', async () => {
  const nc = await talker('resume2');
  const a = await openJson('&room=resume2');
  await sayNumbered(nc, 1, 1);
  const one = await a.ev.next(type('chat', (e) => e.text === 'line 1'));
  a.ws.close();
  await closed(a.ws);
  await sayNumbered(nc, 2, 9); // 8 lines, --history 5 keeps the last 5

  const b = await openJson(`&room=resume2&since=${one.seq}`);
  const gap = await b.ev.next(type('gap'));
  assert.deepEqual([gap.room, gap.since, gap.missed], ['resume2', one.seq, 3]);
  const hist = await b.ev.next(type('history'));
  assert.equal(hist.count, 5);
  const got = [];
  for (let i = 0; i < 5; i++) got.push((await b.ev.next(type('chat'))).text);
  assert.deepEqual(got, ['line 5', 'line 6', 'line 7', 'line 8', 'line 9']);
  b.ws.close();

  // a line client resuming gets the gap in words
  const t = new WebSocket(`ws://127.0.0.1:${srv.port}/ws?room=resume2&since=${one.seq}`);
  const words = queue();
  t.on('message', (d) => words.push(String(d)));
  await words.next((l) => l === '* 3 lines said in resume2 while you were away are no longer kept.');
  t.close();
  nc.sock.destroy();
});

test('resuming in a room whose history began again says the count is not known', async () => {
  const b = await openJson('&room=emptyagain&since=40');
  const gap = await b.ev.next(type('gap'));
  assert.equal(gap.missed, null);
  b.ws.close();
});
