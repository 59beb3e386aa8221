#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# The fleet view's API with a large fleet: a fresh sphinx-server, an admin,
# then bench/fleet_api.js (MACHINES machines enrolled through the API, each
# with a connected agent that said hello and sent its status; GET
# /api/admin/machines, ?state=online and the CSV timed REQS times each).
# RUNS runs (fresh server each), then min/median/max, with the machine
# description. Raw output: bench/results/fleet_api-<date>.txt.
# Prints figures; not a pass/fail test.
#   bench/fleet_api.sh [MACHINES] [REQS] [RUNS]      (default 1000 20 3)
set -eu
cd "$(dirname "$0")/.."
OUTPUT=${OUTPUT:-build}
MACHINES=${1:-${MACHINES:-1000}}
REQS=${2:-${REQS:-20}}
RUNS=${3:-${RUNS:-3}}
BIN=$OUTPUT/sphinx-server
[ -x "$BIN" ] || { echo "build first: make $BIN" >&2; exit 1; }
command -v node >/dev/null || { echo "fleet_api: needs node" >&2; exit 1; }
[ -f tests/node/node_modules/ws/package.json ] || (cd tests/node && npm ci --no-audit --no-fund --loglevel=error >&2)
. bench/lib.sh

pid=
data=
TMPROWS=$(mktemp)
cleanup() { [ -n "$pid" ] && kill "$pid" 2>/dev/null; [ -n "$data" ] && rm -rf "$data"; pid=; data=; true; }
trap 'cleanup; rm -f "$TMPROWS"' EXIT

bench_begin fleet_api
echo "== $MACHINES machines with connected agents, $REQS requests of each kind, one at a time"
for run in $(seq "$RUNS"); do
	data=$(mktemp -d)
	printf 'bench-admin-password\n' | "$BIN" --data "$data" -o password_strength=min \
		add-user bench-admin --email bench@example.org --admin >/dev/null
	while :; do
		port=$((20000 + RANDOM % 20000))
		(exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null || break
	done
	"$BIN" --data "$data" --port "$port" --bind 127.0.0.1 -o password_strength=min -o log_level=err \
		${SERVER_ARGS:-} >"$data/log" 2>&1 &
	pid=$!
	for _ in $(seq 100); do curl -fs "http://127.0.0.1:$port/api/health" >/dev/null && break; sleep 0.05; done
	kill -0 "$pid" 2>/dev/null || { cat "$data/log" >&2; exit 1; }
	echo "run $run: $(node bench/fleet_api.js "http://127.0.0.1:$port" "$MACHINES" "$REQS")" | tee -a "$TMPROWS"
	cleanup
done
for k in json_ms_p50 json_ms_max online_ms_p50 csv_ms_p50 csv_ms_max json_kib csv_kib setup_s; do
	unit=ms
	case $k in *_kib) unit=KiB ;; setup_s) unit=s ;; esac
	bench_result "$k" "$unit" $(grep -o " $k=[0-9.]*" "$TMPROWS" | cut -d= -f2)
done
bench_end
