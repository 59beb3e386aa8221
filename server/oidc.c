// SPDX-License-Identifier: GPL-2.0-only
/* OpenID Connect sign-in (filled in below). */
#include "api.h"
#include "server.h"

bool oidc_enabled(void) { return srv->cfg->oidc_issuer[0] || srv->cfg->oidc_preset[0]; }

int oidc_start(struct http_req *r, const char *arg)
{
	return http_error(r, 404, "oidc_disabled", "OpenID Connect sign-in is not configured");
}

int oidc_callback(struct http_req *r, const char *arg)
{
	return http_error(r, 404, "oidc_disabled", "OpenID Connect sign-in is not configured");
}
