// SPDX-License-Identifier: GPL-2.0-only
// Graceful drain (server/drain.h, issue 13): two sphinx-server nodes on one
// private PostgreSQL behind a real HAProxy running server/deploy/haproxy.cfg
// (tests/node/cluster.js generates its configuration from that file). Node X
// is the one the agent landed on through the balancer; the organiser's and
// an attendee's lobby sockets are on X too. Then SIGTERM to X:
//   - X's /api/health answers 503 with "draining": true at once (its next loop turn), a new
//     upgrade straight to X is refused with 503, new tabs opened through
//     HAProxy before its check noticed all open (HAProxy sends some to X,
//     X refuses them, and the shipped retry-on 503 retries them on the
//     other node: without it this fails), and HAProxy takes X out while X
//     still runs;
//   - X's lobby sockets are closed with 4503 and reconnect at once (no
//     backoff) through HAProxy to the other node, resuming from their offset:
//     the clients are the web app's own server/web/js/lobby-socket.js (in
//     Node, with a WebSocket that sends the user's cookie), so its 4503
//     handling is what is tested; every chat line, those sent on the other
//     node while they moved included, reaches each of them exactly once;
//   - the real sphinx-agent on X gets 4503, reconnects at once through
//     HAProxy, and resends from its spool what X had not acknowledged: every
//     one of its 120 spooled events is stored once, none twice;
//   - X exits 0 within drain_seconds, although a tab on it that stopped
//     reading never answers its close (so X drains long enough for HAProxy's
//     health check to take it out while it still runs).
// Against the old behaviour (SIGTERM closes every socket at once, health
// stays 200 until the process is gone, the web app and the agent back off),
// the health, 4503, "at once" and agent-log checks fail.
'use strict';
const fs = require('fs');
const net = require('net');
const os = require('os');
const path = require('path');
const { spawn } = require('child_process');
const WS = require('ws');
const { test, run, assert, eq, sleep, Client, agent, ROOT, atEnd } = require('./lib');
const { startCluster, serverKnows } = require('./cluster');

const DRAIN_S = 6;
const EVENTS = 120;
const AGENT_BIN = path.resolve(ROOT, process.env.OUTPUT || 'build', 'sphinx-agent');

let c, code, X, Y, xi, olga, bob, carol, alice, alicePc, stubborn, agentProc, agentLog = '', spool, tmp;
let sigtermAt, exitInfo, olgaAtTerm;

// ------------------------------------------- the web app's lobby socket in Node
// lobby-socket.js is a browser ES module: it needs window, location and a
// WebSocket global. The browser would send the session cookie; here each
// socket's URL carries its user's name (&as=, ignored by the server) and the
// WebSocket below adds that user's cookie.
const cookies = {};
const page = { host: '' };
globalThis.window = { addEventListener() {}, removeEventListener() {} };
globalThis.location = { protocol: 'http:', get host() { return page.host; } };
globalThis.WebSocket = class extends WS {
  constructor(url) {
    const as = new URL(url).searchParams.get('as');
    super(url, { headers: { cookie: cookies[as] }, perMessageDeflate: false });
    this.on('error', () => {});	// a browser reports a refused upgrade as an error event, then close
  }
};

class Tab {
  constructor(LobbySocket, name) {
    this.name = name;
    this.msgs = [];
    this.states = [];	// { state, detail, at }
    const self = this;
    class Tagged extends LobbySocket { url() { return super.url() + '&as=' + name; } }
    this.ls = new Tagged(code, {
      message(m) { self.msgs.push(m); },
      state(state, detail) { self.states.push({ state, detail, at: Date.now() }); },
    });
  }
  chats() { return this.msgs.filter((m) => m.type === 'chat' && m.kind === 'user').map((m) => m.text); }
  async until(pred, ms = 15000, what = 'condition') {
    const end = Date.now() + ms;
    while (Date.now() < end) { if (pred()) return; await sleep(20); }
    throw new Error(`${this.name}: timeout waiting for ${what}; states ${JSON.stringify(this.states)}`);
  }
}

// A lobby upgrade over a raw TCP socket that, once answered 101, reads nothing more and answers nothing.
function frozenSocket(port, meeting, cookie) {
  return new Promise((resolve, reject) => {
    const sock = net.connect(port, '127.0.0.1', () => sock.write(
      `GET /lobby/${meeting} HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
      `Sec-WebSocket-Key: ${Buffer.from('0123456789abcdef').toString('base64')}\r\nSec-WebSocket-Version: 13\r\n` +
      `Cookie: ${cookie}\r\n\r\n`));
    let head = '';
    const onData = (d) => {
      head += d.toString('latin1');
      if (!head.includes('\r\n\r\n')) return;
      sock.off('data', onData);
      sock.pause();	// nothing read from now on: the close frame stays unread, never answered
      if (/^HTTP\/1\.1 101/.test(head)) resolve(sock); else reject(new Error('upgrade refused: ' + head));
    };
    sock.on('data', onData);
    sock.on('error', () => {});
  });
}

// An agent that says hello for alice's machine (the protocol as agent/uplink.c speaks it).
async function agentHello(server, token) {
  const a = agent(server, token);
  await a.opened;
  a.send({ type: 'hello', v: 1, machine: 'alice-pc', boot_id: 'b00t0000-0000-4000-8000-00000000a11c',
    agent_version: '0.1.0', users: ['alice'] });
  await a.next('welcome');
  return a;
}

function agentConnectedOn(s) { return /agent: machine 'drain-lab' \(id \d+\) connected/.test(s.log); }
function spooled() { return fs.readdirSync(spool).filter((f) => f.endsWith('.json')).length; }

atEnd(async () => {
  if (agentProc && agentProc.exitCode === null) { agentProc.kill('SIGTERM'); await new Promise((r) => agentProc.on('exit', r)); }
  if (tmp && !process.env.KEEP_CLUSTER) fs.rmSync(tmp, { recursive: true, force: true });
});

test('two nodes on one PostgreSQL behind HAProxy (server/deploy/haproxy.cfg); users, a meeting', async () => {
  // (a server without the key - before the drain existed - runs with the rest, so this file fails on what it checks)
  c = await startCluster({ nodes: 2, haproxy: true, args: serverKnows('drain_seconds') ? ['-o', `drain_seconds=${DRAIN_S}`] : [] });
  const front = c.front;
  const o = await new Client(front).signup('olga');
  const b = await new Client(front).signup('bob');
  const k = await new Client(front).signup('carol');
  const a = await new Client(front).signup('alice');	// the agent's local user
  code = await o.createMeeting('Drain lecture');
  eq((await b.join(code)).status, 200, 'bob joins');
  eq((await k.join(code)).status, 200, 'carol joins');
  eq((await a.join(code)).status, 200, 'alice joins');
  Object.assign(cookies, { olga: o.cookie, bob: b.cookie, carol: k.cookie, alice: a.cookie });
});

test(`the real sphinx-agent, ${EVENTS} events in its spool, connects through HAProxy`, async () => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'sphinx-drain-'));
  spool = path.join(tmp, 'spool');
  fs.mkdirSync(spool, { mode: 0o700 });
  const en = c.nodes[0].admin(['enroll-machine', 'drain-lab']);
  eq(en.code, 0, 'enrolled: ' + en.err);
  for (let i = 1; i <= EVENTS; i++) {
    fs.writeFileSync(path.join(spool, String(i).padStart(20, '0') + '.json'), JSON.stringify({
      type: 'capture.begin', v: 1, id: `draintest:${i}`, capture: `draintest:${i}`, kind: 'recording',
      comm: 'drain-recorder', user: 'alice', layer: 'exec' }));
  }
  const conf = path.join(tmp, 'agent.conf');
  fs.writeFileSync(conf, [`server_url = ${c.haproxy.wsUrl}/agent`, 'insecure = yes', `token = ${en.out}`,
    `spool_dir = ${spool}`, 'machine = drain-lab', ''].join('\n'));
  agentProc = spawn(AGENT_BIN, ['--config', conf, '--policy', path.join(ROOT, 'policy/default'),
    '--status-file', path.join(tmp, 'agent.status')], { stdio: ['ignore', 'ignore', 'pipe'] });
  agentProc.stderr.on('data', (d) => { agentLog += d; });
  const end = Date.now() + 20000;
  while (Date.now() < end && !c.nodes.some(agentConnectedOn)) {
    if (agentProc.exitCode !== null) throw new Error('the agent exited:\n' + agentLog);
    await sleep(50);
  }
  xi = c.nodes.findIndex(agentConnectedOn);
  assert(xi >= 0, 'the agent connected to a node:\n' + agentLog);
  X = c.nodes[xi]; Y = c.nodes[1 - xi];
  console.log(`# the agent is on ${X.name}: that node is drained`);
});

test('lobby sockets of the organiser and an attendee on that node (the web app\'s lobby-socket.js); chat', async () => {
  const { LobbySocket } = await import(path.join(ROOT, 'server/web/js/lobby-socket.js'));
  page.host = `127.0.0.1:${X.port}`;	// the balancer sent these two to X
  olga = new Tab(LobbySocket, 'olga');
  bob = new Tab(LobbySocket, 'bob');
  await olga.until(() => olga.msgs.some((m) => m.type === 'lobby'), 10000, 'olga\'s snapshot');
  await bob.until(() => bob.msgs.some((m) => m.type === 'lobby'), 10000, 'bob\'s snapshot');
  page.host = new URL(c.haproxy.url).host;	// from now on: through the balancer
  // carol's tab is on the other node, straight
  carol = new Client(Y).lobby(code, { headers: { cookie: cookies.carol } });
  await carol.opened;
  await carol.next('lobby');
  // alice has her tab on the other node (she stays put); the machine she is logged in at has its
  // agent on X (an agent speaking the protocol from here: the real one reports this test machine's
  // logged-in users, and alice is not one of them)
  alice = new Client(Y).lobby(code, { headers: { cookie: cookies.alice } });
  await alice.opened;
  await alice.next('lobby');
  const en = c.nodes[0].admin(['enroll-machine', 'alice-pc']);
  eq(en.code, 0, 'enrolled: ' + en.err);
  alicePc = { token: en.out };
  alicePc.sock = await agentHello(X, alicePc.token);
  await olga.until(() => olga.msgs.some((m) => m.type === 'monitor' && m.user.name === 'ALICE' && m.monitored),
    10000, 'alice monitored');
  // and a tab on X that stopped reading (a frozen laptop): it never answers the close, so X stays
  // in its drain until the close times out or drain_seconds end - long enough to see HAProxy react
  stubborn = await frozenSocket(X.port, code, cookies.carol);
  for (let i = 1; i <= 5; i++) bob.ls.send({ type: 'chat', text: `before ${i}`, cid: `b${i}` });
  for (const t of [olga, bob]) await t.until(() => t.chats().length === 5, 10000, 'the five lines');
});

test('SIGTERM: health 503 "draining" within a second, upgrades refused 503, HAProxy takes the node out while it runs', async () => {
  await olga.until(() => spooled() < EVENTS - 20, 15000, 'the agent to have 20 events acknowledged');
  assert(spooled() > 20, `events still to send when the drain begins (spool: ${spooled()})`);
  X.exited.then((r) => { exitInfo = Object.assign({ at: Date.now() }, r); });
  sigtermAt = Date.now();
  olgaAtTerm = olga.msgs.length;
  X.proc.kill('SIGTERM');
  // chat on the other node while the sockets move
  for (let i = 1; i <= 5; i++) carol.send({ type: 'chat', v: 1, text: `during ${i}`, cid: `c${i}` });
  // the signal reaches the loop in its next turn: a request already in that turn may still get 200
  let h, hj;
  for (const end = Date.now() + 1000; ;) {
    h = await fetch(X.url + '/api/health');
    hj = await h.json();
    if (h.status !== 200 || Date.now() > end) break;
    await sleep(10);
  }
  eq(h.status, 503, 'health of the draining node (within a second of SIGTERM)');
  eq([hj.ok, hj.draining, hj.store, hj.node], [false, true, 'ok', X.name], 'its body');
  const up = new Client(X).lobby(code, { headers: { cookie: cookies.carol } });
  const refused = await up.opened.then(() => null, (e) => e);
  assert(refused && refused.status === 503, 'a new upgrade on the draining node is refused with 503: ' + (refused && refused.message));
  const yh = await fetch(Y.url + '/api/health');
  eq(yh.status, 200, 'the other node is healthy');
  // new tabs through HAProxy before its check has seen X drain: leastconn picks X (it holds fewer of
  // HAProxy's connections), X refuses with 503, and retry-on 503 sends the upgrade to the other node
  const tabs = [];
  for (let i = 0; i < 4; i++) tabs.push(new Client(c.haproxy).lobby(code, { headers: { cookie: cookies.carol } }));
  const opened = await Promise.all(tabs.map((t) => t.opened.then(() => 'open', (e) => e.message)));
  eq(opened, ['open', 'open', 'open', 'open'], 'every new tab through the balancer opened (on the other node)');
  await Promise.all(tabs.map((t) => t.close()));
  await c.waitBalanced(xi, false, 5000);
  assert(X.alive(), 'HAProxy took X out on its health answer, while X still runs (the frozen tab holds it)');
});

test('the lobby sockets get 4503 and reconnect at once (no backoff) through HAProxy to the other node', async () => {
  for (const t of [olga, bob]) {
    await t.until(() => t.states.filter((s) => s.state === 'open').length >= 2, 10000, 'a second open');
    const i = t.states.findIndex((s) => s.at >= sigtermAt && s.state === 'connecting');
    assert(i > 0, `${t.name}: reconnected: ${JSON.stringify(t.states)}`);
    const closedAt = t.states[i].at;
    assert(!t.states.slice(0, i + 1).some((s) => s.state === 'retry' && s.at >= sigtermAt),
      `${t.name}: no backoff before reconnecting: ${JSON.stringify(t.states)}`);
    assert(closedAt - sigtermAt < 2000, `${t.name}: reconnecting ${closedAt - sigtermAt} ms after SIGTERM`);
  }
  // the new sockets are not on X: X refuses upgrades while it drains, and it is gone once they are open
  eq(olga.ls.ws.readyState, 1, 'olga open');
  eq(bob.ls.ws.readyState, 1, 'bob open');
});

test('each moved socket resumed from its offset: every chat line exactly once, no event twice', async () => {
  const want = [1, 2, 3, 4, 5].map((i) => `before ${i}`).concat([1, 2, 3, 4, 5].map((i) => `during ${i}`));
  for (const t of [olga, bob]) {
    await t.until(() => t.chats().length >= 10, 10000, 'ten chat lines');
    eq(t.chats().slice().sort(), want.slice().sort(), `${t.name}: each line once`);
    const offs = t.msgs.filter((m) => typeof m.offset === 'number' && !['lobby', 'synced', 'pong'].includes(m.type))
      .map((m) => m.offset);
    eq(offs.length, new Set(offs).size, `${t.name}: no event offset twice`);
    assert(t.msgs.some((m) => m.type === 'synced' && m.recovered), `${t.name}: the reconnect replayed from its offset`);
  }
  // a line after the move reaches everyone
  olga.ls.send({ type: 'chat', text: 'after', cid: 'o1' });
  for (const t of [olga, bob]) await t.until(() => t.chats().includes('after'), 5000, 'the line after');
});

test(`the agent moved at once and resent what was not acknowledged: ${EVENTS} events stored, each once`, async () => {
  const end = Date.now() + 25000;
  while (Date.now() < end && spooled() > 0) await sleep(100);
  eq(spooled(), 0, 'the spool is empty (everything acknowledged)');
  assert(/the node is draining; reconnecting at once/.test(agentLog), 'the agent reconnected at once on 4503:\n' + agentLog);
  assert(agentConnectedOn(Y), 'the agent is on the other node now');
  eq(c.psql("SELECT count(*) FROM agent_events WHERE event_id LIKE 'draintest:%'"), String(EVENTS), 'every event id stored');
  eq(c.psql("SELECT count(*), count(DISTINCT capture) FROM recordings WHERE capture LIKE 'draintest:%'"),
    `${EVENTS}|${EVENTS}`, 'one recording per event, none twice');
});

test('an agent\'s user stays monitored across its move: no "unmonitored" event, no notice to the organisers', async () => {
  // alice's machine: 4503, then at once through the balancer to the other node (as uplink.c does)
  const closed = await alicePc.sock.closed;
  eq(closed.code, 4503, 'her agent was told to move');
  alicePc.sock = await agentHello(c.haproxy, alicePc.token);
  await Promise.race([X.exited, sleep((DRAIN_S + 2) * 1000)]);
  // the marker: a line sent after X released its rows; events are delivered in offset order
  olga.ls.send({ type: 'chat', text: 'marker', cid: 'o2' });
  await olga.until(() => olga.chats().includes('marker'), 5000, 'the marker');
  const since = olga.msgs.slice(olgaAtTerm);
  const flips = since.filter((m) => m.type === 'monitor');
  eq(flips.map((m) => [m.user && m.user.name, m.monitored, m.reason]), [], 'no monitor flip since SIGTERM');
  const notices = since.filter((m) => m.type === 'chat' && m.kind === 'system' && /monitored/.test(m.text));
  eq(notices.map((m) => m.text), [], 'no organisers\' notice since SIGTERM');
});

test(`the drained node exits 0 within drain_seconds (${DRAIN_S} s)`, async () => {
  const r = await Promise.race([X.exited, sleep((DRAIN_S + 2) * 1000).then(() => null)]);
  assert(r, 'exited');
  eq([r.code, r.sig], [0, null], 'exit status 0');
  const took = exitInfo.at - sigtermAt;
  assert(took <= DRAIN_S * 1000 + 1000, `exited ${took} ms after SIGTERM`);
  console.log(`# node ${X.name} exited ${took} ms after SIGTERM`);
  assert(/drain: health answers 503; \d+ socket\(s\) told to reconnect elsewhere/.test(X.log), 'the drain is logged');
  const m = /drain: .*?(\d+) new upgrade\(s\) refused meanwhile/.exec(X.log);
  assert(m && Number(m[1]) > 0, 'X refused upgrades while draining (which HAProxy then sent to the other node): ' +
    (m ? m[0] : X.log.split('\n').filter((l) => /drain/.test(l)).join(' | ')));
  console.log(`# ${m[1]} upgrade(s) reached X while it drained and were refused there with 503`);
});

test('stop the agent and the cluster', async () => {
  olga.ls.close(); bob.ls.close(); await carol.close(); await alice.close(); await alicePc.sock.close();
  stubborn.destroy();
  agentProc.kill('SIGTERM');
  await new Promise((r) => (agentProc.exitCode !== null ? r() : agentProc.on('exit', r)));
  await c.stop();
});

run();
