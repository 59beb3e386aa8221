// SPDX-License-Identifier: GPL-2.0-only
// Chat latency across nodes (bench/cluster_fanout.sh): two sphinx-server
// nodes on one PostgreSQL store. A writer on node A sends MESSAGES chat
// lines one at a time (the next once the previous reached both readers);
// a reader on A (delivered at commit) and a reader on B (NOTIFY, LISTEN,
// catch-up from the store) time each line from its send. Prints one line of
// figures; not a test.
//   node bench/cluster_fanout.js URL_A URL_B [MESSAGES]
'use strict';
const path = require('path');
const WebSocket = require(path.join(__dirname, '../tests/node/node_modules/ws'));

const [urlA, urlB, MESSAGES = 400] = [process.argv[2], process.argv[3], Number(process.argv[4] || 400)];

async function req(base, method, p, body, cookie, csrf) {
  const headers = { 'content-type': 'application/json' };
  if (cookie) headers.cookie = cookie;
  if (csrf) headers['x-csrf-token'] = csrf;
  const r = await fetch(base + p, { method, headers, body: body && JSON.stringify(body) });
  const sc = r.headers.get('set-cookie');
  return { status: r.status, json: await r.json().catch(() => null), cookie: sc && /^([^;]*)/.exec(sc)[1] };
}
async function signup(base, u) {
  const r = await req(base, 'POST', '/api/auth/signup', { username: u, email: `${u}@example.org`, password: 'password-' + u, name: u });
  if (r.status !== 201) throw new Error(`signup ${u}: ${r.status}`);
  return { cookie: r.cookie, csrf: r.json.csrf };
}
function lobby(base, who, code) {
  const ws = new WebSocket(`${base.replace('http', 'ws')}/lobby/${code}`, { headers: { cookie: who.cookie }, perMessageDeflate: false });
  return new Promise((resolve, reject) => { ws.on('open', () => resolve(ws)); ws.on('error', reject); });
}
const pct = (xs, p) => { const s = xs.slice().sort((a, b) => a - b); return s[Math.min(s.length - 1, Math.ceil(p / 100 * s.length) - 1)]; };

(async () => {
  const w = await signup(urlA, 'writer'), ra = await signup(urlA, 'reader-a'), rb = await signup(urlB, 'reader-b');
  const m = await req(urlA, 'POST', '/api/meetings', { title: 'fan-out bench' }, w.cookie, w.csrf);
  const code = m.json.code;
  for (const u of [ra, rb]) await req(urlA, 'POST', '/api/meetings/join', { code }, u.cookie, u.csrf);
  const wa = await lobby(urlA, w, code), la = await lobby(urlA, ra, code), lb = await lobby(urlB, rb, code);
  const sent = new Map(), lat = { a: [], b: [] };
  let pending = null;
  const onMsg = (k) => (data) => {
    const x = JSON.parse(data.toString());
    if (x.type !== 'chat' || !sent.has(x.text)) return;
    const e = sent.get(x.text);
    lat[k].push(Number(process.hrtime.bigint() - e.t0) / 1e6);
    if (++e.got === 2 && pending) { const f = pending; pending = null; f(); }
  };
  la.on('message', onMsg('a'));
  lb.on('message', onMsg('b'));
  await new Promise((r) => setTimeout(r, 1500));	// the arrivals' presence events go first
  const t0 = Date.now();
  for (let i = 0; i < MESSAGES; i++) {
    const text = `bench-${i}`;
    const done = new Promise((r) => { pending = r; });
    sent.set(text, { t0: process.hrtime.bigint(), got: 0 });
    wa.send(JSON.stringify({ type: 'chat', v: 1, text }));
    await Promise.race([done, new Promise((_, rej) => setTimeout(() => rej(new Error(`line ${i} lost`)), 5000))]);
  }
  const secs = (Date.now() - t0) / 1000;
  const f = (xs) => xs.length ? xs.map((v) => v.toFixed(2)) : [];
  console.log(`messages=${MESSAGES} seconds=${secs.toFixed(2)} same_node_ms_p50=${f([pct(lat.a, 50)])} same_node_ms_p99=${f([pct(lat.a, 99)])}` +
    ` cross_node_ms_p50=${f([pct(lat.b, 50)])} cross_node_ms_p99=${f([pct(lat.b, 99)])} cross_node_ms_max=${f([Math.max(...lat.b)])}`);
  for (const s of [wa, la, lb]) s.close();
  process.exit(0);
})().catch((e) => { console.error(e.stack || e); process.exit(1); });
