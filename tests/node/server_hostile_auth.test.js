// SPDX-License-Identifier: GPL-2.0-only
// Hostile sign-in (issue 12): a login flood at the default argon2id strength
// from many distinct addresses (127.0.x.y) while a lobby and an agent are
// live must not stall the event loop (health, chat and agent round-trips
// measured during the flood); per-address and per-account limits answer 429
// with Retry-After (per X-Forwarded-For client only behind trusted_proxies);
// a legitimate user still signs in; clients that drop
// mid-login leave the server healthy; OIDC cannot take over an account by an
// unverified e-mail; no open redirect after OIDC sign-in; a cookie whose name
// merely contains the session cookie's is ignored; set-password ends sessions.
'use strict';
const http = require('http');
const net = require('net');
const { test, run, assert, eq, sleep, Server, Client, agent, captureEvent, freePort } = require('./lib');
const { FakeOidc } = require('./fake_oidc');

// ------------------------------------------------------------- helpers
// One HTTP request from a chosen source address (a distinct "machine").
function req(server, method, path, body, from, headers = {}) {
  const data = body === undefined ? undefined : JSON.stringify(body);
  const h = Object.assign({}, headers, data ? { 'content-type': 'application/json', 'content-length': Buffer.byteLength(data) } : {});
  const t0 = process.hrtime.bigint();
  return new Promise((resolve, reject) => {
    const r = http.request({ host: '127.0.0.1', port: server.port, method, path, headers: h, localAddress: from, agent: false },
      (res) => {
        let text = '';
        res.on('data', (d) => { text += d; });
        res.on('end', () => {
          let json = null;
          try { json = JSON.parse(text); } catch (e) { /* not JSON */ }
          resolve({ status: res.statusCode, headers: res.headers, json, text, ms: Number(process.hrtime.bigint() - t0) / 1e6 });
        });
      });
    r.on('error', reject);
    if (data) r.write(data);
    r.end();
  });
}
// Round-trips must stay in the tens of milliseconds (on main they are seconds:
// every hash blocked the loop). A sanitizer build runs the loop 2-3 times
// slower, so it gets more room.
const LIMIT_MS = /san/.test(process.env.OUTPUT || '') ? 250 : 100;
const addr = (i) => `127.0.${1 + Math.floor(i / 250)}.${1 + (i % 250)}`;
function pct(xs, p) {
  if (!xs.length) return NaN;
  const s = xs.slice().sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1)];
}
const fmt = (xs) => `n=${xs.length} p50=${pct(xs, 50).toFixed(1)} p99=${pct(xs, 99).toFixed(1)} max=${Math.max(...xs).toFixed(1)} ms`;

// Run fn(i) for i < n with at most k in flight.
async function pool(n, k, fn) {
  let next = 0;
  const out = new Array(n);
  await Promise.all(Array.from({ length: k }, async () => {
    while (next < n) { const i = next++; out[i] = await fn(i); }
  }));
  return out;
}

// Probe health, lobby chat and agent acks until stop() is called; returns the latencies.
function probes(server, alice, la, lo, ag) {
  let done = false, seq = 1000;
  const health = [], chat = [], acks = [];
  const loops = [
    (async () => {
      while (!done) {
        const t0 = process.hrtime.bigint();
        const r = await fetch(server.url + '/api/health');
        await r.text();
        health.push(Number(process.hrtime.bigint() - t0) / 1e6);
        await sleep(20);
      }
    })(),
    (async () => {
      for (let n = 0; !done; n++) {
        const text = `rt-${n}`, t0 = process.hrtime.bigint();
        la.send({ type: 'chat', v: 1, text });
        const m = await lo.next((x) => x.type === 'chat' && x.text === text, 10000);
        chat.push(Number(m.__recv - t0) / 1e6);
        await sleep(100);
      }
    })(),
    (async () => {
      while (!done) {
        const ev = captureEvent('capture.begin', seq++, { user: 'nobody' });
        const t0 = process.hrtime.bigint();
        ag.send(ev);
        const a = await ag.next((x) => x.type === 'ack' && x.id === ev.id, 10000);
        acks.push(Number(a.__recv - t0) / 1e6);
        ag.send({ type: 'heartbeat', v: 1, ts: Date.now() * 1e6 });
        await sleep(200);
      }
    })(),
  ];
  return { health, chat, acks, stop: async () => { done = true; await Promise.all(loops); } };
}

// ---------------------------------------------- server at default strength
let s, olga, alice, lo, la, ag;

test('setup: default strength (interactive), a live lobby and an agent', async () => {
  s = await new Server({ args: ['-o', 'password_strength=interactive'] }).start();
  olga = await new Client(s).signup('olga');
  alice = await new Client(s).signup('alice');
  for (const u of ['u0', 'u1', 'u2', 'u3', 'carol']) await new Client(s).signup(u);
  const code = await olga.createMeeting('Lecture');
  await alice.join(code);
  lo = olga.lobby(code); await lo.opened; await lo.next('lobby');
  la = alice.lobby(code); await la.opened; await la.next('lobby');
  const token = s.admin(['enroll-machine', 'lab-1']).out;
  ag = agent(s, token); await ag.opened;
  ag.send({ type: 'hello', v: 1, machine: 'lab-1', boot_id: 'b00t0000-0000-4000-8000-0000000000aa', agent_version: '0.1.0', layers: ['exec'] });
  await ag.next('welcome');
});

test('login flood from 300 addresses: health, chat and agent stay fast; a real user signs in meanwhile', async () => {
  const FLOOD = 300, INFLIGHT = 40;
  const p = probes(s, alice, la, lo, ag);
  await sleep(300);	// a baseline before the flood
  let legit = null;
  const t0 = Date.now();
  const counts = {};
  const flood = pool(FLOOD, INFLIGHT, async (i) => {
    // a quarter right passwords, a quarter wrong ones for real accounts, half unknown users (same cost)
    const k = i % 4, u = `u${i % 4}`;
    const body = k === 0 ? { username: u, password: 'password-' + u }
      : k === 1 ? { username: u, password: 'wrong-password' }
        : { username: `ghost${i}`, password: 'wrong-password' };
    const r = await req(s, 'POST', '/api/auth/login', body, addr(i));
    counts[r.status] = (counts[r.status] || 0) + 1;
    if (i === 60) legit = req(s, 'POST', '/api/auth/login', { username: 'carol', password: 'password-carol' }, '127.0.251.1');
    return r;
  });
  await flood;
  const secs = (Date.now() - t0) / 1000;
  await p.stop();
  const l = await legit;
  console.log(`# flood: ${FLOOD} logins, ${INFLIGHT} in flight, ${secs.toFixed(1)} s, statuses ${JSON.stringify(counts)}`);
  console.log(`# health during flood: ${fmt(p.health)}`);
  console.log(`# lobby chat round-trip: ${fmt(p.chat)}`);
  console.log(`# agent capture ack: ${fmt(p.acks)}`);
  console.log(`# legitimate login from another address: ${l.status} in ${l.ms.toFixed(0)} ms`);
  eq(l.status, 200, 'legitimate user signed in during the flood');
  assert(counts[200] >= FLOOD / 8, 'right passwords in the flood signed in: ' + JSON.stringify(counts));
  assert(counts[401] >= FLOOD / 4, 'wrong passwords refused: ' + JSON.stringify(counts));
  assert(p.health.length >= 20 && p.chat.length >= 5 && p.acks.length >= 5, 'probes ran during the flood');
  assert(pct(p.health, 99) < LIMIT_MS, `health p99 ${pct(p.health, 99).toFixed(1)} ms < ${LIMIT_MS} ms`);
  assert(pct(p.chat, 99) < LIMIT_MS, `chat p99 ${pct(p.chat, 99).toFixed(1)} ms < ${LIMIT_MS} ms`);
  assert(pct(p.acks, 99) < LIMIT_MS, `agent ack p99 ${pct(p.acks, 99).toFixed(1)} ms < ${LIMIT_MS} ms`);
  assert(!/silent for/.test(s.log), 'no agent hung up as silent');
});

test('clients that hang up mid-login leave the server healthy (and answer others fast meanwhile)', async () => {
  const N = 40, health = [];
  let done = false;
  const probe = (async () => {
    while (!done) {
      const t0 = process.hrtime.bigint();
      await (await fetch(s.url + '/api/health')).text();
      health.push(Number(process.hrtime.bigint() - t0) / 1e6);
      await sleep(20);
    }
  })();
  await Promise.all(Array.from({ length: N }, (_, i) => new Promise((resolve) => {
    const body = JSON.stringify({ username: i % 2 ? 'u1' : `gone${i}`, password: i % 2 ? 'password-u1' : 'wrong-password' });
    const c = net.connect({ host: '127.0.0.1', port: s.port, localAddress: addr(500 + i) }, () => {
      c.write(`POST /api/auth/login HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\n\r\n${body}`);
      // gone before the hash is done: the server must not write to (or free twice) what it held
      setTimeout(() => { c.destroy(); resolve(); }, 5 + (i % 10));
    });
    c.on('error', () => resolve());
  })));
  // the queue is first-in first-out: these two run after every dropped job
  const a = await req(s, 'POST', '/api/auth/login', { username: 'carol', password: 'password-carol' }, '127.0.252.1');
  const b = await req(s, 'POST', '/api/auth/login', { username: 'carol', password: 'password-carol' }, '127.0.252.2');
  done = true;
  await probe;
  console.log(`# health while ${N} clients dropped mid-login: ${fmt(health)}`);
  eq([a.status, b.status], [200, 200], 'sign-in works after the drops');
  assert(s.alive(), 'server alive');
  eq((await req(s, 'GET', '/api/health', undefined, '127.0.252.3')).status, 200, 'healthy');
  assert(pct(health, 99) < LIMIT_MS, `health p99 ${pct(health, 99).toFixed(1)} ms < ${LIMIT_MS} ms`);
});

// ------------------------------------------------------- limits (cheap hash)
let t;

test('per-address limit: 429 with Retry-After; other addresses unaffected', async () => {
  t = await new Server({ args: ['-o', 'login_address_burst=5', '-o', 'login_address_per_min=6', '-o', 'signup_address_burst=2',
    '-o', 'trusted_proxies=127.0.6.6'] }).start();
  for (const u of ['bob', 'dave']) await new Client(t).signup(u);
  for (let i = 0; i < 5; i++)
    eq((await req(t, 'POST', '/api/auth/login', { username: `nobody${i}`, password: 'wrong-password' }, '127.0.9.9')).status, 401, 'within the burst');
  const r = await req(t, 'POST', '/api/auth/login', { username: 'dave', password: 'password-dave' }, '127.0.9.9');
  eq(r.status, 429, 'sixth from the same address');
  eq(r.json.error, 'rate_limited', 'error code');
  const ra = Number(r.headers['retry-after']);
  assert(ra >= 1 && ra <= 10, 'Retry-After in whole seconds: ' + r.headers['retry-after']);
  eq(r.json.retry_after, ra, 'retry_after in the body matches the header');
  eq((await req(t, 'POST', '/api/auth/login', { username: 'dave', password: 'password-dave' }, '127.0.9.10')).status, 200, 'another address');
  // sign-up per address
  const su = (n) => req(t, 'POST', '/api/auth/signup', { username: n, email: `${n}@example.org`, password: 'password-' + n }, '127.0.8.8');
  eq([(await su('s1')).status, (await su('s2')).status, (await su('s3')).status], [201, 201, 429], 'sign-up limited per address');
  assert((t.log.match(/ratelimit: sign-in from this address refused for 127\.0\.9\.9/g) || []).length === 1, 'logged once');
});

test('behind a trusted proxy the limit is per X-Forwarded-For client; from anyone else the header is ignored', async () => {
  const login = (from, xff, i) => req(t, 'POST', '/api/auth/login', { username: `x${i}`, password: 'wrong-password' }, from,
    { 'x-forwarded-for': xff });
  const viaProxy = [];
  for (let i = 0; i < 6; i++) viaProxy.push((await login('127.0.6.6', '198.51.100.1, 203.0.113.7', i)).status);
  eq(viaProxy, [401, 401, 401, 401, 401, 429], 'the client the proxy names is limited');
  eq((await login('127.0.6.6', '203.0.113.8', 9)).status, 401, 'another client through the same proxy');
  const spoofed = [];
  for (let i = 0; i < 6; i++) spoofed.push((await login('127.0.6.7', `203.0.113.${100 + i}`, i)).status);
  eq(spoofed, [401, 401, 401, 401, 401, 429], 'an untrusted peer cannot pick its address by header');
});

test('per-account lock-out after 10 wrong passwords, whatever the address; others unaffected', async () => {
  for (let i = 0; i < 10; i++)
    eq((await req(t, 'POST', '/api/auth/login', { username: 'bob', password: 'guess-' + i }, addr(1000 + i))).status, 401, 'wrong ' + i);
  const r = await req(t, 'POST', '/api/auth/login', { username: 'bob', password: 'password-bob' }, addr(1100));
  eq(r.status, 429, 'locked, even with the right password');
  assert(Number(r.headers['retry-after']) >= 60, 'locked for minutes: ' + r.headers['retry-after']);
  eq((await req(t, 'POST', '/api/auth/login', { username: 'dave', password: 'password-dave' }, addr(1101))).status, 200, 'other account');
  // right passwords do not count against the account
  for (let i = 0; i < 12; i++)
    eq((await req(t, 'POST', '/api/auth/login', { username: 'dave', password: 'password-dave' }, addr(1200 + i))).status, 200, 'right ' + i);
});

test('a cookie whose name only contains the session cookie name is ignored', async () => {
  const c = new Client(t);
  eq((await c.login('dave')).status, 200, 'signed in');
  const v = c.cookie.split('=')[1];
  eq((await c.req('GET', '/api/me')).status, 200, 'real cookie works');
  for (const h of [`xsphinx_session=${v}`, `sphinx_session_old=${v}`, `a=sphinx_session=${v}`])
    eq((await c.req('GET', '/api/me', undefined, { noCookie: true, headers: { cookie: h } })).status, 401, h.split('=')[0]);
  eq((await c.req('GET', '/api/me', undefined, { noCookie: true, headers: { cookie: `xsphinx_session=bogus; sphinx_session=${v}` } })).status,
    200, 'the exact name is still found after another');
});

test('set-password ends every session of that account', async () => {
  const c1 = new Client(t), c2 = new Client(t);
  eq([(await c1.login('dave')).status, (await c2.login('dave')).status], [200, 200], 'two sessions');
  eq((await c1.req('GET', '/api/me')).status, 200, 'signed in');
  const out = t.admin(['set-password', 'dave'], 'a-new-password\n');
  eq(out.code, 0, 'set-password: ' + out.err);
  eq([(await c1.req('GET', '/api/me')).status, (await c2.req('GET', '/api/me')).status], [401, 401], 'old sessions ended');
  eq((await req(t, 'POST', '/api/auth/login', { username: 'dave', password: 'a-new-password' }, addr(1300))).status, 200, 'new password');
});

// ---------------------------------------------------------------- OIDC
let idp, o;

async function oidcSignIn(c, ret) {
  const start = await c.req('GET', '/auth/oidc/start' + (ret !== undefined ? '?return=' + ret : ''));
  eq(start.status, 302, 'start redirects: ' + start.text);
  const stateCookie = /sphinx_oidc_state=([^;]+)/.exec(start.headers.get('set-cookie'))[1];
  const auth = await fetch(start.headers.get('location'), { redirect: 'manual' });
  const back = new URL(auth.headers.get('location'));
  return c.req('GET', back.pathname + back.search, undefined, { headers: { cookie: `sphinx_oidc_state=${stateCookie}` }, noCookie: true });
}

test('OIDC: an unverified local account with the same e-mail does not capture the SSO sign-in', async () => {
  idp = await new FakeOidc().start();
  const port = await freePort();
  o = await new Server({ port, args: ['-o', `oidc_issuer=${idp.issuer}`, '-o', 'oidc_client_id=sphinx-test',
    '-o', 'oidc_client_secret=test-secret', '-o', `public_url=http://127.0.0.1:${port}`, '-o', 'oidc_address_burst=30', '-o', 'oidc_address_per_min=1'] }).start();
  const mallory = await new Client(o).signup('mallory', { email: 'victim@example.org' });
  idp.user = { sub: 'victim-sub', email: 'victim@example.org', email_verified: true, name: 'Victim' };
  const c = new Client(o);
  const r = await oidcSignIn(c);
  eq(r.status, 302, 'signed in: ' + r.text);
  const me = await c.req('GET', '/api/me');
  eq(me.status, 200, 'has a session');
  assert(me.json.user.id !== mallory.user.id, 'not signed into the squatter\'s account');
  assert(/not linking .* that account's e-mail was never verified/.test(o.log), 'refusal logged');
  // an account an administrator created is verified: linked
  const add = o.admin(['add-user', 'grace', '--email', 'grace@example.org'], 'grace-password\n');
  eq(add.code, 0, 'add-user: ' + add.err);
  idp.user = { sub: 'grace-sub', email: 'grace@example.org', email_verified: true, name: 'Grace' };
  const g = new Client(o);
  eq((await oidcSignIn(g)).status, 302, 'grace signs in');
  eq((await g.req('GET', '/api/me')).json.user.id, Number(add.out), 'linked to the admin-made account');
  // a token that does not vouch for the address links nothing either
  o.admin(['add-user', 'hugo', '--email', 'hugo@example.org'], 'hugo-password\n');
  idp.user = { sub: 'hugo-sub', email: 'hugo@example.org', email_verified: false, name: 'Hugo' };
  const h = new Client(o);
  eq((await oidcSignIn(h)).status, 302, 'hugo signs in');
  assert((await h.req('GET', '/api/me')).json.user.username !== 'hugo', 'unverified claim not linked');
});

test('OIDC: return= is a same-origin path or nothing (open redirect refused in several encodings)', async () => {
  idp.user = { sub: 'user-1', email: 'ada@example.org', email_verified: true, name: 'Ada' };
  for (const ret of ['/%09/evil.example', '%2F%2Fevil.example', '/%2F/evil.example', '/%5Cevil.example', '%5C%5Cevil.example',
    '/%252F%252Fevil.example', '/%0D%0A/evil.example', 'https:%2F%2Fevil.example', '/%20/evil.example']) {
    const r = await oidcSignIn(new Client(o), ret);
    eq(r.status, 302, ret);
    eq(r.headers.get('location'), '/', `return=${ret}`);
  }
  eq((await oidcSignIn(new Client(o), encodeURIComponent('/#/m/abc-defg-hij'))).headers.get('location'), '/#/m/abc-defg-hij', 'a local path is kept');
});

test('OIDC: sign-in starts limited per address', async () => {
  const got = [];
  for (let i = 0; i < 31; i++) got.push((await req(o, 'GET', '/auth/oidc/start', undefined, '127.0.7.7')).status);
  eq(got.filter((x) => x === 302).length, 30, 'the burst passes');
  eq(got[30], 429, 'the 31st start from one address is refused');
  eq((await req(o, 'GET', '/auth/oidc/start', undefined, '127.0.7.8')).status, 302, 'another address');
  idp.stop();
});

run();
