/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * What the two WebSocket protocols of sphinx-server share: the envelope of
 * every message, the error message, the error codes either endpoint may
 * answer with, and the close code of the send queue. The lobby protocol
 * (browsers, proto_lobby.h) and the agent protocol (sphinx-agent,
 * proto_agent.h) each add their own types, version, close codes and
 * limits; docs/protocol.md describes them and names these headers as the
 * source of truth.
 *
 * The contract is plain #defines of a number or a string literal, nothing
 * else, so that scripts/gen-proto-js.sh can turn this file and
 * proto_lobby.h into the browser's server/web/js/proto.js (a define
 * PROTO_WS_NAME becomes `export const NAME`; a trailing comment comes
 * along). tests/integration/server_proto.sh fails when the committed
 * proto.js differs from what the script makes. Standard close codes
 * (1000, 1003, 1008, 1009, 1011) are libwebsockets' LWS_CLOSE_STATUS_*.
 *
 * Owns: no state (constants). Callers: server/ws.c, and through
 * proto_lobby.h and proto_agent.h, which include it, everyone who uses those.
 */
#ifndef SPHINX_PROTO_WS_H
#define SPHINX_PROTO_WS_H

/* ------------------------------------------------------------- envelope */
#define PROTO_WS_F_TYPE "type"	/* every message: its type */
#define PROTO_WS_F_VERSION "v"	/* every message: the protocol version it speaks */

/* --------------------------------------------------------------- errors */
/* {"type":"error","v":1,"code":..,"message":..}: the connection stays open */
#define PROTO_WS_MSG_ERROR "error"
#define PROTO_WS_ERR_BAD_JSON "bad_json"	/* not JSON, or not an object */
#define PROTO_WS_ERR_BAD_MESSAGE "bad_message"	/* a field missing or invalid */
#define PROTO_WS_ERR_UNKNOWN_TYPE "unknown_type"
#define PROTO_WS_ERR_UNSUPPORTED_VERSION "unsupported_version"
#define PROTO_WS_ERR_RATE_LIMITED "rate_limited"
#define PROTO_WS_ERR_FORBIDDEN "forbidden"
#define PROTO_WS_ERR_INTERNAL "internal"

/* ---------------------------------------------------------- close codes */
#define PROTO_WS_CLOSE_TOO_SLOW 4008	/* the send queue is full: the client does not read */

#endif
