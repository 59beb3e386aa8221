// SPDX-License-Identifier: GPL-2.0-only
#include <errno.h>
#include <string.h>
#include <strings.h>

#include "broadcast.h"
#include "cleanup.h"
#include "conn.h"
#include "json_shape.h"
#include "lobby.h"
#include "log.h"
#include "meeting.h"
#include "monitor.h"
#include "observations.h"
#include "proto_agent.h"
#include "proto_lobby.h"
#include "server.h"
#include "util.h"
#include "ws_agent.h"


/* The state of one agent connection (conn->agent), owned by this file. */
struct agent_state {
	int64_t machine_id;
	char machine[64];	/* the enrolled name, as ws.c copied it from the store */
	char boot_id[PROTO_AGENT_BOOT_ID_MAX + 1];
	bool hello;
	int64_t last_heartbeat;	/* last liveness write to the store */
	int64_t last_rx;	/* last message of any kind (the silence timer's reference) */
	struct monitor_source mon;	/* what monitor.c counts: online, the accounts reported */
	int64_t policy_version;	/* the bundle the agent says it has in force, 0: none */
	int64_t policy_sent;	/* the last bundle sent on this connection, 0: none */
	bool policy_local;	/* hello.policy_source "local": policy_source = local, never sent a bundle */
	double obs_tokens;	/* observations batches it may send now (PROTO_AGENT_OBS_RATE) */
	int64_t obs_at;		/* when obs_tokens was last refilled, ms */
	struct conn *conn;
	lws_sorted_usec_list_t silence;	/* fires when no message came for the silence window */
	struct conn *next;	/* in agents */
};

/* every agent connection, newest first */
static struct conn *agents;
static size_t nagents;

size_t ws_agent_count(void) { return nagents; }

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
	monitor_offline(&a->mon, PROTO_LOBBY_UNMONITORED_SILENT);
	conn_close(c, PROTO_AGENT_CLOSE_SILENT, "no heartbeat");
}

int ws_agent_open(struct conn *c, int64_t machine_id, const char *machine)
{
	c->agent = calloc(1, sizeof(*c->agent));
	if (!c->agent)
		return -ENOMEM;
	c->kind = CONN_AGENT;
	c->agent->machine_id = machine_id;
	snprintf(c->agent->machine, sizeof(c->agent->machine), "%s", machine);
	c->agent->mon.machine_id = machine_id;
	c->agent->mon.machine = c->agent->machine;
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
	if (!c->agent)
		return;
	lws_sul_cancel(&c->agent->silence);
	/* nothing when it already said goodbye or went silent */
	monitor_offline(&c->agent->mon, PROTO_LOBBY_UNMONITORED_DISCONNECTED);
	for (struct conn **pp = &agents; *pp; pp = &(*pp)->agent->next) {
		if (*pp == c) {
			*pp = c->agent->next;
			nagents--;
			log_info("agent: machine '%s' disconnected", c->agent->machine);
			break;
		}
	}
	free(c->agent);
	c->agent = NULL;
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
	json_t *j = json_pack("{s:s, s:i, s:s}", PROTO_WS_F_TYPE, PROTO_AGENT_MSG_ACK, PROTO_WS_F_VERSION,
			      PROTO_AGENT_VERSION, "id", id);
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
	struct recording rec;	/* stored recording */
	const char *type;
	int r;
};

static void fan_one(struct lobby *l, void *ud)
{
	struct fanout *f = ud;
	int linked;

	if (f->r < 0)
		return;
	linked = store_call(srv->store, recording_link, f->rec.id, l->meeting_id);
	if (linked < 0) {
		f->r = linked;
		return;
	}
	/* a begin already shown in this lobby is not shown twice */
	if (linked == 0 && strcmp(f->type, PROTO_LOBBY_EV_RECORDING_BEGIN) == 0)
		return;
	f->r = outbox_event(f->ob, l, f->type, json_pack("{s:o}", "recording", recording_public_json(&f->rec)),
			    now_ms());
}

/*
 * An end also goes to every ongoing meeting that showed the begin, whether
 * or not the user has a lobby open there now: after a server restart the
 * agent replays its spool before the browsers reconnect, and the meeting
 * must still learn (once, at its next offset) that the recording ended.
 */
static bool id_in(const struct id_list *ids, int64_t id)
{
	for (size_t i = 0; i < ids->n; i++)
		if (ids->v[i] == id)
			return true;
	return false;
}

static int fan_linked(struct fanout *f, int64_t recording_id, const struct id_list *present)
{
	struct id_list ids = { 0 };
	int r = store_call(srv->store, recording_meetings, recording_id, &ids);

	for (size_t i = 0; r == 0 && i < ids.n; i++) {
		struct meeting m = { 0 };
		struct lobby *l = lobby_find(ids.v[i]);

		if (id_in(present, ids.v[i]))
			continue;	/* fan_one covers it */
		if (!l && (r = store_call(srv->store, meeting_get, ids.v[i], &m)) == 0)
			l = lobby_get(&m);
		meeting_clear(&m);
		if (r == 0 && !l)
			r = -ENOMEM;
		if (r == 0)
			r = outbox_event(f->ob, l, f->type,
					 json_pack("{s:o}", "recording", recording_public_json(&f->rec)), now_ms());
		if (l)
			lobby_gc(l);	/* a lobby made here lives on while the outbox pins it */
	}
	id_list_free(&ids);
	return r;
}

/*
 * Add one event per ongoing meeting the recording's user has an open
 * attendance row in, on whichever node their lobby is (the store says;
 * cluster.h), and, for an end, per meeting that showed the begin.
 */
static int fan_out(struct outbox *ob, int64_t recording_id, const char *type)
{
	struct fanout f = { .ob = ob, .type = type };
	struct id_list present = { 0 };
	int64_t uid;
	int r = store_call(srv->store, recording_get, recording_id, &f.rec);

	if (r < 0)
		return r;
	uid = f.rec.user_id;
	if (uid)
		f.r = store_call(srv->store, attendance_open_meetings, uid, &present);
	if (f.r == 0 && strcmp(type, PROTO_LOBBY_EV_RECORDING_END) == 0)
		f.r = fan_linked(&f, recording_id, &present);
	for (size_t i = 0; f.r == 0 && i < present.n; i++) {
		struct meeting m = { 0 };
		struct lobby *l = NULL;

		if ((f.r = store_call(srv->store, meeting_get, present.v[i], &m)) == 0 && !(l = lobby_get(&m)))
			f.r = -ENOMEM;
		meeting_clear(&m);
		if (l) {
			fan_one(l, &f);
			lobby_gc(l);	/* a lobby made here lives on while the outbox pins it */
		}
	}
	id_list_free(&present);
	recording_clear(&f.rec);
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

	if (users && (!json_is_array(users) || json_array_size(users) > PROTO_AGENT_USERS_MAX)) {
		*bad = "\"users\" must be an array of at most " STR(PROTO_AGENT_USERS_MAX) " local user names";
		return NULL;
	}
	json_array_foreach(users, i, u) {
		const char *name = json_string_value(u);
		if (!name || !*name || strlen(name) > PROTO_AGENT_USER_NAME_MAX) {
			*bad = "\"users\" holds local user names of 1 to " STR(PROTO_AGENT_USER_NAME_MAX) " bytes";
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

static void policy_offer(struct conn *c, const char *grp);

/* hello.policy_source, policy.state.source */
static bool policy_source_ok(const char *s)
{
	return strcmp(s, PROTO_AGENT_POLICY_SOURCE_SERVER) == 0 || strcmp(s, PROTO_AGENT_POLICY_SOURCE_LOCAL) == 0;
}

/* a bundle version as the agent reports it: absent, null, or an integer >= 1 */
static bool policy_version_ok(json_t *v)
{
	return !v || json_is_null(v) || (json_is_integer(v) && json_integer_value(v) >= 1);
}

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
		monitor_offline(&o->agent->mon, PROTO_LOBBY_UNMONITORED_DISCONNECTED);
		conn_close(o, PROTO_AGENT_CLOSE_REPLACED, "replaced by a newer connection of this machine");
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
	const char *machine = str_field(msg, "machine", PROTO_AGENT_MACHINE_MAX, false, &bad);
	const char *boot = str_field(msg, "boot_id", PROTO_AGENT_BOOT_ID_MAX, true, &bad);
	const char *version = str_field(msg, "agent_version", PROTO_AGENT_VERSION_MAX, false, &bad);
	json_t *layers = json_object_get(msg, "layers");
	json_t *dropped = json_object_get(msg, "spool_dropped");
	json_t *pversion = json_object_get(msg, "policy_version");
	const char *psource = str_field(msg, "policy_source", 16, false, &bad);
	struct recording_list closed = { 0 };
	struct outbox ob;
	int r;

	if (bad)
		return conn_error(c, PROTO_WS_ERR_BAD_MESSAGE, "hello: missing or invalid field");
	if (layers && !json_is_array(layers))
		return conn_error(c, PROTO_WS_ERR_BAD_MESSAGE, "hello: \"layers\" must be an array");
	if (dropped && (!json_is_integer(dropped) || json_integer_value(dropped) < 0))
		return conn_error(c, PROTO_WS_ERR_BAD_MESSAGE, "hello: \"spool_dropped\" must be an integer >= 0");
	if (!policy_version_ok(pversion))
		return conn_error(c, PROTO_WS_ERR_BAD_MESSAGE,
				  "hello: \"policy_version\" must be null or an integer >= 1");
	if (psource && !policy_source_ok(psource))
		return conn_error(c, PROTO_WS_ERR_BAD_MESSAGE,
				  "hello: \"policy_source\" must be \"server\" or \"local\"");
	size_t nuids = 0;
	char *users_json = NULL;
	int64_t *uids = users_of(c, json_object_get(msg, "users"), &nuids, &users_json, &bad);
	if (!uids)
		return conn_error(c, PROTO_WS_ERR_BAD_MESSAGE, bad);
	c->agent->hello = true;
	snprintf(c->agent->boot_id, sizeof(c->agent->boot_id), "%s", boot);
	c->agent->policy_version = json_integer_value(pversion);
	c->agent->policy_local = psource && strcmp(psource, PROTO_AGENT_POLICY_SOURCE_LOCAL) == 0;
	c->agent->policy_sent = 0;
	/* recordings left open by an earlier boot of this machine cannot still be running */
	if ((r = outbox_begin(&ob)) == 0) {
		r = store_call(srv->store, machine_seen, c->agent->machine_id, boot, version, now_ms());
		if (r == 0)
			r = store_call(srv->store, recordings_close_stale, c->agent->machine_id, boot, now_ms(),
				       &closed);
		for (size_t i = 0; r == 0 && i < closed.n; i++)
			r = fan_out(&ob, closed.v[i].id, PROTO_LOBBY_EV_RECORDING_END);
		r = r == 0 ? outbox_commit(&ob) : (outbox_abort(&ob), r);
	}
	recording_list_free(&closed);
	if (r < 0)
		log_err("agent: machine '%s': hello not stored: %s", c->agent->machine, strerror(-r));
	log_info("agent: machine '%s' hello (reports '%s', boot %s, version %s, %zu layers, users %s)",
		 c->agent->machine, machine ? machine : "?", boot, version ? version : "?",
		 layers ? json_array_size(layers) : 0, users_json ? users_json : "[]");
	if (dropped)
		note_spool_dropped(c, json_integer_value(dropped));
	monitor_online(&c->agent->mon, uids, nuids, users_json);
	free(users_json);
	replace_older(c);
	/* "observations": whether this server keeps them (agents with share_observations send them only then) */
	r = conn_send_json(c, json_pack("{s:s, s:i, s:I, s:s, s:I, s:b}", PROTO_WS_F_TYPE, PROTO_AGENT_MSG_WELCOME,
					PROTO_WS_F_VERSION, PROTO_AGENT_VERSION, "machine_id",
					(json_int_t)c->agent->machine_id, "machine", c->agent->machine, "heartbeat_s",
					(json_int_t)heartbeat_s(), "observations",
					srv->cfg->observations_retention_days > 0));
	if (r == 0)
		policy_offer(c, NULL);
	return r;
}

/* ------------------------------------------------------------ policy */

/*
 * Send the agent its group's newest bundle when it has another one (and
 * was not sent this one already on this connection). grp: only when the
 * machine is in that group (NULL: whatever its group). Store failures are
 * logged; the next change or reconnect tries again.
 */
static void policy_offer(struct conn *c, const char *grp)
{
	struct agent_state *a = c->agent;
	struct policy_bundle b = { 0 };
	_cleanup_free_ char *mine = NULL;
	json_t *files;
	int r;

	if (!a->hello || a->policy_local || c->closing)
		return;
	r = store_call(srv->store, machine_group, a->machine_id, &mine);
	if (r == 0 && grp && strcmp(grp, mine))
		return;
	if (r == 0)
		r = store_call(srv->store, policy_latest, mine, &b);
	if (r == -ENOENT)
		return;	/* no bundle for its group: it keeps what it has */
	if (r < 0) {
		log_err("agent: machine '%s': its group's policy cannot be read: %s", a->machine, strerror(-r));
		return;
	}
	if (b.version != a->policy_version && b.version != a->policy_sent) {
		files = json_loads(b.files_json, 0, NULL);
		r = conn_send_json(c, json_pack("{s:s, s:i, s:I, s:s, s:s, s:o}", PROTO_WS_F_TYPE,
						PROTO_AGENT_MSG_POLICY, PROTO_WS_F_VERSION, PROTO_AGENT_VERSION,
						"version", (json_int_t)b.version, "group", b.grp, "note",
						b.note ? b.note : "", "files", files ? files : json_array()));
		if (r == 0)
			a->policy_sent = b.version;
		log_info("agent: machine '%s' (group '%s', has v%lld): policy v%lld %s", a->machine, mine,
			 (long long)a->policy_version, (long long)b.version, r == 0 ? "sent" : "not sent");
	}
	policy_bundle_clear(&b);
}

void ws_agent_policy_changed(const char *grp)
{
	for (struct conn *c = agents; c; c = c->agent->next)
		policy_offer(c, grp);
}

static int on_policy_state(struct conn *c, json_t *msg)
{
	const char *bad = NULL;
	const char *source = str_field(msg, "source", 16, true, &bad);
	json_t *version = json_object_get(msg, "version"), *rules = json_object_get(msg, "rules");
	json_t *error = json_object_get(msg, "error");
	char cut[PROTO_AGENT_POLICY_ERROR_MAX + 1];
	const char *why = NULL;
	int r;

	if (bad || !policy_source_ok(source))
		return conn_error(c, PROTO_WS_ERR_BAD_MESSAGE,
				  "policy.state: \"source\" must be \"server\" or \"local\"");
	if (!policy_version_ok(version))
		return conn_error(c, PROTO_WS_ERR_BAD_MESSAGE,
				  "policy.state: \"version\" must be null or an integer >= 1");
	if (!json_is_integer(rules) || json_integer_value(rules) < 0)
		return conn_error(c, PROTO_WS_ERR_BAD_MESSAGE, "policy.state: \"rules\" must be an integer >= 0");
	if (error && !json_is_null(error) && !json_is_string(error))
		return conn_error(c, PROTO_WS_ERR_BAD_MESSAGE, "policy.state: \"error\" must be null or a string");
	if (json_is_string(error)) {
		/* the exact lines are the evidence: cut when long, never refused */
		snprintf(cut, sizeof(cut), "%s", json_string_value(error));
		why = cut;
	}
	/* "local" here may be an agent that takes bundles but has none yet: hello said which */
	c->agent->policy_version = json_integer_value(version);
	r = store_call(srv->store, machine_policy_state, c->agent->machine_id, source, c->agent->policy_version, why,
		       now_ms());
	if (r < 0)
		log_err("agent: machine '%s': policy.state not stored: %s", c->agent->machine, strerror(-r));
	if (why)
		log_warn("agent: machine '%s': policy %s v%lld in force (%lld rules); error: %.200s",
			 c->agent->machine, source, (long long)c->agent->policy_version,
			 (long long)json_integer_value(rules), why);
	else
		log_info("agent: machine '%s': policy %s v%lld in force (%lld rules)", c->agent->machine, source,
			 (long long)c->agent->policy_version, (long long)json_integer_value(rules));
	return 0;
}

static int on_users(struct conn *c, json_t *msg)
{
	json_t *users = json_object_get(msg, "users");
	const char *bad = NULL;
	char *users_json = NULL;
	size_t n = 0;
	int64_t *uids;

	if (!users)
		return conn_error(c, PROTO_WS_ERR_BAD_MESSAGE,
				  "users: \"users\" (an array of local user names) is required");
	if (!(uids = users_of(c, users, &n, &users_json, &bad)))
		return conn_error(c, PROTO_WS_ERR_BAD_MESSAGE, bad);
	log_info("agent: machine '%s' reports users %s", c->agent->machine, users_json ? users_json : "[]");
	monitor_online(&c->agent->mon, uids, n, users_json);
	free(users_json);
	return 0;
}

/*
 * The agent's status report (the fleet view): every field checked against
 * its limit and rebuilt from the known keys only, so what is stored is
 * bounded and the server's own JSON. A report that breaks a rule is refused
 * whole with an error naming the rule, and the one stored before stays.
 */
static const char *status_layer_bad(json_t *l, size_t i, char *why, size_t len)
{
	static const char *const states[] = { PROTO_AGENT_LAYER_ATTACHED, PROTO_AGENT_LAYER_DEGRADED,
					      PROTO_AGENT_LAYER_OFF };
	const char *bad = NULL, *state;
	bool known = false;

	if (!json_is_object(l)) {
		snprintf(why, len, "status: layers[%zu] must be an object {name, state, detail}", i);
		return why;
	}
	str_field(l, "name", PROTO_AGENT_LAYER_MAX, true, &bad);
	if (bad) {
		snprintf(why, len, "status: layers[%zu].name must be a string of 1 to " STR(PROTO_AGENT_LAYER_MAX)
			 " bytes", i);
		return why;
	}
	state = str_field(l, "state", 16, true, &bad);
	for (size_t k = 0; state && k < ARRAY_SIZE(states); k++)
		known |= strcmp(state, states[k]) == 0;
	if (!known) {
		snprintf(why, len, "status: layers[%zu].state must be \"attached\", \"degraded\" or \"off\"", i);
		return why;
	}
	str_field(l, "detail", PROTO_AGENT_STATUS_DETAIL_MAX, false, &bad);
	if (bad) {
		snprintf(why, len, "status: layers[%zu].detail must be a string of at most "
			 STR(PROTO_AGENT_STATUS_DETAIL_MAX) " bytes", i);
		return why;
	}
	return NULL;
}

static int on_status(struct conn *c, json_t *msg)
{
	const char *bad = NULL;
	const char *kernel = str_field(msg, "kernel", PROTO_AGENT_KERNEL_MAX, true, &bad);
	const char *arch = NULL;
	json_t *layers = json_object_get(msg, "layers"), *l;
	json_auto_t *report = NULL, *kept = NULL;
	_cleanup_free_ char *text = NULL;
	char why[160];
	size_t i;
	int r;

	if (bad)
		return conn_error(c, PROTO_WS_ERR_BAD_MESSAGE,
				  "status: \"kernel\" must be a string of 1 to " STR(PROTO_AGENT_KERNEL_MAX) " bytes");
	arch = str_field(msg, "arch", PROTO_AGENT_ARCH_MAX, false, &bad);
	if (bad)
		return conn_error(c, PROTO_WS_ERR_BAD_MESSAGE,
				  "status: \"arch\" must be a string of at most " STR(PROTO_AGENT_ARCH_MAX) " bytes");
	if (!json_is_array(layers) || json_array_size(layers) > PROTO_AGENT_STATUS_LAYERS_MAX)
		return conn_error(c, PROTO_WS_ERR_BAD_MESSAGE,
				  "status: \"layers\" must be an array of at most " STR(PROTO_AGENT_STATUS_LAYERS_MAX)
				  " {name, state, detail} objects");
	kept = json_array();
	json_array_foreach(layers, i, l) {
		if (status_layer_bad(l, i, why, sizeof(why)))
			return conn_error(c, PROTO_WS_ERR_BAD_MESSAGE, why);
		json_array_append_new(kept, json_pack("{s:O, s:O, s:O?}", "name", json_object_get(l, "name"), "state",
						      json_object_get(l, "state"), "detail",
						      json_object_get(l, "detail")));
	}
	report = json_pack("{s:s?, s:O}", "arch", arch, "layers", kept);
	text = report ? json_dumps(report, JSON_COMPACT) : NULL;
	if (!text)
		return conn_error(c, PROTO_AGENT_ERR_STORE_FAILED, "status: out of memory");
	r = store_call(srv->store, machine_status, c->agent->machine_id, kernel, text, now_ms());
	if (r < 0) {
		log_err("agent: machine '%s': status report not stored: %s", c->agent->machine, strerror(-r));
		return conn_error(c, PROTO_AGENT_ERR_STORE_FAILED, "status: not stored; send it again");
	}
	json_array_foreach(kept, i, l)
		if (strcmp(json_string_value(json_object_get(l, "state")), PROTO_AGENT_LAYER_DEGRADED) == 0)
			log_warn("agent: machine '%s' (kernel %s): layer %s degraded: %s", c->agent->machine, kernel,
				 json_string_value(json_object_get(l, "name")),
				 json_string_value(json_object_get(l, "detail")) ?: "no detail");
	return 0;
}

static int on_goodbye(struct conn *c, json_t *msg)
{
	const char *reason = json_string_value(json_object_get(msg, "reason"));

	log_info("agent: machine '%s' says goodbye (%.*s)", c->agent->machine, PROTO_AGENT_GOODBYE_REASON_SHOWN,
		 reason ? reason : "no reason given");
	monitor_offline(&c->agent->mon, PROTO_LOBBY_UNMONITORED_SHUTDOWN);
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

/*
 * A capture event in three steps: capture_parse() checks every field and
 * builds the recording row (it neither stores nor sends), capture_store()
 * claims the event id and writes the row, and fan_out() adds the lobby
 * events; the last two share one store transaction, so the ack that
 * follows the commit means both are durable.
 */
struct capture_event {
	const char *id;		/* the event id (points into the message) */
	struct capture cap;	/* the recording row; its strings point into the message */
	char *argv_json;	/* owned: cap.argv_json */
	char *detail_json;	/* owned: cap.detail_json */
};

static void capture_event_clear(struct capture_event *ev)
{
	free(ev->argv_json);
	free(ev->detail_json);
}

/* argv as JSON text, cut to PROTO_AGENT_ARGV_MAX: evidence is never refused for being long. Caller frees. */
static char *argv_text(json_t *argv)
{
	char *s = json_dumps(argv, JSON_COMPACT);
	json_t *cut, *a;
	size_t i, total = 0;

	if (!s || strlen(s) <= PROTO_AGENT_ARGV_MAX)
		return s;
	free(s);
	cut = json_array();
	json_array_foreach(argv, i, a) {
		size_t n = json_is_string(a) ? json_string_length(a) + 4 : 8;
		if (total + n > PROTO_AGENT_ARGV_MAX - 64)
			break;
		total += n;
		json_array_append(cut, a);
	}
	json_array_append_new(cut, json_string("[argv truncated]"));
	s = json_dumps(cut, JSON_COMPACT);
	json_decref(cut);
	return s;
}

/* The evidence the agent adds (which API, which target, an attempt only, alert or kill) as JSON text, or NULL. */
static char *detail_text(json_t *msg, const char **bad)
{
	static const char *const extra[] = { "api", "target", "action" };
	json_t *detail = json_object();
	char *s;

	for (size_t i = 0; !*bad && i < ARRAY_SIZE(extra); i++) {
		const char *v = str_field(msg, extra[i], PROTO_AGENT_EVIDENCE_MAX, false, bad);
		if (v)
			json_object_set_new(detail, extra[i], json_string(v));
	}
	if (json_is_boolean(json_object_get(msg, "attempt")))
		json_object_set(detail, "attempt", json_object_get(msg, "attempt"));
	s = !*bad && json_object_size(detail) ? json_dumps(detail, JSON_COMPACT) : NULL;
	json_decref(detail);
	return s;
}

/*
 * Validate msg into *ev (zeroed by the caller; strings point into msg,
 * which must outlive ev). NULL when the event is acceptable, else the name
 * of the first missing or invalid field. ev->id is set whenever readable.
 * Maps no user and touches no store.
 */
static const char *capture_parse(json_t *msg, struct capture_event *ev)
{
	const char *bad = NULL;
	struct capture *cap = &ev->cap;
	json_t *rule = json_object_get(msg, "rule"), *argv = json_object_get(msg, "argv");
	json_t *ts = json_object_get(msg, "ts"), *dur = json_object_get(msg, "duration_ms");
	json_t *calls = json_object_get(msg, "calls"), *pid = json_object_get(msg, "pid");

	ev->id = str_field(msg, "id", PROTO_AGENT_ID_MAX, true, &bad);
	cap->capture = str_field(msg, "capture", PROTO_AGENT_CAPTURE_MAX, true, &bad);
	cap->kind = str_field(msg, "kind", PROTO_AGENT_KIND_MAX, true, &bad);
	cap->program = str_field(msg, "comm", PROTO_AGENT_COMM_MAX, false, &bad);
	cap->exe = str_field(msg, "exe", PROTO_AGENT_EXE_MAX, false, &bad);
	cap->local_user = str_field(msg, "user", PROTO_AGENT_USER_NAME_MAX, false, &bad);
	cap->layer = str_field(msg, "layer", PROTO_AGENT_LAYER_MAX, false, &bad);
	if (!bad && rule) {
		if (!json_is_object(rule))
			bad = "rule";
		cap->rule_id = str_field(rule, "id", PROTO_AGENT_RULE_ID_MAX, false, &bad);
		cap->rule_title = str_field(rule, "title", PROTO_AGENT_RULE_TITLE_MAX, false, &bad);
	}
	/* "auto" is a policy kind the agent should have resolved; count it as a recording, never lose it */
	if (!bad && strcmp(cap->kind, PROTO_AGENT_KIND_AUTO) == 0)
		cap->kind = PROTO_AGENT_KIND_RECORDING;
	if (!bad && strcmp(cap->kind, PROTO_AGENT_KIND_RECORDING) && strcmp(cap->kind, PROTO_AGENT_KIND_SCREENSHOT))
		bad = "kind";
	if (!bad && ts && !json_is_integer(ts))
		bad = "ts";
	if (!bad && argv && !json_is_array(argv))
		bad = "argv";
	if (!bad)
		ev->detail_json = detail_text(msg, &bad);
	if (bad)
		return bad;
	if (argv)
		ev->argv_json = argv_text(argv);
	cap->argv_json = ev->argv_json;
	cap->detail_json = ev->detail_json;
	cap->at = ts && json_integer_value(ts) > 0 ? json_integer_value(ts) / 1000000 : now_ms();
	cap->pid = json_is_integer(pid) ? json_integer_value(pid) : 0;
	cap->duration_ms = json_is_integer(dur) && json_integer_value(dur) > 0 ? json_integer_value(dur) : 0;
	cap->calls = json_is_integer(calls) ? json_integer_value(calls) : 0;
	return NULL;
}

/*
 * Inside the caller's store transaction: claim the event id for the
 * machine and write the recording (begin or end). 1 and *ret_rid when
 * written, 0 when the id was claimed before (a replay: nothing written),
 * -errno on a store failure.
 */
static int capture_store(struct conn *c, const struct capture_event *ev, bool begin, int64_t *ret_rid)
{
	int r = store_call(srv->store, agent_event_claim, c->agent->machine_id, ev->id, now_ms());

	if (r <= 0)
		return r;
	r = begin ? store_call(srv->store, recording_begin, &ev->cap, ret_rid)
		  : store_call(srv->store, recording_end, &ev->cap, ret_rid);
	if (r >= 0)	/* the fleet view's "last event" */
		r = store_call(srv->store, machine_event_at, c->agent->machine_id, ev->cap.at);
	return r < 0 ? r : 1;
}

/* An error about one event, naming it (when readable) so the agent can drop it (bad_message) or resend it later. */
static int capture_refused(struct conn *c, const char *id, const char *code, const char *message)
{
	if (id && strlen(id) > PROTO_AGENT_ID_MAX)
		id = NULL;
	return conn_send_json(c, json_pack("{s:s, s:i, s:s, s:s, s:s?}", PROTO_WS_F_TYPE, PROTO_WS_MSG_ERROR,
					   PROTO_WS_F_VERSION, PROTO_AGENT_VERSION, "code", code, "message", message,
					   "id", id));
}

static int on_capture(struct conn *c, json_t *msg, bool begin)
{
	_cleanup_(capture_event_clear) struct capture_event ev = { 0 };
	const char *bad = capture_parse(msg, &ev);
	const char *user = ev.cap.local_user;
	struct outbox ob;
	int64_t rid = 0;
	int r;

	if (bad) {
		char m[96];
		snprintf(m, sizeof(m), "capture event: missing or invalid \"%s\"", bad);
		return capture_refused(c, ev.id, PROTO_WS_ERR_BAD_MESSAGE, m);
	}
	ev.cap.machine_id = c->agent->machine_id;
	ev.cap.user_id = map_user(user);
	if ((r = outbox_begin(&ob)) == 0) {
		r = capture_store(c, &ev, begin, &rid);
		if (r == 0) {
			outbox_abort(&ob);
			return ack(c, ev.id, true);
		}
		if (r > 0)
			r = fan_out(&ob, rid, begin ? PROTO_LOBBY_EV_RECORDING_BEGIN : PROTO_LOBBY_EV_RECORDING_END);
		r = r >= 0 ? outbox_commit(&ob) : (outbox_abort(&ob), r);
	}
	if (r < 0) {
		log_err("agent: machine '%s': event %s not stored: %s", c->agent->machine, ev.id, strerror(-r));
		return capture_refused(c, ev.id, PROTO_AGENT_ERR_STORE_FAILED, "event not stored; send it again");
	}
	if (!ev.cap.user_id)
		log_warn("agent: machine '%s': capture by local user '%s' matches no account (agent_user_map = %s)",
			 c->agent->machine, user ? user : "", srv->cfg->agent_user_map);
	log_info("agent: machine '%s': %s %s by '%s' (%s, rule %s)", c->agent->machine, ev.cap.kind,
		 begin ? "began" : "ended", user ? user : "?", ev.cap.program ? ev.cap.program : "?",
		 ev.cap.rule_id ? ev.cap.rule_id : "-");
	return ack(c, ev.id, false);
}

static int on_capture_begin(struct conn *c, json_t *msg) { return on_capture(c, msg, true); }
static int on_capture_end(struct conn *c, json_t *msg) { return on_capture(c, msg, false); }

/*
 * What the machine's policy saw, from an agent configured with
 * share_observations = yes (observations.h keeps it for sphinx-policy
 * test). Best-effort on both sides: nothing is acknowledged, and a batch
 * is stored whole or refused whole with an error that says why.
 */
static int on_observations(struct conn *c, json_t *msg)
{
	struct agent_state *a = c->agent;
	int64_t now = now_ms();
	char err[200], m[260];
	size_t n = 0;
	int r;

	/* a token bucket: the agent sends one batch a second; a stop may flush a few at once */
	a->obs_tokens = a->obs_at ? a->obs_tokens + (double)(now - a->obs_at) * PROTO_AGENT_OBS_RATE / 1000
				  : PROTO_AGENT_OBS_BURST;
	if (a->obs_tokens > PROTO_AGENT_OBS_BURST)
		a->obs_tokens = PROTO_AGENT_OBS_BURST;
	a->obs_at = now;
	if (a->obs_tokens < 1)
		return conn_error(c, PROTO_WS_ERR_RATE_LIMITED,
				  "observations: at most " STR(PROTO_AGENT_OBS_RATE) " batch a second (after a burst "
				  "of " STR(PROTO_AGENT_OBS_BURST) "); this one is dropped");
	a->obs_tokens -= 1;
	r = observations_store(a->machine_id, json_object_get(msg, "events"), &n, err, sizeof(err));
	if (r == 0)
		return 0;
	snprintf(m, sizeof(m), "observations: %s", err);
	if (r == -EPERM)
		return conn_error(c, PROTO_AGENT_ERR_OBSERVATIONS_OFF, m);
	if (r == -EINVAL)
		return conn_error(c, PROTO_WS_ERR_BAD_MESSAGE, m);
	log_err("agent: machine '%s': %s", c->agent->machine, m);
	return conn_error(c, PROTO_AGENT_ERR_STORE_FAILED, m);
}

static const struct {
	const char *type;
	int (*fn)(struct conn *c, json_t *msg);
	bool needs_hello;
} handlers[] = {
	{ PROTO_AGENT_MSG_HELLO, on_hello, false },
	{ PROTO_AGENT_MSG_HEARTBEAT, on_heartbeat, true },
	{ PROTO_AGENT_MSG_CAPTURE_BEGIN, on_capture_begin, true },
	{ PROTO_AGENT_MSG_CAPTURE_END, on_capture_end, true },
	{ PROTO_AGENT_MSG_USERS, on_users, true },
	{ PROTO_AGENT_MSG_GOODBYE, on_goodbye, true },
	{ PROTO_AGENT_MSG_STATUS, on_status, true },
	{ PROTO_AGENT_MSG_POLICY_STATE, on_policy_state, true },
	{ PROTO_AGENT_MSG_OBSERVATIONS, on_observations, true },
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
		return conn_error(c, PROTO_WS_ERR_BAD_JSON, jerr.text);
	type = json_string_value(json_object_get(msg, PROTO_WS_F_TYPE));
	v = json_object_get(msg, PROTO_WS_F_VERSION);
	if (!json_is_object(msg) || !type) {
		conn_error(c, PROTO_WS_ERR_BAD_MESSAGE, "a message is a JSON object with a \"type\"");
	} else if (!json_is_integer(v) || json_integer_value(v) != PROTO_AGENT_VERSION) {
		conn_error(c, PROTO_WS_ERR_UNSUPPORTED_VERSION,
			   "this server speaks protocol version " STR(PROTO_AGENT_VERSION) " (\"v\":" STR(
				   PROTO_AGENT_VERSION) ")");
	} else {
		for (i = 0; i < ARRAY_SIZE(handlers); i++)
			if (strcmp(type, handlers[i].type) == 0)
				break;
		if (i == ARRAY_SIZE(handlers))
			conn_error(c, PROTO_WS_ERR_UNKNOWN_TYPE, "unknown message type");
		else if (handlers[i].needs_hello && !c->agent->hello)
			conn_error(c, PROTO_AGENT_ERR_HELLO_REQUIRED, "send hello first");
		else
			handlers[i].fn(c, msg);
	}
	json_decref(msg);
	return 0;
}
