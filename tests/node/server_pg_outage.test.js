// SPDX-License-Identifier: GPL-2.0-only
// The server on the PostgreSQL store while PostgreSQL goes away and comes
// back (started by tests/integration/server_pg.sh, which passes the store in
// SPHINX_SERVER_ARGS and the commands that stop and start its private
// cluster in SPHINX_PG_STOP and SPHINX_PG_START). With the database away: a
// chat line and an agent event are refused (store_failed naming the event,
// so the agent keeps it and resends), HTTP requests and socket upgrades of
// people signed in get 503 (never 401: nobody is signed out by an outage),
// the server stays up. Once the database is back, without a restart: the same
// event is accepted once, chat goes on at the next offset; after a restart
// every acknowledged line and the recording are there, nothing else.
'use strict';
const { execFile } = require('child_process');
const { test, run, assert, eq, sleep, Server, Client, agent, captureEvent } = require('./lib');

const BOOT = 'b00t0000-0000-4000-8000-00000000a9e5';
const show = (x) => JSON.stringify(x, (k, v) => (typeof v === 'bigint' ? String(v) : v));
let s, olga, alice, code, token, ag, lo, beat;
const stored = [];	// chat lines acknowledged

// asynchronous: the agent's heartbeats go on meanwhile (pg_ctl waits for a checkpoint)
function sh(cmd) {
  return new Promise((resolve, reject) => execFile('sh', ['-c', cmd], (err, out, errout) =>
    (err ? reject(new Error(`${cmd}: ${err.message} ${errout}`)) : resolve())));
}

async function chat(sock, text) {
  sock.send({ type: 'chat', v: 1, text });
  return sock.next((m) => (m.type === 'chat' && m.text === text) || m.type === 'error', 5000);
}

async function event(e) {
  ag.send(e);
  return ag.next((m) => (m.type === 'ack' || m.type === 'error') && m.id === e.id, 5000);
}

test('set-up on PostgreSQL: accounts, a meeting, 10 chat lines and a recording begin acknowledged', async () => {
  assert(process.env.SPHINX_PG_STOP && process.env.SPHINX_PG_START && /store=postgresql/.test(process.env.SPHINX_SERVER_ARGS || ''),
    'started by server_pg.sh (SPHINX_PG_STOP, SPHINX_PG_START, SPHINX_SERVER_ARGS with store=postgresql)');
  s = await new Server({ args: ['-o', 'agent_user_map=username'] }).start();
  olga = await new Client(s).signup('olga');
  alice = await new Client(s).signup('alice');
  code = await olga.createMeeting('Through a database restart');
  eq((await alice.join(code)).status, 200, 'alice joins');
  const e = s.admin(['enroll-machine', 'lab-pg']);
  eq(e.code, 0, 'enroll: ' + e.err);
  token = e.out;
  lo = olga.lobby(code); await lo.opened; await lo.next('lobby');
  const la = alice.lobby(code); await la.opened; await la.next('lobby');
  for (let i = 0; i < 10; i++) {
    const m = await chat(lo, `kept line ${i}`);
    eq(m.type, 'chat', `line ${i} stored: ${show(m)}`);
    stored.push(m.text);
  }
  ag = agent(s, token); await ag.opened;
  ag.send({ type: 'hello', v: 1, machine: 'lab-pg', boot_id: BOOT, agent_version: 't', layers: ['exec'], users: ['alice'] });
  await ag.next('welcome');
  // a real agent's heartbeat (every 2 s): the outage must not make the machine look silent
  beat = setInterval(() => ag.send({ type: 'heartbeat', v: 1, ts: Date.now() * 1e6 }), 1000);
  eq((await event(captureEvent('capture.begin', 1, { boot: BOOT, pid: 78 }))).type, 'ack', 'begin acknowledged');
  await lo.next('recording.begin');
});

let endEv;
test('database away: chat refused, the agent event gets store_failed naming it, an HTTP write errs', async () => {
  await sh(process.env.SPHINX_PG_STOP);
  const m = await chat(lo, 'said while the database is away');
  eq(m.type, 'error', 'chat refused: ' + show(m));
  endEv = captureEvent('capture.end', 2, { boot: BOOT, pid: 78 });
  const a = await event(endEv);
  eq([a.type, a.code, a.id], ['error', 'store_failed', endEv.id], 'refused: ' + show(a));
  // signed in all along: the database being away is a 503, never a 401 that would sign people out
  const r = await olga.req('POST', '/api/meetings', { title: 'While the database is away' });
  eq(r.status, 503, `meeting creation refused as unavailable: ${r.text}`);
  eq(r.json.error, 'unavailable', 'error code');
  const lx = olga.lobby(code);
  let st = null;
  try { await lx.opened; } catch (err) { st = err.status; }
  eq(st, 503, 'a lobby upgrade is refused as unavailable, not unauthenticated');
  const ax = agent(s, token);
  st = null;
  try { await ax.opened; } catch (err) { st = err.status; }
  eq(st, 503, 'an agent upgrade with a good token is refused as unavailable, not as a bad token');
  assert(s.alive(), 'server alive');
});

test('database back: the same event is accepted once (not a duplicate), chat goes on at the next offset', async () => {
  await sh(process.env.SPHINX_PG_START);
  let a;
  const t0 = Date.now();
  // the server reconnects at its next try (backoff from 100 ms, doubling, at most 5 s); an agent resends so too
  for (let i = 0; i < 80; i++) {
    a = await event(endEv);
    if (a.type === 'ack') break;
    await sleep(250);
  }
  console.log(`# the resent event was acknowledged ${Date.now() - t0} ms after PostgreSQL was up`);
  eq(a.type, 'ack', 'the resent end is acknowledged: ' + show(a));
  assert(!a.duplicate, 'not taken for a duplicate (the refused attempts left no trace)');
  const e = await lo.next('recording.end');
  assert(e.recording.end_at, 'the lobby learns the end');
  eq((await event(endEv)).duplicate, true, 'sent once more: a duplicate');
  await lo.none('recording.end');
  const m = await chat(lo, 'after the database came back');
  eq(m.type, 'chat', 'stored: ' + show(m));
  eq(String(m.offset), String(BigInt(e.offset) + 1n), 'the next offset: no gap left by the refused writes');
  stored.push(m.text);
  clearInterval(beat);
  await ag.close();
});

test('restart: every acknowledged line and the recording are there, nothing else', async () => {
  await s.stop();
  s = await new Server({ args: ['-o', 'agent_user_map=username'] }).start();
  olga.s = s;
  eq((await olga.login('olga')).status, 200, 'sign in');
  const c = await olga.req('GET', `/api/meetings/${code}/chat?limit=200`);
  eq(c.status, 200, 'chat readable');
  eq(c.json.chat.filter((x) => x.kind === 'user').map((x) => x.text), stored, 'exactly the acknowledged lines, in order');
  const r = await olga.req('GET', `/api/meetings/${code}/recordings`);
  eq(r.json.recordings.length, 1, 'one recording');
  assert(r.json.recordings[0].end_at, 'with its end');
  await s.stop();
});

run();
