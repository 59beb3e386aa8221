#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# Wayland (wlroots): sway headless as a normal user (it refuses root), grim
# takes a screenshot, wf-recorder records while mpv draws, mpv alone is
# silent. Exec signatures are removed, so the libwayland-client hook alone
# must catch and classify each, naming the user.
source "$(dirname "$0")/lib.bash"

require_root
require sway grim wf-recorder mpv ffmpeg jq useradd su
WLUSER=sphinx-wl-test
id "$WLUSER" >/dev/null 2>&1 || useradd --system --create-home --shell /bin/bash "$WLUSER" ||
	{ not_ok "test user $WLUSER created"; finish; }
RUN=$TMP/wl
mkdir -p "$RUN" && chown "$WLUSER" "$RUN" && chmod 700 "$RUN"
printf 'output HEADLESS-1 resolution 1280x720\n' >"$TMP/sway.conf"
chmod 755 "$TMP"; chmod 644 "$TMP/sway.conf"
ffmpeg -nostdin -loglevel error -f lavfi -i testsrc=duration=8:size=320x240:rate=25 -y "$RUN/clip.mkv"
chown "$WLUSER" "$RUN/clip.mkv"

as_user() { su "$WLUSER" -s /bin/bash -c "cd $RUN; export XDG_RUNTIME_DIR=$RUN WAYLAND_DISPLAY=wayland-1; $*"; }

su "$WLUSER" -s /bin/bash -c "XDG_RUNTIME_DIR=$RUN WLR_BACKENDS=headless WLR_LIBINPUT_NO_DEVICES=1 \
	WLR_RENDERER=pixman exec sway -c $TMP/sway.conf" >"$TMP/sway.log" 2>&1 &
SU_PID=$!
PIDS_TO_KILL+=($SU_PID)	# su passes SIGTERM on to sway
for _ in $(seq 50); do [ -S "$RUN/wayland-1" ] && break; sleep 0.1; done
SWAY=$(pgrep -P "$SU_PID" -x sway)	# our su's child, not any sway on the machine
check "sway runs headless as $WLUSER" [ -S "$RUN/wayland-1" ]

mkdir -p "$TMP/pol"
cp "$ROOT"/policy/default/*.yml "$TMP/pol/" && rm -f "$TMP"/pol/exec-*.yml
check "agent starts (no exec signatures)" start_agent wl --policy "$TMP/pol"
out=$("$AGENT" --status --status-file "$TMP/none" 2>&1)
check "--status: wl_proxy_marshal_array_flags attached" \
	grep -qE "^api +wl_proxy_marshal_array_flags +attached" <<<"$out"

f() { printf '%s' "${line#* }" | jq -r "$1"; }

as_user "grim $RUN/shot.png"
line=$(wait_event '.type=="capture.begin" and .comm=="grim"' 4)
check "grim: screenshot of the output" [ -n "$line" -a "$(f .kind)" = screenshot -a "$(f .target)" = output ]
check "grim: attributed to $WLUSER" [ "$(f .user)" = "$WLUSER" ]

mark=$(wc -l <"$AGENT_OUT")
as_user "mpv --vo=wlshm --no-audio $RUN/clip.mkv >/dev/null 2>&1 & sleep 1.5; \
	timeout -s INT 3 wf-recorder -y -f $RUN/rec.mkv >/dev/null 2>&1; wait"
line=$(wait_event '.type=="capture.begin" and .comm=="wf-recorder"' 4)
check "wf-recorder with a client drawing: recording" [ -n "$line" -a "$(f .kind)" = recording ]
check "wf-recorder: seen as zwlr_screencopy frames" [ "$(f .api)" = zwlr_screencopy_frame_v1 ]
line=$(wait_event '.type=="capture.end" and .comm=="wf-recorder"' 4)
check "wf-recorder: end with frames counted ($(f .calls))" [ -n "$line" -a "$(f .calls)" -ge 10 ]
check "mpv drawing on Wayland: no event" [ "$(count_events '.comm=="mpv"')" -eq 0 ]
check_sh "sway itself: no event" '[ -n "$SWAY" ] && [ "$(count_events ".pid==$SWAY")" -eq 0 ]'
check "agent exits 0, no error or sanitizer report in its log" stop_agent
kill "$SWAY" 2>/dev/null
finish
