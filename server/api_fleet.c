// SPDX-License-Identifier: GPL-2.0-only
/*
 * The fleet view's API (docs/fleet.md): every enrolled machine with its
 * state (online, silent, shut down, disconnected, never connected,
 * revoked, and since when), its agent and kernel, the layers its agent
 * reports attached, degraded or off, the people at its screen, its last
 * capture event and the events its spool dropped; as JSON for the web app
 * (GET /api/admin/machines, ?group= and ?state= filters) and as CSV (GET
 * /api/admin/machines.csv, the same rows and order).
 *
 * Problems first: a machine's problems are, worst first, "degraded" (a
 * layer of its agent is degraded: the kernel refused a probe), "dropping"
 * (its last hello reported more spool drops than the one before),
 * "policy_error" (its agent could not apply its policy) and "silent" (it
 * stopped talking without a goodbye). Machines sort by their worst problem
 * in that order, those without one last, and by name within each rank.
 *
 * Owns: no state; each request reads the store once. Callers: http.c
 * through routes.c, on the event-loop thread.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "api.h"
#include "cleanup.h"
#include "json_shape.h"
#include "log.h"
#include "proto_agent.h"
#include "proto_lobby.h"
#include "server.h"
#include "util.h"

#define FLEET_GROUP_MAX 64		/* ?group= */
#define FLEET_CSV_MAX (16u << 20)	/* a CSV answer past this is refused, not cut */

/* -------------------------------------------------------- the verdicts */

enum fleet_problem {
	PROBLEM_DEGRADED,
	PROBLEM_DROPPING,
	PROBLEM_POLICY_ERROR,
	PROBLEM_SILENT,
	PROBLEM__COUNT,		/* also the rank of a machine without a problem */
};

static const char *const problem_names[] = {
	[PROBLEM_DEGRADED] = "degraded",
	[PROBLEM_DROPPING] = "dropping",
	[PROBLEM_POLICY_ERROR] = "policy_error",
	[PROBLEM_SILENT] = "silent",
};
_Static_assert(ARRAY_SIZE(problem_names) == PROBLEM__COUNT, "a name for every problem");

/* The states ?state= accepts, as fleet_state() names them. */
static const char *const states[] = { "online", "silent", "shutdown", "disconnected", "never", "revoked" };

static const char *fleet_state(const struct machine *m)
{
	if (m->revoked)
		return "revoked";
	if (m->online)
		return "online";
	if (!m->boot_id && !m->state_at)
		return "never";
	if (m->offline_reason && strcmp(m->offline_reason, PROTO_LOBBY_UNMONITORED_SILENT) == 0)
		return "silent";
	if (m->offline_reason && strcmp(m->offline_reason, PROTO_LOBBY_UNMONITORED_SHUTDOWN) == 0)
		return "shutdown";
	return "disconnected";
}

/* The machine's policy group ("default" when no one put it in one). */
static const char *fleet_group(const struct machine *m)
{
	return m->grp ? m->grp : POLICY_GROUP_DEFAULT;
}

static bool fleet_policy_error(const struct machine *m)
{
	return m->policy_error && m->policy_error[0];
}

/* Does the stored status report say a layer is degraded? */
static bool fleet_degraded(const struct machine *m)
{
	json_auto_t *st = m->status_json ? json_loads(m->status_json, 0, NULL) : NULL;
	json_t *l;
	size_t i;

	json_array_foreach(json_object_get(st, "layers"), i, l) {
		const char *state = json_string_value(json_object_get(l, "state"));

		if (state && strcmp(state, PROTO_AGENT_LAYER_DEGRADED) == 0)
			return true;
	}
	return false;
}

/* Bit i set: problem i. */
static unsigned fleet_problems(const struct machine *m)
{
	unsigned p = 0;

	if (fleet_degraded(m))
		p |= 1u << PROBLEM_DEGRADED;
	if (m->spool_dropped_new > 0)
		p |= 1u << PROBLEM_DROPPING;
	if (fleet_policy_error(m))
		p |= 1u << PROBLEM_POLICY_ERROR;
	if (strcmp(fleet_state(m), "silent") == 0)
		p |= 1u << PROBLEM_SILENT;
	return p;
}

static unsigned fleet_rank(unsigned problems)
{
	for (unsigned i = 0; i < PROBLEM__COUNT; i++)
		if (problems & (1u << i))
			return i;
	return PROBLEM__COUNT;
}

/* ------------------------------------------------------------- the rows */

struct fleet_row {
	const struct machine *m;
	const char *state;
	unsigned problems, rank;
};

static int row_cmp(const void *a, const void *b)
{
	const struct fleet_row *x = a, *y = b;

	if (x->rank != y->rank)
		return x->rank < y->rank ? -1 : 1;
	return strcmp(x->m->name, y->m->name);
}

/* The accounts the machine's agent reports at its screen now: [{id, name}]. */
static json_t *people_of(const struct machine *m, const struct monitor_list *mon)
{
	json_t *a = json_array();

	for (size_t i = 0; a && i < mon->n; i++) {
		struct user u = { 0 };

		if (!mon->v[i].monitored || mon->v[i].machine_id != m->id)
			continue;
		if (store_call(srv->store, user_get, mon->v[i].user_id, &u) == 0)
			json_array_append_new(a, json_pack("{s:I, s:s}", "id", (json_int_t)u.id, "name",
							   u.name ? u.name : ""));
		user_clear(&u);
	}
	return a;
}

static json_t *problems_json(unsigned problems)
{
	json_t *a = json_array();

	for (unsigned i = 0; a && i < PROBLEM__COUNT; i++)
		if (problems & (1u << i))
			json_array_append_new(a, json_string(problem_names[i]));
	return a;
}

/* Add group name g to the sorted array of names a, once. */
static void group_add(json_t *a, const char *g)
{
	size_t k, n = json_array_size(a);
	int c = 1;

	for (k = 0; k < n; k++)
		if ((c = strcmp(json_string_value(json_array_get(a, k)), g)) >= 0)
			break;
	if (k == n || c != 0)
		json_array_insert_new(a, k, json_string(g));
}

/*
 * The filters from the query: 0, or -EINVAL with a 400 answer naming the
 * problem already set. *ret_group and *ret_state: "" when not given.
 */
static int fleet_filters(struct http_req *r, char *group, size_t glen, const char **ret_state)
{
	char state[24];
	int e;

	*ret_state = NULL;
	group[0] = '\0';
	e = http_query(r, "group", group, glen);
	if (e < 0 && e != -ENOENT)
		return http_error(r, 400, "bad_request", "\"group\" is a group name of at most "
				  STR(FLEET_GROUP_MAX) " bytes"), -EINVAL;
	e = http_query(r, "state", state, sizeof(state));
	if (e == -ENOENT || (e == 0 && !state[0]))
		return 0;
	for (size_t i = 0; e == 0 && i < ARRAY_SIZE(states); i++)
		if (strcmp(state, states[i]) == 0)
			*ret_state = states[i];
	if (!*ret_state)
		return http_error(r, 400, "bad_request", "\"state\" is one of online, silent, shutdown, "
				  "disconnected, never, revoked"), -EINVAL;
	return 0;
}

/*
 * The fleet, filtered and in problems-first order, as JSON: {machines,
 * groups} (groups: every group name of the unfiltered fleet, sorted). On
 * failure the error answer is set and NULL returned.
 */
static json_t *fleet_json(struct http_req *r)
{
	char group[FLEET_GROUP_MAX + 1];
	const char *state;
	struct machine_list l = { 0 };
	struct monitor_list mon = { 0 };
	_cleanup_free_ struct fleet_row *rows = NULL;
	json_t *machines = NULL, *groups = NULL, *out = NULL;
	size_t n = 0;

	if (!api_is_admin(&r->user)) {
		http_error(r, 403, "admins_only", "only administrators may see the fleet");
		return NULL;
	}
	if (fleet_filters(r, group, sizeof(group), &state) < 0)
		return NULL;
	if (store_call(srv->store, machines, &l) < 0 || store_call(srv->store, monitor_states, &mon) < 0) {
		http_error(r, 500, "internal", "cannot read the machines");
		goto out;
	}
	rows = calloc(l.n + 1, sizeof(*rows));
	groups = json_array();
	machines = json_array();
	if (!rows || !groups || !machines) {
		http_error(r, 500, "internal", "out of memory");
		goto out;
	}
	for (size_t i = 0; i < l.n; i++) {
		const struct machine *m = &l.v[i];
		const char *g = fleet_group(m);

		group_add(groups, g);
		if (group[0] && strcmp(group, g) != 0)
			continue;
		rows[n] = (struct fleet_row){ .m = m, .state = fleet_state(m), .problems = fleet_problems(m) };
		if (state && strcmp(state, rows[n].state) != 0)
			continue;
		rows[n].rank = fleet_rank(rows[n].problems);
		n++;
	}
	qsort(rows, n, sizeof(*rows), row_cmp);
	for (size_t i = 0; i < n; i++)
		if (json_array_append_new(machines, fleet_machine_json(rows[i].m, rows[i].state,
								       problems_json(rows[i].problems),
								       people_of(rows[i].m, &mon))) < 0) {
			http_error(r, 500, "internal", "out of memory");
			goto out;
		}
	out = json_pack("{s:O, s:O}", "machines", machines, "groups", groups);
	if (!out)
		http_error(r, 500, "internal", "out of memory");
out:
	json_decref(machines);
	json_decref(groups);
	machine_list_free(&l);
	monitor_list_free(&mon);
	return out;
}

int api_admin_machine_list(struct http_req *r, const char *arg)
{
	json_t *j = fleet_json(r);

	return j ? http_json(r, 200, j) : 0;
}

/* ------------------------------------------------------------------ CSV */

/* RFC 4180 quoting; a cell a spreadsheet would run as a formula gets a leading quote (as details.js does). */
static void csv_cell(FILE *f, const char *s, bool last)
{
	bool quote = strpbrk(s, "\",\r\n") != NULL;

	if (quote)
		fputc('"', f);
	if (s[0] && strchr("=+-@\t\r", s[0]))
		fputc('\'', f);
	for (; *s; s++) {
		if (*s == '"')
			fputc('"', f);
		fputc(*s, f);
	}
	if (quote)
		fputc('"', f);
	fputs(last ? "\r\n" : ",", f);
}

/* A JSON value as a cell: strings as they are, null as "", times (keys ending in _at, last_seen) in ISO 8601. */
static void csv_value(FILE *f, const char *key, json_t *v, bool last)
{
	char buf[64] = "";
	size_t klen = strlen(key);

	if (json_is_string(v)) {
		csv_cell(f, json_string_value(v), last);
		return;
	}
	if (json_is_integer(v) && ((klen > 3 && strcmp(key + klen - 3, "_at") == 0) || strcmp(key, "last_seen") == 0)) {
		time_t t = (time_t)(json_integer_value(v) / 1000);
		struct tm tm;

		if (gmtime_r(&t, &tm))
			strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%SZ", &tm);
	} else if (json_is_integer(v)) {
		snprintf(buf, sizeof(buf), "%lld", (long long)json_integer_value(v));
	} else if (json_is_boolean(v)) {
		snprintf(buf, sizeof(buf), "%s", json_is_true(v) ? "yes" : "no");
	}
	csv_cell(f, buf, last);
}

/* "exec=attached; api=degraded: why" */
static void csv_layers(FILE *f, json_t *status)
{
	_cleanup_free_ char *text = NULL;
	size_t len = 0, i;
	FILE *m = open_memstream(&text, &len);
	json_t *l;

	if (!m)
		return csv_cell(f, "", false);
	json_array_foreach(json_object_get(status, "layers"), i, l) {
		const char *detail = json_string_value(json_object_get(l, "detail"));
		const char *state = json_string_value(json_object_get(l, "state"));

		fprintf(m, "%s%s=%s", i ? "; " : "", json_string_value(json_object_get(l, "name")), state);
		if (detail && strcmp(state, PROTO_AGENT_LAYER_ATTACHED) != 0)
			fprintf(m, ": %s", detail);
	}
	fclose(m);
	csv_cell(f, text ? text : "", false);
}

/* "a b c" from an array of strings, or of objects with "name". */
static void csv_list(FILE *f, json_t *a, bool last)
{
	_cleanup_free_ char *text = NULL;
	size_t len = 0, i;
	FILE *m = open_memstream(&text, &len);
	json_t *v;

	if (!m)
		return csv_cell(f, "", last);
	json_array_foreach(a, i, v) {
		json_t *name = json_is_string(v) ? v : json_object_get(v, "name");
		const char *s = json_string_value(name);

		fprintf(m, "%s%s", i ? " " : "", s ? s : "");
	}
	fclose(m);
	csv_cell(f, text ? text : "", last);
}

/* The columns, in order: a key of the JSON machine, or a composed one. */
static const char *const csv_columns[] = {
	"name", "group", "state", "state_at", "problems", "agent_version", "kernel", "layers",
	"policy_source", "policy_version", "policy_error", "users", "people",
	"last_event_at", "spool_dropped", "spool_dropped_new", "last_seen", "boot_id", "status_at",
};

int api_admin_machine_csv(struct http_req *r, const char *arg)
{
	json_auto_t *fleet = fleet_json(r);
	char *text = NULL;
	size_t len = 0, i;
	FILE *f;
	json_t *m;

	if (!fleet)
		return 0;
	f = open_memstream(&text, &len);
	if (!f)
		return http_error(r, 500, "internal", "out of memory");
	for (size_t c = 0; c < ARRAY_SIZE(csv_columns); c++)
		csv_cell(f, csv_columns[c], c + 1 == ARRAY_SIZE(csv_columns));
	json_array_foreach(json_object_get(fleet, "machines"), i, m) {
		for (size_t c = 0; c < ARRAY_SIZE(csv_columns); c++) {
			const char *k = csv_columns[c];
			bool last = c + 1 == ARRAY_SIZE(csv_columns);

			if (strcmp(k, "layers") == 0)
				csv_layers(f, json_object_get(m, "status"));
			else if (strcmp(k, "problems") == 0 || strcmp(k, "users") == 0 || strcmp(k, "people") == 0)
				csv_list(f, json_object_get(m, k), last);
			else
				csv_value(f, k, json_object_get(m, k), last);
		}
		if (ftell(f) > (long)FLEET_CSV_MAX)
			break;
	}
	if (fclose(f) != 0 || !text || len > FLEET_CSV_MAX) {
		free(text);
		return http_error(r, 500, "internal", "the fleet's CSV is too large; filter by group or state");
	}
	http_add_header(r, "content-disposition:", "attachment; filename=\"machines.csv\"");
	return http_text(r, 200, "text/csv; charset=utf-8", text);
}
