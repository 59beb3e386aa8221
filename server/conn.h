/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * One WebSocket connection (a browser tab's lobby socket or a machine's
 * agent socket), as mosquitto's mosquitto_internal.h keeps its struct
 * mosquitto: one struct that several modules share, each field group
 * written by one module only, named beside it.
 *
 *   ws.c          creates and frees it (LWS_CALLBACK_ESTABLISHED / CLOSED),
 *                 owns the transport fields: wsi, kind, the receive buffer
 *                 and the message rate limiter;
 *   broadcast.c   owns the send queue and the close state (conn_send,
 *                 conn_close, conn_writeable);
 *   conn_quota.c  counts it under quota_user;
 *   ws_lobby.c    owns the lobby fields (lobby.c writes slot when it
 *                 attaches the socket to a lobby, and reads peer_next);
 *   ws_agent.c    owns the agent state behind the agent pointer: the type
 *                 is private to ws_agent.c, and the field stays NULL for
 *                 lobby sockets, so 10 000 of them stay small.
 *
 * Everything here runs on the lws service thread; nothing is locked.
 */
#ifndef SPHINX_CONN_H
#define SPHINX_CONN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct lws;
struct lobby;
struct msg;
struct agent_state;

enum conn_kind { CONN_NONE /* not opened yet */, CONN_LOBBY, CONN_AGENT };

struct conn {
	/* ws.c */
	struct lws *wsi;	/* NULL in the fuzz harness: sends only queue */
	enum conn_kind kind;
	char *rx;		/* a message reassembled from fragments, up to ws_max_message */
	size_t rx_len;
	double tokens;		/* message rate limit (token bucket, ws_rate / ws_burst) */
	int64_t refill_ms;
	uint32_t rate_strikes;	/* messages refused in a row */
	struct conn *all_prev, *all_next;	/* every open connection (ws_drain) */
	/* conn_quota.c */
	int64_t quota_user;	/* the lobby socket's account, 0 for agents */
	/* broadcast.c: send queue (a ring of shared message references) and close state */
	struct msg **q;
	uint32_t qhead, qlen, qcap;
	size_t qbytes;		/* sum of the queued messages' lengths */
	uint16_t close_code;
	const char *close_reason;	/* a string literal */
	bool closing;
	bool close_sent;
	bool settled;		/* had a WRITEABLE callback: may be written to outside one */
	/* ws_lobby.c (lobby sockets only) */
	int64_t user_id;
	int64_t meeting_id;
	struct lobby *lobby;
	size_t slot;		/* index in lobby->conns (lobby.c) */
	struct conn *peer_next;	/* next socket of the same user in the lobby (struct presence.conns) */
	bool organiser;
	bool joined;
	double sync_tokens;	/* sync requests allowed now (ws_lobby.c's sync_allowed) */
	int64_t sync_refill_ms;
	/* ws_agent.c (agent sockets only) */
	struct agent_state *agent;
};

#endif
