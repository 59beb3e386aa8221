// SPDX-License-Identifier: GPL-2.0-only
// PostgreSQL restarted under three loaded nodes (issue 13): nine attendees
// through HAProxy flood the chat (client ids; a line refused while the
// database is away is sent again, as a line not yet confirmed), an agent on
// node B sends recordings' begins and ends (a spool: resent on store_failed
// until acknowledged), and the cluster's PostgreSQL is stopped (fast) and
// started in the middle. Then, without restarting any node:
//   - every chat line a sender saw acknowledged is in the meeting once, and
//     each chat event any client saw is there;
//   - every agent event is acknowledged in the end, each recording once,
//     with its end;
//   - the nodes recover by themselves: each answers a sign-in, a line said
//     on node C reaches the organiser on node A (cross-node delivery is back:
//     each node LISTENs again), and each client's offsets have no gap and no
//     duplicate across the outage.
'use strict';
const { test, run, assert, eq, sleep, Client } = require('./lib');
const { startCluster, LobbyUser, SpoolAgent, until } = require('./cluster');

const ATTENDEES = 9;
const show = (x) => JSON.stringify(x);
let c, code, olga, lo;
const people = [];
let ag;
const sentTexts = new Map();
const begins = [];	// capture.begin events sent, each with its end after
let outage = {};

test('three nodes + PostgreSQL + HAProxy, nine attendees through the balancer, an agent on node B', async () => {
  c = await startCluster({ nodes: 3, haproxy: true, args: ['-o', 'agent_user_map=username'] });
  olga = await new Client(c.nodes[0]).signup('olga');
  code = await olga.createMeeting('Through a PostgreSQL restart');
  const opts = { code: () => code, front: () => c.front };
  for (let i = 0; i < ATTENDEES; i++) {
    const u = await new Client(c.front).signup(`att${i}`);
    eq((await u.join(code)).status, 200, `att${i} joins`);
    people.push(new LobbyUser(u, `att${i}`, opts));
  }
  lo = await new LobbyUser(olga, 'olga', opts).connect(c.nodes[0]);
  for (const p of people) { await p.connect(c.front); p.retry(300); }
  lo.retry(300);
  const t = c.nodes[1].admin(['enroll-machine', 'lab-pg']);
  eq(t.code, 0, 'enroll: ' + t.err);
  ag = await new SpoolAgent(t.out, 'lab-pg', people.map((p) => p.name), 'b00t0000-0000-4000-8000-0000000c1a99', () => c.front)
    .connect(c.nodes[1]);
});

test('PostgreSQL stopped and started under chat and agent load: every line and event is acknowledged in the end', async () => {
  let load = true, k = 0;
  const chat = (async () => {
    for (let i = 0; load; i++) {
      for (const p of people) { const text = `${p.name} line ${i}`; sentTexts.set(p.chat(text), text); }
      await sleep(100);
    }
  })();
  const rec = (async () => {
    while (load) {
      const who = people[k % ATTENDEES].name, pid = 5000 + k++;
      begins.push(ag.send('capture.begin', { user: who, pid }));
      await sleep(150);
      ag.send('capture.end', { user: who, pid });
      await sleep(150);
    }
  })();
  await sleep(1500);
  outage.stop = Date.now();
  await c.stopPostgres('fast');
  outage.stopped = Date.now();
  await sleep(1500);	// away for a while under load
  await c.startPostgres();
  outage.started = Date.now();
  await sleep(2000);
  load = false;
  await chat; await rec;
  console.log(`# PostgreSQL down ${outage.started - outage.stop} ms; ${ag.refused} agent events refused (store_failed) meanwhile`);
  await until('every chat line confirmed', () => people.every((p) => p.pending.size === 0), 20000)
    .catch((e) => { throw new Error(`${e.message}: ${show(people.map((p) => [p.name, [...p.pending.keys()].slice(0, 5), p.pending.size]))}`); });
  outage.chatBack = Date.now();
  await until('the agent spool empty', () => ag.spool.length === 0, 20000)
    .catch((e) => {
      const left = new Set(ag.spool.map((x) => x.id));
      throw new Error(`${e.message}: ${ag.spool.length} left: ${show([...left].slice(0, 5))}; their errors: ` +
        show(ag.errors.filter((x) => left.has(x.id)).slice(-5)) + `; other errors: ${show(ag.errors.filter((x) => x.code !== 'store_failed').slice(0, 5))}`);
    });
  console.log(`# all confirmed ${outage.chatBack - outage.started} ms after PostgreSQL was up`);
  assert(ag.refused > 0 || people.some((p) => p.reconnects.length), 'the outage was felt (an event refused or a socket lost): else this proves nothing');
});

test('every acknowledged chat line is in the meeting once; every chat event a client saw is there', async () => {
  const all = [];
  let before = '';
  for (;;) {
    const r = await olga.req('GET', `/api/meetings/${code}/chat?limit=200${before}`);
    eq(r.status, 200, 'chat history: ' + r.text);
    all.unshift(...r.json.chat);
    if (!r.json.more) break;
    before = `&before=${r.json.chat[0].id}`;
  }
  const user = all.filter((x) => x.kind === 'user');
  const n = new Map();
  for (const x of user) n.set(x.cid, (n.get(x.cid) || 0) + 1);
  eq([...n].filter(([, v]) => v > 1), [], 'no line stored twice');
  const acked = people.flatMap((p) => [...p.acked]);
  eq(acked.filter((cid) => !n.has(cid)), [], 'every acknowledged line stored');
  for (const x of user) eq(x.text, sentTexts.get(x.cid), `line ${x.cid} as sent`);
  const ids = new Set(all.map((x) => x.id));
  for (const p of [lo, ...people]) eq([...p.chatIds].filter((id) => !ids.has(id)), [], `${p.name}: every chat event it saw is in the meeting`);
  console.log(`# ${acked.length} lines acknowledged, ${user.length} stored`);
});

test('every recording once, with its end; each agent event acknowledged as new exactly once', async () => {
  const r = await olga.req('GET', `/api/meetings/${code}/recordings`);
  eq(r.status, 200, 'recordings: ' + r.text);
  const recs = r.json.recordings;
  eq(recs.length, begins.length, `${begins.length} recordings (one per begin acknowledged)`);
  eq(recs.filter((x) => !x.end_at).length, 0, 'each with its end');
  const firstAcks = [...ag.acks.keys()].filter((id) => !ag.dupAcks.has(id) || ag.acks.get(id) > ag.dupAcks.get(id));
  eq(firstAcks.length, ag.acks.size, 'every event had one acknowledgement as new (the others, if any, duplicates)');
  for (const [id, n] of ag.acks) assert(n - (ag.dupAcks.get(id) || 0) === 1, `${id}: acknowledged as new ${n - (ag.dupAcks.get(id) || 0)} times`);
});

test('the nodes recovered by themselves: each signs in, a line said on node C reaches node A, no gap, no duplicate', async () => {
  for (const [i, n] of c.nodes.entries()) {
    assert(n.alive(), `node ${i + 1} alive`);
    eq((await new Client(n).login('att0')).status, 200, `sign-in on node ${i + 1}`);
  }
  const u = new Client(c.nodes[2]);
  eq((await u.login('att8')).status, 200, 'att8 on node C');
  const x = new LobbyUser(u, 'att8-on-C', { code: () => code, front: () => c.nodes[2] });
  await x.connect(c.nodes[2]);
  const cid = x.chat('said on node C after the restart');
  await until('the line from node C at the organiser on node A', () => lo.events.find((e) => e.type === 'chat' && e.msg.cid === cid), 5000);
  await until('the line everywhere', () => people.every((p) => p.events.some((e) => e.type === 'chat' && e.msg.cid === cid)), 10000);
  await x.close();
  const end = lo.last;
  eq(lo.dups, [], 'olga: no event twice');
  const gaps = [];
  for (let o = lo.offsets[0], k = 0; o <= end; o++, k++) if (lo.offsets[k] !== o) { gaps.push(o); k--; }
  eq(gaps.slice(0, 20), [], `olga (organiser, node A): offsets ${lo.offsets[0]}..${end} without a gap`);
  const orgOnly = new Set(lo.events.filter((e) => e.type === 'chat' && e.msg.kind === 'system').map((e) => e.offset));
  for (const p of people) {
    eq(p.dups, [], `${p.name}: no event twice`);
    const want = lo.offsets.filter((o) => o >= p.offsets[0] && o <= end && !orgOnly.has(o));
    const got = p.offsets.filter((o) => o <= end);
    eq([want.filter((o) => !got.includes(o)).slice(0, 20), got.filter((o) => !want.includes(o)).slice(0, 20)], [[], []],
      `${p.name}: [missed, not in the organiser's stream]`);
  }
});

test('the cluster stops: every node exits 0 on SIGTERM', async () => {
  ag.stop();
  for (const p of [lo, ...people]) p.close();
  await c.stop();
});

run();
