// SPDX-License-Identifier: GPL-2.0-only
#include <errno.h>
#include <string.h>
#include <strings.h>

#include "broadcast.h"
#include "lobby.h"
#include "log.h"
#include "meeting.h"
#include "presence.h"
#include "server.h"
#include "ws_agent.h"

/* stored argv JSON is cut to this many bytes */
#define ARGV_MAX 16384
/* local users one machine may report (graphical sessions), and their name length */
#define USERS_MAX 64
#define USER_NAME_MAX 64
/* close code for a connection silent past the window ("request timeout") */
#define CLOSE_SILENT 4408
/* close code for a connection replaced by a newer one of the same machine ("conflict") */
#define CLOSE_REPLACED 4409

static struct conn *agents;
static size_t nagents;

size_t ws_agent_count(void) { return nagents; }

bool ws_agent_machine_online(int64_t machine_id, const struct conn *except)
{
	for (struct conn *c = agents; c; c = c->agent->next)
		if (c != except && c->agent->machine_id == machine_id && c->agent->online)
			return true;
	return false;
}

/* ------------------------------------------------------------- silence */

/* The heartbeat interval told to agents, whole seconds, at least 1. */
static int64_t heartbeat_s(void)
{
	int64_t s = (int64_t)(srv->cfg->agent_heartbeat_ms / 1000);
	return s ? s : 1;
}

/* Silent after this many ms without a message: the missed beats plus half a second of slack. */
static int64_t silence_window_ms(void)
{
	return heartbeat_s() * 1000 * (int64_t)srv->cfg->agent_missed_heartbeats + 500;
}

static void silence_check(lws_sorted_usec_list_t *sul);

static void silence_arm(struct agent_state *a, int64_t in_ms)
{
	/* no context in the fuzz harness: nothing is timed there */
	if (srv->ctx)
		lws_sul_schedule(srv->ctx, 0, &a->silence, silence_check, (lws_usec_t)in_ms * LWS_US_PER_MS);
}

/*
 * One timer per connection, not rescheduled per message: when it fires
 * early (messages came meanwhile) it re-arms for the rest of the window.
 */
static void silence_check(lws_sorted_usec_list_t *sul)
{
	struct agent_state *a = lws_container_of(sul, struct agent_state, silence);
	struct conn *c = a->conn;
	int64_t window = silence_window_ms(), quiet = now_ms() - a->last_rx;

	if (c->closing)
		return;
	if (quiet < window) {
		silence_arm(a, window - quiet);
		return;
	}
	log_warn("agent: machine '%s' silent for %lld ms (heartbeat every %lld s): hanging up", a->machine,
		 (long long)quiet, (long long)heartbeat_s());
	presence_offline(c, MONITOR_SILENT);
	conn_close(c, CLOSE_SILENT, "no heartbeat");
}

int ws_agent_open(struct conn *c)
{
	c->kind = CONN_AGENT;
	c->agent->conn = c;
	c->agent->next = agents;
	agents = c;
	nagents++;
	c->agent->last_heartbeat = c->agent->last_rx = now_ms();
	silence_arm(c->agent, silence_window_ms());
	log_info("agent: machine '%s' (id %lld) connected", c->agent->machine, (long long)c->agent->machine_id);
	return 0;
}

void ws_agent_closed(struct conn *c)
{
	lws_sul_cancel(&c->agent->silence);
	presence_offline(c, MONITOR_DISCONNECTED);	/* nothing when it already said goodbye or went silent */
	for (struct conn **pp = &agents; *pp; pp = &(*pp)->agent->next) {
		if (*pp == c) {
			*pp = c->agent->next;
			nagents--;
			log_info("agent: machine '%s' disconnected", c->agent->machine);
			break;
		}
	}
	free(c->agent->uids);
	c->agent->uids = NULL;
	c->agent->nuids = 0;
}

/* ----------------------------------------------------------- helpers */

/* String field of at most max bytes; NULL when absent, sets *bad when present but wrong. */
static const char *str_field(json_t *o, const char *key, size_t max, bool required, const char **bad)
{
	json_t *v = json_object_get(o, key);
	const char *s;

	if (!v) {
		if (required && !*bad)
			*bad = key;
		return NULL;
	}
	s = json_string_value(v);
	if ((!s || strlen(s) > max || (required && !*s)) && !*bad)
		*bad = key;
	return s;
}

static int ack(struct conn *c, const char *id, bool duplicate)
{
	json_t *j = json_pack("{s:s, s:i, s:s}", "type", "ack", "v", 1, "id", id);
	if (j && duplicate)
		json_object_set_new(j, "duplicate", json_true());
	return conn_send_json(c, j);
}

static int64_t map_user(const char *local_user)
{
	const char *rule = srv->cfg->agent_user_map;
	struct user u = { 0 };
	char email[256];
	int r;

	if (!local_user || !*local_user)
		return 0;
	/*
	 * The configured rule alone decides: a machine may speak for its local
	 * users under that rule and for no one else. A name with '@' is taken
	 * as an e-mail only under email@DOMAIN and only at that DOMAIN (an
	 * agent with the same user_map sends "alice@DOMAIN").
	 */
	if (strcmp(rule, "username") == 0) {
		r = store_call(srv->store, user_find, "username", local_user, &u);
	} else {
		const char *domain = rule + strlen("email@"), *at = strchr(local_user, '@');
		if (at && strcasecmp(at + 1, domain) != 0)
			return 0;
		if (at && at == local_user)
			return 0;
		snprintf(email, sizeof(email), "%.*s@%s", at ? (int)(at - local_user) : (int)strlen(local_user),
			 local_user, domain);
		r = store_call(srv->store, user_find, "email", email, &u);
	}
	if (r < 0)
		return 0;
	int64_t id = u.id;
	user_clear(&u);
	return id;
}

struct fanout {
	struct outbox *ob;
	json_t *rec;		/* stored recording */
	const char *type;
	int r;
};

static void fan_one(struct lobby *l, void *ud)
{
	struct fanout *f = ud;
	int linked;

	if (f->r < 0)
		return;
	linked = store_call(srv->store, recording_link, json_integer_value(json_object_get(f->rec, "id")), l->meeting_id);
	if (linked < 0) {
		f->r = linked;
		return;
	}
	/* a begin already shown in this lobby is not shown twice */
	if (linked == 0 && strcmp(f->type, "recording.begin") == 0)
		return;
	f->r = outbox_event(f->ob, l, f->type, json_pack("{s:o}", "recording", recording_public_json(f->rec)), now_ms());
}

/*
 * An end also goes to every ongoing meeting that showed the begin, whether
 * or not the user has a lobby open there now: after a server restart the
 * agent replays its spool before the browsers reconnect, and the meeting
 * must still learn (once, at its next offset) that the recording ended.
 */
static int fan_linked(struct fanout *f, int64_t recording_id, int64_t uid)
{
	json_t *ids = NULL, *row;
	size_t i;
	int r = store_call(srv->store, recording_meetings, recording_id, &ids);

	json_array_foreach(ids, i, row) {
		struct meeting m = { 0 };
		struct lobby *l = lobby_find(json_integer_value(json_object_get(row, "meeting_id")));

		if (r < 0)
			break;
		if (l && uid && lobby_presence(l, uid))
			continue;	/* fan_one covers it */
		if (!l && (r = store_call(srv->store, meeting_get, json_integer_value(json_object_get(row, "meeting_id")), &m)) == 0)
			l = lobby_get(&m);
		meeting_clear(&m);
		if (r == 0 && !l)
			r = -ENOMEM;
		if (r == 0)
			r = outbox_event(f->ob, l, f->type, json_pack("{s:o}", "recording", recording_public_json(f->rec)),
					 now_ms());
		if (l)
			lobby_gc(l);	/* a lobby made here lives on while the outbox pins it */
	}
	json_decref(ids);
	return r;
}

/* Add one event per live lobby the recording's user is in (and, for an end, per meeting that showed the begin). */
static int fan_out(struct outbox *ob, int64_t recording_id, const char *type)
{
	struct fanout f = { .ob = ob, .type = type };
	int64_t uid;
	int r = store_call(srv->store, recording_get, recording_id, &f.rec);

	if (r < 0)
		return r;
	uid = json_integer_value(json_object_get(f.rec, "user_id"));
	if (strcmp(type, "recording.end") == 0)
		f.r = fan_linked(&f, recording_id, uid);
	if (uid && f.r == 0)
		lobby_foreach_with_user(uid, fan_one, &f);
	json_decref(f.rec);
	return f.r;
}

/*
 * Validate a users array (absent: none) and map each local user to an
 * account. Returns the distinct account ids (caller frees) and the array as
 * JSON text (caller frees), or NULL with *bad set.
 */
static int64_t *users_of(const struct conn *c, json_t *users, size_t *ret_n, char **ret_json, const char **bad)
{
	size_t i, n = 0;
	json_t *u;
	int64_t *ids;

	if (users && (!json_is_array(users) || json_array_size(users) > USERS_MAX)) {
		*bad = "\"users\" must be an array of at most 64 local user names";
		return NULL;
	}
	json_array_foreach(users, i, u) {
		const char *name = json_string_value(u);
		if (!name || !*name || strlen(name) > USER_NAME_MAX) {
			*bad = "\"users\" holds local user names of 1 to 64 bytes";
			return NULL;
		}
	}
	ids = calloc(json_array_size(users) + 1, sizeof(*ids));
	if (!ids) {
		*bad = "out of memory";
		return NULL;
	}
	json_array_foreach(users, i, u) {
		int64_t id = map_user(json_string_value(u));
		bool seen = false;
		for (size_t j = 0; j < n; j++)
			seen |= ids[j] == id;
		if (id && !seen)
			ids[n++] = id;
		if (!id)
			log_info("agent: local user '%s' reported by '%s' matches no account (agent_user_map = %s)",
				 json_string_value(u), c->agent->machine, srv->cfg->agent_user_map);
	}
	*ret_json = users ? json_dumps(users, JSON_COMPACT) : strdup("[]");
	*ret_n = n;
	return ids;
}

/* ---------------------------------------------------------- messages */

/*
 * One live connection per enrollment token. A machine's agent reconnects
 * after a network cut before the server notices the old socket is dead; a
 * copied token is used from elsewhere. Either way the newest connection
 * that said hello speaks for the machine and older ones are closed (4409),
 * after the new one is online, so the accounts it reports never flicker
 * to unmonitored. A stolen token fights the real agent in the log instead
 * of silently keeping a killed machine "online".
 */
static void replace_older(struct conn *c)
{
	for (struct conn *o = agents; o; o = o->agent->next) {
		if (o == c || o->agent->machine_id != c->agent->machine_id || o->closing)
			continue;
		log_warn("agent: machine '%s': a new connection (boot %s) replaces an older one (boot %s)",
			 c->agent->machine, c->agent->boot_id, o->agent->hello ? o->agent->boot_id : "no hello yet");
		presence_offline(o, MONITOR_DISCONNECTED);
		conn_close(o, CLOSE_REPLACED, "replaced by a newer connection of this machine");
	}
}

/*
 * The agent's spool keeps at most spool_max events while the server is away
 * and drops the oldest past it (and counts an event it cannot write); hello
 * says how many it has dropped over its life. Stored on the machine (GET /api/admin/machines, list-machines) and
 * logged once per increase: those captures never reached any meeting's log.
 */
static void note_spool_dropped(struct conn *c, int64_t dropped)
{
	int64_t before = 0;
	int r = store_call(srv->store, machine_spool_dropped, c->agent->machine_id, dropped, &before);

	if (r < 0)
		log_err("agent: machine '%s': spool_dropped %lld not stored: %s", c->agent->machine, (long long)dropped,
			strerror(-r));
	if (dropped > before)
		log_warn("agent: machine '%s': its spool dropped %lld more event(s), %lld in all (spool_max reached "
			 "while the server was away, or a full disk): those captures are in no meeting's log",
			 c->agent->machine, (long long)(dropped - before), (long long)dropped);
}

static int on_hello(struct conn *c, json_t *msg)
{
	const char *bad = NULL;
	const char *machine = str_field(msg, "machine", 64, false, &bad);
	const char *boot = str_field(msg, "boot_id", 63, true, &bad);
	const char *version = str_field(msg, "agent_version", 32, false, &bad);
	json_t *layers = json_object_get(msg, "layers"), *dropped = json_object_get(msg, "spool_dropped"), *closed = NULL,
	       *rec;
	struct outbox ob;
	size_t i;
	int r;

	if (bad)
		return conn_error(c, "bad_message", "hello: missing or invalid field");
	if (layers && !json_is_array(layers))
		return conn_error(c, "bad_message", "hello: \"layers\" must be an array");
	if (dropped && (!json_is_integer(dropped) || json_integer_value(dropped) < 0))
		return conn_error(c, "bad_message", "hello: \"spool_dropped\" must be an integer >= 0");
	size_t nuids = 0;
	char *users_json = NULL;
	int64_t *uids = users_of(c, json_object_get(msg, "users"), &nuids, &users_json, &bad);
	if (!uids)
		return conn_error(c, "bad_message", bad);
	c->agent->hello = true;
	snprintf(c->agent->boot_id, sizeof(c->agent->boot_id), "%s", boot);
	/* recordings left open by an earlier boot of this machine cannot still be running */
	if ((r = outbox_begin(&ob)) == 0) {
		r = store_call(srv->store, machine_seen, c->agent->machine_id, boot, version, now_ms());
		if (r == 0)
			r = store_call(srv->store, recordings_close_stale, c->agent->machine_id, boot, now_ms(), &closed);
		json_array_foreach(closed, i, rec) {
			if (r == 0)
				r = fan_out(&ob, json_integer_value(json_object_get(rec, "id")), "recording.end");
		}
		r = r == 0 ? outbox_commit(&ob) : (outbox_abort(&ob), r);
	}
	json_decref(closed);
	if (r < 0)
		log_err("agent: machine '%s': hello not stored: %s", c->agent->machine, strerror(-r));
	log_info("agent: machine '%s' hello (reports '%s', boot %s, version %s, %zu layers, users %s)", c->agent->machine,
		 machine ? machine : "?", boot, version ? version : "?", layers ? json_array_size(layers) : 0,
		 users_json ? users_json : "[]");
	if (dropped)
		note_spool_dropped(c, json_integer_value(dropped));
	presence_online(c, uids, nuids, users_json);
	free(users_json);
	replace_older(c);
	return conn_send_json(c, json_pack("{s:s, s:i, s:I, s:s, s:I}", "type", "welcome", "v", 1, "machine_id",
					   (json_int_t)c->agent->machine_id, "machine", c->agent->machine, "heartbeat_s",
					   (json_int_t)heartbeat_s()));
}

static int on_users(struct conn *c, json_t *msg)
{
	json_t *users = json_object_get(msg, "users");
	const char *bad = NULL;
	char *users_json = NULL;
	size_t n = 0;
	int64_t *uids;

	if (!users)
		return conn_error(c, "bad_message", "users: \"users\" (an array of local user names) is required");
	if (!(uids = users_of(c, users, &n, &users_json, &bad)))
		return conn_error(c, "bad_message", bad);
	log_info("agent: machine '%s' reports users %s", c->agent->machine, users_json ? users_json : "[]");
	presence_online(c, uids, n, users_json);
	free(users_json);
	return 0;
}

static int on_goodbye(struct conn *c, json_t *msg)
{
	const char *reason = json_string_value(json_object_get(msg, "reason"));

	log_info("agent: machine '%s' says goodbye (%.64s)", c->agent->machine, reason ? reason : "no reason given");
	presence_offline(c, MONITOR_SHUTDOWN);
	conn_close(c, LWS_CLOSE_STATUS_NORMAL, "goodbye");
	return 0;
}

static int on_heartbeat(struct conn *c, json_t *msg)
{
	int64_t now = now_ms();

	/* the store learns of liveness at most once a minute */
	if (now - c->agent->last_heartbeat > 60000 || c->agent->last_heartbeat == 0)
		store_call(srv->store, machine_seen, c->agent->machine_id, NULL, NULL, now);
	c->agent->last_heartbeat = now;
	return 0;
}

static int on_capture(struct conn *c, json_t *msg, bool begin)
{
	const char *bad = NULL;
	const char *id = str_field(msg, "id", 128, true, &bad);
	const char *capture = str_field(msg, "capture", 160, true, &bad);
	const char *kind = str_field(msg, "kind", 16, true, &bad);
	const char *comm = str_field(msg, "comm", 64, false, &bad);
	const char *exe = str_field(msg, "exe", 4096, false, &bad);
	const char *user = str_field(msg, "user", 64, false, &bad);
	const char *layer = str_field(msg, "layer", 32, false, &bad);
	json_t *rule = json_object_get(msg, "rule"), *argv = json_object_get(msg, "argv");
	json_t *ts = json_object_get(msg, "ts");
	const char *rule_id = NULL, *rule_title = NULL;
	char *argv_json = NULL;
	struct outbox ob;
	int64_t rid = 0;
	int r;

	if (!bad && rule) {
		if (!json_is_object(rule))
			bad = "rule";
		rule_id = str_field(rule, "id", 128, false, &bad);
		rule_title = str_field(rule, "title", 256, false, &bad);
	}
	/* "auto" is a policy kind the agent should have resolved; count it as a recording, never lose it */
	if (!bad && kind && strcmp(kind, "auto") == 0)
		kind = "recording";
	if (!bad && kind && strcmp(kind, "recording") && strcmp(kind, "screenshot"))
		bad = "kind";
	if (!bad && ts && !json_is_integer(ts))
		bad = "ts";
	if (!bad && argv && !json_is_array(argv))
		bad = "argv";
	/* evidence the agent adds: which API, which target, an attempt only, alert or kill */
	json_t *detail = json_object();
	static const char *const extra[] = { "api", "target", "action" };
	for (size_t i = 0; !bad && i < sizeof(extra) / sizeof(extra[0]); i++) {
		const char *v = str_field(msg, extra[i], 256, false, &bad);
		if (v)
			json_object_set_new(detail, extra[i], json_string(v));
	}
	if (json_is_boolean(json_object_get(msg, "attempt")))
		json_object_set(detail, "attempt", json_object_get(msg, "attempt"));
	if (bad) {
		char m[96];
		json_decref(detail);
		snprintf(m, sizeof(m), "capture event: missing or invalid \"%s\"", bad);
		/* the id (when readable) lets the agent drop an event the server will never accept */
		return conn_send_json(c, json_pack("{s:s, s:i, s:s, s:s, s:s?}", "type", "error", "v", 1, "code",
						   "bad_message", "message", m, "id", id && strlen(id) <= 128 ? id : NULL));
	}
	char *detail_json = json_object_size(detail) ? json_dumps(detail, JSON_COMPACT) : NULL;
	json_decref(detail);
	if (argv) {
		argv_json = json_dumps(argv, JSON_COMPACT);
		if (argv_json && strlen(argv_json) > ARGV_MAX) {
			/* keep what fits: evidence is never refused for being long */
			json_t *cut = json_array(), *a;
			size_t i, total = 0;
			json_array_foreach(argv, i, a) {
				size_t n = json_is_string(a) ? json_string_length(a) + 4 : 8;
				if (total + n > ARGV_MAX - 64)
					break;
				total += n;
				json_array_append(cut, a);
			}
			json_array_append_new(cut, json_string("[argv truncated]"));
			free(argv_json);
			argv_json = json_dumps(cut, JSON_COMPACT);
			json_decref(cut);
		}
	}
	int64_t at = ts && json_integer_value(ts) > 0 ? json_integer_value(ts) / 1000000 : now_ms();
	json_t *dur = json_object_get(msg, "duration_ms"), *calls = json_object_get(msg, "calls"),
	       *pid = json_object_get(msg, "pid");
	struct capture cap = {
		.machine_id = c->agent->machine_id, .user_id = map_user(user), .local_user = user, .capture = capture,
		.kind = kind, .program = comm, .exe = exe, .argv_json = argv_json, .rule_id = rule_id,
		.rule_title = rule_title, .layer = layer, .at = at, .detail_json = detail_json,
		.pid = json_is_integer(pid) ? json_integer_value(pid) : 0,
		.duration_ms = json_is_integer(dur) && json_integer_value(dur) > 0 ? json_integer_value(dur) : 0,
		.calls = json_is_integer(calls) ? json_integer_value(calls) : 0,
	};

	if ((r = outbox_begin(&ob)) < 0)
		goto fail;
	r = store_call(srv->store, agent_event_claim, c->agent->machine_id, id, now_ms());
	if (r == 0) {
		outbox_abort(&ob);
		free(argv_json);
		free(detail_json);
		return ack(c, id, true);
	}
	if (r > 0)
		r = begin ? store_call(srv->store, recording_begin, &cap, &rid) : store_call(srv->store, recording_end, &cap, &rid);
	if (r >= 0)
		r = fan_out(&ob, rid, begin ? "recording.begin" : "recording.end");
	r = r >= 0 ? outbox_commit(&ob) : (outbox_abort(&ob), r);
	if (r < 0)
		goto fail;
	free(argv_json);
	free(detail_json);
	if (!cap.user_id)
		log_warn("agent: machine '%s': capture by local user '%s' matches no account (agent_user_map = %s)",
			 c->agent->machine, user ? user : "", srv->cfg->agent_user_map);
	log_info("agent: machine '%s': %s %s by '%s' (%s, rule %s)", c->agent->machine, kind,
		 begin ? "began" : "ended", user ? user : "?", comm ? comm : "?", rule_id ? rule_id : "-");
	return ack(c, id, false);
fail:
	free(argv_json);
	free(detail_json);
	log_err("agent: machine '%s': event %s not stored: %s", c->agent->machine, id, strerror(-r));
	return conn_send_json(c, json_pack("{s:s, s:i, s:s, s:s, s:s}", "type", "error", "v", 1, "code", "store_failed",
					   "message", "event not stored; send it again", "id", id));
}

static int on_capture_begin(struct conn *c, json_t *msg) { return on_capture(c, msg, true); }
static int on_capture_end(struct conn *c, json_t *msg) { return on_capture(c, msg, false); }

static const struct {
	const char *type;
	int (*fn)(struct conn *c, json_t *msg);
	bool needs_hello;
} handlers[] = {
	{ "hello", on_hello, false },
	{ "heartbeat", on_heartbeat, true },
	{ "capture.begin", on_capture_begin, true },
	{ "capture.end", on_capture_end, true },
	{ "users", on_users, true },
	{ "goodbye", on_goodbye, true },
};

int ws_agent_rx(struct conn *c, const char *buf, size_t len)
{
	json_error_t jerr;
	json_t *msg, *v;
	const char *type;
	size_t i;

	if (c->closing)
		return 0;
	/* any message, even a bad one, shows the agent is alive */
	c->agent->last_rx = now_ms();
	msg = json_loadb(buf, len, JSON_REJECT_DUPLICATES, &jerr);
	if (!msg)
		return conn_error(c, "bad_json", jerr.text);
	type = json_string_value(json_object_get(msg, "type"));
	v = json_object_get(msg, "v");
	if (!json_is_object(msg) || !type) {
		conn_error(c, "bad_message", "a message is a JSON object with a \"type\"");
	} else if (!json_is_integer(v) || json_integer_value(v) != 1) {
		conn_error(c, "unsupported_version", "this server speaks protocol version 1 (\"v\":1)");
	} else {
		for (i = 0; i < sizeof(handlers) / sizeof(handlers[0]); i++)
			if (strcmp(type, handlers[i].type) == 0)
				break;
		if (i == sizeof(handlers) / sizeof(handlers[0]))
			conn_error(c, "unknown_type", "unknown message type");
		else if (handlers[i].needs_hello && !c->agent->hello)
			conn_error(c, "hello_required", "send hello first");
		else
			handlers[i].fn(c, msg);
	}
	json_decref(msg);
	return 0;
}
