/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * HTTP plumbing on libwebsockets: one struct http_req per transaction holds
 * the method, path, body (capped at 64 KiB) and the response being built.
 * Routes (routes.c) are a table of method + path pattern + handler; a
 * handler fills the response with http_json()/http_error()/http_redirect()
 * and returns 0, and http.c writes it from the WRITEABLE callback.
 * A handler with slow work (password hashing, outbound HTTP) returns
 * http_defer(): the work runs on a worker thread (worker.h), the handler's
 * finish step back on the loop thread, and only then is the response sent.
 * A client that disconnects meanwhile frees its http_req at once; the job
 * is orphaned (its back pointer cleared on the loop thread) and its result
 * dropped, so nothing touches a closed connection.
 * Everything else under / is a static file from web_root (static.c).
 *
 * Owns: each struct http_req, from http_on_request() to http_req_free(), and
 * the link between a deferred job and its request. Callers: ws.c drives it
 * from the lws HTTP callbacks; the route handlers (api_*.c, oidc.c, static.c)
 * fill responses. Event-loop thread only, except a deferred work(), which runs
 * on a worker thread and must not touch the http_req.
 */
#ifndef SPHINX_HTTP_H
#define SPHINX_HTTP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <jansson.h>

#include "web_session.h"
#include "store.h"

struct lws;

enum http_method { HM_OTHER, HM_GET, HM_POST, HM_PUT, HM_DELETE, HM_HEAD, HM_OPTIONS };

#define HTTP_MAX_BODY (64 * 1024)
#define HTTP_MAX_HEADERS 6

struct http_req {
	struct lws *wsi;
	enum http_method method;
	char path[512];
	char *body;
	size_t body_len, body_expected;
	bool dispatched;
	/* filled by the router before the handler runs */
	bool authed;
	struct web_session_info sess;
	struct user user;
	json_t *json;		/* parsed body, when the route wants JSON */
	/* response */
	unsigned status;
	const char *ctype;
	char *resp;
	size_t resp_len, resp_off;
	char *hdr_name[HTTP_MAX_HEADERS], *hdr_val[HTTP_MAX_HEADERS];
	int nhdr;
	bool headers_sent, file, close_after;
	struct http_deferred *deferred;	/* job running for this request, or NULL */
};

/* A handler's return value: the response will be written later (http_defer). */
#define HTTP_PENDING 1

/* route flags */
#define R_AUTH   0x1	/* needs a session */
#define R_JSON   0x2	/* body must be a JSON object (r->json) */
#define R_CSRF   0x4	/* state-changing: Origin/Sec-Fetch-Site + X-CSRF-Token when authed */

struct route {
	enum http_method method;
	const char *pattern;	/* "/api/meetings/:/end": ':' matches one segment */
	unsigned flags;
	int (*fn)(struct http_req *r, const char *arg);
};

extern const struct route routes[];
extern const size_t routes_count;

/* Response helpers. json is stolen. Each returns 0. */
int http_json(struct http_req *r, unsigned status, json_t *json);
int http_error(struct http_req *r, unsigned status, const char *code, const char *message);
int http_redirect(struct http_req *r, const char *location);
/* A body that is not JSON (a CSV export): body, malloc'd, is stolen; ctype a static string. */
int http_text(struct http_req *r, unsigned status, const char *ctype, char *body);
int http_add_header(struct http_req *r, const char *name, const char *value);

/*
 * The client's IP address as text into buf (len >= 64 is enough), also
 * returned; "" when unknown. An IPv4-mapped IPv6 address is given as plain
 * IPv4. When the peer is one of the configured trusted_proxies, the
 * right-most X-Forwarded-For entry (the one that proxy appended) is used.
 */
const char *http_peer_address(struct http_req *r, char *buf, size_t len);
/* The same for a connection still in its HTTP head (a WebSocket upgrade). */
const char *http_wsi_peer_address(struct lws *wsi, char *buf, size_t len);

/*
 * Answer 429 rate_limited with "Retry-After: <seconds, rounded up>" and JSON
 * {"error":"rate_limited","message":...,"retry_after":s}; what names the
 * limit in the message and the log ("sign-in from this address"). Logs one
 * line per limit and address per minute at most. Returns 0.
 */
int http_too_many(struct http_req *r, int64_t retry_ms, const char *what);

/*
 * Answer later. work(arg) runs on a worker thread and must use only arg
 * (plain copied inputs and outputs: no lws, store or shared jansson); then,
 * on the loop thread, finish(r, arg) fills the response as a handler would
 * (its return value is treated like a handler's) and the response is sent.
 * When the client went away first, finish is not called. free_arg(arg) is
 * always called last (NULL: free()). Returns HTTP_PENDING for the handler
 * to return; when the worker queue is full, frees arg, answers 503 busy
 * with Retry-After and returns 0 — never blocks.
 */
int http_defer(struct http_req *r, void (*work)(void *arg), int (*finish)(struct http_req *r, void *arg),
	       void (*free_arg)(void *arg), void *arg);

/*
 * Whether path is safe as a same-origin redirect target: at most 255
 * bytes, starting with exactly one '/', with no "//", no backslash and no
 * control or whitespace character (0x00-0x20, 0x7f), checked again after
 * percent-decoding (so "/%09/evil.example" and "/%2F/evil.example" fail),
 * and no malformed %-escape. Anything a browser could read as another
 * origin is refused.
 */
bool http_local_path(const char *path);

/* Copy query argument name ("code") into buf; 0 or -ENOENT. */
int http_query(struct http_req *r, const char *name, char *buf, size_t len);

/*
 * For a R_JSON route, before its handler: parse the body into r->json, a
 * JSON object (an empty body is {}; duplicate keys are refused). Returns 0,
 * or -EINVAL with a 400 bad_json response naming the problem already set.
 * Called by the router (and the API fuzz target).
 */
int http_parse_json_body(struct http_req *r);

/* Strings from the JSON body: NULL when absent or not a string. */
const char *http_body_str(struct http_req *r, const char *key);

/* lws callback entry points (called from ws.c). */
struct pss;
int http_on_request(struct lws *wsi, struct http_req **slot, const char *uri);
int http_on_body(struct lws *wsi, struct http_req *r, const void *in, size_t len);
int http_on_body_done(struct lws *wsi, struct http_req *r);
int http_on_writeable(struct lws *wsi, struct http_req *r);
void http_req_free(struct http_req *r);

/* Write the prepared response (status, headers, then body when writable). */
int http_send_prepared(struct lws *wsi, struct http_req *r);

/* static.c: serve path from web_root (0, or -1 to close). */
int static_serve(struct http_req *r);
/* MIME type by file name. */
const char *static_mime(const char *path);
/* Validate a URL path for the file tree: NULL or why not. */
const char *static_check_path(const char *path);

#endif
