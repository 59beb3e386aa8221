// SPDX-License-Identifier: GPL-2.0-only
// Small DOM and formatting helpers shared by the pages. Text always goes in
// through text nodes (never innerHTML), so names, titles and chat from other
// people cannot inject markup.
import { icon } from './icons.js';

/*
 * h('button', {class: 'btn', onclick: fn, 'aria-label': '…'}, 'Text', child…)
 * Attributes starting with "on" become listeners; dataset takes an object;
 * false/null/undefined attributes and children are skipped; arrays flatten.
 */
export function h(tag, attrs, ...children) {
	const el = document.createElement(tag);
	for (const [k, v] of Object.entries(attrs || {})) {
		if (v === false || v === null || v === undefined)
			continue;
		if (k.startsWith('on') && typeof v === 'function')
			el.addEventListener(k.slice(2), v);
		else if (k === 'dataset')
			Object.assign(el.dataset, v);
		else if (k === 'class')
			el.className = v;
		else if (k === 'value' || k === 'checked' || k === 'disabled' || k === 'hidden')
			el[k] = v;
		else
			el.setAttribute(k, v === true ? '' : String(v));
	}
	append(el, children);
	return el;
}

function append(el, children) {
	for (const c of children) {
		if (c === null || c === undefined || c === false)
			continue;
		if (Array.isArray(c))
			append(el, c);
		else
			el.append(c instanceof Node ? c : document.createTextNode(String(c)));
	}
}

/* A button with an icon and a visible text label. */
export function button(label, opts = {}) {
	const { icon: ic, class: cls = 'btn', ...rest } = opts;
	return h('button', { type: 'button', class: cls, ...rest }, ic ? icon(ic) : null, h('span', null, label));
}

export function clear(el) {
	while (el.firstChild)
		el.removeChild(el.firstChild);
	return el;
}

/* The server's messages are lower-case clauses: make them a sentence. */
export function sentence(text) {
	const s = String(text || '').trim();
	if (!s)
		return '';
	const t = s[0].toUpperCase() + s.slice(1);
	return /[.!?]$/.test(t) ? t : t + '.';
}

/* Show an error (an ApiError or any Error) in a role=alert element. */
export function showError(el, err) {
	clear(el);
	if (!err) {
		el.hidden = true;
		return;
	}
	el.hidden = false;
	el.append(icon('alert'), h('span', null, typeof err === 'string' ? err : sentence(err.message)));
}

export function toast(text, ms = 3500) {
	const region = document.getElementById('toasts');
	if (!region)
		return;
	const t = h('div', { class: 'toast' }, text);
	region.append(t);
	setTimeout(() => t.remove(), ms);
}

/* ------------------------------------------------------------ formats */
const sameDay = (a, b) => a.toDateString() === b.toDateString();
const fmtClock = new Intl.DateTimeFormat(undefined, { hour: '2-digit', minute: '2-digit', second: '2-digit' });
const fmtShort = new Intl.DateTimeFormat(undefined, { hour: '2-digit', minute: '2-digit' });
const fmtDate = new Intl.DateTimeFormat(undefined, { day: 'numeric', month: 'short', year: 'numeric', hour: '2-digit', minute: '2-digit' });

export function clock(ms) { return ms ? fmtClock.format(new Date(ms)) : ''; }
export function shortTime(ms) { return ms ? fmtShort.format(new Date(ms)) : ''; }
export function when(ms) {
	if (!ms)
		return '';
	const d = new Date(ms);
	return sameDay(d, new Date()) ? `today ${fmtShort.format(d)}` : fmtDate.format(d);
}
export function dateTime(ms) { return ms ? fmtDate.format(new Date(ms)) : ''; }
export function isoTime(ms) { return ms ? new Date(ms).toISOString() : ''; }

/* 3723000 -> "1 h 02 min"; 192000 -> "3 min 12 s"; 4000 -> "4 s" */
export function duration(ms) {
	if (ms === null || ms === undefined)
		return '';
	let s = Math.max(0, Math.round(ms / 1000));
	const hh = Math.floor(s / 3600), mm = Math.floor((s % 3600) / 60);
	s %= 60;
	if (hh)
		return `${hh} h ${String(mm).padStart(2, '0')} min`;
	if (mm)
		return `${mm} min ${String(s).padStart(2, '0')} s`;
	return `${s} s`;
}

export function initials(name) {
	const parts = String(name || '?').trim().split(/\s+/).filter(Boolean);
	const s = parts.length > 1 ? parts[0][0] + parts[parts.length - 1][0] : (parts[0] || '?').slice(0, 2);
	return s.toUpperCase();
}

/* A stable, readable background colour per person (white text on it passes AA). */
const palette = ['#1f4fb8', '#6b3fa0', '#0f6e6e', '#8a4b00', '#7a2e57', '#2f5d2f', '#4a4f9c', '#6d4c41'];
export function avatar(person) {
	const el = h('span', { class: 'avatar', 'aria-hidden': 'true' });
	if (person.picture) {
		el.append(h('img', { src: person.picture, alt: '', referrerpolicy: 'no-referrer', loading: 'lazy' }));
	} else {
		el.textContent = initials(person.name);
		el.style.background = palette[Math.abs(Number(person.id) || 0) % palette.length];
	}
	return el;
}

/* Friendly name of the service behind an external meeting link. */
export function linkService(url) {
	let host = '';
	try { host = new URL(url).hostname.toLowerCase(); } catch (e) { return 'external meeting'; }
	if (host.endsWith('teams.microsoft.com') || host.endsWith('teams.live.com')) return 'Microsoft Teams';
	if (host === 'meet.google.com') return 'Google Meet';
	if (host.endsWith('zoom.us') || host.endsWith('zoom.com')) return 'Zoom';
	if (host.endsWith('webex.com')) return 'Webex';
	if (host.includes('jitsi') || host === 'meet.jit.si') return 'Jitsi Meet';
	return host;
}

export function setTitle(t) { document.title = t ? `${t} · Meeting Sphinx` : 'Meeting Sphinx'; }
