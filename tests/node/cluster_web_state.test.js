// SPDX-License-Identifier: GPL-2.0-only
// Web state every node must share (issue 13), on two sphinx-server nodes of
// one PostgreSQL database (tests/node/cluster.js), requests sent straight to
// the node each step names, as a balancer might:
//   - a session cookie made on node A is good on node B, and signing out on
//     B ends it on A (sessions are store rows: nothing node-local);
//   - an OpenID Connect sign-in started on node A whose callback lands on
//     node B signs in (the pending login is in the store); the same state
//     replayed on A is refused (used once, on whichever node took it);
//   - a login flood from one address spread over both nodes meets ONE
//     limit (login_address_burst), not one per node; likewise the
//     wrong-password lock-out of one username and the unknown meeting
//     codes one account may name (code_guard.c);
//   - /api/health names the node and answers 503 "store": "down" while
//     PostgreSQL is stopped, 200 once it is back; SIGHUP is logged and
//     changes nothing (before, it killed the server).
// Each limit check fails against per-node counters (the in-memory buckets of
// ratelimit.c on each node): there the flood gets twice the burst through.
'use strict';
const { test, run, assert, eq, Client, freePort } = require('./lib');
const { startCluster } = require('./cluster');
const { FakeOidc } = require('./fake_oidc');

const BURST = 4;
let c, idp, A, B;

// A sign-in from client address addr (X-Forwarded-For: the nodes trust 127.0.0.1 as a proxy), so
// each test below has its own address's buckets.
function login(node, username, password, addr) {
  return new Client(node).req('POST', '/api/auth/login', { username, password }, { headers: { 'x-forwarded-for': addr } });
}

// Browser side of the flow: start on `from`, the provider, callback on `to`.
async function signIn(from, to) {
  const start = await new Client(from).req('GET', '/auth/oidc/start');
  eq(start.status, 302, 'start redirects: ' + start.text);
  const state = /sphinx_oidc_state=([^;]+)/.exec(start.headers.get('set-cookie'))[1];
  const auth = await fetch(start.headers.get('location'), { redirect: 'manual' });
  eq(auth.status, 302, 'the provider redirects back');
  const back = new URL(auth.headers.get('location'));
  const client = new Client(to);
  const r = await client.req('GET', back.pathname + back.search, undefined,
    { headers: { cookie: `sphinx_oidc_state=${state}` }, noCookie: true });
  return { r, client, state, path: back.pathname + back.search };
}

test('two nodes on one PostgreSQL database, OpenID Connect configured the same on both', async () => {
  idp = await new FakeOidc().start();
  // one public origin (the balancer's) for both nodes: the redirect URI is the same whichever node answers
  const pub = `http://127.0.0.1:${await freePort()}`;
  c = await startCluster({ nodes: 2, args: ['-o', `oidc_issuer=${idp.issuer}`, '-o', 'oidc_client_id=sphinx-test',
    '-o', 'oidc_client_secret=test-secret', '-o', `public_url=${pub}`,
    '-o', `login_address_burst=${BURST}`, '-o', 'login_address_per_min=1',
    '-o', 'login_account_failures=3', '-o', 'login_lockout=1h',
    '-o', 'join_attempts=3', '-o', 'join_attempts_address=1000000', '-o', 'trusted_proxies=127.0.0.1'] });
  [A, B] = c.nodes;
  eq((await new Client(A).req('GET', '/api/config')).json.oidc, true, 'oidc on A');
});

test('a session made on node A is good on node B, and signing out on B ends it on A', async () => {
  const a = await new Client(A).signup('sam');
  const b = new Client(B);
  b.cookie = a.cookie; b.csrf = a.csrf;
  const me = await b.req('GET', '/api/me');
  eq(me.status, 200, 'signed in on B with A\'s cookie: ' + me.text);
  eq(me.json.user.username, 'sam', 'same account');
  eq((await b.req('POST', '/api/auth/logout')).status, 200, 'sign out on B');
  eq((await a.req('GET', '/api/me')).status, 401, 'the session is gone on A too');
});

test('OpenID Connect: started on node A, the callback on node B signs in', async () => {
  const { r, client } = await signIn(A, B);
  eq(r.status, 302, 'callback on B accepted (a pending login made on A): ' + r.text);
  eq(r.headers.get('location'), '/', 'to the return path');
  const me = await client.req('GET', '/api/me');
  eq(me.status, 200, 'signed in'); eq(me.json.user.email, 'ada@example.org', 'the provider\'s account');
  const onA = new Client(A);
  onA.cookie = client.cookie;
  eq((await onA.req('GET', '/api/me')).status, 200, 'the session made on B is good on A');
});

test('OpenID Connect: a state used on node B is refused when replayed on node A', async () => {
  const { r, state, path } = await signIn(B, B);
  eq(r.status, 302, 'first use on B: ' + r.text);
  const again = await new Client(A).req('GET', path, undefined,
    { headers: { cookie: `sphinx_oidc_state=${state}` }, noCookie: true });
  eq(again.status, 400, 'replay on A refused: ' + again.text);
  eq(again.json.error, 'oidc_state', 'as an unknown or used state');
});

test(`a login flood from one address over both nodes meets one limit (burst ${BURST}), not one per node`, async () => {
  const statuses = [];
  // alternate A, B, A, B ...: per node this stays within the burst until the 9th
  for (let i = 0; i < 2 * BURST; i++) {
    const r = await login(i % 2 ? B : A, `nobody${i}`, 'wrong-password', '10.0.0.1');
    statuses.push(r.status);
  }
  eq(statuses.slice(0, BURST), Array(BURST).fill(401), 'the first burst is answered (wrong password)');
  eq(statuses.slice(BURST), Array(BURST).fill(429), 'after it, 429 on both nodes');
});

test('wrong passwords for one username over both nodes lock it once (login_account_failures 3)', async () => {
  await new Client(A).signup('lock');
  const st = [];
  for (let i = 0; i < 3; i++) st.push((await login(i % 2 ? B : A, 'lock', 'not-it', '10.0.0.2')).status);
  const locked = await login(B, 'lock', 'password-lock', '10.0.0.2');
  eq(st, [401, 401, 401], 'three wrong passwords, spread over A and B');
  eq(locked.status, 429, 'then the right one is refused: the account is locked on both nodes');
  assert(/locked/.test(locked.json.message), 'by the account lock-out: ' + locked.text);
});

test('unknown meeting codes one account names over both nodes meet one allowance (join_attempts 3)', async () => {
  const onA = await new Client(A).signup('guesser');
  const onB = new Client(B);
  onB.cookie = onA.cookie; onB.csrf = onA.csrf;
  const st = [];
  for (let i = 0; i < 4; i++) st.push((await (i % 2 ? onB : onA).join(`zzz-zzzz-zz${'abcd'[i]}`)).status);
  eq(st, [404, 404, 404, 429], 'three unknown codes in all, then 429 on both nodes');
});

test('GET /api/health names the node and its store; SIGHUP changes nothing (no reload, no exit)', async () => {
  const h = await new Client(A).req('GET', '/api/health');
  eq(h.status, 200, 'healthy');
  eq([h.json.ok, h.json.node, h.json.store, h.json.draining], [true, A.name, 'ok', false], 'its body');
  A.proc.kill('SIGHUP');
  // the marker: a request answered after the signal was handled (the log line comes first)
  const end = Date.now() + 5000;
  while (!/SIGHUP: nothing to reload/.test(A.log) && Date.now() < end) await new Promise((r) => setTimeout(r, 20));
  assert(/SIGHUP: nothing to reload/.test(A.log), 'SIGHUP logged: ' + A.log.split('\n').slice(-5).join('\n'));
  eq((await new Client(A).req('GET', '/api/health')).status, 200, 'still serving after SIGHUP');
  assert(A.alive(), 'still running');
});

test('PostgreSQL stopped: health answers 503 "store": "down" within a second or two; back: 200 again', async () => {
  await c.stopPostgres('fast');
  let h;
  for (const end = Date.now() + 5000; Date.now() < end;) {
    h = await new Client(B).req('GET', '/api/health');
    if (h.status === 503) break;
    await new Promise((r) => setTimeout(r, 100));
  }
  eq(h.status, 503, 'unhealthy while the store is away');
  eq([h.json.ok, h.json.store, h.json.draining, h.json.node], [false, 'down', false, B.name], 'its body');
  await c.startPostgres();
  for (const end = Date.now() + 15000; Date.now() < end;) {
    h = await new Client(B).req('GET', '/api/health');
    if (h.status === 200) break;
    await new Promise((r) => setTimeout(r, 100));
  }
  eq([h.status, h.json.store], [200, 'ok'], 'healthy again once the store answers');
});

test('stop the cluster and the provider', async () => {
  await c.stop();
  idp.stop();
});

run();
