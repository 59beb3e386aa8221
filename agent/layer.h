/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Detection layers: the ways the agent sees screen capture. A layer is a
 * value of enum sphinx_layer and ONE row of the descriptor table in
 * layer.c: its name (in capture records, the hello message, the log and
 * --status), the policy category its detections are matched as, how its
 * BPF programs are prepared before load, how it attaches and detaches, and
 * the status row it shows while none of its probes is in place.
 *
 * Adding a layer (the Wayland compositor hooks, say) is one enum value
 * here, one row in layer.c (a static_assert there counts the rows), and
 * the `layer` column of the capture functions it reports in api_names.c.
 *
 * Owns: the layer table and the per-layer attach code (tracepoints, the
 * device cgroup hook, the api uprobes, the X server uprobes). Probe outcomes
 * go to the status table (status.h), links to the loader (loader.h).
 * Callers: main.c (prepare, attach, detach, the start-up log), events.c
 * (X servers coming and going, layer names and categories), output.c and
 * anything that prints a layer (layer_name()).
 */
#ifndef SPHINX_AGENT_LAYER_H
#define SPHINX_AGENT_LAYER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "policy.h"

enum sphinx_layer {
	LAYER_EXEC,		/* process creation: sched tracepoints (required) */
	LAYER_DEVICE,		/* capture devices: cgroup device hook + ioctls */
	LAYER_API,		/* capture calls in client libraries: uprobes */
	LAYER_XSERVER,		/* reads inside the X server itself: uprobes */
	LAYER_COMPOSITOR,	/* Wayland compositors' screen casts and
				 * screenshots (compositor.h): uprobes */
	LAYER__COUNT,
};

struct features;

/* "exec", "device", "api", "xserver", "compositor"; "unknown" out of
 * range. Static. */
const char *layer_name(enum sphinx_layer layer);
/* The policy category the layer's capture records are matched as. */
enum policy_category layer_category(enum sphinx_layer layer);

/*
 * Before the BPF object is loaded (loader_open() done): switch off the
 * programs this kernel cannot load (absent tracepoints, no uprobes, no
 * cgroup device programs), so the rest loads without them.
 */
void layers_prepare(const struct features *f);
/*
 * After load: attach every layer that attaches at start (exec, device,
 * the api layer's non-fallback probes). 0, or -ENOTSUP when the required
 * exec layer could not attach (the reason is logged).
 */
int layers_attach(const struct features *f);
/*
 * Once the running X servers are hooked: the api probes the X server layer
 * makes redundant, only where that layer is not active.
 */
void layers_attach_fallbacks(const struct features *f);
/* Undo what each layer's attach did beyond its links (which the loader
 * owns and destroys). Safe to call when nothing was attached. */
void layers_detach(void);

/* The X server layer: hook the server running as @pid (its binary once).
 * Attached count, 0 when already hooked or refused (logged), or -errno. */
int layer_xserver_attach(const struct features *f, uint32_t pid);
/* The X server @pid has exited. */
void layer_xserver_forget(uint32_t pid);

struct capture_probe;
/*
 * For a layer's own module (compositor.c): one uprobe of @layer on @cp's
 * function in the binary at @path, its outcome in the status table. True
 * when attached.
 */
bool layer_attach_uprobe(const struct features *f, enum sphinx_layer layer,
			 const struct capture_probe *cp, const char *path);

/* Is any probe of @layer attached? */
bool layer_active(enum sphinx_layer layer);
/*
 * The names of the active layers, NULL-terminated, into @names (room for
 * LAYER__COUNT + 1). Static strings. Returns the count.
 */
unsigned layers_active_names(const char **names);

/* "exec=active device=active api=active xserver=inactive" into @buf. */
void layers_describe(char *buf, size_t len);
/* For --status and the status file: the layers line, a placeholder row
 * for each inactive layer that has one, then the status table. */
void layers_print_status(FILE *out);

#endif
