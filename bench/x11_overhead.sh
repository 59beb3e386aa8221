#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# What the X-server-side and client-side hooks cost desktop work, without
# and with the agent. Two Xvfb servers: a plain desktop (openbox, two
# xlogo, an xterm) and a composited one (the same plus picom, the xrender
# backend, so every repaint goes through the X server's CompositePicture,
# the composite hook). Workloads (figure names):
#   scroll            xterm scrolling 100 000 lines
#   video             mpv playing a 5 s 640x360 clip through X11, untimed
#   moves             openbox moving the three windows 1 000 times
#   picom_moves       the same on the composited desktop
#   picom_scroll      xterm scrolling 100 000 lines on the composited desktop
#   x11perf_TEST      x11perf small and large copy and getimage tests (ops/s)
# First in each block, idle: the machine's busy CPU over 1.2 s of sleep (the
# agent at rest, and what else the machine ran). For each: wall clock (wall_ms) and the whole machine's busy CPU over the
# run and 200 ms after it (cpu_ms, /proc/stat: X server, picom, the clients,
# the agent and the kernel's probes, on both CPUs), and the agent's own
# utime + stime (agent_cpu); x11perf gives its rate only. RUNS blocks each
# way in the order off on on off off on ...; min / median / max over the
# blocks and the cost per adjacent pair.
#
# In every "with" block the agent's `--status` must show the exec, device,
# api and xserver layers active, no probe failed and fbGetImage, fbCopyArea
# and CompositePicture attached, before and after the workloads, and the
# agent must exit 0 on SIGTERM without an error; picom must own the
# compositing selection throughout. Otherwise the bench fails.
# Needs root, Xvfb, openbox, picom, xterm, xlogo, mpv, x11perf, ffmpeg,
# python3-xlib. Prints figures; not a pass/fail test.
#
#   bench/x11_overhead.sh                 RUNS=4
# Raw output and machine description: bench/results/x11_overhead-<date>.txt
set -eu
cd "$(dirname "$0")/.."
. bench/lib.sh
AGENT=${OUTPUT:-build}/sphinx-agent
RUNS=${RUNS:-4}
[ -x "$AGENT" ] || { echo "build first: make $AGENT" >&2; exit 1; }
[ "$(id -u)" -eq 0 ] || { echo "x11_overhead: needs root (the agent loads eBPF)" >&2; exit 1; }
for t in Xvfb openbox picom xterm xlogo mpv x11perf ffmpeg; do
	command -v $t >/dev/null || { echo "x11_overhead: needs $t (scripts/install-deps.sh --test)" >&2; exit 1; }
done
/usr/bin/python3 -c 'import Xlib' 2>/dev/null || { echo "x11_overhead: needs python3-xlib" >&2; exit 1; }
TMP=$(mktemp -d)
APID='' XPIDS='' WPIDS='' PICOM=''
cleanup() {
	# not an && list: under set -e the agent's status from wait would end
	# the trap here and leave the X servers running
	if [ -n "$APID" ]; then kill "$APID" 2>/dev/null; wait "$APID" 2>/dev/null || true; fi
	kill $WPIDS $XPIDS 2>/dev/null
	rm -rf "$TMP"
}
trap cleanup EXIT

bench_begin x11_overhead
echo "== $RUNS blocks each way; agent: $AGENT --stdout --policy policy/default (no server link)"

desktop() {	# on $DISPLAY: openbox, two xlogo, an idle xterm
	openbox >/dev/null 2>&1 & WPIDS="$WPIDS $!"
	sleep 0.5
	xlogo -geometry 200x200 >/dev/null 2>&1 & WPIDS="$WPIDS $!"
	xlogo -geometry 300x200 >/dev/null 2>&1 & WPIDS="$WPIDS $!"
	xterm -geometry 80x24 -e 'while :; do sleep 60; done' >/dev/null 2>&1 & WPIDS="$WPIDS $!"
}
xvfb_start
PLAIN=$DISPLAY
desktop
xvfb_start
COMP=$DISPLAY
desktop
picom --config /dev/null --backend xrender >"$TMP/picom.log" 2>&1 & PICOM=$!
WPIDS="$WPIDS $PICOM"
sleep 1
# picom is compositing when it owns _NET_WM_CM_S<screen>
composited() {
	kill -0 "$PICOM" 2>/dev/null &&
	DISPLAY=$COMP /usr/bin/python3 -c 'from Xlib import display
d = display.Display()
raise SystemExit(d.get_selection_owner(d.intern_atom("_NET_WM_CM_S0")) == 0)'
}
composited || { cat "$TMP/picom.log" >&2; bench_fail "picom is not compositing $COMP"; }
echo "== plain desktop $PLAIN, composited desktop $COMP (picom $(picom --version), xrender backend)"
ffmpeg -nostdin -loglevel error -f lavfi -i testsrc=duration=5:size=640x360:rate=30 -y "$TMP/clip.mkv"

scroll() { xterm -e 'seq 1 100000'; }
video() { mpv --vo=x11 --no-audio --untimed "$TMP/clip.mkv"; }
moves() { /usr/bin/python3 bench/move_windows.py 1000; }
rate() {	# x11perf TEST -> operations per second
	DISPLAY=$PLAIN x11perf -repeat 2 -time 1 "$1" 2>/dev/null | grep trep |
		sed -E 's/.*\( *([0-9.]+)\/sec.*/\1/' | tail -1
}
TESTS=(-copywinwin10 -copywinwin500 -copypixwin500 -getimage10 -getimage500 -shmget500)

timed() {	# K SIDE NAME DISPLAY COMMAND...
	local k=$1 side=$2 name=$3 m
	read -r -a m < <(DISPLAY=$4 measure "${@:5}")
	row "$k" "$side" "$name" wall_ms "${m[0]}" ms
	row "$k" "$side" "$name" cpu_ms "${m[1]}" ms
	[ "$side" = off ] || row "$k" "$side" "$name" agent_ms "${m[2]}" ms
}

block() {	# K SIDE
	local k=$1 side=$2 t r
	[ "$side" = on ] && agent_start fbGetImage fbCopyArea CompositePicture
	idle_row "$k" "$side"
	timed "$k" "$side" scroll "$PLAIN" scroll
	timed "$k" "$side" video "$PLAIN" video
	timed "$k" "$side" moves "$PLAIN" moves
	timed "$k" "$side" picom_moves "$COMP" moves
	timed "$k" "$side" picom_scroll "$COMP" scroll
	composited || bench_fail "picom stopped compositing"
	for t in "${TESTS[@]}"; do
		r=$(rate "$t")
		[ -n "$r" ] || bench_fail "x11perf $t gave no rate"
		row "$k" "$side" "x11perf${t/-/_}" rate "$r" ops/s
	done
	if [ "$side" = on ]; then
		agent_assert fbGetImage fbCopyArea CompositePicture
		agent_stop
	fi
}

declare -A k=([off]=0 [on]=0)
for ((b = 0; b < 2 * RUNS; b++)); do
	side=$(side_of $b)
	echo "-- block $((b + 1))/$((2 * RUNS)): agent $side ($(date -u +%T))"
	block "${k[$side]}" "$side"
	k[$side]=$((k[$side] + 1))
done
summarise
bench_end
