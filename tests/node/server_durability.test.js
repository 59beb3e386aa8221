// SPDX-License-Identifier: GPL-2.0-only
// Durability: everything a client or agent saw acknowledged survives
// kill -9 of the server. Restart on the same data directory and find every
// chat message, attendance row and recording; offsets continue.
'use strict';
const { test, run, assert, eq, sleep, Server, Client, agent, captureEvent } = require('./lib');
// Arrivals and departures come in coalesced presence events (one per lobby per tick).
const arrived = (id) => (m) => m.type === 'presence' && m.joined.some((u) => u.id === id);
const departed = (id) => (m) => m.type === 'presence' && m.left.includes(id);

let s, olga, alice, code, lo, la, lastOffset, token;
const N = 60;

test('a meeting in progress: chat, reconnects, a recording', async () => {
  s = await new Server().start();
  olga = await new Client(s).signup('olga');
  alice = await new Client(s).signup('alice');
  code = await olga.createMeeting('Durable');
  await alice.join(code);
  lo = olga.lobby(code); await lo.opened; await lo.next('lobby');
  // alice joins, leaves, joins again: two attendance rows
  la = alice.lobby(code); await la.opened; await la.next('lobby');
  await lo.next(arrived(alice.user.id));
  await sleep(200);
  await la.close();
  await lo.next(departed(alice.user.id));
  la = alice.lobby(code); await la.opened; await la.next('lobby');
  await lo.next(arrived(alice.user.id));
  for (let i = 0; i < N; i++) {
    (i % 2 ? lo : la).send({ type: 'chat', v: 1, text: `message ${i}` });
    const m = await lo.next((x) => x.type === 'chat' && x.text === `message ${i}`);
    lastOffset = m.offset;
  }
  token = s.admin(['enroll-machine', 'lab-1']).out;
  const ag = agent(s, token); await ag.opened;
  ag.send({ type: 'hello', v: 1, machine: 'lab-1', boot_id: 'boot-a' });
  await ag.next('welcome');
  ag.send(captureEvent('capture.begin', 1, { boot: 'boot-a' }));
  await ag.next('ack');
  lastOffset = (await lo.next('recording.begin')).offset;
});

test('kill -9 mid-meeting, restart on the same data directory', async () => {
  const r = await s.kill9();
  eq(r.sig, 'SIGKILL', 'killed');
  s = await new Server({ dataDir: s.dataDir, port: s.port }).start();
  olga.s = s; alice.s = s;
  assert(/recovery: closed 2 attendance row/.test(s.log), 'open rows closed at the last alive tick: ' + s.log);
});

test('every chat message is back, in order', async () => {
  const h = await olga.req('GET', `/api/meetings/${code}/chat?limit=200`);
  eq(h.status, 200, 'session cookie survived the restart');
  eq(h.json.chat.length, N, 'count'); eq(h.json.more, false, 'no more');
  for (let i = 0; i < N; i++) eq(h.json.chat[i].text, `message ${i}`, `message ${i}`);
});

test('attendance rows: both of alice\'s sessions, closed, durations add up', async () => {
  const a = (await olga.req('GET', `/api/meetings/${code}/attendance`)).json.attendance;
  const al = a.find((x) => x.user_id === alice.user.id);
  eq(al.joins, 2, 'two joins');
  eq(al.sessions.length, 2, 'two rows');
  assert(al.sessions.every((x) => x.leave_at && x.leave_at >= x.join_at), 'all closed');
  const sum = al.sessions.reduce((t, x) => t + (x.leave_at - x.join_at), 0);
  eq(al.duration_ms, sum, 'duration is the sum of the sessions');
  eq(al.online, false, 'offline after the crash');
  assert(a.find((x) => x.user_id === olga.user.id), 'organiser attendance too');
});

test('the recording is back, still ongoing, and flags alice when she returns', async () => {
  const rec = (await olga.req('GET', `/api/meetings/${code}/recordings`)).json.recordings;
  eq(rec.length, 1, 'one recording'); eq(rec[0].end_at, null, 'ongoing'); eq(rec[0].program, 'ffmpeg', 'program');
  lo = olga.lobby(code); await lo.opened;
  const snap = await lo.next('lobby');
  assert(snap.offset >= lastOffset, `offset continues (${snap.offset} >= ${lastOffset})`);
  eq(snap.chat.map((m) => m.text), Array.from({ length: 50 }, (_, i) => `message ${N - 50 + i}`), 'the newest 50 lines in the snapshot');
  eq(snap.chat_more, true, 'older ones paged over HTTP');
  la = alice.lobby(code); await la.opened;
  const me = (await la.next('lobby')).attendees.find((p) => p.id === alice.user.id);
  eq(me.recording, true, 'alice still flagged');
  const j = await lo.next(arrived(alice.user.id));
  assert(j.offset > lastOffset, 'new events get new offsets');
});

test('replay after restart: ?since returns the events after an old offset', async () => {
  const x = olga.lobby(code, { since: lastOffset - 3 }); await x.opened;
  await x.next('lobby');
  const got = [await x.next(), await x.next(), await x.next()];
  eq(got.map((m) => m.offset), [lastOffset - 2, lastOffset - 1, lastOffset], 'missed events');
  await x.close();
});

test('the agent reconnects and its duplicate replay is recognised after restart', async () => {
  const ag = agent(s, token); await ag.opened;
  ag.send({ type: 'hello', v: 1, machine: 'lab-1', boot_id: 'boot-a' });
  await ag.next('welcome');
  ag.send(captureEvent('capture.begin', 1, { boot: 'boot-a' }));
  eq((await ag.next('ack')).duplicate, true, 'spooled replay dropped');
  ag.send(captureEvent('capture.end', 2, { boot: 'boot-a' }));
  await ag.next('ack');
  await lo.next('recording.end');
});

test('SIGTERM: clean stop closes attendance at the stop time', async () => {
  await s.stop();
  s = await new Server({ dataDir: s.dataDir, port: s.port }).start();
  olga.s = s;
  assert(!/recovery: closed/.test(s.log), 'nothing to recover after a clean stop');
  const a = (await olga.req('GET', `/api/meetings/${code}/attendance`)).json.attendance;
  assert(a.every((x) => x.sessions.every((r) => r.leave_at)), 'all rows closed');
});

run();
