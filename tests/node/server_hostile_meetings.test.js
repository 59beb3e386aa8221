// SPDX-License-Identifier: GPL-2.0-only
// A hostile signed-in user against meetings: guessing codes, naming strangers
// as co-organisers or ban targets to learn who they are, hoarding lobby
// sockets, crowding the agents out, and a stolen agent token speaking for
// someone else. Every test here failed on the server before these fixes.
'use strict';
const http = require('http');
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

// An HTTP request from another loopback address (127.0.0.0/8 all reaches lo):
// what a person on another machine looks like to the server.
function reqFrom(localAddress, client, method, p, body) {
  return new Promise((resolve, reject) => {
    const data = body === undefined ? undefined : JSON.stringify(body);
    const headers = { cookie: client.cookie };
    if (method !== 'GET') headers['x-csrf-token'] = client.csrf;
    if (data) { headers['content-type'] = 'application/json'; headers['content-length'] = Buffer.byteLength(data); }
    const rq = http.request({ host: '127.0.0.1', port: s.port, method, path: p, headers, localAddress }, (res) => {
      let text = '';
      res.on('data', (d) => { text += d; });
      res.on('end', () => { let json = null; try { json = JSON.parse(text); } catch (e) { /* not JSON */ }
        resolve({ status: res.statusCode, json, text, headers: res.headers }); });
    });
    rq.on('error', reject);
    if (data) rq.write(data);
    rq.end();
  });
}

function randomCode() {
  const l = () => String.fromCharCode(97 + Math.floor(Math.random() * 26));
  const g = (n) => Array.from({ length: n }, l).join('');
  return `${g(3)}-${g(4)}-${g(3)}`;
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

test('code enumeration: an account is stopped after 10 unknown codes, on every route that takes a code', async () => {
  const guesser = await new Client(s).signup('guesser');
  for (let i = 0; i < 10; i++) {
    const r = await reqFrom('127.0.1.1', guesser, 'POST', '/api/meetings/join', { code: randomCode() });
    eq(r.status, 404, `guess ${i + 1} is just unknown`);
  }
  let r = await reqFrom('127.0.1.1', guesser, 'POST', '/api/meetings/join', { code: randomCode() });
  eq(r.status, 429, 'the 11th is refused'); eq(r.json.error, 'rate_limited', 'named');
  assert(Number(r.headers['retry-after']) > 0, 'Retry-After: ' + r.headers['retry-after']);
  r = await reqFrom('127.0.1.1', guesser, 'POST', '/api/meetings/join', { code });
  eq(r.status, 429, 'even a right code is not answered while locked out');
  r = await reqFrom('127.0.1.1', guesser, 'GET', `/api/meetings/${randomCode()}`);
  eq(r.status, 429, 'nor the meeting page');
  const e = await refused(guesser.lobby(randomCode()));
  eq(e.status, 429, 'nor the lobby upgrade');
  assert(/user \d+ named 10 unknown meeting codes/.test(s.log), 'the lock-out is logged');
  // the others are not affected
  const dave = await new Client(s).signup('dave');
  eq((await reqFrom('127.0.1.1', dave, 'POST', '/api/meetings/join', { code })).status, 200, 'dave joins from the same address');
});

test('code enumeration through the lobby upgrade counts the same', async () => {
  const g = await new Client(s).signup('wsguesser');
  for (let i = 0; i < 10; i++) eq((await refused(g.lobby(randomCode()))).status, 404, 'unknown code: 404 before the upgrade');
  eq((await g.join(randomCode())).status, 429, 'then locked out over HTTP too');
});

test('code enumeration from one address with many accounts: stopped after 60 unknown codes', async () => {
  const accounts = [];
  for (let i = 0; i < 7; i++) accounts.push(await new Client(s).signup('sybil' + i));
  let n = 0, refusedAt = 0;
  for (const a of accounts) {
    for (let i = 0; i < 10 && !refusedAt; i++) {
      const r = await reqFrom('127.0.2.1', a, 'POST', '/api/meetings/join', { code: randomCode() });
      n++;
      if (r.status === 429) refusedAt = n;
      else eq(r.status, 404, 'unknown');
    }
  }
  eq(refusedAt, 61, 'the address is limited after 60 misses');
  const carol = await new Client(s).signup('carol');
  eq((await reqFrom('127.0.2.1', carol, 'POST', '/api/meetings/join', { code })).status, 429, 'that address waits');
  eq((await reqFrom('127.0.2.2', carol, 'POST', '/api/meetings/join', { code })).status, 200, 'another address joins');
});

test('meeting creation: 30 an hour per account, then 429', async () => {
  const c = await new Client(s).signup('creator');
  for (let i = 0; i < 30; i++) eq((await c.req('POST', '/api/meetings', { title: 'm' + i })).status, 201, 'created ' + i);
  const r = await c.req('POST', '/api/meetings', { title: 'one too many' });
  eq(r.status, 429, '31st refused'); assert(Number(r.headers.get('retry-after')) > 0, 'Retry-After');
  eq((await olga.req('POST', '/api/meetings', { title: 'someone else' })).status, 201, 'others still can');
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
  eq((await alice.join(r.json.code)).status, 403, 'a self-typed (unverified) address at the domain proves nothing');
  eq(s.admin(['add-user', 'vera', '--email', 'vera@example.org'], 'password-vera\n').code, 0, 'admin-made account');
  const vera = new Client(s);
  eq((await vera.login('vera')).status, 200, 'vera signs in');
  eq((await vera.join(r.json.code)).status, 200, 'a verified address at the domain joins');
  eq((await olga.req('POST', '/api/meetings', { title: 'x', join: 'everyone' })).status, 400, 'unknown policy named');
});

test('one account holds at most 64 lobby sockets across all its meetings (429 at the upgrade)', async () => {
  const codes = [await mallory.createMeeting('h1'), await mallory.createMeeting('h2'), await mallory.createMeeting('h3')];
  const socks = [];
  // in batches: one address may have only max_pending_per_address (32) upgrades in flight
  for (let i = 0; i < 64; i += 16) {
    const batch = [];
    for (let j = i; j < i + 16; j++) batch.push(mallory.lobby(codes[Math.floor(j / 30)]));
    await Promise.all(batch.map((x) => x.opened));
    socks.push(...batch);
  }
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
