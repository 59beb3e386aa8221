// SPDX-License-Identifier: GPL-2.0-only
/*
 * The compositor layer: see compositor.h. Compositors are recognised by
 * their executable's name, like X servers; the BPF side does nothing in a
 * process the agent has not marked. A compositor's record carries the
 * unique bus name of the client whose D-Bus call it served; that name is
 * turned into a process by asking the bus the compositor itself is on
 * (its DBUS_SESSION_BUS_ADDRESS) as soon as the compositor checks a caller
 * it did not check last, once per caller, with a short timeout.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <grp.h>
#include <poll.h>
#include <pwd.h>
#include <signal.h>
#include <unistd.h>
#include <sys/wait.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <systemd/sd-bus.h>

#include "api_names.h"
#include "cleanup.h"
#include "compositor.h"
#include "events.h"
#include "layer.h"
#include "libpath.h"
#include "loader.h"
#include "log.h"
#include "policy.h"
#include "proto_agent.h"
#include "proc_table.h"
#include "sphinx.skel.h"
#include "status.h"

#define CALL_FRESH_NS (5 * 1000000000ull) /* a D-Bus call this old still asked */
#define BUS_TIMEOUT_US (500 * 1000ull)
#define ENVIRON_MAX (64 * 1024)
#define SHELL_LIBRARY "libgnome-shell.so"

static const struct {
	const char *exe; /* basename */
	enum sphinx_compositor kind;
} known[] = {
	{ "mutter", SPHINX_COMPOSITOR_MUTTER },
	{ "gnome-shell", SPHINX_COMPOSITOR_MUTTER },
	{ "kwin_wayland", SPHINX_COMPOSITOR_KWIN },
	{ "xdg-desktop-portal-wlr", SPHINX_COMPOSITOR_PORTAL },
};

/* In every process that maps the library; they act only in compositors. */
static const struct capture_probe library_probes[] = {
	{ "libpipewire-0.3.so.0", "pw_stream_get_node_id", "pw_stream_get_node_id", false, false },
	{ "libpipewire-0.3.so.0", "pw_stream_get_node_id", "pw_stream_get_node_id_ret", true,
	  false },
	{ "libpipewire-0.3.so.0", "pw_stream_disconnect", "pw_stream_disconnect", false, false },
	{ "libpipewire-0.3.so.0", "pw_stream_destroy", "pw_stream_destroy", false, false },
	{ "libpipewire-0.3.so.0", "pw_stream_dequeue_buffer", "pw_stream_dequeue_buffer", false,
	  false },
	{ "libgio-2.0.so.0", "g_dbus_method_invocation_get_sender",
	  "g_dbus_method_invocation_get_sender", false, false },
};

/* Inside GNOME Shell's own library, found in the running shell's maps. */
static const struct capture_probe shell_probes[] = {
	{ SHELL_LIBRARY, "shell_screenshot_screenshot", "shell_screenshot_screenshot", false,
	  false },
	{ SHELL_LIBRARY, "shell_screenshot_screenshot_area", "shell_screenshot_screenshot_area",
	  false, false },
	{ SHELL_LIBRARY, "shell_screenshot_screenshot_window", "shell_screenshot_screenshot_window",
	  false, false },
	{ SHELL_LIBRARY, "shell_screenshot_screenshot_stage_to_content",
	  "shell_screenshot_screenshot_stage_to_content", false, false },
};

/*
 * Screen casts a compositor started for a client, until the compositor's
 * stream stops: the client's capture lasts as long (a client asks and may
 * never read a frame itself). Bounded: past it, the capture ends on the
 * client's exit instead.
 */
#define MAX_CASTS 64

static struct cast {
	uint32_t compositor;
	uint32_t pid; /* who asked; 0: free slot */
	uint64_t stream;
} casts[MAX_CASTS];

/* D-Bus callers named when first seen (unique names are never reused on a
 * bus): a small ring, enough for the callers of one capture. */
#define MAX_CALLERS 32

static struct caller {
	uint32_t compositor;
	uint32_t pid;
	char sender[SPHINX_DBUS_NAME_LEN];
} callers[MAX_CALLERS];
static unsigned next_caller;

static const char *base_name(const char *path)
{
	const char *slash = path ? strrchr(path, '/') : NULL;

	return slash ? slash + 1 : path;
}

static const char *exe_name(const struct proc *p)
{
	return p->exe ? base_name(p->exe) : p->comm;
}

static enum sphinx_compositor compositor_kind(const char *exe)
{
	const char *base = base_name(exe);

	for (size_t i = 0; base && i < ARRAY_SIZE(known); i++)
		if (strcmp(base, known[i].exe) == 0)
			return known[i].kind;
	return 0;
}

static bool status_stale; /* rows added since the status file was written */

static struct probe_status *add_row(const char *name, const char *where)
{
	return status_add(LAYER_COMPOSITOR, layer_name(LAYER_COMPOSITOR), name, where);
}

int compositor_attach(const struct features *f)
{
	for (size_t i = 0; i < ARRAY_SIZE(library_probes); i++) {
		const struct capture_probe *cp = &library_probes[i];
		char path[512];

		if (libpath_resolve(cp->library, path, sizeof(path)) < 0) {
			status_set(add_row(cp->function, cp->library), PROBE_NOT_AVAILABLE,
				   "library not installed");
			continue;
		}
		layer_attach_uprobe(f, LAYER_COMPOSITOR, cp, path);
	}
	return 0;
}

/* The file of @pid's mapping whose name ends in "/@library", into @buf. */
static int mapped_library(uint32_t pid, const char *library, char *buf, size_t len)
{
	_cleanup_fclose_ FILE *maps = NULL;
	char file[64], line[4096];
	size_t n = strlen(library);

	snprintf(file, sizeof(file), "/proc/%u/maps", pid);
	maps = fopen(file, "re");
	if (!maps)
		return -errno;
	while (fgets(line, sizeof(line), maps)) {
		char *name = strchr(line, '/');
		size_t l;

		if (!name)
			continue;
		name[strcspn(name, "\n")] = '\0';
		l = strlen(name);
		if (l > n && name[l - n - 1] == '/' && strcmp(name + l - n, library) == 0) {
			snprintf(buf, len, "%s", name);
			return 0;
		}
	}
	return -ENOENT;
}

/* Shells whose library was not mapped yet when their exec was seen (the
 * dynamic loader maps it right after): tried again each tick. */
static uint32_t shells_pending[8];

/* Attach the shell's probes (once per library file); false when the
 * library is not mapped in @pid yet. */
static bool attach_shell(const struct features *f, uint32_t pid)
{
	char path[512];

	if (mapped_library(pid, SHELL_LIBRARY, path, sizeof(path)) < 0)
		return false;
	if (status_find(LAYER_COMPOSITOR, path))
		return true;
	for (size_t i = 0; i < ARRAY_SIZE(shell_probes); i++)
		layer_attach_uprobe(f, LAYER_COMPOSITOR, &shell_probes[i], path);
	status_stale = true;
	return true;
}

void compositor_tick(const struct features *f)
{
	for (size_t i = 0; i < ARRAY_SIZE(shells_pending); i++) {
		uint32_t pid = shells_pending[i];

		if (pid && (attach_shell(f, pid) || kill((pid_t)pid, 0) < 0))
			shells_pending[i] = 0;
	}
}

bool compositor_status_changed(void)
{
	bool stale = status_stale;

	status_stale = false;
	return stale;
}

void compositor_watch(const struct features *f, const struct proc *p)
{
	enum sphinx_compositor kind = compositor_kind(p->exe);
	struct sphinx_bpf *skel = loader_skel();
	int fd = skel ? bpf_map__fd(skel->maps.compositors) : -1;
	char name[64], why[128];
	struct probe_status *row;
	uint32_t watched;

	if (!kind || fd < 0 || bpf_map_lookup_elem(fd, &p->pid, &watched) == 0)
		return;
	if (bpf_map_update_elem(fd, &p->pid, &kind, BPF_ANY) < 0) {
		log_warn("compositor layer: cannot watch %s (pid %u): %s", p->exe, p->pid,
			 strerror(errno));
		return;
	}
	snprintf(name, sizeof(name), "%s (pid %u)", base_name(p->exe), p->pid);
	snprintf(why, sizeof(why), "screen-cast nodes%s",
		 kind == SPHINX_COMPOSITOR_MUTTER ? ", D-Bus callers"
						  : " (no GDBus: callers not named)");
	/* One row per compositor binary, naming the latest process: a lab
	 * machine sees a new gnome-shell at every login, and rows are few. */
	row = status_find(LAYER_COMPOSITOR, p->exe);
	if (row)
		status_rename(row, name);
	else
		row = add_row(name, p->exe);
	status_set(row, PROBE_ATTACHED, why);
	if (strcmp(base_name(p->exe), "gnome-shell") == 0 && !attach_shell(f, p->pid))
		for (size_t i = 0; i < ARRAY_SIZE(shells_pending); i++)
			if (!shells_pending[i]) {
				shells_pending[i] = p->pid;
				break;
			}
	status_stale = true;
	log_info("compositor layer: watching %s (pid %u)", p->exe, p->pid);
}

/* Delete every screen-cast node @pid produced. */
static void forget_nodes(int fd, uint32_t pid)
{
	uint32_t key, next, gone[64];
	unsigned n = 0;
	struct sphinx_cast_node node;
	bool first = true;

	while (n < ARRAY_SIZE(gone) && bpf_map_get_next_key(fd, first ? NULL : &key, &next) == 0) {
		first = false;
		key = next;
		if (bpf_map_lookup_elem(fd, &key, &node) == 0 && node.compositor == pid)
			gone[n++] = key;
	}
	for (unsigned i = 0; i < n; i++)
		bpf_map_delete_elem(fd, &gone[i]);
}

void compositor_forget(uint32_t pid)
{
	struct sphinx_bpf *skel = loader_skel();
	uint32_t kind;
	int fd;

	if (!skel)
		return;
	fd = bpf_map__fd(skel->maps.compositors);
	if (bpf_map_lookup_elem(fd, &pid, &kind) < 0)
		return;
	bpf_map_delete_elem(fd, &pid);
	bpf_map_delete_elem(bpf_map__fd(skel->maps.compositor_calls), &pid);
	for (size_t i = 0; i < MAX_CASTS; i++)
		if (casts[i].compositor == pid)
			casts[i].pid = 0;
	for (size_t i = 0; i < MAX_CALLERS; i++)
		if (callers[i].compositor == pid)
			callers[i].pid = 0;
	forget_nodes(bpf_map__fd(skel->maps.screencast_nodes), pid);
}

void compositor_detach(void)
{
	memset(casts, 0, sizeof(casts));
	memset(callers, 0, sizeof(callers));
	memset(shells_pending, 0, sizeof(shells_pending));
	status_stale = false;
}

/* ------------------------------------------------------- who asked */

/* DBUS_SESSION_BUS_ADDRESS from @pid's environment, into @buf. */
static int session_bus_of(uint32_t pid, char *buf, size_t len)
{
	static const char key[] = "DBUS_SESSION_BUS_ADDRESS=";
	_cleanup_free_ char *env = malloc(ENVIRON_MAX);
	_cleanup_close_ int fd = -1;
	char file[64];
	ssize_t n;

	if (!env)
		return -ENOMEM;
	snprintf(file, sizeof(file), "/proc/%u/environ", pid);
	fd = open(file, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	n = read(fd, env, ENVIRON_MAX - 1);
	if (n < 0)
		return -errno;
	env[n] = '\0';
	for (char *v = env; v < env + n; v += strlen(v) + 1)
		if (strncmp(v, key, sizeof(key) - 1) == 0) {
			snprintf(buf, len, "%s", v + sizeof(key) - 1);
			return 0;
		}
	return -ENOENT;
}

/* The process behind unique bus name @sender on the bus at @address: its
 * pid, or -errno with the reason in @why. */
static int bus_sender_pid(const char *address, const char *sender, char *why, size_t why_len)
{
	_cleanup_(sd_bus_flush_close_unrefp) sd_bus *bus = NULL;
	_cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
	_cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
	uint32_t pid = 0;
	int r;

	if ((r = sd_bus_new(&bus)) < 0 || (r = sd_bus_set_address(bus, address)) < 0 ||
	    (r = sd_bus_set_bus_client(bus, 1)) < 0 ||
	    (r = sd_bus_set_method_call_timeout(bus, BUS_TIMEOUT_US)) < 0 ||
	    (r = sd_bus_start(bus)) < 0) {
		snprintf(why, why_len, "cannot connect to its session bus %s: %s", address,
			 strerror(-r));
		return r;
	}
	r = sd_bus_call_method(bus, "org.freedesktop.DBus", "/org/freedesktop/DBus",
			       "org.freedesktop.DBus", "GetConnectionUnixProcessID", &error, &reply,
			       "s", sender);
	if (r >= 0)
		r = sd_bus_message_read(reply, "u", &pid);
	if (r < 0 || !pid) {
		snprintf(why, why_len, "the bus does not know %s: %s", sender,
			 error.message ? error.message : strerror(r < 0 ? -r : ESRCH));
		return r < 0 ? r : -ESRCH;
	}
	return (int)pid;
}

static void cast_started(struct proc *p, const struct sphinx_compositor_event *e)
{
	struct capture_session *s = &p->session;

	if (s->state != CAPTURE_ACTIVE || s->layer != LAYER_COMPOSITOR)
		return; /* its capture is another's: it ends its own way */
	s->until_exit = true;
	for (size_t i = 0; i < MAX_CASTS; i++)
		if (!casts[i].pid) {
			casts[i] = (struct cast){ e->hdr.pid, p->pid, e->stream };
			return;
		}
}

static void cast_stopped(struct proc_table *procs, const struct sphinx_compositor_event *e)
{
	for (size_t i = 0; i < MAX_CASTS; i++) {
		struct proc *p;

		if (!casts[i].pid || casts[i].compositor != e->hdr.pid ||
		    casts[i].stream != e->stream)
			continue;
		p = proc_table_get(procs, casts[i].pid);
		casts[i].pid = 0;
		if (p && p->session.state == CAPTURE_ACTIVE && p->session.layer == LAYER_COMPOSITOR)
			events_capture_end(p, e->hdr.ts);
	}
}

/*
 * A session bus lets in only its own user: the lookup runs in a child with
 * the compositor's uid and gid (the agent's threads keep root), which
 * answers through a pipe within BUS_TIMEOUT_US.
 */
static int sender_pid_as(uint32_t uid, uint32_t gid, const char *address, const char *sender,
			 char *why, size_t why_len)
{
	struct {
		int pid;
		char why[256];
	} answer = { -EIO, "" };
	int fds[2], status;
	struct pollfd pfd;
	pid_t child;
	ssize_t n;

	if (pipe2(fds, O_CLOEXEC) < 0)
		return -errno;
	child = fork();
	if (child < 0) {
		close(fds[0]);
		close(fds[1]);
		return -errno;
	}
	if (child == 0) {
		close(fds[0]);
		if (setgroups(0, NULL) < 0 || setresgid(gid, gid, gid) < 0 ||
		    setresuid(uid, uid, uid) < 0)
			snprintf(answer.why, sizeof(answer.why), "cannot become uid %u: %s", uid,
				 strerror(errno));
		else
			answer.pid =
				bus_sender_pid(address, sender, answer.why, sizeof(answer.why));
		n = write(fds[1], &answer, sizeof(answer));
		_exit(n == sizeof(answer) ? 0 : 1);
	}
	close(fds[1]);
	pfd = (struct pollfd){ .fd = fds[0], .events = POLLIN };
	if (poll(&pfd, 1, (int)(2 * BUS_TIMEOUT_US / 1000)) == 1 &&
	    read(fds[0], &answer, sizeof(answer)) == sizeof(answer)) {
		answer.why[sizeof(answer.why) - 1] = '\0';
	} else {
		kill(child, SIGKILL);
		snprintf(answer.why, sizeof(answer.why), "no answer from the bus in time");
		answer.pid = -ETIMEDOUT;
	}
	close(fds[0]);
	waitpid(child, &status, 0);
	snprintf(why, why_len, "%s", answer.why);
	return answer.pid;
}

/* The process behind unique bus name @sender on @comp's session bus. */
static int sender_pid(const struct proc *comp, const char *sender, char *why, size_t why_len)
{
	struct passwd *pw;
	char address[512];
	int r;

	r = session_bus_of(comp->pid, address, sizeof(address));
	if (r < 0) {
		snprintf(why, why_len, "no session bus address in its environment: %s",
			 strerror(-r));
		return r;
	}
	if (comp->uid == geteuid())
		return bus_sender_pid(address, sender, why, why_len);
	pw = getpwuid(comp->uid);
	return sender_pid_as(comp->uid, pw ? pw->pw_gid : comp->uid, address, sender, why, why_len);
}

static uint32_t caller_known(uint32_t compositor, const char *sender)
{
	for (size_t i = 0; i < MAX_CALLERS; i++)
		if (callers[i].pid && callers[i].compositor == compositor &&
		    strcmp(callers[i].sender, sender) == 0)
			return callers[i].pid;
	return 0;
}

/* The pid behind @sender on @comp's bus, from the ring or the bus (then
 * kept); 0 with the reason in @why. */
static uint32_t caller_pid(const struct proc *comp, const char *sender, char *why, size_t why_len)
{
	struct caller *c;
	int pid;

	if (sender[0] != ':') {
		snprintf(why, why_len, "not a unique bus name");
		return 0;
	}
	pid = (int)caller_known(comp->pid, sender);
	if (pid)
		return (uint32_t)pid;
	pid = sender_pid(comp, sender, why, why_len);
	if (pid <= 0)
		return 0;
	c = &callers[next_caller++ % MAX_CALLERS];
	c->compositor = comp->pid;
	c->pid = (uint32_t)pid;
	snprintf(c->sender, sizeof(c->sender), "%s", sender);
	return (uint32_t)pid;
}

static bool is_screenshot(unsigned api)
{
	return api >= SPHINX_API_SHELL_SCREENSHOT && api <= SPHINX_API_SHELL_SCREENSHOT_UI;
}

void compositor_event(struct proc_table *procs, const struct sphinx_compositor_event *e)
{
	char sender[SPHINX_DBUS_NAME_LEN], iface[SPHINX_DBUS_IFACE_LEN],
		method[SPHINX_DBUS_METHOD_LEN];
	/* The evidence goes to the server as "api": within its bound. */
	char call[SPHINX_DBUS_IFACE_LEN + SPHINX_DBUS_METHOD_LEN + 2],
		what[PROTO_AGENT_EVIDENCE_MAX];
	char why[1024] = "";
	struct proc *comp, *p = NULL;
	struct policy_event ev;
	bool asked;

	comp = proc_table_load(procs, e->hdr.pid);
	if (!comp)
		return;
	if (e->api == SPHINX_API_SCREEN_CAST_STOP) {
		cast_stopped(procs, e);
		return;
	}
	snprintf(sender, sizeof(sender), "%s", e->sender);
	if (e->api == SPHINX_API_DBUS_CALLER) {
		/* Named now, while it still waits for its answer. */
		if (!caller_pid(comp, sender, why, sizeof(why)))
			log_debug("compositor layer: D-Bus caller %s of %s (pid %u): %s", sender,
				  comp->comm, comp->pid, why);
		return;
	}
	snprintf(iface, sizeof(iface), "%s", e->interface);
	snprintf(method, sizeof(method), "%s", e->method);
	/* The shell's screenshot UI acts for the person at the screen; else
	 * a recent D-Bus call asked. */
	asked = e->api != SPHINX_API_SHELL_SCREENSHOT_UI && e->call_ns && sender[0] == ':' &&
		e->hdr.ts - e->call_ns < CALL_FRESH_NS;
	snprintf(call, sizeof(call), "%s%s%s", asked ? iface : "", asked ? "." : "",
		 asked ? method : "");
	if (asked) {
		uint32_t pid = caller_pid(comp, sender, why, sizeof(why));

		if (pid)
			p = proc_table_load(procs, pid);
		if (!p)
			log_warn("compositor layer: %s by %s (pid %u) for %s (%s): %s; "
				 "reported as %s's",
				 api_name(e->api), comp->comm, comp->pid, sender, call,
				 why[0] ? why : "the process is gone", comp->comm);
	}
	if (!p)
		p = comp;
	snprintf(what, sizeof(what), "%s in %s (pid %u)%s%s", api_name(e->api), exe_name(comp),
		 comp->pid, call[0] ? " for " : "", call);
	log_debug("compositor: %s, asked by pid %u (%s)", what, p->pid,
		  sender[0] ? sender : "nobody");

	policy_event_init(&ev, POLICY_CAT_SCREEN_CAPTURE);
	policy_event_set(&ev, "Api", api_name(e->api));
	policy_event_set(&ev, "Target", target_name(SPHINX_TARGET_SCREEN));
	policy_event_set(&ev, "Interface", asked ? iface : "");
	policy_event_set(&ev, "Method", asked ? method : "");
	policy_event_set(&ev, "Compositor", comp->exe ? comp->exe : "");
	policy_event_set(&ev, "Calls", "1");
	if (events_capture(p, &ev, LAYER_COMPOSITOR, what,
			   target_name(is_screenshot(e->api) ? SPHINX_TARGET_SCREEN
							     : SPHINX_TARGET_SCREENCAST),
			   e->hdr.ts) &&
	    e->api == SPHINX_API_SCREEN_CAST_START)
		cast_started(p, e);
}

void compositor_describe_capture(struct proc_table *procs, const struct sphinx_capture_event *e,
				 char *buf, size_t len)
{
	struct sphinx_bpf *skel = loader_skel();
	struct sphinx_cast_node node;
	uint32_t id = (uint32_t)e->drawable;
	struct proc *comp;

	if (len > PROTO_AGENT_EVIDENCE_MAX)
		len = PROTO_AGENT_EVIDENCE_MAX; /* the server's bound on "api" */
	snprintf(buf, len, "%s", api_name(e->api));
	if (e->target != SPHINX_TARGET_SCREENCAST || !skel ||
	    bpf_map_lookup_elem(bpf_map__fd(skel->maps.screencast_nodes), &id, &node) < 0)
		return;
	node.interface[sizeof(node.interface) - 1] = '\0';
	comp = proc_table_get(procs, node.compositor);
	snprintf(buf, len, "%s: screen-cast node %u of %s (pid %u)%s%s", api_name(e->api), id,
		 comp ? exe_name(comp) : "a compositor", node.compositor,
		 node.interface[0] ? " from " : "", node.interface);
}
