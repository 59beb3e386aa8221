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
 * Central policy: hello says which server bundle is in force
 * (policy_version, policy_source); after hello, and whenever main.c
 * reports a new state, "policy.state" goes out. A "policy" message from the
 * server is kept (the newest replaces an older one not yet taken) for the
 * detection thread, which on_policy wakes and which takes it with
 * uplink_take_policy(): the uplink never touches the policy in force.
 *
 * Owns: the connection, its thread and copies of everything it sends
 * (struct uplink). Callers: main.c (start, stop, status, status report,
 * policy state), output.c (kick).
 */
#ifndef SPHINX_UPLINK_H
#define SPHINX_UPLINK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <jansson.h>

struct spool;
struct agent_config;
struct uplink;

/* The policy in force, as policy.state reports it (strings copied). */
struct uplink_policy_state {
	bool local_only;		/* policy_source = local: hello says so, no bundle comes */
	bool local;			/* the local files are in force (source "local") */
	int64_t version;		/* the server bundle in force, 0: none */
	size_t rules;
	const char *error;		/* the last apply's exact error, NULL: none */
};

struct uplink_info {
	const char *boot_id;
	const char *version;
	const char *const *layers;	/* active layers' names, NULL-terminated */
	const char *const *users;	/* monitored users, NULL-terminated */
	struct uplink_policy_state policy;	/* at start */
	/* a "policy" message came: called on the uplink thread (async-signal-safe work only) */
	void (*on_policy)(void);
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
/* The policy in force changed, or an apply failed: policy.state goes out (now or after hello). */
void uplink_policy_state(struct uplink *u, const struct uplink_policy_state *st);
/* The newest "policy" message not yet taken (json_decref() it), or NULL. Thread-safe. */
json_t *uplink_take_policy(struct uplink *u);
/* Whether the configuration says share_observations = yes. NULL: false. */
bool uplink_shares_observations(const struct uplink *u);
/*
 * Queue one observation (@json: an event as --record writes it, compact,
 * malloc'd, NULL ignored; always taken over) for the server. Dropped
 * unless connected to a server that keeps observations, or when the queue
 * is full: best-effort, never spooled. Thread-safe; NULL @u ok.
 */
void uplink_observe(struct uplink *u, char *json);
/* Send goodbye (when connected, waiting at most ~1 s), stop, join. NULL ok. */
void uplink_stop(struct uplink *u);

#endif
