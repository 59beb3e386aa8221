// SPDX-License-Identifier: GPL-2.0-only
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <libwebsockets.h>

#include "broadcast.h"
#include "log.h"
#include "proto_agent.h"
#include "proto_lobby.h"
#include "server.h"

struct msg *msg_new(const char *s, size_t len)
{
	struct msg *m = malloc(sizeof(*m) + LWS_PRE + len + 1);

	if (!m)
		return NULL;
	m->refs = 1;
	m->len = (uint32_t)len;
	memcpy(m->buf + LWS_PRE, s, len);
	m->buf[LWS_PRE + len] = '\0';
	return m;
}

struct msg *msg_from_json(json_t *json)
{
	size_t n = json_dumpb(json, NULL, 0, JSON_COMPACT);
	struct msg *m;

	if (n == 0)
		return NULL;
	m = malloc(sizeof(*m) + LWS_PRE + n + 1);
	if (!m)
		return NULL;
	m->refs = 1;
	m->len = (uint32_t)json_dumpb(json, (char *)m->buf + LWS_PRE, n, JSON_COMPACT);
	m->buf[LWS_PRE + m->len] = '\0';
	return m;
}

void msg_ref(struct msg *m) { m->refs++; }

void msg_unref(struct msg *m)
{
	if (m && --m->refs == 0)
		free(m);
}

/* Seconds a closing connection has to take its close frame before it is cut. */
#define CLOSE_GRACE_S 2

static void request_write(struct conn *c)
{
	if (c->wsi)
		lws_callback_on_writable(c->wsi);
}

/*
 * A settled socket (it has had a WRITEABLE callback, so its handshake is
 * out) with nothing queued and nothing buffered in lws takes the message
 * at once. Asking for WRITEABLE instead costs a POLLOUT round trip per
 * recipient — two epoll changes and a wake-up — which is most of what a
 * broadcast to 10 000 sockets costs. A short send is buffered by lws and
 * finished from its own WRITEABLE; a failed one means the socket is gone.
 */
static bool write_now(struct conn *c, struct msg *m)
{
	if (!c->wsi || !c->settled || c->qlen || c->closing || lws_partial_buffered(c->wsi))
		return false;
	if (lws_write(c->wsi, m->buf + LWS_PRE, m->len, LWS_WRITE_TEXT) < (int)m->len) {
		c->closing = c->close_sent = true;
		lws_set_timeout(c->wsi, PENDING_TIMEOUT_USER_OK, LWS_TO_KILL_ASYNC);
	}
	return true;
}

int conn_send(struct conn *c, struct msg *m)
{
	if (!m || c->closing)
		return -EPIPE;
	if (write_now(c, m))
		return 0;
	if (c->qlen >= srv->cfg->ws_queue_max || c->qbytes + m->len > srv->cfg->ws_queue_bytes) {
		log_warn("ws: closing a client too slow to read (%u queued messages, %zu bytes)", c->qlen, c->qbytes);
		conn_release(c);
		conn_close(c, PROTO_WS_CLOSE_TOO_SLOW, "too slow: send queue full");
		return -ENOBUFS;
	}
	if (c->qlen == c->qcap) {
		uint32_t ncap = c->qcap ? c->qcap * 2 : 4;
		struct msg **nq = malloc(ncap * sizeof(*nq));
		if (!nq)
			return -ENOMEM;
		for (uint32_t i = 0; i < c->qlen; i++)
			nq[i] = c->q[(c->qhead + i) % c->qcap];
		free(c->q);
		c->q = nq;
		c->qcap = ncap;
		c->qhead = 0;
	}
	c->q[(c->qhead + c->qlen) % c->qcap] = m;
	c->qlen++;
	c->qbytes += m->len;
	msg_ref(m);
	request_write(c);
	return 0;
}

int conn_send_json(struct conn *c, json_t *json)
{
	struct msg *m = json ? msg_from_json(json) : NULL;
	int r;

	json_decref(json);
	if (!m)
		return -ENOMEM;
	r = conn_send(c, m);
	msg_unref(m);
	return r;
}

int conn_error(struct conn *c, const char *code, const char *message)
{
	int v = c->kind == CONN_AGENT ? PROTO_AGENT_VERSION : PROTO_LOBBY_VERSION;

	return conn_send_json(c, json_pack("{s:s, s:i, s:s, s:s}", PROTO_WS_F_TYPE, PROTO_WS_MSG_ERROR,
					   PROTO_WS_F_VERSION, v, "code", code, "message", message));
}

void conn_close(struct conn *c, uint16_t code, const char *reason)
{
	if (c->closing)
		return;
	c->close_code = code;
	c->close_reason = reason;
	c->closing = true;
	request_write(c);
	/*
	 * The close frame goes out from WRITEABLE, which a peer that never
	 * reads (the usual reason for 4008) never lets come: without a
	 * deadline the socket, its fd and its user's presence would stay.
	 */
	if (c->wsi)
		lws_set_timeout(c->wsi, PENDING_TIMEOUT_CLOSE_SEND, CLOSE_GRACE_S);
}

int conn_writeable(struct conn *c)
{
	c->settled = true;
	if (c->qlen) {
		struct msg *m = c->q[c->qhead];
		int n, len = (int)m->len;

		c->qhead = (c->qhead + 1) % c->qcap;
		c->qlen--;
		c->qbytes -= m->len;
		n = c->wsi ? lws_write(c->wsi, m->buf + LWS_PRE, (size_t)len, LWS_WRITE_TEXT) : len;
		msg_unref(m);
		if (n < len)
			return -1;	/* lws buffers partial sends itself; less means the socket failed */
		if (c->qlen || c->closing) {
			request_write(c);
		} else {
			/* an idle socket keeps no queue storage */
			free(c->q);
			c->q = NULL;
			c->qcap = c->qhead = 0;
		}
		return 0;
	}
	if (c->closing && !c->close_sent) {
		/*
		 * Once: lws then sends the close frame and waits for the peer's
		 * ack. Returning -1 again on a later WRITEABLE would kill the
		 * socket with unread data in it, and the peer would get a RST
		 * instead of our close code.
		 */
		c->close_sent = true;
		if (c->wsi)
			lws_close_reason(c->wsi, (enum lws_close_status)c->close_code,
					 (unsigned char *)c->close_reason, strlen(c->close_reason));
		return -1;
	}
	return 0;
}

void conn_release(struct conn *c)
{
	while (c->qlen) {
		msg_unref(c->q[c->qhead]);
		c->qhead = (c->qhead + 1) % c->qcap;
		c->qlen--;
	}
	c->qbytes = 0;
	free(c->q);
	c->q = NULL;
	c->qcap = c->qhead = 0;
}
