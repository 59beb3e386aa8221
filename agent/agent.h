/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The agent's state, shared by its modules: options, the loaded BPF object,
 * the policy in force, the process table, and where detections go.
 */
#ifndef SPHINX_AGENT_H
#define SPHINX_AGENT_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "config.h"
#include "policy.h"
#include "probe.h"
#include "proc_table.h"

#define AGENT_VERSION "0.1.0"

struct agent_options {
	const char *config_path;	/* agent.conf: server link, spool, policy */
	const char *policy_path;
	const char *record_path;
	const char *status_path;	/* where the running agent writes its status */
	uint64_t idle_ns;
	bool to_stdout;
	bool enforce;			/* honour action: kill */
	bool status_only;
	int verbosity;
};

enum probe_state {
	PROBE_ATTACHED,
	PROBE_NOT_AVAILABLE,		/* library, symbol or tracepoint absent */
	PROBE_FAILED,			/* present, but the kernel said no */
};

struct probe_status {
	const char *layer;		/* "exec", "device", "api" */
	char name[64];			/* function or tracepoint */
	char where[512];		/* library path or tracepoint path */
	enum probe_state state;
	char why[128];
};

#define AGENT_MAX_PROBES 96

struct sphinx_bpf;
struct ring_buffer;
struct bpf_link;
struct spool;
struct uplink;

struct agent {
	struct agent_options opts;
	struct features features;
	struct sphinx_bpf *skel;
	struct ring_buffer *rb;
	struct bpf_link *links[AGENT_MAX_PROBES];
	unsigned n_links;
	struct probe_status probes[AGENT_MAX_PROBES];
	unsigned n_probes;
	struct policy *policy;
	struct proc_table procs;
	uint64_t boot_to_wall_ns;	/* add to CLOCK_BOOTTIME for wall clock */
	char boot_id[40];
	uint64_t seq;			/* event ids: boot_id:seq, never reused in a boot */
	FILE *record;
	uint64_t lost_events;
	struct agent_config cfg;	/* from --config; zeroed without one */
	struct spool *spool;		/* set when a server is configured */
	struct bpf_link *ioctl_link;	/* while a process holds a capture device */
	uint32_t holders[64];		/* those processes (devices.c) */
	unsigned n_holders;
	struct uplink *uplink;
	bool status_stale;		/* rewrite the status file (new compositor rows) */
};

/* loader.c */
int loader_open_load(struct agent *a);
int loader_attach(struct agent *a);
/* Hook the X server running as @pid (its binary, once). Attached count or -errno. */
int loader_attach_xserver(struct agent *a, uint32_t pid);
/* After the X servers are found: the api probes the X server layer makes
 * redundant, only where it is not active. */
void loader_attach_fallbacks(struct agent *a);
/* The X server @pid has exited. */
void loader_forget_xserver(struct agent *a, uint32_t pid);
void loader_destroy(struct agent *a);
/* The status table as text ("layer probe where state why" lines). */
void loader_print_status(const struct agent *a, FILE *out);
bool loader_layer_active(const struct agent *a, const char *layer);
struct capture_probe;
/* A row of the status table for @layer (static string); NULL when full. */
struct probe_status *loader_add_status(struct agent *a, const char *layer, const char *name,
				      const char *where);
/* Set a row's state and reason (@s may be NULL). */
void loader_set_state(struct probe_status *s, enum probe_state state, const char *why);
/* Attach one uprobe of @layer in the binary at @path, its outcome in the
 * status table. True when attached. */
bool loader_attach_uprobe(struct agent *a, const char *layer, const struct capture_probe *cp,
			  const char *path);

/* events.c */
int events_handle(void *ctx, void *data, size_t size);
void events_tick(struct agent *a, uint64_t now_boot_ns);
void events_match_running(struct agent *a, uint64_t now_boot_ns);
void events_shutdown(struct agent *a);
struct policy_event;
/*
 * A capture seen by another module (compositor.c): add @p's process fields
 * to @ev, match the policy and, on a match, start @p's capture session
 * (a screenshot begins and ends at once). True when a rule matched.
 */
bool events_capture(struct agent *a, struct proc *p, struct policy_event *ev, const char *layer,
		    const char *api, const char *target, uint64_t ts);
/* End @p's capture session at @ts (what it saw stopped). */
void events_capture_end(struct agent *a, struct proc *p, uint64_t ts);

/* output.c */
void output_capture(struct agent *a, struct proc *p, bool begin, uint64_t ts_boot_ns);
void output_record(struct agent *a, const struct policy_event *ev, uint32_t pid, uint64_t ts_boot_ns);

#endif
