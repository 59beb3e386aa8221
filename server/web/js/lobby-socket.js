// SPDX-License-Identifier: GPL-2.0-only
// The lobby WebSocket (docs/protocol.md) with automatic reconnection.
//
// The first connection asks for ?since=0, so the server replays the meeting's
// stored events after the snapshot: the page can show the join/leave/
// recording notices that happened before it opened. A reconnection asks for
// ?since=<last offset seen>, gets a fresh snapshot (the state to use) and the
// events it missed (for their notices). The page tells the two apart by
// offset: an event at or below the latest snapshot's offset is history.
//
// Drops are detected by the close event and, for half-open connections the
// browser does not notice, by an application ping every 20 s that must be
// answered within 10 s. Close codes that mean "you may not be here" (banned,
// ended, not a member, signed out, too many tabs) stop the reconnection.
// CLOSE_DRAIN (4503) means the server node is going away (a restart, an
// upgrade): the page reconnects at once, without backoff, and the balancer
// sends it to another node, where it resumes from its offset. A node that
// is draining refuses new sockets, so landing on it again ends in the
// ordinary backoff, never in a loop.
import * as proto from './proto.js';

const FINAL = new Set([proto.CLOSE_SIGNED_OUT, proto.CLOSE_BANNED, proto.CLOSE_TOO_MANY_SOCKETS,
	proto.CLOSE_NOT_MEMBER, proto.CLOSE_UNKNOWN_MEETING, proto.CLOSE_MEETING_ENDED]);
const PING_EVERY = 20000, PONG_WITHIN = 10000;

export class LobbySocket {
	/*
	 * handlers: message(msg), state(state, detail) with state one of
	 * "connecting", "open", "retry" (detail: seconds until the next try),
	 * "closed" (detail: {code, reason, error} — final).
	 */
	constructor(code, handlers) {
		this.code = code;
		this.h = handlers;
		this.offset = 0;
		this.attempt = 0;
		this.stopped = false;
		this.lastError = null;
		this.onOnline = () => { if (this.retryTimer) this.reconnectNow(); };
		window.addEventListener('online', this.onOnline);
		this.connect();
	}

	url() {
		const proto = location.protocol === 'https:' ? 'wss:' : 'ws:';
		return `${proto}//${location.host}/lobby/${this.code}?since=${this.offset}`;
	}

	connect() {
		this.retryTimer = null;
		this.h.state('connecting', this.attempt);
		const ws = new WebSocket(this.url());
		this.ws = ws;
		this.lastError = null;
		ws.onopen = () => {
			this.attempt = 0;
			this.h.state('open');
			this.startPing();
		};
		ws.onmessage = (ev) => {
			let m;
			try { m = JSON.parse(ev.data); } catch (e) { return; }
			this.lastSeen = Date.now();
			if (m.type === proto.MSG_PONG)
				return;
			if (m.type === proto.MSG_ERROR && m.code)
				this.lastError = m;
			if (typeof m.offset === 'number' && m.type !== proto.MSG_SYNCED && m.offset > this.offset)
				this.offset = m.offset;
			if (m.type === proto.MSG_SNAPSHOT && typeof m.offset === 'number')
				this.offset = m.offset;
			this.h.message(m);
		};
		ws.onclose = (ev) => {
			this.stopPing();
			if (this.ws !== ws || this.stopped)
				return;
			if (FINAL.has(ev.code)) {
				this.stopped = true;
				this.h.state('closed', { code: ev.code, reason: ev.reason, error: this.lastError });
				return;
			}
			if (ev.code === proto.CLOSE_DRAIN) {
				this.h.state('connecting', this.attempt);
				this.connect();
				return;
			}
			this.scheduleRetry();
		};
	}

	scheduleRetry() {
		this.attempt++;
		const delay = Math.min(10000, 500 * 2 ** Math.min(this.attempt - 1, 5)) * (0.8 + Math.random() * 0.4);
		this.h.state('retry', Math.ceil(delay / 1000));
		this.retryTimer = setTimeout(() => this.connect(), delay);
	}

	reconnectNow() {
		clearTimeout(this.retryTimer);
		this.connect();
	}

	startPing() {
		this.lastSeen = Date.now();
		this.pingTimer = setInterval(() => {
			if (!this.ws || this.ws.readyState !== WebSocket.OPEN)
				return;
			if (Date.now() - this.lastSeen > PING_EVERY + PONG_WITHIN) {
				/* no answer to the last ping: treat the connection as dropped */
				const ws = this.ws;
				this.ws = null;
				this.stopPing();
				try { ws.close(); } catch (e) { /* already closing */ }
				this.scheduleRetry();
				return;
			}
			this.send({ type: proto.MSG_PING });
		}, PING_EVERY);
	}

	stopPing() {
		clearInterval(this.pingTimer);
		this.pingTimer = null;
	}

	/* Returns false when the socket is not open (the caller says so in the page). */
	send(obj) {
		if (!this.ws || this.ws.readyState !== WebSocket.OPEN)
			return false;
		this.ws.send(JSON.stringify(Object.assign({ [proto.F_VERSION]: proto.VERSION }, obj)));
		return true;
	}

	get open() { return !!this.ws && this.ws.readyState === WebSocket.OPEN; }

	close() {
		this.stopped = true;
		this.stopPing();
		clearTimeout(this.retryTimer);
		window.removeEventListener('online', this.onOnline);
		if (this.ws) {
			const ws = this.ws;
			this.ws = null;
			try { ws.close(1000, 'left the lobby'); } catch (e) { /* already closed */ }
		}
	}
}
