// SPDX-License-Identifier: GPL-2.0-only
/*
 * The device layer's user-space half. Device opens are seen by the device
 * cgroup hook, by device number: the policy names paths, so they are turned
 * into numbers here. The ioctl check needs a syscall tracepoint, which
 * would put every system call on the machine on the slow path (+50 to
 * 130 ns each, measured): it is attached only while a process other than a
 * display server holds a watched device, and detached when the last one
 * exits.
 */
#include <errno.h>
#include <glob.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "cleanup.h"
#include "devices.h"
#include "loader.h"
#include "log.h"
#include "policy.h"
#include "sphinx.h"
#include "sphinx.skel.h"
#include "status.h"

/* How the kernel numbers and names each kind of device a prefix can mean. */
static const struct device_kind {
	const char *name;	/* devtmpfs name, minor appended */
	uint32_t major, first, last;
	enum sphinx_device device;
} kinds[] = {
	{ "/dev/fb", 29, 0, 31, SPHINX_DEV_FB },
	{ "/dev/dri/card", 226, 0, 63, SPHINX_DEV_DRM },
	{ "/dev/dri/renderD", 226, 128, 191, SPHINX_DEV_DRM },
	{ "/dev/video", 81, 0, 255, SPHINX_DEV_OTHER },
};

/* Compositors and display servers open the GPU and fetch its scan-out
 * buffer at start-up by design; their ioctls are not followed. */
static const char *const display_servers[] = {
	"Xorg", "Xwayland", "Xvfb", "Xephyr", "Xvnc", "Xtigervnc", "Xfbdev", "weston", "sway",
	"gnome-shell", "kwin_wayland", "mutter", "Hyprland", "labwc", "wayfire", "river", "cage",
	"plymouthd", "systemd-logind",
};

static uint32_t holders[DEVICES_MAX_HOLDERS];
static unsigned n_holders;
static struct bpf_link *ioctl_link;	/* while n_holders > 0 */
static struct probe_status *ioctl_row;

static int watch(int fd, uint32_t major, uint32_t minor, enum sphinx_device device)
{
	struct sphinx_device_key key = { .major = major, .minor = minor };
	__u32 value = device;

	return bpf_map_update_elem(fd, &key, &value, BPF_ANY) < 0 ? -errno : 0;
}

static enum sphinx_device device_of(const char *path)
{
	if (strncmp(path, "/dev/fb", 7) == 0)
		return SPHINX_DEV_FB;
	if (strncmp(path, "/dev/dri/", 9) == 0)
		return SPHINX_DEV_DRM;
	return SPHINX_DEV_OTHER;
}

/* The nodes that exist under @prefix now (udev may name them its own way). */
static int watch_existing(int fd, const char *prefix)
{
	char pattern[PATH_MAX];
	glob_t g = { 0 };
	int n = 0;

	snprintf(pattern, sizeof(pattern), "%s*", prefix);
	if (glob(pattern, GLOB_NOSORT, NULL, &g) != 0)
		return 0;
	for (size_t i = 0; i < g.gl_pathc; i++) {
		struct stat st;

		if (stat(g.gl_pathv[i], &st) == 0 && S_ISCHR(st.st_mode) &&
		    watch(fd, major(st.st_rdev), minor(st.st_rdev), device_of(g.gl_pathv[i])) == 0)
			n++;
	}
	globfree(&g);
	return n;
}

int devices_watch(const struct policy *policy)
{
	int fd = bpf_map__fd(loader_skel()->maps.watch_devices);
	struct sphinx_device_key next;
	char **prefixes = NULL;
	int n, err = 0;

	/* Empty the table, then fill it from the policy in force. */
	while (bpf_map_get_next_key(fd, NULL, &next) == 0)
		bpf_map_delete_elem(fd, &next);
	n = policy_device_prefixes(policy, &prefixes);
	if (n < 0)
		return n;
	for (int i = 0; i < n; i++) {
		const char *prefix = prefixes[i];
		size_t len = strlen(prefix);
		int watched;

		if (strncmp(prefix, "/dev/", 5) != 0) {
			log_warn("policy: device prefix '%s' ignored: must start with /dev/",
				 prefix);
			continue;
		}
		watched = watch_existing(fd, prefix);
		/* A prefix means every kind whose name it starts, or that
		 * starts it: /dev/dri/ both card and renderD, /dev/fb0 fb. */
		for (size_t k = 0; k < ARRAY_SIZE(kinds); k++) {
			size_t klen = strlen(kinds[k].name);

			if (strncmp(kinds[k].name, prefix, len < klen ? len : klen) != 0)
				continue;
			for (uint32_t m = kinds[k].first; m <= kinds[k].last; m++) {
				char name[64];

				/* /dev/fb0 means fb0 only, not fb1. */
				snprintf(name, sizeof(name), "%s%u", kinds[k].name, m);
				if (len > klen && strncmp(name, prefix, len) != 0)
					continue;
				if (watch(fd, kinds[k].major, m, kinds[k].device) == 0)
					watched++;
				else
					err = -errno;
			}
		}
		if (!watched)
			log_warn("policy: device prefix '%s' names no device the agent knows "
				 "(none exists now, and it is none of /dev/fb, /dev/dri/card, "
				 "/dev/dri/renderD, /dev/video)", prefix);
		else
			log_debug("device prefix %s: %d device numbers watched", prefix, watched);
	}
	policy_strv_free(prefixes);
	return err;
}

void devices_name(uint32_t major, uint32_t minor, char *path, size_t len)
{
	_cleanup_fclose_ FILE *f = NULL;
	char file[64], line[256];

	snprintf(file, sizeof(file), "/sys/dev/char/%u:%u/uevent", major, minor);
	f = fopen(file, "re");
	while (f && fgets(line, sizeof(line), f))
		if (strncmp(line, "DEVNAME=", 8) == 0) {
			line[strcspn(line, "\n")] = '\0';
			snprintf(path, len, "/dev/%s", line + 8);
			return;
		}
	for (size_t k = 0; k < ARRAY_SIZE(kinds); k++)
		if (kinds[k].major == major && minor >= kinds[k].first && minor <= kinds[k].last) {
			snprintf(path, len, "%s%u", kinds[k].name, minor);
			return;
		}
	snprintf(path, len, "/dev/char/%u:%u", major, minor);
}

static bool is_display_server(const char *exe)
{
	const char *base = exe ? strrchr(exe, '/') : NULL;

	base = base ? base + 1 : exe;
	for (size_t i = 0; base && i < ARRAY_SIZE(display_servers); i++)
		if (strcmp(base, display_servers[i]) == 0)
			return true;
	return false;
}

void devices_attach(struct probe_status *row)
{
	ioctl_row = row;
}

void devices_hold(uint32_t pid, const char *exe)
{
	struct bpf_program *prog = loader_skel()->progs.handle_ioctl;

	if (is_display_server(exe) || !bpf_program__autoload(prog))
		return;
	for (unsigned i = 0; i < n_holders; i++)
		if (holders[i] == pid)
			return;
	if (n_holders == ARRAY_SIZE(holders)) {
		log_warn("device layer: more than %zu processes hold capture devices; "
			 "pid %u's ioctls are followed only while others are",
			 ARRAY_SIZE(holders), pid);
		return;
	}
	holders[n_holders++] = pid;
	if (ioctl_link)
		return;
	ioctl_link = bpf_program__attach(prog);
	if (!ioctl_link) {
		const char *why = strerror(errno);

		log_warn("device layer: cannot follow ioctls of pid %u: %s", pid, why);
		status_set(ioctl_row, PROBE_FAILED, why);
		return;
	}
	log_info("device layer: following ioctls while pid %u (%s) holds a capture device", pid,
		 exe ? exe : "?");
}

void devices_release(uint32_t pid)
{
	for (unsigned i = 0; i < n_holders; i++) {
		if (holders[i] != pid)
			continue;
		holders[i] = holders[--n_holders];
		if (n_holders == 0 && ioctl_link) {
			bpf_link__destroy(ioctl_link);
			ioctl_link = NULL;
			log_info("device layer: no process holds a capture device; ioctls no "
				 "longer followed");
		}
		return;
	}
}

void devices_detach(void)
{
	bpf_link__destroy(ioctl_link);
	ioctl_link = NULL;
	n_holders = 0;
	ioctl_row = NULL;
}
