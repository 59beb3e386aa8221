// SPDX-License-Identifier: GPL-2.0-only
// Home: ongoing meetings (Join), past meetings (Details), create a meeting
// (in-app call or an external Teams/Meet/Zoom link), join by code. Errors
// from the server are shown in place, next to the form that caused them.
import { api, ApiError } from '../api.js';
import { button, clear, h, linkService, setTitle, showError, when, dateTime } from '../dom.js';
import { icon } from '../icons.js';

export async function render(main, params, app) {
	setTitle('Your meetings');
	const head = h('div', { class: 'page-head' }, h('h1', null, 'Your meetings'));
	main.append(head);
	const f = app.takeFlash();
	if (f)
		main.append(h('div', { class: `banner banner-${f.kind}`, role: 'alert', id: 'flash' },
			icon(f.kind === 'error' ? 'alert' : 'info'), h('p', null, f.text)));

	const lists = h('div', { class: 'stack' });
	const forms = h('div', { class: 'stack' }, joinPanel(app), createPanel(app));
	/* joining by code comes first: it is what most people open the app for */
	main.append(h('div', { class: 'home-grid' }, h('div', null, forms), h('div', null, lists)));

	let data;
	try {
		data = await api('GET', '/api/meetings');
	} catch (e) {
		if (e instanceof ApiError && e.status === 401)
			throw e;
		lists.append(h('div', { class: 'banner banner-error', role: 'alert' }, icon('alert'),
			h('p', null, `Your meetings could not be loaded: ${e.message}`)));
		return;
	}
	lists.append(listPanel('Ongoing meetings', 'ongoing', data.ongoing, 'No meeting is going on. Create one, or join one by its code.', (m) =>
		h('a', { class: 'btn btn-primary', href: `#/m/${m.code}`, 'aria-label': `Join ${m.title}` }, icon('join'), h('span', null, 'Join'))));
	lists.append(listPanel('Past meetings', 'past', data.past, 'No past meetings yet.', (m) =>
		h('a', { class: 'btn', href: `#/m/${m.code}/details`, 'aria-label': `Details of ${m.title}` }, icon('list'), h('span', null, 'Details'))));
}

function listPanel(title, id, items, empty, action) {
	const ul = h('ul', { class: 'meeting-list', 'aria-labelledby': `${id}-h` });
	for (const m of items) {
		const meta = [`Code ${m.code}`, m.end_at ? `ended ${dateTime(m.end_at)}` : `started ${when(m.start_at)}`];
		if (m.link)
			meta.push(`on ${linkService(m.link)}`);
		ul.append(h('li', { 'data-code': m.code },
			h('div', { class: 'm-main' },
				h('div', { class: 'm-title' }, m.title, ' ', m.organiser ? h('span', { class: 'badge' }, 'Organiser') : null),
				h('div', { class: 'm-meta' }, meta.join(' · '))),
			action(m)));
	}
	return h('section', { class: 'panel', id: `${id}-meetings` }, h('h2', { id: `${id}-h` }, title),
		items.length ? ul : h('p', { class: 'empty' }, empty));
}

function joinPanel(app) {
	const err = h('div', { class: 'form-error', role: 'alert', id: 'join-error', hidden: true });
	const code = h('input', { type: 'text', id: 'join-code', name: 'code', class: 'code-input',
		autocomplete: 'off', autocapitalize: 'none', spellcheck: 'false', maxlength: '16', placeholder: 'abc-defg-hij', 'aria-describedby': 'join-hint join-error' });
	const submit = h('button', { type: 'submit', class: 'btn btn-primary' }, icon('join'), h('span', null, 'Join'));
	const form = h('form', { novalidate: true, 'aria-labelledby': 'join-h' },
		h('div', { class: 'form-row' },
			h('div', { class: 'field' }, h('label', { for: 'join-code' }, 'Meeting code'), code),
			submit),
		h('p', { class: 'hint', id: 'join-hint' }, 'The code the organiser gave you, like abc-defg-hij, or open their join link.'),
		err);
	form.addEventListener('submit', async (ev) => {
		ev.preventDefault();
		const v = code.value.replace(/[\s-]+/g, '').toLowerCase();
		if (!/^[a-z]{10}$/.test(v) && !/^\d{6}$/.test(v)) {
			code.setAttribute('aria-invalid', 'true');
			showError(err, 'A meeting code looks like abc-defg-hij.');
			code.focus();
			return;
		}
		submit.disabled = true;
		showError(err, null);
		code.removeAttribute('aria-invalid');
		try {
			const r = await api('POST', '/api/meetings/join', { code: v });
			app.go(`/m/${r.meeting.code}`);
		} catch (e) {
			if (e instanceof ApiError && e.status === 401)
				return app.needSignIn();
			code.setAttribute('aria-invalid', 'true');
			showError(err, e);
			code.focus();
		} finally {
			submit.disabled = false;
		}
	});
	return h('section', { class: 'panel', id: 'join-panel' }, h('h2', { id: 'join-h' }, 'Join by code'), form);
}

function createPanel(app) {
	const err = h('div', { class: 'form-error', role: 'alert', id: 'create-error', hidden: true });
	const title = h('input', { type: 'text', id: 'create-title', name: 'title', maxlength: '200', required: true,
		autocomplete: 'off', placeholder: 'Linear algebra, week 3', 'aria-describedby': 'create-error' });
	const inApp = h('input', { type: 'radio', name: 'where', id: 'where-app', value: 'app', checked: true });
	const ext = h('input', { type: 'radio', name: 'where', id: 'where-link', value: 'link' });
	const link = h('input', { type: 'url', id: 'create-link', name: 'link', placeholder: 'https://meet.google.com/abc-defg-hij',
		autocomplete: 'off', 'aria-describedby': 'create-link-hint create-error' });
	const linkField = h('div', { class: 'field', hidden: true },
		h('label', { for: 'create-link' }, 'Meeting link'), link,
		h('span', { class: 'hint', id: 'create-link-hint' }, 'The Teams, Meet or Zoom address attendees should open.'));
	const sync = () => { linkField.hidden = !ext.checked; };
	inApp.addEventListener('change', sync);
	ext.addEventListener('change', sync);
	const submit = h('button', { type: 'submit', class: 'btn btn-primary' }, icon('plus'), h('span', null, 'Create meeting'));
	const form = h('form', { novalidate: true, 'aria-labelledby': 'create-h' },
		h('div', { class: 'field' }, h('label', { for: 'create-title' }, 'Title'), title),
		h('fieldset', null, h('legend', null, 'Where the meeting happens'),
			h('label', { class: 'choice', for: 'where-app' }, inApp, h('span', null, 'Video call in Meeting Sphinx')),
			h('label', { class: 'choice', for: 'where-link' }, ext, h('span', null, 'Elsewhere: Teams, Meet, Zoom or another link'))),
		linkField, err, submit);
	form.addEventListener('submit', async (ev) => {
		ev.preventDefault();
		const body = { title: title.value.trim() };
		if (!body.title) {
			showError(err, 'Give the meeting a title.');
			title.setAttribute('aria-invalid', 'true');
			title.focus();
			return;
		}
		title.removeAttribute('aria-invalid');
		if (ext.checked) {
			body.link = link.value.trim();
			if (!/^https?:\/\/\S+$/i.test(body.link)) {
				showError(err, 'Enter the meeting link, starting with https://');
				link.setAttribute('aria-invalid', 'true');
				link.focus();
				return;
			}
			link.removeAttribute('aria-invalid');
		}
		submit.disabled = true;
		showError(err, null);
		try {
			const r = await api('POST', '/api/meetings', body);
			app.go(`/m/${r.code}`);
		} catch (e) {
			if (e instanceof ApiError && e.status === 401)
				return app.needSignIn();
			showError(err, e);
		} finally {
			submit.disabled = false;
		}
	});
	return h('section', { class: 'panel', id: 'create-panel' }, h('h2', { id: 'create-h' }, 'Create a meeting'), form);
}
