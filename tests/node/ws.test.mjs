// ws.test.mjs - chatd's WebSocket side checked by an independent client, the npm `ws`
// package: handshake, chat through a room shared with a line (TCP) user, fragmentation, ping,
// the close handshake, the close code of each protocol violation, and the Origin check
// against cross-site WebSocket hijacking (403 for another site's page).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import WebSocket from 'ws';
import { startChatd, stopChatd } from './chatd.mjs';

let srv;
before(async () => { srv = await startChatd(['--max-line', '1000']); });
after(async () => { await stopChatd(srv); });

// Collects text messages; next(pred) resolves with the first one matching.
function lines(source) {
  const seen = [];
  const waiters = [];
  const push = (l) => {
    seen.push(l);
    for (const w of waiters.splice(0)) if (!w(l)) waiters.push(w);
  };
  source(push);
  return {
    next(pred, ms = 3000) {
      const hit = seen.find(pred);
      if (hit !== undefined) { seen.splice(seen.indexOf(hit), 1); return Promise.resolve(hit); }
      return new Promise((resolve, reject) => {
        const t = setTimeout(() => reject(new Error('timeout waiting')), ms);
        waiters.push((l) => { if (!pred(l)) return false; clearTimeout(t); seen.splice(seen.indexOf(l), 1); resolve(l); return true; });
      });
    },
  };
}

function openWs() {
  const ws = new WebSocket(`ws://127.0.0.1:${srv.port}/ws`);
  const msgs = lines((push) => ws.on('message', (d) => push(String(d))));
  return new Promise((resolve, reject) => {
    ws.on('open', () => resolve({ ws, msgs }));
    ws.on('error', reject);
  });
}

function openTcp() {
  const sock = net.connect(srv.port, '127.0.0.1');
  let buf = '';
  const msgs = lines((push) => sock.on('data', (d) => {
    buf += d;
    let i;
    while ((i = buf.indexOf('\n')) >= 0) { push(buf.slice(0, i)); buf = buf.slice(i + 1); }
  }));
  return { sock, msgs };
}

const closed = (ws) => new Promise((resolve) => ws.on('close', (code) => resolve(code)));

test('handshake, welcome and chat shared with a line user', async () => {
  const tcp = openTcp();
  const welcome = await tcp.msgs.next((l) => l.startsWith('* Welcome, '));
  const tcpName = /Welcome, (\d+)\./.exec(welcome)[1];
  const { ws, msgs } = await openWs();
  const hello = await msgs.next((l) => l.startsWith('* Welcome, '));
  const wsName = /Welcome, (\d+)\./.exec(hello)[1];
  await tcp.msgs.next((l) => l === `* ${wsName} has entered.`);
  ws.send('from the browser');
  await tcp.msgs.next((l) => l === `${wsName}:from the browser`);
  await msgs.next((l) => l === `${wsName}:from the browser`);
  tcp.sock.write('from nc\n');
  await msgs.next((l) => l === `${tcpName}:from nc`);
  ws.close(1000);
  assert.equal(await closed(ws), 1000);
  await tcp.msgs.next((l) => l === `* ${wsName} has left.`);
  tcp.sock.destroy();
});

test('fragmented message and ping', async () => {
  const { ws, msgs } = await openWs();
  await msgs.next((l) => l.startsWith('* Welcome, '));
  const pong = new Promise((resolve) => ws.on('pong', (d) => resolve(String(d))));
  ws.send('/nick ', { fin: false });
  ws.ping('hello?');
  ws.send('frag', { fin: true });
  assert.equal(await pong, 'hello?');
  await msgs.next((l) => / is now known as frag\.$/.test(l));
  ws.close();
  await closed(ws);
});

test('binary message closes with 1003', async () => {
  const { ws, msgs } = await openWs();
  await msgs.next((l) => l.startsWith('* Welcome, '));
  ws.send(Buffer.from([1, 2, 3]), { binary: true });
  assert.equal(await closed(ws), 1003);
});

test('message over --max-line closes with 1009', async () => {
  const { ws, msgs } = await openWs();
  await msgs.next((l) => l.startsWith('* Welcome, '));
  ws.send('x'.repeat(1001));
  assert.equal(await closed(ws), 1009);
});

// Raw frames written under the library, for what it would never send itself.
function rawFrame(first, payload, masked = true) {
  const mask = Buffer.from([9, 8, 7, 6]);
  const body = Buffer.from(payload.map((b, i) => (masked ? b ^ mask[i % 4] : b)));
  return Buffer.concat([Buffer.from([first, (masked ? 0x80 : 0) | body.length]),
    masked ? mask : Buffer.alloc(0), body]);
}

for (const [name, frame, code] of [
  ['invalid UTF-8', rawFrame(0x81, [0x68, 0xff, 0x69]), 1007],
  ['unmasked frame', rawFrame(0x81, [0x68, 0x69], false), 1002],
  ['reserved bit', rawFrame(0xc1, [0x68]), 1002],
  ['unknown opcode', rawFrame(0x83, [0x68]), 1002],
  ['continuation without a message', rawFrame(0x80, [0x68]), 1002],
  ['fragmented ping', rawFrame(0x09, [0x68]), 1002],
]) {
  test(`${name} closes with ${code}`, async () => {
    const { ws, msgs } = await openWs();
    await msgs.next((l) => l.startsWith('* Welcome, '));
    const done = closed(ws);
    ws._socket.write(frame);
    assert.equal(await done, code);
  });
}

const limit = { timeout: 15000 }; // per test

// The handshake's outcome with the given options (ws sends Origin only when told to):
// { status: 101, welcome } or { status: 403, body }.
function handshake(options = {}) {
  const ws = new WebSocket(`ws://127.0.0.1:${srv.port}/ws`, options);
  return new Promise((resolve, reject) => {
    const t = setTimeout(() => reject(new Error('no handshake answer')), 5000);
    ws.on('unexpected-response', (req, res) => {
      let body = '';
      res.on('data', (d) => { body += d; });
      res.on('end', () => { clearTimeout(t); resolve({ status: res.statusCode, body }); });
    });
    ws.on('message', (d) => {
      clearTimeout(t);
      ws.close();
      resolve({ status: 101, welcome: String(d) });
    });
    ws.on('error', (e) => { if (!/Unexpected server response/.test(e.message)) reject(e); });
  });
}

// A line user in the lobby sees who enters: nobody must, for a refused page.
async function expectNobodyEntered(tcp, ms = 300) {
  await assert.rejects(tcp.msgs.next((l) => / has entered\.$/.test(l), ms), /timeout/);
}

test('Origin of another site is refused with 403 and nobody enters', limit, async () => {
  const tcp = openTcp();
  await tcp.msgs.next((l) => l.startsWith('* Welcome, '));
  const r = await handshake({ origin: 'http://evil.example' });
  assert.equal(r.status, 403);
  assert.equal(r.body, '403 Forbidden: origin not allowed\n');
  await expectNobodyEntered(tcp);
  tcp.sock.destroy();
});

test('Origin null is refused with 403', limit, async () => {
  const tcp = openTcp();
  await tcp.msgs.next((l) => l.startsWith('* Welcome, '));
  const r = await handshake({ origin: 'null' });
  assert.equal(r.status, 403);
  await expectNobodyEntered(tcp);
  tcp.sock.destroy();
});

test('Origin of another port on the same host is refused with 403', limit, async () => {
  const r = await handshake({ origin: `http://127.0.0.1:${srv.port + 1}` });
  assert.equal(r.status, 403);
});

test("Origin of chatd's own page (same host and port) is welcomed", limit, async () => {
  const r = await handshake({ origin: `http://127.0.0.1:${srv.port}` });
  assert.equal(r.status, 101);
  assert.match(r.welcome, /^\* Welcome, /);
});

test('no Origin (not a browser) is welcomed', limit, async () => {
  const r = await handshake();
  assert.equal(r.status, 101);
  assert.match(r.welcome, /^\* Welcome, /);
});

test('--allow-origin lets the listed page in, and only that one', limit, async () => {
  const other = await startChatd(['--allow-origin', 'http://app.example:8080']);
  try {
    const open = (origin) => new Promise((resolve) => {
      const ws = new WebSocket(`ws://127.0.0.1:${other.port}/ws`, { origin });
      ws.on('message', (d) => { ws.close(); resolve(String(d)); });
      ws.on('unexpected-response', (req, res) => { res.resume(); resolve(res.statusCode); });
      ws.on('error', () => {});
    });
    assert.match(await open('http://app.example:8080'), /^\* Welcome, /);
    assert.equal(await open('http://app.example:8081'), 403);
  } finally {
    await stopChatd(other);
  }
});
