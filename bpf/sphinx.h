/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * The contract between sphinx.bpf.c and the agent: fixed-size event records
 * sent through one ring buffer, and the keys/values of the maps user space
 * fills. Plain __u32/__u64 and defines only, so it compiles with both
 * clang -target bpf and gcc.
 *
 * Volume: exec and exit are one record per process; opens only of the
 * character devices user space put in watch_devices (by number, from the
 * policy's device prefixes); capture calls are counted per process in the
 * kernel and reported on the first few calls, then at most once per
 * refresh interval (rodata), never per frame.
 *
 * The record sizes are part of the contract (both sides are built from
 * this file, but a stale skeleton or a mixed build must fail to compile,
 * not misread records): the static_asserts at the end pin them.
 */
#ifndef SPHINX_BPF_H
#define SPHINX_BPF_H

#ifndef __VMLINUX_H__
#include <linux/types.h>	/* user space; BPF code has vmlinux.h */
#endif

#define SPHINX_COMM_LEN		16
#define SPHINX_PATH_LEN		256
#define SPHINX_ARGS_LEN		1024	/* argv bytes, NUL-separated */
#define SPHINX_PREFIX_LEN	64	/* device prefix key bytes */
#define SPHINX_MAX_PROCS	16384	/* processes tracked at once */

enum sphinx_event_type {
	SPHINX_EV_EXEC = 1,
	SPHINX_EV_EXIT,
	SPHINX_EV_OPEN,		/* open of a path under a device prefix */
	SPHINX_EV_CAPTURE,	/* a counted capture call (API or device ioctl) */
	SPHINX_EV_DAMAGE,	/* recording set-up: a damage watch on root, or a
				 * steady cursor-image poll */
	SPHINX_EV_COMPOSITOR,	/* a Wayland compositor captures for a client:
				 * struct sphinx_compositor_event */
};

/* What was called. Names in agent/api_names.c, in this order. */
enum sphinx_api {
	SPHINX_API_NONE = 0,
	SPHINX_API_XCB_SHM_GET_IMAGE,
	SPHINX_API_XCB_SHM_GET_IMAGE_UNCHECKED,
	SPHINX_API_XCB_GET_IMAGE,
	SPHINX_API_XCB_GET_IMAGE_UNCHECKED,
	SPHINX_API_XCB_COPY_AREA,
	SPHINX_API_XCB_COMPOSITE_NAME_WINDOW_PIXMAP,
	SPHINX_API_XCB_COMPOSITE_NAME_WINDOW_PIXMAP_CHECKED,
	SPHINX_API_X_GET_IMAGE,
	SPHINX_API_X_GET_SUB_IMAGE,
	SPHINX_API_X_COPY_AREA,
	SPHINX_API_X_SHM_GET_IMAGE,
	SPHINX_API_X_DAMAGE_CREATE,
	SPHINX_API_XCB_DAMAGE_CREATE,
	SPHINX_API_PW_STREAM_CONNECT,
	SPHINX_API_DRM_GETFB,
	SPHINX_API_DRM_GETFB2,
	SPHINX_API_FBIOGET_VSCREENINFO,
	SPHINX_API_XSERVER_GET_IMAGE,		/* fbGetImage in the X server */
	SPHINX_API_XSERVER_COPY_AREA,		/* fbCopyArea */
	SPHINX_API_XSERVER_COMPOSITE,		/* CompositePicture (RENDER) */
	SPHINX_API_XSERVER_GLAMOR_GET_IMAGE,	/* glamor_get_image (Xorg/Xwayland GL) */
	SPHINX_API_XSERVER_GLAMOR_COPY_AREA,	/* glamor_copy_area */
	SPHINX_API_XSERVER_GLAMOR_COMPOSITE,	/* glamor_composite */
	SPHINX_API_X_FIXES_GET_CURSOR_IMAGE,	/* a steady rate marks a recorder */
	SPHINX_API_XCB_XFIXES_GET_CURSOR_IMAGE,
	SPHINX_API_WL_SCREENCOPY,		/* zwlr_screencopy_frame_v1 made */
	SPHINX_API_WL_IMAGE_COPY_CAPTURE,	/* ext_image_copy_capture_frame_v1 */
	SPHINX_API_WL_EXPORT_DMABUF,		/* zwlr_export_dmabuf_frame_v1 */
	SPHINX_API_XCB_COMPOSITE_REDIRECT_WINDOW, /* redirecting another client's window */
	SPHINX_API_X_RENDER_COMPOSITE,		/* from a picture of the root window */
	SPHINX_API_XCB_RENDER_COMPOSITE,
	SPHINX_API_X_COMPOSITE_NAME_WINDOW_PIXMAP,	/* libXcomposite */
	/* Wayland compositors (mutter, gnome-shell, KWin): */
	SPHINX_API_PW_DEQUEUE_BUFFER,		/* a frame of a screen cast read */
	SPHINX_API_SCREEN_CAST_START,		/* the compositor's stream connected */
	SPHINX_API_SCREEN_CAST_STOP,		/* ... and disconnected or destroyed */
	SPHINX_API_SHELL_SCREENSHOT,		/* shell_screenshot_screenshot */
	SPHINX_API_SHELL_SCREENSHOT_AREA,
	SPHINX_API_SHELL_SCREENSHOT_WINDOW,
	SPHINX_API_SHELL_SCREENSHOT_UI,		/* ..._stage_to_content: the shell's UI */
	SPHINX_API_DBUS_CALLER,			/* a new D-Bus caller: name it now */
	SPHINX_API__MAX,
};

/* Whose pixels: decided in the kernel from the X connection's setup. */
enum sphinx_target {
	SPHINX_TARGET_NONE = 0,
	SPHINX_TARGET_ROOT,	/* a root window (server-owned XID) */
	SPHINX_TARGET_WINDOW,	/* another client's drawable */
	SPHINX_TARGET_OWN,	/* the caller's own drawable: never reported */
	SPHINX_TARGET_DEVICE,	/* a capture device fd */
	SPHINX_TARGET_STREAM,	/* a PipeWire video input stream */
	SPHINX_TARGET_OUTPUT,	/* a Wayland output (the whole screen) */
	SPHINX_TARGET_SCREENCAST, /* a compositor's screen-cast PipeWire node */
	SPHINX_TARGET_SCREEN,	/* the compositor read its own screen */
	SPHINX_TARGET__MAX,
};

/* Device classes stored as the value of the prefix trie. */
enum sphinx_device {
	SPHINX_DEV_OTHER = 1,
	SPHINX_DEV_FB,
	SPHINX_DEV_DRM,
};

/* X11: the core protocol's GetImage/CopyArea source check needs these. */
#define SPHINX_X_CLIENT_SHIFT_DEFAULT	21	/* 256 clients: 29-bit XIDs */
#define SPHINX_X_MAX_CLIENTS		2048	/* the X server's MAXCLIENTS */

/*
 * Where one X server process keeps its clients, for the X server layer:
 * the run-time addresses of its exported `ClientPtr clients[]`, `int
 * currentMaxClients` and `int LimitClients` (0 when the binary has none).
 * The agent fills one per server process (key: its tgid) when it attaches.
 */
struct sphinx_x_server {
	__u64 clients;
	__u64 max_clients;
	__u64 limit_clients;
	/* Kept by the BPF side (zero from the agent): the image read counted
	 * last, to pass over its further bands of lines at once. */
	__u64 last_client;
	__u64 last_ino;
	__s32 last_sequence;
	__u32 last_src;
	__s32 last_x, last_width, last_y_end;
	__u32 client_shift;	/* from LimitClients, once read */
};

/* Linux ioctl numbers that read the screen (x86-64 values, from
 * include/uapi/drm/drm.h and include/uapi/linux/fb.h): DRM scan-out buffer
 * and fbdev geometry. */
#define SPHINX_DRM_IOCTL_MODE_GETFB	0xc01c64adu
#define SPHINX_DRM_IOCTL_MODE_GETFB2	0xc06864ceu
#define SPHINX_FBIOGET_VSCREENINFO	0x4600u

struct sphinx_event_hdr {
	__u32 type;		/* enum sphinx_event_type */
	__u32 pid;		/* tgid */
	__u32 tid;
	__u32 ppid;
	__u32 uid;
	__u32 _pad;
	__u64 ts;		/* CLOCK_BOOTTIME ns */
	char comm[SPHINX_COMM_LEN];
};

struct sphinx_exec_event {
	struct sphinx_event_hdr hdr;
	__u64 start_ns;		/* task start, boottime: part of a capture id */
	__u32 args_size;	/* bytes used in args */
	__u32 args_truncated;
	char filename[SPHINX_PATH_LEN];
	char args[SPHINX_ARGS_LEN];
};

struct sphinx_exit_event {
	struct sphinx_event_hdr hdr;
	__s32 exit_code;
	__u32 calls;		/* counted capture calls over the life */
};

/* An open of a watched character device, from the device cgroup hook: the
 * kernel asks it once the file permissions allowed the open. */
struct sphinx_open_event {
	struct sphinx_event_hdr hdr;
	__s32 ret;		/* 0: allowed by the file permissions */
	__u32 flags;		/* O_RDONLY, O_WRONLY or O_RDWR */
	__u32 device;		/* enum sphinx_device */
	__u32 major, minor;
	__u32 _pad;
	char path[SPHINX_PATH_LEN];	/* empty: the agent names the device */
};

/*
 * For captures seen inside the X server, hdr.pid is the requesting client
 * (the X socket's peer), hdr.tid is 0 and hdr.comm is empty: the X server
 * is the one running, never the one reported.
 */
struct sphinx_capture_event {
	struct sphinx_event_hdr hdr;
	__u32 api;		/* enum sphinx_api */
	__u32 target;		/* enum sphinx_target */
	__u64 drawable;		/* XID, fd or PipeWire target id */
	__u64 first_ns;		/* first counted call, boottime */
	__u32 calls;		/* counted calls so far, this process */
	__u32 width, height;	/* screen size when known, else 0 */
	__u32 _pad;
};

/*
 * Key of exec_wake, the programs whose exec wakes the agent at once (an
 * LPM trie: "ffmpeg" as a prefix of the name, "obs\0" as a whole one).
 * name is the task's comm, lower-cased, as the kernel sets it at exec: the
 * exec'd file's basename cut to 15 bytes. prefixlen counts bits of name.
 */
#define SPHINX_EXEC_WAKE_MAX	256	/* names the policy may give */

struct sphinx_exec_wake_key {
	__u32 prefixlen;
	char name[SPHINX_COMM_LEN];
};

/* Key of the map of watched character devices. */
struct sphinx_device_key {
	__u32 major, minor;
};

_Static_assert(sizeof(struct sphinx_event_hdr) == 48, "sphinx_event_hdr is 48 bytes");
_Static_assert(sizeof(struct sphinx_exec_event) == 48 + 16 + SPHINX_PATH_LEN + SPHINX_ARGS_LEN,
	       "sphinx_exec_event layout");
_Static_assert(sizeof(struct sphinx_exit_event) == 56, "sphinx_exit_event is 56 bytes");
_Static_assert(sizeof(struct sphinx_open_event) == 72 + SPHINX_PATH_LEN,
	       "sphinx_open_event layout");
_Static_assert(sizeof(struct sphinx_capture_event) == 88, "sphinx_capture_event is 88 bytes");
_Static_assert(sizeof(struct sphinx_x_server) == 64, "sphinx_x_server is 64 bytes");
_Static_assert(sizeof(struct sphinx_device_key) == 8, "sphinx_device_key is 8 bytes");
_Static_assert(sizeof(struct sphinx_exec_wake_key) == 20, "sphinx_exec_wake_key is 20 bytes");

/*
 * Wayland compositors. The agent marks each compositor process it finds
 * (key: tgid, value: enum sphinx_compositor) in the `compositors` map; the
 * probes below do nothing in any other process. A compositor serves its
 * capture APIs over D-Bus: the last method call it checked the sender of
 * (g_dbus_method_invocation_get_sender) names who asked.
 */
#define SPHINX_DBUS_NAME_LEN	48	/* unique names are ":1.N": short */
#define SPHINX_DBUS_IFACE_LEN	64
#define SPHINX_DBUS_METHOD_LEN	32

enum sphinx_compositor {
	SPHINX_COMPOSITOR_MUTTER = 1,	/* mutter, gnome-shell */
	SPHINX_COMPOSITOR_KWIN,
	SPHINX_COMPOSITOR_PORTAL,	/* xdg-desktop-portal-wlr: casts itself */
};

/* A screen-cast node some compositor produces (value of screencast_nodes,
 * key: PipeWire node id). */
struct sphinx_cast_node {
	__u32 compositor;	/* tgid */
	__u32 uid;		/* its owner: whose PipeWire daemon */
	char interface[SPHINX_DBUS_IFACE_LEN];	/* the D-Bus API that asked */
};

/*
 * hdr is the compositor's (pid, uid, comm). @call_ns is when the D-Bus
 * call that asked was seen (0: no call seen, the compositor acted on its
 * own: the shell's screenshot UI); its sender, interface and method follow.
 */
struct sphinx_compositor_event {
	struct sphinx_event_hdr hdr;
	__u32 api;		/* enum sphinx_api */
	__u32 _pad;
	__u64 stream;		/* a screen cast's stream (its start and stop) */
	__u64 call_ns;
	char sender[SPHINX_DBUS_NAME_LEN];
	char interface[SPHINX_DBUS_IFACE_LEN];
	char method[SPHINX_DBUS_METHOD_LEN];
};
_Static_assert(sizeof(struct sphinx_cast_node) == 72, "sphinx_cast_node is 72 bytes");
_Static_assert(sizeof(struct sphinx_compositor_event) == 48 + 24 + SPHINX_DBUS_NAME_LEN +
							       SPHINX_DBUS_IFACE_LEN +
							       SPHINX_DBUS_METHOD_LEN,
	       "sphinx_compositor_event layout");

#endif
