#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# Lobby benchmark, the lecture-hall start (issue 18): for each configuration
# a fresh sphinx-server at its DEFAULT limits, N distinct users signed up from
# distinct loopback addresses, all in one meeting, all their lobby sockets
# opened at once; then agent-alert and chat fan-out. Three runs per
# configuration, min / median / max of each figure. Not a pass/fail test.
#
# The only settings changed from the defaults are for the set-up:
# signup=yes (the bench creates its accounts over HTTP) and
# password_strength=min (argon2id at its minimum cost, so 1 000 sign-ups
# take seconds, not minutes; it is not part of any measured figure).
# `ulimit -n` is raised for the bench and the server processes only.
#
#   bench/run-lobby.sh                 100 / 1 000 / 10 000 (1 000 x 10), 3 runs
#   RUNS=1 CONFIGS="100x1" bench/run-lobby.sh
# The raw output is saved to bench/results/lobby-<date>.txt (RESULTS=file to change).
set -eu
cd "$(dirname "$0")/.."
OUTPUT=${OUTPUT:-build}
RUNS=${RUNS:-3}
ROUNDS=${ROUNDS:-20}
CONFIGS=${CONFIGS:-"100x1 1000x1 1000x10"}
BIN=$OUTPUT/sphinx-server
BENCH=$OUTPUT/bench/lobby_bench
RESULTS=${RESULTS:-bench/results/lobby-$(date -u +%Y-%m-%d).txt}
[ -x "$BIN" ] && [ -x "$BENCH" ] || { echo "build first: make $BIN $BENCH" >&2; exit 1; }
ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)"
mkdir -p "$(dirname "$RESULTS")"

pid=
data=
cleanup() { [ -n "$pid" ] && kill "$pid" 2>/dev/null; [ -n "$data" ] && rm -rf "$data"; pid=; data=; true; }
trap cleanup EXIT

start_server() {
	cleanup
	data=$(mktemp -d)
	while :; do
		port=$((20000 + RANDOM % 20000))
		(exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null || break
	done
	"$BIN" --data "$data" --port "$port" --bind 127.0.0.1 -o signup=yes -o password_strength=min \
		-o log_level=warning ${SERVER_ARGS:-} >"$data/log" 2>&1 &
	pid=$!
	for _ in $(seq 100); do curl -fs "http://127.0.0.1:$port/api/health" >/dev/null && break; sleep 0.05; done
	kill -0 "$pid" 2>/dev/null || { cat "$data/log" >&2; exit 1; }
	token=$("$BIN" --data "$data" enroll-machine bench-pc)
}

# median of the numbers on stdin, with min and max
stats() { sort -g | awk '{v[NR]=$1} END {printf "min %s  median %s  max %s", v[1], v[int((NR+1)/2)], v[NR]}'; }

{
	echo "== sphinx-server lobby bench, $(date -u '+%Y-%m-%d %H:%M UTC'), $(nproc) CPUs, loopback"
	echo "== commit $(git rev-parse --short HEAD 2>/dev/null || echo unknown), $RUNS runs per configuration, $ROUNDS fan-out rounds"
	echo "== load before: $(uptime)"
	echo "== server: default configuration except signup=yes password_strength=min (set-up only)${SERVER_ARGS:+ plus $SERVER_ARGS}"
	for cfg in $CONFIGS; do
		users=${cfg%x*}
		per=${cfg#*x}
		raw=$(mktemp)
		for run in $(seq "$RUNS"); do
			start_server
			echo "-- $users users x $per sockets = $((users * per)) sockets, run $run"
			if ! "$BENCH" --port "$port" --pid "$pid" --token "$token" --users "$users" --per-user "$per" \
				--rounds "$ROUNDS" | tee -a "$raw"; then
				echo "run failed; server log:"; tail -20 "$data/log"
			fi
			cleanup
		done
		echo "== summary: $users users x $per sockets = $((users * per)) sockets ($RUNS runs)"
		for f in $(awk '$1 == "figure" {print $2}' "$raw" | awk '!seen[$0]++'); do
			printf '  %-32s %s\n' "$f" "$(awk -v f="$f" '$1 == "figure" && $2 == f {print $3}' "$raw" | stats)"
		done
		rm -f "$raw"
	done
	echo "== load after: $(uptime)"
} 2>&1 | tee "$RESULTS"
echo "saved to $RESULTS"
