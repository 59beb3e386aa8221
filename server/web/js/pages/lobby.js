// SPDX-License-Identifier: GPL-2.0-only
// The lobby: meeting header (title, code with a copy button, external link),
// attendee cards (online, monitored, recording in red with the program's
// name), the chat with system notices, organiser controls (ban, end) and, for
// in-app meetings, the video call.
//
// State comes from the lobby socket: the snapshot replaces it, live events
// (offset above the snapshot's) update it, and replayed events (offset at or
// below) only add their notice to the chat, since the snapshot already holds
// their effect.
//
// A lecture has 1 000 people, so the page never holds or draws all of them at
// once: the snapshot brings the first page of people (server order:
// organisers, then online, then the others, by name then id) and the counts;
// scrolling the list to its end loads the next page from
// GET /api/meetings/:code/people. A `presence` event (at most one per server
// tick) updates the counts, and the people it names only when they fall
// within what is loaded. People recording the screen are pinned above the
// list whether or not their page is loaded. Each change redraws only the
// cards it touches. Older chat loads on scrolling the chat up. A chat line
// carries a client id (cid) and stays "sending" until its echo arrives; after
// a reconnection the unacknowledged lines are sent again with the same cid and
// the server answers a line it already stored with chat.stored.
import { api, ApiError } from '../api.js';
import { Call } from '../call.js';
import { LobbySocket } from '../lobby-socket.js';
import { avatar, button, clear, clock, duration, h, isoTime, linkService, sentence, setTitle, showError, when } from '../dom.js';
import { icon } from '../icons.js';
import { CHAT_MAX, CLOSE_BANNED, CLOSE_MEETING_ENDED, CLOSE_SIGNED_OUT, CLOSE_TOO_MANY_SOCKETS } from '../proto.js';

const PAGE = 100;		/* people per page loaded on scroll */
const CHAT_PAGE = 50;		/* older chat lines per load */

export async function render(main, [code], app) {
	setTitle(`Lobby ${code}`);
	const head = h('h1', null, 'Opening the lobby…');
	main.append(h('div', { class: 'page-head' }, head));

	/* Join first: it makes us a member and turns "banned", "ended", "unknown" into words. */
	let joined;
	try {
		joined = await api('POST', '/api/meetings/join', { code });
	} catch (e) {
		if (e instanceof ApiError && e.status === 401)
			throw e;
		head.textContent = e.code === 'meeting_ended' ? 'This meeting has ended' : 'Cannot open this lobby';
		setTitle('Cannot open the lobby');
		main.append(h('div', { class: 'banner banner-error', role: 'alert', id: 'lobby-error' }, icon('alert'),
			h('div', null, h('p', null, sentence(e.message)),
				h('p', null, e.code === 'meeting_ended' ? h('a', { href: `#/m/${code}/details` }, 'See the meeting details') : null,
					e.code === 'meeting_ended' ? ' · ' : null, h('a', { href: '#/' }, 'Back to your meetings')))));
		return null;
	}
	clear(main);
	const lobby = new Lobby(main, code, joined.meeting, app);
	return () => lobby.destroy();
}

class Lobby {
	constructor(main, code, meeting, app) {
		this.main = main;
		this.code = code;
		this.app = app;
		this.meeting = meeting;
		this.you = { id: app.user().id, name: app.user().name, organiser: meeting.role === 'organiser' };
		this.people = new Map();	/* id -> person: loaded, pinned or named by an event */
		this.order = [];		/* ids of the loaded people, in server order */
		this.loadedIds = new Set();
		this.next = null;		/* cursor of the next page, null at the end */
		this.counts = { total: 0, online: 0 };
		this.gen = 0;			/* bumped by each snapshot: late pages are dropped */
		this.pending = new Map();	/* cid -> {text, node}: chat lines not yet echoed */
		this.chatMore = false;
		this.feedKeys = new Set();
		this.feedItems = [];
		this.snapOffset = -1;
		this.synced = false;
		this.shownVideo = new Set();
		this.videos = new Map();
		this.audios = new Map();
		this.build();
		this.sock = new LobbySocket(code, {
			message: (m) => this.onMessage(m),
			state: (s, d) => this.onState(s, d),
		});
		if (this.meeting.in_app)
			this.call = new Call({
				me: this.you,
				send: (to, kind, data) => this.sock.send({ type: 'signal', to, kind, data }),
				onchange: () => this.renderCall(),
			});
		this.onUnload = () => this.destroy();
		window.addEventListener('pagehide', this.onUnload);
	}

	destroy() {
		if (this.destroyed)
			return;
		this.destroyed = true;
		window.removeEventListener('pagehide', this.onUnload);
		this.pageObserver.disconnect();
		if (this.call)
			this.call.leave();
		this.sock.close();
		for (const d of this.main.querySelectorAll('dialog'))
			d.remove();
	}

	/* ------------------------------------------------------------ layout */
	build() {
		const m = this.meeting;
		this.titleEl = h('h1', { id: 'lobby-title' }, m.title);
		this.connEl = h('span', { class: 'conn-state off', id: 'conn-state', role: 'status' }, h('span', { class: 'dot' }), h('span', null, 'Connecting…'));
		this.copyBtn = button('Copy code', { icon: 'copy', class: 'btn btn-small', id: 'copy-code', 'aria-describedby': 'meeting-code' });
		this.copyBtn.addEventListener('click', () => this.copyCode());
		const meta = h('div', { class: 'lobby-meta' },
			h('span', { class: 'code-box' }, h('span', null, 'Code'), h('span', { class: 'code', id: 'meeting-code' }, this.code), this.copyBtn),
			this.connEl);
		this.endBtn = button('End meeting', { icon: 'end', class: 'btn btn-danger', id: 'end-meeting' });
		this.endBtn.addEventListener('click', () => this.confirmEnd());
		const actions = h('div', { class: 'lobby-actions' },
			h('a', { class: 'btn', href: `#/m/${this.code}/details`, id: 'details-link' }, icon('list'), h('span', null, 'Details')),
			this.endBtn,
			h('a', { class: 'btn', href: '#/', id: 'leave-lobby' }, icon('leave'), h('span', null, 'Leave')));
		this.banner = h('div', { id: 'lobby-banner', role: 'alert' });
		this.alertRegion = h('div', { class: 'visually-hidden', role: 'alert', id: 'alert-live' });

		this.pinnedList = h('ul', { class: 'people pinned', id: 'people-pinned', 'aria-label': 'Recording the screen now', hidden: true });
		this.peopleList = h('ul', { class: 'people', id: 'people-list', 'aria-labelledby': 'people-h' });
		this.sentinel = h('div', { class: 'people-more small muted', id: 'people-more', 'aria-live': 'polite' });
		this.peopleBox = h('div', { class: 'people-scroll', id: 'people', tabindex: '0', 'aria-labelledby': 'people-h' },
			this.pinnedList, this.peopleList, this.sentinel);
		this.peopleCount = h('span', { class: 'muted', id: 'people-count', role: 'status' });
		const peoplePanel = h('section', { class: 'panel', 'aria-labelledby': 'people-h' },
			h('div', { class: 'panel-head' }, h('h2', { id: 'people-h' }, 'People'), this.peopleCount),
			this.peopleBox);
		this.pageObserver = new IntersectionObserver((ents) => {
			if (ents.some((e) => e.isIntersecting))
				this.loadMorePeople();
		}, { root: this.peopleBox, rootMargin: '200px' });
		this.pageObserver.observe(this.sentinel);

		const left = h('div', { class: 'lobby-left' });
		if (m.in_app) {
			this.callPanel = h('section', { class: 'panel call', id: 'call', 'aria-labelledby': 'call-h' });
			left.append(this.callPanel);
		} else if (m.link) {
			const svc = linkService(m.link);
			left.append(h('section', { class: 'panel', id: 'external', 'aria-labelledby': 'ext-h' },
				h('h2', { id: 'ext-h' }, `This meeting happens on ${svc}`),
				h('p', null, 'Keep this lobby open beside it: it shows who is here and who records the screen.'),
				h('p', null, h('a', { class: 'btn btn-primary', href: m.link, target: '_blank', rel: 'noopener noreferrer', id: 'external-link' },
					icon('external'), h('span', null, `Open ${svc}`), h('span', { class: 'visually-hidden' }, ' (opens in a new tab)'))),
				h('p', { class: 'small muted' }, h('span', { class: 'mono' }, m.link))));
		}
		left.append(peoplePanel);

		this.feed = h('ol', { class: 'feed', id: 'feed', role: 'log', 'aria-live': 'polite', 'aria-busy': 'true', 'aria-labelledby': 'chat-h', tabindex: '0' });
		this.feed.addEventListener('scroll', () => {
			if (this.feed.scrollTop < 40)
				this.loadOlderChat();
		}, { passive: true });
		this.chatInput = h('textarea', { id: 'chat-input', rows: '1', maxlength: String(CHAT_MAX), 'aria-describedby': 'chat-hint chat-error',
			placeholder: 'Write a message' });
		this.chatErr = h('div', { class: 'form-error', role: 'alert', id: 'chat-error', hidden: true });
		const chatForm = h('form', { id: 'chat-form', 'aria-label': 'Send a chat message' },
			h('label', { for: 'chat-input', class: 'visually-hidden' }, 'Message'), this.chatInput,
			h('button', { type: 'submit', class: 'btn btn-primary', id: 'chat-send' }, icon('send'), h('span', null, 'Send')));
		chatForm.addEventListener('submit', (ev) => { ev.preventDefault(); this.sendChat(); });
		this.chatInput.addEventListener('keydown', (ev) => {
			if (ev.key === 'Enter' && !ev.shiftKey && !ev.isComposing) {
				ev.preventDefault();
				this.sendChat();
			}
		});
		const chat = h('section', { class: 'panel chat', id: 'chat', 'aria-labelledby': 'chat-h' },
			h('h2', { id: 'chat-h' }, 'Chat'), this.feed, this.chatErr, chatForm,
			h('p', { class: 'visually-hidden', id: 'chat-hint' }, 'Enter sends, Shift+Enter starts a new line.'));

		this.main.append(
			h('div', { class: 'lobby-head' }, h('div', null, this.titleEl, meta), actions),
			this.banner, this.alertRegion,
			h('div', { class: 'lobby-grid' }, left, chat));
		this.updateHeader();
		setTitle(m.title);
	}

	updateHeader() {
		this.titleEl.textContent = this.meeting.title;
		this.endBtn.hidden = !this.you.organiser;
	}

	setBanner(kind, text, extra) {
		clear(this.banner);
		this.banner.className = '';
		if (!text)
			return;
		this.banner.className = `banner banner-${kind}`;
		this.banner.append(icon(kind === 'info' ? 'info' : 'alert'), h('div', null, h('p', null, text), extra || null));
	}

	/* ------------------------------------------------------------ socket */
	onState(state, detail) {
		const label = this.connEl.lastChild;
		if (state === 'open') {
			this.connEl.className = 'conn-state';
			label.textContent = 'Live';
			if (this.wasDown)
				this.setBanner(null);
			this.wasDown = false;
			return;
		}
		this.connEl.className = 'conn-state off';
		if (state === 'connecting') {
			label.textContent = detail ? 'Reconnecting…' : 'Connecting…';
		} else if (state === 'retry') {
			this.wasDown = true;
			label.textContent = 'Offline';
			const again = button('Reconnect now', { class: 'btn btn-small', onclick: () => this.sock.reconnectNow() });
			this.setBanner('warn', `The connection to the server was lost. Reconnecting in ${detail} s…`, again);
			this.checkSession();
		} else if (state === 'closed') {
			label.textContent = 'Disconnected';
			this.onFinalClose(detail);
		}
	}

	/* A refused upgrade (expired session) looks like any drop: ask the API. */
	async checkSession() {
		try {
			await api('GET', '/api/me');
		} catch (e) {
			if (e instanceof ApiError && e.status === 401 && !this.destroyed) {
				this.destroy();
				this.app.needSignIn();
			}
		}
	}

	onFinalClose({ code, reason, error }) {
		if (this.destroyed)
			return;
		const msg = error && error.message ? sentence(error.message) : sentence(reason || 'the server closed the lobby');
		switch (code) {
		case CLOSE_BANNED:
			this.leaveWith('error', this.bannedText || `You were banned from “${this.meeting.title}”.`);
			return;
		case CLOSE_MEETING_ENDED:
			if (this.you.organiser) {
				this.destroy();
				this.app.go(`/m/${this.code}/details`);
			} else {
				this.leaveWith('info', this.endedText || `The meeting “${this.meeting.title}” has ended.`);
			}
			return;
		case CLOSE_SIGNED_OUT:
			this.destroy();
			this.app.needSignIn();
			return;
		case CLOSE_TOO_MANY_SOCKETS: {
			const retry = button('Try again', { class: 'btn btn-small', onclick: () => this.app.go(`/m/${this.code}`) });
			this.setBanner('error', 'This meeting is open in too many tabs or windows. Close some of them, then try again.', retry);
			return;
		}
		default:
			this.setBanner('error', msg);
		}
	}

	leaveWith(kind, text) {
		this.destroy();
		this.app.flash(kind, text);
		this.app.go('/');
	}

	onMessage(m) {
		switch (m.type) {
		case 'lobby': return this.applySnapshot(m);
		case 'chat.stored':	/* a resent line the server had stored already */
			return this.onChatStored(m);
		case 'synced':
			this.synced = true;
			this.feed.setAttribute('aria-busy', 'false');
			return;
		case 'signal':
			if (this.call)
				this.call.signal(m.from, m.kind, m.data);
			return;
		case 'banned':
			this.bannedText = `You were banned from “${this.meeting.title}”${m.reason ? `. Reason: ${m.reason}` : ''}.`;
			return;
		case 'error': return this.onServerError(m);
		default:
			if (typeof m.offset === 'number')
				return this.onEvent(m);
		}
	}

	onServerError(m) {
		switch (m.code) {
		case 'peer_offline':	/* a call peer left between two signals: the leave event follows */
			return;
		case 'bad_message': case 'rate_limited': case 'internal':
			showError(this.chatErr, `Not sent: ${sentence(m.message)}`);
			return;
		default:
			if (['banned', 'meeting_ended', 'unknown_meeting', 'not_member', 'too_many_sockets'].includes(m.code))
				return;	/* the close that follows says it */
			this.setBanner('error', sentence(m.message || m.code));
		}
	}

	applySnapshot(s) {
		this.meeting = Object.assign({}, this.meeting, s.meeting);
		this.you = Object.assign(this.you, s.you);
		this.snapOffset = s.offset;
		this.gen++;
		this.loadingPeople = false;
		for (const p of this.people.values())
			if (p.el)
				p.el.remove();
		this.people.clear();
		this.order = [];
		this.loadedIds.clear();
		const page = s.attendees || [];
		if (s.people) {
			this.counts = { total: s.people.total, online: s.people.online };
			this.next = s.people.next ?? null;
		} else {	/* a server without paging sends everyone */
			this.counts = { total: page.length, online: page.filter((p) => p.online).length };
			this.next = null;
		}
		for (const p of s.flagged || [])
			this.merge(p);
		this.addPage(page);
		for (const u of s.flagged || [])
			this.draw(this.people.get(u.id));
		for (const c of s.chat || []) {
			if (c.kind === 'system')
				this.addSystem(c.id, c.text, c.at);
			else
				this.addChat(c.id, c.user_id, c.name, c.text, c.at, c.cid);
		}
		this.chatMore = !!s.chat_more;
		/* a chat too short to scroll could never ask for older lines */
		if (this.chatMore && this.feed.scrollHeight <= this.feed.clientHeight)
			this.loadOlderChat();
		this.updateHeader();
		this.updateCount();
		this.rearmPaging();
		/* lines the server never echoed: send again, the cid makes it idempotent */
		for (const [cid, pend] of this.pending)
			this.sock.send({ type: 'chat', text: pend.text, cid });
		if (this.call) {
			for (const id of [...this.call.peers.keys()])
				if (!this.isOnline(id))
					this.call.drop(id);
			this.renderCall();
		}
		if (this.synced)
			this.feed.setAttribute('aria-busy', 'false');
	}

	/* Create or update a person from a server person object; returns it. */
	merge(u) {
		let p = this.people.get(u.id);
		if (!p) {
			p = { id: u.id, name: u.name, picture: u.picture || null, organiser: false, banned: false,
				online: false, recordings: new Map(), el: null };
			this.people.set(u.id, p);
		}
		for (const k of ['name', 'picture', 'email', 'monitor_reason'])
			if (u[k] !== undefined)
				p[k] = u[k];
		for (const k of ['organiser', 'online', 'banned'])
			if (typeof u[k] === 'boolean')
				p[k] = u[k];
		if (typeof u.monitored === 'boolean') {
			p.monitored = u.monitored;
			p.monitor_reason = u.monitored ? null : u.monitor_reason || null;
		}
		if (Array.isArray(u.recordings)) {
			p.recordings = new Map();
			for (const r of u.recordings)
				if (r.end_at === null || r.end_at === undefined)
					p.recordings.set(r.id, r);
		}
		return p;
	}

	person(u) { return this.people.get(u.id) || this.merge(u); }

	/* A page of people in server order, after what is loaded (ids already loaded are skipped). */
	addPage(list) {
		for (const u of list) {
			const p = this.merge(u);
			if (this.loadedIds.has(p.id) || p.banned) {
				this.draw(p);
				continue;
			}
			this.loadedIds.add(p.id);
			this.order.push(p.id);
			this.draw(p);
		}
	}

	async loadMorePeople() {
		if (this.loadingPeople || this.next === null || this.destroyed)
			return;
		const gen = this.gen;
		this.loadingPeople = true;
		this.sentinel.textContent = 'Loading more people…';
		try {
			const r = await api('GET', `/api/meetings/${this.code}/people?after=${encodeURIComponent(this.next)}&limit=${PAGE}`);
			if (gen !== this.gen || this.destroyed)
				return;
			this.addPage(r.people || []);
			this.next = r.next ?? null;
			if (typeof r.total === 'number')
				this.counts = { total: r.total, online: r.online };
			this.updateCount();
		} catch (e) {
			if (gen === this.gen)
				this.sentinel.textContent = `Could not load more people: ${sentence(e.message)}`;
			return;
		} finally {
			if (gen === this.gen)
				this.loadingPeople = false;
		}
		this.rearmPaging();
	}

	/* Observe the sentinel afresh: the observer then reports it again if it is still in view. */
	rearmPaging() {
		this.sentinel.textContent = this.next === null ? '' : 'Scroll for more people';
		this.pageObserver.unobserve(this.sentinel);
		if (this.next !== null)
			this.pageObserver.observe(this.sentinel);
	}

	updateCount() {
		this.peopleCount.textContent = `${this.counts.online} online of ${this.counts.total}`;
	}

	/*
	 * A batch of arrivals and departures. Known people get their new state;
	 * an arrival we did not know is drawn only if it sorts inside what is
	 * loaded (otherwise its page brings it when scrolled to).
	 */
	applyPresence(e) {
		if (typeof e.total === 'number')
			this.counts = { total: e.total, online: e.online };
		for (const u of e.joined || []) {
			const p = this.merge(Object.assign({}, u, { online: true }));
			p.banned = false;
			this.reorder(p);
		}
		for (const id of e.left || []) {
			const p = this.people.get(id);
			if (!p)
				continue;
			p.online = false;
			this.shownVideo.delete(p.id);
			if (this.call)
				this.call.drop(p.id);
			this.reorder(p);
		}
		this.updateCount();
	}

	/* Put p where the server order says, if that is inside the loaded range. */
	reorder(p) {
		if (this.loadedIds.has(p.id)) {
			this.loadedIds.delete(p.id);
			this.order.splice(this.order.indexOf(p.id), 1);
		}
		const k = sortKey(p);
		const last = this.order.length ? this.people.get(this.order[this.order.length - 1]) : null;
		if (!p.banned && (this.next === null || (last && cmpKey(k, sortKey(last)) < 0))) {
			let lo = 0, hi = this.order.length;
			while (lo < hi) {
				const mid = (lo + hi) >> 1;
				if (cmpKey(sortKey(this.people.get(this.order[mid])), k) < 0)
					lo = mid + 1;
				else
					hi = mid;
			}
			this.order.splice(lo, 0, p.id);
			this.loadedIds.add(p.id);
		}
		this.draw(p, true);
	}

	isOnline(id) { const p = this.people.get(id); return !!(p && p.online && !p.banned); }

	/* One lobby event; history (offset <= snapshot) only adds its notice. */
	onEvent(e) {
		const live = e.offset > this.snapOffset;
		const key = `e${e.offset}`;
		if (e.type === 'chat') {
			if (e.kind === 'system' || !e.user)
				this.addSystem(e.id, e.text, e.ts);
			else
				this.addChat(e.id, e.user.id, e.user.name, e.text, e.ts, e.cid);
			return;
		}
		const n = notice(e, this.you);
		if (n && !this.feedKeys.has(key))
			this.addFeed({ key, at: e.ts, node: noticeNode(n, e.ts) });
		if (!live)
			return;
		this.snapOffset = e.offset;
		switch (e.type) {
		case 'presence':
			this.applyPresence(e);
			break;
		case 'join':	/* servers before batched presence */
			this.applyPresence({ joined: [e.user], total: this.counts.total + (this.people.has(e.user.id) ? 0 : 1), online: this.counts.online + 1 });
			break;
		case 'leave':
			this.applyPresence({ left: [e.user.id], total: this.counts.total, online: Math.max(0, this.counts.online - 1) });
			break;
		case 'recording.begin': {
			const r = e.recording;
			const p = this.person({ id: r.user_id, name: r.name });
			p.recordings.set(r.id, r);
			p.online = true;
			this.draw(p, true);
			if (n)
				this.alertRegion.textContent = n.text;
			break;
		}
		case 'recording.end': {
			const p = this.people.get(e.recording.user_id);
			if (p) {
				p.recordings.delete(e.recording.id);
				this.draw(p, true);
			}
			break;
		}
		case 'ban': {
			const p = this.person(e.user);
			p.banned = true;
			p.online = false;
			if (this.call)
				this.call.drop(p.id);
			this.reorder(p);
			break;
		}
		case 'organiser.add': {
			const p = this.person(e.user);
			p.organiser = true;
			if (e.user.id === this.you.id) {
				this.you.organiser = true;
				this.updateHeader();
				this.redrawAll();
			}
			this.reorder(p);
			break;
		}
		case 'monitor': {
			const p = this.person(e.user);
			p.monitored = !!e.monitored;
			p.monitor_reason = e.monitored ? null : e.reason || null;
			this.draw(p, true);
			break;
		}
		case 'meeting.end':
			this.endedText = `${e.by && e.by.name ? e.by.name : 'An organiser'} ended the meeting “${this.meeting.title}”.`;
			break;
		default:
			return;
		}
		if (this.call)
			this.renderCall();
	}

	/* ---------------------------------------------------------------- feed */
	addChat(id, userId, name, text, at, cid) {
		const key = `c${id}`;
		if (userId === this.you.id) {
			/* a server that does not echo cid: the oldest pending line with this text */
			const match = cid || [...this.pending].find(([, pend]) => pend.text === text)?.[0];
			if (match)
				this.clearPending(match);
		}
		if (this.feedKeys.has(key))
			return;
		const mine = userId === this.you.id;
		const node = h('li', { class: mine ? 'msg mine' : 'msg', 'data-key': key },
			h('span', { class: 'who' }, mine ? `${name} (you)` : name),
			h('time', { class: 'when', datetime: isoTime(at) }, clock(at)),
			h('div', { class: 'text' }, text));
		this.addFeed({ key, at, node, chatId: id });
	}

	/* A system chat row (e.g. "Alice is no longer monitored …"), sent by the server to organisers. */
	addSystem(id, text, at) {
		const key = `c${id}`;
		if (this.feedKeys.has(key))
			return;
		const warn = /no longer monitored|not monitored/i.test(text);
		this.addFeed({ key, at, chatId: id, node: noticeNode({ kind: warn ? 'warn' : '', icon: warn ? 'shieldOff' : 'shield', text: String(text).replace(/\.$/, '') }, at) });
		if (warn && this.synced)
			this.alertRegion.textContent = text;
	}

	addFeed(item) {
		this.feedKeys.add(item.key);
		const f = this.feed;
		const stick = f.scrollHeight - f.scrollTop - f.clientHeight < 60;
		const last = this.feedItems[this.feedItems.length - 1];
		this.feedItems.push(item);
		if (last && item.at < last.at) {
			this.feedItems.sort((a, b) => a.at - b.at);
			const i = this.feedItems.indexOf(item);
			f.insertBefore(item.node, this.feedItems[i + 1].node);
		} else {
			f.append(item.node);
		}
		if (stick || !this.synced)
			f.scrollTop = f.scrollHeight;
	}

	sendChat() {
		const text = this.chatInput.value;
		if (!text.trim()) {
			showError(this.chatErr, 'Write something first.');
			this.chatInput.focus();
			return;
		}
		if (new TextEncoder().encode(text).length > CHAT_MAX) {
			showError(this.chatErr, `A message can be at most ${CHAT_MAX} bytes long.`);
			return;
		}
		const cid = clientId();
		const node = h('li', { class: 'msg mine pending', 'data-cid': cid },
			h('span', { class: 'who' }, `${this.you.name} (you)`), h('span', { class: 'when' }, 'sending…'),
			h('div', { class: 'text' }, text));
		this.pending.set(cid, { text, node });
		this.feed.append(node);
		this.feed.scrollTop = this.feed.scrollHeight;
		if (!this.sock.send({ type: 'chat', text, cid }))
			showError(this.chatErr, 'Not connected: the message is sent when the lobby is “Live” again.');
		else
			showError(this.chatErr, null);
		this.chatInput.value = '';
		this.chatInput.focus();
	}

	clearPending(cid) {
		const pend = this.pending.get(cid);
		if (!pend)
			return null;
		this.pending.delete(cid);
		pend.node.remove();
		return pend;
	}

	/* The server had this line already (we resent it): show it as stored. */
	onChatStored(m) {
		const pend = this.clearPending(m.cid);
		if (pend && typeof m.id === 'number')
			this.addChat(m.id, this.you.id, this.you.name, pend.text, m.ts || Date.now(), null);
	}

	async loadOlderChat() {
		if (!this.chatMore || this.loadingChat || this.destroyed)
			return;
		const oldest = this.feedItems.find((it) => it.chatId !== undefined);
		if (!oldest)
			return;
		const gen = this.gen;
		this.loadingChat = true;
		try {
			const r = await api('GET', `/api/meetings/${this.code}/chat?before=${oldest.chatId}&limit=${CHAT_PAGE}`);
			if (gen !== this.gen || this.destroyed)
				return;
			const f = this.feed, below = f.scrollHeight - f.scrollTop;
			const synced = this.synced;
			this.synced = false;	/* no stick-to-bottom while prepending */
			for (const c of r.chat || []) {
				if (c.kind === 'system')
					this.addSystem(c.id, c.text, c.at);
				else
					this.addChat(c.id, c.user_id, c.name, c.text, c.at);
			}
			this.synced = synced;
			f.scrollTop = f.scrollHeight - below;	/* keep what the reader looked at in place */
			this.chatMore = !!r.more && (r.chat || []).length > 0;
			if (this.chatMore && f.scrollHeight <= f.clientHeight)
				queueMicrotask(() => this.loadOlderChat());
		} catch (e) {
			showError(this.chatErr, `Could not load older messages: ${sentence(e.message)}`);
		} finally {
			this.loadingChat = false;
		}
	}

	/* -------------------------------------------------------------- people */
	/*
	 * Draw one person where they belong: pinned when recording, in the list
	 * when loaded, nowhere otherwise. fresh: rebuild the card (state changed).
	 */
	draw(p, fresh = true) {
		const pinned = recording(p) && !p.banned;
		const listed = this.loadedIds.has(p.id) && !p.banned;
		if (!pinned && !listed) {
			if (p.el)
				p.el.remove();
			p.el = null;
			this.pinnedList.hidden = !this.pinnedList.firstChild;
			return;
		}
		const old = p.el;
		if (!old || fresh) {
			const focused = old && old.contains(document.activeElement) && document.activeElement.dataset.focusKey;
			p.el = this.card(p);
			if (old)
				old.replaceWith(p.el);
			if (focused) {
				const el = p.el.querySelector(`[data-focus-key="${focused}"]`);
				if (el)
					el.focus();
			}
		}
		if (pinned) {
			if (p.el.parentNode !== this.pinnedList)
				this.pinnedList.append(p.el);
		} else {
			/* before the next loaded person already in the list */
			const i = this.order.indexOf(p.id);
			let before = null;
			for (let j = i + 1; j < this.order.length && !before; j++) {
				const q = this.people.get(this.order[j]);
				if (q && q.el && q.el.parentNode === this.peopleList)
					before = q.el;
			}
			if (p.el.parentNode !== this.peopleList || p.el.nextSibling !== before)
				this.peopleList.insertBefore(p.el, before);
		}
		this.pinnedList.hidden = !this.pinnedList.firstChild;
	}

	/* Every drawn card again (call buttons, our role changed): bounded by what is loaded. */
	redrawAll() {
		for (const p of this.people.values())
			if (p.el)
				this.draw(p, true);
	}

	card(p) {
		const rec = recording(p);
		const me = p.id === this.you.id;
		const badges = h('div', { class: 'badges' });
		badges.append(h('span', { class: p.online ? 'status on' : 'status' }, h('span', { class: 'dot', 'aria-hidden': 'true' }),
			p.online ? 'Online' : 'Offline'));
		if (p.organiser)
			badges.append(h('span', { class: 'badge' }, icon('crown'), 'Organiser'));
		/* organisers are not watched: the badge is about attendees */
		const watch = !p.organiser && typeof p.monitored === 'boolean';
		if (watch && p.monitored)
			badges.append(h('span', { class: 'badge badge-ok' }, icon('shield'), 'Monitored'));
		else if (watch)
			badges.append(h('span', { class: 'badge badge-warn' }, icon('shieldOff'), 'Unmonitored'));
		const unwatched = watch && !p.monitored && p.online;
		const li = h('li', { class: `card ${rec ? 'recording' : unwatched ? 'unmonitored' : p.online ? 'online' : 'offline'}`, 'data-user': String(p.id),
			'data-recording': rec ? 'true' : 'false', 'data-monitored': p.monitored === undefined ? null : String(p.monitored) },
			avatar(p),
			h('div', null, h('div', { class: 'name' }, p.name || 'Unnamed', me ? ' (you)' : ''), badges,
				watch && !p.monitored ? h('div', { class: 'small monitor-why' }, monitorWhy(p.monitor_reason)) : null));
		if (rec) {
			const lines = [...p.recordings.values()].map((r) => {
				const what = r.kind === 'screenshot' ? `Took a screenshot with ${r.program || 'an unknown program'}`
					: `Recording the screen with ${r.program || 'an unknown program'}`;
				return h('div', null, h('div', null, what),
					h('div', { class: 'small' }, [r.rule_title, r.machine ? `on ${r.machine}` : null, r.start_at ? `since ${clock(r.start_at)}` : null]
						.filter(Boolean).join(' · ')));
			});
			li.append(h('div', { class: 'rec-line' }, icon('record'), h('div', null, h('span', { class: 'badge badge-rec' }, 'Recording'), ...lines)));
		}
		const actions = [];
		if (this.call && this.call.inCall && !me && !p.organiser) {
			const peer = this.call.peers.get(p.id);
			if (peer && peer.stream.getVideoTracks().length) {
				const shown = this.shownVideo.has(p.id);
				actions.push(button(shown ? 'Hide video' : 'Show video', { icon: 'eye', class: 'btn btn-small', 'aria-pressed': String(shown),
					'data-focus-key': `video-${p.id}`, 'aria-label': `${shown ? 'Hide' : 'Show'} the video of ${p.name}`,
					onclick: () => { shown ? this.shownVideo.delete(p.id) : this.shownVideo.add(p.id); this.renderCall(); this.redrawAll(); } }));
			}
		}
		if (this.you.organiser && !me && !p.organiser)
			actions.push(button('Make organiser', { icon: 'crown', class: 'btn btn-small', 'aria-label': `Make ${p.name} an organiser`,
				'data-focus-key': `org-${p.id}`, onclick: () => this.makeOrganiser(p) }));
		if (this.you.organiser && !me && !p.organiser)
			actions.push(button('Ban', { icon: 'ban', class: 'btn btn-small btn-danger', 'aria-label': `Ban ${p.name}`,
				'data-focus-key': `ban-${p.id}`, onclick: () => this.confirmBan(p) }));
		if (actions.length)
			li.append(h('div', { class: 'card-actions' }, actions));
		return li;
	}

	/* ------------------------------------------------------------ dialogs */
	dialog(titleText, body, confirmLabel, onConfirm, danger = true) {
		const err = h('div', { class: 'form-error', role: 'alert', hidden: true });
		const ok = h('button', { type: 'submit', class: danger ? 'btn btn-danger-solid' : 'btn btn-primary' }, confirmLabel);
		const cancel = h('button', { type: 'button', class: 'btn' }, 'Cancel');
		const id = `dlg-${Math.random().toString(36).slice(2)}`;
		const form = h('form', { method: 'dialog' }, h('h2', { id }, titleText), body, err, h('div', { class: 'form-actions' }, ok, cancel));
		const dlg = h('dialog', { 'aria-labelledby': id }, form);
		cancel.addEventListener('click', () => dlg.close());
		dlg.addEventListener('close', () => dlg.remove());
		form.addEventListener('submit', async (ev) => {
			ev.preventDefault();
			ok.disabled = true;
			showError(err, null);
			try {
				await onConfirm();
				dlg.close();
			} catch (e) {
				if (e instanceof ApiError && e.status === 401)
					return this.app.needSignIn();
				showError(err, e);
			} finally {
				ok.disabled = false;
			}
		});
		this.main.append(dlg);
		dlg.showModal();
		return dlg;
	}

	confirmBan(p) {
		const reason = h('textarea', { id: 'ban-reason', maxlength: '500', rows: '2' });
		this.dialog(`Ban ${p.name}?`, [
			h('p', null, `${p.name} will be removed from this meeting now and cannot join it again.`),
			h('div', { class: 'field' }, h('label', { for: 'ban-reason' }, 'Reason (optional, shown to them)'), reason),
		], 'Ban', () => api('POST', `/api/meetings/${this.code}/bans`, { user_id: p.id, reason: reason.value.trim() || undefined }));
	}

	makeOrganiser(p) {
		this.dialog(`Make ${p.name} an organiser?`, h('p', null, `${p.name} will be able to ban people, end the meeting and read the attendance and the recording log.`),
			'Make organiser', () => api('POST', `/api/meetings/${this.code}/organisers`, { user_id: p.id }), false);
	}

	confirmEnd() {
		this.dialog('End the meeting for everyone?', h('p', null, 'Everyone is sent out of the lobby and the call ends. The attendance and the recording log stay available under Details.'),
			'End meeting', async () => {
				try {
					await api('POST', `/api/meetings/${this.code}/end`, {});
				} catch (e) {
					if (e.code !== 'already')
						throw e;
				}
			});
	}

	async copyCode() {
		let ok = false;
		try {
			await navigator.clipboard.writeText(this.code);
			ok = true;
		} catch (e) {
			/* no clipboard API (plain http): select the code so Ctrl+C works */
			const range = document.createRange();
			range.selectNodeContents(this.main.querySelector('#meeting-code'));
			const sel = window.getSelection();
			sel.removeAllRanges();
			sel.addRange(range);
			try { ok = document.execCommand('copy'); } catch (e2) { ok = false; }
		}
		this.app.toast(ok ? `Code ${this.code} copied` : 'Could not copy: the code is selected, press Ctrl+C');
		this.copyBtn.lastChild.textContent = ok ? 'Copied' : 'Copy code';
		setTimeout(() => { this.copyBtn.lastChild.textContent = 'Copy code'; }, 2000);
	}

	/* ---------------------------------------------------------------- call */
	renderCall() {
		if (!this.callPanel || this.destroyed)
			return;
		const call = this.call;
		const panel = this.callPanel;
		const focused = document.activeElement && panel.contains(document.activeElement) && document.activeElement.dataset.focusKey;
		clear(panel);
		panel.append(h('h2', { id: 'call-h' }, 'Video call'));
		if (call.mediaError)
			panel.append(h('div', { class: 'banner banner-warn', role: 'alert', id: 'media-error' }, icon('cameraOff'), h('p', null, call.mediaError)));

		/* main: the organiser's video (mine when I organise and have a camera) */
		const organisers = [...this.people.values()].filter((p) => p.organiser && !p.banned);
		let mainId = null, mainStream = null;
		if (this.you.organiser && call.local && call.local.getVideoTracks().length) {
			mainId = this.you.id;
			mainStream = call.local;
		} else {
			for (const o of organisers) {
				const peer = call.peers.get(o.id);
				if (o.id !== this.you.id && peer && peer.stream.getVideoTracks().length) {
					mainId = o.id;
					mainStream = peer.stream;
					break;
				}
			}
		}
		const stage = h('div', { class: 'call-stage' });
		if (mainStream) {
			const who = mainId === this.you.id ? 'You (organiser)' : `${this.people.get(mainId).name} (organiser)`;
			stage.append(h('div', { class: 'video-main', id: 'main-video' }, this.video(mainId, mainStream, mainId === this.you.id, who),
				h('span', { class: 'video-label' }, who)));
		} else {
			let text;
			if (!call.inCall)
				text = this.you.organiser ? 'Join the call to show your video to the attendees.' : 'Join the call to see and hear the organiser.';
			else if (this.you.organiser)
				text = 'Your camera is off or missing: attendees hear you if your microphone works.';
			else if (!organisers.some((o) => this.isOnline(o.id)))
				text = 'The organiser is not in the lobby yet.';
			else
				text = 'Waiting for the organiser’s video…';
			stage.append(h('div', { class: 'video-main empty', id: 'main-video' }, icon('camera', 'big'), h('p', { class: 'video-placeholder' }, text)));
		}
		const strip = h('div', { class: 'video-strip' });
		if (call.local && call.local.getVideoTracks().length && mainId !== this.you.id)
			strip.append(h('div', { class: 'video-tile' }, this.video(this.you.id, call.local, true, 'You'), h('span', { class: 'video-label' }, call.camOn ? 'You' : 'You (camera off)')));
		for (const id of this.shownVideo) {
			const peer = call.peers.get(id);
			const p = this.people.get(id);
			if (peer && p && peer.stream.getVideoTracks().length && id !== mainId)
				strip.append(h('div', { class: 'video-tile', 'data-video-of': String(id) }, this.video(id, peer.stream, false, p.name), h('span', { class: 'video-label' }, p.name)));
		}
		if (strip.childNodes.length)
			stage.append(strip);
		panel.append(stage);

		/* sound: every peer's audio plays, whether its video is shown or not */
		for (const [id, peer] of call.peers) {
			let a = this.audios.get(id);
			if (!a) {
				a = h('audio', { autoplay: true });
				a.srcObject = peer.stream;
				this.audios.set(id, a);
			}
			panel.append(a);
		}
		for (const id of [...this.audios.keys()])
			if (!call.peers.has(id))
				this.audios.delete(id);
		for (const id of [...this.videos.keys()])
			if (id !== this.you.id && !call.peers.has(id))
				this.videos.delete(id);

		const controls = h('div', { class: 'call-controls' });
		if (!call.inCall) {
			controls.append(button(call.joining ? 'Joining…' : 'Join call', { icon: 'phone', class: 'btn btn-primary', id: 'join-call',
				disabled: call.joining, 'data-focus-key': 'join-call',
				onclick: () => call.join([...this.people.values()].filter((p) => this.isOnline(p.id)).map((p) => p.id)) }));
		} else {
			if (call.local && call.local.getAudioTracks().length)
				controls.append(button(call.micOn ? 'Mute' : 'Unmute', { icon: call.micOn ? 'mic' : 'micOff', class: 'btn', id: 'toggle-mic',
					'aria-pressed': String(!call.micOn), 'data-focus-key': 'mic', onclick: () => call.toggleMic() }));
			if (call.local && call.local.getVideoTracks().length)
				controls.append(button(call.camOn ? 'Camera off' : 'Camera on', { icon: call.camOn ? 'camera' : 'cameraOff', class: 'btn', id: 'toggle-cam',
					'aria-pressed': String(!call.camOn), 'data-focus-key': 'cam', onclick: () => call.toggleCam() }));
			controls.append(button('Leave call', { icon: 'hangup', class: 'btn btn-danger', id: 'leave-call', 'data-focus-key': 'leave-call',
				onclick: () => { call.leave(); this.shownVideo.clear(); this.redrawAll(); } }));
		}
		panel.append(controls);

		if (call.inCall) {
			const list = h('ul', { class: 'call-peers', id: 'call-peers', 'aria-label': 'Connections in the call' });
			for (const [id, peer] of call.peers) {
				const p = this.people.get(id);
				list.append(h('li', { class: `badge ${peer.state === 'connected' ? 'badge-ok' : 'badge-muted'}`, 'data-peer': String(id), 'data-peer-state': peer.state },
					`${p ? p.name : `User ${id}`}: ${stateText(peer.state)}`));
			}
			if (!call.peers.size)
				list.append(h('li', { class: 'muted' }, 'Nobody else is in the call yet.'));
			panel.append(list);
		}
		if (focused) {
			const el = panel.querySelector(`[data-focus-key="${focused}"]`);
			if (el)
				el.focus();
		}
		/* the Show video buttons on the cards depend on the streams */
		if (!this.renderingPeople) {
			this.renderingPeople = true;
			queueMicrotask(() => { this.renderingPeople = false; this.redrawAll(); });
		}
	}

	video(id, stream, muted, label) {
		let v = this.videos.get(id);
		if (!v || v.srcObject !== stream) {
			v = h('video', { autoplay: true, playsinline: true, 'aria-label': `Video of ${label}` });
			v.muted = true;	/* sound plays through the audio elements */
			v.srcObject = stream;
			this.videos.set(id, v);
		}
		return v;
	}
}

/* Words for the server's unmonitored reasons (docs/protocol.md). */
function monitorWhy(reason) {
	switch (reason) {
	case 'no_agent': return 'No agent reports this person’s computer: a recording would not be seen.';
	case 'shutdown': return 'The agent on their computer was stopped.';
	case 'silent': return 'The agent on their computer went silent.';
	case 'disconnected': return 'The agent on their computer disconnected.';
	default: return reason ? `Not watched by an agent (${reason}).` : 'Not watched by an agent.';
	}
}

function recording(p) { return !!(p.online && p.recordings && p.recordings.size); }

/*
 * The server's people order: organisers, then online, then the others; by
 * name (SQLite's NOCASE: ASCII letters folded), then id.
 */
function sortKey(p) { return [p.organiser ? 0 : p.online ? 1 : 2, String(p.name || '').replace(/[A-Z]/g, (c) => c.toLowerCase()), p.id]; }
function cmpKey(a, b) {
	return a[0] - b[0] || (a[1] < b[1] ? -1 : a[1] > b[1] ? 1 : 0) || a[2] - b[2];
}

/* A chat line's client id: 32 hex digits (crypto.randomUUID needs a secure context). */
function clientId() {
	const b = crypto.getRandomValues(new Uint8Array(16));
	return Array.from(b, (x) => x.toString(16).padStart(2, '0')).join('');
}

function stateText(s) {
	return { new: 'connecting', connecting: 'connecting', connected: 'connected', disconnected: 'connection interrupted',
		failed: 'connection failed', closed: 'closed' }[s] || s;
}

/* The chat notice for an event, or null. */
function notice(e, you) {
	const nm = (u) => (u && u.id === you.id ? 'You' : (u && u.name) || 'Someone');
	switch (e.type) {
	case 'join': return { kind: '', icon: 'join', text: `${nm(e.user)} joined${e.user.organiser ? ' (organiser)' : ''}` };
	case 'leave': return { kind: '', icon: 'leave', text: `${nm(e.user)} left` };
	case 'presence': {
		const names = (list, more) => {
			const shown = list.slice(0, 3).map(nm), rest = list.length - shown.length + (more || 0);
			if (rest > 0)
				return `${shown.join(', ')} and ${rest} more`;
			return shown.length < 2 ? shown.join('') : `${shown.slice(0, -1).join(', ')} and ${shown[shown.length - 1]}`;
		};
		const j = (e.joined || []).filter((u) => u.id !== you.id);
		const parts = [];
		if (j.length)
			parts.push(`${names(j, e.more_joined)} joined`);
		if ((e.left || []).length)
			parts.push(`${(e.left.length + (e.more_left || 0))} ${e.left.length + (e.more_left || 0) === 1 ? 'person' : 'people'} left`);
		return parts.length ? { kind: '', icon: 'join', text: parts.join('; ') } : null;
	}
	case 'recording.begin': {
		const r = e.recording, who = nm({ id: r.user_id, name: r.name });
		const prog = r.program || 'an unknown program';
		const where = r.machine ? ` on ${r.machine}` : '';
		if (r.kind === 'screenshot')
			return { kind: 'rec', icon: 'screenshot', text: `${who} took a screenshot with ${prog}${where}` };
		return { kind: 'rec', icon: 'record', text: e.before_join ? `${who} was already recording the screen with ${prog}${where} when joining`
			: `${who} started recording the screen with ${prog}${where}` };
	}
	case 'recording.end': {
		const r = e.recording;
		if (r.kind === 'screenshot')
			return null;
		return { kind: '', icon: 'record', text: `${nm({ id: r.user_id, name: r.name })} stopped recording (${r.program || 'unknown program'}${r.duration_ms ? `, ${duration(r.duration_ms)}` : ''})` };
	}
	case 'ban': return { kind: 'warn', icon: 'ban', text: `${nm(e.user)} ${e.user.id === you.id ? 'were' : 'was'} banned by ${e.by ? e.by.name : 'an organiser'}${e.reason ? `: ${e.reason}` : ''}` };
	case 'organiser.add': return { kind: '', icon: 'crown', text: `${e.by ? e.by.name : 'An organiser'} made ${nm(e.user)} an organiser` };
	/* monitor: the server adds its own system chat notice (organisers only) */
	case 'meeting.end': return { kind: 'warn', icon: 'end', text: `${e.by ? e.by.name : 'An organiser'} ended the meeting` };
	default: return null;
	}
}

function noticeNode(n, at) {
	return h('li', { class: `notice ${n.kind}` }, icon(n.icon), h('span', null, `${n.text}. `, h('time', { class: 'when', datetime: isoTime(at) }, clock(at))));
}
