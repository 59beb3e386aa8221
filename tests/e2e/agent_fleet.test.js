// SPDX-License-Identifier: GPL-2.0-only
// The fleet view with the REAL agent (BPF programs in this kernel) and the
// real server: the agent's status report reaches the server after hello,
// and the layers GET /api/admin/machines shows are the ones the agent
// attached on this kernel (its own --status says which); when the agent's
// status changes (an X server starts and the xserver layer hooks it) a new
// report arrives without a reconnect. The X server is a private copy of
// Xvfb, so its binary is one no other test's agent or X server has hooked:
// the change is this test's own.
'use strict';
const { spawn, spawnSync } = require('child_process');
const fs = require('fs');
const os = require('os');
const path = require('path');
const { test, run, assert, eq, sleep, Server, Client, ROOT } = require('../node/lib.js');

const OUTPUT = process.env.OUTPUT || 'build';
const AGENT = path.resolve(ROOT, OUTPUT, 'sphinx-agent');
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'sphinx-fleet-'));
const STATUS = path.join(tmp, 'agent.status');
let server, admin, agentProc, agentLog = '', xvfb, first;

// Never leave an agent or an X server of ours behind, whatever happens.
process.on('exit', () => {
  for (const p of [agentProc, xvfb]) if (p && p.exitCode === null) p.kill('SIGKILL');
});

async function machine() {
  const r = await admin.req('GET', '/api/admin/machines');
  eq(r.status, 200, 'GET /api/admin/machines');
  return r.json.machines.find((m) => m.name === 'fleet-real');
}

async function until(what, fn, ms = 25000) {  // under lib.js's 30 s per test
  const end = Date.now() + ms;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (agentProc && agentProc.exitCode !== null) throw new Error(`the agent exited (${agentProc.exitCode}) waiting for ${what}:\n${agentLog}`);
    if (Date.now() > end) throw new Error(`timeout waiting for ${what}; agent log:\n${agentLog}`);
    await sleep(100);
  }
}

// "layers: exec=active device=active ..." of the running agent's --status.
function agentLayers() {
  const r = spawnSync(AGENT, ['--status', '--status-file', STATUS], { encoding: 'utf8' });
  const line = (r.stdout || '').split('\n').find((l) => l.startsWith('layers: '));
  if (!line) throw new Error('--status printed no layers line:\n' + r.stdout + r.stderr);
  return Object.fromEntries(line.slice(8).trim().split(/\s+/).map((kv) => kv.split('=')));
}

const probesOf = (l) => { const m = /(\d+) of (\d+) probes/.exec(l.detail); return m ? Number(m[2]) : 0; };

test('prerequisites: root (BPF), the agent built, Xvfb', async () => {
  eq(process.getuid(), 0, 'running as root');
  assert(fs.existsSync(AGENT), `agent at ${AGENT} (run make)`);
  eq(spawnSync('sh', ['-c', 'command -v Xvfb']).status, 0, 'Xvfb installed');
});

test('the real agent connects and its status report reaches the server', async () => {
  server = await new Server().start();
  eq(server.admin(['add-user', 'fleet-admin', '--email', 'fa@example.org', '--admin'], 'admin-password\n').code, 0, 'admin');
  admin = new Client(server);
  eq((await admin.login('fleet-admin', 'admin-password')).status, 200, 'login');
  const token = server.admin(['enroll-machine', 'fleet-real']).out.trim();
  fs.mkdirSync(path.join(tmp, 'spool'), { mode: 0o700 });
  const conf = path.join(tmp, 'agent.conf');
  fs.writeFileSync(conf, [
    `server_url = ws://127.0.0.1:${server.port}/agent`,
    'insecure = yes',  // a loopback test server without TLS
    `token = ${token}`,
    `spool_dir = ${tmp}/spool`,
    'machine = fleet-real',
    `policy = ${ROOT}/policy/default`,
  ].join('\n') + '\n');
  agentProc = spawn(AGENT, ['--config', conf, '--status-file', STATUS], { stdio: ['ignore', 'ignore', 'pipe'] });
  agentProc.stderr.on('data', (d) => { agentLog += d; });
  first = await until('the status report in the API', async () => { const m = await machine(); return m && m.status && m; });
  eq(first.state, 'online', 'online');
  eq(first.kernel, os.release(), 'the kernel is uname -r of this machine');
  eq(first.status.arch, os.machine(), 'arch');
  assert(/agent_version/.test(JSON.stringify(first)) && first.agent_version, 'agent version from hello');
});

test('the layers in the API are the ones the agent attached on this kernel', async () => {
  const running = agentLayers();
  const api = Object.fromEntries(first.status.layers.map((l) => [l.name, l]));
  eq(Object.keys(api).sort(), Object.keys(running).sort(), 'every layer, named as --status names them');
  for (const [name, active] of Object.entries(running)) {
    const l = api[name];
    if (active === 'active')
      assert(l.state === 'attached' || l.state === 'degraded', `${name} is active in --status, ${l.state} in the API (${l.detail})`);
    else
      assert(l.state === 'off' || l.state === 'degraded', `${name} is inactive in --status, ${l.state} in the API (${l.detail})`);
    assert(l.detail && l.detail.length > 0, `${name} says why: ${l.detail}`);
  }
  eq(api.exec.state, 'attached', 'the exec layer (required) is attached');
  const degraded = first.status.layers.some((l) => l.state === 'degraded');
  eq(first.problems.includes('degraded'), degraded, 'flagged degraded exactly when a layer is');
  for (const l of first.status.layers) console.log(`# ${l.name}: ${l.state}: ${l.detail}`);
});

test('a status change (an X server hooked) sends a new report on the same connection', async () => {
  // named Xvfb (the agent knows X servers by name), at a path of its own
  fs.mkdirSync(path.join(tmp, 'bin'));
  const bin = path.join(tmp, 'bin', 'Xvfb');
  fs.copyFileSync('/usr/bin/Xvfb', bin);
  fs.chmodSync(bin, 0o755);
  const before = first.status.layers.find((l) => l.name === 'xserver');
  let n = 150;
  while (fs.existsSync(`/tmp/.X11-unix/X${n}`) || fs.existsSync(`/tmp/.X${n}-lock`)) n++;
  xvfb = spawn(bin, [`:${n}`, '-screen', '0', '640x480x24', '-nolisten', 'tcp'], { stdio: 'ignore' });
  const m = await until('a new report with the private X server hooked', async () => {
    const x = await machine();
    const l = x.status.layers.find((y) => y.name === 'xserver');
    return x.status_at > first.status_at && probesOf(l) > probesOf(before) && x;
  }, 15000);
  const after = m.status.layers.find((l) => l.name === 'xserver');
  assert(after.state === 'attached' || after.state === 'degraded', 'xserver layer now ' + after.state + ': ' + after.detail);
  eq(agentLayers().xserver, 'active', '--status agrees');
  assert(fs.readFileSync(STATUS, 'utf8').includes(bin), 'the status file names the private X server');
  eq((agentLog.match(/connected to ws:/g) || []).length, 1, 'no reconnect was needed');
  console.log(`# xserver before: ${before.state}: ${before.detail}; after: ${after.state}: ${after.detail}`);
});

test('the agent stops cleanly; the machine shows shut down', async () => {
  xvfb.kill('SIGTERM');
  agentProc.kill('SIGTERM');
  const code = await new Promise((r) => (agentProc.exitCode !== null ? r(agentProc.exitCode) : agentProc.on('exit', r)));
  eq(code, 0, 'exit 0');
  assert(!/ERROR: (Address|Leak)Sanitizer|runtime error:|SUMMARY: \w+Sanitizer/.test(agentLog), 'no sanitizer report in the agent log:\n' + agentLog);
  const m = await until('shut down', async () => { const x = await machine(); return x.state === 'shutdown' && x; }, 5000);
  eq(m.kernel, os.release(), 'the last report stays shown');
});

run();
