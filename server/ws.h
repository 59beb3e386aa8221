/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The one libwebsockets protocol of the server. It receives every HTTP
 * transaction (handed to http.c) and every WebSocket upgrade, which it
 * routes by path: /lobby/<code> (session cookie, Origin checked) and
 * /agent (enrollment token). Upgrades without valid credentials are refused
 * with an HTTP status before the handshake completes. For established
 * sockets it enforces the transport rules: text frames only, messages
 * reassembled up to ws_max_message (close 1009 above), a per-connection
 * rate limit, one queued message written per WRITEABLE callback.
 *
 * Owns: each struct conn (conn.h), created at ESTABLISHED and freed at
 * CLOSED after the lobby or agent module let go of it, its transport
 * fields, and the list of every open connection (for ws_drain()). Called
 * by lws only, on the event-loop thread (main.c hands it ws_protocols[];
 * main.c's drain calls ws_drain()), and by the fuzz harness through
 * ws_dispatch().
 */
#ifndef SPHINX_WS_H
#define SPHINX_WS_H

#include <libwebsockets.h>

extern struct lws_protocols ws_protocols[];

/* Deliver one complete message to the connection's handler (fuzz harness too). */
struct conn;
int ws_dispatch(struct conn *c, const char *buf, size_t len);

/*
 * The node is draining (drain.h): close every lobby socket with
 * PROTO_LOBBY_CLOSE_DRAIN and every agent socket with PROTO_AGENT_CLOSE_DRAIN
 * (each takes its queued messages first), so their clients reconnect through
 * the balancer to another node. Upgrades are refused with 503 from now on
 * (drain_active()). Returns how many sockets were told.
 */
size_t ws_drain(void);

#endif
