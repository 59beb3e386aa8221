// SPDX-License-Identifier: GPL-2.0-only
// The fleet page in Debian's chromium (headless, playwright-core) against the
// real sphinx-server that tests/integration/browser_fleet.sh started (an
// admin "root-admin", a user "alice", five machines enrolled, lab-room-b in
// group room-b). The machines' agents here speak the agent protocol over
// real WebSockets (hello, status, heartbeats, goodbye): one with a degraded
// layer, one whose spool dropped events, one shut down, two healthy. The
// admin finds the Fleet link, sees the machines problems first with the
// degraded and the dropping one flagged in words, filters by state and by
// group, and sees the rollout table; alice gets no link and no fleet.
// Screenshots go to SPHINX_ARTIFACTS. TAP lines; a failed step stops the run.
'use strict';
const fs = require('fs');
const path = require('path');
const WebSocket = require('ws');
const { chromium } = require('playwright-core');

const URL0 = process.env.SPHINX_URL;
const TOKENS = JSON.parse(process.env.SPHINX_TOKENS || '{}');
const ART = process.env.SPHINX_ARTIFACTS || path.resolve(__dirname, '../artifacts');
const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';
const T = 10000;

let failed = 0, n = 0;
const steps = [];
function step(name, fn) { steps.push({ name, fn }); }
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
function assert(c, msg) { if (!c) throw new Error('assertion failed: ' + msg); }
function eq(a, b, msg) { if (JSON.stringify(a) !== JSON.stringify(b)) throw new Error(`${msg}: expected ${JSON.stringify(b)}, got ${JSON.stringify(a)}`); }

// ------------------------------------------------------------ the agents
const LAYERS = [
	{ name: 'exec', state: 'attached', detail: '2 of 2 probes attached' },
	{ name: 'device', state: 'attached', detail: '2 of 2 probes attached' },
	{ name: 'api', state: 'attached', detail: '25 of 25 probes attached' },
	{ name: 'xserver', state: 'off', detail: 'no probe in place' },
];
const DEGRADED = LAYERS.map((l) => (l.name === 'api'
	? { name: 'api', state: 'degraded', detail: '3 of 25 probes refused by the kernel: XShmGetImage (/usr/lib/x86_64-linux-gnu/libXext.so.6): Operation not permitted' }
	: l));
const agents = [];

// Says hello and sends its status; resolves once the server answered a marker sent after them.
function fakeAgent(name, hello, layers) {
	return new Promise((resolve, reject) => {
		const ws = new WebSocket(URL0.replace(/^http/, 'ws') + '/agent', { headers: { authorization: 'Bearer ' + TOKENS[name] } });
		ws.on('error', reject);
		ws.on('open', () => {
			ws.send(JSON.stringify(Object.assign({ type: 'hello', v: 1, machine: name, boot_id: `boot-${name}`, agent_version: '0.9.2' }, hello)));
			ws.send(JSON.stringify({ type: 'status', v: 1, kernel: name === 'lab-degraded' ? '6.1.0-17-amd64' : '6.18.0-1-amd64', arch: 'x86_64', layers }));
			ws.send(JSON.stringify({ type: 'test-marker', v: 1 }));
		});
		ws.on('message', (d) => {
			const m = JSON.parse(d);
			if (m.type === 'error' && m.code === 'unknown_type') {
				ws.beat = setInterval(() => ws.send(JSON.stringify({ type: 'heartbeat', v: 1, ts: Date.now() * 1e6 })), 1000);
				resolve(ws);
			} else if (m.type === 'error') {
				reject(new Error(`${name}: ${m.code}: ${m.message}`));
			}
		});
		agents.push(ws);
	});
}

// ---------------------------------------------------------------- browser
let browser, admin, alice;
async function newUser(name) {
	const ctx = await browser.newContext({ viewport: { width: 1400, height: 900 } });
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
const rows = (p) => p.$$eval('#fleet-table tbody tr', (trs) => trs.map((tr) => tr.dataset.machine));

// ==================================================================== steps
step('chromium starts headless; five machines\' agents say hello and report their status', async () => {
	fs.mkdirSync(ART, { recursive: true });
	browser = await chromium.launch({ executablePath: CHROMIUM, headless: true });
	admin = await newUser('root-admin');
	alice = await newUser('alice');
	await fakeAgent('lab-ok', { users: ['alice'], spool_dropped: 0 }, LAYERS);
	await fakeAgent('lab-degraded', {}, DEGRADED);
	await fakeAgent('lab-dropping', { spool_dropped: 12 }, LAYERS);
	await fakeAgent('lab-room-b', {}, LAYERS);
	const down = await fakeAgent('lab-down', {}, LAYERS);
	down.send(JSON.stringify({ type: 'goodbye', v: 1, reason: 'shutdown' }));
	await new Promise((r) => down.on('close', r));
	clearInterval(down.beat);
});

step('the admin finds the Fleet link; machines problems first, the degraded and the dropping one flagged in words', async () => {
	await signIn(admin, 'pw-root-admin-browser');
	const p = admin.page;
	await p.click('#nav-fleet');
	await p.waitForSelector('#fleet-table tbody tr', { timeout: T });
	eq(await rows(p), ['lab-degraded', 'lab-dropping', 'lab-down', 'lab-ok', 'lab-room-b'], 'order');
	const deg = p.locator('tr[data-machine="lab-degraded"]');
	assert(await deg.evaluate((tr) => tr.classList.contains('fleet-flagged')), 'lab-degraded is flagged');
	assert(/Degraded/.test(await deg.locator('.fleet-problems').innerText()), 'says Degraded');
	assert(/3 of 25 probes refused by the kernel: XShmGetImage/.test(await deg.locator('[data-layer="api"]').innerText()), 'says why');
	assert(/6\.1\.0-17-amd64/.test(await deg.innerText()), 'its kernel');
	const drop = p.locator('tr[data-machine="lab-dropping"]');
	assert(await drop.evaluate((tr) => tr.classList.contains('fleet-flagged')), 'lab-dropping is flagged');
	assert(/Dropping events/.test(await drop.innerText()), 'says Dropping events');
	assert(/12 dropped since the last hello/.test(await drop.innerText()), 'the number dropped');
	const ok = p.locator('tr[data-machine="lab-ok"]');
	assert(!(await ok.evaluate((tr) => tr.classList.contains('fleet-flagged'))), 'lab-ok is not flagged');
	const okText = await ok.innerText();
	assert(/Online/.test(okText) && /Alice Attendee/.test(okText) && /Agent 0\.9\.2/.test(okText), 'online, the person at the screen, the agent: ' + okText);
	assert(/Shut down/.test(await p.locator('tr[data-machine="lab-down"]').innerText()), 'lab-down shut down');
	assert(/problems: 1 degraded, 1 dropping events/.test(await p.locator('#fleet-summary').innerText()), 'summary');
	await p.screenshot({ path: path.join(ART, 'fleet.png'), fullPage: true });
});

step('the rollout table lists the groups', async () => {
	const p = admin.page;
	await p.waitForSelector('#rollout-table tbody tr', { timeout: T });
	const groups = await p.$$eval('#rollout-table tbody tr', (trs) => trs.map((tr) => tr.dataset.group));
	eq(groups, ['default', 'room-b'], 'groups');
	assert(/^4$/.test(await p.locator('#rollout-table tr[data-group="default"] td').nth(1).innerText()), 'four machines in default');
});

step('filter by state: the address says it, the table shows only that state', async () => {
	const p = admin.page;
	await p.selectOption('#fleet-state', 'shutdown');
	await p.waitForFunction(() => location.hash === '#/fleet?state=shutdown', null, { timeout: T });
	await p.waitForFunction(() => document.querySelectorAll('#fleet-table tbody tr').length === 1, null, { timeout: T });
	eq(await rows(p), ['lab-down'], 'only the shut down machine');
	eq(await p.getAttribute('#fleet-csv', 'href'), '/api/admin/machines.csv?state=shutdown', 'the CSV link takes the filter');
	await p.screenshot({ path: path.join(ART, 'fleet-filter-state.png'), fullPage: true });
	await p.selectOption('#fleet-state', 'silent');
	await p.waitForSelector('#fleet-empty', { timeout: T });
	assert(/No machine matches/.test(await p.locator('#fleet-empty').innerText()), 'an empty result says so');
});

step('filter by group: room-b shows its one machine', async () => {
	const p = admin.page;
	await p.selectOption('#fleet-state', '');
	await p.waitForFunction(() => location.hash === '#/fleet', null, { timeout: T });
	await p.waitForSelector('#fleet-table tbody tr', { timeout: T });
	await p.selectOption('#fleet-group', 'room-b');
	await p.waitForFunction(() => location.hash === '#/fleet?group=room-b', null, { timeout: T });
	await p.waitForFunction(() => document.querySelectorAll('#fleet-table tbody tr').length === 1, null, { timeout: T });
	eq(await rows(p), ['lab-room-b'], 'only room-b');
	await p.screenshot({ path: path.join(ART, 'fleet-filter-group.png'), fullPage: true });
});

step('a user who is not an admin: no Fleet link, and the page says it is for admins', async () => {
	await signIn(alice, 'pw-alice-browser');
	const p = alice.page;
	eq(await p.locator('#nav-fleet').count(), 0, 'no link');
	await p.goto(URL0 + '/#/fleet');
	await p.waitForSelector('#fleet-admins-only', { timeout: T });
	eq(await p.locator('#fleet-table').count(), 0, 'no table');
});

step('no script errors in either page', async () => {
	eq(admin.page.errors, [], 'admin page errors');
	eq(alice.page.errors, [], 'alice page errors');
});

(async () => {
	for (const s of steps) {
		n++;
		try {
			await s.fn();
			console.log(`ok ${n} - ${s.name}`);
		} catch (e) {
			failed++;
			console.log(`not ok ${n} - ${s.name}`);
			for (const line of String(e.stack || e).split('\n')) console.log('# ' + line);
			break;
		}
	}
	console.log(`1..${n}`);
	for (const a of agents) { clearInterval(a.beat); a.terminate(); }
	if (browser) await browser.close();
	process.exit(failed ? 1 : 0);
})();
