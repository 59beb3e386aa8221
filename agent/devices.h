/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The device layer's user-space half: which character devices the kernel
 * watches (from the policy's path prefixes), their /dev names, and the
 * on-demand ioctl tracepoint that follows the processes holding one.
 *
 * Owns: the holders (processes that opened a watched device, at most
 * DEVICES_MAX_HOLDERS), the ioctl tracepoint's link while any is held, and
 * the ioctl row of the status table (given by layer.c, updated here).
 * Callers: layer.c (devices_attach, devices_detach), main.c (devices_watch
 * at start and on reload), events.c (hold, release, name). Uses the loaded
 * object through loader_skel(). Single-threaded.
 */
#ifndef SPHINX_AGENT_DEVICES_H
#define SPHINX_AGENT_DEVICES_H

#include <stddef.h>
#include <stdint.h>

struct policy;
struct probe_status;

/* The status row name of the on-demand ioctl tracepoint. */
#define DEVICES_IOCTL_PROBE "sys_enter_ioctl (on demand)"
#define DEVICES_MAX_HOLDERS 64

/*
 * The device layer attaches: its ioctl tracepoint's status row is @ioctl_row
 * (may be NULL), which devices_hold() marks failed when the kernel refuses
 * the tracepoint later.
 */
void devices_attach(struct probe_status *ioctl_row);
/* Detach the ioctl tracepoint if attached and forget every holder. */
void devices_detach(void);

/*
 * Fill the kernel's table of watched character devices from the policy's
 * path prefixes (/dev/fb, /dev/dri/card, ...): the device nodes that exist
 * under them, and the numbers the kernel gives such devices. 0 or -errno.
 */
int devices_watch(const struct policy *policy);

/* The /dev path of character device @major:@minor: its sysfs name, else
 * the kernel's own naming for its class, else /dev/char/MAJ:MIN. */
void devices_name(uint32_t major, uint32_t minor, char *path, size_t len);

/*
 * Process @pid opened a watched device: until it exits, follow ioctls (the
 * DRM GETFB/GETFB2 and fbdev FBIOGET_VSCREENINFO checks). The syscall
 * tracepoint is attached only while some process is held; display servers
 * are not followed.
 */
void devices_hold(uint32_t pid, const char *exe);
/* Process @pid has exited. */
void devices_release(uint32_t pid);

#endif
