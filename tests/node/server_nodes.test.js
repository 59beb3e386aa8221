// SPDX-License-Identifier: GPL-2.0-only
// Several sphinx-server nodes on one PostgreSQL store (server/cluster.h):
// three nodes A, B, C on a private PostgreSQL cluster this test starts
// (initdb/pg_ctl as the postgres user, a Unix socket in its own directory,
// no TCP), each with its own data directory and node_name. What one node
// commits reaches the clients of the others through NOTIFY/LISTEN and the
// store's event log:
//   - chat written on A and on B reaches a client on B (and A) in one order,
//     offsets contiguous, nothing missing, nothing twice;
//   - a recording reported by an agent on C turns the card red for an
//     organiser on A: live event, and the snapshot;
//   - a ban on A closes the banned user's socket on B (4003, after the ban
//     event and the "banned" message); a meeting ended on A closes every
//     node's sockets (4410);
//   - an agent on C makes its user monitored in a lobby on A; C killed with
//     SIGKILL: A announces the user unmonitored ("silent") within the agent
//     silence window plus a heartbeat and a margin, and a snapshot agrees;
//   - a lost notification only delays: B's LISTEN connection terminated by
//     pg_terminate_backend, a chat written on A meanwhile reaches B's client
//     once B has reconnected.
'use strict';
const fs = require('fs');
const os = require('os');
const path = require('path');
const { spawnSync } = require('child_process');

// ------------------------------------------------ the private PostgreSQL
const PGBIN = (() => {
  try {
    const v = fs.readdirSync('/usr/lib/postgresql').sort((a, b) => Number(a) - Number(b)).pop();
    return v ? `/usr/lib/postgresql/${v}/bin` : null;
  } catch (e) { return null; }
})();
const PGDIR = fs.mkdtempSync(path.join(os.tmpdir(), 'sphinx-nodes-pg-'));
const PGPORT = 5433;	// names the socket file in PGDIR only: no TCP listener
const DB = 'sphinx_nodes';
const CONNINFO = `host=${PGDIR} port=${PGPORT} user=postgres dbname=${DB}`;
// every server and admin command of lib.js gets the store (read when lib.js loads)
process.env.SPHINX_SERVER_ARGS = JSON.stringify(['-o', 'store=postgresql', '-o', `postgresql=${CONNINFO}`]);
const { test, run, assert, eq, sleep, Server, Client, agent } = require('./lib');

function pg(args, opts = {}) {
  const r = spawnSync('runuser', ['-u', 'postgres', '--', ...args], Object.assign({ encoding: 'utf8' }, opts));
  if (r.status !== 0) throw new Error(`${args.join(' ')}: exit ${r.status}: ${r.stderr}`);
  return r.stdout;
}
const psql = (sql) => pg([`${PGBIN}/psql`, '-X', '-A', '-t', '-h', PGDIR, '-p', String(PGPORT), '-d', DB, '-c', sql]).trim();
function pgStop() {
  if (fs.existsSync(path.join(PGDIR, 'data', 'postmaster.pid')))
    spawnSync('runuser', ['-u', 'postgres', '--', `${PGBIN}/pg_ctl`, '-D', path.join(PGDIR, 'data'), '-m', 'immediate', '-w', 'stop']);
}
process.on('exit', () => { pgStop(); fs.rmSync(PGDIR, { recursive: true, force: true }); });

// ----------------------------------------------------------------- helpers
const nodes = {};
let olga, alice, bob, carol, code;
const monitorOf = (uid) => (m) => m.type === 'monitor' && m.user.id === uid;
const chatText = (t) => (m) => m.type === 'chat' && m.text === t;

async function node(name) {
  const s = await new Server({ args: ['-o', `node_name=${name}`] }).start();
  nodes[name] = s;
  return s;
}
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
  return a;
}

test('setup: a private PostgreSQL, three nodes A B C on it, a meeting with an organiser and attendees', async () => {
  assert(PGBIN && fs.existsSync(`${PGBIN}/initdb`), 'PostgreSQL server binaries (scripts/install-deps.sh --test)');
  fs.chmodSync(PGDIR, 0o755);
  spawnSync('chown', ['postgres:', PGDIR]);
  pg([`${PGBIN}/initdb`, '-D', path.join(PGDIR, 'data'), '-A', 'trust', '-U', 'postgres', '-E', 'UTF8', '--locale=C.UTF-8', '--no-sync']);
  pg([`${PGBIN}/pg_ctl`, '-D', path.join(PGDIR, 'data'), '-l', path.join(PGDIR, 'log'), '-w', '-o',
    `-k ${PGDIR} -p ${PGPORT} -c listen_addresses='' -c fsync=off`, 'start']);
  pg([`${PGBIN}/createdb`, '-h', PGDIR, '-p', String(PGPORT), DB]);
  await node('A'); await node('B'); await node('C');
  olga = await new Client(nodes.A).signup('olga');
  alice = await new Client(nodes.A).signup('alice');
  bob = await new Client(nodes.B).signup('bob');
  carol = await new Client(nodes.C).signup('carol');
  code = await olga.createMeeting('Exam on three nodes');
  for (const c of [alice, bob, carol]) eq((await on(c, nodes.C).join(code)).status, 200, 'joined through C');
  eq(psql('SELECT string_agg(name, \',\' ORDER BY name) FROM nodes'), 'A,B,C', 'each node has its row');
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

test('a node killed with SIGKILL: its agent\'s user goes unmonitored on A within the silence window, not forever', async () => {
  const t0 = Date.now();
  await nodes.C.kill9();
  const m = await lo.next(monitorOf(alice.user.id), 15000);
  const ms = Date.now() - t0;
  eq(m.monitored, false, 'unmonitored'); eq(m.reason, 'silent', 'reason: silent');
  // 6.5 s window (2 s heartbeat x 3 + 0.5 s) + one 2 s node heartbeat + margin
  assert(ms < 10500, `within the window + a heartbeat + margin (${ms} ms)`);
  console.log(`# node SIGKILL -> "unmonitored" on another node: ${ms} ms`);
  const [x, snap] = await lobbyOn(olga, nodes.A);
  eq(snap.attendees.find((p) => p.id === alice.user.id).monitored, false, 'snapshot on A agrees');
  await x.close();
  eq(psql("SELECT count(*) FROM nodes WHERE name = 'C'"), '0', "C's row claimed by a live node");
  eq(psql("SELECT online FROM machines WHERE name = 'lab-c'"), 'f', "C's machine offline");
  eq(psql("SELECT count(*) FROM attendance WHERE node = 'C' AND leave_at IS NULL"), '0', "C's attendance rows closed");
  await lal.close();
});

test('a lost notification only delays: B\'s LISTEN connection terminated, a chat on A reaches B once it is back', async () => {
  const [lb] = await lobbyOn(carol, nodes.B);
  const [la] = await lobbyOn(alice, nodes.A);
  // both arrivals announced (presence ticks) before: no other event of this meeting may carry the chat over
  await lb.next((m) => m.type === 'presence' && m.joined.some((u) => u.id === alice.user.id), 5000);
  eq(psql("SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE application_name = 'sphinx-listen B'"), '1',
    "B's LISTEN connection terminated");
  la.send({ type: 'chat', v: 1, text: 'while B was deaf' });
  const m = await lb.next(chatText('while B was deaf'), 8000);
  assert(Number.isInteger(m.offset), 'delivered on B');
  await sleep(300);
  eq(psql("SELECT count(*) FROM pg_stat_activity WHERE application_name = 'sphinx-listen B'"), '1', 'B listens again');
  la.send({ type: 'chat', v: 1, text: 'after' });
  assert((await lb.next(chatText('after'), 5000)).offset > m.offset, 'the next one follows');
  await lb.none(chatText('while B was deaf'));
  await Promise.all([lb.close(), la.close()]);
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

test('every node still up exits 0 on SIGTERM', async () => {
  for (const n of ['A', 'B']) {
    const r = await nodes[n].stop();
    eq(r.code, 0, `node ${n} exit status`);
    assert(!/AddressSanitizer|runtime error/.test(nodes[n].log), `no sanitizer report on ${n}`);
  }
});

run();
