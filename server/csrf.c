// SPDX-License-Identifier: GPL-2.0-only
#include <string.h>
#include <libwebsockets.h>
#include <sodium.h>

#include "csrf.h"
#include "server.h"

static bool origin_listed(const char *origin, const char *list)
{
	size_t n = strlen(origin);
	const char *p = list;

	while (*p) {
		while (*p == ' ' || *p == ',')
			p++;
		size_t len = strcspn(p, " ,");
		if (len && len == n && strncmp(p, origin, n) == 0)
			return true;
		p += len;
	}
	return false;
}

static bool origin_is_self(struct lws *wsi, const char *origin)
{
	char host[256], self[300];
	const char *pub = srv->cfg->public_url;

	if (pub[0]) {
		size_t n = strlen(pub);
		while (n && pub[n - 1] == '/')
			n--;
		return strlen(origin) == n && strncmp(origin, pub, n) == 0;
	}
	if (lws_hdr_copy(wsi, host, sizeof(host), WSI_TOKEN_HOST) <= 0)
		return false;
	snprintf(self, sizeof(self), "%s://%s", srv->tls ? "https" : "http", host);
	return strcmp(origin, self) == 0;
}

const char *csrf_check_origin(struct lws *wsi, bool check_fetch_site)
{
	char origin[256];

	/*
	 * Fail closed: a header that is present but does not fit (a longer
	 * Origin than any real one, a Sec-Fetch-Site value we do not know) is
	 * refused, never taken as absent.
	 */
	if (lws_hdr_total_length(wsi, WSI_TOKEN_ORIGIN) > 0) {
		if (lws_hdr_copy(wsi, origin, sizeof(origin), WSI_TOKEN_ORIGIN) <= 0)
			return "request refused: Origin header too long";
		if (!origin_is_self(wsi, origin) && !origin_listed(origin, srv->cfg->allowed_origins))
			return "request from a foreign origin refused";
	}
	return check_fetch_site ? csrf_check_fetch_site(wsi) : NULL;
}

const char *csrf_check_fetch_site(struct lws *wsi)
{
	char site[32];

	if (lws_hdr_custom_length(wsi, "sec-fetch-site:", 15) > 0 &&
	    (lws_hdr_custom_copy(wsi, site, sizeof(site), "sec-fetch-site:", 15) <= 0 ||
	     (strcmp(site, "same-origin") && strcmp(site, "none"))))
		return "cross-site request refused (Sec-Fetch-Site)";
	return NULL;
}

bool csrf_check_token(struct lws *wsi, const char *token)
{
	char got[128];
	int n = lws_hdr_custom_copy(wsi, got, sizeof(got), "x-csrf-token:", 13);
	size_t want = strlen(token);

	if (n <= 0 || (size_t)n != want || want == 0)
		return false;
	return sodium_memcmp(got, token, want) == 0;
}
