// SPDX-License-Identifier: GPL-2.0-only
/*
 * See uplink.h. All lws calls happen on the uplink thread, except
 * lws_cancel_service(), the one call lws allows from other threads: it
 * wakes the loop with LWS_CALLBACK_EVENT_WAIT_CANCELLED, where the thread
 * looks at the spool and at the stop flag.
 *
 * Sending: one message per WRITEABLE callback (lws' rule). Order: hello,
 * the status report when this connection has not sent the latest one (the
 * main thread leaves it as text under a mutex), a heartbeat when due, the
 * next spooled event after the last one sent on this connection, and when
 * stopping, once the spool is sent, goodbye. In-flight
 * events are remembered by id so an ack can name its spool entry; the spool
 * hands out only events the server can acknowledge (malformed entries are
 * set aside there and logged here), so the in-flight slots always drain.
 *
 * Observations (share_observations = yes, uplink_observe()): the main
 * thread queues each event the policy saw, as --record writes it, into a
 * bounded queue under obs_lock, only while connected to a server whose
 * welcome said it keeps them; the uplink thread sends them in batches of
 * at most OBS_BATCH_EVENTS / OBS_BATCH_BYTES, at most one batch every
 * OBS_INTERVAL_US, after the spooled events and within the same send
 * pacing; a clean stop sends what is queued before goodbye. Best-effort:
 * never spooled, never acknowledged; a full queue or a dropped link drops
 * them (counted, logged at most once a minute).
 *
 * The link goes where server_url says and nowhere else: lws is told not to
 * follow redirects (LCCSCF_HTTP_NO_FOLLOW_REDIRECT; lws 4.1 follows them by
 * default and would send the Authorization header to the new place), and
 * any answer to the upgrade other than 101 is a failed attempt, logged with
 * its status (and Location for a 3xx), retried on the same URL.
 *
 * A server node that is going away (a restart, an upgrade) closes the link
 * with PROTO_AGENT_CLOSE_DRAIN: the uplink reconnects at once, without
 * backoff, and the balancer in front of the nodes picks a live one; the
 * spool is replayed from its start on every new link, so whatever the old
 * node had not acknowledged is sent again (the server drops replays by id).
 */
#include <ctype.h>
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>
#include <libwebsockets.h>

#include "config.h"
#include "log.h"
#include "proto_agent.h"
#include "spool.h"
#include "uplink.h"
#include "util.h"

#define INFLIGHT_MAX	256		/* unacked events on the wire */
#define RX_MAX		(64 * 1024)	/* the protocol's message limit, but for "policy" */
#define BACKOFF_MIN_MS	500
#define BACKOFF_MAX_MS	30000
/*
 * Spooled events go out at most SEND_RATE a second after a burst of
 * SEND_BURST: half the server's default per-connection limits (ws_rate 20,
 * ws_burst 100), which leaves room for heartbeats. Past its limit the
 * server drops messages unacknowledged and then closes the link, so a
 * replay after an outage that ignored it would crawl from reconnect to
 * reconnect.
 */
#define SEND_RATE	10
#define SEND_BURST	50
/* observations: queued at most, per batch, and a batch at most this often */
#define OBS_QUEUE_MAX	2048
#define OBS_BATCH_EVENTS PROTO_AGENT_OBS_BATCH_MAX
#define OBS_BATCH_BYTES	(48 * 1024)	/* under the server's 64 KiB message limit */
#define OBS_INTERVAL_US	LWS_US_PER_SEC
#define OBS_LOG_EVERY_US (60 * LWS_US_PER_SEC)

struct inflight {
	uint64_t seq;
	char id[SPOOL_ID_MAX + 1];
};

struct uplink {
	/* Immutable after start. */
	char *url, *token, *ca_file, *machine, *email_domain;
	char host[256], path[256];
	int port;
	bool tls;
	struct uplink_info info;
	char *boot_id, **layers, **users;
	struct spool *spool;

	/* Shared with other threads. */
	atomic_bool stop, connected;
	atomic_bool obs_accepted;	/* we share, and the welcome said the server keeps them */
	pthread_t thread;
	pthread_mutex_t lock;		/* guards the policy fields below */
	struct uplink_policy_state pstate;	/* pstate.error owned (pstate_error) */
	char *pstate_error;
	bool pstate_due;		/* policy.state to send on this connection */
	json_t *policy_msg;		/* newest "policy" message not yet taken */
	pthread_mutex_t status_lock;	/* guards status_text and status_gen */
	char *status_text;		/* the latest "status" message, NULL: none yet */
	uint64_t status_gen;		/* moved on with each new status_text */
	bool share;			/* share_observations = yes (immutable) */
	pthread_mutex_t obs_lock;	/* guards the four below */
	char *obs_queue[OBS_QUEUE_MAX];	/* a ring of JSON objects, oldest at obs_head */
	unsigned obs_head, obs_n;
	uint64_t obs_dropped;		/* queue full, since the last log line */

	/* Uplink thread only. */
	struct lws_context *ctx;
	struct lws *wsi;
	lws_sorted_usec_list_t sul_reconnect, sul_heartbeat, sul_give_up, sul_pace, sul_obs;
	lws_usec_t obs_sent_at, obs_logged_at;
	double send_tokens;		/* events we may send now (SEND_RATE) */
	lws_usec_t tokens_at;
	unsigned backoff_ms;
	unsigned heartbeat_s;
	bool attempt;			/* a connection is being made or is up */
	bool hello_sent, goodbye_sent, heartbeat_due;
	uint64_t status_sent_gen;	/* the report this connection sent, 0: none */
	bool drained;			/* the server closed with PROTO_AGENT_CLOSE_DRAIN */
	char refusal[400];		/* why the server's answer was refused */
	char last_why[400];		/* the last failure logged */
	uint64_t last_sent_seq;
	struct inflight inflight[INFLIGHT_MAX];
	unsigned n_inflight;
	char *rx;
	size_t rx_len, rx_cap;		/* rx grows to PROTO_AGENT_POLICY_RX_MAX for "policy" */
};

/* ------------------------------------------------------------- messages */

static char *hello_json(struct uplink *u)
{
	json_t *users = json_array();

	for (size_t i = 0; u->users && u->users[i]; i++) {
		if (u->email_domain)
			json_array_append_new(users,
					      json_sprintf("%s@%s", u->users[i], u->email_domain));
		else
			json_array_append_new(users, json_string(u->users[i]));
	}
	json_t *layers = json_array();

	for (size_t i = 0; u->layers[i]; i++)
		json_array_append_new(layers, json_string(u->layers[i]));
	pthread_mutex_lock(&u->lock);
	json_t *pversion = u->pstate.version ? json_integer(u->pstate.version) : json_null();
	const char *psource = u->pstate.local_only ? PROTO_AGENT_POLICY_SOURCE_LOCAL
						   : PROTO_AGENT_POLICY_SOURCE_SERVER;
	pthread_mutex_unlock(&u->lock);
	json_t *obj = json_pack("{s:s, s:i, s:s, s:s, s:s, s:o, s:o, s:I, s:o, s:s}",
				PROTO_WS_F_TYPE, PROTO_AGENT_MSG_HELLO, PROTO_WS_F_VERSION,
				PROTO_AGENT_VERSION, "machine", u->machine, "boot_id", u->boot_id,
				"agent_version", u->info.version, "layers", layers, "users", users,
				"spool_dropped", (json_int_t)spool_dropped(u->spool),
				"policy_version", pversion, "policy_source", psource);
	char *s = obj ? json_dumps(obj, JSON_COMPACT) : NULL;

	json_decref(obj);
	return s;
}

/* A copy of s cut to PROTO_AGENT_POLICY_ERROR_MAX bytes, never inside a UTF-8 sequence. */
static char *error_copy(const char *s)
{
	size_t n = strlen(s);

	if (n > PROTO_AGENT_POLICY_ERROR_MAX) {
		n = PROTO_AGENT_POLICY_ERROR_MAX;
		while (n && ((unsigned char)s[n] & 0xc0) == 0x80)
			n--;
	}
	return strndup(s, n);
}

/* policy.state, when one is due: a new string, else NULL. */
static char *policy_state_json(struct uplink *u)
{
	json_t *obj = NULL;
	char *s;

	pthread_mutex_lock(&u->lock);
	if (u->pstate_due) {
		obj = json_pack("{s:s, s:i, s:s, s:o, s:I, s:s?}", PROTO_WS_F_TYPE,
				PROTO_AGENT_MSG_POLICY_STATE, PROTO_WS_F_VERSION,
				PROTO_AGENT_VERSION,
				"source",
				u->pstate.local ? PROTO_AGENT_POLICY_SOURCE_LOCAL
						: PROTO_AGENT_POLICY_SOURCE_SERVER,
				"version",
				u->pstate.version ? json_integer(u->pstate.version) : json_null(),
				"rules", (json_int_t)u->pstate.rules, "error", u->pstate_error);
		u->pstate_due = false;
	}
	pthread_mutex_unlock(&u->lock);
	s = obj ? json_dumps(obj, JSON_COMPACT) : NULL;
	json_decref(obj);
	return s;
}

static char *simple_json(const char *type, const char *reason)
{
	struct timespec ts;
	json_t *obj;
	char *s;

	clock_gettime(CLOCK_REALTIME, &ts);
	obj = reason ? json_pack("{s:s, s:i, s:s}", PROTO_WS_F_TYPE, type, PROTO_WS_F_VERSION,
				 PROTO_AGENT_VERSION, "reason", reason)
		     : json_pack("{s:s, s:i, s:I}", PROTO_WS_F_TYPE, type, PROTO_WS_F_VERSION,
				 PROTO_AGENT_VERSION, "ts",
				 (json_int_t)ts.tv_sec * 1000000000 + ts.tv_nsec);
	s = obj ? json_dumps(obj, JSON_COMPACT) : NULL;
	json_decref(obj);
	return s;
}

/* The latest status message when this connection has not sent it, else NULL. Caller frees. */
static char *status_due(struct uplink *u)
{
	char *text = NULL;

	pthread_mutex_lock(&u->status_lock);
	if (u->status_text && u->status_gen != u->status_sent_gen) {
		text = strdup(u->status_text);
		if (text)
			u->status_sent_gen = u->status_gen;
	}
	pthread_mutex_unlock(&u->status_lock);
	return text;
}

/* ------------------------------------------------------- observations */

/* Drop every queued observation (the link is gone: they are not kept). Caller holds obs_lock. */
static void obs_clear_locked(struct uplink *u)
{
	for (; u->obs_n; u->obs_n--, u->obs_head = (u->obs_head + 1) % OBS_QUEUE_MAX)
		free(u->obs_queue[u->obs_head]);
	u->obs_head = 0;
}

/*
 * The next observations message: the oldest queued events, as many as fit
 * OBS_BATCH_EVENTS and OBS_BATCH_BYTES, taken off the queue. NULL when
 * none are queued (or out of memory: the batch is then lost, as the
 * contract allows).
 */
static char *obs_batch(struct uplink *u)
{
	static const char head[] = "{\"" PROTO_WS_F_TYPE "\":\"" PROTO_AGENT_MSG_OBSERVATIONS
		"\",\"" PROTO_WS_F_VERSION "\":" STR(PROTO_AGENT_VERSION) ",\"events\":[";
	char *msg = malloc(OBS_BATCH_BYTES + 64), *p;
	unsigned taken = 0;
	uint64_t dropped;

	if (!msg)
		return NULL;
	p = msg + sizeof(head) - 1;
	memcpy(msg, head, sizeof(head) - 1);
	pthread_mutex_lock(&u->obs_lock);
	while (u->obs_n && taken < OBS_BATCH_EVENTS) {
		char *ev = u->obs_queue[u->obs_head];
		size_t n = strlen(ev);

		if ((size_t)(p - msg) + n + 1 > OBS_BATCH_BYTES && taken)
			break;
		if (taken)
			*p++ = ',';
		memcpy(p, ev, n);
		p += n;
		free(ev);
		u->obs_head = (u->obs_head + 1) % OBS_QUEUE_MAX;
		u->obs_n--;
		taken++;
	}
	dropped = u->obs_dropped;
	pthread_mutex_unlock(&u->obs_lock);
	if (!taken) {
		free(msg);
		return NULL;
	}
	memcpy(p, "]}", 3);
	if (dropped && lws_now_usecs() - u->obs_logged_at > OBS_LOG_EVERY_US) {
		log_info("observations: %llu dropped (more than %d queued: they are best-effort)",
			 (unsigned long long)dropped, OBS_QUEUE_MAX);
		u->obs_logged_at = lws_now_usecs();
		pthread_mutex_lock(&u->obs_lock);
		u->obs_dropped = 0;
		pthread_mutex_unlock(&u->obs_lock);
	}
	return msg;
}

static void obs_tick(lws_sorted_usec_list_t *sul)
{
	struct uplink *u = lws_container_of(sul, struct uplink, sul_obs);

	if (u->wsi && atomic_load(&u->connected))
		lws_callback_on_writable(u->wsi);
}

/* A batch may go now: true; else false, with a writeable turn asked for when one may. */
static bool obs_due(struct uplink *u)
{
	lws_usec_t now = lws_now_usecs();
	bool queued;

	if (!atomic_load(&u->obs_accepted))
		return false;
	pthread_mutex_lock(&u->obs_lock);
	queued = u->obs_n > 0;
	pthread_mutex_unlock(&u->obs_lock);
	if (!queued)
		return false;
	/* stopping: what is queued goes before goodbye (within the second stop allows) */
	if (now - u->obs_sent_at >= OBS_INTERVAL_US || atomic_load(&u->stop))
		return true;
	lws_sul_schedule(u->ctx, 0, &u->sul_obs, obs_tick, u->obs_sent_at + OBS_INTERVAL_US - now);
	return false;
}

bool uplink_shares_observations(const struct uplink *u)
{
	return u && u->share;
}

void uplink_observe(struct uplink *u, char *json)
{
	bool kick = false;

	if (!json || !u || !u->share || !atomic_load(&u->obs_accepted) ||
	    !atomic_load(&u->connected) || strlen(json) > PROTO_AGENT_OBS_EVENT_MAX) {
		free(json);
		return;
	}
	pthread_mutex_lock(&u->obs_lock);
	if (u->obs_n == OBS_QUEUE_MAX) {
		u->obs_dropped++;
		free(json);
	} else {
		u->obs_queue[(u->obs_head + u->obs_n++) % OBS_QUEUE_MAX] = json;
		kick = u->obs_n == 1;	/* the uplink thread looks when it stops being empty */
	}
	pthread_mutex_unlock(&u->obs_lock);
	if (kick)
		lws_cancel_service(u->ctx);
}

/* lws wants LWS_PRE bytes of headroom before the payload. */
static int send_text(struct lws *wsi, const char *text)
{
	size_t len = strlen(text);
	unsigned char *buf = malloc(LWS_PRE + len);
	int n;

	if (!buf)
		return -1;
	memcpy(buf + LWS_PRE, text, len);
	n = lws_write(wsi, buf + LWS_PRE, len, LWS_WRITE_TEXT);
	free(buf);
	return n < (int)len ? -1 : 0;
}

/* The event id inside a spooled message, for matching its ack. */
static void event_id(const char *json, char *id, size_t len)
{
	json_t *obj = json_loads(json, 0, NULL);
	const char *s = obj ? json_string_value(json_object_get(obj, "id")) : NULL;

	snprintf(id, len, "%s", s ? s : "");
	json_decref(obj);
}

/*
 * The next spooled event to send: 0 and *ret_seq, *ret_text; else -errno
 * (-ENOENT: nothing more for now). Malformed entries on the way are set
 * aside by the spool and logged here, one line each.
 */
static int next_event(struct uplink *u, uint64_t *ret_seq, char **ret_text)
{
	struct spool_reject rej;
	int r;

	while ((r = spool_next(u->spool, u->last_sent_seq, ret_seq, ret_text, &rej)) == -EBADMSG)
		log_warn("spool: skipping %s/%s (%s): %s", spool_dir(u->spool), rej.name, rej.why,
			 rej.kept ? "moved into bad/" : "deleted");
	return r;
}

static void pace_tick(lws_sorted_usec_list_t *sul)
{
	struct uplink *u = lws_container_of(sul, struct uplink, sul_pace);

	if (u->wsi && atomic_load(&u->connected))
		lws_callback_on_writable(u->wsi);
}

/* No event may go now: true, with a writeable turn asked for when one may. */
static bool paced(struct uplink *u)
{
	lws_usec_t now = lws_now_usecs();

	u->send_tokens += (double)(now - u->tokens_at) * SEND_RATE / LWS_US_PER_SEC;
	if (u->send_tokens > SEND_BURST)
		u->send_tokens = SEND_BURST;
	u->tokens_at = now;
	if (u->send_tokens >= 1)
		return false;
	lws_sul_schedule(u->ctx, 0, &u->sul_pace, pace_tick,
			 (lws_usec_t)((1 - u->send_tokens) * LWS_US_PER_SEC / SEND_RATE) + 1);
	return true;
}

/* One message per call; asks for another turn while more is waiting. */
static int on_writeable(struct uplink *u)
{
	char *text = NULL;
	bool wait = false;
	uint64_t seq;

	if (!u->hello_sent) {
		text = hello_json(u);
		u->hello_sent = true;
	} else if ((text = policy_state_json(u))) {
		/* before events: the server learns what this machine runs first */
	} else if ((text = status_due(u))) {
		/* after hello, before the spool: the server knows what this agent sees */
	} else if (u->heartbeat_due && !atomic_load(&u->stop)) {
		text = simple_json(PROTO_AGENT_MSG_HEARTBEAT, NULL);
		u->heartbeat_due = false;
	} else if (u->n_inflight < INFLIGHT_MAX && !(wait = paced(u)) &&
		   next_event(u, &seq, &text) == 0) {
		struct inflight *f = &u->inflight[u->n_inflight++];

		f->seq = seq;
		event_id(text, f->id, sizeof(f->id));
		u->last_sent_seq = seq;
		u->send_tokens -= 1;
	} else if (!wait && u->send_tokens >= 1 && obs_due(u) && (text = obs_batch(u))) {
		u->obs_sent_at = lws_now_usecs();
		u->send_tokens -= 1;
	} else if (atomic_load(&u->stop) && !u->goodbye_sent && !wait) {
		/* Last: the captures ended by the shutdown go out before it. */
		text = simple_json(PROTO_AGENT_MSG_GOODBYE, "shutdown");
		u->goodbye_sent = true;
	}
	if (!text)
		return 0;
	if (send_text(u->wsi, text) < 0) {
		free(text);
		return -1;
	}
	free(text);
	lws_callback_on_writable(u->wsi);
	return 0;
}

static void on_ack(struct uplink *u, const char *id)
{
	for (unsigned i = 0; i < u->n_inflight; i++) {
		if (strcmp(u->inflight[i].id, id) == 0) {
			spool_ack(u->spool, u->inflight[i].seq);
			u->inflight[i] = u->inflight[--u->n_inflight];
			return;
		}
	}
}

static void heartbeat_tick(lws_sorted_usec_list_t *sul);

static void on_message(struct uplink *u, const char *text, size_t len)
{
	json_t *obj = json_loadb(text, len, 0, NULL);
	const char *type = obj ? json_string_value(json_object_get(obj, PROTO_WS_F_TYPE)) : NULL;

	if (!type) {
		log_warn("server sent a message that is not a JSON object with a type");
	} else if (strcmp(type, PROTO_AGENT_MSG_ACK) == 0) {
		const char *id = json_string_value(json_object_get(obj, "id"));

		if (id)
			on_ack(u, id);
	} else if (strcmp(type, PROTO_AGENT_MSG_WELCOME) == 0) {
		json_int_t hb = json_integer_value(json_object_get(obj, "heartbeat_s"));

		u->heartbeat_s = hb >= 1 && hb <= 300 ? (unsigned)hb : 5;
		log_info("server welcomed this machine (heartbeat every %us)", u->heartbeat_s);
		bool keeps = json_is_true(json_object_get(obj, "observations"));

		if (u->share && !keeps)
			log_info("share_observations = yes, but this server keeps no observations: "
				 "none are sent");
		else if (u->share)
			log_info("share_observations = yes: every event the policy sees goes "
				 "to the server (best-effort)");
		atomic_store(&u->obs_accepted, u->share && keeps);
		lws_sul_schedule(u->ctx, 0, &u->sul_heartbeat, heartbeat_tick,
				 (lws_usec_t)u->heartbeat_s * LWS_US_PER_SEC);
	} else if (strcmp(type, PROTO_AGENT_MSG_POLICY) == 0) {
		/* the detection thread checks and applies it (main.c) */
		pthread_mutex_lock(&u->lock);
		json_decref(u->policy_msg);
		u->policy_msg = json_incref(obj);
		pthread_mutex_unlock(&u->lock);
		log_info("server sent policy bundle v%lld",
			 (long long)json_integer_value(json_object_get(obj, "version")));
		if (u->info.on_policy)
			u->info.on_policy();
	} else if (strcmp(type, PROTO_WS_MSG_ERROR) == 0) {
		const char *code = json_string_value(json_object_get(obj, "code"));
		const char *msg = json_string_value(json_object_get(obj, "message"));
		const char *id = json_string_value(json_object_get(obj, "id"));

		log_warn("server error %s: %s", code ? code : "?", msg ? msg : "");
		if (code && strcmp(code, PROTO_AGENT_ERR_OBSERVATIONS_OFF) == 0)
			atomic_store(&u->obs_accepted, false);
		/* An event the server will never accept must not block the spool. */
		if (id && code && strcmp(code, PROTO_WS_ERR_BAD_MESSAGE) == 0)
			on_ack(u, id);
	}
	json_decref(obj);
}

/* ---------------------------------------------------------- connection */

static void connect_now(lws_sorted_usec_list_t *sul);
static void on_lost(struct uplink *u, const char *why);

static void schedule_reconnect(struct uplink *u)
{
	unsigned jitter, delay;

	if (atomic_load(&u->stop))
		return;
	u->backoff_ms = u->backoff_ms ? u->backoff_ms * 2 : BACKOFF_MIN_MS;
	if (u->backoff_ms > BACKOFF_MAX_MS)
		u->backoff_ms = BACKOFF_MAX_MS;
	/* ±25 % so a lab of machines does not reconnect in lockstep. */
	jitter = u->backoff_ms / 4;
	delay = u->backoff_ms - jitter + (jitter ? (unsigned)(lws_now_usecs() % (2 * jitter)) : 0);
	lws_sul_schedule(u->ctx, 0, &u->sul_reconnect, connect_now, (lws_usec_t)delay * 1000);
}

static void heartbeat_tick(lws_sorted_usec_list_t *sul)
{
	struct uplink *u = lws_container_of(sul, struct uplink, sul_heartbeat);

	if (u->wsi && atomic_load(&u->connected)) {
		u->heartbeat_due = true;
		lws_callback_on_writable(u->wsi);
	}
	lws_sul_schedule(u->ctx, 0, &u->sul_heartbeat, heartbeat_tick,
			 (lws_usec_t)(u->heartbeat_s ? u->heartbeat_s : 5) * LWS_US_PER_SEC);
}

static void connect_now(lws_sorted_usec_list_t *sul)
{
	struct uplink *u = lws_container_of(sul, struct uplink, sul_reconnect);
	struct lws_client_connect_info ci;

	memset(&ci, 0, sizeof(ci));
	ci.context = u->ctx;
	ci.address = u->host;
	ci.port = u->port;
	ci.path = u->path;
	ci.host = u->host;
	ci.origin = NULL;
	/* Never follow a redirect: the token goes to server_url only. */
	ci.ssl_connection = (u->tls ? LCCSCF_USE_SSL : 0) | LCCSCF_HTTP_NO_FOLLOW_REDIRECT;
	ci.local_protocol_name = "sphinx-agent";
	ci.pwsi = &u->wsi;
	ci.userdata = u;
	u->refusal[0] = '\0';
	u->drained = false;
	u->attempt = true;
	/* A failure may be reported through the callback before this returns. */
	if (!lws_client_connect_via_info(&ci) && u->attempt)
		on_lost(u, "cannot start a connection");
}

/*
 * The server's answer to the upgrade, headers parsed, before lws checks it:
 * anything but 101 is refused here, with the status (and Location, which
 * is never followed) remembered for the one log line. -1 refuses.
 */
static int on_upgrade_answer(struct uplink *u, struct lws *wsi)
{
	unsigned status = lws_http_client_http_response(wsi);
	char loc[200] = "";

	if (status == 101)
		return 0;
	if (status >= 300 && status < 400) {
		if (lws_hdr_copy(wsi, loc, sizeof(loc), WSI_TOKEN_HTTP_LOCATION) < 0)
			snprintf(loc, sizeof(loc), "(too long)");
		for (char *c = loc; *c; c++)	/* server text into our log */
			if (!isprint((unsigned char)*c))
				*c = '?';
		snprintf(u->refusal, sizeof(u->refusal),
			 "answered the upgrade with HTTP %u "
			 "(Location: %s); redirects are never followed",
			 status, loc[0] ? loc : "none");
	} else {
		snprintf(u->refusal, sizeof(u->refusal),
			 "answered the upgrade with HTTP %u, not 101", status);
	}
	return -1;
}

static void on_connected(struct uplink *u)
{
	u->backoff_ms = 0;
	u->last_why[0] = '\0';
	u->hello_sent = u->goodbye_sent = u->heartbeat_due = false;
	u->status_sent_gen = 0;	/* every hello is followed by the report */
	u->n_inflight = 0;
	u->last_sent_seq = 0;	/* replay the spool from its start */
	pthread_mutex_lock(&u->lock);
	u->pstate_due = true;	/* after hello, on every connection */
	pthread_mutex_unlock(&u->lock);
	u->send_tokens = SEND_BURST;	/* as the server's bucket for a new link */
	u->tokens_at = lws_now_usecs();
	atomic_store(&u->connected, true);
	log_info("connected to %s (%zu events spooled)", u->url, spool_count(u->spool));
	lws_callback_on_writable(u->wsi);
}

/* The attempt or the connection ended (lws may say so twice: once counts). */
static void on_lost(struct uplink *u, const char *why)
{
	bool was = atomic_exchange(&u->connected, false);

	atomic_store(&u->obs_accepted, false);	/* until the next welcome says so */
	pthread_mutex_lock(&u->obs_lock);
	obs_clear_locked(u);
	pthread_mutex_unlock(&u->obs_lock);
	if (!u->attempt)
		return;
	u->attempt = false;
	u->wsi = NULL;
	u->rx_len = 0;
	if (atomic_load(&u->stop))
		return;
	if (u->refusal[0])
		why = u->refusal;
	if (u->drained) {
		/* the node is going away: another one takes the link now */
		u->drained = false;
		u->backoff_ms = 0;
		log_info("server %s: the node is draining; reconnecting at once "
			 "(%zu events spooled)", u->url, spool_count(u->spool));
		lws_sul_schedule(u->ctx, 0, &u->sul_reconnect, connect_now, 1);
		return;
	}
	/* Each new reason once: a server away for an hour is one line, not 120. */
	if (was || strcmp(why, u->last_why) != 0) {
		log_warn("server %s: %s; retrying the same URL with backoff", u->url, why);
		snprintf(u->last_why, sizeof(u->last_why), "%s", why);
	}
	schedule_reconnect(u);
}

/*
 * Room for need bytes in rx: only a "policy" message is larger than
 * RX_MAX, up to PROTO_AGENT_POLICY_RX_MAX. -E2BIG past it.
 */
static int rx_grow(struct uplink *u, size_t need)
{
	size_t cap = u->rx_cap;
	char *bigger;

	if (need > PROTO_AGENT_POLICY_RX_MAX)
		return -E2BIG;
	while (cap < need)
		cap *= 2;
	if (cap > PROTO_AGENT_POLICY_RX_MAX)
		cap = PROTO_AGENT_POLICY_RX_MAX;
	bigger = realloc(u->rx, cap);
	if (!bigger)
		return -ENOMEM;
	u->rx = bigger;
	u->rx_cap = cap;
	return 0;
}

static int callback(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in,
		    size_t len)
{
	struct uplink *u = lws_context_user(lws_get_context(wsi));
	char auth[600];

	switch (reason) {
	case LWS_CALLBACK_CLIENT_APPEND_HANDSHAKE_HEADER: {
		unsigned char **p = in, *end = *p + len;

		snprintf(auth, sizeof(auth), "Bearer %s", u->token);
		if (lws_add_http_header_by_name(wsi, (const unsigned char *)"authorization:",
						(const unsigned char *)auth, strlen(auth), p, end))
			return -1;
		break;
	}
	case LWS_CALLBACK_ESTABLISHED_CLIENT_HTTP:
		return on_upgrade_answer(u, wsi);
	case LWS_CALLBACK_CLIENT_HTTP_REDIRECT:
		/* Not reached with NO_FOLLOW_REDIRECT; refused all the same. */
		snprintf(u->refusal, sizeof(u->refusal), "redirected the upgrade; redirects are "
			 "never followed");
		return -1;
	case LWS_CALLBACK_CLIENT_ESTABLISHED:
		u->wsi = wsi;
		on_connected(u);
		break;
	case LWS_CALLBACK_CLIENT_RECEIVE:
		if (u->rx_len + len > u->rx_cap && rx_grow(u, u->rx_len + len) < 0) {
			log_warn("server message over %d bytes: dropping the connection",
				 PROTO_AGENT_POLICY_RX_MAX);
			return -1;
		}
		memcpy(u->rx + u->rx_len, in, len);
		u->rx_len += len;
		if (lws_is_final_fragment(wsi) && !lws_remaining_packet_payload(wsi)) {
			on_message(u, u->rx, u->rx_len);
			u->rx_len = 0;
		}
		break;
	case LWS_CALLBACK_CLIENT_WRITEABLE:
		if (on_writeable(u) < 0)
			return -1;
		if (u->goodbye_sent && atomic_load(&u->stop)) {
			lws_close_reason(wsi, LWS_CLOSE_STATUS_NORMAL, (unsigned char *)"shutdown",
					 8);
			return -1;
		}
		break;
	case LWS_CALLBACK_WS_PEER_INITIATED_CLOSE:
		/* in: the close frame's payload, a two-byte code first */
		if (len >= 2) {
			const unsigned char *b = in;

			u->drained = ((unsigned)b[0] << 8 | b[1]) == PROTO_AGENT_CLOSE_DRAIN;
		}
		break;
	case LWS_CALLBACK_CLIENT_CONNECTION_ERROR:
		on_lost(u, in ? (const char *)in : "connection failed");
		break;
	case LWS_CALLBACK_CLIENT_CLOSED:
		on_lost(u, "connection closed");
		break;
	case LWS_CALLBACK_EVENT_WAIT_CANCELLED:
		if (u->wsi && atomic_load(&u->connected))
			lws_callback_on_writable(u->wsi);
		break;
	default:
		break;
	}
	return 0;
}

static const struct lws_protocols protocols[] = {
	{ .name = "sphinx-agent", .callback = callback, .rx_buffer_size = 4096 },
	{ 0 }
};

/* -------------------------------------------------------------- thread */

static void *run(void *arg)
{
	struct uplink *u = arg;
	lws_usec_t stop_deadline = 0;

	lws_sul_schedule(u->ctx, 0, &u->sul_reconnect, connect_now, 1);
	lws_sul_schedule(u->ctx, 0, &u->sul_heartbeat, heartbeat_tick, 5 * LWS_US_PER_SEC);
	for (;;) {
		if (atomic_load(&u->stop)) {
			/* Up to a second to say goodbye, then go. */
			if (!stop_deadline)
				stop_deadline = lws_now_usecs() + LWS_US_PER_SEC;
			if (!u->wsi || !atomic_load(&u->connected) ||
			    lws_now_usecs() > stop_deadline)
				break;
		}
		if (lws_service(u->ctx, 0) < 0)
			break;
	}
	return NULL;
}

static int parse_url(struct uplink *u)
{
	char copy[1024];
	const char *prot, *addr, *path;
	int port;

	snprintf(copy, sizeof(copy), "%s", u->url);
	if (lws_parse_uri(copy, &prot, &addr, &port, &path))
		return -EINVAL;
	u->tls = strcmp(prot, "wss") == 0;
	if (!u->tls && strcmp(prot, "ws") != 0)
		return -EINVAL;
	snprintf(u->host, sizeof(u->host), "%s", addr);
	snprintf(u->path, sizeof(u->path), "/%s", path);
	u->port = port;
	return 0;
}

static char **copy_strv(const char *const *v)
{
	size_t n = 0;
	char **out;

	while (v && v[n])
		n++;
	out = calloc(n + 1, sizeof(*out));
	for (size_t i = 0; out && i < n; i++)
		out[i] = strdup(v[i]);
	return out;
}

static void uplink_free(struct uplink *u)
{
	if (!u)
		return;
	for (size_t i = 0; u->users && u->users[i]; i++)
		free(u->users[i]);
	free(u->users);
	free(u->url);
	free(u->token);
	free(u->ca_file);
	free(u->machine);
	free(u->email_domain);
	free(u->boot_id);
	for (size_t i = 0; u->layers && u->layers[i]; i++)
		free(u->layers[i]);
	free(u->layers);
	free(u->rx);
	free(u->pstate_error);
	json_decref(u->policy_msg);
	free(u->status_text);
	pthread_mutex_destroy(&u->status_lock);
	pthread_mutex_destroy(&u->lock);
	obs_clear_locked(u);
	pthread_mutex_destroy(&u->obs_lock);
	free(u);
}

static void lws_log(int level, const char *line)
{
	log_msg(level == LLL_ERR ? LOG_WARNING : LOG_DEBUG, "lws: %s", line);
}

int uplink_start(const struct agent_config *cfg, struct spool *spool,
		 const struct uplink_info *info, struct uplink **ret)
{
	struct lws_context_creation_info ci;
	struct uplink *u = calloc(1, sizeof(*u));

	if (!u)
		return -ENOMEM;
	u->url = strdup(cfg->server_url);
	u->token = strdup(cfg->token);
	u->ca_file = cfg->ca_file ? strdup(cfg->ca_file) : NULL;
	u->machine = strdup(cfg->machine);
	u->email_domain = cfg->email_domain ? strdup(cfg->email_domain) : NULL;
	u->boot_id = strdup(info->boot_id);
	u->layers = copy_strv(info->layers);
	u->users = copy_strv(info->users);
	u->rx = malloc(RX_MAX);
	u->rx_cap = RX_MAX;
	u->info = *info;
	u->spool = spool;
	pthread_mutex_init(&u->status_lock, NULL);
	pthread_mutex_init(&u->lock, NULL);
	u->pstate = info->policy;
	u->pstate_error = info->policy.error ? error_copy(info->policy.error) : NULL;
	u->pstate.error = NULL;
	u->share = cfg->share_observations;
	pthread_mutex_init(&u->obs_lock, NULL);
	if (!u->url || !u->token || !u->machine || !u->boot_id || !u->rx || !u->users ||
	    !u->layers) {
		uplink_free(u);
		return -ENOMEM;
	}
	if (parse_url(u) < 0) {
		log_err("server_url '%s': expected ws://HOST[:PORT]/PATH or wss://...", u->url);
		uplink_free(u);
		return -EINVAL;
	}
	if (!u->tls && !cfg->insecure) {	/* agent_config_load() refuses it first */
		log_err("server_url '%s': ws:// without 'insecure = yes'", u->url);
		uplink_free(u);
		return -EINVAL;
	}
	if (!u->tls)
		log_warn("server_url %s is ws:// (insecure = yes): this machine's token and every "
			 "event cross the network in clear; use wss://", u->url);

	lws_set_log_level(LLL_ERR | LLL_WARN, lws_log);
	memset(&ci, 0, sizeof(ci));
	ci.port = CONTEXT_PORT_NO_LISTEN;
	ci.protocols = protocols;
	ci.user = u;
	ci.options = LWS_SERVER_OPTION_DO_SSL_GLOBAL_INIT | LWS_SERVER_OPTION_VALIDATE_UTF8;
	if (u->ca_file)
		ci.client_ssl_ca_filepath = u->ca_file;
	u->ctx = lws_create_context(&ci);
	if (!u->ctx) {
		log_err("cannot create the WebSocket client context");
		uplink_free(u);
		return -ENOMEM;
	}
	if (pthread_create(&u->thread, NULL, run, u) != 0) {
		lws_context_destroy(u->ctx);
		uplink_free(u);
		return -EAGAIN;
	}
	*ret = u;
	return 0;
}

void uplink_print_status(const struct agent_config *cfg, FILE *out)
{
	if (!cfg->server_url)
		fprintf(out, "%-7s %s\n", "server", "none (no server_url)");
	else if (strncmp(cfg->server_url, "wss://", 6) == 0)
		fprintf(out, "%-7s %s (TLS, certificate verified against %s)\n", "server",
			cfg->server_url, cfg->ca_file ? cfg->ca_file : "the system's CAs");
	else
		fprintf(out, "%-7s %s INSECURE: ws:// without TLS (insecure = yes), the token and "
			"events cross the network in clear\n", "server", cfg->server_url);
	if (cfg->server_url)
		fprintf(out, "%-7s %s\n", "observe", cfg->share_observations ?
			"shared: every event the policy sees goes to the server "
			"(share_observations = yes)" : "not shared (share_observations = no)");
}

void uplink_policy_state(struct uplink *u, const struct uplink_policy_state *st)
{
	if (!u)
		return;
	pthread_mutex_lock(&u->lock);
	u->pstate = *st;
	u->pstate.error = NULL;
	free(u->pstate_error);
	u->pstate_error = st->error ? error_copy(st->error) : NULL;
	u->pstate_due = true;
	pthread_mutex_unlock(&u->lock);
	lws_cancel_service(u->ctx);
}

json_t *uplink_take_policy(struct uplink *u)
{
	json_t *msg;

	if (!u)
		return NULL;
	pthread_mutex_lock(&u->lock);
	msg = u->policy_msg;
	u->policy_msg = NULL;
	pthread_mutex_unlock(&u->lock);
	return msg;
}

int uplink_set_status(struct uplink *u, const json_t *report)
{
	json_t *msg;
	char *text;

	if (!u)
		return 0;
	/* the envelope first, as in every other message */
	msg = json_pack("{s:s, s:i}", PROTO_WS_F_TYPE, PROTO_AGENT_MSG_STATUS, PROTO_WS_F_VERSION,
			PROTO_AGENT_VERSION);
	if (!msg || json_object_update_missing(msg, (json_t *)report) < 0) {
		json_decref(msg);
		return -ENOMEM;
	}
	text = json_dumps(msg, JSON_COMPACT);
	json_decref(msg);
	if (!text)
		return -ENOMEM;
	pthread_mutex_lock(&u->status_lock);
	free(u->status_text);
	u->status_text = text;
	u->status_gen++;
	pthread_mutex_unlock(&u->status_lock);
	lws_cancel_service(u->ctx);
	return 0;
}

void uplink_kick(struct uplink *u)
{
	if (u)
		lws_cancel_service(u->ctx);
}

void uplink_stop(struct uplink *u)
{
	if (!u)
		return;
	atomic_store(&u->stop, true);
	lws_cancel_service(u->ctx);
	pthread_join(u->thread, NULL);
	lws_context_destroy(u->ctx);
	uplink_free(u);
}
