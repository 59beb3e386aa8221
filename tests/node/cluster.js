// SPDX-License-Identifier: GPL-2.0-only
// Cluster harness for the Node tests (issue 13): a private PostgreSQL, N
// sphinx-server nodes on one database of it, and optionally HAProxy in front,
// all on 127.0.0.1 and all started - and stopped - by the test itself.
//
//   const { startCluster } = require('./cluster');
//   const c = await startCluster({ nodes: 3, haproxy: true, args: ['-o', 'agent_user_map=username'] });
//   new Client(c.front)          // through the balancer (c.front is c.nodes[0] without HAProxy)
//   new Client(c.nodes[2])       // straight to node C
//   c.nodes[i]                   // lib.js Servers: .port .url .wsUrl .dataDir .name .admin() .alive()
//   await c.kill9(i)             // SIGKILL node i (a crash: lib.js does not count its exit)
//   await c.restartNode(i)       // a new process on node i's data directory, port and name
//   await c.stopPostgres(); await c.startPostgres(); await c.restartPostgres()
//   c.psql('SELECT ...')         // rows as text (psql -At), on the cluster's database
//   c.conninfo                   // the nodes' libpq connection string
//   await c.waitBalanced(i, up)  // until HAProxy's health check sees node i up (true) or down
//   await c.stop()               // SIGTERM every node (each must exit 0), then HAProxy and PostgreSQL
//   new LobbyUser(client, name, { code: () => code, front: () => c.front })
//                                // a lobby client that resumes (?since=, cid resends): .connect(server)
//                                // .chat(text) .retry(ms) .events .offsets .dups .acked .pending
//   new SpoolAgent(token, machine, users, boot, () => c.front)
//                                // an agent with a spool: .connect(server) .send(type, fields)
//                                // .acked(id) .spool .acks .dupAcks .backAt; .stayAway = true
//   await until(what, fn, ms)    // fn()'s first truthy value (polled), or an error naming what
//
// PostgreSQL: initdb + pg_ctl as the postgres system user (as
// tests/integration/server_pg.sh does), its own directory under /tmp, trust
// authentication, a Unix socket in that directory and no TCP listener, on a
// port number picked free for this test file (it names the socket file), so
// test files and helpers running at once never share a cluster. One database
// ("sphinx", ICU locale "en", as server_pg.sh creates them) shared by the nodes.
//
// Nodes: the real binary through lib.js's Server (so lib.js's run() stops
// them with SIGTERM at the end and fails the file when one crashed or did
// not exit 0), each with its own port, data directory and node_name=nodeN
// (A, B, C ... are nodes 1, 2, 3; node_name is passed only when the server
// knows the key: main's server before the cluster work does not).
//
// HAProxy (Debian's haproxy, in the foreground, as root, our pid): its
// configuration is generated FROM server/deploy/haproxy.cfg, the example the
// package ships, so what is tested is what is shipped. From that file the
// harness keeps everything but: global lines that need a system install
// (log, chroot, user, group, daemon, pidfile, stats socket: dropped), the
// address of every "bind" line (-> 127.0.0.1:<free port>), and the "server"
// lines: the first of each kind ("node1", "node1-backup") becomes one per
// node of ours with that line's options (address -> 127.0.0.1:<node port>),
// the file's other lines of that kind go. On checked servers the
// health-check timing (inter, fastinter, downinter, fall, rise, slowstart)
// is shortened, so a test sees a dead node taken out in about a second; the
// global maxconn is opts.maxconn (default 4 000: this machine's open-file
// limit, 20 000, allows about 9 000 at two descriptors a connection) and a
// stats socket of our own lets waitBalanced() read the servers' states.
// Without that file (before edge13's branch), a minimal configuration of
// the same shape (roundrobin, httpchk GET /api/health, timeout tunnel,
// redispatch) is generated here, and the test log says so.
//
// stop() and the end of the file (lib.js atEnd, and a last synchronous
// 'exit' handler for a test that crashed) stop only what this harness
// started, by pid: the nodes, HAProxy's pid, the PostgreSQL whose
// postmaster.pid is in our own data directory (pg_ctl -D ours).
'use strict';
const { spawn, spawnSync, execFile } = require('child_process');
const fs = require('fs');
const net = require('net');
const path = require('path');
const lib = require('./lib');

const { Server, freePort, sleep, agent, captureEvent, ROOT, BIN } = lib;
const HAPROXY_CFG = path.join(ROOT, 'server/deploy/haproxy.cfg');
const LETTERS = 'ABCDEFGHIJ';

function pgBin() {
  const base = '/usr/lib/postgresql';
  const v = fs.existsSync(base) ? fs.readdirSync(base).filter((d) => fs.existsSync(path.join(base, d, 'bin/initdb')))
    .sort((a, b) => Number(a) - Number(b)) : [];
  if (!v.length) throw new Error('PostgreSQL server binaries are missing (scripts/install-deps.sh --test)');
  return path.join(base, v[v.length - 1], 'bin');
}

// run COMMAND as the postgres user, asynchronously (the event loop goes on:
// the nodes' sockets are served by this process's clients meanwhile)
function asPostgres(args) {
  return new Promise((resolve, reject) => execFile('runuser', ['-u', 'postgres', '--', ...args],
    { encoding: 'utf8' }, (err, out, errout) => (err ? reject(new Error(`${args.join(' ')}: ${err.message} ${errout}`)) : resolve(out))));
}

// knows the server this key? (main before issue 13 has no node_name)
let knownKeys = null;
function serverKnows(key) {
  if (!knownKeys) {
    const r = spawnSync(BIN, ['--print-config'], { encoding: 'utf8' });
    knownKeys = new Set((r.stdout || '').split('\n').map((l) => (/^#?\s*([a-z_]+)\s*=/.exec(l) || [])[1]).filter(Boolean));
  }
  return knownKeys.has(key);
}

// ------------------------------------------------------------ PostgreSQL
class Postgres {
  constructor() { this.bin = pgBin(); }
  async start() {
    if (process.getuid() !== 0) throw new Error('the cluster harness runs as root (PostgreSQL runs as postgres, via runuser)');
    this.port = await freePort();
    this.dir = fs.mkdtempSync('/tmp/sphinx-cluster-pg.');
    fs.chownSync(this.dir, ...(() => { const r = spawnSync('id', ['-u', 'postgres'], { encoding: 'utf8' });
      const g = spawnSync('id', ['-g', 'postgres'], { encoding: 'utf8' }); return [Number(r.stdout), Number(g.stdout)]; })());
    this.data = path.join(this.dir, 'data');
    await asPostgres([path.join(this.bin, 'initdb'), '-D', this.data, '-A', 'trust', '-U', 'postgres', '-E', 'UTF8',
      '--locale=C.UTF-8', '--no-sync']);
    // fsync stays on: "nothing acknowledged is lost" across a PostgreSQL
    // restart is only worth testing with the database's real durability
    await this.up();
    this.started = true;
    this.base = `host=${this.dir} port=${this.port} user=postgres`;
    return this;
  }
  up() {
    return asPostgres([path.join(this.bin, 'pg_ctl'), '-D', this.data, '-l', path.join(this.dir, 'log'), '-w', '-o',
      `-k ${this.dir} -p ${this.port} -c listen_addresses='' -c max_connections=200`, 'start']);
  }
  down(mode = 'fast') { return asPostgres([path.join(this.bin, 'pg_ctl'), '-D', this.data, '-m', mode, '-w', 'stop']); }
  running() { return fs.existsSync(path.join(this.data, 'postmaster.pid')); }
  createdb(name) {
    return asPostgres([path.join(this.bin, 'createdb'), '-h', this.dir, '-p', String(this.port), '-T', 'template0',
      '--locale-provider=icu', '--icu-locale=en', '--locale=C.UTF-8', name]);
  }
  psql(db, sql) {
    const r = spawnSync('psql', [`${this.base} dbname=${db}`, '-v', 'ON_ERROR_STOP=1', '-qAtc', sql], { encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`psql: ${sql}: ${r.stderr}`);
    return r.stdout.trim();
  }
  // the last resort of a crashed test (synchronous, 'exit' handler): our
  // postmaster by the pid in OUR data directory, nothing else
  killSync() {
    if (!this.started || !this.running()) return;
    spawnSync('runuser', ['-u', 'postgres', '--', path.join(this.bin, 'pg_ctl'), '-D', this.data, '-m', 'immediate', '-w', 'stop']);
  }
  cleanup() { if (this.dir && !process.env.KEEP_CLUSTER) fs.rmSync(this.dir, { recursive: true, force: true }); }
}

// --------------------------------------------------------------- HAProxy
function haproxyConfig(front, nodes, fromFile) {
  // health checks a test can wait for: a dead node out in ~0.6 s, a restarted one in at once
  const fast = 'check inter 300ms fastinter 300ms downinter 300ms fall 2 rise 1 slowstart 0s';
  if (!fromFile) {
    return [
      '# generated by tests/node/cluster.js: minimal (server/deploy/haproxy.cfg does not exist yet)',
      'global',
      'defaults', '  mode http', '  timeout connect 2s', '  timeout client 60s', '  timeout server 60s',
      '  timeout tunnel 1h', '  timeout http-request 10s', '  option redispatch', '  retries 3',
      'frontend sphinx', `  bind 127.0.0.1:${front}`, '  default_backend nodes',
      'backend nodes', '  balance roundrobin', '  option httpchk GET /api/health', '  http-check expect status 200',
      '  default-server on-marked-down shutdown-sessions',
      ...nodes.map((n, i) => `  server node${i + 1} 127.0.0.1:${n.port} ${fast}`), ''].join('\n');
  }
  const out = [];
  let section = '';
  const groups = new Set();	// server lines already expanded, by name with its node number taken out
  const dropGlobal = /^\s*(log|chroot|user|group|daemon|pidfile|stats\s+socket|ca-base|crt-base|uid|gid|maxconn)\b/;
  for (const raw of fs.readFileSync(HAPROXY_CFG, 'utf8').split('\n')) {
    const line = raw.replace(/\s+$/, '');
    const head = /^(global|defaults|frontend|backend|listen|resolvers|peers|userlist|program|http-errors)\b/.exec(line);
    if (head) { section = head[1]; groups.clear(); out.push(line); continue; }
    if (section === 'global' && dropGlobal.test(line)) continue;
    if (/^\s*log\s/.test(line)) continue;	// no syslog here
    if (/^\s*bind\s/.test(line)) {
      out.push(line.replace(/^(\s*bind\s+)\S+/, `$1127.0.0.1:${front}`).replace(/\s(ssl|crt)\s.*$/, ''));
      continue;
    }
    // "server node1 ADDR opts", "server node1-backup ADDR opts": the first
    // line of each kind becomes one per node of ours, the rest go
    const srv = /^(\s*)server\s+(\S+)\s+\S+(.*)$/.exec(line);
    if (srv) {
      const kind = srv[2].replace(/\d+/, '#');
      if (groups.has(kind)) continue;
      groups.add(kind);
      const checked = !/\bno-check\b/.test(srv[3]);
      const opts = checked ? srv[3].replace(/\s(inter|fastinter|downinter|fall|rise|slowstart)\s+\S+/g, '').replace(/\s+check\b/, '') + ` ${fast}` : srv[3];
      nodes.forEach((n, i) => out.push(`${srv[1]}server ${kind.includes('#') ? kind.replace('#', String(i + 1)) : `${kind}${i + 1}`} 127.0.0.1:${n.port}${opts}`));
      continue;
    }
    out.push(line);
  }
  return `# generated by tests/node/cluster.js from ${path.relative(ROOT, HAPROXY_CFG)}\n${out.join('\n')}\n`;
}

class Haproxy {
  async start(nodes, dir, maxconn) {
    this.port = await freePort();
    this.fromFile = fs.existsSync(HAPROXY_CFG);
    this.cfg = path.join(dir, 'haproxy.cfg');
    this.stats = path.join(dir, 'haproxy.sock');
    let text = haproxyConfig(this.port, nodes, this.fromFile);
    // the runtime API on a socket of our own, to read the servers' states
    // and a connection limit this process's open-file limit allows (2 fds a connection)
    text = text.replace(/^global$/m, `global\n  stats socket ${this.stats} mode 600 level admin\n  maxconn ${maxconn}`);
    fs.writeFileSync(this.cfg, text);
    const check = spawnSync('haproxy', ['-c', '-f', this.cfg], { encoding: 'utf8' });
    if (check.status !== 0) throw new Error(`haproxy -c refuses the generated configuration:\n${check.stdout}${check.stderr}\n${text}`);
    this.log = '';
    this.proc = spawn('haproxy', ['-db', '-f', this.cfg], { stdio: ['ignore', 'pipe', 'pipe'] });
    this.proc.stdout.on('data', (d) => { this.log += d; });
    this.proc.stderr.on('data', (d) => { this.log += d; });
    this.exited = new Promise((r) => this.proc.on('exit', (code, sig) => r({ code, sig })));
    this.url = `http://127.0.0.1:${this.port}`;
    this.wsUrl = `ws://127.0.0.1:${this.port}`;
    for (let i = 0; i < 100; i++) {
      try { const r = await fetch(this.url + '/api/health'); if (r.ok) return this; } catch (e) { /* not yet */ }
      if (this.proc.exitCode !== null) throw new Error('haproxy exited at start:\n' + this.log);
      await sleep(50);
    }
    throw new Error('haproxy does not answer /api/health:\n' + this.log);
  }
  // { nodeN: true (running) | false } of the backend, from the runtime API
  states() {
    return new Promise((resolve) => {
      let text = '';
      const sock = net.connect(this.stats, () => sock.end('show servers state\n'));
      sock.on('data', (d) => { text += d; });
      sock.on('error', () => resolve({}));
      sock.on('close', () => {
        const st = {};
        for (const l of text.split('\n')) {
          // be_id be_name srv_id srv_name srv_addr srv_op_state ... (op_state 2: running, 1: starting,
          // in the backend with its share ramped up by the configuration's slowstart)
          const f = l.split(' ');
          if (f.length > 6 && /^node\d+$/.test(f[3])) st[f[3]] = f[5] === '2' || f[5] === '1';
        }
        resolve(st);
      });
    });
  }
  async stop() {
    if (this.proc && this.proc.exitCode === null && this.proc.signalCode === null) {
      this.proc.kill('SIGTERM');
      await Promise.race([this.exited, sleep(5000)]);
      if (this.proc.exitCode === null && this.proc.signalCode === null) { this.proc.kill('SIGKILL'); await this.exited; }
    }
  }
}

// --------------------------------------------------------------- cluster
const clusters = [];
class Cluster {
  constructor(opts) {
    this.n = opts.nodes || 3;
    this.args = opts.args || [];
    this.withHaproxy = !!opts.haproxy;
    this.db = opts.database || 'sphinx';
    this.maxconn = opts.maxconn || 4000;
  }
  async start() {
    clusters.push(this);
    this.pg = await new Postgres().start();
    await this.pg.createdb(this.db);
    this.conninfo = `${this.pg.base} dbname=${this.db}`;
    this.storeArgs = ['-o', 'store=postgresql', '-o', `postgresql=${this.conninfo}`];
    this.nodes = [];
    // one after the other: the first node runs the migrations, the others find them done
    for (let i = 0; i < this.n; i++) this.nodes.push(await this._node(i, {}));
    this.front = this.nodes[0];
    if (this.withHaproxy) {
      this.haproxy = await new Haproxy().start(this.nodes, this.pg.dir, this.maxconn);
      this.front = this.haproxy;
      for (let i = 0; i < this.n; i++) await this.waitBalanced(i, true);
      if (!this.haproxy.fromFile) console.log('# HAProxy: minimal configuration of tests/node/cluster.js (no server/deploy/haproxy.cfg yet)');
    }
    return this;
  }
  _nodeArgs(i) {
    return [...(serverKnows('node_name') ? ['-o', `node_name=node${i + 1}`] : []), ...this.args];
  }
  async _node(i, opts) {
    const s = new Server({ dataDir: opts.dataDir, port: opts.port, storeArgs: this.storeArgs, args: this._nodeArgs(i) });
    s.name = `node${i + 1}`;
    s.letter = LETTERS[i];
    return s.start();
  }
  node(x) { return typeof x === 'number' ? this.nodes[x] : x; }
  index(x) { return typeof x === 'number' ? x : this.nodes.indexOf(x); }
  async kill9(x) { return this.node(x).kill9(); }
  async restartNode(x) {
    const i = this.index(x), old = this.nodes[i];
    if (old.alive()) throw new Error(`restartNode: ${old.name} is still running (kill9 or stop it first)`);
    this.nodes[i] = await this._node(i, { dataDir: old.dataDir, port: old.port });
    if (!this.haproxy) this.front = this.nodes[0];
    return this.nodes[i];
  }
  stopPostgres(mode) { return this.pg.down(mode); }
  startPostgres() { return this.pg.up(); }
  async restartPostgres(mode) { await this.pg.down(mode); await this.pg.up(); }
  psql(sql) { return this.pg.psql(this.db, sql); }
  // until HAProxy's health check has node i in (up) or out (!up) of the backend
  async waitBalanced(x, up, ms = 10000) {
    if (!this.haproxy) return;
    const name = `node${this.index(x) + 1}`;
    const deadline = Date.now() + ms;
    while (Date.now() < deadline) {
      if ((await this.haproxy.states())[name] === up) return;
      await sleep(100);
    }
    throw new Error(`HAProxy did not see ${name} ${up ? 'up' : 'down'} within ${ms} ms: ${JSON.stringify(await this.haproxy.states())}`);
  }
  // SIGTERM to every node still running (each must exit 0; a node killed
  // with kill9 is not counted), then HAProxy and PostgreSQL. Throws naming
  // the nodes that crashed or failed.
  async stop() {
    if (this.stopped) return;
    this.stopped = true;
    const bad = [];
    await Promise.all(this.nodes.map(async (s) => {
      if (!s.proc) return;
      if (s.alive()) {
        s.proc.kill('SIGTERM');
        if (!await Promise.race([s.exited, sleep(20000).then(() => null)])) {
          s.stuck = true;
          s.proc.kill('SIGKILL');
          bad.push(`${s.name}: still running 20 s after SIGTERM`);
        }
      }
      const r = await s.exited;
      if (!s.killed && !s.stuck && r.code !== 0) bad.push(`${s.name} (port ${s.port}): exit status ${r.code}, signal ${r.sig}\n${s.log.split('\n').slice(-15).join('\n')}`);
    }));
    if (this.haproxy) await this.haproxy.stop();
    if (this.pg.running()) await this.pg.down('fast').catch(() => this.pg.killSync());
    this.pg.cleanup();
    if (bad.length) throw new Error('nodes that did not exit 0 on SIGTERM:\n' + bad.join('\n'));
  }
}

async function startCluster(opts = {}) { return new Cluster(opts).start(); }

// ----------------------------------------------------------- lobby users
// A lobby client as the web app is: remembers the last offset it saw,
// reconnects through the balancer with ?since= it when its socket closes
// without a close it asked for, and resends the chat lines not yet confirmed
// with their client id (cid): after a reconnect, and with retry(ms) every ms
// while unconfirmed (a line refused while the store is away).
// Records every event offset it receives (offsets, dups) for the gap checks.
class LobbyUser {
  // opts.code(), opts.front(): the meeting's code and where to reconnect (functions: read when used);
  // opts.reconnectDelayMs: wait that long before reconnecting (so that events are missed and replayed)
  constructor(client, name, opts) {
    this.c = client; this.name = name; this.opts = opts;
    this.last = null;	// last event offset received
    this.offsets = [];	// every event offset received, in order of arrival
    this.dups = [];	// offsets received twice, or out of order
    this.chatIds = new Set();	// chat ids of every chat event received
    this.events = [];	// { offset, type, msg, at }
    this.pending = new Map();	// cid -> { text, at }: sent at Date.now() at, not confirmed
    this.acked = new Set();	// cids confirmed (own chat event or chat.stored)
    this.reconnects = [];	// { closed: ms, synced: ms, recovered, replayed: events before synced }
    this.nextCid = 0;
  }
  async connect(server) {
    const s0 = this.c.s;
    this.c.s = server;
    const resume = this.last !== null;
    this.replaying = resume;
    const sock = this.c.lobby(this.opts.code(), resume ? { since: this.last } : {});
    this.c.s = s0;
    this.sock = sock;
    this.syncedP = new Promise((resolve) => { this.onSynced = resolve; });
    sock.ws.on('message', (data) => this.onMessage(JSON.parse(data.toString())));
    let established = false;
    sock.ws.on('close', () => { if (established && !this.closing && this.sock === sock) this.lost(); });
    await sock.opened;
    established = true;
    await sock.next('lobby');
    if (resume) await this.syncedP;
    return this;
  }
  onMessage(m) {
    if (m.type === 'lobby') {
      if (this.last === null) this.last = m.offset;
      return;
    }
    if (m.type === 'synced') {
      this.replaying = false;
      this.reconnects[this.reconnects.length - 1].synced = Date.now();
      this.reconnects[this.reconnects.length - 1].recovered = m.recovered;
      this.onSynced();
      return;
    }
    if (m.type === 'chat.stored' && m.cid) { this.pending.delete(m.cid); this.acked.add(m.cid); return; }
    if (m.offset === undefined) return;
    if (this.last !== null && m.offset <= this.last) { this.dups.push(m.offset); return; }
    this.last = m.offset;
    if (this.replaying) this.reconnects[this.reconnects.length - 1].replayed++;
    this.offsets.push(m.offset);
    this.events.push({ offset: m.offset, type: m.type, msg: m, at: Date.now() });
    if (m.type === 'chat') {
      this.chatIds.add(m.id);
      if (m.cid && this.pending.has(m.cid) && m.user && m.user.id === this.c.user.id) { this.pending.delete(m.cid); this.acked.add(m.cid); }
    }
  }
  async lost() {
    const r = { closed: Date.now(), synced: null, recovered: null, replayed: 0, code: this.sock.closeInfo && this.sock.closeInfo.code };
    this.reconnects.push(r);
    if (this.opts.reconnectDelayMs) await sleep(this.opts.reconnectDelayMs);
    for (let i = 0; i < 200; i++) {
      try {
        await this.connect(this.opts.front());
        // what was sent and not confirmed goes again, with the same cid
        for (const [cid, p] of this.pending) { p.at = Date.now(); this.sock.send({ type: 'chat', v: 1, text: p.text, cid }); }
        return;
      } catch (e) {
        r.error = String(e.message || e);
        await sleep(100);
      }
    }
  }
  chat(text) {
    const cid = `${this.name}-${this.nextCid++}`;
    this.pending.set(cid, { text, at: Date.now() });
    if (this.sock.ws.readyState === 1) this.sock.send({ type: 'chat', v: 1, text, cid });
    return cid;
  }
  retry(ms) {
    this.retryTimer = setInterval(() => {
      if (!this.sock || this.sock.ws.readyState !== 1) return;
      for (const [cid, p] of this.pending) {
        if (Date.now() - p.at < ms) continue;
        p.at = Date.now();
        this.sock.send({ type: 'chat', v: 1, text: p.text, cid });
      }
    }, ms);
  }
  close() { this.closing = true; clearInterval(this.retryTimer); return this.sock.close(); }
}

// ------------------------------------------------------------ agent spool
// The agent's side of the protocol as sphinx-agent does it: events kept in
// a spool until acknowledged, resent in order after every (re)connect,
// heartbeats every second; reconnects through the balancer when its
// socket closes (unless told to stay away); an event still unacknowledged
// retryMs (1 s) after it was sent (refused with store_failed, or lost with
// its node) is sent again, a few a tick, under the server's ws_rate.
class SpoolAgent {
  // front(): where to reconnect (a function: read when used)
  constructor(token, machine, users, boot, front) {
    Object.assign(this, { token, machine, users, boot, front });
    this.spool = [];	// events not yet acknowledged
    this.acks = new Map();	// id -> acks received (a duplicate ack counts too)
    this.dupAcks = new Map();	// id -> acks with duplicate: true
    this.welcomes = [];	// Date.now() of each welcome
    this.refused = 0;	// store_failed answers
    this.errors = [];	// every error answer
    this.seq = 0;
    this.retryMs = 1000;
  }
  async connect(server) {
    const sock = agent(server, this.token);
    this.sock = sock;
    sock.ws.on('message', (d) => {
      const m = JSON.parse(d.toString());
      if (m.type === 'welcome') {
        this.welcomes.push(Date.now());
        for (const e of this.spool.slice(0, 8)) { e.__sent = Date.now(); sock.send(e); }
      } else if (m.type === 'ack') {
        this.acks.set(m.id, (this.acks.get(m.id) || 0) + 1);
        if (m.duplicate) this.dupAcks.set(m.id, (this.dupAcks.get(m.id) || 0) + 1);
        this.spool = this.spool.filter((e) => e.id !== m.id);
      } else if (m.type === 'error') {
        this.errors.push(m);
      }
      if (m.type === 'error' && m.code === 'store_failed' && m.id) this.refused++;
    });
    let established = false;
    sock.ws.on('close', () => {
      clearInterval(this.beat);
      if (established && !this.stayAway && this.sock === sock) this.reconnect();
    });
    await sock.opened;
    established = true;
    sock.send({ type: 'hello', v: 1, machine: this.machine, boot_id: this.boot, agent_version: 't', layers: ['exec'], users: this.users });
    this.beat = setInterval(() => { if (sock.ws.readyState === 1) sock.send({ type: 'heartbeat', v: 1, ts: Date.now() * 1e6 }); }, 1000);
    // the spool's resend: what is still unacknowledged retryMs after it was
    // sent goes again, oldest first, 4 a tick (16/s: under ws_rate, 20/s)
    clearInterval(this.resend);
    this.resend = setInterval(() => {
      if (sock.ws.readyState !== 1) return;
      let n = 0;
      for (const e of this.spool) {
        if (n >= 4) break;
        if (Date.now() - e.__sent < this.retryMs) continue;
        e.__sent = Date.now(); n++;
        sock.send(e);
      }
    }, 250);
    const n = this.welcomes.length;
    for (let i = 0; i < 100 && this.welcomes.length === n; i++) await sleep(20);
    if (this.welcomes.length === n) throw new Error(`${this.machine}: no welcome`);
    return this;
  }
  async reconnect() {
    this.lostAt = Date.now();
    for (let i = 0; i < 200 && !this.stayAway; i++) {
      try { await this.connect(this.front()); this.backAt = Date.now(); return; } catch (e) { await sleep(100); }
    }
  }
  send(type, fields) {
    const e = captureEvent(type, ++this.seq, Object.assign({ boot: this.boot }, fields));
    Object.defineProperty(e, '__sent', { value: Date.now(), writable: true, enumerable: false });
    this.spool.push(e);
    if (this.sock.ws.readyState === 1) this.sock.send(e);
    return e;
  }
  async acked(id, ms = 10000) {
    const deadline = Date.now() + ms;
    while (!this.acks.get(id) && Date.now() < deadline) await sleep(20);
    return this.acks.get(id) || 0;
  }
  stop() { this.stayAway = true; clearInterval(this.beat); clearInterval(this.resend); try { this.sock.ws.terminate(); } catch (e) { /* gone */ } }
}

// until(what, fn, ms): fn()'s first truthy value, polled every 20 ms; throws naming what after ms
async function until(what, fn, ms = 10000) {
  const deadline = Date.now() + ms;
  for (;;) {
    const r = fn();
    if (r) return r;
    if (Date.now() > deadline) throw new Error('timed out: ' + what);
    await sleep(20);
  }
}

// what the test file left running: after lib.js's run() has stopped and
// checked the servers (nodes), HAProxy and PostgreSQL go
lib.atEnd(async () => {
  for (const c of clusters) {
    c.stopped = true;
    if (c.haproxy) await c.haproxy.stop();
    if (c.pg && c.pg.running()) await c.pg.down('fast').catch(() => c.pg.killSync());
    if (c.pg) c.pg.cleanup();
  }
});
// a test killed (tests/run's timeout, ^C) would leave them running: the
// same clean-up, then the usual exit status of that signal
for (const [sig, code] of [['SIGTERM', 143], ['SIGINT', 130]]) {
  process.once(sig, () => { console.log(`# ${sig}: stopping the cluster this file started`); process.exit(code); });
}
process.on('exit', () => {
  for (const c of clusters) {
    if (c.haproxy && c.haproxy.proc && c.haproxy.proc.exitCode === null) { try { c.haproxy.proc.kill('SIGKILL'); } catch (e) { /* gone */ } }
    for (const s of c.nodes || []) if (s.proc && s.proc.exitCode === null) { try { s.proc.kill('SIGKILL'); } catch (e) { /* gone */ } }
    if (c.pg) { c.pg.killSync(); c.pg.cleanup(); }
  }
});

module.exports = { startCluster, Cluster, Postgres, LobbyUser, SpoolAgent, until, haproxyConfig, serverKnows };
