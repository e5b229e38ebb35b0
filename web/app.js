// app.js - the chat page: one WebSocket to /ws?format=json, the JSON feed (docs/protocol.md
// "The JSON feed": one object per event, nothing to parse out of text). Everything shown is
// inserted with textContent, never as HTML, so nothing another user sends can inject markup.
// Reconnects with exponential back-off and resumes: it asks for the lines of its room after
// the last sequence number it saw (/ws?room=NAME&since=SEQ), so a reconnect (a phone that
// changed network) misses nothing; when the server no longer has them, it says so plainly.
'use strict';
const $ = (id) => document.getElementById(id);
const log = $('log');
let ws = null, delay = 500, me = '', room = 'lobby', chosen = '', resumed = false;
const lastSeq = new Map(); // room -> the last sequence number seen in it

function two(n) { return String(n).padStart(2, '0'); }
function clock(ms) {
  const d = new Date(ms);
  return two(d.getHours()) + ':' + two(d.getMinutes()) + ':' + two(d.getSeconds());
}

function add(text, cls, name, time) {
  const li = document.createElement('li');
  if (cls) li.className = cls;
  if (time !== undefined) {
    const t = document.createElement('time');
    t.textContent = '[' + clock(time) + '] ';
    li.appendChild(t);
  }
  if (name !== undefined) {
    const b = document.createElement('span');
    b.className = 'name';
    b.textContent = name + ': ';
    li.appendChild(b);
  }
  // <bdi>: right-to-left text (legitimate, with its LRM/RLM marks) is laid out on its own and
  // can never move the name; the server refuses the controls that could (docs/protocol.md).
  const t = document.createElement('bdi');
  t.textContent = text;
  li.appendChild(t);
  const atEnd = log.scrollTop + log.clientHeight >= log.scrollHeight - 5;
  log.appendChild(li);
  while (log.children.length > 2000) log.removeChild(log.firstChild);
  if (atEnd) log.scrollTop = log.scrollHeight;
  return li;
}

function setMe(name) { me = name; $('me').textContent = me; }
function setRoom(name) { room = name; $('room').textContent = room; }

function setWho(users) {
  const ul = $('who');
  ul.textContent = '';
  for (const u of users) {
    const li = document.createElement('li');
    li.textContent = u.name + (u.verified ? ' \u2713' : '') + (u.name === me ? ' (you)' : '');
    ul.appendChild(li);
  }
}

let whoTimer = null, quietWho = false;
function refreshWho() {          // the member list follows entries, leaves and renames
  clearTimeout(whoTimer);
  whoTimer = setTimeout(() => send('/who', true), 300);
}

// A chat line or action of the room: shown once, its number remembered for resuming.
function said(e, show) {
  if (e.seq) {
    const last = lastSeq.get(e.room) || 0;
    if (e.room === room && e.seq <= last) return; // had it already (a resume overlaps)
    if (e.room === room) lastSeq.set(e.room, e.seq);
  }
  const li = show();
  if (e.history) li.classList.add('history');
  if (e.seq) li.dataset.seq = e.seq;
}

const handlers = {
  chat: (e) => said(e, () => add(e.text, '', e.from, e.history ? e.time : undefined)),
  action: (e) => said(e, () => add(e.from + ' ' + e.text, 'action', undefined,
    e.history ? e.time : undefined)),
  private: (e) => {
    if (e.echo) add('to ' + e.to + ': ' + e.text, 'server');
    else add(e.text, 'private', e.from + ' (private)');
  },
  join: (e) => { add(e.text, 'server'); refreshWho(); },
  leave: (e) => { add(e.text, 'server'); refreshWho(); },
  rename: (e) => {
    if (e.from === me) setMe(e.to);
    add(e.text, 'server');
    refreshWho();
  },
  notice: (e) => {
    if (e.name) { setMe(e.name); refreshWho(); }
    if (e.users) {
      setRoom(e.room);
      setWho(e.users);
      if (quietWho) { quietWho = false; return; }
    } else if (e.members !== undefined && e.room) {
      setRoom(e.room);
      refreshWho();
    }
    add(e.text, 'server');
  },
  error: (e) => add('error: ' + e.text, 'server error'),
  history: (e) => {
    if (e.count === 0) add('No lines kept in ' + e.room + ' yet.', 'server');
    else if (e.since !== undefined) add(e.count + (e.count === 1 ? ' line' : ' lines') + ' you missed in ' + e.room + ':', 'server');
    else add('Last ' + (e.count === 1 ? 'line' : e.count + ' lines') + ' in ' + e.room + ':', 'server');
  },
  gap: (e) => {
    const what = e.missed === null
      ? 'Lines said in ' + e.room + ' while you were away may be missing (its history began again).'
      : e.missed + (e.missed === 1 ? ' line' : ' lines') + ' said in ' + e.room +
        ' while you were away ' + (e.missed === 1 ? 'is' : 'are') + ' no longer kept.';
    add('\u26a0 ' + what, 'server gap');
  },
};

function onEvent(data) {
  let e;
  try { e = JSON.parse(data); } catch { add(String(data), ''); return; }
  const h = handlers[e.type];
  if (h) h(e); else add(e.text || '', 'server');
}

function send(text, quiet) {
  if (!ws || ws.readyState !== WebSocket.OPEN) return false;
  if (quiet) quietWho = true;
  ws.send(text);
  return true;
}

// The first connection enters the lobby; a reconnect goes back to its room and asks for what
// it missed there (since=0: it saw nothing of the room yet).
function url() {
  let u = (location.protocol === 'https:' ? 'wss://' : 'ws://') + location.host + '/ws?format=json';
  if (resumed) u += '&room=' + encodeURIComponent(room) + '&since=' + (lastSeq.get(room) || 0);
  return u;
}

function connect() {
  ws = new WebSocket(url());
  ws.onopen = () => {
    delay = 500;
    $('status').textContent = 'online'; $('status').className = 'on';
    if (resumed && chosen) send('/nick ' + chosen); // the name it had, if still free
  };
  ws.onmessage = (e) => onEvent(String(e.data));
  ws.onclose = () => {
    $('status').textContent = 'offline, retrying'; $('status').className = 'off';
    resumed = true;
    setTimeout(connect, delay);
    delay = Math.min(delay * 2, 15000);
  };
}

$('say-form').onsubmit = (e) => {
  e.preventDefault();
  const text = $('say').value;
  if (text !== '' && send(text)) $('say').value = '';
};
$('nick-form').onsubmit = (e) => {
  e.preventDefault();
  const name = $('nick').value.trim();
  if (name && send('/nick ' + name)) { chosen = name; $('nick').value = ''; }
};
$('join-form').onsubmit = (e) => {
  e.preventDefault();
  if ($('join').value && send('/join ' + $('join').value.trim())) $('join').value = '';
};
connect();
