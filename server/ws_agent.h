/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The agent WebSocket (/agent): one connection per enrolled machine,
 * authenticated by its enrollment token (Authorization: Bearer). The agent
 * says hello (with the local users logged in graphically), sends heartbeats,
 * users updates, capture.begin / capture.end events, each with an id unique
 * per machine, and goodbye when it stops cleanly. A timer per connection
 * (lws_sul, rescheduled lazily from the last message time) declares the
 * machine silent after agent_missed_heartbeats intervals without a message
 * and hangs up (PROTO_AGENT_CLOSE_SILENT); monitor.c turns all of this into
 * online/offline and monitored/unmonitored. After welcome, and whenever
 * policy_admin.c says its group's policy changed, an agent whose bundle
 * version (hello.policy_version, then policy.state) differs from its
 * group's newest is sent that bundle ("policy"), unless it runs local
 * policy only; policy.state is stored on the machine. The server stores each event
 * once (a replayed id is acknowledged as a duplicate and ignored), maps the
 * machine's logged-in user to an account, writes the recording, tells every
 * live lobby that user is in, and acknowledges only after the commit. The
 * messages, limits and close codes are common/proto_agent.h's.
 *
 * Owns: each agent connection's state (struct agent_state behind
 * conn->agent, private to ws_agent.c, with the monitor_source that
 * monitor.c counts) and the list of agent connections. Called on the
 * event-loop thread only: by ws.c (open, messages, close), main.c (the
 * count, at stop) and the fuzz harness.
 */
#ifndef SPHINX_WS_AGENT_H
#define SPHINX_WS_AGENT_H

#include <stddef.h>
#include <stdint.h>

struct conn;

/*
 * c is a new agent socket of the machine its enrollment token names
 * (machine_id, enrolled name machine, copied). 0, or -ENOMEM (then c is
 * not an agent socket and ws_agent_closed() does nothing).
 */
int ws_agent_open(struct conn *c, int64_t machine_id, const char *machine);
/* One complete text message. Always 0: errors go to the agent. */
int ws_agent_rx(struct conn *c, const char *buf, size_t len);
/* The socket is gone: the machine may go offline; c->agent is freed. */
void ws_agent_closed(struct conn *c);
/* Number of connected agents. */
size_t ws_agent_count(void);
/*
 * The policy of group grp changed (NULL: any group, or machines changed
 * group): every connected agent of that group whose bundle version differs
 * from its group's newest gets a "policy" message (policy_admin.c calls it).
 */
void ws_agent_policy_changed(const char *grp);

#endif
