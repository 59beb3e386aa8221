#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# Fan-out to a lecture hall of DISTINCT people over several nodes (issue 13):
# USERS accounts, each with one lobby socket, spread over 3 sphinx-server
# nodes on one private PostgreSQL, against the same on 1 node - each run a
# fresh database and fresh nodes (bench/cluster_lobby.js, which drives issue
# 18's lobby_bench). Default limits; the only settings changed are
# signup=yes and password_strength=min, for the set-up (as bench/run-lobby.sh).
# The 1-node and 3-node runs alternate (1 3 3 1 1 3 ...) so a drift of the
# machine's load falls on both. Figures, each min/median/max over the runs:
#   Nn_alert_fanout_p50_ms / _p99_ms   agent alert -> recording.begin on a socket
#   Nn_chat_fanout_p50_ms / _p99_ms    organiser's line -> on a socket
#   Nn_node_rss_peak_max_mb            the largest node's peak RSS
#   Nn_rss_peak_total_mb               all nodes' peak RSS together
# and per run pair the ratios 3 nodes / 1 node (ratio_*). Prints figures;
# not a pass/fail test. Raw output: bench/results/cluster-lobby-<date>.txt.
#   bench/cluster_lobby.sh                         10 000 users, 20 rounds, 3 runs each
#   USERS=1000 RUNS=1 bench/cluster_lobby.sh       a smoke run
set -eu -o pipefail
cd "$(dirname "$0")/.."
OUTPUT=${OUTPUT:-build}
export OUTPUT
USERS=${USERS:-10000}
ROUNDS=${ROUNDS:-20}
RUNS=${RUNS:-3}
NODES=${NODES:-3}
[ -x "$OUTPUT/sphinx-server" ] && [ -x "$OUTPUT/bench/lobby_bench" ] ||
	{ echo "build first: make $OUTPUT/sphinx-server $OUTPUT/bench/lobby_bench" >&2; exit 1; }
[ -f tests/node/node_modules/ws/package.json ] || (cd tests/node && npm ci --no-audit --no-fund --loglevel=error)
. bench/lib.sh

TMPROWS=$(mktemp)
trap 'rm -f "$TMPROWS"' EXIT
unit_of() { case $1 in *_ms) echo ms ;; *_mb) echo MB ;; *_s* ) echo s ;; *_bytes*) echo bytes ;; *) echo - ;; esac; }

bench_begin cluster-lobby
echo "== $USERS distinct users, one lobby socket each, $ROUNDS alert and chat rounds; 1 node vs $NODES nodes" \
	"on one PostgreSQL ($(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n 1)), $RUNS runs each, open files $(ulimit -n)"
failed=0
for k in $(seq 0 $((2 * RUNS - 1))); do
	case $((k % 4)) in 0 | 3) n=1 ;; *) n=$NODES ;; esac
	run=$((k / 2 + 1))
	echo "-- $n node(s), run $run ($(date -u +%T))"
	if out=$(node bench/cluster_lobby.js "$n" "$USERS" "$ROUNDS" 2>&1); then
		echo "$out"
		awk -v n="$n" -v r="$run" '$1 == "figure" { print n, r, $2, $3 }' <<<"$out" >>"$TMPROWS"
	else
		echo "$out"
		echo "run failed (its figures are left out)"
		failed=$((failed + 1))
	fi
done
echo "== summary ($failed failed runs)"
[ "$failed" -eq 0 ] || bench_result failed_runs runs "$failed"
for n in 1 "$NODES"; do
	for f in $(awk -v n="$n" '$1 == n { print $3 }' "$TMPROWS" | awk '!seen[$0]++'); do
		bench_result "${n}n_$f" "$(unit_of "$f")" $(awk -v n="$n" -v f="$f" '$1 == n && $3 == f { print $4 }' "$TMPROWS")
	done
done
# N nodes / 1 node, run by run (pair r: the r-th run of each)
for f in alert_fanout_p50_ms alert_fanout_p99_ms chat_fanout_p50_ms chat_fanout_p99_ms node_rss_peak_max_mb \
	rss_peak_total_mb connect_until_snapshot_ms; do
	mapfile -t ratios < <(awk -v f="$f" -v N="$NODES" '$3 == f { v[$1, $2] = $4; if ($2 > runs) runs = $2 }
		END { for (r = 1; r <= runs; r++) if (((1, r) in v) && ((N, r) in v) && v[1, r] > 0)
			printf "%.3f\n", v[N, r] / v[1, r] }' "$TMPROWS")
	[ "${#ratios[@]}" -gt 0 ] && bench_result "ratio_${NODES}n_over_1n_${f}" x "${ratios[@]}"
done
bench_end
