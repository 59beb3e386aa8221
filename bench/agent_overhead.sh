#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# What the agent costs the machine: exec-heavy, open-heavy and X11 capture
# workloads timed without and with the agent loaded, in one run; prints each
# as a ratio. Needs root, Xvfb and ffmpeg. Not a timed test.
set -eu
cd "$(dirname "$0")/.."
AGENT=${OUTPUT:-build}/sphinx-agent
N=${N:-3000}
TMP=$(mktemp -d)
trap 'kill $XPID 2>/dev/null; [ -n "${APID:-}" ] && kill $APID 2>/dev/null; rm -rf "$TMP"' EXIT

Xvfb :97 -screen 0 1280x720x24 -nolisten tcp >/dev/null 2>&1 & XPID=$!
sleep 1
export DISPLAY=:97

t() { local s e; s=${EPOCHREALTIME/./}; "$@" >/dev/null 2>&1; e=${EPOCHREALTIME/./}; echo $((e - s)); }
exec_loop() { for ((i = 0; i < N; i++)); do /bin/true; done; }
open_loop() { for ((i = 0; i < N * 10; i++)); do : <"/dev/null"; : <"$TMP"/../; done 2>/dev/null; }
grab() { ffmpeg -nostdin -loglevel error -f x11grab -framerate 1000 -i :97 -frames:v 600 -f null -; }

run_all() {
	echo "$(t exec_loop) $(t open_loop) $(t grab)"
}

# Median of 3 runs per side, alternating to share any drift.
declare -a off on
for r in 1 2 3; do
	off+=("$(run_all)")
	"$AGENT" --stdout --policy policy/default >/dev/null 2>"$TMP/agent.log" & APID=$!
	while ! grep -q started: "$TMP/agent.log"; do sleep 0.1; done
	on+=("$(run_all)")
	kill $APID; wait $APID 2>/dev/null || true; APID=
done
median() { printf '%s\n' "$@" | sort -n | sed -n 2p; }
col() { local c=$1; shift; for row in "$@"; do echo "$row" | cut -d' ' -f"$c"; done; }
names=("exec /bin/true x$N" "open x$((N * 20))" "ffmpeg x11grab 600 frames")
for c in 1 2 3; do
	a=$(median $(col $c "${off[@]}")); b=$(median $(col $c "${on[@]}"))
	awk -v n="${names[$((c - 1))]}" -v a="$a" -v b="$b" \
		'BEGIN { printf "%-28s without %8.1f ms   with %8.1f ms   ratio %.3f (%+.1f%%)\n", n, a/1000, b/1000, b/a, (b/a-1)*100 }'
done
