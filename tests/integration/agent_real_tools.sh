#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# Real recorders, screenshot tools and benign programs from Debian on Xvfb,
# under the real agent — twice: with the default policy, and with every exec
# signature removed, so the capture-API, device and X-server layers alone
# must catch each tool ("whatever it is called"). Each catch must name the
# tool's own process, never the X server or the window manager.
source "$(dirname "$0")/lib.bash"

require_root
require Xvfb jq byzanz-record recordmydesktop maim scrot xwd import xterm openbox \
	picom mpv x11vnc xtightvncviewer pw-record ffmpeg xwininfo xprop
start_xvfb
XPID=$XVFB_PID
ffmpeg -nostdin -loglevel error -f lavfi -i testsrc=duration=3:size=320x240:rate=25 -y "$TMP/clip.mkv"

f() { printf '%s' "${line#* }" | jq -r "$1"; }

# caught LABEL PID KIND: PID's capture.begin has KIND and names PID itself.
caught() {
	local label=$1 pid=$2 kind=$3
	line=$(wait_event ".type==\"capture.begin\" and .pid==$pid" 6)
	check "$POLICY_NAME: $label: $kind" [ -n "$line" -a "$(f .kind)" = "$kind" ]
	[ -n "$line" ] && diag "$label: layer=$(f .layer) api=$(f .api) rule=$(f .rule.id)"
}

one_run() {
	POLICY_NAME=$1
	check "$POLICY_NAME: agent starts" start_agent "$POLICY_NAME" --policy "$2"

	byzanz-record -d 3 "$TMP/b.gif" >/dev/null 2>&1 & pid=$!
	caught "byzanz-record" $pid recording; wait $pid

	# stopped only once caught: a loaded machine can take seconds before its
	# first grab, and a recorder stopped before it grabs has recorded nothing
	recordmydesktop --no-sound --no-frame --fps 10 --overwrite -o "$TMP/r.ogv" >/dev/null 2>&1 & pid=$!
	caught "recordmydesktop" $pid recording; kill -INT $pid; wait $pid

	x11vnc -display "$DISPLAY" -rfbport 5977 -nopw -quiet -forever >/dev/null 2>&1 & vnc=$!
	sleep 1.5
	xtightvncviewer -viewonly localhost::5977 >/dev/null 2>&1 & viewer=$!
	line=$(wait_event ".type==\"capture.begin\" and .pid==$vnc and .kind==\"recording\"" 8)
	check "$POLICY_NAME: x11vnc with a viewer connected: recording" [ -n "$line" ]
	# x11vnc may sit in its cleanup on SIGTERM: it is a test fixture, kill it.
	kill -9 $viewer $vnc 2>/dev/null; wait $viewer $vnc 2>/dev/null

	maim "$TMP/m.png" & pid=$!; caught "maim" $pid screenshot; wait $pid
	scrot -o "$TMP/s.png" & pid=$!; caught "scrot" $pid screenshot; wait $pid
	xwd -root -silent -out "$TMP/x.xwd" & pid=$!; caught "xwd -root" $pid screenshot; wait $pid
	import -window root "$TMP/i.png" & pid=$!; caught "import -window root" $pid screenshot; wait $pid
	xterm -e sleep 4 >/dev/null 2>&1 & term=$!
	sleep 1.5
	wid=$(xwininfo -root -tree | awk '/xterm/ { print $1; exit }')
	xwd -id "$wid" -silent -out "$TMP/w.xwd" & pid=$!
	caught "xwd -id (one window of another client)" $pid screenshot; wait $pid
	kill $term 2>/dev/null; wait $term 2>/dev/null

	# Nothing: a window manager, a compositor, a player, a terminal
	# scrolling, an audio recorder.
	mark=$(wc -l <"$AGENT_OUT")
	openbox >/dev/null 2>&1 & wm=$!
	sleep 1
	picom --backend xrender >/dev/null 2>&1 & comp=$!
	sleep 1
	mpv --vo=x11 --no-audio "$TMP/clip.mkv" >/dev/null 2>&1 & player=$!
	xterm -e 'seq 1 20000' >/dev/null 2>&1 & term=$!
	timeout 2 pw-record "$TMP/a.wav" >/dev/null 2>&1
	wait $player $term
	sleep 3.5	# past the classification window and the idle timeout
	check "$POLICY_NAME: a marker screenshot after them is seen" agent_marker xwd -root -silent -out "$TMP/m.xwd"
	kill $comp $wm 2>/dev/null; wait $comp $wm 2>/dev/null
	# a dead window manager leaves its root properties naming windows that
	# are gone; recordmydesktop of the next run dies on them (BadWindow)
	xprop -root -remove _NET_SUPPORTING_WM_CHECK -remove _NET_ACTIVE_WINDOW \
		-remove _NET_CLIENT_LIST -remove _NET_CLIENT_LIST_STACKING 2>/dev/null
	new=$(new_events "$mark")
	check "$POLICY_NAME: openbox, picom, mpv, xterm scrolling, pw-record: no event up to the marker" [ -z "$new" ]
	[ -n "$new" ] && diag "unexpected: $new"
	check "$POLICY_NAME: nothing attributed to the X server" [ "$(count_events ".pid==$XPID")" -eq 0 ]
	check "$POLICY_NAME: agent exits 0, no error or sanitizer report in its log" stop_agent
}

one_run default "$ROOT/policy/default"

mkdir -p "$TMP/no-exec"
cp "$ROOT"/policy/default/*.yml "$TMP/no-exec/"
rm -f "$TMP"/no-exec/exec-*.yml
one_run no-exec-rules "$TMP/no-exec"
finish
