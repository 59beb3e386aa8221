// SPDX-License-Identifier: GPL-2.0-only
// A lobby of hundreds of distinct people: the snapshot stays under 16 KiB
// (and still shows an organiser every attendee recording), arrivals cost
// O(N) bytes in all, people and chat are paged over HTTP, a chat resend with
// the same cid is stored once, presence events replay after a reconnect,
// never-reading clients neither pin memory nor survive a flood, sync is
// rate-limited. Every user signs up from its own 127.0.X.Y address.
'use strict';
const http = require('http');
const crypto = require('crypto');
const fs = require('fs');
const WebSocket = require('ws');
const { test, run, assert, eq, sleep, Server, Client, agent, captureEvent } = require('./lib');

const LONG = (i) => `P${String(i).padStart(4, '0')} ` + 'Ł'.repeat(60);	// 126 bytes of UTF-8
const addr = (i) => `127.0.${1 + Math.floor(i / 250)}.${1 + (i % 250)}`;

let s, olga, code, users = [];

// ---------------------------------------------------------------- helpers

// One HTTP request from a chosen source address (fetch cannot bind one).
function hreq(u, method, path, body) {
  return new Promise((resolve, reject) => {
    const data = body === undefined ? null : JSON.stringify(body);
    const headers = { origin: s.url };
    if (data) { headers['content-type'] = 'application/json'; headers['content-length'] = Buffer.byteLength(data); }
    if (u.cookie) headers.cookie = u.cookie;
    if (u.csrf && method !== 'GET') headers['x-csrf-token'] = u.csrf;
    const r = http.request(s.url + path, { method, headers, localAddress: u.addr }, (res) => {
      let text = '';
      res.on('data', (d) => { text += d; });
      res.on('end', () => {
        const sc = res.headers['set-cookie'];
        if (sc) { const m = /^([^=]+)=([^;]*)/.exec(sc[0]); if (m && m[2]) u.cookie = `${m[1]}=${m[2]}`; }
        let json = null; try { json = JSON.parse(text); } catch (e) { /* not JSON */ }
        resolve({ status: res.statusCode, json, text });
      });
    });
    r.on('error', reject);
    if (data) r.write(data);
    r.end();
  });
}

async function signupMany(from, to) {
  const out = [];
  for (let i = from; i < to; i += 20) {
    const batch = [];
    for (let j = i; j < Math.min(to, i + 20); j++) {
      const u = { i: j, addr: addr(j), username: `u${j}` };
      batch.push((async () => {
        const r = await hreq(u, 'POST', '/api/auth/signup', { username: u.username, email: `${u.username}@example.org`,
          password: 'password-' + u.username, name: LONG(j) });
        if (r.status !== 201) throw new Error(`signup ${u.username}: ${r.status} ${r.text}`);
        u.csrf = r.json.csrf; u.id = r.json.user.id;
        const jr = await hreq(u, 'POST', '/api/meetings/join', { code });
        if (jr.status !== 200) throw new Error(`join ${u.username}: ${jr.status} ${jr.text}`);
        return u;
      })());
    }
    out.push(...await Promise.all(batch));
  }
  return out;
}

// A lobby socket that counts every byte it receives; parse only on demand.
function open(u, opts = {}) {
  const url = `${s.wsUrl}/lobby/${code}${opts.since !== undefined ? '?since=' + opts.since : ''}`;
  const ws = new WebSocket(url, { headers: { cookie: u.cookie }, origin: s.url, localAddress: u.addr, perMessageDeflate: false, maxPayload: 1 << 24 });
  const sock = { ws, bytes: 0, msgs: [], first: null };
  sock.snapshot = new Promise((resolve, reject) => {
    ws.on('message', (d) => {
      sock.bytes += d.length;
      if (!sock.first) { sock.first = d; resolve(JSON.parse(d.toString())); }
      if (opts.keep) sock.msgs.push(JSON.parse(d.toString()));
    });
    ws.on('error', reject);
    ws.on('close', (c) => reject(new Error('closed ' + c)));
  });
  sock.closed = new Promise((r) => ws.on('close', (c) => r(c)));
  return sock;
}

// The messages a kept socket received before the pong to a ping sent now:
// everything the server had queued for it when it read the ping.
async function beforeMarker(x) {
  x.ws.send(JSON.stringify({ type: 'ping', v: 1 }));
  for (let i = 0; i < 100; i++) {
    const at = x.msgs.findIndex((m) => m.type === 'pong');
    if (at >= 0) return x.msgs.slice(0, at);
    await sleep(50);
  }
  throw new Error('no pong within 5 s');
}

function rssKiB(pid) {
  return Number(/VmRSS:\s+(\d+)/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'))[1]);
}

// Open n sockets of users[0..n) at once; total bytes every socket received
// from its open until a marker chat line (sent after every snapshot) reached all.
async function storm(n) {
  const socks = users.slice(0, n).map((u) => open(u));
  await Promise.all(socks.map((x) => x.snapshot));
  const marker = 'marker-' + crypto.randomBytes(4).toString('hex');
  const seen = socks.map((x) => new Promise((r) => x.ws.on('message', (d) => { if (d.includes(marker)) r(); })));
  await sleep(600);	// the last presence tick
  socks[0].ws.send(JSON.stringify({ type: 'chat', text: marker }));
  await Promise.all(seen);
  const bytes = socks.reduce((t, x) => t + x.bytes, 0);
  const after = socks.reduce((t, x) => t + x.bytes - x.first.length, 0);	// what came after the snapshots
  await Promise.all(socks.map((x) => { x.ws.close(); return x.closed; }));
  await sleep(600);
  return { bytes, after };
}

// ------------------------------------------------------------------ tests

test('setup: an organiser and 300 distinct people (each from its own address) in one meeting', async () => {
  s = await new Server().start();
  olga = await new Client(s).signup('olga');
  code = await olga.createMeeting('Lecture hall');
  users = await signupMany(0, 300);
  eq(users.length, 300, 'signed up');
  eq(new Set(users.map((u) => u.addr)).size, 300, 'distinct addresses');
});

test('join traffic grows O(N): bytes of a 300-person join storm vs a 100-person one', async () => {
  const b100 = await storm(100);
  const b300 = await storm(300);
  const ratio = b300.bytes / b100.bytes, eratio = b300.after / b100.after;
  console.log(`# join storm bytes: N=100 ${b100.bytes} (${b100.after} after the snapshots), N=300 ${b300.bytes} (${b300.after}); ratios ${ratio.toFixed(2)}, ${eratio.toFixed(2)} (N: 3, N²: 9)`);
  assert(ratio < 5, `traffic grew ${ratio.toFixed(2)}x for 3x the people`);
  assert(eratio < 5, `arrival announcements grew ${eratio.toFixed(2)}x for 3x the people`);
  assert(b300.bytes / 300 < 32768, `${Math.round(b300.bytes / 300)} bytes per socket for a 300-person storm`);
});

test('people paging returns everyone exactly once, in the lobby order', async () => {
  const seen = []; let after = '', pages = 0, total;
  for (;;) {
    const r = await olga.req('GET', `/api/meetings/${code}/people?limit=37${after ? '&after=' + encodeURIComponent(after) : ''}`);
    eq(r.status, 200, 'page status');
    seen.push(...r.json.people); total = r.json.total; pages++;
    if (!r.json.next) break;
    after = r.json.next;
    assert(pages < 20, 'pages end');
  }
  eq(total, 301, 'total');
  eq(seen.length, 301, 'count');
  eq(new Set(seen.map((p) => p.id)).size, 301, 'each once');
  eq(seen[0].id, olga.user.id, 'organiser first');
  const names = seen.slice(1).map((p) => p.name.toLowerCase());
  eq(names, [...names].sort(), 'then by name');
  assert(seen.every((p) => p.email), 'organisers see e-mails');
  const a = await hreq(users[0], 'GET', `/api/meetings/${code}/people?limit=5`);
  assert(a.status === 200 && a.json.people.length === 5 && a.json.people.every((p) => !('email' in p)), 'attendees: no e-mails');
  eq((await olga.req('GET', `/api/meetings/${code}/people?limit=0`)).status, 400, 'limit 0 refused');
  eq((await olga.req('GET', `/api/meetings/${code}/people?limit=201`)).status, 400, 'limit 201 refused');
  eq((await olga.req('GET', `/api/meetings/${code}/people?after=zz`)).status, 400, 'bad cursor refused');
});

test('300 long chat lines: chat paging returns each once, oldest first', async () => {
  const ws = open(users[1]); await ws.snapshot;
  const o = open(users[2]); await o.snapshot;
  for (let i = 0; i < 300; i++) {
    (i % 2 ? ws : o).ws.send(JSON.stringify({ type: 'chat', text: `line ${String(i).padStart(3, '0')} ` + 'x'.repeat(1000) }));
    if (i % 40 === 39) await sleep(2100);	// stay under ws_rate (20/s) with the burst of 100
  }
  await sleep(500);
  const first = await olga.req('GET', `/api/meetings/${code}/chat?limit=64`);
  assert(first.json.chat.length === 64 && first.json.more === true, 'a page of 64, more before it');
  const all = []; let before = 0, more = true;
  while (more) {
    const r = await olga.req('GET', `/api/meetings/${code}/chat?limit=64${before ? '&before=' + before : ''}`);
    eq(r.status, 200, 'status');
    all.unshift(...r.json.chat); more = r.json.more;
    if (r.json.chat.length) before = r.json.chat[0].id;
  }
  // two senders: their lines interleave in arrival order, which the ids record
  const lines = all.filter((m) => /^line /.test(m.text));
  eq(lines.map((m) => m.text.slice(5, 8)).sort(), Array.from({ length: 300 }, (_, i) => String(i).padStart(3, '0')), 'every line once');
  assert(all.every((m, i) => i === 0 || m.id > all[i - 1].id), 'oldest first, no repeats across pages');
  ws.ws.close(); o.ws.close(); await ws.closed; await o.closed;
});

test('snapshot <= 16 KiB with 300 long names and 300 long chat lines, and it shows every recording attendee to the organiser', async () => {
  const t = s.admin(['enroll-machine', 'lab-1']).out;
  const rec = [users[7], users[150], users[222], users[299]];
  const present = rec.map((u) => open(u));
  await Promise.all(present.map((x) => x.snapshot));
  const g = agent(s, t); await g.opened;
  g.send({ type: 'hello', v: 1, boot_id: 'b00t0000-0000-4000-8000-00000000000a', users: rec.map((u) => u.username) });
  await g.next('welcome');
  for (const [k, u] of rec.entries()) {
    g.send(captureEvent('capture.begin', k + 1, { user: u.username, pid: 7000 + k, boot: 'b00t0000-0000-4000-8000-00000000000a' }));
    await g.next('ack');
  }
  const ol = olga.lobby(code); await ol.opened;
  const snap = await ol.next('lobby');
  const size = Buffer.byteLength(JSON.stringify(snap, (k, v) => (k === '__recv' ? undefined : v)));
  console.log(`# organiser snapshot: ${size} bytes, ${snap.attendees.length} people, ${snap.chat.length} chat lines, ${snap.flagged.length} flagged`);
  assert(size <= 16384, `organiser snapshot is ${size} bytes`);
  eq(snap.flagged.map((p) => p.id).sort(), rec.map((u) => u.id).sort(), 'every recording attendee flagged');
  assert(snap.flagged.every((p) => p.recording && p.recordings.length === 1), 'with their recording');
  eq(snap.people.total, 301, 'total'); assert(snap.people.online >= 5, 'online count');
  assert(snap.people.next, 'a cursor to the rest');
  assert(snap.chat.length >= 1 && snap.chat_more === true, 'newest chat lines, more paged');
  const a = open(users[3]);
  const as = await a.snapshot;
  assert(a.first.length <= 16384, `attendee snapshot is ${a.first.length} bytes`);
  assert(!('flagged' in as) && as.attendees.every((p) => !('email' in p)), 'attendees: no flagged list, no e-mails');
  a.ws.close(); await ol.close(); await g.close();
  for (const x of present) x.ws.close();
  await Promise.all(present.map((x) => x.closed));
});

test('chat cid: a resend is answered with chat.stored duplicate and stored once', async () => {
  const u = users[10];
  const x = open(u, { keep: true }); await x.snapshot;
  x.ws.send(JSON.stringify({ type: 'chat', text: 'only once', cid: 'c-1_A' }));
  const wait = async (f) => { for (let i = 0; i < 100; i++) { const m = x.msgs.find(f); if (m) return m; await sleep(50); } throw new Error('no message'); };
  const ev = await wait((m) => m.type === 'chat' && m.cid === 'c-1_A');
  x.ws.send(JSON.stringify({ type: 'chat', text: 'only once', cid: 'c-1_A' }));
  const st = await wait((m) => m.type === 'chat.stored');
  eq([st.cid, st.id, st.offset, st.duplicate], ['c-1_A', ev.id, ev.offset, true], 'chat.stored names the stored line');
  x.ws.send(JSON.stringify({ type: 'chat', text: 'bad', cid: 'no spaces' }));
  eq((await wait((m) => m.type === 'error')).code, 'bad_message', 'bad cid refused');
  const r = await olga.req('GET', `/api/meetings/${code}/chat?limit=20`);
  eq(r.json.chat.filter((m) => m.text === 'only once').length, 1, 'one row');
  eq(x.msgs.filter((m) => m.type === 'chat' && m.cid === 'c-1_A').length, 1, 'one broadcast');
  x.ws.close(); await x.closed;
});

test('presence: one event per tick for many arrivals; a reconnect with since replays it', async () => {
  const watcher = open(users[20], { keep: true }); const snap = await watcher.snapshot;
  const since = snap.offset;
  const burst = users.slice(30, 80).map((u) => open(u));
  await Promise.all(burst.map((x) => x.snapshot));
  await sleep(700);	// the last presence tick (lobby_presence_tick 250 ms)
  const pres = (await beforeMarker(watcher)).filter((m) => m.type === 'presence');
  const named = new Set(pres.flatMap((m) => m.joined.map((p) => p.id)));
  const counted = pres.reduce((t, m) => t + m.joined.length + m.more_joined, 0);
  assert(pres.length >= 1 && pres.length <= 6, `50 arrivals in ${pres.length} presence events`);
  assert(counted >= 50 && pres.every((m) => m.joined.length <= 20), 'every arrival counted, at most 20 named per event');
  assert([...named].every((id) => users.some((u) => u.id === id)), 'joined are person objects');
  assert(pres[pres.length - 1].online >= 51, 'online count');
  const re = open(users[21], { since, keep: true }); await re.snapshot;
  for (let i = 0; i < 50 && !re.msgs.some((m) => m.type === 'synced'); i++) await sleep(50);
  const replayed = re.msgs.filter((m) => m.type === 'presence' && m.offset > since).map((m) => m.offset);
  eq(replayed.slice(0, pres.length), pres.map((m) => m.offset), 'the same presence events, replayed');
  eq(re.msgs.find((m) => m.type === 'synced').recovered, true, 'recovered');
  for (const x of [watcher, re, ...burst]) x.ws.close();
  await Promise.all([watcher, re, ...burst].map((x) => x.closed));
});

test('sync flood: rate_limited after a short burst; sync since 0 is a snapshot, not a replay', async () => {
  const x = open(users[40], { keep: true }); await x.snapshot;
  for (let i = 0; i < 10; i++) x.ws.send(JSON.stringify({ type: 'sync', since: 0 }));
  const got = await beforeMarker(x);	// every answer to the 10 syncs came before the pong
  const limited = got.filter((m) => m.type === 'error' && m.code === 'rate_limited').length;
  const synced = got.filter((m) => m.type === 'synced');
  assert(limited >= 5 && synced.length <= 4, `${synced.length} syncs served, ${limited} refused`);
  assert(synced.every((m) => m.recovered === false), 'since 0: recovered false');
  assert(got.filter((m) => m.type === 'lobby').length === synced.length + 1, 'a fresh snapshot each');
  assert(!got.some((m) => m.type === 'chat' && /^line /.test(m.text)), 'no history replayed');
  x.ws.close(); await x.closed;
});

test('never-reading clients: memory stays bounded; a flood closes them 4008', async () => {
  const pid = s.proc.pid;
  const before = rssKiB(pid);
  // 60 sockets that upgrade and never read, in a meeting with ~300 KB of chat history
  const raw = [];
  for (let k = 0; k < 60; k++) {
    const x = open(users[100 + k]);
    x.ws.on('error', () => {});
    x.snapshot.catch(() => {});
    x.ws.on('open', () => x.ws._socket.pause());	// never read again (ws resumes the socket after 'upgrade')
    raw.push(x);
  }
  await sleep(1500);
  const mid = rssKiB(pid);
  console.log(`# server RSS: ${before} KiB before, ${mid} KiB with 60 never-reading lobby sockets`);
  assert(mid - before < 20 * 1024, `RSS grew ${mid - before} KiB`);
  // 40 senders, 90 lines of 3.9 KB each: ~14 MB to every socket, more than the kernel's socket buffers hold
  const text = 'y'.repeat(3900);
  const senders = users.slice(200, 240).map((u) => open(u));
  await Promise.all(senders.map((x) => x.snapshot));
  for (const x of senders) for (let i = 0; i < 90; i++) x.ws.send(JSON.stringify({ type: 'chat', text }));
  for (let i = 0; i < 150 && !/too slow to read/.test(s.log); i++) await sleep(100);
  for (const x of senders) x.ws.terminate();
  assert(/closing a client too slow to read/.test(s.log), 'closed as too slow (4008)');
  const after = rssKiB(pid);
  console.log(`# server RSS after the flood: ${after} KiB`);
  assert(after - before < 40 * 1024, `RSS grew ${after - before} KiB`);
  for (const x of raw) x.ws.terminate();
});

test('the send queue is capped in bytes: with the message cap out of reach, ws_queue_bytes closes a non-reader 4008', async () => {
  const main = { s, code };
  s = await new Server({ args: ['-o', 'ws_queue_bytes=65536', '-o', 'ws_queue_max=1000000'] }).start();
  const o = await new Client(s).signup('olga'); code = await o.createMeeting('Byte cap');
  const us = (await signupMany(0, 41));
  const slow = open(us[40]); slow.ws.on('error', () => {}); slow.snapshot.catch(() => {});
  slow.ws.on('open', () => slow.ws._socket.pause());
  await sleep(500);
  const senders = us.slice(0, 40).map((u) => open(u));
  await Promise.all(senders.map((x) => x.snapshot));
  const text = 'z'.repeat(3900);
  for (const x of senders) for (let i = 0; i < 90; i++) x.ws.send(JSON.stringify({ type: 'chat', text }));
  for (let i = 0; i < 150 && !/too slow to read/.test(s.log); i++) await sleep(100);
  const m = /closing a client too slow to read \((\d+) queued messages, (\d+) bytes\)/.exec(s.log);
  assert(m, 'closed as too slow');
  assert(Number(m[1]) < 1000 && Number(m[2]) <= 65536, `closed by bytes: ${m[0]}`);
  for (const x of senders) x.ws.terminate();
  slow.ws.terminate();
  await s.kill9();
  ({ s, code } = main);
});

run();
