// SPDX-License-Identifier: GPL-2.0-only
/*
 * Open, configure, load and attach the BPF object, layer by layer. The exec
 * layer is required; the device and api layers attach what they can and
 * record the rest in the status table with the reason, so `--status` and
 * the start-up log say plainly what this machine is watching.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "agent.h"
#include "api_names.h"
#include "cleanup.h"
#include "compositor.h"
#include "devices.h"
#include "libpath.h"
#include "log.h"
#include "sphinx.h"
#include "sphinx.skel.h"
#include "uprobe_site.h"
#include "xserver.h"

static struct probe_status *add_status(struct agent *a, const char *layer, const char *name,
				       const char *where)
{
	struct probe_status *s;

	if (a->n_probes >= AGENT_MAX_PROBES)
		return NULL;
	s = &a->probes[a->n_probes++];
	memset(s, 0, sizeof(*s));
	s->layer = layer;
	snprintf(s->name, sizeof(s->name), "%s", name);
	snprintf(s->where, sizeof(s->where), "%s", where);
	return s;
}

static void set_state(struct probe_status *s, enum probe_state state, const char *why)
{
	if (!s)
		return;
	s->state = state;
	snprintf(s->why, sizeof(s->why), "%s", why ? why : "");
}

static void keep_link(struct agent *a, struct bpf_link *link)
{
	if (a->n_links < AGENT_MAX_PROBES)
		a->links[a->n_links++] = link;
	else
		bpf_link__destroy(link);
}

/* Syscall tracepoints this kernel lacks (openat2 before 5.6, open on
 * arm64) are left out before load instead of failing the whole object. */
struct tracepoint_prog {
	const char *layer;
	const char *category, *event;
	struct bpf_program *(*prog)(struct sphinx_bpf *);
};

static struct bpf_program *p_exec(struct sphinx_bpf *s) { return s->progs.handle_exec; }
static struct bpf_program *p_exit(struct sphinx_bpf *s) { return s->progs.handle_exit; }
static struct bpf_program *p_ioctl(struct sphinx_bpf *s) { return s->progs.handle_ioctl; }

static const struct tracepoint_prog tracepoints[] = {
	{ "exec", "sched", "sched_process_exec", p_exec },
	{ "exec", "sched", "sched_process_exit", p_exit },
	/* Attached on demand (devices.c): only its availability here. */
	{ "device", "syscalls", "sys_enter_ioctl", p_ioctl },
};

static int libbpf_print(enum libbpf_print_level level, const char *fmt, va_list args)
{
	char buf[1024];

	if (level == LIBBPF_DEBUG && log_get_level() < LOG_DEBUG)
		return 0;
	vsnprintf(buf, sizeof(buf), fmt, args);
	log_msg(level == LIBBPF_WARN ? LOG_WARNING : LOG_DEBUG, "libbpf: %s", buf);
	return 0;
}

int loader_open_load(struct agent *a)
{
	struct sphinx_bpf *skel;
	int err;

	libbpf_set_print(libbpf_print);
	skel = sphinx_bpf__open();
	if (!skel) {
		err = -errno;
		log_err("cannot open the BPF object: %s", strerror(-err));
		return err;
	}
	skel->rodata->self_tgid = getpid();

	for (size_t i = 0; i < ARRAY_SIZE(tracepoints); i++) {
		const struct tracepoint_prog *t = &tracepoints[i];

		if (!probe_tracepoint_exists(&a->features, t->category, t->event))
			bpf_program__set_autoload(t->prog(skel), false);
	}
	if (!a->features.cgroup_device || !a->features.cgroup2[0])
		bpf_program__set_autoload(skel->progs.handle_device_open, false);
	if (!a->features.kprobe) {
		struct bpf_program *prog;

		/* No uprobes on this kernel: load the rest without them. */
		bpf_object__for_each_program(prog, skel->obj)
			if (bpf_program__type(prog) == BPF_PROG_TYPE_KPROBE)
				bpf_program__set_autoload(prog, false);
	}

	err = sphinx_bpf__load(skel);
	if (err) {
		log_err("the kernel refused the BPF programs: %s (run with -v for the verifier log)",
			strerror(-err));
		sphinx_bpf__destroy(skel);
		return err;
	}
	a->skel = skel;
	return 0;
}

static void attach_tracepoints(struct agent *a)
{
	for (size_t i = 0; i < ARRAY_SIZE(tracepoints); i++) {
		const struct tracepoint_prog *t = &tracepoints[i];
		struct bpf_program *prog = t->prog(a->skel);
		char where[128];
		struct probe_status *s;
		struct bpf_link *link;

		snprintf(where, sizeof(where), "tracepoint/%s/%s", t->category, t->event);
		s = add_status(a, t->layer, t->event, where);
		if (!bpf_program__autoload(prog)) {
			set_state(s, PROBE_NOT_AVAILABLE, "tracepoint not in this kernel");
			continue;
		}
		if (prog == a->skel->progs.handle_ioctl) {
			if (s)
				snprintf(s->name, sizeof(s->name), "%s", DEVICES_IOCTL_PROBE);
			set_state(s, PROBE_ATTACHED, NULL);
			continue;
		}
		link = bpf_program__attach(prog);
		if (!link) {
			set_state(s, PROBE_FAILED, strerror(errno));
			continue;
		}
		keep_link(a, link);
		set_state(s, PROBE_ATTACHED, NULL);
	}
}

/*
 * Device opens: the device cgroup hook at the root of the cgroup v2 tree
 * sees every process's opens of device nodes (a link: other programs there,
 * systemd's DevicePolicy= among them, keep running beside it).
 */
static bool attach_open_hook(struct agent *a)
{
	struct bpf_program *prog = a->skel->progs.handle_device_open;
	const char *root = a->features.cgroup2[0] ? a->features.cgroup2 : "/sys/fs/cgroup";
	struct probe_status *s = add_status(a, "device", "device opens (cgroup/dev)", root);
	_cleanup_close_ int fd = -1;
	struct bpf_link *link;

	if (!a->features.cgroup2[0]) {
		set_state(s, PROBE_NOT_AVAILABLE, "no cgroup v2 hierarchy mounted");
		return false;
	}
	if (!bpf_program__autoload(prog)) {
		set_state(s, PROBE_NOT_AVAILABLE, "the kernel refuses cgroup device programs");
		return false;
	}
	fd = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0) {
		set_state(s, PROBE_FAILED, strerror(errno));
		return false;
	}
	link = bpf_program__attach_cgroup(prog, fd);
	if (!link) {
		set_state(s, PROBE_FAILED, strerror(errno));
		return false;
	}
	keep_link(a, link);
	set_state(s, PROBE_ATTACHED, NULL);
	return true;
}

/* The on-demand ioctl check follows the devices the open hook sees:
 * without that hook it never runs, and the status says so. */
static void attach_device_hook(struct agent *a)
{
	if (attach_open_hook(a))
		return;
	for (unsigned i = 0; i < a->n_probes; i++)
		if (strcmp(a->probes[i].name, DEVICES_IOCTL_PROBE) == 0 &&
		    a->probes[i].state == PROBE_ATTACHED)
			set_state(&a->probes[i], PROBE_NOT_AVAILABLE,
				  "follows the devices the open hook sees, and it is not attached");
}

static struct bpf_program *find_prog(struct agent *a, const char *name)
{
	return bpf_object__find_program_by_name(a->skel->obj, name);
}

/*
 * One uprobe of @layer on @function in the binary at @path, its outcome in
 * the status table. True when attached.
 */
static bool attach_uprobe(struct agent *a, const char *layer, const struct capture_probe *cp,
			  const char *path)
{
	LIBBPF_OPTS(bpf_uprobe_opts, opts, .func_name = cp->function, .retprobe = cp->retprobe);
	struct probe_status *s = add_status(a, layer, cp->function, path);
	struct bpf_program *prog = find_prog(a, cp->program);
	struct bpf_link *link;
	uint8_t code[64];
	size_t site = 0;
	int n;

	if (!a->features.kprobe || !prog || !bpf_program__autoload(prog)) {
		set_state(s, PROBE_NOT_AVAILABLE, "uprobe programs refused by this kernel");
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

		set_state(s, err == ENOENT ? PROBE_NOT_AVAILABLE : PROBE_FAILED,
			  err == ENOENT ? "symbol not found (stripped or not exported)" : strerror(err));
		return false;
	}
	keep_link(a, link);
	set_state(s, PROBE_ATTACHED, NULL);
	return true;
}

static void attach_uprobes(struct agent *a, bool fallback)
{
	for (unsigned i = 0; i < n_capture_probes; i++) {
		const struct capture_probe *cp = &capture_probes[i];
		char path[512];

		if (cp->fallback != fallback)
			continue;
		if (fallback && loader_layer_active(a, "xserver")) {
			set_state(add_status(a, "api", cp->function, cp->library), PROBE_NOT_AVAILABLE,
				  "left out: the X server layer sees these requests");
			continue;
		}

		if (libpath_resolve(cp->library, path, sizeof(path)) < 0) {
			set_state(add_status(a, "api", cp->function, cp->library),
				  PROBE_NOT_AVAILABLE, "library not installed");
			continue;
		}
		attach_uprobe(a, "api", cp, path);
	}
}

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
int loader_attach_xserver(struct agent *a, uint32_t pid)
{
	char link[64], path[512], why[sizeof(a->probes[0].why)];
	struct probe_status *table;
	bool known = false;
	ssize_t n;
	int attached = 0;

	snprintf(link, sizeof(link), "/proc/%u/exe", pid);
	n = readlink(link, path, sizeof(path) - 1);
	if (n <= 0)
		return -errno;
	path[n] = '\0';
	for (unsigned i = 0; i < a->n_probes; i++)
		if (strcmp(a->probes[i].layer, "xserver") == 0 && strcmp(a->probes[i].where, path) == 0)
			known = true;
	if (xserver_register(bpf_map__fd(a->skel->maps.x_servers), pid, path, why,
			     sizeof(why)) < 0) {
		log_warn("xserver layer: %s (pid %u): reads inside this server are not seen", why,
			 pid);
		if (!known)
			set_state(add_status(a, "xserver", "clients (client table)", path),
				  PROBE_FAILED, why);
		return 0;
	}
	if (known) {
		log_info("xserver layer: %s (pid %u) watched, its probes already in place", path,
			 pid);
		return 0;
	}
	table = add_status(a, "xserver", "clients (client table)", path);
	set_state(table, PROBE_ATTACHED, NULL);
	for (unsigned i = 0; i < n_xserver_probes; i++) {
		const struct capture_probe *xp = &xserver_probes[i];
		const char *where = path;

		/* Xorg loads glamor as a module; Xwayland has it built in. */
		if (strncmp(xp->function, "glamor_", 7) == 0 && is_xorg(path) &&
		    access(XORG_GLAMOR_MODULE, R_OK) == 0)
			where = XORG_GLAMOR_MODULE;
		attached += attach_uprobe(a, "xserver", xp, where);
	}
	log_info("xserver layer: %d of %u probes attached in %s (pid %u)", attached,
		 n_xserver_probes, path, pid);
	return attached;
}

void loader_forget_xserver(struct agent *a, uint32_t pid)
{
	xserver_forget(bpf_map__fd(a->skel->maps.x_servers), pid);
}

int loader_attach(struct agent *a)
{
	attach_tracepoints(a);
	if (!loader_layer_active(a, "exec") ||
	    a->probes[0].state != PROBE_ATTACHED || a->probes[1].state != PROBE_ATTACHED) {
		log_err("cannot attach the exec layer (sched_process_exec/exit): %s",
			a->probes[0].why[0] ? a->probes[0].why : a->probes[1].why);
		return -ENOTSUP;
	}
	attach_device_hook(a);
	attach_uprobes(a, false);
	compositor_attach(a);
	return 0;
}

void loader_attach_fallbacks(struct agent *a)
{
	attach_uprobes(a, true);
}

bool loader_layer_active(const struct agent *a, const char *layer)
{
	for (unsigned i = 0; i < a->n_probes; i++)
		if (strcmp(a->probes[i].layer, layer) == 0 && a->probes[i].state == PROBE_ATTACHED)
			return true;
	return false;
}

void loader_print_status(const struct agent *a, FILE *out)
{
	static const char *const state_names[] = {
		[PROBE_ATTACHED] = "attached",
		[PROBE_NOT_AVAILABLE] = "not available",
		[PROBE_FAILED] = "failed",
	};
	static const char *const layers[] = { "exec", "device", "api", "xserver", "compositor" };

	fprintf(out, "layers:");
	for (size_t i = 0; i < ARRAY_SIZE(layers); i++)
		fprintf(out, " %s=%s", layers[i], loader_layer_active(a, layers[i]) ? "active" : "inactive");
	fprintf(out, "\n");
	if (!loader_layer_active(a, "xserver"))
		fprintf(out, "%-7s %-42s %-14s %s\n", "xserver", "fbGetImage, fbCopyArea, ...",
			"not available", "no X server running (attached when one starts)");
	compositor_print_status(a, out);
	for (unsigned i = 0; i < a->n_probes; i++) {
		const struct probe_status *s = &a->probes[i];

		fprintf(out, "%-7s %-42s %-14s %s%s%s\n", s->layer, s->name, state_names[s->state],
			s->where, s->why[0] ? ": " : "", s->why);
	}
}

void loader_destroy(struct agent *a)
{
	for (unsigned i = 0; i < a->n_links; i++)
		bpf_link__destroy(a->links[i]);
	a->n_links = 0;
	bpf_link__destroy(a->ioctl_link);
	a->ioctl_link = NULL;
	a->n_holders = 0;
	sphinx_bpf__destroy(a->skel);
	a->skel = NULL;
}

/* For other layers' modules (compositor.c): the helpers above. */
struct probe_status *loader_add_status(struct agent *a, const char *layer, const char *name,
				      const char *where)
{
	return add_status(a, layer, name, where);
}

void loader_set_state(struct probe_status *s, enum probe_state state, const char *why)
{
	set_state(s, state, why);
}

bool loader_attach_uprobe(struct agent *a, const char *layer, const struct capture_probe *cp,
			  const char *path)
{
	return attach_uprobe(a, layer, cp, path);
}
