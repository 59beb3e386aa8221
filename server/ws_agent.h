/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The agent WebSocket (/agent): one connection per enrolled machine,
 * authenticated by its enrollment token (Authorization: Bearer). The agent
 * says hello, sends heartbeats and capture.begin / capture.end events, each
 * with an id unique per machine. The server stores each event once (a
 * replayed id is acknowledged as a duplicate and ignored), maps the
 * machine's logged-in user to an account, writes the recording, tells every
 * live lobby that user is in, and acknowledges only after the commit.
 */
#ifndef SPHINX_WS_AGENT_H
#define SPHINX_WS_AGENT_H

#include <stddef.h>
#include <stdint.h>

struct conn;

/* c->machine_id and c->machine set from the token. */
int ws_agent_open(struct conn *c);
int ws_agent_rx(struct conn *c, const char *buf, size_t len);
void ws_agent_closed(struct conn *c);
/* Number of connected agents. */
size_t ws_agent_count(void);

#endif
