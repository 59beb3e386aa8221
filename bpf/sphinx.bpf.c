// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Kernel side of sphinx-agent: sees screen capture the moment it starts.
 *
 * Layer 1 (exec): sched_process_exec / sched_process_exit, one record each;
 *   an exec wakes the agent only when the policy names the program (exec_wake).
 * Layer 2 (device): the device cgroup hook sees opens of the character
 *   devices user space lists from the policy (by number); DRM GETFB/GETFB2
 *   and fbdev FBIOGET_VSCREENINFO ioctls on them, followed only while a
 *   process other than a display server holds one.
 * Layer 3 (api): uprobes on the X11/XCB/PipeWire capture functions, attached
 *   by library path for every process. A uretprobe on xcb_get_setup learns
 *   each process's resource-id base and root window, so a read or copy whose
 *   source is the caller's own drawable is dropped here, without a record.
 *
 * Counting: capture calls are counted per process (tgid) in proc_state.
 * The first burst_calls calls are each reported (user space needs their
 * timing to tell a recording from a screenshot); after that at most one
 * record per refresh_ns. A 30 fps recorder costs ~1 record a second.
 * Layer 4 (xserver): uprobes inside the X server binary, below.
 *
 * No syscall tracepoint stays attached: one puts every system call of every
 * process on the slow path.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>
#include "sphinx.h"
#include "user_layout.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";

const volatile __u32 burst_calls = 8;
const volatile __u64 refresh_ns = 1000000000ull;
const volatile __u32 self_tgid = 0;	/* the agent: never report it */

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 4 << 20);	/* ~3 000 exec records between polls */
} events SEC(".maps");

/*
 * Character devices to watch, by number (value: enum sphinx_device). Filled
 * by the agent from the policy's path prefixes: the nodes that exist, plus
 * the numbers the kernel gives such devices (a node made anywhere, under
 * any name, is the same device).
 */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 4096);
	__type(key, struct sphinx_device_key);
	__type(value, __u32);
} watch_devices SEC(".maps");

/*
 * Programs whose exec wakes the agent at once: those the policy's exec
 * rules name (filled by the agent at start and on reload). Every other
 * exec record waits for the agent's next poll.
 */
struct {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__uint(max_entries, SPHINX_EXEC_WAKE_MAX);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, struct sphinx_exec_wake_key);
	__type(value, __u32);
} exec_wake SEC(".maps");

/*
 * Per-process capture counters. The client libraries and the X server see
 * the same requests, so each side counts on its own and the process's count
 * is the larger: a pure-protocol client shows up in calls_server only,
 * recordMyDesktop (one library call, then hand-built requests) in both.
 */
struct proc_state {
	__u64 first_ns;
	__u64 last_emit_ns;
	__u32 calls;		/* max(calls_client, calls_server) */
	__u32 calls_client;
	__u32 calls_server;
	__u32 damage_root;	/* recording set-up seen (reported once) */
	__u32 cursor_calls;	/* XFixesGetCursorImage in the current window */
	__u64 cursor_first_ns;
};

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, SPHINX_MAX_PROCS);
	__type(key, __u32);
	__type(value, struct proc_state);
} proc_state SEC(".maps");

/* What a process's X connection told it: its XID space and its root. */
struct x_setup {
	__u32 resource_base;
	__u32 resource_mask;
	__u32 root;
	__u16 width, height;
};

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, SPHINX_MAX_PROCS);
	__type(key, __u32);
	__type(value, struct x_setup);
} x_setups SEC(".maps");

/* The process's counters, created on first use. */
static __always_inline struct proc_state *proc_state_get(__u32 tgid)
{
	struct proc_state *st = bpf_map_lookup_elem(&proc_state, &tgid);
	struct proc_state fresh = {};

	if (st)
		return st;
	bpf_map_update_elem(&proc_state, &tgid, &fresh, BPF_NOEXIST);
	return bpf_map_lookup_elem(&proc_state, &tgid);
}

static __always_inline void fill_hdr(struct sphinx_event_hdr *hdr, __u32 type)
{
	struct task_struct *task = (struct task_struct *)bpf_get_current_task();
	__u64 id = bpf_get_current_pid_tgid();

	hdr->type = type;
	hdr->pid = id >> 32;
	hdr->tid = (__u32)id;
	hdr->ppid = BPF_CORE_READ(task, real_parent, tgid);
	hdr->uid = (__u32)bpf_get_current_uid_gid();
	hdr->_pad = 0;
	hdr->ts = bpf_ktime_get_boot_ns();
	bpf_get_current_comm(hdr->comm, sizeof(hdr->comm));
}

static __always_inline bool is_self(void)
{
	return self_tgid && (bpf_get_current_pid_tgid() >> 32) == self_tgid;
}

/* ---------------------------------------------------------------- exec */

/* Whether the policy names the program just exec'd (@comm, lower-cased here:
 * the policy matches names without regard to case). */
static __always_inline bool exec_wakes(const char *comm)
{
	struct sphinx_exec_wake_key key = { .prefixlen = SPHINX_COMM_LEN * 8 };

#pragma unroll
	for (int i = 0; i < SPHINX_COMM_LEN; i++) {
		char c = comm[i];

		key.name[i] = c >= 'A' && c <= 'Z' ? c + ('a' - 'A') : c;
	}
	return bpf_map_lookup_elem(&exec_wake, &key) != NULL;
}

SEC("tracepoint/sched/sched_process_exec")
int handle_exec(struct trace_event_raw_sched_process_exec *ctx)
{
	struct task_struct *task = (struct task_struct *)bpf_get_current_task();
	struct sphinx_exec_event *e;
	unsigned long arg_start, arg_end, len;
	unsigned int fname_off;

	e = bpf_ringbuf_reserve(&events, sizeof(*e), 0);
	if (!e)
		return 0;
	fill_hdr(&e->hdr, SPHINX_EV_EXEC);
	e->start_ns = BPF_CORE_READ(task, start_boottime);

	fname_off = ctx->__data_loc_filename & 0xFFFF;
	bpf_probe_read_kernel_str(e->filename, sizeof(e->filename), (void *)ctx + fname_off);

	arg_start = BPF_CORE_READ(task, mm, arg_start);
	arg_end = BPF_CORE_READ(task, mm, arg_end);
	len = arg_end - arg_start;
	e->args_truncated = len > SPHINX_ARGS_LEN;
	if (len > SPHINX_ARGS_LEN)
		len = SPHINX_ARGS_LEN;
	e->args_size = 0;
	if (len > 0 && bpf_probe_read_user(e->args, len, (void *)arg_start) == 0)
		e->args_size = len;

	/* A program the policy names wakes the agent now: its begin line is
	 * due within milliseconds. Any other exec wakes nobody: on a VM each
	 * wake-up is a self-IPI (~15 us an exec); the agent takes these every
	 * 100 ms, and a capture, open or damage record (which forces a wake-up)
	 * takes the exec records queued before it first, in order. */
	bpf_ringbuf_submit(e, exec_wakes(e->hdr.comm) ? BPF_RB_FORCE_WAKEUP : BPF_RB_NO_WAKEUP);
	return 0;
}

SEC("tracepoint/sched/sched_process_exit")
int handle_exit(struct trace_event_raw_sched_process_template *ctx)
{
	struct task_struct *task = (struct task_struct *)bpf_get_current_task();
	__u64 id = bpf_get_current_pid_tgid();
	__u32 tgid = id >> 32;
	struct sphinx_exit_event *e;
	struct proc_state *st;

	/* Only the whole process ending matters, not each thread. */
	if (tgid != (__u32)id)
		return 0;

	e = bpf_ringbuf_reserve(&events, sizeof(*e), 0);
	if (!e)
		return 0;
	fill_hdr(&e->hdr, SPHINX_EV_EXIT);
	e->exit_code = (BPF_CORE_READ(task, exit_code) >> 8) & 0xff;
	st = bpf_map_lookup_elem(&proc_state, &tgid);
	e->calls = st ? st->calls : 0;
	bpf_ringbuf_submit(e, BPF_RB_NO_WAKEUP);

	bpf_map_delete_elem(&proc_state, &tgid);
	bpf_map_delete_elem(&x_setups, &tgid);
	return 0;
}

/* -------------------------------------------------------------- devices */

/*
 * The device cgroup hook: the kernel asks it on every open of a device node
 * (after the file permissions allowed it) and on mknod, whoever the caller,
 * attached once at the root of the cgroup v2 tree. No syscall tracepoint:
 * those put every system call of every process on the slow path. Always
 * allows: this program watches, it never decides.
 */
/* uapi <linux/bpf.h> defines, which vmlinux.h does not carry. */
#define BPF_DEVCG_ACC_READ	(1ULL << 1)
#define BPF_DEVCG_ACC_WRITE	(1ULL << 2)
#define BPF_DEVCG_DEV_CHAR	(1ULL << 1)

SEC("cgroup/dev")
int handle_device_open(struct bpf_cgroup_dev_ctx *ctx)
{
	struct sphinx_device_key key = { .major = ctx->major, .minor = ctx->minor };
	__u32 type = ctx->access_type & 0xffff, access = ctx->access_type >> 16;
	struct sphinx_open_event *e;
	__u32 *device;

	if (type != BPF_DEVCG_DEV_CHAR || !(access & (BPF_DEVCG_ACC_READ | BPF_DEVCG_ACC_WRITE)))
		return 1;
	device = bpf_map_lookup_elem(&watch_devices, &key);
	if (!device || is_self())
		return 1;
	e = bpf_ringbuf_reserve(&events, sizeof(*e), 0);
	if (!e)
		return 1;
	fill_hdr(&e->hdr, SPHINX_EV_OPEN);
	e->ret = 0;
	e->flags = (access & BPF_DEVCG_ACC_READ) && (access & BPF_DEVCG_ACC_WRITE) ? 2 /* O_RDWR */
		   : access & BPF_DEVCG_ACC_WRITE ? 1 /* O_WRONLY */
						  : 0 /* O_RDONLY */;
	e->device = *device;
	e->major = ctx->major;
	e->minor = ctx->minor;
	e->path[0] = '\0';	/* named by the agent from the device number */
	bpf_ringbuf_submit(e, BPF_RB_FORCE_WAKEUP);
	return 1;
}

/* ------------------------------------------------------------- counting */

static __always_inline void count_capture_for(__u32 tgid, bool server_side, __u32 uid,
					      __u32 api, __u32 target, __u64 drawable)
{
	__u64 now = bpf_ktime_get_boot_ns();
	struct sphinx_capture_event *e;
	struct x_setup *xs;
	struct proc_state *st;
	__u32 calls, side;

	st = proc_state_get(tgid);
	if (!st)
		return;
	if (!st->first_ns)
		st->first_ns = now;
	if (server_side)
		side = __sync_add_and_fetch(&st->calls_server, 1);
	else
		side = __sync_add_and_fetch(&st->calls_client, 1);
	/* The other side already counted this request: nothing new. */
	if (side <= st->calls)
		return;
	st->calls = calls = side;
	if (calls > burst_calls && now - st->last_emit_ns < refresh_ns)
		return;
	st->last_emit_ns = now;

	e = bpf_ringbuf_reserve(&events, sizeof(*e), 0);
	if (!e)
		return;
	if (server_side) {
		__builtin_memset(&e->hdr, 0, sizeof(e->hdr));
		e->hdr.type = SPHINX_EV_CAPTURE;
		e->hdr.pid = tgid;
		e->hdr.uid = uid;
		e->hdr.ts = now;
	} else {
		fill_hdr(&e->hdr, SPHINX_EV_CAPTURE);
	}
	e->api = api;
	e->target = target;
	e->drawable = drawable;
	e->first_ns = st->first_ns;
	e->calls = calls;
	e->width = e->height = 0;
	xs = bpf_map_lookup_elem(&x_setups, &tgid);
	if (xs) {
		e->width = xs->width;
		e->height = xs->height;
	}
	e->_pad = 0;
	bpf_ringbuf_submit(e, BPF_RB_FORCE_WAKEUP);
}

static __always_inline void count_capture(__u32 api, __u32 target, __u64 drawable)
{
	count_capture_for(bpf_get_current_pid_tgid() >> 32, false, 0, api, target, drawable);
}

/*
 * Whose drawable is @xid? With the connection's setup known: the caller's
 * own XID range, a root (server-owned, client bits zero), or another
 * client's. Without it (the process started before the agent): only the
 * server-owned range is certain to be a root; anything else counts as own.
 */
static __always_inline __u32 classify_xid(__u32 xid)
{
	__u32 tgid = bpf_get_current_pid_tgid() >> 32;
	struct x_setup *xs = bpf_map_lookup_elem(&x_setups, &tgid);

	if (!xid)
		return SPHINX_TARGET_NONE;
	if (xs && xs->resource_mask) {
		__u32 client = xid & ~xs->resource_mask;

		if (xid == xs->root || client == 0)
			return SPHINX_TARGET_ROOT;
		return client == xs->resource_base ? SPHINX_TARGET_OWN : SPHINX_TARGET_WINDOW;
	}
	return (xid >> SPHINX_X_CLIENT_SHIFT_DEFAULT) == 0 ? SPHINX_TARGET_ROOT : SPHINX_TARGET_OWN;
}

/*
 * A read or copy from @xid. The client side cannot tell another client's
 * window from its pixmap (a window manager reads icon pixmaps), so image
 * reads count here only from a root; the X server side, which knows the
 * drawable's type, counts reads of other clients' windows.
 */
static __always_inline int x_read(__u32 api, __u32 xid)
{
	if (!is_self() && classify_xid(xid) == SPHINX_TARGET_ROOT)
		count_capture(api, SPHINX_TARGET_ROOT, xid);
	return 0;
}

/* Naming a window's pixmap is always about a window: root or foreign. */
static __always_inline int x_name_pixmap(__u32 api, __u32 xid)
{
	__u32 target;

	if (is_self())
		return 0;
	target = classify_xid(xid);
	if (target == SPHINX_TARGET_ROOT || target == SPHINX_TARGET_WINDOW)
		count_capture(api, target, xid);
	return 0;
}

/* ----------------------------------------------------------- X11 / XCB */

/* The connection setup (user_layout.h): screen 0's root and size, and the
 * resource-id base and mask that say which XIDs are the caller's own. */
SEC("uretprobe")
int BPF_KRETPROBE(xcb_get_setup_ret, void *setup)
{
	__u32 tgid = bpf_get_current_pid_tgid() >> 32;
	struct x_setup xs = {};
	__u16 vendor_len = 0;
	__u8 n_formats = 0;
	__u8 *screen;

	if (!setup)
		return 0;
	bpf_probe_read_user(&xs.resource_base, 4, setup + XCB_SETUP_RESOURCE_ID_BASE);
	bpf_probe_read_user(&xs.resource_mask, 4, setup + XCB_SETUP_RESOURCE_ID_MASK);
	bpf_probe_read_user(&vendor_len, 2, setup + XCB_SETUP_VENDOR_LEN);
	bpf_probe_read_user(&n_formats, 1, setup + XCB_SETUP_PIXMAP_FORMATS_LEN);
	screen = (__u8 *)setup + XCB_SETUP_SIZE + ((vendor_len + 3) & ~3) +
		 XCB_FORMAT_SIZE * n_formats;
	bpf_probe_read_user(&xs.root, 4, screen + XCB_SCREEN_ROOT);
	bpf_probe_read_user(&xs.width, 2, screen + XCB_SCREEN_WIDTH);
	bpf_probe_read_user(&xs.height, 2, screen + XCB_SCREEN_HEIGHT);
	bpf_map_update_elem(&x_setups, &tgid, &xs, BPF_ANY);
	return 0;
}

SEC("uprobe")
int BPF_KPROBE(xcb_shm_get_image, void *c, __u32 drawable)
{
	return x_read(SPHINX_API_XCB_SHM_GET_IMAGE, drawable);
}

SEC("uprobe")
int BPF_KPROBE(xcb_shm_get_image_unchecked, void *c, __u32 drawable)
{
	return x_read(SPHINX_API_XCB_SHM_GET_IMAGE_UNCHECKED, drawable);
}

SEC("uprobe")
int BPF_KPROBE(xcb_get_image, void *c, __u8 format, __u32 drawable)
{
	return x_read(SPHINX_API_XCB_GET_IMAGE, drawable);
}

SEC("uprobe")
int BPF_KPROBE(xcb_get_image_unchecked, void *c, __u8 format, __u32 drawable)
{
	return x_read(SPHINX_API_XCB_GET_IMAGE_UNCHECKED, drawable);
}

SEC("uprobe")
int BPF_KPROBE(xcb_copy_area, void *c, __u32 src, __u32 dst)
{
	return x_read(SPHINX_API_XCB_COPY_AREA, src);
}

SEC("uprobe")
int BPF_KPROBE(xcb_composite_name_window_pixmap, void *c, __u32 window)
{
	return x_name_pixmap(SPHINX_API_XCB_COMPOSITE_NAME_WINDOW_PIXMAP, window);
}

SEC("uprobe")
int BPF_KPROBE(xcb_composite_name_window_pixmap_checked, void *c, __u32 window)
{
	return x_name_pixmap(SPHINX_API_XCB_COMPOSITE_NAME_WINDOW_PIXMAP_CHECKED, window);
}

/* libXcomposite builds its request through Xlib, not libxcb. */
SEC("uprobe")
int BPF_KPROBE(x_composite_name_window_pixmap, void *dpy, unsigned long window)
{
	return x_name_pixmap(SPHINX_API_X_COMPOSITE_NAME_WINDOW_PIXMAP, (__u32)window);
}

SEC("uprobe")
int BPF_KPROBE(x_get_image, void *dpy, unsigned long d)
{
	return x_read(SPHINX_API_X_GET_IMAGE, d);
}

SEC("uprobe")
int BPF_KPROBE(x_get_sub_image, void *dpy, unsigned long d)
{
	return x_read(SPHINX_API_X_GET_SUB_IMAGE, d);
}

SEC("uprobe")
int BPF_KPROBE(x_copy_area, void *dpy, unsigned long src, unsigned long dst)
{
	return x_read(SPHINX_API_X_COPY_AREA, src);
}

SEC("uprobe")
int BPF_KPROBE(x_shm_get_image, void *dpy, unsigned long d)
{
	return x_read(SPHINX_API_X_SHM_GET_IMAGE, d);
}

/*
 * RENDER: a Composite copies pixels from a picture, and a picture of the
 * root window is the screen. The pictures a process makes on its root are
 * remembered (tgid, picture XID); a Composite from one of them is a read.
 * libxcb takes the new XID as an argument, Xlib returns it.
 */
struct x_picture_key {
	__u32 tgid;
	__u32 picture;
};

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 4096);
	__type(key, struct x_picture_key);
	__type(value, __u32);
} x_root_pictures SEC(".maps");

/* XRenderCreatePicture on root, between its entry and return (by tid). */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 1024);
	__type(key, __u32);
	__type(value, __u32);
} x_picture_pending SEC(".maps");

static __always_inline void remember_root_picture(__u32 picture, __u32 drawable)
{
	struct x_picture_key key = { .tgid = bpf_get_current_pid_tgid() >> 32, .picture = picture };
	__u32 root = SPHINX_TARGET_ROOT;

	if (picture && classify_xid(drawable) == SPHINX_TARGET_ROOT)
		bpf_map_update_elem(&x_root_pictures, &key, &root, BPF_ANY);
}

SEC("uprobe")
int BPF_KPROBE(xcb_render_create_picture, void *c, __u32 picture, __u32 drawable)
{
	remember_root_picture(picture, drawable);
	return 0;
}

SEC("uprobe")
int BPF_KPROBE(x_render_create_picture, void *dpy, unsigned long drawable)
{
	__u32 tid = (__u32)bpf_get_current_pid_tgid(), d = (__u32)drawable;

	if (classify_xid(d) == SPHINX_TARGET_ROOT)
		bpf_map_update_elem(&x_picture_pending, &tid, &d, BPF_ANY);
	return 0;
}

SEC("uretprobe")
int BPF_KRETPROBE(x_render_create_picture_ret, unsigned long picture)
{
	__u32 tid = (__u32)bpf_get_current_pid_tgid();
	__u32 *drawable = bpf_map_lookup_elem(&x_picture_pending, &tid);

	if (!drawable)
		return 0;
	remember_root_picture((__u32)picture, *drawable);
	bpf_map_delete_elem(&x_picture_pending, &tid);
	return 0;
}

static __always_inline int x_render_read(__u32 api, __u32 src)
{
	struct x_picture_key key = { .tgid = bpf_get_current_pid_tgid() >> 32, .picture = src };

	if (!is_self() && bpf_map_lookup_elem(&x_root_pictures, &key))
		count_capture(api, SPHINX_TARGET_ROOT, src);
	return 0;
}

SEC("uprobe")
int BPF_KPROBE(xcb_render_composite, void *c, __u8 op, __u32 src)
{
	return x_render_read(SPHINX_API_XCB_RENDER_COMPOSITE, src);
}

SEC("uprobe")
int BPF_KPROBE(x_render_composite, void *dpy, int op, unsigned long src)
{
	return x_render_read(SPHINX_API_X_RENDER_COMPOSITE, (__u32)src);
}

/*
 * Recording set-up, reported once per process: a standing damage watch on
 * root is how damage-driven recorders (GStreamer ximagesrc, recordMyDesktop,
 * Chromium) wait for changes, and a steady cursor-image poll is how
 * recorders draw the pointer — both mark a recording even while the screen
 * is still and grabs are rare.
 */
static __always_inline void report_setup(struct proc_state *st, __u32 api, __u32 drawable)
{
	struct sphinx_capture_event *e;

	if (st->damage_root)
		return;
	st->damage_root = 1;
	e = bpf_ringbuf_reserve(&events, sizeof(*e), 0);
	if (!e)
		return;
	fill_hdr(&e->hdr, SPHINX_EV_DAMAGE);
	e->api = api;
	e->target = SPHINX_TARGET_ROOT;
	e->drawable = drawable;
	e->first_ns = st->first_ns;
	e->calls = st->calls;
	e->width = e->height = 0;
	e->_pad = 0;
	bpf_ringbuf_submit(e, BPF_RB_FORCE_WAKEUP);
}

static __always_inline int damage_create(__u32 api, __u32 drawable)
{
	struct proc_state *st;

	if (is_self() || classify_xid(drawable) != SPHINX_TARGET_ROOT)
		return 0;
	st = proc_state_get(bpf_get_current_pid_tgid() >> 32);
	if (st)
		report_setup(st, api, drawable);
	return 0;
}

/*
 * Redirecting one window of another client into an off-screen pixmap is
 * how window capture (OBS) keeps reading it without further X calls; a
 * compositor redirects root's subwindows instead (another request).
 */
SEC("uprobe")
int BPF_KPROBE(xcb_composite_redirect_window, void *c, __u32 window)
{
	struct proc_state *st;

	if (is_self() || classify_xid(window) != SPHINX_TARGET_WINDOW)
		return 0;
	st = proc_state_get(bpf_get_current_pid_tgid() >> 32);
	if (st)
		report_setup(st, SPHINX_API_XCB_COMPOSITE_REDIRECT_WINDOW, window);
	return 0;
}

/* 15 cursor images within 2 s: a recorder's frame loop (15-30/s seen). */
#define CURSOR_POLL_CALLS	15
#define CURSOR_POLL_WINDOW_NS	2000000000ull

static __always_inline int cursor_poll(__u32 api)
{
	__u64 now = bpf_ktime_get_boot_ns();
	struct proc_state *st;

	if (is_self())
		return 0;
	st = proc_state_get(bpf_get_current_pid_tgid() >> 32);
	if (!st || st->damage_root)
		return 0;
	if (now - st->cursor_first_ns > CURSOR_POLL_WINDOW_NS) {
		st->cursor_first_ns = now;
		st->cursor_calls = 0;
	}
	if (++st->cursor_calls >= CURSOR_POLL_CALLS)
		report_setup(st, api, 0);
	return 0;
}

SEC("uprobe")
int BPF_KPROBE(x_fixes_get_cursor_image)
{
	return cursor_poll(SPHINX_API_X_FIXES_GET_CURSOR_IMAGE);
}

SEC("uprobe")
int BPF_KPROBE(xcb_xfixes_get_cursor_image)
{
	return cursor_poll(SPHINX_API_XCB_XFIXES_GET_CURSOR_IMAGE);
}

SEC("uprobe")
int BPF_KPROBE(x_damage_create, void *dpy, unsigned long d)
{
	return damage_create(SPHINX_API_X_DAMAGE_CREATE, d);
}

SEC("uprobe")
int BPF_KPROBE(xcb_damage_create, void *c, __u32 damage, __u32 drawable)
{
	return damage_create(SPHINX_API_XCB_DAMAGE_CREATE, drawable);
}

/* ------------------------------------------------------------- PipeWire */

/* Screen casts vs cameras: the compositor section at the end of this file. */
static __always_inline bool pw_connect_compositor(void *stream, int direction, __u32 target);

/*
 * pw_stream_connect(stream, direction, target, flags, params, n_params):
 * only an INPUT (0) stream whose first format param says mediaType video
 * (SPA object; first property key 1 = mediaType, value Id 2 = video) is a
 * screen cast; audio recorders use the same call.
 */
SEC("uprobe")
int BPF_KPROBE(pw_stream_connect, void *stream, int direction, __u32 target,
	       __u32 flags, void **params)
{
	__u32 key = 0, media = 0;
	void *pod = NULL;

	/* n_params (the 6th argument) is not needed: params[0] is read
	 * with a checked user read, and NULL params means no format. */
	if (is_self() || pw_connect_compositor(stream, direction, target) ||
	    direction != PW_DIRECTION_INPUT || !params)
		return 0;
	if (bpf_probe_read_user(&pod, sizeof(pod), params) || !pod)
		return 0;
	/* The object's first property (user_layout.h). */
	bpf_probe_read_user(&key, 4, pod + SPA_POD_FIRST_PROP_KEY);
	bpf_probe_read_user(&media, 4, pod + SPA_POD_FIRST_PROP_VALUE);
	if (key != SPA_FORMAT_MEDIA_TYPE || media != SPA_MEDIA_TYPE_VIDEO)
		return 0;
	count_capture(SPHINX_API_PW_STREAM_CONNECT, SPHINX_TARGET_STREAM, target);
	return 0;
}

/* -------------------------------------------------------------- Wayland */

/*
 * Every Wayland request goes through wl_proxy_marshal_array_flags(proxy,
 * opcode, interface, ...); @interface is that of the object the request
 * creates (NULL when it creates none). Screen-copy protocols create one
 * frame object per captured frame, so counting frame creations counts
 * grabs: grim makes one, wf-recorder one per frame. The name is compared
 * in the kernel; other requests return after one 8-byte read.
 */
static __always_inline bool has_prefix(const char *s, const char *prefix, int n)
{
	for (int i = 0; i < n; i++)
		if (s[i] != prefix[i])
			return false;
	return true;
}

SEC("uprobe")
int BPF_KPROBE(wl_marshal, void *proxy, __u32 opcode, void *interface)
{
	char name[32] = {};
	void *name_ptr = NULL;
	__u32 api;

	if (!interface || is_self())
		return 0;
	if (bpf_probe_read_user(&name_ptr, sizeof(name_ptr), interface + WL_INTERFACE_NAME) ||
	    !name_ptr)
		return 0;
	if (bpf_probe_read_user_str(name, sizeof(name), name_ptr) <= 0)
		return 0;
	if (has_prefix(name, "zwlr_screencopy_frame", 21))
		api = SPHINX_API_WL_SCREENCOPY;
	else if (has_prefix(name, "ext_image_copy_capture_frame", 28))
		api = SPHINX_API_WL_IMAGE_COPY_CAPTURE;
	else if (has_prefix(name, "zwlr_export_dmabuf_frame", 24))
		api = SPHINX_API_WL_EXPORT_DMABUF;
	else
		return 0;
	count_capture(api, SPHINX_TARGET_OUTPUT, 0);
	return 0;
}

/* ---------------------------------------------------------------- ioctl */

/* The current task's open file @fd, or NULL, via CO-RE. */
static __always_inline struct file *file_of_fd(int fd)
{
	struct task_struct *task = (struct task_struct *)bpf_get_current_task();
	struct file **fds = BPF_CORE_READ(task, files, fdt, fd);
	struct file *file = NULL;

	if (fd < 0 || fd >= (int)BPF_CORE_READ(task, files, fdt, max_fds))
		return NULL;
	if (bpf_probe_read_kernel(&file, sizeof(file), &fds[fd]))
		return NULL;
	return file;
}

/*
 * Attached by the agent only while a process other than a display server
 * holds a watched device open: a syscall tracepoint taxes every system
 * call on the machine. The fd's device number decides.
 */
SEC("tracepoint/syscalls/sys_enter_ioctl")
int handle_ioctl(struct trace_event_raw_sys_enter *ctx)
{
	__u32 cmd = (__u32)ctx->args[1];
	struct sphinx_device_key key;
	int fd = (int)ctx->args[0];
	struct file *file;
	__u32 api, rdev;

	if (cmd == SPHINX_DRM_IOCTL_MODE_GETFB2)
		api = SPHINX_API_DRM_GETFB2;
	else if (cmd == SPHINX_DRM_IOCTL_MODE_GETFB)
		api = SPHINX_API_DRM_GETFB;
	else if (cmd == SPHINX_FBIOGET_VSCREENINFO)
		api = SPHINX_API_FBIOGET_VSCREENINFO;
	else
		return 0;
	if (is_self())
		return 0;
	file = file_of_fd(fd);
	if (!file)
		return 0;
	rdev = BPF_CORE_READ(file, f_inode, i_rdev);
	key.major = rdev >> 20;		/* the kernel's dev_t: 12 bits major, 20 minor */
	key.minor = rdev & 0xfffff;
	if (!bpf_map_lookup_elem(&watch_devices, &key))
		return 0;
	count_capture(api, SPHINX_TARGET_DEVICE, (__u32)fd);
	return 0;
}

/* ------------------------------------------------------------ X server */

/*
 * Uprobes inside the X server binary (Xvfb, Xorg, Xwayland export these for
 * their driver modules) on the paths that read pixels: fbGetImage,
 * fbCopyArea, CompositePicture and their glamor twins. Nothing runs per
 * request. The source drawable says at once whether this can be a capture
 * (a window that is a root or another client's; pixmaps never are); only
 * then is the requester looked up in the server's exported client table:
 * the client whose request being served (its requestBuffer) names these
 * very drawables. Its connection's fd names a unix socket whose peer is the
 * client process.
 *
 * The X server's structure offsets and the request opcodes are in
 * user_layout.h, with the versions they hold for; they are checked on
 * every client used (index, clientAsMask).
 */

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 64);
	__type(key, __u32);		/* X server tgid */
	__type(value, struct sphinx_x_server);
} x_servers SEC(".maps");

/*
 * The request last counted per client connection -> its sequence number: a
 * GetImage reaches fbGetImage once per band of lines, a composite once per
 * clip box, and a client that stopped after a GetImage keeps it in its
 * request buffer. One request counts once. A connection is its ClientRec
 * and its socket's inode: the server reuses ClientRecs.
 */
struct x_connection {
	__u64 client;
	__u64 ino;
};

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 4096);
	__type(key, struct x_connection);
	__type(value, __s32);
} x_counted SEC(".maps");

/* The first bytes of a request: opcodes, length, then 32-bit words. */
struct x_request {
	__u8 major, minor;
	__u16 length;
	__u32 word[4];
};

/* One read or copy seen in the server, and who asked for it. */
struct x_access {
	__u32 api;
	__u32 src_id, dst_id;	/* XIDs: drawables, or pictures for RENDER */
	__s32 x, y, width, height;	/* an image read's band */
	__u32 owner;		/* client index owning the source window */
	__u32 shift;		/* XID bits below the client index */
	__u32 max;		/* clients in the table */
	__u64 clients;		/* address of clients[] */
	struct x_connection found;	/* the requester */
	struct file *socket;		/* its connection */
	__s32 sequence;			/* its request's sequence number */
};

/* The process at the other end of this X server's client fd, via CO-RE. */
static __always_inline __u32 peer_of_file(struct file *file, __u32 *uid)
{
	struct socket *sock = BPF_CORE_READ(file, private_data);
	struct sock *sk;
	struct pid *pid;

	if (!sock)
		return 0;
	sk = BPF_CORE_READ(sock, sk);
	if (!sk)
		return 0;
	pid = BPF_CORE_READ(sk, sk_peer_pid);
	if (!pid)
		return 0;
	*uid = BPF_CORE_READ(sk, sk_peer_cred, euid.val);
	return BPF_CORE_READ(pid, numbers[0].nr);
}

/* Does request @r ask for this access? Field positions from the X11, MIT-SHM
 * and RENDER protocol headers (xGetImageReq, xShmGetImageReq, xCopyAreaReq,
 * xRenderCompositeReq, xRenderTrapezoidsReq, xRenderCompositeGlyphsReq). */
static __always_inline bool x_request_matches(const struct x_access *xa, const struct x_request *r)
{
	switch (xa->api) {
	case SPHINX_API_XSERVER_GET_IMAGE:
	case SPHINX_API_XSERVER_GLAMOR_GET_IMAGE:
		if (r->major != X_REQ_GET_IMAGE &&
		    !(r->major >= X_FIRST_EXTENSION && r->minor == X_SHM_GET_IMAGE))
			return false;
		return r->word[0] == xa->src_id && (__s16)(r->word[1] & 0xffff) == xa->x &&
		       (__s32)(r->word[2] & 0xffff) == xa->width;
	case SPHINX_API_XSERVER_COPY_AREA:
	case SPHINX_API_XSERVER_GLAMOR_COPY_AREA:
		return (r->major == X_REQ_COPY_AREA || r->major == X_REQ_COPY_PLANE) &&
		       r->word[0] == xa->src_id && r->word[1] == xa->dst_id;
	default:	/* RENDER */
		if (r->major < X_FIRST_EXTENSION || r->word[1] != xa->src_id)
			return false;
		if (r->minor == X_RENDER_COMPOSITE)
			return r->word[3] == xa->dst_id;
		if ((r->minor >= X_RENDER_TRAPEZOIDS && r->minor <= X_RENDER_TRI_FAN) ||
		    (r->minor >= X_RENDER_GLYPHS_8 && r->minor <= X_RENDER_GLYPHS_32))
			return r->word[2] == xa->dst_id;
		return false;
	}
}

/* Client @client's connection (ClientRec, socket inode), its socket and
 * the sequence number of the request it is on. NULL when unreadable. */
static __always_inline struct file *x_connection_of(void *client, struct x_connection *conn,
						    __s32 *sequence)
{
	struct file *file;
	void *os = NULL;
	int fd = -1;

	if (bpf_probe_read_user(&os, sizeof(os), client + X_CLIENT_OSPRIVATE) || !os ||
	    bpf_probe_read_user(&fd, sizeof(fd), os + X_OSCOMM_FD))
		return NULL;
	file = file_of_fd(fd);
	if (!file)
		return NULL;
	bpf_probe_read_user(sequence, sizeof(*sequence), client + X_CLIENT_SEQUENCE);
	conn->client = (__u64)client;
	conn->ino = BPF_CORE_READ(file, f_inode, i_ino);
	return file;
}

enum x_asked {
	X_NOT_ASKED,		/* its request is another */
	X_ASKED_NEW,		/* its request, not yet counted: xa->found */
	X_ASKED_COUNTED,	/* its request, counted already */
};

/* Is client @index the one asking, with a request not yet counted? */
static __always_inline enum x_asked x_client_asked(struct x_access *xa, __u32 index)
{
	void *client = NULL, *buf = NULL;
	struct x_connection conn = {};
	struct x_request r = {};
	__s32 sequence = 0, *counted;
	struct file *file;
	__u32 mask = 1;
	__s16 idx = -1;

	if (bpf_probe_read_user(&client, sizeof(client),
				(void *)(xa->clients + (__u64)index * 8)) ||
	    !client)
		return X_NOT_ASKED;
	bpf_probe_read_user(&idx, sizeof(idx), client + X_CLIENT_INDEX);
	bpf_probe_read_user(&mask, sizeof(mask), client + X_CLIENT_MASK);
	/* A server built with another ClientRec layout: attribute nothing
	 * rather than the wrong process. */
	if ((__u32)idx != index || mask != index << xa->shift)
		return X_NOT_ASKED;
	if (bpf_probe_read_user(&buf, sizeof(buf), client + X_CLIENT_REQUEST) || !buf ||
	    bpf_probe_read_user(&r, sizeof(r), buf) || !x_request_matches(xa, &r))
		return X_NOT_ASKED;
	if (index == xa->owner)
		return X_ASKED_COUNTED;	/* reading its own window: never counted */
	file = x_connection_of(client, &conn, &sequence);
	if (!file)
		return X_NOT_ASKED;
	counted = bpf_map_lookup_elem(&x_counted, &conn);
	if (counted && *counted == sequence)
		return X_ASKED_COUNTED;
	xa->found = conn;
	xa->socket = file;
	xa->sequence = sequence;
	return X_ASKED_NEW;
}

static long x_scan_client(__u32 index, void *ctx)
{
	struct x_access *xa = ctx;

	if (index >= xa->max)
		return 1;
	if (index == 0 || index == xa->owner)
		return 0;
	return x_client_asked(xa, index) == X_ASKED_NEW ? 1 : 0;
}

/* XID layout: 29 bits, the client index above `shift` (LimitClients, set
 * from the command line before the first client: read once, kept). */
static __always_inline __u32 x_client_shift(struct sphinx_x_server *xs)
{
	int limit = 0;
	__u32 shift;

	if (xs->client_shift)
		return xs->client_shift;
	if (!xs->limit_clients ||
	    bpf_probe_read_user(&limit, sizeof(limit), (void *)xs->limit_clients))
		return SPHINX_X_CLIENT_SHIFT_DEFAULT;
	switch (limit) {
	case 64: shift = 23; break;
	case 128: shift = 22; break;
	case 512: shift = 20; break;
	case 1024: shift = 19; break;
	case 2048: shift = 18; break;
	default: shift = SPHINX_X_CLIENT_SHIFT_DEFAULT;
	}
	xs->client_shift = shift;
	return shift;
}

/*
 * A read or copy of @drawable in the X server; @src and @dst carry the XIDs
 * the request names (at @id_offset: drawables or pictures), @dst NULL for an
 * image read. Counted once per request when the source is a root or another
 * client's window and a client asked for it; its own windows, pixmaps and
 * the server's own work (compositing, cursor saves) return at once.
 */
static __always_inline int x_server_access(struct x_access *xa, void *drawable, void *src,
					   void *dst, __u32 id_offset)
{
	__u32 tgid = bpf_get_current_pid_tgid() >> 32;
	struct sphinx_x_server *xs;
	struct { __u8 type, class, depth, bpp; __u32 id; } head;	/* DrawableRec */
	__u32 id, target, peer, uid = 0;
	void *parent = (void *)1;
	int max = 0;

	/* Every copy and composite on the display passes here: one read
	 * decides most of them. */
	if (!drawable || bpf_probe_read_user(&head, sizeof(head), drawable) ||
	    head.type != X_DRAWABLE_WINDOW)
		return 0;
	xs = bpf_map_lookup_elem(&x_servers, &tgid);
	if (!xs)
		return 0;
	id = head.id;
	xa->shift = x_client_shift(xs);
	xa->owner = id >> xa->shift;
	if (xa->owner == 0) {
		bpf_probe_read_user(&parent, sizeof(parent), drawable + X_WINDOW_PARENT);
		if (parent)
			return 0;	/* server-owned, not a root: the composite overlay */
	}
	target = xa->owner == 0 ? SPHINX_TARGET_ROOT : SPHINX_TARGET_WINDOW;
	xa->src_id = id;
	if (id_offset != X_DRAWABLE_ID)
		bpf_probe_read_user(&xa->src_id, sizeof(xa->src_id), src + id_offset);
	if (dst) {
		bpf_probe_read_user(&xa->dst_id, sizeof(xa->dst_id), dst + id_offset);
		/* The server's own objects have no XID; a copy into the
		 * source's owner moves nobody's pixels elsewhere. */
		if (!xa->dst_id || xa->dst_id >> xa->shift == xa->owner)
			return 0;
	}
	/* The next band of the image read counted last: same source, x and
	 * width, starting where the last band ended, same client request. */
	if (!dst && xs->last_client && xs->last_src == xa->src_id && xs->last_x == xa->x &&
	    xs->last_width == xa->width && xs->last_y_end == xa->y) {
		struct x_connection conn = {};
		__s32 sequence = 0;

		if (x_connection_of((void *)xs->last_client, &conn, &sequence) &&
		    conn.ino == xs->last_ino && sequence == xs->last_sequence) {
			xs->last_y_end = xa->y + xa->height;
			return 0;
		}
	}

	/* Whoever names the destination is the likely requester; else all. */
	xa->clients = xs->clients;
	if (dst) {
		enum x_asked asked = x_client_asked(xa, xa->dst_id >> xa->shift);

		if (asked == X_ASKED_COUNTED)
			return 0;
		if (asked == X_ASKED_NEW)
			goto found;
	}
	/* An image read of a window by its owner, the common case (toolkits,
	 * x11perf's syncs): one client to look at, not all. */
	if (!dst && xa->owner && x_client_asked(xa, xa->owner) != X_NOT_ASKED)
		return 0;
	bpf_probe_read_user(&max, sizeof(max), (void *)xs->max_clients);
	xa->max = max > 0 && max <= SPHINX_X_MAX_CLIENTS ? max : SPHINX_X_MAX_CLIENTS;
	bpf_loop(xa->max, x_scan_client, xa, 0);
found:
	if (!xa->found.client)
		return 0;
	bpf_map_update_elem(&x_counted, &xa->found, &xa->sequence, BPF_ANY);
	xs->last_client = xa->found.client;
	xs->last_ino = xa->found.ino;
	xs->last_sequence = xa->sequence;
	xs->last_src = xa->src_id;
	xs->last_x = xa->x;
	xs->last_width = xa->width;
	xs->last_y_end = xa->y + xa->height;

	peer = peer_of_file(xa->socket, &uid);
	if (!peer || peer == self_tgid)
		return 0;
	count_capture_for(peer, true, uid, xa->api, target, id);
	return 0;
}

SEC("uprobe")
int BPF_KPROBE(x_server_get_image, void *drawable, int x, int y, int width, int height)
{
	struct x_access xa = { .api = SPHINX_API_XSERVER_GET_IMAGE,
			       .x = x, .y = y, .width = width, .height = height };

	return x_server_access(&xa, drawable, drawable, NULL, X_DRAWABLE_ID);
}

SEC("uprobe")
int BPF_KPROBE(x_server_copy_area, void *src, void *dst)
{
	struct x_access xa = { .api = SPHINX_API_XSERVER_COPY_AREA };

	return x_server_access(&xa, src, src, dst, X_DRAWABLE_ID);
}

static __always_inline int x_server_render(__u32 api, void *src_picture, void *dst_picture)
{
	struct x_access xa = { .api = api };
	void *drawable = NULL;

	/* Solid fills and gradients have no drawable. */
	if (!src_picture || !dst_picture ||
	    bpf_probe_read_user(&drawable, sizeof(drawable), src_picture + X_PICTURE_DRAWABLE))
		return 0;
	return x_server_access(&xa, drawable, src_picture, dst_picture, X_PICTURE_ID);
}

SEC("uprobe")
int BPF_KPROBE(x_server_composite, __u8 op, void *src_picture, void *mask_picture,
	       void *dst_picture)
{
	return x_server_render(SPHINX_API_XSERVER_COMPOSITE, src_picture, dst_picture);
}

/* The glamor (GL) paths of Xorg's modesetting driver and Xwayland. */
SEC("uprobe")
int BPF_KPROBE(x_server_glamor_get_image, void *drawable, int x, int y, int width, int height)
{
	struct x_access xa = { .api = SPHINX_API_XSERVER_GLAMOR_GET_IMAGE,
			       .x = x, .y = y, .width = width, .height = height };

	return x_server_access(&xa, drawable, drawable, NULL, X_DRAWABLE_ID);
}

SEC("uprobe")
int BPF_KPROBE(x_server_glamor_copy_area, void *src, void *dst)
{
	struct x_access xa = { .api = SPHINX_API_XSERVER_GLAMOR_COPY_AREA };

	return x_server_access(&xa, src, src, dst, X_DRAWABLE_ID);
}

SEC("uprobe")
int BPF_KPROBE(x_server_glamor_composite, __u8 op, void *src_picture, void *mask_picture,
	       void *dst_picture)
{
	return x_server_render(SPHINX_API_XSERVER_GLAMOR_COMPOSITE, src_picture, dst_picture);
}

/* ---------------------------------------------------------- compositors */

/*
 * Wayland compositors (mutter and gnome-shell, KWin, xdg-desktop-portal-wlr)
 * serve screen casts as PipeWire nodes they produce, and GNOME Shell takes
 * screenshots for its D-Bus callers itself. The probes here run in every
 * process that maps libpipewire or libgio, and return after one map lookup
 * unless the process is one the agent marked in `compositors`.
 *
 * - Which nodes are screen casts: a compositor's OUTPUT stream
 *   (pw_stream_connect, direction 1) learns its node id later; the
 *   compositor reads it with pw_stream_get_node_id to announce it to its
 *   client (mutter's PipeWireStreamAdded signal, KWin's streamReady, the
 *   wlr portal's Start reply), so the id is known here before any client
 *   can connect to it. It is forgotten when the stream is disconnected or
 *   destroyed (PipeWire reuses ids: a camera may get it next).
 * - A consumer: a video INPUT stream whose target is such a node is a
 *   screen capture by the process that receives the frames; its frames
 *   (pw_stream_dequeue_buffer) keep the capture going. Any other video
 *   stream (a camera, a virtual camera, a video player's sink) keeps the
 *   plain "stream" target, which the default policy does not report.
 * - Who asked: GDBus services check the caller of each method call with
 *   g_dbus_method_invocation_get_sender (mutter's handle_create_session,
 *   check_permission before Start; gnome-shell's _createScreenshot). The
 *   last one per compositor (sender, interface, method) is kept and sent
 *   with the capture it led to.
 *
 * The GDBusMethodInvocation and PipeWire constants: user_layout.h.
 */

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 64);
	__type(key, __u32);		/* tgid */
	__type(value, __u32);		/* enum sphinx_compositor */
} compositors SEC(".maps");

/* The D-Bus call a compositor checked last. */
struct dbus_call {
	__u64 ts;
	char sender[SPHINX_DBUS_NAME_LEN];
	char interface[SPHINX_DBUS_IFACE_LEN];
	char method[SPHINX_DBUS_METHOD_LEN];
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 64);
	__type(key, __u32);		/* compositor tgid */
	__type(value, struct dbus_call);
} compositor_calls SEC(".maps");

/* A process's stream: a compositor's output, or a consumer of a cast. */
struct stream_key {
	__u32 tgid;
	__u32 _pad;
	__u64 stream;
};

/* Compositor output streams -> their node id (PW_ID_ANY until known). */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 1024);
	__type(key, struct stream_key);
	__type(value, __u32);
} compositor_streams SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 1024);
	__type(key, __u32);		/* PipeWire node id */
	__type(value, struct sphinx_cast_node);
} screencast_nodes SEC(".maps");

/* Consumer streams reading a screen cast -> the node. */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 4096);
	__type(key, struct stream_key);
	__type(value, __u32);
} cast_streams SEC(".maps");

/* pw_stream_get_node_id in a compositor, between entry and return (tid). */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 256);
	__type(key, __u32);
	__type(value, __u64);
} node_id_pending SEC(".maps");

static __always_inline bool is_compositor(__u32 tgid)
{
	return bpf_map_lookup_elem(&compositors, &tgid) != NULL;
}

/* Report @api done by the compositor (the current process) for the caller
 * of its last checked D-Bus call, if any. */
static __always_inline void compositor_report(__u32 api, __u64 stream)
{
	__u32 tgid = bpf_get_current_pid_tgid() >> 32;
	struct sphinx_compositor_event *e;
	struct dbus_call *call;

	e = bpf_ringbuf_reserve(&events, sizeof(*e), 0);
	if (!e)
		return;
	fill_hdr(&e->hdr, SPHINX_EV_COMPOSITOR);
	e->api = api;
	e->_pad = 0;
	e->stream = stream;
	call = bpf_map_lookup_elem(&compositor_calls, &tgid);
	if (call) {
		e->call_ns = call->ts;
		__builtin_memcpy(e->sender, call->sender, sizeof(e->sender));
		__builtin_memcpy(e->interface, call->interface, sizeof(e->interface));
		__builtin_memcpy(e->method, call->method, sizeof(e->method));
	} else {
		e->call_ns = 0;
		e->sender[0] = e->interface[0] = e->method[0] = '\0';
	}
	bpf_ringbuf_submit(e, BPF_RB_FORCE_WAKEUP);
}

/*
 * Called from pw_stream_connect: true when the stream is the compositor's
 * own output or reads a screen-cast node (handled here), false for the
 * generic video-stream check.
 */
static __always_inline bool pw_connect_compositor(void *stream, int direction, __u32 target)
{
	struct stream_key key = { .tgid = bpf_get_current_pid_tgid() >> 32,
				  .stream = (__u64)stream };
	__u32 unknown = PW_ID_ANY;
	struct sphinx_cast_node *node;
	__u32 uid;

	if (direction == PW_DIRECTION_OUTPUT) {
		if (!is_compositor(key.tgid))
			return false;
		bpf_map_update_elem(&compositor_streams, &key, &unknown, BPF_ANY);
		compositor_report(SPHINX_API_SCREEN_CAST_START, key.stream);
		return true;
	}
	if (direction != PW_DIRECTION_INPUT || target == PW_ID_ANY)
		return false;
	node = bpf_map_lookup_elem(&screencast_nodes, &target);
	if (!node)
		return false;
	/* Node ids are per PipeWire daemon, one per user: another user's
	 * node of that number is not this one (root may read any). */
	uid = (__u32)bpf_get_current_uid_gid();
	if (uid != node->uid && uid != 0)
		return false;
	bpf_map_update_elem(&cast_streams, &key, &target, BPF_ANY);
	count_capture(SPHINX_API_PW_STREAM_CONNECT, SPHINX_TARGET_SCREENCAST, target);
	return true;
}

SEC("uprobe")
int BPF_KPROBE(pw_stream_get_node_id, void *stream)
{
	__u64 id = bpf_get_current_pid_tgid(), s = (__u64)stream;
	__u32 tid = (__u32)id;

	if (is_compositor(id >> 32))
		bpf_map_update_elem(&node_id_pending, &tid, &s, BPF_ANY);
	return 0;
}

SEC("uretprobe")
int BPF_KRETPROBE(pw_stream_get_node_id_ret, __u32 node_id)
{
	__u64 id = bpf_get_current_pid_tgid();
	__u32 tid = (__u32)id, tgid = id >> 32;
	struct sphinx_cast_node node = { .compositor = tgid };
	struct stream_key key = { .tgid = tgid };
	struct dbus_call *call;
	__u64 *stream;
	__u32 *known;

	stream = bpf_map_lookup_elem(&node_id_pending, &tid);
	if (!stream)
		return 0;
	key.stream = *stream;
	bpf_map_delete_elem(&node_id_pending, &tid);
	known = bpf_map_lookup_elem(&compositor_streams, &key);
	if (!known || node_id == PW_ID_ANY)
		return 0;	/* not an output stream of this compositor */
	*known = node_id;
	node.uid = (__u32)bpf_get_current_uid_gid();
	call = bpf_map_lookup_elem(&compositor_calls, &tgid);
	if (call)
		__builtin_memcpy(node.interface, call->interface, sizeof(node.interface));
	bpf_map_update_elem(&screencast_nodes, &node_id, &node, BPF_ANY);
	return 0;
}

/* A compositor's stream ends: its node id is free for anything next. */
static __always_inline int compositor_stream_gone(void *stream)
{
	struct stream_key key = { .tgid = bpf_get_current_pid_tgid() >> 32,
				  .stream = (__u64)stream };
	__u32 *node_id;

	node_id = bpf_map_lookup_elem(&compositor_streams, &key);
	if (node_id) {
		bpf_map_delete_elem(&screencast_nodes, node_id);
		bpf_map_delete_elem(&compositor_streams, &key);
		compositor_report(SPHINX_API_SCREEN_CAST_STOP, key.stream);
		return 0;
	}
	bpf_map_delete_elem(&cast_streams, &key);
	return 0;
}

SEC("uprobe")
int BPF_KPROBE(pw_stream_disconnect, void *stream)
{
	return compositor_stream_gone(stream);
}

SEC("uprobe")
int BPF_KPROBE(pw_stream_destroy, void *stream)
{
	return compositor_stream_gone(stream);
}

/* A frame of a screen cast reaches its consumer: counted like any grab. */
SEC("uprobe")
int BPF_KPROBE(pw_stream_dequeue_buffer, void *stream)
{
	struct stream_key key = { .tgid = bpf_get_current_pid_tgid() >> 32,
				  .stream = (__u64)stream };
	__u32 *node_id = bpf_map_lookup_elem(&cast_streams, &key);

	if (node_id)
		count_capture(SPHINX_API_PW_DEQUEUE_BUFFER, SPHINX_TARGET_SCREENCAST, *node_id);
	return 0;
}

/* Per CPU: too big for the BPF stack next to the ring-buffer record. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct dbus_call);
} dbus_call_scratch SEC(".maps");

static __always_inline bool same_sender(const char *a, const char *b)
{
	for (int i = 0; i < SPHINX_DBUS_NAME_LEN; i++) {
		if (a[i] != b[i])
			return false;
		if (!a[i])
			return true;
	}
	return true;
}

/*
 * The caller is often gone by the time the capture is reported (gdbus,
 * gnome-screenshot exit on the reply): a caller not seen last is reported
 * at once, so the agent names it while the compositor is still at work.
 */
SEC("uprobe")
int BPF_KPROBE(g_dbus_method_invocation_get_sender, void *invocation)
{
	__u32 tgid = bpf_get_current_pid_tgid() >> 32, zero = 0;
	struct dbus_call *last, *fresh;
	void *p = NULL;

	if (!invocation || !is_compositor(tgid))
		return 0;
	fresh = bpf_map_lookup_elem(&dbus_call_scratch, &zero);
	if (!fresh)
		return 0;
	__builtin_memset(fresh, 0, sizeof(*fresh));
	fresh->ts = bpf_ktime_get_boot_ns();
	if (!bpf_probe_read_user(&p, sizeof(p), invocation + G_INVOCATION_SENDER) && p)
		bpf_probe_read_user_str(fresh->sender, sizeof(fresh->sender), p);
	p = NULL;
	if (!bpf_probe_read_user(&p, sizeof(p), invocation + G_INVOCATION_INTERFACE) && p)
		bpf_probe_read_user_str(fresh->interface, sizeof(fresh->interface), p);
	p = NULL;
	if (!bpf_probe_read_user(&p, sizeof(p), invocation + G_INVOCATION_METHOD) && p)
		bpf_probe_read_user_str(fresh->method, sizeof(fresh->method), p);
	last = bpf_map_lookup_elem(&compositor_calls, &tgid);
	if (last && same_sender(last->sender, fresh->sender)) {
		bpf_map_update_elem(&compositor_calls, &tgid, fresh, BPF_ANY);
		return 0;
	}
	bpf_map_update_elem(&compositor_calls, &tgid, fresh, BPF_ANY);
	compositor_report(SPHINX_API_DBUS_CALLER, 0);
	return 0;
}

/* GNOME Shell's screenshots (libgnome-shell, exported for GObject
 * introspection): the D-Bus API's three, and the screenshot UI's. */
static __always_inline int shell_screenshot(__u32 api)
{
	if (is_compositor(bpf_get_current_pid_tgid() >> 32))
		compositor_report(api, 0);
	return 0;
}

SEC("uprobe")
int BPF_KPROBE(shell_screenshot_screenshot)
{
	return shell_screenshot(SPHINX_API_SHELL_SCREENSHOT);
}

SEC("uprobe")
int BPF_KPROBE(shell_screenshot_screenshot_area)
{
	return shell_screenshot(SPHINX_API_SHELL_SCREENSHOT_AREA);
}

SEC("uprobe")
int BPF_KPROBE(shell_screenshot_screenshot_window)
{
	return shell_screenshot(SPHINX_API_SHELL_SCREENSHOT_WINDOW);
}

SEC("uprobe")
int BPF_KPROBE(shell_screenshot_screenshot_stage_to_content)
{
	return shell_screenshot(SPHINX_API_SHELL_SCREENSHOT_UI);
}
