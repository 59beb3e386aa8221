#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# OBS Studio on Xvfb (Mesa llvmpipe), recording from the command line with a
# scene collection of our own: screen capture (xshm) and window capture
# (xcomposite, under openbox: OBS needs an EWMH window manager for it).
# Exec signatures are removed: the capture-API layer alone must catch both
# as recordings, named as OBS.
source "$(dirname "$0")/lib.bash"

require_root
require obs openbox xlogo xwininfo jq setsid
start_xvfb
export HOME=$TMP/home LIBGL_ALWAYS_SOFTWARE=1
conf=$HOME/.config/obs-studio
mkdir -p "$conf/basic/profiles/Test" "$conf/basic/scenes" "$TMP/rec"
cat >"$conf/global.ini" <<INI
[General]
FirstRun=true
LastVersion=486539266
INI
cat >"$conf/basic/profiles/Test/basic.ini" <<INI
[General]
Name=Test
[Output]
Mode=Simple
[SimpleOutput]
FilePath=$TMP/rec
RecFormat=mkv
RecEncoder=x264
[Video]
BaseCX=640
BaseCY=360
OutputCX=640
OutputCY=360
FPSCommon=10
INI
# collection NAME SOURCE_ID SETTINGS_JSON
collection() {
	cat >"$conf/basic/scenes/$1.json" <<JSON
{"current_scene":"Scene","current_program_scene":"Scene","name":"$1","scene_order":[{"name":"Scene"}],
 "sources":[{"id":"scene","versioned_id":"scene","name":"Scene","settings":{"items":[{"name":"Src","visible":true,"id":1}],"id_counter":1}},
            {"id":"$2","versioned_id":"$2","name":"Src","settings":$3}]}
JSON
}

openbox >/dev/null 2>&1 & PIDS_TO_KILL+=($!)
xlogo >/dev/null 2>&1 & PIDS_TO_KILL+=($!)
sleep 1.5
wid=$(xwininfo -root -tree | awk '/xlogo/ && /XLogo/ { print $1; exit }')
collection screen xshm_input '{"screen":0}'
collection window xcomposite_input "{\"capture_window\":\"$((wid))\\r\\nxlogo\\r\\nXLogo\"}"

mkdir -p "$TMP/pol"
cp "$ROOT"/policy/default/*.yml "$TMP/pol/" && rm -f "$TMP"/pol/exec-*.yml
check "agent starts (no exec signatures)" start_agent obs --policy "$TMP/pol"

f() { printf '%s' "${line#* }" | jq -r "$1"; }
for mode in screen window; do
	# its own process group (setsid): killing the group kills OBS and the
	# helpers it forks, and nothing else on this machine
	(cd "$TMP" && exec setsid obs --startrecording --minimize-to-tray --disable-shutdown-check \
		--profile Test --collection "$mode" >"$TMP/obs-$mode.log" 2>&1) &
	pid=$!
	PIDS_TO_KILL+=($pid)
	line=$(wait_event ".type==\"capture.begin\" and .comm==\"obs\"" 20)
	check "OBS $mode capture: recording" [ -n "$line" -a "$(f .kind)" = recording ]
	check "OBS $mode capture: seen as $(f .api) on the $(f .target)" \
		[ "$(f .target)" = "$([ $mode = screen ] && echo root || echo window)" ]
	kill -9 -- -$pid 2>/dev/null; wait $pid 2>/dev/null
	check "OBS $mode capture: end when OBS exits" wait_event ".type==\"capture.end\" and .comm==\"obs\"" 5
	: >"$AGENT_OUT"
done
check "agent exits 0, no error or sanitizer report in its log" stop_agent
finish
