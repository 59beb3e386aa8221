// SPDX-License-Identifier: GPL-2.0-only
/*
 * HTTP transactions: request parsing, body collection with a hard cap,
 * routing through the table in routes.c with session, Origin and CSRF checks
 * done once here (handlers only see authorized requests), and the response
 * writer. One struct http_req lives per transaction; a keep-alive connection
 * replaces it at its next request.
 */
#include <errno.h>
#include <string.h>
#include <libwebsockets.h>

#include "cleanup.h"
#include "csrf.h"
#include "http.h"
#include "log.h"
#include "ratelimit.h"
#include "server.h"
#include "util.h"
#include "worker.h"

#define WRITE_CHUNK 16384

struct http_deferred {
	struct http_req *r;		/* NULL once the request is gone */
	void (*work)(void *arg);
	int (*finish)(struct http_req *r, void *arg);
	void (*free_arg)(void *arg);
	void *arg;
};

void http_req_free(struct http_req *r)
{
	if (!r)
		return;
	if (r->deferred)	/* the job still runs: it must not come back to r */
		r->deferred->r = NULL;
	free(r->body);
	free(r->resp);
	json_decref(r->json);
	user_clear(&r->user);
	for (int i = 0; i < r->nhdr; i++) {
		free(r->hdr_name[i]);
		free(r->hdr_val[i]);
	}
	free(r);
}

/* ------------------------------------------------------------ responses */

static int set_body(struct http_req *r, unsigned status, const char *ctype, char *body)
{
	free(r->resp);
	r->status = status;
	r->ctype = ctype;
	r->resp = body;
	r->resp_len = body ? strlen(body) : 0;
	r->resp_off = 0;
	return 0;
}

int http_json(struct http_req *r, unsigned status, json_t *json)
{
	char *s = json ? json_dumps(json, JSON_COMPACT) : NULL;

	json_decref(json);
	if (!s)
		return set_body(r, 500, "application/json",
				strdup("{\"error\":\"internal\",\"message\":\"out of memory\"}"));
	return set_body(r, status, "application/json", s);
}

int http_text(struct http_req *r, unsigned status, const char *ctype, char *body)
{
	return set_body(r, status, ctype, body);
}

int http_error(struct http_req *r, unsigned status, const char *code, const char *message)
{
	return http_json(r, status, json_pack("{s:s, s:s}", "error", code, "message", message));
}

int http_add_header(struct http_req *r, const char *name, const char *value)
{
	if (r->nhdr >= HTTP_MAX_HEADERS)
		return -ENOSPC;
	r->hdr_name[r->nhdr] = strdup(name);
	r->hdr_val[r->nhdr] = strdup(value);
	r->nhdr++;
	return 0;
}

int http_redirect(struct http_req *r, const char *location)
{
	http_add_header(r, "location:", location);
	return set_body(r, 302, "text/plain", strdup("redirecting\n"));
}

/* Whether addr is one of the space-separated addresses in list. */
static bool in_list(const char *list, const char *addr)
{
	size_t n = strlen(addr);

	for (const char *p = list; p && *p;) {
		size_t w;
		p += strspn(p, " ,");
		w = strcspn(p, " ,");
		if (w == n && w && strncmp(p, addr, n) == 0)
			return true;
		p += w;
	}
	return false;
}

static void unmap_v4(char *buf)
{
	if (strncmp(buf, "::ffff:", 7) == 0 && strchr(buf + 7, '.'))
		memmove(buf, buf + 7, strlen(buf + 7) + 1);
}

const char *http_peer_address(struct http_req *r, char *buf, size_t len)
{
	if (len)
		buf[0] = '\0';
	return r ? http_wsi_peer_address(r->wsi, buf, len) : buf;
}

const char *http_wsi_peer_address(struct lws *wsi, char *buf, size_t len)
{
	char xff[256];
	int n;

	if (!len)
		return buf;
	buf[0] = '\0';
	if (!wsi)
		return buf;
	lws_get_peer_simple(wsi, buf, len);
	unmap_v4(buf);
	if (!buf[0] || !srv || !srv->cfg->trusted_proxies[0] || !in_list(srv->cfg->trusted_proxies, buf))
		return buf;
	n = lws_hdr_copy(wsi, xff, sizeof(xff), WSI_TOKEN_X_FORWARDED_FOR);
	if (n > 0) {
		const char *last = strrchr(xff, ',');
		last = last ? last + 1 : xff;
		last += strspn(last, " ");
		size_t w = strcspn(last, " ");
		/* an address is short and made of hex digits, dots and colons */
		if (w > 0 && w < len && w < 46 && strspn(last, "0123456789abcdefABCDEF.:") == w) {
			memcpy(buf, last, w);
			buf[w] = '\0';
			unmap_v4(buf);
		}
	}
	return buf;
}

int http_too_many(struct http_req *r, int64_t retry_ms, const char *what)
{
	static const struct rate_rule log_rule = { "log:429", 1.0 / 60, 1 };
	char ip[64], key[192], secs[24];
	int64_t s = retry_ms <= 0 ? 1 : (retry_ms + 999) / 1000;

	http_peer_address(r, ip, sizeof(ip));
	snprintf(key, sizeof(key), "%s|%s", what, ip);
	if (ratelimit_take(&log_rule, key, now_ms(), NULL))
		log_warn("ratelimit: %s refused for %s (retry in %llds; further refusals for this address "
			 "are not logged for a minute)", what, ip, (long long)s);
	snprintf(secs, sizeof(secs), "%lld", (long long)s);
	http_add_header(r, "retry-after:", secs);
	return http_json(r, 429, json_pack("{s:s, s:s+, s:I}", "error", "rate_limited", "message",
					   "too many requests: ", what, "retry_after", (json_int_t)s));
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* The path rules on one spelling: exactly one leading '/', no "//", no '\\', no control or space. */
static bool plain_local(const char *p, size_t n)
{
	if (n == 0 || p[0] != '/')
		return false;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)p[i];
		if (c <= 0x20 || c == 0x7f || c == '\\' || (c == '/' && i + 1 < n && p[i + 1] == '/'))
			return false;
	}
	return true;
}

bool http_local_path(const char *path)
{
	char dec[256];
	size_t n = 0, len = path ? strlen(path) : 0;

	if (len == 0 || len >= sizeof(dec) || !plain_local(path, len))
		return false;
	/* decode repeatedly: "%252F" is "%2F" once decoded, which is "/" */
	memcpy(dec, path, len + 1);
	for (int round = 0; round < 4 && strchr(dec, '%'); round++) {
		n = 0;
		for (size_t i = 0; dec[i]; i++) {
			if (dec[i] == '%') {
				int hi = hexval(dec[i + 1]), lo = hi < 0 ? -1 : hexval(dec[i + 2]);
				if (hi < 0 || lo < 0)
					return false;
				dec[n++] = (char)(hi * 16 + lo);
				i += 2;
			} else {
				dec[n++] = dec[i];
			}
		}
		dec[n] = '\0';
		if (strlen(dec) != n || !plain_local(dec, n))	/* an encoded NUL, or a rule broken */
			return false;
	}
	return !strchr(dec, '%');
}

int http_query(struct http_req *r, const char *name, char *buf, size_t len)
{
	char frag[1024];
	size_t n = strlen(name);

	for (int i = 0; i < 32; i++) {
		int got = lws_hdr_copy_fragment(r->wsi, frag, sizeof(frag), WSI_TOKEN_HTTP_URI_ARGS, i);
		if (got < 0)
			break;
		if ((size_t)got > n && strncmp(frag, name, n) == 0 && frag[n] == '=') {
			if (strlen(frag + n + 1) >= len)
				return -E2BIG;
			memcpy(buf, frag + n + 1, strlen(frag + n + 1) + 1);
			return 0;
		}
	}
	return -ENOENT;
}

const char *http_body_str(struct http_req *r, const char *key)
{
	return json_string_value(json_object_get(r->json, key));
}

int http_send_prepared(struct lws *wsi, struct http_req *r)
{
	unsigned char buf[LWS_PRE + 4096], *start = buf + LWS_PRE, *p = start, *end = buf + sizeof(buf) - 1;
	/* third column set: only under TLS (HSTS over plain HTTP means nothing and is ignored) */
	static const char *const sec[][3] = {
		{ "x-content-type-options:", "nosniff", NULL },
		{ "cache-control:", "no-store", NULL },
		{ "referrer-policy:", "same-origin", NULL },
		{ "x-frame-options:", "DENY", NULL },
		{ "content-security-policy:",
		  "default-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'", NULL },
		{ "strict-transport-security:", "max-age=31536000", "tls" },
	};

	if (!wsi)	/* no socket (the fuzz harness): the response stays in r */
		return 0;
	if (lws_add_http_common_headers(wsi, r->status, r->ctype, r->resp_len, &p, end))
		return -1;
	for (size_t i = 0; i < ARRAY_SIZE(sec); i++)
		if ((!sec[i][2] || srv->tls) &&
		    lws_add_http_header_by_name(wsi, (const unsigned char *)sec[i][0], (const unsigned char *)sec[i][1],
						(int)strlen(sec[i][1]), &p, end))
			return -1;
	for (int i = 0; i < r->nhdr; i++)
		if (lws_add_http_header_by_name(wsi, (const unsigned char *)r->hdr_name[i],
						(const unsigned char *)r->hdr_val[i], (int)strlen(r->hdr_val[i]), &p,
						end))
			return -1;
	if (lws_finalize_write_http_header(wsi, start, &p, end))
		return -1;
	r->headers_sent = true;
	lws_callback_on_writable(wsi);
	return 0;
}

int http_on_writeable(struct lws *wsi, struct http_req *r)
{
	unsigned char buf[LWS_PRE + WRITE_CHUNK];
	size_t n;
	bool last;

	if (!r || !r->headers_sent || r->file)
		return 0;
	n = r->resp_len - r->resp_off;
	if (n > WRITE_CHUNK)
		n = WRITE_CHUNK;
	last = r->resp_off + n >= r->resp_len;
	memcpy(buf + LWS_PRE, r->resp + r->resp_off, n);
	if (lws_write(wsi, buf + LWS_PRE, n, last ? LWS_WRITE_HTTP_FINAL : LWS_WRITE_HTTP) != (int)n)
		return -1;
	r->resp_off += n;
	if (!last) {
		lws_callback_on_writable(wsi);
		return 0;
	}
	r->headers_sent = false;
	if (r->close_after)
		return -1;
	return lws_http_transaction_completed(wsi) ? -1 : 0;
}

/* -------------------------------------------------------------- routing */

int http_parse_json_body(struct http_req *r)
{
	json_error_t jerr;

	r->json = r->body_len ? json_loadb(r->body, r->body_len, JSON_REJECT_DUPLICATES, &jerr) : json_object();
	if (!r->json) {
		/*
		 * jansson quotes the bytes near the error, cut anywhere: a body
		 * with invalid UTF-8 gives a message no JSON string may hold
		 * (json_pack refused it and the client got 500 "out of memory").
		 * Keep printable ASCII only.
		 */
		for (char *p = jerr.text; *p; p++)
			if ((unsigned char)*p < 0x20 || (unsigned char)*p > 0x7e)
				*p = '?';
		return http_error(r, 400, "bad_json", jerr.text), -EINVAL;
	}
	if (!json_is_object(r->json))
		return http_error(r, 400, "bad_json", "the body must be a JSON object"), -EINVAL;
	return 0;
}

/* Match path against pattern; ':' captures one non-empty segment into arg. */
static bool match(const char *pattern, const char *path, char *arg, size_t arglen)
{
	while (*pattern && *path) {
		if (*pattern == ':') {
			size_t n = strcspn(path, "/");
			if (n == 0 || n >= arglen)
				return false;
			memcpy(arg, path, n);
			arg[n] = '\0';
			path += n;
			pattern++;
			continue;
		}
		if (*pattern++ != *path++)
			return false;
	}
	return *pattern == '\0' && *path == '\0';
}

static int route(struct http_req *r)
{
	char arg[128] = "";
	const struct route *rt = NULL;
	bool path_known = false;
	const char *why;
	int ret;

	for (size_t i = 0; i < routes_count; i++) {
		if (!match(routes[i].pattern, r->path, arg, sizeof(arg)))
			continue;
		path_known = true;
		if (routes[i].method == r->method) {
			rt = &routes[i];
			break;
		}
	}
	if (!rt)
		return path_known ? http_error(r, 405, "method_not_allowed", "method not allowed on this path")
				  : http_error(r, 404, "not_found", "no such API route");
	if ((rt->flags & R_CSRF) && (why = csrf_check_origin(r->wsi, true))) {
		log_warn("csrf: %s %s refused: %s", rt->method == HM_POST ? "POST" : "request", r->path, why);
		return http_error(r, 403, "forbidden_origin", why);
	}
	ret = web_session_from_request(r->wsi, &r->sess);
	if (ret == 0)
		ret = store_call(srv->store, user_get, r->sess.user_id, &r->user);
	if (ret == 0)
		r->authed = true;
	else if (ret != -ENOENT && (rt->flags & R_AUTH))	/* the store failed: no reason to sign anyone out */
		return http_error(r, 503, "unavailable", "the database is unavailable; try again shortly");
	if ((rt->flags & R_AUTH) && !r->authed)
		return http_error(r, 401, "unauthenticated", "sign in first");
	if ((rt->flags & R_CSRF) && r->authed && !csrf_check_token(r->wsi, r->sess.csrf)) {
		log_warn("csrf: missing or wrong token on %s (user %lld)", r->path, (long long)r->user.id);
		return http_error(r, 403, "csrf", "missing or wrong X-CSRF-Token header");
	}
	if ((rt->flags & R_JSON) && http_parse_json_body(r) < 0)
		return 0;
	ret = rt->fn(r, arg);
	if (ret == HTTP_PENDING)
		return ret;
	if (ret < 0 || !r->resp)
		return http_error(r, 500, "internal", "internal error");
	return 0;
}

static int dispatch(struct lws *wsi, struct http_req *r)
{
	r->dispatched = true;
	if (route(r) == HTTP_PENDING)
		return 0;	/* http_deferred_done() sends it */
	return http_send_prepared(wsi, r);
}

/* ------------------------------------------------------ deferred answers */

static void deferred_work(void *arg)
{
	struct http_deferred *d = arg;

	d->work(d->arg);
}

/* Loop thread. r is NULL when the client left (and always at worker_stop, which runs after every socket closed). */
static void deferred_done(void *arg)
{
	struct http_deferred *d = arg;
	struct http_req *r = d->r;

	if (r) {
		r->deferred = NULL;
		if (d->finish(r, d->arg) < 0 || !r->resp)
			http_error(r, 500, "internal", "internal error");
		/* a failure to write the headers means the connection is broken: lws times it out */
		if (http_send_prepared(r->wsi, r) < 0)
			lws_set_timeout(r->wsi, PENDING_TIMEOUT_CLOSE_SEND, LWS_TO_KILL_ASYNC);
	}
	if (d->free_arg)
		d->free_arg(d->arg);
	else
		free(d->arg);
	free(d);
}

int http_defer(struct http_req *r, void (*work)(void *arg), int (*finish)(struct http_req *r, void *arg),
	       void (*free_arg)(void *arg), void *arg)
{
	struct http_deferred *d = calloc(1, sizeof(*d));
	int e;

	if (d) {
		*d = (struct http_deferred){ .r = r, .work = work, .finish = finish, .free_arg = free_arg, .arg = arg };
		r->deferred = d;
		e = worker_submit(deferred_work, deferred_done, d);
		if (e == 0)	/* (without a pool it ran inline and is answered already) */
			return HTTP_PENDING;
		r->deferred = NULL;
		free(d);
	}
	if (free_arg)
		free_arg(arg);
	else
		free(arg);
	http_add_header(r, "retry-after:", "1");
	return http_error(r, 503, "busy", "the server is busy signing other people in; try again in a second");
}

static enum http_method method_of(struct lws *wsi)
{
	static const struct { enum lws_token_indexes tok; enum http_method m; } tab[] = {
		{ WSI_TOKEN_GET_URI, HM_GET }, { WSI_TOKEN_POST_URI, HM_POST },
		{ WSI_TOKEN_PUT_URI, HM_PUT }, { WSI_TOKEN_DELETE_URI, HM_DELETE },
		{ WSI_TOKEN_HEAD_URI, HM_HEAD }, { WSI_TOKEN_OPTIONS_URI, HM_OPTIONS },
	};
	for (size_t i = 0; i < ARRAY_SIZE(tab); i++)
		if (lws_hdr_total_length(wsi, tab[i].tok))
			return tab[i].m;
	return HM_OTHER;
}

int http_on_request(struct lws *wsi, struct http_req **slot, const char *uri)
{
	struct http_req *r;
	char clen[32];
	uint64_t len = 0;

	http_req_free(*slot);
	*slot = r = calloc(1, sizeof(*r));
	if (!r)
		return -1;
	r->wsi = wsi;
	r->method = method_of(wsi);
	if (!uri || strlen(uri) >= sizeof(r->path)) {
		http_error(r, 414, "uri_too_long", "request path too long");
		return http_send_prepared(wsi, r);
	}
	memcpy(r->path, uri, strlen(uri) + 1);

	if (!str_has_prefix(r->path, "/api/") && !str_has_prefix(r->path, "/auth/")) {
		if (r->method != HM_GET && r->method != HM_HEAD) {
			http_error(r, 405, "method_not_allowed", "static files are read-only");
			return http_send_prepared(wsi, r);
		}
		return static_serve(r);
	}
	if (lws_hdr_copy(wsi, clen, sizeof(clen), WSI_TOKEN_HTTP_CONTENT_LENGTH) > 0 &&
	    parse_u64(clen, 0, UINT64_MAX, &len) < 0) {
		http_error(r, 400, "bad_request", "bad Content-Length");
		return http_send_prepared(wsi, r);
	}
	if (!lws_hdr_total_length(wsi, WSI_TOKEN_HTTP_CONTENT_LENGTH) &&
	    lws_hdr_total_length(wsi, WSI_TOKEN_HTTP_TRANSFER_ENCODING)) {
		http_error(r, 411, "length_required",
			   "send the body with a Content-Length (chunked bodies are not accepted)");
		/* the unread body would be parsed as the next request: end the connection */
		r->close_after = true;
		http_add_header(r, "connection:", "close");
		return http_send_prepared(wsi, r);
	}
	if (len > HTTP_MAX_BODY) {
		http_error(r, 413, "too_large", "request body over 64 KiB");
		return http_send_prepared(wsi, r);
	}
	if (len > 0 && (r->method == HM_POST || r->method == HM_PUT || r->method == HM_DELETE)) {
		r->body = malloc(len + 1);
		if (!r->body)
			return -1;
		r->body_expected = len;
		return 0;	/* wait for HTTP_BODY ... BODY_COMPLETION */
	}
	return dispatch(wsi, r);
}

int http_on_body(struct lws *wsi, struct http_req *r, const void *in, size_t len)
{
	if (!r || !r->body || r->dispatched)
		return 0;
	if (r->body_len + len > r->body_expected)
		return -1;	/* more than Content-Length said: drop the connection */
	memcpy(r->body + r->body_len, in, len);
	r->body_len += len;
	return 0;
}

int http_on_body_done(struct lws *wsi, struct http_req *r)
{
	if (!r || r->dispatched)
		return 0;
	if (r->body)
		r->body[r->body_len] = '\0';
	return dispatch(wsi, r);
}
