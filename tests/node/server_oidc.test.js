// SPDX-License-Identifier: GPL-2.0-only
// OpenID Connect against a fake provider in this test suite (real RS256
// tokens): the happy path with PKCE/state/nonce, and refusal of a bad
// signature, wrong audience, expired token, nonce mismatch, wrong issuer,
// alg none / HS256 confusion, replayed or foreign state; key rotation.
'use strict';
const { test, run, assert, eq, Server, Client } = require('./lib');
const { FakeOidc } = require('./fake_oidc');

let idp, s;

// Drive the browser side: start → provider → callback. Returns the callback response.
async function signIn(c, opts = {}) {
  const start = await c.req('GET', '/auth/oidc/start' + (opts.ret ? '?return=' + encodeURIComponent(opts.ret) : ''));
  eq(start.status, 302, 'start redirects');
  const stateCookie = /sphinx_oidc_state=([^;]+)/.exec(start.headers.get('set-cookie'))[1];
  const auth = await fetch(start.headers.get('location'), { redirect: 'manual' });
  eq(auth.status, 302, 'provider redirects back: ' + (auth.status !== 302 ? await auth.text() : ''));
  const back = new URL(auth.headers.get('location'));
  const cookie = opts.stateCookie !== undefined ? opts.stateCookie : stateCookie;
  const r = await c.req('GET', back.pathname + back.search, undefined,
    { headers: cookie ? { cookie: `sphinx_oidc_state=${cookie}` } : {}, noCookie: true });
  r.callbackPath = back.pathname + back.search;
  r.stateCookie = stateCookie;
  return r;
}

test('start the fake provider and the server configured for it', async () => {
  idp = await new FakeOidc().start();
  const port = await require('./lib').freePort();
  s = await new Server({ port, args: ['-o', `oidc_issuer=${idp.issuer}`, '-o', 'oidc_client_id=sphinx-test',
    '-o', 'oidc_client_secret=test-secret', '-o', `public_url=http://127.0.0.1:${port}`] }).start();
  const c = await new Client(s).req('GET', '/api/config');
  eq(c.json.oidc, true, 'oidc advertised');
});

test('authorization request carries PKCE S256, state, nonce and the exact redirect URI', async () => {
  const c = new Client(s);
  const r = await c.req('GET', '/auth/oidc/start');
  const u = new URL(r.headers.get('location'));
  eq(u.origin + u.pathname, `${idp.issuer}/authorize`, 'to the discovered endpoint');
  const q = u.searchParams;
  eq(q.get('code_challenge_method'), 'S256', 'S256'); eq(q.get('code_challenge').length, 43, 'challenge');
  assert(q.get('state').length >= 40 && q.get('nonce').length >= 40, 'random state and nonce');
  eq(q.get('redirect_uri'), `${s.url}/auth/oidc/callback`, 'redirect uri'); eq(q.get('scope'), 'openid email profile', 'scope');
  const sc = r.headers.get('set-cookie');
  assert(/HttpOnly/.test(sc) && /Max-Age=300/.test(sc) && /Path=\/auth\/oidc/.test(sc), 'state cookie: ' + sc);
});

test('happy path: account created, session cookie set, redirect to the local return path', async () => {
  const c = new Client(s);
  const r = await signIn(c, { ret: '/meeting/123456' });
  eq(r.status, 302, 'redirect: ' + r.text); eq(r.headers.get('location'), '/meeting/123456', 'return path');
  assert(c.cookie && /^sphinx_session=/.test(c.cookie), 'session cookie');
  const me = await c.req('GET', '/api/me');
  eq(me.status, 200, 'signed in'); eq(me.json.user.email, 'ada@example.org', 'email'); eq(me.json.user.name, 'Ada Lovelace', 'name');
  eq(me.json.user.username, 'ada', 'username from the verified e-mail');
  c.csrf = me.json.csrf;
  eq((await c.req('POST', '/api/meetings', { title: 'OIDC made' })).status, 201, 'can use the API');
  const again = new Client(s);
  await signIn(again);
  eq((await again.req('GET', '/api/me')).json.user.id, me.json.user.id, 'same account next time');
});

test('open redirect refused: return=//evil.example goes to /', async () => {
  const r = await signIn(new Client(s), { ret: '//evil.example/x' });
  eq(r.headers.get('location'), '/', 'local only');
});

for (const [mode, why] of [['bad_sig', 'bad signature'], ['wrong_aud', 'wrong audience'], ['multi_aud_no_azp', 'wrong audience'],
  ['expired', 'expired'], ['bad_nonce', 'nonce mismatch'], ['wrong_iss', 'wrong issuer'],
  ['alg_none', 'algorithm not allowed'], ['hs256', 'algorithm not allowed']]) {
  test(`ID token refused: ${mode} (${why})`, async () => {
    idp.mode = mode;
    const c = new Client(s);
    const r = await signIn(c);
    idp.mode = 'ok';
    eq(r.status, 401, 'refused: ' + r.text);
    assert(r.json.message.includes(why), `names the check: ${r.json.message}`);
    assert(!c.cookie, 'no session');
    assert(s.log.includes(`ID token refused: ${why}`), 'logged');
  });
}

test('state: missing or foreign cookie refused; a callback cannot be replayed', async () => {
  let r = await signIn(new Client(s), { stateCookie: '' });
  eq(r.status, 400, 'no state cookie');
  r = await signIn(new Client(s), { stateCookie: 'someone-elses-state' });
  eq(r.status, 400, 'foreign state');
  const c = new Client(s);
  r = await signIn(c);
  eq(r.status, 302, 'first use ok');
  const replay = await new Client(s).req('GET', r.callbackPath, undefined, { headers: { cookie: `sphinx_oidc_state=${r.stateCookie}` } });
  eq(replay.status, 400, 'replayed state refused');
});

test('key rotation: an unknown kid triggers one JWKS refresh', async () => {
  idp.rotate();
  const before = idp.requests.filter((p) => p === '/jwks').length;
  const r = await signIn(new Client(s));
  eq(r.status, 302, 'signed in with the rotated key: ' + r.text);
  eq(idp.requests.filter((p) => p === '/jwks').length, before + 1, 'refetched once');
  idp.mode = 'unknown_kid';
  const r2 = await signIn(new Client(s));
  idp.mode = 'ok';
  eq(r2.status, 401, 'unknown kid refused');
  eq(idp.requests.filter((p) => p === '/jwks').length, before + 1, 'no second forced refresh within a minute');
});

test('provider error and missing parameters', async () => {
  const c = new Client(s);
  let r = await c.req('GET', '/auth/oidc/callback?error=access_denied&state=x');
  eq(r.status, 401, 'provider error');
  r = await c.req('GET', '/auth/oidc/callback');
  eq(r.status, 400, 'missing code');
  assert(s.alive(), 'server alive');
  idp.stop();
});

test('without OIDC configured the routes say so', async () => {
  const s2 = await new Server().start();
  const r = await new Client(s2).req('GET', '/auth/oidc/start');
  eq(r.status, 404, 'disabled'); eq(r.json.error, 'oidc_disabled', 'code');
  s2.kill9();
});

run();
