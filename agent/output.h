/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Where detections go: one JSON object per line on stdout (--stdout), the
 * log, the server (appended to the spool, then the uplink woken), and, with
 * --record, every policy event the matcher saw in the format `sphinx-policy
 * test` replays. With share_observations = yes the same policy events also
 * go to the uplink as observations (best-effort, not spooled).
 *
 * Owns: the record ids (boot_id:seq, never reused within a boot), the
 * boottime-to-wall-clock offset, and borrowed handles to the record file,
 * the spool and the uplink (the caller opens and closes them).
 * Callers: main.c (init, set_link), events.c (capture, record).
 * Single-threaded: the main loop.
 */
#ifndef SPHINX_AGENT_OUTPUT_H
#define SPHINX_AGENT_OUTPUT_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

struct policy_event;
struct proc;
struct spool;
struct uplink;

struct output_config {
	const char *boot_id;		/* copied */
	uint64_t first_seq;		/* ids start after it (a boottime stamp) */
	bool to_stdout;
	bool enforce;			/* "kill" is reported only when enforcing */
	const char *email_domain;	/* borrowed; may be NULL */
	FILE *record;			/* borrowed; NULL: no --record */
};

void output_init(const struct output_config *cfg);
/* From now on also deliver to the server: @spool then wake @uplink
 * (borrowed; NULL both: no server). */
void output_set_link(struct spool *spool, struct uplink *uplink);
/* Read the wall clock's offset from CLOCK_BOOTTIME again (it may have been
 * stepped: NTP, a VM's host sync), so event times stay wall-clock times. */
void output_follow_wall_clock(void);
/* A capture of @p began (@begin) or ended at @ts_boot_ns. */
void output_capture(struct proc *p, bool begin, uint64_t ts_boot_ns);
/* With --record and/or share_observations: @ev as the policy saw it, for process @pid. */
void output_record(const struct policy_event *ev, uint32_t pid, uint64_t ts_boot_ns);

#endif
