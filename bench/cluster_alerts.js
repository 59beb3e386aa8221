// SPDX-License-Identifier: GPL-2.0-only
// One run of bench/cluster_alerts.sh: how many agent alerts a second the
// cluster carries end to end - agent -> its node -> PostgreSQL (event,
// offset, NOTIFY) -> every node -> every lobby socket - before the p99 of
// that delay passes 100 ms.
//
// NODES nodes on one private PostgreSQL (tests/node/cluster.js), one meeting,
// LOBBIES distinct accounts with one lobby socket each, socket i on node
// i mod NODES; AGENTS enrolled machines, agent j on node j mod NODES (an
// agent connection may send ws_rate = 20 messages a second: a rate above
// that needs several machines, as a lab has). Then steps of STEP_S seconds at
// a rising total rate (RATES alerts a second, spread evenly over the agents,
// each agent sending its share at even intervals): an alert is a
// capture.begin for one of the attendees (and, half the time, the end of an
// earlier one: both are alerts every lobby gets). Each alert is timed from
// its send to its arrival on EVERY lobby socket; p50/p99/max over all
// (socket, alert) pairs of the step. An alert not on every socket 5 s after
// the step ended is lost, and ends the run. The run stops after the first
// step whose p99 passes 100 ms. The client's own CPU share is printed per
// step: a step at which this process was busy more than 80 % of one CPU
// measured the client, and says so.
//
// Prints "step RATE ..." lines and, last:
//   figure sustained_alerts_per_s   the highest step rate with p99 <= 100 ms
//   figure first_over_alerts_per_s  the first rate whose p99 passed it (0: none did)
//   figure p99_at_sustained_ms
//   node bench/cluster_alerts.js NODES LOBBIES AGENTS STEP_S RATES(comma-separated)
'use strict';
const WebSocket = require('../tests/node/node_modules/ws');	// tests/node's pinned modules (npm ci there)
const { startCluster } = require('../tests/node/cluster');
const { Client, sleep } = require('../tests/node/lib');

const [NODES, LOBBIES, AGENTS, STEP_S] = process.argv.slice(2, 6).map(Number);
const RATES = (process.argv[6] || '').split(',').map(Number).filter((x) => x > 0);
const LIMIT_MS = 100;

const pct = (xs, p) => (xs.length ? xs[Math.min(xs.length - 1, Math.ceil((p / 100) * xs.length) - 1)] : NaN);

(async () => {
  if (!(NODES >= 1 && LOBBIES >= 1 && AGENTS >= 1 && STEP_S > 0 && RATES.length)) {
    console.error('usage: node bench/cluster_alerts.js NODES LOBBIES AGENTS STEP_S RATE,RATE,...');
    process.exit(2);
  }
  const c = await startCluster({ nodes: NODES, args: ['-o', 'log_level=warning'] });
  let rc = 0;
  try {
    // --- people, one meeting, lobby sockets spread over the nodes
    const org = await new Client(c.nodes[0]).signup('organiser');
    const code = await org.createMeeting('Alerts');
    const users = [];
    for (let i = 0; i < LOBBIES; i++) {
      // sign-ups are rate-limited per address (signup_address_per_min): from distinct loopback addresses
      const u = new Client(c.nodes[i % NODES]);
      const name = `a${i}`;
      const addr = `127.0.${10 + Math.floor(i / 250)}.${1 + (i % 250)}`;
      const r = await fetchFrom(addr, u.s.url + '/api/auth/signup', { username: name, email: `${name}@example.org`, password: 'password-' + name });
      if (r.status !== 201) throw new Error(`signup ${name}: ${r.status} ${r.text}`);
      u.cookie = r.cookie; u.csrf = r.json.csrf; u.user = r.json.user;
      const j = await u.join(code);
      if (j.status !== 200) throw new Error(`join ${name}: ${j.status}`);
      users.push({ c: u, name });
    }
    const pending = new Map();	// key -> { t0, left: sockets still to receive, lat: [] }
    let lost = 0;
    const socks = [];
    for (const [i, u] of users.entries()) {
      const ws = new WebSocket(`${c.nodes[i % NODES].wsUrl}/lobby/${code}`, { headers: { cookie: u.c.cookie }, perMessageDeflate: false });
      ws.on('message', (d) => {
        const s = d.toString();
        if (s.indexOf('"recording.') < 0) return;
        const m = JSON.parse(s);
        if (m.type !== 'recording.begin' && m.type !== 'recording.end') return;
        const p = pending.get(`${m.type}:${m.recording.rule_title}`);
        if (!p) return;
        p.lat.push(Number(process.hrtime.bigint() - p.t0) / 1e6);
        if (--p.left === 0) pending.delete(`${m.type}:${m.recording.rule_title}`);
      });
      await new Promise((resolve, reject) => { ws.on('open', resolve); ws.on('error', reject); });
      socks.push(ws);
    }
    // --- agents spread over the nodes
    const agents = [];
    for (let j = 0; j < AGENTS; j++) {
      const e = c.nodes[0].admin(['enroll-machine', `lab-${j}`]);
      if (e.code !== 0) throw new Error('enroll: ' + e.err);
      const ws = new WebSocket(`${c.nodes[j % NODES].wsUrl}/agent`, { headers: { authorization: 'Bearer ' + e.out }, perMessageDeflate: false });
      await new Promise((resolve, reject) => { ws.on('open', resolve); ws.on('error', reject); });
      const a = { ws, j, seq: 0, open: [], acked: 0, errors: 0 };
      ws.on('message', (d) => {
        const m = JSON.parse(d.toString());
        if (m.type === 'ack') a.acked++;
        else if (m.type === 'error') { a.errors++; if (a.errors < 4) console.log(`agent lab-${j}: ${d}`); }
      });
      const welcome = new Promise((resolve) => ws.on('message', (d) => { if (/"welcome"/.test(d.toString())) resolve(); }));
      ws.send(JSON.stringify({ type: 'hello', v: 1, machine: `lab-${j}`, boot_id: `bench-${j}`, agent_version: 'bench' }));
      await welcome;
      a.beat = setInterval(() => ws.send(JSON.stringify({ type: 'heartbeat', v: 1, ts: Date.now() * 1e6 })), 2000);
      agents.push(a);
    }
    console.log(`cluster: ${NODES} node(s), ${LOBBIES} lobby sockets of distinct users, ${AGENTS} agents, steps of ${STEP_S} s`);

    function alert(a) {
      const seq = ++a.seq, boot = `bench-${a.j}`;
      const title = `t${a.j}-${seq}`;
      let type = 'capture.begin', who, capture, t = title;
      if (a.open.length && seq % 2 === 0) {
        // the end of an earlier recording of this machine
        ({ who, capture, title: t } = a.open.shift());
        type = 'capture.end';
      } else {
        who = users[(a.j * 7 + seq) % users.length].name;
        capture = `${boot}:${seq}`;
        a.open.push({ who, capture, title });
      }
      pending.set(`${type === 'capture.end' ? 'recording.end' : 'recording.begin'}:${t}`, { t0: process.hrtime.bigint(), left: socks.length, lat: stepLat });
      a.ws.send(JSON.stringify({
        type, v: 1, id: `${boot}:${seq}:x`, capture, kind: 'recording', ts: 0, pid: 10000 + seq, comm: 'ffmpeg',
        exe: '/usr/bin/ffmpeg', argv: ['ffmpeg', '-f', 'x11grab'], uid: 1000, user: who,
        rule: { id: 'sphinx.exec.ffmpeg-x11grab', title: t }, layer: 'exec',
        ...(type === 'capture.end' ? { duration_ms: 10, calls: 1 } : {}),
      }));
    }

    let stepLat = [];
    let sustained = 0, firstOver = 0, p99AtSustained = NaN;
    for (const rate of RATES) {
      const perAgent = rate / AGENTS;
      if (perAgent > 16) { console.log(`step ${rate}: over 16 a second per agent (ws_rate 20 with heartbeats): more AGENTS needed; stop`); break; }
      stepLat = [];
      const lat = stepLat;
      const cpu0 = process.cpuUsage(), w0 = Date.now();
      const end = Date.now() + STEP_S * 1000;
      const timers = agents.map((a, k) => new Promise((resolve) => {
        const every = 1000 / perAgent;
        let next = Date.now() + (k * every) / AGENTS;
        const tick = () => {
          if (Date.now() >= end) return resolve();
          alert(a);
          next += every;
          setTimeout(tick, Math.max(0, next - Date.now()));
        };
        setTimeout(tick, Math.max(0, next - Date.now()));
      }));
      await Promise.all(timers);
      const cpu = process.cpuUsage(cpu0), busy = (cpu.user + cpu.system) / 1000 / (Date.now() - w0);
      for (let i = 0; i < 250 && [...pending.values()].some((p) => p.lat === lat); i++) await sleep(20);
      const gone = [...pending.entries()].filter(([, p]) => p.lat === lat);
      lost += gone.length;
      gone.forEach(([k]) => pending.delete(k));
      lat.sort((x, y) => x - y);
      const sent = Math.round(rate * STEP_S);
      const p50 = pct(lat, 50), p99 = pct(lat, 99);
      console.log(`step ${rate} alerts/s: ~${sent} alerts, ${lat.length} deliveries, p50 ${p50.toFixed(1)} ms, p99 ${p99.toFixed(1)} ms, ` +
        `max ${lat[lat.length - 1].toFixed(1)} ms, not delivered everywhere ${gone.length}, client CPU ${(busy * 100).toFixed(0)} %` +
        (busy > 0.8 ? ' (CLIENT-BOUND: this step measured the bench client too)' : ''));
      if (gone.length) { console.log(`step ${rate}: alerts lost (not on every socket 5 s after the step): stop`); firstOver = rate; break; }
      if (p99 > LIMIT_MS) { firstOver = rate; break; }
      sustained = rate; p99AtSustained = p99;
      await sleep(500);
    }
    const errs = agents.reduce((t, a) => t + a.errors, 0);
    console.log(`agents: ${agents.reduce((t, a) => t + a.acked, 0)} acks, ${errs} errors; ${lost} alerts not delivered everywhere`);
    console.log(`figure sustained_alerts_per_s ${sustained}`);
    console.log(`figure first_over_alerts_per_s ${firstOver}`);
    if (sustained) console.log(`figure p99_at_sustained_ms ${p99AtSustained.toFixed(1)}`);
    for (const a of agents) { clearInterval(a.beat); a.ws.terminate(); }
    for (const s of socks) s.terminate();
    if (errs) rc = 1;
  } catch (e) {
    console.error(e);
    rc = 1;
  } finally {
    await c.stop().catch((err) => { console.error(String(err.message || err)); rc = 1; });
  }
  process.exit(rc);
})();

// a sign-up from a given loopback source address (Node's fetch cannot bind one)
function fetchFrom(localAddress, url, body) {
  const http = require('http');
  const u = new URL(url), data = JSON.stringify(body);
  return new Promise((resolve, reject) => {
    const r = http.request({ host: u.hostname, port: u.port, path: u.pathname, method: 'POST', localAddress,
      headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(data) } }, (res) => {
      let text = '';
      res.on('data', (d) => { text += d; });
      res.on('end', () => {
        const sc = res.headers['set-cookie'];
        const m = sc && /^([^=]+)=([^;]*)/.exec(sc[0]);
        let json = null; try { json = JSON.parse(text); } catch (e) { /* not JSON */ }
        resolve({ status: res.statusCode, text, json, cookie: m ? `${m[1]}=${m[2]}` : null });
      });
    });
    r.on('error', reject);
    r.end(data);
  });
}
