// SPDX-License-Identifier: GPL-2.0-only
/*
 * libFuzzer target: ID token verification (jwks.c) against an issuer's key
 * set. The issuer is played by this file: it replaces httpc.c (the target
 * links without it), and "fetching" the JWKS parses the key set the input
 * gives. First byte, even: the rest is a JWKS document, HARNESS_MSG_SEP,
 * then a compact token, both as the fuzzer writes them (malformed JWS,
 * alg none or HS256, keys of the wrong type, missing or repeated kids...).
 * Odd: the rest is a token payload (the claims) that this file signs with a
 * real RSA or EC key whose public half is in the key set, so the claim
 * checks (iss, aud/azp, exp, iat, nonce, sub) run on fuzzed claims; the
 * second byte picks the key, the "alg" header and the "kid" header.
 *
 * Whatever the input, an accepted token must have been signed here, by an
 * allowed algorithm, and carry the expected issuer, nonce and a subject.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <errno.h>
#include <cjose/cjose.h>
#include <jansson.h>

#include "fuzz_server_harness.h"
#include "httpc.h"
#include "jwks.h"

#define ISSUER "https://issuer.example"
#define CLIENT "client-1"
#define NONCE "nonce-1"
#define NOW_S 1700000000

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* ---------------------------------------------- the issuer's HTTP side */

static const uint8_t *jwks_doc;
static size_t jwks_len;

int httpc_json(const char *url, const char *form, json_t **ret_json)
{
	*ret_json = jwks_doc ? json_loadb((const char *)jwks_doc, jwks_len, 0, NULL) : NULL;
	return 200;
}

char *httpc_escape(const char *s)
{
	return strdup(s);
}

/* ------------------------------------------------------ signing keys */

static cjose_jwk_t *rsa, *ec;
static char *signed_jwks;	/* {"keys":[rsa public, ec public]} */

static void keys_init(void)
{
	static const uint8_t e[] = { 1, 0, 1 };
	cjose_err err;
	json_t *set;
	char *a, *b;

	if (rsa)
		return;
	rsa = cjose_jwk_create_RSA_random(2048, e, sizeof(e), &err);
	ec = cjose_jwk_create_EC_random(CJOSE_JWK_EC_P_256, &err);
	if (!rsa || !ec || !cjose_jwk_set_kid(rsa, "k-rsa", 5, &err) || !cjose_jwk_set_kid(ec, "k-ec", 4, &err))
		abort();
	a = cjose_jwk_to_json(rsa, false, &err);
	b = cjose_jwk_to_json(ec, false, &err);
	set = json_pack("{s:[o,o]}", "keys", json_loads(a, 0, NULL), json_loads(b, 0, NULL));
	signed_jwks = set ? json_dumps(set, JSON_COMPACT) : NULL;
	if (!signed_jwks)
		abort();
	json_decref(set);
	free(a);
	free(b);
}

/* Sign payload; sel picks key, alg and kid. NULL when cjose refuses (e.g. HS256 with an RSA key). */
static cjose_jws_t *sign(uint8_t sel, const uint8_t *payload, size_t len)
{
	static const char *const algs[] = { "RS256", "ES256", "PS256", "ES384", "none", "HS256" };
	static const char *const kids[] = { NULL, "k-rsa", "k-ec", "other" };
	bool use_ec = sel & 1;
	const char *alg = (sel >> 1) % 4 == 0 ? (use_ec ? "ES256" : "RS256") : algs[(sel >> 1) % 6];
	const char *kid = kids[(sel >> 4) % 4];
	cjose_header_t *hdr;
	cjose_jws_t *jws;
	cjose_err err;

	hdr = cjose_header_new(&err);
	if (!hdr || !cjose_header_set(hdr, CJOSE_HDR_ALG, alg, &err) ||
	    (kid && !cjose_header_set(hdr, CJOSE_HDR_KID, kid, &err)))
		abort();
	jws = cjose_jws_sign(use_ec ? ec : rsa, hdr, payload, len, &err);
	cjose_header_release(hdr);
	return jws;
}

/* ----------------------------------------------------------- target */

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static unsigned long n;
	char uri[64];
	struct id_token_expect e = {
		.issuer = ISSUER, .client_id = CLIENT, .nonce = NONCE, .jwks_uri = uri, .now_s = NOW_S,
	};
	cjose_jws_t *jws = NULL;
	const char *compact = NULL, *why = NULL;
	char *jwt = NULL;
	json_t *claims = NULL;
	cjose_err err;
	int r;

	if (size < 2 || size > 32768)
		return 0;
	harness_init();
	keys_init();
	/* a new key set URI each time: the cache never answers for an earlier input */
	snprintf(uri, sizeof(uri), ISSUER "/jwks/%lu", n++);
	if (data[0] & 1) {
		jwks_doc = (const uint8_t *)signed_jwks;
		jwks_len = strlen(signed_jwks);
		jws = sign(data[1], data + 2, size - 2);
		if (!jws)
			return 0;
		if (!cjose_jws_export(jws, &compact, &err))
			abort();
		jwt = strdup(compact);
	} else {
		const uint8_t *sep = memchr(data + 1, HARNESS_MSG_SEP, size - 1);

		if (!sep)
			return 0;
		jwks_doc = data + 1;
		jwks_len = (size_t)(sep - (data + 1));
		jwt = strndup((const char *)sep + 1, size - (size_t)(sep + 1 - data));
	}
	if (!jwt)
		abort();
	r = jwks_verify_id_token(jwt, &e, &claims, &why);
	if (r == 0) {
		const char *iss = json_string_value(json_object_get(claims, "iss"));
		const char *nonce = json_string_value(json_object_get(claims, "nonce"));
		const char *sub = json_string_value(json_object_get(claims, "sub"));

		if (!(data[0] & 1))
			abort();	/* accepted a token this file never signed */
		if (!iss || strcmp(iss, ISSUER) || !nonce || strcmp(nonce, NONCE) || !sub || !*sub || why)
			abort();
		json_decref(claims);
	} else if (!why || (r != -EACCES && r != -EIO)) {
		abort();	/* a refusal names the failed check */
	}
	free(jwt);
	if (jws)
		cjose_jws_release(jws);
	return 0;
}
