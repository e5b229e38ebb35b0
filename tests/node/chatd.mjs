// chatd.mjs - starts bin/chatd on a free loopback port for a Node test and stops it by PID.
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import net from 'node:net';
import path from 'node:path';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

export function startChatd(extra = []) {
  return new Promise((resolve, reject) => {
    const proc = spawn(path.join(root, 'bin/chatd'),
      ['--workers', '2', '--bind', '127.0.0.1', '--port', '0', '--admin', 'off', '--irc-port', '0',
        '--log-level', 'info', ...extra], { stdio: ['ignore', 'ignore', 'pipe'] });
    let log = '';
    const timer = setTimeout(() => reject(new Error('chatd did not start: ' + log)), 5000);
    proc.stderr.on('data', (d) => {
      log += d;
      // the chat port; the admin port too when extra turns the admin listener on
      const m = /listening on \S+ port (\d+): /.exec(log);
      const admin = /admin listener on \S+ port (\d+): /.exec(log);
      const irc = /IRC clients on \S+ port (\d+) /.exec(log); // logged before the chat port
      if (m) { clearTimeout(timer); resolve({ proc, port: Number(m[1]), admin: admin && Number(admin[1]), irc: irc && Number(irc[1]) }); }
    });
    proc.on('exit', (code) => reject(new Error('chatd exited with ' + code + ': ' + log)));
    process.on('exit', () => proc.kill('SIGKILL'));
  });
}

export function stopChatd(srv) {
  return new Promise((resolve) => {
    if (srv.proc.exitCode !== null) return resolve();
    srv.proc.removeAllListeners('exit');
    srv.proc.on('exit', () => resolve());
    srv.proc.kill('SIGTERM');
  });
}

// A line (TCP) user of the chatd on port: waitFor(pred) resolves with the first line seen
// that matches (polling, at most ms), seen holds every line, say sends one.
export function lineUser(port) {
  const sock = net.connect(port, '127.0.0.1');
  let buf = '';
  const seen = [];
  sock.on('data', (d) => {
    buf += d;
    let i;
    while ((i = buf.indexOf('\n')) >= 0) { seen.push(buf.slice(0, i)); buf = buf.slice(i + 1); }
  });
  const waitFor = async (pred, ms = 5000) => {
    const end = Date.now() + ms;
    while (Date.now() < end) {
      const hit = seen.find(pred);
      if (hit !== undefined) return hit;
      await new Promise((r) => setTimeout(r, 20));
    }
    throw new Error('line not seen; got: ' + seen.join(' | '));
  };
  return { sock, waitFor, seen, say: (l) => sock.write(l + '\n') };
}

// Collects what arrives (push); next(pred) resolves with the first item not taken yet that
// matches, waiting at most ms for it.
export function queue() {
  const seen = [];
  const waiters = [];
  return {
    seen,
    push(v) {
      seen.push(v);
      for (const w of waiters.splice(0)) if (!w(v)) waiters.push(w);
    },
    next(pred, ms = 5000) {
      const i = seen.findIndex(pred);
      if (i >= 0) return Promise.resolve(seen.splice(i, 1)[0]);
      return new Promise((resolve, reject) => {
        const t = setTimeout(() => reject(new Error('timeout; seen: ' + JSON.stringify(seen))), ms);
        waiters.push((v) => {
          if (!pred(v)) return false;
          clearTimeout(t);
          seen.splice(seen.indexOf(v), 1);
          resolve(v);
          return true;
        });
      });
    },
  };
}
