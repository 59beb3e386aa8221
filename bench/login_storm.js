// SPDX-License-Identifier: GPL-2.0-only
// Login storm client (bench/login_storm.sh): signs up ACCOUNTS users, then
// sends LOGINS logins with INFLIGHT in flight, each from its own source
// address 127.0.x.y (Linux routes all of 127/8 to lo), half right passwords
// for those accounts and half unknown users (the server burns the same
// argon2id time on both). Meanwhile GET /api/health every 20 ms. Prints one
// line of figures; not a test.
//   node bench/login_storm.js URL [LOGINS] [INFLIGHT] [ACCOUNTS]
'use strict';
const http = require('http');

const [url, LOGINS = 1000, INFLIGHT = 100, ACCOUNTS = 50] = [process.argv[2], ...process.argv.slice(3).map(Number)];
const { hostname, port } = new URL(url);
const addr = (i) => `127.0.${10 + Math.floor(i / 250)}.${1 + (i % 250)}`;

function req(method, path, body, from) {
  const data = body ? JSON.stringify(body) : undefined;
  const headers = data ? { 'content-type': 'application/json', 'content-length': Buffer.byteLength(data) } : {};
  const t0 = process.hrtime.bigint();
  return new Promise((resolve) => {
    const r = http.request({ host: hostname, port, method, path, headers, localAddress: from, agent: false }, (res) => {
      res.resume();
      res.on('end', () => resolve({ status: res.statusCode, ms: Number(process.hrtime.bigint() - t0) / 1e6 }));
    });
    r.on('error', (e) => resolve({ status: 'error:' + e.code, ms: Number(process.hrtime.bigint() - t0) / 1e6 }));
    if (data) r.write(data);
    r.end();
  });
}
const pct = (xs, p) => { const s = xs.slice().sort((a, b) => a - b); return s[Math.min(s.length - 1, Math.ceil(p / 100 * s.length) - 1)]; };

(async () => {
  for (let i = 0; i < ACCOUNTS; i++) {
    const u = `storm${i}`;
    const r = await req('POST', '/api/auth/signup', { username: u, email: `${u}@example.org`, password: 'password-' + u }, addr(5000 + i));
    if (r.status !== 201 && r.status !== 409) { console.error(`signup ${u}: ${r.status}`); process.exit(1); }
  }
  let done = false;
  const health = [];
  const probe = (async () => {
    while (!done) {
      health.push((await req('GET', '/api/health', undefined, '127.0.0.1')).ms);
      await new Promise((r) => setTimeout(r, 20));
    }
  })();
  const counts = {}, lat = [];
  let next = 0;
  const t0 = Date.now();
  await Promise.all(Array.from({ length: INFLIGHT }, async () => {
    while (next < LOGINS) {
      const i = next++;
      const body = i % 2 ? { username: `storm${i % ACCOUNTS}`, password: `password-storm${i % ACCOUNTS}` }
        : { username: `nobody${i}`, password: 'wrong-password' };
      const r = await req('POST', '/api/auth/login', body, addr(i));
      counts[r.status] = (counts[r.status] || 0) + 1;
      lat.push(r.ms);
    }
  }));
  const secs = (Date.now() - t0) / 1000;
  done = true;
  await probe;
  console.log(`logins=${LOGINS} inflight=${INFLIGHT} seconds=${secs.toFixed(2)} logins_per_s=${(LOGINS / secs).toFixed(1)} ` +
    `statuses=${JSON.stringify(counts)} login_ms_p50=${pct(lat, 50).toFixed(0)} login_ms_p99=${pct(lat, 99).toFixed(0)} ` +
    `health_n=${health.length} health_ms_p50=${pct(health, 50).toFixed(1)} health_ms_p99=${pct(health, 99).toFixed(1)} ` +
    `health_ms_max=${Math.max(...health).toFixed(1)}`);
})();
