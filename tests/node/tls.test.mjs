// tls.test.mjs - chatd behind a real nginx that terminates TLS (docs/deploy.md, "Behind nginx
// with TLS", shows and explains this configuration). The test makes a self-signed certificate
// with openssl, writes the nginx configuration below into a temporary directory and runs
// Debian's nginx from there on a free loopback port (never the system's service or port 80),
// stopping it by PID. Headless Chromium (playwright-core) loads https://127.0.0.1:PORT/ through
// it and chats over wss:// with a line (TCP) user connected straight to chatd, both ways. A
// quiet page stays connected past nginx's proxy_read_timeout because chatd pings it
// (--ws-ping-interval); the same page in front of a chatd that does not ping is cut by nginx
// and has to reconnect, which shows the timeout is real.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { chromium } from 'playwright-core';
import { startChatd, stopChatd, lineUser } from './chatd.mjs';
import { findNginx, makeDir, makeCertificate, startNginx, stopNginx, readLog } from './nginx.mjs';

const PING_INTERVAL = 1; // chatd's --ws-ping-interval, seconds
const READ_TIMEOUT = 3; // nginx's proxy_read_timeout, seconds: longer than the ping interval

// The configuration: a TLS server on ports[i] in front of the chatd on upstreams[i].
function nginxConf(dir, ports, upstreams) {
  const root = process.getuid() === 0 ? 'user nobody nogroup; # workers drop root\n' : '';
  const servers = upstreams.map((up, i) => `
    server {
        listen 127.0.0.1:${ports[i]} ssl;
        ssl_certificate ${dir}/cert.pem;
        ssl_certificate_key ${dir}/key.pem;

        location / {
            proxy_pass http://127.0.0.1:${up};
            proxy_set_header Host $host:$server_port;
            proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
        }

        location = /ws {
            proxy_pass http://127.0.0.1:${up};
            proxy_http_version 1.1;
            proxy_set_header Upgrade $http_upgrade;
            proxy_set_header Connection "upgrade";
            proxy_set_header Host $host:$server_port;
            proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
            proxy_read_timeout ${READ_TIMEOUT}s;
        }
    }`).join('\n');
  return `${root}worker_processes 1;
error_log ${dir}/error.log info;
events { worker_connections 256; }
http {
    access_log ${dir}/access.log;
    client_body_temp_path ${dir}/body;
    proxy_temp_path ${dir}/proxy;
    fastcgi_temp_path ${dir}/fastcgi;
    uwsgi_temp_path ${dir}/uwsgi;
    scgi_temp_path ${dir}/scgi;
${servers}
}
`;
}

const nginxBin = findNginx();
const skip = nginxBin === null && process.getuid() !== 0
  ? 'needs nginx: sudo apt-get install -y nginx (or make test-tls as root)' : false;

let pinging, silent, nginx, dir, browser, context;
before(async () => {
  if (skip) return;
  assert.ok(nginxBin, 'nginx is not installed (apt-get install -y nginx)');
  pinging = await startChatd(['--ws-ping-interval', String(PING_INTERVAL)]);
  silent = await startChatd(['--ws-ping-interval', '0']);
  dir = makeDir();
  makeCertificate(dir);
  // one TLS port in front of the pinging chatd, one in front of the silent one
  const upstreams = [pinging.port, silent.port];
  nginx = await startNginx(nginxBin, dir, (ports) => nginxConf(dir, ports, upstreams), 2);
  browser = await chromium.launch({
    executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
  context = await browser.newContext({ ignoreHTTPSErrors: true }); // the self-signed certificate
});
after(async () => {
  if (browser) await browser.close();
  await stopNginx(nginx);
  if (pinging) await stopChatd(pinging);
  if (silent) await stopChatd(silent);
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
});

// The page through nginx on port, named nick, in room; counts its WebSocket opens and closes.
async function pageInRoom(port, nick, room) {
  const page = await context.newPage();
  const sockets = { urls: [], closes: 0 };
  page.on('websocket', (ws) => {
    sockets.urls.push(ws.url());
    ws.on('close', () => { sockets.closes++; });
  });
  const res = await page.goto(`https://127.0.0.1:${port}/`);
  await page.locator('#status.on').waitFor();
  await page.fill('#nick', nick);
  await page.click('#nick-form button');
  await page.locator('#me', { hasText: nick }).waitFor();
  await page.fill('#join', room);
  await page.click('#join-form button');
  await page.locator('#room', { hasText: room }).waitFor();
  return { page, sockets, res };
}

async function lineUserInRoom(port, room) {
  const nc = lineUser(port);
  await nc.waitFor((l) => l.startsWith('* Welcome, '));
  nc.say('/join ' + room);
  await nc.waitFor((l) => l.startsWith('* You are now in ' + room + '.'));
  return nc;
}

const limit = { timeout: 60000, skip };

test('through nginx: the page over https, chat over wss with a line user, both ways', limit, async () => {
  const { page, sockets, res } = await pageInRoom(nginx.ports[0], 'tina', 'tls');
  const tls = await res.securityDetails();
  assert.ok(tls && /^TLS 1\.[23]$/.test(tls.protocol), 'the page came over TLS: ' + JSON.stringify(tls));
  assert.equal(tls.subjectName, '127.0.0.1');
  assert.match(sockets.urls[0], new RegExp(`^wss://127\\.0\\.0\\.1:${nginx.ports[0]}/ws\\?format=json`));

  const nc = await lineUserInRoom(pinging.port, 'tls');
  await page.locator('#who li', { hasText: /^\d+$/ }).waitFor();
  await page.fill('#say', 'hello over wss');
  await page.press('#say', 'Enter');
  await nc.waitFor((l) => l === 'tina:hello over wss');
  nc.say('hello over plain TCP');
  await page.locator('#log li', { hasText: 'hello over plain TCP' }).waitFor();
  assert.equal(sockets.urls.length, 1, 'one WebSocket, never reopened');
  assert.equal(sockets.closes, 0);
  nc.sock.destroy();
  await page.close();
});

test('a quiet page stays connected past proxy_read_timeout because chatd pings it', limit, async () => {
  // the same idle time behind both servers at once: chatd with pings, and chatd without
  const kept = await pageInRoom(nginx.ports[0], 'quinn', 'quiet');
  const cut = await pageInRoom(nginx.ports[1], 'ross', 'quiet');
  await new Promise((r) => setTimeout(r, (READ_TIMEOUT + 2) * 1000)); // nobody says anything
  const nc = await lineUserInRoom(pinging.port, 'quiet');
  nc.say('are you still there?');
  await kept.page.locator('#log li', { hasText: 'are you still there?' }).waitFor();
  assert.equal(kept.sockets.urls.length, 1, 'the page never reconnected: ' + kept.sockets.urls);
  assert.equal(kept.sockets.closes, 0, 'its WebSocket was never closed');
  await kept.page.locator('#me', { hasText: /^quinn$/ }).waitFor();
  // without pings nginx closed the quiet WebSocket after proxy_read_timeout
  assert.ok(cut.sockets.closes >= 1, 'without pings nginx cut the page');
  assert.match(readLog(dir), /upstream timed out .* while proxying upgraded connection/);
  nc.sock.destroy();
  await kept.page.close();
  await cut.page.close();
});
