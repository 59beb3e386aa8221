// SPDX-License-Identifier: GPL-2.0-only
// Meeting details: the meeting's span and people; for organisers the
// attendance table (first join, last leave, time present), the recording log
// as a table and as a timeline over the meeting's span, and CSV export of
// both. Attendees get the people list only: the server refuses them the logs
// (403 organisers_only) and the page says so.
import { api, ApiError } from '../api.js';
import { button, clear, dateTime, duration, h, isoTime, linkService, sentence, setTitle, clock } from '../dom.js';
import { icon } from '../icons.js';

const SVGNS = 'http://www.w3.org/2000/svg';

export async function render(main, [code], app) {
	setTitle(`Meeting ${code}`);
	let data;
	try {
		data = await api('GET', `/api/meetings/${code}`);
	} catch (e) {
		if (e instanceof ApiError && e.status === 401)
			throw e;
		main.append(h('div', { class: 'page-head' }, h('h1', null, 'Meeting details')),
			h('div', { class: 'banner banner-error', role: 'alert', id: 'details-error' }, icon('alert'),
				h('div', null, h('p', null, sentence(e.message)), h('p', null, h('a', { href: '#/' }, 'Back to your meetings')))));
		return null;
	}
	const m = data.meeting;
	const organiser = m.role === 'organiser';
	setTitle(`${m.title}: details`);
	const end = m.end_at || Date.now();
	const metaBits = [`Code ${m.code}`, `Started ${dateTime(m.start_at)}`,
		m.end_at ? `Ended ${dateTime(m.end_at)} (${duration(m.end_at - m.start_at)})` : 'Going on now',
		m.link ? `On ${linkService(m.link)}` : 'Video call in Meeting Sphinx'];
	main.append(h('div', { class: 'page-head' },
		h('div', null, h('h1', null, m.title), h('div', { class: 'details-meta' }, metaBits.map((t) => h('span', null, t)))),
		h('div', { class: 'lobby-actions' },
			m.ongoing ? h('a', { class: 'btn btn-primary', href: `#/m/${m.code}` }, icon('join'), h('span', null, 'Back to the lobby')) : null,
			h('a', { class: 'btn', href: '#/' }, icon('arrowLeft'), h('span', null, 'Your meetings')))));

	if (!organiser) {
		main.append(h('div', { class: 'banner banner-info', id: 'organisers-only', role: 'status' }, icon('info'),
			h('p', null, 'The attendance list and the recording log are shown to the meeting’s organisers only.')));
		main.append(peoplePanel(data.people));
		return null;
	}

	/* organisers: fetch the full attendance (with sessions) and the log */
	let attendance = data.attendance || [], recordings = data.recordings || [];
	const errors = [];
	await Promise.all([
		api('GET', `/api/meetings/${code}/attendance`).then((r) => { attendance = r.attendance; }, (e) => errors.push(`Attendance: ${e.message}`)),
		api('GET', `/api/meetings/${code}/recordings`).then((r) => { recordings = r.recordings; }, (e) => errors.push(`Recording log: ${e.message}`)),
	]);
	for (const e of errors)
		main.append(h('div', { class: 'banner banner-error', role: 'alert' }, icon('alert'), h('p', null, sentence(e))));

	const slug = m.title.replace(/[^A-Za-z0-9]+/g, '-').replace(/^-|-$/g, '').slice(0, 40) || 'meeting';
	main.append(attendancePanel(attendance, m, slug));
	main.append(timelinePanel(attendance, recordings, m.start_at, end));
	main.append(recordingsPanel(recordings, m, slug));
	if (data.bans && data.bans.length)
		main.append(bansPanel(data.bans, data.people || []));
	return null;
}

function peoplePanel(people) {
	const ul = h('ul', { class: 'meeting-list' });
	for (const p of people.filter((x) => !x.banned))
		ul.append(h('li', null, h('span', { class: 'm-title' }, p.name), p.organiser ? h('span', { class: 'badge' }, 'Organiser') : null));
	return h('section', { class: 'panel', 'aria-labelledby': 'ppl-h' }, h('h2', { id: 'ppl-h' }, 'People'), ul);
}

/* ----------------------------------------------------------- attendance */
function attendancePanel(rows, m, slug) {
	const sorted = [...rows].sort((a, b) => (a.first_join || 0) - (b.first_join || 0));
	const tbody = h('tbody');
	for (const a of sorted) {
		tbody.append(h('tr', { 'data-user': String(a.user_id) },
			h('th', { scope: 'row' }, a.name, a.organiser ? [' ', h('span', { class: 'badge' }, 'Organiser')] : null,
				a.email ? h('div', { class: 'small muted' }, a.email) : null),
			h('td', { class: 'num' }, h('time', { datetime: isoTime(a.first_join) }, dateTime(a.first_join))),
			h('td', { class: 'num' }, a.online ? h('span', { class: 'status on' }, h('span', { class: 'dot', 'aria-hidden': 'true' }), 'still here')
				: h('time', { datetime: isoTime(a.last_leave) }, dateTime(a.last_leave))),
			h('td', { class: 'num' }, duration(a.duration_ms)),
			h('td', { class: 'num' }, String(a.joins))));
	}
	const table = h('table', { id: 'attendance-table' },
		h('caption', { class: 'visually-hidden' }, 'Attendance: one row per person who opened the lobby'),
		h('thead', null, h('tr', null, ['Person', 'First join', 'Last leave', 'Time present', 'Joins'].map((t) => h('th', { scope: 'col' }, t)))),
		tbody);
	const csv = button('Download CSV', { icon: 'download', class: 'btn btn-small', id: 'attendance-csv',
		'aria-label': 'Download the attendance as CSV',
		onclick: () => download(`${slug}-${m.code}-attendance.csv`, attendanceCsv(sorted)) });
	return h('section', { class: 'panel', id: 'attendance', 'aria-labelledby': 'att-h' },
		h('div', { class: 'panel-head' }, h('h2', { id: 'att-h' }, `Attendance (${rows.length})`), csv),
		rows.length ? h('div', { class: 'table-wrap' }, table) : h('p', { class: 'empty' }, 'Nobody has opened the lobby yet.'));
}

/* ----------------------------------------------------------- recordings */
function recordingsPanel(recs, m, slug) {
	const tbody = h('tbody');
	for (const r of recs) {
		tbody.append(h('tr', { class: 'rec-row', 'data-recording': String(r.id) },
			h('th', { scope: 'row' }, r.name || r.local_user || 'Unknown'),
			h('td', null, r.kind === 'screenshot' ? 'Screenshot' : 'Recording'),
			h('td', null, h('strong', null, r.program || '?'), r.exe ? h('div', { class: 'small muted mono' }, r.exe) : null),
			h('td', null, r.rule_title || '', r.rule_id ? h('div', { class: 'small muted mono' }, r.rule_id) : null,
				r.layer ? h('div', { class: 'small muted' }, `layer: ${r.layer}`) : null),
			h('td', null, r.machine || ''),
			h('td', { class: 'num' }, h('time', { datetime: isoTime(r.start_at) }, dateTime(r.start_at))),
			h('td', { class: 'num' }, r.end_at ? h('time', { datetime: isoTime(r.end_at) }, clock(r.end_at)) : h('strong', null, 'still running')),
			h('td', { class: 'num' }, r.end_at ? duration(r.duration_ms !== null && r.duration_ms !== undefined ? r.duration_ms : r.end_at - r.start_at) : '')));
	}
	const table = h('table', { id: 'recordings-table' },
		h('caption', { class: 'visually-hidden' }, 'Recording log: every screen recording or screenshot detected during the meeting'),
		h('thead', null, h('tr', null, ['Person', 'Kind', 'Program', 'Signature', 'Machine', 'Started', 'Ended', 'Duration'].map((t) => h('th', { scope: 'col' }, t)))),
		tbody);
	const csv = button('Download CSV', { icon: 'download', class: 'btn btn-small', id: 'recordings-csv',
		'aria-label': 'Download the recording log as CSV',
		onclick: () => download(`${slug}-${m.code}-recordings.csv`, recordingsCsv(recs)) });
	return h('section', { class: 'panel', id: 'recordings', 'aria-labelledby': 'rec-h' },
		h('div', { class: 'panel-head' }, h('h2', { id: 'rec-h' }, `Recording log (${recs.length})`), csv),
		recs.length ? h('div', { class: 'table-wrap' }, table)
			: h('p', { class: 'empty' }, 'No screen recording or screenshot was detected during this meeting.'));
}

function bansPanel(bans, people) {
	const byId = new Map(people.map((p) => [p.id, p.name]));
	const tbody = h('tbody');
	for (const b of bans)
		tbody.append(h('tr', null, h('th', { scope: 'row' }, b.name), h('td', null, byId.get(b.by_user) || (b.by_user ? `user ${b.by_user}` : '')),
			h('td', null, b.reason || ''), h('td', { class: 'num' }, dateTime(b.at))));
	return h('section', { class: 'panel', id: 'bans', 'aria-labelledby': 'ban-h' }, h('h2', { id: 'ban-h' }, 'Banned'),
		h('div', { class: 'table-wrap' }, h('table', null,
			h('thead', null, h('tr', null, ['Person', 'By', 'Reason', 'When'].map((t) => h('th', { scope: 'col' }, t)))), tbody)));
}

/* ------------------------------------------------------------- timeline */
/*
 * One row per person: presence (each lobby session) as a pale bar, each
 * recording as a red bar over it, each screenshot as a dark tick; the x axis
 * spans the meeting. The SVG is a picture of the tables above, so it is one
 * labelled image; its rows also carry <title>s for pointer users.
 */
function timelinePanel(attendance, recs, t0, t1) {
	const span = Math.max(1000, t1 - t0);
	const people = new Map();
	for (const a of attendance)
		people.set(a.user_id, { name: a.name, sessions: a.sessions || [], recs: [] });
	for (const r of recs) {
		const key = r.user_id || `local:${r.local_user}`;
		if (!people.has(key))
			people.set(key, { name: r.name || r.local_user || 'Unknown', sessions: [], recs: [] });
		people.get(key).recs.push(r);
	}
	const rows = [...people.values()].sort((a, b) => (b.recs.length - a.recs.length) || a.name.localeCompare(b.name));
	const W = 1000, left = 170, right = 20, top = 28, rowH = 30, bottom = 8;
	const H = top + rows.length * rowH + bottom;
	const x = (t) => left + ((Math.min(Math.max(t, t0), t1) - t0) / span) * (W - left - right);
	const svg = el('svg', { viewBox: `0 0 ${W} ${H}`, class: 'timeline', role: 'img', id: 'timeline',
		'aria-label': `Timeline from ${clock(t0)} to ${clock(t1)}: ${recs.length} recording${recs.length === 1 ? '' : 's'} by ${rows.filter((r) => r.recs.length).length} of ${rows.length} people` });
	const axis = el('g', { class: 'axis' });
	for (let i = 0; i <= 4; i++) {
		const t = t0 + (span * i) / 4, xx = x(t);
		axis.append(el('line', { x1: xx, x2: xx, y1: top - 6, y2: H - bottom, class: 'grid' }));
		const txt = el('text', { x: xx, y: 16, 'text-anchor': i === 0 ? 'start' : i === 4 ? 'end' : 'middle' });
		txt.textContent = clock(t);
		axis.append(txt);
	}
	svg.append(axis);
	rows.forEach((p, i) => {
		const y = top + i * rowH;
		const g = el('g', {});
		const name = el('text', { x: left - 10, y: y + rowH / 2 + 4, 'text-anchor': 'end', class: 'lbl' });
		name.textContent = p.name.length > 22 ? p.name.slice(0, 21) + '…' : p.name;
		g.append(name);
		g.append(el('rect', { x: left, y: y + rowH / 2 - 0.5, width: W - left - right, height: 1, fill: '#e1e6ec' }));
		for (const s of p.sessions) {
			const a = x(s.join_at), b = x(s.leave_at || t1);
			const r = el('rect', { x: a, y: y + 8, width: Math.max(2, b - a), height: rowH - 16, rx: 3, fill: '#9fb3cf' });
			r.append(title(`${p.name} present ${clock(s.join_at)}–${s.leave_at ? clock(s.leave_at) : 'now'}`));
			g.append(r);
		}
		for (const rec of p.recs) {
			const a = x(rec.start_at), b = x(rec.end_at || t1);
			const shot = rec.kind === 'screenshot';
			const r = el('rect', { x: shot ? a - 1.5 : a, y: y + 4, width: shot ? 3 : Math.max(4, b - a), height: rowH - 8, rx: shot ? 1 : 3,
				fill: shot ? '#5b0f0b' : '#c4211a' });
			r.append(title(`${p.name}: ${shot ? 'screenshot' : 'recording'} with ${rec.program || '?'} ${clock(rec.start_at)}${shot ? '' : `–${rec.end_at ? clock(rec.end_at) : 'still running'}`}`));
			g.append(r);
		}
		svg.append(g);
	});
	const legend = h('ul', { class: 'legend' },
		h('li', null, h('span', { class: 'sw sw-present', 'aria-hidden': 'true' }), 'In the lobby'),
		h('li', null, h('span', { class: 'sw sw-rec', 'aria-hidden': 'true' }), 'Recording the screen'),
		h('li', null, h('span', { class: 'sw sw-shot', 'aria-hidden': 'true' }), 'Screenshot'));
	return h('section', { class: 'panel', id: 'timeline-panel', 'aria-labelledby': 'tl-h' },
		h('h2', { id: 'tl-h' }, 'Timeline'),
		rows.length ? [h('div', { class: 'table-wrap' }, svg), legend] : h('p', { class: 'empty' }, 'Nothing to show yet.'));
}

function el(tag, attrs) {
	const e = document.createElementNS(SVGNS, tag);
	for (const [k, v] of Object.entries(attrs))
		e.setAttribute(k, String(v));
	return e;
}

function title(text) {
	const t = el('title', {});
	t.textContent = text;
	return t;
}

/* ------------------------------------------------------------------ CSV */
/* RFC 4180 quoting; a cell that a spreadsheet would run as a formula gets a leading quote. */
function cell(v) {
	let s = v === null || v === undefined ? '' : String(v);
	if (/^[=+\-@\t\r]/.test(s))
		s = `'${s}`;
	return /[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

function csv(rows) { return rows.map((r) => r.map(cell).join(',')).join('\r\n') + '\r\n'; }

function attendanceCsv(rows) {
	return csv([['name', 'email', 'organiser', 'first_join', 'last_leave', 'time_present_s', 'joins', 'online'],
		...rows.map((a) => [a.name, a.email || '', a.organiser ? 'yes' : 'no', isoTime(a.first_join), isoTime(a.last_leave),
			Math.round((a.duration_ms || 0) / 1000), a.joins, a.online ? 'yes' : 'no'])]);
}

function recordingsCsv(recs) {
	return csv([['name', 'local_user', 'kind', 'program', 'exe', 'argv', 'rule_id', 'rule_title', 'layer', 'machine', 'pid', 'start', 'end', 'duration_s', 'calls'],
		...recs.map((r) => [r.name || '', r.local_user || '', r.kind, r.program || '', r.exe || '', (r.argv || []).join(' '),
			r.rule_id || '', r.rule_title || '', r.layer || '', r.machine || '', r.pid ?? '', isoTime(r.start_at), isoTime(r.end_at),
			r.duration_ms !== null && r.duration_ms !== undefined ? Math.round(r.duration_ms / 1000) : '', r.calls ?? ''])]);
}

function download(name, text) {
	/* a BOM so spreadsheet programs read UTF-8 names correctly */
	const url = URL.createObjectURL(new Blob(['\ufeff', text], { type: 'text/csv;charset=utf-8' }));
	const a = h('a', { href: url, download: name, hidden: true });
	document.body.append(a);
	a.click();
	a.remove();
	setTimeout(() => URL.revokeObjectURL(url), 10000);
}
