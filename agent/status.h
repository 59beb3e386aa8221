/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The probe status table: one row per probe the agent tried (tracepoint,
 * cgroup hook, uprobe), with its layer, where it sits, and whether it is
 * attached and, if not, why. `--status`, the status file and the start-up
 * log print it; a layer is active when one of its rows is attached.
 *
 * Knows layers as enum values, the names layer.c gives with each row and
 * layer_name() (for a layer without rows); it calls no other agent module.
 *
 * The same table, summed up per layer, is the agent's "status" report to
 * the server (status_report_json(): the kernel, and each layer attached,
 * degraded or off with why), which the fleet view shows. Every change to a
 * row bumps a generation number, so main.c rewrites the status file and
 * sends a new report only when something changed (status_changed()).
 *
 * Owns: the rows (at most STATUS_MAX_ROWS; a row past the cap is dropped
 * and its handle is NULL, which every function here accepts).
 * Callers: layer.c adds rows as it attaches and prints the table with its
 * layers line; devices.c updates the row of the on-demand ioctl
 * tracepoint; main.c logs what did not attach and builds the report. Single-threaded (the
 * detection loop).
 */
#ifndef SPHINX_AGENT_STATUS_H
#define SPHINX_AGENT_STATUS_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include <jansson.h>

#include "layer.h"

#define STATUS_MAX_ROWS 96

enum probe_state {
	PROBE_ATTACHED,
	PROBE_NOT_AVAILABLE,		/* library, symbol or tracepoint absent */
	PROBE_FAILED,			/* present, but the kernel said no */
};

struct probe_status;

/* A new row of @layer (shown as @layer_name, a static string) for probe
 * @name at @where (copied, truncated to the row's bounds), state
 * PROBE_NOT_AVAILABLE until set. NULL when full. */
struct probe_status *status_add(enum sphinx_layer layer, const char *layer_name, const char *name,
				const char *where);
/* Set @row's state and reason (@why may be NULL: none). NULL row: no-op. */
void status_set(struct probe_status *row, enum probe_state state, const char *why);
/* Rename @row's probe (the ioctl tracepoint is shown as attached on demand). */
void status_rename(struct probe_status *row, const char *name);
enum probe_state status_state(const struct probe_status *row);
/* Why @row is not attached ("" when it is, or for a NULL row). */
const char *status_why(const struct probe_status *row);
/* The first row of @layer at @where, or NULL. */
struct probe_status *status_find(enum sphinx_layer layer, const char *where);

/* Is any row of @layer attached? */
bool status_layer_active(enum sphinx_layer layer);
/* One line per row: "layer probe state where[: why]". */
void status_print_rows(FILE *out);
/* The same columns for a row that is not in the table (a layer's
 * placeholder while none of its probes is in place). */
void status_print_line(FILE *out, const char *layer_name, const char *name,
		       enum probe_state state, const char *where);
/* Log every row that is not attached, once, with its reason. */
void status_log_unattached(void);

/*
 * Has any row been added, set or renamed since *@seen? True once per
 * change: *@seen (0 at first) is moved to the current generation.
 */
bool status_changed(uint64_t *seen);
/*
 * The body of the agent's "status" message (docs/protocol.md): {kernel,
 * arch, layers: [{name, state, detail}]} with one entry per layer, in
 * enum order. A layer is "degraded" when the kernel refused one of its
 * probes that exists, "attached" when a probe is in place and none was
 * refused, else "off" (nothing to hook on this machine); detail says
 * which probe and why in at most PROTO_AGENT_STATUS_DETAIL_MAX bytes.
 * A new reference (the caller decrefs), NULL when out of memory.
 */
json_t *status_report_json(void);

#endif
