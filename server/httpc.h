/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Minimal blocking HTTP client (libcurl) for the identity provider:
 * discovery, JWKS and token requests. Responses are capped at 256 KiB and
 * every request at 5 seconds; only http and https are allowed, TLS peers
 * are verified. It blocks, so it runs only on worker threads (worker.h),
 * never on the event loop; it is thread-safe (curl's global setup runs
 * once, each call has its own handle, CURLOPT_NOSIGNAL).
 *
 * Owns: no state (one curl handle per call). Callers: jwks.c and oidc.c, on
 * worker threads.
 */
#ifndef SPHINX_HTTPC_H
#define SPHINX_HTTPC_H

#include <jansson.h>

/*
 * GET url (form == NULL) or POST form (application/x-www-form-urlencoded).
 * On success returns the HTTP status and sets *ret_json to the parsed body
 * (NULL when it is not JSON). -errno on transport failure.
 */
int httpc_json(const char *url, const char *form, json_t **ret_json);

/* URL-encode s (caller frees). */
char *httpc_escape(const char *s);

#endif
