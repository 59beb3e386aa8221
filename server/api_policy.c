// SPDX-License-Identifier: GPL-2.0-only
/*
 * Admin routes of central policy (docs/api.md "Policy"): push a bundle,
 * list and show bundles, roll a group back, put a machine in a group, and
 * the rollout view. Admins only (api_is_admin). The work is
 * policy_admin.c's, shared with the `policy` admin commands.
 */
#include <errno.h>
#include <string.h>

#include "api.h"
#include "log.h"
#include "policy_admin.h"
#include "server.h"
#include "util.h"

#define ADMINS_ONLY(r)                                                                                   \
	do {                                                                                             \
		if (!api_is_admin(&(r)->user))                                                           \
			return http_error((r), 403, "admins_only", "only administrators manage policy"); \
	} while (0)

/* The optional string member key of the body: NULL when absent or null; *bad when another type. */
static const char *opt_str(struct http_req *r, const char *key, bool *bad)
{
	json_t *v = json_object_get(r->json, key);

	if (!v || json_is_null(v))
		return NULL;
	if (!json_is_string(v))
		*bad = true;
	return json_string_value(v);
}

/* The admin as a bundle's author: their username, else their e-mail, else "user <id>". */
static void author_of(const struct user *u, char *buf, size_t len)
{
	if (u->username)
		snprintf(buf, len, "%s", u->username);
	else if (u->email)
		snprintf(buf, len, "%s", u->email);
	else
		snprintf(buf, len, "user %lld", (long long)u->id);
}

/* POST /api/admin/policy {files: [{name, text}], group?, note?} */
int api_admin_policy_push(struct http_req *r, const char *arg)
{
	bool bad = false;
	const char *grp = opt_str(r, "group", &bad), *note = opt_str(r, "note", &bad);
	json_t *errors = NULL;
	char author[POLICY_AUTHOR_MAX + 1];
	int64_t version;
	size_t rules;
	int e;

	ADMINS_ONLY(r);
	if (bad)
		return http_error(r, 400, "bad_request", "\"group\" and \"note\" are strings");
	if (!json_object_get(r->json, "files"))
		return http_error(r, 400, "bad_request", "\"files\" (an array of {name, text}) is required");
	author_of(&r->user, author, sizeof(author));
	e = policy_admin_push(json_object_get(r->json, "files"), grp, author, note, &version, &rules, &errors);
	if (e == -EINVAL)
		return http_json(r, 400,
				 json_pack("{s:s, s:s, s:o}", "error", "policy_invalid", "message",
					   "the bundle was refused; nothing was stored", "errors", errors));
	if (e < 0) {
		json_decref(errors);
		return http_error(r, 500, "internal", "the bundle could not be checked or stored");
	}
	json_decref(errors);
	return http_json(r, 201,
			 json_pack("{s:I, s:s, s:I}", "version", (json_int_t)version, "group",
				   grp ? grp : POLICY_GROUP_DEFAULT, "rules", (json_int_t)rules));
}

/* GET /api/admin/policy[?group=G]: the bundles, newest first, without their files */
int api_admin_policy_list(struct http_req *r, const char *arg)
{
	struct policy_bundle_list l = { 0 };
	char grp[POLICY_GROUP_MAX + 2];
	json_t *list;
	bool by_group;

	ADMINS_ONLY(r);
	by_group = http_query(r, "group", grp, sizeof(grp)) >= 0;
	if (by_group && !policy_group_ok(grp))
		return http_error(r, 400, "bad_request", "group: 1 to " STR(POLICY_GROUP_MAX) " of A-Z a-z 0-9 . _ -");
	if (store_call(srv->store, policies, by_group ? grp : NULL, &l) < 0)
		return http_error(r, 500, "internal", "cannot list the bundles");
	list = json_array();
	for (size_t i = 0; list && i < l.n; i++)
		json_array_append_new(list, policy_bundle_json(&l.v[i]));
	policy_bundle_list_free(&l);
	return list ? http_json(r, 200, json_pack("{s:o}", "bundles", list))
		    : http_error(r, 500, "internal", "cannot list the bundles");
}

/* GET /api/admin/policy/VERSION: one bundle with its files */
int api_admin_policy_show(struct http_req *r, const char *arg)
{
	struct policy_bundle b = { 0 };
	uint64_t version;
	json_t *j;
	int e;

	ADMINS_ONLY(r);
	if (parse_u64(arg, 1, INT64_MAX, &version) < 0)
		return http_error(r, 404, "not_found", "no such bundle version");
	e = store_call(srv->store, policy_get, (int64_t)version, &b);
	if (e == -ENOENT)
		return http_error(r, 404, "not_found", "no such bundle version");
	if (e < 0)
		return http_error(r, 500, "internal", "cannot read the bundle");
	j = policy_bundle_json(&b);
	policy_bundle_clear(&b);
	return j ? http_json(r, 200, j) : http_error(r, 500, "internal", "cannot read the bundle");
}

/* POST /api/admin/policy/rollback {group?, note?} */
int api_admin_policy_rollback(struct http_req *r, const char *arg)
{
	bool bad = false;
	const char *grp = opt_str(r, "group", &bad), *note = opt_str(r, "note", &bad);
	char author[POLICY_AUTHOR_MAX + 1];
	int64_t version, to;
	int e;

	ADMINS_ONLY(r);
	if (bad)
		return http_error(r, 400, "bad_request", "\"group\" and \"note\" are strings");
	author_of(&r->user, author, sizeof(author));
	e = policy_admin_rollback(grp, author, note, &version, &to);
	if (e == -EINVAL)
		return http_error(r, 400, "bad_request",
				  "group: 1 to " STR(POLICY_GROUP_MAX) " of A-Z a-z 0-9 . _ -; note: at most " STR(
					  POLICY_NOTE_MAX) " bytes");
	if (e == -ENOENT)
		return http_error(r, 409, "nothing_to_roll_back", "the group has fewer than two bundle versions");
	if (e < 0)
		return http_error(r, 500, "internal", "cannot roll back");
	return http_json(r, 201,
			 json_pack("{s:I, s:s, s:I}", "version", (json_int_t)version, "group",
				   grp ? grp : POLICY_GROUP_DEFAULT, "files_of", (json_int_t)to));
}

/* PUT /api/admin/machines/NAME/group {group} (null or "default": the default group) */
int api_admin_machine_group(struct http_req *r, const char *arg)
{
	bool bad = false;
	const char *grp = opt_str(r, "group", &bad);
	int e;

	ADMINS_ONLY(r);
	if (bad || !json_object_get(r->json, "group"))
		return http_error(r, 400, "bad_request", "\"group\" (a group name, or null) is required");
	e = policy_admin_set_group(arg, grp);
	if (e == -EINVAL)
		return http_error(r, 400, "bad_request", "group: 1 to " STR(POLICY_GROUP_MAX) " of A-Z a-z 0-9 . _ -");
	if (e == -ENOENT)
		return http_error(r, 404, "not_found", "no such machine");
	if (e < 0)
		return http_error(r, 500, "internal", "cannot change the machine's group");
	return http_json(r, 200, json_pack("{s:s, s:s}", "machine", arg, "group", grp ? grp : POLICY_GROUP_DEFAULT));
}

/* GET /api/admin/policy/rollout: per group, the machines on each version */
int api_admin_policy_rollout(struct http_req *r, const char *arg)
{
	struct machine_list ms = { 0 };
	struct policy_bundle_list bs = { 0 };
	json_t *j = NULL;

	ADMINS_ONLY(r);
	if (store_call(srv->store, machines, &ms) == 0 && store_call(srv->store, policies, NULL, &bs) == 0)
		j = policy_rollout_json(&ms, &bs);
	machine_list_free(&ms);
	policy_bundle_list_free(&bs);
	return j ? http_json(r, 200, j) : http_error(r, 500, "internal", "cannot read the rollout");
}
