// SPDX-License-Identifier: GPL-2.0-only
// The fleet (admins): every enrolled machine, problems first, from
// GET /api/admin/machines (docs/fleet.md): online / silent / shut down and
// since when, agent version, kernel, each detection layer attached, degraded
// (and why) or off, the policy version in force or its error, the group, the
// person at the screen, the last capture event and the spool's drops. A
// machine whose agent is degraded or dropping events is flagged in words and
// with an icon, not by colour alone. Filters (group, state) live in the
// address (#/fleet?group=…&state=…) so a filtered view can be shared; the
// CSV link takes the same filters. Then the policy rollout: per group, how
// many machines run each version (GET /api/admin/policy/rollout). The page
// refreshes itself every 15 s while it is open.
import { api, ApiError } from '../api.js';
import { clear, dateTime, h, isoTime, sentence, setTitle, when } from '../dom.js';
import { icon } from '../icons.js';

const REFRESH_MS = 15000;

const STATES = [
	['', 'Every state'], ['online', 'Online'], ['silent', 'Silent'], ['shutdown', 'Shut down'],
	['disconnected', 'Disconnected'], ['never', 'Never connected'], ['revoked', 'Revoked'],
];
const STATE_WORDS = Object.fromEntries(STATES.filter(([k]) => k));
const PROBLEMS = {
	degraded: ['Degraded', 'a detection layer is degraded'],
	dropping: ['Dropping events', 'its spool dropped events'],
	policy_error: ['Policy error', 'its policy could not be applied'],
	silent: ['Silent', 'it stopped talking without saying goodbye'],
};

export async function render(main, params, app) {
	setTitle('Fleet');
	const u = app.user();
	if (!u || !u.admin) {
		main.append(h('div', { class: 'page-head' }, h('h1', null, 'Fleet')),
			h('div', { class: 'banner banner-info', role: 'status', id: 'fleet-admins-only' }, icon('info'),
				h('p', null, 'The fleet is shown to administrators only.')));
		return null;
	}
	const group = app.query.get('group') || '';
	const state = app.query.get('state') || '';
	const q = new URLSearchParams();
	if (group)
		q.set('group', group);
	if (state)
		q.set('state', state);
	const qs = q.toString() ? `?${q}` : '';

	const summary = h('p', { class: 'muted', id: 'fleet-summary', role: 'status' }, 'Loading…');
	const csv = h('a', { class: 'btn btn-small', id: 'fleet-csv', href: `/api/admin/machines.csv${qs}`, download: 'machines.csv' },
		icon('download'), h('span', null, 'Download CSV'));
	main.append(h('div', { class: 'page-head' },
		h('div', null, h('h1', null, 'Fleet'), summary),
		h('div', { class: 'lobby-actions' }, csv,
			h('a', { class: 'btn', href: '#/' }, icon('arrowLeft'), h('span', null, 'Your meetings')))));

	const groupSel = h('select', { id: 'fleet-group', name: 'group' }, h('option', { value: '' }, 'Every group'));
	const stateSel = h('select', { id: 'fleet-state', name: 'state' },
		STATES.map(([k, label]) => h('option', { value: k, selected: k === state }, label)));
	const go = () => {
		const n = new URLSearchParams();
		if (groupSel.value)
			n.set('group', groupSel.value);
		if (stateSel.value)
			n.set('state', stateSel.value);
		app.go(`/fleet${n.toString() ? `?${n}` : ''}`);
	};
	groupSel.addEventListener('change', go);
	stateSel.addEventListener('change', go);
	main.append(h('form', { class: 'form-row fleet-filters', 'aria-label': 'Filter the machines', onsubmit: (e) => e.preventDefault() },
		h('div', { class: 'field' }, h('label', { for: 'fleet-group' }, 'Group'), groupSel),
		h('div', { class: 'field' }, h('label', { for: 'fleet-state' }, 'State'), stateSel)));

	const machinesPanel = h('section', { class: 'panel', 'aria-labelledby': 'fleet-h' });
	const rolloutPanel = h('section', { class: 'panel', id: 'rollout', 'aria-labelledby': 'rollout-h', hidden: true });
	main.append(machinesPanel, rolloutPanel);

	let groupsShown = false;
	async function load() {
		let data;
		try {
			data = await api('GET', `/api/admin/machines${qs}`);
		} catch (e) {
			if (e instanceof ApiError && e.status === 401)
				return app.needSignIn();
			clear(machinesPanel).append(h('div', { class: 'banner banner-error', role: 'alert', id: 'fleet-error' }, icon('alert'),
				h('p', null, `The machines could not be loaded: ${sentence(e.message)}`)));
			summary.textContent = '';
			return;
		}
		if (!groupsShown) {
			for (const g of data.groups)
				groupSel.append(h('option', { value: g, selected: g === group }, g));
			if (group && !data.groups.includes(group))
				groupSel.append(h('option', { value: group, selected: true }, group));
			groupsShown = true;
		}
		summary.textContent = summaryText(data.machines, group || state);
		drawMachines(machinesPanel, data.machines);
		loadRollout(rolloutPanel);
	}
	await load();
	const timer = setInterval(load, REFRESH_MS);
	return () => clearInterval(timer);
}

function summaryText(list, filtered) {
	const n = list.length;
	const count = (p) => list.filter((m) => m.problems.includes(p)).length;
	const parts = Object.keys(PROBLEMS).map((p) => [count(p), PROBLEMS[p][0].toLowerCase()]).filter(([c]) => c)
		.map(([c, w]) => `${c} ${w}`);
	const online = list.filter((m) => m.state === 'online').length;
	return `${n} machine${n === 1 ? '' : 's'}${filtered ? ' shown' : ''}, ${online} online` +
		(parts.length ? `; problems: ${parts.join(', ')}` : '; no problems');
}

/* ------------------------------------------------------------ machines */
function drawMachines(panel, list) {
	clear(panel).append(h('h2', { id: 'fleet-h' }, `Machines (${list.length})`));
	if (!list.length) {
		panel.append(h('p', { class: 'empty', id: 'fleet-empty' }, 'No machine matches these filters.'));
		return;
	}
	const tbody = h('tbody');
	for (const m of list)
		tbody.append(machineRow(m));
	panel.append(h('div', { class: 'table-wrap' }, h('table', { class: 'fleet', id: 'fleet-table' },
		h('thead', null, h('tr', null, ['Machine', 'State', 'Problems', 'Agent and kernel', 'Layers', 'Policy', 'At the screen',
			'Events'].map((t) => h('th', { scope: 'col' }, t)))),
		tbody)));
}

function machineRow(m) {
	const flagged = m.problems.includes('degraded') || m.problems.includes('dropping');
	return h('tr', { 'data-machine': m.name, 'data-state': m.state, 'data-problems': m.problems.join(' '),
		class: flagged ? 'fleet-flagged' : m.problems.length ? 'fleet-problem' : null },
	h('th', { scope: 'row' }, h('div', { class: 'm-title' }, m.name), h('span', { class: 'badge badge-muted', title: 'Policy group' }, m.group)),
	h('td', null, stateCell(m)),
	h('td', null, h('div', { class: 'fleet-problems' }, m.problems.length
		? m.problems.map((p) => h('span', { class: `badge ${p === 'degraded' || p === 'dropping' ? 'badge-rec' : 'badge-warn'}`, title: PROBLEMS[p] ? PROBLEMS[p][1] : p },
			icon('alert'), PROBLEMS[p] ? PROBLEMS[p][0] : p))
		: h('span', { class: 'muted' }, 'None'))),
	h('td', null, h('div', null, m.agent_version ? `Agent ${m.agent_version}` : h('span', { class: 'muted' }, 'No agent yet')),
		h('div', { class: 'small mono' }, m.kernel ? `${m.kernel}${m.status && m.status.arch ? ` (${m.status.arch})` : ''}` : '')),
	h('td', { class: 'fleet-layers' }, layersCell(m)),
	h('td', null, policyCell(m)),
	h('td', null, peopleCell(m)),
	h('td', { class: 'fleet-events' },
		h('div', null, m.last_event_at ? ['Last event ', h('time', { datetime: isoTime(m.last_event_at), title: dateTime(m.last_event_at) }, when(m.last_event_at))]
			: h('span', { class: 'muted' }, 'No event yet')),
		h('div', { class: 'fleet-drops-cell' }, dropsCell(m))));
}

function stateCell(m) {
	const on = m.state === 'online';
	return h('div', { class: 'fleet-state' },
		h('span', { class: `status${on ? ' on' : ''} fleet-state-${m.state}` }, h('span', { class: 'dot', 'aria-hidden': 'true' }),
			h('span', null, STATE_WORDS[m.state] || m.state)),
		m.state_at ? h('div', { class: 'small muted' }, 'since ', h('time', { datetime: isoTime(m.state_at), title: dateTime(m.state_at) }, when(m.state_at))) : null);
}

function layersCell(m) {
	if (!m.status)
		return h('span', { class: 'muted' }, 'No report yet');
	return h('ul', { class: 'fleet-layer-list' }, m.status.layers.map((l) =>
		h('li', { class: `layer layer-${l.state}`, 'data-layer': l.name, title: l.detail || '' },
			h('strong', null, l.name), ' ', h('span', { class: 'layer-state' }, l.state),
			l.state === 'degraded' && l.detail ? h('div', { class: 'small layer-why' }, l.detail) : null)));
}

function policyCell(m) {
	if (m.policy_error)
		return h('div', { class: 'fleet-policy-error' }, h('span', null, 'Error: '), h('code', { class: 'small' }, m.policy_error));
	if (m.policy_source === 'local')
		return 'Local files';
	if (m.policy_version)
		return `Version ${m.policy_version}`;
	return h('span', { class: 'muted' }, m.policy_source ? 'None applied' : 'Not reported');
}

function peopleCell(m) {
	if (m.people && m.people.length)
		return m.people.map((p) => p.name).join(', ');
	if (m.users && m.users.length && m.state !== 'online')
		return h('span', { class: 'muted' }, `Last reported: ${m.users.join(', ')}`);
	if (m.users && m.users.length)
		return h('span', { class: 'muted' }, `${m.users.join(', ')} (no matching account)`);
	return h('span', { class: 'muted' }, 'Nobody');
}

function dropsCell(m) {
	if (m.spool_dropped_new > 0)
		return [h('span', { class: 'fleet-drops' }, `${m.spool_dropped_new} dropped since the last hello`), h('div', { class: 'small muted' }, `${m.spool_dropped} in all`)];
	return h('span', { class: 'muted small' }, m.spool_dropped ? `${m.spool_dropped} dropped in all, none new` : 'No spool drops');
}

/* ------------------------------------------------------------- rollout */
async function loadRollout(panel) {
	let data;
	try {
		data = await api('GET', '/api/admin/policy/rollout');
	} catch (e) {
		panel.hidden = true;	/* a server without central policy: nothing to show */
		return;
	}
	clear(panel).append(h('h2', { id: 'rollout-h' }, 'Policy rollout'),
		h('p', { class: 'muted small' }, 'Per group: the newest bundle pushed, and how many machines run each version.'));
	const tbody = h('tbody');
	for (const g of data.groups || []) {
		const versions = (g.versions || []).map((v) => `${v.version === null ? 'none' : `v${v.version}`}: ${v.machines}`).join(', ');
		tbody.append(h('tr', { 'data-group': g.group },
			h('th', { scope: 'row' }, g.group),
			h('td', { class: 'num' }, g.latest === null ? 'none' : `v${g.latest}`),
			h('td', { class: 'num' }, String(g.machines)),
			h('td', null, versions || '—'),
			h('td', { class: 'num' }, g.errors ? h('span', { class: 'badge badge-warn' }, icon('alert'), String(g.errors)) : '0'),
			h('td', { class: 'num' }, String(g.local || 0))));
	}
	panel.append(h('div', { class: 'table-wrap' }, h('table', { id: 'rollout-table' },
		h('thead', null, h('tr', null, ['Group', 'Latest', 'Machines', 'Running', 'Errors', 'Local policy'].map((t) => h('th', { scope: 'col' }, t)))),
		tbody)));
	panel.hidden = false;
}
