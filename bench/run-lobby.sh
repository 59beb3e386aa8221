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
# `ulimit -n` is raised for the bench and the server processes only. A run
# that a default limit stops (a socket closed or refused) is reported as
# failed, with the reason, and left out of the figures: raising the limit
# would measure something users do not run.
#
#   bench/run-lobby.sh        100 / 1 000 / 10 000 users x 1, 1 000 users x 10; 3 runs
#   RUNS=1 CONFIGS="100x1" bench/run-lobby.sh           USERSxSOCKETS_PER_USER
# The raw output is saved to bench/results/lobby-<date>.txt (RESULTS=file to change).
set -eu -o pipefail
cd "$(dirname "$0")/.."
OUTPUT=${OUTPUT:-build}
RUNS=${RUNS:-3}
ROUNDS=${ROUNDS:-20}
CONFIGS=${CONFIGS:-"100x1 1000x1 10000x1 1000x10"}
BIN=$OUTPUT/sphinx-server
BENCH=$OUTPUT/bench/lobby_bench
[ -x "$BIN" ] && [ -x "$BENCH" ] || { echo "build first: make $BIN $BENCH" >&2; exit 1; }
ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)"
. bench/lib.sh

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

unit_of() { case $1 in *_ms) echo ms ;; *_bytes* ) echo bytes ;; *_mb) echo MB ;; *_s) echo s ;; *) echo - ;; esac; }

bench_begin lobby
echo "== CONFIGS=\"$CONFIGS\" (USERSxSOCKETS_PER_USER), RUNS=$RUNS runs each, ROUNDS=$ROUNDS fan-out rounds, open files $(ulimit -n)"
echo "== server: default configuration except signup=yes password_strength=min (set-up only)${SERVER_ARGS:+ plus $SERVER_ARGS}"
for cfg in $CONFIGS; do
	users=${cfg%x*}
	per=${cfg#*x}
	raw=$(mktemp)
	failed=0
	for run in $(seq "$RUNS"); do
		start_server
		echo "-- $users users x $per sockets = $((users * per)) sockets, run $run ($(date -u +%T))"
		if ! "$BENCH" --port "$port" --pid "$pid" --token "$token" --users "$users" --per-user "$per" \
			--rounds "$ROUNDS" >"$raw.run"; then
			failed=$((failed + 1))
			cat "$raw.run"
			echo "run failed (its figures are left out); server log:"
			{ grep -v ' info: ' "$data/log" || echo '(nothing above info level)'; } | tail -20
		else
			cat "$raw.run" | tee -a "$raw"
		fi
		cleanup
	done
	echo "== summary: $users users x $per sockets = $((users * per)) sockets ($RUNS runs, $failed failed)"
	[ "$failed" -eq 0 ] || bench_result "${cfg}_failed_runs" runs "$failed"
	for f in $(awk '$1 == "figure" {print $2}' "$raw" | awk '!seen[$0]++'); do
		bench_result "${cfg}_$f" "$(unit_of "$f")" $(awk -v f="$f" '$1 == "figure" && $2 == f {print $3}' "$raw")
	done
	rm -f "$raw" "$raw.run"
done
bench_end
