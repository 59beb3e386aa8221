#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# `make bench`: every benchmark in turn, each writing its raw output and the
# machine description to bench/results/NAME-<date>.txt, then one table of
# every figure they printed (the "result" lines: figure, min, median, max
# over the runs, unit, results file), saved to bench/results/bench-<date>.txt
# with the load average before and after. A bench that fails (an agent
# layer not attached, a missing tool) is named in the table's last line and
# makes the whole run fail, after the others have run.
#
#   bench/run-all.sh                            lobby login_storm agent_overhead x11_overhead
#   BENCHES="lobby x11_overhead" bench/run-all.sh
# Needs root (the agent loads eBPF); run it on an otherwise idle machine.
set -eu
cd "$(dirname "$0")/.."
. bench/lib.sh
BENCHES=${BENCHES:-"lobby login_storm agent_overhead x11_overhead"}
declare -A script=([lobby]=bench/run-lobby.sh [login_storm]=bench/login_storm.sh
	[agent_overhead]=bench/agent_overhead.sh [x11_overhead]=bench/x11_overhead.sh)
for b in $BENCHES; do
	[ -n "${script[$b]:-}" ] || { echo "run-all: no bench '$b' (known: ${!script[*]})" >&2; exit 2; }
done

failed=
files=()
load_before=$(uptime)
for b in $BENCHES; do
	file=$(bench_results_path "$b")
	echo "=== $b: ${script[$b]} -> $file ($(date -u +%T))"
	if ! RESULTS=$file BENCH_COMMAND="make bench (${script[$b]})" bash "${script[$b]}"; then
		failed="$failed $b"
	fi
	[ -f "$file" ] && files+=("$file")
done
load_after=$(uptime)

table=$(bench_results_path bench)
{
	echo "== make bench, $(date -u '+%Y-%m-%d %H:%M UTC'), commit $(git rev-parse --short HEAD 2>/dev/null || echo unknown), $(nproc) CPUs"
	echo "== load before: $load_before"
	echo "== load after:  $load_after"
	printf '%-15s %-40s %12s %12s %12s  %-8s %s\n' bench figure min median max unit "results file"
	for f in "${files[@]}"; do
		name=$(basename "$f" .txt)
		name=${name%%-"$BENCH_DATE"*}
		awk -v b="$name" -v f="$f" '$1 == "result" {
			printf "%-15s %-40s %12s %12s %12s  %-8s %s\n", b, $2, $4, $6, $8, $9, f }' "$f"
	done
	[ -z "$failed" ] || echo "FAILED:$failed (see their results files)"
} | tee "$table"
echo "table saved to $table"
[ -z "$failed" ]
