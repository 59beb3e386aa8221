// SPDX-License-Identifier: GPL-2.0-only
// Server paths no other file covers: a banned user's agent events, a
// capture.end whose begin never arrived, and web sessions that expire
// (idle and maximum age). What "should happen" is read from the docs:
//   - protocol.md: a capture goes to every lobby its user has open, and its
//     end to every meeting that showed its begin; api.md: a recording belongs
//     to a meeting when it ran while its user had the meeting's lobby open.
//     A ban closes the user's lobby sockets (4003) and refuses new ones, so a
//     banned user's later captures are stored and acknowledged, shown in the
//     other meetings they attend, and never in the meeting that banned them;
//     a capture shown before the ban still gets its end there.
//   - protocol.md: "an end whose begin never arrived creates the recording
//     with start = ts - duration_ms".
//   - server.md: session_idle / session_max; api.md: 401 unauthenticated
//     without a valid session, the lobby upgrade is refused with HTTP 401.
// Absence is checked with a marker: the organiser's own chat line, sent
// after the event was acknowledged, arrives on the same socket after any
// lobby event the event caused.
'use strict';
const { test, run, assert, eq, sleep, Server, Client, agent, captureEvent } = require('./lib');

const BOOT = 'b00t0000-0000-4000-8000-00000000ba17';
let s, olga, olgb, alice, codeA, codeB, ag, loA, loB, la, lb, seq = 0;
const ev = (type, pid, extra = {}) => captureEvent(type, ++seq, { boot: BOOT, pid, extra });
const show = (x) => JSON.stringify(x, (k, v) => (typeof v === 'bigint' ? String(v) : v));
const arrived = (id) => (m) => m.type === 'presence' && m.joined.some((u) => u.id === id);

// Send a chat marker on the organiser's socket `sock`; once it is back,
// return the messages that came before it (still unread) matching pred.
let markers = 0;
async function beforeMarker(sock, pred) {
  const text = `marker ${++markers}`;
  sock.send({ type: 'chat', v: 1, text });
  await sock.next((m) => m.type === 'chat' && m.text === text);
  return sock.msgs.filter(pred);
}

async function send(sockAgent, e) {
  sockAgent.send(e);
  const a = await sockAgent.next((m) => (m.type === 'ack' || m.type === 'error') && m.id === e.id);
  eq(a.type, 'ack', `event ${e.id} acknowledged: ${show(a)}`);
  return a;
}

test('setup: meetings A and B (two organisers), alice attends both with both lobbies open, her machine says hello', async () => {
  s = await new Server({ args: ['-o', 'agent_user_map=username'] }).start();
  olga = await new Client(s).signup('olga');
  olgb = await new Client(s).signup('olgb');
  alice = await new Client(s).signup('alice');
  codeA = await olga.createMeeting('A: the one that bans');
  codeB = await olgb.createMeeting('B: the other one');
  eq((await alice.join(codeA)).status, 200, 'alice joins A');
  eq((await alice.join(codeB)).status, 200, 'alice joins B');
  loA = olga.lobby(codeA); await loA.opened; await loA.next('lobby');
  loB = olgb.lobby(codeB); await loB.opened; await loB.next('lobby');
  la = alice.lobby(codeA); await la.opened; await la.next('lobby');
  lb = alice.lobby(codeB); await lb.opened; await lb.next('lobby');
  await loA.next(arrived(alice.user.id));
  await loB.next(arrived(alice.user.id));
  const e = s.admin(['enroll-machine', 'lab-ban']);
  eq(e.code, 0, 'enroll: ' + e.err);
  ag = agent(s, e.out); await ag.opened;
  ag.send({ type: 'hello', v: 1, machine: 'lab-ban', boot_id: BOOT, agent_version: 't', layers: ['exec'], users: ['alice'] });
  await ag.next('welcome');
  // a real agent's heartbeat, so that the machine never goes silent (4408)
  const hb = setInterval(() => ag.send({ type: 'heartbeat', v: 1, ts: Date.now() * 1e6 }), 1000);
  ag.closed.then(() => clearInterval(hb));
  hb.unref();
});

let recBefore;
test('banned during a recording: her lobby socket closes 4003, the recording still ends in the meeting that banned her', async () => {
  await send(ag, ev('capture.begin', 101));
  recBefore = (await loA.next('recording.begin')).recording;
  await loB.next('recording.begin');
  loA.send({ type: 'ban', v: 1, user: alice.user.id, reason: 'recording the exam' });
  await loA.next((m) => m.type === 'ban' && m.user.id === alice.user.id);
  eq((await la.closed).code, 4003, 'her lobby socket in A closed with 4003');
  await send(ag, ev('capture.end', 101));
  const endA = await loA.next('recording.end');
  eq(endA.recording.id, recBefore.id, 'A is told the end of the recording it showed');
  assert(endA.recording.end_at && endA.recording.duration_ms === 3012, 'with its end: ' + show(endA.recording));
  eq((await loB.next('recording.end')).recording.id, recBefore.id, 'B too');
});

test('banned user\'s next capture: acknowledged and stored, alerts the other meeting, not the one that banned her', async () => {
  const b = ev('capture.begin', 202);
  await send(ag, b);
  const inB = await loB.next('recording.begin');
  eq(inB.recording.user_id, alice.user.id, 'B\'s organiser sees alice recording');
  eq(inB.recording.program, 'ffmpeg', 'names the program');
  const leaked = await beforeMarker(loA, (m) => /^recording\./.test(m.type));
  eq(leaked.map((m) => m.type), [], 'no recording event in A before the marker');
  await send(ag, ev('capture.end', 202));
  await loB.next('recording.end');
  eq((await beforeMarker(loA, (m) => /^recording\./.test(m.type))).map((m) => m.type), [], 'nor its end');
  const logA = await olga.req('GET', `/api/meetings/${codeA}/recordings`);
  eq(logA.status, 200, 'A\'s log readable');
  eq(logA.json.recordings.map((r) => r.id), [recBefore.id], 'A\'s log: only the recording from before the ban, with its end');
  assert(logA.json.recordings[0].end_at, 'ended');
  const logB = await olgb.req('GET', `/api/meetings/${codeB}/recordings`);
  eq(logB.json.recordings.length, 2, 'B\'s log has both');
});

test('a banned user cannot bring her recordings back into the meeting: the lobby upgrade is refused (4003) and a new capture still does not reach A', async () => {
  const x = alice.lobby(codeA);
  await x.opened.catch(() => {});
  const c = await x.closed;
  eq(c.code, 4003, 'lobby refused with 4003 "banned"');
  await send(ag, ev('capture.begin', 303));
  await loB.next('recording.begin');
  eq((await beforeMarker(loA, (m) => /^recording\./.test(m.type))).map((m) => m.type), [], 'no recording event in A');
  await send(ag, ev('capture.end', 303));
  await loB.next('recording.end');
});

test('capture.end without its begin: acknowledged, one recording with start = ts - duration_ms, the lobby told once, never shown as recording', async () => {
  const ts = Date.now() * 1e6;
  const e = ev('capture.end', 404, { ts, duration_ms: 5000, calls: 77 });
  await send(ag, e);
  const m = await loB.next('recording.end');
  eq(m.recording.user_id, alice.user.id, 'names alice');
  eq(m.recording.duration_ms, 5000, 'duration');
  eq(m.recording.end_at - m.recording.start_at, 5000, `start = end - duration (${m.recording.start_at} .. ${m.recording.end_at})`);
  assert(Math.abs(m.recording.end_at - Math.round(ts / 1e6)) <= 1, `end at ts (${m.recording.end_at} vs ${ts / 1e6})`);
  eq((await beforeMarker(loB, (x) => x.type === 'recording.begin')).length, 0, 'no begin invented for it');
  // the same end again (a spool replay) is a duplicate: no second row, no second event
  const d = await send(ag, e);
  eq(d.duplicate, true, 'replayed end acknowledged as a duplicate');
  eq((await beforeMarker(loB, (x) => /^recording\./.test(x.type))).length, 0, 'no event for the duplicate');
  const log = (await olgb.req('GET', `/api/meetings/${codeB}/recordings`)).json.recordings.filter((r) => r.id === m.recording.id);
  eq(log.length, 1, 'one row');
  eq([log[0].end_at - log[0].start_at, log[0].calls], [5000, 77], 'stored with its span and calls');
  const snap = alice.lobby(codeB, {});
  await snap.opened;
  const l = await snap.next('lobby');
  const me = l.attendees.find((a) => a.id === alice.user.id);
  assert(me && !me.recording, 'not shown as recording now: ' + show(me));
  await snap.close();
});

test('capture.end without begin for a user with no lobby open: stored, acknowledged, nobody told', async () => {
  await lb.close();
  await loB.next((m) => m.type === 'presence' && m.left.includes(alice.user.id), 3000);
  await send(ag, ev('capture.end', 505, { duration_ms: 1000 }));
  eq((await beforeMarker(loB, (x) => /^recording\./.test(x.type))).length, 0, 'no lobby event in B (she has no lobby open)');
  assert(s.alive(), 'server alive');
});

// ------------------------------------------------------- spool_dropped
test('hello.spool_dropped: a bad value is refused; a count is stored on the machine and logged once per increase', async () => {
  const e = s.admin(['enroll-machine', 'lab-drop']);
  const x = agent(s, e.out); await x.opened;
  const hello = (d) => x.send({ type: 'hello', v: 1, machine: 'lab-drop', boot_id: 'b00t-drop', spool_dropped: d });
  for (const bad of ['7', -1, 1.5]) {
    hello(bad);
    const m = await x.next('error');
    eq(m.code, 'bad_message', `spool_dropped ${show(bad)} refused`);
    assert(/spool_dropped/.test(m.message), 'the error names the field: ' + m.message);
  }
  const field = () => JSON.parse(s.admin(['list-machines']).out).find((m) => m.name === 'lab-drop').spool_dropped;
  eq(field(), 0, 'none before');
  hello(7); await x.next('welcome');
  eq(field(), 7, 'stored');
  hello(7); await x.next('welcome');
  hello(9); await x.next('welcome');
  eq(field(), 9, 'updated');
  // the log comes through a pipe: it may trail the welcome
  const dropLines = () => s.log.split('\n').filter((l) => /machine 'lab-drop': its spool dropped/.test(l));
  for (let i = 0; i < 60 && dropLines().length < 2; i++) await sleep(50);
  const lines = dropLines();
  eq(lines.length, 2, 'logged once per increase: ' + lines.join(' | '));
  assert(/dropped 7 more event\(s\), 7 in all/.test(lines[0]) && /dropped 2 more event\(s\), 9 in all/.test(lines[1]), lines.join(' | '));
  await x.close();
});

// ---------------------------------------------------------- slow client
test('a lobby socket that never reads is closed at the byte cap (4008); the others in the lobby get every line, in order', async () => {
  const t = await new Server({ args: ['-o', 'ws_queue_bytes=65536', '-o', 'ws_queue_max=1000000',
    '-o', 'ws_rate=100000', '-o', 'ws_burst=100000'] }).start();
  const o = await new Client(t).signup('olga');
  const r = await new Client(t).signup('reader');
  const z = await new Client(t).signup('sloth');
  const code = await o.createMeeting('Slow client');
  await r.join(code); await z.join(code);
  const lo = o.lobby(code); await lo.opened; await lo.next('lobby');
  const lr = r.lobby(code); await lr.opened; await lr.next('lobby');
  const slow = z.lobby(code);
  slow.ws.on('open', () => slow.ws._socket.pause());	// never reads again
  await slow.opened;
  await lo.next(arrived(z.user.id));
  const N = 2500, text = 'q'.repeat(3900);	// 9.8 MB to every socket: more than loopback's socket buffers hold
  for (let i = 0; i < N; i++) lo.send({ type: 'chat', v: 1, text: `${i} ${text}` });
  const got = [];
  for (let i = 0; i < N; i++) got.push(Number((await lr.next('chat', 10000)).text.split(' ')[0]));
  eq(got, [...Array(N).keys()], 'the reading attendee got all lines, in order');
  for (let i = 0; i < N; i++) await lo.next('chat', 10000);
  const m = /closing a client too slow to read \((\d+) queued messages, (\d+) bytes\)/.exec(t.log);
  assert(m, 'the server closed the slow socket: ' + t.log.split('\n').slice(-5).join(' | '));
  assert(Number(m[2]) <= 65536, `at the byte cap: ${m[0]}`);
  console.log(`# ${m[0]}`);
  const tl = Date.now();
  await lo.next((x) => x.type === 'presence' && x.left.includes(z.user.id), 6000);
  console.log(`# slow user shown as left ${Date.now() - tl} ms after the others had every line (bound 6 s: a 2 s close grace, then the presence tick)`);
  eq(t.log.match(/too slow to read/g).length, 1, 'only the slow socket was closed');
  slow.ws._socket.resume();
  const c = await slow.closed;
  assert(c.code === 4008 || c.code === 1006, `the slow client sees the close (${c.code} ${c.reason})`);
  await t.stop();
});

// ------------------------------------------------------------ sessions
test('session_idle: a session unused for longer expires: API 401, lobby upgrade 401; signing in again works', async () => {
  const t = await new Server({ args: ['-o', 'session_idle=2s'] }).start();
  const u = await new Client(t).signup('ivy');
  const code = await u.createMeeting('Idle');
  eq((await u.req('GET', '/api/me')).status, 200, 'fresh session works');
  await sleep(2600);
  const r = await u.req('GET', '/api/me');
  eq(r.status, 401, 'idle session refused');
  eq(r.json && r.json.error, 'unauthenticated', 'error code: ' + r.text);
  let status = 0;
  try { await u.lobby(code).opened; } catch (e) { status = e.status; }
  eq(status, 401, 'lobby upgrade refused with 401');
  eq((await u.req('GET', `/api/meetings/${code}`)).status, 401, 'meeting API refused');
  const l = await u.login('ivy');
  eq(l.status, 200, 'signing in again: ' + l.text);
  eq((await u.req('GET', '/api/me')).status, 200, 'new session works');
  await t.stop();
});

test('session_max: a session expires this long after sign-in, however busy; its open lobby socket is closed 4001 then', async () => {
  const t = await new Server({ args: ['-o', 'session_max=3s'] }).start();
  const u = await new Client(t).signup('max');
  const t0 = Date.now();
  const code = await u.createMeeting('Max');
  const sock = u.lobby(code); await sock.opened; await sock.next('lobby');
  let last = 200;
  while (Date.now() - t0 < 2500) {
    last = (await u.req('GET', '/api/me')).status;
    if (last !== 200) break;
    await sleep(250);
  }
  eq(last, 200, `used every 250 ms: valid for the first 2.5 s (failed after ${Date.now() - t0} ms)`);
  await sleep(3200 - (Date.now() - t0));
  eq((await u.req('GET', '/api/me')).status, 401, 'refused after session_max');
  const c = await sock.closed;
  const dt = Date.now() - t0;
  eq([c.code, c.reason], [4001, 'session expired'], 'the lobby socket is closed as signed out');
  assert(dt < 4500, `closed within 1.5 s of the expiry (${dt} ms after sign-in)`);
  for (let i = 0; i < 60 && !/lobby: session of user \d+ expired/.test(t.log); i++) await sleep(50);	// the log trails
  assert(/lobby: session of user \d+ expired/.test(t.log), 'logged');
  const c2 = await new Client(t).login('max');
  eq(c2.status, 200, 'signing in again works');
  await t.stop();
});

run();
