// SPDX-License-Identifier: GPL-2.0-only
/*
 * Static files of the web app from web_root. The URL path is checked
 * segment by segment (no "..", ".", empty segments, backslashes or control
 * characters), then resolved with realpath() and required to stay inside
 * the resolved web_root, so neither ".." nor a symlink can leave it.
 * Unknown extensions are served as application/octet-stream.
 */
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <libwebsockets.h>

#include "cleanup.h"
#include "http.h"
#include "server.h"

static const struct { const char *ext, *mime; } mimes[] = {
	{ ".html", "text/html; charset=utf-8" }, { ".htm", "text/html; charset=utf-8" },
	{ ".js", "text/javascript; charset=utf-8" }, { ".mjs", "text/javascript; charset=utf-8" },
	{ ".css", "text/css; charset=utf-8" }, { ".json", "application/json" },
	{ ".map", "application/json" }, { ".svg", "image/svg+xml" }, { ".png", "image/png" },
	{ ".jpg", "image/jpeg" }, { ".jpeg", "image/jpeg" }, { ".gif", "image/gif" },
	{ ".webp", "image/webp" }, { ".ico", "image/x-icon" }, { ".txt", "text/plain; charset=utf-8" },
	{ ".woff", "font/woff" }, { ".woff2", "font/woff2" }, { ".wasm", "application/wasm" },
	{ ".mp3", "audio/mpeg" }, { ".ogg", "audio/ogg" }, { ".wav", "audio/wav" },
	{ ".webmanifest", "application/manifest+json" },
};

const char *static_mime(const char *path)
{
	const char *dot = strrchr(path, '.');
	const char *slash = strrchr(path, '/');

	if (dot && (!slash || dot > slash))
		for (size_t i = 0; i < ARRAY_SIZE(mimes); i++)
			if (strcasecmp(dot, mimes[i].ext) == 0)
				return mimes[i].mime;
	return "application/octet-stream";
}

const char *static_check_path(const char *path)
{
	const char *p = path;

	if (*p != '/')
		return "path must start with /";
	while (*p) {
		const char *seg = ++p;
		size_t n = strcspn(seg, "/");

		if (n == 0 && seg[0] == '/')
			return "empty path segment";
		if ((n == 1 && seg[0] == '.') || (n == 2 && seg[0] == '.' && seg[1] == '.'))
			return "dot segment";
		for (size_t i = 0; i < n; i++)
			if ((unsigned char)seg[i] < 0x20 || seg[i] == '\\' || seg[i] == 0x7f)
				return "bad character in path";
		p = seg + n;
	}
	return NULL;
}

static int not_found(struct http_req *r)
{
	http_error(r, 404, "not_found", "no such file");
	return 0;
}

int static_serve(struct http_req *r)
{
	char want[PATH_MAX], root[PATH_MAX], real[PATH_MAX];
	const char *path = r->path;
	struct stat st;
	size_t rl;
	int n;

	if (static_check_path(path)) {
		http_error(r, 400, "bad_path", static_check_path(path));
		return http_send_prepared(r->wsi, r);
	}
	if (!realpath(srv->cfg->web_root, root)) {
		not_found(r);
		return http_send_prepared(r->wsi, r);
	}
	n = snprintf(want, sizeof(want), "%s%s", root, path);
	if (n < 0 || (size_t)n >= sizeof(want) || !realpath(want, real)) {
		not_found(r);
		return http_send_prepared(r->wsi, r);
	}
	rl = strlen(root);
	if (strncmp(real, root, rl) != 0 || (real[rl] != '/' && real[rl] != '\0')) {
		not_found(r);
		return http_send_prepared(r->wsi, r);
	}
	if (stat(real, &st) == 0 && S_ISDIR(st.st_mode)) {
		size_t l = strlen(real);
		if (l + sizeof("/index.html") > sizeof(real)) {
			not_found(r);
			return http_send_prepared(r->wsi, r);
		}
		memcpy(real + l, "/index.html", sizeof("/index.html"));
	}
	if (stat(real, &st) < 0 || !S_ISREG(st.st_mode)) {
		not_found(r);
		return http_send_prepared(r->wsi, r);
	}
	/*
	 * The same policy index.html states in its meta tag, plus what only a
	 * header can say: no framing (the organiser's End and Ban buttons must
	 * not be clickjacked), and HSTS under TLS.
	 */
	static const char extra[] =
		"x-content-type-options: nosniff\x0d\x0a"
		"referrer-policy: same-origin\x0d\x0a"
		"x-frame-options: DENY\x0d\x0a"
		"content-security-policy: default-src 'self'; script-src 'self'; style-src 'self'; "
		"img-src 'self' data: https:; media-src 'self' blob: mediastream:; connect-src 'self'; "
		"object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'\x0d\x0a";
	static const char hsts[] = "strict-transport-security: max-age=31536000\x0d\x0a";
	char hdrs[sizeof(extra) + sizeof(hsts)];
	int hl = snprintf(hdrs, sizeof(hdrs), "%s%s", extra, srv->tls ? hsts : "");

	r->file = true;
	n = lws_serve_http_file(r->wsi, real, static_mime(real), hdrs, hl);
	if (n < 0 || (n > 0 && lws_http_transaction_completed(r->wsi)))
		return -1;
	return 0;
}
