// SPDX-License-Identifier: GPL-2.0-only
// Observations (issue 14) on the real server: what storing one batch costs
// the event loop, and how fast the admin export pages out. Run by
// bench/observations.sh (SQLite, then PostgreSQL with SPHINX_SERVER_ARGS).
//   - batch: as many events shaped like the agent's --record lines (~330
//     bytes each) as the agent puts in one (48 KiB), sent on an agent socket followed by a marker the server answers
//     in order; the time from send to the marker's answer is the time the
//     loop spent checking and storing the batch plus the loopback round trip
//     (marker_only_ms: that round trip alone, measured right after).
//     batch5: the same with 5 events (a machine where a few programs start a
//     second). BATCHES of each over BATCHES/5 connections (a burst of 10 each).
//   - export: every stored row paged out through GET /api/admin/observations
//     (about 1 MiB a page), EXPORTS times.
// Prints "figure NAME VALUE UNIT" lines for the shell script's statistics.
'use strict';
const { Server, Client, agent } = require('../tests/node/lib');

const BATCHES = Number(process.env.BATCHES || 50);
const EXPORTS = Number(process.env.EXPORTS || 5);

function ev(i) {
  return {
    category: 'process_creation',
    fields: {
      Image: '/usr/bin/gcc-12', CommandLine: `gcc -O2 -c src/module_${i}.c -o build/module_${i}.o`, Comm: 'gcc-12',
      User: 'alice', Uid: '1000', ParentImage: '/usr/bin/make', ParentCommandLine: 'make -j2 all',
    },
    argv: ['gcc', '-O2', '-c', `src/module_${i}.c`, '-o', `build/module_${i}.o`],
    ts: Date.now() * 1e6, pid: 10000 + i,
  };
}

async function main() {
  const s = await new Server().start();
  s.admin(['add-user', 'adm', '--email', 'adm@example.org', '--admin'], 'pw-adm-bench\n');
  const admin = new Client(s);
  await admin.login('adm', 'pw-adm-bench');
  const bytes = JSON.stringify(ev(1)).length;
  const per = Math.min(256, Math.floor((48 * 1024 - 64) / (bytes + 1)));	// agent/uplink.c: OBS_BATCH_BYTES
  console.log(`# one event: ${bytes} bytes of JSON; a batch: ${per} events (the agent's 48 KiB)`);
  let n = 0;
  for (let c = 0; c < Math.ceil(BATCHES / 5); c++) {
    const sock = agent(s, s.admin(['enroll-machine', `bench-${c}`]).out);
    await sock.opened;
    sock.send({ type: 'hello', v: 1, machine: `bench-${c}`, boot_id: 'b00t-bench', agent_version: 'bench' });
    await sock.next('welcome');
    for (let b = 0; b < 5 && n < BATCHES; b++, n++) {	// two batches each: the burst of 10
      const events = Array.from({ length: per }, (_, i) => ev(n * per + i));
      const t0 = process.hrtime.bigint();
      sock.send({ type: 'observations', v: 1, events });
      const before = await sock.marker();
      const ms = Number(process.hrtime.bigint() - t0) / 1e6;
      if (before.length) throw new Error('batch answered: ' + JSON.stringify(before[0]));
      console.log(`figure batch_store_ms ${ms.toFixed(2)} ms`);
      // a batch of 5 events: a machine where a few programs start a second
      const t2 = process.hrtime.bigint();
      sock.send({ type: 'observations', v: 1, events: events.slice(0, 5) });
      await sock.marker();
      console.log(`figure batch5_store_ms ${(Number(process.hrtime.bigint() - t2) / 1e6).toFixed(2)} ms`);
      // the same round trip without a batch: what the figure above owes to the loopback and the marker
      const t1 = process.hrtime.bigint();
      await sock.marker();
      console.log(`figure marker_only_ms ${(Number(process.hrtime.bigint() - t1) / 1e6).toFixed(2)} ms`);
    }
    await sock.close();
  }
  for (let e = 0; e < EXPORTS; e++) {
    let after = '0', rows = 0, pages = 0;
    const t0 = process.hrtime.bigint();
    for (;;) {
      const r = await admin.req('GET', '/api/admin/observations?after=' + after);
      if (r.status !== 200) throw new Error('export: ' + r.status + ' ' + r.text);
      rows += r.text.split('\n').filter((l) => l).length;
      pages++;
      const next = r.headers.get('x-sphinx-next-after');
      if (!next) break;
      after = next;
    }
    const ms = Number(process.hrtime.bigint() - t0) / 1e6;
    console.log(`# export: ${rows} rows in ${pages} pages, ${ms.toFixed(1)} ms`);
    console.log(`figure export_rows_per_s ${Math.round(rows / (ms / 1000))} rows/s`);
  }
  await s.stop();
}

main().catch((e) => { console.error(e); process.exit(1); });
