// SPDX-License-Identifier: GPL-2.0-only
// TLS: with tls_cert/tls_key the server speaks https and wss only, and the
// session cookie becomes "__Host-sphinx_session" with Secure.
'use strict';
const { execFileSync } = require('child_process');
const fs = require('fs');
const https = require('https');
const os = require('os');
const path = require('path');
const WebSocket = require('ws');
const { test, run, assert, eq, Server } = require('./lib');

let s, dir;

function req(method, p, body, headers = {}) {
  return new Promise((resolve, reject) => {
    const r = https.request({ host: '127.0.0.1', port: s.port, path: p, method, rejectUnauthorized: false,
      headers: Object.assign(body ? { 'content-type': 'application/json', 'content-length': Buffer.byteLength(JSON.stringify(body)) } : {}, headers) }, (res) => {
      let d = ''; res.on('data', (c) => { d += c; });
      res.on('end', () => resolve({ status: res.statusCode, headers: res.headers, json: d ? JSON.parse(d) : null }));
    });
    r.on('error', reject);
    if (body) r.write(JSON.stringify(body));
    r.end();
  });
}

test('self-signed certificate (openssl) and a TLS server', async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sphinx-tls-'));
  execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '1', '-subj', '/CN=127.0.0.1',
    '-keyout', path.join(dir, 'key.pem'), '-out', path.join(dir, 'cert.pem')], { stdio: 'ignore' });
  s = new Server({ args: ['-o', `tls_cert=${dir}/cert.pem`, '-o', `tls_key=${dir}/key.pem`] });
  s.url = null;
  const port = await require('./lib').freePort();
  s.port = port;
  // Server.start() probes http://; probe https here instead
  const { spawn } = require('child_process');
  s.proc = spawn(require('./lib').BIN, ['--data', s.dataDir, '--port', String(port), '--bind', '127.0.0.1',
    '--web', path.join(require('./lib').ROOT, 'server/web'), '-o', 'signup=yes', '-o', 'password_strength=min', ...s.storeArgs,
    '-o', `tls_cert=${dir}/cert.pem`, '-o', `tls_key=${dir}/key.pem`], { stdio: ['ignore', 'pipe', 'pipe'] });
  s.proc.stderr.on('data', (d) => { s.log += d; });
  s.exited = new Promise((r) => s.proc.on('exit', (code, sig) => r({ code, sig })));
  for (let i = 0; i < 100; i++) {
    try { if ((await req('GET', '/api/health')).status === 200) break; } catch (e) { /* not yet */ }
    await new Promise((r) => setTimeout(r, 50));
  }
  eq((await req('GET', '/api/health')).json.ok, true, 'https health');
  assert(/https\/wss/.test(s.log), 'logged as TLS');
});

test('a chunked request body is refused with 411, not read as empty', async () => {
  const r = await new Promise((resolve, reject) => {
    const q = https.request({ host: '127.0.0.1', port: s.port, path: '/api/auth/login', method: 'POST', rejectUnauthorized: false,
      headers: { 'content-type': 'application/json' } }, (res) => { res.resume(); res.on('end', () => resolve(res.statusCode)); });
    q.on('error', reject);
    q.write('{"username":"x",'); q.write('"password":"y"}'); q.end();
  });
  eq(r, 411, 'length required');
});

test('__Host- cookie with Secure; wss lobby with it', async () => {
  const r = await req('POST', '/api/auth/signup', { username: 'tina', email: 't@example.org', password: 'password-t' });
  eq(r.status, 201, 'signup: ' + JSON.stringify(r.json));
  const sc = r.headers['set-cookie'][0];
  assert(/^__Host-sphinx_session=/.test(sc) && /; Secure/.test(sc) && /Path=\//.test(sc) && !/Domain/.test(sc), sc);
  const cookie = sc.split(';')[0];
  const m = await req('POST', '/api/meetings', { title: 'TLS' }, { cookie, 'x-csrf-token': r.json.csrf });
  eq(m.status, 201, 'meeting');
  const ws = new WebSocket(`wss://127.0.0.1:${s.port}/lobby/${m.json.code}`, { headers: { cookie }, rejectUnauthorized: false });
  const first = await new Promise((resolve, reject) => { ws.on('message', (d) => resolve(JSON.parse(d))); ws.on('error', reject); });
  eq(first.type, 'lobby', 'snapshot over wss');
  ws.close();
  const plain = await fetch(`http://127.0.0.1:${s.port}/api/health`).then(() => 'answered', () => 'refused');
  eq(plain, 'refused', 'no plain http on the TLS port');
  s.proc.kill('SIGKILL');
  fs.rmSync(dir, { recursive: true, force: true });
});

run();
