// SPDX-License-Identifier: GPL-2.0-only
#include <fcntl.h>
#include <string.h>

#include "cleanup.h"
#include "api_names.h"
#include "layer.h"
#include "sphinx.h"

/*
 * Indexed by enum sphinx_api: the name policy rules match on (Api) and the
 * layer whose probes report the call. The static_assert checks the count;
 * tests/unit/test_api_layer.c that no row in the middle is missing.
 */
static const struct {
	const char *name;
	enum sphinx_layer layer;
} apis[] = {
	[SPHINX_API_NONE] = { "none", LAYER_API },
	[SPHINX_API_XCB_SHM_GET_IMAGE] = { "xcb_shm_get_image", LAYER_API },
	[SPHINX_API_XCB_SHM_GET_IMAGE_UNCHECKED] = { "xcb_shm_get_image_unchecked", LAYER_API },
	[SPHINX_API_XCB_GET_IMAGE] = { "xcb_get_image", LAYER_API },
	[SPHINX_API_XCB_GET_IMAGE_UNCHECKED] = { "xcb_get_image_unchecked", LAYER_API },
	[SPHINX_API_XCB_COPY_AREA] = { "xcb_copy_area", LAYER_API },
	[SPHINX_API_XCB_COMPOSITE_NAME_WINDOW_PIXMAP] = {
		"xcb_composite_name_window_pixmap", LAYER_API },
	[SPHINX_API_XCB_COMPOSITE_NAME_WINDOW_PIXMAP_CHECKED] = {
		"xcb_composite_name_window_pixmap_checked", LAYER_API },
	[SPHINX_API_X_GET_IMAGE] = { "XGetImage", LAYER_API },
	[SPHINX_API_X_GET_SUB_IMAGE] = { "XGetSubImage", LAYER_API },
	[SPHINX_API_X_COPY_AREA] = { "XCopyArea", LAYER_API },
	[SPHINX_API_X_SHM_GET_IMAGE] = { "XShmGetImage", LAYER_API },
	[SPHINX_API_X_DAMAGE_CREATE] = { "XDamageCreate", LAYER_API },
	[SPHINX_API_XCB_DAMAGE_CREATE] = { "xcb_damage_create", LAYER_API },
	[SPHINX_API_PW_STREAM_CONNECT] = { "pw_stream_connect", LAYER_API },
	[SPHINX_API_DRM_GETFB] = { "DRM_IOCTL_MODE_GETFB", LAYER_DEVICE },
	[SPHINX_API_DRM_GETFB2] = { "DRM_IOCTL_MODE_GETFB2", LAYER_DEVICE },
	[SPHINX_API_FBIOGET_VSCREENINFO] = { "FBIOGET_VSCREENINFO", LAYER_DEVICE },
	[SPHINX_API_XSERVER_GET_IMAGE] = { "fbGetImage", LAYER_XSERVER },
	[SPHINX_API_XSERVER_COPY_AREA] = { "fbCopyArea", LAYER_XSERVER },
	[SPHINX_API_XSERVER_COMPOSITE] = { "CompositePicture", LAYER_XSERVER },
	[SPHINX_API_XSERVER_GLAMOR_GET_IMAGE] = { "glamor_get_image", LAYER_XSERVER },
	[SPHINX_API_XSERVER_GLAMOR_COPY_AREA] = { "glamor_copy_area", LAYER_XSERVER },
	[SPHINX_API_XSERVER_GLAMOR_COMPOSITE] = { "glamor_composite", LAYER_XSERVER },
	[SPHINX_API_X_FIXES_GET_CURSOR_IMAGE] = { "XFixesGetCursorImage", LAYER_API },
	[SPHINX_API_XCB_XFIXES_GET_CURSOR_IMAGE] = { "xcb_xfixes_get_cursor_image", LAYER_API },
	[SPHINX_API_WL_SCREENCOPY] = { "zwlr_screencopy_frame_v1", LAYER_API },
	[SPHINX_API_WL_IMAGE_COPY_CAPTURE] = { "ext_image_copy_capture_frame_v1", LAYER_API },
	[SPHINX_API_WL_EXPORT_DMABUF] = { "zwlr_export_dmabuf_frame_v1", LAYER_API },
	[SPHINX_API_XCB_COMPOSITE_REDIRECT_WINDOW] = { "xcb_composite_redirect_window", LAYER_API },
	[SPHINX_API_X_RENDER_COMPOSITE] = { "XRenderComposite", LAYER_API },
	[SPHINX_API_XCB_RENDER_COMPOSITE] = { "xcb_render_composite", LAYER_API },
	[SPHINX_API_X_COMPOSITE_NAME_WINDOW_PIXMAP] = { "XCompositeNameWindowPixmap", LAYER_API },
	/* A screen cast's frames, read by its consumer: like its connect. */
	[SPHINX_API_PW_DEQUEUE_BUFFER] = { "pw_stream_dequeue_buffer", LAYER_API },
	[SPHINX_API_SCREEN_CAST_START] = { "screen_cast_start", LAYER_COMPOSITOR },
	[SPHINX_API_SCREEN_CAST_STOP] = { "screen_cast_stop", LAYER_COMPOSITOR },
	[SPHINX_API_SHELL_SCREENSHOT] = { "shell_screenshot_screenshot", LAYER_COMPOSITOR },
	[SPHINX_API_SHELL_SCREENSHOT_AREA] = { "shell_screenshot_screenshot_area",
					       LAYER_COMPOSITOR },
	[SPHINX_API_SHELL_SCREENSHOT_WINDOW] = { "shell_screenshot_screenshot_window",
						 LAYER_COMPOSITOR },
	[SPHINX_API_SHELL_SCREENSHOT_UI] = { "shell_screenshot_screenshot_stage_to_content",
					     LAYER_COMPOSITOR },
	[SPHINX_API_DBUS_CALLER] = { "dbus_caller", LAYER_COMPOSITOR },
};
_Static_assert(ARRAY_SIZE(apis) == SPHINX_API__MAX, "a row of apis[] per enum sphinx_api");

static const char *const target_names[] = {
	[SPHINX_TARGET_NONE] = "none",
	[SPHINX_TARGET_ROOT] = "root",
	[SPHINX_TARGET_WINDOW] = "window",
	[SPHINX_TARGET_OWN] = "own",
	[SPHINX_TARGET_DEVICE] = "device",
	[SPHINX_TARGET_STREAM] = "stream",
	[SPHINX_TARGET_OUTPUT] = "output",
	[SPHINX_TARGET_SCREENCAST] = "screencast",
	[SPHINX_TARGET_SCREEN] = "screen",
};
_Static_assert(ARRAY_SIZE(target_names) == SPHINX_TARGET__MAX, "a name per enum sphinx_target");

/* Every function the api layer hooks, by library soname
 * (/work/shared/research/capture-paths.md). */
const struct capture_probe capture_probes[] = {
	{ "libxcb.so.1", "xcb_get_setup", "xcb_get_setup_ret", true, false },
	{ "libxcb.so.1", "xcb_get_image", "xcb_get_image", false, false },
	{ "libxcb.so.1", "xcb_get_image_unchecked", "xcb_get_image_unchecked", false, false },
	{ "libxcb.so.1", "xcb_copy_area", "xcb_copy_area", false, true },
	{ "libxcb-shm.so.0", "xcb_shm_get_image", "xcb_shm_get_image", false, false },
	{ "libxcb-shm.so.0", "xcb_shm_get_image_unchecked", "xcb_shm_get_image_unchecked", false,
	  false },
	{ "libxcb-composite.so.0", "xcb_composite_name_window_pixmap",
	  "xcb_composite_name_window_pixmap", false, false },
	{ "libxcb-composite.so.0", "xcb_composite_name_window_pixmap_checked",
	  "xcb_composite_name_window_pixmap_checked", false, false },
	{ "libXcomposite.so.1", "XCompositeNameWindowPixmap", "x_composite_name_window_pixmap",
	  false, false },
	{ "libxcb-composite.so.0", "xcb_composite_redirect_window", "xcb_composite_redirect_window",
	  false, false },
	{ "libxcb-damage.so.0", "xcb_damage_create", "xcb_damage_create", false, false },
	{ "libX11.so.6", "XGetImage", "x_get_image", false, false },
	{ "libX11.so.6", "XGetSubImage", "x_get_sub_image", false, false },
	{ "libX11.so.6", "XCopyArea", "x_copy_area", false, true },
	{ "libXext.so.6", "XShmGetImage", "x_shm_get_image", false, false },
	{ "libXdamage.so.1", "XDamageCreate", "x_damage_create", false, false },
	{ "libXfixes.so.3", "XFixesGetCursorImage", "x_fixes_get_cursor_image", false, false },
	{ "libxcb-xfixes.so.0", "xcb_xfixes_get_cursor_image", "xcb_xfixes_get_cursor_image", false,
	  false },
	{ "libXrender.so.1", "XRenderCreatePicture", "x_render_create_picture", false, false },
	{ "libXrender.so.1", "XRenderCreatePicture", "x_render_create_picture_ret", true, false },
	{ "libXrender.so.1", "XRenderComposite", "x_render_composite", false, false },
	{ "libxcb-render.so.0", "xcb_render_create_picture", "xcb_render_create_picture", false,
	  false },
	{ "libxcb-render.so.0", "xcb_render_composite", "xcb_render_composite", false, true },
	{ "libpipewire-0.3.so.0", "pw_stream_connect", "pw_stream_connect", false, false },
	{ "libwayland-client.so.0", "wl_proxy_marshal_array_flags", "wl_marshal", false, false },
};
const unsigned n_capture_probes = ARRAY_SIZE(capture_probes);

/* Inside the X server binary itself (exported for its driver modules). */
const struct capture_probe xserver_probes[] = {
	{ NULL, "fbGetImage", "x_server_get_image", false, false },
	{ NULL, "fbCopyArea", "x_server_copy_area", false, false },
	{ NULL, "CompositePicture", "x_server_composite", false, false },
	/* glamor: in the binary (Xwayland) or the module (Xorg, below). */
	{ NULL, "glamor_get_image", "x_server_glamor_get_image", false, false },
	{ NULL, "glamor_copy_area", "x_server_glamor_copy_area", false, false },
	{ NULL, "glamor_composite", "x_server_glamor_composite", false, false },
};
const unsigned n_xserver_probes = ARRAY_SIZE(xserver_probes);

static const char *const xserver_names[] = {
	"Xorg", "Xvfb", "Xwayland", "Xephyr", "Xvnc", "Xtigervnc", "Xnest",
};

bool is_xserver_exe(const char *exe)
{
	const char *base = exe ? strrchr(exe, '/') : NULL;

	base = base ? base + 1 : exe;
	if (!base)
		return false;
	for (size_t i = 0; i < ARRAY_SIZE(xserver_names); i++)
		if (strcmp(base, xserver_names[i]) == 0)
			return true;
	return false;
}

const char *api_name(unsigned api)
{
	return api < SPHINX_API__MAX && apis[api].name ? apis[api].name : "unknown";
}

enum sphinx_layer api_layer(unsigned api)
{
	return api < SPHINX_API__MAX ? apis[api].layer : LAYER_API;
}

const char *target_name(unsigned target)
{
	return target < ARRAY_SIZE(target_names) ? target_names[target] : "unknown";
}

const char *open_access_name(unsigned flags)
{
	switch (flags & O_ACCMODE) {
	case O_WRONLY: return "write";
	case O_RDWR: return "readwrite";
	default: return "read";
	}
}
