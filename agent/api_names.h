/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Names for the kernel's enum values, as policy fields and JSON show them,
 * the layer each capture call belongs to, and the tables of capture
 * functions the api and X server layers attach to.
 *
 * Owns: constant tables only. Callers: layer.c (probe tables), events.c
 * (names and layers of kernel records), tests.
 */
#ifndef SPHINX_API_NAMES_H
#define SPHINX_API_NAMES_H

#include <stdbool.h>

#include "layer.h"

struct capture_probe {
	const char *library;	/* soname, resolved to a path at start */
	const char *function;
	const char *program;	/* BPF program name in the skeleton */
	bool retprobe;
	/* Only without the X server layer, which sees the same requests:
	 * copies and composites are hot in ordinary drawing (terminals
	 * scrolling, cairo-xcb, Qt, picom), and a libxcb entry point is
	 * single-stepped (~10 us a call here). */
	bool fallback;
};

extern const struct capture_probe capture_probes[];
extern const unsigned n_capture_probes;
extern const struct capture_probe xserver_probes[];
extern const unsigned n_xserver_probes;

/* Is @exe (a path) an X server whose internals the xserver layer hooks? */
bool is_xserver_exe(const char *exe);

/* The name of enum sphinx_api value @api; "unknown" out of range. */
const char *api_name(unsigned api);
/*
 * The layer whose probes report capture call @api (a device ioctl, a client
 * library call, a read inside the X server, glamor's included). Out of
 * range: LAYER_API.
 */
enum sphinx_layer api_layer(unsigned api);
const char *target_name(unsigned target);
/* "read", "write" or "readwrite" from open flags. */
const char *open_access_name(unsigned flags);

#endif
