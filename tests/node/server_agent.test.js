// SPDX-License-Identifier: GPL-2.0-only
// Agent WebSocket: enrollment tokens, hello/welcome, heartbeats, capture
// events stored once (duplicates acknowledged, not repeated), user mapping,
// live lobby alerts, "recording before the meeting", stale recordings after
// a reboot, hostile input.
'use strict';
const { test, run, assert, eq, sleep, Server, Client, agent, captureEvent } = require('./lib');
// Arrivals and departures come in coalesced presence events (one per lobby per tick).
const arrived = (id) => (m) => m.type === 'presence' && m.joined.some((u) => u.id === id);
const departed = (id) => (m) => m.type === 'presence' && m.left.includes(id);

let s, olga, alice, code, token, ag, lo, la;
const BOOT = 'b00t0000-0000-4000-8000-000000000001';

test('setup: users, a meeting with both in the lobby, an enrolled machine', async () => {
  s = await new Server().start();
  olga = await new Client(s).signup('olga');
  alice = await new Client(s).signup('alice');
  code = await olga.createMeeting('Exam');
  await alice.join(code);
  const e = s.admin(['enroll-machine', 'lab-12']);
  eq(e.code, 0, 'enroll: ' + e.err);
  token = e.out;
  lo = olga.lobby(code); await lo.opened; await lo.next('lobby');
  la = alice.lobby(code); await la.opened; await la.next('lobby');
  await lo.next(arrived(alice.user.id));
});

async function refused(sock, status) {
  try { await sock.opened; } catch (e) { eq(e.status, status, 'status'); return e; }
  throw new Error('accepted');
}

test('no token, wrong token, revoked token: 401 before the upgrade', async () => {
  let e = await refused(agent(s, null), 401);
  assert(/Bearer/.test(e.body), 'names the header: ' + e.body);
  await refused(agent(s, 'x'.repeat(43)), 401);
  const t2 = s.admin(['enroll-machine', 'lab-gone']).out;
  const ok = agent(s, t2); await ok.opened; await ok.close();
  eq(s.admin(['revoke-machine', 'lab-gone']).code, 0, 'revoke');
  await refused(agent(s, t2), 401);
  assert(/unknown or revoked enrollment token/.test(s.log), 'refusal logged');
});

test('hello first; welcome names the machine; connect is logged', async () => {
  ag = agent(s, token); await ag.opened;
  ag.send(captureEvent('capture.begin', 1));
  eq((await ag.next('error')).code, 'hello_required', 'event before hello refused');
  ag.send({ type: 'hello', machine: 'lab-12', boot_id: BOOT });
  eq((await ag.next('error')).code, 'unsupported_version', 'v required');
  ag.send({ type: 'hello', v: 1, machine: 'lab-12', boot_id: BOOT, agent_version: '0.1.0', layers: ['exec', 'device', 'api'] });
  const w = await ag.next('welcome');
  assert(Number.isInteger(w.machine_id), 'machine id'); eq(w.heartbeat_s, 2, 'heartbeat'); eq(w.machine, 'lab-12', 'name');
  ag.send({ type: 'heartbeat', v: 1, ts: Date.now() * 1e6 });
  await ag.none('error');
  assert(/agent: machine 'lab-12' \(id \d+\) connected/.test(s.log), 'connect logged');
});

test('capture.begin: acked after storing, alert in every lobby the user is in', async () => {
  const ev = captureEvent('capture.begin', 2);
  ag.send(ev);
  eq((await ag.next('ack')).id, ev.id, 'ack');
  const r1 = await lo.next('recording.begin');
  eq(r1.recording.user_id, alice.user.id, 'user mapped by username');
  eq(r1.recording.program, 'ffmpeg', 'program'); eq(r1.recording.rule_id, 'sphinx.exec.ffmpeg-x11grab', 'signature');
  eq(r1.recording.kind, 'recording', 'kind');
  assert(!('argv' in r1.recording), 'argv not broadcast');
  const r2 = await la.next('recording.begin');
  eq(r2.offset, r1.offset, 'same event for everyone');
  const rec = await olga.req('GET', `/api/meetings/${code}/recordings`);
  eq(rec.json.recordings.length, 1, 'in the log');
  eq(rec.json.recordings[0].argv, ev.argv, 'argv kept for organisers');
  eq(rec.json.recordings[0].machine, 'lab-12', 'machine');
  eq(rec.json.recordings[0].end_at, null, 'ongoing');
  eq((await alice.req('GET', `/api/meetings/${code}/recordings`)).status, 403, 'attendee 403');
});

test('duplicate event id: acked as duplicate, stored and broadcast once', async () => {
  const ev = captureEvent('capture.begin', 2);
  ag.send(ev);
  const a = await ag.next('ack');
  eq(a.duplicate, true, 'duplicate flag');
  await lo.none('recording.begin');
  eq((await olga.req('GET', `/api/meetings/${code}/recordings`)).json.recordings.length, 1, 'still one');
});

test('snapshot shows the recording flag for a user recording now', async () => {
  const x = olga.lobby(code); await x.opened;
  const snap = await x.next('lobby');
  const a = snap.attendees.find((p) => p.id === alice.user.id);
  eq(a.recording, true, 'flagged'); eq(a.recordings[0].program, 'ffmpeg', 'which program');
  await x.close();
});

test('capture.end: recording closed with duration; lobbies told', async () => {
  const ev = captureEvent('capture.end', 3);
  ag.send(ev);
  eq((await ag.next('ack')).id, ev.id, 'ack');
  const e = await lo.next('recording.end');
  eq(e.recording.duration_ms, 3012, 'duration'); assert(e.recording.end_at, 'end time');
  await la.next('recording.end');
  const rec = await olga.req('GET', `/api/meetings/${code}/recordings`);
  eq(rec.json.recordings.length, 1, 'one recording'); assert(rec.json.recordings[0].end_at, 'ended');
  eq(rec.json.recordings[0].calls, 91, 'calls');
});

test('recording before the meeting: flagged the moment the user joins a lobby', async () => {
  const code2 = await olga.createMeeting('Later meeting');
  await alice.join(code2);
  const o2 = olga.lobby(code2); await o2.opened; await o2.next('lobby');
  ag.send(captureEvent('capture.begin', 4, { pid: 5151, extra: { comm: 'obs', kind: 'recording' } }));
  await ag.next('ack');
  await la.next('recording.begin'); // alice is in the first lobby
  eq((await lo.next('recording.begin')).recording.program, 'obs', 'first lobby alerted');
  await o2.none('recording.begin'); // not yet in the second
  const a2 = alice.lobby(code2); await a2.opened;
  const snap = await a2.next('lobby');
  eq(snap.attendees.find((p) => p.id === alice.user.id).recording, true, 'own snapshot flagged');
  await o2.next(arrived(alice.user.id));
  const rb = await o2.next('recording.begin');
  eq(rb.recording.program, 'obs', 'flag on join'); eq(rb.before_join, true, 'marked as before joining');
  const rec = await olga.req('GET', `/api/meetings/${code2}/recordings`);
  eq(rec.json.recordings.length, 1, 'linked to the second meeting');
  await a2.close(); await o2.close();
});

test('unmapped local user: stored and acked, no lobby alert, warning logged', async () => {
  const ev = captureEvent('capture.begin', 5, { user: 'nobody', pid: 777 });
  ag.send(ev);
  eq((await ag.next('ack')).id, ev.id, 'acked');
  await lo.none('recording.begin');
  assert(/matches no account/.test(s.log), 'warned');
});

test('screenshot kind and hostile fields', async () => {
  const shot = captureEvent('capture.begin', 6, { pid: 888, extra: { kind: 'screenshot', comm: 'scrot' } });
  ag.send(shot);
  await ag.next('ack');
  eq((await lo.next('recording.begin')).recording.kind, 'screenshot', 'screenshot');
  const bad = [
    [Object.assign(captureEvent('capture.begin', 7), { id: undefined }), 'missing id'],
    [Object.assign(captureEvent('capture.begin', 8), { kind: 'movie' }), 'bad kind'],
    [Object.assign(captureEvent('capture.begin', 9), { ts: 'yesterday' }), 'bad ts'],
    [Object.assign(captureEvent('capture.begin', 10), { rule: 'x' }), 'bad rule'],
    [Object.assign(captureEvent('capture.begin', 11), { argv: 'ffmpeg' }), 'bad argv'],
    [Object.assign(captureEvent('capture.begin', 12), { id: 'x'.repeat(300) }), 'id too long'],
  ];
  for (const [ev, what] of bad) {
    ag.send(ev);
    eq((await ag.next('error')).code, 'bad_message', what);
  }
  const long = captureEvent('capture.begin', 13, { pid: 999, extra: { argv: Array.from({ length: 3000 }, (_, i) => 'arg' + i),
    api: 'XShmGetImage', target: 'root', attempt: false, action: 'alert', kind: 'auto' } });
  ag.send(long);
  eq((await ag.next('ack')).id, long.id, 'long argv accepted (cut), kind auto counted as a recording');
  const rb = await lo.next('recording.begin');
  eq(rb.recording.kind, 'recording', 'auto -> recording');
  const stored = (await olga.req('GET', `/api/meetings/${code}/recordings`)).json.recordings.find((r) => r.id === rb.recording.id);
  eq(stored.argv[stored.argv.length - 1], '[argv truncated]', 'argv cut');
  eq(stored.detail, { api: 'XShmGetImage', target: 'root', action: 'alert', attempt: false }, 'agent detail kept');
  ag.send(Object.assign(captureEvent('capture.begin', 14), { kind: 'movie' }));
  eq((await ag.next('error')).id, captureEvent('capture.begin', 14).id, 'bad_message names the id so the agent can drop it');
  ag.send('{"type":');
  eq((await ag.next('error')).code, 'bad_json', 'bad json');
  ag.send({ type: 'capture.middle', v: 1 });
  eq((await ag.next('error')).code, 'unknown_type', 'unknown type');
  ag.send(JSON.stringify({ type: 'heartbeat', v: 1, pad: 'p'.repeat(70000) }));
  eq((await ag.closed).code, 1009, 'oversize closes 1009');
  assert(s.alive(), 'server alive');
});

test('new boot: recordings left open by the old boot are closed and lobbies told', async () => {
  ag = agent(s, token); await ag.opened;
  ag.send({ type: 'hello', v: 1, machine: 'lab-12', boot_id: 'b00t0000-0000-4000-8000-000000000002' });
  await ag.next('welcome');
  const e = await lo.next('recording.end');
  assert(['obs', 'scrot'].includes(e.recording.program), 'stale recording ended: ' + e.recording.program);
  const rec = await olga.req('GET', `/api/meetings/${code}/recordings`);
  assert(rec.json.recordings.every((r) => r.end_at), 'nothing left ongoing');
  await ag.close();
});

test('capture.end reaches every meeting that showed the begin, even with no lobby open (spool replay after a restart)', async () => {
  const s3 = await new Server().start();
  const o = await new Client(s3).signup('olga');
  const a = await new Client(s3).signup('alice');
  const k = await o.createMeeting('Restarted');
  await a.join(k);
  let ol = o.lobby(k); await ol.opened; await ol.next('lobby');
  const al = a.lobby(k); await al.opened; await al.next('lobby');
  await ol.next(arrived(a.user.id));
  const t = s3.admin(['enroll-machine', 'pc-9']).out;
  let g = agent(s3, t); await g.opened;
  g.send({ type: 'hello', v: 1, boot_id: BOOT, users: ['alice'] }); await g.next('welcome');
  g.send(captureEvent('capture.begin', 1)); await g.next('ack');
  const b = await ol.next('recording.begin');
  await al.close(); await ol.next(departed(a.user.id));
  // the attendee has left: the end still reaches the meeting
  g.send(captureEvent('capture.end', 2)); await g.next('ack');
  eq((await ol.next('recording.end')).recording.id, b.recording.id, 'end without the attendee present');
  // nobody at all in the lobby, the server restarted: the replayed end is stored in the meeting once
  const al2 = a.lobby(k); await al2.opened; await al2.next('lobby');
  g.send(captureEvent('capture.begin', 3, { pid: 5000 })); await g.next('ack');
  const b2 = await ol.next('recording.begin');
  await al2.close();
  const last = (await ol.next(departed(a.user.id))).offset;
  await ol.close(); await g.close();
  await s3.stop(); s3.proc = null;
  const s4 = await new Server({ dataDir: s3.dataDir, port: s3.port }).start();
  g = agent(s4, t); await g.opened;
  g.send({ type: 'hello', v: 1, boot_id: BOOT, users: ['alice'] }); await g.next('welcome');
  const end = captureEvent('capture.end', 4, { pid: 5000 });
  g.send(end); await g.next('ack');
  g.send(end); eq((await g.next('ack')).duplicate, true, 'replayed twice: a duplicate');
  ol = o.lobby(k, { since: last }); await ol.opened; await ol.next('lobby'); await ol.next('synced');
  const ends = ol.msgs.filter((m) => m.type === 'recording.end');
  eq(ends.map((m) => m.recording.id), [b2.recording.id], 'exactly one end, from the store');
  await ol.close(); s4.kill9();
});

test('agent_user_map = email@DOMAIN maps local users by e-mail', async () => {
  const s2 = await new Server({ args: ['-o', 'agent_user_map=email@corp.example'] }).start();
  const o = await new Client(s2).signup('organiser');
  const c = await new Client(s2).signup('carol.x', { email: 'carol@corp.example' });
  const k = await o.createMeeting('Mapped');
  await c.join(k);
  const l = o.lobby(k); await l.opened; await l.next('lobby');
  const cl = c.lobby(k); await cl.opened; await cl.next('lobby');
  const t = s2.admin(['enroll-machine', 'pc-1']).out;
  const a = agent(s2, t); await a.opened;
  a.send({ type: 'hello', v: 1, machine: 'pc-1', boot_id: BOOT });
  await a.next('welcome');
  a.send(captureEvent('capture.begin', 1, { user: 'carol' }));
  await a.next('ack');
  eq((await l.next('recording.begin')).recording.user_id, c.user.id, 'carol@corp.example matched');
  // an agent that maps names itself (user_map = email@corp.example) sends the e-mail
  a.send({ type: 'users', v: 1, users: ['carol@corp.example'] });
  eq((await l.next('monitor')).user.id, c.user.id, 'an e-mail is taken as the account e-mail');
  a.send(captureEvent('capture.begin', 2, { user: 'carol@corp.example', pid: 99 }));
  await a.next('ack');
  eq((await l.next('recording.begin')).recording.user_id, c.user.id, 'in events too');
  s2.kill9();
});

run();
