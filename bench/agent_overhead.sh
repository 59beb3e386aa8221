#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# What the agent costs the machine: exec-heavy, open-heavy and X11 capture
# workloads timed without and with the agent loaded, in one run; prints each
# as a ratio. Then the per-call cost of the system calls a syscall
# tracepoint would tax (bench/syscall_cost.c). Needs root, Xvfb, ffmpeg and
# a C compiler. Not a timed test.
set -eu
cd "$(dirname "$0")/.."
AGENT=${OUTPUT:-build}/sphinx-agent
N=${N:-3000}
RUNS=${RUNS:-5}
TMP=$(mktemp -d)
trap 'kill $XPID 2>/dev/null; [ -n "${APID:-}" ] && kill $APID 2>/dev/null; rm -rf "$TMP"' EXIT
cc -O2 -o "$TMP/syscall_cost" bench/syscall_cost.c

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
agent_on() {
	"$AGENT" --stdout --policy policy/default >/dev/null 2>"$TMP/agent.log" & APID=$!
	while ! grep -q started: "$TMP/agent.log"; do sleep 0.1; done
}
agent_off() { kill $APID; wait $APID 2>/dev/null || true; APID=; }

# Alternating runs; the best of each side counts (this shared VM's noise
# only ever adds time).
declare -a off on
for ((r = 0; r < RUNS; r++)); do
	off+=("$(run_all)")
	agent_on; on+=("$(run_all)"); agent_off
done
best() { printf '%s\n' "$@" | sort -n | head -1; }
col() { local c=$1; shift; for row in "$@"; do echo "$row" | cut -d' ' -f"$c"; done; }
names=("exec /bin/true x$N" "open x$((N * 20))" "ffmpeg x11grab 600 frames")
echo "best of $RUNS runs each way"
for c in 1 2 3; do
	a=$(best $(col $c "${off[@]}")); b=$(best $(col $c "${on[@]}"))
	awk -v n="${names[$((c - 1))]}" -v a="$a" -v b="$b" \
		'BEGIN { printf "%-28s without %8.1f ms   with %8.1f ms   ratio %.3f (%+.1f%%)\n", n, a/1000, b/1000, b/a, (b/a-1)*100 }'
done

echo "per call (ns, best of 5 rounds each, then the better of two runs)"
cost() { "$TMP/syscall_cost" /etc/hostname; }
w1=$(cost); w2=$(cost); agent_on; a1=$(cost); a2=$(cost); agent_off
paste <(echo "$w1") <(echo "$w2") <(echo "$a1") <(echo "$a2") |
	awk '{ a = $2 < $4 ? $2 : $4; b = $6 < $8 ? $6 : $8
	       printf "  %-24s without %8d   with %8d   %+.1f%%\n", $1, a, b, (b / a - 1) * 100 }'
