// SPDX-License-Identifier: GPL-2.0-only
// In-app call: a WebRTC mesh signalled through the lobby socket
// ({"type":"signal","to":ID,"kind":"offer|answer|ice|hangup","data":…}).
//
// Joining the call opens one RTCPeerConnection to every other person online
// in the lobby; whoever is in the call answers, whoever is not answers
// "hangup" (not_in_call) and will offer in turn when they join. Both sides
// follow the "perfect negotiation" pattern: the peer with the larger user id
// is polite (it rolls back its own offer when offers cross), so two people
// joining at the same moment still connect. A person without a camera or
// microphone joins receive-only: they see and hear the others.
//
// The page decides what to show (the organiser's video big, attendees' on
// demand); this module only keeps the connections and their streams and
// calls onchange() whenever something visible changed.

export class Call {
	constructor({ me, send, onchange }) {
		this.me = me;
		this.send = send;
		this.onchange = onchange || (() => {});
		this.peers = new Map();
		this.local = null;
		this.inCall = false;
		this.joining = false;
		this.mediaError = null;
		this.micOn = true;
		this.camOn = true;
	}

	/* Ask for the camera and microphone, then offer to everyone online (ids). */
	async join(onlineIds) {
		if (this.inCall || this.joining)
			return;
		this.joining = true;
		this.mediaError = null;
		this.onchange();
		this.local = await this.getMedia();
		this.joining = false;
		this.inCall = true;
		this.micOn = !!(this.local && this.local.getAudioTracks().length);
		this.camOn = !!(this.local && this.local.getVideoTracks().length);
		for (const id of onlineIds)
			if (id !== this.me.id)
				this.peer(id, true);
		this.onchange();
	}

	async getMedia() {
		if (!navigator.mediaDevices || !navigator.mediaDevices.getUserMedia) {
			this.mediaError = 'This browser cannot use the camera here: camera access needs a secure (https) connection. You are in the call without sending video or sound; you can still watch and listen.';
			return null;
		}
		const tries = [{ audio: true, video: { width: { ideal: 1280 }, height: { ideal: 720 } } }, { audio: true }, { video: true }];
		let first = null;
		for (const c of tries) {
			try {
				const s = await navigator.mediaDevices.getUserMedia(c);
				if (first && !c.video)
					this.mediaError = 'No camera was found: you are in the call with sound only.';
				else if (first && !c.audio)
					this.mediaError = 'No microphone was found: you are in the call with video only.';
				return s;
			} catch (e) {
				first = first || e;
				if (e.name === 'NotAllowedError' || e.name === 'SecurityError')
					break;
			}
		}
		this.mediaError = describeMediaError(first);
		return null;
	}

	/* The connection to user id, created on demand. */
	peer(id, initiate) {
		let p = this.peers.get(id);
		if (p)
			return p;
		const pc = new RTCPeerConnection({ iceServers: [] });
		p = { id, pc, polite: this.me.id > id, makingOffer: false, ignoreOffer: false,
			stream: new MediaStream(), state: 'connecting', queue: Promise.resolve() };
		this.peers.set(id, p);
		if (this.local) {
			for (const t of this.local.getTracks())
				pc.addTrack(t, this.local);
		} else if (initiate) {
			pc.addTransceiver('audio', { direction: 'recvonly' });
			pc.addTransceiver('video', { direction: 'recvonly' });
		}
		pc.ontrack = ({ track }) => {
			p.stream.addTrack(track);
			track.onunmute = () => this.onchange();
			track.onended = () => { p.stream.removeTrack(track); this.onchange(); };
			this.onchange();
		};
		pc.onicecandidate = ({ candidate }) => {
			if (candidate)
				this.send(id, 'ice', candidate.toJSON());
		};
		pc.onconnectionstatechange = () => {
			p.state = pc.connectionState;
			if (pc.connectionState === 'failed')
				pc.restartIce();
			this.onchange();
		};
		pc.onnegotiationneeded = async () => {
			try {
				p.makingOffer = true;
				await pc.setLocalDescription();
				this.send(id, 'offer', pc.localDescription.toJSON());
			} catch (e) {
				console.warn('call: offer to', id, 'failed', e);
			} finally {
				p.makingOffer = false;
			}
		};
		return p;
	}

	/* A "signal" message from the lobby socket. */
	signal(from, kind, data) {
		if (kind === 'hangup') {
			this.drop(from);
			return;
		}
		if (kind === 'offer' && !this.inCall) {
			this.send(from, 'hangup', { reason: 'not_in_call' });
			return;
		}
		const p = kind === 'offer' ? this.peer(from, false) : this.peers.get(from);
		if (!p)
			return;
		/* one message at a time per peer: descriptions must apply in order */
		p.queue = p.queue.then(() => this.handle(p, kind, data)).catch((e) => console.warn('call: signal', kind, e));
	}

	async handle(p, kind, data) {
		const pc = p.pc;
		if (pc.signalingState === 'closed')
			return;
		if (kind === 'offer' || kind === 'answer') {
			const collision = kind === 'offer' && (p.makingOffer || pc.signalingState !== 'stable');
			p.ignoreOffer = !p.polite && collision;
			if (p.ignoreOffer)
				return;
			await pc.setRemoteDescription(data);
			if (kind === 'offer') {
				await pc.setLocalDescription();
				this.send(p.id, 'answer', pc.localDescription.toJSON());
			}
		} else if (kind === 'ice') {
			try {
				await pc.addIceCandidate(data);
			} catch (e) {
				if (!p.ignoreOffer)
					throw e;
			}
		}
	}

	/* Close the connection to one person (they hung up, left or were banned). */
	drop(id) {
		const p = this.peers.get(id);
		if (!p)
			return;
		this.peers.delete(id);
		try { p.pc.close(); } catch (e) { /* closed */ }
		this.onchange();
	}

	/* Hang up: tell every peer, close everything, release the camera. */
	leave() {
		for (const id of [...this.peers.keys()]) {
			this.send(id, 'hangup', { reason: 'left' });
			this.drop(id);
		}
		if (this.local)
			for (const t of this.local.getTracks())
				t.stop();
		this.local = null;
		this.inCall = false;
		this.joining = false;
		this.onchange();
	}

	toggleMic() {
		if (!this.local)
			return;
		this.micOn = !this.micOn;
		for (const t of this.local.getAudioTracks())
			t.enabled = this.micOn;
		this.onchange();
	}

	toggleCam() {
		if (!this.local)
			return;
		this.camOn = !this.camOn;
		for (const t of this.local.getVideoTracks())
			t.enabled = this.camOn;
		this.onchange();
	}
}

function describeMediaError(e) {
	const name = e && e.name;
	const tail = ' You are in the call without sending video or sound; you can still watch and listen.';
	switch (name) {
	case 'NotFoundError':
	case 'OverconstrainedError':
		return 'No camera or microphone was found on this computer.' + tail;
	case 'NotAllowedError':
	case 'SecurityError':
		return 'The browser was not allowed to use the camera and microphone. Allow them for this site in the browser\'s settings, then leave and join the call again.' + tail;
	case 'NotReadableError':
	case 'AbortError':
		return 'The camera or microphone is in use by another program, or could not be started.' + tail;
	default:
		return `The camera and microphone could not be opened${e && e.message ? ` (${e.message})` : ''}.` + tail;
	}
}
