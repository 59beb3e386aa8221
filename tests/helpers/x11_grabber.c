// SPDX-License-Identifier: GPL-2.0-only
/*
 * An X11 client that takes the screen the ways real tools do, one way per
 * run, so each capture path can be tested on its own:
 *   x11_grabber MODE N
 * MODE: copyarea-root   XCopyArea(root -> own pixmap), as GTK screenshot
 *                       tools, Byzanz and Chromium's getDisplayMedia do
 *       copyarea-own    XCopyArea between its own drawables (drawing: benign)
 *       render-root     XRenderComposite from a picture of root, as maim
 *       render-root-xcb the same through libxcb-render
 *       render-root-raw the Composite request built by hand and sent with
 *                       xcb_send_request (no RENDER library call: only the
 *                       X server sees it, as recordMyDesktop's requests)
 *       shm-root        XShmGetImage(root), as SimpleScreenRecorder
 *       name-pixmap     XCompositeNameWindowPixmap of another client's
 *                       window (the first mapped top-level not its own),
 *                       then XGetImage of that pixmap: window capture
 *       damage-still    XDamageCreate(root), one XShmGetImage, then waits
 *                       for damage on a still screen (ximagesrc's default)
 * N: how many grabs, 50 ms apart (damage-still: seconds to wait).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ipc.h>
#include <sys/shm.h>
#include <unistd.h>

#include <X11/Xlib.h>
#include <X11/Xlib-xcb.h>
#include <xcb/render.h>
#include <xcb/xcbext.h>
#include <X11/extensions/XShm.h>
#include <X11/extensions/Xcomposite.h>
#include <X11/extensions/Xdamage.h>
#include <X11/extensions/Xrender.h>

static XImage *shm_image(Display *dpy, int w, int h, XShmSegmentInfo *shm)
{
	int scr = DefaultScreen(dpy);
	XImage *img = XShmCreateImage(dpy, DefaultVisual(dpy, scr), DefaultDepth(dpy, scr),
				      ZPixmap, NULL, shm, w, h);

	shm->shmid = shmget(IPC_PRIVATE, img->bytes_per_line * img->height, IPC_CREAT | 0600);
	shm->shmaddr = img->data = shmat(shm->shmid, NULL, 0);
	shm->readOnly = False;
	XShmAttach(dpy, shm);
	shmctl(shm->shmid, IPC_RMID, NULL);
	return img;
}

int main(int argc, char **argv)
{
	const char *mode = argc > 1 ? argv[1] : "";
	int n = argc > 2 ? (int)strtol(argv[2], NULL, 10) : 1;
	Display *dpy = XOpenDisplay(NULL);
	XShmSegmentInfo shm;
	Window root;
	Pixmap pix, pix2;
	GC gc;
	int scr, w = 640, h = 360;

	if (!dpy) {
		fprintf(stderr, "x11_grabber: cannot open display\n");
		return 1;
	}
	scr = DefaultScreen(dpy);
	root = RootWindow(dpy, scr);
	pix = XCreatePixmap(dpy, root, w, h, DefaultDepth(dpy, scr));
	pix2 = XCreatePixmap(dpy, root, w, h, DefaultDepth(dpy, scr));
	gc = XCreateGC(dpy, pix, 0, NULL);

	if (strcmp(mode, "damage-still") == 0) {
		int ev, err;
		XImage *img = shm_image(dpy, w, h, &shm);

		XDamageQueryExtension(dpy, &ev, &err);
		XDamageCreate(dpy, root, XDamageReportNonEmpty);
		XShmGetImage(dpy, root, img, 0, 0, AllPlanes);
		XSync(dpy, False);
		sleep(n);
		return 0;
	}
	for (int i = 0; i < n; i++) {
		if (strcmp(mode, "copyarea-root") == 0) {
			XCopyArea(dpy, root, pix, gc, 0, 0, w, h, 0, 0);
		} else if (strcmp(mode, "copyarea-own") == 0) {
			XFillRectangle(dpy, pix, gc, 0, 0, w, h);
			XCopyArea(dpy, pix, pix2, gc, 0, 0, w, h, 0, 0);
		} else if (strcmp(mode, "render-root") == 0) {
			XRenderPictFormat *fmt = XRenderFindVisualFormat(dpy, DefaultVisual(dpy, scr));
			XRenderPictureAttributes pa = { .subwindow_mode = IncludeInferiors };
			Picture src = XRenderCreatePicture(dpy, root, fmt, CPSubwindowMode, &pa);
			Picture dst = XRenderCreatePicture(dpy, pix, fmt, 0, NULL);

			XRenderComposite(dpy, PictOpSrc, src, None, dst, 0, 0, 0, 0, 0, 0, w, h);
			XRenderFreePicture(dpy, src);
			XRenderFreePicture(dpy, dst);
		} else if (strcmp(mode, "render-root-xcb") == 0) {
			xcb_connection_t *c = XGetXCBConnection(dpy);
			XRenderPictFormat *fmt = XRenderFindVisualFormat(dpy, DefaultVisual(dpy, scr));
			uint32_t inferiors = XCB_SUBWINDOW_MODE_INCLUDE_INFERIORS;
			xcb_render_picture_t src = xcb_generate_id(c), dst = xcb_generate_id(c);

			xcb_render_create_picture(c, src, root, fmt->id, XCB_RENDER_CP_SUBWINDOW_MODE,
						  &inferiors);
			xcb_render_create_picture(c, dst, pix, fmt->id, 0, NULL);
			xcb_render_composite(c, XCB_RENDER_PICT_OP_SRC, src, XCB_NONE, dst, 0, 0, 0, 0,
					     0, 0, w, h);
			xcb_render_free_picture(c, src);
			xcb_render_free_picture(c, dst);
			xcb_flush(c);
		} else if (strcmp(mode, "render-root-raw") == 0) {
			xcb_connection_t *c = XGetXCBConnection(dpy);
			XRenderPictFormat *fmt = XRenderFindVisualFormat(dpy, DefaultVisual(dpy, scr));
			XRenderPictureAttributes pa = { .subwindow_mode = IncludeInferiors };
			Picture src = XRenderCreatePicture(dpy, root, fmt, CPSubwindowMode, &pa);
			Picture dst = XRenderCreatePicture(dpy, pix, fmt, 0, NULL);
			int major, first_event, first_error;
			xcb_render_composite_request_t req = {
				.minor_opcode = XCB_RENDER_COMPOSITE, .op = XCB_RENDER_PICT_OP_SRC,
				.src = src, .mask = XCB_NONE, .dst = dst, .width = w, .height = h,
			};
			struct iovec iov[3] = { [2] = { &req, sizeof(req) } };	/* 2 for xcb */
			xcb_protocol_request_t info = { .count = 1, .opcode = 0, .isvoid = 1 };

			XQueryExtension(dpy, "RENDER", &major, &first_event, &first_error);
			XSync(dpy, False);	/* the pictures exist before the raw request */
			info.opcode = major;
			xcb_send_request(c, 0, iov + 2, &info);	/* xcb puts in major, length */
			xcb_flush(c);
			XRenderFreePicture(dpy, src);
			XRenderFreePicture(dpy, dst);
		} else if (strcmp(mode, "name-pixmap") == 0) {
			static Window target;
			Pixmap named;

			if (!target) {
				Window r, parent, *kids = NULL;
				unsigned nkids = 0;

				XQueryTree(dpy, root, &r, &parent, &kids, &nkids);
				for (unsigned k = 0; k < nkids && !target; k++) {
					XWindowAttributes wa;

					if (XGetWindowAttributes(dpy, kids[k], &wa) &&
					    wa.map_state == IsViewable && wa.width > 1)
						target = kids[k];
				}
				XFree(kids);
				if (!target) {
					fprintf(stderr, "x11_grabber: no window of another client\n");
					return 1;
				}
				XCompositeRedirectWindow(dpy, target, CompositeRedirectAutomatic);
			}
			named = XCompositeNameWindowPixmap(dpy, target);
			XDestroyImage(XGetImage(dpy, named, 0, 0, 10, 10, AllPlanes, ZPixmap));
			XFreePixmap(dpy, named);
		} else if (strcmp(mode, "shm-root") == 0) {
			static XImage *img;

			if (!img)
				img = shm_image(dpy, w, h, &shm);
			XShmGetImage(dpy, root, img, 0, 0, AllPlanes);
		} else {
			fprintf(stderr, "x11_grabber: unknown mode '%s'\n", mode);
			return 2;
		}
		XSync(dpy, False);
		usleep(50000);
	}
	XCloseDisplay(dpy);
	return 0;
}
