#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# What the X-server-side and client-side hooks cost desktop work: each
# figure with and without the agent from one run, as a ratio.
#   - xterm scrolling 100 000 lines (wall time)
#   - mpv playing a 5 s clip through X11 (CPU time of Xvfb + mpv)
#   - openbox moving three windows 1 000 times (wall time)
#   - x11perf small and large copy and getimage tests (operations per second)
# Five runs each way, alternating; the best of each side counts (this
# shared VM's noise only ever adds time). Needs root, Xvfb,
# openbox, xterm, xlogo, mpv, x11perf, python3-xlib. Not a timed test.
set -eu
cd "$(dirname "$0")/.."
AGENT=${OUTPUT:-build}/sphinx-agent
RUNS=${RUNS:-5}
TMP=$(mktemp -d)
APID=
trap 'kill $XPID $WPIDS 2>/dev/null; [ -n "$APID" ] && kill $APID 2>/dev/null; rm -rf "$TMP"' EXIT

Xvfb :96 -screen 0 1280x720x24 -nolisten tcp >/dev/null 2>&1 & XPID=$!
sleep 1
export DISPLAY=:96
openbox >/dev/null 2>&1 & WPIDS=$!
xlogo -geometry 200x200 >/dev/null 2>&1 & WPIDS="$WPIDS $!"
xlogo -geometry 300x200 >/dev/null 2>&1 & WPIDS="$WPIDS $!"
xterm -geometry 80x24 -e 'while :; do sleep 60; done' >/dev/null 2>&1 & WPIDS="$WPIDS $!"
sleep 1
ffmpeg -nostdin -loglevel error -f lavfi -i testsrc=duration=5:size=640x360:rate=30 -y "$TMP/clip.mkv"

cpu_ticks() { awk '{ print $14 + $15 }' /proc/"$1"/stat; }

scroll() {
	local s=${EPOCHREALTIME/./}
	xterm -e 'seq 1 100000' >/dev/null 2>&1
	echo $(( (${EPOCHREALTIME/./} - s) / 1000 ))
}
video() {
	local x0 m
	x0=$(cpu_ticks $XPID)
	mpv --vo=x11 --no-audio --untimed "$TMP/clip.mkv" >/dev/null 2>&1 & m=$!
	local mt=0
	while kill -0 $m 2>/dev/null; do mt=$(cpu_ticks $m 2>/dev/null || echo $mt); sleep 0.05; done
	echo $(( ($(cpu_ticks $XPID) - x0 + mt) * 10 ))	# ms (100 ticks/s)
}
moves() { /usr/bin/python3 bench/move_windows.py 1000; }
perf() {	# x11perf TEST -> operations per second
	x11perf -repeat 3 -time 1 "$1" 2>/dev/null | grep trep | sed -E 's/.*\( *([0-9.]+)\/sec.*/\1/' | tail -1
}
TESTS=(-copywinwin10 -copywinwin500 -copypixwin500 -getimage10 -getimage500 -shmget500)
run_all() {
	local row="$(scroll) $(video) $(moves)"
	for t in "${TESTS[@]}"; do row="$row $(perf $t || echo 0)"; done
	echo "$row"
}
with_agent() {
	"$AGENT" --stdout --policy policy/default >/dev/null 2>"$TMP/agent.log" & APID=$!
	while ! grep -q started: "$TMP/agent.log"; do sleep 0.1; done
	run_all
	kill $APID; wait $APID 2>/dev/null || true; APID=
}
declare -a off on
for ((r = 0; r < RUNS; r++)); do off+=("$(run_all)"); on+=("$(with_agent)"); done

lowest() { printf '%s\n' "$@" | sort -g | head -1; }
highest() { printf '%s\n' "$@" | sort -g | tail -1; }
col() { local c=$1; shift; for row in "$@"; do echo "$row" | cut -d' ' -f"$c"; done; }
names=("xterm scrolling 100k lines (ms)" "mpv 5 s clip, CPU (ms)" "openbox: 3 windows moved x1000 (ms)")
for t in "${TESTS[@]}"; do names+=("x11perf $t (ops/s)"); done
echo "best of $RUNS runs each way; a ratio above 1 is slower for times, below 1 for rates"
for ((i = 0; i < ${#names[@]}; i++)); do
	pick=lowest; [ $i -ge 3 ] && pick=highest	# times, then rates
	a=$($pick $(col $((i + 1)) "${off[@]}")); b=$($pick $(col $((i + 1)) "${on[@]}"))
	awk -v n="${names[$i]}" -v a="$a" -v b="$b" -v rate=$((i >= 3)) \
		'BEGIN { if (a + 0 == 0) { printf "%-40s (not measured)\n", n; exit }
		         c = rate ? (a / b - 1) * 100 : (b / a - 1) * 100
		         printf "%-40s without %10.1f   with %10.1f   ratio %.3f   cost %+.1f%%\n", n, a, b, b / a, c }'
done
