// SPDX-License-Identifier: GPL-2.0-only
// Test harness for sphinx-server: starts the real binary on a free port with
// a fresh data directory, speaks real HTTP (fetch) and WebSocket (ws) to it,
// and prints TAP lines ("ok - name" / "not ok - name") for tests/run.
'use strict';
const { spawn, spawnSync } = require('child_process');
const fs = require('fs');
const net = require('net');
const os = require('os');
const path = require('path');
const WebSocket = require('ws');

const ROOT = path.resolve(__dirname, '../..');
const OUTPUT = process.env.OUTPUT || 'build';
const BIN = path.resolve(ROOT, OUTPUT, 'sphinx-server');

// ------------------------------------------------------------------ TAP
const tests = [];
function test(name, fn) { tests.push({ name, fn }); }
// A test that timed out goes on running; what it throws later must not
// kill the process before the remaining tests and the server checks ran
// (its test is already "not ok"). Any other stray error fails the file.
let stray = 0;
process.on('unhandledRejection', (e) => {
  stray++;
  console.log(`# unhandled rejection (a test that timed out, or a missing await): ${String(e && e.stack || e).split('\n').join('\n# ')}`);
});
async function run() {
  let failed = 0, n = 0;
  const planned = tests.length + 2;
  // the plan first: a crash part-way leaves the tests it never reached
  // missing, and tests/run names them as failures
  console.log(`1..${planned}`);
  for (const t of tests) {
    n++;
    try {
      await withTimeout(t.fn(), 30000, `test "${t.name}" timed out`);
      console.log(`ok ${n} - ${t.name}`);
    } catch (e) {
      failed++;
      console.log(`not ok ${n} - ${t.name}`);
      console.log(`# ${String(e && e.stack || e).split('\n').join('\n# ')}`);
    }
  }
  // Every server still running is stopped with SIGTERM, as systemd would.
  // Each server not SIGKILLed on purpose (kill9) must have exited 0 - a
  // crash during the tests fails here - and a sanitizer build (make
  // SANITIZE=address,undefined: tests/run's integration-asan suite) reports
  // leaks only at such an exit.
  await Promise.all(servers.map(async (x) => {
    if (!x.proc || x.proc.exitCode !== null || x.proc.signalCode !== null) return;
    x.proc.kill('SIGTERM');
    if (!await Promise.race([x.exited, sleep(20000).then(() => null)])) {
      x.stuck = true;
      x.proc.kill('SIGKILL');
      await x.exited;
    }
  }));
  const bad = [];
  for (const x of servers) {
    if (!x.proc || x.killed) continue;
    const r = await x.exited;
    if (x.stuck) bad.push(`server on port ${x.port}: still running 20 s after SIGTERM`);
    else if (r.code !== 0) bad.push(`server on port ${x.port}: exit status ${r.code}, signal ${r.sig}`);
  }
  n++;
  if (bad.length) {
    failed++;
    console.log(`not ok ${n} - every server exits 0 on SIGTERM (no crash, no hang)`);
    for (const l of bad) console.log('# ' + l);
  } else {
    console.log(`ok ${n} - every server exits 0 on SIGTERM (no crash, no hang)`);
  }
  n++;
  const reports = servers.filter((x) => SANITIZER_REPORT.test(x.log));
  if (reports.length) {
    failed++;
    console.log(`not ok ${n} - no sanitizer reports in the server logs`);
    for (const x of reports) console.log('# ' + x.log.split('\n').filter((l) => /Sanitizer|runtime error|#\d/.test(l)).slice(0, 30).join('\n# '));
  } else {
    console.log(`ok ${n} - no sanitizer reports in the server logs`);
  }
  for (const fn of endHooks) {
    try { await fn(); } catch (e) { stray++; console.log(`# at the end: ${String(e && e.stack || e).split('\n').join('\n# ')}`); }
  }
  process.exit(failed || stray ? 1 : 0);
}
// what ASan, LSan and UBSan print (the sanitizer builds abort on UBSan too)
const SANITIZER_REPORT = /ERROR: (Address|Leak)Sanitizer|runtime error:|SUMMARY: \w+Sanitizer/;
function withTimeout(p, ms, msg) {
  let t;
  return Promise.race([p, new Promise((_, rej) => { t = setTimeout(() => rej(new Error(msg)), ms); })])
    .finally(() => clearTimeout(t));
}
function assert(cond, msg) { if (!cond) throw new Error('assertion failed: ' + msg); }
function eq(a, b, msg) {
  if (JSON.stringify(a) !== JSON.stringify(b))
    throw new Error(`${msg}: expected ${JSON.stringify(b)}, got ${JSON.stringify(a)}`);
}
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// --------------------------------------------------------------- server
function freePort() {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.listen(0, '127.0.0.1', () => { const p = s.address().port; s.close(() => resolve(p)); });
    s.on('error', reject);
  });
}

// SPHINX_SERVER_ARGS: a JSON array of arguments every server and admin command gets too
// (tests/integration/server_pg.sh: server_pg_outage.test.js on one PostgreSQL database).
const ENV_ARGS = process.env.SPHINX_SERVER_ARGS ? JSON.parse(process.env.SPHINX_SERVER_ARGS) : [];

// SPHINX_TEST_PG: a libpq connection string without dbname ("host=/tmp/x
// port=5432 user=postgres", a cluster with trust authentication, as
// tests/integration/server_pg.sh starts one). Set, every server runs on the
// PostgreSQL store with a database of its own, as it has a data directory
// of its own on SQLite: a Server on a new data directory gets a new, empty
// database; a Server on the data directory of an earlier one (a restart)
// gets that one's database. Same locale as server_pg.sh (ICU "en": sorts
// as people do, so the store must not rely on the database's collation).
const TEST_PG = process.env.SPHINX_TEST_PG || '';
const pgDatabases = new Map();	// data directory -> database name
function pgStoreArgs(dataDir) {
  let db = pgDatabases.get(dataDir);
  if (!db) {
    db = `sphinx_${process.pid}_${pgDatabases.size + 1}`;
    const r = spawnSync('psql', [`${TEST_PG} dbname=postgres`, '-v', 'ON_ERROR_STOP=1', '-qAtc',
      `CREATE DATABASE ${db} TEMPLATE template0 LOCALE_PROVIDER icu ICU_LOCALE 'en' LOCALE 'C.UTF-8'`],
    { encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`SPHINX_TEST_PG: cannot create database ${db}: ${r.stderr || r.error}`);
    pgDatabases.set(dataDir, db);
  }
  return ['-o', 'store=postgresql', '-o', `postgresql=${TEST_PG} dbname=${db}`];
}

// Functions run by run() once every server stopped and was checked (in
// order, awaited): tests/node/cluster.js stops its PostgreSQL and HAProxy.
const endHooks = [];
function atEnd(fn) { endHooks.push(fn); }

const servers = [];
class Server {
  // opts: dataDir (default: a new one), port (default: a free one), args
  // (for the daemon only), storeArgs (the store's options, for the daemon
  // and the admin commands; default: SPHINX_TEST_PG's per-server database,
  // or none: SQLite in dataDir).
  constructor(opts = {}) {
    this.dataDir = opts.dataDir || fs.mkdtempSync(path.join(os.tmpdir(), 'sphinx-test-'));
    this.extra = opts.args || [];
    this.storeArgs = opts.storeArgs || (TEST_PG ? pgStoreArgs(this.dataDir) : []);
    this.port = opts.port;
    this.log = '';
  }
  async start() {
    if (!fs.existsSync(BIN)) throw new Error(`no server binary at ${BIN} (run make)`);
    if (!this.port) this.port = await freePort();
    const args = ['--data', this.dataDir, '--port', String(this.port), '--bind', '127.0.0.1',
      '--web', path.join(ROOT, 'server/web'), '-o', 'signup=yes', '-o', 'password_strength=min',
      ...this.storeArgs, ...ENV_ARGS, ...this.extra];
    this.proc = spawn(BIN, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    this.proc.stdout.on('data', (d) => { this.log += d; });
    this.proc.stderr.on('data', (d) => { this.log += d; if (process.env.SERVER_LOG) process.stderr.write(d); });
    this.exited = new Promise((r) => this.proc.on('exit', (code, sig) => r({ code, sig })));
    this.url = `http://127.0.0.1:${this.port}`;
    this.wsUrl = `ws://127.0.0.1:${this.port}`;
    servers.push(this);
    for (let i = 0; i < 100; i++) {
      try { const r = await fetch(this.url + '/api/health'); if (r.ok) return this; } catch (e) { /* not yet */ }
      if (this.proc.exitCode !== null) throw new Error('server exited at start:\n' + this.log);
      await sleep(50);
    }
    throw new Error('server did not come up:\n' + this.log);
  }
  kill9() { this.killed = true; if (this.proc && this.proc.exitCode === null) this.proc.kill('SIGKILL'); return this.exited; }
  async stop() { if (this.proc && this.proc.exitCode === null) this.proc.kill('SIGTERM'); return this.exited; }
  admin(args, input) {
    const r = spawnSync(BIN, ['--data', this.dataDir, '-o', 'password_strength=min', ...this.storeArgs, ...ENV_ARGS, ...args],
      { input: input || '', encoding: 'utf8' });
    return { code: r.status, out: r.stdout.trim(), err: r.stderr.trim() };
  }
  alive() { return this.proc.exitCode === null && this.proc.signalCode === null; }
}

// ---------------------------------------------------------- HTTP client
class Client {
  constructor(server) { this.s = server; this.cookie = null; this.csrf = null; this.user = null; }
  async req(method, p, body, opts = {}) {
    const headers = Object.assign({}, opts.headers || {});
    if (this.cookie && !opts.noCookie) headers.cookie = this.cookie;
    if (this.csrf && method !== 'GET' && !opts.noCsrf) headers['x-csrf-token'] = this.csrf;
    let data;
    if (body !== undefined) {
      headers['content-type'] = 'application/json';
      data = typeof body === 'string' ? body : JSON.stringify(body);
    }
    const r = await fetch(this.s.url + p, { method, headers, body: data, redirect: 'manual' });
    const sc = r.headers.get('set-cookie');
    if (sc && !opts.keepCookie) {
      const m = /^([^=]+)=([^;]*)/.exec(sc);
      if (m) this.cookie = m[2] ? `${m[1]}=${m[2]}` : null;
    }
    const text = await r.text();
    let json = null;
    try { json = JSON.parse(text); } catch (e) { /* not JSON */ }
    return { status: r.status, json, text, headers: r.headers };
  }
  async signup(username, extra = {}) {
    const r = await this.req('POST', '/api/auth/signup',
      Object.assign({ username, email: `${username}@example.org`, password: 'password-' + username, name: username.toUpperCase() }, extra));
    if (r.status !== 201) throw new Error(`signup ${username}: ${r.status} ${r.text}`);
    this.csrf = r.json.csrf; this.user = r.json.user;
    return this;
  }
  async login(username, password) {
    const r = await this.req('POST', '/api/auth/login', { username, password: password || 'password-' + username });
    if (r.status === 200) { this.csrf = r.json.csrf; this.user = r.json.user; }
    return r;
  }
  async createMeeting(title = 'Test meeting', link) {
    const r = await this.req('POST', '/api/meetings', link ? { title, link } : { title });
    if (r.status !== 201) throw new Error(`create meeting: ${r.status} ${r.text}`);
    return r.json.code;
  }
  async join(code) { return this.req('POST', '/api/meetings/join', { code }); }
  lobby(code, opts = {}) { return new Sock(`${this.s.wsUrl}/lobby/${code}${opts.since !== undefined ? '?since=' + opts.since : ''}`,
    Object.assign({ headers: this.cookie ? { cookie: this.cookie } : {} }, opts)); }
}

// ------------------------------------------------------- WebSocket client
class Sock {
  constructor(url, opts = {}) {
    const headers = Object.assign({}, opts.headers || {});
    this.ws = new WebSocket(url, { headers, origin: opts.origin, perMessageDeflate: false, maxPayload: 1 << 24 });
    this.msgs = [];
    this.seq = 0;
    this.waiters = [];
    this.closed = new Promise((resolve) => {
      this.ws.on('close', (code, reason) => { this.closeInfo = { code, reason: reason.toString() }; resolve(this.closeInfo); this._wake(); });
    });
    this.opened = new Promise((resolve, reject) => {
      this.ws.on('open', () => resolve(this));
      this.ws.on('unexpected-response', (req, res) => {
        let body = '';
        res.on('data', (d) => { body += d; });
        res.on('end', () => { const e = new Error(`upgrade refused: ${res.statusCode} ${body}`); e.status = res.statusCode; e.body = body; reject(e); });
      });
      this.ws.on('error', (e) => reject(e));
    });
    this.ws.on('message', (data) => {
      const text = data.toString();
      let m; try { m = JSON.parse(text); } catch (e) { m = { unparsable: text }; }
      m.__recv = process.hrtime.bigint();
      m.__seq = ++this.seq;
      this.msgs.push(m);
      this._wake();
    });
  }
  _wake() { const w = this.waiters; this.waiters = []; w.forEach((f) => f()); }
  send(obj) { this.ws.send(typeof obj === 'string' ? obj : JSON.stringify(obj)); }
  // Wait for (and remove) the first message matching pred (type string or function).
  async next(pred, ms = 5000) {
    const f = typeof pred === 'string' ? (m) => m.type === pred : pred || (() => true);
    const deadline = Date.now() + ms;
    for (;;) {
      const i = this.msgs.findIndex(f);
      if (i >= 0) return this.msgs.splice(i, 1)[0];
      if (this.closeInfo) throw new Error(`socket closed (${this.closeInfo.code} ${this.closeInfo.reason}) while waiting; have: ${JSON.stringify(this.msgs.map((m) => m.type))}`);
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`timeout waiting for message; have: ${JSON.stringify(this.msgs.map((m) => m.type || m))}`);
      await new Promise((r) => { const t = setTimeout(r, left); this.waiters.push(() => { clearTimeout(t); r(); }); });
    }
  }
  // Nothing matching pred arrived before a marker: waits ms first (only for
  // what the server does on a timer, e.g. a presence tick), then sends a
  // marker the server answers in order on this socket and checks every
  // message still unread before the answer. The caller makes sure the server
  // had processed the action first (awaited its ack or its own answer), so
  // a late duplicate fails instead of arriving after the check.
  async none(pred, ms = 0) {
    if (ms) await sleep(ms);
    const f = typeof pred === 'string' ? (m) => m.type === pred : pred;
    const m = (await this.marker()).find(f);
    if (m) throw new Error('unexpected message: ' + JSON.stringify(m, (k, v) => (typeof v === 'bigint' ? String(v) : v)));
  }
  // Sends a marker (a lobby socket: ping, answered by pong; an agent socket:
  // a message of an unknown type, answered by its error) and resolves, once
  // the answer arrived, with the unread messages that came before it.
  async marker(ms = 5000) {
    const after = this.seq;
    const agent = /\/agent(\?|$)/.test(this.ws.url);
    this.send(agent ? { type: 'test-marker', v: 1 } : { type: 'ping', v: 1 });
    const answer = agent ? (m) => m.type === 'error' && m.code === 'unknown_type' : (m) => m.type === 'pong';
    const m = await this.next((x) => x.__seq > after && answer(x), ms);
    return this.msgs.filter((x) => x.__seq < m.__seq);
  }
  close() { try { this.ws.close(); } catch (e) { /* already */ } return this.closed; }
  terminate() { this.ws.terminate(); return this.closed; }
}

// rawHttp(port, request): the bytes of request sent as they are over a TCP
// socket (no URL parsing, no dot-segment removal, unlike fetch), resolving
// with everything the server sent until it closed (or ms passed).
function rawHttp(port, request, ms = 3000) {
  return new Promise((resolve, reject) => {
    const chunks = [];
    const sock = net.connect(port, '127.0.0.1', () => sock.write(request));
    const t = setTimeout(() => { sock.destroy(); resolve(Buffer.concat(chunks)); }, ms);
    sock.on('data', (d) => chunks.push(d));
    sock.on('end', () => { clearTimeout(t); resolve(Buffer.concat(chunks)); });
    sock.on('error', (e) => { clearTimeout(t); reject(e); });
  });
}

function agent(server, token, opts = {}) {
  const headers = token ? { authorization: 'Bearer ' + token } : {};
  return new Sock(`${server.wsUrl}/agent`, Object.assign({ headers }, opts));
}

function captureEvent(type, seq, fields = {}) {
  const boot = fields.boot || 'b00t0000-0000-4000-8000-000000000001';
  const pid = fields.pid || 4242;
  return Object.assign({
    type, v: 1, id: `${boot}:${seq}`, capture: `${boot}:${pid}:1000`, kind: 'recording',
    ts: Date.now() * 1e6, pid, ppid: 1, comm: 'ffmpeg', exe: '/usr/bin/ffmpeg',
    argv: ['ffmpeg', '-f', 'x11grab', '-i', ':0', 'out.mp4'], uid: 1000, user: fields.user || 'alice',
    rule: { id: 'sphinx.exec.ffmpeg-x11grab', title: 'ffmpeg grabbing the X11 screen' }, layer: 'exec',
  }, type === 'capture.end' ? { duration_ms: 3012, calls: 91 } : {}, fields.extra || {});
}

module.exports = { test, run, assert, eq, sleep, Server, Client, Sock, agent, rawHttp, captureEvent, freePort, atEnd, withTimeout, ROOT, BIN };
