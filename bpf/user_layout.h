/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Layouts of the user-space structures the uprobes read. User space has no
 * BTF, so unlike kernel structures (CO-RE, vmlinux.h) these offsets are
 * fixed numbers: each is written down here once, with where it comes from
 * and for which versions it holds, in the manner of libbpf-tools'
 * core_fixes.bpf.h. Only sphinx.bpf.c includes this file.
 *
 * When a new version changes a layout, add its offsets here beside the old
 * ones and say how the probe tells the versions apart; never edit a number
 * in place without its provenance. The X server ones are checked at run
 * time on every client used (index and clientAsMask must agree), so a
 * server built another way attributes nothing rather than the wrong client.
 */
#ifndef SPHINX_USER_LAYOUT_H
#define SPHINX_USER_LAYOUT_H

/*
 * X11 connection setup, as libxcb's xcb_get_setup() returns it: the
 * protocol's "Connection Setup" success reply, byte for byte (X Window
 * System Protocol, X11R6+, section 8; xcb_setup_t and xcb_screen_t in
 * libxcb's generated xproto.h, every libxcb 1.x). Little-endian clients
 * only, as everything else here.
 *
 *   xcb_setup_t  { u8 status, pad; u16 major, minor, length; u32 release,
 *                  resource_id_base (12), resource_id_mask (16),
 *                  motion_buffer_size; u16 vendor_len (24), max_req_len;
 *                  u8 roots_len, pixmap_formats_len (29), ...; pad[4] } = 40,
 *   then the vendor string (padded to 4), the pixmap formats (8 bytes
 *   each), then the screens:
 *   xcb_screen_t { u32 root (0), colormap, white, black, input_masks;
 *                  u16 width_in_pixels (20), height_in_pixels (22); ... }
 * Also in /work/shared/research/capture-paths.md ("Root window or one window?").
 */
#define XCB_SETUP_RESOURCE_ID_BASE	12
#define XCB_SETUP_RESOURCE_ID_MASK	16
#define XCB_SETUP_VENDOR_LEN		24	/* u16 */
#define XCB_SETUP_PIXMAP_FORMATS_LEN	29	/* u8 */
#define XCB_SETUP_SIZE			40	/* the fixed part */
#define XCB_FORMAT_SIZE			8	/* xcb_format_t */
#define XCB_SCREEN_ROOT			0
#define XCB_SCREEN_WIDTH		20	/* u16 */
#define XCB_SCREEN_HEIGHT		22	/* u16 */

/*
 * PipeWire: pw_stream_connect()'s params[0] as a video or audio client
 * builds it, a SPA object pod whose first property is the media type
 * (spa/pod/pod.h and spa/param/format.h, PipeWire 0.3.x; the SPA pod ABI
 * is fixed by its wire format):
 *   spa_pod { u32 size, type }                      0..7
 *   spa_pod_object_body { u32 type, id }            8..15
 *   spa_pod_prop { u32 key (16), flags; spa_pod value { size, type };
 *                  the value's body (32) }
 * SPA_FORMAT_mediaType is 1; SPA_MEDIA_TYPE_video 2 (audio 1);
 * PW_DIRECTION_INPUT (SPA_DIRECTION_INPUT) 0. Tested against Debian 12's
 * libpipewire 0.3.65 (tests/helpers/pw_stream_client.c,
 * tests/integration/agent_pipewire.sh); the call sites are listed in
 * /work/shared/research/capture-paths.md.
 */
#define SPA_POD_FIRST_PROP_KEY		16
#define SPA_POD_FIRST_PROP_VALUE	32
#define SPA_FORMAT_MEDIA_TYPE		1
#define SPA_MEDIA_TYPE_VIDEO		2
#define PW_DIRECTION_INPUT		0
/* The compositor layer: a compositor's own stream is an OUTPUT one
 * (SPA_DIRECTION_OUTPUT 1); PW_ID_ANY (0xffffffff) as pw_stream_connect's
 * target means "let the session manager choose", a node id otherwise. */
#define PW_DIRECTION_OUTPUT		1
#define PW_ID_ANY			0xffffffffu

/*
 * GDBus: struct _GDBusMethodInvocation (gio/gdbusmethodinvocation.c,
 * private, unchanged from glib 2.26 to 2.78): a GObject (GTypeInstance 8,
 * ref_count 4 + 4 padding, qdata 8: 24 bytes), then gchar *sender (24),
 * *object_path (32), *interface_name (40), *method_name (48). Tested
 * against Debian 12's glib 2.74 in mutter 43.8 and gnome-shell 43.9
 * (tests/integration/agent_gnome.sh, agent_gnome_shell.sh).
 */
#define G_INVOCATION_SENDER		24
#define G_INVOCATION_INTERFACE		40
#define G_INVOCATION_METHOD		48

/*
 * Wayland: wl_proxy_marshal_array_flags()'s third argument, the interface
 * of the object a request creates. struct wl_interface { const char *name;
 * int version; ... } (wayland-util.h, libwayland-client 1.x: a stable ABI).
 */
#define WL_INTERFACE_NAME		0

/*
 * Inside the X server: xorg-server 1.20 to 21.1, x86-64 (the binary has no
 * BTF); tested against Debian 12's Xvfb 21.1.7 (tests/integration/
 * agent_xserver.sh). From include/dixstruct.h, include/windowstr.h,
 * include/pixmapstr.h, render/picturestr.h and os/osdep.h:
 *   ClientRec { void *requestBuffer (0); OsCommPtr osPrivate (8);
 *     struct xorg_list ready, output_pending; Mask clientAsMask (48);
 *     short index (52); ...; int sequence (76); ... }
 *   WindowRec { DrawableRec drawable (32 bytes); PrivateRec *devPrivates;
 *     WindowPtr parent (40); ... }  (a root is the window without a parent)
 *   OsCommRec { int fd (0); ... }
 *   DrawableRec { u8 type (0: DRAWABLE_WINDOW), class, depth, bpp; XID id (4); ... }
 *   PictureRec { DrawablePtr pDrawable (0); ...; CARD32 id (24); }
 */
#define X_CLIENT_REQUEST	0
#define X_CLIENT_OSPRIVATE	8
#define X_CLIENT_MASK		48
#define X_CLIENT_INDEX		52
#define X_CLIENT_SEQUENCE	76
#define X_OSCOMM_FD		0
#define X_DRAWABLE_WINDOW	0	/* DrawableRec.type of a window */
#define X_DRAWABLE_ID		4
#define X_WINDOW_PARENT		40
#define X_PICTURE_DRAWABLE	0
#define X_PICTURE_ID		24

/*
 * X11 request opcodes the X server probes match the request buffer against
 * (protocol constants, not layouts: X11 core protocol, MIT-SHM and RENDER
 * extension specs; a request is { u8 major, minor; u16 length; words }).
 */
#define X_REQ_COPY_AREA		62
#define X_REQ_COPY_PLANE	63
#define X_REQ_GET_IMAGE		73
#define X_FIRST_EXTENSION	128
#define X_SHM_GET_IMAGE		4	/* MIT-SHM minor */
#define X_RENDER_COMPOSITE	8	/* RENDER minors with a source picture */
#define X_RENDER_TRAPEZOIDS	10
#define X_RENDER_TRI_FAN	13
#define X_RENDER_GLYPHS_8	23
#define X_RENDER_GLYPHS_32	25

#endif
