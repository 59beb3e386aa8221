// SPDX-License-Identifier: GPL-2.0-only
// Sign-in page: "Sign in with <provider>" (OpenID Connect, a plain link to
// /auth/oidc/start) and the local account form; a sign-up form when the
// server allows it (GET /api/config says which).
import { api, ApiError } from '../api.js';
import { h, sentence, setTitle, showError } from '../dom.js';
import { icon } from '../icons.js';

const providers = { google: 'Google', microsoft: 'Microsoft', oidc: 'single sign-on' };

export async function render(main, params, app) {
	setTitle('Sign in');
	let cfg;
	try {
		cfg = await api('GET', '/api/config');
	} catch (e) {
		cfg = { local_auth: true, signup: false, oidc: false };
		main.append(h('div', { class: 'banner banner-error', role: 'alert' }, icon('alert'),
			h('p', null, `Could not read the sign-in options: ${e.message}`)));
	}
	const box = h('div', { class: 'signin' });
	box.append(h('h1', null, 'Sign in'),
		h('p', { class: 'lead' }, 'Meetings and classes with an alert when someone records the screen.'));
	/* the server sends a refused OpenID Connect sign-in back here: /#/signin?error=…&message=… */
	if (app.query && app.query.get('error'))
		box.append(h('div', { class: 'banner banner-error', role: 'alert', id: 'signin-error' }, icon('alert'),
			h('p', null, `Sign-in was refused: ${sentence(app.query.get('message') || app.query.get('error'))}`)));
	const f = app.takeFlash();
	if (f)
		box.append(h('div', { class: `banner banner-${f.kind}`, role: 'status' }, h('p', null, f.text)));

	const panel = h('div', { class: 'panel' });
	box.append(panel);
	if (cfg.oidc) {
		const name = providers[cfg.oidc_provider] || cfg.oidc_provider || 'single sign-on';
		/* The OIDC return path is a server path; the page to go back to stays in sessionStorage. */
		panel.append(h('a', { class: 'btn btn-primary btn-block', id: 'oidc-signin',
			href: `${cfg.oidc_start || '/auth/oidc/start'}?return=${encodeURIComponent('/')}` },
		icon('key'), h('span', null, `Sign in with ${name}`)));
	}
	if (cfg.local_auth) {
		if (cfg.oidc)
			panel.append(h('div', { class: 'or' }, 'or with a local account'));
		panel.append(loginForm(app, !cfg.oidc));
		if (cfg.signup)
			box.append(signupPanel(app));
	}
	if (!cfg.oidc && !cfg.local_auth)
		panel.append(h('p', { role: 'alert' }, 'This server offers no way to sign in: ask its administrator.'));
	main.append(box);
}

function loginForm(app, primary) {
	const err = h('div', { class: 'form-error', role: 'alert', id: 'login-error', hidden: true });
	const user = h('input', { type: 'text', id: 'login-username', name: 'username', autocomplete: 'username',
		required: true, autocapitalize: 'none', spellcheck: 'false', 'aria-describedby': 'login-error' });
	const pass = h('input', { type: 'password', id: 'login-password', name: 'password',
		autocomplete: 'current-password', required: true, 'aria-describedby': 'login-error' });
	const submit = h('button', { type: 'submit', class: primary ? 'btn btn-primary btn-block' : 'btn btn-block' }, 'Sign in');
	const form = h('form', { 'aria-label': 'Sign in with a local account', novalidate: true },
		h('div', { class: 'field' }, h('label', { for: 'login-username' }, 'Username'), user),
		h('div', { class: 'field' }, h('label', { for: 'login-password' }, 'Password'), pass),
		err, submit);
	form.addEventListener('submit', async (ev) => {
		ev.preventDefault();
		if (!user.value.trim() || !pass.value) {
			showError(err, 'Enter your username and password.');
			(user.value.trim() ? pass : user).focus();
			return;
		}
		submit.disabled = true;
		showError(err, null);
		try {
			const data = await api('POST', '/api/auth/login', { username: user.value.trim(), password: pass.value });
			await app.signedIn(data);
		} catch (e) {
			showError(err, e.code === 'bad_credentials' ? 'Wrong username or password.' : e);
			pass.select();
			pass.focus();
		} finally {
			submit.disabled = false;
		}
	});
	return form;
}

function signupPanel(app) {
	const err = h('div', { class: 'form-error', role: 'alert', hidden: true });
	const fields = [
		['username', 'Username', 'text', 'username', 'Letters a–z, digits, dot, dash or underscore.'],
		['name', 'Your name', 'text', 'name', 'Shown to the others in a meeting.'],
		['email', 'E-mail', 'email', 'email', null],
		['password', 'Password', 'password', 'new-password', 'At least 8 characters.'],
	];
	const inputs = {};
	const form = h('form', { 'aria-label': 'Create a local account', novalidate: true });
	for (const [k, label, type, ac, hint] of fields) {
		inputs[k] = h('input', { type, id: `su-${k}`, name: k, autocomplete: ac, required: k !== 'name',
			'aria-describedby': hint ? `su-${k}-hint` : null });
		form.append(h('div', { class: 'field' }, h('label', { for: `su-${k}` }, label), inputs[k],
			hint ? h('span', { class: 'hint', id: `su-${k}-hint` }, hint) : null));
	}
	const submit = h('button', { type: 'submit', class: 'btn btn-block' }, 'Create account');
	form.append(err, submit);
	form.addEventListener('submit', async (ev) => {
		ev.preventDefault();
		submit.disabled = true;
		showError(err, null);
		const body = { username: inputs.username.value.trim(), email: inputs.email.value.trim(), password: inputs.password.value };
		if (inputs.name.value.trim())
			body.name = inputs.name.value.trim();
		try {
			await app.signedIn(await api('POST', '/api/auth/signup', body));
		} catch (e) {
			showError(err, e instanceof ApiError && e.code === 'taken' ? 'That username or e-mail is already taken.' : e);
		} finally {
			submit.disabled = false;
		}
	});
	const details = h('details', { class: 'panel' }, h('summary', null, h('strong', null, 'New here? Create an account')),
		h('div', { class: 'stack' }, form));
	return details;
}
