// browser.test.mjs - a real browser in the room: headless Chromium (Debian's, driven by
// playwright-core) loads the page from chatd, sets a name, joins a room and exchanges lines
// both ways with a line-protocol (TCP) user in the same room; nothing another user sends is
// rendered as HTML. Saves a screenshot to tests/node/out/browser.png. Then cross-site
// WebSocket hijacking: a page served from another origin (another loopback port) cannot open
// chatd's /ws, unless chatd was started with --allow-origin naming it.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';
import { startChatd, stopChatd, lineUser } from './chatd.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
let srv, browser;
before(async () => {
  srv = await startChatd();
  browser = await chromium.launch({
    executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
});
after(async () => {
  if (browser) await browser.close();
  await stopChatd(srv);
});

// A line (TCP) user of chatd on srv's port, unless another is given.
const tcpUser = (port = srv.port) => lineUser(port);

test('a browser and an nc-style user chat in the same room', async () => {
  const page = await browser.newPage({ viewport: { width: 900, height: 560 } });
  await page.goto(`http://127.0.0.1:${srv.port}/`);
  await page.locator('#status.on').waitFor();
  await page.locator('#log li', { hasText: 'Welcome' }).waitFor();

  await page.fill('#nick', 'ada');
  await page.click('#nick-form button');
  await page.locator('#me', { hasText: 'ada' }).waitFor();
  await page.fill('#join', 'lab');
  await page.click('#join-form button');
  await page.locator('#room', { hasText: 'lab' }).waitFor();

  const nc = tcpUser();
  await nc.waitFor((l) => l.startsWith('* Welcome, '));
  nc.say('/nick grace');
  nc.say('/join lab');
  await nc.waitFor((l) => l === '* You are now in lab. 2 users here.');
  await page.locator('#who li', { hasText: 'grace' }).waitFor();

  await page.fill('#say', 'hello from the browser');
  await page.press('#say', 'Enter');
  await nc.waitFor((l) => l === 'ada:hello from the browser');

  nc.say('hi ada, <b>not bold</b> <img src=x onerror=alert(1)>');
  const item = page.locator('#log li', { hasText: 'hi ada' });
  await item.waitFor();
  assert.equal(await page.locator('#log b, #log img').count(), 0, 'no markup from users');
  assert.match(await item.textContent(), /<b>not bold<\/b>/);

  nc.say('/msg ada a private word');
  await page.locator('#log li.private', { hasText: 'a private word' }).waitFor();

  fs.mkdirSync(path.join(here, 'out'), { recursive: true });
  await page.screenshot({ path: path.join(here, 'out', 'browser.png') });
  // phone width: the layout stacks and stays usable
  await page.setViewportSize({ width: 390, height: 700 });
  assert.ok(await page.locator('#say').isVisible());
  await page.screenshot({ path: path.join(here, 'out', 'browser-phone.png') });
  nc.sock.destroy();
  await page.close();
});

// Another site: a page on its own loopback port whose script opens ws://127.0.0.1:PORT/ws
// (PORT from its query) and writes the outcome into its title: "welcomed" once chatd's
// welcome arrives, "refused" when the socket closes before that.
const limit = { timeout: 30000 }; // per test

const foreignPage = `<!doctype html><meta charset="utf-8"><title>pending</title><script>
const port = new URLSearchParams(location.search).get('port');
const ws = new WebSocket('ws://127.0.0.1:' + port + '/ws');
ws.onmessage = (e) => {
  if (String(e.data).startsWith('* Welcome, ')) { document.title = 'welcomed'; ws.close(); }
};
ws.onclose = () => { if (document.title !== 'welcomed') document.title = 'refused'; };
</script>`;

function startForeignSite() {
  const server = http.createServer((req, res) => {
    res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
    res.end(foreignPage);
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(server)));
}

function stopSite(site) {
  site.closeAllConnections();
  return new Promise((r) => site.close(r));
}

// Loads the foreign page against chatd on chatdPort; returns its verdict.
async function foreignVerdict(site, chatdPort) {
  const page = await browser.newPage();
  try {
    await page.goto(`http://127.0.0.1:${site.address().port}/?port=${chatdPort}`);
    await page.waitForFunction(() => document.title !== 'pending', null, { timeout: 5000 });
    return await page.title();
  } finally {
    await page.close();
  }
}

test('a page from another origin cannot open /ws (cross-site hijacking)', limit, async () => {
  const site = await startForeignSite();
  const nc = tcpUser();
  try {
    await nc.waitFor((l) => l.startsWith('* Welcome, '));
    assert.equal(await foreignVerdict(site, srv.port), 'refused');
    await new Promise((r) => setTimeout(r, 300));
    assert.ok(!nc.seen.some((l) => / has entered\.$/.test(l)), 'nobody entered: ' + nc.seen);
  } finally {
    nc.sock.destroy();
    await stopSite(site);
  }
});

test('with --allow-origin naming it, that page from another origin connects', limit, async () => {
  const site = await startForeignSite();
  const allowed = await startChatd(['--allow-origin', `http://127.0.0.1:${site.address().port}`]);
  try {
    assert.equal(await foreignVerdict(site, allowed.port), 'welcomed');
    assert.equal(await foreignVerdict(site, srv.port), 'refused', 'the default still refuses');
  } finally {
    await stopChatd(allowed);
    await stopSite(site);
  }
});

test('a long private message of emoji comes back whole and the page stays connected', async () => {
  const page = await browser.newPage();
  let closes = 0;
  page.on('websocket', (ws) => ws.on('close', () => { closes++; }));
  await page.goto(`http://127.0.0.1:${srv.port}/`);
  await page.locator('#log li', { hasText: 'Welcome' }).waitFor();
  await page.fill('#nick', 'eve');
  await page.click('#nick-form button');
  await page.locator('#me', { hasText: 'eve' }).waitFor();
  const nc = tcpUser();
  await nc.waitFor((l) => l.startsWith('* Welcome, '));
  nc.say('/nick hal');
  await nc.waitFor((l) => l.endsWith(' is now known as hal.'));

  // 4,000 bytes of emoji: the echo once came back cut inside a character (a 1007 close)
  const text = '\u{1F600}'.repeat(1000);
  await page.fill('#say', '/msg hal ' + text);
  await page.press('#say', 'Enter');
  await nc.waitFor((l) => l === '(private) eve:' + text);
  const echo = page.locator('#log li', { hasText: 'to hal: ' });
  await echo.waitFor();
  assert.equal(await echo.textContent(), 'to hal: ' + text);
  // and a bidi override is refused with its name, never shown
  nc.say('hi \u202Eereh');
  await nc.waitFor((l) => l.startsWith('* error: U+202E (RIGHT-TO-LEFT OVERRIDE) at character 4'));
  await new Promise((r) => setTimeout(r, 300));
  assert.equal(closes, 0, 'the WebSocket was never closed');
  assert.equal(await page.locator('#me').textContent(), 'eve', 'same user, no reconnect');
  nc.sock.destroy();
  await page.close();
});

// The page resumes: its socket drops mid-chat (closed under it), lines are said meanwhile,
// and after its reconnect every line is shown exactly once, in order, in the same room under
// the same name. With fewer lines kept than were missed, the page says so plainly.
async function pageInRoom(port, nick, room) {
  const page = await browser.newPage();
  await page.goto(`http://127.0.0.1:${port}/`);
  await page.locator('#status.on').waitFor();
  await page.fill('#nick', nick);
  await page.click('#nick-form button');
  await page.locator('#me', { hasText: nick }).waitFor();
  await page.fill('#join', room);
  await page.click('#join-form button');
  await page.locator('#room', { hasText: room }).waitFor();
  return page;
}

async function ncInRoom(port, room) {
  const nc = tcpUser(port);
  await nc.waitFor((l) => l.startsWith('* Welcome, '));
  nc.say('/join ' + room);
  await nc.waitFor((l) => l.startsWith('* You are now in ' + room + '.'));
  return nc;
}

const shown = (page) => page.locator('#log li bdi').allTextContents();

test('the page reconnects mid-chat and shows every line once, without a gap', limit, async () => {
  const page = await pageInRoom(srv.port, 'zoe', 'resumelab');
  const nc = await ncInRoom(srv.port, 'resumelab');
  for (let i = 1; i <= 5; i++) nc.say('line ' + i);
  await page.locator('#log li bdi', { hasText: /^line 5$/ }).waitFor();
  const sockets = [];
  page.on('websocket', (ws) => sockets.push(ws.url()));
  await page.evaluate(() => ws.close()); // the page's socket, dropped under it
  for (let i = 6; i <= 10; i++) nc.say('line ' + i); // said while it is away
  await page.locator('#status.on').waitFor();
  for (let i = 11; i <= 15; i++) nc.say('line ' + i);
  await page.locator('#log li bdi', { hasText: /^line 15$/ }).waitFor();
  const lines = (await shown(page)).filter((t) => /^line \d+$/.test(t));
  assert.deepEqual(lines, Array.from({ length: 15 }, (_, i) => 'line ' + (i + 1)));
  assert.equal(await page.locator('#log li.gap').count(), 0, 'no gap');
  assert.match(sockets[0], /[?&]room=resumelab&since=\d+/, 'it asked for what it missed');
  assert.equal(await page.locator('#room').textContent(), 'resumelab');
  await page.locator('#me', { hasText: /^zoe$/ }).waitFor();
  nc.sock.destroy();
  await page.close();
});

test('a reconnect after more lines than are kept shows the gap plainly', limit, async () => {
  const small = await startChatd(['--history', '3']);
  try {
    const page = await pageInRoom(small.port, 'kim', 'gaplab');
    const nc = await ncInRoom(small.port, 'gaplab');
    nc.say('line 1');
    await page.locator('#log li bdi', { hasText: /^line 1$/ }).waitFor();
    await page.evaluate(() => ws.close());
    for (let i = 2; i <= 9; i++) nc.say('line ' + i);
    await nc.waitFor((l) => l.endsWith(':line 9'));
    const gap = page.locator('#log li.gap');
    await gap.waitFor();
    assert.match(await gap.textContent(), /5 lines said in gaplab while you were away are no longer kept/);
    await page.locator('#log li bdi', { hasText: /^line 9$/ }).waitFor();
    const lines = (await shown(page)).filter((t) => /^line \d+$/.test(t));
    assert.deepEqual(lines, ['line 1', 'line 7', 'line 8', 'line 9']);
    nc.sock.destroy();
    await page.close();
  } finally {
    await stopChatd(small);
  }
});
