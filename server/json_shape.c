// SPDX-License-Identifier: GPL-2.0-only
#include <stdint.h>

#include "json_shape.h"

/* s, or JSON null for NULL (and for text jansson refuses: not UTF-8). */
static json_t *str(const char *s)
{
	json_t *v = s ? json_string(s) : NULL;
	return v ? v : json_null();
}

/* v, or JSON null when v is the row's "not known" value. */
static json_t *num_or_null(int64_t v, int64_t unknown)
{
	return v == unknown ? json_null() : json_integer(v);
}

/* Text the server stored as JSON, embedded; null when absent or not JSON. */
static json_t *embedded(const char *text)
{
	json_t *v = text ? json_loads(text, JSON_DECODE_ANY, NULL) : NULL;
	return v ? v : json_null();
}

static void set(json_t *o, const char *key, json_t *v) { json_object_set_new(o, key, v ? v : json_null()); }

/* A new array of fn(&v[i]) for i < n; NULL when out of memory. */
#define ARRAY_OF(v, n, fn)                                                     \
	({                                                                     \
		json_t *a_ = json_array();                                     \
		for (size_t i_ = 0; a_ && i_ < (n); i_++) {                    \
			if (json_array_append_new(a_, fn(&(v)[i_])) < 0) {     \
				json_decref(a_);                               \
				a_ = NULL;                                     \
			}                                                      \
		}                                                              \
		a_;                                                            \
	})

/* ------------------------------------------------------------ users, meetings */

json_t *user_json(const struct user *u)
{
	return json_pack("{s:I, s:s?, s:s?, s:s, s:s?, s:b}", "id", (json_int_t)u->id, "username", u->username, "email",
			 u->email, "name", u->name ? u->name : "", "picture", u->picture, "admin", u->is_admin);
}

json_t *user_public_json(const struct user *u)
{
	return json_pack("{s:I, s:s, s:s?}", "id", (json_int_t)u->id, "name", u->name ? u->name : "",
			 "picture", u->picture);
}

json_t *meeting_json(const struct meeting *m, bool organiser)
{
	return json_pack("{s:I, s:s, s:s, s:s?, s:b, s:I, s:o?, s:b, s:s, s:s}", "id", (json_int_t)m->id, "code",
			 m->code, "title", m->title, "link", m->link, "in_app", m->link == NULL, "start_at",
			 (json_int_t)m->start_at, "end_at", m->end_at ? json_integer(m->end_at) : NULL,
			 "ongoing", m->end_at == 0, "role", organiser ? "organiser" : "attendee",
			 "join", m->join_policy == JOIN_DOMAIN ? "domain" : "anyone");
}

json_t *meeting_brief_json(const struct meeting *m)
{
	return json_pack("{s:I, s:s, s:s, s:s?, s:b, s:I, s:o?}", "id", (json_int_t)m->id, "code", m->code, "title",
			 m->title, "link", m->link, "in_app", m->link == NULL, "start_at", (json_int_t)m->start_at,
			 "end_at", m->end_at ? json_integer(m->end_at) : NULL);
}

static json_t *meeting_entry_json(const struct meeting_entry *e)
{
	const struct meeting *m = &e->meeting;
	json_t *o = json_object();

	if (!o)
		return NULL;
	set(o, "id", json_integer(m->id));
	set(o, "code", str(m->code));
	set(o, "title", str(m->title));
	set(o, "link", str(m->link));
	set(o, "start_at", json_integer(m->start_at));
	set(o, "end_at", num_or_null(m->end_at, 0));
	set(o, "organiser", json_boolean(e->organiser));
	return o;
}

json_t *meeting_list_json(const struct meeting_list *l) { return ARRAY_OF(l->v, l->n, meeting_entry_json); }

/* ------------------------------------------------------------------- people */

/* {id, name, [email,] picture, organiser, banned}: the part every person object starts with */
static json_t *person_head(const struct person *p, bool with_email)
{
	json_t *o = json_object();

	if (!o)
		return NULL;
	set(o, "id", json_integer(p->id));
	set(o, "name", str(p->name));
	if (with_email)
		set(o, "email", str(p->email));
	set(o, "picture", str(p->picture));
	set(o, "organiser", json_boolean(p->organiser));
	set(o, "banned", json_boolean(p->banned));
	return o;
}

static json_t *person_with_email(const struct person *p) { return person_head(p, true); }
static json_t *person_without_email(const struct person *p) { return person_head(p, false); }

json_t *people_json(const struct person_list *l, bool with_email)
{
	return with_email ? ARRAY_OF(l->v, l->n, person_with_email) : ARRAY_OF(l->v, l->n, person_without_email);
}

json_t *person_json(const struct person *p, bool with_email, json_t *recordings, bool monitored,
		    const char *monitor_reason)
{
	json_t *o = person_head(p, with_email);

	if (!o) {
		json_decref(recordings);
		return NULL;
	}
	set(o, "online", json_boolean(p->online));
	set(o, "recording", json_boolean(json_array_size(recordings) > 0));
	set(o, "recordings", recordings ? recordings : json_array());
	set(o, "monitored", json_boolean(monitored));
	if (!monitored)
		set(o, "monitor_reason", json_string(monitor_reason ? monitor_reason : ""));
	return o;
}

json_t *organiser_json(const struct person *p)
{
	json_t *o = json_object();

	if (!o)
		return NULL;
	set(o, "id", json_integer(p->id));
	set(o, "name", str(p->name));
	set(o, "picture", str(p->picture));
	return o;
}

/* ------------------------------------------------------- bans, attendance */

static json_t *ban_json(const struct ban *b)
{
	return json_pack("{s:I, s:o, s:I, s:o, s:I}", "user_id", (json_int_t)b->user_id, "name", str(b->name),
			 "by_user", (json_int_t)b->by_user, "reason", str(b->reason), "at", (json_int_t)b->at);
}

json_t *bans_json(const struct ban_list *l) { return ARRAY_OF(l->v, l->n, ban_json); }

static json_t *span_json(const struct attendance_span *s)
{
	return json_pack("{s:I, s:I, s:I, s:o}", "id", (json_int_t)s->id, "user_id", (json_int_t)s->user_id,
			 "join_at", (json_int_t)s->join_at, "leave_at", num_or_null(s->leave_at, 0));
}

static json_t *attendee_json(const struct attendee *a)
{
	json_t *o = json_object();

	if (!o)
		return NULL;
	set(o, "user_id", json_integer(a->user_id));
	set(o, "name", str(a->name));
	set(o, "email", str(a->email));
	set(o, "first_join", json_integer(a->first_join));
	set(o, "last_leave", json_integer(a->last_leave));
	set(o, "duration_ms", json_integer(a->duration_ms));
	set(o, "joins", json_integer(a->joins));
	set(o, "organiser", json_boolean(a->organiser));
	set(o, "online", json_boolean(a->online));
	set(o, "sessions", ARRAY_OF(a->spans, a->nspans, span_json));
	return o;
}

json_t *attendance_json(const struct attendance_list *l) { return ARRAY_OF(l->v, l->n, attendee_json); }

/* --------------------------------------------------------------- recordings */

json_t *recording_json(const struct recording *r)
{
	json_t *o = json_object();

	if (!o)
		return NULL;
	set(o, "id", json_integer(r->id));
	set(o, "user_id", num_or_null(r->user_id, 0));
	set(o, "name", str(r->name));
	set(o, "local_user", str(r->local_user));
	set(o, "kind", str(r->kind));
	set(o, "program", str(r->program));
	set(o, "exe", str(r->exe));
	set(o, "argv", embedded(r->argv_json));
	set(o, "pid", json_integer(r->pid));
	set(o, "rule_id", str(r->rule_id));
	set(o, "rule_title", str(r->rule_title));
	set(o, "layer", str(r->layer));
	set(o, "start_at", json_integer(r->start_at));
	set(o, "end_at", num_or_null(r->end_at, 0));
	set(o, "duration_ms", num_or_null(r->duration_ms, -1));
	set(o, "calls", num_or_null(r->calls, -1));
	set(o, "machine_id", json_integer(r->machine_id));
	set(o, "detail", embedded(r->detail_json));
	set(o, "machine", str(r->machine));
	return o;
}

json_t *recordings_json(const struct recording_list *l) { return ARRAY_OF(l->v, l->n, recording_json); }

json_t *recording_public_json(const struct recording *r)
{
	json_t *o = json_object();

	if (!o)
		return NULL;
	set(o, "id", json_integer(r->id));
	set(o, "user_id", num_or_null(r->user_id, 0));
	set(o, "name", str(r->name));
	set(o, "kind", str(r->kind));
	set(o, "program", str(r->program));
	set(o, "rule_id", str(r->rule_id));
	set(o, "rule_title", str(r->rule_title));
	set(o, "layer", str(r->layer));
	set(o, "start_at", json_integer(r->start_at));
	set(o, "end_at", num_or_null(r->end_at, 0));
	set(o, "duration_ms", num_or_null(r->duration_ms, -1));
	set(o, "machine", str(r->machine));
	return o;
}

/* --------------------------------------------------------------------- chat */

json_t *chat_line_json(const struct chat_line *c)
{
	bool sys = c->kind == CHAT_SYSTEM;
	json_t *o = json_object();

	if (!o)
		return NULL;
	set(o, "id", json_integer(c->id));
	set(o, "kind", json_string(sys ? "system" : "user"));
	set(o, "user_id", sys ? json_null() : json_integer(c->user_id));
	set(o, "name", sys ? json_null() : str(c->name));
	set(o, "about", sys ? json_integer(c->user_id) : json_null());
	set(o, "text", str(c->text));
	set(o, "at", json_integer(c->at));
	set(o, "cid", str(c->cid));
	return o;
}

json_t *chat_json(const struct chat_list *l) { return ARRAY_OF(l->v, l->n, chat_line_json); }

/* ------------------------------------------------------ machines, monitoring */

static json_t *machine_json(const struct machine *m)
{
	json_t *o = json_object();

	if (!o)
		return NULL;
	set(o, "id", json_integer(m->id));
	set(o, "name", str(m->name));
	set(o, "created_at", json_integer(m->created_at));
	set(o, "last_seen", num_or_null(m->last_seen, 0));
	set(o, "boot_id", str(m->boot_id));
	set(o, "agent_version", str(m->agent_version));
	set(o, "revoked", json_boolean(m->revoked));
	set(o, "online", json_boolean(m->online));
	set(o, "offline_reason", str(m->offline_reason));
	set(o, "state_at", num_or_null(m->state_at, 0));
	set(o, "users", embedded(m->users_json));
	set(o, "spool_dropped", json_integer(m->spool_dropped));
	return o;
}

json_t *machines_json(const struct machine_list *l) { return ARRAY_OF(l->v, l->n, machine_json); }

json_t *fleet_machine_json(const struct machine *m, const char *state, json_t *problems, json_t *people)
{
	json_t *o = machine_json(m);

	if (!o) {
		json_decref(problems);
		json_decref(people);
		return NULL;
	}
	set(o, "group", str(m->grp ? m->grp : POLICY_GROUP_DEFAULT));
	set(o, "policy_source", str(m->policy_source));
	set(o, "policy_version", num_or_null(m->policy_version, 0));
	set(o, "policy_error", str(m->policy_error));
	set(o, "policy_at", num_or_null(m->policy_at, 0));
	set(o, "spool_dropped_new", json_integer(m->spool_dropped_new));
	set(o, "kernel", str(m->kernel));
	set(o, "status", embedded(m->status_json));
	set(o, "status_at", num_or_null(m->status_at, 0));
	set(o, "last_event_at", num_or_null(m->last_event_at, 0));
	set(o, "state", str(state));
	set(o, "problems", problems);
	set(o, "people", people);
	return o;
}

/* A "monitor" event body {user: {id, name}, monitored, reason, machine, ts} as the API lists it. */
static json_t *monitor_event_json(const struct event_row *e)
{
	json_auto_t *b = embedded(e->body);
	json_t *u = json_object_get(b, "user");

	return json_pack("{s:O?, s:O?, s:O?, s:O?, s:O?, s:O?}", "user_id", json_object_get(u, "id"), "name",
			 json_object_get(u, "name"), "monitored", json_object_get(b, "monitored"), "reason",
			 json_object_get(b, "reason"), "machine", json_object_get(b, "machine"), "at",
			 json_object_get(b, "ts"));
}

json_t *monitoring_json(const struct event_list *l) { return ARRAY_OF(l->v, l->n, monitor_event_json); }
