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
 * ws_queue_max messages or ws_queue_bytes bytes is closed with
 * PROTO_WS_CLOSE_TOO_SLOW (4008); it never holds the others up. A shared
 * message counts in full in every queue it sits in (the bytes it would
 * cost if that client alone held it), so the cap bounds what one slow
 * reader can pin, whoever else holds it.
 *
 * The queue and close state live in struct conn (conn.h); this module is
 * the only one that writes them. Callers, on the event-loop thread: ws.c
 * (WRITEABLE, close), the lobby and agent handlers and lobby.c (sends,
 * closes), meeting.c and lobby_view.c (messages they build).
 */
#ifndef SPHINX_BROADCAST_H
#define SPHINX_BROADCAST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <jansson.h>
#include <libwebsockets.h>

#include "conn.h"

struct msg {
	uint32_t refs;
	uint32_t len;
	unsigned char buf[];	/* LWS_PRE headroom, then len bytes, then NUL */
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
/* Queue {"type":"error","v":1,"code":..,"message":..} (code: a PROTO_*_ERR_*). */
int conn_error(struct conn *c, const char *code, const char *message);
/* Close after the queued messages are written. reason must be a string literal. */
void conn_close(struct conn *c, uint16_t code, const char *reason);
/* Write one queued message. Returns -1 when the connection must close now. */
int conn_writeable(struct conn *c);
/* Drop every queued reference (a connection closing at once, or gone). The receive buffer is ws.c's. */
void conn_release(struct conn *c);

static inline const char *msg_text(const struct msg *m) { return (const char *)m->buf + LWS_PRE; }

#endif
