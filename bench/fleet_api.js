// SPDX-License-Identifier: GPL-2.0-only
// The fleet view under a large fleet (bench/fleet_api.sh starts the server):
// an admin enrolls MACHINES machines through the API, each machine's agent
// (a WebSocket client speaking the agent protocol) says hello with a user and
// sends a status report (every tenth with a degraded layer, every seventh
// with spool drops), then GET /api/admin/machines, ?state=online and the CSV
// are each timed REQS times, one at a time. Prints one line of figures.
//   node bench/fleet_api.js URL MACHINES REQS
'use strict';
const path = require('path');
const WebSocket = require(path.join(__dirname, '../tests/node/node_modules/ws'));

const [url, machines = '1000', reqs = '20'] = process.argv.slice(2);
const N = Number(machines), R = Number(reqs);
let cookie = '', csrf = '';

async function req(method, p, body) {
  const headers = { cookie };
  if (body) { headers['content-type'] = 'application/json'; headers['x-csrf-token'] = csrf; }
  const r = await fetch(url + p, { method, headers, body: body ? JSON.stringify(body) : undefined });
  const sc = r.headers.get('set-cookie');
  if (sc) cookie = sc.split(';')[0];
  const text = await r.text();
  if (r.status >= 300) throw new Error(`${method} ${p}: ${r.status} ${text}`);
  return text;
}

const layers = (i) => [
  { name: 'exec', state: 'attached', detail: '2 of 2 probes attached' },
  { name: 'device', state: 'attached', detail: '2 of 2 probes attached' },
  i % 10 ? { name: 'api', state: 'attached', detail: '25 of 25 probes attached' }
    : { name: 'api', state: 'degraded', detail: '3 of 25 probes refused by the kernel: XShmGetImage (/usr/lib/x86_64-linux-gnu/libXext.so.6): Operation not permitted' },
  { name: 'xserver', state: 'off', detail: 'no probe in place' },
  { name: 'compositor', state: 'attached', detail: '6 of 6 probes attached' },
];

function agent(name, token, i) {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url.replace(/^http/, 'ws') + '/agent', { headers: { authorization: 'Bearer ' + token } });
    ws.on('error', reject);
    ws.on('open', () => {
      ws.send(JSON.stringify({ type: 'hello', v: 1, machine: name, boot_id: 'bench-' + i, agent_version: '0.9.2',
        users: ['u' + i], spool_dropped: i % 7 ? 0 : 3 }));
      ws.send(JSON.stringify({ type: 'status', v: 1, kernel: '6.18.0-1-amd64', arch: 'x86_64', layers: layers(i) }));
      ws.send(JSON.stringify({ type: 'bench-marker', v: 1 }));
    });
    ws.on('message', (d) => {
      const m = JSON.parse(d);
      if (m.type === 'error' && m.code === 'unknown_type') resolve(ws);
      else if (m.type === 'error') reject(new Error(`${name}: ${m.code} ${m.message}`));
    });
  });
}

function stats(xs) {
  const s = [...xs].sort((a, b) => a - b);
  return { p50: s[Math.floor((s.length - 1) / 2)], max: s[s.length - 1] };
}

async function timed(p) {
  const ms = [];
  let bytes = 0;
  for (let i = 0; i < R; i++) {
    const t = performance.now();
    bytes = (await req('GET', p)).length;
    ms.push(performance.now() - t);
  }
  return Object.assign(stats(ms), { bytes });
}

(async () => {
  const login = JSON.parse(await req('POST', '/api/auth/login', { username: 'bench-admin', password: 'bench-admin-password' }));
  csrf = login.csrf;
  const socks = [];
  // every agent beats each second from its hello on (silent after 6.5 s otherwise)
  const beat = setInterval(() => { for (const s of socks) s.send(JSON.stringify({ type: 'heartbeat', v: 1, ts: Date.now() * 1e6 })); }, 1000);
  const t0 = performance.now();
  for (let i = 0; i < N; i++) {
    const name = `lab-${String(i).padStart(5, '0')}`;
    const token = JSON.parse(await req('POST', '/api/admin/machines', { name })).token;
    socks.push(await agent(name, token, i));
  }
  const setup = performance.now() - t0;
  const all = await timed('/api/admin/machines');
  const online = await timed('/api/admin/machines?state=online');
  const csv = await timed('/api/admin/machines.csv');
  const check = JSON.parse(await req('GET', '/api/admin/machines'));
  const flagged = check.machines.filter((m) => m.problems.length).length;
  const silent = check.machines.filter((m) => m.state !== 'online').length;
  if (silent) throw new Error(`${silent} machines not online: the agents' heartbeats were late`);
  clearInterval(beat);
  for (const s of socks) s.terminate();
  console.log(`machines=${check.machines.length} flagged=${flagged} setup_s=${(setup / 1000).toFixed(1)}` +
    ` json_ms_p50=${all.p50.toFixed(1)} json_ms_max=${all.max.toFixed(1)} json_kib=${(all.bytes / 1024).toFixed(0)}` +
    ` online_ms_p50=${online.p50.toFixed(1)} csv_ms_p50=${csv.p50.toFixed(1)} csv_ms_max=${csv.max.toFixed(1)} csv_kib=${(csv.bytes / 1024).toFixed(0)}`);
  process.exit(0);
})().catch((e) => { console.error(e); process.exit(1); });
