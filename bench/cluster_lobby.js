// SPDX-License-Identifier: GPL-2.0-only
// One run of bench/cluster_lobby.sh: NODES sphinx-server nodes on one private
// PostgreSQL (tests/node/cluster.js), then issue 18's lobby_bench: USERS
// distinct accounts signed up from distinct loopback addresses, all in one
// meeting, all lobby sockets opened at once, socket i on node i mod NODES
// (lobby_bench --lobby-ports), then ROUNDS agent alerts from an agent on
// node 1 and ROUNDS chat lines from the organiser on node 1, each timed until
// every socket on every node had it. The nodes run at their default
// configuration but for what the set-up needs (as bench/run-lobby.sh):
// signup=yes, password_strength=min.
//
// No balancer in the path: HAProxy holds two file descriptors a connection
// and this machine's hard open-file limit (ulimit -Hn) is 20 000, so it cannot
// carry 10 000 sockets; the sockets go straight to the nodes, spread evenly
// as leastconn would spread them.
//
// Prints lobby_bench's "figure" lines but those that describe one server
// process (lobby_bench's --pid is node 1 only: rss_*, storm_server_cpu_s),
// and instead, per node, its peak RSS (VmHWM) and CPU time over the run:
//   figure node_rss_peak_max_mb / node_rss_peak_mean_mb / rss_peak_total_mb
//   figure node_cpu_s_max / cpu_s_total
// Not a test: figures for the .sh to aggregate over runs.
//   node bench/cluster_lobby.js NODES USERS ROUNDS
'use strict';
const { spawn } = require('child_process');
const fs = require('fs');
const path = require('path');
const { startCluster } = require('../tests/node/cluster');
const { ROOT } = require('../tests/node/lib');

const [NODES, USERS, ROUNDS] = process.argv.slice(2).map(Number);
const BENCH = path.resolve(ROOT, process.env.OUTPUT || 'build', 'bench/lobby_bench');
const HZ = 100;	// USER_HZ on Linux

function status(pid, key) {
  const m = new RegExp(`^${key}:\\s+(\\d+) kB`, 'm').exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) / 1024 : NaN;
}
function cpuS(pid) {
  const f = fs.readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
  return (Number(f[11]) + Number(f[12])) / HZ;
}

(async () => {
  if (!(NODES >= 1 && USERS >= 1 && ROUNDS >= 1)) {
    console.error('usage: node bench/cluster_lobby.js NODES USERS ROUNDS');
    process.exit(2);
  }
  const c = await startCluster({ nodes: NODES, args: ['-o', 'log_level=warning'] });
  let rc = 1;
  try {
    const e = c.nodes[0].admin(['enroll-machine', 'bench-pc']);
    if (e.code !== 0) throw new Error('enroll-machine: ' + e.err);
    const pids = c.nodes.map((n) => n.proc.pid);
    const cpu0 = pids.map(cpuS);
    const ports = c.nodes.map((n) => n.port);
    console.log(`cluster: ${NODES} node(s) on one PostgreSQL database, pids ${pids.join(' ')}, ports ${ports.join(' ')}`);
    const b = spawn(BENCH, ['--port', String(ports[0]), '--pid', String(pids[0]), '--token', e.out,
      '--users', String(USERS), '--rounds', String(ROUNDS), '--lobby-ports', ports.join(',')], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    b.stdout.on('data', (d) => { out += d; });
    rc = await new Promise((r) => b.on('exit', (code) => r(code)));
    for (const l of out.split('\n')) {
      if (/^figure (rss_|storm_server_cpu_s)/.test(l)) continue;	// node 1's alone: replaced below
      if (l) console.log(l);
    }
    const hwm = pids.map((p) => status(p, 'VmHWM'));
    const cpu = pids.map((p, i) => cpuS(p) - cpu0[i]);
    hwm.forEach((v, i) => console.log(`node${i + 1}: peak RSS ${v.toFixed(1)} MB, CPU ${cpu[i].toFixed(2)} s`));
    console.log(`figure node_rss_peak_max_mb ${Math.max(...hwm).toFixed(1)}`);
    console.log(`figure node_rss_peak_mean_mb ${(hwm.reduce((a, x) => a + x, 0) / hwm.length).toFixed(1)}`);
    console.log(`figure rss_peak_total_mb ${hwm.reduce((a, x) => a + x, 0).toFixed(1)}`);
    console.log(`figure node_cpu_s_max ${Math.max(...cpu).toFixed(2)}`);
    console.log(`figure cpu_s_total ${cpu.reduce((a, x) => a + x, 0).toFixed(2)}`);
    if (rc !== 0) {
      for (const n of c.nodes) console.log(`-- ${n.name} log (last lines):\n${n.log.split('\n').slice(-10).join('\n')}`);
    }
  } finally {
    await c.stop().catch((err) => { console.error(String(err.message || err)); rc = rc || 1; });
  }
  process.exit(rc);
})().catch((e) => { console.error(e); process.exit(1); });
