/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The agent WebSocket (/agent): one connection per enrolled machine,
 * authenticated by its enrollment token (Authorization: Bearer). The agent
 * says hello (with the local users logged in graphically), sends heartbeats,
 * users updates, capture.begin / capture.end events, each with an id unique
 * per machine, and goodbye when it stops cleanly. A timer per connection
 * (lws_sul, rescheduled lazily from the last message time) declares the
 * machine silent after agent_missed_heartbeats intervals without a message
 * and hangs up (4408); presence.c turns all of this into online/offline and
 * monitored/unmonitored. The server stores each event once (a
 * replayed id is acknowledged as a duplicate and ignored), maps the
 * machine's logged-in user to an account, writes the recording, tells every
 * live lobby that user is in, and acknowledges only after the commit.
 */
#ifndef SPHINX_WS_AGENT_H
#define SPHINX_WS_AGENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct conn;

/* c->machine_id and c->machine set from the token. */
int ws_agent_open(struct conn *c);
int ws_agent_rx(struct conn *c, const char *buf, size_t len);
void ws_agent_closed(struct conn *c);
/* Number of connected agents. */
size_t ws_agent_count(void);
/* Whether another online connection than except speaks for the machine. */
bool ws_agent_machine_online(int64_t machine_id, const struct conn *except);

#endif
