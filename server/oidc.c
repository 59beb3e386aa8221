// SPDX-License-Identifier: GPL-2.0-only
/*
 * OpenID Connect sign-in: authorization-code flow with PKCE (S256, always),
 * state and nonce.
 *
 * /auth/oidc/start creates a pending login — random state, nonce and PKCE
 * verifier, kept in memory for at most 5 minutes and usable once — binds
 * it to the browser with a short-lived HttpOnly cookie holding the state,
 * and redirects to the issuer. /auth/oidc/callback requires the state
 * query parameter to equal that cookie, consumes the pending login,
 * exchanges the code (with the verifier) at the token endpoint, verifies
 * the ID token (jwks.c), maps the identity to an account — by (iss, sub),
 * else by verified e-mail when oidc_link_by_email, else a new account when
 * oidc_auto_create — and starts a session. Endpoints come from discovery
 * (issuer/.well-known/openid-configuration) unless configured.
 */
#include <errno.h>
#include <string.h>
#include <libwebsockets.h>
#include <sodium.h>

#include "api.h"
#include "auth_local.h"
#include "cleanup.h"
#include "httpc.h"
#include "jwks.h"
#include "log.h"
#include "server.h"
#include "util.h"

#define PENDING_MAX 1024
#define PENDING_TTL_MS (300 * 1000)
#define STATE_COOKIE "sphinx_oidc_state"
#define GOOGLE_ISSUER "https://accounts.google.com"

struct pending {
	char state[48], nonce[48], verifier[64], return_to[256];
	int64_t created;
};

static struct pending pending[PENDING_MAX];

static struct {
	char *issuer, *authorization, *token, *jwks;
	bool loaded;
} ep;

static const char *issuer(void)
{
	if (srv->cfg->oidc_issuer[0])
		return srv->cfg->oidc_issuer;
	return strcmp(srv->cfg->oidc_preset, "google") == 0 ? GOOGLE_ISSUER : "";
}

bool oidc_enabled(void) { return issuer()[0] && srv->cfg->oidc_client_id[0]; }

static int discover(void)
{
	_cleanup_free_ char *url = NULL;
	json_t *d = NULL;
	const char *iss = issuer();
	size_t n = strlen(iss);
	int st;

	if (ep.loaded)
		return 0;
	if (asprintf(&url, "%.*s/.well-known/openid-configuration", (int)(n && iss[n - 1] == '/' ? n - 1 : n), iss) < 0)
		return -ENOMEM;
	st = httpc_json(url, NULL, &d);
	if (st != 200 || !json_is_object(d)) {
		json_decref(d);
		log_err("oidc: discovery at %s failed (status %d)", url, st);
		return -EIO;
	}
	const char *di = json_string_value(json_object_get(d, "issuer"));
	if (!di || strcmp(di, iss)) {
		log_err("oidc: discovery document names issuer '%s', configured '%s'", di ? di : "", iss);
		json_decref(d);
		return -EIO;
	}
#define PICK(field, key, conf) \
	free(ep.field); \
	ep.field = strdup(srv->cfg->conf[0] ? srv->cfg->conf : \
			  json_string_value(json_object_get(d, key)) ? json_string_value(json_object_get(d, key)) : "")
	PICK(authorization, "authorization_endpoint", oidc_authorization_endpoint);
	PICK(token, "token_endpoint", oidc_token_endpoint);
	PICK(jwks, "jwks_uri", oidc_jwks_uri);
#undef PICK
	free(ep.issuer);
	ep.issuer = strdup(iss);
	json_decref(d);
	if (!ep.authorization[0] || !ep.token[0] || !ep.jwks[0]) {
		log_err("oidc: issuer %s lacks an authorization, token or JWKS endpoint", iss);
		return -EIO;
	}
	ep.loaded = true;
	return 0;
}

static void redirect_uri(struct http_req *r, char *buf, size_t len)
{
	char host[256] = "";
	const char *pub = srv->cfg->public_url;

	if (srv->cfg->oidc_redirect_uri[0]) {
		snprintf(buf, len, "%s", srv->cfg->oidc_redirect_uri);
		return;
	}
	if (pub[0]) {
		size_t n = strlen(pub);
		snprintf(buf, len, "%.*s/auth/oidc/callback", (int)(pub[n - 1] == '/' ? n - 1 : n), pub);
		return;
	}
	lws_hdr_copy(r->wsi, host, sizeof(host), WSI_TOKEN_HOST);
	snprintf(buf, len, "%s://%s/auth/oidc/callback", srv->tls ? "https" : "http", host);
}

static char *state_cookie(const char *value)
{
	char *s = NULL;

	if (asprintf(&s, "%s=%s; Path=/auth/oidc; HttpOnly; SameSite=Lax; Max-Age=%d%s", STATE_COOKIE, value,
		     value[0] ? 300 : 0, srv->tls ? "; Secure" : "") < 0)
		return NULL;
	return s;
}

static struct pending *pending_slot(int64_t now)
{
	struct pending *oldest = &pending[0];

	for (size_t i = 0; i < PENDING_MAX; i++) {
		if (!pending[i].state[0] || now - pending[i].created > PENDING_TTL_MS)
			return &pending[i];
		if (pending[i].created < oldest->created)
			oldest = &pending[i];
	}
	return oldest;	/* full: the oldest pending login is dropped */
}

/* A page load by a browser (Sec-Fetch-Mode: navigate), not an API client. */
static bool browser_navigation(struct http_req *r)
{
	char mode[16];

	return lws_hdr_custom_copy(r->wsi, mode, sizeof(mode), "sec-fetch-mode:", 15) > 0 && strcmp(mode, "navigate") == 0;
}

/*
 * A browser that comes back from the issuer with a refusal lands on the web
 * app's sign-in page, which shows the reason in words, rather than on a JSON
 * document. API clients keep the JSON error.
 */
static int to_signin_page(struct http_req *r, const char *code, const char *why)
{
	_cleanup_free_ char *e_code = httpc_escape(code), *e_why = httpc_escape(why), *loc = NULL;

	if (!e_code || !e_why || asprintf(&loc, "/#/signin?error=%s&message=%s", e_code, e_why) < 0)
		return http_error(r, 500, "internal", "out of memory");
	return http_redirect(r, loc);
}

static int fail(struct http_req *r, unsigned status, const char *code, const char *why)
{
	return browser_navigation(r) ? to_signin_page(r, code, why) : http_error(r, status, code, why);
}

int oidc_start(struct http_req *r, const char *arg)
{
	_cleanup_free_ char *url = NULL, *e_client = NULL, *e_redirect = NULL, *e_scope = NULL, *cookie = NULL;
	unsigned char digest[crypto_hash_sha256_BYTES];
	char challenge[64], redirect[512], ret[256] = "/";
	struct pending *p;
	int64_t now = now_ms();

	if (!oidc_enabled())
		return fail(r, 404, "oidc_disabled", "OpenID Connect sign-in is not configured");
	if (discover() < 0)
		return fail(r, 502, "oidc_unavailable", "the identity provider cannot be reached");
	/* only a local path may be the destination after sign-in (no open redirect) */
	if (http_query(r, "return", ret, sizeof(ret)) < 0 || ret[0] != '/' || ret[1] == '/' || ret[1] == '\\' ||
	    strpbrk(ret, "\r\n"))
		snprintf(ret, sizeof(ret), "/");
	p = pending_slot(now);
	memset(p, 0, sizeof(*p));
	session_random_token(p->state, sizeof(p->state), 32);
	session_random_token(p->nonce, sizeof(p->nonce), 32);
	session_random_token(p->verifier, sizeof(p->verifier), 32);
	snprintf(p->return_to, sizeof(p->return_to), "%s", ret);
	p->created = now;
	crypto_hash_sha256(digest, (const unsigned char *)p->verifier, strlen(p->verifier));
	sodium_bin2base64(challenge, sizeof(challenge), digest, sizeof(digest), sodium_base64_VARIANT_URLSAFE_NO_PADDING);
	redirect_uri(r, redirect, sizeof(redirect));
	e_client = httpc_escape(srv->cfg->oidc_client_id);
	e_redirect = httpc_escape(redirect);
	e_scope = httpc_escape(srv->cfg->oidc_scopes);
	if (!e_client || !e_redirect || !e_scope ||
	    asprintf(&url, "%s%sresponse_type=code&client_id=%s&redirect_uri=%s&scope=%s&state=%s&nonce=%s"
		     "&code_challenge=%s&code_challenge_method=S256", ep.authorization,
		     strchr(ep.authorization, '?') ? "&" : "?", e_client, e_redirect, e_scope, p->state, p->nonce,
		     challenge) < 0)
		return http_error(r, 500, "internal", "out of memory");
	cookie = state_cookie(p->state);
	if (cookie)
		http_add_header(r, "set-cookie:", cookie);
	return http_redirect(r, url);
}

static struct pending *take_pending(const char *state)
{
	for (size_t i = 0; i < PENDING_MAX; i++)
		if (pending[i].state[0] && strcmp(pending[i].state, state) == 0)
			return &pending[i];
	return NULL;
}

/* Find or create the account for verified claims. 0 and *ret_id, or -errno with *why. */
static int map_account(json_t *claims, int64_t *ret_id, const char **why)
{
	const char *sub = json_string_value(json_object_get(claims, "sub"));
	const char *email = json_string_value(json_object_get(claims, "email"));
	const char *name = json_string_value(json_object_get(claims, "name"));
	const char *picture = json_string_value(json_object_get(claims, "picture"));
	bool verified = json_is_true(json_object_get(claims, "email_verified"));
	struct user u = { 0 };
	int r;

	if (picture && (strlen(picture) > 1024 || !str_has_prefix(picture, "https://")))
		picture = NULL;
	if (name && strlen(name) > 128)
		name = NULL;
	if (email && strlen(email) > 254)
		email = NULL;
	if (store_call(srv->store, user_find_oidc, ep.issuer, sub, &u) == 0)
		goto found;
	if (email && verified && srv->cfg->oidc_link_by_email &&
	    store_call(srv->store, user_find, "email", email, &u) == 0) {
		store_call(srv->store, user_link_oidc, u.id, ep.issuer, sub);
		log_info("oidc: linked %s identity %s to account %lld by verified e-mail", ep.issuer, sub, (long long)u.id);
		goto found;
	}
	if (!srv->cfg->oidc_auto_create) {
		*why = "no account for this identity (ask an administrator)";
		return -EPERM;
	}
	/* a username from the e-mail's local part when it is valid and free (agents map by username) */
	char uname[65] = "";
	if (email && verified) {
		size_t n = strcspn(email, "@");
		if (n > 0 && n < sizeof(uname)) {
			memcpy(uname, email, n);
			uname[n] = '\0';
			for (size_t i = 0; i < n; i++)
				if (uname[i] >= 'A' && uname[i] <= 'Z')
					uname[i] = (char)(uname[i] - 'A' + 'a');
			struct user other = { 0 };
			if (auth_local_check_username(uname) || store_call(srv->store, user_find, "username", uname, &other) == 0)
				uname[0] = '\0';
			user_clear(&other);
		}
	}
	r = store_call(srv->store, user_create, uname[0] ? uname : NULL, verified ? email : NULL,
		       name ? name : email ? email : sub, picture, NULL, ep.issuer, sub, now_ms(), ret_id);
	if (r == -EEXIST)	/* e-mail taken by an account we may not link to */
		r = store_call(srv->store, user_create, NULL, NULL, name ? name : sub, picture, NULL, ep.issuer, sub,
			       now_ms(), ret_id);
	if (r < 0) {
		*why = "cannot create the account";
		return r;
	}
	log_info("oidc: created account %lld for %s identity %s", (long long)*ret_id, ep.issuer, sub);
	return 0;
found:
	store_call(srv->store, user_update_profile, u.id, name, picture);
	*ret_id = u.id;
	user_clear(&u);
	return 0;
}

static int refuse(struct http_req *r, unsigned status, const char *code, const char *why)
{
	_cleanup_free_ char *clear = state_cookie("");
	char ip[64] = "";

	lws_get_peer_simple(r->wsi, ip, sizeof(ip));
	log_warn("oidc: sign-in refused from %s: %s", ip, why);
	if (clear)
		http_add_header(r, "set-cookie:", clear);
	return fail(r, status, code, why);
}

int oidc_callback(struct http_req *r, const char *arg)
{
	char code[1024], state[64], cookie[64], redirect[512], err[128];
	size_t clen = sizeof(cookie);
	_cleanup_free_ char *form = NULL, *e_code = NULL, *e_redirect = NULL, *e_client = NULL, *e_secret = NULL,
			    *clear = NULL;
	struct pending p;
	struct session_info s;
	json_t *tok = NULL, *claims = NULL;
	const char *why = NULL;
	int64_t uid;
	int st;

	if (!oidc_enabled())
		return fail(r, 404, "oidc_disabled", "OpenID Connect sign-in is not configured");
	if (http_query(r, "error", err, sizeof(err)) == 0)
		return refuse(r, 401, "oidc_denied", "the identity provider returned an error");
	if (http_query(r, "code", code, sizeof(code)) < 0 || http_query(r, "state", state, sizeof(state)) < 0)
		return refuse(r, 400, "oidc_bad_request", "missing code or state");
	if (lws_http_cookie_get(r->wsi, STATE_COOKIE, cookie, &clen) || strcmp(cookie, state))
		return refuse(r, 400, "oidc_state", "state does not match this browser's sign-in");
	struct pending *pp = take_pending(state);
	if (!pp)
		return refuse(r, 400, "oidc_state", "unknown or already used state");
	p = *pp;
	memset(pp, 0, sizeof(*pp));	/* single use */
	if (now_ms() - p.created > PENDING_TTL_MS)
		return refuse(r, 400, "oidc_state", "sign-in took longer than 5 minutes; start again");
	if (discover() < 0)
		return fail(r, 502, "oidc_unavailable", "the identity provider cannot be reached");
	redirect_uri(r, redirect, sizeof(redirect));
	e_code = httpc_escape(code);
	e_redirect = httpc_escape(redirect);
	e_client = httpc_escape(srv->cfg->oidc_client_id);
	e_secret = httpc_escape(srv->cfg->oidc_client_secret);
	if (!e_code || !e_redirect || !e_client || !e_secret ||
	    asprintf(&form, "grant_type=authorization_code&code=%s&redirect_uri=%s&client_id=%s&client_secret=%s"
		     "&code_verifier=%s", e_code, e_redirect, e_client, e_secret, p.verifier) < 0)
		return http_error(r, 500, "internal", "out of memory");
	st = httpc_json(ep.token, form, &tok);
	if (st != 200 || !json_string_value(json_object_get(tok, "id_token"))) {
		json_decref(tok);
		return refuse(r, 502, "oidc_token", "the token endpoint refused the code");
	}
	struct id_token_expect ex = {
		.issuer = ep.issuer, .client_id = srv->cfg->oidc_client_id, .nonce = p.nonce, .jwks_uri = ep.jwks,
		.issuer_alt = strcmp(ep.issuer, GOOGLE_ISSUER) == 0 ? "accounts.google.com" : NULL,
		.now_s = now_ms() / 1000,
	};
	int v = jwks_verify_id_token(json_string_value(json_object_get(tok, "id_token")), &ex, &claims, &why);
	json_decref(tok);
	if (v < 0) {
		char msg[160];
		snprintf(msg, sizeof(msg), "ID token refused: %s", why);
		return refuse(r, v == -EIO ? 502 : 401, "oidc_id_token", msg);
	}
	v = map_account(claims, &uid, &why);
	json_decref(claims);
	if (v < 0)
		return refuse(r, v == -EPERM ? 403 : 500, "oidc_account", why);
	if (api_sign_in(r, uid, &s) < 0)
		return http_error(r, 500, "internal", "cannot create a session");
	clear = state_cookie("");
	if (clear)
		http_add_header(r, "set-cookie:", clear);
	log_info("oidc: user %lld signed in through %s", (long long)uid, ep.issuer);
	return http_redirect(r, p.return_to);
}
