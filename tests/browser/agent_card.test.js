// SPDX-License-Identifier: GPL-2.0-only
// A real recorder turns a card red in a real browser. Started by
// tests/integration/browser_agent.sh (server, Xvfb, agent configuration).
// This file starts the agent (--config, and --stdout so that its
// capture.begin lines are known), signs the organiser (olga) and the
// attendee (account named by the uid SPHINX_ATTENDEE_UID) in through the web
// app in two chromium contexts, and runs `ffmpeg -f x11grab` as that uid.
// The latency asserted is from starting the recorder (so it bounds the
// latency from the capture's begin, which comes later) to the organiser's
// page drawing the red card (noted by a MutationObserver in the page, not by
// the polling test). Printed for information: from the begin's `ts` (the
// agent's wall-clock time of its first sign of capture) and from the begin
// line reaching this process (which may read it late).
// TAP lines; a failed step stops the run (the later steps build on it).
'use strict';
const fs = require('fs');
const path = require('path');
const { spawn } = require('child_process');
const { chromium } = require('playwright-core');

const URL0 = process.env.SPHINX_URL;
const AGENT = process.env.SPHINX_AGENT;
const ART = process.env.SPHINX_ARTIFACTS || path.resolve(__dirname, '../artifacts');
const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';
const DISPLAY = process.env.DISPLAY;
const UID = process.env.SPHINX_ATTENDEE_UID;	// a uid with no passwd entry: the agent names it by number
const RUNS = 5;
const T = 10000;

let failed = 0, n = 0, stop = false;
const steps = [];
function step(name, fn) { steps.push({ name, fn }); }
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
function assert(c, msg) { if (!c) throw new Error('assertion failed: ' + msg); }
const median = (xs) => { const s = [...xs].sort((a, b) => a - b); return s[Math.floor((s.length - 1) / 2)]; };

// ------------------------------------------------------------------ agent
let agent = null;
const agentLines = [];	// { at: wall-clock ms of arrival, ev }
let agentLog = '';
process.on('exit', () => { if (agent && agent.exitCode === null) agent.kill('SIGKILL'); });

function startAgent() {
	agent = spawn(AGENT, ['--stdout', '--config', process.env.SPHINX_AGENT_CONF,
		'--status-file', process.env.SPHINX_AGENT_STATUS], { stdio: ['ignore', 'pipe', 'pipe'] });
	let buf = '';
	agent.stdout.on('data', (d) => {
		const at = Date.now();
		buf += d;
		let i;
		while ((i = buf.indexOf('\n')) >= 0) {
			const line = buf.slice(0, i);
			buf = buf.slice(i + 1);
			try { agentLines.push({ at, ev: JSON.parse(line) }); } catch (e) { agentLog += `unparsable stdout: ${line}\n`; }
		}
	});
	agent.stderr.on('data', (d) => { agentLog += d; });
	agent.exited = new Promise((r) => agent.on('exit', (code, sig) => r({ code, sig })));
}

async function waitFor(fn, ms, what) {
	const end = Date.now() + ms;
	for (;;) {
		const v = fn();
		if (v) return v;
		if (Date.now() > end) throw new Error(`timed out waiting for ${what}; agent log:\n${agentLog}`);
		await sleep(20);
	}
}

// ffmpeg grabbing the screen as uid UID for `seconds`.
function recorder(seconds) {
	const p = spawn('setpriv', [`--reuid=${UID}`, `--regid=${UID}`, '--clear-groups',
		'ffmpeg', '-nostdin', '-loglevel', 'error', '-f', 'x11grab', '-framerate', '15',
		'-i', DISPLAY, '-t', String(seconds), '-f', 'null', '-'], { stdio: 'ignore', env: { DISPLAY } });
	p.done = new Promise((r) => p.on('exit', (code, sig) => r({ code, sig })));
	return p;
}

// ---------------------------------------------------------------- browser
let browser, olga, nora, code;
async function newUser(name) {
	const ctx = await browser.newContext({ viewport: { width: 1280, height: 800 } });
	const page = await ctx.newPage();
	page.errors = [];
	page.on('pageerror', (e) => page.errors.push(String(e)));
	page.on('console', (m) => { if (m.type() === 'error' && !/Failed to load resource/.test(m.text())) page.errors.push(m.text()); });
	return { name, ctx, page };
}
async function signIn(u, password) {
	const p = u.page;
	await p.goto(URL0 + '/');
	await p.waitForSelector('#login-username', { timeout: T });
	await p.fill('#login-username', u.name);
	await p.fill('#login-password', password);
	await p.click('form[aria-label="Sign in with a local account"] button[type=submit]');
	await p.waitForSelector('h1:has-text("Your meetings")', { timeout: T });
}
const card = (page, who) => page.locator('#people li.card', { hasText: who });

// In the organiser's page: note the wall-clock time at which a red card
// (recording) for user `uid` appears and disappears, as the DOM changes.
function watchCard(uid) {
	window.__red = [];
	window.__normal = [];
	let red = false;
	const look = () => {
		const el = document.querySelector(`#people li.card[data-user="${uid}"]`);
		const now = el && el.classList.contains('recording') && el.dataset.recording === 'true';
		if (now !== red) {
			(now ? window.__red : window.__normal).push(Date.now());
			red = now;
		}
	};
	new MutationObserver(look).observe(document.body, { subtree: true, childList: true, attributes: true, attributeFilter: ['class', 'data-recording'] });
	look();
}

// ==================================================================== steps
step('chromium starts headless; the agent starts, connects and says hello', async () => {
	assert(DISPLAY, 'DISPLAY is an Xvfb display');
	assert(/^[0-9]+$/.test(UID || ''), 'SPHINX_ATTENDEE_UID is a uid');
	fs.mkdirSync(ART, { recursive: true });
	// chromium must not touch the Xvfb display the agent watches
	const env = Object.assign({}, process.env);
	delete env.DISPLAY;
	browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, env });
	olga = await newUser('olga');
	nora = await newUser(UID);
	startAgent();
	await waitFor(() => /server welcomed this machine/.test(agentLog), 15000, 'the agent to be welcomed');
});

step('organiser creates a meeting in the web app; the attendee joins it by code', async () => {
	await signIn(olga, 'pw-olga-browser');
	const p = olga.page;
	await p.fill('#create-title', 'Exam review');
	await p.click('#create-panel button[type=submit]');
	await p.waitForURL(/#\/m\/[a-z]{3}-[a-z]{4}-[a-z]{3}$/, { timeout: T });
	code = /#\/m\/([a-z]{3}-[a-z]{4}-[a-z]{3})$/.exec(p.url())[1];
	await p.waitForSelector('#conn-state:has-text("Live")', { timeout: T });
	await signIn(nora, 'pw-nora-browser');
	await nora.page.fill('#join-code', code);
	await nora.page.click('#join-panel button[type=submit]');
	await nora.page.waitForURL(new RegExp(`#/m/${code}$`), { timeout: T });
	await nora.page.waitForSelector('#conn-state:has-text("Live")', { timeout: T });
	await card(p, 'Nora Nobody').locator('.status.on').waitFor({ timeout: T });
});

step('the attendee\'s card says Monitored: the agent\'s hello named the recorder\'s uid', async () => {
	const c = card(olga.page, 'Nora Nobody');
	await c.locator('.badge:has-text("Monitored")').waitFor({ timeout: T });
	assert((await c.getAttribute('data-recording')) === 'false', 'not recording yet');
});

const lat = [];	// capture.begin ts -> red card, ms
const fromLine = [];	// capture.begin line read here -> red card, ms
const total = [];	// recorder started -> red card, ms
const pids = [];	// the recorders started here
step(`ffmpeg -f x11grab by that uid, ${RUNS} runs: the card turns red within 1 s of the recorder's start (so of its begin), names ffmpeg and the machine, and is normal again after the end`, async () => {
	const p = olga.page;
	const uid = await card(p, 'Nora Nobody').getAttribute('data-user');
	assert(uid, 'the card names its user');
	await p.evaluate(watchCard, uid);
	for (let i = 0; i < RUNS; i++) {
		const from = agentLines.length;
		const t0 = Date.now();
		const rec = recorder(1.5);
		const begin = await waitFor(() => agentLines.slice(from).find((l) => l.ev.type === 'capture.begin' && l.ev.pid === rec.pid),
			3000, `the agent's capture.begin for ffmpeg pid ${rec.pid}`);
		assert(begin.ev.user === UID && begin.ev.kind === 'recording', `begin names user ${UID}, a recording: ` + JSON.stringify(begin.ev));
		pids.push(rec.pid);
		await p.waitForFunction((k) => window.__red.length > k, i, { timeout: 5000 });
		const redAt = await p.evaluate((k) => window.__red[k], i);
		lat.push(redAt - Math.round(begin.ev.ts / 1e6));
		fromLine.push(redAt - begin.at);
		total.push(redAt - t0);
		const text = await card(p, 'Nora Nobody').innerText();
		assert(/Recording the screen with ffmpeg/.test(text), `card names the program: ${text}`);
		assert(/lab-7/.test(text), `card names the machine: ${text}`);
		const bg = await card(p, 'Nora Nobody').evaluate((el) => getComputedStyle(el).backgroundColor);
		assert(bg === 'rgb(253, 227, 225)', `red background: ${bg}`);
		if (i === 0) await p.screenshot({ path: path.join(ART, 'agent-card-red.png'), fullPage: true });
		const r = await rec.done;
		assert(r.code === 0, `ffmpeg exited 0: ${JSON.stringify(r)}`);
		await waitFor(() => agentLines.slice(from).find((l) => l.ev.type === 'capture.end' && l.ev.pid === rec.pid), 6000, 'capture.end');
		await p.waitForFunction((k) => window.__normal.length > k, i, { timeout: 5000 });
	}
	const fmt = (xs) => xs.map((x) => String(x)).join(' ');
	console.log(`# ffmpeg started -> red card (ms): ${fmt(total)}; min ${Math.min(...total)} median ${median(total)} max ${Math.max(...total)}`);
	console.log(`# capture begin (ts) -> red card (ms): ${fmt(lat)}; min ${Math.min(...lat)} median ${median(lat)} max ${Math.max(...lat)}`);
	console.log(`# begin line read here -> red card (ms): ${fmt(fromLine)}`);
	assert(total.every((x) => x > 0 && x < 1000), `every card red within 1 s of starting its recorder: ${fmt(total)}`);
});

step('the organiser\'s recording log lists exactly the five captures, with program, user and machine', async () => {
	const r = await olga.page.evaluate(async (c) => { const x = await fetch(`/api/meetings/${c}/recordings`); return { s: x.status, b: await x.json() }; }, code);
	assert(r.s === 200, `status ${r.s}`);
	const recs = r.b.recordings;
	assert(recs.length === RUNS, `${RUNS} recordings, got ${recs.length}: ${JSON.stringify(recs)}`);
	assert(JSON.stringify(recs.map((x) => x.pid)) === JSON.stringify(pids), `the recorders started here, in order: ${JSON.stringify(recs.map((x) => x.pid))} vs ${JSON.stringify(pids)}`);
	assert(recs.every((x) => x.program === 'ffmpeg' && x.name === 'Nora Nobody' && x.local_user === UID && x.machine === 'lab-7' && x.end_at >= x.start_at),
		JSON.stringify(recs));
});

step('the agent stops cleanly (exit 0, no error in its log); the card says Unmonitored', async () => {
	agent.kill('SIGTERM');
	const r = await agent.exited;
	assert(r.code === 0, `agent exit ${JSON.stringify(r)}; log:\n${agentLog}`);
	assert(!/error:/.test(agentLog), `no error in the agent log:\n${agentLog}`);
	await card(olga.page, 'Nora Nobody').locator('.badge:has-text("Unmonitored")').waitFor({ timeout: T });
});

step('no script errors in the pages', async () => {
	const errs = [olga, nora].filter(Boolean).flatMap((u) => u.page.errors.map((e) => `${u.name}: ${e}`));
	assert(errs.length === 0, errs.join('\n'));
});

// ====================================================================== run
(async () => {
	for (const s of steps) {
		n++;
		if (stop) {
			console.log(`not ok ${n} - ${s.name} # not run: an earlier step failed`);
			failed++;
			continue;
		}
		try {
			await s.fn();
			console.log(`ok ${n} - ${s.name}`);
		} catch (e) {
			failed++;
			stop = true;
			console.log(`not ok ${n} - ${s.name}`);
			console.log('# ' + String(e && e.stack || e).split('\n').slice(0, 12).join('\n# '));
			for (const u of [olga, nora].filter(Boolean)) {
				try { await u.page.screenshot({ path: path.join(ART, `agent-card-failure-${n}-${u.name}.png`), fullPage: true }); } catch (e2) { /* gone */ }
			}
		}
	}
	console.log(`1..${n}`);
	if (agent && agent.exitCode === null) { agent.kill('SIGTERM'); await agent.exited; }
	if (browser) await browser.close();
	process.exit(failed ? 1 : 0);
})();
