#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# Lobby benchmark: starts a fresh sphinx-server, signs a user in, creates a
# meeting, enrolls a machine, then runs lobby_bench: N lobby clients and one
# agent whose capture.begin alert fans out to all of them. Prints figures;
# not a pass/fail test. See bench/README.md.
#   bench/run-lobby.sh [CLIENTS] [ROUNDS]      (default 1000 50)
#   EVLIB=poll bench/run-lobby.sh              compare event loops
#   IDLE=10000 bench/run-lobby.sh              also RSS with 10 000 idle clients
set -eu
cd "$(dirname "$0")/.."
OUTPUT=${OUTPUT:-build}
CLIENTS=${1:-1000}
ROUNDS=${2:-50}
EVLIB=${EVLIB:-libev}
BIN=$OUTPUT/sphinx-server
BENCH=$OUTPUT/bench/lobby_bench
[ -x "$BIN" ] && [ -x "$BENCH" ] || { echo "build first: make $BIN $BENCH" >&2; exit 1; }
ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)"

pid=
data=
cleanup() { [ -n "$pid" ] && kill "$pid" 2>/dev/null; [ -n "$data" ] && rm -rf "$data"; true; }
trap cleanup EXIT
trap 'echo "run-lobby: failed; server log:" >&2; cat "$data/log" >&2 2>/dev/null' ERR

start_server() {
	cleanup
	data=$(mktemp -d)
	while :; do
		port=$((20000 + RANDOM % 20000))
		(exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null || break
	done
	"$BIN" --data "$data" --port "$port" --bind 127.0.0.1 -o signup=yes -o password_strength=min \
		-o event_lib="$EVLIB" -o max_connections=60000 -o lobby_user_sockets=1000000 -o log_level=warning ${SERVER_ARGS:-} >"$data/log" 2>&1 &
	pid=$!
	for _ in $(seq 100); do curl -fs "http://127.0.0.1:$port/api/health" >/dev/null && break; sleep 0.05; done
	kill -0 "$pid" 2>/dev/null || { cat "$data/log" >&2; exit 1; }
	local hdrs; hdrs=$(mktemp)
	body=$(curl -fs -D "$hdrs" -H 'content-type: application/json' \
		-d '{"username":"alice","email":"alice@example.org","password":"bench-password"}' \
		"http://127.0.0.1:$port/api/auth/signup")
	cookie=$(sed -n 's/^set-cookie: \([^;]*\).*/\1/ip' "$hdrs" | tr -d '\r')
	csrf=$(printf '%s' "$body" | sed 's/.*"csrf":"\([^"]*\)".*/\1/')
	rm -f "$hdrs"
	code=$(curl -fs -H 'content-type: application/json' -H "cookie: $cookie" -H "x-csrf-token: $csrf" \
		-d '{"title":"Bench"}' "http://127.0.0.1:$port/api/meetings" | sed 's/.*"code":"\([0-9]*\)".*/\1/')
	token=$("$BIN" --data "$data" enroll-machine bench-pc)
}

echo "== sphinx-server lobby bench ($EVLIB event loop, $(nproc) CPUs, loopback)"
start_server
"$BENCH" --port "$port" --cookie "$cookie" --code "$code" --token "$token" --user alice \
	--clients "$CLIENTS" --rounds "$ROUNDS" --pid "$pid"
if [ -n "${IDLE:-}" ]; then
	echo
	echo "== $IDLE idle lobby connections (fresh server)"
	start_server
	"$BENCH" --port "$port" --cookie "$cookie" --code "$code" --token "$token" --user alice \
		--clients "$IDLE" --rounds "${IDLE_ROUNDS:-10}" --pid "$pid"
fi
