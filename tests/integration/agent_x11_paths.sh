#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# X11 capture paths beyond GetImage, each through the real libraries and
# the real Xvfb: CopyArea from root (GTK tools, Byzanz, Chromium), RENDER
# Composite from a picture of root (maim; through libXrender, libxcb-render
# or a hand-built request only the X server sees), XShmGetImage (SimpleScreen-
# Recorder), a damage watcher on a still screen (ximagesrc's default) —
# and a client copying between its own drawables, which is drawing.
source "$(dirname "$0")/lib.bash"

require_root
require Xvfb jq
GRABBER=$OUTPUT/tests/x11_grabber
[ -x "$GRABBER" ] || { not_ok "test helper built at $GRABBER (make test builds it)"; finish; }
# The agent first, the X server after: its layer attaches at the server's
# exec, and the libxcb probes it makes redundant stay attached (there was
# no X server layer when the agent started).
if pgrep -x 'Xvfb|Xorg|Xwayland|Xephyr|Xvnc' >/dev/null; then
	not_ok "no X server running before this test (the agent must start without one)"
	finish
fi
check "agent starts (no X server yet)" start_agent x11 --policy "$ROOT/policy/default"
start_xvfb
XPID=$XVFB_PID
for _ in $(seq 50); do grep -q "/usr/bin/Xvfb (pid $XPID)" "$AGENT_LOG" && break; sleep 0.1; done
check "X server layer attached when the server started" \
	grep -q "probes attached in /usr/bin/Xvfb (pid $XPID)" "$AGENT_LOG"

f() { printf '%s' "${line#* }" | jq -r "$1"; }

# expect MODE N KIND LAYER API: the grabber's capture is caught as described.
expect() {
	local mode=$1 n=$2 kind=$3 layer=$4 api=$5 pid
	"$GRABBER" "$mode" "$n" & pid=$!
	line=$(wait_event ".type==\"capture.begin\" and .pid==$pid" 5)
	wait $pid
	check "$mode x$n: $kind" [ -n "$line" -a "$(f .kind)" = "$kind" ]
	check "$mode x$n: seen by $layer as $api on root, named as the grabber" \
		[ "$(f .layer)" = "$layer" -a "$(f .api)" = "$api" -a "$(f .target)" = root \
		  -a "$(f .comm)" = x11_grabber ]
	line=$(wait_event ".type==\"capture.end\" and .pid==$pid" 5)
	check "$mode x$n: end" [ -n "$line" ]
}

expect copyarea-root 20 recording api XCopyArea
expect copyarea-root 1 screenshot api XCopyArea
expect render-root 20 recording api XRenderComposite
expect render-root-xcb 20 recording api xcb_render_composite
expect render-root-raw 20 recording xserver CompositePicture
expect shm-root 20 recording api XShmGetImage

# Window capture through Composite, from Xlib (libXcomposite builds its
# request itself, libxcb's hook never sees it): of xlogo's window.
xlogo -geometry 200x150+50+50 >/dev/null 2>&1 & PIDS_TO_KILL+=($!)
sleep 1
"$GRABBER" name-pixmap 20 & pid=$!
line=$(wait_event ".type==\"capture.begin\" and .pid==$pid" 5)
wait $pid
check "XCompositeNameWindowPixmap of another client's window: caught as a window capture" \
	[ -n "$line" -a "$(f .api)" = XCompositeNameWindowPixmap -a "$(f .target)" = window \
	  -a "$(f .comm)" = x11_grabber ]

# 7 s: the idle check below must run while the watcher still lives, however
# late its begin was seen (up to 5 s on a busy machine); 4 s raced with it.
"$GRABBER" damage-still 7 & pid=$!
line=$(wait_event ".type==\"capture.begin\" and .pid==$pid" 5)
check "damage watcher, one grab, still screen: recording (not a screenshot)" \
	[ -n "$line" -a "$(f .kind)" = recording ]
sleep 3.5	# past the idle timeout: a damage watcher lasts until it exits
check "damage watcher: still going after the idle timeout" \
	[ "$(count_events ".type==\"capture.end\" and .pid==$pid")" -eq 0 ]
wait $pid
check "damage watcher: ends when the process exits" \
	wait_event ".type==\"capture.end\" and .pid==$pid" 3

"$GRABBER" copyarea-own 40 & pid=$!
wait $pid
sleep 2.5
check "copying between its own drawables: no event" [ "$(count_events ".pid==$pid")" -eq 0 ]
check "nothing attributed to the X server" [ "$(count_events ".pid==$XPID")" -eq 0 ]
check "agent exits 0, no error or sanitizer report in its log" stop_agent
finish
