/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The lobby protocol: browsers on /lobby/<code> and sphinx-server. Message
 * types both ways, the version, the close codes that end a lobby for good,
 * field limits and the wire values of enumerated fields. The envelope and
 * the shared error codes are in proto_ws.h; docs/protocol.md describes
 * every message.
 *
 * Who uses it: the server's lobby modules (ws_lobby.c, lobby.c,
 * lobby_view.c, meeting.c, monitor.c, ws_agent.c for recording events) and,
 * through the generated server/web/js/proto.js (scripts/gen-proto-js.sh;
 * PROTO_LOBBY_NAME becomes `export const NAME`), the web app. Plain
 * #defines of a number or a string literal only: the generator refuses
 * anything else.
 *
 * Owns: no state (constants only); its callers are named above.
 */
#ifndef SPHINX_PROTO_LOBBY_H
#define SPHINX_PROTO_LOBBY_H

#include "proto_ws.h"

#define PROTO_LOBBY_VERSION 1	/* "v": a missing v is taken as this one */

/* --------------------------------------------------- client -> server */
#define PROTO_LOBBY_MSG_CHAT "chat"	/* also the event of a stored line */
#define PROTO_LOBBY_MSG_SIGNAL "signal"	/* WebRTC signalling, relayed to one user's sockets */
#define PROTO_LOBBY_MSG_BAN "ban"	/* also the event of a ban */
#define PROTO_LOBBY_MSG_SYNC "sync"
#define PROTO_LOBBY_MSG_PING "ping"
#define PROTO_LOBBY_MSG_END "end"

/* --------------------------------------- server -> client, one socket */
#define PROTO_LOBBY_MSG_SNAPSHOT "lobby"	/* the first message: the lobby's state */
#define PROTO_LOBBY_MSG_SYNCED "synced"
#define PROTO_LOBBY_MSG_CHAT_STORED "chat.stored"	/* a resent chat line was stored already */
#define PROTO_LOBBY_MSG_PONG "pong"
#define PROTO_LOBBY_MSG_BANNED "banned"	/* to the banned user's sockets, before 4003 */

/* -------------------------- server -> lobby: events, stored with an offset */
#define PROTO_LOBBY_EV_PRESENCE "presence"	/* arrivals and departures, coalesced per tick */
#define PROTO_LOBBY_EV_MONITOR "monitor"	/* a user's monitored state flipped */
#define PROTO_LOBBY_EV_RECORDING_BEGIN "recording.begin"
#define PROTO_LOBBY_EV_RECORDING_END "recording.end"
#define PROTO_LOBBY_EV_ORGANISER_ADD "organiser.add"
#define PROTO_LOBBY_EV_MEETING_END "meeting.end"

/* ---------------------------------------------------------- close codes */
/* each ends the lobby for this page: the client does not reconnect (but 4503, below) */
#define PROTO_LOBBY_CLOSE_SIGNED_OUT 4001
#define PROTO_LOBBY_CLOSE_BANNED 4003
#define PROTO_LOBBY_CLOSE_TOO_MANY_SOCKETS 4029	/* over lobby_user_sockets in this lobby */
#define PROTO_LOBBY_CLOSE_NOT_MEMBER 4403
#define PROTO_LOBBY_CLOSE_UNKNOWN_MEETING 4404
#define PROTO_LOBBY_CLOSE_MEETING_ENDED 4410
/* not final: the node is going away; reconnect now (the balancer), resume from the offset */
#define PROTO_LOBBY_CLOSE_DRAIN 4503

/* ---------------------------------------------------------- error codes */
#define PROTO_LOBBY_ERR_UNKNOWN_MEETING "unknown_meeting"
#define PROTO_LOBBY_ERR_MEETING_ENDED "meeting_ended"
#define PROTO_LOBBY_ERR_BANNED "banned"
#define PROTO_LOBBY_ERR_NOT_MEMBER "not_member"
#define PROTO_LOBBY_ERR_TOO_MANY_SOCKETS "too_many_sockets"
#define PROTO_LOBBY_ERR_CHAT_FULL "chat_full"
#define PROTO_LOBBY_ERR_PEER_OFFLINE "peer_offline"
#define PROTO_LOBBY_ERR_BAD_TARGET "bad_target"
#define PROTO_LOBBY_ERR_UNKNOWN_USER "unknown_user"
#define PROTO_LOBBY_ERR_ALREADY_BANNED "already_banned"

/* --------------------------------------------------------- field limits */
#define PROTO_LOBBY_CHAT_MAX 4000	/* bytes of a chat line's text */
#define PROTO_LOBBY_CID_MAX 64	/* characters of a chat line's client id, of A-Z a-z 0-9 _ - */
#define PROTO_LOBBY_BAN_REASON_MAX 500	/* bytes */

/* ------------------------------------------------------- signal "kind" */
#define PROTO_LOBBY_SIGNAL_OFFER "offer"
#define PROTO_LOBBY_SIGNAL_ANSWER "answer"
#define PROTO_LOBBY_SIGNAL_ICE "ice"
#define PROTO_LOBBY_SIGNAL_HANGUP "hangup"

/* ------------------------------- "monitor_reason" / a monitor event's "reason" */
#define PROTO_LOBBY_UNMONITORED_NO_AGENT "no_agent"	/* no online agent reports the user */
#define PROTO_LOBBY_UNMONITORED_SHUTDOWN "shutdown"	/* the agent said goodbye */
#define PROTO_LOBBY_UNMONITORED_SILENT "silent"	/* no message within the heartbeat window */
#define PROTO_LOBBY_UNMONITORED_DISCONNECTED "disconnected"	/* closed without goodbye */

#endif
