#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# The device layer in the real kernel: opens of capture devices seen by the
# device cgroup hook, by device number (a node made anywhere under any name
# is caught); display servers left out; the ioctl check followed only while
# a process holds a watched device, with no syscall tracepoint at rest.
# This VM has no frame buffer or DRM driver: the nodes are made with mknod
# (their opens fail with ENXIO after the hook has seen them), and the ioctl
# path is exercised on /dev/null, which a test rule adds to the watch list.
source "$(dirname "$0")/lib.bash"

require_root
require jq bpftool /usr/bin/python3
f() { printf '%s' "${line#* }" | jq -r "$1"; }

MADE=()
made_node() {	# made_node PATH MAJOR MINOR
	[ -e "$1" ] && return 0
	mkdir -p "$(dirname "$1")" && mknod "$1" c "$2" "$3" && MADE+=("$1")
}
trap 'cleanup; rm -f "${MADE[@]}"' EXIT
made_node /dev/fb7 29 7 || { not_ok "mknod /dev/fb7"; finish; }
made_node /dev/dri/card7 226 7 || { not_ok "mknod /dev/dri/card7"; finish; }
cp /bin/cat "$TMP/grabber"
cp /bin/cat "$TMP/Xorg"
mknod "$TMP/innocent" c 29 7

ioctl_links() { bpftool perf list 2>/dev/null | grep -c 'sys_enter_ioctl' || true; }

check "agent starts" start_agent dev --policy "$ROOT/policy/default"
check "--status: device opens (cgroup/dev) attached" \
	sh -c "'$AGENT' --status 2>&1 | grep -q 'device opens (cgroup/dev) *attached'"
check "no syscall tracepoint attached at rest" [ "$(ioctl_links)" -eq 0 ]

"$TMP/grabber" /dev/fb7 2>/dev/null & pid=$!
wait $pid
line=$(wait_event ".type==\"capture.begin\" and .pid==$pid" 3)
check "renamed program opening /dev/fb7: caught" [ -n "$line" ]
check "... by the device layer, rule fbdev-read, named as the opener" \
	[ "$(f .layer)" = device -a "$(f .rule.id)" = sphinx.dev.fbdev-read -a "$(f .comm)" = grabber ]
check "... the device named /dev/fb7 ($(f .api))" [ "$(f .api)" = "open /dev/fb7" ]

"$TMP/grabber" "$TMP/innocent" 2>/dev/null & pid=$!
wait $pid
line=$(wait_event ".type==\"capture.begin\" and .pid==$pid" 3)
check "a frame-buffer node made elsewhere, under another name: caught as /dev/fb7" \
	[ -n "$line" -a "$(f .api)" = "open /dev/fb7" ]

"$TMP/Xorg" /dev/fb7 2>/dev/null & xpid=$!
"$TMP/grabber" /dev/dri/card7 2>/dev/null & dpid=$!
cat /dev/null
wait $xpid $dpid
check "marker: the grabber opening /dev/fb7 again is seen" agent_marker "$TMP/grabber" /dev/fb7
check "a display server (Xorg) opening it: no event" [ "$(count_events ".pid==$xpid")" -eq 0 ]
check "a plain open of /dev/dri/card7: no event (every GL program does it)" \
	[ "$(count_events ".pid==$dpid")" -eq 0 ]
check "ioctls followed while a process held a device, then no longer" \
	grep -q "following ioctls while pid $dpid" "$AGENT_LOG"
check "... released when it exited: no syscall tracepoint left" [ "$(ioctl_links)" -eq 0 ]
check "agent exits 0, no error or sanitizer report in its log" stop_agent

# The ioctl path: /dev/null watched by a test rule; FBIOGET_VSCREENINFO
# (0x4600) on it twenty times in a second is what an fbdev grabber does.
mkdir -p "$TMP/policy"
cp "$ROOT"/policy/default/*.yml "$TMP/policy/"
cat >"$TMP/policy/test-null.yml" <<'YML'
id: test.dev.null-watched
title: Test only - /dev/null watched like a capture device
logsource:
  category: file_access
  product: linux
detection:
  sel:
    TargetFilename|startswith: /dev/null
    Operation: no-such-operation
  condition: sel
level: low
YML
check "agent starts with /dev/null watched" start_agent ioctl --policy "$TMP/policy"
/usr/bin/python3 - <<'PY' & pid=$!
import fcntl, time
with open("/dev/null", "rb") as f:
    time.sleep(0.5)                     # the agent attaches the ioctl check
    for _ in range(20):
        try:
            fcntl.ioctl(f.fileno(), 0x4600, bytearray(160))
        except OSError:
            pass                        # ENOTTY: /dev/null is no frame buffer
        time.sleep(0.05)
PY
line=$(wait_event ".type==\"capture.begin\" and .pid==$pid" 4)
check "FBIOGET_VSCREENINFO on a watched device, 20 in 1 s: caught" [ -n "$line" ]
check "... by the device layer as FBIOGET_VSCREENINFO" \
	[ "$(f .layer)" = device -a "$(f .api)" = FBIOGET_VSCREENINFO ]
wait $pid
line=$(wait_event ".type==\"capture.end\" and .pid==$pid" 5)
check "... a recording, every ioctl counted ($(f .kind), $(f .calls))" \
	[ "$(f .kind)" = recording -a "$(f .calls)" -ge 20 ]
check "agent exits 0, no error or sanitizer report in its log" stop_agent
finish
