/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The agent protocol: sphinx-agent (agent/uplink.c, agent/output.c) and
 * sphinx-server's /agent endpoint (server/ws_agent.c). Message types both
 * ways, the version, the agent's close codes, and the limits the server
 * enforces on each field (a longer field is refused with bad_message,
 * except argv, which is cut). The envelope and the shared error codes are
 * in proto_ws.h; docs/protocol.md describes every message.
 *
 * Plain #defines of numbers and string literals, like the lobby's header;
 * nothing here needs libc or libwebsockets.
 *
 * Owns: no state (constants). Callers: agent/uplink.c, agent/output.c,
 * agent/spool.c, server/ws_agent.c and server/broadcast.c.
 */
#ifndef SPHINX_PROTO_AGENT_H
#define SPHINX_PROTO_AGENT_H

#include "proto_ws.h"

#define PROTO_AGENT_VERSION 1	/* "v": required on every agent message */

/* ---------------------------------------------------- agent -> server */
#define PROTO_AGENT_MSG_HELLO "hello"	/* first, and again to replace the users list */
#define PROTO_AGENT_MSG_HEARTBEAT "heartbeat"
#define PROTO_AGENT_MSG_USERS "users"
#define PROTO_AGENT_MSG_CAPTURE_BEGIN "capture.begin"
#define PROTO_AGENT_MSG_CAPTURE_END "capture.end"
#define PROTO_AGENT_MSG_GOODBYE "goodbye"
/* {source, version, rules, error}: the policy in force, after hello and after each apply */
#define PROTO_AGENT_MSG_POLICY_STATE "policy.state"
/* hello.policy_source, policy.state.source */
#define PROTO_AGENT_POLICY_SOURCE_SERVER "server"
#define PROTO_AGENT_POLICY_SOURCE_LOCAL "local"
/* the agent's --status report: after hello and whenever it changes (fleet view) */
#define PROTO_AGENT_MSG_STATUS "status"
/* what the policy saw (the --record lines), batched; only with share_observations = yes */
#define PROTO_AGENT_MSG_OBSERVATIONS "observations"

/* ---------------------------------------------------- server -> agent */
#define PROTO_AGENT_MSG_WELCOME "welcome"
#define PROTO_AGENT_MSG_ACK "ack"	/* an event is committed; "duplicate": true for a replay */
/* {version, group, note, files: [{name, text}]}: the group's newest bundle, when it differs */
#define PROTO_AGENT_MSG_POLICY "policy"
/* errors are PROTO_WS_MSG_ERROR, with "id" when they concern one event */

/* ---------------------------------------------------------- error codes */
#define PROTO_AGENT_ERR_HELLO_REQUIRED "hello_required"
#define PROTO_AGENT_ERR_STORE_FAILED "store_failed"	/* send the event again later */
/* observations sent to a server that keeps none (observations_retention_days = 0) */
#define PROTO_AGENT_ERR_OBSERVATIONS_OFF "observations_off"

/* ---------------------------------------------------------- close codes */
#define PROTO_AGENT_CLOSE_SILENT 4408	/* no message within the heartbeat window */
#define PROTO_AGENT_CLOSE_REPLACED 4409	/* a newer connection of this machine said hello */
#define PROTO_AGENT_CLOSE_DRAIN 4503	/* node going away: reconnect at once, resend the spool */

/* ------------------------------------------------ field limits (bytes) */
#define PROTO_AGENT_MACHINE_MAX 64
#define PROTO_AGENT_BOOT_ID_MAX 63
#define PROTO_AGENT_VERSION_MAX 32	/* hello.agent_version */
#define PROTO_AGENT_USERS_MAX 64	/* names in hello.users / users.users */
#define PROTO_AGENT_USER_NAME_MAX 64	/* one local user name, and an event's "user" */
#define PROTO_AGENT_ID_MAX 128	/* an event's id: boot id + sequence */
#define PROTO_AGENT_CAPTURE_MAX 160	/* an event's capture: boot id + pid + first call */
#define PROTO_AGENT_KIND_MAX 16
#define PROTO_AGENT_COMM_MAX 64
#define PROTO_AGENT_EXE_MAX 4096
#define PROTO_AGENT_LAYER_MAX 32
#define PROTO_AGENT_RULE_ID_MAX 128
#define PROTO_AGENT_RULE_TITLE_MAX 256
#define PROTO_AGENT_EVIDENCE_MAX 256	/* each of "api", "target", "action" */
#define PROTO_AGENT_ARGV_MAX 16384	/* argv as stored JSON; longer is cut, not refused */
#define PROTO_AGENT_GOODBYE_REASON_SHOWN 64	/* of goodbye.reason, logged */
/* policy.state.error as stored; longer is cut, not refused */
#define PROTO_AGENT_POLICY_ERROR_MAX 4096
/* a "policy" message, whole: its files are at most 512 KiB (POLICY_BUNDLE_MAX_JSON) */
#define PROTO_AGENT_POLICY_RX_MAX (640 * 1024)
#define PROTO_AGENT_KERNEL_MAX 128	/* status.kernel: uname -r */
#define PROTO_AGENT_ARCH_MAX 32	/* status.arch: uname -m */
#define PROTO_AGENT_STATUS_LAYERS_MAX 16	/* entries in status.layers */
#define PROTO_AGENT_STATUS_DETAIL_MAX 512	/* a layer's "detail" */

/* ------------------------------------------------ status layer states */
#define PROTO_AGENT_LAYER_ATTACHED "attached"	/* probes in place, none refused */
#define PROTO_AGENT_LAYER_DEGRADED "degraded"	/* the kernel refused a probe that exists */
#define PROTO_AGENT_LAYER_OFF "off"	/* nothing to hook here (no library, no X server) */
/*
 * observations: at most this many events in one message, each an object of
 * at most PROTO_AGENT_OBS_EVENT_MAX bytes as compact JSON (the whole message
 * also stays under the 64 KiB frame limit); a batch over either limit is
 * refused whole (bad_message). The agent sends at most one batch a second.
 */
#define PROTO_AGENT_OBS_BATCH_MAX 256
#define PROTO_AGENT_OBS_EVENT_MAX 16384
#define PROTO_AGENT_OBS_CATEGORY_MAX 32	/* an observation's "category" */
/* observations batches taken from one connection a second, after a burst (a stop's flush) */
#define PROTO_AGENT_OBS_RATE 1
#define PROTO_AGENT_OBS_BURST 10

/* ----------------------------------------------------------- event kinds */
#define PROTO_AGENT_KIND_RECORDING "recording"
#define PROTO_AGENT_KIND_SCREENSHOT "screenshot"
#define PROTO_AGENT_KIND_AUTO "auto"	/* unresolved policy kind: stored as a recording */

#endif
