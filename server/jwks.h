/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * ID token verification against the issuer's JWKS (cjose).
 *
 * Checks, in order, each refusal naming the failed check: compact JWS;
 * header "alg" in the allow-list RS256 / ES256 (never "none", never HMAC);
 * a key from the issuer's JWKS only (never from jku / jwk / x5u headers),
 * chosen by "kid" and a key type matching the algorithm; the signature;
 * then the claims: iss exact, aud contains client_id (and azp equals it
 * when there are several audiences), exp in the future, iat not in the
 * future (120 s skew), nonce equal to the one we sent, sub present.
 *
 * The JWKS is cached for an hour; a token whose kid is unknown forces one
 * refresh (key rotation), at most once a minute. Thread-safe: the cache has
 * a lock, so verification may run on worker threads (it may block on the
 * JWKS fetch).
 *
 * Owns: the JWKS cache (the keys, the URI they came from, when they were
 * fetched and last force-refreshed), file statics in jwks.c behind its mutex.
 * Callers: oidc.c, from its callback job on a worker thread; the unit tests.
 */
#ifndef SPHINX_JWKS_H
#define SPHINX_JWKS_H

#include <stdint.h>
#include <jansson.h>

struct id_token_expect {
	const char *issuer;
	const char *issuer_alt;	/* Google also uses "accounts.google.com"; NULL otherwise */
	const char *client_id;
	const char *nonce;
	const char *jwks_uri;
	int64_t now_s;
};

/*
 * Verify jwt. On success returns 0 and *ret_claims (caller decrefs). On
 * failure returns -EACCES (refused; *why says which check) or -EIO (JWKS
 * unavailable).
 */
int jwks_verify_id_token(const char *jwt, const struct id_token_expect *e, json_t **ret_claims, const char **why);

#endif
