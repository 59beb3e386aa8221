/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Login sessions of the web app (not the agent's capture sessions): who
 * is signed in, for api_*.c, ws.c and oidc.c. The cookie holds 256 random
 * bits (base64url); the store keeps only its SHA-256 (hex), the user, a
 * per-session CSRF token and the created / last-seen / expiry times. A
 * session ends at logout, after session_idle without use, or session_max
 * after login.
 *
 * Cookie: "__Host-sphinx_session" with Secure under TLS; the __Host- prefix
 * requires Secure, so without TLS the plain name "sphinx_session" is used.
 * Always HttpOnly, SameSite=Lax, Path=/.
 *
 * Owns: no state; sessions are store rows (store.h). Callers, on the
 * event-loop thread: http.c and ws.c (who is signed in), api_auth.c (sign
 * in, sign out), oidc.c (its state cookie), api_admin.c (random tokens and
 * their hash).
 */
#ifndef SPHINX_WEB_SESSION_H
#define SPHINX_WEB_SESSION_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct lws;

struct web_session_info {
	int64_t user_id;
	char id[65];		/* hex SHA-256 of the cookie value */
	char csrf[64];
	int64_t expires_at;	/* ms: the latest the session lives (session_max after sign-in) */
};

/* Random base64url token of nbytes random bytes into out (outlen >= 4/3 nbytes + 1). */
void web_session_random_token(char *out, size_t outlen, size_t nbytes);
/* Hex SHA-256 of s into out[65]. */
void web_session_hash(const char *s, char out[65]);

/* Create a session for user_id. ret_cookie receives the cookie value. 0 or -errno. */
int web_session_create(int64_t user_id, char ret_cookie[64], struct web_session_info *ret);

/* Look up the session named by the request's cookie. 0, -ENOENT (none/expired) or -errno. */
int web_session_from_request(struct lws *wsi, struct web_session_info *ret);

int web_session_destroy(const char *id_hash);

/*
 * Find the cookie called exactly name in a Cookie header value
 * ("a=1; b=2"): names are compared whole and case-sensitively, so
 * "x__Host-sphinx_session" never stands for "__Host-sphinx_session" (lws
 * 4.1's lws_http_cookie_get matches substrings). The first match wins.
 * Copies the value into out. 0, -ENOENT, or -E2BIG when it does not fit.
 */
int web_session_cookie_parse(const char *header, const char *name, char *out, size_t len);

/* web_session_cookie_parse on the request's Cookie header(s). */
int web_session_cookie_get(struct lws *wsi, const char *name, char *out, size_t len);

/* Set-Cookie header value for cookie (NULL: a deletion). Caller frees. */
char *web_session_cookie_header(const char *cookie);

#endif
