// SPDX-License-Identifier: GPL-2.0-only
#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <cjose/cjose.h>

#include "httpc.h"
#include "jwks.h"

#define JWKS_TTL_S 3600
#define FORCED_REFRESH_MIN_S 60
#define IAT_SKEW_S 120
#define EXP_SKEW_S 30

/* the cache is used from worker threads (oidc.c): one lock guards it */
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static json_t *cached;		/* {"keys":[...]} */
static char *cached_uri;
static int64_t fetched_at, forced_at;

static int fetch(const char *uri, int64_t now)
{
	json_t *j = NULL;
	int st = httpc_json(uri, NULL, &j);

	if (st != 200 || !json_is_array(json_object_get(j, "keys"))) {
		json_decref(j);
		return -EIO;
	}
	json_decref(cached);
	cached = j;
	free(cached_uri);
	cached_uri = strdup(uri);
	fetched_at = now;
	return 0;
}

/*
 * Whether s[0..n) is base64url as JOSE writes it: no padding, nothing but
 * [A-Za-z0-9_-], and not a length no encoding has (n % 4 == 1). cjose
 * 0.6's decoder does not refuse such text: it fails an assert() and
 * aborts the whole server (a '=' inside a segment, "A=AA"), so anything
 * from the issuer is checked here before cjose decodes it.
 */
static bool b64url_ok(const char *s, size_t n)
{
	if (n % 4 == 1)
		return false;
	for (size_t i = 0; i < n; i++) {
		char c = s[i];
		bool alnum = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
		if (!alnum && c != '-' && c != '_')
			return false;
	}
	return true;
}

/* A compact JWS: three base64url segments separated by dots. */
static bool compact_ok(const char *jwt)
{
	const char *p = jwt;

	for (int seg = 0; seg < 3; seg++) {
		size_t n = strcspn(p, ".");
		if (!b64url_ok(p, n) || (seg < 2 ? p[n] != '.' : p[n] != '\0'))
			return false;
		p += n + 1;
	}
	return true;
}

/* Key for kid with the key type the algorithm needs; NULL when none. */
static json_t *find_key(const char *kid, const char *kty)
{
	size_t i;
	json_t *k, *only = NULL;
	int candidates = 0;

	json_array_foreach(json_object_get(cached, "keys"), i, k) {
		const char *t = json_string_value(json_object_get(k, "kty"));
		const char *id = json_string_value(json_object_get(k, "kid"));
		const char *use = json_string_value(json_object_get(k, "use"));
		if (!t || strcmp(t, kty) || (use && strcmp(use, "sig")))
			continue;
		if (kid && id && strcmp(kid, id) == 0)
			return k;
		if (!kid) {
			only = k;
			candidates++;
		}
	}
	/* a token without kid is accepted only when the set leaves no choice */
	return candidates == 1 ? only : NULL;
}

/*
 * The JWK text handed to cjose: only the public members the key type has
 * (RSA n, e; EC crv, x, y), each checked with b64url_ok() first, since
 * cjose decodes every member it finds and aborts on the malformed ones.
 * NULL when a member is missing or malformed. Caller frees.
 */
static char *public_key_text(json_t *key, const char *kty)
{
	static const char *const rsa[] = { "n", "e", NULL }, *const ec[] = { "x", "y", NULL };
	const char *const *members = strcmp(kty, "RSA") == 0 ? rsa : ec;
	json_t *pub = json_pack("{s:s}", "kty", kty);
	char *text = NULL;

	if (!pub)
		return NULL;
	if (members == ec) {
		const char *crv = json_string_value(json_object_get(key, "crv"));
		if (!crv || json_object_set_new(pub, "crv", json_string(crv)) < 0)
			goto out;
	}
	for (size_t i = 0; members[i]; i++) {
		json_t *v = json_object_get(key, members[i]);
		if (!json_is_string(v) || !b64url_ok(json_string_value(v), json_string_length(v)) ||
		    json_object_set(pub, members[i], v) < 0)
			goto out;
	}
	text = json_dumps(pub, JSON_COMPACT);
out:
	json_decref(pub);
	return text;
}

static bool aud_ok(json_t *claims, const char *client_id)
{
	json_t *aud = json_object_get(claims, "aud"), *a;
	const char *azp = json_string_value(json_object_get(claims, "azp"));
	bool found = false;
	size_t i;

	if (json_is_string(aud))
		return strcmp(json_string_value(aud), client_id) == 0 && (!azp || strcmp(azp, client_id) == 0);
	if (!json_is_array(aud))
		return false;
	json_array_foreach(aud, i, a)
		found |= json_is_string(a) && strcmp(json_string_value(a), client_id) == 0;
	if (!found)
		return false;
	if (json_array_size(aud) > 1 || azp)
		return azp && strcmp(azp, client_id) == 0;
	return true;
}

static int check_claims(json_t *c, const struct id_token_expect *e, const char **why)
{
	const char *iss = json_string_value(json_object_get(c, "iss"));
	const char *nonce = json_string_value(json_object_get(c, "nonce"));
	const char *sub = json_string_value(json_object_get(c, "sub"));
	json_t *exp = json_object_get(c, "exp"), *iat = json_object_get(c, "iat");

	if (!iss || (strcmp(iss, e->issuer) && !(e->issuer_alt && strcmp(iss, e->issuer_alt) == 0)))
		return *why = "wrong issuer (iss)", -EACCES;
	if (!aud_ok(c, e->client_id))
		return *why = "wrong audience (aud/azp)", -EACCES;
	if (!json_is_number(exp) || json_number_value(exp) + EXP_SKEW_S < (double)e->now_s)
		return *why = "expired (exp)", -EACCES;
	if (iat && (!json_is_number(iat) || json_number_value(iat) > (double)(e->now_s + IAT_SKEW_S)))
		return *why = "issued in the future (iat)", -EACCES;
	if (!nonce || !e->nonce || strcmp(nonce, e->nonce))
		return *why = "nonce mismatch", -EACCES;
	if (!sub || !*sub || strlen(sub) > 255)
		return *why = "no subject (sub)", -EACCES;
	return 0;
}

static int verify_locked(const char *jwt, const struct id_token_expect *e, json_t **ret_claims, const char **why)
{
	cjose_err err;
	cjose_jws_t *jws = NULL;
	cjose_jwk_t *jwk = NULL;
	const char *alg, *kid, *kty;
	uint8_t *plain = NULL;
	size_t plain_len = 0;
	json_t *key, *claims = NULL;
	char *keytext = NULL;
	int r = -EACCES;

	*why = "malformed token";
	if (!jwt || strlen(jwt) > 16384 || !compact_ok(jwt))
		return -EACCES;
	jws = cjose_jws_import(jwt, strlen(jwt), &err);
	if (!jws)
		return -EACCES;
	cjose_header_t *hdr = cjose_jws_get_protected(jws);
	alg = hdr ? cjose_header_get(hdr, CJOSE_HDR_ALG, &err) : NULL;
	kid = hdr ? cjose_header_get(hdr, CJOSE_HDR_KID, &err) : NULL;
	if (!alg || (strcmp(alg, "RS256") && strcmp(alg, "ES256"))) {
		*why = "algorithm not allowed (only RS256 and ES256)";
		goto out;
	}
	kty = strcmp(alg, "RS256") == 0 ? "RSA" : "EC";
	if (!cached || !cached_uri || strcmp(cached_uri, e->jwks_uri) || e->now_s - fetched_at > JWKS_TTL_S) {
		if (fetch(e->jwks_uri, e->now_s) < 0) {
			*why = "issuer's JWKS unavailable";
			r = -EIO;
			goto out;
		}
	}
	key = find_key(kid, kty);
	if (!key && e->now_s - forced_at >= FORCED_REFRESH_MIN_S) {
		/* maybe the issuer rotated its keys */
		forced_at = e->now_s;
		if (fetch(e->jwks_uri, e->now_s) == 0)
			key = find_key(kid, kty);
	}
	if (!key) {
		*why = "no key in the issuer's JWKS matches the token (kid)";
		goto out;
	}
	keytext = public_key_text(key, kty);
	jwk = keytext ? cjose_jwk_import(keytext, strlen(keytext), &err) : NULL;
	if (!jwk) {
		*why = "unusable key in the issuer's JWKS";
		goto out;
	}
	if (!cjose_jws_verify(jws, jwk, &err)) {
		*why = "bad signature";
		goto out;
	}
	if (!cjose_jws_get_plaintext(jws, &plain, &plain_len, &err)) {
		*why = "unreadable payload";
		goto out;
	}
	claims = json_loadb((const char *)plain, plain_len, 0, NULL);
	if (!json_is_object(claims)) {
		*why = "payload is not a JSON object";
		goto out;
	}
	r = check_claims(claims, e, why);
	if (r == 0) {
		*why = NULL;
		*ret_claims = claims;
		claims = NULL;
	}
out:
	json_decref(claims);
	free(keytext);
	if (jwk)
		cjose_jwk_release(jwk);
	cjose_jws_release(jws);
	return r;
}

int jwks_verify_id_token(const char *jwt, const struct id_token_expect *e, json_t **ret_claims, const char **why)
{
	int r;

	pthread_mutex_lock(&lock);
	r = verify_locked(jwt, e, ret_claims, why);
	pthread_mutex_unlock(&lock);
	return r;
}
