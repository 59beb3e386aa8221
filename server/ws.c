// SPDX-License-Identifier: GPL-2.0-only
#include <errno.h>
#include <string.h>
#include <libwebsockets.h>

#include "broadcast.h"
#include "cluster.h"
#include "code_guard.h"
#include "conn.h"
#include "conn_quota.h"
#include "csrf.h"
#include "drain.h"
#include "http.h"
#include "log.h"
#include "meeting_code.h"
#include "peer_limit.h"
#include "proto_agent.h"
#include "proto_lobby.h"
#include "proto_ws.h"
#include "server.h"
#include "util.h"
#include "web_session.h"
#include "worker.h"
#include "ws.h"
#include "ws_agent.h"
#include "ws_lobby.h"

struct upgrade {
	enum conn_kind kind;
	int64_t user_id;
	int64_t machine_id;
	char machine[64];
	char code[MEETING_CODE_SIZE];
	int64_t since;
	int64_t session_expires_at;	/* lobby: when its session ends (ms) */
	struct lobby_access access;	/* lobby: what the join needs of its meeting and user, owned (upgrade_clear) */
};

static void upgrade_clear(struct upgrade *u)
{
	meeting_clear(&u->access.meeting);
	user_clear(&u->access.user);
}

struct pss {
	struct http_req *req;
	struct conn *conn;
};

/*
 * What authorize() decided at LWS_CALLBACK_HTTP_CONFIRM_UPGRADE, kept for
 * the LWS_CALLBACK_ESTABLISHED of the same wsi, which lws calls right after
 * it in the same dispatch (lws_process_ws_upgrade): an upgrade is then
 * authorized once, not twice (its session, rate buckets and meeting code
 * are store round trips), and a lobby join gets the rows it read. The
 * per-session data does not exist yet at CONFIRM_UPGRADE, hence one slot
 * for the one upgrade in flight; another wsi, or a wsi destroyed without
 * being established, empties it, and ESTABLISHED without it authorizes
 * again.
 */
static struct {
	struct lws *wsi;
	struct upgrade u;
} confirmed;

/* Rate-limit strikes before the connection is closed (1008). */
#define MAX_STRIKES 50

/* every open connection, newest first (ws_drain walks it) */
static struct conn *all;

static void all_add(struct conn *c)
{
	c->all_next = all;
	if (all)
		all->all_prev = c;
	all = c;
}

static void all_remove(struct conn *c)
{
	if (c->all_prev)
		c->all_prev->all_next = c->all_next;
	else if (all == c)
		all = c->all_next;
	if (c->all_next)
		c->all_next->all_prev = c->all_prev;
	c->all_prev = c->all_next = NULL;
}

size_t ws_drain(void)
{
	size_t n = 0;

	/* conn_close only marks and asks for WRITEABLE: nothing leaves the list here */
	for (struct conn *c = all; c; c = c->all_next) {
		if (c->kind == CONN_LOBBY)
			conn_close(c, PROTO_LOBBY_CLOSE_DRAIN, "node draining: reconnect");
		else if (c->kind == CONN_AGENT)
			conn_close(c, PROTO_AGENT_CLOSE_DRAIN, "node draining: reconnect");
		else
			continue;
		n++;
	}
	return n;
}

/*
 * The lobby's code names a meeting: answered before the upgrade, and an
 * unknown code counts as a guess (code_guard.h) like one sent to the API.
 * The same read gives the join (ws_lobby_open) the meeting, the user and
 * the user's standing in it, kept in u->access.
 */
static unsigned lobby_code_known(struct lws *wsi, struct upgrade *u, const char **why)
{
	char addr[64] = "";
	int64_t now = now_ms();

	http_wsi_peer_address(wsi, addr, sizeof(addr));	/* the client behind a trusted proxy */
	if (code_guard_wait(u->user_id, addr, now) > 0) {
		*why = "lobby: too many unknown meeting codes; wait before trying another";
		return 429;
	}
	if (store_call(srv->store, lobby_access, u->code, u->user_id, &u->access) < 0) {
		code_guard_miss(u->user_id, addr, now);
		*why = "lobby: no meeting has this code";
		return 404;
	}
	return 0;
}

/* Decide whether an upgrade may proceed. 0 (*u filled, see upgrade_clear), or an HTTP status with *why. */
static unsigned authorize_(struct lws *wsi, struct upgrade *u, const char **why)
{
	char uri[128], auth[256], tok_hash[65], arg[64];
	struct web_session_info s;
	char *name = NULL;
	unsigned st;
	int r;

	memset(u, 0, sizeof(*u));
	u->since = -1;
	if (drain_active()) {
		/* the balancer retries this on another node (server/deploy/haproxy.cfg: retry-on 503) */
		drain_refused();
		*why = "this node is draining: connect again (through the balancer)";
		return 503;
	}
	if (lws_hdr_copy(wsi, uri, sizeof(uri), WSI_TOKEN_GET_URI) <= 0) {
		*why = "bad request";
		return 400;
	}
	if (strcmp(uri, "/agent") == 0) {
		st = conn_quota_check(0, why);
		if (st) {
			log_warn("agent: connection refused: %s", *why);
			return st;
		}
		u->kind = CONN_AGENT;
		if (lws_hdr_copy(wsi, auth, sizeof(auth), WSI_TOKEN_HTTP_AUTHORIZATION) <= 0 ||
		    !str_has_prefix(auth, "Bearer ") || strlen(auth) < 7 + 16) {
			*why = "agent: missing Authorization: Bearer <enrollment token>";
			log_warn("agent: connection refused: no enrollment token");
			return 401;
		}
		web_session_hash(auth + 7, tok_hash);
		r = store_call(srv->store, machine_by_token, tok_hash, &u->machine_id, &name);
		if (r < 0 && r != -ENOENT) {
			*why = "agent: the database is unavailable; try again shortly";	/* the token may be fine */
			return 503;
		}
		if (r < 0) {
			*why = "agent: unknown or revoked enrollment token";
			log_warn("agent: connection refused: unknown or revoked enrollment token");
			return 401;
		}
		snprintf(u->machine, sizeof(u->machine), "%s", name);
		free(name);
		return 0;
	}
	if (str_has_prefix(uri, "/lobby/")) {
		u->kind = CONN_LOBBY;
		if (!meeting_code_normalize(uri + 7, u->code)) {
			*why = "lobby: no meeting code in the path (/lobby/abc-defg-hij)";
			return 404;
		}
		if ((*why = csrf_check_origin(wsi, false))) {
			log_warn("lobby: upgrade refused: %s", *why);
			return 403;
		}
		if ((r = web_session_from_request(wsi, &s)) < 0 && r != -ENOENT) {
			*why = "lobby: the database is unavailable; try again shortly";
			return 503;
		}
		if (r < 0) {
			*why = "lobby: sign in first (no valid session cookie)";
			log_info("lobby: upgrade refused: no valid session");
			return 401;
		}
		u->user_id = s.user_id;
		u->session_expires_at = s.expires_at;
		if ((st = lobby_code_known(wsi, u, why)))
			return st;
		st = conn_quota_check(u->user_id, why);
		if (st) {
			log_warn("lobby: upgrade of user %lld refused: %s", (long long)u->user_id, *why);
			return st;
		}
		for (int i = 0; i < 8; i++) {
			uint64_t v;
			int n = lws_hdr_copy_fragment(wsi, arg, sizeof(arg), WSI_TOKEN_HTTP_URI_ARGS, i);
			if (n < 0)
				break;
			if (str_has_prefix(arg, "since=") && parse_u64(arg + 6, 0, INT64_MAX, &v) == 0)
				u->since = (int64_t)v;
		}
		return 0;
	}
	*why = "no WebSocket endpoint here (use /lobby/<code> or /agent)";
	return 404;
}

static unsigned authorize(struct lws *wsi, struct upgrade *u, const char **why)
{
	unsigned st = authorize_(wsi, u, why);

	if (st)
		upgrade_clear(u);
	return st;
}

static int established(struct lws *wsi, struct pss *pss)
{
	struct upgrade u;
	const char *why = NULL;
	struct conn *c;

	if (confirmed.wsi == wsi) {
		u = confirmed.u;
		confirmed.wsi = NULL;
	} else if (authorize(wsi, &u, &why)) {
		lws_close_reason(wsi, LWS_CLOSE_STATUS_POLICY_VIOLATION, (unsigned char *)why, strlen(why));
		return -1;
	}
	c = calloc(1, sizeof(*c));
	if (!c || conn_quota_add(u.kind == CONN_LOBBY ? u.user_id : 0) < 0) {
		free(c);
		upgrade_clear(&u);
		return -1;
	}
	c->wsi = wsi;
	c->quota_user = u.kind == CONN_LOBBY ? u.user_id : 0;
	pss->conn = c;
	all_add(c);
	srv->connections++;
	if (u.kind == CONN_AGENT)
		return ws_agent_open(c, u.machine_id, u.machine);
	c->user_id = u.user_id;
	/* a lobby socket lives no longer than the session that opened it (LWS_CALLBACK_TIMER) */
	int64_t left = u.session_expires_at - now_ms();
	lws_set_timer_usecs(wsi, (lws_usec_t)(left > 0 ? left : 1) * LWS_US_PER_MS);
	return ws_lobby_open(c, u.code, u.since, &u.access);	/* which takes u.access */
}

int ws_dispatch(struct conn *c, const char *buf, size_t len)
{
	if (c->kind == CONN_AGENT)
		return ws_agent_rx(c, buf, len);
	if (c->kind == CONN_LOBBY)
		return ws_lobby_rx(c, buf, len);
	return 0;
}

/* Token bucket of ws_burst messages, refilled at ws_rate a second: true when one more is allowed now. */
static bool rate_ok(struct conn *c, int64_t now)
{
	double per_s = (double)srv->cfg->ws_rate, burst = (double)srv->cfg->ws_burst;

	if (c->refill_ms == 0) {
		c->tokens = burst;
		c->refill_ms = now;
	}
	c->tokens += (double)(now - c->refill_ms) * per_s / 1000.0;
	if (c->tokens > burst)
		c->tokens = burst;
	c->refill_ms = now;
	if (c->tokens < 1.0)
		return false;
	c->tokens -= 1.0;
	return true;
}

static int message(struct conn *c, const char *buf, size_t len)
{
	if (!rate_ok(c, now_ms())) {
		if (++c->rate_strikes > MAX_STRIKES) {
			log_warn("ws: closing a client over the message rate limit");
			conn_close(c, LWS_CLOSE_STATUS_POLICY_VIOLATION, "message rate limit exceeded");
		} else if (c->rate_strikes == 1) {
			conn_error(c, PROTO_WS_ERR_RATE_LIMITED, "too many messages; slow down");
		}
		return 0;
	}
	c->rate_strikes = 0;
	return ws_dispatch(c, buf, len);
}

/* Drop the message being reassembled, if any: idle sockets keep no receive buffer. */
static void rx_drop(struct conn *c)
{
	free(c->rx);
	c->rx = NULL;
	c->rx_len = 0;
}

static int receive(struct lws *wsi, struct conn *c, const char *in, size_t len)
{
	size_t remaining = lws_remaining_packet_payload(wsi);
	size_t max = srv->cfg->ws_max_message;
	bool final = lws_is_final_fragment(wsi);

	if (!c)
		return -1;
	/*
	 * A refused message is drained, not answered by hanging up at once:
	 * closing with unread data makes the kernel send RST and the client
	 * would never see our close code.
	 */
	if (c->closing)
		return 0;
	if (lws_frame_is_binary(wsi)) {
		conn_release(c);
		rx_drop(c);
		conn_close(c, LWS_CLOSE_STATUS_UNACCEPTABLE_OPCODE, "text frames only");
		return 0;
	}
	if (c->rx_len + len + remaining > max) {
		log_warn("ws: closing a client that sent a message over %zu bytes", max);
		conn_release(c);
		rx_drop(c);
		conn_close(c, LWS_CLOSE_STATUS_MESSAGE_TOO_LARGE, "message over 64 KiB");
		return 0;
	}
	if (final && c->rx_len == 0)
		return message(c, in, len);	/* whole message in one chunk: no copy */
	if (!c->rx) {
		c->rx = malloc(max + 1);
		if (!c->rx)
			return -1;
	}
	memcpy(c->rx + c->rx_len, in, len);
	c->rx_len += len;
	if (!final)
		return 0;
	int r = message(c, c->rx, c->rx_len);
	rx_drop(c);
	return r;
}

/*
 * RFC 6455 5.2: only version 13 exists. Anything else gets 426 with the
 * version we speak, before any of the upgrade is looked at. 0 when the
 * version is right, 1 when the refusal was written (the caller hangs up).
 */
static int check_version(struct lws *wsi)
{
	unsigned char buf[LWS_PRE + 512], *start = buf + LWS_PRE, *p = start, *end = buf + sizeof(buf) - 1;
	static const char body[] = "WebSocket version not supported: use 13\n";
	char v[16] = "";

	if (lws_hdr_copy(wsi, v, sizeof(v), WSI_TOKEN_VERSION) > 0 && strcmp(v, "13") == 0)
		return 0;
	log_info("ws: upgrade refused with 426: Sec-WebSocket-Version is not 13");
	if (lws_add_http_header_status(wsi, 426, &p, end) ||
	    lws_add_http_header_by_name(
		    wsi, (const unsigned char *)"sec-websocket-version:", (const unsigned char *)"13", 2, &p, end) ||
	    lws_add_http_header_by_token(wsi, WSI_TOKEN_HTTP_CONTENT_TYPE, (const unsigned char *)"text/plain", 10, &p,
					 end) ||
	    lws_add_http_header_content_length(wsi, sizeof(body) - 1, &p, end) ||
	    lws_add_http_header_by_token(wsi, WSI_TOKEN_CONNECTION, (const unsigned char *)"close", 5, &p, end) ||
	    lws_finalize_http_header(wsi, &p, end) || p + sizeof(body) > end)
		return 1;
	memcpy(p, body, sizeof(body) - 1);
	p += sizeof(body) - 1;
	lws_write(wsi, start, (size_t)(p - start), LWS_WRITE_HTTP_HEADERS);
	return 1;
}

/*
 * The client's close frame. lws 4.1 already answers codes below 1000, the
 * reserved 1004-1006, 1012-1015 and 1016-2999 with 1002 (it rewrites the
 * code in the buffer it then echoes); codes from 5000 up and a one-byte
 * payload (RFC 6455 5.5.1: a body starts with a two-byte code) it would
 * echo as they came. Rewrite the first in place; refuse the second.
 */
static int peer_close(struct lws *wsi, unsigned char *in, size_t len)
{
	if (len == 1) {
		lws_close_reason(wsi, LWS_CLOSE_STATUS_PROTOCOL_ERR, (unsigned char *)"bad close frame", 15);
		return -1;
	}
	if (len >= 2 && ((unsigned)in[0] << 8 | in[1]) >= 5000) {
		in[0] = (LWS_CLOSE_STATUS_PROTOCOL_ERR >> 8) & 0xff;
		in[1] = LWS_CLOSE_STATUS_PROTOCOL_ERR & 0xff;
	}
	return 0;
}

static void closed(struct pss *pss)
{
	struct conn *c = pss->conn;

	if (!c)
		return;
	pss->conn = NULL;
	all_remove(c);
	if (c->kind == CONN_LOBBY)
		ws_lobby_closed(c);
	else if (c->kind == CONN_AGENT)
		ws_agent_closed(c);
	conn_release(c);
	rx_drop(c);
	conn_quota_remove(c->quota_user);
	free(c);
	srv->connections--;
}

static int callback(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in, size_t len)
{
	struct pss *pss = user;
	struct upgrade u;
	const char *why = NULL;
	unsigned status;

	switch (reason) {
	case LWS_CALLBACK_FILTER_NETWORK_CONNECTION:
		return peer_limit_accept((int)(lws_intptr_t)in) < 0;
	case LWS_CALLBACK_WSI_CREATE:
		peer_limit_created(wsi);
		break;
	case LWS_CALLBACK_SERVER_NEW_CLIENT_INSTANTIATED:
		peer_limit_instantiated(wsi);
		break;
	case LWS_CALLBACK_WSI_DESTROY:
		if (confirmed.wsi == wsi) {
			upgrade_clear(&confirmed.u);
			confirmed.wsi = NULL;	/* never established: a later wsi may get its address */
		}
		peer_limit_done(wsi);
		break;
	case LWS_CALLBACK_HTTP:
		peer_limit_done(wsi);
		return http_on_request(wsi, &pss->req, in);
	case LWS_CALLBACK_HTTP_BODY:
		return pss ? http_on_body(wsi, pss->req, in, len) : 0;
	case LWS_CALLBACK_HTTP_BODY_COMPLETION:
		return pss ? http_on_body_done(wsi, pss->req) : 0;
	case LWS_CALLBACK_HTTP_WRITEABLE:
		return pss ? http_on_writeable(wsi, pss->req) : 0;
	case LWS_CALLBACK_HTTP_FILE_COMPLETION:
		return lws_http_transaction_completed(wsi) ? -1 : 0;
	case LWS_CALLBACK_CLOSED_HTTP:
	case LWS_CALLBACK_HTTP_DROP_PROTOCOL:
		if (pss) {
			http_req_free(pss->req);
			pss->req = NULL;
		}
		break;
	case LWS_CALLBACK_HTTP_CONFIRM_UPGRADE:
		peer_limit_done(wsi);
		if (!in || strcmp(in, "websocket"))
			return 0;
		if (check_version(wsi))
			return 1;
		if ((why = csrf_check_fetch_site(wsi))) {
			log_warn("ws: upgrade refused: %s", why);
			lws_return_http_status(wsi, 403, why);
			return 1;
		}
		status = authorize(wsi, &u, &why);
		if (!status) {
			if (confirmed.wsi)
				upgrade_clear(&confirmed.u);
			confirmed.wsi = wsi;
			confirmed.u = u;
			return 0;
		}
		lws_return_http_status(wsi, status, why);
		return 1;
	case LWS_CALLBACK_ESTABLISHED:
		return established(wsi, pss);
	case LWS_CALLBACK_RECEIVE:
		return receive(wsi, pss->conn, in, len);
	case LWS_CALLBACK_WS_PEER_INITIATED_CLOSE:
		return peer_close(wsi, in, len);
	case LWS_CALLBACK_SERVER_WRITEABLE:
		return pss->conn ? conn_writeable(pss->conn) : 0;
	case LWS_CALLBACK_TIMER:
		if (pss->conn && pss->conn->kind == CONN_LOBBY) {
			log_info("lobby: session of user %lld expired (session_max): closing its socket",
				 (long long)pss->conn->user_id);
			conn_close(pss->conn, PROTO_LOBBY_CLOSE_SIGNED_OUT, "session expired");
		}
		break;
	case LWS_CALLBACK_CLOSED:
		closed(pss);
		break;
	case LWS_CALLBACK_EVENT_WAIT_CANCELLED:
		worker_poll();
		server_check_stop();
		break;
	default:
		break;
	}
	return lws_callback_http_dummy(wsi, reason, user, in, len);
}

struct lws_protocols ws_protocols[] = {
	{ .name = "sphinx", .callback = callback, .per_session_data_size = sizeof(struct pss), .rx_buffer_size = 512 },
	{ .name = CLUSTER_PROTOCOL, .callback = cluster_lws_callback },	/* the adopted LISTEN socket */
	{ NULL, NULL, 0, 0, 0, NULL, 0 },
};
