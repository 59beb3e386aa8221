// SPDX-License-Identifier: GPL-2.0-only
// Who may do what, checked from outside against ONE table: the permission
// matrix in docs/api.md. This test reads that table, reads the route table
// in server/routes.c and the lobby message handlers in server/ws_lobby.c, and
// fails when the code has a route or message type the table does not list
// (or the table lists one the code lacks). Adding a route = adding a row to
// the doc (and, for a POST, a body below if {} is not enough).
//
// Then: CSRF on every state-changing route (every R_CSRF row of routes.c):
// no token, wrong token, foreign Origin, 300-byte Origin, cross-site
// Sec-Fetch-Site are refused, the same request done right succeeds; and
// cross-site lobby upgrades are refused while a same-origin one opens.
'use strict';
const fs = require('fs');
const path = require('path');
const { test, run, assert, eq, Server, Client, Sock, ROOT } = require('./lib');

const ROLES = ['organiser', 'attendee', 'stranger', 'banned', 'signed out'];

// ------------------------------------------------------------- sources

function docMatrix() {
  const text = fs.readFileSync(path.join(ROOT, 'docs/api.md'), 'utf8');
  const start = text.indexOf('\n## Permission matrix');
  assert(start >= 0, 'docs/api.md has a "## Permission matrix" section');
  const section = text.slice(start + 1).split(/\n## /)[0];
  const rows = new Map();
  for (const line of section.split('\n')) {
    if (!line.startsWith('| `') && !line.startsWith('| lobby')) continue;
    const cells = line.split('|').slice(1, -1).map((c) => c.trim());
    assert(cells.length === 1 + ROLES.length, 'a matrix row has a cell per role: ' + line);
    const key = cells[0].replace(/`/g, '');
    assert(!rows.has(key), 'row listed once: ' + key);
    rows.set(key, cells.slice(1).map((c) => c.replace(/`/g, '').replace(/\s*\(.*\)\s*$/, '').trim()));
  }
  return rows;
}

function codeRoutes() {
  const src = fs.readFileSync(path.join(ROOT, 'server/routes.c'), 'utf8');
  const out = [];
  const re = /\{\s*HM_(GET|POST|PUT|DELETE|PATCH)\s*,\s*"([^"]+)"\s*,\s*([^,]+),\s*\w+\s*\}/g;
  let m;
  while ((m = re.exec(src)))
    out.push({ method: m[1], pattern: m[2], key: `${m[1]} ${m[2].replace(/:/g, '{code}')}`, csrf: /R_CSRF/.test(m[3]), json: /R_JSON/.test(m[3]) });
  assert(out.length >= 10, 'parsed the route table of server/routes.c');
  return out;
}

function lobbyTypes() {
  const src = fs.readFileSync(path.join(ROOT, 'server/ws_lobby.c'), 'utf8');
  const table = src.slice(src.indexOf('handlers[] = {'));
  const body = table.slice(0, table.indexOf('};'));
  // the table names the types by their common/proto_lobby.h constants
  const hdr = fs.readFileSync(path.join(ROOT, 'common/proto_lobby.h'), 'utf8');
  const value = Object.fromEntries([...hdr.matchAll(/^#define\s+(PROTO_LOBBY_MSG_\w+)\s+"([^"]+)"/gm)].map((m) => [m[1], m[2]]));
  const types = [...body.matchAll(/\{\s*(PROTO_LOBBY_MSG_\w+)\s*,\s*\w+\s*\}/g)].map((m) => value[m[1]]).filter(Boolean);
  assert(types.length >= 5, 'parsed the lobby message handlers of server/ws_lobby.c');
  return types;
}

// ------------------------------------------------------------- fixtures

let s, orgs, att, stranger, banned, spare, admin;
const anon = () => new Client(s);
let orgTurn = 0, uniq = 0;

// A fresh meeting: an organiser (rotating, so no one account creates them
// all), the attendee joined, the banned user joined then banned.
async function meeting() {
  const org = orgs[orgTurn++ % orgs.length];
  const code = await org.createMeeting('Matrix ' + (++uniq));
  eq((await att.join(code)).status, 200, 'attendee joins');
  eq((await banned.join(code)).status, 200, 'to-be-banned joins');
  eq((await org.req('POST', `/api/meetings/${code}/bans`, { user_id: banned.user.id })).status, 200, 'ban');
  return { code, org };
}
function clientFor(role, m) {
  return { organiser: m.org, attendee: att, stranger, banned, 'signed out': anon() }[role];
}

// Body of a request per route key (the default for a JSON route is {}).
function bodyFor(key, m) {
  switch (key) {
  case 'POST /api/auth/signup': { const u = 'new' + (++uniq); return { username: u, email: `${u}@example.org`, password: 'password-' + u, name: u }; }
  case 'POST /api/auth/login': return { username: 'spare', password: 'password-spare' };
  case 'POST /api/meetings': return { title: 'Created ' + (++uniq) };
  case 'POST /api/meetings/join': return { code: m.code };
  case 'POST /api/meetings/{code}/organisers': return { user_id: att.user.id };
  case 'POST /api/meetings/{code}/bans': return { user_id: att.user.id, reason: 'matrix' };
  case 'POST /api/admin/machines': return { name: 'lab-' + (++uniq) };
  case 'POST /api/admin/policy': return { group: 'matrix', files: [{ name: 'm.yml', text: MATRIX_RULE }] };
  case 'POST /api/admin/policy/rollback': return { group: 'matrix' };
  case 'PUT /api/admin/machines/{code}/group': return { group: 'matrix' };
  default: return undefined;
  }
}
const MATRIX_RULE = 'id: matrix.rule\ntitle: matrix\nlogsource: { category: process_creation, product: linux }\n' +
  'detection:\n  selection:\n    Image|endswith: /matrix\n  condition: selection\n';
// Rows whose organiser/attendee success changes the meeting: a fresh one per role.
const DESTRUCTIVE = /^(POST \/api\/meetings\/(join|\{code\}\/)|lobby (ban|end)$)/;

function check(expected, got, what) {
  // expected: "200" or "403 code"
  const [status, code] = expected.split(/\s+/);
  eq(String(got.status), status, `${what}: status (body ${got.text && got.text.slice(0, 120)})`);
  if (code) eq(got.json && got.json.error, code, `${what}: error code`);
}

test('setup: organisers, attendee, stranger, banned user, signed-out client', async () => {
  s = await new Server({ args: ['-o', 'admin_users=root'] }).start();
  orgs = [];
  for (const n of ['olga', 'otto', 'oona', 'oscar']) orgs.push(await new Client(s).signup(n));
  att = await new Client(s).signup('arthur');
  stranger = await new Client(s).signup('stan');
  banned = await new Client(s).signup('boris');
  spare = await new Client(s).signup('spare');
  admin = await new Client(s).signup('root');
  // a first bundle of group "matrix": the CSRF test's rollback then has one to go back to
  eq((await admin.req('POST', '/api/admin/policy', bodyFor('POST /api/admin/policy'))).status, 201, 'a first bundle');
});

// ------------------------------------------------ the table is complete

test('docs/api.md lists every route of server/routes.c and every lobby message type, and nothing else', async () => {
  const rows = docMatrix();
  const want = new Set([...codeRoutes().map((r) => r.key), 'lobby WebSocket /lobby/{code}', ...lobbyTypes().map((t) => 'lobby ' + t)]);
  const missing = [...want].filter((k) => !rows.has(k));
  const extra = [...rows.keys()].filter((k) => !want.has(k));
  eq(missing, [], 'routes/messages in the code but not in the docs/api.md permission matrix');
  eq(extra, [], 'rows in the docs/api.md permission matrix with no route/message in the code');
});

// ------------------------------------------------- HTTP routes, per role

test('every HTTP route answers each role as docs/api.md says', async () => {
  const rows = docMatrix();
  let shared = null;
  const failures = [];
  for (const r of codeRoutes()) {
    const exp = rows.get(r.key);
    for (let i = 0; i < ROLES.length; i++) {
      const role = ROLES[i];
      const fresh = DESTRUCTIVE.test(r.key) || r.key === 'POST /api/auth/logout';
      const m = fresh || !shared ? await meeting() : shared;
      if (!fresh) shared = m;
      let c = clientFor(role, m);
      if (r.key === 'POST /api/auth/logout' && role !== 'signed out') {
        // a second session of the same account, so the shared ones stay signed in
        const who = role === 'organiser' ? m.org : c;
        c = new Client(s);
        eq((await c.login(who.user.username)).status, 200, 'second session');
      }
      const p = r.pattern.replace(':', m.code);
      const body = bodyFor(r.key, m) || (r.json ? {} : undefined);
      const got = await c.req(r.method, p, body, { keepCookie: true });
      try { check(exp[i], got, `${r.key} as ${role}`); } catch (e) { failures.push(e.message); }
    }
  }
  eq(failures, [], 'answers that differ from the matrix');
});

// -------------------------------------- lobby WebSocket, per role and type

function messageFor(type, m, role) {
  switch (type) {
  case 'chat': return { type, v: 1, text: 'hello from ' + role };
  case 'signal': return { type, v: 1, to: role === 'organiser' ? att.user.id : m.org.user.id, kind: 'offer', data: { sdp: 'x' } };
  case 'ban': return { type, v: 1, user: (role === 'organiser' ? att : m.org).user.id, reason: 'matrix' };
  case 'sync': return { type, v: 1, since: 0 };
  case 'ping': return { type, v: 1 };
  case 'end': return { type, v: 1 };
  default: return { type, v: 1 };
  }
}

// Open a lobby as role; returns the socket or the outcome string ("close N" / "HTTP N").
async function openAs(role, m) {
  const c = clientFor(role, m);
  const sock = c.lobby(m.code);
  try { await sock.opened; } catch (e) { return { outcome: `HTTP ${e.status}` }; }
  const first = await Promise.race([sock.next('lobby', 3000).then(() => null, () => null), sock.closed]);
  if (first && first.code) return { outcome: `close ${first.code}` };
  if (sock.closeInfo) return { outcome: `close ${sock.closeInfo.code}` };
  return { sock, outcome: 'open' };
}

test('the lobby upgrade and every lobby message type answer each role as docs/api.md says', async () => {
  const rows = docMatrix();
  const failures = [];
  const note = (ok, msg) => { if (!ok) failures.push(msg); };
  {
    const exp = rows.get('lobby WebSocket /lobby/{code}');
    const m = await meeting();
    for (let i = 0; i < ROLES.length; i++) {
      const o = await openAs(ROLES[i], m);
      note(o.outcome === exp[i], `lobby upgrade as ${ROLES[i]}: expected ${exp[i]}, got ${o.outcome}`);
      if (o.sock) await o.sock.close();
    }
  }
  for (const type of lobbyTypes()) {
    const exp = rows.get('lobby ' + type);
    let shared = null;
    for (let i = 0; i < ROLES.length; i++) {
      const role = ROLES[i];
      const fresh = DESTRUCTIVE.test('lobby ' + type);
      const m = fresh || !shared ? await meeting() : shared;
      if (!fresh) shared = m;
      // the peer a signal goes to: the attendee for the organiser, else the organiser
      const peerRole = role === 'organiser' ? 'attendee' : 'organiser';
      const peer = await openAs(peerRole, m);
      const me = await openAs(role, m);
      let got = me.outcome;
      if (me.sock) {
        me.sock.send(messageFor(type, m, role));
        me.sock.send({ type: 'ping', v: 1, marker: true });	// everything before the marker's pong is the answer
        const [want, what] = exp[i].split(/\s+/);
        try {
          if (want === 'delivered') {
            const sig = await peer.sock.next((x) => x.type === type, 3000).catch(() => null);
            got = sig ? 'delivered' : 'not delivered';
          } else if (want === 'reply') {
            const x = await me.sock.next((y) => y.type === what || y.type === 'error', 3000);
            got = x.type === 'error' ? `error ${x.code}` : `reply ${x.type}`;
          } else if (want === 'error') {
            const x = await me.sock.next((y) => y.type === 'error' || y.type === 'pong', 3000);
            got = x.type === 'error' ? `error ${x.code}` : 'no error before the marker';
          } else {
            got = 'open';
          }
        } catch (e) { got = 'nothing (' + e.message.slice(0, 80) + ')'; }
        await me.sock.close();
      }
      note(got === exp[i], `lobby ${type} as ${role}: expected ${exp[i]}, got ${got}`);
      if (peer.sock) await peer.sock.close();
    }
  }
  eq(failures, [], 'answers that differ from the matrix');
});

// ------------------------------------------------------------------ CSRF

test('CSRF: every state-changing route refuses no token, a wrong token, foreign/long Origin, cross-site fetch; accepts the right one', async () => {
  const failures = [];
  const csrfRoutes = codeRoutes().filter((r) => r.csrf);
  assert(csrfRoutes.length >= 8, 'found the state-changing routes');
  for (const r of csrfRoutes) {
    const m = await meeting();
    let c = /^[A-Z]+ \/api\/admin\//.test(r.key) ? admin : m.org;
    // a machine the meeting's code names, for the routes of one machine
    if (r.key.startsWith('PUT /api/admin/machines/'))
      eq((await admin.req('POST', '/api/admin/machines', { name: m.code })).status, 201, 'a machine to put in a group');
    if (r.key === 'POST /api/auth/logout') {
      c = new Client(s);
      eq((await c.login(m.org.user.username)).status, 200, 'a session to log out');
    }
    const p = r.pattern.replace(':', m.code);
    const variants = [
      ['no token', { noCsrf: true }],
      ['a wrong token', { noCsrf: true, headers: { 'x-csrf-token': 'A'.repeat((c.csrf || 'x').length) } }],
      ['a foreign Origin', { headers: { origin: 'https://evil.example' } }],
      ['a 300-byte Origin', { headers: { origin: 'https://' + 'a'.repeat(280) + '.example' } }],
      ['Sec-Fetch-Site: cross-site', { headers: { 'sec-fetch-site': 'cross-site' } }],
      ['Sec-Fetch-Site: same-site', { headers: { 'sec-fetch-site': 'same-site' } }],
    ];
    for (const [what, opts] of variants) {
      const got = await c.req(r.method, p, bodyFor(r.key, m) || (r.json ? {} : undefined), Object.assign({ keepCookie: true }, opts));
      if (got.status !== 403) failures.push(`${r.key} with ${what}: ${got.status} ${got.text.slice(0, 100)}`);
    }
    const ok = await c.req(r.method, p, bodyFor(r.key, m) || (r.json ? {} : undefined),
      { keepCookie: true, headers: { origin: s.url, 'sec-fetch-site': 'same-origin' } });
    if (ok.status < 200 || ok.status > 299) failures.push(`${r.key} done right: ${ok.status} ${ok.text.slice(0, 100)}`);
  }
  eq(failures, [], 'CSRF outcomes');
});

test('cross-site lobby upgrades are refused (foreign Origin, 300-byte Origin, Sec-Fetch-Site cross-site); same-origin opens', async () => {
  const m = await meeting();
  const tries = [
    ['foreign Origin', { origin: 'https://evil.example' }],
    ['300-byte Origin', { origin: 'https://' + 'a'.repeat(280) + '.example' }],
    ['Sec-Fetch-Site: cross-site', { headers: { cookie: m.org.cookie, 'sec-fetch-site': 'cross-site' } }],
    ['Sec-Fetch-Site: same-site', { headers: { cookie: m.org.cookie, 'sec-fetch-site': 'same-site' } }],
  ];
  for (const [what, opts] of tries) {
    const sock = opts.headers ? new Sock(`${s.wsUrl}/lobby/${m.code}`, opts) : m.org.lobby(m.code, opts);
    let status = 'opened';
    try { await sock.opened; await sock.close(); } catch (e) { status = e.status; }
    eq(status, 403, `upgrade with ${what}`);
  }
  const ok = new Sock(`${s.wsUrl}/lobby/${m.code}`, { origin: s.url, headers: { cookie: m.org.cookie, 'sec-fetch-site': 'same-origin' } });
  await ok.opened;
  eq((await ok.next()).type, 'lobby', 'same-origin upgrade gets the snapshot');
  await ok.close();
});

run();
