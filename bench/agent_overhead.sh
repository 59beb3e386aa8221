#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# What the agent costs the machine: exec-heavy, open-heavy and X11 capture
# workloads without and with the agent, and the per-call cost of the system
# calls a syscall tracepoint would tax (bench/syscall_cost.c). Needs root,
# Xvfb, ffmpeg and a C compiler. Prints figures; not a pass/fail test.
#
# Workloads (figure names):
#   exec     N runs of /bin/true from a bash loop (N=3000)
#   open     40 N opens from a bash loop, half /dev/null (the device hook),
#            half a directory
#   x11grab  ffmpeg x11grab, 1200 frames of the Xvfb screen
#   syscall_* per call, best of five rounds inside one syscall_cost run
# First in each block, idle: the machine's busy CPU over 1.2 s of sleep
# (the agent at rest, and what else the machine ran). For each workload: wall clock (wall_ms), the whole machine's busy CPU over
# the run and 200 ms after it (cpu_ms: /proc/stat, so the agent's work on
# the other CPU and in the kernel is counted), and the agent's own utime +
# stime (agent_cpu). RUNS blocks each way in the order off on on off off on
# ...; min / median / max over the blocks, and the cost per adjacent pair.
#
# In every "with" block the agent's `--status` must show the exec, device,
# api and xserver layers active, no probe failed and fbGetImage attached,
# before and after the workloads, the x11grab must have produced a
# capture.begin line, and the agent must exit 0 on SIGTERM without an
# error in its log; otherwise the bench fails.
#
#   bench/agent_overhead.sh              RUNS=6 N=3000
# Raw output and machine description: bench/results/agent_overhead-<date>.txt
set -eu
cd "$(dirname "$0")/.."
. bench/lib.sh
AGENT=${OUTPUT:-build}/sphinx-agent
N=${N:-3000}
RUNS=${RUNS:-6}
[ -x "$AGENT" ] || { echo "build first: make $AGENT" >&2; exit 1; }
[ "$(id -u)" -eq 0 ] || { echo "agent_overhead: needs root (the agent loads eBPF)" >&2; exit 1; }
for t in Xvfb ffmpeg cc; do
	command -v $t >/dev/null || { echo "agent_overhead: needs $t (scripts/install-deps.sh --test)" >&2; exit 1; }
done
TMP=$(mktemp -d)
APID='' XPIDS=''
cleanup() {
	# not an && list: under set -e the agent's status from wait would end
	# the trap here and leave the X servers running
	if [ -n "$APID" ]; then kill "$APID" 2>/dev/null; wait "$APID" 2>/dev/null || true; fi
	# shellcheck disable=SC2086 # a list of pids
	[ -n "$XPIDS" ] && kill $XPIDS 2>/dev/null
	rm -rf "$TMP"
}
trap cleanup EXIT
cc -O2 -Wall -o "$TMP/syscall_cost" bench/syscall_cost.c

bench_begin agent_overhead
echo "== $RUNS blocks each way, N=$N; agent: $AGENT --stdout --policy policy/default (no server link)"
xvfb_start

exec_loop() { for ((i = 0; i < N; i++)); do /bin/true; done; }
open_loop() { for ((i = 0; i < N * 20; i++)); do : <"/dev/null"; : <"$TMP"/../; done 2>/dev/null; }
grab() { ffmpeg -nostdin -loglevel error -f x11grab -framerate 1000 -i "$DISPLAY" -frames:v 1200 -f null -; }

block() {	# K SIDE
	local k=$1 side=$2 m name ns
	[ "$side" = on ] && agent_start fbGetImage
	idle_row "$k" "$side"
	read -r -a m < <(measure exec_loop); row "$k" "$side" exec wall_ms "${m[0]}" ms; row "$k" "$side" exec cpu_ms "${m[1]}" ms
	[ "$side" = on ] && row "$k" "$side" exec agent_ms "${m[2]}" ms
	read -r -a m < <(measure open_loop); row "$k" "$side" open wall_ms "${m[0]}" ms; row "$k" "$side" open cpu_ms "${m[1]}" ms
	[ "$side" = on ] && row "$k" "$side" open agent_ms "${m[2]}" ms
	read -r -a m < <(measure grab); row "$k" "$side" x11grab wall_ms "${m[0]}" ms; row "$k" "$side" x11grab cpu_ms "${m[1]}" ms
	[ "$side" = on ] && row "$k" "$side" x11grab agent_ms "${m[2]}" ms
	while read -r name ns; do
		row "$k" "$side" "syscall_$name" ns "$ns" ns
	done < <("$TMP/syscall_cost" /etc/hostname)
	if [ "$side" = on ]; then
		# ours: the agent watches the whole machine, other sessions' recorders too
		grep '"capture.begin"' "$TMP/agent.out" | grep '"comm":"ffmpeg"' | grep -qF "\"-i\",\"$DISPLAY\"" ||
			bench_fail "the agent reported no capture.begin for our ffmpeg x11grab of $DISPLAY"
		agent_assert fbGetImage
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
