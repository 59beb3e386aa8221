#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0-only
# A pure-protocol X11 grabber (python3-xlib speaks the protocol on the
# socket itself: no libX11, no libxcb, nothing for client-side hooks).
#   xlib_grab.py N [MODE] [HOLD]   N requests, 50 ms apart, then stay
#                                  connected HOLD seconds
# MODE: root  GetImage of the root window
#       own   GetImage of a window of its own (drawing, not capturing)
#       copy  CopyArea from the root into a pixmap of its own, then a
#             GetImage of that pixmap (the copy is the capture)
import sys
import time

from Xlib import X, display

d = display.Display()
screen = d.screen()
n = int(sys.argv[1]) if len(sys.argv) > 1 else 1
mode = sys.argv[2] if len(sys.argv) > 2 else "root"
hold = float(sys.argv[3]) if len(sys.argv) > 3 else 0
root = screen.root

if mode == "own":
    src = root.create_window(0, 0, 200, 100, 0, screen.root_depth)
    src.map()
    d.sync()
elif mode == "copy":
    pixmap = root.create_pixmap(200, 100, screen.root_depth)
    gc = pixmap.create_gc()
for _ in range(n):
    if mode == "copy":
        pixmap.copy_area(gc, root, 0, 0, 200, 100, 0, 0)
        pixmap.get_image(0, 0, 200, 100, X.ZPixmap, 0xFFFFFFFF)
    else:
        (src if mode == "own" else root).get_image(0, 0, 200, 100, X.ZPixmap, 0xFFFFFFFF)
    time.sleep(0.05)
d.sync()
time.sleep(hold)
