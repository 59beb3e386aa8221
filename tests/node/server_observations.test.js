// SPDX-License-Identifier: GPL-2.0-only
// Observations (issue 14): what opted-in agents' policies saw, kept for
// `sphinx-policy test`. The agent socket accepts "observations" batches and
// refuses malformed or oversized ones whole, naming the problem; welcome
// says whether the server keeps them; retention 0 refuses them. The admin
// export (GET /api/admin/observations) is admins only, JSON lines, paged
// with X-Sphinx-Next-After, filtered by since and machine, and says the
// same as `sphinx-server observations export`.
'use strict';
const { test, run, assert, eq, Server, Client, agent } = require('./lib');

const BOOT = 'b00t0000-0000-4000-8000-00000000e014';
let s, admin, bob, ag, ag2;

function ev(i, extra = {}) {
  return Object.assign({
    category: 'process_creation', ts: Date.now() * 1e6, pid: 1000 + i,
    fields: { Image: `/usr/bin/tool-${i}`, CommandLine: `tool-${i} --n ${i}`, Comm: `tool-${i}`, User: 'alice', Uid: '1000' },
    argv: [`tool-${i}`, '--n', String(i)],
  }, extra);
}

async function hello(sock, machine) {
  await sock.opened;
  sock.send({ type: 'hello', v: 1, machine, boot_id: BOOT, agent_version: 't' });
  return sock.next('welcome');
}

// The export's lines (parsed) and its next-page cursor.
async function exportPage(client, query = '') {
  const r = await client.req('GET', '/api/admin/observations' + query);
  const lines = r.status === 200 ? r.text.split('\n').filter((l) => l).map((l) => JSON.parse(l)) : null;
  return { r, lines, next: r.headers.get('x-sphinx-next-after') };
}

test('setup: an admin, a user, two enrolled machines; welcome says observations are kept', async () => {
  s = await new Server().start();
  eq(s.admin(['add-user', 'adm', '--email', 'adm@example.org', '--admin'], 'pw-adm-obs\n').code, 0, 'add admin');
  admin = new Client(s);
  eq((await admin.login('adm', 'pw-adm-obs')).status, 200, 'admin login');
  bob = await new Client(s).signup('bob');
  ag = agent(s, s.admin(['enroll-machine', 'obs-lab-1']).out);
  ag2 = agent(s, s.admin(['enroll-machine', 'obs-lab-2']).out);
  eq((await hello(ag, 'obs-lab-1')).observations, true, 'welcome.observations');
  await hello(ag2, 'obs-lab-2');
});

test('before hello an observations batch is refused (hello_required)', async () => {
  const early = agent(s, s.admin(['enroll-machine', 'obs-early']).out);
  await early.opened;
  early.send({ type: 'observations', v: 1, events: [ev(0)] });
  eq((await early.next('error')).code, 'hello_required', 'code');
  await early.close();
});

test('a good batch is stored as sent, in order, with machine and receipt time', async () => {
  const before = Date.now();
  ag.send({ type: 'observations', v: 1, events: [ev(1), ev(2), ev(3)] });
  await ag.none('error');
  ag2.send({ type: 'observations', v: 1, events: [ev(4)] });
  await ag2.none('error');
  const { r, lines, next } = await exportPage(admin);
  eq(r.status, 200, 'status ' + r.text);
  assert(/application\/x-ndjson/.test(r.headers.get('content-type')), 'ndjson: ' + r.headers.get('content-type'));
  eq(next, null, 'one page');
  eq(lines.map((l) => l.fields.Image).join(' '), '/usr/bin/tool-1 /usr/bin/tool-2 /usr/bin/tool-3 /usr/bin/tool-4', 'rows');
  eq(lines.map((l) => l.machine).join(' '), 'obs-lab-1 obs-lab-1 obs-lab-1 obs-lab-2', 'machines');
  eq(JSON.stringify(lines[0].argv), JSON.stringify(ev(1).argv), 'argv kept');
  assert(lines.every((l) => l.received >= before && l.received <= Date.now()), 'received is the server time');
});

test('malformed and oversized batches are refused whole, naming the problem; nothing of them is stored', async () => {
  const cases = [
    [{ type: 'observations', v: 1 }, /"events" must be an array of 1 to 256 events/],
    [{ type: 'observations', v: 1, events: {} }, /"events" must be an array/],
    [{ type: 'observations', v: 1, events: [] }, /"events" must be an array of 1 to 256/],
    [{ type: 'observations', v: 1, events: Array.from({ length: 257 }, (_, i) => ({ category: 'process_creation', pid: i })) },
      /"events" must be an array of 1 to 256 events/],
    [{ type: 'observations', v: 1, events: [ev(5), 'text'] }, /event 1: not a JSON object/],
    [{ type: 'observations', v: 1, events: [ev(5), { fields: {} }] }, /event 1: "category" must be a string of 1 to 32 bytes/],
    [{ type: 'observations', v: 1, events: [ev(5, { category: 'x'.repeat(33) })] }, /event 0: "category" must be a string/],
    [{ type: 'observations', v: 1, events: [ev(5, { fields: 'Image=/x' })] }, /event 0: "fields" must be an object/],
    [{ type: 'observations', v: 1, events: [ev(5, { argv: 'tool -x' })] }, /event 0: "argv" must be an array/],
    [{ type: 'observations', v: 1, events: [ev(5), ev(6, { fields: { CommandLine: 'x'.repeat(17000) } })] },
      /event 1: larger than 16384 bytes/],
  ];
  // refused batches count against the connection's rate too: a fresh connection for each
  const t = s.admin(['enroll-machine', 'obs-bad']).out;
  for (const [msg, re] of cases) {
    const bad = agent(s, t);
    await hello(bad, 'obs-bad');
    bad.send(msg);
    const e = await bad.next('error');
    eq(e.code, 'bad_message', 'code for ' + re);
    assert(re.test(e.message), `message "${e.message}" matches ${re}`);
    await bad.close();
  }
  const { lines } = await exportPage(admin);
  eq(lines.length, 4, 'still the four good rows');
  assert(!lines.some((l) => l.pid === 1005 || l.pid === 1006), 'no row of a refused batch');
  assert(s.alive(), 'server alive');
});

test('the export is admins only: 401 signed out, 403 for a user, JSON error', async () => {
  const anon = await new Client(s).req('GET', '/api/admin/observations');
  eq(anon.status, 401, 'signed out');
  const r = await bob.req('GET', '/api/admin/observations');
  eq(r.status, 403, 'user');
  eq(r.json.error, 'admins_only', 'code');
  assert(!/tool-1/.test(r.text), 'no observation in the refusal');
});

test('filters: machine, group, since (duration or ms), after; bad values are 400 naming the parameter', async () => {
  let p = await exportPage(admin, '?machine=obs-lab-2');
  eq(p.lines.map((l) => l.fields.Image).join(' '), '/usr/bin/tool-4', 'machine');
  p = await exportPage(admin, '?since=1h');
  eq(p.lines.length, 4, 'since 1h');
  p = await exportPage(admin, '?since=' + (Date.now() + 60000));
  eq(p.lines.length, 0, 'since the future');
  p = await exportPage(admin, '?since=7d&machine=no-such');
  eq(p.lines.length, 0, 'unknown machine');
  const g = s.admin(['machine-group', 'obs-lab-2', 'room-b']);
  eq(g.code, 0, 'machine-group: ' + g.err);
  p = await exportPage(admin, '?group=room-b');
  eq(p.lines.map((l) => l.machine).join(' '), 'obs-lab-2', 'group room-b');
  p = await exportPage(admin, '?group=default');
  eq(p.lines.map((l) => l.machine).join(' '), 'obs-lab-1 obs-lab-1 obs-lab-1', 'group default: machines in none');
  const cli = s.admin(['observations', 'export', '--group', 'room-b']);
  eq(cli.out.split('\n').length, 1, 'CLI --group: ' + cli.err);
  for (const [q, re] of [['?since=yesterday', /"since"/], ['?since=-5d', /"since"/], ['?after=x', /"after"/],
    ['?machine=' + 'm'.repeat(65), /"machine"/], ['?group=' + 'g'.repeat(65), /"group"/]]) {
    const r = await admin.req('GET', '/api/admin/observations' + q);
    eq(r.status, 400, q);
    assert(re.test(r.json.message), `${q}: ${r.json.message}`);
  }
});

test('one connection: a burst of 10 batches, then at most one a second (rate_limited, dropped)', async () => {
  const t = s.admin(['enroll-machine', 'obs-burst']).out;
  const b = agent(s, t);
  await hello(b, 'obs-burst');
  for (let i = 0; i < 10; i++) b.send({ type: 'observations', v: 1, events: [ev(5000 + i)] });
  await b.none('error');
  b.send({ type: 'observations', v: 1, events: [ev(5010)] });
  const e = await b.next('error');
  eq(e.code, 'rate_limited', 'code');
  assert(/at most 1 batch a second \(after a burst of 10\)/.test(e.message), e.message);
  const { lines } = await exportPage(admin, '?machine=obs-burst');
  eq(lines.map((l) => l.pid - 1000).join(','), '5000,5001,5002,5003,5004,5005,5006,5007,5008,5009', 'the burst kept, the next dropped');
  await b.close();
});

test('paged: pages of about 1 MiB follow X-Sphinx-Next-After to the end, every row once, in order', async () => {
  // 6 machines x 10 batches (their burst) of 40 events of ~1.3 KB, each message under 64 KiB:
  // about 3 MiB, three or four pages
  const pad = 'p'.repeat(1200);
  const socks = [];
  for (let m = 0; m < 6; m++) {
    const sock = agent(s, s.admin(['enroll-machine', `obs-page-${m}`]).out);
    await hello(sock, `obs-page-${m}`);
    socks.push(sock);
  }
  for (let m = 0; m < 6; m++) {
    for (let b = 0; b < 10; b++) {
      socks[m].send({ type: 'observations', v: 1, events: Array.from({ length: 40 }, (_, i) =>
        ev(10000 + m * 400 + b * 40 + i, { fields: { Image: '/bin/page', Pad: pad } })) });
    }
  }
  for (const sock of socks) await sock.none('error');
  const seen = [];
  let after = '0', pages = 0;
  for (;;) {
    const { r, lines, next } = await exportPage(admin, '?after=' + after);
    eq(r.status, 200, 'page');
    assert(r.text.length <= 1024 * 1024 + 20000, 'page bounded: ' + r.text.length);
    pages++;
    seen.push(...lines.filter((l) => l.fields.Image === '/bin/page').map((l) => ({ m: l.machine, pid: l.pid - 11000 })));
    if (!next) break;
    after = next;
  }
  assert(pages >= 3, 'several pages: ' + pages);
  eq(seen.length, 2400, 'every row');
  eq(new Set(seen.map((x) => x.pid)).size, 2400, 'each once');
  for (let m = 0; m < 6; m++) {
    const mine = seen.filter((x) => x.m === `obs-page-${m}`).map((x) => x.pid);
    const wrong = mine.findIndex((pid, i) => pid !== m * 400 + i);
    eq(wrong, -1, `obs-page-${m}: its rows in the order sent (first out of place)`);
  }
  for (const sock of socks) await sock.close();
});

test('sphinx-server observations export prints the same lines (and bad --since is a usage error)', async () => {
  const cli = s.admin(['observations', 'export', '--machine', 'obs-lab-2']);
  eq(cli.code, 0, 'export: ' + cli.err);
  const api = await exportPage(admin, '?machine=obs-lab-2');
  eq(cli.out, api.r.text.trim(), 'same lines');
  eq(s.admin(['observations', 'export', '--since', 'soon']).code, 2, 'bad --since');
  eq(s.admin(['observations', 'dump']).code, 2, 'unknown subcommand');
});

test('retention 0: welcome says no, a batch is refused (observations_off) and nothing is kept', async () => {
  const s0 = await new Server({ args: ['-o', 'observations_retention_days=0'] }).start();
  const a0 = agent(s0, s0.admin(['enroll-machine', 'obs-off']).out);
  eq((await hello(a0, 'obs-off')).observations, false, 'welcome.observations');
  a0.send({ type: 'observations', v: 1, events: [ev(1)] });
  const e = await a0.next('error');
  eq(e.code, 'observations_off', 'code');
  assert(/observations_retention_days = 0/.test(e.message), e.message);
  const cli = s0.admin(['observations', 'export']);
  eq(cli.code, 0, 'export');
  eq(cli.out, '', 'nothing kept');
  await a0.close();
  await s0.stop();
});

run();
