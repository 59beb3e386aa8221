// SPDX-License-Identifier: GPL-2.0-only
#include <errno.h>
#include <string.h>

#include "broadcast.h"
#include "cleanup.h"
#include "cluster.h"
#include "conn.h"
#include "json_shape.h"
#include "lobby.h"
#include "lobby_view.h"
#include "log.h"
#include "meeting.h"
#include "proto_lobby.h"
#include "server.h"
#include "util.h"
#include "ws_lobby.h"



/* ----------------------------------------------------------- snapshot */

static int send_snapshot(struct conn *c, struct lobby *l, const struct meeting *m, const struct user *me)
{
	struct msg *s = lobby_view_snapshot(l, m, me, c->organiser);
	int r;

	if (!s) {
		log_err("lobby %s: cannot build a snapshot for user %lld", l->code, (long long)me->id);
		return conn_error(c, PROTO_WS_ERR_INTERNAL, "cannot build the lobby snapshot, try again");
	}
	if (s->len > SNAPSHOT_MAX)
		log_warn("lobby %s: snapshot of %u bytes exceeds its %d-byte budget", l->code, s->len, SNAPSHOT_MAX);
	l->snapshot_in_tick = true;	/* it may show arrivals the next presence event must confirm */
	r = conn_send(c, s);
	msg_unref(s);
	return r;
}

struct replay_state {
	struct conn *c;
	uint64_t upto;		/* the lobby's last delivered offset: later ones come by delivery, not twice */
	size_t bytes;
	bool cut;
};

static int replay_one(void *ud, uint64_t offset, enum audience audience, const char *body)
{
	struct replay_state *rs = ud;
	size_t n = strlen(body);
	struct msg *m;
	int r;

	if (offset > rs->upto)
		return -ECANCELED;
	if (audience == AUDIENCE_ORGANISERS && !rs->c->organiser)
		return 0;
	if (rs->bytes + n > srv->cfg->ws_queue_bytes / 2) {
		rs->cut = true;	/* the rest would make it "too slow": a snapshot replaces them */
		return -ENOBUFS;
	}
	m = msg_new(body, n);
	if (!m)
		return -ENOMEM;
	rs->bytes += n;
	r = conn_send(rs->c, m);
	msg_unref(m);
	return r;
}

/*
 * Send the events after since. A client that missed more than half of what
 * its send queue can hold (in messages or bytes), or events the retention
 * already dropped, or everything (since 0), is not fed event by event: it
 * gets a fresh snapshot and recovered:false instead.
 */
static bool replay(struct conn *c, uint64_t since)
{
	uint64_t last = c->lobby ? c->lobby->offset : 0, floor = 0;
	struct replay_state rs = { .c = c, .upto = last };

	if (since >= last)
		return true;
	if (since == 0 || last - since > srv->cfg->ws_queue_max / 2)
		return false;
	if (store_call(srv->store, event_floor, c->meeting_id, &floor) < 0 || since < floor)
		return false;
	store_call(srv->store, events_since, c->meeting_id, since, replay_one, &rs);
	return !rs.cut;
}

static int synced(struct conn *c, bool recovered)
{
	return conn_send_json(c, json_pack("{s:s, s:i, s:I, s:b}", PROTO_WS_F_TYPE, PROTO_LOBBY_MSG_SYNCED,
					   PROTO_WS_F_VERSION, PROTO_LOBBY_VERSION, "offset",
					   (json_int_t)c->lobby->offset, "recovered", recovered));
}

/* --------------------------------------------------------------- open */

static int refuse(struct conn *c, const char *code, uint16_t close_code, const char *message)
{
	conn_error(c, code, message);
	conn_close(c, close_code, message);
	return 0;
}

/* Link the user's ongoing recordings recs to the meeting; one event per new link. */
static int flag_ongoing(struct outbox *ob, struct lobby *l, const struct recording_list *recs)
{
	int r = 0;

	for (size_t i = 0; i < recs->n; i++) {
		r = store_call(srv->store, recording_link, recs->v[i].id, l->meeting_id);
		if (r > 0)
			r = outbox_event(ob, l, PROTO_LOBBY_EV_RECORDING_BEGIN,
					 json_pack("{s:o, s:b}", "recording", recording_public_json(&recs->v[i]),
						   "before_join", 1),
					 now_ms());
		if (r < 0)
			break;
	}
	return r < 0 ? r : 0;
}

/*
 * An arrival's writes: its attendance row, and its ongoing recordings
 * linked to the meeting with their events, in one transaction. Without
 * ongoing recordings (recording: lobby_access said whether there are any;
 * nearly every join of a storm has none) the attendance row is the only
 * write and needs no transaction around it: one round trip to the store,
 * not four (BEGIN, INSERT, the recordings, COMMIT).
 */
static int record_arrival(struct lobby *l, struct presence *p, int64_t user_id, bool recording)
{
	_cleanup_(recording_list_free) struct recording_list recs = { 0 };
	struct outbox ob;
	int r;

	r = recording ? store_call(srv->store, recordings_ongoing, user_id, &recs) : 0;
	if (r < 0)
		return r;
	if (recs.n == 0)
		return store_call(srv->store, attendance_open, l->meeting_id, user_id, now_ms(), &p->attendance_id);
	r = outbox_begin(&ob);
	if (r < 0)
		return r;
	r = store_call(srv->store, attendance_open, l->meeting_id, user_id, now_ms(), &p->attendance_id);
	if (r == 0)
		r = flag_ongoing(&ob, l, &recs);
	if (r < 0) {
		outbox_abort(&ob);
		return r;
	}
	return outbox_commit_pinned(&ob, l);
}

/*
 * Store round trips of a join (issue 13: a lecture hall's storm waits for
 * them on the event loop): the upgrade's session, rate buckets and
 * lobby_access read (ws.c, once: the meeting, the user, the user's
 * standing, whether the user records), on several nodes a catch-up read
 * unless the cached snapshot parts agree with the lobby's offset, then for
 * an arrival its attendance row (and, recording, its recordings in one
 * transaction), then the snapshot's reads unless cached (lobby_view.c).
 */
int ws_lobby_open(struct conn *c, const char *code, int64_t since, struct lobby_access *access)
{
	struct lobby_access a = { 0 };
	struct lobby *l;
	struct presence *p;
	bool live, caught_up;
	int r = 0;

	c->kind = CONN_LOBBY;
	if (access) {
		a = *access;	/* taken: cleared below */
		memset(access, 0, sizeof(*access));
	}
	if (!a.meeting.id) {
		user_clear(&a.user);
		r = store_call(srv->store, lobby_access, code, c->user_id, &a);
	}
	if (r == -ENOENT)
		return refuse(c, PROTO_LOBBY_ERR_UNKNOWN_MEETING, PROTO_LOBBY_CLOSE_UNKNOWN_MEETING,
			      "no meeting has this code");
	if (r < 0) {
		log_err("lobby: cannot read meeting %s for user %lld: %s", code, (long long)c->user_id, strerror(-r));
		return refuse(c, PROTO_WS_ERR_INTERNAL, LWS_CLOSE_STATUS_UNEXPECTED_CONDITION, "internal error");
	}
	if (a.meeting.end_at) {
		r = refuse(c, PROTO_LOBBY_ERR_MEETING_ENDED, PROTO_LOBBY_CLOSE_MEETING_ENDED, "this meeting has ended");
		goto out;
	}
	if (a.banned) {
		log_info("lobby: banned user %lld refused in meeting %s", (long long)c->user_id, code);
		r = refuse(c, PROTO_LOBBY_ERR_BANNED, PROTO_LOBBY_CLOSE_BANNED, "you are banned from this meeting");
		goto out;
	}
	if (!a.organiser && !a.member) {
		r = refuse(c, PROTO_LOBBY_ERR_NOT_MEMBER, PROTO_LOBBY_CLOSE_NOT_MEMBER,
			   "not a member of this meeting: join it by its code first");
		goto out;
	}
	live = lobby_find(a.meeting.id) != NULL;
	if (a.user.id == 0 || !(l = lobby_get(&a.meeting))) {
		r = refuse(c, PROTO_WS_ERR_INTERNAL, LWS_CLOSE_STATUS_UNEXPECTED_CONDITION, "internal error");
		goto out;
	}
	c->organiser = a.organiser;
	c->meeting_id = a.meeting.id;
	/*
	 * several nodes: what others committed and not yet notified goes out
	 * before this snapshot's offset (a lobby made just now read its
	 * offset), unless the snapshot comes from parts already shown to agree
	 * with the offset (lobby_view.h): in a storm, one catch-up a presence
	 * tick, not one a join
	 */
	caught_up = live && cluster_active() && !lobby_view_current(l, a.organiser);
	if (caught_up && lobby_catch_up(l) < 0)
		caught_up = false;
	p = lobby_presence(l, c->user_id);
	if (p && p->sockets >= (int)srv->cfg->lobby_user_sockets) {
		r = refuse(c, PROTO_LOBBY_ERR_TOO_MANY_SOCKETS, PROTO_LOBBY_CLOSE_TOO_MANY_SOCKETS,
			   "too many lobby connections for one user");
		goto out;
	}

	if (!p) {
		/* an arrival (or a return within the tick): its attendance row now, its announcement at the tick */
		p = lobby_presence_get(l, c->user_id);
		r = p ? record_arrival(l, p, c->user_id, a.recording) : -ENOMEM;
		if (r < 0) {
			if (p)
				lobby_presence_drop(l, p);
			lobby_gc(l);
			log_err("lobby: cannot record join of user %lld in %s: %s", (long long)c->user_id, code,
				strerror(-r));
			r = refuse(c, PROTO_WS_ERR_INTERNAL, LWS_CLOSE_STATUS_UNEXPECTED_CONDITION, "internal error");
			goto out;
		}
	}
	p = lobby_presence_get(l, c->user_id);
	if (!p || lobby_attach(l, c) < 0) {
		lobby_gc(l);
		r = refuse(c, PROTO_WS_ERR_INTERNAL, LWS_CLOSE_STATUS_UNEXPECTED_CONDITION, "internal error");
		goto out;
	}
	c->peer_next = p->conns;
	p->conns = c;
	if (++p->sockets == 1)
		lobby_presence_changed(l, p);
	c->joined = true;
	send_snapshot(c, l, &a.meeting, &a.user);
	if (caught_up)
		lobby_view_confirm(l, c->organiser);
	if (since >= 0)
		synced(c, replay(c, (uint64_t)since));	/* the snapshot above is the fallback */
	log_debug("lobby: user %lld joined %s (%zu sockets)", (long long)c->user_id, code, l->n);
	r = 0;
out:
	meeting_clear(&a.meeting);
	user_clear(&a.user);
	return r;
}

/* ------------------------------------------------------------ messages */

/* A client's id for a chat line: 1..64 of [A-Za-z0-9_-]. */
static bool valid_cid(const char *s)
{
	size_t n = strlen(s);

	return n >= 1 && n <= PROTO_LOBBY_CID_MAX &&
	       strspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-") == n;
}

/* A resend of a stored line: tell the sender alone where it is. 1: it was one, 0: new, < 0: error. */
static int chat_resent(struct conn *c, const char *cid)
{
	uint64_t offset = 0;
	int64_t id = 0;
	int r;

	if (!cid)
		return 0;
	r = store_call(srv->store, chat_find_cid, c->meeting_id, c->user_id, cid, &id, &offset);
	if (r == -ENOENT)
		return 0;
	if (r < 0)
		return r;
	conn_send_json(c, json_pack("{s:s, s:i, s:s, s:I, s:I, s:b}", PROTO_WS_F_TYPE, PROTO_LOBBY_MSG_CHAT_STORED,
				    PROTO_WS_F_VERSION, PROTO_LOBBY_VERSION, "cid", cid, "id", (json_int_t)id, "offset",
				    (json_int_t)offset, "duplicate", 1));
	return 1;
}

/* Retention: the meeting's chat lines, counted once per lobby, then kept up to date. */
static bool chat_full(struct lobby *l)
{
	if (l->chat_count < 0 && store_call(srv->store, chat_count, l->meeting_id, &l->chat_count) < 0)
		l->chat_count = -1;
	return l->chat_count >= (int64_t)srv->cfg->chat_max_per_meeting;
}

static int on_chat(struct conn *c, json_t *msg)
{
	const char *text = json_string_value(json_object_get(msg, "text"));
	json_t *jcid = json_object_get(msg, "cid");
	const char *cid = json_string_value(jcid);
	size_t n = text ? strlen(text) : 0;
	struct user me = { 0 };
	struct outbox ob;
	int64_t id, at = now_ms();
	uint64_t offset = 0;
	int r;

	if (!text)
		return conn_error(c, PROTO_WS_ERR_BAD_MESSAGE, "chat needs a \"text\" string");
	if (n == 0 || n > PROTO_LOBBY_CHAT_MAX || strspn(text, " \t\r\n") == n)
		return conn_error(c, PROTO_WS_ERR_BAD_MESSAGE,
				  "chat text must be 1 to " STR(PROTO_LOBBY_CHAT_MAX) " bytes and not blank");
	if (jcid && (!cid || !valid_cid(cid)))
		return conn_error(
			c, PROTO_WS_ERR_BAD_MESSAGE,
			"chat \"cid\" must be 1 to " STR(PROTO_LOBBY_CID_MAX) " characters of A-Z a-z 0-9 _ -");
	if ((r = chat_resent(c, cid)) != 0)
		return r < 0 ? conn_error(c, PROTO_WS_ERR_INTERNAL, "message not stored, try again") : 0;
	if (chat_full(c->lobby))
		return conn_error(
			c, PROTO_LOBBY_ERR_CHAT_FULL,
			"this meeting's chat is full (chat_max_per_meeting lines): no more lines can be stored");
	if (store_call(srv->store, user_get, c->user_id, &me) < 0)
		return conn_error(c, PROTO_WS_ERR_INTERNAL, "internal error");
	if ((r = outbox_begin(&ob)) == 0) {
		/* the event takes the meeting's next offset: stored with the row, a resend is answered with it */
		r = outbox_reserve(&ob, c->lobby, &offset);
		if (r == 0)
			r = store_call(srv->store, chat_add_cid, c->meeting_id, c->user_id, text, cid, offset, at, &id);
		if (r == 0)
			r = outbox_event(&ob, c->lobby, PROTO_LOBBY_MSG_CHAT,
					 json_pack("{s:I, s:s, s:o, s:s, s:s?}", "id", (json_int_t)id, "kind", "user",
						   "user", user_public_json(&me), "text", text, "cid", cid),
					 at);
		r = r == 0 ? outbox_commit(&ob) : (outbox_abort(&ob), r);
	}
	user_clear(&me);
	if (r < 0) {
		log_err("lobby %s: chat of user %lld not stored: %s", c->lobby->code, (long long)c->user_id,
			strerror(-r));
		return conn_error(c, PROTO_WS_ERR_INTERNAL, "message not stored, try again");
	}
	if (c->lobby->chat_count >= 0)
		c->lobby->chat_count++;
	return 0;
}

static int on_signal(struct conn *c, json_t *msg)
{
	static const char *const kinds[] = { PROTO_LOBBY_SIGNAL_OFFER, PROTO_LOBBY_SIGNAL_ANSWER,
					     PROTO_LOBBY_SIGNAL_ICE, PROTO_LOBBY_SIGNAL_HANGUP };
	json_t *to = json_object_get(msg, "to"), *data = json_object_get(msg, "data");
	const char *kind = json_string_value(json_object_get(msg, "kind"));
	bool ok = false, sent = false;
	struct msg *out;
	json_t *j;

	for (size_t i = 0; kind && i < ARRAY_SIZE(kinds); i++)
		ok |= strcmp(kind, kinds[i]) == 0;
	if (!json_is_integer(to) || !ok)
		return conn_error(c, PROTO_WS_ERR_BAD_MESSAGE,
				  "signal needs \"to\" (a user id) and \"kind\" (offer, answer, ice, hangup)");
	j = json_pack("{s:s, s:i, s:I, s:s, s:O?}", PROTO_WS_F_TYPE, PROTO_LOBBY_MSG_SIGNAL, PROTO_WS_F_VERSION,
		      PROTO_LOBBY_VERSION, "from", (json_int_t)c->user_id, "kind", kind, "data", data);
	out = j ? msg_from_json(j) : NULL;
	json_decref(j);
	if (!out)
		return conn_error(c, PROTO_WS_ERR_INTERNAL, "internal error");
	/* the target's own sockets only: O(its tabs), not O(lobby) */
	struct presence *p = lobby_presence(c->lobby, json_integer_value(to));
	for (struct conn *peer = p ? p->conns : NULL; peer; peer = peer->peer_next) {
		if (peer != c) {
			conn_send(peer, out);
			sent = true;
		}
	}
	msg_unref(out);
	return sent ? 0 : conn_error(c, PROTO_LOBBY_ERR_PEER_OFFLINE, "that user has no open lobby in this meeting");
}

static int on_ban(struct conn *c, json_t *msg)
{
	json_t *u = json_object_get(msg, "user");
	const char *reason = json_string_value(json_object_get(msg, "reason"));
	struct meeting m = { 0 };
	struct user me = { 0 };
	int r;

	if (!json_is_integer(u))
		return conn_error(c, PROTO_WS_ERR_BAD_MESSAGE, "ban needs \"user\" (a user id)");
	if (reason && strlen(reason) > PROTO_LOBBY_BAN_REASON_MAX)
		return conn_error(c, PROTO_WS_ERR_BAD_MESSAGE,
				  "reason must be at most " STR(PROTO_LOBBY_BAN_REASON_MAX) " bytes");
	if (store_call(srv->store, meeting_get, c->meeting_id, &m) < 0 ||
	    store_call(srv->store, user_get, c->user_id, &me) < 0) {
		meeting_clear(&m);
		return conn_error(c, PROTO_WS_ERR_INTERNAL, "internal error");
	}
	r = meeting_ban(&m, &me, json_integer_value(u), reason);
	meeting_clear(&m);
	user_clear(&me);
	switch (r) {
	case 0: return 0;
	case -EPERM: return conn_error(c, PROTO_WS_ERR_FORBIDDEN, "only organisers can ban");
	case -EINVAL: return conn_error(c, PROTO_LOBBY_ERR_BAD_TARGET, "organisers (and you) cannot be banned");
	case -ENOENT: return conn_error(c, PROTO_LOBBY_ERR_UNKNOWN_USER, "no such user");
	case -EEXIST: return conn_error(c, PROTO_LOBBY_ERR_ALREADY_BANNED, "that user is already banned");
	default: return conn_error(c, PROTO_WS_ERR_INTERNAL, "internal error");
	}
}

/*
 * sync costs a replay or a snapshot: SYNC_BURST at once, then one per
 * SYNC_EVERY_MS per connection (a client resyncs after a reconnect, not in
 * a loop).
 */
#define SYNC_BURST 3.0
#define SYNC_EVERY_MS 2000

static bool sync_allowed(struct conn *c, int64_t now)
{
	if (c->sync_refill_ms == 0) {
		c->sync_tokens = SYNC_BURST;
		c->sync_refill_ms = now;
	}
	c->sync_tokens += (double)(now - c->sync_refill_ms) / SYNC_EVERY_MS;
	if (c->sync_tokens > SYNC_BURST)
		c->sync_tokens = SYNC_BURST;
	c->sync_refill_ms = now;
	if (c->sync_tokens < 1.0)
		return false;
	c->sync_tokens -= 1.0;
	return true;
}

static int on_sync(struct conn *c, json_t *msg)
{
	json_t *since = json_object_get(msg, "since");

	if (!json_is_integer(since) || json_integer_value(since) < 0)
		return conn_error(c, PROTO_WS_ERR_BAD_MESSAGE, "sync needs \"since\" (the last offset you saw, >= 0)");
	if (!sync_allowed(c, now_ms()))
		return conn_error(c, PROTO_WS_ERR_RATE_LIMITED,
				  "sync at most once every 2 seconds (after a short burst)");
	if (replay(c, (uint64_t)json_integer_value(since)))
		return synced(c, true);
	/* too much missed (or since 0): a fresh snapshot instead */
	struct meeting m = { 0 };
	struct user me = { 0 };
	if (store_call(srv->store, meeting_get, c->meeting_id, &m) == 0 &&
	    store_call(srv->store, user_get, c->user_id, &me) == 0)
		send_snapshot(c, c->lobby, &m, &me);
	meeting_clear(&m);
	user_clear(&me);
	return synced(c, false);
}

static int on_ping(struct conn *c, json_t *msg)
{
	return conn_send_json(c, json_pack("{s:s, s:i}", PROTO_WS_F_TYPE, PROTO_LOBBY_MSG_PONG, PROTO_WS_F_VERSION,
					   PROTO_LOBBY_VERSION));
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
		return conn_error(c, PROTO_WS_ERR_FORBIDDEN, "only organisers can end the meeting");
	return r < 0 && r != -EEXIST ? conn_error(c, PROTO_WS_ERR_INTERNAL, "internal error") : 0;
}

static const struct {
	const char *type;
	int (*fn)(struct conn *c, json_t *msg);
} handlers[] = {
	{ PROTO_LOBBY_MSG_CHAT, on_chat }, { PROTO_LOBBY_MSG_SIGNAL, on_signal }, { PROTO_LOBBY_MSG_BAN, on_ban },
	{ PROTO_LOBBY_MSG_SYNC, on_sync }, { PROTO_LOBBY_MSG_PING, on_ping }, { PROTO_LOBBY_MSG_END, on_end },
};

int ws_lobby_rx(struct conn *c, const char *buf, size_t len)
{
	json_error_t jerr;
	json_t *msg, *v;
	const char *type;

	if (!c->joined || c->closing)
		return 0;
	msg = json_loadb(buf, len, JSON_REJECT_DUPLICATES, &jerr);
	if (!msg)
		return conn_error(c, PROTO_WS_ERR_BAD_JSON, jerr.text);
	if (!json_is_object(msg)) {
		json_decref(msg);
		return conn_error(c, PROTO_WS_ERR_BAD_JSON, "a message must be a JSON object");
	}
	type = json_string_value(json_object_get(msg, PROTO_WS_F_TYPE));
	v = json_object_get(msg, PROTO_WS_F_VERSION);
	if (!type) {
		conn_error(c, PROTO_WS_ERR_BAD_MESSAGE, "missing \"type\"");
	} else if (v && (!json_is_integer(v) || json_integer_value(v) != PROTO_LOBBY_VERSION)) {
		conn_error(c, PROTO_WS_ERR_UNSUPPORTED_VERSION,
			   "this server speaks protocol version " STR(PROTO_LOBBY_VERSION));
	} else {
		size_t i;
		for (i = 0; i < ARRAY_SIZE(handlers); i++)
			if (strcmp(type, handlers[i].type) == 0)
				break;
		if (i < ARRAY_SIZE(handlers))
			handlers[i].fn(c, msg);	/* its errors went to the client */
		else
			conn_error(c, PROTO_WS_ERR_UNKNOWN_TYPE, "unknown message type");
	}
	json_decref(msg);
	return 0;
}

void ws_lobby_closed(struct conn *c)
{
	struct lobby *l = c->lobby;
	struct presence *p;
	int r;

	if (!c->joined || !l)
		return;
	c->joined = false;
	lobby_detach(c);
	p = lobby_presence(l, c->user_id);
	for (struct conn **pp = p ? &p->conns : NULL; pp && *pp; pp = &(*pp)->peer_next) {
		if (*pp == c) {
			*pp = c->peer_next;
			break;
		}
	}
	c->peer_next = NULL;
	if (p && --p->sockets == 0) {
		/* the attendance row now, exact; the others hear of it at the next presence tick */
		r = store_call(srv->store, attendance_close, p->attendance_id, now_ms());
		if (r < 0)
			log_err("lobby: cannot record leave of user %lld: %s", (long long)c->user_id, strerror(-r));
		lobby_presence_changed(l, p);
	}
	lobby_gc(l);
}
