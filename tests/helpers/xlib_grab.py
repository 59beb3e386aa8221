#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0-only
# A pure-protocol X11 grabber (python3-xlib speaks the protocol on the
# socket itself: no libX11, no libxcb, nothing for client-side hooks).
#   xlib_grab.py N [root|own]   N GetImage requests, 50 ms apart
import sys
import time

from Xlib import X, display

d = display.Display()
screen = d.screen()
n = int(sys.argv[1]) if len(sys.argv) > 1 else 1
what = sys.argv[2] if len(sys.argv) > 2 else "root"
if what == "own":
    # A window of our own: reading it is drawing, not capturing.
    src = screen.root.create_window(0, 0, 200, 100, 0, screen.root_depth)
    src.map()
    d.sync()
else:
    src = screen.root
for _ in range(n):
    src.get_image(0, 0, 200, 100, X.ZPixmap, 0xFFFFFFFF)
    time.sleep(0.05)
