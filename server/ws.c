// SPDX-License-Identifier: GPL-2.0-only
#include <errno.h>
#include <string.h>
#include <libwebsockets.h>

#include "broadcast.h"
#include "csrf.h"
#include "http.h"
#include "log.h"
#include "server.h"
#include "session.h"
#include "util.h"
#include "worker.h"
#include "ws.h"
#include "ws_agent.h"
#include "ws_lobby.h"

struct pss {
	struct http_req *req;
	struct conn *conn;
};

struct upgrade {
	enum conn_kind kind;
	int64_t user_id;
	int64_t machine_id;
	char machine[64];
	char code[8];
	int64_t since;
};

/* Rate-limit strikes before the connection is closed (1008). */
#define MAX_STRIKES 50

static bool is_code(const char *s)
{
	if (strlen(s) != 6)
		return false;
	for (int i = 0; i < 6; i++)
		if (s[i] < '0' || s[i] > '9')
			return false;
	return true;
}

/* Decide whether an upgrade may proceed. 0, or an HTTP status with *why. */
static unsigned authorize(struct lws *wsi, struct upgrade *u, const char **why)
{
	char uri[128], auth[256], tok_hash[65], arg[64];
	struct session_info s;
	char *name = NULL;

	memset(u, 0, sizeof(*u));
	u->since = -1;
	if (lws_hdr_copy(wsi, uri, sizeof(uri), WSI_TOKEN_GET_URI) <= 0) {
		*why = "bad request";
		return 400;
	}
	if (srv->connections >= srv->cfg->max_connections) {
		*why = "server full";
		return 503;
	}
	if (strcmp(uri, "/agent") == 0) {
		u->kind = CONN_AGENT;
		if (lws_hdr_copy(wsi, auth, sizeof(auth), WSI_TOKEN_HTTP_AUTHORIZATION) <= 0 ||
		    !str_has_prefix(auth, "Bearer ") || strlen(auth) < 7 + 16) {
			*why = "agent: missing Authorization: Bearer <enrollment token>";
			log_warn("agent: connection refused: no enrollment token");
			return 401;
		}
		session_hash(auth + 7, tok_hash);
		if (store_call(srv->store, machine_by_token, tok_hash, &u->machine_id, &name) < 0) {
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
		if (!is_code(uri + 7)) {
			*why = "lobby: the meeting code is six digits";
			return 404;
		}
		memcpy(u->code, uri + 7, 7);
		if ((*why = csrf_check_origin(wsi, false))) {
			log_warn("lobby: upgrade refused: %s", *why);
			return 403;
		}
		if (session_from_request(wsi, &s) < 0) {
			*why = "lobby: sign in first (no valid session cookie)";
			log_info("lobby: upgrade refused: no valid session");
			return 401;
		}
		u->user_id = s.user_id;
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

static int established(struct lws *wsi, struct pss *pss)
{
	struct upgrade u;
	const char *why = NULL;
	struct conn *c;

	if (authorize(wsi, &u, &why)) {
		lws_close_reason(wsi, LWS_CLOSE_STATUS_POLICY_VIOLATION, (unsigned char *)why, strlen(why));
		return -1;
	}
	c = calloc(1, sizeof(*c));
	if (!c)
		return -1;
	c->wsi = wsi;
	pss->conn = c;
	srv->connections++;
	if (u.kind == CONN_AGENT) {
		c->agent = calloc(1, sizeof(*c->agent));
		if (!c->agent)
			return -1;
		c->agent->machine_id = u.machine_id;
		memcpy(c->agent->machine, u.machine, sizeof(c->agent->machine));
		return ws_agent_open(c);
	}
	c->user_id = u.user_id;
	return ws_lobby_open(c, u.code, u.since);
}

int ws_dispatch(struct conn *c, const char *buf, size_t len)
{
	if (c->kind == CONN_AGENT)
		return ws_agent_rx(c, buf, len);
	if (c->kind == CONN_LOBBY)
		return ws_lobby_rx(c, buf, len);
	return 0;
}

static int message(struct conn *c, const char *buf, size_t len)
{
	if (!conn_rate_ok(c, now_ms(), (double)srv->cfg->ws_rate, (double)srv->cfg->ws_burst)) {
		if (++c->rate_strikes > MAX_STRIKES) {
			log_warn("ws: closing a client over the message rate limit");
			conn_close(c, LWS_CLOSE_STATUS_POLICY_VIOLATION, "message rate limit exceeded");
		} else if (c->rate_strikes == 1) {
			conn_error(c, "rate_limited", "too many messages; slow down");
		}
		return 0;
	}
	c->rate_strikes = 0;
	return ws_dispatch(c, buf, len);
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
		conn_close(c, LWS_CLOSE_STATUS_UNACCEPTABLE_OPCODE, "text frames only");
		return 0;
	}
	if (c->rx_len + len + remaining > max) {
		log_warn("ws: closing a client that sent a message over %zu bytes", max);
		conn_release(c);
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
	/* idle sockets keep no receive buffer */
	free(c->rx);
	c->rx = NULL;
	c->rx_len = 0;
	return r;
}

static void closed(struct pss *pss)
{
	struct conn *c = pss->conn;

	if (!c)
		return;
	pss->conn = NULL;
	if (c->kind == CONN_LOBBY)
		ws_lobby_closed(c);
	else if (c->kind == CONN_AGENT)
		ws_agent_closed(c);
	conn_release(c);
	free(c->agent);
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
	case LWS_CALLBACK_HTTP:
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
		if (!in || strcmp(in, "websocket"))
			return 0;
		status = authorize(wsi, &u, &why);
		if (!status)
			return 0;
		lws_return_http_status(wsi, status, why);
		return 1;
	case LWS_CALLBACK_ESTABLISHED:
		return established(wsi, pss);
	case LWS_CALLBACK_RECEIVE:
		return receive(wsi, pss->conn, in, len);
	case LWS_CALLBACK_SERVER_WRITEABLE:
		return pss->conn ? conn_writeable(pss->conn) : 0;
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
	{ NULL, NULL, 0, 0, 0, NULL, 0 },
};
