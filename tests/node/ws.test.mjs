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

// --ws-ping-interval: chatd pings a WebSocket user that has sent nothing for an interval and
// closes (1001) one that has not answered after another. The ws package answers pings by
// itself, as browsers do; a raw socket that completes the handshake and then reads only never
// does.
async function metric(port, name) {
  const res = await fetch(`http://127.0.0.1:${port}/metrics`);
  const text = await res.text();
  let sum = 0;
  for (const m of text.matchAll(new RegExp(`^${name}\\{[^}]*\\} (\\d+)$`, 'gm'))) sum += Number(m[1]);
  return sum;
}

// A socket that completes the upgrade and never answers anything; resolves with the opcodes
// of the frames it received, the close code, and the time from the upgrade to the close.
function silentPeer(port) {
  return new Promise((resolve, reject) => {
    const sock = net.connect(port, '127.0.0.1');
    let buf = Buffer.alloc(0), upgraded = 0;
    const ops = [];
    sock.on('connect', () => sock.write('GET /ws HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\n' +
      'Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n' +
      'Sec-WebSocket-Version: 13\r\n\r\n'));
    sock.on('data', (d) => {
      buf = Buffer.concat([buf, d]);
      if (!upgraded) {
        const end = buf.indexOf('\r\n\r\n');
        if (end < 0) return;
        assert.match(buf.subarray(0, end).toString(), /^HTTP\/1\.1 101 /);
        upgraded = Date.now();
        buf = buf.subarray(end + 4);
      }
      while (buf.length >= 2 && buf.length >= 2 + (buf[1] & 127)) { // server frames: short, unmasked
        const op = buf[0] & 15, n = buf[1] & 127, body = buf.subarray(2, 2 + n);
        buf = buf.subarray(2 + n);
        ops.push(op);
        if (op === 8) {
          sock.destroy();
          resolve({ ops, code: body.readUInt16BE(0), reason: body.subarray(2).toString(), ms: Date.now() - upgraded });
        }
      }
    });
    sock.on('error', reject);
    sock.on('close', () => reject(new Error('closed without a close frame; frames: ' + ops)));
  });
}

test('pings: a client that answers stays connected, a silent one is closed with 1001', { timeout: 20000 }, async () => {
  const pinging = await startChatd(['--ws-ping-interval', '1', '--admin', '127.0.0.1:0']);
  try {
    const ws = new WebSocket(`ws://127.0.0.1:${pinging.port}/ws`);
    const msgs = lines((push) => ws.on('message', (d) => push(String(d))));
    let pings = 0, closes = 0;
    ws.on('ping', () => { pings++; });
    ws.on('close', () => { closes++; });
    const silent = silentPeer(pinging.port);
    const name = /Welcome, (\d+)\./.exec(await msgs.next((l) => l.startsWith('* Welcome, ')))[1];
    await new Promise((r) => setTimeout(r, 4000)); // 4 intervals, nothing said
    assert.equal(closes, 0, 'still connected');
    assert.ok(pings >= 3, `pinged each quiet second: ${pings}`);
    ws.send('still here');
    await msgs.next((l) => l === `${name}:still here`);

    const gone = await silent;
    assert.deepEqual(gone.ops.filter((op) => op !== 1), [9, 8], 'past the text: a ping, then the close');
    assert.equal(gone.code, 1001);
    assert.equal(gone.reason, 'ping timeout');
    assert.ok(gone.ms >= 1500 && gone.ms < 4000, `closed after about two intervals: ${gone.ms} ms`);

    assert.ok(await metric(pinging.admin, 'chatd_ws_pings_sent_total') >= pings + 1);
    assert.equal(await metric(pinging.admin, 'chatd_ws_ping_timeouts_total'), 1);
    ws.close();
    await closed(ws);
  } finally {
    await stopChatd(pinging);
  }
});
