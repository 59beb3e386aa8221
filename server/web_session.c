// SPDX-License-Identifier: GPL-2.0-only
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <libwebsockets.h>
#include <sodium.h>

#include "server.h"
#include "web_session.h"

/* Write last_seen at most this often, so reads do not turn into writes. */
#define TOUCH_EVERY_MS 60000

void web_session_random_token(char *out, size_t outlen, size_t nbytes)
{
	unsigned char raw[64];

	if (nbytes > sizeof(raw))
		nbytes = sizeof(raw);
	randombytes_buf(raw, nbytes);
	sodium_bin2base64(out, outlen, raw, nbytes, sodium_base64_VARIANT_URLSAFE_NO_PADDING);
}

void web_session_hash(const char *s, char out[65])
{
	unsigned char h[crypto_hash_sha256_BYTES];

	crypto_hash_sha256(h, (const unsigned char *)s, strlen(s));
	sodium_bin2hex(out, 65, h, sizeof(h));
}

int web_session_create(int64_t user_id, char ret_cookie[64], struct web_session_info *ret)
{
	struct session_row row = { .user_id = user_id };
	int64_t now = now_ms();
	int r;

	web_session_random_token(ret_cookie, 64, 32);
	web_session_random_token(row.csrf, sizeof(row.csrf), 32);
	row.created_at = row.last_seen = now;
	row.expires_at = now + (int64_t)srv->cfg->session_max_ms;
	ret->user_id = user_id;
	ret->expires_at = row.expires_at;
	web_session_hash(ret_cookie, ret->id);
	memcpy(ret->csrf, row.csrf, sizeof(ret->csrf));
	r = store_call(srv->store, session_put, ret->id, &row);
	return r < 0 ? r : 0;
}

int web_session_cookie_parse(const char *header, const char *name, char *out, size_t len)
{
	size_t nlen = strlen(name);

	for (const char *p = header; p && *p;) {
		p += strspn(p, " \t;");
		size_t pair = strcspn(p, ";");
		const char *eq = memchr(p, '=', pair);

		if (eq) {
			size_t klen = (size_t)(eq - p), vlen = pair - klen - 1;
			while (klen && (p[klen - 1] == ' ' || p[klen - 1] == '\t'))
				klen--;
			if (klen == nlen && memcmp(p, name, nlen) == 0) {
				const char *v = eq + 1;
				while (vlen && (*v == ' ' || *v == '\t')) {
					v++;
					vlen--;
				}
				while (vlen && (v[vlen - 1] == ' ' || v[vlen - 1] == '\t'))
					vlen--;
				if (vlen >= len)
					return -E2BIG;
				memcpy(out, v, vlen);
				out[vlen] = '\0';
				return 0;
			}
		}
		p += pair;
	}
	return -ENOENT;
}

int web_session_cookie_get(struct lws *wsi, const char *name, char *out, size_t len)
{
	char hdr[4096];

	if (lws_hdr_copy(wsi, hdr, sizeof(hdr), WSI_TOKEN_HTTP_COOKIE) <= 0)
		return -ENOENT;
	return web_session_cookie_parse(hdr, name, out, len);
}

int web_session_from_request(struct lws *wsi, struct web_session_info *ret)
{
	char cookie[128];
	struct session_row row;
	int64_t now = now_ms();
	int r;

	if (web_session_cookie_get(wsi, srv->cookie_name, cookie, sizeof(cookie)) < 0)
		return -ENOENT;
	if (strlen(cookie) < 20)
		return -ENOENT;
	web_session_hash(cookie, ret->id);
	r = store_call(srv->store, session_get, ret->id, &row);
	if (r < 0)
		return r;
	if (row.expires_at < now || row.last_seen + (int64_t)srv->cfg->session_idle_ms < now) {
		store_call(srv->store, session_delete, ret->id);
		return -ENOENT;
	}
	if (now - row.last_seen > TOUCH_EVERY_MS)
		store_call(srv->store, session_touch, ret->id, now);
	ret->user_id = row.user_id;
	ret->expires_at = row.expires_at;
	memcpy(ret->csrf, row.csrf, sizeof(ret->csrf));
	return 0;
}

int web_session_destroy(const char *id_hash)
{
	return store_call(srv->store, session_delete, id_hash);
}

char *web_session_cookie_header(const char *cookie)
{
	char *s = NULL;
	long max_age = cookie ? (long)(srv->cfg->session_max_ms / 1000) : 0;

	if (asprintf(&s, "%s=%s; Path=/; HttpOnly; SameSite=Lax; Max-Age=%ld%s", srv->cookie_name,
		     cookie ? cookie : "", max_age, srv->tls ? "; Secure" : "") < 0)
		return NULL;
	return s;
}
