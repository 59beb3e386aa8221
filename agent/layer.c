// SPDX-License-Identifier: GPL-2.0-only
/*
 * The layer table (layer.h) and each layer's attach code. The exec layer
 * is required; the others attach what they can and record the rest in the
 * status table with the reason, so `--status` and the start-up log say
 * plainly what this machine is watching.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "api_names.h"
#include "cleanup.h"
#include "compositor.h"
#include "devices.h"
#include "layer.h"
#include "libpath.h"
#include "loader.h"
#include "log.h"
#include "probe.h"
#include "sphinx.h"
#include "sphinx.skel.h"
#include "status.h"
#include "uprobe_site.h"
#include "xserver.h"

struct layer {
	const char *name;		/* records, hello, log, --status */
	enum policy_category category;	/* what its capture records match as */
	/* Before load: switch off what this kernel cannot load. */
	void (*prepare)(struct sphinx_bpf *skel, const struct features *f);
	/* At start; NULL for a layer that attaches later (X servers). */
	int (*attach)(const struct features *f);
	/* Beyond the links the loader destroys; may be NULL. */
	void (*detach)(void);
	/* The status placeholder while the layer is inactive; may be NULL. */
	const char *idle_probe, *idle_why;
};

static void prepare_exec(struct sphinx_bpf *skel, const struct features *f);
static void prepare_device(struct sphinx_bpf *skel, const struct features *f);
static void prepare_uprobes(struct sphinx_bpf *skel, const struct features *f);
static int attach_exec(const struct features *f);
static int attach_device(const struct features *f);
static int attach_api(const struct features *f);

static const struct layer layers[] = {
	[LAYER_EXEC] = {
		.name = "exec",
		.category = POLICY_CAT_PROCESS_CREATION,
		.prepare = prepare_exec,
		.attach = attach_exec,
	},
	[LAYER_DEVICE] = {
		.name = "device",
		.category = POLICY_CAT_FILE_ACCESS,
		.prepare = prepare_device,
		.attach = attach_device,
		.detach = devices_detach,
	},
	[LAYER_API] = {
		.name = "api",
		.category = POLICY_CAT_SCREEN_CAPTURE,
		.prepare = prepare_uprobes,
		.attach = attach_api,
	},
	[LAYER_XSERVER] = {
		.name = "xserver",
		.category = POLICY_CAT_SCREEN_CAPTURE,
		.prepare = prepare_uprobes,
		.idle_probe = "fbGetImage, fbCopyArea, ...",
		.idle_why = "no X server running (attached when one starts)",
	},
	[LAYER_COMPOSITOR] = {
		.name = "compositor",
		.category = POLICY_CAT_SCREEN_CAPTURE,
		.prepare = prepare_uprobes,
		.attach = compositor_attach,
		.detach = compositor_detach,
		.idle_probe = "mutter, gnome-shell, kwin_wayland, ...",
		.idle_why = "no probe in place (libpipewire, libgio)",
	},
};
_Static_assert(ARRAY_SIZE(layers) == LAYER__COUNT, "one row of layers[] per enum sphinx_layer");

const char *layer_name(enum sphinx_layer layer)
{
	return (unsigned)layer < LAYER__COUNT && layers[layer].name ? layers[layer].name
								    : "unknown";
}

enum policy_category layer_category(enum sphinx_layer layer)
{
	return (unsigned)layer < LAYER__COUNT ? layers[layer].category : POLICY_CAT_SCREEN_CAPTURE;
}

bool layer_active(enum sphinx_layer layer)
{
	return status_layer_active(layer);
}

unsigned layers_active_names(const char **names)
{
	unsigned n = 0;

	for (unsigned l = 0; l < LAYER__COUNT; l++)
		if (layer_active(l))
			names[n++] = layers[l].name;
	names[n] = NULL;
	return n;
}

void layers_describe(char *buf, size_t len)
{
	size_t off = 0;

	buf[0] = '\0';
	for (unsigned l = 0; l < LAYER__COUNT && off < len; l++)
		off += snprintf(buf + off, len - off, "%s%s=%s", l ? " " : "", layers[l].name,
				layer_active(l) ? "active" : "inactive");
}

void layers_print_status(FILE *out)
{
	char line[256];

	layers_describe(line, sizeof(line));
	fprintf(out, "layers: %s\n", line);
	for (unsigned l = 0; l < LAYER__COUNT; l++)
		if (layers[l].idle_probe && !layer_active(l))
			status_print_line(out, layers[l].name, layers[l].idle_probe,
					  PROBE_NOT_AVAILABLE, layers[l].idle_why);
	status_print_rows(out);
}

/* ------------------------------------------------------------ tracepoints */

/* Syscall tracepoints this kernel lacks are left out before load instead
 * of failing the whole object. */
struct tracepoint_prog {
	enum sphinx_layer layer;
	const char *category, *event;
	struct bpf_program *(*prog)(struct sphinx_bpf *);
};

static struct bpf_program *p_exec(struct sphinx_bpf *s) { return s->progs.handle_exec; }
static struct bpf_program *p_exit(struct sphinx_bpf *s) { return s->progs.handle_exit; }
static struct bpf_program *p_ioctl(struct sphinx_bpf *s) { return s->progs.handle_ioctl; }

static const struct tracepoint_prog tracepoints[] = {
	{ LAYER_EXEC, "sched", "sched_process_exec", p_exec },
	{ LAYER_EXEC, "sched", "sched_process_exit", p_exit },
	/* Attached on demand (devices.c): only its availability here. */
	{ LAYER_DEVICE, "syscalls", "sys_enter_ioctl", p_ioctl },
};

static void prepare_tracepoints(struct sphinx_bpf *skel, const struct features *f,
				enum sphinx_layer layer)
{
	for (size_t i = 0; i < ARRAY_SIZE(tracepoints); i++) {
		const struct tracepoint_prog *t = &tracepoints[i];

		if (t->layer == layer && !probe_tracepoint_exists(f, t->category, t->event))
			bpf_program__set_autoload(t->prog(skel), false);
	}
}

/*
 * The tracepoints of @layer, each with its status row. The on-demand ioctl
 * tracepoint is only checked for here; its row is returned in @ioctl_row.
 */
static void attach_tracepoints(enum sphinx_layer layer, struct probe_status **ioctl_row)
{
	struct sphinx_bpf *skel = loader_skel();

	for (size_t i = 0; i < ARRAY_SIZE(tracepoints); i++) {
		const struct tracepoint_prog *t = &tracepoints[i];
		struct bpf_program *prog = t->prog(skel);
		char where[128];
		struct probe_status *s;
		struct bpf_link *link;

		if (t->layer != layer)
			continue;
		snprintf(where, sizeof(where), "tracepoint/%s/%s", t->category, t->event);
		s = status_add(layer, layer_name(layer), t->event, where);
		if (prog == skel->progs.handle_ioctl && ioctl_row)
			*ioctl_row = s;
		if (!bpf_program__autoload(prog)) {
			status_set(s, PROBE_NOT_AVAILABLE, "tracepoint not in this kernel");
			continue;
		}
		if (prog == skel->progs.handle_ioctl) {
			status_rename(s, DEVICES_IOCTL_PROBE);
			status_set(s, PROBE_ATTACHED, NULL);
			continue;
		}
		link = bpf_program__attach(prog);
		if (!link) {
			status_set(s, PROBE_FAILED, strerror(errno));
			continue;
		}
		loader_keep_link(link);
		status_set(s, PROBE_ATTACHED, NULL);
	}
}

/* ------------------------------------------------------------------ exec */

static void prepare_exec(struct sphinx_bpf *skel, const struct features *f)
{
	prepare_tracepoints(skel, f, LAYER_EXEC);
}

static int attach_exec(const struct features *f)
{
	attach_tracepoints(LAYER_EXEC, NULL);
	/* Both tracepoints, or no process table worth the name. */
	for (size_t i = 0; i < ARRAY_SIZE(tracepoints); i++) {
		const struct tracepoint_prog *t = &tracepoints[i];
		struct probe_status *s;
		char where[128];

		if (t->layer != LAYER_EXEC)
			continue;
		snprintf(where, sizeof(where), "tracepoint/%s/%s", t->category, t->event);
		s = status_find(LAYER_EXEC, where);
		if (status_state(s) != PROBE_ATTACHED) {
			log_err("cannot attach the exec layer (sched_process_exec/exit): %s",
				status_why(s));
			return -ENOTSUP;
		}
	}
	return 0;
}

/* ---------------------------------------------------------------- device */

static void prepare_device(struct sphinx_bpf *skel, const struct features *f)
{
	prepare_tracepoints(skel, f, LAYER_DEVICE);
	if (!f->cgroup_device || !f->cgroup2[0])
		bpf_program__set_autoload(skel->progs.handle_device_open, false);
}

/*
 * Device opens: the device cgroup hook at the root of the cgroup v2 tree
 * sees every process's opens of device nodes (a link: other programs there,
 * systemd's DevicePolicy= among them, keep running beside it).
 */
static bool attach_open_hook(const struct features *f)
{
	struct bpf_program *prog = loader_skel()->progs.handle_device_open;
	const char *root = f->cgroup2[0] ? f->cgroup2 : "/sys/fs/cgroup";
	struct probe_status *s = status_add(LAYER_DEVICE, layer_name(LAYER_DEVICE),
					    "device opens (cgroup/dev)", root);
	_cleanup_close_ int fd = -1;
	struct bpf_link *link;

	if (!f->cgroup2[0]) {
		status_set(s, PROBE_NOT_AVAILABLE, "no cgroup v2 hierarchy mounted");
		return false;
	}
	if (!bpf_program__autoload(prog)) {
		status_set(s, PROBE_NOT_AVAILABLE, "the kernel refuses cgroup device programs");
		return false;
	}
	fd = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0) {
		status_set(s, PROBE_FAILED, strerror(errno));
		return false;
	}
	link = bpf_program__attach_cgroup(prog, fd);
	if (!link) {
		status_set(s, PROBE_FAILED, strerror(errno));
		return false;
	}
	loader_keep_link(link);
	status_set(s, PROBE_ATTACHED, NULL);
	return true;
}

/* The on-demand ioctl check follows the devices the open hook sees:
 * without that hook it never runs, and the status says so. */
static int attach_device(const struct features *f)
{
	struct probe_status *ioctl_row = NULL;

	attach_tracepoints(LAYER_DEVICE, &ioctl_row);
	if (!attach_open_hook(f) && status_state(ioctl_row) == PROBE_ATTACHED)
		status_set(ioctl_row, PROBE_NOT_AVAILABLE,
			   "follows the devices the open hook sees, and it is not attached");
	devices_attach(ioctl_row);
	return 0;
}

/* --------------------------------------------------------------- uprobes */

/* No uprobes on this kernel: the api and X server layers load without
 * their programs (every kprobe-type program is one of theirs). */
static void prepare_uprobes(struct sphinx_bpf *skel, const struct features *f)
{
	struct bpf_program *prog;

	if (f->kprobe)
		return;
	bpf_object__for_each_program(prog, skel->obj)
		if (bpf_program__type(prog) == BPF_PROG_TYPE_KPROBE)
			bpf_program__set_autoload(prog, false);
}

/*
 * One uprobe of @layer on @cp's function in the binary at @path, its
 * outcome in the status table. True when attached.
 */
static bool attach_uprobe(const struct features *f, enum sphinx_layer layer,
			  const struct capture_probe *cp, const char *path)
{
	LIBBPF_OPTS(bpf_uprobe_opts, opts, .func_name = cp->function, .retprobe = cp->retprobe);
	struct probe_status *s = status_add(layer, layer_name(layer), cp->function, path);
	struct bpf_program *prog =
		bpf_object__find_program_by_name(loader_skel()->obj, cp->program);
	struct bpf_link *link;
	uint8_t code[64];
	size_t site = 0;
	int n;

	if (!f->kprobe || !prog || !bpf_program__autoload(prog)) {
		status_set(s, PROBE_NOT_AVAILABLE, "uprobe programs refused by this kernel");
		return false;
	}
	/* A return probe must sit at the entry; others where the kernel
	 * emulates the instruction instead of single-stepping it. */
	if (!cp->retprobe && (n = uprobe_site_read(path, cp->function, code, sizeof(code))) > 0)
		site = uprobe_site(code, (size_t)n);
	if (site)
		log_debug("uprobe %s in %s: at +0x%zx, an emulated instruction", cp->function,
			  path, site);
	link = bpf_program__attach_uprobe_opts(prog, -1, path, site, &opts);
	if (!link) {
		int err = errno;

		status_set(s, err == ENOENT ? PROBE_NOT_AVAILABLE : PROBE_FAILED,
			   err == ENOENT ? "symbol not found (stripped or not exported)"
					 : strerror(err));
		return false;
	}
	loader_keep_link(link);
	status_set(s, PROBE_ATTACHED, NULL);
	return true;
}

bool layer_attach_uprobe(const struct features *f, enum sphinx_layer layer,
			 const struct capture_probe *cp, const char *path)
{
	return attach_uprobe(f, layer, cp, path);
}

static void attach_uprobes(const struct features *f, bool fallback)
{
	for (unsigned i = 0; i < n_capture_probes; i++) {
		const struct capture_probe *cp = &capture_probes[i];
		char path[512];

		if (cp->fallback != fallback)
			continue;
		if (fallback && layer_active(LAYER_XSERVER)) {
			status_set(status_add(LAYER_API, layer_name(LAYER_API), cp->function,
					      cp->library),
				   PROBE_NOT_AVAILABLE,
				   "left out: the X server layer sees these requests");
			continue;
		}
		if (libpath_resolve(cp->library, path, sizeof(path)) < 0) {
			status_set(status_add(LAYER_API, layer_name(LAYER_API), cp->function,
					      cp->library),
				   PROBE_NOT_AVAILABLE, "library not installed");
			continue;
		}
		attach_uprobe(f, LAYER_API, cp, path);
	}
}

static int attach_api(const struct features *f)
{
	attach_uprobes(f, false);
	return 0;
}

void layers_attach_fallbacks(const struct features *f)
{
	attach_uprobes(f, true);
}

/* --------------------------------------------------------------- xserver */

#define XORG_GLAMOR_MODULE "/usr/lib/xorg/modules/libglamoregl.so"

static bool is_xorg(const char *path)
{
	const char *base = strrchr(path, '/');

	return strcmp(base ? base + 1 : path, "Xorg") == 0;
}

/*
 * The X server layer: uprobes in the server binary, found from the running
 * server process (/proc/PID/exe), never a fixed path; each binary once.
 * Each server process also tells the probes where its client table is.
 */
int layer_xserver_attach(const struct features *f, uint32_t pid)
{
	int map_fd = bpf_map__fd(loader_skel()->maps.x_servers);
	char link[64], path[512], why[128];
	bool known;
	ssize_t n;
	int attached = 0;

	snprintf(link, sizeof(link), "/proc/%u/exe", pid);
	n = readlink(link, path, sizeof(path) - 1);
	if (n <= 0)
		return -errno;
	path[n] = '\0';
	known = status_find(LAYER_XSERVER, path) != NULL;
	if (xserver_register(map_fd, pid, path, why, sizeof(why)) < 0) {
		log_warn("xserver layer: %s (pid %u): reads inside this server are not seen", why,
			 pid);
		if (!known)
			status_set(status_add(LAYER_XSERVER, layer_name(LAYER_XSERVER),
					      "clients (client table)", path),
				   PROBE_FAILED, why);
		return 0;
	}
	if (known) {
		log_info("xserver layer: %s (pid %u) watched, its probes already in place", path,
			 pid);
		return 0;
	}
	status_set(status_add(LAYER_XSERVER, layer_name(LAYER_XSERVER), "clients (client table)",
			      path),
		   PROBE_ATTACHED, NULL);
	for (unsigned i = 0; i < n_xserver_probes; i++) {
		const struct capture_probe *xp = &xserver_probes[i];
		const char *where = path;

		/* Xorg loads glamor as a module; Xwayland has it built in. */
		if (strncmp(xp->function, "glamor_", 7) == 0 && is_xorg(path) &&
		    access(XORG_GLAMOR_MODULE, R_OK) == 0)
			where = XORG_GLAMOR_MODULE;
		attached += attach_uprobe(f, LAYER_XSERVER, xp, where);
	}
	log_info("xserver layer: %d of %u probes attached in %s (pid %u)", attached,
		 n_xserver_probes, path, pid);
	return attached;
}

void layer_xserver_forget(uint32_t pid)
{
	xserver_forget(bpf_map__fd(loader_skel()->maps.x_servers), pid);
}

/* ------------------------------------------------------------- the table */

void layers_prepare(const struct features *f)
{
	struct sphinx_bpf *skel = loader_skel();

	for (unsigned l = 0; l < LAYER__COUNT; l++)
		if (layers[l].prepare)
			layers[l].prepare(skel, f);
}

int layers_attach(const struct features *f)
{
	for (unsigned l = 0; l < LAYER__COUNT; l++) {
		int err = layers[l].attach ? layers[l].attach(f) : 0;

		if (err)
			return err;
	}
	return 0;
}

void layers_detach(void)
{
	for (unsigned l = 0; l < LAYER__COUNT; l++)
		if (layers[l].detach)
			layers[l].detach();
}
