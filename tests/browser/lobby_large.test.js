// SPDX-License-Identifier: GPL-2.0-only
// The lobby of a 1 000-person lecture in Debian's chromium (playwright-core),
// against the real sphinx-server started by
// tests/integration/browser_lobby_large.sh (sign-up open, default limits).
//
// 1 000 distinct people sign up over HTTP, each from its own loopback source
// address 127.0.X.Y, and join one meeting; 600 of them keep a lobby socket
// open from Node; an enrolled agent reports three of them recording, people
// whose names sort far beyond the first page. The organiser's browser must
// show the first page and the counts ("601 online of 1000"), the three
// recorders pinned above the list, more people when the list is scrolled
// (each person once), presence changes in the counts, and older chat when
// the chat is scrolled up. Prints TAP lines; screenshots in $SPHINX_ARTIFACTS.
'use strict';
const http = require('http');
const path = require('path');
const { chromium } = require('playwright-core');
const WebSocket = require('ws');

const URL0 = process.env.SPHINX_URL;
const U = new URL(URL0);
const ART = process.env.SPHINX_ARTIFACTS || path.resolve(__dirname, '../artifacts');
const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';
const T = 15000;
const PEOPLE = 1000, SOCKETS = 600, RECORDERS = [990, 991, 992];

let failed = 0, n = 0, stop = false;
const steps = [];
function step(name, fn) { steps.push({ name, fn }); }
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
function assert(c, msg) { if (!c) throw new Error('assertion failed: ' + msg); }

const addr = (i) => `127.0.${1 + Math.floor(i / 250)}.${1 + (i % 250)}`;
const uname = (i) => `p${String(i).padStart(4, '0')}`;
/* names sort in index order: the recorders' pages are far from the first */
const fullName = (i) => (i === 0 ? 'Olga Organiser' : `Person ${String(i).padStart(4, '0')}`);

/* One JSON request from address i (cookies/csrf of person i when known). */
function req(i, method, p, body, who) {
	return new Promise((resolve, reject) => {
		const data = body === undefined ? null : Buffer.from(JSON.stringify(body));
		const headers = { accept: 'application/json' };
		if (data) { headers['content-type'] = 'application/json'; headers['content-length'] = data.length; }
		if (who && who.cookie) headers.cookie = who.cookie;
		if (who && who.csrf && method !== 'GET') headers['x-csrf-token'] = who.csrf;
		const r = http.request({ host: U.hostname, port: U.port, path: p, method, headers, localAddress: addr(i), agent: false }, (res) => {
			let buf = '';
			res.on('data', (c) => { buf += c; });
			res.on('end', () => {
				let json = null;
				try { json = JSON.parse(buf); } catch (e) { /* not JSON */ }
				resolve({ status: res.statusCode, headers: res.headers, json, text: buf });
			});
		});
		r.on('error', reject);
		if (data) r.write(data);
		r.end();
	});
}

const people = [];	/* {cookie, csrf} per index */
let code, browser, ctx, page, agentWs, socks = [], agentMsgs = [];

async function pool(count, width, fn) {
	let next = 0;
	await Promise.all(Array.from({ length: width }, async () => {
		while (next < count) {
			const i = next++;
			await fn(i);
		}
	}));
}

step(`${PEOPLE} distinct people sign up from distinct addresses and join one meeting`, async () => {
	await pool(PEOPLE, 8, async (i) => {
		const r = await req(i, 'POST', '/api/auth/signup',
			{ username: uname(i), email: `${uname(i)}@example.org`, name: fullName(i), password: `pw-${uname(i)}-large` });
		assert(r.status === 200 || r.status === 201, `sign-up ${uname(i)}: ${r.status} ${r.text}`);
		people[i] = { cookie: String(r.headers['set-cookie'][0]).split(';')[0], csrf: r.json.csrf };
	});
	const m = await req(0, 'POST', '/api/meetings', { title: 'Lecture hall, 1 000 seats' }, people[0]);
	assert(m.status === 200 || m.status === 201, `create: ${m.status} ${m.text}`);
	code = m.json.code || m.json.meeting.code;
	await pool(PEOPLE - 1, 8, async (k) => {
		const i = k + 1;
		const r = await req(i, 'POST', '/api/meetings/join', { code }, people[i]);
		assert(r.status === 200, `join ${uname(i)}: ${r.status} ${r.text}`);
	});
});

step(`${SOCKETS} of them keep a lobby socket open; an agent reports three recording`, async () => {
	const opened = [];
	for (let i = 1; i <= SOCKETS; i++) {
		/* 1..597 plus the three recorders, who must be online to be flagged */
		const who = i <= SOCKETS - RECORDERS.length ? i : RECORDERS[i - (SOCKETS - RECORDERS.length) - 1];
		const ws = new WebSocket(`ws://${U.host}/lobby/${code}`, { headers: { cookie: people[who].cookie, origin: URL0 }, localAddress: addr(who) });
		ws.on('error', () => {});
		socks.push(ws);
		opened.push(new Promise((res, rej) => {
			ws.once('message', res);
			ws.once('close', (c) => rej(new Error(`lobby socket of ${uname(who)} closed ${c}`)));
		}));
	}
	await Promise.all(opened);
	agentWs = new WebSocket(`ws://${U.host}/agent`, { headers: { authorization: 'Bearer ' + process.env.SPHINX_TOKEN } });
	agentWs.on('message', (d) => agentMsgs.push(JSON.parse(String(d))));
	await new Promise((res, rej) => { agentWs.once('open', res); agentWs.once('error', rej); });
	const boot = 'b00t0000-0000-4000-8000-000000000002';
	agentWs.send(JSON.stringify({ type: 'hello', v: 1, machine: 'lab-hall', boot_id: boot, agent_version: 'test', layers: ['exec'] }));
	for (const [k, i] of RECORDERS.entries()) {
		agentWs.send(JSON.stringify({
			type: 'capture.begin', v: 1, id: `${boot}:${k + 1}`, capture: `${boot}:${7000 + k}:1000`, kind: 'recording',
			ts: Date.now() * 1e6, pid: 7000 + k, ppid: 1, comm: 'ffmpeg', exe: '/usr/bin/ffmpeg',
			argv: ['ffmpeg', '-f', 'x11grab', '-i', ':0', 'out.mp4'], uid: 1000, user: uname(i),
			rule: { id: 'sphinx.exec.ffmpeg-x11grab', title: 'ffmpeg grabbing the X11 screen' }, layer: 'exec',
		}));
	}
	for (let t = 0; t < 100 && agentMsgs.filter((m) => m.type === 'ack').length < RECORDERS.length; t++)
		await sleep(50);
	assert(agentMsgs.filter((m) => m.type === 'ack').length === RECORDERS.length, `acks: ${JSON.stringify(agentMsgs)}`);
	/* 60 chat lines, more than one snapshot holds, to scroll back to */
	for (let k = 1; k <= 60; k++) {
		socks[k % 10].send(JSON.stringify({ type: 'chat', v: 1, text: `Question ${k} from the hall`, cid: `q${k}` }));
		await sleep(60);	/* under the per-socket message rate */
	}
});

step('organiser page renders the first page and the counts', async () => {
	browser = await chromium.launch({ executablePath: CHROMIUM, headless: true });
	ctx = await browser.newContext({ viewport: { width: 1280, height: 900 } });
	page = await ctx.newPage();
	page.errors = [];
	page.on('pageerror', (e) => page.errors.push(String(e)));
	await page.goto(URL0 + '/');
	await page.fill('#login-username', uname(0));
	await page.fill('#login-password', `pw-${uname(0)}-large`);
	await page.click('form[aria-label="Sign in with a local account"] button[type=submit]');
	await page.waitForSelector('#join-code', { timeout: T });
	await page.goto(`${URL0}/#/m/${code}`);
	await page.waitForSelector('#conn-state:has-text("Live")', { timeout: T });
	await page.waitForSelector(`#people-count:has-text("${SOCKETS + 1} online of ${PEOPLE}")`, { timeout: T });
	const cards = await page.locator('#people-list li.card').count();
	assert(cards > 0 && cards <= 60, `first page only: ${cards} cards`);
});

step('the three recorders are pinned at the top for the organiser', async () => {
	await page.waitForFunction((k) => document.querySelectorAll('#people-pinned li.card.recording').length === k, RECORDERS.length, { timeout: T });
	for (const i of RECORDERS)
		assert(await page.locator('#people-pinned li.card', { hasText: fullName(i) }).count() === 1, `${fullName(i)} pinned`);
	/* both boxes read in one go in the page: a card being redrawn is detached for a moment */
	const box = await page.waitForFunction(() => {
		const pin = document.querySelector('#people-pinned').getBoundingClientRect();
		const card = document.querySelector('#people-list li.card');
		return card && { pinBottom: pin.bottom, firstTop: card.getBoundingClientRect().top };
	}, null, { timeout: T }).then((h) => h.jsonValue());
	assert(box.pinBottom <= box.firstTop + 1, `pinned above the list: ${JSON.stringify(box)}`);
	assert(await page.locator('#people-pinned').isVisible(), 'pinned list visible');
	await page.screenshot({ path: path.join(ART, 'lobby-1000-organiser.png') });
	console.log('# screenshot: tests/artifacts/lobby-1000-organiser.png');
});

step('scrolling the list loads more people, each once', async () => {
	const before = await page.locator('#people-list li.card').count();
	for (let k = 0; k < 6; k++) {
		await page.locator('#people').evaluate((el) => { el.scrollTop = el.scrollHeight; });
		await sleep(300);
	}
	await page.waitForFunction((b) => document.querySelectorAll('#people-list li.card').length > b + 100, before, { timeout: T });
	const box = await page.locator('#people').boundingBox(), pin = await page.locator('#people-pinned').boundingBox();
	assert(pin.y >= box.y - 1 && pin.y < box.y + 20, 'the recorders stay at the top while the list scrolls');
	const ids = await page.locator('#people li.card').evaluateAll((els) => els.map((e) => e.dataset.user));
	assert(new Set(ids).size === ids.length, 'no person drawn twice');
	const names = await page.locator('#people-list li.card .name').allInnerTexts();
	const online = names.slice(1).map((t) => t.replace(' (you)', ''));
	const sorted = [...online].sort();
	assert(JSON.stringify(online.slice(0, 50)) === JSON.stringify(sorted.slice(0, 50)), 'online people in name order');
	await page.screenshot({ path: path.join(ART, 'lobby-1000-scrolled.png') });
});

step('presence: ten people leave, the count follows without a reload', async () => {
	for (const ws of socks.slice(0, 10))
		ws.close();
	await page.waitForSelector(`#people-count:has-text("${SOCKETS + 1 - 10} online of ${PEOPLE}")`, { timeout: T });
	await page.waitForFunction(() => {
		const c = [...document.querySelectorAll('#people-list li.card')].find((e) => /Person 0001/.test(e.textContent));
		return c && /Offline/.test(c.textContent);
	}, null, { timeout: T });
});

step('scrolling the chat up loads older lines', async () => {
	await page.waitForSelector('#feed .msg:has-text("Question 60 from the hall")', { timeout: T });
	assert(await page.locator('#feed .msg:has-text("Question 1 from the hall")').count() === 0, 'the oldest line is not in the snapshot');
	for (let k = 0; k < 10 && await page.locator('#feed .msg:has-text("Question 1 from the hall")').count() === 0; k++) {
		await page.locator('#feed').evaluate((el) => { el.scrollTop = 0; el.dispatchEvent(new Event('scroll')); });
		await sleep(300);
	}
	assert(await page.locator('#feed .msg:has-text("Question 1 from the hall")').count() === 1, 'oldest line loaded once');
	assert(await page.locator('#feed .msg:has-text("Question 30 from the hall")').count() === 1, 'no line twice');
});

step('a chat line lost in transit is sent again after the reconnection, and shown once', async () => {
	// a second tab of the organiser whose socket goes through a route: the
	// route swallows the first copy of the line and drops the connection
	const tab = await ctx.newPage();
	tab.errors = [];
	tab.on('pageerror', (e) => tab.errors.push(String(e)));
	const cids = [];
	let swallowed = false;
	await tab.routeWebSocket(/\/lobby\//, (ws) => {
		const server = ws.connectToServer();
		ws.onMessage((m) => {
			if (!swallowed && /Lost in transit/.test(String(m))) {
				swallowed = true;
				cids.push(JSON.parse(String(m)).cid);
				setTimeout(() => ws.close({ code: 4000, reason: 'test drop' }), 100);
				return;
			}
			if (/Lost in transit/.test(String(m)))
				cids.push(JSON.parse(String(m)).cid);
			server.send(m);
		});
		server.onMessage((m) => ws.send(m));
	});
	await tab.goto(`${URL0}/#/m/${code}`);
	await tab.waitForSelector('#conn-state:has-text("Live")', { timeout: T });
	await tab.fill('#chat-input', 'Lost in transit');
	await tab.press('#chat-input', 'Enter');
	await page.waitForSelector('#feed .msg:has-text("Lost in transit")', { timeout: 20000 });
	await tab.waitForFunction(() => !document.querySelector('#feed .msg.pending'), null, { timeout: T });
	socks[20].send(JSON.stringify({ type: 'chat', v: 1, text: 'Marker after the resend', cid: 'marker1' }));
	await page.waitForSelector('#feed .msg:has-text("Marker after the resend")', { timeout: T });
	await tab.waitForSelector('#feed .msg:has-text("Marker after the resend")', { timeout: T });
	assert(swallowed, 'the route saw the line');
	assert(cids.length === 2 && cids[0] && cids[0] === cids[1], `sent twice with one cid: ${JSON.stringify(cids)}`);
	for (const pg of [page, tab])
		assert(await pg.locator('#feed .msg:has-text("Lost in transit")').count() === 1, 'the line once');
	assert(tab.errors.length === 0, tab.errors.join('\n'));
	await tab.close();
});

step('no script errors in the page', async () => {
	assert(page.errors.length === 0, page.errors.join('\n'));
});

(async () => {
	const t0 = Date.now();
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
			console.log(`not ok ${n} - ${s.name}`);
			console.log('# ' + String(e && e.stack || e).split('\n').slice(0, 8).join('\n# '));
			if (page)
				try { await page.screenshot({ path: path.join(ART, `failure-large-${n}.png`) }); } catch (e2) { /* gone */ }
			stop = true;
		}
	}
	console.log(`1..${n}`);
	console.log(`# ${((Date.now() - t0) / 1000).toFixed(1)} s`);
	for (const ws of socks) ws.terminate();
	if (agentWs) agentWs.terminate();
	if (browser) await browser.close();
	process.exit(failed ? 1 : 0);
})();
