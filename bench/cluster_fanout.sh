#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# Chat latency from node A to a client on node B (issue 13): a private
# PostgreSQL cluster (initdb + pg_ctl as the postgres user, Unix socket in
# its own directory, no TCP, default durability: fsync and synchronous_commit
# on), two sphinx-server nodes on it, then bench/cluster_fanout.js: MESSAGES
# chat lines written on A one at a time, each timed from its send to its
# arrival at a reader on A (delivered at commit) and at a reader on B
# (NOTIFY in the commit, B's LISTEN connection in its event loop, catch-up
# from the store). RUNS runs (fresh database and nodes each), then
# min/median/max of each figure, with the machine description. Raw output
# goes to bench/results/cluster_fanout-<date>.txt (RESULTS=file to change).
# Prints figures; not a pass/fail test.
#   bench/cluster_fanout.sh [MESSAGES] [RUNS]     (default 400 3; as root: runuser)
set -eu
cd "$(dirname "$0")/.."
OUTPUT=${OUTPUT:-build}
MESSAGES=${1:-${MESSAGES:-400}}
RUNS=${2:-${RUNS:-3}}
BIN=$OUTPUT/sphinx-server
[ -x "$BIN" ] || { echo "build first: make $BIN" >&2; exit 1; }
[ -f tests/node/node_modules/ws/package.json ] || (cd tests/node && npm ci --no-audit --no-fund --loglevel=error)
PGBIN=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n 1)
. bench/lib.sh

PGDIR=$(mktemp -d /tmp/sphinx-fanout-pg.XXXXXX)
chown postgres: "$PGDIR"
pg() { runuser -u postgres -- "$@"; }
pids=()
data=()
TMPROWS=$(mktemp)
stop_nodes() {
	local p
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null && wait "$p" 2>/dev/null; done
	for p in "${data[@]}"; do rm -rf "$p"; done
	pids=() data=()
	true
}
trap 'stop_nodes; pg "$PGBIN/pg_ctl" -D "$PGDIR/data" -m fast -w stop >/dev/null 2>&1; rm -rf "$PGDIR" "$TMPROWS"' EXIT
pg "$PGBIN/initdb" -D "$PGDIR/data" -A trust -U postgres -E UTF8 --locale=C.UTF-8 >/dev/null
pg "$PGBIN/pg_ctl" -D "$PGDIR/data" -l "$PGDIR/log" -w -o "-k $PGDIR -p 5432 -c listen_addresses=''" start >/dev/null

free_port() {
	local port
	while :; do
		port=$((20000 + RANDOM % 20000))
		(exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null || break
	done
	echo "$port"
}
start_node() { # start_node NAME DB -> sets PORT
	local d
	d=$(mktemp -d) PORT=$(free_port)
	"$BIN" --data "$d" --port "$PORT" --bind 127.0.0.1 -o signup=yes -o password_strength=min -o log_level=err \
		-o ws_rate=100000 -o store=postgresql -o "postgresql=host=$PGDIR port=5432 user=postgres dbname=$2" \
		-o "node_name=$1" >"$d/log" 2>&1 &
	pids+=($!) data+=("$d")
	for _ in $(seq 100); do curl -fs "http://127.0.0.1:$PORT/api/health" >/dev/null && return 0; sleep 0.05; done
	cat "$d/log" >&2
	bench_fail "node $1 did not start"
}

bench_begin cluster_fanout
echo "== $MESSAGES chat lines A -> readers on A and on B, one at a time; PostgreSQL $("$PGBIN/postgres" --version | awk '{ print $3 }')"
for run in $(seq "$RUNS"); do
	pg "$PGBIN/createdb" -h "$PGDIR" -p 5432 "fanout$run"
	start_node A "fanout$run"
	a=$PORT
	start_node B "fanout$run"
	b=$PORT
	echo "run $run: $(node bench/cluster_fanout.js "http://127.0.0.1:$a" "http://127.0.0.1:$b" "$MESSAGES")" | tee -a "$TMPROWS"
	stop_nodes
done
for k in same_node_ms_p50 same_node_ms_p99 cross_node_ms_p50 cross_node_ms_p99 cross_node_ms_max; do
	bench_result "$k" ms $(grep -o " $k=[0-9.]*" "$TMPROWS" | cut -d= -f2)
done
bench_end
