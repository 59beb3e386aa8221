// SPDX-License-Identifier: GPL-2.0-only
/*
 * The shipped policy (policy/default): it loads without a single error,
 * every rule is documented, and it classifies a table of real-world events
 * — recorders and screenshot tools yes, transcoding, cameras, display
 * servers and compositors no.
 */
#include "test_policy_util.h"

static struct policy *defaults;

static int load_defaults(void **state)
{
	struct policy_diags diags = {};
	char buf[1024];
	int r;

	if (scratch_setup(state) < 0)
		return -1;
	r = policy_load(default_policy_dir(), &defaults, &diags);
	for (size_t i = 0; i < diags.count; i++)
		fprintf(stderr, "# %s\n", policy_diag_format(&diags.items[i], buf, sizeof(buf)));
	policy_diags_clear(&diags);
	return r;
}

static int free_defaults(void **state)
{
	policy_free(defaults);
	return scratch_teardown(state);
}

static void test_loads_cleanly(void **state)
{
	struct policy_diags diags = {};
	struct policy *p = NULL;

	assert_int_equal(policy_load(default_policy_dir(), &p, &diags), 0);
	assert_int_equal(diags.count, 0);
	assert_true(policy_rule_count(p) >= 20);
	policy_free(p);
}

static void test_every_rule_documented(void **state)
{
	for (size_t i = 0; i < policy_rule_count(defaults); i++) {
		const struct policy_rule *r = policy_rule_at(defaults, i);

		if (strncmp(r->id, "sphinx.", 7) != 0)
			fail_msg("%s: id without the sphinx. prefix", r->id);
		if (!r->description || strlen(r->description) < 20)
			fail_msg("%s: no description", r->id);
		if (r->needs)
			fail_msg("%s: never fires (needs %s)", r->id, r->needs);
	}
}

/* -------------------------------------------------------- exec signatures */

static const struct exec_case {
	const char *image, *cmdline, *want;
} exec_cases[] = {
	/* FFmpeg: screen inputs yes, everything else no. */
	{ "/usr/bin/ffmpeg", "ffmpeg -f x11grab -i :0 out.mkv", "sphinx.exec.ffmpeg-screen-grab" },
	{ "/usr/bin/ffmpeg", "ffmpeg -video_size 1280x720 -framerate 25 -f x11grab -i :0.0+100,200 o.mp4",
	  "sphinx.exec.ffmpeg-screen-grab" },
	{ "/usr/bin/ffmpeg", "ffmpeg -device /dev/dri/card0 -f kmsgrab -i - -vf hwmap o.mkv",
	  "sphinx.exec.ffmpeg-screen-grab" },
	{ "/usr/bin/ffmpeg", "ffmpeg -f fbdev -framerate 10 -i /dev/fb0 o.avi",
	  "sphinx.exec.ffmpeg-screen-grab" },
	{ "/usr/local/bin/ffmpeg-static", "ffmpeg-static -f x11grab -i :1 -t 2 -f null -",
	  "sphinx.exec.ffmpeg-screen-grab" },
	{ "/usr/bin/avconv", "avconv -f x11grab -i :0 o.mkv", "sphinx.exec.ffmpeg-screen-grab" },
	{ "/usr/bin/ffmpeg", "ffmpeg -i in.mp4 -c:v libx264 out.mkv", NULL },
	{ "/usr/bin/ffmpeg", "ffmpeg -f v4l2 -i /dev/video0 cam.mkv", NULL },
	{ "/usr/bin/ffmpeg", "ffmpeg -f alsa -i default voice.wav", NULL },
	{ "/usr/bin/ffmpeg", "ffmpeg -i x11grab.mkv out.mp4", NULL },
	{ "/usr/bin/grep", "grep -f x11grab notes.txt", NULL },
	/* GStreamer. */
	{ "/usr/bin/gst-launch-1.0", "gst-launch-1.0 -q ximagesrc use-damage=false ! fakesink",
	  "sphinx.exec.gstreamer-ximagesrc" },
	{ "/usr/bin/gst-launch-1.0", "gst-launch-1.0 pipewiresrc path=42 ! videoconvert ! x264enc",
	  "sphinx.exec.gstreamer-pipewiresrc" },
	{ "/usr/bin/gst-launch-1.0", "gst-launch-1.0 videotestsrc ! autovideosink", NULL },
	/* Recorders by name. */
	{ "/usr/bin/obs", "obs --startrecording", "sphinx.exec.obs" },
	{ "/app/bin/obs", "obs", "sphinx.exec.obs" },
	{ "/usr/bin/obsidian", "obsidian", NULL },
	{ "/usr/bin/simplescreenrecorder", "simplescreenrecorder --start-recording",
	  "sphinx.exec.simplescreenrecorder" },
	{ "/usr/bin/kazam", "/usr/bin/python3 /usr/bin/kazam", "sphinx.exec.kazam" },
	{ "/usr/bin/python3", "/usr/bin/python3 -s /usr/bin/kazam --nosound", "sphinx.exec.kazam" },
	{ "/usr/bin/python3", "python3 kazam_notes.py", NULL },
	{ "/usr/bin/peek", "peek", "sphinx.exec.peek" },
	{ "/usr/bin/vokoscreenNG", "vokoscreenNG", "sphinx.exec.vokoscreen" },
	{ "/usr/bin/recordmydesktop", "recordmydesktop -o out.ogv", "sphinx.exec.recordmydesktop" },
	{ "/usr/bin/byzanz-record", "byzanz-record -d 10 out.gif", "sphinx.exec.byzanz-record" },
	{ "/usr/bin/wf-recorder", "wf-recorder -f out.mp4", "sphinx.exec.wf-recorder" },
	{ "/usr/bin/gpu-screen-recorder", "gpu-screen-recorder -w screen -o out.mp4",
	  "sphinx.exec.gpu-screen-recorder" },
	{ "/usr/bin/gsr-kms-server", "gsr-kms-server /tmp/sock /dev/dri/card0",
	  "sphinx.exec.gpu-screen-recorder" },
	/* Screenshots: whole screen medium, one window low. */
	{ "/usr/bin/xwd", "xwd -root -silent -out /tmp/s.xwd", "sphinx.exec.xwd-root" },
	{ "/usr/bin/xwd", "xwd -id 0x200003 -out w.xwd", "sphinx.exec.xwd-window" },
	{ "/usr/bin/xwd", "xwd -rootless", "sphinx.exec.xwd-window" },
	{ "/usr/bin/import", "import -window root /tmp/s.png", "sphinx.exec.import-root" },
	{ "/usr/bin/import-im6.q16", "import -window  root s.png", "sphinx.exec.import-root" },
	{ "/usr/bin/magick", "magick import -window root s.png", "sphinx.exec.import-root" },
	{ "/usr/bin/import", "import s.png", "sphinx.exec.import-window" },
	{ "/usr/bin/import", "import -window 0x200003 s.png", "sphinx.exec.import-window" },
	{ "/usr/bin/magick", "magick convert a.png b.jpg", NULL },
	{ "/usr/bin/scrot", "scrot -o /tmp/s.png", "sphinx.exec.screenshot-tools" },
	{ "/usr/bin/gnome-screenshot", "gnome-screenshot -w", "sphinx.exec.screenshot-tools" },
	{ "/usr/bin/spectacle", "spectacle -b -n", "sphinx.exec.screenshot-tools" },
	{ "/usr/bin/grim", "grim out.png", "sphinx.exec.screenshot-tools" },
	{ "/usr/bin/maim", "maim s.png", "sphinx.exec.screenshot-tools" },
	{ "/usr/bin/flameshot", "flameshot gui", "sphinx.exec.screenshot-tools" },
	{ "/usr/bin/xfce4-screenshooter", "xfce4-screenshooter -f", "sphinx.exec.screenshot-tools" },
	{ "/usr/bin/perl", "/usr/bin/perl -w /usr/bin/shutter --full", "sphinx.exec.shutter" },
	/* What the tool is doing: one frame is a screenshot, not a recording. */
	{ "/usr/bin/ffmpeg", "ffmpeg -f x11grab -i :0 -frames:v 1 shot.png",
	  "sphinx.exec.ffmpeg-screen-frame" },
	{ "/usr/bin/ffmpeg", "ffmpeg -f x11grab -i :0 -vframes 1 shot.png",
	  "sphinx.exec.ffmpeg-screen-frame" },
	{ "/usr/bin/ffmpeg", "ffmpeg -device /dev/dri/card0 -f kmsgrab -i - -frames 1 s.png",
	  "sphinx.exec.ffmpeg-screen-frame" },
	{ "/usr/bin/ffmpeg", "ffmpeg -f x11grab -i :0 -frames:v 10 s%02d.png",
	  "sphinx.exec.ffmpeg-screen-grab" },
	{ "/usr/bin/ffmpeg", "ffmpeg -f x11grab -i :0 -frames:v 100 out.mkv",
	  "sphinx.exec.ffmpeg-screen-grab" },
	{ "/usr/bin/ffmpeg", "ffmpeg -i in.mp4 -frames:v 1 thumb.png", NULL },
	{ "/usr/bin/gst-launch-1.0", "gst-launch-1.0 ximagesrc num-buffers=1 ! pngenc ! filesink location=s.png",
	  "sphinx.exec.gstreamer-frame" },
	{ "/usr/bin/gst-launch-1.0", "gst-launch-1.0 ximagesrc use-damage=0 num-buffers=1 ! pngenc ! filesink",
	  "sphinx.exec.gstreamer-frame" },
	{ "/usr/bin/gst-launch-1.0", "gst-launch-1.0 pipewiresrc path=42 num-buffers=1 ! pngenc ! filesink",
	  "sphinx.exec.gstreamer-frame" },
	{ "/usr/bin/gst-launch-1.0", "gst-launch-1.0 ximagesrc num-buffers=100 ! x264enc ! filesink",
	  "sphinx.exec.gstreamer-ximagesrc" },
	{ "/usr/bin/gst-launch-1.0", "gst-launch-1.0 ximagesrc ! queue num-buffers=1 ! fakesink",
	  "sphinx.exec.gstreamer-ximagesrc" },
	{ "/usr/bin/gst-launch-1.0", "gst-launch-1.0 videotestsrc num-buffers=1 ! pngenc ! filesink", NULL },
	{ "/usr/bin/gpu-screen-recorder", "gpu-screen-recorder -w screen -o /tmp/shot.PNG",
	  "sphinx.exec.gpu-screen-recorder-screenshot" },
	{ "/usr/bin/gpu-screen-recorder", "gpu-screen-recorder -w screen -o s.jpg",
	  "sphinx.exec.gpu-screen-recorder-screenshot" },
	{ "/usr/bin/gpu-screen-recorder", "gpu-screen-recorder -w screen -o png.mp4",
	  "sphinx.exec.gpu-screen-recorder" },
	{ "/usr/bin/spectacle", "spectacle -R screen", "sphinx.exec.spectacle-record" },
	{ "/usr/bin/spectacle", "spectacle --record=region", "sphinx.exec.spectacle-record" },
	{ "/usr/bin/spectacle", "spectacle -r -b -n", "sphinx.exec.screenshot-tools" },
	{ "/usr/bin/import", "import -snaps 20 -delay 0 -window root s.png", "sphinx.exec.import-snaps" },
	{ "/usr/bin/magick", "magick import -snaps 3 s.png", "sphinx.exec.import-snaps" },
	{ "/usr/bin/import", "import -snaps 1 -window root s.png", "sphinx.exec.import-root" },
	{ "/usr/bin/import", "import -snaps 1 s.png", "sphinx.exec.import-window" },
	/* Everyday programs. */
	{ "/usr/bin/ls", "ls -l", NULL },
	{ "/usr/bin/Xvfb", "Xvfb :77 -screen 0 1280x720x24", NULL },
	{ "/usr/lib/xorg/Xorg", "/usr/lib/xorg/Xorg :0 -nolisten tcp vt1", NULL },
	{ "/usr/bin/firefox", "firefox https://meet.example.org/", NULL },
};

static void test_exec_signatures(void **state)
{
	for (size_t i = 0; i < sizeof(exec_cases) / sizeof(exec_cases[0]); i++) {
		const struct exec_case *c = &exec_cases[i];
		struct policy_event ev;
		const char *got;

		make_event(&ev, POLICY_CAT_PROCESS_CREATION, "Image", c->image,
			   "CommandLine", c->cmdline, "Comm", "x", "User", "alice", "Uid", "1000",
			   "Pid", "4242", "ParentImage", "/usr/bin/bash", NULL);
		got = best_id(defaults, &ev);
		if ((got == NULL) != (c->want == NULL) || (got && strcmp(got, c->want) != 0))
			fail_msg("%s [%s]: expected %s, got %s", c->image, c->cmdline,
				 c->want ? c->want : "no match", got ? got : "no match");
	}
}

/*
 * What every signature says a launch is, and why (docs/policy.md, "The
 * default policy"): recording where the tool only records, screenshot
 * where the flags say one picture, auto where the tool does both and the
 * command line does not say which (the calls it makes then decide).
 */
static const struct kind_case {
	const char *id;
	enum policy_kind kind;
} kind_cases[] = {
	{ "sphinx.exec.ffmpeg-screen-grab", POLICY_KIND_RECORDING },
	{ "sphinx.exec.ffmpeg-screen-frame", POLICY_KIND_SCREENSHOT },
	{ "sphinx.exec.gstreamer-ximagesrc", POLICY_KIND_RECORDING },
	{ "sphinx.exec.gstreamer-pipewiresrc", POLICY_KIND_RECORDING },
	{ "sphinx.exec.gstreamer-frame", POLICY_KIND_SCREENSHOT },
	{ "sphinx.exec.obs", POLICY_KIND_RECORDING },
	{ "sphinx.exec.simplescreenrecorder", POLICY_KIND_RECORDING },
	{ "sphinx.exec.kazam", POLICY_KIND_AUTO },
	{ "sphinx.exec.peek", POLICY_KIND_RECORDING },
	{ "sphinx.exec.vokoscreen", POLICY_KIND_RECORDING },
	{ "sphinx.exec.recordmydesktop", POLICY_KIND_RECORDING },
	{ "sphinx.exec.byzanz-record", POLICY_KIND_RECORDING },
	{ "sphinx.exec.wf-recorder", POLICY_KIND_RECORDING },
	{ "sphinx.exec.gpu-screen-recorder", POLICY_KIND_RECORDING },
	{ "sphinx.exec.gpu-screen-recorder-screenshot", POLICY_KIND_SCREENSHOT },
	{ "sphinx.exec.spectacle-record", POLICY_KIND_RECORDING },
	{ "sphinx.exec.xwd-root", POLICY_KIND_SCREENSHOT },
	{ "sphinx.exec.xwd-window", POLICY_KIND_SCREENSHOT },
	{ "sphinx.exec.import-root", POLICY_KIND_SCREENSHOT },
	{ "sphinx.exec.import-window", POLICY_KIND_SCREENSHOT },
	{ "sphinx.exec.import-snaps", POLICY_KIND_AUTO },
	{ "sphinx.exec.screenshot-tools", POLICY_KIND_SCREENSHOT },
	{ "sphinx.exec.shutter", POLICY_KIND_SCREENSHOT },
	{ "sphinx.api.grab-root", POLICY_KIND_AUTO },
	{ "sphinx.api.grab-window", POLICY_KIND_AUTO },
	{ "sphinx.api.composite-window-pixmap", POLICY_KIND_AUTO },
	{ "sphinx.api.pipewire-stream", POLICY_KIND_RECORDING },
	{ "sphinx.compositor.screen-cast", POLICY_KIND_RECORDING },
	{ "sphinx.compositor.remote-desktop", POLICY_KIND_RECORDING },
	{ "sphinx.compositor.screenshot", POLICY_KIND_SCREENSHOT },
	{ "sphinx.xserver.grab-root", POLICY_KIND_AUTO },
	{ "sphinx.xserver.grab-window", POLICY_KIND_AUTO },
	{ "sphinx.wayland.screencopy", POLICY_KIND_AUTO },
	{ "sphinx.dev.fbdev-read", POLICY_KIND_AUTO },
	{ "sphinx.dev.drm-getfb", POLICY_KIND_AUTO },
};

static void test_kind_of_every_rule(void **state)
{
	for (size_t i = 0; i < sizeof(kind_cases) / sizeof(kind_cases[0]); i++) {
		const struct policy_rule *r = policy_find_rule(defaults, kind_cases[i].id);

		if (!r)
			fail_msg("%s: no such rule", kind_cases[i].id);
		if (r->kind != kind_cases[i].kind)
			fail_msg("%s: kind %s, expected %s", r->id, policy_kind_name(r->kind),
				 policy_kind_name(kind_cases[i].kind));
	}
}

/* gsr-kms-server runs for both modes: its parent's command line says which. */
static void test_helper_by_parent(void **state)
{
	struct policy_event ev;

	make_event(&ev, POLICY_CAT_PROCESS_CREATION, "Image", "/usr/bin/gsr-kms-server",
		   "CommandLine", "gsr-kms-server /tmp/sock /dev/dri/card0",
		   "ParentImage", "/usr/bin/gpu-screen-recorder",
		   "ParentCommandLine", "gpu-screen-recorder -w screen -o /tmp/s.png", NULL);
	check_best(defaults, &ev, "sphinx.exec.gpu-screen-recorder-screenshot");
	policy_event_set(&ev, "ParentCommandLine", "gpu-screen-recorder -w screen -o /tmp/v.mkv");
	check_best(defaults, &ev, "sphinx.exec.gpu-screen-recorder");
}

static void test_kinds(void **state)
{
	struct policy_event ev;
	const struct policy_rule *r;

	make_event(&ev, POLICY_CAT_PROCESS_CREATION, "Image", "/usr/bin/ffmpeg",
		   "CommandLine", "ffmpeg -f x11grab -i :0", NULL);
	r = policy_match(defaults, &ev);
	assert_non_null(r);
	assert_int_equal(r->kind, POLICY_KIND_RECORDING);
	assert_int_equal(r->level, POLICY_LEVEL_HIGH);

	make_event(&ev, POLICY_CAT_PROCESS_CREATION, "Image", "/usr/bin/xwd",
		   "CommandLine", "xwd -root", NULL);
	r = policy_match(defaults, &ev);
	assert_non_null(r);
	assert_int_equal(r->kind, POLICY_KIND_SCREENSHOT);

	make_event(&ev, POLICY_CAT_SCREEN_CAPTURE, "Api", "XShmGetImage", "Target", "root", NULL);
	r = policy_match(defaults, &ev);
	assert_non_null(r);
	assert_int_equal(r->kind, POLICY_KIND_AUTO);
	assert_int_equal(r->threshold_calls, 5);
	assert_int_equal(r->threshold_window_ms, 2000);
}

/* ------------------------------------------------------ capture API calls */

static const struct api_case {
	const char *api, *target, *image, *want;
} api_cases[] = {
	{ "xcb_shm_get_image", "root", "/usr/bin/ffmpeg", "sphinx.api.grab-root" },
	{ "XShmGetImage", "root", "/usr/bin/simplescreenrecorder", "sphinx.api.grab-root" },
	{ "XGetImage", "root", "/usr/bin/xwd", "sphinx.api.grab-root" },
	{ "XCopyArea", "root", "/usr/lib/chromium/chromium", "sphinx.api.grab-root" },
	{ "xcb_copy_area", "root", "/usr/bin/spectacle", "sphinx.api.grab-root" },
	{ "xcb_get_image", "root", "/usr/bin/a.out", "sphinx.api.grab-root" },
	{ "xcb_get_image_unchecked", "root", "/usr/bin/a.out", "sphinx.api.grab-root" },
	{ "xcb_shm_get_image_unchecked", "root", "/usr/bin/obs", "sphinx.api.grab-root" },
	{ "XGetSubImage", "root", "/usr/bin/gst-launch-1.0", "sphinx.api.grab-root" },
	{ "XGetImage", "window", "/usr/bin/xwd", "sphinx.api.grab-window" },
	{ "xcb_shm_get_image", "window", "/usr/bin/ffmpeg", "sphinx.api.grab-window" },
	{ "XDamageCreate", "root", "/usr/bin/gst-launch-1.0", NULL },
	{ "XGetImage", "pixmap", "/usr/bin/maim", NULL },
	{ "xcb_composite_name_window_pixmap", "window", "/usr/bin/obs",
	  "sphinx.api.composite-window-pixmap" },
	{ "xcb_composite_name_window_pixmap_checked", "window", "/usr/bin/obs",
	  "sphinx.api.composite-window-pixmap" },
	{ "xcb_composite_name_window_pixmap", "window", "/usr/bin/picom", NULL },
	{ "xcb_damage_create", "root", "/usr/bin/gst-launch-1.0", NULL },
	{ "XGetImage", "own", "/usr/bin/maim", NULL },
	{ "xcb_composite_name_window_pixmap", "window", "/usr/bin/xfwm4", NULL },
	{ "xcb_composite_name_window_pixmap", "window", "/usr/bin/gnome-shell", NULL },
	{ "XCompositeNameWindowPixmap", "window", "/usr/bin/compiz", NULL },
	/* PipeWire: only a compositor's screen-cast node is a capture. */
	{ "pw_stream_connect", "screencast", "/usr/bin/obs", "sphinx.api.pipewire-stream" },
	{ "pw_stream_dequeue_buffer", "screencast", "/usr/bin/obs", "sphinx.api.pipewire-stream" },
	{ "pw_stream_connect", "stream", "/usr/bin/cheese", NULL },
	{ "pw_stream_connect", NULL, "/usr/bin/obs", NULL },
};

static void test_capture_api(void **state)
{
	for (size_t i = 0; i < sizeof(api_cases) / sizeof(api_cases[0]); i++) {
		const struct api_case *c = &api_cases[i];
		struct policy_event ev;
		const char *got;

		make_event(&ev, POLICY_CAT_SCREEN_CAPTURE, "Api", c->api, "Image", c->image,
			   "Library", "/usr/lib/x86_64-linux-gnu/libX11.so.6", "Calls", "1", NULL);
		if (c->target)
			policy_event_set(&ev, "Target", c->target);
		got = best_id(defaults, &ev);
		if ((got == NULL) != (c->want == NULL) || (got && strcmp(got, c->want) != 0))
			fail_msg("%s(%s) by %s: expected %s, got %s", c->api,
				 c->target ? c->target : "-", c->image,
				 c->want ? c->want : "no match", got ? got : "no match");
	}
}

/* ----------------------------------------------------------- device access */

static const struct dev_case {
	const char *file, *op, *access, *image, *want;
} dev_cases[] = {
	{ "/dev/fb0", "open", "read", "/usr/bin/ffmpeg", "sphinx.dev.fbdev-read" },
	{ "/dev/fb0", "open", "readwrite", "/usr/local/bin/fbgrab", "sphinx.dev.fbdev-read" },
	{ "/dev/fb0", "FBIOGET_VSCREENINFO", NULL, "/usr/bin/ffmpeg", "sphinx.dev.fbdev-read" },
	{ "/dev/fb0", "open", "write", "/usr/bin/fbi", NULL },
	{ "/dev/fb0", "open", "readwrite", "/usr/lib/xorg/Xorg", NULL },
	{ "/dev/fb0", "open", "read", "/usr/sbin/plymouthd", NULL },
	{ "/dev/dri/card0", "open", "readwrite", "/usr/bin/Xvfb", NULL },
	{ "/dev/dri/card0", "open", "readwrite", "/usr/lib/xorg/Xorg", NULL },
	{ "/dev/dri/card0", "open", "readwrite", "/usr/bin/ffmpeg", NULL },
	{ "/dev/dri/card0", "DRM_IOCTL_MODE_GETFB2", "readwrite", "/usr/bin/ffmpeg",
	  "sphinx.dev.drm-getfb" },
	{ "/dev/dri/card1", "DRM_IOCTL_MODE_GETFB", "readwrite", "/usr/bin/gsr-kms-server",
	  "sphinx.dev.drm-getfb" },
	{ "/dev/dri/card0", "DRM_IOCTL_MODE_GETFB2", "readwrite", "/usr/bin/gnome-shell", NULL },
	{ "/dev/dri/card0", "DRM_IOCTL_MODE_GETFB", "readwrite", "/usr/lib/xorg/Xorg", NULL },
	{ "/dev/dri/renderD128", "open", "readwrite", "/usr/bin/firefox", NULL },
	{ "/dev/video0", "open", "readwrite", "/usr/bin/cheese", NULL },
	/* ioctl events as the agent sends them: no file name. */
	{ NULL, "DRM_IOCTL_MODE_GETFB2", NULL, "/usr/bin/ffmpeg", "sphinx.dev.drm-getfb" },
	{ NULL, "DRM_IOCTL_MODE_GETFB", NULL, "/usr/lib/xorg/Xorg", NULL },
	{ NULL, "FBIOGET_VSCREENINFO", NULL, "/usr/bin/ffmpeg", "sphinx.dev.fbdev-read" },
	{ NULL, "open", "read", "/usr/bin/ffmpeg", NULL },
};

/* The compositor layer: what the compositor did, and for which D-Bus call. */
struct compositor_case {
	const char *api, *interface, *image, *want;
};

static const struct compositor_case compositor_cases[] = {
	{ "screen_cast_start", "org.gnome.Mutter.ScreenCast.Session", "/usr/bin/obs",
	  "sphinx.compositor.screen-cast" },
	{ "screen_cast_start", "org.gnome.Mutter.ScreenCast.Session",
	  "/usr/libexec/xdg-desktop-portal-gnome", NULL },
	{ "screen_cast_start", "org.gnome.Mutter.RemoteDesktop.Session",
	  "/usr/libexec/gnome-remote-desktop-daemon", "sphinx.compositor.remote-desktop" },
	{ "screen_cast_start", "", "/usr/bin/kwin_wayland", NULL },
	{ "shell_screenshot_screenshot", "org.gnome.Shell.Screenshot", "/usr/bin/gnome-screenshot",
	  "sphinx.compositor.screenshot" },
	{ "shell_screenshot_screenshot_stage_to_content", "", "/usr/bin/gnome-shell",
	  "sphinx.compositor.screenshot" },
	{ "shell_screenshot_screenshot_area", "org.gnome.Shell.Screenshot",
	  "/usr/libexec/xdg-desktop-portal-gnome", NULL },
};

static void test_compositor(void **state)
{
	for (size_t i = 0; i < sizeof(compositor_cases) / sizeof(compositor_cases[0]); i++) {
		const struct compositor_case *c = &compositor_cases[i];
		struct policy_event ev;
		const char *got;

		make_event(&ev, POLICY_CAT_SCREEN_CAPTURE, "Api", c->api, "Target", "screen",
			   "Interface", c->interface, "Image", c->image, "Calls", "1", NULL);
		got = best_id(defaults, &ev);
		if ((got == NULL) != (c->want == NULL) || (got && strcmp(got, c->want) != 0))
			fail_msg("%s for %s by %s: expected %s, got %s", c->api, c->interface,
				 c->image, c->want ? c->want : "no match", got ? got : "no match");
	}
}

static void test_devices(void **state)
{
	for (size_t i = 0; i < sizeof(dev_cases) / sizeof(dev_cases[0]); i++) {
		const struct dev_case *c = &dev_cases[i];
		struct policy_event ev;
		const char *got;

		make_event(&ev, POLICY_CAT_FILE_ACCESS, "Operation", c->op, "Image", c->image,
			   "Success", "true", NULL);
		if (c->file)
			policy_event_set(&ev, "TargetFilename", c->file);
		if (c->access)
			policy_event_set(&ev, "Access", c->access);
		got = best_id(defaults, &ev);
		if ((got == NULL) != (c->want == NULL) || (got && strcmp(got, c->want) != 0))
			fail_msg("%s %s by %s: expected %s, got %s", c->op, c->file ? c->file : "-", c->image,
				 c->want ? c->want : "no match", got ? got : "no match");
	}
}

static void test_device_prefixes(void **state)
{
	char **prefixes = NULL;
	int n = policy_device_prefixes(defaults, &prefixes);

	assert_int_equal(n, 2);
	assert_string_equal(prefixes[0], "/dev/fb");
	assert_string_equal(prefixes[1], "/dev/dri/card");
	assert_null(prefixes[2]);
	policy_strv_free(prefixes);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_loads_cleanly),
		cmocka_unit_test(test_every_rule_documented),
		cmocka_unit_test(test_exec_signatures),
		cmocka_unit_test(test_kinds),
		cmocka_unit_test(test_kind_of_every_rule),
		cmocka_unit_test(test_helper_by_parent),
		cmocka_unit_test(test_capture_api),
		cmocka_unit_test(test_compositor),
		cmocka_unit_test(test_devices),
		cmocka_unit_test(test_device_prefixes),
	};

	return cmocka_run_group_tests_name("policy_default", tests, load_defaults, free_defaults);
}
