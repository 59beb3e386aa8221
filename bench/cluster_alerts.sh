#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# Alerts a second the cluster carries end to end (issue 13): agent -> its
# node -> PostgreSQL -> every node -> every lobby socket, at a rising rate,
# until the p99 of that delay passes 100 ms (bench/cluster_alerts.js: the
# method, and what a step is). 3 nodes on one private PostgreSQL against
# 1 node on it, runs alternating (1 3 3 1 1 3 ...), each a fresh database
# and fresh nodes at their default configuration (signup=yes and
# password_strength=min for the set-up only). Figures, min/median/max over
# the runs: Nn_sustained_alerts_per_s (the highest step rate whose p99
# stayed within 100 ms), Nn_first_over_alerts_per_s, Nn_p99_at_sustained_ms,
# and per run pair ratio_3n_over_1n_sustained. Prints figures; not a
# pass/fail test. Raw output: bench/results/cluster-alerts-<date>.txt.
#   bench/cluster_alerts.sh                          150 lobbies, 32 agents, 4 s steps, 3 runs each
#   LOBBIES=30 RUNS=1 RATES=10,40 bench/cluster_alerts.sh
set -eu -o pipefail
cd "$(dirname "$0")/.."
OUTPUT=${OUTPUT:-build}
export OUTPUT
LOBBIES=${LOBBIES:-150}
AGENTS=${AGENTS:-32}
STEP_S=${STEP_S:-4}
RATES=${RATES:-20,40,60,80,120,160,200,240,320,400,480}
RUNS=${RUNS:-3}
NODES=${NODES:-3}
[ -x "$OUTPUT/sphinx-server" ] || { echo "build first: make $OUTPUT/sphinx-server" >&2; exit 1; }
[ -f tests/node/node_modules/ws/package.json ] || (cd tests/node && npm ci --no-audit --no-fund --loglevel=error)
. bench/lib.sh

TMPROWS=$(mktemp)
trap 'rm -f "$TMPROWS"' EXIT

bench_begin cluster-alerts
echo "== $LOBBIES lobby sockets of distinct users in one meeting, $AGENTS agents, steps of $STEP_S s at $RATES" \
	"alerts/s until p99 > 100 ms; 1 node vs $NODES nodes on one PostgreSQL, $RUNS runs each"
failed=0
for k in $(seq 0 $((2 * RUNS - 1))); do
	case $((k % 4)) in 0 | 3) n=1 ;; *) n=$NODES ;; esac
	run=$((k / 2 + 1))
	echo "-- $n node(s), run $run ($(date -u +%T))"
	if out=$(node bench/cluster_alerts.js "$n" "$LOBBIES" "$AGENTS" "$STEP_S" "$RATES" 2>&1); then
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
	for f in sustained_alerts_per_s first_over_alerts_per_s p99_at_sustained_ms; do
		mapfile -t v < <(awk -v n="$n" -v f="$f" '$1 == n && $3 == f { print $4 }' "$TMPROWS")
		unit=alerts/s
		[ "$f" = p99_at_sustained_ms ] && unit=ms
		[ "${#v[@]}" -gt 0 ] && bench_result "${n}n_$f" "$unit" "${v[@]}"
	done
done
mapfile -t ratios < <(awk -v N="$NODES" '$3 == "sustained_alerts_per_s" { v[$1, $2] = $4; if ($2 > runs) runs = $2 }
	END { for (r = 1; r <= runs; r++) if (((1, r) in v) && ((N, r) in v) && v[1, r] > 0)
		printf "%.3f\n", v[N, r] / v[1, r] }' "$TMPROWS")
[ "${#ratios[@]}" -gt 0 ] && bench_result "ratio_${NODES}n_over_1n_sustained" x "${ratios[@]}"
bench_end
