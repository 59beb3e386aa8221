// SPDX-License-Identifier: GPL-2.0-only
// The server's network edge, seen from outside as an operator and as a
// hostile client with raw sockets: what it binds (read back from
// /proc/net/tcp*), the data-directory lock, config and data_dir errors,
// slow request heads (slowloris) against a fresh client's latency, RFC 6455
// details (version 426, close codes), path traversal sent as raw bytes, and
// the security headers (CSP frame-ancestors).
'use strict';
const { spawn, spawnSync } = require('child_process');
const fs = require('fs');
const net = require('net');
const os = require('os');
const path = require('path');
const crypto = require('crypto');
const { test, run, assert, eq, sleep, Server, Client, freePort, ROOT, BIN } = require('./lib');

const WEB = path.join(ROOT, 'server/web');
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'sphinx-edge-'));

// ------------------------------------------------------------- helpers

// Listening sockets on port, from the kernel: [{ family, addr }] (addr in hex as /proc shows it).
function listening(port) {
  const out = [];
  for (const [file, family] of [['/proc/net/tcp', 4], ['/proc/net/tcp6', 6]]) {
    let text = '';
    try { text = fs.readFileSync(file, 'utf8'); } catch (e) { continue; }
    for (const line of text.split('\n').slice(1)) {
      const f = line.trim().split(/\s+/);
      if (f.length < 4 || f[3] !== '0A') continue;	// 0A: LISTEN
      const [addr, p] = f[1].split(':');
      if (parseInt(p, 16) === port) out.push({ family, addr });
    }
  }
  return out;
}

// Start the binary with args; resolve when it logs "serving" or exits.
function startRaw(args) {
  return new Promise((resolve) => {
    const proc = spawn(BIN, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    const st = { proc, log: '', code: null };
    const done = () => resolve(st);
    proc.stderr.on('data', (d) => { st.log += d; if (/ serving \(/.test(st.log)) done(); });
    proc.stdout.on('data', (d) => { st.log += d; });
    proc.on('exit', (code) => { st.code = code; done(); });
    setTimeout(done, 5000);
  });
}
async function stopRaw(st) {
  if (st.proc.exitCode === null && st.code === null) {
    const gone = new Promise((r) => st.proc.on('exit', r));
    st.proc.kill('SIGTERM');
    await gone;
  }
}
const baseArgs = (port, data) => ['--data', data || fs.mkdtempSync(path.join(tmp, 'd-')), '--port', String(port),
  '--web', WEB, '-o', 'password_strength=min'];

// One raw HTTP exchange: send bytes, collect until the peer closes or ms pass.
function raw(port, bytes, opts = {}) {
  return new Promise((resolve, reject) => {
    const sock = net.connect({ port, host: '127.0.0.1', localAddress: opts.localAddress });
    let buf = Buffer.alloc(0);
    const t = setTimeout(() => { sock.destroy(); resolve(buf); }, opts.ms || 2000);
    sock.on('connect', () => sock.write(bytes));
    sock.on('data', (d) => {
      buf = Buffer.concat([buf, d]);
      if (opts.until && opts.until(buf)) { clearTimeout(t); sock.destroy(); resolve(buf); }
    });
    sock.on('close', () => { clearTimeout(t); resolve(buf); });
    sock.on('error', (e) => { clearTimeout(t); if (buf.length) resolve(buf); else reject(e); });
  });
}
const headEnd = (b) => b.indexOf('\r\n\r\n') >= 0;

// ------------------------------------------------------------ binding

test('--bind 127.0.0.1 listens on 127.0.0.1 only (no [::], no dual stack), logs it', async () => {
  const port = await freePort();
  const st = await startRaw([...baseArgs(port), '--bind', '127.0.0.1']);
  try {
    assert(st.code === null, 'server runs: ' + st.log);
    eq(listening(port), [{ family: 4, addr: '0100007F' }], 'kernel listening sockets on the port');
    assert(st.log.includes(`listening on 127.0.0.1:${port}`), 'log names the real address: ' + st.log);
  } finally { await stopRaw(st); }
});

test('--bind ::1 listens on [::1] only, v6only (IPv4 loopback not reached)', async () => {
  const port = await freePort();
  const st = await startRaw([...baseArgs(port), '--bind', '::1']);
  try {
    assert(st.code === null, 'server runs: ' + st.log);
    eq(listening(port), [{ family: 6, addr: '00000000000000000000000001000000' }], 'kernel listening sockets');
    assert(st.log.includes(`listening on [::1]:${port}`) && !/and IPv4/.test(st.log), 'log: ' + st.log);
    let refused = false;
    await raw(port, 'GET / HTTP/1.1\r\n\r\n', { ms: 500 }).catch(() => { refused = true; });
    assert(refused, '127.0.0.1 is not served');
  } finally { await stopRaw(st); }
});

test('--bind 10.99.99.99 (not on this host): clear error, non-zero exit, nothing listening', async () => {
  const port = await freePort();
  const st = await startRaw([...baseArgs(port), '--bind', '10.99.99.99']);
  await stopRaw(st);
  assert(st.code !== null && st.code !== 0, 'exits non-zero, got ' + st.code + ': ' + st.log);
  assert(/cannot listen on 10\.99\.99\.99 port \d+: Cannot assign requested address/.test(st.log), 'says why: ' + st.log);
  eq(listening(port), [], 'nothing listens');
});

test('--bind localhost listens on what the name resolves to, all loopback; a bad name is refused', async () => {
  const port = await freePort();
  const st = await startRaw([...baseArgs(port), '--bind', 'localhost']);
  try {
    assert(st.code === null, 'server runs: ' + st.log);
    const l = listening(port);
    assert(l.length >= 1, 'something listens: ' + st.log);
    for (const x of l)
      assert(x.addr === '0100007F' || x.addr === '00000000000000000000000001000000', 'loopback only: ' + JSON.stringify(l));
    const r = await raw(port, 'GET /api/health HTTP/1.1\r\nHost: localhost\r\n\r\n', { until: (b) => b.includes('"ok"') })
      .catch(() => Buffer.from(''));
    if (l.some((x) => x.family === 4)) assert(r.toString().startsWith('HTTP/1.1 200'), 'answers on 127.0.0.1');
  } finally { await stopRaw(st); }
  const bad = await startRaw([...baseArgs(port), '--bind', 'no-such-host.invalid']);
  await stopRaw(bad);
  assert(bad.code !== 0 && bad.code !== null && /cannot listen on 'no-such-host\.invalid'/.test(bad.log), 'bad name: ' + bad.log);
});

// ------------------------------------------------------ data directory

test('two servers on one data directory: the second is refused, naming the directory and the pid', async () => {
  const data = fs.mkdtempSync(path.join(tmp, 'd-'));
  const p1 = await freePort();
  const first = await startRaw([...baseArgs(p1, data), '--bind', '127.0.0.1']);
  try {
    assert(first.code === null, 'first runs: ' + first.log);
    const p2 = await freePort();
    const second = await startRaw([...baseArgs(p2, data), '--bind', '127.0.0.1']);
    await stopRaw(second);
    assert(second.code !== 0 && second.code !== null, 'second exits non-zero: ' + second.code + ' ' + second.log);
    assert(second.log.includes(`data directory ${data} is in use by another sphinx-server (pid ${first.proc.pid})`),
      'message: ' + second.log);
    eq(listening(p2), [], 'second never listened');
    // an admin command still runs beside the server
    const r = spawnSync(BIN, ['--data', data, 'list-machines'], { encoding: 'utf8' });
    eq(r.status, 0, 'list-machines beside a running server: ' + r.stderr);
  } finally { await stopRaw(first); }
  // the lock dies with its process: a new server starts
  const p3 = await freePort();
  const third = await startRaw([...baseArgs(p3, data), '--bind', '127.0.0.1']);
  assert(third.code === null, 'starts after the first stopped: ' + third.log);
  await stopRaw(third);
});

test('a data directory that is a file: clear error', async () => {
  const file = path.join(tmp, 'plain-file');
  fs.writeFileSync(file, 'x');
  const r = spawnSync(BIN, ['--data', file, '--port', String(await freePort()), '--bind', '127.0.0.1', '--web', WEB],
    { encoding: 'utf8', timeout: 5000 });
  assert(r.status !== 0, 'non-zero exit');
  assert(r.stderr.includes(`data directory ${file} is not a directory`), 'says so: ' + r.stderr);
  assert(!/Input\/output error/.test(r.stderr), 'not EIO');
});

test('config: an unterminated quote is file:line: unterminated quote; a closed one still works', async () => {
  const conf = path.join(tmp, 'bad.conf');
  fs.writeFileSync(conf, '# comment\npublic_url = "http://x\n');
  const r = spawnSync(BIN, ['-c', conf, '--data', path.join(tmp, 'dq'), '--print-config'], { encoding: 'utf8' });
  eq(r.status, 0, '--print-config does not read the file');
  const r2 = spawnSync(BIN, ['-c', conf, '--data', path.join(tmp, 'dq'), 'list-machines'], { encoding: 'utf8' });
  assert(r2.status !== 0, 'refused');
  assert(r2.stderr.includes(`${conf}:2: unterminated quote`), 'file:line: ' + r2.stderr);
  fs.writeFileSync(conf, 'public_url = "http://x"\nallowed_origins = http://y"\n');
  const r3 = spawnSync(BIN, ['-c', conf, '--data', path.join(tmp, 'dq'), 'list-machines'], { encoding: 'utf8' });
  assert(r3.stderr.includes(`${conf}:2: unterminated quote`), 'a trailing quote alone too: ' + r3.stderr);
  fs.writeFileSync(conf, 'public_url = "http://x"\n');
  const r4 = spawnSync(BIN, ['-c', conf, '--data', path.join(tmp, 'dq'), 'list-machines'], { encoding: 'utf8' });
  eq(r4.status, 0, 'quoted value accepted: ' + r4.stderr);
});

// ------------------------------------------------------------ slowloris

function pct(a, p) { const s = [...a].sort((x, y) => x - y); return s[Math.min(s.length - 1, Math.floor(s.length * p))]; }

async function timedGet(port) {
  const t0 = process.hrtime.bigint();
  const r = await raw(port, 'GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n',
    { ms: 10000, until: (b) => b.includes('</html>') });
  const ms = Number(process.hrtime.bigint() - t0) / 1e6;
  assert(r.toString().startsWith('HTTP/1.1 200'), 'GET / answered 200: ' + r.toString().slice(0, 80));
  return ms;
}

test('slowloris: 500 trickling connections from 3 addresses; a fresh GET / p99 stays under 200 ms', async () => {
  const s = await new Server().start();
  const socks = [];
  let closedEarly = 0;
  const addrs = ['127.0.0.2', '127.0.0.3', '127.0.0.4'];
  for (let i = 0; i < 500; i++) {
    const so = net.connect({ port: s.port, host: '127.0.0.1', localAddress: addrs[i % 3] });
    so.on('error', () => {});
    so.on('close', () => { closedEarly++; });
    so.on('connect', () => so.write('GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nX-a: '));
    socks.push(so);
  }
  const drip = setInterval(() => { for (const so of socks) if (!so.destroyed) so.write('a'); }, 5000);
  const lat = [];
  try {
    await sleep(500);
    const until = Date.now() + 12000;	// past lws' ah idle time (10 s) on an unfixed server
    while (Date.now() < until) {
      lat.push(await timedGet(s.port));
      await sleep(40);
    }
  } finally {
    clearInterval(drip);
    for (const so of socks) so.destroy();
  }
  const p99 = pct(lat, 0.99), max = Math.max(...lat);
  console.log(`# slowloris: ${lat.length} fresh GET /, p50 ${pct(lat, 0.5).toFixed(1)} ms, p99 ${p99.toFixed(1)} ms, max ${max.toFixed(1)} ms; ${closedEarly} slow sockets refused/closed`);
  assert(p99 < 200, `p99 ${p99.toFixed(1)} ms under 200 ms`);
  assert(/max_pending_per_address/.test(s.log), 'the refusal is logged');
  await s.stop();
});

test('header_timeout: a request head still incomplete after it is closed', async () => {
  const s = await new Server({ args: ['-o', 'header_timeout=2s'] }).start();
  const t0 = Date.now();
  const so = net.connect({ port: s.port, host: '127.0.0.1' });
  so.on('error', () => {});
  so.on('connect', () => so.write('GET / HTTP/1.1\r\nHost: x\r\n'));
  const drip = setInterval(() => { if (!so.destroyed) so.write('X-b: 1\r\n'); }, 300);
  await new Promise((r) => { so.on('close', r); setTimeout(r, 8000); });
  clearInterval(drip);
  const took = Date.now() - t0;
  assert(so.destroyed || so.readyState === 'closed', 'closed by the server');
  assert(took >= 1500 && took < 4500, `closed after ~2 s, took ${took} ms`);
  so.destroy();
  await s.stop();
});

// ------------------------------------------------------------ RFC 6455

let ws, olga, code;
test('setup: a server, an organiser and a meeting for raw WebSocket tests', async () => {
  ws = await new Server().start();
  olga = await new Client(ws).signup('olga');
  code = await olga.createMeeting('Raw sockets');
});

function upgradeBytes(version) {
  const key = crypto.randomBytes(16).toString('base64');
  return `GET /lobby/${code} HTTP/1.1\r\nHost: 127.0.0.1:${ws.port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
    `Sec-WebSocket-Key: ${key}\r\nSec-WebSocket-Version: ${version}\r\nCookie: ${olga.cookie}\r\n\r\n`;
}

// A masked client frame, built byte by byte.
function frame(opcode, payload) {
  const mask = crypto.randomBytes(4);
  const b = [0x80 | opcode, 0x80 | payload.length, ...mask];
  for (let i = 0; i < payload.length; i++) b.push(payload[i] ^ mask[i % 4]);
  return Buffer.from(b);
}

// Open a raw upgraded lobby socket; returns { sock, frames() } where frames() parses what came after the 101.
function rawLobby() {
  return new Promise((resolve, reject) => {
    const sock = net.connect({ port: ws.port, host: '127.0.0.1' });
    let buf = Buffer.alloc(0), head = null;
    const st = { sock, data: () => (head === null ? Buffer.alloc(0) : buf.subarray(head)), closed: false, waiters: [] };
    sock.on('data', (d) => {
      buf = Buffer.concat([buf, d]);
      if (head === null && buf.indexOf('\r\n\r\n') >= 0) {
        head = buf.indexOf('\r\n\r\n') + 4;
        if (!buf.subarray(0, 12).toString().includes('101')) return reject(new Error('not 101: ' + buf.toString()));
        resolve(st);
      }
      st.waiters.splice(0).forEach((f) => f());
    });
    sock.on('close', () => { st.closed = true; st.waiters.splice(0).forEach((f) => f()); });
    sock.on('error', () => {});
    sock.on('connect', () => sock.write(upgradeBytes(13)));
  });
}
function parseFrames(b) {
  const out = [];
  let i = 0;
  while (i + 2 <= b.length) {
    const op = b[i] & 0x0f;
    let len = b[i + 1] & 0x7f, off = i + 2;
    if (len === 126) { len = b.readUInt16BE(off); off += 2; }
    if (off + len > b.length) break;
    out.push({ op, payload: b.subarray(off, off + len) });
    i = off + len;
  }
  return out;
}
async function closeFrameAfter(st, bytes, byteByByte) {
  if (byteByByte) {
    for (const x of bytes) { st.sock.write(Buffer.from([x])); await sleep(5); }
  } else {
    st.sock.write(bytes);
  }
  const deadline = Date.now() + 3000;
  for (;;) {
    const c = parseFrames(st.data()).find((f) => f.op === 8);
    if (c) return c.payload.length >= 2 ? c.payload.readUInt16BE(0) : 'empty close';
    if (st.closed || Date.now() > deadline) return st.closed ? 'socket closed without a close frame' : 'timeout';
    await new Promise((r) => { st.waiters.push(r); setTimeout(r, 100); });
  }
}

test('unknown Sec-WebSocket-Version gets 426 Upgrade Required with Sec-WebSocket-Version: 13', async () => {
  for (const v of ['8', '14', '0', 'abc']) {
    const r = (await raw(ws.port, upgradeBytes(v), { until: headEnd })).toString();
    assert(/^HTTP\/1\.[01] 426/.test(r), `version ${v}: ${r.split('\r\n')[0]}`);
    assert(/\r\nsec-websocket-version: 13\r\n/i.test(r), 'names the supported version: ' + r);
  }
  const ok = (await raw(ws.port, upgradeBytes(13), { until: headEnd })).toString();
  assert(ok.startsWith('HTTP/1.1 101'), 'version 13 still upgrades: ' + ok.split('\r\n')[0]);
});

test('invalid close codes from the client (5000, 65535, 1005, 1006, 999, 1-byte body) are answered with 1002', async () => {
  const cases = [[5000, true], [65535, false], [1005, false], [1006, false], [999, false], [2999, false]];
  for (const [codeNum, slow] of cases) {
    const st = await rawLobby();
    const got = await closeFrameAfter(st, frame(8, Buffer.from([codeNum >> 8, codeNum & 0xff, 0x68, 0x69])), slow);
    eq(got, 1002, `close ${codeNum}${slow ? ' (sent byte by byte)' : ''}`);
    st.sock.destroy();
  }
  const st = await rawLobby();
  const got = await closeFrameAfter(st, frame(8, Buffer.from([0x03])), false);
  eq(got, 1002, 'a one-byte close body');
  st.sock.destroy();
});

test('valid close codes (1000, 3000, 4999) are echoed', async () => {
  for (const c of [1000, 3000, 4999]) {
    const st = await rawLobby();
    eq(await closeFrameAfter(st, frame(8, Buffer.from([c >> 8, c & 0xff])), false), c, `close ${c}`);
    st.sock.destroy();
  }
});

// ------------------------------------------------------- path traversal

test('traversal sent as raw bytes never serves a file outside web_root', async () => {
  const root = fs.mkdtempSync(path.join(tmp, 'site-'));
  const web = path.join(root, 'web');
  fs.mkdirSync(path.join(web, 'sub'), { recursive: true });
  fs.writeFileSync(path.join(web, 'index.html'), '<html>inside</html>');
  fs.writeFileSync(path.join(web, 'sub', 'a.txt'), 'inside-sub');
  const MARK = 'SECRET-' + crypto.randomBytes(8).toString('hex');
  fs.writeFileSync(path.join(root, 'secret.txt'), MARK);
  fs.symlinkSync('../secret.txt', path.join(web, 'link.txt'));
  const s = await new Server({ args: ['--web', web] }).start();
  const paths = [
    '/../secret.txt', '/../../etc/passwd', '/../../../../../../etc/passwd', '/sub/../../secret.txt',
    '/%2e%2e/secret.txt', '/%2E%2E/secret.txt', '/.%2e/secret.txt', '/%2e./secret.txt', '/..%2fsecret.txt',
    '/%2e%2e%2fsecret.txt', '/sub%2f..%2f..%2fsecret.txt', '/..%5csecret.txt', '/..\\secret.txt', '/sub\\..\\..\\secret.txt',
    '/%252e%252e/secret.txt', '/index.html%00.txt', '/..%00/secret.txt', '/%c0%ae%c0%ae/secret.txt',
    '/%c0%ae%c0%ae%c0%afsecret.txt', '/%e0%80%ae%e0%80%ae/secret.txt', '/..%c0%afsecret.txt', '//../secret.txt',
    '/./../secret.txt', '/link.txt', '/sub/..%2f..%2fsecret.txt', '/%2e%2e/%2e%2e/etc/passwd',
  ];
  for (const p of paths) {
    const r = await raw(s.port, `GET ${p} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`, { ms: 3000 });
    const text = r.toString('latin1');
    assert(!text.includes(MARK), `${p} served the secret: ${text.split('\r\n')[0]}`);
    assert(!/root:.*:0:0:/.test(text), `${p} served /etc/passwd`);
    assert(!/^HTTP\/1\.1 200/.test(text) || text.includes('inside'), `${p}: 200 with something not from web_root: ${text.slice(0, 200)}`);
  }
  const ok = (await raw(s.port, 'GET /sub/a.txt HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n', { ms: 3000 })).toString();
  assert(ok.startsWith('HTTP/1.1 200') && ok.includes('inside-sub'), 'a real file is served: ' + ok.slice(0, 100));
  await s.stop();
});

// ------------------------------------------------------- headers

test('pages and API answers carry CSP frame-ancestors \'none\' (and X-Frame-Options); no HSTS without TLS', async () => {
  for (const p of ['/', '/index.html', '/js/app.js', '/css/app.css', '/api/health', '/api/me', '/nope.html']) {
    const r = await fetch(ws.url + p);
    const csp = r.headers.get('content-security-policy') || '';
    assert(/frame-ancestors 'none'/.test(csp), `${p} (${r.status}) CSP: ${csp}`);
    assert(/default-src '(self|none)'/.test(csp), `${p} default-src: ${csp}`);
    eq(r.headers.get('x-frame-options'), 'DENY', `${p} X-Frame-Options`);
    eq(r.headers.get('strict-transport-security'), null, `${p}: no HSTS over plain HTTP`);
  }
  const page = await fetch(ws.url + '/');
  const csp = page.headers.get('content-security-policy');
  assert(/script-src 'self'/.test(csp) && /connect-src 'self'/.test(csp) && /object-src 'none'/.test(csp), 'page policy: ' + csp);
});

test('under TLS pages and API answers carry Strict-Transport-Security', async () => {
  const dir = fs.mkdtempSync(path.join(tmp, 'tls-'));
  require('child_process').execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '1',
    '-subj', '/CN=127.0.0.1', '-keyout', path.join(dir, 'key.pem'), '-out', path.join(dir, 'cert.pem')], { stdio: 'ignore' });
  const port = await freePort();
  const st = await startRaw([...baseArgs(port), '--bind', '127.0.0.1', '-o', `tls_cert=${dir}/cert.pem`, '-o', `tls_key=${dir}/key.pem`]);
  try {
    assert(st.code === null, 'TLS server runs: ' + st.log);
    for (const p of ['/', '/api/health']) {
      const h = await new Promise((resolve, reject) => {
        require('https').get({ host: '127.0.0.1', port, path: p, rejectUnauthorized: false }, (res) => { res.resume(); resolve(res.headers); })
          .on('error', reject);
      });
      eq(h['strict-transport-security'], 'max-age=31536000', `${p} HSTS`);
      assert(/frame-ancestors 'none'/.test(h['content-security-policy'] || ''), `${p} CSP`);
    }
  } finally { await stopRaw(st); }
});

run();
