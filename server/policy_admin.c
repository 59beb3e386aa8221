// SPDX-License-Identifier: GPL-2.0-only
/*
 * See policy_admin.h. A bundle is checked in a temporary directory under
 * data_dir (the server's own, 0700), with policy_bundle_check(): the same
 * write-then-policy_load() the agent does before it applies one.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cleanup.h"
#include "cluster.h"
#include "log.h"
#include "policy_admin.h"
#include "policy_bundle.h"
#include "server.h"
#include "util.h"
#include "ws_agent.h"

bool policy_group_ok(const char *grp)
{
	size_t n = grp ? strlen(grp) : 0;

	if (n == 0 || n > POLICY_GROUP_MAX)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!((grp[i] >= 'a' && grp[i] <= 'z') || (grp[i] >= 'A' && grp[i] <= 'Z') ||
		      (grp[i] >= '0' && grp[i] <= '9') || strchr("._-", grp[i])))
			return false;
	return true;
}

void policy_admin_changed(const char *grp)
{
	ws_agent_policy_changed(grp);
	cluster_notify_policy(grp);	/* the agents of the other nodes (PostgreSQL) */
}

/* A one-string error list for *ret_errors. */
static int refuse(json_t **ret_errors, int r, const char *msg)
{
	*ret_errors = json_pack("[s]", msg);
	return r;
}

/* policy_add, again when another node took the same version at the same time */
static int add_bundle(const char *grp, const char *author, const char *note, const char *files_json,
		      int64_t rolled_back_from, int64_t *ret_version)
{
	int r = -EEXIST;

	for (int i = 0; i < 3 && r == -EEXIST; i++)
		r = store_call(srv->store, policy_add, grp, author, note, files_json, rolled_back_from, now_ms(),
			       ret_version);
	return r;
}

int policy_admin_push(json_t *files, const char *grp, const char *author, const char *note, int64_t *ret_version,
		      size_t *ret_rules, json_t **ret_errors)
{
	struct policy_diags diags = { 0 };
	_cleanup_free_ char *text = NULL;
	char err[512] = "";
	size_t rules = 0;
	int r;

	*ret_errors = NULL;
	if (!grp)
		grp = POLICY_GROUP_DEFAULT;
	if (!policy_group_ok(grp))
		return refuse(ret_errors, -EINVAL, "group: 1 to " STR(POLICY_GROUP_MAX) " of A-Z a-z 0-9 . _ -");
	if (note && strlen(note) > POLICY_NOTE_MAX)
		return refuse(ret_errors, -EINVAL, "note: at most " STR(POLICY_NOTE_MAX) " bytes");
	if (author && strlen(author) > POLICY_AUTHOR_MAX)
		return refuse(ret_errors, -EINVAL, "author: at most " STR(POLICY_AUTHOR_MAX) " bytes");
	r = policy_bundle_check(files, srv->cfg->data_dir, &rules, &diags, err, sizeof(err));
	if (r < 0) {
		json_t *list = json_array();

		for (size_t i = 0; list && i < diags.count; i++) {
			char line[1024];
			json_array_append_new(list,
					      json_string(policy_diag_format(&diags.items[i], line, sizeof(line))));
		}
		if (list && json_array_size(list) == 0)
			json_array_append_new(list, json_string(err));
		policy_diags_clear(&diags);
		*ret_errors = list;
		return r;
	}
	text = json_dumps(files, JSON_COMPACT);
	if (!text)
		return refuse(ret_errors, -ENOMEM, "out of memory");
	r = add_bundle(grp, author, note, text, 0, ret_version);
	if (r < 0)
		return refuse(ret_errors, r, "the bundle could not be stored");
	*ret_rules = rules;
	log_info("policy: v%lld stored for group '%s' by %s (%zu files, %zu rules)%s%s", (long long)*ret_version, grp,
		 author ? author : "?", json_array_size(files), rules, note ? ": " : "", note ? note : "");
	policy_admin_changed(grp);
	return 0;
}

int policy_admin_rollback(const char *grp, const char *author, const char *note, int64_t *ret_version, int64_t *ret_to)
{
	struct policy_bundle_list l = { 0 };
	struct policy_bundle prev = { 0 };
	int64_t newest;
	int r;

	if (!grp)
		grp = POLICY_GROUP_DEFAULT;
	if (!policy_group_ok(grp) || (note && strlen(note) > POLICY_NOTE_MAX) ||
	    (author && strlen(author) > POLICY_AUTHOR_MAX))
		return -EINVAL;
	r = store_call(srv->store, policies, grp, &l);
	if (r < 0)
		return r;
	if (l.n < 2) {
		policy_bundle_list_free(&l);
		return -ENOENT;
	}
	newest = l.v[0].version;
	r = store_call(srv->store, policy_get, l.v[1].version, &prev);
	policy_bundle_list_free(&l);
	if (r < 0)
		return r;
	r = add_bundle(grp, author, note, prev.files_json, newest, ret_version);
	if (r == 0) {
		*ret_to = prev.version;
		log_info("policy: v%lld for group '%s' by %s rolls v%lld back (the files of v%lld)",
			 (long long)*ret_version, grp, author ? author : "?", (long long)newest,
			 (long long)prev.version);
		policy_admin_changed(grp);
	}
	policy_bundle_clear(&prev);
	return r;
}

int policy_admin_set_group(const char *name, const char *grp)
{
	int r;

	if (grp && !policy_group_ok(grp))
		return -EINVAL;
	if (grp && strcmp(grp, POLICY_GROUP_DEFAULT) == 0)
		grp = NULL;
	r = store_call(srv->store, machine_set_group, name, grp);
	if (r == 0) {
		log_info("policy: machine '%s' is now in group '%s'", name, grp ? grp : POLICY_GROUP_DEFAULT);
		policy_admin_changed(NULL);
	}
	return r;
}

/* ------------------------------------------------------------------ JSON */

json_t *policy_bundle_json(const struct policy_bundle *b)
{
	json_t *j = json_pack("{s:I, s:s, s:s?, s:s?, s:I, s:o}", "version", (json_int_t)b->version, "group", b->grp,
			      "author", b->author, "note", b->note, "at", (json_int_t)b->at, "rolled_back_from",
			      b->rolled_back_from ? json_integer(b->rolled_back_from) : json_null());

	if (j && b->files_json) {
		json_t *files = json_loads(b->files_json, 0, NULL);
		json_object_set_new(j, "files", files ? files : json_array());
	}
	return j;
}

/* The group's entry in groups (made on first use). Borrowed reference, NULL: no memory. */
static json_t *group_of(json_t *groups, const char *grp)
{
	json_t *g = json_object_get(groups, grp);

	if (g)
		return g;
	g = json_pack("{s:s, s:n, s:i, s:i, s:i, s:o, s:[]}", "group", grp, "latest", "machines", 0, "errors", 0,
		      "local", 0, "versions", json_object(), "list");
	if (!g || json_object_set_new(groups, grp, g) < 0)
		return NULL;
	return g;
}

static void count(json_t *obj, const char *key)
{
	json_object_set_new(obj, key, json_integer(json_integer_value(json_object_get(obj, key)) + 1));
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* versions newest first, "none" (0) last */
static int cmp_version(const void *a, const void *b)
{
	int64_t x = json_integer_value(json_object_get(*(json_t *const *)a, "version"));
	int64_t y = json_integer_value(json_object_get(*(json_t *const *)b, "version"));

	return x == y ? 0 : (x == 0 ? 1 : y == 0 ? -1 : (x < y ? 1 : -1));
}

/* {"version": 7, "machines": n} per entry of {"7": n}, sorted by cmp_version */
static json_t *versions_array(json_t *versions)
{
	size_t n = json_object_size(versions), i = 0;
	_cleanup_free_ json_t **v = calloc(n + 1, sizeof(*v));
	json_t *out = json_array(), *count;
	const char *key;

	if (!v || !out) {
		json_decref(out);
		return NULL;
	}
	json_object_foreach(versions, key, count) {
		uint64_t ver = strtoull(key, NULL, 10);
		v[i++] = json_pack("{s:I, s:O}", "version", (json_int_t)ver, "machines", count);
	}
	qsort(v, i, sizeof(*v), cmp_version);
	for (size_t k = 0; k < i; k++) {
		if (v[k] && json_integer_value(json_object_get(v[k], "version")) == 0)
			json_object_set_new(v[k], "version", json_null());
		json_array_append_new(out, v[k]);
	}
	return out;
}

/* {"grp": {..., "versions": {"7": n}}} as an array by group name, versions as versions_array() */
static json_t *groups_array(json_t *groups)
{
	size_t n = json_object_size(groups), i = 0;
	_cleanup_free_ const char **names = calloc(n + 1, sizeof(*names));
	json_t *out = json_array(), *g;
	const char *grp;

	if (!names || !out) {
		json_decref(out);
		return NULL;
	}
	json_object_foreach(groups, grp, g)
		names[i++] = grp;
	qsort(names, i, sizeof(*names), cmp_str);
	for (size_t k = 0; k < i; k++) {
		g = json_object_get(groups, names[k]);
		json_object_set_new(g, "versions", versions_array(json_object_get(g, "versions")));
		json_array_append(out, g);
	}
	return out;
}

json_t *policy_rollout_json(const struct machine_list *machines, const struct policy_bundle_list *bundles)
{
	json_auto_t *groups = json_object();

	if (!groups)
		return NULL;
	/* newest first: the first bundle seen of a group is its latest */
	for (size_t i = 0; i < bundles->n; i++) {
		json_t *g = group_of(groups, bundles->v[i].grp);
		if (g && json_is_null(json_object_get(g, "latest")))
			json_object_set_new(g, "latest", json_integer(bundles->v[i].version));
	}
	for (size_t i = 0; i < machines->n; i++) {
		const struct machine *m = &machines->v[i];
		bool local = m->policy_source && strcmp(m->policy_source, "local") == 0;
		char key[24];
		json_t *g;

		if (m->revoked || !(g = group_of(groups, m->grp ? m->grp : POLICY_GROUP_DEFAULT)))
			continue;
		snprintf(key, sizeof(key), "%lld", local ? 0LL : (long long)m->policy_version);
		count(g, "machines");
		count(json_object_get(g, "versions"), key);
		if (m->policy_error)
			count(g, "errors");
		if (local)
			count(g, "local");
		json_array_append_new(json_object_get(g, "list"),
				      json_pack("{s:s, s:b, s:s?, s:o, s:s?, s:o}", "name", m->name, "online",
						m->online, "source", m->policy_source, "version",
						m->policy_version ? json_integer(m->policy_version) : json_null(),
						"error", m->policy_error, "at",
						m->policy_at ? json_integer(m->policy_at) : json_null()));
	}
	return json_pack("{s:o}", "groups", groups_array(groups));
}
