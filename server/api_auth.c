// SPDX-License-Identifier: GPL-2.0-only
/*
 * Accounts and sessions: health, config, sign-up, login, logout, me.
 *
 * Sign-up and login hash with argon2id, which takes ~0.1 s and 64 MiB: that
 * runs on a worker thread (http_defer), with the plain inputs copied into a
 * job and the store touched only before and after, on the loop thread.
 * Rate limits (ratelimit.h) come first and cost nothing: per address for
 * sign-in and sign-up (generous: a lecture hall is one NAT), and per
 * username for wrong passwords (strict: login_account_failures per
 * login_lockout). The username's token is taken before hashing, so a
 * hundred parallel guesses cannot all pass, and given back on success.
 */
#include <errno.h>
#include <string.h>
#include <libwebsockets.h>
#include <sodium.h>

#include "api.h"
#include "auth_local.h"
#include "cleanup.h"
#include "cluster.h"
#include "drain.h"
#include "json_shape.h"
#include "lobby.h"
#include "log.h"
#include "proto_lobby.h"
#include "ratelimit.h"
#include "server.h"

/* Sign-in and sign-up limits are global: N nodes counting apart would allow N times as much. */
static struct rate_rule per_min(const char *name, uint64_t burst, uint64_t per_minute)
{
	return (struct rate_rule){ name, (double)per_minute / 60.0, (double)burst, true };
}

static struct rate_rule account_rule(void)
{
	double lock_s = (double)srv->cfg->login_lockout_ms / 1000.0;

	return (struct rate_rule){ "login:account", lock_s > 0 ? (double)srv->cfg->login_account_failures / lock_s : 0,
				   (double)srv->cfg->login_account_failures, true };
}

/* Take a token for r's address under rule; when there is none, prepare the 429 and return true. */
static bool address_limited(struct http_req *r, const struct rate_rule *rule, const char *what)
{
	char ip[64];
	int64_t retry = 0;

	if (ratelimit_take(rule, http_peer_address(r, ip, sizeof(ip)), now_ms(), &retry))
		return false;
	http_too_many(r, retry, what);
	return true;
}

/* A job's copy of secret text: wiped before it is freed. */
static void free_secret(char *s)
{
	if (s) {
		sodium_memzero(s, strlen(s));
		free(s);
	}
}

int api_sign_in(struct http_req *r, int64_t user_id, struct web_session_info *ret)
{
	char cookie[64];
	_cleanup_free_ char *hdr = NULL;
	int e = web_session_create(user_id, cookie, ret);

	if (e < 0)
		return e;
	hdr = web_session_cookie_header(cookie);
	if (!hdr)
		return -ENOMEM;
	return http_add_header(r, "set-cookie:", hdr);
}

static int signed_in(struct http_req *r, unsigned status, int64_t user_id)
{
	struct web_session_info s;
	struct user u = { 0 };

	if (api_sign_in(r, user_id, &s) < 0 || store_call(srv->store, user_get, user_id, &u) < 0)
		return http_error(r, 500, "internal", "cannot create a session");
	json_t *j = json_pack("{s:o, s:s}", "user", user_json(&u), "csrf", s.csrf);
	user_clear(&u);
	return http_json(r, status, j);
}

/* The store is asked at most this often; health checks in between get the last answer. */
#define HEALTH_STORE_EVERY_MS 1000

/*
 * GET /api/health, for a balancer's checks (server/deploy/haproxy.cfg):
 * 200 while this node can serve, 503 when its store does not answer or it
 * is draining (drain.h). The store check is real (store_ops.ping, one
 * round trip) but made at most once a second, so a balancer polling every
 * node often costs the database nothing much.
 */
int api_health(struct http_req *r, const char *arg)
{
	static int64_t checked_at;
	static bool store_ok;
	int64_t now = now_ms();
	bool draining = drain_active();

	if (!checked_at || now - checked_at >= HEALTH_STORE_EVERY_MS || now < checked_at) {
		bool ok = store_call(srv->store, ping) == 0;
		if (ok != store_ok && checked_at)
			log_warn("health: the store %s", ok ? "answers again" : "does not answer: health is 503");
		store_ok = ok;
		checked_at = now;
	}
	return http_json(r, store_ok && !draining ? 200 : 503,
			 json_pack("{s:b, s:s, s:s, s:b, s:s}", "ok", store_ok && !draining, "node",
				   srv->cfg->node_name, "store", store_ok ? "ok" : "down", "draining", draining,
				   "version", "0.1.0"));
}

int api_config(struct http_req *r, const char *arg)
{
	return http_json(r, 200, json_pack("{s:b, s:b, s:b, s:s, s:s}", "local_auth", srv->cfg->local_auth,
					   "signup", srv->cfg->local_auth && srv->cfg->signup, "oidc", oidc_enabled(),
					   "oidc_start", "/auth/oidc/start",
					   "oidc_provider", srv->cfg->oidc_preset[0] ? srv->cfg->oidc_preset : "oidc"));
}

/* ------------------------------------------------ work off the loop */

/* One sign-up or login: copied inputs, the worker's result. */
struct pw_job {
	char *username, *password, *email, *name;	/* password wiped on free */
	char *stored_hash;				/* login: NULL for an unknown user */
	int64_t user_id;
	unsigned long long ops;
	size_t mem;
	/* out */
	int result;			/* 0 or -errno */
	char hash[128];			/* sign-up */
};

static void pw_job_free(void *arg)
{
	struct pw_job *j = arg;

	if (!j)
		return;
	free(j->username);
	free_secret(j->password);
	free(j->email);
	free(j->name);
	free(j->stored_hash);
	sodium_memzero(j->hash, sizeof(j->hash));
	free(j);
}

/* Worker thread: sign-up hashes, login verifies. */
static void hash_work(void *arg)
{
	struct pw_job *j = arg;

	if (j->email)
		j->result = auth_local_hash(j->password, j->ops, j->mem, j->hash);
	else
		j->result = auth_local_verify(j->stored_hash, j->password, j->ops, j->mem);
}

static int signup_finish(struct http_req *r, void *arg)
{
	struct pw_job *j = arg;
	int64_t id;
	int e;

	if (j->result < 0)
		return http_error(r, 503, "busy", "cannot hash the password now");
	e = store_call(srv->store, user_create, j->username, j->email, j->name, NULL, j->hash, NULL, NULL, now_ms(),
		       &id);
	if (e == -EEXIST)
		return http_error(r, 409, "taken", "that username or e-mail is already registered");
	if (e < 0)
		return http_error(r, 500, "internal", "cannot create the account");
	log_info("auth: local account '%s' (id %lld) signed up", j->username, (long long)id);
	return signed_in(r, 201, id);
}

static int login_finish(struct http_req *r, void *arg)
{
	struct pw_job *j = arg;
	struct rate_rule acct = account_rule();
	char ip[64];

	if (j->result < 0) {
		log_warn("auth: failed login for '%s' from %s", j->username, http_peer_address(r, ip, sizeof(ip)));
		return http_error(r, 401, "bad_credentials", "wrong username or password");
	}
	ratelimit_refund(&acct, j->username, now_ms());	/* only failures count */
	log_info("auth: '%s' (id %lld) signed in", j->username, (long long)j->user_id);
	return signed_in(r, 200, j->user_id);
}

int api_signup(struct http_req *r, const char *arg)
{
	const char *username = http_body_str(r, "username"), *password = http_body_str(r, "password");
	const char *email = http_body_str(r, "email"), *name = http_body_str(r, "name");
	const char *why;

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
	struct rate_rule rule =
		per_min("signup:address", srv->cfg->signup_address_burst, srv->cfg->signup_address_per_min);
	if (address_limited(r, &rule, "sign-up from this address"))
		return 0;
	struct pw_job *j = calloc(1, sizeof(*j));
	if (!j || !(j->password = strdup(password)) || !(j->username = strdup(username)) ||
	    !(j->email = strdup(email)) || !(j->name = strdup(name ? name : username))) {
		pw_job_free(j);
		return http_error(r, 500, "internal", "out of memory");
	}
	j->ops = srv->pw_ops;
	j->mem = srv->pw_mem;
	return http_defer(r, hash_work, signup_finish, pw_job_free, j);
}

int api_login(struct http_req *r, const char *arg)
{
	const char *username = http_body_str(r, "username"), *password = http_body_str(r, "password");
	struct rate_rule addr =
		per_min("login:address", srv->cfg->login_address_burst, srv->cfg->login_address_per_min);
	struct rate_rule acct = account_rule();
	int64_t retry = 0;

	if (!srv->cfg->local_auth)
		return http_error(r, 403, "local_auth_disabled", "local accounts are disabled on this server");
	if (!username || !password || strlen(password) > 256 || strlen(username) > 64)
		return http_error(r, 400, "bad_request", "username and password are required");
	if (address_limited(r, &addr, "sign-in from this address"))
		return 0;
	if (!ratelimit_take(&acct, username, now_ms(), &retry))
		return http_too_many(r, retry, "wrong passwords for this account; it is locked for a while");
	struct pw_job *j = calloc(1, sizeof(*j));
	if (!j || !(j->password = strdup(password)) || !(j->username = strdup(username))) {
		pw_job_free(j);
		return http_error(r, 500, "internal", "out of memory");
	}
	store_call(srv->store, user_password_hash, username, &j->user_id, &j->stored_hash);
	j->ops = srv->pw_ops;
	j->mem = srv->pw_mem;
	int ret = http_defer(r, hash_work, login_finish, pw_job_free, j);
	if (ret != HTTP_PENDING)	/* busy: no password was tried */
		ratelimit_refund(&acct, username, now_ms());
	return ret;
}

int api_logout(struct http_req *r, const char *arg)
{
	_cleanup_free_ char *hdr = web_session_cookie_header(NULL);

	web_session_destroy(r->sess.id);
	if (hdr)
		http_add_header(r, "set-cookie:", hdr);
	lobby_close_user_everywhere(r->user.id, PROTO_LOBBY_CLOSE_SIGNED_OUT, "signed out");
	cluster_notify_signout(r->user.id);	/* and on the other nodes */
	log_info("auth: user %lld signed out", (long long)r->user.id);
	return http_json(r, 200, json_pack("{s:b}", "ok", 1));
}

int api_me(struct http_req *r, const char *arg)
{
	return http_json(r, 200, json_pack("{s:o, s:s}", "user", user_json(&r->user), "csrf", r->sess.csrf));
}
