// SPDX-License-Identifier: GPL-2.0-only
// Several sphinx-server nodes on one PostgreSQL store (server/cluster.h):
// three nodes A, B, C (node_name node1..node3) on a private PostgreSQL
// cluster that tests/node/cluster.js starts for this file (initdb/pg_ctl as
// the postgres user, a Unix socket in its own directory, no TCP), each with
// its own data directory; no balancer: each client picks its node. What one node
// commits reaches the clients of the others through NOTIFY/LISTEN and the
// store's event log:
//   - chat written on A and on B reaches a client on B (and A) in one order,
//     offsets contiguous, nothing missing, nothing twice;
//   - a recording reported by an agent on C turns the card red for an
//     organiser on A: live event, and the snapshot;
//   - a ban on A closes the banned user's socket on B (4003, after the ban
//     event and the "banned" message); a meeting ended on A closes every
//     node's sockets (4410);
//   - an agent on C makes its user monitored in a lobby on A; C frozen
//     (SIGSTOP) past the window is taken for dead (unmonitored on A), then
//     reports its agent again when it resumes; C killed with SIGKILL: A
//     announces the user unmonitored ("silent") within the agent silence
//     window plus a heartbeat and a margin, and a snapshot agrees;
//   - a node starting again releases only its own earlier rows, never those
//     of a live node (machine, attendance, monitor state);
//   - signing out on A closes the user's lobby socket on B (4001);
//   - a lost notification only delays: B's LISTEN connection terminated by
//     pg_terminate_backend, a chat written on A meanwhile reaches B's client
//     once B has reconnected.
'use strict';
const { test, run, assert, eq, sleep, Client, agent } = require('./lib');
const { startCluster } = require('./cluster');

let cluster;
const psql = (sql) => cluster.psql(sql);

// ----------------------------------------------------------------- helpers
const nodes = {};
let olga, alice, bob, carol, code;
const monitorOf = (uid) => (m) => m.type === 'monitor' && m.user.id === uid;
const chatText = (t) => (m) => m.type === 'chat' && m.text === t;

// A client signed in on a node (sessions live in the store: one sign-in works on every node).
function on(client, s) {
  const c = new Client(s);
  c.cookie = client.cookie; c.csrf = client.csrf; c.user = client.user;
  return c;
}
async function lobbyOn(client, s, c = code) {
  const l = on(client, s).lobby(c);
  await l.opened;
  const snap = await l.next('lobby');
  return [l, snap];
}
async function hello(s, token, users, machine) {
  const a = agent(s, token); await a.opened;
  a.send({ type: 'hello', v: 1, machine, boot_id: 'b00t0000-0000-4000-8000-0000000000c1', agent_version: '0.1.0', users });
  await a.next('welcome');
  // a live agent: heartbeats every second (its node's silence window is 6.5 s)
  const beat = setInterval(() => { try { a.send({ type: 'heartbeat', v: 1, ts: Date.now() * 1e6 }); } catch (e) { /* closed */ } }, 1000);
  a.closed.then(() => clearInterval(beat));
  return a;
}

test('setup: a private PostgreSQL, three nodes A B C on it, a meeting with an organiser and attendees', async () => {
  cluster = await startCluster({ nodes: 3 });
  [nodes.A, nodes.B, nodes.C] = cluster.nodes;
  olga = await new Client(nodes.A).signup('olga');
  alice = await new Client(nodes.A).signup('alice');
  bob = await new Client(nodes.B).signup('bob');
  carol = await new Client(nodes.C).signup('carol');
  code = await olga.createMeeting('Exam on three nodes');
  for (const c of [alice, bob, carol]) eq((await on(c, nodes.C).join(code)).status, 200, 'joined through C');
  eq(psql('SELECT string_agg(name, \',\' ORDER BY name) FROM nodes'), 'node1,node2,node3', 'each node has its row');
});

test('chat written on A and on B reaches clients on both in one order, offsets contiguous, none twice', async () => {
  const [la] = await lobbyOn(alice, nodes.A);
  const [lb] = await lobbyOn(bob, nodes.B);
  const [ob, snap] = await lobbyOn(olga, nodes.B);	// an organiser sees every offset
  const start = snap.offset;
  const N = 60;
  // first A alone writes (B commits nothing that could carry A's lines over), then both at once
  for (let i = 0; i < N / 2; i++) la.send({ type: 'chat', v: 1, text: `a${i}` });
  for (let i = 0; i < N / 2; i++) eq((await lb.next((m) => m.type === 'chat' && /^a/.test(m.text))).text, `a${i}`, 'on B, in order');
  lb.msgs.length = 0;
  for (let i = N / 2; i < N; i++) la.send({ type: 'chat', v: 1, text: `a${i}` });
  for (let i = 0; i < N; i++) lb.send({ type: 'chat', v: 1, text: `b${i}` });
  const want = new Set();
  for (let i = 0; i < N; i++) { want.add(`a${i}`); want.add(`b${i}`); }
  const wantB = new Set([...want].filter((t) => t.startsWith('b') || Number(t.slice(1)) >= N / 2));
  const seen = { ob: [], la: [], lb: [] };
  for (const [k, sock, w] of [['ob', ob, want], ['la', la, want], ['lb', lb, wantB]]) {
    while (seen[k].filter((m) => m.type === 'chat' && w.has(m.text)).length < w.size)
      seen[k].push(await sock.next((m) => Number.isInteger(m.offset), 10000));
  }
  // the organiser on B: every offset after its snapshot, once, in order
  const offs = seen.ob.map((m) => m.offset);
  eq(offs[0], start + 1, 'first offset follows the snapshot');
  for (let i = 1; i < offs.length; i++) eq(offs[i], offs[i - 1] + 1, `contiguous at ${i}`);
  // each writer's lines in the order written, and the same order on every node
  const order = (k) => seen[k].filter((m) => m.type === 'chat' && want.has(m.text)).map((m) => `${m.offset}:${m.text}`);
  eq(order('la'), order('ob'), 'A and B delivered the same lines at the same offsets');
  eq(order('lb'), order('ob').filter((x) => wantB.has(x.split(':')[1])), 'both clients on B agree');
  const as = order('ob').filter((x) => x.includes(':a')).map((x) => x.split(':')[1]);
  eq(as, [...Array(N).keys()].map((i) => `a${i}`), "A's lines in the order written");
  await ob.none((m) => m.type === 'chat' && want.has(m.text));
  await Promise.all([la.close(), lb.close(), ob.close()]);
});

let token, ag, lo, lal;
test('an agent on C makes alice monitored in a lobby on A; its recording turns her card red there', async () => {
  token = nodes.C.admin(['enroll-machine', 'lab-c']).out;
  assert(/^\S{20,}$/.test(token), 'enrolled: ' + token);
  [lo] = await lobbyOn(olga, nodes.A);
  [lal] = await lobbyOn(alice, nodes.B);	// alice's lobby on B: the store, not C's memory, says where she is
  ag = await hello(nodes.C, token, ['alice'], 'lab-c');
  const m = await lo.next(monitorOf(alice.user.id), 5000);
  eq(m.monitored, true, 'monitored, on A, by an agent on C'); eq(m.machine, 'lab-c', 'machine');
  const ev = { type: 'capture.begin', v: 1, id: 'b00t0000-0000-4000-8000-0000000000c1:1',
    capture: 'b00t0000-0000-4000-8000-0000000000c1:777:1000', kind: 'recording', ts: Date.now() * 1e6, pid: 777,
    ppid: 1, comm: 'ffmpeg', exe: '/usr/bin/ffmpeg', argv: ['ffmpeg', '-f', 'x11grab'], uid: 1000, user: 'alice',
    rule: { id: 'sphinx.exec.ffmpeg-x11grab', title: 'ffmpeg grabbing the X11 screen' }, layer: 'exec' };
  ag.send(ev);
  eq((await ag.next('ack')).id, ev.id, 'acked by C');
  const r = await lo.next('recording.begin', 5000);
  eq(r.recording.user_id, alice.user.id, 'live on A: the recording of alice');
  await lal.next('recording.begin', 5000);
  const [x, snap] = await lobbyOn(olga, nodes.A);
  const a = snap.attendees.find((p) => p.id === alice.user.id);
  eq(a.recording, true, 'snapshot on A: card red'); eq(a.monitored, true, 'snapshot on A: monitored');
  // the organisers' "flagged" list: alice is online (her lobby is on B), recording
  const fl = (snap.flagged || []).find((p) => p.id === alice.user.id);
  assert(fl && fl.recording, 'snapshot on A: alice among the flagged: ' + JSON.stringify(snap.flagged));
  await x.close();
});

test('a ban on A closes the banned user\'s socket on B (ban event, banned message, 4003)', async () => {
  const [lb] = await lobbyOn(bob, nodes.B);
  const [lc] = await lobbyOn(carol, nodes.B);
  lo.send({ type: 'ban', v: 1, user: bob.user.id, reason: 'phone out' });
  const b = await lb.next('ban', 5000);
  eq(b.user.id, bob.user.id, 'the ban event reached B');
  const bm = await lb.next('banned', 5000);
  eq(bm.reason, 'phone out', 'the reason went with it');
  const ci = await lb.closed;
  eq(ci.code, 4003, 'closed with the ban code');
  eq((await lc.next('ban')).user.id, bob.user.id, 'others on B see the ban');
  assert(!lc.closeInfo, 'carol stays');
  await lc.none('banned');
  await lc.close();
});

test('a node stalled past the window (SIGSTOP) is taken for dead, then reports its agents again when it resumes', async () => {
  const t0 = Date.now();
  process.kill(nodes.C.proc.pid, 'SIGSTOP');
  let m;
  try {
    m = await lo.next(monitorOf(alice.user.id), 15000);
  } finally {
    process.kill(nodes.C.proc.pid, 'SIGCONT');
  }
  eq(m.monitored, false, 'unmonitored while C is frozen'); eq(m.reason, 'silent', 'reason: silent');
  console.log(`# node SIGSTOP -> "unmonitored" on another node: ${Date.now() - t0} ms`);
  const back = await lo.next(monitorOf(alice.user.id), 8000);
  eq(back.monitored, true, 'monitored again once C resumed and wrote its reports again');
  // C's own silence timer may now also time out the agent whose heartbeats queued up while C was frozen:
  // a fresh agent connection on C for the next test, and only what follows it counts
  await ag.terminate();
  ag = await hello(nodes.C, token, ['alice'], 'lab-c');
  for (let i = 0; i < 50 && psql("SELECT online FROM machines WHERE name = 'lab-c'") !== 't'; i++) await sleep(100);
  eq(psql("SELECT online FROM machines WHERE name = 'lab-c'"), 't', "C's machine online again");
  const [x, snap] = await lobbyOn(olga, nodes.A);
  eq(snap.attendees.find((p) => p.id === alice.user.id).monitored, true, 'snapshot on A: monitored');
  await x.close();
  await lo.marker();
  lo.msgs.length = 0;
});

test('a node killed with SIGKILL: its agent\'s user goes unmonitored on A within the silence window, not forever', async () => {
  const t0 = Date.now();
  await cluster.kill9(2);
  const m = await lo.next(monitorOf(alice.user.id), 15000);
  const ms = Date.now() - t0;
  eq(m.monitored, false, 'unmonitored'); eq(m.reason, 'silent', 'reason: silent');
  // 6.5 s window (2 s heartbeat x 3 + 0.5 s) + one 2 s node heartbeat + margin
  assert(ms < 10500, `within the window + a heartbeat + margin (${ms} ms)`);
  console.log(`# node SIGKILL -> "unmonitored" on another node: ${ms} ms`);
  const [x, snap] = await lobbyOn(olga, nodes.A);
  eq(snap.attendees.find((p) => p.id === alice.user.id).monitored, false, 'snapshot on A agrees');
  await x.close();
  eq(psql("SELECT count(*) FROM nodes WHERE name = 'node3'"), '0', "C's row claimed by a live node");
  eq(psql("SELECT online FROM machines WHERE name = 'lab-c'"), 'f', "C's machine offline");
  eq(psql("SELECT count(*) FROM attendance WHERE node = 'node3' AND leave_at IS NULL"), '0', "C's attendance rows closed");
  await lal.close();
});

test('a lost notification only delays: B\'s LISTEN connection terminated, a chat on A reaches B once it is back', async () => {
  const [lb] = await lobbyOn(carol, nodes.B);
  const [la] = await lobbyOn(alice, nodes.A);
  // both arrivals announced (presence ticks) before: no other event of this meeting may carry the chat over
  await lb.next((m) => m.type === 'presence' && m.joined.some((u) => u.id === alice.user.id), 5000);
  eq(psql("SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE application_name = 'sphinx-listen node2'"), '1',
    "B's LISTEN connection terminated");
  la.send({ type: 'chat', v: 1, text: 'while B was deaf' });
  const m = await lb.next(chatText('while B was deaf'), 8000);
  assert(Number.isInteger(m.offset), 'delivered on B');
  await sleep(300);
  eq(psql("SELECT count(*) FROM pg_stat_activity WHERE application_name = 'sphinx-listen node2'"), '1', 'B listens again');
  la.send({ type: 'chat', v: 1, text: 'after' });
  assert((await lb.next(chatText('after'), 5000)).offset > m.offset, 'the next one follows');
  await lb.none(chatText('while B was deaf'));
  await Promise.all([lb.close(), la.close()]);
});

test('a node starting (C, after its crash) releases only its own rows, never a live node\'s', async () => {
  const tb = nodes.B.admin(['enroll-machine', 'lab-b']).out;
  const [lc] = await lobbyOn(carol, nodes.B);
  const ab = await hello(nodes.B, tb, ['carol'], 'lab-b');
  eq((await lo.next(monitorOf(carol.user.id), 5000)).monitored, true, 'carol monitored by an agent on B');
  nodes.C = await cluster.restartNode(2);
  assert(/cluster: node 'node3' joined/.test(nodes.C.log), 'C joined again');
  eq(psql("SELECT online FROM machines WHERE name = 'lab-b'"), 't', "B's machine still online");
  eq(psql(`SELECT count(*) FROM attendance WHERE node = 'node2' AND leave_at IS NULL AND user_id = ${carol.user.id}`), '1',
    "carol's attendance row on B still open");
  eq(psql(`SELECT monitored FROM monitor_state WHERE user_id = ${carol.user.id}`), 't', 'carol still monitored');
  await lo.none(monitorOf(carol.user.id));
  await ab.close(); await lc.close();
});

test('meeting end on A closes every node\'s sockets (4410)', async () => {
  const [la] = await lobbyOn(alice, nodes.A);
  const [lc] = await lobbyOn(carol, nodes.B);
  lo.send({ type: 'end', v: 1 });
  for (const [sock, where] of [[la, 'A'], [lc, 'B'], [lo, 'A (organiser)']]) {
    const ci = await Promise.race([sock.closed, sleep(5000).then(() => null)]);
    assert(ci, `closed on ${where}`);
    eq(ci.code, 4410, `meeting-ended code on ${where}`);
  }
});

test('signing out on A closes the user\'s lobby socket on B (4001)', async () => {
  const code2 = await olga.createMeeting('After the exam');
  eq((await on(carol, nodes.A).join(code2)).status, 200, 'carol joined');
  const [lc] = await lobbyOn(carol, nodes.B, code2);
  const [lo2] = await lobbyOn(olga, nodes.B, code2);
  eq((await on(carol, nodes.A).req('POST', '/api/auth/logout')).status, 200, 'signed out on A');
  const ci = await Promise.race([lc.closed, sleep(5000).then(() => null)]);
  assert(ci, "carol's socket on B closed");
  eq(ci.code, 4001, 'signed-out code');
  assert(!lo2.closeInfo, "olga's socket stays");
  await lo2.close();
});

test('central policy across nodes: a push through A and a group change through C reach an agent on B', async () => {
  eq(nodes.A.admin(['add-user', 'root-admin', '--email', 'admin@example.org', '--admin'], 'admin-password\n').code, 0,
    'add-user');
  const admin = new Client(nodes.A);
  eq((await admin.login('root-admin', 'admin-password')).status, 200, 'admin login on A');
  const tp = nodes.B.admin(['enroll-machine', 'lab-p']).out;
  const ap = agent(nodes.B, tp); await ap.opened;
  ap.send({ type: 'hello', v: 1, machine: 'lab-p', boot_id: 'b00t0000-0000-4000-8000-0000000000p1',
    agent_version: '0.1.0', policy_version: null, policy_source: 'server' });
  await ap.next('welcome');
  const rule = (prog) => `id: t.${prog}\ntitle: ${prog}\nlogsource: { category: process_creation, product: linux }\n` +
    `detection:\n  sel:\n    Image|endswith: /${prog}\n  condition: sel\n`;
  let r = await admin.req('POST', '/api/admin/policy', { files: [{ name: 'a.yml', text: rule('one') }] });
  eq(r.status, 201, 'pushed on A: ' + r.text);
  const p1 = await ap.next('policy', 5000);
  eq([p1.version, p1.group], [r.json.version, 'default'], 'the agent on B gets the bundle pushed on A');
  r = await admin.req('POST', '/api/admin/policy', { files: [{ name: 'a.yml', text: rule('lab') }], group: 'lab-9' });
  eq(r.status, 201, 'pushed for group lab-9 on A');
  await ap.none('policy', 1000);  // the other group's push: B would have sent it in ms
  const onC = on(admin, nodes.C);
  eq((await onC.req('PUT', '/api/admin/machines/lab-p/group', { group: 'lab-9' })).status, 200, 'group changed on C');
  const p2 = await ap.next('policy', 5000);
  eq([p2.version, p2.group], [r.json.version, 'lab-9'], 'the agent on B gets its new group\'s bundle');
  await ap.close();
});

test('the nodes still up exit 0 on SIGTERM, PostgreSQL stops', async () => {
  await cluster.stop();
});

run();
