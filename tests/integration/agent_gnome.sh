#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# GNOME on Wayland, with the real compositor: headless mutter 43 serves a
# screen cast over org.gnome.Mutter.ScreenCast through a real PipeWire, the
# whole desktop run by an unprivileged test user (gnome.bash).
# - the client that asks for the cast is reported at its start (before any
#   frame), named through the compositor's session bus, and its capture
#   ends when the cast stops;
# - the reader of the cast's node (gst pipewiresrc) is a recording, its
#   evidence naming the node, mutter and the D-Bus API; latency from its
#   first frame to the begin line is printed;
# - a remote desktop session (org.gnome.Mutter.RemoteDesktop) is reported
#   as its client's;
# - a virtual camera (pipewiresink mode=provide, Video/Source) read the same
#   way, and an audio input stream, are silent: the screen-cast reader that
#   follows them is the marker (records are handled in order).
# Exec signatures are removed: only the compositor and api layers decide.
source "$(dirname "$0")/lib.bash"
source "$(dirname "$0")/gnome.bash"

require_root
require setpriv useradd mutter pipewire wireplumber pw-dump pw-record gst-launch-1.0 gst-inspect-1.0 \
	dbus-daemon gdbus python3 jq
gst-inspect-1.0 pipewiresrc >/dev/null 2>&1 ||
	{ not_ok "GStreamer pipewiresrc installed (gstreamer1.0-pipewire)"; finish; }
/usr/bin/python3 -c 'import gi; gi.require_version("Gio", "2.0")' 2>/dev/null ||
	{ not_ok "python3-gi installed"; finish; }

mkdir -p "$TMP/pol"
cp "$ROOT"/policy/default/*.yml "$TMP/pol/" && rm -f "$TMP"/pol/exec-*.yml
check "agent starts (no exec signatures)" start_agent gnome --policy "$TMP/pol"

check "test user $GNOME_USER" gnome_user
check "private session bus" gnome_session_bus
check "pipewire and wireplumber run" gnome_pipewire
gnome_compositor mutter
check "headless mutter serves org.gnome.Mutter.ScreenCast" \
	gnome_wait_name --session org.gnome.Mutter.ScreenCast /org/gnome/Mutter/ScreenCast 20
MUTTER=$COMPOSITOR_PID

out=$("$AGENT" --status --status-file "$TMP/none" 2>&1)
check "--status: mutter (pid $MUTTER) watched" \
	grep -qE "^compositor +mutter \(pid $MUTTER\) +attached" <<<"$out"
for fn in pw_stream_get_node_id pw_stream_dequeue_buffer g_dbus_method_invocation_get_sender; do
	check "--status: $fn attached" grep -qE "^compositor +$fn +attached" <<<"$out"
done

f() { printf '%s' "${line#* }" | jq -r "$1"; }

# The benign ones first: a virtual camera and an audio recorder.
"${GNOME_AS[@]}" gst-launch-1.0 videotestsrc is-live=true ! video/x-raw,width=320,height=240,framerate=15/1 \
	! pipewiresink mode=provide stream-properties="p,media.class=Video/Source,node.name=sphinx-vcam" \
	>"$GNOME_DIR/vcam.log" 2>&1 &
PIDS_TO_KILL+=($!)
for _ in $(seq 50); do VCAM=$(gnome_node_id sphinx-vcam); [ -n "$VCAM" ] && break; sleep 0.1; done
check "virtual camera node (Video/Source) published" [ -n "$VCAM" ]
bounded 10 "${GNOME_AS[@]}" gst-launch-1.0 pipewiresrc path="$VCAM" num-buffers=10 \
	! video/x-raw,width=320,height=240,framerate=15/1 ! fakesink >"$GNOME_DIR/vread.log" 2>&1
vread=$BOUNDED_PID
check "virtual camera read: 10 frames through PipeWire (rc $BOUNDED_RC)" [ $BOUNDED_RC -eq 0 ]
bounded 2 "${GNOME_AS[@]}" pw-record "$GNOME_DIR/audio.wav" >/dev/null 2>&1
aread=$BOUNDED_PID

# The screen cast: asked for over D-Bus, then read.
client=$(gnome_screencast_client)
"${GNOME_AS[@]}" /usr/bin/python3 "$client" 30 >"$GNOME_DIR/cast.out" 2>&1 & cast=$!
PIDS_TO_KILL+=($cast)
for _ in $(seq 50); do NODE=$(awk '/^NODE/ { print $2 }' "$GNOME_DIR/cast.out" 2>/dev/null); [ -n "$NODE" ] && break; sleep 0.1; done
check "mutter announced a screen-cast node ($NODE)" [ -n "$NODE" ]
line=$(wait_event ".type==\"capture.begin\" and .pid==$cast" 5)
check "screen cast asked for: capture.begin for the asking client (pid $cast)" [ -n "$line" ]
check "  user $GNOME_USER, named through the user's own session bus ($(f .user))" \
	[ "$(f .user)" = "$GNOME_USER" ]
check "  recording, layer compositor, rule sphinx.compositor.screen-cast" \
	[ "$(f .kind)" = recording -a "$(f .layer)" = compositor -a "$(f .rule.id)" = sphinx.compositor.screen-cast ]
check "  evidence names mutter and org.gnome.Mutter.ScreenCast.Session.Start ($(f .api))" \
	grep -q "in mutter (pid $MUTTER) for org.gnome.Mutter.ScreenCast.Session.Start" <<<"$(f .api)"
check "  before any frame is read (no reader yet)" [ "$(count_events '.comm=="gst-launch-1.0"')" -eq 0 ]

FRAME=$GNOME_DIR/home/frame.png
bounded 10 "${GNOME_AS[@]}" gst-launch-1.0 pipewiresrc path="$NODE" num-buffers=1 ! videoconvert ! pngenc \
	! filesink location="$FRAME" >"$GNOME_DIR/read.log" 2>&1
reader=$BOUNDED_PID
check "screen cast read: a real frame saved (rc $BOUNDED_RC)" [ $BOUNDED_RC -eq 0 -a -s "$FRAME" ]
line=$(wait_event ".type==\"capture.begin\" and .pid==$reader" 5)
check "screen-cast reader: capture.begin (pid $reader)" [ -n "$line" ]
check "  user $GNOME_USER ($(f .user))" [ "$(f .user)" = "$GNOME_USER" ]
check "  recording, target screencast, rule sphinx.api.pipewire-stream" \
	[ "$(f .kind)" = recording -a "$(f .target)" = screencast -a "$(f .rule.id)" = sphinx.api.pipewire-stream ]
check "  evidence names node $NODE of mutter and the D-Bus API ($(f .api))" \
	grep -q "^pw_stream_connect: screen-cast node $NODE of mutter (pid $MUTTER) from org.gnome.Mutter.ScreenCast" <<<"$(f .api)"
if [ -n "$line" ] && [ -s "$FRAME" ]; then
	begin_us=${line%% *}
	frame_us=$(( $(date -r "$FRAME" +%s%N) / 1000 ))
	lat=$(( (begin_us - frame_us) / 1000 ))
	diag "latency: begin line printed ${lat} ms after the first frame was saved (negative: before)"
	check "  begin line within 250 ms of the first frame (${lat} ms)" [ "$lat" -le 250 ]
fi

# The marker has arrived: anything the camera or audio readers caused
# would have been printed before it.
check "virtual camera reader (pid $vread): no event" [ "$(count_events ".pid==$vread")" -eq 0 ]
check "audio input stream (pw-record, pid $aread): no event" [ "$(count_events ".pid==$aread")" -eq 0 ]
check "mutter itself: no event" [ "$(count_events ".pid==$MUTTER")" -eq 0 ]

# Stopping the cast ends the asking client's capture (it keeps running).
kill -TERM $cast
line=$(wait_event ".type==\"capture.end\" and .pid==$cast" 4)
check "screen cast stopped: capture.end for the client" [ -n "$line" ]
check "  while the client still runs (the cast's end, not the client's)" kill -0 $cast
# Remote desktop: the same stream, asked for through RemoteDesktop.
client=$(gnome_remote_desktop_client)
"${GNOME_AS[@]}" /usr/bin/python3 "$client" 4 >"$GNOME_DIR/rd.out" 2>&1 & rd=$!
PIDS_TO_KILL+=($rd)
line=$(wait_event ".type==\"capture.begin\" and .pid==$rd" 5)
check "remote desktop session: capture.begin for its client (pid $rd)" [ -n "$line" ]
check "  rule sphinx.compositor.remote-desktop, user $GNOME_USER" \
	[ "$(f .rule.id)" = sphinx.compositor.remote-desktop -a "$(f .user)" = "$GNOME_USER" ]
check "  evidence: org.gnome.Mutter.RemoteDesktop.Session.Start ($(f .api))" \
	grep -q "for org.gnome.Mutter.RemoteDesktop.Session.Start$" <<<"$(f .api)"
check "agent exits 0, no error or sanitizer report in its log" stop_agent
finish
