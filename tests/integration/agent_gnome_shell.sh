#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# GNOME Shell 43 headless, for real: a screenshot through
# org.gnome.Shell.Screenshot is read inside the shell (libgnome-shell's
# shell_screenshot_screenshot, hooked in the running shell's own mapping)
# and reported as a screenshot by the D-Bus caller, named through the
# shell's session bus, with its user (the desktop runs as an unprivileged
# test user, gnome.bash). --unsafe-mode lets any caller use the
# API (GNOME's own tests do the same; a real session allows it to
# gnome-screenshot and the portal). logind is python3-dbusmock's, on a
# private "system" bus. GNOME's built-in screen recorder (the
# org.gnome.Shell.Screencast service, started by the session bus) is
# reported as a recording by that service, with the user. Exec signatures
# are removed.
source "$(dirname "$0")/lib.bash"
source "$(dirname "$0")/gnome.bash"

require_root
require setpriv useradd gnome-shell gjs pipewire wireplumber dbus-daemon gdbus \
	dbus-update-activation-environment jq
[ -f /usr/share/dbus-1/services/org.gnome.Shell.Screencast.service ] ||
	{ not_ok "GNOME Shell's screen recorder service installed (gnome-shell)"; finish; }
/usr/bin/python3 -c 'import dbusmock' 2>/dev/null ||
	{ not_ok "python3-dbusmock installed"; finish; }

mkdir -p "$TMP/pol"
cp "$ROOT"/policy/default/*.yml "$TMP/pol/" && rm -f "$TMP"/pol/exec-*.yml
check "agent starts (no exec signatures)" start_agent shell --policy "$TMP/pol"

check "test user $GNOME_USER" gnome_user
# GNOME's screen recorder is a service the session bus starts on demand.
mkdir -p "$GNOME_DIR/session.services"
cp /usr/share/dbus-1/services/org.gnome.Shell.Screencast.service "$GNOME_DIR/session.services/"
check "private session bus" gnome_session_bus
check "mock logind on a private system bus" gnome_system_bus_logind
check "pipewire and wireplumber run" gnome_pipewire
gnome_compositor gnome-shell --unsafe-mode
check "headless gnome-shell serves org.gnome.Shell.Screenshot" \
	gnome_wait_name --session org.gnome.Shell.Screenshot /org/gnome/Shell/Screenshot 40
SHELL_PID=$COMPOSITOR_PID
lib=$(grep -m1 -o '/[^ ]*/libgnome-shell.so$' /proc/$SHELL_PID/maps)

out=$("$AGENT" --status --status-file "$TMP/none" 2>&1)
check "--status: gnome-shell (pid $SHELL_PID) watched" \
	grep -qE "^compositor +gnome-shell \(pid $SHELL_PID\) +attached" <<<"$out"
for fn in shell_screenshot_screenshot shell_screenshot_screenshot_area \
	  shell_screenshot_screenshot_window shell_screenshot_screenshot_stage_to_content; do
	check "--status: $fn attached in $lib" grep -qE "^compositor +$fn +attached +$lib" <<<"$out"
done

f() { printf '%s' "${line#* }" | jq -r "$1"; }

# The running agent saw the shell start: its probes went in then.
check "running agent: shell's probes attached" \
	grep -q "compositor layer: watching /usr/bin/gnome-shell (pid $SHELL_PID)" "$AGENT_LOG"
SHOT=$GNOME_DIR/home/shot.png
bounded 20 "${GNOME_AS[@]}" gdbus call --session --dest org.gnome.Shell.Screenshot \
	--object-path /org/gnome/Shell/Screenshot \
	--method org.gnome.Shell.Screenshot.Screenshot false false "$SHOT" >/dev/null
caller=$BOUNDED_PID
check "org.gnome.Shell.Screenshot.Screenshot wrote a PNG (rc $BOUNDED_RC)" \
	[ $BOUNDED_RC -eq 0 -a -s "$SHOT" ]
line=$(wait_event ".type==\"capture.begin\" and .pid==$caller" 5)
check "screenshot: capture.begin for the D-Bus caller (gdbus, pid $caller)" [ -n "$line" ]
check "  kind screenshot, layer compositor, rule sphinx.compositor.screenshot" \
	[ "$(f .kind)" = screenshot -a "$(f .layer)" = compositor -a "$(f .rule.id)" = sphinx.compositor.screenshot ]
check "  user $GNOME_USER, named through the user's own session bus ($(f .user))" \
	[ "$(f .user)" = "$GNOME_USER" ]
check "  evidence names gnome-shell and the D-Bus method ($(f .api))" \
	grep -q "^shell_screenshot_screenshot in gnome-shell (pid $SHELL_PID) for org.gnome.Shell.Screenshot.Screenshot$" <<<"$(f .api)"
line=$(wait_event ".type==\"capture.end\" and .pid==$caller" 3)
check "  and its end at once" [ -n "$line" ]

bounded 20 "${GNOME_AS[@]}" gdbus call --session --dest org.gnome.Shell.Screenshot \
	--object-path /org/gnome/Shell/Screenshot \
	--method org.gnome.Shell.Screenshot.ScreenshotArea 0 0 100 100 false "$GNOME_DIR/home/area.png" >/dev/null
caller2=$BOUNDED_PID
line=$(wait_event ".type==\"capture.begin\" and .pid==$caller2" 5)
check "ScreenshotArea: screenshot by its caller (pid $caller2)" \
	[ -n "$line" -a "$(f .kind)" = screenshot ]
check "  evidence: shell_screenshot_screenshot_area for ...ScreenshotArea" \
	grep -q "^shell_screenshot_screenshot_area in gnome-shell .* for org.gnome.Shell.Screenshot.ScreenshotArea$" <<<"$(f .api)"
# GNOME's built-in screen recorder (what the screenshot UI's record button
# starts): the org.gnome.Shell.Screencast service asks mutter's ScreenCast
# API inside the shell, then reads the frames itself into a WebM file.
"${GNOME_AS[@]}" dbus-update-activation-environment WAYLAND_DISPLAY=wayland-0 \
	XDG_RUNTIME_DIR="$XDG_RUNTIME_DIR" >/dev/null 2>&1
REC=$GNOME_DIR/home/rec.webm
bounded 20 "${GNOME_AS[@]}" gdbus call --session --dest org.gnome.Shell.Screencast \
	--object-path /org/gnome/Shell/Screencast \
	--method org.gnome.Shell.Screencast.Screencast "$REC" "{}" >"$GNOME_DIR/rec.out" 2>&1
check "org.gnome.Shell.Screencast.Screencast started ($(cat "$GNOME_DIR/rec.out"))" \
	grep -q "^(true," "$GNOME_DIR/rec.out"
recorder=$("${GNOME_AS[@]}" gdbus call --session --dest org.freedesktop.DBus \
	--object-path /org/freedesktop/DBus --method org.freedesktop.DBus.GetConnectionUnixProcessID \
	org.gnome.Shell.Screencast 2>/dev/null | sed -n 's/^(uint32 \([0-9]*\),)$/\1/p')
check "the recorder service runs (pid $recorder)" [ -n "$recorder" ]
line=$(wait_event ".type==\"capture.begin\" and .pid==${recorder:-0}" 5)
check "GNOME's screen recorder: recording by its service, user $GNOME_USER ($(f .comm), $(f .user))" \
	[ -n "$line" -a "$(f .kind)" = recording -a "$(f .user)" = "$GNOME_USER" ]
check "  rule sphinx.compositor.screen-cast, inside gnome-shell ($(f .api))" \
	[ "$(f .rule.id)" = sphinx.compositor.screen-cast ] &&
	grep -q "in gnome-shell (pid $SHELL_PID) for org.gnome.Mutter.ScreenCast.Session.Start$" <<<"$(f .api)"
sleep 2
bounded 10 "${GNOME_AS[@]}" gdbus call --session --dest org.gnome.Shell.Screencast \
	--object-path /org/gnome/Shell/Screencast \
	--method org.gnome.Shell.Screencast.StopScreencast >/dev/null 2>&1
line=$(wait_event ".type==\"capture.end\" and .pid==${recorder:-0}" 5)
check "recorder stopped: capture.end" [ -n "$line" ]
check "  the recording was written ($(stat -c %s "$REC" 2>/dev/null) bytes)" [ -s "$REC" ]
[ -n "$recorder" ] && PIDS_TO_KILL+=($recorder)
check "gnome-shell itself: no event" [ "$(count_events ".pid==$SHELL_PID")" -eq 0 ]
check "agent exits 0, no error or sanitizer report in its log" stop_agent
# GNOME Shell 43 headless crashes (SIGSEGV) when killed after a screen
# recording, with or without the agent: the shell's, not ours.
finish
