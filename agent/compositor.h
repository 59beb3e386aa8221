/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The compositor layer: Wayland compositors that capture the screen for
 * their clients (GNOME's mutter and gnome-shell, KWin, the wlroots portal).
 *
 * This module owns which running processes are compositors (the BPF
 * `compositors` map), the probes that only matter in them (libpipewire's
 * node ids and stream ends, GDBus's method-call senders, libgnome-shell's
 * screenshot functions found from the running shell's own mappings), their
 * rows in the status table, and turning a compositor's record into a
 * capture of the client that asked for it: the D-Bus sender of the call is
 * named by the compositor's own session bus (GetConnectionUnixProcessID).
 *
 * Screen casts read by a client are seen on the client's side (its
 * pw_stream_connect to a node a compositor produces, sphinx.bpf.c); this
 * module only names the compositor API in that capture's evidence.
 *
 * Called by the loader (attach, status) and by events.c (process births,
 * deaths, records), all on the agent's main thread.
 */
#ifndef SPHINX_AGENT_COMPOSITOR_H
#define SPHINX_AGENT_COMPOSITOR_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "sphinx.h"

struct agent;
struct proc;

/* At start: the library probes every compositor needs (libpipewire,
 * libgio), attached by library path, in the status table. */
void compositor_attach(struct agent *a);

/*
 * @p was born or found running: when its executable is a compositor, mark
 * it for the BPF side and attach the probes inside its own libraries (once
 * per file). Does nothing for other processes.
 */
void compositor_watch(struct agent *a, const struct proc *p);

/* Each tick of the main loop: probes that wait for a library to load. */
void compositor_tick(struct agent *a);

/* Process @pid is gone: unmark it and forget the screen-cast nodes it
 * produced (PipeWire reuses node ids). */
void compositor_forget(struct agent *a, uint32_t pid);

/* A SPHINX_EV_COMPOSITOR record: a capture for the client that asked. */
void compositor_event(struct agent *a, const struct sphinx_compositor_event *e);

/*
 * What a capture record says was called, into @buf: the api name, and for
 * a screen-cast node the compositor and the D-Bus API that made it
 * ("pw_stream_connect: node 42 of mutter (pid 7) from
 * org.gnome.Mutter.ScreenCast.Session").
 */
void compositor_describe_capture(struct agent *a, const struct sphinx_capture_event *e,
				 char *buf, size_t len);

/* The compositor rows of `--status` when none is running. */
void compositor_print_status(const struct agent *a, FILE *out);

#endif
