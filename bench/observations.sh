#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# Observations (issue 14): the event-loop time one batch (as many events as
# the agent puts in one, 48 KiB) costs to check and store, and the admin export's rows per second, on SQLite and on
# PostgreSQL (a private cluster: initdb + pg_ctl as the postgres user, its
# Unix socket in its own directory, default settings), with
# bench/observations.js against the real server.
#   bench/observations.sh                 (as root for PostgreSQL: runuser)
#   BATCHES=50 EXPORTS=5 bench/observations.sh
# Raw output and min / median / max: bench/results/observations-<date>.txt.
set -eu
cd "$(dirname "$0")/.."
source bench/lib.sh
OUTPUT=${OUTPUT:-build}
export OUTPUT
[ -x "$OUTPUT/sphinx-server" ] || { echo "build first: make" >&2; exit 1; }
[ -f tests/node/node_modules/ws/package.json ] ||
	(cd tests/node && npm ci --no-audit --no-fund --loglevel=error >&2)

PGBIN=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n 1)
PGDIR=$(mktemp -d /tmp/sphinx-obsbench.XXXXXX)
chown postgres: "$PGDIR"
pg() { runuser -u postgres -- "$@"; }
trap 'pg "$PGBIN/pg_ctl" -D "$PGDIR/data" -m fast -w stop >/dev/null 2>&1; rm -rf "$PGDIR"' EXIT

bench_begin observations
echo "== batches: ${BATCHES:-50}, exports: ${EXPORTS:-5}"
run_store() { # run_store NAME: the figures of one store, as result lines
	local name=$1 out
	out=$(node bench/observations.js)
	printf '%s\n' "$out" | grep '^#'
	for fig in batch_store_ms batch5_store_ms marker_only_ms export_rows_per_s; do
		local unit vals
		unit=$(printf '%s\n' "$out" | awk -v f="$fig" '$1 == "figure" && $2 == f { print $4; exit }')
		vals=$(printf '%s\n' "$out" | awk -v f="$fig" '$1 == "figure" && $2 == f { print $3 }')
		echo "raw ${name}_$fig: $(echo $vals)"
		echo "result ${name}_$fig $(printf '%s\n' $vals | bench_stats) $unit ($(printf '%s\n' $vals | wc -l) runs)"
	done
}
run_store sqlite

pg "$PGBIN/initdb" -D "$PGDIR/data" -A trust -U postgres -E UTF8 --locale=C.UTF-8 >/dev/null
pg "$PGBIN/pg_ctl" -D "$PGDIR/data" -l "$PGDIR/log" -w -o "-k $PGDIR -p 5432 -c listen_addresses=''" start \
	>/dev/null
pg "$PGBIN/createdb" -h "$PGDIR" -p 5432 sphinx_obsbench
export SPHINX_SERVER_ARGS="[\"-o\",\"store=postgresql\",\"-o\",\"postgresql=host=$PGDIR port=5432 user=postgres dbname=sphinx_obsbench\"]"
run_store postgresql
bench_end
