// SPDX-License-Identifier: GPL-2.0-only
// The fleet view's server side (docs/fleet.md), with agent protocol clients:
// the agent's "status" report is stored and listed (kernel, layers) by
// GET /api/admin/machines; online / silent / shut down / never connected;
// the people at the screen; the last capture event; spool drops since the
// previous hello; problems first (degraded, dropping, policy error, silent,
// then the rest by name); ?state= and ?group= filters; the CSV has the same
// rows; non-admins get 403; a malformed or oversized status is refused with
// an error naming the rule and the report stored before stays.
'use strict';
const { test, run, assert, eq, sleep, Server, Client, agent, captureEvent } = require('./lib');

let s, admin, alice, tokens = {};
const socks = {};
const BOOT = 'f1ee7000-0000-4000-8000-00000000000';
const LAYERS_OK = [
  { name: 'exec', state: 'attached', detail: '2 of 2 probes attached' },
  { name: 'device', state: 'attached', detail: '1 of 1 probes attached' },
  { name: 'api', state: 'off', detail: 'none of 3 probes in place: XGetImage (/usr/lib/libX11.so.6): library absent' },
];
const LAYERS_DEGRADED = [
  { name: 'exec', state: 'attached', detail: '2 of 2 probes attached' },
  // a comma and quotes: the CSV must quote the cell and double the quotes
  { name: 'api', state: 'degraded', detail: '1 of 9 probes refused by the kernel: XGetImage (/usr/lib/libX11.so.6): "Operation not permitted", -EPERM' },
];

async function machines(client = admin, q = '') { return client.req('GET', '/api/admin/machines' + q); }
async function byName(name) { return (await machines()).json.machines.find((m) => m.name === name); }

// An agent that says hello (and keeps beating), then sends its status.
async function connect(name, i, hello = {}, status) {
  const ag = agent(s, tokens[name]);
  await ag.opened;
  ag.send(Object.assign({ type: 'hello', v: 1, machine: name, boot_id: BOOT + i, agent_version: '0.9.1' }, hello));
  await ag.next('welcome');
  ag.beat = setInterval(() => ag.send({ type: 'heartbeat', v: 1, ts: Date.now() * 1e6 }), 300);
  ag.closed.then(() => clearInterval(ag.beat), () => clearInterval(ag.beat));
  if (status) {
    ag.send(Object.assign({ type: 'status', v: 1 }, status));
    await ag.none('error');  // the marker comes after the status was handled
  }
  socks[name] = ag;
  return ag;
}

// RFC 4180, enough for what the server writes (quotes, doubled quotes, CRLF).
function parseCsv(text) {
  const rows = []; let row = [], cell = '', q = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (q) {
      if (c === '"' && text[i + 1] === '"') { cell += '"'; i++; } else if (c === '"') q = false; else cell += c;
    } else if (c === '"') q = true;
    else if (c === ',') { row.push(cell); cell = ''; }
    else if (c === '\r' && text[i + 1] === '\n') { row.push(cell); rows.push(row); row = []; cell = ''; i++; }
    else cell += c;
  }
  if (cell || row.length) { row.push(cell); rows.push(row); }
  return rows;
}

test('setup: an admin, a user at a lab machine, seven enrolled machines', async () => {
  // silent after 2 missed 1 s beats + 0.5 s: the agents here beat every 300 ms (a loaded machine may stall them a while)
  s = await new Server({ args: ['-o', 'agent_heartbeat=1s', '-o', 'agent_missed_heartbeats=2'] }).start();
  eq(s.admin(['add-user', 'fleet-admin', '--email', 'fa@example.org', '--admin'], 'admin-password\n').code, 0, 'add admin');
  admin = new Client(s);
  eq((await admin.login('fleet-admin', 'admin-password')).status, 200, 'admin login');
  alice = await new Client(s).signup('alice');
  for (const n of ['lab-ok', 'lab-degraded', 'lab-dropping', 'lab-silent', 'lab-down', 'lab-never', 'lab-policy']) {
    const e = s.admin(['enroll-machine', n]);
    eq(e.code, 0, 'enroll ' + n + ': ' + e.err);
    tokens[n] = e.out.trim();
  }
});

test('status is stored and shown: kernel, arch, layers; online; the person at the screen', async () => {
  const before = await byName('lab-ok');
  eq(before.status, null, 'no report before the agent sent one');
  eq(before.state, 'never', 'never connected');
  await connect('lab-ok', 1, { users: ['alice'] }, { kernel: '6.18.0-fleet-test', arch: 'x86_64', layers: LAYERS_OK });
  const m = await byName('lab-ok');
  eq(m.kernel, '6.18.0-fleet-test', 'kernel');
  eq(m.status, { arch: 'x86_64', layers: LAYERS_OK }, 'status as sent');
  assert(m.status_at > 0, 'status_at');
  eq(m.state, 'online', 'online');
  eq(m.agent_version, '0.9.1', 'agent version');
  eq(m.problems, [], 'no problem');
  eq(m.people, [{ id: alice.user.id, name: 'ALICE' }], 'alice is at its screen');
  eq(m.group, 'default', 'group');
  eq(m.policy_version, null, 'no policy reported');
});

test('a new status replaces the old one (the agent sends it on every change)', async () => {
  const ag = socks['lab-ok'];
  const layers = LAYERS_OK.map((l) => (l.name === 'api' ? { name: 'api', state: 'attached', detail: '3 of 3 probes attached' } : l));
  ag.send({ type: 'status', v: 1, kernel: '6.18.0-fleet-test', arch: 'x86_64', layers });
  await ag.none('error');
  eq((await byName('lab-ok')).status.layers[2].state, 'attached', 'api now attached');
});

test('last event: the newest capture event stored for the machine', async () => {
  const ag = socks['lab-ok'];
  eq((await byName('lab-ok')).last_event_at, null, 'none yet');
  const ts = Date.now() - 5000;
  const ev = captureEvent('capture.begin', 1, { boot: BOOT + 1, extra: { ts: ts * 1e6 } });
  ag.send(ev);
  eq((await ag.next('ack')).id, ev.id, 'ack');
  eq((await byName('lab-ok')).last_event_at, ts, 'last_event_at is the event time');
  const older = captureEvent('capture.end', 2, { boot: BOOT + 1, extra: { ts: (ts - 60000) * 1e6 } });
  ag.send(older);
  await ag.next('ack');
  eq((await byName('lab-ok')).last_event_at, ts, 'an older (replayed) event does not move it back');
});

test('degraded, dropping, silent and shut down machines', async () => {
  await connect('lab-degraded', 2, {}, { kernel: '6.1.0-old', layers: LAYERS_DEGRADED });
  const drop = await connect('lab-dropping', 3, { spool_dropped: 0 }, { kernel: '6.18.0', layers: LAYERS_OK });
  eq((await byName('lab-dropping')).problems, [], 'no drop reported yet');
  await drop.close();
  await connect('lab-dropping', 4, { spool_dropped: 7 }, { kernel: '6.18.0', layers: LAYERS_OK });
  const d = await byName('lab-dropping');
  eq([d.spool_dropped, d.spool_dropped_new], [7, 7], '7 dropped since the hello before');
  const quiet = await connect('lab-silent', 5, {}, { kernel: '6.18.0', layers: LAYERS_OK });
  clearInterval(quiet.beat);  // it stops talking: silent after 2.5 s
  const down = await connect('lab-down', 6, {}, { kernel: '6.18.0', layers: LAYERS_OK });
  down.send({ type: 'goodbye', v: 1, reason: 'shutdown' });
  await down.closed;
  await quiet.closed;
  eq((await byName('lab-silent')).state, 'silent', 'silent');
  const dn = await byName('lab-down');
  eq([dn.state, dn.offline_reason], ['shutdown', 'shutdown'], 'shut down');
  assert(dn.state_at > 0, 'since when');
  eq((await byName('lab-degraded')).problems, ['degraded'], 'degraded flagged');
  eq((await byName('lab-silent')).problems, ['silent'], 'silent flagged');
  eq((await byName('lab-dropping')).problems, ['dropping'], 'dropping flagged');
});

test('a policy error (policy.state) in another group (policy14)', async () => {
  const g = await admin.req('PUT', '/api/admin/machines/lab-policy/group', { group: 'annex' });
  eq(g.status, 200, 'group set: ' + g.text);
  const ag = await connect('lab-policy', 8, {}, { kernel: '6.18.0', layers: LAYERS_OK });
  ag.send({ type: 'policy.state', v: 1, source: 'server', version: null, rules: 0,
    error: 'policy.d/x.yml:3:7: unknown modifier \'endwith\' (did you mean \'endswith\'?)' });
  await ag.none('error');
  const m = await byName('lab-policy');
  eq([m.group, m.problems], ['annex', ['policy_error']], 'flagged policy_error in annex');
  assert(/x\.yml:3:7: unknown modifier/.test(m.policy_error), 'the error as the agent said it');
});

test('problems first: degraded, dropping, policy error, silent, then the rest by name', async () => {
  const r = await machines();
  eq(r.status, 200, 'status');
  eq(r.json.machines.map((m) => m.name),
    ['lab-degraded', 'lab-dropping', 'lab-policy', 'lab-silent', 'lab-down', 'lab-never', 'lab-ok'], 'order');
  eq(r.json.groups, ['annex', 'default'], 'groups');
});

test('a hello that reports no new drop clears "dropping"', async () => {
  await socks['lab-dropping'].close();
  await connect('lab-dropping', 7, { spool_dropped: 7 }, { kernel: '6.18.0', layers: LAYERS_OK });
  const d = await byName('lab-dropping');
  eq([d.spool_dropped, d.spool_dropped_new, d.problems], [7, 0, []], 'no new drop');
});

test('filters: ?state= and ?group=, and a bad state named', async () => {
  eq((await machines(admin, '?state=online')).json.machines.map((m) => m.name), ['lab-degraded', 'lab-policy', 'lab-dropping', 'lab-ok'], 'online (lab-dropping no longer dropping)');
  eq((await machines(admin, '?state=silent')).json.machines.map((m) => m.name), ['lab-silent'], 'silent');
  eq((await machines(admin, '?state=shutdown')).json.machines.map((m) => m.name), ['lab-down'], 'shutdown');
  eq((await machines(admin, '?state=never')).json.machines.map((m) => m.name), ['lab-never'], 'never');
  eq((await machines(admin, '?group=default')).json.machines.length, 6, 'group default: all but lab-policy');
  const b = (await machines(admin, '?group=annex')).json;
  eq(b.machines.map((m) => m.name), ['lab-policy'], 'group annex');
  eq(b.groups, ['annex', 'default'], 'groups are the whole fleet\'s, not filtered');
  eq((await machines(admin, '?group=room-c')).json.machines, [], 'an unknown group: none');
  eq((await machines(admin, '?group=default&state=silent')).json.machines.map((m) => m.name), ['lab-silent'], 'both');
  const bad = await machines(admin, '?state=asleep');
  eq(bad.status, 400, '400');
  assert(/"state" is one of online, silent/.test(bad.json.message), 'names the values: ' + bad.json.message);
  const long = await machines(admin, '?group=' + 'g'.repeat(200));
  eq(long.status, 400, 'an overlong group: 400');
});

test('CSV: the same rows in the same order, parsed back', async () => {
  const j = (await machines()).json.machines;
  const r = await admin.req('GET', '/api/admin/machines.csv');
  eq(r.status, 200, 'status');
  assert(/^text\/csv/.test(r.headers.get('content-type')), 'content type ' + r.headers.get('content-type'));
  assert(/attachment; filename="machines.csv"/.test(r.headers.get('content-disposition')), 'a download');
  const rows = parseCsv(r.text);
  const head = rows.shift();
  eq(head.slice(0, 4), ['name', 'group', 'state', 'state_at'], 'header');
  const col = (k) => head.indexOf(k);
  eq(rows.length, j.length, 'one row per machine');
  eq(rows.map((x) => x[col('name')]), j.map((m) => m.name), 'same order');
  eq(rows.map((x) => x[col('state')]), j.map((m) => m.state), 'states');
  eq(rows.map((x) => x[col('kernel')]), j.map((m) => m.kernel || ''), 'kernels');
  eq(rows.map((x) => x[col('problems')]), j.map((m) => m.problems.join(' ')), 'problems');
  const deg = rows.find((x) => x[col('name')] === 'lab-degraded');
  eq(deg[col('layers')], 'exec=attached; api=degraded: ' + LAYERS_DEGRADED[1].detail, 'layers say why, quotes and comma intact');
  eq(deg.length, head.length, 'as many cells as columns');
  const ok = rows.find((x) => x[col('name')] === 'lab-ok');
  eq(ok[col('people')], 'ALICE', 'people');
  eq(ok[col('last_event_at')], new Date(j.find((m) => m.name === 'lab-ok').last_event_at).toISOString().replace(/\.\d+Z$/, 'Z'), 'ISO time');
  const f = parseCsv((await admin.req('GET', '/api/admin/machines.csv?state=silent')).text);
  eq(f.length, 2, 'filters apply to the CSV too');
});

test('non-admins get 403, strangers 401', async () => {
  for (const p of ['/api/admin/machines', '/api/admin/machines.csv']) {
    const r = await alice.req('GET', p);
    eq([r.status, r.json && r.json.error], [403, 'admins_only'], p + ' as alice');
    eq((await new Client(s).req('GET', p)).status, 401, p + ' signed out');
  }
});

test('a malformed or oversized status is refused, naming the rule; the stored report stays', async () => {
  const ag = socks['lab-ok'];
  const before = await byName('lab-ok');
  const cases = [
    [{ layers: [] }, /"kernel" must be a string of 1 to 128 bytes/],
    [{ kernel: 'k'.repeat(129), layers: [] }, /"kernel" must be a string of 1 to 128 bytes/],
    [{ kernel: '6.18', arch: 7, layers: [] }, /"arch" must be a string/],
    [{ kernel: '6.18' }, /"layers" must be an array of at most 16/],
    [{ kernel: '6.18', layers: Array.from({ length: 17 }, () => LAYERS_OK[0]) }, /"layers" must be an array of at most 16/],
    [{ kernel: '6.18', layers: ['exec'] }, /layers\[0\] must be an object/],
    [{ kernel: '6.18', layers: [LAYERS_OK[0], { name: 'api', state: 'broken' }] }, /layers\[1\]\.state must be "attached", "degraded" or "off"/],
    [{ kernel: '6.18', layers: [{ name: '', state: 'off' }] }, /layers\[0\]\.name must be a string of 1 to 32 bytes/],
    [{ kernel: '6.18', layers: [{ name: 'api', state: 'off', detail: 'd'.repeat(513) }] }, /layers\[0\]\.detail must be a string of at most 512 bytes/],
  ];
  for (const [body, re] of cases) {
    ag.send(Object.assign({ type: 'status', v: 1 }, body));
    const e = await ag.next('error');
    eq(e.code, 'bad_message', 'bad_message for ' + JSON.stringify(body).slice(0, 60));
    assert(re.test(e.message), `message ${JSON.stringify(e.message)} matches ${re}`);
  }
  const after = await byName('lab-ok');
  eq([after.kernel, after.status, after.status_at], [before.kernel, before.status, before.status_at], 'nothing stored was lost');
  eq(after.state, 'online', 'the agent stays connected');
  // a key the server does not know is not stored (what is stored is the server's own JSON)
  ag.send({ type: 'status', v: 1, kernel: '6.18.1', layers: [Object.assign({ extra: 'x'.repeat(1000) }, LAYERS_OK[0])], junk: 1 });
  await ag.none('error');
  eq((await byName('lab-ok')).status, { arch: null, layers: [LAYERS_OK[0]] }, 'only the known keys');
});

test('status before hello: hello_required, nothing stored', async () => {
  const ag = agent(s, tokens['lab-never']);
  await ag.opened;
  ag.send({ type: 'status', v: 1, kernel: '6.18', layers: [] });
  eq((await ag.next('error')).code, 'hello_required', 'refused');
  await ag.close();
  eq((await byName('lab-never')).kernel, null, 'nothing stored');
});

test('the server log names a degraded layer once per report', async () => {
  assert(/agent: machine 'lab-degraded' \(kernel 6\.1\.0-old\): layer api degraded: 1 of 9 probes refused/.test(s.log), 'logged');
  for (const ag of Object.values(socks)) clearInterval(ag.beat);
});

run();
