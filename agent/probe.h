/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * What this machine allows, checked before anything is loaded: privileges,
 * kernel BTF, tracefs and bpffs (mounted when absent), the program and map
 * types the agent needs. Each missing piece is a message that names it.
 *
 * Owns: nothing; fills the caller's struct features. Callers: main.c once at
 * start; layer.c reads the features to decide what loads and attaches.
 */
#ifndef SPHINX_PROBE_H
#define SPHINX_PROBE_H

#include <stdbool.h>
#include <stddef.h>

struct features {
	bool tracepoint;	/* BPF_PROG_TYPE_TRACEPOINT loads */
	bool kprobe;		/* BPF_PROG_TYPE_KPROBE loads: uprobes */
	bool ringbuf;
	bool cgroup_device;	/* BPF_PROG_TYPE_CGROUP_DEVICE loads */
	char tracefs[64];	/* where tracefs is mounted */
	char cgroup2[64];	/* the cgroup v2 root, or "" */
};

/*
 * Check the hard requirements. 0, or -errno with a one-line explanation
 * in @why (for the caller to log).
 */
int probe_features(struct features *f, char *why, size_t len);
/* Is this syscall/event tracepoint present, e.g. ("syscalls", "sys_enter_ioctl")? */
bool probe_tracepoint_exists(const struct features *f, const char *category, const char *name);

#endif
