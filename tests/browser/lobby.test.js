// SPDX-License-Identifier: GPL-2.0-only
// The web app in Debian's chromium (headless, fake camera and microphone),
// driven by playwright-core, against the real sphinx-server started by
// tests/integration/browser_lobby.sh. Two browser contexts, an organiser
// (olga) and an attendee (alice), and a third without a camera (carol).
// The agent side is the real agent WebSocket with an enrollment token.
// Prints TAP lines ("ok - …" / "not ok - …"); a failed step stops the run,
// since the later steps build on it. Screenshots go to $SPHINX_ARTIFACTS.
'use strict';
const fs = require('fs');
const path = require('path');
const { spawn } = require('child_process');
const { chromium } = require('playwright-core');
const WebSocket = require('ws');

const URL0 = process.env.SPHINX_URL;
const ART = process.env.SPHINX_ARTIFACTS || path.resolve(__dirname, '../artifacts');
const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';
const T = 10000;	// default wait for anything the page should show

let failed = 0, n = 0, stop = false;
const steps = [];
function step(name, fn) { steps.push({ name, fn }); }
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
function assert(c, msg) { if (!c) throw new Error('assertion failed: ' + msg); }

let browser, olga, alice, carol, code, agent;
const shots = [];
async function shot(page, name) {
	const file = path.join(ART, name);
	await page.screenshot({ path: file, fullPage: true });
	shots.push(file);
}

// the restart step: the server is stopped and started again under the open pages
let serverRestarting = false;

async function newUser(name, opts = {}) {
	const ctx = await browser.newContext({ viewport: opts.viewport || { width: 1280, height: 800 }, acceptDownloads: true });
	if (opts.noCamera)
		await ctx.addInitScript(() => {
			navigator.mediaDevices.getUserMedia = async () => { throw new DOMException('Requested device not found', 'NotFoundError'); };
		});
	const page = await ctx.newPage();
	page.errors = [];
	page.on('pageerror', (e) => page.errors.push(String(e)));
	page.on('console', (m) => {
		if (m.type() !== 'error' || /Failed to load resource/.test(m.text()))
			return;
		// while the restart step stops the server, a reconnection the page retries may be refused
		// (503 from the draining server, or no server): Chromium logs it; the page handles it
		if (serverRestarting && /^WebSocket connection to '[^']*\/lobby\/[^']*' failed/.test(m.text()))
			return;
		page.errors.push(m.text());
	});
	return { name, ctx, page };
}

async function signIn(u, password) {
	const p = u.page;
	await p.goto(URL0 + '/');
	await p.waitForSelector('#login-username', { timeout: T });
	await p.fill('#login-username', u.name);
	await p.fill('#login-password', password || `pw-${u.name}-browser`);
	await p.click('form[aria-label="Sign in with a local account"] button[type=submit]');
}

async function cardOf(page, who) {
	return page.locator('#people li.card', { hasText: who });
}

// -------------------------------------------------------------- agent socket
class Agent {
	constructor() {
		this.msgs = [];
		this.seq = 0;
		this.ws = new WebSocket(URL0.replace(/^http/, 'ws') + '/agent', { headers: { Authorization: `Bearer ${process.env.SPHINX_TOKEN}` } });
		this.ws.on('message', (d) => this.msgs.push(JSON.parse(String(d))));
		this.opened = new Promise((res, rej) => { this.ws.on('open', res); this.ws.on('error', rej); });
	}
	send(o) { this.ws.send(JSON.stringify(o)); }
	async next(type, ms = 5000) {
		const end = Date.now() + ms;
		while (Date.now() < end) {
			const i = this.msgs.findIndex((m) => m.type === type);
			if (i >= 0) return this.msgs.splice(i, 1)[0];
			await sleep(20);
		}
		throw new Error(`agent: no ${type}; have ${JSON.stringify(this.msgs)}`);
	}
	capture(type, user, extra = {}) {
		const ev = Object.assign({ type, v: 1, id: `b00t-browser:${++this.seq}`, capture: 'b00t-browser:4242:1', kind: 'recording',
			ts: Date.now() * 1e6, pid: 4242, ppid: 4100, comm: 'ffmpeg', exe: '/usr/bin/ffmpeg',
			argv: ['ffmpeg', '-f', 'x11grab', '-i', ':0', 'out.mp4'], uid: 1000, user,
			rule: { id: 'sphinx.exec.ffmpeg-x11grab', title: 'ffmpeg grabbing the X11 screen' }, layer: 'exec' }, extra);
		this.send(ev);
		return ev;
	}
	close() { try { this.ws.close(); } catch (e) { /* closed */ } }
}

// ====================================================================== steps
step('chromium starts headless with fake media devices', async () => {
	fs.mkdirSync(ART, { recursive: true });
	browser = await chromium.launch({ executablePath: CHROMIUM, headless: true,
		args: ['--use-fake-device-for-media-stream', '--use-fake-ui-for-media-stream', '--allow-loopback-in-peer-connection'] });
	olga = await newUser('olga');
	alice = await newUser('alice');
});

step('sign-in page: a wrong password is refused in words, in place', async () => {
	await olga.page.goto(URL0 + '/');
	await olga.page.waitForSelector('#login-username', { timeout: T });
	await shot(olga.page, 'signin.png');
	await signIn(olga, 'not-the-password');
	const err = olga.page.locator('#login-error');
	await err.waitFor({ state: 'visible', timeout: T });
	const t = await err.innerText();
	assert(/wrong username or password/i.test(t), `error text: ${t}`);
});

step('organiser signs in with a local account and sees the home page', async () => {
	await olga.page.fill('#login-password', 'pw-olga-browser');
	await olga.page.press('#login-password', 'Enter');
	await olga.page.waitForSelector('h1:has-text("Your meetings")', { timeout: T });
	assert(/Olga Organiser/.test(await olga.page.innerText('#topbar-user')), 'name in the top bar');
	await shot(olga.page, 'home.png');
});

step('organiser creates an in-app meeting and lands in its lobby', async () => {
	const p = olga.page;
	await p.fill('#create-title', 'Linear algebra, week 3');
	await p.click('#create-panel button[type=submit]');
	await p.waitForURL(/#\/m\/[a-z]{3}-[a-z]{4}-[a-z]{3}$/, { timeout: T });
	code = /#\/m\/([a-z]{3}-[a-z]{4}-[a-z]{3})$/.exec(p.url())[1];
	await p.waitForSelector('#conn-state:has-text("Live")', { timeout: T });
	assert((await p.innerText('#lobby-title')) === 'Linear algebra, week 3', 'title');
	assert((await p.innerText('#meeting-code')) === code, 'code shown');
	await p.waitForSelector('#end-meeting', { state: 'visible' });
	await p.waitForSelector('#call #join-call');
});

step('attendee signs in with the keyboard only', async () => {
	const p = alice.page;
	await p.goto(URL0 + '/');
	await p.waitForSelector('#login-username', { timeout: T });
	// the page heading has focus after navigation; Tab goes to the form
	assert(await p.evaluate(() => document.activeElement.tagName === 'H1'), 'heading focused');
	await p.keyboard.press('Tab');
	assert(await p.evaluate(() => document.activeElement.id === 'login-username'), 'Tab goes to the username');
	await p.keyboard.type('alice');
	await p.keyboard.press('Tab');
	assert(await p.evaluate(() => document.activeElement.id === 'login-password'), 'Tab goes to the password');
	await p.keyboard.type('pw-alice-browser');
	await p.keyboard.press('Enter');
	await p.waitForSelector('#join-code', { timeout: T });
});

step('join by a wrong code says so in place', async () => {
	const p = alice.page;
	const wrong = code === 'aaa-aaaa-aaa' ? 'bbb-bbbb-bbb' : 'aaa-aaaa-aaa';
	await p.fill('#join-code', wrong);
	await p.press('#join-code', 'Enter');
	const err = p.locator('#join-error');
	await err.waitFor({ state: 'visible', timeout: T });
	const t = await err.innerText();
	assert(/no meeting has this code/i.test(t), `error: ${t}`);
	assert((await p.getAttribute('#join-code', 'aria-invalid')) === 'true', 'field marked invalid');
	await p.fill('#join-code', '12ab');
	await p.press('#join-code', 'Enter');
	await p.waitForSelector('#join-error:has-text("A meeting code looks like abc-defg-hij.")', { timeout: T });
});

step('attendee joins by code; both see each other online', async () => {
	const p = alice.page;
	await p.fill('#join-code', code);
	await p.click('#join-panel button[type=submit]');
	await p.waitForURL(new RegExp(`#/m/${code}$`), { timeout: T });
	await p.waitForSelector('#conn-state:has-text("Live")', { timeout: T });
	const oc = await cardOf(olga.page, 'Alice Attendee');
	await oc.locator('.status.on').waitFor({ timeout: T });
	await (await cardOf(p, 'Olga Organiser')).locator('.badge:has-text("Organiser")').waitFor({ timeout: T });
	await olga.page.waitForSelector('#feed .notice:has-text("Alice Attendee joined")', { timeout: T });
	assert(!(await p.isVisible('#end-meeting')), 'attendees have no End meeting');
	assert(await p.locator('#people button:has-text("Ban")').count() === 0, 'attendees have no Ban');
	assert(await olga.page.locator('#people button[aria-label="Ban Alice Attendee"]').count() === 1, 'organiser can ban');
});

step('chat both ways', async () => {
	await olga.page.fill('#chat-input', 'Welcome, everyone!');
	await olga.page.press('#chat-input', 'Enter');
	await alice.page.waitForSelector('#feed .msg:has-text("Welcome, everyone!")', { timeout: T });
	await alice.page.fill('#chat-input', 'Hello <b>Olga</b> & co');
	await alice.page.click('#chat-send');
	await olga.page.waitForSelector('#feed .msg:has-text("Hello <b>Olga</b> & co")', { timeout: T });
	assert(await olga.page.locator('#feed b').count() === 0, 'chat text is not markup');
	assert((await alice.page.inputValue('#chat-input')) === '', 'input cleared after sending');
	await shot(olga.page, 'lobby-organiser.png');
	await shot(alice.page, 'lobby-attendee.png');
});

step('recording: the attendee\'s card turns red, names the program, and a notice appears within a second', async () => {
	agent = new Agent();
	await agent.opened;
	// "users": the local users with a graphical session on the machine (makes alice monitored)
	agent.send({ type: 'hello', v: 1, machine: 'lab-12', boot_id: 'b00t-browser', agent_version: 'test', layers: ['exec'], users: ['alice'] });
	await agent.next('welcome');
	const t0 = Date.now();
	const ev = agent.capture('capture.begin', 'alice');
	const card = await cardOf(olga.page, 'Alice Attendee');
	await olga.page.waitForSelector('#people li.card.recording[data-recording="true"]', { timeout: T });
	const dt = Date.now() - t0;
	assert((await agent.next('ack')).id === ev.id, 'acked');
	const text = await card.innerText();
	assert(/Recording the screen with ffmpeg/.test(text), `card text: ${text}`);
	assert(/lab-12/.test(text), 'machine named');
	assert(await card.locator('.rec-line svg').count() >= 1, 'an icon, not colour alone');
	const bg = await card.evaluate((el) => getComputedStyle(el).backgroundColor);
	assert(bg === 'rgb(253, 227, 225)', `red card background: ${bg}`);
	await olga.page.waitForSelector('#feed .notice.rec:has-text("Alice Attendee started recording the screen with ffmpeg")', { timeout: T });
	assert((await olga.page.innerText('#alert-live')).includes('started recording'), 'announced in the alert region');
	assert(await olga.page.locator('#people li.card').first().evaluate((el) => el.classList.contains('recording')) ||
		await olga.page.locator('#people li.card').nth(1).evaluate((el) => el.classList.contains('recording')), 'recording card sorted up');
	console.log(`# card red ${dt} ms after capture.begin was sent`);
	assert(dt < 1500, `alert took ${dt} ms`);
	await shot(olga.page, 'lobby-recording-alert.png');
});

step('recording end: the card is normal again and the chat says so', async () => {
	agent.capture('capture.end', 'alice', { duration_ms: 4000, calls: 100 });
	await agent.next('ack');
	await olga.page.waitForSelector('#feed .notice:has-text("Alice Attendee stopped recording")', { timeout: T });
	await olga.page.waitForFunction(() => !document.querySelector('#people li.card.recording'), null, { timeout: T });
});

step('monitored / unmonitored: shown on the attendee\'s card in words, with a notice to the organiser', async () => {
	// alice is reported by the agent's hello (users: ["alice"]): monitored
	const card = await cardOf(olga.page, 'Alice Attendee');
	await card.locator('.badge:has-text("Monitored")').waitFor({ timeout: 3000 }).catch(() => {
		throw new Error('no "Monitored" badge: the server does not send the attendee field "monitored" or the "monitor" event yet (docs/protocol.md)');
	});
	assert((await card.getAttribute('data-monitored')) === 'true', 'data-monitored=true');
	// the agent goes away: alice is no longer monitored, at once, for everyone
	agent.close();
	await card.locator('.badge:has-text("Unmonitored")').waitFor({ timeout: T });
	assert(/agent on their computer disconnected/.test(await card.innerText()), `reason in words: ${await card.innerText()}`);
	assert(await card.evaluate((el) => el.classList.contains('unmonitored')), 'amber card');
	await (await cardOf(alice.page, 'Alice Attendee (you)')).locator('.badge:has-text("Unmonitored")').waitFor({ timeout: T });
	await olga.page.waitForSelector('#feed .notice.warn:has-text("Alice Attendee is no longer monitored")', { timeout: T });
	assert(await alice.page.locator('#feed .notice:has-text("no longer monitored")').count() === 0, 'the notice is for organisers');
	assert(await olga.page.locator('#people .card:has-text("Olga Organiser") .badge:has-text("monitored")').count() === 0, 'no badge on organisers');
	await shot(olga.page, 'lobby-unmonitored.png');
});

step('the lobby reconnects by itself after the server restarts, and nothing is lost or doubled', async () => {
	const pidfile = process.env.SPHINX_PIDFILE;
	const pid = Number(fs.readFileSync(pidfile, 'utf8'));
	serverRestarting = true;
	process.kill(pid, 'SIGTERM');
	await olga.page.waitForSelector('#conn-state:has-text("Offline"), #conn-state:has-text("Reconnecting")', { timeout: T });
	await olga.page.waitForSelector('#lobby-banner:has-text("connection to the server was lost")', { timeout: T });
	for (let i = 0; i < 100; i++) { try { process.kill(pid, 0); await sleep(50); } catch (e) { break; } }
	// written while the server is down: waits as "sending…", goes out once on reconnection
	await olga.page.fill('#chat-input', 'Written while offline');
	await olga.page.press('#chat-input', 'Enter');
	await olga.page.waitForSelector('#feed .msg.pending:has-text("Written while offline")', { timeout: T });
	const args = Buffer.from(process.env.SPHINX_SERVER_ARGS, 'base64').toString().split('\0').filter(Boolean);
	const log = fs.openSync(process.env.SPHINX_SERVER_LOG, 'a');
	const srv = spawn(process.env.SPHINX_BIN, args, { stdio: ['ignore', log, log], detached: true });
	srv.unref();
	fs.writeFileSync(pidfile, String(srv.pid));
	await olga.page.waitForSelector('#conn-state:has-text("Live")', { timeout: 20000 });
	await alice.page.waitForSelector('#conn-state:has-text("Live")', { timeout: 20000 });
	serverRestarting = false;
	assert(await olga.page.locator('#feed .msg:has-text("Welcome, everyone!")').count() === 1, 'chat history kept, no duplicate');
	await alice.page.waitForSelector('#feed .msg:has-text("Written while offline")', { timeout: T });
	await olga.page.waitForFunction(() => !document.querySelector('#feed .msg.pending'), null, { timeout: T });
	await olga.page.fill('#chat-input', 'Marker after the resend');
	await olga.page.press('#chat-input', 'Enter');
	await alice.page.waitForSelector('#feed .msg:has-text("Marker after the resend")', { timeout: T });
	for (const u of [olga, alice])
		assert(await u.page.locator('#feed .msg:has-text("Written while offline")').count() === 1, `${u.name}: the offline line once`);
	await olga.page.fill('#chat-input', 'Still there after the restart?');
	await olga.page.press('#chat-input', 'Enter');
	await alice.page.waitForSelector('#feed .msg:has-text("Still there after the restart?")', { timeout: T });
	await (await cardOf(olga.page, 'Alice Attendee')).locator('.status.on').waitFor({ timeout: T });
	assert(!(await olga.page.isVisible('#lobby-banner .banner, #lobby-banner:has-text("lost")')), 'banner gone');
});

step('the 2-party call reaches "connected" on both sides; the organiser\'s video is the main one', async () => {
	await olga.page.click('#join-call');
	await olga.page.waitForSelector('#leave-call', { timeout: T });
	await alice.page.click('#join-call');
	const aliceId = await (await cardOf(olga.page, 'Alice Attendee')).getAttribute('data-user');
	const olgaId = await (await cardOf(alice.page, 'Olga Organiser')).getAttribute('data-user');
	await olga.page.waitForSelector(`#call-peers [data-peer="${aliceId}"][data-peer-state="connected"]`, { timeout: 20000 });
	await alice.page.waitForSelector(`#call-peers [data-peer="${olgaId}"][data-peer-state="connected"]`, { timeout: 20000 });
	await alice.page.waitForFunction(() => { const v = document.querySelector('#main-video video'); return v && v.videoWidth > 0; }, null, { timeout: T });
	assert(/Olga Organiser \(organiser\)/.test(await alice.page.innerText('#main-video')), 'attendee sees the organiser as main video');
	assert(/You \(organiser\)/.test(await olga.page.innerText('#main-video')), 'organiser sees self as main');
	// attendees' video on demand
	assert(await olga.page.locator('#call [data-video-of]').count() === 0, 'attendee video hidden until asked for');
	await olga.page.click('button[aria-label="Show the video of Alice Attendee"]', { timeout: T });
	await olga.page.waitForFunction((id) => { const v = document.querySelector(`[data-video-of="${id}"] video`); return v && v.videoWidth > 0; }, aliceId, { timeout: T });
	await shot(olga.page, 'lobby-call-organiser.png');
	await shot(alice.page, 'lobby-call-attendee.png');
});

step('no camera: a clear message in the call panel, not a blank page', async () => {
	carol = await newUser('carol', { noCamera: true, viewport: { width: 360, height: 740 } });
	await signIn(carol);
	await carol.page.waitForSelector('#join-code', { timeout: T });
	await carol.page.fill('#join-code', code);
	await carol.page.press('#join-code', 'Enter');
	await carol.page.waitForSelector('#conn-state:has-text("Live")', { timeout: T });
	await carol.page.click('#join-call');
	const msg = carol.page.locator('#media-error');
	await msg.waitFor({ timeout: T });
	assert(/No camera or microphone was found/.test(await msg.innerText()), 'message');
	assert(await carol.page.locator('#leave-call').isVisible(), 'in the call, receive-only');
	const olgaId = await (await cardOf(carol.page, 'Olga Organiser')).getAttribute('data-user');
	await carol.page.waitForSelector(`#call-peers [data-peer="${olgaId}"][data-peer-state="connected"]`, { timeout: 20000 });
	await carol.page.waitForFunction(() => { const v = document.querySelector('#main-video video'); return v && v.videoWidth > 0; }, null, { timeout: T });
});

step('readable at 360 px: nothing wider than the screen', async () => {
	const w = await carol.page.evaluate(() => document.documentElement.scrollWidth);
	assert(w <= 360, `page is ${w} px wide at 360`);
	await shot(carol.page, 'lobby-360px.png');
	await carol.page.click('#leave-call');
	await carol.page.click('#leave-lobby');
	await carol.page.waitForSelector('#join-code', { timeout: T });
	const w2 = await carol.page.evaluate(() => document.documentElement.scrollWidth);
	assert(w2 <= 360, `home is ${w2} px wide at 360`);
	await shot(carol.page, 'home-360px.png');
});

step('attendee cannot open the recording log', async () => {
	const p = alice.page;
	await p.goto(`${URL0}/#/m/${code}/details`);
	await p.waitForSelector('#organisers-only', { timeout: T });
	assert(await p.locator('#recordings-table, #attendance-table, #timeline').count() === 0, 'no log on the page');
	const r = await p.evaluate(async (c) => { const x = await fetch(`/api/meetings/${c}/recordings`); return { s: x.status, b: await x.json() }; }, code);
	assert(r.s === 403 && r.b.error === 'organisers_only', `server refuses: ${JSON.stringify(r)}`);
	await p.goto(`${URL0}/#/m/${code}`);
	await p.waitForSelector('#conn-state:has-text("Live")', { timeout: T });
});

step('organiser: details page with attendance, recording log, timeline and CSV export', async () => {
	const ctx = olga.ctx;
	const p = await ctx.newPage();	// the lobby stays open in the first tab
	await p.goto(`${URL0}/#/m/${code}/details`);
	await p.waitForSelector('#attendance-table', { timeout: T });
	const att = await p.innerText('#attendance-table');
	for (const who of ['Olga Organiser', 'Alice Attendee', 'Carol Nocam'])
		assert(att.includes(who), `attendance lists ${who}`);
	assert(/still here/.test(att), 'online people are "still here"');
	const rec = await p.innerText('#recordings-table');
	assert(/Alice Attendee/.test(rec) && /ffmpeg/.test(rec) && /ffmpeg grabbing the X11 screen/.test(rec) && /lab-12/.test(rec), `log: ${rec}`);
	assert(await p.locator('#timeline rect[fill="#c4211a"]').count() === 1, 'one recording bar on the timeline');
	const [dl] = await Promise.all([p.waitForEvent('download'), p.click('#recordings-csv')]);
	const csv = fs.readFileSync(await dl.path(), 'utf8');
	assert(/^\ufeff?name,local_user,kind,program/.test(csv) && /Alice Attendee,alice,recording,ffmpeg/.test(csv), `csv: ${csv.slice(0, 300)}`);
	const [dl2] = await Promise.all([p.waitForEvent('download'), p.click('#attendance-csv')]);
	const csv2 = fs.readFileSync(await dl2.path(), 'utf8');
	assert(/Alice Attendee,alice@example.org,no,/.test(csv2), `attendance csv: ${csv2.slice(0, 300)}`);
	await shot(p, 'details-organiser.png');
	await p.close();
});

step('ban: the attendee is sent home, told why, and cannot rejoin', async () => {
	const o = olga.page;
	await o.click('button[aria-label="Ban Alice Attendee"]');
	await o.waitForSelector('dialog[open] #ban-reason', { timeout: T });
	await o.fill('#ban-reason', 'recording the lecture');
	await o.click('dialog[open] button[type=submit]');
	await o.waitForSelector('#feed .notice:has-text("Alice Attendee was banned by Olga Organiser: recording the lecture")', { timeout: T });
	assert(await o.locator('#people li.card', { hasText: 'Alice Attendee' }).count() === 0, 'card removed');
	const a = alice.page;
	await a.waitForSelector('#flash', { timeout: T });
	assert(/banned from “Linear algebra, week 3”\. Reason: recording the lecture/.test(await a.innerText('#flash')), `flash: ${await a.innerText('#flash')}`);
	await a.fill('#join-code', code);
	await a.press('#join-code', 'Enter');
	await a.waitForSelector('#join-error:has-text("banned")', { timeout: T });
	await a.goto(`${URL0}/#/m/${code}`);
	await a.waitForSelector('#lobby-error:has-text("banned")', { timeout: T });
});

step('organiser ends the meeting and lands on its details', async () => {
	const o = olga.page;
	await o.click('#end-meeting');
	await o.click('dialog[open] button[type=submit]');
	await o.waitForURL(new RegExp(`#/m/${code}/details$`), { timeout: T });
	await o.waitForSelector('.details-meta:has-text("Ended")', { timeout: T });
});

step('external meeting: the lobby links to it; a link the server refuses is explained in words; projector size', async () => {
	const p = olga.page;
	await p.goto(URL0 + '/#/');
	await p.waitForSelector('#create-title', { timeout: T });
	await p.fill('#create-title', 'Seminar on Meet');
	await p.check('#where-link');
	await p.fill('#create-link', 'https://meet.google.com/abc-"defg');
	await p.click('#create-panel button[type=submit]');
	const err = p.locator('#create-error');
	await err.waitFor({ state: 'visible', timeout: T });
	const t = await err.innerText();
	assert(/link/i.test(t) && !/HTTP 400/.test(t), `server's reason shown: ${t}`);
	await p.fill('#create-link', 'https://meet.google.com/abc-defg-hij');
	await p.click('#create-panel button[type=submit]');
	await p.waitForSelector('#external-link', { timeout: T });
	assert((await p.getAttribute('#external-link', 'href')) === 'https://meet.google.com/abc-defg-hij', 'link');
	assert(/Open Google Meet/.test(await p.innerText('#external-link')), 'names the service');
	assert(await p.locator('#call').count() === 0, 'no in-app call');
	await p.setViewportSize({ width: 1920, height: 1080 });
	await p.waitForSelector('#conn-state:has-text("Live")', { timeout: T });
	const fs0 = await p.evaluate(() => getComputedStyle(document.documentElement).fontSize);
	assert(fs0 === '18px', `larger text on a projector-size screen: ${fs0}`);
	await shot(p, 'lobby-external-1920.png');
});

step('"Sign in with <provider>" (OpenID Connect); a refused ID token is explained on the sign-in page', async () => {
	// a second server, configured for the fake provider of the server tests
	const { FakeOidc } = require('../node/fake_oidc');
	const os = require('os');
	const idp = await new FakeOidc().start();
	const port = await new Promise((res) => { const x = require('net').createServer().listen(0, '127.0.0.1', () => { const p = x.address().port; x.close(() => res(p)); }); });
	const data = fs.mkdtempSync(path.join(os.tmpdir(), 'sphinx-browser-oidc-'));
	const base = `http://127.0.0.1:${port}`;
	const srv = spawn(process.env.SPHINX_BIN, ['--data', data, '--port', String(port), '--bind', '127.0.0.1', '--web', path.resolve(__dirname, '../../server/web'),
		'-o', `oidc_issuer=${idp.issuer}`, '-o', 'oidc_client_id=sphinx-test', '-o', 'oidc_client_secret=test-secret', '-o', `public_url=${base}`],
	{ stdio: 'ignore' });
	const u = await newUser('ada');
	try {
		for (let i = 0; i < 100; i++) { try { if ((await fetch(base + '/api/health')).ok) break; } catch (e) { /* not yet */ } await sleep(50); }
		await u.page.goto(base + '/');
		const btn = u.page.locator('#oidc-signin');
		await btn.waitFor({ timeout: T });
		assert(/Sign in with single sign-on/.test(await btn.innerText()), `button: ${await btn.innerText()}`);
		await shot(u.page, 'signin-oidc.png');
		idp.mode = 'wrong_aud';
		await btn.click();
		await u.page.waitForSelector('#signin-error', { timeout: T });
		const t = await u.page.innerText('#signin-error');
		assert(/Sign-in was refused: ID token refused: wrong audience/.test(t), `error in words: ${t}`);
		idp.mode = 'ok';
		await u.page.click('#oidc-signin');
		await u.page.waitForSelector('h1:has-text("Your meetings")', { timeout: T });
		assert(/Ada Lovelace/.test(await u.page.innerText('#topbar-user')), 'signed in as the provider\'s user');
	} finally {
		await u.ctx.close();
		srv.kill('SIGTERM');
		idp.stop();
		fs.rmSync(data, { recursive: true, force: true });
	}
});

step('no script errors in the pages', async () => {
	const errs = [olga, alice, carol].filter(Boolean).flatMap((u) => u.page.errors.map((e) => `${u.name}: ${e}`));
	assert(errs.length === 0, errs.join('\n'));
});

// ====================================================================== run
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
			for (const u of [olga, alice, carol].filter(Boolean)) {
				try { await shot(u.page, `failure-${n}-${u.name}.png`); } catch (e2) { /* page gone */ }
			}
			if (!/monitored/.test(s.name))
				stop = true;
		}
	}
	console.log(`1..${n}`);
	console.log(`# ${((Date.now() - t0) / 1000).toFixed(1)} s; screenshots: ${shots.map((f) => path.relative(process.cwd(), f)).join(', ')}`);
	if (agent) agent.close();
	if (browser) await browser.close();
	process.exit(failed ? 1 : 0);
})();
