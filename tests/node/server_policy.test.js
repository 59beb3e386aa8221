// SPDX-License-Identifier: GPL-2.0-only
// Central policy on the server (issue 14), through the admin API and the
// agent protocol, with the real sphinx-server and a scripted agent socket:
//   - push: checked with the policy library (refused with every
//     file:line:col, nothing stored, no version taken), stored with the
//     next version, its author and note; list (newest first, no files),
//     show (with files), 404 for a version that is not there;
//   - delivery: at hello when hello.policy_version differs from the
//     group's newest, never when it is the same or when policy_source is
//     "local", and at once on a push to the agent's group (not another's);
//   - groups: PUT machines/NAME/group sends the new group's bundle, bad
//     names and unknown machines refused;
//   - rollback: a new version with the previous files, 409 when there is
//     nothing to go back to;
//   - policy.state: stored and shown by the rollout view; bad fields refused.
// Absence is checked with Sock.none(): a marker the server answers in order.
'use strict';
const { test, run, eq, assert, Server, Client, agent } = require('./lib');

let s, admin, olga;
const rule = (id, prog) => `id: ${id}\ntitle: ${prog}\nlogsource: { category: process_creation, product: linux }\n` +
  `detection:\n  sel:\n    Image|endswith: /${prog}\n  condition: sel\n`;
const files = (prog) => [{ name: 'a.yml', text: rule('t.' + prog, prog) }];
const hello = (extra = {}) => Object.assign({ type: 'hello', v: 1, machine: 'x', boot_id: 'b00t-1', agent_version: '0.1.0' }, extra);

async function connect(token, extra) {
  const sock = agent(s, token);
  await sock.opened;
  sock.send(hello(extra));
  await sock.next('welcome');
  return sock;
}

test('setup: server, an admin, a non-admin, two enrolled machines', async () => {
  s = await new Server().start();
  eq(s.admin(['add-user', 'root-admin', '--email', 'admin@example.org', '--admin'], 'admin-password\n').code, 0, 'add-user');
  admin = new Client(s);
  eq((await admin.login('root-admin', 'admin-password')).status, 200, 'admin login');
  olga = await new Client(s).signup('olga');
  for (const m of ['lab-a', 'lab-b']) eq((await admin.req('POST', '/api/admin/machines', { name: m })).status, 201, 'enroll ' + m);
});

let tokenA, tokenB;
test('push: a broken bundle is refused with every file:line:col and takes no version; a good one is stored', async () => {
  let r = await olga.req('POST', '/api/admin/policy', { files: files('x') });
  eq(r.status, 403, 'non-admin');
  r = await admin.req('POST', '/api/admin/policy', { files: [...files('x'), { name: 'z.yml', text: 'id: z\ntitle: z\nlevle: high\n' }] });
  eq(r.status, 400, 'broken bundle');
  eq(r.json.error, 'policy_invalid', 'code');
  assert(r.json.errors.includes("z.yml:3:1: unknown key 'levle' (did you mean 'level'?)"), 'the exact error: ' + r.text);
  assert(r.json.errors.every((e) => /^z\.yml:\d+:\d+: /.test(e)), 'every error is file:line:col: ' + r.text);
  r = await admin.req('POST', '/api/admin/policy', { files: [{ name: '../a.yml', text: 'x' }] });
  eq(r.status, 400, 'a name that leaves the directory');
  r = await admin.req('POST', '/api/admin/policy', { files: files('x'), group: 'no spaces' });
  eq(r.status, 400, 'bad group');
  r = await admin.req('POST', '/api/admin/policy', { group: 'x' });
  eq(r.status, 400, 'no files');
  r = await admin.req('POST', '/api/admin/policy', { files: files('one'), note: 'first' });
  eq(r.status, 201, 'stored: ' + r.text);
  eq(r.json, { version: 1, group: 'default', rules: 1 }, 'version 1: the refused ones took none');
  r = await admin.req('POST', '/api/admin/policy', { files: files('lab'), group: 'lab-101' });
  eq(r.json.version, 2, 'versions are one sequence over the groups');
  r = await admin.req('GET', '/api/admin/policy');
  eq(r.json.bundles.map((b) => [b.version, b.group, b.author, b.note, b.rolled_back_from, 'files' in b]),
    [[2, 'lab-101', 'root-admin', null, null, false], [1, 'default', 'root-admin', 'first', null, false]], 'list');
  r = await admin.req('GET', '/api/admin/policy?group=lab-101');
  eq(r.json.bundles.length, 1, 'list of one group');
  r = await admin.req('GET', '/api/admin/policy/1');
  eq(r.json.files, files('one'), 'show: the files');
  eq((await admin.req('GET', '/api/admin/policy/99')).status, 404, 'no such version');
  eq((await admin.req('GET', '/api/admin/policy/abc')).status, 404, 'not a version');
  tokenA = s.admin(['enroll-machine', 'cli-a']).out;
  tokenB = s.admin(['enroll-machine', 'cli-b']).out;
  assert(tokenA && tokenB, 'tokens');
});

test('delivery at hello: when the version differs, never when it is the same or the agent is local-only', async () => {
  let a = await connect(tokenA, { policy_version: null, policy_source: 'server' });
  const p = await a.next('policy');
  eq([p.version, p.group, p.note, p.files], [1, 'default', 'first', files('one')], 'the group\'s newest bundle');
  await a.close();
  a = await connect(tokenA, { policy_version: 1, policy_source: 'server' });
  await a.none('policy');
  await a.close();
  a = await connect(tokenA, { policy_version: null, policy_source: 'local' });
  await a.none('policy');
  await a.close();
  // a bad hello is refused, no welcome: the socket says why
  const b = agent(s, tokenB);
  await b.opened;
  b.send(hello({ policy_source: 'remote' }));
  eq((await b.next('error')).code, 'bad_message', 'policy_source must be server or local');
  b.send(hello({ policy_version: 'seven' }));
  eq((await b.next('error')).code, 'bad_message', 'policy_version must be null or an integer');
  await b.none('welcome');
  await b.close();
});

test('delivery on change: a push reaches the agents of its group only; a group change sends the new group\'s', async () => {
  const a = await connect(tokenA, { policy_version: 1 });
  const b = await connect(tokenB, { policy_version: 1 });
  eq(s.admin(['machine-group', 'cli-b', 'lab-101']).code, 0, 'cli-b to lab-101 (the CLI: SIGUSR1 to the server)');
  const pb = await b.next('policy');
  eq([pb.version, pb.group], [2, 'lab-101'], 'cli-b gets lab-101\'s bundle');
  let r = await admin.req('POST', '/api/admin/policy', { files: files('three') });
  eq(r.json.version, 3, 'pushed to default');
  eq((await a.next('policy')).version, 3, 'cli-a (default) gets it at once');
  await b.none('policy');
  r = await admin.req('PUT', '/api/admin/machines/cli-a/group', { group: 'lab-101' });
  eq(r.status, 200, 'PUT group: ' + r.text);
  eq((await a.next('policy')).version, 2, 'cli-a gets lab-101\'s');
  eq((await admin.req('PUT', '/api/admin/machines/nobody/group', { group: 'lab-101' })).status, 404, 'unknown machine');
  eq((await admin.req('PUT', '/api/admin/machines/cli-a/group', { group: 'a/b' })).status, 400, 'bad group');
  eq((await admin.req('PUT', '/api/admin/machines/cli-a/group', {})).status, 400, 'no group');
  eq((await olga.req('PUT', '/api/admin/machines/cli-a/group', { group: 'x' })).status, 403, 'non-admin');
  await a.close();
  await b.close();
});

test('rollback: a new version with the previous files, sent to the group; 409 with nothing to go back to', async () => {
  const a = await connect(tokenA, { policy_version: 2 });
  let r = await admin.req('POST', '/api/admin/policy/rollback', { group: 'lab-101' });
  eq(r.status, 409, 'one version only');
  r = await admin.req('POST', '/api/admin/policy', { files: files('four'), group: 'lab-101' });
  eq(r.json.version, 4, 'v4 for lab-101');
  eq((await a.next('policy')).version, 4, 'v4 sent');
  r = await admin.req('POST', '/api/admin/policy/rollback', { group: 'lab-101', note: 'undo' });
  eq(r.status, 201, 'rollback: ' + r.text);
  eq(r.json, { version: 5, group: 'lab-101', files_of: 2 }, 'v5 holds v2\'s files');
  const p = await a.next('policy');
  eq([p.version, p.files, p.note], [5, files('lab'), 'undo'], 'v5 sent, v2\'s files');
  r = await admin.req('GET', '/api/admin/policy/5');
  eq(r.json.rolled_back_from, 4, 'rolled_back_from');
  await a.close();
});

test('policy.state: stored and shown by the rollout view; bad fields refused', async () => {
  const a = await connect(tokenA, { policy_version: 5 });
  a.send({ type: 'policy.state', v: 1, source: 'server', version: 5, rules: 1, error: null });
  a.send({ type: 'policy.state', v: 1, source: 'elsewhere', version: 5, rules: 1 });
  eq((await a.next('error')).code, 'bad_message', 'bad source');
  a.send({ type: 'policy.state', v: 1, source: 'server', version: 0, rules: 1 });
  eq((await a.next('error')).code, 'bad_message', 'version 0');
  a.send({ type: 'policy.state', v: 1, source: 'server', version: 5 });
  eq((await a.next('error')).code, 'bad_message', 'no rules');
  const b = await connect(tokenB, { policy_version: 5 });
  b.send({ type: 'policy.state', v: 1, source: 'local', version: null, rules: 3, error: 'a.yml:1:1: ' + 'x'.repeat(5000) });
  await b.marker();
  const r = await admin.req('GET', '/api/admin/policy/rollout');
  eq(r.status, 200, 'rollout');
  const g = r.json.groups.find((x) => x.group === 'lab-101');
  eq([g.latest, g.machines, g.errors, g.local], [5, 2, 1, 1], 'lab-101: latest, machines, errors, local');
  eq(g.versions, [{ version: 5, machines: 1 }, { version: null, machines: 1 }], 'machines per version');
  const ma = g.list.find((m) => m.name === 'cli-a'), mb = g.list.find((m) => m.name === 'cli-b');
  eq([ma.source, ma.version, ma.error], ['server', 5, null], 'cli-a');
  eq([mb.source, mb.version, mb.error.length], ['local', null, 4096], 'cli-b: the error, cut at 4 KiB');
  const d = r.json.groups.find((x) => x.group === 'default');
  eq([d.latest, d.machines], [3, 2], 'default: latest v3, lab-a and lab-b (no state yet)');
  eq(r.json.groups.map((x) => x.group), ['default', 'lab-101'], 'groups by name');
  await a.close();
  await b.close();
  eq((await olga.req('GET', '/api/admin/policy/rollout')).status, 403, 'non-admin');
  assert(s.alive(), 'server alive');
});

run();
