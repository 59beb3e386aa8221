// SPDX-License-Identifier: GPL-2.0-only
// The server's data directory on a small tmpfs that fills up (started by
// tests/integration/server_disk_full.sh, which mounts it and passes its path
// in SPHINX_DISK). With the disk full: a chat line and an agent event are
// refused with a clear error (the event with store_failed naming its id, so
// the agent resends), an HTTP write answers an error, the log says the disk
// is full, and the server keeps serving reads. Once space is back: the same
// event is accepted, chat works again at the next offset, and after a
// restart on the same directory everything acknowledged before the disk
// filled is still there.
'use strict';
const fs = require('fs');
const path = require('path');
const { test, run, assert, eq, sleep, Server, Client, agent, captureEvent } = require('./lib');

const DISK = process.env.SPHINX_DISK;
const DATA = DISK && path.join(DISK, 'data');
const FILLER = DISK && path.join(DISK, 'filler');
const BOOT = 'b00t0000-0000-4000-8000-0000000d15c0';
const show = (x) => JSON.stringify(x, (k, v) => (typeof v === 'bigint' ? String(v) : v));

let s, olga, alice, code, token, ag, lo;
const stored = [];	// chat lines acknowledged before the disk filled

// Fill the filesystem: write 64 KiB blocks until ENOSPC, then single bytes.
function fill() {
  const fd = fs.openSync(FILLER, 'w');
  for (const size of [65536, 4096, 1]) {
    const b = Buffer.alloc(size, 0x5a);
    for (;;) {
      try { fs.writeSync(fd, b); } catch (e) { if (e.code === 'ENOSPC') break; throw e; }
    }
  }
  fs.closeSync(fd);
}

async function chat(sock, text) {
  sock.send({ type: 'chat', v: 1, text });
  return sock.next((m) => (m.type === 'chat' && m.text === text) || m.type === 'error', 5000);
}

async function event(e) {
  ag.send(e);
  return ag.next((m) => (m.type === 'ack' || m.type === 'error') && m.id === e.id, 5000);
}

test('set-up on the small disk: accounts, a meeting, 20 chat lines and a recording begin acknowledged', async () => {
  assert(DISK && fs.existsSync(DISK), `SPHINX_DISK is a mounted directory (${DISK})`);
  fs.mkdirSync(DATA, { mode: 0o700 });
  s = await new Server({ dataDir: DATA, args: ['-o', 'agent_user_map=username'] }).start();
  olga = await new Client(s).signup('olga');
  alice = await new Client(s).signup('alice');
  code = await olga.createMeeting('Before the disk filled');
  eq((await alice.join(code)).status, 200, 'alice joins');
  const e = s.admin(['enroll-machine', 'lab-disk']);
  eq(e.code, 0, 'enroll: ' + e.err);
  token = e.out;
  lo = olga.lobby(code); await lo.opened; await lo.next('lobby');
  const la = alice.lobby(code); await la.opened; await la.next('lobby');
  for (let i = 0; i < 20; i++) {
    const m = await chat(lo, `kept line ${i}`);
    eq(m.type, 'chat', `line ${i} stored: ${show(m)}`);
    stored.push(m.text);
  }
  ag = agent(s, token); await ag.opened;
  ag.send({ type: 'hello', v: 1, machine: 'lab-disk', boot_id: BOOT, agent_version: 't', layers: ['exec'], users: ['alice'] });
  await ag.next('welcome');
  const a = await event(captureEvent('capture.begin', 1, { boot: BOOT, pid: 77 }));
  eq(a.type, 'ack', 'begin acknowledged');
  await lo.next('recording.begin');
});

let endEv;
test('disk full: a chat line is refused with an error, not acknowledged; the log names the full disk', async () => {
  fill();
  let refused = null;
  // SQLite may still fit a line or two in pages it already has: write until refused
  for (let i = 0; i < 50 && !refused; i++) {
    const m = await chat(lo, `line on a full disk ${i} ` + 'x'.repeat(3000));
    if (m.type === 'error') refused = m;
  }
  assert(refused, 'a chat line was refused within 50 tries');
  eq(refused.code, 'internal', 'error code');
  assert(/not stored/.test(refused.message), 'says the message was not stored: ' + show(refused));
  for (let i = 0; i < 60 && !/not stored/.test(s.log); i++) await sleep(50);	// the log comes through a pipe
  const why = s.log.split('\n').filter((l) => /not stored/.test(l));
  console.log(`# server log: ${why[0]}`);
  assert(/No space left on device|disk is full/i.test(why.join('\n')), 'the log line says why: ' + s.log.split('\n').slice(-8).join(' | '));
  assert(s.alive(), 'server alive');
});

test('disk full: an agent event gets store_failed naming its id (the agent keeps it and resends)', async () => {
  endEv = captureEvent('capture.end', 2, { boot: BOOT, pid: 77, extra: { argv: ['ffmpeg', 'y'.repeat(12000)] } });
  const m = await event(endEv);
  eq([m.type, m.code, m.id], ['error', 'store_failed', endEv.id], 'refused: ' + show(m));
  assert(/send it again/.test(m.message), 'tells the agent to resend: ' + m.message);
});

test('disk full: an HTTP write answers an error, reads still work', async () => {
  const r = await olga.req('POST', '/api/meetings', { title: 'On a full disk ' + 'z'.repeat(150) });
  console.log(`# POST /api/meetings on a full disk: ${r.status} ${r.text}`);
  assert(r.status >= 500 && r.json && r.json.error, `meeting creation refused with a JSON error: ${r.status} ${r.text}`);
  const c = await olga.req('GET', `/api/meetings/${code}/chat?limit=200`);
  eq(c.status, 200, 'chat readable');
  assert(s.alive(), 'server alive');
});

test('space back: the same agent event is accepted, chat works at the next offset', async () => {
  fs.unlinkSync(FILLER);
  const a = await event(endEv);
  eq(a.type, 'ack', 'the resent end is acknowledged: ' + show(a));
  assert(!a.duplicate, 'not taken for a duplicate (the refused attempt left no trace)');
  const e = await lo.next('recording.end');
  assert(e.recording.end_at, 'the lobby learns the end');
  const before = e.offset;
  const m = await chat(lo, 'after the disk was freed');
  eq(m.type, 'chat', 'stored: ' + show(m));
  assert(m.offset > before, `offsets go on (${before} then ${m.offset})`);
  stored.push(m.text);
});

test('restart on the same directory: every acknowledged line and the recording are there, nothing else', async () => {
  await s.stop();
  s = await new Server({ dataDir: DATA, args: ['-o', 'agent_user_map=username'] }).start();
  olga.s = s;
  eq((await olga.login('olga')).status, 200, 'sign in');
  const c = await olga.req('GET', `/api/meetings/${code}/chat?limit=200`);
  eq(c.status, 200, 'chat readable');
  const texts = c.json.chat.filter((x) => x.kind === 'user').map((x) => x.text);
  eq(texts, stored, 'exactly the acknowledged lines, in order');
  const r = await olga.req('GET', `/api/meetings/${code}/recordings`);
  eq(r.json.recordings.length, 1, 'one recording');
  assert(r.json.recordings[0].end_at, 'with its end');
  await s.stop();
});

run();
