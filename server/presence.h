/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Machine presence and who is monitored.
 *
 * A machine is online while its agent socket is open, has said hello and
 * keeps talking (heartbeats or events, checked by a timer per connection in
 * ws_agent.c). It goes offline for one of three reasons: "shutdown" (the
 * agent said goodbye), "silent" (no message for agent_missed_heartbeats
 * heartbeat intervals: killed -9, frozen, network cut with no FIN) or
 * "disconnected" (the socket closed without a goodbye).
 *
 * Each agent reports the local users with a graphical login session on its
 * machine (hello.users, then users messages); ws_agent.c maps them to
 * accounts with agent_user_map. An account is monitored while at least one
 * online agent connection reports it. This module counts, per account, the
 * online connections reporting it (a hash of small entries, one per account
 * any agent ever reported, loaded from the store at start), so "is Alice
 * monitored" is O(1) for snapshots of large lobbies.
 *
 * When an account's monitored state flips, in one store transaction: the
 * machine's row (online, reason, users), the account's monitor_state row,
 * and, in every live lobby the user is present in, a "monitor" event (to
 * everyone) and a system chat notice (to organisers only) — persisted, then
 * broadcast, like every lobby event. Each transition is logged once.
 *
 * Unmonitored reasons: "no_agent" (no agent ever reported the user, or the
 * user logged out of the machine), "shutdown", "silent", "disconnected".
 */
#ifndef SPHINX_PRESENCE_H
#define SPHINX_PRESENCE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <jansson.h>

struct conn;

#define MONITOR_NO_AGENT "no_agent"
#define MONITOR_SHUTDOWN "shutdown"
#define MONITOR_SILENT "silent"
#define MONITOR_DISCONNECTED "disconnected"

/*
 * At server start: machines and accounts the store still marks online (the
 * server stopped or crashed under them) become offline, "disconnected",
 * until their agent says hello again; then the per-account states are
 * loaded. 0 or -errno.
 */
int presence_init(void);
void presence_free(void);

/* Whether the account is monitored now; when not, *ret_reason (static string) says why. */
bool presence_monitored(int64_t user_id, const char **ret_reason);

/*
 * The agent on c is online and reports the accounts uids[0..n) (distinct,
 * non-zero; the array is taken over, freed with c's agent state) and the
 * local users users_json (JSON array text, stored with the machine; NULL
 * keeps the stored list). Called at hello and for every users message.
 * 0 or -errno (store failure: logged, the in-memory state is kept).
 */
int presence_online(struct conn *c, int64_t *uids, size_t n, const char *users_json);
/* The agent on c is offline for reason (MONITOR_*). Idempotent. */
int presence_offline(struct conn *c, const char *reason);

#endif
