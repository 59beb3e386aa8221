#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# Login storm: a fresh sphinx-server at the DEFAULT password strength
# (interactive argon2id, 64 MiB) and default limits, then bench/login_storm.js:
# LOGINS logins with INFLIGHT in flight, each from a distinct 127.0.x.y,
# while /api/health is timed every 20 ms. RUNS runs (fresh server each),
# then min/median/max, with the machine description. Raw output goes to
# bench/results/login_storm-<date>.txt (RESULTS=file to change).
# Prints figures; not a pass/fail test.
#   bench/login_storm.sh [LOGINS] [INFLIGHT] [RUNS]      (default 1000 100 3, or from the environment)
set -eu
cd "$(dirname "$0")/.."
OUTPUT=${OUTPUT:-build}
LOGINS=${1:-${LOGINS:-1000}}
INFLIGHT=${2:-${INFLIGHT:-100}}
RUNS=${3:-${RUNS:-3}}
BIN=$OUTPUT/sphinx-server
[ -x "$BIN" ] || { echo "build first: make $BIN" >&2; exit 1; }
command -v node >/dev/null || { echo "login_storm: needs node" >&2; exit 1; }
. bench/lib.sh

pid=
data=
TMPROWS=$(mktemp)
cleanup() { [ -n "$pid" ] && kill "$pid" 2>/dev/null; [ -n "$data" ] && rm -rf "$data"; pid=; data=; true; }
trap 'cleanup; rm -f "$TMPROWS"' EXIT

bench_begin login_storm
echo "== $LOGINS logins, $INFLIGHT in flight, distinct source addresses, password_strength=interactive (default)"
for run in $(seq "$RUNS"); do
	data=$(mktemp -d)
	while :; do
		port=$((20000 + RANDOM % 20000))
		(exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null || break
	done
	"$BIN" --data "$data" --port "$port" --bind 127.0.0.1 -o signup=yes -o log_level=err ${SERVER_ARGS:-} >"$data/log" 2>&1 &
	pid=$!
	for _ in $(seq 100); do curl -fs "http://127.0.0.1:$port/api/health" >/dev/null && break; sleep 0.05; done
	kill -0 "$pid" 2>/dev/null || { cat "$data/log" >&2; exit 1; }
	echo "run $run: $(node bench/login_storm.js "http://127.0.0.1:$port" "$LOGINS" "$INFLIGHT")" | tee -a "$TMPROWS"
	cleanup
done
# min / median / max of each numeric figure over the runs
for k in seconds logins_per_s login_ms_p50 login_ms_p99 health_ms_p50 health_ms_p99 health_ms_max; do
	unit=ms
	case $k in seconds) unit=s ;; logins_per_s) unit=logins/s ;; esac
	bench_result "$k" "$unit" $(grep -o " $k=[0-9.]*" "$TMPROWS" | cut -d= -f2)
done
bench_end
