/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Which execs wake the agent at once. Exec records are submitted without a
 * ring-buffer wake-up (on a VM each wake-up is a self-IPI) and wait for the
 * agent's 100 ms poll; the programs the policy's exec rules name are the
 * exception: the kernel looks the exec'd name up in exec_wake and wakes the
 * agent for those, so a known recorder's begin line is not held back.
 *
 * Owns: the contents of the exec_wake map (the kernel only reads it).
 * Callers: main.c, at start and on SIGHUP reload, after loader_load().
 * Uses the loaded object through loader_skel(). Single-threaded.
 */
#ifndef SPHINX_AGENT_EXEC_WAKE_H
#define SPHINX_AGENT_EXEC_WAKE_H

struct policy;

/*
 * Empty exec_wake and fill it with the names @policy's exec rules give
 * (policy_exec_names()); logs what wakes and which rules keep the batching.
 * Returns the number of names entered, -E2BIG when the policy names more
 * than SPHINX_EXEC_WAKE_MAX programs (the first ones are entered, the rest
 * wait for the poll; logged, naming the limit), or another -errno (logged).
 */
int exec_wake_fill(const struct policy *policy);

#endif
