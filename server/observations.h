/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Observations: the events an agent's policy saw (the lines `sphinx-agent
 * --record` writes: category, fields, argv, ts, pid), sent by machines
 * whose agent.conf says share_observations = yes, so that a policy author
 * can run `sphinx-policy test` on what real machines did last week before
 * pushing a rule.
 *
 * What it keeps and for how long: each event's JSON text, the machine, and
 * the time the server received it. Rows older than
 * observations_retention_days (counted from receipt, never from the
 * agent's clock) and all but the newest observations_max rows are deleted
 * by a purge on a timer (every PURGE_INTERVAL, and early when a tenth of
 * the cap arrived since the last one), never per insert. Retention 0
 * refuses every batch and keeps nothing (the timer then empties the table).
 *
 * A batch is checked whole before anything is stored: at most
 * PROTO_AGENT_OBS_BATCH_MAX events, each an object of at most
 * PROTO_AGENT_OBS_EVENT_MAX bytes with a short "category" string; a bad
 * batch is refused whole with a message naming the event and the problem.
 *
 * The export (the admin API and `sphinx-server observations export`) is
 * one JSON object per line: the event as the agent sent it plus "machine"
 * (its enrolled name) and "received" (ms), which `sphinx-policy test`
 * replays.
 *
 * Owns: the purge timer and the count of rows added since the last purge.
 * Callers: ws_agent.c (store), main.c (start, the export command),
 * api_observations.c (the export lines), on the event-loop thread only.
 */
#ifndef SPHINX_SERVER_OBSERVATIONS_H
#define SPHINX_SERVER_OBSERVATIONS_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

struct observation;

/* rows one export page reads from the store */
#define OBSERVATIONS_PAGE_ROWS 200

/*
 * Check the "events" array of an observations message and store it for
 * machine_id in one transaction. 0 and *ret_n (events stored); -EINVAL
 * (err: "event 3: ..." or what is wrong with the array), -EPERM (retention
 * is 0: none are kept), or the store's -errno. Nothing is stored on error.
 */
int observations_store(int64_t machine_id, json_t *events, size_t *ret_n, char *err, size_t errlen);

/* Delete what the retention and the row cap no longer allow, as of now: the number deleted, or -errno. */
int observations_purge(int64_t now);

/* Start the purge timer (main.c, once the lws context exists). */
void observations_start(void);

/*
 * One export line (no newline) for a stored row: its body with "machine"
 * and "received" set. Caller frees; NULL when the body is not a JSON
 * object (it was checked on the way in) or out of memory.
 */
char *observations_line(const struct observation *o);

/*
 * A time to export from: a duration back from now ("7d", "12h", "30m",
 * "90s") or milliseconds since the epoch ("1764777600000"). 0 and *ret, or
 * -EINVAL.
 */
int observations_parse_since(const char *text, int64_t now, int64_t *ret);

#endif
