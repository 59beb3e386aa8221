/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Graceful drain: how a node leaves a cluster (or a single server stops)
 * without losing anyone. SIGTERM (systemctl stop / restart) begins it:
 *
 *   1. GET /api/health answers 503 "draining": the balancer stops sending
 *      new connections here; new WebSocket upgrades are refused with 503,
 *      which the balancer retries on another node (server/deploy/haproxy.cfg);
 *   2. at once, every lobby socket is closed with PROTO_LOBBY_CLOSE_DRAIN and
 *      every agent socket with PROTO_AGENT_CLOSE_DRAIN (4503): browsers and
 *      agents reconnect at once, through the balancer, and resume (lobbies
 *      from their last offset, agents by resending their spool);
 *   3. once no socket is left, or drain_seconds after the signal at the
 *      latest, the node stops as before (remaining sockets are cut) and
 *      exits 0. HTTP requests are answered meanwhile.
 *
 * drain_seconds = 0 skips all of it: SIGTERM stops at once, as SIGINT
 * always does. A second SIGTERM during a drain stops at once too.
 *
 * Owns: the draining flag, the time it began and the timer that ends it.
 * Callers, on the event-loop thread only: main.c (drain_begin after
 * SIGTERM), api_auth.c (health), ws.c (refuses upgrades while draining).
 */
#ifndef SPHINX_DRAIN_H
#define SPHINX_DRAIN_H

#include <stdbool.h>

/* Whether a drain has begun (it never ends: the process exits). */
bool drain_active(void);

/* ws.c refused an upgrade because the node drains: counted, logged at the end. */
void drain_refused(void);

/*
 * Begin draining: steps 1 and 2 above, then a timer that calls stop()
 * once no WebSocket is open or drain_seconds have passed. Idempotent:
 * a drain already under way is left alone (returns false); true when
 * this call began it. With drain_seconds 0 it calls stop() at once.
 */
bool drain_begin(void (*stop)(void));

#endif
