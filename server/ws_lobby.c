// SPDX-License-Identifier: GPL-2.0-only
#include <errno.h>
#include <string.h>

#include "broadcast.h"
#include "lobby.h"
#include "log.h"
#include "meeting.h"
#include "presence.h"
#include "server.h"
#include "ws_lobby.h"

#define CHAT_MAX 4000


/* ----------------------------------------------------------- snapshot */

static json_t *snapshot(struct conn *c, struct lobby *l, const struct meeting *m, const struct user *me)
{
	json_t *people = NULL, *chat = NULL, *recs = NULL, *organisers = json_array(), *p, *live = json_object();
	size_t i;

	if (store_call(srv->store, people, m->id, &people) < 0 || store_call(srv->store, chat_history, m->id, c->organiser, &chat) < 0 ||
	    store_call(srv->store, recordings_of_meeting, m->id, &recs) < 0) {
		json_decref(people);
		json_decref(chat);
		json_decref(organisers);
		json_decref(live);
		return NULL;
	}
	/* user id -> ongoing recordings linked to this meeting */
	json_array_foreach(recs, i, p) {
		char key[32];
		if (!json_is_null(json_object_get(p, "end_at")))
			continue;
		snprintf(key, sizeof(key), "%lld", (long long)json_integer_value(json_object_get(p, "user_id")));
		if (!json_object_get(live, key))
			json_object_set_new(live, key, json_array());
		json_array_append_new(json_object_get(live, key), recording_public_json(p));
	}
	json_array_foreach(people, i, p) {
		int64_t uid = json_integer_value(json_object_get(p, "id"));
		struct presence *pr = lobby_presence(l, uid);
		char key[32];

		snprintf(key, sizeof(key), "%lld", (long long)uid);
		json_t *mine = json_object_get(live, key);
		if (!c->organiser)
			json_object_del(p, "email");
		json_object_set_new(p, "online", json_boolean(pr != NULL));
		json_object_set_new(p, "recording", json_boolean(pr && mine && json_array_size(mine)));
		json_object_set_new(p, "recordings", pr && mine ? json_incref(mine) : json_array());
		presence_describe(p, uid);
		if (json_is_true(json_object_get(p, "organiser")))
			json_array_append_new(organisers, json_pack("{s:O, s:O, s:O}", "id", json_object_get(p, "id"),
								    "name", json_object_get(p, "name"),
								    "picture", json_object_get(p, "picture")));
	}
	json_decref(recs);
	json_decref(live);
	return json_pack("{s:s, s:i, s:I, s:{s:I, s:s, s:s, s:s?, s:b, s:I, s:o?}, s:{s:I, s:s, s:b}, s:o, s:o, s:o}",
			 "type", "lobby", "v", 1, "offset", (json_int_t)l->offset,
			 "meeting", "id", (json_int_t)m->id, "code", m->code, "title", m->title, "link", m->link,
			 "in_app", m->link == NULL, "start_at", (json_int_t)m->start_at, "end_at", m->end_at ? json_integer(m->end_at) : NULL,
			 "you", "id", (json_int_t)me->id, "name", me->name, "organiser", c->organiser,
			 "organisers", organisers, "attendees", people, "chat", chat);
}

static int replay_one(void *ud, uint64_t offset, enum audience audience, const char *body)
{
	struct conn *c = ud;
	struct msg *m;
	int r;

	if (audience == AUDIENCE_ORGANISERS && !c->organiser)
		return 0;
	m = msg_new(body, strlen(body));
	if (!m)
		return -ENOMEM;
	r = conn_send(c, m);
	msg_unref(m);
	return r;
}

/*
 * Send the events after since. A client that missed more than half its send
 * queue can hold is not fed event by event (it would be closed as too slow):
 * it gets recovered:false and relies on a snapshot instead.
 */
static bool replay(struct conn *c, uint64_t since)
{
	uint64_t last = c->lobby ? c->lobby->offset : 0;
	uint64_t budget = srv->cfg->ws_queue_max / 2;

	if (since < last && last - since > budget)
		return false;
	store_call(srv->store, events_since, c->meeting_id, since, replay_one, c);
	return true;
}

static int synced(struct conn *c, bool recovered)
{
	return conn_send_json(c, json_pack("{s:s, s:i, s:I, s:b}", "type", "synced", "v", 1, "offset",
					   (json_int_t)c->lobby->offset, "recovered", recovered));
}

/* --------------------------------------------------------------- open */

static int refuse(struct conn *c, const char *code, uint16_t close_code, const char *message)
{
	conn_error(c, code, message);
	conn_close(c, close_code, message);
	return 0;
}

/* Link the user's ongoing recordings to the meeting; one event per new link. */
static int flag_ongoing(struct outbox *ob, struct lobby *l, int64_t user_id)
{
	json_t *recs = NULL, *rec;
	size_t i;
	int r = store_call(srv->store, recordings_ongoing, user_id, &recs);

	if (r < 0)
		return r;
	json_array_foreach(recs, i, rec) {
		int64_t id = json_integer_value(json_object_get(rec, "id"));
		r = store_call(srv->store, recording_link, id, l->meeting_id);
		if (r > 0)
			r = outbox_event(ob, l, "recording.begin",
					 json_pack("{s:o, s:b}", "recording", recording_public_json(rec), "before_join", 1),
					 now_ms());
		if (r < 0)
			break;
	}
	json_decref(recs);
	return r < 0 ? r : 0;
}

int ws_lobby_open(struct conn *c, const char *code, int64_t since)
{
	struct meeting m = { 0 };
	struct user me = { 0 };
	struct outbox ob;
	struct lobby *l;
	struct presence *p;
	bool new_presence = false;
	int r, org, mem;

	c->kind = CONN_LOBBY;
	if (store_call(srv->store, meeting_by_code, code, &m) < 0)
		return refuse(c, "unknown_meeting", 4404, "no meeting has this code");
	if (m.end_at) {
		meeting_clear(&m);
		return refuse(c, "meeting_ended", 4410, "this meeting has ended");
	}
	if (store_call(srv->store, is_banned, m.id, c->user_id) != 0) {
		meeting_clear(&m);
		log_info("lobby: banned user %lld refused in meeting %s", (long long)c->user_id, code);
		return refuse(c, "banned", 4003, "you are banned from this meeting");
	}
	org = store_call(srv->store, is_organiser, m.id, c->user_id);
	mem = store_call(srv->store, is_member, m.id, c->user_id);
	if (org <= 0 && mem <= 0) {
		meeting_clear(&m);
		return refuse(c, "not_member", 4403, "not a member of this meeting: join it by its code first");
	}
	if (store_call(srv->store, user_get, c->user_id, &me) < 0 || !(l = lobby_get(&m))) {
		meeting_clear(&m);
		user_clear(&me);
		return refuse(c, "internal", 1011, "internal error");
	}
	c->organiser = org > 0;
	c->meeting_id = m.id;
	p = lobby_presence(l, c->user_id);
	if (p && p->sockets >= (int)srv->cfg->lobby_user_sockets) {
		meeting_clear(&m);
		user_clear(&me);
		return refuse(c, "too_many_sockets", 4029, "too many lobby connections for one user");
	}

	r = outbox_begin(&ob);
	p = lobby_presence(l, c->user_id);
	if (r == 0 && !p) {
		new_presence = true;
		p = lobby_presence_add(l, c->user_id);
		r = p ? store_call(srv->store, attendance_open, m.id, c->user_id, now_ms(), &p->attendance_id) : -ENOMEM;
		if (r == 0) {
			json_t *u = user_public_json(&me);
			json_object_set_new(u, "organiser", json_boolean(c->organiser));
			presence_describe(u, c->user_id);	/* the others see at once whether an agent watches them */
			r = outbox_event(&ob, l, "join", json_pack("{s:o}", "user", u), now_ms());
		}
	}
	if (r == 0)
		r = flag_ongoing(&ob, l, c->user_id);
	if (r == 0) {
		r = outbox_commit_pinned(&ob, l);
	} else {
		outbox_abort(&ob);
	}
	if (r < 0) {
		if (new_presence && p)
			lobby_presence_remove(l, c->user_id);
		lobby_gc(l);
		meeting_clear(&m);
		user_clear(&me);
		log_err("lobby: cannot record join of user %lld in %s: %s", (long long)c->user_id, code, strerror(-r));
		return refuse(c, "internal", 1011, "internal error");
	}
	p->sockets++;
	lobby_attach(l, c);
	c->joined = true;
	conn_send_json(c, snapshot(c, l, &m, &me));
	if (since >= 0)
		synced(c, replay(c, (uint64_t)since));	/* the snapshot above is the fallback */
	log_debug("lobby: user %lld joined %s (%zu sockets)", (long long)c->user_id, code, l->n);
	meeting_clear(&m);
	user_clear(&me);
	return 0;
}

/* ------------------------------------------------------------ messages */

static int on_chat(struct conn *c, json_t *msg)
{
	const char *text = json_string_value(json_object_get(msg, "text"));
	size_t n = text ? strlen(text) : 0;
	struct user me = { 0 };
	struct outbox ob;
	int64_t id, at = now_ms();
	int r;

	if (!text)
		return conn_error(c, "bad_message", "chat needs a \"text\" string");
	if (n == 0 || n > CHAT_MAX || strspn(text, " \t\r\n") == n)
		return conn_error(c, "bad_message", "chat text must be 1 to 4000 bytes and not blank");
	if (store_call(srv->store, user_get, c->user_id, &me) < 0)
		return conn_error(c, "internal", "internal error");
	if ((r = outbox_begin(&ob)) == 0) {
		r = store_call(srv->store, chat_add, c->meeting_id, c->user_id, text, at, &id);
		if (r == 0)
			r = outbox_event(&ob, c->lobby, "chat",
					 json_pack("{s:I, s:s, s:o, s:s}", "id", (json_int_t)id, "kind", "user", "user",
						   user_public_json(&me), "text", text), at);
		r = r == 0 ? outbox_commit(&ob) : (outbox_abort(&ob), r);
	}
	user_clear(&me);
	if (r < 0) {
		log_err("lobby: chat not stored: %s", strerror(-r));
		return conn_error(c, "internal", "message not stored, try again");
	}
	return 0;
}

static int on_signal(struct conn *c, json_t *msg)
{
	static const char *const kinds[] = { "offer", "answer", "ice", "hangup" };
	json_t *to = json_object_get(msg, "to"), *data = json_object_get(msg, "data");
	const char *kind = json_string_value(json_object_get(msg, "kind"));
	bool ok = false, sent = false;
	struct msg *out;
	json_t *j;

	for (size_t i = 0; kind && i < sizeof(kinds) / sizeof(kinds[0]); i++)
		ok |= strcmp(kind, kinds[i]) == 0;
	if (!json_is_integer(to) || !ok)
		return conn_error(c, "bad_message", "signal needs \"to\" (a user id) and \"kind\" (offer, answer, ice, hangup)");
	j = json_pack("{s:s, s:i, s:I, s:s, s:O?}", "type", "signal", "v", 1, "from", (json_int_t)c->user_id,
		      "kind", kind, "data", data);
	out = j ? msg_from_json(j) : NULL;
	json_decref(j);
	if (!out)
		return conn_error(c, "internal", "internal error");
	for (size_t i = 0; i < c->lobby->n; i++) {
		struct conn *peer = c->lobby->conns[i];
		if (peer->user_id == json_integer_value(to) && peer != c) {
			conn_send(peer, out);
			sent = true;
		}
	}
	msg_unref(out);
	return sent ? 0 : conn_error(c, "peer_offline", "that user has no open lobby in this meeting");
}

static int on_ban(struct conn *c, json_t *msg)
{
	json_t *u = json_object_get(msg, "user");
	const char *reason = json_string_value(json_object_get(msg, "reason"));
	struct meeting m = { 0 };
	struct user me = { 0 };
	int r;

	if (!json_is_integer(u))
		return conn_error(c, "bad_message", "ban needs \"user\" (a user id)");
	if (reason && strlen(reason) > 500)
		return conn_error(c, "bad_message", "reason must be at most 500 bytes");
	if (store_call(srv->store, meeting_get, c->meeting_id, &m) < 0 ||
	    store_call(srv->store, user_get, c->user_id, &me) < 0) {
		meeting_clear(&m);
		return conn_error(c, "internal", "internal error");
	}
	r = meeting_ban(&m, &me, json_integer_value(u), reason);
	meeting_clear(&m);
	user_clear(&me);
	switch (r) {
	case 0: return 0;
	case -EPERM: return conn_error(c, "forbidden", "only organisers can ban");
	case -EINVAL: return conn_error(c, "bad_target", "organisers (and you) cannot be banned");
	case -ENOENT: return conn_error(c, "unknown_user", "no such user");
	case -EEXIST: return conn_error(c, "already_banned", "that user is already banned");
	default: return conn_error(c, "internal", "internal error");
	}
}

static int on_sync(struct conn *c, json_t *msg)
{
	json_t *since = json_object_get(msg, "since");

	if (!json_is_integer(since) || json_integer_value(since) < 0)
		return conn_error(c, "bad_message", "sync needs \"since\" (the last offset you saw, >= 0)");
	if (replay(c, (uint64_t)json_integer_value(since)))
		return synced(c, true);
	/* too much missed: a fresh snapshot instead */
	struct meeting m = { 0 };
	struct user me = { 0 };
	if (store_call(srv->store, meeting_get, c->meeting_id, &m) == 0 &&
	    store_call(srv->store, user_get, c->user_id, &me) == 0)
		conn_send_json(c, snapshot(c, c->lobby, &m, &me));
	meeting_clear(&m);
	user_clear(&me);
	return synced(c, false);
}

static int on_ping(struct conn *c, json_t *msg)
{
	return conn_send_json(c, json_pack("{s:s, s:i}", "type", "pong", "v", 1));
}

static int on_end(struct conn *c, json_t *msg)
{
	struct meeting m = { 0 };
	struct user me = { 0 };
	int r = -EIO;

	if (store_call(srv->store, meeting_get, c->meeting_id, &m) == 0 &&
	    store_call(srv->store, user_get, c->user_id, &me) == 0)
		r = meeting_finish(&m, &me);
	meeting_clear(&m);
	user_clear(&me);
	if (r == -EPERM)
		return conn_error(c, "forbidden", "only organisers can end the meeting");
	return r < 0 && r != -EEXIST ? conn_error(c, "internal", "internal error") : 0;
}

static const struct {
	const char *type;
	int (*fn)(struct conn *c, json_t *msg);
} handlers[] = {
	{ "chat", on_chat }, { "signal", on_signal }, { "ban", on_ban },
	{ "sync", on_sync }, { "ping", on_ping }, { "end", on_end },
};

int ws_lobby_rx(struct conn *c, const char *buf, size_t len)
{
	json_error_t jerr;
	json_t *msg, *v;
	const char *type;
	int r = 0;

	if (!c->joined || c->closing)
		return 0;
	msg = json_loadb(buf, len, JSON_REJECT_DUPLICATES, &jerr);
	if (!msg)
		return conn_error(c, "bad_json", jerr.text);
	if (!json_is_object(msg)) {
		json_decref(msg);
		return conn_error(c, "bad_json", "a message must be a JSON object");
	}
	type = json_string_value(json_object_get(msg, "type"));
	v = json_object_get(msg, "v");
	if (!type) {
		r = conn_error(c, "bad_message", "missing \"type\"");
	} else if (v && (!json_is_integer(v) || json_integer_value(v) != 1)) {
		r = conn_error(c, "unsupported_version", "this server speaks protocol version 1");
	} else {
		size_t i;
		for (i = 0; i < sizeof(handlers) / sizeof(handlers[0]); i++)
			if (strcmp(type, handlers[i].type) == 0)
				break;
		r = i < sizeof(handlers) / sizeof(handlers[0]) ? handlers[i].fn(c, msg)
							       : conn_error(c, "unknown_type", "unknown message type");
	}
	json_decref(msg);
	return r < 0 && r != -ENOBUFS ? 0 : 0;
}

void ws_lobby_closed(struct conn *c)
{
	struct lobby *l = c->lobby;
	struct presence *p;
	struct outbox ob;
	struct user me = { 0 };
	int r;

	if (!c->joined || !l)
		return;
	c->joined = false;
	lobby_detach(c);
	p = lobby_presence(l, c->user_id);
	if (p && --p->sockets <= 0) {
		int64_t at = now_ms();
		store_call(srv->store, user_get, c->user_id, &me);
		r = outbox_begin(&ob);
		if (r == 0)
			r = store_call(srv->store, attendance_close, p->attendance_id, at);
		if (r == 0)
			r = outbox_event(&ob, l, "leave",
					 json_pack("{s:{s:I, s:s}}", "user", "id", (json_int_t)c->user_id, "name",
						   me.name ? me.name : ""), at);
		if (r == 0) {
			r = outbox_commit_pinned(&ob, l);
		} else {
			outbox_abort(&ob);
		}
		if (r < 0)
			log_err("lobby: cannot record leave of user %lld: %s", (long long)c->user_id, strerror(-r));
		lobby_presence_remove(l, c->user_id);
		user_clear(&me);
	}
	lobby_gc(l);
}
