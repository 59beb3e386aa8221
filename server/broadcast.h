/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Outgoing WebSocket messages and per-connection send queues.
 *
 * A struct msg is serialized once (with LWS_PRE bytes of headroom) and
 * shared by reference between every connection it goes to: a broadcast to
 * N clients is one serialization, N pointer pushes and N writable requests
 * — O(1) per recipient, with no shared ring tail to walk. Each connection
 * drains its own queue, one lws_write() per WRITEABLE callback, and drops
 * its reference after the write. A connection whose queue reaches
 * ws_queue_max messages or ws_queue_bytes bytes is closed with 4008 "too
 * slow"; it never holds the others up. A shared message counts in full in
 * every queue it sits in (the bytes it would cost if that client alone held
 * it), so the cap bounds what one slow reader can pin, whoever else holds it.
 *
 * struct conn is the state of one WebSocket connection (lobby or agent);
 * it also carries the receive buffer (messages reassembled from fragments,
 * capped at ws_max_message) and a token-bucket rate limiter.
 */
#ifndef SPHINX_BROADCAST_H
#define SPHINX_BROADCAST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <jansson.h>
#include <libwebsockets.h>

struct lws;
struct lobby;

struct msg {
	uint32_t refs;
	uint32_t len;
	unsigned char buf[];	/* LWS_PRE headroom, then len bytes, then NUL */
};

enum conn_kind { CONN_NONE, CONN_LOBBY, CONN_AGENT };

struct conn {
	struct lws *wsi;	/* NULL in the fuzz harness: sends only queue */
	enum conn_kind kind;
	int64_t quota_user;	/* counted by conn_quota.c: the lobby socket's account, 0 for agents */
	/* send queue (ring of references) */
	struct msg **q;
	uint32_t qhead, qlen, qcap;
	size_t qbytes;		/* sum of the queued messages' lengths */
	uint16_t close_code;
	const char *close_reason;	/* a string literal */
	bool closing;
	bool close_sent;
	bool settled;		/* had a WRITEABLE callback: may be written to outside one (broadcast.c) */
	/* receive */
	char *rx;
	size_t rx_len;
	double tokens;
	int64_t refill_ms;
	uint32_t rate_strikes;
	/* lobby */
	int64_t user_id;
	int64_t meeting_id;
	struct lobby *lobby;
	size_t slot;		/* index in lobby->conns */
	struct conn *peer_next;	/* next socket of the same user in the lobby (struct presence.conns) */
	bool organiser;
	bool joined;
	double sync_tokens;	/* sync requests allowed now (lobby_sync_ok) */
	int64_t sync_refill_ms;
	/* agent connections only (lobby sockets stay small: 10 000 of them is normal) */
	struct agent_state *agent;
};

struct agent_state {
	int64_t machine_id;
	char machine[64];
	char boot_id[64];
	bool hello;
	bool online;		/* counted by presence.c: said hello, not silent, no goodbye */
	int64_t last_heartbeat;	/* last liveness write to the store */
	int64_t last_rx;	/* last message of any kind (the silence timer's reference) */
	int64_t *uids;		/* accounts this machine reports (presence.c owns it) */
	uint32_t nuids;
	struct conn *conn;
	lws_sorted_usec_list_t silence;	/* fires when no message came for the silence window */
	struct conn *next;
};

/* New message holding a copy of s[0..len). refs = 1. NULL on ENOMEM. */
struct msg *msg_new(const char *s, size_t len);
/* Serialize json once into a message (json not consumed). */
struct msg *msg_from_json(json_t *json);
void msg_ref(struct msg *m);
void msg_unref(struct msg *m);
static inline const char *msg_text(const struct msg *m);

/* Queue m on c (takes a new reference). -ENOBUFS: c was too slow and is closing. */
int conn_send(struct conn *c, struct msg *m);
/* Build, queue and drop a message. */
int conn_send_json(struct conn *c, json_t *json);	/* json consumed */
/* Queue {"type":"error","v":1,"code":..,"message":..}. */
int conn_error(struct conn *c, const char *code, const char *message);
/* Close after the queued messages are written. reason must be a string literal. */
void conn_close(struct conn *c, uint16_t code, const char *reason);
/* Write one queued message. Returns -1 when the connection must close now. */
int conn_writeable(struct conn *c);
/* Drop every queued reference and the receive buffer. */
void conn_release(struct conn *c);

/* Token bucket: true when one more message is allowed now. */
bool conn_rate_ok(struct conn *c, int64_t now_ms, double per_s, double burst);

static inline const char *msg_text(const struct msg *m) { return (const char *)m->buf + LWS_PRE; }

#endif
