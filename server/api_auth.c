// SPDX-License-Identifier: GPL-2.0-only
/* Accounts and sessions: health, config, sign-up, login, logout, me. */
#include <errno.h>
#include <string.h>
#include <libwebsockets.h>

#include "api.h"
#include "auth_local.h"
#include "cleanup.h"
#include "lobby.h"
#include "log.h"
#include "server.h"

json_t *api_user_json(const struct user *u)
{
	return json_pack("{s:I, s:s?, s:s?, s:s, s:s?, s:b}", "id", (json_int_t)u->id, "username", u->username,
			 "email", u->email, "name", u->name ? u->name : "", "picture", u->picture, "admin", u->is_admin);
}

static const char *peer(struct http_req *r, char *buf, size_t len)
{
	buf[0] = '\0';
	if (r->wsi)
		lws_get_peer_simple(r->wsi, buf, len);
	return buf;
}

int api_sign_in(struct http_req *r, int64_t user_id, struct session_info *ret)
{
	char cookie[64];
	_cleanup_free_ char *hdr = NULL;
	int e = session_create(user_id, cookie, ret);

	if (e < 0)
		return e;
	hdr = session_cookie_header(cookie);
	if (!hdr)
		return -ENOMEM;
	return http_add_header(r, "set-cookie:", hdr);
}

static int signed_in(struct http_req *r, unsigned status, int64_t user_id)
{
	struct session_info s;
	struct user u = { 0 };

	if (api_sign_in(r, user_id, &s) < 0 || store_call(srv->store, user_get, user_id, &u) < 0)
		return http_error(r, 500, "internal", "cannot create a session");
	json_t *j = json_pack("{s:o, s:s}", "user", api_user_json(&u), "csrf", s.csrf);
	user_clear(&u);
	return http_json(r, status, j);
}

int api_health(struct http_req *r, const char *arg)
{
	return http_json(r, 200, json_pack("{s:b, s:s}", "ok", 1, "version", "0.1.0"));
}

int api_config(struct http_req *r, const char *arg)
{
	return http_json(r, 200, json_pack("{s:b, s:b, s:b, s:s, s:s}", "local_auth", srv->cfg->local_auth,
					   "signup", srv->cfg->local_auth && srv->cfg->signup, "oidc", oidc_enabled(),
					   "oidc_start", "/auth/oidc/start",
					   "oidc_provider", srv->cfg->oidc_preset[0] ? srv->cfg->oidc_preset : "oidc"));
}

int api_signup(struct http_req *r, const char *arg)
{
	const char *username = http_body_str(r, "username"), *password = http_body_str(r, "password");
	const char *email = http_body_str(r, "email"), *name = http_body_str(r, "name");
	const char *why;
	char hash[128];
	int64_t id;
	int e;

	if (!srv->cfg->local_auth || !srv->cfg->signup)
		return http_error(r, 403, "signup_closed", "sign-up is closed on this server");
	if (!username || !password || !email)
		return http_error(r, 400, "bad_request", "username, email and password are required");
	if ((why = auth_local_check_username(username)) || (why = auth_local_check_password(password)))
		return http_error(r, 400, "bad_request", why);
	if (strlen(email) > 254 || !strchr(email, '@') || strchr(email, ' '))
		return http_error(r, 400, "bad_request", "email must look like name@domain");
	if (name && (strlen(name) == 0 || strlen(name) > 128))
		return http_error(r, 400, "bad_request", "name must be 1 to 128 bytes");
	if (auth_local_hash(password, srv->pw_ops, srv->pw_mem, hash) < 0)
		return http_error(r, 503, "busy", "cannot hash the password now");
	e = store_call(srv->store, user_create, username, email, name ? name : username, NULL, hash, NULL, NULL,
		       now_ms(), &id);
	if (e == -EEXIST)
		return http_error(r, 409, "taken", "that username or e-mail is already registered");
	if (e < 0)
		return http_error(r, 500, "internal", "cannot create the account");
	log_info("auth: local account '%s' (id %lld) signed up", username, (long long)id);
	return signed_in(r, 201, id);
}

int api_login(struct http_req *r, const char *arg)
{
	const char *username = http_body_str(r, "username"), *password = http_body_str(r, "password");
	_cleanup_free_ char *hash = NULL;
	char ip[64];
	int64_t id = 0;

	if (!srv->cfg->local_auth)
		return http_error(r, 403, "local_auth_disabled", "local accounts are disabled on this server");
	if (!username || !password || strlen(password) > 256 || strlen(username) > 64)
		return http_error(r, 400, "bad_request", "username and password are required");
	store_call(srv->store, user_password_hash, username, &id, &hash);
	if (auth_local_verify(hash, password, srv->pw_ops, srv->pw_mem) < 0) {
		log_warn("auth: failed login for '%s' from %s", username, peer(r, ip, sizeof(ip)));
		return http_error(r, 401, "bad_credentials", "wrong username or password");
	}
	log_info("auth: '%s' (id %lld) signed in", username, (long long)id);
	return signed_in(r, 200, id);
}

int api_logout(struct http_req *r, const char *arg)
{
	_cleanup_free_ char *hdr = session_cookie_header(NULL);

	session_destroy(r->sess.id);
	if (hdr)
		http_add_header(r, "set-cookie:", hdr);
	lobby_close_user_everywhere(r->user.id, 4001, "signed out");
	log_info("auth: user %lld signed out", (long long)r->user.id);
	return http_json(r, 200, json_pack("{s:b}", "ok", 1));
}

int api_me(struct http_req *r, const char *arg)
{
	return http_json(r, 200, json_pack("{s:o, s:s}", "user", api_user_json(&r->user), "csrf", r->sess.csrf));
}
