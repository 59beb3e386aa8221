/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * From kernel records to detections. Each ring-buffer record updates the
 * process table, becomes a policy event (category + fields) that the
 * policy in force matches, and drives the process's capture (capture.h);
 * begins and ends go to output.h. X servers coming and going are handed
 * to the X server layer.
 *
 * Owns: the detection loop's view of the world, set once by events_init()
 * (the process table, the features, the idle timeout, --enforce) and the
 * policy in force (events_set_policy() on start and reload; not freed
 * here). Callers: main.c only. Single-threaded: the ring buffer callback,
 * the tick and shutdown all run on the main loop.
 */
#ifndef SPHINX_AGENT_EVENTS_H
#define SPHINX_AGENT_EVENTS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "layer.h"

struct features;
struct policy;
struct proc_table;

struct events_config {
	struct proc_table *procs;	/* borrowed, outlives the loop */
	const struct features *features;	/* borrowed */
	uint64_t idle_ns;		/* end api/device captures after this */
	bool enforce;			/* honour action: kill */
};

void events_init(const struct events_config *cfg);
/* Match against @policy from now on (borrowed; the caller frees the old one). */
void events_set_policy(const struct policy *policy);
/* The ring buffer callback (libbpf's ring_buffer_sample_fn); always 0.
 * Records shorter than their type's struct are ignored. */
int events_handle(void *ctx, void *data, size_t size);
/* Time passes (about every 100 ms): classify pending captures, end idle ones. */
void events_tick(uint64_t now_boot_ns);
/*
 * At start, after the process table scan: hook the running X servers and
 * match the processes already running, so a recorder started before the
 * agent is caught by its command line at once.
 */
void events_match_running(uint64_t now_boot_ns);
/* The agent is stopping: every open capture ends now. */
void events_shutdown(void);

struct proc;
struct policy_event;
/*
 * A capture another module saw (compositor.c): add @p's process fields to
 * @ev, match the policy and, on a match, start @p's capture session (a
 * screenshot begins and ends at once). True when a rule matched.
 */
bool events_capture(struct proc *p, struct policy_event *ev, enum sphinx_layer layer,
		    const char *api, const char *target, uint64_t ts);
/* End @p's capture at @ts (what it saw stopped). */
void events_capture_end(struct proc *p, uint64_t ts);

#endif
