#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# Login storm: a fresh sphinx-server at the DEFAULT password strength
# (interactive argon2id, 64 MiB) and default limits, then bench/login_storm.js:
# LOGINS logins with INFLIGHT in flight, each from a distinct 127.0.x.y,
# while /api/health is timed every 20 ms. RUNS runs (fresh server each),
# then min/median/max. Raw output goes to bench/results/login_storm-<date>.txt.
# Prints figures; not a pass/fail test.
#   bench/login_storm.sh [LOGINS] [INFLIGHT] [RUNS]      (default 1000 100 3)
set -eu
cd "$(dirname "$0")/.."
OUTPUT=${OUTPUT:-build}
LOGINS=${1:-1000}
INFLIGHT=${2:-100}
RUNS=${3:-3}
BIN=$OUTPUT/sphinx-server
[ -x "$BIN" ] || { echo "build first: make $BIN" >&2; exit 1; }
command -v node >/dev/null || { echo "login_storm: needs node" >&2; exit 1; }
out=bench/results/login_storm-$(date -u +%Y-%m-%d).txt
mkdir -p bench/results

pid=
data=
cleanup() { [ -n "$pid" ] && kill "$pid" 2>/dev/null; [ -n "$data" ] && rm -rf "$data"; pid=; data=; true; }
trap cleanup EXIT

{
	echo "# login_storm $(date -u +%FT%TZ) $(git rev-parse --short HEAD 2>/dev/null || echo '?') on $(nproc) CPUs"
	echo "# $LOGINS logins, $INFLIGHT in flight, distinct source addresses, password_strength=interactive (default)"
} | tee "$out"
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
	echo "run $run: $(node bench/login_storm.js "http://127.0.0.1:$port" "$LOGINS" "$INFLIGHT")" | tee -a "$out"
	cleanup
done
# min / median / max of each figure over the runs
awk -v runs="$RUNS" '
/^run / { for (i = 3; i <= NF; i++) { split($i, kv, "="); if (kv[2] ~ /^[0-9.]+$/) { v[kv[1], ++n[kv[1]]] = kv[2]; keys[kv[1]] = 1 } } }
END {
	for (k in keys) {
		m = n[k]; for (i = 1; i <= m; i++) a[i] = v[k, i]
		for (i = 1; i <= m; i++) for (j = i + 1; j <= m; j++) if (a[j] + 0 < a[i] + 0) { t = a[i]; a[i] = a[j]; a[j] = t }
		printf "%-16s min %-8s median %-8s max %s\n", k, a[1], a[int((m + 1) / 2)], a[m]
	}
}' "$out" | sort | tee -a "$out"
echo "raw output: $out"
