// SPDX-License-Identifier: GPL-2.0-only
// Three sphinx-server nodes on one PostgreSQL database behind HAProxy
// (tests/node/cluster.js), one meeting, a node killed with SIGKILL in the
// middle of a lecture (issue 13):
//   - organisers with a lobby straight on node A (olga) and node B (oscar),
//     nine attendees of distinct accounts through the balancer (round robin:
//     three per node), agents straight on node C and node B;
//   - an agent on node C makes its user monitored, and its recording turns
//     the user's card red (recording.begin, "flagged" in a fresh snapshot)
//     for the organisers on A and B;
//   - kill -9 of node C in the middle of a chat flood (every attendee, with
//     client ids, resending what was not confirmed, as the web app does) and
//     of a recording whose end the agent sent just before: the clients of C
//     reconnect through the balancer with ?since= their last offset; the
//     agent reconnects through it and resends its unacknowledged events (a
//     spool: by id, until acknowledged);
//   - afterwards every chat line any sender saw acknowledged is in the
//     meeting's chat exactly once, every chat event any client saw is there,
//     each client's event offsets rise with no duplicate and no gap (an
//     attendee's only gaps are the organisers-only notices), the meeting's
//     log has the recording's end exactly once, the user whose agent moved
//     shows unmonitored no longer than the agent's reconnect took (plus one
//     presence tick), and the user whose agent stayed with the dead node is
//     unmonitored within the silence window.
'use strict';
const { test, run, assert, eq, sleep, Client } = require('./lib');
const { startCluster, LobbyUser, SpoolAgent, until } = require('./cluster');

const show = (x) => JSON.stringify(x, (k, v) => (typeof v === 'bigint' ? String(v) : v));
const ATTENDEES = 9;
const SILENCE_MS = 3 * 2000 + 500;	// agent_missed_heartbeats x agent_heartbeat + 0.5 s (defaults)

let c, code, olga, oscar;
const people = [];	// LobbyUser of every attendee
let lo, lb;	// the organisers' LobbyUsers (olga on A, oscar on B)
let ax, aw, az;	// agents: x on C (att0, reconnects), w on B (att1), z on C (att2, never comes back)

const monitorOf = (uid) => (e) => e.type === 'monitor' && e.msg.user.id === uid;

test('three nodes + PostgreSQL + HAProxy; organisers on A and B, nine attendees through the balancer', async () => {
  c = await startCluster({ nodes: 3, haproxy: true, args: ['-o', 'agent_user_map=username'] });
  const o = await new Client(c.nodes[0]).signup('olga');
  code = await o.createMeeting('Failover lecture');
  for (let i = 0; i < ATTENDEES; i++) {
    const u = await new Client(c.front).signup(`att${i}`);
    eq((await u.join(code)).status, 200, `att${i} joins`);
    // 300 ms before reconnecting: ~27 lines of the flood missed, so ?since= must replay them
    people.push(new LobbyUser(u, `att${i}`, { code: () => code, front: () => c.front, reconnectDelayMs: 300 }));
  }
  const os = await new Client(c.nodes[1]).signup('oscar');
  eq((await os.join(code)).status, 200, 'oscar joins');
  eq((await o.req('POST', `/api/meetings/${code}/organisers`, { username: 'oscar' })).status, 200, 'oscar co-organiser');
  lo = await new LobbyUser(o, 'olga', { code: () => code, front: () => c.front }).connect(c.nodes[0]);
  lb = await new LobbyUser(os, 'oscar', { code: () => code, front: () => c.front }).connect(c.nodes[1]);
  olga = o; oscar = os;
  // one after the other through the balancer: round robin puts three on each node
  for (const p of people) await p.connect(c.front);
});

test('agents on nodes C and B make their users monitored for the organisers on A and B', async () => {
  const tx = c.nodes[2].admin(['enroll-machine', 'lab-x']); eq(tx.code, 0, 'enroll lab-x: ' + tx.err);
  const tw = c.nodes[1].admin(['enroll-machine', 'lab-w']); eq(tw.code, 0, 'enroll lab-w: ' + tw.err);
  const tz = c.nodes[2].admin(['enroll-machine', 'lab-z']); eq(tz.code, 0, 'enroll lab-z: ' + tz.err);
  ax = await new SpoolAgent(tx.out, 'lab-x', ['att0'], 'b00t0000-0000-4000-8000-0000000c1a5e', () => c.front).connect(c.nodes[2]);
  aw = await new SpoolAgent(tw.out, 'lab-w', ['att1'], 'b00t0000-0000-4000-8000-0000000c1a5f', () => c.front).connect(c.nodes[1]);
  az = await new SpoolAgent(tz.out, 'lab-z', ['att2'], 'b00t0000-0000-4000-8000-0000000c1a60', () => c.front).connect(c.nodes[2]);
  for (const [who, org] of [['A', lo], ['B', lb]]) {
    for (const [i, m] of [[0, 'lab-x'], [1, 'lab-w'], [2, 'lab-z']]) {
      const e = await until(`organiser on ${who} sees att${i} monitored by ${m}`, () =>
        org.events.find((x) => monitorOf(people[i].c.user.id)(x) && x.msg.monitored));
      eq(e.msg.machine, m, 'the machine that monitors');
    }
  }
});

test('a recording on the agent attached to node C turns the card red for the organisers on A and B', async () => {
  const b = ax.send('capture.begin', { user: 'att0', pid: 4100 });
  eq(await ax.acked(b.id), 1, 'begin acknowledged');
  const uid = people[0].c.user.id;
  for (const [who, org] of [['A', lo], ['B', lb]]) {
    const e = await until(`recording.begin on ${who}`, () => org.events.find((x) => x.type === 'recording.begin' && x.msg.recording.user_id === uid), 5000);
    eq(e.msg.recording.machine, 'lab-x', 'the recording of lab-x');
    // what the card is drawn from: a fresh snapshot on that node lists att0 among the flagged
    const s = olga.s; olga.s = c.nodes[who === 'A' ? 0 : 1];
    const x = olga.lobby(code); olga.s = s;
    await x.opened;
    const snap = await x.next('lobby');
    await x.close();
    const f = (snap.flagged || []).find((p) => p.id === uid);
    assert(f && f.recording, `att0 flagged (red) in a snapshot of node ${who}: ${show(snap.flagged)}`);
  }
  // the recording's owner, wherever the balancer put their lobby, is told too
  await until('att0 learns of its own recording', () => people[0].events.find((x) => x.type === 'recording.begin'), 5000);
});

let killedAt, endEv;
const sentTexts = new Map();	// cid -> text
test('kill -9 node C mid chat flood and mid recording: its clients and its agent reconnect through the balancer', async () => {
  let flooding = true;
  const flood = (async () => {
    let i = 0;
    while (flooding) {
      for (const p of people) {
        const text = `${p.name} line ${i}`;
        sentTexts.set(p.chat(text), text);
      }
      i++;
      await sleep(100);	// 10 lines a second a client: under ws_rate (20)
    }
  })();
  await sleep(1000);
  endEv = ax.send('capture.end', { user: 'att0', pid: 4100 });
  az.stayAway = true;	// lab-z's agent dies with node C: it must not come back through the balancer
  killedAt = Date.now();
  await c.kill9(2);
  await sleep(3000);	// the flood goes on while C's clients come back
  flooding = false;
  await flood;
  const lost = people.filter((p) => p.reconnects.length);
  console.log(`# node C killed: ${lost.length} attendees reconnected (${lost.map((p) => p.name).join(' ')})`);
  assert(lost.length >= 2, `the balancer had put attendees on node C (${lost.length} reconnected)`);
  for (const p of lost) {
    await until(`${p.name} back and synced`, () => p.reconnects.every((r) => r.synced), 15000);
    for (const r of p.reconnects) {
      eq(r.recovered, true, `${p.name}: ?since= replayed what it missed (recovered)`);
      assert(r.replayed > 0, `${p.name}: events replayed before synced (${r.replayed}): the reconnect missed some`);
      console.log(`# ${p.name}: closed ${r.closed - killedAt} ms after the kill (code ${r.code}), synced ${r.synced - r.closed} ms later, ${r.replayed} events replayed`);
    }
  }
  await until('the agent of node C back through the balancer', () => ax.backAt, 15000);
  console.log(`# agent lab-x: welcome through the balancer ${ax.backAt - killedAt} ms after the kill`);
  await until('every chat line confirmed', () => people.every((p) => p.pending.size === 0), 15000)
    .catch((e) => { throw new Error(`${e.message}: ${show(people.map((p) => [p.name, [...p.pending.keys()]]))}`); });
  eq(await ax.acked(endEv.id), 1, 'the recording end sent before the kill is acknowledged once in the end');
  eq(ax.spool.length, 0, 'spool empty');
});

test('every acknowledged chat line is in the meeting once; every chat event a client saw is there', async () => {
  const all = [];
  let before = '';
  for (;;) {
    const r = await olga.req('GET', `/api/meetings/${code}/chat?limit=200${before}`);
    eq(r.status, 200, 'chat history');
    all.unshift(...r.json.chat);
    if (!r.json.more) break;
    before = `&before=${r.json.chat[0].id}`;
  }
  const user = all.filter((x) => x.kind === 'user');
  const byCid = new Map();
  for (const x of user) byCid.set(x.cid, (byCid.get(x.cid) || 0) + 1);
  const twice = [...byCid].filter(([, n]) => n > 1);
  eq(twice, [], 'no line stored twice');
  const acked = people.flatMap((p) => [...p.acked]);
  const missing = acked.filter((cid) => !byCid.has(cid));
  eq(missing, [], 'every acknowledged line stored');
  for (const x of user) eq(x.text, sentTexts.get(x.cid), `line ${x.cid} as sent`);
  const ids = new Set(all.map((x) => x.id));
  for (const p of [lo, lb, ...people]) {
    const unknown = [...p.chatIds].filter((id) => !ids.has(id));
    eq(unknown, [], `${p.name}: every chat event it saw is in the meeting`);
  }
  console.log(`# ${acked.length} lines acknowledged, ${user.length} stored`);
});

test('each client saw every event once, in offset order, with no gap (attendees: but the organisers-only notices)', async () => {
  // a last line, from A: everyone has everything up to it once it arrived everywhere
  const cid = lo.chat('the end of the lecture');
  await until('the last line everywhere', () => [lo, lb, ...people].every((p) => p.events.some((e) => e.type === 'chat' && e.msg.cid === cid)), 10000);
  const end = lo.last;
  const start = Math.min(...[lo, lb, ...people].map((p) => p.offsets[0]));
  // the organisers' streams together: every offset in between, exactly once each
  for (const p of [lo, lb]) {
    eq(p.dups, [], `${p.name}: no event twice`);
    const from = p.offsets[0];
    const gaps = [];
    for (let o = from, k = 0; o <= end; o++, k++) if (p.offsets[k] !== o) { gaps.push(o); k--; }
    eq(gaps.slice(0, 20), [], `${p.name} (organiser, node ${p === lo ? 'A' : 'B'}): offsets ${from}..${end} without a gap`);
  }
  const orgOnly = new Set(lo.events.filter((e) => e.type === 'chat' && e.msg.kind === 'system').map((e) => e.offset));
  // olga connected first: her stream is the reference from before any attendee's first event
  assert(lo.offsets[0] <= start, `olga's stream starts at ${lo.offsets[0]}, an attendee's at ${start}`);
  for (const p of people) {
    eq(p.dups, [], `${p.name}: no event twice`);
    const want = lo.offsets.filter((o) => o >= p.offsets[0] && o <= end && !orgOnly.has(o));
    const got = p.offsets.filter((o) => o <= end);
    const gone = want.filter((o) => !got.includes(o));
    const extra = got.filter((o) => !want.includes(o));
    eq([gone.slice(0, 20), extra.slice(0, 20)], [[], []], `${p.name}: [missed, not in the organiser's stream]`);
  }
});

test('the recording\'s end is in the meeting\'s log exactly once; the recording is closed', async () => {
  const r = await olga.req('GET', `/api/meetings/${code}/recordings`);
  eq(r.status, 200, 'recordings: ' + r.text);
  const mine = r.json.recordings.filter((x) => x.user_id === people[0].c.user.id);
  eq(mine.length, 1, 'one recording of att0 in the meeting');
  assert(mine[0].end_at, 'with its end');
  for (const p of [lo, lb, people[0]]) {
    const ends = p.events.filter((e) => e.type === 'recording.end' && e.msg.recording.id === mine[0].id);
    eq(ends.length, 1, `${p.name}: one recording.end`);
  }
  eq(ax.dupAcks.get(endEv.id) || 0, 0, 'the end was acknowledged once, as new (the first ack reached the agent)');
});

test('the user whose agent moved is unmonitored no longer than the reconnect took; the one whose agent died with C is unmonitored within the silence window', async () => {
  const moved = people[0].c.user.id, gone = people[2].c.user.id;
  // past the dead node's silence window and its sweep
  const zOff = await until('att2 unmonitored (agent died with node C)', () =>
    lo.events.find((e) => monitorOf(gone)(e) && !e.msg.monitored && e.at > killedAt), SILENCE_MS + 10000);
  console.log(`# att2 unmonitored ${zOff.at - killedAt} ms after node C died (silence window ${SILENCE_MS} ms)`);
  assert(zOff.at - killedAt <= SILENCE_MS + 3000, `within the silence window (+ a sweep), ${zOff.at - killedAt} ms`);
  await sleep(1000);
  await lo.sock.marker();
  const flips = lo.events.filter((e) => monitorOf(moved)(e) && e.at > killedAt);
  const reconnectMs = ax.backAt - killedAt;
  let down = null, longest = 0;
  for (const f of flips) {
    if (!f.msg.monitored && down === null) down = f.at;
    if (f.msg.monitored && down !== null) { longest = Math.max(longest, f.at - down); down = null; }
  }
  assert(down === null, `att0 ends monitored: ${show(flips.map((f) => f.msg))}`);
  console.log(`# att0 (agent moved) unmonitored at most ${longest} ms; the agent's reconnect took ${reconnectMs} ms`);
  assert(longest <= reconnectMs + 500, `unmonitored ${longest} ms, the reconnect took ${reconnectMs} ms`);
  const x = olga.lobby(code); await x.opened;
  const snap = await x.next('lobby'); await x.close();
  const st = (id) => snap.attendees.find((p) => p.id === id);
  eq(st(moved).monitored, true, 'att0 monitored in a fresh snapshot');
  eq(st(gone).monitored, false, 'att2 unmonitored in a fresh snapshot');
});

test('the cluster stops: nodes A and B exit 0 on SIGTERM', async () => {
  for (const a of [ax, aw, az]) a.stop();
  for (const p of [lo, lb, ...people]) p.close();
  await c.stop();
});

run();
