#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# SQLite vs PostgreSQL store (issue 13), same machine, same run, interleaved:
#   - the store's unit suite (build/tests/test_server_meetings; on
#     PostgreSQL each test starts on an emptied database, and three
#     PostgreSQL-only tests run too, with about 0.4 s of deliberate waits);
#   - tests/node/server_api.test.js (a server started on each store, every
#     API route and the permission matrix), wall time of the whole file.
# PostgreSQL: a private cluster (initdb + pg_ctl as the postgres user, Unix
# socket in its own directory, default settings: fsync and synchronous_commit
# on, as SQLite's synchronous=NORMAL survives kill -9 and this survives more).
# RUNS runs of each (default 5); min / median / max of the wall times.
#   bench/pg-store.sh                  (as root: runuser)
# The raw output is saved to bench/results/pg-store-<date>.txt (RESULTS=file to change).
set -eu
cd "$(dirname "$0")/.."
OUTPUT=${OUTPUT:-build}
RUNS=${RUNS:-5}
RESULTS=${RESULTS:-bench/results/pg-store-$(date -u +%Y-%m-%d).txt}
PGBIN=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n 1)
UNIT=$OUTPUT/tests/test_server_meetings
[ -x "$UNIT" ] && [ -x "$OUTPUT/sphinx-server" ] || { echo "build first: make $UNIT" >&2; exit 1; }
mkdir -p "$(dirname "$RESULTS")"

PGDIR=$(mktemp -d /tmp/sphinx-pgbench.XXXXXX)
chown postgres: "$PGDIR"
pg() { runuser -u postgres -- "$@"; }
trap 'pg "$PGBIN/pg_ctl" -D "$PGDIR/data" -m fast -w stop >/dev/null 2>&1; rm -rf "$PGDIR"' EXIT
pg "$PGBIN/initdb" -D "$PGDIR/data" -A trust -U postgres -E UTF8 --locale=C.UTF-8 >/dev/null
pg "$PGBIN/pg_ctl" -D "$PGDIR/data" -l "$PGDIR/log" -w -o "-k $PGDIR -p 5432 -c listen_addresses=''" start \
	>/dev/null
conninfo() { echo "host=$PGDIR port=5432 user=postgres dbname=$1"; }
fresh_db() { pg "$PGBIN/dropdb" -h "$PGDIR" --if-exists "$1" 2>/dev/null; pg "$PGBIN/createdb" -h "$PGDIR" "$1"; }

ms() { echo $(( ($(date +%s%N) - $1) / 1000000 )); }
stats() { # stats NAME VALUES...: min / median / max
	local name=$1; shift
	printf '%s\n' "$@" | sort -n | awk -v n="$name" '{ v[NR] = $1 }
		END { printf "%-31s min %6d  median %6d  max %6d ms  (n=%d)\n", n, v[1], v[int((NR + 1) / 2)], v[NR], NR }'
}

{
echo "# bench/pg-store.sh $(date -u +%FT%TZ) $(uname -r) $(nproc) CPUs, PostgreSQL $("$PGBIN/postgres" --version | awk '{ print $3 }'), SQLite $(sqlite3 --version 2>/dev/null | awk '{ print $1 }')"
echo "# git $(git rev-parse --short HEAD), RUNS=$RUNS; raw wall times in ms, then min/median/max"
u_sq=() u_pg=() a_sq=() a_pg=()
for i in $(seq "$RUNS"); do
	t=$(date +%s%N)
	CMOCKA_MESSAGE_OUTPUT=TAP "$UNIT" >/dev/null 2>&1 || echo "# run $i: unit suite on sqlite FAILED"
	u_sq+=("$(ms "$t")")
	fresh_db bench_unit
	t=$(date +%s%N)
	SPHINX_TEST_STORE=postgresql SPHINX_TEST_PG="$(conninfo bench_unit)" CMOCKA_MESSAGE_OUTPUT=TAP "$UNIT" \
		>/dev/null 2>&1 || echo "# run $i: unit suite on postgresql FAILED"
	u_pg+=("$(ms "$t")")
	t=$(date +%s%N)
	bash tests/node/run.sh server_api.test.js >"$PGDIR/api.out" 2>&1 || echo "# run $i: server_api on sqlite FAILED"
	a_sq+=("$(ms "$t")")
	fresh_db bench_api
	t=$(date +%s%N)
	SPHINX_SERVER_ARGS="[\"-o\",\"store=postgresql\",\"-o\",\"postgresql=$(conninfo bench_api)\"]" \
		bash tests/node/run.sh server_api.test.js >"$PGDIR/api.out" 2>&1 ||
		echo "# run $i: server_api on postgresql FAILED"
	a_pg+=("$(ms "$t")")
	echo "run $i: unit sqlite ${u_sq[-1]} postgresql ${u_pg[-1]}; server_api sqlite ${a_sq[-1]} postgresql ${a_pg[-1]}"
done
stats "unit suite, sqlite" "${u_sq[@]}"
stats "unit suite, postgresql" "${u_pg[@]}"
stats "server_api.test.js, sqlite" "${a_sq[@]}"
stats "server_api.test.js, postgresql" "${a_pg[@]}"
} | tee "$RESULTS"
