/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Central policy on the server (issue 14, docs/policy.md "Central policy"):
 * storing bundles of rule files per machine group, checked first with the
 * agent's own policy library (policy/policy_bundle.h), rolling a group back,
 * putting machines in groups, the rollout view, and the one place that says
 * "the policy of group G changed" so that connected agents get it.
 *
 * A push is refused unless every file loads: nothing is stored and the
 * caller gets every "file:line:col: message". A stored bundle takes the next
 * version (one sequence over all groups, so a version names one bundle). A
 * rollback stores a NEW version whose files are those of the version before
 * the group's newest (versions only grow; rolled_back_from names the one
 * undone). Whoever stores (the admin API in this process, or the CLI in
 * another process on the same store, which then signals the server: see
 * main.c) ends in policy_admin_changed(), which ws_agent.c turns into
 * "policy" messages to the group's connected agents. A PostgreSQL fan-out
 * across nodes (LISTEN/NOTIFY) calls the same function.
 *
 * Owns: no state. Callers: the event-loop thread (api_policy.c, main.c's
 * signal handling) and main.c's `policy` and `machine-group` commands.
 */
#ifndef SPHINX_POLICY_ADMIN_H
#define SPHINX_POLICY_ADMIN_H

#include <stdbool.h>
#include <stdint.h>

#include <jansson.h>

#include "store.h"

#define POLICY_GROUP_MAX 64  /* a group name: 1..64 of A-Z a-z 0-9 . _ - */
#define POLICY_NOTE_MAX 1024 /* a change note, bytes */
#define POLICY_AUTHOR_MAX 128

/* True when grp is a valid group name. */
bool policy_group_ok(const char *grp);

/*
 * Check files (a bundle's JSON array of {name,text}) with the policy
 * library and store them as the next version for group grp (NULL:
 * "default"), by author (NULL: not known) with note (NULL: none), then
 * policy_admin_changed(grp). 0 with *ret_version and *ret_rules. -EINVAL:
 * refused, nothing stored; *ret_errors (to json_decref) is a non-empty
 * array of strings: every "file:line:col: message", or the one thing wrong
 * with the bundle's shape, group, note or author. Another -errno: the store
 * or the check's I/O failed (*ret_errors says which in one string).
 */
int policy_admin_push(json_t *files, const char *grp, const char *author, const char *note, int64_t *ret_version,
		      size_t *ret_rules, json_t **ret_errors);

/*
 * Store a new version for grp (NULL: "default") holding the files of the
 * version before its newest, rolled_back_from = the newest; then
 * policy_admin_changed(grp). 0 with *ret_version and *ret_to (the version
 * whose files it holds); -ENOENT: the group has fewer than two versions;
 * -EINVAL: bad group; another -errno: the store.
 */
int policy_admin_rollback(const char *grp, const char *author, const char *note, int64_t *ret_version, int64_t *ret_to);

/*
 * Put machine name in group grp (NULL or "default": the default group),
 * then policy_admin_changed(NULL). -ENOENT no such machine, -EINVAL bad group.
 */
int policy_admin_set_group(const char *name, const char *grp);

/*
 * The policy of group grp changed (NULL: perhaps any group, or a machine
 * changed group): offer each connected agent concerned its group's newest
 * bundle, and tell the other nodes on the same PostgreSQL store to do the
 * same for theirs (cluster.h). Loop thread; in an admin command there are
 * no agents, only the other nodes to tell.
 */
void policy_admin_changed(const char *grp);

/* A bundle as the API shows it, with its files parsed when the row has them. New reference, NULL: no memory. */
json_t *policy_bundle_json(const struct policy_bundle *b);

/*
 * The rollout view over every machine: per group (by name), the newest
 * version, how many machines run each version (0: none or a local
 * policy), how many report an error, and each machine's state. New
 * reference, NULL: no memory.
 */
json_t *policy_rollout_json(const struct machine_list *machines, const struct policy_bundle_list *bundles);

#endif
