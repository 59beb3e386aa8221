#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# The X-server-side layer: uprobes inside the running Xvfb see a client that
# speaks X11 on the socket itself (python3-xlib), count requests (not the
# server's per-band calls), and name the client — never the X server.
source "$(dirname "$0")/lib.bash"

require_root
require Xvfb jq /usr/bin/python3
/usr/bin/python3 -c 'import Xlib' 2>/dev/null || { not_ok "python3-xlib installed"; finish; }
GRAB=$ROOT/tests/helpers/xlib_grab.py
start_xvfb
XPID=$XVFB_PID

check "agent starts" start_agent xs --policy "$ROOT/policy/default"
check "xserver layer attached to the running Xvfb" \
	grep -q "xserver layer: [3-9] of [0-9]* probes attached in /usr/bin/Xvfb" "$AGENT_LOG"

check "client-side copy and composite probes left out: the X server layer sees them" \
	sh -c "'$AGENT' --status | grep -E '^api +(xcb_copy_area|xcb_render_composite|XCopyArea) ' | grep -c 'not available.*left out' | grep -qx 3"

/usr/bin/python3 "$GRAB" 20 root & pid=$!
line=$(wait_event ".type==\"capture.begin\" and .pid==$pid" 4)
f() { printf '%s' "${line#* }" | jq -r "$1"; }
check "pure-protocol grab loop: recording begin" [ -n "$line" -a "$(f .kind)" = recording ]
check "pure-protocol grab loop: seen by the xserver layer" [ "$(f .layer)" = xserver ]
check "pure-protocol grab loop: names the client, not the X server" \
	[ "$(f .pid)" = "$pid" -a "$(f .exe)" = /usr/bin/python3 -a "$(f .pid)" != "$XPID" ]
wait $pid
line=$(wait_event ".type==\"capture.end\" and .pid==$pid" 5)
check "pure-protocol grab loop: 20 requests counted, not scan-line bands ($(f .calls))" \
	[ "$(f .calls)" = 20 ]

/usr/bin/python3 "$GRAB" 1 root & pid=$!
wait $pid
line=$(wait_event ".type==\"capture.begin\" and .pid==$pid" 4)
check "pure-protocol single grab: screenshot" [ -n "$line" -a "$(f .kind)" = screenshot ]

# CopyArea from the root into a pixmap of its own: the copy is the capture
# (the GetImage of its own pixmap that follows is not).
/usr/bin/python3 "$GRAB" 20 copy & pid=$!
line=$(wait_event ".type==\"capture.begin\" and .pid==$pid" 4)
check "pure-protocol CopyArea from root: recording" [ -n "$line" -a "$(f .kind)" = recording ]
check "pure-protocol CopyArea from root: seen as fbCopyArea on the root" \
	[ "$(f .layer)" = xserver -a "$(f .api)" = fbCopyArea -a "$(f .target)" = root ]
wait $pid
line=$(wait_event ".type==\"capture.end\" and .pid==$pid" 5)
check "pure-protocol CopyArea from root: 20 copies counted ($(f .calls))" [ "$(f .calls)" = 20 ]

# Two grabbers at once, and one that grabbed once and stays connected with
# that GetImage still in its request buffer: each is named for its own
# requests, the idle one is not counted again for the others'.
/usr/bin/python3 "$GRAB" 1 root 4 & idle=$!
sleep 1
/usr/bin/python3 "$GRAB" 20 root & a=$!
/usr/bin/python3 "$GRAB" 20 root & b=$!
wait $a $b $idle
line=$(wait_event ".type==\"capture.end\" and .pid==$a" 5)
check "two grabbers at once: the first counted alone ($(f .calls))" [ "$(f .calls)" = 20 ]
line=$(wait_event ".type==\"capture.end\" and .pid==$b" 5)
check "two grabbers at once: the second counted alone ($(f .calls))" [ "$(f .calls)" = 20 ]
line=$(wait_event ".type==\"capture.end\" and .pid==$idle" 5)
check "a client idle after one grab: one call, a screenshot ($(f .calls), $(f .kind))" \
	[ "$(f .calls)" = 1 -a "$(f .kind)" = screenshot ]

/usr/bin/python3 "$GRAB" 20 own & pid=$!
wait $pid
sleep 2.5
check "reading its own window: no event" [ "$(count_events ".pid==$pid")" -eq 0 ]
check "nothing is ever attributed to the X server" [ "$(count_events ".pid==$XPID")" -eq 0 ]

check "agent exits 0, no error or sanitizer report in its log" stop_agent
finish
