/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Handlers of the JSON HTTP API (routes.c lists them; docs/api.md documents
 * them), split by concern: api_auth.c, api_meetings.c, api_admin.c,
 * api_fleet.c (the fleet view), api_policy.c, oidc.c.
 *
 * Owns: no state, except oidc.c's pending logins and discovered endpoints.
 * Callers: http.c, through routes.c's table, on the event-loop thread (slow
 * work goes through http_defer()); api_sign_in() also oidc.c, and
 * api_enroll_machine() also main.c's enroll-machine command.
 */
#ifndef SPHINX_API_H
#define SPHINX_API_H

#include "http.h"

int api_health(struct http_req *r, const char *arg);
int api_config(struct http_req *r, const char *arg);
int api_signup(struct http_req *r, const char *arg);
int api_login(struct http_req *r, const char *arg);
int api_logout(struct http_req *r, const char *arg);
int api_me(struct http_req *r, const char *arg);

int api_meeting_create(struct http_req *r, const char *arg);
int api_meeting_list(struct http_req *r, const char *arg);
int api_meeting_join(struct http_req *r, const char *arg);
int api_meeting_get(struct http_req *r, const char *arg);
int api_meeting_attendance(struct http_req *r, const char *arg);
int api_meeting_recordings(struct http_req *r, const char *arg);
int api_meeting_monitoring(struct http_req *r, const char *arg);
int api_meeting_end(struct http_req *r, const char *arg);
int api_meeting_add_organiser(struct http_req *r, const char *arg);
int api_meeting_ban(struct http_req *r, const char *arg);
/* paged: ?after=<cursor>&limit=1..200 / ?before=<chat id>&limit=1..200 */
int api_meeting_people(struct http_req *r, const char *arg);
int api_meeting_chat_page(struct http_req *r, const char *arg);

int api_admin_machine_create(struct http_req *r, const char *arg);
/* api_fleet.c: the fleet, problems first; ?group=NAME&state=online|silent|shutdown|disconnected|never|revoked */
int api_admin_machine_list(struct http_req *r, const char *arg);
/* the same rows as CSV */
int api_admin_machine_csv(struct http_req *r, const char *arg);
/* users.is_admin, or listed in admin_users (api_admin.c) */
bool api_is_admin(const struct user *u);

/* api_policy.c: central policy (policy_admin.h) */
int api_admin_policy_push(struct http_req *r, const char *arg);
int api_admin_policy_list(struct http_req *r, const char *arg);
int api_admin_policy_show(struct http_req *r, const char *arg);
int api_admin_policy_rollback(struct http_req *r, const char *arg);
int api_admin_policy_rollout(struct http_req *r, const char *arg);
int api_admin_machine_group(struct http_req *r, const char *arg);

/* api_observations.c: GET /api/admin/observations?since=&machine=&after= (JSON lines, paged) */
int api_admin_observations(struct http_req *r, const char *arg);

/* oidc.c */
int oidc_start(struct http_req *r, const char *arg);
int oidc_callback(struct http_req *r, const char *arg);
bool oidc_enabled(void);

/* Issue a session for user and set the cookie on the response. 0 or -errno. */
int api_sign_in(struct http_req *r, int64_t user_id, struct web_session_info *ret);
/* Create an enrollment token for a machine name; token out (caller frees). */
int api_enroll_machine(const char *name, char **ret_token, int64_t *ret_id);

#endif
