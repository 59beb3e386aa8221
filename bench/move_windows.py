#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0-only
# A window manager moving windows: asks to move every top-level window
# N times in a circle (openbox, as the window manager, moves the frames;
# the server copies the window contents and the clients repaint what was
# exposed). Prints the wall time in ms. Used by bench/x11_overhead.sh.
#   move_windows.py N
import math
import sys
import time

from Xlib import X, display

d = display.Display()
root = d.screen().root
n = int(sys.argv[1]) if len(sys.argv) > 1 else 1000
atom = d.intern_atom("_NET_CLIENT_LIST")
prop = root.get_full_property(atom, X.AnyPropertyType)
windows = [d.create_resource_object("window", w) for w in (prop.value if prop else [])]
if not windows:
    sys.exit("no managed windows (is a window manager running?)")
start = time.monotonic()
for i in range(n):
    for k, w in enumerate(windows):
        a = (i + 10 * k) * 2 * math.pi / 90
        w.configure(x=300 + int(200 * math.cos(a)), y=250 + int(150 * math.sin(a)))
    d.sync()
print(int((time.monotonic() - start) * 1000))
