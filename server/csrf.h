/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Cross-site request checks. A state-changing request (POST/PUT/DELETE) or a
 * WebSocket upgrade is accepted only when its Origin (if the browser sent
 * one) is our own origin or one configured in allowed_origins, and its
 * Sec-Fetch-Site (if sent) is "same-origin" or "none". Both fail closed: a
 * header present but too long to read (Origin of 256 bytes or more) is a
 * refusal, never "absent". Requests made with a
 * session cookie must also carry the session's CSRF token in the
 * X-CSRF-Token header (synchronizer token, compared in constant time).
 *
 * Owns: no state. Callers: http.c (state-changing requests) and ws.c
 * (upgrades), on the event-loop thread.
 */
#ifndef SPHINX_CSRF_H
#define SPHINX_CSRF_H

#include <stdbool.h>

struct lws;

/* NULL when the request's Origin / Sec-Fetch-Site are acceptable, else why not. */
const char *csrf_check_origin(struct lws *wsi, bool check_fetch_site);

/*
 * NULL unless a Sec-Fetch-Site header is present and says anything but
 * "same-origin" or "none" (then why). Every WebSocket upgrade is checked
 * with it: browsers send it on upgrades too, and only a page of ours may
 * open a lobby socket with the user's cookie.
 */
const char *csrf_check_fetch_site(struct lws *wsi);

/* true when the X-CSRF-Token header equals token. */
bool csrf_check_token(struct lws *wsi, const char *token);

#endif
