// irc.test.mjs - a real IRC client library (npm irc-framework, independent of chatd) on
// --irc-port: it registers, is in #lobby, chats with a line (nc) user and a WebSocket user in
// both directions, changes its nick, joins a second channel (keeping #lobby) and chats in
// each, parts it and quits, and the other two see it all as the usual lines and notices; the
// client's IRCv3 tags (server-time, message-tags) are there.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import WebSocket from 'ws';
import IRC from 'irc-framework';
import { startChatd, stopChatd, queue } from './chatd.mjs';

let srv;
before(async () => { srv = await startChatd(); });
after(async () => { await stopChatd(srv); });

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

function openWs() {
  const ws = new WebSocket(`ws://127.0.0.1:${srv.port}/ws`);
  const lines = queue();
  ws.on('message', (d) => lines.push(String(d)));
  return new Promise((resolve, reject) => {
    ws.on('open', () => resolve({ ws, lines, say: (l) => ws.send(l) }));
    ws.on('error', reject);
  });
}

// An irc-framework client; every event it raises goes into one queue as [name, event].
function openIrc(nick) {
  const client = new IRC.Client();
  const ev = queue();
  for (const name of ['registered', 'message', 'join', 'part', 'quit', 'nick', 'close'])
    client.on(name, (e) => ev.push([name, e || {}]));
  client.connect({ host: '127.0.0.1', port: srv.irc, nick, username: nick, gecos: 'irc test',
    auto_reconnect: false });
  return { client, ev };
}

const is = (name, more = () => true) => ([n, e]) => n === name && more(e);

test('an irc-framework client chats with a line user and a WebSocket user', async () => {
  assert.ok(srv.irc > 0, 'chatd says where IRC clients connect');
  const nc = openTcp();
  const welcome = await nc.lines.next((l) => l.startsWith('* Welcome, '));
  const ncName = /^\* Welcome, (\d+)\./.exec(welcome)[1];
  const web = await openWs();
  const webWelcome = await web.lines.next((l) => l.startsWith('* Welcome, '));
  const webName = /^\* Welcome, (\d+)\./.exec(webWelcome)[1];

  const irc = openIrc('ircfw');
  await irc.ev.next(is('registered'));
  await irc.ev.next(is('join', (e) => e.channel === '#lobby' && e.nick === 'ircfw'));
  await nc.lines.next((l) => l === '* ircfw has entered.');
  await web.lines.next((l) => l === '* ircfw has entered.');

  // IRC -> line and WebSocket users
  irc.client.say('#lobby', 'hello from irc');
  await nc.lines.next((l) => l === 'ircfw:hello from irc');
  await web.lines.next((l) => l === 'ircfw:hello from irc');
  irc.client.action('#lobby', 'waves');
  await nc.lines.next((l) => l === '+ ircfw waves');

  // line and WebSocket users -> IRC
  nc.say('hi from nc');
  const m1 = await irc.ev.next(is('message', (e) => e.message === 'hi from nc'));
  assert.equal(m1[1].nick, ncName);
  assert.equal(m1[1].target, '#lobby');
  // irc-framework asks for server-time and message-tags itself: the line's time and id
  const tags = m1[1].tags || {};
  assert.match(tags.time || '', /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
  assert.ok(Math.abs(Date.parse(tags.time) - Date.now()) < 60000, `time ${tags.time}`);
  assert.match(tags.msgid || '', /^lobby\/\d+$/);
  web.say('hi from the browser');
  const m2 = await irc.ev.next(is('message', (e) => e.message === 'hi from the browser'));
  assert.equal(m2[1].nick, webName);

  // a private line from the nc user
  nc.say('/msg ircfw just you');
  const m3 = await irc.ev.next(is('message', (e) => e.message === 'just you'));
  assert.equal(m3[1].target, 'ircfw');

  // a new nick
  irc.client.changeNick('ircfw2');
  await irc.ev.next(is('nick', (e) => e.nick === 'ircfw' && e.new_nick === 'ircfw2'));
  await nc.lines.next((l) => l === '* ircfw is now known as ircfw2.');
  await web.lines.next((l) => l === '* ircfw is now known as ircfw2.');

  // a second channel, keeping #lobby: each line only where it was said
  irc.client.join('#ircroom');
  await irc.ev.next(is('join', (e) => e.channel === '#ircroom' && e.nick === 'ircfw2'));
  nc.say('/join ircroom');
  await irc.ev.next(is('join', (e) => e.channel === '#ircroom' && e.nick === ncName));
  irc.client.say('#ircroom', 'in the room');
  irc.client.say('#lobby', 'in the lobby');
  await nc.lines.next((l) => l === 'ircfw2:in the room');
  await web.lines.next((l) => l === 'ircfw2:in the lobby');
  web.say('lobby only');
  const m4 = await irc.ev.next(is('message', (e) => e.message === 'lobby only'));
  assert.equal(m4[1].target, '#lobby');
  nc.say('room only');
  const m5 = await irc.ev.next(is('message', (e) => e.message === 'room only'));
  assert.equal(m5[1].target, '#ircroom');
  irc.client.part('#ircroom');
  await irc.ev.next(is('part', (e) => e.channel === '#ircroom' && e.nick === 'ircfw2'));
  await nc.lines.next((l) => l === '* ircfw2 has left.');
  nc.say('/join lobby');
  await nc.lines.next((l) => l.startsWith('* You are now in lobby.'));

  // quitting
  irc.client.quit('see you');
  await nc.lines.next((l) => l === '* ircfw2 has left ("see you").');
  await web.lines.next((l) => l === '* ircfw2 has left ("see you").');
  await irc.ev.next(is('close'));

  nc.sock.destroy();
  web.ws.close();
});
