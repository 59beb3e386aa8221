// SPDX-License-Identifier: GPL-2.0-only
// A hostile signed-in user against meetings: guessing codes, naming strangers
// as co-organisers or ban targets to learn who they are, hoarding lobby
// sockets, crowding the agents out, and a stolen agent token speaking for
// someone else. Every test here failed on the server before these fixes.
'use strict';
const { test, run, assert, eq, Server, Client, agent } = require('./lib');

let s, olga, alice, bob, mallory, code;
const BOOT = 'b00t0000-0000-4000-8000-00000000beef';

async function refused(sock) {
  try { await sock.opened; } catch (e) { return e; }
  await sock.close();
  throw new Error('upgrade accepted');
}

// Everything the socket received before the answer to a ping sent now.
async function drain(sock) {
  sock.send({ type: 'ping', v: 1 });
  await sock.next('pong');
  return sock.msgs.splice(0);
}

async function hello(token, users, name = 'lab-1') {
  const a = agent(s, token); await a.opened;
  a.send({ type: 'hello', v: 1, machine: name, boot_id: BOOT, agent_version: 't', users });
  await a.next('welcome');
  return a;
}

test('setup: an organiser, a member, a stranger and an attacker', async () => {
  s = await new Server().start();
  olga = await new Client(s).signup('olga');
  alice = await new Client(s).signup('alice');
  bob = await new Client(s).signup('bob');
  mallory = await new Client(s).signup('mallory');
  code = await olga.createMeeting('Board meeting');
  eq((await alice.join(code)).status, 200, 'alice joins');
});

test('co-organiser: only a member; any other account is answered like one that does not exist', async () => {
  const other = await olga.req('POST', `/api/meetings/${code}/organisers`, { user_id: bob.user.id });
  const none = await olga.req('POST', `/api/meetings/${code}/organisers`, { user_id: 987654321 });
  const byMail = await olga.req('POST', `/api/meetings/${code}/organisers`, { email: 'bob@example.org' });
  eq(other.status, 404, 'a stranger cannot be named'); eq(byMail.status, 404, 'nor by e-mail');
  eq(other.text, none.text, 'same answer as for an account that does not exist');
  const bobs = await bob.req('GET', '/api/meetings');
  assert(!bobs.json.ongoing.some((m) => m.code === code), 'nothing dropped into the stranger\'s list');
  eq((await olga.req('POST', `/api/meetings/${code}/organisers`, { user_id: alice.user.id })).status, 200, 'a member can be');
});

test('ban: only members; a stranger is not named in any event', async () => {
  const mine = await mallory.createMeeting('Bait');
  const lo = mallory.lobby(mine); await lo.opened; await lo.next('lobby');
  const r = await mallory.req('POST', `/api/meetings/${mine}/bans`, { user_id: olga.user.id });
  eq(r.status, 404, 'banning a stranger is refused');
  const seen = await drain(lo);
  assert(!seen.some((m) => m.type === 'ban' || JSON.stringify(m).includes('OLGA')), 'no name leaked: ' + JSON.stringify(seen));
  lo.send({ type: 'ban', v: 1, user: olga.user.id });
  eq((await lo.next('error')).code, 'unknown_user', 'over the lobby socket too');
  await lo.close();
});

test('join: a meeting open to its organiser\'s domain refuses other domains', async () => {
  const r = await olga.req('POST', '/api/meetings', { title: 'Staff only', join: 'domain' });
  eq(r.status, 201, 'created'); eq(r.json.meeting.join, 'domain', 'policy shown');
  const eve = await new Client(s).signup('eve', { email: 'eve@elsewhere.example' });
  const e = await eve.join(r.json.code);
  eq(e.status, 403, 'other domain refused'); eq(e.json.error, 'not_invited', 'says why');
  eq((await alice.join(r.json.code)).status, 200, 'same domain joins');
  eq((await olga.req('POST', '/api/meetings', { title: 'x', join: 'everyone' })).status, 400, 'unknown policy named');
});

test('one account holds at most 64 lobby sockets across all its meetings (429 at the upgrade)', async () => {
  const codes = [await mallory.createMeeting('h1'), await mallory.createMeeting('h2'), await mallory.createMeeting('h3')];
  const socks = [];
  for (let i = 0; i < 64; i++) {
    const x = mallory.lobby(codes[Math.floor(i / 30)]);
    socks.push(x);
  }
  await Promise.all(socks.map((x) => x.opened));
  const e = await refused(mallory.lobby(codes[2]));
  eq(e.status, 429, '65th refused before the upgrade');
  // someone else is not affected
  const a = olga.lobby(code); await a.opened; await a.close();
  await Promise.all(socks.map((x) => x.close()));
  const again = mallory.lobby(codes[2]); await again.opened; await again.close();
});

test('agent token: a second connection replaces the first, logged', async () => {
  const token = s.admin(['enroll-machine', 'lab-1']).out;
  const first = await hello(token, ['alice']);
  const second = await hello(token, ['alice']);
  eq((await first.closed).code, 4409, 'older connection closed as replaced');
  assert(/lab-1': a new connection .* replaces an older one/.test(s.log), 'logged');
  await second.close();
});

test('agent_user_map decides who a machine may speak for: a reported e-mail is nobody under "username"', async () => {
  const token = s.admin(['enroll-machine', 'lab-2']).out;
  const a = await hello(token, ['olga@example.org', 'alice'], 'lab-2');
  const lo = olga.lobby(code); await lo.opened;
  const snap = await lo.next('lobby');
  const who = (id) => snap.attendees.find((p) => p.id === id);
  eq(who(alice.user.id).monitored, true, 'alice by username');
  eq(who(olga.user.id).monitored, false, 'olga@… under the username rule maps nobody');
  await lo.close(); await a.close();
});

test('agent_user_map email@DOMAIN: only that domain', async () => {
  const t = await new Server({ args: ['-o', 'agent_user_map=email@example.org'] }).start();
  const o = await new Client(t).signup('olga');
  const al = await new Client(t).signup('alice');
  await new Client(t).signup('zed', { email: 'zed@other.example' });
  const c = await o.createMeeting('m');
  await al.join(c);
  const token = t.admin(['enroll-machine', 'lab-3']).out;
  const a = agent(t, token); await a.opened;
  a.send({ type: 'hello', v: 1, machine: 'lab-3', boot_id: BOOT, users: ['alice', 'olga@example.org', 'zed@other.example'] });
  await a.next('welcome');
  const lo = o.lobby(c); await lo.opened;
  const snap = await lo.next('lobby');
  const who = (id) => snap.attendees.find((p) => p.id === id);
  eq(who(al.user.id).monitored, true, 'alice → alice@example.org');
  eq(who(o.user.id).monitored, true, 'olga@example.org at the domain');
  assert(/local user 'zed@other.example' reported by 'lab-3' matches no account/.test(t.log), 'another domain maps nobody');
  await lo.close(); await a.close(); await t.stop();
});

test('a lobby flood never takes the connections kept for agents', async () => {
  const t = await new Server({ args: ['-o', 'max_connections=40', '-o', 'agent_reserved=8'] }).start();
  const o = await new Client(t).signup('olga');
  const m = await new Client(t).signup('mallory');
  const c = await o.createMeeting('m');
  await m.join(c);
  const socks = [];
  for (let i = 0; i < 32; i++) socks.push((i % 2 ? o : m).lobby(c));
  await Promise.all(socks.map((x) => x.opened));
  const e = await refused(m.lobby(c));
  eq(e.status, 503, 'the 33rd lobby socket is refused');
  const token = t.admin(['enroll-machine', 'lab-9']).out;
  const a = agent(t, token); await a.opened;
  a.send({ type: 'hello', v: 1, machine: 'lab-9', boot_id: BOOT, users: [] });
  await a.next('welcome');
  await a.close();
  await Promise.all(socks.map((x) => x.close()));
  await t.stop();
});

run();
