// app.js - the chat page: one WebSocket to /ws carrying the same lines as the line protocol
// (docs/protocol.md). Everything shown is inserted with textContent, never as HTML, so
// nothing another user sends can inject markup. Reconnects with exponential back-off.
'use strict';
const $ = (id) => document.getElementById(id);
const log = $('log');
let ws = null, delay = 500, me = '', room = 'lobby';

function add(text, cls, name) {
  const li = document.createElement('li');
  if (cls) li.className = cls;
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
}

function setWho(names) {
  const ul = $('who');
  ul.textContent = '';
  for (const n of names) {
    const li = document.createElement('li');
    li.textContent = n === me ? n + ' (you)' : n;
    ul.appendChild(li);
  }
}

let whoTimer = null;
function refreshWho() {          // the member list follows entries, leaves and renames
  clearTimeout(whoTimer);
  whoTimer = setTimeout(() => send('/who', true), 300);
}

let quietWho = false;
function onLine(line) {
  let m;
  if (line.startsWith('* ')) {
    const text = line.slice(2);
    if ((m = /^Welcome, (\S+)\./.exec(text))) { me = m[1]; $('me').textContent = me; refreshWho(); }
    if ((m = /^You are now in (\S+)\./.exec(text))) { room = m[1]; $('room').textContent = room; refreshWho(); }
    if ((m = /^(\S+) is now known as (\S+)\.$/.exec(text))) {
      if (m[1] === me) { me = m[2]; $('me').textContent = me; }
      refreshWho();
    }
    if (/ has (entered|left)/.test(text) || / entered| left\./.test(text)) refreshWho();
    if ((m = /^\d+ users? in (\S+):(.*)$/.exec(text))) {
      room = m[1]; $('room').textContent = room;
      setWho(m[2].replace(/ and \d+ more$/, '').split(',').map((s) => s.trim()).filter(Boolean));
      if (quietWho) { quietWho = false; return; }
    }
    add(text, text.startsWith('error:') ? 'server error' : 'server');
  } else if (line.startsWith('+ ')) {
    add(line.slice(2), 'action');
  } else if ((m = /^\(private\) ([^:]+):(.*)$/.exec(line))) {
    add(m[2], 'private', m[1] + ' (private)');
  } else if ((m = /^([^:]+):(.*)$/.exec(line))) {
    add(m[2], '', m[1]);
  } else {
    add(line, '');
  }
}

function send(text, quiet) {
  if (!ws || ws.readyState !== WebSocket.OPEN) return false;
  if (quiet) quietWho = true;
  ws.send(text);
  return true;
}

function connect() {
  const url = (location.protocol === 'https:' ? 'wss://' : 'ws://') + location.host + '/ws';
  ws = new WebSocket(url);
  ws.onopen = () => { delay = 500; $('status').textContent = 'online'; $('status').className = 'on'; };
  ws.onmessage = (e) => onLine(String(e.data));
  ws.onclose = () => {
    $('status').textContent = 'offline, retrying'; $('status').className = 'off';
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
  if ($('nick').value && send('/nick ' + $('nick').value.trim())) $('nick').value = '';
};
$('join-form').onsubmit = (e) => {
  e.preventDefault();
  if ($('join').value && send('/join ' + $('join').value.trim())) $('join').value = '';
};
connect();
