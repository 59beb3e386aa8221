// SPDX-License-Identifier: GPL-2.0-only
/*
 * OpenID Connect sign-in: authorization-code flow with PKCE (S256, always),
 * state and nonce.
 *
 * /auth/oidc/start creates a pending login — random state, nonce and PKCE
 * verifier, kept in the store (the callback may reach another node of a
 * cluster) for at most 5 minutes, at most PENDING_MAX of them (the oldest
 * goes first), and usable once: the callback takes it with a delete that
 * one node alone wins — binds
 * it to the browser with a short-lived HttpOnly cookie holding the state,
 * and redirects to the issuer. /auth/oidc/callback requires the state
 * query parameter to equal that cookie, consumes the pending login,
 * exchanges the code (with the verifier) at the token endpoint, verifies
 * the ID token (jwks.c), maps the identity to an account — by (iss, sub),
 * else by verified e-mail when oidc_link_by_email, else a new account when
 * oidc_auto_create — and starts a session. Endpoints come from discovery
 * (issuer/.well-known/openid-configuration) unless configured.
 *
 * Every outbound request (discovery, token, JWKS) blocks for up to 5 s, so
 * it runs on a worker thread (http_defer): the loop thread copies what the
 * job needs into a struct oidc_job, the worker fills in endpoints, an error
 * or the verified claims as JSON text, and the loop thread then maps the
 * account and answers. Only the loop thread touches `ep` and the store.
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
#include "ratelimit.h"
#include "server.h"
#include "web_session.h"
#include "util.h"

#define PENDING_MAX 1024
#define PENDING_TTL_MS (300 * 1000)
/* under TLS the __Host- prefix (which needs Secure and Path=/) keeps subdomains from planting one */
#define STATE_COOKIE "sphinx_oidc_state"
#define STATE_COOKIE_HOST "__Host-sphinx_oidc_state"
#define GOOGLE_ISSUER "https://accounts.google.com"


struct endpoints {
	char *issuer, *authorization, *token, *jwks;
};

static struct endpoints ep;	/* from discovery (or configuration); loop thread only */
static bool ep_loaded;

static const char *issuer(void)
{
	if (srv->cfg->oidc_issuer[0])
		return srv->cfg->oidc_issuer;
	return strcmp(srv->cfg->oidc_preset, "google") == 0 ? GOOGLE_ISSUER : "";
}

bool oidc_enabled(void) { return issuer()[0] && srv->cfg->oidc_client_id[0]; }

static void endpoints_clear(struct endpoints *e)
{
	free(e->issuer);
	free(e->authorization);
	free(e->token);
	free(e->jwks);
	*e = (struct endpoints){ 0 };
}

/* What an OIDC worker job is given (copied on the loop thread) and hands back. */
struct oidc_job {
	/* in */
	bool discover;			/* fetch the discovery document first */
	bool discovered;		/* out: it was fetched and is usable */
	char *iss, *conf_auth, *conf_token, *conf_jwks;	/* for discovery */
	struct endpoints ep;		/* in when !discover, out when discover */
	char *form;			/* callback: token request body; NULL: start */
	char *client_id;
	struct oidc_pending p;		/* callback: the consumed pending login */
	char ret[256];			/* start: where to go after sign-in */
	int64_t now_s;
	/* out */
	unsigned status;		/* 0: success, else the HTTP status to answer */
	const char *code, *why;		/* static strings when status != 0 */
	char why_buf[160], log[256];
	char *claims;			/* callback: verified claims, JSON text */
};

static void oidc_job_free(void *arg)
{
	struct oidc_job *j = arg;

	if (!j)
		return;
	free(j->iss);
	free(j->conf_auth);
	free(j->conf_token);
	free(j->conf_jwks);
	endpoints_clear(&j->ep);
	if (j->form) {
		sodium_memzero(j->form, strlen(j->form));	/* holds the client secret */
		free(j->form);
	}
	free(j->client_id);
	sodium_memzero(&j->p, sizeof(j->p));
	free(j->claims);
	free(j);
}

static char *pick(const char *conf, json_t *d, const char *key)
{
	const char *v = conf && conf[0] ? conf : json_string_value(json_object_get(d, key));

	return strdup(v ? v : "");
}

/* Worker thread: fetch the discovery document into j->ep. 0 or -EIO with j->log. */
static int discover_fetch(struct oidc_job *j)
{
	_cleanup_free_ char *url = NULL;
	json_t *d = NULL;
	size_t n = strlen(j->iss);
	int st;

	if (asprintf(&url, "%.*s/.well-known/openid-configuration", (int)(n && j->iss[n - 1] == '/' ? n - 1 : n),
		     j->iss) < 0)
		return -ENOMEM;
	st = httpc_json(url, NULL, &d);
	if (st != 200 || !json_is_object(d)) {
		json_decref(d);
		snprintf(j->log, sizeof(j->log), "discovery at %s failed (status %d)", url, st);
		return -EIO;
	}
	const char *di = json_string_value(json_object_get(d, "issuer"));
	if (!di || strcmp(di, j->iss)) {
		snprintf(j->log, sizeof(j->log), "discovery document names issuer '%s', configured '%s'", di ? di : "",
			 j->iss);
		json_decref(d);
		return -EIO;
	}
	endpoints_clear(&j->ep);
	j->ep.authorization = pick(j->conf_auth, d, "authorization_endpoint");
	j->ep.token = pick(j->conf_token, d, "token_endpoint");
	j->ep.jwks = pick(j->conf_jwks, d, "jwks_uri");
	j->ep.issuer = strdup(j->iss);
	json_decref(d);
	if (!j->ep.authorization || !j->ep.token || !j->ep.jwks || !j->ep.issuer || !j->ep.authorization[0] ||
	    !j->ep.token[0] || !j->ep.jwks[0]) {
		snprintf(j->log, sizeof(j->log), "issuer %s lacks an authorization, token or JWKS endpoint", j->iss);
		return -EIO;
	}
	j->discovered = true;
	return 0;
}

/* Loop thread: a job for the current configuration (discovery when not yet done). NULL: out of memory. */
static struct oidc_job *job_new(void)
{
	struct oidc_job *j = calloc(1, sizeof(*j));
	bool ok;

	if (!j)
		return NULL;
	j->discover = !ep_loaded;
	j->now_s = now_ms() / 1000;
	if (j->discover)
		ok = (j->iss = strdup(issuer())) && (j->conf_auth = strdup(srv->cfg->oidc_authorization_endpoint)) &&
		     (j->conf_token = strdup(srv->cfg->oidc_token_endpoint)) &&
		     (j->conf_jwks = strdup(srv->cfg->oidc_jwks_uri));
	else
		ok = (j->ep.issuer = strdup(ep.issuer)) && (j->ep.authorization = strdup(ep.authorization)) &&
		     (j->ep.token = strdup(ep.token)) && (j->ep.jwks = strdup(ep.jwks));
	if (!ok || !(j->client_id = strdup(srv->cfg->oidc_client_id))) {
		oidc_job_free(j);
		return NULL;
	}
	return j;
}

/* Loop thread: adopt what a job discovered, once. */
static void job_commit(struct oidc_job *j)
{
	if (j->log[0])
		log_err("oidc: %s", j->log);
	if (!j->discovered || ep_loaded)
		return;
	endpoints_clear(&ep);
	ep.issuer = TAKE_PTR(j->ep.issuer);
	ep.authorization = TAKE_PTR(j->ep.authorization);
	ep.token = TAKE_PTR(j->ep.token);
	ep.jwks = TAKE_PTR(j->ep.jwks);
	ep_loaded = true;
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

static const char *state_cookie_name(void) { return srv->tls ? STATE_COOKIE_HOST : STATE_COOKIE; }

static char *state_cookie(const char *value)
{
	char *s = NULL;

	if (asprintf(&s, "%s=%s; Path=%s; HttpOnly; SameSite=Lax; Max-Age=%d%s", state_cookie_name(), value,
		     srv->tls ? "/" : "/auth/oidc", value[0] ? 300 : 0, srv->tls ? "; Secure" : "") < 0)
		return NULL;
	return s;
}

/* A page load by a browser (Sec-Fetch-Mode: navigate), not an API client. */
static bool browser_navigation(struct http_req *r)
{
	char mode[16];

	return lws_hdr_custom_copy(r->wsi, mode, sizeof(mode), "sec-fetch-mode:", 15) > 0 &&
	       strcmp(mode, "navigate") == 0;
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

/* Loop thread, endpoints known: create the pending login and redirect to the issuer. */
static int start_redirect(struct http_req *r, const char *ret)
{
	_cleanup_free_ char *url = NULL, *e_client = NULL, *e_redirect = NULL, *e_scope = NULL, *cookie = NULL;
	unsigned char digest[crypto_hash_sha256_BYTES];
	char challenge[64], redirect[512];
	int64_t now = now_ms();
	struct oidc_pending pend = { .created = now }, *p = &pend;
	int e;

	web_session_random_token(p->state, sizeof(p->state), 32);
	web_session_random_token(p->nonce, sizeof(p->nonce), 32);
	web_session_random_token(p->verifier, sizeof(p->verifier), 32);
	snprintf(p->return_to, sizeof(p->return_to), "%s", ret);
	e = store_call(srv->store, oidc_pending_put, p, PENDING_TTL_MS, PENDING_MAX, now);
	if (e < 0) {
		sodium_memzero(&pend, sizeof(pend));
		return fail(r, 503, "store_unavailable", "cannot start a sign-in now; try again shortly");
	}
	crypto_hash_sha256(digest, (const unsigned char *)p->verifier, strlen(p->verifier));
	sodium_bin2base64(challenge, sizeof(challenge), digest, sizeof(digest),
			  sodium_base64_VARIANT_URLSAFE_NO_PADDING);
	redirect_uri(r, redirect, sizeof(redirect));
	e_client = httpc_escape(srv->cfg->oidc_client_id);
	e_redirect = httpc_escape(redirect);
	e_scope = httpc_escape(srv->cfg->oidc_scopes);
	if (!e_client || !e_redirect || !e_scope ||
	    asprintf(&url, "%s%sresponse_type=code&client_id=%s&redirect_uri=%s&scope=%s&state=%s&nonce=%s"
		     "&code_challenge=%s&code_challenge_method=S256", ep.authorization,
		     strchr(ep.authorization, '?') ? "&" : "?", e_client, e_redirect, e_scope, p->state, p->nonce,
		     challenge) < 0) {
		sodium_memzero(&pend, sizeof(pend));
		return http_error(r, 500, "internal", "out of memory");
	}
	cookie = state_cookie(p->state);
	sodium_memzero(&pend, sizeof(pend));	/* the store keeps it; this copy goes */
	if (cookie)
		http_add_header(r, "set-cookie:", cookie);
	return http_redirect(r, url);
}

/* Worker thread. */
static void discover_work(void *arg)
{
	struct oidc_job *j = arg;

	if (j->discover && discover_fetch(j) < 0) {
		j->status = 502;
		j->code = "oidc_unavailable";
		j->why = "the identity provider cannot be reached";
	}
}

static int start_finish(struct http_req *r, void *arg)
{
	struct oidc_job *j = arg;

	job_commit(j);
	if (j->status)
		return fail(r, j->status, j->code, j->why);
	return start_redirect(r, j->ret);
}

int oidc_start(struct http_req *r, const char *arg)
{
	struct rate_rule rule = { "oidc:address", (double)srv->cfg->oidc_address_per_min / 60.0,
				  (double)srv->cfg->oidc_address_burst, true };
	char ret[256] = "/", ip[64];
	struct oidc_job *j;
	int64_t retry = 0;

	if (!oidc_enabled())
		return fail(r, 404, "oidc_disabled", "OpenID Connect sign-in is not configured");
	if (!ratelimit_take(&rule, http_peer_address(r, ip, sizeof(ip)), now_ms(), &retry))
		return http_too_many(r, retry, "sign-in starts from this address");
	/* only a local path may be the destination after sign-in (no open redirect) */
	if (http_query(r, "return", ret, sizeof(ret)) < 0 || !http_local_path(ret))
		snprintf(ret, sizeof(ret), "/");
	if (ep_loaded)
		return start_redirect(r, ret);
	j = job_new();
	if (!j)
		return http_error(r, 500, "internal", "out of memory");
	snprintf(j->ret, sizeof(j->ret), "%s", ret);
	return http_defer(r, discover_work, start_finish, oidc_job_free, j);
}

/* Find or create the account for verified claims. 0 and *ret_id, or -errno with *why. */
static int map_account(json_t *claims, const char *iss, int64_t *ret_id, const char **why)
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
	if (store_call(srv->store, user_find_oidc, iss, sub, &u) == 0)
		goto found;
	/*
	 * Link by e-mail only when both sides vouch for the address: the ID
	 * token (email_verified) and the account (created by an admin or an
	 * identity provider). A self-signed-up account may carry anybody's
	 * address, and linking it would hand that person's SSO sign-in to
	 * whoever signed up first: such an identity gets an account of its own
	 * (below, without the e-mail the other account holds).
	 */
	if (email && verified && srv->cfg->oidc_link_by_email &&
	    store_call(srv->store, user_find, "email", email, &u) == 0) {
		if (store_call(srv->store, user_email_verified, u.id) == 1) {
			store_call(srv->store, user_link_oidc, u.id, iss, sub);
			log_info("oidc: linked %s identity %s to account %lld by verified e-mail", iss, sub,
				 (long long)u.id);
			goto found;
		}
		log_warn("oidc: not linking %s identity %s to account %lld: that account's e-mail was never verified",
			 iss, sub, (long long)u.id);
		user_clear(&u);
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
			if (auth_local_check_username(uname) ||
			    store_call(srv->store, user_find, "username", uname, &other) == 0)
				uname[0] = '\0';
			user_clear(&other);
		}
	}
	r = store_call(srv->store, user_create, uname[0] ? uname : NULL, verified ? email : NULL,
		       name ? name : email ? email : sub, picture, NULL, iss, sub, now_ms(), ret_id);
	if (r == -EEXIST)	/* e-mail taken by an account we may not link to */
		r = store_call(srv->store, user_create, NULL, NULL, name ? name : sub, picture, NULL, iss, sub,
			       now_ms(), ret_id);
	if (r < 0) {
		*why = "cannot create the account";
		return r;
	}
	if (verified && email)
		store_call(srv->store, user_set_email_verified, *ret_id, true);
	log_info("oidc: created account %lld for %s identity %s", (long long)*ret_id, iss, sub);
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
	char ip[64];

	log_warn("oidc: sign-in refused from %s: %s", http_peer_address(r, ip, sizeof(ip)), why);
	if (clear)
		http_add_header(r, "set-cookie:", clear);
	return fail(r, status, code, why);
}

/* Worker thread: discovery when needed, the code exchange, the ID token check. */
static void callback_work(void *arg)
{
	struct oidc_job *j = arg;
	json_t *tok = NULL, *claims = NULL;
	const char *why = NULL;
	int st, v;

	discover_work(j);
	if (j->status)
		return;
	st = httpc_json(j->ep.token, j->form, &tok);
	if (st != 200 || !json_string_value(json_object_get(tok, "id_token"))) {
		json_decref(tok);
		j->status = 502;
		j->code = "oidc_token";
		j->why = "the token endpoint refused the code";
		return;
	}
	struct id_token_expect ex = {
		.issuer = j->ep.issuer, .client_id = j->client_id, .nonce = j->p.nonce, .jwks_uri = j->ep.jwks,
		.issuer_alt = strcmp(j->ep.issuer, GOOGLE_ISSUER) == 0 ? "accounts.google.com" : NULL,
		.now_s = j->now_s,
	};
	v = jwks_verify_id_token(json_string_value(json_object_get(tok, "id_token")), &ex, &claims, &why);
	json_decref(tok);
	if (v < 0) {
		snprintf(j->why_buf, sizeof(j->why_buf), "ID token refused: %s", why);
		j->status = v == -EIO ? 502 : 401;
		j->code = "oidc_id_token";
		j->why = j->why_buf;
		return;
	}
	j->claims = json_dumps(claims, JSON_COMPACT);
	json_decref(claims);
	if (!j->claims) {
		j->status = 500;
		j->code = "internal";
		j->why = "out of memory";
	}
}

static int callback_finish(struct http_req *r, void *arg)
{
	struct oidc_job *j = arg;
	_cleanup_free_ char *clear = NULL;
	struct web_session_info s;
	const char *why = NULL;
	json_t *claims;
	int64_t uid;
	int v;

	job_commit(j);
	if (j->status)
		return j->status == 502 && strcmp(j->code, "oidc_unavailable") == 0
			       ? fail(r, j->status, j->code, j->why)
			       : refuse(r, j->status, j->code, j->why);
	claims = json_loads(j->claims, 0, NULL);
	if (!claims)
		return http_error(r, 500, "internal", "out of memory");
	v = map_account(claims, j->ep.issuer, &uid, &why);
	json_decref(claims);
	if (v < 0)
		return refuse(r, v == -EPERM ? 403 : 500, "oidc_account", why);
	if (api_sign_in(r, uid, &s) < 0)
		return http_error(r, 500, "internal", "cannot create a session");
	clear = state_cookie("");
	if (clear)
		http_add_header(r, "set-cookie:", clear);
	log_info("oidc: user %lld signed in through %s", (long long)uid, j->ep.issuer);
	return http_redirect(r, j->p.return_to);
}

int oidc_callback(struct http_req *r, const char *arg)
{
	char code[1024], state[64], cookie[64], redirect[512], err[128];
	_cleanup_free_ char *e_code = NULL, *e_redirect = NULL, *e_client = NULL, *e_secret = NULL;
	struct oidc_job *j;

	if (!oidc_enabled())
		return fail(r, 404, "oidc_disabled", "OpenID Connect sign-in is not configured");
	if (http_query(r, "error", err, sizeof(err)) == 0)
		return refuse(r, 401, "oidc_denied", "the identity provider returned an error");
	if (http_query(r, "code", code, sizeof(code)) < 0 || http_query(r, "state", state, sizeof(state)) < 0)
		return refuse(r, 400, "oidc_bad_request", "missing code or state");
	if (web_session_cookie_get(r->wsi, state_cookie_name(), cookie, sizeof(cookie)) < 0 || strcmp(cookie, state))
		return refuse(r, 400, "oidc_state", "state does not match this browser's sign-in");
	j = job_new();
	if (!j)
		return http_error(r, 500, "internal", "out of memory");
	int e = store_call(srv->store, oidc_pending_take, state, &j->p);	/* single use: deleted as read */
	if (e < 0) {
		oidc_job_free(j);
		if (e != -ENOENT)
			return fail(r, 503, "store_unavailable", "cannot finish the sign-in now; try again shortly");
		return refuse(r, 400, "oidc_state", "unknown or already used state");
	}
	if (now_ms() - j->p.created > PENDING_TTL_MS) {
		oidc_job_free(j);
		return refuse(r, 400, "oidc_state", "sign-in took longer than 5 minutes; start again");
	}
	redirect_uri(r, redirect, sizeof(redirect));
	e_code = httpc_escape(code);
	e_redirect = httpc_escape(redirect);
	e_client = httpc_escape(srv->cfg->oidc_client_id);
	e_secret = httpc_escape(srv->cfg->oidc_client_secret);
	if (!e_code || !e_redirect || !e_client || !e_secret ||
	    asprintf(&j->form, "grant_type=authorization_code&code=%s&redirect_uri=%s&client_id=%s&client_secret=%s"
		     "&code_verifier=%s", e_code, e_redirect, e_client, e_secret, j->p.verifier) < 0) {
		j->form = NULL;
		oidc_job_free(j);
		return http_error(r, 500, "internal", "out of memory");
	}
	return http_defer(r, callback_work, callback_finish, oidc_job_free, j);
}
