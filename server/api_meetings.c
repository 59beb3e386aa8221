// SPDX-License-Identifier: GPL-2.0-only
/*
 * Meeting routes. Permission matrix (docs/api.md): a stranger may only join
 * by code; attendees see the meeting, its people and chat; organisers also
 * see attendance, the recording log and bans, and may end the meeting, add
 * co-organisers and ban. A banned user is treated as a stranger who may not
 * join again.
 */
#include <errno.h>
#include <string.h>
#include <strings.h>

#include "api.h"
#include "cleanup.h"
#include "code_guard.h"
#include "json_shape.h"
#include "lobby_view.h"
#include "log.h"
#include "meeting.h"
#include "meeting_code.h"
#include "proto_lobby.h"
#include "ratelimit.h"
#include "server.h"
#include "util.h"

enum role { ROLE_NONE, ROLE_ATTENDEE, ROLE_ORGANISER };

/*
 * Load the meeting named by code and the caller's role. On failure the
 * error response is already set and the return value is < 0.
 */
static int load(struct http_req *r, const char *typed, struct meeting *m, enum role *role, enum role need)
{
	char code[MEETING_CODE_SIZE], addr[64];
	int64_t wait, now = now_ms();
	int org, mem, ban;

	if (!meeting_code_normalize(typed, code)) {
		http_error(r, 404, "unknown_meeting", "a meeting code looks like abc-defg-hij");
		return -ENOENT;
	}
	http_peer_address(r, addr, sizeof(addr));
	if ((wait = code_guard_wait(r->user.id, addr, now)) > 0) {
		http_too_many(r, wait, "too many unknown meeting codes; wait before trying another");
		return -EAGAIN;
	}
	if (store_call(srv->store, meeting_by_code, code, m) < 0) {
		code_guard_miss(r->user.id, addr, now);
		http_error(r, 404, "unknown_meeting", "no meeting has this code");
		return -ENOENT;
	}
	org = store_call(srv->store, is_organiser, m->id, r->user.id);
	mem = store_call(srv->store, is_member, m->id, r->user.id);
	ban = store_call(srv->store, is_banned, m->id, r->user.id);
	*role = org > 0 ? ROLE_ORGANISER : (mem > 0 && ban == 0) ? ROLE_ATTENDEE : ROLE_NONE;
	if (*role < need) {
		meeting_clear(m);
		if (ban > 0)
			http_error(r, 403, "banned", "you are banned from this meeting");
		else if (need == ROLE_ORGANISER && *role == ROLE_ATTENDEE)
			http_error(r, 403, "organisers_only", "only the meeting's organisers may see or do this");
		else
			http_error(r, 403, "not_member", "not a member of this meeting: join it by its code first");
		return -EPERM;
	}
	return 0;
}

/* The domain part of an e-mail address, or NULL. */
static const char *email_domain(const char *email)
{
	const char *at = email ? strrchr(email, '@') : NULL;
	return at && at[1] ? at + 1 : NULL;
}

/* Whether the meeting's join policy lets this (not yet member) user in. */
static bool may_join(const struct meeting *m, const struct user *u)
{
	struct user creator = { 0 };
	const char *mine, *theirs;
	bool ok;

	if (m->join_policy == JOIN_ANYONE)
		return true;
	/* an address anyone could type at sign-up proves nothing about the domain */
	if (store_call(srv->store, user_email_verified, u->id) != 1)
		return false;
	if (store_call(srv->store, user_get, m->created_by, &creator) < 0)
		return false;
	mine = email_domain(u->email);
	theirs = email_domain(creator.email);
	ok = mine && theirs && strcasecmp(mine, theirs) == 0;
	user_clear(&creator);
	return ok;
}

int api_meeting_create(struct http_req *r, const char *arg)
{
	const char *title = http_body_str(r, "title"), *link = http_body_str(r, "link"), *why;
	const char *join = http_body_str(r, "join");
	enum join_policy policy = JOIN_ANYONE;
	struct meeting m = { 0 };
	struct rate_rule create_rule = { "meetings per account", (double)srv->cfg->meetings_per_hour / 3600.0,
					 (double)srv->cfg->meetings_per_hour, true };
	char key[48];
	int64_t wait;

	snprintf(key, sizeof(key), "create:u:%lld", (long long)r->user.id);
	if ((why = meeting_check_title(title)))
		return http_error(r, 400, "bad_request", why);
	if (link && !*link)
		link = NULL;
	if (link && (why = meeting_check_link(link)))
		return http_error(r, 400, "bad_request", why);
	if (json_object_get(r->json, "link") && !json_is_string(json_object_get(r->json, "link")) &&
	    !json_is_null(json_object_get(r->json, "link")))
		return http_error(r, 400, "bad_request", "link must be a string");
	if (json_object_get(r->json, "join") && (!join || (strcmp(join, "anyone") && strcmp(join, "domain"))))
		return http_error(r, 400, "bad_request", "join must be \"anyone\" or \"domain\"");
	if (join && strcmp(join, "domain") == 0) {
		if (!email_domain(r->user.email))
			return http_error(r, 400, "bad_request",
					  "join \"domain\" needs an e-mail address on your account");
		policy = JOIN_DOMAIN;
	}
	if (!ratelimit_take(&create_rule, key, now_ms(), &wait)) {
		log_warn("meetings: user %lld over meetings_per_hour (%llu)", (long long)r->user.id,
			 (unsigned long long)srv->cfg->meetings_per_hour);
		return http_too_many(r, wait, "too many meetings created in the last hour");
	}
	if (meeting_create(&r->user, title, link, policy, &m) < 0)
		return http_error(r, 500, "internal", "cannot create the meeting");
	log_info("meeting %s created by user %lld", m.code, (long long)r->user.id);
	http_json(r, 201, json_pack("{s:s, s:o}", "code", m.code, "meeting", meeting_json(&m, true)));
	meeting_clear(&m);
	return 0;
}

int api_meeting_list(struct http_req *r, const char *arg)
{
	struct meeting_list ongoing = { 0 }, past = { 0 };
	json_t *j;

	if (store_call(srv->store, meeting_list, r->user.id, &ongoing, &past) < 0)
		return http_error(r, 500, "internal", "cannot list meetings");
	j = json_pack("{s:o, s:o}", "ongoing", meeting_list_json(&ongoing), "past", meeting_list_json(&past));
	meeting_list_free(&ongoing);
	meeting_list_free(&past);
	return j ? http_json(r, 200, j) : http_error(r, 500, "internal", "cannot list meetings");
}

int api_meeting_join(struct http_req *r, const char *arg)
{
	const char *code = http_body_str(r, "code");
	struct meeting m = { 0 };
	enum role role;
	int e;

	if (!code)
		return http_error(r, 400, "bad_request", "\"code\" (like abc-defg-hij) is required");
	e = load(r, code, &m, &role, ROLE_NONE);
	if (e < 0)
		return 0;
	if (store_call(srv->store, is_banned, m.id, r->user.id) > 0) {
		meeting_clear(&m);
		return http_error(r, 403, "banned", "you are banned from this meeting");
	}
	if (m.end_at) {
		meeting_clear(&m);
		return http_error(r, 410, "meeting_ended", "this meeting has ended");
	}
	if (role == ROLE_NONE && !may_join(&m, &r->user)) {
		log_info("meeting %s: user %lld refused: not at the organiser's e-mail domain", m.code,
			 (long long)r->user.id);
		meeting_clear(&m);
		return http_error(
			r, 403, "not_invited",
			"this meeting is open only to accounts with a verified e-mail at its organiser's domain");
	}
	if (role == ROLE_NONE) {
		if (store_call(srv->store, member_add, m.id, r->user.id, now_ms()) < 0) {
			meeting_clear(&m);
			return http_error(r, 500, "internal", "cannot join");
		}
		role = ROLE_ATTENDEE;
	}
	char path[32];
	snprintf(path, sizeof(path), "/lobby/%s", m.code);
	http_json(r, 200, json_pack("{s:o, s:s}", "meeting", meeting_json(&m, role == ROLE_ORGANISER), "lobby", path));
	meeting_clear(&m);
	return 0;
}

/* The meeting's people, e-mails for organisers only; an empty list when the store fails. */
static json_t *people_for(int64_t meeting_id, enum role role)
{
	struct person_list l = { 0 };
	json_t *j;

	if (store_call(srv->store, people, meeting_id, &l) < 0)
		return json_array();
	j = people_json(&l, role == ROLE_ORGANISER);
	person_list_free(&l);
	return j;
}

/* The meeting's monitor transitions, from its event log; NULL on error. */
static json_t *monitoring_of(int64_t meeting_id)
{
	struct event_list l = { 0 };
	json_t *j;

	if (store_call(srv->store, events_of_type, meeting_id, PROTO_LOBBY_EV_MONITOR, &l) < 0)
		return NULL;
	j = monitoring_json(&l);
	event_list_free(&l);
	return j;
}

static json_t *attendance_of(int64_t meeting_id)
{
	struct attendance_list l = { 0 };
	json_t *j;

	if (store_call(srv->store, attendance, meeting_id, now_ms(), &l) < 0)
		return NULL;
	j = attendance_json(&l);
	attendance_list_free(&l);
	return j;
}

static json_t *recordings_of(int64_t meeting_id)
{
	struct recording_list l = { 0 };
	json_t *j;

	if (store_call(srv->store, recordings_of_meeting, meeting_id, &l) < 0)
		return NULL;
	j = recordings_json(&l);
	recording_list_free(&l);
	return j;
}

static json_t *bans_of(int64_t meeting_id)
{
	struct ban_list l = { 0 };
	json_t *j;

	if (store_call(srv->store, bans, meeting_id, &l) < 0)
		return NULL;
	j = bans_json(&l);
	ban_list_free(&l);
	return j;
}

int api_meeting_monitoring(struct http_req *r, const char *code)
{
	struct meeting m = { 0 };
	enum role role;
	json_t *v;

	if (load(r, code, &m, &role, ROLE_ORGANISER) < 0)
		return 0;
	v = monitoring_of(m.id);
	meeting_clear(&m);
	return !v ? http_error(r, 500, "internal", "cannot read the monitoring log")
		  : http_json(r, 200, json_pack("{s:o}", "monitoring", v));
}

int api_meeting_get(struct http_req *r, const char *code)
{
	struct meeting m = { 0 };
	enum role role;
	json_t *j, *v = NULL;

	if (load(r, code, &m, &role, ROLE_ATTENDEE) < 0)
		return 0;
	j = json_pack("{s:o, s:o}", "meeting", meeting_json(&m, role == ROLE_ORGANISER), "people",
		      people_for(m.id, role));
	if (role == ROLE_ORGANISER) {
		if ((v = attendance_of(m.id)))
			json_object_set_new(j, "attendance", v);
		if ((v = recordings_of(m.id)))
			json_object_set_new(j, "recordings", v);
		if ((v = bans_of(m.id)))
			json_object_set_new(j, "bans", v);
		if ((v = monitoring_of(m.id)))
			json_object_set_new(j, "monitoring", v);
	}
	meeting_clear(&m);
	return http_json(r, 200, j);
}

int api_meeting_attendance(struct http_req *r, const char *code)
{
	struct meeting m = { 0 };
	enum role role;
	json_t *v;

	if (load(r, code, &m, &role, ROLE_ORGANISER) < 0)
		return 0;
	v = attendance_of(m.id);
	meeting_clear(&m);
	return !v ? http_error(r, 500, "internal", "cannot read attendance")
		  : http_json(r, 200, json_pack("{s:o}", "attendance", v));
}

int api_meeting_recordings(struct http_req *r, const char *code)
{
	struct meeting m = { 0 };
	enum role role;
	json_t *v;

	if (load(r, code, &m, &role, ROLE_ORGANISER) < 0)
		return 0;
	v = recordings_of(m.id);
	meeting_clear(&m);
	return !v ? http_error(r, 500, "internal", "cannot read recordings")
		  : http_json(r, 200, json_pack("{s:o}", "recordings", v));
}

static int op_status(struct http_req *r, int e)
{
	switch (e) {
	case 0: return http_json(r, 200, json_pack("{s:b}", "ok", 1));
	case -EPERM: return http_error(r, 403, "organisers_only", "only the meeting's organisers may do this");
	case -EEXIST: return http_error(r, 409, "already", "already done");
	case -ENOENT: return http_error(r, 404, "unknown_user", "no member of this meeting is that user");
	case -EINVAL: return http_error(r, 400, "bad_target", "not allowed on that user");
	default: return http_error(r, 500, "internal", "internal error");
	}
}

int api_meeting_end(struct http_req *r, const char *code)
{
	struct meeting m = { 0 };
	enum role role;

	if (load(r, code, &m, &role, ROLE_ORGANISER) < 0)
		return 0;
	int e = meeting_finish(&m, &r->user);
	meeting_clear(&m);
	return op_status(r, e);
}

/* The user named by "user_id", "username" or "email" in the body. */
static int find_target(struct http_req *r, struct user *u)
{
	json_t *id = json_object_get(r->json, "user_id");
	const char *s;

	if (json_is_integer(id))
		return store_call(srv->store, user_get, json_integer_value(id), u);
	if ((s = http_body_str(r, "username")))
		return store_call(srv->store, user_find, "username", s, u);
	if ((s = http_body_str(r, "email")))
		return store_call(srv->store, user_find, "email", s, u);
	return -EINVAL;
}

int api_meeting_add_organiser(struct http_req *r, const char *code)
{
	struct meeting m = { 0 };
	struct user target = { 0 };
	enum role role;
	int e;

	if (load(r, code, &m, &role, ROLE_ORGANISER) < 0)
		return 0;
	e = find_target(r, &target);
	if (e == -EINVAL) {
		meeting_clear(&m);
		return http_error(r, 400, "bad_request", "name the user by \"user_id\", \"username\" or \"email\"");
	}
	e = e < 0 ? -ENOENT : meeting_add_organiser(&m, &r->user, &target);
	meeting_clear(&m);
	user_clear(&target);
	return op_status(r, e);
}

int api_meeting_ban(struct http_req *r, const char *code)
{
	struct meeting m = { 0 };
	json_t *id = json_object_get(r->json, "user_id");
	const char *reason = http_body_str(r, "reason");
	enum role role;

	if (!json_is_integer(id))
		return http_error(r, 400, "bad_request", "\"user_id\" is required");
	if (reason && strlen(reason) > 500)
		return http_error(r, 400, "bad_request", "reason must be at most 500 bytes");
	if (load(r, code, &m, &role, ROLE_ORGANISER) < 0)
		return 0;
	int e = meeting_ban(&m, &r->user, json_integer_value(id), reason);
	meeting_clear(&m);
	return op_status(r, e);
}

/* ------------------------------------------------- paging (lobby scale) */

/*
 * Query argument name as a number in lo..hi, *ret = def when absent.
 * On a bad value the 400 response is set and -EINVAL returned.
 */
static int query_u64(struct http_req *r, const char *name, uint64_t lo, uint64_t hi, uint64_t def, uint64_t *ret)
{
	char buf[24], why[96];
	int e = http_query(r, name, buf, sizeof(buf));

	*ret = def;
	if (e == -ENOENT)
		return 0;
	if (e == 0 && parse_u64(buf, lo, hi, ret) == 0)
		return 0;
	snprintf(why, sizeof(why), "\"%s\" must be a whole number from %llu to %llu", name, (unsigned long long)lo,
		 (unsigned long long)hi);
	http_error(r, 400, "bad_request", why);
	return -EINVAL;
}

int api_meeting_people(struct http_req *r, const char *code)
{
	char after[PEOPLE_CURSOR_MAX] = "";
	struct meeting m = { 0 };
	uint64_t limit;
	enum role role;
	json_t *page = NULL;
	int e;

	e = http_query(r, "after", after, sizeof(after));
	if (e == -E2BIG)
		return http_error(r, 400, "bad_request",
				  "\"after\" is not a cursor this server made (use \"next\" of a page)");
	if (query_u64(r, "limit", 1, PEOPLE_PAGE_MAX, 50, &limit) < 0 || load(r, code, &m, &role, ROLE_ATTENDEE) < 0)
		return 0;
	e = lobby_view_people_page(m.id, role == ROLE_ORGANISER, after, (unsigned)limit, &page);
	meeting_clear(&m);
	if (e == -EINVAL)
		return http_error(r, 400, "bad_request",
				  "\"after\" is not a cursor this server made (use \"next\" of a page)");
	return e < 0 ? http_error(r, 500, "internal", "cannot read people") : http_json(r, 200, page);
}

int api_meeting_chat_page(struct http_req *r, const char *code)
{
	struct meeting m = { 0 };
	uint64_t before, limit;
	enum role role;
	json_t *page = NULL;
	int e;

	if (query_u64(r, "before", 1, INT64_MAX, 0, &before) < 0 ||
	    query_u64(r, "limit", 1, CHAT_PAGE_MAX, 50, &limit) < 0 || load(r, code, &m, &role, ROLE_ATTENDEE) < 0)
		return 0;
	e = lobby_view_chat_page(m.id, role == ROLE_ORGANISER, (int64_t)before, (unsigned)limit, &page);
	meeting_clear(&m);
	return e < 0 ? http_error(r, 500, "internal", "cannot read chat") : http_json(r, 200, page);
}
