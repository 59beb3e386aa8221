/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Delivery to sphinx-server over a WebSocket (libwebsockets client, TLS
 * with certificate verification for wss://), on a thread of its own so the
 * detection loop never waits on the network.
 *
 * The spool is the queue between the threads: the main thread appends and
 * calls uplink_kick(); the uplink thread sends hello, then every spooled
 * event in order, and deletes an event only when the server acks it. On a
 * drop it reconnects with exponential backoff and jitter and replays the
 * spool from its start (the server drops duplicates by id). Heartbeats go
 * at the interval the server's welcome names; a clean stop says goodbye.
 * Redirects are never followed: a 3xx answer is a failed attempt, retried
 * on the same URL.
 *
 * Owns: the connection, its thread and copies of everything it sends
 * (struct uplink). Callers: main.c (start, stop, status, status report),
 * output.c (kick).
 */
#ifndef SPHINX_UPLINK_H
#define SPHINX_UPLINK_H

#include <stdbool.h>
#include <stdio.h>

#include <jansson.h>

struct spool;
struct agent_config;
struct uplink;

struct uplink_info {
	const char *boot_id;
	const char *version;
	const char *const *layers;	/* active layers' names, NULL-terminated */
	const char *const *users;	/* monitored users, NULL-terminated */
};

/* Start the thread. 0 and *ret, or -errno (bad URL, no memory). */
int uplink_start(const struct agent_config *cfg, struct spool *spool,
		 const struct uplink_info *info, struct uplink **ret);
/*
 * The `server` line for --status: where events go and how (wss:// with
 * certificate verification, or ws:// accepted with `insecure = yes`), and
 * with a server, the `observe` line: whether observations are shared.
 */
void uplink_print_status(const struct agent_config *cfg, FILE *out);
/*
 * The agent's status changed: send @report (status_report_json()'s object,
 * not kept: copied as text) as a "status" message now when connected, and
 * after every hello from now on. Thread-safe; NULL @u is a no-op. 0, or
 * -ENOMEM (the last report stays the one sent).
 */
int uplink_set_status(struct uplink *u, const json_t *report);
/* New events are in the spool. Async-signal-unsafe; thread-safe. */
void uplink_kick(struct uplink *u);
/* Whether the configuration says share_observations = yes. NULL: false. */
bool uplink_shares_observations(const struct uplink *u);
/*
 * Queue one observation (@json: an event as --record writes it, compact,
 * malloc'd, NULL ignored; always taken over) for the server. Dropped unless connected to
 * a server that keeps observations, or when the queue is full:
 * best-effort, never spooled. Thread-safe; NULL @u ok.
 */
void uplink_observe(struct uplink *u, char *json);
/* Send goodbye (when connected, waiting at most ~1 s), stop, join. NULL ok. */
void uplink_stop(struct uplink *u);

#endif
