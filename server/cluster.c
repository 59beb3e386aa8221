// SPDX-License-Identifier: GPL-2.0-only
/*
 * Several nodes on one PostgreSQL store (cluster.h): notifications out,
 * the LISTEN connection in, the node heartbeat and the dead-node sweep.
 *
 * Notification payloads are one line of text, at most NOTIFY_MAX bytes:
 *
 *   <node> e <meeting> <offset>           events of a meeting up to offset
 *   <node> b <meeting> <user> [<reason>]  user banned (after its event)
 *   <node> x <meeting>                    meeting ended (after its event)
 *   <node> o <meeting> <user>             user made an organiser
 *   <node> m <user>                       user's monitor state flipped
 *   <node> u <user>                       user signed out
 *
 * They are hints: every one is checked against the store (the offset a
 * lobby delivered last, the account's stored state), so a repeated,
 * reordered or lost one never shows a client a wrong thing.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <libpq-fe.h>

#include "cleanup.h"
#include "cluster.h"
#include "lobby.h"
#include "log.h"
#include "meeting.h"
#include "monitor.h"
#include "proto_lobby.h"
#include "server.h"
#include "util.h"
#include "ws_agent.h"

#define NOTIFY_MAX 700		/* a ban reason is at most PROTO_LOBBY_BAN_REASON_MAX (500) bytes */
#define BACKOFF_MIN_MS 100
#define BACKOFF_MAX_MS 5000

/* The LISTEN connection's life: connecting, its LISTEN sent, listening. */
enum listen_state { LISTEN_DOWN, LISTEN_CONNECTING, LISTEN_SUBSCRIBING, LISTEN_UP };

static struct {
	PGconn *conn;		/* the LISTEN connection, NULL while down */
	struct lws *wsi;	/* its socket (a dup, lws' to close) adopted as a raw file */
	int sock;		/* libpq's descriptor wsi watches a dup of */
	enum listen_state state;
	unsigned backoff_ms;
	bool stopping;
	lws_sorted_usec_list_t retry, heartbeat;
} cl;

bool cluster_active(void)
{
	return srv && srv->cfg && strcmp(srv->cfg->store, "postgresql") == 0;
}

/* ------------------------------------------------------------ notify out */

static int notify(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static int notify(const char *fmt, ...)
{
	char payload[NOTIFY_MAX];
	size_t n;
	va_list ap;

	if (!cluster_active())
		return 0;
	n = (size_t)snprintf(payload, sizeof(payload), "%s ", srv->cfg->node_name);
	va_start(ap, fmt);
	vsnprintf(payload + n, sizeof(payload) - n, fmt, ap);
	va_end(ap);
	return store_call(srv->store, notify, CLUSTER_CHANNEL, payload);
}

int cluster_notify_events(int64_t meeting_id, uint64_t offset)
{
	return notify("e %lld %llu", (long long)meeting_id, (unsigned long long)offset);
}

int cluster_notify_ban(int64_t meeting_id, int64_t user_id, const char *reason)
{
	return notify("b %lld %lld%s%.*s", (long long)meeting_id, (long long)user_id, reason ? " " : "",
		      PROTO_LOBBY_BAN_REASON_MAX, reason ? reason : "");
}

int cluster_notify_end(int64_t meeting_id)
{
	return notify("x %lld", (long long)meeting_id);
}

int cluster_notify_organiser(int64_t meeting_id, int64_t user_id)
{
	return notify("o %lld %lld", (long long)meeting_id, (long long)user_id);
}

int cluster_notify_signout(int64_t user_id)
{
	return notify("u %lld", (long long)user_id);
}

int cluster_notify_monitor(int64_t user_id)
{
	return notify("m %lld", (long long)user_id);
}

int cluster_notify_policy(const char *grp)
{
	return notify("p 0%s%s", grp ? " " : "", grp ? grp : "");
}

/* ------------------------------------------------------------ dispatch in */

/* The next space-separated number of *p (advanced past it). */
static bool next_i64(const char **p, int64_t *ret)
{
	char tok[24];
	size_t n = strcspn(*p, " ");
	uint64_t v;

	if (n == 0 || n >= sizeof(tok))
		return false;
	memcpy(tok, *p, n);
	tok[n] = '\0';
	*p += n + ((*p)[n] == ' ');
	if (parse_u64(tok, 0, INT64_MAX, &v) < 0)
		return false;
	*ret = (int64_t)v;
	return true;
}

/* The live lobby of meeting, caught up with the store; NULL when this node has none. */
static struct lobby *caught_up(int64_t meeting_id)
{
	struct lobby *l = lobby_find(meeting_id);

	if (l)
		lobby_catch_up(l);
	return l;
}

static void on_events(int64_t meeting_id, const char *rest)
{
	struct lobby *l = lobby_find(meeting_id);
	int64_t offset;

	if (!next_i64(&rest, &offset))
		return;
	/* our own commits were delivered at commit; a repeat or an old one is already here */
	if (l && (uint64_t)offset > l->offset)
		lobby_catch_up(l);
}

static void on_ban(int64_t meeting_id, const char *rest)
{
	struct lobby *l;
	int64_t user_id;

	if (!next_i64(&rest, &user_id) || !(l = caught_up(meeting_id)))
		return;
	meeting_close_banned(l, user_id, *rest ? rest : NULL);
}

static void on_end(int64_t meeting_id, const char *rest)
{
	struct lobby *l = caught_up(meeting_id);

	if (l)
		meeting_close_ended(l);
}

static void on_organiser(int64_t meeting_id, const char *rest)
{
	struct lobby *l;
	int64_t user_id;

	if (!next_i64(&rest, &user_id) || !(l = caught_up(meeting_id)))
		return;
	for (size_t i = 0; i < l->n; i++)
		if (l->conns[i]->user_id == user_id)
			l->conns[i]->organiser = true;
}

static void on_monitor(int64_t user_id, const char *rest)
{
	monitor_refresh(user_id);
}

static void on_policy(int64_t unused, const char *rest)
{
	ws_agent_policy_changed(*rest ? rest : NULL);
}

static void on_signout(int64_t user_id, const char *rest)
{
	lobby_close_user_everywhere(user_id, PROTO_LOBBY_CLOSE_SIGNED_OUT, "signed out");
}

static void dispatch(const char *payload)
{
	static const struct {
		char kind;
		void (*fn)(int64_t id, const char *rest);
	} kinds[] = { { 'e', on_events }, { 'b', on_ban }, { 'x', on_end }, { 'o', on_organiser },
		      { 'm', on_monitor }, { 'u', on_signout }, { 'p', on_policy } };
	size_t nl = strcspn(payload, " ");
	const char *p = payload + nl;
	int64_t id;
	char kind;

	if (*p != ' ' || !p[1] || p[2] != ' ')
		goto bad;
	kind = p[1];
	p += 3;
	/* our own: delivered, closed or announced here already */
	if (nl == strlen(srv->cfg->node_name) && strncmp(payload, srv->cfg->node_name, nl) == 0)
		return;
	if (!next_i64(&p, &id))
		goto bad;
	for (size_t i = 0; i < ARRAY_SIZE(kinds); i++) {
		if (kinds[i].kind == kind) {
			kinds[i].fn(id, p);
			return;
		}
	}
bad:
	log_warn("cluster: ignoring a notification this node does not understand: '%.80s'", payload);
}

/* ------------------------------------------------------- LISTEN connection */

static void catch_up_one(struct lobby *l, void *ud)
{
	lobby_catch_up(l);
}

static void reconnect_later(void);

/* libpq prints the server's notices (a FATAL before it closes) on stderr: into the log instead, once */
static void on_notice(void *arg, const char *msg)
{
	log_debug("cluster: LISTEN connection: %.*s", (int)strcspn(msg, "\n"), msg);
}

/* Watch libpq's current socket in the lws loop (lws closes the dup it adopts, libpq its own). */
static int adopt(void)
{
	struct lws_vhost *vh = lws_get_vhost_by_name(srv->ctx, "sphinx");
	lws_sock_file_fd_type fd;
	struct lws *wsi;

	cl.sock = PQsocket(cl.conn);
	fd.filefd = cl.sock >= 0 ? fcntl(cl.sock, F_DUPFD_CLOEXEC, 3) : -1;
	if (fd.filefd < 0 || !vh) {
		if (fd.filefd >= 0)
			close(fd.filefd);
		return -EIO;
	}
	wsi = lws_adopt_descriptor_vhost(vh, LWS_ADOPT_RAW_FILE_DESC, fd, CLUSTER_PROTOCOL, NULL);
	if (!wsi) {
		close(fd.filefd);
		return -EIO;
	}
	cl.wsi = wsi;	/* an earlier wsi (libpq moved to another address) closes unnoticed */
	return 0;
}

static void listen_failed(const char *what)
{
	if (!cl.backoff_ms || cl.backoff_ms == BACKOFF_MAX_MS)
		log_warn("cluster: LISTEN connection: %s: %.*s; retrying", what,
			 cl.conn ? (int)strcspn(PQerrorMessage(cl.conn), "\n") : 13,
			 cl.conn ? PQerrorMessage(cl.conn) : "out of memory");
}

/*
 * Start connecting without waiting (PQconnectStartParams): the socket is
 * adopted at once and each readiness the connection asks for drives
 * PQconnectPoll from the loop (step()).
 */
static int listen_connect(void)
{
	static const char *const keys[] = { "connect_timeout", "application_name", "dbname", NULL };
	char app[80];
	const char *const vals[] = { "5", app, srv->cfg->postgresql, NULL };

	/* pg_stat_activity names each node's LISTEN connection (PostgreSQL keeps 63 bytes) */
	snprintf(app, sizeof(app), "sphinx-listen %s", srv->cfg->node_name);
	cl.conn = PQconnectStartParams(keys, vals, 1);
	if (!cl.conn || PQstatus(cl.conn) == CONNECTION_BAD || adopt() < 0) {
		listen_failed("cannot connect");
		PQfinish(cl.conn);
		cl.conn = NULL;
		return -EIO;
	}
	PQsetNoticeProcessor(cl.conn, on_notice, NULL);
	cl.state = LISTEN_CONNECTING;
	/* libpq: start as if PQconnectPoll had asked for writability */
	lws_callback_on_writable(cl.wsi);
	return 0;
}

static void retry_cb(lws_sorted_usec_list_t *sul)
{
	if (cl.stopping || srv->stopping || cl.conn)
		return;
	if (listen_connect() < 0)
		reconnect_later();
}

static void reconnect_later(void)
{
	cl.backoff_ms = cl.backoff_ms ? cl.backoff_ms * 2 : BACKOFF_MIN_MS;
	if (cl.backoff_ms > BACKOFF_MAX_MS)
		cl.backoff_ms = BACKOFF_MAX_MS;
	lws_sul_schedule(srv->ctx, 0, &cl.retry, retry_cb, (lws_usec_t)cl.backoff_ms * LWS_US_PER_MS);
}

/* Dispatch every notification read so far. */
static void drain_notifies(void)
{
	PGnotify *n;

	while (cl.conn && (n = PQnotifies(cl.conn))) {
		dispatch(n->extra);
		PQfreemem(n);
	}
}

/* Connected: LISTEN, sent without waiting; its answer comes in step(). */
static int subscribe(void)
{
	if (PQsetnonblocking(cl.conn, 1) < 0 || !PQsendQuery(cl.conn, "LISTEN " CLUSTER_CHANNEL)) {
		listen_failed("LISTEN not sent");
		return -1;
	}
	cl.state = LISTEN_SUBSCRIBING;
	if (PQflush(cl.conn) == 1)
		lws_callback_on_writable(cl.wsi);
	return 0;
}

/*
 * LISTEN answered: up. Whatever was notified while the connection was down
 * is fetched now: every live lobby catches up, every account's monitor
 * state is reloaded.
 */
static int subscribed(void)
{
	PGresult *res;
	bool ok = true;

	while (!PQisBusy(cl.conn) && (res = PQgetResult(cl.conn))) {
		ok &= PQresultStatus(res) == PGRES_COMMAND_OK;
		PQclear(res);
	}
	if (PQisBusy(cl.conn))
		return 0;	/* more to come */
	if (!ok) {
		listen_failed("LISTEN refused");
		return -1;
	}
	cl.state = LISTEN_UP;
	cl.backoff_ms = 0;
	log_info("cluster: node '%s' listening for the other nodes (PostgreSQL channel '%s')", srv->cfg->node_name,
		 CLUSTER_CHANNEL);
	lobby_foreach(catch_up_one, NULL);
	monitor_refresh_all();
	drain_notifies();
	return 0;
}

/* The socket is readable (or writable, as asked): move the connection on. < 0: it is gone. */
static int step(bool writable)
{
	PostgresPollingStatusType st;

	switch (cl.state) {
	case LISTEN_CONNECTING:
		st = PQconnectPoll(cl.conn);
		if (st == PGRES_POLLING_FAILED) {
			listen_failed("cannot connect");
			return -1;
		}
		if (PQsocket(cl.conn) != cl.sock && adopt() < 0)
			return -1;	/* libpq moved on to the next address: watch its new socket */
		if (st == PGRES_POLLING_WRITING)
			lws_callback_on_writable(cl.wsi);
		return st == PGRES_POLLING_OK ? subscribe() : 0;
	case LISTEN_SUBSCRIBING:
		if (writable) {
			if (PQflush(cl.conn) == 1)
				lws_callback_on_writable(cl.wsi);
			return 0;
		}
		if (!PQconsumeInput(cl.conn))
			return -1;
		return subscribed();
	case LISTEN_UP:
		if (writable)
			return 0;
		if (!PQconsumeInput(cl.conn) || PQstatus(cl.conn) != CONNECTION_OK)
			return -1;
		drain_notifies();
		return 0;
	default:
		return -1;
	}
}

int cluster_lws_callback(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in, size_t len)
{
	switch (reason) {
	case LWS_CALLBACK_RAW_RX_FILE:
	case LWS_CALLBACK_RAW_WRITEABLE_FILE:
		if (wsi != cl.wsi)
			return -1;	/* a socket libpq left behind */
		if (cl.conn && step(reason == LWS_CALLBACK_RAW_WRITEABLE_FILE) == 0)
			return 0;
		if (cl.state == LISTEN_UP && !cl.stopping)
			log_warn("cluster: LISTEN connection lost: %.*s",
				 cl.conn ? (int)strcspn(PQerrorMessage(cl.conn), "\n") : 0,
				 cl.conn ? PQerrorMessage(cl.conn) : "");
		return -1;	/* lws closes the wsi: LWS_CALLBACK_RAW_CLOSE_FILE */
	case LWS_CALLBACK_RAW_CLOSE_FILE:
		if (wsi != cl.wsi)
			return 0;
		cl.wsi = NULL;
		cl.state = LISTEN_DOWN;
		PQfinish(cl.conn);
		cl.conn = NULL;
		if (!cl.stopping && !srv->stopping)
			reconnect_later();
		return 0;
	default:
		return 0;
	}
}

/* -------------------------------------------------------- nodes: liveness */

/* A node silent for this long is dead: the agents' silence window (ws_agent.c). */
static int64_t dead_after_ms(void)
{
	int64_t hb = (int64_t)srv->cfg->agent_heartbeat_ms / 1000 ?: 1;

	return hb * 1000 * (int64_t)srv->cfg->agent_missed_heartbeats + 500;
}

/*
 * Release what node `name` held (its rows in the store) and announce the
 * accounts no longer monitored, in the caller's transaction.
 */
static int release(struct outbox *ob, const char *name, const char *reason, int64_t at, int *ret_closed)
{
	struct id_list users = { 0 };
	int r = store_call(srv->store, node_release, name, reason, at, &users);

	if (r >= 0 && ret_closed)
		*ret_closed = r;
	if (r >= 0)
		r = monitor_settle_released(ob, users.v, users.n, reason, name);
	id_list_free(&users);
	return r;
}

/* Claim the dead nodes one by one, each in its own transaction. */
static void sweep(void)
{
	for (int i = 0; i < 16; i++) {
		_cleanup_free_ char *name = NULL;
		int64_t last = 0;
		struct outbox ob;
		int r;

		if (outbox_begin(&ob) < 0)
			return;
		r = store_call(srv->store, node_claim_dead, now_ms() - dead_after_ms(), &name, &last);
		if (r <= 0) {
			outbox_abort(&ob);
			return;
		}
		r = release(&ob, name, PROTO_LOBBY_UNMONITORED_SILENT, last, NULL);
		r = r == 0 ? outbox_commit(&ob) : (outbox_abort(&ob), r);
		if (r < 0) {
			log_err("cluster: node '%s' is dead but its machines and attendance were not released: %s",
				name, strerror(-r));
			return;
		}
		log_warn("cluster: node '%s' silent since %lld ms: its machines, monitor reports and attendance "
			 "rows were released", name, (long long)(now_ms() - last));
	}
}

static void heartbeat_cb(lws_sorted_usec_list_t *sul)
{
	int r = store_call(srv->store, node_heartbeat, now_ms());

	if (r < 0) {
		log_debug("cluster: heartbeat not stored: %s", strerror(-r));
	} else {
		if (r > 0) {
			/* stalled past the silence window: another node released our rows; write them again */
			log_warn("cluster: node '%s' was taken for dead (no heartbeat for the silence window): "
				 "reporting its agents' machines and accounts again", srv->cfg->node_name);
			monitor_reassert();
		}
		sweep();
	}
	if (!cl.stopping && !srv->stopping)
		lws_sul_schedule(srv->ctx, 0, &cl.heartbeat, heartbeat_cb,
				 (lws_usec_t)CLUSTER_HEARTBEAT_MS * LWS_US_PER_MS);
}

/* ------------------------------------------------------------ life cycle */

int cluster_recover(void)
{
	int64_t now = now_ms(), last = 0;
	struct outbox ob;
	int r, closed = 0;

	if (!cluster_active())
		return 0;
	r = store_call(srv->store, node_hello, srv->cfg->node_name, now, &last);
	if (r < 0)
		return r;
	if ((r = outbox_begin(&ob)) < 0)
		return r;
	/* rows an earlier run left end at its last heartbeat (now when it left none) */
	r = release(&ob, srv->cfg->node_name, PROTO_LOBBY_UNMONITORED_DISCONNECTED, last ? last : now, &closed);
	r = r == 0 ? outbox_commit(&ob) : (outbox_abort(&ob), r);
	if (r < 0)
		return r;
	/* the same words as one node's recovery (main.c) */
	if (closed > 0)
		log_warn("recovery: closed %d attendance row(s) left open by an unclean stop", closed);
	log_info("cluster: node '%s' joined (its own earlier rows released)", srv->cfg->node_name);
	return 0;
}

int cluster_start(void)
{
	if (!cluster_active())
		return 0;
	cl.stopping = false;
	if (listen_connect() < 0)
		reconnect_later();
	lws_sul_schedule(srv->ctx, 0, &cl.heartbeat, heartbeat_cb, (lws_usec_t)CLUSTER_HEARTBEAT_MS * LWS_US_PER_MS);
	return 0;
}

void cluster_stop(void)
{
	if (!cluster_active())
		return;
	struct outbox ob;
	int r;

	cl.stopping = true;
	if ((r = outbox_begin(&ob)) == 0) {
		r = release(&ob, srv->cfg->node_name, PROTO_LOBBY_UNMONITORED_DISCONNECTED, now_ms(), NULL);
		r = r == 0 ? outbox_commit(&ob) : (outbox_abort(&ob), r);
	}
	if (r < 0)
		log_err("cluster: node '%s' stopping: its rows were not released (%s): another node will, once it "
			"is silent", srv->cfg->node_name, strerror(-r));
	if (srv->ctx) {
		lws_sul_cancel(&cl.heartbeat);
		lws_sul_cancel(&cl.retry);
	}
	if (!cl.wsi) {
		PQfinish(cl.conn);
		cl.conn = NULL;
	}
	/* else the context's destruction closes the wsi, and LWS_CALLBACK_RAW_CLOSE_FILE the connection */
}
