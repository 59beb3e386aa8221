// SPDX-License-Identifier: GPL-2.0-only
// HTTP API client (docs/api.md). Every failure becomes an ApiError carrying
// the server's machine code and its sentence, which the pages show as is; a
// network failure gets a sentence of its own. State-changing requests send
// the session's CSRF token in X-CSRF-Token.

export class ApiError extends Error {
	constructor(status, code, message) {
		super(message);
		this.status = status;
		this.code = code;
	}
}

const session = { csrf: null, user: null };
export function currentUser() { return session.user; }
export function setSession(data) {
	session.user = data ? data.user : null;
	session.csrf = data ? data.csrf : null;
}

const reasons = {
	400: 'the server could not understand the request',
	401: 'you are not signed in',
	403: 'you are not allowed to do this',
	404: 'not found',
	405: 'this action is not available',
	409: 'this conflicts with the current state',
	410: 'this is no longer available',
	413: 'the request is too large',
	429: 'too many requests: wait a moment and try again',
	500: 'the server had an internal error',
	502: 'the server could not reach a service it needs',
	503: 'the server is busy or unavailable: try again shortly',
};

export async function api(method, path, body) {
	const headers = { Accept: 'application/json' };
	if (body !== undefined)
		headers['Content-Type'] = 'application/json';
	if (method !== 'GET' && session.csrf)
		headers['X-CSRF-Token'] = session.csrf;
	let r;
	try {
		r = await fetch(path, {
			method, headers, credentials: 'same-origin', cache: 'no-store',
			body: body === undefined ? undefined : JSON.stringify(body),
		});
	} catch (e) {
		throw new ApiError(0, 'network', 'cannot reach the server: check the network connection and try again');
	}
	const text = await r.text();
	let data = null;
	try { data = text ? JSON.parse(text) : null; } catch (e) { data = null; }
	if (!r.ok) {
		const msg = data && data.message ? data.message
			: `${reasons[r.status] || 'the request failed'} (HTTP ${r.status})`;
		throw new ApiError(r.status, (data && data.error) || `http_${r.status}`, msg);
	}
	return data;
}

export const get = (p) => api('GET', p);
export const post = (p, b) => api('POST', p, b === undefined ? {} : b);
