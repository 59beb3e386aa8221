// SPDX-License-Identifier: GPL-2.0-only
// Lobby WebSocket: upgrade checks, snapshot, presence/chat broadcast,
// offsets and replay, WebRTC signalling relay, bans, hostile input.
'use strict';
const WebSocket = require('ws');
const { test, run, assert, eq, sleep, Server, Client, Sock } = require('./lib');
// Arrivals and departures come in coalesced presence events (one per lobby per tick).
const arrived = (id) => (m) => m.type === 'presence' && m.joined.some((u) => u.id === id);
const departed = (id) => (m) => m.type === 'presence' && m.left.includes(id);
const mentions = (id) => (m) => m.type === 'presence' && (m.joined.some((u) => u.id === id) || m.left.includes(id));

let s, olga, arthur, stan, boris, code;

test('setup: organiser, two attendees, a stranger', async () => {
  s = await new Server().start();
  olga = await new Client(s).signup('olga');
  arthur = await new Client(s).signup('arthur');
  stan = await new Client(s).signup('stan');
  boris = await new Client(s).signup('boris');
  code = await olga.createMeeting('Lobby test', 'https://meet.example/abc');
  eq((await arthur.join(code)).status, 200, 'arthur joins');
  eq((await boris.join(code)).status, 200, 'boris joins');
});

async function refused(sock, status) {
  try { await sock.opened; } catch (e) { eq(e.status, status, 'HTTP status'); return e; }
  throw new Error('upgrade was accepted');
}

test('upgrade refused: no session 401, foreign Origin 403, bad path 404', async () => {
  let e = await refused(new Client(s).lobby(code), 401);
  assert(/sign in/.test(e.body), 'says sign in: ' + e.body);
  e = await refused(olga.lobby(code, { origin: 'https://evil.example' }), 403);
  assert(/foreign origin/.test(e.body), 'says foreign origin');
  await refused(new Sock(`${s.wsUrl}/lobby/12ab56`, { headers: { cookie: olga.cookie } }), 404);
  await refused(new Sock(`${s.wsUrl}/elsewhere`, { headers: { cookie: olga.cookie } }), 404);
  const bogus = new Sock(`${s.wsUrl}/lobby/${code}`, { headers: { cookie: 'sphinx_session=forgedforgedforgedforgedforged' } });
  await refused(bogus, 401);
  const ok = olga.lobby(code, { origin: s.url });
  await ok.opened; await ok.next('lobby'); await ok.close();
});

test('not a member / unknown meeting: clear error then close code', async () => {
  const st = stan.lobby(code);
  await st.opened;
  const err = await st.next('error');
  eq(err.code, 'not_member', 'error code');
  const c = await st.closed;
  eq(c.code, 4403, 'close code'); assert(/not a member/.test(c.reason), 'reason: ' + c.reason);
  let other = '999999'; if (other === code) other = '999998';
  const un = olga.lobby(other);
  await un.opened;
  eq((await un.next('error')).code, 'unknown_meeting', 'unknown');
  eq((await un.closed).code, 4404, 'close 4404');
});

let o1, a1;
test('snapshot first: meeting, organisers, attendees with online flags, chat', async () => {
  o1 = olga.lobby(code);
  await o1.opened;
  const snap = await o1.next();
  eq(snap.type, 'lobby', 'first message is the snapshot');
  eq(snap.meeting.code, code, 'code'); eq(snap.meeting.title, 'Lobby test', 'title');
  eq(snap.meeting.link, 'https://meet.example/abc', 'link');
  eq(snap.organisers.map((o) => o.id), [olga.user.id], 'organisers');
  eq(snap.you.organiser, true, 'you are organiser');
  const me = snap.attendees.find((a) => a.id === olga.user.id);
  eq(me.online, true, 'self online');
  const ar = snap.attendees.find((a) => a.id === arthur.user.id);
  eq(ar.online, false, 'arthur offline'); eq(ar.recording, false, 'not recording');
  assert(Number.isInteger(snap.offset), 'offset');
});

test('arrival in a presence event; chat broadcast to everyone with increasing offsets, persisted first', async () => {
  a1 = arthur.lobby(code);
  await a1.opened;
  const snap = await a1.next('lobby');
  eq(snap.you.organiser, false, 'arthur is attendee');
  assert(!snap.attendees.some((x) => x.email), 'attendee snapshot hides e-mails');
  const j = await o1.next(arrived(arthur.user.id));
  eq(j.joined.find((u) => u.id === arthur.user.id).online, true, 'presence names arthur, online');
  assert(j.online >= 2 && j.total >= j.online, 'counts');
  a1.send({ type: 'chat', v: 1, text: 'first' });
  const c1 = await o1.next((m) => m.type === 'chat' && m.text === 'first');
  o1.send({ type: 'chat', v: 1, text: 'second' });
  const c2 = await o1.next((m) => m.type === 'chat' && m.text === 'second');
  const d1 = await a1.next((m) => m.type === 'chat' && m.text === 'first');
  await a1.next((m) => m.type === 'chat' && m.text === 'second');
  eq(d1.offset, c1.offset, 'same offset for everyone');
  assert(c2.offset === c1.offset + 1, 'offsets increase by one');
  eq(c1.user.id, arthur.user.id, 'sender');
  const h = await olga.req('GET', `/api/meetings/${code}/chat`);
  eq(h.json.chat.map((m) => m.text), ['first', 'second'], 'stored in order');
});

test('chat history in the snapshot is in time order', async () => {
  const t = arthur.lobby(code);
  await t.opened;
  const snap = await t.next('lobby');
  eq(snap.chat.map((m) => m.text), ['first', 'second'], 'history');
  await t.close();
});

test('reconnect with ?since=N and sync: every missed event, in order', async () => {
  const last = (await olga.req('GET', `/api/meetings/${code}/chat`)).json.chat.length;
  const o2 = olga.lobby(code);
  await o2.opened;
  const snap = await o2.next('lobby');
  const since = snap.offset;
  await o2.close();
  a1.send({ type: 'chat', v: 1, text: 'missed-1' });
  a1.send({ type: 'chat', v: 1, text: 'missed-2' });
  await a1.next((m) => m.text === 'missed-2');
  const o3 = olga.lobby(code, { since });
  await o3.opened;
  await o3.next('lobby');
  const m1 = await o3.next((m) => m.text === 'missed-1');
  const m2 = await o3.next((m) => m.text === 'missed-2');
  assert(m1.offset > since && m2.offset === m1.offset + 1, 'replayed with offsets');
  o3.send({ type: 'sync', v: 1, since });
  await o3.next((m) => m.text === 'missed-1');
  const done = await o3.next('synced');
  assert(done.offset >= m2.offset, 'synced offset');
  await o3.close();
  assert(last >= 2, 'history present');
});

test('signalling: offer/answer/ice relayed to one named peer only', async () => {
  const b1 = boris.lobby(code);
  await b1.opened; await b1.next('lobby');
  await o1.next(arrived(boris.user.id)); await a1.next(arrived(boris.user.id));
  o1.send({ type: 'signal', v: 1, to: arthur.user.id, kind: 'offer', data: { sdp: 'v=0 fake' } });
  const got = await a1.next('signal');
  eq(got.from, olga.user.id, 'from'); eq(got.kind, 'offer', 'kind'); eq(got.data.sdp, 'v=0 fake', 'data');
  a1.send({ type: 'signal', v: 1, to: olga.user.id, kind: 'answer', data: { sdp: 'answer' } });
  eq((await o1.next('signal')).kind, 'answer', 'answer relayed');
  a1.send({ type: 'signal', v: 1, to: olga.user.id, kind: 'ice', data: { candidate: 'c' } });
  eq((await o1.next('signal')).kind, 'ice', 'ice relayed');
  await b1.none('signal');
  o1.send({ type: 'signal', v: 1, to: stan.user.id, kind: 'offer', data: {} });
  eq((await o1.next('error')).code, 'peer_offline', 'peer not in lobby');
  o1.send({ type: 'signal', v: 1, to: arthur.user.id, kind: 'bogus' });
  eq((await o1.next('error')).code, 'bad_message', 'bad kind');
  await b1.close();
  await o1.next(departed(boris.user.id));
  await a1.next(departed(boris.user.id));
});

test('two tabs of one user: one arrival, one departure', async () => {
  const t1 = boris.lobby(code); await t1.opened; await t1.next('lobby');
  await o1.next(arrived(boris.user.id));
  const t2 = boris.lobby(code); await t2.opened; await t2.next('lobby');
  await o1.none(mentions(boris.user.id), 700);
  await t1.close();
  await o1.none(mentions(boris.user.id), 700);
  await t2.close();
  await o1.next(departed(boris.user.id));
});

test('ban over the lobby: attendee refused; organiser bans, target gets "banned" and 4003, cannot reconnect', async () => {
  const b = boris.lobby(code); await b.opened; await b.next('lobby');
  await o1.next(arrived(boris.user.id));
  a1.send({ type: 'ban', v: 1, user: boris.user.id });
  eq((await a1.next('error')).code, 'forbidden', 'attendee cannot ban');
  o1.send({ type: 'ban', v: 1, user: olga.user.id });
  eq((await o1.next('error')).code, 'bad_target', 'cannot ban yourself');
  o1.send({ type: 'ban', v: 1, user: boris.user.id, reason: 'spam' });
  const ev = await o1.next('ban');
  eq(ev.user.id, boris.user.id, 'ban event to organiser'); eq(ev.reason, 'spam', 'reason');
  eq((await a1.next('ban')).user.id, boris.user.id, 'ban event to attendee');
  const bm = await b.next('banned');
  eq(bm.meeting, code, 'banned message');
  const c = await b.closed;
  eq(c.code, 4003, 'closed 4003');
  await o1.next(departed(boris.user.id));
  const again = boris.lobby(code); await again.opened;
  eq((await again.next('error')).code, 'banned', 'reconnect refused');
  eq((await again.closed).code, 4003, 'reconnect closed 4003');
});

test('hostile input: bad JSON, unknown type, wrong version, blank chat — errors, socket stays up', async () => {
  a1.send('{not json');
  eq((await a1.next('error')).code, 'bad_json', 'bad json');
  a1.send('[1,2,3]');
  eq((await a1.next('error')).code, 'bad_json', 'not an object');
  a1.send({ v: 1 });
  eq((await a1.next('error')).code, 'bad_message', 'no type');
  a1.send({ type: 'launch-missiles', v: 1 });
  eq((await a1.next('error')).code, 'unknown_type', 'unknown type');
  a1.send({ type: 'chat', v: 2, text: 'x' });
  eq((await a1.next('error')).code, 'unsupported_version', 'version');
  a1.send({ type: 'chat', v: 1, text: '   ' });
  eq((await a1.next('error')).code, 'bad_message', 'blank chat');
  a1.send({ type: 'chat', v: 1, text: 'x'.repeat(5000) });
  eq((await a1.next('error')).code, 'bad_message', 'chat too long');
  a1.send({ type: 'chat', v: 1, text: 42 });
  eq((await a1.next('error')).code, 'bad_message', 'chat not a string');
  a1.send({ type: 'ping', v: 1 });
  await a1.next('pong');
});

test('oversize message: closed with 1009; fragmented oversize too', async () => {
  const x = arthur.lobby(code); await x.opened; await x.next('lobby');
  x.send(JSON.stringify({ type: 'chat', v: 1, text: 'y'.repeat(70 * 1024) }));
  eq((await x.closed).code, 1009, 'single frame 1009');
  const y = arthur.lobby(code); await y.opened; await y.next('lobby');
  const part = 'z'.repeat(30 * 1024);
  y.ws.send(part, { fin: false }); y.ws.send(part, { fin: false }); y.ws.send(part, { fin: true });
  eq((await y.closed).code, 1009, 'fragments 1009');
  assert(s.alive(), 'server alive');
});

test('binary frames and invalid UTF-8 are refused with close codes', async () => {
  const x = arthur.lobby(code); await x.opened; await x.next('lobby');
  x.ws.send(Buffer.from([1, 2, 3]), { binary: true });
  eq((await x.closed).code, 1003, 'binary: 1003');
  const y = arthur.lobby(code); await y.opened; await y.next('lobby');
  // a text frame carrying invalid UTF-8 (ws lets us send raw bytes as text with binary:false)
  y.ws.send(Buffer.from([0x7b, 0xff, 0xfe, 0x7d]), { binary: false });
  const c = await y.closed;
  assert(c.code === 1007 || c.code === 1002, 'invalid UTF-8 closes (1007): ' + c.code);
});

test('rate limit: a flood gets rate_limited and then a 1008 close; others unaffected', async () => {
  const f = arthur.lobby(code); await f.opened; await f.next('lobby');
  for (let i = 0; i < 400; i++) f.send({ type: 'ping', v: 1 });
  const c = await f.closed;
  assert(f.msgs.some((m) => m.type === 'error' && m.code === 'rate_limited'), 'told to slow down');
  eq(c.code, 1008, 'closed 1008');
  o1.send({ type: 'ping', v: 1 });
  await o1.next('pong');
});

test('end meeting: lobby sockets get meeting.end and close 4410', async () => {
  const c2 = await olga.createMeeting('to end');
  await arthur.join(c2);
  const x = arthur.lobby(c2); await x.opened; await x.next('lobby');
  eq((await olga.req('POST', `/api/meetings/${c2}/end`)).status, 200, 'end');
  await x.next('meeting.end');
  eq((await x.closed).code, 4410, 'closed 4410');
  const again = arthur.lobby(c2); await again.opened;
  eq((await again.next('error')).code, 'meeting_ended', 'cannot reopen');
});

test('replay limits: a client that missed too much gets recovered:false (and a snapshot on sync)', async () => {
  const s2 = await new Server({ args: ['-o', 'ws_queue_max=16'] }).start();
  const o = await new Client(s2).signup('owner');
  const k = await o.createMeeting('busy');
  const x = o.lobby(k); await x.opened; await x.next('lobby');
  for (let i = 0; i < 12; i++) { x.send({ type: 'chat', v: 1, text: 'm' + i }); await x.next('chat'); }
  const y = o.lobby(k, { since: 10 }); await y.opened; await y.next('lobby');
  eq((await y.next('synced')).recovered, true, 'small gap replayed');
  const z = o.lobby(k, { since: 0 }); await z.opened; await z.next('lobby');
  const sy = await z.next('synced');
  eq(sy.recovered, false, 'large gap: use the snapshot'); await z.none('chat');
  z.send({ type: 'sync', v: 1, since: 0 });
  eq((await z.next('lobby')).chat.length, 12, 'fresh snapshot on sync');
  eq((await z.next('synced')).recovered, false, 'not recovered');
  s2.kill9();
});

test('one user may hold lobby_user_sockets sockets per lobby; one more is closed 4029', async () => {
  const s3 = await new Server({ args: ['-o', 'lobby_user_sockets=2'] }).start();
  const o = await new Client(s3).signup('tabby');
  const k = await o.createMeeting('tabs');
  const t1 = o.lobby(k); await t1.opened; await t1.next('lobby');
  const t2 = o.lobby(k); await t2.opened; await t2.next('lobby');
  const t3 = o.lobby(k); await t3.opened;
  eq((await t3.next('error')).code, 'too_many_sockets', 'error');
  eq((await t3.closed).code, 4029, 'closed 4029');
  s3.kill9();
});

test('end over the lobby: attendees refused, organiser ends it for everyone', async () => {
  const k = await olga.createMeeting('ended from the lobby');
  await arthur.join(k);
  const o = olga.lobby(k); await o.opened; await o.next('lobby');
  const a = arthur.lobby(k); await a.opened; await a.next('lobby');
  a.send({ type: 'end', v: 1 });
  eq((await a.next('error')).code, 'forbidden', 'attendee cannot end');
  o.send({ type: 'end', v: 1 });
  eq((await a.next('meeting.end')).by.id, olga.user.id, 'everyone told who ended it');
  eq((await a.closed).code, 4410, 'attendee closed 4410');
  eq((await o.closed).code, 4410, 'organiser closed 4410');
  const m = await olga.req('GET', `/api/meetings/${k}`);
  assert(m.json.meeting.end_at, 'stored as ended');
});

test('logout closes the user\'s lobby sockets (4001)', async () => {
  const c = new Client(s); await c.login('arthur');
  const x = c.lobby(code); await x.opened; await x.next('lobby');
  await c.req('POST', '/api/auth/logout');
  eq((await x.closed).code, 4001, 'closed 4001');
  assert(s.alive(), 'server alive at the end');
});

run();
