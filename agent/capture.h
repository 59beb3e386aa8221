/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Capture sessions: one per process at a time. A session begins when a
 * policy rule matches something the process did, and ends when the process
 * exits or, for api/device captures, stops capturing for the idle timeout.
 *
 * Rules of kind auto start a session in PENDING: the kernel reports the
 * first calls one by one, and the session becomes a recording as soon as
 * the rule's threshold (N calls within a window) is met, or a standing
 * damage watch on root says "waiting for changes"; a window that closes
 * with fewer calls makes it a screenshot, begun and ended at once.
 * Exec rules name the kind themselves and last until the process exits.
 *
 * Pure logic over timestamps (CLOCK_BOOTTIME ns): no I/O, so the unit tests
 * drive it directly. Begins and ends go out through capture_hooks.
 *
 * Owns: no state of its own: a session is the struct capture_session in its
 * process's proc_table entry, changed only through these functions.
 * Callers: events.c (start, activity, damage, tick, finish, and the hooks that
 * hand begins and ends to output.c), on the main loop; the unit tests.
 */
#ifndef SPHINX_AGENT_CAPTURE_H
#define SPHINX_AGENT_CAPTURE_H

#include <stdbool.h>
#include <stdint.h>

#include "layer.h"
#include "policy.h"

#define SPHINX_API_FIELD_LEN 272

enum capture_state {
	CAPTURE_NONE,
	CAPTURE_PENDING,	/* kind auto, not yet classified */
	CAPTURE_ACTIVE,		/* begin emitted */
};

struct capture_session {
	enum capture_state state;
	enum policy_kind kind;
	enum policy_action action;
	enum sphinx_layer layer;	/* which layer saw what matched */
	char rule_id[96];		/* copies: rules die on policy reload */
	char rule_title[160];
	unsigned threshold_calls;
	uint64_t threshold_window_ns;
	uint64_t first_ns, last_ns;
	uint32_t calls_base, calls;	/* kernel's cumulative count: at start, latest */
	bool until_exit;		/* exec rules and damage watchers: no idle end */
	bool damage_root;		/* a standing XDamage watch on root */
	bool attempt;			/* device open that failed */
	char api[SPHINX_API_FIELD_LEN];	/* what was called, or "open PATH" */
	char target[16];
	char user[64];			/* who is recording (attribution.c), set at begin */
};

struct proc;

struct capture_hooks {
	void (*begin)(void *ctx, struct proc *p);
	void (*end)(void *ctx, struct proc *p, uint64_t end_ns);
	void *ctx;
};

/*
 * A rule matched at @ts, kernel call count @calls (0 for exec/open). @api
 * and @target (may be NULL) say what was called on what, for the record.
 */
void capture_start(struct capture_session *s, struct proc *p, const struct policy_rule *rule,
		   enum sphinx_layer layer, const char *api, const char *target, uint64_t ts,
		   uint32_t calls, const struct capture_hooks *h);
/* More counted calls: @calls is the kernel's cumulative count. */
void capture_activity(struct capture_session *s, struct proc *p, uint64_t ts, uint32_t calls,
		      const struct capture_hooks *h);
/* The process set up a damage watch on root. */
void capture_damage(struct capture_session *s, struct proc *p, uint64_t ts,
		    const struct capture_hooks *h);
/* Time passes: classify pending windows, end idle captures. */
void capture_tick(struct capture_session *s, struct proc *p, uint64_t now, uint64_t idle_ns,
		  const struct capture_hooks *h);
/* The process exited (or exec'd another image) at @ts. */
void capture_finish(struct capture_session *s, struct proc *p, uint64_t ts, uint32_t calls,
		    const struct capture_hooks *h);
/* Counted calls in this session. */
uint32_t capture_calls(const struct capture_session *s);

#endif
