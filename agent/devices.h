/* SPDX-License-Identifier: GPL-2.0-only */
#ifndef SPHINX_AGENT_DEVICES_H
#define SPHINX_AGENT_DEVICES_H

#include <stddef.h>
#include <stdint.h>

struct agent;

/* The status row of the on-demand ioctl tracepoint (loader.c adds it). */
#define DEVICES_IOCTL_PROBE "sys_enter_ioctl (on demand)"

/*
 * Fill the kernel's table of watched character devices from the policy's
 * path prefixes (/dev/fb, /dev/dri/card, ...): the device nodes that exist
 * under them, and the numbers the kernel gives such devices. 0 or -errno.
 */
int devices_watch(struct agent *a);

/* The /dev path of character device @major:@minor: its sysfs name, else
 * the kernel's own naming for its class, else /dev/char/MAJ:MIN. */
void devices_name(uint32_t major, uint32_t minor, char *path, size_t len);

/*
 * Process @pid opened a watched device: until it exits, follow ioctls (the
 * DRM GETFB/GETFB2 and fbdev FBIOGET_VSCREENINFO checks). The syscall
 * tracepoint is attached only while some process is held; display servers
 * are not followed.
 */
void devices_hold(struct agent *a, uint32_t pid, const char *exe);
/* Process @pid has exited. */
void devices_release(struct agent *a, uint32_t pid);

#endif
