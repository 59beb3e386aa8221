/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The BPF object: open it, load it, keep the links attached to it, and
 * destroy it all at the end. Which programs load and what attaches where
 * is the layers' business (layer.h); this module only holds the object
 * and its links, so that one call detaches everything.
 *
 * Owns: the skeleton (struct sphinx_bpf) and the links of every probe
 * attached for the agent's lifetime.
 * Callers: main.c (open, load, destroy, the ring buffer's map), layer.c
 * (programs, keep_link), devices.c (its map and on-demand program),
 * xserver hooks through layer.c. Single-threaded.
 */
#ifndef SPHINX_AGENT_LOADER_H
#define SPHINX_AGENT_LOADER_H

struct sphinx_bpf;
struct bpf_link;

/* Open the object and set its read-only options. 0 or -errno (logged). */
int loader_open(void);
/* Load into the kernel what the layers left enabled. 0 or -errno (logged).
 * On failure the object is destroyed. */
int loader_load(void);
/* The skeleton, between loader_open() and loader_destroy(); else NULL. */
struct sphinx_bpf *loader_skel(void);
/* Keep @link until loader_destroy() (destroyed at once past the cap). */
void loader_keep_link(struct bpf_link *link);
/* Detach every kept link and free the object. NULL-safe, repeatable. */
void loader_destroy(void);

#endif
