// SPDX-License-Identifier: GPL-2.0-only
// The JSON shapes the API and the lobby send for what the store holds
// (meetings, people, bans, attendance, recordings, chat, machines,
// monitoring, snapshots, presence) stay what they were: every key, its
// place in its object, its JSON type, and the values of the enumerations.
// tests/node/server_shapes.golden.json was recorded from the server before
// the store returned typed rows (SHAPES_RECORD=1 rewrites it: do that only
// for an intended change of the wire format, and say so in docs/api.md).
'use strict';
const fs = require('fs');
const path = require('path');
const { test, run, eq, Server, Client, agent, captureEvent } = require('./lib');

const GOLDEN = path.join(__dirname, 'server_shapes.golden.json');
const BOOT = 'b00t0000-0000-4000-8000-000000000001';
const ENUMS = new Set(['type', 'kind', 'role', 'join', 'reason', 'monitor_reason', 'offline_reason', 'layer', 'lobby']);
const arrived = (id) => (m) => m.type === 'presence' && m.joined.some((u) => u.id === id);

// A value's shape: objects keep their keys in order, arrays their items;
// a leaf becomes its JSON type, except booleans and enumerations, whose
// values are part of the contract. Meeting codes vary from run to run.
function shape(v, key) {
  if (v === null) return null;
  if (Array.isArray(v)) return v.map((x) => shape(x));
  if (typeof v === 'object') {
    const o = {};
    for (const k of Object.keys(v)) if (k !== '__recv' && k !== '__seq') o[k] = shape(v[k], k);  // the test library's own bookkeeping
    return o;
  }
  if (typeof v === 'boolean') return v;
  if (typeof v === 'string' && ENUMS.has(key)) return v.replace(/[a-z]{3}-[a-z]{4}-[a-z]{3}/, '<code>');
  return typeof v;
}

const seen = {};
function record(name, v) { seen[name] = shape(v); }

let s, olga, alice, bob, admin, code, lo, la, ag;

test('a meeting with people, a ban, an ended meeting, a machine, recordings and chat', async () => {
  s = await new Server().start();
  olga = await new Client(s).signup('olga');
  alice = await new Client(s).signup('alice');
  bob = await new Client(s).signup('bob');
  const past = await olga.createMeeting('Ended', 'https://meet.example.org/abc');
  eq((await olga.req('POST', `/api/meetings/${past}/end`)).status, 200, 'end');
  const created = await olga.req('POST', '/api/meetings', { title: 'Shapes' });
  eq(created.status, 201, 'create');
  record('POST /api/meetings', created.json);
  code = created.json.code;
  const joined = await alice.join(code);
  eq(joined.status, 200, 'alice joins');
  record('POST /api/meetings/join', joined.json);
  eq((await bob.join(code)).status, 200, 'bob joins');
  eq((await olga.req('POST', `/api/meetings/${code}/bans`, { user_id: bob.user.id, reason: 'noise' })).status, 200, 'ban');
  lo = olga.lobby(code); await lo.opened; await lo.next('lobby');
  la = alice.lobby(code); await la.opened; record('snapshot (attendee)', await la.next('lobby'));
  record('presence (joined)', await lo.next(arrived(alice.user.id)));

  const out = s.admin(['add-user', 'root-admin', '--email', 'admin@example.org', '--admin'], 'admin-password\n');
  eq(out.code, 0, 'add-user: ' + out.err);
  admin = new Client(s);
  eq((await admin.login('root-admin', 'admin-password')).status, 200, 'admin login');
  eq((await admin.req('POST', '/api/admin/machines', { name: 'lab-idle' })).status, 201, 'second machine');
  const token = s.admin(['enroll-machine', 'lab-1']).out;
  ag = agent(s, token); await ag.opened;
  ag.send({ type: 'hello', v: 1, machine: 'lab-1', boot_id: BOOT, agent_version: '0.1.0', layers: ['exec'], users: ['alice'] });
  await ag.next('welcome');
  record('monitor event', await lo.next('monitor'));
  record('chat event (system notice)', await lo.next('chat'));
  ag.send(captureEvent('capture.begin', 1));
  eq((await ag.next('ack')).id, `${BOOT}:1`, 'begin stored');
  record('recording.begin event', await lo.next('recording.begin'));
  ag.send(captureEvent('capture.begin', 2, { pid: 5000, extra: { api: 'XGetImage', target: 'root', attempt: false } }));
  await ag.next('ack'); await lo.next('recording.begin');
  ag.send(captureEvent('capture.end', 3, { pid: 5000 }));
  await ag.next('ack');
  record('recording.end event', await lo.next('recording.end'));
  la.send({ type: 'chat', v: 1, text: 'hello', cid: 'c-1' });
  record('chat event (user)', await lo.next((m) => m.type === 'chat' && m.kind === 'user'));
});

test('API answers keep their shapes', async () => {
  const get = async (c, p) => { const r = await c.req('GET', p); eq(r.status, 200, p); return r.json; };
  record('GET /api/me', await get(olga, '/api/me'));
  record('GET /api/me (admin)', await get(admin, '/api/me'));
  record('GET /api/meetings', await get(olga, '/api/meetings'));
  record('GET /api/meetings/{code} (organiser)', await get(olga, `/api/meetings/${code}`));
  record('GET /api/meetings/{code} (attendee)', await get(alice, `/api/meetings/${code}`));
  record('GET attendance', await get(olga, `/api/meetings/${code}/attendance`));
  record('GET recordings', await get(olga, `/api/meetings/${code}/recordings`));
  record('GET monitoring', await get(olga, `/api/meetings/${code}/monitoring`));
  record('GET people (organiser, paged)', await get(olga, `/api/meetings/${code}/people?limit=1`));
  record('GET people (attendee)', await get(alice, `/api/meetings/${code}/people`));
  record('GET chat (organiser)', await get(olga, `/api/meetings/${code}/chat`));
  record('GET chat (attendee)', await get(alice, `/api/meetings/${code}/chat`));
  record('GET /api/admin/machines', await get(admin, '/api/admin/machines'));
  const cli = s.admin(['list-machines']);
  eq(cli.code, 0, 'list-machines: ' + cli.err);
  record('sphinx-server list-machines', JSON.parse(cli.out));
});

test('lobby snapshots keep their shapes', async () => {
  // a new chat line makes the cached parts stale: these snapshots are built now, with the recordings in them
  const o2 = olga.lobby(code); await o2.opened;
  record('snapshot (organiser)', await o2.next('lobby'));
  const a2 = alice.lobby(code); await a2.opened;
  record('snapshot (attendee, recording)', await a2.next('lobby'));
  await o2.close(); await a2.close();
});

test('every shape is the recorded one', async () => {
  if (process.env.SHAPES_RECORD) {
    fs.writeFileSync(GOLDEN, JSON.stringify(seen, null, 1) + '\n');
    return;
  }
  const want = JSON.parse(fs.readFileSync(GOLDEN, 'utf8'));
  eq(Object.keys(seen), Object.keys(want), 'the same messages');
  for (const k of Object.keys(want)) eq(seen[k], want[k], k);
});

run();
