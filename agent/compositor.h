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
 * Owns: the compositor processes found, the screen casts they started
 * for clients (until the stream stops), the D-Bus callers named so far,
 * and the status rows of this layer. Callers: layer.c (the layer's
 * attach/detach row), events.c (process births, deaths, records, ticks),
 * main.c (--status probe run, status file). Single-threaded: the main
 * loop; the one blocking call (naming a D-Bus caller, under a second) runs
 * a child process with the desktop user's ids.
 */
#ifndef SPHINX_AGENT_COMPOSITOR_H
#define SPHINX_AGENT_COMPOSITOR_H

#include <stddef.h>
#include <stdint.h>

#include "sphinx.h"

#include <stdbool.h>

struct features;
struct proc;
struct proc_table;

/* The layer's attach (layer.c's table): the library probes every
 * compositor needs (libpipewire, libgio), attached by library path, in
 * the status table. Always 0. */
int compositor_attach(const struct features *f);
/* The layer's detach: forget the module's state (links are the loader's). */
void compositor_detach(void);

/*
 * @p was born or found running: when its executable is a compositor, mark
 * it for the BPF side and attach the probes inside its own libraries (once
 * per file). Does nothing for other processes.
 */
void compositor_watch(const struct features *f, const struct proc *p);

/* Each tick of the main loop: probes that wait for a library to load. */
void compositor_tick(const struct features *f);
/* Were status rows added since the last call? (main.c rewrites its file.) */
bool compositor_status_changed(void);

/* Process @pid is gone: unmark it and forget the screen-cast nodes it
 * produced (PipeWire reuses node ids). */
void compositor_forget(uint32_t pid);

/* A SPHINX_EV_COMPOSITOR record: a capture for the client that asked
 * (processes looked up, and loaded, in @procs). */
void compositor_event(struct proc_table *procs, const struct sphinx_compositor_event *e);

/*
 * What a capture record says was called, into @buf: the api name, and for
 * a screen-cast node the compositor and the D-Bus API that made it
 * ("pw_stream_connect: node 42 of mutter (pid 7) from
 * org.gnome.Mutter.ScreenCast.Session").
 */
void compositor_describe_capture(struct proc_table *procs, const struct sphinx_capture_event *e,
				 char *buf, size_t len);

#endif
