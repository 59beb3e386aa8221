// SPDX-License-Identifier: GPL-2.0-only
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <unistd.h>
#include <linux/magic.h>

#include <bpf/libbpf.h>

#include "cleanup.h"
#include "probe.h"
#include "util.h"

#define CAP_SYS_ADMIN_BIT	21
#define CAP_PERFMON_BIT		38
#define CAP_BPF_BIT		39

static int effective_caps(uint64_t *ret)
{
	_cleanup_fclose_ FILE *f = fopen("/proc/self/status", "re");
	char line[256];

	if (!f)
		return -errno;
	while (fgets(line, sizeof(line), f)) {
		unsigned long long caps;

		if (sscanf(line, "CapEff: %llx", &caps) == 1) {
			*ret = caps;
			return 0;
		}
	}
	return -ENOENT;
}

static bool has_cap(uint64_t caps, int bit) { return caps & (1ull << bit); }

static bool is_fs(const char *path, long magic)
{
	struct statfs st;

	return statfs(path, &st) == 0 && st.f_type == magic;
}

/* tracefs at /sys/kernel/tracing, mounted there if nothing is. */
static int ensure_tracefs(struct features *f, char *why, size_t len)
{
	static const char *const dirs[] = { "/sys/kernel/tracing", "/sys/kernel/debug/tracing" };

	for (size_t i = 0; i < ARRAY_SIZE(dirs); i++) {
		if (is_fs(dirs[i], TRACEFS_MAGIC)) {
			snprintf(f->tracefs, sizeof(f->tracefs), "%s", dirs[i]);
			return 0;
		}
	}
	if (mount("tracefs", dirs[0], "tracefs", 0, NULL) == 0) {
		snprintf(f->tracefs, sizeof(f->tracefs), "%s", dirs[0]);
		return 0;
	}
	snprintf(why, len, "tracefs is not mounted and mounting it on %s failed: %s "
		 "(kernel without CONFIG_FTRACE?)", dirs[0], strerror(errno));
	return -ENOENT;
}

static void ensure_bpffs(void)
{
	/* Nothing is pinned today, but bpftool and operators expect it. */
	if (!is_fs("/sys/fs/bpf", BPF_FS_MAGIC))
		mount("bpf", "/sys/fs/bpf", "bpf", 0, NULL);
}

/* The device layer hooks the root of the cgroup v2 tree (unified, or the
 * "unified" mount of a hybrid set-up). */
static void find_cgroup2(struct features *f)
{
	static const char *const roots[] = { "/sys/fs/cgroup", "/sys/fs/cgroup/unified" };

	f->cgroup2[0] = '\0';
	for (size_t i = 0; i < sizeof(roots) / sizeof(roots[0]); i++)
		if (is_fs(roots[i], CGROUP2_SUPER_MAGIC)) {
			snprintf(f->cgroup2, sizeof(f->cgroup2), "%s", roots[i]);
			return;
		}
}

int probe_features(struct features *f, char *why, size_t len)
{
	uint64_t caps = 0;
	int err;

	memset(f, 0, sizeof(*f));
	if (effective_caps(&caps) < 0 ||
	    !(has_cap(caps, CAP_SYS_ADMIN_BIT) ||
	      (has_cap(caps, CAP_BPF_BIT) && has_cap(caps, CAP_PERFMON_BIT)))) {
		snprintf(why, len, "not enough privilege: run as root, or with CAP_BPF and "
			 "CAP_PERFMON (plus CAP_SYS_RESOURCE, CAP_DAC_READ_SEARCH)");
		return -EPERM;
	}
	if (access("/sys/kernel/btf/vmlinux", R_OK) != 0) {
		snprintf(why, len, "kernel has no BTF (/sys/kernel/btf/vmlinux missing): "
			 "CO-RE programs need CONFIG_DEBUG_INFO_BTF=y");
		return -ENOTSUP;
	}
	err = ensure_tracefs(f, why, len);
	if (err)
		return err;
	ensure_bpffs();

	f->tracepoint = libbpf_probe_bpf_prog_type(BPF_PROG_TYPE_TRACEPOINT, NULL) == 1;
	f->kprobe = libbpf_probe_bpf_prog_type(BPF_PROG_TYPE_KPROBE, NULL) == 1;
	f->ringbuf = libbpf_probe_bpf_map_type(BPF_MAP_TYPE_RINGBUF, NULL) == 1;
	f->cgroup_device = libbpf_probe_bpf_prog_type(BPF_PROG_TYPE_CGROUP_DEVICE, NULL) == 1;
	find_cgroup2(f);
	if (!f->tracepoint) {
		snprintf(why, len,
			 "the kernel refuses BPF tracepoint programs: the exec layer cannot run");
		return -ENOTSUP;
	}
	if (!f->ringbuf) {
		snprintf(why, len, "the kernel has no BPF ring buffer (needs Linux 5.8 or later)");
		return -ENOTSUP;
	}
	return 0;
}

bool probe_tracepoint_exists(const struct features *f, const char *category, const char *name)
{
	char path[256];

	snprintf(path, sizeof(path), "%s/events/%s/%s", f->tracefs, category, name);
	return access(path, F_OK) == 0;
}
