// SPDX-License-Identifier: GPL-2.0-only
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "broadcast.h"
#include "cleanup.h"
#include "json_shape.h"
#include "lobby.h"
#include "lobby_view.h"
#include "meeting.h"
#include "monitor.h"
#include "proto_lobby.h"
#include "server.h"
#include "util.h"

/*
 * Byte budgets inside SNAPSHOT_MAX: the head ("type", "v", "offset", "you":
 * an id and a name of at most 128 bytes, escaped) fits HEAD_RESERVE; the chat
 * part CHAT_BUDGET (one line of the longest, 4 000 bytes, always fits); the
 * people part the rest: the meeting (a 200-byte title, a 2 KiB link), up to
 * ORGANISERS_BUDGET of organisers, the counts, then flagged attendees (up to
 * half of what is left) and the first page of people.
 */
#define HEAD_RESERVE 1024
#define CHAT_BUDGET 6144
#define PEOPLE_BUDGET (SNAPSHOT_MAX - HEAD_RESERVE - CHAT_BUDGET)
#define ORGANISERS_BUDGET 1536

struct lobby_view {
	char *people[2]; /* [organiser]: "meeting":..,"organisers":..,"attendees":..,"people":..[,"flagged":..] */
	size_t people_len[2];
	char *chat[2];		/* [organiser]: "chat":[..],"chat_more":b */
	size_t chat_len[2];
	uint64_t monitor_gen;	/* monitor_generation() when the people parts were built */
	bool current[2];	/* [organiser]: both parts agree with the lobby's offset (lobby_view_confirm) */
};

/*
 * Whether someone is monitored changes when an agent connects or goes
 * silent, and is announced only in the lobbies the person has open; a
 * cached page of a lobby they are not in would keep the old state. Such
 * flips are rare (machines, not messages), so each one (monitor.c counts
 * them in monitor_generation()) makes every cached people part stale.
 */

void lobby_view_stale(struct lobby *l, bool chat_only)
{
	struct lobby_view *v = l->view;

	if (!v)
		return;
	for (int i = 0; i < 2; i++) {
		v->current[i] = false;
		free(v->chat[i]);
		v->chat[i] = NULL;
		if (!chat_only) {
			free(v->people[i]);
			v->people[i] = NULL;
		}
	}
}

void lobby_view_free(struct lobby *l)
{
	lobby_view_stale(l, false);
	free(l->view);
	l->view = NULL;
}

static size_t jsize(const json_t *j) { return json_dumpb(j, NULL, 0, JSON_COMPACT); }

/* ----------------------------------------------------------- person objects */

/* user id -> [recording objects] of the recordings going on now that are linked to the meeting */
static json_t *live_recordings(int64_t meeting_id)
{
	struct recording_list recs = { 0 };
	json_t *map;

	if (store_call(srv->store, recordings_live_of_meeting, meeting_id, &recs) < 0)
		return NULL;
	map = json_object();
	for (size_t i = 0; map && i < recs.n; i++) {
		char key[24];
		json_t *mine;

		snprintf(key, sizeof(key), "%" PRId64, recs.v[i].user_id);
		if (!(mine = json_object_get(map, key))) {
			mine = json_array();
			json_object_set_new(map, key, mine);
		}
		json_array_append_new(mine, recording_public_json(&recs.v[i]));
	}
	recording_list_free(&recs);
	return map;
}

/*
 * The person object clients see for a person of the meeting: recording
 * state from recs (only while online, as ever), monitoring, no e-mail
 * unless for organisers.
 */
static json_t *person_object(const struct person *p, json_t *recs, bool organiser)
{
	const char *why = NULL;
	bool monitored = monitor_user_is_monitored(p->id, &why);
	char key[24];
	json_t *mine;

	snprintf(key, sizeof(key), "%" PRId64, p->id);
	mine = p->online ? json_object_get(recs, key) : NULL;
	return person_json(p, organiser, mine ? json_incref(mine) : NULL, monitored, why);
}

/* ------------------------------------------------------------------ cursor */

static void cursor_of(const struct person *p, char *buf, size_t len)
{
	snprintf(buf, len, "%d.%" PRId64, p->grp, p->id);
}

/* "<group>.<user id>", group 0..2: what cursor_of() makes; "start": from the first person. */
static int cursor_parse(const char *s, int *ret_grp, int64_t *ret_id)
{
	uint64_t id;

	if (s && strcmp(s, "start") == 0) {
		*ret_grp = -1;
		*ret_id = 0;
		return 0;
	}
	if (!s || strlen(s) >= PEOPLE_CURSOR_MAX || s[0] < '0' || s[0] > '2' || s[1] != '.')
		return -EINVAL;
	if (parse_u64(s + 2, 1, INT64_MAX, &id) < 0)
		return -EINVAL;
	*ret_grp = s[0] - '0';
	*ret_id = (int64_t)id;
	return 0;
}

/* ---------------------------------------------------------------- snapshot */

/* Append items of src to a new array while the array's JSON stays within budget; *ret_cut: some did not fit. */
static json_t *fit(json_t *src, size_t from, size_t max_items, size_t budget, size_t *ret_used, bool *ret_cut)
{
	json_t *out = json_array(), *it;
	size_t used = 2, n = 0;	/* [] */

	*ret_cut = false;
	for (size_t i = from; i < json_array_size(src); i++) {
		it = json_array_get(src, i);
		size_t sz = jsize(it) + (n ? 1 : 0);
		if (n == max_items || used + sz > budget) {
			*ret_cut = true;
			break;
		}
		json_array_append(out, it);
		used += sz;
		n++;
	}
	*ret_used = used;
	return out;
}

/* json_dumps of obj without its braces: "k":v,... (caller frees). */
static char *members_text(json_t *obj, size_t *ret_len)
{
	char *s = json_dumps(obj, JSON_COMPACT);
	size_t n;

	if (!s)
		return NULL;
	n = strlen(s);
	memmove(s, s + 1, n - 2);
	s[n - 2] = '\0';
	*ret_len = n - 2;
	return s;
}

/*
 * Every person recording now in this meeting, online, for organisers:
 * here, or (several nodes) with an open attendance row on another node.
 */
static json_t *flagged_people(struct lobby *l, json_t *recs)
{
	json_t *out = json_array();
	const char *key;
	json_t *v;

	json_object_foreach(recs, key, v) {
		uint64_t uid;
		struct person p = { 0 };

		if (parse_u64(key, 1, INT64_MAX, &uid) < 0)
			continue;
		if (store_call(srv->store, person, l->meeting_id, (int64_t)uid, &p) == 0 &&
		    (p.online || lobby_presence(l, (int64_t)uid)))
			json_array_append_new(out, person_object(&p, recs, true));
		person_clear(&p);
	}
	return out;
}

static int build_people(struct lobby *l, const struct meeting *m, bool organiser, char **ret, size_t *ret_len)
{
	json_auto_t *objs = NULL, *recs = NULL, *obj = NULL, *organisers = NULL, *flagged = NULL, *page = NULL;
	_cleanup_(person_list_free) struct person_list rows = { 0 };
	unsigned limit = (unsigned)srv->cfg->lobby_page;
	int64_t total = 0, online = 0;
	size_t used, part, nshown;
	bool cut = false, more;
	char next[PEOPLE_CURSOR_MAX];
	int r;

	if ((r = store_call(srv->store, people_page, l->meeting_id, -1, 0, limit + 1, &rows)) < 0 ||
	    (r = store_call(srv->store, people_count, l->meeting_id, &total, &online)) < 0)
		return r;
	if (!(recs = live_recordings(l->meeting_id)))
		return -EIO;
	more = rows.n > limit;
	organisers = json_array();
	objs = json_array();
	for (size_t i = 0; i < rows.n; i++) {
		if (rows.v[i].grp == 0)
			json_array_append_new(organisers, organiser_json(&rows.v[i]));
		json_array_append_new(objs, person_object(&rows.v[i], recs, organiser));
	}
	obj = json_pack("{s:o}", "meeting", meeting_brief_json(m));
	used = jsize(obj);
	json_object_set_new(obj, "organisers", fit(organisers, 0, SIZE_MAX, ORGANISERS_BUDGET, &part, &cut));
	used += part + 16;
	/* the counts and the cursor: at most ~100 bytes */
	used += 128;
	if (organiser) {
		json_auto_t *all = flagged_people(l, recs);
		flagged = fit(all, 0, SIZE_MAX, PEOPLE_BUDGET > used ? (PEOPLE_BUDGET - used) / 2 : 0, &part, &cut);
		json_object_set(obj, "flagged", flagged);
		if (cut)
			json_object_set_new(obj, "flagged_more", json_true());
		used += part + 16;
	}
	page = fit(objs, 0, limit, PEOPLE_BUDGET > used + 16 ? PEOPLE_BUDGET - used - 16 : 0, &part, &cut);
	nshown = json_array_size(page);
	json_object_set(obj, "attendees", page);
	if ((cut || more) && nshown > 0)
		cursor_of(&rows.v[nshown - 1], next, sizeof(next));	/* objs[i] is rows.v[i] */
	if (nshown == 0 && rows.n > 0)
		snprintf(next, sizeof(next), "start");	/* not even one fitted: page them all over HTTP */
	json_object_set_new(obj, "people",
			    json_pack("{s:I, s:I, s:s?}", "total", (json_int_t)total, "online", (json_int_t)online,
				      "next", (cut || more) && rows.n > 0 ? next : NULL));
	*ret = members_text(obj, ret_len);
	return *ret ? 0 : -ENOMEM;
}

static int build_chat(struct lobby *l, bool organiser, char **ret, size_t *ret_len)
{
	json_auto_t *rows = NULL, *chat = NULL, *obj = NULL;
	_cleanup_(chat_list_free) struct chat_list lines = { 0 };
	unsigned limit = (unsigned)srv->cfg->lobby_chat_snapshot;
	size_t used = 32, n = 0;	/* "chat":[],"chat_more":false */
	int r;

	if ((r = store_call(srv->store, chat_page, l->meeting_id, organiser, 0, limit + 1, &lines)) < 0)
		return r;
	if (!(rows = chat_json(&lines)))
		return -ENOMEM;
	/* rows are newest first: keep the newest that fit, then put them oldest first */
	for (; n < json_array_size(rows) && n < limit; n++) {
		size_t sz = jsize(json_array_get(rows, n)) + 1;
		if (used + sz > CHAT_BUDGET)
			break;
		used += sz;
	}
	chat = json_array();
	for (size_t i = n; i-- > 0;)
		json_array_append(chat, json_array_get(rows, i));
	obj = json_pack("{s:O, s:b}", "chat", chat, "chat_more", n < json_array_size(rows));
	*ret = members_text(obj, ret_len);
	return *ret ? 0 : -ENOMEM;
}

struct msg *lobby_view_snapshot(struct lobby *l, const struct meeting *m, const struct user *me, bool organiser)
{
	json_auto_t *head = NULL;
	_cleanup_free_ char *h = NULL, *buf = NULL;
	struct lobby_view *v;
	int k = organiser ? 1 : 0;
	size_t hn, n;

	if (!l->view && !(l->view = calloc(1, sizeof(*l->view))))
		return NULL;
	v = l->view;
	if (v->monitor_gen != monitor_generation()) {
		lobby_view_stale(l, false);
		v->monitor_gen = monitor_generation();
	}
	if (!v->people[k] && build_people(l, m, organiser, &v->people[k], &v->people_len[k]) < 0)
		return NULL;
	if (!v->chat[k] && build_chat(l, organiser, &v->chat[k], &v->chat_len[k]) < 0)
		return NULL;
	head = json_pack("{s:s, s:i, s:I, s:{s:I, s:s, s:b}}", PROTO_WS_F_TYPE, PROTO_LOBBY_MSG_SNAPSHOT,
			 PROTO_WS_F_VERSION, PROTO_LOBBY_VERSION, "offset", (json_int_t)l->offset,
			 "you", "id", (json_int_t)me->id, "name", me->name ? me->name : "", "organiser", organiser);
	if (!head || !(h = json_dumps(head, JSON_COMPACT)))
		return NULL;
	hn = strlen(h) - 1;	/* without its closing brace */
	n = hn + 1 + v->people_len[k] + 1 + v->chat_len[k] + 1;
	if (!(buf = malloc(n + 1)))
		return NULL;
	memcpy(buf, h, hn);
	buf[hn] = ',';
	memcpy(buf + hn + 1, v->people[k], v->people_len[k]);
	buf[hn + 1 + v->people_len[k]] = ',';
	memcpy(buf + hn + 2 + v->people_len[k], v->chat[k], v->chat_len[k]);
	buf[n - 1] = '}';
	buf[n] = '\0';
	return msg_new(buf, n);
}

bool lobby_view_current(const struct lobby *l, bool organiser)
{
	const struct lobby_view *v = l->view;
	int k = organiser ? 1 : 0;

	return v && v->current[k] && v->people[k] && v->chat[k] && v->monitor_gen == monitor_generation();
}

void lobby_view_confirm(struct lobby *l, bool organiser)
{
	struct lobby_view *v = l->view;
	int k = organiser ? 1 : 0;

	if (v && v->people[k] && v->chat[k] && v->monitor_gen == monitor_generation())
		v->current[k] = true;
}

/* ---------------------------------------------------------------- presence */

json_t *lobby_view_presence(struct lobby *l, const int64_t *joined, size_t nj, size_t more_joined,
			    const int64_t *left, size_t nl, size_t more_left)
{
	json_auto_t *recs = live_recordings(l->meeting_id);
	json_t *j = json_array(), *g = json_array();
	int64_t total = 0, online = 0;

	if (!recs || store_call(srv->store, people_count, l->meeting_id, &total, &online) < 0) {
		json_decref(j);
		json_decref(g);
		return NULL;
	}
	for (size_t i = 0; i < nj; i++) {
		struct person p = { 0 };
		if (store_call(srv->store, person, l->meeting_id, joined[i], &p) == 0) {
			p.online = true;	/* online in memory now, whatever the attendance rows say */
			json_array_append_new(j, person_object(&p, recs, false));
		}
		person_clear(&p);
	}
	for (size_t i = 0; i < nl; i++)
		json_array_append_new(g, json_integer(left[i]));
	return json_pack("{s:I, s:I, s:o, s:o, s:I, s:I}", "online", (json_int_t)l->online, "total", (json_int_t)total,
			 "joined", j, "left", g, "more_joined", (json_int_t)more_joined, "more_left",
			 (json_int_t)more_left);
}

/* -------------------------------------------------------------- HTTP pages */

int lobby_view_people_page(int64_t meeting_id, bool organiser, const char *cursor, unsigned limit, json_t **ret_page)
{
	_cleanup_(person_list_free) struct person_list rows = { 0 };
	json_auto_t *recs = NULL, *people = NULL;
	int64_t total = 0, online = 0, after_id = 0;
	int after_grp = -1, r;
	char next[PEOPLE_CURSOR_MAX];
	bool more;

	if (cursor && *cursor && cursor_parse(cursor, &after_grp, &after_id) < 0)
		return -EINVAL;
	if ((r = store_call(srv->store, people_page, meeting_id, after_grp, after_id, limit + 1, &rows)) < 0 ||
	    (r = store_call(srv->store, people_count, meeting_id, &total, &online)) < 0)
		return r;
	if (!(recs = live_recordings(meeting_id)) || !(people = json_array()))
		return -EIO;
	more = rows.n > limit;
	if (more)
		cursor_of(&rows.v[limit - 1], next, sizeof(next));
	for (size_t i = 0; i < rows.n && i < limit; i++)
		json_array_append_new(people, person_object(&rows.v[i], recs, organiser));
	*ret_page = json_pack("{s:O, s:s?, s:I, s:I}", "people", people, "next", more ? next : NULL, "total",
			      (json_int_t)total, "online", (json_int_t)online);
	return *ret_page ? 0 : -ENOMEM;
}

int lobby_view_chat_page(int64_t meeting_id, bool organiser, int64_t before, unsigned limit, json_t **ret_page)
{
	_cleanup_(chat_list_free) struct chat_list lines = { 0 };
	json_auto_t *chat = json_array();
	size_t n;
	int r;

	if ((r = store_call(srv->store, chat_page, meeting_id, organiser, before, limit + 1, &lines)) < 0)
		return r;
	n = lines.n > limit ? limit : lines.n;
	for (size_t i = n; i-- > 0;)
		json_array_append_new(chat, chat_line_json(&lines.v[i]));
	*ret_page = json_pack("{s:O, s:b}", "chat", chat, "more", lines.n > limit);
	return *ret_page ? 0 : -ENOMEM;
}
