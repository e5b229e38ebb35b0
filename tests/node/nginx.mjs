// nginx.mjs - a real nginx (Debian's package) for a Node test: runs in the foreground from a
// temporary directory of its own (-p DIR -c DIR/nginx.conf, pid and logs in DIR, never the
// system's service, port or files), on a free loopback port, and is stopped by its PID.
import { spawn, execFileSync } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';

// The nginx binary: $NGINX, or the first on PATH or in the sbin directories (Debian puts it
// in /usr/sbin, which an ordinary user's PATH may lack); null when there is none.
export function findNginx() {
  if (process.env.NGINX) return process.env.NGINX;
  const dirs = (process.env.PATH || '').split(':').concat(['/usr/sbin', '/sbin', '/usr/local/sbin']);
  for (const d of dirs) {
    const f = path.join(d || '.', 'nginx');
    try { fs.accessSync(f, fs.constants.X_OK); return f; } catch { /* next */ }
  }
  return null;
}

// A directory for one nginx: 0755 so that its workers (nobody, when run as root) can reach
// the temporary files it creates in it; the private key inside stays 0600 (the master reads
// it as root before the workers start).
export function makeDir() {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'chatd-nginx-'));
  fs.chmodSync(dir, 0o755);
  return dir;
}

// A self-signed certificate for 127.0.0.1 (P-256, one day) made with openssl: DIR/cert.pem
// and DIR/key.pem.
export function makeCertificate(dir) {
  execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1',
    '-nodes', '-days', '1', '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1',
    '-keyout', path.join(dir, 'key.pem'), '-out', path.join(dir, 'cert.pem')], { stdio: 'pipe' });
  fs.chmodSync(path.join(dir, 'key.pem'), 0o600);
}

// n loopback ports that were free a moment ago (nginx binds them next; a lost race is retried).
export async function freePorts(n) {
  const servers = [];
  for (let i = 0; i < n; i++) {
    servers.push(await new Promise((resolve, reject) => {
      const s = net.createServer();
      s.on('error', reject);
      s.listen(0, '127.0.0.1', () => resolve(s));
    }));
  }
  const ports = servers.map((s) => s.address().port);
  await Promise.all(servers.map((s) => new Promise((r) => s.close(r))));
  return ports;
}

function connects(port) {
  return new Promise((resolve) => {
    const s = net.connect(port, '127.0.0.1');
    s.on('connect', () => { s.destroy(); resolve(true); });
    s.on('error', () => resolve(false));
  });
}

// Starts nginx with DIR/nginx.conf, made by conf(ports) for `count` free loopback ports, and
// waits until it accepts on each. Resolves with { proc, pid, ports, dir, exited }; rejects
// with its error log.
export async function startNginx(bin, dir, conf, count = 1) {
  for (let attempt = 0; ; attempt++) {
    const ports = await freePorts(count);
    fs.writeFileSync(path.join(dir, 'nginx.conf'), conf(ports));
    const proc = spawn(bin, ['-p', dir + '/', '-c', path.join(dir, 'nginx.conf'), '-e', path.join(dir, 'error.log'),
      '-g', `daemon off; pid ${path.join(dir, 'nginx.pid')};`], { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    proc.stderr.on('data', (d) => { stderr += d; });
    const exited = new Promise((resolve) => proc.on('exit', (code) => resolve(code)));
    process.on('exit', () => proc.kill('SIGKILL'));
    const end = Date.now() + 5000;
    let up = false, code = null;
    while (!up && Date.now() < end && code === null) {
      up = (await Promise.all(ports.map(connects))).every(Boolean);
      if (!up) code = await Promise.race([exited, new Promise((r) => setTimeout(() => r(null), 50))]);
    }
    if (up) return { proc, pid: proc.pid, ports, dir, exited };
    proc.kill('SIGKILL');
    await exited;
    const log = readLog(dir) + stderr;
    if (attempt < 2 && /Address already in use/.test(log)) continue;
    throw new Error(`nginx did not start (exit ${code}):\n${log}`);
  }
}

export function readLog(dir) {
  try { return fs.readFileSync(path.join(dir, 'error.log'), 'utf8'); } catch { return ''; }
}

// Stops it by its PID (SIGTERM: nginx's fast shutdown; its master stops its workers) and waits
// for it to exit (SIGKILL after 5 s). Safe to call twice, and with null.
export async function stopNginx(n) {
  if (!n) return;
  if (n.proc.exitCode === null && n.proc.signalCode === null) {
    n.proc.kill('SIGTERM');
    const t = setTimeout(() => n.proc.kill('SIGKILL'), 5000);
    await n.exited;
    clearTimeout(t);
  }
}
