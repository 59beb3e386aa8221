/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The lobby WebSocket (/lobby/<code>): one socket per browser tab of a
 * signed-in organiser or attendee. Opening it records attendance (first
 * socket of a user = join, last one closed = leave), flags any recording
 * the user's agent reports as ongoing, and sends a snapshot; after that the
 * client receives every lobby event with its offset, sends chat, WebRTC
 * signalling (relayed to one peer), bans (organisers) and sync requests.
 * Messages are documented in docs/protocol.md; their types, limits and
 * close codes are common/proto_lobby.h's.
 *
 * Owns the lobby fields of struct conn (conn.h) and, with lobby.c, the
 * per-user socket lists of struct presence. Called by ws.c only.
 */
#ifndef SPHINX_WS_LOBBY_H
#define SPHINX_WS_LOBBY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct conn;
struct lobby_access;

/*
 * c->user_id set; code from the URL; since >= 0 replays events after it.
 * access: the upgrade's lobby_access read of code for c->user_id, taken
 * (cleared) here; NULL or a zeroed one (no meeting id): read it here.
 */
int ws_lobby_open(struct conn *c, const char *code, int64_t since, struct lobby_access *access);
/*
 * One complete text message. 0: handled (errors go to the client as error
 * messages); -errno only when a reply to a message that is not JSON could
 * not be queued (the connection is already closing).
 */
int ws_lobby_rx(struct conn *c, const char *buf, size_t len);
void ws_lobby_closed(struct conn *c);

#endif
