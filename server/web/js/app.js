// SPDX-License-Identifier: GPL-2.0-only
// Meeting Sphinx web app: a small hash router over four pages.
//   #/signin            sign in (OIDC and local accounts)
//   #/                  home: meetings, create, join by code
//   #/m/CODE            lobby: people, alerts, chat, in-app call
//   #/m/CODE/details    attendance, recording log, timeline, CSV
//   #/fleet             admins: every enrolled machine, problems first
// Each page module exports render(main, params, app) and may return a
// cleanup function, called when the user navigates away (the lobby closes
// its socket and hangs up the call there).
import { api, ApiError, currentUser, setSession } from './api.js';
import { button, clear, h, setTitle, toast } from './dom.js';
import * as signin from './pages/signin.js';
import * as home from './pages/home.js';
import * as lobby from './pages/lobby.js';
import * as details from './pages/details.js';
import * as fleet from './pages/fleet.js';
import { icon } from './icons.js';

const routes = [
	{ re: /^\/signin$/, page: signin, public: true },
	{ re: /^\/?$/, page: home },
	// meeting codes: abc-defg-hij (older meetings keep six digits)
	{ re: /^\/m\/([a-z]{3}-[a-z]{4}-[a-z]{3}|\d{6})$/, page: lobby },
	{ re: /^\/m\/([a-z]{3}-[a-z]{4}-[a-z]{3}|\d{6})\/details$/, page: details },
	{ re: /^\/fleet$/, page: fleet },
];

const main = document.getElementById('main');
let cleanup = null;
let flash = null;

export const app = {
	go(path) {
		if (location.hash === '#' + path)
			route();
		else
			location.hash = path;
	},
	/* A message shown once, at the top of the next page (e.g. "you were banned"). */
	flash(kind, text) { flash = { kind, text }; },
	takeFlash() { const f = flash; flash = null; return f; },
	user: () => currentUser(),
	async signedIn(data) {
		setSession(data);
		renderUser();
		const back = sessionStorage.getItem('sphinx.return');
		sessionStorage.removeItem('sphinx.return');
		app.go(back && back !== '/signin' ? back : '/');
	},
	/* Called by pages on a 401: remember where we were, go to sign-in. */
	needSignIn() {
		const here = location.hash.replace(/^#/, '') || '/';
		if (!here.startsWith('/signin'))
			sessionStorage.setItem('sphinx.return', here);
		setSession(null);
		renderUser();
		app.go('/signin');
	},
	toast,
};

function renderUser() {
	const box = document.getElementById('topbar-user');
	clear(box);
	const u = currentUser();
	if (!u)
		return;
	box.append(
		u.admin ? h('a', { class: 'btn btn-small', href: '#/fleet', id: 'nav-fleet' }, icon('list'), h('span', null, 'Fleet')) : null,
		h('span', { class: 'who' }, 'Signed in as ', h('strong', null, u.name || u.username)),
		button('Sign out', { icon: 'leave', class: 'btn btn-small', onclick: signOut }),
	);
}

async function signOut() {
	try {
		await api('POST', '/api/auth/logout', {});
	} catch (e) {
		if (!(e instanceof ApiError && e.status === 401)) {
			toast(`Sign out failed: ${e.message}`);
			return;
		}
	}
	setSession(null);
	renderUser();
	app.go('/signin');
}

async function route() {
	const full = location.hash.replace(/^#/, '') || '/';
	const q = full.indexOf('?');
	const path = q < 0 ? full : full.slice(0, q);
	app.query = new URLSearchParams(q < 0 ? '' : full.slice(q + 1));
	let match = null, r;
	for (r of routes) {
		match = r.re.exec(path);
		if (match)
			break;
	}
	if (cleanup) {
		try { cleanup(); } catch (e) { console.error(e); }
		cleanup = null;
	}
	clear(main);
	if (!match) {
		setTitle('Not found');
		main.append(h('div', { class: 'panel' },
			h('h1', { tabindex: '-1' }, 'Page not found'),
			h('p', null, 'There is no page at this address. '), h('a', { href: '#/' }, 'Go to your meetings')));
		focusHeading();
		return;
	}
	if (!r.public && !currentUser()) {
		app.needSignIn();
		return;
	}
	try {
		cleanup = (await r.page.render(main, match.slice(1), app)) || null;
	} catch (e) {
		if (e instanceof ApiError && e.status === 401)
			return app.needSignIn();
		console.error(e);
		clear(main);
		main.append(h('div', { class: 'banner banner-error', role: 'alert' }, `Something went wrong: ${e.message}`));
	}
	focusHeading();
}

/* After a navigation, move focus to the page's heading so screen readers announce it. */
function focusHeading() {
	const h1 = main.querySelector('h1');
	if (h1) {
		h1.setAttribute('tabindex', '-1');
		h1.focus({ preventScroll: true });
	}
	window.scrollTo(0, 0);
}

async function boot() {
	try {
		setSession(await api('GET', '/api/me'));
	} catch (e) {
		setSession(null);
		if (!(e instanceof ApiError && e.status === 401)) {
			clear(main);
			main.append(h('div', { class: 'banner banner-error', role: 'alert' },
				`Meeting Sphinx cannot start: ${e.message}`));
			return;
		}
	}
	renderUser();
	/* back from an OpenID Connect sign-in (the server returns to "/"): go where we were */
	const back = sessionStorage.getItem('sphinx.return');
	if (currentUser() && back && (!location.hash || location.hash === '#/')) {
		sessionStorage.removeItem('sphinx.return');
		history.replaceState(null, '', '#' + back);
	}
	window.addEventListener('hashchange', route);
	if (!currentUser() && !/^#\/signin(\?|$)/.test(location.hash)) {
		app.needSignIn();
		return;
	}
	if (currentUser() && /^#\/signin(\?|$)/.test(location.hash))
		location.hash = '/';
	route();
}

boot();
