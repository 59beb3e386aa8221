// SPDX-License-Identifier: GPL-2.0-only
/*
 * Admin routes: machine enrollment (the fleet's listing is api_fleet.c).
 * Admins: users.is_admin or listed in admin_users.
 */
#include <errno.h>
#include <string.h>

#include "api.h"
#include "json_shape.h"
#include "log.h"
#include "server.h"

bool api_is_admin(const struct user *u)
{
	const char *list = srv->cfg->admin_users, *p = list;
	size_t n;

	if (u->is_admin)
		return true;
	if (!u->username)
		return false;
	n = strlen(u->username);
	while (*p) {
		while (*p == ' ' || *p == ',')
			p++;
		size_t len = strcspn(p, " ,");
		if (len == n && strncmp(p, u->username, n) == 0)
			return true;
		p += len;
	}
	return false;
}

int api_enroll_machine(const char *name, char **ret_token, int64_t *ret_id)
{
	char token[64], hash[65];
	size_t n = strlen(name);

	if (n == 0 || n > 64)
		return -EINVAL;
	for (size_t i = 0; i < n; i++)
		if (!((name[i] >= 'a' && name[i] <= 'z') || (name[i] >= 'A' && name[i] <= 'Z') ||
		      (name[i] >= '0' && name[i] <= '9') || strchr(".-_", name[i])))
			return -EINVAL;
	web_session_random_token(token, sizeof(token), 32);
	web_session_hash(token, hash);
	int e = store_call(srv->store, machine_create, name, hash, now_ms(), ret_id);
	if (e < 0)
		return e;
	*ret_token = strdup(token);
	return *ret_token ? 0 : -ENOMEM;
}

int api_admin_machine_create(struct http_req *r, const char *arg)
{
	const char *name = http_body_str(r, "name");
	char *token = NULL;
	int64_t id;
	int e;

	if (!api_is_admin(&r->user))
		return http_error(r, 403, "admins_only", "only administrators may enroll machines");
	if (!name)
		return http_error(r, 400, "bad_request", "\"name\" is required");
	e = api_enroll_machine(name, &token, &id);
	if (e == -EINVAL)
		return http_error(r, 400, "bad_request", "machine names are 1 to 64 of A-Z a-z 0-9 . - _");
	if (e == -EEXIST)
		return http_error(r, 409, "taken", "a machine with this name is already enrolled");
	if (e < 0)
		return http_error(r, 500, "internal", "cannot enroll");
	log_info("admin: machine '%s' enrolled by user %lld", name, (long long)r->user.id);
	http_json(r, 201, json_pack("{s:I, s:s, s:s}", "machine_id", (json_int_t)id, "name", name, "token", token));
	free(token);
	return 0;
}
