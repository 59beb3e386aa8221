// SPDX-License-Identifier: GPL-2.0-only
// HTTP API: every route, the permission matrix (organiser / attendee /
// stranger / banned / signed out), CSRF and Origin checks, bad bodies,
// static files. Starts the real sphinx-server.
'use strict';
const { test, run, assert, eq, Server, Client, rawHttp } = require('./lib');

let s, org, att, stranger, banned, anon, code;

test('server starts and answers /api/health and /api/config', async () => {
  s = await new Server().start();
  anon = new Client(s);
  const h = await anon.req('GET', '/api/health');
  eq(h.status, 200, 'health'); eq(h.json.ok, true, 'ok');
  const c = await anon.req('GET', '/api/config');
  eq(c.json.local_auth, true, 'local auth'); eq(c.json.signup, true, 'signup open'); eq(c.json.oidc, false, 'no oidc');
});

test('signup: validation, duplicates, cookie attributes', async () => {
  const c = new Client(s);
  let r = await c.req('POST', '/api/auth/signup', { username: 'Bad Name', email: 'x@y.z', password: 'password1' });
  eq(r.status, 400, 'bad username');
  r = await c.req('POST', '/api/auth/signup', { username: 'shorty', email: 'x@y.z', password: 'short' });
  eq(r.status, 400, 'short password');
  r = await c.req('POST', '/api/auth/signup', { username: 'nomail', email: 'nope', password: 'password1' });
  eq(r.status, 400, 'bad email');
  org = await new Client(s).signup('olga');
  r = await new Client(s).req('POST', '/api/auth/signup', { username: 'olga', email: 'other@example.org', password: 'password1' });
  eq(r.status, 409, 'duplicate username');
  att = await new Client(s).signup('arthur');
  stranger = await new Client(s).signup('stan');
  banned = await new Client(s).signup('boris');
  const raw = await new Client(s).req('POST', '/api/auth/signup', { username: 'cookiecheck', email: 'cc@example.org', password: 'password1' });
  const sc = raw.headers.get('set-cookie');
  assert(/HttpOnly/.test(sc) && /SameSite=Lax/.test(sc) && /Path=\//.test(sc), 'cookie attributes: ' + sc);
  assert(/^sphinx_session=/.test(sc), 'plain cookie name without TLS: ' + sc);
  assert(!/Secure/.test(sc), 'no Secure flag without TLS');
});

test('login: right and wrong passwords; logout ends the session', async () => {
  const c = new Client(s);
  let r = await c.login('olga', 'wrong-password');
  eq(r.status, 401, 'wrong password'); eq(r.json.error, 'bad_credentials', 'code');
  r = await c.login('nobody', 'whatever-pass');
  eq(r.status, 401, 'unknown user');
  r = await c.login('olga');
  eq(r.status, 200, 'login'); assert(r.json.csrf, 'csrf token returned');
  r = await c.req('GET', '/api/me');
  eq(r.status, 200, 'me'); eq(r.json.user.username, 'olga', 'me user');
  const old = c.cookie;
  r = await c.req('POST', '/api/auth/logout');
  eq(r.status, 200, 'logout');
  c.cookie = old;
  r = await c.req('GET', '/api/me');
  eq(r.status, 401, 'old cookie no longer valid');
  assert(/failed login for 'olga'/.test(s.log), 'auth failure logged');
});

test('signed-out requests get 401 on every authenticated route', async () => {
  for (const [m, p] of [['GET', '/api/me'], ['GET', '/api/meetings'], ['POST', '/api/meetings'],
    ['POST', '/api/meetings/join'], ['GET', '/api/meetings/123456'], ['GET', '/api/meetings/123456/attendance'],
    ['GET', '/api/meetings/123456/recordings'], ['POST', '/api/meetings/123456/end'],
    ['POST', '/api/meetings/123456/organisers'], ['POST', '/api/meetings/123456/bans'],
    ['POST', '/api/auth/logout'], ['GET', '/api/admin/machines']]) {
    const r = await anon.req(m, p, m === 'POST' ? {} : undefined);
    eq(r.status, 401, `${m} ${p}`);
  }
});

test('CSRF: missing or wrong X-CSRF-Token and foreign Origin are refused', async () => {
  let r = await org.req('POST', '/api/meetings', { title: 'x' }, { noCsrf: true });
  eq(r.status, 403, 'no token'); eq(r.json.error, 'csrf', 'code');
  r = await org.req('POST', '/api/meetings', { title: 'x' }, { headers: { 'x-csrf-token': 'forged' }, noCsrf: true });
  eq(r.status, 403, 'wrong token');
  r = await org.req('POST', '/api/meetings', { title: 'x' }, { headers: { origin: 'https://evil.example' } });
  eq(r.status, 403, 'foreign origin'); eq(r.json.error, 'forbidden_origin', 'origin code');
  r = await org.req('POST', '/api/meetings', { title: 'x' }, { headers: { 'sec-fetch-site': 'cross-site' } });
  eq(r.status, 403, 'cross-site fetch');
  r = await org.req('POST', '/api/meetings', { title: 'x' }, { headers: { origin: s.url, 'sec-fetch-site': 'same-origin' } });
  eq(r.status, 201, 'same origin accepted');
  r = await new Client(s).req('POST', '/api/auth/login', { username: 'olga', password: 'password-olga' }, { headers: { origin: 'https://evil.example' } });
  eq(r.status, 403, 'login from a foreign origin refused');
});

test('create meeting: unguessable abc-defg-hij code, validation, external link', async () => {
  let r = await org.req('POST', '/api/meetings', { title: '' });
  eq(r.status, 400, 'empty title');
  r = await org.req('POST', '/api/meetings', { title: 'ok', link: 'javascript:alert(1)' });
  eq(r.status, 400, 'bad link');
  r = await org.req('POST', '/api/meetings', { title: 'Teams call', link: 'https://teams.example/meet/1' });
  eq(r.status, 201, 'external'); eq(r.json.meeting.in_app, false, 'not in app'); eq(r.json.meeting.link, 'https://teams.example/meet/1', 'link');
  code = await org.createMeeting('Linear algebra');
  assert(/^[a-z]{3}-[a-z]{4}-[a-z]{3}$/.test(code), 'abc-defg-hij: ' + code);
  const codes = new Set();
  for (let i = 0; i < 20; i++) codes.add(await org.createMeeting('m' + i));
  eq(codes.size, 20, 'codes unique');
});

test('join by code: unknown code 404 with message, malformed code, success', async () => {
  let r = await att.join('zzz-zzzz-zzz');
  eq(r.status, 404, 'unknown code'); assert(r.json.message, 'has a message');
  r = await att.join(code.toUpperCase().replace(/-/g, ' '));
  eq(r.status, 200, 'typed in capitals with spaces'); eq(r.json.meeting.code, code, 'canonical code back');
  r = await att.join('12ab');
  eq(r.status, 404, 'malformed');
  r = await att.req('POST', '/api/meetings/join', {});
  eq(r.status, 400, 'missing code');
  r = await att.join(code);
  eq(r.status, 200, 'join'); eq(r.json.meeting.role, 'attendee', 'role'); eq(r.json.lobby, `/lobby/${code}`, 'lobby path');
  r = await banned.join(code);
  eq(r.status, 200, 'boris joins');
  r = await org.join(code);
  eq(r.json.meeting.role, 'organiser', 'organiser re-join keeps role');
});

test('my meetings: ongoing and past', async () => {
  const r = await att.req('GET', '/api/meetings');
  eq(r.status, 200, 'list');
  assert(r.json.ongoing.some((m) => m.code === code), 'joined meeting is ongoing');
  eq(r.json.past.length, 0, 'nothing past');
  const o = await org.req('GET', '/api/meetings');
  assert(o.json.ongoing.length >= 22, 'organiser sees own meetings');
  const mine = o.json.ongoing.find((m) => m.code === code);
  eq(mine.organiser, true, 'organiser flag');
});

test('permission matrix: meeting details, attendance, recordings, chat', async () => {
  const want = {
    organiser: { get: 200, attendance: 200, recordings: 200, chat: 200 },
    attendee: { get: 200, attendance: 403, recordings: 403, chat: 200 },
    stranger: { get: 403, attendance: 403, recordings: 403, chat: 403 },
  };
  for (const [who, c] of [['organiser', org], ['attendee', att], ['stranger', stranger]]) {
    const g = await c.req('GET', `/api/meetings/${code}`);
    eq(g.status, want[who].get, `${who} details`);
    eq((await c.req('GET', `/api/meetings/${code}/attendance`)).status, want[who].attendance, `${who} attendance`);
    eq((await c.req('GET', `/api/meetings/${code}/recordings`)).status, want[who].recordings, `${who} recordings`);
    eq((await c.req('GET', `/api/meetings/${code}/chat`)).status, want[who].chat, `${who} chat`);
    if (who === 'organiser') {
      assert(Array.isArray(g.json.attendance) && Array.isArray(g.json.recordings), 'organiser sees attendance + recordings');
      assert(g.json.people.some((p) => p.email), 'organiser sees e-mails');
    }
    if (who === 'attendee') {
      assert(!('recordings' in g.json) && !('attendance' in g.json), 'attendee sees no log');
      assert(!g.json.people.some((p) => p.email), 'attendee sees no e-mails');
    }
  }
  const r = await att.req('GET', `/api/meetings/${code}/recordings`);
  eq(r.json.error, 'organisers_only', 'attendee 403 code');
});

test('permission matrix: end, add organiser, ban are organiser-only', async () => {
  for (const [who, c] of [['attendee', att], ['stranger', stranger]]) {
    eq((await c.req('POST', `/api/meetings/${code}/end`)).status, 403, `${who} end`);
    eq((await c.req('POST', `/api/meetings/${code}/organisers`, { username: 'stan' })).status, 403, `${who} add organiser`);
    eq((await c.req('POST', `/api/meetings/${code}/bans`, { user_id: banned.user.id })).status, 403, `${who} ban`);
  }
});

test('ban: organiser bans; banned user is locked out everywhere', async () => {
  let r = await org.req('POST', `/api/meetings/${code}/bans`, { user_id: org.user.id });
  eq(r.status, 400, 'cannot ban yourself');
  r = await org.req('POST', `/api/meetings/${code}/bans`, {});
  eq(r.status, 400, 'user_id required');
  r = await org.req('POST', `/api/meetings/${code}/bans`, { user_id: 999999 });
  eq(r.status, 404, 'unknown user');
  r = await org.req('POST', `/api/meetings/${code}/bans`, { user_id: banned.user.id, reason: 'disruptive' });
  eq(r.status, 200, 'ban');
  r = await org.req('POST', `/api/meetings/${code}/bans`, { user_id: banned.user.id });
  eq(r.status, 409, 'already banned');
  eq((await banned.join(code)).status, 403, 'banned cannot re-join');
  eq((await banned.req('GET', `/api/meetings/${code}`)).status, 403, 'banned cannot read');
  eq((await banned.req('GET', `/api/meetings/${code}/chat`)).status, 403, 'banned cannot read chat');
  const l = await banned.req('GET', '/api/meetings');
  assert(!l.json.ongoing.some((m) => m.code === code), 'meeting gone from banned user list');
  const d = await org.req('GET', `/api/meetings/${code}`);
  assert(d.json.bans.some((b) => b.user_id === banned.user.id && b.reason === 'disruptive'), 'ban listed');
  assert(/ban: user \d+ banned from meeting/.test(s.log), 'ban logged');
});

test('add co-organiser: by username, e-mail or id; they gain organiser rights', async () => {
  let r = await org.req('POST', `/api/meetings/${code}/organisers`, {});
  eq(r.status, 400, 'needs a user');
  r = await org.req('POST', `/api/meetings/${code}/organisers`, { username: 'ghost' });
  eq(r.status, 404, 'unknown');
  r = await org.req('POST', `/api/meetings/${code}/organisers`, { email: 'arthur@example.org' });
  eq(r.status, 200, 'add arthur');
  r = await org.req('POST', `/api/meetings/${code}/organisers`, { user_id: att.user.id });
  eq(r.status, 409, 'already organiser');
  eq((await att.req('GET', `/api/meetings/${code}/recordings`)).status, 200, 'co-organiser sees recordings');
  r = await org.req('POST', `/api/meetings/${code}/organisers`, { user_id: banned.user.id });
  eq(r.status, 400, 'banned user cannot become organiser');
});

test('end meeting: moves to past; joining an ended meeting is 410', async () => {
  const c2 = await org.createMeeting('short one');
  eq((await stranger.join(c2)).status, 200, 'join');
  eq((await org.req('POST', `/api/meetings/${c2}/end`)).status, 200, 'end');
  eq((await org.req('POST', `/api/meetings/${c2}/end`)).status, 409, 'end twice');
  const l = await stranger.req('GET', '/api/meetings');
  assert(l.json.past.some((m) => m.code === c2), 'in past');
  const c3 = await org.createMeeting('ended before joining');
  await org.req('POST', `/api/meetings/${c3}/end`);
  eq((await att.join(c3)).status, 410, 'ended: 410');
});

test('bad bodies: malformed JSON, non-object, oversize, unknown route, wrong method', async () => {
  let r = await org.req('POST', '/api/meetings', '{"title": ');
  eq(r.status, 400, 'malformed'); eq(r.json.error, 'bad_json', 'code');
  r = await org.req('POST', '/api/meetings', '[1,2]');
  eq(r.status, 400, 'array body');
  r = await org.req('POST', '/api/meetings', '{"title":"a","title":"b"}');
  eq(r.status, 400, 'duplicate keys');
  r = await org.req('POST', '/api/meetings', JSON.stringify({ title: 'x'.repeat(70000) }));
  eq(r.status, 413, 'over 64 KiB');
  r = await org.req('GET', '/api/nope');
  eq(r.status, 404, 'unknown route');
  r = await org.req('DELETE', '/api/meetings');
  eq(r.status, 405, 'wrong method');
  r = await org.req('POST', '/api/meetings', { title: 123 });
  eq(r.status, 400, 'title not a string');
  const h = await anon.req('GET', '/api/health');
  eq(h.status, 200, 'server unharmed');
});

test('admin: enroll machines via API (admins only) and via the command line', async () => {
  let r = await org.req('POST', '/api/admin/machines', { name: 'lab-1' });
  eq(r.status, 403, 'non-admin');
  const out = s.admin(['add-user', 'root-admin', '--email', 'admin@example.org', '--admin'], 'admin-password\n');
  eq(out.code, 0, 'add-user: ' + out.err);
  const a = new Client(s);
  eq((await a.login('root-admin', 'admin-password')).status, 200, 'admin login');
  r = await a.req('POST', '/api/admin/machines', { name: 'lab-1' });
  eq(r.status, 201, 'enroll'); assert(r.json.token && r.json.token.length >= 40, 'token');
  r = await a.req('POST', '/api/admin/machines', { name: 'lab-1' });
  eq(r.status, 409, 'duplicate name');
  r = await a.req('POST', '/api/admin/machines', { name: 'bad name!' });
  eq(r.status, 400, 'bad name');
  r = await a.req('GET', '/api/admin/machines');
  assert(r.json.machines.some((m) => m.name === 'lab-1'), 'listed');
  const e = s.admin(['enroll-machine', 'lab-2']);
  eq(e.code, 0, 'cli enroll'); assert(e.out.length >= 40, 'cli token printed');
});

test('static files: index, MIME types, no traversal', async () => {
  let r = await anon.req('GET', '/');
  eq(r.status, 200, 'index'); assert(/text\/html/.test(r.headers.get('content-type')), 'html type');
  r = await anon.req('GET', '/index.html');
  eq(r.status, 200, 'index.html');
  r = await anon.req('GET', '/nope.js');
  eq(r.status, 404, 'missing');
  // Raw bytes over a socket: fetch() would resolve the dots before sending.
  // web_root is server/web, so server/main.c is one '..' away.
  for (const p of ['/../main.c', '/../../README.md', '/%2e%2e/main.c', '/..%2fmain.c', '/js/../../main.c', '/./../main.c',
    '//etc/passwd', '/../../../../../../etc/passwd']) {
    const x = (await rawHttp(s.port, `GET ${p} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`)).toString('latin1');
    const status = x.split('\r\n')[0];
    assert(/^HTTP\/1\.1 \d{3} /.test(status), `traversal ${p}: an HTTP answer (${JSON.stringify(x.slice(0, 60))})`);
    assert(!/SPDX-License|A privacy guard for online meetings|root:.*:0:0:/.test(x), `traversal ${p} served a file outside web_root: ${status}`);
  }
  const inside = (await rawHttp(s.port, 'GET /./index.html HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n')).toString();
  assert(/^HTTP\/1\.1 200/.test(inside), 'a dot segment inside web_root still serves: ' + inside.slice(0, 60));
  r = await anon.req('POST', '/index.html', {});
  eq(r.status, 405, 'static is read-only');
  assert(s.alive(), 'server alive');
});

run();
