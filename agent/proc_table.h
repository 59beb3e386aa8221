/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The agent's view of live processes: pid -> exe, argv, parent, uid, user
 * name, start time, and the process's capture session. Filled from exec
 * records as they happen and, for processes that predate the agent, from
 * /proc on first sight. Entries leave on the exit record.
 *
 * A common/hashtab on pid; the table owns every entry and every string it
 * holds. Bounded at PROC_TABLE_MAX entries: past that, new processes are
 * not tracked (their events still match the policy, with what the record
 * itself carries). Only the agent's event loop touches it.
 */
#ifndef SPHINX_PROC_TABLE_H
#define SPHINX_PROC_TABLE_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "capture.h"
#include "hashtab.h"

#define PROC_TABLE_MAX		65536
#define PROC_ARGV_MAX		128	/* arguments kept per process */

struct proc {
	uint32_t pid, ppid, uid;
	uint64_t start_ns;		/* boottime; 0 when unknown */
	char comm[16];
	char *exe;			/* as exec'd, or /proc/PID/exe */
	char *cmdline;			/* argv joined by single spaces */
	char **argv;			/* NULL-terminated */
	size_t argc;
	char user[64];
	struct capture_session session;
	struct hashtab_node node;	/* in proc_table.procs, keyed by pid */
};

struct proc_table {
	struct hashtab procs;
};

/* An empty table. Returns 0 (the buckets come with the first entry). */
int proc_table_init(struct proc_table *t);
/* Free every entry and the table's memory; @t is empty again. */
void proc_table_free(struct proc_table *t);

/* The entry for @pid, or NULL. Owned by the table. */
struct proc *proc_table_get(struct proc_table *t, uint32_t pid);
/*
 * Record an exec: replaces what was known of @pid (its session is the
 * caller's business, before calling). @args holds @args_size bytes of
 * NUL-separated argv. Returns the entry or NULL (table full / no memory).
 */
struct proc *proc_table_exec(struct proc_table *t, uint32_t pid, uint32_t ppid, uint32_t uid,
			     uint64_t start_ns, const char *comm, const char *exe,
			     const char *args, size_t args_size);
/* The entry for @pid, read from /proc when not yet known. NULL if gone. */
struct proc *proc_table_load(struct proc_table *t, uint32_t pid);
/* Forget @pid and free its entry (a no-op when unknown). */
void proc_table_remove(struct proc_table *t, uint32_t pid);
/* Seed the table with every process running now. Returns how many. */
int proc_table_scan(struct proc_table *t);

/*
 * Visit every entry as @p (@i names the loop's cursor). The body must not
 * add or remove entries.
 */
#define proc_table_for_each(t, i, p) \
	hashtab_for_each(&(t)->procs, i) \
		for (struct proc *p = hashtab_entry(i, struct proc, node); p; p = NULL)

/* User name for @uid (cached); the number as text when there is none. */
const char *user_name(uint32_t uid);

#endif
