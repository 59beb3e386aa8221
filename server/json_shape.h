/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The JSON shapes of the store's rows: every object the REST API answers
 * with and every user, meeting, person, recording and chat line a lobby
 * snapshot or event carries is made here, from the typed rows of store.h.
 * The store knows nothing of keys and JSON types; the API handlers
 * (api_*.c), the lobby view (lobby_view.c) and the event producers
 * (meeting.c, monitor.c, ws_agent.c, ws_lobby.c) know nothing of columns.
 * docs/api.md and docs/protocol.md document these shapes; a key that
 * changes here changes on the wire.
 *
 * Conventions: a string the row does not have (NULL) is JSON null, and so
 * is a time the row marks as not known (0; -1 for a recording's duration
 * and calls); text the server stored as JSON (argv, detail, users) is
 * embedded as JSON, or null when it does not parse. Key order is insertion
 * order (jansson keeps it) and is part of the shape. Every function
 * returns a new reference, or NULL only when out of memory; none logs.
 *
 * Owns: no state; pure functions of their arguments. Callers: api_*.c,
 * lobby_view.c, meeting.c, monitor.c, ws_agent.c, ws_lobby.c and main.c
 * (admin listings).
 */
#ifndef SPHINX_JSON_SHAPE_H
#define SPHINX_JSON_SHAPE_H

#include <stdbool.h>
#include <jansson.h>

#include "store.h"

/* The signed-in user's own account: {id, username, email, name, picture, admin}. */
json_t *user_json(const struct user *u);
/* {id, name, picture}: how every lobby event names a user. */
json_t *user_public_json(const struct user *u);

/* The API's meeting: {id, code, title, link, in_app, start_at, end_at, ongoing, role, join}. */
json_t *meeting_json(const struct meeting *m, bool organiser);
/* A lobby snapshot's meeting: {id, code, title, link, in_app, start_at, end_at}. */
json_t *meeting_brief_json(const struct meeting *m);
/* GET /api/meetings: [{id, code, title, link, start_at, end_at, organiser}]. */
json_t *meeting_list_json(const struct meeting_list *l);

/* The API's people: [{id, name, email, picture, organiser, banned}], email only when with_email. */
json_t *people_json(const struct person_list *l, bool with_email);
/*
 * A person in a lobby: {id, name, [email,] picture, organiser, banned,
 * online, recording, recordings, monitored[, monitor_reason]}. recordings
 * (an array of recording_public_json objects, or NULL: none) is taken
 * over; monitor_reason is set only when not monitored.
 */
json_t *person_json(const struct person *p, bool with_email, json_t *recordings, bool monitored,
		    const char *monitor_reason);
/* An organiser in a lobby snapshot: {id, name, picture}. */
json_t *organiser_json(const struct person *p);

/* [{user_id, name, by_user, reason, at}] */
json_t *bans_json(const struct ban_list *l);
/*
 * [{user_id, name, email, first_join, last_leave, duration_ms, joins,
 * organiser, online, sessions: [{id, user_id, join_at, leave_at}]}]
 */
json_t *attendance_json(const struct attendance_list *l);

/*
 * A recording, for organisers' API: {id, user_id, name, local_user, kind,
 * program, exe, argv, pid, rule_id, rule_title, layer, start_at, end_at,
 * duration_ms, calls, machine_id, detail, machine}.
 */
json_t *recording_json(const struct recording *r);
json_t *recordings_json(const struct recording_list *l);
/*
 * What lobbies show of a recording: {id, user_id, name, kind, program,
 * rule_id, rule_title, layer, start_at, end_at, duration_ms, machine}.
 */
json_t *recording_public_json(const struct recording *r);

/* A chat line: {id, kind, user_id, name, about, text, at, cid}; a system notice names its user in "about" only. */
json_t *chat_line_json(const struct chat_line *c);
/* The lines of l in l's order. */
json_t *chat_json(const struct chat_list *l);

/*
 * The admin's machines: [{id, name, created_at, last_seen, boot_id,
 * agent_version, revoked, online, offline_reason, state_at, users}].
 */
json_t *machines_json(const struct machine_list *l);

/*
 * One machine of the fleet view (GET /api/admin/machines, docs/fleet.md):
 * machines_json's keys, then {group, policy_source, policy_version,
 * policy_error, policy_at, spool_dropped_new, kernel, status: {arch,
 * layers: [{name, state, detail}]} | null, status_at, last_event_at,
 * state, problems, people}. state and problems (an array of strings, worst
 * first) are the caller's verdict; people ([{id, name}], the accounts the
 * machine's agent reports at the screen now) is taken over.
 */
json_t *fleet_machine_json(const struct machine *m, const char *state, json_t *problems, json_t *people);

/*
 * A meeting's monitor transitions from its "monitor" events:
 * [{user_id, name, monitored, reason, machine, at}] (a key the event lacks is null).
 */
json_t *monitoring_json(const struct event_list *l);

#endif
